/*
 * unit-prune.c - TAP unit tests of src/server/prune.c against a real
 * catalog and store (no daemon): prune keeps everything a snapshot
 * reaches through links (root, meta, legacy node, and down every level),
 * frees an unreachable subtree, says the same in a dry run, and when a
 * candidate is touched while the sweep runs (a backup relies on it) it
 * spares that candidate and everything below it, so an indexed linked
 * blob's links stay indexed.  Races between mark and sweep: a tree
 * touched after the mark keeps its child, a page indexed during the
 * sweep keeps the old chunk it links to, and a flush whose link was
 * freed meanwhile fails.  Scrub reports a linked blob whose links are
 * not indexed, and the snapshot reaching it.  Run by
 * t/00-unit-prune.t.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/catalog.h"
#include "server/config.h"
#include "server/prune.h"
#include "server/scrub.h"
#include "server/store.h"
#include "tap.h"

static char dir[] = "/tmp/gv-unit-prune-XXXXXX";

/* The blobs of the test, by name. */
enum { R, A, A2, M, L, B1, P, Q1, Q2, D1, D2, D3, D4, NBLOBS };
static const char *names = "R A A2 M L B1 P Q1 Q2 D1 D2 D3 D4";
static uint8_t ids[NBLOBS][BLOB_ID_LEN];

struct lines {
	int		 dangling, hurt;
	/* With these: commit a new snapshot once the index was read. */
	struct catalog	*cat;
	struct store	*s;
	uint64_t	 client;
	int		 late;
};

static void
scrub_line(void *arg, const char *line)
{
	struct lines *l = arg;

	printf("# %s\n", line);
	if (strstr(line, "it links to blobs that are not indexed") != NULL)
		l->dangling++;
	if (strstr(line, "reaches damaged or missing blobs") != NULL)
		l->hurt++;
	if (l->cat != NULL && !l->late && strncmp(line, "damaged blob ",
	    13) == 0) {
		struct cat_snapshot snap;
		uint8_t fresh[BLOB_ID_LEN];

		/* A backup commits after scrub read the index. */
		memset(fresh, 0xe3, sizeof(fresh));
		memset(&snap, 0, sizeof(snap));
		strcpy(snap.set, "late");
		memcpy(snap.root, fresh, BLOB_ID_LEN);
		memcpy(snap.meta, fresh, BLOB_ID_LEN);
		if (store_put(l->s, l->client, fresh, NULL, 0, "fresh", 5) ==
		    0 && store_flush(l->s) == 0 && catalog_commit(l->cat,
		    l->client, &snap, NULL) == CAT_OK)
			l->late = 1;
		store_finish(l->s);
	}
}

/* A linked blob whose link was never stored (prune never leaves one). */
static void
test_scrub(struct catalog *c, struct store *s, uint64_t client)
{
	struct scrub_result res;
	struct cat_snapshot snap;
	struct hk_hooks hk;
	struct lines l;
	uint8_t top[BLOB_ID_LEN], ghost[BLOB_ID_LEN];
	char err[256];

	memset(&l, 0, sizeof(l));
	err[0] = '\0';
	ok(scrub_run(c, dir, 0, NULL, &res, err, sizeof(err)) == 0 &&
	    res.damaged == 0 && res.snapshots == 0,
	    "scrub after the prunes: clean");
	memset(top, 0xe1, sizeof(top));
	memset(ghost, 0xe2, sizeof(ghost));
	/* Prune never leaves one: make it by deleting the link's entry. */
	ok(store_put(s, client, ghost, NULL, 0, "ghost", 5) == 0 &&
	    store_flush(s) == 0 && store_put(s, client, top,
	    (const uint8_t (*)[BLOB_ID_LEN])ghost, 1, "top", 3) == 0 &&
	    store_flush(s) == 0 && catalog_blobs_free(c, client,
	    (const uint8_t (*)[BLOB_ID_LEN])ghost, 1, UINT64_MAX, NULL, NULL,
	    NULL, NULL) == CAT_OK,
	    "store a blob linking to one, then drop that one's entry");
	store_finish(s);
	memset(&snap, 0, sizeof(snap));
	strcpy(snap.set, "t");
	memcpy(snap.root, top, BLOB_ID_LEN);
	memcpy(snap.meta, ids[M], BLOB_ID_LEN);
	ok(catalog_commit(c, client, &snap, NULL) == CAT_OK,
	    "a snapshot with it as its root");
	memset(&hk, 0, sizeof(hk));
	hk.report = scrub_line;
	hk.arg = &l;
	ok(scrub_run(c, dir, 0, &hk, &res, err, sizeof(err)) == 0 &&
	    res.damaged == 1 && l.dangling == 1,
	    "scrub reports the blob whose link is not indexed");
	ok(res.snapshots == 1 && l.hurt == 1, "... and the snapshot hurt");

	memset(&l, 0, sizeof(l));
	l.cat = c;
	l.s = s;
	l.client = client;
	ok(scrub_run(c, dir, 0, &hk, &res, err, sizeof(err)) == 0 &&
	    l.late && res.snapshots == 1 && l.hurt == 1,
	    "a snapshot committed after scrub read the index is not blamed");
}

