/*
 * forget.c - "gigavault forget": remove snapshots from the server, named
 * by id (or "latest"), or chosen by --keep-... rules that this client
 * computes with the same code as the server (src/retention.c).
 *
 * The server has the last word: its own retention policy may refuse a
 * removal (doc/protocol.md, "Forgetting snapshots").  With --dry-run
 * nothing is sent but the plan.
 */
#include "autoconf.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/retention.h"
#include "chain.h"
#include "client.h"

#define TIME_FMT	"%Y-%m-%dT%H:%M:%S%z"

/* One snapshot of the plan. */
struct fentry {
	struct snapinfo	 si;		/* si.id always; the rest when known */
	int		 known;		/* listed by the server */
	int		 remove;	/* to be removed */
	char		 why[48];	/* the rules that keep it */
	int		 result;	/* REMOTE_FORGET_*, or -1: not sent */
};

struct plan {
	struct fentry	*e;
	size_t		 n;
	int		 by_rules;
	int		 dry_run;
	uint64_t	 removed, refused, not_found;
};

/* The count of option opt ("keep-last", ...): 0 .. 2^32-1. */
static int
parse_count(const char *opt, const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v > UINT32_MAX) {
		warnx("--%s \"%s\": give a count from 0 to %u", opt, s,
		    UINT32_MAX);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Sets first (by name), newest first within a set. */
static int
by_set_newest(const void *a, const void *b)
{
	const struct fentry *x = a, *y = b;
	int d = strcmp(x->si.set, y->si.set);

	if (d != 0)
		return d;
	if (x->si.time != y->si.time)
		return x->si.time > y->si.time ? -1 : 1;
	return x->si.id > y->si.id ? -1 : x->si.id < y->si.id;
}

/* Plan by rules: each set (or only set) through retention_apply(). */
static int
plan_rules(struct plan *pl, const struct retention *pol, const char *set,
    const struct snapinfo *v, size_t n)
{
	struct ret_snap *rs;
	size_t i, j, k;

	if ((pl->e = calloc(n ? n : 1, sizeof(*pl->e))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (set == NULL || strcmp(v[i].set, set) == 0) {
			pl->e[pl->n].si = v[i];
			pl->e[pl->n].known = 1;
			pl->e[pl->n].result = -1;
			pl->n++;
		}
	qsort(pl->e, pl->n, sizeof(*pl->e), by_set_newest);
	if ((rs = calloc(pl->n ? pl->n : 1, sizeof(*rs))) == NULL)
		return -1;
	for (i = 0; i < pl->n; i = j) {
		for (j = i; j < pl->n &&
		    strcmp(pl->e[j].si.set, pl->e[i].si.set) == 0; j++) {
			rs[j - i].id = pl->e[j].si.id;
			/* A hostile time above INT64_MAX sorts as newest. */
			rs[j - i].time = pl->e[j].si.time > INT64_MAX ?
			    INT64_MAX : (int64_t)pl->e[j].si.time;
		}
		retention_apply(pol, rs, j - i);
		for (k = i; k < j; k++) {
			pl->e[k].remove = !rs[k - i].keep;
			memcpy(pl->e[k].why, rs[k - i].why,
			    sizeof(pl->e[k].why));
		}
	}
	free(rs);
	return 0;
}

/*
 * Plan by ids: each spec a snapshot id or "latest" (of set, else of
 * all).  Returns 0, or -1 after printing (a bad spec).
 */
static int
plan_ids(struct plan *pl, char **specs, int nspecs, const char *set,
    const struct snapinfo *v, size_t n)
{
	const struct snapinfo *si;
	uint64_t id;
	size_t i;

	if ((pl->e = calloc((size_t)nspecs, sizeof(*pl->e))) == NULL) {
		warnx("out of memory");
		return -1;
	}
	for (int s = 0; s < nspecs; s++) {
		si = NULL;
		if (strcmp(specs[s], "latest") == 0) {
			for (i = n; i > 0 && si == NULL; i--)
				if (set == NULL ||
				    strcmp(v[i - 1].set, set) == 0)
					si = &v[i - 1];
			if (si == NULL) {
				warnx("latest: no snapshot%s%s", set ?
				    " in set " : " yet", set ? set : "");
				return -1;
			}
			id = si->id;
		} else {
			if (client_snapshot_id(specs[s], &id) == -1)
				return -1;
			for (i = 0; i < n && si == NULL; i++)
				if (v[i].id == id)
					si = &v[i];
			/* With --set, another set's snapshot is not meant. */
			if (si != NULL && set != NULL &&
			    strcmp(si->set, set) != 0)
				si = NULL;
		}
		for (i = 0; i < pl->n; i++)
			if (pl->e[i].si.id == id)
				break;
		if (i < pl->n)
			continue;	/* named twice */
		pl->e[pl->n].si.id = id;
		if (si != NULL) {
			pl->e[pl->n].si = *si;
			pl->e[pl->n].known = 1;
		}
		pl->e[pl->n].remove = 1;
		pl->e[pl->n].result = -1;
		pl->n++;
	}
	return 0;
}

/* The server's answers (a result from remote_forget()), in words. */
static const struct {
	const char	*text, *json;
} answers[] = {
	[REMOTE_FORGET_REMOVED] = { "removed", "removed" },
	[REMOTE_FORGET_REFUSED] = { "kept by the server's retention policy",
	    "refused" },
	[REMOTE_FORGET_NOT_FOUND] = { "no such snapshot", "not found" },
};

static const char *
result_text(const struct fentry *e, int dry_run)
{
	if (!e->remove)
		return "kept";
	if (!e->known && (dry_run || e->result == -1))
		return "no such snapshot";
	if (dry_run)
		return "would be removed";
	return e->result >= 0 ? answers[e->result].text : "not sent";
}

static const char *
result_json(const struct fentry *e, int dry_run)
{
	if (!e->remove || (dry_run && e->known))
		return NULL;
	if (!e->known && (dry_run || e->result == -1))
		return "not found";
	return e->result >= 0 ? answers[e->result].json : NULL;
}

static int
print_json(const struct plan *pl)
{
	json_t *o, *arr, *x, *set;
	char when[64];
	const char *res;

	if ((o = json_object()) == NULL || (arr = json_array()) == NULL) {
		json_decref(o);
		return -1;
	}
	json_object_set_new(o, "dry_run", json_boolean(pl->dry_run));
	json_object_set_new(o, "snapshots", arr);
	for (size_t i = 0; i < pl->n; i++) {
		const struct fentry *e = &pl->e[i];

		if ((x = json_object()) == NULL)
			goto oom;
		json_object_set_new(x, "id",
		    json_integer((json_int_t)e->si.id));
		if (e->known) {
			client_fmt_time((int64_t)e->si.time, TIME_FMT, when,
			    sizeof(when));
			set = client_jstr(e->si.set);
			json_object_set_new(x, "set", set ? set : json_null());
			json_object_set_new(x, "time", json_string(when));
			json_object_set_new(x, "unix_time",
			    json_integer((json_int_t)e->si.time));
		}
		json_object_set_new(x, "action", json_string(e->remove ?
		    "remove" : "keep"));
		if (pl->by_rules)
			json_object_set_new(x, "why", json_string(e->why));
		res = result_json(e, pl->dry_run);
		json_object_set_new(x, "result", res ? json_string(res) :
		    json_null());
		json_array_append_new(arr, x);
	}
	json_object_set_new(o, "removed",
	    json_integer((json_int_t)pl->removed));
	json_object_set_new(o, "refused",
	    json_integer((json_int_t)pl->refused));
	json_object_set_new(o, "not_found",
	    json_integer((json_int_t)pl->not_found));
	json_dumpf(o, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
	return 0;
oom:
	json_decref(o);
	return -1;
}

/* The plan of the --keep rules, set by set. */
static void
print_plan(const struct plan *pl)
{
	char when[64];
	size_t i, j, nrm;

	for (i = 0; i < pl->n; i = j) {
		nrm = 0;
		for (j = i; j < pl->n &&
		    strcmp(pl->e[j].si.set, pl->e[i].si.set) == 0; j++)
			nrm += pl->e[j].remove != 0;
		fputs("set ", stdout);
		client_putsafe(stdout, pl->e[i].si.set);
		printf(": %zu snapshots, keep %zu, remove %zu\n", j - i,
		    j - i - nrm, nrm);
		for (size_t k = i; k < j; k++) {
			const struct fentry *e = &pl->e[k];

			client_fmt_time((int64_t)e->si.time, TIME_FMT, when,
			    sizeof(when));
			printf("  %-6s %8llu  %s%s%s\n", e->remove ?
			    "remove" : "keep", (unsigned long long)e->si.id,
			    when, e->why[0] ? "  " : "", e->why);
		}
	}
	if (pl->n == 0)
		printf("no snapshots\n");
}

int
cmd_forget(struct client *c, int argc, char **argv)
{
	enum {
		OPT_DRY = OPT_CMD_FIRST, OPT_LAST, OPT_HOURLY, OPT_DAILY,
		OPT_WEEKLY, OPT_MONTHLY, OPT_YEARLY,
	};
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "keep-last", required_argument, NULL, OPT_LAST },
		{ "keep-hourly", required_argument, NULL, OPT_HOURLY },
		{ "keep-daily", required_argument, NULL, OPT_DAILY },
		{ "keep-weekly", required_argument, NULL, OPT_WEEKLY },
		{ "keep-monthly", required_argument, NULL, OPT_MONTHLY },
		{ "keep-yearly", required_argument, NULL, OPT_YEARLY },
		{ NULL, 0, NULL, 0 }
	};
	struct retention pol = { 0 };
	uint32_t *keep[] = { &pol.last, &pol.hourly, &pol.daily,
	    &pol.weekly, &pol.monthly, &pol.yearly };	/* OPT_LAST order */
	struct plan pl = { 0 };
	struct snapinfo *v = NULL;
	uint64_t *ids = NULL;
	uint8_t *res = NULL;
	size_t n = 0, nids = 0;
	char err[1024];
	int ch, li, rc = EXIT_ERROR;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    &li)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		if (ch == OPT_DRY)
			pl.dry_run = 1;
		else if (ch >= OPT_LAST && ch <= OPT_YEARLY) {
			pl.by_rules = 1;
			if (parse_count(longopts[li].name, optarg,
			    keep[ch - OPT_LAST]) == -1)
				return EXIT_ERROR;
		} else
			return client_usage(c);
	}
	if (pl.by_rules && optind < argc) {
		warnx("forget: name snapshots or give --keep-... rules, not "
		    "both");
		return client_usage(c);
	}
	if (!pl.by_rules && optind == argc) {
		warnx("forget: name the snapshots to forget, or give "
		    "--keep-... rules");
		return client_usage(c);
	}
	if (client_setup(c) == -1 || client_session(c) == -1)
		return EXIT_ERROR;
	if (remote_list(c->remote, "", &v, &n, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	if (pl.by_rules) {
		if (plan_rules(&pl, &pol, c->set, v, n) == -1) {
			warnx("out of memory");
			goto done;
		}
	} else if (plan_ids(&pl, argv + optind, argc - optind, c->set, v,
	    n) == -1)
		goto done;

	/* What to send: planned removals (by id: unknown ones too, unless
	 * --set excluded them, so that the server answers for them). */
	if ((ids = calloc(pl.n ? pl.n : 1, sizeof(*ids))) == NULL ||
	    (res = calloc(pl.n ? pl.n : 1, 1)) == NULL) {
		warnx("out of memory");
		goto done;
	}
	for (size_t i = 0; i < pl.n; i++)
		if (pl.e[i].remove && (pl.e[i].known || c->set == NULL))
			ids[nids++] = pl.e[i].si.id;
	if (!pl.dry_run && nids > 0) {
		if (remote_forget(c->remote, ids, nids, res, err,
		    sizeof(err)) == -1) {
			warnx("forget: %s", err);
			goto done;
		}
		for (size_t i = 0, k = 0; i < pl.n && k < nids; i++)
			if (pl.e[i].si.id == ids[k])
				pl.e[i].result = res[k++];
		/* Removed by us: not a rollback when the newest is gone. */
		for (size_t i = 0; i < pl.n; i++)
			if (pl.e[i].known &&
			    pl.e[i].result == REMOTE_FORGET_REMOVED)
				chain_forgotten(c, &pl.e[i].si);
	}
	for (size_t i = 0; i < pl.n; i++) {
		const struct fentry *e = &pl.e[i];

		if (!e->remove)
			continue;
		if (!e->known && (pl.dry_run || e->result == -1))
			pl.not_found++;
		else if (pl.dry_run)
			continue;
		else if (e->result == REMOTE_FORGET_REMOVED)
			pl.removed++;
		else if (e->result == REMOTE_FORGET_REFUSED)
			pl.refused++;
		else
			pl.not_found++;
	}

	if (c->json) {
		if (print_json(&pl) == -1) {
			warnx("out of memory");
			goto done;
		}
	} else {
		if (pl.by_rules)
			print_plan(&pl);
		for (size_t i = 0; i < pl.n; i++) {
			if (!pl.e[i].remove || (pl.by_rules && pl.dry_run))
				continue;
			printf("snapshot %llu: %s\n",
			    (unsigned long long)pl.e[i].si.id,
			    result_text(&pl.e[i], pl.dry_run));
		}
		if (pl.dry_run)
			printf("dry run: nothing removed\n");
	}
	rc = pl.refused || pl.not_found ? EXIT_PARTIAL : 0;
done:
	free(ids);
	free(res);
	free(pl.e);
	free(v);
	if (fflush(stdout) != 0)
		rc = EXIT_ERROR;
	return rc;
}
