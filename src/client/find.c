/*
 * find.c - "gigavault find [--snapshot SNAP] PATTERN ...": the entries of
 * snapshots whose paths match patterns (pattern.h), the newest snapshot
 * first, each with its snapshot id and time: one line (or JSON object)
 * for each snapshot that holds a match, as a walk of each snapshot on
 * its own would print them, in the same order.
 *
 * Snapshots of a set share most of their directories, and a directory
 * met at the same path with the same subtree id as in a snapshot walked
 * already holds the same matches.  So each snapshot's matches are kept
 * in the order of its walk (depth first: a directory's matches are one
 * run of the list), and a memo maps (subtree id, path) to the snapshot
 * list and run where that directory's matches are: such a directory is
 * not fetched again, its run is printed (and kept) again for the
 * snapshot being walked.  An older snapshot then costs only what
 * changed.  The memo is only that: when what it keeps (match paths,
 * lists, memo slots) passes FIND_MEMO_MAX bytes it is dropped and every
 * later directory is walked, which prints the same, only slower.
 */
#include "autoconf.h"

#include <err.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "client.h"
#include "pattern.h"

#define FIND_DEPTH_MAX	4096	/* nested directories */
#define FIND_MEMO_MAX	((size_t)128 << 20)	/* bytes kept for the memo */

/* A match, kept for the snapshots that hold it too. */
struct match {
	char		*path;
	uint8_t		 type;
	uint64_t	 size;
	int64_t		 mtime;
};

/* The matches of one snapshot, in the order of its walk. */
struct mlist {
	struct match	**v;
	size_t		 n, cap;
};

/* Where the matches of a directory version are: list's [start, end). */
struct memo {
	uint8_t		 key[CRYPTO_HASH_LEN];	/* SHA-256 of id, path */
	size_t		 list, start, end;
	int		 used;
};

struct find {
	struct client	*c;
	struct patterns	*pats;
	const struct snapinfo *snap;	/* being walked */
	char		 when[64];	/* its time */
	int		 json;
	int		 first;		/* no JSON object printed yet */
	/* The memo (see above); off: dropped, or never used. */
	int		 off;
	size_t		 max;		/* FIND_MEMO_MAX, or the test's */
	size_t		 bytes;		/* kept so far */
	struct match	**all;		/* every match kept, to free */
	size_t		 nall, capall;
	struct mlist	*lists;		/* one per snapshot walked */
	size_t		 nlists;
	struct memo	*memo;		/* open addressing, cap a power of 2 */
	size_t		 nmemo, capmemo;
};

/* Free what the memo keeps, and stop using it. */
static void
memo_drop(struct find *f)
{
	for (size_t i = 0; i < f->nall; i++) {
		free(f->all[i]->path);
		free(f->all[i]);
	}
	free(f->all);
	for (size_t i = 0; i < f->nlists; i++)
		free(f->lists[i].v);
	free(f->lists);
	free(f->memo);
	f->all = NULL;
	f->lists = NULL;
	f->memo = NULL;
	f->nall = f->capall = f->nlists = f->nmemo = f->capmemo = 0;
	f->off = 1;
}

/*
 * Count len more bytes kept: past f->max, the memo is off from now on
 * (what it holds is freed by the caller of find_tree(), between
 * snapshots: a run may be being printed from it).  0, or -1 when off.
 */
static int
memo_grow(struct find *f, size_t len)
{
	if (f->off)
		return -1;
	if (f->bytes + len > f->max) {
		f->off = 1;
		return -1;
	}
	f->bytes += len;
	return 0;
}