struct hook {
	struct catalog	*cat;
	uint64_t	 client;
	int		 touch;		/* touch Q1 when the sweep starts */
	int		 touched;
};

static void
report(void *arg, const char *line)
{
	struct hook *h = arg;
	uint8_t found;
	uint64_t later = (uint64_t)time(NULL) + 100;

	printf("# %s\n", line);
	if (!h->touch || strncmp(line, "sweeping ", 9) != 0)
		return;
	/* A HAVE for Q1 arrives while prune sweeps. */
	if (catalog_blobs_have(h->cat, h->client,
	    (const uint8_t (*)[BLOB_ID_LEN])ids[Q1], 1, later, later,
	    &found) == CAT_OK && found)
		h->touched = 1;
}

static void
put(struct store *s, uint64_t client, int b, int n, ...)
{
	uint8_t links[4][BLOB_ID_LEN], bytes[100];
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		memcpy(links[i], ids[va_arg(ap, int)], BLOB_ID_LEN);
	va_end(ap);
	memset(bytes, b, sizeof(bytes));
	if (store_put(s, client, ids[b], n ? (const uint8_t (*)[BLOB_ID_LEN])
	    links : NULL, (uint32_t)n, bytes, sizeof(bytes)) != 0)
		printf("# put %d: %s\n", b, store_strerror(s));
}

/* "R A ..." of the blobs still indexed, in enum order. */
static void
indexed(struct catalog *c, uint64_t client, char *out, size_t len)
{
	uint8_t found[NBLOBS];
	const char *p = names;

	out[0] = '\0';
	if (catalog_blobs_lookup(c, client, (const uint8_t (*)[BLOB_ID_LEN])
	    ids, NBLOBS, NULL, found) != CAT_OK)
		return;
	for (int i = 0; i < NBLOBS; i++) {
		size_t n = strcspn(p, " ");

		if (found[i]) {
			size_t at = strlen(out);

			snprintf(out + at, len - at, "%s%.*s", at ? " " : "",
			    (int)n, p);
		}
		p += n + (p[n] == ' ');
	}
}

/*
 * Races between the mark and the sweep, client bob: (1) a stale
 * unreachable tree T with child D: T touched after the mark (a HAVE
 * relies on it): D stays.  (2) A new linked blob N indexed after the
 * candidates were collected, linking an old unreachable chunk C: C
 * stays.  (3) A flush whose linked blob's link was freed in between
 * fails and indexes nothing.
 */
enum { T, D, C, N, U, V, NRACE };

struct race {
	struct catalog	*cat;
	struct store	*s;
	uint64_t	 client;
	uint8_t		 id[NRACE][BLOB_ID_LEN];
	int		 touched, indexed;
};

static void
race_report(void *arg, const char *line)
{
	struct race *r = arg;
	uint64_t later = (uint64_t)time(NULL) + 100;
	uint8_t found;

	printf("# %s\n", line);
	if (strncmp(line, "marked ", 7) == 0 && catalog_blobs_have(r->cat,
	    r->client, (const uint8_t (*)[BLOB_ID_LEN])r->id[T], 1, later,
	    later, &found) == CAT_OK && found)
		r->touched = 1;
	if (strncmp(line, "sweeping ", 9) == 0 && store_put(r->s, r->client,
	    r->id[N], (const uint8_t (*)[BLOB_ID_LEN])r->id[C], 1, "new", 3) ==
	    0 && store_flush(r->s) == 0)
		r->indexed = 1;
}

