/*
 * fuzz-mailwire.c - libFuzzer harness: the mailbox helper's frames
 * (common/mailwire.c), both directions.  The input is a run of frames:
 * each header is checked (mw_hdr_check(), a small message limit so that
 * APPEND's limit is reached), each payload parsed by the parser of its
 * type.  A request, MAILBOX, MSG_INFOS or USER_NAMES that parses must
 * encode back to the same bytes; a difference aborts.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mailwire.h"
#include "common/wire.h"

#define MAXMSG	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint8_t	out[2 * MW_FRAME_MAX];

/* The frame in w must be the header h and payload p. */
static void
same(const struct wire_wr *w, const struct wire_hdr *h, const uint8_t *p)
{
	if (w->overflow || w->len != WIRE_HDR_LEN + h->len ||
	    memcmp(w->buf + WIRE_HDR_LEN, p, h->len) != 0)
		abort();	/* decode and encode disagree */
}

static void
one(const struct wire_hdr *h, const uint8_t *p)
{
	static struct mw_msginfo in[MW_INFOS_PER_FRAME];
	struct mw_request q;
	struct mw_mailbox m;
	struct wire_wr w;
	uint8_t nonce[MW_NONCE_LEN], proof[MW_PROOF_LEN];
	char why[256], text[MW_ERROR_MAX + 1], **names;
	size_t n;
	uint32_t v;
	int code;

	wire_wr_init(&w, out, sizeof(out));
	switch (h->type) {
	case MW_CHALLENGE:
		if (mw_parse_challenge(p, h->len, nonce, why, sizeof(why)) ==
		    0) {
			mw_put_challenge(&w, nonce);
			same(&w, h, p);
		}
		return;
	case MW_PROOF:
		if (mw_parse_proof(p, h->len, nonce, proof, why,
		    sizeof(why)) == 0) {
			mw_put_proof(&w, nonce, proof);
			same(&w, h, p);
		}
		return;
	case MW_READY:
		if (mw_parse_ready(p, h->len, proof, why, sizeof(why)) == 0) {
			mw_put_ready(&w, proof);
			same(&w, h, p);
		}
		return;
	case MW_DONE:
	case MW_END:
		(void)mw_parse_u32(p, h->len, &v, why, sizeof(why));
		return;
	case MW_ERROR:
		(void)mw_parse_error(p, h->len, &code, text, why, sizeof(why));
		return;
	case MW_USER_NAMES:
		if (mw_parse_user_names(p, h->len, &names, &n, why,
		    sizeof(why)) == 0) {
			mw_put_user_names(&w, names, n);
			mw_strings_free(names, n);
			same(&w, h, p);
		}
		return;
	case MW_MAILBOX:
		if (mw_parse_mailbox(p, h->len, &m, why, sizeof(why)) == 0) {
			mw_put_mailbox(&w, &m);
			same(&w, h, p);
		}
		return;
	case MW_MSG_INFOS:
		if (mw_parse_msg_infos(p, h->len, in, &n, why,
		    sizeof(why)) == 0) {
			mw_put_msg_infos(&w, in, n);
			same(&w, h, p);
		}
		return;
	}
	if (mw_parse_request(h->type, p, h->len, &q, why, sizeof(why)) != 0)
		return;
	(void)mw_flags_valid(q.flags);
	if (mw_request_size(&q) != WIRE_HDR_LEN + h->len)
		abort();
	mw_put_request(&w, &q);
	same(&w, h, p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_hdr h;
	char why[256];

	while (size >= WIRE_HDR_LEN) {
		wire_hdr_decode(data, &h);
		(void)mw_type_name(h.type);
		if (mw_hdr_check(&h, MAXMSG, why, sizeof(why)) != 0)
			return 0;
		data += WIRE_HDR_LEN;
		size -= WIRE_HDR_LEN;
		if (h.len > size)
			return 0;
		one(&h, data);
		data += h.len;
		size -= h.len;
	}
	return 0;
}
