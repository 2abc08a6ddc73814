/*
 * unit-wire.c - TAP unit tests of src/common/wire.c: frames are built and parsed
 * as doc/protocol.md says, and every short, long or malformed input is
 * refused without reading past the buffer.  Run by t/00-unit-wire.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/wire.h"
#include "tap.h"


static void
test_header(void)
{
	uint8_t b[WIRE_HDR_LEN] = { 0, 0, 1, 0, 0, 3, 0, 0 };
	struct wire_hdr h;
	char why[128];

	wire_hdr_decode(b, &h);
	ok(h.len == 256 && h.type == WIRE_PING && h.flags == 0,
	    "header decodes big-endian length and type");
	ok(wire_hdr_check(&h, 1024, why, sizeof(why)) == 0,
	    "a frame under the maximum passes");
	ok(wire_hdr_check(&h, 255, why, sizeof(why)) == WIRE_ERR_TOO_LARGE &&
	    strstr(why, "frame too large") != NULL,
	    "a frame over the maximum is too large");
	b[7] = 1;
	wire_hdr_decode(b, &h);
	ok(wire_hdr_check(&h, 1024, why, sizeof(why)) == WIRE_ERR_MALFORMED,
	    "nonzero flags are malformed");
	memcpy(b, "GET / HT", 8);
	wire_hdr_decode(b, &h);
	ok(wire_hdr_check(&h, 4u << 20, why, sizeof(why)) != 0,
	    "an HTTP request line is refused");
	ok(wire_type_name(0x1234) == NULL && wire_type_name(WIRE_BYE) != NULL,
	    "type names: known and unknown");
}

static void
test_hello_roundtrip(void)
{
	uint8_t buf[512], id[SERVER_ID_LEN];
	struct wire_client_hello ch;
	struct wire_server_hello sh;
	struct wire_hdr h;
	struct wire_wr w;
	char why[128];

	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_client_hello(&w, 1, 3, "gigavault test");
	ok(!w.overflow && w.len == WIRE_HDR_LEN + 4 + 2 + 2 + 2 + 14,
	    "CLIENT_HELLO has the documented size");
	wire_hdr_decode(buf, &h);
	ok(h.type == WIRE_CLIENT_HELLO && h.len == w.len - WIRE_HDR_LEN,
	    "CLIENT_HELLO header length matches its payload");
	ok(wire_parse_client_hello(buf + WIRE_HDR_LEN, h.len, &ch, why,
	    sizeof(why)) == 0 && ch.version_min == 1 && ch.version_max == 3 &&
	    strcmp(ch.software, "gigavault test") == 0,
	    "CLIENT_HELLO parses back");
	ok(wire_pick_version(ch.version_min, ch.version_max) == 3,
	    "version 3 is picked from 1..3");
	ok(wire_pick_version(1, 1) == 1, "version 1 from 1..1");
	ok(wire_pick_version(1, 2) == 2, "version 2 from 1..2");
	ok(wire_pick_version(4, 5) == 5, "version 5 from 4..5");
	ok(wire_pick_version(4, 4) == 4, "version 4 from 4..4");
	ok(wire_pick_version(6, 7) == 0, "no common version in 6..7");

	/* Every truncation of the payload is refused. */
	int all = 1;
	for (size_t n = 0; n < h.len; n++)
		if (wire_parse_client_hello(buf + WIRE_HDR_LEN, n, &ch, why,
		    sizeof(why)) != WIRE_ERR_MALFORMED)
			all = 0;
	ok(all, "every truncated CLIENT_HELLO is malformed");
	ok(wire_parse_client_hello(buf + WIRE_HDR_LEN, h.len + 1, &ch, why,
	    sizeof(why)) == WIRE_ERR_MALFORMED, "a trailing byte is malformed");
	buf[WIRE_HDR_LEN] = 'X';
	ok(wire_parse_client_hello(buf + WIRE_HDR_LEN, h.len, &ch, why,
	    sizeof(why)) == WIRE_ERR_MALFORMED && strstr(why, "magic"),
	    "bad magic is malformed");

	for (int i = 0; i < SERVER_ID_LEN; i++)
		id[i] = (uint8_t)i;
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_server_hello(&w, 1, id, "gigavaultd x");
	wire_hdr_decode(buf, &h);
	ok(wire_parse_server_hello(buf + WIRE_HDR_LEN, h.len, &sh, why,
	    sizeof(why)) == 0 && sh.version == 1 &&
	    memcmp(sh.server_id, id, SERVER_ID_LEN) == 0,
	    "SERVER_HELLO round-trips with the server id");
}

