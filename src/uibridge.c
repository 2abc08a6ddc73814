/*
 * uibridge.c - the UI-bridge child: JSON lines on Ports.UI (32005).
 *
 * One JSON object per line each way (doc/protocol.md).  Requests are
 * answered in order: while a request waits for the supervisor (status),
 * the connection reads no further lines.  libevent drives the sockets
 * and jansson parses and prints the JSON.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "catalog.h"
#include "child.h"
#include "config.h"
#include "datadir.h"
#include "discovery.h"
#include "imsg.h"
#include "listen.h"
#include "log.h"

#define UI_MAX_LINE	65536	/* bytes, newline included */
#define UI_MAX_OUTPUT	(256 * 1024)	/* unread replies before we stop reading */
#define UI_MAX_CONNS	64
#define UI_REPLY_WAIT_S	5	/* for the supervisor's answer */
#define UI_STOP_WAIT_S	5	/* to flush replies when told to stop */

struct conn {
	struct bufferevent *bev;
	int		 pending;	/* waits for the status reply */
	json_t		*pending_id;	/* the client's "id", echoed */
	int		 throttled;	/* reading paused: output too large */
	int		 closing;	/* close once the output is flushed */
	struct conn	*next;
};

static struct {
	struct child_env *env;
	struct event_base *base;
	struct event	*ctl_ev;
	struct evconnlistener *lev[LISTEN_MAX];
	size_t		 nlev;
	struct conn	*conns;
	int		 nconns;
	/* One status request at a time; its reply serves every waiter. */
	uint32_t	 status_req;	/* id in flight, 0 when none */
	struct event	*status_timer;
	struct event	*stop_timer;
	int		 stopping;
	struct imsg	 msg;
	char		 server_id[33];
} ui;

static void	process_lines(struct conn *);

