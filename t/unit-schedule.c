/*
 * unit-schedule.c - TAP unit tests of src/client/schedule.c, in
 * TZ=Europe/Berlin: the shorthands, lists, ranges, repetitions and
 * weekdays, February 29 and the ends of months, nothing within 100
 * years, the changes to and from summer time (a skipped time runs when
 * the clock skips, a repeated one at both instants, "every two seconds"
 * keeps its pace through both), schedule_interval(), each bad schedule
 * refused with its message, and schedule_next() against a brute-force
 * scan of every second around both changes for random schedules.  Run
 * by t/00-unit-schedule.t.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/schedule.h"
#include "tap.h"

static char err[512];

/* Local "YYYY-MM-DD HH:MM:SS" (Berlin) to Unix seconds; the first of
 * two instants (summer time) when the clock shows it twice. */
static int64_t
at(const char *s)
{
	struct tm tm, chk;
	time_t t;
	int dst;

	for (dst = 1; dst >= 0; dst--) {
		memset(&tm, 0, sizeof(tm));
		if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon,
		    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
			abort();
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		tm.tm_isdst = dst;
		chk = tm;
		t = mktime(&tm);
		if (tm.tm_isdst == dst && tm.tm_hour == chk.tm_hour &&
		    tm.tm_mday == chk.tm_mday && tm.tm_min == chk.tm_min)
			return (int64_t)t;
	}
	abort();
}

/* t as local "YYYY-MM-DD HH:MM:SS ZONE", or "none" for -1. */
static const char *
fmt(int64_t t)
{
	static char buf[64];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == -1)
		return "none";
	localtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%a %Y-%m-%d %H:%M:%S %Z", &tm);
	return buf;
}

/* schedule_next(spec, at(after)) is the local time want ("none": -1). */
static void
next_is(const char *spec, const char *after, const char *want)
{
	struct schedule *s;
	char name[1100];
	const char *got;

	if ((s = schedule_parse(spec, err, sizeof(err))) == NULL) {
		snprintf(name, sizeof(name), "%s: parses (%s)", spec, err);
		ok(0, name);
		return;
	}
	got = fmt(schedule_next(s, at(after)));
	snprintf(name, sizeof(name), "\"%s\" after %s: %s", spec, after, want);
	ok(strcmp(got, want) == 0, name);
	if (strcmp(got, want) != 0)
		printf("#   got %s\n", got);
	schedule_free(s);
}

/* spec is refused with a message that starts with "\"spec\": " and
 * contains want. */
static void
bad(const char *spec, const char *want)
{
	struct schedule *s;
	char name[700], head[300];

	err[0] = '\0';
	s = schedule_parse(spec, err, sizeof(err));
	snprintf(head, sizeof(head), "\"%s\": ", spec);
	snprintf(name, sizeof(name), "\"%.60s\" refused: %s", spec, err);
	ok(s == NULL && strncmp(err, head, strlen(head)) == 0 &&
	    strstr(err, want) != NULL, name);
	if (s == NULL && strstr(err, want) == NULL)
		printf("#   wanted \"%s\"\n", want);
	schedule_free(s);
}

/*
 * Every run of spec in [from, to) by chaining schedule_next(): whether
 * each is exactly step seconds after the one before (n runs counted
 * into *runs).
 */
static int
steady(const char *spec, int64_t from, int64_t to, int64_t step,
    int *runs)
{
	struct schedule *s = schedule_parse(spec, err, sizeof(err));
	int64_t t, prev = -1;
	int good = 1;

	*runs = 0;
	if (s == NULL)
		return 0;
	for (t = schedule_next(s, from - 1); t != -1 && t < to;
	    t = schedule_next(s, t)) {
		if (prev != -1 && t - prev != step) {
			printf("#   %s: ", spec);
			printf("%s after ", fmt(t));
			printf("%s\n", fmt(prev));
			good = 0;
		}
		prev = t;
		(*runs)++;
	}
	schedule_free(s);
	return good;
}

/* ---- brute force: the semantics of schedule.h, second by second ---- */

