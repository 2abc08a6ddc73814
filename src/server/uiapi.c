/*
 * uiapi.c - the UI bridge's requests (see uiapi.h, doc/webconsole.md).
 *
 * One row per request in requests[]: its name, level, whether it writes,
 * and its handler.  A handler answers through done() at once, except
 * status and dashboard, which wait for the supervisor's view of the
 * worker pool (one STATUS_REQ in flight serves every waiter).
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/discowire.h"
#include "common/text.h"
#include "admins.h"
#include "catalog.h"
#include "child.h"
#include "config.h"
#include "datadir.h"
#include "hkstatus.h"
#include "imsg.h"
#include "leasestate.h"
#include "log.h"
#include "peerinfo.h"
#include "store.h"
#include "uiactions.h"
#include "uiadmins.h"
#include "uiagent.h"
#include "uiapi.h"
#include "uicall.h"
#include "uidash.h"
#include "uihistory.h"
#include "webauth.h"

#define REPLY_WAIT_S	5	/* for the supervisor's answer */
#define DAYS_SHOWN	14
#define LOG_KEEP	UIAPI_LOG_KEEP	/* lines in the ring */
#define LOG_KEEP_SEVERE	UIAPI_LOG_KEEP_SEVERE	/* warnings and errors */
#define LOG_REPLY_BYTES	(1024 * 1024)	/* of text in one log reply */
#define TOKEN_BYTES	16	/* enrollment tokens: 32 hex digits */
#define HISTORY_LIMIT	50	/* reports in a client_history answer */

struct log_line {
	uint64_t	 seq;		/* order of arrival */
	uint8_t		 level;		/* enum log_level */
	char		*text;		/* malloc'ed */
};

struct log_ring {
	struct log_line	*v;		/* cap lines */
	size_t		 cap, head, n;
};

static struct log_line log_all_v[LOG_KEEP], log_severe_v[LOG_KEEP_SEVERE];

static struct {
	struct child_env *env;
	struct event_base *base;
	char		 server_id[SERVER_ID_HEX + 1];
	char		 name[DW_NAME_MAX + 1];
	/* Calls waiting for the pool's state. */
	struct ui_call	*waiting;
	uint32_t	 status_req;	/* id in flight, 0 when none */
	struct event	*status_timer;
	/*
	 * The last LOG_KEEP lines logged, and the last LOG_KEEP_SEVERE
	 * warnings and errors (so that a flood of debug lines cannot push
	 * them out), each oldest at head (log.h's sink).  A line numbered
	 * seq may be in both.
	 */
	struct log_ring	 log_all, log_severe;
	uint64_t	 log_seq;	/* lines received */
	uint64_t	 log_lost;	/* lines the processes could not send */
	uint64_t	 log_malformed;	/* records refused as malformed */
	struct imsg_lease lease;	/* Store.Backend = s3: LEASE's last */
	int		 lease_known;
} api;

/* -------------------------------------------------- the pool (status) */

static void
ask_status(void)
{
	static uint32_t next_req;
	struct timeval tv = { REPLY_WAIT_S, 0 };

	if (api.status_req != 0)
		return;
	if (++next_req == 0)
		next_req = 1;
	/* When this fails, the timer answers. */
	child_send(api.env, imsg_status_req(next_req));
	api.status_req = next_req;
	evtimer_add(api.status_timer, &tv);
}

static void
wait_status(struct ui_call *c)
{
	struct ui_call **pp = &api.waiting;

	while (*pp != NULL)	/* in order of arrival */
		pp = &(*pp)->next;
	c->next = NULL;
	*pp = c;
	ask_status();
}

/*
 * DataDir's file system: free and capacity in bytes, the reserve in
 * force (Server.ReserveSpace) and the level ("ok", "warning" under
 * twice the reserve, "critical" under it: uploads refused); null when
 * statvfs fails.
 */
static json_t *
disk_json(void)
{
	const struct gv_config *cfg = api.env->cfg;
	struct store_space sp;
	char err[256];

	if (store_space_of(cfg->datadir, cfg->reserve_space, &sp, err,
	    sizeof(err)) == -1) {
		log_warnx("UI: %s", err);
		return json_null();
	}
	return json_pack("{s:I, s:I, s:I, s:s}", "free", (json_int_t)sp.free,
	    "capacity", (json_int_t)sp.capacity,
	    "reserve", (json_int_t)sp.reserve,
	    "level", store_level_name(sp.level));
}

/*
 * Store.Backend = s3: "store": {"backend": "s3", "role": "active" or
 * "standby", "lease": "waiting", "held", "lost" or "standby",
 * "lease_detail": the lease child's sentence}; the lease "waiting"
 * until the lease child has said anything.
 */
static json_t *
store_status_json(void)
{
	static const char *const states[LS_NSTATES] = { "waiting", "held",
	    "lost", "standby" };
	const struct gv_config *cfg = api.env->cfg;
	int standby = cfg->s3.role == S3_ROLE_STANDBY;

	return json_pack("{s:s, s:s, s:s, s:s}", "backend", "s3",
	    "role", standby ? "standby" : "active",
	    "lease", api.lease_known ? states[api.lease.state] :
	    standby ? "standby" : "waiting",
	    "lease_detail", api.lease_known ? api.lease.why : "");
}

void
uiapi_on_lease(const struct imsg_lease *l)
{
	api.lease = *l;
	api.lease_known = 1;
}

static json_t *
status_json(const struct imsg_status *r)
{
	static const char *const states[CS_NSTATES] = { "starting", "idle",
	    "busy" };
	json_t *workers = json_array(), *st;

	for (uint32_t i = 0; i < r->n; i++) {
		const struct imsg_worker *w = &r->w[i];
		json_t *wk;

		wk = json_pack("{s:I, s:s, s:o, s:I}", "pid",
		    (json_int_t)w->pid, "state", states[w->state],
		    "peer", w->peer[0] ? json_string(w->peer) : json_null(),
		    "since", (json_int_t)w->since);
		if (w->retiring)
			json_object_set_new(wk, "retiring", json_true());
		json_array_append_new(workers, wk);
	}
	st = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o}",
	    "server_id", api.server_id, "version", PACKAGE_VERSION,
	    "uptime", (json_int_t)r->uptime, "pool_size", (json_int_t)r->pool,
	    "sessions_served", (json_int_t)r->served, "workers", workers,
	    "disk", disk_json());
	if (st != NULL && api.env->cfg->store_backend == STORE_BACKEND_S3)
		json_object_set_new(st, "store", store_status_json());
	return st;
}

static void	dashboard_answer(struct ui_call *, json_t *status);

/* Answer every waiter with st (NULL: the supervisor failed). */
static void
answer_waiters(json_t *st)
{
	struct ui_call *c, *next;

	c = api.waiting;
	api.waiting = NULL;
	for (; c != NULL; c = next) {
		next = c->next;
		if (st == NULL)
			ui_finish(c, 503, uiapi_error("the supervisor did not "
			    "answer"));
		else if (strcmp(c->name, "dashboard") == 0)
			dashboard_answer(c, st);
		else
			ui_finish(c, 200, json_copy(st));
	}
}

void
uiapi_on_status(const struct imsg_status *r)
{
	json_t *st;

	if (r->id != api.status_req)
		return;		/* answered already, by the timer */
	api.status_req = 0;
	evtimer_del(api.status_timer);
	st = status_json(r);
	answer_waiters(st);
	json_decref(st);
}

