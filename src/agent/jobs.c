/*
 * jobs.c - the agent's jobs: timers, catch-up, retries, one run per set,
 * run now, cancel, and a report at the end of every run.  See jobs.h.
 */
#include "autoconf.h"

#include <sys/time.h>

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "client/schedule.h"
#include "agentlog.h"
#include "agentstate.h"
#include "jobs.h"
#include "run.h"

#define CATCHUP_DELAY_S		1	/* a missed run, after a start */
#define CLOCK_CHECK_S		60	/* timers set again from the wall clock */

struct job {
	struct jobs	*jobs;
	char		 set[65];
	char		*spec;		/* Schedule */
	struct schedule	*sched;
	int		 rdelay, retries, retry_delay, timeout;
	int		 pre_continue, persistent;
	uint64_t	 limit_up, limit_down;
	char		*pre, *post;

	struct event	*timer;		/* the next scheduled run */
	int64_t		 next_sched;	/* its scheduled time, or 0 */
	int64_t		 fire_at;	/* when the timer fires */
	int		 catchup;	/* the timer is a missed run's */
	struct event	*retry;		/* the next retry */
	int64_t		 retry_at;	/* 0: none */

	struct run	*run;		/* the run under way, or NULL */
	int64_t		 run_start;
	uint64_t	 request;	/* the request it answers, 0: none */
	int		 attempt;	/* retries made so far */
	int		 scheduled;	/* the run is a scheduled one */

	int		 last_result;	/* -1: none yet */
	int64_t		 last_end;
	char		 last_error[REMOTE_JOB_ERROR_MAX + 1];
	int		 gone;		/* not a job after a reload */
	int		 resched;	/* Schedule or delay changed (reload) */
};

struct jobs {
	struct event_base *base;
	struct astate	*state;
	char		*conffile;
	char		*passfile;
	void		(*kick)(void *);
	void		*arg;
	struct job	**v;
	size_t		 n;
	int		 stopping;
	struct event	*clock;		/* every CLOCK_CHECK_S */
	/* 1 when set has a restore under way (jobs_set_busy()). */
	int		(*busy)(void *, const char *);
	void		*busy_arg;
};

/* set has a restore under way: its backup waits (one run per set). */
static int
restoring(const struct jobs *js, const char *set)
{
	return js->busy != NULL && js->busy(js->busy_arg, set);
}

static void	job_timer(evutil_socket_t, short, void *);
static void	job_retry(evutil_socket_t, short, void *);

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* A random number of seconds in 0..max. */
static int
random_delay(int max)
{
	uint32_t r;

	if (max <= 0 || crypto_random(&r, sizeof(r)) == -1)
		return 0;
	return (int)(r % ((uint32_t)max + 1));
}

/* Arm ev to fire at Unix time t (seconds), at once when it is past. */
static void
arm_at(struct event *ev, int64_t t)
{
	int64_t ms = t * 1000 - now_ms();
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* Arm ev to fire in d seconds. */
static void
arm_in(struct event *ev, int64_t d)
{
	struct timeval tv;

	tv.tv_sec = (time_t)d;
	tv.tv_usec = 0;
	evtimer_add(ev, &tv);
}

/* The timer for the first scheduled time after `after`. */
static void
arm_sched(struct job *j, int64_t after)
{
	int64_t t;

	evtimer_del(j->timer);
	j->catchup = 0;
	if (j->jobs->stopping || (t = schedule_next(j->sched, after)) < 0) {
		j->next_sched = 0;
		j->fire_at = 0;
		return;
	}
	j->next_sched = t;
	j->fire_at = t + random_delay(j->rdelay);
	arm_at(j->timer, j->fire_at);
}

/* Copy the settings of set s into j (the old ones freed). */
static int
job_settings(struct job *j, const struct clientconf_set *s, char *err,
    size_t errlen)
{
	struct schedule *sched;
	char *spec, *pre, *post;

	if ((sched = schedule_parse(s->schedule, err, errlen)) == NULL)
		return -1;
	spec = strdup(s->schedule);
	pre = strdup(s->pre_command);
	post = strdup(s->post_command);
	if (spec == NULL || pre == NULL || post == NULL) {
		free(spec);
		free(pre);
		free(post);
		schedule_free(sched);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	schedule_free(j->sched);
	free(j->spec);
	free(j->pre);
	free(j->post);
	j->sched = sched;
	j->spec = spec;
	j->pre = pre;
	j->post = post;
	j->rdelay = s->randomized_delay;
	j->retries = s->retries;
	j->retry_delay = s->retry_delay;
	j->timeout = s->command_timeout;
	j->pre_continue = s->pre_continue;
	j->persistent = s->persistent;
	j->limit_up = s->limit_up;
	j->limit_down = s->limit_down;
	return 0;
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->timer != NULL)
		event_free(j->timer);
	if (j->retry != NULL)
		event_free(j->retry);
	schedule_free(j->sched);
	free(j->spec);
	free(j->pre);
	free(j->post);
	free(j);
}

static struct job *
job_new(struct jobs *js, const struct clientconf_set *s, char *err,
    size_t errlen)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->jobs = js;
	j->last_result = -1;
	snprintf(j->set, sizeof(j->set), "%s", s->name);
	if (job_settings(j, s, err, errlen) == -1) {
		job_free(j);
		return NULL;
	}
	if ((j->timer = evtimer_new(js->base, job_timer, j)) == NULL ||
	    (j->retry = evtimer_new(js->base, job_retry, j)) == NULL) {
		snprintf(err, errlen, "out of memory");
		job_free(j);
		return NULL;
	}
	return j;
}

