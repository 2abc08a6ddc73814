/*
 * fuzz-blob.c - libFuzzer harness: blob headers (client/blob.c).  A
 * blob's plaintext (kind byte, compression byte, body raw or a zstd
 * frame) is only reached after AES-256-GCM authenticates it, which a
 * fuzzer cannot forge; so the harness seals the input with a fixed key
 * and hands the sealed blob to blob_open(), which checks the kind, the
 * compression, the zstd frame's stated size against the limit, and
 * decompresses.  The first input byte picks the kind blob_open() expects
 * (1..3); the id is the one a stored (uncompressed) body would have, so
 * such blobs open all the way.
 *
 * Not covered: the store's record headers (server/store.c), read from
 * the server's own pack files by hdr_read(), which reads and parses in
 * one function.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/blob.h"
#include "common/crypto.h"

#define FUZZ_BODY_MAX	(1u << 20)	/* the largest body opened */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct keys k = {
		.data_key = { 1, 2, 3, 4, 5, 6, 7, 8 },
		.id_key = { 8, 7, 6, 5, 4, 3, 2, 1 },
	};
	uint8_t id[BLOB_ID_LEN], *sealed, *body;
	enum blob_kind kind;
	size_t bodylen;
	char err[256];

	if (size < 1 || size > 4 * FUZZ_BODY_MAX)
		return 0;
	kind = (enum blob_kind)(data[0] % 3 + 1);
	data++;
	size--;
	if (size >= 2)
		blob_id(&k, kind, data + 2, size - 2, id);
	else
		memset(id, 0, sizeof(id));
	if ((sealed = malloc(size + CRYPTO_SEAL_OVERHEAD)) == NULL)
		return 0;
	if (crypto_seal(k.data_key, id, BLOB_ID_LEN, data, size, sealed) ==
	    0 && blob_open(&k, kind, id, sealed, size + CRYPTO_SEAL_OVERHEAD,
	    FUZZ_BODY_MAX, &body, &bodylen, err, sizeof(err)) == 0)
		free(body);
	free(sealed);
	return 0;
}