static void
on_status_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	api.status_req = 0;
	answer_waiters(NULL);
}

void
uiapi_stop(void)
{
	answer_waiters(NULL);
}

/* ----------------------------------------------------------- requests */

static void
req_hello(struct ui_call *c)
{
	const struct gv_config *cfg = api.env->cfg;

	ui_finish(c, 200, json_pack("{s:s, s:s, s:s, s:b, s:{s:i, s:i, s:i, "
	    "s:i, s:i}}", "server_id", api.server_id, "name", api.name,
	    "version", PACKAGE_VERSION, "tls", cfg->ssl_enabled != 0,
	    "ports", "backup", cfg->port.backup,
	    "ssl", cfg->ssl_enabled ? cfg->port.ssl : 0, "ui", cfg->port.ui,
	    "webconsole", cfg->web_enabled ? cfg->port.webconsole : 0,
	    "webconsole_ssl", cfg->web_enabled ? cfg->port.webconsole_ssl : 0));
}

static void
req_status(struct ui_call *c)
{
	wait_status(c);
}

/* ----- peers (discovery) */

static int	health_get(uint64_t, struct cat_client_health **, size_t *);
static json_t	*health_counts(const struct cat_client *, size_t,
		    const struct cat_client_health *, size_t);

/* One peer as doc/protocol.md ("peers") shows it. */
static json_t *
peer_json(const struct cat_peer *p, uint64_t now)
{
	json_t *addrs = json_array(), *roles = json_array();
	char hex[SERVER_ID_HEX + 1], via[SERVER_ID_HEX + 1];

	for (int i = 0; i < p->naddrs && i < CAT_PEER_ADDRS; i++)
		json_array_append_new(addrs, json_string(p->addrs[i]));
	if (p->roles & DW_ROLE_SERVER)
		json_array_append_new(roles, json_string("server"));
	if (p->roles & DW_ROLE_CLIENT)
		json_array_append_new(roles, json_string("client"));
	server_id_hex(p->id, hex);
	server_id_hex(p->via, via);
	return json_pack("{s:s, s:s, s:o, s:{s:i, s:i, s:i, s:i, s:i}, s:o, "
	    "s:b, s:I, s:I, s:I, s:s, s:o, s:o, s:i}",
	    "id", hex, "name", p->name, "addresses", addrs,
	    "ports", "backup", p->port_backup, "ssl", p->port_ssl,
	    "ui", p->port_ui, "webconsole", p->port_web,
	    "webconsole_ssl", p->port_webssl,
	    "roles", roles, "tls", p->tls != 0,
	    "first_seen", (json_int_t)p->first_seen,
	    "last_seen", (json_int_t)p->last_seen,
	    "age", (json_int_t)(now > p->last_seen ? now - p->last_seen : 0),
	    "source", peerinfo_source_name(p->source),
	    "via", p->source == CAT_PEER_TCP && p->via_name[0] ?
	    json_string(via) : json_null(),
	    "via_name", p->source == CAT_PEER_TCP && p->via_name[0] ?
	    json_string(p->via_name) : json_null(),
	    "hops", p->hops);
}

struct peers_walk {
	json_t		*list;
	uint64_t	 now;
	int		 timeout;
	int		 max;
	/* For an administrator: the clients, to match agents with. */
	int				 admin;
	const struct cat_client		*cl;
	size_t				 ncl;
	const struct cat_client_health	*h;
	size_t				 nh;
};

/*
 * The enrolled client a peer with the client role (an agent) is: the
 * one whose agent last polled (over its authenticated session) under
 * that name; NULL when none (not enrolled).
 */
static const char *
agent_client(const struct peers_walk *w, const char *name)
{
	for (size_t i = 0; i < w->nh; i++)
		if (w->h[i].agent_seen > 0 &&
		    strcmp(w->h[i].agent_name, name) == 0)
			return w->h[i].name;
	return NULL;
}

/*
 * The client whose name is the peer's, NULL when none: only a hint,
 * since anyone on the network can announce any name.
 */
static const char *
same_name_client(const struct peers_walk *w, const char *name)
{
	for (size_t i = 0; i < w->ncl; i++)
		if (strcmp(w->cl[i].name, name) == 0)
			return w->cl[i].name;
	return NULL;
}

static int
peers_visit(void *arg, const struct cat_peer *p)
{
	struct peers_walk *w = arg;
	const char *cl;
	json_t *o;

	if (p->last_seen + (uint64_t)w->timeout < w->now)
		return 0;	/* aged out; the discovery child removes it */
	/* The machines that run an agent: an administrator's business. */
	if (!w->admin && (p->roles & DW_ROLE_CLIENT))
		return 0;
	if ((o = peer_json(p, w->now)) == NULL)
		return 0;	/* a name jansson refuses: not listed */
	if (w->admin && (p->roles & DW_ROLE_CLIENT)) {
		const char *same = NULL;

		if ((cl = agent_client(w, p->name)) == NULL)
			same = same_name_client(w, p->name);
		json_object_set_new(o, "client", cl ? json_string(cl) :
		    json_null());
		json_object_set_new(o, "same_name", same ?
		    json_string(same) : json_null());
	}
	json_array_append_new(w->list, o);
	return json_array_size(w->list) >= (size_t)w->max;
}

static void
req_peers(struct ui_call *c)
{
	const struct gv_config *cfg = api.env->cfg;
	struct peers_walk w = { NULL, (uint64_t)time(NULL),
	    cfg->disc.peer_timeout, cfg->disc.max_peers, 0, NULL, 0, NULL, 0 };
	uint64_t stats[CAT_PEER_STATS];
	struct cat_client_health *h = NULL;
	struct cat_client *cl = NULL;
	struct cat_peer self;
	struct dw_msg m;
	json_t *counters;
	size_t ncl = 0, nh = 0;
	int rc;

	if (ui_cat_or_fail(c) == NULL)
		return;
	/*
	 * Only an administrator learns the machines that run an agent, and
	 * which are enrolled clients (anyone may list the servers; the
	 * clients' machines and names are not theirs).
	 */
	if (c->user != NULL && (catalog_clients(ui_cat(), &cl, &ncl) !=
	    CAT_OK || health_get(0, &h, &nh) != CAT_OK)) {
		free(cl);
		ui_cat_failed(c);
		return;
	}
	if (c->user != NULL) {
		w.admin = 1;
		w.cl = cl;
		w.ncl = ncl;
		w.h = h;
		w.nh = nh;
	}
	w.list = json_array();
	rc = catalog_peers(ui_cat(), peers_visit, &w, stats);
	if (h != NULL)
		catalog_health_free(h, nh);
	free(cl);
	if (rc != CAT_OK) {
		json_decref(w.list);
		ui_cat_failed(c);
		return;
	}
	counters = json_object();
	for (int i = 0; i < DS_NSTATS; i++)
		json_object_set_new(counters, peerinfo_stat_name(i),
		    json_integer((json_int_t)stats[i]));
	peerinfo_self(cfg, api.env->server_id, &m);
	memset(&self, 0, sizeof(self));
	memcpy(self.id, m.id, sizeof(self.id));
	peerinfo_describe(&self, &m);
	self.first_seen = self.last_seen = w.now;
	ui_finish(c, 200, json_pack("{s:o, s:o, s:o}", "self",
	    peer_json(&self, w.now), "peers", w.list, "counters", counters));
}

