/*
 * uiadmins.c - the console's users: the Administrators page and the own
 * password of "My account" (uiadmins.h).  The checks of who may ask are
 * uiapi_call()'s (levels and roles, uiapi.h); the rules of the file
 * (valid names, password lengths, the last administrator) are admins.c's,
 * whose messages are passed on.
 */
#include "autoconf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/crypto.h"
#include "admins.h"
#include "apitokens.h"
#include "log.h"
#include "uiadmins.h"
#include "uiapi.h"
#include "uicall.h"
#include "webauth.h"

/* The administrators file, or NULL after answering c with 503. */
static const char *
admins_or_fail(struct ui_call *c)
{
	const char *path = wa_admins();

	if (path == NULL)
		ui_finish(c, 503, uiapi_error("the administrators file is not "
		    "known yet"));
	return path;
}

/*
 * DataDir/apitokens (beside the administrators file) into buf, or NULL
 * after answering c with 503.
 */
static const char *
tokens_or_fail(struct ui_call *c, char *buf, size_t len)
{
	const char *admins = wa_admins(), *slash;

	if (admins == NULL || (slash = strrchr(admins, '/')) == NULL ||
	    (size_t)snprintf(buf, len, "%.*s/%s", (int)(slash - admins),
	    admins, APITOK_FILE) >= len) {
		ui_finish(c, 503, uiapi_error("the API tokens file is not "
		    "known yet"));
		return NULL;
	}
	return buf;
}

/* "name" as an administrator name, or NULL after answering c with 400. */
static const char *
name_arg(struct ui_call *c)
{
	const char *name = ui_arg_str(c, "name", ADMIN_NAME_MAX);

	if (name == NULL || !admin_name_valid(name)) {
		ui_finish(c, 400, uiapi_error("\"name\" must be 1 to %d of "
		    "A-Z a-z 0-9 . _ -, not starting with . or -",
		    ADMIN_NAME_MAX));
		return NULL;
	}
	return name;
}

/* "role" ("admin" or "operator"); def when absent; -1 after 400. */
static int
role_arg(struct ui_call *c, int def)
{
	json_t *v = json_object_get(c->args, "role");
	int role;

	if (v == NULL)
		return def;
	if (!json_is_string(v) ||
	    (role = admin_role_parse(json_string_value(v))) == -1) {
		ui_finish(c, 400, uiapi_error("\"role\" must be \"admin\" or "
		    "\"operator\""));
		return -1;
	}
	return role;
}

/* The status for one of admins.c's messages: 404, 409 or 400. */
static int
status_of(const char *err)
{
	if (strncmp(err, "no administrator named", 22) == 0)
		return 404;
	if (strstr(err, "exists already") != NULL ||
	    strstr(err, "last administrator") != NULL)
		return 409;
	return 400;
}

/*
 * Whether "current" is the password of name now: 1, or 0 after
 * answering c (400 missing, 403 wrong, 500).  For the account's
 * changes a session left open must not be enough for.
 */
static int
current_ok(struct ui_call *c, const char *path, const char *name)
{
	const char *cur;
	int ok;

	if ((cur = ui_arg_str(c, "current", ADMIN_PASS_MAX)) == NULL) {
		ui_finish(c, 400, uiapi_error("\"current\" (your password "
		    "now) is missing"));
		return 0;
	}
	if ((ok = admin_verify(path, name, cur)) != 1) {
		if (ok == 0)
			log_warnx("UI: %s from %s: a wrong current password",
			    name, c->from);
		ui_finish(c, ok == 0 ? 403 : 500, uiapi_error("%s", ok == 0 ?
		    "your current password is wrong" :
		    "cannot check the password"));
		return 0;
	}
	return 1;
}

/*
 * Revoke every API token of name: 0, or -1 after answering c (500).
 * For a user removed, a name added anew (a former user's tokens must
 * not come back with it) and a password set by an administrator.
 */
static int
revoke_tokens(struct ui_call *c, const char *name)
{
	char tpath[PATH_MAX], err[512];

	if (tokens_or_fail(c, tpath, sizeof(tpath)) == NULL)
		return -1;
	if (apitok_revoke_user(tpath, name, err, sizeof(err)) == -1) {
		log_warnx("UI: the API tokens of %s: %s", name, err);
		ui_finish(c, 500, uiapi_error("cannot revoke the API tokens of "
		    "%s (see the log)", name));
		return -1;
	}
	return 0;
}

struct list_arg {
	json_t		*list;
	const char	*me;
};

