/*
 * tree.c - one directory of a snapshot: build, sort, encode, split into
 * pages, indexes and chunk lists, and decode with every check a hostile
 * server's bytes call for.  See tree.h.
 *
 * Encoding (big-endian, like the wire).  A page:
 *
 *	"GVT3" u32 count, then count nodes, sorted by name, strictly
 *	ascending (bytewise, shorter first on a common prefix), each:
 *	u16 name length (1..255), name bytes
 *	u8 type, u32 mode (<= 07777), u32 uid, u32 gid
 *	i64 mtime sec, u32 mtime nsec, i64 atime sec, u32 atime nsec,
 *	i64 ctime sec, u32 ctime nsec (each nsec < 10^9)
 *	u64 size, u64 dev, u64 inode, u32 nlink
 *	then by type:
 *	    NODE_FILE		u8 clevel (0..16), u32 nids (<= 16384), nids
 *				32-byte ids: data chunks (clevel 0) or
 *				chunk lists of level clevel
 *	    NODE_DIR		32-byte subtree id
 *	    NODE_SYMLINK	u16 target length (1..4095), target bytes
 *	    NODE_CHR, NODE_BLK	u64 rdev
 *	    NODE_FIFO, NODE_SOCK	nothing
 *	then, for every type:
 *	u32 inode flags (only bits of FSMETA_IFLAGS_KEPT)
 *	u16 xattr count (<= 9362), each: u8 name length (1..255), name
 *	    ("user.", "trusted.", "security." or "system." and at least one
 *	    more byte; no NUL), u32 value length (<= 65536), value; names
 *	    strictly ascending (bytewise); names and values of a node
 *	    together at most 256 KiB (tree.h says why)
 *	and for NODE_FILE only:
 *	u32 hole count (<= 65536), each: u64 offset, u64 length; each
 *	    non-empty, ascending, not touching the one before (off >
 *	    previous off + len), ending within the file's size.  The
 *	    chunks hold the file's other bytes, concatenated in order.
 *
 * Format 2 ("GVT2") is format 3 without the part after the type's, and
 * format 1 ("GVT1", written by 0.1.0) format 2 without the clevel byte;
 * both are still read (their nodes have no xattrs, flags or holes).  An
 * index:
 *
 *	"GVI2" u8 level (1..16), u32 count (1..16384), count times: u16
 *	name length, name (the first name of that child), 32-byte id of
 *	a page (level 1) or of an index of level - 1; names ascending.
 *
 * A chunk list:
 *
 *	"GVL2" u8 level (1..16), u32 count (1..16384), count 32-byte ids of
 *	data chunks (level 1) or lists of level - 1.
 *
 * Fields that do not belong to a node's type are not stored and decode
 * as zero (or NULL).  Nothing follows the last entry.
 *
 * Where the writer cuts: a directory of a few entries (page_single) is
 * one page; in a larger one a page ends after a name whose keyed hash
 * has its low bits zero (so inserting a file moves no boundary but its
 * page's), or at a hard limit of entries, bytes or ids; indexes over the
 * pages' first names likewise, with other bits; chunk lists after an id
 * whose first bytes have their low bits zero (ids are keyed hashes).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/reader.h"
#include "fsmeta.h"
#include "tree.h"

#define TREE_MAGIC1	"GVT1"
#define TREE_MAGIC2	"GVT2"
#define TREE_MAGIC	"GVT3"
#define INDEX_MAGIC	"GVI2"
#define LIST_MAGIC	"GVL2"
#define TREE_MAGIC_LEN	4
#define TREE_HDR	(TREE_MAGIC_LEN + 4)	/* magic, count */
#define IDX_HDR		(TREE_MAGIC_LEN + 1 + 4) /* magic, level, count */
/*
 * Bytes of a node without its name and type-specific part: what the
 * writer sizes its buffer by.  The reader reads field by field through
 * common/reader.h and uses NODE_MIN only to refuse a count of entries
 * that cannot fit before allocating them.
 */
#define NODE_FIXED	(2 + 1 + 3 * 4 + 3 * (8 + 4) + 3 * 8 + 4)
/* Format 3's part after the type's: flags, xattr count (no xattrs). */
#define NODE_META	(4 + 2)
#define HOLE_SIZE	(8 + 8)
/* The least a node can take: a one-byte name, a FIFO (format 1, 2). */
#define NODE_MIN	(NODE_FIXED + 1)
/* The least an index entry can take: a one-byte name, an id. */
#define INDEX_ENTRY_MIN	(2 + 1 + BLOB_ID_LEN)
#define NSEC_MAX	999999999u

void
tree_init(struct tree *t)
{
	t->nodes = NULL;
	t->n = t->cap = 0;
	t->format = 0;
}

void
tree_node_xattrs_free(struct node *nd)
{
	for (uint32_t i = 0; i < nd->nxattrs; i++) {
		free(nd->xattrs[i].name);
		free(nd->xattrs[i].value);
	}
	free(nd->xattrs);
	nd->xattrs = NULL;
	nd->nxattrs = 0;
}

void
tree_node_meta_free(struct node *nd)
{
	tree_node_xattrs_free(nd);
	free(nd->holes);
	nd->holes = NULL;
	nd->nholes = 0;
}

int
tree_node_meta_copy(struct node *to, const struct node *from)
{
	to->xattrs = NULL;
	to->holes = NULL;
	to->nxattrs = to->nholes = 0;
	if (from->nholes > 0) {
		if ((to->holes = calloc(from->nholes, sizeof(*to->holes))) ==
		    NULL)
			return -1;
		memcpy(to->holes, from->holes, from->nholes *
		    sizeof(*to->holes));
		to->nholes = from->nholes;
	}
	if (from->nxattrs == 0)
		return 0;
	if ((to->xattrs = calloc(from->nxattrs, sizeof(*to->xattrs))) ==
	    NULL)
		return -1;
	for (uint32_t i = 0; i < from->nxattrs; i++) {
		const struct node_xattr *x = &from->xattrs[i];

		to->nxattrs = i + 1;
		if ((to->xattrs[i].name = strdup(x->name)) == NULL ||
		    (x->len > 0 && (to->xattrs[i].value = malloc(x->len)) ==
		    NULL))
			return -1;
		if (x->len > 0)
			memcpy(to->xattrs[i].value, x->value, x->len);
		to->xattrs[i].len = x->len;
	}
	return 0;
}

