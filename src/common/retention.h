/*
 * retention.h - which snapshots a retention policy keeps.
 *
 * A pure function over a list of snapshots of ONE set: no I/O, no
 * catalog.  The server uses it to enforce its own policy (and to refuse
 * a client's forget of a snapshot that policy keeps); the client uses it
 * for "gigavault forget --keep-...".  Rules as in restic and borg: each
 * keep-hourly/daily/... rule keeps the newest snapshot of each of the
 * last N periods (local time) that have snapshots; keep-last N keeps the
 * N newest; a snapshot kept by any rule stays.  The newest snapshot is
 * always kept.  A policy whose rules are all 0 keeps everything.
 */
#ifndef GV_RETENTION_H
#define GV_RETENTION_H

#include <stddef.h>
#include <stdint.h>

struct retention {
	uint32_t	 last;
	uint32_t	 hourly;
	uint32_t	 daily;
	uint32_t	 weekly;
	uint32_t	 monthly;
	uint32_t	 yearly;
};

struct ret_snap {
	uint64_t	 id;
	int64_t		 time;		/* Unix seconds */
	int		 keep;		/* out: 1 when the policy keeps it */
	char		 why[48];	/* out: the rule(s) that keep it */
};

/* Nonzero when every rule is 0 (the policy keeps everything). */
int	retention_keeps_all(const struct retention *);

/*
 * Set keep and why of snaps[0..n) (any order; all of one set) by policy
 * p.  Never fails.
 */
void	retention_apply(const struct retention *p, struct ret_snap *snaps,
	    size_t n);

#endif
