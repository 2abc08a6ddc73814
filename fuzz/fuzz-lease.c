/*
 * fuzz-lease.c - libFuzzer harness: lease_decode() of server/lease.c,
 * which reads the lease document another server wrote in the bucket
 * (doc/object-store.md rule 5).  A document that decodes is encoded
 * again with lease_encode() and decoded once more: both decodes must
 * agree field by field (else abort), and every string must be within
 * its maximum.
 *
 * Not covered: the requests (lease_take(), lease_renew(),
 * lease_release() need a bucket: t/92-lease.t).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/lease.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lease_info a, b;
	char doc[LEASE_DOC_MAX + 1], err[256];
	int n;

	if (lease_decode(data, size, &a, err, sizeof(err)) == -1)
		return 0;
	if (strlen(a.holder) > LEASE_HOLDER_MAX ||
	    strlen(a.host) > LEASE_HOST_MAX ||
	    a.duration < LEASE_DURATION_MIN ||
	    a.duration > LEASE_DURATION_MAX)
		abort();
	n = lease_encode(&a, doc, sizeof(doc));
	if (n < 0)
		return 0;	/* a host that escapes past LEASE_DOC_MAX */
	if (lease_decode(doc, (size_t)n, &b, err, sizeof(err)) == -1 ||
	    strcmp(a.holder, b.holder) != 0 || strcmp(a.host, b.host) != 0 ||
	    a.pid != b.pid || a.generation != b.generation ||
	    a.renewal != b.renewal || a.duration != b.duration ||
	    a.released != b.released)
		abort();
	return 0;
}
