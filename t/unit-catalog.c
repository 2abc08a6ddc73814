/*
 * unit-catalog.c - TAP unit tests of src/server/catalog.c: clients and tokens,
 * the blob index, commits that are all or nothing, listings, usage,
 * isolation between clients, map growth, two processes writing at
 * once, the running totals and per-day statistics (rebuilt when lost),
 * commits that write O(1) records, the formats refused (0.1.0's,
 * a damaged file), and the agents' tables: job reports (bounded per
 * client), health at each boundary, "back up now" requests taken once;
 * protected snapshots (kept by the policy, refused by every forget,
 * the flag kept by a restore, never set by a commit).
 * Run by t/00-unit-catalog.t.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/catalog.h"
#include "server/policy.h"
#include "tap.h"

static char dir[] = "/tmp/gv-unit-catalog-XXXXXX";

static void
id_of(uint8_t id[BLOB_ID_LEN], unsigned n)
{
	memset(id, 0, BLOB_ID_LEN);
	id[0] = (uint8_t)(n >> 24);
	id[1] = (uint8_t)(n >> 16);
	id[2] = (uint8_t)(n >> 8);
	id[3] = (uint8_t)n;
	id[31] = 0xa5;
}

static struct catalog *
open_cat(size_t mapsize)
{
	char path[256], err[256];
	struct catalog *c;

	snprintf(path, sizeof(path), "%s/catalog", dir);
	if (catalog_open(path, mapsize, &c, err, sizeof(err)) != CAT_OK) {
		printf("# %s\n", err);
		return NULL;
	}
	return c;
}

/* The clients' names, "a,b,", into names; 0 or -1. */
static int
client_names(struct catalog *c, char *names)
{
	struct cat_client *v;
	size_t n;

	names[0] = '\0';
	if (catalog_clients(c, &v, &n) != CAT_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		strcat(names, v[i].name);
		strcat(names, ",");
	}
	free(v);
	return 0;
}

/* 1 when every listed client has a zero secret. */
static int
no_secrets_listed(struct catalog *c)
{
	static const uint8_t zero[CAT_SECRET_LEN];
	struct cat_client *v;
	size_t n;
	int clean = 1;

	if (catalog_clients(c, &v, &n) != CAT_OK)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].secret, zero, CAT_SECRET_LEN) != 0)
			clean = 0;
	free(v);
	return clean;
}

static void
test_clients(struct catalog *c)
{
	uint8_t tok1[CAT_SECRET_LEN], tok2[CAT_SECRET_LEN], secret[CAT_SECRET_LEN];
	struct cat_client cl;
	char names[256] = "";
	uint64_t id1 = 0, id2 = 0;

	ok(!catalog_name_valid(".") && !catalog_name_valid("..") &&
	    !catalog_name_valid("...") && catalog_name_valid(".a") &&
	    catalog_name_valid("a.."), "names of only dots are refused");
	ok(catalog_name_valid("a") && catalog_name_valid("A.b_c-9") &&
	    !catalog_name_valid("") && !catalog_name_valid("a/b") &&
	    !catalog_name_valid("a b") && !catalog_name_valid(
	    "12345678901234567890123456789012345678901234567890123456789012345"),
	    "names: 1..64 of A-Za-z0-9._-");
	memset(tok1, 1, sizeof(tok1));
	memset(tok2, 2, sizeof(tok2));
	memset(secret, 7, sizeof(secret));
	ok(catalog_client_add(c, "zed", tok1, 100, &id1) == CAT_OK && id1 > 0,
	    "add a client");
	ok(catalog_client_add(c, "zed", tok2, 100, NULL) == CAT_EXISTS,
	    "adding a taken name: CAT_EXISTS");
	ok(catalog_client_add(c, "bad/name", tok2, 100, NULL) == CAT_ERROR,
	    "adding an invalid name: CAT_ERROR");
	ok(catalog_client_add(c, "amy", tok2, 200, &id2) == CAT_OK &&
	    id2 != id1, "a second client gets another id");
	ok(catalog_client_get(c, "zed", &cl) == CAT_OK && cl.id == id1 &&
	    !cl.registered && !cl.disabled && cl.created == 100,
	    "get: unregistered, enabled, created time kept");
	ok(catalog_client_get(c, "nobody", &cl) == CAT_NOTFOUND,
	    "get of an unknown name: CAT_NOTFOUND");
	ok(client_names(c, names) == 0 && strcmp(names, "amy,zed,") == 0,
	    "clients are listed by name");

	ok(catalog_client_set_disabled(c, "amy", 1) == CAT_OK,
	    "disable amy");
	ok(catalog_register(c, tok2, secret, &cl) == CAT_DISABLED,
	    "a disabled client's token: CAT_DISABLED");
	ok(catalog_client_set_disabled(c, "amy", 0) == CAT_OK &&
	    catalog_register(c, tok2, secret, &cl) == CAT_OK &&
	    strcmp(cl.name, "amy") == 0 && cl.registered,
	    "after enable the token registers amy");
	ok(catalog_client_get(c, "amy", &cl) == CAT_OK && cl.registered &&
	    no_secrets_listed(c), "the list of clients carries no secrets");
	ok(catalog_register(c, tok2, secret, &cl) == CAT_NOTFOUND,
	    "a token is used once");
	ok(catalog_client_get(c, "amy", &cl) == CAT_OK &&
	    memcmp(cl.secret, secret, CAT_SECRET_LEN) == 0 && cl.registered,
	    "the secret is stored");
	ok(catalog_client_set_disabled(c, "nobody", 1) == CAT_NOTFOUND,
	    "disable of an unknown client: CAT_NOTFOUND");
}

static int
snap_cb(void *arg, const struct cat_snapshot *s)
{
	char *out = arg;
	char one[96];

	snprintf(one, sizeof(one), "%llu:%s,", (unsigned long long)s->id,
	    s->set);
	strcat(out, one);
	return 0;
}

static void
test_blobs_and_commits(struct catalog *c)
{
	struct cat_blob_add add[10];
	struct cat_blob loc[10];
	struct cat_snapshot snap, back;
	struct cat_client zed, amy;
	struct cat_usage u;
	uint8_t ids[10][BLOB_ID_LEN], found[10], ghost[BLOB_ID_LEN];
	char list[256];
	size_t missing = 99;

	catalog_client_get(c, "zed", &zed);
	catalog_client_get(c, "amy", &amy);
	memset(add, 0, sizeof(add));
	for (unsigned i = 0; i < 10; i++) {
		id_of(ids[i], i + 1);
		memcpy(add[i].id, ids[i], BLOB_ID_LEN);
		add[i].loc.pack = 3;
		add[i].loc.offset = 1000 * i;
		add[i].loc.length = 100 + i;
		add[i].loc.nlinks = i;
		add[i].loc.touched = 4000000000u + i;
	}
	ok(catalog_blobs_add(c, zed.id, add, 8) == CAT_OK, "index 8 blobs");
	ok(catalog_blobs_lookup(c, zed.id, (const uint8_t (*)[BLOB_ID_LEN])ids,
	    10, loc, found) == CAT_OK && found[0] && found[7] && !found[8] &&
	    !found[9], "lookup: 8 found, 2 not");
	ok(loc[5].pack == 3 && loc[5].offset == 5000 && loc[5].length == 105 &&
	    loc[5].nlinks == 5 && loc[5].touched == 4000000005u,
	    "lookup returns pack, offset, length, nlinks, touched (u32)");
	ok(catalog_blobs_lookup(c, amy.id, (const uint8_t (*)[BLOB_ID_LEN])ids,
	    10, NULL, found) == CAT_OK && !found[0] && !found[7],
	    "another client does not see them");
	add[9].loc.offset = (uint64_t)UINT32_MAX + 1;
	ok(catalog_blobs_add(c, zed.id, add + 9, 1) == CAT_ERROR,
	    "an offset past 2^32 is refused");

	/* A commit whose meta is missing writes nothing. */
	id_of(ghost, 999);
	memset(&snap, 0, sizeof(snap));
	strcpy(snap.set, "home");
	snap.time = 1234;
	memcpy(snap.root, ids[0], BLOB_ID_LEN);
	memcpy(snap.meta, ghost, BLOB_ID_LEN);
	ok(catalog_commit(c, zed.id, &snap, &missing) == CAT_MISSING &&
	    missing == 1, "commit with a missing meta: CAT_MISSING, 1 missing");
	list[0] = '\0';
	ok(catalog_snapshots(c, zed.id, NULL, 0, snap_cb, list) == CAT_OK &&
	    list[0] == '\0', "... and no snapshot");
	memcpy(snap.meta, ids[1], BLOB_ID_LEN);
	ok(catalog_commit(c, amy.id, &snap, &missing) == CAT_MISSING &&
	    missing == 2, "amy cannot commit zed's blobs");

	snap.files = 12;
	snap.size = 1 << 20;
	snap.new_bytes = 300;
	snap.new_blobs = 3;
	ok(catalog_commit(c, zed.id, &snap, &missing) == CAT_OK &&
	    snap.id == 1, "commit: id 1");
	ok(catalog_snapshot_get(c, zed.id, 1, &back) == CAT_OK &&
	    back.files == 12 && back.size == 1 << 20 && back.new_bytes == 300 &&
	    back.new_blobs == 3 && !back.has_legacy && back.time == 1234 &&
	    memcmp(back.root, ids[0], BLOB_ID_LEN) == 0 &&
	    memcmp(back.meta, ids[1], BLOB_ID_LEN) == 0 &&
	    strcmp(back.set, "home") == 0, "the snapshot row round-trips");
	strcpy(snap.set, "etc");
	snap.size = 5;
	ok(catalog_commit(c, zed.id, &snap, NULL) == CAT_OK && snap.id == 2,
	    "second commit: id 2");

	/* A legacy node: its id is the snapshot's, given in advance. */
	strcpy(snap.set, "old");
	snap.size = 7;
	snap.has_legacy = 1;
	memcpy(snap.legacy, ghost, BLOB_ID_LEN);
	snap.id = 3;
	ok(catalog_commit(c, zed.id, &snap, &missing) == CAT_MISSING &&
	    missing == 1, "a legacy node must be indexed too");
	memcpy(snap.legacy, ids[2], BLOB_ID_LEN);
	snap.id = 2;
	ok(catalog_commit(c, zed.id, &snap, NULL) == CAT_EXISTS,
	    "a legacy commit with a used id: CAT_EXISTS");
	snap.id = 5;
	ok(catalog_commit(c, zed.id, &snap, NULL) == CAT_OK && snap.id == 5,
	    "a legacy commit with a later id: that id (3, 4 skipped)");
	ok(catalog_snapshot_get(c, zed.id, 5, &back) == CAT_OK &&
	    back.has_legacy && memcmp(back.legacy, ids[2], BLOB_ID_LEN) == 0 &&
	    strcmp(back.set, "old") == 0 && back.size == 7,
	    "... its row names the legacy node");
	snap.has_legacy = 0;
	strcpy(snap.set, "etc");
	ok(catalog_commit(c, zed.id, &snap, NULL) == CAT_OK && snap.id == 6,
	    "the next commit gets id 6");
	ok(catalog_forget(c, zed.id, 6) == CAT_OK, "forget it");

	ok(catalog_blobs_add(c, zed.id, add, 3) == CAT_OK &&
	    catalog_blobs_lookup(c, zed.id, (const uint8_t (*)[BLOB_ID_LEN])ids,
	    1, loc, found) == CAT_OK && loc[0].touched == 4000000000u,
	    "indexing an id again keeps its entry");

	list[0] = '\0';
	catalog_snapshots(c, zed.id, NULL, 0, snap_cb, list);
	ok(strcmp(list, "1:home,2:etc,5:old,") == 0,
	    "snapshots: all, oldest first");
	list[0] = '\0';
	catalog_snapshots(c, zed.id, "etc", 0, snap_cb, list);
	ok(strcmp(list, "2:etc,") == 0, "snapshots: one set");
	list[0] = '\0';
	catalog_snapshots(c, zed.id, "", 1, snap_cb, list);
	ok(strcmp(list, "2:etc,5:old,") == 0, "snapshots: after 1");
	list[0] = '\0';
	catalog_snapshots(c, amy.id, "", 0, snap_cb, list);
	ok(list[0] == '\0', "amy sees none of zed's snapshots");

	ok(catalog_usage(c, zed.id, &u) == CAT_OK && u.snapshots == 3 &&
	    u.size == (1 << 20) + 5 + 7 && u.blobs == 8 &&
	    u.unique_bytes == 100 * 8 + 28,
	    "usage: snapshots, their sizes, blobs, unique bytes");

	ok(catalog_client_set_disabled(c, "zed", 1) == CAT_OK &&
	    catalog_commit(c, zed.id, &snap, NULL) == CAT_DISABLED,
	    "a disabled client cannot commit");
	ok(catalog_client_remove(c, "zed") == CAT_OK &&
	    catalog_client_get(c, "zed", &zed) == CAT_NOTFOUND,
	    "remove zed");
	ok(catalog_usage(c, zed.id, &u) == CAT_OK && u.snapshots == 0 &&
	    u.blobs == 0, "his snapshots and index entries are gone");
	ok(catalog_blobs_add(c, zed.id, add, 3) == CAT_OK &&
	    catalog_usage(c, zed.id, &u) == CAT_OK && u.blobs == 0,
	    "blobs of a removed client are not indexed");
	ok(catalog_client_remove(c, "zed") == CAT_NOTFOUND,
	    "remove again: CAT_NOTFOUND");
}

