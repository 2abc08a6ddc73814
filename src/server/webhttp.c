/*
 * webhttp.c - the web console's HTTP(S) server (see webhttp.h and
 * doc/webconsole.md).
 *
 * A request goes: port policy (WebConsole.HTTP) -> /api/... or a static
 * file.  API paths are matched against routes[], which names the uiapi
 * request; the console's own session, CSRF and login live here, the
 * data in uiapi.c.  /api/peer/ID/... takes the same routes and sends the
 * request to that peer's bridge instead (peerlink.c); /api/peer/ID/login
 * answers that peer's login challenge with a proof of the password.
 *
 * Every connection has a struct wconn (made in make_bev, evhttp's bevcb)
 * that watches its first request head arrive, so that slow or hostile
 * connections cannot starve the others:
 *
 * - a connection whose first byte cannot start an HTTP request (a
 *   backup client pointed at the wrong port sends a binary frame, with
 *   no line end for evhttp to wait for) gets evhttp's 400 at once:
 *   head_bytes() puts a request line evhttp refuses in place of its
 *   bytes;
 * - one whose head is not complete within Server.HandshakeTimeout of
 *   the accept is closed (a sweep once a second);
 * - an address may have Server.MaxHandshakesPerAddress connections
 *   whose head is not complete, the console WEB_MAX_CONNS connections
 *   in all; more are closed at once (logged at most once a second).
 *
 * evhttp frees a connection's bufferevent without telling us, so a wconn
 * holds a reference to it: the sweep sees evhttp's callbacks gone from
 * it, and only then drops the reference and the wconn.
 *
 * A request that is answered later (the pool's state, a login delay, a
 * peer) keeps its struct hcall; if the browser goes away meanwhile, the
 * connection's close callback marks it dead and it is freed when the
 * answer comes, without touching the freed request.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "common/crypto.h"
#include "common/monotime.h"
#include "common/tls.h"
#include "admins.h"
#include "apitokens.h"
#include "child.h"
#include "config.h"
#include "listen.h"
#include "log.h"
#include "peerlink.h"
#include "uiapi.h"
#include "webauth.h"
#include "webhttp.h"
#include "webmetrics.h"
#include "wwwdata.h"

#define MAX_BODY	65536		/* refused with JSON up to */
#define MAX_BODY_READ	(1024 * 1024)	/* evhttp refuses beyond */
#define MAX_FILE	(16 * 1024 * 1024)
#define COOKIE		"gv_session"
#define HTTP_TIMEOUT_S	30
#define BAD_LINE	"BAD\r\n"	/* a request line evhttp answers with 400 */
#define WEB_MAX_CONNS	1024	/* console connections at once */

/* A console connection, while its bufferevent lives (see above). */
struct wconn {
	struct bufferevent *bev;	/* a reference of ours */
	struct sockaddr_storage ss;	/* the peer, once checked */
	int64_t		 accepted;	/* mono_ms() */
	int		 checked;	/* limits applied */
	int		 head;		/* first head in, refused or dropped */
	int		 started;	/* a byte other than CR, LF came */
	int		 eols;		/* line ends in a row */
	struct wconn	*next;
};

static struct {
	struct child_env *env;
	struct event_base *base;
	struct evhttp	*http;		/* plain, Ports.WebConsole */
	struct evhttp	*https;		/* Ports.WebConsoleSSL */
	char		 admins[PATH_MAX];
	char		 apitokens[PATH_MAX];	/* DataDir/apitokens */
	char		 root[PATH_MAX];	/* realpath of Root, or "" */
	char		 etags[64][40];		/* of the built-in files */
	struct wconn	*conns;
	int		 nconns;
	struct event	*check_ev;	/* new connections: apply the limits */
	struct event	*sweep_ev;	/* once a second */
	int64_t		 refused_log;	/* mono_ms() of the last refusal line */
	uint64_t	 refused;	/* since then */
} web;

/* One API request in progress. */
struct hcall {
	struct ui_call	 uc;		/* first: uiapi hands it back */
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	int		 https;
	int		 dead;		/* the browser went away */
	int		 waiting;	/* answered later */
	int		 bad_code;	/* the login's TOTP code was wrong */
	struct event	*timer;		/* the login delay */
	char		 session[WA_TOKEN_HEX + 1];
	char		 user[ADMIN_NAME_MAX + 1];
	/* The peer switch: the peer, and where discovery says it is. */
	char		 peer[SERVER_ID_HEX + 1];
	char		 addr[64];
	int		 port;
};

/* ------------------------------------------------------------ answers */

static void
common_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'self'; "
	    "img-src 'self' data:; frame-ancestors 'none'");
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 304: return "Not Modified";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Internal Server Error";
	}
}

/* Send body (stolen) as JSON with status. */
static void
send_json(struct evhttp_request *req, int status, json_t *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (out == NULL)
		fatal("%s", __func__);
	if (s == NULL) {
		status = 500;
		evbuffer_add_printf(out, "{\"error\":\"internal error\"}");
	} else {
		evbuffer_add(out, s, strlen(s));
		free(s);
	}
	evbuffer_add(out, "\n", 1);
	common_headers(req);
	evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, status, reason(status), out);
	evbuffer_free(out);
}

static void
send_error(struct evhttp_request *req, int status, const char *msg)
{
	send_json(req, status, uiapi_error("%s", msg));
}

static void
on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct hcall *h = arg;

	(void)evcon;
	h->dead = 1;
}

static void
hcall_free(struct hcall *h)
{
	if (h->timer != NULL)
		event_free(h->timer);
	json_decref(h->uc.args);
	free(h);
}

/* From now on h is answered later: watch for the browser leaving. */
static void
hcall_wait(struct hcall *h)
{
	h->waiting = 1;
	evhttp_connection_set_closecb(h->evcon, on_conn_close, h);
}

/* Answer h (if its browser is still there) and free it. */
static void
hcall_answer(struct hcall *h, int status, json_t *body)
{
	if (h->waiting && !h->dead)
		evhttp_connection_set_closecb(h->evcon, NULL, NULL);
	if (h->dead)
		json_decref(body);
	else
		send_json(h->req, status, body);
	hcall_free(h);
}

