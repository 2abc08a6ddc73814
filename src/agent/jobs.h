/*
 * jobs.h - the agent's jobs: each BackupSet of client.conf with a
 * Schedule.  A job has a timer for its next run (schedule_next() plus a
 * random delay up to RandomizedDelay), catches up on a run missed while
 * the agent was stopped (Persistent), retries a failed run after
 * RetryDelay, 2 x RetryDelay, ... (Retries times), runs at most once at
 * a time (a run that comes due while one runs is skipped), and can be
 * run now (the UI port, or a server's request) or cancelled.  At the end
 * of every run the job's report goes into the history and the outbox
 * (agentstate.h), and the kick callback asks for a poll to send it.
 */
#ifndef GV_JOBS_H
#define GV_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "client/clientconf.h"
#include "client/remote.h"

struct event_base;
struct astate;
struct jobs;
struct json_t;

/*
 * The jobs of conf (what it points at must outlive the call only: each
 * job copies its settings).  kick(arg) is called after a report was
 * kept.  Returns the jobs, or NULL with err set (a Schedule that does
 * not parse: clientconf_load() checked it already, so out of memory).
 */
struct jobs *jobs_new(struct event_base *base, const struct clientconf *conf,
	    struct astate *state, void (*kick)(void *), void *arg, char *err,
	    size_t errlen);
/*
 * Take the jobs of a reloaded conf: a job whose set is still a job keeps
 * its run and its place, its settings and timer are the new ones; a job
 * that is gone is cancelled.  0, or -1 with err set (nothing changed).
 */
int	jobs_reload(struct jobs *, const struct clientconf *conf, char *err,
	    size_t errlen);
/*
 * Run set's job now, answering request (0: none).  0; -1 with err set
 * and *code 404 (no such job) or 409 (it is running: then request, when
 * not 0, is answered by the run under way) or 500.
 */
int	jobs_run_now(struct jobs *, const char *set, uint64_t request,
	    int *code, char *err, size_t errlen);
/*
 * Cancel set's run.  0; -1 with err set and *code 404 (no such job) or
 * 409 (not running).
 */
int	jobs_cancel(struct jobs *, const char *set, int *code, char *err,
	    size_t errlen);
/*
 * A server's request for set, which has no job here: keep a FAILED
 * report that answers it (the server then shows why).
 */
void	jobs_refuse(struct jobs *, const char *set, uint64_t request,
	    const char *why);
/*
 * busy(arg, set) says whether set has a restore under way (1) or not
 * (0): one run of a set at a time, so a scheduled run of it is then
 * skipped (logged), a retry waits RetryDelay more, and jobs_run_now()
 * refuses with 409.  NULL: no restore is ever under way.
 */
void	jobs_set_busy(struct jobs *, int (*busy)(void *, const char *),
	    void *arg);
/* 1 when set's job has a run (a backup) under way, else 0. */
int	jobs_is_running(const struct jobs *, const char *set);
/* Cancel every run (the agent stops); no new run starts after this. */
void	jobs_stop(struct jobs *);
/* Runs under way. */
size_t	jobs_running(const struct jobs *);
/* Jobs in all. */
size_t	jobs_count(const struct jobs *);
/*
 * The jobs for a poll (at most REMOTE_AGENT_JOBS_MAX): *out malloc'ed,
 * the caller frees it.  0, or -1 when memory runs out.
 */
int	jobs_poll_list(const struct jobs *, struct remote_agent_job **out,
	    size_t *n);
/*
 * The jobs for the UI: a JSON array of {"set","schedule","next_run",
 * "last_run","last_result","last_error","running","since","attempt",
 * "retry_at"}; NULL when memory runs out.  The caller owns it.
 */
struct json_t *jobs_json(const struct jobs *);
void	jobs_free(struct jobs *);

#endif
