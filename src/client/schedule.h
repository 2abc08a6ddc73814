/*
 * schedule.h - when a job runs: a subset of systemd's OnCalendar
 * (systemd.time(7)), documented in gigavault-agent(8):
 *
 *	[WEEKDAYS] [YYYY-MM-DD] [HH:MM[:SS]]
 *
 * each field "*", a value, a list "a,b", a range "a..b" and a repetition
 * "a/step" or "a..b/step" (weekdays Mon..Sun, names or ranges of names),
 * a missing date meaning every day and a missing time 00:00:00, and the
 * shorthands minutely, hourly, daily, weekly (Mon 00:00), monthly,
 * yearly.  Times are the machine's local time.  Tests use "*:*:0/2"
 * (every two seconds).
 *
 * Also as systemd: a date "MM-DD" (any year), the shorthands annually,
 * quarterly and semiannually, full weekday names in any case.  Not
 * supported: time zones, fractions of seconds, "~" (days from the end),
 * two-digit years, years outside 1970..2199.  Summer time: a wall time
 * the clock skips runs at the instant it skips to (02:30 runs at 03:00
 * that night), once however many skipped times match; a wall time the
 * clock shows twice runs at both instants (so "hourly" and "*:*:0/2"
 * keep their pace; a daily 02:30 runs twice that night).
 */
#ifndef GV_SCHEDULE_H
#define GV_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#define SCHEDULE_SPEC_MAX	256	/* bytes of a schedule */

struct schedule;

/*
 * Parse spec.  Returns a schedule (free with schedule_free()), or NULL
 * with err set: "\"SPEC\": MESSAGE" naming the field that is wrong, or
 * "out of memory".
 */
struct schedule *schedule_parse(const char *spec, char *err, size_t errlen);
void	schedule_free(struct schedule *);

/*
 * The first time strictly after `after` (Unix seconds) that s names, in
 * local time, or -1 when there is none within 100 years (say
 * "2020-01-01" with after in 2026).  Cost: bounded, not a scan of every
 * second.
 */
int64_t	schedule_next(const struct schedule *s, int64_t after);

/*
 * The time between two runs near t (the next run after t and the one
 * after it), for the server's "overdue": 0 when there are not two.
 */
int64_t	schedule_interval(const struct schedule *s, int64_t t);

/*
 * The last time strictly before t that s names, or -1 when there is
 * none within about two years before t.  Cost: a few dozen calls of
 * schedule_next().
 */
int64_t	schedule_prev(const struct schedule *s, int64_t t);

#endif
