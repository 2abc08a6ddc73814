/*
 * mailwire.c - the mailbox helper's frames: encode and decode with bounds
 * checks.  See mailwire.h and doc/protocol.md.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bytes.h"
#include "mailwire.h"
#include "reader.h"
#include "wire.h"

/* The one error table. */
static const struct {
	int		 code;
	const char	*name;
} errors[] = {
	{ MW_ERR_MALFORMED,	"malformed" },
	{ MW_ERR_TOO_LARGE,	"too large" },
	{ MW_ERR_UNEXPECTED,	"unexpected" },
	{ MW_ERR_VERSION,	"version" },
	{ MW_ERR_AUTH,		"auth" },
	{ MW_ERR_TIMEOUT,	"timeout" },
	{ MW_ERR_BUSY,		"busy" },
	{ MW_ERR_STALE,		"stale" },
	{ MW_ERR_GONE,		"gone" },
	{ MW_ERR_NOMAILBOX,	"no mailbox" },
	{ MW_ERR_IMAP,		"imap" },
	{ MW_ERR_MSG_TOO_LARGE,	"message too large" },
	{ MW_ERR_USERS,		"users" },
};

/* Frame types, their names and their largest payloads (0: maxmsg-bound). */
#define STR(max)	(2 + (max))
#define REQ_UM		(STR(MW_USER_MAX) + STR(MW_MAILBOX_MAX))
#define INFO_MAX	(4 + 8 + 8 + 4 + STR(MW_FLAGS_MAX))
#define INFO_MIN	(4 + 8 + 8 + 4 + 2)
#define APPEND_FIELDS	(REQ_UM + STR(MW_FLAGS_MAX) + 8 + 4)
static const struct {
	uint16_t	 type;
	const char	*name;
	uint32_t	 max;
} types[] = {
	{ MW_CHALLENGE,	"CHALLENGE",	MW_MAGIC_LEN + 2 + MW_NONCE_LEN },
	{ MW_PROOF,	"PROOF",	MW_PROOF_PAYLOAD },
	{ MW_READY,	"READY",	MW_PROOF_LEN },
	{ MW_USERS,	"USERS",	0 },
	{ MW_USER_NAMES, "USER_NAMES",	4 + MW_USERS_PER_FRAME *
					    STR(MW_USER_MAX) },
	{ MW_MAILBOXES,	"MAILBOXES",	STR(MW_USER_MAX) },
	{ MW_MAILBOX,	"MAILBOX",	STR(MW_MAILBOX_MAX) + 1 + 12 +
					    STR(MW_SPECIAL_MAX) },
	{ MW_MESSAGES,	"MESSAGES",	REQ_UM + 4 },
	{ MW_MSG_INFOS,	"MSG_INFOS",	4 + MW_INFOS_PER_FRAME * INFO_MAX },
	{ MW_FETCH,	"FETCH",	REQ_UM + 8 },
	{ MW_MESSAGE,	"MESSAGE",	UINT32_MAX },	/* maxmsg */
	{ MW_CREATE,	"CREATE",	REQ_UM },
	{ MW_APPEND,	"APPEND",	UINT32_MAX },	/* fields + maxmsg */
	{ MW_DONE,	"DONE",		4 },
	{ MW_END,	"END",		4 },
	{ MW_FETCH_HEADER, "FETCH_HEADER", REQ_UM + 8 },
	{ MW_HEADER,	"HEADER",	MW_FRAME_MAX },
	{ MW_ERROR,	"ERROR",	2 + STR(MW_ERROR_MAX) },
};

_Static_assert(4 + MW_INFOS_PER_FRAME * INFO_MAX <= MW_FRAME_MAX,
    "MSG_INFOS fits MW_FRAME_MAX");
_Static_assert(MW_MESSAGE_MAX + APPEND_FIELDS + 4 <= UINT32_MAX,
    "APPEND fits a frame header's length");

const char *
mw_error_name(int code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return errors[i].name;
	return "unknown";
}

int
mw_error_fatal(int code)
{
	return code < MW_ERR_STALE;
}

const char *
mw_type_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	return NULL;
}

uint32_t
mw_type_max(uint16_t type, uint32_t maxmsg)
{
	if (maxmsg > MW_MESSAGE_MAX)
		maxmsg = MW_MESSAGE_MAX;
	if (type == MW_MESSAGE)
		return maxmsg;
	if (type == MW_APPEND)
		return APPEND_FIELDS + 4 + maxmsg;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].max;
	return 0;
}

