/*
 * verify.c - "gigavault verify": read a snapshot back from the server and
 * check every blob it references: the meta blob, every tree, and every
 * data chunk (or a random share of them with --sample).  Each blob is
 * fetched once however often the snapshot uses it, in GET batches of
 * WIRE_BATCH_MAX ids, and opened (authenticated, decrypted, decompressed,
 * hashed to its id) on every core by the thread pool.
 *
 * Three passes: the trees, breadth first (each decoded tree blob names
 * the next: a page its subtrees, its chunks or its files' chunk lists,
 * an index its pages, a list its chunks or lists); the chunks; and,
 * only when something was damaged, a walk of the trees again to name
 * every path that uses a damaged blob.  A tree blob whose links, as the
 * server states them, differ from its contents is damaged.
 */
#include "autoconf.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/monotime.h"
#include "common/wire.h"
#include "chunker.h"
#include "client.h"
#include "idset.h"
#include "pool.h"

#define INFLIGHT_MAX	(64u << 20)	/* sealed bytes waiting for a thread */
#define PATHS_MAX	20		/* paths named per damaged blob */
#define DEPTH_MAX	4096		/* nested directories */

/* idset flags */
#define F_SEEN		0x01
#define F_BAD		0x02

/* A damaged or missing blob. */
struct problem {
	enum blob_kind	 kind;
	uint8_t		 id[BLOB_ID_LEN];
	int		 missing;	/* NOBLOB: not there (or damaged there) */
	char		 why[160];
	char		*paths[PATHS_MAX];
	size_t		 npaths;	/* named, at most PATHS_MAX */
	uint64_t	 more;		/* further paths not kept */
};

/* A tree still to fetch. */
/*
 * What a tree blob must be, from the blob that names it (as tree.c's
 * readers check): WANT_ANY (pass 3: already checked), WANT_DIR (a
 * directory's top: a page or an index of any level), WANT_PAGE (0), an
 * index of level k (k), or a chunk list of level k (WANT_LIST + k).
 */
#define WANT_ANY	(-2)
#define WANT_DIR	(-1)
#define WANT_PAGE	0
#define WANT_LIST	64

struct todo {
	uint8_t		 id[BLOB_ID_LEN];
	char		*path;		/* "" for the root */
	int		 depth;
	int		 want;		/* WANT_* */
};

/* One blob being opened by the pool. */
struct job {
	struct pool_job	 pj;
	enum blob_kind	 kind;
	uint8_t		 id[BLOB_ID_LEN];
	char		*path;		/* trees: where (owned) */
	int		 depth;
	int		 want;		/* trees: WANT_* */
	uint8_t		*sealed;
	size_t		 len;
	int		 missing;
	int		 bad;
	char		 why[160];
	struct tree_blob tb;		/* trees: decoded */
	uint8_t		(*links)[BLOB_ID_LEN];	/* trees: stated by the server */
	uint32_t	 nlinks;	/* UINT32_MAX: none can be stated */
	const struct keys *keys;
};

struct verify {
	struct client	*c;
	struct pool	*pool;
	int		 group;
	struct job	*jobs;		/* WIRE_BATCH_MAX */
	size_t		 njobs;
	size_t		 inflight;	/* sealed bytes in jobs */
	int		 pass;		/* 1 trees, 2 data, 3 paths */

	struct idset	*trees, *data;
	struct todo	*todo;
	size_t		 ntodo, captodo, headtodo;

	struct problem	*prob;
	size_t		 nprob, capprob;

	/* counts */
	uint64_t	 meta_ok, trees_checked, data_checked, data_total;
	uint64_t	 bytes, damaged, missing;
	int		 fatal;
	char		 err[1024];

	/* progress */
	int		 prog_on, tty;
	int64_t		 start;		/* mono_ms() when verify began */
	double		 last;
};

/* ---------------------------------------------------------------- progress */

