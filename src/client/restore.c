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

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>
#include <getopt.h>

#include "blob.h"
#include "chunker.h"
#include "client.h"
#include "remote.h"
#include "restore.h"
#include "tree.h"
#include "wire.h"

#define TREE_BLOB_MAX	(256u << 20)	/* plaintext of one tree blob */
#define OPEN_FILES_MAX	256		/* files written at once */

struct hardlink {
	uint64_t	 dev, inode;
	char		*relpath;	/* from the target, of the first copy */
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
};

/* A file being written: where its chunks go. */
struct wfile {
	const struct node *n;
	char		*relpath;
	int		 dirfd;
	int		 fd;
	uint32_t	 next;		/* next chunk expected */
	int		 damaged;
};

static void
problem(struct rctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct rctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	fputs("gigavault: ", stderr);
	client_putsafe(stderr, *path ? path : "/");
	fputs(": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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

static char *
join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

/* ---------------------------------------------------------------- trees */

struct tree_fetch {
	const struct keys *k;
	struct tree	*t;
	int		 got;
	char		 why[160];
};

static int
tree_cb(void *arg, const uint8_t *id, const uint8_t *blob, size_t len)
{
	struct tree_fetch *f = arg;
	uint8_t *body;
	size_t bodylen;

	if (blob == NULL) {
		snprintf(f->why, sizeof(f->why), "tree blob missing on the "
		    "server");
		return 0;
	}
	if (blob_open(f->k, BLOB_TREE, id, blob, len, TREE_BLOB_MAX, &body,
	    &bodylen, f->why, sizeof(f->why)) == -1)
		return 0;
	if (tree_decode(body, bodylen, f->t, f->why, sizeof(f->why)) == 0)
		f->got = 1;
	free(body);
	return 0;
}

/* Fetch and decode tree id.  Returns 0, or -1 (problem reported, or
 * fatal error set when the connection failed). */
static int
fetch_tree(struct rctx *c, const uint8_t id[BLOB_ID_LEN], struct tree *t,
    const char *path)
{
	struct tree_fetch f = { c->k, t, 0, "" };
	char err[256];

	tree_init(t);
	if (remote_get(c->r, (const uint8_t (*)[BLOB_ID_LEN])id, 1, tree_cb,
	    &f, err, sizeof(err)) != 0) {
		fatal_error(c, "%s", err);
		return -1;
	}
	if (!f.got) {
		problem(c, path, "directory not restored: %s", f.why);
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

/* Owner, mode and times of an open file or directory. */
static void
apply_meta_fd(struct rctx *c, int fd, const struct node *n, const char *path)
{
	struct timespec ts[2];

	if (c->is_root && fchown(fd, n->uid, n->gid) == -1)
		problem(c, path, "cannot set owner: %s", strerror(errno));
	if (fchmod(fd, n->mode & 07777) == -1)
		problem(c, path, "cannot set mode: %s", strerror(errno));
	set_times(ts, n);
	if (futimens(fd, ts) == -1)
		problem(c, path, "cannot set times: %s", strerror(errno));
}

/* Owner and times of a symlink or special file, without following it. */
static void
apply_meta_at(struct rctx *c, int dirfd, const struct node *n,
    const char *path)
{
	struct timespec ts[2];

	if (c->is_root && fchownat(dirfd, n->name, n->uid, n->gid,
	    AT_SYMLINK_NOFOLLOW) == -1)
		problem(c, path, "cannot set owner: %s", strerror(errno));
	if (n->type != NODE_SYMLINK && fchmodat(dirfd, n->name,
	    n->mode & 07777, 0) == -1)
		problem(c, path, "cannot set mode: %s", strerror(errno));
	set_times(ts, n);
	if (utimensat(dirfd, n->name, ts, AT_SYMLINK_NOFOLLOW) == -1)
		problem(c, path, "cannot set times: %s", strerror(errno));
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

static void
hardlink_remember(struct rctx *c, const struct node *n, const char *relpath)
{
	if (c->nhl == c->caphl) {
		size_t cap = c->caphl ? c->caphl * 2 : 64;
		struct hardlink *p = reallocarray(c->hl, cap, sizeof(*p));

		if (p == NULL)
			return;		/* the next link becomes a copy */
		c->hl = p;
		c->caphl = cap;
	}
	if ((c->hl[c->nhl].relpath = strdup(relpath)) == NULL)
		return;
	c->hl[c->nhl].dev = n->dev;
	c->hl[c->nhl].inode = n->inode;
	c->nhl++;
}

struct chunk_fetch {
	struct rctx	*c;
	struct wfile	*files;
	uint32_t	*which;		/* file index of each requested id */
	size_t		 i;		/* blobs received so far */
};

static int
chunk_cb(void *arg, const uint8_t *id, const uint8_t *blob, size_t len)
{
	struct chunk_fetch *f = arg;
	struct wfile *w = &f->files[f->which[f->i++]];
	char why[160];
	uint8_t *body;
	size_t bodylen, done = 0;

	if (w->damaged)
		return 0;
	if (blob == NULL) {
		problem(f->c, w->relpath, "chunk %u not available from the "
		    "server (missing or damaged there)",
		    w->next);
		w->damaged = 1;
		return 0;
	}
	if (blob_open(f->c->k, BLOB_DATA, id, blob, len, CHUNK_MAX, &body,
	    &bodylen, why, sizeof(why)) == -1) {
		problem(f->c, w->relpath, "chunk %u damaged: %s", w->next, why);
		w->damaged = 1;
		return 0;
	}
	while (done < bodylen) {
		ssize_t n = write(w->fd, body + done, bodylen - done);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			problem(f->c, w->relpath, "write: %s", strerror(errno));
			w->damaged = 1;
			break;
		}
		done += (size_t)n;
	}
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
}

/* Fetch the chunks of files[0..n) and write them; then finish each file. */
static void
write_files(struct rctx *c, struct wfile *files, size_t n)
{
	uint8_t (*ids)[BLOB_ID_LEN] = calloc(WIRE_BATCH_MAX, sizeof(*ids));
	uint32_t *which = calloc(WIRE_BATCH_MAX, sizeof(*which));
	size_t nid = 0;

	if (ids == NULL || which == NULL)
		fatal_error(c, "out of memory");
	for (size_t f = 0; f < n && !c->fatal; f++)
		for (uint32_t k = 0; k < files[f].n->nchunks && !c->fatal; k++) {
			if (nid == WIRE_BATCH_MAX) {
				fetch_chunks(c, files,
				    (const uint8_t (*)[BLOB_ID_LEN])ids, which,
				    nid);
				nid = 0;
			}
			memcpy(ids[nid], files[f].n->chunks[k], BLOB_ID_LEN);
			which[nid++] = (uint32_t)f;
		}
	if (nid > 0 && !c->fatal)
		fetch_chunks(c, files, (const uint8_t (*)[BLOB_ID_LEN])ids,
		    which, nid);

	for (size_t f = 0; f < n; f++) {
		struct wfile *w = &files[f];

		if (!c->fatal && !w->damaged && w->next == w->n->nchunks) {
			apply_meta_fd(c, w->fd, w->n, w->relpath);
			c->st->files++;
			if (c->o->verbose) {
				client_putsafe(stdout, w->relpath);
				putchar('\n');
			}
		} else if (!c->fatal) {
			/* Never leave a file with wrong contents behind. */
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

/* Open (creating when missing) the directory name under dirfd, safely. */
static int
open_dir(struct rctx *c, int dirfd, const char *name, const char *path)
{
	int fd;

	if (mkdirat(dirfd, name, 0700) == -1 && errno != EEXIST) {
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

/* Restore every entry of t into dirfd (whose path is dirpath). */
static void
restore_entries(struct rctx *c, int dirfd, const char *dirpath,
    const struct tree *t)
{
	struct wfile *files;
	size_t nfiles = 0;

	if ((files = calloc(OPEN_FILES_MAX, sizeof(*files))) == NULL) {
		fatal_error(c, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < t->n && !c->fatal; i++) {
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

static void
restore_dir_node(struct rctx *c, int dirfd, const struct node *n,
    const char *path)
{
	struct tree sub;
	int fd;

	if ((fd = open_dir(c, dirfd, n->name, path)) == -1)
		return;
	if (fetch_tree(c, n->subtree, &sub, path) == 0) {
		restore_entries(c, fd, path, &sub);
		tree_free(&sub);
	}
	if (!c->fatal) {
		apply_meta_fd(c, fd, n, path);
		c->st->dirs++;
	}
	close(fd);
}

static void
restore_file_node(struct rctx *c, int dirfd, const struct node *n,
    const char *path, struct wfile *files, size_t *nfiles)
{
	struct hardlink *h;
	int fd;

	if (make_room(c, dirfd, n->name, path) == -1)
		return;
	if (n->nlink > 1 && (h = hardlink_find(c, n)) != NULL) {
		if (linkat(c->targetfd, h->relpath + 1, dirfd, n->name, 0) == 0) {
			c->st->links++;
			return;
		}
		/* Fall through: restore a copy instead. */
	}
	fd = openat(dirfd, n->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		problem(c, path, "cannot create: %s", strerror(errno));
		return;
	}
	files[*nfiles] = (struct wfile){ n, strdup(path), dirfd, fd, 0, 0 };
	if (files[*nfiles].relpath == NULL) {
		close(fd);
		fatal_error(c, "out of memory");
		return;
	}
	(*nfiles)++;
	/* Later names of this inode become links to this file. */
	if (n->nlink > 1)
		hardlink_remember(c, n, path);
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
	c->st->files++;
	if (c->o->verbose) {
		client_putsafe(stdout, path);
		putchar('\n');
	}
}

static void
restore_node(struct rctx *c, int dirfd, const char *dirpath,
    const struct node *n, struct wfile *files, size_t *nfiles)
{
	char *path = join(dirpath, n->name);

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

/* ---------------------------------------------------------------- selection */

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
		restore_entries(c, dirfd, dirpath, t);
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
		char *path = join(dirpath, n->name);

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
		char *path = join(dirpath, n->name);
		struct tree sub;
		int fd;

		if (path == NULL) {
			fatal_error(c, "out of memory");
			return;
		}
		if ((fd = open_dir(c, dirfd, n->name, path)) != -1) {
			if (fetch_tree(c, n->subtree, &sub, path) == 0) {
				restore_path(c, fd, path, &sub, slash, wanted);
				tree_free(&sub);
			}
			if (!c->fatal)
				apply_meta_fd(c, fd, n, path);
			close(fd);
		}
		free(path);
	}
}

static int
open_target(const char *target, char *err, size_t errlen)
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
	struct tree root;

	memset(st, 0, sizeof(*st));
	memset(&c, 0, sizeof(c));
	c.r = r;
	c.k = k;
	c.o = o;
	c.st = st;
	c.err = err;
	c.errlen = errlen;
	c.is_root = geteuid() == 0;
	if ((c.targetfd = open_target(o->target, err, errlen)) == -1)
		return 2;

	if (fetch_tree(&c, snap->root, &root, "") == -1) {
		if (!c.fatal)
			snprintf(err, errlen, "snapshot %llu: root directory "
			    "unreadable", (unsigned long long)snap->id);
		close(c.targetfd);
		return 2;
	}
	if (o->npaths == 0)
		restore_entries(&c, c.targetfd, "", &root);
	for (int i = 0; i < o->npaths && !c.fatal; i++) {
		char *rest = strdup(o->paths[i]);

		if (rest == NULL) {
			fatal_error(&c, "out of memory");
			break;
		}
		restore_path(&c, c.targetfd, "", &root, rest, o->paths[i]);
		free(rest);
	}
	tree_free(&root);
	for (size_t i = 0; i < c.nhl; i++)
		free(c.hl[i].relpath);
	free(c.hl);
	close(c.targetfd);
	if (c.fatal)
		return 2;
	return st->problems ? 1 : 0;
}

/* ---------------------------------------------------------------- command */

int
cmd_restore(struct client *c, int argc, char **argv)
{
	enum { OPT_TARGET = OPT_CMD_FIRST, OPT_OVERWRITE };
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ NULL, 0, NULL, 0 }
	};
	struct restore_opts o = { 0 };
	struct restore_stats st;
	struct snapinfo snap;
	char err[512];
	int ch, rc;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
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
		default:
			return client_usage(argv[0]);
		}
	}
	if (o.target == NULL || *o.target == '\0' || optind >= argc) {
		if (o.target == NULL)
			warnx("restore: --target DIR is required");
		return client_usage(argv[0]);
	}
	o.paths = argv + optind + 1;
	o.npaths = argc - optind - 1;
	o.verbose = c->verbose;

	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1 ||
	    client_snapshot(c, argv[optind], c->set, &snap) == -1)
		return EXIT_ERROR;
	rc = restore_snapshot(c->remote, &c->keys, &snap, &o, &st, err,
	    sizeof(err));
	if (rc == 2)
		warnx("restore: %s", err);
	if (c->verbose || rc == 1)
		fprintf(stderr, "restored %llu files, %llu directories, %llu "
		    "links, %llu bytes%s\n", (unsigned long long)st.files,
		    (unsigned long long)st.dirs, (unsigned long long)st.links,
		    (unsigned long long)st.bytes, st.problems ?
		    "; some entries had problems (above)" : "");
	return rc;
}
