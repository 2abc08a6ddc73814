/*
 * datadir.h - the data directory (Server.DataDir) and the server id kept
 * in it.  Used by the supervisor at start and reload, before any child
 * runs; children get the id through fork().
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

/* Write id as lowercase hex digits and a NUL into hex. */
void	server_id_hex(const uint8_t id[SERVER_ID_LEN],
	    char hex[SERVER_ID_HEX + 1]);

#endif
