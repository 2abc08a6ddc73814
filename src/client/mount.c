/*
 * mount.c - "gigavault mount MOUNTPOINT": the client's snapshots,
 * read-only, through FUSE (libfuse3's high-level, path-based interface).
 *
 * Layout (gigavault(1), "mount"): with --set NAME, or when the client's
 * snapshots are all of one set when it mounts, the top directory holds
 * one directory per snapshot of that set, named by its local date and
 * time and its id ("2026-12-06T20:15:03-17"), and "latest", a symlink to
 * the newest; else one directory per set, each holding its snapshots and
 * its "latest".  The snapshot list is asked again when the top (or a
 * set's) directory is read, at most every MOUNT_RELIST_MS.
 *
 * Everything read from the server goes through the same checks as
 * restore: trees through tree_load() (links checked, names validated),
 * data chunks through blob_open() (authenticated, decrypted, hashed back
 * to their id).  Decrypted chunks and directories stay in one cache of
 * at most MOUNT_CACHE_BYTES, least recently used dropped first.
 *
 * A file's chunk sizes are not in its node: an open file learns the data
 * offset of each chunk as it fetches them, forward from the start, and
 * fetches MOUNT_AHEAD chunks in one request at a time, so a sequential
 * read streams and a read at an offset fetches what comes before it
 * once; the lengths learned are kept by chunk id (MOUNT_LENS of them), for
 * the next open of that file or of the same chunks elsewhere.  Holes
 * (sparse files) read as zeros: the chunks hold the other bytes,
 * concatenated.
 *
 * One session to the server (struct remote is not thread-safe), so
 * libfuse runs single-threaded.  A request that finds the session broken
 * (the server's IdleTimeout, a restart) opens a new one and tries once
 * more.  SIGINT, SIGTERM and SIGHUP end the loop, and the file system is
 * unmounted before the command exits.
 */
#include "autoconf.h"

#define FUSE_USE_VERSION 31

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/monotime.h"
#include "blob.h"
#include "chain.h"
#include "chunker.h"
#include "client.h"
#include "remote.h"
#include "tree.h"

#define MOUNT_CACHE_BYTES	(64u * 1024 * 1024)	/* chunks and trees */
#define MOUNT_AHEAD		8	/* chunks asked for in one request */
#define MOUNT_RELIST_MS		10000	/* least time between listings */
#define MOUNT_BUCKETS		4096	/* of the cache's hash table */
#define MOUNT_TIMEOUT_S		60.0	/* the kernel keeps names, attributes */
#define MOUNT_LENS		(1u << 19)	/* chunk lengths remembered */

/* ---------------------------------------------------------------- cache */

enum { CE_DATA = 1, CE_TREE };

/* One decrypted blob: a data chunk or a directory (all its pages). */
struct centry {
	uint8_t		 kind;
	uint8_t		 id[BLOB_ID_LEN];
	size_t		 cost;		/* bytes it holds, about */
	uint8_t		*body;		/* CE_DATA */
	size_t		 len;
	struct tree	 t;		/* CE_TREE */
	struct centry	*hnext;		/* in its bucket */
	struct centry	*prev, *next;	/* LRU: head is the newest */
};

struct cache {
	struct centry	*bucket[MOUNT_BUCKETS];
	struct centry	*head, *tail;
	size_t		 bytes;
};

static size_t
bucket_of(const uint8_t *id)
{
	return ((size_t)id[0] << 8 | id[1]) % MOUNT_BUCKETS;
}