struct peer_find {
	const char	*id;
	struct cat_peer	 found;
	int		 ok;
	uint64_t	 oldest;
};

static int
peer_find_visit(void *arg, const struct cat_peer *p)
{
	struct peer_find *f = arg;
	char hex[SERVER_ID_HEX + 1];

	server_id_hex(p->id, hex);
	if (strcmp(hex, f->id) != 0 || p->last_seen < f->oldest ||
	    p->naddrs < 1)
		return 0;
	f->found = *p;
	f->ok = 1;
	return 1;
}

int
uiapi_peer_where(const char *id, char *addr, size_t len, int *port)
{
	const struct gv_config *cfg = api.env->cfg;
	uint64_t stats[CAT_PEER_STATS];
	struct peer_find f;

	if (ui_cat() == NULL)
		return -1;
	memset(&f, 0, sizeof(f));
	f.id = id;
	f.oldest = (uint64_t)time(NULL) - (uint64_t)cfg->disc.peer_timeout;
	if (catalog_peers(ui_cat(), peer_find_visit, &f, stats) != CAT_OK)
		return -1;
	if (!f.ok)
		return 0;
	snprintf(addr, len, "%s", f.found.addrs[0]);
	*port = f.found.port_ui;
	return 1;
}

/* ----- clients */

/* Every client (sorted by name, no secrets) into *v; -1 after answering. */
static int
all_clients(struct ui_call *c, struct cat_client **v, size_t *n)
{
	if (ui_cat_or_fail(c) == NULL)
		return -1;
	if (catalog_clients(ui_cat(), v, n) != CAT_OK) {
		ui_cat_failed(c);
		return -1;
	}
	return 0;
}

/* The client's JSON with its usage (one more read of the catalog). */
static json_t *
client_json(const struct cat_client *cl, int *failed)
{
	struct cat_usage u;

	if (catalog_usage(ui_cat(), cl->id, &u) != CAT_OK) {
		*failed = 1;
		memset(&u, 0, sizeof(u));
	}
	return json_pack("{s:s, s:I, s:b, s:b, s:b, s:I, s:I, s:I, s:I}",
	    "name", cl->name, "id", (json_int_t)cl->id,
	    "registered", cl->registered != 0, "disabled", cl->disabled != 0,
	    "allow_forget", cl->allow_forget != 0,
	    "created", (json_int_t)cl->created,
	    "snapshots", (json_int_t)u.snapshots,
	    "size", (json_int_t)u.size,
	    "unique_bytes", (json_int_t)u.unique_bytes);
}

static int
latest_snapshot(void *arg, const struct cat_snapshot *s)
{
	uint64_t *t = arg;

	if (s->time > *t)
		*t = s->time;
	return 0;
}

static void
set_last_backup(json_t *o, uint64_t cl, int *failed)
{
	uint64_t t = 0;

	if (catalog_snapshots(ui_cat(), cl, NULL, 0, latest_snapshot, &t) !=
	    CAT_OK)
		*failed = 1;
	json_object_set_new(o, "last_backup", t ? json_integer((json_int_t)t) :
	    json_null());
}

/* ----- health: what agents reported (catalog_health()) */

static const char *
job_result_name(int r)
{
	static const char *const names[] = { "ok", "partial", "failed",
	    "cancelled" };

	return r >= 0 && r < (int)(sizeof(names) / sizeof(names[0])) ?
	    names[r] : "unknown";
}

/*
 * The health of every client (client 0) or of one into *h, *n, at now
 * with Jobs.OverdueGrace.  The catalog's answer (CAT_OK, CAT_NOTFOUND,
 * CAT_ERROR); the caller frees with catalog_health_free().
 */
static int
health_get(uint64_t client, struct cat_client_health **h, size_t *n)
{
	return catalog_health(ui_cat(), client, (int64_t)time(NULL),
	    (int64_t)api.env->cfg->overdue_grace, h, n);
}

/* The entry of client id in h[0..n), or NULL. */
static const struct cat_client_health *
health_of(const struct cat_client_health *h, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].client == id)
			return &h[i];
	return NULL;
}

/*
 * Add a client's health to its object o (doc/webconsole.md, "client"):
 * health, last success, last failure with its message, next run, its
 * agent.  h NULL: nothing reported yet ("never").
 */
static void
add_health(json_t *o, const struct cat_client_health *h)
{
	json_object_set_new(o, "health", json_string(
	    catalog_health_name(h ? h->health : CAT_HEALTH_NEVER)));
	json_object_set_new(o, "last_success", ui_time_json(h ?
	    h->last_success : 0));
	json_object_set_new(o, "last_failure", ui_time_json(h ?
	    h->last_failure : 0));
	json_object_set_new(o, "last_error", h && h->last_failure > 0 ?
	    ui_text_json(h->last_error, sizeof(h->last_error)) : json_null());
	json_object_set_new(o, "next_run", ui_time_json(h ? h->next_run : 0));
	json_object_set_new(o, "agent", h && h->agent_seen > 0 ?
	    json_pack("{s:o, s:I}", "name", ui_text_json(h->agent_name,
	    sizeof(h->agent_name)), "seen", (json_int_t)h->agent_seen) :
	    json_null());
}

/* The four counts of clients by health: {"ok","failed","overdue","never"}. */
static json_t *
health_counts(const struct cat_client *cl, size_t ncl,
    const struct cat_client_health *h, size_t nh)
{
	json_int_t k[4] = { 0, 0, 0, 0 };

	for (size_t i = 0; i < ncl; i++) {
		const struct cat_client_health *e = health_of(h, nh, cl[i].id);
		int v = e ? e->health : CAT_HEALTH_NEVER;

		if (v >= 0 && v < 4)
			k[v]++;
	}
	return json_pack("{s:I, s:I, s:I, s:I}", "ok", k[CAT_HEALTH_OK],
	    "failed", k[CAT_HEALTH_FAILED], "overdue", k[CAT_HEALTH_OVERDUE],
	    "never", k[CAT_HEALTH_NEVER]);
}

static json_t *
set_health_json(const struct cat_set_health *s)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:b, s:b}",
	    "set", s->set, "health", catalog_health_name(s->health),
	    "last_success", ui_time_json(s->last_success),
	    "last_failure", ui_time_json(s->last_failure),
	    "last_error", s->last_failure > 0 ? ui_text_json(s->last_error,
	    sizeof(s->last_error)) : json_null(),
	    "next_run", ui_time_json(s->next_run),
	    "interval", (json_int_t)s->interval, "running", s->running != 0,
	    "job", s->job != 0);
}

static json_t *
request_json(const struct cat_request *r)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:o, s:o}",
	    "id", (json_int_t)r->id, "set", r->set,
	    "state", r->taken > 0 ? "taken" : "queued",
	    "queued", (json_int_t)r->queued, "taken", ui_time_json(r->taken),
	    "by", ui_text_json(r->by, sizeof(r->by)));
}

