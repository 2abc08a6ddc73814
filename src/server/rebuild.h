/*
 * rebuild.h - make DataDir's catalog again from what outlives it: the
 * packs (every record names its client, id, kind and links) and
 * DataDir/journal (clients, tokens, policies, snapshots, forgets).  Run
 * by `gigavaultctl rebuild-catalog` and at the end of `gigavaultctl
 * upgrade`, with the daemon stopped.
 */
#ifndef GV_REBUILD_H
#define GV_REBUILD_H

#include <stddef.h>
#include <stdint.h>

struct rebuild_report {
	char		 moved_to[1024];	/* "" when there was no catalog */
	uint64_t	 journal_records;	/* read from the journal */
	uint64_t	 journal_ignored;	/* bytes of a torn tail */
	uint64_t	 journal_orphans;	/* records of unknown clients */
	uint64_t	 packs;
	uint64_t	 records;	/* good records found in the packs */
	uint64_t	 legacy;	/* ... of them legacy nodes */
	uint64_t	 damaged;	/* records whose checksum fails */
	uint64_t	 unparsable;	/* packs with bytes that are no record */
	uint64_t	 old_records;	/* 0.1.0 records (no client): skipped */
	uint64_t	 foreign;	/* records of clients that are gone */
	uint64_t	 indexed;	/* blob index entries written */
	uint64_t	 clients;
	uint64_t	 snapshots;
	uint64_t	 policies;
	uint64_t	 incomplete;	/* snapshots whose root, meta or
					   legacy node no pack holds */
	uint32_t	 max_pack;	/* the largest pack id seen */
};

/*
 * Rebuild the catalog of datadir: move DataDir/catalog (when there is
 * one) aside to DataDir/catalog.broken-YYYYmmddTHHMMSS, replay
 * DataDir/journal, index every good record of every pack for its client
 * (touched = now), and write the clients (with their secrets, flags and
 * unused tokens), snapshots and policies into a new catalog of the
 * current format.  The caller makes sure no daemon runs.  rep gets what
 * was found.  Returns 0, or -1 with a message in err (the moved catalog
 * stays where rep->moved_to says).
 */
int	rebuild_catalog(const char *datadir, uint64_t now,
	    struct rebuild_report *rep, char *err, size_t errlen);

struct catalog;

/*
 * What rebuild_follow() has applied so far; all 0 before the first call
 * (on a catalog made by rebuild_from_bucket(), set max_pack to the
 * largest pack id it indexed, rep->max_pack, and npacks to rep->packs).
 */
struct rebuild_follow {
	uint32_t	 max_pack;	/* packs up to this id are indexed */
	size_t		 npacks;	/* packs the bucket listed last */
	uint64_t	 segments;	/* journal records pulled, in all */
};

/*
 * Follows the S3 bucket into cat, a catalog of datadir that nothing
 * else writes meanwhile (a standby's, S3.Role = standby): pulls the
 * journal segments that are new since the last call into
 * datadir/journal (journal_pull()), indexes the records of every pack
 * object above st->max_pack (when packs indexed before are gone from the
 * bucket, prune's work: entries into them are moved to the copies new
 * packs hold, or freed), then makes cat say what the whole journal
 * says: clients written as they are (and removed ones removed),
 * snapshots new to cat added, snapshots the journal forgot forgotten,
 * policies set or cleared; the counters are raised above the bucket's
 * largest client and pack ids.  Nothing is written to the bucket, and
 * none of these writes is journaled (journal_mirror()).  Snapshots are
 * added after the packs holding their blobs are indexed (packs come
 * before the segment of their commit in the bucket, rule 1).  st is
 * updated; *rep (may be NULL) counts what this call did (indexed,
 * snapshots added, journal_records replayed).  0, or -1 with a message
 * in err (what was applied stays; call again).
 */
int	rebuild_follow(struct catalog *cat, const char *datadir,
	    struct rebuild_follow *st, struct rebuild_report *rep, char *err,
	    size_t errlen);

/*
 * rebuild_catalog() from the S3 bucket alone (Store.Backend = s3,
 * packstore.h), for a DataDir that lost everything or was never there:
 * DataDir is made when missing; a journal file already in DataDir is
 * moved aside to journal.before-bucket-UNIXTIME (rep->moved_to names
 * the old catalog as rebuild_catalog() does); the journal is written
 * again from the bucket's segments (journal_pull()); then the packs the
 * bucket lists are fetched, scanned and indexed and the journal is
 * replayed.  The counters end above the bucket's largest pack id and
 * the journal file ends past its last segment, so nothing written later
 * reuses a key.  Call with the daemon stopped and DataDir locked.  Same
 * returns as rebuild_catalog().
 */
int	rebuild_from_bucket(const char *datadir, uint64_t now,
	    struct rebuild_report *rep, char *err, size_t errlen);

#endif
