/*
 * unit-discowire.c - TAP unit tests of src/common/discowire.c: a datagram
 * survives encode and decode, and every short, long, foreign or
 * malformed one is refused with its reason, without reading past the
 * bytes given.  Run by t/00-unit-discowire.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/discowire.h"
#include "tap.h"

static struct dw_msg
sample(void)
{
	struct dw_msg m;

	memset(&m, 0, sizeof(m));
	m.type = DW_ANNOUNCE;
	m.flags = DW_FLAG_TLS;
	for (int i = 0; i < SERVER_ID_LEN; i++)
		m.id[i] = (uint8_t)(0xa0 + i);
	m.roles = DW_ROLE_SERVER;
	m.port_backup = 32004;
	m.port_ssl = 32007;
	m.port_ui = 32005;
	m.port_web = 6060;
	m.port_webssl = 6061;
	m.nonce = 0xdeadbeef;
	snprintf(m.name, sizeof(m.name), "backup-1.example");
	return m;
}

/* Decode exactly len bytes from a heap copy, so ASan sees any overread. */
static int
decode_copy(const uint8_t *b, size_t len, struct dw_msg *m)
{
	uint8_t *p = malloc(len ? len : 1);
	int rc;

	memcpy(p, b, len);
	rc = dw_decode(p, len, m);
	free(p);
	return rc;
}

static void
test_roundtrip(void)
{
	struct dw_msg m = sample(), d;
	uint8_t b[DW_MAX_LEN + 16];
	size_t n = dw_encode(&m, b, sizeof(b));

	ok(n == DW_HDR_LEN + strlen(m.name), "encoded length is header + name");
	ok(memcmp(b, "GVDS", 4) == 0 && b[4] == DW_VERSION, "magic and version");
	ok(decode_copy(b, n, &d) == DW_OK, "decodes");
	ok(memcmp(&m.id, &d.id, SERVER_ID_LEN) == 0 && d.type == m.type &&
	    d.flags == m.flags && d.roles == m.roles &&
	    d.port_backup == 32004 && d.port_ssl == 32007 &&
	    d.port_ui == 32005 && d.port_web == 6060 &&
	    d.port_webssl == 6061 && d.nonce == 0xdeadbeef &&
	    strcmp(d.name, m.name) == 0, "every field survives");
	ok(dw_encode(&m, b, n - 1) == 0, "encode refuses a short buffer");
	m.name[0] = '\0';
	ok(dw_encode(&m, b, sizeof(b)) == 0, "encode refuses an empty name");
	m = sample();
	memset(m.name, 'x', DW_NAME_MAX);
	m.name[DW_NAME_MAX] = '\0';
	n = dw_encode(&m, b, sizeof(b));
	ok(n == DW_MAX_LEN && decode_copy(b, n, &d) == DW_OK,
	    "the longest name fits DW_MAX_LEN");
}

