/*
 * backup.c - "gigavault backup": walk the paths, cut changed files into
 * chunks, upload the chunks and trees the server lacks, and commit a
 * snapshot.
 *
 * The data path, per chunk:  main thread: read (8 MiB reads), cut
 * (chunker_cut) -> pool, urgent: keyed hash -> main thread, per batch of
 * up to 32 MiB: HAVE -> pool, background: compress and seal the missing
 * ones -> main thread: PUT, in order.  While the workers seal one batch
 * the main thread reads and cuts the next, so the disk, the cores and
 * the network are busy at once; at most two batches of plaintext (and
 * the sealed copies of one) are in memory.
 *
 * Trees (tree.h): a directory's entries, in name order, fill a page; a
 * page ends where tree_pager_add() says (a content-defined place, or a
 * size limit), and is then encoded once its files' hashes are done
 * (waited for: urgent jobs that the waiting thread helps run), so only
 * one page of a huge directory is in memory.  A file of many chunks gets
 * chunk lists.  Pages, indexes and lists go through the same HAVE/PUT
 * batch as the chunks, after the blobs they link to, and are sent with
 * PUT_LINKED (protocol version 3).  The snapshot root is a virtual
 * directory holding the path components that lead to each PATH (with the
 * metadata of the real directories).
 *
 * An unchanged file (same type, size, mtime, ctime and inode as the same
 * path in the parent snapshot, the newest of the set) reuses the
 * parent's chunk or list ids, holes, xattrs and inode flags and is not
 * opened (an xattr or flag set changes the ctime).  The parent's trees are
 * fetched lazily, one per directory that has entries to compare.  The
 * server checks that every link of a PUT_LINKED is stored: when the
 * parent's blobs were pruned while we ran, the backup fails (no broken
 * snapshot is committed).
 *
 * A server below protocol version 3 is refused: it would store the
 * trees without their links, and once upgraded it would let later
 * backups reuse them unlinked.  (Reading from it works: restore, ls...)
 *
 * Nothing is followed: lstat, openat(O_NOFOLLOW) relative to the
 * directory being read.  Entries that cannot be read are named on
 * stderr and left out; the snapshot is still committed (exit 1).
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/monotime.h"
#include "common/wire.h"
#include "chain.h"
#include "chunker.h"
#include "client.h"
#include "feed.h"
#include "fsmeta.h"
#include "idset.h"
#include "mailsrc.h"
#include "pattern.h"
#include "pool.h"

#define RBUF_SIZE	(8u << 20)	/* one read() of a large file */
#define BATCH_BYTES	(32u << 20)	/* plaintext per HAVE batch */
#define BATCH_JOBS	8192		/* blobs per HAVE batch */
#define DEPTH_MAX	2048		/* nested directories */
#define INLINE_HASH_MAX	(64u << 10)	/* smaller chunks: hashed by the caller */
/* Ids remembered (see flush()): the idset stays at 2^19 slots. */
#define IDS_MAX		((1u << 18) - 2 * BATCH_JOBS)
#define AHEAD_PAGES	64		/* parent pages fetched in one GET */

/* idset flags */
#define ID_KNOWN	0x01	/* on the server, or queued for PUT */
#define ID_ASKED	0x04	/* in the HAVE being prepared */

struct backup;

/* One blob on its way: hashed, asked about, maybe sealed and sent. */
struct job {
	struct pool_job	 pj;		/* first: the pool's view */
	struct backup	*b;
	uint8_t		 kind;		/* enum blob_kind */
	uint8_t		 sealing;	/* 0: hash it; 1: seal it */
	int		 failed;	/* blob_seal failed */
	uint8_t		*data;		/* plaintext (owned) */
	size_t		 len;
	uint8_t		 id[BLOB_ID_LEN];
	uint8_t		*dst;		/* where the hash stage copies id */
	uint8_t		*sealed;
	size_t		 sealedlen;
	uint8_t		(*links)[BLOB_ID_LEN];	/* trees: what it links to */
	uint32_t	 nlinks;
	struct job	*next;
};

struct jlist {
	struct job	*head, *tail;
	size_t		 n, bytes;
};

/* A directory being built: its page being filled, its pages done. */
struct dir {
	struct tree	 t;		/* the page being filled */
	int		 pending;	/* hash jobs writing into t (pool group) */
	uint32_t	 counted;	/* nodes of t the pager has seen */
	size_t		 entries;	/* the directory's, for the pager */
	struct tree_pager pg;
	struct tree_dirw w;
};

/* The same directory in the parent snapshot, fetched when first needed. */
struct ptree {
	struct ptree	*up;		/* NULL: the root */
	const char	*name;		/* our name in up */
	int		 state;		/* 0 not yet looked up, 1 loaded, 2 none */
	const uint8_t	*root;		/* the root's id (root only; NULL: none) */
	struct tree_dirw pages;		/* its pages (first names, ids) */
	struct tree	 t;		/* the page read last */
	uint32_t	 cur;		/* its index in pages */
	struct client_rk rk;		/* with the next pages fetched ahead */
	uint32_t	 ahead_from, ahead_to;	/* which */
};

/* The snapshot root: the path components leading to each PATH. */
struct vnode {
	char		*name;		/* NULL for the root */
	char		*path;		/* absolute, real */
	int		 full;		/* back this path up entirely */
	struct vnode	**kids;
	size_t		 nkids;
};

struct progress {
	struct client_progress line;
	/* The pre-walk (terminal only): totals for an ETA. */
	pthread_t	 thread;
	int		 running;
	atomic_uint_fast64_t total_bytes, total_files;
	atomic_int	 total_done, stop;
	char		**paths;
	int		 npaths;
	const struct select *sel;	/* patterns and -x, as the walk */
};

/*
 * What a backup leaves out besides what it cannot read (gigavault(1),
 * "backup"; the PATTERNS section): checked in the walk before an entry
 * is opened, so nothing left out is read, and nothing left out is a
 * problem.
 */
struct select {
	struct patterns	*excl;		/* --exclude, --exclude-file */
	char		**if_present;	/* --exclude-if-present NAMEs */
	size_t		 nif_present;
	int		 caches;	/* --exclude-caches */
	int		 one_fs;	/* -x */
	int		 nodump;	/* 1: leave out files flagged nodump */
};

struct backup {
	struct client	*c;
	const struct select *sel;
	const struct feed *feed;	/* NULL: the file system */
	struct remote	*r;
	const struct keys *keys;
	struct pool	*pool;
	struct idset	*ids;
	int		 zlevel;
	uint8_t		*rbuf;
	struct jlist	 batch;		/* hashed or hashing, not yet asked */
	struct jlist	 puts;		/* sealing or sealed, to send in order */
	int		 failed;	/* a fatal error: message printed */
	int		 parent;	/* there is a parent snapshot */
	int		 parent_gone;	/* the server lacks blobs it reused */
	uint64_t	 problems;	/* entries named as not (fully) saved */
	uint64_t	 excluded;	/* entries left out by sel */
	dev_t		 top_dev;	/* -x: the device of the PATH walked */
	const char	*test_change;	/* GIGAVAULT_TEST_CHANGE_WHILE_READ */
	char		**paths;	/* the PATHs given, absolute */
	int		 npaths;
	int		 depth;
	uint64_t	 files, dirs, others, unchanged;
	uint64_t	 bytes;		/* of the files in the snapshot */
	uint64_t	 done_bytes;	/* of the files handled so far */
	uint64_t	 read_bytes;	/* read from disk */
	uint64_t	 new_blobs, new_plain, sent_bytes;
	uint64_t	 asked;		/* ids sent in HAVE */
	struct progress	 prog;
};

static void	progress(struct backup *, int final);
static const struct node *ptree_find(struct backup *, struct ptree *,
		    const char *);

/* ---------------------------------------------------------------- jobs */

static void
job_run(struct pool_job *pj)
{
	struct job *j = (struct job *)pj;
	const struct keys *k = j->b->keys;

	if (!j->sealing) {
		blob_id(k, j->kind, j->data, j->len, j->id);
		if (j->dst != NULL)
			memcpy(j->dst, j->id, BLOB_ID_LEN);
		return;
	}
	if (blob_seal(k, j->kind, j->data, j->len, j->id, j->b->zlevel,
	    &j->sealed, &j->sealedlen) == -1)
		j->failed = 1;
	free(j->data);		/* the plaintext is not needed any more */
	j->data = NULL;
}

static void
job_free(struct job *j)
{
	free(j->data);
	free(j->sealed);
	free(j->links);
	free(j);
}

static void
jlist_add(struct jlist *l, struct job *j, size_t bytes)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->n++;
	l->bytes += bytes;
}

static struct job *
jlist_pop(struct jlist *l, size_t bytes)
{
	struct job *j = l->head;

	l->head = j->next;
	if (l->head == NULL)
		l->tail = NULL;
	l->n--;
	l->bytes -= bytes;
	return j;
}

static int
fatal_oom(struct backup *b)
{
	if (!b->failed)
		warnx("out of memory");
	b->failed = 1;
	return -1;
}

static int
fatal_remote(struct backup *b, const char *err)
{
	if (!b->failed) {
		/*
		 * ERROR 10 (WIRE_ERR_INCOMPLETE) during a backup: blobs it
		 * links to are not stored (PUT_LINKED's check, or the
		 * indexing found one pruned meanwhile).
		 */
		int gone = b->r != NULL &&
		    remote_error_code(b->r) == WIRE_ERR_INCOMPLETE;

		if (gone && b->parent) {
			warnx("%s: the server no longer has blobs of the "
			    "parent snapshot that this backup reuses (lost, "
			    "or pruned while it ran)", err);
			b->parent_gone = 1;
		} else if (gone)
			warnx("%s: blobs this backup was told are stored are "
			    "gone (pruned while it ran?); nothing was "
			    "committed, run the backup again", err);
		else
			warnx("%s", err);
	}
	b->failed = 1;
	return -1;
}

/*
 * Send the sealed blobs at the head of the PUT queue: all of them when
 * wait is set (helping to seal them), else those already sealed.
 */
static int
send_puts(struct backup *b, int wait)
{
	struct job *j;
	char err[1024];

	while (b->puts.head != NULL) {
		j = b->puts.head;
		if (wait)
			pool_wait(b->pool, &j->pj);
		else if (!pool_done(b->pool, &j->pj))
			break;
		j = jlist_pop(&b->puts, j->len);
		if (j->failed) {
			job_free(j);
			warnx("cannot compress or encrypt a blob (out of "
			    "memory?)");
			b->failed = 1;
			return -1;
		}
		if (remote_put_linked(b->r, j->id,
		    (const uint8_t (*)[BLOB_ID_LEN])j->links, j->nlinks,
		    j->sealed, j->sealedlen, err, sizeof(err)) == -1) {
			job_free(j);
			return fatal_remote(b, err);
		}
		b->new_blobs++;
		b->new_plain += j->len;
		b->sent_bytes += j->sealedlen;
		job_free(j);
	}
	return 0;
}

