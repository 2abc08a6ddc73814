/*
 * unit-mailwire.c - src/common/mailwire.c: every frame encoded and
 * decoded back, every short payload refused, the limits and the error
 * table.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/mailauth.h"
#include "common/mailwire.h"
#include "common/wire.h"
#include "tap.h"

static uint8_t	buf[2 * MW_FRAME_MAX];

/* The payload of the one frame in w, checked against its header. */
static const uint8_t *
payload(struct wire_wr *w, uint16_t type, size_t *len)
{
	struct wire_hdr h;
	char why[256];

	wire_hdr_decode(w->buf, &h);
	ok(!w->overflow && h.type == type && h.len + WIRE_HDR_LEN == w->len &&
	    mw_hdr_check(&h, MW_MESSAGE_MAX, why, sizeof(why)) == 0,
	    mw_type_name(type));
	*len = h.len;
	return w->buf + WIRE_HDR_LEN;
}

/* Every prefix of p[0..len) but the whole is refused by parse. */
static int
short_refused(int (*parse)(const uint8_t *, size_t), const uint8_t *p,
    size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (parse(p, i) == 0)
			return 0;
	return 1;
}

static int
p_request_append(const uint8_t *p, size_t len)
{
	struct mw_request q;
	char why[256];

	return mw_parse_request(MW_APPEND, p, len, &q, why, sizeof(why));
}

static int
p_infos(const uint8_t *p, size_t len)
{
	static struct mw_msginfo in[MW_INFOS_PER_FRAME];
	char why[256];
	size_t n;

	return mw_parse_msg_infos(p, len, in, &n, why, sizeof(why));
}

static int
p_mailbox(const uint8_t *p, size_t len)
{
	struct mw_mailbox m;
	char why[256];

	return mw_parse_mailbox(p, len, &m, why, sizeof(why));
}