/* Keep m (kept already elsewhere when old) in the current list. */
static void
memo_keep(struct find *f, struct match *m)
{
	struct mlist *l = &f->lists[f->nlists - 1];
	size_t cap;
	void *p;

	if (f->off)
		return;
	if (l->n == l->cap) {
		cap = l->cap ? 2 * l->cap : 64;
		if (memo_grow(f, (cap - l->cap) * sizeof(*l->v)) == -1 ||
		    (p = reallocarray(l->v, cap, sizeof(*l->v))) == NULL) {
			f->off = 1;
			return;
		}
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = m;
}

/* The memo slot of key: its entry, or the empty slot it would take. */
static struct memo *
memo_slot(struct find *f, const uint8_t *key)
{
	size_t i, mask = f->capmemo - 1;
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	for (i = (size_t)h & mask; f->memo[i].used &&
	    memcmp(f->memo[i].key, key, CRYPTO_HASH_LEN) != 0;
	    i = (i + 1) & mask)
		;
	return &f->memo[i];
}

/* Remember that key's matches are the current list's [start, end). */
static void
memo_add(struct find *f, const uint8_t *key, size_t start, size_t end)
{
	struct memo *old = f->memo, *e;
	size_t oldcap = f->capmemo, cap;

	if (f->off)
		return;
	if (2 * (f->nmemo + 1) > f->capmemo) {
		cap = f->capmemo ? 2 * f->capmemo : 1024;
		if (memo_grow(f, (cap - oldcap) * sizeof(*f->memo)) == -1 ||
		    (f->memo = calloc(cap, sizeof(*f->memo))) == NULL) {
			f->memo = old;
			f->off = 1;
			return;
		}
		f->capmemo = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].used)
				*memo_slot(f, old[i].key) = old[i];
		free(old);
	}
	e = memo_slot(f, key);
	if (!e->used) {
		memcpy(e->key, key, CRYPTO_HASH_LEN);
		e->list = f->nlists - 1;
		e->start = start;
		e->end = end;
		e->used = 1;
		f->nmemo++;
	}
}

/* A new list for the snapshot about to be walked. */
static void
memo_next_snapshot(struct find *f)
{
	void *p;

	if (f->off) {
		if (f->nlists > 0 || f->memo != NULL)
			memo_drop(f);
		return;
	}
	if (memo_grow(f, sizeof(*f->lists)) == -1 ||
	    (p = reallocarray(f->lists, f->nlists + 1,
	    sizeof(*f->lists))) == NULL) {
		memo_drop(f);
		return;
	}
	f->lists = p;
	memset(&f->lists[f->nlists++], 0, sizeof(*f->lists));
}

/*
 * A new match (path, n): kept when the memo is on, else (or when memory
 * runs out: the memo is then off) tmp, filled in, pointing at path.
 */
static struct match *
match_new(struct find *f, const char *path, const struct node *n,
    struct match *tmp)
{
	struct match *m;
	size_t len = strlen(path) + 1;
	void *p;

	tmp->path = (char *)(uintptr_t)path;
	tmp->type = n->type;
	tmp->size = n->size;
	tmp->mtime = n->mtime_sec;
	if (f->off || memo_grow(f, sizeof(*m) + len + sizeof(*f->all)) ==
	    -1)
		return tmp;
	if (f->nall == f->capall) {
		size_t cap = f->capall ? 2 * f->capall : 256;

		if ((p = reallocarray(f->all, cap, sizeof(*f->all))) == NULL) {
			f->off = 1;
			return tmp;
		}
		f->all = p;
		f->capall = cap;
	}
	if ((m = malloc(sizeof(*m))) == NULL) {
		f->off = 1;
		return tmp;
	}
	*m = *tmp;
	if ((m->path = strdup(path)) == NULL) {
		free(m);
		f->off = 1;
		return tmp;
	}
	f->all[f->nall++] = m;
	memo_keep(f, m);
	return m;
}

static int
print_match(struct find *f, const struct match *m)
{
	json_t *o;
	const char *path = m->path;

	if (!f->json) {
		printf("%llu %s ", (unsigned long long)f->snap->id, f->when);
		client_putsafe(stdout, path);
		putchar('\n');
		return 0;
	}
	o = json_pack("{s:I, s:s, s:I, s:o, s:s, s:I, s:I}", "snapshot",
	    (json_int_t)f->snap->id, "time", f->when, "unix_time",
	    (json_int_t)f->snap->time, "path", client_jstr(path), "type",
	    client_type_name(m->type), "size", (json_int_t)m->size, "mtime",
	    (json_int_t)m->mtime);
	return client_json_item(o, &f->first);
}

/*
 * Walk directory id at prefix: print what matches, from the memo when
 * this version of it was walked already.  0, or -1 after printing an
 * error.
 */
