/*
 * fuzz-sync.c - libFuzzer harness: the parsers of server/sync.c, which
 * read the target file (an administrator's) and PREFIX/sync-state (an
 * object of a bucket others may write to).  The input goes whole to
 * sync_state_parse() (NUL bytes included: it must refuse them) and, cut
 * at its first NUL, to sync_target_parse(); each result is checked
 * against the limits the header promises.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/sync.h"

#define SRC	"00112233445566778899aabbccddeeff"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sync_target t;
	char err[512], *text;
	size_t nj, np, n;

	if (size > SYNC_STATE_MAX)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (sync_state_parse(text, size, SRC, &nj, &np, err,
	    sizeof(err)) == 0 && (memchr(data, '\0', size) != NULL ||
	    nj + np > size / 8))
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	n = strlen(text);
	if (n <= SYNC_TARGET_MAX && sync_target_parse("f", text, &t, err,
	    sizeof(err)) == 0) {
		if (t.endpoint[0] == '\0' || t.bucket[0] == '\0' ||
		    t.cred_file[0] == '\0' ||
		    strlen(t.prefix) >= sizeof(t.prefix) ||
		    (t.prefix[0] != '\0' &&
		    t.prefix[strlen(t.prefix) - 1] != '/'))
			abort();
	}
	free(text);
	return 0;
}