int
mw_hdr_check(const struct wire_hdr *h, uint32_t maxmsg, char *why,
    size_t whylen)
{
	uint32_t max;

	if (mw_type_name(h->type) == NULL) {
		snprintf(why, whylen, "unknown frame type 0x%04x", h->type);
		return MW_ERR_UNEXPECTED;
	}
	if (h->flags != 0) {
		snprintf(why, whylen, "%s frame with flags 0x%04x",
		    mw_type_name(h->type), h->flags);
		return MW_ERR_MALFORMED;
	}
	max = mw_type_max(h->type, maxmsg);
	if (h->len > max) {
		snprintf(why, whylen, "%s frame too large (%u > %u bytes)",
		    mw_type_name(h->type), h->len, max);
		return MW_ERR_TOO_LARGE;
	}
	return 0;
}

/* A string of at most max bytes, or an overflow. */
static void
put_str(struct wire_wr *w, const char *s, size_t max)
{
	if (strlen(s) > max) {
		w->overflow = 1;
		return;
	}
	wire_put_str(w, s);
}

void
mw_put_challenge(struct wire_wr *w, const uint8_t nonce[MW_NONCE_LEN])
{
	wire_frame_begin(w, MW_CHALLENGE);
	wire_put_bytes(w, MW_MAGIC, MW_MAGIC_LEN);
	wire_put_u16(w, MW_VERSION);
	wire_put_bytes(w, nonce, MW_NONCE_LEN);
	wire_frame_end(w);
}

void
mw_put_proof(struct wire_wr *w, const uint8_t nonce[MW_NONCE_LEN],
    const uint8_t proof[MW_PROOF_LEN])
{
	wire_frame_begin(w, MW_PROOF);
	wire_put_bytes(w, nonce, MW_NONCE_LEN);
	wire_put_bytes(w, proof, MW_PROOF_LEN);
	wire_frame_end(w);
}

void
mw_put_ready(struct wire_wr *w, const uint8_t proof[MW_PROOF_LEN])
{
	wire_frame_begin(w, MW_READY);
	wire_put_bytes(w, proof, MW_PROOF_LEN);
	wire_frame_end(w);
}

void
mw_put_empty(struct wire_wr *w, uint16_t type)
{
	wire_frame_begin(w, type);
	wire_frame_end(w);
}

void
mw_put_u32(struct wire_wr *w, uint16_t type, uint32_t v)
{
	wire_frame_begin(w, type);
	wire_put_u32(w, v);
	wire_frame_end(w);
}

void
mw_put_error(struct wire_wr *w, int code, const char *text)
{
	char cut[MW_ERROR_MAX + 1];

	/* An error's text is ours: cut rather than fail to send it. */
	snprintf(cut, sizeof(cut), "%s", text);
	wire_frame_begin(w, MW_ERROR);
	wire_put_u16(w, (uint16_t)code);
	wire_put_str(w, cut);
	wire_frame_end(w);
}

void
mw_put_user_names(struct wire_wr *w, char *const *users, size_t n)
{
	if (n > MW_USERS_PER_FRAME) {
		w->overflow = 1;
		return;
	}
	wire_frame_begin(w, MW_USER_NAMES);
	wire_put_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		put_str(w, users[i], MW_USER_MAX);
	wire_frame_end(w);
}

void
mw_put_mailbox(struct wire_wr *w, const struct mw_mailbox *m)
{
	uint8_t d = m->delim;

	wire_frame_begin(w, MW_MAILBOX);
	put_str(w, m->name, MW_MAILBOX_MAX);
	wire_put_bytes(w, &d, 1);
	wire_put_u32(w, m->uidvalidity);
	wire_put_u32(w, m->uidnext);
	wire_put_u32(w, m->messages);
	put_str(w, m->special, MW_SPECIAL_MAX);
	wire_frame_end(w);
}

void
mw_put_msg_infos(struct wire_wr *w, const struct mw_msginfo *in, size_t n)
{
	if (n > MW_INFOS_PER_FRAME) {
		w->overflow = 1;
		return;
	}
	wire_frame_begin(w, MW_MSG_INFOS);
	wire_put_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		wire_put_u32(w, in[i].uid);
		wire_put_u64(w, in[i].size);
		wire_put_u64(w, (uint64_t)in[i].date);
		wire_put_u32(w, (uint32_t)in[i].tzoff);
		put_str(w, in[i].flags, MW_FLAGS_MAX);
	}
	wire_frame_end(w);
}

