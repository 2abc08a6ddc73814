/*
 * policy.c - the retention policy that applies to a client's set, and
 * which of the set's snapshots it keeps.  See policy.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "policy.h"

int
policy_lookup(struct catalog *c, const struct retention *def,
    uint64_t client, const char *set, struct retention *out)
{
	int r;

	if ((r = catalog_policy_get(c, client, set, out)) == CAT_NOTFOUND) {
		*out = *def;
		return CAT_OK;
	}
	return r;
}

struct collect {
	struct ret_snap	*v;
	uint8_t		*prot;		/* n: protected */
	size_t		 n, cap;
	int		 oom;
};

static int
collect_one(void *arg, const struct cat_snapshot *s)
{
	struct collect *co = arg;

	if (co->n == co->cap) {
		size_t cap = co->cap ? co->cap * 2 : 64;
		struct ret_snap *p = reallocarray(co->v, cap, sizeof(*p));
		uint8_t *q;

		if (p == NULL) {
			co->oom = 1;
			return 1;
		}
		co->v = p;
		if ((q = realloc(co->prot, cap)) == NULL) {
			co->oom = 1;
			return 1;
		}
		co->prot = q;
		co->cap = cap;
	}
	co->prot[co->n] = s->protected != 0;
	memset(&co->v[co->n], 0, sizeof(co->v[co->n]));
	co->v[co->n].id = s->id;
	co->v[co->n].time = s->time > INT64_MAX ? INT64_MAX :
	    (int64_t)s->time;
	co->n++;
	return 0;
}

int
policy_evaluate(struct catalog *c, const struct retention *def,
    uint64_t client, const char *set, struct ret_snap **out, size_t *n,
    char *err, size_t errlen)
{
	struct collect co = { NULL, NULL, 0, 0, 0 };
	struct retention p;
	size_t newest = 0, last = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = policy_lookup(c, def, client, set, &p)) != CAT_OK) {
		snprintf(err, errlen, "%s", catalog_strerror(c));
		return r;
	}
	/* set is never "" here: that would list every set. */
	if (set[0] == '\0')
		return CAT_OK;
	if ((r = catalog_snapshots(c, client, set, 0, collect_one, &co)) !=
	    CAT_OK) {
		snprintf(err, errlen, "%s", catalog_strerror(c));
		free(co.v);
		free(co.prot);
		return r;
	}
	if (co.oom) {
		free(co.v);
		free(co.prot);
		snprintf(err, errlen, "policy: out of memory");
		return CAT_ERROR;
	}
	if (co.n == 0) {
		free(co.prot);
		return CAT_OK;
	}
	retention_apply(&p, co.v, co.n);
	for (size_t i = 1; i < co.n; i++) {
		if (co.v[i].time > co.v[newest].time ||
		    (co.v[i].time == co.v[newest].time &&
		    co.v[i].id > co.v[newest].id))
			newest = i;
		if (co.v[i].id > co.v[last].id)
			last = i;
	}
	for (size_t i = 0; i < co.n; i++)
		if ((i == newest || i == last) && !co.v[i].keep) {
			co.v[i].keep = 1;
			snprintf(co.v[i].why, sizeof(co.v[i].why), "newest");
		}
	for (size_t i = 0; i < co.n; i++)
		if (co.prot[i] && !co.v[i].keep) {
			co.v[i].keep = 1;
			snprintf(co.v[i].why, sizeof(co.v[i].why), "protected");
		}
	free(co.prot);
	*out = co.v;
	*n = co.n;
	return CAT_OK;
}

struct source_walk {
	const char	*set;
	struct retention own, dflt;
	int		 has_own, has_dflt;
};

static int
source_row(void *arg, const char *set, const struct retention *p)
{
	struct source_walk *w = arg;

	if (strcmp(set, w->set) == 0) {
		w->own = *p;
		w->has_own = 1;
	}
	if (set[0] == '\0') {
		w->dflt = *p;
		w->has_dflt = 1;
	}
	return 0;
}

int
policy_source(struct catalog *c, const struct retention *def,
    uint64_t client, const char *set, struct retention *out,
    enum policy_from *from)
{
	struct source_walk w;

	memset(&w, 0, sizeof(w));
	w.set = set;
	if (catalog_policies(c, client, source_row, &w) != CAT_OK)
		return CAT_ERROR;
	if (w.has_own && set[0] != '\0') {
		*out = w.own;
		*from = POLICY_FROM_SET;
	} else if (w.has_dflt) {
		*out = w.dflt;
		*from = POLICY_FROM_CLIENT;
	} else {
		*out = *def;
		*from = POLICY_FROM_SERVER;
	}
	return CAT_OK;
}

const char *
policy_from_name(enum policy_from f)
{
	switch (f) {
	case POLICY_FROM_SET:
		return "set";
	case POLICY_FROM_CLIENT:
		return "client";
	default:
		return "server";
	}
}

int
policy_forget(struct catalog *c, const struct retention *def,
    const struct cat_client *cl, uint64_t snap, char *why, size_t whylen)
{
	struct cat_snapshot s;
	struct ret_snap *rs = NULL;
	size_t n = 0;
	int r;

	why[0] = '\0';
	if ((r = catalog_snapshot_get(c, cl->id, snap, &s)) != CAT_OK) {
		if (r == CAT_ERROR)
			snprintf(why, whylen, "%s", catalog_strerror(c));
		return r;
	}
	if (s.protected)
		return CAT_PROTECTED;
	if (!cl->allow_forget) {
		if (policy_evaluate(c, def, cl->id, s.set, &rs, &n, why,
		    whylen) != CAT_OK)
			return CAT_ERROR;
		for (size_t i = 0; i < n; i++)
			if (rs[i].id == snap && rs[i].keep) {
				snprintf(why, whylen, "%s", rs[i].why);
				free(rs);
				return POLICY_KEPT;
			}
		free(rs);
	}
	if ((r = catalog_forget(c, cl->id, snap)) == CAT_ERROR)
		snprintf(why, whylen, "%s", catalog_strerror(c));
	return r;
}
