/*
 * unit-history.c - TAP unit tests of the catalog's history (catalog.h,
 * "history"; src/server/catalog.c) and of the dashboard's fill estimate
 * (src/server/uidash.c, uidash_fit()): rows added with their time and
 * sequence, read newest first with each filter and in pages, one by its
 * key; the count cap (the oldest go first, whatever their age); the
 * trim by age in batches; a session's end (day statistics and its row
 * in one transaction); a job report's row; a handle opened without the
 * table refused; then the fit: too few samples, flat, shrinking,
 * growing at a known rate.  Run by t/00-unit-history.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/catalog.h"
#include "server/uidash.h"
#include "tap.h"

static char dir[] = "/tmp/gv-unit-history-XXXXXX";

static struct catalog *
open_cat(unsigned tables)
{
	char path[256], err[256];
	struct catalog *c;

	snprintf(path, sizeof(path), "%s/catalog", dir);
	if (catalog_open_for(path, 0, tables, &c, err, sizeof(err)) !=
	    CAT_OK) {
		printf("# %s\n", err);
		return NULL;
	}
	return c;
}

static int
add(struct catalog *c, uint64_t now, int kind, int result,
    const char *client, const char *text)
{
	struct cat_history h;

	memset(&h, 0, sizeof(h));
	h.kind = kind;
	h.result = result;
	h.start = (int64_t)now - 2;
	h.end = (int64_t)now;
	snprintf(h.client, sizeof(h.client), "%s", client);
	snprintf(h.who, sizeof(h.who), "127.0.0.1:4000");
	snprintf(h.text, sizeof(h.text), "%s", text);
	h.bytes_in = now;
	return catalog_history_add(c, now, &h);
}

static size_t
count(struct catalog *c, const struct cat_history_filter *f, uint64_t *total)
{
	struct cat_history *v;
	size_t n;

	if (catalog_history(c, f, 1000, &v, &n, total) != CAT_OK)
		return (size_t)-1;
	free(v);
	return n;
}

static void
no_filter(struct cat_history_filter *f)
{
	memset(f, 0, sizeof(f[0]));
	f->kind = f->result = -1;
}

static void
test_rows(void)
{
	struct catalog *c = open_cat(CAT_T_ALL);
	struct cat_history_filter f;
	struct cat_history *v = NULL, h;
	char big[CAT_HISTORY_TEXT_MAX + 100];
	uint64_t total = 0;
	size_t n = 0;
	int ok_all = 1;

	ok(c != NULL, "open");
	if (c == NULL)
		return;
	for (int i = 0; i < 10; i++)
		ok_all &= add(c, 1000 + (uint64_t)i, i % 2 ? CAT_HIST_BACKUP :
		    CAT_HIST_AUTH, i % 2 ? CAT_HRES_OK : CAT_HRES_FAILED,
		    i % 3 ? "alice" : "bob", i % 2 ? "" :
		    "authentication failed") == CAT_OK;
	ok(ok_all, "ten rows added");
	no_filter(&f);
	ok(catalog_history(c, &f, 3, &v, &n, &total) == CAT_OK && n == 3 &&
	    total == 10, "the newest 3 of 10");
	ok(n == 3 && v[0].time == 1009 && v[0].seq == 10 && v[2].seq == 8 &&
	    v[0].kind == CAT_HIST_BACKUP && v[0].result == CAT_HRES_OK &&
	    strcmp(v[0].who, "127.0.0.1:4000") == 0 && v[0].start == 1007 &&
	    v[0].bytes_in == 1009, "... newest first, every field back");
	/* The next page, from the last id. */
	if (n == 3) {
		f.before_time = v[2].time;
		f.before_seq = v[2].seq;
	}
	free(v);
	ok(catalog_history(c, &f, 100, &v, &n, NULL) == CAT_OK && n == 7 &&
	    v[0].seq == 7 && v[6].seq == 1, "the next page: the 7 older");
	free(v);
	no_filter(&f);
	snprintf(f.client, sizeof(f.client), "bob");
	ok(count(c, &f, NULL) == 4, "client bob: rows 0, 3, 6, 9");
	f.kind = CAT_HIST_AUTH;
	ok(count(c, &f, NULL) == 2, "... and kind auth: 0 and 6");
	no_filter(&f);
	f.result = CAT_HRES_FAILED;
	ok(count(c, &f, NULL) == 5, "result failed: 5");
	f.since = 1006;
	ok(count(c, &f, NULL) == 2, "... since 1006: 2");
	ok(catalog_history_get(c, 1004, 5, &h) == CAT_OK &&
	    h.kind == CAT_HIST_AUTH && strcmp(h.text,
	    "authentication failed") == 0, "one row by its key");
	ok(catalog_history_get(c, 1004, 6, &h) == CAT_NOTFOUND,
	    "a key that is not there: CAT_NOTFOUND");
	memset(&h, 0, sizeof(h));
	h.kind = CAT_HIST_NKINDS;
	ok(catalog_history_add(c, 2000, &h) == CAT_ERROR,
	    "a kind out of range refused");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(add(c, 2001, CAT_HIST_CONNECT, CAT_HRES_FAILED, "", big) ==
	    CAT_OK && catalog_history_get(c, 2001, 11, &h) == CAT_OK &&
	    strlen(h.text) == CAT_HISTORY_TEXT_MAX, "a long text is cut");
	ok(catalog_history_kind_parse("read") == CAT_HIST_READ &&
	    catalog_history_kind_parse("nope") == -1 &&
	    strcmp(catalog_history_kind_name(CAT_HIST_SCRUB), "scrub") == 0 &&
	    catalog_history_result_parse("interrupted") ==
	    CAT_HRES_INTERRUPTED && catalog_history_result_parse("") == -1,
	    "names and values of kinds and results");
	catalog_close(c);
}

