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

#include "child.h"
#include "config.h"
#include "datadir.h"
#include "imsg.h"
#include "listen.h"
#include "log.h"

#define UI_MAX_LINE	65536	/* bytes, newline included */
#define UI_MAX_CONNS	64
#define UI_REPLY_WAIT_S	5	/* for the supervisor's answer */

struct conn {
	struct bufferevent *bev;
	struct event	*wait_timer;	/* while a request is pending */
	uint32_t	 pending;	/* request id sent to the supervisor */
	json_t		*pending_id;	/* the client's "id", echoed */
	int		 closing;	/* close once the output is flushed */
	struct conn	*next;
};

static struct {
	struct child_env *env;
	struct event_base *base;
	struct event	*ctl_ev;
	struct conn	*conns;
	int		 nconns;
	uint32_t	 next_req;
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
	if (c->wait_timer)
		event_free(c->wait_timer);
	json_decref(c->pending_id);
	bufferevent_free(c->bev);
	free(c);
	ui.nconns--;
}

/* Write one JSON line; takes the reference to obj. */
static void
reply(struct conn *c, json_t *obj, json_t *id)
{
	char *s;

	if (id != NULL)
		json_object_set(obj, "id", id);
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL) {
		log_warnx("%s: json_dumps failed", __func__);
		return;
	}
	bufferevent_write(c->bev, s, strlen(s));
	bufferevent_write(c->bev, "\n", 1);
	free(s);
}

static void
reply_error(struct conn *c, json_t *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_error(struct conn *c, json_t *id, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply(c, json_pack("{s:s}", "error", msg), id);
}

/* Requests.  Each either replies at once or leaves c->pending set. */
static void
req_status(struct conn *c, json_t *req, json_t *id)
{
	struct timeval tv = { UI_REPLY_WAIT_S, 0 };

	(void)req;
	if (++ui.next_req == 0)
		ui.next_req = 1;
	imsg_init(&ui.msg, IMSG_STATUS_REQ);
	imsg_put_u32(&ui.msg, ui.next_req);
	if (imsg_send(ui.env->ctl_fd, &ui.msg, 0) == -1) {
		reply_error(c, id, "supervisor unreachable: %s", strerror(errno));
		return;
	}
	c->pending = ui.next_req;
	c->pending_id = id ? json_incref(id) : NULL;
	evtimer_add(c->wait_timer, &tv);
}

static const struct request {
	const char	*name;
	void		(*fn)(struct conn *, json_t *req, json_t *id);
} requests[] = {
	{ "status",	req_status },
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
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);

		if (line == NULL) {
			if (evbuffer_get_length(in) >= UI_MAX_LINE) {
				reply_error(c, NULL, "line too long");
				c->closing = 1;
				bufferevent_disable(c->bev, EV_READ);
			}
			return;
		}
		if (len + 1 > UI_MAX_LINE) {
			reply_error(c, NULL, "line too long");
			c->closing = 1;
			bufferevent_disable(c->bev, EV_READ);
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
	if (c->closing)
		conn_free(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("UI connection idle for %d s, closed",
		    ui.env->cfg->idle_timeout);
	conn_free(arg);
}

static void
on_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	reply_error(c, c->pending_id, "the supervisor did not answer");
	json_decref(c->pending_id);
	c->pending_id = NULL;
	c->pending = 0;
	process_lines(c);
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
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (c->wait_timer = evtimer_new(ui.base, on_wait_timeout, c)) == NULL) {
		log_warnx("%s: out of memory", __func__);
		if (c != NULL && c->bev != NULL)
			bufferevent_free(c->bev);
		else
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
	struct conn *c;
	uint32_t id;
	json_t *o;

	if (imsg_get_u32(m, &id) == -1) {
		imsg_end(m, __func__);
		return;
	}
	for (c = ui.conns; c != NULL; c = c->next)
		if (c->pending == id)
			break;
	if (c == NULL)
		return;		/* the client left, or it timed out */
	evtimer_del(c->wait_timer);
	if ((o = status_json(m)) == NULL)
		reply_error(c, c->pending_id, "bad status from supervisor");
	else
		reply(c, o, c->pending_id);
	json_decref(c->pending_id);
	c->pending_id = NULL;
	c->pending = 0;
	process_lines(c);
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
			event_base_loopbreak(ui.base);
			return;
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
	struct evconnlistener *lev[LISTEN_MAX];
	struct event *sigev;
	size_t nlev = 0;

	ui.env = env;
	server_id_hex(env->server_id, ui.server_id);
	if ((ui.base = event_base_new()) == NULL)
		fatalx("%s: event_base_new", __func__);
	for (size_t i = 0; i < env->listeners->n; i++) {
		struct listener *l = &env->listeners->l[i];

		if (l->fd == -1)
			continue;
		lev[nlev] = evconnlistener_new(ui.base, on_accept, NULL,
		    LEV_OPT_CLOSE_ON_FREE, 0, l->fd);
		if (lev[nlev] == NULL)
			fatalx("%s: evconnlistener_new", __func__);
		nlev++;
	}
	ui.ctl_ev = event_new(ui.base, env->ctl_fd, EV_READ | EV_PERSIST,
	    on_ctl, NULL);
	sigev = evsignal_new(ui.base, SIGTERM, on_sigterm, NULL);
	if (ui.ctl_ev == NULL || sigev == NULL || event_add(ui.ctl_ev, NULL) ||
	    event_add(sigev, NULL))
		fatalx("%s: event setup", __func__);

	imsg_init(&ui.msg, IMSG_READY);
	if (imsg_send(env->ctl_fd, &ui.msg, 0) == -1)
		log_warn("%s: send READY", __func__);

	event_base_dispatch(ui.base);

	while (ui.conns != NULL)
		conn_free(ui.conns);
	for (size_t i = 0; i < nlev; i++)
		evconnlistener_free(lev[i]);
	event_free(ui.ctl_ev);
	event_free(sigev);
	event_base_free(ui.base);
	exit(0);
}
