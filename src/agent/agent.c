/*
 * agent.c - gigavault-agent's event loop (libevent): the jobs' timers
 * (jobs.c), a poll of the server every Agent.PollInterval seconds
 * (agentpoll.c), the UI port (agentui.c), discovery (announce.c), and
 * the signals: SIGTERM and SIGINT stop (each run cancelled, its report
 * kept for the next start), SIGHUP reads client.conf again.  No threads:
 * runs and polls are child processes that the loop watches.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/discowire.h"
#include "client/client.h"
#include "client/clientconf.h"
#include "client/state.h"
#include "agent.h"
#include "agentlog.h"
#include "agentpoll.h"
#include "agentstate.h"
#include "agentui.h"
#include "announce.h"
#include "browse.h"
#include "jobs.h"
#include "run.h"

#define FIRST_POLL_S	1	/* the first poll, after the start */
#define LAST_POLL_S	5	/* the last poll, at a stop, at most */

/* Discovery as the server's defaults (gigavault.conf(5)). */
#define DISC_ANNOUNCE_PORT	6363	/* Ports.Multicast[0] */
#define DISC_QUERY_PORT		6364	/* Ports.Multicast[1] */
#define DISC_UDPSCAN_PORT	32006	/* Ports.UDPScan */
#define DISC_TTL		1
#define DISC_INTERVAL_S		60	/* AnnounceInterval */

struct agent {
	struct event_base *base;
	struct agent_opts opts;
	struct clientconf *conf;
	char		 name[65];
	char		 token[AGENTUI_TOKEN_MAX + 1];
	char		 server[300];
	char		 conffile[4096];	/* the file read */
	struct astate	*state;
	struct jobs	*jobs;
	struct apoll	*poll;
	struct agentui	*ui;
	struct announce	*ann;
	struct event	*ev_term, *ev_int, *ev_hup, *ev_poll, *ev_kick;
	struct event	*ev_last;	/* the last poll's deadline */
	int		 stopping;
	int		 last_poll;	/* the last poll is under way */
	int64_t		 started;
	int64_t		 fast_until;	/* poll every FAST_POLL_S until */
	struct restore	*restores;	/* under way, one per set at most */
};

/*
 * A restore the server asked for (browse.h): one run (run.h) with
 * restore_body(), which answers the request itself; a run that ends
 * without a result is answered here (apoll_answer()).
 */
struct restore {
	struct agent	*a;
	struct restore	*next;
	struct run	*run;
	struct restore_args ra;
};

#define FAST_POLL_S		1	/* after a browse or restore request */
#define FAST_FOR_S		300	/* for this long */

/*
 * A secret file (PassphraseFile, UITokenFile): owned by us, readable by
 * nobody else.  Its first line (at most max bytes) into buf, when buf is
 * not NULL.  0, or -1 with err set.
 */
static int
secret_file(const char *what, const char *path, char *buf, size_t max,
    char *err, size_t errlen)
{
	struct stat st;
	char line[AGENTUI_TOKEN_MAX + 2];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || (st.st_mode & 077) != 0 ||
	    st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s %s: must be owned by uid %d and "
		    "readable by nobody else (chmod 600)", what, path,
		    (int)geteuid());
		fclose(f);
		return -1;
	}
	if (buf == NULL) {
		fclose(f);
		return 0;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0 || n > max) {
		snprintf(err, errlen, "%s %s: the first line is empty or "
		    "longer than %zu bytes", what, path, max);
		crypto_wipe(line, sizeof(line));
		return -1;
	}
	memcpy(buf, line, n + 1);
	crypto_wipe(line, sizeof(line));
	return 0;
}

/* Load and check client.conf; the token into token (may be NULL). */
static struct clientconf *
load_conf(const char *file, char *token, char *err, size_t errlen)
{
	struct clientconf *c;

	if ((c = clientconf_load(file, err, errlen)) == NULL)
		return NULL;
	if (c->agent.passfile[0] != '\0' && secret_file("PassphraseFile",
	    c->agent.passfile, NULL, 0, err, errlen) == -1)
		goto fail;
	if (token != NULL)
		token[0] = '\0';
	if (c->agent.token_file[0] != '\0' && secret_file("UITokenFile",
	    c->agent.token_file, token, AGENTUI_TOKEN_MAX, err, errlen) == -1)
		goto fail;
	return c;
fail:
	clientconf_free(c);
	return NULL;
}

