/*
 * rebuild.c - a new catalog from the packs and the journal.  See
 * rebuild.h.
 *
 * The journal is replayed into memory first (the state it ends in:
 * later records override earlier ones, every record sets a state, so a
 * record replayed twice does no harm), then written into a new catalog:
 * clients first (the blob index only takes blobs of existing clients),
 * then every pack's records, then snapshots and policies.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "journal.h"
#include "packstore.h"
#include "rebuild.h"
#include "store.h"

#define ADD_BATCH	4096

struct rclient {
	struct cat_client cl;
	int		 has_token;
	uint8_t		 token[CAT_SECRET_LEN];
	int		 removed;
};

struct rsnap {
	uint64_t	 client;
	struct cat_snapshot s;
	int		 dead;
};

struct rpolicy {
	uint64_t	 client;
	char		 set[CAT_NAME_MAX + 1];
	struct retention p;
	int		 dead;
};

struct model {
	struct rclient	*cl;
	size_t		 ncl, capcl;
	struct rsnap	*sn;
	size_t		 nsn, capsn;
	size_t		*table;		/* (client, snap) -> sn index + 1 */
	size_t		 tcap;		/* a power of two, > 2 * nsn */
	struct rpolicy	*po;
	size_t		 npo, cappo;
	uint64_t	 max_client;
	struct rebuild_report *rep;
	int		 nomem;
};

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *q;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	if ((q = reallocarray(*p, ncap, size)) == NULL)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

static struct rclient *
client_find(struct model *m, uint64_t id)
{
	for (size_t i = 0; i < m->ncl; i++)
		if (m->cl[i].cl.id == id)
			return &m->cl[i];
	return NULL;
}

static size_t
slot_of(const struct model *m, uint64_t client, uint64_t snap)
{
	uint64_t h = (client * 0x9e3779b97f4a7c15ULL) ^ (snap *
	    0xc2b2ae3d27d4eb4fULL);

	return (size_t)(h ^ (h >> 29)) & (m->tcap - 1);
}

/* The snapshot (client, snap), or NULL. */
static struct rsnap *
snap_find(struct model *m, uint64_t client, uint64_t snap)
{
	if (m->tcap == 0)
		return NULL;
	for (size_t i = slot_of(m, client, snap); m->table[i] != 0;
	    i = (i + 1) & (m->tcap - 1)) {
		struct rsnap *s = &m->sn[m->table[i] - 1];

		if (s->client == client && s->s.id == snap)
			return s;
	}
	return NULL;
}

static int
snap_rehash(struct model *m, size_t tcap)
{
	size_t *t;

	if ((t = calloc(tcap, sizeof(*t))) == NULL)
		return -1;
	free(m->table);
	m->table = t;
	m->tcap = tcap;
	for (size_t n = 0; n < m->nsn; n++) {
		size_t i = slot_of(m, m->sn[n].client, m->sn[n].s.id);

		while (t[i] != 0)
			i = (i + 1) & (tcap - 1);
		t[i] = n + 1;
	}
	return 0;
}

static struct rsnap *
snap_add(struct model *m, uint64_t client, uint64_t snap)
{
	struct rsnap *s;

	if (grow((void **)&m->sn, &m->capsn, m->nsn, sizeof(*m->sn)) == -1)
		return NULL;
	s = &m->sn[m->nsn++];
	memset(s, 0, sizeof(*s));
	s->client = client;
	s->s.id = snap;
	if (2 * m->nsn >= m->tcap) {
		if (snap_rehash(m, m->tcap ? m->tcap * 2 : 1024) == -1)
			return NULL;
	} else {
		size_t i = slot_of(m, client, snap);

		while (m->table[i] != 0)
			i = (i + 1) & (m->tcap - 1);
		m->table[i] = m->nsn;
	}
	return s;
}

static struct rpolicy *
policy_find(struct model *m, uint64_t client, const char *set)
{
	for (size_t i = 0; i < m->npo; i++)
		if (m->po[i].client == client && strcmp(m->po[i].set,
		    set) == 0)
			return &m->po[i];
	return NULL;
}