static void
conn_free(struct conn *c)
{
	struct conn **pp;

	for (pp = &ui.conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	json_decref(c->pending_id);
	bufferevent_free(c->bev);
	free(c);
	ui.nconns--;
	if (ui.stopping && ui.conns == NULL)
		event_base_loopbreak(ui.base);
}

static size_t
output_len(struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* Close c now if nothing is owed to it, else once it is flushed. */
static void
conn_close(struct conn *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (!c->pending && output_len(c) == 0)
		conn_free(c);
}

/*
 * Write one JSON line; takes the reference to obj (which may be NULL when
 * building it failed).  Every request gets exactly one line, so that
 * replies stay in step with requests.
 */
static void
reply(struct conn *c, json_t *obj, json_t *id)
{
	static const char fallback[] = "{\"error\":\"internal error\"}";
	char *s = NULL;

	if (obj != NULL && id != NULL)
		json_object_set(obj, "id", id);
	if (obj != NULL)
		s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL) {
		log_warnx("%s: cannot build a reply", __func__);
		bufferevent_write(c->bev, fallback, sizeof(fallback) - 1);
	} else {
		bufferevent_write(c->bev, s, strlen(s));
		free(s);
	}
	bufferevent_write(c->bev, "\n", 1);
}

static void
reply_error(struct conn *c, json_t *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_error(struct conn *c, json_t *id, const char *fmt, ...)
{
	char msg[256];
	json_t *str = NULL;
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Truncation may have split a UTF-8 sequence: drop its bytes. */
	len = strlen(msg);
	while ((str = json_string(msg)) == NULL && len > 0)
		msg[--len] = '\0';
	reply(c, str ? json_pack("{s:o}", "error", str) : NULL, id);
}

/* Ask the supervisor for the pool state, unless a request is in flight. */
static void
ask_status(void)
{
	static uint32_t next_req;
	struct timeval tv = { UI_REPLY_WAIT_S, 0 };

	if (ui.status_req != 0)
		return;
	if (++next_req == 0)
		next_req = 1;
	imsg_init(&ui.msg, IMSG_STATUS_REQ);
	imsg_put_u32(&ui.msg, next_req);
	if (imsg_send(ui.env->ctl_fd, &ui.msg, 0) == -1)
		log_warn("%s: supervisor", __func__);	/* the timer answers */
	ui.status_req = next_req;
	evtimer_add(ui.status_timer, &tv);
}

/* Requests.  Each either replies at once or leaves c->pending set. */
static void
req_status(struct conn *c, json_t *req, json_t *id)
{
	(void)req;
	c->pending = 1;
	c->pending_id = id ? json_incref(id) : NULL;
	ask_status();
}

/* ------------------------------------------------- peers (discovery) */

static struct catalog *peers_cat;	/* opened on the first request */

static const char *
peer_source(int s)
{
	static const char *const names[] = { "self", "multicast", "scan",
	    "tcp", "static" };

	return s >= 0 && s <= CAT_PEER_STATIC ? names[s] : "?";
}

/* One peer as doc/protocol.md ("peers") shows it. */
static json_t *
peer_json(const struct cat_peer *p, uint64_t now)
{
	json_t *addrs = json_array(), *roles = json_array();
	char hex[33], via[33];

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
	    "source", peer_source(p->source),
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
};

static int
peers_visit(void *arg, const struct cat_peer *p)
{
	struct peers_walk *w = arg;

	if (p->last_seen + (uint64_t)w->timeout < w->now)
		return 0;	/* aged out; the discovery child removes it */
	json_array_append_new(w->list, peer_json(p, w->now));
	return json_array_size(w->list) >= (size_t)w->max;
}

static void
req_peers(struct conn *c, json_t *req, json_t *id)
{
	const struct gv_config *cfg = ui.env->cfg;
	struct peers_walk w = { json_array(), (uint64_t)time(NULL),
	    cfg->disc.peer_timeout, cfg->disc.max_peers };
	uint64_t stats[CAT_PEER_STATS];
	char path[PATH_MAX], err[512];
	struct cat_peer self;
	struct dw_msg m;
	json_t *counters = json_object();

	(void)req;
	if (peers_cat == NULL && (snprintf(path, sizeof(path), "%s/catalog",
	    cfg->datadir) >= (int)sizeof(path) ||
	    catalog_open(path, 0, &peers_cat, err, sizeof(err)) != CAT_OK)) {
		json_decref(w.list);
		json_decref(counters);
		reply_error(c, id, "catalog not available");
		return;
	}
	if (catalog_peers(peers_cat, peers_visit, &w, stats) != CAT_OK) {
		log_warnx("%s", catalog_strerror(peers_cat));
		json_decref(w.list);
		json_decref(counters);
		reply_error(c, id, "catalog not available");
		return;
	}
	for (int i = 0; i < DS_NSTATS; i++)
		json_object_set_new(counters, disc_stat_name(i),
		    json_integer((json_int_t)stats[i]));
	disc_self(cfg, ui.env->server_id, &m);
	memset(&self, 0, sizeof(self));
	memcpy(self.id, m.id, sizeof(self.id));
	snprintf(self.name, sizeof(self.name), "%s", m.name);
	self.roles = m.roles;
	self.tls = (m.flags & DW_FLAG_TLS) != 0;
	self.port_backup = m.port_backup;
	self.port_ssl = m.port_ssl;
	self.port_ui = m.port_ui;
	self.port_web = m.port_web;
	self.port_webssl = m.port_webssl;
	self.first_seen = self.last_seen = w.now;
	reply(c, json_pack("{s:o, s:o, s:o}", "self", peer_json(&self, w.now),
	    "peers", w.list, "counters", counters), id);
}

static const struct request {
	const char	*name;
	void		(*fn)(struct conn *, json_t *req, json_t *id);
} requests[] = {
	{ "status",	req_status },
	{ "peers",	req_peers },
};

static void
handle_line(struct conn *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *id, *name;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		reply_error(c, NULL, "invalid JSON: %s", jerr.text);
		return;
	}
	if (!json_is_object(req)) {
		reply_error(c, NULL, "a request must be a JSON object");
		json_decref(req);
		return;
	}
	id = json_object_get(req, "id");
	name = json_object_get(req, "request");
	if (!json_is_string(name)) {
		reply_error(c, id, "missing \"request\" (a string)");
		json_decref(req);
		return;
	}
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (strcmp(requests[i].name, json_string_value(name)) == 0) {
			requests[i].fn(c, req, id);
			json_decref(req);
			return;
		}
	reply_error(c, id, "unknown request \"%s\"", json_string_value(name));
	json_decref(req);
}

static void
process_lines(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (!c->pending && !c->closing) {
		size_t len;
		char *line;

		if (output_len(c) > UI_MAX_OUTPUT) {
			/* The client does not read its replies: wait for it. */
			c->throttled = 1;
			bufferevent_disable(c->bev, EV_READ);
			return;
		}
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);

		if (line == NULL) {
			if (evbuffer_get_length(in) >= UI_MAX_LINE) {
				reply_error(c, NULL, "line too long");
				conn_close(c);
			}
			return;
		}
		if (len + 1 > UI_MAX_LINE) {
			reply_error(c, NULL, "line too long");
			conn_close(c);
		} else if (len > 0)
			handle_line(c, line, len);
		free(line);
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process_lines(arg);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->closing) {
		if (!c->pending)
			conn_free(c);
	} else if (c->throttled) {
		c->throttled = 0;
		bufferevent_enable(c->bev, EV_READ);
		process_lines(c);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("UI connection idle for %d s, closed",
		    ui.env->cfg->idle_timeout);
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* Half-closed: still answer what was asked. */
		process_lines(c);
		conn_close(c);
		return;
	}
	conn_free(c);
}

