/*
 * unit-journal.c - TAP unit tests of src/server/journal.c: every record
 * type comes back as written, in order, also across two handles; a torn
 * or damaged tail is ignored by replay and cut off by the next append;
 * invalid records and files that are not journals are refused; the
 * catalog journals each change of clients, policies and snapshots
 * (their protect flag too) in the order it makes them, and nothing that
 * fails or changes nothing.  Run by
 * t/00-unit-journal.t.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/catalog.h"
#include "server/journal.h"
#include "tap.h"

static char dir[] = "/tmp/gv-unit-journal-XXXXXX";

#define NRECS	10

static struct journal_rec got[64];
static size_t ngot;

static int
collect(void *arg, const struct journal_rec *r)
{
	size_t *stop = arg;

	if (ngot < 64)
		got[ngot] = *r;
	ngot++;
	return stop != NULL && ngot == *stop ? 7 : 0;
}

/* One record of each type, with distinct values. */
static void
make_recs(struct journal_rec r[NRECS])
{
	memset(r, 0, NRECS * sizeof(r[0]));
	for (int i = 0; i < NRECS; i++) {
		r[i].type = (uint8_t)(i + 1);
		r[i].client = 1000 + (uint64_t)i;
	}
	snprintf(r[0].name, sizeof(r[0].name), "alice");
	r[0].created = 1700000000;
	r[0].flags = JOURNAL_F_DISABLED;
	memset(r[0].hash, 0x11, sizeof(r[0].hash));
	r[0].snap = 17;
	snprintf(r[1].name, sizeof(r[1].name), "alice");
	memset(r[1].hash, 0x22, sizeof(r[1].hash));
	snprintf(r[2].name, sizeof(r[2].name), "bob");
	r[2].flags = JOURNAL_F_REGISTERED | JOURNAL_F_ALLOW_FORGET;
	snprintf(r[3].name, sizeof(r[3].name), "carol");
	memset(r[3].hash, 0x33, sizeof(r[3].hash));
	/* a name of the largest length */
	memset(r[4].name, 'x', JOURNAL_NAME_MAX);
	snprintf(r[5].set, sizeof(r[5].set), "home");
	r[5].policy = (struct retention){ 1, 2, 3, 4, 5, 6 };
	snprintf(r[6].set, sizeof(r[6].set), "%s", "");
	r[7].snap = 42;
	r[7].time = 1700000123;
	memset(r[7].root, 0x44, BLOB_ID_LEN);
	memset(r[7].meta, 0x55, BLOB_ID_LEN);
	r[7].has_legacy = 1;
	memset(r[7].legacy, 0x66, BLOB_ID_LEN);
	snprintf(r[7].set, sizeof(r[7].set), "default");
	r[7].files = 7;
	r[7].size = 8;
	r[7].new_bytes = 9;
	r[7].new_blobs = 10;
	r[8].snap = 42;
	r[9].snap = 42;
	r[9].flags = JOURNAL_SF_PROTECTED;
}

static int
rec_equal(const struct journal_rec *a, const struct journal_rec *b)
{
	return a->type == b->type && a->client == b->client &&
	    strcmp(a->name, b->name) == 0 && a->created == b->created &&
	    a->flags == b->flags &&
	    memcmp(a->hash, b->hash, sizeof(a->hash)) == 0 &&
	    strcmp(a->set, b->set) == 0 &&
	    memcmp(&a->policy, &b->policy, sizeof(a->policy)) == 0 &&
	    a->snap == b->snap && a->time == b->time &&
	    memcmp(a->root, b->root, BLOB_ID_LEN) == 0 &&
	    memcmp(a->meta, b->meta, BLOB_ID_LEN) == 0 &&
	    a->has_legacy == b->has_legacy &&
	    memcmp(a->legacy, b->legacy, BLOB_ID_LEN) == 0 &&
	    a->files == b->files && a->size == b->size &&
	    a->new_bytes == b->new_bytes && a->new_blobs == b->new_blobs;
}

