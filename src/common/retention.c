/*
 * retention.c - which snapshots a retention policy keeps.  See
 * retention.h.
 *
 * The snapshots are walked newest first (time, then id, descending).
 * keep-last N keeps the first N.  Each period rule (hourly, daily,
 * weekly, monthly, yearly) maps every snapshot to a key of its period in
 * local time and keeps the first snapshot met of each distinct key, until
 * it has kept N; so it keeps the newest snapshot of each of the newest N
 * periods that have snapshots, as restic and borg do.
 *
 * Local time can go back (the end of daylight saving time), so keys are
 * not always monotonic along the walk: a key is looked for among the
 * keys already kept unless it is below all of them (the usual case,
 * answered at once).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retention.h"

enum period { P_HOUR, P_DAY, P_WEEK, P_MONTH, P_YEAR, NPERIODS };

static const char *const period_name[NPERIODS] = {
	"hourly", "daily", "weekly", "monthly", "yearly",
};

int
retention_keeps_all(const struct retention *p)
{
	return p->last == 0 && p->hourly == 0 && p->daily == 0 &&
	    p->weekly == 0 && p->monthly == 0 && p->yearly == 0;
}

/* The key of the period of t: equal keys, same period. */
static int64_t
period_key(int64_t t, enum period per)
{
	static const int64_t secs[NPERIODS] = {
		3600, 86400, 7 * 86400, 31 * 86400, 366 * 86400
	};
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[64], *end;
	long long g;
	int64_t y;

	if ((int64_t)tt != t || localtime_r(&tt, &tm) == NULL)
		goto fallback;
	y = (int64_t)tm.tm_year + 1900;
	switch (per) {
	case P_HOUR:
		return ((y * 100 + tm.tm_mon) * 100 + tm.tm_mday) * 100 +
		    tm.tm_hour;
	case P_DAY:
		return (y * 100 + tm.tm_mon) * 100 + tm.tm_mday;
	case P_WEEK:
		/* ISO 8601 week-based year and week number. */
		if (strftime(buf, sizeof(buf), "%G %V", &tm) == 0)
			goto fallback;
		g = strtoll(buf, &end, 10);
		if (*end != ' ')
			goto fallback;
		return (int64_t)g * 100 + strtol(end + 1, NULL, 10);
	case P_MONTH:
		return y * 100 + tm.tm_mon;
	case P_YEAR:
	default:
		return y;
	}
fallback:
	/* A time the C library cannot convert: whole periods of UTC. */
	return t / secs[per] - (t % secs[per] < 0);
}

/* A snapshot's place in the walk (sorted copies: no global state). */
struct ord {
	int64_t		 time;
	uint64_t	 id;
	size_t		 i;		/* index into snaps */
};

/* Newest first: time descending, then id descending. */
static int
newest_first(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	if (x->id != y->id)
		return x->id > y->id ? -1 : 1;
	return 0;
}

static void
add_why(struct ret_snap *s, const char *rule)
{
	size_t len = strlen(s->why);

	snprintf(s->why + len, sizeof(s->why) - len, "%s%s",
	    len ? "," : "", rule);
}

/*
 * Keep the first snapshot of each distinct period along order[0..n),
 * until want periods are kept.  seen has room for n keys.
 */
static void
keep_periods(struct ret_snap *snaps, const struct ord *order, size_t n,
    enum period per, uint32_t want, int64_t *seen)
{
	size_t nseen = 0, k;
	int64_t key, min = 0;

	for (size_t i = 0; i < n && nseen < want; i++) {
		struct ret_snap *s = &snaps[order[i].i];

		key = period_key(s->time, per);
		if (nseen > 0 && key >= min) {
			for (k = 0; k < nseen; k++)
				if (seen[nseen - 1 - k] == key)
					break;
			if (k < nseen)
				continue;	/* that period is kept */
		}
		if (nseen == 0 || key < min)
			min = key;
		seen[nseen++] = key;
		s->keep = 1;
		add_why(s, period_name[per]);
	}
}

void
retention_apply(const struct retention *p, struct ret_snap *snaps, size_t n)
{
	const uint32_t want[NPERIODS] = {
		p->hourly, p->daily, p->weekly, p->monthly, p->yearly
	};
	struct ord *order;
	int64_t *seen;

	for (size_t i = 0; i < n; i++) {
		snaps[i].keep = 0;
		snaps[i].why[0] = '\0';
	}
	if (n == 0)
		return;
	order = calloc(n, sizeof(*order));
	seen = calloc(n, sizeof(*seen));
	if (retention_keeps_all(p) || order == NULL || seen == NULL) {
		/* Keeping everything is always safe, out of memory too. */
		for (size_t i = 0; i < n; i++) {
			snaps[i].keep = 1;
			snprintf(snaps[i].why, sizeof(snaps[i].why), "all");
		}
		free(order);
		free(seen);
		return;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (struct ord){ snaps[i].time, snaps[i].id, i };
	qsort(order, n, sizeof(*order), newest_first);

	for (size_t i = 0; i < n && i < p->last; i++) {
		snaps[order[i].i].keep = 1;
		add_why(&snaps[order[i].i], "last");
	}
	for (int per = 0; per < NPERIODS; per++)
		if (want[per] > 0)
			keep_periods(snaps, order, n, (enum period)per,
			    want[per], seen);
	/* Never needed with a rule above 0, but the promise is plain. */
	if (!snaps[order[0].i].keep) {
		snaps[order[0].i].keep = 1;
		add_why(&snaps[order[0].i], "newest");
	}
	free(order);
	free(seen);
}
