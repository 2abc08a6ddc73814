/*
 * discowire.c - discovery datagrams: encode, decode, address parsing.
 * See discowire.h.  Every read is checked against the bytes that
 * arrived before it is made.
 */
#include "autoconf.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "discowire.h"

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
 * Layout (big-endian): magic[4] version[1] type[1] flags[2] id[16]
 * roles[1] reserved[1] port_backup[2] port_ssl[2] port_ui[2] port_web[2]
 * port_webssl[2] nonce[4] namelen[1] name[namelen].
 */
size_t
dw_encode(const struct dw_msg *m, uint8_t *buf, size_t buflen)
{
	size_t n = strlen(m->name);
	uint8_t *p = buf;

	if (!dw_name_valid(m->name) || m->type == 0 ||
	    m->type >= DW_TYPE_MAX || (m->flags & ~DW_FLAGS_ALL) ||
	    (m->roles & ~DW_ROLES_ALL) || buflen < DW_HDR_LEN + n)
		return 0;
	memcpy(p, DW_MAGIC, 4);
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
	size_t n;

	memset(m, 0, sizeof(*m));
	if (len > DW_MAX_LEN)
		return DW_ERR_OVERSIZE;
	if (len < 5 || memcmp(p, DW_MAGIC, 4) != 0)
		return DW_ERR_MALFORMED;
	if (p[4] != DW_VERSION)
		return DW_ERR_VERSION;
	if (len < DW_HDR_LEN)
		return DW_ERR_MALFORMED;
	n = p[40];
	if (n == 0 || n > DW_NAME_MAX || len - DW_HDR_LEN != n)
		return DW_ERR_MALFORMED;
	m->type = p[5];
	m->flags = be16_get(p + 6);
	memcpy(m->id, p + 8, SERVER_ID_LEN);
	m->roles = p[24];
	m->port_backup = be16_get(p + 26);
	m->port_ssl = be16_get(p + 28);
	m->port_ui = be16_get(p + 30);
	m->port_web = be16_get(p + 32);
	m->port_webssl = be16_get(p + 34);
	m->nonce = be32_get(p + 36);
	memcpy(m->name, p + DW_HDR_LEN, n);
	m->name[n] = '\0';
	if (m->type == 0 || m->type >= DW_TYPE_MAX || p[25] != 0 ||
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