static int
find_tree(struct find *f, const uint8_t *id, const char *prefix, int depth)
{
	size_t plen = strlen(prefix), start = 0;
	uint8_t key[CRYPTO_HASH_LEN], *buf;
	struct match tmp;
	struct memo *e;
	struct tree t;
	char err[1024], *path;
	int rc = 0;

	if (depth > FIND_DEPTH_MAX) {
		warnx("%s: directories nested too deep", prefix);
		return -1;
	}
	if (!f->off) {
		if ((buf = malloc(BLOB_ID_LEN + plen)) == NULL)
			goto oom;
		memcpy(buf, id, BLOB_ID_LEN);
		memcpy(buf + BLOB_ID_LEN, prefix, plen);
		crypto_sha256(buf, BLOB_ID_LEN + plen, key);
		free(buf);
		if (f->capmemo > 0 && (e = memo_slot(f, key))->used) {
			/* Its matches again, for this snapshot. */
			struct mlist *l = &f->lists[e->list];

			for (size_t i = e->start; i < e->end; i++) {
				if (print_match(f, l->v[i]) == -1)
					goto oom;
				memo_keep(f, l->v[i]);
			}
			return 0;
		}
		start = f->lists[f->nlists - 1].n;
	}
	if (client_tree(f->c, id, &t, err, sizeof(err)) != 0) {
		warnx("snapshot %llu: %s: %s", (unsigned long long)f->snap->id,
		    *prefix ? prefix : "/", err);
		return -1;
	}
	for (uint32_t i = 0; i < t.n && rc == 0; i++) {
		const struct node *n = &t.nodes[i];

		if ((path = client_path_join(prefix, n->name)) == NULL) {
			tree_free(&t);
			goto oom;
		}
		if (patterns_match(f->pats, path, n->type == NODE_DIR) &&
		    print_match(f, match_new(f, path, n, &tmp)) == -1) {
			warnx("out of memory");
			rc = -1;
		} else if (n->type == NODE_DIR)
			rc = find_tree(f, n->subtree, path, depth + 1);
		free(path);
	}
	tree_free(&t);
	if (rc == 0 && !f->off)
		memo_add(f, key, start, f->lists[f->nlists - 1].n);
	return rc;
oom:
	warnx("out of memory");
	return -1;
}

int
cmd_find(struct client *c, int argc, char **argv)
{
	enum { OPT_SNAPSHOT = OPT_CMD_FIRST };
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ NULL, 0, NULL, 0 }
	};
	struct find f;
	struct snapinfo *v = NULL, one;
	const char *spec = NULL, *test;
	char err[1024];
	size_t n = 0;
	int ch, rc = EXIT_ERROR;

	memset(&f, 0, sizeof(f));
	f.c = c;
	f.first = 1;
	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		if (ch == OPT_SNAPSHOT)
			spec = optarg;
		else
			return client_usage(c);
	}
	if (optind >= argc)
		return client_usage(c);
	f.json = c->json;
	f.max = FIND_MEMO_MAX;
	if ((test = getenv("GIGAVAULT_TEST_FIND_MEMO")) != NULL &&
	    *test != '\0')
		f.max = (size_t)strtoull(test, NULL, 10);
	if ((f.pats = patterns_new()) == NULL) {
		warnx("out of memory");
		goto done;
	}
	for (int i = optind; i < argc; i++)
		if (patterns_add(f.pats, argv[i], err, sizeof(err)) == -1) {
			warnx("find: pattern \"%s\": %s", argv[i], err);
			goto done;
		}
	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1)
		goto done;
	if (spec != NULL) {
		if (client_snapshot(c, spec, c->set, &one) == -1)
			goto done;
		f.snap = &one;
		n = 1;
	} else if (remote_list(c->remote, client_set(c), &v, &n, err,
	    sizeof(err)) == -1) {
		warnx("%s", err);
		goto done;
	}
	/* Newest first (the list is oldest first). */
	for (size_t i = n; i > 0; i--) {
		if (spec == NULL)
			f.snap = &v[i - 1];
		client_fmt_time((int64_t)f.snap->time, "%Y-%m-%dT%H:%M:%S%z",
		    f.when, sizeof(f.when));
		memo_next_snapshot(&f);
		if (find_tree(&f, f.snap->root, "", 0) == -1)
			goto done;
	}
	if (f.json)
		client_json_end(f.first);
	rc = fflush(stdout) == 0 ? 0 : EXIT_ERROR;
done:
	patterns_free(f.pats);
	memo_drop(&f);
	free(v);
	return rc;
}
