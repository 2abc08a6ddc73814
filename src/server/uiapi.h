/*
 * uiapi.h - what the UI bridge child answers: one table of requests
 * (doc/webconsole.md), each with the level it needs, served the same
 * way to the JSON-lines bridge (uibridge.c), the web console's HTTP API
 * (webhttp.c) and, through them, to other peers' consoles.  Handlers
 * read the catalog (opened on first use, in this child), the
 * housekeeping status file and the log; the pool's state comes from the
 * supervisor.
 */
#ifndef GV_UIAPI_H
#define GV_UIAPI_H

#include <jansson.h>

struct child_env;
struct event_base;
struct imsg_lease;
struct imsg_status;
struct ui_call;

/* Called once with the outcome: status is HTTP-like (200, 201, 202,
 * 400, 401, 404, 409, 500, 503); body is stolen (an object; for errors
 * {"error":"..."}). */
typedef void ui_done_fn(struct ui_call *, int status, json_t *body);

/*
 * Who may ask.  Besides the level, a request that writes (write=1 in
 * the table) needs the administrator role (ADMIN_ROLE_ADMIN, admins.h)
 * at every level but UI_SELF: a read-only operator gets 403.  A call
 * made with an API token (apitokens.h) has its user's role, or the
 * read-only one for a token of scope "read", and may not write at
 * UI_SELF (changing an account needs a login).
 */
enum ui_level {
	UI_PUBLIC,	/* anyone: what discovery and the peer switch need */
	UI_ADMIN,	/* a logged-in user of either role */
	UI_SELF,	/* a logged-in user, about the own account (may write) */
	UI_MANAGE,	/* the administrator role: managing administrators */
};

struct ui_call {
	const char	*name;		/* the request, e.g. "clients" */
	json_t		*args;		/* the request's object (a reference) */
	const char	*user;		/* the administrator, or NULL */
	int		 role;		/* user's enum admin_role (0: read-only) */
	int		 bearer;	/* by an API token, not a login */
	char		 from[64];	/* the asker's address, for logs */
	int		 write;		/* filled in: it changes state */
	ui_done_fn	*done;
	void		*arg;		/* the transport's */
	/* uiapi's own: */
	int		 cancelled;
	struct ui_call	*next;
};

void	uiapi_init(struct child_env *, struct event_base *);
void	uiapi_free(void);

/*
 * The level request name needs, or -1 when there is no such request.
 * *write (may be NULL) says whether it changes state (CSRF applies).
 */
int	uiapi_level(const char *name, int *write);

/*
 * Parse one line of the UI bridge (len bytes, without its newline): a
 * JSON object whose "request" is a string naming a request.  Returns 0
 * with *req the object; else 400 (not JSON, not an object, no
 * "request") or 404 (no such request) with the reason in err and *req
 * the object when it is one (for its "id"), else NULL.  The caller owns
 * *req (json_decref()).  Pure: the fuzzing harness calls it on any bytes.
 */
int	uiapi_parse_line(const char *line, size_t len, json_t **req,
	    char *err, size_t errlen);

/*
 * Run c (c->name must exist: check with uiapi_level()).  c->done is
 * called exactly once, before this returns or later (requests that ask
 * the supervisor); a call without the login it needs gets 401, one
 * without the role it needs 403.  The
 * caller owns c and may free it in or after done.  When the transport
 * goes away before done, it calls uiapi_cancel(c) instead of freeing c:
 * done will not be called and uiapi frees c (and c->args).
 */
void	uiapi_call(struct ui_call *c);
void	uiapi_cancel(struct ui_call *c);

/* An error body {"error": printf-formatted text}. */
json_t *uiapi_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * The console's log (request "log"): the last UIAPI_LOG_KEEP lines that
 * any gigavaultd process logged, whatever Log.File says, and the last
 * UIAPI_LOG_KEEP_SEVERE warnings and errors among them (which a flood of
 * debug lines cannot push out), kept in this child's memory (lost when
 * the bridge restarts).  uibridge.c passes every record read from
 * log.h's sink, len bytes as received (it may be longer than
 * LOG_SINK_REC_MAX: then, or when it is not a level byte and text nor a
 * LOG_SINK_DROPS record, it is counted as malformed and dropped).  The
 * counts of LOG_SINK_DROPS records add up to the reply's "dropped".
 */
#define UIAPI_LOG_KEEP		1000
#define UIAPI_LOG_KEEP_SEVERE	200
void	uiapi_log_record(const void *rec, size_t len);

/* The supervisor's STATUS_REPLY (uibridge.c reads the pipe). */
void	uiapi_on_status(const struct imsg_status *);
/* The supervisor's LEASE (Store.Backend = s3): kept for "status". */
void	uiapi_on_lease(const struct imsg_lease *);
/* Stop: answer the waiters with 503. */
void	uiapi_stop(void);

/*
 * Where to reach peer id (32 hex digits) as discovery lists it: its
 * first address and UI port.  1 found, 0 not (or aged out), -1 error.
 */
int	uiapi_peer_where(const char *id, char *addr, size_t len, int *port);

/* This server's id (32 hex digits). */
const char *uiapi_server_id(void);

#endif
