/*
 * catalog.c - the LMDB catalog: clients, tokens, the blob index and
 * snapshots.  See catalog.h.
 *
 * Named databases and their records (integers big-endian, so that keys
 * sort numerically):
 *
 *   meta       "next_client", "next_pack" -> u64; "usage_v1" -> u8 1
 *                      once the usage table is complete (see below);
 *                      "format" -> u32 2 (CAT_FORMAT), set when the
 *                      catalog is created.  A catalog without it but
 *                      with blobs or snapshots is 0.1.0's (format 1:
 *                      refcounts and reference lists) and is refused.
 *   clients    name -> u64 id, u64 created, u64 next_snapshot,
 *                      u32 flags (1 registered, 2 disabled,
 *                      4 allow forget), secret[32]
 *   tokens     SHA-256(token)[32] -> u64 client id, name
 *   blobs      u64 client || id[32] -> u32 pack, u32 offset, u32 length,
 *                      u32 nlinks, u32 touched (20 bytes; the checksum
 *                      is in the pack record's header)
 *   snapshots  u64 client || u64 snapshot -> u64 time, root[32],
 *                      meta[32], u8 flags (1: legacy node), legacy[32]
 *                      (with flag 1 only), u8 setlen, set, u64 files,
 *                      u64 size, u64 new_bytes, u64 new_blobs
 *   policies   u64 client || set ("" = the client's default) ->
 *                      u32 last, hourly, daily, weekly, monthly, yearly
 *   peers      id[16] -> fixed record, see peer_encode(); key "" ->
 *                      CAT_PEER_STATS u64 discovery counters
 *   usage      u64 client -> u64 snapshots, u64 size, u64 blobs,
 *                      u64 unique_bytes: running totals, kept in the
 *                      transactions that index, free, commit and forget
 *                      (no record: all zero).  A catalog written before
 *                      this table existed lacks "usage_v1" in meta:
 *                      catalog_open() then builds the table once, in one
 *                      transaction that reads every snapshot row and
 *                      blob index entry, and sets "usage_v1".  (A
 *                      catalog written again by such an older binary
 *                      afterwards would have wrong totals: delete
 *                      "usage_v1" to rebuild; downgrades are not
 *                      supported.)
 *   days       u32 day (since 1970-01-01 UTC) -> u64 sessions,
 *                      u64 bytes_in, u64 bytes_out, u64 unique_bytes
 *   recent     u64 sequence || u64 client || id[32] -> u32 time: the
 *                      linked blobs indexed lately (one row each, made
 *                      by the transaction that indexes it; the sequence
 *                      from meta "next_recent"), so that prune's sweep
 *                      can spare what they link to.  Prune deletes the
 *                      rows older than its cutoff.  A rebuild leaves
 *                      the table empty.
 *
 * What agents report (CAT_T_JOBS; not journaled, so a rebuild starts
 * with no history).  A client removed loses its rows in all four.
 *   jobs       u64 client || u64 seq -> u64 request, i64 start, end,
 *                      received, u8 result, u64 snapid, files, bytes,
 *                      read_bytes, sent_bytes, problems, i64 next_run,
 *                      u8 setlen, u16 errlen, set, error: the reports,
 *                      the newest CAT_JOBS_KEPT of each client (the
 *                      oldest are the client's first keys)
 *   jobsets    u64 client -> u64 next seq, u64 reports kept; and
 *                      u64 client || set -> i64 last success, last
 *                      failure, next run, interval, last report, u8
 *                      last result (0xff: none yet), running, job (its
 *                      agent has a job for the set), u16 errlen, the
 *                      last failure's error: one look per set for its
 *                      health
 *   agents     u64 client -> i64 last poll, u32 jobs, u8 namelen, name
 *   requests   u64 0 -> u64 next request id; u64 client || u64 id ->
 *                      i64 queued, i64 taken (0: not yet), u8 setlen,
 *                      u8 bylen, set, by: "back up now" until the
 *                      report that answers it (or a day after it was
 *                      taken, when none comes); then, for a browse or
 *                      restore request (none for a backup, as records
 *                      before them), u8 kind, u16 argslen, args;
 *                      u64 client || u64 id || u8 'A' -> i64 when,
 *                      u8 status, u8 kind, answer: the agent's answer
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "catalog.h"
#include "journal.h"

/*
 * Every record written or deleted is counted (catalog_writes()), and
 * refused with EACCES in a table the handle may not write (the tables
 * given to catalog_open_for()).
 */
#define mdb_put(t, db, k, d, f)	(may_write(c, db) ? (c->writes++, \
				 mdb_put(t, db, k, d, f)) : EACCES)
#define mdb_del(t, db, k, d)	(may_write(c, db) ? (c->writes++, \
				 mdb_del(t, db, k, d)) : EACCES)
#define mdb_cursor_del(cur, f)	(may_write(c, mdb_cursor_dbi(cur)) ? \
				 (c->writes++, mdb_cursor_del(cur, f)) : EACCES)
#define mdb_drop(t, db, del)	(may_write(c, db) ? mdb_drop(t, db, del) : \
				 EACCES)

#define DEFAULT_MAPSIZE		(256UL << 20)
#define MAX_MAPSIZE		((size_t)1 << 40)
#define MAX_RETRIES		64

#define CLIENT_REC_LEN		(8 + 8 + 8 + 4 + BLOB_ID_LEN)
#define BLOB_KEY_LEN		(8 + BLOB_ID_LEN)
#define BLOB_REC_LEN		(5 * 4)
#define POLICY_REC_LEN		(6 * 4)
#define SNAP_KEY_LEN		16
/* time, root, meta, flags; then legacy (flag 1); setlen, set; the tail */
#define SNAP_REC_HEAD		(8 + BLOB_ID_LEN + BLOB_ID_LEN + 1)
#define SNAP_REC_TAIL		(4 * 8)	/* files, size, new_bytes, new_blobs */
#define SNAP_REC_MAX		(SNAP_REC_HEAD + BLOB_ID_LEN + 1 + \
				 CAT_NAME_MAX + SNAP_REC_TAIL)
#define SNAP_FLAG_LEGACY	1u
#define SNAP_FLAG_PROTECTED	2u
#define FORMAT_KEY		"format"
#define USAGE_REC_LEN		(4 * 8)
#define DAY_REC_LEN		(4 * 8)
#define USAGE_DONE_KEY		"usage_v1"

#define RECENT_KEY_LEN		(8 + 8 + BLOB_ID_LEN)
#define RECENT_NEXT_KEY		"next_recent"

#define FLAG_REGISTERED		1u
#define FLAG_DISABLED		2u
#define FLAG_ALLOW_FORGET	4u

struct catalog {
	MDB_env		*env;
	MDB_dbi		 meta, clients, tokens, blobs, snapshots;
	MDB_dbi		 policies, peers, usage, days, recent;
	MDB_dbi		 jobs, jobsets, agents, requests;
	MDB_dbi		 history;
	uint64_t	 history_max;	/* catalog_history_set_max(), 0: default */
	uint64_t	 writes;	/* records written or deleted */
	int		 rc;		/* LMDB code of the last CAT_ERROR */
	char		 err[256];
	/* DataDir/journal (journal.h), opened by the first change. */
	struct journal	*journal;
	char		 journal_path[1024];
	/* Bit 1 << dbi for each table this handle may write. */
	uint32_t	 writable;
};

static int
may_write(const struct catalog *c, MDB_dbi dbi)
{
	return dbi < 32 && (c->writable & ((uint32_t)1 << dbi)) != 0;
}

/* ------------------------------------------------------------ encoding */

static void
client_encode(const struct cat_client *cl, uint8_t b[CLIENT_REC_LEN])
{
	be64_put(b, cl->id);
	be64_put(b + 8, cl->created);
	be64_put(b + 16, cl->next_snapshot);
	be32_put(b + 24, (cl->registered ? FLAG_REGISTERED : 0) |
	    (cl->disabled ? FLAG_DISABLED : 0) |
	    (cl->allow_forget ? FLAG_ALLOW_FORGET : 0));
	memcpy(b + 28, cl->secret, CAT_SECRET_LEN);
}

int
catalog_client_decode(const void *name, size_t namelen, const void *rec,
    size_t reclen, struct cat_client *cl)
{
	const uint8_t *b = rec;
	uint32_t flags;

	if (reclen != CLIENT_REC_LEN || namelen == 0 ||
	    namelen > CAT_NAME_MAX)
		return -1;
	memcpy(cl->name, name, namelen);
	cl->name[namelen] = '\0';
	cl->id = be64_get(b);
	cl->created = be64_get(b + 8);
	cl->next_snapshot = be64_get(b + 16);
	flags = be32_get(b + 24);
	cl->registered = (flags & FLAG_REGISTERED) != 0;
	cl->disabled = (flags & FLAG_DISABLED) != 0;
	cl->allow_forget = (flags & FLAG_ALLOW_FORGET) != 0;
	memcpy(cl->secret, b + 28, CAT_SECRET_LEN);
	return 0;
}

static int
client_decode(const MDB_val *k, const MDB_val *v, struct cat_client *cl)
{
	return catalog_client_decode(k->mv_data, k->mv_size, v->mv_data,
	    v->mv_size, cl);
}

static void
blob_encode(const struct cat_blob *bl, uint8_t b[BLOB_REC_LEN])
{
	be32_put(b, bl->pack);
	be32_put(b + 4, (uint32_t)bl->offset);
	be32_put(b + 8, bl->length);
	be32_put(b + 12, bl->nlinks);
	be32_put(b + 16, bl->touched > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)bl->touched);
}

static int
blob_decode(const MDB_val *v, struct cat_blob *bl)
{
	const uint8_t *b = v->mv_data;

	if (v->mv_size != BLOB_REC_LEN)
		return -1;
	bl->pack = be32_get(b);
	bl->offset = be32_get(b + 4);
	bl->length = be32_get(b + 8);
	bl->nlinks = be32_get(b + 12);
	bl->touched = be32_get(b + 16);
	return 0;
}

static size_t
snap_encode(const struct cat_snapshot *s, uint8_t *b)
{
	size_t setlen = strlen(s->set), n;

	be64_put(b, s->time);
	memcpy(b + 8, s->root, BLOB_ID_LEN);
	memcpy(b + 40, s->meta, BLOB_ID_LEN);
	b[72] = (s->has_legacy ? SNAP_FLAG_LEGACY : 0) |
	    (s->protected ? SNAP_FLAG_PROTECTED : 0);
	n = SNAP_REC_HEAD;
	if (s->has_legacy) {
		memcpy(b + n, s->legacy, BLOB_ID_LEN);
		n += BLOB_ID_LEN;
	}
	b[n++] = (uint8_t)setlen;
	memcpy(b + n, s->set, setlen);
	n += setlen;
	be64_put(b + n, s->files);
	be64_put(b + n + 8, s->size);
	be64_put(b + n + 16, s->new_bytes);
	be64_put(b + n + 24, s->new_blobs);
	return n + SNAP_REC_TAIL;
}

static int
snap_decode(const MDB_val *k, const MDB_val *v, struct cat_snapshot *s)
{
	const uint8_t *b = v->mv_data;
	size_t n = SNAP_REC_HEAD, setlen;

	if (k->mv_size != SNAP_KEY_LEN || v->mv_size < SNAP_REC_HEAD + 1 ||
	    (b[72] & ~(SNAP_FLAG_LEGACY | SNAP_FLAG_PROTECTED)) != 0)
		return -1;
	memset(s, 0, sizeof(*s));
	s->protected = (b[72] & SNAP_FLAG_PROTECTED) != 0;
	s->id = be64_get((const uint8_t *)k->mv_data + 8);
	s->time = be64_get(b);
	memcpy(s->root, b + 8, BLOB_ID_LEN);
	memcpy(s->meta, b + 40, BLOB_ID_LEN);
	if (b[72] & SNAP_FLAG_LEGACY) {
		if (v->mv_size < n + BLOB_ID_LEN + 1)
			return -1;
		s->has_legacy = 1;
		memcpy(s->legacy, b + n, BLOB_ID_LEN);
		n += BLOB_ID_LEN;
	}
	setlen = b[n++];
	if (setlen > CAT_NAME_MAX || v->mv_size != n + setlen + SNAP_REC_TAIL)
		return -1;
	memcpy(s->set, b + n, setlen);
	s->set[setlen] = '\0';
	n += setlen;
	s->files = be64_get(b + n);
	s->size = be64_get(b + n + 8);
	s->new_bytes = be64_get(b + n + 16);
	s->new_blobs = be64_get(b + n + 24);
	return 0;
}

/* ------------------------------------------------------------- errors */

static int
fail(struct catalog *c, int rc, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	c->rc = rc;
	snprintf(c->err, sizeof(c->err), "catalog: %s: %s%s", what,
	    rc ? mdb_strerror(rc) : "damaged record",
	    rc == EACCES && c->writable != UINT32_MAX ?
	    " (a table this process may not write)" : "");
	return CAT_ERROR;
}

const char *
catalog_strerror(const struct catalog *c)
{
	return c->err;
}

/* --------------------------------------------------------- transactions */

typedef int (*txn_fn)(struct catalog *, MDB_txn *, void *);

static int
grow(struct catalog *c)
{
	MDB_envinfo info;
	size_t size;
	int rc;

	if ((rc = mdb_env_info(c->env, &info)) != 0)
		return rc;
	size = info.me_mapsize;
	if (size >= MAX_MAPSIZE)
		return MDB_MAP_FULL;
	return mdb_env_set_mapsize(c->env, size * 2);
}

static int
txn_begin(struct catalog *c, unsigned flags, MDB_txn **txn)
{
	int rc;

	for (int i = 0; i < MAX_RETRIES; i++) {
		rc = mdb_txn_begin(c->env, NULL, flags, txn);
		if (rc != MDB_MAP_RESIZED)
			return rc;
		/* Another process grew the map: adopt its size. */
		if ((rc = mdb_env_set_mapsize(c->env, 0)) != 0)
			return rc;
	}
	return MDB_MAP_RESIZED;
}

/*
 * Run fn in a write transaction; commit when it returns CAT_OK, abort
 * otherwise.  A full map is grown and fn run again from the start.
 */
static int
run_write(struct catalog *c, txn_fn fn, void *arg)
{
	for (int i = 0; i < MAX_RETRIES; i++) {
		MDB_txn *txn;
		int r, rc;

		c->rc = 0;
		if ((rc = txn_begin(c, 0, &txn)) != 0)
			return fail(c, rc, "begin write transaction");
		r = fn(c, txn, arg);
		if (r != CAT_OK) {
			mdb_txn_abort(txn);
			if (r != CAT_ERROR || c->rc != MDB_MAP_FULL)
				return r;
		} else if ((rc = mdb_txn_commit(txn)) == 0) {
			return CAT_OK;
		} else if (rc != MDB_MAP_FULL) {
			return fail(c, rc, "commit");
		}
		if ((rc = grow(c)) != 0)
			return fail(c, rc, "grow the map");
	}
	return fail(c, MDB_MAP_FULL, "map still full after growing");
}

static int
run_read(struct catalog *c, txn_fn fn, void *arg)
{
	MDB_txn *txn;
	int r, rc;

	if ((rc = txn_begin(c, MDB_RDONLY, &txn)) != 0)
		return fail(c, rc, "begin read transaction");
	r = fn(c, txn, arg);
	mdb_txn_abort(txn);
	return r;
}

/* -------------------------------------------------------------- journal */

/* The journal sits beside the catalog's directory: DataDir/journal. */
static void
journal_path(struct catalog *c, const char *dir)
{
	const char *slash = strrchr(dir, '/');
	int n = slash == NULL ? 1 : (int)(slash - dir);

	if (slash == dir)
		n = 0;
	if (snprintf(c->journal_path, sizeof(c->journal_path), "%.*s/journal",
	    n, slash == NULL ? "." : dir) >= (int)sizeof(c->journal_path))
		c->journal_path[0] = '\0';
}

/*
 * Append r to the journal inside the write transaction that makes the
 * same change (journal.h): call it after the transaction's last write,
 * so that only a failed commit can leave a record behind.  CAT_OK or
 * CAT_ERROR (the caller's transaction is then aborted).
 */
static int
journal_log(struct catalog *c, struct journal_rec *r)
{
	char err[256];

	if (c->journal == NULL && (c->journal_path[0] == '\0' ||
	    journal_open(c->journal_path, &c->journal, err,
	    sizeof(err)) == -1)) {
		if (c->journal_path[0] == '\0')
			snprintf(err, sizeof(err), "journal: path too long");
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: %.200s", err);
		return CAT_ERROR;
	}
	if (journal_append(c->journal, r, err, sizeof(err)) == -1) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: %.200s", err);
		return CAT_ERROR;
	}
	return CAT_OK;
}

/* A journal record naming client cl. */
static struct journal_rec
journal_client(uint8_t type, const struct cat_client *cl)
{
	struct journal_rec r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.client = cl->id;
	memcpy(r.name, cl->name, sizeof(r.name));
	r.flags = (cl->registered ? JOURNAL_F_REGISTERED : 0) |
	    (cl->disabled ? JOURNAL_F_DISABLED : 0) |
	    (cl->allow_forget ? JOURNAL_F_ALLOW_FORGET : 0);
	return r;
}

/* A journal record of client's snapshot s (its row for a COMMIT). */
static struct journal_rec
journal_snapshot(uint8_t type, uint64_t client, const struct cat_snapshot *s)
{
	struct journal_rec r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.client = client;
	r.snap = s->id;
	if (type != JOURNAL_COMMIT)
		return r;
	r.time = s->time;
	memcpy(r.root, s->root, BLOB_ID_LEN);
	memcpy(r.meta, s->meta, BLOB_ID_LEN);
	r.has_legacy = s->has_legacy != 0;
	memcpy(r.legacy, s->legacy, BLOB_ID_LEN);
	snprintf(r.set, sizeof(r.set), "%s", s->set);
	r.files = s->files;
	r.size = s->size;
	r.new_bytes = s->new_bytes;
	r.new_blobs = s->new_blobs;
	return r;
}

/* ------------------------------------------------------------ open/close */

static int	usage_ensure(struct catalog *);


struct open_arg {
	MDB_dbi		*dbi;
	const char	*name;
	unsigned	 table;		/* CAT_T_* */
};

/*
 * Open the databases, then look at the format: a new catalog gets
 * "format" = CAT_FORMAT; one without it that holds blobs or snapshots
 * is 0.1.0's (CAT_OLDFORMAT, nothing written).
 */
static int
open_dbis(struct catalog *c, MDB_txn *txn, void *arg)
{
	const struct open_arg *o = arg;
	MDB_val k = { strlen(FORMAT_KEY), (void *)FORMAT_KEY }, d;
	MDB_stat sb, ss;
	uint8_t b[4];
	int rc;

	for (; o->name != NULL; o++)
		if ((rc = mdb_dbi_open(txn, o->name, MDB_CREATE, o->dbi)) != 0)
			return fail(c, rc, "open database %s", o->name);
	if ((rc = mdb_get(txn, c->meta, &k, &d)) == 0) {
		if (d.mv_size != 4 || be32_get(d.mv_data) != CAT_FORMAT) {
			c->rc = 0;
			snprintf(c->err, sizeof(c->err), "catalog: format %u "
			    "is not %d (written by a newer gigavaultd?)",
			    d.mv_size == 4 ? be32_get(d.mv_data) : 0,
			    CAT_FORMAT);
			return CAT_ERROR;
		}
		return CAT_OK;
	}
	if (rc != MDB_NOTFOUND)
		return fail(c, rc, "read %s", FORMAT_KEY);
	if ((rc = mdb_stat(txn, c->blobs, &sb)) != 0 ||
	    (rc = mdb_stat(txn, c->snapshots, &ss)) != 0)
		return fail(c, rc, "count records");
	if (sb.ms_entries > 0 || ss.ms_entries > 0) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: written by "
		    "gigavault 0.1.0 (store format 1): stop gigavaultd and "
		    "run gigavaultctl upgrade");
		return CAT_OLDFORMAT;
	}
	be32_put(b, CAT_FORMAT);
	d.mv_size = sizeof(b);
	d.mv_data = b;
	if ((rc = mdb_put(txn, c->meta, &k, &d, 0)) != 0)
		return fail(c, rc, "write %s", FORMAT_KEY);
	return CAT_OK;
}

/* Whether an LMDB error means the files are damaged, not missing. */
static int
unreadable(int rc)
{
	return rc == MDB_INVALID || rc == MDB_CORRUPTED ||
	    rc == MDB_PAGE_NOTFOUND || rc == MDB_VERSION_MISMATCH;
}

/*
 * Mark LMDB's descriptors close-on-exec: it opens data.mdb without it
 * (its lock file with it), so a program a child runs (the alerts' mail
 * command) would inherit a read-write descriptor on the catalog.  The
 * data file's descriptor is mdb_env_get_fd()'s; LMDB keeps a second
 * one on it for its meta pages that it does not expose, found here by
 * its inode among the process's descriptors (/proc/self/fd).
 */
static int
cloexec_env(MDB_env *env, const char *dir)
{
	char path[PATH_MAX];
	struct stat data, lock, st;
	mdb_filehandle_t fd;
	struct dirent *e;
	int flags, havelock;
	DIR *d;

	if (mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &data) == -1 ||
	    (flags = fcntl(fd, F_GETFD)) == -1 ||
	    fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	havelock = stat(path, &lock) == 0;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;	/* not Linux: the data file's only */
	while ((e = readdir(d)) != NULL) {
		char *end;
		long n = strtol(e->d_name, &end, 10);

		if (*end != '\0' || n < 0 || n == dirfd(d) ||
		    fstat((int)n, &st) == -1)
			continue;
		if (!((st.st_dev == data.st_dev && st.st_ino == data.st_ino) ||
		    (havelock && st.st_dev == lock.st_dev &&
		    st.st_ino == lock.st_ino)))
			continue;
		if ((flags = fcntl((int)n, F_GETFD)) != -1)
			(void)fcntl((int)n, F_SETFD, flags | FD_CLOEXEC);
	}
	closedir(d);
	return 0;
}

