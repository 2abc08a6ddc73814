/*
 * chain.h - rollback detection on the client (doc/protocol.md,
 * "Rollback detection").  Each snapshot's meta blob names its parent,
 * the snapshot that was the newest of its set when it was made (its id,
 * time, meta id and root id), so a set's snapshots form a chain that
 * only the keys can write.  The client remembers in StateFile the newest
 * snapshot of each set it made or saw on each server, and checks that
 * the server's newest is that one or descends from it.
 */
#ifndef GV_CHAIN_H
#define GV_CHAIN_H

#include <stddef.h>

#include "client.h"

/* Longest walk beyond the snapshots listed (forgotten, not yet pruned). */
#define CHAIN_SLACK	64

struct json_t;

/*
 * The "parent" member of a new snapshot's meta blob: parent's id, time,
 * meta id and root id as an object, or JSON null for the first snapshot
 * of a set (parent NULL).  NULL when out of memory.
 */
struct json_t *chain_parent_json(const struct snapinfo *parent);

/*
 * Check set against the newest snapshot of set this client remembers
 * for the session's server.  v[0..n) is the server's listing, oldest
 * first; entries of other sets are skipped.  Nothing remembered: the
 * newest listed is remembered (trust on first use) and nothing printed.
 * The newest listed is the remembered one or descends from it (its meta
 * names a parent, whose meta names a parent, ... down to the remembered
 * meta id, reading at most n + CHAIN_SLACK metas): it is remembered,
 * nothing printed.  The chain cannot be followed (a meta on the way was
 * forgotten and pruned, or made by a client older than this check, or
 * the keys are not at hand): one "note:" line on stderr; the newest is
 * remembered when its own meta was read.  The newest is older than the
 * remembered one, does not descend from it, its meta does not match the
 * listing, or the set has no snapshot left: one "warning:" line on
 * stderr naming the set, the remembered snapshot and the server's
 * newest, and nothing remembered.  May unlock the keys (client_keys())
 * and fetch meta blobs over c->remote; a failure to write StateFile is
 * printed as a warning and does not count.
 * Returns 0 to go on; -1 when c->strict and a warning was printed (a
 * refusal is printed too), or the session failed (printed).
 */
int	chain_check(struct client *c, const char *set,
	    const struct snapinfo *v, size_t n);
/*
 * chain_check() for each set in v[0..n) and each set remembered for the
 * session's server (those that are not in v have no snapshot left).
 * Returns 0, or -1 as chain_check() (after checking every set).
 */
int	chain_check_all(struct client *c, const struct snapinfo *v,
	    size_t n);
/*
 * Remember s, a snapshot this client just made, as the newest of its set
 * on the session's server (StateFile is read again, changed and
 * written: a failure is printed as a warning).
 */
void	chain_remember(struct client *c, const struct snapinfo *s);
/*
 * chain_check() of set with the server's listing of it, fetched over
 * c->remote.  Same returns (a failed listing is printed, and -1).
 */
int	chain_check_set(struct client *c, const char *set);
/*
 * This client's forget removed snapshot gone: when it was the newest
 * remembered of its set, remember instead the newest of that set left
 * on the server (listed over c->remote), or nothing when none is left.
 * Failures are printed as warnings.
 */
void	chain_forgotten(struct client *c, const struct snapinfo *gone);

#endif
