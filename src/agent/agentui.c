/*
 * agentui.c - the agent's UI port: JSON lines, a table of requests.
 * See agentui.h.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "client/clientconf.h"
#include "agentlog.h"
#include "agentpoll.h"
#include "agentstate.h"
#include "agentui.h"
#include "jobs.h"

#define HISTORY_DEFAULT	20
/*
 * Replies waiting for a client that does not read: above OUT_HIGH the
 * connection's requests wait (reading stops) until they drain below
 * OUT_LOW.
 */
#define OUT_HIGH	(1024 * 1024)
#define OUT_LOW		(256 * 1024)

struct agentui {
	struct event_base *base;
	struct agentui_conf c;
	struct evconnlistener **ls;
	size_t		 nls;
	size_t		 nconns;
	struct conn	*conns;		/* every open connection */
};

struct conn {
	struct agentui	*ui;
	struct bufferevent *bev;
	struct conn	*next, *prev;
};

/* A request's handler: the reply object (new), or NULL for out of memory. */
typedef json_t	*(*req_fn)(struct agentui *, json_t *req);

static json_t *
error_reply(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static json_t *
error_reply(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s, s:i}", "error", msg, "code", code);
}

static json_t *
req_hello(struct agentui *ui, json_t *req)
{
	(void)req;
	return json_pack("{s:s, s:s, s:s, s:b}", "agent", ui->c.name,
	    "id", astate_id_hex(ui->c.state), "version", PACKAGE_VERSION,
	    "token_required", ui->c.token != NULL && ui->c.token[0] != '\0');
}

static json_t *
req_status(struct agentui *ui, json_t *req)
{
	int64_t now = time(NULL);

	(void)req;
	return json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:I, s:I, "
	    "s:I, s:o}",
	    "agent", ui->c.name,
	    "id", astate_id_hex(ui->c.state),
	    "version", PACKAGE_VERSION,
	    "pid", (int)getpid(),
	    "started", (json_int_t)ui->c.started,
	    "uptime", (json_int_t)(now - ui->c.started),
	    "config", ui->c.conffile,
	    "server", ui->c.server,
	    "jobs", (json_int_t)jobs_count(ui->c.jobs),
	    "running", (json_int_t)jobs_running(ui->c.jobs),
	    "unsent", (json_int_t)astate_outbox_count(ui->c.state),
	    "poll", apoll_json(ui->c.poll));
}

static json_t *
req_jobs(struct agentui *ui, json_t *req)
{
	json_t *a;

	(void)req;
	if ((a = jobs_json(ui->c.jobs)) == NULL)
		return NULL;
	return json_pack("{s:o}", "jobs", a);
}

/* The request's "set": a valid set name, or NULL (*bad: present but bad). */
static const char *
req_set(json_t *req, int *bad)
{
	json_t *v = json_object_get(req, "set");

	*bad = 0;
	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || !clientconf_valid_set(json_string_value(v))) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

static json_t *
req_history(struct agentui *ui, json_t *req)
{
	json_t *lim = json_object_get(req, "limit"), *a;
	json_int_t max = HISTORY_DEFAULT;
	const char *set;
	int bad;

	set = req_set(req, &bad);
	if (bad)
		return error_reply(400, "\"set\" is not a set name");
	/* 1..ASTATE_HISTORY_MAX: agentui_parse_line() checked it. */
	if (lim != NULL)
		max = json_integer_value(lim);
	if ((a = astate_history(ui->c.state, set, (size_t)max)) == NULL)
		return NULL;
	return json_pack("{s:o}", "history", a);
}

static json_t *
req_run(struct agentui *ui, json_t *req)
{
	const char *set;
	char err[512];
	int bad, code;

	if ((set = req_set(req, &bad)) == NULL)
		return error_reply(400, "\"set\" (a set name) is needed");
	if (jobs_run_now(ui->c.jobs, set, 0, &code, err, sizeof(err)) == -1)
		return error_reply(code, "%s", err);
	return json_pack("{s:s, s:b, s:i}", "set", set, "started", 1,
	    "code", 202);
}

