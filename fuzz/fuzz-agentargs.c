/*
 * fuzz-agentargs.c - libFuzzer harness: the args of the server's browse
 * and restore requests as the agent checks them (agent/browse.c,
 * browse_args_parse() and restore_args_parse()).  The input is one args
 * string as an AGENT_REQUESTS frame carries it (a C string: it ends at
 * the first NUL, and at most 4096 bytes are taken, as wire.c allows);
 * both parsers get it.  What a parse accepts is checked against the
 * rules it promises (a snapshot from 1; paths absolute and normalized, ""
 * for "/", 1 to 64 of them, no control character; "where" one of three; a target directory only
 * with "directory" and never "/"), and the harness aborts when one is
 * broken.
 *
 * Not covered: what the agent does with them (a listing, a restore),
 * which needs a server and a key file.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/browse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* No byte below ' ' nor DEL. */
static int
printable(const char *s)
{
	for (const unsigned char *p = (const void *)s; *p != '\0'; p++)
		if (*p < ' ' || *p == 0x7f)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char args[REMOTE_REQ_ARGS_MAX + 1];
	struct browse_args ba;
	struct restore_args ra;
	char err[1024];

	if (size > REMOTE_REQ_ARGS_MAX)
		size = REMOTE_REQ_ARGS_MAX;
	memcpy(args, data, size);
	args[size] = '\0';
	if (browse_args_parse(args, &ba, err, sizeof(err)) == 0 &&
	    (ba.snapshot == 0 || !printable(ba.path) ||
	    (ba.path[0] != '\0' && ba.path[0] != '/')))
		abort();
	if (restore_args_parse(args, &ra, err, sizeof(err)) == 0) {
		if (ra.snapshot == 0 || ra.npaths < 1 ||
		    ra.npaths > BROWSE_RESTORE_PATHS ||
		    ra.paths[ra.npaths] != NULL || ra.where < BROWSE_ORIGINAL ||
		    ra.where > BROWSE_DIRECTORY || ra.dir[0] != '/' ||
		    (ra.where == BROWSE_DIRECTORY) != (strcmp(ra.dir, "/") != 0))
			abort();
		/* Normalized: "/a/b", or "" for "/" (the whole snapshot). */
		for (int i = 0; i < ra.npaths; i++)
			if ((ra.paths[i][0] != '/' && ra.paths[i][0] != '\0') ||
			    !printable(ra.paths[i]))
				abort();
		restore_args_free(&ra);
	}
	return 0;
}