static json_t *
jobrun_json(const struct cat_jobrun *r)
{
	return json_pack("{s:I, s:s, s:o, s:I, s:I, s:I, s:s, s:o, s:I, s:I, "
	    "s:I, s:I, s:I, s:o, s:o}",
	    "seq", (json_int_t)r->seq, "set", r->set,
	    "request", r->request ? json_integer((json_int_t)r->request) :
	    json_null(),
	    "start", (json_int_t)r->start, "end", (json_int_t)r->end,
	    "received", (json_int_t)r->received,
	    "result", job_result_name(r->result),
	    "snapshot", r->snapid ? json_integer((json_int_t)r->snapid) :
	    json_null(),
	    "files", (json_int_t)r->files, "bytes", (json_int_t)r->bytes,
	    "read_bytes", (json_int_t)r->read_bytes,
	    "sent_bytes", (json_int_t)r->sent_bytes,
	    "problems", (json_int_t)r->problems,
	    "next_run", ui_time_json(r->next_run),
	    "error", r->error[0] != '\0' ? ui_text_json(r->error,
	    sizeof(r->error)) : json_null());
}

static void
req_clients(struct ui_call *c)
{
	struct cat_client_health *h = NULL;
	struct cat_client *cl;
	json_t *list, *counts;
	size_t n, nh = 0;
	int failed = 0;

	if (all_clients(c, &cl, &n) == -1)
		return;
	if (health_get(0, &h, &nh) != CAT_OK) {
		free(cl);
		ui_cat_failed(c);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < n && !failed; i++) {
		json_t *o = client_json(&cl[i], &failed);

		set_last_backup(o, cl[i].id, &failed);
		add_health(o, health_of(h, nh, cl[i].id));
		json_array_append_new(list, o);
	}
	counts = health_counts(cl, n, h, nh);
	catalog_health_free(h, nh);
	free(cl);
	if (failed) {
		json_decref(list);
		json_decref(counts);
		ui_cat_failed(c);
		return;
	}
	ui_finish(c, 200, json_pack("{s:o, s:o}", "clients", list, "health",
	    counts));
}

/* The client named by the "name" argument into *cl, or answered. */
static int
named_client(struct ui_call *c, struct cat_client *cl)
{
	return ui_client(c, cl);
}

static int
snapshot_row(void *arg, const struct cat_snapshot *s)
{
	json_array_append_new(arg, json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, "
	    "s:I, s:b}", "id", (json_int_t)s->id, "set", s->set,
	    "time", (json_int_t)s->time, "files", (json_int_t)s->files,
	    "size", (json_int_t)s->size, "new_bytes",
	    (json_int_t)s->new_bytes, "new_blobs", (json_int_t)s->new_blobs,
	    "protected", s->protected != 0));
	return 0;
}

/*
 * One client: its object with health, its snapshots, its sets' health
 * ("jobs") and the "back up now" requests not yet reported.
 */
static void
req_client(struct ui_call *c)
{
	struct cat_client_health *h = NULL;
	struct cat_request *rq = NULL;
	struct cat_client cl;
	json_t *o, *snaps, *jobs, *reqs;
	size_t nh = 0, nrq = 0;
	int failed = 0, rc;

	if (named_client(c, &cl) == -1)
		return;
	o = client_json(&cl, &failed);
	set_last_backup(o, cl.id, &failed);
	snaps = json_array();
	jobs = json_array();
	reqs = json_array();
	if (!failed && catalog_snapshots(ui_cat(), cl.id, NULL, 0, snapshot_row,
	    snaps) != CAT_OK)
		failed = 1;
	/* NOTFOUND: removed since named_client(); shown as never. */
	if (!failed && (rc = health_get(cl.id, &h, &nh)) != CAT_OK &&
	    rc != CAT_NOTFOUND)
		failed = 1;
	if (!failed && catalog_requests(ui_cat(), cl.id, &rq, &nrq) != CAT_OK)
		failed = 1;
	if (failed) {
		if (h != NULL)
			catalog_health_free(h, nh);
		free(rq);
		json_decref(o);
		json_decref(snaps);
		json_decref(jobs);
		json_decref(reqs);
		ui_cat_failed(c);
		return;
	}
	add_health(o, health_of(h, nh, cl.id));
	for (size_t i = 0; i < nh; i++)
		for (size_t k = 0; k < h[i].nsets; k++)
			json_array_append_new(jobs,
			    set_health_json(&h[i].sets[k]));
	for (size_t i = 0; i < nrq; i++)
		json_array_append_new(reqs, request_json(&rq[i]));
	if (h != NULL)
		catalog_health_free(h, nh);
	free(rq);
	ui_finish(c, 200, json_pack("{s:o, s:o, s:o, s:o}", "client", o,
	    "snapshots", snaps, "jobs", jobs, "requests", reqs));
}

/*
 * A client's job reports, newest first: at most "limit" (1 to
 * CAT_JOBS_KEPT, default HISTORY_LIMIT), those with seq below "before"
 * when given (the next page); "more" says whether older ones exist.
 */
static void
req_client_history(struct ui_call *c)
{
	struct cat_jobrun *r = NULL;
	struct cat_client cl;
	uint64_t limit, before;
	json_t *list;
	size_t n = 0;

	if (ui_arg_uint(c, "limit", 1, CAT_JOBS_KEPT, HISTORY_LIMIT, &limit) ==
	    -1 || ui_arg_uint(c, "before", 1, INT64_MAX, 0, &before) == -1)
		return;
	if (named_client(c, &cl) == -1)
		return;
	/* One more than asked: whether there are more. */
	if (catalog_jobs(ui_cat(), cl.id, before, (size_t)limit + 1, &r, &n) !=
	    CAT_OK) {
		ui_cat_failed(c);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < n && i < limit; i++)
		json_array_append_new(list, jobrun_json(&r[i]));
	ui_finish(c, 200, json_pack("{s:s, s:o, s:b, s:I}", "client", cl.name,
	    "jobs", list, "more", n > limit, "kept",
	    (json_int_t)CAT_JOBS_KEPT));
	free(r);
}

/* Queue "back up now" of set for client cl; its id into *list. */
static int
queue_backup(struct ui_call *c, const struct cat_client *cl,
    const char *set, json_t *list)
{
	char by[CAT_NAME_MAX + 1];
	uint64_t id;

	snprintf(by, sizeof(by), "console: %s", c->user);
	if (catalog_request_add(ui_cat(), cl->id, set, by,
	    (int64_t)time(NULL), &id) != CAT_OK)
		return -1;
	log_info("UI: %s asked client %s to back up set \"%s\" now "
	    "(request %llu)", c->user, cl->name, set, (unsigned long long)id);
	json_array_append_new(list, json_pack("{s:I, s:s}", "id",
	    (json_int_t)id, "set", set));
	return 0;
}

/*
 * "Back up now": queue a request for the client's agent, which takes it
 * at its next poll (doc/protocol.md, "Agents").  "set" names one set;
 * absent or "": one request for each job its agent described (as
 * gigavaultctl client backup without --set).  409: the client is
 * disabled; its agent described its jobs and none is for set; no set
 * and no job known.
 */
