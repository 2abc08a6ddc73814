/*
 * imsg.c - the messages between the supervisor and its children: the
 * framing, each type's encoder and decoder side by side, and the table
 * of who may send what.  See imsg.h.
 *
 * SOCK_SEQPACKET keeps message boundaries, so one recv() is one message;
 * the length in the header is still checked against what arrived.  A
 * decoder reads its fields with get(), which marks the message bad when
 * it runs short, and returns why a value is out of range, or NULL;
 * decode() then insists that the body was read exactly.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "imsg.h"

#define IMSG_HDR	8

static struct imsg out;		/* what the encoders build */

/* A message of type without a body, in out: every encoder starts here. */
struct imsg *
imsg_empty(enum imsg_type type)
{
	out.len = IMSG_HDR;
	out.pos = IMSG_HDR;
	out.type = type;
	out.bad = 0;
	return &out;
}

/* Append v as n (1, 2, 4 or 8) big-endian bytes. */
static void
put(struct imsg *m, uint64_t v, size_t n)
{
	uint8_t *p = m->buf + m->len;

	if (m->bad || n > sizeof(m->buf) - m->len) {
		m->bad = 1;
		return;
	}
	if (n == 1)
		*p = (uint8_t)v;
	else if (n == 2)
		be16_put(p, (uint16_t)v);
	else if (n == 4)
		be32_put(p, (uint32_t)v);
	else
		be64_put(p, v);
	m->len += n;
}

/* A string of at most 65535 bytes: u16 length, no NUL on the wire. */
static void
put_str(struct imsg *m, const char *s)
{
	size_t n = strlen(s);

	put(m, n, 2);
	if (m->bad || n > 0xffff || n > sizeof(m->buf) - m->len) {
		m->bad = 1;
		return;
	}
	memcpy(m->buf + m->len, s, n);
	m->len += n;
}

/* The next n (1, 2, 4 or 8) big-endian bytes; 0 when m runs short. */
static uint64_t
get(struct imsg *m, size_t n)
{
	const uint8_t *p = m->buf + m->pos;

	/* pos <= len always holds, so the subtraction cannot wrap. */
	if (m->bad || n > m->len - m->pos) {
		m->bad = 1;
		return 0;
	}
	m->pos += n;
	return n == 1 ? *p : n == 2 ? be16_get(p) : n == 4 ? be32_get(p) :
	    be64_get(p);
}

/* A string into dst (NUL-terminated); m is bad when it does not fit. */
static void
get_str(struct imsg *m, char *dst, size_t dstlen)
{
	size_t n = get(m, 2);

	dst[0] = '\0';
	if (m->bad || n >= dstlen || n > m->len - m->pos) {
		m->bad = 1;
		return;
	}
	memcpy(dst, m->buf + m->pos, n);
	dst[n] = '\0';
	m->pos += n;
}

/* BUSY: the peer of the session the worker started. */
struct imsg *
imsg_busy(const char *peer)
{
	put_str(imsg_empty(IMSG_BUSY), peer);
	return &out;
}

static const char *
get_busy(struct imsg *m, union imsg_body *b)
{
	get_str(m, b->busy.peer, sizeof(b->busy.peer));
	return NULL;
}

/* STATUS_REQ: a request id, so that a late reply is told apart. */
struct imsg *
imsg_status_req(uint32_t id)
{
	put(imsg_empty(IMSG_STATUS_REQ), id, 4);
	return &out;
}

static const char *
get_status_req(struct imsg *m, union imsg_body *b)
{
	b->status_req.id = (uint32_t)get(m, 4);
	return NULL;
}

/* STATUS_REPLY: the pool, then n rows of one worker each. */
struct imsg *
imsg_status(const struct imsg_status *r)
{
	put(imsg_empty(IMSG_STATUS_REPLY), r->id, 4);
	put(&out, r->uptime, 8);
	put(&out, r->pool, 4);
	put(&out, r->served, 8);
	put(&out, r->n, 4);
	for (uint32_t i = 0; i < r->n; i++) {
		put(&out, r->w[i].pid, 4);
		put(&out, r->w[i].state, 1);
		put(&out, r->w[i].retiring, 1);
		put(&out, r->w[i].since, 8);
		put_str(&out, r->w[i].peer);
	}
	return &out;
}

static const char *
get_status(struct imsg *m, union imsg_body *b)
{
	struct imsg_status *r = &b->status;

	r->id = (uint32_t)get(m, 4);
	r->uptime = get(m, 8);
	r->pool = (uint32_t)get(m, 4);
	r->served = get(m, 8);
	if ((r->n = (uint32_t)get(m, 4)) > IMSG_STATUS_MAX)
		return "too many workers";
	for (uint32_t i = 0; i < r->n && !m->bad; i++) {
		r->w[i].pid = (uint32_t)get(m, 4);
		if ((r->w[i].state = (uint8_t)get(m, 1)) >= CS_NSTATES)
			return "unknown worker state";
		r->w[i].retiring = (uint8_t)get(m, 1);
		r->w[i].since = get(m, 8);
		get_str(m, r->w[i].peer, sizeof(r->w[i].peer));
	}
	return NULL;
}