static void
progress(struct verify *v, int final)
{
	char b[32], r[32];
	double t;

	if (!v->prog_on)
		return;
	t = (double)(mono_ms() - v->start) / 1e3;
	if (!final && t - v->last < (v->tty ? 0.25 : 10.0))
		return;
	v->last = t;
	client_fmt_bytes((double)v->bytes, b, sizeof(b));
	client_fmt_bytes(t > 0 ? (double)v->bytes / t : 0, r, sizeof(r));
	if (v->pass == 1)
		fprintf(stderr, "%sverify: %llu trees, %llu chunks found, %s, "
		    "%s/s, %llu damaged%s", v->tty ? "\r\033[K" : "",
		    (unsigned long long)v->trees_checked,
		    (unsigned long long)idset_count(v->data), b, r,
		    (unsigned long long)(v->damaged + v->missing),
		    v->tty && !final ? "" : "\n");
	else
		fprintf(stderr, "%sverify: %llu trees, %llu of %llu chunks, "
		    "%s, %s/s, %llu damaged%s", v->tty ? "\r\033[K" : "",
		    (unsigned long long)v->trees_checked,
		    (unsigned long long)v->data_checked,
		    (unsigned long long)v->data_total, b, r,
		    (unsigned long long)(v->damaged + v->missing),
		    v->tty && !final ? "" : "\n");
	fflush(stderr);
}

/* ---------------------------------------------------------------- problems */

static struct problem *
problem_find(struct verify *v, const uint8_t *id)
{
	for (size_t i = 0; i < v->nprob; i++)
		if (memcmp(v->prob[i].id, id, BLOB_ID_LEN) == 0)
			return &v->prob[i];
	return NULL;
}

static void
problem_add(struct verify *v, const struct job *j)
{
	struct problem *p;
	uint8_t *f;

	if (v->nprob == v->capprob) {
		size_t cap = v->capprob ? 2 * v->capprob : 16;

		if ((p = reallocarray(v->prob, cap, sizeof(*p))) == NULL) {
			v->fatal = 1;
			snprintf(v->err, sizeof(v->err), "out of memory");
			return;
		}
		v->prob = p;
		v->capprob = cap;
	}
	p = &v->prob[v->nprob++];
	memset(p, 0, sizeof(*p));
	p->kind = j->kind;
	memcpy(p->id, j->id, BLOB_ID_LEN);
	p->missing = j->missing;
	snprintf(p->why, sizeof(p->why), "%s", j->missing ? "not on the "
	    "server (missing, or damaged there)" : j->why);
	if (j->missing)
		v->missing++;
	else
		v->damaged++;
	f = idset_find(j->kind == BLOB_DATA ? v->data : v->trees, j->id);
	if (f != NULL)
		*f |= F_BAD;
}

/* Note that path uses the damaged blob p. */
static void
problem_path(struct verify *v, struct problem *p, const char *path)
{
	if (p->npaths == PATHS_MAX) {
		p->more++;
		return;
	}
	for (size_t i = 0; i < p->npaths; i++)
		if (strcmp(p->paths[i], path) == 0)
			return;
	if ((p->paths[p->npaths] = strdup(*path ? path : "/")) == NULL) {
		v->fatal = 1;
		snprintf(v->err, sizeof(v->err), "out of memory");
		return;
	}
	p->npaths++;
}

/* ---------------------------------------------------------------- trees */

static int
todo_push(struct verify *v, const uint8_t *id, const char *dir,
    const char *name, int depth, int want)
{
	struct todo *t;
	char *path;

	if (v->ntodo == v->captodo) {
		size_t cap = v->captodo ? 2 * v->captodo : 256;

		if ((t = reallocarray(v->todo, cap, sizeof(*t))) == NULL)
			return -1;
		v->todo = t;
		v->captodo = cap;
	}
	if (name == NULL)
		path = strdup(dir);
	else if (asprintf(&path, "%s/%s", dir, name) == -1)
		path = NULL;
	if (path == NULL)
		return -1;
	t = &v->todo[v->ntodo++];
	memcpy(t->id, id, BLOB_ID_LEN);
	t->path = path;
	t->depth = depth;
	t->want = want;
	return 0;
}

