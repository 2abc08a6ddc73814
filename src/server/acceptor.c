/*
 * acceptor.c - the acceptor child: the only process that accepts on the
 * backup ports (Ports.BackupServer, and Ports.SSLServer when
 * SSL.Enabled).  It holds each new connection, many at once on one
 * libevent loop, until its first message is complete in the socket's
 * receive buffer, and then hands the connection to a free worker
 * through the hand-off queue (listen.h).  A worker is therefore never
 * tied up by a connection that trickles its hello: 200 connections that
 * send a byte every 5 seconds cost this process 200 descriptors and no
 * worker.
 *
 * "Complete" is read with MSG_PEEK, so nothing is consumed and the
 * worker's session (session.c) reads the connection from its first
 * byte, exactly as when it accepted it itself:
 *
 * - plain port: the 8-byte frame header, then the payload it announces
 *   when the header is one of a CLIENT_HELLO within WIRE_HELLO_MAX; any
 *   other header is handed on at once, and the worker answers it with
 *   the ERROR it always did;
 * - TLS port: the 5-byte record header, then the whole record when it
 *   is a handshake record (type 22) of at most TLS_RECORD_MAX bytes;
 *   anything else is handed on at once (the worker says "this is the
 *   TLS port").  The rest of the TLS handshake runs in the worker.
 *
 * A connection that closes, fails, or is still incomplete when
 * Server.HandshakeTimeout has passed since the accept is handed on too:
 * the worker then logs and answers it as before (the deadline counts
 * from this process's accept(), so it ends at once).  The acceptor
 * judges only two things itself, and closes the connection with a log
 * line (at most one a second per reason) when
 *
 * - an address already has Server.MaxHandshakesPerAddress connections
 *   here, waiting for their first message or, complete, for the queue;
 *   or
 * - it holds as many connections as its descriptor limit allows (the
 *   soft RLIMIT_NOFILE, raised to the hard one, less FD_RESERVE).
 *
 * The hand-off queue is a socketpair of the supervisor's, so
 * connections waiting in it for a worker outlive a respawned acceptor;
 * the kernel's queue is kept short (the smallest send buffer, a few
 * messages: listen.c), and when it is full complete connections wait
 * here until a worker takes one.
 * They leave fairly rather than in order: the next is the oldest whose
 * address is none of the last FAIR_RECENT addresses handed on (of the
 * first FAIR_WINDOW waiting), so one address with many connections
 * that say hello and then stall (each then holds a worker for up to
 * HandshakeTimeout) cannot keep another address's client waiting
 * behind all of them.  On SHUTDOWN (a stop, or a new
 * generation after a reload) the acceptor closes its listeners, goes on
 * handing off what it holds as each completes or times out, and exits
 * when it holds nothing; on SIGTERM or when the supervisor is gone it
 * exits at once.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/bytes.h"
#include "common/monotime.h"
#include "common/wire.h"
#include "child.h"
#include "config.h"
#include "imsg.h"
#include "listen.h"
#include "log.h"

#define TLS_RECORD_HDR	5
#define TLS_HANDSHAKE	22		/* record content type */
#define TLS_RECORD_MAX	(16384 + 2048)	/* largest record payload */
#define PEEK_MAX	(TLS_RECORD_HDR + TLS_RECORD_MAX)
#define PLAIN_MAX	(WIRE_HDR_LEN + WIRE_HELLO_MAX)
#define FD_RESERVE	32	/* descriptors kept for pipes, logs, listeners */
#define HELD_MIN	16
#define ACCEPT_BATCH	64	/* accepts per wake-up of one listener */
#define RETRY_MS	200	/* hand-off queue refused for another reason */
#define PAUSE_MS	100	/* out of descriptors: listeners rest */

_Static_assert(PLAIN_MAX <= PEEK_MAX, "peek buffer too small");

enum refusal { REF_ADDR, REF_TOTAL, REF_NOFILE, NREFUSALS };

struct conn {
	int		 fd;
	enum listen_service svc;	/* SVC_BACKUP or SVC_TLS */
	int64_t		 accepted;	/* mono_ms() */
	size_t		 seen;		/* bytes the last peek found */
	int		 complete;	/* in a.ready: waits for the queue */
	int		 timed_out;	/* HandshakeTimeout ran out here */
	struct sockaddr_storage ss;
	socklen_t	 sslen;
	struct event	*ev;		/* readable: edge-triggered */
	struct event	*timer;		/* the HandshakeTimeout deadline */
	TAILQ_ENTRY(conn) entry;
};
TAILQ_HEAD(connq, conn);

#define FAIR_WINDOW	64	/* waiting connections looked at */
#define FAIR_RECENT	8	/* addresses handed on last */

