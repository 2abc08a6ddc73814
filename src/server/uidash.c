/*
 * uidash.c - the parts of the dashboard that answer "did every machine
 * back up, and am I running out of disk?" (uidash.h): the clients that
 * need attention, from catalog_health(), and the date DataDir fills at
 * the growth the per-day statistics show (catalog_days(): each day's
 * unique bytes after its last session).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog.h"
#include "log.h"
#include "uicall.h"
#include "uidash.h"

/* Growth below a byte a day is no growth. */
#define FLAT_PER_DAY	1.0

/* Whether a client that never reported has anything scheduled. */
static int
scheduled(const struct cat_client_health *h)
{
	if (h->next_run > 0)
		return 1;
	for (size_t i = 0; i < h->nsets; i++)
		if (h->sets[i].job || h->sets[i].next_run > 0)
			return 1;
	return 0;
}

static int
needs_attention(const struct cat_client_health *h)
{
	return h->health == CAT_HEALTH_FAILED ||
	    h->health == CAT_HEALTH_OVERDUE ||
	    (h->health == CAT_HEALTH_NEVER && scheduled(h));
}

static int
by_worst(const void *a, const void *b)
{
	const struct cat_client_health *x = a, *y = b;

	if (x->health != y->health)
		return y->health - x->health;
	return strcmp(x->name, y->name);
}

json_t *
uidash_attention(int64_t now, int64_t grace)
{
	struct cat_client_health *h = NULL;
	struct catalog *cat = ui_cat();
	size_t n = 0;
	json_t *list;

	if (cat == NULL)
		return NULL;
	if (catalog_health(cat, 0, now, grace, &h, &n) != CAT_OK) {
		log_warnx("UI: %s", catalog_strerror(cat));
		return NULL;
	}
	if (n > 0)
		qsort(h, n, sizeof(*h), by_worst);
	list = json_array();
	for (size_t i = 0; list != NULL && i < n; i++) {
		json_t *sets;

		if (!needs_attention(&h[i]))
			continue;
		sets = json_array();
		for (size_t j = 0; sets != NULL && j < h[i].nsets; j++)
			if (h[i].sets[j].health == h[i].health)
				json_array_append_new(sets,
				    json_string(h[i].sets[j].set));
		if (json_array_append_new(list, json_pack("{s:s, s:s, s:o, "
		    "s:o, s:o, s:o, s:o}",
		    "name", h[i].name,
		    "health", catalog_health_name(h[i].health),
		    "last_error", h[i].last_failure > 0 ?
		    ui_text_json(h[i].last_error, sizeof(h[i].last_error)) :
		    json_null(),
		    "last_failure", ui_time_json(h[i].last_failure),
		    "last_success", ui_time_json(h[i].last_success),
		    "next_run", ui_time_json(h[i].next_run),
		    "sets", sets ? sets : json_array())) == -1) {
			json_decref(list);
			list = NULL;
		}
	}
	catalog_health_free(h, n);
	return list;
}

void
uidash_fit(const struct cat_day *days, size_t n, uint64_t now_bytes,
    uint64_t free, struct uidash_fit *out)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, k = 0, d;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		double x, y;

		if (i + 1 == n)
			y = (double)now_bytes;	/* today: now */
		else if (days[i].unique_bytes != 0)
			y = (double)days[i].unique_bytes;
		else
			continue;
		/* Days relative to the first, so that squares stay small. */
		x = (double)(days[i].day - days[0].day);
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
		k++;
	}
	out->samples = (size_t)k;
	if (k < 2 || (d = k * sxx - sx * sx) <= 0) {
		out->status = UIDASH_FEW;
		return;
	}
	out->per_day = (k * sxy - sx * sy) / d;
	if (!(out->per_day >= FLAT_PER_DAY)) {
		out->status = UIDASH_FLAT;
		return;
	}
	out->status = UIDASH_FILLING;
	out->days_left = (double)free / out->per_day;
}

json_t *
uidash_fill(const json_t *disk, int64_t now)
{
	struct cat_day days[UIDASH_FIT_DAYS];
	struct cat_totals t;
	struct uidash_fit f;
	struct catalog *cat = ui_cat();
	uint32_t today = (uint32_t)((uint64_t)now / CAT_DAY_SECONDS);
	json_t *free_j = json_object_get(disk, "free");
	json_t *o;

	if (cat == NULL)
		return NULL;
	if (catalog_totals(cat, &t) != CAT_OK ||
	    catalog_days(cat, today - (UIDASH_FIT_DAYS - 1), UIDASH_FIT_DAYS,
	    days) != CAT_OK) {
		log_warnx("UI: %s", catalog_strerror(cat));
		return NULL;
	}
	uidash_fit(days, UIDASH_FIT_DAYS, t.unique_bytes,
	    json_is_integer(free_j) && json_integer_value(free_j) > 0 ?
	    (uint64_t)json_integer_value(free_j) : 0, &f);
	if (f.status == UIDASH_FILLING && !json_is_integer(free_j))
		f.status = UIDASH_FEW;	/* no free space known */
	o = json_pack("{s:s, s:I}", "status", f.status == UIDASH_FEW ?
	    "not enough history" : f.status == UIDASH_FLAT ? "not growing" :
	    "filling", "samples", (json_int_t)f.samples);
	if (o == NULL || f.status == UIDASH_FEW)
		return o;
	json_object_set_new(o, "per_day", json_integer((json_int_t)
	    (f.per_day + 0.5)));
	if (f.status == UIDASH_FILLING && f.days_left < 1e6) {
		json_object_set_new(o, "days_left", json_real(f.days_left));
		json_object_set_new(o, "fills", json_integer((json_int_t)now +
		    (json_int_t)(f.days_left * CAT_DAY_SECONDS)));
	}
	return o;
}