int
agent_check(const struct agent_opts *o)
{
	struct clientconf *c;
	char err[1024], tok[AGENTUI_TOKEN_MAX + 1];
	size_t njobs = 0;

	if ((c = load_conf(o->conffile, tok, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gigavault-agent: %s\n", err);
		return -1;
	}
	crypto_wipe(tok, sizeof(tok));
	for (size_t i = 0; i < c->nsets; i++)
		njobs += c->sets[i].schedule[0] != '\0';
	if (njobs == 0)
		fprintf(stderr, "gigavault-agent: %s: no BackupSet has a "
		    "Schedule: the agent will run no job\n", c->file);
	else if (c->agent.passfile[0] == '\0' &&
	    getenv("GIGAVAULT_PASSPHRASE") == NULL)
		fprintf(stderr, "gigavault-agent: %s: no Agent.PassphraseFile "
		    "and no GIGAVAULT_PASSPHRASE: every run will fail to "
		    "unlock the key file\n", c->file);
	clientconf_free(c);
	return 0;
}

/* The agent's name: Agent.Name, else the host name made valid. */
static void
agent_name(const struct clientconf *c, char *name, size_t len)
{
	char host[256];
	size_t i;

	if (c->agent.name[0] != '\0') {
		snprintf(name, len, "%s", c->agent.name);
		return;
	}
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "agent");
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';	/* the first label */
	for (i = 0; host[i] != '\0' && i + 1 < len && i < 64; i++)
		name[i] = isalnum((unsigned char)host[i]) || host[i] == '_' ||
		    host[i] == '-' ? host[i] : '-';
	name[i] = '\0';
	if (!dw_name_valid(name))
		snprintf(name, len, "agent");
}

/* The server sessions go to, for status. */
static void
agent_server(struct agent *a)
{
	struct client_state st;
	char err[512];

	if (a->conf->server[0] != '\0') {
		snprintf(a->server, sizeof(a->server), "%s", a->conf->server);
		return;
	}
	memset(&st, 0, sizeof(st));
	if (client_state_read(a->conf->statefile, &st, err, sizeof(err)) == 0)
		snprintf(a->server, sizeof(a->server), "%s", st.server);
	else
		snprintf(a->server, sizeof(a->server), "(not registered)");
	crypto_wipe(&st, sizeof(st));
}

static int	restore_cancel(void *, const char *);

static void
ui_conf(struct agent *a, struct agentui_conf *u)
{
	memset(u, 0, sizeof(*u));
	u->listen = a->conf->agent.ui_listen;
	u->nlisten = a->conf->agent.nui_listen;
	u->listen_default = a->conf->agent.ui_listen_default;
	u->port = a->conf->port_ui;
	u->token = a->token;
	u->name = a->name;
	u->conffile = a->conffile;
	u->server = a->server;
	u->started = a->started;
	u->jobs = a->jobs;
	u->state = a->state;
	u->poll = a->poll;
	u->restore_cancel = restore_cancel;
	u->restore_arg = a;
}

static void
arm_poll(struct agent *a, int seconds)
{
	struct timeval tv = { seconds, 0 };

	evtimer_add(a->ev_poll, &tv);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	if (a->stopping)
		return;
	apoll_now(a->poll);
	arm_poll(a, time(NULL) < a->fast_until ? FAST_POLL_S :
	    a->conf->agent.poll);
}

static void	kick(void *);

/* A browse or restore came: poll every FAST_POLL_S for FAST_FOR_S. */
static void
go_fast(struct agent *a)
{
	if (time(NULL) >= a->fast_until)
		alog_info("poll: every %d s for the next %d s (a browse or "
		    "restore request came)", FAST_POLL_S, FAST_FOR_S);
	a->fast_until = time(NULL) + FAST_FOR_S;
	evtimer_del(a->ev_poll);
	arm_poll(a, FAST_POLL_S);
}

static void
restore_done(struct run *run, const struct run_outcome *o, void *arg)
{
	struct restore *r = arg, **pp;
	struct agent *a = r->a;
	json_t *j;
	char *s;

	(void)run;
	if (o->status == -1 || o->status == BROWSE_UNANSWERED) {
		/* Cancelled, died or could not answer: say so. */
		alog_warnx("restore of set %s (request %llu): %s", r->ra.set,
		    (unsigned long long)r->ra.request, o->error);
		j = json_pack("{s:I, s:I, s:I, s:I, s:s}", "files",
		    (json_int_t)0, "dirs", (json_int_t)0, "bytes",
		    (json_int_t)0, "problems", (json_int_t)0, "error",
		    o->result == REMOTE_JOB_CANCELLED ? "cancelled" :
		    o->error);
		if (j != NULL && (s = json_dumps(j, JSON_COMPACT)) != NULL) {
			apoll_answer(a->poll, r->ra.request, 2, s);
			free(s);
		}
		json_decref(j);
	} else
		alog_info("restore of set %s (request %llu) ended: %s",
		    r->ra.set, (unsigned long long)r->ra.request,
		    o->status == 0 ? "ok" : o->status == 1 ?
		    "with problems" : "failed");
	for (pp = &a->restores; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	restore_args_free(&r->ra);
	free(r);
	kick(a);
}

/* A restore request: its run started, or refused (answered later). */
static void
restore_start(struct agent *a, const struct remote_agent_request *rq)
{
	const struct clientconf_set *cs;
	struct run_spec sp;
	struct restore *r;
	char err[1024], *s;
	json_t *j;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto refuse;
	}
	if (restore_args_parse(rq->args, &r->ra, err, sizeof(err)) == -1 ||
	    restore_args_allowed(&r->ra, a->conf->agent.allow_restore, err,
	    sizeof(err)) == -1)
		goto refuse;
	r->ra.allow = a->conf->agent.allow_restore;
	/* One run of a set at a time: its backup, or one restore. */
	if (jobs_is_running(a->jobs, rq->set)) {
		snprintf(err, sizeof(err), "set %s is running a backup; one "
		    "run of a set at a time", rq->set);
		goto refuse;
	}
	for (struct restore *o = a->restores; o != NULL; o = o->next)
		if (strcmp(o->ra.set, rq->set) == 0) {
			snprintf(err, sizeof(err), "a restore of set %s is "
			    "under way (request %llu); one at a time", rq->set,
			    (unsigned long long)o->ra.request);
			goto refuse;
		}
	r->a = a;
	snprintf(r->ra.set, sizeof(r->ra.set), "%s", rq->set);
	r->ra.request = rq->id;
	memset(&sp, 0, sizeof(sp));
	sp.conffile = a->conf->file;
	sp.set = r->ra.set;
	sp.passfile = a->conf->agent.passfile;
	/* The set's LimitUpload and LimitDownload, as for its backups. */
	if ((cs = clientconf_set(a->conf, rq->set)) != NULL) {
		sp.limit_up = cs->limit_up;
		sp.limit_down = cs->limit_down;
	}
	sp.body = restore_body;
	sp.body_arg = &r->ra;
	if ((r->run = run_start(a->base, &sp, restore_done, r, err,
	    sizeof(err))) == NULL)
		goto refuse;
	r->next = a->restores;
	a->restores = r;
	alog_info("restore of set %s, snapshot %llu, %d path%s to %s "
	    "(request %llu) started", rq->set,
	    (unsigned long long)r->ra.snapshot, r->ra.npaths,
	    r->ra.npaths == 1 ? "" : "s", r->ra.dir,
	    (unsigned long long)rq->id);
	return;
refuse:
	alog_warnx("restore request %llu refused: %s",
	    (unsigned long long)rq->id, err);
	if (r != NULL)
		restore_args_free(&r->ra);
	free(r);
	if ((j = json_pack("{s:s}", "error", err)) != NULL &&
	    (s = json_dumps(j, JSON_COMPACT)) != NULL) {
		apoll_answer(a->poll, rq->id, 2, s);
		free(s);
		kick(a);
	}
	json_decref(j);
}

/* The UI port's "cancel" of set: its restore.  0, or -1 when none. */
static int
restore_cancel(void *arg, const char *set)
{
	struct agent *a = arg;

	for (struct restore *r = a->restores; r != NULL; r = r->next)
		if (strcmp(r->ra.set, set) == 0) {
			alog_info("restore of set %s (request %llu): cancelled",
			    set, (unsigned long long)r->ra.request);
			run_cancel(r->run);
			return 0;
		}
	return -1;
}

/* jobs_set_busy()'s: 1 when set has a restore under way. */
static int
restore_busy(void *arg, const char *set)
{
	struct agent *a = arg;

	for (struct restore *r = a->restores; r != NULL; r = r->next)
		if (strcmp(r->ra.set, set) == 0)
			return 1;
	return 0;
}

/* Cancel the restores under way (the agent stops). */
static void
restores_cancel(struct agent *a)
{
	for (struct restore *r = a->restores; r != NULL; r = r->next)
		run_cancel(r->run);
}

/* After a report was kept, or a run ended: send it soon; stop when done. */
static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	if (a->stopping) {
		struct timeval tv = { LAST_POLL_S, 0 };

		/*
		 * The runs have ended: one last poll sends their reports
		 * (cancelled), so that the server does not wait for the next
		 * start to know; at most LAST_POLL_S seconds.
		 */
		if (jobs_running(a->jobs) == 0 && a->restores == NULL &&
		    !a->last_poll) {
			a->last_poll = 1;
			apoll_now(a->poll);
			evtimer_add(a->ev_last, &tv);
		}
		return;
	}
	apoll_now(a->poll);
}

