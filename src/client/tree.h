/*
 * tree.h - one directory of a snapshot, as stored in BLOB_TREE blobs
 * (tree format 2): its entries sorted by name, each with its metadata and
 * either its content chunks (files) or its subtree id (directories).
 *
 * A directory is one page of entries when it fits, else pages cut at
 * content-defined places over the sorted entries and held by an index
 * (split the same way when it is large itself).  A file with more chunk
 * ids than tree_limits.inline_ids holds the ids of chunk-list blobs
 * instead (recursively: clevel says how many levels of lists).  Every
 * such blob links to the ids it names (tree_blob_links()), and the
 * server keeps those links beside it.
 *
 * tree_blob_decode() and tree_decode() are the boundary to untrusted
 * bytes (a hostile server can hand us any blob it likes): they check
 * every count, length and name.  tree_load() reads a whole directory
 * through a caller's fetch function, checking the links the server
 * stated for each blob against the decoded contents.
 */
#ifndef GV_TREE_H
#define GV_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "blob.h"

#define TREE_MAX_NAME		255
#define TREE_MAX_TARGET		4095		/* symlink target */
#define TREE_MAX_IDS		16384		/* ids of a file node, index, list */
#define TREE_MAX_LEVEL		16		/* of an index or a chunk list */
/*
 * Extended attributes of one node.  Linux's own limits: a name of at
 * most 255 bytes (XATTR_NAME_MAX), a value of at most 64 KiB
 * (XATTR_SIZE_MAX), and the list of a file's names at most 64 KiB
 * (XATTR_LIST_MAX), so at most 9362 names ("user.x" and its NUL).  The
 * total is ours: ext4 keeps all of a file's attributes in one block
 * (4 KiB; values of up to 64 KiB each with ea_inode), btrfs each name
 * and value in one leaf (16 KiB), so real files stay far below; XFS
 * allows many values of 64 KiB, and 256 KiB of names and values keeps
 * four of the largest.  It also bounds a page: at most page_bytes, plus
 * one node (its ids, 1 MiB of holes and these 256 KiB), stays well
 * under the server's default MaxFrame of 4 MiB.  A file with more is
 * backed up with the attributes (in name order) that fit, and named.
 */
#define TREE_MAX_XATTR_NAME	255
#define TREE_MAX_XATTR_VALUE	65536
#define TREE_MAX_XATTRS		9362
#define TREE_MAX_XATTR_BYTES	(256u * 1024)	/* names and values of one node */
/*
 * Holes of one file: the backup keeps the first TREE_MAX_HOLES of a file
 * and reads the rest of it as data (zeros stored as chunks, which dedup
 * to one chunk per length).
 */
#define TREE_MAX_HOLES		65536

enum node_type {
	NODE_FILE = 1, NODE_DIR, NODE_SYMLINK, NODE_FIFO, NODE_CHR, NODE_BLK,
	NODE_SOCK,
};

/* One extended attribute (POSIX ACLs and capabilities are xattrs too). */
struct node_xattr {
	char		*name;		/* "user.x", "security.capability"... */
	uint8_t		*value;		/* may be NULL when len is 0 */
	uint32_t	 len;
};

/* A hole of a sparse file: len bytes at off read as zeros, not stored. */
struct node_hole {
	uint64_t	 off, len;
};

