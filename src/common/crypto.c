/*
 * crypto.c - OpenSSL behind a small interface.  See crypto.h.
 */
#include "autoconf.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "crypto.h"

int
crypto_random(void *buf, size_t len)
{
	return len > 0x7fffffff || RAND_bytes(buf, (int)len) != 1 ? -1 : 0;
}

int
crypto_scrypt(const char *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, uint64_t N, uint64_t r, uint64_t p, uint8_t *out,
    size_t outlen)
{
	/* Allow what the parameters need, plus slack. */
	uint64_t maxmem = 128 * N * r + (1u << 20);

	if (N == 0 || r == 0 || p == 0 || r > (1u << 20) ||
	    N > (uint64_t)1 << 30)
		return -1;
	return EVP_PBE_scrypt(pass, passlen, salt, saltlen, N, r, p, maxmem,
	    out, outlen) == 1 ? 0 : -1;
}

int
crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad,
    size_t aadlen, const void *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t *nonce = out, *ct = out + CRYPTO_NONCE_LEN;
	int n, ok = 0;

	if (len > 0x7fffffff || aadlen > 0x7fffffff ||
	    crypto_random(nonce, CRYPTO_NONCE_LEN) == -1 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    (aadlen == 0 || EVP_EncryptUpdate(ctx, NULL, &n, aad,
	    (int)aadlen) == 1) &&
	    EVP_EncryptUpdate(ctx, ct, &n, in, (int)len) == 1 &&
	    EVP_EncryptFinal_ex(ctx, ct + n, &n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN,
	    ct + len) == 1)
		ok = 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad,
    size_t aadlen, const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	const uint8_t *nonce = in, *ct = in + CRYPTO_NONCE_LEN;
	size_t ctlen;
	int n, ok = 0;

	if (len < CRYPTO_SEAL_OVERHEAD || len > 0x7fffffff ||
	    aadlen > 0x7fffffff)
		return -1;
	ctlen = len - CRYPTO_SEAL_OVERHEAD;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    (aadlen == 0 || EVP_DecryptUpdate(ctx, NULL, &n, aad,
	    (int)aadlen) == 1) &&
	    EVP_DecryptUpdate(ctx, out, &n, ct, (int)ctlen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN,
	    (void *)(ct + ctlen)) == 1 &&
	    EVP_DecryptFinal_ex(ctx, out + n, &n) == 1)
		ok = 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		crypto_wipe(out, ctlen);
	return ok ? 0 : -1;
}

void
crypto_hmac(const uint8_t *key, size_t keylen, const void *a, size_t alen,
    const void *b, size_t blen, uint8_t out[CRYPTO_HASH_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
		OSSL_PARAM_construct_end()
	};
	size_t outl = 0;

	if (ctx == NULL || EVP_MAC_init(ctx, key, keylen, params) != 1 ||
	    EVP_MAC_update(ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_MAC_update(ctx, b, blen) != 1) ||
	    EVP_MAC_final(ctx, out, &outl, CRYPTO_HASH_LEN) != 1 ||
	    outl != CRYPTO_HASH_LEN)
		OPENSSL_die("HMAC-SHA-256 failed", __FILE__, __LINE__);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

void
crypto_sha256(const void *p, size_t len, uint8_t out[CRYPTO_HASH_LEN])
{
	SHA256(p, len, out);
}

int
crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void
crypto_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

void
hex_encode(const uint8_t *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *s, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[2 * i] == '\0' || (hi = nibble(s[2 * i])) < 0 ||
		    (lo = nibble(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2 * len] == '\0' ? 0 : -1;
}

int
crypto_token(char *hex, size_t nbytes, uint8_t hash[CRYPTO_HASH_LEN])
{
	uint8_t raw[64];

	if (nbytes > sizeof(raw) || crypto_random(raw, nbytes) == -1)
		return -1;
	hex_encode(raw, nbytes, hex);
	crypto_wipe(raw, sizeof(raw));
	crypto_sha256(hex, strlen(hex), hash);
	return 0;
}
