/*
 * mhclient.c - the client of the mailbox helper on Ports.MAPI32Bit:
 * connect, prove the secret, one request at a time.  See mhclient.h.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
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
#include "mhclient.h"

struct mh_conn {
	int		 fd;
	int		 timeout_ms;
	int		 dead;		/* the session ended: every call fails */
	char		 where[300];	/* "127.0.0.1:32008" for messages */
};

/* One frame read: its header and payload (malloc'ed, or NULL when 0). */
struct frame {
	struct wire_hdr	 h;
	uint8_t		*p;
};

static int
send_all(struct mh_conn *c, const void *buf, size_t len, int64_t dl)
{
	return sock_send_all(c->fd, buf, len, 0, dl);
}

/* Read exactly len bytes: 0, or -1 with errno (0: the peer closed). */
static int
recv_all(struct mh_conn *c, void *buf, size_t len, int64_t dl)
{
	int r = sock_recv_all(c->fd, buf, len, dl);

	if (r == 0)
		errno = 0;
	return r == 1 ? 0 : -1;
}

/* The session is over: close, and fail every later call. */
static void
kill_conn(struct mh_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->dead = 1;
}

static int
io_error(struct mh_conn *c, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "mailbox helper %s: %s: %s", c->where, what,
	    errno == 0 ? "connection closed" : strerror(errno));
	kill_conn(c);
	return -1;
}

/*
 * Read one frame (the deadline restarts for each): 0, or -1 with err and
 * the connection ended.  An ERROR frame is returned like any other.
 */
static int
read_frame(struct mh_conn *c, struct frame *f, char *err, size_t errlen)
{
	uint8_t hb[WIRE_HDR_LEN];
	char why[256];
	int64_t dl = mono_ms() + c->timeout_ms;

	f->p = NULL;
	if (recv_all(c, hb, sizeof(hb), dl) == -1)
		return io_error(c, "reading an answer", err, errlen);
	wire_hdr_decode(hb, &f->h);
	if (mw_hdr_check(&f->h, MW_MESSAGE_MAX, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "mailbox helper %s: %s", c->where, why);
		kill_conn(c);
		return -1;
	}
	if (f->h.len == 0)
		return 0;
	if ((f->p = malloc(f->h.len)) == NULL) {
		snprintf(err, errlen, "out of memory for a frame of %u bytes",
		    f->h.len);
		kill_conn(c);
		return -1;
	}
	/* A message gets the timeout per MiB on top of the first. */
	dl += (int64_t)c->timeout_ms * (f->h.len >> 20);
	if (recv_all(c, f->p, f->h.len, dl) == -1) {
		free(f->p);
		f->p = NULL;
		return io_error(c, "reading an answer", err, errlen);
	}
	return 0;
}

/*
 * An ERROR frame's meaning for the caller, with err: MH_STALE, MH_GONE,
 * MH_REFUSED (another error that answered one request), or -1 when the
 * code ends the connection (it is then ended here too).
 */
static int
got_error(struct mh_conn *c, const struct frame *f, char *err,
    size_t errlen)
{
	char text[MW_ERROR_MAX + 1], why[256];
	int code;

	if (mw_parse_error(f->p, f->h.len, &code, text, why,
	    sizeof(why)) != 0) {
		snprintf(err, errlen, "mailbox helper %s: %s", c->where, why);
		kill_conn(c);
		return -1;
	}
	snprintf(err, errlen, "mailbox helper %s: %s (%s)", c->where, text,
	    mw_error_name(code));
	if (code == MW_ERR_STALE)
		return MH_STALE;
	if (code == MW_ERR_GONE)
		return MH_GONE;
	if (mw_error_fatal(code)) {
		kill_conn(c);
		return -1;
	}
	return MH_REFUSED;
}

/*
 * An ERROR frame in the middle of a list: the helper ends the session
 * after it (a list cut short cannot be ended), so the connection is
 * ended here too and the result is -1.
 */