/*
 * Ask the server about the batch (after the previous batch went out),
 * queue the missing blobs for sealing, drop the rest.
 */
static int
flush(struct backup *b)
{
	struct job **ask = NULL, *j;
	uint8_t (*ids)[BLOB_ID_LEN] = NULL, *missing = NULL, *f;
	size_t nask = 0;
	char err[1024];
	int rc = -1;

	if (send_puts(b, 1) == -1)
		return -1;
	if (b->batch.n == 0)
		return 0;
	/*
	 * No list of references is needed: forget the ids met so far
	 * when there are many, so that memory stays bounded however
	 * many files there are.  An id met again is asked about again (the
	 * server has it by now, or discards a second PUT of it).
	 */
	if (idset_count(b->ids) > IDS_MAX) {
		idset_free(b->ids);
		if ((b->ids = idset_new()) == NULL)
			return fatal_oom(b);
	}
	if ((ask = calloc(b->batch.n, sizeof(*ask))) == NULL ||
	    (ids = calloc(b->batch.n, BLOB_ID_LEN)) == NULL ||
	    (missing = calloc(b->batch.n, 1)) == NULL) {
		fatal_oom(b);
		goto done;
	}
	while (b->batch.head != NULL) {
		j = b->batch.head;
		pool_wait(b->pool, &j->pj);
		j = jlist_pop(&b->batch, j->len);
		if ((f = idset_add(b->ids, j->id)) == NULL) {
			job_free(j);
			fatal_oom(b);
			goto done;
		}
		if (*f & (ID_KNOWN | ID_ASKED)) {
			job_free(j);	/* a duplicate */
			continue;
		}
		*f |= ID_ASKED;
		memcpy(ids[nask], j->id, BLOB_ID_LEN);
		ask[nask++] = j;
	}
	b->asked += nask;
	if (nask > 0 && remote_have(b->r, (const uint8_t (*)[BLOB_ID_LEN])ids,
	    nask, missing, err, sizeof(err)) == -1) {
		fatal_remote(b, err);
		goto done;
	}
	for (size_t i = 0; i < nask; i++) {
		j = ask[i];
		ask[i] = NULL;
		f = idset_find(b->ids, j->id);
		*f = (uint8_t)((*f & ~ID_ASKED) | ID_KNOWN);
		if (!missing[i]) {
			job_free(j);
			continue;
		}
		j->sealing = 1;
		jlist_add(&b->puts, j, j->len);
		pool_submit(b->pool, &j->pj, 0, NULL);
	}
	rc = 0;
done:
	if (ask != NULL)
		for (size_t i = 0; i < nask; i++)
			if (ask[i] != NULL)
				job_free(ask[i]);
	free(ask);
	free(ids);
	free(missing);
	return rc;
}

/*
 * Hand data (malloc'ed, taken over) to the pipeline.  With dst, its id
 * is computed by the pool and copied to dst, counted in *group; without,
 * id must be given (trees and meta, hashed by the caller).  links[0..
 * nlinks) (copied): the ids a tree blob links to.
 */
static int
submit(struct backup *b, enum blob_kind kind, uint8_t *data, size_t len,
    uint8_t *dst, int *group, const uint8_t *id,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		free(data);
		return fatal_oom(b);
	}
	if (nlinks > 0) {
		if ((j->links = calloc(nlinks, BLOB_ID_LEN)) == NULL) {
			free(j);
			free(data);
			return fatal_oom(b);
		}
		memcpy(j->links, links, (size_t)nlinks * BLOB_ID_LEN);
		j->nlinks = nlinks;
	}
	j->pj.fn = job_run;
	j->b = b;
	j->kind = (uint8_t)kind;
	j->data = data;
	j->len = len;
	j->dst = dst;
	jlist_add(&b->batch, j, len);
	if (id != NULL) {
		memcpy(j->id, id, BLOB_ID_LEN);
		j->pj.done = 1;
	} else if (len < INLINE_HASH_MAX) {
		/* Cheaper here than a wake-up of a worker. */
		job_run(&j->pj);
		j->pj.done = 1;
	} else
		pool_submit(b->pool, &j->pj, 1, group);
	if (b->batch.bytes >= BATCH_BYTES || b->batch.n >= BATCH_JOBS)
		return flush(b);
	return send_puts(b, 0);
}

/* ---------------------------------------------------------------- parent */

/*
 * The parent snapshot's index of this directory: 1 when there is one
 * (p->pages), else 0.  Pages are read one at a time (ptree_find()), so a
 * huge directory is not held whole.
 */
/* Mark id as on the server without asking (0, or -1: out of memory). */
static int
known(struct backup *b, const uint8_t id[BLOB_ID_LEN])
{
	uint8_t *f;

	if ((f = idset_add(b->ids, id)) == NULL)
		return fatal_oom(b);
	*f |= ID_KNOWN;
	return 0;
}

static int
ptree_get(struct backup *b, struct ptree *p)
{
	const struct node *n;
	const uint8_t *id = NULL;
	struct tree_src src;
	char err[1024];
	int rc;

	if (p == NULL || p->state == 2)
		return 0;
	if (p->state == 1)
		return 1;
	p->state = 2;
	if (p->up == NULL)
		id = p->root;
	else if ((n = ptree_find(b, p->up, p->name)) != NULL &&
	    n->type == NODE_DIR)
		id = n->subtree;
	if (id == NULL)
		return 0;
	p->rk.r = b->r;
	p->rk.k = b->keys;
	p->rk.ahead = NULL;
	client_tree_src(&p->rk, &src);
	rc = tree_load_index(&src, id, &p->pages, &p->t, err, sizeof(err));
	if (rc == -1) {
		fatal_remote(b, err);
		return 0;
	}
	if (rc == 1) {
		/* Damaged: read the files again rather than fail. */
		warnx("parent snapshot: %s (reading the files again)", err);
		return 0;
	}
	p->cur = p->t.n > 0 ? 0 : UINT32_MAX;
	p->state = 1;
	/*
	 * The parent snapshot's blobs of this directory (its id and its
	 * pages) are on the server: a page of ours that comes out the same
	 * is not asked about again.  Should one be gone (the parent pruned
	 * meanwhile), the upload linking to it fails with ERROR 10 and the
	 * backup runs again without the parent; a COMMIT checks the root.
	 */
	if (known(b, id) == -1)
		return 0;
	for (size_t i = 0; i < p->pages.n; i++)
		if (known(b, p->pages.ids[i]) == -1)
			return 0;
	for (size_t i = 0; i < p->pages.ninner; i++)
		if (known(b, p->pages.inner[i]) == -1)
			return 0;
	return 1;
}

/* The node called name in the parent's directory p, or NULL. */
static const struct node *
ptree_find(struct backup *b, struct ptree *p, const char *name)
{
	struct tree_src src;
	size_t lo = 0, hi, n;
	char err[1024];
	int rc;

	if (!ptree_get(b, p) || p->pages.n == 0)
		return NULL;
	/* The last page whose first name is not after name. */
	hi = p->pages.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(p->pages.first[mid], name) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	if (p->cur != lo - 1) {
		tree_free(&p->t);
		p->cur = (uint32_t)(lo - 1);
		/* Names come in order: fetch the next pages with this one. */
		if (p->cur < p->ahead_from || p->cur >= p->ahead_to) {
			n = p->pages.n - p->cur;
			if (n > AHEAD_PAGES)
				n = AHEAD_PAGES;
			/* Pages passed over (no name there now) go. */
			client_rk_free(&p->rk);
			if (client_prefetch(&p->rk, (const uint8_t (*)
			    [BLOB_ID_LEN])p->pages.ids + p->cur, n, err,
			    sizeof(err)) == -1) {
				fatal_remote(b, err);
				return NULL;
			}
			p->ahead_from = p->cur;
			p->ahead_to = p->cur + (uint32_t)n;
		}
		client_tree_src(&p->rk, &src);
		rc = tree_load(&src, p->pages.ids[p->cur], &p->t, err,
		    sizeof(err));
		if (rc == -1) {
			fatal_remote(b, err);
			return NULL;
		}
		if (rc == 1)
			warnx("parent snapshot: %s (reading the files again)",
			    err);
	}
	return tree_find(&p->t, name);
}

static void
ptree_free(struct ptree *p)
{
	if (p->state == 1) {
		tree_free(&p->t);
		tree_dirw_free(&p->pages);
		client_rk_free(&p->rk);
	}
}

/* ---------------------------------------------------------------- walk */

/* "gigavault: PATH: what" on stderr; a problem. */
static void
problem(struct backup *b, const char *path, const char *what)
{
	fprintf(stderr, "%sgigavault: ",
	    client_progress_clear(&b->prog.line));
	client_putsafe(stderr, path);
	fprintf(stderr, ": %s\n", what);
	b->problems++;
}

/* path is left out: it cannot be read (why); a problem. */
static void
skip(struct backup *b, const char *path, const char *why)
{
	fprintf(stderr, "%sgigavault: cannot read ",
	    client_progress_clear(&b->prog.line));
	client_putsafe(stderr, path);
	fprintf(stderr, ": %s\n", why);
	b->problems++;
}

/* path is left out on purpose: named with -v, not a problem. */
static void
excluded(struct backup *b, const char *path, const char *why)
{
	b->excluded++;
	if (!b->c->verbose)
		return;
	fprintf(stderr, "%sexcluded ",
	    client_progress_clear(&b->prog.line));
	client_putsafe(stderr, path);
	fprintf(stderr, " (%s)\n", why);
}

/* 1 when the file or directory open as fd has the nodump flag. */
static int
is_nodump(struct backup *b, int fd)
{
	uint32_t fl;

	return b->sel->nodump && fsmeta_iflags(fd, &fl) == 0 &&
	    (fl & FSMETA_IFLAG_NODUMP) != 0;
}

static uint8_t
node_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:	return NODE_FILE;
	case S_IFDIR:	return NODE_DIR;
	case S_IFLNK:	return NODE_SYMLINK;
	case S_IFIFO:	return NODE_FIFO;
	case S_IFCHR:	return NODE_CHR;
	case S_IFBLK:	return NODE_BLK;
	case S_IFSOCK:	return NODE_SOCK;
	}
	return 0;
}

/* Append a node for st called name; NULL when memory runs out. */
static struct node *
add_node(struct dir *d, const char *name, const struct stat *st)
{
	struct node *n = tree_add(&d->t);

	if (n == NULL || (n->name = strdup(name)) == NULL)
		return NULL;
	n->type = node_type(st->st_mode);
	n->mode = st->st_mode & 07777;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->mtime_sec = st->st_mtim.tv_sec;
	n->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	n->atime_sec = st->st_atim.tv_sec;
	n->atime_nsec = (uint32_t)st->st_atim.tv_nsec;
	n->ctime_sec = st->st_ctim.tv_sec;
	n->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	n->size = (uint64_t)st->st_size;
	n->dev = st->st_dev;
	n->inode = st->st_ino;
	n->nlink = (uint32_t)st->st_nlink;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		n->rdev = st->st_rdev;
	return n;
}

