/*
 * wire.c - session frames: encode and decode with bounds checks.
 * See wire.h and doc/protocol.md.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "wire.h"

void
wire_hdr_decode(const uint8_t b[WIRE_HDR_LEN], struct wire_hdr *h)
{
	h->len = be32_get(b);
	h->type = be16_get(b + 4);
	h->flags = be16_get(b + 6);
}

int
wire_hdr_check(const struct wire_hdr *h, uint32_t max_payload, char *why,
    size_t whylen)
{
	if (h->flags != 0) {
		snprintf(why, whylen, "malformed frame: flags 0x%04x",
		    h->flags);
		return WIRE_ERR_MALFORMED;
	}
	if (h->len > max_payload) {
		snprintf(why, whylen, "frame too large (%u > %u bytes)",
		    h->len, max_payload);
		return WIRE_ERR_TOO_LARGE;
	}
	return 0;
}

const char *
wire_type_name(uint16_t type)
{
	switch (type) {
	case WIRE_CLIENT_HELLO:	return "CLIENT_HELLO";
	case WIRE_SERVER_HELLO:	return "SERVER_HELLO";
	case WIRE_PING:		return "PING";
	case WIRE_PONG:		return "PONG";
	case WIRE_BYE:		return "BYE";
	case WIRE_REGISTER:	return "REGISTER";
	case WIRE_REGISTERED:	return "REGISTERED";
	case WIRE_AUTH:		return "AUTH";
	case WIRE_CHALLENGE:	return "CHALLENGE";
	case WIRE_PROOF:	return "PROOF";
	case WIRE_AUTH_OK:	return "AUTH_OK";
	case WIRE_CERT_REQUEST:	return "CERT_REQUEST";
	case WIRE_CERT:		return "CERT";
	case WIRE_HAVE:		return "HAVE";
	case WIRE_MISSING:	return "MISSING";
	case WIRE_PUT:		return "PUT";
	case WIRE_REFS:		return "REFS";
	case WIRE_COMMIT:	return "COMMIT";
	case WIRE_COMMITTED:	return "COMMITTED";
	case WIRE_FORGET:	return "FORGET";
	case WIRE_FORGOTTEN:	return "FORGOTTEN";
	case WIRE_PUT_LINKED:	return "PUT_LINKED";
	case WIRE_LIST:		return "LIST";
	case WIRE_SNAPSHOTS:	return "SNAPSHOTS";
	case WIRE_GET:		return "GET";
	case WIRE_BLOB:		return "BLOB";
	case WIRE_NOBLOB:	return "NOBLOB";
	case WIRE_LBLOB:	return "LBLOB";
	case WIRE_JOB_REPORT:	return "JOB_REPORT";
	case WIRE_JOB_REPORTED:	return "JOB_REPORTED";
	case WIRE_AGENT_POLL:	return "AGENT_POLL";
	case WIRE_AGENT_REQUESTS: return "AGENT_REQUESTS";
	case WIRE_AGENT_ANSWER:	return "AGENT_ANSWER";
	case WIRE_AGENT_ANSWERED: return "AGENT_ANSWERED";
	case WIRE_ERROR:	return "ERROR";
	}
	return NULL;
}

void
wire_wr_init(struct wire_wr *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->frame = 0;
	w->overflow = 0;
}

void
wire_put_bytes(struct wire_wr *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = 1;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void
wire_put_u16(struct wire_wr *w, uint16_t v)
{
	uint8_t b[2];

	be16_put(b, v);
	wire_put_bytes(w, b, 2);
}

void
wire_put_u32(struct wire_wr *w, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	wire_put_bytes(w, b, 4);
}

void
wire_put_u64(struct wire_wr *w, uint64_t v)
{
	uint8_t b[8];

	be64_put(b, v);
	wire_put_bytes(w, b, 8);
}

void
wire_put_str(struct wire_wr *w, const char *s)
{
	size_t n = strlen(s);

	if (n > 0xffff) {
		w->overflow = 1;
		return;
	}
	wire_put_u16(w, (uint16_t)n);
	wire_put_bytes(w, s, n);
}

void
wire_frame_begin(struct wire_wr *w, uint16_t type)
{
	w->frame = w->len;
	wire_put_u32(w, 0);		/* length, filled in at the end */
	wire_put_u16(w, type);
	wire_put_u16(w, 0);		/* flags */
}

void
wire_frame_end(struct wire_wr *w)
{
	size_t n;

	if (w->overflow)
		return;
	n = w->len - w->frame - WIRE_HDR_LEN;
	be32_put(w->buf + w->frame, (uint32_t)n);
}

