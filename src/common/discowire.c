/*
 * discowire.c - discovery datagrams: encode, decode, address parsing.
 * See discowire.h.  Datagrams are read through common/reader.h, which
 * checks every field against the bytes that arrived before it reads.
 */
#include "autoconf.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "discowire.h"
#include "reader.h"

int
dw_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DW_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return 0;
	return 1;
}

/*
 * The layout is in discowire.h, beside DW_HDR_LEN.
 */
/* dw_encode() writes at the offsets of discowire.h's layout. */
_Static_assert(DW_HDR_LEN == 41, "DW_HDR_LEN is not the layout's");

size_t
dw_encode(const struct dw_msg *m, uint8_t *buf, size_t buflen)
{
	size_t n = strlen(m->name);
	uint8_t *p = buf;

	if (!dw_name_valid(m->name) || m->type == 0 ||
	    m->type >= DW_TYPE_MAX || (m->flags & ~DW_FLAGS_ALL) ||
	    (m->roles & ~DW_ROLES_ALL) || buflen < DW_HDR_LEN + n)
		return 0;
	memcpy(p, DW_MAGIC, DW_MAGIC_LEN);
	p[4] = DW_VERSION;
	p[5] = m->type;
	be16_put(p + 6, m->flags);
	memcpy(p + 8, m->id, SERVER_ID_LEN);
	p[24] = m->roles;
	p[25] = 0;
	be16_put(p + 26, m->port_backup);
	be16_put(p + 28, m->port_ssl);
	be16_put(p + 30, m->port_ui);
	be16_put(p + 32, m->port_web);
	be16_put(p + 34, m->port_webssl);
	be32_put(p + 36, m->nonce);
	p[40] = (uint8_t)n;
	memcpy(p + DW_HDR_LEN, m->name, n);
	return DW_HDR_LEN + n;
}

int
dw_decode(const uint8_t *p, size_t len, struct dw_msg *m)
{
	struct reader r;
	const uint8_t *magic;
	uint8_t version, reserved;

	memset(m, 0, sizeof(*m));
	if (len > DW_MAX_LEN)
		return DW_ERR_OVERSIZE;
	rd_init(&r, p, len);
	if (rd_get_view(&r, &magic, DW_MAGIC_LEN) == -1 ||
	    memcmp(magic, DW_MAGIC, DW_MAGIC_LEN) != 0 ||
	    rd_get_u8(&r, &version) == -1)
		return DW_ERR_MALFORMED;
	if (version != DW_VERSION)
		return DW_ERR_VERSION;
	rd_get_u8(&r, &m->type);
	rd_get_u16(&r, &m->flags);
	rd_get_bytes(&r, m->id, SERVER_ID_LEN);
	rd_get_u8(&r, &m->roles);
	rd_get_u8(&r, &reserved);
	rd_get_u16(&r, &m->port_backup);
	rd_get_u16(&r, &m->port_ssl);
	rd_get_u16(&r, &m->port_ui);
	rd_get_u16(&r, &m->port_web);
	rd_get_u16(&r, &m->port_webssl);
	rd_get_u32(&r, &m->nonce);
	/* The error sticks: one check covers every field. */
	if (rd_get_str8(&r, m->name, sizeof(m->name), DW_NAME_MAX) == -1 ||
	    rd_end(&r) == -1)
		return DW_ERR_MALFORMED;
	if (m->type == 0 || m->type >= DW_TYPE_MAX || reserved != 0 ||
	    (m->flags & ~DW_FLAGS_ALL) || (m->roles & ~DW_ROLES_ALL) ||
	    !dw_name_valid(m->name))
		return DW_ERR_MALFORMED;
	return DW_OK;
}

const char *
dw_type_name(int type)
{
	static const char *const names[] = { "?", "ANNOUNCE", "QUERY",
	    "ANSWER", "PROBE", "PROBE_REPLY", "LEAVE" };

	return type > 0 && type < DW_TYPE_MAX ? names[type] : "?";
}

int
dw_parse_cidr(const char *s, uint32_t *net, int *prefix)
{
	char addr[INET_ADDRSTRLEN], *end;
	const char *slash = strchr(s, '/');
	struct in_addr in;
	long n;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr) ||
	    slash[1] < '0' || slash[1] > '9')
		return -1;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	errno = 0;
	n = strtol(slash + 1, &end, 10);
	if (*end != '\0' || errno != 0 || n < 0 || n > 32 ||
	    inet_pton(AF_INET, addr, &in) != 1)
		return -1;
	*prefix = (int)n;
	*net = ntohl(in.s_addr) & (n == 0 ? 0 : 0xffffffffu << (32 - n));
	return 0;
}

static int
parse_port(const char *s, int *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < 1 ||
	    v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
dw_parse_hostport(const char *s, char *host, size_t hostlen, int *port,
    int defport)
{
	unsigned char buf[sizeof(struct in6_addr)];
	const char *colon, *close;
	size_t n;

	*port = defport;
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL)
			return -1;
		n = (size_t)(close - s - 1);
		if (n >= hostlen)
			return -1;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (close[1] != '\0' && (close[1] != ':' ||
		    parse_port(close + 2, port) == -1))
			return -1;
		return inet_pton(AF_INET6, host, buf) == 1 ? 0 : -1;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		if (strlen(s) >= hostlen)
			return -1;
		snprintf(host, hostlen, "%s", s);
		return 0;
	}
	colon = strchr(s, ':');
	n = colon ? (size_t)(colon - s) : strlen(s);
	if (n >= hostlen)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (colon != NULL && parse_port(colon + 1, port) == -1)
		return -1;
	return inet_pton(AF_INET, host, buf) == 1 ? 0 : -1;
}