static void
client_flags(struct cat_client *cl, uint32_t flags)
{
	cl->registered = (flags & JOURNAL_F_REGISTERED) != 0;
	cl->disabled = (flags & JOURNAL_F_DISABLED) != 0;
	cl->allow_forget = (flags & JOURNAL_F_ALLOW_FORGET) != 0;
}

/* Apply one journal record to the model (journal_replay()'s fn). */
static int
replay(void *arg, const struct journal_rec *r)
{
	struct model *m = arg;
	struct rclient *c;
	struct rsnap *s;
	struct rpolicy *p;

	m->rep->journal_records++;
	if (r->client > m->max_client)
		m->max_client = r->client;
	c = client_find(m, r->client);
	if (r->type == JOURNAL_CLIENT_ADD) {
		/* A name is one client's: an older one of it is gone. */
		for (size_t i = 0; i < m->ncl; i++)
			if (m->cl[i].cl.id != r->client &&
			    strcmp(m->cl[i].cl.name, r->name) == 0)
				m->cl[i].removed = 1;
		if (c == NULL) {
			if (grow((void **)&m->cl, &m->capcl, m->ncl,
			    sizeof(*m->cl)) == -1) {
				m->nomem = 1;
				return 1;
			}
			c = &m->cl[m->ncl++];
			memset(c, 0, sizeof(*c));
			c->cl.id = r->client;
			c->cl.next_snapshot = 1;
		}
		snprintf(c->cl.name, sizeof(c->cl.name), "%s", r->name);
		c->cl.created = r->created;
		client_flags(&c->cl, r->flags);
		if (r->snap > c->cl.next_snapshot)
			c->cl.next_snapshot = r->snap;
		c->has_token = 1;
		memcpy(c->token, r->hash, CAT_SECRET_LEN);
		c->removed = 0;
		return 0;
	}
	if (c == NULL || c->removed) {
		m->rep->journal_orphans++;
		return 0;
	}
	switch (r->type) {
	case JOURNAL_REGISTER:
		memcpy(c->cl.secret, r->hash, CAT_SECRET_LEN);
		c->cl.registered = 1;
		c->has_token = 0;
		break;
	case JOURNAL_CLIENT_FLAGS:
		client_flags(&c->cl, r->flags);
		break;
	case JOURNAL_CLIENT_TOKEN:
		c->has_token = 1;
		memcpy(c->token, r->hash, CAT_SECRET_LEN);
		break;
	case JOURNAL_CLIENT_REMOVE:
		c->removed = 1;
		for (size_t i = 0; i < m->nsn; i++)
			if (m->sn[i].client == r->client)
				m->sn[i].dead = 1;
		for (size_t i = 0; i < m->npo; i++)
			if (m->po[i].client == r->client)
				m->po[i].dead = 1;
		break;
	case JOURNAL_POLICY_SET:
	case JOURNAL_POLICY_CLEAR:
		if ((p = policy_find(m, r->client, r->set)) == NULL) {
			if (r->type == JOURNAL_POLICY_CLEAR)
				break;
			if (grow((void **)&m->po, &m->cappo, m->npo,
			    sizeof(*m->po)) == -1) {
				m->nomem = 1;
				return 1;
			}
			p = &m->po[m->npo++];
			p->client = r->client;
			snprintf(p->set, sizeof(p->set), "%s", r->set);
		}
		p->p = r->policy;
		p->dead = r->type == JOURNAL_POLICY_CLEAR;
		break;
	case JOURNAL_COMMIT:
		if ((s = snap_find(m, r->client, r->snap)) == NULL &&
		    (s = snap_add(m, r->client, r->snap)) == NULL) {
			m->nomem = 1;
			return 1;
		}
		s->dead = 0;
		snprintf(s->s.set, sizeof(s->s.set), "%s", r->set);
		s->s.time = r->time;
		memcpy(s->s.root, r->root, BLOB_ID_LEN);
		memcpy(s->s.meta, r->meta, BLOB_ID_LEN);
		s->s.has_legacy = r->has_legacy;
		memcpy(s->s.legacy, r->legacy, BLOB_ID_LEN);
		s->s.files = r->files;
		s->s.size = r->size;
		s->s.new_bytes = r->new_bytes;
		s->s.new_blobs = r->new_blobs;
		if (r->snap >= c->cl.next_snapshot)
			c->cl.next_snapshot = r->snap + 1;
		break;
	case JOURNAL_FORGET:
		if ((s = snap_find(m, r->client, r->snap)) != NULL)
			s->dead = 1;
		break;
	case JOURNAL_SNAP_FLAGS:
		if ((s = snap_find(m, r->client, r->snap)) != NULL)
			s->s.protected = (r->flags & JOURNAL_SF_PROTECTED) != 0;
		break;
	}
	return 0;
}

