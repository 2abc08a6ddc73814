/*
 * worker.c - a worker process: take connections from the hand-off
 * queue (listen.h), which the acceptor (acceptor.c) fills with
 * connections of the backup ports (plain, and TLS when SSL.Enabled)
 * whose first message has arrived, and serve one session at a time
 * (session.c), telling the supervisor when it is busy, with whom, and
 * when the session ended.  A worker that is busy does not read the
 * queue: connections wait there for the next free one.  The session's
 * HandshakeTimeout counts from the acceptor's accept().
 *
 * Every session that ends, authenticated or not (a hello, a failed
 * AUTH, a port scan: the same sessions as the supervisor's
 * sessions_served), is also added to the catalog's statistics of its
 * UTC day (catalog_day_add) with its bytes in and out, in one short
 * transaction after the session ended; a failure there is logged and
 * the worker carries on.  The same transaction records the session in
 * the history (catalog_session_end()): its kind, client, peer, start,
 * end, bytes, result and why it ended; not an agent's poll that went
 * well, nor a hello without more (session.h, hist_quiet).
 *
 * The worker opens the catalog and its store after the fork (LMDB must
 * not cross a fork); when that fails it keeps serving hellos and tries
 * again before each session.  SIGTERM stays blocked except inside
 * ppoll(), so a SIGTERM between the check of the flag and the wait is
 * not lost.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"
#include "common/wire.h"
#include "catalog.h"
#include "child.h"
#include "config.h"
#include "imsg.h"
#include "listen.h"
#include "log.h"
#include "session.h"
#include "store.h"

static struct worker {
	struct child_env *env;
	int		 stopping;	/* SHUTDOWN received or supervisor gone */
	struct catalog	*cat;
	struct store	*store;
	sigset_t	 waitmask;	/* SIGTERM unblocked: ppoll only */
} w;

/* SHUTDOWN or the supervisor gone: take no more connections. */
static void
stop_accepting(void)
{
	w.stopping = 1;
}

/*
 * LEASE (Store.Backend = s3): writes only while the lease is held; the
 * reason otherwise, which a session gives its client (session.h).
 */
static char readonly[IMSG_LEASE_WHY_MAX];

static void
on_lease(int type, const union imsg_body *b)
{
	if (type != IMSG_LEASE)
		return;
	if (b->lease.state == LS_HELD)
		readonly[0] = '\0';
	else
		snprintf(readonly, sizeof(readonly), "%s", b->lease.why);
}

/* Messages from the supervisor; also called from inside a session. */
static void
ctl_ready(void *arg)
{
	(void)arg;
	child_read_ctl(w.env, stop_accepting, on_lease);
}

/* Open the catalog and the store unless they are open already. */
static void
open_storage(void)
{
	char path[PATH_MAX], err[512];

	if (w.cat != NULL)
		return;
	if (snprintf(path, sizeof(path), "%s/catalog", w.env->cfg->datadir) >=
	    (int)sizeof(path)) {
		log_warnx("%s: DataDir path too long", __func__);
		return;
	}
	if (catalog_open(path, 0, &w.cat, err, sizeof(err)) != CAT_OK) {
		log_warnx("%s", err);
		return;
	}
	if (store_open(w.env->cfg->datadir, w.cat, &w.store, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		catalog_close(w.cat);
		w.cat = NULL;
	}
}

static void
peer_name(const struct sockaddr_storage *ss, socklen_t len, char *buf,
    size_t buflen)
{
	char host[48], port[8];

	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host),
	    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, buflen, "unknown");
	else if (ss->ss_family == AF_INET6)
		snprintf(buf, buflen, "[%s]:%s", host, port);
	else
		snprintf(buf, buflen, "%s:%s", host, port);
}

/*
 * Add a finished session, started at start (Unix seconds), to today's
 * statistics and to the history; errors only logged.
 */
static void
count_session(const struct session *s, time_t start)
{
	struct cat_history h;
	time_t now = time(NULL);

	if (w.cat == NULL || now < 0)
		return;
	memset(&h, 0, sizeof(h));
	h.kind = s->hist_kind;
	h.result = s->hist_result;
	h.start = start;
	h.end = now;
	snprintf(h.client, sizeof(h.client), "%s", s->hist_client);
	snprintf(h.set, sizeof(h.set), "%s", s->hist_set);
	snprintf(h.who, sizeof(h.who), "%s", s->peer);
	h.bytes_in = s->bytes_in;
	h.bytes_out = s->bytes_out;
	h.snapshot = s->hist_snapshot;
	if (h.result != CAT_HRES_OK)
		snprintf(h.text, sizeof(h.text), "%s", s->why);
	catalog_history_set_max(w.cat, w.env->cfg->history_max_entries);
	if (catalog_session_end(w.cat, (uint64_t)now, s->bytes_in,
	    s->bytes_out, s->hist_quiet ? NULL : &h) != CAT_OK)
		log_warnx("session statistics: %s", catalog_strerror(w.cat));
}

