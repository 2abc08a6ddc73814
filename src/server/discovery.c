/*
 * discovery.c - the discovery child: multicast announcements and queries
 * (Ports.Multicast), answers to UDP scan probes and scans of the
 * configured networks (Ports.UDPScan), and peer lists asked of known
 * peers over their UI port (TCP discovery).  The peer table lives here,
 * in memory, bounded by Discovery.MaxPeers; it is written to the
 * catalog (at most twice a second, one short transaction) for the UI
 * bridge to read.
 *
 * Nothing here decides whom a client trusts: a peer row is a name and
 * an address, and a client still checks the server id it enrolled with.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/crypto.h"
#include "common/discowire.h"
#include "common/mcast.h"
#include "common/monotime.h"
#include "catalog.h"
#include "child.h"
#include "config.h"
#include "datadir.h"
#include "imsg.h"
#include "listen.h"
#include "log.h"
#include "peerinfo.h"
#include "peerlink.h"

#define TICK_MS		250	/* expiry, catalog flush, TCP asks */
#define SCAN_STEP_MS	20
#define ANSWER_RATE	100	/* answers (ANSWER, PROBE_REPLY) per second */
#define MAX_HOPS	3	/* a list entry this far away is not taken */
#define PULL_MIN	(512 * 1024)	/* bytes of a peer list reply, at least */
#define PULL_PER_PEER	1024	/* ... and per peer of MaxPeers */
#define FLUSH_ROWS_MS	500	/* the table, at most this often */
#define FLUSH_STATS_MS	1000	/* counters alone, at most this often */
#define SCAN_GRACE_MS	2000	/* PROBE_REPLY taken this long after a scan */
#define RX_BATCH	64	/* datagrams read per wake-up and socket */
#define LEFT_MAX	64	/* peers remembered as gone (a ring) */

/*
 * Times here are mono_ms() values (clock steps do not age the table);
 * the catalog row's first_seen and last_seen are wall-clock seconds.
 */
struct peer {
	struct cat_peer	 p;
	int64_t		 next_ask;	/* TCP discovery */
	int64_t		 seen;		/* last news */
	int64_t		 addr0_seen;	/* last direct news from p.addrs[0] */
};

/*
 * A peer that said LEAVE.  News of it that was on its way before it
 * left (an ANSWER to an older QUERY, another peer's list, which lags by
 * up to TCPInterval) must not bring it back: second-hand news of it is
 * ignored for PeerTimeout, and answers to a query or scan that started
 * before it left are dropped.  Its own ANNOUNCE (it came back) ends this.
 */
struct left {
	uint8_t		 id[SERVER_ID_LEN];
	int64_t		 at;		/* mono_ms() of the LEAVE, 0: unused */
};

struct target {				/* Discovery.Peers */
	char		 host[CAT_PEER_ADDR_MAX];
	int		 port;
	int64_t		 next_ask;
};

static struct {
	struct child_env *env;
	const struct gv_config *cfg;
	const struct gv_discovery *d;
	struct event_base *base;
	struct event	*rx_ev[LISTEN_MAX];
	size_t		 nrx;
	int		 fd_ann, fd_query, fd_scan;
	struct event	*ctl_ev, *tick_ev, *announce_ev, *scan_ev;
	struct catalog	*cat;
	struct dw_msg	 self;
	struct in_addr	 group;

	struct peer	*peers;
	size_t		 npeers;
	uint64_t	 stats[CAT_PEER_STATS];
	int		 dirty;		/* the table changed */
	int		 stats_dirty;	/* a counter changed */
	int64_t		 flushed;
	uint32_t	 query_nonce;	/* of our last QUERY: ANSWERs echo it */
	int64_t		 query_at;	/* ... and when it was sent */
	struct left	 left[LEFT_MAX];
	size_t		 left_next;

	/* answer rate limit */
	double		 tokens;
	int64_t		 tokens_at;
	time_t		 last_drop_log;

	/* scanning */
	int		 scanning;
	uint32_t	 scan_nonce;	/* PROBE_REPLYs echo it */
	int64_t		 scan_ended;
	size_t		 scan_net;
	uint32_t	 scan_next, scan_last;
	double		 scan_budget;
	int64_t		 scan_at, scan_started;
	uint64_t	 scan_probes, scan_found;
	int64_t		 next_scan;

	/* TCP discovery: one ask at a time */
	struct target	 targets[GV_MAX_STATIC_PEERS];
	size_t		 ntargets;
	int		 asking;	/* a request in flight (peerlink.c) */
	int		 ask_static;	/* index+1 of the target, 0: a peer */
	uint8_t		 ask_id[SERVER_ID_LEN];
	char		 ask_addr[CAT_PEER_ADDR_MAX];

	int		 stopping;
} ds;

static void
bump(int i)
{
	ds.stats[i]++;
	ds.stats_dirty = 1;
}

/* ---------------------------------------------------------- the table */

