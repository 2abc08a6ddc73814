/*
 * unit-store.c - TAP unit tests of src/server/store.c: blobs are indexed only
 * after their pack is synced, duplicates write nothing, reads verify
 * the bytes, and a write error drops the batch without touching what is
 * stored; records of format 2 carry client and links (checked, scanned,
 * copied whole), and 0.1.0's "GVB1" records stay readable; a failed
 * upload's unindexed tail is cut (the pack then ends with its last
 * indexed record, or goes), and the reserve refuses puts.  Run by
 * t/00-unit-store.t.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/catalog.h"
#include "server/store.h"
#include "tap.h"

static char dir[] = "/tmp/gv-unit-store-XXXXXX";

static void
id_of(uint8_t id[BLOB_ID_LEN], unsigned n)
{
	memset(id, 0x3c, BLOB_ID_LEN);
	id[0] = (uint8_t)(n >> 24);
	id[1] = (uint8_t)(n >> 16);
	id[2] = (uint8_t)(n >> 8);
	id[3] = (uint8_t)n;
}

static int
indexed(struct catalog *c, uint64_t client, const uint8_t id[BLOB_ID_LEN],
    struct cat_blob *loc)
{
	uint8_t found = 0;

	if (catalog_blobs_lookup(c, client, (const uint8_t (*)[BLOB_ID_LEN])id,
	    1, loc, &found) != CAT_OK)
		return -1;
	return found;
}

static int
count_packs(void)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/packs", dir);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".pack") != NULL)
			n++;
	closedir(d);
	return n;
}

struct scan_seen {
	uint8_t		 id[BLOB_ID_LEN];
	int		 found, type, good;
	uint64_t	 client;
	uint32_t	 nlinks, length;
	uint64_t	 size;
};

static int
scan_find(void *arg, const struct store_rec *rec)
{
	struct scan_seen *ss = arg;

	if (memcmp(rec->id, ss->id, BLOB_ID_LEN) != 0)
		return 0;
	ss->found = 1;
	ss->type = rec->type;
	ss->good = rec->good;
	ss->client = rec->client;
	ss->nlinks = rec->nlinks;
	ss->length = rec->length;
	ss->size = rec->size;
	return 1;
}

/* Flip one byte of pack at off. */
static void
flip(uint32_t pack, uint64_t off)
{
	char path[300];
	uint8_t x;
	int fd;

	snprintf(path, sizeof(path), "%s/packs/%08x.pack", dir, pack);
	if ((fd = open(path, O_RDWR)) == -1)
		return;
	if (pread(fd, &x, 1, (off_t)off) == 1) {
		x ^= 0x10;
		if (pwrite(fd, &x, 1, (off_t)off) != 1)
			printf("# pwrite failed\n");
	}
	close(fd);
}

