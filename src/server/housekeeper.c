/*
 * housekeeper.c - the housekeeping child: prune (prune.c) every
 * Prune.Interval seconds, scrub (scrub.c) every Scrub.Interval seconds
 * and, with a Sync.Target, the off-site sync (sync.c) every
 * Sync.Interval seconds, beside the workers, and clear the LMDB reader
 * slots that crashed children left behind.
 *
 * It opens the catalog after the fork, as every child does.  It obeys
 * the supervisor: LOG_REOPEN, and SHUTDOWN (or the pipe closing, or
 * SIGTERM), which stops a prune or scrub at its next safe point (between
 * packs, or records for scrub), so it never holds up a shutdown for
 * long.  SIGTERM stays blocked except inside ppoll(), as in worker.c.
 * A run that finds the housekeeping lock taken (gigavaultctl prune or
 * scrub) is tried again a minute later.
 *
 * IMSG_HK_RUN (the console, through the supervisor) makes a job due at
 * once, whatever its interval (a job already running ignores it).  Every
 * run, and the plan for the next, is recorded in DataDir/housekeeping.json
 * (hkstatus.h): "next" is set at start, after each run, and to null when
 * the housekeeper exits; a run left marked running by a housekeeper that
 * died ends as "interrupted" when the next one starts.
 *
 * Every run is also a row of the catalog's history (catalog.h) with who
 * started it: "schedule", or the console's user that HK_RUN names.
 * Every CHECK_S seconds it deletes the history's rows older than
 * History.MaxAge (and beyond History.MaxEntries), HIST_BATCH rows per
 * transaction so that no worker waits long for the catalog.
 *
 * Every Alerts.CheckInterval seconds, and soon after each scrub, it
 * looks for what to alert about (alert.h): failed jobs, overdue sets,
 * scrub damage, low space.  Each send has a time-out, so a prune or
 * scrub waits for them at most that long.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"
#include "alert.h"
#include "catalog.h"
#include "child.h"
#include "config.h"
#include "hkstatus.h"
#include "imsg.h"
#include "log.h"
#include "prune.h"
#include "s3.h"
#include "scrub.h"
#include "sync.h"

#define RETRY_S		60	/* lock busy, catalog closed: try again */
#define CHECK_S		60	/* reader slots looked at this often */
#define HIST_BATCH	1000	/* history rows deleted per transaction */
#define HIST_BATCHES	100	/* transactions per check, at most */

static struct housekeeper {
	struct child_env *env;
	int		 stopping;
	struct catalog	*cat;
	sigset_t	 waitmask;
	int64_t		 next[HK_NJOBS];	/* mono_ms(); 0: not planned */
	int		 running;	/* enum hk_job, or -1 */
	struct alerter	*alerts;
	int64_t		 next_alert;	/* mono_ms() of the next check */
	int		 readonly;	/* s3: the bucket's lease not held */
	char		 by[HK_NJOBS][IMSG_HK_BY_MAX];	/* "": schedule */
} hk;

static void
stop(void)
{
	hk.stopping = 1;
}

static void	on_hk_run(int, const union imsg_body *);

static void
ctl_ready(void)
{
	child_read_ctl(hk.env, stop, on_hk_run);
}

/* Wait up to ms (-1: no limit) for the supervisor or SIGTERM. */
static void
wait_ctl(long ms)
{
	struct pollfd pfd = { .fd = hk.env->ctl_fd, .events = POLLIN };
	struct timespec ts, *tsp = NULL;

	if (ms >= 0) {
		ts = mono_timespec(ms);
		tsp = &ts;
	}
	if (ppoll(&pfd, pfd.fd == -1 ? 0 : 1, tsp, &hk.waitmask) == -1) {
		if (errno != EINTR)
			fatal("%s: ppoll", __func__);
		return;
	}
	if (pfd.revents)
		ctl_ready();
}

/* hk_hooks.cancel: look at the supervisor and signals without waiting. */
static int
should_stop(void *arg)
{
	(void)arg;
	wait_ctl(0);
	return child_terminate || hk.stopping ||
	    (hk.readonly && hk.running == HK_PRUNE);
}

static void
report(void *arg, const char *line)
{
	const char *what = arg;

	log_info("%s: %s", what, line);
}

