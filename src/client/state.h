/*
 * state.h - the client's registration, kept in StateFile (JSON, mode
 * 0600): the server it registered with, that server's id and key pin,
 * and the client's name and secret.  Its own module because sessions
 * (client.c) and -s auto (finder.c) both read it.
 */
#ifndef GV_STATE_H
#define GV_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/tls.h"
#include "remote.h"

struct client_state {
	char		server[300];	/* host[:port] registered with */
	uint8_t		server_id[SERVER_ID_LEN];
	char		name[REMOTE_NAME_MAX + 1];
	uint8_t		secret[REMOTE_SECRET_LEN];
	uint8_t		tls_pin[TLS_PIN_LEN];	/* the server's key */
	int		has_pin;
};

/*
 * Read StateFile path into *st (which then holds the secret: wipe it
 * with crypto_wipe() when done).  0, or -1 with err set: "not registered
 * (no PATH): run ..." when there is no file, else what is wrong with it.
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
 * mkdir -p the directory that will hold path (mode 0700): for the state
 * file, the key file and SSL.Key.  0, or -1 with err set ("cannot create
 * DIR: reason").
 */
int	client_mkparent(const char *path, char *err, size_t errlen);

#endif
