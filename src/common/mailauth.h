/*
 * mailauth.h - the mailbox helper's shared secret: reading the secret
 * file, writing a new one, and the proof both sides compute (the helper
 * src/mailhelper/ and client/mhclient.c).  doc/protocol.md, "Mailbox
 * helper (port 32008)".
 */
#ifndef GV_MAILAUTH_H
#define GV_MAILAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "mailwire.h"

/*
 * Read the secret in path: its bytes, trailing newlines and spaces cut,
 * MW_SECRET_MIN to MW_SECRET_MAX of them, into secret (MW_SECRET_MAX
 * bytes of room), *len their count.  0, or -1 with err naming the file
 * and what is wrong (missing, unreadable, too short, too long).
 */
int	mailauth_read_secret(const char *path, uint8_t *secret, size_t *len,
	    char *err, size_t errlen);
/*
 * Write a new random secret (32 random bytes as 64 hex digits and a
 * newline) to path, mode 0600, replacing it whole (atomicfile.c).  An
 * existing file is kept unless force is set.  0, or -1 with err.
 */
int	mailauth_new_secret(const char *path, int force, char *err,
	    size_t errlen);
/*
 * A side's proof that it has the secret, over both nonces:
 * HMAC-SHA-256(secret, "client" || helper's nonce || client's nonce)
 * for the client (PROOF), HMAC-SHA-256(secret, "helper" || client's
 * nonce || helper's nonce) for the helper (READY).  The labels keep
 * one side's proof from being played back as the other's.
 */
void	mailauth_proof(const uint8_t *secret, size_t len, int helper,
	    const uint8_t helper_nonce[MW_NONCE_LEN],
	    const uint8_t client_nonce[MW_NONCE_LEN],
	    uint8_t proof[MW_PROOF_LEN]);

#endif
