/*
 * agentpoll.h - the agent's session with its server: every PollInterval
 * seconds (and soon after each run), a forked child opens one session
 * with the client's code (client_session()), sends every report of the
 * outbox (remote_job_report(), each file removed once the server took
 * it), then tells the server the jobs and takes the requests queued for
 * this client (remote_agent_poll()).  It answers a browse request
 * itself, in the same session (browse.h), and the answers the agent
 * left for it (apoll_answer()).  It writes each request back as a
 * line "REQ ID KIND SET" on a pipe (a restore's checked args before it
 * as "ARG TEXT" lines, cut to fit), anything else it has to say (its
 * standard error) as other lines, and "DONE" when all went well.  The
 * agent polls rather than keeping a connection open: the server needs
 * no way to reach the client, and a "back up now" starts within
 * PollInterval seconds (gigavault-agent(8)).
 */
#ifndef GV_AGENTPOLL_H
#define GV_AGENTPOLL_H

#include <stddef.h>
#include <stdint.h>

#include "client/remote.h"

#define APOLL_LINE_MAX		512	/* bytes of a poll's error */
#define APOLL_TIMEOUT_S		120	/* then a poll is killed */

struct event_base;
struct apoll;
struct json_t;

struct apoll_conf {
	const char	*conffile;	/* client.conf */
	const char	*passfile;	/* Agent.PassphraseFile, or NULL */
	const char	*name;		/* the agent's name */
	const char	*outbox;	/* agentstate.h's outbox directory */
	/* The jobs to tell (as jobs_poll_list()). */
	int		(*jobs)(void *arg, struct remote_agent_job **out,
			    size_t *n);
	/* A request the server handed out. */
	void		(*request)(void *arg,
			    const struct remote_agent_request *);
	/* A poll ended (ok: it went through) and no other follows it. */
	void		(*ended)(void *arg, int ok);
	void		*arg;
};

/* A poller on base (c is copied, its strings too).  NULL: no memory. */
struct apoll *apoll_new(struct event_base *base, const struct apoll_conf *c);
/* Poll now, or right after the poll under way ends. */
void	apoll_now(struct apoll *);
/* A poll is under way. */
int	apoll_busy(const struct apoll *);
/*
 * {"last_poll": T, "last_ok": T, "last_error": "..." or null}; NULL when
 * memory runs out.  The caller owns it.
 */
struct json_t *apoll_json(const struct apoll *);
/*
 * Keep an answer (status, JSON text) to request id for the next poll
 * to send: a restore refused, or one that ended without answering.
 * At most APOLL_ANSWERS wait (the oldest is dropped).
 */
#define APOLL_ANSWERS		16
void	apoll_answer(struct apoll *, uint64_t id, int status,
	    const char *json);
/* Kill a poll under way (SIGKILL) and free. */
void	apoll_free(struct apoll *);

#endif