static void
test_bounds(void)
{
	struct catalog *c = open_cat(CAT_T_ALL);
	struct cat_history_filter f;
	struct cat_history *v = NULL;
	uint64_t total = 0;
	size_t n = 0, deleted = 0;
	int more = 0, ok_all = 1;

	if (c == NULL)
		return;
	/* 11 rows from test_rows(); a cap of 8 drops the 3 oldest. */
	catalog_history_set_max(c, 8);
	ok(add(c, 3000, CAT_HIST_LIST, CAT_HRES_OK, "carol", "") == CAT_OK,
	    "an add with a cap of 8");
	no_filter(&f);
	ok(catalog_history(c, &f, 100, &v, &n, &total) == CAT_OK && n == 8 &&
	    total == 8 && v[7].seq == 5, "... keeps the 8 newest rows");
	free(v);
	/* A storm: 100 more, never more than 8 kept. */
	for (int i = 0; i < 100; i++)
		ok_all &= add(c, 3001 + (uint64_t)i, CAT_HIST_AUTH,
		    CAT_HRES_FAILED, "x", "authentication failed") == CAT_OK;
	ok(ok_all && count(c, &f, &total) == 8 && total == 8,
	    "100 failed sessions: still 8 rows");
	/* By age: rows before 3100, 2 per transaction. */
	catalog_history_set_max(c, 0);	/* the default again */
	ok(catalog_history_trim(c, 3100, 2, &deleted, &more) == CAT_OK &&
	    deleted == 2 && more == 1, "trim: a batch of 2, more to do");
	ok(catalog_history_trim(c, 3100, 100, &deleted, &more) == CAT_OK &&
	    deleted == 5 && more == 0, "trim: the other 5 older than 3100");
	ok(count(c, &f, &total) == 1 && total == 1,
	    "... one row left (3100)");
	ok(catalog_history_trim(c, 3100, 100, &deleted, &more) == CAT_OK &&
	    deleted == 0 && more == 0, "trim again: nothing");
	catalog_close(c);
}