static void
model_free(struct model *m)
{
	free(m->cl);
	free(m->sn);
	free(m->table);
	free(m->po);
}

/* ------------------------------------------------------------- packs */

struct scan_arg {
	struct model	*m;
	struct catalog	*cat;
	uint64_t	 now;
	uint64_t	 client;	/* of the batch */
	struct cat_blob_add *batch;
	size_t		 n;
	char		*err;
	size_t		 errlen;
	int		 failed;
	/* rebuild_follow(): every record indexed, as its new place */
	struct cat_move	*recs;
	size_t		 nrecs, caprecs;
	int		 keep_recs;
};

static int
flush_batch(struct scan_arg *a)
{
	if (a->n == 0)
		return 0;
	if (catalog_blobs_add(a->cat, a->client, a->batch, a->n) != CAT_OK) {
		snprintf(a->err, a->errlen, "%s", catalog_strerror(a->cat));
		a->failed = 1;
		return -1;
	}
	a->m->rep->indexed += a->n;
	a->n = 0;
	return 0;
}

static int
scan_rec(void *arg, const struct store_rec *r)
{
	struct scan_arg *a = arg;
	struct rebuild_report *rep = a->m->rep;
	struct rclient *c;
	struct cat_blob_add *b;

	if (!r->good) {
		rep->damaged++;
		return 0;
	}
	rep->records++;
	if (r->type == STORE_TYPE_LEGACY)
		rep->legacy++;
	if (r->client == 0) {
		rep->old_records++;
		return 0;
	}
	if ((c = client_find(a->m, r->client)) == NULL || c->removed) {
		rep->foreign++;
		return 0;
	}
	if ((r->client != a->client || a->n == ADD_BATCH) &&
	    flush_batch(a) == -1)
		return 1;
	a->client = r->client;
	b = &a->batch[a->n++];
	memset(b, 0, sizeof(*b));
	memcpy(b->id, r->id, BLOB_ID_LEN);
	b->loc.pack = r->pack;
	b->loc.offset = r->offset;
	b->loc.length = r->length;
	b->loc.nlinks = r->nlinks;
	b->loc.touched = a->now;
	if (a->keep_recs) {
		struct cat_move *mv;

		if (grow((void **)&a->recs, &a->caprecs, a->nrecs,
		    sizeof(*a->recs)) == -1) {
			snprintf(a->err, a->errlen, "rebuild: out of memory");
			a->failed = 1;
			return 1;
		}
		mv = &a->recs[a->nrecs++];
		memset(mv, 0, sizeof(*mv));
		mv->client = r->client;
		memcpy(mv->id, r->id, BLOB_ID_LEN);
		mv->pack = r->pack;
		mv->offset = r->offset;
	}
	return 0;
}

/*
 * Index every record of every pack above min_pack; *max_pack gets the
 * largest id (min_pack when there is none above it).
 */