struct node {
	char		*name;		/* one path component, never "/" in it */
	uint8_t		 type;		/* enum node_type */
	uint32_t	 mode;		/* permission bits incl. suid/sgid/sticky */
	uint32_t	 uid, gid;
	int64_t		 mtime_sec, atime_sec, ctime_sec;
	uint32_t	 mtime_nsec, atime_nsec, ctime_nsec;
	uint64_t	 size;
	uint64_t	 dev, inode;	/* identity, for hard links and skipping */
	uint32_t	 nlink;
	uint64_t	 rdev;		/* NODE_CHR, NODE_BLK */
	char		*target;	/* NODE_SYMLINK */
	uint8_t		(*chunks)[BLOB_ID_LEN];	/* NODE_FILE */
	uint32_t	 nchunks;
	uint8_t		 clevel;	/* 0: chunks are data; k: level-k lists */
	uint8_t		 subtree[BLOB_ID_LEN];	/* NODE_DIR */
	struct node_xattr *xattrs;	/* any type; sorted by name, unique */
	uint32_t	 nxattrs;
	uint32_t	 iflags;	/* FS_IOC_GETFLAGS bits kept (fsmeta.h) */
	/*
	 * NODE_FILE: holes, sorted, disjoint, within size.  The chunks
	 * hold the file's other bytes, in order, concatenated.
	 */
	struct node_hole *holes;
	uint32_t	 nholes;
};

struct tree {
	struct node	*nodes;
	uint32_t	 n, cap;
	/*
	 * tree_decode(), tree_load(): the format of the page(s) read, the
	 * oldest when several (1..3; 0 for a tree built in memory).  Below
	 * 3 the nodes carry no xattrs, inode flags or holes.
	 */
	uint8_t		 format;
};

/*
 * The limits of the writer (pages, indexes, lists).  The reader takes any
 * layout within the decode limits above; only the writer's choices of
 * where to cut depend on these.  seed keys the boundary hash of names.
 */
struct tree_limits {
	uint32_t	 page_entries;	/* a page ends at this many entries */
	size_t		 page_bytes;	/* ... or this many encoded bytes */
	uint32_t	 page_links;	/* ... or this many ids */
	uint32_t	 page_mask;	/* ... or after a name whose hash & mask == 0 */
	uint32_t	 page_single;	/* a directory of this many entries: no such cut */
	uint32_t	 index_entries;	/* an index ends at this many entries */
	uint32_t	 index_mask;	/* ... or after a name whose hash & mask == 0 */
	uint32_t	 inline_ids;	/* more chunk ids than this: lists */
	uint32_t	 list_ids;	/* a list ends at this many ids */
	uint32_t	 list_mask;	/* ... or after an id whose first bytes & mask == 0 */
	uint64_t	 seed;
};

/*
 * The writer's limits: the defaults, or, when the test-only environment
 * variable GIGAVAULT_TEST_SMALL_TREES is set (to anything but "" or
 * "0"), tiny ones, so that a test splits directories of a few hundred
 * entries and lists files of a few chunks.  tree_limits_init() reads the
 * variable (call it once, before writing); seed is the caller's.
 */
extern struct tree_limits tree_limits;
void	tree_limits_init(uint64_t seed);

void	tree_init(struct tree *);
/* Free every node's strings and chunk arrays, and the array. */
void	tree_free(struct tree *);
/*
 * Give to, a copy of a node whose xattrs and holes are not its own (or
 * are none), copies of from's: to->xattrs and to->holes are overwritten,
 * not freed.  Returns 0, or -1 when memory runs out (to then holds what
 * was copied so far, for tree_node_meta_free()).
 */
int	tree_node_meta_copy(struct node *to, const struct node *from);
/* Free nd's xattrs and holes, and leave it without any. */
void	tree_node_meta_free(struct node *nd);
/* Free nd's xattrs only, and leave it without any. */
void	tree_node_xattrs_free(struct node *nd);
/* Free all nd holds (strings, chunk ids, xattrs, holes); zero it. */
void	tree_node_free(struct node *nd);
/* Append a zeroed node (the caller fills it; strings malloc'ed). */
struct node *tree_add(struct tree *);
/* Sort by name (bytewise); call before tree_encode(). */
void	tree_sort(struct tree *);
/*
 * Serialize t as one page (format 3); *out malloc'ed.  Returns 0, or -1
 * when a node is invalid (bad name, duplicate name, unsorted, more than
 * TREE_MAX_IDS chunk ids or clevel above TREE_MAX_LEVEL; xattrs not as
 * tree_decode() requires them; iflags beyond FSMETA_IFLAGS_KEPT; holes
 * on a non-file, or not as tree_decode() requires them) or memory runs
 * out.  The same tree always gives the same bytes.
 */