struct sets {
	unsigned char	 hour[24], min[60], sec[60];
};

static int
wall_matches(const struct sets *m, int64_t ws)
{
	int64_t d = ((ws % 86400) + 86400) % 86400;

	return m->hour[d / 3600] && m->min[d / 60 % 60] && m->sec[d % 60];
}

static int64_t
wall_of(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	localtime_r(&tt, &tm);
	return (int64_t)timegm(&tm);
}

/*
 * Whether t is a run: its local time matches, or the clock skipped to t
 * over a time that matches.
 */
static int
brute_run(const struct sets *m, int64_t t)
{
	int64_t w = wall_of(t), pw = wall_of(t - 1), x;

	if (wall_matches(m, w))
		return 1;
	for (x = pw + 1; x < w; x++)
		if (wall_matches(m, x))
			return 1;
	return 0;
}

/* A random list of values 0..n-1 (each kept with probability 1/p). */
static void
rand_list(unsigned char *set, int n, int p, char *buf, size_t len)
{
	size_t o = 0;
	int v, any = 0;

	memset(set, 0, (size_t)n);
	for (v = 0; v < n; v++)
		if (rand() % p == 0) {
			set[v] = 1;
			o += (size_t)snprintf(buf + o, len - o, "%s%d",
			    any ? "," : "", v);
			any = 1;
		}
	if (!any) {
		v = rand() % n;
		set[v] = 1;
		snprintf(buf, len, "%d", v);
	}
}

/*
 * schedule_next(s, t) against brute force: its result, or -1 (printed)
 * when they differ.
 */
static int64_t
next_checked(const struct schedule *s, const struct sets *m, int64_t t)
{
	int64_t nx = schedule_next(s, t), want;

	for (want = t + 1; want < nx && want < t + 2 * 86400 &&
	    !brute_run(m, want); want++)
		;
	if (nx != -1 && want == nx && brute_run(m, nx))
		return nx;
	printf("#   after %s: ", fmt(t));
	printf("got %s, ", fmt(nx));
	printf("brute force %s\n", fmt(want));
	return -1;
}

/* Random schedules around t0, each run checked against brute force. */
static void
brute(const char *what, int64_t t0, int rounds)
{
	struct sets m;
	struct schedule *s;
	char h[200], mi[400], se[400], spec[1100], name[1300];
	int64_t t;
	int r, good;

	for (r = 0; r < rounds; r++) {
		rand_list(m.hour, 24, r % 2 ? 2 : 8, h, sizeof(h));
		rand_list(m.min, 60, r % 3 ? 12 : 2, mi, sizeof(mi));
		rand_list(m.sec, 60, r % 2 ? 20 : 3, se, sizeof(se));
		if (r == 0) {	/* every hour and minute at least once */
			memset(m.hour, 1, sizeof(m.hour));
			memset(m.min, 1, sizeof(m.min));
			strcpy(h, "*");
			strcpy(mi, "*");
		}
		snprintf(spec, sizeof(spec), "%s:%s:%s", h, mi, se);
		if ((s = schedule_parse(spec, err, sizeof(err))) == NULL) {
			ok(0, err);
			continue;
		}
		good = 1;
		/* Chain from 4 hours before to 4 hours after the change. */
		for (t = t0 - 4 * 3600; good && t < t0 + 4 * 3600;)
			good = (t = next_checked(s, &m, t)) != -1;
		/* And from each second near the change. */
		for (t = t0 - 5; good && t < t0 + 5; t++)
			good = next_checked(s, &m, t) != -1;
		snprintf(name, sizeof(name), "%s: \"%.40s...\" matches "
		    "brute force", what, spec);
		ok(good, name);
		schedule_free(s);
	}
}