static int
index_packs(const char *datadir, struct catalog *cat, struct model *m,
    uint64_t now, uint32_t min_pack, uint32_t *max_pack,
    struct scan_arg *fa, struct store_pack **list, size_t *nlist,
    char *err, size_t errlen)
{
	struct scan_arg own = { m, cat, now, 0, NULL, 0, err, errlen, 0,
	    NULL, 0, 0, 0 }, *ap = fa != NULL ? fa : &own;
	struct store_pack *packs = NULL;
	struct store *s;
	size_t n = 0;
	int ret = -1;

	*max_pack = min_pack;
	if (store_open(datadir, cat, &s, err, errlen) == -1)
		return -1;
	if ((ap->batch = calloc(ADD_BATCH, sizeof(*ap->batch))) == NULL) {
		snprintf(err, errlen, "rebuild: %s", strerror(errno));
		goto out;
	}
	if (store_packs(s, &packs, &n) == -1) {
		snprintf(err, errlen, "%s", store_strerror(s));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t bad_at = 0;
		int r;

		if (packs[i].pack <= min_pack)
			continue;
		m->rep->packs++;
		if (packs[i].pack > *max_pack)
			*max_pack = packs[i].pack;
		r = store_scan(s, packs[i].pack, scan_rec, ap, &bad_at);
		if (ap->failed)
			goto out;
		if (r == -1) {
			snprintf(err, errlen, "%s", store_strerror(s));
			goto out;
		}
		if (r == 1) {
			m->rep->unparsable++;
			fprintf(stderr, "rebuild: pack %08x: no record at "
			    "offset %llu; the rest of it is skipped\n",
			    packs[i].pack, (unsigned long long)bad_at);
		}
	}
	if (flush_batch(ap) == -1)
		goto out;
	ret = 0;
out:
	if (ret == 0 && list != NULL) {
		*list = packs;
		*nlist = n;
		packs = NULL;
	}
	free(packs);
	free(ap->batch);
	ap->batch = NULL;
	store_close(s);
	return ret;
}

/* ------------------------------------------------------------ writing */

/* Move dir aside to dir.broken-<UTC time>; "" in moved when none. */
static int
move_aside(const char *dir, uint64_t now, char *moved, size_t movedlen,
    char *err, size_t errlen)
{
	struct stat st;
	struct tm tm;
	time_t t = (time_t)now;
	char stamp[32];

	moved[0] = '\0';
	if (stat(dir, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "rebuild: %s: %s", dir, strerror(errno));
		return -1;
	}
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%llu", (unsigned long long)now);
	for (int i = 0; i < 100; i++) {
		int w = i == 0 ? snprintf(moved, movedlen, "%s.broken-%s",
		    dir, stamp) : snprintf(moved, movedlen, "%s.broken-%s.%d",
		    dir, stamp, i);

		if (w < 0 || (size_t)w >= movedlen) {
			snprintf(err, errlen, "rebuild: path too long");
			return -1;
		}
		if (stat(moved, &st) == -1 && errno == ENOENT) {
			if (rename(dir, moved) == 0)
				return 0;
			snprintf(err, errlen, "rebuild: cannot move %s to %s: "
			    "%s", dir, moved, strerror(errno));
			return -1;
		}
	}
	snprintf(err, errlen, "rebuild: too many %s.broken-* directories",
	    dir);
	return -1;
}

/*
 * A 0.1.0 catalog is upgraded, not rebuilt: its packs name no client.
 * -1 with a message for one, else 0 (also for one that cannot be
 * opened: that is what a rebuild is for).
 */
static int
refuse_old(const char *dir, char *err, size_t errlen)
{
	char path[1100], msg[512];
	struct catalog *c;
	struct stat st;
	int r;

	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
	    (int)sizeof(path) || stat(path, &st) == -1)
		return 0;
	if ((r = catalog_open(dir, 0, &c, msg, sizeof(msg))) == CAT_OK)
		catalog_close(c);
	if (r != CAT_OLDFORMAT)
		return 0;
	snprintf(err, errlen, "%s is a catalog of 0.1.0: upgrade the DataDir "
	    "with gigavaultctl upgrade instead", dir);
	return -1;
}