/* Links, legacy nodes, scan, copy, and a 0.1.0 record. */
static void
links_tests(struct catalog *c, struct store *s, uint64_t alice, uint64_t bob)
{
	static uint8_t page[5000], buf[5000];
	uint8_t kids[3][BLOB_ID_LEN], id[BLOB_ID_LEN], (*got)[BLOB_ID_LEN];
	uint8_t hdr[STORE_HDR1_LEN], sum[STORE_SUM_LEN];
	struct cat_blob loc, loc2, to;
	struct cat_blob_add add;
	struct scan_seen ss;
	uint64_t bad_at = 0;
	char path[300];
	uint32_t n;
	int fd;

	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 13);
	for (unsigned i = 0; i < 3; i++)
		id_of(kids[i], 500000 + i);
	id_of(id, 600000);
	/* Its links pending in the same batch: indexed with it. */
	for (unsigned i = 0; i < 3; i++)
		store_put(s, alice, kids[i], NULL, 0, page + i, 10);
	ok(store_put(s, alice, id, (const uint8_t (*)[BLOB_ID_LEN])kids, 3,
	    page, sizeof(page)) == 0 && store_flush(s) == 0 &&
	    indexed(c, alice, id, &loc) == 1 && loc.nlinks == 3 &&
	    loc.length == sizeof(page),
	    "a linked blob is indexed with its nlinks and length");
	ok(store_read(s, id, &loc, buf) == 0 &&
	    memcmp(buf, page, sizeof(page)) == 0,
	    "store_read() gives its bytes, the links checked by the sum");
	ok(store_links(s, alice, id, &loc, &got, &n) == 0 && n == 3 &&
	    memcmp(got, kids, sizeof(kids)) == 0,
	    "store_links() gives its links in order");
	free(got);
	ok(store_links(s, bob, id, &loc, &got, &n) == 1 && got == NULL &&
	    n == 0, "store_links() for another client: a bad header");
	loc2 = loc;
	loc2.nlinks = 2;
	ok(store_read(s, id, &loc2, buf) == 1,
	    "an nlinks that differs from the header: damaged");

	memset(&ss, 0, sizeof(ss));
	memcpy(ss.id, id, BLOB_ID_LEN);
	ok(store_scan(s, loc.pack, scan_find, &ss, &bad_at) == 0 && ss.found &&
	    ss.type == STORE_TYPE_BLOB && ss.client == alice &&
	    ss.nlinks == 3 && ss.length == sizeof(page) && ss.good &&
	    ss.size == store_rec_size(3, sizeof(page)),
	    "store_scan() reports type, client, nlinks, length, size, good");

	/* A copy is the whole record: links read back from the new place. */
	store_finish(s);
	ok(store_copy(s, id, &loc, &to) == 0 && store_sync(s) == 0 &&
	    to.pack != loc.pack && to.nlinks == 3 &&
	    store_links(s, alice, id, &to, &got, &n) == 0 && n == 3 &&
	    memcmp(got, kids, sizeof(kids)) == 0 &&
	    store_read(s, id, &to, buf) == 0 &&
	    memcmp(buf, page, sizeof(page)) == 0,
	    "store_copy() copies links and bytes");
	free(got);

	/* A flipped byte in the links is caught. */
	flip(loc.pack, loc.offset + STORE_HDR_LEN + 40);
	ok(store_links(s, alice, id, &loc, &got, &n) == 1 &&
	    strstr(store_strerror(s), "checksum") != NULL,
	    "a flipped bit in the links: checksum mismatch");
	memset(&ss, 0, sizeof(ss));
	memcpy(ss.id, id, BLOB_ID_LEN);
	ok(store_scan(s, loc.pack, scan_find, &ss, &bad_at) == 0 && ss.found &&
	    !ss.good, "... and store_scan() marks the record bad");

	/* A legacy node: type 2, no bytes. */
	id_of(id, 600001);
	for (unsigned i = 0; i < 3; i++)
		store_put(s, bob, kids[i], NULL, 0, page + i, 10);
	store_flush(s);
	ok(store_put_legacy(s, bob, id, (const uint8_t (*)[BLOB_ID_LEN])kids,
	    3, &to) == 0 && store_flush(s) == 0 &&
	    indexed(c, bob, id, &loc) == 1 && loc.nlinks == 3 &&
	    loc.length == 0 && loc.pack == to.pack && loc.offset == to.offset,
	    "a legacy node is indexed where store_put_legacy() said");
	ok(store_links(s, bob, id, &loc, &got, &n) == 0 && n == 3 &&
	    memcmp(got, kids, sizeof(kids)) == 0,
	    "... with its links");
	free(got);
	memset(&ss, 0, sizeof(ss));
	memcpy(ss.id, id, BLOB_ID_LEN);
	ok(store_scan(s, loc.pack, scan_find, &ss, &bad_at) == 0 && ss.found &&
	    ss.type == STORE_TYPE_LEGACY && ss.length == 0 && ss.good,
	    "... and scanned as type 2");

	/* A record of 0.1.0 in a pack of its own. */
	store_finish(s);
	id_of(id, 700000);
	memcpy(hdr, "GVB1", 4);
	hdr[4] = 0;
	hdr[5] = 0;
	hdr[6] = (uint8_t)(sizeof(page) >> 8);
	hdr[7] = (uint8_t)sizeof(page);
	memcpy(hdr + 8, id, BLOB_ID_LEN);
	store_sum(NULL, 0, page, sizeof(page), sum);
	memcpy(hdr + 8 + BLOB_ID_LEN, sum, STORE_SUM_LEN);
	snprintf(path, sizeof(path), "%s/packs/%08x.pack", dir, 0x1000u);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0640)) != -1) {
		if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
		    write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			printf("# write failed\n");
		close(fd);
	}
	memset(&add, 0, sizeof(add));
	memcpy(add.id, id, BLOB_ID_LEN);
	add.loc.pack = 0x1000;
	add.loc.length = sizeof(page);
	add.loc.touched = 1;
	ok(catalog_blobs_add(c, alice, &add, 1) == CAT_OK &&
	    store_read(s, id, &add.loc, buf) == 0 &&
	    memcmp(buf, page, sizeof(page)) == 0,
	    "a GVB1 record reads back");
	memset(&ss, 0, sizeof(ss));
	memcpy(ss.id, id, BLOB_ID_LEN);
	ok(store_scan(s, 0x1000, scan_find, &ss, &bad_at) == 0 && ss.found &&
	    ss.type == STORE_TYPE_BLOB && ss.client == 0 && ss.nlinks == 0 &&
	    ss.good && ss.size == STORE_HDR1_LEN + sizeof(page),
	    "... is scanned (client 0, no links)");
	ok(store_copy(s, id, &add.loc, &to) == 0 && store_sync(s) == 0 &&
	    store_read(s, id, &to, buf) == 0 &&
	    memcmp(buf, page, sizeof(page)) == 0,
	    "... and copied (still readable)");
}