int
catalog_open(const char *dir, size_t mapsize, struct catalog **out,
    char *err, size_t errlen)
{
	return catalog_open_for(dir, mapsize, CAT_T_ALL, out, err, errlen);
}

int
catalog_open_for(const char *dir, size_t mapsize, unsigned tables,
    struct catalog **out, char *err, size_t errlen)
{
	struct catalog *c;
	int rc, dead;

	*out = NULL;
	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "catalog: cannot create %s: %s", dir,
		    strerror(errno));
		return CAT_ERROR;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "catalog: %s", strerror(errno));
		return CAT_ERROR;
	}
	if ((rc = mdb_env_create(&c->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(c->env, 24)) != 0 ||
	    (rc = mdb_env_set_mapsize(c->env,
	    mapsize ? mapsize : DEFAULT_MAPSIZE)) != 0 ||
	    (rc = mdb_env_open(c->env, dir, 0, 0640)) != 0) {
		snprintf(err, errlen, "catalog: cannot open %s: %s%s", dir,
		    mdb_strerror(rc), unreadable(rc) ? " (stop gigavaultd "
		    "and run gigavaultctl rebuild-catalog)" : "");
		if (c->env != NULL)
			mdb_env_close(c->env);
		free(c);
		return CAT_ERROR;
	}
	if (cloexec_env(c->env, dir) == -1) {
		snprintf(err, errlen, "catalog: %s: cannot mark its files "
		    "close-on-exec: %s", dir, strerror(errno));
		catalog_close(c);
		return CAT_ERROR;
	}
	if ((rc = mdb_reader_check(c->env, &dead)) != 0) {
		snprintf(err, errlen, "catalog: reader check in %s: %s", dir,
		    mdb_strerror(rc));
		catalog_close(c);
		return CAT_ERROR;
	}
	{
		const struct open_arg dbis[] = {
			{ &c->meta, "meta", CAT_T_META },
			{ &c->clients, "clients", CAT_T_CLIENTS },
			{ &c->tokens, "tokens", CAT_T_TOKENS },
			{ &c->blobs, "blobs", CAT_T_BLOBS },
			{ &c->snapshots, "snapshots", CAT_T_SNAPSHOTS },
			{ &c->policies, "policies", CAT_T_POLICIES },
			{ &c->peers, "peers", CAT_T_PEERS },
			{ &c->usage, "usage", CAT_T_USAGE },
			{ &c->days, "days", CAT_T_DAYS },
			{ &c->recent, "recent", CAT_T_RECENT },
			{ &c->jobs, "jobs", CAT_T_JOBS },
			{ &c->jobsets, "jobsets", CAT_T_JOBS },
			{ &c->agents, "agents", CAT_T_JOBS },
			{ &c->requests, "requests", CAT_T_JOBS },
			{ &c->history, "history", CAT_T_HISTORY },
			{ NULL, NULL, 0 },
		};

		int r;

		/* The setup (tables, format, totals) may write them all. */
		c->writable = UINT32_MAX;
		if ((r = run_write(c, open_dbis, (void *)dbis)) != CAT_OK ||
		    (r = usage_ensure(c)) != CAT_OK) {
			snprintf(err, errlen, "%s%s", c->err,
			    r == CAT_ERROR && unreadable(c->rc) ? " (stop "
			    "gigavaultd and run gigavaultctl rebuild-catalog)" :
			    "");
			catalog_close(c);
			return r == CAT_OLDFORMAT ? CAT_OLDFORMAT : CAT_ERROR;
		}
		if (tables != CAT_T_ALL) {
			c->writable = 0;
			for (const struct open_arg *o = dbis; o->name != NULL;
			    o++)
				if ((tables & o->table) && *o->dbi < 32)
					c->writable |= (uint32_t)1 << *o->dbi;
		}
	}
	journal_path(c, dir);
	*out = c;
	return CAT_OK;
}

void
catalog_close(struct catalog *c)
{
	if (c == NULL)
		return;
	journal_close(c->journal);
	mdb_env_close(c->env);
	free(c);
}

size_t
catalog_mapsize(const struct catalog *c)
{
	MDB_envinfo info;

	if (mdb_env_info(c->env, &info) != 0)
		return 0;
	return info.me_mapsize;
}

int
catalog_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CAT_NAME_MAX || strspn(name, ".") == n)
		return 0;	/* ".", "..": names that read as paths */
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return 0;
	return 1;
}

/* ------------------------------------------------------------- helpers */

/* Increment counter key in meta; *v gets the value before (from 1). */
static int
counter_next(struct catalog *c, MDB_txn *txn, const char *key, uint64_t *v)
{
	MDB_val k = { strlen(key), (void *)key }, d;
	uint8_t b[8];
	int rc;

	rc = mdb_get(txn, c->meta, &k, &d);
	if (rc == MDB_NOTFOUND)
		*v = 1;
	else if (rc != 0)
		return fail(c, rc, "read counter %s", key);
	else if (d.mv_size != 8)
		return fail(c, 0, "counter %s", key);
	else
		*v = be64_get(d.mv_data);
	be64_put(b, *v + 1);
	d.mv_size = 8;
	d.mv_data = b;
	if ((rc = mdb_put(txn, c->meta, &k, &d, 0)) != 0)
		return fail(c, rc, "write counter %s", key);
	return CAT_OK;
}

static int
client_load(struct catalog *c, MDB_txn *txn, const char *name,
    struct cat_client *cl)
{
	MDB_val k = { strlen(name), (void *)name }, d;
	int rc;

	if (k.mv_size == 0 || k.mv_size > CAT_NAME_MAX)
		return CAT_NOTFOUND;
	if ((rc = mdb_get(txn, c->clients, &k, &d)) == MDB_NOTFOUND)
		return CAT_NOTFOUND;
	if (rc != 0)
		return fail(c, rc, "read client %s", name);
	if (client_decode(&k, &d, cl) == -1)
		return fail(c, 0, "client %s", name);
	return CAT_OK;
}

static int
client_store(struct catalog *c, MDB_txn *txn, const struct cat_client *cl)
{
	uint8_t b[CLIENT_REC_LEN];
	MDB_val k = { strlen(cl->name), (void *)cl->name };
	MDB_val d = { sizeof(b), b };
	int rc;

	client_encode(cl, b);
	if ((rc = mdb_put(txn, c->clients, &k, &d, 0)) != 0)
		return fail(c, rc, "write client %s", cl->name);
	return CAT_OK;
}

/*
 * Visit the records of db in key order, from the first key >= from
 * (fromlen bytes; fromlen 0: the first record) while the key starts
 * with the first plen bytes of from.  visit returns WALK_ON to go on,
 * WALK_STOP to stop, or CAT_ERROR after fail().  Returns CAT_OK or
 * CAT_ERROR; what names the records in an error message.
 */
#define WALK_ON		0
#define WALK_STOP	1

static int
walk(struct catalog *c, MDB_txn *txn, MDB_dbi db, const void *from,
    size_t fromlen, size_t plen,
    int (*visit)(struct catalog *, const MDB_val *, const MDB_val *, void *),
    void *arg, const char *what)
{
	MDB_cursor *cur;
	MDB_val k = { fromlen, (void *)from }, d;
	int rc, r = WALK_ON;

	if ((rc = mdb_cursor_open(txn, db, &cur)) != 0)
		return fail(c, rc, "open cursor");
	for (rc = mdb_cursor_get(cur, &k, &d, fromlen ? MDB_SET_RANGE :
	    MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (plen > 0 && (k.mv_size < plen ||
		    memcmp(k.mv_data, from, plen) != 0))
			break;
		if ((r = visit(c, &k, &d, arg)) != WALK_ON)
			break;
	}
	mdb_cursor_close(cur);
	if (r == CAT_ERROR)
		return CAT_ERROR;
	if (r == WALK_ON && rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "read %s", what);
	return CAT_OK;
}

struct by_id_arg {
	uint64_t		 id;
	struct cat_client	*cl;
	int			 found;
};

static int
by_id_visit(struct catalog *c, const MDB_val *k, const MDB_val *d, void *arg)
{
	struct by_id_arg *a = arg;

	if (d->mv_size != CLIENT_REC_LEN || be64_get(d->mv_data) != a->id)
		return WALK_ON;
	if (client_decode(k, d, a->cl) == -1)
		return fail(c, 0, "client record");
	a->found = 1;
	return WALK_STOP;
}

/* Find the client with id (a scan: clients are few). */
static int
client_by_id(struct catalog *c, MDB_txn *txn, uint64_t id,
    struct cat_client *cl)
{
	struct by_id_arg a = { id, cl, 0 };

	if (walk(c, txn, c->clients, NULL, 0, 0, by_id_visit, &a,
	    "clients") == CAT_ERROR)
		return CAT_ERROR;
	return a.found ? CAT_OK : CAT_NOTFOUND;
}

/* Delete every key of db that starts with the 8-byte prefix. */
static int
delete_prefix(struct catalog *c, MDB_txn *txn, MDB_dbi db,
    const uint8_t prefix[8])
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, db, &cur)) != 0)
		return fail(c, rc, "open cursor");
	for (;;) {
		k.mv_size = 8;
		k.mv_data = (void *)prefix;
		if ((rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE)) != 0)
			break;
		if (k.mv_size < 8 || memcmp(k.mv_data, prefix, 8) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "delete records");
	return CAT_OK;
}

/* ---------------------------------------------------- usage and totals */

struct usage_rec {
	uint64_t	 snapshots, size, blobs, unique_bytes;
};

static void
usage_encode(const struct usage_rec *u, uint8_t b[USAGE_REC_LEN])
{
	be64_put(b, u->snapshots);
	be64_put(b + 8, u->size);
	be64_put(b + 16, u->blobs);
	be64_put(b + 24, u->unique_bytes);
}

static int
usage_decode(const MDB_val *v, struct usage_rec *u)
{
	const uint8_t *b = v->mv_data;

	if (v->mv_size != USAGE_REC_LEN)
		return -1;
	u->snapshots = be64_get(b);
	u->size = be64_get(b + 8);
	u->blobs = be64_get(b + 16);
	u->unique_bytes = be64_get(b + 24);
	return 0;
}

/* Client's running totals into *u (all zero without a record). */
static int
usage_load(struct catalog *c, MDB_txn *txn, uint64_t client,
    struct usage_rec *u)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, d;
	int rc;

	memset(u, 0, sizeof(*u));
	be64_put(key, client);
	if ((rc = mdb_get(txn, c->usage, &k, &d)) == MDB_NOTFOUND)
		return CAT_OK;
	if (rc != 0)
		return fail(c, rc, "read usage");
	if (usage_decode(&d, u) == -1)
		return fail(c, 0, "usage record");
	return CAT_OK;
}

static int
usage_store(struct catalog *c, MDB_txn *txn, uint64_t client,
    const struct usage_rec *u)
{
	uint8_t key[8], rec[USAGE_REC_LEN];
	MDB_val k = { sizeof(key), key }, d = { sizeof(rec), rec };
	int rc;

	be64_put(key, client);
	usage_encode(u, rec);
	if ((rc = mdb_put(txn, c->usage, &k, &d, 0)) != 0)
		return fail(c, rc, "write usage");
	return CAT_OK;
}

/* v + add - sub, kept within 0..UINT64_MAX. */
static uint64_t
adjust(uint64_t v, uint64_t add, uint64_t sub)
{
	v = add > UINT64_MAX - v ? UINT64_MAX : v + add;
	return sub > v ? 0 : v - sub;
}

/*
 * Change client's running totals: add the first four numbers, subtract
 * the last four (snapshots, size, blobs, unique bytes).
 */
static int
usage_change(struct catalog *c, MDB_txn *txn, uint64_t client,
    const struct usage_rec *add, const struct usage_rec *sub)
{
	static const struct usage_rec zero;
	struct usage_rec u;
	int r;

	if (add == NULL)
		add = &zero;
	if (sub == NULL)
		sub = &zero;
	if ((r = usage_load(c, txn, client, &u)) != CAT_OK)
		return r;
	u.snapshots = adjust(u.snapshots, add->snapshots, sub->snapshots);
	u.size = adjust(u.size, add->size,
	    sub->size);
	u.blobs = adjust(u.blobs, add->blobs, sub->blobs);
	u.unique_bytes = adjust(u.unique_bytes, add->unique_bytes,
	    sub->unique_bytes);
	return usage_store(c, txn, client, &u);
}

/* The rebuild: records of one client at a time (keys start with its id). */
struct rebuild_arg {
	uint64_t	 client;
	int		 have;		/* client and u are in use */
	struct usage_rec u;
	int		 blobs;		/* walking the blob index */
	MDB_txn		*txn;
};

static int
rebuild_flush(struct catalog *c, struct rebuild_arg *a)
{
	struct usage_rec add = a->u;
	int r;

	if (!a->have)
		return CAT_OK;
	a->have = 0;
	memset(&a->u, 0, sizeof(a->u));
	r = usage_change(c, a->txn, a->client, &add, NULL);
	return r == CAT_OK ? WALK_ON : CAT_ERROR;
}

static int
rebuild_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct rebuild_arg *a = arg;
	struct cat_snapshot s;
	struct cat_blob bl;
	uint64_t client;

	if (k->mv_size < 8)
		return fail(c, 0, "%s key", a->blobs ? "blob index" :
		    "snapshot");
	client = be64_get(k->mv_data);
	if (a->have && client != a->client &&
	    rebuild_flush(c, a) == CAT_ERROR)
		return CAT_ERROR;
	a->client = client;
	a->have = 1;
	if (a->blobs) {
		if (blob_decode(d, &bl) == -1)
			return fail(c, 0, "blob index");
		a->u.blobs++;
		a->u.unique_bytes += bl.length;
	} else {
		if (snap_decode(k, d, &s) == -1)
			return fail(c, 0, "snapshot record");
		a->u.snapshots++;
		a->u.size = adjust(a->u.size, s.size, 0);
	}
	return WALK_ON;
}

static int
usage_ensure_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	MDB_val k = { strlen(USAGE_DONE_KEY), (void *)USAGE_DONE_KEY }, d;
	struct rebuild_arg a;
	uint8_t one = 1;
	int *built = arg, rc;

	if ((rc = mdb_get(txn, c->meta, &k, &d)) == 0)
		return CAT_OK;
	if (rc != MDB_NOTFOUND)
		return fail(c, rc, "read %s", USAGE_DONE_KEY);
	if (built == NULL)
		return CAT_NOTFOUND;	/* the read-only look */
	if ((rc = mdb_drop(txn, c->usage, 0)) != 0)
		return fail(c, rc, "empty usage");
	memset(&a, 0, sizeof(a));
	a.txn = txn;
	if (walk(c, txn, c->snapshots, NULL, 0, 0, rebuild_visit, &a,
	    "snapshots") != CAT_OK || rebuild_flush(c, &a) == CAT_ERROR)
		return CAT_ERROR;
	a.blobs = 1;
	if (walk(c, txn, c->blobs, NULL, 0, 0, rebuild_visit, &a,
	    "blob index") != CAT_OK || rebuild_flush(c, &a) == CAT_ERROR)
		return CAT_ERROR;
	d.mv_size = 1;
	d.mv_data = &one;
	if ((rc = mdb_put(txn, c->meta, &k, &d, 0)) != 0)
		return fail(c, rc, "write %s", USAGE_DONE_KEY);
	*built = 1;
	return CAT_OK;
}

/* Build the usage table once for a catalog that predates it. */
static int
usage_ensure(struct catalog *c)
{
	int r, built = 0;

	if ((r = run_read(c, usage_ensure_txn, NULL)) != CAT_NOTFOUND)
		return r;
	return run_write(c, usage_ensure_txn, &built);
}

struct usage_arg {
	uint64_t		 client;
	struct cat_usage	*u;
};

static int
usage_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct usage_arg *a = arg;
	struct usage_rec r;

	if (usage_load(c, txn, a->client, &r) != CAT_OK)
		return CAT_ERROR;
	a->u->snapshots = r.snapshots;
	a->u->size = r.size;
	a->u->blobs = r.blobs;
	a->u->unique_bytes = r.unique_bytes;
	return CAT_OK;
}

int
catalog_usage(struct catalog *c, uint64_t client, struct cat_usage *u)
{
	struct usage_arg a = { client, u };

	memset(u, 0, sizeof(*u));
	return run_read(c, usage_txn, &a);
}

static int
totals_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct cat_totals *t = arg;
	struct usage_rec u;

	if (k->mv_size != 8 || usage_decode(d, &u) == -1)
		return fail(c, 0, "usage record");
	t->snapshots = adjust(t->snapshots, u.snapshots, 0);
	t->size = adjust(t->size, u.size, 0);
	t->unique_bytes = adjust(t->unique_bytes, u.unique_bytes, 0);
	return WALK_ON;
}

/* Totals over every client's usage record: O(clients). */
static int
totals_get(struct catalog *c, MDB_txn *txn, struct cat_totals *t)
{
	MDB_stat st;
	int rc;

	memset(t, 0, sizeof(*t));
	if ((rc = mdb_stat(txn, c->clients, &st)) != 0)
		return fail(c, rc, "count clients");
	t->clients = st.ms_entries;
	return walk(c, txn, c->usage, NULL, 0, 0, totals_visit, t, "usage");
}

static int
totals_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	return totals_get(c, txn, arg);
}

int
catalog_totals(struct catalog *c, struct cat_totals *t)
{
	return run_read(c, totals_txn, t);
}

/* ------------------------------------------------------------------ days */

static void
day_encode(const struct cat_day *d, uint8_t b[DAY_REC_LEN])
{
	be64_put(b, d->sessions);
	be64_put(b + 8, d->bytes_in);
	be64_put(b + 16, d->bytes_out);
	be64_put(b + 24, d->unique_bytes);
}

static int
day_decode(const MDB_val *v, struct cat_day *d)
{
	const uint8_t *b = v->mv_data;

	if (v->mv_size != DAY_REC_LEN)
		return -1;
	d->sessions = be64_get(b);
	d->bytes_in = be64_get(b + 8);
	d->bytes_out = be64_get(b + 16);
	d->unique_bytes = be64_get(b + 24);
	return 0;
}

static int
day_load(struct catalog *c, MDB_txn *txn, uint32_t day, struct cat_day *out)
{
	uint8_t key[4];
	MDB_val k = { sizeof(key), key }, d;
	int rc;

	memset(out, 0, sizeof(*out));
	out->day = day;
	be32_put(key, day);
	if ((rc = mdb_get(txn, c->days, &k, &d)) == MDB_NOTFOUND)
		return CAT_OK;
	if (rc != 0)
		return fail(c, rc, "read day %u", day);
	if (day_decode(&d, out) == -1)
		return fail(c, 0, "day %u", day);
	return CAT_OK;
}

static int
day_add_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	const struct cat_day *add = arg;
	struct cat_totals t;
	struct cat_day day;
	uint8_t key[4], rec[DAY_REC_LEN];
	MDB_val k = { sizeof(key), key }, d = { sizeof(rec), rec };
	int rc;

	if (day_load(c, txn, add->day, &day) != CAT_OK ||
	    totals_get(c, txn, &t) != CAT_OK)
		return CAT_ERROR;
	day.sessions = adjust(day.sessions, add->sessions, 0);
	day.bytes_in = adjust(day.bytes_in, add->bytes_in, 0);
	day.bytes_out = adjust(day.bytes_out, add->bytes_out, 0);
	day.unique_bytes = t.unique_bytes;
	be32_put(key, add->day);
	day_encode(&day, rec);
	if ((rc = mdb_put(txn, c->days, &k, &d, 0)) != 0)
		return fail(c, rc, "write day %u", add->day);
	return CAT_OK;
}

int
catalog_day_add(struct catalog *c, uint64_t now, uint64_t sessions,
    uint64_t bytes_in, uint64_t bytes_out)
{
	struct cat_day add;

	if (now / CAT_DAY_SECONDS > UINT32_MAX) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: time %llu out of "
		    "range", (unsigned long long)now);
		return CAT_ERROR;
	}
	memset(&add, 0, sizeof(add));
	add.day = (uint32_t)(now / CAT_DAY_SECONDS);
	add.sessions = sessions;
	add.bytes_in = bytes_in;
	add.bytes_out = bytes_out;
	return run_write(c, day_add_txn, &add);
}

struct days_arg {
	uint32_t	 first;
	size_t		 n;
	struct cat_day	*out;
};

static int
days_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct days_arg *a = arg;

	for (size_t i = 0; i < a->n; i++)
		if (day_load(c, txn, a->first + (uint32_t)i, &a->out[i]) !=
		    CAT_OK)
			return CAT_ERROR;
	return CAT_OK;
}

int
catalog_days(struct catalog *c, uint32_t first, size_t n,
    struct cat_day *out)
{
	struct days_arg a = { first, n, out };

	if (n > 0 && n - 1 > (size_t)(UINT32_MAX - first)) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: days %u + %zu out "
		    "of range", first, n);
		return CAT_ERROR;
	}
	return run_read(c, days_txn, &a);
}

/* ------------------------------------------------------------- clients */

static int	delete_tokens(struct catalog *, MDB_txn *, uint64_t);

struct client_add_arg {
	const char	*name;
	const uint8_t	*token_hash;
	uint64_t	 created;
	uint64_t	 id;
	int		 reissue;	/* a new token for an existing client */
};

static int
client_add_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct client_add_arg *a = arg;
	struct cat_client cl;
	uint8_t tok[8 + CAT_NAME_MAX];
	size_t namelen = strlen(a->name);
	MDB_val k, d;
	int r, rc;

	r = client_load(c, txn, a->name, &cl);
	if (a->reissue) {
		if (r != CAT_OK)
			return r;
		a->id = cl.id;
		if ((r = delete_tokens(c, txn, cl.id)) != CAT_OK)
			return r;
		goto token;
	}
	if (r != CAT_NOTFOUND)
		return r == CAT_OK ? CAT_EXISTS : r;
	if ((r = counter_next(c, txn, "next_client", &a->id)) != CAT_OK)
		return r;
	memset(&cl, 0, sizeof(cl));
	cl.id = a->id;
	memcpy(cl.name, a->name, namelen + 1);
	cl.created = a->created;
	cl.next_snapshot = 1;
	if ((r = client_store(c, txn, &cl)) != CAT_OK)
		return r;
