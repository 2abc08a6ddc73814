/*
 * wire.h - session frames on the backup ports: encode and decode with
 * bounds checks.  No sockets here, no catalog: bytes in, values out.
 * The byte layout is documented in doc/protocol.md.
 *
 * Payloads are read with reader.h's struct reader (every get checks the
 * remaining length first, so a short buffer yields an error, never a
 * read past its end).  Writers (struct wire_wr) append to
 * a caller's buffer and remember an overflow instead of writing past it.
 */
#ifndef GV_WIRE_H
#define GV_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "reader.h"

#define WIRE_HDR_LEN		8
#define WIRE_MAGIC		"GVLT"
#define WIRE_MAGIC_LEN		4
#define WIRE_VERSION_MIN	1	/* protocol versions this code speaks */
#define WIRE_VERSION_MAX	5	/* 2: COMMIT has files; 3: links, size;
					   4: the agent's frames; 5: SNAPSHOTS
					   entries' flags, browse and restore
					   requests, answers */
#define WIRE_SOFTWARE_MAX	255	/* bytes of a hello's software string */

enum wire_type {
	WIRE_CLIENT_HELLO	= 0x0001,
	WIRE_SERVER_HELLO	= 0x0002,
	WIRE_PING		= 0x0003,
	WIRE_PONG		= 0x0004,
	WIRE_BYE		= 0x0005,
	WIRE_REGISTER		= 0x0010,
	WIRE_REGISTERED		= 0x0011,
	WIRE_AUTH		= 0x0012,
	WIRE_CHALLENGE		= 0x0013,
	WIRE_PROOF		= 0x0014,
	WIRE_AUTH_OK		= 0x0015,
	WIRE_CERT_REQUEST	= 0x0016,
	WIRE_CERT		= 0x0017,
	WIRE_HAVE		= 0x0020,
	WIRE_MISSING		= 0x0021,
	WIRE_PUT		= 0x0022,
	WIRE_REFS		= 0x0023,
	WIRE_COMMIT		= 0x0024,
	WIRE_COMMITTED		= 0x0025,
	WIRE_FORGET		= 0x0026,
	WIRE_FORGOTTEN		= 0x0027,
	WIRE_PUT_LINKED		= 0x0028,	/* version 3 */
	WIRE_LIST		= 0x0030,
	WIRE_SNAPSHOTS		= 0x0031,
	WIRE_GET		= 0x0032,
	WIRE_BLOB		= 0x0033,
	WIRE_NOBLOB		= 0x0034,
	WIRE_LBLOB		= 0x0035,	/* version 3 */
	WIRE_JOB_REPORT		= 0x0040,	/* version 4 */
	WIRE_JOB_REPORTED	= 0x0041,	/* version 4 */
	WIRE_AGENT_POLL		= 0x0042,	/* version 4 */
	WIRE_AGENT_REQUESTS	= 0x0043,	/* version 4 */
	WIRE_AGENT_ANSWER	= 0x0044,	/* version 5 */
	WIRE_AGENT_ANSWERED	= 0x0045,	/* version 5 */
	WIRE_ERROR		= 0x00ff,
};

/* Limits of the backup frames (doc/protocol.md). */
#define WIRE_SECRET_LEN		32	/* REGISTERED's client secret */
#define WIRE_NONCE_LEN		32	/* CHALLENGE's nonce */
#define WIRE_TOKEN_MAX		128
#define WIRE_NAME_MAX		64	/* client names */
#define WIRE_SET_MAX		64	/* set names */
#define WIRE_BATCH_MAX		4096	/* ids in HAVE, REFS, GET */
#define WIRE_REFS_MAX		(1u << 20)	/* ids per snapshot (versions 1, 2) */
#define WIRE_LINKS_MAX		16384	/* links of one PUT_LINKED (version 3) */
#define WIRE_AUTH_LABEL		"gigavault-auth-1"
#define WIRE_CSR_MAX		4096	/* bytes of a CERT_REQUEST (DER) */
#define WIRE_CERT_MAX		8192	/* bytes of a CERT (PEM) */

/*
 * The largest payload of each frame a client sends (IDS: HAVE, REFS and
 * GET): its layout with every field at its limit, as doc/protocol.md
 * shows.  PROOF has exactly its size; BYE's largest payload is 0,
 * CERT_REQUEST's WIRE_CSR_MAX and PUT's Server.MaxFrame.
 */