static void
test_races(struct catalog *c, struct store *s, char *datadir)
{
	struct race r;
	struct gv_config cfg;
	struct prune_result res;
	struct hk_hooks hk;
	uint8_t tok[CAT_SECRET_LEN], found[NRACE], big[100];
	char err[256];

	memset(&r, 0, sizeof(r));
	r.cat = c;
	r.s = s;
	memset(tok, 2, sizeof(tok));
	catalog_client_add(c, "bob", tok, 1, &r.client);
	for (int i = 0; i < NRACE; i++)
		memset(r.id[i], 0xb0 + i, BLOB_ID_LEN);
	memset(big, 7, sizeof(big));
	ok(store_put(s, r.client, r.id[D], NULL, 0, big, 10) == 0 &&
	    store_put(s, r.client, r.id[C], NULL, 0, big, 20) == 0 &&
	    store_put(s, r.client, r.id[U], NULL, 0, big, 30) == 0 &&
	    store_put(s, r.client, r.id[T], (const uint8_t (*)[BLOB_ID_LEN])
	    r.id[D], 1, big, 40) == 0 && store_flush(s) == 0,
	    "races: T -> D, C and U stored, nothing reaches them");
	store_finish(s);

	/* (3) V links to U; U is freed before V's batch is indexed. */
	ok(store_put(s, r.client, r.id[V], (const uint8_t (*)[BLOB_ID_LEN])
	    r.id[U], 1, big, 50) == 0, "V -> U written, pending");
	ok(catalog_blobs_free(c, r.client, (const uint8_t (*)[BLOB_ID_LEN])
	    r.id[U], 1, UINT64_MAX, NULL, NULL, NULL, NULL) == CAT_OK,
	    "U freed meanwhile");
	ok(store_flush(s) == -1 && store_errno(s) == ESTALE,
	    "the flush fails: a link is gone");
	printf("# %s\n", store_strerror(s));
	catalog_blobs_lookup(c, r.client, (const uint8_t (*)[BLOB_ID_LEN])
	    r.id, NRACE, NULL, found);
	ok(!found[V] && !found[U], "... and V is not indexed");
	store_finish(s);

	sleep(2);
	memset(&cfg, 0, sizeof(cfg));
	cfg.datadir = datadir;
	cfg.prune_grace = 1;		/* T, D, C are stale */
	cfg.prune_rewrite_below = 0;
	memset(&hk, 0, sizeof(hk));
	hk.report = race_report;
	hk.arg = &r;
	err[0] = '\0';
	ok(prune_run(c, &cfg, 0, &hk, &res, err, sizeof(err)) == 0,
	    "races: prune while T is touched and N -> C is indexed");
	if (err[0] != '\0')
		printf("# %s\n", err);
	ok(r.touched && r.indexed, "... T was touched after the mark, N "
	    "indexed after the candidates were collected");
	catalog_blobs_lookup(c, r.client, (const uint8_t (*)[BLOB_ID_LEN])
	    r.id, NRACE, NULL, found);
	ok(found[T] && found[D], "(1) T touched during the sweep keeps its "
	    "child D");
	ok(found[N] && found[C], "(2) C, linked by N indexed during the "
	    "sweep, survives");
	store_finish(s);
}

