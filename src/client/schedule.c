/*
 * schedule.c - when a job runs: a subset of systemd's OnCalendar.  See
 * schedule.h.
 *
 * A schedule is one set of allowed values per field (a bit per value):
 * weekday, year (1970..2199), month, day of the month, hour, minute,
 * second.  schedule_next() walks the local wall clock field by field,
 * from the largest: a field that does not match jumps to its next
 * allowed value and resets the smaller ones, one that has none left
 * carries into the next larger field.  So it costs a few steps a month
 * or a year at worst, never a step a second.  A wall time that matches
 * is then made an instant with mktime(3) (both DST flags, each checked
 * by localtime_r(3)), which is where DST enters:
 *
 *  - a wall time the clock skips (spring forward: 02:30 in Berlin on the
 *    last Sunday of March) runs at the instant the clock skips to (03:00
 *    there), once however many skipped times match, so that a daily
 *    02:30 job is not lost that night;
 *  - a wall time the clock shows twice (fall back: 02:00..02:59 in
 *    Berlin on the last Sunday of October) runs at both instants, so
 *    that "every two seconds" or "hourly" keeps its pace through the
 *    repeated hour (a daily 02:30 job runs twice that night).
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "schedule.h"

#define YEAR_MIN	1970
#define YEAR_MAX	2199	/* as systemd */
#define HORIZON_YEARS	100	/* schedule_next() looks this far ahead */
/* 100 years of the Gregorian calendar's average length, in seconds. */
#define HORIZON_SECS	((int64_t)HORIZON_YEARS * 146097 * 86400 / 400)
#define ZONE_MAX_SECS	(15 * 3600)	/* beyond any UTC offset */
#define FIELD_BITS	256	/* the widest field: the years */

/* The allowed values of one field: bit v - min for value v. */
struct field {
	uint64_t	 b[FIELD_BITS / 64];
};

/* What each field is called in messages and the values it takes. */
enum { F_YEAR, F_MON, F_MDAY, F_HOUR, F_MIN, F_SEC, F_COUNT };

static const struct {
	const char	*name;
	int		 min, max;
} ranges[F_COUNT] = {
	[F_YEAR] = { "year", YEAR_MIN, YEAR_MAX },
	[F_MON] = { "month", 1, 12 },
	[F_MDAY] = { "day", 1, 31 },
	[F_HOUR] = { "hour", 0, 23 },
	[F_MIN] = { "minute", 0, 59 },
	[F_SEC] = { "second", 0, 59 },
};

struct schedule {
	unsigned	 wday;		/* bit tm_wday: 0 Sunday .. 6 Sat. */
	struct field	 f[F_COUNT];
};

/* The systemd shorthands, as the full form they stand for. */
static const struct {
	const char	*name;
	const char	*full;
} shorthands[] = {
	{ "minutely", "*-*-* *:*:00" },
	{ "hourly", "*-*-* *:00:00" },
	{ "daily", "*-*-* 00:00:00" },
	{ "weekly", "Mon *-*-* 00:00:00" },
	{ "monthly", "*-*-01 00:00:00" },
	{ "yearly", "*-01-01 00:00:00" },
	{ "annually", "*-01-01 00:00:00" },
	{ "quarterly", "*-01,04,07,10-01 00:00:00" },
	{ "semiannually", "*-01,07-01 00:00:00" },
};

/* Weekdays from Monday, as systemd orders them in ranges. */
static const char *const wdays[7][2] = {
	{ "mon", "monday" }, { "tue", "tuesday" }, { "wed", "wednesday" },
	{ "thu", "thursday" }, { "fri", "friday" }, { "sat", "saturday" },
	{ "sun", "sunday" },
};

static void
fset(struct field *f, int i)
{
	f->b[i / 64] |= (uint64_t)1 << (i % 64);
}

static int
fisset(const struct field *f, int i)
{
	return (f->b[i / 64] >> (i % 64)) & 1;
}

/*
 * The first allowed value of field k from v to max (both values, not
 * bits), or -1.
 */
