/*
 * unit-imsg.c - TAP unit tests of src/server/imsg.c: which kind of child
 * may send which message to the supervisor, and is sent which, for every
 * kind and type; and every message survives encode, the socketpair and
 * decode, while a body one byte short, one byte long or out of range is
 * refused with its reason.  Run by t/00-unit-imsg.t.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "server/imsg.h"
#include "tap.h"

#define ALL	((1u << NKINDS) - 1)	/* every kind */
#define UI	(1u << KIND_UIBRIDGE)
#define WK	(1u << KIND_WORKER)
#define HK	(1u << KIND_HOUSEKEEPER)
#define LS	(1u << KIND_LEASE)

static const char *const kind_names[NKINDS] = {
	[KIND_UIBRIDGE] = "uibridge", [KIND_WORKER] = "worker",
	[KIND_HOUSEKEEPER] = "housekeeper", [KIND_DISCOVERY] = "discovery",
	[KIND_ACCEPTOR] = "acceptor", [KIND_LEASE] = "lease",
};

/* What the table must say, written out again: up may send, down is sent. */
static const struct {
	int		 type;
	const char	*name;
	unsigned	 up, down;
} want[] = {
	{ IMSG_READY,		"READY",	ALL,	0 },
	{ IMSG_BUSY,		"BUSY",		WK,	0 },
	{ IMSG_IDLE,		"IDLE",		WK,	0 },
	{ IMSG_SESSION_END,	"SESSION_END",	WK,	0 },
	{ IMSG_STATUS_REQ,	"STATUS_REQ",	UI,	0 },
	{ IMSG_STATUS_REPLY,	"STATUS_REPLY",	0,	UI },
	{ IMSG_SHUTDOWN,	"SHUTDOWN",	0,	ALL },
	{ IMSG_LOG_REOPEN,	"LOG_REOPEN",	0,	ALL },
	{ IMSG_HK_RUN,		"HK_RUN",	UI,	HK },
	{ IMSG_LEASE,		"LEASE",	LS,	WK | HK | UI },
};
#define NWANT	(sizeof(want) / sizeof(want[0]))

static int sv[2];		/* the supervisor's end, the child's end */
static struct imsg_status reply;
static union imsg_body u;
static char err[256];

/* A well-formed message of type. */
static struct imsg *
valid(int type)
{
	switch (type) {
	case IMSG_BUSY:
		return imsg_busy("[2001:db8::1]:40000");
	case IMSG_STATUS_REQ:
		return imsg_status_req(7);
	case IMSG_STATUS_REPLY:
		memset(&reply, 0, sizeof(reply));
		reply.id = 7;
		reply.uptime = 86400;
		reply.pool = 4;
		reply.served = 1ULL << 40;
		reply.n = 2;
		reply.w[0] = (struct imsg_worker){ 101, CS_BUSY, 0,
		    1700000000, "10.0.0.1:5000" };
		reply.w[1] = (struct imsg_worker){ 102, CS_IDLE, 1,
		    1700000001, "" };
		return imsg_status(&reply);
	case IMSG_HK_RUN:
		return imsg_hk_run(HK_SCRUB);
	case IMSG_LEASE:
		return imsg_lease(LS_WAITING, "waiting for the bucket's lease: "
		    "held by b (server 00ff), generation 2");
	}
	return imsg_empty(type);
}

/* m after the trip through the socketpair, as its receiver sees it. */
static struct imsg *
carry(struct imsg *m)
{
	static struct imsg in;

	memset(&in, 0, sizeof(in));
	if (imsg_send(sv[0], m, 0) == -1 || imsg_recv(sv[1], &in) != 1)
		in.type = -1;
	return &in;
}

/* The first kind in mask. */
static enum child_kind
first(unsigned mask)
{
	enum child_kind k = 0;

	while (!(mask & (1u << k)))
		k++;
	return k;
}

/* Decode m in a direction the table allows for type: up if it may. */
static int
decode(size_t i, struct imsg *m)
{
	if (want[i].up != 0)
		return imsg_from_child(first(want[i].up), m, &u, err,
		    sizeof(err));
	return imsg_to_child(first(want[i].down), m, &u, err, sizeof(err));
}

/* Whether two replies say the same, field by field. */
static int
same(const struct imsg_status *a, const struct imsg_status *b)
{
	if (a->id != b->id || a->uptime != b->uptime || a->pool != b->pool ||
	    a->served != b->served || a->n != b->n)
		return 0;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->w[i].pid != b->w[i].pid ||
		    a->w[i].state != b->w[i].state ||
		    a->w[i].retiring != b->w[i].retiring ||
		    a->w[i].since != b->w[i].since ||
		    strcmp(a->w[i].peer, b->w[i].peer) != 0)
			return 0;
	return 1;
}