#define WIRE_HELLO_MAX	(WIRE_MAGIC_LEN + 2 + 2 + 2 + WIRE_SOFTWARE_MAX)
#define WIRE_PING_MAX		64
#define WIRE_REGISTER_MAX	(2 + WIRE_TOKEN_MAX)
#define WIRE_AUTH_MAX		(2 + WIRE_NAME_MAX)
#define WIRE_PROOF_LEN		32	/* HMAC-SHA-256 */
#define WIRE_IDS_MAX		(4 + WIRE_BATCH_MAX * BLOB_ID_LEN)
#define WIRE_COMMIT_MAX		(2 + WIRE_SET_MAX + 8 + 2 * BLOB_ID_LEN + 8)
/* Version 3: COMMIT ends with u64 files, u64 size. */
#define WIRE_COMMIT3_MAX	(WIRE_COMMIT_MAX + 8)
#define WIRE_FORGET_MAX		(4 + WIRE_BATCH_MAX * 8)
#define WIRE_LIST_MAX		(2 + WIRE_SET_MAX + 8)
/* Version 5: a SNAPSHOTS entry ends with u8 flags. */
#define WIRE_SNAP_PROTECTED	1u	/* an administrator protected it */

/*
 * Version 4, the agent's frames (doc/protocol.md "Agents").  JOB_REPORT:
 * string set, u64 request, i64 start, i64 end, u8 result, u64 snapid,
 * files, bytes, read_bytes, sent_bytes, problems, i64 next_run, string
 * error.  AGENT_POLL: string agent name, u32 njobs, njobs jobs of string
 * set, i64 next_run, i64 interval, u8 running.  AGENT_REQUESTS (the
 * answer): u32 count, count requests of u64 id, u8 kind, string set.
 * JOB_REPORTED (the ack): u64 seq, the report's number in the server's
 * history.  Times are Unix seconds; an i64 is sent as its u64 two's
 * complement and must not be negative.
 */
#define WIRE_JOB_ERROR_MAX	1024	/* bytes of a report's error text */
#define WIRE_AGENT_NAME_MAX	64	/* bytes of an agent's name */
#define WIRE_AGENT_JOBS_MAX	256	/* jobs in one AGENT_POLL */
#define WIRE_REQUESTS_MAX	256	/* requests in one AGENT_REQUESTS */
#define WIRE_JOB_RESULT_MAX	3	/* ok, partial, failed, cancelled */
#define WIRE_REQ_BACKUP		1	/* back up now */
#define WIRE_JOB_REPORT_MAX	(2 + WIRE_SET_MAX + 8 + 8 + 8 + 1 + 6 * 8 + \
				 8 + 2 + WIRE_JOB_ERROR_MAX)
#define WIRE_AGENT_JOB_MAX	(2 + WIRE_SET_MAX + 8 + 8 + 1)
#define WIRE_AGENT_JOB_MIN	(2 + 1 + 8 + 8 + 1)
#define WIRE_AGENT_POLL_MAX	(2 + WIRE_AGENT_NAME_MAX + 4 + \
				 WIRE_AGENT_JOBS_MAX * WIRE_AGENT_JOB_MAX)
#define WIRE_REQUEST_MIN	(8 + 1 + 2 + 1)

/*
 * Version 5 (doc/protocol.md "Browsing and restoring through the
 * agent"): two more request kinds, each with an args string (JSON, at
 * most WIRE_REQ_ARGS_MAX bytes, which the agent parses and checks), so
 * that a version 5 AGENT_REQUESTS has, per request, u64 id, u8 kind,
 * string set, string args (u16 length each).  A version 4 session gets
 * the version 4 layout and never a kind but WIRE_REQ_BACKUP.
 * AGENT_ANSWER: u64 request, u8 status, u32 length, that many bytes of
 * answer (JSON, at most WIRE_ANSWER_MAX: a longer directory listing is
 * paged).  AGENT_ANSWERED (the ack): u64 request.
 */