token:
	be64_put(tok, a->id);
	memcpy(tok + 8, a->name, namelen);
	k.mv_size = CAT_SECRET_LEN;
	k.mv_data = (void *)a->token_hash;
	d.mv_size = 8 + namelen;
	d.mv_data = tok;
	if ((rc = mdb_put(txn, c->tokens, &k, &d, MDB_NOOVERWRITE)) != 0)
		return fail(c, rc, "write token");
	{
		struct journal_rec j = journal_client(a->reissue ?
		    JOURNAL_CLIENT_TOKEN : JOURNAL_CLIENT_ADD, &cl);

		memcpy(j.hash, a->token_hash, CAT_SECRET_LEN);
		j.created = cl.created;
		j.snap = cl.next_snapshot;
		return journal_log(c, &j);
	}
}

int
catalog_client_token(struct catalog *c, const char *name,
    const uint8_t token_hash[CAT_SECRET_LEN])
{
	struct client_add_arg a = { name, token_hash, 0, 0, 1 };

	return run_write(c, client_add_txn, &a);
}

int
catalog_client_add(struct catalog *c, const char *name,
    const uint8_t token_hash[CAT_SECRET_LEN], uint64_t created, uint64_t *id)
{
	struct client_add_arg a = { name, token_hash, created, 0, 0 };
	int r;

	if (!catalog_name_valid(name)) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: invalid client "
		    "name (1..%d of A-Z a-z 0-9 . _ -)", CAT_NAME_MAX);
		return CAT_ERROR;
	}
	if ((r = run_write(c, client_add_txn, &a)) == CAT_OK && id != NULL)
		*id = a.id;
	return r;
}

struct client_get_arg {
	const char		*name;
	struct cat_client	*out;
};

static int
client_get_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct client_get_arg *a = arg;

	return client_load(c, txn, a->name, a->out);
}

int
catalog_client_get(struct catalog *c, const char *name,
    struct cat_client *out)
{
	struct client_get_arg a = { name, out };

	return run_read(c, client_get_txn, &a);
}

/* Set one of a client's yes/no flags. */
enum client_flag { SET_DISABLED, SET_ALLOW_FORGET };

struct client_flag_arg {
	const char	*name;
	enum client_flag which;
	int		 value;
};

static int
client_flag_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct client_flag_arg *a = arg;
	struct cat_client cl;
	int r;

	if ((r = client_load(c, txn, a->name, &cl)) != CAT_OK)
		return r;
	if (a->which == SET_DISABLED)
		cl.disabled = a->value;
	else
		cl.allow_forget = a->value;
	if ((r = client_store(c, txn, &cl)) != CAT_OK)
		return r;
	{
		struct journal_rec j = journal_client(JOURNAL_CLIENT_FLAGS,
		    &cl);

		return journal_log(c, &j);
	}
}

int
catalog_client_set_disabled(struct catalog *c, const char *name,
    int disabled)
{
	struct client_flag_arg a = { name, SET_DISABLED, disabled != 0 };

	return run_write(c, client_flag_txn, &a);
}

int
catalog_client_set_allow_forget(struct catalog *c, const char *name,
    int allow)
{
	struct client_flag_arg a = { name, SET_ALLOW_FORGET, allow != 0 };

	return run_write(c, client_flag_txn, &a);
}

/* Delete the tokens of client id (a scan: unused tokens are few). */
static int
delete_tokens(struct catalog *c, MDB_txn *txn, uint64_t id)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, c->tokens, &cur)) != 0)
		return fail(c, rc, "open cursor");
	/* Restart after each delete: unused tokens are few. */
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0) {
		if (d.mv_size >= 8 && be64_get(d.mv_data) == id) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
			continue;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return fail(c, rc, "delete tokens");
	return CAT_OK;
}

static int
client_remove_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct client_get_arg *a = arg;
	MDB_val k = { strlen(a->name), (void *)a->name };
	uint8_t prefix[8];
	int r, rc;

	if ((r = client_load(c, txn, a->name, a->out)) != CAT_OK)
		return r;
	be64_put(prefix, a->out->id);
	if ((r = delete_tokens(c, txn, a->out->id)) != CAT_OK ||
	    (r = delete_prefix(c, txn, c->snapshots, prefix)) != CAT_OK ||
	    (r = delete_prefix(c, txn, c->policies, prefix)) != CAT_OK ||
	    (r = delete_prefix(c, txn, c->blobs, prefix)) != CAT_OK ||
	    (r = delete_prefix(c, txn, c->jobs, prefix)) != CAT_OK ||
	    (r = delete_prefix(c, txn, c->jobsets, prefix)) != CAT_OK ||
	    (r = delete_prefix(c, txn, c->agents, prefix)) != CAT_OK ||
	    (r = delete_prefix(c, txn, c->requests, prefix)) != CAT_OK)
		return r;
	if ((rc = mdb_del(txn, c->clients, &k, NULL)) != 0)
		return fail(c, rc, "delete client %s", a->name);
	k.mv_size = sizeof(prefix);
	k.mv_data = prefix;
	if ((rc = mdb_del(txn, c->usage, &k, NULL)) != 0 &&
	    rc != MDB_NOTFOUND)
		return fail(c, rc, "delete usage of %s", a->name);
	{
		struct journal_rec j = journal_client(JOURNAL_CLIENT_REMOVE,
		    a->out);

		return journal_log(c, &j);
	}
}

int
catalog_client_remove(struct catalog *c, const char *name)
{
	struct cat_client cl;
	struct client_get_arg a = { name, &cl };

	return run_write(c, client_remove_txn, &a);
}

struct clients_arg {
	struct cat_client *v;
	size_t		 n, cap;
};

static int
clients_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct clients_arg *a = arg;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct cat_client *q = reallocarray(a->v, cap, sizeof(*q));

		if (q == NULL)
			return fail(c, ENOMEM, "clients");
		a->v = q;
		a->cap = cap;
	}
	if (client_decode(k, d, &a->v[a->n]) == -1)
		return fail(c, 0, "client record");
	explicit_bzero(a->v[a->n].secret, sizeof(a->v[a->n].secret));
	a->n++;
	return WALK_ON;
}

static int
clients_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	return walk(c, txn, c->clients, NULL, 0, 0, clients_visit, arg,
	    "clients");
}

int
catalog_clients(struct catalog *c, struct cat_client **out, size_t *n)
{
	struct clients_arg a = { NULL, 0, 0 };
	int rc;

	if ((rc = run_read(c, clients_txn, &a)) != CAT_OK) {
		free(a.v);
		a.v = NULL;
		a.n = 0;
	}
	*out = a.v;
	*n = a.n;
	return rc;
}

struct register_arg {
	const uint8_t		*token_hash;
	const uint8_t		*secret;
	struct cat_client	*out;
};

static int
register_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct register_arg *a = arg;
	MDB_val k = { CAT_SECRET_LEN, (void *)a->token_hash }, d;
	char name[CAT_NAME_MAX + 1];
	uint64_t id;
	int r, rc;

	if ((rc = mdb_get(txn, c->tokens, &k, &d)) == MDB_NOTFOUND)
		return CAT_NOTFOUND;
	if (rc != 0)
		return fail(c, rc, "read token");
	if (d.mv_size <= 8 || d.mv_size > 8 + CAT_NAME_MAX)
		return fail(c, 0, "token record");
	id = be64_get(d.mv_data);
	memcpy(name, (const uint8_t *)d.mv_data + 8, d.mv_size - 8);
	name[d.mv_size - 8] = '\0';
	if ((r = client_load(c, txn, name, a->out)) == CAT_NOTFOUND ||
	    (r == CAT_OK && a->out->id != id))
		return CAT_NOTFOUND;	/* a token of a removed client */
	if (r != CAT_OK)
		return r;
	if (a->out->disabled)
		return CAT_DISABLED;
	if ((rc = mdb_del(txn, c->tokens, &k, NULL)) != 0)
		return fail(c, rc, "delete token");
	memcpy(a->out->secret, a->secret, CAT_SECRET_LEN);
	a->out->registered = 1;
	if ((r = client_store(c, txn, a->out)) != CAT_OK)
		return r;
	{
		struct journal_rec j = journal_client(JOURNAL_REGISTER,
		    a->out);

		memcpy(j.hash, a->secret, CAT_SECRET_LEN);
		return journal_log(c, &j);
	}
}

int
catalog_register(struct catalog *c, const uint8_t token_hash[CAT_SECRET_LEN],
    const uint8_t secret[CAT_SECRET_LEN], struct cat_client *out)
{
	struct register_arg a = { token_hash, secret, out };

	return run_write(c, register_txn, &a);
}

/* ---------------------------------------------------------------- blobs */

struct lookup_arg {
	uint64_t		 client;
	const uint8_t		(*ids)[BLOB_ID_LEN];
	size_t			 n;
	struct cat_blob		*out;
	uint8_t			*found;
};

static int
lookup_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct lookup_arg *a = arg;
	uint8_t key[BLOB_KEY_LEN];
	MDB_val k = { sizeof(key), key }, d;
	struct cat_blob bl;
	int rc;

	be64_put(key, a->client);
	for (size_t i = 0; i < a->n; i++) {
		memcpy(key + 8, a->ids[i], BLOB_ID_LEN);
		rc = mdb_get(txn, c->blobs, &k, &d);
		if (rc == MDB_NOTFOUND) {
			a->found[i] = 0;
			continue;
		}
		if (rc != 0)
			return fail(c, rc, "read blob index");
		if (blob_decode(&d, &bl) == -1)
			return fail(c, 0, "blob index");
		a->found[i] = 1;
		if (a->out != NULL)
			a->out[i] = bl;
	}
	return CAT_OK;
}

int
catalog_blobs_lookup(struct catalog *c, uint64_t client,
    const uint8_t (*ids)[BLOB_ID_LEN], size_t n, struct cat_blob *out,
    uint8_t *found)
{
	struct lookup_arg a = { client, ids, n, out, found };

	return run_read(c, lookup_txn, &a);
}

struct add_arg {
	uint64_t			 client;
	const struct cat_blob_add	*b;
	size_t				 n;
	const uint8_t			(*links)[BLOB_ID_LEN]; /* or NULL */
	uint8_t				*added;
	size_t				 missing;
};

/* The next sequence number of the recent table: rows below it exist. */
static int
recent_next(struct catalog *c, MDB_txn *txn, uint64_t *v)
{
	MDB_val k = { strlen(RECENT_NEXT_KEY), (void *)RECENT_NEXT_KEY }, d;
	int rc;

	if ((rc = mdb_get(txn, c->meta, &k, &d)) == MDB_NOTFOUND) {
		*v = 1;
		return CAT_OK;
	}
	if (rc != 0)
		return fail(c, rc, "read %s", RECENT_NEXT_KEY);
	if (d.mv_size != 8)
		return fail(c, 0, "%s", RECENT_NEXT_KEY);
	*v = be64_get(d.mv_data);
	return CAT_OK;
}

/*
 * The linked blobs this transaction indexed: check that their links are
 * indexed (the batch itself is already in), record them in recent.
 */
static int
add_linked(struct catalog *c, MDB_txn *txn, struct add_arg *a)
{
	uint8_t key[BLOB_KEY_LEN], rkey[RECENT_KEY_LEN], t[4], b[8];
	MDB_val k = { sizeof(key), key }, d;
	MDB_val nk = { strlen(RECENT_NEXT_KEY), (void *)RECENT_NEXT_KEY };
	const uint8_t (*l)[BLOB_ID_LEN] = a->links;
	uint64_t seq = 0;
	int r, rc, any = 0;

	a->missing = 0;
	be64_put(key, a->client);
	for (size_t i = 0; i < a->n; l += a->b[i].loc.nlinks, i++) {
		if (!a->added[i] || a->b[i].loc.nlinks == 0)
			continue;
		any = 1;
		for (uint32_t j = 0; j < a->b[i].loc.nlinks; j++) {
			memcpy(key + 8, l[j], BLOB_ID_LEN);
			if ((rc = mdb_get(txn, c->blobs, &k, &d)) ==
			    MDB_NOTFOUND)
				a->missing++;
			else if (rc != 0)
				return fail(c, rc, "read blob index");
		}
	}
	if (a->missing > 0)
		return CAT_MISSING;
	if (!any)
		return CAT_OK;
	if ((r = recent_next(c, txn, &seq)) != CAT_OK)
		return r;
	be64_put(rkey + 8, a->client);
	for (size_t i = 0; i < a->n; i++) {
		if (!a->added[i] || a->b[i].loc.nlinks == 0)
			continue;
		be64_put(rkey, seq++);
		memcpy(rkey + 16, a->b[i].id, BLOB_ID_LEN);
		be32_put(t, (uint32_t)a->b[i].loc.touched);
		k.mv_size = sizeof(rkey);
		k.mv_data = rkey;
		d.mv_size = sizeof(t);
		d.mv_data = t;
		if ((rc = mdb_put(txn, c->recent, &k, &d, 0)) != 0)
			return fail(c, rc, "write recent");
	}
	be64_put(b, seq);
	d.mv_size = sizeof(b);
	d.mv_data = b;
	if ((rc = mdb_put(txn, c->meta, &nk, &d, 0)) != 0)
		return fail(c, rc, "write %s", RECENT_NEXT_KEY);
	return CAT_OK;
}

static int
add_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct add_arg *a = arg;
	uint8_t key[BLOB_KEY_LEN], rec[BLOB_REC_LEN];
	MDB_val k = { sizeof(key), key }, d;
	struct cat_client cl;
	struct cat_blob bl;
	struct usage_rec added;
	int r, rc;

	if ((r = client_by_id(c, txn, a->client, &cl)) == CAT_NOTFOUND)
		return CAT_OK;		/* removed meanwhile: add nothing */
	if (r != CAT_OK)
		return r;
	memset(&added, 0, sizeof(added));
	be64_put(key, a->client);
	for (size_t i = 0; i < a->n; i++) {
		memcpy(key + 8, a->b[i].id, BLOB_ID_LEN);
		bl = a->b[i].loc;
		if (bl.offset > UINT32_MAX)
			return fail(c, 0, "blob offset %llu",
			    (unsigned long long)bl.offset);
		blob_encode(&bl, rec);
		d.mv_size = sizeof(rec);
		d.mv_data = rec;
		rc = mdb_put(txn, c->blobs, &k, &d, MDB_NOOVERWRITE);
		if (rc != 0 && rc != MDB_KEYEXIST)
			return fail(c, rc, "write blob index");
		if (a->added != NULL)
			a->added[i] = rc == 0;
		if (rc == 0) {
			added.blobs++;
			added.unique_bytes += bl.length;
		}
	}
	if (a->links != NULL && (r = add_linked(c, txn, a)) != CAT_OK)
		return r;
	if (added.blobs == 0)
		return CAT_OK;
	return usage_change(c, txn, a->client, &added, NULL);
}

int
catalog_blobs_add(struct catalog *c, uint64_t client,
    const struct cat_blob_add *b, size_t n)
{
	struct add_arg a = { client, b, n, NULL, NULL, 0 };

	if (n == 0)
		return CAT_OK;
	return run_write(c, add_txn, &a);
}

int
catalog_blobs_add_linked(struct catalog *c, uint64_t client,
    const struct cat_blob_add *b, size_t n,
    const uint8_t (*links)[BLOB_ID_LEN], size_t *missing)
{
	struct add_arg a = { client, b, n, links, NULL, 0 };
	uint8_t none[1];
	int r;

	if (missing != NULL)
		*missing = 0;
	if (n == 0)
		return CAT_OK;
	if (links == NULL)
		a.links = (const uint8_t (*)[BLOB_ID_LEN])none;
	if ((a.added = calloc(n, 1)) == NULL)
		return fail(c, 0, "out of memory");
	r = run_write(c, add_txn, &a);
	free(a.added);
	if (missing != NULL)
		*missing = a.missing;
	return r;
}

struct recent_arg {
	uint64_t	 seq, cutoff;
	size_t		 deleted;
};

static int
recent_seq_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct recent_arg *a = arg;

	return recent_next(c, txn, &a->seq);
}

int
catalog_recent_seq(struct catalog *c, uint64_t *seq)
{
	struct recent_arg a = { 0, 0, 0 };
	int r;

	if ((r = run_read(c, recent_seq_txn, &a)) == CAT_OK)
		*seq = a.seq;
	return r;
}

static int
recent_expire_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct recent_arg *a = arg;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	a->deleted = 0;
	if ((rc = mdb_cursor_open(txn, c->recent, &cur)) != 0)
		return fail(c, rc, "open cursor");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (d.mv_size == 4 && be32_get(d.mv_data) >= a->cutoff)
			continue;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		a->deleted++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "expire recent");
	return CAT_OK;
}

int
catalog_recent_expire(struct catalog *c, uint64_t cutoff, size_t *deleted)
{
	struct recent_arg a = { 0, cutoff, 0 };
	int r;

	if ((r = run_write(c, recent_expire_txn, &a)) == CAT_OK &&
	    deleted != NULL)
		*deleted = a.deleted;
	return r;
}

uint64_t
catalog_writes(const struct catalog *c)
{
	return c->writes;
}

static int
next_pack_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	uint64_t *v = arg;
	int r;

	if ((r = counter_next(c, txn, "next_pack", v)) != CAT_OK)
		return r;
	if (*v > UINT32_MAX)
		return fail(c, 0, "pack ids exhausted");
	return CAT_OK;
}

int
catalog_next_pack(struct catalog *c, uint32_t *pack)
{
	uint64_t v;
	int r;

	if ((r = run_write(c, next_pack_txn, &v)) == CAT_OK)
		*pack = (uint32_t)v;
	return r;
}

static int
pack_counter_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	const char *key = "next_pack";
	MDB_val k = { strlen(key), (void *)key }, d;
	uint64_t *v = arg;
	int rc;

	rc = mdb_get(txn, c->meta, &k, &d);
	if (rc == MDB_NOTFOUND)
		*v = 1;
	else if (rc != 0)
		return fail(c, rc, "read counter %s", key);
	else if (d.mv_size != 8)
		return fail(c, 0, "counter %s", key);
	else
		*v = be64_get(d.mv_data);
	return CAT_OK;
}

int
catalog_pack_counter(struct catalog *c, uint64_t *next)
{
	return run_read(c, pack_counter_txn, next);
}

/* ------------------------------------------------------------ snapshots */

struct commit_arg {
	uint64_t		 client;
	struct cat_snapshot	*snap;
	size_t			 missing;
	uint64_t		 now;
};

static int
commit_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct commit_arg *a = arg;
	uint8_t key[BLOB_KEY_LEN], skey[SNAP_KEY_LEN], srec[SNAP_REC_MAX];
	const uint8_t *need[3] = { a->snap->root, a->snap->meta,
	    a->snap->legacy };
	MDB_val k = { sizeof(key), key }, d;
	struct cat_client cl;
	struct usage_rec added;
	int r, rc;

	if ((r = client_by_id(c, txn, a->client, &cl)) != CAT_OK)
		return r;
	if (cl.disabled)
		return CAT_DISABLED;
	if (a->snap->has_legacy && a->snap->id < cl.next_snapshot)
		return CAT_EXISTS;
	/*
	 * Only the tops: what they link to is indexed (prune.c keeps it).
	 * They get touched = now, so a sweep running now spares them.
	 */
	a->missing = 0;
	be64_put(key, a->client);
	for (int i = 0; i < (a->snap->has_legacy ? 3 : 2); i++) {
		struct cat_blob bl;
		uint8_t rec[BLOB_REC_LEN];

		k.mv_size = sizeof(key);
		k.mv_data = key;
		memcpy(key + 8, need[i], BLOB_ID_LEN);
		rc = mdb_get(txn, c->blobs, &k, &d);
		if (rc == MDB_NOTFOUND) {
			a->missing++;
			continue;
		} else if (rc != 0)
			return fail(c, rc, "read blob index");
		if (a->missing > 0)
			continue;
		if (blob_decode(&d, &bl) == -1)
			return fail(c, 0, "blob index");
		if (bl.touched >= a->now)
			continue;
		bl.touched = a->now;
		blob_encode(&bl, rec);
		d.mv_size = sizeof(rec);
		d.mv_data = rec;
		if ((rc = mdb_put(txn, c->blobs, &k, &d, 0)) != 0)
			return fail(c, rc, "write blob index");
	}
	if (a->missing > 0)
		return CAT_MISSING;
	if (!a->snap->has_legacy)
		a->snap->id = cl.next_snapshot;
	a->snap->protected = 0;		/* only catalog_snapshot_protect() */
	if (a->snap->id == UINT64_MAX)
		return fail(c, 0, "snapshot ids exhausted");
	cl.next_snapshot = a->snap->id + 1;
	if ((r = client_store(c, txn, &cl)) != CAT_OK)
		return r;
	memset(&added, 0, sizeof(added));
	added.snapshots = 1;
	added.size = a->snap->size;
	if ((r = usage_change(c, txn, a->client, &added, NULL)) != CAT_OK)
		return r;
	be64_put(skey, a->client);
	be64_put(skey + 8, a->snap->id);
	k.mv_size = sizeof(skey);
	k.mv_data = skey;
	d.mv_size = snap_encode(a->snap, srec);
	d.mv_data = srec;
	if ((rc = mdb_put(txn, c->snapshots, &k, &d, MDB_NOOVERWRITE)) != 0)
		return fail(c, rc, "write snapshot");
	{
		struct journal_rec j = journal_snapshot(JOURNAL_COMMIT,
		    a->client, a->snap);

		return journal_log(c, &j);
	}
}

int
catalog_commit(struct catalog *c, uint64_t client, struct cat_snapshot *snap,
    size_t *missing)
{
	struct commit_arg a = { client, snap, 0, (uint64_t)time(NULL) };
	int r;

	if (strlen(snap->set) > CAT_NAME_MAX) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: set name too long");
		return CAT_ERROR;
	}
	r = run_write(c, commit_txn, &a);
	if (missing != NULL)
		*missing = a.missing;
	return r;
}

