/*
 * uihistory.c - the console's history requests (uihistory.h): the
 * catalog's history (catalog.h: sessions, job reports, prune, scrub
 * and sync runs) as JSON, read in one transaction per request.  An
 * entry's id is "TIME-SEQ", its key.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog.h"
#include "uiapi.h"
#include "uicall.h"
#include "uihistory.h"

/* "TIME-SEQ" into *time and *seq: 0, or -1 when it is not one. */
static int
id_parse(const char *s, uint64_t *time, uint64_t *seq)
{
	size_t a = strspn(s, "0123456789");

	if (a == 0 || a > 19 || s[a] != '-' ||
	    strspn(s + a + 1, "0123456789") != strlen(s + a + 1) ||
	    strlen(s + a + 1) == 0 || strlen(s + a + 1) > 19)
		return -1;
	*time = strtoull(s, NULL, 10);
	*seq = strtoull(s + a + 1, NULL, 10);
	return 0;
}

static json_t *
entry_json(const struct cat_history *h)
{
	char id[48];

	snprintf(id, sizeof(id), "%llu-%llu", (unsigned long long)h->time,
	    (unsigned long long)h->seq);
	return json_pack("{s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, "
	    "s:I, s:I, s:o, s:o}",
	    "id", id,
	    "time", (json_int_t)h->time,
	    "kind", catalog_history_kind_name(h->kind),
	    "result", catalog_history_result_name(h->result),
	    "client", ui_text_json(h->client, sizeof(h->client)),
	    "set", ui_text_json(h->set, sizeof(h->set)),
	    "who", ui_text_json(h->who, sizeof(h->who)),
	    "start", ui_time_json(h->start),
	    "end", ui_time_json(h->end),
	    "bytes_in", (json_int_t)h->bytes_in,
	    "bytes_out", (json_int_t)h->bytes_out,
	    "snapshot", h->snapshot ? json_integer((json_int_t)h->snapshot) :
	    json_null(),
	    "text", ui_text_json(h->text, sizeof(h->text)));
}

void
req_history(struct ui_call *c)
{
	struct cat_history_filter f;
	struct cat_history *v = NULL;
	struct catalog *cat;
	const char *s;
	uint64_t limit, total = 0;
	size_t n = 0;
	json_t *list, *o, *cv;

	memset(&f, 0, sizeof(f));
	f.kind = f.result = -1;
	if (ui_arg_uint(c, "limit", 1, UIHISTORY_LIMIT_MAX, UIHISTORY_LIMIT,
	    &limit) == -1 || ui_arg_uint(c, "since", 0, INT64_MAX, 0,
	    &f.since) == -1)
		return;
	cv = json_object_get(c->args, "client");
	s = json_string_value(cv);
	if ((cv != NULL && !json_is_null(cv) && s == NULL) ||
	    (s != NULL && s[0] != '\0' && !catalog_name_valid(s))) {
		ui_finish(c, 400, uiapi_error("\"client\" must be a client "
		    "name"));
		return;
	}
	if (s != NULL)
		snprintf(f.client, sizeof(f.client), "%s", s);
	if ((s = ui_arg_str(c, "kind", 16)) != NULL &&
	    (f.kind = catalog_history_kind_parse(s)) == -1) {
		ui_finish(c, 400, uiapi_error("no such kind: %.16s", s));
		return;
	}
	if ((s = ui_arg_str(c, "result", 16)) != NULL &&
	    (f.result = catalog_history_result_parse(s)) == -1) {
		ui_finish(c, 400, uiapi_error("no such result: %.16s", s));
		return;
	}
	if ((s = ui_arg_str(c, "before", 48)) != NULL &&
	    id_parse(s, &f.before_time, &f.before_seq) == -1) {
		ui_finish(c, 400, uiapi_error("\"before\" must be an id "
		    "(TIME-SEQ)"));
		return;
	}
	if ((cat = ui_cat_or_fail(c)) == NULL)
		return;
	if (catalog_history(cat, &f, (size_t)limit, &v, &n, &total) !=
	    CAT_OK) {
		ui_cat_failed(c);
		return;
	}
	list = json_array();
	for (size_t i = 0; list != NULL && i < n; i++)
		if (json_array_append_new(list, entry_json(&v[i])) == -1) {
			json_decref(list);
			list = NULL;
		}
	o = list == NULL ? NULL : json_pack("{s:o, s:I, s:o}", "entries",
	    list, "total", (json_int_t)total, "next", n == limit && n > 0 ?
	    json_string(json_string_value(json_object_get(json_array_get(list,
	    n - 1), "id"))) : json_null());
	free(v);
	ui_finish(c, 200, o);
}

void
req_history_entry(struct ui_call *c)
{
	struct cat_history h;
	struct catalog *cat;
	const char *s = ui_arg_str(c, "id", 48);
	uint64_t time, seq;

	if (s == NULL)
		s = ui_arg_str(c, "name", 48);	/* GET /api/history/ID */

	if (s == NULL || id_parse(s, &time, &seq) == -1) {
		ui_finish(c, 400, uiapi_error("\"id\" must be an id "
		    "(TIME-SEQ)"));
		return;
	}
	if ((cat = ui_cat_or_fail(c)) == NULL)
		return;
	switch (catalog_history_get(cat, time, seq, &h)) {
	case CAT_OK:
		ui_finish(c, 200, json_pack("{s:o}", "entry", entry_json(&h)));
		return;
	case CAT_NOTFOUND:
		ui_finish(c, 404, uiapi_error("no such history entry: %s", s));
		return;
	default:
		ui_cat_failed(c);
	}
}
