/*
 * fuzz-pattern.c - libFuzzer harness: the glob patterns of --exclude
 * and exclude files (client/pattern.c).  The input up to its first NUL
 * is an exclude file, written to a file and read by patterns_add_file();
 * each line after it is a path (made absolute), matched as a file and
 * as a directory.  Besides crashes it checks what the contract says: a
 * path that matches as a file matches as a directory too (only "dir/"
 * patterns tell them apart), and the same question gets the same answer.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/pattern.h"
#include "tmpfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size), *p, *e, *end;
	struct patterns *ps;
	const char *path;
	char err[512], *v;
	size_t plen = nul != NULL ? (size_t)(nul - data) : size;
	int f, d;
	static int locale_set;

	if (!locale_set) {	/* as gigavault does: UTF-8 names */
		patterns_locale();
		locale_set = 1;
	}
	if ((ps = patterns_new()) == NULL)
		return 0;
	if ((path = fuzz_file("pattern", data, plen)) == NULL)
		abort();
	if (patterns_add_file(ps, path, err, sizeof(err)) == -1 &&
	    err[0] == '\0')
		abort();		/* a failure always says why */
	end = data + size;
	for (p = nul != NULL ? nul + 1 : end; p < end; p = e + 1) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			e = end;
		if ((v = malloc((size_t)(e - p) + 2)) == NULL)
			break;
		v[0] = '/';
		memcpy(v + 1, p, (size_t)(e - p));
		v[(e - p) + 1] = '\0';	/* a NUL inside cuts it short */
		f = patterns_match(ps, v, 0);
		d = patterns_match(ps, v, 1);
		if ((f && !d) || f != patterns_match(ps, v, 0))
			abort();
		free(v);
	}
	patterns_free(ps);
	return 0;
}