/* HK_RUN: the housekeeping job to start now. */
struct imsg *
imsg_hk_run(enum hk_job job)
{
	put(imsg_empty(IMSG_HK_RUN), job, 1);
	return &out;
}

static const char *
get_hk_run(struct imsg *m, union imsg_body *b)
{
	if ((b->hk_run.job = (uint8_t)get(m, 1)) >= HK_NJOBS)
		return "unknown job";
	return NULL;
}

#define K(kind)		(1u << (kind))
#define ALL		(K(NKINDS) - 1)

/*
 * The types: up, the kinds that may send it to the supervisor; down,
 * the kinds the supervisor sends it to; get, its decoder (NULL: no body).
 */
static const struct imsg_row {
	const char	*name;
	unsigned	 up, down;
	const char	*(*get)(struct imsg *, union imsg_body *);
} types[IMSG_TYPE_MAX] = {
	[IMSG_READY] = { "READY", ALL, 0, NULL },
	[IMSG_BUSY] = { "BUSY", K(KIND_WORKER), 0, get_busy },
	[IMSG_IDLE] = { "IDLE", K(KIND_WORKER), 0, NULL },
	[IMSG_SESSION_END] = { "SESSION_END", K(KIND_WORKER), 0, NULL },
	[IMSG_STATUS_REQ] = { "STATUS_REQ", K(KIND_UIBRIDGE), 0,
	    get_status_req },
	[IMSG_STATUS_REPLY] = { "STATUS_REPLY", 0, K(KIND_UIBRIDGE),
	    get_status },
	[IMSG_SHUTDOWN] = { "SHUTDOWN", 0, ALL, NULL },
	[IMSG_LOG_REOPEN] = { "LOG_REOPEN", 0, ALL, NULL },
	[IMSG_HK_RUN] = { "HK_RUN", K(KIND_UIBRIDGE), K(KIND_HOUSEKEEPER),
	    get_hk_run },
};

int
imsg_send(int fd, struct imsg *m, int nonblock)
{
	ssize_t n;

	if (m->bad) {
		errno = EMSGSIZE;
		return -1;
	}
	be32_put(m->buf, (uint32_t)m->len);
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

	do {
		n = recv(fd, m->buf, sizeof(m->buf), MSG_DONTWAIT | MSG_TRUNC);
	} while (n == -1 && errno == EINTR);
	if (n <= 0)
		return (int)n;
	if ((size_t)n > sizeof(m->buf) || n < IMSG_HDR ||
	    be32_get(m->buf) != (size_t)n || be16_get(m->buf + 6) != 0) {
		errno = EBADMSG;
		return -1;
	}
	m->len = (size_t)n;
	m->pos = IMSG_HDR;
	m->type = be16_get(m->buf + 4);
	m->bad = 0;
	return 1;
}

/* The row of type, or NULL when the table has none. */
static const struct imsg_row *
row(int type)
{
	if (type <= 0 || type >= IMSG_TYPE_MAX || types[type].name == NULL)
		return NULL;
	return &types[type];
}

const char *
imsg_name(int type)
{
	return row(type) != NULL ? types[type].name : "unknown";
}

/* Decode m's body (of type t) into *b: 0, or -1 with why in err. */
static int
decode(const struct imsg_row *t, struct imsg *m, union imsg_body *b,
    char *err, size_t errlen)
{
	const char *why = t->get != NULL ? t->get(m, b) : NULL;

	if (why == NULL && !m->bad && m->pos == m->len)
		return 0;
	snprintf(err, errlen, "bad %s message (%zu bytes, %s)", t->name,
	    m->len, why != NULL ? why : m->bad ? "too short" :
	    "bytes left over");
	return -1;
}

int
imsg_from_child(enum child_kind kind, struct imsg *m, union imsg_body *b,
    char *err, size_t errlen)
{
	const struct imsg_row *t = row(m->type);

	if (t == NULL) {
		snprintf(err, errlen, "unknown message type %d", m->type);
		return -1;
	}
	if (!(t->up & K(kind))) {
		snprintf(err, errlen, "may not send %s", t->name);
		return -1;
	}
	return decode(t, m, b, err, errlen);
}

int
imsg_to_child(enum child_kind kind, struct imsg *m, union imsg_body *b,
    char *err, size_t errlen)
{
	const struct imsg_row *t = row(m->type);

	if (t == NULL || !(t->down & K(kind))) {
		snprintf(err, errlen, "unexpected %s message",
		    imsg_name(m->type));
		return -1;
	}
	return decode(t, m, b, err, errlen);
}
