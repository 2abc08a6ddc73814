/*
 * pool.c - worker threads with an urgent and a background job queue.
 * See pool.h.  One mutex guards the queues, the done flags and the
 * group counters; jobs run without it.
 */
#include "autoconf.h"

#include <err.h>
#include <pthread.h>
#include <stdlib.h>

#include "pool.h"

struct queue {
	struct pool_job	*head, *tail;
	size_t		 n;
};

struct pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a job was queued, or stop */
	pthread_cond_t	 done;		/* a job finished */
	pthread_cond_t	 space;		/* a queue has room again */
	struct queue	 q[2];		/* [1] urgent, [0] background */
	size_t		 qmax;
	int		 stop;
	int		 nthreads;
	pthread_t	*threads;
};

static void
enqueue(struct queue *q, struct pool_job *j)
{
	j->next = NULL;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
}

static struct pool_job *
dequeue(struct queue *q)
{
	struct pool_job *j = q->head;

	if (j != NULL) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
	}
	return j;
}

/* Run j without the lock, then mark it done.  Called with the lock. */
static void
run_locked(struct pool *p, struct pool_job *j)
{
	pthread_cond_broadcast(&p->space);
	pthread_mutex_unlock(&p->mu);
	j->fn(j);
	pthread_mutex_lock(&p->mu);
	j->done = 1;
	if (j->group != NULL)
		(*j->group)--;
	pthread_cond_broadcast(&p->done);
}

static void *
worker(void *arg)
{
	struct pool *p = arg;
	struct pool_job *j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		if ((j = dequeue(&p->q[1])) == NULL)
			j = dequeue(&p->q[0]);
		if (j != NULL) {
			run_locked(p, j);
			continue;
		}
		if (p->stop)
			break;
		pthread_cond_wait(&p->work, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pool *
pool_new(int nthreads, size_t qmax)
{
	struct pool *p;

	if (nthreads < 1)
		nthreads = 1;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->threads = calloc((size_t)nthreads, sizeof(pthread_t))) ==
	    NULL) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_cond_init(&p->space, NULL);
	p->qmax = qmax < 1 ? 1 : qmax;
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
			if (i == 0) {
				free(p->threads);
				free(p);
				return NULL;
			}
			warnx("only %d of %d threads started", i, nthreads);
			break;
		}
		p->nthreads++;
	}
	return p;
}

void
pool_submit(struct pool *p, struct pool_job *j, int urgent, int *group)
{
	struct queue *q = &p->q[urgent ? 1 : 0];
	struct pool_job *u;

	pthread_mutex_lock(&p->mu);
	while (q->n >= p->qmax) {
		/* Help instead of only waiting for room. */
		if ((u = dequeue(&p->q[1])) != NULL)
			run_locked(p, u);
		else
			pthread_cond_wait(&p->space, &p->mu);
	}
	j->done = 0;
	j->group = group;
	if (group != NULL)
		(*group)++;
	enqueue(q, j);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void
pool_wait(struct pool *p, struct pool_job *j)
{
	struct pool_job *u;

	pthread_mutex_lock(&p->mu);
	while (!j->done) {
		if ((u = dequeue(&p->q[1])) != NULL ||
		    (u = dequeue(&p->q[0])) != NULL)
			run_locked(p, u);
		else
			pthread_cond_wait(&p->done, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

int
pool_done(struct pool *p, struct pool_job *j)
{
	int d;

	pthread_mutex_lock(&p->mu);
	d = j->done;
	pthread_mutex_unlock(&p->mu);
	return d;
}

void
pool_wait_group(struct pool *p, int *group)
{
	struct pool_job *u;

	pthread_mutex_lock(&p->mu);
	while (*group > 0) {
		if ((u = dequeue(&p->q[1])) != NULL)
			run_locked(p, u);
		else
			pthread_cond_wait(&p->done, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

void
pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->space);
	free(p->threads);
	free(p);
}