static struct {
	struct child_env *env;
	struct event_base *base;
	struct event	*lev[LISTEN_MAX];	/* one per listener */
	size_t		 nlev;
	struct event	*ctl_ev;
	struct event	*out_ev;	/* the hand-off queue has room */
	struct event	*retry_ev;
	struct event	*pause_ev;	/* listeners resting (EMFILE) */
	struct connq	 held;		/* waiting for their first message */
	struct connq	 ready;		/* complete, waiting for the queue */
	size_t		 n;		/* in held and ready */
	size_t		 max;		/* bound on n */
	int		 stopping;
	struct {
		int64_t	 last;		/* mono_ms() of the last log line */
		uint64_t count;		/* since start */
		uint64_t unlogged;	/* since the last log line */
	}		 refused[NREFUSALS];
	uint8_t		 peek[PEEK_MAX];
	struct sockaddr_storage recent[FAIR_RECENT];	/* handed on last */
	size_t		 nrecent, recent_next;
} a;

static void	flush_ready(void);

static void
peer_host(const struct sockaddr_storage *ss, socklen_t len, char *buf,
    size_t buflen)
{
	if (getnameinfo((const struct sockaddr *)ss, len, buf, buflen, NULL,
	    0, NI_NUMERICHOST) != 0)
		snprintf(buf, buflen, "unknown");
}

/* Close a connection the acceptor will not keep; logged once a second. */
static void
refuse(enum refusal why, int fd, const struct sockaddr_storage *ss,
    socklen_t sslen)
{
	int64_t now = mono_ms();
	char host[64];

	if (fd != -1)
		close(fd);
	a.refused[why].count++;
	if (a.refused[why].last != 0 && now - a.refused[why].last < 1000) {
		a.refused[why].unlogged++;
		return;
	}
	if (ss != NULL)
		peer_host(ss, sslen, host, sizeof(host));
	switch (why) {
	case REF_ADDR:
		log_warnx("acceptor: connection from %s closed: %d connections "
		    "from that address are still sending their hello "
		    "(Server.MaxHandshakesPerAddress); %llu more closed "
		    "since the last such message, %llu in all", host,
		    a.env->cfg->max_handshakes_per_addr,
		    (unsigned long long)a.refused[why].unlogged,
		    (unsigned long long)a.refused[why].count);
		break;
	case REF_TOTAL:
		log_warnx("acceptor: connection from %s closed: %zu "
		    "connections are still sending their hello (the bound "
		    "set by the descriptor limit); %llu more closed since "
		    "the last such message, %llu in all", host, a.n,
		    (unsigned long long)a.refused[why].unlogged,
		    (unsigned long long)a.refused[why].count);
		break;
	default:
		log_warnx("acceptor: out of file descriptors, not accepting "
		    "for %d ms (%llu times in all)", PAUSE_MS,
		    (unsigned long long)a.refused[why].count);
		break;
	}
	a.refused[why].last = now;
	a.refused[why].unlogged = 0;
}

/* After SHUTDOWN: exit once nothing is held any more. */
static void
maybe_exit(void)
{
	if (a.stopping && a.n == 0)
		event_base_loopbreak(a.base);
}

/* Forget c; its descriptor is closed (ours is a copy once handed off). */
static void
conn_free(struct conn *c)
{
	TAILQ_REMOVE(c->complete ? &a.ready : &a.held, c, entry);
	event_free(c->ev);
	event_free(c->timer);
	close(c->fd);
	free(c);
	a.n--;
	maybe_exit();
}

/*
 * Try to put c on the hand-off queue: 1 when it is there (c is freed)
 * or lost (logged, c freed), 0 when the queue is full for now.
 */
static int
send_one(struct conn *c)
{
	struct handoff h;

	memset(&h, 0, sizeof(h));
	h.svc = c->svc;
	h.accepted = c->accepted;
	h.timed_out = c->timed_out;
	h.sslen = c->sslen;
	memcpy(&h.ss, &c->ss, sizeof(h.ss));
	if (handoff_send(a.env->handoff_fd, c->fd, &h) == 0) {
		conn_free(c);
		return 1;
	}
	if (errno == EAGAIN || errno == ENOBUFS || errno == ETOOMANYREFS)
		return 0;
	log_warn("acceptor: hand-off queue");
	conn_free(c);
	return 1;
}

static int
recently_served(const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < a.nrecent; i++)
		if (listen_same_host(&a.recent[i], ss))
			return 1;
	return 0;
}

/* The next complete connection to hand on (see the top), or NULL. */
static struct conn *
next_ready(void)
{
	struct conn *c;
	size_t k = 0;

	TAILQ_FOREACH(c, &a.ready, entry) {
		if (!recently_served(&c->ss))
			return c;
		if (++k == FAIR_WINDOW)
			break;
	}
	return TAILQ_FIRST(&a.ready);
}

