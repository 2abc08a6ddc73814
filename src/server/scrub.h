/*
 * scrub.h - find rot before a restore does: read every pack from start
 * to end, check each record (magic, type, lengths, checksum over links
 * and bytes), check that every index entry points at a good record with
 * its client, id, length and number of links and that a linked blob's
 * links are indexed, and name the snapshots (client, id, set) whose
 * root, meta or legacy node reaches a damaged or missing blob through
 * links.  Runs in the housekeeper child (Scrub
 * Interval) or from gigavaultctl, beside the workers; holds the
 * housekeeping lock (prune.h) so that no prune moves blobs under it.
 *
 * Bytes no index entry points at (a record cut short by a crash, a
 * prune's leftovers) are reported as garbage, not as damage: prune
 * frees them.
 */
#ifndef GV_SCRUB_H
#define GV_SCRUB_H

#include <stddef.h>
#include <stdint.h>

#include "prune.h"

struct catalog;

struct scrub_result {
	uint64_t	 packs;		/* read */
	uint64_t	 records;	/* parsed */
	uint64_t	 bytes;		/* read */
	uint64_t	 blobs;		/* index entries checked */
	uint64_t	 damaged;	/* of those, missing or bad */
	uint64_t	 snapshots;	/* snapshots referencing damaged ones */
	uint64_t	 garbage;	/* bytes no entry points at, unparsable */
	int		 cancelled;
};

/*
 * Scrub the store of datadir whose catalog is cat (the caller holds the
 * housekeeping lock).  rate: bytes per second to read at most, 0 for no
 * limit.  Each damaged blob and each hurt snapshot is reported through
 * hk.  Returns 0 (res->damaged says whether anything is damaged; also
 * when cancelled) or -1 with a message in err.
 */
int	scrub_run(struct catalog *cat, const char *datadir, uint64_t rate,
	    const struct hk_hooks *hk, struct scrub_result *res, char *err,
	    size_t errlen);

#endif