int
main(void)
{
	struct wire_wr w;
	struct wire_hdr h;
	struct mw_request q, r;
	struct mw_mailbox m, m2;
	static struct mw_msginfo in[3], out[MW_INFOS_PER_FRAME];
	uint8_t nonce[MW_NONCE_LEN], n2[MW_NONCE_LEN];
	const uint8_t *p;
	char why[256], text[MW_ERROR_MAX + 1], **names;
	char *users[] = { "alice", "bob@example.org" };
	size_t len, n;
	int code;

	/* CHALLENGE round trip; a wrong magic and version refused. */
	memset(nonce, 0xa5, sizeof(nonce));
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_challenge(&w, nonce);
	p = payload(&w, MW_CHALLENGE, &len);
	ok(mw_parse_challenge(p, len, n2, why, sizeof(why)) == 0 &&
	    memcmp(nonce, n2, sizeof(n2)) == 0, "CHALLENGE decodes");
	buf[WIRE_HDR_LEN] = 'X';
	ok(mw_parse_challenge(p, len, n2, why, sizeof(why)) ==
	    MW_ERR_MALFORMED && strstr(why, "magic") != NULL,
	    "a CHALLENGE without the magic is refused");
	buf[WIRE_HDR_LEN] = 'G';
	buf[WIRE_HDR_LEN + MW_MAGIC_LEN + 1] = 9;
	ok(mw_parse_challenge(p, len, n2, why, sizeof(why)) ==
	    MW_ERR_VERSION, "another version is refused");

	/*
	 * PROOF (the client's nonce and proof) and READY (the helper's
	 * proof) round trip; the two proofs are labelled and ordered so
	 * that neither is the other, nor the same with the nonces swapped.
	 */
	{
		static const uint8_t secret[] = "0123456789abcdef0123";
		uint8_t hn[MW_NONCE_LEN], cn[MW_NONCE_LEN], cp[MW_PROOF_LEN];
		uint8_t hp[MW_PROOF_LEN], x[MW_PROOF_LEN], n3[MW_NONCE_LEN];
		uint8_t msg[6 + 2 * MW_NONCE_LEN];

		memset(hn, 0x11, sizeof(hn));
		memset(cn, 0x22, sizeof(cn));
		mailauth_proof(secret, 20, 0, hn, cn, cp);
		mailauth_proof(secret, 20, 1, hn, cn, hp);
		memcpy(msg, "client", 6);
		memcpy(msg + 6, hn, MW_NONCE_LEN);
		memcpy(msg + 6 + MW_NONCE_LEN, cn, MW_NONCE_LEN);
		crypto_hmac(secret, 20, msg, sizeof(msg), NULL, 0, x);
		ok(memcmp(x, cp, sizeof(x)) == 0, "the client's proof is "
		    "HMAC(secret, \"client\" || helper nonce || client "
		    "nonce)");
		memcpy(msg, "helper", 6);
		memcpy(msg + 6, cn, MW_NONCE_LEN);
		memcpy(msg + 6 + MW_NONCE_LEN, hn, MW_NONCE_LEN);
		crypto_hmac(secret, 20, msg, sizeof(msg), NULL, 0, x);
		ok(memcmp(x, hp, sizeof(x)) == 0, "the helper's proof is "
		    "HMAC(secret, \"helper\" || client nonce || helper "
		    "nonce)");
		mailauth_proof(secret, 20, 0, cn, hn, x);
		ok(memcmp(cp, hp, sizeof(cp)) != 0 &&
		    memcmp(x, cp, sizeof(x)) != 0,
		    "the two proofs differ, and differ with the nonces swapped");
		wire_wr_init(&w, buf, sizeof(buf));
		mw_put_proof(&w, cn, cp);
		p = payload(&w, MW_PROOF, &len);
		ok(len == MW_PROOF_PAYLOAD && mw_parse_proof(p, len, n3, x,
		    why, sizeof(why)) == 0 && memcmp(n3, cn, sizeof(cn)) ==
		    0 && memcmp(x, cp, sizeof(cp)) == 0, "PROOF decodes");
		ok(mw_parse_proof(p, MW_PROOF_LEN, n3, x, why, sizeof(why)) ==
		    MW_ERR_MALFORMED, "a PROOF without the nonce (version 1) "
		    "is refused");
		wire_wr_init(&w, buf, sizeof(buf));
		mw_put_ready(&w, hp);
		p = payload(&w, MW_READY, &len);
		ok(mw_parse_ready(p, len, x, why, sizeof(why)) == 0 &&
		    memcmp(x, hp, sizeof(hp)) == 0, "READY decodes");
		ok(mw_parse_ready(p, 0, x, why, sizeof(why)) ==
		    MW_ERR_MALFORMED, "an empty READY (no proof) is refused");
	}

	/* Requests: each type round trips; short payloads are refused. */
	memset(&q, 0, sizeof(q));
	q.type = MW_APPEND;
	snprintf(q.user, sizeof(q.user), "alice");
	snprintf(q.mailbox, sizeof(q.mailbox), "Work/Projects");
	snprintf(q.flags, sizeof(q.flags), "\\Seen $Label1");
	q.date = 1600000000;
	q.tzoff = -300;
	q.data = (const uint8_t *)"Subject: x\r\n\r\nbody\r\n";
	q.len = strlen((const char *)q.data);
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	ok(w.len == mw_request_size(&q), "mw_request_size() is exact");
	p = payload(&w, MW_APPEND, &len);
	ok(mw_parse_request(MW_APPEND, p, len, &r, why, sizeof(why)) == 0 &&
	    strcmp(r.user, "alice") == 0 &&
	    strcmp(r.mailbox, "Work/Projects") == 0 &&
	    strcmp(r.flags, q.flags) == 0 && r.date == q.date &&
	    r.tzoff == -300 && r.len == q.len &&
	    memcmp(r.data, q.data, q.len) == 0, "APPEND decodes");
	ok(short_refused(p_request_append, p, len),
	    "every short APPEND is refused");
	q.tzoff = 1440;
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	p = payload(&w, MW_APPEND, &len);
	ok(mw_parse_request(MW_APPEND, p, len, &r, why, sizeof(why)) ==
	    MW_ERR_MALFORMED, "an offset of a day or more is refused");
	q.tzoff = 60;
	snprintf(q.flags, sizeof(q.flags), "(bad");
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	p = payload(&w, MW_APPEND, &len);
	ok(mw_parse_request(MW_APPEND, p, len, &r, why, sizeof(why)) ==
	    MW_ERR_MALFORMED, "flags IMAP cannot carry are refused");

	q.type = MW_FETCH;
	q.uidvalidity = 77;
	q.uid = 12345;
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	ok(w.len == mw_request_size(&q), "FETCH: mw_request_size() is exact");
	p = payload(&w, MW_FETCH, &len);
	ok(mw_parse_request(MW_FETCH, p, len, &r, why, sizeof(why)) == 0 &&
	    r.uidvalidity == 77 && r.uid == 12345, "FETCH decodes");
	ok(mw_parse_request(MW_MESSAGES, p, len, &r, why, sizeof(why)) ==
	    MW_ERR_MALFORMED, "a FETCH payload is not a MESSAGES one");
	q.type = MW_FETCH_HEADER;
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	ok(w.len == mw_request_size(&q), "FETCH_HEADER: mw_request_size() "
	    "is exact");
	p = payload(&w, MW_FETCH_HEADER, &len);
	ok(mw_parse_request(MW_FETCH_HEADER, p, len, &r, why,
	    sizeof(why)) == 0 && r.type == MW_FETCH_HEADER &&
	    r.uidvalidity == 77 && r.uid == 12345, "FETCH_HEADER decodes");
	q.uid = 0;
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	p = payload(&w, MW_FETCH_HEADER, &len);
	ok(mw_parse_request(MW_FETCH_HEADER, p, len, &r, why,
	    sizeof(why)) == MW_ERR_MALFORMED, "FETCH_HEADER of UID 0 is "
	    "malformed");
	q.uid = 12345;
	ok(mw_parse_request(MW_HEADER, p, len, &r, why, sizeof(why)) ==
	    MW_ERR_UNEXPECTED, "HEADER is not a request");
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_message_hdr(&w, MW_HEADER, MW_FRAME_MAX + 1);
	ok(w.overflow, "a HEADER above MW_FRAME_MAX does not encode");
	ok(mw_parse_request(MW_MAILBOX, p, len, &r, why, sizeof(why)) ==
	    MW_ERR_UNEXPECTED, "MAILBOX is not a request");
	q.type = MW_MAILBOXES;
	q.user[0] = '\0';
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	p = payload(&w, MW_MAILBOXES, &len);
	ok(mw_parse_request(MW_MAILBOXES, p, len, &r, why, sizeof(why)) ==
	    MW_ERR_MALFORMED, "an empty user name is refused");
	q.type = MW_CREATE;
	snprintf(q.user, sizeof(q.user), "alice");
	snprintf(q.mailbox, sizeof(q.mailbox), "x\r\nA1 DELETE INBOX");
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	p = payload(&w, MW_CREATE, &len);
	ok(mw_parse_request(MW_CREATE, p, len, &r, why, sizeof(why)) ==
	    MW_ERR_MALFORMED, "a mailbox name with CR LF is refused");
	q.type = MW_USERS;
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	p = payload(&w, MW_USERS, &len);
	ok(len == 0 && mw_parse_request(MW_USERS, p, len, &r, why,
	    sizeof(why)) == 0, "USERS is empty");
	memset(q.mailbox, 'm', sizeof(q.mailbox) - 1);
	q.mailbox[MW_MAILBOX_MAX] = '\0';
	snprintf(q.user, sizeof(q.user), "u");
	q.type = MW_CREATE;
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_request(&w, &q);
	p = payload(&w, MW_CREATE, &len);
	ok(mw_parse_request(MW_CREATE, p, len, &r, why, sizeof(why)) == 0 &&
	    strlen(r.mailbox) == MW_MAILBOX_MAX,
	    "a mailbox name at its limit is taken");

	/* Answers. */
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_user_names(&w, users, 2);
	p = payload(&w, MW_USER_NAMES, &len);
	ok(mw_parse_user_names(p, len, &names, &n, why, sizeof(why)) == 0 &&
	    n == 2 && strcmp(names[1], "bob@example.org") == 0,
	    "USER_NAMES decodes");
	mw_strings_free(names, n);

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "Sent");
	m.delim = '/';
	m.uidvalidity = 1796609947;
	m.uidnext = 5;
	m.messages = 4;
	snprintf(m.special, sizeof(m.special), "\\Sent");
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_mailbox(&w, &m);
	p = payload(&w, MW_MAILBOX, &len);
	memset(&m2, 0, sizeof(m2));
	ok(mw_parse_mailbox(p, len, &m2, why, sizeof(why)) == 0 &&
	    memcmp(&m, &m2, sizeof(m)) == 0, "MAILBOX decodes");
	ok(short_refused(p_mailbox, p, len), "every short MAILBOX is refused");

	memset(in, 0, sizeof(in));
	for (int i = 0; i < 3; i++) {
		in[i].uid = (uint32_t)(i + 1) * 10;
		in[i].size = 1000 + (uint64_t)i;
		in[i].date = 1700000000 + i;
		in[i].tzoff = i == 2 ? -480 : 60;
		snprintf(in[i].flags, sizeof(in[i].flags), i ? "\\Seen" : "");
	}
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_msg_infos(&w, in, 3);
	p = payload(&w, MW_MSG_INFOS, &len);
	ok(mw_parse_msg_infos(p, len, out, &n, why, sizeof(why)) == 0 &&
	    n == 3 && memcmp(in, out, 3 * sizeof(in[0])) == 0,
	    "MSG_INFOS decodes");
	ok(short_refused(p_infos, p, len), "every short MSG_INFOS is refused");

	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_error(&w, MW_ERR_STALE, "UIDVALIDITY is 2, not 1");
	p = payload(&w, MW_ERROR, &len);
	ok(mw_parse_error(p, len, &code, text, why, sizeof(why)) == 0 &&
	    code == MW_ERR_STALE && strcmp(text, "UIDVALIDITY is 2, not 1") ==
	    0, "ERROR decodes");

	/* Limits and the error table. */
	h.type = MW_APPEND;
	h.flags = 0;
	h.len = mw_type_max(MW_APPEND, 1u << 20) + 1;
	ok(mw_hdr_check(&h, 1u << 20, why, sizeof(why)) == MW_ERR_TOO_LARGE,
	    "an APPEND above the helper's message limit is too large");
	h.type = MW_USERS;
	h.len = 1;
	ok(mw_hdr_check(&h, MW_MESSAGE_MAX, why, sizeof(why)) ==
	    MW_ERR_TOO_LARGE, "USERS with a payload is too large");
	h.type = 0x7777;
	ok(mw_hdr_check(&h, MW_MESSAGE_MAX, why, sizeof(why)) ==
	    MW_ERR_UNEXPECTED, "an unknown type is unexpected");
	h.type = MW_PROOF;
	h.flags = 1;
	h.len = MW_PROOF_PAYLOAD;
	ok(mw_hdr_check(&h, MW_MESSAGE_MAX, why, sizeof(why)) ==
	    MW_ERR_MALFORMED, "flags are malformed");
	ok(mw_type_max(MW_MESSAGE, UINT32_MAX) == MW_MESSAGE_MAX,
	    "no message above MW_MESSAGE_MAX");
	ok(mw_error_fatal(MW_ERR_AUTH) && !mw_error_fatal(MW_ERR_GONE) &&
	    strcmp(mw_error_name(MW_ERR_STALE), "stale") == 0 &&
	    strcmp(mw_error_name(999), "unknown") == 0, "the error table");
	ok(mw_flags_valid("") && mw_flags_valid("\\Seen \\flagged $Junk") &&
	    !mw_flags_valid("\\Bogus") && !mw_flags_valid("a\"b") &&
	    !mw_flags_valid("x\x01"), "mw_flags_valid()");
	return tap_done();
}