static void
open_catalog(void)
{
	char path[PATH_MAX], err[512];
	int dead = 0;

	if (hk.cat != NULL) {
		if (catalog_reader_check(hk.cat, &dead) != CAT_OK)
			log_warnx("%s", catalog_strerror(hk.cat));
		else if (dead > 0)
			log_info("cleared %d stale catalog reader slot%s of "
			    "dead processes", dead, dead == 1 ? "" : "s");
		return;
	}
	if (snprintf(path, sizeof(path), "%s/catalog", hk.env->cfg->datadir) >=
	    (int)sizeof(path)) {
		log_warnx("%s: DataDir path too long", __func__);
		return;
	}
	/* catalog_open() clears stale reader slots as it opens. */
	if (catalog_open(path, 0, &hk.cat, err, sizeof(err)) != CAT_OK)
		log_warnx("%s", err);
}

/*
 * Delete history rows older than History.MaxAge, in short transactions,
 * stopping early for a shutdown; the rest at the next check.
 */
static void
trim_history(void)
{
	time_t now = time(NULL);
	uint64_t cutoff, total = 0;
	size_t deleted;
	int more = 1;

	if (hk.cat == NULL || now < 0)
		return;
	catalog_history_set_max(hk.cat, hk.env->cfg->history_max_entries);
	cutoff = (uint64_t)now > hk.env->cfg->history_max_age ?
	    (uint64_t)now - hk.env->cfg->history_max_age : 0;
	for (int i = 0; i < HIST_BATCHES && more && !child_terminate &&
	    !hk.stopping; i++) {
		if (catalog_history_trim(hk.cat, cutoff, HIST_BATCH, &deleted,
		    &more) != CAT_OK) {
			log_warnx("history: %s", catalog_strerror(hk.cat));
			return;
		}
		total += deleted;
	}
	if (total > 0)
		log_info("history: %llu old rows deleted",
		    (unsigned long long)total);
}

/* Record a run of job, started at start, in the history. */
static void
record_run(enum hk_job job, uint64_t start, const char *result,
    const char *msg)
{
	struct cat_history h;
	time_t now = time(NULL);

	if (hk.cat == NULL || now < 0)
		return;
	memset(&h, 0, sizeof(h));
	h.kind = job == HK_PRUNE ? CAT_HIST_PRUNE : job == HK_SCRUB ?
	    CAT_HIST_SCRUB : CAT_HIST_SYNC;
	h.result = strcmp(result, "ok") == 0 ? CAT_HRES_OK :
	    strcmp(result, "interrupted") == 0 ? CAT_HRES_INTERRUPTED :
	    CAT_HRES_FAILED;
	h.start = (int64_t)start;
	h.end = now;
	snprintf(h.who, sizeof(h.who), "%s", hk.by[job][0] != '\0' ?
	    hk.by[job] : "schedule");
	snprintf(h.text, sizeof(h.text), "%s", msg);
	catalog_history_set_max(hk.cat, hk.env->cfg->history_max_entries);
	if (catalog_history_add(hk.cat, (uint64_t)now, &h) != CAT_OK)
		log_warnx("history: %s", catalog_strerror(hk.cat));
}

/* Wall-clock time of monotonic time t (0: 0, not scheduled). */
static uint64_t
wall_of(int64_t t)
{
	time_t now = time(NULL), d = (time_t)((t - mono_ms()) / 1000);

	if (t == 0 || now < 0)
		return 0;
	return (uint64_t)(now + (d > 0 ? d : 0));
}

static int
interval_of(enum hk_job job)
{
	const struct gv_config *cfg = hk.env->cfg;

	if (job == HK_SYNC)
		return cfg->sync_target[0] != '\0' ? cfg->sync_interval : 0;
	return job == HK_PRUNE ? cfg->prune_interval : cfg->scrub_interval;
}

/* Try job again in RETRY_S seconds. */
static void
retry(enum hk_job job)
{
	hk.next[job] = mono_ms() + RETRY_S * 1000L;
	hkstatus_set_next(hk.env->cfg->datadir, job, wall_of(hk.next[job]));
}

/* The runs: 0 with *result and msg, or -1 with the error in msg. */
static int
run_prune(const struct hk_hooks *hooks, const char **result, char *msg,
    size_t msglen, json_t **counters)
{
	struct prune_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = prune_run(hk.cat, hk.env->cfg, 0, hooks, &r, msg, msglen);
	*counters = hkstatus_prune_counters(&r);
	if (rc == -1)
		return -1;
	snprintf(msg, msglen, "%llu snapshots forgotten, %llu blobs freed, "
	    "%llu packs removed, %llu rewritten, %llu busy; pack bytes %llu "
	    "-> %llu", (unsigned long long)r.snapshots,
	    (unsigned long long)r.blobs, (unsigned long long)r.packs_removed,
	    (unsigned long long)r.packs_rewritten,
	    (unsigned long long)r.packs_busy,
	    (unsigned long long)r.bytes_before,
	    (unsigned long long)r.bytes_after);
	*result = r.cancelled ? "interrupted" : "ok";
	log_info("prune: %s: %s", r.cancelled ? "stopped" : "done", msg);
	return 0;
}

