/*
 * wire.c - session frames: encode and decode with bounds checks.
 * See wire.h and doc/protocol.md.
 */
#include "autoconf.h"

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
