/*
 * prune.c - forget what the retention policy does not keep, free the
 * blobs no snapshot reaches after their grace period (mark and sweep
 * over the links), rewrite or remove packs.  See prune.h for the order
 * of the steps and why each is safe.
 */
#include "autoconf.h"

#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "catalog.h"
#include "config.h"
#include "policy.h"
#include "prune.h"
#include "store.h"

#define ROUND_PACKS	256	/* packs locked at once */
#define FREE_BATCH	4096	/* ids per freeing transaction */
#define MARK_BATCH	4096	/* ids per lookup while marking */

/* A blob by its key: client and id. */
struct bkey {
	uint64_t	 client;
	uint8_t		 id[BLOB_ID_LEN];
	uint32_t	 length;
};

/* A snapshot a dry run would forget. */
struct skey {
	uint64_t	 client, id;
};

/*
 * The mark set: 16-byte fingerprints of (client, id), two salted hashes,
 * in an open-addressing table (0, 0 = empty).  A false positive would
 * keep a blob while its children went, so it must be as unlikely as a
 * collision of 128-bit hashes.
 */
struct fp {
	uint64_t	 a, b;
};

struct markset {
	struct fp	*v;
	size_t		 cap, n;	/* cap: a power of two */
	uint64_t	 salt[2];
};

/*
 * A sweep candidate: indexed, not marked.  Small: prune holds one per
 * unreachable blob.
 */
struct cand {
	uint64_t	 client;
	uint8_t		 id[BLOB_ID_LEN];
	uint32_t	 pack, offset, length, nlinks, touched;
	uint32_t	 nkids;		/* its candidate links: kids[first..] */
	size_t		 first;
	uint32_t	 indeg;		/* candidates linking to it, left */
	uint8_t		 spared;	/* kept, with everything below it */
};

struct bvec {
	struct bkey	*v;
	size_t		 n, cap;
	int		 oom;
};

struct prune {
	struct catalog		*cat;
	const struct gv_config	*cfg;
	struct store		*store;
	int			 dry;
	const struct hk_hooks	*hk;
	struct prune_result	*res;
	char			*err;
	size_t			 errlen;

	struct skey		*gone;	/* dry run: snapshots it would forget */
	size_t			 ngone, capgone;
	struct bvec		 freed;	/* dry run: would be freed, sorted */
};

