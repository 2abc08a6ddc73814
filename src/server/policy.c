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

		if (p == NULL) {
			co->oom = 1;
			return 1;
		}
		co->v = p;
		co->cap = cap;
	}
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
	struct collect co = { NULL, 0, 0, 0 };
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
		return r;
	}
	if (co.oom) {
		free(co.v);
		snprintf(err, errlen, "policy: out of memory");
		return CAT_ERROR;
	}
	if (co.n == 0)
		return CAT_OK;
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
	*out = co.v;
	*n = co.n;
	return CAT_OK;
}
