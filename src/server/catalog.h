/*
 * catalog.h - the LMDB catalog in DataDir/catalog/ (format 2, see
 * doc/store-format.md): clients, enrollment tokens, the blob index,
 * snapshots, counters, running totals and per-day session statistics.
 * Nothing is counted per blob: what a snapshot holds is what its root,
 * meta and legacy node reach through links (prune.c).  No sockets
 * here and no pack file layout: ids, numbers and names in, the same
 * out.
 *
 * LMDB forbids using an environment across fork(): open the catalog in
 * the process that uses it (a worker, gigavaultctl), after its fork.
 * The supervisor never opens it.  One process may hold one catalog; it
 * is not thread-safe.
 *
 * Every write is one short LMDB transaction.  When the map is full the
 * transaction is aborted, the map doubled and the transaction run again,
 * so callers never see MDB_MAP_FULL.  A map grown by another process is
 * adopted the same way.
 *
 * Returns: every function that can fail returns CAT_OK (0), one of the
 * positive CAT_* outcomes documented with it, or CAT_ERROR (-1) after an
 * LMDB or system error; catalog_strerror() then says what failed.  No
 * function returns pointers into LMDB memory: results are copied into
 * the caller's structures.
 *
 * Keys of client data start with the client's id, so one client's rows
 * can never be reached with another client's id.
 */
#ifndef GV_CATALOG_H
#define GV_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/retention.h"

#define CAT_SECRET_LEN	32	/* a client's secret, a token's SHA-256 */
#define CAT_NAME_MAX	64	/* client and set names */
#define CAT_FORMAT	2	/* meta "format" this code writes */

enum cat_result {
	CAT_ERROR	= -1,
	CAT_OK		= 0,
	CAT_NOTFOUND	= 1,
	CAT_EXISTS	= 2,
	CAT_MISSING	= 3,	/* a commit references blobs not stored */
	CAT_DISABLED	= 4,
	CAT_OLDFORMAT	= 5,	/* a 0.1.0 catalog: gigavaultctl upgrade */
	CAT_LIMIT	= 6,	/* a per-client bound is reached */
	CAT_PROTECTED	= 7,	/* the snapshot is protected (forget) */
};

struct catalog;

struct cat_client {
	uint64_t	 id;		/* never reused */
	char		 name[CAT_NAME_MAX + 1];
	uint8_t		 secret[CAT_SECRET_LEN];	/* zero until registered */
	int		 registered;
	int		 disabled;
	int		 allow_forget;	/* FORGET may remove kept snapshots */
	uint64_t	 created;	/* Unix seconds */
	uint64_t	 next_snapshot;	/* id the next snapshot gets */
};

/* Where a blob's stored bytes are (store.c decides what that means). */
struct cat_blob {
	uint32_t	 pack;
	uint64_t	 offset;	/* below 2^32 (STORE_PACK_MAX) */
	uint32_t	 length;	/* of the blob bytes */
	uint32_t	 nlinks;	/* ids its record links to */
	/*
	 * Unix seconds: when it was indexed, or later when a HAVE or a PUT
	 * of it relied on it (catalog_blobs_have()) or a commit named it as
	 * root, meta or legacy node.  Prune frees an unreachable blob only
	 * when this is GraceSeconds old.
	 */
	uint64_t	 touched;
};

/* A blob to index: its id and location. */
struct cat_blob_add {
	uint8_t		 id[BLOB_ID_LEN];
	struct cat_blob	 loc;
};

struct cat_snapshot {
	uint64_t	 id;		/* per client, from 1 */
	char		 set[CAT_NAME_MAX + 1];
	uint64_t	 time;		/* Unix seconds, as the client said */
	uint8_t		 root[BLOB_ID_LEN];
	uint8_t		 meta[BLOB_ID_LEN];
	/*
	 * The caller's, kept as given: files in the snapshot and its
	 * logical size (sum of regular file sizes) as the client said,
	 * and the stored bytes and count of the blobs first stored for
	 * it (session.c: those its session uploaded, not present before).
	 */
	uint64_t	 files;
	uint64_t	 size;
	uint64_t	 new_bytes;
	uint64_t	 new_blobs;
	/* A version 1/2 snapshot: the server-made node of its REFS. */
	int		 has_legacy;
	uint8_t		 legacy[BLOB_ID_LEN];
	/* Kept whatever the policy or a client says (catalog_forget()). */
	int		 protected;
};

struct cat_usage {
	uint64_t	 snapshots;
	uint64_t	 size;		/* sum of the snapshots' sizes */
	uint64_t	 blobs;		/* blobs in the index */
	uint64_t	 unique_bytes;	/* sum of their lengths */
};

/*
 * Open (creating when needed) the catalog environment in directory dir
 * (created with mode 0750 when missing; its parent must exist).  mapsize
 * is the initial map size in bytes, 0 for the default (64 MiB); the map
 * grows on demand.  Stale reader slots of dead processes are cleared.
 * LMDB's descriptors on the catalog's files are close-on-exec.
 * A new catalog gets meta "format" = CAT_FORMAT.  Returns a catalog in
 * *out and CAT_OK; CAT_OLDFORMAT for a 0.1.0 catalog (no "format" but
 * blobs or snapshots), with a message in err naming `gigavaultctl
 * upgrade`; or CAT_ERROR with a message in err (an unreadable catalog:
 * naming `gigavaultctl rebuild-catalog`).  No catalog unless CAT_OK.
 */
int	catalog_open(const char *dir, size_t mapsize, struct catalog **out,
	    char *err, size_t errlen);

/* The tables, for catalog_open_for(). */
#define CAT_T_META	0x001u
#define CAT_T_CLIENTS	0x002u
#define CAT_T_TOKENS	0x004u
#define CAT_T_BLOBS	0x008u
#define CAT_T_SNAPSHOTS	0x010u
#define CAT_T_POLICIES	0x020u
#define CAT_T_PEERS	0x040u
#define CAT_T_USAGE	0x080u
#define CAT_T_DAYS	0x100u
#define CAT_T_RECENT	0x200u
#define CAT_T_JOBS	0x400u	/* job reports, agents, run requests */
#define CAT_T_ALL	0xffffffffu	/* every table, those to come too */