int	tree_encode(const struct tree *, uint8_t **out, size_t *len);
/*
 * Parse len bytes of one page (format 3, or format 2, or a format 1 tree
 * of 0.1.0) into t (initialized by the call; t->format set).  Names must
 * be 1..255 bytes, without '/' or NUL, not "." or "..", unique and
 * sorted; types known; counts within the limits above.  Format 3 also:
 * inode flags within FSMETA_IFLAGS_KEPT; xattr names of 1..255 bytes
 * without NUL, in the user., trusted., security. or system. namespace
 * with something after the prefix, sorted and unique, values of at most
 * TREE_MAX_XATTR_VALUE bytes, names and values together at most
 * TREE_MAX_XATTR_BYTES; holes (files only) non-empty, sorted, disjoint
 * and not touching, within the file's size, at most TREE_MAX_HOLES.
 * Returns 0, or -1 with the reason in err (t is then empty).
 */
int	tree_decode(const uint8_t *p, size_t len, struct tree *t, char *err,
	    size_t errlen);
/*
 * Whether len bytes at s make an xattr name the format takes: 1..255
 * bytes, no NUL, in the user., trusted., security. or system. namespace
 * with at least one byte after the prefix.  NULL when they do, else why
 * not (a static string).
 */
const char *tree_xattr_name_bad(const char *s, size_t len);
/* The node called name, or NULL (binary search; t must be sorted). */
const struct node *tree_find(const struct tree *, const char *name);

/* ---------------------------------------------------------------- blobs */

enum tree_kind {
	TREE_PAGE = 1,		/* entries of a directory */
	TREE_INDEX = 2,		/* pages (level 1) or indexes (level k - 1) */
	TREE_LIST = 3,		/* chunk ids (level 1) or lists (level k - 1) */
};

/* One decoded tree blob of any kind. */
struct tree_blob {
	uint8_t		 kind;		/* enum tree_kind */
	uint8_t		 level;		/* TREE_INDEX, TREE_LIST: 1.. */
	int		 v1;		/* a page of format 1: states no links */
	/* TREE_PAGE: its format is page.format (1..3). */
	struct tree	 page;		/* TREE_PAGE */
	uint32_t	 n;		/* TREE_INDEX, TREE_LIST: entries */
	char		**names;	/* TREE_INDEX: first name of each child */
	uint8_t		(*ids)[BLOB_ID_LEN];	/* TREE_INDEX, TREE_LIST */
};

/*
 * Parse any tree blob into tb (initialized by the call).  An index's
 * names are valid, sorted and unique, its level and count within the
 * limits; a list has 1..TREE_MAX_IDS ids.  Returns 0, or -1 with the
 * reason in err (tb is then empty).
 */
int	tree_blob_decode(const uint8_t *p, size_t len, struct tree_blob *tb,
	    char *err, size_t errlen);
/* Free what tb holds and leave it empty (a zeroed tb is empty too). */
void	tree_blob_free(struct tree_blob *);
/*
 * The links of a page, index or list: the distinct ids it names (a
 * page: its subtrees and its files' chunk or list ids), in order of
 * first appearance.  *links malloc'ed (NULL when there are none).
 * Returns 0, or -1 when memory runs out.
 */
int	tree_page_links(const struct tree *, uint8_t (**links)[BLOB_ID_LEN],
	    uint32_t *n);
int	tree_blob_links(const struct tree_blob *,
	    uint8_t (**links)[BLOB_ID_LEN], uint32_t *n);