static void
test_table(void)
{
	static const int unknown[] = { 0, IMSG_TYPE_MAX, 0xffff };
	char name[128];

	for (size_t i = 0; i < NWANT; i++) {
		ok(strcmp(imsg_name(want[i].type), want[i].name) == 0,
		    want[i].name);
		for (int k = 0; k < NKINDS; k++) {
			int up = (want[i].up >> k) & 1;
			int down = (want[i].down >> k) & 1;

			snprintf(name, sizeof(name), "%s %s send %s",
			    kind_names[k], up ? "may" : "may not",
			    want[i].name);
			ok((imsg_from_child(k, carry(valid(want[i].type)), &u,
			    err, sizeof(err)) == 0) == up, name);
			if (!up) {
				snprintf(name, sizeof(name), "may not send %s",
				    want[i].name);
				ok(strcmp(err, name) == 0, name);
			}
			snprintf(name, sizeof(name), "%s %s sent %s",
			    kind_names[k], down ? "is" : "is not",
			    want[i].name);
			ok((imsg_to_child(k, carry(valid(want[i].type)), &u,
			    err, sizeof(err)) == 0) == down, name);
			if (!down) {
				snprintf(name, sizeof(name),
				    "unexpected %s message", want[i].name);
				ok(strcmp(err, name) == 0, name);
			}
		}
	}
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		int t = unknown[i];

		snprintf(name, sizeof(name), "unknown message type %d", t);
		ok(imsg_from_child(KIND_WORKER, carry(imsg_empty(t)), &u, err,
		    sizeof(err)) == -1 && strcmp(err, name) == 0, name);
		ok(imsg_to_child(KIND_WORKER, carry(imsg_empty(t)), &u, err,
		    sizeof(err)) == -1 &&
		    strcmp(err, "unexpected unknown message") == 0,
		    "a child refuses an unknown type");
		ok(strcmp(imsg_name(t), "unknown") == 0, "its name: unknown");
	}
}

/* Every type decodes exactly; one byte short or long is refused. */
static void
test_lengths(void)
{
	static struct imsg m;
	char name[128], want_err[128];

	for (size_t i = 0; i < NWANT; i++) {
		m = *valid(want[i].type);
		snprintf(name, sizeof(name), "%s decodes", want[i].name);
		ok(decode(i, carry(&m)) == 0, name);

		m.buf[m.len++] = 0;
		snprintf(want_err, sizeof(want_err), "bad %s message (%zu "
		    "bytes, bytes left over)", want[i].name, m.len);
		ok(decode(i, carry(&m)) == -1 && strcmp(err, want_err) == 0,
		    want_err);

		if ((m.len -= 2) < 8)	/* no body to cut */
			continue;
		snprintf(want_err, sizeof(want_err), "bad %s message (%zu "
		    "bytes, too short)", want[i].name, m.len);
		ok(decode(i, carry(&m)) == -1 && strcmp(err, want_err) == 0,
		    want_err);
	}
}

