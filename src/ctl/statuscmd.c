/*
 * statuscmd.c - gigavaultctl status: the server at a glance.  The pool
 * and its sessions come from the running daemon, asked as the console
 * asks (the UI bridge's {"request":"status"} on Ports.UI through
 * common/uiask.h, see doc/protocol.md); the storage totals from the catalog, the last and
 * next prune and scrub from DataDir/housekeeping.json (hkstatus.h), the
 * free space from DataDir's file system, as gigavaultctl stats says it;
 * with Store.Backend = s3 the bucket, asked for its bucket.json.
 * A daemon that does not answer is reported, and the rest still shown.
 */
#include "autoconf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/human.h"
#include "common/monotime.h"
#include "common/uiask.h"
#include "server/catalog.h"
#include "server/config.h"
#include "server/hkstatus.h"
#include "server/packstore.h"
#include "server/pidfile.h"
#include "server/store.h"
#include "ctl.h"

#define BRIDGE_WAIT_MS	5000		/* connect, ask and read, in all */

/*
 * The UI bridge's host for this config: the first Server.Listen
 * address, loopback for a wildcard; where gets it as HOST:PORT.
 */
static const char *
bridge_host(const struct gv_config *cfg, char *where, size_t wlen)
{
	const char *a = cfg->nlisten > 0 ? cfg->listen[0] : "*";

	if (strcmp(a, "*") == 0 || strcmp(a, "0.0.0.0") == 0)
		a = "127.0.0.1";
	else if (strcmp(a, "::") == 0)
		a = "::1";
	snprintf(where, wlen, strchr(a, ':') ? "[%s]:%d" : "%s:%d", a,
	    cfg->port.ui);
	return a;
}

/*
 * Ask the UI bridge for its status (common/uiask.h).  The decoded reply
 * (the caller decrefs), or NULL with the reason in err, which names
 * where it asked.
 */
