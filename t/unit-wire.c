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
	ok(wire_pick_version(4, 5) == 0, "no common version in 4..5");

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

int
main(void)
{
	test_header();
	test_hello_roundtrip();
	test_strings();
	test_limits();
	test_writer_overflow();
	return tap_done();
}
