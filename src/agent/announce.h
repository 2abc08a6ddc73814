/*
 * announce.h - the agent in discovery (doc/protocol.md, "Discovery
 * datagrams"): it answers QUERYs on Ports.Multicast[1] and PROBEs on
 * Ports.UDPScan, and ANNOUNCEs itself every interval (and LEAVE when it
 * stops), with the client role, so that a server's console lists the
 * machines of its subnet that run an agent, enrolled or not.
 */
#ifndef GV_ANNOUNCE_H
#define GV_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"

struct event_base;
struct announce;

struct announce_conf {
	const char	*name;		/* valid dw_name_valid(): the host's */
	uint8_t		 id[SERVER_ID_LEN];	/* the agent's, kept in its state */
	const char	*group;		/* IPv4 multicast group */
	int		 port_announce;	/* Ports.Multicast[0] */
	int		 port_query;	/* Ports.Multicast[1] */
	int		 port_udpscan;	/* Ports.UDPScan, 0: do not answer probes */
	int		 ttl;
	int		 interval;	/* seconds between ANNOUNCEs */
	int		 port_ui;	/* the agent's UI port, in every datagram */
	int		 port_backup;	/* the server's ports it uses */
	int		 port_ssl;
};

/*
 * Open the sockets and start announcing on base (what c points at is
 * copied).  Returns the handle, or NULL with err set (a socket that
 * cannot be opened or joined; the agent then runs without discovery
 * and logs why).
 */
struct announce *announce_start(struct event_base *base,
	    const struct announce_conf *c, char *err, size_t errlen);
/* Send LEAVE (best effort), close the sockets and free; NULL is fine. */
void	announce_stop(struct announce *);

#endif