size_t
mw_request_size(const struct mw_request *q)
{
	size_t n = WIRE_HDR_LEN;

	switch (q->type) {
	case MW_USERS:
		break;
	case MW_MAILBOXES:
		n += 2 + strlen(q->user);
		break;
	case MW_CREATE:
		n += 4 + strlen(q->user) + strlen(q->mailbox);
		break;
	case MW_MESSAGES:
		n += 4 + strlen(q->user) + strlen(q->mailbox) + 4;
		break;
	case MW_FETCH:
	case MW_FETCH_HEADER:
		n += 4 + strlen(q->user) + strlen(q->mailbox) + 8;
		break;
	case MW_APPEND:
		n += 4 + strlen(q->user) + strlen(q->mailbox) + 2 +
		    strlen(q->flags) + 8 + 4 + 4 + q->len;
		break;
	}
	return n;
}

void
mw_put_request(struct wire_wr *w, const struct mw_request *q)
{
	wire_frame_begin(w, q->type);
	if (q->type != MW_USERS)
		put_str(w, q->user, MW_USER_MAX);
	if (q->type != MW_USERS && q->type != MW_MAILBOXES)
		put_str(w, q->mailbox, MW_MAILBOX_MAX);
	if (q->type == MW_MESSAGES || q->type == MW_FETCH ||
	    q->type == MW_FETCH_HEADER)
		wire_put_u32(w, q->uidvalidity);
	if (q->type == MW_FETCH || q->type == MW_FETCH_HEADER)
		wire_put_u32(w, q->uid);
	if (q->type == MW_APPEND) {
		if (q->len > MW_MESSAGE_MAX) {
			w->overflow = 1;
			return;
		}
		put_str(w, q->flags, MW_FLAGS_MAX);
		wire_put_u64(w, (uint64_t)q->date);
		wire_put_u32(w, (uint32_t)q->tzoff);
		wire_put_u32(w, (uint32_t)q->len);
		wire_put_bytes(w, q->data, q->len);
	}
	wire_frame_end(w);
}

void
mw_put_message_hdr(struct wire_wr *w, uint16_t type, size_t len)
{
	if (len > mw_type_max(type, MW_MESSAGE_MAX)) {
		w->overflow = 1;
		return;
	}
	wire_put_u32(w, (uint32_t)len);
	wire_put_u16(w, type);
	wire_put_u16(w, 0);
}

/* The end of every parse: nothing left, no error; else why. */
static int
done(struct reader *r, const char *what, char *why, size_t whylen)
{
	if (rd_error(r) != RD_OK) {
		snprintf(why, whylen, "%s malformed (%s)", what,
		    rd_strerror(rd_error(r)));
		return MW_ERR_MALFORMED;
	}
	if (r->left != 0) {
		snprintf(why, whylen, "%zu bytes after %s", r->left, what);
		return MW_ERR_MALFORMED;
	}
	return 0;
}

int
mw_parse_challenge(const void *p, size_t len, uint8_t nonce[MW_NONCE_LEN],
    char *why, size_t whylen)
{
	const uint8_t *magic = NULL;
	struct reader r;
	uint16_t v = 0;
	int rc;

	rd_init(&r, p, len);
	rd_get_view(&r, &magic, MW_MAGIC_LEN);
	rd_get_u16(&r, &v);
	rd_get_bytes(&r, nonce, MW_NONCE_LEN);
	if ((rc = done(&r, "CHALLENGE", why, whylen)) != 0)
		return rc;
	if (memcmp(magic, MW_MAGIC, MW_MAGIC_LEN) != 0) {
		snprintf(why, whylen, "CHALLENGE without the magic \"%s\" "
		    "(not a mailbox helper)", MW_MAGIC);
		return MW_ERR_MALFORMED;
	}
	if (v != MW_VERSION) {
		snprintf(why, whylen, "the helper speaks version %u, we "
		    "speak %u", v, MW_VERSION);
		return MW_ERR_VERSION;
	}
	return 0;
}

int
mw_parse_proof(const void *p, size_t len, uint8_t nonce[MW_NONCE_LEN],
    uint8_t proof[MW_PROOF_LEN], char *why, size_t whylen)
{
	struct reader r;

	rd_init(&r, p, len);
	rd_get_bytes(&r, nonce, MW_NONCE_LEN);
	rd_get_bytes(&r, proof, MW_PROOF_LEN);
	return done(&r, "PROOF", why, whylen);
}

int
mw_parse_ready(const void *p, size_t len, uint8_t proof[MW_PROOF_LEN],
    char *why, size_t whylen)
{
	struct reader r;

	rd_init(&r, p, len);
	rd_get_bytes(&r, proof, MW_PROOF_LEN);
	return done(&r, "READY", why, whylen);
}

