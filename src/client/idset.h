/*
 * idset.h - a hash set of blob ids with a few flag bits each: what one
 * backup run knows about the ids it met (on the server already, sent,
 * referenced by the snapshot).  Ids are keyed hashes, so their first
 * bytes are already uniformly spread: they index the table directly.
 */
#ifndef GV_IDSET_H
#define GV_IDSET_H

#include <stddef.h>
#include <stdint.h>

#include "blob.h"

struct idset;

struct idset *idset_new(void);
void	idset_free(struct idset *);
/*
 * The flags of id, inserting it with flags 0 when absent.  The pointer
 * is valid until the next idset_add().  NULL when memory runs out.
 */
uint8_t	*idset_add(struct idset *, const uint8_t id[BLOB_ID_LEN]);
/* The flags of id, or NULL when absent. */
uint8_t	*idset_find(struct idset *, const uint8_t id[BLOB_ID_LEN]);
size_t	 idset_count(const struct idset *);
/*
 * Copy the ids whose flags have every bit of mask into a new array
 * (*out, malloc'ed; *n entries).  Returns 0 or -1 (out of memory).
 */
int	 idset_collect(const struct idset *, uint8_t mask,
	    uint8_t (**out)[BLOB_ID_LEN], size_t *n);

#endif
