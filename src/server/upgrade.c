/*
 * upgrade.c - a 0.1.0 DataDir to the current store format.  See
 * upgrade.h.
 *
 * The 0.1.0 catalog's records, read here and nowhere else (integers
 * big-endian):
 *
 *   meta       "next_client", "next_pack" -> u64; no "format"
 *   clients    name -> u64 id, u64 created, u64 next_snapshot,
 *                      u32 flags (1 registered, 2 disabled, 4 allow
 *                      forget), secret[32]
 *   tokens     SHA-256(token)[32] -> u64 client id, name
 *   blobs      u64 client || id[32] -> u32 pack, u64 offset, u32 length,
 *                      u64 refcount, sum[8], [u64 touched]
 *   snapshots  u64 client || u64 snapshot -> u64 time, u64 blobs,
 *                      u64 bytes, root[32], meta[32], u8 setlen, set,
 *                      [u64 files, u64 new_bytes]
 *   refs       u64 client || u64 snapshot -> n ids[32]
 *   policies   u64 client || set -> u32 last, hourly, daily, weekly,
 *                      monthly, yearly
 *
 * The steps, each safe to run again after a crash: (1) read all of it;
 * (2) append the journal records that make its clients, policies and
 * snapshots (records set states: a second run's duplicates do no
 * harm); (3) for each 0.1.0 pack (id below the old "next_pack"), copy
 * its indexed records into new packs as records of their client,
 * sync, and remove the old pack (a pack already gone was copied by an
 * earlier run); (4) write each snapshot's legacy node; (5) move the
 * old catalog aside and rebuild the catalog from packs and journal.  A
 * scratch catalog (DataDir/catalog.upgrade) gives the store its pack
 * ids and dedup while copying; it is deleted afterwards.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crypto.h"
#include "catalog.h"
#include "journal.h"
#include "rebuild.h"
#include "store.h"
#include "upgrade.h"

#define OLD_BLOB_LEN		(4 + 8 + 4 + 8 + 8)	/* + u64 touched */
#define OLD_SNAP_MIN		(8 + 8 + 8 + 32 + 32 + 1)
#define OLD_POLICY_LEN		(6 * 4)

_Static_assert(CRYPTO_HASH_LEN == BLOB_ID_LEN, "a legacy node's id");
_Static_assert(JOURNAL_HASH_LEN == CAT_SECRET_LEN, "secrets and tokens");

struct oclient {
	struct cat_client cl;
	int		 has_token;
	uint8_t		 token[CAT_SECRET_LEN];
};

struct oblob {
	uint64_t	 client;
	uint8_t		 id[BLOB_ID_LEN];
	uint32_t	 pack;
	uint64_t	 offset;
	uint32_t	 length;
};

struct osnap {
	uint64_t	 client;
	struct cat_snapshot s;
	uint8_t		(*refs)[BLOB_ID_LEN];
	size_t		 nrefs;
};

struct opolicy {
	uint64_t	 client;
	char		 set[CAT_NAME_MAX + 1];
	struct retention p;
};

struct old {
	MDB_env		*env;
	struct oclient	*cl;
	size_t		 ncl;
	struct oblob	*bl;
	size_t		 nbl;
	struct osnap	*sn;
	size_t		 nsn;
	struct opolicy	*po;
	size_t		 npo;
	uint64_t	 next_pack;
};

static int
grow(void **p, size_t n, size_t size)
{
	size_t cap = 64;
	void *q;

	/*
	 * The arrays hold 64 entries, then twice as many each time they
	 * are full: n is full exactly when it is 64 times a power of two.
	 */
	while (cap < n)
		cap *= 2;
	if (n != 0 && n != cap)
		return 0;
	if ((q = reallocarray(*p, n == 0 ? 64 : cap * 2, size)) == NULL)
		return -1;
	*p = q;
	return 0;
}

/* -------------------------------------------------- the 0.1.0 catalog */

typedef int (*visit_fn)(struct old *, const MDB_val *, const MDB_val *);