/* --------------------------------------------------------- the session */

/* The session cookie's value, or NULL. */
static const char *
cookie_session(struct evhttp_request *req, char out[WA_TOKEN_HEX + 1])
{
	const char *c = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Cookie");

	while (c != NULL && *c != '\0') {
		size_t n;

		c += strspn(c, " ;");
		n = strcspn(c, ";");
		if (n == strlen(COOKIE) + 1 + WA_TOKEN_HEX &&
		    strncmp(c, COOKIE "=", strlen(COOKIE) + 1) == 0) {
			memcpy(out, c + strlen(COOKIE) + 1, WA_TOKEN_HEX);
			out[WA_TOKEN_HEX] = '\0';
			return out;
		}
		c += n;
	}
	return NULL;
}

static struct wa_session *
session_of(struct evhttp_request *req)
{
	char id[WA_TOKEN_HEX + 1];

	return wa_find(cookie_session(req, id), 0);
}

static void
client_addr(struct evhttp_request *req, char *out, size_t len)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const char *addr = NULL;
	ev_uint16_t port;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, (char **)&addr, &port);
	snprintf(out, len, "%s", addr ? addr : "?");
}

static void
set_cookie(struct evhttp_request *req, const char *id, int https, int end)
{
	char v[256];

	snprintf(v, sizeof(v), COOKIE "=%s; Path=/; HttpOnly; "
	    "SameSite=Strict%s%s", end ? "" : id, https ? "; Secure" : "",
	    end ? "; Max-Age=0" : "");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Set-Cookie", v);
}

static json_t *
session_json(const struct wa_session *s)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "user", s->user, "csrf",
	    s->csrf, "server_id", uiapi_server_id(), "role",
	    admin_role_name(s->role));
}

/* A login's "user" and "password", or -1 after answering 400. */
static int
login_args(struct hcall *h, const char **user, const char **pw)
{
	*user = json_string_value(json_object_get(h->uc.args, "user"));
	*pw = json_string_value(json_object_get(h->uc.args, "password"));
	if (*user == NULL || *pw == NULL || !admin_name_valid(*user) ||
	    strlen(*pw) > ADMIN_PASS_MAX) {
		hcall_answer(h, 400, uiapi_error("login needs \"user\" (an "
		    "administrator name) and \"password\""));
		return -1;
	}
	return 0;
}

static void
login_answer(struct hcall *h)
{
	hcall_answer(h, 401, uiapi_error(h->bad_code ? "wrong or used code" :
	    "wrong name or password"));
}

static void
on_login_delay(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	login_answer(arg);
}

/*
 * POST /api/login.  A wrong name or password is answered after a delay
 * that grows with the failures from that address (webauth.h).  A user
 * with TOTP needs "code" too: the right password without one is
 * answered at once with 401 and "totp":true (so only who knows the
 * password learns that a code is needed), a wrong or used code like a
 * wrong password, after the delay.
 */
static void
api_login(struct hcall *h)
{
	const char *user, *pw, *code;
	struct wa_session *s;
	struct timeval tv;
	unsigned ms;
	int ok, t;

	if (login_args(h, &user, &pw) == -1)
		return;
	code = json_string_value(json_object_get(h->uc.args, "code"));
	if ((ok = admin_verify(web.admins, user, pw)) == -1) {
		hcall_answer(h, 500, uiapi_error("cannot check the password"));
		return;
	}
	if (ok == 1 && (t = admin_totp_check(web.admins, user, code,
	    (uint64_t)time(NULL))) != 1 && t != 2) {
		if (t == -1) {
			hcall_answer(h, 500, uiapi_error("cannot check the "
			    "code"));
			return;
		}
		if (code == NULL) {
			hcall_answer(h, 401, json_pack("{s:s, s:b}", "error",
			    "enter the code of your authenticator app", "totp",
			    1));
			return;
		}
		ok = 0;
		h->bad_code = 1;
	}
	if (ok == 0) {
		ms = wa_failed(h->uc.from);
		log_warnx("web console: login as %s from %s refused (answered "
		    "in %u ms)", user, h->uc.from, ms);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		if ((h->timer = evtimer_new(web.base, on_login_delay, h)) ==
		    NULL)
			fatal("%s", __func__);
		hcall_wait(h);
		evtimer_add(h->timer, &tv);
		return;
	}
	if ((s = wa_new(user, 0)) == NULL) {
		hcall_answer(h, 500, uiapi_error("no random numbers"));
		return;
	}
	wa_succeeded(h->uc.from);
	log_info("web console: %s logged in from %s", user, h->uc.from);
	set_cookie(h->req, s->id, h->https, 0);
	hcall_answer(h, 200, session_json(s));
}

/* ------------------------------------------------------------- routes */