static void say(struct prune *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct prune *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (p->hk == NULL || p->hk->report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p->hk->report(p->hk->arg, line);
}

static int
cancelled(struct prune *p)
{
	if (p->res->cancelled)
		return 1;
	if (p->hk != NULL && p->hk->cancel != NULL && p->hk->cancel(p->hk->arg))
		p->res->cancelled = 1;
	return p->res->cancelled;
}

static int
failed(struct prune *p, const char *what, const char *why)
{
	snprintf(p->err, p->errlen, "prune: %s: %s", what, why);
	return -1;
}

static int
bvec_add(struct bvec *bv, uint64_t client, const uint8_t *id,
    uint32_t length)
{
	if (bv->n == bv->cap) {
		size_t cap = bv->cap ? bv->cap * 2 : 1024;
		struct bkey *q = reallocarray(bv->v, cap, sizeof(*q));

		if (q == NULL) {
			bv->oom = 1;
			return -1;
		}
		bv->v = q;
		bv->cap = cap;
	}
	bv->v[bv->n].client = client;
	memcpy(bv->v[bv->n].id, id, BLOB_ID_LEN);
	bv->v[bv->n].length = length;
	bv->n++;
	return 0;
}

static int
cmp_bkey(const void *a, const void *b)
{
	const struct bkey *x = a, *y = b;

	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return memcmp(x->id, y->id, BLOB_ID_LEN);
}

/* How many entries of the sorted bv equal (client, id). */
static size_t
bvec_count(const struct bvec *bv, uint64_t client, const uint8_t *id)
{
	struct bkey k;
	const struct bkey *hit;
	size_t lo, hi, n = 0;

	if (bv->n == 0)
		return 0;
	k.client = client;
	memcpy(k.id, id, BLOB_ID_LEN);
	if ((hit = bsearch(&k, bv->v, bv->n, sizeof(k), cmp_bkey)) == NULL)
		return 0;
	lo = hi = (size_t)(hit - bv->v);
	while (lo > 0 && cmp_bkey(&bv->v[lo - 1], &k) == 0)
		lo--;
	while (hi < bv->n && cmp_bkey(&bv->v[hi], &k) == 0)
		hi++;
	n = hi - lo;
	return n;
}

static int
cmp_skey(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;

	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* ------------------------------------------------------ 1. retention */

struct sets {
	char		(*v)[CAT_NAME_MAX + 1];
	size_t		 n, cap;
	int		 oom;
};

static int
collect_set(void *arg, const struct cat_snapshot *s)
{
	struct sets *ss = arg;

	for (size_t i = 0; i < ss->n; i++)
		if (strcmp(ss->v[i], s->set) == 0)
			return 0;
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 8;
		char (*q)[CAT_NAME_MAX + 1] = reallocarray(ss->v, cap,
		    sizeof(*q));

		if (q == NULL) {
			ss->oom = 1;
			return 1;
		}
		ss->v = q;
		ss->cap = cap;
	}
	snprintf(ss->v[ss->n++], sizeof(ss->v[0]), "%s", s->set);
	return 0;
}

/* Forget (or, dry, note) what the policy does not keep in one set. */
static int
retain_set(struct prune *p, const struct cat_client *cl, const char *set)
{
	struct retention pol;
	struct ret_snap *rs;
	char why[256];
	size_t n;

	if (policy_lookup(p->cat, &p->cfg->retention, cl->id, set, &pol) !=
	    CAT_OK)
		return failed(p, "policy", catalog_strerror(p->cat));
	if (retention_keeps_all(&pol))
		return 0;
	if (policy_evaluate(p->cat, &p->cfg->retention, cl->id, set, &rs, &n,
	    why, sizeof(why)) != CAT_OK)
		return failed(p, "policy", why);
	for (size_t i = 0; i < n; i++) {
		int r;

		/* Kept only for its flag: the rules would drop it. */
		if (rs[i].keep && strcmp(rs[i].why, "protected") == 0)
			say(p, "kept snapshot %s/%llu of set %s (protected; the "
			    "retention policy does not keep it)", cl->name,
			    (unsigned long long)rs[i].id, set);
		if (rs[i].keep)
			continue;
		if (p->dry) {
			if (p->ngone == p->capgone) {
				size_t cap = p->capgone ? p->capgone * 2 : 64;
				struct skey *q = reallocarray(p->gone, cap,
				    sizeof(*q));

				if (q == NULL) {
					free(rs);
					return failed(p, "retention",
					    "out of memory");
				}
				p->gone = q;
				p->capgone = cap;
			}
			p->gone[p->ngone].client = cl->id;
			p->gone[p->ngone++].id = rs[i].id;
		} else if ((r = catalog_forget(p->cat, cl->id, rs[i].id)) ==
		    CAT_ERROR) {
			free(rs);
			return failed(p, "forget", catalog_strerror(p->cat));
		} else if (r == CAT_NOTFOUND || r == CAT_PROTECTED)
			continue;	/* forgotten or protected meanwhile */
		p->res->snapshots++;
		say(p, "%s snapshot %s/%llu of set %s (not kept by the "
		    "retention policy)", p->dry ? "would forget" : "forgot",
		    cl->name, (unsigned long long)rs[i].id, set);
	}
	free(rs);
	return 0;
}

static int
retain(struct prune *p)
{
	struct cat_client *cl;
	size_t ncl;
	int rc = 0;

	if (catalog_clients(p->cat, &cl, &ncl) != CAT_OK)
		return failed(p, "clients", catalog_strerror(p->cat));
	for (size_t i = 0; i < ncl && rc == 0 && !cancelled(p); i++) {
		struct sets ss = { NULL, 0, 0, 0 };

		if (catalog_snapshots(p->cat, cl[i].id, NULL, 0, collect_set,
		    &ss) != CAT_OK)
			rc = failed(p, "snapshots", catalog_strerror(p->cat));
		else if (ss.oom)
			rc = failed(p, "snapshots", "out of memory");
		for (size_t j = 0; rc == 0 && j < ss.n; j++)
			rc = retain_set(p, &cl[i], ss.v[j]);
		free(ss.v);
	}
	free(cl);
	if (p->ngone > 0)
		qsort(p->gone, p->ngone, sizeof(*p->gone), cmp_skey);
	return rc;
}

/* ------------------------------------------------- 2. mark and sweep */

static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static struct fp
fingerprint(const struct markset *ms, uint64_t client, const uint8_t *id)
{
	struct fp f;
	uint64_t x[2];

	for (int h = 0; h < 2; h++) {
		x[h] = mix(ms->salt[h] ^ client);
		for (int i = 0; i < BLOB_ID_LEN; i += 8) {
			uint64_t w = 0;

			for (int j = 0; j < 8; j++)
				w = w << 8 | id[i + j];
			x[h] = mix(x[h] ^ w);
		}
	}
	f.a = x[0] != 0 ? x[0] : 1;	/* never the empty slot */
	f.b = x[1];
	return f;
}

static int
mark_has(const struct markset *ms, struct fp f)
{
	if (ms->cap == 0)
		return 0;
	for (size_t i = f.a & (ms->cap - 1); ms->v[i].a != 0;
	    i = (i + 1) & (ms->cap - 1))
		if (ms->v[i].a == f.a && ms->v[i].b == f.b)
			return 1;
	return 0;
}

/* Add f: 1 when new, 0 when it was there, -1 out of memory. */
static int
mark_add(struct markset *ms, struct fp f)
{
	size_t i;

	if (mark_has(ms, f))
		return 0;
	if ((ms->n + 1) * 2 > ms->cap) {
		size_t cap = ms->cap ? ms->cap * 2 : 1 << 16;
		struct fp *v = calloc(cap, sizeof(*v));

		if (v == NULL)
			return -1;
		for (size_t j = 0; j < ms->cap; j++) {
			if (ms->v[j].a == 0)
				continue;
			for (i = ms->v[j].a & (cap - 1); v[i].a != 0;
			    i = (i + 1) & (cap - 1))
				;
			v[i] = ms->v[j];
		}
		free(ms->v);
		ms->v = v;
		ms->cap = cap;
	}
	for (i = f.a & (ms->cap - 1); ms->v[i].a != 0;
	    i = (i + 1) & (ms->cap - 1))
		;
	ms->v[i] = f;
	ms->n++;
	return 1;
}

struct mark {
	struct prune	*p;
	struct markset	 set;
	struct bvec	 todo;		/* marked, links not yet followed */
	uint64_t	 cutoff;
	uint64_t	 unreadable;	/* reached, links unreadable */
	int		 oom;
};

/* Mark (client, id); a new mark is queued to follow its links. */
static int
mark(struct mark *m, uint64_t client, const uint8_t *id)
{
	int r = mark_add(&m->set, fingerprint(&m->set, client, id));

	if (r == 1 && bvec_add(&m->todo, client, id, 0) == -1)
		r = -1;
	if (r == -1)
		m->oom = 1;
	return r == -1;
}

static int
snapshot_gone(const struct prune *p, uint64_t client, uint64_t id)
{
	struct skey k = { client, id };

	return p->ngone > 0 && bsearch(&k, p->gone, p->ngone,
	    sizeof(*p->gone), cmp_skey) != NULL;
}

static int
mark_snapshot(void *arg, uint64_t client, const struct cat_snapshot *s)
{
	struct mark *m = arg;

	if (snapshot_gone(m->p, client, s->id))
		return 0;
	return mark(m, client, s->root) || mark(m, client, s->meta) ||
	    (s->has_legacy && mark(m, client, s->legacy));
}

static int
mark_recent(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	struct mark *m = arg;

	if (loc->touched <= m->cutoff)
		return 0;
	return mark(m, client, id);
}

/* Follow the links of everything marked until nothing new is marked. */
static int
mark_closure(struct mark *m)
{
	struct prune *p = m->p;
	uint8_t (*ids)[BLOB_ID_LEN], found[MARK_BATCH];
	struct cat_blob *locs;
	int rc = 0;

	ids = calloc(MARK_BATCH, sizeof(*ids));
	locs = calloc(MARK_BATCH, sizeof(*locs));
	if (ids == NULL || locs == NULL) {
		free(ids);
		free(locs);
		return failed(p, "mark", "out of memory");
	}
	while (m->todo.n > 0 && rc == 0) {
		uint64_t client = m->todo.v[m->todo.n - 1].client;
		size_t n = 0;

		/* A batch of one client's ids from the top of the stack. */
		while (m->todo.n > 0 && n < MARK_BATCH &&
		    m->todo.v[m->todo.n - 1].client == client)
			memcpy(ids[n++], m->todo.v[--m->todo.n].id,
			    BLOB_ID_LEN);
		if (catalog_blobs_lookup(p->cat, client,
		    (const uint8_t (*)[BLOB_ID_LEN])ids, n, locs, found) !=
		    CAT_OK) {
			rc = failed(p, "mark", catalog_strerror(p->cat));
			break;
		}
		for (size_t i = 0; i < n && rc == 0; i++) {
			uint8_t (*links)[BLOB_ID_LEN];
			uint32_t nl;
			int r;

			if (!found[i] || locs[i].nlinks == 0)
				continue;
			r = store_links(p->store, client, ids[i], &locs[i],
			    &links, &nl);
			if (r == -1) {
				rc = failed(p, "links",
				    store_strerror(p->store));
				break;
			}
			if (r == 1) {
				char hex[2 * BLOB_ID_LEN + 1];

				hex_encode(ids[i], BLOB_ID_LEN, hex);
				say(p, "cannot read the links of blob %s: %s; "
				    "run scrub", hex, store_strerror(p->store));
				m->unreadable++;
				continue;
			}
			for (uint32_t j = 0; j < nl; j++)
				if (mark(m, client, links[j]))
					break;
			free(links);
			if (m->oom)
				rc = failed(p, "mark", "out of memory");
		}
	}
	free(ids);
	free(locs);
	/* The stack is empty now: give its memory back before the sweep. */
	free(m->todo.v);
	memset(&m->todo, 0, sizeof(m->todo));
	return rc;
}

struct sweep {
	struct prune	*p;
	struct mark	*m;
	struct cand	*c;
	size_t		 n, cap;
	size_t		*kids;		/* candidate indexes */
	size_t		 nkids, capkids;
	uint64_t	 unreadable;	/* candidates, links unknown */
	int		 oom;
	/* The freeing transaction under way: its batch, its stack. */
	size_t		*idx;		/* ids[i]: candidate idx[i] */
	size_t		*stack;
	size_t		 nstack, capstack;
	struct cat_fresh *fr;
};

static int
collect_cand(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	struct sweep *sw = arg;
	struct cand *c;

	/* Touched ones too: spared when deleted, they spare their kids. */
	if (mark_has(&sw->m->set, fingerprint(&sw->m->set, client, id)))
		return 0;
	if (sw->n == sw->cap) {
		size_t cap = sw->cap ? sw->cap * 2 : 1024;
		struct cand *q = reallocarray(sw->c, cap, sizeof(*q));

		if (q == NULL) {
			sw->oom = 1;
			return 1;
		}
		sw->c = q;
		sw->cap = cap;
	}
	c = &sw->c[sw->n++];
	memset(c, 0, sizeof(*c));
	c->client = client;
	memcpy(c->id, id, BLOB_ID_LEN);
	c->pack = loc->pack;
	c->offset = (uint32_t)loc->offset;
	c->length = loc->length;
	c->nlinks = loc->nlinks;
	c->touched = loc->touched > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)loc->touched;
	return 0;
}

