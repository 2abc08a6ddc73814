/*
 * supervisor.c - the child table: spawn, reap, respawn with back-off,
 * reload, drain.
 *
 * Who may touch what.  The supervisor runs as root (when started so),
 * never opens the catalog and never reads a client's bytes; every child
 * runs as Server.User, with no new privileges and not dumpable
 * (child_restrict()), and without the supervisor's DataDir lock.
 * Catalog tables (catalog.c) a role writes; every role that opens the
 * catalog may read all of it.  "open for" is enforced by the catalog
 * handle (catalog_open_for()): a bug cannot write elsewhere, though a
 * child running code of its own could, with the same uid.
 *
 *   role          writes tables                      files in DataDir
 *   supervisor    none (no LMDB)                     gigavaultd.lock (held
 *                                                    for its life), server-id,
 *                                                    tls/; Server.PidFile,
 *                                                    Log.File, the sockets
 *   check child   all, at open (creates, upgrades    none; checks access to
 *   (start-up)    the totals); nothing after         the rest as Server.User
 *   worker        meta, clients, tokens, blobs,      packs/ (new packs), the
 *                 snapshots, usage, days, recent,    journal
 *                 jobs (reports, agents, requests
 *                 taken), history (each session's
 *                 end, each report) (all:
 *                 catalog_open())
 *   housekeeper   blobs, snapshots, usage, recent,   packs/ (rewrites and
 *                 history (runs, trims) (all:        removes), the journal,
 *                 catalog_open())                    housekeeping.json(.lock),
 *                                                    prune.lock, alerts.json
 *   ui bridge     open for meta, clients, tokens,    the journal, admins
 *                 snapshots, policies, blobs, usage, (Administrators page);
 *                                                    reads housekeeping.json
 *                 jobs (client add, disable, remove;
 *                 "back up now" requests);
 *                 never peers, days, recent, history
 *   discovery     open for peers only                none
 *   lease         active: none (no LMDB);            active: none; in the
 *   (follower.c,  standby: blobs, clients, tokens,   bucket PREFIX/lease;
 *   Store.Backend snapshots, policies, meta          standby: the journal
 *   = s3)         (rebuild_follow(), catalog_open()) (journal_pull()), then
 *                                                    PREFIX/lease at take-over
 *   gigavaultctl  all (client, policy, forget,       admins; gigavaultd.lock
 *                 client backup, rebuild-catalog,    while it rebuilds or
 *                 upgrade; history: its prune and    upgrades
 *                 scrub runs)
 *
 * Signal handlers only set flags.  The signals stay blocked except inside
 * ppoll(), which waits for them and for messages from the children at
 * once, so no signal is lost between a check and the wait.
 *
 * Every message from a child is checked against the table in imsg.c
 * (may its kind send that type?) and decoded whole before it is acted
 * on; a child that sends anything else is restarted.  Messages between
 * children pass through here: HK_RUN (the console's "run prune or scrub
 * now") comes from the UI bridge and goes on to the housekeeper.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"
#include "common/paths.h"
#include "admins.h"
#include "child.h"
#include "config.h"
#include "datadir.h"
#include "hkstatus.h"
#include "imsg.h"
#include "listen.h"
#include "leasestate.h"
#include "log.h"
#include "pidfile.h"
#include "proctitle.h"
#include "supervisor.h"

#define BACKOFF_FIRST_MS	250
#define BACKOFF_MAX_MS		30000
#define STABLE_AFTER_S		10	/* a child this old restarts at once */
#define KILL_GRACE_S		5	/* from SIGTERM to SIGKILL on drain */

static int count_workers(const struct gv_config *c) { return c->workers; }
static int count_one(const struct gv_config *c) { (void)c; return 1; }
static int count_lease(const struct gv_config *c)
{
	return c->store_backend == STORE_BACKEND_S3;
}

/*
 * The children, a row per kind (enum child_kind, child.h): its name in
 * logs and in ps (with the slot when more than one may run), its main
 * function, how many run, and which listeners it keeps.
 */
static const struct kind_row {
	const char	*name, *title;
	void		(*main)(struct child_env *);
	int		(*count)(const struct gv_config *);
	unsigned	 services;
} kinds[NKINDS] = {
	[KIND_UIBRIDGE] = { "uibridge", "ui bridge", uibridge_main, count_one,
	    SVC_BIT(SVC_UI) | SVC_BIT(SVC_WEB) | SVC_BIT(SVC_WEBSSL) },
	[KIND_WORKER] = { "worker", "worker", worker_main, count_workers, 0 },
	[KIND_HOUSEKEEPER] = { "housekeeper", "housekeeper", housekeeper_main,
	    count_one, 0 },
	[KIND_DISCOVERY] = { "discovery", "discovery", discovery_main,
	    count_one, SVC_BIT(SVC_MCAST_ANNOUNCE) | SVC_BIT(SVC_MCAST_QUERY) |
	    SVC_BIT(SVC_UDPSCAN) },
	[KIND_ACCEPTOR] = { "acceptor", "acceptor", acceptor_main, count_one,
	    SVC_BIT(SVC_BACKUP) | SVC_BIT(SVC_TLS) },
	[KIND_LEASE] = { "lease", "lease", follower_main, count_lease, 0 },
};