static const struct route {
	enum evhttp_cmd_type method;
	const char	*path;		/* '*' is one segment: the name */
	const char	*request;
} routes[] = {
	{ EVHTTP_REQ_GET,	"hello",		"hello" },
	{ EVHTTP_REQ_GET,	"status",		"status" },
	{ EVHTTP_REQ_GET,	"dashboard",		"dashboard" },
	{ EVHTTP_REQ_GET,	"clients",		"clients" },
	{ EVHTTP_REQ_POST,	"clients",		"client_add" },
	{ EVHTTP_REQ_GET,	"clients/*",		"client" },
	{ EVHTTP_REQ_DELETE,	"clients/*",		"client_remove" },
	{ EVHTTP_REQ_POST,	"clients/*/disable",	"client_disable" },
	{ EVHTTP_REQ_POST,	"clients/*/enable",	"client_enable" },
	{ EVHTTP_REQ_GET,	"clients/*/history",	"client_history" },
	{ EVHTTP_REQ_POST,	"clients/*/backup",	"client_backup" },
	{ EVHTTP_REQ_GET,	"peers",		"peers" },
	{ EVHTTP_REQ_GET,	"housekeeping",		"housekeeping" },
	{ EVHTTP_REQ_POST,	"housekeeping/prune",	"prune_start" },
	{ EVHTTP_REQ_POST,	"housekeeping/scrub",	"scrub_start" },
	{ EVHTTP_REQ_GET,	"log",			"log" },
	/* uiactions.c */
	{ EVHTTP_REQ_GET,	"clients/*/policy",	"client_policy" },
	{ EVHTTP_REQ_POST,	"clients/*/policy",	"policy_set" },
	{ EVHTTP_REQ_POST,	"clients/*/policy/clear", "policy_clear" },
	{ EVHTTP_REQ_GET,	"clients/*/snapshot",	"snapshot" },
	{ EVHTTP_REQ_POST,	"clients/*/snapshot/protect",
	    "snapshot_protect" },
	{ EVHTTP_REQ_POST,	"clients/*/snapshot/unprotect",
	    "snapshot_unprotect" },
	{ EVHTTP_REQ_POST,	"clients/*/snapshot/forget", "snapshot_forget" },
	{ EVHTTP_REQ_POST,	"clients/*/token",	"client_token" },
	{ EVHTTP_REQ_POST,	"clients/*/allow-forget",
	    "client_allow_forget" },
	{ EVHTTP_REQ_POST,	"clients/*/deny-forget", "client_deny_forget" },
	{ EVHTTP_REQ_GET,	"history",		"history" },
	{ EVHTTP_REQ_GET,	"history/*",		"history_entry" },
	{ EVHTTP_REQ_GET,	"admins",		"admins" },
	{ EVHTTP_REQ_POST,	"admins",		"admin_add" },
	{ EVHTTP_REQ_DELETE,	"admins/*",		"admin_remove" },
	{ EVHTTP_REQ_POST,	"admins/*/role",	"admin_role" },
	{ EVHTTP_REQ_POST,	"admins/*/password",	"admin_passwd" },
	{ EVHTTP_REQ_POST,	"account/password",	"admin_passwd" },
	{ EVHTTP_REQ_GET,	"account/tokens",	"tokens" },
	{ EVHTTP_REQ_POST,	"account/tokens",	"token_create" },
	{ EVHTTP_REQ_DELETE,	"account/tokens/*",	"token_revoke" },
	{ EVHTTP_REQ_GET,	"account",		"account" },
	{ EVHTTP_REQ_POST,	"account/totp",		"totp_enroll" },
	{ EVHTTP_REQ_POST,	"account/totp/confirm",	"totp_confirm" },
	{ EVHTTP_REQ_POST,	"account/totp/disable",	"totp_disable" },
	{ EVHTTP_REQ_POST,	"admins/*/totp/disable", "totp_disable" },
	{ EVHTTP_REQ_POST,	"clients/*/browse",	"client_browse" },
	{ EVHTTP_REQ_GET,	"clients/*/answer",	"client_answer" },
	{ EVHTTP_REQ_POST,	"clients/*/restore",	"client_restore" },
};

/*
 * Match path (no leading slash) with pattern; the '*' segment goes to
 * name (at most namelen - 1 bytes).  1 when it matches.
 */
static int
route_match(const char *pattern, const char *path, char *name,
    size_t namelen)
{
	while (*pattern != '\0') {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= namelen)
				return 0;
			memcpy(name, path, n);
			name[n] = '\0';
			path += n;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return *path == '\0';
}

/*
 * The route for method and path: the request's name, with the name
 * segment in *args.  NULL with *status 404 or 405.
 */
static const char *
route_find(enum evhttp_cmd_type method, const char *path, json_t *args,
    int *status)
{
	char name[128];

	*status = 404;
	if (method == EVHTTP_REQ_HEAD)
		method = EVHTTP_REQ_GET;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		name[0] = '\0';
		if (!route_match(routes[i].path, path, name, sizeof(name)))
			continue;
		*status = 405;
		if (routes[i].method != method)
			continue;
		if (name[0] != '\0')
			json_object_set_new(args, "name", json_string(name));
		return routes[i].request;
	}
	return NULL;
}

/* ------------------------------------------------------ the peer switch */

static void
on_peer_reply(void *arg, int status, json_t *reply)
{
	struct hcall *h = arg;
	struct wa_session *s;

	if (status == 401 && !h->dead)
		json_object_set_new(reply, "peer_login", json_true());
	if (strcmp(h->uc.name, "login") == 0 && status == 200 &&
	    (s = wa_find(h->session, 0)) != NULL) {
		const char *tok = json_string_value(json_object_get(reply,
		    "token"));

		if (tok != NULL && strlen(tok) == WA_TOKEN_HEX) {
			wa_set_peer_token(s, h->peer, tok);
			json_object_del(reply, "token");	/* stays here */
			log_info("web console: %s logged in to peer %s",
			    s->user, h->peer);
		} else
			status = 502;
	}
	hcall_answer(h, status, reply);
}

/*
 * The peer's login challenge for h (POST /api/peer/ID/login, whose
 * body has the user and password): answer it with the proof that we
 * know the password (doc/webconsole.md).
 */
static void
on_peer_challenge(void *arg, int status, json_t *ch)
{
	struct hcall *h = arg;
	const char *user, *pw, *salt, *nonce, *sid;
	char proof[WA_TOKEN_HEX + 1];
	uint8_t key[ADMIN_KEY_LEN];
	struct admin_kdf kdf;
	json_t *req;

	if (status != 200) {
		on_peer_reply(h, status, ch);
		return;
	}
	user = json_string_value(json_object_get(h->uc.args, "user"));
	pw = json_string_value(json_object_get(h->uc.args, "password"));
	memset(&kdf, 0, sizeof(kdf));
	salt = json_string_value(json_object_get(ch, "salt"));
	nonce = json_string_value(json_object_get(ch, "nonce"));
	sid = json_string_value(json_object_get(ch, "server_id"));
	kdf.N = (uint64_t)json_integer_value(json_object_get(ch, "N"));
	kdf.r = (uint32_t)json_integer_value(json_object_get(ch, "r"));
	kdf.p = (uint32_t)json_integer_value(json_object_get(ch, "p"));
	if (salt == NULL || nonce == NULL || sid == NULL ||
	    strlen(salt) != 2 * ADMIN_SALT_LEN || strlen(nonce) !=
	    WA_TOKEN_HEX || strlen(sid) != 32 ||
	    hex_decode(salt, kdf.salt, ADMIN_SALT_LEN) == -1 ||
	    admin_derive(pw, &kdf, key) == -1) {
		json_decref(ch);
		on_peer_reply(h, 502, uiapi_error("the peer sent a bad login "
		    "challenge"));
		return;
	}
	wa_proof(key, nonce, sid, proof);
	crypto_wipe(key, sizeof(key));
	req = json_pack("{s:s, s:s, s:s, s:s}", "request", "login", "user",
	    user, "nonce", nonce, "proof", proof);
	/* A TOTP code for the peer's user, when the browser gave one. */
	if (json_is_string(json_object_get(h->uc.args, "code")))
		json_object_set(req, "code", json_object_get(h->uc.args,
		    "code"));
	json_decref(ch);
	peerlink_request(h->addr, h->port, req, PEERLINK_MAX_REPLY,
	    on_peer_reply, h);
	json_decref(req);
}