/* Pages and entries of every named database, read with LMDB directly. */
static int
db_weight(const char *sub, uint64_t *pages, uint64_t *entries)
{
	static const char *names[] = { "meta", "clients", "tokens", "blobs",
	    "snapshots", "policies", "peers", "usage", "days" };
	char path[256];
	MDB_env *env;
	MDB_txn *txn;
	int rc;

	*pages = *entries = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 16);
	mdb_env_set_mapsize(env, 1UL << 30);
	if ((rc = mdb_env_open(env, path, MDB_RDONLY, 0640)) == 0 &&
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) &&
		    rc == 0; i++) {
			MDB_dbi dbi;
			MDB_stat st;

			if ((rc = mdb_dbi_open(txn, names[i], 0, &dbi)) != 0 ||
			    (rc = mdb_stat(txn, dbi, &st)) != 0)
				break;
			*pages += st.ms_branch_pages + st.ms_leaf_pages +
			    st.ms_overflow_pages;
			*entries += st.ms_entries;
		}
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc == 0 ? 0 : -1;
}

/*
 * Start with a tiny map and write far more than fits; then a commit of
 * a snapshot that reaches 20000 blobs writes as much as one that
 * reaches one.
 */
static void
test_growth(void)
{
	static struct cat_blob_add add[1000];
	struct cat_snapshot snap;
	struct cat_client cl;
	struct catalog *c;
	struct cat_usage u;
	uint8_t tok[CAT_SECRET_LEN], one[BLOB_ID_LEN];
	uint64_t p0, e0, p1, e1, p2, e2;
	size_t before;
	int good = 1;

	if ((c = open_cat(64 * 1024)) == NULL) {
		ok(0, "reopen with a 64 KiB map");
		return;
	}
	before = catalog_mapsize(c);
	memset(tok, 9, sizeof(tok));
	catalog_client_add(c, "big", tok, 1, NULL);
	catalog_client_get(c, "big", &cl);
	memset(add, 0, sizeof(add));
	for (unsigned b = 0; b < 20 && good; b++) {
		for (unsigned i = 0; i < 1000; i++) {
			id_of(add[i].id, b * 1000 + i);
			add[i].loc.length = 1;
			/* A chain: each links to the next, the root to all. */
			add[i].loc.nlinks = b * 1000 + i == 0 ? 19999 : 1;
		}
		good = catalog_blobs_add(c, cl.id, add, 1000) == CAT_OK;
	}
	ok(good, "20000 index entries written through a 64 KiB map");
	ok(catalog_mapsize(c) > before, "the map grew");
	id_of(one, 0);
	memset(&snap, 0, sizeof(snap));
	strcpy(snap.set, "s");
	memcpy(snap.root, one, BLOB_ID_LEN);
	memcpy(snap.meta, one, BLOB_ID_LEN);
	snap.size = 20000;
	catalog_close(c);

	ok(db_weight("catalog", &p0, &e0) == 0, "weigh the catalog");
	c = open_cat(0);
	ok(c != NULL && catalog_commit(c, cl.id, &snap, NULL) == CAT_OK,
	    "commit a snapshot whose root reaches 20000 blobs");
	catalog_close(c);
	ok(db_weight("catalog", &p1, &e1) == 0 && e1 == e0 + 1 &&
	    p1 <= p0 + 1, "... one entry more, at most one page more");
	id_of(one, 19999);
	memcpy(snap.root, one, BLOB_ID_LEN);
	memcpy(snap.meta, one, BLOB_ID_LEN);
	snap.size = 1;
	c = open_cat(0);
	ok(c != NULL && catalog_commit(c, cl.id, &snap, NULL) == CAT_OK,
	    "commit a snapshot whose root is one blob");
	catalog_close(c);
	ok(db_weight("catalog", &p2, &e2) == 0 && e2 == e1 + 1 &&
	    p2 - p1 <= p1 - p0 + 1, "... costs the same: a commit is O(1)");
	printf("# pages %llu -> %llu -> %llu\n", (unsigned long long)p0,
	    (unsigned long long)p1, (unsigned long long)p2);
	c = open_cat(0);
	ok(c != NULL && catalog_usage(c, cl.id, &u) == CAT_OK &&
	    u.blobs == 20000 && u.size == 20001 && u.snapshots == 2,
	    "everything is there");
	catalog_close(c);
}

/* Two processes, each with its own environment, write at once. */
static void
test_two_writers(void)
{
	struct cat_blob_add add;
	struct catalog *c;
	struct cat_client cl;
	struct cat_usage u;
	uint8_t tok[CAT_SECRET_LEN];
	int status = -1;
	pid_t pid;

	if ((c = open_cat(0)) == NULL) {
		ok(0, "open");
		return;
	}
	memset(tok, 10, sizeof(tok));
	catalog_client_add(c, "pair", tok, 1, NULL);
	catalog_client_get(c, "pair", &cl);
	catalog_close(c);
	memset(&add, 0, sizeof(add));
	add.loc.length = 1;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		int bad = 0;

		if ((c = open_cat(0)) == NULL)
			_exit(2);
		for (unsigned i = 0; i < 300; i++) {
			id_of(add.id, 100000 + i);
			bad |= catalog_blobs_add(c, cl.id, &add, 1) != CAT_OK;
		}
		catalog_close(c);
		_exit(bad);
	}
	if ((c = open_cat(0)) == NULL) {
		ok(0, "open");
		return;
	}
	for (unsigned i = 0; i < 300; i++) {
		id_of(add.id, 200000 + i);
		catalog_blobs_add(c, cl.id, &add, 1);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a second process writes beside the first");
	ok(catalog_usage(c, cl.id, &u) == CAT_OK && u.blobs == 600,
	    "both processes' entries are there");
	catalog_close(c);
}

/*
 * Indexing linked blobs: the links are checked in the same transaction
 * (a link not indexed fails the whole batch), each new linked blob gets
 * one recent row, and the rows written do not grow with the links: k
 * pages cost O(k) records whatever their link counts; a commit costs
 * O(1) records.
 */
static void
test_linked(struct catalog *c)
{
	static uint8_t links[2000][BLOB_ID_LEN];
	static struct cat_blob_add chunks[1000];
	uint8_t tok[CAT_SECRET_LEN], found[4], ids[4][BLOB_ID_LEN];
	uint8_t (*pl)[BLOB_ID_LEN];
	struct cat_blob_add pages[4];
	struct cat_blob loc[1000];
	struct cat_snapshot snap;
	uint64_t id, seq0, seq1, w, wk[2];
	size_t missing, nch = 1000;
	int same = 1;

	memset(tok, 0x78, sizeof(tok));
	catalog_client_add(c, "linked", tok, 1, &id);
	memset(chunks, 0, sizeof(chunks));
	for (size_t i = 0; i < nch; i++) {
		id_of(chunks[i].id, 70000 + (unsigned)i);
		chunks[i].loc.pack = 9;
		chunks[i].loc.offset = i * 100;
		chunks[i].loc.length = 10;
		chunks[i].loc.touched = 1000;
		memcpy(links[i], chunks[i].id, BLOB_ID_LEN);
	}
	ok(catalog_blobs_add(c, id, chunks, nch) == CAT_OK,
	    "linked: 1000 chunks indexed");
	memset(pages, 0, sizeof(pages));
	for (int i = 0; i < 4; i++) {
		id_of(ids[i], 80000 + (unsigned)i);
		memcpy(pages[i].id, ids[i], BLOB_ID_LEN);
		pages[i].loc.pack = 9;
		pages[i].loc.offset = 200000 + (uint64_t)i * 100;
		pages[i].loc.length = 10;
		pages[i].loc.touched = 5000;
	}

	/* A link never indexed (or freed since): nothing of the batch. */
	id_of(links[1000], 99999);
	catalog_recent_seq(c, &seq0);
	pages[0].loc.nlinks = 1;
	pages[1].loc.nlinks = 1;
	ok(catalog_blobs_add_linked(c, id, pages, 2,
	    (const uint8_t (*)[BLOB_ID_LEN])links + 999, &missing) ==
	    CAT_MISSING && missing == 1, "a batch whose page links to a blob "
	    "not indexed fails");
	catalog_blobs_lookup(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids, 2,
	    NULL, found);
	catalog_recent_seq(c, &seq1);
	ok(!found[0] && !found[1] && seq0 == seq1,
	    "... and indexes nothing, records nothing");

	/* A link in the same batch is fine. */
	pages[0].loc.nlinks = 1;
	pages[1].loc.nlinks = 1;
	memcpy(links[1000], ids[0], BLOB_ID_LEN);
	ok(catalog_blobs_add_linked(c, id, pages, 2,
	    (const uint8_t (*)[BLOB_ID_LEN])links + 999, &missing) ==
	    CAT_OK && missing == 0, "a page linking to a page of its batch");
	catalog_recent_seq(c, &seq1);
	ok(seq1 == seq0 + 2, "... two recent rows");

	/* k = 2 pages: of 1 link each, then of 1000 links each. */
	for (int round = 0; round < 2; round++) {
		uint32_t nl = round == 0 ? 1 : 1000;

		for (int i = 0; i < 2; i++) {
			id_of(pages[2 + i].id, 81000 + (unsigned)(round * 2 +
			    i));
			pages[2 + i].loc.nlinks = nl;
		}
		pl = round == 0 ? links + 10 : links;
		if (round == 1)
			memcpy(links + 1000, links, 1000 * BLOB_ID_LEN);
		w = catalog_writes(c);
		if (catalog_blobs_add_linked(c, id, pages + 2, 2,
		    (const uint8_t (*)[BLOB_ID_LEN])pl, NULL) != CAT_OK)
			same = 0;
		wk[round] = catalog_writes(c) - w;
	}
	printf("# 2 pages of 1 link: %llu writes; of 1000 links: %llu\n",
	    (unsigned long long)wk[0], (unsigned long long)wk[1]);
	ok(same && wk[0] == wk[1] && wk[0] <= 2 * 2 + 2,
	    "k pages write O(k) records (blob, recent row; counter, totals), "
	    "not O(links)");
	{
		static uint8_t fl[1000];
		int untouched = 1;

		catalog_blobs_lookup(c, id, (const uint8_t (*)[BLOB_ID_LEN])
		    links, nch, loc, fl);
		for (size_t i = 0; i < nch; i++)
			if (!fl[i] || loc[i].touched != 1000)
				untouched = 0;
		ok(untouched, "... and the links are not touched");
	}

	/* A commit: O(1) records, whatever its root reaches. */
	memset(&snap, 0, sizeof(snap));
	snprintf(snap.set, sizeof(snap.set), "s");
	memcpy(snap.root, pages[3].id, BLOB_ID_LEN);
	memcpy(snap.meta, chunks[0].id, BLOB_ID_LEN);
	w = catalog_writes(c);
	ok(catalog_commit(c, id, &snap, NULL) == CAT_OK &&
	    catalog_writes(c) - w <= 5, "a commit of a root with 1000 "
	    "links writes at most 5 records");
	printf("# commit: %llu writes\n",
	    (unsigned long long)(catalog_writes(c) - w));
	catalog_blobs_lookup(c, id, (const uint8_t (*)[BLOB_ID_LEN])links + 1,
	    1, loc, found);
	ok(found[0] && loc[0].touched == 1000, "... and touches no link");
}

/*
 * Forget, HAVE touching, freeing with a grace cutoff, moving, policies
 * and allow-forget.
 */
