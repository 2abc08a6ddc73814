/*
 * reader.h - the one bounds-checked reader of bytes from the network or
 * a file: session frames (wire.c), discovery datagrams (discowire.c),
 * the supervisor's messages (server/imsg.c) and the client's tree blobs
 * (client/tree.c) all read through it.  Integers are big-endian, as
 * bytes.h packs them for every layout.
 *
 * As OpenSSH's sshbuf getters: each get checks what is left before it
 * reads (in a way that cannot underflow), consumes the bytes, then
 * decodes them.  The first error sticks: once a get has failed, every
 * later get fails with the same code and reads nothing, so a decoder
 * may make a run of gets and check once (rd_error(), or rd_end() last).
 *
 * The reader does not own the buffer; the caller keeps it alive and
 * unchanged while reading.  p and left may be read (the next byte, and
 * how many remain); only the functions below change them.
 */
#ifndef GV_READER_H
#define GV_READER_H

#include <stddef.h>
#include <stdint.h>

/* Why a get failed; rd_strerror() names each. */
enum rd_err {
	RD_OK = 0,
	RD_ERR_TRUNCATED,	/* fewer bytes left than the field needs */
	RD_ERR_TOO_LONG,	/* a length or count above the caller's max */
	RD_ERR_BAD_STRING,	/* a NUL byte inside a string */
	RD_ERR_TRAILING,	/* bytes left after the last field */
	RD_ERR_NO_ROOM,		/* the caller's buffer is smaller than max */
	RD_NERR
};

struct reader {
	const uint8_t	*p;		/* the next byte */
	size_t		 left;		/* bytes from p to the end */
	int		 err;		/* enum rd_err: the first failure */
};

void	rd_init(struct reader *, const void *p, size_t len);

/*
 * The getters: each returns 0, or -1 with the reader's error set (or
 * already set by an earlier failure): RD_ERR_TRUNCATED when fewer bytes
 * are left than the field needs.  On -1 an integer output is 0 and
 * nothing of the buffer is consumed.
 */
int	rd_get_u8(struct reader *, uint8_t *);
int	rd_get_u16(struct reader *, uint16_t *);
int	rd_get_u32(struct reader *, uint32_t *);
int	rd_get_u64(struct reader *, uint64_t *);
/* n bytes copied to dst. */
int	rd_get_bytes(struct reader *, void *dst, size_t n);
/* n bytes in place: *v points into the buffer (NULL on -1). */
int	rd_get_view(struct reader *, const uint8_t **v, size_t n);
/* n bytes skipped. */
int	rd_skip(struct reader *, size_t n);
/*
 * A u32 count of entries of at least elem_min (>= 1) bytes each:
 * RD_ERR_TOO_LONG when it is above max, RD_ERR_TRUNCATED when that many
 * entries cannot fit in what is left (so that a caller may allocate
 * count entries without trusting the count further).
 */
int	rd_get_count(struct reader *, uint32_t *count, uint32_t max,
	    size_t elem_min);
/*
 * A u16-length (rd_get_str16) or u8-length (rd_get_str8) string copied
 * to dst and NUL-terminated: RD_ERR_TOO_LONG when its length is above
 * maxlen, RD_ERR_BAD_STRING when it holds a NUL byte, RD_ERR_NO_ROOM
 * when maxlen >= dstlen (a caller's mistake).  dst is "" on -1.
 */
int	rd_get_str16(struct reader *, char *dst, size_t dstlen,
	    size_t maxlen);
int	rd_get_str8(struct reader *, char *dst, size_t dstlen,
	    size_t maxlen);
/*
 * u16-length bytes in place: *v points into the buffer, *n is their
 * length; RD_ERR_TOO_LONG above max.  No check of their content.
 */
int	rd_get_view16(struct reader *, const uint8_t **v, size_t *n,
	    size_t max);

/* 0 when every byte was read and no get failed, else -1 (RD_ERR_TRAILING). */
int	rd_end(struct reader *);
/* The first error (RD_OK when none). */
int	rd_error(const struct reader *);
/* A short name of an enum rd_err for messages ("truncated"), or "?". */
const char *rd_strerror(int err);

#endif
