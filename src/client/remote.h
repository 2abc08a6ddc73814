/*
 * remote.h - the client side of a session with gigavaultd
 * (doc/protocol.md).  Blocking I/O with timeouts; one session at a time.
 */
#ifndef GV_REMOTE_H
#define GV_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "blob.h"

#define REMOTE_SECRET_LEN	32
#define REMOTE_NAME_MAX		64

struct remote;

struct snapinfo {
	uint64_t	 id;
	char		 set[65];
	uint64_t	 time;
	uint8_t		 root[BLOB_ID_LEN];
	uint8_t		 meta[BLOB_ID_LEN];
	int		 v3;		/* listed in protocol version 3 */
	uint64_t	 files;		/* v3: regular files, as the client counted */
	uint64_t	 bytes;		/* their size (v3), or the bytes referenced */
	uint64_t	 new_bytes;	/* v3: bytes of blobs first stored by it */
	uint64_t	 blobs;		/* versions 1, 2: blobs referenced */
	int		 v5;		/* listed in version 5: flags known */
	int		 protected;	/* v5: an administrator protected it */
};

struct tls_ctx;

/*
 * TLS for a session (NULL, or ctx NULL: plain TCP).  The handshake
 * comes first; then, unless ctx verifies against a CA file (ca set),
 * the server's key must match pin ("server certificate changed: ...")
 * and its certificate must be within its validity period.  pin NULL:
 * any key is taken (registration), and remote_tls_pin() tells which.
 */
struct remote_tls {
	struct tls_ctx	*ctx;
	const uint8_t	*pin;		/* TLS_PIN_LEN bytes, or NULL */
	int		 ca;
};

/*
 * Connect to host:port (over TLS when tls says so) and exchange hellos.
 * When expect_id is not NULL the server id must match it ("server id
 * changed: ..." otherwise).  Returns a session or NULL with a message
 * in err.
 */
struct remote *remote_connect(const char *host, int port,
	    const uint8_t *expect_id, const struct remote_tls *tls, char *err,
	    size_t errlen);
/*
 * The same, waiting at most hello_ms for the server's hello: a server
 * whose workers are all busy queues the connection, and an extra,
 * optional session should not wait for one.
 */
struct remote *remote_connect_wait(const char *host, int port,
	    const uint8_t *expect_id, long hello_ms,
	    const struct remote_tls *tls, char *err, size_t errlen);
/*
 * Name the command this process's sessions serve ("restore", "verify",
 * ...: 1..REMOTE_PURPOSE_MAX bytes of a-z; NULL or anything else: none).
 * Each hello then says it after the software string, "gigavault 0.2
 * (restore)": a hint for the server's history, which cannot tell a
 * restore from a verify by the frames (doc/protocol.md, CLIENT_HELLO).
 */
#define REMOTE_PURPOSE_MAX	16
void	remote_set_purpose(const char *command);
const uint8_t *remote_server_id(const struct remote *);
/* The protocol version agreed in the hello (1..3). */
int	remote_version(const struct remote *);
/*
 * The code of the ERROR frame the server ended the session with
 * (enum wire_error), or 0 when it sent none.
 */
uint16_t remote_error_code(const struct remote *);
/* The server's key pin of a TLS session: 0, or -1 for plain TCP. */
int	remote_tls_pin(const struct remote *, uint8_t pin[32]);
/*
 * Ask for a client certificate right after remote_register(): csr is a
 * DER request; *pem gets the server's PEM certificate (malloc'ed,
 * NUL-terminated), or NULL when the server issues none.
 */
int	remote_cert_request(struct remote *, const uint8_t *csr, size_t len,
	    char **pem, char *err, size_t errlen);

/* Each returns 0, or -1 with a message in err (the server's ERROR text
 * when it sent one); after -1 the session is unusable: remote_close(). */