/*
 * As catalog_open(), for a process that may write only the tables in
 * the mask tables (CAT_T_* ored; CAT_T_ALL is catalog_open()).  The
 * setup of the open itself (creating missing tables, the format mark,
 * building the usage totals once) is not limited; every later write,
 * put or delete in another table fails: the function returns CAT_ERROR
 * and catalog_strerror() says "Permission denied (a table this process
 * may not write)", with nothing of its transaction written.  This
 * keeps a bug in a child from writing where its role never writes (see
 * supervisor.c); it is no wall against a process that runs code of its
 * own, which could open the files with the same uid.  Returns as
 * catalog_open().
 */
int	catalog_open_for(const char *dir, size_t mapsize, unsigned tables,
	    struct catalog **out, char *err, size_t errlen);
/* Close and free c (NULL is fine).  No transaction is ever left open. */
void	catalog_close(struct catalog *c);
/* The message of the last CAT_ERROR on c; valid until the next call. */
const char *catalog_strerror(const struct catalog *c);
/* The current map size in bytes (grows on demand). */
size_t	catalog_mapsize(const struct catalog *c);

/*
 * Decode a clients record (name: its key; rec: its value, the same in
 * formats 1 and 2) into *cl.  0, or -1 when a length is wrong.  For the
 * upgrade, which reads a format-1 catalog without catalog_open().
 */
int	catalog_client_decode(const void *name, size_t namelen,
	    const void *rec, size_t reclen, struct cat_client *cl);

/*
 * 1 when name is 1..CAT_NAME_MAX bytes of [A-Za-z0-9._-], not only
 * dots (".", "..", ...), else 0.
 */
int	catalog_name_valid(const char *name);

/*
 * Create client name with an unregistered state and the one-time token
 * whose SHA-256 is token_hash.  created: Unix seconds.  The name must
 * pass catalog_name_valid() (else CAT_ERROR).  Returns CAT_OK with the
 * new client's id in *id (may be NULL), CAT_EXISTS when the name is
 * taken, CAT_ERROR.
 */
int	catalog_client_add(struct catalog *c, const char *name,
	    const uint8_t token_hash[CAT_SECRET_LEN], uint64_t created,
	    uint64_t *id);
/*
 * Give the existing client name a new one-time token (SHA-256
 * token_hash) in place of any unused one, so that it can register
 * again (a new machine, a lost state file, a client certificate)
 * keeping its snapshots; registering replaces its secret.  Returns
 * CAT_OK, CAT_NOTFOUND, CAT_ERROR.
 */
int	catalog_client_token(struct catalog *c, const char *name,
	    const uint8_t token_hash[CAT_SECRET_LEN]);
/*
 * Look up client name into *out.  Returns CAT_OK, CAT_NOTFOUND,
 * CAT_ERROR.
 */
int	catalog_client_get(struct catalog *c, const char *name,
	    struct cat_client *out);
/* Set or clear the disabled flag.  CAT_OK, CAT_NOTFOUND, CAT_ERROR. */
int	catalog_client_set_disabled(struct catalog *c, const char *name,
	    int disabled);
/*
 * Set or clear the allow_forget flag: with it, the client's FORGET may
 * remove snapshots that the server's retention policy keeps.  CAT_OK,
 * CAT_NOTFOUND, CAT_ERROR.
 */
int	catalog_client_set_allow_forget(struct catalog *c, const char *name,
	    int allow);
/*
 * Remove client name with its unused tokens, snapshots,
 * retention policies, blob index entries and running totals, in one
 * transaction (the pack bytes stay where they are; the per-day
 * statistics stay too).  CAT_OK, CAT_NOTFOUND, CAT_ERROR.
 */
int	catalog_client_remove(struct catalog *c, const char *name);
/*
 * Every client, ordered by name and with its secret zeroed, read in one
 * transaction: *out gets a malloc'ed array of *n entries (the caller
 * frees it; NULL when there are none).  CAT_OK, or CAT_ERROR (also when
 * out of memory) with *out NULL and *n 0.
 */
int	catalog_clients(struct catalog *c, struct cat_client **out,
	    size_t *n);
/*
 * Use up the token whose SHA-256 is token_hash: its client gets secret
 * (CAT_SECRET_LEN bytes, chosen by the caller) and becomes registered; the
 * token is deleted.  One transaction.  Returns CAT_OK with the client in
 * *out, CAT_NOTFOUND (no such token: never issued or already used),
 * CAT_DISABLED (the client is disabled; the token stays), CAT_ERROR.
 */
int	catalog_register(struct catalog *c,
	    const uint8_t token_hash[CAT_SECRET_LEN],
	    const uint8_t secret[CAT_SECRET_LEN], struct cat_client *out);

/*
 * Look up n blob ids of client in one read transaction: found[i] is 1
 * and out[i] (out may be NULL) the location when ids[i] is indexed, else
 * found[i] is 0.  CAT_OK or CAT_ERROR.
 */
int	catalog_blobs_lookup(struct catalog *c, uint64_t client,
	    const uint8_t (*ids)[BLOB_ID_LEN], size_t n, struct cat_blob *out,
	    uint8_t *found);
/*
 * Like catalog_blobs_lookup() without locations, for a HAVE (and a PUT
 * of a stored id, the REFS of a version 1/2 COMMIT): a hit whose
 * touched is below stale gets touched = now, in one write transaction
 * that runs only when there are such hits and checks again that each is
 * still indexed (found[i] is 0 when prune freed it in between).  The
 * session passes stale = now - GraceSeconds/4, so what a session relies
 * on is at most a quarter of the grace period stale and prune leaves it
 * alone for the rest.  CAT_OK or CAT_ERROR.
 */
int	catalog_blobs_have(struct catalog *c, uint64_t client,
	    const uint8_t (*ids)[BLOB_ID_LEN], size_t n, uint64_t now,
	    uint64_t stale, uint8_t *found);
