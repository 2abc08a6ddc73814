/*
 * unit-tree.c - TAP unit tests of src/client/tree.c: every node type
 * round trips; the encoder refuses invalid trees; the decoder refuses
 * every bad name, count, type, length and truncation, leaves the tree
 * empty when it does, and survives thousands of random mutations (a
 * mutant either fails cleanly or decodes to a valid tree that encodes
 * back to the same bytes).  Tree format 2: a large directory split
 * into pages and indexes and a long chunk list split into lists read
 * back the same through tree_load(); inserting one entry changes few
 * blobs; stated links that differ from the contents, and indexes,
 * pages and lists that do not fit together, are refused.  Format 3:
 * xattrs, inode flags and holes round trip, are encoded the same
 * whatever the order they were read in, and every bad one is refused by
 * the encoder and the decoder; formats 1 and 2 still decode.  Run by
 * t/00-unit-tree.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/blob.h"
#include "client/tree.h"
#include "tap.h"


static char err[256];

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A node of the given type with every field set to something. */
static struct node *
add(struct tree *t, const char *name, uint8_t type, uint64_t seed)
{
	struct node *nd = tree_add(t);
	uint64_t seed0 = seed;

	nd->name = strdup(name);
	nd->type = type;
	nd->mode = (uint32_t)rnd(&seed) & 07777;
	nd->uid = (uint32_t)rnd(&seed);
	nd->gid = (uint32_t)rnd(&seed);
	nd->mtime_sec = (int64_t)rnd(&seed);
	nd->atime_sec = -(int64_t)(rnd(&seed) >> 2);
	nd->ctime_sec = (int64_t)(rnd(&seed) >> 30);
	nd->mtime_nsec = (uint32_t)(rnd(&seed) % 1000000000);
	nd->atime_nsec = 999999999;
	nd->ctime_nsec = (uint32_t)(rnd(&seed) % 1000000000);
	nd->size = rnd(&seed);
	nd->dev = rnd(&seed);
	nd->inode = rnd(&seed);
	nd->nlink = (uint32_t)rnd(&seed);
	switch (type) {
	case NODE_FILE:
		nd->nchunks = (uint32_t)(rnd(&seed) % 5);
		if (nd->nchunks > 0) {
			nd->chunks = malloc(nd->nchunks * BLOB_ID_LEN);
			for (uint32_t i = 0; i < nd->nchunks; i++)
				for (int j = 0; j < BLOB_ID_LEN; j++)
					nd->chunks[i][j] = (uint8_t)rnd(&seed);
		}
		break;
	case NODE_DIR:
		for (int j = 0; j < BLOB_ID_LEN; j++)
			nd->subtree[j] = (uint8_t)rnd(&seed);
		break;
	case NODE_SYMLINK:
		nd->target = strdup("../some/where/else");
		break;
	case NODE_CHR:
	case NODE_BLK:
		nd->rdev = rnd(&seed);
		break;
	}
	/* Every other node: flags, two xattrs (one empty); files: holes. */
	if (seed0 % 2 == 0) {
		nd->iflags = 0x10 | 0x40;	/* immutable, nodump */
		nd->nxattrs = 2;
		nd->xattrs = calloc(2, sizeof(*nd->xattrs));
		nd->xattrs[0].name = strdup("security.capability");
		nd->xattrs[0].value = malloc(20);
		memset(nd->xattrs[0].value, (int)(seed & 0xff), 20);
		nd->xattrs[0].len = 20;
		nd->xattrs[1].name = strdup("user.empty");
		if (type == NODE_FILE) {
			nd->size = 1u << 30;
			nd->nholes = 2;
			nd->holes = calloc(2, sizeof(*nd->holes));
			nd->holes[0] = (struct node_hole){ 0, 4096 };
			nd->holes[1] = (struct node_hole){ 65536, nd->size -
			    65536 };
		}
	}
	return nd;
}

static int
meta_eq(const struct node *a, const struct node *b)
{
	if (a->iflags != b->iflags || a->nxattrs != b->nxattrs ||
	    a->nholes != b->nholes || (a->nholes > 0 && memcmp(a->holes,
	    b->holes, a->nholes * sizeof(*a->holes)) != 0))
		return 0;
	for (uint32_t i = 0; i < a->nxattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) != 0 ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    (a->xattrs[i].len > 0 && memcmp(a->xattrs[i].value,
		    b->xattrs[i].value, a->xattrs[i].len) != 0))
			return 0;
	return 1;
}

static int
node_eq(const struct node *a, const struct node *b)
{
	return strcmp(a->name, b->name) == 0 && a->type == b->type &&
	    a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	    a->mtime_sec == b->mtime_sec && a->atime_sec == b->atime_sec &&
	    a->ctime_sec == b->ctime_sec && a->mtime_nsec == b->mtime_nsec &&
	    a->atime_nsec == b->atime_nsec && a->ctime_nsec == b->ctime_nsec &&
	    a->size == b->size && a->dev == b->dev && a->inode == b->inode &&
	    a->nlink == b->nlink && a->rdev == b->rdev &&
	    (a->target == NULL) == (b->target == NULL) &&
	    (a->target == NULL || strcmp(a->target, b->target) == 0) &&
	    a->nchunks == b->nchunks && a->clevel == b->clevel &&
	    (a->nchunks == 0 || memcmp(a->chunks, b->chunks,
	    a->nchunks * BLOB_ID_LEN) == 0) &&
	    memcmp(a->subtree, b->subtree, BLOB_ID_LEN) == 0 && meta_eq(a, b);
}

/* A sample tree with every type, sorted. */
static void
sample(struct tree *t)
{
	tree_init(t);
	add(t, "zfile", NODE_FILE, 1);
	add(t, "dir", NODE_DIR, 2);
	add(t, "link", NODE_SYMLINK, 3);
	add(t, "fifo", NODE_FIFO, 4);
	add(t, "tty", NODE_CHR, 5);
	add(t, "sda", NODE_BLK, 6);
	add(t, "sock", NODE_SOCK, 7);
	add(t, "empty", NODE_FILE, 8)->nchunks = 0;
	free(t->nodes[7].chunks);
	t->nodes[7].chunks = NULL;
	add(t, "\xc3\xa9t\xc3\xa9 \x01 weird name", NODE_FILE, 9);
	add(t, "aFile", NODE_FILE, 10);
	add(t, "a", NODE_FILE, 11);
	tree_sort(t);
}

/* 1 when p decodes. */
static int
accepted(const uint8_t *p, size_t len)
{
	struct tree t;

	if (tree_decode(p, len, &t, err, sizeof(err)) == -1) {
		printf("# refused: %s\n", err);
		return 0;
	}
	tree_free(&t);
	return 1;
}

/* 1 when p is refused, t left empty, and the reason mentions why. */
static int
refused(const uint8_t *p, size_t len, const char *why)
{
	struct tree t;

	err[0] = '\0';
	if (tree_decode(p, len, &t, err, sizeof(err)) == 0) {
		tree_free(&t);
		return 0;
	}
	if (t.n != 0 || t.nodes != NULL || err[0] == '\0')
		return 0;
	if (strstr(err, why) == NULL) {
		printf("# error was: %s\n", err);
		return 0;
	}
	return 1;
}

static void
test_roundtrip(void)
{
	struct tree t, u;
	uint8_t *p, *q;
	size_t len, qlen;
	int same = 1;

	sample(&t);
	ok(tree_encode(&t, &p, &len) == 0, "a tree of every type encodes");
	ok(tree_decode(p, len, &u, err, sizeof(err)) == 0 && u.n == t.n,
	    "and decodes");
	for (uint32_t i = 0; i < t.n && same; i++)
		same = node_eq(&t.nodes[i], &u.nodes[i]);
	ok(same, "every field of every node round trips");
	ok(tree_encode(&u, &q, &qlen) == 0 && qlen == len &&
	    memcmp(p, q, len) == 0, "decoding then encoding gives the same "
	    "bytes");
	ok(tree_find(&u, "tty") == &u.nodes[tree_find(&u, "tty") -
	    u.nodes] && tree_find(&u, "tty")->type == NODE_CHR &&
	    tree_find(&u, "a") != NULL && tree_find(&u, "zfile") != NULL &&
	    tree_find(&u, "aF") == NULL && tree_find(&u, "") == NULL &&
	    tree_find(&u, "zz") == NULL, "tree_find finds names, not others");
	free(p);
	free(q);
	tree_free(&t);
	tree_free(&u);

	tree_init(&t);
	ok(tree_encode(&t, &p, &len) == 0 && len == 8 &&
	    tree_decode(p, len, &u, err, sizeof(err)) == 0 && u.n == 0,
	    "an empty tree round trips");
	free(p);
	tree_free(&u);
}

