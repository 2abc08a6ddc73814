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
 * STORE_BATCH_BLOBS, and when the oldest pending blob is
 * STORE_BATCH_SECONDS old.
 *
 * Packs and their readers: the process that creates a pack holds
 * flock(LOCK_SH) on it while it appends, from its creation until it
 * closes it; prune (store_pack_lock) takes LOCK_EX|LOCK_NB, so it never
 * touches a pack that still grows.  A pack only loses its name when
 * prune has pointed every index entry elsewhere: a reader that finds a
 * pack missing (store_read() returns 1, store_errno() ENOENT) looks the
 * blob up again.
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
#define STORE_BATCH_SECONDS	5	/* index pending blobs at least this often */
#define STORE_PACK_MAX		(1ULL << 30)	/* start a new pack after */
#define STORE_BLOB_MAX		(64UL << 20)	/* largest blob (MaxFrame) */

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
	    const uint8_t id[BLOB_ID_LEN]);
/*
 * Append blob (len 1..UINT32_MAX bytes) with id for client, unless that
 * id is already indexed or pending for client.  Pending blobs of another
 * client are flushed first.  Returns 0 when written, 1 when it was
 * already there (nothing written), -1 on error.
 */
int	store_put(struct store *s, uint64_t client,
	    const uint8_t id[BLOB_ID_LEN], const void *blob, size_t len);
/*
 * Make the pending blobs durable: fsync the pack, then index them in
 * one catalog transaction.  Returns 0 (also when nothing was pending) or
 * -1 (the pending blobs are dropped).
 */
int	store_flush(struct store *s);
/* Drop the pending blobs without indexing them. */
void	store_discard(struct store *s);
/*
 * Give up the pack this process appends to (call store_flush() first:
 * pending blobs are dropped) and its lock: prune may rewrite it now.
 * The next put starts a new pack.
 */
void	store_finish(struct store *s);

/*
 * Read the blob with id at loc into buf (at least loc->length bytes)
 * and verify it: the record header must carry id and loc's length, and
 * the bytes must match both the header's and loc's checksums.  Returns
 * 0, 1 when the record is damaged (reason in store_strerror()), or -1 on
 * an I/O error.
 */
int	store_read(struct store *s, const uint8_t id[BLOB_ID_LEN],
	    const struct cat_blob *loc, void *buf);

/* ------------------------------------------------- for prune and scrub */

struct store_pack {
	uint32_t	 pack;
	uint64_t	 size;		/* bytes in the file */
};

/*
 * The packs in the directory, sorted by id, into *out (malloc'ed, the
 * caller frees) and *n.  0 or -1.
 */
int	store_packs(struct store *s, struct store_pack **out, size_t *n);
/*
 * Lock pack exclusively without waiting: 0 with the lock held by *fd
 * (give it back with store_pack_unlock()), 1 when a writer still
 * appends to it or it is gone, -1 on error.
 */
int	store_pack_lock(struct store *s, uint32_t pack, int *fd);
void	store_pack_unlock(int fd);
/* Unlink pack (locked by the caller) and sync the directory.  0 or -1. */
int	store_pack_remove(struct store *s, uint32_t pack);

/*
 * Copy the record of blob id at from (checked as store_read() does) to
 * the end of this store's own pack, without indexing it; *to gets the
 * new place (the rest of from copied).  The copy is durable only after
 * store_sync().  Returns 0, 1 when the record at from is damaged or
 * missing (nothing copied), -1 on error.
 */
int	store_copy(struct store *s, const uint8_t id[BLOB_ID_LEN],
	    const struct cat_blob *from, struct cat_blob *to);
/* fdatasync the pack this store appends to (if any).  0 or -1. */
int	store_sync(struct store *s);

/* A record found by store_scan(). */
struct store_rec {
	uint32_t	 pack;
	uint64_t	 offset;	/* of its header */
	uint32_t	 length;	/* of the blob */
	uint8_t		 id[BLOB_ID_LEN];
	uint8_t		 sum[CAT_SUM_LEN];	/* the header's */
	int		 good;		/* the bytes match sum */
};
/*
 * Read pack from start to end, calling fn(arg, rec) for each record (fn
 * returns 0 to go on, nonzero to stop).  A header that cannot be a
 * record (bad magic, length 0 or above STORE_BLOB_MAX, running past
 * the end of the file) ends the scan: the rest of the pack cannot be
 * parsed and *bad_at gets its offset.  Returns 0 (read to the end, or
 * stopped by fn), 1 (stopped at unparsable bytes), -1 on an I/O error.
 */
int	store_scan(struct store *s, uint32_t pack,
	    int (*fn)(void *arg, const struct store_rec *rec), void *arg,
	    uint64_t *bad_at);

/* The checksum kept for a blob: the first CAT_SUM_LEN bytes of SHA-256. */
void	store_sum(const void *blob, size_t len, uint8_t sum[CAT_SUM_LEN]);

#endif