static void
on_last(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	alog_info("the last poll did not end within %d s", LAST_POLL_S);
	event_base_loopexit(a->base, NULL);
}

static void
poll_ended(void *arg, int ok)
{
	struct agent *a = arg;

	(void)ok;
	if (a->last_poll)
		event_base_loopexit(a->base, NULL);
}

static void
kick(void *arg)
{
	struct agent *a = arg;

	event_active(a->ev_kick, EV_TIMEOUT, 0);
}

static int
poll_jobs(void *arg, struct remote_agent_job **out, size_t *n)
{
	struct agent *a = arg;

	return jobs_poll_list(a->jobs, out, n);
}

static void
poll_request(void *arg, const struct remote_agent_request *rq)
{
	struct agent *a = arg;
	char err[512];
	int code;

	if (rq->kind == REMOTE_REQ_BROWSE) {
		go_fast(a);
		return;
	}
	if (rq->kind == REMOTE_REQ_RESTORE) {
		go_fast(a);
		restore_start(a, rq);
		return;
	}
	if (rq->kind != REMOTE_REQ_BACKUP) {
		alog_warnx("poll: request %llu of unknown kind %d ignored",
		    (unsigned long long)rq->id, rq->kind);
		return;
	}
	alog_info("poll: the server asks for a backup of set %s now "
	    "(request %llu)", rq->set, (unsigned long long)rq->id);
	if (jobs_run_now(a->jobs, rq->set, rq->id, &code, err,
	    sizeof(err)) == -1 && code != 409)
		jobs_refuse(a->jobs, rq->set, rq->id, err);
}

