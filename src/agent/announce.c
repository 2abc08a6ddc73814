/*
 * announce.c - the agent in discovery, with the client role: it answers
 * QUERYs (on Ports.Multicast[1], joined to the group) and PROBEs (on
 * Ports.UDPScan) and ANNOUNCEs itself every interval, and says LEAVE
 * when it stops.  See announce.h and doc/protocol.md, "Discovery
 * datagrams".
 *
 * The agent keeps no peer table: it does not listen on the announce
 * port, and ANNOUNCEs, ANSWERs and the like that reach its sockets are
 * dropped.  Its query socket is bound to the group's address (with
 * SO_REUSEADDR, as gigavaultd binds the port on the wildcard address),
 * so that it gets the group's datagrams only: Linux gives a unicast
 * datagram to one of the sockets that share a port, and the unicast
 * ANSWERs and PROBE_REPLYs to a server on the same host must reach the
 * server's.  What the agent sends to the group and its ANSWERs go out
 * of an unbound socket of its own.  The UDPScan port is bound without
 * SO_REUSEADDR: when a server on the host holds it, the agent answers
 * no probes (logged) rather than take the server's replies.  Answers go
 * out at most
 * ANSWER_RATE a second: a flood of forged queries cannot make the agent
 * flood their claimed senders.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/discowire.h"
#include "common/mcast.h"
#include "common/monotime.h"
#include "agentlog.h"
#include "announce.h"

#define ANSWER_RATE	100	/* ANSWERs and PROBE_REPLYs a second */
#define RX_BATCH	64	/* datagrams read per wake-up */

struct announce {
	struct event_base *base;
	struct dw_msg	 self;		/* type and nonce set per datagram */
	struct in_addr	 group;
	int		 port_announce;
	int		 fd_query;	/* group:port_query */
	int		 fd_send;	/* unbound: to the group, and ANSWERs */
	int		 fd_scan;	/* port_udpscan, or -1 */
	struct event	*ev_query, *ev_scan, *ev_timer;
	double		 tokens;	/* answers we may send now */
	int64_t		 tokens_at;
};

/* Send m to the group on port out of every interface: copies sent. */
static int
to_group(struct announce *a, int type, int port)
{
	uint8_t buf[DW_MAX_LEN];
	struct dw_msg m = a->self;
	size_t len;

	m.type = (uint8_t)type;
	if ((len = dw_encode(&m, buf, sizeof(buf))) == 0)
		return 0;
	return mcast_send_all(a->fd_send, buf, len, a->group, port);
}

/* Join the group on every multicast interface (again: new ones). */
static int
join(struct announce *a)
{
	struct in_addr ifs[MCAST_MAX_IFACES];
	int n = mcast_ifaces(ifs, MCAST_MAX_IFACES), joined = 0;

	for (int i = 0; i < n; i++) {
		struct ip_mreq mr = { a->group, ifs[i] };

		if (setsockopt(a->fd_query, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof(mr)) == 0 || errno == EADDRINUSE)
			joined++;
	}
	return joined;
}

static int
answer_allowed(struct announce *a)
{
	int64_t now = mono_ms();

	a->tokens += (double)(now - a->tokens_at) / 1000 * ANSWER_RATE;
	if (a->tokens > ANSWER_RATE)
		a->tokens = ANSWER_RATE;
	a->tokens_at = now;
	if (a->tokens < 1)
		return 0;
	a->tokens -= 1;
	return 1;
}

/*
 * One datagram from `from` on fd: a QUERY on the query socket gets an
 * ANSWER, a PROBE on the scan socket a PROBE_REPLY, each echoing its
 * nonce; anything else, or anything that does not decode, is dropped.
 */
static void
datagram(struct announce *a, int fd, const uint8_t *buf, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	uint8_t out[DW_MAX_LEN];
	struct dw_msg m;
	uint32_t nonce;
	size_t n;
	int type;

	if (dw_decode(buf, len, &m) != DW_OK ||
	    memcmp(m.id, a->self.id, SERVER_ID_LEN) == 0)
		return;
	if (m.type == DW_QUERY && fd == a->fd_query)
		type = DW_ANSWER;
	else if (m.type == DW_PROBE && fd == a->fd_scan)
		type = DW_PROBE_REPLY;
	else
		return;
	if (!answer_allowed(a))
		return;
	nonce = m.nonce;
	m = a->self;
	m.type = (uint8_t)type;
	m.nonce = nonce;
	if ((n = dw_encode(&m, out, sizeof(out))) != 0)
		(void)sendto(fd == a->fd_query ? a->fd_send : fd, out, n, 0, (const struct sockaddr *)from,
		    fromlen);
}

static void
on_dgram(evutil_socket_t fd, short what, void *arg)
{
	struct announce *a = arg;
	struct sockaddr_storage from;
	uint8_t buf[2048];
	socklen_t fromlen;
	ssize_t n;

	(void)what;
	for (int i = 0; i < RX_BATCH; i++) {
		fromlen = sizeof(from);
		/* MSG_TRUNC: the real length, so that oversize is refused. */
		n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1)
			return;
		datagram(a, fd, buf, (size_t)n, &from, fromlen);
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct announce *a = arg;

	(void)fd;
	(void)what;
	join(a);
	to_group(a, DW_ANNOUNCE, a->port_announce);
}

/*
 * A UDP socket bound to addr:port (SO_REUSEADDR when reuse), or -1 with
 * err set (errno kept).
 */
