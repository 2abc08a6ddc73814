/*
 * store.h - pack files under DataDir/packs/: append blobs, make them
 * durable, read them back and verify them.
 *
 * Each process (worker) appends to packs of its own, named after pack
 * ids that the catalog hands out, so writers never share a file or a
 * lock.  A pack is a sequence of records: a 48-byte header (magic
 * "GVB1", u32 length, the 32-byte blob id, the first 8 bytes of the
 * SHA-256 of the blob) followed by the blob bytes.
 *
 * Durability order: a blob written by store_put() is "pending" until
 * store_flush() fsyncs the pack and then indexes the pending blobs in
 * the catalog in one transaction (refcount 0).  So the index never
 * points at bytes that are not on disk; a crash loses at most pending
 * blobs, whose bytes are then unreferenced garbage in a pack.
 * store_put() flushes by itself every STORE_BATCH_BYTES or
 * STORE_BATCH_BLOBS.
 *
 * Errors: functions return 0 (or a positive outcome documented with
 * them) or -1; store_strerror() then says why and store_errno() gives the
 * errno (ENOSPC, EIO, ...) or 0 for a catalog error.  After a write error
 * the pending blobs are dropped (never indexed) and the next put starts a
 * new pack.  Not thread-safe: one store per process.
 */
#ifndef GV_STORE_H
#define GV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"

#define STORE_HDR_LEN		48
#define STORE_BATCH_BYTES	(64UL << 20)
#define STORE_BATCH_BLOBS	16384
#define STORE_PACK_MAX		(1ULL << 30)	/* start a new pack after */

struct store;

/*
 * Open the store of datadir (packs in datadir/packs, created with mode
 * 0750 when missing).  cat is used for pack ids and the index; it must
 * outlive the store.  Returns 0 with *out set, or -1 with a message in
 * err.
 */
int	store_open(const char *datadir, struct catalog *cat,
	    struct store **out, char *err, size_t errlen);
/*
 * Close s (NULL is fine).  Pending blobs are NOT flushed: call
 * store_flush() first when they should be kept.
 */
void	store_close(struct store *s);
const char *store_strerror(const struct store *s);
int	store_errno(const struct store *s);

/* 1 when id is pending (written, not yet indexed) for client, else 0. */
int	store_pending(const struct store *s, uint64_t client,
	    const uint8_t id[CAT_ID_LEN]);
/*
 * Append blob (len 1..UINT32_MAX bytes) with id for client, unless that
 * id is already indexed or pending for client.  Pending blobs of another
 * client are flushed first.  Returns 0 when written, 1 when it was
 * already there (nothing written), -1 on error.
 */
int	store_put(struct store *s, uint64_t client,
	    const uint8_t id[CAT_ID_LEN], const void *blob, size_t len);
/*
 * Make the pending blobs durable: fsync the pack, then index them in
 * one catalog transaction.  Returns 0 (also when nothing was pending) or
 * -1 (the pending blobs are dropped).
 */
int	store_flush(struct store *s);
/* Drop the pending blobs without indexing them. */
void	store_discard(struct store *s);

/*
 * Read the blob with id at loc into buf (at least loc->length bytes)
 * and verify it: the record header must carry id and loc's length, and
 * the bytes must match both the header's and loc's checksums.  Returns
 * 0, 1 when the record is damaged (reason in store_strerror()), or -1 on
 * an I/O error.
 */
int	store_read(struct store *s, const uint8_t id[CAT_ID_LEN],
	    const struct cat_blob *loc, void *buf);

/* The checksum kept for a blob: the first CAT_SUM_LEN bytes of SHA-256. */
void	store_sum(const void *blob, size_t len, uint8_t sum[CAT_SUM_LEN]);

#endif