/* Records of the scan: how many, and whether each is indexed there. */
struct cut_scan {
	struct catalog	*c;
	int		 n, unindexed, last_indexed;
	uint64_t	 end;
};

static int
cut_rec(void *arg, const struct store_rec *rec)
{
	struct cut_scan *cs = arg;
	struct cat_blob loc;

	cs->n++;
	cs->end = rec->offset + rec->size;
	cs->last_indexed = indexed(cs->c, rec->client, rec->id, &loc) == 1 &&
	    loc.pack == rec->pack && loc.offset == rec->offset;
	if (!cs->last_indexed)
		cs->unindexed++;
	return 0;
}

/*
 * 0 when the pack at path holds only whole records and ends with the
 * last of them, which is indexed there (all of them are, with all);
 * else -1 (said why).
 */
static int
whole_records(struct catalog *c, struct store *s, uint32_t pack,
    const char *path, int all)
{
	struct cut_scan cs = { NULL, 0, 0, 0, 0 };
	struct stat st;
	uint64_t bad_at = 0;
	int r;

	cs.c = c;
	r = store_scan(s, pack, cut_rec, &cs, &bad_at);
	if (stat(path, &st) == -1)
		return printf("# %s: %s\n", path, strerror(errno)), -1;
	if (r != 0 || !cs.last_indexed || (all && cs.unindexed > 0) ||
	    (uint64_t)st.st_size != cs.end) {
		printf("# pack %08x: scan %d (bad at %llu), %d records, %d "
		    "unindexed, ends at %llu, size %llu\n", pack, r,
		    (unsigned long long)bad_at, cs.n, cs.unindexed,
		    (unsigned long long)cs.end,
		    (unsigned long long)st.st_size);
		return -1;
	}
	return 0;
}

/*
 * The tail cut after a refusal by the reserve: a pack with something
 * indexed is cut back to its last indexed record, a pack with nothing
 * indexed is removed; the reserve and the space report.
 */
