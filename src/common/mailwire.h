/*
 * mailwire.h - the frames of the mailbox helper's port (Ports.MAPI32Bit,
 * 32008): encode and decode with bounds checks, shared by the helper
 * (src/mailhelper/) and its client library (client/mhclient.c).  No
 * sockets here: bytes in, values out.  doc/protocol.md, "Mailbox helper
 * (port 32008)", has the layouts.
 *
 * A frame is the session protocol's header (wire.h: u32 payload length,
 * u16 type, u16 flags = 0, big-endian) and its payload.  Strings are a
 * u16 length and that many bytes, no NUL among them.  Payloads are read
 * through reader.h and written with wire.h's struct wire_wr.
 */
#ifndef GV_MAILWIRE_H
#define GV_MAILWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define MW_MAGIC		"GVMH"
#define MW_MAGIC_LEN		4
#define MW_VERSION		2	/* 2: both sides prove the secret */
#define MW_NONCE_LEN		32	/* CHALLENGE's (and PROOF's) random bytes */
#define MW_PROOF_LEN		32	/* an HMAC-SHA-256 (mailauth_proof()) */
/* PROOF's payload: the client's nonce, then its proof. */
#define MW_PROOF_PAYLOAD	(MW_NONCE_LEN + MW_PROOF_LEN)
#define MW_SECRET_MIN		16	/* bytes of a secret file, at least */
#define MW_SECRET_MAX		4096	/* and at most */

/* Limits of the fields (doc/protocol.md). */
#define MW_USER_MAX		255	/* bytes of a user name */
#define MW_MAILBOX_MAX		1024	/* bytes of a mailbox name (raw IMAP) */
#define MW_FLAGS_MAX		1024	/* bytes of a message's flags */
#define MW_SPECIAL_MAX		255	/* bytes of a mailbox's special-use */
#define MW_ERROR_MAX		1024	/* bytes of an ERROR's text */
#define MW_USERS_PER_FRAME	256	/* names in one USER_NAMES */
#define MW_INFOS_PER_FRAME	256	/* entries in one MSG_INFOS */
#define MW_MESSAGE_MAX		(256u << 20)	/* bytes of one message */
/* The largest payload of any frame but MESSAGE and APPEND. */
#define MW_FRAME_MAX		(1u << 20)

enum mw_type {
	MW_CHALLENGE	= 0x0101,	/* helper: magic, u16 version, nonce */
	MW_PROOF	= 0x0102,	/* client: its nonce, its HMAC */
	MW_READY	= 0x0103,	/* helper: authenticated, its HMAC */
	MW_USERS	= 0x0110,	/* client: (empty) */
	MW_USER_NAMES	= 0x0111,	/* helper: u32 n, n strings */
	MW_MAILBOXES	= 0x0112,	/* client: user */
	MW_MAILBOX	= 0x0113,	/* helper: one mailbox */
	MW_MESSAGES	= 0x0114,	/* client: user, mailbox, u32 uidvalidity */
	MW_MSG_INFOS	= 0x0115,	/* helper: u32 n, n entries */
	MW_FETCH	= 0x0116,	/* client: user, mailbox, uidvalidity, uid */
	MW_MESSAGE	= 0x0117,	/* helper: the bytes (the rest) */
	MW_CREATE	= 0x0118,	/* client: user, mailbox */
	MW_APPEND	= 0x0119,	/* client: user, mailbox, flags, date... */
	MW_DONE		= 0x011a,	/* helper: u32 value (count or new UID) */
	MW_END		= 0x011b,	/* helper: u32 count, after a stream */
	MW_FETCH_HEADER	= 0x011c,	/* client: as FETCH */
	MW_HEADER	= 0x011d,	/* helper: From, Subject, Date fields */
	MW_ERROR	= 0x01ff,	/* either: u16 code, string text */
};

/*
 * The one error table (mw_error_name()).  Codes below MW_ERR_STALE end
 * the connection (bad input or a broken session); from MW_ERR_STALE on
 * they answer one request and the connection goes on.
 */
