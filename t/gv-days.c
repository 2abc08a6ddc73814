/*
 * gv-days.c - growth history for the dashboard's fill estimate
 * (server/uidash.c), which needs days of per-day statistics that a test
 * cannot wait for: with the catalog's own functions it gives a client
 * (created when missing) a blob of bytes bytes on each of the days
 * days ago, ..., 1 day ago and today, and records each day's
 * statistics (catalog_day_add(), which notes the unique bytes after
 * it), so that the stored bytes grow by bytes a day up to now.  The
 * blobs are index entries only (pack 0, never read): for a daemon's
 * dashboard, not for its restores or scrubs.
 *
 *	gv-days DATADIR/catalog CLIENT DAYS BYTES
 *
 * Likewise rows of the history older than a test can wait for, for the
 * housekeeper's trim by History.MaxAge: N failed "connect" rows written
 * AGO seconds ago (catalog_history_add() with that time), their text
 * "old row I".
 *
 *	gv-days --history DATADIR/catalog N AGO
 *
 * Exit 0, or 1 with a message.  t/74-web-history.t and t/58-history.t
 * run it.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/catalog.h"

static int
old_history(const char *path, unsigned long n, unsigned long ago)
{
	struct cat_history h;
	struct catalog *c;
	char err[512];
	time_t now = time(NULL);

	if (catalog_open(path, 0, &c, err, sizeof(err)) != CAT_OK) {
		fprintf(stderr, "gv-days: %s\n", err);
		return 1;
	}
	for (unsigned long i = 0; i < n; i++) {
		memset(&h, 0, sizeof(h));
		h.kind = CAT_HIST_CONNECT;
		h.result = CAT_HRES_FAILED;
		h.start = h.end = (int64_t)now - (int64_t)ago;
		snprintf(h.who, sizeof(h.who), "gv-days");
		snprintf(h.text, sizeof(h.text), "old row %lu", i + 1);
		if (catalog_history_add(c, (uint64_t)now - ago, &h) != CAT_OK) {
			fprintf(stderr, "gv-days: %s\n", catalog_strerror(c));
			catalog_close(c);
			return 1;
		}
	}
	catalog_close(c);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cat_client cl;
	struct cat_blob_add b;
	struct catalog *c;
	uint8_t tok[CAT_SECRET_LEN];
	char err[512];
	unsigned long days, bytes;
	time_t now = time(NULL);
	int rc;

	if (argc == 5 && strcmp(argv[1], "--history") == 0 &&
	    (days = strtoul(argv[3], NULL, 10)) > 0 && days <= 100000 &&
	    (bytes = strtoul(argv[4], NULL, 10)) < (unsigned long)now)
		return old_history(argv[2], days, bytes);
	if (argc != 5 || (days = strtoul(argv[3], NULL, 10)) == 0 ||
	    days > 365 || (bytes = strtoul(argv[4], NULL, 10)) == 0 ||
	    bytes > UINT32_MAX) {
		fprintf(stderr, "usage: gv-days CATALOG CLIENT DAYS(1..365) "
		    "BYTES(1..2^32-1)\n       gv-days --history CATALOG "
		    "N(1..100000) AGO\n");
		return 1;
	}
	if (catalog_open(argv[1], 0, &c, err, sizeof(err)) != CAT_OK) {
		fprintf(stderr, "gv-days: %s\n", err);
		return 1;
	}
	memset(tok, 0x5a, sizeof(tok));
	rc = catalog_client_add(c, argv[2], tok, (uint64_t)now, NULL);
	if ((rc != CAT_OK && rc != CAT_EXISTS) ||
	    catalog_client_get(c, argv[2], &cl) != CAT_OK) {
		fprintf(stderr, "gv-days: %s\n", catalog_strerror(c));
		catalog_close(c);
		return 1;
	}
	for (unsigned long d = days + 1; d-- > 0; ) {
		uint64_t t = (uint64_t)now - d * CAT_DAY_SECONDS;

		memset(&b, 0, sizeof(b));
		memcpy(b.id, &t, sizeof(t));
		b.id[BLOB_ID_LEN - 1] = 0xd5;
		b.loc.length = (uint32_t)bytes;
		b.loc.touched = t;
		if (catalog_blobs_add(c, cl.id, &b, 1) != CAT_OK ||
		    catalog_day_add(c, t, 1, bytes, 0) != CAT_OK) {
			fprintf(stderr, "gv-days: %s\n", catalog_strerror(c));
			catalog_close(c);
			return 1;
		}
	}
	catalog_close(c);
	return 0;
}