/*
 * Call fn(arg, client, id, loc) for every entry of the blob index (all
 * clients; loc has nlinks and touched), in key order, inside one read
 * transaction (fn must not call catalog functions).  fn returns 0 to go
 * on, nonzero to stop.  CAT_OK or CAT_ERROR.
 */
int	catalog_blobs_scan(struct catalog *c,
	    int (*fn)(void *arg, uint64_t client, const uint8_t *id,
	    const struct cat_blob *loc), void *arg);
/*
 * What is new since prune's mark, seen inside each freeing transaction
 * (catalog_blobs_free()): fn(arg, client, id, loc) is called, inside
 * that write transaction, for the blob of every recent row with
 * sequence >= recent_from and for the root, meta and legacy node of
 * every snapshot that was not there at the mark (its client's id is
 * not below next in snap_from, sorted by client; a client missing from
 * snap_from is new), when indexed.  fn must not call catalog functions;
 * nonzero makes the transaction fail (CAT_ERROR, message why).  Then
 * keep(arg, i) says whether ids[i] must stay.  recent_seen gets the
 * sequence after the last recent row seen (recent_from when none).
 */
struct cat_snap_from {
	uint64_t	 client;
	uint64_t	 next;		/* its next_snapshot at the mark */
};
struct cat_fresh {
	uint64_t			 recent_from;
	uint64_t			 recent_seen;
	const struct cat_snap_from	*snap_from;
	size_t				 nsnap_from;
	int	(*fn)(void *arg, uint64_t client, const uint8_t *id,
		    const struct cat_blob *loc);
	int	(*keep)(void *arg, size_t i);
	void				*arg;
	const char			*why;	/* fn's reason to stop */
};
/*
 * Free blobs of client (prune's sweep): in one transaction, first call
 * fr's functions (fr may be NULL, see struct cat_fresh), then delete the
 * index entry of each of the n ids that keep() does not keep and whose
 * touched is still at most cutoff; an entry kept or touched since stays,
 * and spared[i] (may be NULL) is 1 for it (0 for one deleted or already
 * gone).  The caller guarantees no kept blob links to a deleted one.
 * *freed (may be NULL) counts the deleted entries, *bytes (may be NULL)
 * their lengths.  CAT_OK or CAT_ERROR.
 */
int	catalog_blobs_free(struct catalog *c, uint64_t client,
	    const uint8_t (*ids)[BLOB_ID_LEN], size_t n, uint64_t cutoff,
	    struct cat_fresh *fr, uint8_t *spared, size_t *freed,
	    uint64_t *bytes);
/*
 * The sequence number the next recent row gets (rows below it exist or
 * expired) into *seq.  CAT_OK or CAT_ERROR.
 */
int	catalog_recent_seq(struct catalog *c, uint64_t *seq);
/*
 * Delete the recent rows whose time is below cutoff, in one
 * transaction; *deleted (may be NULL) counts them.  CAT_OK or
 * CAT_ERROR.
 */
int	catalog_recent_expire(struct catalog *c, uint64_t cutoff,
	    size_t *deleted);
/*
 * Records this process has written or deleted through c so far
 * (committed or not): for tests that bound a transaction's writes.
 */
uint64_t catalog_writes(const struct catalog *c);

/* A blob whose bytes were copied to another place (pack rewrite). */
struct cat_move {
	uint64_t	 client;
	uint8_t		 id[BLOB_ID_LEN];
	uint32_t	 from_pack;
	uint64_t	 from_offset;
	uint32_t	 pack;		/* the new place */
	uint64_t	 offset;
};
/*
 * Point n index entries at their new places in one transaction.  An
 * entry that no longer exists or no longer points at (from_pack,
 * from_offset) is left alone; length, nlinks and touched are kept.
 * *moved (may be NULL) counts the entries changed.  CAT_OK or
 * CAT_ERROR.
 */
int	catalog_blobs_move(struct catalog *c, const struct cat_move *m,
	    size_t n, size_t *moved);
/*
 * Clear the reader slots of dead processes (a child that crashed inside
 * a read transaction); *dead (may be NULL) gets how many.  CAT_OK or
 * CAT_ERROR.
 */
int	catalog_reader_check(struct catalog *c, int *dead);

/*
 * Index n blobs of client in one transaction, with length, nlinks and
 * touched as given in each loc (the caller's clock).  An id already
 * indexed keeps its entry; when the client no longer exists nothing is
 * added.  The caller guarantees the bytes are durable.  Nothing is
 * checked against links and nothing is recorded in recent (for a
 * rebuild, an upgrade and tests).  CAT_OK or CAT_ERROR.
 */
int	catalog_blobs_add(struct catalog *c, uint64_t client,
	    const struct cat_blob_add *b, size_t n);
/*
 * Like catalog_blobs_add() for the pending blobs of a session:
 * links holds the links of b[0], then those of b[1], ... (b[i].loc.nlinks
 * each).  In the same transaction, every link of every blob it indexes
 * (not of one already indexed) must be indexed for client, in this
 * batch or before; otherwise nothing is written and CAT_MISSING is
 * returned with *missing (may be NULL) counting the absent links (prune
 * freed them since the session checked).  Each linked blob it indexes
 * gets a row in recent (time: its touched), so that a running sweep
 * spares what it links to: an indexed linked blob's links are indexed
 * at every instant.  CAT_OK, CAT_MISSING or CAT_ERROR.
 */
int	catalog_blobs_add_linked(struct catalog *c, uint64_t client,
	    const struct cat_blob_add *b, size_t n,
	    const uint8_t (*links)[BLOB_ID_LEN], size_t *missing);
/* A new pack id, never handed out before.  CAT_OK or CAT_ERROR. */
int	catalog_next_pack(struct catalog *c, uint32_t *pack);
/*
 * The pack id catalog_next_pack() would hand out next, read without
 * taking it, into *next: every pack this catalog made (or learnt of
 * through the journal or a rebuild) has a smaller id.  CAT_OK or
 * CAT_ERROR.
 */
int	catalog_pack_counter(struct catalog *c, uint64_t *next);

