/*
 * tree.c - one directory of a snapshot: build, sort, encode, and decode
 * with every check a hostile server's bytes call for.  See tree.h.
 *
 * Encoding (big-endian, like the wire):
 *
 *	"GVT1" u32 count, then count nodes, sorted by name, strictly
 *	ascending (bytewise, shorter first on a common prefix), each:
 *	u16 name length (1..255), name bytes
 *	u8 type, u32 mode (<= 07777), u32 uid, u32 gid
 *	i64 mtime sec, u32 mtime nsec, i64 atime sec, u32 atime nsec,
 *	i64 ctime sec, u32 ctime nsec (each nsec < 10^9)
 *	u64 size, u64 dev, u64 inode, u32 nlink
 *	then by type:
 *	    NODE_FILE		u32 nchunks (<= 2^24), nchunks 32-byte ids
 *	    NODE_DIR		32-byte subtree id
 *	    NODE_SYMLINK	u16 target length (1..4095), target bytes
 *	    NODE_CHR, NODE_BLK	u64 rdev
 *	    NODE_FIFO, NODE_SOCK	nothing
 *
 * Fields that do not belong to a node's type are not stored and decode
 * as zero (or NULL).  Nothing follows the last node.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "tree.h"

#define TREE_MAGIC	"GVT1"
#define TREE_HDR	8	/* magic, count */
/* Bytes of a node without its name and type-specific part. */
#define NODE_FIXED	(2 + 1 + 3 * 4 + 3 * (8 + 4) + 3 * 8 + 4)
/* The least a node can take: a one-byte name, a FIFO. */
#define NODE_MIN	(NODE_FIXED + 1)
#define NSEC_MAX	999999999u

void
tree_init(struct tree *t)
{
	t->nodes = NULL;
	t->n = t->cap = 0;
}

static void
node_free(struct node *nd)
{
	free(nd->name);
	free(nd->target);
	free(nd->chunks);
}

void
tree_free(struct tree *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		node_free(&t->nodes[i]);
	free(t->nodes);
	tree_init(t);
}

struct node *
tree_add(struct tree *t)
{
	struct node *nodes;
	uint32_t cap;

	if (t->n == t->cap) {
		if (t->cap >= TREE_MAX_ENTRIES)
			return NULL;
		cap = t->cap ? t->cap * 2 : 16;
		if (cap > TREE_MAX_ENTRIES)
			cap = TREE_MAX_ENTRIES;
		if ((nodes = realloc(t->nodes, cap * sizeof(*nodes))) == NULL)
			return NULL;
		t->nodes = nodes;
		t->cap = cap;
	}
	memset(&t->nodes[t->n], 0, sizeof(t->nodes[0]));
	return &t->nodes[t->n++];
}

static int
node_cmp(const void *a, const void *b)
{
	const struct node *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void
tree_sort(struct tree *t)
{
	if (t->n > 1)
		qsort(t->nodes, t->n, sizeof(t->nodes[0]), node_cmp);
}

const struct node *
tree_find(const struct tree *t, const char *name)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t->nodes[mid].name);

		if (c == 0)
			return &t->nodes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * A name of len bytes at s: 1..TREE_MAX_NAME bytes, no '/' or NUL, not
 * "." or "..".  Returns NULL when valid, else why not.
 */
