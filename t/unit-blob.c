/*
 * unit-blob.c - TAP unit tests of src/client/blob.c: every kind round
 * trips; compressible bodies shrink and incompressible ones are stored
 * raw; a flipped byte, a wrong key, id or kind, a truncation, a body
 * over maxlen and crafted zstd frames are all refused.  Seal throughput
 * is printed as a comment, never asserted.  Run by t/00-unit-blob.t.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zstd.h>

#include "client/blob.h"
#include "tap.h"


static struct keys k;
static char err[256];

/* Text-like bytes that zstd shrinks: words from a small vocabulary. */
static void
fill_text(uint8_t *p, size_t len, uint32_t seed)
{
	static const char *const words[] = {
		"backup ", "chunk ", "the ", "server ", "of ", "restore ",
		"snapshot ", "and ", "tree\n", "blob ", "0x1f3a ", "key ",
	};
	size_t i = 0;

	while (i < len) {
		const char *w;
		size_t n;

		seed = seed * 1103515245 + 12345;
		w = words[(seed >> 16) % 12];
		n = strlen(w);
		if (n > len - i)
			n = len - i;
		memcpy(p + i, w, n);
		i += n;
	}
}

/* Seal then open; 1 when the body comes back equal. */
static int
roundtrip(enum blob_kind kind, const uint8_t *body, size_t len, int zlevel,
    size_t *sealedlen)
{
	uint8_t id[BLOB_ID_LEN], *s, *b;
	size_t slen, blen;
	char e[256];
	int r;

	blob_id(&k, kind, body, len, id);
	if (blob_seal(&k, kind, body, len, id, zlevel, &s, &slen) == -1)
		return 0;
	if (sealedlen != NULL)
		*sealedlen = slen;
	r = blob_open(&k, kind, id, s, slen, len, &b, &blen, e,
	    sizeof(e)) == 0 && blen == len &&
	    (len == 0 || memcmp(b, body, len) == 0);
	free(s);
	free(b);
	return r;
}