/* The values come back; an out-of-range one is never sent, nor taken. */
static void
test_values(void)
{
	char peer[IMSG_PEER_MAX + 1];
	struct imsg *m;

	ok(imsg_from_child(KIND_WORKER, carry(valid(IMSG_BUSY)), &u, err,
	    sizeof(err)) == 0 && strcmp(u.busy.peer, "[2001:db8::1]:40000") ==
	    0, "BUSY: the peer");
	memset(peer, 'x', IMSG_PEER_MAX);
	peer[IMSG_PEER_MAX] = '\0';
	ok(imsg_from_child(KIND_WORKER, carry(imsg_busy(peer)), &u, err,
	    sizeof(err)) == 0 && strlen(u.busy.peer) == IMSG_PEER_MAX - 1,
	    "BUSY: a peer of IMSG_PEER_MAX bytes is cut by one");
	m = imsg_busy("");
	m->buf[9] = IMSG_PEER_MAX;	/* the peer's length */
	memset(m->buf + 10, 'y', IMSG_PEER_MAX);
	m->len += IMSG_PEER_MAX;
	ok(imsg_from_child(KIND_WORKER, carry(m), &u, err, sizeof(err)) == -1,
	    "BUSY: a peer of IMSG_PEER_MAX bytes on the wire refused");
	m = imsg_busy("ab");
	m->buf[11] = '\0';		/* the peer's second byte */
	ok(imsg_from_child(KIND_WORKER, carry(m), &u, err, sizeof(err)) ==
	    -1 && strcmp(err, "bad BUSY message (12 bytes, bad string)") == 0,
	    "BUSY: a NUL inside the peer refused");

	ok(imsg_from_child(KIND_UIBRIDGE, carry(valid(IMSG_STATUS_REQ)), &u,
	    err, sizeof(err)) == 0 && u.status_req.id == 7, "STATUS_REQ: id");

	ok(imsg_to_child(KIND_UIBRIDGE, carry(valid(IMSG_STATUS_REPLY)), &u,
	    err, sizeof(err)) == 0 && same(&u.status, &reply),
	    "STATUS_REPLY: every field of the pool and both rows");
	m = imsg_status(&reply);
	m->buf[8 + 4 + 8 + 4 + 8 + 4 + 4] = CS_NSTATES;	/* w[0].state */
	ok(imsg_to_child(KIND_UIBRIDGE, carry(m), &u, err, sizeof(err)) ==
	    -1 && strstr(err, "unknown worker state"),
	    "STATUS_REPLY: a worker state out of range refused");
	m = imsg_status(&reply);
	be32_put(m->buf + 8 + 4 + 8 + 4 + 8, IMSG_STATUS_MAX + 1);	/* n */
	ok(imsg_to_child(KIND_UIBRIDGE, carry(m), &u, err, sizeof(err)) ==
	    -1 && strstr(err, "too many workers"),
	    "STATUS_REPLY: more than IMSG_STATUS_MAX rows refused");
	reply.n = IMSG_STATUS_MAX;
	for (uint32_t i = 0; i < reply.n; i++) {
		reply.w[i].pid = i + 1;
		reply.w[i].state = CS_BUSY;
		memset(reply.w[i].peer, 'p', IMSG_PEER_MAX - 1);
	}
	ok(imsg_to_child(KIND_UIBRIDGE, carry(imsg_status(&reply)), &u,
	    err, sizeof(err)) == 0 && u.status.n == IMSG_STATUS_MAX &&
	    same(&u.status, &reply),
	    "STATUS_REPLY: IMSG_STATUS_MAX rows with the longest peers fit");
	reply.w[3].state = CS_NSTATES;
	ok(imsg_send(sv[0], imsg_status(&reply), 0) == -1 &&
	    errno == EMSGSIZE, "STATUS_REPLY: a state out of range not sent");
	reply.w[3].state = CS_IDLE;
	reply.n = IMSG_STATUS_MAX + 1;
	ok(imsg_send(sv[0], imsg_status(&reply), 0) == -1 &&
	    errno == EMSGSIZE, "STATUS_REPLY: too many rows not sent");

	ok(imsg_from_child(KIND_UIBRIDGE, carry(valid(IMSG_HK_RUN)), &u, err,
	    sizeof(err)) == 0 && u.hk_run.job == HK_SCRUB, "HK_RUN: job");
	ok(imsg_send(sv[0], imsg_hk_run(HK_NJOBS), 0) == -1 &&
	    errno == EMSGSIZE, "HK_RUN: an unknown job not sent");
	m = imsg_hk_run(HK_PRUNE);
	m->buf[8] = HK_NJOBS;
	ok(imsg_to_child(KIND_HOUSEKEEPER, carry(m), &u, err, sizeof(err)) ==
	    -1 && strcmp(err, "bad HK_RUN message (11 bytes, unknown job)") ==
	    0, "HK_RUN: an unknown job refused");
	ok(imsg_to_child(KIND_HOUSEKEEPER, carry(imsg_hk_run_by(HK_PRUNE,
	    "console: alice")), &u, err, sizeof(err)) == 0 &&
	    u.hk_run.job == HK_PRUNE &&
	    strcmp(u.hk_run.by, "console: alice") == 0,
	    "HK_RUN: who asked for it");

	ok(imsg_from_child(KIND_LEASE, carry(valid(IMSG_LEASE)), &u, err,
	    sizeof(err)) == 0 && u.lease.state == LS_WAITING &&
	    strcmp(u.lease.why, "waiting for the bucket's lease: held by b "
	    "(server 00ff), generation 2") == 0, "LEASE: state and why");
	ok(imsg_send(sv[0], imsg_lease(LS_NSTATES, ""), 0) == -1 &&
	    errno == EMSGSIZE, "LEASE: an unknown state not sent");
	m = imsg_lease(LS_HELD, "");
	m->buf[8] = LS_NSTATES;
	ok(imsg_to_child(KIND_WORKER, carry(m), &u, err, sizeof(err)) ==
	    -1 && strcmp(err, "bad LEASE message (11 bytes, unknown lease "
	    "state)") == 0, "LEASE: an unknown state refused");
	{
		char why[IMSG_LEASE_WHY_MAX + 10];

		memset(why, 'x', sizeof(why) - 1);
		why[sizeof(why) - 1] = '\0';
		ok(imsg_to_child(KIND_WORKER, carry(imsg_lease(LS_LOST, why)),
		    &u, err, sizeof(err)) == 0 &&
		    strlen(u.lease.why) == IMSG_LEASE_WHY_MAX - 1,
		    "LEASE: a long why is cut to fit");
	}
}

int
main(void)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1) {
		perror("socketpair");
		return 1;
	}
	test_table();
	test_lengths();
	test_values();
	return tap_done();
}
