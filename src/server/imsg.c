/*
 * imsg.c - the messages between the supervisor and its children: the
 * framing, each type's body, and the table of who may send what.  See
 * imsg.h.
 *
 * A body is written once for both ways, as XDR does: the same function
 * puts its fields when a message is built and gets them when one is
 * read, so writer and reader cannot disagree.  A field that does not
 * fit marks the message bad; a received body is read through
 * common/reader.h, whose first error sticks.  The body function returns
 * why a value is out of range, or NULL; decode() then insists that the
 * body was read exactly.  SOCK_SEQPACKET keeps message boundaries, so
 * one recv() is one message; the length in the header is still checked
 * against it.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "imsg.h"

#define IMSG_HDR	8	/* u32 length, u16 type, u16 zero */
#define FIELD(m, x)	field((m), &(x), sizeof(x))
/* What is left of m to build: len <= IMSG_MAX holds. */
#define ROOM(m)		(IMSG_MAX - (m)->len)
/* 1 when a field of m did not fit (built) or could not be read. */
#define FAILED(m)	((m)->reading ? rd_error(&(m)->rd) != RD_OK : (m)->bad)

static struct imsg out;		/* what the encoders build */

struct imsg *
imsg_empty(enum imsg_type type)
{
	out.len = IMSG_HDR;
	rd_init(&out.rd, out.buf + IMSG_HDR, 0);
	out.type = type;
	out.bad = out.reading = 0;
	return &out;
}

/*
 * The unsigned integer of n (1, 2, 4 or 8) bytes at v, big-endian on the
 * wire: put when m is built, got (0 when m runs short) when it is read.
 */
static void
field(struct imsg *m, void *v, size_t n)
{
	uint8_t *p = m->buf + m->len;

	if (m->reading) {
		if (n == 1)
			rd_get_u8(&m->rd, v);
		else if (n == 2)
			rd_get_u16(&m->rd, v);
		else if (n == 4)
			rd_get_u32(&m->rd, v);
		else
			rd_get_u64(&m->rd, v);
		return;
	}
	if (m->bad || n > ROOM(m)) {
		m->bad = 1;
		return;
	}
	if (n == 1)
		*p = *(uint8_t *)v;
	else if (n == 2)
		be16_put(p, *(uint16_t *)v);
	else if (n == 4)
		be32_put(p, *(uint32_t *)v);
	else
		be64_put(p, *(uint64_t *)v);
	m->len += n;
}

/* The string in s[size]: a u16 length, then its bytes without the NUL. */
static void
field_str(struct imsg *m, char *s, size_t size)
{
	uint16_t n;

	if (m->reading) {
		rd_get_str16(&m->rd, s, size, size - 1);
		return;
	}
	n = (uint16_t)strlen(s);
	FIELD(m, n);
	if (m->bad || n >= size || n > ROOM(m)) {
		m->bad = 1;
		return;
	}
	memcpy(m->buf + m->len, s, n);
	m->len += n;
}

/* BUSY: the peer of the session the worker started. */
static const char *
busy(struct imsg *m, void *v)
{
	struct imsg_busy *b = v;

	field_str(m, b->peer, sizeof(b->peer));
	return NULL;
}

/* STATUS_REQ: a request id, so that a late reply is told apart. */
static const char *
status_req(struct imsg *m, void *v)
{
	struct imsg_status_req *r = v;

	FIELD(m, r->id);
	return NULL;
}

/* STATUS_REPLY: the pool, then n rows of one worker each. */
static const char *
status(struct imsg *m, void *v)
{
	struct imsg_status *r = v;

	FIELD(m, r->id);
	FIELD(m, r->uptime);
	FIELD(m, r->pool);
	FIELD(m, r->served);
	FIELD(m, r->n);
	if (r->n > IMSG_STATUS_MAX)
		return "too many workers";
	for (uint32_t i = 0; i < r->n && !FAILED(m); i++) {
		struct imsg_worker *w = &r->w[i];

		FIELD(m, w->pid);
		FIELD(m, w->state);
		if (w->state >= CS_NSTATES)
			return "unknown worker state";
		FIELD(m, w->retiring);
		FIELD(m, w->since);
		field_str(m, w->peer, sizeof(w->peer));
	}
	return NULL;
}

