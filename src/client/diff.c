/*
 * diff.c - "gigavault diff SNAP1 SNAP2 [PATH]": the paths added (+),
 * removed (-) and changed (M, with what changed) from one snapshot to
 * another, as text or JSON, and the counts.
 *
 * Nothing is read but trees.  Files are compared by their chunk ids (the
 * ids are keyed hashes of the contents, the same key for every snapshot
 * of this client), and a directory whose subtree id is the same in both
 * is the same all the way down (the id is the hash of its pages, which
 * hold the ids below), so it is not read at all: a diff costs the
 * directories that changed, not the size of the snapshots.
 */
#include "autoconf.h"

#include <err.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define DIFF_DEPTH_MAX	4096	/* nested directories */

/* What can change about an entry, in the order they are shown. */
enum {
	CH_TYPE = 1 << 0,
	CH_CONTENT = 1 << 1,
	CH_MODE = 1 << 2,
	CH_OWNER = 1 << 3,
	CH_TIMES = 1 << 4,
	CH_XATTRS = 1 << 5,
	CH_FLAGS = 1 << 6,
};
static const char *const ch_names[] = {
	"type", "content", "mode", "owner", "times", "xattrs", "flags",
};

struct diff {
	struct client	*c;
	int		 json;
	int		 first;		/* no JSON object printed yet */
	uint64_t	 added, removed, changed;
};

static int
same_xattrs(const struct node *a, const struct node *b)
{
	if (a->nxattrs != b->nxattrs)
		return 0;
	for (uint32_t i = 0; i < a->nxattrs; i++) {
		const struct node_xattr *x = &a->xattrs[i], *y = &b->xattrs[i];

		if (strcmp(x->name, y->name) != 0 || x->len != y->len ||
		    (x->len > 0 && memcmp(x->value, y->value, x->len) != 0))
			return 0;
	}
	return 1;
}

/* What differs between a and b (the same path in both snapshots). */
static int
changes(const struct node *a, const struct node *b)
{
	int ch = 0;

	if (a->type != b->type)
		return CH_TYPE;
	switch (a->type) {
	case NODE_FILE:
		if (a->size != b->size || a->nchunks != b->nchunks ||
		    a->clevel != b->clevel || a->nholes != b->nholes ||
		    (a->nchunks > 0 && memcmp(a->chunks, b->chunks,
		    (size_t)a->nchunks * BLOB_ID_LEN) != 0) ||
		    (a->nholes > 0 && memcmp(a->holes, b->holes,
		    (size_t)a->nholes * sizeof(*a->holes)) != 0))
			ch |= CH_CONTENT;
		break;
	case NODE_SYMLINK:
		if (strcmp(a->target ? a->target : "",
		    b->target ? b->target : "") != 0)
			ch |= CH_CONTENT;
		break;
	case NODE_CHR:
	case NODE_BLK:
		if (a->rdev != b->rdev)
			ch |= CH_CONTENT;
		break;
	}
	if ((a->mode & 07777) != (b->mode & 07777))
		ch |= CH_MODE;
	if (a->uid != b->uid || a->gid != b->gid)
		ch |= CH_OWNER;
	if (a->mtime_sec != b->mtime_sec || a->mtime_nsec != b->mtime_nsec)
		ch |= CH_TIMES;
	if (!same_xattrs(a, b))
		ch |= CH_XATTRS;
	if (a->iflags != b->iflags)
		ch |= CH_FLAGS;
	return ch;
}

