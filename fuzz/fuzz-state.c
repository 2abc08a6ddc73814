/*
 * fuzz-state.c - libFuzzer harness: the client's state file
 * (client/state.c).  The input is written to a file and read back by
 * client_state_read(), as the client reads StateFile: JSON with the
 * server, its id, the client's name and secret, the TLS pin.
 */
#include "autoconf.h"

#include <stdint.h>

#include "client/state.h"
#include "tmpfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_state st;
	const char *path;
	char err[512];

	if ((path = fuzz_file("state", data, size)) == NULL)
		abort();
	(void)client_state_read(path, &st, err, sizeof(err));
	return 0;
}