static int
get_magic(struct reader *r, char *why, size_t whylen)
{
	const uint8_t *magic;

	if (rd_get_view(r, &magic, WIRE_MAGIC_LEN) == -1) {
		snprintf(why, whylen, "hello too short");
		return -1;
	}
	if (memcmp(magic, WIRE_MAGIC, WIRE_MAGIC_LEN) != 0) {
		snprintf(why, whylen, "bad magic in hello");
		return -1;
	}
	return 0;
}

int
wire_parse_client_hello(const void *payload, size_t len,
    struct wire_client_hello *h, char *why, size_t whylen)
{
	struct reader r;

	rd_init(&r, payload, len);
	if (get_magic(&r, why, whylen) == -1)
		return WIRE_ERR_MALFORMED;
	if (rd_get_u16(&r, &h->version_min) == -1 ||
	    rd_get_u16(&r, &h->version_max) == -1 ||
	    rd_get_str16(&r, h->software, sizeof(h->software),
	    WIRE_SOFTWARE_MAX) == -1) {
		snprintf(why, whylen, "CLIENT_HELLO malformed (%s)",
		    rd_strerror(rd_error(&r)));
		return WIRE_ERR_MALFORMED;
	}
	if (r.left != 0) {
		snprintf(why, whylen, "%zu bytes after CLIENT_HELLO", r.left);
		return WIRE_ERR_MALFORMED;
	}
	if (h->version_min > h->version_max) {
		snprintf(why, whylen, "CLIENT_HELLO version range %u..%u is "
		    "empty", h->version_min, h->version_max);
		return WIRE_ERR_MALFORMED;
	}
	return 0;
}

int
wire_parse_server_hello(const void *payload, size_t len,
    struct wire_server_hello *h, char *why, size_t whylen)
{
	struct reader r;

	rd_init(&r, payload, len);
	if (get_magic(&r, why, whylen) == -1)
		return WIRE_ERR_MALFORMED;
	if (rd_get_u16(&r, &h->version) == -1 ||
	    rd_get_bytes(&r, h->server_id, SERVER_ID_LEN) == -1 ||
	    rd_get_str16(&r, h->software, sizeof(h->software),
	    WIRE_SOFTWARE_MAX) == -1 || rd_end(&r) == -1) {
		snprintf(why, whylen, "SERVER_HELLO malformed (%s)",
		    rd_strerror(rd_error(&r)));
		return WIRE_ERR_MALFORMED;
	}
	return 0;
}

uint16_t
wire_pick_version(uint16_t min, uint16_t max)
{
	uint16_t hi = max < WIRE_VERSION_MAX ? max : WIRE_VERSION_MAX;
	uint16_t lo = min > WIRE_VERSION_MIN ? min : WIRE_VERSION_MIN;

	return lo <= hi ? hi : 0;
}

void
wire_put_client_hello(struct wire_wr *w, uint16_t min, uint16_t max,
    const char *software)
{
	wire_frame_begin(w, WIRE_CLIENT_HELLO);
	wire_put_bytes(w, WIRE_MAGIC, WIRE_MAGIC_LEN);
	wire_put_u16(w, min);
	wire_put_u16(w, max);
	wire_put_str(w, software);
	wire_frame_end(w);
}

void
wire_put_server_hello(struct wire_wr *w, uint16_t version,
    const uint8_t id[SERVER_ID_LEN], const char *software)
{
	wire_frame_begin(w, WIRE_SERVER_HELLO);
	wire_put_bytes(w, WIRE_MAGIC, WIRE_MAGIC_LEN);
	wire_put_u16(w, version);
	wire_put_bytes(w, id, SERVER_ID_LEN);
	wire_put_str(w, software);
	wire_frame_end(w);
}

void
wire_put_error(struct wire_wr *w, enum wire_error code, const char *msg)
{
	wire_frame_begin(w, WIRE_ERROR);
	wire_put_u16(w, (uint16_t)code);
	wire_put_str(w, msg);
	wire_frame_end(w);
}

/* ------------------------------------------------ the agent's frames */

/* A string of at most max bytes, else overflow (nothing cut). */
static void
put_str_max(struct wire_wr *w, const char *s, size_t max)
{
	if (strlen(s) > max) {
		w->overflow = 1;
		return;
	}
	wire_put_str(w, s);
}

/* An i64 time as its two's complement. */
static void
put_i64(struct wire_wr *w, int64_t v)
{
	wire_put_u64(w, (uint64_t)v);
}

