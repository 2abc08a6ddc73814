/*
 * restore.c - write a snapshot under a target directory.  See restore.h.
 *
 * Every create, open and link is made relative to a directory fd that we
 * opened ourselves with O_NOFOLLOW|O_DIRECTORY, with a name that
 * tree_decode() has checked to be one plain component.  So the snapshot
 * cannot name a path outside the target, and a symlink it contains (or
 * one already in the target) is never followed: restoring "a" as a
 * symlink and then "a/x" cannot happen (names are unique per directory,
 * and an existing symlink "a" fails the O_NOFOLLOW open).
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>
#include <getopt.h>

#include "common/wire.h"
#include "blob.h"
#include "chain.h"
#include "chunker.h"
#include "client.h"
#include "fsmeta.h"
#include "pattern.h"
#include "remote.h"
#include "restore.h"
#include "tree.h"

#define OPEN_FILES_MAX	256		/* files written at once */
#define CHOOSE_DEPTH_MAX 4096		/* nested directories, choosing */

struct hardlink {
	uint64_t	 dev, inode;	/* in the snapshot */
	char		*relpath;	/* from the target, of the first copy */
	dev_t		 tdev;		/* the first copy in the target: */
	ino_t		 tino;		/* a later link goes to it only */
};

/* An entry whose immutable or append-only flag waits for the end. */
struct lateflag {
	char		*relpath;	/* from the target */
	uint32_t	 flags;
};

#define META_NAMED	10	/* files named per kind of metadata not set */

/* What the threads share about metadata (see meta_problem()). */
struct rmeta {
	pthread_mutex_t	 mu;
	uint64_t	 unset[2];	/* files: xattrs, inode flags not set */
	struct lateflag	*late;
	size_t		 nlate, caplate;
};

struct rctx {
	struct remote	*r;
	const struct keys *k;
	const struct restore_opts *o;
	struct restore_stats *st;
	int		 targetfd;
	int		 is_root;
	struct hardlink	*hl;
	size_t		 nhl, caphl;
	char		*err;		/* set on a fatal error */
	size_t		 errlen;
	int		 fatal;
	struct rmeta	*meta;		/* shared by all threads */
	/* Parallel restore (see parallel_entries()). */
	struct rshared	*sh;		/* NULL when restoring alone */
	const struct node *cur_dir;	/* the directory being filled */
	int		 cur_made;	/* ... made by this restore */
	/* The progress line (NULL: none), and what this thread told it. */
	struct rprog	*pg;
	uint64_t	 pg_files, pg_bytes;
	/* Choosing (restore_chosen()): the paths asked for, normalized. */
	char		**want;
	int		*seen;		/* 1: there, 2: excluded, 0: neither */
	int		*beyond;	/* something below --strip-components */
	int		 nwant;
	int		 beyond_all;	/* the same, no paths asked for */
};

/* The progress line of a restore, shared by its threads. */
struct rprog {
	pthread_mutex_t	 mu;
	struct client_progress *line;
	uint64_t	 files, bytes;
	uint64_t	 total;		/* bytes to restore, 0: not known */
};

/* A hard-linked file put off until the parallel part is over. */
struct deferred {
	struct node	 n;		/* deep copy: name, chunks */
	struct node	 parent;	/* metadata of its directory only */
	int		 parent_made;	/* made by this restore */
	char		*path;		/* of the file, from the target */
	char		*parentpath;
};

static void
deferred_free(struct deferred *d)
{
	tree_node_free(&d->n);		/* its own copy (target NULL) */
	free(d->path);
	free(d->parentpath);
}

/* What the threads of a parallel restore share. */
struct rshared {
	pthread_mutex_t	 mu;
	struct remote	*main;		/* the caller's session (not closed) */
	const struct tree *t;		/* the directory split among them */
	const char	*dirpath;
	int		 dirfd;
	uint32_t	 next;		/* next entry of t to take */
	struct deferred	*def;
	size_t		 ndef, capdef;
};

/* A file being written: where its chunks go. */
struct wfile {
	const struct node *n;
	char		*relpath;
	int		 dirfd;
	int		 fd;
	uint64_t	 next;		/* next chunk expected */
	uint64_t	 total;		/* chunks asked for */
	int		 damaged;
	uint64_t	 pos;		/* where the next data byte goes */
	uint64_t	 end;		/* the file's length so far */
	uint32_t	 hole;		/* next of n->holes */
	size_t		 bs;		/* --sparse: block size, else 0 */
};

