/*
 * state.h - the client's registration, kept in StateFile (JSON, mode
 * 0600): the server it registered with, that server's id and key pin,
 * and the client's name and secret; and, for rollback detection
 * (chain.c), the newest snapshot of each set this client made or saw on
 * each server ("newest": one entry per server and set).  Its own module
 * because sessions (client.c), -s auto (finder.c) and chain.c read it.
 */
#ifndef GV_STATE_H
#define GV_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "common/tls.h"
#include "remote.h"

/* StateFile is outside input: these bound what client_state_read() takes. */
#define STATE_FILE_MAX	(256 * 1024)	/* bytes; a larger file is refused */
#define STATE_SEEN_MAX	128		/* "newest" entries (server, set) */
#define STATE_SET_MAX	64		/* a set name's bytes */

/* The newest snapshot of a set on a server, as this client made or saw it. */
struct state_seen {
	uint8_t		server_id[SERVER_ID_LEN];
	char		set[STATE_SET_MAX + 1];
	uint64_t	id;		/* snapshot id (from 1) */
	uint64_t	time;		/* its time, Unix seconds */
	uint8_t		meta[BLOB_ID_LEN];	/* its meta blob id */
	uint8_t		root[BLOB_ID_LEN];	/* its root tree id */
};

struct client_state {
	char		server[300];	/* host[:port] registered with */
	uint8_t		server_id[SERVER_ID_LEN];
	char		name[REMOTE_NAME_MAX + 1];
	uint8_t		secret[REMOTE_SECRET_LEN];
	uint8_t		tls_pin[TLS_PIN_LEN];	/* the server's key */
	int		has_pin;
	struct state_seen seen[STATE_SEEN_MAX];	/* "newest", in file order */
	size_t		nseen;
};

/*
 * Read StateFile path into *st (which then holds the secret: wipe it
 * with crypto_wipe() when done).  0, or -1 with err set: "not registered
 * (no PATH): run ..." when there is no file, else what is wrong with it
 * (larger than STATE_FILE_MAX, not JSON, a member missing, unknown or of
 * the wrong type, a value too long or not hex, more than STATE_SEEN_MAX
 * "newest" entries or two for one server and set).
 */
int	client_state_read(const char *path, struct client_state *st,
	    char *err, size_t errlen);
/*
 * Write *st to path (mode 0600, through a temporary file renamed over
 * it; its directory made as client_mkparent() does).  0, or -1 with err
 * set.
 */
int	client_state_write(const char *path, const struct client_state *st,
	    char *err, size_t errlen);
/*
 * Take an exclusive lock for a read-modify-write of the state file at
 * path: flock(2) on "path.lock" (made 0600), waiting for another run
 * that holds it.  The lock's descriptor, to give to
 * client_state_unlock(), or -1 with err set.
 */
int	client_state_lock(const char *path, char *err, size_t errlen);
/* Release a lock from client_state_lock(); fd -1 is ignored. */
void	client_state_unlock(int fd);
/*
 * mkdir -p the directory that will hold path (mode 0700): for the state
 * file, the key file and SSL.Key.  0, or -1 with err set ("cannot create
 * DIR: reason").
 */
int	client_mkparent(const char *path, char *err, size_t errlen);

/*
 * The entry of st for server_id and set, or NULL when there is none.
 * The pointer is into st, valid until st changes.
 */
const struct state_seen *client_state_seen(const struct client_state *st,
	    const uint8_t *server_id, const char *set);
/*
 * Put *e into st, replacing the entry of its server and set.  0, or -1
 * when its server and set have no entry and st holds STATE_SEEN_MAX
 * already (no entry is pushed out: a server listing many sets must not
 * make the client forget the others).  No file is written.
 */
int	client_state_remember(struct client_state *st,
	    const struct state_seen *e);
/* Remove the entry of server_id and set from st, if there is one. */
void	client_state_drop(struct client_state *st, const uint8_t *server_id,
	    const char *set);

#endif