static void
test_strings(void)
{
	uint8_t buf[600];
	char s[300], dst[WIRE_SOFTWARE_MAX + 1];
	struct reader r;
	struct wire_wr w;

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_str(&w, s);
	rd_init(&r, buf, w.len);
	ok(rd_get_str16(&r, dst, sizeof(dst), WIRE_SOFTWARE_MAX) == -1,
	    "a string over the maximum is refused");

	buf[0] = 0;
	buf[1] = 3;
	memcpy(buf + 2, "a\0b", 3);
	rd_init(&r, buf, 5);
	ok(rd_get_str16(&r, dst, sizeof(dst), WIRE_SOFTWARE_MAX) == -1,
	    "a string with a NUL byte is refused");

	buf[1] = 200;		/* claims 200 bytes, 3 follow */
	rd_init(&r, buf, 5);
	ok(rd_get_str16(&r, dst, sizeof(dst), WIRE_SOFTWARE_MAX) == -1,
	    "a string longer than the buffer is refused");
}

/*
 * Each named payload limit is its frame's layout with every field at its
 * largest, built here field by field.
 */
static void
test_limits(void)
{
	static uint8_t buf[WIRE_HDR_LEN + WIRE_IDS_MAX];
	uint8_t id[BLOB_ID_LEN] = { 0 };
	char s[WIRE_SOFTWARE_MAX + 1];
	struct wire_wr w;

	memset(s, 'a', WIRE_SOFTWARE_MAX);
	s[WIRE_SOFTWARE_MAX] = '\0';
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_client_hello(&w, 1, 2, s);
	ok(w.len == WIRE_HDR_LEN + WIRE_HELLO_MAX,
	    "WIRE_HELLO_MAX: CLIENT_HELLO with the longest software string");

	s[WIRE_TOKEN_MAX] = '\0';
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_str(&w, s);
	ok(w.len == WIRE_REGISTER_MAX, "WIRE_REGISTER_MAX: the longest token");

	s[WIRE_NAME_MAX] = '\0';
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_str(&w, s);
	ok(w.len == WIRE_AUTH_MAX, "WIRE_AUTH_MAX: the longest client name");

	ok(WIRE_PROOF_LEN == CRYPTO_HASH_LEN,
	    "WIRE_PROOF_LEN: an HMAC-SHA-256");

	s[WIRE_SET_MAX] = '\0';
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_str(&w, s);		/* set */
	wire_put_u64(&w, 0);		/* time */
	wire_put_bytes(&w, id, sizeof(id));	/* root */
	wire_put_bytes(&w, id, sizeof(id));	/* meta */
	wire_put_u64(&w, 0);		/* files (version 2) */
	ok(w.len == WIRE_COMMIT_MAX,
	    "WIRE_COMMIT_MAX: a version 2 COMMIT with the longest set name");
	wire_put_u64(&w, 0);		/* size (version 3) */
	ok(w.len == WIRE_COMMIT3_MAX,
	    "WIRE_COMMIT3_MAX: a version 3 COMMIT with the longest set name");

	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_str(&w, s);		/* set */
	wire_put_u64(&w, 0);		/* after */
	ok(w.len == WIRE_LIST_MAX, "WIRE_LIST_MAX: LIST of the longest set");

	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_u32(&w, WIRE_BATCH_MAX);
	for (int i = 0; i < WIRE_BATCH_MAX; i++)
		wire_put_bytes(&w, id, sizeof(id));
	ok(!w.overflow && w.len == WIRE_IDS_MAX,
	    "WIRE_IDS_MAX: HAVE, REFS or GET of WIRE_BATCH_MAX ids");

	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_u32(&w, WIRE_BATCH_MAX);
	for (int i = 0; i < WIRE_BATCH_MAX; i++)
		wire_put_u64(&w, 0);
	ok(w.len == WIRE_FORGET_MAX,
	    "WIRE_FORGET_MAX: FORGET of WIRE_BATCH_MAX snapshot ids");
}