#define WIRE_REQ_BROWSE		2	/* list one directory of a snapshot */
#define WIRE_REQ_RESTORE	3	/* restore paths of a snapshot */
#define WIRE_REQ_KIND_MAX	3
#define WIRE_REQ_ARGS_MAX	4096	/* bytes of a request's args */
#define WIRE_REQUEST5_MIN	(WIRE_REQUEST_MIN + 2)
#define WIRE_ANSWER_MAX		65536	/* bytes of one answer */
#define WIRE_AGENT_ANSWER_MAX	(8 + 1 + 4 + WIRE_ANSWER_MAX)
enum wire_answer_status {
	WIRE_ANSWER_DONE	= 0,	/* the request's final answer */
	WIRE_ANSWER_STARTED	= 1,	/* a restore under way: more follows */
	WIRE_ANSWER_FAILED	= 2,	/* final, the answer says why */
};
#define WIRE_ANSWER_STATUS_MAX	2

/* Codes carried by ERROR frames. */
enum wire_error {
	WIRE_ERR_MALFORMED	= 1,
	WIRE_ERR_TOO_LARGE	= 2,
	WIRE_ERR_UNEXPECTED	= 3,	/* unknown or unexpected type */
	WIRE_ERR_VERSION	= 4,
	WIRE_ERR_TIMEOUT	= 5,
	WIRE_ERR_SHUTDOWN	= 6,
	WIRE_ERR_AUTH		= 7,
	WIRE_ERR_NOT_AUTHED	= 8,
	WIRE_ERR_LIMIT		= 9,
	WIRE_ERR_INCOMPLETE	= 10,
	WIRE_ERR_STORAGE	= 11,
	WIRE_ERR_NOSPACE	= 12,	/* DataDir under Server.ReserveSpace */
};

struct wire_hdr {
	uint32_t	len;		/* payload bytes */
	uint16_t	type;
	uint16_t	flags;
};

struct wire_wr {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
	size_t		 frame;		/* offset of the open frame's header */
	int		 overflow;
};

struct wire_client_hello {
	uint16_t	version_min;
	uint16_t	version_max;
	char		software[WIRE_SOFTWARE_MAX + 1];
};

struct wire_server_hello {
	uint16_t	version;
	uint8_t		server_id[SERVER_ID_LEN];
	char		software[WIRE_SOFTWARE_MAX + 1];
};

/* A JOB_REPORT's fields (the set and error checked for length only). */
struct wire_job_report {
	char		 set[WIRE_SET_MAX + 1];
	uint64_t	 request;	/* the request it answers, 0: none */
	int64_t		 start;
	int64_t		 end;
	uint8_t		 result;	/* 0..WIRE_JOB_RESULT_MAX */
	uint64_t	 snapid;
	uint64_t	 files;
	uint64_t	 bytes;
	uint64_t	 read_bytes;
	uint64_t	 sent_bytes;
	uint64_t	 problems;
	int64_t		 next_run;	/* 0: none */
	char		 error[WIRE_JOB_ERROR_MAX + 1];
};

/* One job of an AGENT_POLL. */
struct wire_agent_job {
	char		 set[WIRE_SET_MAX + 1];
	int64_t		 next_run;
	int64_t		 interval;
	uint8_t		 running;	/* 0 or 1 */
};

/* One request of an AGENT_REQUESTS. */
struct wire_request {
	uint64_t	 id;
	uint8_t		 kind;		/* WIRE_REQ_BACKUP; others skipped */
	char		 set[WIRE_SET_MAX + 1];
	char		 args[WIRE_REQ_ARGS_MAX + 1];	/* version 5, or "" */
};

/* Decode the 8 header bytes at b. */
void	wire_hdr_decode(const uint8_t b[WIRE_HDR_LEN], struct wire_hdr *);
/*
 * Check a decoded header against max_payload.  Returns 0 when it may be
 * read, else a wire_error code with the reason written to why.
 */
int	wire_hdr_check(const struct wire_hdr *, uint32_t max_payload,
	    char *why, size_t whylen);
/* Name of a frame type for logs, or NULL when the type is unknown. */
const char *wire_type_name(uint16_t type);

void	wire_wr_init(struct wire_wr *, void *buf, size_t cap);
/* Open a frame of the given type; wire_frame_end() fills its length. */
void	wire_frame_begin(struct wire_wr *, uint16_t type);
void	wire_frame_end(struct wire_wr *);
void	wire_put_u16(struct wire_wr *, uint16_t);
void	wire_put_u32(struct wire_wr *, uint32_t);
void	wire_put_u64(struct wire_wr *, uint64_t);
void	wire_put_bytes(struct wire_wr *, const void *, size_t);
void	wire_put_str(struct wire_wr *, const char *);

/*
 * Parse a CLIENT_HELLO payload.  Returns 0, or WIRE_ERR_MALFORMED with
 * the reason in why.
 */
