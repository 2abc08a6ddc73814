/*
 * fuzz-keyfile.c - libFuzzer harness: the client's key file
 * (client/keyfile.c).  The input is the file's bytes; keyfile_parse()
 * does every check keyfile_load() makes before scrypt runs (JSON, no
 * unknown member, version, kdf, N, r, p within bounds, salt and sealed
 * keys in hex of their lengths).  scrypt and the seal's opening are
 * OpenSSL's, and too slow to fuzz: not covered.
 */
#include "autoconf.h"

#include <stdint.h>

#include "client/keyfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyfile_params kp;
	char err[256];

	(void)keyfile_parse((const char *)data, size, "fuzz", &kp, err,
	    sizeof(err));
	return 0;
}