static int
write_model(struct catalog *cat, struct model *m, char *err, size_t errlen)
{
	struct rebuild_report *rep = m->rep;

	for (size_t i = 0; i < m->ncl; i++) {
		struct rclient *c = &m->cl[i];

		if (c->removed)
			continue;
		if (catalog_restore_client(cat, &c->cl, c->has_token ?
		    c->token : NULL) != CAT_OK)
			goto fail;
		rep->clients++;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s", catalog_strerror(cat));
	return -1;
}

static const char *
client_name(struct model *m, uint64_t id)
{
	struct rclient *c = client_find(m, id);

	return c != NULL ? c->cl.name : "?";
}

static int
write_rows(struct catalog *cat, struct model *m, char *err, size_t errlen)
{
	struct rebuild_report *rep = m->rep;

	for (size_t i = 0; i < m->nsn; i++) {
		struct rsnap *s = &m->sn[i];
		uint8_t ids[3][BLOB_ID_LEN], found[3];
		struct rclient *c = client_find(m, s->client);
		size_t n = 2;

		if (s->dead || c == NULL || c->removed)
			continue;
		if (catalog_restore_snapshot(cat, s->client, &s->s) != CAT_OK)
			goto fail;
		rep->snapshots++;
		memcpy(ids[0], s->s.root, BLOB_ID_LEN);
		memcpy(ids[1], s->s.meta, BLOB_ID_LEN);
		if (s->s.has_legacy)
			memcpy(ids[n++], s->s.legacy, BLOB_ID_LEN);
		if (catalog_blobs_lookup(cat, s->client,
		    (const uint8_t (*)[BLOB_ID_LEN])ids, n, NULL, found) !=
		    CAT_OK)
			goto fail;
		for (size_t k = 0; k < n; k++)
			if (!found[k]) {
				fprintf(stderr, "rebuild: snapshot %llu of "
				    "%s: its %s is in no pack\n",
				    (unsigned long long)s->s.id,
				    client_name(m, s->client), k == 0 ?
				    "root" : k == 1 ? "meta blob" :
				    "legacy node");
				rep->incomplete++;
				break;
			}
	}
	for (size_t i = 0; i < m->npo; i++) {
		struct rpolicy *p = &m->po[i];
		struct rclient *c = client_find(m, p->client);

		if (p->dead || c == NULL || c->removed)
			continue;
		if (catalog_policy_set(cat, c->cl.name, p->set, &p->p) !=
		    CAT_OK)
			goto fail;
		rep->policies++;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s", catalog_strerror(cat));
	return -1;
}

int
rebuild_catalog(const char *datadir, uint64_t now,
    struct rebuild_report *rep, char *err, size_t errlen)
{
	char dir[1024], journal[1024];
	struct model m;
	struct catalog *cat = NULL;
	uint32_t max_pack;
	int r, ret = -1;

	memset(rep, 0, sizeof(*rep));
	memset(&m, 0, sizeof(m));
	m.rep = rep;
	if (snprintf(dir, sizeof(dir), "%s/catalog", datadir) >=
	    (int)sizeof(dir) || snprintf(journal, sizeof(journal),
	    "%s/journal", datadir) >= (int)sizeof(journal)) {
		snprintf(err, errlen, "rebuild: DataDir path too long");
		return -1;
	}
	r = journal_replay(journal, replay, &m, &rep->journal_ignored, err,
	    errlen);
	if (r == -1)
		goto out;
	if (m.nomem) {
		snprintf(err, errlen, "rebuild: out of memory");
		goto out;
	}
	if (refuse_old(dir, err, errlen) == -1 || move_aside(dir, now,
	    rep->moved_to, sizeof(rep->moved_to), err, errlen) == -1)
		goto out;
	if (catalog_open(dir, 0, &cat, err, errlen) != CAT_OK)
		goto out;
	if (write_model(cat, &m, err, errlen) == -1 ||
	    index_packs(datadir, cat, &m, now, 0, &max_pack, NULL, NULL, NULL,
	    err, errlen) ==
	    -1 || write_rows(cat, &m, err, errlen) == -1)
		goto out;
	rep->max_pack = max_pack;
	if (catalog_restore_counters(cat, m.max_client + 1, max_pack + 1) !=
	    CAT_OK) {
		snprintf(err, errlen, "%s", catalog_strerror(cat));
		goto out;
	}
	ret = 0;
out:
	catalog_close(cat);
	model_free(&m);
	return ret;
}

/*
 * DataDir/server-id from the bucket's bucket.json when DataDir has none
 * (clients pin the id; gigavaultd checks that the bucket names it).  A
 * DataDir with another id is refused.  0 or -1.
 */
static int
server_id_from_bucket(const char *datadir, char *err, size_t errlen)
{
	char path[1100], tmp[1100], hex[33], have[34];
	ssize_t n;
	int fd, r;

	if ((r = packstore_bucket_server_id(hex, err, errlen)) != 0) {
		if (r == 1)
			snprintf(err, errlen, "rebuild: the bucket has no "
			    "bucket.json under S3.Prefix \"%s\": nothing of "
			    "GigaVault there (check S3.Bucket and S3.Prefix)",
			    packstore_prefix());
		return -1;
	}
	snprintf(path, sizeof(path), "%s/server-id", datadir);
	snprintf(tmp, sizeof(tmp), "%s/server-id.tmp", datadir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, have, 32);
		close(fd);
		if (n == 32 && memcmp(have, hex, 32) == 0)
			return 0;
		snprintf(err, errlen, "rebuild: %s is not the server id the "
		    "bucket names (%s): this DataDir belongs to another "
		    "server", path, hex);
		return -1;
	}
	hex[32] = '\n';
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		goto fail;
	r = write(fd, hex, 33) == 33 && fsync(fd) == 0;
	if (close(fd) == -1 || !r || rename(tmp, path) == -1) {
		(void)unlink(tmp);
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "rebuild: cannot write %s: %s", path,
	    strerror(errno));
	return -1;
}

int
rebuild_from_bucket(const char *datadir, uint64_t now,
    struct rebuild_report *rep, char *err, size_t errlen)
{
	char journal[1024], aside[1100];
	uint64_t records = 0;
	struct stat st;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (!packstore_enabled()) {
		snprintf(err, errlen, "rebuild: Store.Backend is not s3");
		return -1;
	}
	if (mkdir(datadir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "rebuild: cannot create %s: %s", datadir,
		    strerror(errno));
		return -1;
	}
	if (snprintf(journal, sizeof(journal), "%s/journal", datadir) >=
	    (int)sizeof(journal)) {
		snprintf(err, errlen, "rebuild: DataDir path too long");
		return -1;
	}
	if (stat(journal, &st) == 0) {
		snprintf(aside, sizeof(aside), "%s.before-bucket-%llu",
		    journal, (unsigned long long)now);
		if (rename(journal, aside) == -1) {
			snprintf(err, errlen, "rebuild: cannot move %s aside: "
			    "%s", journal, strerror(errno));
			return -1;
		}
	}
	if (server_id_from_bucket(datadir, err, errlen) == -1 ||
	    journal_pull(journal, &records, err, errlen) == -1)
		return -1;
	(void)records;	/* rebuild_catalog() counts them as it replays */
	/* The records it writes are the bucket's own: not again. */
	journal_mirror(1);
	r = rebuild_catalog(datadir, now, rep, err, errlen);
	journal_mirror(0);
	return r;
}

static int
cmp_move(const void *x, const void *y)
{
	const struct cat_move *a = x, *b = y;

	if (a->client != b->client)
		return a->client < b->client ? -1 : 1;
	return memcmp(a->id, b->id, BLOB_ID_LEN);
}

/* Index entries whose pack the bucket no longer lists. */
struct gone_arg {
	const struct store_pack *list;
	size_t		 nlist;
	struct cat_move	*v;
	size_t		 n, cap;
	int		 nomem;
};

static int
gone_visit(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	struct gone_arg *g = arg;
	size_t lo = 0, hi = g->nlist;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->list[mid].pack == loc->pack)
			return 0;	/* still there */
		if (g->list[mid].pack < loc->pack)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (grow((void **)&g->v, &g->cap, g->n, sizeof(*g->v)) == -1) {
		g->nomem = 1;
		return 1;
	}
	memset(&g->v[g->n], 0, sizeof(g->v[0]));
	g->v[g->n].client = client;
	memcpy(g->v[g->n].id, id, BLOB_ID_LEN);
	g->v[g->n].from_pack = loc->pack;
	g->v[g->n].from_offset = loc->offset;
	g->n++;
	return 0;
}