static void
test_encode_refuses(void)
{
	static const char *const bad[] = {
		"", ".", "..", "a/b", "/",
	};
	char longname[300];
	struct tree t;
	struct node *nd;
	uint8_t *p = (uint8_t *)"x";
	size_t len = 1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tree_init(&t);
		add(&t, bad[i], NODE_FIFO, 1);
		ok(tree_encode(&t, &p, &len) == -1 && p == NULL && len == 0,
		    "encode refuses a bad name");
		tree_free(&t);
	}
	memset(longname, 'x', 256);
	longname[256] = '\0';
	tree_init(&t);
	add(&t, longname, NODE_FIFO, 1);
	ok(tree_encode(&t, &p, &len) == -1, "encode refuses a 256-byte name");
	longname[255] = '\0';
	free(t.nodes[0].name);
	t.nodes[0].name = strdup(longname);
	ok(tree_encode(&t, &p, &len) == 0, "a 255-byte name is fine");
	free(p);
	tree_free(&t);

	tree_init(&t);
	add(&t, "b", NODE_FIFO, 1);
	add(&t, "a", NODE_FIFO, 1);
	ok(tree_encode(&t, &p, &len) == -1, "encode refuses unsorted names");
	tree_sort(&t);
	ok(tree_encode(&t, &p, &len) == 0, "sorted, it encodes");
	free(p);
	add(&t, "b", NODE_FIFO, 1);
	ok(tree_encode(&t, &p, &len) == -1, "encode refuses duplicates");
	tree_free(&t);

	tree_init(&t);
	nd = add(&t, "x", NODE_FIFO, 1);
	nd->type = 0;
	ok(tree_encode(&t, &p, &len) == -1, "encode refuses type 0");
	nd->type = NODE_SOCK + 1;
	ok(tree_encode(&t, &p, &len) == -1, "encode refuses an unknown type");
	nd->type = NODE_FIFO;
	nd->mode = 010644;
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses mode bits beyond 07777");
	nd->mode = 0644;
	nd->ctime_nsec = 1000000000;
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses nanoseconds >= 10^9");
	nd->ctime_nsec = 0;
	nd->type = NODE_SYMLINK;
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses a symlink without a target");
	nd->target = strdup("");
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses an empty symlink target");
	nd->type = NODE_FILE;
	nd->nchunks = 2;
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses chunks counted but missing");
	tree_free(&t);
}

/* Encode one node (name, type, fields zero) by hand. */
static size_t
one_node(uint8_t *b, const char *name, size_t nl, uint8_t type)
{
	size_t n = 0;

	memcpy(b, "GVT1\0\0\0\1", 8);
	n = 8;
	b[n++] = (uint8_t)(nl >> 8);
	b[n++] = (uint8_t)nl;
	memcpy(b + n, name, nl);
	n += nl;
	b[n++] = type;
	memset(b + n, 0, 76);
	n += 76;
	return n;
}

static void
test_decode_refuses(void)
{
	uint8_t b[9000], *p;
	struct tree t;
	size_t n, len;
	int all;

	n = one_node(b, "ok", 2, NODE_FIFO);
	ok(accepted(b, n), "(setup) a hand-made node decodes");
	ok(refused(b, n - 1, "truncated"), "one byte short is truncated");
	b[n] = 0;
	ok(refused(b, n + 1, "after the last entry"),
	    "a trailing byte is refused");

	n = one_node(b, "", 0, NODE_FIFO);
	b[n++] = 0;	/* else too short for any node */
	ok(refused(b, n, "empty name"), "an empty name is refused");
	n = one_node(b, ".", 1, NODE_FIFO);
	ok(refused(b, n, "\".\""), "the name \".\" is refused");
	n = one_node(b, "..", 2, NODE_FIFO);
	ok(refused(b, n, "\"..\""), "the name \"..\" is refused");
	n = one_node(b, "../x", 4, NODE_FIFO);
	ok(refused(b, n, "'/'"), "a name with '/' is refused");
	n = one_node(b, "a\0b", 3, NODE_FIFO);
	ok(refused(b, n, "NUL"), "a name with NUL is refused");
	memset(b + 1000, 'n', 300);
	n = one_node(b, (char *)b + 1000, 256, NODE_FIFO);
	ok(refused(b, n, "too long"), "a 256-byte name is refused");
	n = one_node(b, (char *)b + 1000, 255, NODE_FIFO);
	ok(accepted(b, n), "a 255-byte name is fine");
	n = one_node(b, "x", 1, 0);
	ok(refused(b, n, "unknown type"), "type 0 is refused");
	n = one_node(b, "x", 1, NODE_SOCK + 1);
	ok(refused(b, n, "unknown type"), "type 8 is refused");

	n = one_node(b, "x", 1, NODE_FIFO);
	b[12] = 0x10;		/* mode 010000 */
	ok(refused(b, n, "mode"), "mode bits beyond 07777 are refused");
	b[12] = 0;
	memset(b + 32, 0xff, 4);	/* mtime nsec */
	ok(refused(b, n, "nanoseconds"), "nanoseconds >= 10^9 are refused");
	memset(b + 32, 0, 4);

	memcpy(b, "GVX2", 4);
	ok(refused(b, n, "magic"), "a wrong magic is refused");
	memcpy(b, "GVT1\0\0\0\2", 8);
	ok(refused(b, n, "cannot fit"), "a count over the bytes is refused");
	memcpy(b, "GVT1\xff\xff\xff\xff", 8);
	ok(refused(b, n, "cannot fit"),
	    "a count of 2^32 - 1 is refused (no cap but the bytes)");
	ok(refused(b, 7, "too short"), "a short header is refused");
	ok(refused(NULL, 0, "too short"), "no bytes at all is refused");

	/* Symlink targets. */
	n = one_node(b, "l", 1, NODE_SYMLINK);
	b[n++] = 0;
	b[n++] = 0;
	ok(refused(b, n, "target"), "an empty symlink target is refused");
	n -= 2;
	b[n++] = 0x10;		/* 4096 */
	b[n++] = 0;
	memset(b + n, 'a', 4096);
	ok(refused(b, n + 4096, "target"),
	    "a 4096-byte symlink target is refused");
	b[n - 2] = 0x0f;
	b[n - 1] = 0xff;
	ok(accepted(b, n + 4095), "a 4095-byte target is fine");
	b[n + 10] = 0;
	ok(refused(b, n + 4095, "NUL"), "a target with NUL is refused");
	ok(refused(b, n + 4094, "truncated"),
	    "a truncated target is refused");

	/* Chunk counts. */
	n = one_node(b, "f", 1, NODE_FILE);
	memcpy(b + n, "\x01\0\0\x01", 4);
	ok(refused(b, n + 4 + 64, "cannot fit"),
	    "a format 1 chunk count over the bytes is refused");
	memcpy(b, "GVT2", 4);
	memcpy(b + n, "\0\0\0\x40\x01", 5);	/* level 0, 16385 ids */
	ok(refused(b, n + 5 + 64, "more than"),
	    "a format 2 chunk count over TREE_MAX_IDS is refused");
	memcpy(b + n, "\x11\0\0\0\x01", 5);	/* level 17, 1 id */
	memset(b + n + 5, 7, 32);
	ok(refused(b, n + 5 + 32, "level"),
	    "a chunk list level over TREE_MAX_LEVEL is refused");
	b[n] = 1;
	ok(accepted(b, n + 5 + 32), "a level 1 list id is fine");
	memcpy(b, "GVT1", 4);
	memcpy(b + n, "\0\0\0\x03", 4);
	memset(b + n + 4, 7, 96);
	ok(refused(b, n + 4 + 95, "cannot fit"),
	    "a chunk count over the bytes left is refused");
	ok(accepted(b, n + 4 + 96), "three chunk ids are fine");
	ok(refused(b, n + 2, "truncated"), "a truncated count is refused");

	/* Order. */
	sample(&t);
	tree_encode(&t, &p, &len);
	tree_free(&t);
	ok(accepted(p, len), "(setup) the sample decodes");
	/* The first two names are "a" and "aFile": make it "b", "aFile". */
	p[8 + 2] = 'b';
	ok(refused(p, len, "sorted"), "unsorted names are refused");
	free(p);

	tree_init(&t);
	add(&t, "a", NODE_FIFO, 1);
	add(&t, "b", NODE_FIFO, 2);
	tree_encode(&t, &p, &len);
	tree_free(&t);
	p[8 + 86 + 2] = 'a';	/* the second name: a header, one node */
	ok(refused(p, len, "unique"), "duplicate names are refused");
	free(p);

	/* Every truncation of the sample. */
	sample(&t);
	tree_encode(&t, &p, &len);
	tree_free(&t);
	all = 1;
	for (size_t i = 0; i < len; i++)
		all &= refused(p, i, "");
	ok(all, "every truncation of a tree is refused, leaving it empty");
	free(p);
}

