/*
 * keyfile.h - the client's key file: random data and id keys, wrapped
 * with a key derived from a passphrase by scrypt.  JSON, mode 0600.
 */
#ifndef GV_KEYFILE_H
#define GV_KEYFILE_H

#include <stddef.h>

#include "blob.h"

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
int	keyfile_load(const char *path, const char *pass, size_t passlen,
	    struct keys *out, char *err, size_t errlen);

#endif