static int
run_scrub(const struct hk_hooks *hooks, const char **result, char *msg,
    size_t msglen, json_t **counters)
{
	const struct gv_config *cfg = hk.env->cfg;
	struct scrub_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = scrub_run(hk.cat, cfg->datadir, cfg->scrub_rate, hooks, &r, msg,
	    msglen);
	*counters = hkstatus_scrub_counters(&r);
	if (rc == -1)
		return -1;
	if (r.damaged > 0) {
		snprintf(msg, msglen, "%llu damaged blobs in %llu snapshots "
		    "(%llu blobs, %llu packs checked)",
		    (unsigned long long)r.damaged,
		    (unsigned long long)r.snapshots,
		    (unsigned long long)r.blobs, (unsigned long long)r.packs);
		*result = r.cancelled ? "interrupted" : "error";
		log_warnx("scrub: %s", msg);
	} else {
		snprintf(msg, msglen, "clean (%llu blobs, %llu packs, %llu "
		    "bytes read, %llu bytes of garbage)",
		    (unsigned long long)r.blobs, (unsigned long long)r.packs,
		    (unsigned long long)r.bytes, (unsigned long long)r.garbage);
		*result = r.cancelled ? "interrupted" : "ok";
		log_info("scrub: %s: %s", r.cancelled ? "stopped" : "done",
		    msg);
	}
	return 0;
}

static int
run_sync(const struct hk_hooks *hooks, const char **result, char *msg,
    size_t msglen, json_t **counters)
{
	const struct gv_config *cfg = hk.env->cfg;
	struct sync_target t;
	struct sync_report r;
	struct s3 *s = NULL;
	char err[512];
	int rc;

	memset(&r, 0, sizeof(r));
	if (sync_target_load(cfg->sync_target, &t, err, sizeof(err)) == -1 ||
	    sync_target_open(&t, &s, err, sizeof(err)) == -1) {
		snprintf(msg, msglen, "sync: Sync.Target: %s", err);
		return -1;
	}
	rc = sync_run(cfg->datadir, hk.cat, s, t.prefix,
	    (const char *const *)cfg->sync_clients, cfg->nsync_clients, 0,
	    hooks, &r, err, sizeof(err));
	s3_close(s);
	*counters = hkstatus_sync_counters(&r);
	if (rc == -1) {
		snprintf(msg, msglen, "sync to %s/%s: %s", t.bucket, t.prefix,
		    err);
		return -1;
	}
	if (rc == 1) {
		snprintf(msg, msglen, "%zu damaged packs not copied (first: "
		    "%.300s); %llu blobs in %llu packs copied, no journal "
		    "records", r.ndamaged, r.why,
		    (unsigned long long)r.records,
		    (unsigned long long)r.packs);
		*result = "error";
		log_warnx("sync to %s/%s: %s", t.bucket, t.prefix, msg);
		return 0;
	}
	snprintf(msg, msglen, "%llu blobs (%llu bytes) from %llu packs into "
	    "%llu new packs, %llu journal records (%llu not copied)",
	    (unsigned long long)r.records, (unsigned long long)r.bytes,
	    (unsigned long long)r.source_packs, (unsigned long long)r.packs,
	    (unsigned long long)r.journal, (unsigned long long)r.skipped);
	*result = "ok";
	log_info("sync to %s/%s: done: %s", t.bucket, t.prefix, msg);
	return 0;
}

/*
 * Run job under the housekeeping lock, recording it in
 * DataDir/housekeeping.json, and schedule its next run: after its
 * interval (none when that is 0), or in RETRY_S seconds when the lock is
 * taken or the catalog is not open.
 */