struct snapshots_arg {
	uint64_t	 client;
	const char	*set;
	uint64_t	 after;
	int		(*fn)(void *, const struct cat_snapshot *);
	void		*arg;
};

static int
snapshots_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct snapshots_arg *a = arg;
	struct cat_snapshot s;

	if (k->mv_size != SNAP_KEY_LEN)
		return WALK_STOP;
	if (snap_decode(k, d, &s) == -1)
		return fail(c, 0, "snapshot record");
	if (a->set != NULL && a->set[0] != '\0' && strcmp(a->set, s.set) != 0)
		return WALK_ON;
	return a->fn(a->arg, &s) != 0 ? WALK_STOP : WALK_ON;
}

static int
snapshots_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct snapshots_arg *a = arg;
	uint8_t skey[SNAP_KEY_LEN];

	if (a->after == UINT64_MAX)
		return CAT_OK;
	be64_put(skey, a->client);
	be64_put(skey + 8, a->after + 1);
	/* From (client, after + 1) while the key is this client's. */
	return walk(c, txn, c->snapshots, skey, sizeof(skey), 8,
	    snapshots_visit, a, "snapshots");
}

int
catalog_snapshots(struct catalog *c, uint64_t client, const char *set,
    uint64_t after, int (*fn)(void *arg, const struct cat_snapshot *),
    void *arg)
{
	struct snapshots_arg a = { client, set, after, fn, arg };

	return run_read(c, snapshots_txn, &a);
}

struct snapshots_all_arg {
	int	(*fn)(void *, uint64_t, const struct cat_snapshot *);
	void	*arg;
};

static int
snapshots_all_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct snapshots_all_arg *a = arg;
	struct cat_snapshot s;

	if (snap_decode(k, d, &s) == -1)
		return fail(c, 0, "snapshot record");
	return a->fn(a->arg, be64_get(k->mv_data), &s) != 0 ? WALK_STOP :
	    WALK_ON;
}

static int
snapshots_all_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	return walk(c, txn, c->snapshots, NULL, 0, 0, snapshots_all_visit,
	    arg, "snapshots");
}

int
catalog_snapshots_all(struct catalog *c,
    int (*fn)(void *arg, uint64_t client, const struct cat_snapshot *),
    void *arg)
{
	struct snapshots_all_arg a = { fn, arg };

	return run_read(c, snapshots_all_txn, &a);
}

/* -------------------------------------------------- have, scan, free, move */

struct have_arg {
	uint64_t		 client;
	const uint8_t		(*ids)[BLOB_ID_LEN];
	size_t			 n;
	uint64_t		 now, stale;
	uint8_t			*found;
	uint8_t			*idle;	/* found with touched < stale */
};

/* The write half of a HAVE: touch the stale hits, checking again. */
static int
have_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct have_arg *a = arg;
	uint8_t key[BLOB_KEY_LEN], rec[BLOB_REC_LEN];
	MDB_val k = { sizeof(key), key }, d;
	struct cat_blob bl;
	int rc;

	be64_put(key, a->client);
	for (size_t i = 0; i < a->n; i++) {
		if (!a->idle[i])
			continue;
		memcpy(key + 8, a->ids[i], BLOB_ID_LEN);
		rc = mdb_get(txn, c->blobs, &k, &d);
		if (rc == MDB_NOTFOUND) {
			a->found[i] = 0;	/* freed meanwhile */
			continue;
		}
		if (rc != 0)
			return fail(c, rc, "read blob index");
		if (blob_decode(&d, &bl) == -1)
			return fail(c, 0, "blob index");
		a->found[i] = 1;
		if (bl.touched >= a->stale)
			continue;
		bl.touched = a->now;
		blob_encode(&bl, rec);
		d.mv_size = sizeof(rec);
		d.mv_data = rec;
		if ((rc = mdb_put(txn, c->blobs, &k, &d, 0)) != 0)
			return fail(c, rc, "write blob index");
	}
	return CAT_OK;
}

int
catalog_blobs_have(struct catalog *c, uint64_t client,
    const uint8_t (*ids)[BLOB_ID_LEN], size_t n, uint64_t now,
    uint64_t stale, uint8_t *found)
{
	struct have_arg a = { client, ids, n, now, stale, found, NULL };
	struct cat_blob *locs;
	size_t idle = 0;
	int r;

	if (n == 0)
		return CAT_OK;
	if ((locs = calloc(n, sizeof(*locs))) == NULL ||
	    (a.idle = calloc(n, 1)) == NULL) {
		free(locs);
		return fail(c, 0, "out of memory");
	}
	r = catalog_blobs_lookup(c, client, ids, n, locs, found);
	for (size_t i = 0; r == CAT_OK && i < n; i++)
		if (found[i] && locs[i].touched < stale) {
			a.idle[i] = 1;
			idle++;
		}
	if (r == CAT_OK && idle > 0)
		r = run_write(c, have_txn, &a);
	free(a.idle);
	free(locs);
	return r;
}

struct scan_arg {
	int	(*fn)(void *, uint64_t, const uint8_t *,
		    const struct cat_blob *);
	void	*arg;
};

static int
scan_visit(struct catalog *c, const MDB_val *k, const MDB_val *d, void *arg)
{
	struct scan_arg *a = arg;
	struct cat_blob bl;

	if (k->mv_size != BLOB_KEY_LEN || blob_decode(d, &bl) == -1)
		return fail(c, 0, "blob index");
	return a->fn(a->arg, be64_get(k->mv_data),
	    (const uint8_t *)k->mv_data + 8, &bl) != 0 ? WALK_STOP : WALK_ON;
}

static int
scan_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	return walk(c, txn, c->blobs, NULL, 0, 0, scan_visit, arg,
	    "blob index");
}

int
catalog_blobs_scan(struct catalog *c,
    int (*fn)(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc), void *arg)
{
	struct scan_arg a = { fn, arg };

	return run_read(c, scan_txn, &a);
}

struct free_arg {
	uint64_t		 client;
	const uint8_t		(*ids)[BLOB_ID_LEN];
	size_t			 n;
	uint64_t		 cutoff;
	struct cat_fresh	*fr;
	uint8_t			*spared;
	size_t			 freed;
	uint64_t		 bytes;
};

/* Call fr->fn for client's blob id when it is indexed. */
static int
fresh_blob(struct catalog *c, MDB_txn *txn, struct cat_fresh *fr,
    uint64_t client, const uint8_t *id)
{
	uint8_t key[BLOB_KEY_LEN];
	MDB_val k = { sizeof(key), key }, d;
	struct cat_blob bl;
	int rc;

	be64_put(key, client);
	memcpy(key + 8, id, BLOB_ID_LEN);
	if ((rc = mdb_get(txn, c->blobs, &k, &d)) == MDB_NOTFOUND)
		return CAT_OK;
	if (rc != 0)
		return fail(c, rc, "read blob index");
	if (blob_decode(&d, &bl) == -1)
		return fail(c, 0, "blob index");
	if (fr->fn(fr->arg, client, id, &bl) != 0) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: sweep: %s",
		    fr->why != NULL ? fr->why : "stopped");
		return CAT_ERROR;
	}
	return CAT_OK;
}

struct fresh_walk {
	struct cat_fresh	*fr;
	MDB_txn			*txn;
};

static int
fresh_recent_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct fresh_walk *w = arg;
	const uint8_t *key = k->mv_data;

	(void)d;
	if (k->mv_size != RECENT_KEY_LEN)
		return fail(c, 0, "recent");
	w->fr->recent_seen = be64_get(key) + 1;
	return fresh_blob(c, w->txn, w->fr, be64_get(key + 8), key + 16) ==
	    CAT_OK ? WALK_ON : CAT_ERROR;
}

static int
fresh_snap_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct fresh_walk *w = arg;
	const struct cat_fresh *fr = w->fr;
	struct cat_snapshot s;
	uint64_t client;
	size_t lo = 0, hi = fr->nsnap_from;

	if (snap_decode(k, d, &s) == -1)
		return fail(c, 0, "snapshot record");
	client = be64_get(k->mv_data);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fr->snap_from[mid].client < client)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Known at the mark (its client's next id was higher): marked. */
	if (lo < fr->nsnap_from && fr->snap_from[lo].client == client &&
	    s.id < fr->snap_from[lo].next)
		return WALK_ON;
	if (fresh_blob(c, w->txn, w->fr, client, s.root) != CAT_OK ||
	    fresh_blob(c, w->txn, w->fr, client, s.meta) != CAT_OK ||
	    (s.has_legacy && fresh_blob(c, w->txn, w->fr, client,
	    s.legacy) != CAT_OK))
		return CAT_ERROR;
	return WALK_ON;
}

static int
free_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct free_arg *a = arg;
	uint8_t key[BLOB_KEY_LEN];
	MDB_val k = { sizeof(key), key }, d;
	struct cat_blob bl;
	struct usage_rec gone;
	int rc;

	a->freed = 0;
	a->bytes = 0;
	if (a->fr != NULL) {
		struct fresh_walk w = { a->fr, txn };
		uint8_t from[8];

		/* What is new since the mark: spare what it reaches. */
		be64_put(from, a->fr->recent_from);
		a->fr->recent_seen = a->fr->recent_from;
		if (walk(c, txn, c->recent, from, sizeof(from), 0,
		    fresh_recent_visit, &w, "recent") != CAT_OK ||
		    walk(c, txn, c->snapshots, NULL, 0, 0, fresh_snap_visit,
		    &w, "snapshots") != CAT_OK)
			return CAT_ERROR;
	}
	be64_put(key, a->client);
	for (size_t i = 0; i < a->n; i++) {
		if (a->spared != NULL)
			a->spared[i] = 0;
		if (a->fr != NULL && a->fr->keep(a->fr->arg, i)) {
			if (a->spared != NULL)
				a->spared[i] = 1;
			continue;
		}
		memcpy(key + 8, a->ids[i], BLOB_ID_LEN);
		rc = mdb_get(txn, c->blobs, &k, &d);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return fail(c, rc, "read blob index");
		if (blob_decode(&d, &bl) == -1)
			return fail(c, 0, "blob index");
		if (bl.touched > a->cutoff) {
			if (a->spared != NULL)
				a->spared[i] = 1;
			continue;
		}
		if ((rc = mdb_del(txn, c->blobs, &k, NULL)) != 0)
			return fail(c, rc, "delete blob index entry");
		a->freed++;
		a->bytes += bl.length;
	}
	if (a->freed == 0)
		return CAT_OK;
	memset(&gone, 0, sizeof(gone));
	gone.blobs = a->freed;
	gone.unique_bytes = a->bytes;
	return usage_change(c, txn, a->client, NULL, &gone);
}

int
catalog_blobs_free(struct catalog *c, uint64_t client,
    const uint8_t (*ids)[BLOB_ID_LEN], size_t n, uint64_t cutoff,
    struct cat_fresh *fr, uint8_t *spared, size_t *freed, uint64_t *bytes)
{
	struct free_arg a = { client, ids, n, cutoff, fr, spared, 0, 0 };
	int r;

	if ((r = run_write(c, free_txn, &a)) == CAT_OK) {
		if (freed != NULL)
			*freed = a.freed;
		if (bytes != NULL)
			*bytes = a.bytes;
	}
	return r;
}

struct move_arg {
	const struct cat_move	*m;
	size_t			 n;
	size_t			 moved;
};

static int
move_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct move_arg *a = arg;
	uint8_t key[BLOB_KEY_LEN], rec[BLOB_REC_LEN];
	MDB_val k = { sizeof(key), key }, d;
	struct cat_blob bl;
	int rc;

	a->moved = 0;
	for (size_t i = 0; i < a->n; i++) {
		be64_put(key, a->m[i].client);
		memcpy(key + 8, a->m[i].id, BLOB_ID_LEN);
		rc = mdb_get(txn, c->blobs, &k, &d);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return fail(c, rc, "read blob index");
		if (blob_decode(&d, &bl) == -1)
			return fail(c, 0, "blob index");
		if (bl.pack != a->m[i].from_pack ||
		    bl.offset != a->m[i].from_offset)
			continue;
		bl.pack = a->m[i].pack;
		bl.offset = a->m[i].offset;
		blob_encode(&bl, rec);
		d.mv_size = sizeof(rec);
		d.mv_data = rec;
		if ((rc = mdb_put(txn, c->blobs, &k, &d, 0)) != 0)
			return fail(c, rc, "write blob index");
		a->moved++;
	}
	return CAT_OK;
}

int
catalog_blobs_move(struct catalog *c, const struct cat_move *m, size_t n,
    size_t *moved)
{
	struct move_arg a = { m, n, 0 };
	int r;

	if ((r = run_write(c, move_txn, &a)) == CAT_OK && moved != NULL)
		*moved = a.moved;
	return r;
}

int
catalog_reader_check(struct catalog *c, int *dead)
{
	int rc, n = 0;

	if ((rc = mdb_reader_check(c->env, &n)) != 0)
		return fail(c, rc, "reader check");
	if (dead != NULL)
		*dead = n;
	return CAT_OK;
}

/* ----------------------------------------------------------------- forget */

struct snap_get_arg {
	uint64_t		 client, snap;
	struct cat_snapshot	*out;
};

static int
snap_get_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct snap_get_arg *a = arg;
	uint8_t skey[SNAP_KEY_LEN];
	MDB_val k = { sizeof(skey), skey }, d;
	int rc;

	be64_put(skey, a->client);
	be64_put(skey + 8, a->snap);
	if ((rc = mdb_get(txn, c->snapshots, &k, &d)) == MDB_NOTFOUND)
		return CAT_NOTFOUND;
	if (rc != 0)
		return fail(c, rc, "read snapshot");
	if (snap_decode(&k, &d, a->out) == -1)
		return fail(c, 0, "snapshot record");
	return CAT_OK;
}

int
catalog_snapshot_get(struct catalog *c, uint64_t client, uint64_t snap,
    struct cat_snapshot *out)
{
	struct snap_get_arg a = { client, snap, out };

	return run_read(c, snap_get_txn, &a);
}

static int
forget_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct snap_get_arg *a = arg;
	uint8_t skey[SNAP_KEY_LEN];
	MDB_val sk = { sizeof(skey), skey }, d;
	struct cat_snapshot snap;
	struct usage_rec gone;
	int r, rc;

	be64_put(skey, a->client);
	be64_put(skey + 8, a->snap);
	if ((rc = mdb_get(txn, c->snapshots, &sk, &d)) == MDB_NOTFOUND)
		return CAT_NOTFOUND;
	if (rc != 0)
		return fail(c, rc, "read snapshot");
	if (snap_decode(&sk, &d, &snap) == -1)
		return fail(c, 0, "snapshot record");
	if (snap.protected)
		return CAT_PROTECTED;
	memset(&gone, 0, sizeof(gone));
	gone.snapshots = 1;
	gone.size = snap.size;
	if ((r = usage_change(c, txn, a->client, NULL, &gone)) != CAT_OK)
		return r;
	if ((rc = mdb_del(txn, c->snapshots, &sk, NULL)) != 0)
		return fail(c, rc, "delete snapshot");
	{
		struct journal_rec j = journal_snapshot(JOURNAL_FORGET,
		    a->client, &snap);

		return journal_log(c, &j);
	}
}

int
catalog_forget(struct catalog *c, uint64_t client, uint64_t snap)
{
	struct snap_get_arg a = { client, snap, NULL };

	return run_write(c, forget_txn, &a);
}

/* --------------------------------------------------------------- policies */

static size_t
policy_key(uint8_t key[8 + CAT_NAME_MAX], uint64_t client, const char *set)
{
	size_t n = strlen(set);

	be64_put(key, client);
	memcpy(key + 8, set, n);
	return 8 + n;
}

static void
policy_encode(const struct retention *p, uint8_t b[POLICY_REC_LEN])
{
	be32_put(b, p->last);
	be32_put(b + 4, p->hourly);
	be32_put(b + 8, p->daily);
	be32_put(b + 12, p->weekly);
	be32_put(b + 16, p->monthly);
	be32_put(b + 20, p->yearly);
}

static int
policy_decode(const MDB_val *v, struct retention *p)
{
	const uint8_t *b = v->mv_data;

	if (v->mv_size != POLICY_REC_LEN)
		return -1;
	p->last = be32_get(b);
	p->hourly = be32_get(b + 4);
	p->daily = be32_get(b + 8);
	p->weekly = be32_get(b + 12);
	p->monthly = be32_get(b + 16);
	p->yearly = be32_get(b + 20);
	return 0;
}

struct policy_arg {
	const char		*name;
	uint64_t		 client;
	const char		*set;
	const struct retention	*in;
	struct retention	*out;
	int			(*fn)(void *, const char *,
				    const struct retention *);
	void			*arg;
};

static int
policy_set_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct policy_arg *a = arg;
	uint8_t key[8 + CAT_NAME_MAX], rec[POLICY_REC_LEN];
	struct journal_rec j;
	struct cat_client cl;
	MDB_val k = { 0, key }, d = { sizeof(rec), rec };
	int r, rc;

	if ((r = client_load(c, txn, a->name, &cl)) != CAT_OK)
		return r;
	k.mv_size = policy_key(key, cl.id, a->set);
	memset(&j, 0, sizeof(j));
	j.client = cl.id;
	snprintf(j.set, sizeof(j.set), "%s", a->set);
	if (a->in == NULL) {
		if ((rc = mdb_del(txn, c->policies, &k, NULL)) == MDB_NOTFOUND)
			return CAT_NOTFOUND;
		if (rc != 0)
			return fail(c, rc, "delete policy");
		j.type = JOURNAL_POLICY_CLEAR;
		return journal_log(c, &j);
	}
	policy_encode(a->in, rec);
	if ((rc = mdb_put(txn, c->policies, &k, &d, 0)) != 0)
		return fail(c, rc, "write policy");
	j.type = JOURNAL_POLICY_SET;
	j.policy = *a->in;
	return journal_log(c, &j);
}

static int
policy_set_valid(struct catalog *c, const char *set)
{
	if (set[0] == '\0' || catalog_name_valid(set))
		return 1;
	c->rc = 0;
	snprintf(c->err, sizeof(c->err), "catalog: invalid set name (1..%d "
	    "of A-Z a-z 0-9 . _ -)", CAT_NAME_MAX);
	return 0;
}

int
catalog_policy_set(struct catalog *c, const char *name, const char *set,
    const struct retention *p)
{
	struct policy_arg a = { .name = name, .set = set, .in = p };

	if (!policy_set_valid(c, set))
		return CAT_ERROR;
	return run_write(c, policy_set_txn, &a);
}

int
catalog_policy_clear(struct catalog *c, const char *name, const char *set)
{
	struct policy_arg a = { .name = name, .set = set, .in = NULL };

	if (!policy_set_valid(c, set))
		return CAT_ERROR;
	return run_write(c, policy_set_txn, &a);
}

static int
policy_get_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct policy_arg *a = arg;
	uint8_t key[8 + CAT_NAME_MAX];
	MDB_val k = { 0, key }, d;
	const char *sets[2] = { a->set, "" };
	int rc;

	for (int i = 0; i < 2; i++) {
		if (i == 1 && a->set[0] == '\0')
			break;
		k.mv_size = policy_key(key, a->client, sets[i]);
		if ((rc = mdb_get(txn, c->policies, &k, &d)) == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return fail(c, rc, "read policy");
		if (policy_decode(&d, a->out) == -1)
			return fail(c, 0, "policy record");
		return CAT_OK;
	}
	return CAT_NOTFOUND;
}

int
catalog_policy_get(struct catalog *c, uint64_t client, const char *set,
    struct retention *p)
{
	struct policy_arg a = { .client = client, .set = set, .out = p };

	if (strlen(set) > CAT_NAME_MAX)
		return CAT_NOTFOUND;
	return run_read(c, policy_get_txn, &a);
}

static int
policies_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct policy_arg *a = arg;
	char set[CAT_NAME_MAX + 1];
	struct retention p;

	if (k->mv_size > 8 + CAT_NAME_MAX || policy_decode(d, &p) == -1)
		return fail(c, 0, "policy record");
	memcpy(set, (const uint8_t *)k->mv_data + 8, k->mv_size - 8);
	set[k->mv_size - 8] = '\0';
	return a->fn(a->arg, set, &p) != 0 ? WALK_STOP : WALK_ON;
}

static int
policies_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct policy_arg *a = arg;
	uint8_t prefix[8];

	be64_put(prefix, a->client);
	return walk(c, txn, c->policies, prefix, 8, 8, policies_visit, a,
	    "policies");
}

int
catalog_policies(struct catalog *c, uint64_t client,
    int (*fn)(void *arg, const char *set, const struct retention *p),
    void *arg)
{
	struct policy_arg a = { .client = client, .fn = fn, .arg = arg };

	return run_read(c, policies_txn, &a);
}

/* ------------------------------------------------------------------ peers */

#define PEER_STR	(CAT_PEER_NAME_MAX + 1)
#define PEER_REC_LEN	(PEER_STR + CAT_PEER_ADDRS * CAT_PEER_ADDR_MAX + 1 + \
			 5 * 2 + 4 + 8 + 8 + SERVER_ID_LEN + PEER_STR)

/* Strings are stored NUL-padded in fixed fields. */
static void
put_str(uint8_t **p, const char *s, size_t field)
{
	size_t n = strnlen(s, field - 1);

	memset(*p, 0, field);
	memcpy(*p, s, n);
	*p += field;
}

static void
get_str(const uint8_t **p, char *s, size_t field)
{
	memcpy(s, *p, field);
	s[field - 1] = '\0';
	*p += field;
}

