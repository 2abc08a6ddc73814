/*
 * jobcmd.c - what the agents report, for the administrator: clients
 * (each client's health: ok, failed, overdue, never; its last success,
 * last failure with its message, next run), client backup (queue a
 * "back up now" for the client's agent) and client history (its job
 * reports), read and written in the catalog (catalog.h, "jobs, agents,
 * health").
 */
#include "autoconf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/text.h"
#include "server/catalog.h"
#include "server/config.h"
#include "ctl.h"

#define ERROR_COLUMN	40	/* characters of a message in the table */
#define HISTORY_DEFAULT	20	/* reports client history lists */

static const char *const result_names[] = { "ok", "partial", "failed",
    "cancelled" };

static const char *
result_name(int r)
{
	return r >= 0 && r <= CAT_JOB_CANCELLED ? result_names[r] : "?";
}

/* A time for a table: UTC, or "-" for none (0). */
static const char *
when(int64_t t, char *buf, size_t len)
{
	if (t <= 0)
		snprintf(buf, len, "-");
	else
		fmt_utc((uint64_t)t, buf, len);
	return buf;
}

/* A time for JSON: the number, or null for none. */
static json_t *
jtime(int64_t t)
{
	return t > 0 ? json_integer(t) : json_null();
}

/*
 * s for one table cell of at most max bytes: the first line only, bytes
 * that are not UTF-8 and control characters as '?' (text_clean()), cut
 * with "..." when longer, never inside a character (text_cut()).
 */
static const char *
cell(const char *s, size_t max, char *buf, size_t len)
{
	size_t i, n = 0;

	if (len == 0)
		return "";
	for (i = 0; s[i] != '\0' && s[i] != '\n' && n + 1 < len; i++)
		buf[n++] = s[i];
	buf[n] = '\0';
	text_clean(buf, "");
	if ((s[i] != '\0' || n > max) && max >= 3 && max < len) {
		text_cut(buf, max - 3);
		n = strlen(buf);
		snprintf(buf + n, len - n, "...");
	}
	return buf;
}

/*
 * Text the catalog holds from an agent (an error, an agent's name),
 * made valid UTF-8 for JSON in place: the server cleans it on arrival,
 * a catalog written before did not.
 */
static void
clean_health(struct cat_client_health *h)
{
	text_clean(h->last_error, "\n\t");
	text_clean(h->agent_name, "");
	for (size_t i = 0; i < h->nsets; i++)
		text_clean(h->sets[i].last_error, "\n\t");
}

/* Append o (json_pack()'s result) to arr; -1 when it is NULL. */
static int
append(json_t *arr, json_t *o, const char *what)
{
	if (o == NULL) {
		fprintf(stderr, "gigavaultctl: cannot write %s as JSON\n",
		    what);
		return -1;
	}
	return json_array_append_new(arr, o) == 0 ? 0 : -1;
}

/* Client name's id, or 0 after a message (exit status in *rc). */
static uint64_t
client_id(struct ctl *c, const char *name, int *rc)
{
	struct cat_client cl;

	switch (catalog_client_get(c->cat, name, &cl)) {
	case CAT_OK:
		explicit_bzero(cl.secret, sizeof(cl.secret));
		return cl.id;
	case CAT_NOTFOUND:
		fprintf(stderr, "gigavaultctl: no such client: %s\n", name);
		*rc = EXIT_RUNTIME;
		return 0;
	default:
		fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
		*rc = EXIT_RUNTIME;
		return 0;
	}
}

