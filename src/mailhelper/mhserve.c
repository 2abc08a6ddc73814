/*
 * mhserve.c - one connection to the mailbox helper: authentication, then
 * the requests, each answered through imap.c.  See mhserve.h.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/mailauth.h"
#include "common/mailwire.h"
#include "common/monotime.h"
#include "common/sock.h"
#include "common/wire.h"
#include "imap.h"
#include "mhlog.h"
#include "mhserve.h"
#include "mhusers.h"

struct conn {
	const struct mhserve	*sv;
	int			 fd;
	const char		*peer;
	struct imap		*im;	/* the session of the last user */
	uint8_t			*out;	/* MW_FRAME_MAX + header */
	struct mw_msginfo	*infos;	/* for messages_cb() */
};

static int
send_all(struct conn *c, const void *buf, size_t len, int more)
{
	int64_t t = (int64_t)c->sv->conf->idle_timeout * 1000;

	/* The idle timeout, once more per MiB. */
	return sock_send_all(c->fd, buf, len, more, mono_ms() + t +
	    t * (int64_t)(len >> 20));
}

/* Send what w holds: 0 or -1 (logged). */
static int
flush(struct conn *c, struct wire_wr *w)
{
	if (w->overflow) {
		mlog_warnx("%s: an answer did not fit its frame", c->peer);
		return -1;
	}
	if (send_all(c, w->buf, w->len, 0) == -1) {
		mlog_warn("%s: sending", c->peer);
		return -1;
	}
	return 0;
}

/* An ERROR frame with code and text, logged; -1 when it ends the session. */
static int
send_error(struct conn *c, int code, const char *text)
{
	struct wire_wr w;

	if (mw_error_fatal(code))
		mlog_warnx("%s: %s (%s): closing", c->peer, text,
		    mw_error_name(code));
	else
		mlog_info("%s: %s (%s)", c->peer, text, mw_error_name(code));
	wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_error(&w, code, text);
	if (flush(c, &w) == -1 || mw_error_fatal(code))
		return -1;
	return 0;
}

/*
 * Read one frame within the idle timeout: 1 with *h and *p (malloc'ed
 * payload, NULL when empty), 0 when the client closed between frames,
 * -1 after an error frame was sent or the connection broke (logged).
 */
static int
read_frame(struct conn *c, struct wire_hdr *h, uint8_t **p)
{
	uint8_t hb[WIRE_HDR_LEN];
	char why[256];
	int64_t dl = mono_ms() + (int64_t)c->sv->conf->idle_timeout * 1000;
	int r, code;

	*p = NULL;
	if ((r = sock_recv_all(c->fd, hb, sizeof(hb), dl)) == 0)
		return 0;
	if (r == -1) {
		if (errno == ETIMEDOUT) {
			send_error(c, MW_ERR_TIMEOUT, "idle for "
			    "Helper.IdleTimeout");
			return -1;
		}
		if (errno == 0)
			mlog_warnx("%s: closed inside a frame header", c->peer);
		else
			mlog_warn("%s: reading", c->peer);
		return -1;
	}
	wire_hdr_decode(hb, h);
	if ((code = mw_hdr_check(h, c->sv->conf->max_message, why,
	    sizeof(why))) != 0) {
		if (code == MW_ERR_TOO_LARGE && (h->type == MW_APPEND ||
		    h->type == MW_MESSAGE))
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    " (Helper.MaxMessageSize is %u bytes)",
			    c->sv->conf->max_message);
		send_error(c, code, why);
		return -1;
	}
	if (h->len == 0)
		return 1;
	if ((*p = malloc(h->len)) == NULL) {
		send_error(c, MW_ERR_TOO_LARGE, "out of memory for the frame");
		return -1;
	}
	/* Big frames (APPEND) get the timeout once more per MiB. */
	dl += (int64_t)c->sv->conf->idle_timeout * 1000 * (h->len >> 20);
	if ((r = sock_recv_all(c->fd, *p, h->len, dl)) != 1) {
		if (r == -1 && errno == ETIMEDOUT)
			send_error(c, MW_ERR_TIMEOUT, "a frame did not arrive "
			    "within Helper.IdleTimeout");
		else
			mlog_warnx("%s: closed inside a %s frame", c->peer,
			    mw_type_name(h->type));
		free(*p);
		*p = NULL;
		return -1;
	}
	return 1;
}

/*
 * Before the proof a peer is nobody: its PROOF (header and payload)
 * must arrive within AUTH_TIMEOUT_MS of the CHALLENGE, whatever
 * Helper.IdleTimeout is, and no payload is read before the header says
 * PROOF of exactly MW_PROOF_PAYLOAD bytes.
 */
#define AUTH_TIMEOUT_MS	10000

