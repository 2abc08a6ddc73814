/*
 * uiactions.c - the console's actions on a client and its snapshots
 * (doc/webconsole.md, "Actions"): the retention policy of a client and
 * set (shown with where it comes from, set, cleared), one snapshot
 * (shown, protected, unprotected, forgotten), a new enrollment token,
 * allowing or denying the client's own forget.  Each takes the checks
 * gigavaultctl's command for it takes, through the same server code
 * (policy.h, catalog.h); forget asks for "confirm".  The rows are at the
 * end of uiapi.c's requests[]; answers go through uicall.h.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/crypto.h"
#include "catalog.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "uiactions.h"
#include "uiapi.h"
#include "uicall.h"

#define TOKEN_BYTES	16	/* as client_add: 32 hex digits */

/* The rules of a policy, by the names gigavaultctl policy show --json uses. */
static const struct {
	const char	*key;
	size_t		 off;
} rules[] = {
	{ "keep_last",		offsetof(struct retention, last) },
	{ "keep_hourly",	offsetof(struct retention, hourly) },
	{ "keep_daily",		offsetof(struct retention, daily) },
	{ "keep_weekly",	offsetof(struct retention, weekly) },
	{ "keep_monthly",	offsetof(struct retention, monthly) },
	{ "keep_yearly",	offsetof(struct retention, yearly) },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

static uint32_t *
rule_of(struct retention *p, size_t i)
{
	return (uint32_t *)((char *)p + rules[i].off);
}

static json_t *
rules_json(const struct retention *p)
{
	json_t *o = json_object();

	for (size_t i = 0; i < NRULES; i++)
		json_object_set_new(o, rules[i].key, json_integer(
		    *rule_of((struct retention *)p, i)));
	return o;
}

/*
 * The "set" argument into *set: absent or "" is the client's default
 * (as gigavaultctl policy set without --set), else a set name.  0, or
 * -1 after answering 400.
 */
static int
set_arg(struct ui_call *c, const char **set)
{
	json_t *v = json_object_get(c->args, "set");

	*set = json_string_value(v);
	if (v == NULL || (*set != NULL && (*set)[0] == '\0')) {
		*set = "";
		return 0;
	}
	if (*set == NULL || strlen(*set) > CAT_NAME_MAX ||
	    !catalog_name_valid(*set)) {
		ui_finish(c, 400, uiapi_error("\"set\" must be a set name: 1 to "
		    "%d of A-Z a-z 0-9 . _ -, not only dots (or \"\" for the "
		    "client's default)", CAT_NAME_MAX));
		return -1;
	}
	return 0;
}

/*
 * The client ("name") into *cl and its snapshot the "snapshot" argument
 * names (an id from 1) into *s: 0, or -1 after answering c (400, 404,
 * 503, 500).
 */
static int
snapshot_arg(struct ui_call *c, struct cat_client *cl,
    struct cat_snapshot *s)
{
	uint64_t id;
	int rc;

	if (json_object_get(c->args, "snapshot") == NULL) {
		ui_finish(c, 400, uiapi_error("name the snapshot: "
		    "\"snapshot\": ID"));
		return -1;
	}
	if (ui_arg_uint(c, "snapshot", 1, INT64_MAX, 0, &id) == -1 ||
	    ui_client(c, cl) == -1)
		return -1;
	if ((rc = catalog_snapshot_get(ui_cat(), cl->id, id, s)) ==
	    CAT_NOTFOUND) {
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

int
uiactions_confirmed(struct ui_call *c, const char *what, const char *want)
{
	json_t *v = json_object_get(c->args, "confirm");
	const char *s = json_string_value(v);

	if (json_is_true(v) || (s != NULL && want != NULL &&
	    strcmp(s, want) == 0))
		return 0;
	ui_finish(c, 400, uiapi_error("%s needs \"confirm\": %s%s%s", what,
	    want != NULL ? "\"" : "true", want != NULL ? want : "",
	    want != NULL ? "\" (or true)" : ""));
	return -1;
}

/* ----- policies */

struct sets_walk {
	json_t		*sets;		/* set names seen, as an object */
};

static int
snapshot_set(void *arg, const struct cat_snapshot *s)
{
	json_object_set_new(((struct sets_walk *)arg)->sets, s->set,
	    json_true());
	return 0;
}

static int
policy_set_row(void *arg, const char *set, const struct retention *p)
{
	(void)p;
	if (set[0] != '\0')
		json_object_set_new(((struct sets_walk *)arg)->sets, set,
		    json_true());
	return 0;
}

/* {"set","from","policy"} of client cl's set ("": its default). */
static json_t *
effective_json(const struct cat_client *cl, const char *set, int *failed)
{
	struct retention p;
	enum policy_from from;

	if (policy_source(ui_cat(), &ui_config()->retention, cl->id, set, &p,
	    &from) != CAT_OK) {
		*failed = 1;
		return json_null();
	}
	return json_pack("{s:s, s:s, s:o, s:b}", "set", set, "from",
	    policy_from_name(from), "policy", rules_json(&p),
	    "keeps_all", retention_keeps_all(&p) != 0);
}

/*
 * A client's retention: the server's default, the client's default
 * ("" row) and each set that has snapshots or a policy of its own,
 * each with the policy in force and where it comes from ("server",
 * "client", "set"); and whether the client may forget freely.
 */
void
uia_client_policy(struct ui_call *c)
{
	struct sets_walk w;
	struct cat_client cl;
	json_t *list, *v;
	const char *set;
	int failed = 0;

	if (ui_client(c, &cl) == -1)
		return;
	w.sets = json_object();
	if (catalog_snapshots(ui_cat(), cl.id, NULL, 0, snapshot_set, &w) !=
	    CAT_OK || catalog_policies(ui_cat(), cl.id, policy_set_row, &w) !=
	    CAT_OK) {
		json_decref(w.sets);
		ui_cat_failed(c);
		return;
	}
	list = json_array();
	json_array_append_new(list, effective_json(&cl, "", &failed));
	json_object_foreach(w.sets, set, v)
		json_array_append_new(list, effective_json(&cl, set, &failed));
	json_decref(w.sets);
	if (failed) {
		json_decref(list);
		ui_cat_failed(c);
		return;
	}
	ui_finish(c, 200, json_pack("{s:s, s:o, s:o, s:b, s:i}", "client",
	    cl.name, "server", rules_json(&ui_config()->retention), "sets",
	    list, "allow_forget", cl.allow_forget != 0, "keep_max",
	    POLICY_KEEP_MAX));
}

/*
 * Set the policy of a client's set: the rules as gigavaultctl policy
 * set takes them, each 0 to POLICY_KEEP_MAX, at least one given (a rule
 * not given is 0).
 */
void
uia_policy_set(struct ui_call *c)
{
	struct cat_client cl;
	struct retention p;
	const char *set;
	int given = 0;

	memset(&p, 0, sizeof(p));
	if (set_arg(c, &set) == -1)
		return;
	for (size_t i = 0; i < NRULES; i++) {
		uint64_t v;

		if (json_object_get(c->args, rules[i].key) != NULL)
			given = 1;
		if (ui_arg_uint(c, rules[i].key, 0, POLICY_KEEP_MAX, 0, &v) ==
		    -1)
			return;
		*rule_of(&p, i) = (uint32_t)v;
	}
	if (!given) {
		ui_finish(c, 400, uiapi_error("give at least one rule: "
		    "keep_last, keep_hourly, keep_daily, keep_weekly, "
		    "keep_monthly, keep_yearly"));
		return;
	}
	if (ui_client(c, &cl) == -1)
		return;
	switch (catalog_policy_set(ui_cat(), cl.name, set, &p)) {
	case CAT_OK:
		break;
	case CAT_NOTFOUND:
		ui_finish(c, 404, uiapi_error("no client named \"%s\"",
		    cl.name));
		return;
	default:
		ui_cat_failed(c);
		return;
	}
	log_info("UI: %s set the retention policy of %s, %s", c->user,
	    cl.name, set[0] ? set : "every set without its own");
	ui_finish(c, 200, json_pack("{s:s, s:s, s:o}", "client", cl.name,
	    "set", set, "policy", rules_json(&p)));
}

/* Remove the policy of a client's set: the next one down applies. */
void
uia_policy_clear(struct ui_call *c)
{
	struct cat_client cl;
	const char *set;
	int rc;

	if (set_arg(c, &set) == -1 || ui_client(c, &cl) == -1)
		return;
	rc = catalog_policy_clear(ui_cat(), cl.name, set);
	if (rc == CAT_NOTFOUND) {
		ui_finish(c, 404, uiapi_error("client %s has no policy for %s",
		    cl.name, set[0] ? set : "all its sets"));
		return;
	}
	if (rc != CAT_OK) {
		ui_cat_failed(c);
		return;
	}
	log_info("UI: %s cleared the retention policy of %s, %s", c->user,
	    cl.name, set[0] ? set : "its default");
	ui_finish(c, 200, json_pack("{s:s, s:s}", "client", cl.name, "set",
	    set));
}

/* ----- snapshots */

/*
 * One snapshot: its row, its ids in hex, whether it is protected, what
 * the policy of its set says of it now (kept and why) and where that
 * policy comes from.
 */
void
uia_snapshot(struct ui_call *c)
{
	struct cat_client cl;
	struct cat_snapshot s;
	struct ret_snap *rs = NULL;
	char root[2 * BLOB_ID_LEN + 1], meta[2 * BLOB_ID_LEN + 1], err[256];
	json_t *kept = json_null(), *eff;
	size_t n = 0;
	int failed = 0;

	if (snapshot_arg(c, &cl, &s) == -1)
		return;
	if (policy_evaluate(ui_cat(), &ui_config()->retention, cl.id, s.set,
	    &rs, &n, err, sizeof(err)) != CAT_OK) {
		log_warnx("UI: %s", err);
		ui_finish(c, 500, uiapi_error("catalog error"));
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (rs[i].id == s.id) {
			json_decref(kept);
			kept = json_pack("{s:b, s:s}", "keep", rs[i].keep != 0,
			    "why", rs[i].keep ? rs[i].why : "");
		}
	free(rs);
	eff = effective_json(&cl, s.set, &failed);
	if (failed) {
		json_decref(kept);
		ui_cat_failed(c);
		return;
	}
	hex_encode(s.root, BLOB_ID_LEN, root);
	hex_encode(s.meta, BLOB_ID_LEN, meta);
	ui_finish(c, 200, json_pack("{s:s, s:b, s:{s:I, s:s, s:I, s:I, s:I, "
	    "s:I, s:I, s:s, s:s, s:b}, s:o, s:o}", "client", cl.name,
	    "allow_forget", cl.allow_forget != 0, "snapshot",
	    "id", (json_int_t)s.id, "set", s.set, "time", (json_int_t)s.time,
	    "files", (json_int_t)s.files, "size", (json_int_t)s.size,
	    "new_bytes", (json_int_t)s.new_bytes,
	    "new_blobs", (json_int_t)s.new_blobs, "root", root, "meta", meta,
	    "protected", s.protected != 0, "policy", eff, "retention", kept));
}

static void
protect(struct ui_call *c, int on)
{
	struct cat_client cl;
	struct cat_snapshot s;

	if (snapshot_arg(c, &cl, &s) == -1)
		return;
	if (catalog_snapshot_protect(ui_cat(), cl.id, s.id, on) != CAT_OK) {
		ui_cat_failed(c);	/* NOTFOUND: forgotten meanwhile */
		return;
	}
	log_info("UI: %s %s snapshot %llu of %s", c->user, on ? "protected" :
	    "unprotected", (unsigned long long)s.id, cl.name);
	ui_finish(c, 200, json_pack("{s:s, s:I, s:b}", "client", cl.name,
	    "snapshot", (json_int_t)s.id, "protected", on != 0));
}

void
uia_snapshot_protect(struct ui_call *c)
{
	protect(c, 1);
}

void
uia_snapshot_unprotect(struct ui_call *c)
{
	protect(c, 0);
}

/*
 * Forget one snapshot, with "confirm": true, as gigavaultctl snapshot
 * forget (policy_forget()): 409 when it is protected or when the
 * client's policy keeps it and the client may not forget freely.
 */
void
uia_snapshot_forget(struct ui_call *c)
{
	struct cat_client cl;
	struct cat_snapshot s;
	char why[256];

	if (snapshot_arg(c, &cl, &s) == -1 ||
	    uiactions_confirmed(c, "forget", NULL) == -1)
		return;
	switch (policy_forget(ui_cat(), &ui_config()->retention, &cl, s.id,
	    why, sizeof(why))) {
	case CAT_OK:
		log_info("UI: %s forgot snapshot %llu of set %s of %s",
		    c->user, (unsigned long long)s.id, s.set, cl.name);
		ui_finish(c, 200, json_pack("{s:s, s:I, s:s}", "client",
		    cl.name, "snapshot", (json_int_t)s.id, "forgotten",
		    "prune frees the space of blobs no other snapshot uses"));
		break;
	case CAT_NOTFOUND:
		ui_finish(c, 404, uiapi_error("client %s has no snapshot %llu",
		    cl.name, (unsigned long long)s.id));
		break;
	case CAT_PROTECTED:
		ui_finish(c, 409, uiapi_error("snapshot %llu of %s is "
		    "protected: unprotect it first", (unsigned long long)s.id,
		    cl.name));
		break;
	case POLICY_KEPT:
		ui_finish(c, 409, uiapi_error("snapshot %llu of %s is kept by "
		    "the retention policy (%s): change the policy, or allow "
		    "forget for %s", (unsigned long long)s.id, cl.name, why,
		    cl.name));
		break;
	default:
		log_warnx("UI: forget: %s", why);
		ui_finish(c, 500, uiapi_error("catalog error"));
		break;
	}
}

/* ----- the client */

/*
 * A new one-time enrollment token for an existing client, in place of
 * any unused one (as gigavaultctl client token): shown once.
 */
void
uia_client_token(struct ui_call *c)
{
	struct cat_client cl;
	uint8_t hash[CRYPTO_HASH_LEN];
	char token[2 * TOKEN_BYTES + 1];
	int rc;

	if (ui_client(c, &cl) == -1)
		return;
	if (crypto_token(token, TOKEN_BYTES, hash) == -1) {
		ui_finish(c, 500, uiapi_error("no random numbers"));
		return;
	}
	rc = catalog_client_token(ui_cat(), cl.name, hash);
	if (rc == CAT_NOTFOUND)
		ui_finish(c, 404, uiapi_error("no client named \"%s\"",
		    cl.name));
	else if (rc != CAT_OK)
		ui_cat_failed(c);
	else {
		log_info("UI: %s issued a new enrollment token for client %s",
		    c->user, cl.name);
		ui_finish(c, 201, json_pack("{s:s, s:s}", "name", cl.name,
		    "token", token));
	}
	crypto_wipe(token, sizeof(token));
}

static void
set_allow_forget(struct ui_call *c, int allow)
{
	struct cat_client cl;

	if (ui_client(c, &cl) == -1)
		return;
	if (catalog_client_set_allow_forget(ui_cat(), cl.name, allow) !=
	    CAT_OK) {
		ui_cat_failed(c);
		return;
	}
	log_info("UI: %s %s client %s to forget snapshots its policy keeps",
	    c->user, allow ? "allowed" : "denied", cl.name);
	ui_finish(c, 200, json_pack("{s:s, s:b}", "client", cl.name,
	    "allow_forget", allow != 0));
}

void
uia_client_allow_forget(struct ui_call *c)
{
	set_allow_forget(c, 1);
}

void
uia_client_deny_forget(struct ui_call *c)
{
	set_allow_forget(c, 0);
}
