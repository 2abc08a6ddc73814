/*
 * webmetrics.c - the Prometheus exposition of GET /metrics (webmetrics.h).
 * Everything is read at the scrape: the catalog in a few read
 * transactions, DataDir's file system, housekeeping.json and, with
 * Store.Backend = s3, DataDir/lease.state.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "catalog.h"
#include "config.h"
#include "hkstatus.h"
#include "leasestate.h"
#include "log.h"
#include "store.h"
#include "uicall.h"
#include "webmetrics.h"

struct out {
	char		*buf;
	size_t		 len, cap;
	int		 oom;
};

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *nb;
	int n;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		if ((nb = realloc(o->buf, o->cap * 2 + (size_t)n)) == NULL) {
			o->oom = 1;
			return;
		}
		o->buf = nb;
		o->cap = o->cap * 2 + (size_t)n;
	}
}

/* The HELP and TYPE lines of name. */
static void
head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
one(struct out *o, const char *name, const char *type, const char *help,
    uint64_t v)
{
	head(o, name, type, help);
	put(o, "%s %llu\n", name, (unsigned long long)v);
}

static void
catalog_part(struct out *o, struct catalog *cat, const struct gv_config *cfg)
{
	static const int order[] = { CAT_HEALTH_OK, CAT_HEALTH_NEVER,
	    CAT_HEALTH_OVERDUE, CAT_HEALTH_FAILED };
	struct cat_client_health *hv = NULL;
	struct cat_day *days;
	struct cat_client *cl = NULL;
	struct cat_totals t;
	struct cat_usage u;
	uint64_t blobs = 0, sessions = 0, in = 0, out = 0, counts[4] = { 0 };
	size_t n = 0, nh = 0;
	uint32_t today = (uint32_t)(time(NULL) / CAT_DAY_SECONDS);

	if (catalog_totals(cat, &t) == CAT_OK) {
		one(o, "gigavault_clients", "gauge", "Clients in the catalog.",
		    t.clients);
		one(o, "gigavault_snapshots", "gauge", "Snapshots of all "
		    "clients.", t.snapshots);
		one(o, "gigavault_snapshots_size_bytes", "gauge", "Sum of the "
		    "snapshots' sizes (before deduplication).", t.size);
		one(o, "gigavault_stored_bytes", "gauge", "Bytes of the blobs "
		    "in the index (after deduplication and compression).",
		    t.unique_bytes);
	} else
		log_warnx("metrics: %s", catalog_strerror(cat));
	if (catalog_clients(cat, &cl, &n) == CAT_OK) {
		for (size_t i = 0; i < n; i++)
			if (catalog_usage(cat, cl[i].id, &u) == CAT_OK)
				blobs += u.blobs;
		free(cl);
		one(o, "gigavault_blobs", "gauge", "Blobs in the index.",
		    blobs);
	}
	if (catalog_health(cat, 0, (int64_t)time(NULL), cfg->overdue_grace,
	    &hv, &nh) == CAT_OK) {
		for (size_t i = 0; i < nh; i++)
			if (hv[i].health >= 0 && hv[i].health < 4)
				counts[hv[i].health]++;
		catalog_health_free(hv, nh);
		head(o, "gigavault_clients_health", "gauge", "Clients by the "
		    "health of their backup jobs.");
		for (size_t i = 0; i < 4; i++)
			put(o, "gigavault_clients_health{health=\"%s\"} %llu\n",
			    catalog_health_name(order[i]),
			    (unsigned long long)counts[order[i]]);
	}
	if ((days = calloc(WEBMETRICS_DAYS, sizeof(*days))) != NULL &&
	    today >= WEBMETRICS_DAYS && catalog_days(cat,
	    today - WEBMETRICS_DAYS + 1, WEBMETRICS_DAYS, days) == CAT_OK) {
		for (size_t i = 0; i < WEBMETRICS_DAYS; i++) {
			sessions += days[i].sessions;
			in += days[i].bytes_in;
			out += days[i].bytes_out;
		}
		one(o, "gigavault_sessions_total", "counter", "Backup sessions "
		    "finished (the catalog's day statistics).", sessions);
		one(o, "gigavault_received_bytes_total", "counter", "Bytes "
		    "received from clients in sessions.", in);
		one(o, "gigavault_sent_bytes_total", "counter", "Bytes sent to "
		    "clients in sessions.", out);
	}
	free(days);
}

static void
housekeeping_part(struct out *o, const char *datadir)
{
	static const char *const jobs[] = { "prune", "scrub", "sync" };
	json_t *hk, *j, *last;

	if ((hk = hkstatus_load(datadir)) == NULL)
		return;
	head(o, "gigavault_housekeeping_running", "gauge", "1 while the job "
	    "runs.");
	for (size_t i = 0; i < 3; i++)
		if ((j = json_object_get(hk, jobs[i])) != NULL)
			put(o, "gigavault_housekeeping_running{job=\"%s\"} "
			    "%d\n", jobs[i], json_is_true(json_object_get(j,
			    "running")));
	head(o, "gigavault_housekeeping_last_end_timestamp_seconds", "gauge",
	    "When the job's last run ended (Unix seconds).");
	for (size_t i = 0; i < 3; i++)
		if ((last = json_object_get(json_object_get(hk, jobs[i]),
		    "last")) != NULL && json_is_integer(json_object_get(last,
		    "ended")))
			put(o, "gigavault_housekeeping_last_end_timestamp_seconds"
			    "{job=\"%s\"} %lld\n", jobs[i], (long long)
			    json_integer_value(json_object_get(last, "ended")));
	head(o, "gigavault_housekeeping_last_ok", "gauge", "1 when the job's "
	    "last run ended \"ok\", 0 when with an error or interrupted.");
	for (size_t i = 0; i < 3; i++)
		if ((last = json_object_get(json_object_get(hk, jobs[i]),
		    "last")) != NULL && json_is_string(json_object_get(last,
		    "result")))
			put(o, "gigavault_housekeeping_last_ok{job=\"%s\"} %d\n",
			    jobs[i], strcmp(json_string_value(json_object_get(
			    last, "result")), "ok") == 0);
	json_decref(hk);
}

char *
webmetrics_text(const struct gv_config *cfg)
{
	struct out o = { NULL, 0, 4096, 0 };
	struct store_space sp;
	struct catalog *cat;
	char err[256];

	if ((cat = ui_cat()) == NULL)
		return NULL;
	if ((o.buf = malloc(o.cap)) == NULL) {
		log_warnx("metrics: out of memory");
		return NULL;
	}
	o.buf[0] = '\0';
	catalog_part(&o, cat, cfg);
	if (store_space_of(cfg->datadir, cfg->reserve_space, &sp, err,
	    sizeof(err)) == 0) {
		one(&o, "gigavault_datadir_free_bytes", "gauge", "Free bytes "
		    "on DataDir's file system.", sp.free);
		one(&o, "gigavault_datadir_capacity_bytes", "gauge", "Size of "
		    "DataDir's file system.", sp.capacity);
	} else
		log_warnx("metrics: %s", err);
	housekeeping_part(&o, cfg->datadir);
	if (cfg->store_backend == STORE_BACKEND_S3)
		one(&o, "gigavault_lease_held", "gauge", "1 when this server "
		    "holds the bucket's lease (may write), else 0.",
		    leasestate_check(cfg, err, sizeof(err)) == 0);
	if (o.oom) {
		log_warnx("metrics: out of memory");
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