/* Answer every connection waiting for status with obj (or an error). */
static void
answer_status_waiters(json_t *obj, const char *error)
{
	struct conn *c, *next;

	for (c = ui.conns; c != NULL; c = next) {
		next = c->next;
		if (!c->pending)
			continue;
		if (obj != NULL)
			reply(c, json_copy(obj), c->pending_id);
		else
			reply_error(c, c->pending_id, "%s", error);
		json_decref(c->pending_id);
		c->pending_id = NULL;
		c->pending = 0;
		if (c->closing) {
			if (output_len(c) == 0)
				conn_free(c);
		} else
			process_lines(c);
	}
}

static void
on_status_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ui.status_req = 0;
	answer_status_waiters(NULL, "the supervisor did not answer");
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct timeval idle = { ui.env->cfg->idle_timeout, 0 };
	struct conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	if (ui.nconns >= UI_MAX_CONNS) {
		log_warnx("UI bridge: %d connections already, refusing one",
		    UI_MAX_CONNS);
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(ui.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("%s: out of memory", __func__);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->next = ui.conns;
	ui.conns = c;
	ui.nconns++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	/* Read at most a little more than one line ahead. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, UI_MAX_LINE + 1);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static json_t *
status_json(struct imsg *m)
{
	static const char *const states[] = { "starting", "idle", "busy" };
	uint64_t uptime, served, since;
	uint32_t pool, n, pid;
	uint8_t state, retiring;
	char peer[64];
	json_t *o, *workers;

	if (imsg_get_u64(m, &uptime) == -1 || imsg_get_u32(m, &pool) == -1 ||
	    imsg_get_u64(m, &served) == -1 || imsg_get_u32(m, &n) == -1)
		return NULL;
	workers = json_array();
	for (uint32_t i = 0; i < n; i++) {
		json_t *wk;

		if (imsg_get_u32(m, &pid) == -1 ||
		    imsg_get_u8(m, &state) == -1 ||
		    imsg_get_u8(m, &retiring) == -1 ||
		    imsg_get_u64(m, &since) == -1 ||
		    imsg_get_str(m, peer, sizeof(peer)) == -1 || state > 2) {
			json_decref(workers);
			return NULL;
		}
		wk = json_pack("{s:I, s:s, s:o, s:I}", "pid", (json_int_t)pid,
		    "state", states[state],
		    "peer", peer[0] ? json_string(peer) : json_null(),
		    "since", (json_int_t)since);
		if (retiring)
			json_object_set_new(wk, "retiring", json_true());
		json_array_append_new(workers, wk);
	}
	if (imsg_end(m, __func__) == -1) {
		json_decref(workers);
		return NULL;
	}
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}",
	    "server_id", ui.server_id, "version", PACKAGE_VERSION,
	    "uptime", (json_int_t)uptime, "pool_size", (json_int_t)pool,
	    "sessions_served", (json_int_t)served, "workers", workers);
	return o;
}

static void
on_status_reply(struct imsg *m)
{
	uint32_t id;
	json_t *o;

	if (imsg_get_u32(m, &id) == -1) {
		imsg_end(m, __func__);
		return;
	}
	if (id != ui.status_req)
		return;		/* answered already, by the timer */
	ui.status_req = 0;
	evtimer_del(ui.status_timer);
	o = status_json(m);
	answer_status_waiters(o, "bad status from the supervisor");
	json_decref(o);
}

/*
 * Told to stop (shutdown or a new generation): accept no more, answer
 * what was asked and flush, then exit; UI_STOP_WAIT_S at most.
 */
static void
stop_serving(void)
{
	struct timeval tv = { UI_STOP_WAIT_S, 0 };
	struct conn *c, *next;

	ui.stopping = 1;
	for (size_t i = 0; i < ui.nlev; i++)
		evconnlistener_free(ui.lev[i]);
	ui.nlev = 0;
	if (ui.conns == NULL) {
		event_base_loopbreak(ui.base);
		return;
	}
	evtimer_add(ui.stop_timer, &tv);
	for (c = ui.conns; c != NULL; c = next) {
		next = c->next;
		conn_close(c);
	}
}

static void
on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(ui.base);
}