/*
 * The first timer of a new job: a run missed while the agent was
 * stopped (Persistent) soon, else the next scheduled time.  A job that
 * never ran gets the time now as its last run, so that a run missed
 * from now on is caught up.
 */
static void
job_first_timer(struct job *j)
{
	int64_t now = time(NULL), last, t;
	struct remote_job_report r;
	char err[256];
	json_t *h;

	/* What the UI shows as the last run: the history's newest. */
	if ((h = astate_history(j->jobs->state, j->set, 1)) != NULL &&
	    json_array_size(h) == 1 && astate_report_from_json(
	    json_array_get(h, 0), &r, err, sizeof(err)) == 0) {
		j->last_result = r.result;
		j->last_end = r.end;
		snprintf(j->last_error, sizeof(j->last_error), "%s", r.error);
	}
	json_decref(h);

	last = astate_last_run(j->jobs->state, j->set);
	if (last == 0 && astate_set_last_run(j->jobs->state, j->set, now, err,
	    sizeof(err)) == -1)
		alog_warnx("job %s: %s", j->set, err);
	if (j->persistent && last > 0 && (t = schedule_next(j->sched,
	    last)) > 0 && t < now) {
		char when[64];
		struct tm tm;
		time_t tt = (time_t)t;

		if (localtime_r(&tt, &tm) == NULL || strftime(when,
		    sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
			snprintf(when, sizeof(when), "%lld", (long long)t);
		alog_info("job %s: the run of %s was missed while the agent "
		    "was stopped: it runs now (Persistent)", j->set, when);
		j->next_sched = t;
		j->catchup = 1;
		j->fire_at = now + CATCHUP_DELAY_S + random_delay(j->rdelay);
		arm_at(j->timer, j->fire_at);
		return;
	}
	arm_sched(j, now);
}

/*
 * A kept job whose Schedule or RandomizedDelay changed in a reload: a
 * missed run caught up stays; a due run waiting out its delay, or the
 * next one, is taken from the new schedule from just before the time
 * the old one had, so that a run due now is not dropped.
 */
static void
job_rearm(struct job *j)
{
	int64_t now = time(NULL);

	j->resched = 0;
	if (j->catchup && evtimer_pending(j->timer, NULL)) {
		j->fire_at = now + CATCHUP_DELAY_S + random_delay(j->rdelay);
		arm_at(j->timer, j->fire_at);
		return;
	}
	if (j->next_sched > 0 && evtimer_pending(j->timer, NULL))
		arm_sched(j, j->next_sched - 1);
	else
		arm_sched(j, now);
}

/* The job of set, also one that is gone but still ending its run. */
/*
 * libevent's timers run on the monotonic clock: every CLOCK_CHECK_S the
 * pending ones are set again from the wall clock, so that a step of the
 * wall clock (a suspend, NTP) moves them by at most that much late.
 */
static void
clock_check(evutil_socket_t fd, short what, void *arg)
{
	struct jobs *js = arg;

	(void)fd;
	(void)what;
	if (js->stopping)
		return;
	for (size_t i = 0; i < js->n; i++) {
		struct job *j = js->v[i];

		if (j->fire_at > 0 && evtimer_pending(j->timer, NULL))
			arm_at(j->timer, j->fire_at);
		if (j->retry_at > 0 && evtimer_pending(j->retry, NULL))
			arm_at(j->retry, j->retry_at);
	}
}

static struct job *
find_any_job(const struct jobs *js, const char *set)
{
	for (size_t i = 0; i < js->n; i++)
		if (strcmp(js->v[i]->set, set) == 0)
			return js->v[i];
	return NULL;
}

static struct job *
find_job(const struct jobs *js, const char *set)
{
	for (size_t i = 0; i < js->n; i++)
		if (!js->v[i]->gone && strcmp(js->v[i]->set, set) == 0)
			return js->v[i];
	return NULL;
}

/* Keep report r (history and outbox) and ask for a poll to send it. */
static void
keep_report(struct jobs *js, const struct remote_job_report *r)
{
	char err[512];

	switch (astate_keep(js->state, r, 1, err, sizeof(err))) {
	case -1:
		alog_warnx("job %s: the report is lost: %s", r->set, err);
		break;
	case 1:
		alog_warnx("job %s: the report waits to be sent, but is not "
		    "in the history: %s", r->set, err);
		break;
	}
	js->kick(js->arg);
}

static void	run_done(struct run *, const struct run_outcome *, void *);

/* Start a run of j.  0, or -1 with err set. */
static int
job_start(struct job *j, char *err, size_t errlen)
{
	struct jobs *js = j->jobs;
	struct run_spec sp;

	memset(&sp, 0, sizeof(sp));
	sp.conffile = js->conffile;
	sp.set = j->set;
	sp.passfile = js->passfile;
	sp.limit_up = j->limit_up;
	sp.limit_down = j->limit_down;
	sp.pre = j->pre;
	sp.post = j->post;
	sp.timeout = j->timeout;
	sp.pre_continue = j->pre_continue;
	if ((j->run = run_start(js->base, &sp, run_done, j, err, errlen)) ==
	    NULL)
		return -1;
	j->run_start = time(NULL);
	alog_info("job %s: run started (pid %d%s%s)", j->set,
	    (int)run_pid(j->run), j->attempt > 0 ? ", a retry" : "",
	    j->request != 0 ? ", requested" : "");
	return 0;
}

/* A run that could not start: its report, as a failure. */
static void
start_failed(struct job *j, const char *why)
{
	struct remote_job_report r;

	alog_warnx("job %s: cannot start a run: %s", j->set, why);
	memset(&r, 0, sizeof(r));
	snprintf(r.set, sizeof(r.set), "%s", j->set);
	r.request = j->request;
	r.start = r.end = time(NULL);
	r.result = REMOTE_JOB_FAILED;
	r.next_run = j->next_sched;
	snprintf(r.error, sizeof(r.error), "cannot start a run: %s", why);
	j->request = 0;
	keep_report(j->jobs, &r);
}

static void
job_timer(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	int64_t due = j->next_sched, now = time(NULL);
	char err[512];

	(void)fd;
	(void)what;
	if (j->jobs->stopping)
		return;
	/* The next one first, from the later of now and this one. */
	arm_sched(j, now > due ? now : due);
	if (j->run != NULL) {
		alog_info("job %s: a scheduled run is skipped: the last one "
		    "still runs", j->set);
		return;
	}
	if (restoring(j->jobs, j->set)) {
		alog_info("job %s: a scheduled run is skipped: a restore of "
		    "the set is under way", j->set);
		return;
	}
	evtimer_del(j->retry);
	j->retry_at = 0;
	j->attempt = 0;
	j->scheduled = 1;
	j->request = 0;
	if (job_start(j, err, sizeof(err)) == -1)
		start_failed(j, err);
}

static void
job_retry(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	char err[512];

	(void)fd;
	(void)what;
	j->retry_at = 0;
	if (j->jobs->stopping || j->run != NULL)
		return;
	if (restoring(j->jobs, j->set)) {
		/* Tried again after RetryDelay, as after a failed run. */
		alog_info("job %s: the retry waits %d s: a restore of the set "
		    "is under way", j->set, j->retry_delay);
		j->retry_at = time(NULL) + j->retry_delay;
		arm_in(j->retry, j->retry_delay);
		return;
	}
	if (job_start(j, err, sizeof(err)) == -1)
		start_failed(j, err);
}

static void
run_done(struct run *run, const struct run_outcome *o, void *arg)
{
	struct job *j = arg;
	struct jobs *js = j->jobs;
	struct remote_job_report r;
	char err[512];

	(void)run;
	memset(&r, 0, sizeof(r));
	snprintf(r.set, sizeof(r.set), "%s", j->set);
	r.request = j->request;
	r.start = j->run_start;
	r.end = time(NULL);
	r.result = o->result;
	r.snapid = o->res.saved ? o->res.snapid : 0;
	r.files = o->res.files;
	r.bytes = o->res.bytes;
	r.read_bytes = o->res.read_bytes;
	r.sent_bytes = o->res.sent_bytes;
	r.problems = o->res.problems;
	r.next_run = j->next_sched;
	if (o->result == REMOTE_JOB_CANCELLED)
		snprintf(r.error, sizeof(r.error), "%s", js->stopping ?
		    "cancelled: the agent stopped during the run" :
		    "cancelled on request");
	else
		snprintf(r.error, sizeof(r.error), "%s", o->error);
	j->run = NULL;
	j->request = 0;
	j->last_result = o->result;
	j->last_end = r.end;
	snprintf(j->last_error, sizeof(j->last_error), "%s", r.error);

	if (o->result == REMOTE_JOB_FAILED && j->attempt < j->retries &&
	    !js->stopping && !j->gone) {
		int64_t d = (int64_t)j->retry_delay << (j->attempt < 20 ?
		    j->attempt : 20);

		if (d > CLIENTCONF_DELAY_MAX)
			d = CLIENTCONF_DELAY_MAX;
		j->attempt++;
		j->retry_at = r.end + d;
		arm_in(j->retry, d);
		alog_info("job %s: run failed (%s); retry %d of %d in %lld s",
		    j->set, o->error, j->attempt, j->retries, (long long)d);
	} else {
		alog_info("job %s: run ended: %s%s%s", j->set,
		    astate_result_name(o->result), r.error[0] ? ": " : "",
		    r.error);
		/* A run cut by the agent's stop is caught up at the start. */
		if (j->scheduled && !(o->result == REMOTE_JOB_CANCELLED &&
		    js->stopping) && astate_set_last_run(js->state, j->set,
		    j->run_start, err, sizeof(err)) == -1)
			alog_warnx("job %s: %s", j->set, err);
		j->attempt = 0;
		j->scheduled = 0;
	}
	keep_report(js, &r);
	if (j->gone) {
		for (size_t i = 0; i < js->n; i++)
			if (js->v[i] == j) {
				js->v[i] = js->v[--js->n];
				break;
			}
		job_free(j);
		js->kick(js->arg);
	}
}

struct jobs *
jobs_new(struct event_base *base, const struct clientconf *conf,
    struct astate *state, void (*kick)(void *), void *arg, char *err,
    size_t errlen)
{
	struct jobs *js;

	if ((js = calloc(1, sizeof(*js))) == NULL ||
	    (js->conffile = strdup(conf->file)) == NULL ||
	    (js->passfile = strdup(conf->agent.passfile)) == NULL) {
		snprintf(err, errlen, "out of memory");
		jobs_free(js);
		return NULL;
	}
	js->base = base;
	js->state = state;
	js->kick = kick;
	js->arg = arg;
	{
		struct timeval tv = { CLOCK_CHECK_S, 0 };

		if ((js->clock = event_new(base, -1, EV_PERSIST, clock_check,
		    js)) == NULL || event_add(js->clock, &tv) == -1) {
			snprintf(err, errlen, "out of memory");
			jobs_free(js);
			return NULL;
		}
	}
	if (jobs_reload(js, conf, err, errlen) == -1) {
		jobs_free(js);
		return NULL;
	}
	return js;
}

int
jobs_reload(struct jobs *js, const struct clientconf *conf, char *err,
    size_t errlen)
{
	struct job **nv = NULL, *j;
	size_t nn = 0, i;

	char *passfile;

	/* Room for every new job and every old one (gone but running). */
	if ((nv = calloc(conf->nsets + js->n + 1, sizeof(*nv))) == NULL ||
	    (passfile = strdup(conf->agent.passfile)) == NULL) {
		free(nv);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Check first: nothing changes unless every new job can be made. */
	for (i = 0; i < conf->nsets; i++) {
		const struct clientconf_set *s = &conf->sets[i];

		if (s->schedule[0] == '\0')
			continue;
		/*
		 * A job gone in an earlier reload whose cancelled run has
		 * not ended is this set's job again: never two runs.
		 */
		if ((j = find_any_job(js, s->name)) != NULL) {
			int resched = strcmp(j->spec, s->schedule) != 0 ||
			    j->rdelay != s->randomized_delay || j->gone;

			if (job_settings(j, s, err, errlen) == -1)
				goto fail;
			j->resched = resched;
			j->gone = 0;
		} else if ((j = job_new(js, s, err, errlen)) == NULL)
			goto fail;
		nv[nn++] = j;
	}
	/* The jobs that are gone: cancelled, freed when their run ends. */
	for (i = 0; i < js->n; i++) {
		size_t k;

		for (k = 0; k < nn && nv[k] != js->v[i]; k++)
			;
		if (k < nn)
			continue;
		j = js->v[i];
		if (j->run != NULL) {
			alog_info("job %s: no longer a job: its run is "
			    "cancelled", j->set);
			j->gone = 1;
			evtimer_del(j->timer);
			evtimer_del(j->retry);
			run_cancel(j->run);
			nv[nn++] = j;
		} else
			job_free(j);
	}
	/* The timers of the jobs kept, and the first of the new ones. */
	for (i = 0; i < nn; i++) {
		size_t k;

		if (nv[i]->gone)
			continue;
		for (k = 0; k < js->n && js->v[k] != nv[i]; k++)
			;
		if (k == js->n)
			job_first_timer(nv[i]);
		else if (nv[i]->resched)
			job_rearm(nv[i]);
	}
	free(js->passfile);
	js->passfile = passfile;
	free(js->v);
	js->v = nv;
	js->n = nn;
	return 0;

fail:
	for (i = 0; i < nn; i++) {
		size_t k;

		for (k = 0; k < js->n && js->v[k] != nv[i]; k++)
			;
		if (k == js->n)
			job_free(nv[i]);
	}
	free(nv);
	free(passfile);
	return -1;
}

int
jobs_run_now(struct jobs *js, const char *set, uint64_t request, int *code,
    char *err, size_t errlen)
{
	struct job *j;

	if ((j = find_job(js, set)) == NULL) {
		*code = 404;
		snprintf(err, errlen, "no job for set \"%s\" (a BackupSet with "
		    "a Schedule in client.conf)", set);
		return -1;
	}
	if (js->stopping) {
		*code = 503;
		snprintf(err, errlen, "the agent is stopping");
		return -1;
	}
	if (j->run != NULL) {
		if (request != 0 && j->request == 0)
			j->request = request;
		*code = 409;
		snprintf(err, errlen, "job %s is running already", set);
		return -1;
	}
	if (restoring(js, set)) {
		*code = 409;
		snprintf(err, errlen, "set %s is running a restore; one run "
		    "of a set at a time", set);
		return -1;
	}
	evtimer_del(j->retry);
	j->retry_at = 0;
	j->attempt = 0;
	j->scheduled = 0;
	j->request = request;
	if (job_start(j, err, errlen) == -1) {
		*code = 500;
		start_failed(j, err);
		return -1;
	}
	return 0;
}

int
jobs_cancel(struct jobs *js, const char *set, int *code, char *err,
    size_t errlen)
{
	struct job *j;

	if ((j = find_job(js, set)) == NULL) {
		*code = 404;
		snprintf(err, errlen, "no job for set \"%s\"", set);
		return -1;
	}
	if (j->run == NULL && j->retry_at == 0) {
		*code = 409;
		snprintf(err, errlen, "job %s is not running", set);
		return -1;
	}
	/* A retry that waits is dropped too. */
	evtimer_del(j->retry);
	j->retry_at = 0;
	j->attempt = j->retries;
	if (j->run != NULL) {
		alog_info("job %s: cancelled", set);
		run_cancel(j->run);
	}
	return 0;
}

void
jobs_refuse(struct jobs *js, const char *set, uint64_t request,
    const char *why)
{
	struct remote_job_report r;

	memset(&r, 0, sizeof(r));
	snprintf(r.set, sizeof(r.set), "%s", set);
	r.request = request;
	r.start = r.end = time(NULL);
	r.result = REMOTE_JOB_FAILED;
	snprintf(r.error, sizeof(r.error), "%s", why);
	alog_warnx("request %llu for set %s refused: %s",
	    (unsigned long long)request, set, why);
	keep_report(js, &r);
}

void
jobs_set_busy(struct jobs *js, int (*busy)(void *, const char *),
    void *arg)
{
	js->busy = busy;
	js->busy_arg = arg;
}

int
jobs_is_running(const struct jobs *js, const char *set)
{
	const struct job *j = find_job(js, set);

	return j != NULL && j->run != NULL;
}

void
jobs_stop(struct jobs *js)
{
	js->stopping = 1;
	if (js->clock != NULL)
		evtimer_del(js->clock);
	for (size_t i = 0; i < js->n; i++) {
		evtimer_del(js->v[i]->timer);
		evtimer_del(js->v[i]->retry);
		if (js->v[i]->run != NULL)
			run_cancel(js->v[i]->run);
	}
}

size_t
jobs_running(const struct jobs *js)
{
	size_t k = 0;

	for (size_t i = 0; i < js->n; i++)
		k += js->v[i]->run != NULL;
	return k;
}

size_t
jobs_count(const struct jobs *js)
{
	size_t k = 0;

	for (size_t i = 0; i < js->n; i++)
		k += !js->v[i]->gone;
	return k;
}

int
jobs_poll_list(const struct jobs *js, struct remote_agent_job **out,
    size_t *n)
{
	struct remote_agent_job *v;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (js->n == 0)
		return 0;
	if ((v = calloc(js->n, sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < js->n && k < REMOTE_AGENT_JOBS_MAX; i++) {
		const struct job *j = js->v[i];

		if (j->gone)
			continue;
		snprintf(v[k].set, sizeof(v[k].set), "%s", j->set);
		/*
		 * When the run starts (the randomized delay in), and the gap
		 * that ends at the scheduled time plus the delay: the
		 * server's overdue check waits for both.
		 */
		v[k].next_run = j->next_sched > 0 ? j->fire_at : 0;
		if (j->next_sched > 0) {
			int64_t prev = schedule_prev(j->sched, j->next_sched);

			v[k].interval = prev > 0 ? j->next_sched - prev :
			    schedule_interval(j->sched, j->next_sched);
			if (v[k].interval < 0)
				v[k].interval = 0;
			v[k].interval += j->rdelay;
		} else
			v[k].interval = 0;
		v[k].running = j->run != NULL;
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

json_t *
jobs_json(const struct jobs *js)
{
	json_t *a, *o;

	if ((a = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < js->n; i++) {
		const struct job *j = js->v[i];

		if (j->gone)
			continue;
		o = json_pack("{s:s, s:s, s:I, s:I, s:s?, s:s, s:b, s:I, s:i, "
		    "s:I, s:I, s:I}",
		    "set", j->set,
		    "schedule", j->spec,
		    "next_run", (json_int_t)j->fire_at,
		    "last_run", (json_int_t)j->last_end,
		    "last_result", j->last_result < 0 ? NULL :
		    astate_result_name(j->last_result),
		    "last_error", j->last_error,
		    "running", j->run != NULL,
		    "since", (json_int_t)(j->run != NULL ? j->run_start : 0),
		    "attempt", j->attempt,
		    "retry_at", (json_int_t)j->retry_at,
		    "limit_upload", (json_int_t)j->limit_up,
		    "limit_download", (json_int_t)j->limit_down);
		if (o == NULL || json_array_append_new(a, o) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

void
jobs_free(struct jobs *js)
{
	if (js == NULL)
		return;
	for (size_t i = 0; i < js->n; i++)
		job_free(js->v[i]);
	if (js->clock != NULL)
		event_free(js->clock);
	free(js->v);
	free(js->conffile);
	free(js->passfile);
	free(js);
}