static void
list_one(void *arg, const struct admin_info *ai)
{
	struct list_arg *la = arg;

	json_array_append_new(la->list, json_pack("{s:s, s:s, s:o, s:b, s:b}",
	    "name", ai->name, "role", admin_role_name(ai->role), "changed",
	    ui_time_json((int64_t)ai->changed), "you",
	    strcmp(ai->name, la->me) == 0, "totp", ai->totp));
}

void
req_admins(struct ui_call *c)
{
	struct list_arg la = { json_array(), c->user };
	const char *path;
	char err[512];

	if ((path = admins_or_fail(c)) == NULL) {
		json_decref(la.list);
		return;
	}
	if (admin_list(path, list_one, &la, err, sizeof(err)) == -1) {
		log_warnx("UI: administrators: %s", err);
		json_decref(la.list);
		ui_finish(c, 500, uiapi_error("cannot read the administrators "
		    "file (see the log)"));
		return;
	}
	ui_finish(c, 200, json_pack("{s:o}", "admins", la.list));
}

void
req_admin_add(struct ui_call *c)
{
	const char *path, *name, *pw;
	char err[512];
	int role;

	if ((path = admins_or_fail(c)) == NULL || (name = name_arg(c)) == NULL)
		return;
	if ((pw = ui_arg_str(c, "password", ADMIN_PASS_MAX)) == NULL) {
		ui_finish(c, 400, uiapi_error("\"password\" must be %d to %d "
		    "characters", ADMIN_PASS_MIN, ADMIN_PASS_MAX));
		return;
	}
	if ((role = role_arg(c, ADMIN_ROLE_ADMIN)) == -1)
		return;
	if (admin_put(path, name, pw, 1, role, err, sizeof(err)) == -1) {
		ui_finish(c, status_of(err), uiapi_error("%s", err));
		return;
	}
	if (revoke_tokens(c, name) == -1)
		return;
	log_info("UI: %s added %s %s", c->user, role == ADMIN_ROLE_ADMIN ?
	    "administrator" : "read-only operator", name);
	ui_finish(c, 201, json_pack("{s:s, s:s}", "name", name, "role",
	    admin_role_name(role)));
}

void
req_admin_remove(struct ui_call *c)
{
	const char *path, *name;
	char err[512];

	if ((path = admins_or_fail(c)) == NULL || (name = name_arg(c)) == NULL)
		return;
	if (strcmp(name, c->user) == 0) {
		ui_finish(c, 409, uiapi_error("you cannot remove yourself: "
		    "another administrator can"));
		return;
	}
	if (admin_remove(path, name, err, sizeof(err)) == -1) {
		ui_finish(c, status_of(err), uiapi_error("%s", err));
		return;
	}
	wa_end_user(name);
	if (revoke_tokens(c, name) == -1)
		return;
	log_info("UI: %s removed administrator %s", c->user, name);
	ui_finish(c, 200, json_object());
}

void
req_admin_role(struct ui_call *c)
{
	const char *path, *name;
	char err[512];
	int role;

	if ((path = admins_or_fail(c)) == NULL || (name = name_arg(c)) == NULL)
		return;
	if (json_object_get(c->args, "role") == NULL) {
		ui_finish(c, 400, uiapi_error("\"role\" is missing"));
		return;
	}
	if ((role = role_arg(c, -1)) == -1)
		return;
	if (admin_put(path, name, NULL, 0, role, err, sizeof(err)) == -1) {
		ui_finish(c, status_of(err), uiapi_error("%s", err));
		return;
	}
	wa_end_user(name);
	log_info("UI: %s made %s %s", c->user, name, role == ADMIN_ROLE_ADMIN ?
	    "an administrator" : "a read-only operator");
	ui_finish(c, 200, json_pack("{s:s, s:s}", "name", name, "role",
	    admin_role_name(role)));
}

void
req_admin_passwd(struct ui_call *c)
{
	const char *path, *name, *pw;
	char err[512];
	int own;

	if ((path = admins_or_fail(c)) == NULL)
		return;
	if (json_object_get(c->args, "name") != NULL) {
		if ((name = name_arg(c)) == NULL)
			return;
	} else
		name = c->user;
	own = strcmp(name, c->user) == 0;
	if (!own && c->role != ADMIN_ROLE_ADMIN) {
		ui_finish(c, 403, uiapi_error("changing another user's "
		    "password needs the administrator role"));
		return;
	}
	if ((pw = ui_arg_str(c, "password", ADMIN_PASS_MAX)) == NULL) {
		ui_finish(c, 400, uiapi_error("\"password\" must be %d to %d "
		    "characters", ADMIN_PASS_MIN, ADMIN_PASS_MAX));
		return;
	}
	/* A session left open must not be enough to take it over. */
	if (own && !current_ok(c, path, name))
		return;
	if (admin_set(path, name, pw, 0, err, sizeof(err)) == -1) {
		ui_finish(c, status_of(err), uiapi_error("%s", err));
		return;
	}
	/* A reset ends the user's sessions and API tokens: whatever the
	 * old password let out goes with it. */
	if (!own) {
		wa_end_user(name);
		if (revoke_tokens(c, name) == -1)
			return;
	}
	log_info("UI: %s set a new password for %s", c->user, name);
	ui_finish(c, 200, json_object());
}