/* Where a stop (SIGTERM, SIGINT) has got to. */
enum drain {
	DRAIN_NONE,		/* running: no stop asked for */
	DRAIN_WAITING,		/* SHUTDOWN sent: sessions may finish */
	DRAIN_TERM_SENT,	/* drain time over: SIGTERM sent */
	DRAIN_KILL_SENT,	/* SIGKILL sent */
};

struct child {
	enum child_kind	 kind;
	pid_t		 pid;
	int		 fd;		/* our end of the socketpair, or -1 */
	int		 slot;		/* -1: retiring, never respawned */
	enum child_state state;
	time_t		 since;		/* wall clock, for status */
	int64_t		 started;	/* mono_ms() */
	char		 peer[IMSG_PEER_MAX];
};

struct slot {
	struct child	*child;		/* NULL: waiting to be forked */
	long		 backoff_ms;
	int64_t		 fork_at;	/* mono_ms() */
};

static volatile sig_atomic_t got_chld, got_hup, got_term, got_usr1;

static struct {
	struct gv_config *cfg;
	struct listen_set ls;
	int		 handoff[2];	/* acceptor -> workers, see listen.h */
	const uint8_t	*server_id;
	int		 verbose, foreground;
	int64_t		 started;	/* mono_ms() */
	uint64_t	 sessions_served;

	struct child	**children;	/* every live child */
	size_t		 nchildren, capchildren;
	struct slot	*slots[NKINDS];
	int		 nslots[NKINDS];

	enum drain	 draining;
	int64_t		 drain_deadline;	/* mono_ms() */
	int		 lease_retired;	/* SHUTDOWN sent to the lease child */
	struct imsg_lease lease;	/* its last state (Store.Backend s3) */
	struct imsg	 msg;
} sup;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:	got_chld = 1; break;
	case SIGHUP:	got_hup = 1; break;
	case SIGTERM:
	case SIGINT:	got_term = 1; break;
	case SIGUSR1:	got_usr1 = 1; break;
	}
}

/* As root, give the log file to Server.User, so children can reopen it. */
static void
give_log(const struct gv_config *cfg)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() == 0 && cfg->log_file[0] != '\0' &&
	    user_lookup(cfg->user, &uid, &gid) == 0 &&
	    chown(cfg->log_file, uid, gid) == -1)
		log_warn("chown %s", cfg->log_file);
}

int
supervisor_log_setup(const struct gv_config *cfg, int verbose, int foreground)
{
	if (log_init(cfg->log_file, foreground, cfg->log_facility,
	    verbose ? LOG_LVL_DEBUG : (enum log_level)cfg->log_level) == -1)
		return -1;
	give_log(cfg);
	return 0;
}

static void
child_name(const struct child *c, char *buf, size_t len)
{
	const char *kind = kinds[c->kind].name;

	if (c->slot >= 0)
		snprintf(buf, len, "%s %d (pid %ld)", kind, c->slot,
		    (long)c->pid);
	else
		snprintf(buf, len, "retiring %s (pid %ld)", kind, (long)c->pid);
}

