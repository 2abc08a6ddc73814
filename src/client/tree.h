/*
 * tree.h - one directory of a snapshot, as stored in a BLOB_TREE blob:
 * its entries sorted by name, each with its metadata and either its
 * content chunks (files) or its subtree id (directories).
 *
 * tree_decode() is the boundary to untrusted bytes (a hostile server can
 * hand us any blob it likes): it checks every count, length and name.
 */
#ifndef GV_TREE_H
#define GV_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "blob.h"

#define TREE_MAX_ENTRIES	(1u << 20)	/* per directory */
#define TREE_MAX_NAME		255
#define TREE_MAX_TARGET		4095		/* symlink target */
#define TREE_MAX_CHUNKS		(1u << 24)	/* per file */

enum node_type {
	NODE_FILE = 1, NODE_DIR, NODE_SYMLINK, NODE_FIFO, NODE_CHR, NODE_BLK,
	NODE_SOCK,
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
	uint8_t		 subtree[BLOB_ID_LEN];	/* NODE_DIR */
};

struct tree {
	struct node	*nodes;
	uint32_t	 n, cap;
};

void	tree_init(struct tree *);
/* Free every node's strings and chunk arrays, and the array. */
void	tree_free(struct tree *);
/* Append a zeroed node (the caller fills it; strings malloc'ed). */
struct node *tree_add(struct tree *);
/* Sort by name (bytewise); call before tree_encode(). */
void	tree_sort(struct tree *);
/*
 * Serialize; *out malloc'ed.  Returns 0, or -1 when a node is invalid
 * (bad name, duplicate name, unsorted) or memory runs out.
 */
int	tree_encode(const struct tree *, uint8_t **out, size_t *len);
/*
 * Parse len bytes into t (initialized by the call).  Names must be
 * 1..255 bytes, without '/' or NUL, not "." or "..", unique and sorted;
 * types known; counts within the limits above.  Returns 0, or -1 with
 * the reason in err (t is then empty).
 */
int	tree_decode(const uint8_t *p, size_t len, struct tree *t, char *err,
	    size_t errlen);
/* The node called name, or NULL (binary search; t must be sorted). */
const struct node *tree_find(const struct tree *, const char *name);

#endif