int	wire_parse_client_hello(const void *payload, size_t len,
	    struct wire_client_hello *, char *why, size_t whylen);
/* Parse a SERVER_HELLO payload (the client side).  Same returns. */
int	wire_parse_server_hello(const void *payload, size_t len,
	    struct wire_server_hello *, char *why, size_t whylen);
/*
 * The version both sides speak: the highest in [min, max] and in
 * [WIRE_VERSION_MIN, WIRE_VERSION_MAX], or 0 when there is none.
 */
uint16_t wire_pick_version(uint16_t min, uint16_t max);

/* Append whole frames.  Check w->overflow afterwards. */
void	wire_put_client_hello(struct wire_wr *, uint16_t min, uint16_t max,
	    const char *software);
void	wire_put_server_hello(struct wire_wr *, uint16_t version,
	    const uint8_t id[SERVER_ID_LEN], const char *software);
void	wire_put_error(struct wire_wr *, enum wire_error, const char *msg);

/*
 * The agent's frames (version 4).  Each put appends one whole frame; a
 * string longer than its limit or a count above its limit sets
 * w->overflow (nothing is cut).  Each parse decodes a whole payload and
 * returns 0, or with the reason in why: WIRE_ERR_LIMIT for a string or
 * count above its limit, WIRE_ERR_MALFORMED for anything else (short,
 * bytes left over, a NUL in a string, an empty set, a negative time, a
 * result above WIRE_JOB_RESULT_MAX, running other than 0 or 1).
 */
void	wire_put_job_report(struct wire_wr *, const struct wire_job_report *);
int	wire_parse_job_report(const void *payload, size_t len,
	    struct wire_job_report *, char *why, size_t whylen);
/* jobs[0..njobs): njobs at most WIRE_AGENT_JOBS_MAX. */
void	wire_put_agent_poll(struct wire_wr *, const char *agent,
	    const struct wire_agent_job *jobs, size_t njobs);
/*
 * agent gets WIRE_AGENT_NAME_MAX + 1 bytes, jobs room for
 * WIRE_AGENT_JOBS_MAX entries; *njobs their count.
 */
int	wire_parse_agent_poll(const void *payload, size_t len, char *agent,
	    struct wire_agent_job *jobs, uint32_t *njobs, char *why,
	    size_t whylen);
void	wire_put_job_reported(struct wire_wr *, uint64_t seq);
int	wire_parse_job_reported(const void *payload, size_t len,
	    uint64_t *seq, char *why, size_t whylen);
/* reqs[0..n): n at most WIRE_REQUESTS_MAX. */
void	wire_put_agent_requests(struct wire_wr *,
	    const struct wire_request *reqs, size_t n);
/*
 * reqs has room for WIRE_REQUESTS_MAX entries; *n their count.  A kind
 * other than WIRE_REQ_BACKUP is decoded as it came (the caller skips
 * it); its set must still be 1..WIRE_SET_MAX bytes.
 */
int	wire_parse_agent_requests(const void *payload, size_t len,
	    struct wire_request *reqs, uint32_t *n, char *why, size_t whylen);

/*
 * Version 5.  The AGENT_REQUESTS of a version 5 session: as above, and
 * each request's args (at most WIRE_REQ_ARGS_MAX bytes, "" allowed).
 */
void	wire_put_agent_requests5(struct wire_wr *,
	    const struct wire_request *reqs, size_t n);
int	wire_parse_agent_requests5(const void *payload, size_t len,
	    struct wire_request *reqs, uint32_t *n, char *why, size_t whylen);
/*
 * AGENT_ANSWER: answer[0..len) (len at most WIRE_ANSWER_MAX, else
 * overflow).  The parse points *answer into payload (not NUL-ended);
 * WIRE_ERR_MALFORMED also for request 0 or a status above
 * WIRE_ANSWER_STATUS_MAX.
 */
void	wire_put_agent_answer(struct wire_wr *, uint64_t request,
	    uint8_t status, const void *answer, size_t len);
int	wire_parse_agent_answer(const void *payload, size_t len,
	    uint64_t *request, uint8_t *status, const uint8_t **answer,
	    size_t *alen, char *why, size_t whylen);
void	wire_put_agent_answered(struct wire_wr *, uint64_t request);
int	wire_parse_agent_answered(const void *payload, size_t len,
	    uint64_t *request, char *why, size_t whylen);

#endif
