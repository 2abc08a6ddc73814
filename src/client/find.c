/*
 * find.c - "gigavault find [--snapshot SNAP] PATTERN ...": the entries of
 * snapshots whose paths match patterns (pattern.h), the newest snapshot
 * first, each with its snapshot id and time.
 *
 * Snapshots of a set share most of their directories.  A directory met
 * at the same path with the same subtree id as in a newer snapshot
 * already walked holds exactly what was shown for that one, so it is
 * skipped: a match in a part that did not change is shown once, with the
 * newest snapshot that has it, and each older snapshot costs only what
 * changed.  What was walked is remembered as one 32-byte key per
 * directory version (SHA-256 of its id and path) in an idset, so memory
 * grows with the directories walked, not with the names in them.
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
#include "idset.h"
#include "pattern.h"

#define FIND_DEPTH_MAX	4096	/* nested directories */

_Static_assert(CRYPTO_HASH_LEN == BLOB_ID_LEN,
    "a (path, subtree id) key is kept in an idset");

struct find {
	struct client	*c;
	struct patterns	*pats;
	struct idset	*walked;	/* keys of (subtree id, path) */
	const struct snapinfo *snap;	/* being walked */
	char		 when[64];	/* its time */
	int		 json;
	int		 first;		/* no JSON object printed yet */
};

static int
print_match(struct find *f, const char *path, const struct node *n)
{
	json_t *o;

	if (!f->json) {
		printf("%llu %s ", (unsigned long long)f->snap->id, f->when);
		client_putsafe(stdout, path);
		putchar('\n');
		return 0;
	}
	o = json_pack("{s:I, s:s, s:I, s:o, s:s, s:I, s:I}", "snapshot",
	    (json_int_t)f->snap->id, "time", f->when, "unix_time",
	    (json_int_t)f->snap->time, "path", client_jstr(path), "type",
	    client_type_name(n->type), "size", (json_int_t)n->size, "mtime",
	    (json_int_t)n->mtime_sec);
	return client_json_item(o, &f->first);
}

/*
 * Walk directory id at prefix: print what matches, unless this version
 * of it was walked already.  0, or -1 after printing an error.
 */
static int
find_tree(struct find *f, const uint8_t *id, const char *prefix, int depth)
{
	size_t plen = strlen(prefix);
	uint8_t key[CRYPTO_HASH_LEN], *buf, *flags;
	struct tree t;
	char err[1024], *path;
	int rc = 0;

	if (depth > FIND_DEPTH_MAX) {
		warnx("%s: directories nested too deep", prefix);
		return -1;
	}
	if ((buf = malloc(BLOB_ID_LEN + plen)) == NULL)
		goto oom;
	memcpy(buf, id, BLOB_ID_LEN);
	memcpy(buf + BLOB_ID_LEN, prefix, plen);
	crypto_sha256(buf, BLOB_ID_LEN + plen, key);
	free(buf);
	if (idset_find(f->walked, key) != NULL)
		return 0;	/* shown with a newer snapshot */
	if ((flags = idset_add(f->walked, key)) == NULL)
		goto oom;
	if (client_tree(f->c, id, &t, err, sizeof(err)) != 0) {
		warnx("snapshot %llu: %s: %s", (unsigned long long)f->snap->id,
		    *prefix ? prefix : "/", err);
		return -1;
	}
	for (uint32_t i = 0; i < t.n && rc == 0; i++) {
		const struct node *n = &t.nodes[i];

		if (asprintf(&path, "%s/%s", prefix, n->name) == -1) {
			tree_free(&t);
			goto oom;
		}
		if (patterns_match(f->pats, path, n->type == NODE_DIR) &&
		    print_match(f, path, n) == -1) {
			warnx("out of memory");
			rc = -1;
		} else if (n->type == NODE_DIR)
			rc = find_tree(f, n->subtree, path, depth + 1);
		free(path);
	}
	tree_free(&t);
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
	const char *spec = NULL;
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
	if ((f.pats = patterns_new()) == NULL ||
	    (f.walked = idset_new()) == NULL) {
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
		if (find_tree(&f, f.snap->root, "", 0) == -1)
			goto done;
	}
	if (f.json)
		client_json_end(f.first);
	rc = fflush(stdout) == 0 ? 0 : EXIT_ERROR;
done:
	patterns_free(f.pats);
	idset_free(f.walked);
	free(v);
	return rc;
}