static void
test_session_end(void)
{
	struct catalog *c = open_cat(CAT_T_ALL), *ro;
	struct cat_history_filter f;
	struct cat_history h, *v = NULL;
	struct cat_jobrun r;
	struct cat_day d;
	uint8_t tok[CAT_SECRET_LEN] = { 1 };
	uint64_t now = 86400 * 20000 + 50, before;
	size_t n = 0;

	if (c == NULL)
		return;
	memset(&h, 0, sizeof(h));
	h.kind = CAT_HIST_BACKUP;
	h.result = CAT_HRES_OK;
	snprintf(h.client, sizeof(h.client), "alice");
	ok(catalog_session_end(c, now, 100, 7, &h) == CAT_OK &&
	    h.time == now, "session end: day and row");
	ok(catalog_days(c, 20000, 1, &d) == CAT_OK && d.sessions == 1 &&
	    d.bytes_in == 100 && d.bytes_out == 7, "... the day counts it");
	before = catalog_writes(c);
	ok(catalog_session_end(c, now, 1, 1, NULL) == CAT_OK &&
	    catalog_days(c, 20000, 1, &d) == CAT_OK && d.sessions == 2,
	    "session end without a row: the day only");
	ok(catalog_writes(c) - before == 1, "... one record written");
	/* A job report is a row of its own. */
	ok(catalog_client_add(c, "jobc", tok, 1, NULL) == CAT_OK,
	    "client jobc");
	memset(&r, 0, sizeof(r));
	snprintf(r.set, sizeof(r.set), "home");
	r.result = CAT_JOB_FAILED;
	r.received = (int64_t)now + 5;
	r.snapid = 0;
	snprintf(r.error, sizeof(r.error), "disk on fire");
	{
		struct cat_client cl;

		ok(catalog_client_get(c, "jobc", &cl) == CAT_OK &&
		    catalog_job_add(c, cl.id, &r) == CAT_OK, "a job report");
	}
	no_filter(&f);
	f.kind = CAT_HIST_JOB;
	ok(catalog_history(c, &f, 10, &v, &n, NULL) == CAT_OK && n == 1 &&
	    strcmp(v[0].client, "jobc") == 0 && strcmp(v[0].set, "home") == 0 &&
	    v[0].result == CAT_HRES_FAILED && v[0].time == now + 5 &&
	    strcmp(v[0].text, "disk on fire") == 0,
	    "... is a history row: client, set, result, its error");
	free(v);
	catalog_close(c);
	/* A handle that may not write the history (the UI bridge's). */
	ro = open_cat(CAT_T_CLIENTS | CAT_T_JOBS);
	ok(ro != NULL && add(ro, now, CAT_HIST_LIST, CAT_HRES_OK, "a", "") ==
	    CAT_ERROR && strstr(catalog_strerror(ro), "may not write") != NULL,
	    "a handle opened without the history cannot add to it");
	catalog_close(ro);
}

static void
test_fit(void)
{
	struct cat_day days[30];
	struct uidash_fit f;

	memset(days, 0, sizeof(days));
	for (int i = 0; i < 30; i++)
		days[i].day = 20000 + (uint32_t)i;
	uidash_fit(days, 30, 5000, 1000000, &f);
	ok(f.status == UIDASH_FEW && f.samples == 1,
	    "fit: today alone is not enough history");
	days[10].unique_bytes = 5000;
	uidash_fit(days, 30, 5000, 1000000, &f);
	ok(f.status == UIDASH_FLAT && f.samples == 2, "fit: flat");
	days[10].unique_bytes = 9000;
	uidash_fit(days, 30, 5000, 1000000, &f);
	ok(f.status == UIDASH_FLAT && f.per_day < 0, "fit: shrinking");
	/* 1000 bytes a day, with 29000 free: 29 days. */
	for (int i = 0; i < 29; i++)
		days[i].unique_bytes = 1000 * (uint64_t)(i + 1);
	uidash_fit(days, 30, 30000, 29000, &f);
	ok(f.status == UIDASH_FILLING && f.samples == 30 &&
	    f.per_day > 999.99 && f.per_day < 1000.01 &&
	    f.days_left > 28.99 && f.days_left < 29.01,
	    "fit: 1000 bytes a day, 29000 free: 29 days left");
	/* Days without sessions (0) are left out, not read as empty. */
	days[5].unique_bytes = days[6].unique_bytes = 0;
	uidash_fit(days, 30, 30000, 29000, &f);
	ok(f.status == UIDASH_FILLING && f.samples == 28 &&
	    f.per_day > 999.99 && f.per_day < 1000.01,
	    "fit: days without a sample are skipped");
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_rows();
	test_bounds();
	test_session_end();
	test_fit();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