static int
error_in_list(struct mh_conn *c, const struct frame *f, char *err,
    size_t errlen)
{
	(void)got_error(c, f, err, errlen);
	kill_conn(c);
	return -1;
}

/* A frame of a type we did not expect: the session is broken. */
static int
unexpected(struct mh_conn *c, const struct frame *f, const char *when,
    char *err, size_t errlen)
{
	snprintf(err, errlen, "mailbox helper %s: %s frame %s",
	    c->where, mw_type_name(f->h.type), when);
	kill_conn(c);
	return -1;
}

/*
 * The END of a list of what (frees f's payload): 0 when its count is
 * sent, else -1 with err and the session ended.
 */
static int
end_of(struct mh_conn *c, struct frame *f, uint64_t sent, const char *what,
    char *err, size_t errlen)
{
	char why[256];
	uint32_t end;
	int rc;

	rc = mw_parse_u32(f->p, f->h.len, &end, why, sizeof(why));
	free(f->p);
	f->p = NULL;
	if (rc == 0 && end == sent)
		return 0;
	snprintf(err, errlen, "mailbox helper %s: END of %s %s", c->where,
	    what, rc != 0 ? why : "does not match the count sent");
	kill_conn(c);
	return -1;
}

/* Send request q: 0, or -1 with err. */
static int
send_request(struct mh_conn *c, const struct mw_request *q, char *err,
    size_t errlen)
{
	struct wire_wr w;
	size_t n = mw_request_size(q);
	uint8_t *buf;
	int rc;

	if (c->dead) {
		snprintf(err, errlen, "mailbox helper %s: connection closed",
		    c->where);
		return -1;
	}
	if (strlen(q->user) > MW_USER_MAX || strlen(q->mailbox) >
	    MW_MAILBOX_MAX || strlen(q->flags) > MW_FLAGS_MAX ||
	    q->len > MW_MESSAGE_MAX) {
		snprintf(err, errlen, "a user name (%d bytes at most), "
		    "mailbox name (%d), flags (%d) or message (%u) too long",
		    MW_USER_MAX, MW_MAILBOX_MAX, MW_FLAGS_MAX,
		    MW_MESSAGE_MAX);
		return -1;
	}
	if ((buf = malloc(n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	wire_wr_init(&w, buf, n);
	mw_put_request(&w, q);
	if (w.overflow) {
		free(buf);
		snprintf(err, errlen, "cannot encode the request");
		return -1;
	}
	rc = send_all(c, buf, w.len, mono_ms() + c->timeout_ms +
	    (int64_t)c->timeout_ms * (w.len >> 20));
	free(buf);
	if (rc == -1) {
		struct frame f;
		int e = errno;

		/* The helper may have said why before it stopped reading. */
		if (sock_wait(c->fd, POLLIN, mono_ms()) == 1 &&
		    read_frame(c, &f, err, errlen) == 0) {
			if (f.h.type == MW_ERROR)
				(void)got_error(c, &f, err, errlen);
			free(f.p);
			if (f.h.type == MW_ERROR) {
				kill_conn(c);
				return -1;
			}
		}
		errno = e;
		return io_error(c, "sending a request", err, errlen);
	}
	return 0;
}

/* A request's struct with user and mailbox copied (checked later). */
static void
request(struct mw_request *q, uint16_t type, const char *user,
    const char *mailbox)
{
	memset(q, 0, sizeof(*q));
	q->type = type;
	if (user != NULL)
		snprintf(q->user, sizeof(q->user), "%s", user);
	if (mailbox != NULL)
		snprintf(q->mailbox, sizeof(q->mailbox), "%s", mailbox);
}

/* user and mailbox fit (a cut copy would name another mailbox). */
static int
fits(const char *user, const char *mailbox, char *err, size_t errlen)
{
	if ((user != NULL && (user[0] == '\0' ||
	    strlen(user) > MW_USER_MAX)) || (mailbox != NULL &&
	    (mailbox[0] == '\0' || strlen(mailbox) > MW_MAILBOX_MAX))) {
		snprintf(err, errlen, "a user name is 1 to %d bytes, a mailbox "
		    "name 1 to %d", MW_USER_MAX, MW_MAILBOX_MAX);
		return 0;
	}
	return 1;
}

int
mh_connect(const char *host, int port, const char *secretfile,
    int timeout_s, struct mh_conn **out, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	uint8_t secret[MW_SECRET_MAX], nonce[MW_NONCE_LEN];
	uint8_t cnonce[MW_NONCE_LEN], proof[MW_PROOF_LEN], got[MW_PROOF_LEN];
	uint8_t buf[WIRE_HDR_LEN + MW_PROOF_PAYLOAD];
	struct wire_wr w;
	struct mh_conn *c;
	struct frame f;
	char portstr[8], why[256];
	size_t slen;
	int64_t dl;
	int rc, e = 0, on = 1;

	*out = NULL;
	if (host == NULL)
		host = "127.0.0.1";
	if (timeout_s <= 0)
		timeout_s = 30;
	if (mailauth_read_secret(secretfile, secret, &slen, err,
	    errlen) == -1)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		crypto_wipe(secret, sizeof(secret));
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->fd = -1;
	c->timeout_ms = timeout_s * 1000;
	snprintf(c->where, sizeof(c->where), strchr(host, ':') ?
	    "[%s]:%d" : "%s:%d", host, port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		goto fail;
	}
	dl = mono_ms() + c->timeout_ms;
	for (ai = res; ai != NULL && c->fd == -1; ai = ai->ai_next) {
		c->fd = sock_connect(ai, dl);
		e = errno;
		if (mono_left(dl) == 0)
			break;
	}
	freeaddrinfo(res);
	if (c->fd == -1) {
		snprintf(err, errlen, "no mailbox helper answers on %s: %s "
		    "(is gigavault-mailhelper running?)", c->where,
		    strerror(e));
		goto fail;
	}
	/* One request, then its answer: no waiting for more to send. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (read_frame(c, &f, err, errlen) == -1)
		goto fail;
	if (f.h.type == MW_ERROR) {
		(void)got_error(c, &f, err, errlen);
		free(f.p);
		goto fail;
	}
	if (f.h.type != MW_CHALLENGE) {
		unexpected(c, &f, "instead of CHALLENGE", err, errlen);
		free(f.p);
		goto fail;
	}
	rc = mw_parse_challenge(f.p, f.h.len, nonce, why, sizeof(why));
	free(f.p);
	if (rc != 0) {
		snprintf(err, errlen, "mailbox helper %s: %s", c->where, why);
		goto fail;
	}
	if (crypto_random(cnonce, sizeof(cnonce)) == -1) {
		snprintf(err, errlen, "no random numbers");
		goto fail;
	}
	mailauth_proof(secret, slen, 0, nonce, cnonce, proof);
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_proof(&w, cnonce, proof);
	if (send_all(c, buf, w.len, mono_ms() + c->timeout_ms) == -1) {
		io_error(c, "sending the proof", err, errlen);
		goto fail;
	}
	if (read_frame(c, &f, err, errlen) == -1)
		goto fail;
	if (f.h.type == MW_ERROR) {
		(void)got_error(c, &f, err, errlen);
		free(f.p);
		goto fail;
	}
	if (f.h.type != MW_READY) {
		snprintf(err, errlen, "mailbox helper %s: %s frame instead of "
		    "READY", c->where, mw_type_name(f.h.type));
		free(f.p);
		goto fail;
	}
	rc = mw_parse_ready(f.p, f.h.len, got, why, sizeof(why));
	free(f.p);
	/* Nothing is sent before the helper has proved the secret too. */
	mailauth_proof(secret, slen, 1, nonce, cnonce, proof);
	if (rc != 0 || !crypto_equal(proof, got, sizeof(proof))) {
		snprintf(err, errlen, "%s:%d is not the mailbox helper: it "
		    "does not prove Mail.SecretFile's secret (%s); nothing "
		    "was sent to it", host, port, rc != 0 ? why :
		    "wrong proof");
		goto fail;
	}
	crypto_wipe(secret, sizeof(secret));
	*out = c;
	return 0;

fail:
	crypto_wipe(secret, sizeof(secret));
	mh_close(c);
	return -1;
}

void
mh_close(struct mh_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

void
mh_strings_free(char **v, size_t n)
{
	mw_strings_free(v, n);
}

int
mh_users(struct mh_conn *c, char ***users, size_t *n, char *err,
    size_t errlen)
{
	struct mw_request q;
	struct frame f;
	char **v = NULL, **part, **nv, why[256];
	size_t nv_n = 0, np, i;
	int rc;

	*users = NULL;
	*n = 0;
	request(&q, MW_USERS, NULL, NULL);
	if (send_request(c, &q, err, errlen) == -1)
		return -1;
	for (;;) {
		if (read_frame(c, &f, err, errlen) == -1)
			goto fail;
		if (f.h.type == MW_ERROR) {
			rc = nv_n > 0 ? error_in_list(c, &f, err, errlen) :
			    got_error(c, &f, err, errlen);
			free(f.p);
			mw_strings_free(v, nv_n);
			return rc == MH_REFUSED ? rc : -1;
		}
		if (f.h.type == MW_END) {
			if (end_of(c, &f, nv_n, "users", err, errlen) == -1)
				goto fail;
			*users = v;
			*n = nv_n;
			return 0;
		}
		if (f.h.type != MW_USER_NAMES) {
			unexpected(c, &f, "in a list of users", err, errlen);
			free(f.p);
			goto fail;
		}
		rc = mw_parse_user_names(f.p, f.h.len, &part, &np, why,
		    sizeof(why));
		free(f.p);
		if (rc != 0) {
			snprintf(err, errlen, "mailbox helper %s: %s",
			    c->where, why);
			kill_conn(c);
			goto fail;
		}
		if (np > 0 && (nv = reallocarray(v, nv_n + np,
		    sizeof(*v))) == NULL) {
			mw_strings_free(part, np);
			snprintf(err, errlen, "out of memory");
			kill_conn(c);
			goto fail;
		}
		if (np > 0)
			v = nv;
		for (i = 0; i < np; i++)
			v[nv_n++] = part[i];
		free(part);
	}

fail:
	mw_strings_free(v, nv_n);
	return -1;
}

void
mh_mailboxes_free(struct mh_mailbox *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].name);
		free(v[i].special);
	}
	free(v);
}

int
mh_mailboxes(struct mh_conn *c, const char *user, struct mh_mailbox **out,
    size_t *n, char *err, size_t errlen)
{
	struct mw_request q;
	struct mw_mailbox m;
	struct mh_mailbox *v = NULL, *nv;
	struct frame f;
	char why[256];
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!fits(user, NULL, err, errlen))
		return -1;
	request(&q, MW_MAILBOXES, user, NULL);
	if (send_request(c, &q, err, errlen) == -1)
		return -1;
	for (;;) {
		if (read_frame(c, &f, err, errlen) == -1)
			goto fail;
		if (f.h.type == MW_ERROR) {
			rc = k > 0 ? error_in_list(c, &f, err, errlen) :
			    got_error(c, &f, err, errlen);
			free(f.p);
			mh_mailboxes_free(v, k);
			return rc == MH_REFUSED ? rc : -1;
		}
		if (f.h.type == MW_END) {
			if (end_of(c, &f, k, "mailboxes", err, errlen) == -1)
				goto fail;
			*out = v;
			*n = k;
			return 0;
		}
		if (f.h.type != MW_MAILBOX) {
			unexpected(c, &f, "in a list of mailboxes", err,
			    errlen);
			free(f.p);
			goto fail;
		}
		rc = mw_parse_mailbox(f.p, f.h.len, &m, why, sizeof(why));
		free(f.p);
		if (rc != 0) {
			snprintf(err, errlen, "mailbox helper %s: %s",
			    c->where, why);
			kill_conn(c);
			goto fail;
		}
		if ((nv = reallocarray(v, k + 1, sizeof(*v))) == NULL) {
			snprintf(err, errlen, "out of memory");
			kill_conn(c);
			goto fail;
		}
		v = nv;
		v[k].name = strdup(m.name);
		v[k].special = strdup(m.special);
		v[k].delim = (char)m.delim;
		v[k].uidvalidity = m.uidvalidity;
		v[k].uidnext = m.uidnext;
		v[k].messages = m.messages;
		k++;
		if (v[k - 1].name == NULL || v[k - 1].special == NULL) {
			snprintf(err, errlen, "out of memory");
			kill_conn(c);
			goto fail;
		}
	}

fail:
	mh_mailboxes_free(v, k);
	return -1;
}

