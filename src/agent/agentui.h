/*
 * agentui.h - the agent's UI port (the client's Ports.UI, 32005): JSON
 * lines as on the server's UI bridge (doc/protocol.md, "UI bridge"),
 * one table of requests: hello, status, jobs, history, run, cancel
 * (gigavault-agent(8) shows each).  It listens on Agent.UIListen
 * (loopback by default); with Agent.UITokenFile set, every request but
 * hello must carry "token" equal to that file's token, as the server's
 * bridge wants the token of a login.
 */
#ifndef GV_AGENTUI_H
#define GV_AGENTUI_H

#include <stddef.h>
#include <stdint.h>

#define AGENTUI_LINE_MAX	65536	/* bytes of a request line */
#define AGENTUI_CONNS_MAX	64	/* connections at once */
#define AGENTUI_IDLE_S		300	/* an idle connection closes */
#define AGENTUI_TOKEN_MAX	256	/* bytes of the token */

struct event_base;
struct agentui;
struct jobs;
struct astate;
struct apoll;

struct agentui_conf {
	char * const	*listen;	/* addresses */
	size_t		 nlisten;
	int		 listen_default; /* the default list: see agentui_start */
	int		 port;
	const char	*token;		/* "" or NULL: none needed */
	/* What status shows. */
	const char	*name;
	const char	*conffile;
	const char	*server;	/* "" when the registration's */
	int64_t		 started;	/* Unix seconds */
	struct jobs	*jobs;
	struct astate	*state;
	struct apoll	*poll;
	/*
	 * "cancel" of a set without a run of its job: cancel the restore
	 * of that set the server asked for (browse.h), 0, or -1 when none
	 * runs.  NULL: none.
	 */
	int		(*restore_cancel)(void *arg, const char *set);
	void		*restore_arg;
};

/*
 * Listen on every address of c (what c points at must outlive the
 * handle).  The handle, or NULL with err set ("ADDR port P: reason").
 */
struct agentui *agentui_start(struct event_base *base,
	    const struct agentui_conf *c, char *err, size_t errlen);
/* Take c's jobs, poll and token after a reload (copied as above). */
void	agentui_update(struct agentui *, const struct agentui_conf *c);
/*
 * Decode one request line (len bytes, without its newline) as the UI
 * port does before it answers: a JSON object whose string "request"
 * names a row of the table, with "token" equal to token when token is
 * not NULL or "" (but for hello), and "set" (a set name) and "limit"
 * (1..ASTATE_HISTORY_MAX) valid when present.  Returns 0 with *name the
 * request's name (static); else 400, 401 or 404 with err set.  *req is
 * the object whenever the line was one (also on an error, for its "id";
 * the caller json_decref()s it), else NULL.
 */
struct json_t;
int	agentui_parse_line(const char *line, size_t len, const char *token,
	    struct json_t **req, const char **name, char *err, size_t errlen);
/* Close the listeners and every connection. */
void	agentui_stop(struct agentui *);

#endif
