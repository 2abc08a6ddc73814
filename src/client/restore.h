/*
 * restore.h - write a snapshot (or parts of it) under a target directory.
 *
 * Restore trusts nothing it reads: the trees may come from a hostile
 * server or a damaged store.  Every file system operation is relative to
 * a directory descriptor that restore itself opened with O_NOFOLLOW, so
 * no name, ".." or symlink in a snapshot can make it create, write or
 * follow anything outside the target.
 */
#ifndef GV_RESTORE_H
#define GV_RESTORE_H

#include <stdint.h>

#include "blob.h"
#include "remote.h"

struct client_progress;
struct patterns;

struct restore_opts {
	const char	*target;	/* created when missing */
	/*
	 * target_nofollow: the target's existing components must not be
	 * symbolic links (each opened with O_NOFOLLOW, none ".."), for a
	 * target someone else named (the agent's restores);
	 * target_empty: the target must be missing or an empty directory.
	 */
	int		 target_nofollow, target_empty;
	char *const	*paths;		/* subtrees to restore; NULL = all */
	int		 npaths;
	int		 overwrite;	/* replace existing non-directories */
	int		 sparse;	/* zero blocks of data as holes too */
	int		 verbose;	/* print each path restored */
	/*
	 * Choosing (pattern.h, on paths in the snapshot): only what
	 * matches include (NULL or empty: everything) and not exclude;
	 * strip leading components dropped from each path restored
	 * (entries with no more components than that are skipped).  Any
	 * of them makes the restore walk alone (threads unused).
	 */
	const struct patterns *include, *exclude;
	int		 strip;
	/* NULL, or where to show files and bytes restored so far. */
	struct client_progress *progress;
	/*
	 * Subtrees restored at once, each over its own session from
	 * more_session(session_arg, err, errlen) (NULL: one at a time).
	 */
	int		 threads;
	struct remote	*(*more_session)(void *, char *, size_t);
	void		*session_arg;
};

#define RESTORE_SESSIONS	8	/* the restore command's threads */

struct restore_stats {
	uint64_t	 files, dirs, links, bytes;
	uint64_t	 problems;	/* entries skipped or damaged (reported) */
};

/*
 * Restore snapshot snap from r into o->target.  A directory that holds
 * a chosen entry but is not chosen itself is created as needed, with
 * its metadata.  Entries that cannot be
 * restored (already there without --overwrite, damaged chunks, refused
 * names) are reported on stderr as "gigavault: PATH: reason" and counted
 * in st->problems; the rest goes on.  Returns 0 when all went well, 1
 * when some entries had problems, 2 on an error that stopped the restore
 * (message in err: connection lost, target unusable, root tree damaged).
 */
int	restore_snapshot(struct remote *r, const struct keys *k,
	    const struct snapinfo *snap, const struct restore_opts *o,
	    struct restore_stats *st, char *err, size_t errlen);

#endif
