/*
 * follower.c - the lease child (Store.Backend = s3 only;
 * doc/object-store.md rules 5 and 6): with S3.Role = active it takes the
 * bucket's lease (lease.h), waiting and saying who holds it while
 * another server does, renews it every third of S3.LeaseDuration and
 * releases it on a clean stop.  With S3.Role = standby it holds none:
 * it follows the bucket into the catalog every S3.FollowInterval
 * (rebuild_follow()), and when the writer stops renewing the lease (or
 * releases it) it takes it, catches up once more and becomes the writer;
 * it never makes a lease that is not there.
 * Every change is a LEASE message to the supervisor, which passes it on
 * to the workers (writes only in LS_HELD), the housekeeper and the UI
 * bridge.  The supervisor itself never talks S3.
 *
 * A lost lease (a renewal answered 412, or none succeeded within the
 * duration) stops the writes for good: this process does not take the
 * lease again, since the other writer may have changed the bucket under
 * our catalog.  Restarting gigavaultd makes it wait for the lease again.
 *
 * The supervisor sends SHUTDOWN here only after the workers and the
 * housekeeper have exited, so the lease is released when nothing writes
 * any more.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/ids.h"
#include "common/monotime.h"
#include "catalog.h"
#include "child.h"
#include "config.h"
#include "imsg.h"
#include "journal.h"
#include "lease.h"
#include "leasestate.h"
#include "log.h"
#include "packstore.h"
#include "rebuild.h"
#include "s3.h"

#define RETRY_MS	1000	/* between tries to take it, after errors */

static struct {
	struct child_env	*env;
	sigset_t		 waitmask;
	int			 stopping;
	struct lease		 lease;
	enum lease_state	 state;
	char			 why[IMSG_LEASE_WHY_MAX];
	/* S3.Role = standby: the catalog it follows the bucket into. */
	int			 standby;
	struct catalog		*cat;
	struct rebuild_follow	 fst;
	int64_t			 next_follow;	/* mono_ms() */
} f;

static void
stop(void)
{
	f.stopping = 1;
}

/* Wait up to ms for the supervisor or SIGTERM. */
static void
wait_ctl(int64_t ms)
{
	struct pollfd pfd = { .fd = f.env->ctl_fd, .events = POLLIN };
	struct timespec ts = mono_timespec(ms < 0 ? 0 : ms);

	if (ppoll(&pfd, pfd.fd == -1 ? 0 : 1, &ts, &f.waitmask) == -1) {
		if (errno != EINTR)
			fatal("%s: ppoll", __func__);
		return;
	}
	if (pfd.revents)
		child_read_ctl(f.env, stop, NULL);
}

/*
 * Tell the other processes how long writes may go on (leasestate.h):
 * the shared page for the workers, DataDir/lease.state for
 * gigavaultctl.  Valid until the start of the last good renewal + the
 * duration - a quarter of it (a margin for a write under way); word
 * names the state in the file when it is not held.
 */
static void
publish(const char *word)
{
	int64_t until = 0, deadline = 0, now = mono_ms();
	char err[512];

	if (f.lease.held && lease_valid(&f.lease, now)) {
		until = f.lease.renewed_ms + f.lease.duration_ms -
		    f.lease.duration_ms / 4;
		if (until <= now)
			until = 0;
		else
			deadline = (int64_t)time(NULL) + (until - now) / 1000;
	}
	leasestate_publish(until);
	if (leasestate_write(f.env->cfg->datadir, until != 0 ? "held" : word,
	    deadline, err, sizeof(err)) == -1)
		log_warnx("bucket lease: cannot write its state: %s", err);
}

/* Tell the supervisor when state or why changed. */
static void
report(enum lease_state state, const char *why)
{
	static const char *words[] = { "waiting", "held", "lost",
	    "standby" };

	if (state != LS_HELD)
		leasestate_publish(0);	/* at once, before anything else */
	if (state == f.state && strcmp(why, f.why) == 0)
		return;
	publish(state < LS_NSTATES ? words[state] : "unknown");
	f.state = state;
	snprintf(f.why, sizeof(f.why), "%s", why);
	child_send(f.env, imsg_lease(state, why));
}

/* Who holds the lease, from the last document read, for logs. */
static void
holder(char *buf, size_t len)
{
	const struct lease_info *o = &f.lease.other;

	if (f.lease.other_ok)
		snprintf(buf, len, "held by %s (server %s, pid %" PRId64
		    "), generation %" PRIu64, o->host, o->holder, o->pid,
		    o->generation);
	else
		snprintf(buf, len, "held by another server (its lease "
		    "document is unreadable)");
}

