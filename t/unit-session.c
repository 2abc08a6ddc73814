/*
 * unit-session.c - TAP unit tests of session_admit() (src/server/session.c):
 * every frame type, known or not, in every session state gets the verdict
 * doc/protocol.md gives ("What the server checks, and when"), and every
 * payload limit admits its largest payload and refuses one byte more.
 * The expectations are written out here again, numbers and messages, not
 * taken from the table under test.  Run by t/00-unit-session.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "server/session.h"
#include "tap.h"

#define MAX_FRAME	(1u << 20)	/* larger than every fixed limit */

/* Every type of enum wire_type, with the name the messages give it. */
static const struct {
	uint16_t	 type;
	const char	*name;
} types[] = {
	{ 0x0001, "CLIENT_HELLO" }, { 0x0002, "SERVER_HELLO" },
	{ 0x0003, "PING" }, { 0x0004, "PONG" }, { 0x0005, "BYE" },
	{ 0x0010, "REGISTER" }, { 0x0011, "REGISTERED" },
	{ 0x0012, "AUTH" }, { 0x0013, "CHALLENGE" }, { 0x0014, "PROOF" },
	{ 0x0015, "AUTH_OK" }, { 0x0016, "CERT_REQUEST" },
	{ 0x0017, "CERT" }, { 0x0020, "HAVE" }, { 0x0021, "MISSING" },
	{ 0x0022, "PUT" }, { 0x0023, "REFS" }, { 0x0024, "COMMIT" },
	{ 0x0025, "COMMITTED" }, { 0x0026, "FORGET" },
	{ 0x0027, "FORGOTTEN" }, { 0x0028, "PUT_LINKED" },
	{ 0x0030, "LIST" }, { 0x0031, "SNAPSHOTS" },
	{ 0x0032, "GET" }, { 0x0033, "BLOB" }, { 0x0034, "NOBLOB" },
	{ 0x0035, "LBLOB" }, { 0x0040, "JOB_REPORT" },
	{ 0x0041, "JOB_REPORTED" }, { 0x0042, "AGENT_POLL" },
	{ 0x0043, "AGENT_REQUESTS" }, { 0x0044, "AGENT_ANSWER" },
	{ 0x0045, "AGENT_ANSWERED" }, { 0x00ff, "ERROR" },
};

/* Types that are no frame at all, around and between the known ones. */
static const uint16_t unknown[] = {
	0x0000, 0x0006, 0x000f, 0x0018, 0x001f, 0x0029, 0x002f, 0x0036,
	0x003f, 0x0046, 0x00fe, 0x0100, 0x1234, 0xffff,
};

static const char *const states[] = { "NONE", "CHALLENGED", "DONE" };

/*
 * The verdict doc/protocol.md gives for an empty frame of type (named
 * name, NULL when unknown) in state st: 0 or the error code, with the
 * message in why.
 */
static int
expected(enum session_auth st, uint16_t type, const char *name, char *why,
    size_t whylen)
{
	switch (type) {
	case 0x0003:		/* PING */
	case 0x0005:		/* BYE */
	case 0x0010:		/* REGISTER */
	case 0x0016:		/* CERT_REQUEST (its handler wants REGISTER) */
		return 0;
	case 0x0012:		/* AUTH */
		if (st == AUTH_NONE)
			return 0;
		snprintf(why, whylen, "unexpected frame type 0x0012 (AUTH): "
		    "already authenticating");
		return 3;
	case 0x0014:		/* PROOF */
		if (st == AUTH_CHALLENGED)
			return 0;
		snprintf(why, whylen, "unexpected frame type 0x0014 (PROOF): "
		    "no CHALLENGE outstanding");
		return 3;
	case 0x0020: case 0x0022: case 0x0023: case 0x0024:
	case 0x0026: case 0x0028: case 0x0030: case 0x0032:
	case 0x0040: case 0x0042:	/* JOB_REPORT, AGENT_POLL */
	case 0x0044:			/* AGENT_ANSWER */
		if (st == AUTH_DONE)
			return 0;
		snprintf(why, whylen, "not authenticated: %s needs AUTH first",
		    name);
		return 8;
	}
	if (name != NULL)
		snprintf(why, whylen, "unexpected frame type 0x%04x (%s)",
		    type, name);
	else
		snprintf(why, whylen, "unknown frame type 0x%04x", type);
	return 3;
}

/* Check session_admit() against code and message want (0: admitted). */
static void
check(enum session_auth st, uint16_t type, uint32_t len, uint16_t flags,
    uint32_t max_frame, int want, const char *wantwhy, const char *what)
{
	struct wire_hdr h = { len, type, flags };
	/* Not NULL: a refusal must clear it. */
	const struct session_frame *row = (const void *)&h;
	char why[200], name[300];
	int code, good;

	code = session_admit(st, &h, max_frame, &row, why, sizeof(why));
	if (want == 0)
		good = code == 0 && row != NULL;
	else
		good = code == want && row == NULL &&
		    strcmp(why, wantwhy) == 0;
	snprintf(name, sizeof(name), "%s in %s: %s", what, states[st],
	    want == 0 ? "admitted" : wantwhy);
	ok(good, name);
	if (!good && code == 0)
		printf("# got: admitted\n");
	else if (!good)
		printf("# got code %d: %s\n", code, why);
}

