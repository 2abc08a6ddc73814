/*
 * upgrade.h - convert a DataDir written by GigaVault 0.1.0 (store
 * format 1: "GVB1" pack records without client or links, a catalog
 * with refcounts and a reference list per snapshot) to the current
 * format, in place, with the daemon stopped (`gigavaultctl upgrade`).
 * The only reader of format-1 catalogs.
 */
#ifndef GV_UPGRADE_H
#define GV_UPGRADE_H

#include <stddef.h>
#include <stdint.h>

#include "rebuild.h"

struct upgrade_report {
	char		 old_catalog[1024];	/* where the 0.1.0 one went */
	uint64_t	 clients;
	uint64_t	 snapshots;	/* each got a legacy node */
	uint64_t	 policies;
	uint64_t	 packs;		/* 0.1.0 packs rewritten and removed */
	uint64_t	 blobs;		/* indexed blobs copied */
	uint64_t	 lost;		/* indexed blobs whose bytes were
					   unreadable or gone */
	uint64_t	 dropped;	/* records no index entry named */
	struct rebuild_report rebuild;	/* the new catalog */
};

/*
 * Upgrade datadir: read the 0.1.0 catalog (DataDir/catalog); write the
 * journal records of its clients (secrets, flags, unused tokens),
 * policies and snapshots; rewrite each 0.1.0 pack's indexed records
 * into new packs with their client (synced before the old pack is
 * removed, one pack at a time); write one legacy node per snapshot
 * (links: its reference list); move the 0.1.0 catalog to
 * DataDir/catalog.0.1.0; and make the new catalog with
 * rebuild_catalog().  An upgrade cut short runs again from the start.
 * Returns 0 (done, *u says what), 1 when the catalog already has the
 * current format (nothing done), or -1 with a message in err.
 */
int	upgrade_datadir(const char *datadir, uint64_t now,
	    struct upgrade_report *u, char *err, size_t errlen);

#endif