/* Drop the last node (it could not be read). */
static void
drop_last(struct dir *d)
{
	tree_node_free(&d->t.nodes[d->t.n - 1]);
	d->t.n--;
}

/*
 * n's metadata beyond stat(2): its extended attributes (of the file open
 * as fd when fd >= 0, else of the entry name of the directory dfd, not
 * followed; dfd AT_FDCWD: name is a full path) and, for a file or
 * directory open as fd, its inode flags.  What cannot be read is named
 * by path (the entry is still saved, exit 1).  Returns 0, or -1 when
 * memory ran out.
 */
static int
node_meta(struct backup *b, struct node *n, int fd, int dfd,
    const char *name, const char *path)
{
	char err[512];
	int rc;

	if (fd >= 0 && (n->type == NODE_FILE || n->type == NODE_DIR) &&
	    fsmeta_iflags(fd, &n->iflags) == -1 && errno != ENOTTY &&
	    errno != EOPNOTSUPP && errno != EINVAL) {
		snprintf(err, sizeof(err), "inode flags: %s", strerror(errno));
		skip(b, path, err);
	}
	if ((rc = fsmeta_xattrs_read(fd, dfd, name, n, err,
	    sizeof(err))) == -1)
		return fatal_oom(b);
	if (rc == 1)
		skip(b, path, err);
	return 0;
}

/*
 * The holes of the open file fd of size bytes (SEEK_DATA, SEEK_HOLE)
 * into n->holes: at most TREE_MAX_HOLES (the rest of the file is then
 * read as data).  A file system that cannot tell leaves none.  Returns
 * 0, or -1 when memory ran out.
 */
static int
find_holes(int fd, off_t size, struct node *n)
{
	struct node_hole *h;
	uint32_t cap = 0;
	off_t pos = 0, d, e;

	while (pos < size && n->nholes < TREE_MAX_HOLES) {
		if ((d = lseek(fd, pos, SEEK_DATA)) == -1) {
			if (errno != ENXIO)
				break;		/* EINVAL: cannot tell */
			d = size;		/* a hole to the end */
		}
		if (d > size)
			d = size;
		if (d > pos) {
			if (n->nholes == cap) {
				cap = cap ? 2 * cap : 8;
				if (cap > TREE_MAX_HOLES)
					cap = TREE_MAX_HOLES;
				if ((h = reallocarray(n->holes, cap,
				    sizeof(*h))) == NULL)
					return -1;
				n->holes = h;
			}
			n->holes[n->nholes].off = (uint64_t)pos;
			n->holes[n->nholes++].len = (uint64_t)(d - pos);
		}
		if (d >= size || (e = lseek(fd, d, SEEK_HOLE)) == -1 ||
		    e <= d)
			break;
		pos = e;
	}
	lseek(fd, 0, SEEK_SET);
	return 0;
}

/*
 * n, a file unchanged since the parent's pn: the parent's holes, and,
 * when the parent has them (format 3), its xattrs and inode flags, which
 * cannot have changed (setting either changes the ctime).  A parent of
 * format 2 has none: they are read.  (A parent made by a user who could
 * read fewer xattrs, say not root, lacks those the others: "backup
 * --no-parent" reads every file again.)  Returns 0, or -1 on a fatal
 * error.
 */