static void
peer_encode(const struct cat_peer *pe, uint8_t *b)
{
	const uint16_t ports[5] = { pe->port_backup, pe->port_ssl,
	    pe->port_ui, pe->port_web, pe->port_webssl };

	put_str(&b, pe->name, PEER_STR);
	for (int i = 0; i < CAT_PEER_ADDRS; i++)
		put_str(&b, i < pe->naddrs ? pe->addrs[i] : "",
		    CAT_PEER_ADDR_MAX);
	*b++ = (uint8_t)pe->naddrs;
	for (int i = 0; i < 5; i++, b += 2) {
		b[0] = (uint8_t)(ports[i] >> 8);
		b[1] = (uint8_t)ports[i];
	}
	*b++ = pe->roles;
	*b++ = pe->tls;
	*b++ = pe->source;
	*b++ = pe->hops;
	be64_put(b, pe->first_seen);
	be64_put(b + 8, pe->last_seen);
	memcpy(b + 16, pe->via, SERVER_ID_LEN);
	b += 16 + SERVER_ID_LEN;
	put_str(&b, pe->via_name, PEER_STR);
}

static int
peer_decode(const MDB_val *k, const MDB_val *v, struct cat_peer *pe)
{
	const uint8_t *b = v->mv_data;
	uint16_t ports[5];

	if (k->mv_size != SERVER_ID_LEN || v->mv_size != PEER_REC_LEN)
		return -1;
	memset(pe, 0, sizeof(*pe));
	memcpy(pe->id, k->mv_data, SERVER_ID_LEN);
	get_str(&b, pe->name, PEER_STR);
	for (int i = 0; i < CAT_PEER_ADDRS; i++)
		get_str(&b, pe->addrs[i], CAT_PEER_ADDR_MAX);
	pe->naddrs = *b++;
	if (pe->naddrs > CAT_PEER_ADDRS)
		return -1;
	for (int i = 0; i < 5; i++, b += 2)
		ports[i] = be16_get(b);
	pe->port_backup = ports[0];
	pe->port_ssl = ports[1];
	pe->port_ui = ports[2];
	pe->port_web = ports[3];
	pe->port_webssl = ports[4];
	pe->roles = *b++;
	pe->tls = *b++;
	pe->source = *b++;
	pe->hops = *b++;
	pe->first_seen = be64_get(b);
	pe->last_seen = be64_get(b + 8);
	memcpy(pe->via, b + 16, SERVER_ID_LEN);
	b += 16 + SERVER_ID_LEN;
	get_str(&b, pe->via_name, PEER_STR);
	return 0;
}

struct peers_arg {
	const struct cat_peer	*in;
	size_t			 n;
	const uint64_t		*stats_in;
	size_t			 nstats;
	int			(*fn)(void *, const struct cat_peer *);
	void			*arg;
	uint64_t		*stats_out;
};

static int
peers_replace_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct peers_arg *a = arg;
	uint8_t rec[PEER_REC_LEN], st[CAT_PEER_STATS * 8];
	MDB_val k, d;
	int rc;

	if ((rc = mdb_drop(txn, c->peers, 0)) != 0)
		return fail(c, rc, "empty peers");
	for (size_t i = 0; i < a->n; i++) {
		peer_encode(&a->in[i], rec);
		k.mv_size = SERVER_ID_LEN;
		k.mv_data = (void *)a->in[i].id;
		d.mv_size = sizeof(rec);
		d.mv_data = rec;
		if ((rc = mdb_put(txn, c->peers, &k, &d, 0)) != 0)
			return fail(c, rc, "write peer");
	}
	memset(st, 0, sizeof(st));
	for (size_t i = 0; i < a->nstats && i < CAT_PEER_STATS; i++)
		be64_put(st + 8 * i, a->stats_in[i]);
	d.mv_size = sizeof(st);
	d.mv_data = st;
	/* LMDB keys cannot be empty: the counters live under "#". */
	k.mv_size = 1;
	k.mv_data = (void *)"#";
	if ((rc = mdb_put(txn, c->peers, &k, &d, 0)) != 0)
		return fail(c, rc, "write discovery counters");
	return CAT_OK;
}

int
catalog_peers_replace(struct catalog *c, const struct cat_peer *p, size_t n,
    const uint64_t *stats, size_t nstats)
{
	struct peers_arg a = { .in = p, .n = n, .stats_in = stats,
	    .nstats = nstats };

	return run_write(c, peers_replace_txn, &a);
}

static int
peers_visit(struct catalog *c, const MDB_val *k, const MDB_val *d, void *arg)
{
	struct peers_arg *a = arg;
	struct cat_peer pe;

	if (k->mv_size == 1 && *(const char *)k->mv_data == '#') {
		if (a->stats_out != NULL && d->mv_size == CAT_PEER_STATS * 8)
			for (size_t i = 0; i < CAT_PEER_STATS; i++)
				a->stats_out[i] = be64_get((const uint8_t *)
				    d->mv_data + 8 * i);
		return WALK_ON;
	}
	if (peer_decode(k, d, &pe) == -1)
		return fail(c, 0, "peer record");
	return a->fn(a->arg, &pe) != 0 ? WALK_STOP : WALK_ON;
}

static int
peers_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	return walk(c, txn, c->peers, NULL, 0, 0, peers_visit, arg, "peers");
}

int
catalog_peers(struct catalog *c, int (*fn)(void *, const struct cat_peer *),
    void *arg, uint64_t *stats)
{
	struct peers_arg a = { .fn = fn, .arg = arg, .stats_out = stats };

	if (stats != NULL)
		memset(stats, 0, CAT_PEER_STATS * sizeof(*stats));
	return run_read(c, peers_txn, &a);
}

/* -------------------------------------------------------------- rebuild */

struct restore_arg {
	const struct cat_client	*cl;
	const uint8_t		*token;
	uint64_t		 next_client;
	uint32_t		 next_pack;
};

static int
restore_client_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct restore_arg *a = arg;
	uint8_t tok[8 + CAT_NAME_MAX];
	size_t namelen = strlen(a->cl->name);
	MDB_val k = { CAT_SECRET_LEN, (void *)a->token };
	MDB_val d = { 8 + namelen, tok };
	int r, rc;

	if ((r = client_store(c, txn, a->cl)) != CAT_OK)
		return r;
	if (a->token == NULL)
		return CAT_OK;
	be64_put(tok, a->cl->id);
	memcpy(tok + 8, a->cl->name, namelen);
	if ((rc = mdb_put(txn, c->tokens, &k, &d, 0)) != 0)
		return fail(c, rc, "write token");
	return CAT_OK;
}

int
catalog_restore_client(struct catalog *c, const struct cat_client *cl,
    const uint8_t token_hash[CAT_SECRET_LEN])
{
	struct restore_arg a = { .cl = cl, .token = token_hash };

	if (!catalog_name_valid(cl->name) || cl->id == 0) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: invalid client "
		    "to restore (id %llu)", (unsigned long long)cl->id);
		return CAT_ERROR;
	}
	return run_write(c, restore_client_txn, &a);
}

struct restore_snap_arg {
	uint64_t		 client;
	const struct cat_snapshot *snap;
};

static int
restore_snapshot_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct restore_snap_arg *a = arg;
	uint8_t skey[SNAP_KEY_LEN], srec[SNAP_REC_MAX];
	MDB_val k = { sizeof(skey), skey }, d;
	struct cat_snapshot old;
	struct usage_rec added, gone;
	int r, rc;

	memset(&added, 0, sizeof(added));
	memset(&gone, 0, sizeof(gone));
	be64_put(skey, a->client);
	be64_put(skey + 8, a->snap->id);
	if ((rc = mdb_get(txn, c->snapshots, &k, &d)) == 0) {
		if (snap_decode(&k, &d, &old) == -1)
			return fail(c, 0, "snapshot record");
		gone.snapshots = 1;
		gone.size = old.size;
	} else if (rc != MDB_NOTFOUND) {
		return fail(c, rc, "read snapshot");
	}
	added.snapshots = 1;
	added.size = a->snap->size;
	if ((r = usage_change(c, txn, a->client, &added, &gone)) != CAT_OK)
		return r;
	d.mv_size = snap_encode(a->snap, srec);
	d.mv_data = srec;
	if ((rc = mdb_put(txn, c->snapshots, &k, &d, 0)) != 0)
		return fail(c, rc, "write snapshot");
	return CAT_OK;
}

int
catalog_restore_snapshot(struct catalog *c, uint64_t client,
    const struct cat_snapshot *s)
{
	struct restore_snap_arg a = { client, s };

	if (strlen(s->set) > CAT_NAME_MAX) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: set name too long");
		return CAT_ERROR;
	}
	return run_write(c, restore_snapshot_txn, &a);
}

/* Raise counter key in meta to at least v. */
static int
counter_raise(struct catalog *c, MDB_txn *txn, const char *key, uint64_t v)
{
	MDB_val k = { strlen(key), (void *)key }, d;
	uint8_t b[8];
	int rc;

	rc = mdb_get(txn, c->meta, &k, &d);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "read counter %s", key);
	if (rc == 0 && d.mv_size == 8 && be64_get(d.mv_data) >= v)
		return CAT_OK;
	be64_put(b, v);
	d.mv_size = 8;
	d.mv_data = b;
	if ((rc = mdb_put(txn, c->meta, &k, &d, 0)) != 0)
		return fail(c, rc, "write counter %s", key);
	return CAT_OK;
}

static int
restore_counters_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct restore_arg *a = arg;
	int r;

	if ((r = counter_raise(c, txn, "next_client", a->next_client)) !=
	    CAT_OK)
		return r;
	return counter_raise(c, txn, "next_pack", a->next_pack);
}

int
catalog_restore_counters(struct catalog *c, uint64_t next_client,
    uint32_t next_pack)
{
	struct restore_arg a = { .next_client = next_client,
	    .next_pack = next_pack };

	return run_write(c, restore_counters_txn, &a);
}

/* ------------------------------------------------ jobs, agents, health */

/*
 * Records of the tables under CAT_T_JOBS (see the head of this file):
 * a report is JOB_REC_FIXED bytes, then its set and error; a set's
 * state SETSTATE_FIXED bytes, then its last error, then (since the
 * sets without a job are dropped) i64 nojob_since; an agent
 * AGENT_FIXED bytes, then its name; a request REQ_FIXED bytes, then
 * its set and who asked.
 */
#define JOB_KEY_LEN		16
#define JOB_REC_FIXED		(8 + 3 * 8 + 1 + 6 * 8 + 8 + 1 + 2)
#define JOBCOUNT_REC_LEN	16	/* u64 next seq, u64 reports kept */
#define SETSTATE_FIXED		(5 * 8 + 3 + 2)
#define AGENT_FIXED		(8 + 4 + 1)
#define REQ_KEY_LEN		16
#define REQ_FIXED		(2 * 8 + 1 + 1)
#define RESULT_NONE		0xff	/* a set's state before any report */
#define REQUEST_STALE_S		86400	/* a request never reported, a set
					   without job or report: dropped */
#define REQUEST_RETAKE_S	600	/* a taken request handed out again */

static const uint8_t req_next_key[8];	/* requests: u64 0 -> next id */

static void
job_key(uint8_t k[JOB_KEY_LEN], uint64_t client, uint64_t seq)
{
	be64_put(k, client);
	be64_put(k + 8, seq);
}

static size_t
job_encode(const struct cat_jobrun *r, uint8_t *b)
{
	size_t setlen = strlen(r->set), errlen = strlen(r->error), n = 0;

	be64_put(b, r->request);
	be64_put(b + 8, (uint64_t)r->start);
	be64_put(b + 16, (uint64_t)r->end);
	be64_put(b + 24, (uint64_t)r->received);
	b[32] = (uint8_t)r->result;
	be64_put(b + 33, r->snapid);
	be64_put(b + 41, r->files);
	be64_put(b + 49, r->bytes);
	be64_put(b + 57, r->read_bytes);
	be64_put(b + 65, r->sent_bytes);
	be64_put(b + 73, r->problems);
	be64_put(b + 81, (uint64_t)r->next_run);
	b[89] = (uint8_t)setlen;
	be16_put(b + 90, (uint16_t)errlen);
	n = JOB_REC_FIXED;
	memcpy(b + n, r->set, setlen);
	memcpy(b + n + setlen, r->error, errlen);
	return n + setlen + errlen;
}

static int
job_decode(const MDB_val *k, const MDB_val *v, struct cat_jobrun *r)
{
	const uint8_t *b = v->mv_data;
	size_t setlen, errlen;

	if (k->mv_size != JOB_KEY_LEN || v->mv_size < JOB_REC_FIXED)
		return -1;
	setlen = b[89];
	errlen = be16_get(b + 90);
	if (setlen > CAT_NAME_MAX || errlen > CAT_JOB_ERROR_MAX ||
	    v->mv_size != JOB_REC_FIXED + setlen + errlen)
		return -1;
	memset(r, 0, sizeof(*r));
	r->client = be64_get(k->mv_data);
	r->seq = be64_get((const uint8_t *)k->mv_data + 8);
	r->request = be64_get(b);
	r->start = (int64_t)be64_get(b + 8);
	r->end = (int64_t)be64_get(b + 16);
	r->received = (int64_t)be64_get(b + 24);
	r->result = b[32];
	r->snapid = be64_get(b + 33);
	r->files = be64_get(b + 41);
	r->bytes = be64_get(b + 49);
	r->read_bytes = be64_get(b + 57);
	r->sent_bytes = be64_get(b + 65);
	r->problems = be64_get(b + 73);
	r->next_run = (int64_t)be64_get(b + 81);
	memcpy(r->set, b + JOB_REC_FIXED, setlen);
	memcpy(r->error, b + JOB_REC_FIXED + setlen, errlen);
	return 0;
}

/* A set's state: what its reports and its agent last said. */
struct setstate {
	int64_t		 last_success;
	int64_t		 last_failure;
	int64_t		 next_run;
	int64_t		 interval;
	int64_t		 last_report;	/* received time of the latest */
	uint8_t		 last_result;	/* RESULT_NONE: no report */
	uint8_t		 running;
	uint8_t		 job;		/* the agent has a job for it */
	char		 last_error[CAT_JOB_ERROR_MAX + 1];
	int64_t		 nojob_since;	/* a poll without its job, 0: none */
};

static void
setstate_key(uint8_t k[8 + CAT_NAME_MAX], size_t *klen, uint64_t client,
    const char *set)
{
	size_t n = strlen(set);

	be64_put(k, client);
	memcpy(k + 8, set, n);
	*klen = 8 + n;
}

static size_t
setstate_encode(const struct setstate *st, uint8_t *b)
{
	size_t errlen = strlen(st->last_error);

	be64_put(b, (uint64_t)st->last_success);
	be64_put(b + 8, (uint64_t)st->last_failure);
	be64_put(b + 16, (uint64_t)st->next_run);
	be64_put(b + 24, (uint64_t)st->interval);
	be64_put(b + 32, (uint64_t)st->last_report);
	b[40] = st->last_result;
	b[41] = st->running;
	b[42] = st->job;
	be16_put(b + 43, (uint16_t)errlen);
	memcpy(b + SETSTATE_FIXED, st->last_error, errlen);
	be64_put(b + SETSTATE_FIXED + errlen, (uint64_t)st->nojob_since);
	return SETSTATE_FIXED + errlen + 8;
}

static int
setstate_decode(const MDB_val *v, struct setstate *st)
{
	const uint8_t *b = v->mv_data;
	size_t errlen;

	if (v->mv_size < SETSTATE_FIXED)
		return -1;
	errlen = be16_get(b + 43);
	/* Records written before nojob_since end with the error. */
	if (errlen > CAT_JOB_ERROR_MAX ||
	    (v->mv_size != SETSTATE_FIXED + errlen &&
	    v->mv_size != SETSTATE_FIXED + errlen + 8))
		return -1;
	memset(st, 0, sizeof(*st));
	st->last_success = (int64_t)be64_get(b);
	st->last_failure = (int64_t)be64_get(b + 8);
	st->next_run = (int64_t)be64_get(b + 16);
	st->interval = (int64_t)be64_get(b + 24);
	st->last_report = (int64_t)be64_get(b + 32);
	st->last_result = b[40];
	st->running = b[41];
	st->job = b[42];
	memcpy(st->last_error, b + SETSTATE_FIXED, errlen);
	if (v->mv_size == SETSTATE_FIXED + errlen + 8)
		st->nojob_since = (int64_t)be64_get(b + SETSTATE_FIXED +
		    errlen);
	return 0;
}

/* Set set's state of client; *found 0 (and st zeroed, no report) if none. */
static int
setstate_load(struct catalog *c, MDB_txn *txn, uint64_t client,
    const char *set, struct setstate *st, int *found)
{
	uint8_t kb[8 + CAT_NAME_MAX];
	MDB_val k, d;
	int rc;

	setstate_key(kb, &k.mv_size, client, set);
	k.mv_data = kb;
	*found = 0;
	memset(st, 0, sizeof(*st));
	st->last_result = RESULT_NONE;
	if ((rc = mdb_get(txn, c->jobsets, &k, &d)) == MDB_NOTFOUND)
		return CAT_OK;
	if (rc != 0)
		return fail(c, rc, "read the state of set %s", set);
	if (setstate_decode(&d, st) == -1)
		return fail(c, 0, "state of set %s", set);
	*found = 1;
	return CAT_OK;
}

static int
setstate_store(struct catalog *c, MDB_txn *txn, uint64_t client,
    const char *set, const struct setstate *st)
{
	uint8_t kb[8 + CAT_NAME_MAX], b[SETSTATE_FIXED + CAT_JOB_ERROR_MAX + 8];
	MDB_val k, d;
	int rc;

	setstate_key(kb, &k.mv_size, client, set);
	k.mv_data = kb;
	d.mv_size = setstate_encode(st, b);
	d.mv_data = b;
	if ((rc = mdb_put(txn, c->jobsets, &k, &d, 0)) != 0)
		return fail(c, rc, "write the state of set %s", set);
	return CAT_OK;
}

/* The number of set states of client into *n (at most CAT_SETS_MAX + 1). */
static int
setstate_count(struct catalog *c, MDB_txn *txn, uint64_t client, size_t *n)
{
	uint8_t ck[8];
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	*n = 0;
	be64_put(ck, client);
	k.mv_size = sizeof(ck);
	k.mv_data = ck;
	if ((rc = mdb_cursor_open(txn, c->jobsets, &cur)) != 0)
		return fail(c, rc, "open cursor");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	    rc == 0 && *n <= CAT_SETS_MAX;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size < 8 || memcmp(k.mv_data, ck, 8) != 0)
			break;
		if (k.mv_size > 8)
			(*n)++;	/* not the client's counters */
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "count the states of sets");
	return CAT_OK;
}

/* Whether client id exists (a scan of the clients: they are few). */
static int
client_exists(struct catalog *c, MDB_txn *txn, uint64_t id,
    struct cat_client *cl)
{
	int r = client_by_id(c, txn, id, cl);

	if (r == CAT_OK)
		explicit_bzero(cl->secret, sizeof(cl->secret));
	return r;
}

static int	history_job(struct catalog *, MDB_txn *, const char *,
		    const struct cat_jobrun *);

struct job_add_arg {
	uint64_t		 client;
	struct cat_jobrun	*r;
};