static void
cand_loc(const struct cand *c, struct cat_blob *loc)
{
	memset(loc, 0, sizeof(*loc));
	loc->pack = c->pack;
	loc->offset = c->offset;
	loc->length = c->length;
	loc->nlinks = c->nlinks;
	loc->touched = c->touched;
}

static int
cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return memcmp(x->id, y->id, BLOB_ID_LEN);
}

static struct cand *
cand_find(const struct sweep *sw, uint64_t client, const uint8_t *id)
{
	struct cand key;

	key.client = client;
	memcpy(key.id, id, BLOB_ID_LEN);
	return bsearch(&key, sw->c, sw->n, sizeof(*sw->c), cmp_cand);
}

/* The candidate links of each candidate, and how many link to each. */
static int
sweep_edges(struct sweep *sw)
{
	struct prune *p = sw->p;

	for (size_t i = 0; i < sw->n; i++) {
		struct cand *c = &sw->c[i];
		struct cat_blob loc;
		uint8_t (*links)[BLOB_ID_LEN];
		uint32_t nl;
		int r;

		c->first = sw->nkids;
		if (c->nlinks == 0)
			continue;
		cand_loc(c, &loc);
		r = store_links(p->store, c->client, c->id, &loc, &links,
		    &nl);
		if (r == -1)
			return failed(p, "links", store_strerror(p->store));
		if (r == 1) {
			char hex[2 * BLOB_ID_LEN + 1];

			/* What it links to is unknown: it and all stay. */
			hex_encode(c->id, BLOB_ID_LEN, hex);
			say(p, "cannot read the links of unreachable blob %s: "
			    "%s; run scrub", hex, store_strerror(p->store));
			c->spared = 1;
			sw->unreadable++;
			continue;
		}
		for (uint32_t j = 0; j < nl; j++) {
			struct cand *k = cand_find(sw, c->client, links[j]);

			if (k == NULL || k == c)
				continue;
			if (sw->nkids == sw->capkids) {
				size_t cap = sw->capkids ? sw->capkids * 2 :
				    1024;
				size_t *q = reallocarray(sw->kids, cap,
				    sizeof(*q));

				if (q == NULL) {
					free(links);
					return failed(p, "sweep",
					    "out of memory");
				}
				sw->kids = q;
				sw->capkids = cap;
			}
			sw->kids[sw->nkids++] = (size_t)(k - sw->c);
			k->indeg++;
		}
		c->nkids = (uint32_t)(sw->nkids - c->first);
		free(links);
	}
	return 0;
}