static int
bind_udp(const char *what, struct in_addr addr, int port, int reuse,
    char *err, size_t errlen)
{
	struct sockaddr_in sin;
	int fd, on = 1, e;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "discovery: cannot open a socket for %s "
		    "(UDP %d): %s", what, port, strerror(errno));
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr = addr;
	if ((reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) == -1) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		e = errno;
		snprintf(err, errlen, "discovery: cannot bind %s (UDP %d): %s",
		    what, port, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
port_ok(int p, int zero_ok)
{
	return (zero_ok && p == 0) || (p >= 1 && p <= 65535);
}

struct announce *
announce_start(struct event_base *base, const struct announce_conf *c,
    char *err, size_t errlen)
{
	struct timeval tv;
	struct announce *a;
	unsigned char ttl;

	if (c->name == NULL || !dw_name_valid(c->name)) {
		snprintf(err, errlen, "discovery: the name \"%s\" is not 1 to "
		    "%d characters of A-Z a-z 0-9 . _ -", c->name ? c->name :
		    "", DW_NAME_MAX);
		return NULL;
	}
	if (!port_ok(c->port_announce, 0) || !port_ok(c->port_query, 0) ||
	    !port_ok(c->port_udpscan, 1) || !port_ok(c->port_ui, 1) ||
	    !port_ok(c->port_backup, 1) || !port_ok(c->port_ssl, 1) ||
	    c->ttl < 1 || c->ttl > 255 || c->interval < 1) {
		snprintf(err, errlen, "discovery: a port out of 1..65535, a "
		    "TTL out of 1..255 or an interval below 1 s");
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->fd_query = a->fd_send = a->fd_scan = -1;
	if (c->group == NULL || inet_pton(AF_INET, c->group, &a->group) != 1 ||
	    !IN_MULTICAST(ntohl(a->group.s_addr))) {
		snprintf(err, errlen, "discovery: \"%s\" is not an IPv4 "
		    "multicast group", c->group ? c->group : "");
		goto fail;
	}
	a->base = base;
	a->port_announce = c->port_announce;
	a->self.roles = DW_ROLE_CLIENT;
	memcpy(a->self.id, c->id, SERVER_ID_LEN);
	snprintf(a->self.name, sizeof(a->self.name), "%s", c->name);
	a->self.port_ui = (uint16_t)c->port_ui;
	a->self.port_backup = (uint16_t)c->port_backup;
	a->self.port_ssl = (uint16_t)c->port_ssl;
	a->tokens = ANSWER_RATE;
	a->tokens_at = mono_ms();

	if ((a->fd_query = bind_udp("Ports.Multicast[1]", a->group,
	    c->port_query, 1, err, errlen)) == -1)
		goto fail;
	if ((a->fd_send = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "discovery: cannot open a socket: %s",
		    strerror(errno));
		goto fail;
	}
	ttl = (unsigned char)c->ttl;
	if (setsockopt(a->fd_send, IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
	    sizeof(ttl)) == -1) {
		snprintf(err, errlen, "discovery: IP_MULTICAST_TTL: %s",
		    strerror(errno));
		goto fail;
	}
	if (c->port_udpscan != 0) {
		struct in_addr any = { htonl(INADDR_ANY) };
		char why[256];

		if ((a->fd_scan = bind_udp("Ports.UDPScan", any,
		    c->port_udpscan, 0, why, sizeof(why))) == -1) {
			if (errno != EADDRINUSE) {
				snprintf(err, errlen, "%s", why);
				goto fail;
			}
			/* A server here holds it: its probes are its own. */
			alog_warnx("%s; the agent answers no probes (a "
			    "server on this host holds the port)", why);
		}
	}
	if (join(a) == 0) {
		snprintf(err, errlen, "discovery: no network interface can "
		    "join %s", c->group);
		goto fail;
	}
	a->ev_query = event_new(base, a->fd_query, EV_READ | EV_PERSIST,
	    on_dgram, a);
	a->ev_scan = a->fd_scan == -1 ? NULL : event_new(base, a->fd_scan,
	    EV_READ | EV_PERSIST, on_dgram, a);
	a->ev_timer = event_new(base, -1, EV_PERSIST, on_timer, a);
	tv.tv_sec = c->interval;
	tv.tv_usec = 0;
	if (a->ev_query == NULL || a->ev_timer == NULL ||
	    (a->fd_scan != -1 && a->ev_scan == NULL) ||
	    event_add(a->ev_query, NULL) == -1 ||
	    (a->ev_scan != NULL && event_add(a->ev_scan, NULL) == -1) ||
	    event_add(a->ev_timer, &tv) == -1) {
		snprintf(err, errlen, "discovery: cannot set up its events");
		goto fail;
	}
	to_group(a, DW_ANNOUNCE, a->port_announce);
	return a;
fail:
	if (a->ev_query != NULL)
		event_free(a->ev_query);
	if (a->ev_scan != NULL)
		event_free(a->ev_scan);
	if (a->ev_timer != NULL)
		event_free(a->ev_timer);
	if (a->fd_query != -1)
		close(a->fd_query);
	if (a->fd_send != -1)
		close(a->fd_send);
	if (a->fd_scan != -1)
		close(a->fd_scan);
	free(a);
	return NULL;
}

void
announce_stop(struct announce *a)
{
	if (a == NULL)
		return;
	to_group(a, DW_LEAVE, a->port_announce);
	event_free(a->ev_query);
	if (a->ev_scan != NULL)
		event_free(a->ev_scan);
	event_free(a->ev_timer);
	close(a->fd_query);
	close(a->fd_send);
	if (a->fd_scan != -1)
		close(a->fd_scan);
	free(a);
}