/* Schedule the next fork of slot s, backing off while it keeps failing. */
static void
back_off(struct slot *s, int stable)
{
	if (stable)
		s->backoff_ms = 0;
	else if (s->backoff_ms == 0)
		s->backoff_ms = BACKOFF_FIRST_MS;
	else if ((s->backoff_ms *= 2) > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	s->fork_at = mono_ms() + s->backoff_ms;
}

/* In the new child: become kind ki, slot i.  Never returns. */
static void __attribute__((noreturn))
become_child(enum child_kind ki, int slot, int fd)
{
	const struct kind_row *k = &kinds[ki];
	struct child_env env;
	sigset_t none;
	char name[32];

	for (size_t i = 0; i < sup.nchildren; i++)
		if (sup.children[i]->fd != -1)
			close(sup.children[i]->fd);
	datadir_lock_close_copy();	/* the lock stays the supervisor's */
	listen_keep_only(&sup.ls, k->services);
	/* The hand-off queue: the acceptor sends, the workers receive. */
	if (ki != KIND_ACCEPTOR)
		close(sup.handoff[0]);
	if (ki != KIND_WORKER)
		close(sup.handoff[1]);
	/* Every process logs into the sink; the UI bridge alone reads it. */
	if (ki != KIND_UIBRIDGE)
		log_sink_close_reader();

	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);	/* ^C reaches the whole group; the */
	signal(SIGHUP, SIG_IGN);	/* supervisor decides what happens */
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	snprintf(name, sizeof(name), "%s[%d]", k->name, slot);
	log_procname(name);
	if (k->count == count_one)
		proctitle_set("%s", k->title);
	else
		proctitle_set("%s %d", k->title, slot);
	drop_privileges(sup.cfg->user);
	child_restrict();

	env.cfg = sup.cfg;
	env.listeners = &sup.ls;
	env.ctl_fd = fd;
	env.handoff_fd = ki == KIND_ACCEPTOR ? sup.handoff[0] :
	    ki == KIND_WORKER ? sup.handoff[1] : -1;
	env.kind = ki;
	env.slot = slot;
	env.server_id = sup.server_id;
	k->main(&env);
	_exit(1);	/* main functions do not return */
}

static void
spawn(enum child_kind ki, int slot)
{
	const struct kind_row *k = &kinds[ki];
	struct slot *s = &sup.slots[ki][slot];
	struct child *c;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		back_off(s, 0);
		log_warn("%s: socketpair for %s %d (retrying in %ld ms)",
		    __func__, k->name, slot, s->backoff_ms);
		return;
	}
	if (sup.nchildren == sup.capchildren) {
		size_t cap = sup.capchildren ? sup.capchildren * 2 : 64;
		struct child **p = reallocarray(sup.children, cap, sizeof(*p));

		if (p == NULL)
			fatal("%s", __func__);
		sup.children = p;
		sup.capchildren = cap;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);

	switch (pid = fork()) {
	case -1:
		back_off(s, 0);
		log_warn("%s: fork for %s %d (retrying in %ld ms)", __func__,
		    k->name, slot, s->backoff_ms);
		close(sv[0]);
		close(sv[1]);
		free(c);
		return;
	case 0:
		close(sv[0]);
		free(c);
		become_child(ki, slot, sv[1]);
	}
	close(sv[1]);
	c->kind = ki;
	c->pid = pid;
	c->fd = sv[0];
	c->slot = slot;
	c->state = CS_STARTING;
	c->since = time(NULL);
	c->started = mono_ms();
	sup.children[sup.nchildren++] = c;
	s->child = c;
	log_debug("started %s %d (pid %ld)", k->name, slot, (long)pid);
}

/*
 * Fork every slot that is due.  Returns the milliseconds until the next
 * timed event (a fork put off, the drain deadline), or -1 for none.
 */
static int64_t
spawn_due(void)
{
	int64_t now = mono_ms(), next = -1;

	if (sup.draining != DRAIN_NONE)
		return sup.drain_deadline > now ? sup.drain_deadline - now : 0;
	for (enum child_kind ki = 0; ki < NKINDS; ki++)
		for (int i = 0; i < sup.nslots[ki]; i++) {
			struct slot *s = &sup.slots[ki][i];

			if (s->child == NULL && s->fork_at <= now)
				spawn(ki, i);
			if (s->child == NULL && (next == -1 ||
			    s->fork_at - now < next))
				next = s->fork_at > now ? s->fork_at - now : 0;
		}
	return next;
}

/* Ask a child to finish what it is doing and exit; it is not respawned. */
static void
retire(struct child *c)
{
	if (c->slot >= 0)
		sup.slots[c->kind][c->slot].child = NULL;
	c->slot = -1;
	if (c->fd == -1)
		return;
	if (imsg_send(c->fd, imsg_empty(IMSG_SHUTDOWN), 1) == -1) {
		log_warn("%s: cannot tell %s pid %ld to stop; sending SIGTERM",
		    __func__, kinds[c->kind].name, (long)c->pid);
		kill(c->pid, SIGTERM);
	}
}

static void
remove_child(size_t i)
{
	struct child *c = sup.children[i];

	if (c->slot >= 0)
		sup.slots[c->kind][c->slot].child = NULL;
	if (c->fd != -1)
		close(c->fd);
	free(c);
	sup.children[i] = sup.children[--sup.nchildren];
}

static void
describe_exit(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
}

static void	tell_lease(struct child *, enum lease_state, const char *);

