/*
 * store.h - pack files under DataDir/packs/: append blobs, make them
 * durable, read them back and verify them.
 *
 * Each process (worker) appends to packs of its own, named after pack
 * ids that the catalog hands out, so writers never share a file or a
 * lock.  A pack is a sequence of self-describing records (store format
 * 2, doc/store-format.md), integers big-endian: a 64-byte header (magic
 * "GVB2", u8 type: 1 blob, 2 legacy node; 3 bytes 0, u64 client, the
 * 32-byte blob id, u32 nlinks, u32 length, the first 8 bytes of the
 * SHA-256 over links || blob bytes), then nlinks 32-byte ids (the blobs
 * this one links to), then the blob bytes.  Records of 0.1.0 (a 48-byte
 * header: magic "GVB1", u32 length, id, sum of the bytes; no client, no
 * links) stay readable.
 *
 * Durability order: a blob written by store_put() is "pending" until
 * store_flush() fsyncs the pack and then indexes the pending blobs in
 * the catalog in one transaction, which checks that every link of a
 * linked blob it indexes is indexed (in the batch or before) and fails
 * otherwise: an indexed linked blob's links are indexed at every
 * instant.  The store keeps the links of the pending blobs for that
 * check (they count in STORE_BATCH_BYTES).  So the index never
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
 *
 * The tail cut: when pending blobs are dropped after an error (a write,
 * an fsync or the indexing transaction failed, or the reserve refused a
 * put), the open pack is cut back (ftruncate) to the end of the last
 * record that may be indexed: the last flushed batch or store_copy()
 * copy.  Only this process appends to that pack, the bytes after that
 * point are its own pending records (or a part of one), and the store
 * first checks in the catalog that none of them is indexed (else it
 * leaves the pack alone).  A pack that keeps nothing is removed.  So the
 * space of a failed upload returns at once, and the pack still holds
 * only whole records (doc/store-format.md).
 *
 * The reserve (store_set_reserve(), Server.ReserveSpace): a put that
 * would leave less than the reserve free on DataDir's file system
 * (statvfs f_bavail, what an unprivileged user may use) is refused with
 * ENOSPC, without writing, and the pending blobs are dropped and cut as
 * above, so the catalog, forget and prune keep room.  While less than
 * the reserve plus STORE_LOW_SPACE is free, pending blobs are indexed
 * only by store_flush() (the session's commit or end) or when
 * STORE_BATCH_BLOBS are pending, not by age or bytes: an upload that
 * then runs out of space gives back all it wrote since (the price: a
 * worker killed there loses more of its upload).  Without a reserve set
 * nothing of this applies; the tail cut does.
 */
#ifndef GV_STORE_H
#define GV_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "catalog.h"

#include "common/wire.h"

#define STORE_HDR_LEN		64
#define STORE_HDR1_LEN		48	/* a 0.1.0 record ("GVB1") */
#define STORE_SUM_LEN		8	/* of the header's checksum */
#define STORE_TYPE_BLOB		1
#define STORE_TYPE_LEGACY	2	/* server-made: a v1/v2 REFS list */
/* Links of one record: a legacy node holds a whole REFS list. */
#define STORE_LINKS_MAX		(WIRE_REFS_MAX + 2)
#define STORE_BATCH_BYTES	(64UL << 20)
#define STORE_BATCH_BLOBS	16384
#define STORE_BATCH_SECONDS	5	/* index pending blobs at least this often */
#define STORE_PACK_MAX		(1ULL << 30)	/* start a new pack after */
#define STORE_LOW_SPACE		(4 * STORE_BATCH_BYTES)	/* the reserve's */
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
 * Append blob (len 1..STORE_BLOB_MAX bytes) with id for client and its
 * nlinks links (0..WIRE_LINKS_MAX ids; links NULL when 0), unless that
 * id is already indexed or pending for client.  Pending blobs of
 * another client are flushed first.  The caller checks the links.
 * Returns 0 when written, 1 when it was already there (nothing
 * written), -1 on error.
 */
int	store_put(struct store *s, uint64_t client,
	    const uint8_t id[BLOB_ID_LEN], const uint8_t (*links)[BLOB_ID_LEN],
	    uint32_t nlinks, const void *blob, size_t len);
/*
 * The id of the legacy node of client's snapshot snap: SHA-256 of
 * STORE_LEGACY_LABEL || u64 client || u64 snap (session.c, upgrade.c).
 */