static void
oom(struct verify *v)
{
	v->fatal = 1;
	snprintf(v->err, sizeof(v->err), "out of memory");
}

/* Pass 1: queue tree blob id (at path dir/name) unless seen. */
static void
walk_push(struct verify *v, const uint8_t *id, const char *dir,
    const char *name, int depth, int want)
{
	uint8_t *f;

	if ((f = idset_add(v->trees, id)) == NULL)
		return oom(v);
	if (*f & F_SEEN)
		return;
	*f |= F_SEEN;
	if (depth > DEPTH_MAX) {
		v->fatal = 1;
		snprintf(v->err, sizeof(v->err), "%s: directories nested too "
		    "deep", dir);
		return;
	}
	if (todo_push(v, id, dir, name, depth, want) == -1)
		oom(v);
}

/* Pass 1: note data chunks ids[0..n). */
static void
walk_data(struct verify *v, const uint8_t (*ids)[BLOB_ID_LEN], uint32_t n)
{
	uint8_t *f;

	for (uint32_t k = 0; k < n && !v->fatal; k++) {
		if ((f = idset_add(v->data, ids[k])) == NULL)
			return oom(v);
		*f |= F_SEEN;
	}
}

/*
 * A decoded tree blob of pass 1: queue its new subtrees, pages and
 * lists, note its chunks.
 */
static void
walk_tree(struct verify *v, struct job *j)
{
	const struct tree *t = &j->tb.page;
	char *path;

	if (j->tb.kind == TREE_INDEX || (j->tb.kind == TREE_LIST &&
	    j->tb.level > 1)) {
		/* An index's children: pages, or indexes one level down. */
		int want = j->tb.kind == TREE_LIST ? WANT_LIST +
		    j->tb.level - 1 : j->tb.level - 1;

		for (uint32_t i = 0; i < j->tb.n && !v->fatal; i++)
			walk_push(v, j->tb.ids[i], j->path, NULL, j->depth,
			    want);
		return;
	}
	if (j->tb.kind == TREE_LIST)
		return walk_data(v, (const uint8_t (*)[BLOB_ID_LEN])j->tb.ids,
		    j->tb.n);
	for (uint32_t i = 0; i < t->n && !v->fatal; i++) {
		const struct node *n = &t->nodes[i];

		if (n->type == NODE_DIR)
			walk_push(v, n->subtree, j->path, n->name,
			    j->depth + 1, WANT_DIR);
		else if (n->type == NODE_FILE && n->clevel == 0)
			walk_data(v, (const uint8_t (*)[BLOB_ID_LEN])n->chunks,
			    n->nchunks);
		else if (n->type == NODE_FILE) {
			if (asprintf(&path, "%s/%s", j->path, n->name) == -1)
				return oom(v);
			for (uint32_t k = 0; k < n->nchunks && !v->fatal; k++)
				walk_push(v, n->chunks[k], path, NULL,
				    j->depth, WANT_LIST + n->clevel);
			free(path);
		}
	}
}

/*
 * Pass 3: path uses ids[0..n) (data chunks when data, else tree blobs):
 * name it for each damaged one; queue the sound tree blobs.
 */
static void
name_ids(struct verify *v, const uint8_t (*ids)[BLOB_ID_LEN], uint32_t n,
    int data, const char *path, int depth)
{
	struct problem *p;
	uint8_t *f;

	for (uint32_t k = 0; k < n && !v->fatal; k++) {
		f = idset_find(data ? v->data : v->trees, ids[k]);
		if (f != NULL && (*f & F_BAD)) {
			if ((p = problem_find(v, ids[k])) != NULL)
				problem_path(v, p, path);
		} else if (!data && depth <= DEPTH_MAX &&
		    todo_push(v, ids[k], path, NULL, depth, WANT_ANY) == -1)
			oom(v);
	}
}