/*
 * Record a snapshot of client in one transaction that writes at most
 * six records (the snapshot row, the client's next id, its totals, the
 * touched of root, meta and legacy node), however
 * large the snapshot.  snap->set, time, root, meta, files, size,
 * new_bytes, new_blobs and has_legacy/legacy are the caller's.  root
 * and meta (and the legacy node) must be indexed for this client; the
 * rest of the snapshot is what they reach through links, which prune
 * keeps.  They get touched = now (the system clock), so a sweep that
 * runs meanwhile spares them and what they reach.  With has_legacy,
 * snap->id is the id the snapshot gets (the legacy node's id depends on
 * it): at least the client's next_snapshot
 * (catalog_client_get()), else CAT_EXISTS and nothing is written; ids
 * skipped are never used.
 * Returns CAT_OK with snap->id filled in; CAT_MISSING with *missing
 * (may be NULL) counting the absent ones of root, meta and legacy;
 * CAT_NOTFOUND: the client no longer exists; CAT_DISABLED: it is
 * disabled; CAT_EXISTS; CAT_ERROR.
 */
int	catalog_commit(struct catalog *c, uint64_t client,
	    struct cat_snapshot *snap, size_t *missing);
/*
 * Call fn(arg, snap) for client's snapshots with id > after, oldest
 * first, whose set is set ("" or NULL: every set), inside one read
 * transaction (fn must not call catalog functions).  fn returns 0 to go
 * on, nonzero to stop.  CAT_OK or CAT_ERROR.
 */
int	catalog_snapshots(struct catalog *c, uint64_t client, const char *set,
	    uint64_t after, int (*fn)(void *arg, const struct cat_snapshot *),
	    void *arg);
/*
 * Call fn(arg, client, snap) for every snapshot of every client, in
 * key order, inside one read transaction (fn must not call catalog
 * functions; nonzero stops): prune's roots.  CAT_OK or CAT_ERROR.
 */
int	catalog_snapshots_all(struct catalog *c,
	    int (*fn)(void *arg, uint64_t client, const struct cat_snapshot *),
	    void *arg);
/*
 * Client's snapshot snap into *out.  CAT_OK, CAT_NOTFOUND, CAT_ERROR.
 */
int	catalog_snapshot_get(struct catalog *c, uint64_t client,
	    uint64_t snap, struct cat_snapshot *out);
/*
 * Forget client's snapshot snap: delete its row in one transaction (the
 * blobs stay indexed: prune frees what nothing reaches any more).
 * CAT_OK, CAT_NOTFOUND (no such snapshot), CAT_PROTECTED (it is
 * protected: nothing changed; catalog_snapshot_protect() first),
 * CAT_ERROR.
 */
int	catalog_forget(struct catalog *c, uint64_t client, uint64_t snap);

/*
 * Retention policies, per client and set; set "" is the client's
 * default for every set without a policy of its own.  Clients without
 * any follow the server's default (gigavault.conf, Retention).
 *
 * catalog_policy_set: store p for client name and set ("" or a valid
 * set name, else CAT_ERROR).  catalog_policy_clear: remove it.  Both
 * CAT_OK, CAT_NOTFOUND (no such client; for clear also no such
 * policy), CAT_ERROR.
 */
int	catalog_policy_set(struct catalog *c, const char *name,
	    const char *set, const struct retention *p);
int	catalog_policy_clear(struct catalog *c, const char *name,
	    const char *set);
/*
 * The policy for client id and set into *p: the set's own, else the
 * client's default.  CAT_OK, CAT_NOTFOUND (neither: the server's
 * default applies), CAT_ERROR.
 */
int	catalog_policy_get(struct catalog *c, uint64_t client,
	    const char *set, struct retention *p);
/*
 * Call fn(arg, set, p) for every policy of client id, ordered by set
 * ("" first), inside one read transaction (fn must not call catalog
 * functions; nonzero stops).  CAT_OK or CAT_ERROR.
 */
int	catalog_policies(struct catalog *c, uint64_t client,
	    int (*fn)(void *arg, const char *set, const struct retention *p),
	    void *arg);

/*
 * Totals of client into *u (all zero for an unknown client), from the
 * running totals that the transactions which index, free, commit and
 * forget keep beside the rows (no scan).  CAT_OK or CAT_ERROR.
 */
int	catalog_usage(struct catalog *c, uint64_t client, struct cat_usage *u);

struct cat_totals {
	uint64_t	 clients, snapshots, size, unique_bytes;
};
/*
 * Totals over all clients: clients, their snapshots, size (sum of the
 * snapshots' sizes) and unique_bytes (sum of the blob lengths in
 * the index), from the running totals: O(clients).  A catalog written
 * before the totals existed gets them built once by catalog_open() (one
 * scan of the snapshots and the blob index).  CAT_OK or CAT_ERROR.
 */
int	catalog_totals(struct catalog *c, struct cat_totals *t);

/*
 * For a rebuild (rebuild.c) into a new catalog, with the daemon stopped;
 * none of these is journaled (they write what the journal already
 * says).
 *
 * catalog_restore_client: write client cl as given (id, name, secret,
 * flags, created, next_snapshot), replacing a client of that name, and
 * when token_hash is not NULL its unused token.
 * catalog_restore_snapshot: write client's snapshot s as given (its id
 * too), adding it to the client's totals; nothing is checked against
 * the blob index.
 * catalog_restore_counters: raise the ids the next client and the next
 * pack get to at least next_client and next_pack.
 * Each CAT_OK or CAT_ERROR.
 */
int	catalog_restore_client(struct catalog *c, const struct cat_client *cl,
	    const uint8_t token_hash[CAT_SECRET_LEN]);
int	catalog_restore_snapshot(struct catalog *c, uint64_t client,
	    const struct cat_snapshot *s);
int	catalog_restore_counters(struct catalog *c, uint64_t next_client,
	    uint32_t next_pack);

/*
 * Per-day statistics (UTC days).  The worker adds every session that
 * ends (see worker.c) with catalog_day_add().
 */