static void
test_refused(void)
{
	struct dw_msg m = sample(), d;
	uint8_t b[DW_MAX_LEN + 16], big[2048];
	size_t n = dw_encode(&m, b, sizeof(b));

	for (size_t i = 0; i < n; i++)
		if (decode_copy(b, i, &d) == DW_OK) {
			ok(0, "every truncation is refused");
			return;
		}
	ok(1, "every truncation is refused");
	ok(decode_copy(b, 0, &d) == DW_ERR_MALFORMED, "empty: malformed");
	memset(big, 0, sizeof(big));
	memcpy(big, b, n);
	ok(decode_copy(big, n + 1, &d) == DW_ERR_MALFORMED,
	    "a trailing byte: malformed");
	ok(decode_copy(big, sizeof(big), &d) == DW_ERR_OVERSIZE,
	    "2048 bytes: oversize");
	ok(decode_copy(big, DW_MAX_LEN + 1, &d) == DW_ERR_OVERSIZE,
	    "DW_MAX_LEN + 1 bytes: oversize");
	b[4] = 2;
	ok(decode_copy(b, n, &d) == DW_ERR_VERSION, "version 2: refused as such");
	b[4] = DW_VERSION;
	b[0] = 'X';
	ok(decode_copy(b, n, &d) == DW_ERR_MALFORMED, "bad magic");
	b[0] = 'G';
	b[5] = 0;
	ok(decode_copy(b, n, &d) == DW_ERR_MALFORMED, "type 0");
	b[5] = DW_TYPE_MAX;
	ok(decode_copy(b, n, &d) == DW_ERR_MALFORMED, "unknown type");
	b[5] = DW_ANNOUNCE;
	b[7] = 0x80;
	ok(decode_copy(b, n, &d) == DW_ERR_MALFORMED, "unknown flag");
	b[7] = DW_FLAG_TLS;
	b[24] = 0x10;
	ok(decode_copy(b, n, &d) == DW_ERR_MALFORMED, "unknown role");
	b[24] = DW_ROLE_SERVER;
	b[25] = 1;
	ok(decode_copy(b, n, &d) == DW_ERR_MALFORMED, "reserved byte set");
	b[25] = 0;
	b[40] = (uint8_t)(b[40] + 1);
	ok(decode_copy(b, n, &d) == DW_ERR_MALFORMED,
	    "name length past the end");
	b[40] = 0;
	ok(decode_copy(b, DW_HDR_LEN, &d) == DW_ERR_MALFORMED, "empty name");
	b[40] = (uint8_t)strlen(m.name);
	b[DW_HDR_LEN] = '\n';
	ok(decode_copy(b, n, &d) == DW_ERR_MALFORMED, "control byte in name");
	b[DW_HDR_LEN] = 'b';
	b[n - 1] = '\0';
	ok(decode_copy(b, n, &d) == DW_ERR_MALFORMED,
	    "NUL as the name's last byte");
	b[n - 1] = (uint8_t)m.name[strlen(m.name) - 1];
	ok(decode_copy(b, n, &d) == DW_OK, "repaired: decodes again");
}

static void
test_parse(void)
{
	uint32_t net;
	int prefix, port;
	char host[64];

	ok(dw_parse_cidr("10.1.2.77/24", &net, &prefix) == 0 &&
	    net == 0x0a010200 && prefix == 24, "CIDR: host bits cleared");
	ok(dw_parse_cidr("10.1.2.0/32", &net, &prefix) == 0 && prefix == 32,
	    "CIDR /32");
	ok(dw_parse_cidr("10.1.2.0", &net, &prefix) == -1 &&
	    dw_parse_cidr("10.1.2.0/33", &net, &prefix) == -1 &&
	    dw_parse_cidr("10.1.2.0/", &net, &prefix) == -1 &&
	    dw_parse_cidr("10.1.2.0/2x", &net, &prefix) == -1 &&
	    dw_parse_cidr("host/24", &net, &prefix) == -1,
	    "CIDR: bad ones refused");
	ok(dw_parse_hostport("10.0.0.1", host, sizeof(host), &port, 32005) == 0 &&
	    strcmp(host, "10.0.0.1") == 0 && port == 32005, "address alone");
	ok(dw_parse_hostport("10.0.0.1:99", host, sizeof(host), &port, 1) == 0 &&
	    port == 99, "address:port");
	ok(dw_parse_hostport("[fe80::1]:7", host, sizeof(host), &port, 1) == 0 &&
	    strcmp(host, "fe80::1") == 0 && port == 7, "[v6]:port");
	ok(dw_parse_hostport("fe80::1", host, sizeof(host), &port, 5) == 0 &&
	    port == 5, "bare v6");
	ok(dw_parse_hostport("example.org", host, sizeof(host), &port, 1) == -1 &&
	    dw_parse_hostport("10.0.0.1:0", host, sizeof(host), &port, 1) == -1 &&
	    dw_parse_hostport("10.0.0.1:70000", host, sizeof(host), &port, 1) == -1,
	    "names and bad ports refused");
}

int
main(void)
{
	test_roundtrip();
	test_refused();
	test_parse();
	return tap_done();
}