static void
test_lifecycle(struct catalog *c)
{
	uint8_t tok[CAT_SECRET_LEN], ids[3][BLOB_ID_LEN], found[3];
	uint8_t spared[3];
	struct cat_blob_add add[3];
	struct cat_blob loc[3];
	struct cat_snapshot snap;
	struct cat_client cl;
	struct cat_move mv;
	struct retention p, q;
	uint64_t id, bytes, t0;
	size_t n;

	memset(tok, 0x77, sizeof(tok));
	memset(add, 0, sizeof(add));
	catalog_client_add(c, "life", tok, 1, &id);
	for (int i = 0; i < 3; i++) {
		id_of(ids[i], 9000 + (unsigned)i);
		memcpy(add[i].id, ids[i], BLOB_ID_LEN);
		add[i].loc.pack = 5;
		add[i].loc.offset = (uint64_t)i * 100;
		add[i].loc.length = 10;
		add[i].loc.touched = 1000 + (uint64_t)i * 1000;
	}
	ok(catalog_blobs_add(c, id, add, 3) == CAT_OK, "lifecycle: 3 blobs");

	/* HAVE touches the hits older than stale, whatever holds them. */
	ok(catalog_blobs_have(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids, 3,
	    5000, 2500, found) == CAT_OK && found[0] && found[2],
	    "HAVE finds all");
	catalog_blobs_lookup(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids, 3, loc,
	    found);
	ok(loc[0].touched == 5000 && loc[1].touched == 5000 &&
	    loc[2].touched == 3000,
	    "HAVE touched the stale hits only (1000, 2000 -> 5000; 3000 kept)");
	ok(catalog_blobs_free(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids, 3,
	    2999, NULL, spared, &n, &bytes) == CAT_OK && n == 0 && spared[0] &&
	    spared[1] && spared[2],
	    "free with a cutoff before the touches frees nothing, spares all");

	t0 = (uint64_t)time(NULL);
	memset(&snap, 0, sizeof(snap));
	snprintf(snap.set, sizeof(snap.set), "s");
	memcpy(snap.root, ids[0], BLOB_ID_LEN);
	memcpy(snap.meta, ids[1], BLOB_ID_LEN);
	ok(catalog_commit(c, id, &snap, NULL) == CAT_OK,
	    "lifecycle: commit of ids 0 and 1");
	catalog_blobs_lookup(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids, 3, loc,
	    found);
	ok(loc[0].touched >= t0 && loc[1].touched >= t0 &&
	    loc[2].touched == 3000,
	    "a commit touches its root and meta (now), nothing else");

	ok(catalog_forget(c, id, snap.id) == CAT_OK, "forget the snapshot");
	ok(catalog_forget(c, id, snap.id) == CAT_NOTFOUND, "forget again: "
	    "not found");
	ok(catalog_snapshot_get(c, id, snap.id, &snap) == CAT_NOTFOUND,
	    "the snapshot row is gone");
	catalog_blobs_lookup(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids, 3, loc,
	    found);
	ok(found[0] && found[1] && found[2], "forget leaves the index alone");
	ok(catalog_blobs_free(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids, 3,
	    4999, NULL, spared, &n, &bytes) == CAT_OK && n == 1 &&
	    bytes == 10 &&
	    spared[0] && spared[1] && !spared[2],
	    "free: the one touched at most at the cutoff goes, the others "
	    "stay");
	catalog_blobs_lookup(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids, 3, loc,
	    found);
	ok(found[0] && found[1] && !found[2], "index after the free");
	ok(catalog_blobs_free(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids, 3,
	    (uint64_t)time(NULL) + 10, NULL, spared, &n, &bytes) == CAT_OK &&
	    n == 2 && bytes == 20 &&
	    !spared[0] && !spared[1] && !spared[2],
	    "free with a later cutoff: the rest go; one gone is not spared");
	ok(catalog_blobs_add(c, id, add + 2, 1) == CAT_OK, "index one again");

	/* Move: only from the expected place. */
	memset(&mv, 0, sizeof(mv));
	mv.client = id;
	memcpy(mv.id, ids[2], BLOB_ID_LEN);
	mv.from_pack = 5;
	mv.from_offset = 999;
	mv.pack = 6;
	ok(catalog_blobs_move(c, &mv, 1, &n) == CAT_OK && n == 0,
	    "move from a wrong place does nothing");
	mv.from_offset = 200;
	mv.offset = 48;
	ok(catalog_blobs_move(c, &mv, 1, &n) == CAT_OK && n == 1,
	    "move from the right place");
	catalog_blobs_lookup(c, id, (const uint8_t (*)[BLOB_ID_LEN])ids + 2, 1,
	    loc, found);
	ok(loc[0].pack == 6 && loc[0].offset == 48 && loc[0].touched == 3000 &&
	    loc[0].length == 10, "moved: new place, the rest kept");

	/* Policies and allow-forget. */
	memset(&p, 0, sizeof(p));
	p.daily = 7;
	ok(catalog_policy_get(c, id, "s", &q) == CAT_NOTFOUND, "no policy");
	ok(catalog_policy_set(c, "life", "", &p) == CAT_OK, "client default");
	ok(catalog_policy_get(c, id, "s", &q) == CAT_OK && q.daily == 7,
	    "a set without its own policy gets the client default");
	p.last = 3;
	ok(catalog_policy_set(c, "life", "s", &p) == CAT_OK &&
	    catalog_policy_get(c, id, "s", &q) == CAT_OK && q.last == 3,
	    "the set's own policy wins");
	ok(catalog_policy_set(c, "nobody", "", &p) == CAT_NOTFOUND,
	    "policy of an unknown client");
	ok(catalog_policy_set(c, "life", "bad/set", &p) == CAT_ERROR,
	    "invalid set name");
	ok(catalog_policy_clear(c, "life", "s") == CAT_OK &&
	    catalog_policy_clear(c, "life", "s") == CAT_NOTFOUND,
	    "policy clear, then not found");
	ok(catalog_client_set_allow_forget(c, "life", 1) == CAT_OK &&
	    catalog_client_get(c, "life", &cl) == CAT_OK && cl.allow_forget &&
	    !cl.disabled, "allow-forget set, disabled untouched");
	ok(catalog_client_remove(c, "life") == CAT_OK &&
	    catalog_policy_get(c, id, "", &q) == CAT_NOTFOUND,
	    "removing the client removes its policies");
}

struct peer_seen {
	int		 n;
	struct cat_peer	 first, last;
};

static int
peer_cb(void *arg, const struct cat_peer *p)
{
	struct peer_seen *ps = arg;

	if (ps->n++ == 0)
		ps->first = *p;
	ps->last = *p;
	return 0;
}

/* The peers table: replaced whole, read back in id order, counters. */
static void
test_peers(struct catalog *c)
{
	struct cat_peer v[3];
	struct peer_seen ps;
	uint64_t stats[CAT_PEER_STATS], got[CAT_PEER_STATS];

	memset(&ps, 0, sizeof(ps));
	ok(catalog_peers(c, peer_cb, &ps, got) == CAT_OK && ps.n == 0 &&
	    got[0] == 0 && got[CAT_PEER_STATS - 1] == 0,
	    "peers: none stored yet, counters 0");
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 3; i++) {
		v[i].id[0] = (uint8_t)(3 - i);	/* stored out of order */
		snprintf(v[i].name, sizeof(v[i].name), "peer-%d", i);
		v[i].naddrs = 2;
		snprintf(v[i].addrs[0], CAT_PEER_ADDR_MAX, "10.0.0.%d", i);
		snprintf(v[i].addrs[1], CAT_PEER_ADDR_MAX, "fd00::%d", i);
		v[i].port_backup = 32004;
		v[i].port_ui = 32005;
		v[i].source = CAT_PEER_TCP;
		v[i].hops = 1;
		v[i].first_seen = 100;
		v[i].last_seen = 200 + (uint64_t)i;
		v[i].via[0] = 9;
		snprintf(v[i].via_name, sizeof(v[i].via_name), "teller");
	}
	for (int i = 0; i < CAT_PEER_STATS; i++)
		stats[i] = (uint64_t)i * 1000;
	ok(catalog_peers_replace(c, v, 3, stats, CAT_PEER_STATS) == CAT_OK,
	    "peers: store three and the counters");
	memset(&ps, 0, sizeof(ps));
	ok(catalog_peers(c, peer_cb, &ps, got) == CAT_OK && ps.n == 3,
	    "peers: three read back");
	ok(ps.first.id[0] == 1 && ps.last.id[0] == 3, "peers: in id order");
	ok(strcmp(ps.first.name, "peer-2") == 0 && ps.first.naddrs == 2 &&
	    strcmp(ps.first.addrs[1], "fd00::2") == 0 &&
	    ps.first.port_ui == 32005 && ps.first.source == CAT_PEER_TCP &&
	    ps.first.hops == 1 && ps.first.last_seen == 202 &&
	    ps.first.via[0] == 9 && strcmp(ps.first.via_name, "teller") == 0,
	    "peers: every field round-trips");
	ok(got[5] == 5000 && got[CAT_PEER_STATS - 1] ==
	    (CAT_PEER_STATS - 1) * 1000ull, "peers: counters round-trip");
	ok(catalog_peers_replace(c, &v[1], 1, stats, 2) == CAT_OK,
	    "peers: replace with one");
	memset(&ps, 0, sizeof(ps));
	ok(catalog_peers(c, peer_cb, &ps, got) == CAT_OK && ps.n == 1 &&
	    strcmp(ps.first.name, "peer-1") == 0,
	    "peers: the old rows are gone");
	ok(catalog_peers_replace(c, NULL, 0, NULL, 0) == CAT_OK,
	    "peers: replace with none");
	memset(&ps, 0, sizeof(ps));
	ok(catalog_peers(c, peer_cb, &ps, NULL) == CAT_OK && ps.n == 0,
	    "peers: empty again");
}

/* A new token for an existing client: it can register again. */
static void
test_token_reissue(struct catalog *c)
{
	uint8_t tok[CAT_SECRET_LEN], tok2[CAT_SECRET_LEN], secret[CAT_SECRET_LEN];
	struct cat_client cl;

	id_of(tok, 7001);
	id_of(tok2, 7002);
	memset(secret, 0x42, sizeof(secret));
	ok(catalog_client_token(c, "nobody-here", tok) == CAT_NOTFOUND,
	    "client token: no such client");
	ok(catalog_client_add(c, "again", tok, 1, NULL) == CAT_OK &&
	    catalog_register(c, tok, secret, &cl) == CAT_OK,
	    "client token: a client registers");
	ok(catalog_register(c, tok, secret, &cl) == CAT_NOTFOUND,
	    "client token: its token is used up");
	ok(catalog_client_token(c, "again", tok2) == CAT_OK,
	    "client token: a new token for it");
	memset(secret, 0x43, sizeof(secret));
	ok(catalog_register(c, tok2, secret, &cl) == CAT_OK &&
	    strcmp(cl.name, "again") == 0 && cl.secret[0] == 0x43,
	    "client token: it registers again, with a new secret");
	ok(catalog_client_get(c, "again", &cl) == CAT_OK &&
	    cl.secret[0] == 0x43, "client token: the new secret is stored");
	ok(catalog_client_token(c, "again", tok) == CAT_OK &&
	    catalog_client_token(c, "again", tok2) == CAT_OK &&
	    catalog_register(c, tok, secret, &cl) == CAT_NOTFOUND,
	    "client token: a newer token replaces an unused one");
}

/*
 * catalog_open_for(): a handle that may write the peers table only (the
 * discovery child's) writes it, and is refused every other write with
 * nothing written; a handle for clients, tokens and meta (no peers)
 * adds a client and cannot touch the peers.
 */
static void
test_open_for(void)
{
	char path[256], err[256];
	struct catalog *peers = NULL, *cls = NULL;
	struct cat_peer p;
	struct cat_client cl;
	struct peer_seen ps;
	uint8_t tok[CAT_SECRET_LEN];
	uint64_t w;

	snprintf(path, sizeof(path), "%s/openfor", dir);
	ok(catalog_open_for(path, 0, CAT_T_PEERS, &peers, err,
	    sizeof(err)) == CAT_OK, "open for: a new catalog, peers only");
	if (peers == NULL)
		return;
	memset(&p, 0, sizeof(p));
	p.id[0] = 7;
	snprintf(p.name, sizeof(p.name), "seven");
	ok(catalog_peers_replace(peers, &p, 1, NULL, 0) == CAT_OK,
	    "open for: peers only: the peers table is written");
	id_of(tok, 9001);
	w = catalog_writes(peers);
	ok(catalog_client_add(peers, "eve", tok, 1, NULL) == CAT_ERROR &&
	    strstr(catalog_strerror(peers), "may not write") != NULL,
	    "open for: peers only: adding a client is refused");
	printf("# %s\n", catalog_strerror(peers));
	ok(catalog_writes(peers) == w &&
	    catalog_client_get(peers, "eve", &cl) == CAT_NOTFOUND,
	    "open for: ... and nothing of it is written");
	ok(catalog_open_for(path, 0, CAT_T_META | CAT_T_CLIENTS |
	    CAT_T_TOKENS, &cls, err, sizeof(err)) == CAT_OK,
	    "open for: the same catalog, clients, tokens and meta");
	if (cls != NULL) {
		ok(catalog_client_add(cls, "eve", tok, 1, NULL) == CAT_OK &&
		    catalog_client_get(peers, "eve", &cl) == CAT_OK,
		    "open for: that one adds the client, the other reads it");
		ok(catalog_peers_replace(cls, NULL, 0, NULL, 0) == CAT_ERROR,
		    "open for: ... and may not replace the peers");
		memset(&ps, 0, sizeof(ps));
		ok(catalog_peers(cls, peer_cb, &ps, NULL) == CAT_OK &&
		    ps.n == 1 && strcmp(ps.first.name, "seven") == 0,
		    "open for: the peers are still there");
	}
	catalog_close(cls);
	catalog_close(peers);
}