/* Announce the agent in discovery; without it when that fails. */
static void
start_announce(struct agent *a)
{
	struct announce_conf ac;
	char err[512];

	memset(&ac, 0, sizeof(ac));
	ac.name = a->name;
	memcpy(ac.id, astate_id(a->state), SERVER_ID_LEN);
	ac.group = DISC_GROUP;
	ac.port_announce = DISC_ANNOUNCE_PORT;
	ac.port_query = DISC_QUERY_PORT;
	/* Probes only when asked: a server on this machine needs the port. */
	ac.port_udpscan = a->conf->agent.answer_probes ? DISC_UDPSCAN_PORT : 0;
	ac.ttl = DISC_TTL;
	ac.interval = DISC_INTERVAL_S;
	ac.port_ui = a->conf->port_ui;
	ac.port_backup = a->conf->port_backup;
	ac.port_ssl = a->conf->port_ssl;
	if ((a->ann = announce_start(a->base, &ac, err, sizeof(err))) == NULL)
		alog_warnx("discovery: %s; the agent runs without it", err);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	(void)what;
	if (a->stopping)
		return;
	a->stopping = 1;
	alog_info("SIG%s: stopping (%zu runs cancelled)", sig == SIGINT ?
	    "INT" : "TERM", jobs_running(a->jobs));
	jobs_stop(a->jobs);
	restores_cancel(a);
	evtimer_del(a->ev_poll);
	agentui_stop(a->ui);
	a->ui = NULL;
	announce_stop(a->ann);
	a->ann = NULL;
	kick(a);
}