static long
file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

static int
append_raw(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	ssize_t w;

	if (fd == -1)
		return -1;
	w = write(fd, p, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

/* The catalog writes the journal beside its directory. */
static void
catalog_journals(void)
{
	char path[300], jpath[300], err[256];
	struct cat_client cl;
	struct cat_snapshot snap;
	struct cat_blob_add add[2];
	struct retention p = { 3, 0, 2, 0, 0, 0 };
	uint8_t tok[CAT_SECRET_LEN], tok2[CAT_SECRET_LEN];
	uint8_t secret[CAT_SECRET_LEN];
	struct catalog *c;
	uint64_t id = 0, ignored;
	static const uint8_t want[] = { JOURNAL_CLIENT_ADD, JOURNAL_REGISTER,
	    JOURNAL_CLIENT_FLAGS, JOURNAL_CLIENT_TOKEN, JOURNAL_POLICY_SET,
	    JOURNAL_COMMIT, JOURNAL_SNAP_FLAGS, JOURNAL_SNAP_FLAGS,
	    JOURNAL_FORGET, JOURNAL_POLICY_CLEAR, JOURNAL_CLIENT_REMOVE };
	int all;

	snprintf(path, sizeof(path), "%s/cat/catalog", dir);
	snprintf(jpath, sizeof(jpath), "%s/cat", dir);
	if (mkdir(jpath, 0700) == -1 || catalog_open(path, 0, &c, err,
	    sizeof(err)) != CAT_OK) {
		ok(0, "open a catalog");
		return;
	}
	snprintf(jpath, sizeof(jpath), "%s/cat/journal", dir);
	memset(tok, 1, sizeof(tok));
	memset(tok2, 2, sizeof(tok2));
	memset(secret, 3, sizeof(secret));
	memset(add, 0, sizeof(add));
	memset(add[0].id, 0xa0, BLOB_ID_LEN);
	memset(add[1].id, 0xb0, BLOB_ID_LEN);
	for (int i = 0; i < 2; i++) {
		add[i].loc.pack = 1;
		add[i].loc.offset = 100 * (uint64_t)i;
		add[i].loc.length = 10;
	}
	memset(&snap, 0, sizeof(snap));
	snprintf(snap.set, sizeof(snap.set), "home");
	snap.time = 1700000000;
	memcpy(snap.root, add[0].id, BLOB_ID_LEN);
	memcpy(snap.meta, add[1].id, BLOB_ID_LEN);
	snap.files = 5;
	snap.size = 50;
	ok(catalog_client_add(c, "alice", tok, 1699999999, &id) == CAT_OK &&
	    catalog_client_add(c, "alice", tok, 1, NULL) == CAT_EXISTS &&
	    catalog_register(c, tok, secret, &cl) == CAT_OK &&
	    catalog_client_set_disabled(c, "alice", 1) == CAT_OK &&
	    catalog_client_token(c, "alice", tok2) == CAT_OK &&
	    catalog_policy_set(c, "alice", "home", &p) == CAT_OK &&
	    catalog_client_set_disabled(c, "nobody", 1) == CAT_NOTFOUND,
	    "client and policy changes (and two that fail)");
	ok(catalog_client_set_disabled(c, "alice", 0) == CAT_OK &&
	    catalog_blobs_add(c, id, add, 2) == CAT_OK &&
	    catalog_commit(c, id, &snap, NULL) == CAT_OK &&
	    catalog_snapshot_protect(c, id, snap.id, 1) == CAT_OK &&
	    catalog_snapshot_protect(c, id, snap.id, 1) == CAT_OK &&
	    catalog_forget(c, id, snap.id) == CAT_PROTECTED &&
	    catalog_snapshot_protect(c, id, snap.id, 0) == CAT_OK &&
	    catalog_snapshot_protect(c, id, snap.id + 1, 1) == CAT_NOTFOUND &&
	    catalog_forget(c, id, snap.id) == CAT_OK &&
	    catalog_forget(c, id, snap.id) == CAT_NOTFOUND &&
	    catalog_policy_clear(c, "alice", "home") == CAT_OK &&
	    catalog_client_remove(c, "alice") == CAT_OK,
	    "a commit, protect (twice: one change), a refused forget, "
	    "unprotect, a forget, a clear, a remove");
	catalog_close(c);

	ngot = 0;
	ok(journal_replay(jpath, collect, NULL, &ignored, err,
	    sizeof(err)) == 0 && ngot == sizeof(want) + 1 && ignored == 0,
	    "the journal holds one record per change that succeeded");
	all = ngot == sizeof(want) + 1;
	for (size_t i = 0, k = 0; all && i < ngot; i++) {
		/* the second CLIENT_FLAGS (enable) follows the first */
		if (i == 5) {
			all &= got[i].type == JOURNAL_CLIENT_FLAGS &&
			    got[i].flags == JOURNAL_F_REGISTERED;
			continue;
		}
		all &= got[i].type == want[k++] && got[i].client == id;
	}
	ok(all, "... in the order they were made, each of alice");
	if (ngot < sizeof(want) + 1)
		return;
	ok(strcmp(got[0].name, "alice") == 0 && got[0].created == 1699999999 &&
	    memcmp(got[0].hash, tok, sizeof(tok)) == 0 && got[0].snap == 1,
	    "client add: name, created, token hash, next snapshot");
	ok(memcmp(got[1].hash, secret, sizeof(secret)) == 0,
	    "register: the secret");
	ok(got[2].flags == (JOURNAL_F_REGISTERED | JOURNAL_F_DISABLED),
	    "flags: registered and disabled");
	ok(memcmp(got[3].hash, tok2, sizeof(tok2)) == 0, "token: the new hash");
	ok(strcmp(got[4].set, "home") == 0 && got[4].policy.last == 3 &&
	    got[4].policy.daily == 2, "policy set: set and rules");
	ok(got[6].snap == snap.id && got[6].time == snap.time &&
	    memcmp(got[6].root, snap.root, BLOB_ID_LEN) == 0 &&
	    memcmp(got[6].meta, snap.meta, BLOB_ID_LEN) == 0 &&
	    !got[6].has_legacy && strcmp(got[6].set, "home") == 0 &&
	    got[6].files == 5 && got[6].size == 50,
	    "commit: the snapshot's row");
	ok(got[7].snap == snap.id && got[7].flags == JOURNAL_SF_PROTECTED &&
	    got[8].snap == snap.id && got[8].flags == 0,
	    "snapshot flags: protected, then not");
	ok(got[9].snap == snap.id, "forget: the snapshot");
}

int
main(void)
{
	struct journal_rec r[NRECS], bad;
	struct journal *j, *j2;
	char path[300], other[300], err[256];
	uint64_t ignored;
	long size;
	int all, fd;
	size_t stop;

	if (mkdtemp(dir) == NULL) {
		printf("1..0 # SKIP mkdtemp failed\n");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/journal", dir);
	make_recs(r);

	/* A missing journal is an empty one. */
	ngot = 0;
	ok(journal_replay(path, collect, NULL, &ignored, err,
	    sizeof(err)) == 0 && ngot == 0 && ignored == 0,
	    "a missing journal replays as empty");

	ok(journal_open(path, &j, err, sizeof(err)) == 0, "open creates it");
	ok(file_size(path) == JOURNAL_HDR_LEN, "... with its header only");
	all = 1;
	for (int i = 0; i < NRECS; i++)
		all &= journal_append(j, &r[i], err, sizeof(err)) == 0;
	ok(all, "every record type appends");

	ngot = 0;
	ok(journal_replay(path, collect, NULL, &ignored, err,
	    sizeof(err)) == 0 && ngot == NRECS && ignored == 0,
	    "replay reads them all, nothing ignored");
	all = ngot == NRECS;
	for (size_t i = 0; i < ngot && i < NRECS; i++)
		all &= rec_equal(&got[i], &r[i]);
	ok(all, "... in order, every field as written");

	stop = 3;
	ngot = 0;
	ok(journal_replay(path, collect, &stop, NULL, err,
	    sizeof(err)) == 7 && ngot == 3,
	    "replay stops with fn's nonzero value");

	/* Invalid records are refused and write nothing. */
	size = file_size(path);
	bad = r[0];
	memset(bad.name, 'y', sizeof(bad.name));	/* no NUL */
	ok(journal_append(j, &bad, err, sizeof(err)) == -1,
	    "a name too long (unterminated) is refused");
	bad = r[0];
	bad.type = JOURNAL_TYPE_MAX + 1;
	ok(journal_append(j, &bad, err, sizeof(err)) == -1 &&
	    strstr(err, "invalid record") != NULL,
	    "an unknown type is refused");
	bad = r[9];
	bad.flags = 2;
	ok(journal_append(j, &bad, err, sizeof(err)) == -1,
	    "snapshot flags other than protected are refused");
	ok(file_size(path) == size, "... and nothing is written");

	/* A second handle (another process) appends; both orders hold. */
	ok(journal_open(path, &j2, err, sizeof(err)) == 0,
	    "a second handle opens the existing journal");
	ok(journal_append(j2, &r[8], err, sizeof(err)) == 0 &&
	    journal_append(j, &r[7], err, sizeof(err)) == 0 &&
	    journal_append(j2, &r[0], err, sizeof(err)) == 0,
	    "both handles append");
	ngot = 0;
	ok(journal_replay(path, collect, NULL, &ignored, err,
	    sizeof(err)) == 0 && ngot == NRECS + 3 && ignored == 0 &&
	    rec_equal(&got[NRECS], &r[8]) &&
	    rec_equal(&got[NRECS + 1], &r[7]) &&
	    rec_equal(&got[NRECS + 2], &r[0]),
	    "replay sees the appends of both in file order");

	/* A torn tail: ignored by replay, cut off by the next append. */
	size = file_size(path);
	ok(append_raw(path, "\0\0\0\x30\x08partial", 12) == 0,
	    "a torn record is left at the end");
	ngot = 0;
	ok(journal_replay(path, collect, NULL, &ignored, err,
	    sizeof(err)) == 0 && ngot == NRECS + 3 && ignored == 12,
	    "replay ignores the torn tail and says how much");
	ok(journal_append(j, &r[5], err, sizeof(err)) == 0,
	    "the next append succeeds");
	ngot = 0;
	ok(journal_replay(path, collect, NULL, &ignored, err,
	    sizeof(err)) == 0 && ngot == NRECS + 4 && ignored == 0 &&
	    rec_equal(&got[NRECS + 3], &r[5]),
	    "... after cutting the tail off: the new record is read");
	ok(file_size(path) > size && journal_append(j2, &r[6], err,
	    sizeof(err)) == 0, "the other handle appends after it too");
	ngot = 0;
	ok(journal_replay(path, collect, NULL, &ignored, err,
	    sizeof(err)) == 0 && ngot == NRECS + 5 && ignored == 0,
	    "... and every record is read");

	/* A damaged byte inside a record: replay ends before it. */
	snprintf(other, sizeof(other), "%s/journal2", dir);
	journal_close(j2);
	ok(journal_open(other, &j2, err, sizeof(err)) == 0 &&
	    journal_append(j2, &r[0], err, sizeof(err)) == 0 &&
	    journal_append(j2, &r[7], err, sizeof(err)) == 0 &&
	    journal_append(j2, &r[8], err, sizeof(err)) == 0,
	    "a second journal with three records");
	size = file_size(other);
	if ((fd = open(other, O_RDWR)) != -1) {
		/* a byte inside the second record's root */
		off_t at = JOURNAL_HDR_LEN + 4 + 1 + 8 + 1 + 5 + 8 + 4 + 32 + 8 +
		    JOURNAL_SUM_LEN + 4 + 1 + 8 + 8 + 8 + 3;
		ok(pwrite(fd, "\xff", 1, at) == 1, "a byte is damaged");
		close(fd);
	}
	ngot = 0;
	ok(journal_replay(other, collect, NULL, &ignored, err,
	    sizeof(err)) == 0 && ngot == 1 && rec_equal(&got[0], &r[0]) &&
	    ignored > 0, "a damaged record ends the replay before it");
	journal_close(j2);

	/* A header cut short by a crash is written again. */
	snprintf(other, sizeof(other), "%s/journal3", dir);
	if ((fd = open(other, O_WRONLY | O_CREAT, 0600)) != -1) {
		ok(write(fd, "GVJ", 3) == 3, "a journal of 3 bytes");
		close(fd);
	}
	ok(journal_open(other, &j2, err, sizeof(err)) == 0 &&
	    journal_append(j2, &r[8], err, sizeof(err)) == 0,
	    "a journal shorter than its header opens and appends");
	journal_close(j2);
	ngot = 0;
	ok(journal_replay(other, collect, NULL, &ignored, err,
	    sizeof(err)) == 0 && ngot == 1 && rec_equal(&got[0], &r[8]),
	    "... and its record is read back");

	/* Files that are not journals. */
	snprintf(other, sizeof(other), "%s/not-a-journal", dir);
	if ((fd = open(other, O_WRONLY | O_CREAT, 0600)) != -1) {
		if (write(fd, "hello, world\n", 13) != 13)
			ok(0, "write");
		close(fd);
	}
	ok(journal_open(other, &j2, err, sizeof(err)) == -1 &&
	    strstr(err, "not a GigaVault journal") != NULL,
	    "open refuses a file that is not a journal");
	ok(journal_replay(other, collect, NULL, &ignored, err,
	    sizeof(err)) == -1, "replay refuses it too");

	/* Mirror mode writes nothing. */
	{
		off_t before = file_size(path);

		journal_mirror(1);
		ok(journal_append(j, &r[0], err, sizeof(err)) == 0 &&
		    file_size(path) == before,
		    "mirror mode: an append writes nothing");
		journal_mirror(0);
		ok(journal_append(j, &r[0], err, sizeof(err)) == 0 &&
		    file_size(path) > before, "... and off again it does");
	}

	/* A segment: the header and the file's first record, exactly. */
	{
		uint8_t seg[JOURNAL_HDR_LEN + 4 + JOURNAL_REC_MAX +
		    JOURNAL_SUM_LEN + 1];
		size_t n, len = 0, k;
		FILE *f = fopen(path, "rb");

		n = f != NULL ? fread(seg, 1, sizeof(seg) - 1, f) : 0;
		if (f != NULL)
			fclose(f);
		k = n >= JOURNAL_HDR_LEN + 4 ? ((size_t)seg[8] << 24 |
		    (size_t)seg[9] << 16 | (size_t)seg[10] << 8 | seg[11]) : 0;
		n = JOURNAL_HDR_LEN + 4 + k + JOURNAL_SUM_LEN;
		ok(k > 0 && journal_segment_check(seg, n, &len) == 0 &&
		    len == k, "segment check: header and one record");
		ok(journal_segment_check(seg, n + 1, &len) == -1,
		    "... a byte more: refused");
		ok(journal_segment_check(seg, n - 1, &len) == -1,
		    "... a byte less: refused");
		seg[n - 1] ^= 1;
		ok(journal_segment_check(seg, n, &len) == -1,
		    "... a wrong sum: refused");
		seg[n - 1] ^= 1;
		seg[0] ^= 1;
		ok(journal_segment_check(seg, n, &len) == -1,
		    "... a wrong header: refused");
		ok(journal_segment_check(seg, 3, &len) == -1,
		    "... 3 bytes: refused");
	}

	journal_close(j);
	catalog_journals();
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
