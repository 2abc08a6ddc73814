/*
 * imsg.h - typed, length-prefixed messages between the supervisor and
 * its children, over SOCK_SEQPACKET socketpairs.
 *
 * A message is a header (u32 total length, u16 type, u16 zero) and a
 * body built with the imsg_put_*() calls and read back, in the same
 * order, with imsg_get_*().  A get that runs past the end, or a message
 * with bytes left over at imsg_end(), is an error that names the type:
 * the receiver drops the message and logs it, it never guesses.
 */
#ifndef GV_IMSG_H
#define GV_IMSG_H

#include <stddef.h>
#include <stdint.h>

#define IMSG_MAX	(128 * 1024)	/* whole message, header included */

enum imsg_type {
	IMSG_READY = 1,		/* child -> sup: serving */
	IMSG_BUSY,		/* worker -> sup: str peer */
	IMSG_IDLE,		/* worker -> sup: back to accepting */
	IMSG_SESSION_END,	/* worker -> sup: u64 in, u64 out, u64 ms, str why */
	IMSG_STATUS_REQ,	/* uibridge -> sup: u32 request id */
	IMSG_STATUS_REPLY,	/* sup -> uibridge: see supervisor.c */
	IMSG_SHUTDOWN,		/* sup -> child: stop accepting, finish, exit */
	IMSG_LOG_REOPEN,	/* sup -> child: reopen the log file */
	IMSG_HK_RUN,		/* uibridge -> sup -> housekeeper: u8 job
				   (0 prune, 1 scrub: enum hk_job), run now */
	IMSG_TYPE_MAX
};

struct imsg {
	uint8_t		 buf[IMSG_MAX];
	size_t		 len;		/* bytes used, header included */
	size_t		 pos;		/* read position */
	int		 type;
	int		 bad;		/* a get or put failed */
};

/* Name of a type, for logs ("READY", ...; "unknown" outside the enum). */
const char *imsg_type_name(int type);

/* Start building a message of the given type. */
void	imsg_init(struct imsg *, enum imsg_type);
void	imsg_put_u8(struct imsg *, uint8_t);
void	imsg_put_u32(struct imsg *, uint32_t);
void	imsg_put_u64(struct imsg *, uint64_t);
/* A string of at most 65535 bytes (u16 length, no NUL on the wire). */
void	imsg_put_str(struct imsg *, const char *);

/*
 * Send one message.  Blocking unless nonblock; returns 0, or -1 with
 * errno set (EMSGSIZE when a put overflowed, EAGAIN when nonblock and
 * the peer's queue is full).
 */
int	imsg_send(int fd, struct imsg *, int nonblock);

/*
 * Receive one message (nonblocking).  Returns 1 with m filled in,
 * 0 when the peer closed, -1 with errno set (EAGAIN: nothing queued,
 * EBADMSG: the header does not match what arrived; the message is gone).
 */
int	imsg_recv(int fd, struct imsg *m);

/* Each returns 0, or -1 (and marks m bad) when the body is too short. */
int	imsg_get_u8(struct imsg *, uint8_t *);
int	imsg_get_u32(struct imsg *, uint32_t *);
int	imsg_get_u64(struct imsg *, uint64_t *);
/* Copies a string into dst (NUL-terminated); -1 if it does not fit. */
int	imsg_get_str(struct imsg *, char *dst, size_t dstlen);
/*
 * Call after the last get: returns 0 when the body was read exactly,
 * else logs "<func>: bad TYPE message" and returns -1.
 */
int	imsg_end(struct imsg *, const char *func);

#endif
