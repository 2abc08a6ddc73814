/*
 * gv-follow.c - drives rebuild_follow() (server/rebuild.h) for
 * t/93-s3-follow.t: a standby's catalog following an S3 bucket.  Not
 * installed.
 *
 *   gv-follow CONFFILE
 *
 * Reads CONFFILE (Store.Backend = s3), opens DataDir/catalog (made when
 * missing), then reads commands from stdin, one a line, and answers
 * each with lines ending in "end":
 *   follow   rebuild_follow() with the state kept since the start:
 *            "ok max_pack P segments S indexed I snapshots N", or
 *            "error MESSAGE"
 *   list     "snap CLIENT ID SET" for every snapshot of the catalog
 *   totals   "totals CLIENTS SNAPSHOTS UNIQUE_BYTES" (catalog_totals())
 *   packs    "pack ID ENTRIES" for each pack the blob index points into
 * Exit: 0 at the end of stdin, 1 when the config or the catalog cannot
 * be opened, 2 usage.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/catalog.h"
#include "server/config.h"
#include "server/rebuild.h"

static int
print_snap(void *arg, uint64_t client, const struct cat_snapshot *s)
{
	(void)arg;
	printf("snap %llu %llu %s\n", (unsigned long long)client,
	    (unsigned long long)s->id, s->set);
	return 0;
}

static uint64_t	counts[4096];

static int
count_pack(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	(void)arg;
	(void)client;
	(void)id;
	if (loc->pack < 4096)
		counts[loc->pack]++;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct rebuild_follow st;
	struct rebuild_report rep;
	struct gv_config *cfg;
	struct catalog *cat;
	struct cat_totals t;
	char err[1024], dir[1100], line[256];

	if (argc != 2) {
		fprintf(stderr, "usage: gv-follow CONFFILE\n");
		return 2;
	}
	if ((cfg = config_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "gv-follow: %s\n", err);
		return 1;
	}
	(void)mkdir(cfg->datadir, 0750);
	snprintf(dir, sizeof(dir), "%s/catalog", cfg->datadir);
	if (catalog_open(dir, 0, &cat, err, sizeof(err)) != CAT_OK) {
		fprintf(stderr, "gv-follow: %s\n", err);
		return 1;
	}
	memset(&st, 0, sizeof(st));
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "follow") == 0) {
			if (rebuild_follow(cat, cfg->datadir, &st, &rep, err,
			    sizeof(err)) == -1)
				printf("error %s\n", err);
			else
				printf("ok max_pack %u segments %llu indexed "
				    "%llu snapshots %llu\n", st.max_pack,
				    (unsigned long long)st.segments,
				    (unsigned long long)rep.indexed,
				    (unsigned long long)rep.snapshots);
		} else if (strcmp(line, "list") == 0) {
			if (catalog_snapshots_all(cat, print_snap, NULL) !=
			    CAT_OK)
				printf("error %s\n", catalog_strerror(cat));
		} else if (strcmp(line, "packs") == 0) {
			memset(counts, 0, sizeof(counts));
			if (catalog_blobs_scan(cat, count_pack, NULL) != CAT_OK)
				printf("error %s\n", catalog_strerror(cat));
			for (int i = 0; i < 4096; i++)
				if (counts[i] > 0)
					printf("pack %d %llu\n", i,
					    (unsigned long long)counts[i]);
		} else if (strcmp(line, "totals") == 0) {
			if (catalog_totals(cat, &t) != CAT_OK)
				printf("error %s\n", catalog_strerror(cat));
			else
				printf("totals %llu %llu %llu\n",
				    (unsigned long long)t.clients,
				    (unsigned long long)t.snapshots,
				    (unsigned long long)t.unique_bytes);
		} else
			printf("error unknown command \"%s\"\n", line);
		printf("end\n");
	}
	catalog_close(cat);
	config_free(cfg);
	return 0;
}