/* ----------------------------------------------------------- API tokens */

static json_t *
token_json(const struct apitok *t)
{
	return json_pack("{s:s, s:o, s:s, s:o, s:o}", "id", t->id, "label",
	    ui_text_json(t->label, strlen(t->label)), "scope",
	    apitok_scope_name(t->scope), "created",
	    ui_time_json((int64_t)t->created), "last_used",
	    ui_time_json((int64_t)t->last_used));
}

void
req_tokens(struct ui_call *c)
{
	char path[PATH_MAX], err[512];
	struct apitok *v;
	json_t *list;
	size_t n;

	if (tokens_or_fail(c, path, sizeof(path)) == NULL)
		return;
	if (apitok_list(path, c->user, &v, &n, err, sizeof(err)) == -1) {
		log_warnx("UI: API tokens: %s", err);
		ui_finish(c, 500, uiapi_error("cannot read the API tokens "
		    "(see the log)"));
		return;
	}
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, token_json(&v[i]));
	free(v);
	ui_finish(c, 200, json_pack("{s:o}", "tokens", list));
}

void
req_token_create(struct ui_call *c)
{
	char path[PATH_MAX], err[512], token[APITOK_LEN + 1];
	json_t *lv = json_object_get(c->args, "label");
	json_t *sv = json_object_get(c->args, "scope");
	const char *label = "", *admins;
	struct apitok t;
	uint64_t uid;
	json_t *body;
	int scope = APITOK_READ;

	if ((admins = admins_or_fail(c)) == NULL ||
	    tokens_or_fail(c, path, sizeof(path)) == NULL)
		return;
	/* A token outlives the session: an open one is not enough. */
	if (!current_ok(c, admins, c->user))
		return;
	if (lv != NULL && (!json_is_string(lv) ||
	    (label = json_string_value(lv)) == NULL)) {
		ui_finish(c, 400, uiapi_error("\"label\" must be a string"));
		return;
	}
	if (sv != NULL && (!json_is_string(sv) ||
	    (scope = apitok_scope_parse(json_string_value(sv))) == -1)) {
		ui_finish(c, 400, uiapi_error("\"scope\" must be \"read\" or "
		    "\"full\""));
		return;
	}
	if (scope == APITOK_FULL && c->role != ADMIN_ROLE_ADMIN) {
		ui_finish(c, 403, uiapi_error("a read-only operator's tokens "
		    "have the scope \"read\""));
		return;
	}
	if (admin_whois(admins, c->user, &uid) == -1) {
		ui_finish(c, 404, uiapi_error("%s is no longer a user of this "
		    "console", c->user));
		return;
	}
	if (apitok_create(path, c->user, uid, scope, label, token, &t, err,
	    sizeof(err)) == -1) {
		ui_finish(c, strstr(err, "label") != NULL ||
		    strstr(err, "revoke one") != NULL ? 400 : 500,
		    uiapi_error("%s", err));
		return;
	}
	log_info("UI: %s made API token %s (%s)", c->user, t.id,
	    apitok_scope_name(scope));
	body = token_json(&t);
	json_object_set_new(body, "token", json_string(token));
	crypto_wipe(token, sizeof(token));
	ui_finish(c, 201, body);
}

void
req_token_revoke(struct ui_call *c)
{
	char path[PATH_MAX], err[512];
	const char *id = ui_arg_str(c, "name", APITOK_ID_HEX);

	if (tokens_or_fail(c, path, sizeof(path)) == NULL)
		return;
	if (id == NULL) {
		ui_finish(c, 400, uiapi_error("which token? (its id)"));
		return;
	}
	if (apitok_revoke(path, c->user, id, err, sizeof(err)) == -1) {
		ui_finish(c, strcmp(err, "no such token") == 0 ? 404 : 500,
		    uiapi_error("%s", err));
		return;
	}
	log_info("UI: %s revoked API token %s", c->user, id);
	ui_finish(c, 200, json_object());
}

/* ------------------------------------------------ the account and TOTP */

struct me {
	const char	*name;
	int		 found, role, totp;
};

static void
find_me(void *arg, const struct admin_info *ai)
{
	struct me *m = arg;

	if (strcmp(ai->name, m->name) == 0) {
		m->found = 1;
		m->role = ai->role;
		m->totp = ai->totp;
	}
}

