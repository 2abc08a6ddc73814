/*
 * fuzz-wire.c - libFuzzer harness: session frames.  The input is a
 * stream of frames as a client sends them on a backup port; each is
 * taken the way session.c takes it: the first as handshake() does (the
 * header decoded and checked, a CLIENT_HELLO parsed by
 * wire_parse_client_hello(), a common version picked), every later one
 * admitted against the frame table and the session's authentication
 * state (session_admit(), which calls wire_hdr_check()), its payload
 * bounded by what arrived; AUTH and PROOF move the state on as accepted
 * ones would.  The same bytes are read as the client reads a hostile
 * server's: the first frame as a SERVER_HELLO (wire_parse_server_hello()),
 * each payload as an ERROR (u16 code, u16-length message).  The agent's
 * frames (version 4) are decoded as session.c decodes them: an admitted
 * JOB_REPORT or AGENT_POLL by wire_parse_job_report() or
 * wire_parse_agent_poll(), and every payload also as the agent reads
 * the server's JOB_REPORTED and AGENT_REQUESTS; version 5's: an admitted
 * AGENT_ANSWER by wire_parse_agent_answer(), every payload also as the
 * agent reads a version 5 AGENT_REQUESTS and an AGENT_ANSWERED.  Every
 * get goes through common/reader.h.
 *
 * Not covered: the payload handlers of session.c (REGISTER, AUTH,
 * COMMIT, LIST, and what a JOB_REPORT or AGENT_POLL then does), which
 * are static and need a catalog and a store.
 */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include "common/reader.h"
#include "common/wire.h"
#include "server/session.h"

#define FUZZ_MAX_FRAME	(4u << 20)	/* Server.MaxFrame's default */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* An ERROR frame's payload as the client reads it (remote.c). */
static void
client_error(const uint8_t *p, size_t len)
{
	struct reader r;
	uint16_t code;
	char msg[WIRE_SOFTWARE_MAX + 1];

	rd_init(&r, p, len);
	if (rd_get_u16(&r, &code) == 0 &&
	    rd_get_str16(&r, msg, sizeof(msg), sizeof(msg) - 1) == 0)
		(void)rd_end(&r);
}

/* An admitted payload of the agent's frames, and the agent's replies. */
static void
agent_frames(uint16_t type, const uint8_t *p, size_t len)
{
	static struct wire_agent_job jobs[WIRE_AGENT_JOBS_MAX];
	static struct wire_request reqs[WIRE_REQUESTS_MAX];
	char agent[WIRE_AGENT_NAME_MAX + 1], why[256];
	struct wire_job_report jr;
	const uint8_t *ans;
	uint64_t seq;
	uint32_t n;
	size_t alen;
	uint8_t st;

	if (type == WIRE_JOB_REPORT)
		(void)wire_parse_job_report(p, len, &jr, why, sizeof(why));
	else if (type == WIRE_AGENT_POLL)
		(void)wire_parse_agent_poll(p, len, agent, jobs, &n, why,
		    sizeof(why));
	else if (type == WIRE_AGENT_ANSWER)
		(void)wire_parse_agent_answer(p, len, &seq, &st, &ans, &alen,
		    why, sizeof(why));
	(void)wire_parse_job_reported(p, len, &seq, why, sizeof(why));
	(void)wire_parse_agent_requests(p, len, reqs, &n, why, sizeof(why));
	(void)wire_parse_agent_requests5(p, len, reqs, &n, why, sizeof(why));
	(void)wire_parse_agent_answered(p, len, &seq, why, sizeof(why));
}

/*
 * The first frame as handshake() takes it: the header checked, a
 * CLIENT_HELLO of at most WIRE_HELLO_MAX bytes, parsed, with a version in
 * common.  Its length, or 0 when the session ends there.
 */
static size_t
hello(const uint8_t *data, size_t size)
{
	struct wire_client_hello ch;
	struct wire_hdr h;
	char why[256];

	if (size < WIRE_HDR_LEN)
		return 0;
	wire_hdr_decode(data, &h);
	if (wire_hdr_check(&h, FUZZ_MAX_FRAME, why, sizeof(why)) != 0 ||
	    h.type != WIRE_CLIENT_HELLO || h.len > WIRE_HELLO_MAX ||
	    h.len > size - WIRE_HDR_LEN ||
	    wire_parse_client_hello(data + WIRE_HDR_LEN, h.len, &ch, why,
	    sizeof(why)) != 0 ||
	    wire_pick_version(ch.version_min, ch.version_max) == 0)
		return 0;
	return WIRE_HDR_LEN + h.len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct session_frame *row;
	struct wire_server_hello sh;
	enum session_auth st = AUTH_NONE;
	struct wire_hdr h;
	char why[256];
	size_t n;

	/* The client's side of a server's first frame. */
	if (size >= WIRE_HDR_LEN) {
		wire_hdr_decode(data, &h);
		if (h.len <= size - WIRE_HDR_LEN)
			(void)wire_parse_server_hello(data + WIRE_HDR_LEN,
			    h.len, &sh, why, sizeof(why));
	}
	if ((n = hello(data, size)) == 0)
		return 0;
	data += n;
	size -= n;
	while (size >= WIRE_HDR_LEN) {
		wire_hdr_decode(data, &h);
		data += WIRE_HDR_LEN;
		size -= WIRE_HDR_LEN;
		(void)wire_type_name(h.type);
		if (session_admit(st, &h, FUZZ_MAX_FRAME, &row, why,
		    sizeof(why)) != 0)
			break;		/* the server answers ERROR, ends */
		if (row == NULL || h.len > size)
			break;		/* it waits for the rest, times out */
		if (h.type == WIRE_AUTH)
			st = AUTH_CHALLENGED;
		else if (h.type == WIRE_PROOF)
			st = AUTH_DONE;
		/* The same payload as a client reads an ERROR frame. */
		client_error(data, h.len);
		agent_frames(h.type, data, h.len);
		data += h.len;
		size -= h.len;
	}
	return 0;
}