/* ------------------------------------------------ totals and day stats */

static struct catalog *
open_sub(const char *sub)
{
	char path[256], err[256];
	struct catalog *c;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (catalog_open(path, 0, &c, err, sizeof(err)) != CAT_OK) {
		printf("# %s\n", err);
		return NULL;
	}
	return c;
}

static int
sum_cb(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	uint64_t *sum = arg;

	(void)client;
	(void)id;
	*sum += loc->length;
	return 0;
}

/* Unique bytes counted the slow way, to check the running totals. */
static uint64_t
scanned_unique(struct catalog *c)
{
	uint64_t sum = 0;

	if (catalog_blobs_scan(c, sum_cb, &sum) != CAT_OK)
		return UINT64_MAX;
	return sum;
}

static int
totals_are(struct catalog *c, uint64_t clients, uint64_t snapshots,
    uint64_t stored, uint64_t unique)
{
	struct cat_totals t;

	if (catalog_totals(c, &t) != CAT_OK) {
		printf("# %s\n", catalog_strerror(c));
		return 0;
	}
	if (t.clients == clients && t.snapshots == snapshots &&
	    t.size == stored && t.unique_bytes == unique &&
	    scanned_unique(c) == unique)
		return 1;
	printf("# totals: %llu clients, %llu snapshots, %llu stored, %llu "
	    "unique (scan %llu)\n", (unsigned long long)t.clients,
	    (unsigned long long)t.snapshots,
	    (unsigned long long)t.size,
	    (unsigned long long)t.unique_bytes,
	    (unsigned long long)scanned_unique(c));
	return 0;
}

/*
 * Change the catalog with LMDB directly: drop meta key (NULL: none),
 * and with bogus_usage put a wrong usage record.
 */
static int
tamper(const char *sub, const char *drop, int bogus_usage)
{
	char path[256];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, usage;
	MDB_val k, d;
	uint8_t bogus[32];
	int rc;

	memset(bogus, 0x11, sizeof(bogus));
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 16);
	if (mdb_env_open(env, path, 0, 0640) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0) {
		mdb_env_close(env);
		return -1;
	}
	rc = mdb_dbi_open(txn, "meta", 0, &meta);
	if (rc == 0 && drop != NULL) {
		k.mv_size = strlen(drop);
		k.mv_data = (void *)drop;
		rc = mdb_del(txn, meta, &k, NULL);
	}
	if (rc == 0 && bogus_usage)
		rc = mdb_dbi_open(txn, "usage", 0, &usage);
	if (rc == 0 && bogus_usage) {
		/* One wrong record: the rebuild must replace it. */
		k.mv_size = 8;
		k.mv_data = bogus;
		d.mv_size = sizeof(bogus);
		d.mv_data = bogus;
		rc = mdb_put(txn, usage, &k, &d, 0);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc == 0 ? 0 : -1;
}

/* A 0.1.0 catalog is refused; so is a damaged one, each saying what to do. */
static void
test_formats(void)
{
	char path[256], err[256];
	struct catalog *c;
	uint8_t junk[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/stats", dir);
	err[0] = '\0';
	ok(tamper("stats", "format", 0) == 0 &&
	    catalog_open(path, 0, &c, err, sizeof(err)) == CAT_OLDFORMAT &&
	    c == NULL && strstr(err, "gigavaultctl upgrade") != NULL,
	    "a catalog without \"format\" that has data (0.1.0): "
	    "CAT_OLDFORMAT, naming gigavaultctl upgrade");
	printf("# %s\n", err);
	ok(catalog_open(path, 0, &c, err, sizeof(err)) == CAT_OLDFORMAT,
	    "... and it stays refused (nothing was written)");
	snprintf(path, sizeof(path), "%s/fresh", dir);
	ok(catalog_open(path, 0, &c, err, sizeof(err)) == CAT_OK,
	    "a new catalog opens");
	catalog_close(c);
	ok(tamper("fresh", "format", 0) == 0 &&
	    catalog_open(path, 0, &c, err, sizeof(err)) == CAT_OK,
	    "one without \"format\" and without data gets it");
	catalog_close(c);
	snprintf(path, sizeof(path), "%s/junk", dir);
	memset(junk, 0x5a, sizeof(junk));
	if (mkdir(path, 0750) == 0) {
		snprintf(path, sizeof(path), "%s/junk/data.mdb", dir);
		if ((f = fopen(path, "w")) != NULL) {
			if (fwrite(junk, 1, sizeof(junk), f) != sizeof(junk))
				printf("# short write\n");
			fclose(f);
		}
	}
	snprintf(path, sizeof(path), "%s/junk", dir);
	err[0] = '\0';
	ok(catalog_open(path, 0, &c, err, sizeof(err)) == CAT_ERROR &&
	    strstr(err, "gigavaultctl rebuild-catalog") != NULL,
	    "an unreadable catalog: CAT_ERROR, naming gigavaultctl "
	    "rebuild-catalog");
	printf("# %s\n", err);
}

static void
test_totals_and_days(void)
{
	struct cat_blob_add add[6];
	struct cat_snapshot snap, back;
	struct cat_usage u;
	struct cat_day days[5];
	struct cat_move mv;
	struct catalog *c;
	uint8_t tok[CAT_SECRET_LEN], ids[6][BLOB_ID_LEN];
	uint64_t a = 0, b = 0;
	size_t freed = 0, moved = 0;
	uint64_t fbytes = 0;

	if ((c = open_sub("stats")) == NULL) {
		ok(0, "open a catalog for the totals");
		return;
	}
	ok(totals_are(c, 0, 0, 0, 0), "totals of an empty catalog: zeros");
	memset(tok, 0x31, sizeof(tok));
	catalog_client_add(c, "a", tok, 1, &a);
	memset(tok, 0x32, sizeof(tok));
	catalog_client_add(c, "b", tok, 1, &b);
	memset(add, 0, sizeof(add));
	for (unsigned i = 0; i < 6; i++) {
		id_of(ids[i], 100 + i);
		memcpy(add[i].id, ids[i], BLOB_ID_LEN);
		add[i].loc.pack = 1;
		add[i].loc.offset = 100 * i;
		add[i].loc.length = 10 * (i + 1);	/* 10..60 */
	}
	ok(catalog_blobs_add(c, a, add, 4) == CAT_OK &&
	    catalog_blobs_add(c, b, add + 4, 2) == CAT_OK &&
	    totals_are(c, 2, 0, 0, 100 + 110), "totals: indexed blobs count "
	    "as unique bytes");
	ok(catalog_blobs_add(c, a, add, 4) == CAT_OK &&
	    totals_are(c, 2, 0, 0, 210), "indexing the same ids again "
	    "changes nothing");

	memset(&snap, 0, sizeof(snap));
	strcpy(snap.set, "s");
	snap.time = 5;
	memcpy(snap.root, ids[0], BLOB_ID_LEN);
	memcpy(snap.meta, ids[1], BLOB_ID_LEN);
	snap.files = 7;
	snap.size = 60;
	snap.new_bytes = 60;
	ok(catalog_commit(c, a, &snap, NULL) == CAT_OK && snap.id == 1 &&
	    totals_are(c, 2, 1, 60, 210),
	    "a commit adds a snapshot and its size");
	ok(catalog_snapshot_get(c, a, 1, &back) == CAT_OK &&
	    back.files == 7 && back.new_bytes == 60 && back.size == 60 &&
	    strcmp(back.set, "s") == 0,
	    "snapshot files, size and new_bytes round trip");
	snap.files = 0;
	snap.size = 100;
	snap.new_bytes = UINT64_MAX;
	ok(catalog_commit(c, a, &snap, NULL) == CAT_OK && snap.id == 2 &&
	    totals_are(c, 2, 2, 160, 210) &&
	    catalog_snapshot_get(c, a, 2, &back) == CAT_OK &&
	    back.files == 0 && back.new_bytes == UINT64_MAX,
	    "a second commit; extreme files and new_bytes kept");
	ok(catalog_usage(c, a, &u) == CAT_OK && u.snapshots == 2 &&
	    u.size == 160 && u.blobs == 4 && u.unique_bytes == 100,
	    "usage of one client from the running totals");

	ok(catalog_forget(c, a, 1) == CAT_OK && totals_are(c, 2, 1, 100, 210),
	    "forget takes the snapshot and its size off");
	ok(catalog_forget(c, a, 2) == CAT_OK && totals_are(c, 2, 0, 0, 210),
	    "forgetting the last one: unique bytes stay until prune frees");
	ok(catalog_blobs_free(c, a, (const uint8_t (*)[BLOB_ID_LEN])ids, 2,
	    UINT64_MAX, NULL, NULL, &freed, &fbytes) == CAT_OK && freed == 2 &&
	    fbytes == 30 && totals_are(c, 2, 0, 0, 180),
	    "freeing blobs takes their bytes off");
	memset(&mv, 0, sizeof(mv));
	mv.client = a;
	memcpy(mv.id, ids[2], BLOB_ID_LEN);
	mv.from_pack = 1;
	mv.from_offset = 200;
	mv.pack = 9;
	mv.offset = 0;
	ok(catalog_blobs_move(c, &mv, 1, &moved) == CAT_OK && moved == 1 &&
	    totals_are(c, 2, 0, 0, 180), "moving a blob keeps the totals");
	ok(catalog_client_remove(c, "b") == CAT_OK &&
	    totals_are(c, 1, 0, 0, 70), "removing a client takes its bytes "
	    "off");

	/* Days. */
	ok(catalog_day_add(c, 3 * CAT_DAY_SECONDS + 5, 1, 100, 200) ==
	    CAT_OK && catalog_day_add(c, 4 * CAT_DAY_SECONDS - 1, 2, 1, 2) ==
	    CAT_OK, "add sessions to day 3");
	snap.new_bytes = 0;
	snap.size = 70;
	memcpy(snap.root, ids[2], BLOB_ID_LEN);
	memcpy(snap.meta, ids[3], BLOB_ID_LEN);
	catalog_commit(c, a, &snap, NULL);
	ok(catalog_blobs_add(c, a, add, 1) == CAT_OK &&
	    catalog_day_add(c, 5 * CAT_DAY_SECONDS, 1, 7, 8) == CAT_OK,
	    "add a session to day 5, after more blobs");
	memset(days, 0xff, sizeof(days));
	ok(catalog_days(c, 2, 5, days) == CAT_OK, "read days 2..6");
	ok(days[0].day == 2 && days[0].sessions == 0 &&
	    days[0].bytes_in == 0 && days[0].bytes_out == 0 &&
	    days[0].unique_bytes == 0, "a day without sessions: zeros, day set");
	ok(days[1].day == 3 && days[1].sessions == 3 &&
	    days[1].bytes_in == 101 && days[1].bytes_out == 202 &&
	    days[1].unique_bytes == 70, "day 3: sums, and the unique bytes "
	    "of its last update");
	ok(days[2].day == 4 && days[2].sessions == 0 && days[3].day == 5 &&
	    days[3].sessions == 1 && days[3].bytes_in == 7 &&
	    days[3].bytes_out == 8 && days[3].unique_bytes == 80 &&
	    days[4].day == 6 && days[4].sessions == 0,
	    "days 4..6 in order, day 5 with the blobs added since");
	ok(catalog_days(c, UINT32_MAX, 2, days) == CAT_ERROR &&
	    catalog_days(c, UINT32_MAX, 1, days) == CAT_OK &&
	    days[0].day == UINT32_MAX && catalog_days(c, 0, 0, NULL) ==
	    CAT_OK, "days: the range is checked");
	ok(catalog_day_add(c, ((uint64_t)UINT32_MAX + 1) * CAT_DAY_SECONDS,
	    1, 0, 0) == CAT_ERROR, "day_add: a time past the last day fails");
	ok(totals_are(c, 1, 1, 70, 80), "totals before making it old");
	catalog_close(c);

	/* Totals lost: they are built on open. */
	ok(tamper("stats", "usage_v1", 1) == 0, "drop \"usage_v1\" and "
	    "put a wrong usage record with LMDB directly");
	if ((c = open_sub("stats")) == NULL) {
		ok(0, "reopen the catalog");
		return;
	}
	ok(totals_are(c, 1, 1, 70, 80), "the totals are rebuilt on open (a "
	    "wrong record replaced)");
	ok(catalog_usage(c, a, &u) == CAT_OK && u.snapshots == 1 &&
	    u.size == 70 && u.blobs == 3 && u.unique_bytes == 80,
	    "... and the usage of its client");
	ok(catalog_forget(c, a, 3) == CAT_OK && totals_are(c, 1, 0, 0, 80),
	    "forgetting keeps the totals right");
	ok(catalog_days(c, 3, 1, days) == CAT_OK && days[0].sessions == 3,
	    "day stats survive");
	catalog_close(c);
}

/* ------------------------------------------------ jobs, agents, health */

/* A report of set with result at end (start a minute before). */
static int
report(struct catalog *c, uint64_t client, const char *set, int result,
    int64_t end, int64_t next_run, const char *error, uint64_t request,
    struct cat_jobrun *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->set, sizeof(r->set), "%s", set);
	r->start = end - 60;
	r->end = end;
	r->received = end + 1;
	r->result = result;
	r->next_run = next_run;
	r->request = request;
	r->files = 3;
	snprintf(r->error, sizeof(r->error), "%s", error);
	return catalog_job_add(c, client, r);
}