/* An i64 that must not be negative; -1 (malformed) when it is. */
static int
get_time(struct reader *r, int64_t *v, int *negative)
{
	uint64_t u;

	if (rd_get_u64(r, &u) == -1)
		return -1;
	if (u > INT64_MAX) {
		*negative = 1;
		*v = 0;
		return 0;
	}
	*v = (int64_t)u;
	return 0;
}

/* The code for a reader's error: a limit, or malformed. */
static int
rd_code(const struct reader *r)
{
	return rd_error(r) == RD_ERR_TOO_LONG ? WIRE_ERR_LIMIT :
	    WIRE_ERR_MALFORMED;
}

void
wire_put_job_report(struct wire_wr *w, const struct wire_job_report *jr)
{
	wire_frame_begin(w, WIRE_JOB_REPORT);
	put_str_max(w, jr->set, WIRE_SET_MAX);
	wire_put_u64(w, jr->request);
	put_i64(w, jr->start);
	put_i64(w, jr->end);
	wire_put_bytes(w, &jr->result, 1);
	wire_put_u64(w, jr->snapid);
	wire_put_u64(w, jr->files);
	wire_put_u64(w, jr->bytes);
	wire_put_u64(w, jr->read_bytes);
	wire_put_u64(w, jr->sent_bytes);
	wire_put_u64(w, jr->problems);
	put_i64(w, jr->next_run);
	put_str_max(w, jr->error, WIRE_JOB_ERROR_MAX);
	wire_frame_end(w);
}

int
wire_parse_job_report(const void *payload, size_t len,
    struct wire_job_report *jr, char *why, size_t whylen)
{
	struct reader r;
	int neg = 0;

	memset(jr, 0, sizeof(*jr));
	rd_init(&r, payload, len);
	if (rd_get_str16(&r, jr->set, sizeof(jr->set), WIRE_SET_MAX) == -1 ||
	    rd_get_u64(&r, &jr->request) == -1 ||
	    get_time(&r, &jr->start, &neg) == -1 ||
	    get_time(&r, &jr->end, &neg) == -1 ||
	    rd_get_u8(&r, &jr->result) == -1 ||
	    rd_get_u64(&r, &jr->snapid) == -1 ||
	    rd_get_u64(&r, &jr->files) == -1 ||
	    rd_get_u64(&r, &jr->bytes) == -1 ||
	    rd_get_u64(&r, &jr->read_bytes) == -1 ||
	    rd_get_u64(&r, &jr->sent_bytes) == -1 ||
	    rd_get_u64(&r, &jr->problems) == -1 ||
	    get_time(&r, &jr->next_run, &neg) == -1 ||
	    rd_get_str16(&r, jr->error, sizeof(jr->error),
	    WIRE_JOB_ERROR_MAX) == -1 || rd_end(&r) == -1) {
		int code = rd_code(&r);

		snprintf(why, whylen, "%s JOB_REPORT (%s)",
		    code == WIRE_ERR_LIMIT ? "limit exceeded:" : "malformed",
		    rd_strerror(rd_error(&r)));
		return code;
	}
	if (jr->set[0] == '\0') {
		snprintf(why, whylen, "malformed JOB_REPORT: no set");
		return WIRE_ERR_MALFORMED;
	}
	if (neg) {
		snprintf(why, whylen, "malformed JOB_REPORT: a negative time");
		return WIRE_ERR_MALFORMED;
	}
	if (jr->result > WIRE_JOB_RESULT_MAX) {
		snprintf(why, whylen, "malformed JOB_REPORT: result %u "
		    "(0..%d)", jr->result, WIRE_JOB_RESULT_MAX);
		return WIRE_ERR_MALFORMED;
	}
	return 0;
}

void
wire_put_job_reported(struct wire_wr *w, uint64_t seq)
{
	wire_frame_begin(w, WIRE_JOB_REPORTED);
	wire_put_u64(w, seq);
	wire_frame_end(w);
}

int
wire_parse_job_reported(const void *payload, size_t len, uint64_t *seq,
    char *why, size_t whylen)
{
	struct reader r;

	rd_init(&r, payload, len);
	if (rd_get_u64(&r, seq) == -1 || rd_end(&r) == -1) {
		snprintf(why, whylen, "malformed JOB_REPORTED (%s)",
		    rd_strerror(rd_error(&r)));
		return WIRE_ERR_MALFORMED;
	}
	return 0;
}