static void
cut_tests(struct catalog *c, struct store *s, uint64_t alice,
    const uint8_t *big, uint8_t *buf)
{
	struct store_space sp;
	struct cat_blob loc;
	uint8_t id[BLOB_ID_LEN];
	char path[300];
	int before;

	store_finish(s);
	ok(store_space(s, &sp) == 0 && sp.capacity > 0 &&
	    sp.free <= sp.capacity && sp.reserve == 0 &&
	    sp.level == STORE_SPACE_OK,
	    "space: capacity and free space, no reserve unless set");
	store_set_reserve(s, STORE_RESERVE_AUTO);
	ok(store_space(s, &sp) == 0 && (sp.reserve == sp.capacity / 100 ||
	    sp.reserve == STORE_RESERVE_AUTO_MAX) &&
	    sp.reserve <= STORE_RESERVE_AUTO_MAX,
	    "the automatic reserve: 1% of the capacity, at most 256 MiB");

	/* Nothing indexed in the pack: it goes. */
	before = count_packs();
	store_set_reserve(s, 0);
	id_of(id, 700001);
	ok(store_put(s, alice, id, NULL, 0, big, 100000) == 0 &&
	    count_packs() == before + 1, "a put in a new pack, pending");
	store_set_reserve(s, UINT64_MAX - 1);
	id_of(id, 700002);
	ok(store_put(s, alice, id, NULL, 0, big + 1, 1000) == -1 &&
	    store_errno(s) == ENOSPC &&
	    strstr(store_strerror(s), "reserve") != NULL,
	    "under the reserve a put is refused with ENOSPC");
	id_of(id, 700001);
	ok(count_packs() == before && !store_pending(s, alice, id) &&
	    indexed(c, alice, id, NULL) == 0,
	    "... the pack that held only pending blobs is removed");
	ok(store_space(s, &sp) == 0 && sp.level == STORE_SPACE_CRITICAL,
	    "... and the level is critical");

	/* Something indexed: cut back to it. */
	store_set_reserve(s, 0);
	id_of(id, 700003);
	ok(store_put(s, alice, id, NULL, 0, big + 2, 5000) == 0 &&
	    store_flush(s) == 0 && indexed(c, alice, id, &loc) == 1,
	    "a blob indexed in a new pack");
	snprintf(path, sizeof(path), "%s/packs/%08x.pack", dir, loc.pack);
	id_of(id, 700004);
	store_put(s, alice, id, NULL, 0, big + 3, 200000);
	id_of(id, 700005);
	store_put(s, alice, id, NULL, 0, big + 4, 300000);
	store_set_reserve(s, UINT64_MAX - 1);
	id_of(id, 700006);
	ok(store_put(s, alice, id, NULL, 0, big + 5, 1000) == -1 &&
	    store_errno(s) == ENOSPC, "two pending, then refused");
	ok(whole_records(c, s, loc.pack, path, 1) == 0,
	    "... the pack is cut back to its indexed record");
	id_of(id, 700004);
	ok(indexed(c, alice, id, NULL) == 0 && !store_pending(s, alice, id),
	    "... the pending ones are neither pending nor indexed");
	store_set_reserve(s, 0);
	ok(store_put(s, alice, id, NULL, 0, big + 3, 200000) == 0 &&
	    store_flush(s) == 0 && indexed(c, alice, id, &loc) == 1 &&
	    store_read(s, id, &loc, buf) == 0,
	    "... and with room again the next put works");
	id_of(id, 700003);
	ok(indexed(c, alice, id, &loc) == 1 &&
	    store_read(s, id, &loc, buf) == 0 &&
	    memcmp(buf, big + 2, 5000) == 0,
	    "... what was indexed before reads back");
}

