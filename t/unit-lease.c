/*
 * unit-lease.c - unit tests of server/lease.c's pure parts: the lease
 * document (encode, decode, malformed and oversized ones), the
 * expiry watch on the taker's own clock, lease_init()'s checks, and the
 * holder's validity.  The protocol itself is t/92-lease.t's, against a
 * real radosgw.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lease.h"

#include "tap.h"

static int
dec(const char *s, struct lease_info *i)
{
	char err[256];

	return lease_decode(s, strlen(s), i, err, sizeof(err));
}

int
main(void)
{
	struct lease_info a, b;
	struct lease_watch w;
	struct lease l;
	char doc[LEASE_DOC_MAX + 1], err[256], big[LEASE_DOC_MAX + 64];
	int n;

	memset(&a, 0, sizeof(a));
	strcpy(a.holder, "0123456789abcdef0123456789abcdef");
	strcpy(a.host, "backup-1 \"east\"");
	a.pid = 4242;
	a.generation = 7;
	a.renewal = 3;
	a.duration = 30;
	n = lease_encode(&a, doc, sizeof(doc));
	ok(n > 0 && (size_t)n == strlen(doc), "encode: its length");
	ok(strstr(doc, "\"holder\":\"0123456789abcdef0123456789abcdef\"") !=
	    NULL && strstr(doc, "\"released\":false") != NULL,
	    "encode: holder and released in it");
	ok(lease_decode(doc, (size_t)n, &b, err, sizeof(err)) == 0 &&
	    memcmp(&a, &b, sizeof(a)) == 0, "decode gives it back");
	a.released = 1;
	n = lease_encode(&a, doc, sizeof(doc));
	ok(n > 0 && lease_decode(doc, (size_t)n, &b, err, sizeof(err)) == 0 &&
	    b.released == 1, "released round trip");
	ok(lease_encode(&a, doc, 20) == -1, "encode: too small a buffer");
	strcpy(b.holder, "");
	b.host[0] = '\0';
	ok(lease_encode(&b, doc, sizeof(doc)) == -1, "encode: empty holder");
	strcpy(b.holder, "a/b");
	ok(lease_encode(&b, doc, sizeof(doc)) == -1, "encode: holder with /");

	ok(dec("{\"holder\":\"ab\",\"host\":\"h\",\"pid\":1,"
	    "\"generation\":1,\"renewal\":0,\"duration\":5}", &b) == 0 &&
	    b.released == 0, "decode: released may be missing");
	ok(dec("not json", &b) == -1, "decode: not JSON");
	ok(dec("[1]", &b) == -1, "decode: not an object");
	ok(dec("{\"holder\":\"ab\",\"host\":\"h\",\"pid\":1,"
	    "\"generation\":1,\"duration\":5}", &b) == -1,
	    "decode: renewal missing");
	ok(dec("{\"holder\":\"ab\",\"host\":\"h\",\"pid\":-1,"
	    "\"generation\":1,\"renewal\":0,\"duration\":5}", &b) == -1,
	    "decode: negative pid");
	ok(dec("{\"holder\":\"ab\",\"host\":\"h\",\"pid\":1,"
	    "\"generation\":1,\"renewal\":0,\"duration\":1}", &b) == -1,
	    "decode: duration below the minimum");
	ok(dec("{\"holder\":\"ab\",\"host\":\"h\",\"pid\":1,"
	    "\"generation\":1,\"renewal\":0,\"duration\":3601}", &b) == -1,
	    "decode: duration above the maximum");
	ok(dec("{\"holder\":\"ab\",\"host\":\"h\",\"pid\":1,"
	    "\"generation\":\"1\",\"renewal\":0,\"duration\":5}", &b) == -1,
	    "decode: a count as a string");
	ok(dec("{\"holder\":\"\",\"host\":\"h\",\"pid\":1,"
	    "\"generation\":1,\"renewal\":0,\"duration\":5}", &b) == -1,
	    "decode: empty holder");
	ok(dec("{\"holder\":\"ab\",\"host\":\"h\\u0000x\",\"pid\":1,"
	    "\"generation\":1,\"renewal\":0,\"duration\":5}", &b) == -1,
	    "decode: a NUL in host");
	ok(dec("{\"holder\":\"ab\",\"holder\":\"cd\",\"host\":\"h\","
	    "\"pid\":1,\"generation\":1,\"renewal\":0,\"duration\":5}",
	    &b) == -1, "decode: a key twice");
	ok(dec("{\"holder\":\"ab\",\"host\":\"h\",\"pid\":1,"
	    "\"generation\":1,\"renewal\":0,\"duration\":5,"
	    "\"released\":1}", &b) == -1, "decode: released not a boolean");
	memset(big, ' ', sizeof(big));
	ok(lease_decode(big, sizeof(big), &b, err, sizeof(err)) == -1 &&
	    strstr(err, "more than") != NULL, "decode: oversized, named");
	{
		char h[LEASE_HOLDER_MAX + 200];

		snprintf(h, sizeof(h), "{\"holder\":\"%0*d\",\"host\":\"h\","
		    "\"pid\":1,\"generation\":1,\"renewal\":0,"
		    "\"duration\":5}", LEASE_HOLDER_MAX + 1, 0);
		ok(dec(h, &b) == -1, "decode: holder one too long");
		snprintf(h, sizeof(h), "{\"holder\":\"%0*d\",\"host\":\"h\","
		    "\"pid\":1,\"generation\":1,\"renewal\":0,"
		    "\"duration\":5}", LEASE_HOLDER_MAX, 0);
		ok(dec(h, &b) == 0, "decode: holder of the maximum");
	}

	memset(&w, 0, sizeof(w));
	ok(lease_watch_expired(&w, "e1", 1000, 5000) == 0,
	    "watch: first sight never expired");
	ok(lease_watch_expired(&w, "e1", 5999, 5000) == 0,
	    "watch: same ETag, 4999 ms: not expired");
	ok(lease_watch_expired(&w, "e1", 6000, 5000) == 1,
	    "watch: same ETag, 5000 ms: expired");
	ok(lease_watch_expired(&w, "e2", 7000, 5000) == 0,
	    "watch: a new ETag restarts the count");
	ok(lease_watch_expired(&w, "e2", 11999, 5000) == 0 &&
	    lease_watch_expired(&w, "e2", 12000, 5000) == 1,
	    "watch: counted from the new ETag's first sight");

	ok(lease_init(&l, NULL, "gv/", "abc", "h", 1, 30, err,
	    sizeof(err)) == 0 && strcmp(l.key, "gv/lease") == 0,
	    "init: the key");
	ok(lease_init(&l, NULL, "", "abc", "h", 1, 30, err,
	    sizeof(err)) == 0 && strcmp(l.key, "lease") == 0,
	    "init: empty prefix");
	ok(lease_init(&l, NULL, "gv", "abc", "h", 1, 30, err,
	    sizeof(err)) == -1, "init: a prefix without /");
	ok(lease_init(&l, NULL, "gv/", "abc", "h", 1, 1, err,
	    sizeof(err)) == -1 && strstr(err, "duration") != NULL,
	    "init: duration 1 refused");
	ok(lease_init(&l, NULL, "gv/", "", "h", 1, 30, err,
	    sizeof(err)) == -1, "init: empty holder");
	lease_init(&l, NULL, "gv/", "abc", "h", 1, 30, err, sizeof(err));
	ok(!lease_valid(&l, 0), "valid: not held");
	l.held = 1;
	l.renewed_ms = 100000;
	ok(lease_valid(&l, 129999) && !lease_valid(&l, 130000),
	    "valid: until the duration after the last renewal started");
	ok(lease_renew_due(&l) == 110000, "renew due after a third of it");

	/* Finding 7: a 412 answering our own retried renewal. */
	b = l.me;
	ok(lease_is_ours(&l.me, &b), "is_ours: our own document");
	b.renewal++;
	ok(!lease_is_ours(&l.me, &b), "is_ours: another renewal is not");
	b = l.me;
	b.pid++;
	ok(!lease_is_ours(&l.me, &b), "is_ours: another pid (our standby "
	    "shares the holder) is not");
	b = l.me;
	strcpy(b.host, "other");
	ok(!lease_is_ours(&l.me, &b), "is_ours: another host is not");
	b = l.me;
	b.released = 1;
	ok(!lease_is_ours(&l.me, &b), "is_ours: a released one is not");
	l.renewed_ms = 0;
	ok(lease_renew(&l, err, sizeof(err)) == LEASE_LOST && !l.held &&
	    strstr(err, "not renewed within 30 s") != NULL,
	    "renew after the duration: lost without a request");
	ok(lease_release(&l, err, sizeof(err)) == LEASE_LOST,
	    "release when not held: lost, nothing written");
	return tap_done();
}