#define CAT_DAY_SECONDS	86400
struct cat_day {
	uint32_t	 day;		/* days since 1970-01-01 UTC */
	uint64_t	 sessions, bytes_in, bytes_out;
	/*
	 * All clients' unique blob bytes (catalog_totals()) after the
	 * day's last update; 0 when no update that day.
	 */
	uint64_t	 unique_bytes;
};
/*
 * Add one finished session's traffic (or several: sessions is a count)
 * to the day of now (Unix seconds) and record the current total unique
 * bytes, in one short write transaction.  CAT_OK or CAT_ERROR.
 */
int	catalog_day_add(struct catalog *c, uint64_t now, uint64_t sessions,
	    uint64_t bytes_in, uint64_t bytes_out);
/*
 * Fill out[0..n-1] with days first..first+n-1 (days without a record
 * are zeros with .day set), in one read transaction.  CAT_OK or
 * CAT_ERROR (also when first + n - 1 passes UINT32_MAX).
 */
int	catalog_days(struct catalog *c, uint32_t first, size_t n,
	    struct cat_day *out);

/*
 * Peers found by discovery (discovery.c writes them, the UI bridge reads
 * them).  The discovery child keeps the table in memory and replaces the
 * stored one with it in one transaction, together with its counters.
 */
#define CAT_PEER_NAME_MAX	64
#define CAT_PEER_ADDRS		4
#define CAT_PEER_ADDR_MAX	46	/* INET6_ADDRSTRLEN */
#define CAT_PEER_STATS		32	/* counters kept with the table */

enum cat_peer_source {
	CAT_PEER_MULTICAST = 1,
	CAT_PEER_SCAN,
	CAT_PEER_TCP,		/* learned from peer via */
	CAT_PEER_STATIC,	/* Discovery.Peers */
};

struct cat_peer {
	uint8_t		 id[SERVER_ID_LEN];
	char		 name[CAT_PEER_NAME_MAX + 1];
	char		 addrs[CAT_PEER_ADDRS][CAT_PEER_ADDR_MAX];
	int		 naddrs;
	uint16_t	 port_backup, port_ssl, port_ui, port_web, port_webssl;
	uint8_t		 roles;		/* DW_ROLE_* */
	uint8_t		 tls;
	uint8_t		 source;	/* enum cat_peer_source */
	uint8_t		 hops;		/* 0: heard directly */
	uint64_t	 first_seen, last_seen;	/* Unix seconds */
	uint8_t		 via[SERVER_ID_LEN];	/* CAT_PEER_TCP: from whom */
	char		 via_name[CAT_PEER_NAME_MAX + 1];
};

/*
 * Replace every stored peer with the n of p and the counters with the
 * nstats (at most CAT_PEER_STATS) of stats, in one transaction.  CAT_OK
 * or CAT_ERROR.
 */
int	catalog_peers_replace(struct catalog *c, const struct cat_peer *p,
	    size_t n, const uint64_t *stats, size_t nstats);
/*
 * Call fn(arg, peer) for every stored peer, ordered by id, inside one
 * read transaction (fn must not call catalog functions; nonzero stops);
 * stats (may be NULL) gets CAT_PEER_STATS counters (0 when none were
 * stored).  CAT_OK or CAT_ERROR.
 */
int	catalog_peers(struct catalog *c,
	    int (*fn)(void *arg, const struct cat_peer *), void *arg,
	    uint64_t *stats);

/* ------------------------------------------------ jobs, agents, health */

/*
 * What agents report (session.c's JOB_REPORT and AGENT_POLL frames):
 * the runs of each client's jobs (the newest CAT_JOBS_KEPT per client
 * kept, older ones dropped as new ones come), each job's latest state,
 * and the "back up now" requests queued for a client until its agent
 * polls.  Not journaled: a rebuilt catalog starts with no history.
 */
#define CAT_JOBS_KEPT		500	/* reports kept per client */
#define CAT_JOB_ERROR_MAX	1024	/* bytes of a report's error text */
#define CAT_AGENT_NAME_MAX	64
#define CAT_REQUESTS_MAX	256	/* requests one take hands out */
#define CAT_REQ_ARGS_MAX	4096	/* bytes of a request's args */
#define CAT_SETS_MAX		256	/* sets a client's reports may name;
					   an agent's poll names at most as
					   many jobs (WIRE_AGENT_JOBS_MAX) */

enum cat_job_result {
	CAT_JOB_OK		= 0,
	CAT_JOB_PARTIAL		= 1,	/* saved, with problems */
	CAT_JOB_FAILED		= 2,	/* nothing saved */
	CAT_JOB_CANCELLED	= 3,
};

struct cat_jobrun {
	uint64_t	 client;
	uint64_t	 seq;		/* per client, from 1, set by job_add */
	char		 set[CAT_NAME_MAX + 1];
	uint64_t	 request;	/* the run-now request, 0 for none */
	int64_t		 start;		/* Unix seconds, as the agent said */
	int64_t		 end;
	int64_t		 received;	/* Unix seconds, the server's clock */
	int		 result;	/* enum cat_job_result */
	uint64_t	 snapid;	/* 0: none saved */
	uint64_t	 files;
	uint64_t	 bytes;
	uint64_t	 read_bytes;
	uint64_t	 sent_bytes;
	uint64_t	 problems;
	int64_t		 next_run;	/* 0: none scheduled */
	char		 error[CAT_JOB_ERROR_MAX + 1];
};

/*
 * Record run r of client (r->client is set from it, r->seq assigned and
 * written back), update its set's state (last success or failure) and
 * drop the client's oldest report beyond CAT_JOBS_KEPT.  A report with
 * next_run 0 clears the set's next run.  The same transaction adds the
 * report's history row (below: the handle must write CAT_T_HISTORY).  CAT_OK, CAT_NOTFOUND (no such
 * client), CAT_LIMIT (r->set is a set the client has no state of, and it
 * has CAT_SETS_MAX already: nothing written), CAT_ERROR.
 */
int	catalog_job_add(struct catalog *c, uint64_t client,
	    struct cat_jobrun *r);
