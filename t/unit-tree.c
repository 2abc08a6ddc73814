/*
 * unit-tree.c - TAP unit tests of src/client/tree.c: every node type
 * round trips; the encoder refuses invalid trees; the decoder refuses
 * every bad name, count, type, length and truncation, leaves the tree
 * empty when it does, and survives thousands of random mutations (a
 * mutant either fails cleanly or decodes to a valid tree that encodes
 * back to the same bytes).  Run by t/00-unit-tree.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	return nd;
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
	    a->nchunks == b->nchunks &&
	    (a->nchunks == 0 || memcmp(a->chunks, b->chunks,
	    a->nchunks * BLOB_ID_LEN) == 0) &&
	    memcmp(a->subtree, b->subtree, BLOB_ID_LEN) == 0;
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

	memcpy(b, "GVT2", 4);
	ok(refused(b, n, "magic"), "a wrong magic is refused");
	memcpy(b, "GVT1\0\0\0\2", 8);
	ok(refused(b, n, "cannot fit"), "a count over the bytes is refused");
	memcpy(b, "GVT1\xff\xff\xff\xff", 8);
	ok(refused(b, n, "more than"),
	    "a count over TREE_MAX_ENTRIES is refused");
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
	ok(refused(b, n + 4 + 64, "more than"),
	    "a chunk count over TREE_MAX_CHUNKS is refused");
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
	p[8 + 80 + 2] = 'a';	/* the second name: a header, one node */
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
			if (!valid(&u) || tree_encode(&u, &e, &elen) == -1 ||
			    elen != mlen || memcmp(e, q, mlen) != 0)
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

int
main(void)
{
	test_roundtrip();
	test_encode_refuses();
	test_decode_refuses();
	test_mutations();
	test_large();
	return tap_done();
}