static void
req_client_backup(struct ui_call *c)
{
	struct cat_client_health *h = NULL;
	struct cat_client cl;
	json_t *v = json_object_get(c->args, "set"), *list;
	const char *set = json_string_value(v);
	size_t nh = 0, jobs = 0;
	int has = 0, rc, failed = 0;

	if (v != NULL && (set == NULL || (set[0] != '\0' &&
	    (strlen(set) > CAT_NAME_MAX || !catalog_name_valid(set))))) {
		ui_finish(c, 400, uiapi_error("\"set\" must be a set name: 1 to "
		    "%d of A-Z a-z 0-9 . _ -, not only dots (or \"\" for "
		    "every job)", CAT_NAME_MAX));
		return;
	}
	if (set != NULL && set[0] == '\0')
		set = NULL;
	if (named_client(c, &cl) == -1)
		return;
	if (cl.disabled) {
		ui_finish(c, 409, uiapi_error("client %s is disabled: enable it "
		    "first", cl.name));
		return;
	}
	if ((rc = health_get(cl.id, &h, &nh)) != CAT_OK || nh != 1) {
		if (rc == CAT_NOTFOUND)
			ui_finish(c, 404, uiapi_error("no client named \"%s\"",
			    cl.name));
		else
			ui_cat_failed(c);
		if (h != NULL)
			catalog_health_free(h, nh);
		return;
	}
	for (size_t k = 0; k < h[0].nsets; k++) {
		jobs += h[0].sets[k].job != 0;
		if (set != NULL && h[0].sets[k].job &&
		    strcmp(h[0].sets[k].set, set) == 0)
			has = 1;
	}
	if (set != NULL && h[0].agent_seen > 0 && !has)
		ui_finish(c, 409, uiapi_error("the agent of %s has no job for set "
		    "\"%s\" (it has %zu job%s)", cl.name, set, jobs,
		    jobs == 1 ? "" : "s"));
	else if (set == NULL && jobs == 0)
		ui_finish(c, 409, uiapi_error("%s: %s; name the set", cl.name,
		    h[0].agent_seen > 0 ? "its agent has no jobs" :
		    "no agent has described its jobs yet"));
	else {
		list = json_array();
		if (set != NULL)
			failed = queue_backup(c, &cl, set, list) == -1;
		for (size_t k = 0; set == NULL && !failed &&
		    k < h[0].nsets; k++)
			if (h[0].sets[k].job)
				failed = queue_backup(c, &cl, h[0].sets[k].set,
				    list) == -1;
		if (failed) {
			json_decref(list);
			ui_cat_failed(c);
		} else
			ui_finish(c, 202, json_pack("{s:O, s:s, s:o, s:s, s:I}",
			    "request", json_object_get(json_array_get(list,
			    0), "id"), "client", cl.name, "requests", list,
			    "state", "queued", "queued",
			    (json_int_t)time(NULL)));
	}
	catalog_health_free(h, nh);
}

static void
req_client_add(struct ui_call *c)
{
	const char *name = ui_arg_str(c, "name", CAT_NAME_MAX);
	uint8_t hash[CRYPTO_HASH_LEN];
	char token[2 * TOKEN_BYTES + 1];
	int rc;

	if (name == NULL || !catalog_name_valid(name)) {
		ui_finish(c, 400, uiapi_error("\"name\" must be a client name: "
		    "1 to %d of A-Z a-z 0-9 . _ -, not only dots", CAT_NAME_MAX));
		return;
	}
	if (ui_cat_or_fail(c) == NULL)
		return;
	if (crypto_token(token, TOKEN_BYTES, hash) == -1) {
		ui_finish(c, 500, uiapi_error("no random numbers"));
		return;
	}
	rc = catalog_client_add(ui_cat(), name, hash, (uint64_t)time(NULL),
	    NULL);
	if (rc == CAT_EXISTS)
		ui_finish(c, 409, uiapi_error("a client named \"%s\" exists "
		    "already", name));
	else if (rc != CAT_OK)
		ui_cat_failed(c);
	else {
		log_info("UI: %s added client %s", c->user, name);
		ui_finish(c, 201, json_pack("{s:s, s:s}", "name", name, "token",
		    token));
	}
	crypto_wipe(token, sizeof(token));
}

static void
set_disabled(struct ui_call *c, int disabled)
{
	struct cat_client cl;

	if (named_client(c, &cl) == -1)
		return;
	if (catalog_client_set_disabled(ui_cat(), cl.name, disabled) != CAT_OK) {
		ui_cat_failed(c);
		return;
	}
	log_info("UI: %s %s client %s", c->user, disabled ? "disabled" :
	    "enabled", cl.name);
	ui_finish(c, 200, json_object());
}

static void
req_client_disable(struct ui_call *c)
{
	set_disabled(c, 1);
}

static void
req_client_enable(struct ui_call *c)
{
	set_disabled(c, 0);
}

static void
req_client_remove(struct ui_call *c)
{
	struct cat_client cl;

	if (named_client(c, &cl) == -1 ||
	    uiactions_confirmed(c, "remove", cl.name) == -1)
		return;
	if (catalog_client_remove(ui_cat(), cl.name) != CAT_OK) {
		ui_cat_failed(c);
		return;
	}
	log_info("UI: %s removed client %s", c->user, cl.name);
	ui_finish(c, 200, json_object());
}

/* ----- the dashboard */

static void
req_dashboard(struct ui_call *c)
{
	if (ui_cat_or_fail(c) == NULL)
		return;
	wait_status(c);
}

static void
day_name(uint32_t day, char out[16])
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(out, 16, "?");
}

static void
dashboard_answer(struct ui_call *c, json_t *st)
{
	struct cat_day days[DAYS_SHOWN];
	struct cat_totals t;
	struct cat_client_health *h = NULL;
	struct cat_client *cl = NULL;
	uint32_t today = (uint32_t)((uint64_t)time(NULL) / 86400);
	uint64_t carry = 0;
	json_t *list, *workers, *health, *d;
	size_t ncl = 0, nh = 0;
	char name[16];

	if (catalog_totals(ui_cat(), &t) != CAT_OK ||
	    catalog_days(ui_cat(), today - (DAYS_SHOWN - 1), DAYS_SHOWN,
	    days) != CAT_OK || catalog_clients(ui_cat(), &cl, &ncl) != CAT_OK ||
	    health_get(0, &h, &nh) != CAT_OK) {
		free(cl);
		ui_cat_failed(c);
		return;
	}
	health = health_counts(cl, ncl, h, nh);
	if (h != NULL)
		catalog_health_free(h, nh);
	free(cl);
	list = json_array();
	for (int i = 0; i < DAYS_SHOWN; i++) {
		if (days[i].unique_bytes != 0)
			carry = days[i].unique_bytes;
		if (i == DAYS_SHOWN - 1)
			carry = t.unique_bytes;	/* now, not the last session */
		day_name(days[i].day, name);
		json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:I, "
		    "s:I}", "day", name, "sessions",
		    (json_int_t)days[i].sessions, "bytes_in",
		    (json_int_t)days[i].bytes_in, "bytes_out",
		    (json_int_t)days[i].bytes_out, "unique_bytes",
		    (json_int_t)carry));
	}
	workers = json_object_get(st, "workers");
	d = json_pack("{s:{s:s, s:s, s:s, s:O, s:I}, "
	    "s:{s:O, s:O, s:O}, s:{s:I, s:I, s:I}, "
	    "s:{s:I, s:I, s:I, s:I, s:f}, s:o, s:O, s:o}",
	    "server", "server_id", api.server_id, "name", api.name,
	    "version", PACKAGE_VERSION,
	    "uptime", json_object_get(st, "uptime"),
	    "started", (json_int_t)((uint64_t)time(NULL) -
	    (uint64_t)json_integer_value(json_object_get(st, "uptime"))),
	    "pool", "size", json_object_get(st, "pool_size"),
	    "sessions_served", json_object_get(st, "sessions_served"),
	    "workers", workers,
	    "today", "sessions", (json_int_t)days[DAYS_SHOWN - 1].sessions,
	    "bytes_in", (json_int_t)days[DAYS_SHOWN - 1].bytes_in,
	    "bytes_out", (json_int_t)days[DAYS_SHOWN - 1].bytes_out,
	    "storage", "clients", (json_int_t)t.clients,
	    "snapshots", (json_int_t)t.snapshots,
	    "size", (json_int_t)t.size,
	    "unique_bytes", (json_int_t)t.unique_bytes,
	    "dedup_ratio", t.unique_bytes ? (double)t.size /
	    (double)t.unique_bytes : 0.0,
	    "days", list, "disk", json_object_get(st, "disk"),
	    "health", health);
	/* Health first: who needs attention, when DataDir fills. */
	if (d != NULL) {
		json_object_set_new(d, "attention", uidash_attention(
		    (int64_t)time(NULL), api.env->cfg->overdue_grace));
		json_object_set_new(d, "fill", uidash_fill(json_object_get(st,
		    "disk"), (int64_t)time(NULL)));
	}
	/* Store.Backend = s3: role and lease, as the status has them. */
	if (d != NULL && json_object_get(st, "store") != NULL)
		json_object_set(d, "store", json_object_get(st, "store"));
	ui_finish(c, 200, d);
}