/* Spare candidate k and, later, what it links to: 0, or -1 (memory). */
static int
spare_push(struct sweep *sw, struct cand *k)
{
	if (k->spared)
		return 0;
	k->spared = 1;
	if (k->nlinks == 0)
		return 0;
	if (sw->nstack == sw->capstack) {
		size_t cap = sw->capstack ? sw->capstack * 2 : 256;
		size_t *q = reallocarray(sw->stack, cap, sizeof(*q));

		if (q == NULL)
			return -1;
		sw->stack = q;
		sw->capstack = cap;
	}
	sw->stack[sw->nstack++] = (size_t)(k - sw->c);
	return 0;
}

/* Spare the candidates among links (client's), then below them. */
static int
spare_links(struct sweep *sw, uint64_t client,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t n)
{
	for (uint32_t j = 0; j < n; j++) {
		struct cand *k = cand_find(sw, client, links[j]);

		/* Not a candidate: marked, and so is all below it. */
		if (k != NULL && spare_push(sw, k) == -1)
			return -1;
	}
	return 0;
}

/*
 * Inside a freeing transaction: a blob indexed since the mark (a
 * recent row) or named by a snapshot committed since.  Spare every
 * candidate it reaches.  Nonzero (reason in fr->why) fails the
 * transaction: a link that cannot be read leaves the sweep blind.
 */
static int
fresh_blob(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	struct sweep *sw = arg;
	struct cat_fresh *fr = sw->fr;
	struct prune *p = sw->p;
	struct cand *self = cand_find(sw, client, id);
	uint8_t (*links)[BLOB_ID_LEN];
	uint32_t nl;
	int r;

	if (self != NULL) {
		if (self->spared)
			return 0;
		self->spared = 1;
	}
	if (loc->nlinks == 0)
		return 0;
	sw->nstack = 0;
	r = store_links(p->store, client, id, loc, &links, &nl);
	for (;;) {
		struct cat_blob kl;
		struct cand *k;

		if (r != 0) {
			fr->why = r == 1 ? "the links of a blob indexed "
			    "during the sweep cannot be read" : "cannot read "
			    "links";
			say(p, "sweep stopped: %s", store_strerror(p->store));
			return 1;
		}
		r = spare_links(sw, client, (const uint8_t (*)[BLOB_ID_LEN])
		    links, nl);
		free(links);
		if (r == -1) {
			fr->why = "out of memory";
			return 1;
		}
		if (sw->nstack == 0)
			return 0;
		k = &sw->c[sw->stack[--sw->nstack]];
		cand_loc(k, &kl);
		r = store_links(p->store, k->client, k->id, &kl, &links, &nl);
	}
}