/* 1 when t is valid as tree.h says. */
static int
valid(const struct tree *t)
{
	for (uint32_t i = 0; i < t->n; i++) {
		const struct node *nd = &t->nodes[i];
		size_t nl = strlen(nd->name);

		if (nl == 0 || nl > TREE_MAX_NAME || strchr(nd->name, '/') ||
		    strcmp(nd->name, ".") == 0 || strcmp(nd->name, "..") == 0 ||
		    nd->type < NODE_FILE || nd->type > NODE_SOCK ||
		    (i > 0 && strcmp(t->nodes[i - 1].name, nd->name) >= 0))
			return 0;
		if (nd->type == NODE_SYMLINK && (nd->target == NULL ||
		    strlen(nd->target) == 0 ||
		    strlen(nd->target) > TREE_MAX_TARGET))
			return 0;
	}
	return 1;
}

static void
test_mutations(void)
{
	struct tree t, u;
	uint8_t *p, *m, *q;
	size_t len, mlen, qlen;
	uint64_t seed = 42;
	int all = 1, decoded = 0, runs = 20000;

	sample(&t);
	tree_encode(&t, &p, &len);
	tree_free(&t);
	m = malloc(len + 64);
	for (int r = 0; r < runs; r++) {
		int kind = (int)(rnd(&seed) % 4), flips;

		memcpy(m, p, len);
		mlen = len;
		switch (kind) {
		case 0:		/* flip a few bytes */
		case 1:
			flips = 1 + (int)(rnd(&seed) % 4);
			for (int i = 0; i < flips; i++)
				m[rnd(&seed) % len] ^= (uint8_t)(1 +
				    rnd(&seed) % 255);
			break;
		case 2:		/* set a byte to an edge value */
			m[rnd(&seed) % len] = (uint8_t[]){ 0, 0xff, 0x7f,
			    0x80, '/', '.' }[rnd(&seed) % 6];
			break;
		case 3:		/* insert or delete bytes */
			{
				size_t at = rnd(&seed) % len;
				size_t k = 1 + rnd(&seed) % 40;

				if (rnd(&seed) & 1) {
					memmove(m + at + k, m + at, len - at);
					for (size_t i = 0; i < k; i++)
						m[at + i] = (uint8_t)rnd(&seed);
					mlen = len + k;
				} else {
					if (k > len - at)
						k = len - at;
					memmove(m + at, m + at + k,
					    len - at - k);
					mlen = len - k;
				}
			}
			break;
		}
		/* An exact-size copy, so ASan sees any read past it. */
		q = malloc(mlen);
		memcpy(q, m, mlen);
		if (tree_decode(q, mlen, &u, err, sizeof(err)) == 0) {
			uint8_t *e;
			size_t elen;

			decoded++;
			/* A magic turned "GVT2" encodes as format 3. */
			if (!valid(&u) || tree_encode(&u, &e, &elen) == -1 ||
			    (u.format == 3 && (elen != mlen ||
			    memcmp(e, q, mlen) != 0)))
				all = 0;
			else
				free(e);
			tree_free(&u);
		} else if (u.n != 0 || u.nodes != NULL || err[0] == '\0')
			all = 0;
		free(q);
	}
	printf("# %d mutants: %d decoded (valid, canonical), %d refused\n",
	    runs, decoded, runs - decoded);
	ok(all, "random mutations: each is refused cleanly or decodes to a "
	    "valid tree that encodes to the same bytes");
	(void)qlen;
	free(m);
	free(p);
}

