/*
 * journal.h - DataDir/journal: every change to clients, policies and
 * snapshots, written a second time outside the catalog, so that
 * `gigavaultctl rebuild-catalog` can make a lost catalog again from the
 * packs and this file (doc/store-format.md).
 *
 * The file is append-only: an 8-byte header "GVJRNL1\n", then records
 *
 *	u32 len		bytes of type and payload (1..JOURNAL_REC_MAX)
 *	u8  type	enum journal_type
 *	payload		len - 1 bytes, see journal.c
 *	sum[8]		first 8 bytes of SHA-256 over (len, type, payload)
 *
 * integers big-endian.  A record is appended while the catalog write
 * transaction that makes the same change is open, and fsynced before
 * that transaction commits: LMDB lets one writer in at a time, so the
 * order of the file is the order of the catalog, and a change the
 * catalog holds is in the journal.  (A record whose transaction then
 * failed to commit may remain: every record sets a state instead of
 * changing one by a delta, so replaying it again or in excess does no
 * harm beyond bringing back that one change.)  A torn or damaged tail,
 * left by a crash in the middle of an append, is cut off by the next
 * append and ignored by journal_replay().
 *
 * Not thread-safe; one handle per process, opened after fork().
 */
#ifndef GV_JOURNAL_H
#define GV_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/retention.h"

#define JOURNAL_NAME_MAX	64	/* client and set names (CAT_NAME_MAX) */
#define JOURNAL_HASH_LEN	32	/* token hashes, secrets (CAT_SECRET_LEN) */
#define JOURNAL_REC_MAX		1024	/* len: every record fits */
#define JOURNAL_HDR_LEN		8
#define JOURNAL_MAGIC		"GVJRNL1\n"	/* the header */
#define JOURNAL_SUM_LEN		8

enum journal_type {
	JOURNAL_CLIENT_ADD = 1,	/* name, client, created, flags, hash
				   (token), snap (its next snapshot id) */
	JOURNAL_REGISTER,	/* name, client, hash (secret) */
	JOURNAL_CLIENT_FLAGS,	/* name, client, flags */
	JOURNAL_CLIENT_TOKEN,	/* name, client, hash (token) */
	JOURNAL_CLIENT_REMOVE,	/* name, client */
	JOURNAL_POLICY_SET,	/* client, set, policy */
	JOURNAL_POLICY_CLEAR,	/* client, set */
	JOURNAL_COMMIT,		/* client, snap, the snapshot's row */
	JOURNAL_FORGET,		/* client, snap */
	JOURNAL_SNAP_FLAGS,	/* client, snap, flags (JOURNAL_SF_*) */
	JOURNAL_TYPE_MAX = JOURNAL_SNAP_FLAGS
};

/* Client flags as the catalog keeps them. */
#define JOURNAL_F_REGISTERED	1u
#define JOURNAL_F_DISABLED	2u
#define JOURNAL_F_ALLOW_FORGET	4u
/* Snapshot flags (SNAP_FLAGS). */
#define JOURNAL_SF_PROTECTED	1u

/*
 * One record, decoded; the fields its type does not use are zero.
 */
struct journal_rec {
	uint8_t		 type;		/* enum journal_type */
	uint64_t	 client;	/* the client's id */
	char		 name[JOURNAL_NAME_MAX + 1];	/* client name */
	uint64_t	 created;	/* CLIENT_ADD: Unix seconds */
	uint32_t	 flags;		/* CLIENT_ADD, CLIENT_FLAGS, SNAP_FLAGS */
	uint8_t		 hash[JOURNAL_HASH_LEN];	/* token hash or secret */
	char		 set[JOURNAL_NAME_MAX + 1];	/* POLICY_*, COMMIT */
	struct retention policy;	/* POLICY_SET */
	/* COMMIT, FORGET, SNAP_FLAGS; CLIENT_ADD: the id its next
	 * snapshot gets */
	uint64_t	 snap;
	uint64_t	 time;
	uint8_t		 root[BLOB_ID_LEN];
	uint8_t		 meta[BLOB_ID_LEN];
	int		 has_legacy;
	uint8_t		 legacy[BLOB_ID_LEN];
	uint64_t	 files, size, new_bytes, new_blobs;
};