/* ----- housekeeping */

static json_t *
retention_json(const struct retention *p)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
	    "KeepLast", (json_int_t)p->last, "KeepHourly", (json_int_t)p->hourly,
	    "KeepDaily", (json_int_t)p->daily,
	    "KeepWeekly", (json_int_t)p->weekly,
	    "KeepMonthly", (json_int_t)p->monthly,
	    "KeepYearly", (json_int_t)p->yearly);
}

struct policy_walk {
	json_t		*list;
	const char	*client;
};

static int
policy_row(void *arg, const char *set, const struct retention *p)
{
	struct policy_walk *w = arg;
	json_t *o = retention_json(p);

	json_object_set_new(o, "client", json_string(w->client));
	json_object_set_new(o, "set", json_string(set));
	json_array_append_new(w->list, o);
	return 0;
}

static void
req_housekeeping(struct ui_call *c)
{
	const struct gv_config *cfg = api.env->cfg;
	struct cat_client *cl;
	struct policy_walk w;
	json_t *ret, *hk, *job;
	size_t n;
	int failed = 0;

	if (all_clients(c, &cl, &n) == -1)
		return;
	ret = retention_json(&cfg->retention);
	w.list = json_array();
	for (size_t i = 0; i < n && !failed; i++) {
		w.client = cl[i].name;
		if (catalog_policies(ui_cat(), cl[i].id, policy_row, &w) !=
		    CAT_OK)
			failed = 1;
	}
	free(cl);
	json_object_set_new(ret, "policies", w.list);
	if (failed) {
		json_decref(ret);
		ui_cat_failed(c);
		return;
	}
	if ((hk = hkstatus_load(cfg->datadir)) == NULL) {
		json_decref(ret);
		ui_finish(c, 500, uiapi_error("the housekeeping status file is "
		    "damaged"));
		return;
	}
	if ((job = json_object_get(hk, "prune")) != NULL) {
		json_object_set_new(job, "interval",
		    json_integer(cfg->prune_interval));
		json_object_set_new(job, "grace_seconds",
		    json_integer(cfg->prune_grace));
	}
	if ((job = json_object_get(hk, "scrub")) != NULL) {
		json_object_set_new(job, "interval",
		    json_integer(cfg->scrub_interval));
		json_object_set_new(job, "rate_limit",
		    json_integer((json_int_t)cfg->scrub_rate));
	}
	json_object_set_new(hk, "retention", ret);
	ui_finish(c, 200, hk);
}

static void
start_job(struct ui_call *c, enum hk_job job, const char *name)
{
	json_t *hk = hkstatus_load(api.env->cfg->datadir);
	int running = json_is_true(json_object_get(json_object_get(hk, name),
	    "running"));
	char by[IMSG_HK_BY_MAX];

	json_decref(hk);
	if (running) {
		ui_finish(c, 409, uiapi_error("a %s is running already", name));
		return;
	}
	snprintf(by, sizeof(by), "console: %s", c->user ? c->user : "?");
	if (child_send(api.env, imsg_hk_run_by(job, by)) == -1) {
		ui_finish(c, 503, uiapi_error("cannot reach the supervisor"));
		return;
	}
	log_info("UI: %s started a %s", c->user, name);
	ui_finish(c, 202, json_pack("{s:s}", "started", name));
}

static void
req_prune_start(struct ui_call *c)
{
	start_job(c, HK_PRUNE, "prune");
}

static void
req_scrub_start(struct ui_call *c)
{
	start_job(c, HK_SCRUB, "scrub");
}

/* ----- the log */

/* Keep a copy of text (len bytes and a NUL) as line seq in r. */
static void
ring_add(struct log_ring *r, uint64_t seq, uint8_t level, const char *text,
    size_t len)
{
	struct log_line *l;
	char *copy;

	if ((copy = malloc(len + 1)) == NULL)
		return;		/* the line is lost, not the bridge */
	memcpy(copy, text, len + 1);
	if (r->n == r->cap) {
		free(r->v[r->head].text);
		r->head = (r->head + 1) % r->cap;
		r->n--;
	}
	l = &r->v[(r->head + r->n) % r->cap];
	l->seq = seq;
	l->level = level;
	l->text = copy;
	r->n++;
}

static void
ring_free(struct log_ring *r)
{
	for (size_t k = 0; k < r->n; k++)
		free(r->v[(r->head + k) % r->cap].text);
	r->n = 0;
}