/* /api/peer/ID/rest for session s. */
static void
api_peer(struct hcall *h, struct wa_session *s, const char *rest,
    enum evhttp_cmd_type method)
{
	const char *name, *tok;
	int status;
	size_t n = strcspn(rest, "/");
	json_t *req;

	if (n != SERVER_ID_HEX || rest[n] != '/') {
		hcall_answer(h, 404, uiapi_error("no such peer"));
		return;
	}
	memcpy(h->peer, rest, n);
	h->peer[n] = '\0';
	rest += n + 1;
	snprintf(h->session, sizeof(h->session), "%s", s->id);
	if (uiapi_peer_where(h->peer, h->addr, sizeof(h->addr),
	    &h->port) != 1) {
		hcall_answer(h, 404, uiapi_error("discovery knows no peer %s",
		    h->peer));
		return;
	}
	if (strcmp(rest, "login") == 0) {
		const char *user, *pw;

		if (method != EVHTTP_REQ_POST) {
			hcall_answer(h, 405, uiapi_error("use POST"));
			return;
		}
		if (login_args(h, &user, &pw) == -1)
			return;
		h->uc.name = "login";
		hcall_wait(h);
		req = json_pack("{s:s, s:s}", "request", "login_challenge",
		    "user", user);
		peerlink_request(h->addr, h->port, req, PEERLINK_MAX_REPLY,
		    on_peer_challenge, h);
		json_decref(req);
		return;
	}
	if ((name = route_find(method, rest, h->uc.args, &status)) == NULL) {
		hcall_answer(h, status, uiapi_error(status == 404 ?
		    "no such API path" : "method not allowed"));
		return;
	}
	h->uc.name = name;
	json_object_set_new(h->uc.args, "request", json_string(name));
	if ((tok = wa_peer_token(s, h->peer)) != NULL)
		json_object_set_new(h->uc.args, "token", json_string(tok));
	hcall_wait(h);
	peerlink_request(h->addr, h->port, h->uc.args, PEERLINK_MAX_REPLY,
	    on_peer_reply, h);
}

/* ------------------------------------------------------------- the API */

static void
on_ui_done(struct ui_call *uc, int status, json_t *body)
{
	hcall_answer((struct hcall *)uc, status, body);
}

/* The JSON body of a request that changes state, as an object. */
static json_t *
read_body(struct evhttp_request *req, int *status, const char **why)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "Content-Type");
	json_error_t jerr;
	json_t *j;

	if (len == 0)
		return json_object();
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		*status = 415;
		*why = "send JSON (Content-Type: application/json)";
		return NULL;
	}
	if (len > MAX_BODY) {
		*status = 413;
		*why = "the body is too large";
		return NULL;
	}
	j = json_loadb((const char *)evbuffer_pullup(in, (ssize_t)len), len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		*status = 400;
		*why = "the body must be a JSON object";
		return NULL;
	}
	return j;
}

#define QUERY_MAX_ARGS	8	/* parameters of a GET's query */
#define QUERY_MAX_VALUE	256	/* bytes of one value */

/*
 * A GET's query parameters (GET /api/log?level=warning) as string
 * members of args, the way a POST's JSON body gives them: q is the
 * query as sent (name=value pairs split by "&", a trailing "&" allowed).
 * Names are 1 to 32 of [a-z_], as sent (not decoded), each once, never
 * one the router or the bridge sets ("request", "name", "token", "id");
 * values are percent-decoded ("+" is a space) to at most
 * QUERY_MAX_VALUE bytes of UTF-8 without a NUL (no "%00").  At most
 * QUERY_MAX_ARGS of them.  0, or -1 with what was wrong in why (400).
 */
static int
query_args(const char *q, json_t *args, char *why, size_t whylen)
{
	char *copy, *rest, *key, *raw, *val;
	size_t klen, vlen;
	int n = 0, rc = -1;
	json_t *v;

	if (q == NULL || q[0] == '\0')
		return 0;
	if ((copy = strdup(q)) == NULL)
		fatal("%s", __func__);
	rest = copy;
	while ((key = strsep(&rest, "&")) != NULL) {
		if (key[0] == '\0' && rest == NULL)
			break;		/* a trailing "&" */
		if (++n > QUERY_MAX_ARGS) {
			snprintf(why, whylen, "more than %d parameters",
			    QUERY_MAX_ARGS);
			goto out;
		}
		if ((raw = strchr(key, '=')) != NULL)
			*raw++ = '\0';
		klen = strlen(key);
		if (klen == 0 || klen > 32 ||
		    strspn(key, "abcdefghijklmnopqrstuvwxyz_") != klen) {
			snprintf(why, whylen, "parameter %d: a name is 1 to "
			    "32 of a-z and _, then =VALUE", n);
			goto out;
		}
		if (strcmp(key, "request") == 0 || strcmp(key, "name") == 0 ||
		    strcmp(key, "token") == 0 || strcmp(key, "id") == 0) {
			snprintf(why, whylen, "\"%s\" cannot be a parameter",
			    key);
			goto out;
		}
		if (raw == NULL) {
			snprintf(why, whylen, "\"%s\" has no value (write "
			    "%s=VALUE)", key, key);
			goto out;
		}
		if (json_object_get(args, key) != NULL) {
			snprintf(why, whylen, "\"%s\" is given twice", key);
			goto out;
		}
		if ((val = evhttp_uridecode(raw, 1, &vlen)) == NULL)
			fatal("%s", __func__);
		if (strlen(val) != vlen)
			snprintf(why, whylen, "the value of \"%s\" has a NUL "
			    "byte (%%00)", key);
		else if (vlen > QUERY_MAX_VALUE)
			snprintf(why, whylen, "the value of \"%s\" is longer "
			    "than %d bytes", key, QUERY_MAX_VALUE);
		else if ((v = json_string(val)) == NULL)
			snprintf(why, whylen, "the value of \"%s\" is not "
			    "UTF-8", key);
		else {
			json_object_set_new(args, key, v);
			free(val);
			continue;
		}
		free(val);
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* The query of req, or NULL when it has none. */
static const char *
query_of(struct evhttp_request *req)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);

	return u ? evhttp_uri_get_query(u) : NULL;
}