/* A decoded tree blob of pass 3: name the paths that use damaged blobs. */
static void
name_paths(struct verify *v, struct job *j)
{
	const struct tree *t = &j->tb.page;
	char *path;

	if (j->tb.kind != TREE_PAGE) {
		name_ids(v, (const uint8_t (*)[BLOB_ID_LEN])j->tb.ids, j->tb.n,
		    j->tb.kind == TREE_LIST && j->tb.level == 1, j->path,
		    j->depth);
		return;
	}
	for (uint32_t i = 0; i < t->n && !v->fatal; i++) {
		const struct node *n = &t->nodes[i];

		if (asprintf(&path, "%s/%s", j->path, n->name) == -1)
			return oom(v);
		if (n->type == NODE_DIR)
			name_ids(v, (const uint8_t (*)[BLOB_ID_LEN])
			    &n->subtree, 1, 0, path, j->depth + 1);
		else if (n->type == NODE_FILE)
			name_ids(v, (const uint8_t (*)[BLOB_ID_LEN])n->chunks,
			    n->nchunks, n->clevel == 0, path, j->depth);
		free(path);
	}
}

/* ---------------------------------------------------------------- blobs */

/* Is the decoded tree blob of j what the blob naming it says it is? */
static int
want_ok(const struct job *j)
{
	const struct tree_blob *tb = &j->tb;

	switch (j->want) {
	case WANT_ANY:
		return 1;
	case WANT_DIR:
		return tb->kind == TREE_PAGE || tb->kind == TREE_INDEX;
	case WANT_PAGE:
		return tb->kind == TREE_PAGE && !tb->v1;
	}
	if (j->want >= WANT_LIST)
		return tb->kind == TREE_LIST && tb->level == j->want -
		    WANT_LIST;
	return tb->kind == TREE_INDEX && tb->level == j->want;
}

/* In a pool thread: open the blob (and decode a tree). */
static void
open_job(struct pool_job *pj)
{
	struct job *j = (struct job *)pj;
	size_t max = j->kind == BLOB_DATA ? CHUNK_MAX : j->kind == BLOB_TREE ?
	    CLIENT_TREE_MAX : CLIENT_META_MAX;
	uint8_t *body;
	size_t len;

	if (blob_open(j->keys, j->kind, j->id, j->sealed, j->len, max, &body,
	    &len, j->why, sizeof(j->why)) == -1) {
		j->bad = 1;
		return;
	}
	if (j->kind == BLOB_TREE && (tree_blob_decode(body, len, &j->tb,
	    j->why, sizeof(j->why)) == -1 || (j->nlinks != UINT32_MAX &&
	    tree_links_check(&j->tb, (const uint8_t (*)[BLOB_ID_LEN])j->links,
	    j->nlinks, j->why, sizeof(j->why)) == -1)))
		j->bad = 1;
	else if (j->kind == BLOB_TREE && !want_ok(j)) {
		j->bad = 1;
		snprintf(j->why, sizeof(j->why), "%s", j->want == WANT_DIR ?
		    "a chunk list where a directory was expected" :
		    j->want >= WANT_LIST ? "not a chunk list of the level its "
		    "file or list says" : "not the page or index its index "
		    "says");
		tree_blob_free(&j->tb);
	}
	free(body);
}