static void
test_writer_overflow(void)
{
	uint8_t buf[10];
	struct wire_wr w;

	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_error(&w, WIRE_ERR_TIMEOUT, "handshake timeout");
	ok(w.overflow && w.len <= sizeof(buf),
	    "a frame that does not fit marks overflow and stays inside");
}

/* A report with every field set, and the longest strings. */
static void
full_report(struct wire_job_report *jr)
{
	memset(jr, 0, sizeof(*jr));
	memset(jr->set, 's', WIRE_SET_MAX);
	jr->request = 7;
	jr->start = 1700000000;
	jr->end = 1700000060;
	jr->result = 2;
	jr->snapid = 0;
	jr->files = 11;
	jr->bytes = 12;
	jr->read_bytes = 13;
	jr->sent_bytes = 14;
	jr->problems = 15;
	jr->next_run = 1700003600;
	memset(jr->error, 'e', WIRE_JOB_ERROR_MAX);
}

/* The payload of frame type at b (a frame built by a put). */
static int
parse_report_at(const uint8_t *b, size_t n, struct wire_job_report *jr,
    char *why, size_t whylen)
{
	return wire_parse_job_report(b + WIRE_HDR_LEN, n - WIRE_HDR_LEN, jr,
	    why, whylen);
}

static void
test_job_report(void)
{
	static uint8_t buf[WIRE_HDR_LEN + WIRE_JOB_REPORT_MAX + 64];
	struct wire_job_report jr, back;
	struct wire_wr w;
	struct wire_hdr h;
	char why[200];
	uint64_t seq;
	int rc;

	full_report(&jr);
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_job_report(&w, &jr);
	wire_hdr_decode(buf, &h);
	ok(!w.overflow && w.len == WIRE_HDR_LEN + WIRE_JOB_REPORT_MAX &&
	    h.type == WIRE_JOB_REPORT && h.len == WIRE_JOB_REPORT_MAX,
	    "WIRE_JOB_REPORT_MAX: a report with the longest set and error");
	rc = parse_report_at(buf, w.len, &back, why, sizeof(why));
	ok(rc == 0 && memcmp(&jr, &back, sizeof(jr)) == 0,
	    "JOB_REPORT: decoded as encoded");

	/* Every shorter length is refused as malformed. */
	rc = 0;
	for (size_t n = WIRE_HDR_LEN; n < w.len && rc == 0; n++)
		if (parse_report_at(buf, n, &back, why, sizeof(why)) !=
		    WIRE_ERR_MALFORMED)
			rc = -1;
	ok(rc == 0, "JOB_REPORT: every truncation is malformed");
	buf[w.len] = 0;
	ok(parse_report_at(buf, w.len + 1, &back, why, sizeof(why)) ==
	    WIRE_ERR_MALFORMED, "JOB_REPORT: a byte after the error text: "
	    "malformed");

	/* The error text one byte over its limit: code 9. */
	{
		static uint8_t big[WIRE_HDR_LEN + WIRE_JOB_REPORT_MAX + 64];
		struct wire_wr w2;

		wire_wr_init(&w2, big, sizeof(big));
		wire_frame_begin(&w2, WIRE_JOB_REPORT);
		wire_put_str(&w2, jr.set);
		for (int i = 0; i < 3; i++)
			wire_put_u64(&w2, 1);
		wire_put_bytes(&w2, "\0", 1);
		for (int i = 0; i < 7; i++)
			wire_put_u64(&w2, 1);
		wire_put_u16(&w2, WIRE_JOB_ERROR_MAX + 1);
		for (int i = 0; i <= WIRE_JOB_ERROR_MAX; i++)
			wire_put_bytes(&w2, "x", 1);
		wire_frame_end(&w2);
		rc = parse_report_at(big, w2.len, &back, why, sizeof(why));
		ok(rc == WIRE_ERR_LIMIT &&
		    strstr(why, "limit exceeded") != NULL, "JOB_REPORT: an "
		    "error text of WIRE_JOB_ERROR_MAX + 1 bytes: code 9");
	}
	full_report(&jr);
	jr.result = 4;
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_job_report(&w, &jr);
	ok(parse_report_at(buf, w.len, &back, why, sizeof(why)) ==
	    WIRE_ERR_MALFORMED && strstr(why, "result 4") != NULL,
	    "JOB_REPORT: result 4 is malformed");

	full_report(&jr);
	jr.end = -1;
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_job_report(&w, &jr);
	ok(parse_report_at(buf, w.len, &back, why, sizeof(why)) ==
	    WIRE_ERR_MALFORMED && strstr(why, "negative") != NULL,
	    "JOB_REPORT: a negative end is malformed");

	full_report(&jr);
	jr.set[0] = '\0';
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_job_report(&w, &jr);
	ok(parse_report_at(buf, w.len, &back, why, sizeof(why)) ==
	    WIRE_ERR_MALFORMED, "JOB_REPORT: an empty set is malformed");

	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_job_reported(&w, 42);
	ok(wire_parse_job_reported(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    &seq, why, sizeof(why)) == 0 && seq == 42 &&
	    wire_parse_job_reported(buf + WIRE_HDR_LEN, 7, &seq, why,
	    sizeof(why)) == WIRE_ERR_MALFORMED,
	    "JOB_REPORTED: u64 seq, exactly 8 bytes");
}