/*
 * The user and role of "Authorization: Bearer TOKEN" (apitokens.h):
 * 1 with user (ADMIN_NAME_MAX + 1 bytes) and *role set (the read-only
 * role for a token of scope "read"); 0 after answering h with 401 (not
 * a token, revoked, its user gone) or 500.
 */
static int
bearer_user(struct hcall *h, char *user, int *role)
{
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(
	    h->req), "Authorization");
	struct apitok t;
	uint64_t uid;
	int ok, r;

	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		hcall_answer(h, 401, uiapi_error("Authorization: use "
		    "\"Bearer TOKEN\" with an API token"));
		return 0;
	}
	auth += 7;
	auth += strspn(auth, " ");
	if ((ok = apitok_check(web.apitokens, auth, (uint64_t)time(NULL),
	    &t)) == -1) {
		hcall_answer(h, 500, uiapi_error("cannot read the API tokens "
		    "(see the log)"));
		return 0;
	}
	/* Its user's id too: a later user of the name is another one. */
	if (ok == 0 || (r = admin_whois(web.admins, t.user, &uid)) == -1 ||
	    uid != t.uid) {
		log_warnx("web console: a request from %s with an unknown or "
		    "revoked API token", h->uc.from);
		hcall_answer(h, 401, uiapi_error("the API token is not valid "
		    "(revoked?)"));
		return 0;
	}
	snprintf(user, ADMIN_NAME_MAX + 1, "%s", t.user);
	*role = t.scope == APITOK_FULL ? r : ADMIN_ROLE_OPERATOR;
	return 1;
}

/*
 * A request with an API token instead of a session: no cookie, so no
 * CSRF token either (a browser never sends the header on its own).  The
 * peer switch and logout need a session.
 */
static void
api_bearer(struct hcall *h, enum evhttp_cmd_type method, const char *path)
{
	const char *name;
	int status, role;

	if (!bearer_user(h, h->user, &role))
		return;
	if ((name = route_find(method, path, h->uc.args, &status)) == NULL) {
		hcall_answer(h, status, uiapi_error(status == 404 ?
		    "no such API path (with an API token)" :
		    "method not allowed"));
		return;
	}
	h->uc.user = h->user;
	h->uc.role = role;
	h->uc.bearer = 1;
	h->uc.name = name;
	hcall_wait(h);
	uiapi_call(&h->uc);
}

static void
api_request(struct evhttp_request *req, const char *path, int https)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	int reading = method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD;
	const char *why = NULL, *name = NULL, *csrf;
	struct wa_session *s;
	struct hcall *h;
	int status = 400;
	json_t *args;

	if (reading) {
		char qwhy[160], msg[200];

		args = json_object();
		if (query_args(query_of(req), args, qwhy, sizeof(qwhy)) ==
		    -1) {
			json_decref(args);
			snprintf(msg, sizeof(msg), "bad query: %s", qwhy);
			send_error(req, 400, msg);
			return;
		}
	} else if ((args = read_body(req, &status, &why)) == NULL) {
		send_error(req, status, why);
		return;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("%s", __func__);
	h->req = req;
	h->evcon = evhttp_request_get_connection(req);
	h->https = https;
	h->uc.args = args;
	h->uc.done = on_ui_done;
	client_addr(req, h->uc.from, sizeof(h->uc.from));

	if (strcmp(path, "login") == 0) {
		if (method != EVHTTP_REQ_POST)
			hcall_answer(h, 405, uiapi_error("use POST"));
		else
			api_login(h);
		return;
	}
	s = session_of(req);
	if (strcmp(path, "session") == 0 && reading) {
		int n = admin_count(web.admins);

		hcall_answer(h, s ? 200 : 401, s ? session_json(s) :
		    json_pack("{s:s, s:i}", "error", "login required",
		    "admins", n < 0 ? 0 : n));
		return;
	}
	if (strcmp(path, "hello") == 0 && reading) {
		h->uc.name = "hello";
		uiapi_call(&h->uc);
		return;
	}
	if (s == NULL && evhttp_find_header(evhttp_request_get_input_headers(
	    req), "Authorization") != NULL) {
		api_bearer(h, method, path);
		return;
	}
	if (s == NULL) {
		hcall_answer(h, 401, uiapi_error("login required"));
		return;
	}
	if (strncmp(path, "peer/", 5) != 0 && strcmp(path, "logout") != 0 &&
	    (name = route_find(method, path, args, &status)) == NULL) {
		hcall_answer(h, status, uiapi_error(status == 404 ?
		    "no such API path" : "method not allowed"));
		return;
	}
	csrf = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-CSRF-Token");
	if (!reading && !wa_csrf_ok(s, csrf)) {
		log_warnx("web console: %s from %s without the CSRF token",
		    path, h->uc.from);
		hcall_answer(h, 403, uiapi_error("missing or wrong "
		    "X-CSRF-Token"));
		return;
	}
	if (strcmp(path, "logout") == 0) {
		if (method != EVHTTP_REQ_POST) {
			hcall_answer(h, 405, uiapi_error("use POST"));
			return;
		}
		wa_end(s);
		set_cookie(req, "", https, 1);
		hcall_answer(h, 200, json_object());
		return;
	}
	if (strncmp(path, "peer/", 5) == 0) {
		api_peer(h, s, path + 5, method);
		return;
	}
	snprintf(h->user, sizeof(h->user), "%s", s->user);
	h->uc.user = h->user;
	h->uc.role = s->role;
	h->uc.name = name;
	hcall_wait(h);		/* status and dashboard answer later */
	uiapi_call(&h->uc);
}

