/*
 * uiagent.c - browse and restore through a client's agent, for the
 * console: requests queued in the catalog (catalog.h, "browse and
 * restore"), taken by the agent at its next poll, answered with
 * AGENT_ANSWER (session.c).  See uiagent.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/crypto.h"
#include "catalog.h"
#include "log.h"
#include "uiagent.h"
#include "uiapi.h"
#include "uicall.h"

#define PATH_MAX_ARG	1024	/* bytes of a path (the agent's limit) */
#define PATHS_MAX_ARG	64	/* paths of one restore */

/* The client named by "name", enabled, into *cl; or answered. */
static int
enabled_client(struct ui_call *c, struct cat_client *cl)
{
	const char *name = ui_arg_str(c, "name", CAT_NAME_MAX);
	int rc;

	if (name == NULL || !catalog_name_valid(name)) {
		ui_finish(c, 400, uiapi_error("\"name\" must be a client name: "
		    "1 to %d of A-Z a-z 0-9 . _ -, not only dots",
		    CAT_NAME_MAX));
		return -1;
	}
	if (ui_cat_or_fail(c) == NULL)
		return -1;
	rc = catalog_client_get(ui_cat(), name, cl);
	crypto_wipe(cl->secret, sizeof(cl->secret));
	if (rc == CAT_NOTFOUND) {
		ui_finish(c, 404, uiapi_error("no client named \"%s\"", name));
		return -1;
	}
	if (rc != CAT_OK) {
		ui_cat_failed(c);
		return -1;
	}
	return 0;
}

/* Its snapshot named by "snapshot" into *s; or answered. */
static int
named_snapshot(struct ui_call *c, const struct cat_client *cl,
    struct cat_snapshot *s)
{
	uint64_t id;
	int rc;

	if (ui_arg_uint(c, "snapshot", 1, INT64_MAX, 0, &id) == -1)
		return -1;
	if (id == 0) {
		ui_finish(c, 400, uiapi_error("\"snapshot\" is required: a "
		    "snapshot id"));
		return -1;
	}
	rc = catalog_snapshot_get(ui_cat(), cl->id, id, s);
	if (rc == CAT_NOTFOUND) {
		ui_finish(c, 404, uiapi_error("client %s has no snapshot %llu",
		    cl->name, (unsigned long long)id));
		return -1;
	}
	if (rc != CAT_OK) {
		ui_cat_failed(c);
		return -1;
	}
	return 0;
}

/*
 * A path argument: a string of at most PATH_MAX_ARG bytes without
 * control characters, absolute when abs.  NULL after answering 400.
 */
static const char *
path_arg(struct ui_call *c, json_t *v, const char *what, int abs)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) > PATH_MAX_ARG || json_string_length(v) !=
	    strlen(s) || (abs && s[0] != '/')) {
		ui_finish(c, 400, uiapi_error("\"%s\" must be %s path of at "
		    "most %d bytes", what, abs ? "an absolute" : "a",
		    PATH_MAX_ARG));
		return NULL;
	}
	for (const unsigned char *p = (const void *)s; *p != '\0'; p++)
		if (*p < ' ' || *p == 0x7f) {
			ui_finish(c, 400, uiapi_error("\"%s\" holds a control "
			    "character", what));
			return NULL;
		}
	return s;
}

/* When the client's agent last polled, and its name. */
static void
agent_seen(const struct cat_client *cl, int64_t *seen, char *name,
    size_t namelen)
{
	struct cat_client_health *h = NULL;
	size_t n = 0;

	*seen = 0;
	name[0] = '\0';
	if (catalog_health(ui_cat(), cl->id, time(NULL), 0, &h, &n) ==
	    CAT_OK && n == 1) {
		*seen = h[0].agent_seen;
		snprintf(name, namelen, "%s", h[0].agent_name);
	}
	catalog_health_free(h, n);
}

/* Queue kind with args (stolen) on the snapshot's set; answer. */
static void
queue(struct ui_call *c, const struct cat_client *cl,
    const struct cat_snapshot *s, int kind, json_t *args)
{
	char by[CAT_NAME_MAX + 1], name[CAT_AGENT_NAME_MAX + 1], *text;
	int64_t seen;
	uint64_t id;
	int rc;

	if (args == NULL || (text = json_dumps(args, JSON_COMPACT)) == NULL) {
		json_decref(args);
		ui_finish(c, 500, uiapi_error("out of memory"));
		return;
	}
	json_decref(args);
	if (strlen(text) > CAT_REQ_ARGS_MAX) {
		ui_finish(c, 400, uiapi_error("the request's arguments take "
		    "%zu bytes; at most %d", strlen(text), CAT_REQ_ARGS_MAX));
		free(text);
		return;
	}
	snprintf(by, sizeof(by), "console: %s", c->user ? c->user : "?");
	rc = catalog_request_add_args(ui_cat(), cl->id, kind, s->set, text,
	    by, (int64_t)time(NULL), &id);
	free(text);
	if (rc == CAT_LIMIT) {
		ui_finish(c, 409, uiapi_error("too many requests pending for "
		    "this client: %d browse and restore requests of client %s "
		    "wait for its agent already", CAT_PENDING_MAX, cl->name));
		return;
	}
	if (rc != CAT_OK) {
		ui_cat_failed(c);
		return;
	}
	log_info("UI: %s asked client %s's agent to %s snapshot %llu "
	    "(request %llu)", c->user ? c->user : "?", cl->name,
	    kind == CAT_REQ_BROWSE ? "browse" : "restore from",
	    (unsigned long long)s->id, (unsigned long long)id);
	agent_seen(cl, &seen, name, sizeof(name));
	ui_finish(c, 200, json_pack("{s:I, s:s, s:s, s:o, s:o, s:I}", "id",
	    (json_int_t)id, "client", cl->name, "set", s->set, "agent_seen",
	    ui_time_json(seen), "agent_name", name[0] ? ui_text_json(name,
	    strlen(name)) : json_null(), "now", (json_int_t)time(NULL)));
}