static json_t *
req_cancel(struct agentui *ui, json_t *req)
{
	const char *set;
	char err[512];
	int bad, code;

	if ((set = req_set(req, &bad)) == NULL)
		return error_reply(400, "\"set\" (a set name) is needed");
	/*
	 * A set runs one thing at a time: a restore, or its job's backup
	 * (or a retry that waits).  Whichever it is is cancelled.
	 */
	if (ui->c.restore_cancel != NULL &&
	    ui->c.restore_cancel(ui->c.restore_arg, set) == 0)
		return json_pack("{s:s, s:b, s:b}", "set", set, "cancelled",
		    1, "restore", 1);
	if (jobs_cancel(ui->c.jobs, set, &code, err, sizeof(err)) == -1)
		return error_reply(code, "%s", err);
	return json_pack("{s:s, s:b}", "set", set, "cancelled", 1);
}

static const struct request {
	const char	*name;
	req_fn		 fn;
	int		 open;		/* no token needed */
} requests[] = {
	{ "hello",	req_hello,	1 },
	{ "status",	req_status,	0 },
	{ "jobs",	req_jobs,	0 },
	{ "history",	req_history,	0 },
	{ "run",	req_run,	0 },
	{ "cancel",	req_cancel,	0 },
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
agentui_parse_line(const char *line, size_t len, const char *token,
    json_t **req, const char **name, char *err, size_t errlen)
{
	const struct request *rq;
	json_t *set, *lim, *tok;
	json_error_t je;
	const char *t;
	size_t tl;

	*name = NULL;
	if ((*req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL || !json_is_object(*req)) {
		json_decref(*req);
		*req = NULL;
		snprintf(err, errlen, "not a JSON object");
		return 400;
	}
	if ((t = json_string_value(json_object_get(*req, "request"))) ==
	    NULL) {
		snprintf(err, errlen, "no \"request\" string");
		return 400;
	}
	if ((rq = find_request(t)) == NULL) {
		snprintf(err, errlen, "unknown request \"%.64s\"", t);
		return 404;
	}
	if (!rq->open && token != NULL && token[0] != '\0') {
		tok = json_object_get(*req, "token");
		t = json_string_value(tok);
		tl = strlen(token);
		if (t == NULL || json_string_length(tok) != tl ||
		    !crypto_equal(t, token, tl)) {
			snprintf(err, errlen, "this agent wants \"token\" "
			    "(Agent.UITokenFile)");
			return 401;
		}
	}
	set = json_object_get(*req, "set");
	if (set != NULL && !json_is_null(set) && (!json_is_string(set) ||
	    !clientconf_valid_set(json_string_value(set)))) {
		snprintf(err, errlen, "\"set\" is not a set name");
		return 400;
	}
	lim = json_object_get(*req, "limit");
	if (lim != NULL && (!json_is_integer(lim) ||
	    json_integer_value(lim) < 1 ||
	    json_integer_value(lim) > ASTATE_HISTORY_MAX)) {
		snprintf(err, errlen, "\"limit\" is not 1..%d",
		    ASTATE_HISTORY_MAX);
		return 400;
	}
	*name = rq->name;
	return 0;
}

/* The reply to one request line (new), never NULL but when out of memory. */
static json_t *
answer(struct agentui *ui, const char *line, size_t len)
{
	json_t *req, *reply, *id;
	const char *name;
	char err[256];
	int code;

	code = agentui_parse_line(line, len, ui->c.token, &req, &name, err,
	    sizeof(err));
	if (code != 0)
		reply = error_reply(code, "%s", err);
	else
		reply = find_request(name)->fn(ui, req);
	if (reply != NULL && (id = json_object_get(req, "id")) != NULL)
		json_object_set(reply, "id", id);
	json_decref(req);
	return reply;
}

static void
conn_close(struct conn *c)
{
	struct agentui *ui = c->ui;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ui->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ui->nconns--;
	bufferevent_free(c->bev);
	free(c);
}

static void
send_reply(struct conn *c, json_t *reply)
{
	char *s;

	if (reply == NULL)
		reply = error_reply(500, "out of memory");
	if (reply != NULL && (s = json_dumps(reply, JSON_COMPACT)) != NULL) {
		bufferevent_write(c->bev, s, strlen(s));
		bufferevent_write(c->bev, "\n", 1);
		free(s);
	}
	json_decref(reply);
}

/* After the last reply is written: close (a line too long). */
static void
close_when_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_close(arg);
}

static void	conn_event(struct bufferevent *, short, void *);
static void	conn_write(struct bufferevent *, void *);

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t len;
	char *line;

	while (evbuffer_get_length(out) < OUT_HIGH &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (len >= AGENTUI_LINE_MAX) {
			free(line);
			goto toolong;
		}
		send_reply(c, answer(c->ui, line, len));
		free(line);
	}
	if (evbuffer_get_length(out) >= OUT_HIGH) {
		/* The client does not read: its next requests wait. */
		bufferevent_disable(bev, EV_READ);
		bufferevent_setwatermark(bev, EV_WRITE, OUT_LOW, 0);
		bufferevent_setcb(bev, conn_read, conn_write, conn_event, c);
		return;
	}
	if (evbuffer_get_length(in) < AGENTUI_LINE_MAX)
		return;
toolong:
	send_reply(c, error_reply(413, "line too long"));
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, close_when_written, conn_event, c);
}