/* Hand off complete connections, fairly, as long as the queue takes them. */
static void
flush_ready(void)
{
	struct timeval tv = { 0, RETRY_MS * 1000 };
	struct sockaddr_storage ss;
	struct conn *c;

	while ((c = next_ready()) != NULL) {
		ss = c->ss;
		if (send_one(c)) {
			a.recent[a.recent_next] = ss;
			a.recent_next = (a.recent_next + 1) % FAIR_RECENT;
			if (a.nrecent < FAIR_RECENT)
				a.nrecent++;
			continue;
		}
		/*
		 * Wait for room (EAGAIN), or try again soon: a writable
		 * socket that says ENOBUFS or ETOOMANYREFS would wake a
		 * writability event at once, again and again.
		 */
		if (errno == EAGAIN)
			event_add(a.out_ev, NULL);
		else
			event_del(a.out_ev);
		evtimer_add(a.retry_ev, &tv);
		return;
	}
	event_del(a.out_ev);
	evtimer_del(a.retry_ev);
}

/* c's first message is there, or it never will be: on to a worker. */
static void
hand_off(struct conn *c)
{
	event_del(c->ev);
	evtimer_del(c->timer);
	TAILQ_REMOVE(&a.held, c, entry);
	c->complete = 1;
	TAILQ_INSERT_TAIL(&a.ready, c, entry);
	flush_ready();
}

/* Do the n bytes at the start of c's stream hold its first message? */
static int
first_complete(const struct conn *c, const uint8_t *p, size_t n)
{
	if (c->svc == SVC_TLS) {
		size_t len;

		if (n >= 1 && p[0] != TLS_HANDSHAKE)
			return 1;	/* not TLS: the worker says so */
		if (n < TLS_RECORD_HDR)
			return 0;
		len = be16_get(p + 3);
		if (len > TLS_RECORD_MAX)
			return 1;	/* the worker's TLS refuses it */
		return n >= TLS_RECORD_HDR + len;
	} else {
		struct wire_hdr h;

		if (n < WIRE_HDR_LEN)
			return 0;
		wire_hdr_decode(p, &h);
		if (h.type != WIRE_CLIENT_HELLO || h.flags != 0 ||
		    h.len > WIRE_HELLO_MAX)
			return 1;	/* the worker answers the ERROR */
		return n >= WIRE_HDR_LEN + (size_t)h.len;
	}
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	((struct conn *)arg)->timed_out = 1;
	hand_off(arg);	/* the worker answers "handshake timeout" */
}

/* Has the peer of fd closed its side, or has the connection failed? */
static int
peer_done(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	if (poll(&p, 1, 0) != 1)
		return 0;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/*
 * New bytes, or the end, on c.  The event is edge-triggered: bytes only
 * peeked at stay in the socket and keep it readable, so a level-
 * triggered event would fire again at once.
 */
static void
on_data(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	size_t want = c->svc == SVC_TLS ? PEEK_MAX : PLAIN_MAX;
	ssize_t n;

	(void)what;
	n = recv(fd, a.peek, want, MSG_PEEK | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	/*
	 * An edge with nothing new is the client closing (or failing);
	 * poll() tells that from a wake-up for another reason.  The peek
	 * never stops short of a complete message, so this is not a full
	 * buffer.
	 */
	if (n > 0 && (size_t)n == c->seen && !peer_done(fd))
		return;
	if (n <= 0 || (size_t)n == c->seen ||
	    first_complete(c, a.peek, (size_t)n)) {
		hand_off(c);
		return;
	}
	c->seen = (size_t)n;
}

/*
 * Connections from this address held here: waiting for their first
 * message, or complete and waiting for the hand-off queue.
 */
static int
pending_from(const struct sockaddr_storage *ss)
{
	struct conn *c;
	int k = 0;

	TAILQ_FOREACH(c, &a.held, entry)
		if (listen_same_host(&c->ss, ss))
			k++;
	TAILQ_FOREACH(c, &a.ready, entry)
		if (listen_same_host(&c->ss, ss))
			k++;
	return k;
}

static void
pause_listeners(void)
{
	struct timeval tv = { 0, PAUSE_MS * 1000 };

	for (size_t i = 0; i < a.nlev; i++)
		event_del(a.lev[i]);
	evtimer_add(a.pause_ev, &tv);
}

static void
on_pause_over(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; i < a.nlev && !a.stopping; i++)
		event_add(a.lev[i], NULL);
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	enum listen_service svc = (enum listen_service)(intptr_t)arg;
	struct timeval ht = { a.env->cfg->handshake_timeout, 0 };

	(void)what;
	for (int i = 0; i < ACCEPT_BATCH && !a.stopping; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		struct conn *c;
		int fd;

		fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				refuse(REF_NOFILE, -1, NULL, 0);
				pause_listeners();
			} else if (errno != EAGAIN)
				log_warn("acceptor: accept");
			return;
		}
		if (a.n >= a.max) {
			refuse(REF_TOTAL, fd, &ss, sslen);
			continue;
		}
		if (pending_from(&ss) >= a.env->cfg->max_handshakes_per_addr) {
			refuse(REF_ADDR, fd, &ss, sslen);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->ev = event_new(a.base, fd, EV_READ | EV_PERSIST | EV_ET,
		    on_data, c)) == NULL ||
		    (c->timer = evtimer_new(a.base, on_deadline, c)) == NULL) {
			log_warnx("acceptor: out of memory; connection closed");
			if (c != NULL && c->ev != NULL)
				event_free(c->ev);
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->svc = svc;
		c->accepted = mono_ms();
		c->ss = ss;
		c->sslen = sslen;
		TAILQ_INSERT_TAIL(&a.held, c, entry);
		a.n++;
		evtimer_add(c->timer, &ht);
		event_add(c->ev, NULL);
	}
}

