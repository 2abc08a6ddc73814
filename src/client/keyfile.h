/*
 * keyfile.h - the client's key file: random data and id keys, wrapped
 * with a key derived from a passphrase by scrypt.  JSON, mode 0600.
 */
#ifndef GV_KEYFILE_H
#define GV_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "blob.h"

#define KF_SALT_LEN	32
#define KF_WRAPPED_LEN	(2 * CRYPTO_KEY_LEN + CRYPTO_SEAL_OVERHEAD)
#define KF_MAX_BYTES	4096	/* a key file is ~350 bytes */

/* What a key file states: scrypt's parameters and salt, the sealed keys. */
struct keyfile_params {
	uint64_t	 N, r, p;
	uint8_t		 salt[KF_SALT_LEN];
	uint8_t		 wrapped[KF_WRAPPED_LEN];
};

/*
 * Create path with fresh random keys wrapped under pass.  Refuses to
 * replace an existing file.  Returns 0, or -1 with a message in err.
 */
int	keyfile_create(const char *path, const char *pass, size_t passlen,
	    char *err, size_t errlen);

/*
 * Unwrap the keys of path with pass.  Returns 0, or -1 with a message in
 * err ("wrong passphrase or damaged key file", "cannot read ...", ...).
 */
/*
 * Parse len bytes of a key file (named path in messages) into *kp: JSON,
 * no unknown member, version 1, kdf scrypt, N, r and p within what
 * keyfile_load() accepts, salt and keys hex of their lengths.  Returns
 * 0, or -1 with a message in err.  Runs no scrypt: the fuzzing harness
 * (fuzz/fuzz-keyfile.c) calls it on any bytes.
 */
int	keyfile_parse(const char *buf, size_t len, const char *path,
	    struct keyfile_params *kp, char *err, size_t errlen);
int	keyfile_load(const char *path, const char *pass, size_t passlen,
	    struct keys *out, char *err, size_t errlen);

#endif