/* --------------------------------------------------------- static files */

static const char *
content_type(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".json", "application/json; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/*
 * 1 when rel (no leading slash) may name a file: only [A-Za-z0-9._-/],
 * no empty segment, none starting with '.'.
 */
static int
path_ok(const char *rel)
{
	const char *seg = rel;

	if (*rel == '\0' || strlen(rel) > 255)
		return 0;
	for (const char *p = rel;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == seg || *seg == '.')
				return 0;
			if (*p == '\0')
				return 1;
			seg = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '.' &&
		    *p != '_' && *p != '-')
			return 0;
	}
}

static void
send_file(struct evhttp_request *req, const char *name, const void *data,
    size_t len, const char *etag)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *inm = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "If-None-Match");
	struct evbuffer *out;

	common_headers(req);
	evhttp_add_header(h, "ETag", etag);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		evhttp_send_reply(req, 304, reason(304), NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type", content_type(name));
	if ((out = evbuffer_new()) == NULL)
		fatal("%s", __func__);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(out, data, len);
	evhttp_send_reply(req, 200, reason(200), out);
	evbuffer_free(out);
}

static void
not_found(struct evhttp_request *req)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL)
		fatal("%s", __func__);
	evbuffer_add_printf(out, "not found\n");
	common_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	evhttp_send_reply(req, 404, reason(404), out);
	evbuffer_free(out);
}

/* From the folder WebConsole.Root: the file must resolve inside it. */
static void
static_from_root(struct evhttp_request *req, const char *rel)
{
	char path[PATH_MAX], real[PATH_MAX], etag[64];
	size_t rootlen = strlen(web.root);
	struct stat st;
	char *buf;
	ssize_t got;
	size_t len = 0;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", web.root, rel) >=
	    sizeof(path) || realpath(path, real) == NULL ||
	    strncmp(real, web.root, rootlen) != 0 || real[rootlen] != '/' ||
	    (fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1) {
		not_found(req);
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_FILE ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		not_found(req);
		return;
	}
	while (len < (size_t)st.st_size && (got = read(fd, buf + len,
	    (size_t)st.st_size - len)) > 0)
		len += (size_t)got;
	close(fd);
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"",
	    (unsigned long long)st.st_mtim.tv_sec,
	    (unsigned long long)st.st_size, (long)st.st_mtim.tv_nsec);
	send_file(req, real, buf, len, etag);
	free(buf);
}

static void
static_request(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const char *rel = path + 1;

	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		common_headers(req);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		evhttp_send_reply(req, 405, reason(405), NULL);
		return;
	}
	if (strcmp(path, "/") == 0)
		rel = "index.html";
	if (path[0] != '/' || !path_ok(rel)) {
		not_found(req);
		return;
	}
	if (web.root[0] != '\0') {
		static_from_root(req, rel);
		return;
	}
	for (size_t i = 0; i < www_nfiles && i < 64; i++)
		if (strcmp(www_files[i].name, rel) == 0) {
			send_file(req, rel, www_files[i].data, www_files[i].len,
			    web.etags[i]);
			return;
		}
	not_found(req);
}

/* ---------------------------------------------------------- dispatch */

static int
is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	    strncmp(addr, "::ffff:127.", 11) == 0;
}

/* 308 to the same path on HTTPS. */
static void
redirect_https(struct evhttp_request *req)
{
	const char *host = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "Host");
	const char *uri = evhttp_request_get_uri(req);
	char name[256], loc[1024];
	size_t n;

	if (host == NULL || strlen(host) >= sizeof(name) ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:[]") != strlen(host))
		host = "localhost";
	snprintf(name, sizeof(name), "%s", host);
	/* Drop the port: the HTTPS port replaces it. */
	if (name[0] == '[')
		n = strcspn(name, "]") + 1;
	else
		n = strcspn(name, ":");
	if (n < sizeof(name))
		name[n] = '\0';
	if (uri == NULL || uri[0] != '/' || strpbrk(uri, "\r\n") != NULL)
		uri = "/";
	snprintf(loc, sizeof(loc), "https://%s:%d%s", name,
	    web.env->cfg->port.webconsole_ssl, uri);
	common_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
	    loc);
	evhttp_send_reply(req, 308, reason(308), NULL);
}

/*
 * GET /metrics (WebConsole.Metrics = 1): the Prometheus text of
 * webmetrics.h to a request with an API token of either scope; without
 * one 401, as the API.
 */