int
main(void)
{
	struct gv_config cfg;
	struct prune_result res;
	struct hk_hooks hk;
	struct hook h;
	struct cat_snapshot snap;
	struct catalog *c;
	struct store *s;
	char path[300], err[256], got[200], cmd[400];
	uint8_t tok[CAT_SECRET_LEN];
	uint64_t client = 0;

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
	catalog_client_add(c, "alice", tok, 1, &client);
	for (int i = 0; i < NBLOBS; i++) {
		memset(ids[i], 0x50 + i, BLOB_ID_LEN);
		ids[i][0] = (uint8_t)(i * 37);	/* not in key order */
	}

	/*
	 * Snapshot 1: root R -> A -> A2, meta M.  Snapshot 2: root and
	 * meta M, legacy node L -> B1.  Unreachable: P -> Q1, Q2;
	 * Q1 -> D1, D2; Q2 -> D3, D1; D4 alone.
	 */
	put(s, client, A2, 0);
	put(s, client, A, 1, A2);
	put(s, client, R, 1, A);
	put(s, client, M, 0);
	put(s, client, B1, 0);
	put(s, client, D1, 0);
	put(s, client, D2, 0);
	put(s, client, D3, 0);
	put(s, client, D4, 0);
	put(s, client, Q1, 2, D1, D2);
	put(s, client, Q2, 2, D3, D1);
	put(s, client, P, 2, Q1, Q2);
	ok(store_put_legacy(s, client, ids[L], (const uint8_t (*)
	    [BLOB_ID_LEN])ids[B1], 1, NULL) == 0 && store_flush(s) == 0,
	    "store the blobs, the legacy node and their links");
	store_finish(s);
	memset(&snap, 0, sizeof(snap));
	strcpy(snap.set, "s");
	memcpy(snap.root, ids[R], BLOB_ID_LEN);
	memcpy(snap.meta, ids[M], BLOB_ID_LEN);
	ok(catalog_commit(c, client, &snap, NULL) == CAT_OK, "snapshot 1");
	memcpy(snap.root, ids[M], BLOB_ID_LEN);
	memcpy(snap.legacy, ids[L], BLOB_ID_LEN);
	snap.has_legacy = 1;
	snap.id = 2;
	ok(catalog_commit(c, client, &snap, NULL) == CAT_OK, "snapshot 2, "
	    "with a legacy node");
	indexed(c, client, got, sizeof(got));
	printf("# indexed: %s\n", got);
	ok(strcmp(got, names) == 0, "all indexed");

	memset(&cfg, 0, sizeof(cfg));
	cfg.datadir = dir;
	cfg.prune_grace = 0;		/* all of it is old enough */
	cfg.prune_rewrite_below = 50;
	memset(&h, 0, sizeof(h));
	h.cat = c;
	h.client = client;
	memset(&hk, 0, sizeof(hk));
	hk.report = report;
	hk.arg = &h;
	/* Indexed within this second: make sure the cutoff is past it. */
	sleep(1);

	ok(prune_run(c, &cfg, 1, &hk, &res, err, sizeof(err)) == 0 &&
	    res.blobs == 7 && res.blob_bytes == 700,
	    "dry run: the unreachable 7 (P, Q1, Q2, D1..D4) would be freed");
	indexed(c, client, got, sizeof(got));
	ok(strcmp(got, names) == 0, "... and nothing is");

	h.touch = 1;
	err[0] = '\0';
	ok(prune_run(c, &cfg, 0, &hk, &res, err, sizeof(err)) == 0,
	    "prune while a backup touches Q1");
	if (err[0] != '\0')
		printf("# %s\n", err);
	ok(h.touched, "... Q1 was touched during the sweep");
	indexed(c, client, got, sizeof(got));
	printf("# indexed: %s\n", got);
	ok(strcmp(got, "R A A2 M L B1 Q1 D1 D2") == 0,
	    "reachable ones kept (R A A2 M L B1); Q1 spared with D1 and D2 "
	    "below it; P, Q2, D3, D4 freed");
	ok(res.blobs == 4 && res.blob_bytes == 400, "4 blobs freed");

	/* Later, nothing relies on Q1 any more: it goes with its subtree. */
	cfg.prune_grace = 0;
	h.touch = 0;
	ok(catalog_forget(c, client, 1) == CAT_OK, "forget snapshot 1");
	sleep(2);
	cfg.prune_grace = 1;
	/* Q1 was touched 100 s into the future: its grace lasts. */
	ok(prune_run(c, &cfg, 0, &hk, &res, err, sizeof(err)) == 0 &&
	    res.blobs == 3, "prune: R, A, A2 freed (snapshot 1 forgotten)");
	indexed(c, client, got, sizeof(got));
	printf("# indexed: %s\n", got);
	ok(strcmp(got, "M L B1 Q1 D1 D2") == 0,
	    "... Q1 and its subtree wait for their grace");

	test_races(c, s, dir);
	test_scrub(c, s, client);

	store_close(s);
	catalog_close(c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
