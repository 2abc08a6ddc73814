/*
 * ratelimit.c - a token bucket over bytes.  See ratelimit.h.
 *
 * The bucket may go into debt: a caller charges what it moved at once
 * and then sleeps, without the lock, for as long as the rate needs to
 * pay the debt back; callers after it see the debt and sleep longer.
 * Over time the bytes moved are rate a second plus at most burst, however
 * many threads share the bucket and however large their pieces are.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common/monotime.h"
#include "ratelimit.h"

struct ratelimit {
	pthread_mutex_t	 lock;
	int64_t		 rate;		/* bytes a second */
	/* In thousandths of a byte, so that refills lose no fraction. */
	int64_t		 burst;		/* most tokens saved */
	int64_t		 tokens;	/* below 0: debt */
	int64_t		 last;		/* mono_ms() of the last refill */
};

/* Tokens stay far from int64_t's ends: 2^40 bytes a second at most. */
#define RL_MAX		((uint64_t)1 << 40)

struct ratelimit *
ratelimit_new(uint64_t rate, uint64_t burst)
{
	struct ratelimit *rl;

	if (rate == 0)
		rate = 1;
	if (rate > RL_MAX)
		rate = RL_MAX;
	if (burst == 0)
		burst = rate / 10 > 0 ? rate / 10 : 1;
	if (burst > RL_MAX)
		burst = RL_MAX;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl);
		return NULL;
	}
	rl->rate = (int64_t)rate;
	rl->burst = (int64_t)burst * 1000;
	rl->tokens = 0;
	rl->last = mono_ms();
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

int64_t
ratelimit_pace(struct ratelimit *rl, size_t n)
{
	struct timespec ts;
	int64_t now, ms, wait;

	if (rl == NULL || n == 0)
		return 0;
	if (n > RL_MAX)
		n = RL_MAX;
	pthread_mutex_lock(&rl->lock);
	now = mono_ms();
	if ((ms = now - rl->last) > 0) {
		/* Refill: rate a millisecond, never above burst. */
		if (ms > (rl->burst - rl->tokens) / rl->rate + 1)
			ms = (rl->burst - rl->tokens) / rl->rate + 1;
		rl->tokens += ms * rl->rate;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last = now;
	}
	rl->tokens -= (int64_t)n * 1000;
	/* Sleep until the debt, this charge included, is paid back. */
	wait = rl->tokens >= 0 ? 0 : (-rl->tokens + rl->rate - 1) / rl->rate;
	pthread_mutex_unlock(&rl->lock);
	if (wait > 0) {
		ts = mono_timespec(wait);
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	return wait;
}
