/*
 * unit-state.c - TAP unit tests of src/client/state.c, the client's
 * StateFile: the registration and the "newest" snapshot of each set
 * (rollback detection) written and read back alike; remembering replaces
 * the entry of a set, and when full refuses a new set rather than push
 * one out; every damaged or oversized file is refused with a reason and
 * leaves nothing behind in the struct.  Run by t/00-unit-state.t.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/state.h"
#include "tap.h"

static char dir[] = "/tmp/gv-unit-state.XXXXXX";
static char path[256], err[1024];
static struct client_state st, back;
static int fd_lock;

static const char head[] = "{\"server\": \"h:1\", \"server_id\": "
    "\"00112233445566778899aabbccddeeff\", \"client\": \"c\", \"secret\": "
    "\"0000000000000000000000000000000000000000000000000000000000000000\"";

static void
spit(const char *p, const char *s, size_t len)
{
	FILE *f = fopen(p, "wb");

	fwrite(s, 1, len, f);
	fclose(f);
}

/* A file of head plus tail ("}" closes it) is refused with why in err. */
static int
refused(const char *tail, const char *why)
{
	char *text;
	int r;

	if (asprintf(&text, "%s%s", head, tail) == -1)
		return 0;
	spit(path, text, strlen(text));
	free(text);
	memset(&back, 0xa5, sizeof(back));
	err[0] = '\0';
	r = client_state_read(path, &back, err, sizeof(err));
	if (r != -1 || strstr(err, why) == NULL) {
		printf("# rc %d, err: %s (wanted \"%s\")\n", r, err, why);
		return 0;
	}
	/* Nothing of a refused file is kept, the secret least. */
	for (size_t i = 0; i < sizeof(back); i++)
		if (((unsigned char *)&back)[i] != 0)
			return 0;
	return 1;
}

/* A file of head plus tail is read. */
static int
accepted(const char *tail)
{
	char *text;
	int r;

	if (asprintf(&text, "%s%s", head, tail) == -1)
		return 0;
	spit(path, text, strlen(text));
	free(text);
	r = client_state_read(path, &back, err, sizeof(err));
	if (r != 0)
		printf("# refused: %s\n", err);
	return r == 0;
}

static const char entry[] = "{\"server_id\": "
    "\"00112233445566778899aabbccddeeff\", \"set\": \"%s\", \"snapshot\": "
    "%s, \"time\": %s, \"meta\": \"%s\", \"root\": \"%s\"%s}";
#define HEX64	"abababababababababababababababababababababababababababababababab"

/* ", \"newest\": [ENTRY]}" with one entry of the given members. */
static char *
one(const char *set, const char *snap, const char *time, const char *meta,
    const char *extra)
{
	static char buf[2048];
	char e[1024];

	snprintf(e, sizeof(e), entry, set, snap, time, meta, HEX64, extra);
	snprintf(buf, sizeof(buf), ", \"newest\": [%s]}", e);
	return buf;
}

static void
seen_of(struct state_seen *e, int i, const char *set)
{
	memset(e, 0, sizeof(*e));
	memset(e->server_id, i & 1 ? 0x11 : 0x22, SERVER_ID_LEN);
	snprintf(e->set, sizeof(e->set), "%s", set);
	e->id = (uint64_t)i + 1;
	e->time = 1700000000u + (uint64_t)i;
	memset(e->meta, i & 0xff, BLOB_ID_LEN);
	memset(e->root, ~i & 0xff, BLOB_ID_LEN);
}