static void
reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int64_t now = mono_ms();
		char name[64], how[96];
		size_t i;

		for (i = 0; i < sup.nchildren; i++)
			if (sup.children[i]->pid == pid)
				break;
		if (i == sup.nchildren)
			continue;
		struct child *c = sup.children[i];
		child_name(c, name, sizeof(name));
		describe_exit(status, how, sizeof(how));
		if (c->kind == KIND_LEASE && sup.lease.state != LS_STANDBY)
			tell_lease(NULL, LS_WAITING, "waiting for the bucket's "
			    "lease (the lease child exited)");

		if (c->slot < 0 || sup.draining != DRAIN_NONE) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				log_debug("%s %s", name, how);
			else
				log_warnx("%s %s", name, how);
		} else {
			struct slot *s = &sup.slots[c->kind][c->slot];
			long lived = (long)(now - c->started);

			back_off(s, lived >= STABLE_AFTER_S * 1000L);
			log_warnx("%s %s after %ld ms; respawning in %ld ms",
			    name, how, lived, s->backoff_ms);
		}
		remove_child(i);
	}
}

/*
 * c broke the table of imsg.c (why): it is stopped, and reap() respawns
 * it with back-off.  Nothing more is read from it.
 */
static void
restart(struct child *c, const char *why)
{
	char name[64];

	child_name(c, name, sizeof(name));
	log_warnx("%s: %s; restarting it", name, why);
	close(c->fd);
	c->fd = -1;
	kill(c->pid, SIGTERM);
}

static void
send_status(struct child *to, uint32_t id)
{
	static struct imsg_status r;

	r.id = id;
	r.uptime = (uint64_t)(mono_ms() - sup.started) / 1000;
	r.pool = (uint32_t)sup.cfg->workers;
	r.served = sup.sessions_served;
	r.n = 0;
	for (size_t i = 0; i < sup.nchildren && r.n < IMSG_STATUS_MAX; i++) {
		struct child *c = sup.children[i];
		struct imsg_worker *w = &r.w[r.n];

		if (c->kind != KIND_WORKER)
			continue;
		w->pid = (uint32_t)c->pid;
		w->state = (uint8_t)c->state;
		w->retiring = c->slot < 0;
		w->since = (uint64_t)c->since;
		memcpy(w->peer, c->peer, sizeof(w->peer));
		r.n++;
	}
	if (imsg_send(to->fd, imsg_status(&r), 1) == -1)
		log_warn("%s: status reply to pid %ld", __func__,
		    (long)to->pid);
}

/*
 * The lease's state (LEASE from the lease child, or its exit) to every
 * child that acts on it: workers write only while it is held.
 */
static void
tell_lease(struct child *to, enum lease_state state, const char *why)
{
	if (to == NULL) {
		sup.lease.state = (uint8_t)state;
		snprintf(sup.lease.why, sizeof(sup.lease.why), "%s", why);
	}
	for (size_t i = 0; i < sup.nchildren; i++) {
		struct child *c = sup.children[i];

		if ((to != NULL && c != to) || c->fd == -1 ||
		    (c->kind != KIND_WORKER && c->kind != KIND_HOUSEKEEPER &&
		    c->kind != KIND_UIBRIDGE))
			continue;
		if (imsg_send(c->fd, imsg_lease(sup.lease.state,
		    sup.lease.why), 1) == -1)
			log_warn("%s: to %s pid %ld", __func__,
			    kinds[c->kind].name, (long)c->pid);
	}
}

/* HK_RUN from the UI bridge: pass job on to the housekeeper. */
static void
forward_hk_run(const struct imsg_hk_run *h)
{
	enum hk_job job = h->job;

	for (size_t i = 0; i < sup.nchildren; i++) {
		struct child *c = sup.children[i];

		if (c->kind != KIND_HOUSEKEEPER || c->slot < 0 || c->fd == -1)
			continue;
		if (imsg_send(c->fd, imsg_hk_run_by(job, h->by), 1) == -1)
			log_warn("%s: to housekeeper pid %ld", __func__,
			    (long)c->pid);
		return;
	}
	log_warnx("%s: no housekeeper running; %s request dropped", __func__,
	    hkstatus_job_name(job));
}

/*
 * One message from child c, which the table of imsg.c must let its kind
 * send, with a body that decodes; else the child is restarted.
 */