enum mw_error {
	MW_ERR_MALFORMED	= 1,	/* a payload that does not parse */
	MW_ERR_TOO_LARGE	= 2,	/* a frame above its limit */
	MW_ERR_UNEXPECTED	= 3,	/* unknown type, or not now */
	MW_ERR_VERSION		= 4,	/* a CHALLENGE of another version */
	MW_ERR_AUTH		= 5,	/* wrong proof */
	MW_ERR_TIMEOUT		= 6,	/* idle too long */
	MW_ERR_BUSY		= 7,	/* MaxConnections reached */
	MW_ERR_STALE		= 16,	/* UIDVALIDITY changed */
	MW_ERR_GONE		= 17,	/* no such message any more */
	MW_ERR_NOMAILBOX	= 18,	/* no such mailbox (or user) */
	MW_ERR_IMAP		= 19,	/* the IMAP server refused or failed */
	MW_ERR_MSG_TOO_LARGE	= 20,	/* a message above the helper's limit */
	MW_ERR_USERS		= 21,	/* the user list could not be made */
};

/* A short name of an error code ("stale"), or "unknown". */
const char *mw_error_name(int code);
/* 1 when code ends the connection (below MW_ERR_STALE). */
int	mw_error_fatal(int code);
/* The name of a frame type for logs ("FETCH"), or NULL when unknown. */
const char *mw_type_name(uint16_t type);
/*
 * The largest payload a frame of type may have, with maxmsg (at most
 * MW_MESSAGE_MAX) the largest message: MESSAGE and APPEND carry one
 * message and their fields; 0 for an unknown type.
 */
uint32_t mw_type_max(uint16_t type, uint32_t maxmsg);
/*
 * Check a decoded header (wire_hdr_decode()) against mw_type_max():
 * 0, or MW_ERR_UNEXPECTED (unknown type), MW_ERR_MALFORMED (flags) or
 * MW_ERR_TOO_LARGE, with the reason in why.
 */
int	mw_hdr_check(const struct wire_hdr *, uint32_t maxmsg, char *why,
	    size_t whylen);

/* One mailbox (MAILBOX). */
struct mw_mailbox {
	char		name[MW_MAILBOX_MAX + 1];
	uint8_t		delim;		/* hierarchy delimiter, 0: none */
	uint32_t	uidvalidity;
	uint32_t	uidnext;
	uint32_t	messages;
	char		special[MW_SPECIAL_MAX + 1];	/* "\\Sent", "" */
};

/* One message of a MSG_INFOS. */
struct mw_msginfo {
	uint32_t	uid;
	uint64_t	size;
	int64_t		date;		/* internal date, Unix seconds */
	int32_t		tzoff;		/* its offset, minutes east of UTC */
	char		flags[MW_FLAGS_MAX + 1];	/* "\\Seen $Label1" */
};

/* A request's fields (what the client sent). */
struct mw_request {
	uint16_t	 type;		/* MW_USERS ... MW_APPEND */
	char		 user[MW_USER_MAX + 1];
	char		 mailbox[MW_MAILBOX_MAX + 1];
	uint32_t	 uidvalidity;	/* MESSAGES, FETCH, FETCH_HEADER */
	uint32_t	 uid;		/* FETCH, FETCH_HEADER */
	char		 flags[MW_FLAGS_MAX + 1];	/* APPEND */
	int64_t		 date;		/* APPEND */
	int32_t		 tzoff;		/* APPEND, -1439..1439 */
	const uint8_t	*data;		/* APPEND: the message, in the payload */
	size_t		 len;
};

/*
 * Whole frames appended to w (check w->overflow afterwards: a string
 * above its limit sets it too, nothing is cut).
 */
void	mw_put_challenge(struct wire_wr *, const uint8_t nonce[MW_NONCE_LEN]);
/* PROOF: the client's nonce and its proof. */
void	mw_put_proof(struct wire_wr *, const uint8_t nonce[MW_NONCE_LEN],
	    const uint8_t proof[MW_PROOF_LEN]);