static void
test_large(void)
{
	struct tree t, u;
	struct timespec t0, t1, t2;
	uint8_t *p;
	size_t len;
	char name[32];
	int r;

	tree_init(&t);
	for (int i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "file-%07d.txt", i);
		add(&t, name, i % 10 == 0 ? NODE_DIR : NODE_FILE, (uint64_t)i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = tree_encode(&t, &p, &len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(r == 0, "a tree of 100,000 entries encodes");
	r = tree_decode(p, len, &u, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t2);
	ok(r == 0 && u.n == 100000 && node_eq(&u.nodes[77777],
	    &t.nodes[77777]), "and decodes");
	printf("# 100,000 entries, %zu bytes: encode %.1f ms, decode %.1f ms\n",
	    len, (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	    (double)(t2.tv_sec - t1.tv_sec) * 1e3 +
	    (double)(t2.tv_nsec - t1.tv_nsec) / 1e6);
	free(p);
	tree_free(&t);
	tree_free(&u);
}

/* ---------------------------------------------------------------- format 2 */

/* An in-memory server: what the writer emitted, with the links stated. */
struct mblob {
	uint8_t		 id[BLOB_ID_LEN];
	uint8_t		*body;
	size_t		 len;
	uint8_t		(*links)[BLOB_ID_LEN];
	uint32_t	 nlinks;
};

static struct mblob *store;
static size_t nstore, emitted;
static struct keys zkeys;

static struct mblob *
mfind(const uint8_t *id)
{
	for (size_t i = 0; i < nstore; i++)
		if (memcmp(store[i].id, id, BLOB_ID_LEN) == 0)
			return &store[i];
	return NULL;
}

static int
memit(void *arg, uint8_t *body, size_t len,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks,
    uint8_t id[BLOB_ID_LEN])
{
	struct mblob *m;

	(void)arg;
	blob_id(&zkeys, BLOB_TREE, body, len, id);
	emitted++;
	if (mfind(id) != NULL) {
		free(body);
		return 0;
	}
	store = realloc(store, (nstore + 1) * sizeof(*store));
	m = &store[nstore++];
	memcpy(m->id, id, BLOB_ID_LEN);
	m->body = body;
	m->len = len;
	m->nlinks = nlinks;
	m->links = nlinks ? malloc((size_t)nlinks * BLOB_ID_LEN) : NULL;
	if (nlinks)
		memcpy(m->links, links, (size_t)nlinks * BLOB_ID_LEN);
	return 0;
}

static int
mfetch(void *arg, const uint8_t id[BLOB_ID_LEN], uint8_t **body, size_t *len,
    uint8_t (**links)[BLOB_ID_LEN], uint32_t *nlinks, char *e, size_t elen)
{
	struct mblob *m = mfind(id);

	(void)arg;
	if (m == NULL) {
		snprintf(e, elen, "not on the server");
		return 1;
	}
	*body = malloc(m->len);
	memcpy(*body, m->body, m->len);
	*len = m->len;
	*nlinks = m->nlinks;
	*links = NULL;
	if (m->nlinks && m->nlinks != UINT32_MAX) {
		*links = malloc((size_t)m->nlinks * BLOB_ID_LEN);
		memcpy(*links, m->links, (size_t)m->nlinks * BLOB_ID_LEN);
	}
	return 0;
}

static void
mclear(void)
{
	for (size_t i = 0; i < nstore; i++) {
		free(store[i].body);
		free(store[i].links);
	}
	free(store);
	store = NULL;
	nstore = emitted = 0;
}

/* Add a blob by hand (body copied; links stated as given). */
static void
mput(const uint8_t *body, size_t len, const uint8_t (*links)[BLOB_ID_LEN],
    uint32_t nlinks, uint8_t id[BLOB_ID_LEN])
{
	uint8_t *copy = malloc(len);

	memcpy(copy, body, len);
	memit(NULL, copy, len, links, nlinks, id);
}

static const struct tree_src msrc = { mfetch, NULL, NULL };

/* A file node named name with n chunk ids made from seed. */
static void
big_file(struct node *nd, uint32_t n, uint64_t seed)
{
	nd->nchunks = n;
	nd->chunks = malloc((size_t)n * BLOB_ID_LEN);
	for (uint32_t i = 0; i < n; i++)
		for (int j = 0; j < BLOB_ID_LEN; j++)
			nd->chunks[i][j] = (uint8_t)rnd(&seed);
}

/*
 * Write a directory of the names "e00000".."e<n>" (skipping skip,
 * NULL: none) the way backup does: pager, lists, pages, index.
 */
static int
write_dir(uint32_t n, const char *extra, uint8_t id[BLOB_ID_LEN],
    struct tree *all)
{
	struct tree page;
	struct tree_pager pg;
	struct tree_dirw w;
	struct node *nd, *cp;
	char name[32];
	int rc = 0;

	tree_init(&page);
	tree_init(all);
	tree_pager_reset(&pg, n);
	tree_dirw_init(&w);
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		for (int k = 0; k < 2; k++) {
			if (k == 0)
				snprintf(name, sizeof(name), "e%05u", i);
			else if (extra != NULL && strncmp(extra, name,
			    strlen(name)) == 0 && strcmp(extra, name) > 0)
				snprintf(name, sizeof(name), "%s", extra);
			else
				continue;
			nd = add(&page, name, i % 7 == 3 ? NODE_DIR :
			    i % 5 == 1 ? NODE_SYMLINK : NODE_FILE, i);
			if (nd->type == NODE_FILE && i % 50 == 7) {
				free(nd->chunks);
				big_file(nd, 30 + i % 11, i);
			}
			cp = add(all, name, NODE_FIFO, 1);	/* no meta */
			free(cp->name);
			*cp = *nd;
			tree_node_meta_copy(cp, nd);
			cp->name = strdup(nd->name);
			cp->target = nd->target ? strdup(nd->target) : NULL;
			cp->chunks = NULL;
			if (nd->nchunks) {
				cp->chunks = malloc((size_t)nd->nchunks *
				    BLOB_ID_LEN);
				memcpy(cp->chunks, nd->chunks,
				    (size_t)nd->nchunks * BLOB_ID_LEN);
			}
			if (tree_file_lists(nd, memit, NULL) == -1)
				rc = -1;
			if (rc == 0 && tree_pager_add(&pg, nd)) {
				rc = tree_dirw_page(&w, &page, memit, NULL);
				tree_pager_reset(&pg, n);
			}
		}
	}
	if (rc == 0 && page.n > 0)
		rc = tree_dirw_page(&w, &page, memit, NULL);
	tree_free(&page);
	if (rc == 0)
		rc = tree_dirw_finish(&w, memit, NULL, id);
	else
		tree_dirw_free(&w);
	return rc;
}

static int
trees_eq(const struct tree *a, const struct tree *b)
{
	if (a->n != b->n)
		return 0;
	for (uint32_t i = 0; i < a->n; i++)
		if (!node_eq(&a->nodes[i], &b->nodes[i]))
			return 0;
	return 1;
}

static int
has(const uint8_t (*ids)[BLOB_ID_LEN], size_t n, const uint8_t *id)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(ids[i], id, BLOB_ID_LEN) == 0)
			return 1;
	return 0;
}

/*
 * tree_load() with each file's chunk lists read through tree_chunks
 * (its node then holds its data chunk ids, clevel 0): the reader's view
 * of a whole directory.  Same returns; out empty unless 0.
 */
static int
load_expanded(const struct tree_src *src, const uint8_t id[BLOB_ID_LEN],
    struct tree *out, char *e, size_t elen)
{
	struct tree_chunks tc;
	uint8_t (*ids)[BLOB_ID_LEN];
	size_t n, cap;
	int rc;

	if ((rc = tree_load(src, id, out, e, elen)) != 0)
		return rc;
	for (uint32_t i = 0; i < out->n && rc == 0; i++) {
		struct node *nd = &out->nodes[i];

		if (nd->type != NODE_FILE || nd->clevel == 0)
			continue;
		ids = NULL;
		n = cap = 0;
		tree_chunks_init(&tc, src, nd);
		for (;;) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				ids = realloc(ids, cap * BLOB_ID_LEN);
			}
			if ((rc = tree_chunks_next(&tc, ids[n], e, elen)) != 0)
				break;
			n++;
		}
		tree_chunks_free(&tc);
		if (rc != 2) {
			free(ids);
			break;
		}
		rc = 0;
		free(nd->chunks);
		nd->chunks = ids;
		nd->nchunks = (uint32_t)n;
		nd->clevel = 0;
	}
	if (rc != 0)
		tree_free(out);
	return rc;
}