void
tree_node_free(struct node *nd)
{
	free(nd->name);
	free(nd->target);
	free(nd->chunks);
	tree_node_meta_free(nd);
	memset(nd, 0, sizeof(*nd));
}

void
tree_free(struct tree *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		tree_node_free(&t->nodes[i]);
	free(t->nodes);
	tree_init(t);
}

struct node *
tree_add(struct tree *t)
{
	struct node *nodes;
	uint32_t cap;

	if (t->n == t->cap) {
		if (t->cap > UINT32_MAX / 2)
			return NULL;
		cap = t->cap ? t->cap * 2 : 16;
		if ((nodes = reallocarray(t->nodes, cap, sizeof(*nodes))) ==
		    NULL)
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

const char *
tree_xattr_name_bad(const char *s, size_t len)
{
	static const char *const ns[] = { "user.", "trusted.", "security.",
	    "system." };

	if (len == 0 || len > TREE_MAX_XATTR_NAME)
		return "xattr name of 0 or more than 255 bytes";
	if (memchr(s, '\0', len) != NULL)
		return "NUL in an xattr name";
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		size_t pl = strlen(ns[i]);

		if (len > pl && memcmp(s, ns[i], pl) == 0)
			return NULL;
	}
	return "xattr name in no known namespace";
}

/*
 * The encoded size of nd's format 3 part after its type's (flags,
 * xattrs, holes), or 0 when it is not valid.
 */
static size_t
meta_size(const struct node *nd)
{
	size_t n = NODE_META, nl, total = 0;
	uint64_t end = 0;

	if ((nd->iflags & ~FSMETA_IFLAGS_KEPT) != 0 ||
	    nd->nxattrs > TREE_MAX_XATTRS ||
	    (nd->nxattrs > 0 && nd->xattrs == NULL))
		return 0;
	for (uint32_t i = 0; i < nd->nxattrs; i++) {
		const struct node_xattr *x = &nd->xattrs[i];

		if (x->name == NULL || tree_xattr_name_bad(x->name,
		    nl = strlen(x->name)) != NULL ||
		    x->len > TREE_MAX_XATTR_VALUE ||
		    (x->len > 0 && x->value == NULL) ||
		    (i > 0 && strcmp(nd->xattrs[i - 1].name, x->name) >= 0))
			return 0;
		total += nl + x->len;
		n += 1 + nl + 4 + x->len;
	}
	if (total > TREE_MAX_XATTR_BYTES)
		return 0;
	if (nd->type != NODE_FILE)
		return nd->nholes == 0 ? n : 0;
	if (nd->nholes > TREE_MAX_HOLES || (nd->nholes > 0 &&
	    nd->holes == NULL))
		return 0;
	for (uint32_t i = 0; i < nd->nholes; i++) {
		const struct node_hole *h = &nd->holes[i];

		if (h->len == 0 || (i > 0 && h->off <= end) ||
		    h->off > nd->size || h->len > nd->size - h->off)
			return 0;
		end = h->off + h->len;
	}
	return n + 4 + (size_t)nd->nholes * HOLE_SIZE;
}

/* The encoded size of a valid node, or 0 when it is not valid. */
static size_t
node_size(const struct node *nd)
{
	size_t n, len, m;

	if (nd->name == NULL || name_bad(nd->name, strlen(nd->name)) != NULL ||
	    nd->mode > 07777 || nd->mtime_nsec > NSEC_MAX ||
	    nd->atime_nsec > NSEC_MAX || nd->ctime_nsec > NSEC_MAX ||
	    (m = meta_size(nd)) == 0)
		return 0;
	n = NODE_FIXED + strlen(nd->name) + m;
	switch (nd->type) {
	case NODE_FILE:
		if (nd->nchunks > TREE_MAX_IDS || nd->clevel > TREE_MAX_LEVEL ||
		    (nd->nchunks > 0 && nd->chunks == NULL))
			return 0;
		return n + 1 + 4 + (size_t)nd->nchunks * BLOB_ID_LEN;
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
			*p++ = nd->clevel;
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
		p = put32(p, nd->iflags);
		p = put16(p, (uint16_t)nd->nxattrs);
		for (uint32_t k = 0; k < nd->nxattrs; k++) {
			const struct node_xattr *x = &nd->xattrs[k];

			nl = strlen(x->name);
			*p++ = (uint8_t)nl;
			memcpy(p, x->name, nl);
			p += nl;
			p = put32(p, x->len);
			if (x->len > 0) {
				memcpy(p, x->value, x->len);
				p += x->len;
			}
		}
		if (nd->type == NODE_FILE) {
			p = put32(p, nd->nholes);
			for (uint32_t k = 0; k < nd->nholes; k++) {
				p = put64(p, nd->holes[k].off);
				p = put64(p, nd->holes[k].len);
			}
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
 * Decoding reads through common/reader.h: every get is checked against
 * what is left, and the first failure sticks, so a run of gets (a node's
 * fixed part) is checked once after it.
 */

/* A copy of len bytes at v as a NUL-terminated string, or NULL. */
static char *
str_dup(const uint8_t *v, size_t len)
{
	char *s;

	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

#define BAD(...) do {						\
	snprintf(err, errlen, __VA_ARGS__);			\
	goto fail;						\
} while (0)

/*
 * Format 3's part after the type's of node i (nd, its type-specific part
 * read) from r: see the format at the top.  Returns 0, or -1 with the
 * reason in err (what nd got is freed with it by tree_free()).
 */
static int
meta_decode(struct reader *r, uint32_t i, struct node *nd, char *err,
    size_t errlen)
{
	const uint8_t *v;
	const char *why;
	uint16_t nx;
	uint8_t nl;
	uint32_t vl, nh;
	size_t total = 0;
	uint64_t end = 0;

	if (rd_get_u32(r, &nd->iflags) == -1 || rd_get_u16(r, &nx) == -1)
		BAD("entry %u: truncated flags or xattr count", i);
	if ((nd->iflags & ~FSMETA_IFLAGS_KEPT) != 0)
		BAD("entry %u: inode flags %#x not kept by a backup", i,
		    nd->iflags);
	if (nx > TREE_MAX_XATTRS)
		BAD("entry %u: %u xattrs, more than %u", i, nx,
		    TREE_MAX_XATTRS);
	/* Each takes at least 1 + 6 + 4 bytes ("user.x", empty value). */
	if (nx > r->left / 11)
		BAD("entry %u: %u xattrs cannot fit in %zu bytes", i, nx,
		    r->left);
	if (nx > 0 && (nd->xattrs = calloc(nx, sizeof(*nd->xattrs))) == NULL)
		BAD("out of memory");
	for (uint32_t k = 0; k < nx; k++) {
		struct node_xattr *x = &nd->xattrs[k];

		if (rd_get_u8(r, &nl) == -1 || rd_get_view(r, &v, nl) == -1)
			BAD("entry %u: xattr %u: truncated name", i, k);
		if ((why = tree_xattr_name_bad((const char *)v, nl)) != NULL)
			BAD("entry %u: xattr %u: %s", i, k, why);
		if (k > 0 && name_cmp(nd->xattrs[k - 1].name,
		    strlen(nd->xattrs[k - 1].name), (const char *)v, nl) >= 0)
			BAD("entry %u: xattr names not sorted or not unique",
			    i);
		if ((x->name = str_dup(v, nl)) == NULL)
			BAD("out of memory");
		nd->nxattrs = k + 1;
		if (rd_get_u32(r, &vl) == -1)
			BAD("entry %u: xattr %u: truncated value length", i, k);
		if (vl > TREE_MAX_XATTR_VALUE)
			BAD("entry %u: xattr %u: value of %u bytes, more than "
			    "%u", i, k, vl, TREE_MAX_XATTR_VALUE);
		total += nl + (size_t)vl;
		if (total > TREE_MAX_XATTR_BYTES)
			BAD("entry %u: xattrs of more than %u bytes", i,
			    TREE_MAX_XATTR_BYTES);
		if (rd_get_view(r, &v, vl) == -1)
			BAD("entry %u: xattr %u: truncated value", i, k);
		if (vl > 0) {
			if ((x->value = malloc(vl)) == NULL)
				BAD("out of memory");
			memcpy(x->value, v, vl);
			x->len = vl;
		}
	}
	if (nd->type != NODE_FILE)
		return 0;
	if (rd_get_u32(r, &nh) == -1)
		BAD("entry %u: truncated hole count", i);
	if (nh > TREE_MAX_HOLES)
		BAD("entry %u: %u holes, more than %u", i, nh, TREE_MAX_HOLES);
	if (nh > r->left / HOLE_SIZE)
		BAD("entry %u: %u holes cannot fit in %zu bytes", i, nh,
		    r->left);
	if (nh > 0 && (nd->holes = calloc(nh, sizeof(*nd->holes))) == NULL)
		BAD("out of memory");
	nd->nholes = nh;
	for (uint32_t k = 0; k < nh; k++) {
		struct node_hole *h = &nd->holes[k];

		rd_get_u64(r, &h->off);
		if (rd_get_u64(r, &h->len) == -1)
			BAD("entry %u: truncated holes", i);
		if (h->len == 0)
			BAD("entry %u: hole %u is empty", i, k);
		if (k > 0 && h->off <= end)
			BAD("entry %u: hole %u not after the one before", i, k);
		if (h->off > nd->size || h->len > nd->size - h->off)
			BAD("entry %u: hole %u beyond the file's size", i, k);
		end = h->off + h->len;
	}
	return 0;
fail:
	return -1;
}

/* A page of format 1, 2 or 3: see tree_decode(). */
static int
page_decode(const uint8_t *p, size_t len, int format, struct tree *t,
    char *err, size_t errlen)
{
	struct reader r;
	const uint8_t *v;
	const char *prev = NULL, *why, *name;
	size_t prevlen = 0, nl, tl;
	uint32_t count;
	uint64_t sec;

	tree_init(t);
	rd_init(&r, p, len);
	if (rd_skip(&r, TREE_MAGIC_LEN) == -1 || rd_get_u32(&r, &count) == -1)
		BAD("not a tree (too short)");
	if (count > r.left / NODE_MIN)
		BAD("%u entries cannot fit in %zu bytes", count, r.left);
	if (count > 0 && (t->nodes = calloc(count, sizeof(*t->nodes))) ==
	    NULL)
		BAD("out of memory");
	t->cap = count;
	for (uint32_t i = 0; i < count; i++) {
		struct node *nd = &t->nodes[i];

		if (rd_get_view16(&r, &v, &nl, UINT16_MAX) == -1)
			BAD("entry %u: truncated name", i);
		name = (const char *)v;
		if ((why = name_bad(name, nl)) != NULL)
			BAD("entry %u: %s", i, why);
		if (prev != NULL && name_cmp(prev, prevlen, name, nl) >= 0)
			BAD("entry %u: names not sorted or not unique", i);
		prev = name;
		prevlen = nl;
		if ((nd->name = str_dup(v, nl)) == NULL)
			BAD("out of memory");
		t->n = i + 1;	/* from here on, tree_free() frees it */
		rd_get_u8(&r, &nd->type);
		rd_get_u32(&r, &nd->mode);
		rd_get_u32(&r, &nd->uid);
		rd_get_u32(&r, &nd->gid);
		rd_get_u64(&r, &sec);
		nd->mtime_sec = (int64_t)sec;
		rd_get_u32(&r, &nd->mtime_nsec);
		rd_get_u64(&r, &sec);
		nd->atime_sec = (int64_t)sec;
		rd_get_u32(&r, &nd->atime_nsec);
		rd_get_u64(&r, &sec);
		nd->ctime_sec = (int64_t)sec;
		rd_get_u32(&r, &nd->ctime_nsec);
		rd_get_u64(&r, &nd->size);
		rd_get_u64(&r, &nd->dev);
		rd_get_u64(&r, &nd->inode);
		if (rd_get_u32(&r, &nd->nlink) == -1)
			BAD("entry %u: truncated", i);
		if (nd->mode > 07777)
			BAD("entry %u: mode %o has more than permission bits",
			    i, nd->mode);
		if (nd->mtime_nsec > NSEC_MAX || nd->atime_nsec > NSEC_MAX ||
		    nd->ctime_nsec > NSEC_MAX)
			BAD("entry %u: nanoseconds out of range", i);
		switch (nd->type) {
		case NODE_FILE:
			if ((format > 1 && rd_get_u8(&r, &nd->clevel) == -1) ||
			    rd_get_u32(&r, &nd->nchunks) == -1)
				BAD("entry %u: truncated chunk count", i);
			if (nd->clevel > TREE_MAX_LEVEL)
				BAD("entry %u: chunk list level %u, more than "
				    "%u", i, nd->clevel, TREE_MAX_LEVEL);
			if (format > 1 && nd->nchunks > TREE_MAX_IDS)
				BAD("entry %u: %u chunk ids, more than %u", i,
				    nd->nchunks, TREE_MAX_IDS);
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
			if (rd_get_bytes(&r, nd->chunks, tl) == -1)
				BAD("entry %u: truncated chunk ids", i);
			break;
		case NODE_DIR:
			if (rd_get_bytes(&r, nd->subtree, BLOB_ID_LEN) == -1)
				BAD("entry %u: truncated subtree id", i);
			break;
		case NODE_SYMLINK:
			if (rd_get_view16(&r, &v, &tl, UINT16_MAX) == -1)
				BAD("entry %u: truncated symlink target", i);
			if (tl == 0 || tl > TREE_MAX_TARGET)
				BAD("entry %u: symlink target of %zu bytes "
				    "(1..%u)", i, tl, TREE_MAX_TARGET);
			if (memchr(v, '\0', tl) != NULL)
				BAD("entry %u: NUL in a symlink target", i);
			if ((nd->target = str_dup(v, tl)) == NULL)
				BAD("out of memory");
			break;
		case NODE_CHR:
		case NODE_BLK:
			if (rd_get_u64(&r, &nd->rdev) == -1)
				BAD("entry %u: truncated device number", i);
			break;
		case NODE_FIFO:
		case NODE_SOCK:
			break;
		default:
			BAD("entry %u: unknown type %u", i, nd->type);
		}
		if (format >= 3 && meta_decode(&r, i, nd, err, errlen) == -1)
			goto fail;
	}
	if (rd_end(&r) == -1)
		BAD("%zu bytes after the last entry", r.left);
	t->format = (uint8_t)format;
	return 0;
fail:
	tree_free(t);
	return -1;
}

int
tree_decode(const uint8_t *p, size_t len, struct tree *t, char *err,
    size_t errlen)
{
	tree_init(t);
	if (len >= 4 && memcmp(p, TREE_MAGIC, 4) == 0)
		return page_decode(p, len, 3, t, err, errlen);
	if (len >= 4 && memcmp(p, TREE_MAGIC2, 4) == 0)
		return page_decode(p, len, 2, t, err, errlen);
	if (len >= 4 && memcmp(p, TREE_MAGIC1, 4) == 0)
		return page_decode(p, len, 1, t, err, errlen);
	snprintf(err, errlen, "not a directory page (bad magic or too short)");
	return -1;
}

/* ---------------------------------------------------------------- limits */

struct tree_limits tree_limits = {
	.page_entries = 8192,
	.page_bytes = 1u << 20,
	.page_links = TREE_MAX_IDS - 256,
	.page_mask = 63,
	.page_single = 256,
	.index_entries = 4096,
	.index_mask = 255,
	.inline_ids = 256,
	.list_ids = 4096,
	.list_mask = 1023,
};

void
tree_limits_init(uint64_t seed)
{
	const char *small = getenv("GIGAVAULT_TEST_SMALL_TREES");

	if (small != NULL && *small != '\0' && strcmp(small, "0") != 0) {
		tree_limits.page_entries = 32;
		tree_limits.page_bytes = 8192;
		tree_limits.page_links = 64;
		tree_limits.page_mask = 7;
		tree_limits.page_single = 4;
		tree_limits.index_entries = 8;
		tree_limits.index_mask = 3;
		tree_limits.inline_ids = 4;
		tree_limits.list_ids = 8;
		tree_limits.list_mask = 3;
	}
	tree_limits.seed = seed;
}

/* The keyed boundary hash of a name; salt: the index level (0: pages). */
static uint64_t
name_hash(const char *s, unsigned salt)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ tree_limits.seed;

	h ^= (uint64_t)salt * 0x9e3779b97f4a7c15ULL;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* ---------------------------------------------------------------- links */

struct idpos {
	uint8_t		 id[BLOB_ID_LEN];
	uint32_t	 pos;
};

static int
idpos_cmp(const void *a, const void *b)
{
	const struct idpos *x = a, *y = b;
	int c = memcmp(x->id, y->id, BLOB_ID_LEN);

	if (c != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * The distinct ids of ids[0..n) in order of first appearance, into
 * *out (malloc'ed, NULL when n is 0).  0, or -1 when memory runs out.
 */
static int
distinct(const uint8_t (*ids)[BLOB_ID_LEN], uint32_t n,
    uint8_t (**out)[BLOB_ID_LEN], uint32_t *nout)
{
	struct idpos *v;
	uint8_t *keep;
	uint32_t m = 0;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	if ((keep = calloc(n, 1)) == NULL ||
	    (*out = calloc(n, BLOB_ID_LEN)) == NULL) {
		free(v);
		free(keep);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		memcpy(v[i].id, ids[i], BLOB_ID_LEN);
		v[i].pos = i;
	}
	qsort(v, n, sizeof(*v), idpos_cmp);
	for (uint32_t i = 0; i < n; i++)
		if (i == 0 || memcmp(v[i].id, v[i - 1].id, BLOB_ID_LEN) != 0)
			keep[v[i].pos] = 1;
	for (uint32_t i = 0; i < n; i++)
		if (keep[i])
			memcpy((*out)[m++], ids[i], BLOB_ID_LEN);
	*nout = m;
	free(v);
	free(keep);
	return 0;
}

int
tree_page_links(const struct tree *t, uint8_t (**links)[BLOB_ID_LEN],
    uint32_t *n)
{
	uint8_t (*all)[BLOB_ID_LEN];
	size_t total = 0, k = 0;
	int rc;

	*links = NULL;
	*n = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		if (t->nodes[i].type == NODE_DIR)
			total++;
		else if (t->nodes[i].type == NODE_FILE)
			total += t->nodes[i].nchunks;
	}
	if (total == 0)
		return 0;
	if (total > UINT32_MAX || (all = calloc(total, BLOB_ID_LEN)) == NULL)
		return -1;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct node *nd = &t->nodes[i];

		if (nd->type == NODE_DIR)
			memcpy(all[k++], nd->subtree, BLOB_ID_LEN);
		else if (nd->type == NODE_FILE && nd->nchunks > 0) {
			memcpy(all[k], nd->chunks,
			    (size_t)nd->nchunks * BLOB_ID_LEN);
			k += nd->nchunks;
		}
	}
	rc = distinct((const uint8_t (*)[BLOB_ID_LEN])all, (uint32_t)total,
	    links, n);
	free(all);
	return rc;
}

int
tree_blob_links(const struct tree_blob *tb, uint8_t (**links)[BLOB_ID_LEN],
    uint32_t *n)
{
	if (tb->kind == TREE_PAGE)
		return tree_page_links(&tb->page, links, n);
	return distinct((const uint8_t (*)[BLOB_ID_LEN])tb->ids, tb->n, links,
	    n);
}

int
tree_links_check(const struct tree_blob *tb,
    const uint8_t (*stated)[BLOB_ID_LEN], uint32_t n, char *err,
    size_t errlen)
{
	uint8_t (*l)[BLOB_ID_LEN];
	uint32_t m;
	int same;

	if (tb->v1)
		return 0;
	if (tree_blob_links(tb, &l, &m) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	same = m == n && (n == 0 || memcmp(l, stated,
	    (size_t)n * BLOB_ID_LEN) == 0);
	free(l);
	if (!same) {
		snprintf(err, errlen, "the links the server keeps for it (%u "
		    "ids) do not match its contents (%u ids)", n, m);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- blobs */

static void
blob_init(struct tree_blob *tb)
{
	memset(tb, 0, sizeof(*tb));
	tree_init(&tb->page);
}

void
tree_blob_free(struct tree_blob *tb)
{
	tree_free(&tb->page);
	if (tb->names != NULL)
		for (uint32_t i = 0; i < tb->n; i++)
			free(tb->names[i]);
	free(tb->names);
	free(tb->ids);
	blob_init(tb);
}

/* An index or a list (kind): its magic is checked. */
static int
ids_decode(const uint8_t *p, size_t len, uint8_t kind, struct tree_blob *tb,
    char *err, size_t errlen)
{
	struct reader r;
	const uint8_t *v;
	const char *prev = NULL, *why, *name;
	size_t prevlen = 0, nl;
	uint32_t count;

	rd_init(&r, p, len);
	if (rd_skip(&r, TREE_MAGIC_LEN) == -1 ||
	    rd_get_u8(&r, &tb->level) == -1 || rd_get_u32(&r, &count) == -1)
		BAD("truncated header");
	tb->kind = kind;
	if (tb->level < 1 || tb->level > TREE_MAX_LEVEL)
		BAD("level %u (1..%u)", tb->level, TREE_MAX_LEVEL);
	if (count < 1 || count > TREE_MAX_IDS)
		BAD("%u entries (1..%u)", count, TREE_MAX_IDS);
	if (kind == TREE_LIST) {
		if (r.left != (size_t)count * BLOB_ID_LEN)
			BAD("%zu bytes for %u ids", r.left, count);
	} else if (count > r.left / INDEX_ENTRY_MIN)
		BAD("%u entries cannot fit in %zu bytes", count, r.left);
	if ((tb->ids = calloc(count, BLOB_ID_LEN)) == NULL ||
	    (kind == TREE_INDEX && (tb->names = calloc(count,
	    sizeof(*tb->names))) == NULL))
		BAD("out of memory");
	if (kind == TREE_LIST) {
		if (rd_get_bytes(&r, tb->ids, (size_t)count * BLOB_ID_LEN) ==
		    -1)
			BAD("truncated ids");
		tb->n = count;
		return 0;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (rd_get_view16(&r, &v, &nl, UINT16_MAX) == -1)
			BAD("index entry %u: truncated name", i);
		name = (const char *)v;
		if ((why = name_bad(name, nl)) != NULL)
			BAD("index entry %u: %s", i, why);
		if (prev != NULL && name_cmp(prev, prevlen, name, nl) >= 0)
			BAD("index entry %u: names not sorted or not unique",
			    i);
		prev = name;
		prevlen = nl;
		if ((tb->names[i] = str_dup(v, nl)) == NULL)
			BAD("out of memory");
		tb->n = i + 1;
		if (rd_get_bytes(&r, tb->ids[i], BLOB_ID_LEN) == -1)
			BAD("index entry %u: truncated id", i);
	}
	if (rd_end(&r) == -1)
		BAD("%zu bytes after the last index entry", r.left);
	return 0;
fail:
	tree_blob_free(tb);
	return -1;
}

int
tree_blob_decode(const uint8_t *p, size_t len, struct tree_blob *tb,
    char *err, size_t errlen)
{
	blob_init(tb);
	if (len >= 4 && memcmp(p, INDEX_MAGIC, 4) == 0)
		return ids_decode(p, len, TREE_INDEX, tb, err, errlen);
	if (len >= 4 && memcmp(p, LIST_MAGIC, 4) == 0)
		return ids_decode(p, len, TREE_LIST, tb, err, errlen);
	tb->kind = TREE_PAGE;
	tb->v1 = len >= 4 && memcmp(p, TREE_MAGIC1, 4) == 0;
	if (tree_decode(p, len, &tb->page, err, errlen) == -1) {
		blob_init(tb);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- writing */

void
tree_pager_reset(struct tree_pager *pg, size_t entries)
{
	memset(pg, 0, sizeof(*pg));
	pg->single = entries <= tree_limits.page_single;
}

int
tree_pager_add(struct tree_pager *pg, const struct node *nd)
{
	size_t sz = node_size(nd);

	pg->n++;
	pg->bytes += sz ? sz : NODE_FIXED;
	if (nd->type == NODE_DIR)
		pg->links++;
	else if (nd->type == NODE_FILE)
		pg->links += nd->nchunks;
	if (pg->n >= tree_limits.page_entries ||
	    TREE_HDR + pg->bytes >= tree_limits.page_bytes ||
	    pg->links >= tree_limits.page_links)
		return 1;
	return !pg->single && nd->name != NULL &&
	    (name_hash(nd->name, 0) & tree_limits.page_mask) == 0;
}

/* Encode and emit an index or list of ids[0..n) (and names); id out. */
static int
emit_ids(uint8_t kind, uint8_t level, char *const *names,
    const uint8_t (*ids)[BLOB_ID_LEN], uint32_t n, tree_emit_fn emit,
    void *arg, uint8_t id[BLOB_ID_LEN])
{
	uint8_t *buf, *p, (*links)[BLOB_ID_LEN];
	size_t total = IDX_HDR;
	uint32_t nl;
	int rc;

	for (uint32_t i = 0; i < n; i++)
		total += BLOB_ID_LEN + (kind == TREE_INDEX ? 2 +
		    strlen(names[i]) : 0);
	if ((buf = malloc(total)) == NULL)
		return -1;
	memcpy(buf, kind == TREE_INDEX ? INDEX_MAGIC : LIST_MAGIC, 4);
	buf[4] = level;
	p = put32(buf + 5, n);
	for (uint32_t i = 0; i < n; i++) {
		if (kind == TREE_INDEX) {
			size_t len = strlen(names[i]);

			p = put16(p, (uint16_t)len);
			memcpy(p, names[i], len);
			p += len;
		}
		memcpy(p, ids[i], BLOB_ID_LEN);
		p += BLOB_ID_LEN;
	}
	if (distinct(ids, n, &links, &nl) == -1) {
		free(buf);
		return -1;
	}
	rc = emit(arg, buf, total, (const uint8_t (*)[BLOB_ID_LEN])links, nl,
	    id);
	free(links);
	return rc;
}

int
tree_lists_cut(const uint8_t (*ids)[BLOB_ID_LEN], uint32_t n, uint8_t level,
    int last, tree_emit_fn emit, void *arg, uint8_t (**out)[BLOB_ID_LEN],
    uint32_t *nout, uint32_t *cap, uint32_t *used)
{
	uint8_t (*grown)[BLOB_ID_LEN];
	uint32_t start = 0, len, c;
	int cut;

	*used = 0;
	if (level >= TREE_MAX_LEVEL)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		len = i + 1 - start;
		cut = (last && i + 1 == n) || len >= tree_limits.list_ids ||
		    (len >= 2 && level < TREE_MAX_LEVEL / 2 &&
		    (be32_get(ids[i]) & tree_limits.list_mask) == 0);
		if (!cut)
			continue;
		if (*nout == *cap) {
			if (*cap > UINT32_MAX / 4)
				return -1;
			c = *cap ? 2 * *cap : 64;
			if ((grown = reallocarray(*out, c, BLOB_ID_LEN)) ==
			    NULL)
				return -1;
			*out = grown;
			*cap = c;
		}
		if (emit_ids(TREE_LIST, level + 1, NULL, ids + start, len,
		    emit, arg, (*out)[*nout]) == -1)
			return -1;
		(*nout)++;
		start = i + 1;
	}
	*used = start;
	return 0;
}

int
tree_file_lists(struct node *nd, tree_emit_fn emit, void *arg)
{
	uint8_t (*out)[BLOB_ID_LEN];
	uint32_t nout, cap, used;

	while (nd->type == NODE_FILE && nd->nchunks > tree_limits.inline_ids) {
		out = NULL;
		nout = cap = 0;
		if (tree_lists_cut((const uint8_t (*)[BLOB_ID_LEN])nd->chunks,
		    nd->nchunks, nd->clevel, 1, emit, arg, &out, &nout, &cap,
		    &used) == -1) {
			free(out);
			return -1;
		}
		free(nd->chunks);
		nd->chunks = out;
		nd->nchunks = nout;
		nd->clevel++;
	}
	return 0;
}

void
tree_dirw_init(struct tree_dirw *w)
{
	memset(w, 0, sizeof(*w));
}

void
tree_dirw_free(struct tree_dirw *w)
{
	for (uint32_t i = 0; i < w->n; i++)
		free(w->first[i]);
	free(w->first);
	free(w->ids);
	free(w->inner);
	tree_dirw_init(w);
}

/* Note the id of an index below the top one (0, or -1: no memory). */
static int
dirw_inner(struct tree_dirw *w, const uint8_t id[BLOB_ID_LEN])
{
	uint8_t (*q)[BLOB_ID_LEN];
	uint32_t cap;

	if (w->ninner == w->capinner) {
		if (w->capinner > UINT32_MAX / 4)
			return -1;
		cap = w->capinner ? 2 * w->capinner : 16;
		if ((q = reallocarray(w->inner, cap, BLOB_ID_LEN)) == NULL)
			return -1;
		w->inner = q;
		w->capinner = cap;
	}
	memcpy(w->inner[w->ninner++], id, BLOB_ID_LEN);
	return 0;
}

/* Room for one more entry in w. */
static int
dirw_grow(struct tree_dirw *w)
{
	uint8_t (*ids)[BLOB_ID_LEN];
	char **first;
	uint32_t cap;

	if (w->n < w->cap)
		return 0;
	if (w->cap > UINT32_MAX / 4)
		return -1;
	cap = w->cap ? 2 * w->cap : 16;
	if ((first = reallocarray(w->first, cap, sizeof(*first))) == NULL)
		return -1;
	w->first = first;
	if ((ids = reallocarray(w->ids, cap, BLOB_ID_LEN)) == NULL)
		return -1;
	w->ids = ids;
	w->cap = cap;
	return 0;
}

/* Encode and emit one page; its id into id. */
static int
emit_page(const struct tree *page, tree_emit_fn emit, void *arg,
    uint8_t id[BLOB_ID_LEN])
{
	uint8_t *enc, (*links)[BLOB_ID_LEN];
	uint32_t nl;
	size_t len;
	int rc;

	if (tree_encode(page, &enc, &len) == -1)
		return -1;
	if (tree_page_links(page, &links, &nl) == -1) {
		free(enc);
		return -1;
	}
	rc = emit(arg, enc, len, (const uint8_t (*)[BLOB_ID_LEN])links, nl, id);
	free(links);
	return rc;
}

int
tree_dirw_page(struct tree_dirw *w, struct tree *page, tree_emit_fn emit,
    void *arg)
{
	if (page->n == 0)
		return 0;
	if (dirw_grow(w) == -1 || (w->first[w->n] =
	    strdup(page->nodes[0].name)) == NULL)
		return -1;
	if (emit_page(page, emit, arg, w->ids[w->n]) == -1) {
		free(w->first[w->n]);
		return -1;
	}
	w->n++;
	tree_free(page);
	return 0;
}

int
tree_dirw_finish(struct tree_dirw *w, tree_emit_fn emit, void *arg,
    uint8_t id[BLOB_ID_LEN])
{
	struct tree_dirw up;
	struct tree empty;
	uint32_t start, len;
	unsigned level = 1;
	int cut;

	if (w->n == 0) {
		tree_init(&empty);
		tree_dirw_free(w);
		return emit_page(&empty, emit, arg, id);
	}
	while (w->n > 1) {
		if (level > TREE_MAX_LEVEL)
			goto fail;
		tree_dirw_init(&up);
		start = 0;
		for (uint32_t i = 0; i < w->n; i++) {
			len = i + 1 - start;
			cut = i + 1 == w->n ||
			    len >= tree_limits.index_entries ||
			    (len >= 2 && level <= TREE_MAX_LEVEL / 2 &&
			    (name_hash(w->first[i], level) &
			    tree_limits.index_mask) == 0);
			if (!cut)
				continue;
			if (dirw_grow(&up) == -1 || (up.first[up.n] =
			    strdup(w->first[start])) == NULL) {
				tree_dirw_free(&up);
				goto fail;
			}
			up.n++;
			if (emit_ids(TREE_INDEX, (uint8_t)level, w->first + start,
			    (const uint8_t (*)[BLOB_ID_LEN])w->ids + start, len,
			    emit, arg, up.ids[up.n - 1]) == -1) {
				tree_dirw_free(&up);
				goto fail;
			}
			start = i + 1;
		}
		tree_dirw_free(w);
		*w = up;
		level++;
	}
	memcpy(id, w->ids[0], BLOB_ID_LEN);
	tree_dirw_free(w);
	return 0;
fail:
	tree_dirw_free(w);
	return -1;
}

/* ---------------------------------------------------------------- reading */

/* Fetch, decode and check the links of blob id. */
static int
load_blob(const struct tree_src *src, const uint8_t id[BLOB_ID_LEN],
    struct tree_blob *tb, char *err, size_t errlen)
{
	uint8_t *body = NULL, (*links)[BLOB_ID_LEN] = NULL;
	char hex[2 * BLOB_ID_LEN + 1], why[256];
	uint32_t nlinks = 0;
	size_t len = 0;
	int rc;

	blob_init(tb);
	if ((rc = src->fetch(src->arg, id, &body, &len, &links, &nlinks, err,
	    errlen)) != 0)
		return rc;
	rc = tree_blob_decode(body, len, tb, why, sizeof(why));
	free(body);
	if (rc == 0 && nlinks != UINT32_MAX && tree_links_check(tb,
	    (const uint8_t (*)[BLOB_ID_LEN])links, nlinks, why,
	    sizeof(why)) == -1) {
		tree_blob_free(tb);
		rc = -1;
	}
	free(links);
	if (rc == -1) {
		hex_encode(id, BLOB_ID_LEN, hex);
		snprintf(err, errlen, "tree %s: %s", hex, why);
		return 1;
	}
	return 0;
}

#define LBAD(...) do {						\
	snprintf(err, errlen, __VA_ARGS__);			\
	rc = 1;							\
	goto done;						\
} while (0)

/* Announce ids[i..] to the source's prefetch when i starts a group. */
static int
ahead(const struct tree_src *src, const uint8_t (*ids)[BLOB_ID_LEN],
    uint32_t n, uint32_t i, char *err, size_t errlen)
{
	if (src->prefetch == NULL || i % TREE_AHEAD != 0 || n < 2)
		return 0;
	return src->prefetch(src->arg, ids + i, n - i < TREE_AHEAD ? n - i :
	    TREE_AHEAD, err, errlen);
}

void
tree_chunks_init(struct tree_chunks *tc, const struct tree_src *src,
    const struct node *nd)
{
	memset(tc, 0, sizeof(*tc));
	tc->src = src;
	tc->nd = nd;
}

void
tree_chunks_free(struct tree_chunks *tc)
{
	for (unsigned k = 0; k < TREE_MAX_LEVEL; k++)
		if (tc->loaded[k])
			tree_blob_free(&tc->lists[k]);
	memset(tc->loaded, 0, sizeof(tc->loaded));
}

/* The next id of level k (0: data, j: a list of level j) into id. */
static int
chunks_at(struct tree_chunks *tc, unsigned k, uint8_t id[BLOB_ID_LEN],
    char *err, size_t errlen)
{
	const struct node *nd = tc->nd;
	struct tree_blob *tb;
	uint8_t lid[BLOB_ID_LEN];
	char hex[2 * BLOB_ID_LEN + 1];
	int rc;

	if (k == nd->clevel) {
		if (tc->itop >= nd->nchunks)
			return 2;
		if (k > 0 && ahead(tc->src, (const uint8_t (*)[BLOB_ID_LEN])
		    nd->chunks, nd->nchunks, tc->itop, err, errlen) == -1)
			return -1;
		memcpy(id, nd->chunks[tc->itop++], BLOB_ID_LEN);
		return 0;
	}
	tb = &tc->lists[k];
	while (!tc->loaded[k] || tc->pos[k] >= tb->n) {
		if (tc->loaded[k]) {
			tree_blob_free(tb);
			tc->loaded[k] = 0;
		}
		if ((rc = chunks_at(tc, k + 1, lid, err, errlen)) != 0)
			return rc;
		if ((rc = load_blob(tc->src, lid, tb, err, errlen)) != 0)
			return rc;
		tc->loaded[k] = 1;
		tc->pos[k] = 0;
		if (tb->kind != TREE_LIST || tb->level != k + 1) {
			hex_encode(lid, BLOB_ID_LEN, hex);
			snprintf(err, errlen, "tree %s: not a chunk list of "
			    "level %u", hex, k + 1);
			return 1;
		}
	}
	if (k > 0 && ahead(tc->src, (const uint8_t (*)[BLOB_ID_LEN])tb->ids,
	    tb->n, tc->pos[k], err, errlen) == -1)
		return -1;
	memcpy(id, tb->ids[tc->pos[k]++], BLOB_ID_LEN);
	return 0;
}

int
tree_chunks_next(struct tree_chunks *tc, uint8_t id[BLOB_ID_LEN], char *err,
    size_t errlen)
{
	if (tc->nd->type != NODE_FILE || tc->nd->clevel > TREE_MAX_LEVEL) {
		snprintf(err, errlen, "not a file");
		return 1;
	}
	return chunks_at(tc, 0, id, err, errlen);
}

/*
 * Append the directory blob id to out: want -1 any top (a page or an
 * index), 0 a page, k an index of level k; first: the name it must
 * start with (from its index), or NULL.
 */
static int
load_rec(const struct tree_src *src, const uint8_t id[BLOB_ID_LEN], int want,
    const char *first, struct tree *out, char *err, size_t errlen)
{
	struct tree_blob tb;
	struct node *nd;
	char hex[2 * BLOB_ID_LEN + 1];
	int rc;

	if ((rc = load_blob(src, id, &tb, err, errlen)) != 0)
		return rc;
	hex_encode(id, BLOB_ID_LEN, hex);
	if (tb.kind == TREE_LIST)
		LBAD("tree %s: a chunk list where a directory was expected",
		    hex);
	if ((want == 0 && (tb.kind != TREE_PAGE || tb.v1)) ||
	    (want > 0 && (tb.kind != TREE_INDEX || tb.level != want)))
		LBAD("tree %s: not the page or index its index says", hex);
	if (tb.kind == TREE_INDEX) {
		if (first != NULL && strcmp(tb.names[0], first) != 0)
			LBAD("tree %s: does not start where its index says",
			    hex);
		for (uint32_t i = 0; i < tb.n && rc == 0; i++) {
			if (tb.level == 1 && ahead(src, (const uint8_t (*)
			    [BLOB_ID_LEN])tb.ids, tb.n, i, err, errlen) == -1) {
				rc = -1;
				break;
			}
			rc = load_rec(src, tb.ids[i], tb.level - 1, tb.names[i],
			    out, err, errlen);
		}
		goto done;
	}
	if (want >= 0 && (tb.page.n == 0 || strcmp(tb.page.nodes[0].name,
	    first) != 0))
		LBAD("tree %s: page does not start where its index says", hex);
	for (uint32_t i = 0; i < tb.page.n; i++) {
		if (out->n > 0 && strcmp(out->nodes[out->n - 1].name,
		    tb.page.nodes[i].name) >= 0)
			LBAD("tree %s: pages out of order or overlapping", hex);
		if ((nd = tree_add(out)) == NULL)
			LBAD("out of memory");
		if (out->format == 0 || tb.page.format < out->format)
			out->format = tb.page.format;
		*nd = tb.page.nodes[i];
		memset(&tb.page.nodes[i], 0, sizeof(tb.page.nodes[i]));
	}
done:
	tree_blob_free(&tb);
	return rc;
}

int
tree_load(const struct tree_src *src, const uint8_t id[BLOB_ID_LEN],
    struct tree *out, char *err, size_t errlen)
{
	int rc;

	tree_init(out);
	if ((rc = load_rec(src, id, -1, NULL, out, err, errlen)) != 0)
		tree_free(out);
	return rc;
}

static int	index_rec(const struct tree_src *, const uint8_t *, int,
		    const char *, struct tree_dirw *, char *, size_t);

/* The pages under the decoded index tb (its names taken), appended to w. */
static int
index_walk(const struct tree_src *src, struct tree_blob *tb,
    struct tree_dirw *w, char *err, size_t errlen)
{
	int rc = 0;

	if (w->n > 0 && strcmp(w->first[w->n - 1], tb->names[0]) >= 0) {
		snprintf(err, errlen, "tree index out of order or overlapping");
		return 1;
	}
	for (uint32_t i = 0; i < tb->n && rc == 0; i++) {
		if (tb->level > 1) {
			rc = index_rec(src, tb->ids[i], tb->level - 1,
			    tb->names[i], w, err, errlen);
			continue;
		}
		if (dirw_grow(w) == -1) {
			snprintf(err, errlen, "out of memory");
			return 1;
		}
		w->first[w->n] = tb->names[i];
		tb->names[i] = NULL;
		memcpy(w->ids[w->n++], tb->ids[i], BLOB_ID_LEN);
	}
	return rc;
}

/* The pages under index id of level (first: its name in its parent). */
static int
index_rec(const struct tree_src *src, const uint8_t *id, int level,
    const char *first, struct tree_dirw *w, char *err, size_t errlen)
{
	struct tree_blob tb;
	char hex[2 * BLOB_ID_LEN + 1];
	int rc;

	if ((rc = load_blob(src, id, &tb, err, errlen)) != 0)
		return rc;
	hex_encode(id, BLOB_ID_LEN, hex);
	if (tb.kind != TREE_INDEX || tb.level != level)
		LBAD("tree %s: not the index its index says", hex);
	if (strcmp(tb.names[0], first) != 0)
		LBAD("tree %s: does not start where its index says", hex);
	if (dirw_inner(w, id) == -1)
		LBAD("out of memory");
	rc = index_walk(src, &tb, w, err, errlen);
done:
	tree_blob_free(&tb);
	return rc;
}

int
tree_load_index(const struct tree_src *src, const uint8_t id[BLOB_ID_LEN],
    struct tree_dirw *w, struct tree *page, char *err, size_t errlen)
{
	struct tree_blob tb;
	char hex[2 * BLOB_ID_LEN + 1];
	int rc;

	tree_dirw_init(w);
	tree_init(page);
	if ((rc = load_blob(src, id, &tb, err, errlen)) != 0)
		return rc;
	hex_encode(id, BLOB_ID_LEN, hex);
	if (tb.kind == TREE_LIST)
		LBAD("tree %s: a chunk list where a directory was expected",
		    hex);
	if (tb.kind == TREE_INDEX) {
		rc = index_walk(src, &tb, w, err, errlen);
		goto done;
	}
	if (dirw_grow(w) == -1 || (w->first[0] = strdup(tb.page.n > 0 ?
	    tb.page.nodes[0].name : "")) == NULL)
		LBAD("out of memory");
	memcpy(w->ids[0], id, BLOB_ID_LEN);
	w->n = 1;
	*page = tb.page;
	tree_init(&tb.page);
done:
	if (rc != 0)
		tree_dirw_free(w);
	tree_blob_free(&tb);
	return rc;
}