static void
metrics_request(struct evhttp_request *req)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(req);
	struct evbuffer *buf;
	struct hcall *h;
	char *text;
	int role;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("%s", __func__);
	h->req = req;
	h->evcon = evhttp_request_get_connection(req);
	h->uc.args = json_object();
	client_addr(req, h->uc.from, sizeof(h->uc.from));
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		hcall_answer(h, 405, uiapi_error("use GET"));
		return;
	}
	if (!bearer_user(h, h->user, &role))
		return;
	if ((text = webmetrics_text(web.env->cfg)) == NULL) {
		hcall_answer(h, 500, uiapi_error("cannot read the catalog (see "
		    "the log)"));
		return;
	}
	if ((buf = evbuffer_new()) == NULL)
		fatal("%s", __func__);
	if (method == EVHTTP_REQ_GET)
		evbuffer_add(buf, text, strlen(text));
	common_headers(req);
	evhttp_add_header(hdrs, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(hdrs, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
	free(text);
	hcall_free(h);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	int https = arg != NULL;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *raw = u ? evhttp_uri_get_path(u) : NULL;
	char addr[64], *path;
	size_t len;

	if (!https) {
		client_addr(req, addr, sizeof(addr));
		if (web.env->cfg->web_http == WEB_HTTP_REDIRECT ||
		    (web.env->cfg->web_http == WEB_HTTP_LOCAL &&
		    !is_loopback(addr))) {
			redirect_https(req);
			return;
		}
	}
	if (raw == NULL || raw[0] != '/' ||
	    (path = evhttp_uridecode(raw, 0, &len)) == NULL) {
		not_found(req);
		return;
	}
	if (strlen(path) != len)	/* a %00 */
		not_found(req);
	else if (strncmp(path, "/api/", 5) == 0)
		api_request(req, path + 5, https);
	else if (strcmp(path, "/metrics") == 0 && web.env->cfg->web_metrics)
		metrics_request(req);
	else
		static_request(req, path);
	free(path);
}

int
webhttp_parse(struct evhttp_request *req, char *what, size_t whatlen)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *raw = u ? evhttp_uri_get_path(u) : NULL;
	const char *name, *why = NULL, *rel;
	char id[WA_TOKEN_HEX + 1], *path;
	int status = 404;
	json_t *args;
	size_t len;

	snprintf(what, whatlen, "not found");
	if (raw == NULL || raw[0] != '/' ||
	    (path = evhttp_uridecode(raw, 0, &len)) == NULL)
		return status;
	if (strlen(path) != len)	/* a %00 */
		goto out;
	if (strncmp(path, "/api/", 5) != 0) {
		rel = strcmp(path, "/") == 0 ? "index.html" : path + 1;
		if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
			status = 405;
		else if (path_ok(rel)) {
			snprintf(what, whatlen, "file %s", rel);
			status = 200;
		}
		goto out;
	}
	if (cookie_session(req, id) != NULL)
		snprintf(what, whatlen, "session %s", id);
	if (method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD) {
		char qwhy[160];

		args = json_object();
		if (query_args(query_of(req), args, qwhy, sizeof(qwhy)) ==
		    -1) {
			json_decref(args);
			status = 400;
			snprintf(what, whatlen, "bad query: %s", qwhy);
			goto out;
		}
	} else if ((args = read_body(req, &status, &why)) == NULL) {
		snprintf(what, whatlen, "%s", why);
		goto out;
	}
	if ((name = route_find(method, path + 5, args, &status)) != NULL) {
		snprintf(what, whatlen, "request %s", name);
		status = 200;
	}
	json_decref(args);
out:
	free(path);
	return status;
}

/* ------------------------------------------------------- connections */

/* Has evhttp freed wc's bufferevent (only our reference keeps it)? */
static int
wconn_gone(const struct wconn *wc)
{
	bufferevent_data_cb r, w;
	bufferevent_event_cb e;

	bufferevent_getcb(wc->bev, &r, &w, &e, NULL);
	return r == NULL && w == NULL && e == NULL;
}

static void	head_bytes(struct evbuffer *, const struct evbuffer_cb_info *,
		    void *);

/* wc's first head is complete, or will never be. */
static void
head_done(struct wconn *wc)
{
	wc->head = 1;
}

/* wc's bufferevent is going: head_bytes() must not outlive wc. */
static void
wconn_free(struct wconn *wc)
{
	evbuffer_remove_cb(bufferevent_get_input(wc->bev), head_bytes, wc);
	bufferevent_decref(wc->bev);
	free(wc);
}

/* Make evhttp drop wc's connection (after this callback). */
static void
wconn_drop(struct wconn *wc)
{
	head_done(wc);
	bufferevent_trigger_event(wc->bev, BEV_EVENT_READING |
	    BEV_EVENT_TIMEOUT, BEV_TRIG_DEFER_CALLBACKS);
}

