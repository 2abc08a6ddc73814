/*
 * peerlink.c - requests to other peers' UI bridges (see peerlink.h).
 * One connection per request: connect, write one line, read one line,
 * close; the whole is bounded by PEERLINK_TIMEOUT_S and the reply by
 * the caller's limit.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "peerlink.h"

struct link {
	struct bufferevent *bev;
	struct event	*deadline;
	size_t		 max;		/* reply bytes */
	int		 connecting;	/* inside bufferevent_socket_connect */
	int		 failed;	/* ... which reported an error */
	peerlink_fn	*fn;
	void		*arg;
	char		 where[80];
	struct link	*next;
};

static struct {
	struct event_base *base;
	struct link	*links;
} pl;

void
peerlink_init(struct event_base *base)
{
	pl.base = base;
}

/*
 * The body of a failure found here: {"error": the text}.  What a text
 * quotes is a number or an address from the peer table or the
 * configuration (IP literals, checked there): ASCII, valid in JSON.
 */
static json_t *
failure(const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", msg);
}

static void
link_free(struct link *l)
{
	struct link **pp;

	for (pp = &pl.links; *pp != NULL; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	bufferevent_free(l->bev);
	event_free(l->deadline);
	free(l);
}

static void
link_done(struct link *l, int status, json_t *reply)
{
	peerlink_fn *fn = l->fn;
	void *arg = l->arg;

	link_free(l);
	fn(arg, status, reply);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	json_error_t jerr;
	json_t *reply, *code;
	size_t len;
	char *line;

	if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(in) > l->max) {
			log_debug("bridge request to %s: reply too long",
			    l->where);
			link_done(l, 502, failure("the peer's reply is too "
			    "long"));
		}
		return;
	}
	reply = json_loadb(line, len, 0, &jerr);
	free(line);
	if (!json_is_object(reply)) {
		json_decref(reply);
		log_debug("bridge request to %s: not a JSON object", l->where);
		link_done(l, 502, failure("the peer's reply is not JSON"));
		return;
	}
	code = json_object_get(reply, "code");
	if (json_object_get(reply, "error") != NULL) {
		json_int_t c = json_is_integer(code) ? json_integer_value(code) :
		    502;

		json_object_del(reply, "code");
		link_done(l, c >= 400 && c <= 599 ? (int)c : 502, reply);
		return;
	}
	if (json_is_integer(code)) {	/* 201, 202 */
		json_int_t c = json_integer_value(code);

		json_object_del(reply, "code");
		link_done(l, c >= 200 && c <= 299 ? (int)c : 200, reply);
		return;
	}
	link_done(l, 200, reply);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct link *l = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (l->connecting) {	/* peerlink_request() answers it */
		l->failed = 1;
		return;
	}
	log_debug("bridge request to %s: %s", l->where,
	    (what & BEV_EVENT_EOF) ? "closed without a reply" :
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	link_done(l, 502, failure("cannot reach the peer's bridge at %s",
	    l->where));
}

/* A peer that trickles its reply must not hold the asker up. */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;

	(void)fd;
	(void)what;
	log_debug("bridge request to %s: no reply in %d s", l->where,
	    PEERLINK_TIMEOUT_S);
	link_done(l, 504, failure("the peer did not answer in %d s",
	    PEERLINK_TIMEOUT_S));
}

/* A failure reported from the event loop, never from inside the call. */
struct later {
	peerlink_fn	*fn;
	void		*arg;
	int		 status;
	json_t		*body;
};

static void
on_later(evutil_socket_t fd, short what, void *arg)
{
	struct later *lt = arg;

	(void)fd;
	(void)what;
	lt->fn(lt->arg, lt->status, lt->body);
	free(lt);
}

static void
fail_later(peerlink_fn *fn, void *arg, int status, json_t *body)
{
	struct later *lt = calloc(1, sizeof(*lt));

	if (lt == NULL)
		fatal("%s", __func__);
	lt->fn = fn;
	lt->arg = arg;
	lt->status = status;
	lt->body = body;
	if (event_base_once(pl.base, -1, EV_TIMEOUT, on_later, lt, NULL) == -1)
		fatalx("%s: event_base_once", __func__);
}

void
peerlink_request(const char *addr, int port, json_t *req, size_t max,
    peerlink_fn *fn, void *arg)
{
	struct timeval tv = { PEERLINK_TIMEOUT_S, 0 };
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sslen;
	struct link *l;
	char *s;
	int rc;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*sin6);
	} else {
		fail_later(fn, arg, 502, failure("the peer's address "
		    "\"%s\" is not usable", addr));
		return;
	}
	if (port <= 0 || port > 65535) {
		fail_later(fn, arg, 502, failure("the peer does not serve "
		    "its UI bridge"));
		return;
	}
	if ((s = json_dumps(req, JSON_COMPACT)) == NULL ||
	    (l = calloc(1, sizeof(*l))) == NULL ||
	    (l->bev = bufferevent_socket_new(pl.base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (l->deadline = evtimer_new(pl.base, on_deadline, l)) == NULL)
		fatal("%s", __func__);
	l->max = max;
	l->fn = fn;
	l->arg = arg;
	snprintf(l->where, sizeof(l->where), "%s%s%s:%d",
	    sin->sin_family == AF_INET6 ? "[" : "", addr,
	    sin->sin_family == AF_INET6 ? "]" : "", port);
	l->next = pl.links;
	pl.links = l;
	bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
	evtimer_add(l->deadline, &tv);
	bufferevent_setwatermark(l->bev, EV_READ, 0, max + 2);
	bufferevent_write(l->bev, s, strlen(s));
	bufferevent_write(l->bev, "\n", 1);
	free(s);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	l->connecting = 1;
	rc = bufferevent_socket_connect(l->bev, (struct sockaddr *)&ss,
	    (int)sslen);
	l->connecting = 0;
	if (rc == -1 || l->failed) {
		log_debug("bridge request to %s: cannot connect", l->where);
		link_free(l);
		fail_later(fn, arg, 502, failure("cannot connect to the peer"));
	}
}

void
peerlink_stop(void)
{
	while (pl.links != NULL)
		link_free(pl.links);
}
