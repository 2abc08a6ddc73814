/*
 * browse.h - the server's browse and restore requests (protocol
 * version 5, doc/protocol.md "Browsing and restoring through the
 * agent"), done with the client's code and keys: their args (JSON from
 * the server, at most REMOTE_REQ_ARGS_MAX bytes, every field checked
 * here), a browse's answer (one page of one directory of a snapshot, as
 * `gigavault ls` reads it), and a restore's body for run.c (what
 * `gigavault restore` does, with the paths and target the request
 * names).  The server cannot read a snapshot; the agent can.
 */
#ifndef GV_BROWSE_H
#define GV_BROWSE_H

#include <stddef.h>
#include <stdint.h>

#include "client/client.h"
#include "client/clientconf.h"
#include "client/remote.h"

#define BROWSE_PATH_MAX		1024	/* bytes of a path in args */
#define BROWSE_RESTORE_PATHS	64	/* paths one restore may name */
/* A mail set's ".mailbox" (doc/mail.md) read for a listing, at most. */
#define BROWSE_MAILBOX_MAX	(16u * 1024 * 1024)
/*
 * Bytes kept of each string a ".mailbox" gives a listing (the mailbox's
 * name, a message's From, Subject, Date and flags): the mail helper
 * keeps at most MAILSRC_HDR_MAX (1000) of a header, but a .mailbox is
 * a file of the snapshot and may hold anything.
 */
#define BROWSE_MAIL_FIELD_MAX	1000
/* Bytes of one page's JSON: an answer, with room to spare. */
#define BROWSE_PAGE_MAX		(REMOTE_ANSWER_MAX - 1024)

enum browse_where {
	BROWSE_ORIGINAL		= 0,	/* where it was, existing files kept */
	BROWSE_OVERWRITE	= 1,	/* where it was, existing replaced */
	BROWSE_DIRECTORY	= 2,	/* under dir */
};

/* A browse request's args: {"snapshot": N, "path": P, "offset": O}. */
struct browse_args {
	uint64_t	 snapshot;
	char		 path[BROWSE_PATH_MAX + 1];	/* normalized, "" root */
	uint32_t	 offset;	/* the first entry of the page */
};

/*
 * A restore request's args: {"snapshot": N, "paths": [P, ...],
 * "where": "original" | "overwrite" | "directory", "dir": D}.
 */
struct restore_args {
	uint64_t	 snapshot;
	char		 set[65];
	char		*paths[BROWSE_RESTORE_PATHS + 1];	/* NULL-ended,
						   normalized: "" is "/" */
	int		 npaths;
	int		 where;		/* enum browse_where */
	char		 dir[BROWSE_PATH_MAX + 1];	/* "/" unless DIRECTORY */
	uint64_t	 request;
	char		*passfile;	/* Agent.PassphraseFile, or NULL */
	int		 allow;		/* Agent.AllowRestore */
};

/*
 * Parse and check args.  0, or -1 with err set to what is wrong
 * ("args: \"path\" must be a string of at most 1024 bytes").  A
 * restore_args owns its paths: restore_args_free().
 */
int	browse_args_parse(const char *args, struct browse_args *, char *err,
	    size_t errlen);
int	restore_args_parse(const char *args, struct restore_args *,
	    char *err, size_t errlen);
void	restore_args_free(struct restore_args *);

/*
 * Whether an agent whose Agent.AllowRestore is allow
 * (CLIENTCONF_RESTORE_*) takes restore ra: 0, or -1 with err set to
 * why not (none: no restore; target: "where" must be "directory").
 * That target is new or empty and no symbolic link is checked when the
 * restore runs (restore_body()).
 */
int	restore_args_allowed(const struct restore_args *ra, int allow,
	    char *err, size_t errlen);

/*
 * Answer browse request rq over c's session (client_setup(),
 * client_keys() and client_session() done): one page of the directory,
 * as JSON {"snapshot", "set", "path", "offset", "total", "entries":
 * [{"name", "type", "size", "mtime", "mode"}, ...], "truncated",
 * "next"} (next: the offset of the next page, when truncated; every
 * page holds at least one entry; in a mail set's mailbox directory,
 * one with a ".mailbox" whose other files are all named
 * UIDVALIDITY-UID, also "mailbox": {"name"} and each message file's
 * "from", "subject", "date_header" and "flags" from it, each cut to
 * BROWSE_MAIL_FIELD_MAX bytes), or {"error": "..."} with status failed
 * (also when an answer would be larger than REMOTE_ANSWER_MAX).  0 when the answer was sent, -1
 * with err set when the session failed.
 */
int	browse_answer(struct client *c, const struct remote_agent_request *rq,
	    char *err, size_t errlen);

/*
 * Send request's answer as JSON o (which this steals) with status; one
 * larger than REMOTE_ANSWER_MAX is sent as {"error": "..."} with status
 * failed instead, so that the session goes on.  0, or -1 with err set
 * (the session failed, or memory ran out).
 */
struct json_t;
int	browse_send(struct client *c, uint64_t request, int status,
	    struct json_t *o, char *err, size_t errlen);

/*
 * A run's body (run.h's run_spec.body) for restore args ra: restore
 * ra's paths of its snapshot (c set up with the agent's config) to
 * where it says, then answer the request with {"files", "dirs",
 * "bytes", "problems", "error"}.  Returns 0 (all restored), 1 (with
 * problems), 2 (failed), or BROWSE_UNANSWERED when it could not answer
 * (no session, or the answer was not taken; the last line it printed
 * says why), so that the agent answers for it.
 */
#define BROWSE_UNANSWERED	3
int	restore_body(struct client *c, void *ra);

#endif