#define STORE_LEGACY_LABEL	"gigavault-legacy-node"
void	store_legacy_id(uint64_t client, uint64_t snap,
	    uint8_t id[BLOB_ID_LEN]);
/*
 * Like store_put() for the legacy node of a version 1/2 snapshot: a
 * record of type STORE_TYPE_LEGACY with no blob bytes and nlinks
 * (1..STORE_LINKS_MAX) links; when written, *at gets its place (so the
 * caller can tell its record from another process's of the same id
 * once indexed).  Same returns.
 */
int	store_put_legacy(struct store *s, uint64_t client,
	    const uint8_t id[BLOB_ID_LEN], const uint8_t (*links)[BLOB_ID_LEN],
	    uint32_t nlinks, struct cat_blob *at);
/*
 * Make the pending blobs durable: fsync the pack, then index them in
 * one catalog transaction (catalog_blobs_add_linked()) that checks the
 * links of the linked ones and records them for prune's sweep.
 * Returns 0 (also when nothing was pending) or -1 (the pending blobs
 * are dropped); store_errno() ESTALE: a link of a pending linked blob
 * is no longer indexed (prune freed it after the session checked it),
 * nothing was indexed.  store_put() flushes by itself and can fail the
 * same way.
 */
int	store_flush(struct store *s);
/* Drop the pending blobs without indexing them. */
void	store_discard(struct store *s);
/*
 * Give up the pack this process appends to (call store_flush() first:
 * pending blobs are dropped) and its lock: prune may rewrite it now.
 * The next put starts a new pack.  The packs open for reading are
 * closed too, so that the space of one prune removes is freed.
 */
void	store_finish(struct store *s);

/*
 * Space on a file system: free (f_bavail), capacity (f_blocks), both in
 * bytes, the reserve in force and its level: STORE_SPACE_CRITICAL when
 * free is under the reserve (uploads are refused), STORE_SPACE_WARNING
 * under twice the reserve, else STORE_SPACE_OK.
 */
enum store_level { STORE_SPACE_OK, STORE_SPACE_WARNING, STORE_SPACE_CRITICAL };
struct store_space {
	uint64_t	 free;
	uint64_t	 capacity;
	uint64_t	 reserve;
	enum store_level level;
};
/* Server.ReserveSpace's -1: 1% of the capacity, at most this. */
#define STORE_RESERVE_AUTO	UINT64_MAX
#define STORE_RESERVE_AUTO_MAX	(256ULL << 20)
/* "ok", "warning" or "critical". */
const char *store_level_name(enum store_level level);
/*
 * The space of the file system that holds path, with reserve (bytes, or
 * STORE_RESERVE_AUTO) resolved against its capacity.  0, or -1 with a
 * message in err (statvfs failed).
 */
int	store_space_of(const char *path, uint64_t reserve,
	    struct store_space *sp, char *err, size_t errlen);
/*
 * Keep reserve bytes (or STORE_RESERVE_AUTO) free on the packs' file
 * system: from now on puts check the free space (see above).  Without
 * this call, or with 0, a store checks nothing (prune, scrub, rebuild,
 * upgrade): puts write until the file system is full.
 */
void	store_set_reserve(struct store *s, uint64_t reserve);
/*
 * The space of the packs' file system now, with this store's reserve
 * (0 when none was set).  0, or -1 (store_strerror() says why).
 */
int	store_space(struct store *s, struct store_space *sp);
/*
 * The space the last put saw: before it wrote or was refused (with a
 * reserve), or when its write failed (always).  What a refusal or a
 * full disk is explained with, since the tail cut gives space back
 * after.  All 0 before the first.
 */
void	store_space_seen(const struct store *s, struct store_space *sp);

/*
 * Read the blob with id at loc into buf (at least loc->length bytes)
 * and verify it: the record header must carry id, loc's length and
 * loc's nlinks, and the links and bytes must match the header's
 * checksum.  Returns 0, 1 when the record is damaged or its pack is
 * missing (reason in store_strerror(); store_errno() ENOENT for a
 * missing pack), or -1 on an I/O error.
 */
int	store_read(struct store *s, const uint8_t id[BLOB_ID_LEN],
	    const struct cat_blob *loc, void *buf);
/*
 * Like store_read(), with one read of the record: also check that the
 * header names client (unless 0), and copy its links, checked by the
 * same sum, into links (loc->nlinks ids; NULL: not wanted).  For GET:
 * links and bytes in one call.  Same returns.
 */