struct journal;

/*
 * Open (creating with its header when missing, mode 0640) the journal
 * at path for appending.  Returns 0 with the handle in *out, or -1 with
 * a message in err (a file that is not a journal, an I/O error).
 */
int	journal_open(const char *path, struct journal **out, char *err,
	    size_t errlen);
/*
 * The good end of the journal at path, read only (no lock, nothing cut):
 * the offset after its last whole record, into *end (0 when there is no
 * file).  0, or -1 with a message in err (not a journal, I/O error).
 */
int	journal_good_end(const char *path, uint64_t *end, char *err,
	    size_t errlen);

/* Close and free j (NULL is fine). */
void	journal_close(struct journal *j);

/*
 * Append r and fsync the file.  A damaged tail left by a crash is cut
 * off first (the caller holds the catalog's write lock, so no other
 * process is appending).  With the s3 backend the frame is then PUT as
 * segment SEQ (the file's end before it) only if that key is free; a
 * failed PUT cuts the local frame back, and a key holding another
 * record (a second writer) also makes this process refuse every later
 * append.  Returns 0, or -1 with a message in err (r invalid: a name or
 * set too long, an unknown type; an I/O error; the bucket: the caller
 * then aborts its transaction).
 */
int	journal_append(struct journal *j, const struct journal_rec *r,
	    char *err, size_t errlen);

/*
 * The frame of r as journal_append() writes it (u32 len, type and
 * payload, sum) into frame, of JOURNAL_FRAME_MAX bytes; *n gets its
 * length.  For copies of records elsewhere (sync.c's segments in
 * another bucket).  0, or -1 with a message in err (r invalid).
 */
#define JOURNAL_FRAME_MAX	(4 + JOURNAL_REC_MAX + JOURNAL_SUM_LEN)
int	journal_frame(const struct journal_rec *r, uint8_t *frame, size_t *n,
	    char *err, size_t errlen);

/*
 * Read the journal at path and call fn(arg, r) for each good record in
 * file order (fn returns 0 to go on, nonzero to stop: that value is
 * returned).  Reading ends at the end of the file or at the first record
 * that is torn or damaged; *ignored (may be NULL) gets the bytes left
 * unread then.  A missing file is an empty journal.  Returns 0, fn's
 * nonzero value, or -1 with a message in err (cannot read, not a
 * journal).
 */
int	journal_replay(const char *path,
	    int (*fn)(void *arg, const struct journal_rec *r), void *arg,
	    uint64_t *ignored, char *err, size_t errlen);

/*
 * The parser of a journal segment object (n bytes at p, from the
 * bucket): 0 with *len the length of its record's type and payload when
 * p is exactly the journal header and one frame whose length is 1 to
 * JOURNAL_REC_MAX and whose sum holds; -1 otherwise.  The record itself
 * is decoded by journal_replay().  Exported for fuzz/fuzz-objstore.c.
 */
int	journal_segment_check(const uint8_t *p, size_t n, size_t *len);

/*
 * Mirror mode, process-wide (on != 0): journal_append() writes nothing
 * and returns 0.  For code that applies records read from the journal
 * itself to a catalog (rebuild_from_bucket(), rebuild_follow()): the
 * catalog's writes would journal them again, locally and, with the s3
 * backend, as new segments; so the local file stays an exact copy of
 * the bucket's segments (journal_pull() needs that) and a standby
 * writes nothing to the bucket.
 */
void	journal_mirror(int on);

/*
 * With Store.Backend = s3 (packstore.h): appends to the journal at path
 * every segment in the bucket from the file's good end on, in order,
 * each checked (the header and exactly one good record); the file is
 * made when missing.  A segment whose number is not the file's end at
 * its turn (a gap) stops it with an error.  Call it on a file no
 * catalog appends to meanwhile (a rebuild, or a standby that follows:
 * call again to apply what is new, then journal_replay() from the old
 * end).  *records gets the records added.  0, or -1 with a message in
 * err (the records added before the error stay; the file holds whole
 * records only).
 */
int	journal_pull(const char *path, uint64_t *records, char *err,
	    size_t errlen);

#endif
