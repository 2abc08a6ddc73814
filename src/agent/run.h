/*
 * run.h - one run of a job: a child process (forked, not exec'ed) that
 * runs the PreCommand, then the client's own backup (cmd_backup() with
 * "--set SET -q", the job's limits in struct client), then the
 * PostCommand, and sends back what happened over a pipe; its standard
 * error comes back over another pipe, each line logged and the last
 * before the PostCommand kept as the run's error text (made valid UTF-8
 * by text_clean()).  The child (named "gv-agent-run") leads a session
 * of its own; each command leads a process group of its own, which the
 * child stops (SIGTERM, SIGKILL 2 s later) and reaps when the child is
 * sent SIGTERM, SIGINT or SIGHUP, before it ends by that signal.
 */
#ifndef GV_RUN_H
#define GV_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client/client.h"
#include "client/remote.h"

#define RUN_LOG_LINES	200	/* stderr lines a run logs, at most */

struct event_base;
struct run;

struct run_spec {
	const char	*conffile;	/* client.conf, the agent's */
	const char	*set;
	const char	*passfile;	/* Agent.PassphraseFile, or NULL */
	uint64_t	 limit_up;	/* bytes/s, 0: none */
	uint64_t	 limit_down;
	const char	*pre;		/* PreCommand, "" or NULL */
	const char	*post;		/* PostCommand */
	int		 timeout;	/* CommandTimeout, seconds */
	int		 pre_continue;	/* PreCommandFailure continue */
	/*
	 * NULL: the backup.  Else what the child runs instead (no Pre or
	 * PostCommand): body(c, body_arg) with c set up as for a backup,
	 * its return (0, 1 or 2) the outcome's status.  browse.h's
	 * restore_body() is one.
	 */
	int		(*body)(struct client *, void *);
	void		*body_arg;
};

/* What a run did, for the callback. */
struct run_outcome {
	int		 result;	/* enum remote_job_result */
	int		 status;	/* cmd_backup()'s status, or -1 */
	struct client_result res;
	char		 error[REMOTE_JOB_ERROR_MAX + 1]; /* or "" */
};

typedef void	(*run_done_fn)(struct run *, const struct run_outcome *,
		    void *arg);

/*
 * Fork the run of spec (what it points at is copied by the fork).
 * done is called from base's loop once the child has ended (after a
 * cancel too); the run is freed right after done returns.  The handle,
 * or NULL with err set (no pipe, no fork).
 */
struct run *run_start(struct event_base *base, const struct run_spec *spec,
	    run_done_fn done, void *arg, char *err, size_t errlen);
/*
 * Stop the run: SIGTERM to the child (which stops a Pre or PostCommand
 * under way first, see above), SIGKILL to its process group 10 s later
 * if it is still there.  Its outcome
 * then says REMOTE_JOB_CANCELLED.  The callback still comes.
 */
void	run_cancel(struct run *);
/* The child's process id. */
pid_t	run_pid(const struct run *);

#endif
