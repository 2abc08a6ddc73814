/*
 * unit-retention.c - TAP unit tests of src/common/retention.c: keep-last,
 * keep-hourly/daily/weekly/monthly/yearly at their boundaries (local
 * time, ISO weeks across a year end, a day that daylight saving time
 * walks back into), rules that combine, a policy of zeros that keeps
 * everything, the newest snapshot always kept, any input order, equal
 * times.  Run by t/00-unit-retention.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/retention.h"
#include "tap.h"

#define NMAX	64

static struct ret_snap s[NMAX];
static size_t ns;

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Unix time of a UTC date. */
static int64_t
utc(int y, int mon, int d, int h, int mi, int sec)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm);
}

static void
reset(void)
{
	memset(s, 0x55, sizeof(s));	/* keep/why must be set by apply */
	ns = 0;
}

static void
add(uint64_t id, int64_t t)
{
	s[ns].id = id;
	s[ns].time = t;
	ns++;
}

static struct ret_snap *
find(uint64_t id)
{
	for (size_t i = 0; i < ns; i++)
		if (s[i].id == id)
			return &s[i];
	return NULL;
}

/* The ids kept, highest first, as "5,3,1" (static buffer). */
static const char *
kept(const struct retention *p)
{
	static char buf[512];
	uint64_t best, prev = UINT64_MAX;
	size_t len = 0;

	retention_apply(p, s, ns);
	buf[0] = '\0';
	for (;;) {
		best = 0;
		for (size_t i = 0; i < ns; i++)
			if (s[i].keep && s[i].id < prev && s[i].id > best)
				best = s[i].id;
		if (best == 0)
			break;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%llu",
		    len ? "," : "", (unsigned long long)best);
		prev = best;
	}
	return buf;
}

static int
why_is(uint64_t id, const char *want)
{
	struct ret_snap *x = find(id);

	if (x == NULL || strcmp(x->why, want) != 0) {
		printf("# snapshot %llu: why \"%s\", want \"%s\"\n",
		    (unsigned long long)id, x ? x->why : "(none)", want);
		return 0;
	}
	return 1;
}

static int
is(const char *got, const char *want, const char *name)
{
	int good = strcmp(got, want) == 0;

	ok(good, name);
	if (!good)
		printf("# got \"%s\", want \"%s\"\n", got, want);
	return good;
}

static void
test_all_zero(void)
{
	struct retention p = { 0 };
	int all = 1;

	ok(retention_keeps_all(&p), "a policy of zeros keeps all");
	p.yearly = 1;
	ok(!retention_keeps_all(&p), "... one rule above 0 does not");
	p.yearly = 0;

	reset();
	for (uint64_t i = 1; i <= 10; i++)
		add(i, utc(2024, 1, 1, 0, 0, 0) - (int64_t)i * 86400 * 40);
	is(kept(&p), "10,9,8,7,6,5,4,3,2,1", "zeros: every snapshot kept");
	for (size_t i = 0; i < ns; i++)
		all = all && strcmp(s[i].why, "all") == 0;
	ok(all, "... each because of \"all\"");

	reset();
	retention_apply(&p, s, 0);
	p.last = 3;
	retention_apply(&p, s, 0);
	ok(1, "no snapshots: nothing to do, no crash");
}

static void
test_last(void)
{
	struct retention p = { .last = 2 };

	reset();
	add(3, 3000);
	add(1, 1000);
	add(4, 4000);
	add(2, 2000);
	is(kept(&p), "4,3", "keep-last 2 of 4 (any order): the 2 newest");
	ok(why_is(4, "last") && why_is(3, "last") && why_is(2, "") &&
	    why_is(1, ""), "... why \"last\"; the others nothing");
	ok(find(1)->keep == 0 && find(2)->keep == 0, "... keep set to 0");

	p.last = 10;
	is(kept(&p), "4,3,2,1", "keep-last above the count keeps all");

	/* Equal times: the higher id is the newer. */
	reset();
	add(7, 5000);
	add(9, 5000);
	add(8, 5000);
	p.last = 1;
	is(kept(&p), "9", "equal times: keep-last 1 keeps the highest id");
	p.last = 2;
	is(kept(&p), "9,8", "... keep-last 2 the two highest");

	/* Time decides before id. */
	reset();
	add(1, 9000);
	add(2, 1000);
	p.last = 1;
	is(kept(&p), "1", "an older id with a newer time is the newest");
}