/* 1 when the lists a (na) and b (nb) hold the same strings in order. */
static int
same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/* Swap into c what old has that runs until a restart (old is freed). */
static void
keep_running(struct clientconf *c, struct clientconf *old)
{
	char **l = c->agent.ui_listen, *s;
	size_t n = c->agent.nui_listen;
	int d = c->agent.ui_listen_default;

	c->agent.ui_listen = old->agent.ui_listen;
	c->agent.nui_listen = old->agent.nui_listen;
	c->agent.ui_listen_default = old->agent.ui_listen_default;
	old->agent.ui_listen = l;
	old->agent.nui_listen = n;
	old->agent.ui_listen_default = d;
	c->port_ui = old->port_ui;
	s = c->agent.state_dir;
	c->agent.state_dir = old->agent.state_dir;
	old->agent.state_dir = s;
	s = c->agent.name;
	c->agent.name = old->agent.name;
	old->agent.name = s;
	c->agent.discovery = old->agent.discovery;
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	struct clientconf *c;
	struct agentui_conf u;
	char err[1024], tok[AGENTUI_TOKEN_MAX + 1];

	(void)sig;
	(void)what;
	if (a->stopping)
		return;
	if ((c = load_conf(a->opts.conffile, tok, err, sizeof(err))) == NULL) {
		alog_warnx("SIGHUP: %s; the old configuration stays", err);
		return;
	}
	/*
	 * The UI port keeps the addresses it has bound until a restart:
	 * one that is not loopback needs a token still.
	 */
	for (size_t i = 0; i < a->conf->agent.nui_listen; i++) {
		const char *l = a->conf->agent.ui_listen[i];

		if (tok[0] == '\0' && strncmp(l, "127.", 4) != 0 &&
		    strcmp(l, "::1") != 0) {
			alog_warnx("SIGHUP: the UI port listens on %s, not a "
			    "loopback address, until a restart: the new "
			    "configuration has no UITokenFile; the old "
			    "configuration stays", l);
			crypto_wipe(tok, sizeof(tok));
			clientconf_free(c);
			return;
		}
	}
	if (jobs_reload(a->jobs, c, err, sizeof(err)) == -1) {
		alog_warnx("SIGHUP: %s; the old configuration stays", err);
		clientconf_free(c);
		return;
	}
	/*
	 * UIListen, Ports.UI, StateDir, Name and Discovery take a restart:
	 * until then the running ones stay in a->conf.
	 */
	if (c->port_ui != a->conf->port_ui || !same_list(c->agent.ui_listen,
	    c->agent.nui_listen, a->conf->agent.ui_listen,
	    a->conf->agent.nui_listen) || strcmp(c->agent.state_dir,
	    a->conf->agent.state_dir) != 0 || strcmp(c->agent.name,
	    a->conf->agent.name) != 0 || c->agent.discovery !=
	    a->conf->agent.discovery)
		alog_warnx("SIGHUP: a new UIListen, Ports.UI, StateDir, Name "
		    "or Discovery takes a restart of the agent");
	keep_running(c, a->conf);
	memcpy(a->token, tok, sizeof(a->token));
	crypto_wipe(tok, sizeof(tok));
	clientconf_free(a->conf);
	a->conf = c;
	agent_server(a);
	ui_conf(a, &u);
	agentui_update(a->ui, &u);
	evtimer_del(a->ev_poll);
	arm_poll(a, a->conf->agent.poll);
	alog_info("SIGHUP: %s read again, %zu jobs", c->file,
	    jobs_count(a->jobs));
}

