/*
 * uiadmins.c - the console's users: the Administrators page and the own
 * password of "My account" (uiadmins.h).  The checks of who may ask are
 * uiapi_call()'s (levels and roles, uiapi.h); the rules of the file
 * (valid names, password lengths, the last administrator) are admins.c's,
 * whose messages are passed on.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/crypto.h"
#include "admins.h"
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

struct list_arg {
	json_t		*list;
	const char	*me;
};

static void
list_one(void *arg, const struct admin_info *ai)
{
	struct list_arg *la = arg;

	json_array_append_new(la->list, json_pack("{s:s, s:s, s:o, s:b}",
	    "name", ai->name, "role", admin_role_name(ai->role), "changed",
	    ui_time_json((int64_t)ai->changed), "you",
	    strcmp(ai->name, la->me) == 0));
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
	const char *path, *name, *pw, *cur;
	char err[512];
	int own, ok;

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
	if (own) {
		/* A session left open must not be enough to take it over. */
		if ((cur = ui_arg_str(c, "current", ADMIN_PASS_MAX)) == NULL) {
			ui_finish(c, 400, uiapi_error("\"current\" (your "
			    "password now) is missing"));
			return;
		}
		if ((ok = admin_verify(path, name, cur)) != 1) {
			if (ok == 0)
				log_warnx("UI: %s from %s: a wrong current "
				    "password", name, c->from);
			ui_finish(c, ok == 0 ? 403 : 500, uiapi_error("%s",
			    ok == 0 ? "your current password is wrong" :
			    "cannot check the password"));
			return;
		}
	}
	if (admin_set(path, name, pw, 0, err, sizeof(err)) == -1) {
		ui_finish(c, status_of(err), uiapi_error("%s", err));
		return;
	}
	if (!own)
		wa_end_user(name);
	log_info("UI: %s set a new password for %s", c->user, name);
	ui_finish(c, 200, json_object());
}