static int
fnext(const struct schedule *s, int k, int v, int max)
{
	const struct field *f = &s->f[k];
	int min = ranges[k].min, i;

	if (v < min)
		v = min;
	for (i = v - min; i <= max - min; i++) {
		if ((i % 64) == 0 && f->b[i / 64] == 0) {
			i += 63;
			continue;
		}
		if (fisset(f, i))
			return i + min;
	}
	return -1;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
mdays(int y, int m)
{
	static const int n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 2 && leap(y) ? 29 : n[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* A wall-clock time: fields as people write them (mon 1..12). */
struct wall {
	int	 y, mon, mday, hour, min, sec;
};

/* The date n days after 1970-01-01 into w's y, mon, mday. */
static void
civil_from_days(int64_t n, struct wall *w)
{
	int64_t era, doe, yoe, y, doy, mp;

	n += 719468;
	era = (n >= 0 ? n : n - 146096) / 146097;
	doe = n - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	w->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	w->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	w->y = (int)(y + (w->mon <= 2));
}

/* 0 Sunday .. 6 Saturday, as tm_wday. */
static int
weekday(int y, int m, int d)
{
	int64_t n = days_from_civil(y, m, d);

	return (int)(((n % 7) + 11) % 7);	/* 1970-01-01 was a Thursday */
}

/* A wall-clock time as seconds since 1970-01-01 00:00 of that clock. */
static int64_t
wall_secs(const struct wall *w)
{
	return days_from_civil(w->y, w->mon, w->mday) * 86400 +
	    w->hour * 3600 + w->min * 60 + w->sec;
}

/* The local wall-clock time of t, in seconds as wall_secs(); -1 fails. */
static int
local_secs(int64_t t, int64_t *out)
{
	struct tm tm;
	struct wall w;
	time_t tt = (time_t)t;

	if ((int64_t)tt != t || localtime_r(&tt, &tm) == NULL ||
	    tm.tm_year > 1000000 || tm.tm_year < -1000000)
		return -1;
	w.y = tm.tm_year + 1900;
	w.mon = tm.tm_mon + 1;
	w.mday = tm.tm_mday;
	w.hour = tm.tm_hour;
	w.min = tm.tm_min;
	w.sec = tm.tm_sec;
	*out = wall_secs(&w);
	return 0;
}

/*
 * The instants whose local time is w, ascending, into out: 0 (the clock
 * skips w), 1 or 2 (the clock shows w twice).
 */
static int
wall_instants(const struct wall *w, int64_t out[2])
{
	struct tm tm, chk;
	time_t t;
	int n = 0, dst;

	for (dst = 0; dst <= 1; dst++) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = w->y - 1900;
		tm.tm_mon = w->mon - 1;
		tm.tm_mday = w->mday;
		tm.tm_hour = w->hour;
		tm.tm_min = w->min;
		tm.tm_sec = w->sec;
		tm.tm_isdst = dst;
		if ((t = mktime(&tm)) == (time_t)-1 ||
		    localtime_r(&t, &chk) == NULL)
			continue;
		if (chk.tm_year != w->y - 1900 || chk.tm_mon != w->mon - 1 ||
		    chk.tm_mday != w->mday || chk.tm_hour != w->hour ||
		    chk.tm_min != w->min || chk.tm_sec != w->sec)
			continue;
		if (n == 1 && out[0] == (int64_t)t)
			continue;
		out[n++] = (int64_t)t;
	}
	if (n == 2 && out[0] > out[1]) {
		int64_t x = out[0];

		out[0] = out[1];
		out[1] = x;
	}
	return n;
}

/*
 * The first instant whose local time is later than w: for a w the
 * clock skips, the instant it skips to.  Every instant with local time
 * w lies within ZONE_MAX_SECS of wall_secs(w), so a binary search
 * there finds it.  -1 when localtime fails.
 */
static int64_t
skipped_to(const struct wall *w)
{
	int64_t ws = wall_secs(w), lo = ws - ZONE_MAX_SECS,
	    hi = ws + ZONE_MAX_SECS, mid, m;

	/* Invariant: local(lo) <= w < local(hi). */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (local_secs(mid, &m) == -1)
			return -1;
		if (m > ws)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/*
 * The first instant after `after` whose local time matches s, walking
 * the wall clock forward from the local time of after + 1.  A wall time
 * the clock shows twice is found at its later instant only when the
 * walk starts in the repeated stretch (schedule_next() handles that).
 */
static int64_t
search(const struct schedule *s, int64_t after)
{
	struct wall w;
	int64_t inst[2], r, ws, ws0, days;
	int n, ni, i, ylim;

	/*
	 * From the wall time after after's, or the one of after + 1 when
	 * the clock goes back there: after + 1 may be the instant the clock
	 * skips to, whose skipped times are still to be walked.
	 */
	if (after >= INT64_MAX - 1 || local_secs(after + 1, &ws) == -1 ||
	    local_secs(after, &ws0) == -1)
		return -1;
	if (ws0 + 1 < ws)
		ws = ws0 + 1;
	days = ws >= 0 ? ws / 86400 : -((-ws + 86399) / 86400);
	/* Nothing after YEAR_MAX, nothing within 100 years before 1970. */
	if (days > days_from_civil(YEAR_MAX, 12, 31) ||
	    days < days_from_civil(YEAR_MIN - HORIZON_YEARS - 1, 1, 1))
		return -1;
	civil_from_days(days, &w);
	ws -= days * 86400;
	w.hour = (int)(ws / 3600);
	w.min = (int)(ws / 60 % 60);
	w.sec = (int)(ws % 60);
	ylim = w.y + HORIZON_YEARS + 1;

	for (;;) {
		if (w.y > ylim || w.y > YEAR_MAX)
			return -1;
		if ((n = fnext(s, F_YEAR, w.y, YEAR_MAX)) == -1)
			return -1;
		if (n != w.y) {
			w.y = n;
			w.mon = w.mday = 1;
			w.hour = w.min = w.sec = 0;
			continue;
		}
		if ((n = fnext(s, F_MON, w.mon, 12)) == -1) {
			w.y++;
			w.mon = w.mday = 1;
			w.hour = w.min = w.sec = 0;
			continue;
		}
		if (n != w.mon) {
			w.mon = n;
			w.mday = 1;
			w.hour = w.min = w.sec = 0;
		}
		if ((n = fnext(s, F_MDAY, w.mday, mdays(w.y, w.mon))) == -1) {
			w.mon++;
			w.mday = 1;
			w.hour = w.min = w.sec = 0;
			continue;
		}
		if (n != w.mday) {
			w.mday = n;
			w.hour = w.min = w.sec = 0;
		}
		if (!(s->wday & (1u << weekday(w.y, w.mon, w.mday)))) {
			w.mday++;
			w.hour = w.min = w.sec = 0;
			continue;
		}
		if ((n = fnext(s, F_HOUR, w.hour, 23)) == -1) {
			w.mday++;
			w.hour = w.min = w.sec = 0;
			continue;
		}
		if (n != w.hour) {
			w.hour = n;
			w.min = w.sec = 0;
		}
		if ((n = fnext(s, F_MIN, w.min, 59)) == -1) {
			w.hour++;
			w.min = w.sec = 0;
			continue;
		}
		if (n != w.min) {
			w.min = n;
			w.sec = 0;
		}
		if ((n = fnext(s, F_SEC, w.sec, 59)) == -1) {
			w.min++;
			w.sec = 0;
			continue;
		}
		w.sec = n;

		/* w matches: the first of its instants after `after`. */
		ni = wall_instants(&w, inst);
		for (i = 0; i < ni; i++)
			if (inst[i] > after)
				return inst[i];
		if (ni == 0 && (r = skipped_to(&w)) > after)
			return r;
		w.sec++;
	}
}

/* Local time minus UTC at t, in seconds; 0 when localtime fails. */
static int64_t
utc_offset(int64_t t)
{
	int64_t m;

	return local_secs(t, &m) == -1 ? 0 : m - t;
}

int64_t
schedule_next(const struct schedule *s, int64_t after)
{
	int64_t r, r2, t0, lo, hi, mid, off0;

	if ((r = search(s, after)) == -1 || r - after > HORIZON_SECS)
		return -1;

	/*
	 * When the clock goes back within a day of after + 1, the wall
	 * times it repeats come again after the change: the walk above
	 * went past them if it started among them.  Walk again from the
	 * change and keep the earlier result.
	 */
	t0 = after + 1;
	if (t0 > INT64_MAX - 86400)
		return r;
	off0 = utc_offset(t0);
	if (utc_offset(t0 + 86400) >= off0 || r <= t0)
		return r;
	lo = t0;
	hi = t0 + 86400;
	while (hi - lo > 1) {	/* the first instant of the new offset */
		mid = lo + (hi - lo) / 2;
		if (utc_offset(mid) == off0)
			lo = mid;
		else
			hi = mid;
	}
	if (r >= hi && (r2 = search(s, hi - 1)) != -1 && r2 < r)
		r = r2;
	return r;
}

int64_t
schedule_interval(const struct schedule *s, int64_t t)
{
	int64_t a, b;

	if ((a = schedule_next(s, t)) == -1 || (b = schedule_next(s, a)) == -1)
		return 0;
	return b - a;
}

int64_t
schedule_prev(const struct schedule *s, int64_t t)
{
	int64_t d, lo, hi, a;

	/* A window [t - d, t) that holds a time: d doubles. */
	for (d = 60; d <= (int64_t)2 * 366 * 86400; d *= 2) {
		/* -1: nothing after t - d - 1, but there may be before. */
		if ((a = schedule_next(s, t - d - 1)) != -1 && a < t)
			break;
	}
	if (d > (int64_t)2 * 366 * 86400)
		return -1;
	/*
	 * The largest x in [t - d - 1, t) with schedule_next(x) < t:
	 * schedule_next() never decreases as x grows.
	 */
	lo = t - d - 1;
	hi = t;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if ((a = schedule_next(s, mid)) != -1 && a < t)
			lo = mid;
		else
			hi = mid;
	}
	return schedule_next(s, lo);
}

void
schedule_free(struct schedule *s)
{
	free(s);
}

/* err gets "\"SPEC\": " and the message. */
static void
fail(char *err, size_t errlen, const char *spec, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
fail(char *err, size_t errlen, const char *spec, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (errlen == 0)
		return;
	n = snprintf(err, errlen, "\"%s\": ", spec);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * A decimal number at *p (leading zeros allowed), advancing *p: 0, or
 * -1 when there is no digit.  Values above 99999 read as 99999, which
 * every range check refuses.
 */
static int
number(const char **p, int *v)
{
	const char *q = *p;
	int n = 0;

	if (!isdigit((unsigned char)*q))
		return -1;
	for (; isdigit((unsigned char)*q); q++)
		if ((n = n * 10 + (*q - '0')) > 99999)
			n = 99999;
	*p = q;
	*v = n;
	return 0;
}

/*
 * One field's text (between its separators, len bytes): "*" or a list of
 * values, ranges "a..b" and repetitions "a/step", "a..b/step".  Sets its
 * values in s->f[k].  0, or -1 with the message in err.
 */
static int
parse_field(struct schedule *s, int k, const char *text, size_t len,
    const char *spec, char *err, size_t errlen)
{
	const char *name = ranges[k].name, *p, *end = text + len;
	int min = ranges[k].min, max = ranges[k].max, a, b, step, v, range;

	if (len == 0) {
		fail(err, errlen, spec, "the %s is empty", name);
		return -1;
	}
	for (p = text; p < end; p++) {
		if (*p == '*') {
			a = min;
			b = max;
			step = 1;
			p++;
		} else {
			if (number(&p, &a) == -1)
				goto bad;
			b = a;
			step = 1;
			range = 0;
			if (end - p >= 2 && p[0] == '.' && p[1] == '.') {
				range = 1;
				p += 2;
				if (number(&p, &b) == -1)
					goto bad;
			}
			if (p < end && *p == '/') {
				p++;
				if (number(&p, &step) == -1)
					goto bad;
				if (step == 0) {
					fail(err, errlen, spec,
					    "the %s's repetition is 0", name);
					return -1;
				}
				if (!range)
					b = max;	/* "a/step" */
			}
		}
		if (p < end && *p != ',')
			goto bad;
		if (a < min || a > max || b < min || b > max) {
			fail(err, errlen, spec,
			    "%s %d is out of range (%d..%d)", name,
			    a < min || a > max ? a : b, min, max);
			return -1;
		}
		if (a > b) {
			fail(err, errlen, spec, "the %s range %d..%d goes "
			    "backwards", name, a, b);
			return -1;
		}
		for (v = a; v <= b; v += step)
			fset(&s->f[k], v - min);
		if (p == end)
			break;
	}
	if (end > text && end[-1] == ',')
		goto bad;
	return 0;
bad:
	fail(err, errlen, spec, "%s \"%.*s\" is not a value, a list, a range "
	    "\"a..b\" or a repetition \"a/step\"", name, (int)len, text);
	return -1;
}

/* The weekday named by the len bytes at p: 0 Monday .. 6 Sunday, or -1. */
static int
wday_name(const char *p, size_t len)
{
	int i, j;

	for (i = 0; i < 7; i++)
		for (j = 0; j < 2; j++)
			if (strlen(wdays[i][j]) == len &&
			    strncasecmp(wdays[i][j], p, len) == 0)
				return i;
	return -1;
}

/* "Mon,Wed..Fri": names (either length, any case), lists, ranges. */
static int
parse_wdays(struct schedule *s, const char *text, const char *spec,
    char *err, size_t errlen)
{
	const char *p = text, *e, *dots;
	int a, b, i;

	s->wday = 0;
	for (;;) {
		e = p + strcspn(p, ",");
		dots = NULL;
		for (i = 0; p + i + 1 < e; i++)
			if (p[i] == '.' && p[i + 1] == '.') {
				dots = p + i;
				break;
			}
		if (dots != NULL) {
			a = wday_name(p, (size_t)(dots - p));
			b = wday_name(dots + 2, (size_t)(e - dots - 2));
		} else
			a = b = wday_name(p, (size_t)(e - p));
		if (a == -1 || b == -1) {
			fail(err, errlen, spec, "\"%.*s\" is not a weekday or "
			    "a range of weekdays (Mon..Sun)", (int)(e - p), p);
			return -1;
		}
		if (a > b) {
			fail(err, errlen, spec, "the weekday range \"%.*s\" "
			    "goes backwards (weeks start on Monday)",
			    (int)(e - p), p);
			return -1;
		}
		for (i = a; i <= b; i++)
			s->wday |= 1u << ((i + 1) % 7);
		if (*e == '\0')
			return 0;
		p = e + 1;
	}
}

/*
 * Split text at each sep into at most 3 parts: their starts and lengths.
 * The number of parts, or 4 when there are more.
 */
static int
split(const char *text, int sep, const char *part[3], size_t plen[3])
{
	const char *p = text, *e;
	int n = 0;

	for (;;) {
		e = strchr(p, sep);
		if (n == 3)
			return 4;
		part[n] = p;
		plen[n] = e != NULL ? (size_t)(e - p) : strlen(p);
		n++;
		if (e == NULL)
			return n;
		p = e + 1;
	}
}

/* Whether some month s allows has some day s allows. */
static int
has_days(const struct schedule *s)
{
	int m, d;

	for (m = 1; m <= 12; m++) {
		if (!fisset(&s->f[F_MON], m - 1))
			continue;
		for (d = 1; d <= (m == 2 ? 29 : mdays(1970, m)); d++)
			if (fisset(&s->f[F_MDAY], d - 1))
				return 1;
	}
	return 0;
}

static struct schedule *
parse(const char *spec, const char *text, char *err, size_t errlen)
{
	struct schedule *s;
	char buf[SCHEDULE_SPEC_MAX + 1], *tok[4], *save, *t;
	const char *part[3];
	size_t plen[3], i;
	int ntok = 0, n, seen = 0, k;
	enum { SEEN_WDAY = 1, SEEN_DATE = 2, SEEN_TIME = 4 };

	if (strlen(text) > SCHEDULE_SPEC_MAX) {
		fail(err, errlen, spec, "longer than %d bytes",
		    SCHEDULE_SPEC_MAX);
		return NULL;
	}
	strcpy(buf, text);
	for (t = strtok_r(buf, " \t", &save); t != NULL;
	    t = strtok_r(NULL, " \t", &save)) {
		if (ntok == 3) {
			fail(err, errlen, spec, "more than weekdays, a date "
			    "and a time");
			return NULL;
		}
		tok[ntok++] = t;
	}
	if (ntok == 0) {
		fail(err, errlen, spec, "empty schedule");
		return NULL;
	}
	for (i = 0; i < sizeof(shorthands) / sizeof(shorthands[0]); i++) {
		if (strcasecmp(tok[0], shorthands[i].name) != 0)
			continue;
		if (ntok == 1)
			return parse(spec, shorthands[i].full, err, errlen);
		fail(err, errlen, spec, "\"%s\" stands alone (times are "
		    "local: no zone)", tok[0]);
		return NULL;
	}

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* What is not given: every day, at 00:00:00. */
	s->wday = 0x7f;
	for (k = F_YEAR; k <= F_MDAY; k++)
		for (n = ranges[k].min; n <= ranges[k].max; n++)
			fset(&s->f[k], n - ranges[k].min);
	for (k = F_HOUR; k <= F_SEC; k++)
		fset(&s->f[k], 0);

	for (n = 0; n < ntok; n++) {
		t = tok[n];
		if (strchr(t, ':') != NULL) {
			if (seen & SEEN_TIME)
				goto order;
			seen |= SEEN_TIME;
			k = split(t, ':', part, plen);
			if (k != 2 && k != 3) {
				fail(err, errlen, spec, "the time \"%s\" is "
				    "not HH:MM or HH:MM:SS", t);
				goto fail;
			}
			memset(&s->f[F_HOUR], 0, 3 * sizeof(s->f[0]));
			if (parse_field(s, F_HOUR, part[0], plen[0], spec,
			    err, errlen) == -1 ||
			    parse_field(s, F_MIN, part[1], plen[1], spec,
			    err, errlen) == -1)
				goto fail;
			if (k == 3) {
				if (parse_field(s, F_SEC, part[2], plen[2],
				    spec, err, errlen) == -1)
					goto fail;
			} else
				fset(&s->f[F_SEC], 0);
		} else if (strchr(t, '-') != NULL) {
			if (seen & (SEEN_DATE | SEEN_TIME))
				goto order;
			seen |= SEEN_DATE;
			k = split(t, '-', part, plen);
			if (k != 2 && k != 3) {
				fail(err, errlen, spec, "the date \"%s\" is "
				    "not YYYY-MM-DD or MM-DD", t);
				goto fail;
			}
			memset(&s->f[F_YEAR], 0, 3 * sizeof(s->f[0]));
			if (k == 2) {
				for (i = 0; i <= YEAR_MAX - YEAR_MIN; i++)
					fset(&s->f[F_YEAR], (int)i);
				part[2] = part[1];
				plen[2] = plen[1];
				part[1] = part[0];
				plen[1] = plen[0];
			} else if (parse_field(s, F_YEAR, part[0], plen[0],
			    spec, err, errlen) == -1)
				goto fail;
			if (parse_field(s, F_MON, part[1], plen[1], spec, err,
			    errlen) == -1 ||
			    parse_field(s, F_MDAY, part[2], plen[2], spec, err,
			    errlen) == -1)
				goto fail;
		} else if (isalpha((unsigned char)t[0])) {
			if (seen != 0)
				goto order;
			seen |= SEEN_WDAY;
			if (parse_wdays(s, t, spec, err, errlen) == -1)
				goto fail;
		} else {
			fail(err, errlen, spec, "\"%s\" is neither weekdays, "
			    "a date nor a time", t);
			goto fail;
		}
	}
	if (!has_days(s)) {
		fail(err, errlen, spec, "no month it names has a day it "
		    "names");
		goto fail;
	}
	return s;
order:
	fail(err, errlen, spec, "\"%s\" is out of place: weekdays, then the "
	    "date, then the time, each once (times are local: no zone)", t);
fail:
	free(s);
	return NULL;
}

struct schedule *
schedule_parse(const char *spec, char *err, size_t errlen)
{
	return parse(spec, spec, err, errlen);
}