int
main(void)
{
	struct state_seen e;
	const struct state_seen *p;
	char set[32], *big, *text, nothex[] = HEX64;
	size_t len;
	int same;

	nothex[7] = 'g';
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.json", dir);

	ok(client_state_read(path, &back, err, sizeof(err)) == -1 &&
	    strstr(err, "not registered") != NULL,
	    "no file: \"not registered\"");

	/* A full state: round trip. */
	memset(&st, 0, sizeof(st));
	snprintf(st.server, sizeof(st.server), "backup.example.org:32004");
	memset(st.server_id, 0x11, SERVER_ID_LEN);
	snprintf(st.name, sizeof(st.name), "alice");
	memset(st.secret, 0x5a, REMOTE_SECRET_LEN);
	same = 1;
	for (int i = 0; i < STATE_SEEN_MAX; i++) {
		snprintf(set, sizeof(set), "set-%d", i);
		seen_of(&e, i, set);
		same &= client_state_remember(&st, &e) == 0;
	}
	ok(same && st.nseen == STATE_SEEN_MAX, "128 sets remembered");
	ok(client_state_write(path, &st, err, sizeof(err)) == 0,
	    "written");
	ok(client_state_read(path, &back, err, sizeof(err)) == 0,
	    "read back");
	same = back.nseen == st.nseen;
	for (size_t i = 0; same && i < st.nseen; i++)
		same = memcmp(&back.seen[i], &st.seen[i],
		    sizeof(st.seen[i])) == 0;
	ok(same && strcmp(back.name, "alice") == 0 &&
	    memcmp(back.secret, st.secret, REMOTE_SECRET_LEN) == 0,
	    "... alike, with every entry");

	/* Remember: the same set is replaced; a new one, when full, not. */
	seen_of(&e, 40, "set-40");
	e.id = 999;
	e.time = 1800000000u;
	ok(client_state_remember(&st, &e) == 0, "full: a set is remembered "
	    "again");
	p = client_state_seen(&st, e.server_id, "set-40");
	ok(st.nseen == STATE_SEEN_MAX && p != NULL && p->id == 999,
	    "... its entry replaced");
	seen_of(&e, 2, "new-set");
	ok(client_state_remember(&st, &e) == -1 &&
	    st.nseen == STATE_SEEN_MAX &&
	    client_state_seen(&st, e.server_id, "new-set") == NULL,
	    "full: a new set is refused");
	memset(e.server_id, 0x22, SERVER_ID_LEN);
	ok(client_state_seen(&st, e.server_id, "set-0") != NULL &&
	    client_state_seen(&st, e.server_id, "set-2") != NULL,
	    "... and no other pushed out");
	ok(client_state_seen(&st, e.server_id, "set-1") == NULL,
	    "sets are told apart by server");
	memset(e.server_id, 0x11, SERVER_ID_LEN);
	client_state_drop(&st, e.server_id, "set-1");
	ok(st.nseen == STATE_SEEN_MAX - 1 &&
	    client_state_seen(&st, e.server_id, "set-1") == NULL &&
	    client_state_seen(&st, e.server_id, "set-3") != NULL,
	    "drop removes one entry");
	seen_of(&e, 2, "new-set");
	ok(client_state_remember(&st, &e) == 0 &&
	    client_state_seen(&st, e.server_id, "new-set") != NULL,
	    "... making room for a new set");

	/* Refused, each with its reason. */
	ok(accepted("}"), "a registration without \"newest\" is read");
	ok(accepted(one("home", "1", "1", HEX64, "")),
	    "a good entry is read (the checks below are not vacuous)");
	ok(refused(", \"newest\": {}}", "\"newest\" is not an array"),
	    "newest not an array");
	ok(refused(one("home", "1", "1", "abab", ""), "entry 1: damaged"),
	    "a short meta id");
	ok(refused(one("home", "1", "1", HEX64 "ab", ""), "entry 1: damaged"),
	    "a long meta id");
	ok(refused(one("home", "1", "1", nothex, ""),
	    "entry 1: damaged"), "a meta id not hex");
	ok(refused(one("../x", "1", "1", HEX64, ""), "entry 1: damaged"),
	    "a bad set name");
	ok(refused(one("", "1", "1", HEX64, ""), "entry 1: damaged"),
	    "an empty set name");
	ok(refused(one("home", "0", "1", HEX64, ""), "entry 1: damaged"),
	    "snapshot id 0");
	ok(refused(one("home", "-5", "1", HEX64, ""), "entry 1: damaged"),
	    "a negative snapshot id");
	ok(refused(one("home", "1", "-1", HEX64, ""), "entry 1: damaged"),
	    "a negative time");
	ok(refused(one("home", "1", "\"now\"", HEX64, ""), "entry 1: "),
	    "a time that is a string");
	ok(refused(one("home", "1", "1.5", HEX64, ""), "entry 1: "),
	    "a time that is a real");
	ok(refused(one("home", "1", "1", HEX64, ", \"x\": 1"), "entry 1: "),
	    "an unknown member of an entry");
	ok(refused(", \"newest\": [1]}", "entry 1: "), "an entry not an object");
	ok(refused(", \"other\": 1}", "state.json: "),
	    "an unknown member");
	ok(refused(", \"server\": \"x\"}", "state.json"),
	    "a duplicated member");
	ok(refused(", \"newest\": [", "state.json:1: "), "truncated JSON");

	/* Two entries for one set, and one too many. */
	{
		char e1[1024], e2[1024];

		snprintf(e1, sizeof(e1), entry, "home", "1", "1", HEX64, HEX64,
		    "");
		snprintf(e2, sizeof(e2), entry, "home", "2", "2", HEX64, HEX64,
		    "");
		if (asprintf(&text, ", \"newest\": [%s, %s]}", e1, e2) == -1)
			return 1;
		ok(refused(text, "a second entry for set home"),
		    "two entries for one set");
		free(text);
	}
	len = 0;
	big = malloc(STATE_FILE_MAX * 2);
	len += (size_t)sprintf(big, ", \"newest\": [");
	for (int i = 0; i <= STATE_SEEN_MAX; i++) {
		char e1[1024], s1[16];

		snprintf(s1, sizeof(s1), "s%d", i);
		snprintf(e1, sizeof(e1), entry, s1, "1", "1", HEX64, HEX64, "");
		len += (size_t)sprintf(big + len, "%s%s", i ? ", " : "", e1);
	}
	strcpy(big + len, "]}");
	ok(refused(big, "\"newest\" has 129 entries (at most 128)"),
	    "129 entries");

	/* Larger than STATE_FILE_MAX: refused before parsing. */
	memset(big, ' ', STATE_FILE_MAX + 1);
	big[STATE_FILE_MAX + 1] = '\0';
	big[STATE_FILE_MAX] = '}';
	ok(refused(big, "too large"), "a file over 256 KiB");
	free(big);

	/* Not a regular file. */
	unlink(path);
	mkdir(path, 0700);
	ok(client_state_read(path, &back, err, sizeof(err)) == -1 &&
	    strstr(err, "not a regular file") != NULL, "a directory");
	rmdir(path);

	/*
	 * Runs that write at once (two cron jobs): each write is whole, a
	 * reader never sees a partial file, and no temporary file stays.
	 */
	{
		char txt[512];
		int bad = 0, status, kids_ok = 1;
		pid_t kid[4];

		snprintf(txt, sizeof(txt), "%s}", head);
		spit(path, txt, strlen(txt));
		ok(client_state_read(path, &st, err, sizeof(err)) == 0,
		    "a state file to write concurrently");
		for (int k = 0; k < 4; k++)
			if ((kid[k] = fork()) == 0) {
				for (int i = 0; i < 200; i++)
					if (client_state_write(path, &st, err,
					    sizeof(err)) == -1)
						_exit(1);
				_exit(0);
			}
		for (int i = 0; i < 400; i++)
			if (client_state_read(path, &back, err,
			    sizeof(err)) == -1)
				bad++;
		for (int k = 0; k < 4; k++)
			if (kid[k] == -1 || waitpid(kid[k], &status, 0) == -1 ||
			    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
				kids_ok = 0;
		ok(kids_ok, "4 processes wrote the state file 200 times each");
		ok(bad == 0, "400 reads meanwhile all found a whole file");
		if (bad)
			printf("# %d reads failed, the last: %s\n", bad, err);
		fd_lock = client_state_lock(path, err, sizeof(err));
		ok(fd_lock != -1, "the state file's lock is taken");
		client_state_unlock(fd_lock);
		snprintf(txt, sizeof(txt), "%s.lock", path);
		unlink(txt);
	}

	unlink(path);
	ok(rmdir(dir) == 0, "no temporary file is left beside it");
	return tap_done();
}