static int
job_add_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct job_add_arg *a = arg;
	struct cat_jobrun *r = a->r;
	uint8_t kb[JOB_KEY_LEN], cnt[JOBCOUNT_REC_LEN];
	uint8_t b[JOB_REC_FIXED + CAT_NAME_MAX + CAT_JOB_ERROR_MAX];
	uint8_t ck[8];
	uint64_t next = 1, kept = 0;
	struct cat_client cl;
	struct setstate st;
	MDB_cursor *cur;
	MDB_val k, d;
	int found, rc, res;

	if ((res = client_exists(c, txn, a->client, &cl)) != CAT_OK)
		return res;
	/* A set not known yet: only while the client has few. */
	if ((res = setstate_load(c, txn, a->client, r->set, &st, &found)) !=
	    CAT_OK)
		return res;
	if (!found) {
		size_t nsets;

		if ((res = setstate_count(c, txn, a->client, &nsets)) !=
		    CAT_OK)
			return res;
		if (nsets >= CAT_SETS_MAX) {
			c->rc = 0;
			snprintf(c->err, sizeof(c->err), "catalog: client %s "
			    "has %d sets already (the most kept)", cl.name,
			    CAT_SETS_MAX);
			return CAT_LIMIT;
		}
	}
	r->client = a->client;
	/* The client's counters: next seq and reports kept. */
	be64_put(ck, a->client);
	k.mv_size = sizeof(ck);
	k.mv_data = ck;
	rc = mdb_get(txn, c->jobsets, &k, &d);
	if (rc == 0 && d.mv_size == JOBCOUNT_REC_LEN) {
		next = be64_get(d.mv_data);
		kept = be64_get((const uint8_t *)d.mv_data + 8);
	} else if (rc == 0) {
		return fail(c, 0, "job counters of client %llu",
		    (unsigned long long)a->client);
	} else if (rc != MDB_NOTFOUND) {
		return fail(c, rc, "read job counters");
	}
	r->seq = next;
	job_key(kb, a->client, r->seq);
	k.mv_size = sizeof(kb);
	k.mv_data = kb;
	d.mv_size = job_encode(r, b);
	d.mv_data = b;
	if ((rc = mdb_put(txn, c->jobs, &k, &d, 0)) != 0)
		return fail(c, rc, "write job report");
	kept++;
	/* Drop the oldest beyond CAT_JOBS_KEPT: the first keys of client. */
	if (kept > CAT_JOBS_KEPT) {
		if ((rc = mdb_cursor_open(txn, c->jobs, &cur)) != 0)
			return fail(c, rc, "open cursor");
		while (kept > CAT_JOBS_KEPT) {
			job_key(kb, a->client, 0);
			k.mv_size = sizeof(kb);
			k.mv_data = kb;
			if ((rc = mdb_cursor_get(cur, &k, &d,
			    MDB_SET_RANGE)) != 0 || k.mv_size != JOB_KEY_LEN ||
			    be64_get(k.mv_data) != a->client ||
			    (rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			kept--;
		}
		mdb_cursor_close(cur);
		if (rc != 0)
			return fail(c, rc, "drop old job reports");
	}
	be64_put(cnt, next + 1);
	be64_put(cnt + 8, kept);
	k.mv_size = sizeof(ck);
	k.mv_data = ck;
	d.mv_size = sizeof(cnt);
	d.mv_data = cnt;
	if ((rc = mdb_put(txn, c->jobsets, &k, &d, 0)) != 0)
		return fail(c, rc, "write job counters");
	/* The set's state (loaded above). */
	st.last_result = (uint8_t)r->result;
	st.last_report = r->received;
	st.next_run = r->next_run;	/* 0: the agent has none scheduled */
	if (r->result == CAT_JOB_OK || r->result == CAT_JOB_PARTIAL) {
		st.last_success = r->end ? r->end : r->received;
	} else if (r->result == CAT_JOB_FAILED) {
		st.last_failure = r->end ? r->end : r->received;
		snprintf(st.last_error, sizeof(st.last_error), "%s", r->error);
	} else {
		/* Cancelled: a failure of the run, with its text if any. */
		st.last_failure = r->end ? r->end : r->received;
		snprintf(st.last_error, sizeof(st.last_error), "%s",
		    r->error[0] ? r->error : "cancelled");
	}
	if ((res = setstate_store(c, txn, a->client, r->set, &st)) != CAT_OK ||
	    (res = history_job(c, txn, cl.name, r)) != CAT_OK)
		return res;
	/* The request it answers is done. */
	if (r->request != 0) {
		uint8_t rk[REQ_KEY_LEN];

		be64_put(rk, a->client);
		be64_put(rk + 8, r->request);
		k.mv_size = sizeof(rk);
		k.mv_data = rk;
		if ((rc = mdb_del(txn, c->requests, &k, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			return fail(c, rc, "delete request");
	}
	return CAT_OK;
}

int
catalog_job_add(struct catalog *c, uint64_t client, struct cat_jobrun *r)
{
	struct job_add_arg a = { client, r };

	if (r->result < CAT_JOB_OK || r->result > CAT_JOB_CANCELLED ||
	    !catalog_name_valid(r->set) ||
	    strnlen(r->error, sizeof(r->error)) > CAT_JOB_ERROR_MAX) {
		c->rc = EINVAL;
		snprintf(c->err, sizeof(c->err), "catalog: job report: bad "
		    "set, result or error text");
		return CAT_ERROR;
	}
	return run_write(c, job_add_txn, &a);
}

struct jobs_arg {
	uint64_t		 client;
	uint64_t		 before;
	size_t			 max;
	struct cat_jobrun	*v;
	size_t			 n, cap;
};

static int
jobs_push(struct catalog *c, struct jobs_arg *a, const MDB_val *k,
    const MDB_val *d)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct cat_jobrun *q = reallocarray(a->v, cap, sizeof(*q));

		if (q == NULL)
			return fail(c, ENOMEM, "job reports");
		a->v = q;
		a->cap = cap;
	}
	if (job_decode(k, d, &a->v[a->n]) == -1)
		return fail(c, 0, "job report");
	a->n++;
	return CAT_OK;
}


/* Newest first: by received time, then client, then seq. */
static int
cmp_jobrun_newest(const void *x, const void *y)
{
	const struct cat_jobrun *a = x, *b = y;

	if (a->received != b->received)
		return a->received > b->received ? -1 : 1;
	if (a->client != b->client)
		return a->client < b->client ? -1 : 1;
	return a->seq > b->seq ? -1 : a->seq < b->seq;
}

static int	jobs_txn(struct catalog *, MDB_txn *, void *);

/*
 * The newest a->max reports of every client: each client's newest
 * a->max (read backwards by jobs_txn()), merged and cut to a->max after
 * each client, so that at most 2 * a->max are held at once.
 */
static int
jobs_all(struct catalog *c, MDB_txn *txn, struct jobs_arg *a)
{
	uint64_t next = 1;
	uint8_t kb[JOB_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(txn, c->jobs, &cur)) != 0)
		return fail(c, rc, "open cursor");
	for (;;) {
		struct jobs_arg one = { 0, 0, a->max, NULL, 0, 0 };
		int r;

		/* The next client with reports: the first key from next. */
		job_key(kb, next, 0);
		k.mv_size = sizeof(kb);
		k.mv_data = kb;
		if ((rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE)) != 0)
			break;
		if (k.mv_size != JOB_KEY_LEN) {
			mdb_cursor_close(cur);
			return fail(c, 0, "job report key");
		}
		one.client = be64_get(k.mv_data);
		if ((r = jobs_txn(c, txn, &one)) != CAT_OK) {
			free(one.v);
			mdb_cursor_close(cur);
			return r;
		}
		for (size_t i = 0; i < one.n; i++) {
			if (a->n == a->cap) {
				size_t cap = a->cap ? a->cap * 2 : 16;
				struct cat_jobrun *q = reallocarray(a->v, cap,
				    sizeof(*q));

				if (q == NULL) {
					free(one.v);
					mdb_cursor_close(cur);
					return fail(c, ENOMEM, "job reports");
				}
				a->v = q;
				a->cap = cap;
			}
			a->v[a->n++] = one.v[i];
		}
		free(one.v);
		qsort(a->v, a->n, sizeof(*a->v), cmp_jobrun_newest);
		if (a->n > a->max)
			a->n = a->max;
		if (one.client == UINT64_MAX)
			break;
		next = one.client + 1;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "read job reports");
	return CAT_OK;
}

static int
jobs_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct jobs_arg *a = arg;
	uint8_t kb[JOB_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, r = CAT_OK;

	if (a->client == 0)
		return jobs_all(c, txn, a);
	/* Backwards from (client, before), or from the client's last key. */
	if ((rc = mdb_cursor_open(txn, c->jobs, &cur)) != 0)
		return fail(c, rc, "open cursor");
	if (a->before != 0)
		job_key(kb, a->client, a->before);
	else if (a->client == UINT64_MAX)
		memset(kb, 0xff, sizeof(kb));
	else
		job_key(kb, a->client + 1, 0);
	k.mv_size = sizeof(kb);
	k.mv_data = kb;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	else if (rc == 0)
		rc = mdb_cursor_get(cur, &k, &d, MDB_PREV);
	/* MDB_SET_RANGE may land on exactly kb: that one is not before. */
	for (; rc == 0 && a->n < a->max;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		if (k.mv_size != JOB_KEY_LEN ||
		    be64_get(k.mv_data) != a->client)
			break;
		if (a->before != 0 &&
		    be64_get((const uint8_t *)k.mv_data + 8) >= a->before)
			continue;
		if ((r = jobs_push(c, a, &k, &d)) != CAT_OK)
			break;
	}
	mdb_cursor_close(cur);
	if (r != CAT_OK)
		return r;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "read job reports");
	return CAT_OK;
}

int
catalog_jobs(struct catalog *c, uint64_t client, uint64_t before,
    size_t max, struct cat_jobrun **out, size_t *n)
{
	struct jobs_arg a = { client, before, max, NULL, 0, 0 };
	int rc = CAT_OK;

	if (max > 0)
		rc = run_read(c, jobs_txn, &a);
	if (rc != CAT_OK || a.n == 0) {
		free(a.v);
		a.v = NULL;
		a.n = 0;
	}
	*out = a.v;
	*n = a.n;
	return rc;
}

struct agent_arg {
	uint64_t			 client;
	int64_t				 now;
	const char			*name;
	const struct cat_agent_job	*jobs;
	size_t				 njobs;
};

/* The index in jobs of the last job of set, or -1. */
static ssize_t
agent_job_of(const struct agent_arg *a, const char *set, size_t setlen)
{
	ssize_t at = -1;

	for (size_t i = 0; i < a->njobs; i++)
		if (strlen(a->jobs[i].set) == setlen &&
		    memcmp(a->jobs[i].set, set, setlen) == 0)
			at = (ssize_t)i;
	return at;
}

static int
agent_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct agent_arg *a = arg;
	uint8_t b[AGENT_FIXED + CAT_AGENT_NAME_MAX], ck[8];
	size_t namelen = strlen(a->name);
	struct cat_client cl;
	struct setstate st;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, res, found;

	if ((res = client_exists(c, txn, a->client, &cl)) != CAT_OK)
		return res;
	be64_put(ck, a->client);
	be64_put(b, (uint64_t)a->now);
	be32_put(b + 8, (uint32_t)a->njobs);
	b[12] = (uint8_t)namelen;
	memcpy(b + AGENT_FIXED, a->name, namelen);
	k.mv_size = sizeof(ck);
	k.mv_data = ck;
	d.mv_size = AGENT_FIXED + namelen;
	d.mv_data = b;
	if ((rc = mdb_put(txn, c->agents, &k, &d, 0)) != 0)
		return fail(c, rc, "write agent");
	/*
	 * The states of sets it no longer has a job for: no schedule; gone
	 * when no report names them either.
	 */
	if ((rc = mdb_cursor_open(txn, c->jobsets, &cur)) != 0)
		return fail(c, rc, "open cursor");
	k.mv_size = sizeof(ck);
	k.mv_data = ck;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		uint8_t sb[SETSTATE_FIXED + CAT_JOB_ERROR_MAX + 8];
		uint8_t kb[8 + CAT_NAME_MAX];
		MDB_val nd;

		if (k.mv_size < 8 || memcmp(k.mv_data, ck, 8) != 0)
			break;
		if (k.mv_size == 8 || agent_job_of(a,
		    (const char *)k.mv_data + 8, k.mv_size - 8) != -1)
			continue;
		if (setstate_decode(&d, &st) == -1) {
			mdb_cursor_close(cur);
			return fail(c, 0, "state of a set");
		}
		/*
		 * Never reported, or without job and report for a day:
		 * gone.
		 */
		if (st.last_result == RESULT_NONE || (st.nojob_since > 0 &&
		    a->now - st.nojob_since > REQUEST_STALE_S &&
		    a->now - st.last_report > REQUEST_STALE_S)) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			continue;
		}
		if (!st.job && st.next_run == 0 && st.interval == 0 &&
		    !st.running && st.nojob_since > 0)
			continue;
		if (st.nojob_since == 0)
			st.nojob_since = a->now;
		st.job = 0;
		st.next_run = 0;
		st.interval = 0;
		st.running = 0;
		nd.mv_size = setstate_encode(&st, sb);
		nd.mv_data = sb;
		/* The key out of the page before the page is written. */
		memcpy(kb, k.mv_data, k.mv_size);
		k.mv_data = kb;
		if ((rc = mdb_put(txn, c->jobsets, &k, &nd, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "update the states of sets");
	/* The sets it has jobs for. */
	for (size_t i = 0; i < a->njobs; i++) {
		const struct cat_agent_job *j = &a->jobs[i];

		if ((res = setstate_load(c, txn, a->client, j->set, &st,
		    &found)) != CAT_OK)
			return res;
		st.job = 1;
		st.nojob_since = 0;
		st.next_run = j->next_run;
		st.interval = j->interval;
		st.running = j->running != 0;
		if ((res = setstate_store(c, txn, a->client, j->set, &st)) !=
		    CAT_OK)
			return res;
	}
	return CAT_OK;
}

int
catalog_agent_seen(struct catalog *c, uint64_t client, int64_t now,
    const char *agent_name, const struct cat_agent_job *jobs, size_t njobs)
{
	struct agent_arg a = { client, now, agent_name, jobs, njobs };

	if (strlen(agent_name) > CAT_AGENT_NAME_MAX || njobs > CAT_SETS_MAX) {
		c->rc = EINVAL;
		snprintf(c->err, sizeof(c->err), "catalog: agent name too "
		    "long or more than %d jobs", CAT_SETS_MAX);
		return CAT_ERROR;
	}
	for (size_t i = 0; i < njobs; i++)
		if (!catalog_name_valid(jobs[i].set) || jobs[i].next_run < 0 ||
		    jobs[i].interval < 0) {
			c->rc = EINVAL;
			snprintf(c->err, sizeof(c->err), "catalog: agent job "
			    "%zu: bad set name or time", i + 1);
			return CAT_ERROR;
		}
	return run_write(c, agent_txn, &a);
}

const char *
catalog_health_name(int health)
{
	switch (health) {
	case CAT_HEALTH_OK:	return "ok";
	case CAT_HEALTH_NEVER:	return "never";
	case CAT_HEALTH_OVERDUE: return "overdue";
	case CAT_HEALTH_FAILED:	return "failed";
	}
	return "?";
}

/* A set's health at now (catalog.h, enum cat_health). */
static int
set_health(const struct setstate *st, int64_t now, int64_t grace)
{
	int64_t due = 0;

	if (st->last_result == CAT_JOB_FAILED ||
	    st->last_result == CAT_JOB_CANCELLED)
		return CAT_HEALTH_FAILED;
	/*
	 * Due at the later of its next run and its last success plus its
	 * interval (each when known): a job not scheduled before Monday is
	 * not overdue on Saturday.
	 */
	if (st->next_run > 0)
		due = st->next_run;
	if (st->last_success > 0 && st->interval > 0 &&
	    st->last_success + st->interval > due)
		due = st->last_success + st->interval;
	if (due > 0 && now > due + grace)
		return CAT_HEALTH_OVERDUE;
	if (st->last_result == RESULT_NONE)
		return CAT_HEALTH_NEVER;
	return CAT_HEALTH_OK;
}

struct health_arg {
	uint64_t		 client;	/* 0: all */
	int64_t			 now;
	int64_t			 grace;
	MDB_txn			*txn;
	struct cat_client_health *v;
	size_t			 n, cap;
};

/* Fill h (client, name set) from its set states and agent record. */
static int
health_one(struct catalog *c, MDB_txn *txn, struct health_arg *a,
    struct cat_client_health *h)
{
	uint8_t ck[8];
	MDB_cursor *cur;
	MDB_val k, d;
	size_t cap = 0, counted = 0;
	int rc;

	h->health = CAT_HEALTH_NEVER;
	be64_put(ck, h->client);
	k.mv_size = sizeof(ck);
	k.mv_data = ck;
	rc = mdb_get(txn, c->agents, &k, &d);
	if (rc == 0) {
		const uint8_t *b = d.mv_data;
		size_t namelen;

		if (d.mv_size < AGENT_FIXED || (namelen = b[12]) >
		    CAT_AGENT_NAME_MAX || d.mv_size != AGENT_FIXED + namelen)
			return fail(c, 0, "agent of client %s", h->name);
		h->agent_seen = (int64_t)be64_get(b);
		memcpy(h->agent_name, b + AGENT_FIXED, namelen);
		h->agent_name[namelen] = '\0';
	} else if (rc != MDB_NOTFOUND) {
		return fail(c, rc, "read agent");
	}
	if ((rc = mdb_cursor_open(txn, c->jobsets, &cur)) != 0)
		return fail(c, rc, "open cursor");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		struct cat_set_health *sh, *q;
		struct setstate st;
		size_t setlen;

		if (k.mv_size < 8 || memcmp(k.mv_data, ck, 8) != 0)
			break;
		if (k.mv_size == 8)
			continue;	/* the client's counters */
		setlen = k.mv_size - 8;
		if (setlen > CAT_NAME_MAX || setstate_decode(&d, &st) == -1) {
			mdb_cursor_close(cur);
			return fail(c, 0, "state of a set of %s", h->name);
		}
		if (h->nsets == cap) {
			cap = cap ? cap * 2 : 8;
			if ((q = reallocarray(h->sets, cap,
			    sizeof(*q))) == NULL) {
				mdb_cursor_close(cur);
				return fail(c, ENOMEM, "health");
			}
			h->sets = q;
		}
		sh = &h->sets[h->nsets++];
		memset(sh, 0, sizeof(*sh));
		memcpy(sh->set, (const uint8_t *)k.mv_data + 8, setlen);
		sh->health = set_health(&st, a->now, a->grace);
		sh->last_success = st.last_success;
		sh->last_failure = st.last_failure;
		memcpy(sh->last_error, st.last_error, sizeof(sh->last_error));
		sh->next_run = st.next_run;
		sh->interval = st.interval;
		sh->running = st.running;
		sh->job = st.job;
		/*
		 * A set its polling agent has no job for any more is shown
		 * with its own health, not counted in the client's.
		 */
		if (h->agent_seen == 0 || sh->job) {
			if (counted++ == 0 || sh->health > h->health)
				h->health = sh->health;
		}
		if (sh->last_success > h->last_success)
			h->last_success = sh->last_success;
		if (sh->last_failure > h->last_failure) {
			h->last_failure = sh->last_failure;
			memcpy(h->last_error, sh->last_error,
			    sizeof(h->last_error));
		}
		if (sh->next_run > 0 && (h->next_run == 0 ||
		    sh->next_run < h->next_run))
			h->next_run = sh->next_run;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "read the states of sets");
	return CAT_OK;
}

static int
health_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct health_arg *a = arg;
	struct cat_client_health *h;
	struct cat_client cl;

	if (client_decode(k, d, &cl) == -1)
		return fail(c, 0, "client record");
	explicit_bzero(cl.secret, sizeof(cl.secret));
	if (a->client != 0 && cl.id != a->client)
		return WALK_ON;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct cat_client_health *q = reallocarray(a->v, cap,
		    sizeof(*q));

		if (q == NULL)
			return fail(c, ENOMEM, "health");
		a->v = q;
		a->cap = cap;
	}
	h = &a->v[a->n++];
	memset(h, 0, sizeof(*h));
	h->client = cl.id;
	memcpy(h->name, cl.name, sizeof(h->name));
	if (health_one(c, a->txn, a, h) != CAT_OK)
		return CAT_ERROR;
	return a->client != 0 ? WALK_STOP : WALK_ON;
}

static int
health_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct health_arg *a = arg;

	a->txn = txn;
	return walk(c, txn, c->clients, NULL, 0, 0, health_visit, a,
	    "clients");
}

int
catalog_health(struct catalog *c, uint64_t client, int64_t now,
    int64_t grace, struct cat_client_health **out, size_t *n)
{
	struct health_arg a = { client, now, grace, NULL, NULL, 0, 0 };
	int rc;

	rc = run_read(c, health_txn, &a);
	if (rc == CAT_OK && client != 0 && a.n == 0)
		rc = CAT_NOTFOUND;
	if (rc != CAT_OK) {
		catalog_health_free(a.v, a.n);
		a.v = NULL;
		a.n = 0;
	}
	*out = a.v;
	*n = a.n;
	return rc;
}

void
catalog_health_free(struct cat_client_health *h, size_t n)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(h[i].sets);
	free(h);
}

static size_t
request_encode(const struct cat_request *q, uint8_t *b)
{
	size_t setlen = strlen(q->set), bylen = strlen(q->by), n;

	be64_put(b, (uint64_t)q->queued);
	be64_put(b + 8, (uint64_t)q->taken);
	b[16] = (uint8_t)setlen;
	b[17] = (uint8_t)bylen;
	memcpy(b + REQ_FIXED, q->set, setlen);
	memcpy(b + REQ_FIXED + setlen, q->by, bylen);
	n = REQ_FIXED + setlen + bylen;
	if (q->kind > CAT_REQ_BACKUP) {
		size_t alen = strlen(q->args);

		b[n] = (uint8_t)q->kind;
		be16_put(b + n + 1, (uint16_t)alen);
		memcpy(b + n + 3, q->args, alen);
		n += 3 + alen;
	}
	return n;
}

static int
request_decode(const MDB_val *k, const MDB_val *v, struct cat_request *q)
{
	const uint8_t *b = v->mv_data;
	size_t setlen, bylen;

	if (k->mv_size != REQ_KEY_LEN || v->mv_size < REQ_FIXED)
		return -1;
	setlen = b[16];
	bylen = b[17];
	if (setlen > CAT_NAME_MAX || bylen > CAT_NAME_MAX ||
	    v->mv_size < REQ_FIXED + setlen + bylen)
		return -1;
	memset(q, 0, sizeof(*q));
	q->kind = CAT_REQ_BACKUP;
	if (v->mv_size > REQ_FIXED + setlen + bylen) {
		const uint8_t *e = b + REQ_FIXED + setlen + bylen;
		size_t left = v->mv_size - (REQ_FIXED + setlen + bylen), alen;

		if (left < 3)
			return -1;
		alen = be16_get(e + 1);
		if (e[0] <= CAT_REQ_BACKUP || e[0] > CAT_REQ_RESTORE ||
		    alen > CAT_REQ_ARGS_MAX || left != 3 + alen)
			return -1;
		q->kind = e[0];
		memcpy(q->args, e + 3, alen);
	}
	q->client = be64_get(k->mv_data);
	q->id = be64_get((const uint8_t *)k->mv_data + 8);
	q->queued = (int64_t)be64_get(b);
	q->taken = (int64_t)be64_get(b + 8);
	memcpy(q->set, b + REQ_FIXED, setlen);
	memcpy(q->by, b + REQ_FIXED + setlen, bylen);
	return 0;
}

struct requests_arg {
	uint64_t		 client;
	int64_t			 now;		/* take: mark taken */
	int			 take;
	const char		*set;		/* add */
	const char		*by;
	int			 kind;		/* add: 0 is a backup */
	const char		*args;
	int			 all_kinds;	/* take: version 5 */
	size_t			 room, each;	/* take: bytes to fill */
	size_t			 used;
	int			 limited;	/* add: CAT_LIMIT after commit */
	uint64_t		 id;
	struct cat_request	*v;
	size_t			 n, cap;
};

static int
requests_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct requests_arg *a = arg;

	if (k->mv_size == REQ_KEY_LEN + 1)
		return WALK_ON;		/* an answer (the end of this file) */
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct cat_request *q = reallocarray(a->v, cap, sizeof(*q));

		if (q == NULL)
			return fail(c, ENOMEM, "requests");
		a->v = q;
		a->cap = cap;
	}
	if (request_decode(k, d, &a->v[a->n]) == -1)
		return fail(c, 0, "request");
	a->n++;
	return WALK_ON;
}

/* Every request of a->client into a->v, oldest (lowest id) first. */
static int
requests_load(struct catalog *c, MDB_txn *txn, struct requests_arg *a)
{
	uint8_t ck[8];

	be64_put(ck, a->client);
	return walk(c, txn, c->requests, ck, sizeof(ck), sizeof(ck),
	    requests_visit, a, "requests");
}

