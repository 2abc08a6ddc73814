/*
 * fuzz-users.c - libFuzzer harness: the console users' files, read as
 * the UI bridge reads them: the input as DataDir/admins (server/admins.c:
 * names, scrypt parameters, roles, TOTP secrets and steps) and as
 * DataDir/apitokens (server/apitokens.c: ids, scopes, times, hashes,
 * labels).  Nothing is written back for input that does not parse.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>

#include "server/admins.h"
#include "server/apitokens.h"
#include "tmpfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
count(void *arg, const struct admin_info *ai)
{
	(*(size_t *)arg) += ai->role + ai->totp;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path;
	struct apitok *v, t;
	char err[512];
	size_t n, k = 0;

	if ((path = fuzz_file("users", data, size)) == NULL)
		abort();
	(void)admin_count(path);
	(void)admin_role_of(path, "alice");
	(void)admin_list(path, count, &k, err, sizeof(err));
	if (apitok_list(path, NULL, &v, &n, err, sizeof(err)) == 0)
		free(v);
	/* Not a token of any file (its hash is no line's): never a write. */
	(void)apitok_check(path, "gvt_0000000000000000000000000000000000000000"
	    "000000000000000000000000", 0, &t);
	return 0;
}