static void
test_hourly(void)
{
	struct retention p = { .hourly = 2 };

	set_tz("UTC0");
	reset();
	add(1, utc(2024, 5, 1, 10, 5, 0));
	add(2, utc(2024, 5, 1, 10, 55, 0));
	add(3, utc(2024, 5, 1, 11, 10, 0));
	add(4, utc(2024, 5, 1, 11, 59, 59));
	add(5, utc(2024, 5, 1, 12, 0, 0));
	is(kept(&p), "5,4", "keep-hourly 2: 12:00:00 and 11:59:59 are two "
	    "hours");
	p.hourly = 3;
	is(kept(&p), "5,4,2", "keep-hourly 3: the newest of each hour");
	ok(why_is(2, "hourly") && why_is(1, "") && why_is(3, ""),
	    "... why \"hourly\"");
	p.hourly = 100;
	is(kept(&p), "5,4,2", "keep-hourly 100: one per hour, no more");

	/* The same hour of another day is another period. */
	reset();
	add(1, utc(2024, 5, 1, 10, 0, 0));
	add(2, utc(2024, 5, 2, 10, 0, 0));
	p.hourly = 5;
	is(kept(&p), "2,1", "10:00 of two days: two hours");
}

static void
test_daily(void)
{
	struct retention p = { .daily = 2 };

	set_tz("UTC0");
	reset();
	add(1, utc(2024, 2, 28, 8, 0, 0));
	add(2, utc(2024, 2, 28, 23, 59, 59));
	add(3, utc(2024, 2, 29, 0, 0, 0));
	add(4, utc(2024, 2, 29, 18, 0, 0));
	add(5, utc(2024, 3, 1, 0, 0, 0));
	is(kept(&p), "5,4", "keep-daily 2: the newest of Mar 1 and Feb 29");
	p.daily = 3;
	is(kept(&p), "5,4,2", "keep-daily 3: and 23:59:59 of Feb 28");
	p.daily = 0;
	p.last = 1;
	p.hourly = 0;
	is(kept(&p), "5", "keep-last 1 alone");

	/* Gaps: the last N days that HAVE snapshots, not N calendar days. */
	reset();
	add(1, utc(2023, 1, 1, 12, 0, 0));
	add(2, utc(2023, 6, 1, 12, 0, 0));
	add(3, utc(2024, 1, 1, 12, 0, 0));
	p = (struct retention){ .daily = 2 };
	is(kept(&p), "3,2", "keep-daily counts days with snapshots");
}

static void
test_local_time(void)
{
	struct retention p = { .daily = 5 };

	/* 13:00 and 15:00 UTC: one day in UTC, two at UTC+10. */
	reset();
	add(1, utc(2024, 1, 1, 13, 0, 0));
	add(2, utc(2024, 1, 1, 15, 0, 0));
	set_tz("UTC0");
	is(kept(&p), "2", "UTC: one day, one snapshot kept");
	set_tz("XST-10");
	is(kept(&p), "2,1", "UTC+10: 23:00 and 01:00 are two days");
	set_tz("XST3");
	p = (struct retention){ .hourly = 5 };
	is(kept(&p), "2,1", "UTC-3: two hours");
	set_tz("UTC0");
}