int
mw_parse_u32(const void *p, size_t len, uint32_t *v, char *why,
    size_t whylen)
{
	struct reader r;

	rd_init(&r, p, len);
	rd_get_u32(&r, v);
	return done(&r, "a u32 frame", why, whylen);
}

int
mw_parse_error(const void *p, size_t len, int *code, char *text, char *why,
    size_t whylen)
{
	struct reader r;
	uint16_t c = 0;

	rd_init(&r, p, len);
	rd_get_u16(&r, &c);
	rd_get_str16(&r, text, MW_ERROR_MAX + 1, MW_ERROR_MAX);
	*code = c;
	return done(&r, "ERROR", why, whylen);
}

void
mw_strings_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

int
mw_parse_user_names(const void *p, size_t len, char ***names, size_t *n,
    char *why, size_t whylen)
{
	char buf[MW_USER_MAX + 1], **v = NULL;
	struct reader r;
	uint32_t count = 0;
	int rc;

	*names = NULL;
	*n = 0;
	rd_init(&r, p, len);
	if (rd_get_count(&r, &count, MW_USERS_PER_FRAME, 2) == 0 &&
	    count > 0 && (v = calloc(count, sizeof(*v))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return MW_ERR_MALFORMED;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (rd_get_str16(&r, buf, sizeof(buf), MW_USER_MAX) == -1)
			break;
		if (buf[0] == '\0') {
			snprintf(why, whylen, "USER_NAMES with an empty name");
			mw_strings_free(v, *n);
			*n = 0;
			return MW_ERR_MALFORMED;
		}
		if ((v[i] = strdup(buf)) == NULL) {
			snprintf(why, whylen, "out of memory");
			mw_strings_free(v, *n);
			*n = 0;
			return MW_ERR_MALFORMED;
		}
		(*n)++;
	}
	if ((rc = done(&r, "USER_NAMES", why, whylen)) != 0) {
		mw_strings_free(v, *n);
		*n = 0;
		return rc;
	}
	*names = v;
	return 0;
}

int
mw_parse_mailbox(const void *p, size_t len, struct mw_mailbox *m,
    char *why, size_t whylen)
{
	struct reader r;
	int rc;

	rd_init(&r, p, len);
	rd_get_str16(&r, m->name, sizeof(m->name), MW_MAILBOX_MAX);
	rd_get_u8(&r, &m->delim);
	rd_get_u32(&r, &m->uidvalidity);
	rd_get_u32(&r, &m->uidnext);
	rd_get_u32(&r, &m->messages);
	rd_get_str16(&r, m->special, sizeof(m->special), MW_SPECIAL_MAX);
	if ((rc = done(&r, "MAILBOX", why, whylen)) != 0)
		return rc;
	if (m->name[0] == '\0') {
		snprintf(why, whylen, "MAILBOX without a name");
		return MW_ERR_MALFORMED;
	}
	return 0;
}

int
mw_parse_msg_infos(const void *p, size_t len, struct mw_msginfo *in,
    size_t *n, char *why, size_t whylen)
{
	struct reader r;
	uint32_t count = 0, tz;
	uint64_t date;
	int rc;

	*n = 0;
	rd_init(&r, p, len);
	rd_get_count(&r, &count, MW_INFOS_PER_FRAME, INFO_MIN);
	for (uint32_t i = 0; i < count && rd_error(&r) == RD_OK; i++) {
		rd_get_u32(&r, &in[i].uid);
		rd_get_u64(&r, &in[i].size);
		rd_get_u64(&r, &date);
		rd_get_u32(&r, &tz);
		rd_get_str16(&r, in[i].flags, sizeof(in[i].flags),
		    MW_FLAGS_MAX);
		in[i].date = (int64_t)date;
		in[i].tzoff = (int32_t)tz;
		if (rd_error(&r) == RD_OK && (in[i].tzoff < -1439 ||
		    in[i].tzoff > 1439 || in[i].uid == 0)) {
			snprintf(why, whylen, "MSG_INFOS entry %u: UID %u, "
			    "offset %d minutes", i, in[i].uid, in[i].tzoff);
			return MW_ERR_MALFORMED;
		}
	}
	if ((rc = done(&r, "MSG_INFOS", why, whylen)) != 0)
		return rc;
	*n = count;
	return 0;
}

/* 1 when s has a byte below 0x20 or DEL. */
static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int
mw_parse_request(uint16_t type, const void *p, size_t len,
    struct mw_request *q, char *why, size_t whylen)
{
	const char *name = mw_type_name(type);
	struct reader r;
	uint64_t date = 0;
	uint32_t tz = 0, n = 0;
	int rc;

	memset(q, 0, sizeof(*q));
	q->type = type;
	if (type < MW_USERS || (type > MW_APPEND && type !=
	    MW_FETCH_HEADER) || type == MW_USER_NAMES ||
	    type == MW_MAILBOX || type == MW_MSG_INFOS ||
	    type == MW_MESSAGE) {
		snprintf(why, whylen, "%s is not a request",
		    name ? name : "an unknown frame");
		return MW_ERR_UNEXPECTED;
	}
	rd_init(&r, p, len);
	if (type != MW_USERS)
		rd_get_str16(&r, q->user, sizeof(q->user), MW_USER_MAX);
	if (type != MW_USERS && type != MW_MAILBOXES)
		rd_get_str16(&r, q->mailbox, sizeof(q->mailbox),
		    MW_MAILBOX_MAX);
	if (type == MW_MESSAGES || type == MW_FETCH ||
	    type == MW_FETCH_HEADER)
		rd_get_u32(&r, &q->uidvalidity);
	if (type == MW_FETCH || type == MW_FETCH_HEADER)
		rd_get_u32(&r, &q->uid);
	if (type == MW_APPEND) {
		rd_get_str16(&r, q->flags, sizeof(q->flags), MW_FLAGS_MAX);
		rd_get_u64(&r, &date);
		rd_get_u32(&r, &tz);
		rd_get_u32(&r, &n);
		if (rd_error(&r) == RD_OK && n > MW_MESSAGE_MAX) {
			snprintf(why, whylen, "APPEND of %u bytes (the most "
			    "is %u)", n, MW_MESSAGE_MAX);
			return MW_ERR_TOO_LARGE;
		}
		rd_get_view(&r, &q->data, n);
		q->len = n;
		q->date = (int64_t)date;
		q->tzoff = (int32_t)tz;
	}
	if ((rc = done(&r, name, why, whylen)) != 0)
		return rc;
	if (type != MW_USERS && q->user[0] == '\0') {
		snprintf(why, whylen, "%s with an empty user name", name);
		return MW_ERR_MALFORMED;
	}
	if (type != MW_USERS && type != MW_MAILBOXES &&
	    q->mailbox[0] == '\0') {
		snprintf(why, whylen, "%s with an empty mailbox name", name);
		return MW_ERR_MALFORMED;
	}
	/* Names go into IMAP commands: no control characters at all. */
	if (has_ctl(q->user) || has_ctl(q->mailbox)) {
		snprintf(why, whylen, "%s with a control character in a user "
		    "or mailbox name", name);
		return MW_ERR_MALFORMED;
	}
	if ((type == MW_FETCH || type == MW_FETCH_HEADER) && q->uid == 0) {
		snprintf(why, whylen, "%s of UID 0", name);
		return MW_ERR_MALFORMED;
	}
	if (type == MW_APPEND) {
		if (q->tzoff < -1439 || q->tzoff > 1439 || q->date < 0) {
			snprintf(why, whylen, "APPEND with date %lld at "
			    "offset %d minutes", (long long)q->date, q->tzoff);
			return MW_ERR_MALFORMED;
		}
		if (!mw_flags_valid(q->flags)) {
			/* Shown only when printable: it goes to the log. */
			snprintf(why, whylen, "APPEND with flags that IMAP "
			    "cannot carry%s%s%s", has_ctl(q->flags) ? "" :
			    ": \"", has_ctl(q->flags) ? "" : q->flags,
			    has_ctl(q->flags) ? "" : "\"");
			return MW_ERR_MALFORMED;
		}
		if (q->len == 0) {
			snprintf(why, whylen, "APPEND of an empty message");
			return MW_ERR_MALFORMED;
		}
	}
	return 0;
}

int
mw_flags_valid(const char *s)
{
	static const char *sys[] = { "\\Seen", "\\Answered", "\\Flagged",
	    "\\Deleted", "\\Draft", "\\Recent" };
	const char *p = s, *e;
	size_t n, i;

	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		e = strchr(p, ' ');
		n = e ? (size_t)(e - p) : strlen(p);
		if (*p == '\\') {
			for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
				if (strlen(sys[i]) == n &&
				    strncasecmp(p, sys[i], n) == 0)
					break;
			if (i == sizeof(sys) / sizeof(sys[0]))
				return 0;
		} else {
			for (i = 0; i < n; i++)
				if (p[i] <= 0x20 || p[i] >= 0x7f ||
				    strchr("(){%*\"\\]", p[i]) != NULL)
					return 0;
		}
		p += n;
	}
	return 1;
}