void
ui_client_browse(struct ui_call *c)
{
	struct cat_client cl;
	struct cat_snapshot s;
	json_t *v;
	const char *path = "";
	uint64_t offset;

	if (ui_arg_uint(c, "offset", 0, UINT32_MAX, 0, &offset) == -1)
		return;
	if ((v = json_object_get(c->args, "path")) != NULL &&
	    (path = path_arg(c, v, "path", 0)) == NULL)
		return;
	if (enabled_client(c, &cl) == -1 || named_snapshot(c, &cl, &s) == -1)
		return;
	if (cl.disabled) {
		ui_finish(c, 409, uiapi_error("client %s is disabled: enable it "
		    "first", cl.name));
		return;
	}
	queue(c, &cl, &s, CAT_REQ_BROWSE, json_pack("{s:I, s:s, s:I}",
	    "snapshot", (json_int_t)s.id, "path", path, "offset",
	    (json_int_t)offset));
}

void
ui_client_restore(struct ui_call *c)
{
	struct cat_client cl;
	struct cat_snapshot s;
	json_t *paths = json_object_get(c->args, "paths"), *p, *list, *args;
	const char *where = ui_arg_str(c, "where", 16), *dir = NULL;
	size_t i;

	if (!json_is_array(paths) || json_array_size(paths) < 1 ||
	    json_array_size(paths) > PATHS_MAX_ARG) {
		ui_finish(c, 400, uiapi_error("\"paths\" must be a list of 1 "
		    "to %d paths", PATHS_MAX_ARG));
		return;
	}
	json_array_foreach(paths, i, p)
		if (path_arg(c, p, "paths", 1) == NULL)
			return;
	if (where == NULL || (strcmp(where, "original") != 0 &&
	    strcmp(where, "overwrite") != 0 &&
	    strcmp(where, "directory") != 0)) {
		ui_finish(c, 400, uiapi_error("\"where\" must be \"original\", "
		    "\"overwrite\" or \"directory\""));
		return;
	}
	if (strcmp(where, "directory") == 0) {
		if ((dir = path_arg(c, json_object_get(c->args, "dir"), "dir",
		    1)) == NULL)
			return;
		if (strspn(dir, "/") == strlen(dir)) {
			ui_finish(c, 400, uiapi_error("\"dir\" must not be the "
			    "root directory (restore to the original place)"));
			return;
		}
	} else if (json_object_get(c->args, "dir") != NULL) {
		ui_finish(c, 400, uiapi_error("\"dir\" goes with \"where\": "
		    "\"directory\" only"));
		return;
	}
	if (enabled_client(c, &cl) == -1 || named_snapshot(c, &cl, &s) == -1)
		return;
	if (cl.disabled) {
		ui_finish(c, 409, uiapi_error("client %s is disabled: enable it "
		    "first", cl.name));
		return;
	}
	if ((list = json_deep_copy(paths)) == NULL ||
	    (args = json_pack("{s:I, s:o, s:s}", "snapshot", (json_int_t)s.id,
	    "paths", list, "where", where)) == NULL) {
		ui_finish(c, 500, uiapi_error("out of memory"));
		return;
	}
	if (dir != NULL)
		json_object_set_new(args, "dir", json_string(dir));
	queue(c, &cl, &s, CAT_REQ_RESTORE, args);
}

void
ui_client_answer(struct ui_call *c)
{
	static const char *const states[] = { "done", "started", "failed",
	    "pending" };
	struct cat_client cl;
	char name[CAT_AGENT_NAME_MAX + 1], *data = NULL;
	json_t *answer = json_null();
	json_error_t je;
	int64_t taken, seen;
	uint64_t id;
	size_t len;
	int status, kind, rc;

	if (ui_arg_uint(c, "req", 1, INT64_MAX, 0, &id) == -1)
		return;
	if (id == 0) {
		ui_finish(c, 400, uiapi_error("\"req\" is required: a request "
		    "id"));
		return;
	}
	if (enabled_client(c, &cl) == -1)
		return;
	rc = catalog_answer_get(ui_cat(), cl.id, id, time(NULL), &status,
	    &kind, &taken, &data, &len);
	if (rc == CAT_NOTFOUND) {
		ui_finish(c, 404, uiapi_error("client %s has no request %llu "
		    "waiting or answered (a final answer is kept for an "
		    "hour)", cl.name, (unsigned long long)id));
		return;
	}
	if (rc != CAT_OK) {
		ui_cat_failed(c);
		return;
	}
	if (data != NULL && (answer = json_loadb(data, len, 0, &je)) ==
	    NULL) {
		log_warnx("UI: client %s's agent answered request %llu with "
		    "something that is not JSON: %s", cl.name,
		    (unsigned long long)id, je.text);
		free(data);
		ui_finish(c, 502, uiapi_error("the agent's answer to request "
		    "%llu is not JSON (%s)", (unsigned long long)id, je.text));
		return;
	}
	free(data);
	if (status < 0 || status > CAT_ANSWER_PENDING)
		status = CAT_ANSWER_FAILED;
	agent_seen(&cl, &seen, name, sizeof(name));
	ui_finish(c, 200, json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:I}",
	    "id", (json_int_t)id, "state", states[status], "kind",
	    kind == CAT_REQ_RESTORE ? "restore" : "browse", "taken",
	    ui_time_json(taken), "agent_seen", ui_time_json(seen), "answer",
	    answer, "now", (json_int_t)time(NULL)));
}
