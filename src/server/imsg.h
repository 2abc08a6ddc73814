/*
 * imsg.h - the messages between the supervisor and its children, over
 * SOCK_SEQPACKET socketpairs: their types and bodies, who may send
 * which, and the framing.
 *
 * A message is a header (u32 total length, u16 type, u16 zero) and a
 * body, whose fields imsg.c writes once for encoding and decoding, next
 * to the table of which kinds of children may send each type to the
 * supervisor and which the supervisor sends it to.  A receiver decodes
 * a whole message before it acts on it: imsg_from_child() in the
 * supervisor, imsg_to_child() in a child.  Either refuses a type the
 * table does not send that way for that kind, and a body that is short,
 * long or out of range; the supervisor restarts a child that sends one.
 */
#ifndef GV_IMSG_H
#define GV_IMSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/reader.h"

#include "child.h"
#include "hkstatus.h"

#define IMSG_MAX	(128 * 1024)	/* whole message, header included */
#define IMSG_PEER_MAX	64	/* a peer's "[address]:port", NUL included */
#define IMSG_STATUS_MAX	1500	/* workers listed in a STATUS_REPLY */

enum imsg_type {
	IMSG_READY = 1,		/* child -> sup: serving */
	IMSG_BUSY,		/* worker -> sup: in a session, with peer */
	IMSG_IDLE,		/* worker -> sup: back to accepting */
	IMSG_SESSION_END,	/* worker -> sup: a session ended */
	IMSG_STATUS_REQ,	/* uibridge -> sup: the pool, please */
	IMSG_STATUS_REPLY,	/* sup -> uibridge: the pool */
	IMSG_SHUTDOWN,		/* sup -> child: stop accepting, finish, exit */
	IMSG_LOG_REOPEN,	/* sup -> child: reopen the log file */
	IMSG_HK_RUN,		/* uibridge -> sup -> housekeeper: run now */
	IMSG_LEASE,		/* lease -> sup -> workers, housekeeper,
				   uibridge: the bucket's lease changed */
	IMSG_TYPE_MAX
};

/* A child's state as the supervisor sees it and STATUS_REPLY shows it. */
enum child_state { CS_STARTING, CS_IDLE, CS_BUSY, CS_NSTATES };

struct imsg_status {			/* STATUS_REPLY */
	uint32_t	 id;		/* the request's */
	uint64_t	 uptime;	/* seconds */
	uint32_t	 pool;		/* Server.Workers */
	uint64_t	 served;	/* sessions ended since start */
	uint32_t	 n;		/* workers listed */
	struct imsg_worker {
		uint32_t pid;
		uint8_t	 state;		/* enum child_state */
		uint8_t	 retiring;	/* 1: finishing, not respawned */
		uint64_t since;		/* wall clock of the last change */
		char	 peer[IMSG_PEER_MAX];	/* "" when not busy */
	}		 w[IMSG_STATUS_MAX];
};

struct imsg_busy { char peer[IMSG_PEER_MAX]; };		/* BUSY */

/*
 * LEASE (Store.Backend = s3, doc/object-store.md rules 5 and 6): the
 * lease child's state, which the supervisor passes on.  Writes (PUT,
 * COMMIT, FORGET, prune) are allowed in LS_HELD only; why is a sentence
 * for logs, the ERROR a client gets and the status ("held by HOST
 * (server ID), generation 3").
 */
enum lease_state {
	LS_WAITING,		/* active: another server holds the lease */
	LS_HELD,		/* active: we hold it and may write */
	LS_LOST,		/* lost, or the catalog is behind: no writes
				   until a restart */
	LS_STANDBY,		/* standby: following the bucket, no writes */
	LS_NSTATES
};
#define IMSG_LEASE_WHY_MAX	256	/* why, NUL included */
struct imsg_lease {
	uint8_t		 state;		/* enum lease_state */
	char		 why[IMSG_LEASE_WHY_MAX];
};
struct imsg_status_req { uint32_t id; };	/* echoed in the reply */
#define IMSG_HK_BY_MAX	66	/* who asked: "console: NAME", NUL included */
struct imsg_hk_run {
	uint8_t		 job;		/* enum hk_job */
	char		 by[IMSG_HK_BY_MAX];	/* who asked for it ("": ?) */
};

/* A decoded body; READY, IDLE, SESSION_END, SHUTDOWN, LOG_REOPEN have none. */
union imsg_body {
	struct imsg_busy	 busy;
	struct imsg_status_req	 status_req;
	struct imsg_status	 status;
	struct imsg_hk_run	 hk_run;
	struct imsg_lease	 lease;
};

struct imsg {
	uint8_t		 buf[IMSG_MAX];
	size_t		 len;		/* bytes used, header included */
	struct reader	 rd;		/* reading: what is left of the body */
	int		 type;
	int		 bad;		/* building: the body ran over */
	int		 reading;	/* received, not being built */
};

/*
 * The encoders.  Each builds its message in one buffer of this process
 * and returns it for imsg_send(); it is valid until the next encoder
 * call.  imsg_empty() is for the types without a body; imsg_busy() cuts
 * a peer to IMSG_PEER_MAX - 1 bytes, imsg_lease() a why likewise;
 * imsg_status() only reads *r.  A
 * value out of range makes a message that imsg_send() refuses.
 */
struct imsg	*imsg_empty(enum imsg_type);
struct imsg	*imsg_busy(const char *peer);
struct imsg	*imsg_status_req(uint32_t id);
struct imsg	*imsg_status(struct imsg_status *r);
struct imsg	*imsg_hk_run(enum hk_job);
/* HK_RUN naming who asked (cut to IMSG_HK_BY_MAX - 1 bytes). */
struct imsg	*imsg_hk_run_by(enum hk_job, const char *by);
struct imsg	*imsg_lease(enum lease_state, const char *why);

/*
 * Send one message.  Blocking unless nonblock; returns 0, or -1 with
 * errno set (EMSGSIZE when the body overflowed or was out of range,
 * EAGAIN when nonblock and the peer's queue is full).
 */
int	imsg_send(int fd, struct imsg *, int nonblock);

/*
 * Receive one message (nonblocking).  Returns 1 with m filled in,
 * 0 when the peer closed, -1 with errno set (EAGAIN: nothing queued,
 * EBADMSG: the header does not match what arrived; the message is gone).
 */
int	imsg_recv(int fd, struct imsg *m);

/* Name of a type, for logs ("READY", ...; "unknown" outside the table). */
const char *imsg_name(int type);

/*
 * Decode m, which a child of kind sent to the supervisor, into *b.
 * Returns 0, or -1 with the reason in err when the table does not let
 * that kind send that type ("may not send SESSION_END", "unknown message
 * type 42") or the body does not decode ("bad BUSY message (11 bytes,
 * too short)").
 */
int	imsg_from_child(enum child_kind kind, struct imsg *m,
	    union imsg_body *b, char *err, size_t errlen);
/*
 * The same for m, which the supervisor sent to a child of kind: -1 with
 * "unexpected STATUS_REPLY message" for a type not sent to that kind.
 */
int	imsg_to_child(enum child_kind kind, struct imsg *m,
	    union imsg_body *b, char *err, size_t errlen);

#endif
