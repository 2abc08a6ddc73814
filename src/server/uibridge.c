/*
 * uibridge.c - the UI-bridge child: JSON lines on Ports.UI (32005), and
 * the web console on Ports.WebConsole and WebConsoleSSL (webhttp.c).
 *
 * One JSON object per line each way (doc/protocol.md).  Requests are
 * answered in order: while a request waits (for the supervisor), the
 * connection reads no further lines.  What each request does is in
 * uiapi.c; a request that needs an administrator carries the "token" a
 * peer login gave.  libevent drives the sockets and jansson parses and
 * prints the JSON.
 *
 * A connection whose first byte other than blanks is a NUL, another
 * control byte or not ASCII cannot be sending JSON lines: a backup
 * client on the wrong port sends a binary frame and then waits, with no
 * newline for us to wait for.  It is answered at once with one JSON
 * error line and closed.  (A first line of text that is not JSON gets
 * the usual "invalid JSON" error when its newline comes, and the
 * connection stays open, as for any later line.)
 *
 * Slow connections cannot hold the bridge: one that has not sent a
 * whole first line within Server.HandshakeTimeout of its accept is
 * closed (a sweep once a second), and an address may have at most
 * Server.MaxHandshakesPerAddress such connections open (one more is
 * closed at once, logged at most once a second).
 */
#include "autoconf.h"

#include <sys/socket.h>

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
#include <netdb.h>
#include <jansson.h>

#include "common/monotime.h"
#include "child.h"
#include "config.h"
#include "imsg.h"
#include "listen.h"
#include "log.h"
#include "uiapi.h"
#include "webauth.h"
#include "webhttp.h"

#define UI_MAX_LINE	65536	/* bytes, newline included */
#define UI_MAX_OUTPUT	(256 * 1024)	/* unread replies before we stop reading */
#define UI_MAX_CONNS	64
#define UI_STOP_WAIT_S	5	/* to flush replies when told to stop */

struct bcall;

struct conn {
	struct bufferevent *bev;
	struct bcall	*pending;	/* a request not answered yet */
	char		 from[64];	/* the peer's address */
	int		 throttled;	/* reading paused: output too large */
	int		 closing;	/* close once the output is flushed */
	int		 spoke;		/* a byte other than blanks came */
	int		 lined;		/* a whole first line came */
	int64_t		 accepted;	/* mono_ms() */
	struct sockaddr_storage ss;	/* the peer */
	struct conn	*next;
};

static struct {
	struct child_env *env;
	struct event_base *base;
	struct event	*ctl_ev;
	struct event	*log_ev;	/* the log sink, or NULL */
	struct evconnlistener *lev[LISTEN_MAX];
	size_t		 nlev;
	struct conn	*conns;
	int		 nconns;
	struct event	*stop_timer;
	struct event	*sweep_timer;	/* first lines overdue, once a second */
	int		 stopping;
	int64_t		 refused_log;	/* mono_ms() of the last refusal line */
	uint64_t	 refused;	/* since then */
} ui;

static void	process_lines(struct conn *);
static void	cancel_call(struct bcall *);

