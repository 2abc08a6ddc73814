/*
 * historycmd.c - history: what happened on the server, newest first
 * (the catalog's history, catalog.h: sessions, job reports, prune,
 * scrub and sync runs), filtered by client, kind, result and time; and
 * the rows gigavaultctl's own prune and scrub add to it.
 */
#include "autoconf.h"

#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/text.h"
#include "server/catalog.h"
#include "server/config.h"
#include "ctl.h"

#define HISTORY_LIMIT	50		/* rows shown without --limit */
#define HISTORY_MAX	100000		/* the most --limit asks for */
#define TEXT_COLUMN	48		/* characters of a text in the table */

void
ctl_history_record(struct ctl *c, int kind, uint64_t start,
    const char *result, const char *text)
{
	struct cat_history h;
	struct passwd *pw = getpwuid(getuid());
	const char *user = getenv("SUDO_USER");
	time_t now = time(NULL);

	if (c->cat == NULL || now < 0)
		return;
	memset(&h, 0, sizeof(h));
	h.kind = kind;
	h.result = catalog_history_result_parse(result);
	if (h.result < 0)
		h.result = CAT_HRES_FAILED;
	h.start = (int64_t)start;
	h.end = now;
	if (user == NULL || user[0] == '\0')
		user = pw != NULL ? pw->pw_name : "?";
	snprintf(h.who, sizeof(h.who), "gigavaultctl (%.40s)", user);
	snprintf(h.text, sizeof(h.text), "%s", text);
	text_clean(h.who, "");
	catalog_history_set_max(c->cat, c->cfg->history_max_entries);
	if (catalog_history_add(c->cat, (uint64_t)now, &h) != CAT_OK)
		fprintf(stderr, "gigavaultctl: history: %s\n",
		    catalog_strerror(c->cat));
}

/*
 * --since: Unix seconds, a UTC date "YYYY-MM-DD" or time
 * "YYYY-MM-DDTHH:MM:SS[Z]", or a span back from now ("30m", "12h",
 * "7d").  0, or -1 when s is none of these.
 */
static int
parse_since(const char *s, uint64_t *out)
{
	struct tm tm;
	const char *end;
	char *e;
	unsigned long long n;
	time_t now = time(NULL), t;

	if (s[0] >= '0' && s[0] <= '9' && strlen(s) <= 19) {
		errno = 0;
		n = strtoull(s, &e, 10);
		if (errno == 0 && *e == '\0') {
			*out = n;
			return 0;
		}
		if (errno == 0 && e[1] == '\0' && n <= 100000ULL * 86400 &&
		    strchr("smhd", *e) != NULL) {
			n *= *e == 's' ? 1 : *e == 'm' ? 60 : *e == 'h' ?
			    3600 : 86400;
			*out = now > 0 && (unsigned long long)now > n ?
			    (uint64_t)now - n : 0;
			return 0;
		}
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end == NULL || (end[0] != '\0' && strcmp(end, "Z") != 0) ||
	    (t = timegm(&tm)) == (time_t)-1 || t < 0)
		return -1;
	*out = (uint64_t)t;
	return 0;
}

/* A row as JSON (NULL when out of memory). */
static json_t *
row_json(struct cat_history *h)
{
	char id[48];

	text_clean(h->text, "\n\t");
	text_clean(h->who, "");
	text_clean(h->client, "");
	snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)h->time,
	    (unsigned long long)h->seq);
	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:o, "
	    "s:o, s:I, s:I, s:o, s:s}",
	    "id", id,
	    "time", (json_int_t)h->time,
	    "seq", (json_int_t)h->seq,
	    "kind", catalog_history_kind_name(h->kind),
	    "result", catalog_history_result_name(h->result),
	    "client", h->client,
	    "set", h->set,
	    "who", h->who,
	    "start", h->start > 0 ? json_integer(h->start) : json_null(),
	    "end", h->end > 0 ? json_integer(h->end) : json_null(),
	    "bytes_in", (json_int_t)h->bytes_in,
	    "bytes_out", (json_int_t)h->bytes_out,
	    "snapshot", h->snapshot ? json_integer((json_int_t)h->snapshot) :
	    json_null(),
	    "text", h->text);
}