static int
request_store(struct catalog *c, MDB_txn *txn, const struct cat_request *q)
{
	uint8_t kb[REQ_KEY_LEN], b[REQ_FIXED + 2 * CAT_NAME_MAX + 3 +
	    CAT_REQ_ARGS_MAX];
	MDB_val k = { sizeof(kb), kb }, d;
	int rc;

	be64_put(kb, q->client);
	be64_put(kb + 8, q->id);
	d.mv_size = request_encode(q, b);
	d.mv_data = b;
	if ((rc = mdb_put(txn, c->requests, &k, &d, 0)) != 0)
		return fail(c, rc, "write request");
	return CAT_OK;
}

static int	requests_other(struct catalog *, MDB_txn *,
		    struct requests_arg *);

static int
request_add_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct requests_arg *a = arg;
	MDB_val k = { sizeof(req_next_key), (void *)req_next_key }, d;
	struct cat_client cl;
	struct cat_request q;
	uint8_t b[8];
	int rc, r;

	if ((r = client_exists(c, txn, a->client, &cl)) != CAT_OK)
		return r;
	if ((r = requests_load(c, txn, a)) != CAT_OK)
		return r;
	/* Browse and restore: the ended go, a full queue refuses. */
	if ((r = requests_other(c, txn, a)) != CAT_OK || a->limited)
		return r;
	/* The same set queued and not taken yet: that request. */
	for (size_t i = 0; i < a->n && a->kind <= CAT_REQ_BACKUP; i++)
		if (a->v[i].taken == 0 && a->v[i].kind == CAT_REQ_BACKUP &&
		    strcmp(a->v[i].set, a->set) == 0) {
			a->id = a->v[i].id;
			return CAT_OK;
		}
	rc = mdb_get(txn, c->requests, &k, &d);
	if (rc == 0 && d.mv_size == 8)
		a->id = be64_get(d.mv_data);
	else if (rc == MDB_NOTFOUND)
		a->id = 1;
	else
		return fail(c, rc, "read the next request id");
	be64_put(b, a->id + 1);
	d.mv_size = sizeof(b);
	d.mv_data = b;
	if ((rc = mdb_put(txn, c->requests, &k, &d, 0)) != 0)
		return fail(c, rc, "write the next request id");
	memset(&q, 0, sizeof(q));
	q.id = a->id;
	q.client = a->client;
	snprintf(q.set, sizeof(q.set), "%s", a->set);
	snprintf(q.by, sizeof(q.by), "%s", a->by);
	q.queued = a->now;
	q.kind = a->kind > CAT_REQ_BACKUP ? a->kind : CAT_REQ_BACKUP;
	if (a->args != NULL)
		snprintf(q.args, sizeof(q.args), "%s", a->args);
	return request_store(c, txn, &q);
}

int
catalog_request_add(struct catalog *c, uint64_t client, const char *set,
    const char *by, int64_t now, uint64_t *id)
{
	struct requests_arg a = { .client = client, .now = now, .set = set,
	    .by = by };
	int rc;

	*id = 0;
	if (!catalog_name_valid(set)) {
		c->rc = EINVAL;
		snprintf(c->err, sizeof(c->err), "catalog: request: bad set "
		    "name");
		return CAT_ERROR;
	}
	rc = run_write(c, request_add_txn, &a);
	free(a.v);
	if (rc == CAT_OK)
		*id = a.id;
	return rc;
}

static int	take_other(struct catalog *, MDB_txn *, struct requests_arg *,
		    struct cat_request *, size_t *);
static int	take_fits(struct requests_arg *, const struct cat_request *);

static int
requests_take_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct requests_arg *a = arg;
	size_t kept = 0, taken = 0;
	int r, rc;

	a->n = 0;
	if ((r = requests_load(c, txn, a)) != CAT_OK)
		return r;
	for (size_t i = 0; i < a->n; i++) {
		struct cat_request *q = &a->v[i];
		struct setstate st;
		int found;

		if (q->kind != CAT_REQ_BACKUP) {
			/* Browse, restore: see catalog.h's last section. */
			if ((r = take_other(c, txn, a, q, &taken)) ==
			    CAT_ERROR)
				return r;
			if (r == 1)
				a->v[kept++] = *q;
			continue;
		}
		if ((r = setstate_load(c, txn, a->client, q->set, &st,
		    &found)) != CAT_OK)
			return r;
		/*
		 * Queued a day ago and never reported (never taken, or its
		 * set not running): forgotten.
		 */
		if (a->now - q->queued > REQUEST_STALE_S && !st.running) {
			uint8_t kb[REQ_KEY_LEN];
			MDB_val k = { sizeof(kb), kb };

			be64_put(kb, q->client);
			be64_put(kb + 8, q->id);
			if ((rc = mdb_del(txn, c->requests, &k, NULL)) != 0)
				return fail(c, rc, "delete request");
			continue;
		}
		/*
		 * Taken and neither reported nor running since: the answer
		 * may never have reached the agent; handed out again after
		 * REQUEST_RETAKE_S.
		 */
		if (q->taken != 0 && (a->now - q->taken <= REQUEST_RETAKE_S ||
		    st.running))
			continue;
		if (taken == CAT_REQUESTS_MAX || !take_fits(a, q))
			continue;	/* the rest at the next poll */
		q->taken = a->now;
		if ((r = request_store(c, txn, q)) != CAT_OK)
			return r;
		a->v[kept++] = *q;
		taken++;
	}
	a->n = kept;
	return CAT_OK;
}

int
catalog_requests_take(struct catalog *c, uint64_t client, int64_t now,
    struct cat_request **out, size_t *n)
{
	struct requests_arg a = { .client = client, .now = now, .take = 1,
	    .room = SIZE_MAX };
	int rc;

	rc = run_write(c, requests_take_txn, &a);
	if (rc != CAT_OK || a.n == 0) {
		free(a.v);
		a.v = NULL;
		a.n = 0;
	}
	*out = a.v;
	*n = a.n;
	return rc;
}

static int
requests_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct requests_arg *a = arg;
	size_t k = 0;
	int r;

	if ((r = requests_load(c, txn, a)) != CAT_OK)
		return r;
	/* "Back up now" only: browse and restore have answers instead. */
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].kind == CAT_REQ_BACKUP)
			a->v[k++] = a->v[i];
	a->n = k;
	return CAT_OK;
}

int
catalog_requests(struct catalog *c, uint64_t client,
    struct cat_request **out, size_t *n)
{
	struct requests_arg a = { .client = client };
	int rc;

	rc = run_read(c, requests_txn, &a);
	if (rc != CAT_OK || a.n == 0) {
		free(a.v);
		a.v = NULL;
		a.n = 0;
	}
	*out = a.v;
	*n = a.n;
	return rc;
}

/* ------------------------------------------------- protected snapshots */

struct protect_arg {
	uint64_t	 client;
	uint64_t	 snap;
	int		 on;
};

static int
protect_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct protect_arg *a = arg;
	uint8_t skey[SNAP_KEY_LEN], srec[SNAP_REC_MAX];
	MDB_val k = { sizeof(skey), skey }, d;
	struct cat_snapshot snap;
	struct journal_rec j;
	int rc;

	be64_put(skey, a->client);
	be64_put(skey + 8, a->snap);
	if ((rc = mdb_get(txn, c->snapshots, &k, &d)) == MDB_NOTFOUND)
		return CAT_NOTFOUND;
	if (rc != 0)
		return fail(c, rc, "read snapshot");
	if (snap_decode(&k, &d, &snap) == -1)
		return fail(c, 0, "snapshot record");
	if ((snap.protected != 0) == (a->on != 0))
		return CAT_OK;
	snap.protected = a->on != 0;
	d.mv_size = snap_encode(&snap, srec);
	d.mv_data = srec;
	if ((rc = mdb_put(txn, c->snapshots, &k, &d, 0)) != 0)
		return fail(c, rc, "write snapshot");
	j = journal_snapshot(JOURNAL_SNAP_FLAGS, a->client, &snap);
	j.flags = snap.protected ? JOURNAL_SF_PROTECTED : 0;
	return journal_log(c, &j);
}

int
catalog_snapshot_protect(struct catalog *c, uint64_t client, uint64_t snap,
    int on)
{
	struct protect_arg a = { client, snap, on };

	return run_write(c, protect_txn, &a);
}

/* ------------------------------------------------------------- history */

/*
 *   history    u64 time || u64 seq -> u8 kind, u8 result, i64 start,
 *                      i64 end, u64 bytes_in, u64 bytes_out,
 *                      u64 snapshot, u8 clientlen, u8 setlen, u8 wholen,
 *                      u16 textlen, client, set, who, text; and the key
 *                      "\0" (1 byte, first of all) -> u64 next seq,
 *                      u64 rows: every session, job report, prune, scrub
 *                      and sync (catalog.h), oldest first.  Not
 *                      journaled.
 */
#define HIST_KEY_LEN		16
#define HIST_FIXED		(1 + 1 + 5 * 8 + 3 + 2)
#define HIST_REC_MAX		(HIST_FIXED + 2 * CAT_NAME_MAX + \
				 CAT_HISTORY_WHO_MAX + CAT_HISTORY_TEXT_MAX)
#define HIST_COUNT_LEN		16
#define HIST_DROP_PER_ADD	8	/* rows beyond the maximum one add
					   deletes; the trim does the rest */

static const char *const hist_kinds[CAT_HIST_NKINDS] = {
	[CAT_HIST_CONNECT] = "connect",
	[CAT_HIST_AUTH] = "auth",
	[CAT_HIST_SESSION] = "session",
	[CAT_HIST_BACKUP] = "backup",
	[CAT_HIST_READ] = "read",
	[CAT_HIST_LIST] = "list",
	[CAT_HIST_FORGET] = "forget",
	[CAT_HIST_REGISTER] = "register",
	[CAT_HIST_AGENT] = "agent",
	[CAT_HIST_JOB] = "job",
	[CAT_HIST_PRUNE] = "prune",
	[CAT_HIST_SCRUB] = "scrub",
	[CAT_HIST_SYNC] = "sync",
	[CAT_HIST_RESTORE] = "restore",
	[CAT_HIST_VERIFY] = "verify",
};
static const char *const hist_results[CAT_HRES_N] = {
	[CAT_HRES_OK] = "ok",
	[CAT_HRES_FAILED] = "failed",
	[CAT_HRES_PARTIAL] = "partial",
	[CAT_HRES_INTERRUPTED] = "interrupted",
};

const char *
catalog_history_kind_name(int kind)
{
	return kind >= 0 && kind < CAT_HIST_NKINDS ? hist_kinds[kind] : "?";
}

const char *
catalog_history_result_name(int result)
{
	return result >= 0 && result < CAT_HRES_N ? hist_results[result] : "?";
}

int
catalog_history_kind_parse(const char *name)
{
	for (int i = 0; i < CAT_HIST_NKINDS; i++)
		if (strcmp(name, hist_kinds[i]) == 0)
			return i;
	return -1;
}

int
catalog_history_result_parse(const char *name)
{
	for (int i = 0; i < CAT_HRES_N; i++)
		if (strcmp(name, hist_results[i]) == 0)
			return i;
	return -1;
}

void
catalog_history_set_max(struct catalog *c, uint64_t max)
{
	c->history_max = max;
}

static uint64_t
hist_max(const struct catalog *c)
{
	return c->history_max ? c->history_max : CAT_HISTORY_MAX_DEFAULT;
}

static void
hist_key(uint8_t k[HIST_KEY_LEN], uint64_t time, uint64_t seq)
{
	be64_put(k, time);
	be64_put(k + 8, seq);
}

/* Copy s, cut to max bytes, to b + off; its length. */
static size_t
hist_str(uint8_t *b, size_t off, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	memcpy(b + off, s, n);
	return n;
}

static size_t
hist_encode(const struct cat_history *h, uint8_t b[HIST_REC_MAX])
{
	size_t nc, ns, nw, nt, off = HIST_FIXED;

	b[0] = (uint8_t)h->kind;
	b[1] = (uint8_t)h->result;
	be64_put(b + 2, (uint64_t)h->start);
	be64_put(b + 10, (uint64_t)h->end);
	be64_put(b + 18, h->bytes_in);
	be64_put(b + 26, h->bytes_out);
	be64_put(b + 34, h->snapshot);
	nc = hist_str(b, off, h->client, CAT_NAME_MAX);
	off += nc;
	ns = hist_str(b, off, h->set, CAT_NAME_MAX);
	off += ns;
	nw = hist_str(b, off, h->who, CAT_HISTORY_WHO_MAX);
	off += nw;
	nt = hist_str(b, off, h->text, CAT_HISTORY_TEXT_MAX);
	off += nt;
	b[42] = (uint8_t)nc;
	b[43] = (uint8_t)ns;
	b[44] = (uint8_t)nw;
	be16_put(b + 45, (uint16_t)nt);
	return off;
}

/* Copy n bytes of outside record at p into a NUL-terminated field. */
static void
hist_field(char *dst, const uint8_t *p, size_t n)
{
	memcpy(dst, p, n);
	dst[n] = '\0';
}

static int
hist_decode(const MDB_val *k, const MDB_val *v, struct cat_history *h)
{
	const uint8_t *b = v->mv_data;
	size_t nc, ns, nw, nt;

	if (k->mv_size != HIST_KEY_LEN || v->mv_size < HIST_FIXED)
		return -1;
	memset(h, 0, sizeof(*h));
	h->time = be64_get(k->mv_data);
	h->seq = be64_get((const uint8_t *)k->mv_data + 8);
	h->kind = b[0];
	h->result = b[1];
	h->start = (int64_t)be64_get(b + 2);
	h->end = (int64_t)be64_get(b + 10);
	h->bytes_in = be64_get(b + 18);
	h->bytes_out = be64_get(b + 26);
	h->snapshot = be64_get(b + 34);
	nc = b[42];
	ns = b[43];
	nw = b[44];
	nt = be16_get(b + 45);
	if (h->kind >= CAT_HIST_NKINDS || h->result >= CAT_HRES_N ||
	    nc > CAT_NAME_MAX || ns > CAT_NAME_MAX ||
	    nw > CAT_HISTORY_WHO_MAX || nt > CAT_HISTORY_TEXT_MAX ||
	    v->mv_size != HIST_FIXED + nc + ns + nw + nt)
		return -1;
	b += HIST_FIXED;
	hist_field(h->client, b, nc);
	hist_field(h->set, b + nc, ns);
	hist_field(h->who, b + nc + ns, nw);
	hist_field(h->text, b + nc + ns + nw, nt);
	return 0;
}

/* The counters: next seq and rows stored (both 0 when none yet). */
static int
hist_count_load(struct catalog *c, MDB_txn *txn, uint64_t *next,
    uint64_t *rows)
{
	MDB_val k = { 1, (void *)"" }, d;
	int rc;

	*next = 1;
	*rows = 0;
	if ((rc = mdb_get(txn, c->history, &k, &d)) == MDB_NOTFOUND)
		return CAT_OK;
	if (rc != 0)
		return fail(c, rc, "read the history's counters");
	if (d.mv_size != HIST_COUNT_LEN)
		return fail(c, 0, "history counters");
	*next = be64_get(d.mv_data);
	*rows = be64_get((const uint8_t *)d.mv_data + 8);
	return CAT_OK;
}

static int
hist_count_store(struct catalog *c, MDB_txn *txn, uint64_t next,
    uint64_t rows)
{
	uint8_t b[HIST_COUNT_LEN];
	MDB_val k = { 1, (void *)"" }, d = { sizeof(b), b };
	int rc;

	be64_put(b, next);
	be64_put(b + 8, rows);
	if ((rc = mdb_put(txn, c->history, &k, &d, 0)) != 0)
		return fail(c, rc, "write the history's counters");
	return CAT_OK;
}

/*
 * Delete, oldest first, the rows written before cutoff and those
 * beyond max, at most limit of them; *rows is kept.  *deleted counts,
 * *more is 1 when the limit stopped it.
 */
static int
hist_drop(struct catalog *c, MDB_txn *txn, uint64_t cutoff, uint64_t max,
    size_t limit, uint64_t *rows, size_t *deleted, int *more)
{
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_cursor_op op = MDB_FIRST;
	int rc;

	*deleted = 0;
	*more = 0;
	if ((rc = mdb_cursor_open(txn, c->history, &cur)) != 0)
		return fail(c, rc, "open cursor");
	while ((rc = mdb_cursor_get(cur, &k, &d, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != HIST_KEY_LEN)
			continue;	/* the counters */
		if (be64_get(k.mv_data) >= cutoff && *rows <= max)
			break;
		if (*deleted == limit) {
			*more = 1;
			break;
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*deleted)++;
		if (*rows > 0)
			(*rows)--;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "delete old history");
	return CAT_OK;
}

/* Write h as a new row at now (its time and seq set), inside txn. */
static int
history_put(struct catalog *c, MDB_txn *txn, uint64_t now,
    struct cat_history *h)
{
	uint8_t kb[HIST_KEY_LEN], b[HIST_REC_MAX];
	MDB_val k = { sizeof(kb), kb }, d = { 0, b };
	uint64_t next, rows;
	size_t deleted;
	int more, rc;

	if (h->kind < 0 || h->kind >= CAT_HIST_NKINDS || h->result < 0 ||
	    h->result >= CAT_HRES_N) {
		c->rc = EINVAL;
		snprintf(c->err, sizeof(c->err), "catalog: history: kind %d "
		    "or result %d out of range", h->kind, h->result);
		return CAT_ERROR;
	}
	if (hist_count_load(c, txn, &next, &rows) != CAT_OK)
		return CAT_ERROR;
	h->time = now;
	h->seq = next;
	hist_key(kb, h->time, h->seq);
	d.mv_size = hist_encode(h, b);
	if ((rc = mdb_put(txn, c->history, &k, &d, 0)) != 0)
		return fail(c, rc, "write history");
	rows++;
	if (hist_drop(c, txn, 0, hist_max(c), HIST_DROP_PER_ADD, &rows,
	    &deleted, &more) != CAT_OK)
		return CAT_ERROR;
	return hist_count_store(c, txn, next + 1, rows);
}

/* A job report's row, in catalog_job_add()'s transaction. */
static int
history_job(struct catalog *c, MDB_txn *txn, const char *client,
    const struct cat_jobrun *r)
{
	struct cat_history h;

	memset(&h, 0, sizeof(h));
	h.kind = CAT_HIST_JOB;
	h.result = r->result == CAT_JOB_OK ? CAT_HRES_OK :
	    r->result == CAT_JOB_PARTIAL ? CAT_HRES_PARTIAL :
	    r->result == CAT_JOB_FAILED ? CAT_HRES_FAILED :
	    CAT_HRES_INTERRUPTED;
	h.start = r->start;
	h.end = r->end;
	snprintf(h.client, sizeof(h.client), "%s", client);
	snprintf(h.set, sizeof(h.set), "%s", r->set);
	snprintf(h.who, sizeof(h.who), "agent (report %llu)",
	    (unsigned long long)r->seq);
	h.bytes_in = r->sent_bytes;
	h.snapshot = r->snapid;
	snprintf(h.text, sizeof(h.text), "%s", r->error);
	return history_put(c, txn, r->received > 0 ? (uint64_t)r->received :
	    (uint64_t)time(NULL), &h);
}

static int
history_add_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct cat_history *h = arg;

	return history_put(c, txn, h->time, h);
}

int
catalog_history_add(struct catalog *c, uint64_t now, struct cat_history *h)
{
	h->time = now;
	return run_write(c, history_add_txn, h);
}

struct session_end_arg {
	struct cat_day		 day;
	uint64_t		 now;
	struct cat_history	*h;
};

static int
session_end_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct session_end_arg *a = arg;

	if (day_add_txn(c, txn, &a->day) != CAT_OK)
		return CAT_ERROR;
	return a->h == NULL ? CAT_OK : history_put(c, txn, a->now, a->h);
}

int
catalog_session_end(struct catalog *c, uint64_t now, uint64_t bytes_in,
    uint64_t bytes_out, struct cat_history *h)
{
	struct session_end_arg a;

	if (now / CAT_DAY_SECONDS > UINT32_MAX) {
		c->rc = 0;
		snprintf(c->err, sizeof(c->err), "catalog: time %llu out of "
		    "range", (unsigned long long)now);
		return CAT_ERROR;
	}
	memset(&a, 0, sizeof(a));
	a.day.day = (uint32_t)(now / CAT_DAY_SECONDS);
	a.day.sessions = 1;
	a.day.bytes_in = bytes_in;
	a.day.bytes_out = bytes_out;
	a.now = now;
	a.h = h;
	return run_write(c, session_end_txn, &a);
}

struct hist_trim_arg {
	uint64_t	 cutoff;
	size_t		 batch, deleted;
	int		 more;
};

static int
hist_trim_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct hist_trim_arg *a = arg;
	uint64_t next, rows;

	if (hist_count_load(c, txn, &next, &rows) != CAT_OK ||
	    hist_drop(c, txn, a->cutoff, hist_max(c), a->batch, &rows,
	    &a->deleted, &a->more) != CAT_OK)
		return CAT_ERROR;
	if (a->deleted == 0)
		return CAT_OK;
	return hist_count_store(c, txn, next, rows);
}

int
catalog_history_trim(struct catalog *c, uint64_t cutoff, size_t batch,
    size_t *deleted, int *more)
{
	struct hist_trim_arg a = { cutoff, batch ? batch : 1, 0, 0 };
	int rc;

	rc = run_write(c, hist_trim_txn, &a);
	if (deleted != NULL)
		*deleted = rc == CAT_OK ? a.deleted : 0;
	if (more != NULL)
		*more = rc == CAT_OK && a.more;
	return rc;
}

struct hist_list_arg {
	const struct cat_history_filter *f;
	size_t			 max, n, cap;
	struct cat_history	*v;
	uint64_t		 total;
};

/* Room for one more row in a->v (grown by doubling); -1: no memory. */
static int
hist_room(struct hist_list_arg *a)
{
	struct cat_history *v;
	size_t cap;

	if (a->n < a->cap)
		return 0;
	cap = a->cap ? a->cap * 2 : 64;
	if (cap > a->max)
		cap = a->max;
	if ((v = reallocarray(a->v, cap, sizeof(*v))) == NULL)
		return -1;
	a->v = v;
	a->cap = cap;
	return 0;
}