void
wire_put_agent_poll(struct wire_wr *w, const char *agent,
    const struct wire_agent_job *jobs, size_t njobs)
{
	wire_frame_begin(w, WIRE_AGENT_POLL);
	put_str_max(w, agent, WIRE_AGENT_NAME_MAX);
	if (njobs > WIRE_AGENT_JOBS_MAX)
		w->overflow = 1;
	wire_put_u32(w, (uint32_t)njobs);
	for (size_t i = 0; i < njobs && !w->overflow; i++) {
		uint8_t running = jobs[i].running != 0;

		put_str_max(w, jobs[i].set, WIRE_SET_MAX);
		put_i64(w, jobs[i].next_run);
		put_i64(w, jobs[i].interval);
		wire_put_bytes(w, &running, 1);
	}
	wire_frame_end(w);
}

int
wire_parse_agent_poll(const void *payload, size_t len, char *agent,
    struct wire_agent_job *jobs, uint32_t *njobs, char *why, size_t whylen)
{
	struct reader r;
	uint32_t n;
	int neg = 0;

	*njobs = 0;
	rd_init(&r, payload, len);
	if (rd_get_str16(&r, agent, WIRE_AGENT_NAME_MAX + 1,
	    WIRE_AGENT_NAME_MAX) == -1 ||
	    rd_get_count(&r, &n, WIRE_AGENT_JOBS_MAX,
	    WIRE_AGENT_JOB_MIN) == -1)
		goto bad;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_agent_job *j = &jobs[i];

		if (rd_get_str16(&r, j->set, sizeof(j->set),
		    WIRE_SET_MAX) == -1 ||
		    get_time(&r, &j->next_run, &neg) == -1 ||
		    get_time(&r, &j->interval, &neg) == -1 ||
		    rd_get_u8(&r, &j->running) == -1)
			goto bad;
		if (j->set[0] == '\0') {
			snprintf(why, whylen, "malformed AGENT_POLL: job %u "
			    "has no set", i + 1);
			return WIRE_ERR_MALFORMED;
		}
		if (j->running > 1) {
			snprintf(why, whylen, "malformed AGENT_POLL: job %u: "
			    "running %u", i + 1, j->running);
			return WIRE_ERR_MALFORMED;
		}
	}
	if (rd_end(&r) == -1)
		goto bad;
	if (neg) {
		snprintf(why, whylen, "malformed AGENT_POLL: a negative time");
		return WIRE_ERR_MALFORMED;
	}
	*njobs = n;
	return 0;
bad:
	snprintf(why, whylen, "%s AGENT_POLL (%s)", rd_code(&r) ==
	    WIRE_ERR_LIMIT ? "limit exceeded:" : "malformed",
	    rd_strerror(rd_error(&r)));
	return rd_code(&r);
}

void
wire_put_agent_requests(struct wire_wr *w, const struct wire_request *reqs,
    size_t n)
{
	wire_frame_begin(w, WIRE_AGENT_REQUESTS);
	if (n > WIRE_REQUESTS_MAX)
		w->overflow = 1;
	wire_put_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n && !w->overflow; i++) {
		wire_put_u64(w, reqs[i].id);
		wire_put_bytes(w, &reqs[i].kind, 1);
		put_str_max(w, reqs[i].set, WIRE_SET_MAX);
	}
	wire_frame_end(w);
}

int
wire_parse_agent_requests(const void *payload, size_t len,
    struct wire_request *reqs, uint32_t *n, char *why, size_t whylen)
{
	struct reader r;
	uint32_t m;

	*n = 0;
	rd_init(&r, payload, len);
	if (rd_get_count(&r, &m, WIRE_REQUESTS_MAX, WIRE_REQUEST_MIN) == -1)
		goto bad;
	for (uint32_t i = 0; i < m; i++) {
		if (rd_get_u64(&r, &reqs[i].id) == -1 ||
		    rd_get_u8(&r, &reqs[i].kind) == -1 ||
		    rd_get_str16(&r, reqs[i].set, sizeof(reqs[i].set),
		    WIRE_SET_MAX) == -1)
			goto bad;
		if (reqs[i].set[0] == '\0') {
			snprintf(why, whylen, "malformed AGENT_REQUESTS: "
			    "request %u has no set", i + 1);
			return WIRE_ERR_MALFORMED;
		}
	}
	if (rd_end(&r) == -1)
		goto bad;
	*n = m;
	return 0;
bad:
	snprintf(why, whylen, "%s AGENT_REQUESTS (%s)", rd_code(&r) ==
	    WIRE_ERR_LIMIT ? "limit exceeded:" : "malformed",
	    rd_strerror(rd_error(&r)));
	return rd_code(&r);
}

/* ------------------------------------------------ version 5 */