static int
fresh_keep(void *arg, size_t i)
{
	struct sweep *sw = arg;

	return sw->c[sw->idx[i]].spared;
}

/*
 * Delete the candidates in topological order: a blob only after every
 * candidate linking to it, in transactions of one client's ids.  Each
 * transaction first spares what was indexed or committed since the
 * mark reaches (fresh_blob()), then deletes what is not spared and not
 * touched since the cutoff.  A candidate spared either way keeps
 * everything below it.
 */
static int
sweep_delete(struct sweep *sw, struct cat_fresh *fr)
{
	struct prune *p = sw->p;
	uint8_t (*ids)[BLOB_ID_LEN], spared[FREE_BATCH];
	size_t *ready, nready = 0, head = 0, *batch, nb;
	int rc = 0;

	ids = calloc(FREE_BATCH, sizeof(*ids));
	batch = calloc(FREE_BATCH, sizeof(*batch));
	sw->idx = calloc(FREE_BATCH, sizeof(*sw->idx));
	ready = calloc(sw->n ? sw->n : 1, sizeof(*ready));
	if (ids == NULL || batch == NULL || ready == NULL || sw->idx == NULL) {
		rc = failed(p, "sweep", "out of memory");
		goto done;
	}
	for (size_t i = 0; i < sw->n; i++)
		if (sw->c[i].indeg == 0)
			ready[nready++] = i;
	/* Each candidate enters ready[] once: when its last parent is done. */
	while (head < nready && rc == 0 && !cancelled(p)) {
		uint64_t client = sw->c[ready[head]].client;
		size_t nfreed = 0, n = 0;
		uint64_t bytes = 0;

		for (nb = 0; head < nready && nb < FREE_BATCH &&
		    sw->c[ready[head]].client == client; nb++)
			batch[nb] = ready[head++];
		for (size_t i = 0; i < nb; i++) {
			spared[i] = sw->c[batch[i]].spared;
			if (!spared[i]) {
				sw->idx[n] = batch[i];
				memcpy(ids[n++], sw->c[batch[i]].id,
				    BLOB_ID_LEN);
			}
		}
		if (n > 0 && p->dry) {
			for (size_t i = 0; i < nb; i++) {
				struct cand *c = &sw->c[batch[i]];

				if (spared[i])
					continue;
				if (c->touched > sw->m->cutoff) {
					spared[i] = 1;
					continue;
				}
				if (bvec_add(&p->freed, c->client, c->id,
				    c->length) == -1) {
					rc = failed(p, "sweep",
					    "out of memory");
					break;
				}
				nfreed++;
				bytes += c->length;
			}
		} else if (n > 0) {
			uint8_t kept[FREE_BATCH];

			if (catalog_blobs_free(p->cat, client,
			    (const uint8_t (*)[BLOB_ID_LEN])ids, n,
			    sw->m->cutoff, fr, kept, &nfreed, &bytes) !=
			    CAT_OK) {
				rc = failed(p, "free",
				    catalog_strerror(p->cat));
				break;
			}
			fr->recent_from = fr->recent_seen;
			for (size_t i = 0, j = 0; i < nb; i++)
				if (!spared[i])
					spared[i] = kept[j++];
		}
		p->res->blobs += nfreed;
		p->res->blob_bytes += bytes;
		for (size_t i = 0; i < nb; i++) {
			struct cand *c = &sw->c[batch[i]];

			if (spared[i])
				c->spared = 1;
			for (size_t k = 0; k < c->nkids; k++) {
				struct cand *kid = &sw->c[sw->kids[c->first +
				    k]];

				if (spared[i])
					kid->spared = 1;
				if (--kid->indeg == 0)
					ready[nready++] = sw->kids[c->first +
					    k];
			}
		}
	}
done:
	free(ids);
	free(batch);
	free(ready);
	free(sw->idx);
	sw->idx = NULL;
	return rc;
}

static int
cmp_snap_from(const void *a, const void *b)
{
	const struct cat_snap_from *x = a, *y = b;

	return x->client < y->client ? -1 : x->client > y->client;
}

