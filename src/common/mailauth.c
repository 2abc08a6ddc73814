/*
 * mailauth.c - the mailbox helper's shared secret and its proof.  See
 * mailauth.h.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "crypto.h"
#include "mailauth.h"

int
mailauth_read_secret(const char *path, uint8_t *secret, size_t *len,
    char *err, size_t errlen)
{
	uint8_t buf[MW_SECRET_MAX + 2];
	size_t n = 0;
	ssize_t r;
	int fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "secret file %s: %s%s", path,
		    strerror(errno), errno == ENOENT ? " (make one with "
		    "gigavault-mailhelper --new-secret)" : "");
		return -1;
	}
	while (n < sizeof(buf) && (r = read(fd, buf + n,
	    sizeof(buf) - n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "secret file %s: %s", path,
			    strerror(errno));
			close(fd);
			crypto_wipe(buf, sizeof(buf));
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n < MW_SECRET_MIN || n > MW_SECRET_MAX) {
		snprintf(err, errlen, "secret file %s: %zu%s bytes, not %d to "
		    "%d (make one with gigavault-mailhelper --new-secret)",
		    path, n, n > MW_SECRET_MAX ? " or more" : "",
		    MW_SECRET_MIN, MW_SECRET_MAX);
		crypto_wipe(buf, sizeof(buf));
		return -1;
	}
	memcpy(secret, buf, n);
	*len = n;
	crypto_wipe(buf, sizeof(buf));
	return 0;
}

int
mailauth_new_secret(const char *path, int force, char *err, size_t errlen)
{
	uint8_t raw[32];
	char hex[2 * sizeof(raw) + 2];
	struct stat st;
	int rc;

	if (!force && lstat(path, &st) == 0) {
		snprintf(err, errlen, "%s exists: keeping it (-f replaces "
		    "it; the agent must then read the new one)", path);
		return -1;
	}
	if (crypto_random(raw, sizeof(raw)) == -1) {
		snprintf(err, errlen, "no random numbers");
		return -1;
	}
	hex_encode(raw, sizeof(raw), hex);
	strcat(hex, "\n");
	rc = atomicfile_write(path, hex, strlen(hex), 0600, err, errlen);
	crypto_wipe(raw, sizeof(raw));
	crypto_wipe(hex, sizeof(hex));
	return rc;
}

void
mailauth_proof(const uint8_t *secret, size_t len, int helper,
    const uint8_t helper_nonce[MW_NONCE_LEN],
    const uint8_t client_nonce[MW_NONCE_LEN], uint8_t proof[MW_PROOF_LEN])
{
	uint8_t msg[6 + 2 * MW_NONCE_LEN];

	_Static_assert(MW_PROOF_LEN == CRYPTO_HASH_LEN, "HMAC-SHA-256");
	memcpy(msg, helper ? "helper" : "client", 6);
	memcpy(msg + 6, helper ? client_nonce : helper_nonce, MW_NONCE_LEN);
	memcpy(msg + 6 + MW_NONCE_LEN, helper ? helper_nonce : client_nonce,
	    MW_NONCE_LEN);
	crypto_hmac(secret, len, msg, sizeof(msg), NULL, 0, proof);
}
