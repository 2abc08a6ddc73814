/*
 * peerlink.h - one JSON-lines request to another peer's UI bridge
 * (Ports.UI), asynchronously in the caller's event loop: the discovery
 * child's peer lists and the web console's peer switch.  The transport
 * only: connect, one line out, one line in.  A request has
 * PEERLINK_TIMEOUT_S in all (a peer that trickles its reply is cut off)
 * and a reply of at most the caller's max bytes.
 */
#ifndef GV_PEERLINK_H
#define GV_PEERLINK_H

#include <jansson.h>

struct event_base;

#define PEERLINK_TIMEOUT_S	10	/* for a whole request */
#define PEERLINK_MAX_REPLY	(4 * 1024 * 1024)	/* the peer switch's */

/*
 * Called once: status 200 (or the 2xx "code" the peer gave) with the
 * peer's reply object (stolen), or the HTTP-like status of a failure
 * with {"error":...}: 502 (cannot connect, bad or too long reply), 504
 * (timeout), or the code the peer put in its error.  Failures are
 * logged at debug level only: the caller decides what they are worth.
 */
typedef void peerlink_fn(void *arg, int status, json_t *reply);

void	peerlink_init(struct event_base *);
/* Stop every request in flight (their callbacks are not called). */
void	peerlink_stop(void);

/*
 * Send req (still the caller's) to addr (an IPv4 or IPv6 literal)
 * port, taking a reply line of at most max bytes; fn(arg, ...) later,
 * never before this returns.
 */
void	peerlink_request(const char *addr, int port, json_t *req, size_t max,
	    peerlink_fn *fn, void *arg);

#endif