static int
free_blobs(struct prune *p)
{
	struct mark m;
	struct sweep sw;
	struct cat_fresh fr;
	struct cat_snap_from *from = NULL;
	struct cat_client *cl = NULL;
	size_t ncl = 0;
	uint64_t now = (uint64_t)time(NULL);
	int rc = 0;

	memset(&m, 0, sizeof(m));
	memset(&sw, 0, sizeof(sw));
	memset(&fr, 0, sizeof(fr));
	m.p = p;
	m.cutoff = now > (uint64_t)p->cfg->prune_grace ?
	    now - (uint64_t)p->cfg->prune_grace : 0;
	if (crypto_random(m.set.salt, sizeof(m.set.salt)) == -1)
		return failed(p, "mark", "no random numbers");
	/*
	 * What is there at the mark's start: the recent rows and the
	 * snapshots after these are new, and each freeing transaction
	 * spares what they reach.
	 */
	if (catalog_recent_seq(p->cat, &fr.recent_from) != CAT_OK ||
	    catalog_clients(p->cat, &cl, &ncl) != CAT_OK)
		return failed(p, "mark", catalog_strerror(p->cat));
	if ((from = calloc(ncl ? ncl : 1, sizeof(*from))) == NULL) {
		free(cl);
		return failed(p, "mark", "out of memory");
	}
	for (size_t i = 0; i < ncl; i++) {
		from[i].client = cl[i].id;
		from[i].next = cl[i].next_snapshot;
	}
	free(cl);
	qsort(from, ncl, sizeof(*from), cmp_snap_from);
	fr.snap_from = from;
	fr.nsnap_from = ncl;
	fr.fn = fresh_blob;
	fr.keep = fresh_keep;
	fr.arg = &sw;
	sw.fr = &fr;
	/* Roots: what the snapshots name, and what is recent. */
	if (catalog_snapshots_all(p->cat, mark_snapshot, &m) != CAT_OK ||
	    (!m.oom && catalog_blobs_scan(p->cat, mark_recent, &m) !=
	    CAT_OK)) {
		rc = failed(p, "mark", catalog_strerror(p->cat));
		goto done;
	}
	if (m.oom) {
		rc = failed(p, "mark", "out of memory");
		goto done;
	}
	if ((rc = mark_closure(&m)) != 0 || cancelled(p))
		goto done;
	say(p, "marked %zu reachable or recent blobs", m.set.n);
	if (m.unreadable > 0) {
		say(p, "freeing nothing: the links of %llu reachable blobs "
		    "cannot be read", (unsigned long long)m.unreadable);
		goto done;
	}
	sw.p = p;
	sw.m = &m;
	if (catalog_blobs_scan(p->cat, collect_cand, &sw) != CAT_OK) {
		rc = failed(p, "sweep", catalog_strerror(p->cat));
		goto done;
	}
	if (sw.oom) {
		rc = failed(p, "sweep", "out of memory");
		goto done;
	}
	/* The scan walks the index in key order: sw.c is sorted. */
	if ((rc = sweep_edges(&sw)) != 0)
		goto done;
	if (sw.unreadable > 0) {
		say(p, "freeing nothing: the links of %llu unreachable blobs "
		    "cannot be read", (unsigned long long)sw.unreadable);
		goto done;
	}
	if (sw.n > 0)
		say(p, "sweeping %zu unreachable blobs (%zu links among them)",
		    sw.n, sw.nkids);
	if ((rc = sweep_delete(&sw, &fr)) != 0)
		goto done;
	if (p->dry && p->freed.n > 0)
		qsort(p->freed.v, p->freed.n, sizeof(*p->freed.v), cmp_bkey);
	/* Rows older than the cutoff: a later mark sees their blobs. */
	if (!p->dry && !cancelled(p) && catalog_recent_expire(p->cat,
	    m.cutoff, NULL) != CAT_OK)
		rc = failed(p, "recent", catalog_strerror(p->cat));
done:
	free(m.set.v);
	free(m.todo.v);
	free(sw.c);
	free(sw.kids);
	free(sw.stack);
	free(from);
	return rc;
}

/* ---------------------------------------------------------- 3. packs */

/* A live entry of a pack to rewrite: its old place, then its new one. */
struct item {
	struct cat_move		 m;
	struct cat_blob		 from;
};

struct round {
	struct prune		*p;
	struct store_pack	*packs;		/* locked ones, by id */
	int			*fds;
	uint64_t		*live;		/* live bytes (records) */
	uint64_t		*nlive;		/* live entries */
	int			*rewrite;	/* chosen for a rewrite */
	struct item		*items;		/* entries of rewrites */
	size_t			 nitems, capitems;
	size_t			 n;
	int			 oom;
};

static ssize_t
round_find(const struct round *rd, uint32_t pack)
{
	size_t lo = 0, hi = rd->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rd->packs[mid].pack == pack)
			return (ssize_t)mid;
		if (rd->packs[mid].pack < pack)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Freed by step 2 (a dry run only: the real one deleted the entries). */
static int
dead_in_dry_run(const struct prune *p, uint64_t client, const uint8_t *id)
{
	return p->dry && bvec_count(&p->freed, client, id) > 0;
}

static int
live_count(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	struct round *rd = arg;
	ssize_t i = round_find(rd, loc->pack);

	if (i >= 0 && !dead_in_dry_run(rd->p, client, id)) {
		rd->live[i] += store_rec_size(loc->nlinks, loc->length);
		rd->nlive[i]++;
	}
	return 0;
}

static int
live_collect(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	struct round *rd = arg;
	ssize_t i = round_find(rd, loc->pack);
	struct item *it;

	if (i < 0 || !rd->rewrite[i])
		return 0;
	if (rd->nitems == rd->capitems) {
		size_t cap = rd->capitems ? rd->capitems * 2 : 1024;
		struct item *q = reallocarray(rd->items, cap, sizeof(*q));

		if (q == NULL) {
			rd->oom = 1;
			return 1;
		}
		rd->items = q;
		rd->capitems = cap;
	}
	it = &rd->items[rd->nitems++];
	memset(it, 0, sizeof(*it));
	it->m.client = client;
	memcpy(it->m.id, id, BLOB_ID_LEN);
	it->m.from_pack = loc->pack;
	it->m.from_offset = loc->offset;
	it->from = *loc;
	return 0;
}