/*
 * Reports of client (0: of every client), newest first, at most max of
 * them, only those with seq below before (0: from the newest) when
 * client is not 0.  For client 0 it reads each client's newest max
 * and never holds more than 2 * max.  *out malloc'ed (the caller frees
 * it; NULL when none), *n its count.  CAT_OK or CAT_ERROR.
 */
int	catalog_jobs(struct catalog *c, uint64_t client, uint64_t before,
	    size_t max, struct cat_jobrun **out, size_t *n);

/* A job as its agent last described it (AGENT_POLL). */
struct cat_agent_job {
	char		 set[CAT_NAME_MAX + 1];
	int64_t		 next_run;	/* 0: not scheduled */
	int64_t		 interval;	/* 0: unknown */
	int		 running;
};
/*
 * The agent of client polled now: its name and its jobs[0..njobs)
 * (njobs at most CAT_SETS_MAX) replace what was known.  A set it has no
 * job for keeps its state without a schedule; one never reported, or
 * without job and report for a day, is dropped.  CAT_OK, CAT_NOTFOUND,
 * CAT_ERROR.
 */
int	catalog_agent_seen(struct catalog *c, uint64_t client, int64_t now,
	    const char *agent_name, const struct cat_agent_job *jobs,
	    size_t njobs);

/*
 * A set's health, worst first: FAILED when its latest report is a
 * failure (or cancelled); OVERDUE when a run was due and none came:
 * now is past max(next_run, last success + interval) plus grace, each
 * term only when known (next_run not 0; a last success and an interval
 * not 0); NEVER when there is no report of it yet (and it is not
 * overdue); OK otherwise.  A client's health is the worst of its sets'
 * (NEVER when it has none), leaving out, once its agent has polled, the
 * sets the agent has no job for (job 0).
 */
enum cat_health {
	CAT_HEALTH_OK		= 0,
	CAT_HEALTH_NEVER	= 1,
	CAT_HEALTH_OVERDUE	= 2,
	CAT_HEALTH_FAILED	= 3,
};
/* "ok", "never", "overdue", "failed" */
const char *catalog_health_name(int health);

struct cat_set_health {
	char		 set[CAT_NAME_MAX + 1];
	int		 health;	/* enum cat_health */
	int64_t		 last_success;	/* 0: none */
	int64_t		 last_failure;	/* 0: none */
	char		 last_error[CAT_JOB_ERROR_MAX + 1];
	int64_t		 next_run;	/* 0: not scheduled */
	int64_t		 interval;
	int		 running;
	int		 job;		/* its agent has a job for it */
};
struct cat_client_health {
	uint64_t	 client;
	char		 name[CAT_NAME_MAX + 1];
	int		 health;	/* the worst of its sets' */
	int64_t		 last_success;	/* the newest of its sets' */
	int64_t		 last_failure;
	char		 last_error[CAT_JOB_ERROR_MAX + 1]; /* of last_failure */
	int64_t		 next_run;	/* the soonest of its sets' */
	int64_t		 agent_seen;	/* its agent's last poll, 0: never */
	char		 agent_name[CAT_AGENT_NAME_MAX + 1];
	struct cat_set_health *sets;	/* every set with a job or report */
	size_t		 nsets;
};
/*
 * The health of every client (client 0), or of one, at time now with
 * grace seconds of grace, read in one transaction; costs one look per
 * set, not per report.  *out malloc'ed, freed with
 * catalog_health_free(out, n).  CAT_OK, CAT_NOTFOUND (one client asked
 * for and not there), CAT_ERROR.
 */
int	catalog_health(struct catalog *c, uint64_t client, int64_t now,
	    int64_t grace, struct cat_client_health **out, size_t *n);
void	catalog_health_free(struct cat_client_health *h, size_t n);

/* A queued "back up now" (or, kind not 1, a browse or restore). */
struct cat_request {
	uint64_t	 id;		/* never reused */
	uint64_t	 client;
	char		 set[CAT_NAME_MAX + 1];
	int64_t		 queued;	/* Unix seconds */
	int64_t		 taken;		/* when the agent took it, 0: not yet */
	char		 by[CAT_NAME_MAX + 1];	/* who asked ("console: NAME",
						   "gigavaultctl") */
	int		 kind;		/* enum cat_request_kind; records
					   written before kinds: backup */
	char		 args[CAT_REQ_ARGS_MAX + 1];	/* "" for a backup */
};
/*
 * Queue a request to back up set of client at now (Unix seconds); *id
 * gets its id (the id of the request already queued for set when there
 * is one not yet taken).  by is cut to CAT_NAME_MAX bytes.  A report
 * naming the id removes the request.  CAT_OK, CAT_NOTFOUND (no such
 * client), CAT_ERROR (also for a set name catalog_name_valid() refuses).
 */
int	catalog_request_add(struct catalog *c, uint64_t client,
	    const char *set, const char *by, int64_t now, uint64_t *id);
/*
 * Hand the requests of client not yet taken to its agent: mark them
 * taken at now and return them in *out (malloc'ed, the caller frees it;
 * NULL when none), oldest first, at most CAT_REQUESTS_MAX of them (the
 * rest at the next take).  A request taken more than 10 minutes ago and
 * not reported is handed out again when its set is not running (the
 * agent may never have had the answer).  Requests queued more than a
 * day ago and not reported (taken or not) are dropped unless their set
 * runs.  CAT_OK or CAT_ERROR.
 */
int	catalog_requests_take(struct catalog *c, uint64_t client, int64_t now,
	    struct cat_request **out, size_t *n);
/*
 * "Back up now" requests of client (taken or not, not yet reported),
 * oldest first (not the browse and restore requests of the last
 * section).
 */
int	catalog_requests(struct catalog *c, uint64_t client,
	    struct cat_request **out, size_t *n);

/* ----- protected snapshots (the console's and gigavaultctl's actions) */

/*
 * Set (on != 0) or clear the protected flag of client's snapshot snap
 * in one transaction, journaled (JOURNAL_SNAP_FLAGS).  A protected
 * snapshot is kept by prune whatever the retention policy says, and
 * catalog_forget() refuses it.  CAT_OK (also when the flag was so
 * already), CAT_NOTFOUND (no such snapshot), CAT_ERROR.
 */