static void
test_split(void)
{
	struct tree all, got, raw;
	struct tree_blob tb;
	uint8_t id[BLOB_ID_LEN], id2[BLOB_ID_LEN], (*before)[BLOB_ID_LEN];
	size_t nbefore, fresh = 0, pages = 0, idx = 0, lists = 0;
	int r, deep = 0, maxlevel = 0;

	setenv("GIGAVAULT_TEST_SMALL_TREES", "1", 1);
	tree_limits_init(42);
	ok(tree_limits.page_entries == 32 && tree_limits.inline_ids == 4,
	    "GIGAVAULT_TEST_SMALL_TREES makes the limits small");

	ok(write_dir(0, NULL, id, &all) == 0 && nstore == 1,
	    "an empty directory is one (empty) page");
	ok(load_expanded(&msrc, id, &got, err, sizeof(err)) == 0 && got.n == 0,
	    "... and reads back empty");
	tree_free(&all);
	mclear();

	r = 1;
	for (uint64_t seed = 1; seed <= 200; seed++) {
		tree_limits_init(seed);
		r &= write_dir(4, NULL, id, &all) == 0 && nstore == 1;
		tree_free(&all);
		mclear();
	}
	tree_limits_init(42);
	ok(r, "a directory of page_single entries is one page, whatever "
	    "the names and the seed");

	r = write_dir(600, NULL, id, &all);
	ok(r == 0, "a directory of 600 entries (files of 30..40 chunks "
	    "among them) is written");
	for (size_t i = 0; i < nstore; i++) {
		if (tree_blob_decode(store[i].body, store[i].len, &tb, err,
		    sizeof(err)) == -1)
			continue;
		if (tb.kind == TREE_PAGE) {
			pages++;
			if (tb.page.n > tree_limits.page_entries)
				deep = -1000;
		} else if (tb.kind == TREE_INDEX) {
			idx++;
			if (tb.level > maxlevel)
				maxlevel = tb.level;
			if (tb.level > 1)
				deep = deep < 0 ? deep : 1;
		} else {
			lists++;
			if (tb.n > tree_limits.list_ids)
				deep = -1000;
		}
		if (tree_links_check(&tb, (const uint8_t (*)[BLOB_ID_LEN])
		    store[i].links, store[i].nlinks, err, sizeof(err)) == -1)
			deep = -1000;
		tree_blob_free(&tb);
	}
	printf("# 600 entries: %zu pages, %zu indexes, %zu chunk lists\n",
	    pages, idx, lists);
	ok(pages > 600 / tree_limits.page_entries && idx >= 2 && lists > 0 &&
	    deep == 1, "split into pages within the limits, indexes of "
	    "more than one level, and chunk lists; every blob's links are "
	    "its contents'");
	r = load_expanded(&msrc, id, &got, err, sizeof(err));
	ok(r == 0 && trees_eq(&got, &all),
	    "read back with lists expanded: the same entries, in order");
	if (r != 0)
		printf("# %s\n", err);
	tree_free(&got);
	r = tree_load(&msrc, id, &raw, err, sizeof(err));
	ok(r == 0 && raw.n == all.n && raw.nodes[7].clevel > 0 &&
	    raw.nodes[7].nchunks <= tree_limits.inline_ids,
	    "read back without expanding: a long file holds list ids");
	{
		struct tree_chunks tc;
		uint8_t cid[BLOB_ID_LEN];
		uint32_t k = 0, bad = 0, files = 0;
		int cr = r;

		/* Every file's chunks, one list at a time. */
		for (uint32_t i = 0; cr == 0 && i < raw.n; i++) {
			if (raw.nodes[i].type != NODE_FILE)
				continue;
			files++;
			tree_chunks_init(&tc, &msrc, &raw.nodes[i]);
			for (k = 0; (cr = tree_chunks_next(&tc, cid, err,
			    sizeof(err))) == 0; k++)
				if (k >= all.nodes[i].nchunks ||
				    memcmp(cid, all.nodes[i].chunks[k],
				    BLOB_ID_LEN) != 0)
					bad++;
			tree_chunks_free(&tc);
			if (cr == 2 && k == all.nodes[i].nchunks)
				cr = 0;
		}
		ok(r == 0 && cr == 0 && bad == 0 && files > 0,
		    "tree_chunks_next() gives each file's chunk ids in order, "
		    "then 2");
	}
	tree_free(&raw);
	tree_free(&all);

	/* Insert one entry: few new blobs. */
	nbefore = nstore;
	before = malloc(nbefore * BLOB_ID_LEN);
	for (size_t i = 0; i < nbefore; i++)
		memcpy(before[i], store[i].id, BLOB_ID_LEN);
	r = write_dir(600, "e00300x", id2, &all);
	for (size_t i = 0; i < nstore; i++)
		if (!has((const uint8_t (*)[BLOB_ID_LEN])before, nbefore,
		    store[i].id))
			fresh++;
	printf("# one entry inserted: %zu new blobs (%zu indexes, %d levels, "
	    "before)\n", fresh, idx, maxlevel);
	ok(r == 0 && fresh >= 2 && fresh <= 2 + (size_t)maxlevel,
	    "inserting one entry makes one new page (two if it ends one) "
	    "and one new index per level above it, no more");
	r = load_expanded(&msrc, id2, &got, err, sizeof(err));
	ok(r == 0 && trees_eq(&got, &all) && tree_find(&got, "e00300x"),
	    "... and reads back with it");
	tree_free(&got);
	tree_free(&all);
	free(before);
	mclear();
}

/* Find the first stored blob of kind (and level, 0: any). */
static struct mblob *
mfind_kind(uint8_t kind, uint8_t level)
{
	struct tree_blob tb;
	struct mblob *m = NULL;

	for (size_t i = 0; i < nstore && m == NULL; i++) {
		if (tree_blob_decode(store[i].body, store[i].len, &tb, err,
		    sizeof(err)) == -1)
			continue;
		if (tb.kind == kind && (level == 0 || tb.level == level))
			m = &store[i];
		tree_blob_free(&tb);
	}
	return m;
}