static void
wconn_refuse(struct wconn *wc, const char *why)
{
	int64_t now = mono_ms();
	char host[64];

	wconn_drop(wc);
	if (web.refused_log != 0 && now - web.refused_log < 1000) {
		web.refused++;
		return;
	}
	if (getnameinfo((struct sockaddr *)&wc->ss, sizeof(wc->ss), host,
	    sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "unknown");
	log_warnx("web console: connection from %s closed: %s; %llu more "
	    "closed since the last such message", host, why,
	    (unsigned long long)web.refused);
	web.refused_log = now;
	web.refused = 0;
}

/*
 * Bytes added to a connection's input before its first head is
 * complete: the first byte other than CR and LF must start a method
 * (A-Z), else the bytes become BAD_LINE, which evhttp answers with 400
 * and a close at once; an empty line after the request line ends the
 * head.
 */
static void
head_bytes(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct wconn *wc = arg;
	struct evbuffer_iovec v[16];
	struct evbuffer_ptr pos;
	int n;

	/*
	 * Freed by evhttp, kept by our reference until the sweep: read no
	 * more into it.
	 */
	if (wconn_gone(wc)) {
		bufferevent_disable(wc->bev, EV_READ | EV_WRITE);
		if (evbuffer_get_length(buf) > 0)
			evbuffer_drain(buf, evbuffer_get_length(buf));
		return;
	}
	if (info->n_added == 0 || wc->head)
		return;
	if (evbuffer_ptr_set(buf, &pos, info->orig_size,
	    EVBUFFER_PTR_SET) == -1)
		return;
	n = evbuffer_peek(buf, (ev_ssize_t)info->n_added, &pos, v, 16);
	for (int i = 0; i < n && i < 16 && !wc->head; i++) {
		const unsigned char *p = v[i].iov_base;

		for (size_t j = 0; j < v[i].iov_len && !wc->head; j++) {
			if (!wc->started && (p[j] == '\r' || p[j] == '\n'))
				continue;
			if (!wc->started && (p[j] < 'A' || p[j] > 'Z')) {
				/* No method starts so: a 400, now. */
				head_done(wc);
				evbuffer_drain(buf, evbuffer_get_length(buf));
				evbuffer_add(buf, BAD_LINE,
				    sizeof(BAD_LINE) - 1);
				return;
			}
			wc->started = 1;
			if (p[j] == '\n') {
				if (++wc->eols == 2)
					head_done(wc);
			} else if (p[j] != '\r')
				wc->eols = 0;
		}
	}
}

/*
 * Run after evhttp's accept callbacks (which give each new bufferevent
 * its descriptor): the limits on every connection not checked yet.
 */
static void
on_check(evutil_socket_t fd, short what, void *arg)
{
	const struct gv_config *cfg = web.env->cfg;

	(void)fd;
	(void)what;
	(void)arg;
	for (struct wconn *wc = web.conns; wc != NULL; wc = wc->next) {
		socklen_t sslen = sizeof(wc->ss);
		int k = 0;

		if (wc->checked)
			continue;
		wc->checked = 1;
		if (wconn_gone(wc) || getpeername(bufferevent_getfd(wc->bev),
		    (struct sockaddr *)&wc->ss, &sslen) == -1)
			continue;
		if (web.nconns > WEB_MAX_CONNS) {
			wconn_refuse(wc, "too many console connections");
			continue;
		}
		for (struct wconn *o = web.conns; o != NULL; o = o->next)
			if (o != wc && o->checked && !o->head &&
			    listen_same_host(&o->ss, &wc->ss))
				k++;
		if (!wc->head && k >= cfg->max_handshakes_per_addr)
			wconn_refuse(wc, "too many connections from that "
			    "address still sending their request "
			    "(Server.MaxHandshakesPerAddress)");
	}
}

/* Once a second: forget what evhttp freed, drop heads overdue. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	int64_t limit = mono_ms() - web.env->cfg->handshake_timeout * 1000L;
	struct wconn **pp = &web.conns, *wc;

	(void)fd;
	(void)what;
	(void)arg;
	while ((wc = *pp) != NULL) {
		if (wconn_gone(wc)) {
			*pp = wc->next;
			wconn_free(wc);
			web.nconns--;
			continue;
		}
		if (!wc->head && wc->accepted < limit) {
			log_debug("web console: request head not complete "
			    "after %d s; connection closed",
			    web.env->cfg->handshake_timeout);
			wconn_drop(wc);
		}
		pp = &wc->next;
	}
}

/*
 * evhttp's bevcb: a new connection's bufferevent, over TLS when tls is
 * not NULL, with its struct wconn.
 */
static struct bufferevent *
make_bev(struct event_base *base, void *tls)
{
	struct bufferevent *bev;
	struct ssl_st *ssl;
	struct wconn *wc;

	if (tls != NULL) {
		if ((ssl = tls_ssl_new(tls)) == NULL)
			return NULL;
		bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	} else
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;
	if ((wc = calloc(1, sizeof(*wc))) == NULL ||
	    evbuffer_add_cb(bufferevent_get_input(bev), head_bytes, wc) ==
	    NULL) {
		free(wc);
		bufferevent_free(bev);
		return NULL;
	}
	wc->bev = bev;
	bufferevent_incref(bev);
	wc->accepted = mono_ms();
	wc->next = web.conns;
	web.conns = wc;
	web.nconns++;
	event_active(web.check_ev, EV_TIMEOUT, 1);
	return bev;
}

static struct evhttp *
http_new(int https)
{
	struct evhttp *h = evhttp_new(web.base);

	if (h == NULL)
		fatalx("%s: evhttp_new", __func__);
	evhttp_set_gencb(h, on_request, https ? (void *)1 : NULL);
	evhttp_set_max_body_size(h, MAX_BODY_READ);
	evhttp_set_max_headers_size(h, 16384);
	evhttp_set_timeout(h, HTTP_TIMEOUT_S);
	/* Others get 405 from us, in JSON under /api/. */
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_bevcb(h, make_bev, https ? web.env->cfg->web_tls : NULL);
	return h;
}

void
webhttp_init(struct child_env *env, struct event_base *base)
{
	const struct gv_config *cfg = env->cfg;
	uint8_t sum[CRYPTO_HASH_LEN];
	char hex[2 * CRYPTO_HASH_LEN + 1];

	web.env = env;
	web.base = base;
	snprintf(web.admins, sizeof(web.admins), "%s/%s", cfg->datadir,
	    ADMIN_FILE);
	snprintf(web.apitokens, sizeof(web.apitokens), "%s/%s", cfg->datadir,
	    APITOK_FILE);
	wa_init(cfg->web_session_timeout, web.admins);
	peerlink_init(base);
	for (size_t i = 0; i < www_nfiles && i < 64; i++) {
		crypto_sha256(www_files[i].data, www_files[i].len, sum);
		hex_encode(sum, 8, hex);
		snprintf(web.etags[i], sizeof(web.etags[i]), "\"%.16s\"", hex);
	}
	if (cfg->web_root[0] != '\0' && realpath(cfg->web_root, web.root) ==
	    NULL) {
		log_warn("web console: WebConsole.Root %s", cfg->web_root);
		snprintf(web.root, sizeof(web.root), "%s", cfg->web_root);
	}
	web.check_ev = event_new(base, -1, 0, on_check, NULL);
	web.sweep_ev = event_new(base, -1, EV_PERSIST, on_sweep, NULL);
	if (web.check_ev == NULL || web.sweep_ev == NULL ||
	    event_add(web.sweep_ev, &(struct timeval){ 1, 0 }) == -1)
		fatalx("%s: event setup", __func__);
	for (size_t i = 0; i < env->listeners->n; i++) {
		struct listener *l = &env->listeners->l[i];
		struct evhttp **hp;

		if (l->fd == -1 || (l->svc != SVC_WEB && l->svc != SVC_WEBSSL))
			continue;
		if (l->svc == SVC_WEBSSL && cfg->web_tls == NULL)
			continue;
		hp = l->svc == SVC_WEB ? &web.http : &web.https;
		if (*hp == NULL)
			*hp = http_new(l->svc == SVC_WEBSSL);
		if (evhttp_accept_socket_with_handle(*hp, l->fd) == NULL)
			fatalx("%s: evhttp_accept_socket", __func__);
		l->fd = -1;	/* evhttp's now */
	}
}

void
webhttp_stop(void)
{
	peerlink_stop();
	if (web.http != NULL)
		evhttp_free(web.http);
	if (web.https != NULL)
		evhttp_free(web.https);
	web.http = web.https = NULL;
	/* evhttp freed every connection: our references go too. */
	while (web.conns != NULL) {
		struct wconn *wc = web.conns;

		web.conns = wc->next;
		wconn_free(wc);
	}
	web.nconns = 0;
	if (web.check_ev != NULL)
		event_free(web.check_ev);
	if (web.sweep_ev != NULL)
		event_free(web.sweep_ev);
	web.check_ev = web.sweep_ev = NULL;
}