int	remote_register(struct remote *, const char *token,
	    char name[REMOTE_NAME_MAX + 1], uint8_t secret[REMOTE_SECRET_LEN],
	    char *err, size_t errlen);
int	remote_auth(struct remote *, const char *name,
	    const uint8_t secret[REMOTE_SECRET_LEN], char *err, size_t errlen);
/* missing[i] = 1 when the server lacks ids[i]; any n (batched inside). */
int	remote_have(struct remote *, const uint8_t (*ids)[BLOB_ID_LEN],
	    size_t n, uint8_t *missing, char *err, size_t errlen);
int	remote_put(struct remote *, const uint8_t id[BLOB_ID_LEN],
	    const void *blob, size_t len, char *err, size_t errlen);
/*
 * A blob that links to links[0..nlinks) (distinct, in order of first
 * appearance; each already on the server or sent before in this
 * session): PUT_LINKED (protocol version 3; with an older version
 * -1, nothing sent); a plain PUT when nlinks is 0.
 */
int	remote_put_linked(struct remote *, const uint8_t id[BLOB_ID_LEN],
	    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks,
	    const void *blob, size_t len, char *err, size_t errlen);
/*
 * Protocol version 3 only (an older session: -1, nothing sent).  files:
 * the number of files in the snapshot, size: the sum of their sizes,
 * for the server's statistics.
 */
int	remote_commit(struct remote *, const char *set, uint64_t time,
	    const uint8_t root[BLOB_ID_LEN], const uint8_t meta[BLOB_ID_LEN],
	    uint64_t files, uint64_t size, uint64_t *snap_id, char *err,
	    size_t errlen);
/*
 * Ask the server to forget snapshots ids[0..n) of this client (any n,
 * batched inside).  results[i] gets the server's answer for ids[i]:
 * REMOTE_FORGET_REMOVED, _REFUSED (its retention policy keeps it) or
 * _NOT_FOUND.
 */
enum {
	REMOTE_FORGET_REMOVED	= 0,
	REMOTE_FORGET_REFUSED	= 1,
	REMOTE_FORGET_NOT_FOUND	= 2,
};
int	remote_forget(struct remote *, const uint64_t *ids, size_t n,
	    uint8_t *results, char *err, size_t errlen);
/* All snapshots of set ("" = all), oldest first; *out malloc'ed. */
int	remote_list(struct remote *, const char *set, struct snapinfo **out,
	    size_t *n, char *err, size_t errlen);
/*
 * Fetch n blobs; cb(arg, id, blob, len, links, nlinks) runs for each in
 * order, with blob NULL for one the server does not have.  links[0..
 * nlinks) are the links the server states for it (LBLOB; valid during
 * the call only), nlinks 0 for a plain BLOB, or UINT32_MAX when the
 * session speaks a version below 3 (no links are ever stated).  A
 * nonzero return from cb stops and is returned (the session is then
 * unusable).
 */
int	remote_get(struct remote *, const uint8_t (*ids)[BLOB_ID_LEN],
	    size_t n, int (*cb)(void *arg, const uint8_t *id,
	    const uint8_t *blob, size_t len,
	    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks), void *arg,
	    char *err, size_t errlen);
/*
 * Send a PING (and wait for its PONG) when nothing was sent for 30 s, so
 * that a long walk over unchanged files does not run into the server's
 * IdleTimeout.  Call it only between requests (no reply outstanding).
 */
int	remote_keepalive(struct remote *, char *err, size_t errlen);

/*
 * The agent's frames (protocol version 4, doc/protocol.md "Agents"): a
 * report at the end of every run of a job, and a poll that tells the
 * server the agent's jobs and takes the "back up now" requests queued
 * for this client.  Both need an authenticated session of version 4
 * (an older server: -1 with "this server speaks protocol version N;
 * job reports need version 4", nothing sent).
 */