static void
run_job(enum hk_job job)
{
	const struct gv_config *cfg = hk.env->cfg;
	const char *what = hkstatus_job_name(job), *result;
	struct hk_hooks hooks = { report, should_stop, (void *)what };
	json_t *counters = NULL;
	char err[512], msg[600];
	uint64_t start;
	int fd;

	if (hk.cat == NULL) {
		retry(job);
		return;
	}
	if (job == HK_PRUNE && hk.readonly) {
		log_info("%s: the bucket's lease is not held here; trying "
		    "again in %d s", what, RETRY_S);
		retry(job);
		return;
	}
	if ((fd = housekeeping_lock(cfg->datadir, 0, err, sizeof(err))) ==
	    -2) {
		log_info("%s: another prune or scrub is running; trying again "
		    "in %d s", what, RETRY_S);
		retry(job);
		return;
	}
	if (fd == -1) {
		log_warnx("%s", err);
		retry(job);
		return;
	}
	start = (uint64_t)time(NULL);
	hkstatus_begin(cfg->datadir, job, start, 0);
	hk.running = (int)job;
	log_info("%s: starting", what);
	if ((job == HK_PRUNE ? run_prune : job == HK_SCRUB ? run_scrub :
	    run_sync)(&hooks, &result, msg, sizeof(msg), &counters) == -1) {
		log_warnx("%s", msg);
		result = "error";
	}
	hk.running = -1;
	if (job == HK_SCRUB)
		hk.next_alert = mono_ms();	/* damage is news at once */
	hk.next[job] = interval_of(job) > 0 ?
	    mono_ms() + interval_of(job) * 1000L : 0;
	/* Recorded before the lock goes: whoever takes it next sees it. */
	hkstatus_end(cfg->datadir, job, (uint64_t)time(NULL),
	    wall_of(hk.next[job]), result, msg, counters);
	close(fd);
	record_run(job, start, result, msg);
	hk.by[job][0] = '\0';
}

/* HK_RUN, the one message besides SHUTDOWN and LOG_REOPEN sent here. */
static void
on_hk_run(int type, const union imsg_body *u)
{
	enum hk_job job = u->hk_run.job;

	if (type == IMSG_LEASE) {
		hk.readonly = u->lease.state != LS_HELD;
		return;
	}
	if (hk.running == (int)job) {
		log_info("%s requested: already running", hkstatus_job_name(job));
		return;
	}
	log_info("%s requested%s%s: starting it now", hkstatus_job_name(job),
	    u->hk_run.by[0] != '\0' ? " by " : "", u->hk_run.by);
	snprintf(hk.by[job], sizeof(hk.by[job]), "%s", u->hk_run.by);
	hk.next[job] = mono_ms();
}

/*
 * At start: a run recorded as running whose process died (the lock is
 * free) ends as interrupted; then the schedule is recorded.
 */
static void
status_start(void)
{
	const char *datadir = hk.env->cfg->datadir;
	char err[512];
	int fd;

	if ((fd = housekeeping_lock(datadir, 0, err, sizeof(err))) >= 0) {
		hkstatus_recover(datadir, (uint64_t)time(NULL), NULL);
		close(fd);
	} else if (fd == -1) {
		log_warnx("%s", err);
	}
	for (int j = 0; j < HK_NJOBS; j++)
		hkstatus_set_next(datadir, (enum hk_job)j,
		    wall_of(hk.next[j]));
}

void
housekeeper_main(struct child_env *env)
{
	int64_t next_check;

	hk.env = env;
	hk.running = -1;
	hk.readonly = env->cfg->store_backend == STORE_BACKEND_S3;
	child_catch_term(&hk.waitmask);

	open_catalog();
	child_send(env, imsg_empty(IMSG_READY));
	for (int j = 0; j < HK_NJOBS; j++)
		hk.next[j] = interval_of((enum hk_job)j) > 0 ?
		    mono_ms() + interval_of((enum hk_job)j) * 1000L : 0;
	status_start();
	next_check = mono_ms() + CHECK_S * 1000L;
	hk.alerts = alert_open(env->cfg);
	hk.next_alert = mono_ms();

	while (!child_terminate && !hk.stopping) {
		int64_t now = mono_ms(), due = next_check;

		if (hk.alerts != NULL && hk.next_alert < due)
			due = hk.next_alert;

		for (int j = 0; j < HK_NJOBS; j++)
			if (hk.next[j] != 0 && hk.next[j] < due)
				due = hk.next[j];
		if (due > now) {
			wait_ctl((long)(due - now));
			continue;
		}
		open_catalog();		/* also clears stale reader slots */
		next_check = now + CHECK_S * 1000L;
		trim_history();
		for (int j = 0; j < HK_NJOBS; j++)
			if (!child_terminate && !hk.stopping &&
			    hk.next[j] != 0 && hk.next[j] <= now)
				run_job((enum hk_job)j);
		if (hk.alerts != NULL && !child_terminate && !hk.stopping &&
		    hk.next_alert <= mono_ms()) {
			alert_check(hk.alerts, hk.cat, should_stop, NULL);
			hk.next_alert = mono_ms() +
			    env->cfg->alert_check_interval * 1000L;
		}
	}
	log_debug("housekeeper exiting");
	/* Nothing is planned while the daemon is down. */
	for (int j = 0; j < HK_NJOBS; j++)
		hkstatus_set_next(env->cfg->datadir, (enum hk_job)j, 0);
	alert_close(hk.alerts);
	catalog_close(hk.cat);
	exit(0);
}