/*
 * Check the links the server stated for tb (stated[0..n), n 0 when it
 * sent the blob without links) against the links of its contents: equal,
 * in the same order.  A format 1 page is not checked (it has none).
 * Returns 0, or -1 with "links ... do not match" (or out of memory) in
 * err: the blob or the server's record of it is corrupt.
 */
int	tree_links_check(const struct tree_blob *tb,
	    const uint8_t (*stated)[BLOB_ID_LEN], uint32_t n, char *err,
	    size_t errlen);

/* ---------------------------------------------------------------- writing */

/*
 * Where the writer hands each blob it makes: body (malloc'ed, the
 * callee owns it), and its links (links[0..nlinks), the caller's; 0
 * links: a plain blob).  The callee writes the blob's id into id.
 * Returns 0, or -1 to stop (the writer returns -1 too).
 */
typedef int (*tree_emit_fn)(void *arg, uint8_t *body, size_t len,
	    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks,
	    uint8_t id[BLOB_ID_LEN]);

/* Where a page is cut: the running size of the page being filled. */
struct tree_pager {
	uint32_t	 n;
	size_t		 bytes;
	uint32_t	 links;
	int		 single;	/* no content-defined cuts */
};

/*
 * Start a page of a directory of entries entries in all: a directory of
 * at most tree_limits.page_single entries is cut only at the hard
 * limits (so small directories are one page, whatever the names).
 */
void	tree_pager_reset(struct tree_pager *, size_t entries);
/*
 * Account for nd, just appended to the page (in name order, its chunk
 * ids in their final form: see tree_file_lists()).  Returns 1 when the
 * page ends after nd, else 0.
 */
int	tree_pager_add(struct tree_pager *, const struct node *nd);
/*
 * When nd (a file) has more than tree_limits.inline_ids chunk ids, cut
 * them into chunk-list blobs (emitted, level by level) until it holds
 * at most that many list ids, and raise nd->clevel.  Returns 0, or -1
 * (memory, or emit failed).
 */
int	tree_file_lists(struct node *nd, tree_emit_fn emit, void *arg);
/*
 * The cut of tree_file_lists() over a stream: ids[0..n) are a file's ids
 * of level level (0: data chunks) from the start of a list to be made,
 * more follow unless last.  Each list of level level + 1 that ends
 * within them is emitted and its id appended to (*out)[0..*nout)
 * (grown as needed, *cap its room; the caller frees *out); *used gets
 * how many of ids went into lists (all of them when last).  Cutting a
 * file's ids in any number of calls this way makes the same lists as
 * one call.  Returns 0, or -1 (memory, level too high, or emit failed).
 */
int	tree_lists_cut(const uint8_t (*ids)[BLOB_ID_LEN], uint32_t n,
	    uint8_t level, int last, tree_emit_fn emit, void *arg,
	    uint8_t (**out)[BLOB_ID_LEN], uint32_t *nout, uint32_t *cap,
	    uint32_t *used);

/* The pages of one directory being written. */
struct tree_dirw {
	char		**first;	/* each page's first name */
	uint8_t		(*ids)[BLOB_ID_LEN];
	uint32_t	 n, cap;
	/* tree_load_index(): the indexes below the top one it read. */
	uint8_t		(*inner)[BLOB_ID_LEN];
	uint32_t	 ninner, capinner;
};

/* An empty w; tree_dirw_free() frees its names and ids, leaving it so. */
void	tree_dirw_init(struct tree_dirw *);
void	tree_dirw_free(struct tree_dirw *);
/*
 * Encode page (sorted, its ids final) as one page blob, emit it and note
 * it in w; page is freed (left empty) on success.  Returns 0, or -1
 * (invalid page, memory, or emit failed).
 */
int	tree_dirw_page(struct tree_dirw *w, struct tree *page,
	    tree_emit_fn emit, void *arg);
/*
 * The directory's id into id: its one page's (an empty page when there
 * is none), or the root of the indexes built over its pages.  w is
 * freed.  Returns 0 or -1.
 */