void
uiapi_log_record(const void *rec, size_t len)
{
	const unsigned char *p = rec;
	uint8_t level;
	char text[LOG_SINK_REC_MAX];

	if (api.log_all.v == NULL) {
		api.log_all = (struct log_ring){ log_all_v, LOG_KEEP, 0, 0 };
		api.log_severe = (struct log_ring){ log_severe_v,
		    LOG_KEEP_SEVERE, 0, 0 };
	}
	/*
	 * A level byte, then 1 or more bytes of text; or LOG_SINK_DROPS,
	 * a count of 8 bytes, and a warning's text (log.h).
	 */
	if (len >= 1 + 8 + 1 && len <= LOG_SINK_REC_MAX &&
	    p[0] == LOG_SINK_DROPS) {
		api.log_lost += be64_get(p + 1);
		level = LOG_LVL_WARNING;
		p += 8;
		len -= 8;
	} else if (len < 2 || len > LOG_SINK_TEXT_MAX || p[0] >= LOG_NLEVELS) {
		api.log_malformed++;
		return;
	} else
		level = p[0];
	memcpy(text, p + 1, len - 1);
	text[len - 1] = '\0';
	/* Shown as text: no NUL or control byte (UTF-8: see req_log()). */
	for (size_t i = 0; i < len - 1; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = '?';
	api.log_seq++;
	ring_add(&api.log_all, api.log_seq, level, text, len - 1);
	if (level <= LOG_LVL_WARNING)
		ring_add(&api.log_severe, api.log_seq, level, text, len - 1);
}

/*
 * The lines the bridge kept (both rings merged by order of arrival,
 * each line once), oldest first, at "level" or more severe (default
 * debug: all), at most LOG_REPLY_BYTES of text (the newest).
 */
static void
req_log(struct ui_call *c)
{
	static const struct log_line *pick[LOG_KEEP + LOG_KEEP_SEVERE];
	const char *file = api.env->cfg->log_file;
	const char *lv = json_string_value(json_object_get(c->args, "level"));
	json_t *v = json_object_get(c->args, "level"), *lines;
	const struct log_ring *ra = &api.log_all, *rs = &api.log_severe;
	size_t a = 0, b = 0, np = 0, first, bytes = 0;
	int max = LOG_LVL_DEBUG;

	if (v != NULL && (lv == NULL || (max = log_level_parse(lv)) == -1)) {
		ui_finish(c, 400, uiapi_error("\"level\" must be \"error\", "
		    "\"warning\", \"info\" or \"debug\""));
		return;
	}
	/* Merge the two rings by seq, a line in both once. */
	while (a < ra->n || b < rs->n) {
		const struct log_line *la = a < ra->n ?
		    &ra->v[(ra->head + a) % ra->cap] : NULL;
		const struct log_line *lb = b < rs->n ?
		    &rs->v[(rs->head + b) % rs->cap] : NULL;
		const struct log_line *l;

		if (lb == NULL || (la != NULL && la->seq < lb->seq)) {
			l = la;
			a++;
		} else {
			if (la != NULL && la->seq == lb->seq)
				a++;
			l = lb;
			b++;
		}
		if (l->level <= max)
			pick[np++] = l;
	}
	/* From the newest back, as far as the byte budget goes. */
	for (first = np; first > 0; first--) {
		size_t n = strlen(pick[first - 1]->text);

		if (bytes + n > LOG_REPLY_BYTES)
			break;
		bytes += n;
	}
	lines = json_array();
	for (size_t k = first; k < np; k++) {
		json_t *str;

		/* A line that is not UTF-8 is shown escaped, not lost. */
		if ((str = json_string(pick[k]->text)) == NULL) {
			for (char *q = pick[k]->text; *q != '\0'; q++)
				if ((unsigned char)*q >= 0x80)
					*q = '?';
			str = json_string(pick[k]->text);
		}
		json_array_append_new(lines, str);
	}
	ui_finish(c, 200, json_pack("{s:o, s:s, s:s, s:i, s:i, s:I, s:I, s:o}",
	    "file", file[0] != '\0' ? json_string(file) : json_null(),
	    "source", "memory", "level", log_level_name(max),
	    "keep", LOG_KEEP, "keep_severe", LOG_KEEP_SEVERE,
	    "dropped", (json_int_t)api.log_lost,
	    "malformed", (json_int_t)api.log_malformed, "lines", lines));
}

/* ----- peer login over the bridge (the other side of the switch) */

static void
req_login_challenge(struct ui_call *c)
{
	const char *user = ui_arg_str(c, "user", ADMIN_NAME_MAX);
	char nonce[WA_TOKEN_HEX + 1], salt[2 * ADMIN_SALT_LEN + 1];
	struct admin_kdf kdf;

	if (user == NULL || !admin_name_valid(user)) {
		ui_finish(c, 400, uiapi_error("\"user\" must be an administrator "
		    "name"));
		return;
	}
	if (wa_challenge(user, &kdf, nonce) == -1) {
		ui_finish(c, 500, uiapi_error("cannot make a challenge"));
		return;
	}
	hex_encode(kdf.salt, sizeof(kdf.salt), salt);
	ui_finish(c, 200, json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "salt", salt,
	    "N", (json_int_t)kdf.N, "r", (json_int_t)kdf.r,
	    "p", (json_int_t)kdf.p, "nonce", nonce, "server_id",
	    api.server_id));
}

static void
on_login_refused(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ui_finish(arg, 401, uiapi_error("wrong name or password"));
}

/*
 * As on the web: a wrong proof is answered after a delay that grows
 * with the failures from that address.
 */
static void
req_login(struct ui_call *c)
{
	const char *user = ui_arg_str(c, "user", ADMIN_NAME_MAX);
	const char *nonce = ui_arg_str(c, "nonce", WA_TOKEN_HEX);
	const char *proof = ui_arg_str(c, "proof", WA_TOKEN_HEX);
	const char *code;
	struct wa_session *s;
	struct timeval tv;
	unsigned ms;
	int ok, t;

	if (user == NULL || nonce == NULL || proof == NULL) {
		ui_finish(c, 400, uiapi_error("login needs \"user\", \"nonce\" "
		    "and \"proof\""));
		return;
	}
	if ((ok = wa_answer(user, nonce, proof, api.server_id)) == -1) {
		ui_finish(c, 500, uiapi_error("cannot check the password"));
		return;
	}
	/*
	 * A user with TOTP needs its "code" too (admins.h); the right proof
	 * without one is told so at once, as on the web (webhttp.c).
	 */
	code = ui_arg_str(c, "code", ADMIN_TOTP_DIGITS);
	if (ok == 1 && (t = admin_totp_check(wa_admins(), user, code,
	    (uint64_t)time(NULL))) != 1 && t != 2) {
		if (t == 0 && code == NULL) {
			ui_finish(c, 401, json_pack("{s:s, s:b}", "error",
			    "enter the code of your authenticator app", "totp",
			    1));
			return;
		}
		ok = t == -1 ? -1 : 0;
	}
	if (ok == -1) {
		ui_finish(c, 500, uiapi_error("cannot check the code"));
		return;
	}
	if (ok == 0) {
		ms = wa_failed(c->from);
		log_warnx("UI: peer login as %s from %s refused (answered in "
		    "%u ms)", user, c->from, ms);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		if (event_base_once(api.base, -1, EV_TIMEOUT, on_login_refused,
		    c, &tv) == -1)
			ui_finish(c, 401, uiapi_error("wrong name or password"));
		return;
	}
	if ((s = wa_new(user, 1)) == NULL) {
		ui_finish(c, 500, uiapi_error("no random numbers"));
		return;
	}
	wa_succeeded(c->from);
	log_info("UI: %s logged in from %s through the bridge", user, c->from);
	ui_finish(c, 200, json_pack("{s:s, s:s}", "user", user, "token", s->id));
}

static void
req_logout(struct ui_call *c)
{
	struct wa_session *s = wa_find(ui_arg_str(c, "token", WA_TOKEN_HEX), 1);

	if (s != NULL)
		wa_end(s);
	ui_finish(c, 200, json_object());
}

/*
 * write: 0 a read, 1 a write (the administrator role; with Store.Backend
 * = s3, the bucket's lease), or QUEUES: a read for the roles that
 * still writes the catalog (queues a request for a client's agent), so
 * that the lease applies to it as to a write.
 */
#define QUEUES		2

