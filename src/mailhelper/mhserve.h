/*
 * mhserve.h - one connection to the mailbox helper: the challenge, the
 * proof, then requests until the client closes, idles too long or sends
 * something wrong (doc/protocol.md, "Mailbox helper (port 32008)").
 */
#ifndef GV_MHSERVE_H
#define GV_MHSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "imap.h"
#include "mhconf.h"

struct mhserve {
	const struct mhconf	*conf;
	const struct imap_opts	*imap;
	const uint8_t		*secret;	/* Helper.SecretFile's bytes */
	size_t			 secret_len;
};

/*
 * Serve the connection fd from peer (for the log) and close it.  Every
 * end is logged with its reason; nothing here exits the process.
 */
void	mhserve_conn(const struct mhserve *, int fd, const char *peer);

#endif