static json_t *
ask_bridge(const struct gv_config *cfg, char *where, size_t wlen, char *err,
    size_t errlen)
{
	const char *host = bridge_host(cfg, where, wlen);
	json_error_t jerr;
	json_t *j;
	char *line;

	if ((line = uiask_line(host, cfg->port.ui, "{\"request\":\"status\"}",
	    mono_ms() + BRIDGE_WAIT_MS, err, errlen)) == NULL)
		return NULL;
	j = json_loads(line, 0, &jerr);
	free(line);
	if (!json_is_object(j)) {
		snprintf(err, errlen, "%s: the reply is not a JSON object",
		    where);
		json_decref(j);
		return NULL;
	}
	if (json_is_string(json_object_get(j, "error"))) {
		snprintf(err, errlen, "%s: %s", where, json_string_value(
		    json_object_get(j, "error")));
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A member of o as an integer (0 when missing or not one). */
static long long
int_of(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* The daemon's part, from the bridge's reply (NULL: not answering). */
static void
print_daemon(pid_t pid, json_t *st, const char *why)
{
	json_t *workers, *w;
	size_t i;
	long long busy = 0, idle = 0, starting = 0;
	char span[32], when[32];

	if (st == NULL) {
		/* why names where (common/uiask.h). */
		if (pid != 0)
			printf("daemon:    pid %ld, but its UI bridge does not "
			    "answer: %s\n", (long)pid, why);
		else
			printf("daemon:    not running (%s)\n", why);
		return;
	}
	human_span(int_of(st, "uptime"), span, sizeof(span));
	printf("daemon:    running");
	if (pid != 0)
		printf(", pid %ld", (long)pid);
	printf(", version %s, up %s\n", json_string_value(json_object_get(st,
	    "version")) ? json_string_value(json_object_get(st, "version")) :
	    "?", span);
	workers = json_object_get(st, "workers");
	json_array_foreach(workers, i, w) {
		const char *s = json_string_value(json_object_get(w, "state"));

		if (s != NULL && strcmp(s, "busy") == 0)
			busy++;
		else if (s != NULL && strcmp(s, "idle") == 0)
			idle++;
		else
			starting++;
	}
	printf("pool:      %lld workers: %lld busy, %lld idle, %lld "
	    "starting; %lld sessions served\n", int_of(st, "pool_size"), busy,
	    idle, starting, int_of(st, "sessions_served"));
	json_array_foreach(workers, i, w) {
		const char *peer = json_string_value(json_object_get(w,
		    "peer"));
		const char *s = json_string_value(json_object_get(w, "state"));

		if (s == NULL || strcmp(s, "busy") != 0)
			continue;
		fmt_utc((uint64_t)int_of(w, "since"), when, sizeof(when));
		printf("session:   worker pid %lld with %s since %s\n",
		    int_of(w, "pid"), peer ? peer : "?", when);
	}
}

/* One housekeeping job's line from housekeeping.json's object. */
static void
print_job(const char *name, json_t *job)
{
	json_t *last = json_object_get(job, "last");
	const char *result, *msg;
	char when[32];

	printf("%-10s ", name);
	if (json_is_true(json_object_get(job, "running"))) {
		fmt_utc((uint64_t)int_of(job, "started"), when, sizeof(when));
		printf("running since %s; ", when);
	}
	if (!json_is_object(last))
		printf("never run");
	else {
		fmt_utc((uint64_t)int_of(last, "ended"), when, sizeof(when));
		result = json_string_value(json_object_get(last, "result"));
		msg = json_string_value(json_object_get(last, "message"));
		printf("last ended %s: %s", when, result ? result : "?");
		if (msg != NULL && msg[0] != '\0')
			printf(" (%s)", msg);
	}
	if (json_integer_value(json_object_get(job, "next")) > 0) {
		fmt_utc((uint64_t)int_of(job, "next"), when, sizeof(when));
		printf("; next %s", when);
	}
	printf("\n");
}

/*
 * Store.Backend: "datadir", or the bucket and whether it answers with a
 * bucket.json (*ok; the reason in why otherwise) naming server *sid.
 */
static void
store_state(const struct gv_config *cfg, int *ok, char *sid, char *why,
    size_t whylen)
{
	int r;

	*ok = 0;
	sid[0] = '\0';
	why[0] = '\0';
	if (cfg->store_backend != STORE_BACKEND_S3)
		return;
	r = packstore_bucket_server_id(sid, why, whylen);
	if (r == 1)
		snprintf(why, whylen, "no bucket.json yet (gigavaultd writes "
		    "it at its start)");
	*ok = r == 0;
}

int
cmd_status(struct ctl *c)
{
	const struct gv_config *cfg = c->cfg;
	struct cat_totals t;
	struct store_space sp;
	json_t *st, *hk, *disk, *out;
	char where[128], why[256], err[256], b1[32], b2[32], b3[32];
	char sid[33], swhy[512];
	pid_t pid;
	int space_ok, up, rc, s3_ok;

	if (catalog_totals(c->cat, &t) != CAT_OK) {
		fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
		return EXIT_RUNTIME;
	}
	pid = pidfile_running(cfg->pidfile);
	st = ask_bridge(cfg, where, sizeof(where), why, sizeof(why));
	up = st != NULL;
	if ((hk = hkstatus_load(cfg->datadir)) == NULL)
		fprintf(stderr, "gigavaultctl: %s/housekeeping.json cannot be "
		    "read\n", cfg->datadir);
	space_ok = store_space_of(cfg->datadir, cfg->reserve_space, &sp, err,
	    sizeof(err)) == 0;
	if (!space_ok)
		fprintf(stderr, "gigavaultctl: %s\n", err);
	store_state(cfg, &s3_ok, sid, swhy, sizeof(swhy));
	if (c->json) {
		json_t *daemon;

		if (st != NULL) {
			daemon = st;
			json_object_set_new(daemon, "running", json_true());
		} else
			daemon = json_pack("{s:b, s:s}", "running", 0,
			    "error", why);
		json_object_set_new(daemon, "pid", pid != 0 ?
		    json_integer(pid) : json_null());
		json_object_set_new(daemon, "ui_bridge", json_string(where));
		disk = space_ok ? json_pack("{s:I, s:I, s:I, s:s}",
		    "free", (json_int_t)sp.free,
		    "capacity", (json_int_t)sp.capacity,
		    "reserve", (json_int_t)sp.reserve,
		    "level", store_level_name(sp.level)) : json_null();
		json_object_del(daemon, "disk");	/* said below */
		out = json_pack("{s:o, s:{s:I, s:I, s:I, s:I}, s:O, s:O, "
		    "s:o}", "daemon", daemon,
		    "storage", "clients", (json_int_t)t.clients,
		    "snapshots", (json_int_t)t.snapshots,
		    "size", (json_int_t)t.size,
		    "unique_bytes", (json_int_t)t.unique_bytes,
		    "prune", hk ? json_object_get(hk, "prune") : json_null(),
		    "scrub", hk ? json_object_get(hk, "scrub") : json_null(),
		    "disk", disk);
		json_decref(hk);
		json_object_set_new(out, "store", cfg->store_backend !=
		    STORE_BACKEND_S3 ? json_pack("{s:s}", "backend",
		    "datadir") : json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}",
		    "backend", "s3", "endpoint", cfg->s3.endpoint,
		    "bucket", cfg->s3.bucket, "prefix", cfg->s3.prefix,
		    "reachable", s3_ok, s3_ok ? "server_id" : "error",
		    s3_ok ? sid : swhy));
		rc = print_json(out);
		return rc != 0 ? rc : up ? 0 : EXIT_RUNTIME;
	}
	print_daemon(pid, st, why);
	printf("storage:   %llu clients, %llu snapshots, %s (%s unique)\n",
	    (unsigned long long)t.clients, (unsigned long long)t.snapshots,
	    fmt_size(c, t.size, b1, sizeof(b1)),
	    fmt_size(c, t.unique_bytes, b2, sizeof(b2)));
	if (hk != NULL) {
		print_job("prune:", json_object_get(hk, "prune"));
		print_job("scrub:", json_object_get(hk, "scrub"));
	}
	if (cfg->store_backend != STORE_BACKEND_S3)
		printf("store:     datadir\n");
	else if (s3_ok)
		printf("store:     s3 bucket %s at %s, prefix \"%s\": "
		    "reachable, server %s\n", cfg->s3.bucket,
		    cfg->s3.endpoint, cfg->s3.prefix, sid);
	else
		printf("store:     s3 bucket %s at %s, prefix \"%s\": %s\n",
		    cfg->s3.bucket, cfg->s3.endpoint, cfg->s3.prefix, swhy);
	if (space_ok)
		printf("disk:      %s free of %s, reserve %s: %s\n",
		    fmt_size(c, sp.free, b1, sizeof(b1)),
		    fmt_size(c, sp.capacity, b2, sizeof(b2)),
		    fmt_size(c, sp.reserve, b3, sizeof(b3)),
		    store_level_name(sp.level));
	json_decref(hk);
	json_decref(st);
	return up ? 0 : EXIT_RUNTIME;
}
