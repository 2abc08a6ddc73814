/*
 * uiask.h - one request to a daemon's UI bridge (JSON lines on
 * Ports.UI, doc/protocol.md "UI bridge"): connect, send one line, read
 * the first line back, all before one deadline.  The client (its
 * status and its discovery through the local daemon, client/bridge.c)
 * and gigavaultctl status ask through it; each decodes the line itself.
 */
#ifndef GV_UIASK_H
#define GV_UIASK_H

#include <stddef.h>
#include <stdint.h>

#define UIASK_REPLY_MAX	(1024 * 1024)	/* bytes of a reply line */

/*
 * Ask the UI bridge at host (a name or an address; each address it
 * resolves to tried in turn) and port: send request_line (a newline is
 * added when it has none), read the first line back, all before
 * deadline (a mono_ms() value).  The line without its newline,
 * NUL-terminated and malloc'ed (the caller frees it), or NULL with err
 * set: "cannot resolve HOST: reason", "no UI bridge answers on
 * HOST:PORT: reason", "HOST:PORT: cannot send the request: reason",
 * "HOST:PORT: no answer (timed out)", "HOST:PORT: connection closed
 * without an answer", "HOST:PORT: reply line too long" (more than
 * UIASK_REPLY_MAX bytes), "out of memory".
 */
char	*uiask_line(const char *host, int port, const char *request_line,
	    int64_t deadline, char *err, size_t errlen);

#endif
