/*
 * blob.c - seal and open the client's blobs: keyed id, zstd, AES-256-GCM
 * (doc/protocol.md, "Client blob format").  See blob.h.
 *
 * Stored blob = crypto_seal(data key, aad = id,
 *     u8 kind || u8 compression (0 none, 1 zstd) || body).
 *
 * zstd contexts are kept one per thread (the backup runs a pool of
 * sealing threads), created on first use and freed when the thread
 * exits; creating a context per blob would cost a large allocation and
 * table initialisation per chunk.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "blob.h"

/* A blob's id is a keyed SHA-256 (crypto_hmac) of its plaintext. */
_Static_assert(BLOB_ID_LEN == CRYPTO_HASH_LEN, "blob ids are HMACs");

#define COMP_NONE	0
#define COMP_ZSTD	1
#define HDR_LEN		2	/* kind, compression */

struct zctx {
	ZSTD_CCtx	*c;
	ZSTD_DCtx	*d;
};

static pthread_key_t	zkey;
static pthread_once_t	zonce = PTHREAD_ONCE_INIT;
static int		zkey_ok;

static void
zctx_free(void *arg)
{
	struct zctx *z = arg;

	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

static void
zkey_init(void)
{
	zkey_ok = pthread_key_create(&zkey, zctx_free) == 0;
}

/* This thread's contexts, or NULL when memory runs out. */
static struct zctx *
zctx_get(void)
{
	struct zctx *z;

	if (pthread_once(&zonce, zkey_init) != 0 || !zkey_ok)
		return NULL;
	if ((z = pthread_getspecific(zkey)) != NULL)
		return z;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	if ((z->c = ZSTD_createCCtx()) == NULL ||
	    (z->d = ZSTD_createDCtx()) == NULL ||
	    pthread_setspecific(zkey, z) != 0) {
		zctx_free(z);
		return NULL;
	}
	return z;
}

static int
kind_ok(int kind)
{
	return kind == BLOB_DATA || kind == BLOB_TREE || kind == BLOB_META;
}

void
blob_id(const struct keys *k, enum blob_kind kind, const void *body,
    size_t len, uint8_t id[BLOB_ID_LEN])
{
	uint8_t kb = (uint8_t)kind;

	crypto_hmac(k->id_key, sizeof(k->id_key), &kb, 1, body, len, id);
}

/*
 * zlevel 0 stores the body uncompressed; others are passed to zstd as
 * they are: 1..19 (22), negative for its fast levels.  Compression is tried once with an
 * output buffer one byte shorter than the body, so zstd gives up as soon
 * as the result could not be smaller; the body is then stored raw.
 */
int
blob_seal(const struct keys *k, enum blob_kind kind, const void *body,
    size_t len, const uint8_t id[BLOB_ID_LEN], int zlevel, uint8_t **out,
    size_t *outlen)
{
	struct zctx *z;
	uint8_t *pt, *sealed;
	size_t n = 0, ptlen;

	*out = NULL;
	*outlen = 0;
	if (!kind_ok(kind) || len > 0x7fffffff - HDR_LEN -
	    CRYPTO_SEAL_OVERHEAD)
		return -1;
	if ((pt = malloc(HDR_LEN + len)) == NULL)
		return -1;
	pt[0] = (uint8_t)kind;
	pt[1] = COMP_NONE;
	if (len > 1 && zlevel != 0) {
		if ((z = zctx_get()) == NULL) {
			free(pt);
			return -1;
		}
		n = ZSTD_compressCCtx(z->c, pt + HDR_LEN, len - 1, body, len,
		    zlevel);
		if (ZSTD_isError(n))
			n = 0;	/* not smaller (or failed): store raw */
	}
	if (n > 0)
		pt[1] = COMP_ZSTD;
	else if (len > 0) {
		memcpy(pt + HDR_LEN, body, len);
		n = len;
	}
	ptlen = HDR_LEN + n;
	if ((sealed = malloc(ptlen + CRYPTO_SEAL_OVERHEAD)) == NULL) {
		free(pt);
		return -1;
	}
	if (crypto_seal(k->data_key, id, BLOB_ID_LEN, pt, ptlen, sealed)
	    == -1) {
		free(pt);
		free(sealed);
		return -1;
	}
	free(pt);
	*out = sealed;
	*outlen = ptlen + CRYPTO_SEAL_OVERHEAD;
	return 0;
}

static const char *
kind_name(int kind)
{
	switch (kind) {
	case BLOB_DATA:	return "data";
	case BLOB_TREE:	return "tree";
	case BLOB_META:	return "meta";
	default:	return "unknown";
	}
}

int
blob_open(const struct keys *k, enum blob_kind expect,
    const uint8_t id[BLOB_ID_LEN], const uint8_t *in, size_t inlen,
    size_t maxlen, uint8_t **body, size_t *bodylen, char *err,
    size_t errlen)
{
	struct zctx *z;
	uint8_t *pt = NULL, *b = NULL, check[BLOB_ID_LEN];
	unsigned long long fcs;
	size_t ptlen, clen, n;

	*body = NULL;
	*bodylen = 0;
	if (!kind_ok(expect)) {
		snprintf(err, errlen, "unknown blob kind %d", (int)expect);
		return -1;
	}
	if (inlen < CRYPTO_SEAL_OVERHEAD + HDR_LEN) {
		snprintf(err, errlen, "damaged or not ours (%zu bytes is too "
		    "short for a blob)", inlen);
		return -1;
	}
	ptlen = inlen - CRYPTO_SEAL_OVERHEAD;
	clen = ptlen - HDR_LEN;
	if ((pt = malloc(ptlen)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (crypto_open(k->data_key, id, BLOB_ID_LEN, in, inlen, pt) == -1) {
		snprintf(err, errlen, "damaged or not ours (authentication "
		    "failed)");
		goto fail;
	}
	if (pt[0] != expect) {
		snprintf(err, errlen, "wrong kind (%s blob, expected %s)",
		    kind_name(pt[0]), kind_name(expect));
		goto fail;
	}
	switch (pt[1]) {
	case COMP_NONE:
		if (clen > maxlen) {
			snprintf(err, errlen, "too large (%zu bytes, at most "
			    "%zu)", clen, maxlen);
			goto fail;
		}
		memmove(pt, pt + HDR_LEN, clen);
		b = pt;
		pt = NULL;
		n = clen;
		break;
	case COMP_ZSTD:
		/*
		 * The frame must state its size, which bounds the output
		 * before anything is allocated; it must be the only frame;
		 * decompression into exactly that many bytes must fill them.
		 */
		fcs = ZSTD_getFrameContentSize(pt + HDR_LEN, clen);
		if (fcs == ZSTD_CONTENTSIZE_UNKNOWN ||
		    fcs == ZSTD_CONTENTSIZE_ERROR ||
		    ZSTD_findFrameCompressedSize(pt + HDR_LEN, clen) != clen) {
			snprintf(err, errlen, "damaged (bad zstd frame)");
			goto fail;
		}
		if (fcs > maxlen) {
			snprintf(err, errlen, "too large (%llu bytes, at most "
			    "%zu)", fcs, maxlen);
			goto fail;
		}
		if ((z = zctx_get()) == NULL ||
		    (b = malloc(fcs > 0 ? (size_t)fcs : 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		n = ZSTD_decompressDCtx(z->d, b, (size_t)fcs, pt + HDR_LEN,
		    clen);
		if (ZSTD_isError(n) || n != fcs) {
			snprintf(err, errlen, "damaged (zstd: %s)",
			    ZSTD_isError(n) ? ZSTD_getErrorName(n) :
			    "short output");
			goto fail;
		}
		free(pt);
		pt = NULL;
		break;
	default:
		snprintf(err, errlen, "damaged (unknown compression %u)",
		    pt[1]);
		goto fail;
	}
	blob_id(k, expect, b, n, check);
	if (!crypto_equal(check, id, BLOB_ID_LEN)) {
		snprintf(err, errlen, "damaged or not ours (content does not "
		    "match its id)");
		goto fail;
	}
	*body = b;
	*bodylen = n;
	return 0;
fail:
	free(pt);
	free(b);
	return -1;
}