int	tree_dirw_finish(struct tree_dirw *w, tree_emit_fn emit, void *arg,
	    uint8_t id[BLOB_ID_LEN]);

/* ---------------------------------------------------------------- reading */

/*
 * Where the reader gets blobs: fetch id, open it; *body malloc'ed (the
 * reader frees it), and the links the server stated for it in
 * (*links)[0..*nlinks) (malloc'ed or NULL; 0 links: none stated), or
 * *nlinks = UINT32_MAX when the session cannot state links (protocol
 * version below 3: nothing is checked).  Returns 0; 1 with err set when
 * that blob is unusable (missing, damaged); -1 with err set when reading
 * cannot go on (the session failed).
 */
struct tree_src {
	int	(*fetch)(void *arg, const uint8_t id[BLOB_ID_LEN],
		    uint8_t **body, size_t *len,
		    uint8_t (**links)[BLOB_ID_LEN], uint32_t *nlinks,
		    char *err, size_t errlen);
	/*
	 * NULL, or: the reader is about to fetch ids[0..n) (n at most
	 * TREE_AHEAD), in order.  0, or -1 with err set as fetch's -1.
	 */
	int	(*prefetch)(void *arg, const uint8_t (*ids)[BLOB_ID_LEN],
		    size_t n, char *err, size_t errlen);
	void	*arg;
};

#define TREE_AHEAD	64	/* blobs announced to prefetch at once */

/*
 * Read the directory id (a page or an index over pages) into out
 * (initialized by the call): every page in order, each blob's links
 * checked, its names sorted and unique across pages; nodes are as
 * stored (a file's chunk lists are read by tree_chunks_next()).  Returns
 * 0; 1 with err set
 * when a blob of it is missing, damaged or inconsistent; -1 when the
 * fetch said so.  out is empty unless 0 is returned.
 */
int	tree_load(const struct tree_src *, const uint8_t id[BLOB_ID_LEN],
	    struct tree *out, char *err, size_t errlen);
/*
 * The pages of directory id, without reading them: w (initialized by the
 * call) gets each page's first name and id, in order, through the index
 * blobs (checked as tree_load() does), and w->inner the ids of the
 * indexes below id.  When id is a single page it is
 * read: *page gets it, and w its one entry ("" for an empty page).  Same
 * returns as tree_load(); w and page are empty unless 0 is returned.
 */
int	tree_load_index(const struct tree_src *, const uint8_t id[BLOB_ID_LEN],
	    struct tree_dirw *w, struct tree *page, char *err, size_t errlen);

/*
 * A file's data chunk ids, in order, read one chunk list at a time (so
 * a file of any size costs one list per level): tree_chunks_init() on a
 * file node (which must outlive it), then tree_chunks_next() until it
 * returns 2; tree_chunks_free() after.  Each list's kind (a chunk
 * list), level (one below the blob naming it) and links are checked.
 */
struct tree_chunks {
	const struct tree_src *src;
	const struct node *nd;
	uint32_t	 itop;		/* next of nd->chunks */
	struct tree_blob lists[TREE_MAX_LEVEL];	/* [k]: a list of level k+1 */
	uint32_t	 pos[TREE_MAX_LEVEL];	/* next of lists[k] */
	int		 loaded[TREE_MAX_LEVEL];
};
void	tree_chunks_init(struct tree_chunks *, const struct tree_src *,
	    const struct node *nd);
/*
 * The next data chunk id into id: 0; 2 when there are no more; 1 with
 * err set when a list is missing, damaged or inconsistent; -1 when the
 * fetch said so.  After 1 or -1 the reader is done (only free it).
 */
int	tree_chunks_next(struct tree_chunks *, uint8_t id[BLOB_ID_LEN],
	    char *err, size_t errlen);
void	tree_chunks_free(struct tree_chunks *);

#endif