static int
unchanged_meta(struct backup *b, struct node *n, const struct node *pn,
    uint8_t pformat, int dfd, const char *name, const char *path)
{
	int fd;

	if (tree_node_meta_copy(n, pn) == -1)
		return fatal_oom(b);
	if (pformat >= 3) {
		n->iflags = pn->iflags;
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		return node_meta(b, n, -1, dfd, name, path);
	if (node_meta(b, n, fd, dfd, name, path) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The metadata of path, a directory on the way to a PATH argument. */
static int
virtual_meta(struct backup *b, struct node *n, const char *path)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	rc = node_meta(b, n, fd, AT_FDCWD, path, path);
	if (fd != -1)
		close(fd);
	return rc;
}

static int
unchanged(const struct node *p, const struct stat *st)
{
	return p != NULL && p->type == NODE_FILE &&
	    p->size == (uint64_t)st->st_size &&
	    p->mtime_sec == st->st_mtim.tv_sec &&
	    p->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec &&
	    p->ctime_sec == st->st_ctim.tv_sec &&
	    p->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec &&
	    p->inode == st->st_ino;
}

/* p is directory st as the parent saw it, but for its access time. */
static int
same_dir(const struct node *p, const struct stat *st)
{
	return p != NULL && p->type == NODE_DIR &&
	    p->mtime_sec == st->st_mtim.tv_sec &&
	    p->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec &&
	    p->ctime_sec == st->st_ctim.tv_sec &&
	    p->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec &&
	    p->inode == st->st_ino;
}

static ssize_t
read_some(int fd, uint8_t *p, size_t n)
{
	ssize_t k;

	do
		k = read(fd, p, n);
	while (k == -1 && errno == EINTR);
	return k;
}

static int	emit_tree(void *, uint8_t *, size_t,
		    const uint8_t (*)[BLOB_ID_LEN], uint32_t, uint8_t[BLOB_ID_LEN]);
static int	tree_failed(struct backup *);

/*
 * n (d's last node) holds the chunk ids of its file not yet in a list:
 * wait for their hashes and emit the level-1 lists that end among them
 * (all of them when last), their ids appended to (*lists)[0..*nlists);
 * the ids left over move to the start of n->chunks.
 */
static int
cut_window(struct backup *b, struct dir *d, struct node *n, int last,
    uint8_t (**lists)[BLOB_ID_LEN], uint32_t *nlists, uint32_t *lcap)
{
	uint32_t used;

	pool_wait_group(b->pool, &d->pending);
	if (tree_lists_cut((const uint8_t (*)[BLOB_ID_LEN])n->chunks,
	    n->nchunks, 0, last, emit_tree, b, lists, nlists, lcap,
	    &used) == -1)
		return tree_failed(b);
	/* emit_tree() may have flushed: n still points into d->t. */
	memmove(n->chunks, n->chunks + used,
	    (size_t)(n->nchunks - used) * BLOB_ID_LEN);
	n->nchunks -= used;
	return 0;
}

/*
 * Read and cut the open file fd into d's last node.  Returns 0, 1 when
 * the file could not be read (reported; the node is to be dropped), -1
 * on a fatal error.
 *
 * A file with fewer blocks than its size may have holes: they are found
 * first (find_holes()), kept in n->holes, and not read; the data between
 * them goes through one chunker, as if concatenated, so a region's
 * chunks are the same wherever the holes around it are.
 *
 * Memory stays bounded however large the file: n->chunks is a window of
 * at most win ids; when it fills, the level-1 chunk lists that end in it
 * are emitted (cut as tree_file_lists() would cut the whole list, so the
 * ids are the same) and only their ids are kept.  A file that never
 * fills the window is left to entry_done() as before.
 */
static int
read_file(struct backup *b, struct dir *d, int fd, const char *path,
    const struct stat *st)
{
	struct node *n = &d->t.nodes[d->t.n - 1];
	size_t win = 2 * (size_t)tree_limits.list_ids +
	    tree_limits.inline_ids + 2;
	size_t cap = (size_t)st->st_size / CHUNK_MIN + 2, have = 0, off = 0;
	uint64_t total = 0, lpos = 0, hend;
	uint8_t *buf, (*nc)[BLOB_ID_LEN], (*lists)[BLOB_ID_LEN] = NULL;
	uint32_t nlists = 0, lcap = 0, hi = 0;
	ssize_t k;
	size_t cut, want;
	int eof = 0, rc = -1;

	if (cap > win)
		cap = win;
	if ((n->chunks = malloc(cap * BLOB_ID_LEN)) == NULL)
		return fatal_oom(b);
	n->nchunks = 0;
	if (st->st_size > 0 && (uint64_t)st->st_blocks * 512 <
	    (uint64_t)st->st_size && find_holes(fd, st->st_size, n) == -1)
		return fatal_oom(b);

	if (st->st_size <= CHUNK_MIN && n->nholes == 0) {
		/* Small: read straight into the chunk's own buffer. */
		size_t want = (size_t)st->st_size;

		if ((buf = malloc(want ? want : 1)) == NULL)
			return fatal_oom(b);
		while (have < want) {
			if ((k = read_some(fd, buf + have, want - have)) ==
			    -1) {
				skip(b, path, strerror(errno));
				free(buf);
				return 1;
			}
			if (k == 0)
				break;	/* shrank since the stat */
			have += (size_t)k;
		}
		n->size = have;
		b->read_bytes += have;
		if (have == 0) {
			free(buf);
			return 0;
		}
		n->nchunks = 1;
		return submit(b, BLOB_DATA, buf, have, n->chunks[0],
		    &d->pending, NULL, NULL, 0) == -1 ? -1 : 0;
	}

	for (;;) {
		if (!eof && have - off < CHUNK_MAX) {
			memmove(b->rbuf, b->rbuf + off, have - off);
			have -= off;
			off = 0;
			while (have < RBUF_SIZE && !eof) {
				/* At a hole: go past it, unread. */
				while (hi < n->nholes &&
				    lpos == n->holes[hi].off) {
					hend = lpos + n->holes[hi++].len;
					if (lseek(fd, (off_t)hend, SEEK_SET) ==
					    -1) {
						pool_wait_group(b->pool,
						    &d->pending);
						skip(b, path, strerror(errno));
						rc = 1;
						goto out;
					}
					b->done_bytes += hend - lpos;
					lpos = hend;
				}
				want = RBUF_SIZE - have;
				if (hi < n->nholes &&
				    n->holes[hi].off - lpos < want)
					want = (size_t)(n->holes[hi].off -
					    lpos);
				k = read_some(fd, b->rbuf + have, want);
				if (k == -1) {
					pool_wait_group(b->pool, &d->pending);
					skip(b, path, strerror(errno));
					rc = 1;
					goto out;
				}
				if (k == 0) {
					eof = 1;
					/* Shrank: the holes past the end go. */
					n->nholes = hi;
				}
				have += (size_t)k;
				total += (uint64_t)k;
				lpos += (uint64_t)k;
			}
		}
		if (off == have)
			break;
		cut = chunker_cut(b->rbuf + off, have - off, eof);
		if (cut == 0 || cut > have - off) {
			warnx("%s: internal error: chunker returned %zu of "
			    "%zu bytes", path, cut, have - off);
			b->failed = 1;
			goto out;
		}
		if (n->nchunks == cap && cap < win) {
			/* Grew while we read: no job may write into it now. */
			pool_wait_group(b->pool, &d->pending);
			cap = cap * 2 < win ? cap * 2 : win;
			if ((nc = reallocarray(n->chunks, cap,
			    BLOB_ID_LEN)) == NULL) {
				fatal_oom(b);
				goto out;
			}
			n->chunks = nc;
		} else if (n->nchunks == cap && cut_window(b, d, n, 0, &lists,
		    &nlists, &lcap) == -1)
			goto out;
		if ((buf = malloc(cut)) == NULL) {
			fatal_oom(b);
			goto out;
		}
		memcpy(buf, b->rbuf + off, cut);
		off += cut;
		if (submit(b, BLOB_DATA, buf, cut, n->chunks[n->nchunks++],
		    &d->pending, NULL, NULL, 0) == -1)
			goto out;
		/* submit() may have flushed: n still points into d->t. */
		b->done_bytes += cut;
		progress(b, 0);
	}
	if (nlists > 0) {
		/* The last lists; the node holds the level-1 list ids. */
		if (cut_window(b, d, n, 1, &lists, &nlists, &lcap) == -1)
			goto out;
		free(n->chunks);
		n->chunks = lists;
		n->nchunks = nlists;
		n->clevel = 1;
		lists = NULL;
	}
	n->size = lpos;		/* total, and the holes */
	b->read_bytes += total;
	rc = 0;
out:
	free(lists);
	return rc;
}

static int	do_dir(struct backup *, int, const char *, struct ptree *,
		    uint8_t *);
static int	finish_dir(struct backup *, struct dir *, uint8_t *);
static void	dir_init(struct dir *, size_t);

/* path is one of the PATHs given (-x crosses into it). */
static int
given(const struct backup *b, const char *path)
{
	for (int i = 0; i < b->npaths; i++)
		if (strcmp(b->paths[i], path) == 0)
			return 1;
	return 0;
}

/* The id of an empty directory's tree (a mount point -x does not cross). */
static int
empty_tree(struct backup *b, uint8_t *id)
{
	struct dir d;

	dir_init(&d, 0);
	return finish_dir(b, &d, id);
}

/*
 * Whether the file open as fd changed while it was read: its size,
 * modification or change time is not what fstat() said before (st).
 */
static int
changed(int fd, const struct stat *st)
{
	struct stat now;

	return fstat(fd, &now) == 0 && (now.st_size != st->st_size ||
	    now.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != st->st_mtim.tv_nsec ||
	    now.st_ctim.tv_sec != st->st_ctim.tv_sec ||
	    now.st_ctim.tv_nsec != st->st_ctim.tv_nsec);
}

/*
 * The test hook GIGAVAULT_TEST_CHANGE_WHILE_READ=NAME (HACKING): a file
 * called NAME gets one more byte once it was read, as if a writer had
 * appended to it meanwhile.
 */
static void
test_change(int dfd, const char *name)
{
	ssize_t k;
	int fd;

	if ((fd = openat(dfd, name, O_WRONLY | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	k = write(fd, "+", 1);
	(void)k;
	close(fd);
}

/*
 * Append to d a node for the file name (st), unchanged since the
 * parent's pn: it reuses pn's chunk or list ids (which the server checks
 * when the page is stored).  NULL after a fatal error (out of memory).
 */
static struct node *
reuse_node(struct backup *b, struct dir *d, const char *name,
    const struct stat *st, const struct node *pn)
{
	struct node *n;

	if ((n = add_node(d, name, st)) == NULL ||
	    (pn->nchunks > 0 && (n->chunks =
	    malloc((size_t)pn->nchunks * BLOB_ID_LEN)) == NULL)) {
		fatal_oom(b);
		return NULL;
	}
	n->nchunks = pn->nchunks;
	n->clevel = pn->clevel;
	if (pn->nchunks > 0)
		memcpy(n->chunks, pn->chunks,
		    (size_t)pn->nchunks * BLOB_ID_LEN);
	return n;
}

/*
 * n (reuse_node()) is kept: counted as done.  The access time stays the
 * parent's: a file that was only read is unchanged, and its page (and
 * every page above) stays the same blob.
 */
static void
reused(struct backup *b, struct node *n, const struct node *pn)
{
	n->atime_sec = pn->atime_sec;
	n->atime_nsec = pn->atime_nsec;
	b->unchanged++;
	b->bytes += n->size;
	b->done_bytes += n->size;
}

/*
 * d's last node was read by read_file(), which returned rc; size is the
 * file's size before (its stat).  A file that could not be read (rc 1)
 * is dropped.  Returns 0, or -1 (rc -1: a fatal error).
 */
static int
read_done(struct backup *b, struct dir *d, int rc, off_t size)
{
	struct node *n;

	if (rc == 1) {
		b->done_bytes += (uint64_t)size;
		drop_last(d);
		return 0;
	}
	if (rc == -1)
		return -1;
	n = &d->t.nodes[d->t.n - 1];
	b->bytes += n->size;
	if (n->size < (uint64_t)size)
		b->done_bytes += (uint64_t)size - n->size;
	if (n->size <= CHUNK_MIN)
		b->done_bytes += n->size;
	return 0;
}

/*
 * Add the entry name of the directory dfd (path: its full path) to d;
 * dtype is its d_type from readdir() (DT_UNKNOWN: not known), top is set
 * for a PATH given.  Returns 0 (also when it was left out, or skipped
 * as unreadable), -1 on a fatal error.
 */
static int
do_entry(struct backup *b, struct dir *d, int dfd, const char *name,
    const char *path, unsigned char dtype, int top, struct ptree *pt)
{
	const struct node *pn;
	struct node *n;
	struct stat st, fst;
	struct ptree cpt;
	uint8_t sub[BLOB_ID_LEN];
	char *target;
	ssize_t k;
	dev_t topdev;
	int fd, rc, cfd;
	char err[256];

	if (remote_keepalive(b->r, err, sizeof(err)) == -1)
		return fatal_remote(b, err);
	/* Left out by a pattern: not even stat'ed when readdir() knows. */
	if (b->sel->excl != NULL && dtype != DT_UNKNOWN &&
	    patterns_match(b->sel->excl, path, dtype == DT_DIR)) {
		excluded(b, path, "pattern");
		return 0;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		skip(b, path, strerror(errno));
		return 0;
	}
	if (b->sel->excl != NULL && dtype == DT_UNKNOWN &&
	    patterns_match(b->sel->excl, path, S_ISDIR(st.st_mode))) {
		excluded(b, path, "pattern");
		return 0;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR:
		/* -x: the device of the PATH being walked, or of this one. */
		topdev = b->top_dev;
		if (top)
			b->top_dev = st.st_dev;
		else if (b->sel->one_fs && st.st_dev != b->top_dev) {
			if (!given(b, path)) {
				excluded(b, path, "another file system: kept "
				    "as an empty directory");
				if (empty_tree(b, sub) == -1)
					return -1;
				cfd = -1;	/* its xattrs by path */
				goto dirnode;
			}
			b->top_dev = st.st_dev;
		}
		cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (cfd == -1) {
			b->top_dev = topdev;
			skip(b, path, strerror(errno));
			return 0;
		}
		if (!top && is_nodump(b, cfd)) {
			b->top_dev = topdev;
			excluded(b, path, "nodump flag");
			close(cfd);
			return 0;
		}
		memset(&cpt, 0, sizeof(cpt));
		cpt.up = pt;
		cpt.name = name;
		if (pt == NULL)
			cpt.state = 2;
		rc = do_dir(b, cfd, path, &cpt, sub);
		ptree_free(&cpt);
		b->top_dev = topdev;
		if (rc != 0) {
			close(cfd);
			return rc == 1 ? 0 : -1;
		}
dirnode:
		if ((n = add_node(d, name, &st)) == NULL ||
		    node_meta(b, n, cfd, dfd, name, path) == -1) {
			if (cfd != -1)
				close(cfd);
			return fatal_oom(b);
		}
		if (cfd != -1)
			close(cfd);
		memcpy(n->subtree, sub, BLOB_ID_LEN);
		/* Only listed since the parent: its access time stays. */
		pn = ptree_find(b, pt, name);
		if (b->failed)
			return -1;
		if (same_dir(pn, &st)) {
			n->atime_sec = pn->atime_sec;
			n->atime_nsec = pn->atime_nsec;
		}
		return 0;

	case S_IFREG:
		b->files++;
		pn = ptree_find(b, pt, name);
		if (b->failed)
			return -1;
		if (!top && unchanged(pn, &st) && b->sel->nodump &&
		    (pn->iflags & FSMETA_IFLAG_NODUMP) != 0) {
			/* Saved with --include-nodump last time. */
			b->files--;
			excluded(b, path, "nodump flag");
			return 0;
		}
		if (unchanged(pn, &st)) {
			if ((n = reuse_node(b, d, name, &st, pn)) == NULL)
				return -1;
			if (unchanged_meta(b, n, pn, pt->t.format, dfd, name,
			    path) == -1)
				return -1;
			if (!top && b->sel->nodump &&
			    (n->iflags & FSMETA_IFLAG_NODUMP) != 0) {
				/* A parent of format 2 did not know. */
				drop_last(d);
				b->files--;
				excluded(b, path, "nodump flag");
				return 0;
			}
			reused(b, n, pn);
			return 0;
		}
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC | O_NOATIME);
		if (fd == -1 && errno == EPERM)	/* O_NOATIME: not the owner */
			fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW |
			    O_NONBLOCK | O_CLOEXEC);
		if (fd == -1) {
			skip(b, path, strerror(errno));
			return 0;
		}
		if (fstat(fd, &fst) == -1 || !S_ISREG(fst.st_mode)) {
			skip(b, path, "changed while being read");
			close(fd);
			return 0;
		}
		if (!top && is_nodump(b, fd)) {
			b->files--;
			excluded(b, path, "nodump flag");
			close(fd);
			return 0;
		}
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		if ((n = add_node(d, name, &fst)) == NULL) {
			close(fd);
			return fatal_oom(b);
		}
		rc = read_file(b, d, fd, path, &fst);
		if (rc == 0 && b->test_change != NULL &&
		    strcmp(name, b->test_change) == 0)
			test_change(dfd, name);
		if (rc == 0 && changed(fd, &fst))
			problem(b, path, "changed while being read");
		if (rc == 0 && node_meta(b, &d->t.nodes[d->t.n - 1], fd,
		    dfd, name, path) == -1)
			rc = -1;
		close(fd);
		return read_done(b, d, rc, fst.st_size);

	case S_IFLNK:
		if ((target = malloc(TREE_MAX_TARGET + 1)) == NULL)
			return fatal_oom(b);
		k = readlinkat(dfd, name, target, TREE_MAX_TARGET + 1);
		if (k == -1 || k > TREE_MAX_TARGET || k == 0) {
			skip(b, path, k == -1 ? strerror(errno) :
			    "symlink target too long");
			free(target);
			return 0;
		}
		target[k] = '\0';
		if ((n = add_node(d, name, &st)) == NULL) {
			free(target);
			return fatal_oom(b);
		}
		n->target = target;
		b->others++;
		return node_meta(b, n, -1, dfd, name, path);

	case S_IFIFO:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFSOCK:
		if ((n = add_node(d, name, &st)) == NULL)
			return fatal_oom(b);
		b->others++;
		return node_meta(b, n, -1, dfd, name, path);
	}
	skip(b, path, "unknown file type");
	return 0;
}

/* A directory entry as readdir() gave it. */
struct dent {
	char		*name;
	unsigned char	 type;		/* d_type; DT_UNKNOWN: not known */
};

static int
cmp_dents(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name,
	    ((const struct dent *)b)->name);
}

static int
cmp_dent_key(const void *key, const void *e)
{
	return strcmp(key, ((const struct dent *)e)->name);
}

#define CACHEDIR_TAG	"CACHEDIR.TAG"
#define CACHEDIR_SIG	"Signature: 8a477f597d28d172789f06886806bc55"

/*
 * The directory fd holds a valid CACHEDIR.TAG: a regular file that
 * starts with the signature of the Cache Directory Tagging
 * Specification (https://bford.info/cachedir/).
 */
static int
cachedir_tag(int fd)
{
	char buf[sizeof(CACHEDIR_SIG) - 1];
	struct stat st;
	size_t have = 0;
	ssize_t k;
	int tfd, ok = 0;

	if ((tfd = openat(fd, CACHEDIR_TAG, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(tfd, &st) == 0 && S_ISREG(st.st_mode)) {
		while (have < sizeof(buf) && (k = read_some(tfd,
		    (uint8_t *)buf + have, sizeof(buf) - have)) > 0)
			have += (size_t)k;
		ok = have == sizeof(buf) && memcmp(buf, CACHEDIR_SIG,
		    sizeof(buf)) == 0;
	}
	close(tfd);
	return ok;
}

/*
 * Whether the directory fd (path), whose sorted entries are e[0..n), is
 * left out but for its tag: a valid CACHEDIR.TAG (--exclude-caches) or
 * a NAME of --exclude-if-present.  Returns the tag's index, or -1.
 * Only names that readdir() listed are looked at: no extra system call
 * for a directory without them.
 */
static ssize_t
tagged(struct backup *b, int fd, const char *path, const struct dent *e,
    size_t n)
{
	const struct dent *t;
	char why[300];

	if (b->sel->caches && (t = bsearch(CACHEDIR_TAG, e, n, sizeof(*e),
	    cmp_dent_key)) != NULL && cachedir_tag(fd)) {
		excluded(b, path, "a cache directory: only its "
		    CACHEDIR_TAG " is kept");
		return t - e;
	}
	for (size_t i = 0; i < b->sel->nif_present; i++) {
		if ((t = bsearch(b->sel->if_present[i], e, n, sizeof(*e),
		    cmp_dent_key)) == NULL)
			continue;
		snprintf(why, sizeof(why), "%s is present: only it is kept",
		    t->name);
		excluded(b, path, why);
		return t - e;
	}
	return -1;
}

/* tree_emit_fn: a page, index or list into the pipeline. */
static int
emit_tree(void *arg, uint8_t *body, size_t len,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks,
    uint8_t id[BLOB_ID_LEN])
{
	struct backup *b = arg;

	blob_id(b->keys, BLOB_TREE, body, len, id);
	return submit(b, BLOB_TREE, body, len, NULL, NULL, id, links, nlinks);
}

static int
tree_failed(struct backup *b)
{
	if (!b->failed)
		warnx("cannot encode a directory (out of memory?)");
	b->failed = 1;
	return -1;
}

static void
dir_init(struct dir *d, size_t entries)
{
	memset(d, 0, sizeof(*d));
	d->entries = entries;
	tree_init(&d->t);
	tree_pager_reset(&d->pg, entries);
	tree_dirw_init(&d->w);
}

/* After an error: wait for d's jobs, free it. */
static void
dir_free(struct backup *b, struct dir *d)
{
	pool_wait_group(b->pool, &d->pending);
	tree_free(&d->t);
	tree_dirw_free(&d->w);
}

/* Encode and send d's page (its hashes waited for), start the next. */
static int
flush_page(struct backup *b, struct dir *d)
{
	pool_wait_group(b->pool, &d->pending);
	if (tree_dirw_page(&d->w, &d->t, emit_tree, b) == -1)
		return tree_failed(b);
	tree_pager_reset(&d->pg, d->entries);
	d->counted = 0;
	return 0;
}

/*
 * An entry of d is done (or was skipped): give a long chunk list its
 * list blobs, and end the page where the pager says.
 */
static int
entry_done(struct backup *b, struct dir *d)
{
	struct node *n;

	if (b->failed)
		return -1;
	if (d->t.n == d->counted)
		return 0;
	n = &d->t.nodes[d->t.n - 1];
	d->counted = d->t.n;
	if (n->type == NODE_FILE && n->nchunks > tree_limits.inline_ids) {
		pool_wait_group(b->pool, &d->pending);
		if (tree_file_lists(n, emit_tree, b) == -1)
			return tree_failed(b);
	}
	if (tree_pager_add(&d->pg, n))
		return flush_page(b, d);
	return 0;
}

/* The last page of d and its index; its id into id.  d is freed. */
static int
finish_dir(struct backup *b, struct dir *d, uint8_t *id)
{
	int rc = 0;

	if (d->t.n > 0)
		rc = flush_page(b, d);
	if (rc == 0 && tree_dirw_finish(&d->w, emit_tree, b, id) == -1)
		rc = tree_failed(b);
	dir_free(b, d);
	if (rc == 0)
		b->dirs++;
	return rc;
}

/*
 * Back up the directory open as fd (its full path: path) and everything
 * below it; its tree id into id.  Returns 0, 1 when it could not be read
 * (reported), -1 on a fatal error.
 */
static int
do_dir(struct backup *b, int fd, const char *path, struct ptree *pt,
    uint8_t *id)
{
	struct dir d;
	struct dirent *de;
	DIR *dp;
	struct dent *names = NULL, *nn;
	char *cpath;
	size_t n = 0, cap = 0;
	ssize_t tag = -1;
	int dfd, rc = 0;

	if (b->depth >= DEPTH_MAX) {
		skip(b, path, "directories nested too deep");
		return 1;
	}
	if ((dfd = dup(fd)) == -1 || (dp = fdopendir(dfd)) == NULL) {
		skip(b, path, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return 1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nn = reallocarray(names, cap, sizeof(*nn))) ==
			    NULL)
				goto oom;
			names = nn;
		}
		if ((names[n].name = strdup(de->d_name)) == NULL)
			goto oom;
		names[n].type = de->d_type;
		n++;
	}
	if (errno != 0) {
		skip(b, path, strerror(errno));
		closedir(dp);
		for (size_t i = 0; i < n; i++)
			free(names[i].name);
		free(names);
		return 1;
	}
	closedir(dp);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_dents);
	if (b->sel->caches || b->sel->nif_present > 0)
		tag = tagged(b, fd, path, names, n);

	dir_init(&d, tag == -1 ? n : 1);
	b->depth++;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (tag != -1 && i != (size_t)tag)
			continue;
		if (asprintf(&cpath, "%s%s%s", path, strcmp(path, "/") ? "/" :
		    "", names[i].name) == -1) {
			rc = fatal_oom(b);
			break;
		}
		rc = do_entry(b, &d, fd, names[i].name, cpath, names[i].type,
		    0, pt);
		free(cpath);
		if (rc == 0)
			rc = entry_done(b, &d);
		free(names[i].name);
		names[i].name = NULL;
		progress(b, 0);
	}
	b->depth--;
	if (rc == 0)
		rc = finish_dir(b, &d, id);
	else
		dir_free(b, &d);
	for (size_t i = 0; i < n; i++)
		free(names[i].name);
	free(names);
	return rc;

oom:
	closedir(dp);
	for (size_t i = 0; i < n; i++)
		free(names[i].name);
	free(names);
	return fatal_oom(b);
}