static void
test_hostile(void)
{
	struct tree all, got;
	struct tree_blob tb;
	struct mblob *m;
	uint8_t id[BLOB_ID_LEN], id2[BLOB_ID_LEN], x[BLOB_ID_LEN], save[32];
	uint8_t buf[512], (*links)[BLOB_ID_LEN];
	uint32_t nl;
	int r;

	write_dir(300, NULL, id, &all);
	tree_free(&all);

	/* A page whose stated links are reordered. */
	m = mfind_kind(TREE_PAGE, 0);
	r = m != NULL && m->nlinks >= 2;
	if (r) {
		memcpy(save, m->links[0], 32);
		memcpy(m->links[0], m->links[1], 32);
		memcpy(m->links[1], save, 32);
	}
	ok(r && load_expanded(&msrc, id, &got, err, sizeof(err)) == 1 &&
	    strstr(err, "do not match") && got.n == 0,
	    "a page stated with its links reordered is refused");
	if (r) {
		memcpy(m->links[1], m->links[0], 32);
		memcpy(m->links[0], save, 32);
		m->nlinks--;
	}
	ok(r && load_expanded(&msrc, id, &got, err, sizeof(err)) == 1 &&
	    strstr(err, "do not match"),
	    "... and with one link left out");
	if (r)
		m->nlinks = 0;
	ok(r && load_expanded(&msrc, id, &got, err, sizeof(err)) == 1,
	    "... and sent without links (a plain BLOB) in version 3");
	if (r)
		m->nlinks = UINT32_MAX;
	ok(r && load_expanded(&msrc, id, &got, err, sizeof(err)) == 0,
	    "... but not checked when the session cannot state links");
	tree_free(&got);
	mclear();

	/* An index: tampered stated links of a list too. */
	write_dir(300, NULL, id, &all);
	tree_free(&all);
	m = mfind_kind(TREE_LIST, 1);
	r = m != NULL && m->nlinks > 0;
	if (r)
		m->links[m->nlinks - 1][5] ^= 1;
	ok(r && load_expanded(&msrc, id, &got, err, sizeof(err)) == 1 &&
	    strstr(err, "do not match"),
	    "a chunk list stated with a wrong link is refused");
	ok(tree_load(&msrc, id, &got, err, sizeof(err)) == 0,
	    "... (not read when lists are not expanded)");
	{
		struct tree_chunks tc;
		uint8_t cid[BLOB_ID_LEN];
		int cr, spoiled = 0, whole = 0;

		for (uint32_t i = 0; i < got.n; i++) {
			if (got.nodes[i].type != NODE_FILE)
				continue;
			tree_chunks_init(&tc, &msrc, &got.nodes[i]);
			while ((cr = tree_chunks_next(&tc, cid, err,
			    sizeof(err))) == 0)
				;
			tree_chunks_free(&tc);
			if (cr == 1 && strstr(err, "do not match"))
				spoiled++;
			else if (cr == 2)
				whole++;
		}
		printf("# %d file(s) spoiled, %d whole\n", spoiled, whole);
		ok(spoiled == 1 && whole > 1, "read a file at a time, the "
		    "list spoils one file only");
	}
	tree_free(&got);
	mclear();

	/* A format 1 tree (0.1.0) reads, and states no links. */
	{
		uint8_t v1[200];
		size_t n1 = one_node(v1, "old", 3, NODE_FILE);

		memcpy(v1 + n1, "\0\0\0\1", 4);
		memset(v1 + n1 + 4, 9, 32);
		mput(v1, n1 + 36, NULL, 0, id);
		ok(tree_load(&msrc, id, &got, err, sizeof(err)) == 0 &&
		    got.n == 1 && got.nodes[0].nchunks == 1 &&
		    got.nodes[0].clevel == 0,
		    "a format 1 tree of 0.1.0 reads, without links");
		tree_free(&got);
		/* Inside an index it is not taken. */
		memcpy(buf, "GVI2\1\0\0\0\1\0\3old", 14);
		memcpy(buf + 14, id, 32);
		mput(buf, 46, (const uint8_t (*)[BLOB_ID_LEN])id, 1, id2);
		ok(tree_load(&msrc, id2, &got, err, sizeof(err)) == 1,
		    "... but not as a page of an index");
		mclear();
	}

	/* Hand-made indexes and lists. */
	tree_init(&all);
	add(&all, "m", NODE_FIFO, 1);
	add(&all, "n", NODE_FIFO, 2);
	{
		uint8_t *p;
		size_t len;

		tree_encode(&all, &p, &len);
		mput(p, len, NULL, 0, x);
		free(p);
	}
	tree_free(&all);
	/* An index over x naming it "a" while it starts with "m". */
	memcpy(buf, "GVI2\1\0\0\0\1\0\1a", 12);
	memcpy(buf + 12, x, 32);
	mput(buf, 44, (const uint8_t (*)[BLOB_ID_LEN])x, 1, id);
	ok(load_expanded(&msrc, id, &got, err, sizeof(err)) == 1 &&
	    strstr(err, "start"), "an index whose name is not its page's "
	    "first is refused");
	buf[11] = 'm';
	mput(buf, 44, (const uint8_t (*)[BLOB_ID_LEN])x, 1, id);
	ok(load_expanded(&msrc, id, &got, err, sizeof(err)) == 0 &&
	    got.n == 2, "(the same index, named right, reads)");
	tree_free(&got);
	buf[4] = 2;		/* level 2 over a page */
	mput(buf, 44, (const uint8_t (*)[BLOB_ID_LEN])x, 1, id2);
	ok(load_expanded(&msrc, id2, &got, err, sizeof(err)) == 1 &&
	    strstr(err, "not the page or index"),
	    "an index of level 2 over a page is refused");
	/* Two entries, both the same page: overlap. */
	memcpy(buf, "GVI2\1\0\0\0\2\0\1m", 12);
	memcpy(buf + 12, x, 32);
	memcpy(buf + 44, "\0\2mz", 4);
	memcpy(buf + 48, x, 32);
	mput(buf, 80, (const uint8_t (*)[BLOB_ID_LEN])x, 1, id);
	ok(load_expanded(&msrc, id, &got, err, sizeof(err)) == 1,
	    "an index naming one page twice is refused");
	/* A list where a directory should be. */
	memcpy(buf, "GVL2\1\0\0\0\1", 9);
	memcpy(buf + 9, x, 32);
	mput(buf, 41, (const uint8_t (*)[BLOB_ID_LEN])x, 1, id);
	ok(load_expanded(&msrc, id, &got, err, sizeof(err)) == 1 &&
	    strstr(err, "chunk list where"),
	    "a chunk list as a directory is refused");
	ok(tree_blob_decode(buf, 40, &tb, err, sizeof(err)) == -1,
	    "a list one byte short is refused");
	buf[4] = 0;
	ok(tree_blob_decode(buf, 41, &tb, err, sizeof(err)) == -1 &&
	    strstr(err, "level"), "a list of level 0 is refused");
	buf[4] = 1;
	memcpy(buf + 5, "\0\0\0\0", 4);
	ok(tree_blob_decode(buf, 9, &tb, err, sizeof(err)) == -1,
	    "an empty list is refused");
	memcpy(buf, "GVI2\1\0\0\0\2\0\1m", 12);
	memcpy(buf + 44, "\0\1m", 3);
	memcpy(buf + 47, x, 32);
	ok(tree_blob_decode(buf, 79, &tb, err, sizeof(err)) == -1 &&
	    strstr(err, "sorted"), "an index with a repeated name is "
	    "refused");
	memcpy(buf + 44, "\0\1/", 3);
	ok(tree_blob_decode(buf, 79, &tb, err, sizeof(err)) == -1 &&
	    strstr(err, "'/'"), "an index with a bad name is refused");
	ok(tree_blob_decode(buf, 8, &tb, err, sizeof(err)) == -1,
	    "a truncated index header is refused");
	/* A file whose list ids are not lists. */
	tree_init(&all);
	add(&all, "f", NODE_FILE, 3);
	free(all.nodes[0].chunks);
	all.nodes[0].chunks = malloc(BLOB_ID_LEN);
	memcpy(all.nodes[0].chunks[0], x, BLOB_ID_LEN);
	all.nodes[0].nchunks = 1;
	all.nodes[0].clevel = 1;
	{
		uint8_t *p;
		size_t len;

		tree_encode(&all, &p, &len);
		tree_page_links(&all, &links, &nl);
		mput(p, len, (const uint8_t (*)[BLOB_ID_LEN])links, nl, id);
		free(links);
		free(p);
	}
	tree_free(&all);
	ok(load_expanded(&msrc, id, &got, err, sizeof(err)) == 1 &&
	    strstr(err, "not a chunk list"),
	    "a file whose list id names a page is refused");
	ok(tree_load(&msrc, id, &got, err, sizeof(err)) == 0,
	    "(read as stored, it is a page with one file)");
	tree_free(&got);
	mclear();
}

/* Random mutations of every kind of format 3 blob fail cleanly. */
static void
test_mutations2(void)
{
	struct tree all;
	struct tree_blob tb;
	uint64_t seed = 7;
	size_t runs = 0, decoded = 0;
	uint8_t *m;

	write_dir(300, NULL, (uint8_t[BLOB_ID_LEN]){ 0 }, &all);
	tree_free(&all);
	for (size_t i = 0; i < nstore; i++) {
		for (int k = 0; k < 200; k++) {
			size_t len = store[i].len;

			m = malloc(len);
			memcpy(m, store[i].body, len);
			for (int f = 0; f < 1 + (int)(rnd(&seed) % 3); f++)
				m[rnd(&seed) % len] ^= (uint8_t)(1 +
				    rnd(&seed) % 255);
			if (rnd(&seed) % 4 == 0)
				len = rnd(&seed) % len;
			if (tree_blob_decode(m, len, &tb, err,
			    sizeof(err)) == 0) {
				decoded++;
				tree_blob_free(&tb);
			}
			runs++;
			free(m);
		}
	}
	printf("# %zu format 3 mutants: %zu decoded, %zu refused\n", runs,
	    decoded, runs - decoded);
	ok(runs > 1000, "random mutations of pages, indexes and lists: each "
	    "decodes or is refused cleanly");
	mclear();
}

/*
 * tree_lists_cut() over a window, as backup's read_file() uses it, makes
 * the same lists (same ids) as tree_file_lists() over the whole list.
 */
static void
test_lists_stream(void)
{
	const uint32_t nids = 3000, wins[] = { 9, 22, 37, 500 };
	uint8_t (*all)[BLOB_ID_LEN] = calloc(nids, BLOB_ID_LEN);
	uint8_t (*w)[BLOB_ID_LEN], (*lists)[BLOB_ID_LEN];
	struct node whole, streamed;
	uint32_t nw, nlists, lcap, used;
	int r = 1, same = 1;

	setenv("GIGAVAULT_TEST_SMALL_TREES", "1", 1);
	tree_limits_init(42);
	for (uint32_t i = 0; i < nids; i++)
		blob_id(&zkeys, BLOB_DATA, &i, sizeof(i), all[i]);
	memset(&whole, 0, sizeof(whole));
	whole.type = NODE_FILE;
	whole.chunks = calloc(nids, BLOB_ID_LEN);
	memcpy(whole.chunks, all, (size_t)nids * BLOB_ID_LEN);
	whole.nchunks = nids;
	r &= tree_file_lists(&whole, memit, NULL) == 0 && whole.clevel >= 2;
	for (size_t k = 0; k < sizeof(wins) / sizeof(wins[0]); k++) {
		w = calloc(wins[k], BLOB_ID_LEN);
		lists = NULL;
		nw = nlists = lcap = 0;
		for (uint32_t i = 0; i < nids && r; i++) {
			if (nw == wins[k]) {
				r &= tree_lists_cut((const uint8_t (*)
				    [BLOB_ID_LEN])w, nw, 0, 0, memit, NULL,
				    &lists, &nlists, &lcap, &used) == 0 &&
				    used > 0;
				memmove(w, w + used, (size_t)(nw - used) *
				    BLOB_ID_LEN);
				nw -= used;
			}
			memcpy(w[nw++], all[i], BLOB_ID_LEN);
		}
		r &= tree_lists_cut((const uint8_t (*)[BLOB_ID_LEN])w, nw, 0,
		    1, memit, NULL, &lists, &nlists, &lcap, &used) == 0 &&
		    used == nw;
		memset(&streamed, 0, sizeof(streamed));
		streamed.type = NODE_FILE;
		streamed.chunks = lists;
		streamed.nchunks = nlists;
		streamed.clevel = 1;
		r &= tree_file_lists(&streamed, memit, NULL) == 0;
		same &= streamed.clevel == whole.clevel &&
		    streamed.nchunks == whole.nchunks &&
		    memcmp(streamed.chunks, whole.chunks,
		    (size_t)whole.nchunks * BLOB_ID_LEN) == 0;
		free(streamed.chunks);
		free(w);
	}
	ok(r && same, "chunk lists cut over windows of 9, 22, 37 and 500 "
	    "ids are those of the whole list (same ids, same levels)");
	free(whole.chunks);
	free(all);
	mclear();
	tree_limits_init(42);
}

