/*
 * ratelimit.h - a token bucket over bytes, for --limit-upload and
 * --limit-download (and a job's limits in the agent): every session of
 * one struct client (the command's, and the extra ones its threads use
 * in parallel) charges the same bucket, so the limit holds for all of
 * them together.  Thread-safe.
 */
#ifndef GV_RATELIMIT_H
#define GV_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/*
 * A bucket that lets rate bytes a second through (rate > 0) and saves up
 * to burst bytes while idle (0: a tenth of a second's worth).  It starts
 * empty, so the first second moves rate bytes, not rate + burst.  NULL
 * when memory runs out.  Free with ratelimit_free().
 */
struct ratelimit *ratelimit_new(uint64_t rate, uint64_t burst);
/* NULL is fine.  No thread may be in ratelimit_pace() on it. */
void	ratelimit_free(struct ratelimit *);

/*
 * Charge n bytes that were just moved, and sleep until the bucket has
 * paid for them (callers in other threads sleep for their own share).
 * Returns the milliseconds slept, so that a caller can move its
 * deadline on by as much; 0 when rl is NULL.
 */
int64_t	ratelimit_pace(struct ratelimit *rl, size_t n);

#endif
