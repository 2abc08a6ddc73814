/*
 * fuzz-objstore.c - libFuzzer harness: what the server reads back from
 * an S3 bucket besides packs (issue 21): bucket.json, through
 * packstore_meta_server_id(), and a journal segment object, through
 * journal_segment_check().  The input goes whole to both.  A server id
 * found must be 32 lowercase hex digits; a segment accepted must be
 * exactly the header, the 4-byte length, that many bytes and the sum.
 *
 * Not covered: packs (store_scan() reads the same records from a file
 * as from the bucket: fuzz-blob.c), the requests (s3.c, fuzz-s3xml.c).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/journal.h"
#include "server/packstore.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hex[33];
	size_t len;

	memset(hex, 'x', sizeof(hex));
	if (packstore_meta_server_id((const char *)data, size, hex) == 0) {
		if (hex[32] != '\0' || strspn(hex, "0123456789abcdef") != 32)
			abort();
	}
	if (journal_segment_check(data, size, &len) == 0) {
		if (len < 1 || len > JOURNAL_REC_MAX ||
		    size != JOURNAL_HDR_LEN + 4 + len + JOURNAL_SUM_LEN)
			abort();
	}
	return 0;
}
