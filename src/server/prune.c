/*
 * prune.c - forget what the retention policy does not keep, free
 * unreferenced blobs after their grace period, rewrite or remove packs.
 * See prune.h for the order of the steps and why each is safe.
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

/* A blob by its key: client and id. */
struct bkey {
	uint64_t	 client;
	uint8_t		 id[BLOB_ID_LEN];
	uint32_t	 length;
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

	struct bvec		 dec;	/* dry run: refs of forgotten snapshots */
	struct bvec		 freed;	/* freed (or would be), sorted */
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
		uint8_t (*refs)[BLOB_ID_LEN];
		size_t nrefs;
		int r;

		if (rs[i].keep)
			continue;
		if (p->dry) {
			r = catalog_snapshot_refs(p->cat, cl->id, rs[i].id,
			    &refs, &nrefs);
			if (r == CAT_ERROR) {
				free(rs);
				return failed(p, "references",
				    catalog_strerror(p->cat));
			}
			for (size_t j = 0; r == CAT_OK && j < nrefs; j++)
				if (bvec_add(&p->dec, cl->id, refs[j], 0) == -1)
					break;
			if (r == CAT_OK)
				free(refs);
			if (p->dec.oom) {
				free(rs);
				return failed(p, "references", "out of memory");
			}
		} else if ((r = catalog_forget(p->cat, cl->id, rs[i].id)) ==
		    CAT_ERROR) {
			free(rs);
			return failed(p, "forget", catalog_strerror(p->cat));
		} else if (r == CAT_NOTFOUND)
			continue;	/* forgotten meanwhile */
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
	if (p->dec.n > 0)
		qsort(p->dec.v, p->dec.n, sizeof(*p->dec.v), cmp_bkey);
	return rc;
}

/* ----------------------------------------------------------- 2. free */

struct free_scan {
	struct prune	*p;
	uint64_t	 cutoff;
};

static int
free_candidate(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	struct free_scan *fs = arg;
	uint64_t refs = loc->refcount;

	if (fs->p->dry)
		refs -= bvec_count(&fs->p->dec, client, id) < refs ?
		    bvec_count(&fs->p->dec, client, id) : refs;
	if (refs != 0 || loc->touched > fs->cutoff)
		return 0;
	return bvec_add(&fs->p->freed, client, id, loc->length) == -1;
}

static int
free_blobs(struct prune *p)
{
	struct free_scan fs = { p, 0 };
	uint64_t now = (uint64_t)time(NULL);
	struct bvec *bv = &p->freed;
	uint8_t (*ids)[BLOB_ID_LEN];
	size_t i, j;

	fs.cutoff = now > (uint64_t)p->cfg->prune_grace ?
	    now - (uint64_t)p->cfg->prune_grace : 0;
	if (catalog_blobs_scan(p->cat, free_candidate, &fs) != CAT_OK)
		return failed(p, "blob index", catalog_strerror(p->cat));
	if (bv->oom)
		return failed(p, "blob index", "out of memory");
	if (bv->n > 0)
		qsort(bv->v, bv->n, sizeof(*bv->v), cmp_bkey);
	if (p->dry) {
		p->res->blobs = bv->n;
		for (i = 0; i < bv->n; i++)
			p->res->blob_bytes += bv->v[i].length;
		return 0;
	}
	if ((ids = calloc(FREE_BATCH, sizeof(*ids))) == NULL)
		return failed(p, "free", "out of memory");
	/* Batches of one client's ids; each batch is one transaction. */
	for (i = 0; i < bv->n && !cancelled(p); i = j) {
		size_t n = 0, nfreed;
		uint64_t bytes;

		for (j = i; j < bv->n && n < FREE_BATCH &&
		    bv->v[j].client == bv->v[i].client; j++)
			memcpy(ids[n++], bv->v[j].id, BLOB_ID_LEN);
		if (catalog_blobs_free(p->cat, bv->v[i].client,
		    (const uint8_t (*)[BLOB_ID_LEN])ids, n, fs.cutoff, &nfreed,
		    &bytes) != CAT_OK) {
			free(ids);
			return failed(p, "free", catalog_strerror(p->cat));
		}
		p->res->blobs += nfreed;
		p->res->blob_bytes += bytes;
	}
	free(ids);
	return 0;
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
		rd->live[i] += STORE_HDR_LEN + (uint64_t)loc->length;
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
	uint64_t after = 0;
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
	/* Lock first: once locked, no entry can start pointing into it. */
	for (size_t i = 0; i < n; i++) {
		int fd, r = store_pack_lock(p->store, all[i].pack, &fd);

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
		say(&p, "%s %llu unreferenced blobs (%llu bytes)",
		    dry_run ? "would free" : "freed",
		    (unsigned long long)res->blobs,
		    (unsigned long long)res->blob_bytes);
	store_close(p.store);
	free(p.dec.v);
	free(p.freed.v);
	return rc;
}