#define REMOTE_JOB_ERROR_MAX	1024	/* bytes of a report's error text */
#define REMOTE_AGENT_JOBS_MAX	256	/* jobs one poll may name */
#define REMOTE_REQUESTS_MAX	256	/* requests one poll may return */
enum remote_job_result {
	REMOTE_JOB_OK		= 0,	/* saved, no problem */
	REMOTE_JOB_PARTIAL	= 1,	/* saved, some paths not (fully) */
	REMOTE_JOB_FAILED	= 2,	/* no snapshot saved */
	REMOTE_JOB_CANCELLED	= 3,	/* stopped by cancel or the agent's stop */
};
struct remote_job_report {
	char		 set[65];
	uint64_t	 request;	/* the request it answers, 0 for none */
	int64_t		 start;		/* Unix seconds */
	int64_t		 end;
	int		 result;	/* enum remote_job_result */
	uint64_t	 snapid;	/* 0 when none was saved */
	uint64_t	 files;
	uint64_t	 bytes;		/* size of the files in the snapshot */
	uint64_t	 read_bytes;
	uint64_t	 sent_bytes;
	uint64_t	 problems;
	int64_t		 next_run;	/* the job's next scheduled run, 0: none */
	char		 error[REMOTE_JOB_ERROR_MAX + 1];	/* "" when none */
};
/* Send one report and wait for the server's ack.  0, or -1 with err. */
int	remote_job_report(struct remote *, const struct remote_job_report *,
	    char *err, size_t errlen);

struct remote_agent_job {
	char		 set[65];
	int64_t		 next_run;	/* Unix seconds, 0: not scheduled */
	int64_t		 interval;	/* seconds between scheduled runs,
					   0: unknown (for "overdue") */
	int		 running;	/* a run is in progress */
};
enum remote_request_kind {
	REMOTE_REQ_BACKUP	= 1,	/* back up set now */
	REMOTE_REQ_BROWSE	= 2,	/* version 5: list a directory */
	REMOTE_REQ_RESTORE	= 3,	/* version 5: restore paths */
};
#define REMOTE_REQ_ARGS_MAX	4096	/* bytes of a request's args */
struct remote_agent_request {
	uint64_t	 id;		/* the server's, echoed in the report */
	int		 kind;		/* enum remote_request_kind */
	char		 set[65];	/* a job's set */
	char		 args[REMOTE_REQ_ARGS_MAX + 1];	/* JSON, unchecked;
							   "" for a backup */
};
/*
 * Tell the server this agent's jobs[0..njobs) (njobs at most
 * REMOTE_AGENT_JOBS_MAX) and its name (the host's, for the console) and
 * take the requests queued for this client: *out gets a malloc'ed array
 * of *n (the caller frees it; NULL when none), each handed out once.
 * 0, or -1 with err set (*out NULL, *n 0).
 */
int	remote_agent_poll(struct remote *, const char *agent_name,
	    const struct remote_agent_job *jobs, size_t njobs,
	    struct remote_agent_request **out, size_t *n, char *err,
	    size_t errlen);
/*
 * Version 5: answer a browse or restore request with status (0 done,
 * 1 started, 2 failed) and answer[0..len) (JSON, at most
 * REMOTE_ANSWER_MAX bytes), and wait for the server's ack.  0, or -1
 * with err (an older server: "answers need version 5", nothing sent).
 */
#define REMOTE_ANSWER_MAX	65536
int	remote_agent_answer(struct remote *, uint64_t request, int status,
	    const char *answer, size_t len, char *err, size_t errlen);

/*
 * Charge the bytes the session reads to down and those it writes to up
 * (ratelimit.h; either NULL: no limit), from now on.  The buckets are
 * the caller's, shared with its other sessions, and must outlive r.
 */
struct ratelimit;
void	remote_set_limits(struct remote *, struct ratelimit *up,
	    struct ratelimit *down);

/* Say BYE (best effort) and free. */
void	remote_close(struct remote *);

#endif