/* Challenge, proof, READY: 0, or -1 (answered and logged). */
static int
authenticate(struct conn *c)
{
	uint8_t nonce[MW_NONCE_LEN], want[MW_PROOF_LEN], got[MW_PROOF_LEN];
	uint8_t hb[WIRE_HDR_LEN], pl[MW_PROOF_PAYLOAD], cnonce[MW_NONCE_LEN];
	struct wire_hdr h;
	struct wire_wr w;
	char why[256];
	int64_t dl;
	int r;

	if (crypto_random(nonce, sizeof(nonce)) == -1) {
		mlog_warnx("%s: no random numbers", c->peer);
		return -1;
	}
	wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_challenge(&w, nonce);
	if (flush(c, &w) == -1)
		return -1;
	dl = mono_ms() + AUTH_TIMEOUT_MS;
	if ((r = sock_recv_all(c->fd, hb, sizeof(hb), dl)) != 1) {
		if (r == -1 && errno == ETIMEDOUT)
			send_error(c, MW_ERR_TIMEOUT, "no proof within 10 "
			    "seconds");
		else if (r == -1 && errno == 0)
			mlog_warnx("%s: closed inside a frame header", c->peer);
		else
			mlog_warnx("%s: closed before its proof", c->peer);
		return -1;
	}
	wire_hdr_decode(hb, &h);
	if (h.type != MW_PROOF) {
		if (mw_type_name(h.type) != NULL)
			snprintf(why, sizeof(why), "%s before the proof",
			    mw_type_name(h.type));
		else
			snprintf(why, sizeof(why), "unknown frame type "
			    "0x%04x before the proof", h.type);
		send_error(c, MW_ERR_UNEXPECTED, why);
		return -1;
	}
	if (h.len != MW_PROOF_PAYLOAD || h.flags != 0) {
		snprintf(why, sizeof(why), "a PROOF of %u bytes (flags 0x%04x)"
		    ", not %d", h.len, h.flags, MW_PROOF_PAYLOAD);
		send_error(c, MW_ERR_MALFORMED, why);
		return -1;
	}
	if ((r = sock_recv_all(c->fd, pl, sizeof(pl), dl)) != 1) {
		if (r == -1 && errno == ETIMEDOUT)
			send_error(c, MW_ERR_TIMEOUT, "no proof within 10 "
			    "seconds");
		else
			mlog_warnx("%s: closed inside its proof", c->peer);
		return -1;
	}
	if ((r = mw_parse_proof(pl, sizeof(pl), cnonce, got, why,
	    sizeof(why))) != 0) {
		send_error(c, r, why);
		return -1;
	}
	mailauth_proof(c->sv->secret, c->sv->secret_len, 0, nonce, cnonce,
	    want);
	if (!crypto_equal(want, got, sizeof(want))) {
		send_error(c, MW_ERR_AUTH, "wrong proof: the client does not "
		    "have Helper.SecretFile's secret");
		return -1;
	}
	/* Ours, so that the client knows it talks to the helper. */
	mailauth_proof(c->sv->secret, c->sv->secret_len, 1, nonce, cnonce,
	    want);
	wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_ready(&w, want);
	crypto_wipe(want, sizeof(want));
	return flush(c, &w);
}

/* The IMAP session for user, opened (again) when needed: 0 or a code. */
static int
session_for(struct conn *c, const char *user, char *err, size_t errlen)
{
	/* "user*master" must name this user and our master, no other. */
	if (strstr(user, c->sv->imap->separator) != NULL) {
		snprintf(err, errlen, "user name \"%s\" holds "
		    "IMAP.MasterSeparator \"%s\"", user,
		    c->sv->imap->separator);
		return MW_ERR_NOMAILBOX;
	}
	if (c->im != NULL && (!imap_alive(c->im) ||
	    strcmp(imap_user(c->im), user) != 0)) {
		imap_close(c->im);
		c->im = NULL;
	}
	if (c->im != NULL)
		return 0;
	return imap_open(c->sv->imap, user, &c->im, err, errlen);
}

/*
 * 1 when rc says the IMAP session broke (Dovecot ends a session whose
 * selected mailbox was deleted; a server restarts): it is closed, and
 * the request may be tried once more on a new one, when nothing of its
 * answer was sent yet and trying again adds nothing twice.
 */
static int
broken(struct conn *c, int rc)
{
	if (rc != MW_ERR_IMAP || c->im == NULL || imap_alive(c->im))
		return 0;
	mlog_info("%s: the IMAP session of %s broke: logging in again",
	    c->peer, imap_user(c->im));
	imap_close(c->im);
	c->im = NULL;
	return 1;
}

/* An answer's outcome: 0 goes on, -1 ends the session. */
static int
outcome(struct conn *c, int rc, const char *err)
{
	if (rc == 0)
		return 0;
	if (rc == -1)
		return -1;	/* the client went away while we sent */
	return send_error(c, rc, err);
}