int
agent_main(const struct agent_opts *o)
{
	struct apoll_conf pc;
	struct agentui_conf u;
	struct agent a;
	char err[1024];
	int rc = 1;

	memset(&a, 0, sizeof(a));
	a.opts = *o;
	a.started = time(NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((a.conf = load_conf(o->conffile, a.token, err, sizeof(err))) ==
	    NULL) {
		alog_warnx("%s", err);
		return 1;
	}
	snprintf(a.conffile, sizeof(a.conffile), "%s", a.conf->file);
	agent_name(a.conf, a.name, sizeof(a.name));
	agent_server(&a);
	if ((a.state = astate_open(a.conf->agent.state_dir, err,
	    sizeof(err))) == NULL) {
		alog_warnx("StateDir: %s", err);
		goto out;
	}
	if ((a.base = event_base_new()) == NULL ||
	    (a.ev_term = evsignal_new(a.base, SIGTERM, on_stop, &a)) == NULL ||
	    (a.ev_int = evsignal_new(a.base, SIGINT, on_stop, &a)) == NULL ||
	    (a.ev_hup = evsignal_new(a.base, SIGHUP, on_hup, &a)) == NULL ||
	    (a.ev_poll = evtimer_new(a.base, on_poll, &a)) == NULL ||
	    (a.ev_kick = event_new(a.base, -1, 0, on_kick, &a)) == NULL ||
	    (a.ev_last = evtimer_new(a.base, on_last, &a)) == NULL ||
	    evsignal_add(a.ev_term, NULL) == -1 ||
	    evsignal_add(a.ev_int, NULL) == -1 ||
	    evsignal_add(a.ev_hup, NULL) == -1) {
		alog_warnx("cannot set up the event loop");
		goto out;
	}
	memset(&pc, 0, sizeof(pc));
	pc.conffile = a.conf->file;
	pc.passfile = a.conf->agent.passfile;
	pc.name = a.name;
	pc.outbox = astate_outbox(a.state);
	pc.jobs = poll_jobs;
	pc.request = poll_request;
	pc.ended = poll_ended;
	pc.arg = &a;
	if ((a.poll = apoll_new(a.base, &pc)) == NULL) {
		alog_warnx("out of memory");
		goto out;
	}
	if ((a.jobs = jobs_new(a.base, a.conf, a.state, kick, &a, err,
	    sizeof(err))) == NULL) {
		alog_warnx("%s", err);
		goto out;
	}
	jobs_set_busy(a.jobs, restore_busy, &a);
	ui_conf(&a, &u);
	if ((a.ui = agentui_start(a.base, &u, err, sizeof(err))) == NULL) {
		alog_warnx("%s", err);
		goto out;
	}
	if (o->ready != NULL && o->ready(o->ready_arg) == -1)
		goto out;
	if (a.conf->agent.discovery)
		start_announce(&a);
	arm_poll(&a, FIRST_POLL_S);
	alog_info("started: %s, %zu jobs, UI port %d, polling every %d s, "
	    "agent %s (id %s)", a.conf->file, jobs_count(a.jobs),
	    a.conf->port_ui, a.conf->agent.poll, a.name,
	    astate_id_hex(a.state));
	event_base_dispatch(a.base);
	alog_info("stopped");
	rc = 0;
out:
	announce_stop(a.ann);
	agentui_stop(a.ui);
	apoll_free(a.poll);
	jobs_free(a.jobs);
	if (a.ev_term != NULL)
		event_free(a.ev_term);
	if (a.ev_int != NULL)
		event_free(a.ev_int);
	if (a.ev_hup != NULL)
		event_free(a.ev_hup);
	if (a.ev_poll != NULL)
		event_free(a.ev_poll);
	if (a.ev_kick != NULL)
		event_free(a.ev_kick);
	if (a.ev_last != NULL)
		event_free(a.ev_last);
	if (a.base != NULL)
		event_base_free(a.base);
	astate_free(a.state);
	clientconf_free(a.conf);
	crypto_wipe(a.token, sizeof(a.token));
	return rc;
}
