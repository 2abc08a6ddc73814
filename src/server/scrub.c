/*
 * scrub.c - read every pack, check every record and every index entry
 * (and that a linked blob's links are indexed), name the snapshots hurt
 * by damage: those whose root, meta or legacy node reaches a damaged
 * blob through links.  See scrub.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/monotime.h"
#include "catalog.h"
#include "scrub.h"
#include "store.h"

/* An index entry, as the scrub began. */
struct entry {
	uint64_t	 client;
	uint8_t		 id[BLOB_ID_LEN];
	struct cat_blob	 loc;
	const char	*why;		/* NULL: fine */
};

struct evec {
	struct entry	*v;
	size_t		 n, cap;
	int		 oom;
};

/* A link between two index entries (indexes into ents, sorted by key). */
struct edge {
	size_t		 child, parent;
};

struct rvec {
	struct store_rec *v;
	size_t		 n, cap;
	int		 oom;
};

struct scrub {
	struct catalog		*cat;
	struct store		*store;
	const struct hk_hooks	*hk;
	struct scrub_result	*res;
	uint64_t		 rate;
	int64_t			 start;		/* mono_ms() */
	struct evec		 ents;
	struct rvec		 recs;	/* of the pack being read */
	struct edge		*up;	/* link -> linking entry, by link */
	size_t			 nup, capup;
	/*
	 * Each client's next snapshot id before the index scan: a
	 * snapshot at or above it (or of a client added since) was
	 * committed after the scan, and its blobs may be missing from
	 * ents without any damage.
	 */
	struct cat_client	*clients;
	size_t			 nclients;
};

static void say(struct scrub *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct scrub *sc, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (sc->hk == NULL || sc->hk->report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sc->hk->report(sc->hk->arg, line);
}

static int
cancelled(struct scrub *sc)
{
	if (!sc->res->cancelled && sc->hk != NULL && sc->hk->cancel != NULL &&
	    sc->hk->cancel(sc->hk->arg))
		sc->res->cancelled = 1;
	return sc->res->cancelled;
}

static int
collect_entry(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	struct evec *ev = arg;

	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : 1024;
		struct entry *q = reallocarray(ev->v, cap, sizeof(*q));

		if (q == NULL) {
			ev->oom = 1;
			return 1;
		}
		ev->v = q;
		ev->cap = cap;
	}
	ev->v[ev->n].client = client;
	memcpy(ev->v[ev->n].id, id, BLOB_ID_LEN);
	ev->v[ev->n].loc = *loc;
	ev->v[ev->n].why = NULL;
	ev->n++;
	return 0;
}

static int
cmp_place(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->loc.pack != y->loc.pack)
		return x->loc.pack < y->loc.pack ? -1 : 1;
	return x->loc.offset < y->loc.offset ? -1 :
	    x->loc.offset > y->loc.offset;
}

static int
cmp_key(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return memcmp(x->id, y->id, BLOB_ID_LEN);
}