/*
 * rebuild_follow(), when packs it had indexed are gone from the bucket
 * (prune removed or rewrote them): an entry pointing into one is moved
 * to the copy a new pack holds (a rewrite), or else freed (prune freed
 * it).  list is the bucket's packs, sorted; fa->recs every record just
 * indexed.  0 or -1.
 */
static int
follow_gone(struct catalog *cat, struct scan_arg *fa,
    const struct store_pack *list, size_t nlist, char *err, size_t errlen)
{
	struct gone_arg g = { list, nlist, NULL, 0, 0, 0 };
	uint8_t (*ids)[BLOB_ID_LEN] = NULL;
	size_t nmv = 0, i, j;
	int ret = -1;

	if (catalog_blobs_scan(cat, gone_visit, &g) != CAT_OK) {
		snprintf(err, errlen, "%s", g.nomem ? "rebuild: out of memory" :
		    catalog_strerror(cat));
		goto out;
	}
	if (fa->nrecs > 0)
		qsort(fa->recs, fa->nrecs, sizeof(*fa->recs), cmp_move);
	/* The moved ones first, to the front of g.v; the rest to free. */
	for (i = 0; i < g.n; i++) {
		struct cat_move *hit = fa->nrecs == 0 ? NULL :
		    bsearch(&g.v[i], fa->recs, fa->nrecs, sizeof(*fa->recs),
		    cmp_move);

		if (hit == NULL)
			continue;
		g.v[i].pack = hit->pack;
		g.v[i].offset = hit->offset;
		if (i != nmv) {
			struct cat_move t = g.v[nmv];

			g.v[nmv] = g.v[i];
			g.v[i] = t;
		}
		nmv++;
	}
	if (nmv > 0 && catalog_blobs_move(cat, g.v, nmv, NULL) != CAT_OK) {
		snprintf(err, errlen, "%s", catalog_strerror(cat));
		goto out;
	}
	if (g.n > nmv) {
		qsort(g.v + nmv, g.n - nmv, sizeof(*g.v), cmp_move);
		if ((ids = calloc(g.n - nmv, sizeof(*ids))) == NULL) {
			snprintf(err, errlen, "rebuild: out of memory");
			goto out;
		}
	}
	for (i = nmv; i < g.n; i = j) {
		size_t k = 0;

		for (j = i; j < g.n && g.v[j].client == g.v[i].client; j++)
			memcpy(ids[k++], g.v[j].id, BLOB_ID_LEN);
		if (catalog_blobs_free(cat, g.v[i].client,
		    (const uint8_t (*)[BLOB_ID_LEN])ids, k, UINT64_MAX, NULL,
		    NULL, NULL, NULL) != CAT_OK) {
			snprintf(err, errlen, "%s", catalog_strerror(cat));
			goto out;
		}
	}
	ret = 0;
out:
	free(ids);
	free(g.v);
	return ret;
}