/* Print one change: sign '+', '-' or 'M' (then ch says what). */
static int
emit(struct diff *d, char sign, const char *path, const struct node *n,
    int ch)
{
	json_t *o, *what;
	char s[2] = { sign, '\0' };

	if (sign == '+')
		d->added++;
	else if (sign == '-')
		d->removed++;
	else
		d->changed++;
	if (!d->json) {
		printf("%c ", sign);
		client_putsafe(stdout, *path ? path : "/");
		for (size_t i = 0, k = 0; i < sizeof(ch_names) /
		    sizeof(ch_names[0]); i++)
			if (ch & (1 << i))
				printf("%s%s", k++ ? ", " : " (", ch_names[i]);
		printf("%s\n", ch ? ")" : "");
		return 0;
	}
	o = json_pack("{s:s, s:o, s:s}", "change", s, "path",
	    client_jstr(*path ? path : "/"), "type", client_type_name(n->type));
	if (o == NULL)
		return -1;
	if (sign == 'M') {
		if ((what = json_array()) == NULL) {
			json_decref(o);
			return -1;
		}
		for (size_t i = 0; i < sizeof(ch_names) / sizeof(ch_names[0]);
		    i++)
			if (ch & (1 << i))
				json_array_append_new(what,
				    json_string(ch_names[i]));
		json_object_set_new(o, "what", what);
	}
	return client_json_item(o, &d->first);
}

static int	diff_entry(struct diff *, const struct node *,
		    const struct node *, const char *, int);

/* Directory id at prefix into t.  0, or -1 after printing an error. */
static int
diff_load(struct diff *d, const uint8_t *id, const char *prefix, int depth,
    struct tree *t)
{
	char err[1024];

	if (depth > DIFF_DEPTH_MAX) {
		warnx("%s: directories nested too deep", prefix);
		return -1;
	}
	if (client_tree(d->c, id, t, err, sizeof(err)) != 0) {
		warnx("%s: %s", *prefix ? prefix : "/", err);
		return -1;
	}
	return 0;
}

/* Every entry below directory id, each as added or removed (sign). */
static int
diff_all(struct diff *d, char sign, const uint8_t *id, const char *prefix,
    int depth)
{
	struct tree t;
	char *path;
	int rc = 0;

	if (diff_load(d, id, prefix, depth, &t) == -1)
		return -1;
	for (uint32_t i = 0; i < t.n && rc == 0; i++) {
		if ((path = client_path_join(prefix, t.nodes[i].name)) == NULL) {
			warnx("out of memory");
			rc = -1;
			break;
		}
		rc = diff_entry(d, sign == '-' ? &t.nodes[i] : NULL,
		    sign == '+' ? &t.nodes[i] : NULL, path, depth + 1);
		free(path);
	}
	tree_free(&t);
	return rc;
}

/* Directories a and b (subtree ids) at prefix: their entries merged. */
static int
diff_dirs(struct diff *d, const uint8_t *a, const uint8_t *b,
    const char *prefix, int depth)
{
	struct tree ta, tb;
	char *path;
	uint32_t i = 0, j = 0;
	int rc = 0, cmp;

	if (memcmp(a, b, BLOB_ID_LEN) == 0)
		return 0;	/* the same all the way down */
	if (diff_load(d, a, prefix, depth, &ta) == -1)
		return -1;
	if (diff_load(d, b, prefix, depth, &tb) == -1) {
		tree_free(&ta);
		return -1;
	}
	while (rc == 0 && (i < ta.n || j < tb.n)) {
		const struct node *na = NULL, *nb = NULL;

		if (i == ta.n)
			cmp = 1;
		else if (j == tb.n)
			cmp = -1;
		else
			cmp = strcmp(ta.nodes[i].name, tb.nodes[j].name);
		if (cmp <= 0)
			na = &ta.nodes[i++];
		if (cmp >= 0)
			nb = &tb.nodes[j++];
		if ((path = client_path_join(prefix, na ? na->name : nb->name)) == NULL) {
			warnx("out of memory");
			rc = -1;
			break;
		}
		rc = diff_entry(d, na, nb, path, depth + 1);
		free(path);
	}
	tree_free(&ta);
	tree_free(&tb);
	return rc;
}