static void
lru_unlink(struct cache *ca, struct centry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		ca->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		ca->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_front(struct cache *ca, struct centry *e)
{
	e->next = ca->head;
	e->prev = NULL;
	if (ca->head != NULL)
		ca->head->prev = e;
	ca->head = e;
	if (ca->tail == NULL)
		ca->tail = e;
}

/* The entry of (kind, id), made the newest; NULL when not cached. */
static struct centry *
cache_get(struct cache *ca, int kind, const uint8_t *id)
{
	struct centry *e;

	for (e = ca->bucket[bucket_of(id)]; e != NULL; e = e->hnext)
		if (e->kind == kind && memcmp(e->id, id, BLOB_ID_LEN) == 0)
			break;
	if (e != NULL && e != ca->head) {
		lru_unlink(ca, e);
		lru_front(ca, e);
	}
	return e;
}

static void
centry_free(struct centry *e)
{
	free(e->body);
	tree_free(&e->t);
	free(e);
}

static void
cache_drop(struct cache *ca, struct centry *e)
{
	struct centry **pp = &ca->bucket[bucket_of(e->id)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(ca, e);
	ca->bytes -= e->cost;
	centry_free(e);
}

/*
 * Add e (not cached yet) as the newest, then drop the oldest entries
 * while over MOUNT_CACHE_BYTES, never e itself (so a directory larger
 * than the cache is still read).
 */
static void
cache_add(struct cache *ca, struct centry *e)
{
	size_t b = bucket_of(e->id);

	e->hnext = ca->bucket[b];
	ca->bucket[b] = e;
	lru_front(ca, e);
	ca->bytes += e->cost;
	while (ca->bytes > MOUNT_CACHE_BYTES && ca->tail != e)
		cache_drop(ca, ca->tail);
}

static void
cache_clear(struct cache *ca)
{
	while (ca->tail != NULL)
		cache_drop(ca, ca->tail);
}

/* ---------------------------------------------------------------- state */

/* The length of a chunk, by id. */
struct lent {
	uint8_t		 id[BLOB_ID_LEN];
	uint32_t	 len;
	struct lent	*next;
};

struct mnt {
	struct client	*c;
	struct client_rk rk;		/* over c->remote */
	struct tree_src	 src;
	struct cache	 cache;
	struct lent	*lens[MOUNT_BUCKETS];	/* lens_get() */
	size_t		 nlens;
	struct snapinfo	*snaps;		/* oldest first */
	char		(*names)[96];	/* each snapshot's directory name */
	size_t		 nsnaps;
	char		*set;		/* the one set shown; NULL: per set */
	int64_t		 listed;	/* mono_ms() at the last listing */
	uid_t		 uid;
	gid_t		 gid;
	time_t		 started;
};

/* An open file. */
struct ofile {
	struct node	 nd;		/* deep copy: chunks, holes; no name */
	char		*path;		/* in the mount, for messages */
	uint64_t	*hpre;		/* hpre[k]: bytes of holes[0..k) */
	uint64_t	 datalen;	/* bytes in the chunks: size - holes */
	struct tree_chunks tc;		/* next ids; reset after a failure */
	int		 tc_dead;
	int		 ids_done;	/* every id is in ids */
	uint8_t		(*ids)[BLOB_ID_LEN];
	uint64_t	 nids, capids;
	uint64_t	*starts;	/* starts[i]: data offset of chunk i */
	uint64_t	 nsized;	/* chunks whose length is known */
	int		 broken;	/* reported; EIO from now on */
};

static struct mnt *
mnt_get(void)
{
	return fuse_get_context()->private_data;
}

static void
report(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "gigavault: mount: PATH: message" on stderr. */
static void
report(const char *path, const char *fmt, ...)
{
	va_list ap;

	fputs("gigavault: mount: ", stderr);
	client_putsafe(stderr, path);
	fputs(": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The session failed (err says how): open a new one in its place.  0, or
 * -1 (printed; the next request tries again).
 */
static int
reconnect(struct mnt *m, const char *why)
{
	struct remote *r;
	char err[512];

	client_rk_free(&m->rk);
	warnx("mount: %s; connecting to the server again", why);
	if ((r = client_more_session(m->c, err, sizeof(err))) == NULL) {
		warnx("mount: %s", err);
		return -1;
	}
	remote_close(m->c->remote);
	m->c->remote = r;
	m->rk.r = r;
	return 0;
}

/* ---------------------------------------------------------------- snapshots */

/*
 * List the snapshots again (of m->set, or all), naming each.  0, or -1
 * (printed; the old list stays).
 */
static int
relist(struct mnt *m)
{
	struct snapinfo *v;
	char (*names)[96], when[64], err[512];
	size_t n;
	int rc;

	for (int attempt = 0;; attempt++) {
		err[0] = '\0';
		rc = remote_list(m->c->remote, m->set ? m->set : "", &v, &n,
		    err, sizeof(err));
		if (rc == 0)
			break;
		if (attempt > 0 || reconnect(m, err) == -1) {
			warnx("mount: listing snapshots: %s", err);
			return -1;
		}
	}
	if ((names = calloc(n ? n : 1, sizeof(*names))) == NULL) {
		free(v);
		warnx("mount: out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		client_fmt_time((int64_t)v[i].time, "%Y-%m-%dT%H:%M:%S", when,
		    sizeof(when));
		snprintf(names[i], sizeof(names[i]), "%s-%llu", when,
		    (unsigned long long)v[i].id);
	}
	free(m->snaps);
	free(m->names);
	m->snaps = v;
	m->names = names;
	m->nsnaps = n;
	m->listed = mono_ms();
	return 0;
}

static void
maybe_relist(struct mnt *m)
{
	if (mono_ms() - m->listed >= MOUNT_RELIST_MS)
		relist(m);
}

/* The newest snapshot of set, or -1. */
static ssize_t
newest_of(const struct mnt *m, const char *set)
{
	for (size_t i = m->nsnaps; i > 0; i--)
		if (strcmp(m->snaps[i - 1].set, set) == 0)
			return (ssize_t)(i - 1);
	return -1;
}

/* ---------------------------------------------------------------- trees */

static size_t
tree_cost(const struct tree *t)
{
	size_t cost = sizeof(*t) + (size_t)t->n * sizeof(struct node);

	for (uint32_t i = 0; i < t->n; i++) {
		const struct node *nd = &t->nodes[i];

		cost += strlen(nd->name) + 1 + (size_t)nd->nchunks *
		    BLOB_ID_LEN + (size_t)nd->nholes * sizeof(struct node_hole);
		if (nd->target != NULL)
			cost += strlen(nd->target) + 1;
		for (uint32_t k = 0; k < nd->nxattrs; k++)
			cost += strlen(nd->xattrs[k].name) + 1 +
			    nd->xattrs[k].len;
	}
	return cost;
}

/*
 * Directory id, all its pages, from the cache or the server (checked by
 * tree_load()).  *t points into the cache: valid until the next blob is
 * added to it.  0, or -errno (EIO, printed, when it is damaged or the
 * server cannot be reached; ENOMEM).
 */
static int
dir_get(struct mnt *m, const uint8_t *id, const char *path,
    const struct tree **t)
{
	struct centry *e;
	char err[512];
	int rc;

	if ((e = cache_get(&m->cache, CE_TREE, id)) != NULL) {
		*t = &e->t;
		return 0;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -ENOMEM;
	for (int attempt = 0;; attempt++) {
		rc = tree_load(&m->src, id, &e->t, err, sizeof(err));
		client_rk_free(&m->rk);
		if (rc != -1 || attempt > 0 || reconnect(m, err) == -1)
			break;
	}
	if (rc != 0) {
		report(path, "directory unreadable: %s", err);
		free(e);
		return -EIO;
	}
	e->kind = CE_TREE;
	memcpy(e->id, id, BLOB_ID_LEN);
	e->cost = tree_cost(&e->t);
	cache_add(&m->cache, e);
	*t = &e->t;
	return 0;
}

/* ---------------------------------------------------------------- paths */

enum res_kind { R_TOP, R_SETDIR, R_LATEST, R_SNAP, R_NODE };

struct res {
	enum res_kind	 kind;
	const char	*set;		/* R_SETDIR, R_LATEST, R_SNAP */
	size_t		 snap;		/* R_LATEST (target), R_SNAP, R_NODE */
	const struct node *nd;		/* R_NODE: until the cache grows */
};

/* The next component of *p into comp; 0 when there is none. */
static int
next_comp(const char **p, char *comp, size_t len)
{
	const char *s = *p, *e;

	while (*s == '/')
		s++;
	if (*s == '\0')
		return 0;
	for (e = s; *e != '\0' && *e != '/'; e++)
		;
	if ((size_t)(e - s) >= len)
		return -1;
	memcpy(comp, s, (size_t)(e - s));
	comp[e - s] = '\0';
	*p = e;
	return 1;
}

static int
more_comps(const char *p)
{
	while (*p == '/')
		p++;
	return *p != '\0';
}

/* What path names.  0, or -errno (ENOENT, ENOTDIR, EIO, ENAMETOOLONG). */
static int
resolve(struct mnt *m, const char *path, struct res *r)
{
	char comp[TREE_MAX_NAME + 1];
	const char *p = path, *set = m->set;
	const struct tree *t;
	const struct node *nd;
	uint8_t id[BLOB_ID_LEN];
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	r->kind = R_TOP;
	r->set = set;
	if ((rc = next_comp(&p, comp, sizeof(comp))) <= 0)
		return rc == 0 ? 0 : -ENAMETOOLONG;
	if (set == NULL) {
		for (i = 0; i < m->nsnaps; i++)
			if (strcmp(m->snaps[i].set, comp) == 0)
				break;
		if (i == m->nsnaps)
			return -ENOENT;
		set = m->snaps[i].set;
		r->kind = R_SETDIR;
		r->set = set;
		if ((rc = next_comp(&p, comp, sizeof(comp))) <= 0)
			return rc == 0 ? 0 : -ENAMETOOLONG;
	}
	r->set = set;
	if (strcmp(comp, "latest") == 0) {
		ssize_t k = newest_of(m, set);

		if (k < 0)
			return -ENOENT;
		r->kind = R_LATEST;
		r->snap = (size_t)k;
		return more_comps(p) ? -ENOTDIR : 0;
	}
	for (i = 0; i < m->nsnaps; i++)
		if (strcmp(m->snaps[i].set, set) == 0 &&
		    strcmp(m->names[i], comp) == 0)
			break;
	if (i == m->nsnaps)
		return -ENOENT;
	r->kind = R_SNAP;
	r->snap = i;
	memcpy(id, m->snaps[i].root, BLOB_ID_LEN);
	while ((rc = next_comp(&p, comp, sizeof(comp))) == 1) {
		if (r->kind == R_NODE) {
			if (r->nd->type != NODE_DIR)
				return -ENOTDIR;
			memcpy(id, r->nd->subtree, BLOB_ID_LEN);
		}
		if ((rc = dir_get(m, id, path, &t)) != 0)
			return rc;
		if ((nd = tree_find(t, comp)) == NULL)
			return -ENOENT;
		r->kind = R_NODE;
		r->nd = nd;
	}
	return rc == 0 ? 0 : -ENAMETOOLONG;
}

/* ---------------------------------------------------------------- stat */

static uint64_t
holes_bytes(const struct node *nd)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < nd->nholes; i++)
		sum += nd->holes[i].len;
	return sum;
}

/*
 * An inode number for st_ino: FNV-1a of the snapshot and what names the
 * entry (the original device and inode for a node, so that the names of
 * a hard-linked file share it; the path for our own entries).
 */
static uint64_t
fnv(uint64_t h, const void *what, size_t len)
{
	const uint8_t *p = what;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Of the entry name in directory dir (name NULL: dir itself). */
static ino_t
ino_of(const struct mnt *m, const struct res *r, const struct node *nd,
    const char *dir, const char *name)
{
	uint64_t h = 14695981039346656037ull;

	if (nd != NULL && nd->inode != 0) {
		uint64_t v[3] = { m->snaps[r->snap].id, nd->dev, nd->inode };

		h = fnv(h, v, sizeof(v));
	} else {
		h = fnv(h, dir, strlen(dir));
		if (name != NULL) {
			if (strcmp(dir, "/") != 0)
				h = fnv(h, "/", 1);
			h = fnv(h, name, strlen(name));
		}
		if (strcmp(dir, "/") == 0 && name == NULL)
			return 1;	/* the root */
	}
	return (ino_t)(h > 1 ? h : h + 2);
}

static void
node_stat(const struct node *nd, struct stat *st)
{
	static const mode_t types[] = {
		[NODE_FILE] = S_IFREG, [NODE_DIR] = S_IFDIR,
		[NODE_SYMLINK] = S_IFLNK, [NODE_FIFO] = S_IFIFO,
		[NODE_CHR] = S_IFCHR, [NODE_BLK] = S_IFBLK,
		[NODE_SOCK] = S_IFSOCK,
	};
	uint64_t used = nd->size;

	st->st_mode = types[nd->type] | (nd->mode & 07777);
	st->st_uid = nd->uid;
	st->st_gid = nd->gid;
	st->st_nlink = nd->nlink ? nd->nlink : 1;
	st->st_size = (off_t)nd->size;
	if (nd->type == NODE_SYMLINK && nd->target != NULL)
		st->st_size = (off_t)strlen(nd->target);
	if (nd->type == NODE_CHR || nd->type == NODE_BLK)
		st->st_rdev = (dev_t)nd->rdev;
	if (nd->type == NODE_FILE) {
		uint64_t h = holes_bytes(nd);

		used = h <= nd->size ? nd->size - h : 0;
	}
	st->st_blocks = (blkcnt_t)((used + 511) / 512);
	st->st_blksize = 4096;
	st->st_atim.tv_sec = nd->atime_sec;
	st->st_atim.tv_nsec = nd->atime_nsec;
	st->st_mtim.tv_sec = nd->mtime_sec;
	st->st_mtim.tv_nsec = nd->mtime_nsec;
	st->st_ctim.tv_sec = nd->ctime_sec;
	st->st_ctim.tv_nsec = nd->ctime_nsec;
}

/* A directory or symlink of our own (top, set, snapshot root, latest). */
static void
own_stat(const struct mnt *m, mode_t mode, time_t t, struct stat *st)
{
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_blksize = 4096;
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = t;
}

static int
mnt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct mnt *m = mnt_get();
	struct res r;
	int rc;

	(void)fi;
	memset(st, 0, sizeof(*st));
	if ((rc = resolve(m, path, &r)) != 0)
		return rc;
	switch (r.kind) {
	case R_TOP:
	case R_SETDIR:
		own_stat(m, S_IFDIR | 0555, m->started, st);
		break;
	case R_LATEST:
		own_stat(m, S_IFLNK | 0777, (time_t)m->snaps[r.snap].time, st);
		st->st_size = (off_t)strlen(m->names[r.snap]);
		break;
	case R_SNAP:
		own_stat(m, S_IFDIR | 0555, (time_t)m->snaps[r.snap].time, st);
		break;
	case R_NODE:
		node_stat(r.nd, st);
		break;
	}
	st->st_ino = ino_of(m, &r, r.kind == R_NODE ? r.nd : NULL, path,
	    NULL);
	return 0;
}

static int
mnt_readlink(const char *path, char *buf, size_t size)
{
	struct mnt *m = mnt_get();
	const char *target;
	struct res r;
	int rc;

	if ((rc = resolve(m, path, &r)) != 0)
		return rc;
	if (r.kind == R_LATEST)
		target = m->names[r.snap];
	else if (r.kind == R_NODE && r.nd->type == NODE_SYMLINK &&
	    r.nd->target != NULL)
		target = r.nd->target;
	else
		return -EINVAL;
	if (size == 0)
		return -EINVAL;
	/* FUSE's way: truncated to size - 1 and NUL-terminated. */
	snprintf(buf, size, "%s", target);
	return 0;
}

static int
mnt_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct mnt *m = mnt_get();
	const struct tree *t;
	struct stat st;
	struct res r;
	int rc;

	(void)off;
	(void)fi;
	(void)flags;
	if ((rc = resolve(m, path, &r)) != 0)
		return rc;
	if (r.kind == R_TOP || r.kind == R_SETDIR) {
		maybe_relist(m);
		if ((rc = resolve(m, path, &r)) != 0)	/* the list moved */
			return rc;
	}
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR;
	st.st_ino = ino_of(m, &r, r.kind == R_NODE ? r.nd : NULL, path, NULL);
	fill(buf, ".", &st, 0, 0);
	st.st_ino = 0;		/* the parent's: the kernel knows it */
	fill(buf, "..", &st, 0, 0);
	switch (r.kind) {
	case R_TOP:
		if (m->set == NULL) {
			/* One entry per set, in order of first snapshot. */
			for (size_t i = 0; i < m->nsnaps; i++) {
				size_t k;

				for (k = 0; k < i && strcmp(m->snaps[k].set,
				    m->snaps[i].set) != 0; k++)
					;
				if (k < i)
					continue;
				st.st_ino = ino_of(m, &r, NULL, path,
				    m->snaps[i].set);
				if (fill(buf, m->snaps[i].set, &st, 0, 0) != 0)
					break;
			}
			break;
		}
		/* FALLTHROUGH */
	case R_SETDIR:
		for (size_t i = 0; i < m->nsnaps; i++) {
			if (strcmp(m->snaps[i].set, r.set) != 0)
				continue;
			st.st_ino = ino_of(m, &r, NULL, path, m->names[i]);
			if (fill(buf, m->names[i], &st, 0, 0) != 0)
				return 0;
		}
		if (newest_of(m, r.set) >= 0) {
			st.st_mode = S_IFLNK;
			st.st_ino = ino_of(m, &r, NULL, path, "latest");
			fill(buf, "latest", &st, 0, 0);
		}
		break;
	case R_LATEST:
		return -ENOTDIR;
	case R_SNAP:
	case R_NODE:
		if (r.kind == R_NODE && r.nd->type != NODE_DIR)
			return -ENOTDIR;
		if ((rc = dir_get(m, r.kind == R_SNAP ? m->snaps[r.snap].root :
		    r.nd->subtree, path, &t)) != 0)
			return rc;
		for (uint32_t i = 0; i < t->n; i++) {
			node_stat(&t->nodes[i], &st);
			st.st_ino = ino_of(m, &r, &t->nodes[i], path,
			    t->nodes[i].name);
			if (fill(buf, t->nodes[i].name, &st, 0, 0) != 0)
				break;
		}
		break;
	}
	return 0;
}

/* ---------------------------------------------------------------- xattrs */

static int
mnt_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct mnt *m = mnt_get();
	struct res r;
	int rc;

	if ((rc = resolve(m, path, &r)) != 0)
		return rc;
	if (r.kind != R_NODE)
		return -ENODATA;
	for (uint32_t i = 0; i < r.nd->nxattrs; i++) {
		const struct node_xattr *x = &r.nd->xattrs[i];

		if (strcmp(x->name, name) != 0)
			continue;
		if (x->len > INT32_MAX)
			return -E2BIG;
		if (size == 0)
			return (int)x->len;
		if (size < x->len)
			return -ERANGE;
		if (x->len > 0)
			memcpy(value, x->value, x->len);
		return (int)x->len;
	}
	return -ENODATA;
}

static int
mnt_listxattr(const char *path, char *list, size_t size)
{
	struct mnt *m = mnt_get();
	struct res r;
	size_t need = 0, len;
	int rc;

	if ((rc = resolve(m, path, &r)) != 0)
		return rc;
	if (r.kind != R_NODE)
		return 0;
	for (uint32_t i = 0; i < r.nd->nxattrs; i++)
		need += strlen(r.nd->xattrs[i].name) + 1;
	if (need > INT32_MAX)
		return -E2BIG;
	if (size == 0)
		return (int)need;
	if (size < need)
		return -ERANGE;
	for (uint32_t i = 0; i < r.nd->nxattrs; i++) {
		len = strlen(r.nd->xattrs[i].name) + 1;
		memcpy(list, r.nd->xattrs[i].name, len);
		list += len;
	}
	return (int)need;
}

/* ---------------------------------------------------------------- files */

static void
ofile_free(struct ofile *of)
{
	if (of == NULL)
		return;
	if (!of->tc_dead)
		tree_chunks_free(&of->tc);
	free(of->nd.chunks);
	free(of->nd.holes);
	free(of->path);
	free(of->hpre);
	free(of->ids);
	free(of->starts);
	free(of);
}

/*
 * A copy of file node nd for reading, its holes checked (sorted,
 * disjoint, within the size).  NULL with *rc -ENOMEM or -EIO (printed).
 */
static struct ofile *
ofile_new(struct mnt *m, const struct node *nd, const char *path, int *rc)
{
	struct ofile *of = calloc(1, sizeof(*of));
	uint64_t end = 0;

	*rc = -ENOMEM;
	if (of == NULL)
		return NULL;
	of->nd = *nd;
	of->nd.name = NULL;
	of->nd.target = NULL;
	of->nd.xattrs = NULL;
	of->nd.nxattrs = 0;
	of->nd.chunks = NULL;
	of->nd.holes = NULL;
	of->tc_dead = 1;
	if ((of->path = strdup(path)) == NULL ||
	    (nd->nchunks > 0 && (of->nd.chunks = calloc(nd->nchunks,
	    BLOB_ID_LEN)) == NULL) ||
	    (nd->nholes > 0 && (of->nd.holes = calloc(nd->nholes,
	    sizeof(*nd->holes))) == NULL) ||
	    (of->hpre = calloc((size_t)nd->nholes + 1,
	    sizeof(*of->hpre))) == NULL)
		goto fail;
	if (nd->nchunks > 0)
		memcpy(of->nd.chunks, nd->chunks, (size_t)nd->nchunks *
		    BLOB_ID_LEN);
	if (nd->nholes > 0)
		memcpy(of->nd.holes, nd->holes, (size_t)nd->nholes *
		    sizeof(*nd->holes));
	for (uint32_t k = 0; k < nd->nholes; k++) {
		const struct node_hole *h = &nd->holes[k];

		if (h->off < end || h->len == 0 || h->len > nd->size ||
		    h->off > nd->size - h->len) {
			report(path, "damaged: its holes overlap or lie beyond "
			    "its size");
			*rc = -EIO;
			goto fail;
		}
		end = h->off + h->len;
		of->hpre[k + 1] = of->hpre[k] + h->len;
	}
	of->datalen = nd->size - of->hpre[nd->nholes];
	of->capids = 64;
	if ((of->ids = calloc(of->capids, BLOB_ID_LEN)) == NULL ||
	    (of->starts = calloc(of->capids + 1, sizeof(*of->starts))) ==
	    NULL)
		goto fail;
	tree_chunks_init(&of->tc, &m->src, &of->nd);
	of->tc_dead = 0;
	return of;
fail:
	ofile_free(of);
	return NULL;
}

/*
 * Start reading of's ids again (after the session failed under it):
 * skip those known, which must come back the same.  0; 1 or -1 as
 * tree_chunks_next().
 */
static int
ids_restart(struct ofile *of, char *err, size_t errlen)
{
	uint8_t id[BLOB_ID_LEN];
	int rc;

	tree_chunks_init(&of->tc, of->tc.src, &of->nd);
	of->tc_dead = 0;
	for (uint64_t i = 0; i < of->nids; i++) {
		if ((rc = tree_chunks_next(&of->tc, id, err, errlen)) == 0 &&
		    memcmp(id, of->ids[i], BLOB_ID_LEN) == 0)
			continue;
		if (rc == 0 || rc == 2) {
			snprintf(err, errlen, "its chunk lists changed");
			rc = 1;
		}
		if (rc == -1) {
			tree_chunks_free(&of->tc);
			of->tc_dead = 1;
		}
		return rc;
	}
	return 0;
}

/*
 * Learn of's chunk ids up to want of them (or all there are).  0; 1
 * (damaged, err set); -1 (the session failed, err set).
 */
static int
ids_more(struct ofile *of, uint64_t want, char *err, size_t errlen)
{
	int rc;

	if (of->tc_dead && (rc = ids_restart(of, err, errlen)) != 0)
		return rc;
	while (of->nids < want && !of->ids_done) {
		if (of->nids == of->capids) {
			uint64_t cap = of->capids * 2;
			void *p = reallocarray(of->ids, cap, BLOB_ID_LEN);

			if (p == NULL)
				goto oom;
			of->ids = p;
			if ((p = reallocarray(of->starts, cap + 1,
			    sizeof(*of->starts))) == NULL)
				goto oom;
			of->starts = p;
			of->capids = cap;
		}
		rc = tree_chunks_next(&of->tc, of->ids[of->nids], err, errlen);
		if (rc == 2) {
			of->ids_done = 1;
			break;
		}
		if (rc == -1) {
			tree_chunks_free(&of->tc);
			of->tc_dead = 1;
		}
		if (rc != 0)
			return rc;
		of->nids++;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return 1;
}

/*
 * The length of every chunk opened so far, by id (an id names its
 * contents, so its length never changes): a file opened again, or the
 * same chunks in another snapshot, learn their offsets without fetching
 * the chunks before the one read.  At most MOUNT_LENS entries.
 */
static int
lens_get(const struct mnt *m, const uint8_t *id, uint32_t *len)
{
	for (const struct lent *l = m->lens[bucket_of(id)]; l != NULL;
	    l = l->next)
		if (memcmp(l->id, id, BLOB_ID_LEN) == 0) {
			*len = l->len;
			return 1;
		}
	return 0;
}

static void
lens_put(struct mnt *m, const uint8_t *id, uint32_t len)
{
	struct lent *l;
	uint32_t old;

	if (m->nlens >= MOUNT_LENS || lens_get(m, id, &old) ||
	    (l = malloc(sizeof(*l))) == NULL)
		return;
	memcpy(l->id, id, BLOB_ID_LEN);
	l->len = len;
	l->next = m->lens[bucket_of(id)];
	m->lens[bucket_of(id)] = l;
	m->nlens++;
}

static void
lens_free(struct mnt *m)
{
	for (size_t b = 0; b < MOUNT_BUCKETS; b++)
		while (m->lens[b] != NULL) {
			struct lent *l = m->lens[b];

			m->lens[b] = l->next;
			free(l);
		}
	m->nlens = 0;
}

/* What one request of chunks brings: each opened goes into the cache. */
struct cfetch {
	struct mnt	*m;
	char		 why[256];		/* the first that failed */
};

static int
cfetch_cb(void *arg, const uint8_t *id, const uint8_t *blob, size_t len,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks)
{
	struct cfetch *f = arg;
	struct centry *e;
	char hex[2 * BLOB_ID_LEN + 1], why[160];

	(void)links;
	(void)nlinks;
	hex_encode(id, BLOB_ID_LEN, hex);
	if (blob == NULL) {
		if (f->why[0] == '\0')
			snprintf(f->why, sizeof(f->why), "data blob %s: not "
			    "on the server", hex);
		return 0;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	if (blob_open(&f->m->c->keys, BLOB_DATA, id, blob, len, CHUNK_MAX,
	    &e->body, &e->len, why, sizeof(why)) == -1)
		e->len = 0;
	else if (e->len == 0)
		snprintf(why, sizeof(why), "empty");
	if (e->len == 0) {
		if (f->why[0] == '\0')
			snprintf(f->why, sizeof(f->why), "data blob %s: %s",
			    hex, why);
		free(e->body);
		free(e);
		return 0;
	}
	e->kind = CE_DATA;
	memcpy(e->id, id, BLOB_ID_LEN);
	e->cost = sizeof(*e) + e->len;
	lens_put(f->m, id, (uint32_t)e->len);	/* at most CHUNK_MAX */
	if (cache_get(&f->m->cache, CE_DATA, id) == NULL)
		cache_add(&f->m->cache, e);
	else
		centry_free(e);
	return 0;
}

/*
 * Chunk first of of and the MOUNT_AHEAD - 1 after it (those that exist)
 * into the cache, asking the server for those not there in one request.
 * 0 (chunk first is cached); 1 (damaged, err set); -1 (the session
 * failed, err set).
 */
static int
chunks_fetch(struct mnt *m, struct ofile *of, uint64_t first, char *err,
    size_t errlen)
{
	uint8_t want[MOUNT_AHEAD][BLOB_ID_LEN];
	size_t nwant = 0, w;
	struct cfetch f;
	uint64_t n, i;
	int rc;

	if ((rc = ids_more(of, first + MOUNT_AHEAD, err, errlen)) != 0)
		return rc;
	if (first >= of->nids) {
		snprintf(err, errlen, "its chunks hold fewer bytes than its "
		    "size");
		return 1;
	}
	n = of->nids - first;
	if (n > MOUNT_AHEAD)
		n = MOUNT_AHEAD;
	/* Each id not cached, once (a file may repeat a chunk). */
	for (i = 0; i < n; i++) {
		const uint8_t *id = of->ids[first + i];

		if (cache_get(&m->cache, CE_DATA, id) != NULL)
			continue;
		for (w = 0; w < nwant && memcmp(want[w], id, BLOB_ID_LEN) != 0;
		    w++)
			;
		if (w == nwant)
			memcpy(want[nwant++], id, BLOB_ID_LEN);
	}
	memset(&f, 0, sizeof(f));
	f.m = m;
	if (nwant > 0) {
		err[0] = '\0';
		if (remote_get(m->rk.r, (const uint8_t (*)[BLOB_ID_LEN])want,
		    nwant, cfetch_cb, &f, err, errlen) != 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (cache_get(&m->cache, CE_DATA, of->ids[first]) == NULL) {
		snprintf(err, errlen, "chunk %llu: %s",
		    (unsigned long long)first, f.why[0] ? f.why :
		    "not kept in the cache");
		return 1;
	}
	return 0;
}

/*
 * Learn the offset of of's next chunk (of->nsized): from the length
 * map, else by fetching it (and some after it).  0; 1 or -1 as
 * chunks_fetch().
 */
static int
learn_next(struct mnt *m, struct ofile *of, char *err, size_t errlen)
{
	uint64_t k = of->nsized;
	uint32_t len;
	int rc;

	if (k == of->nids && (rc = ids_more(of, k + MOUNT_AHEAD, err,
	    errlen)) != 0)
		return rc;
	if (k == of->nids) {
		snprintf(err, errlen, "its chunks hold fewer bytes than its "
		    "size");
		return 1;
	}
	if (!lens_get(m, of->ids[k], &len)) {
		if ((rc = chunks_fetch(m, of, k, err, errlen)) != 0)
			return rc;
		if (!lens_get(m, of->ids[k], &len))
			len = (uint32_t)cache_get(&m->cache, CE_DATA,
			    of->ids[k])->len;	/* the length map is full */
	}
	if (len > of->datalen - of->starts[k]) {
		snprintf(err, errlen, "its chunks hold more bytes than its "
		    "size");
		return 1;
	}
	of->starts[k + 1] = of->starts[k] + len;
	of->nsized++;
	return 0;
}

/*
 * Copy up to n bytes of of's data (the chunks, holes left out) at data
 * offset d into buf.  The number copied (> 0); or 0 with err set: 1
 * (damaged) or -1 (the session failed) in *why.
 */
static size_t
data_read(struct mnt *m, struct ofile *of, uint64_t d, char *buf, size_t n,
    int *why, char *err, size_t errlen)
{
	struct centry *e;
	uint64_t lo, hi, mid, i, at;
	int rc;

	/* Learn offsets forward until d is inside a known chunk. */
	while (d >= of->starts[of->nsized])
		if ((rc = learn_next(m, of, err, errlen)) != 0) {
			*why = rc;
			return 0;
		}
	/* The last chunk that starts at or before d. */
	lo = 0;
	hi = of->nsized;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (of->starts[mid] <= d)
			lo = mid;
		else
			hi = mid;
	}
	i = lo;
	if ((e = cache_get(&m->cache, CE_DATA, of->ids[i])) == NULL) {
		if ((rc = chunks_fetch(m, of, i, err, errlen)) != 0) {
			*why = rc;
			return 0;
		}
		e = cache_get(&m->cache, CE_DATA, of->ids[i]);
	}
	if (e->len != of->starts[i + 1] - of->starts[i]) {
		snprintf(err, errlen, "chunk %llu changed length",
		    (unsigned long long)i);
		*why = 1;
		return 0;
	}
	at = d - of->starts[i];
	if (n > e->len - at)
		n = e->len - at;
	memcpy(buf, e->body + at, n);
	return n;
}

/* The first of of's holes that ends after pos (nholes when none does). */
static uint32_t
hole_after(const struct ofile *of, uint64_t pos)
{
	const struct node_hole *h = of->nd.holes;
	uint32_t lo = 0, hi = of->nd.nholes, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (h[mid].off + h[mid].len <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
mnt_open(const char *path, struct fuse_file_info *fi)
{
	struct mnt *m = mnt_get();
	struct ofile *of;
	struct res r;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if ((rc = resolve(m, path, &r)) != 0)
		return rc;
	if (r.kind != R_NODE)
		return -EISDIR;
	if (r.nd->type != NODE_FILE)
		return r.nd->type == NODE_DIR ? -EISDIR : -EACCES;
	if ((of = ofile_new(m, r.nd, path, &rc)) == NULL)
		return rc;
	fi->fh = (uint64_t)(uintptr_t)of;
	fi->keep_cache = 1;	/* a snapshot does not change */
	return 0;
}

static int
mnt_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct mnt *m = mnt_get();
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	const struct node_hole *h = of->nd.holes;
	uint32_t nh = of->nd.nholes, lo;
	uint64_t pos, end, seg;
	size_t done = 0, got;
	char err[512];
	int why, attempt = 0;

	(void)path;
	if (of->broken)
		return -EIO;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= of->nd.size || size == 0)
		return 0;
	if (size > of->nd.size - (uint64_t)off)
		size = (size_t)(of->nd.size - (uint64_t)off);
	while (done < size) {
		pos = (uint64_t)off + done;
		lo = hole_after(of, pos);
		if (lo < nh && h[lo].off <= pos) {
			seg = h[lo].off + h[lo].len - pos;
			if (seg > size - done)
				seg = size - done;
			memset(buf + done, 0, (size_t)seg);
			done += (size_t)seg;
			continue;
		}
		end = lo < nh ? h[lo].off : of->nd.size;
		seg = end - pos;
		if (seg > size - done)
			seg = size - done;
		got = data_read(m, of, pos - of->hpre[lo], buf + done,
		    (size_t)seg, &why, err, sizeof(err));
		if (got > 0) {
			done += got;
			continue;
		}
		if (why == -1 && attempt++ == 0 && reconnect(m, err) == 0)
			continue;
		if (why == -1)
			report(path, "read failed: %s", err);
		else {
			report(path, "damaged: %s", err);
			of->broken = 1;
		}
		return -EIO;
	}
	return (int)done;
}

/* SEEK_DATA and SEEK_HOLE from the holes saved (the kernel does the rest). */
static off_t
mnt_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	const struct node_hole *h = of->nd.holes;
	uint64_t pos = (uint64_t)off;
	uint32_t k;

	(void)path;
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (off < 0 || pos >= of->nd.size)
		return -ENXIO;
	k = hole_after(of, pos);
	if (whence == SEEK_HOLE)	/* the end of the file counts as one */
		return (off_t)(k < of->nd.nholes && h[k].off > pos ? h[k].off :
		    k < of->nd.nholes ? pos : of->nd.size);
	/* Past this hole and any that follow it at once. */
	for (; k < of->nd.nholes && h[k].off <= pos; k++)
		pos = h[k].off + h[k].len;
	return pos < of->nd.size ? (off_t)pos : -ENXIO;
}

static int
mnt_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	ofile_free((struct ofile *)(uintptr_t)fi->fh);
	return 0;
}

static void *
mnt_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* What the kernel may keep: nothing in a snapshot changes. */
	cfg->kernel_cache = 1;
	cfg->entry_timeout = MOUNT_TIMEOUT_S;
	cfg->attr_timeout = MOUNT_TIMEOUT_S;
	cfg->negative_timeout = 1.0;
	cfg->use_ino = 1;	/* st_ino from getattr: hard links share one */
	/* ACLs as stored (system.posix_acl_*), checked by the kernel. */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	return fuse_get_context()->private_data;
}

static const struct fuse_operations mnt_ops = {
	.init = mnt_init,
	.getattr = mnt_getattr,
	.readlink = mnt_readlink,
	.readdir = mnt_readdir,
	.open = mnt_open,
	.read = mnt_read,
	.release = mnt_release,
	.lseek = mnt_lseek,
	.getxattr = mnt_getxattr,
	.listxattr = mnt_listxattr,
};

/* ---------------------------------------------------------------- command */

int
cmd_mount(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		CLIENT_STRICT_OPT,
		{ NULL, 0, NULL, 0 }
	};
	char *fargv[] = { "gigavault", "-o", "ro,default_permissions,"
	    "fsname=gigavault,subtype=gigavault", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se;
	struct fuse *f;
	struct stat sb;
	struct mnt m;
	char *mp;
	int ch, rc = EXIT_ERROR, loop;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1)
		if (!client_opt(c, ch, optarg))
			return client_usage(c);
	if (optind != argc - 1)
		return client_usage(c);
	/* (fusermount3, set-uid, opens it for a user who may not.) */
	if (access("/dev/fuse", F_OK) == -1) {
		warnx("mount: /dev/fuse: %s (FUSE is needed: load the fuse "
		    "module, or give this container the device)",
		    strerror(errno));
		return EXIT_ERROR;
	}
	/* Absolute: fusermount3 and /proc/mounts name it so. */
	if ((mp = realpath(argv[optind], NULL)) == NULL) {
		warnx("mount: %s: %s", argv[optind], strerror(errno));
		return EXIT_ERROR;
	}
	memset(&m, 0, sizeof(m));
	if (stat(mp, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		warnx("mount: %s: not a directory", mp);
		goto out;
	}
	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1)
		goto out;

	m.c = c;
	m.rk.r = c->remote;
	m.rk.k = &c->keys;
	client_tree_src(&m.rk, &m.src);
	m.uid = getuid();
	m.gid = getgid();
	m.started = time(NULL);
	if (c->set != NULL && (m.set = strdup(c->set)) == NULL)
		goto oom;
	if (relist(&m) == -1)
		goto out;
	if ((c->set ? chain_check(c, c->set, m.snaps, m.nsnaps) :
	    chain_check_all(c, m.snaps, m.nsnaps)) == -1)
		goto out;
	/* One set only: show it flat (see the top of this file). */
	if (m.set == NULL && m.nsnaps == 0 &&
	    (m.set = strdup(client_set(c))) == NULL)
		goto oom;
	if (m.set == NULL) {
		size_t i;

		for (i = 1; i < m.nsnaps && strcmp(m.snaps[i].set,
		    m.snaps[0].set) == 0; i++)
			;
		if (i == m.nsnaps && (m.set = strdup(m.snaps[0].set)) == NULL)
			goto oom;
	}

	if ((f = fuse_new(&args, &mnt_ops, sizeof(mnt_ops), &m)) == NULL) {
		warnx("mount: cannot set up FUSE");
		goto out;
	}
	if (fuse_mount(f, mp) != 0) {
		warnx("mount: cannot mount on %s (is fusermount3 installed, "
		    "and may this user mount?)", mp);
		fuse_destroy(f);
		goto out;
	}
	se = fuse_get_session(f);
	if (fuse_set_signal_handlers(se) != 0) {
		warnx("mount: cannot catch signals");
		fuse_unmount(f);
		fuse_destroy(f);
		goto out;
	}
	fprintf(stderr, "gigavault: %zu snapshot%s mounted on %s; unmount "
	    "with \"fusermount3 -u %s\" or Ctrl-C\n", m.nsnaps,
	    m.nsnaps == 1 ? "" : "s", mp, mp);
	/*
	 * Single-threaded: one session.  The loop returns 0 when the file
	 * system was unmounted, the signal's number after SIGINT, SIGTERM
	 * or SIGHUP (both clean ends), or -errno.
	 */
	loop = fuse_loop(f);
	fuse_remove_signal_handlers(se);
	fuse_unmount(f);
	fuse_destroy(f);
	if (loop < 0)
		warnx("mount: reading FUSE requests: %s", strerror(-loop));
	rc = loop < 0 ? EXIT_ERROR : 0;
	goto out;
oom:
	warnx("mount: out of memory");
out:
	fuse_opt_free_args(&args);
	client_rk_free(&m.rk);
	cache_clear(&m.cache);
	lens_free(&m);
	free(m.snaps);
	free(m.names);
	free(m.set);
	free(mp);
	return rc;
}