/* rebuild_follow()'s step after the packs: cat says what m says. */
static int
follow_rows(struct catalog *cat, struct model *m, char *err, size_t errlen)
{
	struct cat_snapshot have;
	struct cat_client cl;
	int r;

	for (size_t i = 0; i < m->ncl; i++) {
		struct rclient *c = &m->cl[i];

		if (!c->removed)
			continue;
		/* Its name may be another client's by now. */
		if ((r = catalog_client_get(cat, c->cl.name, &cl)) == CAT_OK &&
		    cl.id == c->cl.id)
			r = catalog_client_remove(cat, c->cl.name);
		if (r == CAT_ERROR)
			goto fail;
	}
	for (size_t i = 0; i < m->nsn; i++) {
		struct rsnap *s = &m->sn[i];
		struct rclient *c = client_find(m, s->client);

		r = catalog_snapshot_get(cat, s->client, s->s.id, &have);
		if (r == CAT_ERROR)
			goto fail;
		if ((s->dead || c == NULL || c->removed) && r == CAT_OK) {
			/* Unprotected there before it was forgotten. */
			if ((have.protected && catalog_snapshot_protect(cat,
			    s->client, s->s.id, 0) == CAT_ERROR) ||
			    catalog_forget(cat, s->client, s->s.id) ==
			    CAT_ERROR)
				goto fail;
		} else if (!s->dead && c != NULL && !c->removed &&
		    r == CAT_OK && have.protected != s->s.protected) {
			if (catalog_snapshot_protect(cat, s->client, s->s.id,
			    s->s.protected) == CAT_ERROR)
				goto fail;
		} else if (!s->dead && c != NULL && !c->removed &&
		    r == CAT_NOTFOUND) {
			if (catalog_restore_snapshot(cat, s->client, &s->s) !=
			    CAT_OK)
				goto fail;
			m->rep->snapshots++;
		}
	}
	for (size_t i = 0; i < m->npo; i++) {
		struct rpolicy *p = &m->po[i];
		struct rclient *c = client_find(m, p->client);

		if (c == NULL || c->removed)
			continue;
		r = p->dead ? catalog_policy_clear(cat, c->cl.name, p->set) :
		    catalog_policy_set(cat, c->cl.name, p->set, &p->p);
		if (r == CAT_ERROR)
			goto fail;
		if (!p->dead)
			m->rep->policies++;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s", catalog_strerror(cat));
	return -1;
}

int
rebuild_follow(struct catalog *cat, const char *datadir,
    struct rebuild_follow *st, struct rebuild_report *rep, char *err,
    size_t errlen)
{
	struct rebuild_report own;
	struct scan_arg fa;
	struct store_pack *list = NULL;
	size_t nlist = 0, old = 0;
	char journal[1024];
	uint64_t added = 0;
	uint32_t max_pack = st->max_pack;
	struct model m;
	int ret = -1;

	memset(&fa, 0, sizeof(fa));

	if (rep == NULL)
		rep = &own;
	memset(rep, 0, sizeof(*rep));
	memset(&m, 0, sizeof(m));
	m.rep = rep;
	if (!packstore_enabled()) {
		snprintf(err, errlen, "rebuild: Store.Backend is not s3");
		return -1;
	}
	if (snprintf(journal, sizeof(journal), "%s/journal", datadir) >=
	    (int)sizeof(journal)) {
		snprintf(err, errlen, "rebuild: DataDir path too long");
		return -1;
	}
	journal_mirror(1);
	if (journal_pull(journal, &added, err, errlen) == -1)
		goto out;
	st->segments += added;
	if (journal_replay(journal, replay, &m, &rep->journal_ignored, err,
	    errlen) == -1)
		goto out;
	if (m.nomem) {
		snprintf(err, errlen, "rebuild: out of memory");
		goto out;
	}
	/* Clients first: the packs' records are indexed for live ones. */
	fa.m = &m;
	fa.cat = cat;
	fa.now = (uint64_t)time(NULL);
	fa.err = err;
	fa.errlen = errlen;
	fa.keep_recs = 1;
	if (write_model(cat, &m, err, errlen) == -1 ||
	    index_packs(datadir, cat, &m, fa.now, st->max_pack, &max_pack,
	    &fa, &list, &nlist, err, errlen) == -1)
		goto out;
	/* Packs known before that the bucket no longer lists: prune's. */
	for (size_t i = 0; i < nlist; i++)
		if (list[i].pack <= st->max_pack)
			old++;
	if (old < st->npacks && follow_gone(cat, &fa, list, nlist, err,
	    errlen) == -1)
		goto out;
	st->npacks = nlist;
	st->max_pack = max_pack;
	rep->max_pack = max_pack;
	if (follow_rows(cat, &m, err, errlen) == -1)
		goto out;
	if (catalog_restore_counters(cat, m.max_client + 1, max_pack + 1) !=
	    CAT_OK) {
		snprintf(err, errlen, "%s", catalog_strerror(cat));
		goto out;
	}
	ret = 0;
out:
	journal_mirror(0);
	model_free(&m);
	free(list);
	free(fa.recs);
	return ret;
}
