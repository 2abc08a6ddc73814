/*
 * fuzz-schedule.c - libFuzzer harness: the schedules of the agent's jobs
 * (client/schedule.c), in TZ=Europe/Berlin for its changes to and from
 * summer time.  The input up to its first NUL is the schedule, given to
 * schedule_parse(); the 8 bytes after the NUL (big-endian, missing ones
 * 0) are a time, and the two after those a number of steps.  Besides
 * crashes it checks what schedule.h says: a refused schedule says why;
 * schedule_next() is -1 or later than the time, and a run r is found
 * again from r - 1 (the walk skips no run); runs chained from the time
 * rise; schedule_interval() is not negative.  It does not reach the
 * agent's use of a schedule or time zones other than Berlin's.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/schedule.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define STEPS_MAX	64	/* runs chained per input */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size), *p;
	struct schedule *s;
	char spec[SCHEDULE_SPEC_MAX + 2], err[512];
	size_t len = nul != NULL ? (size_t)(nul - data) : size, i, rest;
	uint64_t u = 0;
	int64_t after, r, prev;
	unsigned steps = 0;
	static int tz_set;

	if (!tz_set) {
		setenv("TZ", "Europe/Berlin", 1);
		tzset();
		tz_set = 1;
	}
	if (len > SCHEDULE_SPEC_MAX + 1)
		len = SCHEDULE_SPEC_MAX + 1;	/* still one too long */
	memcpy(spec, data, len);
	spec[len] = '\0';
	err[0] = '\0';
	if ((s = schedule_parse(spec, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();	/* a refusal always says why */
		return 0;
	}
	p = nul != NULL ? nul + 1 : data + size;
	rest = (size_t)(data + size - p);
	for (i = 0; i < 8; i++)
		u = u << 8 | (i < rest ? p[i] : 0);
	for (i = 8; i < 10; i++)
		steps = steps << 8 | (i < rest ? p[i] : 0);
	steps %= STEPS_MAX + 1;
	after = (int64_t)u;

	r = schedule_next(s, after);
	if (r != -1 && (r <= after || (r - 1 != after &&
	    schedule_next(s, r - 1) != r)))
		abort();	/* not later, or a run the walk skips */
	for (prev = r; steps > 0 && prev != -1; steps--) {
		r = schedule_next(s, prev);
		if (r != -1 && r <= prev)
			abort();
		prev = r;
	}
	if (schedule_interval(s, after) < 0)
		abort();
	schedule_free(s);
	return 0;
}
