/*
 * list.c - the listing commands: "gigavault snapshots" (the client's
 * snapshots on the server) and "gigavault ls" (the entries of one
 * snapshot, below a path), as text or JSON.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <err.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "chain.h"
#include "client.h"

#define LS_DEPTH_MAX	4096	/* nested directories */

int
cmd_snapshots(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		CLIENT_STRICT_OPT,
		{ NULL, 0, NULL, 0 }
	};
	struct snapinfo *v;
	char err[1024], when[64], size[32], hex[2 * BLOB_ID_LEN + 1];
	json_t *arr, *o;
	size_t n;
	int ch;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1)
		if (!client_opt(c, ch, optarg))
			return client_usage(c);
	if (optind != argc)
		return client_usage(c);
	if (client_setup(c) == -1 || client_session(c) == -1)
		return EXIT_ERROR;
	if (remote_list(c->remote, c->set ? c->set : "", &v, &n, err,
	    sizeof(err)) == -1) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	if ((c->set ? chain_check(c, c->set, v, n) :
	    chain_check_all(c, v, n)) == -1) {
		free(v);
		return EXIT_ERROR;
	}
	if (c->json) {
		if ((arr = json_array()) == NULL)
			goto oom;
		for (size_t i = 0; i < n; i++) {
			client_fmt_time((int64_t)v[i].time, "%Y-%m-%dT%H:%M:%S%z",
			    when, sizeof(when));
			o = json_pack("{s:I, s:s, s:I, s:o}", "id",
			    (json_int_t)v[i].id, "time", when, "unix_time",
			    (json_int_t)v[i].time, "set", client_jstr(v[i].set));
			if (o == NULL)
				goto oom_arr;
			hex_encode(v[i].root, BLOB_ID_LEN, hex);
			json_object_set_new(o, "root", json_string(hex));
			hex_encode(v[i].meta, BLOB_ID_LEN, hex);
			json_object_set_new(o, "meta", json_string(hex));
			if (v[i].v3) {
				json_object_set_new(o, "files",
				    json_integer((json_int_t)v[i].files));
				json_object_set_new(o, "new_bytes",
				    json_integer((json_int_t)v[i].new_bytes));
			} else
				json_object_set_new(o, "blobs",
				    json_integer((json_int_t)v[i].blobs));
			json_object_set_new(o, "bytes",
			    json_integer((json_int_t)v[i].bytes));
			if (v[i].v5)
				json_object_set_new(o, "protected",
				    json_boolean(v[i].protected));
			json_array_append_new(arr, o);
		}
		json_dumpf(arr, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(arr);
	} else {
		if (n > 0)
			printf("%-8s %-24s %-16s %9s %10s\n", "ID", "TIME",
			    "SET", v[0].v3 ? "FILES" : "BLOBS", "SIZE");
		for (size_t i = 0; i < n; i++) {
			client_fmt_time((int64_t)v[i].time, "%Y-%m-%dT%H:%M:%S%z",
			    when, sizeof(when));
			client_fmt_bytes((double)v[i].bytes, size,
			    sizeof(size));
			printf("%-8llu %-24s %-16s %9llu %10s%s\n",
			    (unsigned long long)v[i].id, when, v[i].set,
			    (unsigned long long)(v[i].v3 ? v[i].files :
			    v[i].blobs), size, v[i].protected ?
			    " protected" : "");
		}
	}
	free(v);
	return fflush(stdout) == 0 ? 0 : EXIT_ERROR;
oom_arr:
	json_decref(arr);
oom:
	free(v);
	warnx("out of memory");
	return EXIT_ERROR;
}

static void
mode_string(const struct node *n, char s[11])
{
	static const char tc[] = "?-dlpcbs";
	uint32_t m = n->mode;

	s[0] = n->type < sizeof(tc) - 1 ? tc[n->type] : '?';
	s[1] = m & 0400 ? 'r' : '-';
	s[2] = m & 0200 ? 'w' : '-';
	s[3] = m & 04000 ? (m & 0100 ? 's' : 'S') : (m & 0100 ? 'x' : '-');
	s[4] = m & 040 ? 'r' : '-';
	s[5] = m & 020 ? 'w' : '-';
	s[6] = m & 02000 ? (m & 010 ? 's' : 'S') : (m & 010 ? 'x' : '-');
	s[7] = m & 04 ? 'r' : '-';
	s[8] = m & 02 ? 'w' : '-';
	s[9] = m & 01000 ? (m & 01 ? 't' : 'T') : (m & 01 ? 'x' : '-');
	s[10] = '\0';
}

struct ls {
	struct client	*c;
	int		 json;
	int		 first;		/* no JSON object printed yet */
};