/* The health of one client's set (or the client's when set is NULL). */
static int
health_of(struct catalog *c, uint64_t client, const char *set, int64_t now,
    int64_t grace, struct cat_set_health *sh, struct cat_client_health *ch)
{
	struct cat_client_health *h;
	size_t n;
	int found = -1;

	if (catalog_health(c, client, now, grace, &h, &n) != CAT_OK ||
	    n != 1)
		return -1;
	if (ch != NULL) {
		*ch = h[0];
		ch->sets = NULL;
	}
	if (set == NULL)
		found = h[0].health;
	for (size_t i = 0; set != NULL && i < h[0].nsets; i++)
		if (strcmp(h[0].sets[i].set, set) == 0) {
			if (sh != NULL)
				*sh = h[0].sets[i];
			found = h[0].sets[i].health;
		}
	catalog_health_free(h, n);
	return found;
}

static void
test_jobs(void)
{
	struct catalog *c = open_sub("jobs");
	struct cat_jobrun r, *v;
	struct cat_agent_job jobs[2];
	struct cat_set_health sh;
	struct cat_client_health ch;
	struct cat_request *q;
	uint8_t tok[CAT_SECRET_LEN];
	uint64_t a, b, id, id2, first;
	const int64_t T = 1800000000, G = 600, I = 3600;
	struct cat_client cl;
	size_t n;
	int good;

	if (c == NULL) {
		ok(0, "jobs: open a catalog");
		return;
	}
	id_of(tok, 7001);
	ok(catalog_client_add(c, "ann", tok, 1, &a) == CAT_OK &&
	    (id_of(tok, 7002), catalog_client_add(c, "bob", tok, 1, &b)) ==
	    CAT_OK, "jobs: two clients");

	/* never: no report, no job */
	ok(health_of(c, a, NULL, T, G, NULL, &ch) == CAT_HEALTH_NEVER &&
	    ch.nsets == 0 && ch.agent_seen == 0,
	    "health: a client without reports or jobs is never");
	ok(strcmp(catalog_health_name(CAT_HEALTH_OK), "ok") == 0 &&
	    strcmp(catalog_health_name(CAT_HEALTH_NEVER), "never") == 0 &&
	    strcmp(catalog_health_name(CAT_HEALTH_OVERDUE), "overdue") == 0 &&
	    strcmp(catalog_health_name(CAT_HEALTH_FAILED), "failed") == 0,
	    "health names");

	/* An agent with a job, next run in the future: never. */
	memset(jobs, 0, sizeof(jobs));
	snprintf(jobs[0].set, sizeof(jobs[0].set), "home");
	jobs[0].next_run = T + 100;
	jobs[0].interval = I;
	ok(catalog_agent_seen(c, a, T, "ann-laptop", jobs, 1) == CAT_OK,
	    "agent seen: one job");
	ok(health_of(c, a, "home", T, G, &sh, &ch) == CAT_HEALTH_NEVER &&
	    sh.job && sh.next_run == T + 100 && sh.interval == I &&
	    ch.agent_seen == T && strcmp(ch.agent_name, "ann-laptop") == 0 &&
	    ch.next_run == T + 100,
	    "health: a job not run yet, its next run ahead: never");
	/* overdue by next_run + grace: at the boundary not yet, 1 s later */
	ok(health_of(c, a, "home", T + 100 + G, G, NULL, NULL) ==
	    CAT_HEALTH_NEVER, "health: at next_run + grace: not overdue yet");
	ok(health_of(c, a, "home", T + 100 + G + 1, G, NULL, NULL) ==
	    CAT_HEALTH_OVERDUE && health_of(c, a, NULL, T + 100 + G + 1, G,
	    NULL, NULL) == CAT_HEALTH_OVERDUE,
	    "health: 1 s past next_run + grace: overdue (set and client)");

	/* ok: a success, next run ahead */
	ok(report(c, a, "home", CAT_JOB_OK, T + 200, T + 200 + I, "", 0,
	    &r) == CAT_OK && r.seq == 1 && r.client == a,
	    "job add: the first report gets seq 1");
	ok(health_of(c, a, "home", T + 300, G, &sh, &ch) == CAT_HEALTH_OK &&
	    sh.last_success == T + 200 && sh.next_run == T + 200 + I &&
	    ch.last_success == T + 200, "health: after a success: ok");
	/* overdue by last_success + interval + grace (no next run known) */
	jobs[0].next_run = 0;
	ok(catalog_agent_seen(c, a, T + 300, "ann-laptop", jobs, 1) ==
	    CAT_OK, "agent seen: the job without a next run");
	ok(health_of(c, a, "home", T + 200 + I + G, G, NULL, NULL) ==
	    CAT_HEALTH_OK && health_of(c, a, "home", T + 200 + I + G + 1, G,
	    NULL, NULL) == CAT_HEALTH_OVERDUE,
	    "health: last success + interval + grace: ok at it, overdue 1 s "
	    "past");

	/* failed: the latest report a failure, with its text */
	ok(report(c, a, "home", CAT_JOB_FAILED, T + 400, T + 400 + I,
	    "disk on fire", 0, &r) == CAT_OK && r.seq == 2,
	    "job add: a failure");
	ok(health_of(c, a, "home", T + 500, G, &sh, &ch) ==
	    CAT_HEALTH_FAILED && sh.last_failure == T + 400 &&
	    strcmp(sh.last_error, "disk on fire") == 0 &&
	    sh.last_success == T + 200 && ch.health == CAT_HEALTH_FAILED &&
	    strcmp(ch.last_error, "disk on fire") == 0,
	    "health: after a failure: failed, with its message");
	/* a partial success after it: ok again, the failure remembered */
	ok(report(c, a, "home", CAT_JOB_PARTIAL, T + 600, T + 600 + I, "", 0,
	    &r) == CAT_OK && health_of(c, a, "home", T + 700, G, &sh, NULL) ==
	    CAT_HEALTH_OK && sh.last_failure == T + 400,
	    "health: a partial run after it: ok, last failure kept");
	ok(report(c, a, "home", CAT_JOB_CANCELLED, T + 800, T + 800 + I, "",
	    0, &r) == CAT_OK && health_of(c, a, "home", T + 900, G, &sh,
	    NULL) == CAT_HEALTH_FAILED && strcmp(sh.last_error,
	    "cancelled") == 0, "health: a cancelled run counts as failed");
	/* the client is the worst of its sets */
	ok(report(c, a, "etc", CAT_JOB_OK, T + 900, 0, "", 0, &r) == CAT_OK &&
	    health_of(c, a, "etc", T + 950, G, NULL, NULL) == CAT_HEALTH_OK &&
	    health_of(c, a, NULL, T + 950, G, NULL, NULL) ==
	    CAT_HEALTH_FAILED, "health: a client is its worst set's");
	/* a job dropped by the agent keeps its history, loses its plan */
	snprintf(jobs[0].set, sizeof(jobs[0].set), "etc");
	jobs[0].next_run = T + 5000;
	snprintf(jobs[1].set, sizeof(jobs[1].set), "new");
	ok(catalog_agent_seen(c, a, T + 1000, "ann-laptop", jobs, 2) ==
	    CAT_OK && health_of(c, a, "home", T + 1000, G, &sh, NULL) ==
	    CAT_HEALTH_FAILED && !sh.job && sh.next_run == 0 &&
	    health_of(c, a, "new", T + 1000, G, &sh, NULL) ==
	    CAT_HEALTH_NEVER && sh.job,
	    "agent seen: a set without a job keeps its history; a new job "
	    "is never");
	jobs[0] = jobs[1];
	ok(catalog_agent_seen(c, a, T + 1100, "ann-laptop", jobs, 1) ==
	    CAT_OK && health_of(c, a, "etc", T + 1100, G, NULL, NULL) ==
	    CAT_HEALTH_OK && health_of(c, a, "gone", T + 1100, G, NULL,
	    NULL) == -1, "agent seen: jobs replace the last poll's");

	/* history: newest first, paging with before, other clients apart */
	ok(catalog_jobs(c, a, 0, 100, &v, &n) == CAT_OK && n == 5 &&
	    v[0].seq == 5 && strcmp(v[0].set, "etc") == 0 && v[4].seq == 1 &&
	    v[3].result == CAT_JOB_FAILED &&
	    strcmp(v[3].error, "disk on fire") == 0 &&
	    v[3].received == T + 401 && v[3].files == 3,
	    "jobs: the client's reports, newest first, as stored");
	free(v);
	ok(catalog_jobs(c, a, 4, 2, &v, &n) == CAT_OK && n == 2 &&
	    v[0].seq == 3 && v[1].seq == 2, "jobs: before 4, at most 2");
	free(v);
	ok(catalog_jobs(c, b, 0, 100, &v, &n) == CAT_OK && n == 0 &&
	    v == NULL, "jobs: none of another client");
	ok(report(c, b, "home", CAT_JOB_OK, T + 2000, 0, "", 0, &r) ==
	    CAT_OK && r.seq == 1 && catalog_jobs(c, 0, 0, 3, &v, &n) ==
	    CAT_OK && n == 3 && v[0].client == b && v[1].client == a &&
	    v[1].seq == 5, "jobs: of every client, newest first");
	free(v);
	ok(report(c, 999, "home", CAT_JOB_OK, T, 0, "", 0, &r) ==
	    CAT_NOTFOUND, "job add: no such client");
	ok(report(c, a, "bad/set", CAT_JOB_OK, T, 0, "", 0, &r) ==
	    CAT_ERROR, "job add: a bad set name is refused");

	/* the bound: CAT_JOBS_KEPT per client, the oldest dropped */
	good = 1;
	for (int i = 0; i < CAT_JOBS_KEPT + 2 && good; i++)
		good = report(c, b, "bulk", CAT_JOB_OK, T + 3000 + i, 0, "", 0,
		    &r) == CAT_OK;
	ok(good && r.seq == CAT_JOBS_KEPT + 3,
	    "jobs: CAT_JOBS_KEPT + 2 more reports of one client");
	ok(catalog_jobs(c, b, 0, CAT_JOBS_KEPT + 10, &v, &n) == CAT_OK &&
	    n == CAT_JOBS_KEPT && v[0].seq == CAT_JOBS_KEPT + 3 &&
	    v[n - 1].seq == 4, "jobs: only the newest CAT_JOBS_KEPT kept");
	free(v);
	ok(catalog_jobs(c, a, 0, 100, &v, &n) == CAT_OK && n == 5,
	    "jobs: another client's history untouched");
	free(v);

	/* requests: queued, taken once, removed by the report naming it */
	ok(catalog_request_add(c, a, "etc", "gigavaultctl", T, &id) == CAT_OK &&
	    id >= 1, "request add");
	ok(catalog_request_add(c, a, "etc", "console: x", T, &id2) == CAT_OK &&
	    id2 == id, "request add: the same set not taken yet: the same "
	    "request");
	ok(catalog_request_add(c, a, "new", "console: x", T, &id2) == CAT_OK &&
	    id2 == id + 1, "request add: another set: a new id");
	ok(catalog_request_add(c, 999, "etc", "x", T, &first) == CAT_NOTFOUND,
	    "request add: no such client");
	ok(catalog_request_add(c, a, "a b", "x", T, &first) == CAT_ERROR,
	    "request add: a bad set name");
	ok(catalog_requests_take(c, b, T, &q, &n) == CAT_OK && n == 0 &&
	    q == NULL, "requests take: none for another client");
	ok(catalog_requests_take(c, a, T + 10, &q, &n) == CAT_OK && n == 2 &&
	    q[0].id == id && strcmp(q[0].set, "etc") == 0 &&
	    strcmp(q[0].by, "gigavaultctl") == 0 && q[0].taken == T + 10 &&
	    q[1].id == id + 1, "requests take: both, oldest first");
	free(q);
	ok(catalog_requests_take(c, a, T + 20, &q, &n) == CAT_OK && n == 0,
	    "requests take: each handed out once");
	ok(catalog_requests(c, a, &q, &n) == CAT_OK && n == 2 &&
	    q[0].taken == T + 10, "requests: still listed until reported");
	free(q);
	ok(catalog_request_add(c, a, "etc", "gigavaultctl", T + 25, &id2) ==
	    CAT_OK && id2 == id + 2, "request add: the set again after it was "
	    "taken: a new request");
	ok(report(c, a, "etc", CAT_JOB_OK, T + 30, 0, "", id, &r) == CAT_OK &&
	    catalog_requests(c, a, &q, &n) == CAT_OK && n == 2 &&
	    q[0].id == id + 1 && q[1].id == id + 2,
	    "requests: the report naming one removes it");
	free(q);
	ok(catalog_requests_take(c, a, T + 10 + 86400 + 1, &q, &n) ==
	    CAT_OK && n == 1 && q[0].id == id + 2,
	    "requests take: the one queued since");
	free(q);
	ok(catalog_requests(c, a, &q, &n) == CAT_OK && n == 1 &&
	    q[0].id == id + 2, "requests: one taken more than a day ago "
	    "and never reported is dropped");
	free(q);

	/* a client removed loses its rows */
	/*
	 * Who may write them: a handle opened for CAT_T_JOBS (and
	 * CAT_T_HISTORY: a report is a history row too), no other.
	 * (One environment open at a time in a process, as LMDB wants.)
	 */
	catalog_close(c);
	{
		char path[256], err[256];
		struct catalog *jw = NULL, *cw = NULL;
		uint64_t w;

		snprintf(path, sizeof(path), "%s/jobs", dir);
		if (catalog_open_for(path, 0, CAT_T_JOBS | CAT_T_HISTORY, &jw,
		    err, sizeof(err)) != CAT_OK)
			printf("# %s\n", err);
		ok(jw != NULL && report(jw, b, "home", CAT_JOB_OK, T + 9000, 0,
		    "", 0, &r) == CAT_OK && catalog_request_add(jw, b, "home",
		    "x", T, &id2) == CAT_OK, "open for jobs: reports and requests "
		    "are written");
		catalog_close(jw);
		if (catalog_open_for(path, 0, CAT_T_META | CAT_T_CLIENTS |
		    CAT_T_TOKENS, &cw, err, sizeof(err)) != CAT_OK)
			printf("# %s\n", err);
		w = cw != NULL ? catalog_writes(cw) : 0;
		ok(cw != NULL && report(cw, b, "home", CAT_JOB_OK, T + 9100, 0,
		    "", 0, &r) == CAT_ERROR && strstr(catalog_strerror(cw),
		    "may not write") != NULL && catalog_writes(cw) == w,
		    "open for clients: a report is refused, nothing written");
		catalog_close(cw);
	}
	if ((c = open_sub("jobs")) == NULL) {
		ok(0, "jobs: open the catalog again");
		return;
	}

	ok(catalog_client_remove(c, "ann") == CAT_OK &&
	    catalog_client_get(c, "ann", &cl) == CAT_NOTFOUND &&
	    catalog_jobs(c, a, 0, 100, &v, &n) == CAT_OK && n == 0 &&
	    catalog_requests(c, a, &q, &n) == CAT_OK && n == 0 &&
	    health_of(c, b, NULL, T, G, NULL, NULL) >= 0,
	    "client remove: its reports and requests go");
	catalog_close(c);
}