/* Copy the live records of one pack (items[a..b)), switch, remove it. */
static int
rewrite_pack(struct round *rd, size_t k, size_t a, size_t b)
{
	struct prune *p = rd->p;
	struct store *st = p->store;
	uint32_t pack = rd->packs[k].pack;
	struct cat_move *mv;
	size_t moved;

	if ((mv = calloc(b - a + 1, sizeof(*mv))) == NULL)
		return failed(p, "rewrite", "out of memory");
	for (size_t i = a; i < b; i++) {
		struct item *it = &rd->items[i];
		struct cat_blob to;
		int r = store_copy(st, it->m.id, &it->from, &to);

		if (r == -1) {
			free(mv);
			return failed(p, "copy", store_strerror(st));
		}
		if (r == 1) {
			char hex[2 * BLOB_ID_LEN + 1];

			hex_encode(it->m.id, BLOB_ID_LEN, hex);
			say(p, "pack %08x left alone: live blob %s is damaged "
			    "(%s); run scrub", pack, hex, store_strerror(st));
			p->res->packs_damaged++;
			free(mv);
			return 0;	/* the copies so far are garbage */
		}
		mv[i - a] = it->m;
		mv[i - a].pack = to.pack;
		mv[i - a].offset = to.offset;
	}
	/* The copies are durable before the index names them. */
	if (store_sync(st) == -1) {
		free(mv);
		return failed(p, "sync", store_strerror(st));
	}
	if (catalog_blobs_move(p->cat, mv, b - a, &moved) != CAT_OK) {
		free(mv);
		return failed(p, "switch index", catalog_strerror(p->cat));
	}
	free(mv);
	/* Indexed: the packs of the copies may be judged by a prune now. */
	store_release(st);
	if (store_pack_remove(st, pack) == -1)
		return failed(p, "remove", store_strerror(st));
	p->res->packs_rewritten++;
	say(p, "rewrote pack %08x: %zu live blobs moved, %llu of %llu bytes "
	    "freed", pack, moved,
	    (unsigned long long)(rd->packs[k].size - rd->live[k]),
	    (unsigned long long)rd->packs[k].size);
	return 0;
}

static int
cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->m.from_pack != y->m.from_pack)
		return x->m.from_pack < y->m.from_pack ? -1 : 1;
	return x->m.from_offset < y->m.from_offset ? -1 :
	    x->m.from_offset > y->m.from_offset;
}

