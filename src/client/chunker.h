/*
 * chunker.h - content-defined chunking (FastCDC-style gear hash).
 *
 * Cut points depend only on the bytes near them, so an insert in the
 * middle of a file changes only the chunks around it and the rest still
 * deduplicate.  Sizes: see chunker.c for the choice.
 */
#ifndef GV_CHUNKER_H
#define GV_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#define CHUNK_MIN	(128 * 1024)
#define CHUNK_AVG	(512 * 1024)
#define CHUNK_MAX	(2 * 1024 * 1024)

/*
 * The length of the chunk that starts at p, of which avail bytes are in
 * memory.  When no cut point lies within avail bytes and avail is below
 * CHUNK_MAX and more data may follow (at_eof == 0), returns 0: call again
 * with more bytes.  At end of input returns at most avail (the last chunk
 * may be shorter than CHUNK_MIN).  Never returns more than CHUNK_MAX.
 * Pure function: thread-safe, no state between calls.
 */
size_t	chunker_cut(const uint8_t *p, size_t avail, int at_eof);

#endif