/*
 * Serve the connection fd, accepted by the acceptor at mono_ms()
 * accepted, and close it.  The session's HandshakeTimeout counts from
 * now, when a worker takes it: the acceptor already bounded the wait
 * for its first message, and time spent queued for a free worker (all
 * busy with long backups) is not the client's fault.  When the time ran
 * out in the acceptor (timed_out), it counts from the accept: the
 * session answers "handshake timeout" at once.
 */
static void
serve(int fd, int tls, int64_t accepted, int timed_out,
    const struct sockaddr_storage *ss, socklen_t sslen, uint8_t *buf,
    uint8_t *out)
{
	struct session s;
	uint64_t ms;
	time_t start = time(NULL);
	int on = 1;

	memset(&s, 0, sizeof(s));
	s.fd = fd;
	s.accepted = timed_out ? accepted : mono_ms();
	peer_name(ss, sslen, s.peer, sizeof(s.peer));
	if (s.accepted - accepted >= 1000)
		log_debug("session from %s waited %lld ms for a free worker",
		    s.peer, (long long)(s.accepted - accepted));
	s.cfg = w.env->cfg;
	s.server_id = w.env->server_id;
	s.buf = buf;
	s.out = out;
	s.tls_ctx = tls ? w.env->cfg->tls : NULL;
	s.ctl_fd = &w.env->ctl_fd;
	s.ctl_ready = ctl_ready;
	s.terminate = &child_terminate;
	s.waitmask = &w.waitmask;
	s.readonly = readonly;
	open_storage();
	s.cat = w.cat;
	s.store = w.store;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		log_debug("%s: TCP_NODELAY: %s", __func__, strerror(errno));

	child_send(w.env, imsg_busy(s.peer));
	log_debug("session from %s started", s.peer);

	session_run(&s);
	close(fd);

	ms = (uint64_t)(mono_ms() - s.accepted);
	log_info("session from %s ended: %s; %llu bytes in, %llu bytes out, "
	    "%llu ms", s.peer, s.why, (unsigned long long)s.bytes_in,
	    (unsigned long long)s.bytes_out, (unsigned long long)ms);
	child_send(w.env, imsg_empty(IMSG_SESSION_END));
	child_send(w.env, imsg_empty(IMSG_IDLE));
	/*
	 * Last: the client has its connection closed and the status shows
	 * the worker idle already.
	 */
	count_session(&s, start);
}

/* Take one connection from the hand-off queue, if any, and serve it. */
static void
take_one(uint8_t *buf, uint8_t *out)
{
	struct handoff h;
	int fd;

	if ((fd = handoff_recv(w.env->handoff_fd, &h)) == -1) {
		/* EAGAIN: another worker was quicker. */
		if (errno == EBADMSG)
			log_warnx("%s: a connection from the acceptor was lost "
			    "(a malformed message, or no descriptor free to "
			    "receive it)", __func__);
		else if (errno != EAGAIN && errno != EINTR)
			log_warn("%s: hand-off queue", __func__);
		if (errno == EMFILE || errno == ENFILE)
			sleep(1);	/* do not spin on a full table */
		return;
	}
	serve(fd, h.svc == SVC_TLS, h.accepted, h.timed_out != 0, &h.ss,
	    (socklen_t)h.sslen, buf, out);
}

void
worker_main(struct child_env *env)
{
	struct pollfd pfd[2];
	uint8_t *buf, *out;

	w.env = env;
	child_catch_term(&w.waitmask);
	if (env->cfg->store_backend == STORE_BACKEND_S3)
		snprintf(readonly, sizeof(readonly), "%s",
		    env->cfg->s3.role == S3_ROLE_STANDBY ? "standby: this "
		    "server does not write to the bucket" : "waiting for the "
		    "bucket's lease");

	/* Frame buffers (in and out) for the life of the worker. */
	if ((buf = malloc(WIRE_HDR_LEN + (size_t)env->cfg->max_frame)) == NULL ||
	    (out = malloc(WIRE_HDR_LEN + (size_t)env->cfg->max_frame)) == NULL)
		fatal("%s: frame buffer", __func__);
	open_storage();

	child_send(env, imsg_empty(IMSG_READY));

	while (!child_terminate && !w.stopping) {
		pfd[0] = (struct pollfd){ .fd = env->handoff_fd,
		    .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = env->ctl_fd, .events = POLLIN };
		if (ppoll(pfd, 2, NULL, &w.waitmask) == -1) {
			if (errno != EINTR)
				fatal("%s: ppoll", __func__);
			continue;
		}
		if (pfd[1].revents)
			ctl_ready(NULL);
		if (!w.stopping && !child_terminate && pfd[0].revents)
			take_one(buf, out);
	}
	log_debug("worker %d exiting", env->slot);
	store_close(w.store);
	catalog_close(w.cat);
	free(out);
	free(buf);
	exit(0);
}
