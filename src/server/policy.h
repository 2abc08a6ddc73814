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
struct cat_client;

/* The largest keep-count of a rule (as Retention.Keep* in gigavault.conf). */
#define POLICY_KEEP_MAX	1000000

/* policy_forget(): the policy keeps the snapshot (a catalog result too). */
#define POLICY_KEPT	100

/* Where the policy of a client's set comes from (policy_source()). */
enum policy_from {
	POLICY_FROM_SERVER,	/* gigavault.conf's Retention */
	POLICY_FROM_CLIENT,	/* the client's default (set "") */
	POLICY_FROM_SET,	/* the set's own */
};

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
 * id), the one with the highest id and every protected one (why
 * "protected") are always kept, whatever the policy.  CAT_OK, or CAT_ERROR with a message in err.
 */
int	policy_evaluate(struct catalog *c, const struct retention *def,
	    uint64_t client, const char *set, struct ret_snap **out,
	    size_t *n, char *err, size_t errlen);

/*
 * The policy of client's set into *out as policy_lookup() and where it
 * comes from into *from; set "" asks for the client's default.  CAT_OK
 * or CAT_ERROR (catalog_strerror() says why).
 */
int	policy_source(struct catalog *c, const struct retention *def,
	    uint64_t client, const char *set, struct retention *out,
	    enum policy_from *from);
/* "server", "client" or "set". */
const char *policy_from_name(enum policy_from);

/*
 * An administrator's forget of snapshot snap of client cl (the console,
 * gigavaultctl snapshot forget), with the checks of a client's FORGET
 * (session.c): a protected snapshot is refused; unless cl allows
 * forget, so is one that the server's policy keeps (def: the server's
 * default).  CAT_OK (forgotten), CAT_NOTFOUND (no such snapshot),
 * CAT_PROTECTED, POLICY_KEPT (why gets the rules that keep it), or
 * CAT_ERROR (why gets the message).
 */
int	policy_forget(struct catalog *c, const struct retention *def,
	    const struct cat_client *cl, uint64_t snap, char *why,
	    size_t whylen);

#endif