/*
 * Browse and restore requests (catalog.h's last section): kinds and
 * args kept, handed to a version 5 agent only, answers kept until read
 * (a final one) or an hour, a final answer ends its request, an answer
 * to a request not handed out is refused, old records still read.
 */
static void
test_answers(void)
{
	struct catalog *c = open_sub("answers");
	struct cat_request *q;
	uint8_t tok[CAT_SECRET_LEN];
	uint64_t a, b, back, br, rs, id;
	const int64_t T = 1800000000;
	char *data, args[CAT_REQ_ARGS_MAX + 2];
	int64_t taken;
	size_t n, len;
	int st, kind, good;

	if (c == NULL) {
		ok(0, "answers: open a catalog");
		return;
	}
	id_of(tok, 8001);
	ok(catalog_client_add(c, "ann", tok, 1, &a) == CAT_OK &&
	    (id_of(tok, 8002), catalog_client_add(c, "bob", tok, 1, &b)) ==
	    CAT_OK, "answers: two clients");
	ok(catalog_request_add(c, a, "web", "x", T, &back) == CAT_OK &&
	    catalog_request_add_args(c, a, CAT_REQ_BROWSE, "web",
	    "{\"path\":\"/\"}", "console: x", T, &br) == CAT_OK &&
	    br == back + 1 && catalog_request_add_args(c, a, CAT_REQ_RESTORE,
	    "web", "{}", "console: x", T, &rs) == CAT_OK && rs == br + 1,
	    "a backup, a browse and a restore queued: three requests");
	memset(args, 'a', sizeof(args) - 1);
	args[sizeof(args) - 1] = '\0';
	ok(catalog_request_add_args(c, a, CAT_REQ_BROWSE, "web", args, "x", T,
	    &id) == CAT_ERROR && catalog_request_add_args(c, a, CAT_REQ_BACKUP,
	    "web", "{}", "x", T, &id) == CAT_ERROR &&
	    catalog_request_add_args(c, 999, CAT_REQ_BROWSE, "web", "{}", "x",
	    T, &id) == CAT_NOTFOUND, "args over CAT_REQ_ARGS_MAX, kind backup, "
	    "no such client: refused");
	ok(catalog_requests(c, a, &q, &n) == CAT_OK && n == 1 &&
	    q[0].id == back && q[0].kind == CAT_REQ_BACKUP,
	    "catalog_requests() lists the backup only (as the console's Jobs "
	    "and gigavaultctl show them)");
	free(q);
	ok(catalog_answer_put(c, a, br, CAT_ANSWER_DONE, "{}", 2, T) ==
	    CAT_NOTFOUND, "an answer to a request not handed out is refused");
	ok(catalog_answer_get(c, a, br, T, &st, &kind, &taken, &data, &len) ==
	    CAT_OK && st == CAT_ANSWER_PENDING && kind == CAT_REQ_BROWSE &&
	    taken == 0 && data == NULL, "not taken yet: pending");
	ok(catalog_requests_take_kinds(c, a, T + 1, 0,
	    SIZE_MAX, 0, &q, &n) == CAT_OK &&
	    n == 1 && q[0].id == back && q[0].kind == CAT_REQ_BACKUP,
	    "a version 4 agent takes the backup only");
	free(q);
	ok(catalog_requests_take(c, a, T + 2, &q, &n) == CAT_OK && n == 0,
	    "catalog_requests_take() is version 4's");
	ok(catalog_requests_take_kinds(c, a, T + 3, 1,
	    SIZE_MAX, 0, &q, &n) == CAT_OK &&
	    n == 2 && q[0].id == br && q[0].kind == CAT_REQ_BROWSE &&
	    strcmp(q[0].args, "{\"path\":\"/\"}") == 0 &&
	    strcmp(q[0].set, "web") == 0 && q[1].id == rs &&
	    q[1].kind == CAT_REQ_RESTORE && strcmp(q[1].args, "{}") == 0,
	    "a version 5 agent takes the browse and the restore, with args");
	free(q);
	ok(catalog_requests_take_kinds(c, a, T + 4, 1,
	    SIZE_MAX, 0, &q, &n) == CAT_OK &&
	    n == 0, "each handed out once");
	ok(catalog_answer_get(c, a, br, T + 4, &st, &kind, &taken, &data,
	    &len) == CAT_OK && st == CAT_ANSWER_PENDING && taken == T + 3,
	    "taken: pending, with when");
	ok(catalog_answer_put(c, b, br, CAT_ANSWER_DONE, "{}", 2, T + 5) ==
	    CAT_NOTFOUND, "another client cannot answer it");
	ok(catalog_answer_put(c, a, br, CAT_ANSWER_DONE, "{\"e\":[]}", 8,
	    T + 5) == CAT_OK, "the browse answered");
	ok(catalog_answer_put(c, a, br, CAT_ANSWER_DONE, "{}", 2, T + 5) ==
	    CAT_NOTFOUND, "a final answer ends the request: no second one");
	ok(catalog_answer_put(c, a, rs, CAT_ANSWER_STARTED, "{\"s\":1}", 7,
	    T + 5) == CAT_OK, "the restore started");
	good = catalog_answer_get(c, a, br, T + 6, &st, &kind, &taken, &data,
	    &len) == CAT_OK && st == CAT_ANSWER_DONE && kind == CAT_REQ_BROWSE &&
	    len == 8 && data != NULL && strcmp(data, "{\"e\":[]}") == 0;
	free(data);
	ok(good, "the browse's answer read");
	good = catalog_answer_get(c, a, br, T + 7, &st, &kind, &taken,
	    &data, &len) == CAT_OK && st == CAT_ANSWER_DONE && data != NULL &&
	    strcmp(data, "{\"e\":[]}") == 0;
	free(data);
	ok(good, "... and again: reading does not consume it (a second tab, "
	    "a read-only operator)");
	good = catalog_answer_get(c, a, rs, T + 6, &st, &kind, &taken, &data,
	    &len) == CAT_OK && st == CAT_ANSWER_STARTED &&
	    kind == CAT_REQ_RESTORE && strcmp(data, "{\"s\":1}") == 0;
	free(data);
	data = NULL;
	good = good && catalog_answer_get(c, a, rs, T + 7, &st, &kind, &taken,
	    &data, &len) == CAT_OK && st == CAT_ANSWER_STARTED;
	free(data);
	ok(good, "a started answer stays until the final one");
	ok(catalog_answer_put(c, a, rs, CAT_ANSWER_FAILED, "{\"f\":0}", 7,
	    T + 8) == CAT_OK && catalog_requests(c, a, &q, &n) == CAT_OK &&
	    n == 1 && q[0].id == back, "the restore's final answer ends it; "
	    "the backup request is still listed (answers are not requests)");
	free(q);
	ok(catalog_answer_get(c, a, rs, T + 8 + CAT_ANSWER_KEEP_S + 1, &st,
	    &kind, &taken, &data, &len) == CAT_NOTFOUND,
	    "an answer older than CAT_ANSWER_KEEP_S is gone");
	/* (The backup request, taken long ago, is handed out again.) */
	good = catalog_request_add_args(c, a, CAT_REQ_BROWSE, "web", "{}", "x",
	    T, &id) == CAT_OK && catalog_requests_take_kinds(c, a,
	    T + CAT_ANSWER_KEEP_S + 1, 1, SIZE_MAX, 0, &q, &n) == CAT_OK &&
	    n == 1 && q[0].kind == CAT_REQ_BACKUP;
	free(q);
	data = NULL;
	ok(good && catalog_answer_get(c, a, id, T + CAT_ANSWER_KEEP_S + 1, &st,
	    &kind, &taken, &data, &len) == CAT_OK && st == CAT_ANSWER_FAILED &&
	    data != NULL && strstr(data, "did not take") != NULL,
	    "a browse not taken within CAT_ANSWER_KEEP_S ends failed");
	free(data);
	ok(catalog_answer_get(c, a, id, T + 2 * CAT_ANSWER_KEEP_S + 1, &st,
	    &kind, &taken, &data, &len) == CAT_NOTFOUND,
	    "... an answer kept an hour like the agent's");
	/* Bounded: the oldest answers beyond CAT_ANSWERS_MAX go. */
	good = 1;
	for (int i = 0; i < CAT_ANSWERS_MAX + 5 && good; i++) {
		uint64_t k;

		good = catalog_request_add_args(c, b, CAT_REQ_BROWSE, "web",
		    "{}", "x", T, &k) == CAT_OK &&
		    catalog_requests_take_kinds(c, b, T, 1, SIZE_MAX, 0,
		    &q, &n) ==
		    CAT_OK && n == 1 && catalog_answer_put(c, b, k,
		    CAT_ANSWER_DONE, "{}", 2, T + i) == CAT_OK;
		free(q);
		if (i == 0)
			id = k;
	}
	ok(good && catalog_answer_get(c, b, id, T + 100, &st, &kind, &taken,
	    &data, &len) == CAT_NOTFOUND && catalog_answer_get(c, b,
	    id + CAT_ANSWERS_MAX + 4, T + 100, &st, &kind, &taken, &data,
	    &len) == CAT_OK, "at most CAT_ANSWERS_MAX answers are kept per "
	    "client: the oldest go");
	free(data);
	ok(catalog_client_remove(c, "bob") == CAT_OK &&
	    catalog_requests(c, b, &q, &n) == CAT_OK && n == 0,
	    "client remove: its requests and answers go");
	catalog_close(c);
}