static void
test_agent_poll(void)
{
	static uint8_t buf[WIRE_HDR_LEN + WIRE_AGENT_POLL_MAX + 64];
	static struct wire_agent_job jobs[WIRE_AGENT_JOBS_MAX + 1];
	static struct wire_agent_job back[WIRE_AGENT_JOBS_MAX];
	static struct wire_request reqs[WIRE_REQUESTS_MAX + 1];
	static struct wire_request rback[WIRE_REQUESTS_MAX];
	char name[WIRE_AGENT_NAME_MAX + 2], agent[WIRE_AGENT_NAME_MAX + 1];
	char why[200];
	struct wire_wr w;
	uint32_t n;
	int rc, same;

	memset(name, 'h', WIRE_AGENT_NAME_MAX);
	name[WIRE_AGENT_NAME_MAX] = '\0';
	for (int i = 0; i <= WIRE_AGENT_JOBS_MAX; i++) {
		memset(jobs[i].set, 'a' + i % 26, WIRE_SET_MAX);
		jobs[i].set[WIRE_SET_MAX] = '\0';
		jobs[i].next_run = 1700000000 + i;
		jobs[i].interval = 3600;
		jobs[i].running = i & 1;
	}
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_poll(&w, name, jobs, WIRE_AGENT_JOBS_MAX);
	ok(!w.overflow && w.len == WIRE_HDR_LEN + WIRE_AGENT_POLL_MAX,
	    "WIRE_AGENT_POLL_MAX: the longest name, WIRE_AGENT_JOBS_MAX jobs "
	    "of the longest sets");
	rc = wire_parse_agent_poll(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    agent, back, &n, why, sizeof(why));
	same = rc == 0 && n == WIRE_AGENT_JOBS_MAX &&
	    strcmp(agent, name) == 0;
	for (uint32_t i = 0; same && i < n; i++)
		same = strcmp(back[i].set, jobs[i].set) == 0 &&
		    back[i].next_run == jobs[i].next_run &&
		    back[i].interval == jobs[i].interval &&
		    back[i].running == jobs[i].running;
	ok(same, "AGENT_POLL: decoded as encoded");

	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_poll(&w, name, jobs, WIRE_AGENT_JOBS_MAX + 1);
	ok(w.overflow,
	    "AGENT_POLL: WIRE_AGENT_JOBS_MAX + 1 jobs cannot be put");

	/* A count one over the limit, with nothing after it: code 9. */
	wire_wr_init(&w, buf, sizeof(buf));
	wire_frame_begin(&w, WIRE_AGENT_POLL);
	wire_put_str(&w, "host");
	wire_put_u32(&w, WIRE_AGENT_JOBS_MAX + 1);
	wire_frame_end(&w);
	ok(wire_parse_agent_poll(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    agent, back, &n, why, sizeof(why)) == WIRE_ERR_LIMIT && n == 0,
	    "AGENT_POLL: a count of WIRE_AGENT_JOBS_MAX + 1: code 9");
	/* A count larger than the bytes behind it: malformed. */
	wire_wr_init(&w, buf, sizeof(buf));
	wire_frame_begin(&w, WIRE_AGENT_POLL);
	wire_put_str(&w, "host");
	wire_put_u32(&w, 2);
	wire_put_str(&w, "a");
	wire_put_u64(&w, 0);
	wire_put_u64(&w, 0);
	wire_put_bytes(&w, "\0", 1);
	wire_frame_end(&w);
	ok(wire_parse_agent_poll(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    agent, back, &n, why, sizeof(why)) == WIRE_ERR_MALFORMED && n == 0,
	    "AGENT_POLL: a count of 2 with one job behind it: malformed");
	/* An agent name over its limit: code 9. */
	memset(name, 'h', WIRE_AGENT_NAME_MAX + 1);
	name[WIRE_AGENT_NAME_MAX + 1] = '\0';
	wire_wr_init(&w, buf, sizeof(buf));
	wire_frame_begin(&w, WIRE_AGENT_POLL);
	wire_put_str(&w, name);
	wire_put_u32(&w, 0);
	wire_frame_end(&w);
	ok(wire_parse_agent_poll(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    agent, back, &n, why, sizeof(why)) == WIRE_ERR_LIMIT,
	    "AGENT_POLL: an agent name of WIRE_AGENT_NAME_MAX + 1: code 9");
	/* running 2: malformed. */
	wire_wr_init(&w, buf, sizeof(buf));
	wire_frame_begin(&w, WIRE_AGENT_POLL);
	wire_put_str(&w, "host");
	wire_put_u32(&w, 1);
	wire_put_str(&w, "a");
	wire_put_u64(&w, 0);
	wire_put_u64(&w, 0);
	wire_put_bytes(&w, "\2", 1);
	wire_frame_end(&w);
	ok(wire_parse_agent_poll(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    agent, back, &n, why, sizeof(why)) == WIRE_ERR_MALFORMED,
	    "AGENT_POLL: running 2 is malformed");
	/* No jobs at all is a poll too. */
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_poll(&w, "", NULL, 0);
	ok(wire_parse_agent_poll(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    agent, back, &n, why, sizeof(why)) == 0 && n == 0 &&
	    agent[0] == '\0', "AGENT_POLL: no name, no jobs");

	for (int i = 0; i <= WIRE_REQUESTS_MAX; i++) {
		reqs[i].id = 1000 + (uint64_t)i;
		reqs[i].kind = i == 5 ? 9 : WIRE_REQ_BACKUP;
		snprintf(reqs[i].set, sizeof(reqs[i].set), "set%d", i);
	}
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_requests(&w, reqs, WIRE_REQUESTS_MAX);
	rc = wire_parse_agent_requests(buf + WIRE_HDR_LEN,
	    w.len - WIRE_HDR_LEN, rback, &n, why, sizeof(why));
	same = !w.overflow && rc == 0 && n == WIRE_REQUESTS_MAX;
	for (uint32_t i = 0; same && i < n; i++)
		same = rback[i].id == reqs[i].id &&
		    rback[i].kind == reqs[i].kind &&
		    strcmp(rback[i].set, reqs[i].set) == 0;
	ok(same, "AGENT_REQUESTS: WIRE_REQUESTS_MAX requests decoded as "
	    "encoded (an unknown kind too)");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_requests(&w, reqs, WIRE_REQUESTS_MAX + 1);
	ok(w.overflow, "AGENT_REQUESTS: WIRE_REQUESTS_MAX + 1 cannot be put");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_frame_begin(&w, WIRE_AGENT_REQUESTS);
	wire_put_u32(&w, WIRE_REQUESTS_MAX + 1);
	wire_frame_end(&w);
	ok(wire_parse_agent_requests(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    rback, &n, why, sizeof(why)) == WIRE_ERR_LIMIT && n == 0,
	    "AGENT_REQUESTS: a count of WIRE_REQUESTS_MAX + 1: code 9");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_requests(&w, reqs, 1);
	ok(wire_parse_agent_requests(buf + WIRE_HDR_LEN,
	    w.len - WIRE_HDR_LEN - 1, rback, &n, why, sizeof(why)) ==
	    WIRE_ERR_MALFORMED && n == 0,
	    "AGENT_REQUESTS: one byte short: malformed");
	ok(strcmp(wire_type_name(WIRE_JOB_REPORT), "JOB_REPORT") == 0 &&
	    strcmp(wire_type_name(WIRE_AGENT_POLL), "AGENT_POLL") == 0 &&
	    strcmp(wire_type_name(WIRE_JOB_REPORTED), "JOB_REPORTED") == 0 &&
	    strcmp(wire_type_name(WIRE_AGENT_REQUESTS), "AGENT_REQUESTS") == 0,
	    "the agent's frames have names");
	ok(wire_pick_version(1, 9) == 5 && wire_pick_version(1, 4) == 4 &&
	    wire_pick_version(1, 3) == 3,
	    "version 5 is picked when both speak it, 4 or 3 with an older "
	    "client");
}

