/*
 * prune.h - give space back: forget the snapshots that the server's
 * retention policy does not keep, free the blobs that no snapshot
 * reaches any more, and rewrite or remove the packs that hold them.
 * Shared by the housekeeper child (on a schedule) and gigavaultctl
 * (on demand); runs beside the workers while backups go on.
 *
 * Safety, in the order prune works:
 *   1. Retention: for every client and set, the snapshots that the
 *      policy (policy.h) does not keep are forgotten (catalog_forget).
 *      The newest snapshot of a set is always kept.
 *   2. Mark and sweep (no reference counts): with cutoff = now -
 *      Prune.GraceSeconds, the roots are every snapshot's root, meta
 *      and legacy node and every blob touched after cutoff (indexed,
 *      relied on by a HAVE or a PUT of a stored id, catalog_blobs_have(),
 *      or named by a commit); the mark (16-byte fingerprints of client
 *      and id: a collision must never keep a blob whose children go)
 *      follows links read from the packs (store_links()).  Before the
 *      mark prune remembers the recent sequence (catalog.h) and each
 *      client's next snapshot id.  Every unmarked blob is a candidate
 *      (touched ones too: they are spared when deleted, and spare what
 *      they link to).  Candidates are deleted in topological order (a
 *      blob only after every candidate linking to it), in batched
 *      transactions (catalog_blobs_free()) each of which first spares
 *      every candidate reached from a blob indexed since the mark (its
 *      recent row) or from the root, meta and legacy node of a
 *      snapshot committed since, then re-checks touched <= cutoff; a
 *      candidate spared either way is kept with everything below it.
 *      Indexing a linked blob checks its links in the same transaction
 *      (catalog_blobs_add_linked()).  So an indexed linked blob's links
 *      are indexed at every instant, which a COMMIT relies on when it
 *      checks only root and meta, and a backup may rely on a blob it
 *      was told is present for 3/4 of GraceSeconds (the session
 *      touches what is older than GraceSeconds/4); should one be
 *      freed before a blob linking to it is indexed, that indexing
 *      fails (ERROR 10): the backup is refused, never committed
 *      broken.  A blob whose links
 *      cannot be read (reachable, or a candidate) stops the sweep:
 *      nothing is freed.  At its end prune deletes the recent rows
 *      older than cutoff.  Memory: the mark set (16 bytes a slot, at
 *      most half full) and one small record per candidate.
 *   3. Packs: a pack some writer still appends to is skipped (it holds
 *      flock LOCK_SH; prune needs LOCK_EX|LOCK_NB).  A locked pack with
 *      no live record is removed; one whose live share is below
 *      Prune.RewriteBelow percent has its live records copied to a new
 *      pack, which is synced, then the index entries are switched in
 *      one transaction, then the old pack is removed.  A crash at any
 *      point leaves either the old place indexed or the new one, both
 *      on disk; the leftovers are garbage the next prune removes.
 *
 * Only one prune or scrub runs at a time: both hold flock(LOCK_EX) on
 * DataDir/prune.lock (housekeeping_lock()).
 */
#ifndef GV_PRUNE_H
#define GV_PRUNE_H

#include <stddef.h>
#include <stdint.h>

struct catalog;
struct gv_config;

/* What a prune or scrub reports as it goes, and how it is stopped. */
struct hk_hooks {
	/* One line of progress or findings (no newline); may be NULL. */
	void	(*report)(void *arg, const char *line);
	/* Nonzero: stop at the next safe point (between packs, ...). */
	int	(*cancel)(void *arg);
	void	*arg;
};

struct prune_result {
	uint64_t	 snapshots;	/* forgotten by the policy */
	uint64_t	 blobs;		/* index entries freed */
	uint64_t	 blob_bytes;	/* their lengths */
	uint64_t	 packs_removed;
	uint64_t	 packs_rewritten;
	uint64_t	 packs_busy;	/* skipped: a writer holds them, or too
					   new or unknown to this catalog */
	uint64_t	 packs_damaged;	/* left alone: a live record is bad */
	uint64_t	 bytes_before;	/* in pack files */
	uint64_t	 bytes_after;	/* estimated for a dry run */
	int		 cancelled;
};

/*
 * Take the housekeeping lock of datadir: DataDir/prune.lock, flock
 * LOCK_EX; wait for it when wait is nonzero.  Returns the fd holding it
 * (close it to give it back), -2 when it is held and wait is 0, -1 with
 * a message in err.
 */
int	housekeeping_lock(const char *datadir, int wait, char *err,
	    size_t errlen);

/*
 * Prune the store of cfg->datadir, whose catalog is cat (the caller
 * holds the housekeeping lock).  With dry_run nothing changes and res
 * says what would happen.  Returns 0 (also when cancelled:
 * res->cancelled), or -1 with a message in err; what was done before
 * an error stays done and consistent.
 */
int	prune_run(struct catalog *cat, const struct gv_config *cfg,
	    int dry_run, const struct hk_hooks *hk, struct prune_result *res,
	    char *err, size_t errlen);

#endif
