/*
 * datadir.h - the data directory (Server.DataDir), the server id kept
 * in it, and its lock (one gigavaultd, or one gigavaultctl that
 * rebuilds or upgrades, at a time).  Used by the supervisor at start
 * and reload, before any child runs; children get the id through
 * fork().
 */
#ifndef GV_DATADIR_H
#define GV_DATADIR_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"

/*
 * Create dir (and missing parents) with mode 0750 when it does not
 * exist; when running as root, give it to uid:gid so that children can
 * write there after dropping privileges.  Returns 0, or -1 with a
 * message in err.
 */
int	datadir_prepare(const char *dir, uid_t uid, gid_t gid, char *err,
	    size_t errlen);

/*
 * Read dir/server-id (32 hex digits), creating it with a random id on
 * first use.  Returns 0 with id filled in, or -1 with a message in err
 * (an existing file that does not hold an id is an error, never
 * silently replaced: clients pin the id).
 */
int	datadir_server_id(const char *dir, uint8_t id[SERVER_ID_LEN],
	    char *err, size_t errlen);

/* The lock file in DataDir; it holds the pid of the holder. */
#define DATADIR_LOCK	"gigavaultd.lock"

/*
 * Take the lock of dir: dir/gigavaultd.lock (created mode 0644 when
 * missing, given to dir's owner when running as root),
 * flock(LOCK_EX | LOCK_NB), and this process's pid written in it.  The process holds it until it exits (the descriptor is kept in
 * this module, O_CLOEXEC).  A lock file left by a process that is gone
 * is taken over without a word.  Called again for another DataDir (a
 * reload), it takes that one's lock and then releases the first; for
 * the DataDir it holds (by any name), it does nothing.
 * Returns 0; or -1 with a message in err, and *holder the pid written in
 * the file when another process holds the lock (0 when it is not known,
 * or for another error).
 */
int	datadir_lock(const char *dir, pid_t *holder, char *err,
	    size_t errlen);

/*
 * Write this process's pid into the lock file it holds (after the fork
 * of daemonizing changed it).  0, or -1 with errno set (EBADF: no lock
 * is held).
 */
int	datadir_lock_setpid(void);

/*
 * In a child forked by the holder: close this process's copy of the
 * lock's descriptor, which leaves the lock with the holder and takes
 * from the child any means to release it.
 */
void	datadir_lock_close_copy(void);

/*
 * As the user the children run as (call it after drop_privileges()):
 * may that user traverse every directory on the way to dir, and read
 * and write what the children use in it (dir itself, catalog/ and its
 * files, packs/ and every pack, the journal, the housekeeping and prune
 * files; read the console's admins file; those that do not exist yet
 * are skipped)?  user is the name
 * used in the message.  Returns 0, or -1 with a message that names dir,
 * the user, the path, what is missing and the path's mode and owner
 * ("/srv/x/data: user gigavault cannot traverse /srv/x (mode 0700,
 * owner root:root)") in msg.
 */
int	datadir_check_access(const char *dir, const char *user, char *msg,
	    size_t len);

/* Write id as lowercase hex digits and a NUL into hex. */
void	server_id_hex(const uint8_t id[SERVER_ID_LEN],
	    char hex[SERVER_ID_HEX + 1]);

#endif
