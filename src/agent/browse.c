/*
 * browse.c - browse and restore requests: their args, a directory's
 * page, a restore's body.  See browse.h.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <err.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/text.h"
#include "client/remote.h"
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
	/* ".." would climb out of what the path names ("/tmp/.."). */
	for (const char *c = s; (c = strstr(c, "..")) != NULL; c += 2)
		if ((c == s || c[-1] == '/') && (c[2] == '\0' || c[2] == '/')) {
			snprintf(err, errlen, "args: \"%s\" must not hold a "
			    "\"..\" component", what);
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

int
restore_args_allowed(const struct restore_args *ra, int allow, char *err,
    size_t errlen)
{
	if (allow == CLIENTCONF_RESTORE_NONE) {
		snprintf(err, errlen, "this agent restores nothing the server "
		    "asks for (its Agent.AllowRestore is none)");
		return -1;
	}
	if (allow == CLIENTCONF_RESTORE_TARGET &&
	    ra->where != BROWSE_DIRECTORY) {
		snprintf(err, errlen, "this agent restores only into a new or "
		    "empty directory (\"where\": \"directory\"), never to "
		    "the original place (its Agent.AllowRestore is target)");
		return -1;
	}
	return 0;
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
	if (strlen(s) > REMOTE_ANSWER_MAX) {
		/*
		 * An answer the server would refuse: say so instead, so that
		 * the session and the requests after this one go on.
		 */
		char why[160];
		json_t *e;

		snprintf(why, sizeof(why), "the answer (%zu bytes) is larger "
		    "than an answer may be (%d bytes)", strlen(s),
		    REMOTE_ANSWER_MAX);
		free(s);
		if ((e = json_pack("{s:s}", "error", why)) == NULL ||
		    (s = json_dumps(e, JSON_COMPACT)) == NULL) {
			json_decref(e);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		json_decref(e);
		status = 2;
	}
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
 * s as a JSON string of at most max bytes (cut at a UTF-8 character's
 * start, as client_jstr() makes it valid), or NULL when out of memory.
 */
static json_t *
jstr_cap(const char *s, size_t max)
{
	char *copy;
	json_t *j;

	if (strlen(s) <= max)
		return client_jstr(s);
	if ((copy = strdup(s)) == NULL)
		return NULL;
	text_cut(copy, max);
	j = client_jstr(copy);
	free(copy);
	return j;
}

/*
 * One entry (name, target, four mail fields) and a page's head (its
 * path, the mailbox's name) fit in a page even when every byte is
 * written as \u00XX: a page always holds one entry.
 */
_Static_assert((TREE_MAX_NAME + TREE_MAX_TARGET + 4 * BROWSE_MAIL_FIELD_MAX +
    BROWSE_PATH_MAX + BROWSE_MAIL_FIELD_MAX) * 6 + 1024 < BROWSE_PAGE_MAX,
    "one entry fits in a page");

/* Bytes of o's compact JSON, or 0 when out of memory. */
static size_t
json_len(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t n = s != NULL ? strlen(s) : 0;

	free(s);
	return n;
}

/*
 * One entry of a page: its name, type, size, mtime and mode.  Its
 * name (TREE_MAX_NAME) and target (TREE_MAX_TARGET) are bounded by the
 * tree's format, so that one entry, with its mail fields (each at most
 * BROWSE_MAIL_FIELD_MAX bytes), always fits in a page.  NULL when
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

/* A .mailbox's message, by its file's name: one page's index. */
struct mailidx {
	const char	*file;
	json_t		*m;
};

static json_t	*mailbox_load(struct client *, const struct snapinfo *,
		    const char *);
static struct mailidx *mailidx_make(json_t *, size_t *);
static void	 mailbox_fields(const struct mailidx *, size_t, json_t *,
		    const char *);

/* name is UIDVALIDITY-UID: digits, '-', digits (doc/mail.md). */
static int
mail_file_name(const char *name)
{
	const char *p = name;

	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != '-' || *p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

/*
 * dir is a mail set's mailbox (doc/mail.md): it has a ".mailbox" file
 * of at most BROWSE_MAILBOX_MAX bytes and every other file is named
 * UIDVALIDITY-UID.  A ".mailbox" anywhere else is a file like others,
 * never read as an index.
 */
static int
mailbox_dir(const struct tree *dir)
{
	int have = 0;

	for (uint32_t i = 0; i < dir->n; i++) {
		const struct node *n = &dir->nodes[i];

		if (strcmp(n->name, ".mailbox") == 0) {
			if (n->type != NODE_FILE ||
			    n->size > BROWSE_MAILBOX_MAX)
				return 0;
			have = 1;
		} else if (n->type != NODE_DIR && !mail_file_name(n->name))
			return 0;
	}
	return have;
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
	struct mailidx *idx = NULL;
	char spec[32], why[1024];
	json_t *o = NULL, *arr, *mb = NULL;
	size_t stop, used, nidx = 0;
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
	/*
	 * A mail set's mailbox: its name, and its messages' From, Subject
	 * and Date, each cut to BROWSE_MAIL_FIELD_MAX bytes.
	 */
	if (mailbox_dir(&dir) &&
	    (mb = mailbox_load(c, &si, ba.path)) != NULL) {
		json_t *nm = json_object_get(mb, "name");

		json_object_set_new(o, "mailbox", json_pack("{s:o}", "name",
		    json_is_string(nm) ? jstr_cap(json_string_value(nm),
		    BROWSE_MAIL_FIELD_MAX) : json_null()));
		idx = mailidx_make(mb, &nidx);
	}
	/*
	 * As many entries from offset as fit in one answer, and at least
	 * one (one entry always fits: entry_json()), so that every page
	 * moves on.  The object so far, and room for "truncated" and
	 * "next", count.
	 */
	used = json_len(o) + 64;
	for (i = ba.offset; i < dir.n; i++) {
		json_t *e = entry_json(&dir.nodes[i]);
		size_t len;

		if (e != NULL && idx != NULL && dir.nodes[i].type == NODE_FILE)
			mailbox_fields(idx, nidx, e, dir.nodes[i].name);
		if (e == NULL || (len = json_len(e)) == 0) {
			json_decref(e);
			goto oom;
		}
		used += len + 1;
		if (used > BROWSE_PAGE_MAX && json_array_size(arr) > 0) {
			json_decref(e);
			break;
		}
		json_array_append_new(arr, e);
	}
	json_object_set_new(o, "truncated", json_boolean(i < dir.n));
	if (i < dir.n)
		json_object_set_new(o, "next", json_integer(i));
	free(idx);
	json_decref(mb);
	tree_free(&dir);
	if (have_page)
		tree_free(&page);
	client_rk_free(&rk);
	return browse_send(c, rq->id, 0, o, err, errlen);
oom:
	json_decref(o);
	free(idx);
	json_decref(mb);
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

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP || flag == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/*
 * A mail set's directory (doc/mail.md) holds a ".mailbox": JSON with,
 * for each message file, its From, Subject, Date and flags.  Read it
 * from snapshot si (at dir, "" for the root) with the client's restore
 * into a private temporary directory, removed after; NULL when it
 * cannot be read (a listing without them, not an error).
 */
static json_t *
mailbox_load(struct client *c, const struct snapinfo *si, const char *dir)
{
	struct restore_opts o;
	struct restore_stats st;
	const char *tmpdir = getenv("TMPDIR");
	char tmp[256], spath[BROWSE_PATH_MAX + 16];
	char file[sizeof(tmp) + sizeof(spath)];
	char err[1024], *paths[2];
	json_error_t je;
	json_t *j = NULL;
	struct stat sb;

	if (tmpdir == NULL || tmpdir[0] != '/' || strlen(tmpdir) > 200)
		tmpdir = "/tmp";
	snprintf(tmp, sizeof(tmp), "%s/gigavault-browse.XXXXXX", tmpdir);
	if (mkdtemp(tmp) == NULL)
		return NULL;
	snprintf(spath, sizeof(spath), "%s/.mailbox", dir);
	paths[0] = spath;
	paths[1] = NULL;
	memset(&o, 0, sizeof(o));
	o.target = tmp;
	o.paths = paths;
	o.npaths = 1;
	snprintf(file, sizeof(file), "%s%s", tmp, spath);
	if (restore_snapshot(c->remote, &c->keys, si, &o, &st, err,
	    sizeof(err)) == 0 && lstat(file, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size <= BROWSE_MAILBOX_MAX)
		j = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* A string field of a .mailbox message, cut, or NULL. */
static json_t *
mail_field(json_t *m, const char *key)
{
	json_t *v = json_object_get(m, key);

	return json_is_string(v) ? jstr_cap(json_string_value(v),
	    BROWSE_MAIL_FIELD_MAX) : NULL;
}

static int
mailidx_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mailidx *)a)->file,
	    ((const struct mailidx *)b)->file);
}

/*
 * mb's messages that name their file, sorted by it (mb keeps owning
 * them): a malloc'ed array of *n, NULL (and *n 0) when there are none
 * or memory runs out (a listing without mail fields).
 */
static struct mailidx *
mailidx_make(json_t *mb, size_t *n)
{
	json_t *msgs = json_object_get(mb, "messages"), *m;
	struct mailidx *idx;
	size_t i;

	*n = 0;
	if (!json_is_array(msgs) || json_array_size(msgs) == 0 ||
	    (idx = calloc(json_array_size(msgs), sizeof(*idx))) == NULL)
		return NULL;
	json_array_foreach(msgs, i, m) {
		json_t *f = json_object_get(m, "file");

		if (json_is_object(m) && json_is_string(f)) {
			idx[*n].file = json_string_value(f);
			idx[*n].m = m;
			(*n)++;
		}
	}
	qsort(idx, *n, sizeof(*idx), mailidx_cmp);
	return idx;
}

/*
 * Add message name's "from", "subject", "date_header" and "flags" from
 * the index idx[0..n) to entry.
 */
static void
mailbox_fields(const struct mailidx *idx, size_t n, json_t *entry,
    const char *name)
{
	static const char *const k[] = { "from", "subject", "date_header",
	    "flags" };
	struct mailidx key = { name, NULL };
	const struct mailidx *hit;

	if (n == 0 || (hit = bsearch(&key, idx, n, sizeof(*idx),
	    mailidx_cmp)) == NULL)
		return;
	for (size_t x = 0; x < sizeof(k) / sizeof(k[0]); x++) {
		json_t *v = mail_field(hit->m, k[x]);

		if (v != NULL)
			json_object_set_new(entry, k[x], v);
	}
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
	remote_set_purpose("restore");	/* the server's history says so */
	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1) {
		/* Printed; the agent answers with that line. */
		return BROWSE_UNANSWERED;
	}
	if (client_snapshot(c, spec, ra->set, &si) == -1 ||
	    strcmp(si.set, ra->set) != 0) {
		snprintf(why, sizeof(why), "no snapshot %s in set %s", spec,
		    ra->set);
		warnx("%s", why);
		goto answer;
	}
	o.target = ra->dir;
	/* No symbolic link on the way; a new or empty one unless "all". */
	o.target_nofollow = 1;
	o.target_empty = ra->allow != CLIENTCONF_RESTORE_ALL;
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
	    json_null()), aerr, sizeof(aerr)) == -1) {
		warnx("cannot answer request %llu: %s",
		    (unsigned long long)ra->request, aerr);
		return BROWSE_UNANSWERED;
	}
	return rc;
}