/* READY: the helper's proof. */
void	mw_put_ready(struct wire_wr *, const uint8_t proof[MW_PROOF_LEN]);
void	mw_put_empty(struct wire_wr *, uint16_t type);	/* USERS */
void	mw_put_u32(struct wire_wr *, uint16_t type, uint32_t);	/* DONE, END */
void	mw_put_error(struct wire_wr *, int code, const char *text);
/* users[0..n), n at most MW_USERS_PER_FRAME. */
void	mw_put_user_names(struct wire_wr *, char *const *users, size_t n);
void	mw_put_mailbox(struct wire_wr *, const struct mw_mailbox *);
/* infos[0..n), n at most MW_INFOS_PER_FRAME. */
void	mw_put_msg_infos(struct wire_wr *, const struct mw_msginfo *,
	    size_t n);
/*
 * A request from its fields (q->type says which are sent).  For APPEND
 * the frame holds q->len bytes of q->data after its fields: w must have
 * room for them (mw_request_size()).
 */
void	mw_put_request(struct wire_wr *, const struct mw_request *);
/* The bytes mw_put_request() writes for q, header included. */
size_t	mw_request_size(const struct mw_request *);
/*
 * The header alone of a MESSAGE or HEADER (type) of len bytes (the
 * caller sends them after it; above the type's limit: overflow).
 */
void	mw_put_message_hdr(struct wire_wr *, uint16_t type, size_t len);

/*
 * The parsers: each decodes a whole payload and returns 0, or
 * MW_ERR_MALFORMED with the reason in why (short, bytes left over, a
 * NUL in a string, a string or count above its limit, a bad value).
 */
/* The client's side of CHALLENGE: magic and MW_VERSION checked. */
int	mw_parse_challenge(const void *p, size_t len,
	    uint8_t nonce[MW_NONCE_LEN], char *why, size_t whylen);
int	mw_parse_proof(const void *p, size_t len, uint8_t nonce[MW_NONCE_LEN],
	    uint8_t proof[MW_PROOF_LEN], char *why, size_t whylen);
int	mw_parse_ready(const void *p, size_t len,
	    uint8_t proof[MW_PROOF_LEN], char *why, size_t whylen);
int	mw_parse_u32(const void *p, size_t len, uint32_t *v, char *why,
	    size_t whylen);
/* *code and text (MW_ERROR_MAX + 1 bytes). */
int	mw_parse_error(const void *p, size_t len, int *code, char *text,
	    char *why, size_t whylen);
/*
 * USER_NAMES: *names gets a malloc'ed array of *n malloc'ed strings
 * (free with mw_strings_free()); MW_ERR_MALFORMED also when memory runs
 * out.
 */
int	mw_parse_user_names(const void *p, size_t len, char ***names,
	    size_t *n, char *why, size_t whylen);
void	mw_strings_free(char **v, size_t n);
int	mw_parse_mailbox(const void *p, size_t len, struct mw_mailbox *,
	    char *why, size_t whylen);
/* infos has room for MW_INFOS_PER_FRAME entries; *n their count. */
int	mw_parse_msg_infos(const void *p, size_t len,
	    struct mw_msginfo *infos, size_t *n, char *why, size_t whylen);
/*
 * A request of type (MW_USERS ... MW_APPEND, MW_FETCH_HEADER; others
 * MW_ERR_UNEXPECTED):
 * for APPEND q->data points into p (the caller keeps it) and a tzoff
 * outside -1439..1439 is malformed.  User names and mailboxes must not
 * be empty nor hold control characters (they go into IMAP commands).
 */
int	mw_parse_request(uint16_t type, const void *p, size_t len,
	    struct mw_request *q, char *why, size_t whylen);

/*
 * Flags as IMAP knows them: space-separated system flags (\Seen,
 * \Answered, \Flagged, \Deleted, \Draft) and keywords (atoms of
 * printable ASCII without ( ) { % * " \ ] and spaces).  1 when s is
 * such a list (empty is one), else 0.
 */
int	mw_flags_valid(const char *s);

#endif