static struct peer *
find(const uint8_t *id)
{
	for (size_t i = 0; i < ds.npeers; i++)
		if (memcmp(ds.peers[i].p.id, id, SERVER_ID_LEN) == 0)
			return &ds.peers[i];
	return NULL;
}

/* A new row for id, or NULL (counted) when the table is full. */
static struct peer *
add(const uint8_t *id, uint64_t now)
{
	struct peer *p;

	if (ds.npeers >= (size_t)ds.d->max_peers) {
		bump(DS_DROP_FULL);
		return NULL;
	}
	p = &ds.peers[ds.npeers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->p.id, id, SERVER_ID_LEN);
	p->p.first_seen = now;
	p->seen = p->addr0_seen = mono_ms();
	return p;
}

static void
remove_at(size_t i)
{
	ds.peers[i] = ds.peers[--ds.npeers];
	ds.dirty = 1;
}

/* Put addr first in p's addresses (at most CAT_PEER_ADDRS, no repeats). */
static void
note_addr(struct cat_peer *p, const char *addr)
{
	int i;

	for (i = 0; i < p->naddrs; i++)
		if (strcmp(p->addrs[i], addr) == 0)
			break;
	if (i == p->naddrs && p->naddrs < CAT_PEER_ADDRS)
		p->naddrs++;
	if (i == CAT_PEER_ADDRS)
		i = CAT_PEER_ADDRS - 1;
	for (; i > 0; i--)
		memcpy(p->addrs[i], p->addrs[i - 1], CAT_PEER_ADDR_MAX);
	snprintf(p->addrs[0], CAT_PEER_ADDR_MAX, "%s", addr);
}

static int
has_addr(const struct cat_peer *p, const char *addr)
{
	for (int i = 0; i < p->naddrs; i++)
		if (strcmp(p->addrs[i], addr) == 0)
			return 1;
	return 0;
}

/* When id said LEAVE within PeerTimeout, its mono_ms() time; else 0. */
static int64_t
left_at(const uint8_t *id)
{
	int64_t now = mono_ms();

	for (size_t i = 0; i < LEFT_MAX; i++)
		if (ds.left[i].at != 0 && memcmp(ds.left[i].id, id,
		    SERVER_ID_LEN) == 0)
			return now - ds.left[i].at <=
			    (int64_t)ds.d->peer_timeout * 1000 ?
			    ds.left[i].at : 0;
	return 0;
}

static void
left_set(const uint8_t *id, int64_t at)
{
	for (size_t i = 0; i < LEFT_MAX; i++)
		if (memcmp(ds.left[i].id, id, SERVER_ID_LEN) == 0) {
			ds.left[i].at = at;
			return;
		}
	if (at == 0)
		return;
	memcpy(ds.left[ds.left_next].id, id, SERVER_ID_LEN);
	ds.left[ds.left_next].at = at;
	ds.left_next = (ds.left_next + 1) % LEFT_MAX;
}

/*
 * Direct news of a peer (a datagram from it, or its own list entry) at
 * addr.  Anyone can put any id in a datagram, so news of a known peer
 * from an address it was not seen at is taken only when the peer has
 * gone quiet at its first address (it moved), and never for a static
 * peer: a forged datagram cannot redirect a live peer's row.
 */
static void
learn(const struct dw_msg *m, const char *addr, int source)
{
	uint64_t now = (uint64_t)time(NULL);
	int64_t mnow = mono_ms();
	struct peer *p = find(m->id);
	char hex[SERVER_ID_HEX + 1];

	if (p != NULL && !has_addr(&p->p, addr) &&
	    ((p->p.source == CAT_PEER_STATIC && source != CAT_PEER_STATIC) ||
	    mnow - p->addr0_seen <= 2000 * (int64_t)ds.d->announce_interval)) {
		bump(DS_DROP_CLAIM);
		return;
	}
	if (p == NULL) {
		if ((p = add(m->id, now)) == NULL)
			return;
		server_id_hex(m->id, hex);
		log_info("peer %s (%s) at %s found by %s", m->name, hex, addr,
		    peerinfo_source_name(source));
	}
	/* The first direct source stays; second-hand news is replaced. */
	if (p->p.source == 0 || p->p.source == CAT_PEER_TCP)
		p->p.source = (uint8_t)source;
	p->p.hops = 0;
	memset(p->p.via, 0, sizeof(p->p.via));
	p->p.via_name[0] = '\0';
	peerinfo_describe(&p->p, m);
	note_addr(&p->p, addr);
	p->p.last_seen = now;
	p->seen = p->addr0_seen = mnow;
	ds.dirty = 1;
}

/* Forget peers without news for PeerTimeout. */
static void
expire(void)
{
	int64_t now = mono_ms();

	for (size_t i = ds.npeers; i > 0; i--) {
		struct cat_peer *p = &ds.peers[i - 1].p;

		if (now - ds.peers[i - 1].seen <=
		    (int64_t)ds.d->peer_timeout * 1000)
			continue;
		log_info("peer %s at %s: no news for %d s, forgotten", p->name,
		    p->naddrs ? p->addrs[0] : "?", ds.d->peer_timeout);
		bump(DS_EXPIRED);
		remove_at(i - 1);
	}
}

