/*
 * blob.h - the client's blob format (doc/protocol.md, "Client blob
 * format"): keyed ids, zstd compression, AES-256-GCM.  The server only
 * ever sees the sealed bytes and the id.
 */
#ifndef GV_BLOB_H
#define GV_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/ids.h"

enum blob_kind {
	BLOB_DATA = 1,		/* a file chunk */
	BLOB_TREE = 2,		/* a directory, tree.h */
	BLOB_META = 3,		/* snapshot metadata (JSON) */
};

struct keys {
	uint8_t	data_key[CRYPTO_KEY_LEN];	/* AES-256-GCM */
	uint8_t	id_key[CRYPTO_KEY_LEN];		/* HMAC-SHA-256 for ids */
};

/* id = HMAC-SHA-256(id key, u8 kind || body). */
void	blob_id(const struct keys *, enum blob_kind, const void *body,
	    size_t len, uint8_t id[BLOB_ID_LEN]);

/*
 * The stored form of body: compressed with zstd at zlevel (0: never)
 * when that makes it smaller (else stored raw), then sealed with
 * aad = id.  *out is
 * malloc'ed (caller frees), *outlen its length.  Returns 0 or -1.
 */
int	blob_seal(const struct keys *, enum blob_kind, const void *body,
	    size_t len, const uint8_t id[BLOB_ID_LEN], int zlevel,
	    uint8_t **out, size_t *outlen);

/*
 * The inverse: authenticate and decrypt (aad = id), check the kind,
 * decompress (refusing more than maxlen bytes), and check that the body
 * hashes to id.  *body is malloc'ed (caller frees).  Returns 0, or -1
 * with the reason in err ("damaged or not ours", "wrong kind", ...).
 */
int	blob_open(const struct keys *, enum blob_kind expect,
	    const uint8_t id[BLOB_ID_LEN], const uint8_t *in, size_t inlen,
	    size_t maxlen, uint8_t **body, size_t *bodylen, char *err,
	    size_t errlen);

#endif