/* The first line of s, cut to max characters with "...", into buf. */
static const char *
cut(const char *s, size_t max, char *buf, size_t len)
{
	size_t n = strcspn(s, "\n");

	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	text_clean(buf, "");
	if ((s[n] != '\0' || strlen(buf) > max) && max >= 3 && max < len) {
		text_cut(buf, max - 3);
		n = strlen(buf);
		snprintf(buf + n, len - n, "...");
	}
	return buf;
}

int
cmd_history(struct ctl *c)
{
	struct cat_history_filter f;
	struct cat_history *v = NULL;
	unsigned long long limit;
	const char *o;
	char t[32], b1[32], b2[32], txt[TEXT_COLUMN * 4 + 4];
	size_t n = 0;
	uint64_t total = 0;
	int rc;

	memset(&f, 0, sizeof(f));
	f.kind = f.result = -1;
	if ((rc = opt_number(c, "--limit", HISTORY_MAX, &limit)) != 0)
		return rc;
	if (opt_get(c, "--limit") == NULL || limit == 0)
		limit = HISTORY_LIMIT;
	if ((o = opt_get(c, "--client")) != NULL) {
		if (!catalog_name_valid(o)) {
			fprintf(stderr, "gigavaultctl: --client: not a client "
			    "name: %s\n", o);
			return EXIT_USAGE;
		}
		snprintf(f.client, sizeof(f.client), "%s", o);
	}
	if ((o = opt_get(c, "--kind")) != NULL &&
	    (f.kind = catalog_history_kind_parse(o)) == -1) {
		fprintf(stderr, "gigavaultctl: --kind: not one of connect, "
		    "auth, session, backup, restore, verify, read, list, "
		    "forget, register, agent, job, prune, scrub, sync: %s\n",
		    o);
		return EXIT_USAGE;
	}
	if ((o = opt_get(c, "--result")) != NULL &&
	    (f.result = catalog_history_result_parse(o)) == -1) {
		fprintf(stderr, "gigavaultctl: --result: not one of ok, "
		    "failed, partial, interrupted: %s\n", o);
		return EXIT_USAGE;
	}
	if ((o = opt_get(c, "--since")) != NULL &&
	    parse_since(o, &f.since) == -1) {
		fprintf(stderr, "gigavaultctl: --since: not Unix seconds, "
		    "YYYY-MM-DD[THH:MM:SSZ] (UTC) or a span such as 7d or "
		    "12h: %s\n", o);
		return EXIT_USAGE;
	}
	if (catalog_history(c->cat, &f, (size_t)limit, &v, &n, &total) !=
	    CAT_OK) {
		fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
		return EXIT_RUNTIME;
	}
	if (c->json) {
		json_t *arr = json_array();

		for (size_t i = 0; arr != NULL && i < n; i++)
			if (json_array_append_new(arr, row_json(&v[i])) ==
			    -1) {
				json_decref(arr);
				arr = NULL;
			}
		free(v);
		return print_json(arr);
	}
	printf("%-20s %-8s %-11s %-16s %-12s %9s %9s %6s %-22s %s\n", "TIME",
	    "KIND", "RESULT", "CLIENT", "SET", "IN", "OUT", "SECS", "WHO",
	    "TEXT");
	for (size_t i = 0; i < n; i++) {
		const struct cat_history *h = &v[i];

		fmt_utc(h->time, t, sizeof(t));
		printf("%-20s %-8s %-11s %-16s %-12s %9s %9s %6lld %-22s %s\n",
		    t, catalog_history_kind_name(h->kind),
		    catalog_history_result_name(h->result),
		    h->client[0] ? h->client : "-", h->set[0] ? h->set : "-",
		    fmt_size(c, h->bytes_in, b1, sizeof(b1)),
		    fmt_size(c, h->bytes_out, b2, sizeof(b2)),
		    (long long)(h->end >= h->start && h->start > 0 ?
		    h->end - h->start : 0), h->who,
		    cut(h->text, TEXT_COLUMN, txt, sizeof(txt)));
	}
	printf("%zu of %llu rows\n", n, (unsigned long long)total);
	free(v);
	return 0;
}