/* Visit every record of database name; a missing database is empty. */
static int
each(struct old *o, MDB_txn *txn, const char *name, visit_fn fn,
    char *err, size_t errlen)
{
	MDB_cursor *cur;
	MDB_dbi dbi;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_dbi_open(txn, name, 0, &dbi)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0 || (rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		snprintf(err, errlen, "upgrade: 0.1.0 catalog, table %s: %s",
		    name, mdb_strerror(rc));
		return -1;
	}
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0)
		if (fn(o, &k, &d) == -1) {
			mdb_cursor_close(cur);
			snprintf(err, errlen, "upgrade: 0.1.0 catalog, table "
			    "%s: a damaged record (or out of memory)", name);
			return -1;
		}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		snprintf(err, errlen, "upgrade: 0.1.0 catalog, table %s: %s",
		    name, mdb_strerror(rc));
		return -1;
	}
	return 0;
}

static struct oclient *
client_by_id(struct old *o, uint64_t id)
{
	for (size_t i = 0; i < o->ncl; i++)
		if (o->cl[i].cl.id == id)
			return &o->cl[i];
	return NULL;
}

static int
visit_client(struct old *o, const MDB_val *k, const MDB_val *d)
{
	if (grow((void **)&o->cl, o->ncl, sizeof(*o->cl)) == -1)
		return -1;
	memset(&o->cl[o->ncl], 0, sizeof(o->cl[0]));
	if (catalog_client_decode(k->mv_data, k->mv_size, d->mv_data,
	    d->mv_size, &o->cl[o->ncl].cl) == -1)
		return -1;
	o->ncl++;
	return 0;
}

static int
visit_token(struct old *o, const MDB_val *k, const MDB_val *d)
{
	struct oclient *c;

	if (k->mv_size != CAT_SECRET_LEN || d->mv_size <= 8)
		return -1;
	/* A token of a removed client is left behind. */
	if ((c = client_by_id(o, be64_get(d->mv_data))) != NULL) {
		c->has_token = 1;
		memcpy(c->token, k->mv_data, CAT_SECRET_LEN);
	}
	return 0;
}

static int
visit_blob(struct old *o, const MDB_val *k, const MDB_val *d)
{
	const uint8_t *b = d->mv_data;
	struct oblob *bl;

	if (k->mv_size != 8 + BLOB_ID_LEN || (d->mv_size != OLD_BLOB_LEN &&
	    d->mv_size != OLD_BLOB_LEN + 8) || grow((void **)&o->bl, o->nbl,
	    sizeof(*o->bl)) == -1)
		return -1;
	bl = &o->bl[o->nbl++];
	bl->client = be64_get(k->mv_data);
	memcpy(bl->id, (const uint8_t *)k->mv_data + 8, BLOB_ID_LEN);
	bl->pack = be32_get(b);
	bl->offset = be64_get(b + 4);
	bl->length = be32_get(b + 12);
	return 0;
}

static int
visit_snap(struct old *o, const MDB_val *k, const MDB_val *d)
{
	const uint8_t *b = d->mv_data;
	struct osnap *s;
	size_t setlen;

	if (k->mv_size != 16 || d->mv_size < OLD_SNAP_MIN ||
	    (setlen = b[88]) > CAT_NAME_MAX ||
	    (d->mv_size != OLD_SNAP_MIN + setlen &&
	    d->mv_size != OLD_SNAP_MIN + setlen + 16) ||
	    grow((void **)&o->sn, o->nsn, sizeof(*o->sn)) == -1)
		return -1;
	s = &o->sn[o->nsn++];
	memset(s, 0, sizeof(*s));
	s->client = be64_get(k->mv_data);
	s->s.id = be64_get((const uint8_t *)k->mv_data + 8);
	s->s.time = be64_get(b);
	/* 0.1.0 knew no logical size: the stored bytes stand in for it. */
	s->s.size = be64_get(b + 16);
	memcpy(s->s.root, b + 24, BLOB_ID_LEN);
	memcpy(s->s.meta, b + 56, BLOB_ID_LEN);
	memcpy(s->s.set, b + 89, setlen);
	s->s.set[setlen] = '\0';
	if (d->mv_size == OLD_SNAP_MIN + setlen + 16) {
		s->s.files = be64_get(b + 89 + setlen);
		s->s.new_bytes = be64_get(b + 97 + setlen);
	}
	return 0;
}