/* One round over packs all[0..n): lock, count, remove or rewrite. */
static int
pack_round(struct prune *p, const struct store_pack *all, size_t n)
{
	struct round rd;
	uint64_t after = 0, counter;
	time_t now = time(NULL);
	int rc = 0, any = 0;

	memset(&rd, 0, sizeof(rd));
	rd.p = p;
	if ((rd.packs = calloc(n, sizeof(*rd.packs))) == NULL ||
	    (rd.fds = calloc(n, sizeof(*rd.fds))) == NULL ||
	    (rd.live = calloc(n, sizeof(*rd.live))) == NULL ||
	    (rd.nlive = calloc(n, sizeof(*rd.nlive))) == NULL ||
	    (rd.rewrite = calloc(n, sizeof(*rd.rewrite))) == NULL) {
		rc = failed(p, "packs", "out of memory");
		goto done;
	}
	/*
	 * A pack this catalog never handed out (another server's, or one
	 * whose records this DataDir has not followed yet) is not ours to
	 * judge: the blob index cannot say what in it is live.
	 */
	if (catalog_pack_counter(p->cat, &counter) != CAT_OK) {
		rc = failed(p, "pack counter", catalog_strerror(p->cat));
		goto done;
	}
	/* Lock first: once locked, no entry can start pointing into it. */
	for (size_t i = 0; i < n; i++) {
		int fd, r;

		if (all[i].pack >= counter) {
			p->res->packs_busy++;
			p->res->bytes_after += all[i].size;
			continue;
		}
		r = store_pack_lock(p->store, all[i].pack, &fd);

		if (r == -1) {
			rc = failed(p, "lock", store_strerror(p->store));
			goto done;
		}
		if (r == 1) {
			p->res->packs_busy++;
			p->res->bytes_after += all[i].size;
			continue;
		}
		rd.packs[rd.n] = all[i];
		rd.fds[rd.n++] = fd;
	}
	if (catalog_blobs_scan(p->cat, live_count, &rd) != CAT_OK) {
		rc = failed(p, "blob index", catalog_strerror(p->cat));
		goto done;
	}
	for (size_t i = 0; i < rd.n; i++) {
		struct store_pack *pk = &rd.packs[i];

		if (rd.nlive[i] == 0)
			continue;
		if (pk->size > 0 && rd.live[i] * 100 <
		    pk->size * (uint64_t)p->cfg->prune_rewrite_below) {
			rd.rewrite[i] = 1;
			any = 1;
		} else
			after += pk->size;
	}
	if (any && !p->dry) {
		if (catalog_blobs_scan(p->cat, live_collect, &rd) != CAT_OK) {
			rc = failed(p, "blob index", catalog_strerror(p->cat));
			goto done;
		}
		if (rd.oom) {
			rc = failed(p, "blob index", "out of memory");
			goto done;
		}
		/* By pack and offset: each pack is read sequentially. */
		if (rd.nitems > 0)
			qsort(rd.items, rd.nitems, sizeof(*rd.items),
			    cmp_item);
	}
	for (size_t i = 0, m = 0; i < rd.n && rc == 0; i++) {
		struct store_pack *pk = &rd.packs[i];
		size_t a = m;

		if (cancelled(p)) {
			after += pk->size;
			continue;
		}
		if (rd.nlive[i] == 0) {
			time_t mt;
			int r;

			/*
			 * Younger than the grace period: it may hold blobs
			 * of a backup whose index entries this catalog has
			 * not got yet (a writer's, or another DataDir's).
			 */
			if ((r = store_pack_mtime(p->store, pk->pack, &mt)) ==
			    -1) {
				rc = failed(p, "pack date",
				    store_strerror(p->store));
				break;
			}
			if (r == 1)
				continue;
			if (mt == -1 || (p->cfg->prune_grace > 0 &&
			    now - mt < (time_t)p->cfg->prune_grace)) {
				p->res->packs_busy++;
				after += pk->size;
				continue;
			}
			if (!p->dry && store_pack_remove(p->store, pk->pack) ==
			    -1) {
				rc = failed(p, "remove",
				    store_strerror(p->store));
				break;
			}
			p->res->packs_removed++;
			say(p, "%s pack %08x: nothing in it is live (%llu "
			    "bytes)", p->dry ? "would remove" : "removed",
			    pk->pack, (unsigned long long)pk->size);
			continue;
		}
		if (!rd.rewrite[i])
			continue;
		if (p->dry) {
			p->res->packs_rewritten++;
			after += rd.live[i];
			say(p, "would rewrite pack %08x: %llu of %llu bytes "
			    "live", pk->pack, (unsigned long long)rd.live[i],
			    (unsigned long long)pk->size);
			continue;
		}
		while (m < rd.nitems && rd.items[m].m.from_pack == pk->pack)
			m++;
		rc = rewrite_pack(&rd, i, a, m);
	}
	p->res->bytes_after += after;
done:
	for (size_t i = 0; rd.fds != NULL && i < rd.n; i++)
		store_pack_unlock(rd.fds[i]);
	free(rd.packs);
	free(rd.fds);
	free(rd.live);
	free(rd.nlive);
	free(rd.rewrite);
	free(rd.items);
	return rc;
}

static int
packs(struct prune *p)
{
	struct store_pack *all;
	size_t n;
	int rc = 0;

	if (store_packs(p->store, &all, &n) == -1)
		return failed(p, "packs", store_strerror(p->store));
	for (size_t i = 0; i < n; i++)
		p->res->bytes_before += all[i].size;
	for (size_t i = 0; i < n && rc == 0 && !cancelled(p); i += ROUND_PACKS)
		rc = pack_round(p, all + i, n - i < ROUND_PACKS ? n - i :
		    ROUND_PACKS);
	free(all);
	if (rc == 0 && !p->dry) {
		/* What is on disk now (writers may have added packs). */
		if (store_packs(p->store, &all, &n) == -1)
			return failed(p, "packs", store_strerror(p->store));
		p->res->bytes_after = 0;
		for (size_t i = 0; i < n; i++)
			p->res->bytes_after += all[i].size;
		free(all);
	}
	return rc;
}

/* ------------------------------------------------------------ the run */

int
housekeeping_lock(const char *datadir, int wait, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/prune.lock", datadir) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "prune: DataDir path too long");
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1) {
		snprintf(err, errlen, "prune: cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == -1) {
		int e = errno;

		if (e == EINTR)
			continue;
		close(fd);
		if (e == EWOULDBLOCK)
			return -2;
		snprintf(err, errlen, "prune: cannot lock %s: %s", path,
		    strerror(e));
		return -1;
	}
	return fd;
}

int
prune_run(struct catalog *cat, const struct gv_config *cfg, int dry_run,
    const struct hk_hooks *hk, struct prune_result *res, char *err,
    size_t errlen)
{
	struct prune p;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&p, 0, sizeof(p));
	p.cat = cat;
	p.cfg = cfg;
	p.dry = dry_run;
	p.hk = hk;
	p.res = res;
	p.err = err;
	p.errlen = errlen;
	if (store_open(cfg->datadir, cat, &p.store, err, errlen) == -1)
		return -1;
	if ((rc = retain(&p)) == 0 && !cancelled(&p) &&
	    (rc = free_blobs(&p)) == 0 && !cancelled(&p))
		rc = packs(&p);
	if (rc == 0 && res->blobs > 0)
		say(&p, "%s %llu unreachable blobs (%llu bytes)",
		    dry_run ? "would free" : "freed",
		    (unsigned long long)res->blobs,
		    (unsigned long long)res->blob_bytes);
	store_close(p.store);
	free(p.gone);
	free(p.freed.v);
	return rc;
}