static const char *
name_bad(const char *s, size_t len)
{
	if (len == 0)
		return "empty name";
	if (len > TREE_MAX_NAME)
		return "name too long";
	if (memchr(s, '/', len) != NULL)
		return "'/' in a name";
	if (memchr(s, '\0', len) != NULL)
		return "NUL in a name";
	if (s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.')))
		return "name \".\" or \"..\"";
	return NULL;
}

/* Bytewise order of two names given with their lengths, as strcmp. */
static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* ---------------------------------------------------------------- encode */

/* Each writes at p and returns where the next field goes. */
static inline uint8_t *
put16(uint8_t *p, uint16_t v)
{
	be16_put(p, v);
	return p + 2;
}

static inline uint8_t *
put32(uint8_t *p, uint32_t v)
{
	be32_put(p, v);
	return p + 4;
}

static inline uint8_t *
put64(uint8_t *p, uint64_t v)
{
	be64_put(p, v);
	return p + 8;
}

/* The encoded size of a valid node, or 0 when it is not valid. */
static size_t
node_size(const struct node *nd)
{
	size_t n, len;

	if (nd->name == NULL || name_bad(nd->name, strlen(nd->name)) != NULL ||
	    nd->mode > 07777 || nd->mtime_nsec > NSEC_MAX ||
	    nd->atime_nsec > NSEC_MAX || nd->ctime_nsec > NSEC_MAX)
		return 0;
	n = NODE_FIXED + strlen(nd->name);
	switch (nd->type) {
	case NODE_FILE:
		if (nd->nchunks > TREE_MAX_CHUNKS ||
		    (nd->nchunks > 0 && nd->chunks == NULL))
			return 0;
		return n + 4 + (size_t)nd->nchunks * BLOB_ID_LEN;
	case NODE_DIR:
		return n + BLOB_ID_LEN;
	case NODE_SYMLINK:
		if (nd->target == NULL || (len = strlen(nd->target)) == 0 ||
		    len > TREE_MAX_TARGET)
			return 0;
		return n + 2 + len;
	case NODE_CHR:
	case NODE_BLK:
		return n + 8;
	case NODE_FIFO:
	case NODE_SOCK:
		return n;
	default:
		return 0;
	}
}

int
tree_encode(const struct tree *t, uint8_t **out, size_t *len)
{
	uint8_t *buf, *p;
	size_t total = TREE_HDR, n;

	*out = NULL;
	*len = 0;
	if (t->n > TREE_MAX_ENTRIES)
		return -1;
	for (uint32_t i = 0; i < t->n; i++) {
		if ((n = node_size(&t->nodes[i])) == 0)
			return -1;
		if (i > 0 && strcmp(t->nodes[i - 1].name,
		    t->nodes[i].name) >= 0)
			return -1;	/* unsorted or duplicate */
		total += n;
	}
	if ((buf = malloc(total)) == NULL)
		return -1;
	memcpy(buf, TREE_MAGIC, 4);
	p = put32(buf + 4, t->n);
	for (uint32_t i = 0; i < t->n; i++) {
		const struct node *nd = &t->nodes[i];
		size_t nl = strlen(nd->name);

		p = put16(p, (uint16_t)nl);
		memcpy(p, nd->name, nl);
		p += nl;
		*p++ = nd->type;
		p = put32(p, nd->mode);
		p = put32(p, nd->uid);
		p = put32(p, nd->gid);
		p = put64(p, (uint64_t)nd->mtime_sec);
		p = put32(p, nd->mtime_nsec);
		p = put64(p, (uint64_t)nd->atime_sec);
		p = put32(p, nd->atime_nsec);
		p = put64(p, (uint64_t)nd->ctime_sec);
		p = put32(p, nd->ctime_nsec);
		p = put64(p, nd->size);
		p = put64(p, nd->dev);
		p = put64(p, nd->inode);
		p = put32(p, nd->nlink);
		switch (nd->type) {
		case NODE_FILE:
			p = put32(p, nd->nchunks);
			if (nd->nchunks > 0) {
				memcpy(p, nd->chunks,
				    (size_t)nd->nchunks * BLOB_ID_LEN);
				p += (size_t)nd->nchunks * BLOB_ID_LEN;
			}
			break;
		case NODE_DIR:
			memcpy(p, nd->subtree, BLOB_ID_LEN);
			p += BLOB_ID_LEN;
			break;
		case NODE_SYMLINK:
			nl = strlen(nd->target);
			p = put16(p, (uint16_t)nl);
			memcpy(p, nd->target, nl);
			p += nl;
			break;
		case NODE_CHR:
		case NODE_BLK:
			p = put64(p, nd->rdev);
			break;
		}
	}
	if ((size_t)(p - buf) != total) {	/* cannot happen */
		free(buf);
		return -1;
	}
	*out = buf;
	*len = total;
	return 0;
}

/* ---------------------------------------------------------------- decode */

/*
 * The reader: the callers check rd.left before each group of gets (one
 * check per node's fixed part), so the gets themselves do not.
 */
struct rd {
	const uint8_t	*p;
	size_t		 left;
};

/* Each consumes a field whose length the caller has checked. */
static inline uint16_t
get16(struct rd *r)
{
	uint16_t v = be16_get(r->p);

	r->p += 2;
	r->left -= 2;
	return v;
}

static inline uint32_t
get32(struct rd *r)
{
	uint32_t v = be32_get(r->p);

	r->p += 4;
	r->left -= 4;
	return v;
}

static inline uint64_t
get64(struct rd *r)
{
	uint64_t v = be64_get(r->p);

	r->p += 8;
	r->left -= 8;
	return v;
}

/* A copy of len bytes as a NUL-terminated string, or NULL. */
static char *
get_str(struct rd *r, size_t len)
{
	char *s;

	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(s, r->p, len);
	s[len] = '\0';
	r->p += len;
	r->left -= len;
	return s;
}

#define BAD(...) do {						\
	snprintf(err, errlen, __VA_ARGS__);			\
	goto fail;						\
} while (0)

