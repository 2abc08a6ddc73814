/*
 * imsg.c - messages between the supervisor and its children.  See imsg.h.
 *
 * SOCK_SEQPACKET keeps message boundaries, so one recv() is one message;
 * the length in the header is still checked against what arrived.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "imsg.h"
#include "log.h"

#define IMSG_HDR	8

const char *
imsg_type_name(int type)
{
	static const char *const names[IMSG_TYPE_MAX] = {
		[IMSG_READY] = "READY",
		[IMSG_BUSY] = "BUSY",
		[IMSG_IDLE] = "IDLE",
		[IMSG_SESSION_END] = "SESSION_END",
		[IMSG_STATUS_REQ] = "STATUS_REQ",
		[IMSG_STATUS_REPLY] = "STATUS_REPLY",
		[IMSG_SHUTDOWN] = "SHUTDOWN",
		[IMSG_LOG_REOPEN] = "LOG_REOPEN",
		[IMSG_HK_RUN] = "HK_RUN",
	};

	if (type <= 0 || type >= IMSG_TYPE_MAX || names[type] == NULL)
		return "unknown";
	return names[type];
}

static void
put(struct imsg *m, const void *p, size_t n)
{
	if (m->bad || n > sizeof(m->buf) - m->len) {
		m->bad = 1;
		return;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

void
imsg_init(struct imsg *m, enum imsg_type type)
{
	m->len = IMSG_HDR;
	m->pos = IMSG_HDR;
	m->type = type;
	m->bad = 0;
}

void
imsg_put_u8(struct imsg *m, uint8_t v)
{
	put(m, &v, 1);
}

void
imsg_put_u32(struct imsg *m, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	put(m, b, 4);
}

void
imsg_put_u64(struct imsg *m, uint64_t v)
{
	uint8_t b[8];

	be64_put(b, v);
	put(m, b, 8);
}

void
imsg_put_str(struct imsg *m, const char *s)
{
	size_t n = strlen(s);
	uint8_t b[2];

	if (n > 0xffff) {
		m->bad = 1;
		return;
	}
	be16_put(b, (uint16_t)n);
	put(m, b, 2);
	put(m, s, n);
}

int
imsg_send(int fd, struct imsg *m, int nonblock)
{
	uint32_t len = (uint32_t)m->len;
	ssize_t n;

	if (m->bad) {
		errno = EMSGSIZE;
		return -1;
	}
	be32_put(m->buf, len);
	be16_put(m->buf + 4, (uint16_t)m->type);
	be16_put(m->buf + 6, 0);
	do {
		n = send(fd, m->buf, m->len,
		    MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0));
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != m->len) {	/* cannot happen with SEQPACKET */
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
imsg_recv(int fd, struct imsg *m)
{
	ssize_t n;
	uint32_t len;

	do {
		n = recv(fd, m->buf, sizeof(m->buf), MSG_DONTWAIT | MSG_TRUNC);
	} while (n == -1 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	if ((size_t)n > sizeof(m->buf) || n < IMSG_HDR) {
		errno = EBADMSG;
		return -1;
	}
	len = be32_get(m->buf);
	if (len != (size_t)n || be16_get(m->buf + 6) != 0) {
		errno = EBADMSG;
		return -1;
	}
	m->len = (size_t)n;
	m->pos = IMSG_HDR;
	m->type = be16_get(m->buf + 4);
	m->bad = 0;
	return 1;
}

static int
get(struct imsg *m, void *p, size_t n)
{
	/* pos <= len always holds, so the subtraction cannot wrap. */
	if (m->bad || n > m->len - m->pos) {
		m->bad = 1;
		return -1;
	}
	memcpy(p, m->buf + m->pos, n);
	m->pos += n;
	return 0;
}

int
imsg_get_u8(struct imsg *m, uint8_t *v)
{
	return get(m, v, 1);
}

int
imsg_get_u32(struct imsg *m, uint32_t *v)
{
	uint8_t b[4];

	if (get(m, b, 4) == -1)
		return -1;
	*v = be32_get(b);
	return 0;
}

int
imsg_get_u64(struct imsg *m, uint64_t *v)
{
	uint8_t b[8];

	if (get(m, b, 8) == -1)
		return -1;
	*v = be64_get(b);
	return 0;
}

int
imsg_get_str(struct imsg *m, char *dst, size_t dstlen)
{
	uint8_t b[2];
	size_t n;

	if (get(m, b, 2) == -1)
		return -1;
	n = be16_get(b);
	if (n >= dstlen) {
		m->bad = 1;
		return -1;
	}
	if (get(m, dst, n) == -1)
		return -1;
	dst[n] = '\0';
	return 0;
}

int
imsg_end(struct imsg *m, const char *func)
{
	if (!m->bad && m->pos == m->len)
		return 0;
	log_warnx("%s: bad %s message (%zu bytes, %s)", func,
	    imsg_type_name(m->type), m->len,
	    m->bad ? "too short" : "bytes left over");
	return -1;
}