static void
on_ctl(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (;;) {
		int rc = imsg_recv(fd, &ui.msg);

		if (rc == 0) {
			log_debug("supervisor gone; exiting");
			event_base_loopbreak(ui.base);
			return;
		}
		if (rc == -1) {
			if (errno != EAGAIN)
				log_warn("%s: supervisor pipe", __func__);
			return;
		}
		switch (ui.msg.type) {
		case IMSG_STATUS_REPLY:
			on_status_reply(&ui.msg);
			break;
		case IMSG_SHUTDOWN:
			if (imsg_end(&ui.msg, __func__) == 0)
				stop_serving();
			break;
		case IMSG_LOG_REOPEN:
			if (log_reopen() == -1)
				log_warn("%s: reopen log", __func__);
			break;
		default:
			log_warnx("%s: unexpected %s message", __func__,
			    imsg_type_name(ui.msg.type));
		}
	}
}

static void
on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(ui.base);
}

void
uibridge_main(struct child_env *env)
{
	struct event *sigev;

	ui.env = env;
	server_id_hex(env->server_id, ui.server_id);
	if ((ui.base = event_base_new()) == NULL)
		fatalx("%s: event_base_new", __func__);
	for (size_t i = 0; i < env->listeners->n; i++) {
		struct listener *l = &env->listeners->l[i];

		if (l->fd == -1)
			continue;
		ui.lev[ui.nlev] = evconnlistener_new(ui.base, on_accept, NULL,
		    LEV_OPT_CLOSE_ON_FREE, 0, l->fd);
		if (ui.lev[ui.nlev] == NULL)
			fatalx("%s: evconnlistener_new", __func__);
		ui.nlev++;
	}
	ui.ctl_ev = event_new(ui.base, env->ctl_fd, EV_READ | EV_PERSIST,
	    on_ctl, NULL);
	sigev = evsignal_new(ui.base, SIGTERM, on_sigterm, NULL);
	ui.status_timer = evtimer_new(ui.base, on_status_timeout, NULL);
	ui.stop_timer = evtimer_new(ui.base, on_stop_timeout, NULL);
	if (ui.ctl_ev == NULL || sigev == NULL || ui.status_timer == NULL ||
	    ui.stop_timer == NULL || event_add(ui.ctl_ev, NULL) ||
	    event_add(sigev, NULL))
		fatalx("%s: event setup", __func__);

	imsg_init(&ui.msg, IMSG_READY);
	if (imsg_send(env->ctl_fd, &ui.msg, 0) == -1)
		log_warn("%s: send READY", __func__);

	event_base_dispatch(ui.base);

	ui.stopping = 0;	/* no loopbreak from the frees below */
	while (ui.conns != NULL)
		conn_free(ui.conns);
	for (size_t i = 0; i < ui.nlev; i++)
		evconnlistener_free(ui.lev[i]);
	event_free(ui.ctl_ev);
	event_free(sigev);
	event_free(ui.status_timer);
	event_free(ui.stop_timer);
	event_base_free(ui.base);
	catalog_close(peers_cat);
	exit(0);
}
