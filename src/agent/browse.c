/*
 * browse.c - browse and restore requests: their args, a directory's
 * page, a restore's body.  See browse.h.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <err.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/restore.h"
#include "client/tree.h"
#include "browse.h"

/* The args object, or NULL with err set. */
static json_t *
args_load(const char *args, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o;

	if (strlen(args) > REMOTE_REQ_ARGS_MAX) {
		snprintf(err, errlen, "args: more than %d bytes",
		    REMOTE_REQ_ARGS_MAX);
		return NULL;
	}
	/* JSON_REJECT_DUPLICATES: one meaning per field. */
	if ((o = json_loads(args, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "args: not JSON (%s)", je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "args: not a JSON object");
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Every key of o is one of names (NULL-ended).  0, or -1 with err. */
static int
known_keys(json_t *o, const char *const *names, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; names[i] != NULL; i++)
			if (strcmp(key, names[i]) == 0)
				break;
		if (names[i] == NULL) {
			snprintf(err, errlen, "args: unknown field \"%.64s\"",
			    key);
			return -1;
		}
	}
	return 0;
}

/* "snapshot": a number from 1.  0, or -1 with err. */
static int
get_snapshot(json_t *o, uint64_t *id, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, "snapshot");

	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		snprintf(err, errlen, "args: \"snapshot\" must be a snapshot "
		    "id (a number from 1)");
		return -1;
	}
	*id = (uint64_t)json_integer_value(v);
	return 0;
}

/*
 * A path into dst (BROWSE_PATH_MAX + 1 bytes), normalized: absolute
 * when abs, at most BROWSE_PATH_MAX bytes, no control character.
 */