int	catalog_snapshot_protect(struct catalog *c, uint64_t client,
	    uint64_t snap, int on);

/* ------------------------------------------------------------- history */

/*
 * What happened, newest first: every session on the backup ports (one
 * row written by the worker when it ends, in the same transaction as
 * its day's statistics: catalog_session_end()), every job report (in
 * catalog_job_add()'s transaction) and every prune, scrub and sync run
 * (the housekeeper, gigavaultctl).  Rows are keyed by the time they
 * were written and a sequence number, and bounded twice: by age
 * (History.MaxAge: catalog_history_trim(), which the housekeeper runs
 * in short transactions) and by count (History.MaxEntries: each add
 * drops the oldest rows beyond it, so a storm of failed sessions cannot
 * fill the disk).  Not journaled, like the job reports: a rebuilt
 * catalog (rebuild.c, a standby of Store.Backend = s3) starts with no
 * history, and a standby keeps its own.
 */
#define CAT_T_HISTORY		0x8000u	/* for catalog_open_for() */
#define CAT_HISTORY_TEXT_MAX	CAT_JOB_ERROR_MAX	/* error or summary */
#define CAT_HISTORY_WHO_MAX	64	/* a peer address, who started it */
#define CAT_HISTORY_MAX_DEFAULT	100000	/* rows, History.MaxEntries */

enum cat_history_kind {
	CAT_HIST_CONNECT	= 0,	/* ended before any AUTH or REGISTER */
	CAT_HIST_AUTH		= 1,	/* ended while authenticating */
	CAT_HIST_SESSION	= 2,	/* authenticated, nothing below */
	CAT_HIST_BACKUP		= 3,	/* HAVE, PUT, REFS or COMMIT */
	CAT_HIST_READ		= 4,	/* GET: ls, find, diff, mount, or a
					   restore or verify of a client
					   that does not say which (the
					   frames do not tell) */
	CAT_HIST_LIST		= 5,	/* LIST only */
	CAT_HIST_FORGET		= 6,	/* FORGET */
	CAT_HIST_REGISTER	= 7,	/* REGISTER or CERT_REQUEST */
	CAT_HIST_AGENT		= 8,	/* an agent's poll or report session */
	CAT_HIST_JOB		= 9,	/* a job report (set, snapshot) */
	CAT_HIST_PRUNE		= 10,
	CAT_HIST_SCRUB		= 11,
	CAT_HIST_SYNC		= 12,
	CAT_HIST_RESTORE	= 13,	/* read, and the hello said restore */
	CAT_HIST_VERIFY		= 14,	/* read, and the hello said verify */
	CAT_HIST_NKINDS
};

enum cat_history_result {
	CAT_HRES_OK		= 0,
	CAT_HRES_FAILED		= 1,
	CAT_HRES_PARTIAL	= 2,	/* a job saved with problems */
	CAT_HRES_INTERRUPTED	= 3,	/* cancelled, stopped */
	CAT_HRES_N
};

struct cat_history {
	uint64_t	 time;		/* key: Unix seconds it was written */
	uint64_t	 seq;		/* key: from 1, never reused */
	int		 kind;		/* enum cat_history_kind */
	int		 result;	/* enum cat_history_result */
	int64_t		 start, end;	/* Unix seconds; 0: unknown */
	char		 client[CAT_NAME_MAX + 1];	/* "": none */
	char		 set[CAT_NAME_MAX + 1];		/* "": none */
	/* A session's peer; who started a prune or scrub ("schedule",
	   "console: NAME", "gigavaultctl (USER)"); a job's "agent". */
	char		 who[CAT_HISTORY_WHO_MAX + 1];
	uint64_t	 bytes_in, bytes_out;	/* to and from the server */
	uint64_t	 snapshot;	/* 0: none */
	char		 text[CAT_HISTORY_TEXT_MAX + 1];	/* error, summary */
};

/* "connect", "auth", ... "sync"; "?" for a value out of range. */
const char *catalog_history_kind_name(int kind);
/* "ok", "failed", "partial", "interrupted"; "?" out of range. */
const char *catalog_history_result_name(int result);
/* The value of a kind's or a result's name, or -1 for none. */
int	catalog_history_kind_parse(const char *name);
int	catalog_history_result_parse(const char *name);

/*
 * The most rows this handle's adds keep (History.MaxEntries; 0: the
 * default, CAT_HISTORY_MAX_DEFAULT).  Every process that adds rows sets
 * it from its configuration after catalog_open().
 */
void	catalog_history_set_max(struct catalog *c, uint64_t max);

/*
 * Add row h (its time and seq are assigned: the time is now, Unix
 * seconds; both are written back), dropping the oldest rows beyond the
 * handle's maximum, in one transaction.  Text fields are cut to their
 * sizes.  CAT_OK or CAT_ERROR (also for a kind or result out of range).
 */
int	catalog_history_add(struct catalog *c, uint64_t now,
	    struct cat_history *h);
/*
 * A session ended at now: catalog_day_add(c, now, 1, bytes_in,
 * bytes_out) and, when h is not NULL, catalog_history_add(c, now, h),
 * in one short write transaction.  CAT_OK or CAT_ERROR (nothing
 * written).
 */
int	catalog_session_end(struct catalog *c, uint64_t now,
	    uint64_t bytes_in, uint64_t bytes_out, struct cat_history *h);
/*
 * Delete rows written before cutoff (Unix seconds) and the oldest
 * beyond the handle's maximum, at most batch of them (1..) in one
 * transaction; *deleted (may be NULL) counts them, and *more (may be
 * NULL) is 1 when there may be more to delete (call again).  CAT_OK or
 * CAT_ERROR.
 */
int	catalog_history_trim(struct catalog *c, uint64_t cutoff, size_t batch,
	    size_t *deleted, int *more);