static int
cmp_vnodes(const void *a, const void *b)
{
	return strcmp((*(struct vnode *const *)a)->name,
	    (*(struct vnode *const *)b)->name);
}

/* The virtual directory v; its tree id into id. */
static int
do_virtual(struct backup *b, struct vnode *v, struct ptree *pt, uint8_t *id)
{
	struct dir d;
	struct ptree cpt;
	struct stat st;
	struct node *n;
	uint8_t sub[BLOB_ID_LEN];
	int fd, rc = 0;

	if (v->full) {		/* "/" itself */
		if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		    -1) {
			warn("/");
			b->failed = 1;
			return -1;
		}
		if (fstat(fd, &st) == 0)
			b->top_dev = st.st_dev;
		rc = do_dir(b, fd, "/", pt, id);
		close(fd);
		if (rc == 1) {
			b->failed = 1;
			return -1;
		}
		return rc;
	}
	if (v->nkids > 1)
		qsort(v->kids, v->nkids, sizeof(*v->kids), cmp_vnodes);
	dir_init(&d, v->nkids);
	for (size_t i = 0; i < v->nkids && rc == 0; i++) {
		struct vnode *k = v->kids[i];

		if (k->full) {
			if ((fd = open(v->path, O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC)) == -1) {
				skip(b, v->path, strerror(errno));
				continue;
			}
			rc = do_entry(b, &d, fd, k->name, k->path, DT_UNKNOWN,
			    1, pt);
			close(fd);
			if (rc == 0)
				rc = entry_done(b, &d);
			continue;
		}
		if (lstat(k->path, &st) == -1) {
			skip(b, k->path, strerror(errno));
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			skip(b, k->path, "not a directory");
			continue;
		}
		memset(&cpt, 0, sizeof(cpt));
		cpt.up = pt;
		cpt.name = k->name;
		if (pt == NULL)
			cpt.state = 2;
		rc = do_virtual(b, k, &cpt, sub);
		ptree_free(&cpt);
		if (rc == 0) {
			const struct node *pn = ptree_find(b, pt, k->name);

			if (b->failed)
				rc = -1;
			else if ((n = add_node(&d, k->name, &st)) == NULL)
				rc = fatal_oom(b);
			else if ((rc = virtual_meta(b, n, k->path)) == 0) {
				memcpy(n->subtree, sub, BLOB_ID_LEN);
				if (same_dir(pn, &st)) {
					n->atime_sec = pn->atime_sec;
					n->atime_nsec = pn->atime_nsec;
				}
				rc = entry_done(b, &d);
			}
		}
	}
	if (rc == 0)
		rc = finish_dir(b, &d, id);
	else
		dir_free(b, &d);
	return rc;
}