/* Every (state, type) pair, with an empty payload. */
static void
test_states(void)
{
	char what[32], why[200];
	int want;

	for (int st = AUTH_NONE; st <= AUTH_DONE; st++) {
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			want = expected(st, types[i].type, types[i].name, why,
			    sizeof(why));
			check(st, types[i].type, 0, 0, MAX_FRAME, want, why,
			    types[i].name);
		}
		for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]);
		    i++) {
			uint16_t t = unknown[i];

			want = expected(st, t, NULL, why, sizeof(why));
			snprintf(what, sizeof(what), "type 0x%04x", t);
			check(st, t, 0, 0, MAX_FRAME, want, why, what);
		}
	}
}

/*
 * Each frame a client sends at its largest payload (doc/protocol.md,
 * the table of largest payloads) and one byte over, in a state that
 * admits it.
 */
static void
test_limits(void)
{
	static const struct {
		uint16_t	 type;
		const char	*name;
		enum session_auth st;
		uint32_t	 max;
		int		 code;	/* of one byte more */
	} limits[] = {
		{ 0x0003, "PING", AUTH_NONE, 64, 1 },
		{ 0x0005, "BYE", AUTH_DONE, 0, 1 },
		{ 0x0010, "REGISTER", AUTH_NONE, 2 + 128, 9 },
		{ 0x0016, "CERT_REQUEST", AUTH_NONE, 4096, 9 },
		{ 0x0012, "AUTH", AUTH_NONE, 2 + 64, 9 },
		{ 0x0014, "PROOF", AUTH_CHALLENGED, 32, 1 },
		{ 0x0020, "HAVE", AUTH_DONE, 4 + 4096 * 32, 9 },
		{ 0x0023, "REFS", AUTH_DONE, 4 + 4096 * 32, 9 },
		{ 0x0032, "GET", AUTH_DONE, 4 + 4096 * 32, 9 },
		{ 0x0024, "COMMIT", AUTH_DONE, 2 + 64 + 8 + 32 + 32 + 8 + 8,
		    9 },
		{ 0x0030, "LIST", AUTH_DONE, 2 + 64 + 8, 9 },
		{ 0x0026, "FORGET", AUTH_DONE, 4 + 4096 * 8, 9 },
		/* set, request, start, end, result, 6 counts, next, error */
		{ 0x0040, "JOB_REPORT", AUTH_DONE, 2 + 64 + 8 + 8 + 8 + 1 +
		    6 * 8 + 8 + 2 + 1024, 9 },
		/* name, count, 256 jobs of set, next, interval, running */
		{ 0x0042, "AGENT_POLL", AUTH_DONE, 2 + 64 + 4 +
		    256 * (2 + 64 + 8 + 8 + 1), 9 },
	};
	char what[64], why[200];

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		snprintf(what, sizeof(what), "%s of %u bytes", limits[i].name,
		    limits[i].max);
		check(limits[i].st, limits[i].type, limits[i].max, 0,
		    MAX_FRAME, 0, NULL, what);
		if (limits[i].code == 1)
			snprintf(why, sizeof(why), "malformed %s: %u bytes "
			    "(at most %u)", limits[i].name, limits[i].max + 1,
			    limits[i].max);
		else
			snprintf(why, sizeof(why), "limit exceeded: %s of %u "
			    "bytes (at most %u)", limits[i].name,
			    limits[i].max + 1, limits[i].max);
		snprintf(what, sizeof(what), "%s of %u bytes", limits[i].name,
		    limits[i].max + 1);
		check(limits[i].st, limits[i].type, limits[i].max + 1, 0,
		    MAX_FRAME, limits[i].code, why, what);
	}

	/* PUT: up to MaxFrame; more is too large, as for any frame. */
	check(AUTH_DONE, 0x0022, MAX_FRAME, 0, MAX_FRAME, 0, NULL,
	    "PUT of MaxFrame bytes");
	snprintf(why, sizeof(why), "frame too large (%u > %u bytes)",
	    MAX_FRAME + 1, MAX_FRAME);
	check(AUTH_DONE, 0x0022, MAX_FRAME + 1, 0, MAX_FRAME, 2, why,
	    "PUT of MaxFrame + 1 bytes");
	check(AUTH_DONE, 0x0028, MAX_FRAME, 0, MAX_FRAME, 0, NULL,
	    "PUT_LINKED of MaxFrame bytes");
	check(AUTH_DONE, 0x0028, MAX_FRAME + 1, 0, MAX_FRAME, 2, why,
	    "PUT_LINKED of MaxFrame + 1 bytes");
}

/* Which check comes first when a frame fails more than one. */
static void
test_order(void)
{
	check(AUTH_DONE, 0x0020, 200, 0, 100, 2,
	    "frame too large (200 > 100 bytes)",
	    "HAVE over a small MaxFrame and within its own limit");
	check(AUTH_NONE, 0x1234, 200, 0, 100, 2,
	    "frame too large (200 > 100 bytes)",
	    "an unknown type over MaxFrame");
	check(AUTH_DONE, 0x0003, 0, 1, MAX_FRAME, 1,
	    "malformed frame: flags 0x0001", "PING with flags");
	check(AUTH_NONE, 0x0020, 4 + 4096 * 32 + 1, 0, MAX_FRAME, 8,
	    "not authenticated: HAVE needs AUTH first",
	    "HAVE over its limit before AUTH");
	check(AUTH_DONE, 0x0012, 2 + 64 + 1, 0, MAX_FRAME, 3,
	    "unexpected frame type 0x0012 (AUTH): already authenticating",
	    "AUTH over its limit after AUTH_OK");
	check(AUTH_NONE, 0x0014, 33, 0, MAX_FRAME, 3,
	    "unexpected frame type 0x0014 (PROOF): no CHALLENGE outstanding",
	    "PROOF over its size before AUTH");
}

int
main(void)
{
	test_states();
	test_limits();
	test_order();
	return tap_done();
}
