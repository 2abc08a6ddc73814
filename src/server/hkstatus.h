/*
 * hkstatus.h - DataDir/housekeeping.json: what prune and scrub are
 * doing, when the housekeeper runs them next, and how their last run
 * went.  The housekeeper (housekeeper.c) and gigavaultctl prune|scrub
 * write it; the UI bridge reads it for the console.
 *
 *   {"prune":{"running":bool,"started":T or null,"next":T or null,
 *             "last":{"started":T,"ended":T,
 *                     "result":"ok"|"error"|"interrupted",
 *                     "message":"...", counters...} or null},
 *    "scrub":{ the same }}
 *
 * T: Unix seconds.  started: of the run in progress (null when none).
 * next: when the housekeeper plans its next run (null: not scheduled,
 * the interval is 0 or the housekeeper is not running).  The counters
 * are integers, named as in gigavaultctl prune|scrub --json (see
 * hkstatus_prune_counters() and hkstatus_scrub_counters()).
 *
 * Every change reads the file, changes it and writes it whole again
 * atomically (a temporary file, then rename; mode 0640), under an flock
 * on DataDir/housekeeping.json.lock, so the housekeeper and gigavaultctl
 * never lose each other's changes.  A missing file is the default (both
 * jobs idle, never run); a corrupt one is logged and replaced by the
 * next change.  Only the holder of the housekeeping lock (prune.h)
 * calls hkstatus_begin() and hkstatus_end().
 *
 * Functions that write return 0, or -1 after logging why; callers go on
 * with their work either way.
 */
#ifndef GV_HKSTATUS_H
#define GV_HKSTATUS_H

#include <stdint.h>

#include <jansson.h>

struct prune_result;
struct scrub_result;
struct sync_report;

enum hk_job { HK_PRUNE, HK_SCRUB, HK_SYNC };
#define HK_NJOBS	3

/* next: 0 is null; HKSTATUS_KEEP leaves the stored value alone. */
#define HKSTATUS_KEEP	UINT64_MAX

/* "prune", "scrub" or "sync" (NULL outside the enum). */
const char *hkstatus_job_name(enum hk_job job);

/*
 * A run of job starts at now: running true, started now, next as
 * given.  Called with the housekeeping lock held, so a job of either
 * kind still marked running is a run whose process died: it is first
 * ended as "interrupted" (see hkstatus_recover()).
 */
int	hkstatus_begin(const char *datadir, enum hk_job job, uint64_t now,
	    uint64_t next);
/*
 * The run of job ended at now with result ("ok", "error" or
 * "interrupted") and message (NULL: ""): running false, started null,
 * next as given, last the run (its start as recorded by
 * hkstatus_begin(), else now) with the members of counters (an object
 * or NULL; the reference is stolen, also on error).
 */
int	hkstatus_end(const char *datadir, enum hk_job job, uint64_t now,
	    uint64_t next, const char *result, const char *message,
	    json_t *counters);
/* Set only next of job (0: null). */
int	hkstatus_set_next(const char *datadir, enum hk_job job,
	    uint64_t next);
/*
 * With the housekeeping lock held: end every job still marked running
 * as "interrupted" at now (its process died).  *n (may be NULL) counts
 * them.
 */
int	hkstatus_recover(const char *datadir, uint64_t now, int *n);
/*
 * A new reference to the whole object: the file's, or the default
 * {"prune":{"running":false,"started":null,"next":null,"last":null},
 * "scrub":{...}} when it is missing.  NULL (and a log line) when it
 * cannot be read or is not such an object.
 */
json_t	*hkstatus_load(const char *datadir);

/* The counters of a run, as integers (new references). */
json_t	*hkstatus_prune_counters(const struct prune_result *r);
json_t	*hkstatus_scrub_counters(const struct scrub_result *r);
json_t	*hkstatus_sync_counters(const struct sync_report *r);

#endif
