/*
 * gv-forge.c - a hostile snapshot maker for the restore-safety test.
 *
 * It holds a client's keys (like a server that stole them, or a bug), so
 * it can seal any tree it likes, including trees that tree_encode()
 * would never write: names "..", names with '/', and a symlink that
 * points out of the restore target followed (in a second snapshot) by a
 * directory of the same name with a file in it.
 *
 *	gv-forge -c CLIENT.CONF OUTSIDE
 *
 * prints "SNAP1 SNAP2": SNAP1 has "dots" (a tree holding ".."),
 * "evil" (a symlink to OUTSIDE), "ok/fine" (a normal file) and "slash" (a
 * tree holding "a/b"); SNAP2 has "evil/pwned".
 *
 *	gv-forge -c CLIENT.CONF --lie
 *
 * prints "SNAP": a snapshot whose root page, holding "a" and "b", is
 * stored with links that are not its own (protocol version 3: the
 * server keeps what it is told, as a lying or broken server would).
 *
 *	gv-forge -c CLIENT.CONF --bad-level
 *
 * prints "SNAP": a snapshot whose root page holds "a", a file that says
 * its ids are chunk lists of level 2 while they are of level 1, "b", a
 * sound file, and "d", a directory whose tree is a chunk list (each
 * blob stored with its true links, so only kinds and levels are wrong).
 *
 *	gv-forge -c CLIENT.CONF --bad-size
 *
 * prints "SNAP": a snapshot whose files' chunks and holes do not make
 * their sizes: "short" (a 7-byte chunk, size 100), "long" (the same
 * chunk, size 3), "holey" (a 5-byte hole and the chunk, size 20), and
 * "ok", sound (a 5-byte hole and the chunk, size 12).
 *
 *	gv-forge -c CLIENT.CONF --old-meta SET
 *
 * prints "SNAP": a snapshot of SET, now, with an empty root and a meta
 * as clients wrote it before rollback detection (no set, root nor
 * parent), for t/45-rollback.t.
 */
#include "autoconf.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/blob.h"
#include "client/client.h"
#include "client/remote.h"
#include "client/tree.h"

/*
 * Seal body as a blob of kind, upload it (with links[0..nlinks) when
 * there are any; the server must speak protocol version 3).
 */
static void
upload_linked(struct client *c, enum blob_kind kind, const uint8_t *body,
    size_t len, const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks,
    uint8_t id[BLOB_ID_LEN])
{
	uint8_t *sealed, missing = 1;
	size_t slen;
	char e[256];

	blob_id(&c->keys, kind, body, len, id);
	if (blob_seal(&c->keys, kind, body, len, id, 1, &sealed, &slen) == -1)
		errx(2, "blob_seal");
	if (remote_have(c->remote, (const uint8_t (*)[BLOB_ID_LEN])id, 1,
	    &missing, e, sizeof(e)) == -1)
		errx(2, "have: %s", e);
	if (missing && remote_put_linked(c->remote, id, links, nlinks, sealed,
	    slen, e, sizeof(e)) == -1)
		errx(2, "put: %s", e);
	free(sealed);
}

static void
upload(struct client *c, enum blob_kind kind, const uint8_t *body,
    size_t len, uint8_t id[BLOB_ID_LEN])
{
	upload_linked(c, kind, body, len, NULL, 0, id);
}

static struct node *
add(struct tree *t, const char *name, int type)
{
	struct node *n = tree_add(t);

	if (n == NULL || (n->name = strdup(name)) == NULL)
		err(2, NULL);
	n->type = (uint8_t)type;
	n->mode = type == NODE_DIR ? 0755 : 0644;
	n->mtime_sec = n->atime_sec = 1600000000;
	n->nlink = 1;
	return n;
}

/*
 * Encode t, replace the first occurrence of from with to (same length)
 * in the encoded bytes, and upload the result as a tree blob.
 */