/* Sleep as long as reading faster than the rate limit. */
static void
throttle(struct scrub *sc)
{
	struct timespec ts;
	double want, have;

	if (sc->rate == 0)
		return;
	want = (double)sc->res->bytes / (double)sc->rate;
	have = (double)(mono_ms() - sc->start) / 1000.0;
	if (want <= have)
		return;
	want -= have;
	if (want > 1.0)
		want = 1.0;	/* look at cancel at least every second */
	ts.tv_sec = (time_t)want;
	ts.tv_nsec = (long)((want - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
record_seen(void *arg, const struct store_rec *rec)
{
	struct scrub *sc = arg;
	struct rvec *rv = &sc->recs;

	sc->res->records++;
	sc->res->bytes += rec->size;
	if (rv->n == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 1024;
		struct store_rec *q = reallocarray(rv->v, cap, sizeof(*q));

		if (q == NULL) {
			rv->oom = 1;
			return 1;
		}
		rv->v = q;
		rv->cap = cap;
	}
	rv->v[rv->n++] = *rec;
	throttle(sc);
	return cancelled(sc);
}

static const struct store_rec *
record_at(const struct rvec *rv, uint64_t offset)
{
	size_t lo = 0, hi = rv->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rv->v[mid].offset == offset)
			return &rv->v[mid];
		if (rv->v[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Read pack and judge the entries e[0..n) that point into it.  Returns
 * 0 or -1 (err set).
 */
static int
scrub_pack(struct scrub *sc, const struct store_pack *pk, struct entry *e,
    size_t n, char *err, size_t errlen)
{
	uint64_t bad_at = 0, indexed = 0, end;
	size_t ngood = 0;
	int r;

	sc->recs.n = 0;
	r = store_scan(sc->store, pk->pack, record_seen, sc, &bad_at);
	if (r == -1) {
		snprintf(err, errlen, "scrub: %s", store_strerror(sc->store));
		return -1;
	}
	if (sc->recs.oom) {
		snprintf(err, errlen, "scrub: out of memory");
		return -1;
	}
	sc->res->packs++;
	if (sc->res->cancelled)
		return 0;
	end = r == 1 ? bad_at : pk->size;
	if (r == 1)
		sc->res->bytes += pk->size - bad_at;
	for (size_t i = 0; i < n; i++) {
		const struct store_rec *rec = record_at(&sc->recs,
		    e[i].loc.offset);

		if (rec == NULL)
			e[i].why = e[i].loc.offset >= end ?
			    "unreadable bytes in the pack" :
			    "no record at that offset";
		else if (memcmp(rec->id, e[i].id, BLOB_ID_LEN) != 0 ||
		    rec->length != e[i].loc.length ||
		    rec->nlinks != e[i].loc.nlinks ||
		    (rec->client != 0 && rec->client != e[i].client))
			e[i].why = "record of another blob";
		else if (!rec->good)
			e[i].why = "checksum mismatch";
		else {
			ngood++;
			indexed += rec->size;
		}
	}
	/* What no good entry points at is garbage (or damage, above). */
	if (pk->size > indexed)
		sc->res->garbage += pk->size - indexed;
	if (r == 1 && n > ngood)
		say(sc, "pack %08x: cannot be parsed from offset %llu on",
		    pk->pack, (unsigned long long)bad_at);
	return 0;
}

static ssize_t
find_key(const struct scrub *sc, uint64_t client, const uint8_t *id)
{
	struct entry k, *hit;

	k.client = client;
	memcpy(k.id, id, BLOB_ID_LEN);
	hit = bsearch(&k, sc->ents.v, sc->ents.n, sizeof(k), cmp_key);
	return hit == NULL ? -1 : hit - sc->ents.v;
}

static int
cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	return x->child < y->child ? -1 : x->child > y->child;
}

/*
 * Every good linked entry's links must be indexed (prune keeps them so):
 * one that links to a missing blob is damaged too.  Remembers each link
 * for blame().  0 or -1 (err set).
 */
static int
check_links(struct scrub *sc, char *err, size_t errlen)
{
	for (size_t i = 0; i < sc->ents.n && !sc->res->cancelled; i++) {
		struct entry *e = &sc->ents.v[i];
		uint8_t (*links)[BLOB_ID_LEN];
		uint32_t n, absent = 0;
		int r;

		if (e->why != NULL || e->loc.nlinks == 0)
			continue;
		r = store_links(sc->store, e->client, e->id, &e->loc, &links,
		    &n);
		if (r == -1) {
			snprintf(err, errlen, "scrub: %s",
			    store_strerror(sc->store));
			return -1;
		}
		if (r == 1) {
			e->why = "its links cannot be read";
			continue;
		}
		for (uint32_t j = 0; j < n; j++) {
			ssize_t k = find_key(sc, e->client, links[j]);

			if (k < 0) {
				absent++;
				continue;
			}
			if (sc->nup == sc->capup) {
				size_t cap = sc->capup ? sc->capup * 2 : 1024;
				struct edge *q = reallocarray(sc->up, cap,
				    sizeof(*q));

				if (q == NULL) {
					free(links);
					snprintf(err, errlen, "scrub: out of "
					    "memory");
					return -1;
				}
				sc->up = q;
				sc->capup = cap;
			}
			sc->up[sc->nup].child = (size_t)k;
			sc->up[sc->nup++].parent = i;
		}
		free(links);
		if (absent > 0)
			e->why = "it links to blobs that are not indexed";
		(void)cancelled(sc);
	}
	if (sc->nup > 0)
		qsort(sc->up, sc->nup, sizeof(*sc->up), cmp_edge);
	return 0;
}

struct snap_vec {
	uint64_t		*client;
	struct cat_snapshot	*v;
	size_t			 n, cap;
	int			 oom;
};

static int
collect_snap(void *arg, uint64_t client, const struct cat_snapshot *s)
{
	struct snap_vec *sv = arg;

	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 64;
		struct cat_snapshot *q = reallocarray(sv->v, cap, sizeof(*q));
		uint64_t *c = reallocarray(sv->client, cap, sizeof(*c));

		if (q != NULL)
			sv->v = q;
		if (c != NULL)
			sv->client = c;
		if (q == NULL || c == NULL) {
			sv->oom = 1;
			return 1;
		}
		sv->cap = cap;
	}
	sv->client[sv->n] = client;
	sv->v[sv->n++] = *s;
	return 0;
}

/* Whether client's snapshot snap was committed before the index scan. */
static int
snap_scanned(const struct scrub *sc, uint64_t client, uint64_t snap)
{
	for (size_t c = 0; c < sc->nclients; c++)
		if (sc->clients[c].id == client)
			return snap < sc->clients[c].next_snapshot;
	return 0;
}

/*
 * Report the damaged entries and the snapshots that reach one: the
 * damage spreads up the links to everything that links to it.
 * Snapshots committed after the index scan are left out.
 */
static int
blame(struct scrub *sc, char *err, size_t errlen)
{
	struct cat_client *clients = NULL;
	struct snap_vec sv = { NULL, NULL, 0, 0, 0 };
	size_t nclients = 0, *queue = NULL, nq = 0;
	uint8_t *hurt = NULL;
	int rc = -1;

	if (catalog_clients(sc->cat, &clients, &nclients) != CAT_OK) {
		snprintf(err, errlen, "scrub: clients: %s",
		    catalog_strerror(sc->cat));
		return -1;
	}
	if ((hurt = calloc(sc->ents.n, 1)) == NULL ||
	    (queue = calloc(sc->ents.n, sizeof(*queue))) == NULL) {
		snprintf(err, errlen, "scrub: out of memory");
		goto done;
	}
	for (size_t i = 0; i < sc->ents.n; i++) {
		struct entry *e = &sc->ents.v[i];
		const char *name = "?";
		char hex[2 * BLOB_ID_LEN + 1];

		if (e->why == NULL)
			continue;
		hurt[i] = 1;
		queue[nq++] = i;
		for (size_t c = 0; c < nclients; c++)
			if (clients[c].id == e->client)
				name = clients[c].name;
		hex_encode(e->id, BLOB_ID_LEN, hex);
		say(sc, "damaged blob %s of client %s in pack %08x at offset "
		    "%llu: %s", hex, name, e->loc.pack,
		    (unsigned long long)e->loc.offset, e->why);
	}
	for (size_t q = 0; q < nq; q++) {
		struct edge k = { queue[q], 0 }, *hit;
		size_t lo;

		if ((hit = bsearch(&k, sc->up, sc->nup, sizeof(k),
		    cmp_edge)) == NULL)
			continue;
		for (lo = (size_t)(hit - sc->up); lo > 0 &&
		    sc->up[lo - 1].child == queue[q]; lo--)
			;
		for (; lo < sc->nup && sc->up[lo].child == queue[q]; lo++)
			if (!hurt[sc->up[lo].parent]) {
				hurt[sc->up[lo].parent] = 1;
				queue[nq++] = sc->up[lo].parent;
			}
	}
	if (catalog_snapshots_all(sc->cat, collect_snap, &sv) != CAT_OK ||
	    sv.oom) {
		snprintf(err, errlen, "scrub: snapshots: %s", sv.oom ?
		    "out of memory" : catalog_strerror(sc->cat));
		goto done;
	}
	for (size_t s = 0; s < sv.n; s++) {
		const struct cat_snapshot *snap = &sv.v[s];
		const uint8_t *tops[3] = { snap->root, snap->meta,
		    snap->legacy };
		const char *name = "?";
		int bad = 0;

		if (!snap_scanned(sc, sv.client[s], snap->id))
			continue;
		for (int t = 0; t < (snap->has_legacy ? 3 : 2); t++) {
			ssize_t k = find_key(sc, sv.client[s], tops[t]);

			if (k < 0 || hurt[k])
				bad = 1;
		}
		if (!bad)
			continue;
		for (size_t c = 0; c < nclients; c++)
			if (clients[c].id == sv.client[s])
				name = clients[c].name;
		sc->res->snapshots++;
		say(sc, "snapshot %llu of client %s (set %s) reaches damaged "
		    "or missing blobs", (unsigned long long)snap->id, name,
		    snap->set);
	}
	rc = 0;
done:
	free(sv.v);
	free(sv.client);
	free(hurt);
	free(queue);
	free(clients);
	return rc;
}

int
scrub_run(struct catalog *cat, const char *datadir, uint64_t rate,
    const struct hk_hooks *hk, struct scrub_result *res, char *err,
    size_t errlen)
{
	struct store_pack *pk = NULL;
	struct scrub sc;
	size_t npk = 0, e = 0, nbad = 0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&sc, 0, sizeof(sc));
	sc.cat = cat;
	sc.hk = hk;
	sc.res = res;
	sc.rate = rate;
	sc.start = mono_ms();
	if (store_open(datadir, cat, &sc.store, err, errlen) == -1)
		return -1;
	/* The snapshots the scan can judge: those committed before it. */
	if (catalog_clients(cat, &sc.clients, &sc.nclients) != CAT_OK) {
		snprintf(err, errlen, "scrub: clients: %s",
		    catalog_strerror(cat));
		goto done;
	}
	/* The index first: what it names was on disk before. */
	if (catalog_blobs_scan(cat, collect_entry, &sc.ents) != CAT_OK ||
	    sc.ents.oom) {
		snprintf(err, errlen, "scrub: blob index: %s", sc.ents.oom ?
		    "out of memory" : catalog_strerror(cat));
		goto done;
	}
	res->blobs = sc.ents.n;
	if (sc.ents.n > 0)
		qsort(sc.ents.v, sc.ents.n, sizeof(*sc.ents.v), cmp_place);
	if (store_packs(sc.store, &pk, &npk) == -1) {
		snprintf(err, errlen, "scrub: %s", store_strerror(sc.store));
		goto done;
	}
	for (size_t i = 0; i < npk && !cancelled(&sc); i++) {
		size_t a;

		/* Entries in packs that do not exist (below this one). */
		for (; e < sc.ents.n && sc.ents.v[e].loc.pack < pk[i].pack; e++)
			sc.ents.v[e].why = "its pack is missing";
		a = e;
		while (e < sc.ents.n && sc.ents.v[e].loc.pack == pk[i].pack)
			e++;
		if (scrub_pack(&sc, &pk[i], sc.ents.v + a, e - a, err,
		    errlen) == -1)
			goto done;
	}
	if (res->cancelled) {
		rc = 0;
		goto done;
	}
	for (; e < sc.ents.n; e++)
		sc.ents.v[e].why = "its pack is missing";
	/* By key from here on: links and snapshots name blobs by key. */
	if (sc.ents.n > 0)
		qsort(sc.ents.v, sc.ents.n, sizeof(*sc.ents.v), cmp_key);
	if (check_links(&sc, err, errlen) == -1)
		goto done;
	for (size_t i = 0; i < sc.ents.n; i++)
		if (sc.ents.v[i].why != NULL)
			nbad++;
	res->damaged = nbad;
	if (nbad > 0 && blame(&sc, err, errlen) == -1)
		goto done;
	rc = 0;
done:
	free(pk);
	free(sc.recs.v);
	free(sc.ents.v);
	free(sc.up);
	free(sc.clients);
	store_close(sc.store);
	return rc;
}