/* What catalog_history() returns; every field 0 or "" is no filter. */
struct cat_history_filter {
	char		 client[CAT_NAME_MAX + 1];
	int		 kind;		/* -1: any */
	int		 result;	/* -1: any */
	uint64_t	 since;		/* time >= since */
	/* Only rows older than (before_time, before_seq): paging. */
	uint64_t	 before_time, before_seq;
};
/*
 * Rows that pass f, newest first, at most max of them (1..), read in
 * one transaction: *out malloc'ed (the caller frees it; NULL when
 * none), *n its count; *total (may be NULL) gets the number of rows
 * stored.  CAT_OK or CAT_ERROR (also when out of memory), with *out
 * NULL and *n 0.
 */
int	catalog_history(struct catalog *c, const struct cat_history_filter *f,
	    size_t max, struct cat_history **out, size_t *n, uint64_t *total);
/*
 * The row (time, seq) into *out.  CAT_OK, CAT_NOTFOUND, CAT_ERROR.
 */
int	catalog_history_get(struct catalog *c, uint64_t time, uint64_t seq,
	    struct cat_history *out);

/* ------------------------------------------------ browse and restore */

/*
 * Requests the console makes of a client's agent besides "back up now"
 * (protocol version 5): list a directory of a snapshot, restore paths
 * of one.  Each carries args, a JSON text the agent parses and checks
 * (the server only bounds it).  The agent's answers are kept per
 * request, in the requests table under the request's key and one byte
 * more.  A final answer (done or failed) ends its request and is kept
 * CAT_ANSWER_KEEP_S after it came, however often it is read; a
 * "started" answer lives with its request.  A request the agent does
 * not end ends failed, with a failed answer of the server's (its
 * {"error"} says why), kept as a final one: when not taken within
 * CAT_ANSWER_KEEP_S of being queued, when taken and not answered within
 * CAT_TAKEN_SILENT_S (twice the agent's poll timeout: the agent answers
 * a browse, and says "started" for a restore, in the session that took
 * it), when its last "started" is CAT_STARTED_KEEP_S old (each
 * "started" moves that bound), or when it could never fit an
 * AGENT_REQUESTS.  Writes (add, take, put) store those endings; a read
 * sees them as they would be stored.  At most CAT_PENDING_MAX browse
 * and restore requests of a client wait (not ended) at a time.
 */
enum cat_request_kind {
	CAT_REQ_BACKUP		= 1,
	CAT_REQ_BROWSE		= 2,
	CAT_REQ_RESTORE		= 3,
};
#define CAT_ANSWER_MAX		65536	/* bytes of one answer */
#define CAT_ANSWER_KEEP_S	3600	/* a final answer, a request not
					   taken */
#define CAT_TAKEN_SILENT_S	240	/* a request taken, not answered */
#define CAT_STARTED_KEEP_S	(7 * 86400)	/* a restore since its last
						   "started" */
#define CAT_ANSWERS_MAX		64	/* final answers kept per client */
#define CAT_PENDING_MAX		32	/* requests waiting per client */

enum cat_answer_status {
	CAT_ANSWER_DONE		= 0,	/* final */
	CAT_ANSWER_STARTED	= 1,	/* a restore under way */
	CAT_ANSWER_FAILED	= 2,	/* final, the answer says why */
	CAT_ANSWER_PENDING	= 3,	/* no answer yet (get only) */
};

/*
 * Queue a request of kind (CAT_REQ_BROWSE or CAT_REQ_RESTORE) on set of
 * client with args (at most CAT_REQ_ARGS_MAX bytes) at now; *id gets
 * its id.  by is cut to CAT_NAME_MAX bytes.  The client's requests that
 * ended (above) are stored as such first.  CAT_OK, CAT_NOTFOUND (no such
 * client), CAT_LIMIT (CAT_PENDING_MAX of its browse and restore requests
 * wait already: nothing queued), CAT_ERROR (also for a bad set name,
 * kind or args).
 */
int	catalog_request_add_args(struct catalog *c, uint64_t client, int kind,
	    const char *set, const char *args, const char *by, int64_t now,
	    uint64_t *id);
/*
 * As catalog_requests_take(), for an agent that speaks protocol
 * version 5 when all_kinds is 1 (browse and restore requests are handed
 * out too, each once), else only the backups (a version 4 agent: the
 * others wait).  Requests are handed out while they fit room bytes,
 * each counted as each bytes and its set's and args' (the caller's
 * frame: the rest at the next take); a browse or restore that alone
 * needs more than room ends failed.  Browse and restore requests that
 * ended (above) are stored as such, not handed out.  CAT_OK or
 * CAT_ERROR.
 */
int	catalog_requests_take_kinds(struct catalog *c, uint64_t client,
	    int64_t now, int all_kinds, size_t room, size_t each,
	    struct cat_request **out, size_t *n);
/*
 * The agent of client answers request id with status (CAT_ANSWER_DONE,
 * _STARTED or _FAILED) and data[0..len) (len at most CAT_ANSWER_MAX) at
 * now; it replaces an earlier answer.  A final answer ends the request.
 * The client's final answers older than CAT_ANSWER_KEEP_S are dropped,
 * and its oldest beyond CAT_ANSWERS_MAX.  CAT_OK, CAT_NOTFOUND (no
 * browse or restore request id of client was handed out, or it ended
 * already: nothing stored), CAT_ERROR.
 */
int	catalog_answer_put(struct catalog *c, uint64_t client, uint64_t id,
	    int status, const void *data, size_t len, int64_t now);
/*
 * The answer to request id of client at now: *status one of enum
 * cat_answer_status (CAT_ANSWER_PENDING: the request waits, with
 * *taken when the agent took it, 0: not yet), *kind the request's kind
 * when known (0 otherwise), *data malloc'ed and NUL-ended (the caller
 * frees it; NULL when pending), *len its length.  A read: it changes
 * nothing (a final answer may be read again until it expires).  CAT_OK,
 * CAT_NOTFOUND (no such request or answer: never made, or expired),
 * CAT_ERROR.
 */
int	catalog_answer_get(struct catalog *c, uint64_t client, uint64_t id,
	    int64_t now, int *status, int *kind, int64_t *taken, char **data,
	    size_t *len);

#endif