int
main(void)
{
	struct schedule *s;
	char longspec[SCHEDULE_SPEC_MAX + 10];
	int64_t t;
	int runs, i;

	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	srand(18);

	/* Shorthands. */
	next_is("minutely", "2026-03-10 12:00:30",
	    "Tue 2026-03-10 12:01:00 CET");
	next_is("hourly", "2026-03-10 12:00:00", "Tue 2026-03-10 13:00:00 CET");
	next_is("hourly", "2026-03-10 12:59:59", "Tue 2026-03-10 13:00:00 CET");
	next_is("daily", "2026-03-10 12:00:00", "Wed 2026-03-11 00:00:00 CET");
	next_is("daily", "2026-12-31 23:59:59", "Fri 2027-01-01 00:00:00 CET");
	next_is("weekly", "2026-12-07 00:00:00", "Mon 2026-12-14 00:00:00 CET");
	next_is("weekly", "2026-12-06 23:59:59", "Mon 2026-12-07 00:00:00 CET");
	next_is("monthly", "2026-01-31 10:00:00",
	    "Sun 2026-02-01 00:00:00 CET");
	next_is("yearly", "2026-06-01 00:00:00", "Fri 2027-01-01 00:00:00 CET");
	next_is("annually", "2026-06-01 00:00:00",
	    "Fri 2027-01-01 00:00:00 CET");
	next_is("quarterly", "2026-05-02 00:00:00",
	    "Wed 2026-07-01 00:00:00 CEST");
	next_is("DAILY", "2026-03-10 12:00:00", "Wed 2026-03-11 00:00:00 CET");

	/* Times, lists, ranges, repetitions. */
	next_is("*:*:0/2", "2026-03-10 12:00:01",
	    "Tue 2026-03-10 12:00:02 CET");
	next_is("*:*:0/2", "2026-03-10 12:00:02",
	    "Tue 2026-03-10 12:00:04 CET");
	next_is("*:*:0/2", "2026-03-10 12:00:58",
	    "Tue 2026-03-10 12:01:00 CET");
	next_is("*:*:0/2", "2026-12-31 23:59:59",
	    "Fri 2027-01-01 00:00:00 CET");
	next_is("*:0/15", "2026-03-10 12:50:00", "Tue 2026-03-10 13:00:00 CET");
	next_is("*:0/15", "2026-03-10 12:00:00", "Tue 2026-03-10 12:15:00 CET");
	next_is("*:10..40/15", "2026-03-10 12:26:00",
	    "Tue 2026-03-10 12:40:00 CET");
	next_is("*:10..40/15", "2026-03-10 12:40:00",
	    "Tue 2026-03-10 13:10:00 CET");
	next_is("08:30", "2026-03-10 08:30:00", "Wed 2026-03-11 08:30:00 CET");
	next_is("8:5:7", "2026-03-10 08:05:06", "Tue 2026-03-10 08:05:07 CET");
	next_is("12,14,13:20,10,30", "2026-03-10 12:30:00",
	    "Tue 2026-03-10 13:10:00 CET");
	next_is("12..14:10,20,30", "2026-03-10 14:30:00",
	    "Wed 2026-03-11 12:10:00 CET");
	next_is("10..20/5:00", "2026-03-10 15:00:00",
	    "Tue 2026-03-10 20:00:00 CET");
	next_is("10..20/5:00", "2026-03-10 20:00:00",
	    "Wed 2026-03-11 10:00:00 CET");
	next_is("*-*-1..10/3", "2026-03-04 00:00:00",
	    "Sat 2026-03-07 00:00:00 CET");
	next_is("*-*-1..10/3", "2026-03-10 00:00:00",
	    "Wed 2026-04-01 00:00:00 CEST");
	next_is("*-1/2-1,3 *:30:45", "2026-02-10 00:00:00",
	    "Sun 2026-03-01 00:30:45 CET");
	next_is("03-05 08:05:40", "2026-03-10 00:00:00",
	    "Fri 2027-03-05 08:05:40 CET");
	next_is("2026-02..04-05", "2026-02-05 00:00:00",
	    "Thu 2026-03-05 00:00:00 CET");
	next_is("2026..2030/2-01-01", "2026-06-01 00:00:00",
	    "Sat 2028-01-01 00:00:00 CET");

	/* Weekdays. */
	next_is("Mon,Fri 08:30", "2026-12-07 09:00:00",
	    "Fri 2026-12-11 08:30:00 CET");
	next_is("Mon..Fri 18:00", "2026-12-11 18:00:00",
	    "Mon 2026-12-14 18:00:00 CET");
	next_is("Sat..Sun", "2026-12-07 00:00:00",
	    "Sat 2026-12-12 00:00:00 CET");
	next_is("monday *-12-* 17:00", "2026-12-29 00:00:00",
	    "Mon 2027-12-06 17:00:00 CET");
	next_is("Sat,Thu,Mon..Wed,Sat..Sun", "2026-12-10 00:00:00",
	    "Sat 2026-12-12 00:00:00 CET");
	next_is("Wed *-*-1", "2026-12-07 00:00:00",
	    "Wed 2027-09-01 00:00:00 CEST");
	next_is("FRI 2026-*-13", "2026-01-01 00:00:00",
	    "Fri 2026-02-13 00:00:00 CET");

	/* February 29 and the ends of months. */
	next_is("*-02-29", "2026-03-01 00:00:00",
	    "Tue 2028-02-29 00:00:00 CET");
	next_is("*-02-29", "2099-01-01 00:00:00",
	    "Fri 2104-02-29 00:00:00 CET");
	next_is("Mon *-02-29", "2026-03-01 00:00:00",
	    "Mon 2044-02-29 00:00:00 CET");
	next_is("*-*-31", "2026-01-31 00:00:00",
	    "Tue 2026-03-31 00:00:00 CEST");
	next_is("*-*-30", "2026-01-30 00:00:00",
	    "Mon 2026-03-30 00:00:00 CEST");
	next_is("*-*-29", "2027-01-29 00:00:00",
	    "Mon 2027-03-29 00:00:00 CEST");
	next_is("*-*-29", "2028-01-29 00:00:00", "Tue 2028-02-29 00:00:00 CET");
	next_is("*-*-28..31/3", "2026-02-01 00:00:00",
	    "Sat 2026-02-28 00:00:00 CET");
	next_is("*-*-28..31/3", "2026-03-28 00:00:00",
	    "Tue 2026-03-31 00:00:00 CEST");

	/* Nothing within 100 years. */
	next_is("2020-01-01", "2026-06-01 00:00:00", "none");
	/* 2030-01-01 is a Tuesday. */
	next_is("Mon 2030-01-01", "2026-06-01 00:00:00", "none");
	next_is("2025-02-29", "2020-06-01 00:00:00", "none");
	next_is("2125-01-01", "2026-06-01 00:00:00",
	    "Mon 2125-01-01 00:00:00 CET");
	next_is("2130-01-01", "2026-06-01 00:00:00", "none");
	next_is("*:*:0/2", "2199-12-31 23:59:58", "none");

	/* Spring forward (2026-03-29 02:00 CET is 03:00 CEST). */
	next_is("02:30", "2026-03-28 02:30:00", "Sun 2026-03-29 03:00:00 CEST");
	next_is("02:30", "2026-03-29 03:00:00", "Mon 2026-03-30 02:30:00 CEST");
	next_is("02,03:00", "2026-03-29 01:00:00",
	    "Sun 2026-03-29 03:00:00 CEST");
	next_is("02,03:00", "2026-03-29 03:00:00",
	    "Mon 2026-03-30 02:00:00 CEST");
	next_is("*:*:0/2", "2026-03-29 01:59:58",
	    "Sun 2026-03-29 03:00:00 CEST");
	next_is("hourly", "2026-03-29 01:00:00",
	    "Sun 2026-03-29 03:00:00 CEST");
	next_is("*:5/2", "2026-03-29 01:59:37", "Sun 2026-03-29 03:00:00 CEST");
	next_is("*:5/2", "2026-03-29 01:59:59", "Sun 2026-03-29 03:00:00 CEST");
	next_is("*:5/2", "2026-03-29 03:00:00", "Sun 2026-03-29 03:05:00 CEST");
	ok(steady("*:*:0/2", at("2026-03-29 00:00:00"),
	    at("2026-03-29 05:00:00"), 2, &runs) && runs == 4 * 1800,
	    "every 2 s through spring forward: 4 h of runs 2 s apart");
	ok(steady("hourly", at("2026-03-28 12:00:00"),
	    at("2026-03-29 12:00:00"), 3600, &runs) && runs == 23,
	    "hourly through spring forward: 23 runs 1 h apart");

	/* Fall back (2026-10-25 03:00 CEST is 02:00 CET). */
	next_is("*:*:0/2", "2026-10-25 02:59:58",
	    "Sun 2026-10-25 02:00:00 CET");
	t = at("2026-10-25 02:59:58") + 3600;	/* the same, in CET */
	s = schedule_parse("*:*:0/2", err, sizeof(err));
	ok(s != NULL && schedule_next(s, at("2026-10-25 02:59:58")) ==
	    at("2026-10-25 02:59:58") + 2 &&
	    schedule_next(s, at("2026-10-25 02:59:58") + 2) ==
	    at("2026-10-25 02:59:58") + 4 &&
	    strcmp(fmt(schedule_next(s, at("2026-10-25 02:59:58") + 2)),
	    "Sun 2026-10-25 02:00:02 CET") == 0 &&
	    strcmp(fmt(schedule_next(s, t)), "Sun 2026-10-25 03:00:00 CET") ==
	    0, "every 2 s: 02:59:58 CEST, 02:00:00 CET, on to 03:00 CET");
	schedule_free(s);
	ok(steady("*:*:0/2", at("2026-10-25 00:00:00"),
	    at("2026-10-25 04:00:00"), 2, &runs) && runs == 5 * 1800,
	    "every 2 s through fall back: 5 h of runs 2 s apart");
	ok(steady("hourly", at("2026-10-24 12:00:00"),
	    at("2026-10-25 12:00:00"), 3600, &runs) && runs == 25,
	    "hourly through fall back: 25 runs 1 h apart");
	s = schedule_parse("02:30", err, sizeof(err));
	t = schedule_next(s, at("2026-10-25 00:00:00"));
	ok(strcmp(fmt(t), "Sun 2026-10-25 02:30:00 CEST") == 0 &&
	    schedule_next(s, t) == t + 3600 &&
	    strcmp(fmt(schedule_next(s, t + 3600)),
	    "Mon 2026-10-26 02:30:00 CET") == 0,
	    "02:30 on the night of fall back: at 02:30 CEST and 02:30 CET");
	schedule_free(s);

	/* schedule_interval(). */
	s = schedule_parse("daily", err, sizeof(err));
	ok(schedule_interval(s, at("2026-03-10 12:00:00")) == 86400,
	    "interval of daily: 24 h");
	ok(schedule_interval(s, at("2026-03-28 12:00:00")) == 23 * 3600,
	    "interval of daily over spring forward: 23 h");
	ok(schedule_interval(s, at("2026-10-24 12:00:00")) == 25 * 3600,
	    "interval of daily over fall back: 25 h");
	schedule_free(s);
	s = schedule_parse("*:*:0/2", err, sizeof(err));
	ok(schedule_interval(s, at("2026-03-10 12:00:00")) == 2,
	    "interval of *:*:0/2: 2 s");
	schedule_free(s);
	s = schedule_parse("Mon..Fri 18:00", err, sizeof(err));
	ok(schedule_interval(s, at("2026-12-11 12:00:00")) == 3 * 86400,
	    "interval of Mon..Fri 18:00 on a Friday: 3 days");
	schedule_free(s);
	s = schedule_parse("2027-05-05 12:00", err, sizeof(err));
	ok(schedule_interval(s, at("2026-12-11 12:00:00")) == 0,
	    "interval of a single date: 0");
	schedule_free(s);
	s = schedule_parse("2020-01-01", err, sizeof(err));
	ok(schedule_interval(s, at("2026-12-11 12:00:00")) == 0,
	    "interval of a past date: 0");
	schedule_free(s);

	/* schedule_prev(): the last time before t (the agent's poll). */
	s = schedule_parse("Mon..Fri 18:00", err, sizeof(err));
	ok(schedule_prev(s, at("2026-12-14 18:00:00")) ==
	    at("2026-12-11 18:00:00"),
	    "prev of Mon..Fri 18:00 before a Monday's: the Friday's");
	ok(schedule_prev(s, at("2026-12-14 18:00:01")) ==
	    at("2026-12-14 18:00:00"),
	    "prev of Mon..Fri 18:00 a second after: that one");
	schedule_free(s);
	s = schedule_parse("*:*:0/2", err, sizeof(err));
	ok(schedule_prev(s, at("2026-03-10 12:00:00")) ==
	    at("2026-03-10 11:59:58"), "prev of *:*:0/2: 2 s before");
	schedule_free(s);
	s = schedule_parse("daily", err, sizeof(err));
	ok(schedule_prev(s, at("2026-03-30 00:00:00")) ==
	    at("2026-03-29 00:00:00"), "prev of daily over spring forward");
	schedule_free(s);
	s = schedule_parse("2027-05-05 12:00", err, sizeof(err));
	ok(schedule_prev(s, at("2027-05-05 12:00:00")) == -1,
	    "prev of a single date at that date: none");
	ok(schedule_prev(s, at("2027-06-01 00:00:00")) ==
	    at("2027-05-05 12:00:00"), "prev of a single date after it");
	schedule_free(s);

	/* Bad schedules, each with its message. */
	bad("", "empty schedule");
	bad("  \t ", "empty schedule");
	bad("Mon..Foo", "\"Mon..Foo\" is not a weekday");
	bad("x", "\"x\" is not a weekday");
	bad("Fri..Mon", "goes backwards");
	bad("Mon/2", "is not a weekday");
	bad("*-13-01", "month 13 is out of range (1..12)");
	bad("*-0-01", "month 0 is out of range (1..12)");
	bad("*-*-32", "day 32 is out of range (1..31)");
	bad("*-*-0", "day 0 is out of range (1..31)");
	bad("25:00", "hour 25 is out of range (0..23)");
	bad("12:60", "minute 60 is out of range (0..59)");
	bad("12:00:60", "second 60 is out of range (0..59)");
	bad("1960-01-01", "year 1960 is out of range (1970..2199)");
	bad("12-*-*", "year 12 is out of range");
	bad("*:0/0", "minute's repetition is 0");
	bad("10..5:00", "hour range 10..5 goes backwards");
	bad("12:00 Mon", "\"Mon\" is out of place");
	bad("12:00 *-*-*", "\"*-*-*\" is out of place");
	bad("*-*-* *-*-*", "is out of place");
	bad("daily UTC", "\"daily\" stands alone");
	bad("12:00 UTC", "\"UTC\" is out of place");
	bad("*-02-30", "no month it names has a day it names");
	bad("*-04,06-31", "no month it names has a day it names");
	bad("12:00:00.5", "second \"00.5\" is not a value");
	bad("*:*/2", "minute \"*/2\" is not a value");
	bad("1,:00", "hour \"1,\" is not a value");
	bad(",1:00", "hour \",1\" is not a value");
	bad(":00", "the hour is empty");
	bad("1:2:3:4", "the time \"1:2:3:4\" is not HH:MM or HH:MM:SS");
	bad("1-2-3-4", "the date \"1-2-3-4\" is not YYYY-MM-DD or MM-DD");
	bad("Mon 2026-01-01 12:00 x", "more than weekdays, a date and a time");
	bad("12", "\"12\" is neither weekdays, a date nor a time");
	bad("*", "\"*\" is neither weekdays");
	bad("1..:00", "hour \"1..\" is not a value");
	bad("99999999999:00", "hour 99999 is out of range");
	for (i = 0; i < (int)sizeof(longspec) - 1; i++)
		longspec[i] = i % 2 ? ',' : '1';
	longspec[sizeof(longspec) - 1] = '\0';
	bad(longspec, "longer than 256 bytes");

	/* Random schedules against brute force over both changes. */
	brute("spring forward", at("2026-03-29 01:59:59") + 1, 12);
	brute("fall back", at("2026-10-25 02:00:00") + 3600, 12);
	brute("an ordinary day", at("2026-06-10 12:00:00"), 4);

	return tap_done();
}
