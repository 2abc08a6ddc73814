/*
 * rebuildcmd.c - "gigavaultctl rebuild-catalog" and "gigavaultctl
 * upgrade": make DataDir's catalog again from the packs and the
 * journal (server/rebuild.c), or, with --from-bucket, from the S3
 * bucket alone (Store.Backend = s3), and convert a DataDir written by 0.1.0 to
 * the current store format (server/upgrade.c).  Both need the daemon
 * stopped; they open the catalog themselves (it may be unreadable or
 * of an older format) and run as the owner of DataDir, holding
 * DataDir's lock (server/datadir.h) as gigavaultd does.
 */
#include "autoconf.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/config.h"
#include "server/datadir.h"
#include "server/pidfile.h"
#include "server/rebuild.h"
#include "server/upgrade.h"
#include "ctl.h"

/*
 * 0 when no gigavaultd runs on this config, with DataDir's lock taken
 * (held until this command exits, so that no gigavaultd, and no other
 * rebuild or upgrade, starts on it meanwhile); else EXIT_RUNTIME.
 */
static int
daemon_stopped(const struct ctl *c, const char *what)
{
	pid_t pid = pidfile_running(c->cfg->pidfile);
	char err[PATH_MAX + 256];

	if (pid != 0) {
		fprintf(stderr, "gigavaultctl: gigavaultd runs as pid %ld "
		    "(Server.PidFile %s): stop it before %s\n", (long)pid,
		    c->cfg->pidfile, what);
		return EXIT_RUNTIME;
	}
	if (datadir_lock(c->cfg->datadir, &pid, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultctl: %s%s%s\n", err,
		    pid != 0 ? ": stop it before " : "", pid != 0 ? what : "");
		return EXIT_RUNTIME;
	}
	return 0;
}

static void
print_rebuild(const struct rebuild_report *r)
{
	if (r->moved_to[0] != '\0')
		printf("the old catalog was moved to %s\n", r->moved_to);
	printf("journal: %llu records", (unsigned long long)r->journal_records);
	if (r->journal_ignored > 0)
		printf(", a damaged tail of %llu bytes ignored",
		    (unsigned long long)r->journal_ignored);
	if (r->journal_orphans > 0)
		printf(", %llu of clients it does not know",
		    (unsigned long long)r->journal_orphans);
	printf("\npacks: %llu with %llu records (%llu legacy nodes)\n",
	    (unsigned long long)r->packs, (unsigned long long)r->records,
	    (unsigned long long)r->legacy);
	if (r->damaged > 0)
		printf("damaged records skipped: %llu\n",
		    (unsigned long long)r->damaged);
	if (r->unparsable > 0)
		printf("packs with unreadable bytes (rest skipped): %llu\n",
		    (unsigned long long)r->unparsable);
	if (r->old_records > 0)
		printf("0.1.0 records skipped: %llu (run gigavaultctl "
		    "upgrade on a 0.1.0 DataDir)\n",
		    (unsigned long long)r->old_records);
	if (r->foreign > 0)
		printf("records of removed clients skipped: %llu\n",
		    (unsigned long long)r->foreign);
	printf("rebuilt: %llu clients, %llu snapshots, %llu policies, "
	    "%llu blobs indexed\n", (unsigned long long)r->clients,
	    (unsigned long long)r->snapshots, (unsigned long long)r->policies,
	    (unsigned long long)r->indexed);
	if (r->incomplete > 0)
		printf("warning: %llu snapshots lack blobs that no pack holds "
		    "(listed above)\n", (unsigned long long)r->incomplete);
}

int
cmd_rebuild_catalog(struct ctl *c)
{
	struct rebuild_report r;
	char err[1024];
	int from_bucket = opt_get(c, "--from-bucket") != NULL, rc;

	memset(&r, 0, sizeof(r));
	if ((rc = daemon_stopped(c, "rebuilding its catalog")) != 0)
		return rc;
	if (from_bucket && c->cfg->store_backend != STORE_BACKEND_S3) {
		fprintf(stderr, "gigavaultctl: rebuild-catalog --from-bucket "
		    "needs Store.Backend = s3 in %s\n", c->cfg->file);
		return EXIT_USAGE;
	}
	if ((from_bucket ? rebuild_from_bucket(c->cfg->datadir,
	    (uint64_t)time(NULL), &r, err, sizeof(err)) :
	    rebuild_catalog(c->cfg->datadir, (uint64_t)time(NULL), &r, err,
	    sizeof(err))) == -1) {
		fprintf(stderr, "gigavaultctl: rebuild-catalog: %s\n", err);
		if (r.moved_to[0] != '\0')
			fprintf(stderr, "gigavaultctl: the old catalog is in "
			    "%s\n", r.moved_to);
		return EXIT_RUNTIME;
	}
	print_rebuild(&r);
	return 0;
}

int
cmd_upgrade(struct ctl *c)
{
	struct upgrade_report u;
	char err[1024];
	int rc;

	if ((rc = daemon_stopped(c, "upgrading DataDir")) != 0)
		return rc;
	rc = upgrade_datadir(c->cfg->datadir, (uint64_t)time(NULL), &u, err,
	    sizeof(err));
	if (rc == -1) {
		fprintf(stderr, "gigavaultctl: upgrade: %s\n", err);
		return EXIT_RUNTIME;
	}
	if (rc == 1) {
		printf("%s is already of the current format; nothing to do\n",
		    c->cfg->datadir);
		return 0;
	}
	printf("upgraded %s from 0.1.0: %llu clients, %llu snapshots "
	    "(one legacy node each), %llu policies; %llu packs rewritten "
	    "with %llu blobs, %llu unreferenced records dropped\n",
	    c->cfg->datadir, (unsigned long long)u.clients,
	    (unsigned long long)u.snapshots, (unsigned long long)u.policies,
	    (unsigned long long)u.packs, (unsigned long long)u.blobs,
	    (unsigned long long)u.dropped);
	printf("the 0.1.0 catalog was kept in %s\n", u.old_catalog);
	print_rebuild(&u.rebuild);
	return 0;
}