static struct osnap *
snap_by_key(struct old *o, uint64_t client, uint64_t snap)
{
	/* The snapshots were read in key order: a binary search. */
	size_t lo = 0, hi = o->nsn;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct osnap *s = &o->sn[mid];

		if (s->client == client && s->s.id == snap)
			return s;
		if (s->client < client || (s->client == client &&
		    s->s.id < snap))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
visit_refs(struct old *o, const MDB_val *k, const MDB_val *d)
{
	struct osnap *s;

	if (k->mv_size != 16 || d->mv_size % BLOB_ID_LEN != 0 ||
	    d->mv_size / BLOB_ID_LEN > STORE_LINKS_MAX)
		return -1;
	if ((s = snap_by_key(o, be64_get(k->mv_data),
	    be64_get((const uint8_t *)k->mv_data + 8))) == NULL ||
	    d->mv_size == 0)
		return 0;
	if ((s->refs = malloc(d->mv_size)) == NULL)
		return -1;
	memcpy(s->refs, d->mv_data, d->mv_size);
	s->nrefs = d->mv_size / BLOB_ID_LEN;
	return 0;
}

static int
visit_policy(struct old *o, const MDB_val *k, const MDB_val *d)
{
	const uint8_t *b = d->mv_data;
	struct opolicy *p;
	size_t setlen;

	if (k->mv_size < 8 || (setlen = k->mv_size - 8) > CAT_NAME_MAX ||
	    d->mv_size != OLD_POLICY_LEN || grow((void **)&o->po, o->npo,
	    sizeof(*o->po)) == -1)
		return -1;
	p = &o->po[o->npo++];
	p->client = be64_get(k->mv_data);
	memcpy(p->set, (const uint8_t *)k->mv_data + 8, setlen);
	p->set[setlen] = '\0';
	p->p.last = be32_get(b);
	p->p.hourly = be32_get(b + 4);
	p->p.daily = be32_get(b + 8);
	p->p.weekly = be32_get(b + 12);
	p->p.monthly = be32_get(b + 16);
	p->p.yearly = be32_get(b + 20);
	return 0;
}

/*
 * Read the catalog in dir.  1 when it has a "format" (not 0.1.0), 0
 * when read, -1 with a message.
 */
static int
old_read(struct old *o, const char *dir, char *err, size_t errlen)
{
	MDB_txn *txn = NULL;
	MDB_dbi meta;
	MDB_val k = { 6, "format" }, d;
	int rc, ret = -1;

	if ((rc = mdb_env_create(&o->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(o->env, 16)) != 0 ||
	    (rc = mdb_env_open(o->env, dir, 0, 0640)) != 0 ||
	    (rc = mdb_txn_begin(o->env, NULL, MDB_RDONLY, &txn)) != 0) {
		snprintf(err, errlen, "upgrade: cannot open the catalog %s: "
		    "%s", dir, mdb_strerror(rc));
		goto out;
	}
	if ((rc = mdb_dbi_open(txn, "meta", 0, &meta)) == 0) {
		if ((rc = mdb_get(txn, meta, &k, &d)) == 0) {
			ret = 1;
			goto out;
		}
		k.mv_size = 9;
		k.mv_data = "next_pack";
		if (mdb_get(txn, meta, &k, &d) == 0 && d.mv_size == 8)
			o->next_pack = be64_get(d.mv_data);
	}
	if (each(o, txn, "clients", visit_client, err, errlen) == -1 ||
	    each(o, txn, "tokens", visit_token, err, errlen) == -1 ||
	    each(o, txn, "blobs", visit_blob, err, errlen) == -1 ||
	    each(o, txn, "snapshots", visit_snap, err, errlen) == -1 ||
	    each(o, txn, "refs", visit_refs, err, errlen) == -1 ||
	    each(o, txn, "policies", visit_policy, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (o->env != NULL)
		mdb_env_close(o->env);
	o->env = NULL;
	return ret;
}

static void
old_free(struct old *o)
{
	for (size_t i = 0; i < o->nsn; i++)
		free(o->sn[i].refs);
	free(o->cl);
	free(o->bl);
	free(o->sn);
	free(o->po);
}

/* -------------------------------------------------------------- steps */

static uint32_t
flags_of(const struct cat_client *cl)
{
	return (cl->registered ? JOURNAL_F_REGISTERED : 0) |
	    (cl->disabled ? JOURNAL_F_DISABLED : 0) |
	    (cl->allow_forget ? JOURNAL_F_ALLOW_FORGET : 0);
}

/* Step 2: the journal records of the 0.1.0 state. */
static int
write_journal(struct old *o, const char *path, struct upgrade_report *u,
    char *err, size_t errlen)
{
	struct journal *j;
	struct journal_rec r;
	int ret = -1;

	if (journal_open(path, &j, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < o->ncl; i++) {
		struct oclient *c = &o->cl[i];

		memset(&r, 0, sizeof(r));
		r.type = JOURNAL_CLIENT_ADD;
		r.client = c->cl.id;
		memcpy(r.name, c->cl.name, sizeof(r.name));
		r.created = c->cl.created;
		r.flags = flags_of(&c->cl);
		r.snap = c->cl.next_snapshot;
		if (c->has_token)
			memcpy(r.hash, c->token, CAT_SECRET_LEN);
		if (journal_append(j, &r, err, errlen) == -1)
			goto out;
		if (c->cl.registered) {
			r.type = JOURNAL_REGISTER;
			memcpy(r.hash, c->cl.secret, CAT_SECRET_LEN);
			if (journal_append(j, &r, err, errlen) == -1)
				goto out;
			r.type = JOURNAL_CLIENT_FLAGS;
			if (journal_append(j, &r, err, errlen) == -1)
				goto out;
			if (c->has_token) {
				r.type = JOURNAL_CLIENT_TOKEN;
				memcpy(r.hash, c->token, CAT_SECRET_LEN);
				if (journal_append(j, &r, err, errlen) == -1)
					goto out;
			}
		}
		u->clients++;
	}
	for (size_t i = 0; i < o->npo; i++) {
		memset(&r, 0, sizeof(r));
		r.type = JOURNAL_POLICY_SET;
		r.client = o->po[i].client;
		memcpy(r.set, o->po[i].set, sizeof(r.set));
		r.policy = o->po[i].p;
		if (client_by_id(o, r.client) == NULL)
			continue;
		if (journal_append(j, &r, err, errlen) == -1)
			goto out;
		u->policies++;
	}
	for (size_t i = 0; i < o->nsn; i++) {
		struct osnap *s = &o->sn[i];

		memset(&r, 0, sizeof(r));
		r.type = JOURNAL_COMMIT;
		r.client = s->client;
		r.snap = s->s.id;
		r.time = s->s.time;
		memcpy(r.root, s->s.root, BLOB_ID_LEN);
		memcpy(r.meta, s->s.meta, BLOB_ID_LEN);
		r.has_legacy = 1;
		store_legacy_id(s->client, s->s.id, r.legacy);
		memcpy(r.set, s->s.set, sizeof(r.set));
		r.files = s->s.files;
		r.size = s->s.size;
		r.new_bytes = s->s.new_bytes;
		if (client_by_id(o, r.client) == NULL)
			continue;
		if (journal_append(j, &r, err, errlen) == -1)
			goto out;
		u->snapshots++;
	}
	ret = 0;
out:
	journal_close(j);
	return ret;
}

static int
by_place(const void *a, const void *b)
{
	const struct oblob *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return 0;
}

static int
count_rec(void *arg, const struct store_rec *rec)
{
	(void)rec;
	(*(uint64_t *)arg)++;
	return 0;
}

/*
 * Step 3: copy the indexed records of every 0.1.0 pack into new ones,
 * a pack at a time: copied, synced (and indexed in the scratch
 * catalog), then the old pack removed.
 */
static int
rewrite_packs(struct old *o, struct store *s, struct upgrade_report *u,
    char *err, size_t errlen)
{
	struct store_pack *packs = NULL;
	uint8_t *buf = NULL;
	size_t npacks = 0, bi = 0;
	int ret = -1;

	qsort(o->bl, o->nbl, sizeof(*o->bl), by_place);
	if (store_packs(s, &packs, &npacks) == -1) {
		snprintf(err, errlen, "upgrade: %s", store_strerror(s));
		return -1;
	}
	for (size_t p = 0; p < npacks; p++) {
		uint32_t pack = packs[p].pack;
		uint64_t records = 0, copied = 0, bad_at;

		if (pack >= o->next_pack && o->next_pack != 0)
			continue;	/* a pack of the new format */
		if (store_scan(s, pack, count_rec, &records, &bad_at) == -1) {
			snprintf(err, errlen, "upgrade: %s", store_strerror(s));
			goto out;
		}
		while (bi < o->nbl && o->bl[bi].pack < pack)
			bi++;	/* of a pack gone: copied by an earlier run */
		for (; bi < o->nbl && o->bl[bi].pack == pack; bi++) {
			struct oblob *b = &o->bl[bi];
			struct cat_blob loc = { .pack = b->pack,
			    .offset = b->offset, .length = b->length };
			uint8_t *q;
			int r;

			if (b->length == 0 || (q = realloc(buf,
			    b->length)) == NULL) {
				u->lost++;
				continue;
			}
			buf = q;
			if ((r = store_read(s, b->id, &loc, buf)) == -1) {
				snprintf(err, errlen, "upgrade: %s",
				    store_strerror(s));
				goto out;
			}
			if (r == 1) {
				fprintf(stderr, "upgrade: pack %08x: %s: "
				    "skipped\n", pack, store_strerror(s));
				u->lost++;
				continue;
			}
			if (store_put(s, b->client, b->id, NULL, 0, buf,
			    b->length) == -1) {
				snprintf(err, errlen, "upgrade: %s",
				    store_strerror(s));
				goto out;
			}
			copied++;
		}
		if (store_flush(s) == -1 || store_pack_remove(s, pack) ==
		    -1) {
			snprintf(err, errlen, "upgrade: %s", store_strerror(s));
			goto out;
		}
		u->packs++;
		u->blobs += copied;
		if (records > copied)
			u->dropped += records - copied;
	}
	ret = 0;
out:
	free(buf);
	free(packs);
	return ret;
}

/* Step 4: one legacy node per snapshot, its links the reference list. */
static int
write_legacy(struct old *o, struct store *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < o->nsn; i++) {
		struct osnap *sn = &o->sn[i];
		uint8_t id[BLOB_ID_LEN];
		struct cat_blob at;

		if (client_by_id(o, sn->client) == NULL || sn->nrefs == 0)
			continue;
		store_legacy_id(sn->client, sn->s.id, id);
		if (store_put_legacy(s, sn->client, id,
		    (const uint8_t (*)[BLOB_ID_LEN])sn->refs,
		    (uint32_t)sn->nrefs, &at) == -1) {
			snprintf(err, errlen, "upgrade: %s", store_strerror(s));
			return -1;
		}
	}
	if (store_flush(s) == -1) {
		snprintf(err, errlen, "upgrade: %s", store_strerror(s));
		return -1;
	}
	return 0;
}

/* Remove the scratch catalog directory (its two files). */
static void
remove_scratch(const char *dir)
{
	char path[1100];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

/* Steps 3 and 4, through a scratch catalog that knows the clients. */
static int
rewrite(struct old *o, const char *datadir, const char *scratch,
    struct upgrade_report *u, char *err, size_t errlen)
{
	struct store_pack *packs = NULL;
	struct catalog *cat = NULL;
	struct store *s = NULL;
	uint32_t max_pack = 0;
	size_t n = 0;
	int ret = -1;

	remove_scratch(scratch);
	if (catalog_open(scratch, 0, &cat, err, errlen) != CAT_OK)
		goto out;
	for (size_t i = 0; i < o->ncl; i++)
		if (catalog_restore_client(cat, &o->cl[i].cl, NULL) !=
		    CAT_OK) {
			snprintf(err, errlen, "upgrade: %s",
			    catalog_strerror(cat));
			goto out;
		}
	if (store_open(datadir, cat, &s, err, errlen) == -1)
		goto out;
	if (store_packs(s, &packs, &n) == -1) {
		snprintf(err, errlen, "upgrade: %s", store_strerror(s));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (packs[i].pack > max_pack)
			max_pack = packs[i].pack;
	if (o->next_pack == 0)
		o->next_pack = (uint64_t)max_pack + 1;
	if (catalog_restore_counters(cat, 1, (uint32_t)((uint64_t)max_pack +
	    1 > o->next_pack ? (uint64_t)max_pack + 1 : o->next_pack)) !=
	    CAT_OK) {
		snprintf(err, errlen, "upgrade: %s", catalog_strerror(cat));
		goto out;
	}
	if (rewrite_packs(o, s, u, err, errlen) == -1 ||
	    write_legacy(o, s, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	free(packs);
	if (s != NULL)
		store_discard(s);
	store_close(s);
	catalog_close(cat);
	remove_scratch(scratch);
	return ret;
}

int
upgrade_datadir(const char *datadir, uint64_t now, struct upgrade_report *u,
    char *err, size_t errlen)
{
	char dir[1024], scratch[1024], journal[1024];
	struct old o;
	struct stat st;
	int r, ret = -1;

	memset(u, 0, sizeof(*u));
	memset(&o, 0, sizeof(o));
	if (snprintf(dir, sizeof(dir), "%s/catalog", datadir) >=
	    (int)sizeof(dir) || snprintf(scratch, sizeof(scratch),
	    "%s/catalog.upgrade", datadir) >= (int)sizeof(scratch) ||
	    snprintf(journal, sizeof(journal), "%s/journal", datadir) >=
	    (int)sizeof(journal) || snprintf(u->old_catalog,
	    sizeof(u->old_catalog), "%s/catalog.0.1.0", datadir) >=
	    (int)sizeof(u->old_catalog)) {
		snprintf(err, errlen, "upgrade: DataDir path too long");
		return -1;
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "upgrade: no catalog in %s: %s",
		    datadir, strerror(errno));
		return -1;
	}
	if (stat(u->old_catalog, &st) == 0) {
		snprintf(err, errlen, "upgrade: %s exists: an earlier "
		    "upgrade moved the 0.1.0 catalog there (if no catalog "
		    "serves now, run gigavaultctl rebuild-catalog)",
		    u->old_catalog);
		return -1;
	}
	if ((r = old_read(&o, dir, err, errlen)) != 0) {
		old_free(&o);
		return r;
	}
	if (write_journal(&o, journal, u, err, errlen) == -1 ||
	    rewrite(&o, datadir, scratch, u, err, errlen) == -1)
		goto out;
	if (rename(dir, u->old_catalog) == -1) {
		snprintf(err, errlen, "upgrade: cannot move %s to %s: %s",
		    dir, u->old_catalog, strerror(errno));
		goto out;
	}
	if (rebuild_catalog(datadir, now, &u->rebuild, err, errlen) == -1)
		goto out;
	ret = 0;
out:
	old_free(&o);
	return ret;
}
