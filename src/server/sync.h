/*
 * sync.h - off-site sync (issue 21, point 4): copy chosen clients'
 * blobs and journal records from this server's store to another bucket
 * laid out as doc/object-store.md says, incrementally, verified record
 * by record, never decrypting.  Used by `gigavaultctl sync` and the
 * housekeeper's Sync job.
 *
 * The target: a bucket (S3 endpoint, bucket, prefix, credentials file)
 * named by a small file of "Key = value" lines (sync_target_load()).
 * Its PREFIX/bucket.json names the source server (written by the first
 * sync with "synced_from"; refused when it names another server or
 * lacks "synced_from", i.e. is a server's own bucket; a prefix with a
 * PREFIX/lease object is refused too), PREFIX/packs/ gets one
 * pack per client per sync (ids above the largest the target has, one
 * client's records each), PREFIX/journal/ one segment per record as
 * doc/object-store.md says (SEQ the record's offset in the journal the
 * segments make, from the end of those the target has), and
 * PREFIX/sync-state what was copied (per client: journal records read,
 * and per source pack the offset copied up to), written last.  So
 * `gigavaultctl rebuild-catalog --from-bucket` makes a server of the
 * target.  The source may keep its packs in DataDir or in its own
 * bucket (store.h reads either); its records are read from
 * DataDir/journal, which both backends keep.
 *
 * What is copied, per chosen client: every blob the source's catalog
 * indexes at an offset past the state's (read with store_read_rec(),
 * which checks the header's client, id, length, links and checksum;
 * the bytes are written again as the same record), and the journal
 * records client added, registered, flags, token, policy set and
 * cleared, and commits of snapshots the source still holds.  Forgets
 * and client removals are not copied: the target enforces its own
 * retention (its policies, copied here, and its own prune).  A source
 * pack with a damaged indexed record is not copied at all (named in
 * the report) and no journal segments are written then, so the target
 * never gets a snapshot whose blobs it lacks; the next sync tries again.
 */
#ifndef GV_SYNC_H
#define GV_SYNC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define SYNC_TARGET_MAX		4096	/* bytes of a target file */
#define SYNC_STATE_MAX		(16u << 20)	/* bytes of PREFIX/sync-state */
#define SYNC_BUCKETJSON_MAX	4096	/* bytes of PREFIX/bucket.json */
#define SYNC_PREFIX_MAX		256
#define SYNC_DAMAGED_MAX	32	/* damaged packs named in a report */

struct catalog;
struct hk_hooks;
struct s3;

struct sync_target {
	char		 endpoint[512];
	char		 region[64];
	char		 bucket[64];
	char		 prefix[SYNC_PREFIX_MAX];	/* "" or ending in '/' */
	char		 cred_file[PATH_MAX];
	char		 ca_file[PATH_MAX];		/* "" for the system's */
	int		 path_style;
};

/*
 * Read the target file path: lines "Key = value" (Endpoint, Region,
 * Bucket, Prefix, CredentialsFile, CAFile, PathStyle yes|no; blank lines
 * and '#' comments ignored; at most SYNC_TARGET_MAX bytes).  Endpoint,
 * Bucket and CredentialsFile are required; Region defaults to
 * "us-east-1", Prefix to "gigavault/" (a '/' is added when missing),
 * PathStyle to yes.  0, or -1 with a message naming the file and line.
 */
int	sync_target_load(const char *path, struct sync_target *t, char *err,
	    size_t errlen);

/*
 * Open an S3 handle on t (s3_open()); *out is freed with s3_close().
 * 0, or -1 with a message.
 */
int	sync_target_open(const struct sync_target *t, struct s3 **out,
	    char *err, size_t errlen);

struct sync_report {
	uint64_t	 clients;	/* clients synced */
	uint64_t	 source_packs;	/* source packs records came from */
	uint64_t	 packs;		/* packs written to the target */
	uint64_t	 records;	/* blob records copied */
	uint64_t	 bytes;		/* bytes of those packs */
	uint64_t	 journal;	/* journal records written */
	uint64_t	 skipped;	/* journal records not copied (forgets,
					   removals, forgotten commits) */
	uint64_t	 segment;	/* SEQ of the first segment written, 0
					   for none */
	size_t		 ndamaged;	/* source packs not copied: damaged */
	uint32_t	 damaged[SYNC_DAMAGED_MAX];
	char		 why[512];	/* the first damage, "" for none */
};

/*
 * Sync the clients named in names (n of them; n 0: every client of the
 * catalog) of the server whose DataDir is datadir and whose catalog is
 * cat to the bucket of s under prefix (t->prefix).  With dry_run
 * nothing is written to the bucket (the report says what would be).
 * Temporary pack files are made in datadir and removed.
 * hooks (prune.h; may be NULL): its cancel is asked between source
 * packs, and a yes stops the run before its journal segments and state
 * are written (-1, "stopped"; what was uploaded is copied again next
 * time); its report gets a line per damaged pack.  rep gets what was
 * done.  Returns 0 when everything chosen was copied,
 * 1 when some source packs were damaged (rep->damaged names them; the
 * rest was copied, no journal segments written), -1 with a message in
 * err (a client that does not exist, the bucket names another server,
 * S3 or I/O errors, a pack that a copied record does not verify in
 * after its upload).
 */
int	sync_run(const char *datadir, struct catalog *cat, struct s3 *s,
	    const char *prefix, const char *const *names, size_t n,
	    int dry_run, const struct hk_hooks *hooks, struct sync_report *rep,
	    char *err, size_t errlen);

/*
 * The pure parts, exported for t/unit-sync.c and fuzz/fuzz-sync.c.
 */

/*
 * sync_target_load()'s parser on text (NUL-terminated, changed in
 * place), with name for messages; t is reset to the defaults first.
 * Same returns.
 */
int	sync_target_parse(const char *name, char *text, struct sync_target *t,
	    char *err, size_t errlen);

/*
 * Parses a PREFIX/sync-state object of len bytes at text (changed in
 * place; text[len] must be NUL): the line "gigavault-sync-state 1",
 * then lines "source HEX" (which must be srchex), "journal CLIENT N"
 * and "pack CLIENT PACK OFFSET", each ending in a newline and at most
 * 128 bytes.  *njournal and *npacks (may be NULL) count the journal
 * and pack lines.  0, or -1 with the line named in err.
 */
int	sync_state_parse(char *text, size_t len, const char *srchex,
	    size_t *njournal, size_t *npacks, char *err, size_t errlen);

/*
 * Whether a sync copies the source's journal record of type (enum
 * journal_type) with flags (its SNAP_FLAGS flags) to the target, held
 * saying whether the source still holds the record's snapshot: the
 * client's records always; a COMMIT only while its snapshot is held (its
 * blobs are copied); a SNAP_FLAGS that protects likewise, one that
 * clears the protection always (the target may hold the snapshot from
 * an earlier sync, and a rebuild ignores flags of snapshots it has not);
 * forgets and removals never (the target keeps its own retention).
 * 1 or 0.
 */
int	sync_journal_keep(int type, uint32_t flags, int held);

#endif