static void
handle_msg(struct child *c)
{
	static union imsg_body u;
	char err[128];

	if (imsg_from_child(c->kind, &sup.msg, &u, err, sizeof(err)) == -1) {
		restart(c, err);
		return;
	}
	switch (sup.msg.type) {
	case IMSG_READY:
		if (sup.cfg->store_backend == STORE_BACKEND_S3)
			tell_lease(c, sup.lease.state, sup.lease.why);
		/* FALLTHROUGH */
	case IMSG_IDLE:
		c->state = CS_IDLE;
		c->peer[0] = '\0';
		c->since = time(NULL);
		break;
	case IMSG_BUSY:
		memcpy(c->peer, u.busy.peer, sizeof(c->peer));
		c->state = CS_BUSY;
		c->since = time(NULL);
		break;
	case IMSG_SESSION_END:
		sup.sessions_served++;
		break;
	case IMSG_STATUS_REQ:
		send_status(c, u.status_req.id);
		break;
	case IMSG_HK_RUN:
		forward_hk_run(&u.hk_run);
		break;
	case IMSG_LEASE:
		tell_lease(NULL, u.lease.state, u.lease.why);
		break;
	}
}

static void
read_child(struct child *c)
{
	while (c->fd != -1) {
		int rc = imsg_recv(c->fd, &sup.msg);

		if (rc == 1) {
			handle_msg(c);
			continue;
		}
		if (rc == -1 && errno == EAGAIN)
			return;
		if (rc == -1 && errno == EBADMSG) {
			restart(c, "message header does not match its length");
			return;
		}
		if (rc == -1)
			log_warn("%s: from %s pid %ld", __func__,
			    kinds[c->kind].name, (long)c->pid);
		/* Closed: the child is exiting; waitpid() will tell how. */
		close(c->fd);
		c->fd = -1;
		return;
	}
}

static void
free_slots(void)
{
	for (enum child_kind ki = 0; ki < NKINDS; ki++) {
		free(sup.slots[ki]);
		sup.slots[ki] = NULL;
		sup.nslots[ki] = 0;
	}
}

/* Empty slots for every kind, to be forked now. */
static void
make_slots(void)
{
	int64_t now = mono_ms();

	for (enum child_kind ki = 0; ki < NKINDS; ki++) {
		int n = kinds[ki].count(sup.cfg);

		if ((sup.slots[ki] = calloc((size_t)n, sizeof(struct slot))) == NULL)
			fatal("%s", __func__);
		sup.nslots[ki] = n;
		for (int i = 0; i < n; i++)
			sup.slots[ki][i].fork_at = now;
	}
}

/*
 * Change the worker pool to n slots without touching sessions: retire
 * children that wait for work first, busy ones only when that is not
 * enough (they finish their session before they exit).
 */
static void
resize_pool(int n)
{
	struct slot *old = sup.slots[KIND_WORKER], *fresh;
	int nold = sup.nslots[KIND_WORKER], excess = nold - n, kept = 0;
	int64_t now = mono_ms();
	char *drop;

	if ((drop = calloc((size_t)nold + 1, 1)) == NULL ||
	    (fresh = calloc((size_t)n, sizeof(*fresh))) == NULL)
		fatal("%s", __func__);
	/* Pass 1 drops empty slots and waiting children, pass 2 busy ones. */
	for (int pass = 1; pass <= 2 && excess > 0; pass++)
		for (int i = nold - 1; i >= 0 && excess > 0; i--) {
			struct child *c = old[i].child;

			if (drop[i] || (pass == 1 && c != NULL &&
			    c->state == CS_BUSY))
				continue;
			if (c != NULL)
				retire(c);
			drop[i] = 1;
			excess--;
		}
	for (int i = 0; i < nold && kept < n; i++) {
		if (drop[i])
			continue;
		fresh[kept] = old[i];
		if (fresh[kept].child != NULL)
			fresh[kept].child->slot = kept;
		kept++;
	}
	for (; kept < n; kept++)
		fresh[kept].fork_at = now;
	free(drop);
	free(old);
	sup.slots[KIND_WORKER] = fresh;
	sup.nslots[KIND_WORKER] = n;
}

static int
str_differs(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
}

/* 1 when the Store or S3 sections of a and b differ. */
static int
store_differs(const struct gv_config *a, const struct gv_config *b)
{
	return a->store_backend != b->store_backend ||
	    str_differs(a->s3.endpoint, b->s3.endpoint) ||
	    str_differs(a->s3.region, b->s3.region) ||
	    str_differs(a->s3.bucket, b->s3.bucket) ||
	    str_differs(a->s3.prefix, b->s3.prefix) ||
	    str_differs(a->s3.cred_file, b->s3.cred_file) ||
	    str_differs(a->s3.ca_file, b->s3.ca_file) ||
	    a->s3.path_style != b->s3.path_style ||
	    a->s3.part_size != b->s3.part_size ||
	    a->s3.cache_size != b->s3.cache_size ||
	    a->s3.retries != b->s3.retries ||
	    a->s3.role != b->s3.role ||
	    a->s3.lease_duration != b->s3.lease_duration ||
	    a->s3.follow_interval != b->s3.follow_interval;
}