/* Wait for every job, then account for each, in order. */
static void
harvest(struct verify *v)
{
	pool_wait_group(v->pool, &v->group);
	for (size_t i = 0; i < v->njobs; i++) {
		struct job *j = &v->jobs[i];

		if (v->pass == 3) {
			/* A tree that was fine in pass 1: only the names. */
			if (!j->missing && !j->bad && !v->fatal)
				name_paths(v, j);
		} else if (j->missing || j->bad) {
			problem_add(v, j);
			if (j->kind == BLOB_TREE && v->nprob > 0 && !v->fatal)
				problem_path(v, &v->prob[v->nprob - 1],
				    j->path);
		} else {
			v->bytes += j->len;
			if (j->kind == BLOB_META)
				v->meta_ok = 1;
			else if (j->kind == BLOB_DATA)
				v->data_checked++;
			else {
				v->trees_checked++;
				walk_tree(v, j);
			}
		}
		tree_blob_free(&j->tb);
		free(j->sealed);
		free(j->path);
		free(j->links);
		j->sealed = NULL;
		j->path = NULL;
		j->links = NULL;
	}
	v->njobs = 0;
	v->inflight = 0;
	progress(v, 0);
}

struct batch {
	struct verify	*v;
	const enum blob_kind *kinds;	/* or NULL: all of kind */
	enum blob_kind	 kind;
	char		**paths;	/* trees: handed to the jobs */
	const int	*depths;
	const int	*wants;
	size_t		 i;
};

/* remote_get() callback: copy the sealed bytes and queue the job. */
static int
got_blob(void *arg, const uint8_t *id, const uint8_t *blob, size_t len,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks)
{
	struct batch *b = arg;
	struct verify *v = b->v;
	struct job *j;

	if (v->njobs == WIRE_BATCH_MAX || v->inflight > INFLIGHT_MAX)
		harvest(v);
	j = &v->jobs[v->njobs];
	memset(j, 0, sizeof(*j));
	j->kind = b->kinds ? b->kinds[b->i] : b->kind;
	memcpy(j->id, id, BLOB_ID_LEN);
	j->keys = &v->c->keys;
	if (b->paths != NULL) {
		j->path = b->paths[b->i];
		b->paths[b->i] = NULL;
		j->depth = b->depths[b->i];
		j->want = b->wants[b->i];
	}
	b->i++;
	v->njobs++;
	j->nlinks = nlinks;
	if (blob == NULL) {
		j->missing = 1;
		return 0;
	}
	if (nlinks > 0 && nlinks != UINT32_MAX) {
		if ((j->links = calloc(nlinks, BLOB_ID_LEN)) == NULL)
			return -1;
		memcpy(j->links, links, (size_t)nlinks * BLOB_ID_LEN);
	}
	if ((j->sealed = malloc(len)) == NULL)
		return -1;
	memcpy(j->sealed, blob, len);
	j->len = len;
	v->inflight += len;
	j->pj.fn = open_job;
	pool_submit(v->pool, &j->pj, 0, &v->group);
	return 0;
}

/* Fetch and open ids[0..n) (n <= WIRE_BATCH_MAX). */
static int
fetch(struct verify *v, struct batch *b, const uint8_t (*ids)[BLOB_ID_LEN],
    size_t n)
{
	int rc;

	b->v = v;
	b->i = 0;
	v->err[0] = '\0';
	rc = remote_get(v->c->remote, ids, n, got_blob, b, v->err,
	    sizeof(v->err));
	harvest(v);
	if (rc != 0) {
		if (v->err[0] == '\0')
			snprintf(v->err, sizeof(v->err), "out of memory");
		v->fatal = 1;
		return -1;
	}
	return v->fatal ? -1 : 0;
}