/* ---------------------------------------------------------------- feed */

static int	feed_dir(struct backup *, const char *, struct ptree *,
		    uint8_t *);

/*
 * The entry e of a feed's directory into d; cpath is its full path, pt
 * the directory in the parent snapshot.  A file unchanged since the
 * parent (unchanged(), as for the file system) is not opened.  Returns
 * 0 (also when it was left out, or could not be read: reported), -1 on
 * a fatal error.
 */
static int
feed_entry(struct backup *b, struct dir *d, const struct feed_entry *e,
    const char *cpath, struct ptree *pt)
{
	const struct feed *f = b->feed;
	const struct node *pn;
	struct node *n;
	struct ptree cpt;
	struct stat st = e->st;
	uint8_t sub[BLOB_ID_LEN];
	char err[1024];
	int fd, rc;

	if (remote_keepalive(b->r, err, sizeof(err)) == -1)
		return fatal_remote(b, err);
	if (b->sel->excl != NULL && patterns_match(b->sel->excl, cpath,
	    S_ISDIR(st.st_mode))) {
		excluded(b, cpath, "pattern");
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		memset(&cpt, 0, sizeof(cpt));
		cpt.up = pt;
		cpt.name = e->name;
		if (pt == NULL)
			cpt.state = 2;
		rc = feed_dir(b, cpath, &cpt, sub);
		ptree_free(&cpt);
		if (rc != 0)
			return rc == 1 ? 0 : -1;
		if ((n = add_node(d, e->name, &st)) == NULL)
			return fatal_oom(b);
		memcpy(n->subtree, sub, BLOB_ID_LEN);
		pn = ptree_find(b, pt, e->name);
		if (b->failed)
			return -1;
		if (same_dir(pn, &st)) {
			n->atime_sec = pn->atime_sec;
			n->atime_nsec = pn->atime_nsec;
		}
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		skip(b, cpath, "the feed gave neither a file nor a directory");
		return 0;
	}
	b->files++;
	pn = ptree_find(b, pt, e->name);
	if (b->failed)
		return -1;
	if (unchanged(pn, &st)) {
		if ((n = reuse_node(b, d, e->name, &st, pn)) == NULL)
			return -1;
		if (tree_node_meta_copy(n, pn) == -1)
			return fatal_oom(b);
		n->iflags = pn->iflags;
		reused(b, n, pn);
		return 0;
	}
	if ((rc = f->open(f->arg, cpath, &st, &fd, err, sizeof(err))) ==
	    -1) {
		warnx("%s%s", client_progress_clear(&b->prog.line), err);
		b->failed = 1;
		return -1;
	}
	if (rc != 0) {
		skip(b, cpath, err);
		return 0;
	}
	st.st_blocks = (st.st_size + 511) / 512;	/* no holes */
	if ((n = add_node(d, e->name, &st)) == NULL) {
		close(fd);
		return fatal_oom(b);
	}
	rc = read_file(b, d, fd, cpath, &st);
	close(fd);
	return read_done(b, d, rc, st.st_size);
}

/*
 * Back up the feed's directory path ("" for the root) and everything
 * below it; its tree id into id.  Returns 0, 1 when it could not be read
 * (reported), -1 on a fatal error (also when the feed broke its
 * contract: names out of order, or not valid names).
 */
static int
feed_dir(struct backup *b, const char *path, struct ptree *pt, uint8_t *id)
{
	struct feed_entry *e = NULL;
	struct dir d;
	char err[1024], *cpath;
	size_t n = 0;
	int rc;

	if (b->depth >= DEPTH_MAX) {
		skip(b, path, "directories nested too deep");
		return 1;
	}
	rc = b->feed->list(b->feed->arg, path, &e, &n, err, sizeof(err));
	if (rc == -1) {
		warnx("%s%s", client_progress_clear(&b->prog.line), err);
		b->failed = 1;
		return -1;
	}
	if (rc != 0) {
		skip(b, path[0] != '\0' ? path : "/", err);
		return 1;
	}
	dir_init(&d, n);
	b->depth++;
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *nm = e[i].name;

		if (nm[0] == '\0' || strchr(nm, '/') != NULL ||
		    strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 ||
		    (i > 0 && strcmp(e[i - 1].name, nm) >= 0)) {
			warnx("%s: the feed gave a bad name or names out of "
			    "order (internal error)", path[0] ? path : "/");
			b->failed = 1;
			rc = -1;
			break;
		}
		if (asprintf(&cpath, "%s/%s", path, nm) == -1) {
			rc = fatal_oom(b);
			break;
		}
		rc = feed_entry(b, &d, &e[i], cpath, pt);
		free(cpath);
		if (rc == 0)
			rc = entry_done(b, &d);
		progress(b, 0);
	}
	b->depth--;
	if (rc == 0)
		rc = finish_dir(b, &d, id);
	else
		dir_free(b, &d);
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
	return rc;
}

/* The feed's root as the snapshot's root; its tree id into id. */
static int
feed_root(struct backup *b, struct ptree *pt, uint8_t *id)
{
	int rc = feed_dir(b, "", pt, id);

	if (rc == 1) {
		b->failed = 1;
		return -1;
	}
	return rc;
}

static void
vnode_free(struct vnode *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nkids; i++)
		vnode_free(v->kids[i]);
	free(v->kids);
	free(v->name);
	free(v->path);
	free(v);
}

/*
 * The absolute form of a PATH argument: its directory resolved with
 * realpath() (symlinks on the way are followed, as the user named
 * them), its last component kept as is (a symlink given is saved as a
 * symlink).  NULL with errno set.
 */
static char *
abs_path(const char *arg)
{
	char *copy, *slash, *dir, *base, *real, *out = NULL;
	size_t len;

	if ((copy = strdup(arg)) == NULL)
		return NULL;
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	slash = strrchr(copy, '/');
	if (slash == NULL) {
		dir = ".";
		base = copy;
	} else if (slash == copy) {
		dir = "/";
		base = copy + 1;
	} else {
		*slash = '\0';
		dir = copy;
		base = slash + 1;
	}
	if (*base == '\0' || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0) {
		out = realpath(arg, NULL);	/* "/", ".", "x/.." */
		free(copy);
		return out;
	}
	if ((real = realpath(dir, NULL)) != NULL) {
		if (asprintf(&out, "%s%s%s", real, strcmp(real, "/") ? "/" :
		    "", base) == -1)
			out = NULL;
		free(real);
	}
	free(copy);
	return out;
}

/* Add the absolute path p to the virtual tree under root. */
static int
vnode_add(struct vnode *root, const char *p)
{
	struct vnode *v = root, *k, **nk;
	const char *s = p, *e;
	size_t i;

	while (*s == '/')
		s++;
	if (*s == '\0') {
		root->full = 1;
		return 0;
	}
	while (*s != '\0' && !v->full) {
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		for (i = 0; i < v->nkids; i++)
			if (strlen(v->kids[i]->name) == (size_t)(e - s) &&
			    strncmp(v->kids[i]->name, s, (size_t)(e - s)) == 0)
				break;
		if (i == v->nkids) {
			if ((k = calloc(1, sizeof(*k))) == NULL ||
			    (k->name = strndup(s, (size_t)(e - s))) == NULL ||
			    (k->path = strndup(p, (size_t)(e - p))) == NULL ||
			    (nk = reallocarray(v->kids, v->nkids + 1,
			    sizeof(*nk))) == NULL) {
				vnode_free(k);
				return -1;
			}
			v->kids = nk;
			v->kids[v->nkids++] = k;
		}
		v = v->kids[i];
		s = *e == '/' ? e + 1 : e;
		while (*s == '/')
			s++;
	}
	v->full = 1;
	return 0;
}

/* ---------------------------------------------------------------- progress */

#define PREWALK_PATH	65536	/* longest path the pre-walk follows */

/*
 * Count the bytes below path[0..len) (name in dfd) for the ETA: stat
 * only, no reads; patterns and -x as the walk has them (not nodump or
 * tags, which cost an open).  path has PREWALK_PATH bytes.
 */