void
req_account(struct ui_call *c)
{
	struct me m = { c->user, 0, 0, 0 };
	uint8_t secret[ADMIN_TOTP_LEN];
	const char *path;
	char err[512];
	int pending;

	if ((path = admins_or_fail(c)) == NULL)
		return;
	if (admin_list(path, find_me, &m, err, sizeof(err)) == -1) {
		log_warnx("UI: administrators: %s", err);
		ui_finish(c, 500, uiapi_error("cannot read the administrators "
		    "file (see the log)"));
		return;
	}
	if (!m.found) {
		ui_finish(c, 404, uiapi_error("%s is no longer a user of this "
		    "console", c->user));
		return;
	}
	pending = wa_totp_pending(c->user, secret);
	crypto_wipe(secret, sizeof(secret));
	ui_finish(c, 200, json_pack("{s:s, s:s, s:b, s:b, s:b}", "user",
	    c->user, "role", admin_role_name(m.role), "totp", m.totp,
	    "totp_pending", pending, "bearer", c->bearer));
}

void
req_totp_enroll(struct ui_call *c)
{
	uint8_t secret[ADMIN_TOTP_LEN];
	char b32[ADMIN_TOTP_B32], uri[512];

	if (admins_or_fail(c) == NULL)
		return;
	if (wa_totp_begin(c->user, secret) == -1 ||
	    admin_totp_uri(c->user, secret, b32, sizeof(b32), uri,
	    sizeof(uri)) == -1) {
		crypto_wipe(secret, sizeof(secret));
		wa_totp_forget(c->user);
		ui_finish(c, 500, uiapi_error("cannot make a TOTP secret"));
		return;
	}
	crypto_wipe(secret, sizeof(secret));
	log_info("UI: %s began a TOTP enrolment", c->user);
	ui_finish(c, 200, json_pack("{s:s, s:s, s:i, s:i}", "secret", b32,
	    "uri", uri, "digits", ADMIN_TOTP_DIGITS, "period",
	    ADMIN_TOTP_STEP));
	crypto_wipe(b32, sizeof(b32));
	crypto_wipe(uri, sizeof(uri));
}

void
req_totp_confirm(struct ui_call *c)
{
	uint8_t secret[ADMIN_TOTP_LEN];
	const char *path, *code;
	char err[512];
	uint64_t step;

	if ((path = admins_or_fail(c)) == NULL)
		return;
	/* As turning it off: an open session is not enough. */
	if (!current_ok(c, path, c->user))
		return;
	if (!wa_totp_pending(c->user, secret)) {
		ui_finish(c, 409, uiapi_error("no TOTP enrolment waits (it "
		    "lasts 10 minutes): begin again"));
		return;
	}
	code = ui_arg_str(c, "code", 16);
	if (!admin_totp_match(secret, code, (uint64_t)time(NULL), &step)) {
		crypto_wipe(secret, sizeof(secret));
		ui_finish(c, 400, uiapi_error("wrong code: enter the %d digits "
		    "your authenticator app shows now", ADMIN_TOTP_DIGITS));
		return;
	}
	/* The code just used is taken: it cannot log in. */
	if (admin_totp_set(path, c->user, secret, step, err, sizeof(err)) ==
	    -1) {
		crypto_wipe(secret, sizeof(secret));
		ui_finish(c, status_of(err), uiapi_error("%s", err));
		return;
	}
	crypto_wipe(secret, sizeof(secret));
	wa_totp_forget(c->user);
	log_info("UI: %s turned TOTP on", c->user);
	ui_finish(c, 200, json_pack("{s:b}", "totp", 1));
}

void
req_totp_disable(struct ui_call *c)
{
	const char *path, *name;
	char err[512];
	int own;

	if ((path = admins_or_fail(c)) == NULL)
		return;
	if (json_object_get(c->args, "name") != NULL) {
		if ((name = name_arg(c)) == NULL)
			return;
	} else
		name = c->user;
	own = strcmp(name, c->user) == 0;
	if (!own && c->role != ADMIN_ROLE_ADMIN) {
		ui_finish(c, 403, uiapi_error("turning off another user's TOTP "
		    "needs the administrator role"));
		return;
	}
	if (own && !current_ok(c, path, name))
		return;
	if (admin_totp_set(path, name, NULL, 0, err, sizeof(err)) == -1) {
		ui_finish(c, status_of(err), uiapi_error("%s", err));
		return;
	}
	log_info("UI: %s turned TOTP off for %s", c->user, name);
	ui_finish(c, 200, json_pack("{s:b}", "totp", 0));
}