/* The entry at path: a in the first snapshot, b in the second (or NULL). */
static int
diff_entry(struct diff *d, const struct node *a, const struct node *b,
    const char *path, int depth)
{
	int ch;

	if (a == NULL) {
		if (emit(d, '+', path, b, 0) == -1)
			goto oom;
		return b->type == NODE_DIR ? diff_all(d, '+', b->subtree,
		    path, depth) : 0;
	}
	if (b == NULL) {
		if (emit(d, '-', path, a, 0) == -1)
			goto oom;
		return a->type == NODE_DIR ? diff_all(d, '-', a->subtree,
		    path, depth) : 0;
	}
	if ((ch = changes(a, b)) != 0 && emit(d, 'M', path, b, ch) == -1)
		goto oom;
	if (ch & CH_TYPE) {
		/* What was below the old one is gone, the new one's is new. */
		if (a->type == NODE_DIR &&
		    diff_all(d, '-', a->subtree, path, depth) == -1)
			return -1;
		if (b->type == NODE_DIR &&
		    diff_all(d, '+', b->subtree, path, depth) == -1)
			return -1;
		return 0;
	}
	if (a->type == NODE_DIR)
		return diff_dirs(d, a->subtree, b->subtree, path, depth);
	return 0;
oom:
	warnx("out of memory");
	return -1;
}

/*
 * The node at path (normalized) in the snapshot with root id root: *nd
 * (in *page, which the caller frees when *nd is not NULL), or NULL when
 * it is not there.  0, or -1 after printing an error.
 */
static int
find_path(struct diff *d, const uint8_t *root, const char *path,
    struct tree *page, struct node **nd)
{
	struct client_rk rk = { d->c->remote, &d->c->keys, NULL };
	char err[1024];
	size_t stop;
	int notdir, rc;

	rc = client_tree_path(&rk, root, path, page, nd, &stop, &notdir, err,
	    sizeof(err));
	client_rk_free(&rk);
	if (rc != 0) {
		warnx("%s", err);
		return -1;
	}
	return 0;
}

int
cmd_diff(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct diff d = { c, 0, 1, 0, 0, 0 };
	struct snapinfo sa, sb;
	struct tree pa, pb;
	struct node *na = NULL, *nb = NULL;
	char *path = NULL;
	int ch, rc = -1;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1)
		if (!client_opt(c, ch, optarg))
			return client_usage(c);
	if (argc - optind < 2 || argc - optind > 3)
		return client_usage(c);
	d.json = c->json;
	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1 ||
	    client_snapshot(c, argv[optind], c->set, &sa) == -1 ||
	    client_snapshot(c, argv[optind + 1], c->set, &sb) == -1)
		return EXIT_ERROR;

	if (argc - optind == 3 && (path = client_path_norm(argv[optind +
	    2])) == NULL) {
		warnx("out of memory");
		return EXIT_ERROR;
	}
	/* The path as shown: "/a/b"; none, or the root: the snapshots. */
	if (path == NULL || *path == '\0')
		rc = diff_dirs(&d, sa.root, sb.root, "", 0);
	else if (find_path(&d, sa.root, path, &pa, &na) == 0 &&
	    find_path(&d, sb.root, path, &pb, &nb) == 0) {
		if (na == NULL && nb == NULL)
			warnx("%s: in neither snapshot %llu nor %llu",
			    argv[optind + 2], (unsigned long long)sa.id,
			    (unsigned long long)sb.id);
		else
			rc = diff_entry(&d, na, nb, path, 0);
	}
	free(path);
	if (na != NULL)
		tree_free(&pa);
	if (nb != NULL)
		tree_free(&pb);
	if (rc == -1)
		return EXIT_ERROR;
	if (d.json)
		client_json_end(d.first);
	else
		printf("%llu added, %llu removed, %llu changed\n",
		    (unsigned long long)d.added,
		    (unsigned long long)d.removed,
		    (unsigned long long)d.changed);
	return fflush(stdout) == 0 ? 0 : EXIT_ERROR;
}