static const struct request {
	const char	*name;
	enum ui_level	 level;
	int		 write;
	void		(*fn)(struct ui_call *);
} requests[] = {
	{ "hello",		UI_PUBLIC,	0, req_hello },
	{ "status",		UI_PUBLIC,	0, req_status },
	{ "peers",		UI_PUBLIC,	0, req_peers },
	{ "login_challenge",	UI_PUBLIC,	0, req_login_challenge },
	{ "login",		UI_PUBLIC,	0, req_login },
	{ "logout",		UI_PUBLIC,	0, req_logout },
	{ "dashboard",		UI_ADMIN,	0, req_dashboard },
	{ "clients",		UI_ADMIN,	0, req_clients },
	{ "client",		UI_ADMIN,	0, req_client },
	{ "client_add",		UI_ADMIN,	1, req_client_add },
	{ "client_disable",	UI_ADMIN,	1, req_client_disable },
	{ "client_enable",	UI_ADMIN,	1, req_client_enable },
	{ "client_remove",	UI_ADMIN,	1, req_client_remove },
	{ "client_history",	UI_ADMIN,	0, req_client_history },
	{ "client_backup",	UI_ADMIN,	1, req_client_backup },
	{ "housekeeping",	UI_ADMIN,	0, req_housekeeping },
	{ "prune_start",	UI_ADMIN,	1, req_prune_start },
	{ "scrub_start",	UI_ADMIN,	1, req_scrub_start },
	{ "log",		UI_ADMIN,	0, req_log },
	/* uiactions.c: the console's actions */
	{ "client_policy",	UI_ADMIN,	0, uia_client_policy },
	{ "policy_set",		UI_ADMIN,	1, uia_policy_set },
	{ "policy_clear",	UI_ADMIN,	1, uia_policy_clear },
	{ "snapshot",		UI_ADMIN,	0, uia_snapshot },
	{ "snapshot_protect",	UI_ADMIN,	1, uia_snapshot_protect },
	{ "snapshot_unprotect",	UI_ADMIN,	1, uia_snapshot_unprotect },
	{ "snapshot_forget",	UI_ADMIN,	1, uia_snapshot_forget },
	{ "client_token",	UI_ADMIN,	1, uia_client_token },
	{ "client_allow_forget", UI_ADMIN,	1, uia_client_allow_forget },
	{ "client_deny_forget",	UI_ADMIN,	1, uia_client_deny_forget },
	{ "history",		UI_ADMIN,	0, req_history },
	{ "history_entry",	UI_ADMIN,	0, req_history_entry },
	{ "admins",		UI_MANAGE,	0, req_admins },
	{ "admin_add",		UI_MANAGE,	1, req_admin_add },
	{ "admin_remove",	UI_MANAGE,	1, req_admin_remove },
	{ "admin_role",		UI_MANAGE,	1, req_admin_role },
	{ "admin_passwd",	UI_SELF,	1, req_admin_passwd },
	{ "tokens",		UI_SELF,	0, req_tokens },
	{ "token_create",	UI_SELF,	1, req_token_create },
	{ "token_revoke",	UI_SELF,	1, req_token_revoke },
	{ "account",		UI_SELF,	0, req_account },
	{ "totp_enroll",	UI_SELF,	1, req_totp_enroll },
	{ "totp_confirm",	UI_SELF,	1, req_totp_confirm },
	{ "totp_disable",	UI_SELF,	1, req_totp_disable },
	{ "client_browse",	UI_ADMIN,	QUEUES, ui_client_browse },
	{ "client_answer",	UI_ADMIN,	0, ui_client_answer },
	{ "client_restore",	UI_ADMIN,	1, ui_client_restore },
};

static const struct request *
find_request(const char *name)
{
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (strcmp(requests[i].name, name) == 0)
			return &requests[i];
	return NULL;
}

int
uiapi_level(const char *name, int *write)
{
	const struct request *r = find_request(name);

	if (r == NULL)
		return -1;
	if (write != NULL)
		*write = r->write != 0;
	return (int)r->level;
}

int
uiapi_parse_line(const char *line, size_t len, json_t **req, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *name;

	if ((*req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(err, errlen, "invalid JSON: %s", jerr.text);
		return 400;
	}
	if (!json_is_object(*req)) {
		snprintf(err, errlen, "a request must be a JSON object");
		json_decref(*req);
		*req = NULL;
		return 400;
	}
	name = json_object_get(*req, "request");
	if (!json_is_string(name)) {
		snprintf(err, errlen, "missing \"request\" (a string)");
		return 400;
	}
	if (uiapi_level(json_string_value(name), NULL) == -1) {
		snprintf(err, errlen, "unknown request \"%s\"",
		    json_string_value(name));
		return 404;
	}
	return 0;
}

void
uiapi_call(struct ui_call *c)
{
	const struct request *r = find_request(c->name);
	char why[256];

	c->cancelled = 0;
	if (r == NULL) {
		ui_finish(c, 404, uiapi_error("unknown request \"%s\"", c->name));
		return;
	}
	c->write = r->write != 0;
	if (r->level != UI_PUBLIC && c->user == NULL) {
		ui_finish(c, 401, uiapi_error("login required"));
		return;
	}
	/* Roles (uiapi.h): every write but to the own account. */
	if (((r->write == 1 && r->level != UI_SELF) ||
	    r->level == UI_MANAGE) &&
	    c->role != ADMIN_ROLE_ADMIN) {
		log_warnx("UI: %s from %s refused: %s is a read-only operator",
		    c->name, c->from, c->user != NULL ? c->user : "nobody");
		ui_finish(c, 403, uiapi_error("%s needs the administrator "
		    "role: %s is a read-only operator", c->name,
		    c->user != NULL ? c->user : "nobody"));
		return;
	}
	if (r->write == 1 && r->level == UI_SELF && c->bearer) {
		ui_finish(c, 403, uiapi_error("%s needs a console login, not "
		    "an API token", c->name));
		return;
	}
	/*
	 * Store.Backend = s3: the catalog (and so the bucket's journal)
	 * is written only by the server that holds the bucket's lease:
	 * every write and every QUEUES read.
	 */
	if (r->write && api.env->cfg->store_backend == STORE_BACKEND_S3 &&
	    (!api.lease_known || api.lease.state != LS_HELD)) {
		ui_finish(c, 503, uiapi_error("not the bucket's writer: %s",
		    api.lease_known ? api.lease.why : "this server does not "
		    "hold the bucket's lease yet"));
		return;
	}
	if (r->write && lease_may_write(why, sizeof(why)) == -1) {
		ui_finish(c, 503, uiapi_error("not the bucket's writer: %s", why));
		return;
	}
	r->fn(c);
}

void
uiapi_cancel(struct ui_call *c)
{
	c->cancelled = 1;	/* a waiter: ui_finish() frees it */
}

const char *
uiapi_server_id(void)
{
	return api.server_id;
}

void
uiapi_init(struct child_env *env, struct event_base *base)
{
	struct dw_msg m;

	api.env = env;
	uicall_init(env);
	api.base = base;
	server_id_hex(env->server_id, api.server_id);
	peerinfo_self(env->cfg, env->server_id, &m);
	snprintf(api.name, sizeof(api.name), "%s", m.name);
	if ((api.status_timer = evtimer_new(base, on_status_timeout, NULL)) ==
	    NULL)
		fatalx("%s: evtimer_new", __func__);
}

void
uiapi_free(void)
{
	ring_free(&api.log_all);
	ring_free(&api.log_severe);
	event_free(api.status_timer);
	uicall_free();
}