/*
 * Write the table and counters to the catalog: a changed table at most
 * every FLUSH_ROWS_MS, counters alone every FLUSH_STATS_MS (a flood of
 * datagrams must not become a flood of write transactions), and
 * everything when now is set.
 */
static void
flush(int now)
{
	int64_t t = mono_ms(), ms = t - ds.flushed;
	struct cat_peer *v;

	if (ds.cat == NULL || (!ds.dirty && !ds.stats_dirty))
		return;
	if (!now && (ds.dirty ? ms < FLUSH_ROWS_MS : ms < FLUSH_STATS_MS))
		return;
	ds.flushed = t;
	if ((v = calloc(ds.npeers + 1, sizeof(*v))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return;
	}
	for (size_t i = 0; i < ds.npeers; i++)
		v[i] = ds.peers[i].p;
	if (catalog_peers_replace(ds.cat, v, ds.npeers, ds.stats,
	    DS_NSTATS) != CAT_OK)
		log_warnx("%s", catalog_strerror(ds.cat));
	else
		ds.dirty = ds.stats_dirty = 0;
	free(v);
}

static int
load_visit(void *arg, const struct cat_peer *p)
{
	uint64_t now = (uint64_t)time(NULL);
	struct peer *np;

	(void)arg;
	if (now - p->last_seen > (uint64_t)ds.d->peer_timeout ||
	    p->last_seen > now || memcmp(p->id, ds.self.id, SERVER_ID_LEN) == 0 ||
	    find(p->id) != NULL || (np = add(p->id, now)) == NULL)
		return 0;
	np->p = *p;
	np->seen = np->addr0_seen = mono_ms() -
	    (int64_t)(now - p->last_seen) * 1000;
	return 0;
}

/* ------------------------------------------------------------ sending */

static void
addr_string(const struct sockaddr *sa, socklen_t len, char *buf, size_t n)
{
	if (getnameinfo(sa, len, buf, (socklen_t)n, NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(buf, n, "?");
	if (strncmp(buf, "::ffff:", 7) == 0 && strchr(buf, '.') != NULL)
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

static int
send_msg(int fd, struct dw_msg *m, const struct sockaddr *to, socklen_t tolen)
{
	uint8_t buf[DW_MAX_LEN];
	size_t n = dw_encode(m, buf, sizeof(buf));

	if (n == 0 || fd == -1)
		return -1;
	if (sendto(fd, buf, n, 0, to, tolen) == -1) {
		log_debug("%s: %s: %s", __func__, dw_type_name(m->type),
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Token bucket for the answers we send to strangers. */
static int
answer_allowed(void)
{
	int64_t now = mono_ms();
	time_t t;

	ds.tokens += (double)(now - ds.tokens_at) / 1000 * ANSWER_RATE;
	if (ds.tokens > ANSWER_RATE)
		ds.tokens = ANSWER_RATE;
	ds.tokens_at = now;
	if (ds.tokens >= 1) {
		ds.tokens -= 1;
		return 1;
	}
	bump(DS_DROP_RATE);
	if ((t = time(NULL)) != ds.last_drop_log) {
		ds.last_drop_log = t;
		log_debug("discovery: answer rate limit reached");
	}
	return 0;
}

/* Join the group on every multicast interface (again: new interfaces). */
static void
join(void)
{
	struct in_addr ifs[MCAST_MAX_IFACES];
	int n = mcast_ifaces(ifs, MCAST_MAX_IFACES);

	for (int i = 0; i < n; i++) {
		struct ip_mreq mr = { ds.group, ifs[i] };

		if ((setsockopt(ds.fd_ann, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof(mr)) == -1 && errno != EADDRINUSE) ||
		    (setsockopt(ds.fd_query, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof(mr)) == -1 && errno != EADDRINUSE))
			log_debug("%s: IP_ADD_MEMBERSHIP on %s: %s", __func__,
			    inet_ntoa(ifs[i]), strerror(errno));
	}
}

/* Send m to the group on port, out of every multicast interface. */
static void
to_group(int fd, struct dw_msg *m, int port, int stat)
{
	uint8_t buf[DW_MAX_LEN];
	size_t len = dw_encode(m, buf, sizeof(buf));
	int n;

	if (len == 0)
		return;
	n = mcast_send_all(fd, buf, len, ds.group, port);
	ds.stats[stat] += (uint64_t)n;
	ds.stats_dirty = 1;
	if (n == 0)
		log_debug("%s: no interface carries multicast", __func__);
}

static void
announce(int type)
{
	struct dw_msg m = ds.self;

	if (!ds.d->multicast || ds.fd_ann == -1)
		return;
	m.type = (uint8_t)type;
	to_group(ds.fd_ann, &m, ds.cfg->port.multicast[0], DS_TX_ANNOUNCE);
}

static void
query(void)
{
	struct dw_msg m = ds.self;

	if (!ds.d->multicast || ds.fd_query == -1)
		return;
	m.type = DW_QUERY;
	crypto_random(&m.nonce, sizeof(m.nonce));
	ds.query_nonce = m.nonce;
	ds.query_at = mono_ms();
	to_group(ds.fd_query, &m, ds.cfg->port.multicast[1], DS_TX_QUERY);
}

/* ----------------------------------------------------------- receiving */

/* A LEAVE: taken only from the address the peer was seen at first. */
static void
forget_peer(const uint8_t *id, const char *addr)
{
	struct peer *p = find(id);

	if (p == NULL)
		return;
	if ((p->p.source != CAT_PEER_MULTICAST &&
	    p->p.source != CAT_PEER_SCAN) || p->p.naddrs == 0 ||
	    strcmp(p->p.addrs[0], addr) != 0) {
		bump(DS_DROP_CLAIM);
		return;
	}
	log_debug("peer %s left", p->p.name);
	left_set(id, mono_ms());
	remove_at((size_t)(p - ds.peers));
}

static void
reply(int fd, int type, uint32_t nonce, const struct sockaddr *to,
    socklen_t tolen, int stat)
{
	struct dw_msg m = ds.self;

	if (!answer_allowed())
		return;
	m.type = (uint8_t)type;
	m.nonce = nonce;
	if (send_msg(fd, &m, to, tolen) == 0)
		bump(stat);
}

/*
 * Which socket a type belongs on: announcements and leaves to the
 * announce port, queries and answers to the query port, probes and
 * replies to the scan port.  One on another port is dropped.
 */
static int
right_port(int type, enum listen_service svc)
{
	switch (type) {
	case DW_ANNOUNCE:
	case DW_LEAVE:
		return svc == SVC_MCAST_ANNOUNCE;
	case DW_QUERY:
	case DW_ANSWER:
		return svc == SVC_MCAST_QUERY;
	default:
		return svc == SVC_UDPSCAN;
	}
}

static void
datagram(int fd, enum listen_service svc, const uint8_t *buf, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	static const int drop[] = { 0, DS_DROP_OVERSIZE, DS_DROP_MALFORMED,
	    DS_DROP_VERSION };
	static time_t last_log;
	const struct sockaddr *sa = (const struct sockaddr *)from;
	char addr[CAT_PEER_ADDR_MAX];
	struct dw_msg m;
	int64_t gone;
	int rc;

	addr_string(sa, fromlen, addr, sizeof(addr));
	if ((rc = dw_decode(buf, len, &m)) != DW_OK) {
		bump(drop[rc]);
		if (time(NULL) != last_log) {	/* at most one line a second */
			last_log = time(NULL);
			log_debug("discovery: dropped a %s datagram of %zu "
			    "bytes from %s", peerinfo_stat_name(drop[rc]) + 5,
			    len, addr);
		}
		return;
	}
	if (memcmp(m.id, ds.self.id, SERVER_ID_LEN) == 0) {
		bump(DS_DROP_OWN);
		return;
	}
	if (!right_port(m.type, svc) ||
	    /* Answers we did not ask for: */
	    (m.type == DW_ANSWER && m.nonce != ds.query_nonce) ||
	    (m.type == DW_PROBE_REPLY && (m.nonce != ds.scan_nonce ||
	    (!ds.scanning && mono_ms() - ds.scan_ended > SCAN_GRACE_MS)))) {
		bump(DS_DROP_CLAIM);
		return;
	}
	if ((gone = left_at(m.id)) != 0) {
		if ((m.type == DW_ANSWER && ds.query_at < gone) ||
		    (m.type == DW_PROBE_REPLY && ds.scan_started < gone)) {
			bump(DS_DROP_CLAIM);	/* sent before it left */
			return;
		}
		if (m.type == DW_ANNOUNCE)
			left_set(m.id, 0);	/* it is back */
	}
	bump(DS_RX);
	switch (m.type) {
	case DW_ANNOUNCE:
	case DW_ANSWER:
		learn(&m, addr, CAT_PEER_MULTICAST);
		break;
	case DW_QUERY:
		bump(DS_RX_QUERY);
		reply(fd, DW_ANSWER, m.nonce, sa, fromlen, DS_TX_ANSWER);
		break;
	case DW_PROBE:
		bump(DS_RX_PROBE);
		reply(fd, DW_PROBE_REPLY, m.nonce, sa, fromlen,
		    DS_TX_PROBE_REPLY);
		break;
	case DW_PROBE_REPLY:
		bump(DS_RX_PROBE_REPLY);
		if (ds.scanning)
			ds.scan_found++;
		learn(&m, addr, CAT_PEER_SCAN);
		break;
	case DW_LEAVE:
		forget_peer(m.id, addr);
		break;
	}
}

static void
on_dgram(evutil_socket_t fd, short what, void *arg)
{
	enum listen_service svc = (enum listen_service)(intptr_t)arg;
	uint8_t buf[2048];
	struct sockaddr_storage from;

	(void)what;
	for (int i = 0; i < RX_BATCH; i++) {
		socklen_t fromlen = sizeof(from);
		/* MSG_TRUNC: the datagram's real length, to count oversize. */
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
		    (struct sockaddr *)&from, &fromlen);

		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("%s: recvfrom: %s", __func__,
				    strerror(errno));
			return;
		}
		datagram(fd, svc, buf, (size_t)n, &from, fromlen);
	}
}

/* ------------------------------------------------------------ scanning */

static void
scan_range(void)
{
	uint32_t net, mask;
	int prefix;

	dw_parse_cidr(ds.d->scan_networks[ds.scan_net], &net, &prefix);
	mask = prefix == 0 ? 0xffffffffu : (1u << (32 - prefix)) - 1;
	if (prefix >= 31) {
		ds.scan_next = net;
		ds.scan_last = net | mask;
	} else {
		ds.scan_next = net + 1;
		ds.scan_last = (net | mask) - 1;
	}
}

static void
scan_start(void)
{
	struct timeval tv = { 0, SCAN_STEP_MS * 1000 };

	if (!ds.d->udpscan || ds.scanning || ds.d->nscan == 0)
		return;
	if (ds.fd_scan == -1) {
		log_warnx("discovery: UDPScan = 1, but Ports.UDPScan has no "
		    "IPv4 socket to scan from (see Server.Listen)");
		return;
	}
	ds.scanning = 1;
	crypto_random(&ds.scan_nonce, sizeof(ds.scan_nonce));
	ds.scan_net = 0;
	ds.scan_probes = ds.scan_found = 0;
	ds.scan_budget = 1;
	ds.scan_at = ds.scan_started = mono_ms();
	scan_range();
	log_info("discovery: scanning %zu network(s) at %d probes/s",
	    ds.d->nscan, ds.d->scan_rate);
	evtimer_add(ds.scan_ev, &tv);
}

static void
scan_done(void)
{
	int64_t now = mono_ms();
	uint64_t ms = (uint64_t)(now - ds.scan_started);

	ds.scanning = 0;
	ds.scan_ended = now;
	ds.next_scan = now + (int64_t)ds.d->scan_interval * 1000;
	ds.stats[DS_SCANS]++;
	ds.stats[DS_SCAN_LAST_PROBES] = ds.scan_probes;
	ds.stats[DS_SCAN_LAST_MS] = ms;
	ds.stats[DS_SCAN_LAST_FOUND] = ds.scan_found;
	ds.stats_dirty = 1;
	log_info("discovery: scan done: %llu probes in %llu ms, %llu answers",
	    (unsigned long long)ds.scan_probes, (unsigned long long)ms,
	    (unsigned long long)ds.scan_found);
}

static void
on_scan(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, SCAN_STEP_MS * 1000 };
	int64_t now = mono_ms();
	struct dw_msg m = ds.self;
	struct sockaddr_in to;

	(void)fd;
	(void)what;
	(void)arg;
	if (!ds.scanning || ds.stopping)
		return;
	ds.scan_budget += (double)(now - ds.scan_at) / 1000 * ds.d->scan_rate;
	ds.scan_at = now;
	if (ds.scan_budget > 1 + ds.d->scan_rate * SCAN_STEP_MS / 1000.0 * 2)
		ds.scan_budget = 1 + ds.d->scan_rate * SCAN_STEP_MS / 1000.0 * 2;
	m.type = DW_PROBE;
	m.nonce = ds.scan_nonce;
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)ds.cfg->port.udpscan);
	while (ds.scan_budget >= 1) {
		to.sin_addr.s_addr = htonl(ds.scan_next);
		ds.scan_budget -= 1;
		ds.scan_probes++;
		if (send_msg(ds.fd_scan, &m, (struct sockaddr *)&to,
		    sizeof(to)) == 0)
			bump(DS_TX_PROBE);
		if (ds.scan_next++ == ds.scan_last) {
			if (++ds.scan_net == ds.d->nscan) {
				scan_done();
				return;
			}
			scan_range();
		}
	}
	evtimer_add(ds.scan_ev, &tv);
}

/* ------------------------------------------------------- TCP discovery */

static int
json_port(json_t *ports, const char *key, uint16_t *out)
{
	json_t *v = json_object_get(ports, key);

	if (v == NULL || json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 65535)
		return -1;
	*out = (uint16_t)json_integer_value(v);
	return 0;
}

/*
 * An address a peer may be reached at: not unspecified, loopback,
 * multicast or broadcast (a list could otherwise make us connect to
 * services on our own host, or to no one).
 */
static int
addr_usable(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	uint32_t h;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		h = ntohl(a4.s_addr);
		return (h >> 24) != 0 && (h >> 24) != 127 && (h >> 28) < 0xe;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return 0;
	return !IN6_IS_ADDR_UNSPECIFIED(&a6) && !IN6_IS_ADDR_LOOPBACK(&a6) &&
	    !IN6_IS_ADDR_MULTICAST(&a6) && !IN6_IS_ADDR_V4MAPPED(&a6);
}

/*
 * A peer as a list shows it (doc/protocol.md, "peers") into *m, its
 * addresses, age and hops.  0, or -1 when anything is off.
 */
static int
parse_entry(json_t *e, struct dw_msg *m, char addrs[][CAT_PEER_ADDR_MAX],
    int *naddrs, json_int_t *age, json_int_t *hops)
{
	const char *id, *name;
	json_t *ports, *roles, *a, *v;
	size_t i;

	memset(m, 0, sizeof(*m));
	*naddrs = 0;
	*age = *hops = 0;
	if (!json_is_object(e) ||
	    json_unpack(e, "{s:s, s:s, s:o, s:o}", "id", &id, "name", &name,
	    "ports", &ports, "roles", &roles) != 0 ||
	    strspn(id, "0123456789abcdef") != 2 * SERVER_ID_LEN ||
	    hex_decode(id, m->id, SERVER_ID_LEN) == -1 || !dw_name_valid(name) ||
	    !json_is_object(ports) || !json_is_array(roles) ||
	    json_array_size(roles) > 2)
		return -1;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (json_port(ports, "backup", &m->port_backup) ||
	    json_port(ports, "ssl", &m->port_ssl) ||
	    json_port(ports, "ui", &m->port_ui) ||
	    json_port(ports, "webconsole", &m->port_web) ||
	    json_port(ports, "webconsole_ssl", &m->port_webssl))
		return -1;
	json_array_foreach(roles, i, v) {
		if (!json_is_string(v))
			return -1;
		if (strcmp(json_string_value(v), "server") == 0)
			m->roles |= DW_ROLE_SERVER;
		else if (strcmp(json_string_value(v), "client") == 0)
			m->roles |= DW_ROLE_CLIENT;
	}
	if ((v = json_object_get(e, "tls")) != NULL && json_is_true(v))
		m->flags |= DW_FLAG_TLS;
	if ((v = json_object_get(e, "age")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return -1;
		*age = json_integer_value(v);
	}
	if ((v = json_object_get(e, "hops")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return -1;
		*hops = json_integer_value(v);
	}
	if ((a = json_object_get(e, "addresses")) != NULL) {
		if (!json_is_array(a) || json_array_size(a) > CAT_PEER_ADDRS)
			return -1;
		json_array_foreach(a, i, v) {
			const char *s = json_string_value(v);

			if (s == NULL || strlen(s) >= CAT_PEER_ADDR_MAX ||
			    !addr_usable(s))
				return -1;
			snprintf(addrs[(*naddrs)++], CAT_PEER_ADDR_MAX, "%s", s);
		}
	}
	return 0;
}

/* One entry of the list of peer via: learned unless we know better. */
static void
learn_from_list(json_t *e, const struct cat_peer *via)
{
	char addrs[CAT_PEER_ADDRS][CAT_PEER_ADDR_MAX];
	char hex[SERVER_ID_HEX + 1];
	uint64_t now = (uint64_t)time(NULL), seen;
	json_int_t age, hops;
	struct dw_msg m;
	struct peer *p;
	int naddrs;

	if (parse_entry(e, &m, addrs, &naddrs, &age, &hops) == -1) {
		bump(DS_DROP_TCP_ENTRY);
		return;
	}
	if (memcmp(m.id, ds.self.id, SERVER_ID_LEN) == 0 ||
	    memcmp(m.id, via->id, SERVER_ID_LEN) == 0 || naddrs == 0 ||
	    hops >= MAX_HOPS || age >= ds.d->peer_timeout ||
	    left_at(m.id) != 0)	/* it said LEAVE: lists lag behind */
		return;
	seen = now - (uint64_t)age;
	if ((p = find(m.id)) != NULL && (p->p.source != CAT_PEER_TCP ||
	    p->p.last_seen >= seen))
		return;		/* heard directly, or fresher news */
	if (p == NULL) {
		if ((p = add(m.id, now)) == NULL)
			return;
		bump(DS_TCP_LEARNED);
		server_id_hex(m.id, hex);
		log_info("peer %s (%s) at %s learned from %s", m.name, hex,
		    addrs[0], via->name);
	}
	peerinfo_describe(&p->p, &m);
	p->p.source = CAT_PEER_TCP;
	p->p.hops = (uint8_t)(hops + 1);
	memcpy(p->p.via, via->id, SERVER_ID_LEN);
	snprintf(p->p.via_name, sizeof(p->p.via_name), "%s", via->name);
	p->p.naddrs = 0;
	for (int i = naddrs; i > 0; i--)
		note_addr(&p->p, addrs[i - 1]);
	p->p.last_seen = seen;
	p->seen = p->addr0_seen = mono_ms() - (int64_t)age * 1000;
	ds.dirty = 1;
}

static void
ask_end(int failed)
{
	if (failed)
		bump(DS_TCP_FAILED);
	ds.asking = 0;
}

/* The longest peer list we read: room for MaxPeers entries. */
static size_t
pull_max(void)
{
	size_t n = (size_t)ds.d->max_peers * PULL_PER_PEER;

	return n > PULL_MIN ? n : PULL_MIN;
}

/* The answer of the peer we asked (o, stolen): its "self", then its "peers". */
static void
ask_reply(json_t *o)
{
	char addrs[CAT_PEER_ADDRS][CAT_PEER_ADDR_MAX];
	json_t *list, *e;
	json_int_t age, hops;
	struct dw_msg m;
	struct peer *p;
	size_t i;
	int naddrs;

	if (parse_entry(json_object_get(o, "self"), &m, addrs,
	    &naddrs, &age, &hops) == -1 ||
	    memcmp(m.id, ds.self.id, SERVER_ID_LEN) == 0 ||
	    (!ds.ask_static && memcmp(m.id, ds.ask_id, SERVER_ID_LEN) != 0)) {
		log_debug("discovery: bad peer list from %s", ds.ask_addr);
		json_decref(o);
		ask_end(1);
		return;
	}
	/* Its own entry is direct news, at the address we reached. */
	learn(&m, ds.ask_addr, ds.ask_static ? CAT_PEER_STATIC : CAT_PEER_TCP);
	if ((p = find(m.id)) == NULL) {
		json_decref(o);
		ask_end(0);
		return;
	}
	p->next_ask = mono_ms() + (int64_t)ds.d->tcp_interval * 1000;
	list = json_object_get(o, "peers");
	if (json_is_array(list))
		json_array_foreach(list, i, e) {
			if (i >= (size_t)ds.d->max_peers) {
				bump(DS_DROP_TCP_ENTRY);
				break;
			}
			learn_from_list(e, &p->p);
		}
	json_decref(o);
	ask_end(0);
}

static void
on_ask_done(void *arg, int status, json_t *reply)
{
	(void)arg;
	if (status != 200) {
		log_debug("discovery: asking %s for its peers failed (%d %s)",
		    ds.ask_addr, status, json_string_value(json_object_get(
		    reply, "error")));
		json_decref(reply);
		ask_end(1);
		return;
	}
	ask_reply(reply);
}

/* Ask the UI bridge at host:port for its peer list (peerlink.c). */
static void
ask(const char *host, int port)
{
	char hex[SERVER_ID_HEX + 1];
	json_t *req;

	snprintf(ds.ask_addr, sizeof(ds.ask_addr), "%s", host);
	server_id_hex(ds.self.id, hex);
	req = json_pack("{s:s, s:s}", "request", "peers", "from", hex);
	bump(DS_TCP_ASKED);
	ds.asking = 1;
	peerlink_request(host, port, req, pull_max(), on_ask_done, NULL);
	json_decref(req);
}

/* Start the next due ask: static peers first, then known peers. */
static void
ask_next(void)
{
	int64_t now = mono_ms();
	int64_t again = now + (int64_t)ds.d->tcp_interval * 1000;

	if (ds.asking || ds.stopping)
		return;
	for (size_t i = 0; i < ds.ntargets; i++)
		if (ds.targets[i].next_ask <= now) {
			ds.targets[i].next_ask = again;
			ds.ask_static = (int)i + 1;
			ask(ds.targets[i].host, ds.targets[i].port);
			return;
		}
	for (size_t i = 0; i < ds.npeers; i++) {
		struct peer *p = &ds.peers[i];

		if (p->next_ask > now || p->p.port_ui == 0 || p->p.naddrs == 0 ||
		    !addr_usable(p->p.addrs[0]))
			continue;
		p->next_ask = again;
		ds.ask_static = 0;
		memcpy(ds.ask_id, p->p.id, SERVER_ID_LEN);
		ask(p->p.addrs[0], p->p.port_ui);
		return;
	}
}

/* -------------------------------------------------------------- timers */

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	expire();
	if (ds.d->udpscan && !ds.scanning && mono_ms() >= ds.next_scan)
		scan_start();
	ask_next();
	flush(0);
}

static void
on_announce(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	join();
	announce(DW_ANNOUNCE);
}

static void
stop(void)
{
	if (ds.stopping)
		return;
	ds.stopping = 1;
	announce(DW_LEAVE);
	flush(1);
	event_base_loopbreak(ds.base);
}

static void
on_ctl(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	child_read_ctl(ds.env, stop, NULL);
	if (ds.env->ctl_fd == -1)
		event_del(ds.ctl_ev);
}

static void
on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	stop();
}

/* ---------------------------------------------------------------- setup */

static void
setup_sockets(void)
{
	struct listen_set *ls = ds.env->listeners;
	unsigned char ttl = (unsigned char)ds.d->ttl, loop = 1;

	ds.fd_ann = ds.fd_query = ds.fd_scan = -1;
	for (size_t i = 0; i < ls->n; i++) {
		struct listener *l = &ls->l[i];

		if (l->fd == -1)
			continue;
		if (l->svc == SVC_MCAST_ANNOUNCE)
			ds.fd_ann = l->fd;
		else if (l->svc == SVC_MCAST_QUERY)
			ds.fd_query = l->fd;
		else if (l->svc == SVC_UDPSCAN && ds.fd_scan == -1 &&
		    strchr(l->addr, ':') == NULL)
			ds.fd_scan = l->fd;
		if ((ds.rx_ev[ds.nrx] = event_new(ds.base, l->fd,
		    EV_READ | EV_PERSIST, on_dgram,
		    (void *)(intptr_t)l->svc)) == NULL ||
		    event_add(ds.rx_ev[ds.nrx], NULL) == -1)
			fatalx("%s: event setup", __func__);
		ds.nrx++;
	}
	for (int k = 0; k < 2; k++) {
		int fd = k ? ds.fd_query : ds.fd_ann;

		if (fd != -1 && (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL,
		    &ttl, sizeof(ttl)) == -1 || setsockopt(fd, IPPROTO_IP,
		    IP_MULTICAST_LOOP, &loop, sizeof(loop)) == -1))
			log_warn("%s: multicast options", __func__);
	}
}

static void
setup_targets(void)
{
	for (size_t i = 0; i < ds.d->npeers && i < GV_MAX_STATIC_PEERS; i++) {
		struct target *t = &ds.targets[ds.ntargets];

		if (dw_parse_hostport(ds.d->peers[i], t->host, sizeof(t->host),
		    &t->port, ds.cfg->port.ui) == 0)
			ds.ntargets++;
	}
}

void
discovery_main(struct child_env *env)
{
	struct timeval tick = { 0, TICK_MS * 1000 };
	struct timeval period = { 0, 0 };
	struct event *sigev;
	char path[PATH_MAX], err[512];

	ds.env = env;
	ds.cfg = env->cfg;
	ds.d = &env->cfg->disc;
	peerinfo_self(ds.cfg, env->server_id, &ds.self);
	inet_pton(AF_INET, ds.d->group, &ds.group);
	ds.tokens = ANSWER_RATE;
	ds.tokens_at = mono_ms();
	ds.next_scan = ds.tokens_at + 1000;
	if ((ds.peers = calloc((size_t)ds.d->max_peers, sizeof(*ds.peers))) ==
	    NULL)
		fatal("%s", __func__);
	if ((ds.base = event_base_new()) == NULL)
		fatalx("%s: event_base_new", __func__);

	if (snprintf(path, sizeof(path), "%s/catalog", ds.cfg->datadir) >=
	    (int)sizeof(path))
		log_warnx("%s: DataDir path too long", __func__);
	else if (catalog_open_for(path, 0, CAT_T_PEERS, &ds.cat, err,
	    sizeof(err)) != CAT_OK)	/* it writes its table only */
		log_warnx("%s (peers are not recorded)", err);
	else if (catalog_peers(ds.cat, load_visit, NULL, NULL) != CAT_OK)
		log_warnx("%s", catalog_strerror(ds.cat));
	ds.dirty = 1;

	setup_sockets();
	setup_targets();
	ds.ctl_ev = event_new(ds.base, env->ctl_fd, EV_READ | EV_PERSIST,
	    on_ctl, NULL);
	sigev = evsignal_new(ds.base, SIGTERM, on_sigterm, NULL);
	ds.tick_ev = event_new(ds.base, -1, EV_PERSIST, on_tick, NULL);
	ds.announce_ev = event_new(ds.base, -1, EV_PERSIST, on_announce, NULL);
	ds.scan_ev = evtimer_new(ds.base, on_scan, NULL);
	peerlink_init(ds.base);
	period.tv_sec = ds.d->announce_interval;
	if (ds.ctl_ev == NULL || sigev == NULL || ds.tick_ev == NULL ||
	    ds.announce_ev == NULL || ds.scan_ev == NULL ||
	    event_add(ds.ctl_ev, NULL) || event_add(sigev, NULL) ||
	    event_add(ds.tick_ev, &tick) ||
	    event_add(ds.announce_ev, &period))
		fatalx("%s: event setup", __func__);

	/* Hello, world: announce, and ask who is there. */
	join();
	announce(DW_ANNOUNCE);
	query();
	log_debug("discovery: multicast %s, group %s, scan %s, %zu static "
	    "peer(s)", ds.d->multicast ? "on" : "off", ds.d->group,
	    ds.d->udpscan ? "on" : "off", ds.ntargets);

	child_send(env, imsg_empty(IMSG_READY));

	event_base_dispatch(ds.base);

	peerlink_stop();
	for (size_t i = 0; i < ds.nrx; i++)
		event_free(ds.rx_ev[i]);
	event_free(ds.ctl_ev);
	event_free(sigev);
	event_free(ds.tick_ev);
	event_free(ds.announce_ev);
	event_free(ds.scan_ev);
	event_base_free(ds.base);
	catalog_close(ds.cat);
	free(ds.peers);
	exit(0);
}