int	store_read_rec(struct store *s, uint64_t client,
	    const uint8_t id[BLOB_ID_LEN], const struct cat_blob *loc,
	    uint8_t (*links)[BLOB_ID_LEN], void *buf);
/*
 * The links of client's blob id at loc, checked as store_read() checks
 * (the header names client, id, loc's length and nlinks; the checksum
 * over links and bytes holds): *links gets a malloc'ed array of *n ids
 * (the caller frees it; NULL when there are none).  Same returns as
 * store_read(), with *links NULL and *n 0 unless 0.
 */
int	store_links(struct store *s, uint64_t client,
	    const uint8_t id[BLOB_ID_LEN], const struct cat_blob *loc,
	    uint8_t (**links)[BLOB_ID_LEN], uint32_t *n);
/*
 * Start-up check of the backend for datadir: with Store.Backend = s3
 * (packstore.h), DataDir/packs must hold no pack file (packs written
 * with the datadir backend are not in the bucket, and are not copied
 * there).  0, or -1 with a message in err that says what to do.
 */
int	store_check_backend(const char *datadir, char *err, size_t errlen);

/* Bytes a record with nlinks links and length bytes takes in a pack. */
uint64_t store_rec_size(uint32_t nlinks, uint32_t length);

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
/*
 * When pack was last written: its file's mtime, or with the s3 backend
 * its object's Last-Modified (-1 in *mtime when S3 gave none).  0, 1
 * when the pack is gone, -1 on error.
 */
int	store_pack_mtime(struct store *s, uint32_t pack, time_t *mtime);
/* Unlink pack (locked by the caller) and sync the directory.  0 or -1. */
int	store_pack_remove(struct store *s, uint32_t pack);

/*
 * Copy the whole record (header, links, bytes; a "GVB1" record stays
 * one) of blob id at from, checked as store_read() does, to the end of
 * this store's own pack, without indexing it; *to gets the new place
 * (the rest of from copied).  The copy is durable only after
 * store_sync().  Returns 0, 1 when the record at from is damaged or
 * missing (nothing copied), -1 on error.
 */
int	store_copy(struct store *s, const uint8_t id[BLOB_ID_LEN],
	    const struct cat_blob *from, struct cat_blob *to);
/*
 * fdatasync the pack this store appends to (if any); with the s3
 * backend, upload it too, after which it is never appended to again.
 * The pack stays open and locked (no prune removes it) until the
 * caller has indexed what it wrote and called store_release(); a full
 * pack store_copy() moved on from likewise.  0 or -1.
 */
int	store_sync(struct store *s);
/*
 * After the caller indexed what store_sync() made durable: give up the
 * locks of the packs no longer appended to (an uploaded pack's file
 * stays in the cache).  store_flush() and store_finish() call it.
 */
void	store_release(struct store *s);

/* A record found by store_scan(). */
struct store_rec {
	uint32_t	 pack;
	uint64_t	 offset;	/* of its header */
	uint64_t	 size;		/* of the whole record */
	uint8_t		 type;		/* STORE_TYPE_*; "GVB1": blob */
	uint64_t	 client;	/* 0 in a "GVB1" record */
	uint32_t	 nlinks;	/* 0 in a "GVB1" record */
	uint32_t	 length;	/* of the blob bytes */
	uint8_t		 id[BLOB_ID_LEN];
	uint8_t		 sum[STORE_SUM_LEN];	/* the header's */
	int		 good;		/* links and bytes match sum */
};
/*
 * Read pack from start to end, calling fn(arg, rec) for each record (fn
 * returns 0 to go on, nonzero to stop; read the links with
 * store_links()).  A header that cannot be a record (bad magic or type,
 * length above STORE_BLOB_MAX, 0 for a blob, nlinks above
 * STORE_LINKS_MAX, running past the end of the file) ends the scan: the
 * rest of the pack cannot be parsed and *bad_at gets its offset.
 * Returns 0 (read to the end, or stopped by fn), 1 (stopped at
 * unparsable bytes), -1 on an I/O error.
 */
int	store_scan(struct store *s, uint32_t pack,
	    int (*fn)(void *arg, const struct store_rec *rec), void *arg,
	    uint64_t *bad_at);

/*
 * The checksum of a record: the first STORE_SUM_LEN bytes of SHA-256
 * over its nlinks links, then its blob bytes.
 */
void	store_sum(const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks,
	    const void *blob, size_t len, uint8_t sum[STORE_SUM_LEN]);

#endif
