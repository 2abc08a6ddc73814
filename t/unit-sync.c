/*
 * unit-sync.c - unit tests of server/sync.c's pure parts: the target
 * file's parser (defaults, quotes, the '/' added to Prefix, each error
 * with its line) and the PREFIX/sync-state parser (good states, and
 * each malformed line refused: wrong magic or source, numbers out of
 * range or not numbers, a missing newline, a line too long, a NUL).
 * The copying itself is t/94-sync.t's, against a real radosgw.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/journal.h"
#include "server/sync.h"

#include "tap.h"

#define SRC	"00112233445566778899aabbccddeeff"

static int
target(const char *text, struct sync_target *t, char *err, size_t errlen)
{
	char buf[SYNC_TARGET_MAX + 1];

	snprintf(buf, sizeof(buf), "%s", text);
	return sync_target_parse("t.conf", buf, t, err, errlen);
}

static int
state(const char *text, size_t *nj, size_t *np, char *err, size_t errlen)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 1);
	int rc;

	memcpy(buf, text, len + 1);
	rc = sync_state_parse(buf, len, SRC, nj, np, err, errlen);
	free(buf);
	return rc;
}

int
main(void)
{
	struct sync_target t;
	char err[512], big[400];
	size_t nj, np;

	/* the target file */
	ok(target("# B\nEndpoint = http://127.0.0.1:7480\nBucket = b\n"
	    "CredentialsFile = /etc/c\n", &t, err, sizeof(err)) == 0,
	    "target: the three required keys");
	ok(strcmp(t.endpoint, "http://127.0.0.1:7480") == 0 &&
	    strcmp(t.bucket, "b") == 0 && strcmp(t.cred_file, "/etc/c") == 0,
	    "target: their values");
	ok(strcmp(t.region, "us-east-1") == 0 &&
	    strcmp(t.prefix, "gigavault/") == 0 && t.path_style == 1 &&
	    t.ca_file[0] == '\0', "target: the defaults");
	ok(target("Endpoint=https://s3\nBucket = \"b2\"\n"
	    "CredentialsFile = /c\nPrefix = \"off\"\nRegion = default\n"
	    "PathStyle = no\nCAFile = /ca.pem  \n", &t, err,
	    sizeof(err)) == 0 && strcmp(t.bucket, "b2") == 0 &&
	    strcmp(t.prefix, "off/") == 0 && t.path_style == 0 &&
	    strcmp(t.ca_file, "/ca.pem") == 0 &&
	    strcmp(t.region, "default") == 0,
	    "target: quotes, no spaces, '/' added to Prefix, PathStyle no");
	ok(target("Endpoint = http://h\nBucket = b\nCredentialsFile = /c\n"
	    "Prefix = \"\"\n", &t, err, sizeof(err)) == 0 &&
	    t.prefix[0] == '\0', "target: an empty Prefix stays empty");
	ok(target("Endpoint = http://h\nBucket = b\n", &t, err,
	    sizeof(err)) == -1 && strstr(err, "required") != NULL,
	    "target: CredentialsFile missing");
	ok(target("Endpoint = http://h\nBucket = b\nCredentialsFile = /c\n"
	    "Frob = 1\n", &t, err, sizeof(err)) == -1 &&
	    strstr(err, "t.conf:4: unknown key \"Frob\"") != NULL,
	    "target: an unknown key, with its line");
	ok(target("Endpoint = http://h\nBucket\n", &t, err,
	    sizeof(err)) == -1 && strstr(err, "t.conf:2:") != NULL,
	    "target: a line without '='");
	ok(target("PathStyle = maybe\n", &t, err, sizeof(err)) == -1 &&
	    strstr(err, "PathStyle is yes or no") != NULL,
	    "target: PathStyle neither yes nor no");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		char text[600];

		snprintf(text, sizeof(text), "Bucket = %s\n", big);
		ok(target(text, &t, err, sizeof(err)) == -1 &&
		    strstr(err, "Bucket is longer than 63 bytes") != NULL,
		    "target: a value too long");
		snprintf(text, sizeof(text), "Prefix = %.255s\n", big);
		ok(target(text, &t, err, sizeof(err)) == -1,
		    "target: a Prefix with no room for its '/'");
	}

	/* the state object */
	ok(state("gigavault-sync-state 1\nsource " SRC "\n", &nj, &np, err,
	    sizeof(err)) == 0 && nj == 0 && np == 0, "state: empty but valid");
	ok(state("gigavault-sync-state 1\nsource " SRC "\njournal 1 12\n"
	    "journal 2 3\npack 1 0 4096\npack 2 0 100\npack 1 7 "
	    "2147483648\n", &nj, &np, err, sizeof(err)) == 0 && nj == 2 &&
	    np == 3, "state: journal and pack lines counted");
	ok(state("", &nj, &np, err, sizeof(err)) == -1, "state: empty text");
	ok(state("gigavault-sync-state 2\nsource " SRC "\n", &nj, &np, err,
	    sizeof(err)) == -1 && strstr(err, "not a sync state") != NULL,
	    "state: another format");
	ok(state("gigavault-sync-state 1\njournal 1 2\n", &nj, &np, err,
	    sizeof(err)) == -1 && strstr(err, "no source line") != NULL,
	    "state: no source");
	ok(state("gigavault-sync-state 1\nsource "
	    "ffffffffffffffffffffffffffffffff\n", &nj, &np, err,
	    sizeof(err)) == -1 && strstr(err, "not this one") != NULL,
	    "state: another server's");
	ok(state("gigavault-sync-state 1\nsource " SRC "\npack 1 2\n", &nj,
	    &np, err, sizeof(err)) == -1 && strstr(err, ":3:") != NULL,
	    "state: a pack line with a field missing");
	ok(state("gigavault-sync-state 1\nsource " SRC "\npack 1 4294967296 "
	    "0\n", &nj, &np, err, sizeof(err)) == -1,
	    "state: a pack id above 32 bits");
	ok(state("gigavault-sync-state 1\nsource " SRC "\npack 1 2 "
	    "99999999999\n", &nj, &np, err, sizeof(err)) == -1,
	    "state: an offset past any pack");
	ok(state("gigavault-sync-state 1\nsource " SRC "\njournal -1 2\n",
	    &nj, &np, err, sizeof(err)) == -1, "state: a negative number");
	ok(state("gigavault-sync-state 1\nsource " SRC "\njournal 1 2x\n",
	    &nj, &np, err, sizeof(err)) == -1, "state: trailing garbage");
	ok(state("gigavault-sync-state 1\nsource " SRC "\njournal 1 "
	    "18446744073709551616\n", &nj, &np, err, sizeof(err)) == -1,
	    "state: a number above 64 bits");
	ok(state("gigavault-sync-state 1\nsource " SRC "\njournal 1 2", &nj,
	    &np, err, sizeof(err)) == -1 && strstr(err, "no end of line") !=
	    NULL, "state: the last line without its newline");
	{
		char text[700];

		snprintf(text, sizeof(text), "gigavault-sync-state 1\nsource "
		    SRC "\njournal 1 %s\n", big);
		ok(state(text, &nj, &np, err, sizeof(err)) == -1 &&
		    strstr(err, "too long") != NULL, "state: a line too long");
	}
	{
		char text[] = "gigavault-sync-state 1\nsource " SRC "\n\0x\n";

		ok(sync_state_parse(text, sizeof(text) - 1, SRC, &nj, &np,
		    err, sizeof(err)) == -1 && strstr(err, "NUL") != NULL,
		    "state: a NUL byte");
	}
	/*
	 * Which journal records a sync copies: sync 1 copies a protected
	 * snapshot, then the source unprotects and forgets it; sync 2 must
	 * still copy the unprotect, or a catalog rebuilt from the target
	 * keeps the snapshot protected forever.
	 */
	ok(sync_journal_keep(JOURNAL_SNAP_FLAGS, 0, 0) == 1,
	    "keep: an unprotect of a snapshot the source no longer holds");
	ok(sync_journal_keep(JOURNAL_SNAP_FLAGS, 0, 1) == 1,
	    "keep: an unprotect of a held snapshot");
	ok(sync_journal_keep(JOURNAL_SNAP_FLAGS, JOURNAL_SF_PROTECTED, 1) == 1,
	    "keep: a protect of a held snapshot");
	ok(sync_journal_keep(JOURNAL_SNAP_FLAGS, JOURNAL_SF_PROTECTED, 0) == 0,
	    "keep: not a protect of a snapshot gone (its COMMIT is not copied)");
	ok(sync_journal_keep(JOURNAL_COMMIT, 0, 1) == 1 &&
	    sync_journal_keep(JOURNAL_COMMIT, 0, 0) == 0,
	    "keep: a COMMIT only while its snapshot is held");
	ok(sync_journal_keep(JOURNAL_FORGET, 0, 1) == 0,
	    "keep: never a forget (the target's own retention)");
	ok(sync_journal_keep(JOURNAL_CLIENT_ADD, 0, 0) == 1 &&
	    sync_journal_keep(JOURNAL_POLICY_SET, 0, 0) == 1,
	    "keep: the client's records");
	return tap_done();
}