static void
reload(void)
{
	char err[512];
	struct gv_config *ncfg;
	struct listen_set nls;
	uid_t uid;
	gid_t gid;
	int expired;

	log_info("SIGHUP: reloading %s", sup.cfg->file);
	if ((ncfg = config_load(sup.cfg->file, err, sizeof(err))) == NULL ||
	    config_tls_load(ncfg, &expired, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: %s",
		    err);
		config_free(ncfg);
		return;
	}
	if (expired)
		log_warnx("SSL.Certificate %s is outside its validity period: "
		    "TLS clients will refuse it", ncfg->ssl_cert);
	/*
	 * DataDir stays what it was at start: the server id clients pin
	 * lives there, and children of the old generation may still be
	 * writing to it, under the lock this daemon holds.
	 */
	if (strcmp(ncfg->datadir, sup.cfg->datadir) != 0) {
		log_warnx("reload failed, keeping the running configuration: "
		    "Server.DataDir changed (%s to %s): a new DataDir needs a "
		    "restart", sup.cfg->datadir, ncfg->datadir);
		config_free(ncfg);
		return;
	}
	/*
	 * Store and S3 stay what they were at start too: the lease child
	 * is kept across generations (old workers may still be writing to
	 * the bucket under its lease), and it serves the bucket it started
	 * with.
	 */
	if (store_differs(sup.cfg, ncfg)) {
		log_warnx("reload failed, keeping the running configuration: "
		    "the Store or S3 section changed: a new bucket setup needs "
		    "a restart");
		config_free(ncfg);
		return;
	}
	if (user_lookup(ncfg->user, &uid, &gid) == -1 ||
	    datadir_prepare(ncfg->datadir, uid, gid, err, sizeof(err)) == -1 ||
	    listen_open(ncfg, &nls, &sup.ls, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: %s",
		    err);
		config_free(ncfg);
		return;
	}
	if (strcmp(ncfg->pidfile, sup.cfg->pidfile) != 0) {
		if (pidfile_write(ncfg->pidfile) == -1) {
			log_warn("reload failed, keeping the running "
			    "configuration: cannot write Server.PidFile %s",
			    ncfg->pidfile);
			listen_close(&nls);
			config_free(ncfg);
			return;
		}
		pidfile_remove(sup.cfg->pidfile);
	}
	if (config_differs_beyond_workers(sup.cfg, ncfg)) {
		/*
		 * A new generation: old children finish what they do.  Not
		 * the lease child: it holds the lease those old children
		 * still write under, and is released only in the final
		 * drain (drain_lease()).  Its slot moves to the new slots
		 * (Store and S3 did not change: the same count).
		 */
		struct slot *lease_slots = sup.slots[KIND_LEASE];
		int nlease = sup.nslots[KIND_LEASE];

		for (size_t i = 0; i < sup.nchildren; i++)
			if (sup.children[i]->slot >= 0 &&
			    sup.children[i]->kind != KIND_LEASE)
				retire(sup.children[i]);
		sup.slots[KIND_LEASE] = NULL;
		sup.nslots[KIND_LEASE] = 0;
		free_slots();
		config_free(sup.cfg);
		sup.cfg = ncfg;
		if (supervisor_log_setup(sup.cfg, sup.verbose,
		    sup.foreground) == -1)
			log_warn("cannot open log file %s", sup.cfg->log_file);
		make_slots();
		if (sup.nslots[KIND_LEASE] == nlease) {
			free(sup.slots[KIND_LEASE]);
			sup.slots[KIND_LEASE] = lease_slots;
		} else
			free(lease_slots);
		log_info("reloaded %s: new generation of children, %d workers",
		    sup.cfg->file, sup.cfg->workers);
	} else {
		resize_pool(ncfg->workers);
		config_free(sup.cfg);
		sup.cfg = ncfg;
		log_info("reloaded %s: %d workers", sup.cfg->file,
		    sup.cfg->workers);
	}
	listen_close(&sup.ls);
	sup.ls = nls;
}

static void
reopen_logs(void)
{
	if (log_reopen() == -1)
		log_warn("cannot reopen log file %s", sup.cfg->log_file);
	else
		give_log(sup.cfg);
	for (size_t i = 0; i < sup.nchildren; i++) {
		struct child *c = sup.children[i];

		if (c->fd != -1 &&
		    imsg_send(c->fd, imsg_empty(IMSG_LOG_REOPEN), 1) == -1)
			log_warn("%s: to pid %ld", __func__, (long)c->pid);
	}
	log_info("SIGUSR1: log file reopened");
}