/* The sets of h as JSON; NULL (said) when one cannot be written. */
static json_t *
json_sets(const struct cat_client_health *h)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < h->nsets; i++) {
		const struct cat_set_health *s = &h->sets[i];

		if (append(arr, json_pack("{s:s, s:s, s:o, s:o, "
		    "s:s, s:o, s:I, s:b, s:b}",
		    "set", s->set,
		    "health", catalog_health_name(s->health),
		    "last_success", jtime(s->last_success),
		    "last_failure", jtime(s->last_failure),
		    "last_error", s->last_error,
		    "next_run", jtime(s->next_run),
		    "interval", (json_int_t)s->interval,
		    "running", s->running,
		    "job", s->job), "a set") == -1) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

int
cmd_clients(struct ctl *c)
{
	struct cat_client_health *h;
	char b1[32], b2[32], b3[32], msg[ERROR_COLUMN + 4];
	size_t n;
	json_t *arr;

	if (catalog_health(c->cat, 0, time(NULL), c->cfg->overdue_grace, &h,
	    &n) != CAT_OK) {
		fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
		return EXIT_RUNTIME;
	}
	if (c->json) {
		arr = json_array();
		for (size_t i = 0; i < n; i++) {
			clean_health(&h[i]);
			if (append(arr, json_pack("{s:s, s:I, s:s, "
			    "s:o, s:o, s:s, s:o, s:o, s:s?, s:o}",
			    "name", h[i].name,
			    "id", (json_int_t)h[i].client,
			    "health", catalog_health_name(h[i].health),
			    "last_success", jtime(h[i].last_success),
			    "last_failure", jtime(h[i].last_failure),
			    "last_error", h[i].last_error,
			    "next_run", jtime(h[i].next_run),
			    "agent_seen", jtime(h[i].agent_seen),
			    "agent", h[i].agent_seen ? h[i].agent_name :
			    NULL,
			    "sets", json_sets(&h[i])), "a client") == -1) {
				json_decref(arr);
				catalog_health_free(h, n);
				return EXIT_RUNTIME;
			}
		}
		catalog_health_free(h, n);
		return print_json(arr);
	}
	printf("%-24s %-8s %-20s %-20s %-20s %s\n", "NAME", "HEALTH",
	    "LAST SUCCESS", "NEXT RUN", "LAST FAILURE", "MESSAGE");
	for (size_t i = 0; i < n; i++)
		printf("%-24s %-8s %-20s %-20s %-20s %s\n", h[i].name,
		    catalog_health_name(h[i].health),
		    when(h[i].last_success, b1, sizeof(b1)),
		    when(h[i].next_run, b2, sizeof(b2)),
		    when(h[i].last_failure, b3, sizeof(b3)),
		    h[i].last_failure ? cell(h[i].last_error, ERROR_COLUMN,
		    msg, sizeof(msg)) : "");
	catalog_health_free(h, n);
	return 0;
}

/* Queue one request of client id for set; 0 or an exit status. */
static int
queue(struct ctl *c, uint64_t id, const char *name, const char *set)
{
	uint64_t req;

	switch (catalog_request_add(c->cat, id, set, "gigavaultctl",
	    (int64_t)time(NULL), &req)) {
	case CAT_OK:
		break;
	case CAT_NOTFOUND:
		fprintf(stderr, "gigavaultctl: no such client: %s\n", name);
		return EXIT_RUNTIME;
	default:
		fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
		return EXIT_RUNTIME;
	}
	printf("%llu\n", (unsigned long long)req);
	fprintf(stderr, "request %llu: back up set %s of %s at its agent's "
	    "next poll\n", (unsigned long long)req, set, name);
	return 0;
}

int
cmd_client_backup(struct ctl *c)
{
	const char *name = c->argv[0], *set = opt_get(c, "--set");
	struct cat_client_health *h;
	size_t n, jobs = 0;
	uint64_t id;
	int rc = 0, has = 0;

	if (set != NULL && !catalog_name_valid(set)) {
		fprintf(stderr, "gigavaultctl: --set: 1 to %d characters of "
		    "A-Za-z0-9._-\n", CAT_NAME_MAX);
		return EXIT_USAGE;
	}
	if ((id = client_id(c, name, &rc)) == 0)
		return rc;
	if (catalog_health(c->cat, id, time(NULL), c->cfg->overdue_grace, &h,
	    &n) != CAT_OK) {
		fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
		return EXIT_RUNTIME;
	}
	for (size_t i = 0; i < h[0].nsets; i++) {
		jobs += h[0].sets[i].job != 0;
		if (set != NULL && h[0].sets[i].job &&
		    strcmp(h[0].sets[i].set, set) == 0)
			has = 1;
	}
	/* The agent described its jobs: only those can run. */
	if (set != NULL && h[0].agent_seen != 0 && !has) {
		fprintf(stderr, "gigavaultctl: client %s has no job for set "
		    "%s (its agent %s has %zu job%s)\n", name, set,
		    h[0].agent_name, jobs, jobs == 1 ? "" : "s");
		catalog_health_free(h, n);
		return EXIT_RUNTIME;
	}
	if (set == NULL && jobs == 0) {
		fprintf(stderr, "gigavaultctl: client %s: %s; name the set "
		    "with --set\n", name, h[0].agent_seen ? "its agent has no "
		    "jobs" : "no agent has described its jobs yet");
		catalog_health_free(h, n);
		return EXIT_RUNTIME;
	}
	if (set != NULL)
		rc = queue(c, id, name, set);
	for (size_t i = 0; set == NULL && rc == 0 && i < h[0].nsets; i++)
		if (h[0].sets[i].job)
			rc = queue(c, id, name, h[0].sets[i].set);
	catalog_health_free(h, n);
	return rc;
}

int
cmd_client_history(struct ctl *c)
{
	const char *name = c->argv[0];
	unsigned long long limit;
	struct cat_jobrun *v;
	char b1[32], msg[ERROR_COLUMN + 4];
	size_t n;
	uint64_t id;
	json_t *arr;
	int rc = 0;

	if ((rc = opt_number(c, "--limit", CAT_JOBS_KEPT, &limit)) != 0)
		return rc;
	if (opt_get(c, "--limit") == NULL)
		limit = HISTORY_DEFAULT;
	if ((id = client_id(c, name, &rc)) == 0)
		return rc;
	if (catalog_jobs(c->cat, id, 0, (size_t)limit, &v, &n) != CAT_OK) {
		fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
		return EXIT_RUNTIME;
	}
	if (c->json) {
		arr = json_array();
		for (size_t i = 0; i < n; i++) {
			text_clean(v[i].error, "\n\t");
			if (append(arr, json_pack("{s:I, s:s, s:s, "
			    "s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, "
			    "s:I, s:o, s:s}",
			    "seq", (json_int_t)v[i].seq,
			    "set", v[i].set,
			    "result", result_name(v[i].result),
			    "request", (json_int_t)v[i].request,
			    "start", (json_int_t)v[i].start,
			    "end", (json_int_t)v[i].end,
			    "received", (json_int_t)v[i].received,
			    "snapshot", v[i].snapid ?
			    json_integer((json_int_t)v[i].snapid) :
			    json_null(),
			    "files", (json_int_t)v[i].files,
			    "bytes", (json_int_t)v[i].bytes,
			    "read_bytes", (json_int_t)v[i].read_bytes,
			    "sent_bytes", (json_int_t)v[i].sent_bytes,
			    "problems", (json_int_t)v[i].problems,
			    "next_run", jtime(v[i].next_run),
			    "error", v[i].error), "a report") == -1) {
				json_decref(arr);
				free(v);
				return EXIT_RUNTIME;
			}
		}
		free(v);
		return print_json(arr);
	}
	printf("%6s %-16s %-9s %-20s %8s %8s %s\n", "SEQ", "SET", "RESULT",
	    "END", "SECONDS", "FILES", "MESSAGE");
	for (size_t i = 0; i < n; i++)
		printf("%6llu %-16s %-9s %-20s %8lld %8llu %s\n",
		    (unsigned long long)v[i].seq, v[i].set,
		    result_name(v[i].result), when(v[i].end, b1, sizeof(b1)),
		    (long long)(v[i].end >= v[i].start ?
		    v[i].end - v[i].start : 0),
		    (unsigned long long)v[i].files,
		    cell(v[i].error, ERROR_COLUMN, msg, sizeof(msg)));
	free(v);
	return 0;
}