static void
conn_free(struct conn *c)
{
	struct conn **pp;

	for (pp = &ui.conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->pending != NULL)
		cancel_call(c->pending);
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

/* {"error": message, "code": status} (HTTP-like status). */
static void
reply_error(struct conn *c, json_t *id, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
reply_error(struct conn *c, json_t *id, int status, const char *fmt, ...)
{
	char msg[256];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((o = uiapi_error("%s", msg)) != NULL)
		json_object_set_new(o, "code", json_integer(status));
	reply(c, o, id);
}

/* One bridge request in progress (at most one per connection). */
struct bcall {
	struct ui_call	 uc;		/* first: uiapi hands it back */
	struct conn	*conn;
	json_t		*id;		/* the client's "id", echoed */
	char		 user[ADMIN_NAME_MAX + 1];
};

static void
on_call_done(struct ui_call *uc, int status, json_t *body)
{
	struct bcall *b = (struct bcall *)uc;
	struct conn *c = b->conn;

	if (status != 200 && json_is_object(body))
		json_object_set_new(body, "code", json_integer(status));
	reply(c, body, b->id);
	json_decref(b->id);
	json_decref(b->uc.args);
	free(b);
	c->pending = NULL;
	if (c->closing) {
		if (output_len(c) == 0)
			conn_free(c);
	} else
		process_lines(c);
}

/* The connection is going: uiapi frees b when its answer comes. */
static void
cancel_call(struct bcall *b)
{
	json_decref(b->id);
	b->id = NULL;
	uiapi_cancel(&b->uc);
}

static void
handle_line(struct conn *c, const char *line, size_t len)
{
	json_t *req, *id, *name, *token;
	struct wa_session *s = NULL;
	struct bcall *b;
	char why[300];
	int status;

	if ((status = uiapi_parse_line(line, len, &req, why,
	    sizeof(why))) != 0) {
		reply_error(c, req != NULL ? json_object_get(req, "id") : NULL,
		    status, "%s", why);
		json_decref(req);
		return;
	}
	id = json_object_get(req, "id");
	name = json_object_get(req, "request");
	token = json_object_get(req, "token");
	if (token != NULL && (s = wa_find(json_string_value(token), 1)) ==
	    NULL && uiapi_level(json_string_value(name), NULL) != UI_PUBLIC) {
		reply_error(c, id, 401, "the token is not valid (expired?): "
		    "log in again");
		json_decref(req);
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		fatal("%s", __func__);
	b->conn = c;
	b->id = id ? json_incref(id) : NULL;
	b->uc.name = json_string_value(name);
	b->uc.args = req;
	b->uc.done = on_call_done;
	snprintf(b->uc.from, sizeof(b->uc.from), "%s", c->from);
	if (s != NULL) {
		snprintf(b->user, sizeof(b->user), "%s", s->user);
		b->uc.user = b->user;
		b->uc.role = s->role;
	}
	c->pending = b;
	uiapi_call(&b->uc);
}

/*
 * Before the first line: 1 when what came so far is binary, not JSON
 * lines (then c is answered and closing), else 0.
 */
static int
not_json(struct conn *c, struct evbuffer *in)
{
	struct evbuffer_iovec v[4];
	int n;

	n = evbuffer_peek(in, -1, NULL, v, 4);
	for (int i = 0; i < n && i < 4 && !c->spoke; i++) {
		const unsigned char *p = v[i].iov_base;

		for (size_t j = 0; j < v[i].iov_len && !c->spoke; j++) {
			if (p[j] == ' ' || p[j] == '\t' || p[j] == '\r' ||
			    p[j] == '\n')
				continue;
			c->spoke = 1;
			if (p[j] >= ' ' && p[j] < 0x7f)
				return 0;
			reply_error(c, NULL, 400, "this is GigaVault's UI "
			    "bridge (Ports.UI): it reads one JSON request "
			    "object per line");
			conn_close(c);
			return 1;
		}
	}
	return 0;
}

static void
process_lines(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	if (!c->spoke && !c->closing && not_json(c, in))
		return;

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
		if (line != NULL)
			c->lined = 1;

		if (line == NULL) {
			if (evbuffer_get_length(in) >= UI_MAX_LINE) {
				reply_error(c, NULL, 413, "line too long");
				conn_close(c);
			}
			return;
		}
		if (len + 1 > UI_MAX_LINE) {
			reply_error(c, NULL, 413, "line too long");
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

/* Connections from sa's address that have not sent a whole line yet. */
static int
pending_from(const struct sockaddr *sa, int salen)
{
	struct sockaddr_storage ss;
	int k = 0;

	memset(&ss, 0, sizeof(ss));
	if ((size_t)salen <= sizeof(ss))
		memcpy(&ss, sa, (size_t)salen);
	for (struct conn *c = ui.conns; c != NULL; c = c->next)
		if (!c->lined && !c->closing && listen_same_host(&c->ss, &ss))
			k++;
	return k;
}

/* Log a refusal, at most once a second. */
static void
refuse(const struct sockaddr *sa, int salen)
{
	int64_t now = mono_ms();
	char host[64];

	if (ui.refused_log != 0 && now - ui.refused_log < 1000) {
		ui.refused++;
		return;
	}
	if (getnameinfo(sa, (socklen_t)salen, host, sizeof(host), NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "?");
	log_warnx("UI bridge: connection from %s closed: %d connections from "
	    "that address have not sent a whole line yet "
	    "(Server.MaxHandshakesPerAddress); %llu more closed since the "
	    "last such message", host, ui.env->cfg->max_handshakes_per_addr,
	    (unsigned long long)ui.refused);
	ui.refused_log = now;
	ui.refused = 0;
}

/* Once a second: close connections whose first line is overdue. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	int64_t limit = mono_ms() - ui.env->cfg->handshake_timeout * 1000L;
	struct conn *c, *next;

	(void)fd;
	(void)what;
	(void)arg;
	for (c = ui.conns; c != NULL; c = next) {
		next = c->next;
		if (!c->lined && !c->closing && c->accepted < limit) {
			log_debug("UI connection from %s sent no whole line in "
			    "%d s; closed", c->from,
			    ui.env->cfg->handshake_timeout);
			conn_free(c);
		}
	}
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct timeval idle = { ui.env->cfg->idle_timeout, 0 };
	struct conn *c;

	(void)l;
	(void)arg;
	if (pending_from(sa, salen) >= ui.env->cfg->max_handshakes_per_addr) {
		refuse(sa, salen);
		evutil_closesocket(fd);
		return;
	}
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
	if (getnameinfo(sa, (socklen_t)salen, c->from, sizeof(c->from), NULL,
	    0, NI_NUMERICHOST) != 0)
		snprintf(c->from, sizeof(c->from), "?");
	c->accepted = mono_ms();
	if ((size_t)salen <= sizeof(c->ss))
		memcpy(&c->ss, sa, (size_t)salen);
	c->next = ui.conns;
	ui.conns = c;
	ui.nconns++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	/* Read at most a little more than one line ahead. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, UI_MAX_LINE + 1);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
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
	webhttp_stop();
	uiapi_stop();
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

/* STATUS_REPLY, the one message besides SHUTDOWN and LOG_REOPEN sent here. */
static void
on_status(int type, const union imsg_body *u)
{
	if (type == IMSG_LEASE)
		uiapi_on_lease(&u->lease);
	else
		uiapi_on_status(&u->status);
}

static void
on_ctl(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	child_read_ctl(ui.env, stop_serving, on_status);
	if (ui.env->ctl_fd == -1) {
		log_debug("supervisor gone; exiting");
		event_del(ui.ctl_ev);
		event_base_loopbreak(ui.base);
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

/*
 * Lines logged by every process (log.h's sink) go to uiapi's ring; a
 * bounded number per wakeup, so that a flood cannot starve the rest.
 */
#define LOG_READS_PER_WAKEUP	256

static void
on_log_sink(evutil_socket_t fd, short what, void *arg)
{
	char rec[LOG_SINK_REC_MAX + 1];	/* one more: a longer one is cut */
	ssize_t n;

	(void)what;
	(void)arg;
	for (int i = 0; i < LOG_READS_PER_WAKEUP; i++) {
		n = recv(fd, rec, sizeof(rec), MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1)
			return;		/* EAGAIN: all read */
		uiapi_log_record(rec, (size_t)n);
	}
}

void
uibridge_main(struct child_env *env)
{
	struct event *sigev;

	ui.env = env;
	/* Room for the console's connections (WEB_MAX_CONNS) and ours. */
	(void)listen_raise_nofile();
	if ((ui.base = event_base_new()) == NULL)
		fatalx("%s: event_base_new", __func__);
	uiapi_init(env, ui.base);
	webhttp_init(env, ui.base);	/* takes the web listeners */
	for (size_t i = 0; i < env->listeners->n; i++) {
		struct listener *l = &env->listeners->l[i];

		if (l->fd == -1 || l->svc != SVC_UI)
			continue;
		ui.lev[ui.nlev] = evconnlistener_new(ui.base, on_accept, NULL,
		    LEV_OPT_CLOSE_ON_FREE, 0, l->fd);
		if (ui.lev[ui.nlev] == NULL)
			fatalx("%s: evconnlistener_new", __func__);
		ui.nlev++;
	}
	ui.ctl_ev = event_new(ui.base, env->ctl_fd, EV_READ | EV_PERSIST,
	    on_ctl, NULL);
	if (log_sink_reader() != -1 && ((ui.log_ev = event_new(ui.base,
	    log_sink_reader(), EV_READ | EV_PERSIST, on_log_sink, NULL)) ==
	    NULL || event_add(ui.log_ev, NULL) == -1))
		fatalx("%s: log sink event", __func__);
	sigev = evsignal_new(ui.base, SIGTERM, on_sigterm, NULL);
	ui.stop_timer = evtimer_new(ui.base, on_stop_timeout, NULL);
	ui.sweep_timer = event_new(ui.base, -1, EV_PERSIST, on_sweep, NULL);
	if (ui.ctl_ev == NULL || sigev == NULL || ui.stop_timer == NULL ||
	    ui.sweep_timer == NULL || event_add(ui.ctl_ev, NULL) ||
	    event_add(sigev, NULL) ||
	    event_add(ui.sweep_timer, &(struct timeval){ 1, 0 }))
		fatalx("%s: event setup", __func__);

	child_send(env, imsg_empty(IMSG_READY));

	event_base_dispatch(ui.base);

	ui.stopping = 0;	/* no loopbreak from the frees below */
	webhttp_stop();
	uiapi_stop();
	while (ui.conns != NULL)
		conn_free(ui.conns);
	for (size_t i = 0; i < ui.nlev; i++)
		evconnlistener_free(ui.lev[i]);
	event_free(ui.ctl_ev);
	if (ui.log_ev != NULL)
		event_free(ui.log_ev);
	event_free(sigev);
	event_free(ui.stop_timer);
	event_free(ui.sweep_timer);
	uiapi_free();
	event_base_free(ui.base);
	exit(0);
}