/* Fetch the queued trees, batch by batch, until none is left. */
static int
fetch_trees(struct verify *v)
{
	uint8_t (*ids)[BLOB_ID_LEN] = calloc(WIRE_BATCH_MAX, sizeof(*ids));
	char **paths = calloc(WIRE_BATCH_MAX, sizeof(*paths));
	int *depths = calloc(WIRE_BATCH_MAX, sizeof(*depths));
	int *wants = calloc(WIRE_BATCH_MAX, sizeof(*wants));
	struct batch b = { 0 };
	size_t n;
	int rc = 0;

	if (ids == NULL || paths == NULL || depths == NULL || wants == NULL) {
		snprintf(v->err, sizeof(v->err), "out of memory");
		rc = -1;
	}
	b.kind = BLOB_TREE;
	b.paths = paths;
	b.depths = depths;
	b.wants = wants;
	while (rc == 0 && v->headtodo < v->ntodo) {
		/* Copy the batch out: harvesting may grow v->todo. */
		for (n = 0; n < WIRE_BATCH_MAX && v->headtodo < v->ntodo; n++) {
			struct todo *t = &v->todo[v->headtodo++];

			memcpy(ids[n], t->id, BLOB_ID_LEN);
			paths[n] = t->path;
			depths[n] = t->depth;
			wants[n] = t->want;
			t->path = NULL;
		}
		rc = fetch(v, &b, (const uint8_t (*)[BLOB_ID_LEN])ids, n);
		for (size_t k = 0; k < n; k++) {
			free(paths[k]);	/* those not handed to a job */
			paths[k] = NULL;
		}
	}
	for (size_t k = v->headtodo; k < v->ntodo; k++)
		free(v->todo[k].path);
	v->ntodo = v->headtodo = 0;
	free(ids);
	free(paths);
	free(depths);
	free(wants);
	if (rc == -1)
		v->fatal = 1;
	return rc;
}

/* splitmix64, seeded from the system's random bytes. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The data chunks: all of them, or a random pct percent. */
static int
fetch_data(struct verify *v, double pct)
{
	uint8_t (*ids)[BLOB_ID_LEN], tmp[BLOB_ID_LEN];
	struct batch b = { 0 };
	size_t n, want, k;
	uint64_t seed;

	if (idset_collect(v->data, F_SEEN, &ids, &n) == -1) {
		snprintf(v->err, sizeof(v->err), "out of memory");
		v->fatal = 1;
		return -1;
	}
	v->data_total = n;
	want = n;
	if (pct < 100) {
		/* Rounded up: a sample of a few chunks is never empty. */
		want = (size_t)((double)n * pct / 100.0);
		if ((double)want < (double)n * pct / 100.0)
			want++;
		if (want > n)
			want = n;
		if (crypto_random(&seed, sizeof(seed)) == -1)
			seed = (uint64_t)time(NULL);
		/* The first want places of a partial Fisher-Yates shuffle. */
		for (k = 0; k < want; k++) {
			size_t r = k + (size_t)(rnd(&seed) % (n - k));

			memcpy(tmp, ids[k], BLOB_ID_LEN);
			memcpy(ids[k], ids[r], BLOB_ID_LEN);
			memcpy(ids[r], tmp, BLOB_ID_LEN);
		}
	}
	b.kind = BLOB_DATA;
	for (k = 0; k < want && !v->fatal; k += WIRE_BATCH_MAX) {
		size_t m = want - k < WIRE_BATCH_MAX ? want - k :
		    WIRE_BATCH_MAX;

		if (fetch(v, &b, (const uint8_t (*)[BLOB_ID_LEN])ids + k,
		    m) == -1)
			break;
	}
	free(ids);
	return v->fatal ? -1 : 0;
}

/* ---------------------------------------------------------------- report */

static const char *
kind_name(enum blob_kind k)
{
	return k == BLOB_DATA ? "data" : k == BLOB_TREE ? "tree" : "meta";
}