static void
upload_tree(struct client *c, struct tree *t, const char *from,
    const char *to, uint8_t id[BLOB_ID_LEN])
{
	uint8_t *p, (*links)[BLOB_ID_LEN];
	uint32_t nlinks;
	size_t len;

	tree_sort(t);
	if (tree_encode(t, &p, &len) == -1 ||
	    tree_page_links(t, &links, &nlinks) == -1)
		errx(2, "tree_encode");
	if (from != NULL) {
		size_t fl = strlen(from);
		uint8_t *hit = memmem(p, len, from, fl);

		if (hit == NULL || strlen(to) != fl)
			errx(2, "cannot patch %s", from);
		memcpy(hit, to, fl);
	}
	upload_linked(c, BLOB_TREE, p, len,
	    (const uint8_t (*)[BLOB_ID_LEN])links, nlinks, id);
	free(p);
	free(links);
	tree_free(t);
}

static uint64_t
commit(struct client *c, const uint8_t root[BLOB_ID_LEN])
{
	static const char meta[] = "{\"hostname\":\"forge\",\"paths\":[]}";
	uint8_t metaid[BLOB_ID_LEN];
	uint64_t snap;
	char e[256];

	upload(c, BLOB_META, (const uint8_t *)meta, sizeof(meta) - 1, metaid);
	if (remote_commit(c->remote, "forged", (uint64_t)time(NULL), root,
	    metaid, 0, 0, &snap, e, sizeof(e)) == -1)
		errx(2, "commit: %s", e);
	return snap;
}

/*
 * A root page holding the files "a" and "b" (one chunk each), stored
 * with the links [b's chunk, a's chunk]: both stored, but not in the
 * page's order, so not its links.
 */
static uint64_t
lie(struct client *c)
{
	static const uint8_t a[] = "file a\n", b[] = "file b\n";
	uint8_t ca[BLOB_ID_LEN], cb[BLOB_ID_LEN], root[BLOB_ID_LEN];
	uint8_t stated[2][BLOB_ID_LEN], *p;
	struct tree t;
	struct node *n;
	size_t len;

	upload(c, BLOB_DATA, a, sizeof(a) - 1, ca);
	upload(c, BLOB_DATA, b, sizeof(b) - 1, cb);
	tree_init(&t);
	n = add(&t, "a", NODE_FILE);
	n->size = sizeof(a) - 1;
	if ((n->chunks = malloc(BLOB_ID_LEN)) == NULL)
		err(2, NULL);
	memcpy(n->chunks[0], ca, BLOB_ID_LEN);
	n->nchunks = 1;
	n = add(&t, "b", NODE_FILE);
	n->size = sizeof(b) - 1;
	if ((n->chunks = malloc(BLOB_ID_LEN)) == NULL)
		err(2, NULL);
	memcpy(n->chunks[0], cb, BLOB_ID_LEN);
	n->nchunks = 1;
	if (tree_encode(&t, &p, &len) == -1)
		errx(2, "tree_encode");
	memcpy(stated[0], cb, BLOB_ID_LEN);
	memcpy(stated[1], ca, BLOB_ID_LEN);
	upload_linked(c, BLOB_TREE, p, len,
	    (const uint8_t (*)[BLOB_ID_LEN])stated, 2, root);
	free(p);
	tree_free(&t);
	return commit(c, root);
}

/* tree_emit_fn: seal and upload a list blob. */
static int
emit_upload(void *arg, uint8_t *body, size_t len,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks,
    uint8_t id[BLOB_ID_LEN])
{
	upload_linked(arg, BLOB_TREE, body, len, links, nlinks, id);
	free(body);
	return 0;
}

static struct node *
add_file(struct tree *t, const char *name, size_t len,
    const uint8_t id[BLOB_ID_LEN])
{
	struct node *n = add(t, name, NODE_FILE);

	n->size = len;
	if ((n->chunks = malloc(BLOB_ID_LEN)) == NULL)
		err(2, NULL);
	memcpy(n->chunks[0], id, BLOB_ID_LEN);
	n->nchunks = 1;
	return n;
}

