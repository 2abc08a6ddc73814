/*
 * policy.h - the server's retention policy for a client's set, and what
 * it keeps: the policy stored in the catalog (gigavaultctl policy set)
 * for the set, else the client's default, else the server's default
 * (gigavault.conf, Retention), evaluated by retention.c over the set's
 * snapshots.  Used by session.c (FORGET) and prune.c.
 */
#ifndef GV_POLICY_H
#define GV_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/retention.h"

struct catalog;

/*
 * The policy of client's set into *out; def is the server's default.
 * CAT_OK or CAT_ERROR (catalog_strerror() says why).
 */
int	policy_lookup(struct catalog *c, const struct retention *def,
	    uint64_t client, const char *set, struct retention *out);
/*
 * Evaluate the policy of client's set over all its snapshots: *out
 * (malloc'ed, the caller frees; NULL when *n is 0) gets *n entries in
 * id order with keep and why set.  The newest snapshot (by time, then
 * id) and the one with the highest id are always kept, whatever the
 * policy.  CAT_OK, or CAT_ERROR with a message in err.
 */
int	policy_evaluate(struct catalog *c, const struct retention *def,
	    uint64_t client, const char *set, struct ret_snap **out,
	    size_t *n, char *err, size_t errlen);

#endif