/* The answer to request id of client at t: its status, or -1 if none. */
static int
answer_at(struct catalog *c, uint64_t client, uint64_t id, int64_t t,
    const char *has)
{
	char *data;
	int64_t taken;
	size_t len;
	int st, kind, rc;

	rc = catalog_answer_get(c, client, id, t, &st, &kind, &taken, &data,
	    &len);
	if (rc == CAT_OK && has != NULL && (data == NULL ||
	    strstr(data, has) == NULL))
		st = -2;
	free(data);
	return rc == CAT_OK ? st : -1;
}

/* Queue one browse (restore when restore) of client at t, taken at t. */
static uint64_t
queue_taken(struct catalog *c, uint64_t client, int restore, int64_t t)
{
	struct cat_request *q;
	uint64_t id;
	size_t n;

	if (catalog_request_add_args(c, client, restore ? CAT_REQ_RESTORE :
	    CAT_REQ_BROWSE, "web", "{}", "x", t, &id) != CAT_OK)
		return 0;
	if (catalog_requests_take_kinds(c, client, t, 1, SIZE_MAX, 0, &q,
	    &n) != CAT_OK || n != 1 || q[0].id != id)
		id = 0;
	free(q);
	return id;
}

/*
 * The review of browse and restore (server side): a restore longer than
 * an hour keeps its outcome, a request the agent leaves ends failed, the
 * queue of a client is bounded, a take fits the frame it goes in.
 */
static void
test_answers_bounds(void)
{
	struct catalog *c = open_sub("answers-bounds");
	struct cat_request *q;
	uint8_t tok[CAT_SECRET_LEN];
	uint64_t a, b, rs, br, id, first = 0;
	const int64_t T = 1800000000, H = CAT_ANSWER_KEEP_S;
	char args[200];
	size_t n;
	int good;

	if (c == NULL) {
		ok(0, "answers-bounds: open a catalog");
		return;
	}
	id_of(tok, 8101);
	ok(catalog_client_add(c, "ann", tok, 1, &a) == CAT_OK &&
	    (id_of(tok, 8102), catalog_client_add(c, "bob", tok, 1, &b)) ==
	    CAT_OK, "answers-bounds: two clients");

	/* A restore that runs three hours. */
	rs = queue_taken(c, a, 1, T);
	ok(rs != 0 && catalog_answer_put(c, a, rs, CAT_ANSWER_STARTED,
	    "{}", 2, T + 1) == CAT_OK, "a restore taken and started");
	ok(answer_at(c, a, rs, T + 2 * H, NULL) == CAT_ANSWER_STARTED,
	    "two hours on: still started");
	ok(catalog_requests_take_kinds(c, a, T + 2 * H, 1, SIZE_MAX, 0, &q,
	    &n) == CAT_OK && n == 0, "a take two hours on keeps it");
	free(q);
	ok(catalog_answer_put(c, a, rs, CAT_ANSWER_DONE, "{\"files\":3}", 11,
	    T + 3 * H) == CAT_OK && answer_at(c, a, rs, T + 3 * H + 1,
	    "files") == CAT_ANSWER_DONE,
	    "its outcome three hours on is stored and read");

	/* Each "started" moves the bound of CAT_STARTED_KEEP_S. */
	rs = queue_taken(c, a, 1, T);
	ok(rs != 0 && catalog_answer_put(c, a, rs, CAT_ANSWER_STARTED,
	    "{}", 2, T) == CAT_OK && catalog_answer_put(c, a, rs,
	    CAT_ANSWER_STARTED, "{}", 2, T + 6 * 86400) == CAT_OK &&
	    answer_at(c, a, rs, T + CAT_STARTED_KEEP_S + 10, NULL) ==
	    CAT_ANSWER_STARTED, "a restore started again six days on is "
	    "still started after seven");
	ok(answer_at(c, a, rs, T + 6 * 86400 + CAT_STARTED_KEEP_S + 1,
	    "no outcome") == CAT_ANSWER_FAILED,
	    "CAT_STARTED_KEEP_S after its last start: failed, no outcome");
	ok(catalog_request_add_args(c, a, CAT_REQ_BROWSE, "web", "{}", "x",
	    T + 6 * 86400 + CAT_STARTED_KEEP_S + 2, &id) == CAT_OK &&
	    catalog_answer_put(c, a, rs, CAT_ANSWER_DONE, "{}", 2,
	    T + 6 * 86400 + CAT_STARTED_KEEP_S + 3) == CAT_NOTFOUND &&
	    answer_at(c, a, rs, T + 6 * 86400 + CAT_STARTED_KEEP_S + 4,
	    "no outcome") == CAT_ANSWER_FAILED, "a write stores that end: "
	    "a late final answer finds no request");

	/* Found ended only after its failed answer expired: nothing left. */
	id_of(tok, 8104);
	good = catalog_client_add(c, "dee", tok, 1, &id) == CAT_OK;
	rs = good ? queue_taken(c, id, 1, T) : 0;
	ok(rs != 0 && catalog_answer_put(c, id, rs, CAT_ANSWER_STARTED, "{}",
	    2, T) == CAT_OK && catalog_request_add_args(c, id, CAT_REQ_BROWSE,
	    "web", "{}", "x", T + CAT_STARTED_KEEP_S + H + 10, &br) == CAT_OK &&
	    answer_at(c, id, rs, T + CAT_STARTED_KEEP_S + H + 11, NULL) == -1,
	    "a restore ended long ago leaves no \"started\" behind");

	/* A browse taken and never answered. */
	br = queue_taken(c, b, 0, T);
	ok(br != 0 && answer_at(c, b, br, T + CAT_TAKEN_SILENT_S, NULL) ==
	    CAT_ANSWER_PENDING, "a browse taken: pending for "
	    "CAT_TAKEN_SILENT_S");
	ok(answer_at(c, b, br, T + CAT_TAKEN_SILENT_S + 1, "did not answer") ==
	    CAT_ANSWER_FAILED, "then failed: the agent did not answer");

	/* At most CAT_PENDING_MAX wait per client. */
	good = 1;
	for (int i = 0; i < CAT_PENDING_MAX && good; i++)
		good = catalog_request_add_args(c, b, CAT_REQ_BROWSE, "web",
		    "{}", "x", T + CAT_TAKEN_SILENT_S + 10, &id) == CAT_OK;
	ok(good && catalog_request_add_args(c, b, CAT_REQ_RESTORE, "web",
	    "{}", "x", T + CAT_TAKEN_SILENT_S + 10, &id) == CAT_LIMIT &&
	    id == 0,
	    "CAT_PENDING_MAX browse requests queued; one more is CAT_LIMIT");
	ok(catalog_request_add(c, b, "web", "x", T + CAT_TAKEN_SILENT_S + 10,
	    &id) == CAT_OK, "a backup request is still queued");
	ok(catalog_request_add_args(c, b, CAT_REQ_BROWSE, "web", "{}", "x",
	    T + CAT_TAKEN_SILENT_S + 11 + H, &id) == CAT_OK, "once they ended "
	    "(not taken within an hour), a new one is queued");
	ok(answer_at(c, b, id - 2, T + CAT_TAKEN_SILENT_S + 12 + H,
	    "did not take") == CAT_ANSWER_FAILED,
	    "... and the old ones answer failed");
	ok(answer_at(c, b, br, T + CAT_TAKEN_SILENT_S + 12 + H, NULL) == -1,
	    "the browse failed long ago (not taken within CAT_TAKEN_SILENT_S) "
	    "expired");

	/* A take fills its frame, the rest at the next. */
	id_of(tok, 8103);
	ok(catalog_client_add(c, "cid", tok, 1, &a) == CAT_OK,
	    "a third client");
	memset(args, 'x', sizeof(args) - 1);
	args[sizeof(args) - 1] = '\0';
	good = 1;
	for (int i = 0; i < 5 && good; i++)
		good = catalog_request_add_args(c, a, CAT_REQ_BROWSE, "web",
		    args, "x", T + 20, &id) == CAT_OK;
	first = id - 4;
	ok(good && catalog_request_add_args(c, a, CAT_REQ_RESTORE, "web",
	    "{}", "x", T + 20, &id) == CAT_OK, "five browses with 199 bytes "
	    "of args and a small restore queued");
	/* 10 + 3 + 199 = 212 bytes each: two fit 500, and the restore. */
	ok(catalog_requests_take_kinds(c, a, T + 21, 1, 500, 10, &q, &n) ==
	    CAT_OK && n == 3 && q[0].id == first && q[1].id == first + 1 &&
	    q[2].id == id, "a take of 500 bytes: the two browses that fit "
	    "and the restore");
	free(q);
	ok(catalog_requests_take_kinds(c, a, T + 22, 1, 500, 10, &q, &n) ==
	    CAT_OK && n == 2 && q[0].id == first + 2 &&
	    q[1].id == first + 3, "the next take: the next two");
	free(q);
	ok(catalog_requests_take_kinds(c, a, T + 23, 1, 200, 10, &q, &n) ==
	    CAT_OK && n == 0 && answer_at(c, a, first + 4, T + 24,
	    "MaxFrame") == CAT_ANSWER_FAILED, "one that could never fit "
	    "ends failed");
	free(q);
	catalog_close(c);
}

/* Whether every descriptor of this process on path has FD_CLOEXEC. */
static int
all_cloexec(const char *path, int *seen)
{
	struct stat want, st;
	int good = 1;

	*seen = 0;
	if (stat(path, &want) == -1)
		return 0;
	for (int fd = 0; fd < 1024; fd++) {
		if (fstat(fd, &st) == -1 || st.st_dev != want.st_dev ||
		    st.st_ino != want.st_ino)
			continue;
		(*seen)++;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			good = 0;
	}
	return good;
}

/*
 * The bounds and rules the review of the agents' tables asked for: sets
 * per client, sets without a job, overdue against the next run, requests
 * handed out again, the catalog's descriptors close-on-exec, reports of
 * every client read in bounded memory.
 */