static int
ls_print(struct ls *l, const char *path, const struct node *n)
{
	char mode[11], when[32];
	json_t *o;

	if (l->json) {
		o = json_pack("{s:o, s:s, s:i, s:I, s:I, s:I, s:I, s:i, s:I}",
		    "path", client_jstr(path), "type",
		    client_type_name(n->type),
		    "mode", (int)n->mode, "uid", (json_int_t)n->uid,
		    "gid", (json_int_t)n->gid, "size", (json_int_t)n->size,
		    "mtime", (json_int_t)n->mtime_sec,
		    "mtime_nsec", (int)n->mtime_nsec,
		    "inode", (json_int_t)n->inode);
		if (o == NULL)
			return -1;
		json_object_set_new(o, "nlink", json_integer(n->nlink));
		if (n->type == NODE_SYMLINK && n->target != NULL)
			json_object_set_new(o, "target", client_jstr(n->target));
		if (n->type == NODE_CHR || n->type == NODE_BLK)
			json_object_set_new(o, "rdev",
			    json_integer((json_int_t)n->rdev));
		return client_json_item(o, &l->first);
	}
	mode_string(n, mode);
	client_fmt_time(n->mtime_sec, "%Y-%m-%d %H:%M", when, sizeof(when));
	printf("%s %5u/%-5u %12llu %s ", mode, n->uid, n->gid,
	    (unsigned long long)n->size, when);
	client_putsafe(stdout, path);
	if (n->type == NODE_SYMLINK && n->target != NULL) {
		fputs(" -> ", stdout);
		client_putsafe(stdout, n->target);
	}
	putchar('\n');
	return 0;
}

/* Print every entry of tree id, below prefix, depth first. */
static int
ls_tree(struct ls *l, const uint8_t *id, const char *prefix, int depth)
{
	struct tree t;
	char err[1024], *path;
	int rc = 0;

	if (depth > LS_DEPTH_MAX) {
		warnx("%s: directories nested too deep", prefix);
		return -1;
	}
	if (client_tree(l->c, id, &t, err, sizeof(err)) != 0) {
		warnx("%s", err);
		return -1;
	}
	for (uint32_t i = 0; i < t.n && rc == 0; i++) {
		const struct node *n = &t.nodes[i];

		if (asprintf(&path, "%s/%s", prefix, n->name) == -1) {
			warnx("out of memory");
			rc = -1;
			break;
		}
		if (ls_print(l, path, n) == -1) {
			warnx("out of memory");
			rc = -1;
		} else if (n->type == NODE_DIR)
			rc = ls_tree(l, n->subtree, path, depth + 1);
		free(path);
	}
	tree_free(&t);
	return rc;
}

int
cmd_ls(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ls l = { c, 0, 1 };
	struct snapinfo si;
	struct tree t;
	const struct node *n = NULL;
	struct node *found;
	struct client_rk rk = { NULL, NULL, NULL };
	uint8_t dir[BLOB_ID_LEN];
	char err[1024], *shown = NULL;
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1)
		if (!client_opt(c, ch, optarg))
			return client_usage(c);
	if (argc - optind < 1 || argc - optind > 2)
		return client_usage(c);
	l.json = c->json;
	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1 ||
	    client_snapshot(c, argv[optind], c->set, &si) == -1)
		return EXIT_ERROR;
	memcpy(dir, si.root, BLOB_ID_LEN);
	rk.r = c->remote;
	rk.k = &c->keys;

	/* Walk down to PATH, one page per component. */
	if (argc - optind == 2) {
		size_t stop;
		int notdir;

		if ((shown = client_path_norm(argv[optind + 1])) == NULL) {
			warnx("out of memory");
			return EXIT_ERROR;
		}
		if (client_tree_path(&rk, dir, shown, &t, &found, &stop,
		    &notdir, err, sizeof(err)) != 0) {
			warnx("%s", err);
			rc = EXIT_ERROR;
			goto done;
		}
		n = found;
		if (n == NULL && *shown != '\0') {
			shown[stop] = '\0';
			warnx("%s: %s in snapshot %llu", shown, notdir ?
			    "not a directory" : "not", (unsigned long long)si.id);
			rc = EXIT_ERROR;
			goto done;
		}
	}
	if (n != NULL && n->type != NODE_DIR) {
		rc = ls_print(&l, shown, n) == -1 ? EXIT_ERROR : 0;
	} else {
		if (n != NULL)
			memcpy(dir, n->subtree, BLOB_ID_LEN);
		rc = ls_tree(&l, dir, shown ? shown : "", 0) == -1 ?
		    EXIT_ERROR : 0;
	}
	if (n != NULL)
		tree_free(&t);
	if (l.json)
		client_json_end(l.first);
	if (fflush(stdout) != 0)
		rc = EXIT_ERROR;
done:
	client_rk_free(&rk);
	free(shown);
	return rc;
}