static uint64_t
bad_level(struct client *c)
{
	static const uint8_t a[] = "file a\n", b[] = "file b\n";
	uint8_t ca[BLOB_ID_LEN], cb[BLOB_ID_LEN], root[BLOB_ID_LEN];
	uint8_t (*lists)[BLOB_ID_LEN] = NULL;
	uint32_t nlists = 0, cap = 0, used;
	struct tree t;
	struct node *n;

	upload(c, BLOB_DATA, a, sizeof(a) - 1, ca);
	upload(c, BLOB_DATA, b, sizeof(b) - 1, cb);
	/* Two lists of level 1: one of a's chunk, one of b's. */
	if (tree_lists_cut((const uint8_t (*)[BLOB_ID_LEN])ca, 1, 0, 1,
	    emit_upload, c, &lists, &nlists, &cap, &used) == -1 ||
	    tree_lists_cut((const uint8_t (*)[BLOB_ID_LEN])cb, 1, 0, 1,
	    emit_upload, c, &lists, &nlists, &cap, &used) == -1 || nlists != 2)
		errx(2, "tree_lists_cut");
	tree_init(&t);
	n = add_file(&t, "a", sizeof(a) - 1, lists[0]);
	n->clevel = 2;
	add_file(&t, "b", sizeof(b) - 1, cb);
	n = add(&t, "d", NODE_DIR);
	memcpy(n->subtree, lists[1], BLOB_ID_LEN);
	free(lists);
	upload_tree(c, &t, NULL, NULL, root);
	return commit(c, root);
}

static uint64_t
bad_size(struct client *c)
{
	static const uint8_t data[] = "7 bytes";
	uint8_t id[BLOB_ID_LEN], root[BLOB_ID_LEN];
	struct node_hole hole = { 0, 5 };
	struct tree t;
	struct node *n;
	static const struct {
		const char	*name;
		uint64_t	 size;
		int		 hole;
	} files[] = {
		{ "holey", 20, 1 }, { "long", 3, 0 }, { "ok", 12, 1 },
		{ "short", 100, 0 },
	};

	upload(c, BLOB_DATA, data, sizeof(data) - 1, id);
	tree_init(&t);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		n = add_file(&t, files[i].name, sizeof(data) - 1, id);
		n->size = files[i].size;
		if (!files[i].hole)
			continue;
		if ((n->holes = malloc(sizeof(hole))) == NULL)
			err(2, NULL);
		n->holes[0] = hole;
		n->nholes = 1;
	}
	upload_tree(c, &t, NULL, NULL, root);
	return commit(c, root);
}

/* A snapshot of set whose meta names no set, root nor parent. */
static uint64_t
old_meta(struct client *c, const char *set)
{
	uint8_t root[BLOB_ID_LEN], metaid[BLOB_ID_LEN];
	uint64_t snap, now = (uint64_t)time(NULL);
	struct tree t;
	char meta[128], e[256];

	tree_init(&t);
	upload_tree(c, &t, NULL, NULL, root);
	snprintf(meta, sizeof(meta), "{\"hostname\":\"forge\",\"paths\":[],"
	    "\"time\":%llu}", (unsigned long long)now);
	upload(c, BLOB_META, (const uint8_t *)meta, strlen(meta), metaid);
	if (remote_commit(c->remote, set, now, root, metaid, 0, 0, &snap, e,
	    sizeof(e)) == -1)
		errx(2, "commit: %s", e);
	return snap;
}