static void
test_dst_back(void)
{
	struct retention p = { .daily = 5 };
	time_t t;
	struct tm tm1, tm2, tm3;

	/*
	 * UTC-3, daylight time UTC-2 from March to the first Sunday of
	 * November at 00:30 local, when clocks go back to 23:30 of the day
	 * before: 00:15 of Nov 3 comes before 23:45 of Nov 2.
	 */
	set_tz("XST3XDT,M3.2.0,M11.1.0/0:30");
	reset();
	add(1, utc(2024, 11, 2, 14, 0, 0));	/* 12:00 Nov 2 */
	add(2, utc(2024, 11, 3, 2, 15, 0));	/* 00:15 Nov 3 */
	add(3, utc(2024, 11, 3, 2, 45, 0));	/* 23:45 Nov 2 */
	t = (time_t)find(1)->time;
	localtime_r(&t, &tm1);
	t = (time_t)find(2)->time;
	localtime_r(&t, &tm2);
	t = (time_t)find(3)->time;
	localtime_r(&t, &tm3);
	ok(tm1.tm_mday == 2 && tm2.tm_mday == 3 && tm3.tm_mday == 2 &&
	    tm3.tm_hour == 23, "the C library walks the clock back (setup)");
	is(kept(&p), "3,2", "keep-daily over a day walked back into: one "
	    "per distinct day");
	p.daily = 1;
	is(kept(&p), "3", "keep-daily 1: the newest only");
	set_tz("UTC0");
}

static void
test_weekly(void)
{
	struct retention p = { .weekly = 10 };

	set_tz("UTC0");
	/* ISO weeks: 2020-12-28 (Mon) .. 2021-01-03 (Sun) is 2020-W53. */
	reset();
	add(1, utc(2020, 12, 27, 23, 0, 0));	/* Sun, 2020-W52 */
	add(2, utc(2020, 12, 28, 0, 0, 0));	/* Mon, 2020-W53 */
	add(3, utc(2021, 1, 1, 12, 0, 0));	/* Fri, 2020-W53 */
	add(4, utc(2021, 1, 3, 23, 59, 59));	/* Sun, 2020-W53 */
	add(5, utc(2021, 1, 4, 0, 0, 0));	/* Mon, 2021-W01 */
	is(kept(&p), "5,4,1", "keep-weekly: ISO weeks run across the year "
	    "end, Monday to Sunday");
	ok(why_is(4, "weekly") && why_is(3, "") && why_is(2, ""),
	    "... the Sunday keeps 2020-W53");
	p.weekly = 2;
	is(kept(&p), "5,4", "keep-weekly 2");

	/* 2024-12-30 (Mon) is in 2025-W01, like 2025-01-05 (Sun). */
	reset();
	add(1, utc(2024, 12, 29, 12, 0, 0));	/* 2024-W52 */
	add(2, utc(2024, 12, 30, 12, 0, 0));	/* 2025-W01 */
	add(3, utc(2025, 1, 5, 12, 0, 0));	/* 2025-W01 */
	p.weekly = 10;
	is(kept(&p), "3,1", "2024-12-30 and 2025-01-05 are one ISO week");
	/* Week 1 of two years is two periods. */
	reset();
	add(1, utc(2024, 1, 3, 0, 0, 0));	/* 2024-W01 */
	add(2, utc(2025, 1, 1, 0, 0, 0));	/* 2025-W01 */
	is(kept(&p), "2,1", "week 1 of 2024 and of 2025 differ");
}