static int
do_users(struct conn *c)
{
	struct wire_wr w;
	char **v, err[1024];
	size_t n, i, k;

	if (mhusers_list(c->sv->conf, c->sv->conf->imap_timeout, &v, &n, err,
	    sizeof(err)) == -1)
		return send_error(c, MW_ERR_USERS, err);
	for (i = 0; i < n; i += k) {
		k = n - i < MW_USERS_PER_FRAME ? n - i : MW_USERS_PER_FRAME;
		wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
		mw_put_user_names(&w, v + i, k);
		if (flush(c, &w) == -1) {
			mw_strings_free(v, n);
			return -1;
		}
	}
	mw_strings_free(v, n);
	wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_u32(&w, MW_END, (uint32_t)n);
	return flush(c, &w);
}

struct count_arg {
	struct conn	*c;
	uint32_t	 n;
};

static int
mailbox_cb(void *arg, const struct mw_mailbox *m)
{
	struct count_arg *a = arg;
	struct wire_wr w;

	wire_wr_init(&w, a->c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_mailbox(&w, m);
	if (flush(a->c, &w) == -1)
		return -1;
	a->n++;
	return 0;
}

static int
do_mailboxes(struct conn *c, const struct mw_request *q)
{
	struct count_arg a = { c, 0 };
	struct wire_wr w;
	char err[1024];
	int rc;

	for (int tries = 0;; tries++) {
		if ((rc = session_for(c, q->user, err, sizeof(err))) != 0)
			return outcome(c, rc, err);
		rc = imap_mailboxes(c->im, mailbox_cb, &a, err, sizeof(err));
		if (rc == 0 || tries > 0 || a.n > 0 || !broken(c, rc))
			break;
	}
	if (rc != 0) {
		/* Mailboxes were sent already: the list cannot be ended. */
		if (rc != -1 && a.n > 0) {
			send_error(c, MW_ERR_IMAP, err);
			return -1;
		}
		return outcome(c, rc, err);
	}
	wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_u32(&w, MW_END, a.n);
	return flush(c, &w);
}

static int
messages_cb(void *arg, const struct mw_msginfo *in, size_t n)
{
	struct conn *c = arg;
	struct wire_wr w;

	wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_msg_infos(&w, in, n);
	return flush(c, &w);
}

static int
do_messages(struct conn *c, const struct mw_request *q)
{
	struct wire_wr w;
	uint64_t count = 0;
	char err[1024];
	int rc;

	for (int tries = 0;; tries++) {
		if ((rc = session_for(c, q->user, err, sizeof(err))) != 0)
			return outcome(c, rc, err);
		rc = imap_messages(c->im, q->mailbox, q->uidvalidity,
		    messages_cb, c, &count, err, sizeof(err));
		if (rc == 0 || tries > 0 || count > 0 || !broken(c, rc))
			break;
	}
	if (rc != 0) {
		/*
		 * A list cut in the middle (the IMAP server went away) is
		 * not a list: the error ends the session, so the client
		 * cannot take the part for the whole.
		 */
		if (rc != -1 && count > 0) {
			send_error(c, MW_ERR_IMAP, err);
			return -1;
		}
		return outcome(c, rc, err);
	}
	wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_u32(&w, MW_END, (uint32_t)count);
	return flush(c, &w);
}

static int
do_fetch(struct conn *c, const struct mw_request *q)
{
	struct wire_wr w;
	uint8_t hb[WIRE_HDR_LEN], *data;
	size_t len;
	char err[1024];
	int rc;

	for (int tries = 0;; tries++) {
		if ((rc = session_for(c, q->user, err, sizeof(err))) != 0)
			return outcome(c, rc, err);
		rc = (q->type == MW_FETCH_HEADER ? imap_fetch_headers :
		    imap_fetch)(c->im, q->mailbox, q->uidvalidity, q->uid,
		    &data, &len, err, sizeof(err));
		if (rc == 0 || tries > 0 || !broken(c, rc))
			break;
	}
	if (rc != 0)
		return outcome(c, rc, err);
	wire_wr_init(&w, hb, sizeof(hb));
	mw_put_message_hdr(&w, q->type == MW_FETCH_HEADER ? MW_HEADER :
	    MW_MESSAGE, len);
	rc = 0;
	/* The header says more is coming: one segment with the bytes. */
	if (w.overflow || send_all(c, hb, w.len, MSG_MORE) == -1 ||
	    send_all(c, data, len, 0) == -1) {
		mlog_warn("%s: sending a message of %zu bytes", c->peer, len);
		rc = -1;
	}
	free(data);
	return rc;
}

static int
do_create(struct conn *c, const struct mw_request *q)
{
	struct wire_wr w;
	char err[1024];
	int rc;

	/* CREATE looks first: trying again creates nothing twice. */
	for (int tries = 0;; tries++) {
		if ((rc = session_for(c, q->user, err, sizeof(err))) != 0)
			return outcome(c, rc, err);
		rc = imap_create(c->im, q->mailbox, err, sizeof(err));
		if (rc == 0 || tries > 0 || !broken(c, rc))
			break;
	}
	if (rc != 0)
		return outcome(c, rc, err);
	mlog_info("%s: %s of %s exists (CREATE)", c->peer, q->mailbox,
	    q->user);
	wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_u32(&w, MW_DONE, 0);
	return flush(c, &w);
}

static int
do_append(struct conn *c, const struct mw_request *q)
{
	struct wire_wr w;
	uint32_t uid = 0;
	char err[1024];
	int rc;

	if (q->len > c->sv->conf->max_message) {
		snprintf(err, sizeof(err), "a message of %zu bytes, more than "
		    "Helper.MaxMessageSize (%u)", q->len,
		    c->sv->conf->max_message);
		return send_error(c, MW_ERR_MSG_TOO_LARGE, err);
	}
	/*
	 * An APPEND is never tried twice (the server may have stored it
	 * before the session broke): a session kept from an earlier
	 * request is checked with NOOP first.
	 */
	if (c->im != NULL && strcmp(imap_user(c->im), q->user) == 0 &&
	    imap_alive(c->im) && (rc = imap_noop(c->im, err,
	    sizeof(err))) != 0 && !broken(c, rc))
		return outcome(c, rc, err);
	if ((rc = session_for(c, q->user, err, sizeof(err))) != 0 ||
	    (rc = imap_append(c->im, q->mailbox, q->flags, q->date, q->tzoff,
	    q->data, q->len, &uid, err, sizeof(err))) != 0)
		return outcome(c, rc, err);
	mlog_info("%s: appended %zu bytes to %s of %s (UID %u)", c->peer,
	    q->len, q->mailbox, q->user, uid);
	wire_wr_init(&w, c->out, WIRE_HDR_LEN + MW_FRAME_MAX);
	mw_put_u32(&w, MW_DONE, uid);
	return flush(c, &w);
}

/*
 * Close fd so that the client reads our last frame: no more from us,
 * then what it still sends (the rest of a refused APPEND) is read and
 * dropped for up to LINGER_MS, so that the kernel does not answer it
 * with a reset that would discard the ERROR frame on its way.
 */
#define LINGER_MS	2000
static void
linger_close(int fd)
{
	uint8_t buf[65536];
	int64_t dl = mono_ms() + LINGER_MS;
	ssize_t n;

	if (shutdown(fd, SHUT_WR) == 0)
		for (;;) {
			if ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
				continue;
			if (n == 0 || (errno != EAGAIN && errno != EINTR) ||
			    sock_wait(fd, POLLIN, dl) != 1)
				break;
		}
	close(fd);
}

void
mhserve_conn(const struct mhserve *sv, int fd, const char *peer)
{
	struct conn c;
	struct mw_request q;
	struct wire_hdr h;
	uint8_t *p;
	char why[256];
	int r, n = 0;

	memset(&c, 0, sizeof(c));
	c.sv = sv;
	c.fd = fd;
	c.peer = peer;
	if ((c.out = malloc(WIRE_HDR_LEN + MW_FRAME_MAX)) == NULL) {
		mlog_warnx("%s: out of memory", peer);
		close(fd);
		return;
	}
	if (authenticate(&c) == -1)
		goto out;
	mlog_debug("%s: authenticated", peer);
	for (;;) {
		if ((r = read_frame(&c, &h, &p)) != 1) {
			if (r == 0)
				mlog_debug("%s: closed after %d requests",
				    peer, n);
			break;
		}
		if ((r = mw_parse_request(h.type, p, h.len, &q, why,
		    sizeof(why))) != 0) {
			free(p);
			send_error(&c, r, why);
			break;
		}
		n++;
		switch (q.type) {
		case MW_USERS:
			r = do_users(&c);
			break;
		case MW_MAILBOXES:
			r = do_mailboxes(&c, &q);
			break;
		case MW_MESSAGES:
			r = do_messages(&c, &q);
			break;
		case MW_FETCH:
		case MW_FETCH_HEADER:
			r = do_fetch(&c, &q);
			break;
		case MW_CREATE:
			r = do_create(&c, &q);
			break;
		case MW_APPEND:
			r = do_append(&c, &q);
			break;
		default:
			r = send_error(&c, MW_ERR_UNEXPECTED, "not a request");
		}
		free(p);
		if (r == -1)
			break;
	}
out:
	imap_close(c.im);
	free(c.out);
	linger_close(fd);
}