int
tree_decode(const uint8_t *p, size_t len, struct tree *t, char *err,
    size_t errlen)
{
	struct rd r = { p, len };
	const char *prev = NULL, *why;
	size_t prevlen = 0, nl, tl;
	uint32_t count;

	tree_init(t);
	if (len < TREE_HDR || memcmp(p, TREE_MAGIC, 4) != 0)
		BAD("not a tree (bad magic or too short)");
	r.p += 4;
	r.left -= 4;
	count = get32(&r);
	if (count > TREE_MAX_ENTRIES)
		BAD("%u entries, more than %u", count, TREE_MAX_ENTRIES);
	if (count > r.left / NODE_MIN)
		BAD("%u entries cannot fit in %zu bytes", count, r.left);
	if (count > 0 && (t->nodes = calloc(count, sizeof(*t->nodes))) ==
	    NULL)
		BAD("out of memory");
	t->cap = count;
	for (uint32_t i = 0; i < count; i++) {
		struct node *nd = &t->nodes[i];
		const char *name;

		if (r.left < 2 || (nl = get16(&r)) > r.left)
			BAD("entry %u: truncated name", i);
		name = (const char *)r.p;
		if ((why = name_bad(name, nl)) != NULL)
			BAD("entry %u: %s", i, why);
		if (prev != NULL && name_cmp(prev, prevlen, name, nl) >= 0)
			BAD("entry %u: names not sorted or not unique", i);
		prev = name;
		prevlen = nl;
		if ((nd->name = get_str(&r, nl)) == NULL)
			BAD("out of memory");
		t->n = i + 1;	/* from here on, tree_free() frees it */
		if (r.left < NODE_FIXED - 2)
			BAD("entry %u: truncated", i);
		nd->type = *r.p++;
		r.left--;
		nd->mode = get32(&r);
		nd->uid = get32(&r);
		nd->gid = get32(&r);
		nd->mtime_sec = (int64_t)get64(&r);
		nd->mtime_nsec = get32(&r);
		nd->atime_sec = (int64_t)get64(&r);
		nd->atime_nsec = get32(&r);
		nd->ctime_sec = (int64_t)get64(&r);
		nd->ctime_nsec = get32(&r);
		nd->size = get64(&r);
		nd->dev = get64(&r);
		nd->inode = get64(&r);
		nd->nlink = get32(&r);
		if (nd->mode > 07777)
			BAD("entry %u: mode %o has more than permission bits",
			    i, nd->mode);
		if (nd->mtime_nsec > NSEC_MAX || nd->atime_nsec > NSEC_MAX ||
		    nd->ctime_nsec > NSEC_MAX)
			BAD("entry %u: nanoseconds out of range", i);
		switch (nd->type) {
		case NODE_FILE:
			if (r.left < 4)
				BAD("entry %u: truncated chunk count", i);
			nd->nchunks = get32(&r);
			if (nd->nchunks > TREE_MAX_CHUNKS)
				BAD("entry %u: %u chunks, more than %u", i,
				    nd->nchunks, TREE_MAX_CHUNKS);
			if (nd->nchunks > r.left / BLOB_ID_LEN)
				BAD("entry %u: %u chunk ids cannot fit in "
				    "%zu bytes", i, nd->nchunks, r.left);
			if (nd->nchunks == 0)
				break;
			tl = (size_t)nd->nchunks * BLOB_ID_LEN;
			if ((nd->chunks = malloc(tl)) == NULL) {
				nd->nchunks = 0;
				BAD("out of memory");
			}
			memcpy(nd->chunks, r.p, tl);
			r.p += tl;
			r.left -= tl;
			break;
		case NODE_DIR:
			if (r.left < BLOB_ID_LEN)
				BAD("entry %u: truncated subtree id", i);
			memcpy(nd->subtree, r.p, BLOB_ID_LEN);
			r.p += BLOB_ID_LEN;
			r.left -= BLOB_ID_LEN;
			break;
		case NODE_SYMLINK:
			if (r.left < 2 || (tl = get16(&r)) > r.left)
				BAD("entry %u: truncated symlink target", i);
			if (tl == 0 || tl > TREE_MAX_TARGET)
				BAD("entry %u: symlink target of %zu bytes "
				    "(1..%u)", i, tl, TREE_MAX_TARGET);
			if (memchr(r.p, '\0', tl) != NULL)
				BAD("entry %u: NUL in a symlink target", i);
			if ((nd->target = get_str(&r, tl)) == NULL)
				BAD("out of memory");
			break;
		case NODE_CHR:
		case NODE_BLK:
			if (r.left < 8)
				BAD("entry %u: truncated device number", i);
			nd->rdev = get64(&r);
			break;
		case NODE_FIFO:
		case NODE_SOCK:
			break;
		default:
			BAD("entry %u: unknown type %u", i, nd->type);
		}
	}
	if (r.left != 0)
		BAD("%zu bytes after the last entry", r.left);
	return 0;
fail:
	tree_free(t);
	return -1;
}
