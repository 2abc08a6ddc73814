/*
 * uicall.c - what every handler of the UI bridge's requests shares
 * (uicall.h): answering a call, the catalog (opened on first use, in
 * the UI-bridge child), reading a call's arguments.  The request table
 * is uiapi.c's; the handlers live in uiapi.c and the ui*.c files beside
 * it, each using only this file.
 */
#include "autoconf.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/crypto.h"
#include "common/text.h"
#include "catalog.h"
#include "child.h"
#include "config.h"
#include "log.h"
#include "uiapi.h"
#include "uicall.h"

static struct {
	struct child_env *env;
	struct catalog	*cat;		/* opened on first use */
} uc;

void
uicall_init(struct child_env *env)
{
	uc.env = env;
}

void
uicall_free(void)
{
	catalog_close(uc.cat);
	uc.cat = NULL;
}

json_t *
uiapi_error(const char *fmt, ...)
{
	char msg[256];
	json_t *s;
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Truncation may have split a UTF-8 sequence: drop its bytes. */
	len = strlen(msg);
	while ((s = json_string(msg)) == NULL && len > 0)
		msg[--len] = '\0';
	return json_pack("{s:o}", "error", s ? s : json_string("error"));
}

void
ui_finish(struct ui_call *c, int status, json_t *body)
{
	if (body == NULL) {
		status = 500;
		body = uiapi_error("internal error");
	}
	if (c->cancelled) {
		json_decref(body);
		json_decref(c->args);
		free(c);
		return;
	}
	c->done(c, status, body);
}

/*
 * What the bridge writes: client add (meta's counter, clients, tokens),
 * disable, remove (the client's tokens, snapshots, policies, blob index
 * entries and totals, its job reports and requests), client backup (a
 * request in the jobs tables).  Never the peers, the day statistics,
 * the recent links or the history (supervisor.c's table of who writes
 * what).
 */
#define UIAPI_WRITES	(CAT_T_META | CAT_T_CLIENTS | CAT_T_TOKENS | \
			 CAT_T_SNAPSHOTS | CAT_T_POLICIES | CAT_T_BLOBS | \
			 CAT_T_USAGE | CAT_T_JOBS)

/* The catalog, opened on first use; NULL (logged) when it cannot be. */
struct catalog *
ui_cat(void)
{
	char path[PATH_MAX], err[512];

	if (uc.cat != NULL)
		return uc.cat;
	if ((size_t)snprintf(path, sizeof(path), "%s/catalog",
	    uc.env->cfg->datadir) >= sizeof(path))
		snprintf(err, sizeof(err), "Server.DataDir: path too long");
	else if (catalog_open_for(path, 0, UIAPI_WRITES, &uc.cat, err,
	    sizeof(err)) == CAT_OK)
		return uc.cat;
	log_warnx("UI: catalog: %s", err);
	uc.cat = NULL;
	return NULL;
}

/* The catalog, or NULL after answering 503. */
struct catalog *
ui_cat_or_fail(struct ui_call *c)
{
	if (ui_cat() == NULL)
		ui_finish(c, 503, uiapi_error("catalog not available"));
	return uc.cat;
}

void
ui_cat_failed(struct ui_call *c)
{
	log_warnx("UI: %s", catalog_strerror(uc.cat));
	ui_finish(c, 500, uiapi_error("catalog error"));
}

/* A string argument of 1..max bytes, or NULL. */
const char *
ui_arg_str(struct ui_call *c, const char *key, size_t max)
{
	const char *v = json_string_value(json_object_get(c->args, key));

	return v != NULL && v[0] != '\0' && strlen(v) <= max ? v : NULL;
}

/*
 * An unsigned integer argument: a JSON integer or a string of decimal
 * digits (a GET's query gives strings), min..max; *out gets def when it
 * is absent.  0, or -1 after answering 400.
 */
int
ui_arg_uint(struct ui_call *c, const char *key, uint64_t min, uint64_t max,
    uint64_t def, uint64_t *out)
{
	json_t *v = json_object_get(c->args, key);
	const char *s;
	uint64_t n = 0;
	int ok = 1;

	*out = def;
	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		n = (uint64_t)json_integer_value(v);
	else if ((s = json_string_value(v)) != NULL && s[0] != '\0' &&
	    strlen(s) <= 19 && strspn(s, "0123456789") == strlen(s))
		n = strtoull(s, NULL, 10);	/* 19 digits: no overflow */
	else
		ok = 0;
	if (!ok || n < min || n > max) {
		ui_finish(c, 400, uiapi_error("\"%s\" must be an integer from "
		    "%llu to %llu", key, (unsigned long long)min,
		    (unsigned long long)max));
		return -1;
	}
	*out = n;
	return 0;
}

/*
 * Text an agent sent (an error message, its name) as a JSON string:
 * bytes that are not UTF-8 and control characters but newline and tab
 * are shown as '?' (text_clean()), not lost.  len bounds it (fixed-size
 * catalog fields).  Never NULL but when out of memory.
 */
json_t *
ui_text_json(const char *text, size_t len)
{
	char buf[CAT_JOB_ERROR_MAX + 1];
	size_t n = strnlen(text, len < sizeof(buf) ? len : sizeof(buf) - 1);

	memcpy(buf, text, n);
	buf[n] = '\0';
	text_clean(buf, "\n\t");
	return json_string(buf);
}

/* Unix seconds, or null for 0 (never, none). */
json_t *
ui_time_json(int64_t t)
{
	return t > 0 ? json_integer((json_int_t)t) : json_null();
}

const struct gv_config *
ui_config(void)
{
	return uc.env->cfg;
}

int
ui_client(struct ui_call *c, struct cat_client *cl)
{
	const char *name = ui_arg_str(c, "name", CAT_NAME_MAX);
	int rc;

	if (name == NULL || !catalog_name_valid(name)) {
		ui_finish(c, 400, uiapi_error("\"name\" must be a client name: "
		    "1 to %d of A-Z a-z 0-9 . _ -, not only dots", CAT_NAME_MAX));
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