int
main(int argc, char *argv[])
{
	static const uint8_t fine[] = "fine\n", pwned[] = "pwned\n";
	uint8_t chunk[BLOB_ID_LEN], chunk2[BLOB_ID_LEN], sub[BLOB_ID_LEN];
	uint8_t root[BLOB_ID_LEN];
	struct client c;
	struct tree t;
	struct node *n;
	uint64_t s1, s2;

	if (argc < 4 || argc > 5 || strcmp(argv[1], "-c") != 0 ||
	    (argc == 5) != (strcmp(argv[3], "--old-meta") == 0))
		errx(2, "usage: gv-forge -c CLIENT.CONF OUTSIDE | --lie | "
		    "--bad-level | --bad-size | --old-meta SET");
	memset(&c, 0, sizeof(c));
	c.conffile = argv[2];
	if (client_setup(&c) == -1 || client_keys(&c) == -1 ||
	    client_session(&c) == -1)
		return 2;
	if (remote_version(c.remote) < 3)
		errx(2, "the server speaks protocol version %d; gv-forge needs "
		    "version 3", remote_version(c.remote));
	if (argc == 5) {
		printf("%llu\n", (unsigned long long)old_meta(&c, argv[4]));
		client_done(&c);
		return 0;
	}
	if (strcmp(argv[3], "--bad-size") == 0) {
		printf("%llu\n", (unsigned long long)bad_size(&c));
		client_done(&c);
		return 0;
	}
	if (strcmp(argv[3], "--lie") == 0 ||
	    strcmp(argv[3], "--bad-level") == 0) {
		printf("%llu\n", (unsigned long long)(argv[3][2] == 'l' ?
		    lie(&c) : bad_level(&c)));
		client_done(&c);
		return 0;
	}

	/* Snapshot 1. */
	upload(&c, BLOB_DATA, fine, sizeof(fine) - 1, chunk);
	tree_init(&t);
	n = add(&t, "fine", NODE_FILE);
	n->size = sizeof(fine) - 1;
	if ((n->chunks = malloc(BLOB_ID_LEN)) == NULL)
		err(2, NULL);
	memcpy(n->chunks[0], chunk, BLOB_ID_LEN);
	n->nchunks = 1;
	upload_tree(&c, &t, NULL, NULL, sub);

	tree_init(&t);
	n = add(&t, "ok", NODE_DIR);
	memcpy(n->subtree, sub, BLOB_ID_LEN);
	n = add(&t, "evil", NODE_SYMLINK);
	if ((n->target = strdup(argv[3])) == NULL)
		err(2, NULL);
	{
		struct tree d;
		uint8_t did[BLOB_ID_LEN];

		tree_init(&d);
		n = add(&d, "XX", NODE_FILE);		/* becomes ".." */
		upload_tree(&c, &d, "XX", "..", did);
		n = add(&t, "dots", NODE_DIR);
		memcpy(n->subtree, did, BLOB_ID_LEN);

		tree_init(&d);
		n = add(&d, "aXb", NODE_FILE);		/* becomes "a/b" */
		upload_tree(&c, &d, "aXb", "a/b", did);
		n = add(&t, "slash", NODE_DIR);
		memcpy(n->subtree, did, BLOB_ID_LEN);
	}
	upload_tree(&c, &t, NULL, NULL, root);
	s1 = commit(&c, root);

	/* Snapshot 2: a directory where snapshot 1 had the symlink. */
	upload(&c, BLOB_DATA, pwned, sizeof(pwned) - 1, chunk2);
	tree_init(&t);
	n = add(&t, "pwned", NODE_FILE);
	n->size = sizeof(pwned) - 1;
	if ((n->chunks = malloc(BLOB_ID_LEN)) == NULL)
		err(2, NULL);
	memcpy(n->chunks[0], chunk2, BLOB_ID_LEN);
	n->nchunks = 1;
	upload_tree(&c, &t, NULL, NULL, sub);
	tree_init(&t);
	n = add(&t, "evil", NODE_DIR);
	memcpy(n->subtree, sub, BLOB_ID_LEN);
	upload_tree(&c, &t, NULL, NULL, root);
	s2 = commit(&c, root);

	printf("%llu %llu\n", (unsigned long long)s1, (unsigned long long)s2);
	client_done(&c);
	return 0;
}
