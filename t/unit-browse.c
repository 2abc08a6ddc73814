/*
 * unit-browse.c - TAP unit tests of src/agent/browse.c's checks of the
 * server's browse and restore args (doc/protocol.md, "Browsing and
 * restoring through the agent"): good args parsed and normalized, and
 * each bad one refused with a message that names what is wrong (not
 * JSON, not an object, an unknown or duplicate field, a snapshot that
 * is not a number from 1, a path that is not a string, too long, with a
 * control character or not absolute, no paths or more than 64, a bad
 * "where", "dir" missing, "/" or without "directory", args over 4096
 * bytes).  Run by t/00-unit-browse.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/browse.h"
#include "tap.h"

/* restore args refused, with want in the message */
static void
restore_bad(const char *args, const char *want, const char *name)
{
	struct restore_args ra;
	char err[1024] = "";
	int rc = restore_args_parse(args, &ra, err, sizeof(err));

	ok(rc == -1 && strstr(err, want) != NULL && ra.npaths == 0, name);
	if (rc != -1 || strstr(err, want) == NULL)
		printf("# got %d: %s\n", rc, err);
}

static void
browse_bad(const char *args, const char *want, const char *name)
{
	struct browse_args ba;
	char err[1024] = "";
	int rc = browse_args_parse(args, &ba, err, sizeof(err));

	ok(rc == -1 && strstr(err, want) != NULL, name);
	if (rc != -1 || strstr(err, want) == NULL)
		printf("# got %d: %s\n", rc, err);
}

