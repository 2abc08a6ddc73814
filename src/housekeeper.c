/*
 * housekeeper.c - the housekeeping child: prune (prune.c) every
 * Prune.Interval seconds and scrub (scrub.c) every Scrub.Interval
 * seconds, beside the workers, and clear the LMDB reader slots that
 * crashed children left behind.
 *
 * It opens the catalog after the fork, as every child does.  It obeys
 * the supervisor: LOG_REOPEN, and SHUTDOWN (or the pipe closing, or
 * SIGTERM), which stops a prune or scrub at its next safe point (between
 * packs, or records for scrub), so it never holds up a shutdown for
 * long.  SIGTERM stays blocked except inside ppoll(), as in worker.c.
 * A run that finds the housekeeping lock taken (gigavaultctl prune or
 * scrub) is tried again a minute later.
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

#include "catalog.h"
#include "child.h"
#include "config.h"
#include "imsg.h"
#include "log.h"
#include "prune.h"
#include "scrub.h"

#define RETRY_S		60	/* lock busy, catalog closed: try again */
#define CHECK_S		60	/* reader slots looked at this often */

static volatile sig_atomic_t terminate;

static struct housekeeper {
	struct child_env *env;
	int		 ctl_fd;
	int		 stopping;
	struct imsg	 msg;
	struct catalog	*cat;
	sigset_t	 waitmask;
} hk;

static void
on_sigterm(int sig)
{
	(void)sig;
	terminate = 1;
}

static time_t
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

static void
stop(void)
{
	hk.stopping = 1;
}

static void
ctl_ready(void)
{
	child_read_ctl(&hk.ctl_fd, &hk.msg, stop);
}

/* Wait up to ms (-1: no limit) for the supervisor or SIGTERM. */
static void
wait_ctl(long ms)
{
	struct pollfd pfd = { .fd = hk.ctl_fd, .events = POLLIN };
	struct timespec ts, *tsp = NULL;

	if (ms >= 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000L;
		tsp = &ts;
	}
	if (ppoll(&pfd, hk.ctl_fd == -1 ? 0 : 1, tsp, &hk.waitmask) == -1) {
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
	return terminate || hk.stopping;
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

/* Run prune or scrub under the housekeeping lock.  0 done, -1 retry. */
static int
run_job(const char *what)
{
	const struct gv_config *cfg = hk.env->cfg;
	struct hk_hooks hooks = { report, should_stop, (void *)what };
	char err[512];
	int fd, rc;

	if (hk.cat == NULL)
		return -1;
	if ((fd = housekeeping_lock(cfg->datadir, 0, err, sizeof(err))) ==
	    -2) {
		log_info("%s: another prune or scrub is running; trying again "
		    "in %d s", what, RETRY_S);
		return -1;
	}
	if (fd == -1) {
		log_warnx("%s", err);
		return -1;
	}
	if (strcmp(what, "prune") == 0) {
		struct prune_result r;

		log_info("prune: starting");
		rc = prune_run(hk.cat, cfg, 0, &hooks, &r, err, sizeof(err));
		if (rc == -1)
			log_warnx("%s", err);
		else
			log_info("prune: %s: %llu snapshots forgotten, %llu "
			    "blobs freed, %llu packs removed, %llu rewritten, "
			    "%llu busy; pack bytes %llu -> %llu",
			    r.cancelled ? "stopped" : "done",
			    (unsigned long long)r.snapshots,
			    (unsigned long long)r.blobs,
			    (unsigned long long)r.packs_removed,
			    (unsigned long long)r.packs_rewritten,
			    (unsigned long long)r.packs_busy,
			    (unsigned long long)r.bytes_before,
			    (unsigned long long)r.bytes_after);
	} else {
		struct scrub_result r;

		log_info("scrub: starting");
		rc = scrub_run(hk.cat, cfg->datadir, cfg->scrub_rate, &hooks,
		    &r, err, sizeof(err));
		if (rc == -1)
			log_warnx("%s", err);
		else if (r.damaged > 0)
			log_warnx("scrub: %llu damaged blobs in %llu "
			    "snapshots (%llu blobs, %llu packs checked)",
			    (unsigned long long)r.damaged,
			    (unsigned long long)r.snapshots,
			    (unsigned long long)r.blobs,
			    (unsigned long long)r.packs);
		else
			log_info("scrub: %s: clean (%llu blobs, %llu packs, "
			    "%llu bytes read, %llu bytes of garbage)",
			    r.cancelled ? "stopped" : "done",
			    (unsigned long long)r.blobs,
			    (unsigned long long)r.packs,
			    (unsigned long long)r.bytes,
			    (unsigned long long)r.garbage);
	}
	close(fd);
	return 0;
}

void
housekeeper_main(struct child_env *env)
{
	const struct gv_config *cfg = env->cfg;
	struct sigaction sa;
	sigset_t block;
	time_t next_prune = 0, next_scrub = 0, next_check;

	hk.env = env;
	hk.ctl_fd = env->ctl_fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigterm;	/* no SA_RESTART: ppoll() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &hk.waitmask);
	sigdelset(&hk.waitmask, SIGTERM);

	open_catalog();
	imsg_init(&hk.msg, IMSG_READY);
	if (imsg_send(hk.ctl_fd, &hk.msg, 0) == -1)
		log_warn("%s: send ready", __func__);
	if (cfg->prune_interval > 0)
		next_prune = now_s() + cfg->prune_interval;
	if (cfg->scrub_interval > 0)
		next_scrub = now_s() + cfg->scrub_interval;
	next_check = now_s() + CHECK_S;

	while (!terminate && !hk.stopping) {
		time_t now = now_s(), due = next_check;

		if (next_prune != 0 && next_prune < due)
			due = next_prune;
		if (next_scrub != 0 && next_scrub < due)
			due = next_scrub;
		if (due > now) {
			wait_ctl((long)(due - now) * 1000);
			continue;
		}
		open_catalog();		/* also clears stale reader slots */
		next_check = now + CHECK_S;
		if (next_prune != 0 && next_prune <= now)
			next_prune = now_s() + (run_job("prune") == 0 ?
			    cfg->prune_interval : RETRY_S);
		if (terminate || hk.stopping)
			break;
		if (next_scrub != 0 && next_scrub <= now)
			next_scrub = now_s() + (run_job("scrub") == 0 ?
			    cfg->scrub_interval : RETRY_S);
	}
	log_debug("housekeeper exiting");
	catalog_close(hk.cat);
	exit(0);
}
