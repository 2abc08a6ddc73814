/*
 * synccmd.c - "gigavaultctl sync [--to-bucket FILE] [--client NAME ...]
 * [--dry-run] [--json]": copy the chosen clients' blobs and journal
 * records to another bucket (server/sync.c), only what it lacks; without
 * --to-bucket, to the Sync section's target and clients.  Runs beside a
 * running gigavaultd (it reads the catalog, the packs and the journal;
 * it writes only to the target bucket, temporary files in DataDir and
 * DataDir/housekeeping.json), under the housekeeping lock, so never
 * while a prune moves blobs.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <time.h>
#include <unistd.h>

#include "server/config.h"
#include "server/hkstatus.h"
#include "server/s3.h"
#include "server/sync.h"
#include "ctl.h"

#define SYNC_CLIENTS_MAX	(MAX_OPTS + GV_MAX_SYNC_CLIENTS)

int
cmd_sync(struct ctl *c)
{
	const char *target = opt_get(c, "--to-bucket");
	const char *names[SYNC_CLIENTS_MAX];
	struct sync_target t;
	struct sync_report rep;
	struct s3 *s = NULL;
	char err[1024];
	size_t n = 0;
	int dry_run = opt_get(c, "--dry-run") != NULL, rc;

	int fd = -1, from_conf = target == NULL;

	if (from_conf)
		target = c->cfg->sync_target;
	if (target[0] == '\0') {
		fprintf(stderr, "gigavaultctl: sync needs --to-bucket FILE "
		    "or Sync.Target (the target bucket, gigavaultctl(8))\n");
		return EXIT_USAGE;
	}
	for (int i = 0; i < c->nopt; i++)
		if (strcmp(c->opt[i].name, "--client") == 0)
			names[n++] = c->opt[i].value;
	if (n == 0 && from_conf)
		for (size_t i = 0; i < c->cfg->nsync_clients; i++)
			names[n++] = c->cfg->sync_clients[i];
	if (sync_target_load(target, &t, err, sizeof(err)) == -1 ||
	    sync_target_open(&t, &s, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultctl: sync: %s\n", err);
		return EXIT_RUNTIME;
	}
	if ((fd = lock_housekeeping(c)) == -1) {
		s3_close(s);
		return EXIT_RUNTIME;
	}
	if (!dry_run)
		hkstatus_begin(c->cfg->datadir, HK_SYNC, (uint64_t)time(NULL),
		    HKSTATUS_KEEP);
	rc = sync_run(c->cfg->datadir, c->cat, s, t.prefix, names, n,
	    dry_run, NULL, &rep, err, sizeof(err));
	s3_close(s);
	if (rc == 1)
		snprintf(err, sizeof(err), "%zu damaged packs not copied "
		    "(first: %.300s)", rep.ndamaged, rep.why);
	if (!dry_run)
		hkstatus_end(c->cfg->datadir, HK_SYNC, (uint64_t)time(NULL),
		    HKSTATUS_KEEP, rc == 0 ? "ok" : "error",
		    rc == 0 ? "gigavaultctl sync" : err,
		    hkstatus_sync_counters(&rep));
	close(fd);
	if (rc == -1) {
		fprintf(stderr, "gigavaultctl: sync: %s\n", err);
		return EXIT_RUNTIME;
	}
	for (size_t i = 0; i < rep.ndamaged; i++)
		fprintf(stderr, "gigavaultctl: sync: pack %08x is damaged and "
		    "was not copied%s%s\n", rep.damaged[i], i == 0 ? ": " : "",
		    i == 0 ? rep.why : "");
	if (rep.ndamaged > 0)
		fprintf(stderr, "gigavaultctl: sync: no journal records were "
		    "copied (the target would lack blobs); run gigavaultctl "
		    "scrub, then sync again\n");
	if (c->json) {
		json_t *d = json_array(), *j;

		for (size_t i = 0; d != NULL && i < rep.ndamaged; i++) {
			char name[16];

			snprintf(name, sizeof(name), "%08x", rep.damaged[i]);
			json_array_append_new(d, json_string(name));
		}
		j = json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:o}",
		    "dry_run", dry_run, "bucket", t.bucket, "prefix", t.prefix,
		    "clients", (json_int_t)rep.clients,
		    "source_packs", (json_int_t)rep.source_packs,
		    "packs", (json_int_t)rep.packs,
		    "records", (json_int_t)rep.records,
		    "bytes", (json_int_t)rep.bytes,
		    "journal_records", (json_int_t)rep.journal,
		    "journal_skipped", (json_int_t)rep.skipped,
		    "segment", (json_int_t)rep.segment,
		    "damaged", d);
		rc = print_json(j);
		return rc != 0 ? rc : rep.ndamaged > 0 ? EXIT_RUNTIME : 0;
	}
	printf("sync%s to %s/%s: %llu clients; %llu blobs (%llu bytes) from "
	    "%llu source packs %s %llu new packs; %llu journal records "
	    "%s (%llu not copied: forgets, removals, forgotten snapshots)\n",
	    dry_run ? " (dry run)" : "", t.bucket, t.prefix,
	    (unsigned long long)rep.clients, (unsigned long long)rep.records,
	    (unsigned long long)rep.bytes,
	    (unsigned long long)rep.source_packs,
	    dry_run ? "would go into" : "copied into",
	    (unsigned long long)rep.packs, (unsigned long long)rep.journal,
	    dry_run ? "to copy" : "copied", (unsigned long long)rep.skipped);
	return rep.ndamaged > 0 ? EXIT_RUNTIME : 0;
}