static void
test_monthly_yearly(void)
{
	struct retention p = { .monthly = 2 };

	set_tz("UTC0");
	reset();
	add(1, utc(2024, 1, 15, 0, 0, 0));
	add(2, utc(2024, 1, 31, 23, 59, 59));
	add(3, utc(2024, 2, 1, 0, 0, 0));
	add(4, utc(2024, 2, 29, 12, 0, 0));
	add(5, utc(2024, 3, 1, 0, 0, 0));
	is(kept(&p), "5,4", "keep-monthly 2: March and February");
	p.monthly = 3;
	is(kept(&p), "5,4,2", "keep-monthly 3: and Jan 31 23:59:59");
	/* The same month of another year is another period. */
	add(6, utc(2025, 1, 10, 0, 0, 0));
	p.monthly = 4;
	is(kept(&p), "6,5,4,2", "January 2025 is not January 2024");

	reset();
	add(1, utc(2022, 6, 1, 0, 0, 0));
	add(2, utc(2022, 12, 31, 23, 59, 59));
	add(3, utc(2023, 1, 1, 0, 0, 0));
	add(4, utc(2023, 12, 31, 23, 59, 59));
	add(5, utc(2024, 1, 1, 0, 0, 0));
	p = (struct retention){ .yearly = 2 };
	is(kept(&p), "5,4", "keep-yearly 2: Dec 31 23:59:59 ends a year");
	p.yearly = 5;
	is(kept(&p), "5,4,2", "keep-yearly 5: one per year");
	ok(why_is(2, "yearly"), "... why \"yearly\"");
}

static void
test_combined(void)
{
	struct retention p = { .last = 2, .daily = 3, .monthly = 2 };

	set_tz("UTC0");
	reset();
	add(1, utc(2024, 3, 20, 10, 0, 0));
	add(2, utc(2024, 4, 1, 10, 0, 0));
	add(3, utc(2024, 4, 2, 10, 0, 0));
	add(4, utc(2024, 4, 3, 9, 0, 0));
	add(5, utc(2024, 4, 3, 10, 0, 0));
	add(6, utc(2024, 4, 3, 11, 0, 0));
	/*
	 * last 2: 6, 5.  daily 3: 6 (Apr 3), 3 (Apr 2), 2 (Apr 1).
	 * monthly 2: 6 (April), 1 (March).
	 */
	is(kept(&p), "6,5,3,2,1", "rules combine: kept by any rule");
	ok(why_is(6, "last,daily,monthly") && why_is(5, "last") &&
	    why_is(3, "daily") && why_is(2, "daily") &&
	    why_is(1, "monthly") && why_is(4, ""),
	    "... why names every rule, in order");

	/* Every rule at 1: each keeps the newest; why lists them all. */
	p = (struct retention){ 1, 1, 1, 1, 1, 1 };
	is(kept(&p), "6", "every rule at 1 keeps the newest only");
	ok(why_is(6, "last,hourly,daily,weekly,monthly,yearly"),
	    "... why lists all six rules (it fits)");
}

static void
test_newest_always(void)
{
	uint32_t *rule[6];
	struct retention p;
	int good = 1;

	set_tz("UTC0");
	rule[0] = &p.last;
	rule[1] = &p.hourly;
	rule[2] = &p.daily;
	rule[3] = &p.weekly;
	rule[4] = &p.monthly;
	rule[5] = &p.yearly;
	reset();
	/* Shuffled order, the newest in the middle. */
	for (uint64_t i = 1; i <= 40; i++)
		add((i * 17) % 41, utc(2020, 1, 1, 0, 0, 0) +
		    (int64_t)((i * 17) % 41) * 5 * 3600);
	for (int r = 0; r < 6; r++) {
		memset(&p, 0, sizeof(p));
		*rule[r] = 1;
		good = good && strcmp(kept(&p), "40") == 0;
	}
	ok(good, "any single rule at 1 keeps exactly the newest");

	/* Many snapshots, many periods: counts add up. */
	memset(&p, 0, sizeof(p));
	p.daily = 7;
	retention_apply(&p, s, ns);
	{
		size_t n = 0;

		for (size_t i = 0; i < ns; i++)
			n += s[i].keep != 0;
		ok(n == 7 && find(40)->keep, "keep-daily 7 over 8+ days "
		    "keeps 7, the newest among them");
	}
}

int
main(void)
{
	test_all_zero();
	test_last();
	test_hourly();
	test_daily();
	test_local_time();
	test_dst_back();
	test_weekly();
	test_monthly_yearly();
	test_combined();
	test_newest_always();
	return tap_done();
}