static void
test_jobs_review(void)
{
	struct catalog *c = open_sub("jobs-review");
	struct cat_agent_job jobs[2];
	struct cat_client_health ch;
	struct cat_set_health sh;
	struct cat_jobrun r, *v;
	struct cat_request *q;
	uint8_t tok[CAT_SECRET_LEN];
	uint64_t a, b, id;
	const int64_t T = 1800000000, G = 600, D = 86400;
	char set[16], path[300];
	size_t n;
	int good, seen;

	if (c == NULL) {
		ok(0, "review: open a catalog");
		return;
	}
	id_of(tok, 8001);
	ok(catalog_client_add(c, "cat", tok, 1, &a) == CAT_OK &&
	    (id_of(tok, 8002), catalog_client_add(c, "dan", tok, 1, &b)) ==
	    CAT_OK, "review: two clients");

	/* 7: LMDB's descriptors on data.mdb and lock.mdb are close-on-exec */
	snprintf(path, sizeof(path), "%s/jobs-review/data.mdb", dir);
	good = all_cloexec(path, &seen);
	printf("# %d descriptors on data.mdb\n", seen);
	ok(good && seen >= 1, "open: every descriptor on data.mdb is "
	    "close-on-exec");
	snprintf(path, sizeof(path), "%s/jobs-review/lock.mdb", dir);
	good = all_cloexec(path, &seen);
	printf("# %d descriptors on lock.mdb\n", seen);
	ok(good && seen >= 1, "open: every descriptor on lock.mdb is "
	    "close-on-exec");

	/* 1: at most CAT_SETS_MAX sets named by one client's reports */
	good = 1;
	for (int i = 0; i < CAT_SETS_MAX && good; i++) {
		snprintf(set, sizeof(set), "s%d", i);
		good = report(c, a, set, CAT_JOB_OK, T + i, 0, "", 0, &r) ==
		    CAT_OK;
	}
	ok(good, "sets: CAT_SETS_MAX sets reported");
	ok(report(c, a, "one-more", CAT_JOB_OK, T + 500, 0, "", 0, &r) ==
	    CAT_LIMIT && strstr(catalog_strerror(c), "sets") != NULL,
	    "sets: a report of one more is refused (CAT_LIMIT)");
	ok(report(c, a, "s7", CAT_JOB_FAILED, T + 501, 0, "x", 0, &r) ==
	    CAT_OK && report(c, b, "one-more", CAT_JOB_OK, T + 502, 0, "", 0,
	    &r) == CAT_OK, "sets: a known set, or another client, is not");
	ok(catalog_jobs(c, a, 0, 5, &v, &n) == CAT_OK && n == 5 &&
	    v[0].result == CAT_JOB_FAILED, "sets: the refused report was not "
	    "kept");
	free(v);
	ok(health_of(c, a, NULL, T + 600, G, NULL, &ch) == CAT_HEALTH_FAILED,
	    "health: of CAT_SETS_MAX sets");
	/* 8: every client's reports, at most max, newest first */
	ok(catalog_jobs(c, 0, 0, 3, &v, &n) == CAT_OK && n == 3 &&
	    v[0].client == b && v[1].client == a && v[1].seq ==
	    CAT_SETS_MAX + 1 && v[2].seq == CAT_SETS_MAX, "jobs of every "
	    "client: the newest max");
	free(v);
	ok(catalog_client_remove(c, "cat") == CAT_OK, "review: client with "
	    "many sets removed");

	/* 2: a set the agent dropped no longer makes its client failed */
	ok(report(c, b, "old", CAT_JOB_FAILED, T + 1000, 0, "gone bad", 0,
	    &r) == CAT_OK && health_of(c, b, NULL, T + 1010, G, NULL, NULL) ==
	    CAT_HEALTH_FAILED, "no job: a failed set, no agent yet: failed");
	memset(jobs, 0, sizeof(jobs));
	snprintf(jobs[0].set, sizeof(jobs[0].set), "one-more");
	jobs[0].next_run = T + 5000;
	jobs[0].interval = D;
	ok(catalog_agent_seen(c, b, T + 1100, "dan-pc", jobs, 1) == CAT_OK &&
	    health_of(c, b, "old", T + 1100, G, &sh, &ch) ==
	    CAT_HEALTH_FAILED && !sh.job && ch.health == CAT_HEALTH_OK &&
	    ch.nsets == 2, "no job: the set keeps its own health, listed; "
	    "the client's is its jobs'");
	ok(catalog_agent_seen(c, b, T + 1100 + D, "dan-pc", jobs, 1) ==
	    CAT_OK && health_of(c, b, "old", T + 1100 + D, G, NULL, NULL) ==
	    CAT_HEALTH_FAILED, "no job: kept at a day without job");
	ok(catalog_agent_seen(c, b, T + 1100 + D + 1, "dan-pc", jobs, 1) ==
	    CAT_OK && health_of(c, b, "old", T + 1100 + D + 1, G, NULL,
	    &ch) == -1 && ch.nsets == 1, "no job: dropped after a day "
	    "without job or report");
	ok(report(c, b, "later", CAT_JOB_OK, T + 2000, 0, "", 0, &r) ==
	    CAT_OK && catalog_agent_seen(c, b, T + 2000 + D, "dan-pc", jobs,
	    1) == CAT_OK && catalog_agent_seen(c, b, T + 2000 + 2 * D,
	    "dan-pc", jobs, 1) == CAT_OK && health_of(c, b, "later",
	    T + 2000 + 2 * D, G, NULL, NULL) == CAT_HEALTH_OK,
	    "no job: a day since the poll without it: not yet dropped "
	    "(counted from that poll)");

	/* 3: due at max(next_run, last success + interval) */
	ok(catalog_client_remove(c, "dan") == CAT_OK &&
	    (id_of(tok, 8003), catalog_client_add(c, "eve", tok, 1, &b)) ==
	    CAT_OK, "overdue: a new client");
	ok(report(c, b, "wk", CAT_JOB_OK, T, T + 3 * D, "", 0, &r) ==
	    CAT_OK, "overdue: success on Friday, next run on Monday");
	jobs[0].next_run = T + 3 * D;
	jobs[0].interval = D;
	snprintf(jobs[0].set, sizeof(jobs[0].set), "wk");
	ok(catalog_agent_seen(c, b, T + 10, "eve", jobs, 1) == CAT_OK &&
	    health_of(c, b, "wk", T + D + G + 1, G, NULL, NULL) ==
	    CAT_HEALTH_OK && health_of(c, b, "wk", T + 3 * D + G, G, NULL,
	    NULL) == CAT_HEALTH_OK, "overdue: not on Saturday, nor at next "
	    "run + grace");
	ok(health_of(c, b, "wk", T + 3 * D + G + 1, G, NULL, NULL) ==
	    CAT_HEALTH_OVERDUE, "overdue: 1 s past next run + grace");
	/* next run before last success + interval: the later counts */
	jobs[0].next_run = T + 100;
	ok(catalog_agent_seen(c, b, T + 20, "eve", jobs, 1) == CAT_OK &&
	    health_of(c, b, "wk", T + D + G, G, NULL, NULL) ==
	    CAT_HEALTH_OK && health_of(c, b, "wk", T + D + G + 1, G, NULL,
	    NULL) == CAT_HEALTH_OVERDUE, "overdue: last success + interval "
	    "+ grace when later than the next run");
	/* only next_run known (no success) */
	ok(report(c, b, "nx", CAT_JOB_FAILED, T, T + 50, "no", 0, &r) ==
	    CAT_OK && report(c, b, "nx", CAT_JOB_CANCELLED, T + 1, 0, "", 0,
	    &r) == CAT_OK && health_of(c, b, "nx", T + 2, G, &sh, NULL) ==
	    CAT_HEALTH_FAILED && sh.next_run == 0,
	    "report: next run 0 clears the set's next run");

	/* 5: requests handed out again, never-taken ones dropped */
	ok(catalog_request_add(c, b, "wk", "x", T, &id) == CAT_OK &&
	    catalog_requests_take(c, b, T + 1, &q, &n) == CAT_OK && n == 1,
	    "requests: taken");
	free(q);
	ok(catalog_requests_take(c, b, T + 1 + 600, &q, &n) == CAT_OK &&
	    n == 0, "requests: not handed again at 10 minutes");
	free(q);
	jobs[0].running = 1;
	ok(catalog_agent_seen(c, b, T + 602, "eve", jobs, 1) == CAT_OK &&
	    catalog_requests_take(c, b, T + 602, &q, &n) == CAT_OK && n == 0,
	    "requests: not handed again while its set runs");
	free(q);
	jobs[0].running = 0;
	ok(catalog_agent_seen(c, b, T + 603, "eve", jobs, 1) == CAT_OK &&
	    catalog_requests_take(c, b, T + 603, &q, &n) == CAT_OK && n == 1 &&
	    q[0].id == id && q[0].taken == T + 603, "requests: taken more "
	    "than 10 minutes ago, not reported, set not running: again");
	free(q);
	ok(catalog_request_add(c, b, "nx", "x", T + 1000, &id) == CAT_OK &&
	    catalog_requests_take(c, b, T + 1000 + D, &q, &n) == CAT_OK &&
	    n == 1 && q[0].id == id, "requests: never taken, a day old: "
	    "still handed out");
	free(q);
	ok(catalog_request_add(c, b, "other", "x", T + 2000, &id) ==
	    CAT_OK && catalog_requests_take(c, b, T + 2000 + D + 1, &q, &n) ==
	    CAT_OK && n == 0 && catalog_requests(c, b, &q, &n) == CAT_OK &&
	    n == 0, "requests: never taken for more than a day, or taken "
	    "and queued more than a day ago: dropped");
	free(q);
	catalog_close(c);
}

static int
protected_row(void *arg, const struct cat_snapshot *s)
{
	char *out = arg;
	char one[32];

	snprintf(one, sizeof(one), "%llu%s,", (unsigned long long)s->id,
	    s->protected ? "p" : "");
	strcat(out, one);
	return 0;
}

/*
 * A protected snapshot: listed with its flag, kept by the policy (why
 * "protected") where the policy would drop it, refused by
 * catalog_forget() and policy_forget() until unprotected; a commit never
 * sets the flag; a restore keeps it.
 */
static void
test_protect(struct catalog *c)
{
	struct retention keep1 = { 1, 0, 0, 0, 0, 0 }, none = { 0 };
	struct cat_blob_add add[2];
	struct cat_snapshot snap, got;
	struct cat_client cl;
	struct ret_snap *rs;
	uint8_t tok[CAT_SECRET_LEN];
	uint64_t id;
	char list[128], why[256];
	size_t n;

	id_of(tok, 8001);
	memset(add, 0, sizeof(add));
	id_of(add[0].id, 8100);
	id_of(add[1].id, 8101);
	add[0].loc.length = add[1].loc.length = 10;
	add[1].loc.offset = 10;
	ok(catalog_client_add(c, "prot", tok, 1, &id) == CAT_OK &&
	    catalog_blobs_add(c, id, add, 2) == CAT_OK, "protect: a client");
	memset(&snap, 0, sizeof(snap));
	strcpy(snap.set, "s");
	memcpy(snap.root, add[0].id, BLOB_ID_LEN);
	memcpy(snap.meta, add[1].id, BLOB_ID_LEN);
	snap.protected = 1;	/* a commit ignores it */
	for (int i = 1; i <= 3; i++) {
		snap.time = 1000 * (uint64_t)i;
		ok(catalog_commit(c, id, &snap, NULL) == CAT_OK &&
		    snap.id == (uint64_t)i, "protect: a snapshot");
	}
	list[0] = '\0';
	ok(catalog_snapshots(c, id, NULL, 0, protected_row, list) == CAT_OK &&
	    strcmp(list, "1,2,3,") == 0, "protect: a commit is never "
	    "protected");
	ok(catalog_snapshot_protect(c, id, 1, 1) == CAT_OK &&
	    catalog_snapshot_protect(c, id, 9, 1) == CAT_NOTFOUND,
	    "protect: snapshot 1 (and not a missing one)");
	list[0] = '\0';
	ok(catalog_snapshots(c, id, NULL, 0, protected_row, list) == CAT_OK &&
	    strcmp(list, "1p,2,3,") == 0, "protect: listed with its flag");
	ok(catalog_policy_set(c, "prot", "", &keep1) == CAT_OK &&
	    policy_evaluate(c, &none, id, "s", &rs, &n, why,
	    sizeof(why)) == CAT_OK && n == 3 && rs[0].keep &&
	    strcmp(rs[0].why, "protected") == 0 && !rs[1].keep && rs[2].keep,
	    "protect: keep-last 1 keeps 3, and 1 as protected, not 2");
	free(rs);
	ok(catalog_client_get(c, "prot", &cl) == CAT_OK && !cl.allow_forget &&
	    policy_forget(c, &none, &cl, 1, why, sizeof(why)) ==
	    CAT_PROTECTED && catalog_forget(c, id, 1) == CAT_PROTECTED,
	    "protect: forget of 1 refused");
	ok(policy_forget(c, &none, &cl, 3, why, sizeof(why)) == POLICY_KEPT &&
	    strstr(why, "last") != NULL,
	    "protect: forget of 3 refused: the policy keeps it");
	ok(policy_forget(c, &none, &cl, 2, why, sizeof(why)) == CAT_OK &&
	    policy_forget(c, &none, &cl, 2, why, sizeof(why)) == CAT_NOTFOUND,
	    "protect: forget of 2, which the policy drops");
	ok(catalog_client_set_allow_forget(c, "prot", 1) == CAT_OK &&
	    catalog_client_get(c, "prot", &cl) == CAT_OK &&
	    policy_forget(c, &none, &cl, 1, why, sizeof(why)) ==
	    CAT_PROTECTED, "protect: allow-forget does not reach a "
	    "protected snapshot");
	ok(catalog_snapshot_get(c, id, 1, &got) == CAT_OK && got.protected &&
	    (got.id = 7, catalog_restore_snapshot(c, id, &got)) == CAT_OK &&
	    catalog_snapshot_get(c, id, 7, &got) == CAT_OK && got.protected,
	    "protect: a restored row keeps its flag");
	ok(catalog_snapshot_protect(c, id, 1, 0) == CAT_OK &&
	    catalog_forget(c, id, 1) == CAT_OK,
	    "protect: unprotected, it is forgotten");
	ok(catalog_client_remove(c, "prot") == CAT_OK,
	    "protect: a client with a protected snapshot is removed whole");
}

int
main(void)
{
	struct catalog *c;
	struct cat_client cl;
	char cmd[300];

	if (mkdtemp(dir) == NULL) {
		printf("1..0 # SKIP mkdtemp failed\n");
		return 0;
	}
	if ((c = open_cat(0)) == NULL) {
		printf("1..1\nnot ok 1 - open a new catalog\n");
		return 1;
	}
	ok(1, "open a new catalog");
	test_clients(c);
	test_blobs_and_commits(c);
	test_lifecycle(c);
	test_linked(c);
	test_peers(c);
	test_token_reissue(c);
	test_protect(c);
	catalog_close(c);

	c = open_cat(0);
	ok(c != NULL && catalog_client_get(c, "amy", &cl) == CAT_OK &&
	    cl.registered, "reopened: data persists");
	catalog_close(c);

	test_growth();
	test_two_writers();
	test_totals_and_days();
	test_formats();
	test_open_for();
	test_jobs();
	test_jobs_review();
	test_answers();
	test_answers_bounds();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