static void
signal_all(int sig)
{
	for (size_t i = 0; i < sup.nchildren; i++)
		kill(sup.children[i]->pid, sig);
}

/* SIGTERM or SIGINT: the first drains, a second one hurries up. */
static void
stop_requested(void)
{
	int64_t now = mono_ms();

	if (sup.draining == DRAIN_NONE) {
		log_info("stopping: %zu children, sessions may finish within "
		    "%d s", sup.nchildren, sup.cfg->drain_timeout);
		sup.draining = DRAIN_WAITING;
		/* The lease child last: drain_lease(). */
		for (size_t i = 0; i < sup.nchildren; i++)
			if (sup.children[i]->kind != KIND_LEASE)
				retire(sup.children[i]);
			else
				sup.children[i]->slot = -1;
		listen_close(&sup.ls);
		free_slots();
		sup.drain_deadline = now + sup.cfg->drain_timeout * 1000L;
	} else if (sup.draining == DRAIN_WAITING) {
		sup.drain_deadline = now;	/* escalate on this turn */
	}
}

/*
 * Draining: when only the lease child is left, nothing writes to the
 * bucket any more, and it may release the lease.
 */
static void
drain_lease(void)
{
	if (sup.draining == DRAIN_NONE || sup.lease_retired)
		return;
	for (size_t i = 0; i < sup.nchildren; i++)
		if (sup.children[i]->kind != KIND_LEASE)
			return;
	sup.lease_retired = 1;
	for (size_t i = 0; i < sup.nchildren; i++)
		retire(sup.children[i]);
}

/* Past the drain deadline: SIGTERM, then SIGKILL, what is left. */
static void
drain_escalate(void)
{
	int64_t now = mono_ms();

	if (sup.nchildren == 0 || sup.drain_deadline > now)
		return;
	if (sup.draining == DRAIN_WAITING) {
		log_warnx("drain time over: sending SIGTERM to %zu children",
		    sup.nchildren);
		signal_all(SIGTERM);
		sup.draining = DRAIN_TERM_SENT;
	} else {
		log_warnx("sending SIGKILL to %zu children", sup.nchildren);
		signal_all(SIGKILL);
		sup.draining = DRAIN_KILL_SENT;
	}
	sup.drain_deadline = now + KILL_GRACE_S * 1000L;
}

/* Wait up to ms (-1: no limit) for signals and for the children. */
static void
wait_and_dispatch(const sigset_t *unblocked, int64_t ms)
{
	struct pollfd *pfd;
	struct timespec ts, *tsp = NULL;
	int rc;

	/* pfd[i] is children[i]'s; poll() passes over an fd of -1. */
	if ((pfd = calloc(sup.nchildren + 1, sizeof(*pfd))) == NULL)
		fatal("%s", __func__);
	for (size_t i = 0; i < sup.nchildren; i++)
		pfd[i] = (struct pollfd){ .fd = sup.children[i]->fd,
		    .events = POLLIN };
	if (ms >= 0) {
		ts = mono_timespec(ms);
		tsp = &ts;
	}
	rc = ppoll(pfd, sup.nchildren, tsp, unblocked);
	if (rc == -1 && errno != EINTR)
		fatal("%s: ppoll", __func__);
	for (size_t i = 0; rc > 0 && i < sup.nchildren; i++)
		if (pfd[i].revents)
			read_child(sup.children[i]);
	free(pfd);
}

/*
 * The start-up line: the version, the pool, and every port served, as
 * bound (each once, whatever the number of Server.Listen addresses);
 * then, when DataDir/admins lists nobody, how to add an administrator.
 * The supervisor reads that file itself: it is a text file, not LMDB,
 * read with admins.c's bounded parser, and only when it is a regular
 * file (Server.User owns DataDir: a FIFO there must not hang us).  No
 * child runs yet.
 */