static void
report_text(const struct verify *v)
{
	char hex[2 * BLOB_ID_LEN + 1];

	for (size_t i = 0; i < v->nprob; i++) {
		const struct problem *p = &v->prob[i];

		hex_encode(p->id, BLOB_ID_LEN, hex);
		if (p->kind == BLOB_META) {
			warnx("snapshot metadata (blob %s): %s", hex, p->why);
			continue;
		}
		if (p->npaths == 0) {
			warnx("%s blob %s: %s (no path found)",
			    kind_name(p->kind), hex, p->why);
			continue;
		}
		for (size_t k = 0; k < p->npaths; k++) {
			fputs("gigavault: ", stderr);
			client_putsafe(stderr, p->paths[k]);
			fprintf(stderr, ": %s %s: %s%s\n",
			    p->kind == BLOB_DATA ? "data blob" :
			    "directory, tree blob", hex, p->why,
			    p->kind == BLOB_TREE ? " (nothing below it was "
			    "checked)" : "");
		}
		if (p->more > 0)
			warnx("... and %llu more paths use %s blob %s",
			    (unsigned long long)p->more, kind_name(p->kind),
			    hex);
	}
}

static int
report_json(const struct verify *v, const struct snapinfo *si, double pct)
{
	char hex[2 * BLOB_ID_LEN + 1];
	json_t *o, *arr, *x, *paths;

	o = json_pack("{s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I}", "snapshot", (json_int_t)si->id, "set", client_jstr(si->set),
	    "sample_percent", pct < 100 ? json_real(pct) : json_null(),
	    "blobs_checked", (json_int_t)(v->meta_ok + v->trees_checked +
	    v->data_checked), "meta", (json_int_t)v->meta_ok,
	    "trees", (json_int_t)v->trees_checked,
	    "data_checked", (json_int_t)v->data_checked,
	    "data_total", (json_int_t)v->data_total,
	    "bytes", (json_int_t)v->bytes,
	    "damaged", (json_int_t)v->damaged,
	    "missing", (json_int_t)v->missing);
	if (o == NULL || (arr = json_array()) == NULL) {
		json_decref(o);
		return -1;
	}
	json_object_set_new(o, "problems", arr);
	for (size_t i = 0; i < v->nprob; i++) {
		const struct problem *p = &v->prob[i];

		hex_encode(p->id, BLOB_ID_LEN, hex);
		if ((paths = json_array()) == NULL)
			goto oom;
		for (size_t k = 0; k < p->npaths; k++)
			json_array_append_new(paths, client_jstr(p->paths[k]));
		x = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I}", "id", hex,
		    "kind", kind_name(p->kind), "problem", p->missing ?
		    "missing" : "damaged", "reason", p->why, "paths", paths,
		    "more_paths", (json_int_t)p->more);
		if (x == NULL)
			goto oom;
		json_array_append_new(arr, x);
	}
	json_dumpf(o, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
	return 0;
oom:
	json_decref(o);
	return -1;
}

/* ---------------------------------------------------------------- command */

static int
parse_percent(const char *s, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !(d > 0) || d > 100) {
		warnx("--sample \"%s\": give a percentage above 0, at most 100",
		    s);
		return -1;
	}
	*out = d;
	return 0;
}

