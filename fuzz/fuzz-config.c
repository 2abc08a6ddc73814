/*
 * fuzz-config.c - libFuzzer harness: the daemon's configuration file
 * (server/config.c through libconfuse and common/confread.c).  The
 * input is written to a file and loaded by config_load(), with every
 * check of the options table; a config that loads is freed again.
 */
#include "autoconf.h"

#include <stdint.h>

#include "server/config.h"
#include "tmpfile.h"

#define FUZZ_CONF_MAX	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gv_config *c;
	const char *path;
	char err[1024];

	if (size > FUZZ_CONF_MAX)
		return 0;
	if ((path = fuzz_file("config", data, size)) == NULL)
		abort();
	if ((c = config_load(path, err, sizeof(err))) != NULL)
		config_free(c);
	return 0;
}