int
main(void)
{
	static uint8_t big[3 << 20], buf[3 << 20];
	struct catalog *c;
	struct store *s;
	struct cat_blob loc, loc2;
	struct rlimit rl, old;
	char path[300], err[256], cmd[400];
	uint8_t id[BLOB_ID_LEN], id2[BLOB_ID_LEN], tok[CAT_SECRET_LEN];
	uint64_t alice = 1, bob = 2;
	int fd, r;

	if (mkdtemp(dir) == NULL) {
		printf("1..0 # SKIP mkdtemp failed\n");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/catalog", dir);
	if (catalog_open(path, 0, &c, err, sizeof(err)) != CAT_OK ||
	    store_open(dir, c, &s, err, sizeof(err)) == -1) {
		printf("1..1\nnot ok 1 - open: %s\n", err);
		return 1;
	}
	memset(tok, 1, sizeof(tok));
	catalog_client_add(c, "alice", tok, 1, &alice);
	memset(tok, 2, sizeof(tok));
	catalog_client_add(c, "bob", tok, 1, &bob);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + (i >> 11));

	/* Durability order. */
	id_of(id, 1);
	ok(store_put(s, alice, id, NULL, 0, big, 1000) == 0, "put a blob: written");
	ok(store_pending(s, alice, id), "it is pending");
	ok(indexed(c, alice, id, NULL) == 0,
	    "not indexed before the pack is synced");
	ok(store_put(s, alice, id, NULL, 0, big, 1000) == 1,
	    "a second put of a pending id writes nothing");
	ok(!store_pending(s, bob, id), "pending is per client");
	ok(store_flush(s) == 0 && indexed(c, alice, id, &loc) == 1 &&
	    loc.length == 1000 && loc.nlinks == 0,
	    "flush indexes it (no links)");
	ok(!store_pending(s, alice, id), "no longer pending after flush");
	ok(store_put(s, alice, id, NULL, 0, big, 1000) == 1,
	    "a put of an indexed id writes nothing");
	ok(count_packs() == 1, "one pack file");

	/* Read back. */
	memset(buf, 0, sizeof(buf));
	ok(store_read(s, id, &loc, buf) == 0 && memcmp(buf, big, 1000) == 0,
	    "read back: same bytes, verified");
	id_of(id2, 2);
	ok(store_read(s, id2, &loc, buf) == 1,
	    "reading with the wrong id: damaged record");

	/* Another client's put flushes the first client's batch. */
	ok(store_put(s, alice, id2, NULL, 0, big + 5, 3000) == 0 &&
	    store_put(s, bob, id, NULL, 0, big + 9, 2000) == 0 &&
	    indexed(c, alice, id2, &loc2) == 1,
	    "a put for another client flushes the pending batch");
	ok(store_flush(s) == 0 && indexed(c, bob, id, &loc) == 1 &&
	    store_read(s, id, &loc, buf) == 0 &&
	    memcmp(buf, big + 9, 2000) == 0,
	    "bob's blob under the same id has bob's bytes");

	/* Discard. */
	id_of(id, 3);
	store_put(s, alice, id, NULL, 0, big, 10);
	store_discard(s);
	ok(!store_pending(s, alice, id) && indexed(c, alice, id, NULL) == 0,
	    "discard drops the batch: not pending, not indexed");

	/* Automatic flush by count. */
	id_of(id, 1000);
	for (unsigned i = 0; i < STORE_BATCH_BLOBS; i++) {
		id_of(id2, 1000 + i);
		if (store_put(s, alice, id2, NULL, 0, big + i, 1) != 0)
			break;
	}
	ok(indexed(c, alice, id, NULL) == 1,
	    "a batch of STORE_BATCH_BLOBS is flushed by itself");

	/* Damage a byte of a stored blob. */
	snprintf(path, sizeof(path), "%s/packs/%08x.pack", dir, loc2.pack);
	id_of(id2, 2);
	if ((fd = open(path, O_RDWR)) != -1) {
		uint8_t x;

		if (pread(fd, &x, 1, (off_t)(loc2.offset + STORE_HDR_LEN + 17))
		    == 1) {
			x ^= 0x40;
			if (pwrite(fd, &x, 1, (off_t)(loc2.offset +
			    STORE_HDR_LEN + 17)) != 1)
				printf("# pwrite failed\n");
		}
		close(fd);
	}
	ok(store_read(s, id2, &loc2, buf) == 1 &&
	    strstr(store_strerror(s), "checksum") != NULL,
	    "a flipped bit is detected (checksum mismatch)");
	loc2.pack = 0x7fffffff;
	ok(store_read(s, id2, &loc2, buf) == 1, "a missing pack: damaged");

	/* A write error (file size limit) drops the batch, then recovery. */
	store_flush(s);
	id_of(id2, 1);
	indexed(c, alice, id2, &loc);
	snprintf(path, sizeof(path), "%s/packs/%08x.pack", dir, loc.pack);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	rl = old;
	rl.rlim_cur = 1 << 20;
	setrlimit(RLIMIT_FSIZE, &rl);
	id_of(id, 900000);
	r = store_put(s, alice, id, NULL, 0, big, sizeof(big));
	if (r != -1)
		printf("# put returned %d: %s\n", r, r == -1 ? store_strerror(s) : "");
	ok(r == -1 && store_errno(s) == EFBIG,
	    "a write that fails returns -1 with the errno (EFBIG)");
	ok(indexed(c, alice, id, NULL) == 0 && !store_pending(s, alice, id),
	    "... nothing of it is pending or indexed");
	ok(whole_records(c, s, loc.pack, path, 0) == 0,
	    "... and its partial record is cut: the pack ends with a whole "
	    "indexed record");
	setrlimit(RLIMIT_FSIZE, &old);
	id_of(id2, 1);
	ok(indexed(c, alice, id2, &loc) == 1 &&
	    store_read(s, id2, &loc, buf) == 0 && memcmp(buf, big, 1000) == 0,
	    "... what was stored before is intact");
	ok(store_put(s, alice, id, NULL, 0, big, sizeof(big)) == 0 &&
	    store_flush(s) == 0 && indexed(c, alice, id, &loc) == 1 &&
	    store_read(s, id, &loc, buf) == 0 &&
	    memcmp(buf, big, sizeof(big)) == 0,
	    "the next put starts a new pack and works");
	ok(count_packs() == 2, "the failed pack is given up: a second pack file");
	ok(store_put(s, alice, id, NULL, 0, big, 0) == -1, "an empty blob is refused");

	cut_tests(c, s, alice, big, buf);

	links_tests(c, s, alice, bob);

	store_close(s);
	catalog_close(c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
