/*
 * session.h - the server side of one session on the backup port: the
 * hello, then frames until the client says BYE, closes, errs or stalls.
 * The frame layout is wire.c's; this file decides what happens with it.
 */
#ifndef GV_SESSION_H
#define GV_SESSION_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "common/wire.h"
#include "catalog.h"

struct gv_config;
struct store;
struct tls_ctx;
struct tls_conn;

/* Where a session stands; session_admit() says which frames it may send. */
enum session_auth { AUTH_NONE, AUTH_CHALLENGED, AUTH_DONE };

struct session_frame;		/* a row of session.c's frame table */

struct session {
	/* Set by the caller. */
	int		 fd;		/* connected client, nonblocking */
	char		 peer[64];	/* "addr:port" for logs */
	int64_t		 accepted;	/* mono_ms() */
	const struct gv_config *cfg;
	const uint8_t	*server_id;	/* SERVER_ID_LEN bytes */
	uint8_t		*buf;		/* WIRE_HDR_LEN + cfg->max_frame bytes */
	uint8_t		*out;		/* as large: replies are built here */
	struct tls_ctx	*tls_ctx;	/* not NULL: TLS (Ports.SSLServer) */
	struct catalog	*cat;		/* NULL when it could not be opened */
	struct store	*store;		/* NULL likewise */
	/*
	 * The supervisor pipe, watched while waiting for the client:
	 * when it is readable ctl_ready(ctl_arg) runs (it may set *ctl_fd
	 * to -1 when the pipe closed).  *terminate set means stop now.
	 */
	int		*ctl_fd;
	void		(*ctl_ready)(void *);
	void		*ctl_arg;
	volatile sig_atomic_t *terminate;
	/*
	 * The signal mask while waiting (ppoll): SIGTERM is blocked
	 * everywhere else, so it cannot slip in between the check of
	 * *terminate and the wait.
	 */
	const sigset_t	*waitmask;
	/*
	 * Store.Backend = s3 (doc/object-store.md): not NULL and not ""
	 * while this server may not write to the bucket (a standby, the
	 * lease not held or lost).  The text is the ERROR a frame that
	 * writes (REGISTER, PUT, PUT_LINKED, COMMIT, FORGET) gets, and no
	 * pending blob is flushed then; read at each frame, so that a
	 * lease lost mid-session stops the next write.
	 */
	const char	*readonly;

	/* Filled in by session_run(). */
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint16_t	 version;	/* agreed protocol version, 0 before */
	char		 why[256];	/* why the session ended */
	/*
	 * For the history (catalog_session_end()): what the session was,
	 * by the frames it was let read (enum cat_history_kind), how it
	 * ended (enum cat_history_result: ok only after the client's BYE),
	 * the client it named (authenticated or only claimed in AUTH; ""
	 * before), the set and id of its last COMMIT (0: none), and
	 * whether it was an agent's poll that ended well (not recorded).
	 */
	int		 hist_kind;
	int		 hist_result;
	char		 hist_client[CAT_NAME_MAX + 1];
	char		 hist_set[CAT_NAME_MAX + 1];
	uint64_t	 hist_snapshot;
	int		 hist_quiet;

	/* Private to session.c: who the client is and what it sent. */
	struct tls_conn	*tls;		/* after the TLS handshake */
	char		 tls_err[200];	/* why the last TLS step failed */
	char		 registered[WIRE_NAME_MAX + 1];	/* by this session */
	enum session_auth auth;
	int		 bogus;		/* AUTH named no usable client */
	struct cat_client client;	/* valid from AUTH on */
	uint8_t		 nonce[WIRE_NONCE_LEN];
	uint8_t		(*refs)[BLOB_ID_LEN];	/* REFS of the next COMMIT */
	size_t		 nrefs, caprefs;
	/*
	 * Stored bytes and count of the blobs this session wrote (PUT or
	 * PUT_LINKED of an id not indexed or pending before) since its
	 * last COMMIT: that snapshot's new_bytes and new_blobs.
	 */
	uint64_t	 new_bytes;
	uint64_t	 new_blobs;
	unsigned	 did;		/* DID_* bits: frames admitted */
	int		 said_bye;
	int		 error;		/* the ERROR code it ended with */
	char		 purpose[17];	/* the hello's " (restore)" hint */
};

/*
 * Serve the client on s->fd until the session ends; never exits the
 * process, whatever the client sends.  Blobs uploaded and not yet made
 * durable are flushed to the store before it returns (with or without
 * a COMMIT).  The caller closes s->fd.
 */
void	session_run(struct session *s);

/*
 * Decide from a frame's header alone whether a session in state st may
 * read it, in this order: the header is sound (no flags, payload within
 * max_frame: Server.MaxFrame), the type is one a client sends after the
 * hello, it is allowed in st, its payload is within the type's limit.
 * Returns 0 with *row set to the type's row (static), or the wire_error
 * code to end the session with and its message in why (*row NULL).
 * Touches nothing but *row and why.
 */
int	session_admit(enum session_auth st, const struct wire_hdr *h,
	    uint32_t max_frame, const struct session_frame **row, char *why,
	    size_t whylen);

#endif
