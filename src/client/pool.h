/*
 * pool.h - a small fixed pool of worker threads with two bounded job
 * queues: urgent jobs (hashing, which the caller will soon wait for) run
 * before background jobs (sealing).  Jobs are the caller's structs with
 * a struct pool_job inside; the pool never allocates per job.
 *
 * Completion is tracked per job (pool_wait) and per group: a counter
 * that pool_submit() raises and the worker lowers when the job is done
 * (pool_wait_group).  A thread that waits runs queued jobs itself while
 * it waits (only urgent ones while it waits for a group), so waiting
 * does not leave a core idle.
 */
#ifndef GV_POOL_H
#define GV_POOL_H

#include <stddef.h>

struct pool;

struct pool_job {
	void		(*fn)(struct pool_job *);
	struct pool_job	*next;		/* the pool's */
	int		*group;		/* lowered when done; may be NULL */
	int		 done;		/* read only through pool_wait() */
};

/* Start nthreads workers; qmax jobs may wait in each queue. */
struct pool *pool_new(int nthreads, size_t qmax);
/*
 * Queue j (fn set by the caller) as urgent or not; blocks while that
 * queue is full.  group, when not NULL, is raised now and lowered when
 * j is done; it is only read and written under the pool's lock.
 */
void	pool_submit(struct pool *, struct pool_job *j, int urgent,
	    int *group);
/* Wait until j is done. */
void	pool_wait(struct pool *, struct pool_job *j);
/* 1 when j is done (does not wait). */
int	pool_done(struct pool *, struct pool_job *j);
/* Wait until *group is 0. */
void	pool_wait_group(struct pool *, int *group);
/* Stop the workers (after the queued jobs ran) and free. */
void	pool_free(struct pool *);

#endif