int
mh_messages(struct mh_conn *c, const char *user, const char *mailbox,
    uint32_t uidvalidity, int (*fn)(void *, const struct mh_msginfo *),
    void *arg, char *err, size_t errlen)
{
	struct mw_msginfo *in;
	struct mh_msginfo m;
	struct mw_request q;
	struct frame f;
	char why[256];
	size_t k, i;
	uint64_t total = 0;
	uint32_t last = 0;
	int rc, stopped = 0;

	if (!fits(user, mailbox, err, errlen))
		return -1;
	if ((in = calloc(MW_INFOS_PER_FRAME, sizeof(*in))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	request(&q, MW_MESSAGES, user, mailbox);
	q.uidvalidity = uidvalidity;
	if (send_request(c, &q, err, errlen) == -1) {
		free(in);
		return -1;
	}
	for (;;) {
		if (read_frame(c, &f, err, errlen) == -1) {
			rc = -1;
			break;
		}
		if (f.h.type == MW_ERROR) {
			rc = total > 0 ? error_in_list(c, &f, err, errlen) :
			    got_error(c, &f, err, errlen);
			free(f.p);
			break;
		}
		if (f.h.type == MW_END) {
			rc = end_of(c, &f, total, "messages", err, errlen);
			if (rc == 0 && stopped)
				rc = -1;
			break;
		}
		if (f.h.type != MW_MSG_INFOS) {
			rc = unexpected(c, &f, "in a list of messages", err,
			    errlen);
			free(f.p);
			break;
		}
		rc = mw_parse_msg_infos(f.p, f.h.len, in, &k, why,
		    sizeof(why));
		free(f.p);
		if (rc != 0) {
			snprintf(err, errlen, "mailbox helper %s: %s",
			    c->where, why);
			kill_conn(c);
			rc = -1;
			break;
		}
		for (i = 0; i < k; i++) {
			if (in[i].uid <= last) {
				snprintf(err, errlen, "mailbox helper %s: UID "
				    "%u after %u (not in UID order)",
				    c->where, in[i].uid, last);
				kill_conn(c);
				free(in);
				return -1;
			}
			last = in[i].uid;
			total++;
			if (stopped)
				continue;	/* read to END, then return */
			m.uid = in[i].uid;
			m.size = in[i].size;
			m.date = in[i].date;
			m.tzoff = in[i].tzoff;
			m.flags = in[i].flags;
			if (fn(arg, &m) == -1)
				stopped = 1;
		}
	}
	free(in);
	return rc;
}

/* FETCH (answered with MESSAGE) or FETCH_HEADER (with HEADER). */
static int
fetch_of(struct mh_conn *c, uint16_t type, const char *user,
    const char *mailbox, uint32_t uidvalidity, uint32_t uid, uint8_t **data,
    size_t *len, char *err, size_t errlen)
{
	uint16_t want = type == MW_FETCH ? MW_MESSAGE : MW_HEADER;
	struct mw_request q;
	struct frame f;
	int rc;

	*data = NULL;
	*len = 0;
	if (!fits(user, mailbox, err, errlen))
		return -1;
	request(&q, type, user, mailbox);
	q.uidvalidity = uidvalidity;
	q.uid = uid;
	if (send_request(c, &q, err, errlen) == -1 ||
	    read_frame(c, &f, err, errlen) == -1)
		return -1;
	if (f.h.type == MW_ERROR) {
		rc = got_error(c, &f, err, errlen);
		free(f.p);
		return rc;
	}
	if (f.h.type != want) {
		rc = unexpected(c, &f, want == MW_MESSAGE ? "instead of "
		    "MESSAGE" : "instead of HEADER", err, errlen);
		free(f.p);
		return rc;
	}
	/* An empty message is a frame without payload: give a buffer. */
	if (f.p == NULL && (f.p = malloc(1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*data = f.p;
	*len = f.h.len;
	return 0;
}

int
mh_fetch(struct mh_conn *c, const char *user, const char *mailbox,
    uint32_t uidvalidity, uint32_t uid, uint8_t **data, size_t *len,
    char *err, size_t errlen)
{
	return fetch_of(c, MW_FETCH, user, mailbox, uidvalidity, uid, data,
	    len, err, errlen);
}

int
mh_fetch_header(struct mh_conn *c, const char *user, const char *mailbox,
    uint32_t uidvalidity, uint32_t uid, uint8_t **data, size_t *len,
    char *err, size_t errlen)
{
	return fetch_of(c, MW_FETCH_HEADER, user, mailbox, uidvalidity, uid,
	    data, len, err, errlen);
}

/* Wait for DONE: its value into *v, or the error. */
static int
read_done(struct mh_conn *c, uint32_t *v, char *err, size_t errlen)
{
	struct frame f;
	char why[256];
	int rc;

	if (read_frame(c, &f, err, errlen) == -1)
		return -1;
	if (f.h.type == MW_ERROR) {
		rc = got_error(c, &f, err, errlen);
		free(f.p);
		return rc == MH_REFUSED ? rc : -1;
	}
	if (f.h.type != MW_DONE) {
		rc = unexpected(c, &f, "instead of DONE", err, errlen);
		free(f.p);
		return rc;
	}
	rc = mw_parse_u32(f.p, f.h.len, v, why, sizeof(why));
	free(f.p);
	if (rc != 0) {
		snprintf(err, errlen, "mailbox helper %s: %s", c->where, why);
		kill_conn(c);
		return -1;
	}
	return 0;
}

int
mh_create(struct mh_conn *c, const char *user, const char *mailbox,
    char *err, size_t errlen)
{
	struct mw_request q;
	uint32_t v;

	if (!fits(user, mailbox, err, errlen))
		return -1;
	request(&q, MW_CREATE, user, mailbox);
	if (send_request(c, &q, err, errlen) == -1)
		return -1;
	return read_done(c, &v, err, errlen);
}

int
mh_append(struct mh_conn *c, const char *user, const char *mailbox,
    const char *flags, int64_t date, int32_t tzoff, const uint8_t *data,
    size_t len, uint32_t *newuid, char *err, size_t errlen)
{
	struct mw_request q;
	uint32_t v = 0;
	int rc;

	if (newuid != NULL)
		*newuid = 0;
	if (!fits(user, mailbox, err, errlen))
		return -1;
	if (flags == NULL)
		flags = "";
	if (strlen(flags) > MW_FLAGS_MAX || !mw_flags_valid(flags)) {
		snprintf(err, errlen, "flags \"%s\" are not IMAP flags", flags);
		return -1;
	}
	if (tzoff < -1439 || tzoff > 1439 || date < 0 || len == 0 ||
	    len > MW_MESSAGE_MAX) {
		snprintf(err, errlen, "append: a date from 1970 on, an offset "
		    "within a day and 1 to %u bytes, not %zu", MW_MESSAGE_MAX,
		    len);
		return -1;
	}
	request(&q, MW_APPEND, user, mailbox);
	snprintf(q.flags, sizeof(q.flags), "%s", flags);
	q.date = date;
	q.tzoff = tzoff;
	q.data = data;
	q.len = len;
	if (send_request(c, &q, err, errlen) == -1)
		return -1;
	if ((rc = read_done(c, &v, err, errlen)) != 0)
		return rc;
	if (newuid != NULL)
		*newuid = v;
	return 0;
}
