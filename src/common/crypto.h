/*
 * crypto.h - keys, key derivation, authenticated encryption and keyed
 * hashes.  With tls.c (later) the only file that calls OpenSSL.
 *
 * All functions are thread-safe (OpenSSL 3 contexts are per call).
 * Buffers are the caller's; nothing returned needs freeing.
 */
#ifndef GV_CRYPTO_H
#define GV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN		32	/* AES-256 and HMAC keys */
#define CRYPTO_HASH_LEN		32	/* SHA-256, HMAC-SHA-256 */
#define CRYPTO_NONCE_LEN	12	/* AES-GCM nonce */
#define CRYPTO_TAG_LEN		16	/* AES-GCM tag */
#define CRYPTO_SEAL_OVERHEAD	(CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)

/* Fill buf with len bytes from the system's CSPRNG.  Returns 0 or -1. */
int	crypto_random(void *buf, size_t len);

/*
 * scrypt (RFC 7914) of pass with salt into out[outlen].  N, r, p as in
 * the RFC; memory used is about 128 * N * r bytes.  Returns 0 or -1
 * (bad parameters, out of memory).
 */
int	crypto_scrypt(const char *pass, size_t passlen, const uint8_t *salt,
	    size_t saltlen, uint64_t N, uint64_t r, uint64_t p, uint8_t *out,
	    size_t outlen);

/*
 * AES-256-GCM with a fresh random nonce.  out receives
 * nonce || ciphertext || tag, i.e. len + CRYPTO_SEAL_OVERHEAD bytes;
 * out may not overlap in.  aad (may be NULL when aadlen is 0) is
 * authenticated, not stored.  Returns 0 or -1.
 */
int	crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad,
	    size_t aadlen, const void *in, size_t len, uint8_t *out);

/*
 * The inverse of crypto_seal(): in is len bytes (at least
 * CRYPTO_SEAL_OVERHEAD); out receives len - CRYPTO_SEAL_OVERHEAD bytes.
 * Returns 0, or -1 when the input is too short or fails authentication
 * (wrong key, wrong aad, damaged bytes): nothing in out may then be used.
 */
int	crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad,
	    size_t aadlen, const uint8_t *in, size_t len, uint8_t *out);

/* HMAC-SHA-256 over the concatenation a || b (b may be NULL, blen 0). */
void	crypto_hmac(const uint8_t *key, size_t keylen, const void *a,
	    size_t alen, const void *b, size_t blen,
	    uint8_t out[CRYPTO_HASH_LEN]);

/* SHA-256 of len bytes. */
void	crypto_sha256(const void *p, size_t len, uint8_t out[CRYPTO_HASH_LEN]);

/* Constant-time comparison: 1 when equal, else 0. */
int	crypto_equal(const void *a, const void *b, size_t len);

/* Overwrite len bytes in a way the compiler keeps. */
void	crypto_wipe(void *p, size_t len);

/*
 * A one-time enrollment token: nbytes random bytes as lowercase hex in
 * hex (2 * nbytes + 1 bytes), and in hash the SHA-256 of that text (what
 * the catalog keeps).  Returns 0 or -1 (no random numbers).
 */
int	crypto_token(char *hex, size_t nbytes, uint8_t hash[CRYPTO_HASH_LEN]);

/* Lowercase hex of len bytes into out (2 * len + 1 bytes, NUL-terminated). */
void	hex_encode(const uint8_t *p, size_t len, char *out);
/* Parse exactly 2 * len hex digits.  Returns 0 or -1. */
int	hex_decode(const char *s, uint8_t *out, size_t len);

#endif