static int
hist_match(const struct cat_history_filter *f, const struct cat_history *h)
{
	return (f->client[0] == '\0' || strcmp(f->client, h->client) == 0) &&
	    (f->kind < 0 || f->kind == h->kind) &&
	    (f->result < 0 || f->result == h->result);
}

static int
hist_list_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct hist_list_arg *a = arg;
	const struct cat_history_filter *f = a->f;
	uint8_t kb[HIST_KEY_LEN];
	MDB_cursor *cur;
	MDB_cursor_op op;
	MDB_val k, d;
	uint64_t next;
	int rc;

	a->n = 0;
	if (hist_count_load(c, txn, &next, &a->total) != CAT_OK)
		return CAT_ERROR;
	if ((rc = mdb_cursor_open(txn, c->history, &cur)) != 0)
		return fail(c, rc, "open cursor");
	if (f->before_time == 0 && f->before_seq == 0) {
		op = MDB_LAST;
	} else {
		/* The first row at or after the mark; the one before it. */
		hist_key(kb, f->before_time, f->before_seq);
		k.mv_size = sizeof(kb);
		k.mv_data = kb;
		rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
		op = rc == 0 ? MDB_PREV : MDB_LAST;
		if (rc != 0 && rc != MDB_NOTFOUND) {
			mdb_cursor_close(cur);
			return fail(c, rc, "read history");
		}
	}
	while (a->n < a->max && (rc = mdb_cursor_get(cur, &k, &d, op)) == 0) {
		op = MDB_PREV;
		if (k.mv_size != HIST_KEY_LEN)
			continue;	/* the counters, first of all */
		if (be64_get(k.mv_data) < f->since)
			break;
		if (hist_room(a) == -1) {
			mdb_cursor_close(cur);
			c->rc = ENOMEM;
			snprintf(c->err, sizeof(c->err), "catalog: history: %s",
			    strerror(ENOMEM));
			return CAT_ERROR;
		}
		if (hist_decode(&k, &d, &a->v[a->n]) == -1) {
			mdb_cursor_close(cur);
			return fail(c, 0, "history row");
		}
		if (hist_match(f, &a->v[a->n]))
			a->n++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(c, rc, "read history");
	return CAT_OK;
}

int
catalog_history(struct catalog *c, const struct cat_history_filter *f,
    size_t max, struct cat_history **out, size_t *n, uint64_t *total)
{
	struct hist_list_arg a;
	int rc;

	*out = NULL;
	*n = 0;
	memset(&a, 0, sizeof(a));
	a.f = f;
	a.max = max ? max : 1;
	rc = run_read(c, hist_list_txn, &a);
	if (total != NULL)
		*total = rc == CAT_OK ? a.total : 0;
	if (rc != CAT_OK || a.n == 0) {
		free(a.v);
		return rc;
	}
	*out = a.v;
	*n = a.n;
	return CAT_OK;
}

struct hist_get_arg {
	uint64_t		 time, seq;
	struct cat_history	*out;
};

static int
hist_get_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct hist_get_arg *a = arg;
	uint8_t kb[HIST_KEY_LEN];
	MDB_val k = { sizeof(kb), kb }, d;
	int rc;

	hist_key(kb, a->time, a->seq);
	if ((rc = mdb_get(txn, c->history, &k, &d)) == MDB_NOTFOUND)
		return CAT_NOTFOUND;
	if (rc != 0)
		return fail(c, rc, "read history");
	if (hist_decode(&k, &d, a->out) == -1)
		return fail(c, 0, "history row");
	return CAT_OK;
}

int
catalog_history_get(struct catalog *c, uint64_t time, uint64_t seq,
    struct cat_history *out)
{
	struct hist_get_arg a = { time, seq, out };

	return run_read(c, hist_get_txn, &a);
}

/* ------------------------------------------------ browse and restore */

/*
 * An answer: the request's key and ANSWER_MARK, then i64 when, u8
 * status, u8 kind, the answer's bytes (at most CAT_ANSWER_MAX).
 */
#define ANSWER_KEY_LEN		(REQ_KEY_LEN + 1)
#define ANSWER_MARK		'A'
#define ANSWER_FIXED		(8 + 1 + 1)

/* The failed answers the server gives when the agent's did not come. */
#define ENDED_NOT_TAKEN	"{\"error\":\"the agent did not take the request " \
			"within an hour (is it running, and does it speak " \
			"protocol version 5?)\"}"
#define ENDED_SILENT	"{\"error\":\"the agent did not answer\"}"
#define ENDED_NO_OUTCOME "{\"error\":\"no outcome from the agent\"}"
#define ENDED_TOO_BIG	"{\"error\":\"the request does not fit the " \
			"server's Server.MaxFrame\"}"

static void
answer_key(uint8_t k[ANSWER_KEY_LEN], uint64_t client, uint64_t id)
{
	be64_put(k, client);
	be64_put(k + 8, id);
	k[16] = ANSWER_MARK;
}

static int
request_del(struct catalog *c, MDB_txn *txn, uint64_t client, uint64_t id)
{
	uint8_t kb[REQ_KEY_LEN];
	MDB_val k = { sizeof(kb), kb };
	int rc;

	be64_put(kb, client);
	be64_put(kb + 8, id);
	if ((rc = mdb_del(txn, c->requests, &k, NULL)) != 0 &&
	    rc != MDB_NOTFOUND)
		return fail(c, rc, "delete request");
	return CAT_OK;
}

static int
answer_del(struct catalog *c, MDB_txn *txn, uint64_t client, uint64_t id)
{
	uint8_t kb[ANSWER_KEY_LEN];
	MDB_val k = { sizeof(kb), kb };
	int rc;

	answer_key(kb, client, id);
	if ((rc = mdb_del(txn, c->requests, &k, NULL)) != 0 &&
	    rc != MDB_NOTFOUND)
		return fail(c, rc, "delete answer");
	return CAT_OK;
}

/*
 * The answer record of request id of client into *d (pointing into the
 * map): CAT_OK, CAT_NOTFOUND, CAT_ERROR (also for a record too short or
 * too long).
 */
static int
answer_read(struct catalog *c, MDB_txn *txn, uint64_t client, uint64_t id,
    MDB_val *d)
{
	uint8_t kb[ANSWER_KEY_LEN];
	MDB_val k = { sizeof(kb), kb };
	int rc;

	answer_key(kb, client, id);
	rc = mdb_get(txn, c->requests, &k, d);
	if (rc == MDB_NOTFOUND)
		return CAT_NOTFOUND;
	if (rc != 0)
		return fail(c, rc, "read answer");
	if (d->mv_size < ANSWER_FIXED || d->mv_size > ANSWER_FIXED +
	    CAT_ANSWER_MAX)
		return fail(c, 0, "answer %llu", (unsigned long long)id);
	return CAT_OK;
}

static int
answer_write(struct catalog *c, MDB_txn *txn, uint64_t client, uint64_t id,
    int kind, int status, int64_t when, const void *data, size_t len)
{
	uint8_t kb[ANSWER_KEY_LEN];
	MDB_val k = { sizeof(kb), kb }, d;
	int rc;

	answer_key(kb, client, id);
	d.mv_size = ANSWER_FIXED + len;
	if ((rc = mdb_put(txn, c->requests, &k, &d, MDB_RESERVE)) != 0)
		return fail(c, rc, "write answer");
	be64_put(d.mv_data, (uint64_t)when);
	((uint8_t *)d.mv_data)[8] = (uint8_t)status;
	((uint8_t *)d.mv_data)[9] = (uint8_t)kind;
	if (len > 0)
		memcpy((uint8_t *)d.mv_data + ANSWER_FIXED, data, len);
	return CAT_OK;
}

/*
 * Whether browse or restore request q, whose answer is ans (NULL: none
 * yet; else a record answer_read() checked), ended without the agent's
 * final answer by now: 0, or 1 with *when the moment it ended and *why
 * the failed answer it gets.  Not taken within CAT_ANSWER_KEEP_S; taken
 * and not answered within CAT_TAKEN_SILENT_S; started and nothing more
 * within CAT_STARTED_KEEP_S of the last "started".
 */
static int
request_ended(const struct cat_request *q, const MDB_val *ans, int64_t now,
    int64_t *when, const char **why)
{
	const uint8_t *b = ans != NULL ? ans->mv_data : NULL;

	if (q->taken == 0) {
		*when = q->queued + CAT_ANSWER_KEEP_S;
		*why = ENDED_NOT_TAKEN;
	} else if (b != NULL && b[8] == CAT_ANSWER_STARTED) {
		*when = (int64_t)be64_get(b) + CAT_STARTED_KEEP_S;
		*why = ENDED_NO_OUTCOME;
	} else {
		*when = q->taken + CAT_TAKEN_SILENT_S;
		*why = ENDED_SILENT;
	}
	return now > *when;
}

/*
 * End browse or restore request q with the failed answer why at when
 * (kept until CAT_ANSWER_KEEP_S after when, so none, and no "started"
 * left either, when that is past).
 */
static int
request_fail(struct catalog *c, MDB_txn *txn, const struct cat_request *q,
    int64_t now, int64_t when, const char *why)
{
	int r;

	if (now - when <= CAT_ANSWER_KEEP_S)
		r = answer_write(c, txn, q->client, q->id, q->kind,
		    CAT_ANSWER_FAILED, when, why, strlen(why));
	else
		r = answer_del(c, txn, q->client, q->id);
	if (r != CAT_OK)
		return r;
	return request_del(c, txn, q->client, q->id);
}

/* Browse or restore request q: 1 when it ended (now failed), else 0. */
static int
request_end_due(struct catalog *c, MDB_txn *txn, const struct cat_request *q,
    int64_t now)
{
	const char *why;
	int64_t when;
	MDB_val d;
	int r;

	if ((r = answer_read(c, txn, q->client, q->id, &d)) == CAT_ERROR)
		return r;
	if (!request_ended(q, r == CAT_OK ? &d : NULL, now, &when, &why))
		return 0;
	if ((r = request_fail(c, txn, q, now, when, why)) != CAT_OK)
		return r;
	return 1;
}

#define ANSWERS_SEEN	(2 * CAT_ANSWERS_MAX)	/* answers looked at */

struct answers_seen {
	uint64_t	 keep;		/* this one stays */
	uint64_t	 ids[ANSWERS_SEEN];
	int64_t		 whens[ANSWERS_SEEN];
	size_t		 n;
};

/* Each final answer of a client but s->keep: its id and when. */
static int
answers_visit(struct catalog *c, const MDB_val *k, const MDB_val *d,
    void *arg)
{
	struct answers_seen *s = arg;
	const uint8_t *b = d->mv_data;
	uint64_t id;

	(void)c;
	if (k->mv_size != ANSWER_KEY_LEN)
		return WALK_ON;
	id = be64_get((const uint8_t *)k->mv_data + 8);
	/* A started answer lives with its request (request_ended()). */
	if (id == s->keep || (d->mv_size >= ANSWER_FIXED &&
	    b[8] == CAT_ANSWER_STARTED))
		return WALK_ON;
	s->ids[s->n] = id;
	s->whens[s->n] = d->mv_size >= ANSWER_FIXED ? (int64_t)be64_get(b) :
	    0;
	if (++s->n == ANSWERS_SEEN)
		return WALK_STOP;
	return WALK_ON;
}

/*
 * The final answers of client but keep: those that came more than
 * CAT_ANSWER_KEEP_S before now go, and the oldest beyond
 * CAT_ANSWERS_MAX - 1 (room for keep).
 */
static int
answers_trim(struct catalog *c, MDB_txn *txn, uint64_t client, uint64_t keep,
    int64_t now)
{
	struct answers_seen *s;
	uint8_t ck[8];
	size_t left;
	int r;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return fail(c, ENOMEM, "answers");
	s->keep = keep;
	be64_put(ck, client);
	if ((r = walk(c, txn, c->requests, ck, sizeof(ck), sizeof(ck),
	    answers_visit, s, "answers")) != CAT_OK)
		goto done;
	left = s->n;
	for (size_t i = 0; i < s->n; i++) {
		/* Oldest first: ids grow with time. */
		if (now - s->whens[i] > CAT_ANSWER_KEEP_S ||
		    left >= CAT_ANSWERS_MAX) {
			if ((r = answer_del(c, txn, client, s->ids[i])) !=
			    CAT_OK)
				goto done;
			left--;
		}
	}
done:
	free(s);
	return r;
}

/*
 * In an add, after requests_load(): the browse and restore requests of
 * a->client that ended go (failed), the others are counted; a->limited
 * when a browse or restore is to be queued and CAT_PENDING_MAX wait
 * already.  CAT_OK or CAT_ERROR.
 */
static int
requests_other(struct catalog *c, MDB_txn *txn, struct requests_arg *a)
{
	size_t pending = 0;
	int r;

	for (size_t i = 0; i < a->n; i++) {
		if (a->v[i].kind == CAT_REQ_BACKUP)
			continue;
		if ((r = request_end_due(c, txn, &a->v[i], a->now)) ==
		    CAT_ERROR)
			return r;
		if (r == 0)
			pending++;
	}
	/* Here too, for a client whose agent never answers. */
	if ((r = answers_trim(c, txn, a->client, 0, a->now)) != CAT_OK)
		return r;
	if (a->kind > CAT_REQ_BACKUP && pending >= CAT_PENDING_MAX)
		a->limited = 1;
	return CAT_OK;
}

/*
 * In a take: whether q fits the bytes left (a->room, each request
 * a->each bytes and its set's and args'); counted when it does.
 */
static int
take_fits(struct requests_arg *a, const struct cat_request *q)
{
	size_t need = a->each + strlen(q->set) + strlen(q->args);

	if (need > a->room || a->used > a->room - need)
		return 0;
	a->used += need;
	return 1;
}

/*
 * In a take, a browse or restore request q: ended (failed: see
 * request_ended()), kept waiting when taken already, when the agent
 * speaks version 4 or when it does not fit this take, else taken (1;
 * *taken counted).  One that could never fit (alone more than a->room)
 * fails.  0, 1, or CAT_ERROR.
 */
static int
take_other(struct catalog *c, MDB_txn *txn, struct requests_arg *a,
    struct cat_request *q, size_t *taken)
{
	int r;

	if ((r = request_end_due(c, txn, q, a->now)) != 0)
		return r == 1 ? 0 : r;
	if (!a->all_kinds || q->taken != 0 || *taken == CAT_REQUESTS_MAX)
		return 0;
	if (a->each + strlen(q->set) + strlen(q->args) > a->room)
		return request_fail(c, txn, q, a->now, a->now, ENDED_TOO_BIG);
	if (!take_fits(a, q))
		return 0;	/* the next poll */
	q->taken = a->now;
	if ((r = request_store(c, txn, q)) != CAT_OK)
		return r;
	(*taken)++;
	return 1;
}

int
catalog_request_add_args(struct catalog *c, uint64_t client, int kind,
    const char *set, const char *args, const char *by, int64_t now,
    uint64_t *id)
{
	struct requests_arg a = { .client = client, .now = now, .set = set,
	    .by = by, .kind = kind, .args = args };
	int rc;

	*id = 0;
	if (!catalog_name_valid(set) || (kind != CAT_REQ_BROWSE &&
	    kind != CAT_REQ_RESTORE) || args == NULL ||
	    strlen(args) > CAT_REQ_ARGS_MAX) {
		c->rc = EINVAL;
		snprintf(c->err, sizeof(c->err), "catalog: request: bad set "
		    "name, kind or args");
		return CAT_ERROR;
	}
	rc = run_write(c, request_add_txn, &a);
	free(a.v);
	if (rc == CAT_OK && a.limited) {
		snprintf(c->err, sizeof(c->err), "catalog: request: %d browse "
		    "and restore requests of this client wait already",
		    CAT_PENDING_MAX);
		return CAT_LIMIT;
	}
	if (rc == CAT_OK)
		*id = a.id;
	return rc;
}

int
catalog_requests_take_kinds(struct catalog *c, uint64_t client, int64_t now,
    int all_kinds, size_t room, size_t each, struct cat_request **out,
    size_t *n)
{
	struct requests_arg a = { .client = client, .now = now, .take = 1,
	    .all_kinds = all_kinds, .room = room, .each = each };
	int rc;

	rc = run_write(c, requests_take_txn, &a);
	if (rc != CAT_OK || a.n == 0) {
		free(a.v);
		a.v = NULL;
		a.n = 0;
	}
	*out = a.v;
	*n = a.n;
	return rc;
}

struct answer_arg {
	uint64_t	 client, id;
	int64_t		 now;
	int		 status, kind;
	const void	*data;		/* put */
	size_t		 len;
	int64_t		 taken;		/* get */
	char		*out;
};

/* A request's record, decoded; CAT_NOTFOUND when there is none. */
static int
request_get(struct catalog *c, MDB_txn *txn, uint64_t client, uint64_t id,
    struct cat_request *q)
{
	uint8_t kb[REQ_KEY_LEN];
	MDB_val k = { sizeof(kb), kb }, d;
	int rc;

	be64_put(kb, client);
	be64_put(kb + 8, id);
	if ((rc = mdb_get(txn, c->requests, &k, &d)) == MDB_NOTFOUND)
		return CAT_NOTFOUND;
	if (rc != 0)
		return fail(c, rc, "read request");
	if (request_decode(&k, &d, q) == -1)
		return fail(c, 0, "request %llu", (unsigned long long)id);
	return CAT_OK;
}

static int
answer_put_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct answer_arg *a = arg;
	struct cat_request q;
	int r;

	if ((r = request_get(c, txn, a->client, a->id, &q)) != CAT_OK)
		return r;
	if (q.kind == CAT_REQ_BACKUP || q.taken == 0)
		return CAT_NOTFOUND;
	/* The client's other final answers: the expired and oldest go. */
	if ((r = answers_trim(c, txn, a->client, a->id, a->now)) != CAT_OK)
		return r;
	/* A "started" again moves request_ended()'s bound. */
	if ((r = answer_write(c, txn, a->client, a->id, q.kind, a->status,
	    a->now, a->data, a->len)) != CAT_OK)
		return r;
	/* A final answer ends the request. */
	if (a->status != CAT_ANSWER_STARTED)
		return request_del(c, txn, a->client, a->id);
	return CAT_OK;
}

int
catalog_answer_put(struct catalog *c, uint64_t client, uint64_t id,
    int status, const void *data, size_t len, int64_t now)
{
	struct answer_arg a = { .client = client, .id = id, .now = now,
	    .status = status, .data = data, .len = len };

	if (len > CAT_ANSWER_MAX || (status != CAT_ANSWER_DONE &&
	    status != CAT_ANSWER_STARTED && status != CAT_ANSWER_FAILED)) {
		c->rc = EINVAL;
		snprintf(c->err, sizeof(c->err), "catalog: answer: %zu bytes "
		    "or status %d", len, status);
		return CAT_ERROR;
	}
	return run_write(c, answer_put_txn, &a);
}

/* a->out gets a copy of data[0..len), NUL-ended. */
static int
answer_copy(struct catalog *c, struct answer_arg *a, const void *data,
    size_t len)
{
	if ((a->out = malloc(len + 1)) == NULL)
		return fail(c, ENOMEM, "answer");
	memcpy(a->out, data, len);
	a->out[len] = '\0';
	a->len = len;
	return CAT_OK;
}

/*
 * A read: what the records say at a->now, as request_end_due() would
 * leave them (the next write does), so that a client whose agent never
 * comes still sees its requests end.
 */
static int
answer_get_txn(struct catalog *c, MDB_txn *txn, void *arg)
{
	struct answer_arg *a = arg;
	struct cat_request q;
	const uint8_t *b = NULL;
	const char *why;
	int64_t when;
	MDB_val d;
	int r, rq;

	if ((r = answer_read(c, txn, a->client, a->id, &d)) == CAT_ERROR)
		return r;
	if (r == CAT_OK)
		b = d.mv_data;
	if ((rq = request_get(c, txn, a->client, a->id, &q)) == CAT_ERROR)
		return rq;
	if (rq == CAT_OK && q.kind == CAT_REQ_BACKUP)
		return CAT_NOTFOUND;
	if (rq == CAT_OK && request_ended(&q, b != NULL ? &d : NULL, a->now,
	    &when, &why)) {
		if (a->now - when > CAT_ANSWER_KEEP_S)
			return CAT_NOTFOUND;
		a->status = CAT_ANSWER_FAILED;
		a->kind = q.kind;
		a->taken = q.taken;
		return answer_copy(c, a, why, strlen(why));
	}
	if (b != NULL) {
		when = (int64_t)be64_get(b);
		/* A final answer is kept CAT_ANSWER_KEEP_S. */
		if (b[8] != CAT_ANSWER_STARTED &&
		    a->now - when > CAT_ANSWER_KEEP_S)
			return CAT_NOTFOUND;	/* the next trim drops it */
		a->status = b[8];
		a->kind = b[9];
		a->taken = rq == CAT_OK ? q.taken : 0;
		return answer_copy(c, a, b + ANSWER_FIXED, d.mv_size -
		    ANSWER_FIXED);
	}
	if (rq != CAT_OK)
		return CAT_NOTFOUND;
	a->status = CAT_ANSWER_PENDING;
	a->kind = q.kind;
	a->taken = q.taken;
	return CAT_OK;
}

int
catalog_answer_get(struct catalog *c, uint64_t client, uint64_t id,
    int64_t now, int *status, int *kind, int64_t *taken, char **data,
    size_t *len)
{
	struct answer_arg a = { .client = client, .id = id, .now = now };
	int rc;

	*status = CAT_ANSWER_PENDING;
	*kind = 0;
	*taken = 0;
	*data = NULL;
	*len = 0;
	rc = run_read(c, answer_get_txn, &a);
	if (rc == CAT_OK) {
		*status = a.status;
		*kind = a.kind;
		*taken = a.taken;
		*data = a.out;
		*len = a.len;
	} else
		free(a.out);
	return rc;
}