/* ---------------------------------------------------------------- format 3 */

static size_t
put_be(uint8_t *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return (size_t)bytes;
}

/*
 * A format 3 page of one node "x" (a FIFO, or a file of size bytes and
 * no chunks), up to where its flags go; returns its length.
 */
static size_t
meta_head(uint8_t *b, uint8_t type, uint64_t size)
{
	size_t n;

	memcpy(b, "GVT3\0\0\0\1\0\1x", 11);
	n = 11;
	b[n++] = type;
	memset(b + n, 0, 76);
	put_be(b + n + 12 + 36, size, 8);	/* after mode..ctime */
	n += 76;
	if (type == NODE_FILE) {
		memset(b + n, 0, 5);		/* clevel 0, no ids */
		n += 5;
	}
	return n;
}

/* An xattr entry: name, value of vlen bytes of 'v'. */
static size_t
put_xattr(uint8_t *b, const char *name, size_t nl, uint32_t vlen)
{
	size_t n = 0;

	b[n++] = (uint8_t)nl;
	memcpy(b + n, name, nl);
	n += nl;
	n += put_be(b + n, vlen, 4);
	memset(b + n, 'v', vlen);
	return n + vlen;
}

static void
test_meta(void)
{
	static uint8_t b[400000];
	struct tree t, u;
	struct node *nd;
	uint8_t *p, *q;
	size_t n, m, len, qlen;
	char name[300], msg[200];

	/* Round trip of what a backup fills, and the same bytes twice. */
	tree_init(&t);
	nd = add(&t, "f", NODE_FILE, 2);
	ok(nd->nxattrs == 2 && nd->nholes == 2, "(setup) a file with xattrs "
	    "and holes");
	ok(tree_encode(&t, &p, &len) == 0 && memcmp(p, "GVT3", 4) == 0,
	    "a node with xattrs, flags and holes encodes as format 3");
	ok(tree_decode(p, len, &u, err, sizeof(err)) == 0 && u.n == 1 &&
	    u.format == 3 && node_eq(&t.nodes[0], &u.nodes[0]),
	    "and decodes to the same node");
	ok(tree_encode(&u, &q, &qlen) == 0 && qlen == len &&
	    memcmp(p, q, len) == 0, "and encodes to the same bytes");
	free(q);
	tree_free(&u);
	free(p);

	/* The encoder refuses what the decoder would. */
	nd->xattrs[0].name[0] = 'z';		/* "zecurity.capability" */
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses an xattr in no known namespace");
	memcpy(nd->xattrs[0].name, "user.zzz", 9);	/* after user.empty */
	ok(tree_encode(&t, &p, &len) == -1, "encode refuses unsorted xattrs");
	memcpy(nd->xattrs[0].name, "user.empty", 11);
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses duplicate xattrs");
	memcpy(nd->xattrs[0].name, "user.", 6);
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses a bare namespace prefix");
	memcpy(nd->xattrs[0].name, "trusted.a", 10);
	ok(tree_encode(&t, &p, &len) == 0, "a valid pair encodes");
	free(p);
	nd->xattrs[0].len = TREE_MAX_XATTR_VALUE + 1;
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses a value of more than 64 KiB");
	nd->xattrs[0].len = 20;
	nd->iflags |= 0x00080000;		/* FS_EXTENT_FL */
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses an inode flag that is not kept");
	nd->iflags = 0x10;
	nd->holes[1].len++;			/* past the size */
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses a hole past the size");
	nd->holes[1].len--;
	nd->holes[1].off = 4096;		/* touching the first */
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses holes that touch");
	nd->holes[1].off = 65536;
	nd->holes[0].len = 0;
	ok(tree_encode(&t, &p, &len) == -1, "encode refuses an empty hole");
	nd->holes[0].len = 4096;
	nd->type = NODE_FIFO;
	ok(tree_encode(&t, &p, &len) == -1,
	    "encode refuses holes on a non-file");
	nd->type = NODE_FILE;
	ok(tree_encode(&t, &p, &len) == 0, "(setup) valid again");
	free(p);
	tree_free(&t);

	/* Deterministic: xattrs read in any order, sorted, same bytes. */
	{
		const char *names[] = { "user.b", "security.selinux",
		    "system.posix_acl_access", "user.a", "trusted.x" };
		uint8_t *e[2];
		size_t el[2];

		for (int r = 0; r < 2; r++) {
			tree_init(&t);
			nd = add(&t, "d", NODE_DIR, 1);
			nd->nxattrs = 5;
			nd->xattrs = calloc(5, sizeof(*nd->xattrs));
			for (int i = 0; i < 5; i++) {
				int k = r ? 4 - i : i;

				nd->xattrs[i].name = strdup(names[k]);
				nd->xattrs[i].value = (uint8_t *)strdup(
				    names[k]);
				nd->xattrs[i].len = (uint32_t)strlen(names[k]);
			}
			ok(tree_encode(&t, &e[r], &el[r]) == -1,
			    "xattrs not sorted: refused");
			/* As fsmeta_xattrs_read() leaves them. */
			for (int i = 0; i < 5; i++)
				for (int j = i + 1; j < 5; j++)
					if (strcmp(nd->xattrs[i].name,
					    nd->xattrs[j].name) > 0) {
						struct node_xattr x =
						    nd->xattrs[i];
						nd->xattrs[i] = nd->xattrs[j];
						nd->xattrs[j] = x;
					}
			ok(tree_encode(&t, &e[r], &el[r]) == 0, "sorted: "
			    "encoded");
			tree_free(&t);
		}
		ok(el[0] == el[1] && memcmp(e[0], e[1], el[0]) == 0,
		    "the same xattrs read in another order: the same bytes");
		free(e[0]);
		free(e[1]);
	}

	/* The decoder, by hand. */
	n = meta_head(b, NODE_FIFO, 0);
	memcpy(b + n, "\0\0\0\x10\0\0", 6);	/* immutable, no xattrs */
	ok(accepted(b, n + 6), "(setup) a hand-made format 3 node decodes");
	ok(refused(b, n + 5, "truncated"), "a truncated xattr count");
	ok(refused(b, n + 3, "truncated"), "truncated flags");
	memcpy(b + n, "\0\x08\0\0\0\0", 6);	/* FS_EXTENT_FL */
	ok(refused(b, n + 6, "flags"), "an inode flag not kept is refused");
	memcpy(b + n, "\0\0\0\0\x24\x93", 6);	/* 9363 xattrs */
	ok(refused(b, n + 6 + 200000, "more than"),
	    "more than 9362 xattrs are refused");
	memcpy(b + n, "\0\0\0\0\0\x03", 6);	/* 3, room for 2 */
	ok(refused(b, n + 6 + 22, "cannot fit"),
	    "an xattr count over the bytes left is refused");

	/* One xattr each: what a name or value may be. */
	struct { const char *name; size_t nl; uint32_t vl; const char *why; }
	    one[] = {
		{ "user.a", 6, 0, NULL },
		{ "trusted.overlay.opaque", 22, 1, NULL },
		{ "security.capability", 19, 20, NULL },
		{ "system.posix_acl_default", 24, 28, NULL },
		{ "user.a", 6, TREE_MAX_XATTR_VALUE, NULL },
		{ "user.a", 6, TREE_MAX_XATTR_VALUE + 1, "more than" },
		{ "user.", 5, 1, "namespace" },
		{ "other.a", 7, 1, "namespace" },
		{ "", 0, 6, "0 or more than" },
		{ "user.a\0b", 8, 1, "NUL" },
		{ "USER.a", 6, 1, "namespace" },
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		n = meta_head(b, NODE_FIFO, 0);
		memcpy(b + n, "\0\0\0\0\0\x01", 6);
		m = n + 6 + put_xattr(b + n + 6, one[i].name, one[i].nl,
		    one[i].vl);
		if (one[i].why == NULL)
			snprintf(msg, sizeof(msg), "xattr %s of %u bytes "
			    "decodes", one[i].name, one[i].vl);
		else
			snprintf(msg, sizeof(msg), "xattr \"%.*s\" of %u "
			    "bytes is refused (%s)", (int)strnlen(one[i].name,
			    one[i].nl), one[i].name, one[i].vl, one[i].why);
		ok(one[i].why == NULL ? accepted(b, m) : refused(b, m,
		    one[i].why), msg);
		if (one[i].why == NULL)
			ok(refused(b, m - 1, ""),
			    "and truncated by one byte, refused");
	}
	n = meta_head(b, NODE_FIFO, 0);
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	memcpy(b + n, "\0\0\0\0\0\x01", 6);
	m = n + 6 + put_xattr(b + n + 6, name, 255, 0);
	ok(accepted(b, m), "a 255-byte xattr name is fine");

	/* Two: order. */
	n = meta_head(b, NODE_FIFO, 0);
	memcpy(b + n, "\0\0\0\0\0\x02", 6);
	m = n + 6 + put_xattr(b + n + 6, "user.b", 6, 1);
	m += put_xattr(b + m, "user.a", 6, 1);
	ok(refused(b, m, "not sorted"), "unsorted xattrs are refused");
	m = n + 6 + put_xattr(b + n + 6, "user.a", 6, 1);
	m += put_xattr(b + m, "user.a", 6, 1);
	ok(refused(b, m, "unique"), "duplicate xattrs are refused");
	m = n + 6 + put_xattr(b + n + 6, "user.a", 6, 1);
	m += put_xattr(b + m, "user.ab", 7, 1);
	ok(accepted(b, m), "a name and a longer one after it are fine");

	/* The total: five of 64 KiB are more than 256 KiB. */
	n = meta_head(b, NODE_FIFO, 0);
	memcpy(b + n, "\0\0\0\0\0\x05", 6);
	m = n + 6;
	for (int i = 0; i < 5; i++) {
		char xn[8] = "user.0";

		xn[5] = (char)('0' + i);
		m += put_xattr(b + m, xn, 6, TREE_MAX_XATTR_VALUE);
	}
	ok(refused(b, m, "more than 262144 bytes"),
	    "more than 256 KiB of xattrs in one node are refused");
	b[n + 5] = 3;
	m = n + 6;
	for (int i = 0; i < 3; i++) {
		char xn[8] = "user.0";

		xn[5] = (char)('0' + i);
		m += put_xattr(b + m, xn, 6, TREE_MAX_XATTR_VALUE);
	}
	ok(accepted(b, m), "three of 64 KiB are fine");

	/* Holes. */
	struct { uint64_t size; uint32_t nh; uint64_t h[6]; const char *why; }
	    hs[] = {
		{ 100, 0, { 0 }, NULL },
		{ 100, 1, { 0, 100 }, NULL },
		{ 100, 2, { 0, 10, 11, 89 }, NULL },
		{ 100, 1, { 0, 0 }, "empty" },
		{ 100, 1, { 0, 101 }, "beyond" },
		{ 100, 1, { 101, 1 }, "beyond" },
		{ 100, 1, { 1, UINT64_MAX }, "beyond" },
		{ UINT64_MAX, 1, { UINT64_MAX - 1, 2 }, "beyond" },
		{ 100, 2, { 0, 10, 10, 10 }, "not after" },
		{ 100, 2, { 20, 10, 0, 10 }, "not after" },
		{ 100, 2, { 0, 50, 40, 20 }, "not after" },
	};
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		n = meta_head(b, NODE_FILE, hs[i].size);
		memcpy(b + n, "\0\0\0\0\0\0", 6);
		m = n + 6 + put_be(b + n + 6, hs[i].nh, 4);
		for (uint32_t k = 0; k < 2 * hs[i].nh; k++)
			m += put_be(b + m, hs[i].h[k], 8);
		if (hs[i].why == NULL) {
			snprintf(msg, sizeof(msg), "%u holes in %llu bytes "
			    "decode; one byte short, refused", hs[i].nh,
			    (unsigned long long)hs[i].size);
			ok(accepted(b, m) && refused(b, m - 1, ""), msg);
		} else {
			snprintf(msg, sizeof(msg), "holes case %zu refused "
			    "(%s)", i, hs[i].why);
			ok(refused(b, m, hs[i].why), msg);
		}
	}
	n = meta_head(b, NODE_FILE, 100);
	memcpy(b + n, "\0\0\0\0\0\0\0\x01\0\x01", 10);	/* 65537 holes */
	ok(refused(b, n + 10 + 65537 * 16, "more than"),
	    "more than 65536 holes are refused");
	memcpy(b + n, "\0\0\0\0\0\0\0\0\0\x03", 10);	/* 3, room for 2 */
	ok(refused(b, n + 10 + 32, "cannot fit"),
	    "a hole count over the bytes left is refused");
	n = meta_head(b, NODE_FIFO, 0);
	memcpy(b + n, "\0\0\0\0\0\0\0\0\0\0", 10);
	ok(refused(b, n + 10, "after the last entry"),
	    "a FIFO has no hole count");

	/* Formats 1 and 2 still decode, with no metadata. */
	n = one_node(b, "x", 1, NODE_FIFO);
	ok(tree_decode(b, n, &u, err, sizeof(err)) == 0 && u.format == 1 &&
	    u.nodes[0].nxattrs == 0, "a format 1 page decodes (format 1)");
	tree_free(&u);
	memcpy(b, "GVT2", 4);
	ok(tree_decode(b, n, &u, err, sizeof(err)) == 0 && u.format == 2 &&
	    u.nodes[0].iflags == 0, "a format 2 page decodes (format 2)");
	tree_free(&u);
	n = meta_head(b, NODE_FILE, 100);
	memcpy(b, "GVT2", 4);
	ok(accepted(b, n), "a format 2 file has no hole count");
}

