/*
 * uidash.h - what the dashboard (uiapi.c's "dashboard") leads with:
 * the clients that need attention and when DataDir fills at the recent
 * growth rate.  Only the UI-bridge child uses these (uicall.h).
 */
#ifndef GV_UIDASH_H
#define GV_UIDASH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct cat_day;

#define UIDASH_FIT_DAYS		30	/* days of history fitted, at most */

/*
 * The clients that need attention at now with grace seconds of
 * Jobs.OverdueGrace, worst first: failed, overdue, and never when one
 * of its sets has a schedule (an agent's job); each {"name", "health",
 * "last_error", "last_failure", "last_success", "next_run", "sets":
 * [names of its sets in that state]}.  NULL when the catalog failed
 * (logged) or out of memory.
 */
json_t	*uidash_attention(int64_t now, int64_t grace);

/* What uidash_fit() makes of the per-day samples. */
struct uidash_fit {
	int		 status;	/* UIDASH_* below */
	size_t		 samples;	/* days with a sample */
	double		 per_day;	/* bytes a day, least squares */
	double		 days_left;	/* UIDASH_FILLING: free / per_day */
};
#define UIDASH_FEW	0	/* fewer than 2 samples: "not enough history" */
#define UIDASH_FLAT	1	/* not growing (flat or shrinking) */
#define UIDASH_FILLING	2

/*
 * Fit the stored bytes of days[0..n) (unique_bytes; a day without a
 * session has 0 and is left out) and, for today (days[n - 1].day), the
 * current total now_bytes, by least squares over the days; with free
 * bytes free, how many days are left.  Pure: for the tests too.
 */
void	uidash_fit(const struct cat_day *days, size_t n, uint64_t now_bytes,
	    uint64_t free, struct uidash_fit *out);

/*
 * The fill estimate for the dashboard: {"status": "not enough
 * history" | "not growing" | "filling", "samples", "per_day" (bytes),
 * "days_left" and "fills" (Unix seconds) when filling}, from the last
 * UIDASH_FIT_DAYS days of the catalog, today's totals and disk (the
 * status's "disk" object, with "free"; null: no estimate).  NULL when
 * the catalog failed (logged).
 */
json_t	*uidash_fill(const json_t *disk, int64_t now);

#endif