static void
problem(struct rctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct rctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	flockfile(stderr);	/* one line, even with threads */
	if (c->pg != NULL)
		fputs(client_progress_clear(c->pg->line), stderr);
	fputs("gigavault: ", stderr);
	client_putsafe(stderr, *path ? path : "/");
	fputs(": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	c->st->problems++;
}

static void
fatal_error(struct rctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fatal_error(struct rctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->fatal)
		return;
	c->fatal = 1;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
}

/*
 * Add what this thread restored since it last did so to the progress
 * line, and show the line when it is due.
 */
static void
progress_tick(struct rctx *c)
{
	struct rprog *p = c->pg;
	uint64_t files = c->st->files + c->st->links;
	char b[32], r[32], tot[32], eta[96] = "";
	double t, rate;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->files += files - c->pg_files;
	p->bytes += c->st->bytes - c->pg_bytes;
	c->pg_files = files;
	c->pg_bytes = c->st->bytes;
	if (client_progress_due(p->line, 0)) {
		t = client_progress_elapsed(p->line);
		rate = t > 0 ? (double)p->bytes / t : 0;
		client_fmt_bytes((double)p->bytes, b, sizeof(b));
		client_fmt_bytes(rate, r, sizeof(r));
		if (p->total >= p->bytes && rate > 0) {
			double left = (double)(p->total - p->bytes) / rate;

			client_fmt_bytes((double)p->total, tot, sizeof(tot));
			snprintf(eta, sizeof(eta), " of %s, ETA %d:%02d", tot,
			    (int)left / 60, (int)left % 60);
		}
		flockfile(stderr);
		client_progress_print(p->line, 0, "%llu files, %s%s, "
		    "%s/s", (unsigned long long)p->files, b, eta, r);
		funlockfile(stderr);
	}
	pthread_mutex_unlock(&p->mu);
}

/* A file (or other non-directory) restored: count it; with -v, name it. */
static void
restored(struct rctx *c, const char *path)
{
	c->st->files++;
	progress_tick(c);
	if (!c->o->verbose)
		return;
	flockfile(stdout);	/* one line, even with threads */
	client_putsafe(stdout, path);
	putchar('\n');
	funlockfile(stdout);
}

/* ---------------------------------------------------------------- trees */

/*
 * Fetch and read directory id (every page, each blob's links checked;
 * its files' chunk lists are read when each file is written).  Returns 0, or -1 (problem reported, or fatal
 * error set when the connection failed).
 */
static int
fetch_tree(struct rctx *c, const uint8_t id[BLOB_ID_LEN], struct tree *t,
    const char *path)
{
	struct client_rk rk = { c->r, c->k, NULL };
	struct tree_src src;
	char err[512];
	int rc;

	client_tree_src(&rk, &src);
	rc = tree_load(&src, id, t, err, sizeof(err));
	client_rk_free(&rk);
	if (rc == -1) {
		fatal_error(c, "%s", err);
		return -1;
	}
	if (rc == 1) {
		problem(c, path, "directory not restored: %s", err);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- metadata */

static void
set_times(struct timespec ts[2], const struct node *n)
{
	ts[0].tv_sec = n->atime_sec;
	ts[0].tv_nsec = n->atime_nsec;
	ts[1].tv_sec = n->mtime_sec;
	ts[1].tv_nsec = n->mtime_nsec;
}

/*
 * Extended attributes (kind 0) or inode flags (kind 1) of path could not
 * be set: a problem (exit 1), named for the first META_NAMED files of
 * each kind, counted after (restore_snapshot() says how many more).
 */
static void
meta_problem(struct rctx *c, int kind, const char *path, const char *why)
{
	uint64_t k;

	pthread_mutex_lock(&c->meta->mu);
	k = c->meta->unset[kind]++;
	pthread_mutex_unlock(&c->meta->mu);
	if (k < META_NAMED)
		problem(c, path, "cannot set %s %s", kind == 0 ?
		    "extended attributes" : "inode flags", why);
	else
		c->st->problems++;
}

/* The xattrs of n on fd, or (fd -1) on the entry n->name of dirfd. */
static void
apply_xattrs(struct rctx *c, int fd, int dirfd, const struct node *n,
    const char *path)
{
	char why[512];

	if (n->nxattrs > 0 && fsmeta_xattrs_apply(fd, dirfd, n, why,
	    sizeof(why)) > 0)
		meta_problem(c, 0, path, why);
}

/*
 * The inode flags of n on fd: now, but for immutable and append-only,
 * which are set by set_late_flags() once everything else is in place
 * (an immutable directory takes no new entries, an immutable file no
 * link).
 */
static void
apply_iflags(struct rctx *c, int fd, const struct node *n, const char *path)
{
	struct lateflag *l;
	char why[128];
	size_t cap;

	/*
	 * Always: a new file takes flags from its directory (nodump, sync,
	 * noatime...), which the snapshot may not have; none to set on a
	 * file system without flags is no problem.
	 */
	if (fsmeta_set_iflags(fd, n->iflags & ~FSMETA_IFLAGS_LATE) == -1 &&
	    ((n->iflags & ~FSMETA_IFLAGS_LATE) != 0 || (errno != ENOTTY &&
	    errno != EOPNOTSUPP && errno != EINVAL))) {
		snprintf(why, sizeof(why), "%#x: %s", n->iflags &
		    ~FSMETA_IFLAGS_LATE, strerror(errno));
		meta_problem(c, 1, path, why);
	}
	if ((n->iflags & FSMETA_IFLAGS_LATE) == 0)
		return;
	pthread_mutex_lock(&c->meta->mu);
	if (c->meta->nlate == c->meta->caplate) {
		cap = c->meta->caplate ? 2 * c->meta->caplate : 16;
		if ((l = reallocarray(c->meta->late, cap, sizeof(*l))) ==
		    NULL) {
			pthread_mutex_unlock(&c->meta->mu);
			fatal_error(c, "out of memory");
			return;
		}
		c->meta->late = l;
		c->meta->caplate = cap;
	}
	l = &c->meta->late[c->meta->nlate];
	if ((l->relpath = strdup(path)) != NULL) {
		l->flags = n->iflags;
		c->meta->nlate++;
	}
	cap = l->relpath == NULL;
	pthread_mutex_unlock(&c->meta->mu);
	if (cap)
		fatal_error(c, "out of memory");
}

/*
 * Owner, extended attributes (ACLs, capabilities: after the owner, which
 * clears capabilities, and after the content, whose writing does too),
 * mode, times and inode flags of an open file or directory.
 */
static void
apply_meta_fd(struct rctx *c, int fd, const struct node *n, const char *path)
{
	struct timespec ts[2];

	if (c->is_root && fchown(fd, n->uid, n->gid) == -1)
		problem(c, path, "cannot set owner: %s", strerror(errno));
	/* ACLs the target's directories gave it, and the snapshot has not. */
	if (fsmeta_acls_drop(fd, n) == -1)
		meta_problem(c, 0, path, strerror(errno));
	apply_xattrs(c, fd, -1, n, path);
	if (fchmod(fd, n->mode & 07777) == -1)
		problem(c, path, "cannot set mode: %s", strerror(errno));
	set_times(ts, n);
	if (futimens(fd, ts) == -1)
		problem(c, path, "cannot set times: %s", strerror(errno));
	apply_iflags(c, fd, n, path);
}

/*
 * Owner, extended attributes and times of a symlink or special file,
 * without following it.
 */
static void
apply_meta_at(struct rctx *c, int dirfd, const struct node *n,
    const char *path)
{
	struct timespec ts[2];

	if (c->is_root && fchownat(dirfd, n->name, n->uid, n->gid,
	    AT_SYMLINK_NOFOLLOW) == -1)
		problem(c, path, "cannot set owner: %s", strerror(errno));
	apply_xattrs(c, -1, dirfd, n, path);
	if (n->type != NODE_SYMLINK && fchmodat(dirfd, n->name,
	    n->mode & 07777, 0) == -1)
		problem(c, path, "cannot set mode: %s", strerror(errno));
	set_times(ts, n);
	if (utimensat(dirfd, n->name, ts, AT_SYMLINK_NOFOLLOW) == -1)
		problem(c, path, "cannot set times: %s", strerror(errno));
}

/*
 * The file sb (about to be, or just) removed from the target: when it
 * is the first copy of a group of hard links, later names of the group
 * must not link to whatever takes its name (with --strip-components two
 * snapshot paths can land on one target path; its inode number may even
 * be reused for the new file).
 */
static void
hardlink_gone(struct rctx *c, const struct stat *sb)
{
	for (size_t i = 0; i < c->nhl; i++)
		if (c->hl[i].tino == sb->st_ino && c->hl[i].tdev ==
		    sb->st_dev && c->hl[i].relpath != NULL) {
			c->hl[i].tdev = 0;
			c->hl[i].tino = 0;	/* hardlink_intact(): no */
		}
}

/*
 * Make room for a new non-directory entry called name: nothing there, or
 * (with --overwrite) something we may remove.  Returns 0 or -1 (reported).
 */
static int
make_room(struct rctx *c, int dirfd, const char *name, const char *path)
{
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (!c->o->overwrite) {
		problem(c, path, "exists; not overwritten (use --overwrite)");
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		problem(c, path, "is a directory; not replaced");
		return -1;
	}
	if (unlinkat(dirfd, name, 0) == -1) {
		problem(c, path, "cannot replace: %s", strerror(errno));
		return -1;
	}
	hardlink_gone(c, &sb);
	return 0;
}

/* ---------------------------------------------------------------- files */

static struct hardlink *
hardlink_find(struct rctx *c, const struct node *n)
{
	for (size_t i = 0; i < c->nhl; i++)
		if (c->hl[i].dev == n->dev && c->hl[i].inode == n->inode)
			return &c->hl[i];
	return NULL;
}

/*
 * Whether h's first copy is still the file at h->relpath: a later entry
 * (two snapshot paths stripped to one target path, with --overwrite)
 * may have replaced it, and a link to the replacement would give this
 * name another file's content.
 */
static int
hardlink_intact(struct rctx *c, const struct hardlink *h)
{
	struct stat sb;

	return h->tino != 0 && fstatat(c->targetfd, h->relpath + 1, &sb,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_dev == h->tdev && sb.st_ino == h->tino;
}

/*
 * n's copy at relpath (open as fd) is the one later names link to: a
 * new entry, or h's when h's first copy was replaced.
 */
static void
hardlink_remember(struct rctx *c, const struct node *n, const char *relpath,
    int fd, struct hardlink *h)
{
	struct stat sb;
	char *p;

	if (fstat(fd, &sb) == -1 || (p = strdup(relpath)) == NULL)
		return;		/* the next link becomes a copy */
	if (h == NULL) {
		if (c->nhl == c->caphl) {
			size_t cap = c->caphl ? c->caphl * 2 : 64;
			struct hardlink *q = reallocarray(c->hl, cap,
			    sizeof(*q));

			if (q == NULL) {
				free(p);
				return;
			}
			c->hl = q;
			c->caphl = cap;
		}
		h = &c->hl[c->nhl++];
		h->dev = n->dev;
		h->inode = n->inode;
	} else
		free(h->relpath);
	h->relpath = p;
	h->tdev = sb.st_dev;
	h->tino = sb.st_ino;
}

/* len bytes at p to fd at off, all of them.  0, or -1 with errno. */
static int
pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	ssize_t k;

	while (len > 0) {
		k = pwrite(fd, p, len, (off_t)off);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		p += k;
		len -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* Whether len bytes at p are all zero. */
static int
all_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/*
 * len bytes of data at w->pos, or with --sparse (w->bs) its runs of
 * zeros that fill whole aligned blocks left out (they read as zeros once
 * the file has its length: wfile_end()).  0, or -1 with errno.
 */
static int
put_data(struct wfile *w, const uint8_t *p, size_t len)
{
	size_t i = 0, from = 0, j;
	uint64_t at;

	while (w->bs > 0 && i < len) {
		at = w->pos + i;
		j = i + (size_t)(w->bs - at % w->bs);
		if (j > len)
			j = len;
		if (at % w->bs == 0 && j - i == w->bs && all_zero(p + i,
		    w->bs)) {
			if (i > from && pwrite_all(w->fd, p + from, i - from,
			    w->pos + from) == -1)
				return -1;
			from = j;
		}
		i = j;
	}
	if (len > from && pwrite_all(w->fd, p + from, len - from,
	    w->pos + from) == -1)
		return -1;
	if (len > from && w->pos + len > w->end)
		w->end = w->pos + len;
	w->pos += len;
	return 0;
}

/*
 * The next len bytes of w's data (its chunks, in order): written at
 * their place in the file, past the holes of w->n (not written: they
 * stay holes).  0, or -1 with errno.
 */
static int
wfile_put(struct wfile *w, const uint8_t *p, size_t len)
{
	const struct node *n = w->n;
	size_t k;

	while (len > 0) {
		if (w->pos >= n->size || len > n->size - w->pos) {
			/* A damaged tree: never write past its size. */
			errno = EFBIG;
			return -1;
		}
		while (w->hole < n->nholes && n->holes[w->hole].off == w->pos)
			w->pos += n->holes[w->hole++].len;
		k = len;
		if (w->hole < n->nholes && n->holes[w->hole].off > w->pos &&
		    n->holes[w->hole].off - w->pos < k)
			k = (size_t)(n->holes[w->hole].off - w->pos);
		if (put_data(w, p, k) == -1)
			return -1;
		p += k;
		len -= k;
	}
	return 0;
}

/*
 * All of w's data is written: past its last holes, the file gets its
 * length (a hole at its end, or zeros left out by --sparse).  0, or -1
 * with errno.
 */
static int
wfile_end(struct wfile *w)
{
	while (w->hole < w->n->nholes && w->n->holes[w->hole].off == w->pos)
		w->pos += w->n->holes[w->hole++].len;
	if (w->end < w->pos && ftruncate(w->fd, (off_t)w->pos) == -1)
		return -1;
	return 0;
}

struct chunk_fetch {
	struct rctx	*c;
	struct wfile	*files;
	uint32_t	*which;		/* file index of each requested id */
	size_t		 i;		/* blobs received so far */
};

static int
chunk_cb(void *arg, const uint8_t *id, const uint8_t *blob, size_t len,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks)
{
	struct chunk_fetch *f = arg;
	struct wfile *w = &f->files[f->which[f->i++]];
	char why[160];
	uint8_t *body;
	size_t bodylen, done = 0;

	(void)links;
	(void)nlinks;
	if (w->damaged)
		return 0;
	if (blob == NULL) {
		problem(f->c, w->relpath, "chunk %llu not available from the "
		    "server (missing or damaged there)",
		    (unsigned long long)w->next);
		w->damaged = 1;
		return 0;
	}
	if (blob_open(f->c->k, BLOB_DATA, id, blob, len, CHUNK_MAX, &body,
	    &bodylen, why, sizeof(why)) == -1) {
		problem(f->c, w->relpath, "chunk %llu damaged: %s",
		    (unsigned long long)w->next, why);
		w->damaged = 1;
		return 0;
	}
	if (wfile_put(w, body, bodylen) == -1) {
		if (errno == EFBIG)
			problem(f->c, w->relpath, "not restored: its chunks "
			    "hold more bytes than its size (%llu)",
			    (unsigned long long)w->n->size);
		else
			problem(f->c, w->relpath, "write: %s",
			    strerror(errno));
		w->damaged = 1;
	} else
		done = bodylen;
	f->c->st->bytes += done;
	free(body);
	w->next++;
	return 0;
}

/* GET one batch of chunk ids; chunk_cb() writes each into its file. */
static void
fetch_chunks(struct rctx *c, struct wfile *files,
    const uint8_t (*ids)[BLOB_ID_LEN], uint32_t *which, size_t nid)
{
	struct chunk_fetch cf = { c, files, which, 0 };
	char err[256];

	if (remote_get(c->r, ids, nid, chunk_cb, &cf, err, sizeof(err)) != 0)
		fatal_error(c, "%s", err);
	progress_tick(c);	/* a large file shows too */
}

/*
 * Fetch the chunks of files[0..n) and write them; then finish each file.
 * A file's chunk lists are read as its chunks are asked for, one list
 * at a time: a bad list spoils that file only.
 */
static void
write_files(struct rctx *c, struct wfile *files, size_t n)
{
	uint8_t (*ids)[BLOB_ID_LEN] = calloc(WIRE_BATCH_MAX, sizeof(*ids));
	uint32_t *which = calloc(WIRE_BATCH_MAX, sizeof(*which));
	struct client_rk rk = { c->r, c->k, NULL };
	struct tree_chunks tc;
	struct tree_src src;
	size_t nid = 0;
	char err[512];
	int rc;

	if (ids == NULL || which == NULL)
		fatal_error(c, "out of memory");
	client_tree_src(&rk, &src);
	for (size_t f = 0; f < n && !c->fatal; f++) {
		tree_chunks_init(&tc, &src, files[f].n);
		while (!c->fatal) {
			if (nid == WIRE_BATCH_MAX) {
				fetch_chunks(c, files,
				    (const uint8_t (*)[BLOB_ID_LEN])ids, which,
				    nid);
				nid = 0;
				if (c->fatal)
					break;
			}
			rc = tree_chunks_next(&tc, ids[nid], err, sizeof(err));
			if (rc == 2)
				break;
			if (rc == -1) {
				fatal_error(c, "%s", err);
				break;
			}
			if (rc == 1) {
				problem(c, files[f].relpath, "not restored: "
				    "%s", err);
				files[f].damaged = 1;
				break;
			}
			which[nid++] = (uint32_t)f;
			files[f].total++;
		}
		tree_chunks_free(&tc);
	}
	client_rk_free(&rk);
	if (nid > 0 && !c->fatal)
		fetch_chunks(c, files, (const uint8_t (*)[BLOB_ID_LEN])ids,
		    which, nid);

	for (size_t f = 0; f < n; f++) {
		struct wfile *w = &files[f];

		if (!c->fatal && !w->damaged && w->next == w->total &&
		    wfile_end(w) == -1) {
			problem(c, w->relpath, "cannot set its length: %s",
			    strerror(errno));
			w->damaged = 1;
		}
		if (!c->fatal && !w->damaged && w->next == w->total &&
		    w->pos != w->n->size) {
			problem(c, w->relpath, "not restored: its chunks and "
			    "holes make %llu bytes, its size is %llu",
			    (unsigned long long)w->pos,
			    (unsigned long long)w->n->size);
			w->damaged = 1;
		}
		if (!c->fatal && !w->damaged && w->next == w->total) {
			apply_meta_fd(c, w->fd, w->n, w->relpath);
			restored(c, w->relpath);
		} else if (!c->fatal) {
			/* Never leave a file with wrong contents behind. */
			struct stat sb;

			if (fstat(w->fd, &sb) == 0)
				hardlink_gone(c, &sb);
			unlinkat(w->dirfd, w->n->name, 0);
		}
		close(w->fd);
		free(w->relpath);
	}
	free(ids);
	free(which);
}

/* ---------------------------------------------------------------- entries */

static void	restore_node(struct rctx *, int dirfd, const char *dirpath,
		    const struct node *, struct wfile *files, size_t *nfiles);

/*
 * Open (creating when missing) the directory name under dirfd, safely;
 * *made is 1 when this made it, 0 when it was there.
 */
static int
open_dir(struct rctx *c, int dirfd, const char *name, const char *path,
    int *made)
{
	int fd;

	*made = mkdirat(dirfd, name, 0700) == 0;
	if (!*made && errno != EEXIST) {
		problem(c, path, "cannot create directory: %s", strerror(errno));
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		problem(c, path, "not restored: %s", errno == ELOOP ||
		    errno == ENOTDIR ? "a non-directory is in the way" :
		    strerror(errno));
	return fd;
}

/*
 * Restore the entries of t into dirfd (whose path is dirpath): all of
 * them, or all but the subdirectories (skip_dirs).
 */
static void
restore_entries(struct rctx *c, int dirfd, const char *dirpath,
    const struct tree *t, int skip_dirs)
{
	struct wfile *files;
	size_t nfiles = 0;

	if ((files = calloc(OPEN_FILES_MAX, sizeof(*files))) == NULL) {
		fatal_error(c, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < t->n && !c->fatal; i++) {
		if (skip_dirs && t->nodes[i].type == NODE_DIR)
			continue;
		restore_node(c, dirfd, dirpath, &t->nodes[i], files, &nfiles);
		if (nfiles == OPEN_FILES_MAX) {
			write_files(c, files, nfiles);
			nfiles = 0;
		}
	}
	if (nfiles > 0)
		write_files(c, files, nfiles);
	free(files);
}

/*
 * A directory's metadata at the end of its restore: a directory this
 * restore made gets the snapshot's, one that was there keeps its own
 * (owner, mode, times, ACLs, flags) unless o->overwrite.
 */
static void
dir_meta(struct rctx *c, int fd, const struct node *n, const char *path,
    int made)
{
	if (made || c->o->overwrite)
		apply_meta_fd(c, fd, n, path);
}

static void
restore_dir_node(struct rctx *c, int dirfd, const struct node *n,
    const char *path)
{
	struct tree sub;
	int fd, made;

	const struct node *outer = c->cur_dir;
	int outer_made = c->cur_made;

	if ((fd = open_dir(c, dirfd, n->name, path, &made)) == -1)
		return;
	if (fetch_tree(c, n->subtree, &sub, path) == 0) {
		c->cur_dir = n;
		c->cur_made = made;
		restore_entries(c, fd, path, &sub, 0);
		c->cur_dir = outer;
		c->cur_made = outer_made;
		tree_free(&sub);
	}
	if (!c->fatal) {
		dir_meta(c, fd, n, path, made);
		c->st->dirs++;
	}
	close(fd);
}

/*
 * In a parallel restore, a file with more than one link waits: which
 * thread reaches an inode's first name is chance, and links must come
 * out the same every time.  parallel_entries() restores these after
 * the threads are done, alone, then puts their directories' times back.
 */
static void
defer(struct rctx *c, const struct node *n, const char *path)
{
	struct rshared *sh = c->sh;
	struct deferred d;
	const char *slash = strrchr(path, '/');

	memset(&d, 0, sizeof(d));
	d.n = *n;
	d.n.name = strdup(n->name);
	d.n.target = NULL;
	d.n.chunks = n->nchunks ? calloc(n->nchunks, BLOB_ID_LEN) : NULL;
	d.n.xattrs = NULL;
	d.n.nxattrs = 0;
	d.n.holes = NULL;
	d.n.nholes = 0;
	d.parent = *c->cur_dir;
	d.parent_made = c->cur_made;
	d.parent.name = NULL;
	d.parent.target = NULL;
	d.parent.chunks = NULL;
	/* Its directory: times only (all else is set already). */
	d.parent.xattrs = NULL;
	d.parent.nxattrs = 0;
	d.parent.holes = NULL;
	d.parent.nholes = 0;
	d.parent.iflags = 0;
	if (tree_node_meta_copy(&d.n, n) == -1)
		goto oom;
	d.path = strdup(path);
	d.parentpath = strndup(path, (size_t)(slash - path));
	if (d.n.name == NULL || (n->nchunks && d.n.chunks == NULL) ||
	    d.path == NULL || d.parentpath == NULL)
		goto oom;
	if (n->nchunks)
		memcpy(d.n.chunks, n->chunks, (size_t)n->nchunks * BLOB_ID_LEN);
	pthread_mutex_lock(&sh->mu);
	if (sh->ndef == sh->capdef) {
		size_t cap = sh->capdef ? sh->capdef * 2 : 64;
		struct deferred *p = reallocarray(sh->def, cap, sizeof(*p));

		if (p == NULL) {
			pthread_mutex_unlock(&sh->mu);
			goto oom;
		}
		sh->def = p;
		sh->capdef = cap;
	}
	sh->def[sh->ndef++] = d;
	pthread_mutex_unlock(&sh->mu);
	return;
oom:
	deferred_free(&d);
	fatal_error(c, "out of memory");
}

static void
restore_file_node(struct rctx *c, int dirfd, const struct node *n,
    const char *path, struct wfile *files, size_t *nfiles)
{
	struct hardlink *h = NULL;
	struct stat sb;
	int fd;

	if (c->sh != NULL && n->nlink > 1 && c->cur_dir != NULL) {
		defer(c, n, path);
		return;
	}
	if (make_room(c, dirfd, n->name, path) == -1)
		return;
	if (n->nlink > 1 && (h = hardlink_find(c, n)) != NULL) {
		/*
		 * The first copy still waiting for its chunks is written
		 * first: when it turns out damaged it is removed, and this
		 * name must not keep its partial content as a link.
		 */
		for (size_t i = 0; i < *nfiles; i++)
			if (files[i].n->nlink > 1 && files[i].n->dev ==
			    n->dev && files[i].n->inode == n->inode) {
				write_files(c, files, *nfiles);
				*nfiles = 0;
				break;
			}
		/*
		 * Checked, then linked: nothing else writes to the target
		 * meanwhile (links are made by one thread: defer()).
		 */
		if (hardlink_intact(c, h) && linkat(c->targetfd,
		    h->relpath + 1, dirfd, n->name, 0) == 0) {
			c->st->links++;
			return;
		}
		/* Replaced, or no link: restore a copy of its own instead. */
	}
	fd = openat(dirfd, n->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		problem(c, path, "cannot create: %s", strerror(errno));
		return;
	}
	files[*nfiles] = (struct wfile){ n, strdup(path), dirfd, fd, 0, 0,
	    0, .bs = c->o->sparse ? 4096 : 0 };
	if (c->o->sparse && fstat(fd, &sb) == 0 && sb.st_blksize > 0)
		files[*nfiles].bs = (size_t)sb.st_blksize;
	if (files[*nfiles].relpath == NULL) {
		close(fd);
		fatal_error(c, "out of memory");
		return;
	}
	(*nfiles)++;
	/* Later names of this inode become links to this file. */
	if (n->nlink > 1)
		hardlink_remember(c, n, path, fd, h);
}

static void
restore_other_node(struct rctx *c, int dirfd, const struct node *n,
    const char *path)
{
	int rc;

	if (make_room(c, dirfd, n->name, path) == -1)
		return;
	switch (n->type) {
	case NODE_SYMLINK:
		rc = symlinkat(n->target, dirfd, n->name);
		break;
	case NODE_FIFO:
		rc = mkfifoat(dirfd, n->name, 0600);
		break;
	case NODE_CHR:
	case NODE_BLK:
		if (!c->is_root) {
			problem(c, path, "device files are restored by root "
			    "only");
			return;
		}
		rc = mknodat(dirfd, n->name, (n->type == NODE_CHR ? S_IFCHR :
		    S_IFBLK) | 0600, (dev_t)n->rdev);
		break;
	default:	/* NODE_SOCK: a socket is a live object, not data */
		return;
	}
	if (rc == -1) {
		problem(c, path, "cannot create: %s", strerror(errno));
		return;
	}
	apply_meta_at(c, dirfd, n, path);
	restored(c, path);
}

static void
restore_node(struct rctx *c, int dirfd, const char *dirpath,
    const struct node *n, struct wfile *files, size_t *nfiles)
{
	char *path = client_path_join(dirpath, n->name);

	if (path == NULL) {
		fatal_error(c, "out of memory");
		return;
	}
	switch (n->type) {
	case NODE_DIR:
		/* Finish pending files first: they hold open fds. */
		if (*nfiles > 0) {
			write_files(c, files, *nfiles);
			*nfiles = 0;
		}
		restore_dir_node(c, dirfd, n, path);
		break;
	case NODE_FILE:
		restore_file_node(c, dirfd, n, path, files, nfiles);
		break;
	default:
		restore_other_node(c, dirfd, n, path);
	}
	free(path);
}

/* ---------------------------------------------------------------- parallel */

/*
 * Creating files waits on the file system's metadata (500 us a file on
 * a virtual disk here, against 20 us for the writes): restore several
 * subtrees at once, each thread with its own session to the server.
 */
static void *
subtree_thread(void *arg)
{
	struct rctx *c = arg;
	struct rshared *sh = c->sh;

	for (;;) {
		const struct node *n;
		char *path;
		uint32_t i;

		pthread_mutex_lock(&sh->mu);
		i = sh->next++;
		pthread_mutex_unlock(&sh->mu);
		if (i >= sh->t->n || c->fatal)
			break;
		n = &sh->t->nodes[i];
		if (n->type != NODE_DIR)
			continue;
		if ((path = client_path_join(sh->dirpath, n->name)) == NULL) {
			fatal_error(c, "out of memory");
			break;
		}
		restore_dir_node(c, sh->dirfd, n, path);
		free(path);
	}
	/* Give the server its worker back as soon as this thread is done. */
	if (c->r != sh->main) {
		remote_close(c->r);
		c->r = NULL;
	}
	return NULL;
}

/* Open the directory at path (from the target) without following links. */
static int
open_path(struct rctx *c, const char *path)
{
	char *p = strdup(path), *comp, *save = NULL;
	int fd = dup(c->targetfd), next;

	if (p == NULL || fd == -1) {
		free(p);
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (comp = strtok_r(p, "/", &save); comp != NULL && fd != -1;
	    comp = strtok_r(NULL, "/", &save)) {
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		close(fd);
		fd = next;
	}
	free(p);
	return fd;
}

/*
 * The immutable and append-only flags, last: nothing is created in, or
 * linked to, such an entry after this.  Each entry is reached from the
 * target without following links, as everything else.
 */
static void
set_late_flags(struct rctx *c)
{
	struct rmeta *m = c->meta;
	char why[128], *slash, *parent;
	int pfd, fd;

	for (size_t i = 0; i < m->nlate; i++) {
		struct lateflag *l = &m->late[i];

		fd = -1;
		if (!c->fatal && (slash = strrchr(l->relpath, '/')) != NULL &&
		    (parent = strndup(l->relpath, (size_t)(slash -
		    l->relpath))) != NULL) {
			if ((pfd = open_path(c, parent)) != -1) {
				fd = openat(pfd, slash + 1, O_RDONLY |
				    O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				    O_CLOEXEC);
				close(pfd);
			}
			free(parent);
		}
		if (c->fatal)
			;
		else if (fd == -1)
			meta_problem(c, 1, l->relpath, "(immutable, append-only): "
			    "cannot open it again");
		else if (fsmeta_set_iflags(fd, l->flags) == -1) {
			snprintf(why, sizeof(why), "%#x: %s", l->flags,
			    strerror(errno));
			meta_problem(c, 1, l->relpath, why);
		}
		if (fd != -1)
			close(fd);
		free(l->relpath);
	}
	free(m->late);
	m->late = NULL;
	m->nlate = m->caplate = 0;
}

/* The hard-linked files the threads put off, alone and in order. */
static void
restore_deferred(struct rctx *c, struct rshared *sh)
{
	struct wfile files[1];
	struct timespec ts[2];

	for (size_t i = 0; i < sh->ndef; i++) {
		struct deferred *d = &sh->def[i];
		size_t nfiles = 0;
		int fd;

		if (!c->fatal && (fd = open_path(c, d->parentpath)) != -1) {
			restore_file_node(c, fd, &d->n, d->path, files, &nfiles);
			if (nfiles > 0)
				write_files(c, files, nfiles);
			/*
			 * Creating the file changed its directory's times,
			 * nothing else (its ACLs and flags stay as set); a
			 * directory that was there keeps its own.
			 */
			set_times(ts, &d->parent);
			if ((d->parent_made || c->o->overwrite) &&
			    futimens(fd, ts) == -1)
				problem(c, d->parentpath, "cannot set times: "
				    "%s", strerror(errno));
			close(fd);
		} else if (!c->fatal)
			problem(c, d->path, "not restored: its directory is gone");
		deferred_free(d);
	}
	free(sh->def);
}

/*
 * Restore the entries of t (in dirfd, at dirpath): the files here first,
 * then the subdirectories spread over o->threads threads.
 */
static void
parallel_entries(struct rctx *c, int dirfd, const char *dirpath,
    const struct tree *t)
{
	struct rshared sh;
	struct rctx *tc;
	struct restore_stats *tst;
	pthread_t *tid;
	uint32_t ndirs = 0;
	int n = c->o->threads, started = 0;

	for (uint32_t i = 0; i < t->n; i++)
		ndirs += t->nodes[i].type == NODE_DIR;
	if (n > (int)ndirs)
		n = (int)ndirs;
	if (n < 2 || c->o->more_session == NULL) {
		restore_entries(c, dirfd, dirpath, t, 0);
		return;
	}
	/* Everything but the subdirectories, here. */
	restore_entries(c, dirfd, dirpath, t, 1);
	if (c->fatal)
		return;

	memset(&sh, 0, sizeof(sh));
	pthread_mutex_init(&sh.mu, NULL);
	sh.main = c->r;
	sh.t = t;
	sh.dirpath = dirpath;
	sh.dirfd = dirfd;
	tc = calloc((size_t)n, sizeof(*tc));
	tst = calloc((size_t)n, sizeof(*tst));
	tid = calloc((size_t)n, sizeof(*tid));
	if (tc == NULL || tst == NULL || tid == NULL) {
		fatal_error(c, "out of memory");
		goto done;
	}
	for (int i = 0; i < n; i++) {
		char err[512];

		tc[i] = *c;
		tc[i].st = &tst[i];
		tc[i].sh = &sh;
		tc[i].hl = NULL;
		tc[i].nhl = tc[i].caphl = 0;
		tc[i].cur_dir = NULL;
		tc[i].pg_files = tc[i].pg_bytes = 0;
		if ((tc[i].err = calloc(1, c->errlen)) == NULL)
			break;
		if (i > 0 && (tc[i].r = c->o->more_session(c->o->session_arg,
		    err, sizeof(err))) == NULL) {
			/* Fewer threads then; the ones running do the rest. */
			free(tc[i].err);
			break;
		}
		if (i > 0 && pthread_create(&tid[i], NULL, subtree_thread,
		    &tc[i]) != 0) {
			remote_close(tc[i].r);
			free(tc[i].err);
			break;
		}
		started = i + 1;
	}
	if (started > 0)
		subtree_thread(&tc[0]);
	for (int i = 0; i < started; i++) {
		if (i > 0)
			pthread_join(tid[i], NULL);
		c->st->files += tst[i].files;
		c->st->dirs += tst[i].dirs;
		c->st->links += tst[i].links;
		c->st->bytes += tst[i].bytes;
		c->st->problems += tst[i].problems;
		/* What tc[i] told the progress line, c need not. */
		c->pg_files += tc[i].pg_files;
		c->pg_bytes += tc[i].pg_bytes;
		if (tc[i].fatal)
			fatal_error(c, "%s", tc[i].err);
		free(tc[i].err);
	}
	if (started == 0)	/* none could start */
		restore_entries(c, dirfd, dirpath, t, 0);
	restore_deferred(c, &sh);
done:
	pthread_mutex_destroy(&sh.mu);
	free(tc);
	free(tst);
	free(tid);
}

/*
 * The whole snapshot: go down the chain of directories that are the only
 * entry of their parent (the path components of a backed-up directory),
 * restore the first directory with more in it in parallel, then set the
 * chain's metadata on the way back up.
 */
static void
restore_all(struct rctx *c, struct tree *root)
{
	struct tree cur = *root, sub;
	struct node chain[64];
	char *paths[64];
	int fds[64], made[64], depth = 0, fd = c->targetfd, failed = 0;
	char *path = strdup("");

	while (path != NULL && depth < 64 && cur.n == 1 &&
	    cur.nodes[0].type == NODE_DIR) {
		const struct node *n = &cur.nodes[0];
		char *p = client_path_join(path, n->name);
		int nfd;

		if (p == NULL || (nfd = open_dir(c, fd, n->name, p,
		    &made[depth])) == -1) {
			free(p);
			failed = 1;	/* reported */
			break;
		}
		if (fetch_tree(c, n->subtree, &sub, p) == -1) {
			close(nfd);
			free(p);
			failed = 1;
			break;
		}
		/* Its tree goes: the chain keeps its own xattrs. */
		chain[depth] = *n;
		chain[depth].xattrs = NULL;
		chain[depth].nxattrs = 0;
		chain[depth].holes = NULL;
		chain[depth].nholes = 0;
		if (tree_node_meta_copy(&chain[depth], n) == -1) {
			tree_node_meta_free(&chain[depth]);
			close(nfd);
			free(p);
			tree_free(&sub);
			fatal_error(c, "out of memory");
			break;
		}
		paths[depth] = path;
		fds[depth] = fd;
		depth++;
		if (cur.nodes != root->nodes)
			tree_free(&cur);
		cur = sub;
		fd = nfd;
		path = p;
	}
	if (path == NULL)
		fatal_error(c, "out of memory");
	else if (!c->fatal && !failed)
		parallel_entries(c, fd, path, &cur);
	/* Back up: each chain directory gets its metadata, innermost first. */
	while (depth > 0) {
		depth--;
		if (!c->fatal) {
			dir_meta(c, fd, &chain[depth], path, made[depth]);
			c->st->dirs++;
		}
		tree_node_meta_free(&chain[depth]);
		close(fd);
		free(path);
		fd = fds[depth];
		path = paths[depth];
	}
	free(path);
	if (cur.nodes != root->nodes)
		tree_free(&cur);
}

/* ---------------------------------------------------------------- selection */

static void	restore_below(struct rctx *, int, const char *,
		    const uint8_t *, char *, const char *);

/*
 * Restore the entry at path (components separated by '/') below tree t:
 * the directories on the way are created (with their metadata), then the
 * entry itself with everything under it.
 */
static void
restore_path(struct rctx *c, int dirfd, const char *dirpath,
    const struct tree *t, char *rest, const char *wanted)
{
	char *slash, *name;
	const struct node *n;

	while (*rest == '/')
		rest++;
	if (*rest == '\0') {
		restore_entries(c, dirfd, dirpath, t, 0);
		return;
	}
	name = rest;
	if ((slash = strchr(rest, '/')) != NULL)
		*slash++ = '\0';
	else
		slash = rest + strlen(rest);
	if ((n = tree_find(t, name)) == NULL) {
		problem(c, wanted, "not in the snapshot");
		return;
	}
	while (*slash == '/')
		slash++;
	if (*slash == '\0' || n->type != NODE_DIR) {
		struct wfile *files = calloc(1, sizeof(*files));
		size_t nfiles = 0;
		char *path = client_path_join(dirpath, n->name);

		if (files == NULL || path == NULL) {
			fatal_error(c, "out of memory");
		} else if (*slash != '\0') {
			problem(c, wanted, "not in the snapshot (%s is not a "
			    "directory)", path);
		} else {
			restore_node(c, dirfd, dirpath, n, files, &nfiles);
			if (nfiles > 0)
				write_files(c, files, nfiles);
		}
		free(files);
		free(path);
		return;
	}
	/* A directory on the way: create it, descend, then its metadata. */
	{
		char *path = client_path_join(dirpath, n->name);
		int fd, made;

		if (path == NULL) {
			fatal_error(c, "out of memory");
			return;
		}
		if ((fd = open_dir(c, dirfd, n->name, path, &made)) != -1) {
			restore_below(c, fd, path, n->subtree, slash, wanted);
			if (!c->fatal)
				dir_meta(c, fd, n, path, made);
			close(fd);
		}
		free(path);
	}
}

/*
 * restore_path() in directory id (open as dirfd): all of it when rest is
 * empty, else only the page of it that holds rest's first component.
 */
static void
restore_below(struct rctx *c, int dirfd, const char *dirpath,
    const uint8_t *id, char *rest, const char *wanted)
{
	struct client_rk rk = { c->r, c->k, NULL };
	struct tree page;
	struct node *nd;
	char *slash, save = '\0', err[512];
	int rc;

	while (*rest == '/')
		rest++;
	if (*rest == '\0') {
		if (fetch_tree(c, id, &page, dirpath) == 0) {
			restore_entries(c, dirfd, dirpath, &page, 0);
			tree_free(&page);
		}
		return;
	}
	if ((slash = strchr(rest, '/')) != NULL) {
		save = *slash;
		*slash = '\0';
	}
	rc = client_tree_find(&rk, id, rest, &page, &nd, err, sizeof(err));
	client_rk_free(&rk);
	if (slash != NULL)
		*slash = save;
	if (rc == -1) {
		fatal_error(c, "%s", err);
		return;
	}
	if (rc == 1) {
		problem(c, dirpath, "directory not restored: %s", err);
		return;
	}
	restore_path(c, dirfd, dirpath, &page, rest, wanted);
	tree_free(&page);
}

/* ---------------------------------------------------------------- choosing */

/*
 * With --include, --exclude or --strip-components the snapshot is walked
 * from its root, alone: each entry's path in the snapshot is matched,
 * and a directory is made only when it is chosen itself or when
 * something below it is restored (then with its metadata too).
 */
struct cdir {
	struct cdir	*up;
	const struct node *n;	/* NULL: the snapshot's root */
	const char	*spath;	/* in the snapshot ("" for the root) */
	char		*path;	/* in the target ("": the target itself) */
	int		 depth;	/* components of spath */
	int		 matched;	/* no --include, or it or a parent
				   matched one */
	int		 fd;	/* -1 until made */
	int		 made;	/* made or opened here: metadata at the end */
	int		 failed;	/* could not be made (reported) */
	int		 created;	/* made here, not there before */
};

/*
 * Whether spath is among the paths asked for: 2 when it is one of them
 * or below one (or none were asked for), 1 when it is on the way to one,
 * 0 when neither.
 */
static int
choose_wanted(struct rctx *c, const char *spath)
{
	int r = 0, k;

	if (c->nwant == 0)
		return 2;
	for (int i = 0; i < c->nwant && r < 2; i++)
		if ((k = client_path_under(spath, c->want[i])) >= 0)
			r = 2;
		else if (client_path_under(c->want[i], spath) > 0)
			r = 1;
	return r;
}

/*
 * spath (depth components) is restored, or would be but for --include
 * (or, with excluded set, for --exclude): every path asked for that it
 * is or is below has something below the stripped components when spath
 * is deeper than those, and (not excluded) has been seen.
 */
static void
choose_reached(struct rctx *c, const char *spath, int depth, int excluded)
{
	int k;

	if (c->nwant == 0) {
		if (depth > c->o->strip)
			c->beyond_all = 1;
		return;
	}
	for (int i = 0; i < c->nwant; i++)
		if ((k = client_path_under(spath, c->want[i])) >= 0) {
			if (k == 0 && c->seen[i] == 0 && !excluded)
				c->seen[i] = 1;
			if (depth > c->o->strip)
				c->beyond[i] = 1;
		}
}

/*
 * spath is left out by --exclude: a path asked for that is it or below
 * it is named (once), not restored, and not a problem (it is there).
 */
static void
choose_excluded(struct rctx *c, const char *spath)
{
	for (int i = 0; i < c->nwant; i++)
		if (c->seen[i] == 0 && client_path_under(c->want[i],
		    spath) >= 0) {
			c->seen[i] = 2;
			flockfile(stderr);
			if (c->pg != NULL)
				fputs(client_progress_clear(c->pg->line),
				    stderr);
			fputs("gigavault: ", stderr);
			client_putsafe(stderr, c->o->paths[i]);
			fputs(": excluded by --exclude (", stderr);
			client_putsafe(stderr, spath);
			fputs("), not restored\n", stderr);
			funlockfile(stderr);
		}
}

/* The fd of d, making it (and the directories above it) when needed. */
static int
choose_fd(struct rctx *c, struct cdir *d)
{
	int up;

	if (d->fd != -1 || d->failed)
		return d->fd;
	if ((up = choose_fd(c, d->up)) == -1) {
		d->failed = 1;
		return -1;
	}
	if ((d->fd = open_dir(c, up, d->n->name, d->path, &d->created)) ==
	    -1)
		d->failed = 1;
	else
		d->made = 1;
	return d->fd;
}

static void	choose_dir(struct rctx *, struct cdir *, const struct node *,
		    const char *, int, int);

/* The entries of t, in directory d: each restored when chosen. */
static void
choose_entries(struct rctx *c, struct cdir *d, const struct tree *t)
{
	struct wfile *files;
	size_t nfiles = 0;

	if ((files = calloc(OPEN_FILES_MAX, sizeof(*files))) == NULL) {
		fatal_error(c, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < t->n && !c->fatal; i++) {
		const struct node *n = &t->nodes[i];
		int isdir = n->type == NODE_DIR, w, matched, fd;
		char *spath = client_path_join(d->spath, n->name);

		if (spath == NULL) {
			fatal_error(c, "out of memory");
			break;
		}
		if ((w = choose_wanted(c, spath)) == 0) {
			free(spath);
			continue;
		}
		if (patterns_match(c->o->exclude, spath, isdir)) {
			/*
			 * What is below an excluded directory is left out
			 * by --exclude, whatever --strip-components does.
			 */
			if (w == 2)
				choose_reached(c, spath, isdir ? INT_MAX :
				    d->depth + 1, 1);
			choose_excluded(c, spath);
			free(spath);
			continue;
		}
		if (w == 2)
			choose_reached(c, spath, d->depth + 1, 0);
		matched = d->matched || patterns_match(c->o->include, spath,
		    isdir);
		if (isdir) {
			/* Finish pending files first: they hold open fds. */
			if (nfiles > 0) {
				write_files(c, files, nfiles);
				nfiles = 0;
			}
			choose_dir(c, d, n, spath, matched, w == 2 && matched);
		} else if (w == 2 && matched && d->depth + 1 > c->o->strip &&
		    (fd = choose_fd(c, d)) != -1) {
			restore_node(c, fd, d->path, n, files, &nfiles);
			if (nfiles == OPEN_FILES_MAX) {
				write_files(c, files, nfiles);
				nfiles = 0;
			}
		}
		free(spath);
	}
	if (nfiles > 0)
		write_files(c, files, nfiles);
	free(files);
}

/*
 * Directory n (at spath) below d: made at once when chosen, else only
 * when something below it is restored; a directory within the first
 * --strip-components components is never made (its entries go where it
 * would have been).
 */
static void
choose_dir(struct rctx *c, struct cdir *d, const struct node *n,
    const char *spath, int matched, int chosen)
{
	struct cdir sub = { d, n, spath, NULL, d->depth + 1, matched, -1, 0,
	    0, 0 };
	struct tree t;

	if (sub.depth > CHOOSE_DEPTH_MAX) {
		problem(c, spath, "not restored: directories nested too deep");
		return;
	}
	if (sub.depth <= c->o->strip) {
		sub.path = d->path;	/* the target itself */
		sub.fd = c->targetfd;
	} else if ((sub.path = client_path_join(d->path, n->name)) == NULL) {
		fatal_error(c, "out of memory");
		return;
	}
	if (chosen && sub.depth > c->o->strip)
		choose_fd(c, &sub);	/* made even when empty */
	if (!sub.failed && fetch_tree(c, n->subtree, &t, spath) == 0) {
		choose_entries(c, &sub, &t);
		tree_free(&t);
	}
	if (sub.made) {
		if (!c->fatal) {
			dir_meta(c, sub.fd, n, sub.path, sub.created);
			c->st->dirs++;
		}
		close(sub.fd);
	}
	if (sub.path != d->path)
		free(sub.path);
}

/*
 * The paths asked for as "/a/b" (empty and "." components dropped; ""
 * for the root), into c->want.  0, or -1 (out of memory, fatal error set).
 */
static int
choose_paths(struct rctx *c)
{
	const struct restore_opts *o = c->o;

	if (o->npaths == 0)
		return 0;
	c->want = calloc((size_t)o->npaths, sizeof(*c->want));
	c->seen = calloc((size_t)o->npaths, sizeof(*c->seen));
	c->beyond = calloc((size_t)o->npaths, sizeof(*c->beyond));
	if (c->want == NULL || c->seen == NULL || c->beyond == NULL)
		goto oom;
	for (int i = 0; i < o->npaths; i++) {
		if ((c->want[i] = client_path_norm(o->paths[i])) == NULL)
			goto oom;
		c->nwant++;
	}
	return 0;
oom:
	fatal_error(c, "out of memory");
	return -1;
}

/* The whole snapshot (root tree root), each entry as chosen. */
static void
restore_chosen(struct rctx *c, const struct tree *root)
{
	struct cdir top = { NULL, NULL, "", "", 0,
	    patterns_count(c->o->include) == 0, c->targetfd, 0, 0, 0 };

	if (choose_paths(c) == -1)
		return;
	choose_entries(c, &top, root);
	for (int i = 0; i < c->nwant && !c->fatal; i++)
		if (c->want[i][0] == '\0')	/* the root: always there */
			c->seen[i] = 1;
	for (int i = 0; i < c->nwant && !c->fatal; i++)
		if (c->seen[i] == 0)
			problem(c, c->o->paths[i], "not in the snapshot");
		else if (c->seen[i] == 1 && !c->beyond[i] && c->o->strip > 0)
			problem(c, c->o->paths[i], "all of it is within the %d "
			    "stripped components, nothing restored",
			    c->o->strip);
	if (c->nwant == 0 && !c->fatal && !c->beyond_all && c->o->strip > 0)
		problem(c, "the snapshot", "all of it is within the %d "
		    "stripped components, nothing restored", c->o->strip);
	for (int i = 0; i < c->nwant; i++)
		free(c->want[i]);
	free(c->want);
	free(c->seen);
	free(c->beyond);
}

/*
 * Whether PATH i is restored with another one: at or below a PATH
 * before it, or below one after it.  1 (a PATH not in the snapshot
 * whose root is root reported so) or 0; -1: fatal error set.
 */
static int
restore_nested(struct rctx *c, int i, const uint8_t *root)
{
	const struct restore_opts *o = c->o;
	struct client_rk rk = { c->r, c->k, NULL };
	struct tree page;
	struct node *nd;
	char *a, *b, err[512];
	size_t stop;
	int k, r = 0, notdir;

	if ((a = client_path_norm(o->paths[i])) == NULL) {
		fatal_error(c, "out of memory");
		return -1;
	}
	for (int j = 0; j < o->npaths && r == 0; j++) {
		if (j == i)
			continue;
		if ((b = client_path_norm(o->paths[j])) == NULL) {
			fatal_error(c, "out of memory");
			r = -1;
			break;
		}
		if ((k = client_path_under(a, b)) > 0 || (k == 0 && j < i))
			r = 1;
		free(b);
	}
	/* Restored with the other one, when it is there. */
	if (r == 1) {
		k = client_tree_path(&rk, root, a, &page, &nd, &stop, &notdir,
		    err, sizeof(err));
		if (k == -1)
			fatal_error(c, "%s", err);
		else if (k == 1)
			problem(c, o->paths[i], "not restored: %s", err);
		else if (nd == NULL)
			problem(c, o->paths[i], "not in the snapshot");
		else
			tree_free(&page);
		client_rk_free(&rk);
	}
	free(a);
	return c->fatal ? -1 : r;
}

static int	open_target_path(const char *, char *, size_t);

/*
 * Target for o->target_nofollow: walked from "/" one component at a
 * time, each created when missing and opened with O_NOFOLLOW, so that
 * no symbolic link on the way is followed; ".." is refused.  The open
 * directory, or -1 with err set.
 */
static int
open_target_nofollow(const char *target, char *err, size_t errlen)
{
	char *p, *comp, *save = NULL;
	int fd, nfd;

	if (target[0] != '/') {
		snprintf(err, errlen, "target %s is not an absolute path",
		    target);
		return -1;
	}
	if ((p = strdup(target)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open /: %s", strerror(errno));
		free(p);
		return -1;
	}
	for (comp = strtok_r(p, "/", &save); comp != NULL;
	    comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			snprintf(err, errlen, "target %s holds \"..\"",
			    target);
			goto fail;
		}
		if (mkdirat(fd, comp, 0755) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create target %s (at "
			    "%s): %s", target, comp, strerror(errno));
			goto fail;
		}
		if ((nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1) {
			struct stat sb;
			int e = errno;

			/* O_DIRECTORY makes a link ENOTDIR, not ELOOP. */
			snprintf(err, errlen, "cannot open target %s (at %s): "
			    "%s", target, comp, e == ELOOP || (fstatat(fd, comp,
			    &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(sb.st_mode)) ? "a symbolic link, not "
			    "followed" : strerror(e));
			goto fail;
		}
		close(fd);
		fd = nfd;
	}
	free(p);
	return fd;
fail:
	close(fd);
	free(p);
	return -1;
}

/* 1 when directory fd holds no entry, 0 when it does, -1 on error. */
static int
dir_is_empty(int fd)
{
	struct dirent *de;
	DIR *d;
	int dfd, empty = 1;

	if ((dfd = dup(fd)) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static int
open_target(const struct restore_opts *o, char *err, size_t errlen)
{
	int fd, e;

	if (!o->target_nofollow && !o->target_empty)
		return open_target_path(o->target, err, errlen);
	if ((fd = o->target_nofollow ? open_target_nofollow(o->target, err,
	    errlen) : open_target_path(o->target, err, errlen)) == -1)
		return -1;
	if (o->target_empty && (e = dir_is_empty(fd)) != 1) {
		snprintf(err, errlen, "target %s %s", o->target, e == 0 ?
		    "is not empty (a restore goes into a new or empty "
		    "directory)" : "cannot be read");
		close(fd);
		return -1;
	}
	return fd;
}

static int
open_target_path(const char *target, char *err, size_t errlen)
{
	char *p = strdup(target), *s;
	int fd;

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* mkdir -p: the target itself is the user's choice, not the snapshot's. */
	for (s = p + 1; *s != '\0'; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) == -1 && errno != EEXIST)
				break;
			*s = '/';
		}
	if (mkdir(p, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create --target %s: %s", target,
		    strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	if ((fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		snprintf(err, errlen, "cannot open --target %s: %s", target,
		    strerror(errno));
	return fd;
}

int
restore_snapshot(struct remote *r, const struct keys *k,
    const struct snapinfo *snap, const struct restore_opts *o,
    struct restore_stats *st, char *err, size_t errlen)
{
	struct rctx c;
	struct rmeta meta;
	struct tree root;
	struct rprog pg;
	int chosen;

	memset(st, 0, sizeof(*st));
	memset(&c, 0, sizeof(c));
	memset(&meta, 0, sizeof(meta));
	pthread_mutex_init(&meta.mu, NULL);
	c.meta = &meta;
	c.r = r;
	c.k = k;
	c.o = o;
	c.st = st;
	c.err = err;
	c.errlen = errlen;
	c.is_root = geteuid() == 0;
	if ((c.targetfd = open_target(o, err, errlen)) == -1) {
		pthread_mutex_destroy(&meta.mu);
		return 2;
	}

	if (fetch_tree(&c, snap->root, &root, "") == -1) {
		if (!c.fatal)
			snprintf(err, errlen, "snapshot %llu: root directory "
			    "unreadable", (unsigned long long)snap->id);
		close(c.targetfd);
		pthread_mutex_destroy(&meta.mu);
		return 2;
	}
	if (o->progress != NULL) {
		pthread_mutex_init(&pg.mu, NULL);
		pg.line = o->progress;
		pg.files = pg.bytes = 0;
		/* The whole snapshot: its size is known (protocol 3). */
		pg.total = snap->v3 && o->npaths == 0 &&
		    patterns_count(o->include) == 0 &&
		    patterns_count(o->exclude) == 0 ? snap->bytes : 0;
		c.pg = &pg;
	}
	chosen = patterns_count(o->include) > 0 ||
	    patterns_count(o->exclude) > 0 || o->strip > 0;
	if (chosen)
		restore_chosen(&c, &root);
	else if (o->npaths == 0)
		restore_all(&c, &root);
	for (int i = 0; i < o->npaths && !c.fatal && !chosen; i++) {
		char *rest = strdup(o->paths[i]);
		int nested = 0;

		if (rest == NULL)
			fatal_error(&c, "out of memory");
		if (rest == NULL || (nested = restore_nested(&c, i,
		    snap->root)) == -1) {
			free(rest);
			break;
		}
		if (!nested)
			restore_path(&c, c.targetfd, "", &root, rest,
			    o->paths[i]);
		free(rest);
	}
	tree_free(&root);
	set_late_flags(&c);
	for (int k = 0; k < 2; k++)
		if (meta.unset[k] > META_NAMED)
			fprintf(stderr, "gigavault: and %llu more files whose "
			    "%s could not be set\n", (unsigned long long)
			    (meta.unset[k] - META_NAMED), k == 0 ?
			    "extended attributes" : "inode flags");
	pthread_mutex_destroy(&meta.mu);
	if (c.pg != NULL)
		pthread_mutex_destroy(&pg.mu);
	for (size_t i = 0; i < c.nhl; i++)
		free(c.hl[i].relpath);
	free(c.hl);
	close(c.targetfd);
	if (c.fatal)
		return 2;
	return st->problems ? 1 : 0;
}

/* ---------------------------------------------------------------- command */

static struct remote *
more_session(void *arg, char *err, size_t errlen)
{
	return client_more_session(arg, err, errlen);
}

/* --include or --exclude PATTERN into *list (made at the first). */
static int
add_pattern(struct patterns **list, const char *opt, const char *pat)
{
	char err[512];

	if (*list == NULL && (*list = patterns_new()) == NULL) {
		warnx("out of memory");
		return -1;
	}
	if (patterns_add(*list, pat, err, sizeof(err)) == -1) {
		warnx("restore: %s \"%s\": %s", opt, pat, err);
		return -1;
	}
	return 0;
}

int
cmd_restore(struct client *c, int argc, char **argv)
{
	enum { OPT_TARGET = OPT_CMD_FIRST, OPT_OVERWRITE, OPT_INCLUDE,
	    OPT_EXCLUDE, OPT_STRIP, OPT_SPARSE };
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ "include", required_argument, NULL, OPT_INCLUDE },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "strip-components", required_argument, NULL, OPT_STRIP },
		{ "quiet", no_argument, NULL, 'q' },
		{ "sparse", no_argument, NULL, OPT_SPARSE },
		CLIENT_STRICT_OPT,
		{ NULL, 0, NULL, 0 }
	};
	struct restore_opts o = { 0 };
	struct restore_stats st;
	struct snapinfo snap;
	struct client_progress line;
	struct patterns *inc = NULL, *exc = NULL;
	char err[512], size[32], *end;
	long strip;
	int ch, rc = EXIT_ERROR, latest, quiet = 0;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS "q", longopts,
	    NULL)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		switch (ch) {
		case OPT_TARGET:
			o.target = optarg;
			break;
		case OPT_OVERWRITE:
			o.overwrite = 1;
			break;
		case OPT_INCLUDE:
			if (add_pattern(&inc, "--include", optarg) == -1)
				goto done;
			break;
		case OPT_EXCLUDE:
			if (add_pattern(&exc, "--exclude", optarg) == -1)
				goto done;
			break;
		case OPT_STRIP:
			errno = 0;
			strip = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    strip < 0 || strip > CHOOSE_DEPTH_MAX) {
				warnx("restore: --strip-components \"%s\" is "
				    "not a number from 0 to %d", optarg,
				    CHOOSE_DEPTH_MAX);
				goto done;
			}
			o.strip = (int)strip;
			break;
		case 'q':
			quiet = 1;
			break;
		case OPT_SPARSE:
			o.sparse = 1;
			break;
		default:
			rc = client_usage(c);
			goto done;
		}
	}
	if (o.target == NULL || *o.target == '\0' || optind >= argc) {
		if (o.target == NULL)
			warnx("restore: --target DIR is required");
		rc = client_usage(c);
		goto done;
	}
	o.paths = argv + optind + 1;
	o.npaths = argc - optind - 1;
	o.verbose = c->verbose;
	o.threads = RESTORE_SESSIONS;
	o.more_session = more_session;
	o.session_arg = c;
	o.include = inc;
	o.exclude = exc;
	/* With -v the paths restored are the progress. */
	client_progress_start(&line, c->tty && !c->verbose, c->tty);
	o.progress = c->tty && !c->verbose ? &line : NULL;

	/* "latest": is it the newest this client made or saw, or newer? */
	latest = strcmp(argv[optind], "latest") == 0;
	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1 ||
	    (latest && c->set != NULL && chain_check_set(c, c->set) == -1) ||
	    client_snapshot(c, argv[optind], c->set, &snap) == -1 ||
	    (latest && c->set == NULL && chain_check_set(c, snap.set) == -1))
		goto done;
	client_progress_start(&line, line.on, c->tty);
	rc = restore_snapshot(c->remote, &c->keys, &snap, &o, &st, err,
	    sizeof(err));
	fputs(client_progress_clear(&line), stderr);
	if (rc == 2)
		warnx("restore: %s", err);
	if (!quiet) {
		client_fmt_bytes((double)st.bytes, size, sizeof(size));
		printf("restored %llu files, %llu directories, %s in %.1f s, "
		    "%llu problem%s%s\n",
		    (unsigned long long)(st.files + st.links),
		    (unsigned long long)st.dirs, size,
		    client_progress_elapsed(&line),
		    (unsigned long long)st.problems, st.problems == 1 ? "" :
		    "s", rc == 2 ? " (stopped by the error above)" : "");
	}
	if (fflush(stdout) != 0 && rc == 0)
		rc = EXIT_ERROR;
done:
	patterns_free(inc);
	patterns_free(exc);
	return rc;
}