void
wire_put_agent_requests5(struct wire_wr *w, const struct wire_request *reqs,
    size_t n)
{
	wire_frame_begin(w, WIRE_AGENT_REQUESTS);
	if (n > WIRE_REQUESTS_MAX)
		w->overflow = 1;
	wire_put_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n && !w->overflow; i++) {
		wire_put_u64(w, reqs[i].id);
		wire_put_bytes(w, &reqs[i].kind, 1);
		put_str_max(w, reqs[i].set, WIRE_SET_MAX);
		put_str_max(w, reqs[i].args, WIRE_REQ_ARGS_MAX);
	}
	wire_frame_end(w);
}

int
wire_parse_agent_requests5(const void *payload, size_t len,
    struct wire_request *reqs, uint32_t *n, char *why, size_t whylen)
{
	struct reader r;
	uint32_t m;

	*n = 0;
	rd_init(&r, payload, len);
	if (rd_get_count(&r, &m, WIRE_REQUESTS_MAX, WIRE_REQUEST5_MIN) == -1)
		goto bad;
	for (uint32_t i = 0; i < m; i++) {
		if (rd_get_u64(&r, &reqs[i].id) == -1 ||
		    rd_get_u8(&r, &reqs[i].kind) == -1 ||
		    rd_get_str16(&r, reqs[i].set, sizeof(reqs[i].set),
		    WIRE_SET_MAX) == -1 ||
		    rd_get_str16(&r, reqs[i].args, sizeof(reqs[i].args),
		    WIRE_REQ_ARGS_MAX) == -1)
			goto bad;
		if (reqs[i].set[0] == '\0') {
			snprintf(why, whylen, "malformed AGENT_REQUESTS: "
			    "request %u has no set", i + 1);
			return WIRE_ERR_MALFORMED;
		}
	}
	if (rd_end(&r) == -1)
		goto bad;
	*n = m;
	return 0;
bad:
	snprintf(why, whylen, "%s AGENT_REQUESTS (%s)", rd_code(&r) ==
	    WIRE_ERR_LIMIT ? "limit exceeded:" : "malformed",
	    rd_strerror(rd_error(&r)));
	return rd_code(&r);
}

void
wire_put_agent_answer(struct wire_wr *w, uint64_t request, uint8_t status,
    const void *answer, size_t len)
{
	wire_frame_begin(w, WIRE_AGENT_ANSWER);
	if (len > WIRE_ANSWER_MAX)
		w->overflow = 1;
	wire_put_u64(w, request);
	wire_put_bytes(w, &status, 1);
	wire_put_u32(w, (uint32_t)len);
	if (!w->overflow)
		wire_put_bytes(w, answer, len);
	wire_frame_end(w);
}

int
wire_parse_agent_answer(const void *payload, size_t len, uint64_t *request,
    uint8_t *status, const uint8_t **answer, size_t *alen, char *why,
    size_t whylen)
{
	struct reader r;
	uint32_t n;

	*answer = NULL;
	*alen = 0;
	rd_init(&r, payload, len);
	if (rd_get_u64(&r, request) == -1 || rd_get_u8(&r, status) == -1 ||
	    rd_get_count(&r, &n, WIRE_ANSWER_MAX, 1) == -1 ||
	    rd_get_view(&r, answer, n) == -1 || rd_end(&r) == -1) {
		snprintf(why, whylen, "%s AGENT_ANSWER (%s)", rd_code(&r) ==
		    WIRE_ERR_LIMIT ? "limit exceeded:" : "malformed",
		    rd_strerror(rd_error(&r)));
		return rd_code(&r);
	}
	if (*request == 0) {
		snprintf(why, whylen, "malformed AGENT_ANSWER: request 0");
		return WIRE_ERR_MALFORMED;
	}
	if (*status > WIRE_ANSWER_STATUS_MAX) {
		snprintf(why, whylen, "malformed AGENT_ANSWER: status %u "
		    "(0..%d)", *status, WIRE_ANSWER_STATUS_MAX);
		return WIRE_ERR_MALFORMED;
	}
	*alen = n;
	return 0;
}

void
wire_put_agent_answered(struct wire_wr *w, uint64_t request)
{
	wire_frame_begin(w, WIRE_AGENT_ANSWERED);
	wire_put_u64(w, request);
	wire_frame_end(w);
}

int
wire_parse_agent_answered(const void *payload, size_t len,
    uint64_t *request, char *why, size_t whylen)
{
	struct reader r;

	rd_init(&r, payload, len);
	if (rd_get_u64(&r, request) == -1 || rd_end(&r) == -1) {
		snprintf(why, whylen, "malformed AGENT_ANSWERED (%s)",
		    rd_strerror(rd_error(&r)));
		return WIRE_ERR_MALFORMED;
	}
	return 0;
}