/* The replies drained below OUT_LOW: the requests that wait, then more. */
static void
conn_write(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) > OUT_LOW)
		return;
	bufferevent_setcb(bev, conn_read, NULL, conn_event, arg);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(bev, EV_READ);
	conn_read(bev, arg);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_close(arg);	/* end of file, error or idle */
}

static void
conn_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct timeval idle = { AGENTUI_IDLE_S, 0 };
	struct agentui *ui = arg;
	struct conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	if (ui->nconns >= AGENTUI_CONNS_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	if ((c->bev = bufferevent_socket_new(ui->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->ui = ui;
	c->next = ui->conns;
	if (ui->conns != NULL)
		ui->conns->prev = c;
	ui->conns = c;
	ui->nconns++;
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct agentui *
agentui_start(struct event_base *base, const struct agentui_conf *c,
    char *err, size_t errlen)
{
	struct agentui *ui;

	if ((ui = calloc(1, sizeof(*ui))) == NULL ||
	    (c->nlisten > 0 && (ui->ls = calloc(c->nlisten,
	    sizeof(*ui->ls))) == NULL)) {
		free(ui);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ui->base = base;
	ui->c = *c;
	for (size_t i = 0; i < c->nlisten; i++) {
		struct sockaddr_storage ss;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		socklen_t sl;

		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, c->listen[i], &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)c->port);
			sl = sizeof(*s4);
		} else if (inet_pton(AF_INET6, c->listen[i],
		    &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)c->port);
			sl = sizeof(*s6);
		} else {
			snprintf(err, errlen, "UIListen \"%s\" is not an "
			    "address", c->listen[i]);
			agentui_stop(ui);
			return NULL;
		}
		if ((ui->ls[ui->nls] = evconnlistener_new_bind(base,
		    conn_accept, ui, LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
		    (ss.ss_family == AF_INET6 ? LEV_OPT_BIND_IPV6ONLY : 0),
		    64, (struct sockaddr *)&ss, (int)sl)) == NULL) {
			/* IPv6 (or v4) off: the default's other one serves. */
			if (c->listen_default && (errno == EADDRNOTAVAIL ||
			    errno == EAFNOSUPPORT)) {
				alog_warnx("UIListen %s port %d: %s; the UI port "
				    "is not there (the default UIListen)",
				    c->listen[i], c->port, strerror(errno));
				continue;
			}
			snprintf(err, errlen, "UIListen %s port %d: %s",
			    c->listen[i], c->port, strerror(errno));
			agentui_stop(ui);
			return NULL;
		}
		ui->nls++;
	}
	if (ui->nls == 0 && c->nlisten > 0) {
		snprintf(err, errlen, "UIListen: no address could be bound "
		    "(port %d)", c->port);
		agentui_stop(ui);
		return NULL;
	}
	return ui;
}

void
agentui_update(struct agentui *ui, const struct agentui_conf *c)
{
	ui->c.token = c->token;
	ui->c.jobs = c->jobs;
	ui->c.poll = c->poll;
	ui->c.server = c->server;
}

void
agentui_stop(struct agentui *ui)
{
	if (ui == NULL)
		return;
	while (ui->conns != NULL)
		conn_close(ui->conns);
	for (size_t i = 0; i < ui->nls; i++)
		evconnlistener_free(ui->ls[i]);
	free(ui->ls);
	free(ui);
}