static void
prewalk(struct progress *p, int dfd, const char *name, char *path,
    size_t len, dev_t dev, int depth)
{
	struct stat st;
	struct dirent *de;
	DIR *dp;
	size_t nl;
	int fd;

	if (atomic_load(&p->stop) || depth > DEPTH_MAX ||
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return;
	if (p->sel->excl != NULL && patterns_match(p->sel->excl, path,
	    S_ISDIR(st.st_mode)))
		return;
	if (S_ISREG(st.st_mode)) {
		atomic_fetch_add(&p->total_bytes, (uint64_t)st.st_size);
		atomic_fetch_add(&p->total_files, 1);
		return;
	}
	if (depth == 0)
		dev = st.st_dev;
	if (!S_ISDIR(st.st_mode) || (p->sel->one_fs && st.st_dev != dev) ||
	    (fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		nl = strlen(de->d_name);
		if (len + 1 + nl >= PREWALK_PATH)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, nl + 1);
		prewalk(p, fd, de->d_name, path, len + 1 + nl, dev,
		    depth + 1);
		path[len] = '\0';
	}
	closedir(dp);
}

static void *
prewalk_main(void *arg)
{
	struct progress *p = arg;
	char *path;
	size_t len;

	if ((path = malloc(PREWALK_PATH)) == NULL)
		return NULL;
	for (int i = 0; i < p->npaths; i++) {
		/* "/" walks as "" so that its entries are "/NAME". */
		len = strcmp(p->paths[i], "/") == 0 ? 0 : strlen(p->paths[i]);
		if (len >= PREWALK_PATH)
			continue;
		memcpy(path, p->paths[i], len);
		path[len] = '\0';
		prewalk(p, AT_FDCWD, p->paths[i], path, len, 0, 0);
	}
	free(path);
	atomic_store(&p->total_done, 1);
	return NULL;
}

static void
progress(struct backup *b, int final)
{
	struct progress *p = &b->prog;
	double t, rate;
	char done[32], rs[32], tot[32], eta[96] = "";
	uint64_t total;

	if (!client_progress_due(&p->line, final))
		return;
	t = client_progress_elapsed(&p->line);
	rate = t > 0 ? (double)b->done_bytes / t : 0;
	client_fmt_bytes((double)b->done_bytes, done, sizeof(done));
	client_fmt_bytes(rate, rs, sizeof(rs));
	total = atomic_load(&p->total_bytes);
	if (!final && atomic_load(&p->total_done) && rate > 0 &&
	    total >= b->done_bytes) {
		double left = (double)(total - b->done_bytes) / rate;

		client_fmt_bytes((double)total, tot, sizeof(tot));
		snprintf(eta, sizeof(eta), " of %s, ETA %d:%02d", tot,
		    (int)left / 60, (int)left % 60);
	}
	client_progress_print(&p->line, final, "%llu files, %llu dirs, "
	    "%s%s, %s/s, %llu new blobs", (unsigned long long)b->files,
	    (unsigned long long)b->dirs, done, eta, rs,
	    (unsigned long long)b->new_blobs);
}

/* ---------------------------------------------------------------- command */

/*
 * The key of the page boundaries (tree_limits.seed): from the id key,
 * so that where a directory's pages end says nothing about its names to
 * whom does not hold the keys.
 */
static uint64_t
page_seed(const struct keys *k)
{
	static const char label[] = "gigavault-page-boundaries";
	uint8_t h[BLOB_ID_LEN];
	uint64_t seed = 0;

	blob_id(k, BLOB_TREE, label, sizeof(label) - 1, h);
	for (int i = 0; i < 8; i++)
		seed = seed << 8 | h[i];
	return seed;
}

/*
 * The snapshot's meta blob: JSON.  Besides what a person reads (host,
 * paths, time, counts) it binds the snapshot into its set's chain for
 * rollback detection (chain.h): its set, its root tree and its parent,
 * the newest snapshot of the set when it was made (null for the first).
 */
static int
meta_blob(struct backup *b, char **paths, int npaths, uint64_t when,
    const char *set, const uint8_t *rootid, const struct snapinfo *parent,
    uint8_t *id)
{
	char host[256] = "", roothex[2 * BLOB_ID_LEN + 1];
	json_t *o, *arr, *par;
	char *text;

	gethostname(host, sizeof(host) - 1);
	if ((arr = json_array()) == NULL)
		return fatal_oom(b);
	for (int i = 0; i < npaths; i++)
		json_array_append_new(arr, json_string(paths[i]));
	if ((par = chain_parent_json(parent)) == NULL) {
		json_decref(arr);
		return fatal_oom(b);
	}
	hex_encode(rootid, BLOB_ID_LEN, roothex);
	o = json_pack("{s:s, s:o, s:I, s:s, s:I, s:I, s:I, s:s, s:s, s:o}",
	    "hostname", host, "paths", arr, "time", (json_int_t)when,
	    "version", "gigavault " PACKAGE_VERSION,
	    "files", (json_int_t)b->files, "dirs", (json_int_t)b->dirs,
	    "bytes", (json_int_t)b->bytes, "set", set, "root", roothex,
	    "parent", par);
	if (o == NULL)
		return fatal_oom(b);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return fatal_oom(b);
	blob_id(b->keys, BLOB_META, text, strlen(text), id);
	return submit(b, BLOB_META, (uint8_t *)text, strlen(text), NULL, NULL,
	    id, NULL, 0);
}

/*
 * Chunk buffers (up to CHUNK_MAX) come and go all the time: keep them in
 * the heap and keep freed memory, instead of a fresh mmap (and page
 * faults) per chunk.  Memory stays bounded by the batches.
 */
static void
tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 2 * CHUNK_MAX + 4096);
	mallopt(M_TRIM_THRESHOLD, 4 * BATCH_BYTES);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Release the jobs still queued (after a fatal error). */
static void
drain_all(struct backup *b)
{
	struct job *j;

	while (b->batch.head != NULL) {
		j = b->batch.head;
		pool_wait(b->pool, &j->pj);
		job_free(jlist_pop(&b->batch, j->len));
	}
	while (b->puts.head != NULL) {
		j = b->puts.head;
		pool_wait(b->pool, &j->pj);
		job_free(jlist_pop(&b->puts, j->len));
	}
}

/*
 * One backup of root (paths[0..npaths)), or of feed when it is not NULL
 * (paths[0..npaths) then only name it in the meta), in the session
 * c->remote, with
 * the newest snapshot of the set as its parent unless noparent (its meta
 * names that snapshot as its parent either way), leaving out what sel
 * says.  check: first check the set for a rollback (chain_check()).
 * missing: the PATHs already named as not saved, counted as problems.
 * Returns the exit status: 0, EXIT_PARTIAL (saved, with *problems
 * problems, missing included) or EXIT_ERROR (*saved tells whether the
 * snapshot was saved all the same).  Prints the summary line of a saved
 * snapshot.  *parent_gone is set when it failed because the server
 * lacks blobs of the parent that it reused (the session is then
 * unusable).
 */
static int
backup_run(struct client *c, struct vnode *root, const struct feed *feed,
    char **paths, int npaths, const struct select *sel, uint64_t missing,
    int noparent, int quiet, int check, int *parent_gone, int *saved,
    uint64_t *problems)
{
	struct backup b;
	struct snapinfo *snaps = NULL, made;
	struct ptree rpt;
	char err[1024];
	uint8_t rootid[BLOB_ID_LEN], metaid[BLOB_ID_LEN];
	size_t nsnaps = 0;
	uint64_t when = (uint64_t)time(NULL), snapid = 0;
	int rc = EXIT_ERROR;

	memset(&b, 0, sizeof(b));
	memset(&rpt, 0, sizeof(rpt));
	*parent_gone = 0;
	*saved = 0;
	b.problems = missing;
	b.sel = sel;
	b.feed = feed;
	b.paths = paths;
	b.npaths = npaths;
	b.test_change = getenv("GIGAVAULT_TEST_CHANGE_WHILE_READ");
	if (b.test_change != NULL && b.test_change[0] == '\0')
		b.test_change = NULL;
	b.prog.sel = sel;
	b.c = c;
	b.r = c->remote;
	b.keys = &c->keys;
	if (remote_version(b.r) < 3) {
		warnx("this server speaks protocol version %d; backups need "
		    "version 3 (GigaVault 0.2 or later): upgrade the server",
		    remote_version(b.r));
		goto done;
	}
	tree_limits_init(page_seed(&c->keys));
	b.zlevel = c->conf->compression;
	if ((b.ids = idset_new()) == NULL ||
	    (b.rbuf = malloc(RBUF_SIZE)) == NULL ||
	    (b.pool = pool_new(c->conf->threads, 2 * BATCH_JOBS)) == NULL) {
		warnx("out of memory");
		goto done;
	}

	/* The parent: the newest snapshot of the set. */
	if (remote_list(b.r, client_set(c), &snaps, &nsnaps, err,
	    sizeof(err)) == -1) {
		warnx("%s", err);
		goto done;
	}
	if (check && chain_check(c, client_set(c), snaps, nsnaps) == -1)
		goto done;
	rpt.state = nsnaps > 0 && !noparent ? 0 : 2;
	rpt.root = nsnaps > 0 && !noparent ? snaps[nsnaps - 1].root : NULL;
	b.parent = nsnaps > 0 && !noparent;
	if (c->verbose && b.parent)
		fprintf(stderr, "parent snapshot %llu\n",
		    (unsigned long long)snaps[nsnaps - 1].id);

	client_progress_start(&b.prog.line, c->tty || c->verbose, c->tty);
	if (c->tty && feed == NULL) {
		b.prog.paths = paths;
		b.prog.npaths = npaths;
		b.prog.running = pthread_create(&b.prog.thread, NULL,
		    prewalk_main, &b.prog) == 0;
	}

	if ((feed != NULL ? feed_root(&b, &rpt, rootid) :
	    do_virtual(&b, root, &rpt, rootid)) == -1 ||
	    meta_blob(&b, paths, npaths, when, client_set(c), rootid,
	    nsnaps > 0 ? &snaps[nsnaps - 1] : NULL, metaid) == -1 ||
	    flush(&b) == -1 || send_puts(&b, 1) == -1 || b.failed)
		goto done;	/* b.failed: an error some caller let pass */
	progress(&b, 1);

	if (remote_commit(b.r, client_set(c), when, rootid, metaid, b.files,
	    b.bytes, &snapid, err, sizeof(err)) == -1) {
		fatal_remote(&b, err);
		goto done;
	}
	if (c->verbose || c->tty) {
		char s1[32], s2[32], s3[32];
		double t = client_progress_elapsed(&b.prog.line);

		client_fmt_bytes((double)b.bytes, s1, sizeof(s1));
		client_fmt_bytes((double)b.read_bytes, s2, sizeof(s2));
		client_fmt_bytes((double)b.sent_bytes, s3, sizeof(s3));
		fprintf(stderr, "%llu files (%llu unchanged), %llu dirs, "
		    "%llu other entries, %s; read %s, asked about %llu blobs, "
		    "sent %llu new blobs (%s) in %.1f s\n",
		    (unsigned long long)b.files,
		    (unsigned long long)b.unchanged,
		    (unsigned long long)b.dirs, (unsigned long long)b.others,
		    s1, s2, (unsigned long long)b.asked,
		    (unsigned long long)b.new_blobs, s3, t);
	}
	/* The newest of the set now, as far as this client knows. */
	memset(&made, 0, sizeof(made));
	made.id = snapid;
	snprintf(made.set, sizeof(made.set), "%s", client_set(c));
	made.time = when;
	memcpy(made.root, rootid, BLOB_ID_LEN);
	memcpy(made.meta, metaid, BLOB_ID_LEN);
	chain_remember(c, &made);
	*saved = 1;
	if (!quiet) {
		char s1[32], s2[32], ex[48] = "";
		double t = client_progress_elapsed(&b.prog.line);

		client_fmt_bytes((double)b.bytes, s1, sizeof(s1));
		client_fmt_bytes((double)b.new_plain, s2, sizeof(s2));
		if (b.excluded > 0)
			snprintf(ex, sizeof(ex), ", %llu excluded",
			    (unsigned long long)b.excluded);
		printf("snapshot %llu saved: %llu files, %s (%s new)%s, "
		    "%llu problem%s, %.1f s\n", (unsigned long long)snapid,
		    (unsigned long long)b.files, s1, s2, ex,
		    (unsigned long long)b.problems, b.problems == 1 ? "" :
		    "s", t);
	} else if (b.problems > 0)
		warnx("snapshot %llu saved with %llu problem%s (named above)",
		    (unsigned long long)snapid,
		    (unsigned long long)b.problems, b.problems == 1 ? "" :
		    "s");
	rc = b.problems > 0 ? EXIT_PARTIAL : 0;

done:
	*problems = b.problems;
	*parent_gone = b.parent_gone;
	if (c->result != NULL) {
		c->result->saved = *saved;
		c->result->snapid = *saved ? snapid : 0;
		c->result->files = b.files;
		c->result->dirs = b.dirs;
		c->result->bytes = b.bytes;
		c->result->read_bytes += b.read_bytes;
		c->result->sent_bytes += b.sent_bytes;
		c->result->new_blobs += b.new_blobs;
		c->result->problems = b.problems;
	}
	if (b.prog.running) {
		atomic_store(&b.prog.stop, 1);
		pthread_join(b.prog.thread, NULL);
	}
	if (b.pool != NULL) {
		drain_all(&b);
		pool_free(b.pool);
	}
	ptree_free(&rpt);
	idset_free(b.ids);
	free(b.rbuf);
	free(snaps);
	return rc;
}