int
cmd_verify(struct client *c, int argc, char **argv)
{
	enum { OPT_SAMPLE = OPT_CMD_FIRST };
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ NULL, 0, NULL, 0 }
	};
	static const enum blob_kind first_kinds[2] = { BLOB_META, BLOB_TREE };
	struct verify v;
	struct snapinfo si;
	struct batch b = { 0 };
	uint8_t first[2][BLOB_ID_LEN], *f;
	char *first_paths[2] = { NULL, NULL };
	const int first_depths[2] = { 0, 0 };
	const int first_wants[2] = { WANT_ANY, WANT_DIR };
	char size[32];
	double pct = 100;
	int ch, rc = EXIT_ERROR;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		if (ch != OPT_SAMPLE)
			return client_usage(c);
		if (parse_percent(optarg, &pct) == -1)
			return EXIT_ERROR;
	}
	if (argc - optind > 1)
		return client_usage(c);
	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1 ||
	    client_snapshot(c, optind < argc ? argv[optind] : "latest",
	    c->set, &si) == -1)
		return EXIT_ERROR;

	memset(&v, 0, sizeof(v));
	v.c = c;
	v.prog_on = c->tty || c->verbose;
	v.tty = c->tty;
	v.start = mono_ms();
	if ((v.trees = idset_new()) == NULL ||
	    (v.data = idset_new()) == NULL ||
	    (v.jobs = calloc(WIRE_BATCH_MAX, sizeof(*v.jobs))) == NULL ||
	    (v.pool = pool_new(c->conf->threads, WIRE_BATCH_MAX)) == NULL ||
	    (first_paths[1] = strdup("")) == NULL) {
		warnx("out of memory");
		goto done;
	}

	/* Pass 1: the meta blob and the root tree, then every tree. */
	v.pass = 1;
	memcpy(first[0], si.meta, BLOB_ID_LEN);
	memcpy(first[1], si.root, BLOB_ID_LEN);
	if ((f = idset_add(v.trees, si.root)) == NULL) {
		warnx("out of memory");
		goto done;
	}
	*f |= F_SEEN;
	b.kinds = first_kinds;
	b.paths = first_paths;
	b.depths = first_depths;
	b.wants = first_wants;
	if (fetch(&v, &b, (const uint8_t (*)[BLOB_ID_LEN])first, 2) == -1 ||
	    fetch_trees(&v) == -1)
		goto fatal;

	/* Pass 2: the chunks. */
	v.pass = 2;
	if (fetch_data(&v, pct) == -1)
		goto fatal;
	progress(&v, 1);

	/* Pass 3: name the paths that use damaged trees and chunks. */
	if (v.nprob > 0 && v.trees_checked > 0) {
		v.pass = 3;
		v.prog_on = 0;
		if (todo_push(&v, si.root, "", NULL, 0, WANT_ANY) == -1) {
			snprintf(v.err, sizeof(v.err), "out of memory");
			goto fatal;
		}
		if (fetch_trees(&v) == -1)
			goto fatal;
	}

	if (c->json) {
		if (report_json(&v, &si, pct) == -1) {
			warnx("out of memory");
			goto done;
		}
	}
	report_text(&v);
	if (!c->json) {
		client_fmt_bytes((double)v.bytes, size, sizeof(size));
		printf("snapshot %llu: checked %llu blobs (%llu meta, %llu "
		    "trees, %llu of %llu data chunks), %s: ",
		    (unsigned long long)si.id,
		    (unsigned long long)(v.meta_ok + v.trees_checked +
		    v.data_checked), (unsigned long long)v.meta_ok,
		    (unsigned long long)v.trees_checked,
		    (unsigned long long)v.data_checked,
		    (unsigned long long)v.data_total, size);
		if (v.nprob == 0)
			printf("no damage found\n");
		else
			printf("%llu damaged, %llu missing\n",
			    (unsigned long long)v.damaged,
			    (unsigned long long)v.missing);
	}
	rc = v.nprob > 0 ? EXIT_PARTIAL : 0;
	goto done;

fatal:
	if (v.tty && v.prog_on)
		fputc('\n', stderr);
	warnx("verify: %s", v.err[0] ? v.err : "out of memory");
	rc = EXIT_ERROR;
done:
	if (v.pool != NULL) {
		pool_wait_group(v.pool, &v.group);
		pool_free(v.pool);
	}
	for (size_t i = 0; i < v.njobs; i++) {
		tree_blob_free(&v.jobs[i].tb);
		free(v.jobs[i].sealed);
		free(v.jobs[i].path);
		free(v.jobs[i].links);
	}
	free(v.jobs);
	for (size_t i = 0; i < v.ntodo; i++)
		free(v.todo[i].path);
	free(v.todo);
	for (size_t i = 0; i < v.nprob; i++)
		for (size_t k = 0; k < v.prob[i].npaths; k++)
			free(v.prob[i].paths[k]);
	free(v.prob);
	free(first_paths[1]);
	idset_free(v.trees);
	idset_free(v.data);
	if (fflush(stdout) != 0)
		rc = EXIT_ERROR;
	return rc;
}