/* The pager counts a node's xattrs and holes in a page's bytes. */
static void
test_pager_meta(void)
{
	struct tree_limits saved = tree_limits;
	struct tree_pager pg;
	struct tree t;
	struct node *nd;
	char name[16];
	int cut = 0;

	tree_limits.page_bytes = 8192;
	tree_limits.page_entries = 32;
	tree_limits.page_single = 100000;	/* no content-defined cuts */
	tree_init(&t);
	tree_pager_reset(&pg, 1000);
	for (int i = 0; i < 10 && !cut; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		nd = add(&t, name, NODE_FIFO, 1);	/* odd: no meta */
		nd->nxattrs = 1;
		nd->xattrs = calloc(1, sizeof(*nd->xattrs));
		nd->xattrs[0].name = strdup("user.big");
		nd->xattrs[0].value = calloc(1, 3000);
		nd->xattrs[0].len = 3000;
		if (tree_pager_add(&pg, nd))
			cut = i + 1;
	}
	ok(cut == 3, "a page of nodes with 3000-byte xattrs ends at the "
	    "third (8 KiB), not at 32 entries");
	tree_free(&t);
	tree_limits = saved;
}

int
main(void)
{
	test_roundtrip();
	test_encode_refuses();
	test_decode_refuses();
	test_meta();
	test_pager_meta();
	test_mutations();
	test_large();
	test_split();
	test_lists_stream();
	test_hostile();
	test_mutations2();
	return tap_done();
}