/* --exclude-if-present NAME (or ExcludeIfPresent): a plain name. */
static int
add_if_present(struct select *sel, char *name)
{
	char **v;

	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > 255) {
		warnx("--exclude-if-present \"%s\": not a file name", name);
		return -1;
	}
	if ((v = reallocarray(sel->if_present, sel->nif_present + 1,
	    sizeof(*v))) == NULL) {
		warnx("out of memory");
		return -1;
	}
	sel->if_present = v;
	v[sel->nif_present++] = name;
	return 0;
}

/*
 * The selection of the set in effect (a BackupSet section of client.conf)
 * added to the command line's: its excludes add to ours; its Paths are
 * returned in *paths when the command line gives none.
 */
static int
select_from_conf(struct client *c, struct select *sel, char ***paths,
    int *npaths)
{
	const struct clientconf_set *cs;
	char err[1024];

	if ((cs = clientconf_set(c->conf, client_set(c))) == NULL)
		return 0;
	for (size_t i = 0; i < cs->nexclude; i++)
		if (patterns_add(sel->excl, cs->exclude[i], err,
		    sizeof(err)) == -1) {
			warnx("%s: BackupSet %s: Exclude \"%s\": %s",
			    c->conf->file, cs->name, cs->exclude[i], err);
			return -1;
		}
	for (size_t i = 0; i < cs->nexclude_file; i++)
		if (patterns_add_file(sel->excl, cs->exclude_file[i], err,
		    sizeof(err)) == -1) {
			warnx("%s: BackupSet %s: ExcludeFile: %s",
			    c->conf->file, cs->name, err);
			return -1;
		}
	for (size_t i = 0; i < cs->nif_present; i++)
		if (add_if_present(sel, cs->if_present[i]) == -1)
			return -1;
	sel->caches |= cs->exclude_caches;
	sel->one_fs |= cs->one_fs;
	if (*npaths == 0 && cs->npaths > 0) {
		*paths = cs->paths;
		*npaths = (int)cs->npaths;
	}
	return 0;
}

/*
 * backup_run() in a session of its own (root or feed, as it takes them),
 * and once more without the parent, in a new session, when blobs of the
 * parent are gone; strict: any problem is an error.  Prints the line of
 * a snapshot not saved (start: mono_ms() at the command's start).
 * Returns the exit status.
 */
static int
backup_session(struct client *c, struct vnode *root, const struct feed *feed,
    char **paths, int npaths, const struct select *sel, uint64_t missing,
    int noparent, int quiet, int strict, int64_t start)
{
	uint64_t problems = 0;
	int gone, saved = 0, rc = EXIT_ERROR;

	if (client_keys(c) == -1 || client_session(c) == -1)
		goto nosnap;
	raise_nofile();
	tune_malloc();

	rc = backup_run(c, root, feed, paths, npaths, sel, missing, noparent,
	    quiet, 1, &gone, &saved, &problems);
	if (gone) {
		/*
		 * A blob of the parent is gone for good (a lost pack, a
		 * scrub), or was pruned while we ran: once more without a
		 * parent, in a new session (the server ended this one).
		 */
		warnx("warning: backing up again without the parent "
		    "snapshot (every file is read again)");
		remote_close(c->remote);
		c->remote = NULL;
		if (client_session(c) == -1)
			rc = EXIT_ERROR;
		else
			rc = backup_run(c, root, feed, paths, npaths, sel,
			    missing, 1, quiet, 0, &gone, &saved, &problems);
	}
	/*
	 * --strict (not StrictRollback, which is about rollbacks only):
	 * any problem is an error, though the snapshot stays saved.
	 */
	if (saved && problems > 0 && strict) {
		warnx("--strict: %llu problem%s (named above): exit status 2; "
		    "the snapshot is saved", (unsigned long long)problems,
		    problems == 1 ? "" : "s");
		rc = EXIT_ERROR;
	}
nosnap:
	if (!saved) {
		if (problems < missing)
			problems = missing;
		warnx("no snapshot saved (%llu problem%s, %.1f s)",
		    (unsigned long long)problems, problems == 1 ? "" : "s",
		    (double)(mono_ms() - start) / 1e3);
	}

	return rc;
}

int
backup_feed(struct client *c, const struct feed *f, int noparent, int quiet,
    int strict)
{
	struct select sel;
	char *paths[1];

	memset(&sel, 0, sizeof(sel));
	paths[0] = (char *)f->label;
	return backup_session(c, NULL, f, paths, 1, &sel, 0, noparent, quiet,
	    strict, mono_ms());
}

/*
 * A set of Type = mail (doc/mail.md): its mailboxes through the mail
 * helper (mailsrc.c's feed), with sel's excludes on the paths of the
 * snapshot.  No PATH may be given.
 */
static int
backup_mail(struct client *c, const struct clientconf_set *cs,
    const struct select *sel, int noparent, int quiet, int strict,
    int64_t start)
{
	struct mailsrc *ms;
	struct feed f;
	char err[1024], *paths[1];
	int rc;

	if ((ms = mailsrc_new(c, cs, &f, err, sizeof(err))) == NULL) {
		warnx("BackupSet %s: %s", cs->name, err);
		warnx("no snapshot saved (%.1f s)",
		    (double)(mono_ms() - start) / 1e3);
		return EXIT_ERROR;
	}
	paths[0] = (char *)f.label;
	rc = backup_session(c, NULL, &f, paths, 1, sel, 0, noparent, quiet,
	    strict, start);
	if (!quiet || c->verbose)
		mailsrc_summary(ms, stdout);
	mailsrc_free(ms);
	return rc;
}

int
cmd_backup(struct client *c, int argc, char **argv)
{
	enum { OPT_NOPARENT = OPT_CMD_FIRST, OPT_EXCLUDE, OPT_EXCLUDE_FILE,
	    OPT_EXCLUDE_CACHES, OPT_EXCLUDE_IF_PRESENT, OPT_INCLUDE_NODUMP };
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-parent", no_argument, NULL, OPT_NOPARENT },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "exclude-file", required_argument, NULL, OPT_EXCLUDE_FILE },
		{ "exclude-caches", no_argument, NULL, OPT_EXCLUDE_CACHES },
		{ "exclude-if-present", required_argument, NULL,
		    OPT_EXCLUDE_IF_PRESENT },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "include-nodump", no_argument, NULL, OPT_INCLUDE_NODUMP },
		{ "no-nodump", no_argument, NULL, OPT_INCLUDE_NODUMP },
		CLIENT_STRICT_OPT,
		{ NULL, 0, NULL, 0 }
	};
	struct select sel;
	struct vnode *root = NULL;
	const struct clientconf_set *cs;
	char **args, **paths = NULL, err[1024];
	uint64_t missing = 0;
	int ch, quiet = 0, noparent = 0, strict = 0, nargs, npaths = 0;
	int rc = EXIT_ERROR;
	int64_t start = mono_ms();

	memset(&sel, 0, sizeof(sel));
	sel.nodump = 1;
	if ((sel.excl = patterns_new()) == NULL) {
		warnx("out of memory");
		return EXIT_ERROR;
	}
	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS "qx", longopts,
	    NULL)) != -1) {
		if (ch == OPT_STRICT)
			strict = 1;	/* not StrictRollback: see below */
		if (client_opt(c, ch, optarg))
			continue;
		switch (ch) {
		case 'q':
			quiet = 1;
			break;
		case 'x':
			sel.one_fs = 1;
			break;
		case OPT_NOPARENT:
			noparent = 1;
			break;
		case OPT_EXCLUDE:
			if (patterns_add(sel.excl, optarg, err,
			    sizeof(err)) == -1) {
				warnx("--exclude \"%s\": %s", optarg, err);
				goto done;
			}
			break;
		case OPT_EXCLUDE_FILE:
			if (patterns_add_file(sel.excl, optarg, err,
			    sizeof(err)) == -1) {
				warnx("--exclude-file: %s", err);
				goto done;
			}
			break;
		case OPT_EXCLUDE_CACHES:
			sel.caches = 1;
			break;
		case OPT_EXCLUDE_IF_PRESENT:
			if (add_if_present(&sel, optarg) == -1)
				goto done;
			break;
		case OPT_INCLUDE_NODUMP:
			sel.nodump = 0;
			break;
		default:
			rc = client_usage(c);
			goto done;
		}
	}
	args = argv + optind;
	nargs = argc - optind;
	if (client_setup(c) == -1)
		goto done;
	cs = clientconf_set(c->conf, client_set(c));
	if (cs != NULL && cs->mail && nargs > 0) {
		warnx("BackupSet %s is a mail set (Type = mail): it takes no "
		    "PATH", cs->name);
		goto done;
	}
	if (select_from_conf(c, &sel, &args, &nargs) == -1)
		goto done;
	if (patterns_count(sel.excl) == 0) {
		patterns_free(sel.excl);	/* the walk skips the calls */
		sel.excl = NULL;
	}
	if (cs != NULL && cs->mail) {
		rc = backup_mail(c, cs, &sel, noparent, quiet, strict, start);
		goto done;
	}
	if (nargs == 0) {
		if (clientconf_set(c->conf, client_set(c)) == NULL)
			rc = client_usage(c);
		else
			warnx("no PATH given, and BackupSet %s in %s has no "
			    "Paths", client_set(c), c->conf->file);
		goto done;
	}

	if ((paths = calloc((size_t)nargs, sizeof(*paths))) == NULL ||
	    (root = calloc(1, sizeof(*root))) == NULL ||
	    (root->path = strdup("/")) == NULL) {
		warnx("out of memory");
		goto done;
	}
	/* A PATH that is not there is named and left out; the rest is saved. */
	for (int i = 0; i < nargs; i++) {
		struct stat st;
		char *p;

		if ((p = abs_path(args[i])) == NULL || lstat(p, &st) == -1) {
			int e = errno;

			free(p);
			warnx("%s: %s, not saved", args[i], strerror(e));
			missing++;
			continue;
		}
		paths[npaths++] = p;
		if (vnode_add(root, p) == -1) {
			warnx("out of memory");
			goto done;
		}
	}
	if (npaths == 0) {
		warnx("no snapshot saved: none of the paths can be read");
		goto done;
	}
	rc = backup_session(c, root, NULL, paths, npaths, &sel, missing,
	    noparent, quiet, strict, start);

done:
	vnode_free(root);
	if (paths != NULL)
		for (int i = 0; i < npaths; i++)
			free(paths[i]);
	free(paths);
	free(sel.if_present);
	patterns_free(sel.excl);
	return fflush(stdout) == 0 ? rc : EXIT_ERROR;
}
