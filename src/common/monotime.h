/*
 * monotime.h - the monotonic clock, in milliseconds, for every timeout,
 * deadline, back-off and elapsed time in the programs (never for dates:
 * those are time(NULL)).  A deadline is a mono_ms() value.
 */
#ifndef GV_MONOTIME_H
#define GV_MONOTIME_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (since some fixed point). */
static inline int64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Milliseconds from now until deadline, as poll() takes them: 0 when it
 * has passed, at most INT_MAX.
 */
static inline int
mono_left(int64_t deadline)
{
	int64_t ms = deadline - mono_ms();

	return ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ms (>= 0) as a struct timespec, for ppoll() and nanosleep(). */
static inline struct timespec
mono_timespec(int64_t ms)
{
	struct timespec t;

	t.tv_sec = (time_t)(ms / 1000);
	t.tv_nsec = (long)(ms % 1000) * 1000000L;
	return t;
}

#endif