int
main(void)
{
	struct browse_args ba;
	struct restore_args ra;
	static char big[REMOTE_REQ_ARGS_MAX + 64], path[BROWSE_PATH_MAX + 2];
	char err[1024];
	size_t n;

	ok(browse_args_parse("{\"snapshot\":3,\"path\":\"/home//ann/./x/\","
	    "\"offset\":7}", &ba, err, sizeof(err)) == 0 &&
	    ba.snapshot == 3 && strcmp(ba.path, "/home/ann/x") == 0 &&
	    ba.offset == 7, "browse: parsed, the path normalized");
	ok(browse_args_parse("{\"snapshot\":1}", &ba, err, sizeof(err)) == 0 &&
	    ba.path[0] == '\0' && ba.offset == 0,
	    "browse: no path is the root, offset 0");
	ok(browse_args_parse("{\"snapshot\":1,\"path\":\"/\"}", &ba, err,
	    sizeof(err)) == 0 && ba.path[0] == '\0', "browse: \"/\" is the root");
	browse_bad("nope", "not JSON", "browse: not JSON");
	browse_bad("[1]", "not a JSON object", "browse: an array");
	browse_bad("{\"snapshot\":1,\"x\":2}", "unknown field \"x\"",
	    "browse: an unknown field");
	browse_bad("{\"snapshot\":1,\"snapshot\":2}", "not JSON",
	    "browse: a field twice");
	browse_bad("{\"path\":\"/\"}", "\"snapshot\" must be",
	    "browse: no snapshot");
	browse_bad("{\"snapshot\":0}", "\"snapshot\" must be",
	    "browse: snapshot 0");
	browse_bad("{\"snapshot\":\"3\"}", "\"snapshot\" must be",
	    "browse: snapshot as a string");
	browse_bad("{\"snapshot\":1,\"path\":7}", "\"path\" must be a string",
	    "browse: a path that is not a string");
	browse_bad("{\"snapshot\":1,\"path\":\"/a\\nb\"}", "control character",
	    "browse: a newline in the path");
	browse_bad("{\"snapshot\":1,\"path\":\"/a\\u0000b\"}", "not JSON",
	    "browse: a NUL in the path (jansson refuses it)");
	browse_bad("{\"snapshot\":1,\"offset\":-1}", "\"offset\" must be",
	    "browse: a negative offset");
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(big, sizeof(big), "{\"snapshot\":1,\"path\":\"%s\"}", path);
	browse_bad(big, "at most 1024 bytes", "browse: a path of 1025 bytes");
	path[BROWSE_PATH_MAX] = '\0';
	snprintf(big, sizeof(big), "{\"snapshot\":1,\"path\":\"%s\"}", path);
	ok(browse_args_parse(big, &ba, err, sizeof(err)) == 0 &&
	    strlen(ba.path) == BROWSE_PATH_MAX, "browse: a path of 1024 bytes");
	n = (size_t)snprintf(big, sizeof(big), "{\"snapshot\":1,\"path\":\"/");
	memset(big + n, 'b', sizeof(big) - n - 1);
	big[sizeof(big) - 1] = '\0';
	browse_bad(big, "more than 4096 bytes", "browse: args over 4096 bytes");

	ok(restore_args_parse("{\"snapshot\":2,\"paths\":[\"/etc/hosts\","
	    "\"/home/ann/\"],\"where\":\"directory\",\"dir\":\"/tmp/r/\"}",
	    &ra, err, sizeof(err)) == 0 && ra.snapshot == 2 &&
	    ra.npaths == 2 && strcmp(ra.paths[0], "/etc/hosts") == 0 &&
	    strcmp(ra.paths[1], "/home/ann") == 0 && ra.paths[2] == NULL &&
	    ra.where == BROWSE_DIRECTORY && strcmp(ra.dir, "/tmp/r") == 0,
	    "restore: to a directory, paths and dir normalized");
	restore_args_free(&ra);
	ok(restore_args_parse("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"original\"}", &ra, err, sizeof(err)) == 0 &&
	    ra.where == BROWSE_ORIGINAL && strcmp(ra.dir, "/") == 0,
	    "restore: the original place is the target \"/\"");
	restore_args_free(&ra);
	ok(restore_args_parse("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"overwrite\"}", &ra, err, sizeof(err)) == 0 &&
	    ra.where == BROWSE_OVERWRITE && strcmp(ra.dir, "/") == 0,
	    "restore: overwriting the original place");
	restore_args_free(&ra);
	restore_bad("{\"snapshot\":2,\"where\":\"original\"}",
	    "\"paths\" must be a list of 1 to 64", "restore: no paths");
	restore_bad("{\"snapshot\":2,\"paths\":[],\"where\":\"original\"}",
	    "\"paths\" must be a list of 1 to 64", "restore: an empty list");
	n = (size_t)snprintf(big, sizeof(big), "{\"snapshot\":2,\"paths\":[");
	for (int i = 0; i <= BROWSE_RESTORE_PATHS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"/p%d\"",
		    i ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "],\"where\":\"original\"}");
	restore_bad(big, "\"paths\" must be a list of 1 to 64",
	    "restore: 65 paths");
	restore_bad("{\"snapshot\":2,\"paths\":[\"rel/x\"],\"where\":"
	    "\"original\"}", "must be an absolute path",
	    "restore: a relative path");
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a\",3],\"where\":"
	    "\"original\"}", "\"paths\" must be a non-empty string",
	    "restore: a path that is a number (after a good one)");
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":\"there\"}",
	    "\"where\" must be", "restore: a bad where");
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a\"]}", "\"where\" must be",
	    "restore: no where");
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"directory\"}", "\"dir\" must be", "restore: a directory, no dir");
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"directory\",\"dir\":\"//\"}", "must not be the root",
	    "restore: dir \"/\"");
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"directory\",\"dir\":\"tmp\"}", "must be an absolute path",
	    "restore: a relative dir");
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"original\",\"dir\":\"/tmp\"}", "goes with \"where\": "
	    "\"directory\" only", "restore: dir with original");
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"original\",\"force\":true}", "unknown field \"force\"",
	    "restore: an unknown field");
	restore_bad("{\"snapshot\":-2,\"paths\":[\"/a\"],\"where\":"
	    "\"original\"}", "\"snapshot\" must be",
	    "restore: a negative snapshot");

	/* "..": "/tmp/.." is the root, and a path may not climb either. */
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"directory\",\"dir\":\"/tmp/..\"}", "\"..\" component",
	    "restore: dir /tmp/.. (the root)");
	restore_bad("{\"snapshot\":2,\"paths\":[\"/a/../etc\"],\"where\":"
	    "\"directory\",\"dir\":\"/r\"}", "\"..\" component",
	    "restore: a path with ..");
	browse_bad("{\"snapshot\":1,\"path\":\"/home/..\"}",
	    "\"..\" component", "browse: a path with ..");
	ok(browse_args_parse("{\"snapshot\":1,\"path\":\"/a..b/..c/d..\"}",
	    &ba, err, sizeof(err)) == 0 && strcmp(ba.path, "/a..b/..c/d..") ==
	    0, "browse: names with dots in them are fine");

	/* Agent.AllowRestore. */
	ok(restore_args_parse("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"overwrite\"}", &ra, err, sizeof(err)) == 0, "restore: overwrite");
	ok(restore_args_allowed(&ra, CLIENTCONF_RESTORE_ALL, err,
	    sizeof(err)) == 0, "... allowed by AllowRestore all");
	err[0] = '\0';
	ok(restore_args_allowed(&ra, CLIENTCONF_RESTORE_TARGET, err,
	    sizeof(err)) == -1 && strstr(err, "AllowRestore is target") !=
	    NULL, "... refused by AllowRestore target, which it names");
	restore_args_free(&ra);
	ok(restore_args_parse("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"original\"}", &ra, err, sizeof(err)) == 0 &&
	    restore_args_allowed(&ra, CLIENTCONF_RESTORE_TARGET, err,
	    sizeof(err)) == -1, "restore: the original place is refused by "
	    "AllowRestore target too");
	restore_args_free(&ra);
	ok(restore_args_parse("{\"snapshot\":2,\"paths\":[\"/a\"],\"where\":"
	    "\"directory\",\"dir\":\"/r\"}", &ra, err, sizeof(err)) == 0 &&
	    restore_args_allowed(&ra, CLIENTCONF_RESTORE_TARGET, err,
	    sizeof(err)) == 0, "restore: into a directory, allowed by "
	    "AllowRestore target");
	err[0] = '\0';
	ok(restore_args_allowed(&ra, CLIENTCONF_RESTORE_NONE, err,
	    sizeof(err)) == -1 && strstr(err, "AllowRestore is none") != NULL,
	    "... and refused by AllowRestore none");
	restore_args_free(&ra);
	return tap_done();
}