static void
on_room(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	flush_ready();
}

/* SHUTDOWN: accept no more; finish with what is held, then exit. */
static void
stop_accepting(void)
{
	a.stopping = 1;
	for (size_t i = 0; i < a.nlev; i++)
		event_free(a.lev[i]);
	a.nlev = 0;
	listen_close(a.env->listeners);
	maybe_exit();
}

static void
on_ctl(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	child_read_ctl(a.env, stop_accepting, NULL);
	if (a.env->ctl_fd == -1) {
		log_debug("supervisor gone; exiting");
		event_del(a.ctl_ev);
		event_base_loopbreak(a.base);
	}
}

static void
on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(a.base);
}

/* Raise the descriptor limit as far as allowed; the bound on held ones. */
static size_t
held_bound(void)
{
	size_t nofile = listen_raise_nofile();

	if (nofile < HELD_MIN + FD_RESERVE)
		return HELD_MIN;
	return nofile - FD_RESERVE;
}

void
acceptor_main(struct child_env *env)
{
	struct event_config *ecfg;
	struct event *sigev;
	struct conn *c;

	a.env = env;
	TAILQ_INIT(&a.held);
	TAILQ_INIT(&a.ready);
	a.max = held_bound();
	signal(SIGPIPE, SIG_IGN);
	/* Edge-triggered events (epoll): see on_data(). */
	if ((ecfg = event_config_new()) == NULL ||
	    event_config_require_features(ecfg, EV_FEATURE_ET) == -1 ||
	    (a.base = event_base_new_with_config(ecfg)) == NULL)
		fatalx("%s: no libevent backend with edge-triggered events",
		    __func__);
	event_config_free(ecfg);
	for (size_t i = 0; i < env->listeners->n; i++) {
		struct listener *l = &env->listeners->l[i];

		if (l->fd == -1 || (l->svc != SVC_BACKUP && l->svc != SVC_TLS))
			continue;
		a.lev[a.nlev] = event_new(a.base, l->fd, EV_READ | EV_PERSIST,
		    on_accept, (void *)(intptr_t)l->svc);
		if (a.lev[a.nlev] == NULL || event_add(a.lev[a.nlev], NULL))
			fatalx("%s: listener event", __func__);
		a.nlev++;
	}
	a.ctl_ev = event_new(a.base, env->ctl_fd, EV_READ | EV_PERSIST,
	    on_ctl, NULL);
	a.out_ev = event_new(a.base, env->handoff_fd, EV_WRITE, on_room, NULL);
	a.retry_ev = evtimer_new(a.base, on_room, NULL);
	a.pause_ev = evtimer_new(a.base, on_pause_over, NULL);
	sigev = evsignal_new(a.base, SIGTERM, on_sigterm, NULL);
	if (a.ctl_ev == NULL || a.out_ev == NULL || a.retry_ev == NULL ||
	    a.pause_ev == NULL || sigev == NULL ||
	    event_add(a.ctl_ev, NULL) || event_add(sigev, NULL))
		fatalx("%s: event setup", __func__);
	log_debug("acceptor: %zu listeners, up to %zu connections held, %d "
	    "per address", a.nlev, a.max, env->cfg->max_handshakes_per_addr);

	child_send(env, imsg_empty(IMSG_READY));

	event_base_dispatch(a.base);

	a.stopping = 0;		/* no loopbreak from the frees below */
	while ((c = TAILQ_FIRST(&a.held)) != NULL)
		conn_free(c);
	while ((c = TAILQ_FIRST(&a.ready)) != NULL)
		conn_free(c);
	for (size_t i = 0; i < a.nlev; i++)
		event_free(a.lev[i]);
	event_free(a.ctl_ev);
	event_free(a.out_ev);
	event_free(a.retry_ev);
	event_free(a.pause_ev);
	event_free(sigev);
	event_base_free(a.base);
	exit(0);
}