/* Seal a hand-made plaintext (kind, compression, body) under id. */
static uint8_t *
seal_raw(const uint8_t id[BLOB_ID_LEN], const uint8_t *pt, size_t ptlen,
    size_t *outlen)
{
	uint8_t *out = malloc(ptlen + CRYPTO_SEAL_OVERHEAD);

	crypto_seal(k.data_key, id, BLOB_ID_LEN, pt, ptlen, out);
	*outlen = ptlen + CRYPTO_SEAL_OVERHEAD;
	return out;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

static int
refused(const uint8_t id[BLOB_ID_LEN], enum blob_kind kind,
    const uint8_t *s, size_t slen, size_t maxlen, const char *why)
{
	uint8_t *b = (uint8_t *)"x";
	size_t blen = 1;
	int r;

	err[0] = '\0';
	r = blob_open(&k, kind, id, s, slen, maxlen, &b, &blen, err,
	    sizeof(err));
	if (r == 0)
		free(b);
	return r == -1 && b == NULL && blen == 0 &&
	    strstr(err, why) != NULL;
}

static void
test_roundtrip(void)
{
	static const enum blob_kind kinds[] = { BLOB_DATA, BLOB_TREE,
	    BLOB_META };
	size_t len = 300000, slen;
	uint8_t *text = malloc(len), *rnd = malloc(len);

	fill_text(text, len, 1);
	crypto_random(rnd, len);
	for (size_t i = 0; i < 3; i++) {
		ok(roundtrip(kinds[i], text, len, 1, &slen) && slen < len / 2,
		    "text round trips and shrinks (level 1)");
		ok(roundtrip(kinds[i], text, len, 3, NULL),
		    "text round trips (level 3)");
		ok(roundtrip(kinds[i], rnd, len, 1, &slen) &&
		    slen == len + 2 + CRYPTO_SEAL_OVERHEAD,
		    "random bytes round trip, stored raw");
	}
	ok(roundtrip(BLOB_DATA, text, 0, 1, &slen) &&
	    slen == 2 + CRYPTO_SEAL_OVERHEAD, "an empty body round trips");
	ok(roundtrip(BLOB_DATA, text, 1, 1, NULL), "a 1-byte body round trips");
	ok(roundtrip(BLOB_DATA, text, len, 0, &slen) &&
	    slen == len + 2 + CRYPTO_SEAL_OVERHEAD,
	    "level 0 stores even compressible text raw");
	ok(roundtrip(BLOB_DATA, text, 100, -5, NULL) &&
	    roundtrip(BLOB_DATA, text, 4096, 19, NULL),
	    "fast and high zstd levels round trip");
	free(text);
	free(rnd);
}

static void
test_refusals(void)
{
	size_t len = 100000, slen, i, plen;
	uint8_t *text = malloc(len), *s, *copy, *b;
	uint8_t id[BLOB_ID_LEN], id2[BLOB_ID_LEN], *pt;
	struct keys good = k;
	size_t blen;
	int all;

	fill_text(text, len, 2);
	blob_id(&k, BLOB_DATA, text, len, id);
	ok(blob_seal(&k, BLOB_DATA, text, len, id, 1, &s, &slen) == 0,
	    "seal");
	copy = malloc(slen);

	all = 1;
	for (i = 0; i < slen; i += i < 64 ? 1 : 997) {
		memcpy(copy, s, slen);
		copy[i] ^= 0x04;
		all &= refused(id, BLOB_DATA, copy, slen, len, "damaged");
	}
	memcpy(copy, s, slen);
	copy[slen - 1] ^= 0x80;
	all &= refused(id, BLOB_DATA, copy, slen, len, "damaged");
	ok(all, "a flipped bit anywhere (nonce, ciphertext, tag) is refused");

	all = 1;
	for (i = 0; i < slen; i += i < 100 ? 1 : 1009)
		all &= refused(id, BLOB_DATA, s, i, len, "damaged");
	all &= refused(id, BLOB_DATA, s, slen - 1, len, "damaged");
	ok(all, "every truncation is refused");

	k.data_key[0] ^= 1;
	ok(refused(id, BLOB_DATA, s, slen, len, "not ours"),
	    "a wrong data key is refused");
	k = good;

	/* Right data key, wrong id key: opens, but the id does not match. */
	k.id_key[5] ^= 1;
	ok(refused(id, BLOB_DATA, s, slen, len, "does not match its id"),
	    "a wrong id key is refused after decompression");
	k = good;

	memcpy(id2, id, sizeof(id2));
	id2[31] ^= 1;
	ok(refused(id2, BLOB_DATA, s, slen, len, "damaged"),
	    "a wrong id is refused");
	ok(refused(id, BLOB_TREE, s, slen, len, "wrong kind"),
	    "a data blob opened as a tree is refused (wrong kind)");
	ok(refused(id, 7, s, slen, len, "unknown blob kind"),
	    "an unknown expected kind is refused");
	ok(refused(id, BLOB_DATA, s, slen, len - 1, "too large"),
	    "maxlen is enforced on a compressed body");
	ok(blob_open(&k, BLOB_DATA, id, s, slen, len, &b, &blen, err,
	    sizeof(err)) == 0 && blen == len,
	    "maxlen equal to the body is fine");
	free(b);
	free(s);
	free(copy);

	/* Raw body over maxlen. */
	crypto_random(text, 5000);
	blob_id(&k, BLOB_META, text, 5000, id);
	blob_seal(&k, BLOB_META, text, 5000, id, 1, &s, &slen);
	ok(slen == 5000 + 2 + CRYPTO_SEAL_OVERHEAD &&
	    refused(id, BLOB_META, s, slen, 4999, "too large"),
	    "maxlen is enforced on a raw body");
	free(s);

	/* Sealed under an id that is not the body's. */
	blob_id(&k, BLOB_DATA, "other", 5, id);
	blob_seal(&k, BLOB_DATA, text, 100, id, 1, &s, &slen);
	ok(refused(id, BLOB_DATA, s, slen, len, "does not match its id"),
	    "a body that does not hash to its id is refused");
	free(s);

	/* Hand-made plaintexts, sealed with the right key. */
	fill_text(text, len, 3);
	pt = malloc(2 + ZSTD_compressBound(len) * 2);
	blob_id(&k, BLOB_DATA, text, len, id);

	/* A zstd frame that does not state its size. */
	{
		ZSTD_CCtx *c = ZSTD_createCCtx();
		ZSTD_outBuffer o = { pt + 2, ZSTD_compressBound(len), 0 };
		ZSTD_inBuffer in = { text, len, 0 };

		ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
		ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
		ZSTD_freeCCtx(c);
		pt[0] = BLOB_DATA;
		pt[1] = 1;
		s = seal_raw(id, pt, 2 + o.pos, &slen);
		ok(refused(id, BLOB_DATA, s, slen, len, "bad zstd frame"),
		    "a zstd frame without its content size is refused");
		free(s);
	}

	plen = ZSTD_compress(pt + 2, ZSTD_compressBound(len), text, len, 1);
	pt[0] = BLOB_DATA;
	pt[1] = 1;
	s = seal_raw(id, pt, 2 + plen, &slen);
	ok(blob_open(&k, BLOB_DATA, id, s, slen, len, &b, &blen, err,
	    sizeof(err)) == 0 && blen == len && memcmp(b, text, len) == 0,
	    "a hand-made zstd blob opens");
	free(b);
	free(s);

	/* Two frames: the size of the first says nothing of the second. */
	memcpy(pt + 2 + plen, pt + 2, plen);
	s = seal_raw(id, pt, 2 + 2 * plen, &slen);
	ok(refused(id, BLOB_DATA, s, slen, 2 * len, "bad zstd frame"),
	    "a second zstd frame is refused");
	free(s);

	/*
	 * A frame whose header lies about its size: the content size is
	 * a 4-byte little-endian field of the header; patch it.
	 */
	{
		/* A frame header is at most 18 bytes. */
		size_t hlen = plen < 18 ? plen : 18, at;
		uint8_t le[4];
		uint32_t lie;

		put_le32(le, (uint32_t)len);
		for (at = 5; at + 4 <= hlen; at++)
			if (memcmp(pt + 2 + at, le, 4) == 0)
				break;
		ok(at + 4 <= hlen, "(setup) the content size is in the header");
		if (at + 4 > hlen)
			at = 5;
		lie = (uint32_t)len * 100;
		put_le32(pt + 2 + at, lie);
		s = seal_raw(id, pt, 2 + plen, &slen);
		ok(refused(id, BLOB_DATA, s, slen, len, "too large"),
		    "a frame claiming more than maxlen is refused");
		ok(refused(id, BLOB_DATA, s, slen, lie, "damaged"),
		    "a frame claiming more than it holds is refused");
		free(s);
		lie = (uint32_t)len - 1;
		put_le32(pt + 2 + at, lie);
		s = seal_raw(id, pt, 2 + plen, &slen);
		ok(refused(id, BLOB_DATA, s, slen, len, "damaged"),
		    "a frame claiming less than it holds is refused");
		free(s);
	}

	pt[0] = BLOB_DATA;
	pt[1] = 2;
	memcpy(pt + 2, text, 100);
	blob_id(&k, BLOB_DATA, text, 100, id);
	s = seal_raw(id, pt, 102, &slen);
	ok(refused(id, BLOB_DATA, s, slen, len, "unknown compression"),
	    "an unknown compression byte is refused");
	free(s);

	pt[0] = 9;
	pt[1] = 0;
	s = seal_raw(id, pt, 102, &slen);
	ok(refused(id, BLOB_DATA, s, slen, len, "wrong kind"),
	    "an unknown stored kind is refused");
	free(s);

	ok(blob_seal(&k, 0, text, 10, id, 1, &s, &slen) == -1 && s == NULL,
	    "sealing an unknown kind fails");
	free(pt);
	free(text);
}

/* Round trips on another thread (its zstd contexts are its own). */
static void *
thread_main(void *arg)
{
	uint8_t *text = malloc(200000);
	int *good = arg;

	fill_text(text, 200000, 5);
	*good = 1;
	for (int i = 0; i < 20; i++) {
		text[i * 7] ^= 1;
		*good &= roundtrip(BLOB_DATA, text, 200000, 1 + i % 3, NULL);
	}
	free(text);
	return NULL;
}

static void
test_threads(void)
{
	pthread_t th[4];
	int good[4], all = 1;

	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, thread_main, &good[i]) != 0) {
			ok(0, "four threads seal and open at once");
			return;
		}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		all &= good[i];
	}
	ok(all, "four threads seal and open at once");
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seal throughput over 64 MiB of text in 512 KiB bodies. */
static void
bench(int zlevel, const char *what, int random)
{
	size_t chunk = 512 * 1024, total = 64u << 20, in = 0, out = 0;
	uint8_t *body = malloc(chunk), id[BLOB_ID_LEN], *s;
	double t0, secs;

	if (random)
		crypto_random(body, chunk);
	else
		fill_text(body, chunk, 4);
	t0 = now();
	for (size_t done = 0; done < total; done += chunk) {
		size_t slen;

		body[done / chunk % chunk] ^= 1;
		blob_id(&k, BLOB_DATA, body, chunk, id);
		if (blob_seal(&k, BLOB_DATA, body, chunk, id, zlevel, &s,
		    &slen) == 0) {
			in += chunk;
			out += slen;
			free(s);
		}
	}
	secs = now() - t0;
	printf("# seal (id + zstd -%d + AES-GCM), %s: %.0f MB/s, "
	    "ratio %.2f\n", zlevel, what, (double)in / 1e6 / secs,
	    (double)out / (double)in);
	free(body);
}

int
main(int argc, char **argv)
{
	crypto_random(&k, sizeof(k));
	test_roundtrip();
	test_refusals();
	test_threads();
	if (argc > 1 && strcmp(argv[1], "-b") == 0) {
		bench(1, "text", 0);
		bench(3, "text", 0);
		bench(1, "random", 1);
		bench(3, "random", 1);
	} else
		bench(1, "text", 0);
	return tap_done();
}