static int
get_path(json_t *v, const char *what, int abs, char *dst, char *err,
    size_t errlen)
{
	const char *s;
	char *norm;
	size_t len;

	if (!json_is_string(v) || (len = json_string_length(v)) >
	    BROWSE_PATH_MAX || (abs && len == 0)) {
		snprintf(err, errlen, "args: \"%s\" must be a %sstring of at "
		    "most %d bytes", what, abs ? "non-empty " : "",
		    BROWSE_PATH_MAX);
		return -1;
	}
	s = json_string_value(v);
	if (strlen(s) != len) {
		snprintf(err, errlen, "args: \"%s\" holds a NUL byte", what);
		return -1;
	}
	for (const unsigned char *p = (const void *)s; *p != '\0'; p++)
		if (*p < ' ' || *p == 0x7f) {
			snprintf(err, errlen, "args: \"%s\" holds a control "
			    "character", what);
			return -1;
		}
	if (abs && s[0] != '/') {
		snprintf(err, errlen, "args: \"%s\" must be an absolute path",
		    what);
		return -1;
	}
	if ((norm = client_path_norm(s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(dst, BROWSE_PATH_MAX + 1, "%s", norm);
	free(norm);
	return 0;
}

int
browse_args_parse(const char *args, struct browse_args *ba, char *err,
    size_t errlen)
{
	static const char *const names[] = { "snapshot", "path", "offset",
	    NULL };
	json_t *o, *v;
	int rc = -1;

	memset(ba, 0, sizeof(*ba));
	if ((o = args_load(args, err, errlen)) == NULL)
		return -1;
	if (known_keys(o, names, err, errlen) == -1 ||
	    get_snapshot(o, &ba->snapshot, err, errlen) == -1)
		goto done;
	if ((v = json_object_get(o, "path")) != NULL &&
	    get_path(v, "path", 0, ba->path, err, errlen) == -1)
		goto done;
	if ((v = json_object_get(o, "offset")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX) {
			snprintf(err, errlen, "args: \"offset\" must be a "
			    "number from 0");
			goto done;
		}
		ba->offset = (uint32_t)json_integer_value(v);
	}
	rc = 0;
done:
	json_decref(o);
	return rc;
}

int
restore_args_parse(const char *args, struct restore_args *ra, char *err,
    size_t errlen)
{
	static const char *const names[] = { "snapshot", "paths", "where",
	    "dir", NULL };
	char path[BROWSE_PATH_MAX + 1];
	const char *where;
	json_t *o, *v, *p;
	size_t i;
	int rc = -1;

	memset(ra, 0, sizeof(*ra));
	if ((o = args_load(args, err, errlen)) == NULL)
		return -1;
	if (known_keys(o, names, err, errlen) == -1 ||
	    get_snapshot(o, &ra->snapshot, err, errlen) == -1)
		goto done;
	v = json_object_get(o, "paths");
	if (!json_is_array(v) || json_array_size(v) < 1 ||
	    json_array_size(v) > BROWSE_RESTORE_PATHS) {
		snprintf(err, errlen, "args: \"paths\" must be a list of 1 to "
		    "%d paths", BROWSE_RESTORE_PATHS);
		goto done;
	}
	json_array_foreach(v, i, p) {
		if (get_path(p, "paths", 1, path, err, errlen) == -1)
			goto done;
		if ((ra->paths[ra->npaths] = strdup(path)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		ra->npaths++;
	}
	v = json_object_get(o, "where");
	where = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(where, "original") == 0)
		ra->where = BROWSE_ORIGINAL;
	else if (strcmp(where, "overwrite") == 0)
		ra->where = BROWSE_OVERWRITE;
	else if (strcmp(where, "directory") == 0)
		ra->where = BROWSE_DIRECTORY;
	else {
		snprintf(err, errlen, "args: \"where\" must be \"original\", "
		    "\"overwrite\" or \"directory\"");
		goto done;
	}
	v = json_object_get(o, "dir");
	if (ra->where == BROWSE_DIRECTORY) {
		if (get_path(v, "dir", 1, ra->dir, err, errlen) == -1)
			goto done;
		if (ra->dir[0] == '\0') {
			snprintf(err, errlen, "args: \"dir\" must not be the "
			    "root directory (use \"where\": \"original\")");
			goto done;
		}
	} else if (v != NULL) {
		snprintf(err, errlen, "args: \"dir\" goes with \"where\": "
		    "\"directory\" only");
		goto done;
	} else
		snprintf(ra->dir, sizeof(ra->dir), "/");
	rc = 0;
done:
	json_decref(o);
	if (rc == -1)
		restore_args_free(ra);
	return rc;
}

void
restore_args_free(struct restore_args *ra)
{
	for (int i = 0; i < ra->npaths; i++)
		free(ra->paths[i]);
	ra->npaths = 0;
	ra->paths[0] = NULL;
	free(ra->passfile);
	ra->passfile = NULL;
}

int
browse_send(struct client *c, uint64_t request, int status, json_t *o,
    char *err, size_t errlen)
{
	char *s;
	int rc;

	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_decref(o);
	rc = remote_agent_answer(c->remote, request, status, s, strlen(s),
	    err, errlen);
	free(s);
	return rc;
}

/* {"error": text} as a failed answer. */
static int
send_error(struct client *c, uint64_t request, const char *text, char *err,
    size_t errlen)
{
	return browse_send(c, request, 2, json_pack("{s:o}", "error",
	    client_jstr(text)), err, errlen);
}

/*
 * One entry of a page: its name, type, size, mtime and mode.  NULL when
 * memory runs out.
 */
static json_t *
entry_json(const struct node *n)
{
	json_t *o;

	o = json_pack("{s:o, s:s, s:I, s:I, s:i}", "name",
	    client_jstr(n->name), "type", client_type_name(n->type),
	    "size", (json_int_t)n->size, "mtime", (json_int_t)n->mtime_sec,
	    "mode", (int)n->mode);
	if (o != NULL && n->type == NODE_SYMLINK && n->target != NULL)
		json_object_set_new(o, "target", client_jstr(n->target));
	return o;
}

int
browse_answer(struct client *c, const struct remote_agent_request *rq,
    char *err, size_t errlen)
{
	struct browse_args ba;
	struct snapinfo si;
	struct client_rk rk = { c->remote, &c->keys, NULL };
	struct tree page, dir;
	struct node *found = NULL;
	char spec[32], why[1024];
	json_t *o = NULL, *arr;
	size_t stop, used;
	int notdir, have_page = 0, have_dir = 0, rc;
	uint32_t i;

	memset(&dir, 0, sizeof(dir));
	if (browse_args_parse(rq->args, &ba, why, sizeof(why)) == -1)
		return send_error(c, rq->id, why, err, errlen);
	snprintf(spec, sizeof(spec), "%llu", (unsigned long long)ba.snapshot);
	if (client_snapshot(c, spec, rq->set, &si) == -1 ||
	    strcmp(si.set, rq->set) != 0) {
		snprintf(why, sizeof(why), "no snapshot %s in set %s", spec,
		    rq->set);
		return send_error(c, rq->id, why, err, errlen);
	}
	if (ba.path[0] != '\0') {
		if (client_tree_path(&rk, si.root, ba.path, &page, &found,
		    &stop, &notdir, why, sizeof(why)) != 0) {
			client_rk_free(&rk);
			return send_error(c, rq->id, why, err, errlen);
		}
		have_page = found != NULL;
		if (found == NULL || found->type != NODE_DIR) {
			snprintf(why, sizeof(why), "%.900s: %s in snapshot "
			    "%s", ba.path, found != NULL || notdir ?
			    "not a directory" : "not", spec);
			goto fail;
		}
	}
	if (client_tree(c, found != NULL ? found->subtree : si.root, &dir,
	    why, sizeof(why)) != 0)
		goto fail;
	have_dir = 1;
	if ((o = json_pack("{s:I, s:s, s:o, s:I, s:I}", "snapshot",
	    (json_int_t)si.id, "set", si.set, "path", client_jstr(ba.path[0] ?
	    ba.path : "/"), "offset", (json_int_t)ba.offset, "total",
	    (json_int_t)dir.n)) == NULL || (arr = json_array()) == NULL ||
	    json_object_set_new(o, "entries", arr) == -1)
		goto oom;
	/* As many entries from offset as fit in one answer. */
	used = 256 + strlen(ba.path) * 6;
	for (i = ba.offset; i < dir.n; i++) {
		json_t *e = entry_json(&dir.nodes[i]);
		char *s;

		if (e == NULL || (s = json_dumps(e, JSON_COMPACT)) == NULL) {
			json_decref(e);
			goto oom;
		}
		used += strlen(s) + 1;
		free(s);
		if (used > BROWSE_PAGE_MAX) {
			json_decref(e);
			break;
		}
		json_array_append_new(arr, e);
	}
	json_object_set_new(o, "truncated", json_boolean(i < dir.n));
	if (i < dir.n)
		json_object_set_new(o, "next", json_integer(i));
	tree_free(&dir);
	if (have_page)
		tree_free(&page);
	client_rk_free(&rk);
	return browse_send(c, rq->id, 0, o, err, errlen);
oom:
	json_decref(o);
	snprintf(why, sizeof(why), "out of memory");
fail:
	if (have_dir)
		tree_free(&dir);
	if (have_page)
		tree_free(&page);
	client_rk_free(&rk);
	rc = send_error(c, rq->id, why, err, errlen);
	return rc;
}

static struct remote *
more_session(void *arg, char *err, size_t errlen)
{
	return client_more_session(arg, err, errlen);
}

int
restore_body(struct client *c, void *arg)
{
	struct restore_args *ra = arg;
	struct restore_opts o;
	struct restore_stats st;
	struct snapinfo si;
	char spec[32], why[1024] = "", aerr[512];
	int rc = 2;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	snprintf(spec, sizeof(spec), "%llu", (unsigned long long)ra->snapshot);
	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1) {
		/* Printed; the parent answers from its last line. */
		return 2;
	}
	if (client_snapshot(c, spec, ra->set, &si) == -1 ||
	    strcmp(si.set, ra->set) != 0) {
		snprintf(why, sizeof(why), "no snapshot %s in set %s", spec,
		    ra->set);
		warnx("%s", why);
		goto answer;
	}
	o.target = ra->dir;
	o.paths = ra->paths;
	o.npaths = ra->npaths;
	o.overwrite = ra->where == BROWSE_OVERWRITE;
	o.threads = RESTORE_SESSIONS;
	o.more_session = more_session;
	o.session_arg = c;
	rc = restore_snapshot(c->remote, &c->keys, &si, &o, &st, why,
	    sizeof(why));
	if (rc == 2)
		warnx("restore: %s", why);
	else if (rc == 1)
		snprintf(why, sizeof(why), "%llu problem%s (named in the "
		    "agent's log)", (unsigned long long)st.problems,
		    st.problems == 1 ? "" : "s");
answer:
	if (browse_send(c, ra->request, rc == 2 ? 2 : 0, json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:s, s:o}", "snapshot",
	    (json_int_t)ra->snapshot, "files", (json_int_t)(st.files +
	    st.links), "dirs", (json_int_t)st.dirs, "bytes",
	    (json_int_t)st.bytes, "problems", (json_int_t)st.problems,
	    "where", ra->where == BROWSE_DIRECTORY ? ra->dir : ra->where ==
	    BROWSE_OVERWRITE ? "original place, overwriting" :
	    "original place", "error", why[0] ? client_jstr(why) :
	    json_null()), aerr, sizeof(aerr)) == -1)
		warnx("cannot answer request %llu: %s",
		    (unsigned long long)ra->request, aerr);
	return rc;
}