/* Version 5: AGENT_REQUESTS with args, AGENT_ANSWER, AGENT_ANSWERED. */
static void
test_answers(void)
{
	static struct wire_request reqs[3], rback[WIRE_REQUESTS_MAX];
	static uint8_t buf[WIRE_HDR_LEN + WIRE_AGENT_ANSWER_MAX + 16];
	static char big[WIRE_ANSWER_MAX + 2];
	const uint8_t *ans;
	struct wire_wr w;
	char why[200];
	uint64_t id;
	uint32_t n;
	size_t alen;
	uint8_t st;
	int same;

	reqs[0].id = 7;
	reqs[0].kind = WIRE_REQ_BROWSE;
	snprintf(reqs[0].set, sizeof(reqs[0].set), "web");
	snprintf(reqs[0].args, sizeof(reqs[0].args), "{\"snapshot\":1}");
	reqs[1].id = 8;
	reqs[1].kind = WIRE_REQ_BACKUP;
	snprintf(reqs[1].set, sizeof(reqs[1].set), "etc");
	reqs[2].id = 9;
	reqs[2].kind = WIRE_REQ_RESTORE;
	snprintf(reqs[2].set, sizeof(reqs[2].set), "home");
	memset(reqs[2].args, 'x', WIRE_REQ_ARGS_MAX);
	reqs[2].args[WIRE_REQ_ARGS_MAX] = '\0';
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_requests5(&w, reqs, 3);
	same = !w.overflow && wire_parse_agent_requests5(buf + WIRE_HDR_LEN,
	    w.len - WIRE_HDR_LEN, rback, &n, why, sizeof(why)) == 0 && n == 3;
	for (uint32_t i = 0; same && i < n; i++)
		same = rback[i].id == reqs[i].id &&
		    rback[i].kind == reqs[i].kind &&
		    strcmp(rback[i].set, reqs[i].set) == 0 &&
		    strcmp(rback[i].args, reqs[i].args) == 0;
	ok(same, "AGENT_REQUESTS (version 5): args of 0 to WIRE_REQ_ARGS_MAX "
	    "bytes decoded as encoded");
	ok(wire_parse_agent_requests(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    rback, &n, why, sizeof(why)) != 0,
	    "a version 5 AGENT_REQUESTS does not parse as version 4");
	/* Args one byte over: code 9. */
	wire_wr_init(&w, buf, sizeof(buf));
	wire_frame_begin(&w, WIRE_AGENT_REQUESTS);
	wire_put_u32(&w, 1);
	wire_put_u64(&w, 1);
	wire_put_bytes(&w, "\3", 1);
	wire_put_str(&w, "s");
	wire_put_u16(&w, WIRE_REQ_ARGS_MAX + 1);
	memset(big, 'a', WIRE_REQ_ARGS_MAX + 1);
	wire_put_bytes(&w, big, WIRE_REQ_ARGS_MAX + 1);
	wire_frame_end(&w);
	ok(wire_parse_agent_requests5(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    rback, &n, why, sizeof(why)) == WIRE_ERR_LIMIT && n == 0,
	    "AGENT_REQUESTS (version 5): args of WIRE_REQ_ARGS_MAX + 1: "
	    "code 9");
	strcpy(reqs[2].args, "{}");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_requests5(&w, reqs, 3);
	same = 1;
	for (size_t k = 0; k + 1 < w.len - WIRE_HDR_LEN && same; k++)
		same = wire_parse_agent_requests5(buf + WIRE_HDR_LEN, k, rback,
		    &n, why, sizeof(why)) != 0 && n == 0;
	ok(same, "AGENT_REQUESTS (version 5): every truncation is refused");

	/* AGENT_ANSWER at its limit, and over it. */
	memset(big, '[', WIRE_ANSWER_MAX);
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_answer(&w, 42, WIRE_ANSWER_STARTED, big,
	    WIRE_ANSWER_MAX);
	ok(!w.overflow && w.len == WIRE_HDR_LEN + WIRE_AGENT_ANSWER_MAX &&
	    wire_parse_agent_answer(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    &id, &st, &ans, &alen, why, sizeof(why)) == 0 && id == 42 &&
	    st == WIRE_ANSWER_STARTED && alen == WIRE_ANSWER_MAX &&
	    memcmp(ans, big, alen) == 0,
	    "AGENT_ANSWER of WIRE_ANSWER_MAX bytes: WIRE_AGENT_ANSWER_MAX, "
	    "decoded as encoded");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_answer(&w, 42, 0, big, WIRE_ANSWER_MAX + 1);
	ok(w.overflow, "AGENT_ANSWER of WIRE_ANSWER_MAX + 1 cannot be put");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_frame_begin(&w, WIRE_AGENT_ANSWER);
	wire_put_u64(&w, 42);
	wire_put_bytes(&w, "\0", 1);
	wire_put_u32(&w, WIRE_ANSWER_MAX + 1);
	wire_frame_end(&w);
	ok(wire_parse_agent_answer(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    &id, &st, &ans, &alen, why, sizeof(why)) == WIRE_ERR_LIMIT,
	    "AGENT_ANSWER: a length of WIRE_ANSWER_MAX + 1: code 9");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_answer(&w, 42, 3, "{}", 2);
	ok(wire_parse_agent_answer(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    &id, &st, &ans, &alen, why, sizeof(why)) == WIRE_ERR_MALFORMED &&
	    strstr(why, "status 3") != NULL, "AGENT_ANSWER: status 3 is "
	    "malformed");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_answer(&w, 0, 0, "{}", 2);
	ok(wire_parse_agent_answer(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    &id, &st, &ans, &alen, why, sizeof(why)) == WIRE_ERR_MALFORMED,
	    "AGENT_ANSWER: request 0 is malformed");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_answer(&w, 5, 0, "{}", 2);
	ok(wire_parse_agent_answer(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN -
	    1, &id, &st, &ans, &alen, why, sizeof(why)) == WIRE_ERR_MALFORMED,
	    "AGENT_ANSWER: one byte short: malformed");
	wire_wr_init(&w, buf, sizeof(buf));
	wire_put_agent_answered(&w, 77);
	ok(wire_parse_agent_answered(buf + WIRE_HDR_LEN, w.len - WIRE_HDR_LEN,
	    &id, why, sizeof(why)) == 0 && id == 77 &&
	    wire_parse_agent_answered(buf + WIRE_HDR_LEN, 7, &id, why,
	    sizeof(why)) == WIRE_ERR_MALFORMED &&
	    strcmp(wire_type_name(WIRE_AGENT_ANSWER), "AGENT_ANSWER") == 0 &&
	    strcmp(wire_type_name(WIRE_AGENT_ANSWERED), "AGENT_ANSWERED") == 0,
	    "AGENT_ANSWERED round-trips, a short one is malformed; both have "
	    "names");
}

int
main(void)
{
	test_header();
	test_answers();
	test_hello_roundtrip();
	test_strings();
	test_limits();
	test_writer_overflow();
	test_job_report();
	test_agent_poll();
	return tap_done();
}
