/*
 * discowire.h - the discovery datagrams (multicast on Ports.Multicast,
 * UDP scan on Ports.UDPScan): encode and decode with bounds checks, and
 * the parsing of the addresses and networks the Discovery section names.
 * No sockets here; doc/protocol.md ("Discovery datagrams") is the layout.
 */
#ifndef GV_DISCOWIRE_H
#define GV_DISCOWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ids.h"

/*
 * A datagram (big-endian): magic[4] version[1] type[1] flags[2] id[16]
 * roles[1] reserved[1] port_backup[2] port_ssl[2] port_ui[2] port_web[2]
 * port_webssl[2] nonce[4] namelen[1] name[namelen].
 */
#define DW_MAGIC	"GVDS"
#define DW_MAGIC_LEN	4
#define DW_VERSION	1
#define DW_NAME_MAX	64
#define DW_HDR_LEN	(DW_MAGIC_LEN + 1 + 1 + 2 + SERVER_ID_LEN + 1 + 1 + \
			    5 * 2 + 4 + 1)	/* all but the name's bytes */
#define DW_MAX_LEN	(DW_HDR_LEN + DW_NAME_MAX)

enum dw_type {
	DW_ANNOUNCE = 1,	/* to the group on Ports.Multicast[0] */
	DW_QUERY,		/* to the group on Ports.Multicast[1] */
	DW_ANSWER,		/* unicast reply to a QUERY */
	DW_PROBE,		/* unicast to Ports.UDPScan of a scanned address */
	DW_PROBE_REPLY,		/* unicast reply to a PROBE */
	DW_LEAVE,		/* to the group on Ports.Multicast[0]: stopping */
	DW_TYPE_MAX
};

#define DW_ROLE_SERVER	0x01
#define DW_ROLE_CLIENT	0x02
#define DW_ROLES_ALL	(DW_ROLE_SERVER | DW_ROLE_CLIENT)
#define DW_FLAG_TLS	0x0001
#define DW_FLAGS_ALL	DW_FLAG_TLS

struct dw_msg {
	uint8_t		 type;
	uint16_t	 flags;
	uint8_t		 id[SERVER_ID_LEN];
	uint8_t		 roles;
	uint16_t	 port_backup, port_ssl, port_ui, port_web, port_webssl;
	uint32_t	 nonce;		/* a QUERY's, echoed in its ANSWERs */
	char		 name[DW_NAME_MAX + 1];
};

/* Decoding outcomes; every one but DW_OK drops the datagram. */
enum dw_err {
	DW_OK = 0,
	DW_ERR_OVERSIZE,	/* longer than DW_MAX_LEN */
	DW_ERR_MALFORMED,	/* short, bad magic, length, type, flags, name */
	DW_ERR_VERSION,		/* another protocol version */
};

/* 1 when s is 1..DW_NAME_MAX bytes of A-Z a-z 0-9 . _ - */
int	dw_name_valid(const char *s);

/* Encode m into buf; returns the length, or 0 when m is invalid or buf
 * shorter than needed. */
size_t	dw_encode(const struct dw_msg *m, uint8_t *buf, size_t buflen);

/* Decode len bytes of buf into *m; returns an enum dw_err. */
int	dw_decode(const uint8_t *buf, size_t len, struct dw_msg *m);

/* A type's name for logs ("ANNOUNCE"), or "?" */
const char *dw_type_name(int type);

/*
 * "A.B.C.D/N": *net (host order, host bits cleared) and *prefix.  0, or
 * -1 when s is not such a network.
 */
int	dw_parse_cidr(const char *s, uint32_t *net, int *prefix);

/*
 * A static peer: a numeric IPv4 address, "IPv4:PORT", a numeric IPv6
 * address or "[IPv6]:PORT".  host (at least 46 bytes) gets the address,
 * *port the port or defport.  0, or -1.
 */
int	dw_parse_hostport(const char *s, char *host, size_t hostlen,
	    int *port, int defport);

#endif