/* HK_RUN: the housekeeping job to start now. */
static const char *
hk_run(struct imsg *m, void *v)
{
	struct imsg_hk_run *h = v;

	FIELD(m, h->job);
	field_str(m, h->by, sizeof(h->by));
	return h->job < HK_NJOBS ? NULL : "unknown job";
}

/* LEASE: the lease child's state and why. */
static const char *
lease(struct imsg *m, void *v)
{
	struct imsg_lease *l = v;

	FIELD(m, l->state);
	field_str(m, l->why, sizeof(l->why));
	return l->state < LS_NSTATES ? NULL : "unknown lease state";
}

#define K(kind)		(1u << (kind))
#define ALL		(K(NKINDS) - 1)

/*
 * The types: up, the kinds that may send it to the supervisor; down,
 * the kinds the supervisor sends it to; body, its fields (NULL: none).
 */
static const struct imsg_row {
	const char	*name;
	unsigned	 up, down;
	const char	*(*body)(struct imsg *, void *);
} types[IMSG_TYPE_MAX] = {
	[IMSG_READY] = { "READY", ALL, 0, NULL },
	[IMSG_BUSY] = { "BUSY", K(KIND_WORKER), 0, busy },
	[IMSG_IDLE] = { "IDLE", K(KIND_WORKER), 0, NULL },
	[IMSG_SESSION_END] = { "SESSION_END", K(KIND_WORKER), 0, NULL },
	[IMSG_STATUS_REQ] = { "STATUS_REQ", K(KIND_UIBRIDGE), 0, status_req },
	[IMSG_STATUS_REPLY] = { "STATUS_REPLY", 0, K(KIND_UIBRIDGE), status },
	[IMSG_SHUTDOWN] = { "SHUTDOWN", 0, ALL, NULL },
	[IMSG_LOG_REOPEN] = { "LOG_REOPEN", 0, ALL, NULL },
	[IMSG_HK_RUN] = { "HK_RUN", K(KIND_UIBRIDGE), K(KIND_HOUSEKEEPER),
	    hk_run },
	[IMSG_LEASE] = { "LEASE", K(KIND_LEASE), K(KIND_WORKER) |
	    K(KIND_HOUSEKEEPER) | K(KIND_UIBRIDGE), lease },
};

/* A message of type with the body at v, in out; bad when out of range. */
static struct imsg *
encode(enum imsg_type type, void *v)
{
	if (types[type].body(imsg_empty(type), v) != NULL)
		out.bad = 1;
	return &out;
}

struct imsg *
imsg_busy(const char *peer)
{
	struct imsg_busy b;

	snprintf(b.peer, sizeof(b.peer), "%s", peer);
	return encode(IMSG_BUSY, &b);
}

struct imsg *
imsg_status_req(uint32_t id)
{
	return encode(IMSG_STATUS_REQ, &(struct imsg_status_req){ id });
}

struct imsg *
imsg_status(struct imsg_status *r)
{
	return encode(IMSG_STATUS_REPLY, r);
}

struct imsg *
imsg_hk_run(enum hk_job job)
{
	return imsg_hk_run_by(job, "");
}

struct imsg *
imsg_hk_run_by(enum hk_job job, const char *by)
{
	struct imsg_hk_run h;

	h.job = (uint8_t)job;
	snprintf(h.by, sizeof(h.by), "%s", by);
	return encode(IMSG_HK_RUN, &h);
}

struct imsg *
imsg_lease(enum lease_state state, const char *why)
{
	struct imsg_lease l;

	l.state = (uint8_t)state;
	snprintf(l.why, sizeof(l.why), "%s", why);
	return encode(IMSG_LEASE, &l);
}

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
	rd_init(&m->rd, m->buf + IMSG_HDR, m->len - IMSG_HDR);
	m->type = be16_get(m->buf + 4);
	m->bad = 0;
	m->reading = 1;
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
	const char *why = t->body != NULL ? t->body(m, b) : NULL;
	int e;

	if (why == NULL && rd_end(&m->rd) == 0)
		return 0;
	e = rd_error(&m->rd);
	snprintf(err, errlen, "bad %s message (%zu bytes, %s)", t->name,
	    m->len, why != NULL ? why : e == RD_ERR_TRUNCATED ? "too short" :
	    rd_strerror(e));
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