static void	say(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf() into why, cut to whylen. */
static void
say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

struct behind {
	uint64_t	 end;		/* DataDir/journal's size */
	uint64_t	 first;		/* first segment at or past it */
	int		 found;
};

static int
seg_past(void *arg, uint64_t seq, uint64_t size)
{
	struct behind *b = arg;

	(void)size;
	if (seq >= b->end && !b->found) {
		b->first = seq;
		b->found = 1;
	}
	return 0;
}

/*
 * Before writing: is this DataDir's catalog as current as the bucket?
 * A journal segment's number is the offset its record has in the
 * journal file (journal.c), so a segment at or past the end of
 * DataDir/journal is a change this catalog never saw (another server
 * wrote it).  0 when current, 1 when behind (why says so), -1 when S3
 * failed (why).
 */
static int
catalog_behind(char *why, size_t whylen)
{
	struct behind b;
	char path[PATH_MAX], err[512];

	memset(&b, 0, sizeof(b));
	if (snprintf(path, sizeof(path), "%s/journal", f.env->cfg->datadir) >=
	    (int)sizeof(path)) {
		snprintf(why, whylen, "DataDir path too long");
		return -1;
	}
	/*
	 * The good end, not the file's size: a damaged tail (a crash in an
	 * append) is no change this catalog saw.
	 */
	if (journal_good_end(path, &b.end, err, sizeof(err)) == -1) {
		say(why, whylen, "%s", err);
		return -1;
	}
	if (packstore_list_segments(seg_past, &b, err, sizeof(err)) == -1) {
		say(why, whylen, "%s", err);
		return -1;
	}
	if (!b.found)
		return 0;
	say(why, whylen, "this catalog is behind the bucket (journal "
	    "segment %016" PRIx64 " is past the end of %s, %" PRIu64
	    " bytes): stop gigavaultd, run gigavaultctl rebuild-catalog "
	    "--from-bucket, start it again", b.first, path, b.end);
	return 1;
}

/*
 * Standby: apply what is new in the bucket to the catalog
 * (rebuild_follow()).  0, or -1 (logged).
 */
static int	follow_(void);

/*
 * The lease's own requests end within a third of its duration (each
 * try), so that a stalled renewal is noticed in time; following the
 * bucket (large GETs) has no such limit.
 */
static void
lease_timeout(int on)
{
	s3_set_total_timeout(f.lease.s3, on ? (long)(f.lease.duration_ms / 3) :
	    0);
}

static int
follow(void)
{
	int rc;

	lease_timeout(0);
	rc = follow_();
	lease_timeout(1);
	return rc;
}

static int
follow_(void)
{
	struct rebuild_report rep;
	char path[PATH_MAX], err[512];

	f.next_follow = mono_ms() + f.env->cfg->s3.follow_interval * 1000L;
	if (f.cat == NULL) {
		if (snprintf(path, sizeof(path), "%s/catalog",
		    f.env->cfg->datadir) >= (int)sizeof(path)) {
			log_warnx("%s: DataDir path too long", __func__);
			return -1;
		}
		if (catalog_open(path, 0, &f.cat, err, sizeof(err)) !=
		    CAT_OK) {
			log_warnx("standby: %s", err);
			f.cat = NULL;
			return -1;
		}
	}
	memset(&rep, 0, sizeof(rep));
	if (rebuild_follow(f.cat, f.env->cfg->datadir, &f.fst, &rep, err,
	    sizeof(err)) == -1) {
		log_warnx("standby: following the bucket: %s", err);
		return -1;
	}
	if (rep.journal_records > 0 || rep.indexed > 0 || rep.snapshots > 0)
		log_info("standby: followed the bucket: %" PRIu64 " journal "
		    "records, %" PRIu64 " blobs indexed, %" PRIu64 " snapshots "
		    "added", rep.journal_records, rep.indexed, rep.snapshots);
	return 0;
}

/*
 * Active: wait for the lease until it is ours (or we stop).  Standby:
 * follow the bucket meanwhile, and take the lease only from a writer
 * that stopped renewing or released it, after catching up once more.
 */
static void
take(void)
{
	static const char *hows[] = { "none was there", "it had expired",
	    "its holder released it" };
	enum lease_how how;
	char err[512], who[400], why[IMSG_LEASE_WHY_MAX];

	while (!child_terminate && !f.stopping) {
		if (f.standby && mono_ms() >= f.next_follow)
			(void)follow();
		switch (lease_take(&f.lease, &how, err, sizeof(err))) {
		case LEASE_HELD:
			if (f.standby && follow() == -1) {
				log_warnx("standby: not caught up with the "
				    "bucket; releasing the lease and trying "
				    "again");
				lease_release(&f.lease, err, sizeof(err));
				wait_ctl(RETRY_MS);
				continue;
			}
			switch (catalog_behind(why, sizeof(why))) {
			case 1:
				log_warnx("bucket lease %s: %s; not writing",
				    f.lease.key, why);
				if (lease_release(&f.lease, err,
				    sizeof(err)) != LEASE_RELEASED)
					log_warnx("bucket lease not released: "
					    "%s", err);
				report(LS_LOST, why);
				return;
			case -1:
				log_warnx("bucket lease %s: cannot compare "
				    "the catalog with the bucket: %s; "
				    "releasing it and trying again",
				    f.lease.key, why);
				lease_release(&f.lease, err, sizeof(err));
				wait_ctl(RETRY_MS);
				continue;
			}
			snprintf(why, sizeof(why), "held, generation %" PRIu64,
			    f.lease.me.generation);
			log_info("%sbucket lease %s taken (%s): generation %"
			    PRIu64 "; writing", f.standby ? "standby: caught "
			    "up; " : "", f.lease.key, hows[how],
			    f.lease.me.generation);
			report(LS_HELD, why);
			return;
		case LEASE_BUSY:
			if (f.standby) {
				if (f.lease.other_ok)
					holder(who, sizeof(who));
				else
					snprintf(who, sizeof(who), "no "
					    "writer holds it yet");
				say(why, sizeof(why), "standby: following "
				    "the bucket; its lease: %s", who);
				if (strcmp(why, f.why) != 0)
					log_info("%s", why);
				report(LS_STANDBY, why);
				break;
			}
			holder(who, sizeof(who));
			if (snprintf(why, sizeof(why), "waiting for the "
			    "bucket's lease: %s", who) >= (int)sizeof(why))
				why[sizeof(why) - 2] = '.';	/* cut */
			if (f.state != LS_WAITING || strcmp(why, f.why) != 0)
				log_info("%s; not writing until it expires "
				    "(S3.LeaseDuration %d s after its last "
				    "renewal)", why,
				    f.env->cfg->s3.lease_duration);
			report(LS_WAITING, why);
			break;
		default:
			log_warnx("bucket lease: %s", err);
			break;
		}
		wait_ctl(RETRY_MS);
	}
}

/* Active, held: renew until lost or stopped. */
static void
hold(void)
{
	char err[512], why[IMSG_LEASE_WHY_MAX];

	while (!child_terminate && !f.stopping) {
		wait_ctl(lease_renew_due(&f.lease) - mono_ms());
		if (child_terminate || f.stopping)
			break;
		if (mono_ms() < lease_renew_due(&f.lease))
			continue;
		switch (lease_renew(&f.lease, err, sizeof(err))) {
		case LEASE_HELD:
			publish("held");
			break;
		case LEASE_LOST:
			if (snprintf(why, sizeof(why), "the bucket's lease "
			    "was lost: %s", err) >= (int)sizeof(why))
				why[sizeof(why) - 2] = '.';	/* cut */
			log_warnx("%s; writes stopped (restart gigavaultd to "
			    "wait for it again)", why);
			report(LS_LOST, why);
			return;
		default:
			log_warnx("bucket lease renewal: %s; trying again",
			    err);
			wait_ctl(RETRY_MS);
			break;
		}
	}
	/*
	 * Released only on the supervisor's SHUTDOWN, which comes when
	 * nothing else writes any more.  Not on SIGTERM (the drain's
	 * escalation: workers may still be writing) nor when the
	 * supervisor is gone (killed: its children may still be running):
	 * the lease then expires after S3.LeaseDuration.
	 */
	if (child_terminate || f.env->ctl_fd == -1) {
		log_info("bucket lease %s left to expire (%s)", f.lease.key,
		    child_terminate ? "SIGTERM" : "the supervisor is gone");
		return;
	}
	leasestate_publish(0);
	switch (lease_release(&f.lease, err, sizeof(err))) {
	case LEASE_RELEASED:
		publish("released");
		log_info("bucket lease %s released", f.lease.key);
		break;
	default:
		log_warnx("bucket lease not released: %s", err);
		break;
	}
}

void
follower_main(struct child_env *env)
{
	const struct gv_config *cfg = env->cfg;
	char id[SERVER_ID_HEX + 1], host[LEASE_HOST_MAX + 1], err[512];
	struct s3 *s;

	f.env = env;
	f.state = LS_NSTATES;
	child_catch_term(&f.waitmask);
	hex_encode(env->server_id, SERVER_ID_LEN, id);
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	child_send(env, imsg_empty(IMSG_READY));

	f.standby = cfg->s3.role == S3_ROLE_STANDBY;
	if (f.standby)
		report(LS_STANDBY, "standby: this server does not write to "
		    "the bucket");
	else
		report(LS_WAITING, "waiting for the bucket's lease");
	while ((s = packstore_s3(err, sizeof(err))) == NULL) {
		log_warnx("bucket lease: %s", err);
		wait_ctl(RETRY_MS * 5);
		if (child_terminate || f.stopping)
			exit(0);
	}
	if (lease_init(&f.lease, s, packstore_prefix(), id, host,
	    (int64_t)getpid(), (uint32_t)cfg->s3.lease_duration, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	f.lease.only_existing = f.standby;
	lease_timeout(1);
	take();
	if (f.lease.held)
		hold();
	/* Lost or behind: no writes until a restart; wait for the stop. */
	while (!child_terminate && !f.stopping)
		wait_ctl(60000);
	catalog_close(f.cat);
	exit(0);
}