static void
log_started(void)
{
	static const char *const names[SVC_MAX] = {
		[SVC_BACKUP] = "backup %d",
		[SVC_TLS] = "SSL %d",
		[SVC_UI] = "UI bridge %d",
		[SVC_MCAST_ANNOUNCE] = "discovery %d/udp",
		[SVC_MCAST_QUERY] = "discovery query %d/udp",
		[SVC_UDPSCAN] = "UDP scan %d/udp",
	};
	static const enum listen_service order[] = { SVC_BACKUP, SVC_TLS,
	    SVC_UI, SVC_MCAST_ANNOUNCE, SVC_MCAST_QUERY, SVC_UDPSCAN, SVC_WEB,
	    SVC_WEBSSL };
	const struct gv_config *cfg = sup.cfg;
	char ports[1024], path[PATH_MAX], dashf[PATH_MAX + 8], host[256];
	size_t len = 0;
	int n;

	/* The console's URLs: the host name for a wildcard address. */
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';

	ports[0] = '\0';
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		size_t i;

		for (i = 0; i < sup.ls.n; i++)
			if (sup.ls.l[i].svc == order[o] && sup.ls.l[i].fd != -1)
				break;
		if (i == sup.ls.n || len >= sizeof(ports))
			continue;
		if (len > 0)
			len += (size_t)snprintf(ports + len,
			    sizeof(ports) - len, ", ");
		if (len >= sizeof(ports))
			continue;
		if (order[o] == SVC_WEB || order[o] == SVC_WEBSSL) {
			const char *a = sup.ls.l[i].addr;
			int v6 = strchr(a, ':') != NULL;

			if (strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0) {
				a = host;
				v6 = 0;
			}
			len += (size_t)snprintf(ports + len, sizeof(ports) -
			    len, "console %s://%s%s%s:%d/",
			    order[o] == SVC_WEB ? "http" : "https",
			    v6 ? "[" : "", a, v6 ? "]" : "", sup.ls.l[i].port);
		} else
			len += (size_t)snprintf(ports + len, sizeof(ports) -
			    len, names[order[o]], sup.ls.l[i].port);
	}
	log_info("gigavaultd %s started: %d workers; ports: %s",
	    PACKAGE_VERSION, cfg->workers, ports[0] ? ports : "none");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", cfg->datadir,
	    ADMIN_FILE) >= sizeof(path))
		return;
	/* admin_count() opens it safely: no link, no FIFO (admins.h). */
	if ((n = admin_count(path)) != 0)
		return;		/* some, or cannot tell (logged) */
	dashf[0] = '\0';
	if (strcmp(cfg->file, GV_CONFFILE) != 0)
		snprintf(dashf, sizeof(dashf), "-f %s ", cfg->file);
	log_warnx("no console administrator exists yet: add one with "
	    "`gigavaultctl %sadmin add NAME`", dashf);
}

int
supervisor_run(struct gv_config *cfg, struct listen_set *ls,
    const uint8_t *server_id, int verbose, int foreground)
{
	static const int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	struct sigaction sa;
	sigset_t block, unblocked;

	sup.cfg = cfg;
	sup.ls = *ls;
	sup.server_id = server_id;
	sup.verbose = verbose;
	sup.foreground = foreground;
	sup.started = mono_ms();
	/*
	 * Made once, kept to the end and never read here: connections the
	 * acceptor handed off wait in it while workers or the acceptor are
	 * respawned or a reload changes the generation.
	 */
	if (handoff_pair(sup.handoff) == -1)
		fatal("%s: hand-off socketpair", __func__);
	/*
	 * Likewise the log's copy for the UI bridge (log.h): lines logged
	 * while the bridge restarts wait in it.
	 */
	if (log_sink_open() == -1)
		log_warn("%s: log sink socketpair: the console's Log page "
		    "stays empty", __func__);
	proctitle_set("supervisor -f %s", cfg->file);

	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(&unblocked, sigs[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	sup.lease.state = cfg->s3.role == S3_ROLE_STANDBY ? LS_STANDBY :
	    LS_WAITING;
	snprintf(sup.lease.why, sizeof(sup.lease.why), "%s",
	    cfg->s3.role == S3_ROLE_STANDBY ? "standby: this server does not "
	    "write to the bucket" : "waiting for the bucket's lease");
	/* Before any fork: the lease's validity, shared (leasestate.h). */
	if (cfg->store_backend == STORE_BACKEND_S3 && leasestate_map() == -1)
		fatal("%s: the lease's shared page", __func__);
	make_slots();
	log_started();

	for (;;) {
		int64_t ms = spawn_due();

		if (sup.draining != DRAIN_NONE && sup.nchildren == 0)
			break;
		wait_and_dispatch(&unblocked, ms);
		if (got_chld) {
			got_chld = 0;
			reap();
		}
		if (got_term) {
			got_term = 0;
			stop_requested();
		}
		if (got_hup) {
			got_hup = 0;
			if (sup.draining == DRAIN_NONE)
				reload();
		}
		if (got_usr1) {
			got_usr1 = 0;
			reopen_logs();
		}
		if (sup.draining != DRAIN_NONE) {
			drain_lease();
			drain_escalate();
		}
	}
	log_info("stopped: %llu sessions served",
	    (unsigned long long)sup.sessions_served);
	pidfile_remove(sup.cfg->pidfile);
	config_free(sup.cfg);
	free(sup.children);
	return 0;
}
