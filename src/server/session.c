/*
 * session.c - the server side of the session protocol (doc/protocol.md):
 * hello, registration and authentication, backup (HAVE, PUT,
 * PUT_LINKED, COMMIT; REFS in versions 1 and 2), forgetting snapshots
 * (FORGET), reading (LIST, GET) and the agent's frames (JOB_REPORT,
 * AGENT_POLL; version 4).
 *
 * All waiting goes through io_wait(), which also watches the supervisor
 * pipe and the terminate flag and enforces the deadline, so no client
 * can hold a worker longer than the configured timeouts.  Frames are
 * dispatched through a table that knows, from the header alone, whether
 * a type is allowed in the session's state and how long its payload may
 * be: a frame refused is not read.  Blob bytes go through store.h, all
 * else through catalog.h; this file knows no file layout.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/monotime.h"
#include "common/text.h"
#include "common/tls.h"
#include "common/wire.h"
#include "catalog.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "session.h"
#include "store.h"

#define SOFTWARE	"gigavaultd " PACKAGE_VERSION
#define ERROR_GRACE_MS	2000	/* time to deliver an ERROR frame */
#define DRAIN_MS	1000	/* after an ERROR: read and discard input */
#define DRAIN_BYTES	(256 * 1024)
#define COMMIT_TRIES	8	/* a version 1/2 COMMIT racing another */

/* Where the wire's bytes become the catalog's and crypto's. */
_Static_assert(WIRE_SECRET_LEN == CAT_SECRET_LEN, "REGISTERED's secret");
_Static_assert(CRYPTO_HASH_LEN == CAT_SECRET_LEN, "a token's SHA-256");
_Static_assert(WIRE_PROOF_LEN == CRYPTO_HASH_LEN, "PROOF's HMAC");
_Static_assert(WIRE_AGENT_JOBS_MAX == CAT_SETS_MAX, "AGENT_POLL's jobs");
_Static_assert(WIRE_JOB_ERROR_MAX == CAT_JOB_ERROR_MAX, "a report's error");
_Static_assert(STORE_RESERVE_AUTO == (uint64_t)-1, "ReserveSpace = -1");

enum io_result { IO_OK, IO_EOF, IO_TRUNCATED, IO_TIMEOUT, IO_ERROR, IO_TERM };

/* Wait until the client fd is ready for events, or the deadline. */
static enum io_result
io_wait(struct session *s, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = s->fd, .events = events },
			{ .fd = *s->ctl_fd, .events = POLLIN },
		};
		struct timespec ts;
		int ms, n;

		if (*s->terminate)
			return IO_TERM;
		if ((ms = mono_left(deadline)) == 0)
			return IO_TIMEOUT;
		ts = mono_timespec(ms);
		/* SIGTERM is deliverable only inside ppoll(). */
		n = ppoll(pfd, *s->ctl_fd == -1 ? 1 : 2, &ts, s->waitmask);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return IO_ERROR;
		}
		if (*s->ctl_fd != -1 && pfd[1].revents)
			s->ctl_ready(s->ctl_arg);
		if (pfd[0].revents)
			return IO_OK;
	}
}

/*
 * One read or write on the client connection, plain or TLS: the bytes
 * moved (> 0), 0 at end of file, or -1 with *ev the poll event to wait
 * for, or 0 on an error (errno set; EPROTO: s->tls_err says why).
 */
static ssize_t
conn_io(struct session *s, int writing, void *p, size_t n, short *ev)
{
	ssize_t k;

	*ev = 0;
	if (s->tls != NULL) {
		k = tls_io(s->tls, writing, p, n, ev);
		if (k == -1 && errno == EPROTO)
			snprintf(s->tls_err, sizeof(s->tls_err), "%s",
			    tls_conn_error(s->tls));
		return k;
	}
	do
		k = writing ? send(s->fd, p, n, MSG_NOSIGNAL) :
		    read(s->fd, p, n);
	while (k == -1 && errno == EINTR);
	if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		*ev = writing ? POLLOUT : POLLIN;
	return k;
}

/*
 * Move exactly n bytes between p and the client (writing: to it);
 * *moved says how many moved.  Reading, the end of the stream is IO_EOF
 * before the first byte and IO_TRUNCATED after it.
 */
static enum io_result
io_full(struct session *s, int writing, uint8_t *p, size_t n, size_t *moved,
    int64_t deadline)
{
	enum io_result r;
	short ev;

	*moved = 0;
	while (*moved < n) {
		ssize_t k = conn_io(s, writing, p + *moved, n - *moved, &ev);

		if (k > 0) {
			*moved += (size_t)k;
			*(writing ? &s->bytes_out : &s->bytes_in) += (uint64_t)k;
			continue;
		}
		if (k == 0 && !writing)
			return *moved == 0 ? IO_EOF : IO_TRUNCATED;
		if (ev == 0)
			return IO_ERROR;
		if ((r = io_wait(s, ev, deadline)) != IO_OK)
			return r;
	}
	return IO_OK;
}

static enum io_result
send_frames(struct session *s, struct wire_wr *w, long timeout_ms)
{
	size_t done;

	if (w->overflow)
		return IO_ERROR;
	return io_full(s, 1, w->buf, w->len, &done, mono_ms() + timeout_ms);
}

/*
 * How long a reply may take to send, in ms: IdleTimeout, but before
 * AUTH_OK no longer than what is left of HandshakeTimeout (a client
 * that sends PINGs and never reads must not hold a worker either).
 */
static long
send_budget(const struct session *s)
{
	long ms = (long)s->cfg->idle_timeout * 1000;
	int64_t left;

	if (s->auth != AUTH_DONE) {
		left = s->accepted + s->cfg->handshake_timeout * 1000L -
		    mono_ms();
		if (left < ms)
			ms = left > 0 ? (long)left : 0;
	}
	return ms;
}

/*
 * After an ERROR: stop sending, then read and discard what the client
 * still sends (bounded in time and bytes), so that closing does not
 * reset the connection before the client has read the ERROR.
 */
static void
drain(struct session *s)
{
	int64_t d = mono_ms() + DRAIN_MS;
	uint8_t junk[4096];
	size_t total = 0;
	short ev;

	tls_close(s->tls);
	if (shutdown(s->fd, SHUT_WR) == -1)
		return;
	while (total < DRAIN_BYTES) {
		ssize_t k = conn_io(s, 0, junk, sizeof(junk), &ev);

		if (k > 0) {
			total += (size_t)k;
			continue;
		}
		if (k == 0 || ev == 0 || io_wait(s, ev, d) != IO_OK)
			return;
	}
}

/* Write the client's name (if known) and peer for log lines. */
static const char *
who(const struct session *s, char *buf, size_t len)
{
	if (s->auth == AUTH_DONE)
		snprintf(buf, len, "client %s at %s", s->client.name, s->peer);
	else if (s->auth == AUTH_CHALLENGED)
		snprintf(buf, len, "%s (claims client %s)", s->peer,
		    s->client.name);
	else
		snprintf(buf, len, "%s", s->peer);
	return buf;
}

/* End the session: tell the client why (best effort) and remember it. */
static void
fail(struct session *s, enum wire_error code, const char *why)
{
	uint8_t out[512];
	struct wire_wr w;
	char wbuf[160];

	snprintf(s->why, sizeof(s->why), "%s", why);
	s->error = code;
	if (code != WIRE_ERR_TIMEOUT && code != WIRE_ERR_SHUTDOWN)
		log_warnx("%s: error %d: %s", who(s, wbuf, sizeof(wbuf)),
		    code, why);
	wire_wr_init(&w, out, sizeof(out));
	wire_put_error(&w, code, why);
	if (send_frames(s, &w, ERROR_GRACE_MS) == IO_OK)
		drain(s);
}

static int
failf(struct session *s, enum wire_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fail() with a formatted message; returns -1 for the handlers. */
static int
failf(struct session *s, enum wire_error code, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fail(s, code, why);
	return -1;
}

/* Turn an I/O failure while reading into the session's end. */
static void
read_failed(struct session *s, enum io_result r, size_t got, size_t want,
    const char *waiting_for)
{
	switch (r) {
	case IO_EOF:
		snprintf(s->why, sizeof(s->why), "client closed the connection");
		break;
	case IO_TRUNCATED:
		snprintf(s->why, sizeof(s->why), "truncated frame (got %zu of "
		    "%zu bytes)", got, want);
		break;
	case IO_TIMEOUT:
		failf(s, WIRE_ERR_TIMEOUT, "%s (%d s)", waiting_for,
		    s->version ? s->cfg->idle_timeout :
		    s->cfg->handshake_timeout);
		break;
	case IO_TERM:
		fail(s, WIRE_ERR_SHUTDOWN, "server shutting down");
		break;
	default:
		if (s->tls != NULL && errno == EPROTO)
			snprintf(s->why, sizeof(s->why), "TLS: %s", s->tls_err);
		else
			snprintf(s->why, sizeof(s->why), "read error: %s",
			    strerror(errno));
		break;
	}
}

/* Read a frame header into h.  Returns 0, or -1: the session is over. */
static int
read_header(struct session *s, struct wire_hdr *h,
    int64_t deadline, const char *waiting_for)
{
	enum io_result r;
	size_t got;

	r = io_full(s, 0, s->buf, WIRE_HDR_LEN, &got, deadline);
	if (r != IO_OK) {
		read_failed(s, r, got, WIRE_HDR_LEN, waiting_for);
		return -1;
	}
	/* A TLS record (handshake, version 3.x) where a frame belongs. */
	if (s->version == 0 && s->tls == NULL && s->buf[0] == 0x16 &&
	    s->buf[1] == 0x03)
		return failf(s, WIRE_ERR_UNEXPECTED, "TLS handshake on the "
		    "plain port: %s", s->cfg->ssl_enabled ? "TLS sessions go "
		    "to Ports.SSLServer" : "SSL is not enabled on this server");
	wire_hdr_decode(s->buf, h);
	return 0;
}

/*
 * Read the payload of the frame whose header is in h into
 * s->buf + WIRE_HDR_LEN.  Returns 0, or -1: the session is over.
 */
static int
read_payload(struct session *s, const struct wire_hdr *h,
    int64_t deadline, const char *waiting_for)
{
	enum io_result r;
	size_t got;

	r = io_full(s, 0, s->buf + WIRE_HDR_LEN, h->len, &got, deadline);
	if (r != IO_OK) {
		if (r == IO_EOF)	/* the header came, the payload did not */
			r = IO_TRUNCATED;
		read_failed(s, r, WIRE_HDR_LEN + got, WIRE_HDR_LEN + h->len,
		    waiting_for);
		return -1;
	}
	return 0;
}

/* Copy a string for a log line, every byte outside ' '..'~' made '?'. */
static void
sanitize(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < dstlen && src[i] != '\0'; i++)
		dst[i] = src[i] >= ' ' && src[i] <= '~' ? src[i] : '?';
	dst[i] = '\0';
}

/*
 * On the TLS port: the TLS handshake, within HandshakeTimeout of the
 * accept.  A client that starts with a frame instead (SSL off on its
 * side) is told so in a plain ERROR frame.  0, or -1: the session is
 * over (s->why says why, and it is logged).
 */
static int
tls_start(struct session *s)
{
	int64_t deadline = s->accepted + s->cfg->handshake_timeout * 1000L;
	enum io_result r = IO_OK;
	char desc[96];
	uint8_t first;
	ssize_t k;

	while ((k = recv(s->fd, &first, 1, MSG_PEEK)) != 1) {
		if (k == 0) {
			snprintf(s->why, sizeof(s->why), "client closed the "
			    "connection before the TLS handshake");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN ||
		    (r = io_wait(s, POLLIN, deadline)) != IO_OK)
			goto failed;
	}
	if (first != 0x16)	/* not a TLS handshake record */
		return failf(s, WIRE_ERR_UNEXPECTED, "this is the TLS port "
		    "(Ports.SSLServer): enable SSL in the client, or use "
		    "Ports.BackupServer (%d)", s->cfg->port.backup);
	if ((s->tls = tls_conn_new(s->tls_ctx, s->fd, NULL)) == NULL) {
		snprintf(s->why, sizeof(s->why), "TLS: out of memory");
		log_warnx("%s: %s", s->peer, s->why);
		return -1;
	}
	for (;;) {
		switch (tls_handshake(s->tls)) {
		case TLS_OK:
			tls_conn_describe(s->tls, desc, sizeof(desc));
			log_debug("session from %s: %s", s->peer, desc);
			return 0;
		case TLS_WANT_READ:
			r = io_wait(s, POLLIN, deadline);
			break;
		case TLS_WANT_WRITE:
			r = io_wait(s, POLLOUT, deadline);
			break;
		case TLS_EOF:	/* e.g. an extra session the client gave up */
			snprintf(s->why, sizeof(s->why), "client closed the "
			    "connection during the TLS handshake");
			return -1;
		default:
			snprintf(s->why, sizeof(s->why), "TLS handshake "
			    "failed: %s", tls_conn_error(s->tls));
			log_warnx("%s: %s", s->peer, s->why);
			return -1;
		}
		if (r != IO_OK)
			goto failed;
	}
failed:
	if (r == IO_TIMEOUT)
		snprintf(s->why, sizeof(s->why), "TLS handshake timeout "
		    "(%d s)", s->cfg->handshake_timeout);
	else if (r == IO_TERM)
		snprintf(s->why, sizeof(s->why), "server shutting down");
	else
		snprintf(s->why, sizeof(s->why), "TLS handshake: %s",
		    strerror(errno));
	log_warnx("%s: %s", s->peer, s->why);
	return -1;
}

/*
 * The command a client names after its software string, "gigavault 0.2
 * (restore)" (doc/protocol.md, CLIENT_HELLO): 1..16 bytes of a-z, else
 * none.  Only a hint for the history: it changes nothing else.
 */
static void
hello_purpose(struct session *s, const char *soft)
{
	size_t n = strlen(soft), w;
	const char *open;

	s->purpose[0] = '\0';
	if (n < 4 || soft[n - 1] != ')' || (open = strrchr(soft, '(')) ==
	    NULL || open == soft || open[-1] != ' ')
		return;
	w = (size_t)(soft + n - 1 - (open + 1));
	if (w == 0 || w >= sizeof(s->purpose) ||
	    strspn(open + 1, "abcdefghijklmnopqrstuvwxyz") != w)
		return;
	memcpy(s->purpose, open + 1, w);
	s->purpose[w] = '\0';
}

static int
handshake(struct session *s)
{
	int64_t deadline = s->accepted + s->cfg->handshake_timeout * 1000L;
	struct wire_client_hello hello;
	char why[160], soft[WIRE_SOFTWARE_MAX + 1];
	struct wire_hdr h;
	struct wire_wr w;
	uint8_t out[512];
	int code;

	if (read_header(s, &h, deadline, "handshake timeout") == -1)
		return -1;
	if ((code = wire_hdr_check(&h, s->cfg->max_frame, why,
	    sizeof(why))) != 0)
		return failf(s, code, "%s", why);
	if (h.type != WIRE_CLIENT_HELLO)
		return failf(s, WIRE_ERR_UNEXPECTED, "first frame must be "
		    "CLIENT_HELLO, got unknown frame type 0x%04x", h.type);
	if (h.len > WIRE_HELLO_MAX)
		return failf(s, WIRE_ERR_MALFORMED, "malformed CLIENT_HELLO: "
		    "%u bytes (at most %d)", h.len, WIRE_HELLO_MAX);
	if (read_payload(s, &h, deadline, "handshake timeout") == -1)
		return -1;
	if (wire_parse_client_hello(s->buf + WIRE_HDR_LEN, h.len, &hello, why,
	    sizeof(why)) != 0)
		return failf(s, WIRE_ERR_MALFORMED, "malformed CLIENT_HELLO: "
		    "%s", why);
	s->version = wire_pick_version(hello.version_min, hello.version_max);
	if (s->version == 0)
		return failf(s, WIRE_ERR_VERSION, "no common protocol version "
		    "(client %u..%u, server %u..%u)", hello.version_min,
		    hello.version_max, WIRE_VERSION_MIN, WIRE_VERSION_MAX);
	sanitize(soft, sizeof(soft), hello.software);
	hello_purpose(s, hello.software);
	log_debug("session from %s: client \"%s\", protocol %u", s->peer,
	    soft, s->version);
	wire_wr_init(&w, out, sizeof(out));
	wire_put_server_hello(&w, s->version, s->server_id, SOFTWARE);
	if (send_frames(s, &w, send_budget(s)) != IO_OK) {
		snprintf(s->why, sizeof(s->why), "could not send SERVER_HELLO");
		return -1;
	}
	return 0;
}

/* Send the frames in w; on failure the session is over.  0 or -1. */
static int
reply(struct session *s, struct wire_wr *w, const char *what)
{
	if (w->overflow) {
		snprintf(s->why, sizeof(s->why), "%s does not fit a frame",
		    what);
		return -1;
	}
	if (send_frames(s, w, send_budget(s)) != IO_OK) {
		snprintf(s->why, sizeof(s->why), "could not send %s", what);
		return -1;
	}
	return 0;
}

/* A reply writer on s->out, which holds WIRE_HDR_LEN + MaxFrame bytes. */
static void
out_init(struct session *s, struct wire_wr *w)
{
	wire_wr_init(w, s->out, WIRE_HDR_LEN + (size_t)s->cfg->max_frame);
}

/* The catalog and store, or ERROR 11 when they could not be opened. */
static int
need_storage(struct session *s)
{
	if (s->cat != NULL && s->store != NULL)
		return 0;
	return failf(s, WIRE_ERR_STORAGE, "storage error: the catalog is "
	    "not available on this server");
}

/*
 * Check a "u32 count, count items of size bytes" payload: the count is
 * 1..WIRE_BATCH_MAX and the items fill the rest, at p + 4.  Returns the
 * count, or 0 after failing the session.
 */
static uint32_t
parse_batch(struct session *s, const char *what, const uint8_t *p,
    uint32_t len, size_t size)
{
	uint32_t n;

	if (len < 4)
		return failf(s, WIRE_ERR_MALFORMED, "malformed %s: no count",
		    what), 0;
	n = be32_get(p);
	if (n == 0 || n > WIRE_BATCH_MAX)
		return failf(s, WIRE_ERR_LIMIT, "limit exceeded: %s count %u "
		    "(1..%d)", what, n, WIRE_BATCH_MAX), 0;
	if (len - 4 != (size_t)n * size)
		return failf(s, WIRE_ERR_MALFORMED, "malformed %s: count %u "
		    "but %u bytes of ids", what, n, len - 4), 0;
	return n;
}

/*
 * What a frame after the hello does.  Each handler returns 0 to go on
 * or -1 when the session is over (s->why set).
 */
static int
on_ping(struct session *s, const uint8_t *p, uint32_t len)
{
	uint8_t out[WIRE_HDR_LEN + WIRE_PING_MAX];
	struct wire_wr w;

	wire_wr_init(&w, out, sizeof(out));
	wire_frame_begin(&w, WIRE_PONG);
	wire_put_bytes(&w, p, len);
	wire_frame_end(&w);
	return reply(s, &w, "PONG");
}

static int
on_bye(struct session *s, const uint8_t *p, uint32_t len)
{
	uint8_t out[WIRE_HDR_LEN];
	struct wire_wr w;

	(void)p;
	(void)len;
	wire_wr_init(&w, out, sizeof(out));
	wire_frame_begin(&w, WIRE_BYE);
	wire_frame_end(&w);
	(void)send_frames(s, &w, ERROR_GRACE_MS);
	snprintf(s->why, sizeof(s->why), "client said bye");
	s->said_bye = 1;
	return -1;
}

static int
on_register(struct session *s, const uint8_t *p, uint32_t len)
{
	char token[WIRE_TOKEN_MAX + 1];
	uint8_t hash[CRYPTO_HASH_LEN], secret[WIRE_SECRET_LEN];
	uint8_t out[WIRE_HDR_LEN + 2 + WIRE_NAME_MAX + WIRE_SECRET_LEN];
	struct cat_client cl;
	struct reader r;
	struct wire_wr w;
	int rc;

	if (need_storage(s) == -1)
		return -1;
	rd_init(&r, p, len);
	if (rd_get_str16(&r, token, sizeof(token), WIRE_TOKEN_MAX) == -1 ||
	    r.left != 0)
		return failf(s, WIRE_ERR_MALFORMED, "malformed REGISTER");
	crypto_sha256(token, strlen(token), hash);
	crypto_wipe(token, sizeof(token));
	if (crypto_random(secret, sizeof(secret)) == -1)
		return failf(s, WIRE_ERR_STORAGE, "storage error: no random "
		    "numbers");
	rc = catalog_register(s->cat, hash, secret, &cl);
	if (rc == CAT_NOTFOUND)
		return failf(s, WIRE_ERR_AUTH, "authentication failed: "
		    "invalid or used token");
	if (rc == CAT_DISABLED)
		return failf(s, WIRE_ERR_AUTH, "authentication failed: "
		    "client %s is disabled", cl.name);
	if (rc != CAT_OK) {
		log_warnx("%s", catalog_strerror(s->cat));
		return failf(s, WIRE_ERR_STORAGE, "storage error: catalog");
	}
	log_info("%s: registered client %s", s->peer, cl.name);
	snprintf(s->registered, sizeof(s->registered), "%s", cl.name);
	wire_wr_init(&w, out, sizeof(out));
	wire_frame_begin(&w, WIRE_REGISTERED);
	wire_put_str(&w, cl.name);
	wire_put_bytes(&w, secret, sizeof(secret));
	wire_frame_end(&w);
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(cl.secret, sizeof(cl.secret));
	rc = reply(s, &w, "REGISTERED");
	crypto_wipe(out, sizeof(out));
	return rc;
}

/*
 * Right after REGISTERED, a client may ask for its TLS client
 * certificate (SSL.VerifyClient): the CN is the name just registered,
 * whatever the request says.  A server without VerifyClient answers
 * with an empty CERT.
 */
static int
on_cert_request(struct session *s, const uint8_t *p, uint32_t len)
{
	uint8_t out[WIRE_HDR_LEN + WIRE_CERT_MAX];
	char why[320], *pem = NULL;
	size_t pemlen = 0;
	struct wire_wr w;

	if (s->registered[0] == '\0')
		return failf(s, WIRE_ERR_UNEXPECTED, "unexpected frame type "
		    "0x%04x (CERT_REQUEST): only right after REGISTER",
		    WIRE_CERT_REQUEST);
	if (s->cfg->client_ca != NULL && tls_issue(s->cfg->client_ca, p, len,
	    s->registered, CONFIG_CLIENT_CERT_DAYS, &pem, &pemlen, why,
	    sizeof(why)) == -1) {
		if (pem == NULL && strncmp(why, "malformed", 9) == 0)
			return failf(s, WIRE_ERR_MALFORMED, "%s", why);
		log_warnx("%s: %s", s->peer, why);
		return failf(s, WIRE_ERR_STORAGE, "cannot issue a client "
		    "certificate");
	}
	if (pemlen > WIRE_CERT_MAX) {
		free(pem);
		return failf(s, WIRE_ERR_STORAGE, "client certificate too "
		    "large");
	}
	if (pem != NULL)
		log_info("%s: issued a client certificate to %s", s->peer,
		    s->registered);
	s->registered[0] = '\0';
	wire_wr_init(&w, out, sizeof(out));
	wire_frame_begin(&w, WIRE_CERT);
	if (pemlen > 0)
		wire_put_bytes(&w, pem, pemlen);
	wire_frame_end(&w);
	free(pem);
	return reply(s, &w, "CERT");
}

static int
on_auth(struct session *s, const uint8_t *p, uint32_t len)
{
	uint8_t out[WIRE_HDR_LEN + WIRE_NONCE_LEN];
	char name[WIRE_NAME_MAX + 1];
	struct reader r;
	struct wire_wr w;
	int rc;

	if (need_storage(s) == -1)
		return -1;
	rd_init(&r, p, len);
	if (rd_get_str16(&r, name, sizeof(name), WIRE_NAME_MAX) == -1 ||
	    r.left != 0 || name[0] == '\0')
		return failf(s, WIRE_ERR_MALFORMED, "malformed AUTH");
	/*
	 * An unknown, unregistered or invalid name gets a challenge too,
	 * answered with a random secret nobody knows: the reply does not
	 * tell which names exist.
	 */
	s->bogus = 1;
	memset(&s->client, 0, sizeof(s->client));
	if (catalog_name_valid(name)) {
		rc = catalog_client_get(s->cat, name, &s->client);
		if (rc == CAT_ERROR) {
			log_warnx("%s", catalog_strerror(s->cat));
			return failf(s, WIRE_ERR_STORAGE, "storage error: "
			    "catalog");
		}
		s->bogus = rc != CAT_OK || !s->client.registered;
	}
	if (s->bogus) {
		sanitize(s->client.name, sizeof(s->client.name), name);
		if (crypto_random(s->client.secret,
		    sizeof(s->client.secret)) == -1)
			return failf(s, WIRE_ERR_STORAGE, "storage error: "
			    "no random numbers");
	}
	if (crypto_random(s->nonce, sizeof(s->nonce)) == -1)
		return failf(s, WIRE_ERR_STORAGE, "storage error: no random "
		    "numbers");
	s->auth = AUTH_CHALLENGED;
	wire_wr_init(&w, out, sizeof(out));
	wire_frame_begin(&w, WIRE_CHALLENGE);
	wire_put_bytes(&w, s->nonce, sizeof(s->nonce));
	wire_frame_end(&w);
	return reply(s, &w, "CHALLENGE");
}

static int
on_proof(struct session *s, const uint8_t *p, uint32_t len)
{
	uint8_t msg[sizeof(WIRE_AUTH_LABEL) - 1 + SERVER_ID_LEN +
	    WIRE_NONCE_LEN + WIRE_NAME_MAX];
	uint8_t want[CRYPTO_HASH_LEN], out[WIRE_HDR_LEN];
	char cn[WIRE_NAME_MAX + 2];
	size_t n = 0, namelen = strlen(s->client.name);
	struct wire_wr w;
	int good;

	if (len != WIRE_PROOF_LEN)
		return failf(s, WIRE_ERR_MALFORMED, "malformed PROOF: %u bytes",
		    len);
	memcpy(msg, WIRE_AUTH_LABEL, sizeof(WIRE_AUTH_LABEL) - 1);
	n += sizeof(WIRE_AUTH_LABEL) - 1;
	memcpy(msg + n, s->server_id, SERVER_ID_LEN);
	n += SERVER_ID_LEN;
	memcpy(msg + n, s->nonce, WIRE_NONCE_LEN);
	n += WIRE_NONCE_LEN;
	memcpy(msg + n, s->client.name, namelen);
	n += namelen;
	crypto_hmac(s->client.secret, sizeof(s->client.secret), msg, n, NULL,
	    0, want);
	good = crypto_equal(want, p, CRYPTO_HASH_LEN) && !s->bogus;
	crypto_wipe(want, sizeof(want));
	crypto_wipe(s->client.secret, sizeof(s->client.secret));
	if (!good)
		return failf(s, WIRE_ERR_AUTH, "authentication failed");
	if (s->client.disabled)
		return failf(s, WIRE_ERR_AUTH, "authentication failed: client "
		    "%s is disabled", s->client.name);
	if (s->cfg->ssl_verify_client && (s->tls == NULL ||
	    tls_conn_peer_name(s->tls, cn, sizeof(cn)) == -1 ||
	    strcmp(cn, s->client.name) != 0))
		return failf(s, WIRE_ERR_AUTH, "authentication failed: this "
		    "server requires a TLS client certificate issued to %s "
		    "(SSL.VerifyClient = 1; ask the administrator for a new "
		    "token, gigavaultctl client token, and register again)",
		    s->client.name);
	s->auth = AUTH_DONE;
	log_info("%s: authenticated as client %s", s->peer, s->client.name);
	wire_wr_init(&w, out, sizeof(out));
	wire_frame_begin(&w, WIRE_AUTH_OK);
	wire_frame_end(&w);
	return reply(s, &w, "AUTH_OK");
}

static int
storage_failed(struct session *s, const char *what, const char *detail)
{
	char wbuf[160];

	log_warnx("%s: %s: %s", who(s, wbuf, sizeof(wbuf)), what, detail);
	/* Indexing found a link gone (store.h): prune freed it meanwhile. */
	if (s->store != NULL && store_errno(s->store) == ESTALE)
		return failf(s, WIRE_ERR_INCOMPLETE, "a linked blob was "
		    "pruned during the backup; run the backup again");
	/* Out of space or under the reserve: the store gave it back. */
	if (s->store != NULL && (store_errno(s->store) == ENOSPC ||
	    store_errno(s->store) == EDQUOT)) {
		struct store_space sp;

		store_space_seen(s->store, &sp);
		return failf(s, WIRE_ERR_NOSPACE, "the server's disk is full "
		    "(%.1f MiB free, reserve %.1f MiB): backups are refused "
		    "until space is freed (forget + prune); nothing committed",
		    (double)sp.free / (1 << 20), (double)sp.reserve / (1 << 20));
	}
	return failf(s, WIRE_ERR_STORAGE, "storage error on the server "
	    "(%s); nothing committed", what);
}

/*
 * Look up n ids of the client, touching the stale hits (catalog.h):
 * what a session relies on stays safe from prune for 3/4 of
 * GraceSeconds.  0, or -1 after failing the session.
 */
static int
have(struct session *s, const uint8_t (*ids)[BLOB_ID_LEN], size_t n,
    uint8_t *found)
{
	uint64_t now = (uint64_t)time(NULL);
	uint64_t q = (uint64_t)s->cfg->prune_grace / 4;

	if (catalog_blobs_have(s->cat, s->client.id, ids, n, now,
	    now > q ? now - q : 0, found) != CAT_OK)
		return storage_failed(s, "catalog lookup",
		    catalog_strerror(s->cat));
	return 0;
}

static int
on_have(struct session *s, const uint8_t *p, uint32_t len)
{
	const uint8_t (*ids)[BLOB_ID_LEN] = (const void *)(p + 4);
	uint8_t found[WIRE_BATCH_MAX];
	uint32_t n, nmissing = 0;
	struct wire_wr w;
	size_t at;

	if ((n = parse_batch(s, "HAVE", p, len, BLOB_ID_LEN)) == 0)
		return -1;
	if (have(s, ids, n, found) == -1)
		return -1;
	out_init(s, &w);
	wire_frame_begin(&w, WIRE_MISSING);
	at = w.len;
	wire_put_u32(&w, 0);		/* count, filled in below */
	for (uint32_t i = 0; i < n; i++)
		if (!found[i] && !store_pending(s->store, s->client.id,
		    ids[i])) {
			wire_put_bytes(&w, ids[i], BLOB_ID_LEN);
			nmissing++;
		}
	wire_frame_end(&w);
	if (!w.overflow)
		be32_put(w.buf + at, nmissing);
	return reply(s, &w, "MISSING");
}

static int	touch_stored(struct session *, const uint8_t *);

static int
on_put(struct session *s, const uint8_t *p, uint32_t len)
{
	if (len <= BLOB_ID_LEN)
		return failf(s, WIRE_ERR_LIMIT, "limit exceeded: PUT of %u "
		    "bytes carries no blob", len);
	switch (store_put(s->store, s->client.id, p, NULL, 0, p + BLOB_ID_LEN,
	    len - BLOB_ID_LEN)) {
	case -1:
		return storage_failed(s, "pack write",
		    store_strerror(s->store));
	case 0:			/* written: new for this snapshot */
		s->new_bytes += len - BLOB_ID_LEN;
		s->new_blobs++;
		break;
	case 1:			/* stored: relied on (HAVE's rule) */
		return touch_stored(s, p);
	}
	return 0;
}

/*
 * A PUT of an id already indexed or pending: the session relies on it
 * as on a HAVE hit, so an indexed one gets HAVE's stale touch.
 */
static int
touch_stored(struct session *s, const uint8_t *id)
{
	uint8_t found;

	if (store_pending(s->store, s->client.id, id))
		return 0;
	return have(s, (const uint8_t (*)[BLOB_ID_LEN])id, 1, &found);
}

/*
 * Version 3: a blob with the ids it links to.  Every link must be
 * indexed for this client or pending in this session: a cheap early
 * check (no write).  The transaction that indexes the blob checks again
 * (store_flush()), so an indexed blob's links are always indexed (the
 * commit relies on it), and records it for prune's sweep, which spares
 * what it links to: its links are not touched, so an incremental writes
 * in proportion to the pages it changed.
 */
static int
on_put_linked(struct session *s, const uint8_t *p, uint32_t len)
{
	const uint8_t (*links)[BLOB_ID_LEN] = (const void *)(p + BLOB_ID_LEN +
	    4);
	uint8_t found[WIRE_BATCH_MAX];
	uint32_t n, missing = 0;
	size_t bytes;

	if (s->version < 3)
		return failf(s, WIRE_ERR_UNEXPECTED, "unexpected frame type "
		    "0x%04x (PUT_LINKED): protocol version 3 only",
		    WIRE_PUT_LINKED);
	if (len < BLOB_ID_LEN + 4)
		return failf(s, WIRE_ERR_MALFORMED, "malformed PUT_LINKED: "
		    "%u bytes", len);
	n = be32_get(p + BLOB_ID_LEN);
	if (n == 0)
		return failf(s, WIRE_ERR_MALFORMED, "malformed PUT_LINKED: no "
		    "links (use PUT)");
	if (n > WIRE_LINKS_MAX)
		return failf(s, WIRE_ERR_LIMIT, "limit exceeded: PUT_LINKED "
		    "with %u links (at most %d)", n, WIRE_LINKS_MAX);
	if (len - BLOB_ID_LEN - 4 <= (size_t)n * BLOB_ID_LEN)
		return failf(s, WIRE_ERR_MALFORMED, "malformed PUT_LINKED: %u "
		    "links but %u bytes carry no blob", n, len);
	bytes = len - BLOB_ID_LEN - 4 - (size_t)n * BLOB_ID_LEN;
	for (uint32_t i = 0; i < n; i += WIRE_BATCH_MAX) {
		uint32_t k = n - i < WIRE_BATCH_MAX ? n - i : WIRE_BATCH_MAX;

		if (catalog_blobs_lookup(s->cat, s->client.id, links + i, k,
		    NULL, found) != CAT_OK)
			return storage_failed(s, "catalog lookup",
			    catalog_strerror(s->cat));
		for (uint32_t j = 0; j < k; j++)
			if (!found[j] && !store_pending(s->store,
			    s->client.id, links[i + j]))
				missing++;
	}
	if (missing > 0)
		return failf(s, WIRE_ERR_INCOMPLETE, "PUT_LINKED: %u linked "
		    "blob%s not stored", missing, missing == 1 ? " is" :
		    "s are");
	switch (store_put(s->store, s->client.id, p, links, n,
	    p + len - bytes, bytes)) {
	case -1:
		return storage_failed(s, "pack write",
		    store_strerror(s->store));
	case 0:
		s->new_bytes += bytes;
		s->new_blobs++;
		break;
	case 1:
		return touch_stored(s, p);
	}
	return 0;
}

static int
on_refs(struct session *s, const uint8_t *p, uint32_t len)
{
	const uint8_t (*ids)[BLOB_ID_LEN] = (const void *)(p + 4);
	uint32_t n;

	if (s->version >= 3)
		return failf(s, WIRE_ERR_UNEXPECTED, "unexpected frame type "
		    "0x%04x (REFS): not in protocol version 3 (links)",
		    WIRE_REFS);
	if ((n = parse_batch(s, "REFS", p, len, BLOB_ID_LEN)) == 0)
		return -1;
	if (n > WIRE_REFS_MAX - s->nrefs)
		return failf(s, WIRE_ERR_LIMIT, "limit exceeded: more than %u "
		    "REFS for one snapshot", WIRE_REFS_MAX);
	if (s->nrefs + n > s->caprefs) {
		/* Room for root and meta too, added at COMMIT. */
		size_t cap = s->caprefs ? s->caprefs * 2 : 4 * WIRE_BATCH_MAX;
		void *q;

		if (cap < s->nrefs + n)
			cap = s->nrefs + n;
		if (cap > WIRE_REFS_MAX)
			cap = WIRE_REFS_MAX;
		if ((q = reallocarray(s->refs, cap + 2, BLOB_ID_LEN)) ==
		    NULL)
			return storage_failed(s, "memory", strerror(errno));
		s->refs = q;
		s->caprefs = cap;
	}
	memcpy(s->refs[s->nrefs], ids, (size_t)n * BLOB_ID_LEN);
	s->nrefs += n;
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, BLOB_ID_LEN);
}

_Static_assert(CRYPTO_HASH_LEN == BLOB_ID_LEN, "a legacy node's id");

/*
 * Version 1/2: s->refs[0..*n) with root and meta added, sorted and
 * without duplicates, must all be indexed (the stale ones are
 * touched); *size gets the sum of their lengths (the snapshot's size
 * for a client that does not say it).  0, or -1 after failing the
 * session.
 */
static int
legacy_refs(struct session *s, const struct cat_snapshot *snap, size_t *n,
    uint64_t *size)
{
	uint8_t found[WIRE_BATCH_MAX];
	struct cat_blob *locs;
	size_t missing = 0, u = 1;

	if (s->refs == NULL) {
		if ((s->refs = reallocarray(NULL, 2, BLOB_ID_LEN)) == NULL)
			return storage_failed(s, "memory", strerror(errno));
		s->caprefs = 0;
	}
	memcpy(s->refs[s->nrefs], snap->root, BLOB_ID_LEN);
	memcpy(s->refs[s->nrefs + 1], snap->meta, BLOB_ID_LEN);
	*n = s->nrefs + 2;
	qsort(s->refs, *n, BLOB_ID_LEN, cmp_id);
	for (size_t i = 1; i < *n; i++)
		if (memcmp(s->refs[i], s->refs[u - 1], BLOB_ID_LEN) != 0)
			memmove(s->refs[u++], s->refs[i], BLOB_ID_LEN);
	*n = u;
	*size = 0;
	if ((locs = calloc(WIRE_BATCH_MAX, sizeof(*locs))) == NULL)
		return storage_failed(s, "memory", strerror(errno));
	for (size_t i = 0; i < *n; i += WIRE_BATCH_MAX) {
		size_t k = *n - i < WIRE_BATCH_MAX ? *n - i : WIRE_BATCH_MAX;
		const uint8_t (*ids)[BLOB_ID_LEN] =
		    (const uint8_t (*)[BLOB_ID_LEN])s->refs + i;

		if (catalog_blobs_lookup(s->cat, s->client.id, ids, k, locs,
		    found) != CAT_OK) {
			free(locs);
			return storage_failed(s, "catalog lookup",
			    catalog_strerror(s->cat));
		}
		for (size_t j = 0; j < k; j++)
			if (found[j])
				*size += locs[j].length;
		if (have(s, ids, k, found) == -1) {
			free(locs);
			return -1;
		}
		for (size_t j = 0; j < k; j++)
			if (!found[j])
				missing++;
	}
	free(locs);
	if (missing > 0)
		return failf(s, WIRE_ERR_INCOMPLETE, "commit refused: %zu of "
		    "%zu referenced blobs are not stored", missing, *n);
	return 0;
}

/*
 * Whether the legacy node indexed as id is the one this session wrote
 * at at (written: 1), or one with the same links (written: 0).  1 yes,
 * 0 no, -1 after failing the session.
 */
static int
legacy_ours(struct session *s, const uint8_t *id, int written,
    const struct cat_blob *at, size_t n)
{
	uint8_t (*links)[BLOB_ID_LEN], found;
	struct cat_blob loc;
	uint32_t nl;
	int r;

	if (catalog_blobs_lookup(s->cat, s->client.id,
	    (const uint8_t (*)[BLOB_ID_LEN])id, 1, &loc, &found) != CAT_OK)
		return storage_failed(s, "catalog lookup",
		    catalog_strerror(s->cat));
	if (!found)
		return 0;
	if (written)
		return loc.pack == at->pack && loc.offset == at->offset;
	if (loc.nlinks != n)
		return 0;
	if ((r = store_links(s->store, s->client.id, id, &loc, &links,
	    &nl)) == -1)
		return storage_failed(s, "pack read", store_strerror(s->store));
	if (r == 1)
		return 0;
	r = memcmp(links, s->refs, n * BLOB_ID_LEN) == 0;
	free(links);
	return r;
}

/*
 * The id the client's next snapshot gets: CAT_OK, CAT_NOTFOUND (the
 * client was removed, or removed and added again), CAT_ERROR.
 */
static int
next_snapshot(struct session *s, uint64_t *id)
{
	struct cat_client cl;
	int r;

	memset(&cl, 0, sizeof(cl));
	r = catalog_client_get(s->cat, s->client.name, &cl);
	crypto_wipe(cl.secret, sizeof(cl.secret));
	if (r == CAT_OK && cl.id != s->client.id)
		r = CAT_NOTFOUND;
	*id = cl.next_snapshot;
	return r;
}

/*
 * Version 1/2: write the legacy node of the REFS (links: s->refs[0..n))
 * and commit the snapshot pointing at it.  The node's id depends on the
 * snapshot's id, so a commit racing another of the same client tries
 * the next id.  Returns the catalog_commit() result, or -1 after
 * failing the session.
 */
static int
commit_legacy(struct session *s, struct cat_snapshot *snap, size_t n,
    size_t *missing)
{
	struct cat_blob at;
	int r, tries;

	if ((r = next_snapshot(s, &snap->id)) != CAT_OK)
		return r;
	snap->has_legacy = 1;
	for (tries = 0; tries < COMMIT_TRIES; tries++) {
		store_legacy_id(s->client.id, snap->id, snap->legacy);
		if ((r = store_put_legacy(s->store, s->client.id, snap->legacy,
		    (const uint8_t (*)[BLOB_ID_LEN])s->refs, (uint32_t)n,
		    &at)) == -1 || store_flush(s->store) == -1)
			return storage_failed(s, "pack write",
			    store_strerror(s->store));
		if ((r = legacy_ours(s, snap->legacy, r == 0, &at, n)) == -1)
			return -1;
		if (r == 0) {
			snap->id++;	/* another session's node: skip */
			continue;
		}
		r = catalog_commit(s->cat, s->client.id, snap, missing);
		if (r != CAT_EXISTS)
			return r;
		if ((r = next_snapshot(s, &snap->id)) != CAT_OK)
			return r;
	}
	return storage_failed(s, "catalog commit", "other commits of this "
	    "client kept coming first");
}

static int
on_commit(struct session *s, const uint8_t *p, uint32_t len)
{
	uint8_t out[WIRE_HDR_LEN + 8];
	struct cat_snapshot snap;
	struct reader r;
	struct wire_wr w;
	size_t missing = 0, n = 0;
	uint16_t setlen;
	int rc;

	memset(&snap, 0, sizeof(snap));
	rd_init(&r, p, len);
	if (rd_get_u16(&r, &setlen) == -1)
		return failf(s, WIRE_ERR_MALFORMED, "malformed COMMIT");
	if (setlen == 0 || setlen > WIRE_SET_MAX)
		return failf(s, WIRE_ERR_LIMIT, "limit exceeded: set name of "
		    "%u bytes (1..%d)", setlen, WIRE_SET_MAX);
	/*
	 * Version 2 adds u64 files at the end, version 3 u64 size after
	 * it; version 1 has neither.
	 */
	if (rd_get_bytes(&r, snap.set, setlen) == -1 ||
	    rd_get_u64(&r, &snap.time) == -1 ||
	    rd_get_bytes(&r, snap.root, BLOB_ID_LEN) == -1 ||
	    rd_get_bytes(&r, snap.meta, BLOB_ID_LEN) == -1 ||
	    (s->version >= 2 && rd_get_u64(&r, &snap.files) == -1) ||
	    (s->version >= 3 && rd_get_u64(&r, &snap.size) == -1) ||
	    r.left != 0)
		return failf(s, WIRE_ERR_MALFORMED, "malformed COMMIT");
	snap.new_bytes = s->new_bytes;
	snap.new_blobs = s->new_blobs;
	snap.set[setlen] = '\0';
	if (!catalog_name_valid(snap.set))
		return failf(s, WIRE_ERR_MALFORMED, "malformed COMMIT: set "
		    "name not of A-Z a-z 0-9 . _ -");

	/* Durable first: the pending blobs reach the index. */
	if (store_flush(s->store) == -1)
		return storage_failed(s, "pack sync", store_strerror(s->store));

	if (s->version >= 3)
		rc = catalog_commit(s->cat, s->client.id, &snap, &missing);
	else if (legacy_refs(s, &snap, &n, &snap.size) == -1 ||
	    (rc = commit_legacy(s, &snap, n, &missing)) == -1)
		return -1;
	s->nrefs = 0;		/* the next snapshot starts afresh */
	s->new_bytes = 0;
	s->new_blobs = 0;
	switch (rc) {
	case CAT_OK:
		break;
	case CAT_MISSING:
		return failf(s, WIRE_ERR_INCOMPLETE, "commit refused: %zu of "
		    "root, meta%s not stored", missing, snap.has_legacy ?
		    " and the legacy node" : "");
	case CAT_DISABLED:
		return failf(s, WIRE_ERR_AUTH, "authentication failed: client "
		    "%s is disabled", s->client.name);
	case CAT_NOTFOUND:
		return failf(s, WIRE_ERR_AUTH, "authentication failed: client "
		    "%s was removed", s->client.name);
	default:
		return storage_failed(s, "catalog commit",
		    catalog_strerror(s->cat));
	}
	log_info("client %s at %s: snapshot %llu of set %s committed (%llu "
	    "files, %llu bytes; %llu new blobs, %llu new bytes%s)",
	    s->client.name, s->peer, (unsigned long long)snap.id, snap.set,
	    (unsigned long long)snap.files, (unsigned long long)snap.size,
	    (unsigned long long)snap.new_blobs,
	    (unsigned long long)snap.new_bytes, snap.has_legacy ?
	    "; legacy node" : "");
	s->hist_snapshot = snap.id;
	snprintf(s->hist_set, sizeof(s->hist_set), "%s", snap.set);
	wire_wr_init(&w, out, sizeof(out));
	wire_frame_begin(&w, WIRE_COMMITTED);
	wire_put_u64(&w, snap.id);
	wire_frame_end(&w);
	return reply(s, &w, "COMMITTED");
}

/* One set's policy evaluation, reused for the rest of a FORGET. */
struct forget_set {
	char		 set[CAT_NAME_MAX + 1];
	struct ret_snap	*snaps;		/* by id */
	size_t		 n;
};

struct forget_ctx {
	struct forget_set *sets;
	size_t		 n, cap;
};

static int
cmp_ret_id(const void *key, const void *elem)
{
	uint64_t id = *(const uint64_t *)key;
	const struct ret_snap *r = elem;

	return id < r->id ? -1 : id > r->id;
}

/*
 * Whether the server's policy keeps snapshot snap: 1 yes, 0 no, -1 after
 * failing the session.
 */
static int
policy_keeps(struct session *s, struct forget_ctx *fc,
    const struct cat_snapshot *snap)
{
	struct forget_set *fs = NULL;
	const struct ret_snap *r;
	char err[256];

	for (size_t i = 0; i < fc->n && fs == NULL; i++)
		if (strcmp(fc->sets[i].set, snap->set) == 0)
			fs = &fc->sets[i];
	if (fs == NULL) {
		if (fc->n == fc->cap) {
			size_t cap = fc->cap ? fc->cap * 2 : 4;
			struct forget_set *q = reallocarray(fc->sets, cap,
			    sizeof(*q));

			if (q == NULL)
				return storage_failed(s, "memory",
				    strerror(errno));
			fc->sets = q;
			fc->cap = cap;
		}
		fs = &fc->sets[fc->n];
		memset(fs, 0, sizeof(*fs));
		snprintf(fs->set, sizeof(fs->set), "%s", snap->set);
		if (policy_evaluate(s->cat, &s->cfg->retention, s->client.id,
		    snap->set, &fs->snaps, &fs->n, err, sizeof(err)) != CAT_OK)
			return storage_failed(s, "retention policy", err);
		fc->n++;
	}
	r = bsearch(&snap->id, fs->snaps, fs->n, sizeof(*fs->snaps),
	    cmp_ret_id);
	return r == NULL || r->keep;
}

static int
on_forget(struct session *s, const uint8_t *p, uint32_t len)
{
	struct forget_ctx fc = { NULL, 0, 0 };
	struct cat_snapshot snap;
	struct cat_client cl;
	struct wire_wr w;
	uint8_t *out, res;
	size_t outlen;
	uint32_t n;
	int rc = 0;

	if ((n = parse_batch(s, "FORGET", p, len, 8)) == 0)
		return -1;
	/* The flags of now: the administrator may have changed them. */
	switch (catalog_client_get(s->cat, s->client.name, &cl)) {
	case CAT_OK:
		crypto_wipe(cl.secret, sizeof(cl.secret));
		if (cl.id == s->client.id && !cl.disabled)
			break;
		return failf(s, WIRE_ERR_AUTH, "authentication failed: client "
		    "%s is disabled or was removed", s->client.name);
	case CAT_NOTFOUND:
		return failf(s, WIRE_ERR_AUTH, "authentication failed: client "
		    "%s was removed", s->client.name);
	default:
		return storage_failed(s, "catalog lookup",
		    catalog_strerror(s->cat));
	}
	outlen = WIRE_HDR_LEN + 4 + (size_t)n * 9;
	if ((out = malloc(outlen)) == NULL)
		return storage_failed(s, "memory", strerror(errno));
	wire_wr_init(&w, out, outlen);
	wire_frame_begin(&w, WIRE_FORGOTTEN);
	wire_put_u32(&w, n);
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		uint64_t id = be64_get(p + 4 + (size_t)i * 8);
		int k;

		switch (catalog_snapshot_get(s->cat, s->client.id, id, &snap)) {
		case CAT_OK:
			break;
		case CAT_NOTFOUND:
			res = 2;
			goto put;
		default:
			rc = storage_failed(s, "catalog lookup",
			    catalog_strerror(s->cat));
			continue;
		}
		if (!cl.allow_forget) {
			if ((k = policy_keeps(s, &fc, &snap)) == -1) {
				rc = -1;
				continue;
			}
			if (k) {
				res = 1;
				goto put;
			}
		}
		switch (catalog_forget(s->cat, s->client.id, id)) {
		case CAT_OK:
			res = 0;
			log_info("client %s at %s: snapshot %llu of set %s "
			    "forgotten", s->client.name, s->peer,
			    (unsigned long long)id, snap.set);
			break;
		case CAT_NOTFOUND:
			res = 2;
			break;
		case CAT_PROTECTED:	/* kept: an administrator's flag */
			res = 1;
			log_info("client %s at %s: snapshot %llu of set %s is "
			    "protected: not forgotten", s->client.name,
			    s->peer, (unsigned long long)id, snap.set);
			break;
		default:
			rc = storage_failed(s, "catalog forget",
			    catalog_strerror(s->cat));
			continue;
		}
put:
		wire_put_u64(&w, id);
		wire_put_bytes(&w, &res, 1);
	}
	wire_frame_end(&w);
	for (size_t i = 0; i < fc.n; i++)
		free(fc.sets[i].snaps);
	free(fc.sets);
	if (rc == 0)
		rc = reply(s, &w, "FORGOTTEN");
	free(out);
	return rc;
}

struct list_fill {
	struct wire_wr	*w;
	uint16_t	 version;
	size_t		 limit;		/* bytes the frame may reach */
	uint32_t	 n;
};

static int
list_one(void *arg, const struct cat_snapshot *snap)
{
	struct list_fill *f = arg;
	size_t need = 8 + 2 + strlen(snap->set) + 8 + 2 * BLOB_ID_LEN +
	    (f->version >= 3 ? 3 * 8 : 2 * 8) + (f->version >= 5);
	uint8_t flags = snap->protected ? WIRE_SNAP_PROTECTED : 0;

	if (f->w->len + need > f->limit)
		return 1;		/* full: the client asks again */
	wire_put_u64(f->w, snap->id);
	wire_put_str(f->w, snap->set);
	wire_put_u64(f->w, snap->time);
	wire_put_bytes(f->w, snap->root, BLOB_ID_LEN);
	wire_put_bytes(f->w, snap->meta, BLOB_ID_LEN);
	if (f->version >= 3) {
		wire_put_u64(f->w, snap->files);
		wire_put_u64(f->w, snap->size);
		wire_put_u64(f->w, snap->new_bytes);
	} else {
		wire_put_u64(f->w, 0);		/* blobs: not counted */
		wire_put_u64(f->w, snap->size);
	}
	if (f->version >= 5)
		wire_put_bytes(f->w, &flags, 1);
	f->n++;
	return 0;
}

static int
on_list(struct session *s, const uint8_t *p, uint32_t len)
{
	char set[WIRE_SET_MAX + 1];
	struct list_fill f;
	struct reader r;
	struct wire_wr w;
	uint64_t after;
	size_t at;

	rd_init(&r, p, len);
	if (rd_get_str16(&r, set, sizeof(set), WIRE_SET_MAX) == -1 ||
	    rd_get_u64(&r, &after) == -1 || r.left != 0)
		return failf(s, WIRE_ERR_MALFORMED, "malformed LIST");
	out_init(s, &w);
	wire_frame_begin(&w, WIRE_SNAPSHOTS);
	at = w.len;
	wire_put_u32(&w, 0);		/* count, filled in below */
	f.w = &w;
	f.version = s->version;
	f.limit = WIRE_HDR_LEN + (size_t)s->cfg->max_frame;
	f.n = 0;
	if (catalog_snapshots(s->cat, s->client.id, set, after, list_one,
	    &f) != CAT_OK)
		return storage_failed(s, "catalog list",
		    catalog_strerror(s->cat));
	wire_frame_end(&w);
	if (!w.overflow)
		be32_put(w.buf + at, f.n);
	return reply(s, &w, "SNAPSHOTS");
}

/*
 * Look blob id up again and read it from its new place (the same length
 * and nlinks: the same blob), its links into links (may be NULL).
 * store_read_rec()'s result, 1 when it is gone, -2 after a catalog
 * error (message in catalog_strerror()).
 */
static int
reread(struct session *s, const uint8_t *id, struct cat_blob *loc,
    uint8_t (*links)[BLOB_ID_LEN], uint8_t *buf)
{
	struct cat_blob again;
	uint8_t found;

	if (catalog_blobs_lookup(s->cat, s->client.id,
	    (const uint8_t (*)[BLOB_ID_LEN])id, 1, &again, &found) != CAT_OK)
		return -2;
	if (!found || again.length != loc->length ||
	    again.nlinks != loc->nlinks ||
	    (again.pack == loc->pack && again.offset == loc->offset))
		return 1;
	*loc = again;
	return store_read_rec(s->store, s->client.id, id, loc, links, buf);
}

static int
on_get(struct session *s, const uint8_t *p, uint32_t len)
{
	const uint8_t (*ids)[BLOB_ID_LEN] = (const void *)(p + 4);
	uint8_t found[WIRE_BATCH_MAX];
	size_t cap = WIRE_HDR_LEN + (size_t)s->cfg->max_frame;
	struct cat_blob *locs;
	struct wire_wr w;
	uint32_t n;
	int rc = 0;

	if ((n = parse_batch(s, "GET", p, len, BLOB_ID_LEN)) == 0)
		return -1;
	if ((locs = calloc(n, sizeof(*locs))) == NULL)
		return storage_failed(s, "memory", strerror(errno));
	if (catalog_blobs_lookup(s->cat, s->client.id, ids, n, locs, found) !=
	    CAT_OK) {
		free(locs);
		return storage_failed(s, "catalog lookup",
		    catalog_strerror(s->cat));
	}
	/* Frames are gathered in s->out and sent when the next does not fit. */
	out_init(s, &w);
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		size_t need = WIRE_HDR_LEN + BLOB_ID_LEN;
		int damaged = 0, linked;

		/* Version 3 sends a linked blob's links along (LBLOB). */
		linked = found[i] && locs[i].nlinks > 0 && s->version >= 3;
		if (found[i])
			need += locs[i].length;
		if (linked)
			need += 4 + (size_t)locs[i].nlinks * BLOB_ID_LEN;
		if (need > cap) {
			rc = failf(s, WIRE_ERR_LIMIT, "limit exceeded: a blob "
			    "of %u bytes does not fit MaxFrame",
			    locs[i].length);
			break;
		}
		if (w.len + need > cap) {
			if ((rc = reply(s, &w, "BLOB")) == -1)
				break;
			out_init(s, &w);
		}
		if (found[i]) {
			/*
			 * Read straight into place behind header and id (and
			 * nlinks): the links, then the bytes, in one read
			 * whose sum checks both.
			 */
			uint8_t *at = w.buf + w.len + WIRE_HDR_LEN +
			    BLOB_ID_LEN + (linked ? 4 : 0);
			uint8_t (*lk)[BLOB_ID_LEN] = linked ? (void *)at :
			    NULL;
			uint8_t *bytes = at + (linked ?
			    (size_t)locs[i].nlinks * BLOB_ID_LEN : 0);
			int r = store_read_rec(s->store, s->client.id, ids[i],
			    &locs[i], lk, bytes);

			/*
			 * Prune rewrote the pack between the lookup and the
			 * read: the index has the new place.  Once.
			 */
			if (r == 1 && store_errno(s->store) == ENOENT)
				r = reread(s, ids[i], &locs[i], lk, bytes);
			if (r == -2) {
				rc = storage_failed(s, "catalog lookup",
				    catalog_strerror(s->cat));
				break;
			}
			if (r == -1) {
				rc = storage_failed(s, "pack read",
				    store_strerror(s->store));
				break;
			}
			if (r == 1) {
				char wbuf[160], hex[2 * BLOB_ID_LEN + 1];

				hex_encode(ids[i], BLOB_ID_LEN, hex);
				log_warnx("%s: blob %s is damaged: %s",
				    who(s, wbuf, sizeof(wbuf)), hex,
				    store_strerror(s->store));
				damaged = 1;
			}
		}
		if (found[i] && !damaged && linked) {
			wire_frame_begin(&w, WIRE_LBLOB);
			wire_put_bytes(&w, ids[i], BLOB_ID_LEN);
			wire_put_u32(&w, locs[i].nlinks);
			/* Links and bytes read in place above. */
			w.len += (size_t)locs[i].nlinks * BLOB_ID_LEN +
			    locs[i].length;
			wire_frame_end(&w);
		} else if (found[i] && !damaged) {
			wire_frame_begin(&w, WIRE_BLOB);
			wire_put_bytes(&w, ids[i], BLOB_ID_LEN);
			w.len += locs[i].length;	/* read in place above */
			wire_frame_end(&w);
		} else {
			wire_frame_begin(&w, WIRE_NOBLOB);
			wire_put_bytes(&w, ids[i], BLOB_ID_LEN);
			wire_frame_end(&w);
		}
	}
	free(locs);
	if (rc == 0 && w.len > 0)
		rc = reply(s, &w, "BLOB");
	return rc;
}

/*
 * The agent's frames (version 4).  A report is stored for the session's
 * client, whatever the frame says, with the server's clock as its
 * received time; a poll records the agent's jobs and takes the "back up
 * now" requests queued for the client.
 */
_Static_assert(WIRE_JOB_ERROR_MAX == CAT_JOB_ERROR_MAX, "a report's error");
_Static_assert(WIRE_AGENT_NAME_MAX == CAT_AGENT_NAME_MAX, "an agent's name");
_Static_assert(WIRE_SET_MAX == CAT_NAME_MAX, "set names");
_Static_assert(WIRE_JOB_RESULT_MAX == CAT_JOB_CANCELLED, "job results");
_Static_assert(CAT_REQUESTS_MAX <= WIRE_REQUESTS_MAX, "one take, one frame");

/* ERROR 3 for an agent's frame in a session below version 4. */
static int
need_v4(struct session *s, uint16_t type)
{
	if (s->version >= 4)
		return 0;
	return failf(s, WIRE_ERR_UNEXPECTED, "unexpected frame type 0x%04x "
	    "(%s): protocol version 4 only", type, wire_type_name(type));
}

/* Whether every byte of an agent's name is printable (UTF-8 allowed). */
static int
agent_name_valid(const char *name)
{
	for (const unsigned char *p = (const void *)name; *p != '\0'; p++)
		if (*p < ' ' || *p == 0x7f)
			return 0;
	return 1;
}

static int
on_job_report(struct session *s, const uint8_t *p, uint32_t len)
{
	struct wire_job_report jr;
	struct cat_jobrun run;
	uint8_t out[WIRE_HDR_LEN + 8];
	struct wire_wr w;
	char why[200], wbuf[160];
	int code, rc;

	if (need_v4(s, WIRE_JOB_REPORT) == -1)
		return -1;
	if ((code = wire_parse_job_report(p, len, &jr, why,
	    sizeof(why))) != 0)
		return failf(s, code, "%s", why);
	if (!catalog_name_valid(jr.set))
		return failf(s, WIRE_ERR_MALFORMED, "malformed JOB_REPORT: set "
		    "name with characters other than A-Za-z0-9._-");
	/* Stored as text that logs, tables and JSON can show. */
	text_clean(jr.error, "\n\t");
	memset(&run, 0, sizeof(run));
	snprintf(run.set, sizeof(run.set), "%s", jr.set);
	run.request = jr.request;
	run.start = jr.start;
	run.end = jr.end;
	run.received = time(NULL);
	run.result = jr.result;
	run.snapid = jr.snapid;
	run.files = jr.files;
	run.bytes = jr.bytes;
	run.read_bytes = jr.read_bytes;
	run.sent_bytes = jr.sent_bytes;
	run.problems = jr.problems;
	run.next_run = jr.next_run;
	memcpy(run.error, jr.error, sizeof(run.error));
	rc = catalog_job_add(s->cat, s->client.id, &run);
	if (rc == CAT_NOTFOUND)
		return failf(s, WIRE_ERR_AUTH, "authentication failed: client "
		    "%s was removed", s->client.name);
	if (rc == CAT_LIMIT)
		return failf(s, WIRE_ERR_LIMIT, "limit exceeded: JOB_REPORT of "
		    "set %s: the server keeps the state of %d sets of this "
		    "client already", run.set, CAT_SETS_MAX);
	if (rc != CAT_OK)
		return storage_failed(s, "catalog job report",
		    catalog_strerror(s->cat));
	log_info("%s: job report %llu of set %s: %s",
	    who(s, wbuf, sizeof(wbuf)), (unsigned long long)run.seq, run.set,
	    run.result == CAT_JOB_OK ? "ok" : run.result == CAT_JOB_PARTIAL ?
	    "partial" : run.result == CAT_JOB_FAILED ? "failed" :
	    "cancelled");
	wire_wr_init(&w, out, sizeof(out));
	wire_put_job_reported(&w, run.seq);
	return reply(s, &w, "JOB_REPORTED");
}

static int
on_agent_poll(struct session *s, const uint8_t *p, uint32_t len)
{
	char agent[WIRE_AGENT_NAME_MAX + 1], why[200];
	struct wire_agent_job *wj = NULL;
	struct cat_agent_job *jobs = NULL;
	struct cat_request *reqs = NULL;
	struct wire_request *wr = NULL;
	struct wire_wr w;
	size_t nreqs = 0;
	uint32_t n;
	int code, rc = -1;

	if (need_v4(s, WIRE_AGENT_POLL) == -1)
		return -1;
	if ((wj = calloc(WIRE_AGENT_JOBS_MAX, sizeof(*wj))) == NULL ||
	    (jobs = calloc(WIRE_AGENT_JOBS_MAX, sizeof(*jobs))) == NULL) {
		rc = storage_failed(s, "memory", strerror(errno));
		goto done;
	}
	if ((code = wire_parse_agent_poll(p, len, agent, wj, &n, why,
	    sizeof(why))) != 0) {
		rc = failf(s, code, "%s", why);
		goto done;
	}
	if (!agent_name_valid(agent)) {
		rc = failf(s, WIRE_ERR_MALFORMED, "malformed AGENT_POLL: a "
		    "control character in the agent's name");
		goto done;
	}
	text_clean(agent, "");	/* bytes that are not UTF-8: '?' */
	for (uint32_t i = 0; i < n; i++) {
		if (!catalog_name_valid(wj[i].set)) {
			rc = failf(s, WIRE_ERR_MALFORMED, "malformed "
			    "AGENT_POLL: job %u: set name with characters "
			    "other than A-Za-z0-9._-", i + 1);
			goto done;
		}
		snprintf(jobs[i].set, sizeof(jobs[i].set), "%s", wj[i].set);
		jobs[i].next_run = wj[i].next_run;
		jobs[i].interval = wj[i].interval;
		jobs[i].running = wj[i].running;
	}
	switch (catalog_agent_seen(s->cat, s->client.id, time(NULL), agent,
	    jobs, n)) {
	case CAT_OK:
		break;
	case CAT_NOTFOUND:
		rc = failf(s, WIRE_ERR_AUTH, "authentication failed: client "
		    "%s was removed", s->client.name);
		goto done;
	default:
		rc = storage_failed(s, "catalog agent",
		    catalog_strerror(s->cat));
		goto done;
	}
	/*
	 * A version 4 agent gets the backups only (the others wait).  As
	 * many as fit one frame (u32 count; per request u64 id, u8 kind,
	 * string set and, version 5, string args): the rest next time.
	 */
	if (catalog_requests_take_kinds(s->cat, s->client.id, time(NULL),
	    s->version >= 5, (size_t)s->cfg->max_frame - 4,
	    8 + 1 + 2 + (s->version >= 5 ? 2 : 0), &reqs, &nreqs) != CAT_OK) {
		rc = storage_failed(s, "catalog requests",
		    catalog_strerror(s->cat));
		goto done;
	}
	/* The catalog hands out at most CAT_REQUESTS_MAX at a time. */
	if (nreqs > WIRE_REQUESTS_MAX) {
		rc = storage_failed(s, "catalog requests", "too many");
		goto done;
	}
	if (nreqs > 0 && (wr = calloc(nreqs, sizeof(*wr))) == NULL) {
		rc = storage_failed(s, "memory", strerror(errno));
		goto done;
	}
	for (size_t i = 0; i < nreqs; i++) {
		char wbuf[160];

		wr[i].id = reqs[i].id;
		wr[i].kind = (uint8_t)reqs[i].kind;
		snprintf(wr[i].set, sizeof(wr[i].set), "%s", reqs[i].set);
		snprintf(wr[i].args, sizeof(wr[i].args), "%s", reqs[i].args);
		log_info("%s: request %llu (%s set %s) handed to its "
		    "agent", who(s, wbuf, sizeof(wbuf)),
		    (unsigned long long)reqs[i].id, reqs[i].kind ==
		    CAT_REQ_BROWSE ? "browse" : reqs[i].kind ==
		    CAT_REQ_RESTORE ? "restore" : "back up", reqs[i].set);
	}
	out_init(s, &w);
	if (s->version >= 5)
		wire_put_agent_requests5(&w, wr, nreqs);
	else
		wire_put_agent_requests(&w, wr, nreqs);
	rc = reply(s, &w, "AGENT_REQUESTS");
done:
	free(wj);
	free(jobs);
	free(reqs);
	free(wr);
	return rc;
}

/*
 * Version 5: the agent's answer to a browse or restore request of this
 * client, kept for the console (catalog_answer_put()).
 */
_Static_assert(WIRE_ANSWER_MAX == CAT_ANSWER_MAX, "an answer");
_Static_assert(WIRE_REQ_ARGS_MAX == CAT_REQ_ARGS_MAX, "a request's args");
_Static_assert(WIRE_REQ_BROWSE == CAT_REQ_BROWSE &&
    WIRE_REQ_RESTORE == CAT_REQ_RESTORE &&
    WIRE_REQ_BACKUP == CAT_REQ_BACKUP, "request kinds");
_Static_assert((int)WIRE_ANSWER_DONE == (int)CAT_ANSWER_DONE &&
    (int)WIRE_ANSWER_STARTED == (int)CAT_ANSWER_STARTED &&
    (int)WIRE_ANSWER_FAILED == (int)CAT_ANSWER_FAILED, "answer statuses");

static int
on_agent_answer(struct session *s, const uint8_t *p, uint32_t len)
{
	const uint8_t *ans;
	uint8_t out[WIRE_HDR_LEN + 8], status;
	uint64_t id;
	size_t alen;
	struct wire_wr w;
	char why[200], wbuf[160];
	int code, rc;

	if (s->version < 5)
		return failf(s, WIRE_ERR_UNEXPECTED, "unexpected frame type "
		    "0x%04x (AGENT_ANSWER): protocol version 5 only",
		    WIRE_AGENT_ANSWER);
	if ((code = wire_parse_agent_answer(p, len, &id, &status, &ans,
	    &alen, why, sizeof(why))) != 0)
		return failf(s, code, "%s", why);
	rc = catalog_answer_put(s->cat, s->client.id, id, status, ans, alen,
	    time(NULL));
	/*
	 * Late (the request ended: the server failed it) or unknown: the
	 * agent cannot do better than tell it, so it is acknowledged.
	 */
	if (rc == CAT_NOTFOUND)
		log_warnx("%s: answer to request %llu dropped: no browse or "
		    "restore request of this client by that id waits (it "
		    "ended already, or was never handed out)", who(s, wbuf,
		    sizeof(wbuf)), (unsigned long long)id);
	else if (rc != CAT_OK)
		return storage_failed(s, "catalog answer",
		    catalog_strerror(s->cat));
	else
		log_info("%s: answer to request %llu: %s, %zu bytes",
		    who(s, wbuf, sizeof(wbuf)), (unsigned long long)id,
		    status == WIRE_ANSWER_DONE ? "done" : status ==
		    WIRE_ANSWER_STARTED ? "started" : "failed", alen);
	wire_wr_init(&w, out, sizeof(out));
	wire_put_agent_answered(&w, id);
	return reply(s, &w, "AGENT_ANSWERED");
}

/* Sets of session states (enum session_auth), one bit each. */
#define IN_NONE		(1u << AUTH_NONE)
#define IN_CHALLENGED	(1u << AUTH_CHALLENGED)
#define IN_DONE		(1u << AUTH_DONE)
#define IN_ANY		(IN_NONE | IN_CHALLENGED | IN_DONE)

/*
 * The frames a client may send after the hello: the states it may come
 * in, the largest payload (UINT32_MAX: up to MaxFrame, as any frame) and
 * the error code of a longer one.  In another state it is refused with
 * code 3 and the reason notnow, or with code 8 when notnow is NULL: it
 * needs AUTH first.  All this is known from the header, so a frame that
 * is refused is not read.
 */
struct session_frame {
	uint16_t	 type;
	unsigned int	 states;
	uint32_t	 max;
	uint16_t	 toolong;
	const char	*notnow;
	int		(*fn)(struct session *, const uint8_t *, uint32_t);
};

static const struct session_frame frames[] = {
	{ WIRE_PING,		IN_ANY,		WIRE_PING_MAX,
	    WIRE_ERR_MALFORMED,	NULL,		on_ping },
	{ WIRE_BYE,		IN_ANY,		0,
	    WIRE_ERR_MALFORMED,	NULL,		on_bye },
	{ WIRE_REGISTER,	IN_ANY,		WIRE_REGISTER_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_register },
	{ WIRE_CERT_REQUEST,	IN_ANY,		WIRE_CSR_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_cert_request },
	{ WIRE_AUTH,		IN_NONE,	WIRE_AUTH_MAX,
	    WIRE_ERR_LIMIT,	"already authenticating", on_auth },
	{ WIRE_PROOF,		IN_CHALLENGED,	WIRE_PROOF_LEN,
	    WIRE_ERR_MALFORMED,	"no CHALLENGE outstanding", on_proof },
	{ WIRE_HAVE,		IN_DONE,	WIRE_IDS_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_have },
	{ WIRE_PUT,		IN_DONE,	UINT32_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_put },
	{ WIRE_PUT_LINKED,	IN_DONE,	UINT32_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_put_linked },
	{ WIRE_REFS,		IN_DONE,	WIRE_IDS_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_refs },
	{ WIRE_COMMIT,		IN_DONE,	WIRE_COMMIT3_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_commit },
	{ WIRE_FORGET,		IN_DONE,	WIRE_FORGET_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_forget },
	{ WIRE_LIST,		IN_DONE,	WIRE_LIST_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_list },
	{ WIRE_GET,		IN_DONE,	WIRE_IDS_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_get },
	{ WIRE_JOB_REPORT,	IN_DONE,	WIRE_JOB_REPORT_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_job_report },
	{ WIRE_AGENT_POLL,	IN_DONE,	WIRE_AGENT_POLL_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_agent_poll },
	{ WIRE_AGENT_ANSWER,	IN_DONE,	WIRE_AGENT_ANSWER_MAX,
	    WIRE_ERR_LIMIT,	NULL,		on_agent_answer },
};

/*
 * What a session was, for the history: the frames it was let read, a
 * bit each, and the kind they make (the first row that matches).
 */
#define DID_AUTH	(1u << 0)	/* AUTH, PROOF */
#define DID_BACKUP	(1u << 1)	/* HAVE, PUT, PUT_LINKED, REFS, COMMIT */
#define DID_GET		(1u << 2)
#define DID_LIST	(1u << 3)
#define DID_FORGET	(1u << 4)
#define DID_REGISTER	(1u << 5)	/* REGISTER, CERT_REQUEST */
#define DID_REPORT	(1u << 6)	/* JOB_REPORT */
#define DID_POLL	(1u << 7)	/* AGENT_POLL */

static unsigned
did_bit(uint16_t type)
{
	switch (type) {
	case WIRE_AUTH:
	case WIRE_PROOF:
		return DID_AUTH;
	case WIRE_HAVE:
	case WIRE_PUT:
	case WIRE_PUT_LINKED:
	case WIRE_REFS:
	case WIRE_COMMIT:
		return DID_BACKUP;
	case WIRE_GET:
		return DID_GET;
	case WIRE_LIST:
		return DID_LIST;
	case WIRE_FORGET:
		return DID_FORGET;
	case WIRE_REGISTER:
	case WIRE_CERT_REQUEST:
		return DID_REGISTER;
	case WIRE_JOB_REPORT:
		return DID_REPORT;
	case WIRE_AGENT_POLL:
		return DID_POLL;
	default:
		return 0;
	}
}

/* Fill in the session's hist_* fields from what it did and its end. */
static void
history_note(struct session *s)
{
	static const struct { unsigned did; int kind; } kinds[] = {
		{ DID_BACKUP,	CAT_HIST_BACKUP },
		{ DID_FORGET,	CAT_HIST_FORGET },
		{ DID_GET,	CAT_HIST_READ },
		{ DID_LIST,	CAT_HIST_LIST },
		{ DID_REGISTER,	CAT_HIST_REGISTER },
		{ DID_REPORT | DID_POLL, CAT_HIST_AGENT },
	};

	s->hist_kind = s->auth == AUTH_DONE ? CAT_HIST_SESSION :
	    (s->did & DID_AUTH) ? CAT_HIST_AUTH : CAT_HIST_CONNECT;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (s->did & kinds[i].did) {
			s->hist_kind = kinds[i].kind;
			break;
		}
	if (s->hist_kind == CAT_HIST_READ && strcmp(s->purpose, "restore") ==
	    0)
		s->hist_kind = CAT_HIST_RESTORE;
	else if (s->hist_kind == CAT_HIST_READ &&
	    strcmp(s->purpose, "verify") == 0)
		s->hist_kind = CAT_HIST_VERIFY;
	s->hist_result = s->said_bye ? CAT_HRES_OK :
	    s->error == WIRE_ERR_SHUTDOWN ? CAT_HRES_INTERRUPTED :
	    CAT_HRES_FAILED;
	s->hist_client[0] = '\0';
	if (s->auth != AUTH_NONE)
		snprintf(s->hist_client, sizeof(s->hist_client), "%s",
		    s->client.name);
	else if (s->registered[0] != '\0')
		snprintf(s->hist_client, sizeof(s->hist_client), "%s",
		    s->registered);
	/*
	 * An agent's poll or report session that went well (its reports
	 * are rows of their own), and a connection that only said its
	 * hello and left (a probe), are counted, not recorded.
	 */
	s->hist_quiet = (s->hist_result == CAT_HRES_OK &&
	    (s->did & ~(DID_AUTH | DID_REPORT | DID_POLL)) == 0 &&
	    (s->did & (DID_REPORT | DID_POLL)) != 0) ||
	    (s->hist_kind == CAT_HIST_CONNECT && s->error == 0 &&
	    s->version != 0 && s->registered[0] == '\0' &&
	    !(s->did & DID_REGISTER));
}

/* 1 for the frames that change the catalog or the store. */
static int
writes(uint16_t type)
{
	return type == WIRE_REGISTER || type == WIRE_PUT ||
	    type == WIRE_PUT_LINKED || type == WIRE_COMMIT ||
	    type == WIRE_FORGET;
}

int
session_admit(enum session_auth st, const struct wire_hdr *h,
    uint32_t max_frame, const struct session_frame **row, char *why,
    size_t whylen)
{
	const struct session_frame *fh = NULL;
	const char *name = wire_type_name(h->type);
	int code;

	*row = NULL;
	if ((code = wire_hdr_check(h, max_frame, why, whylen)) != 0)
		return code;
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
		if (frames[i].type == h->type)
			fh = &frames[i];
	if (fh == NULL) {
		if (name != NULL)
			snprintf(why, whylen, "unexpected frame type 0x%04x "
			    "(%s)", h->type, name);
		else
			snprintf(why, whylen, "unknown frame type 0x%04x",
			    h->type);
		return WIRE_ERR_UNEXPECTED;
	}
	if (!(fh->states & (1u << st))) {
		if (fh->notnow == NULL) {
			snprintf(why, whylen, "not authenticated: %s needs "
			    "AUTH first", name);
			return WIRE_ERR_NOT_AUTHED;
		}
		snprintf(why, whylen, "unexpected frame type 0x%04x (%s): %s",
		    h->type, name, fh->notnow);
		return WIRE_ERR_UNEXPECTED;
	}
	if (h->len > fh->max) {
		if (fh->toolong == WIRE_ERR_MALFORMED)
			snprintf(why, whylen, "malformed %s: %u bytes (at most "
			    "%u)", name, h->len, fh->max);
		else
			snprintf(why, whylen, "limit exceeded: %s of %u bytes "
			    "(at most %u)", name, h->len, fh->max);
		return fh->toolong;
	}
	*row = fh;
	return 0;
}

void
session_run(struct session *s)
{
	const struct session_frame *fh;
	struct wire_hdr h;
	char wbuf[160], why[160];
	int code;

	s->bytes_in = s->bytes_out = 0;
	s->version = 0;
	s->auth = AUTH_NONE;
	s->bogus = 0;
	s->refs = NULL;
	s->nrefs = s->caprefs = 0;
	s->new_bytes = 0;
	s->new_blobs = 0;
	s->did = 0;
	s->purpose[0] = '\0';
	s->said_bye = 0;
	s->error = 0;
	s->hist_snapshot = 0;
	s->hist_set[0] = '\0';
	snprintf(s->why, sizeof(s->why), "unknown");
	s->tls = NULL;
	s->tls_err[0] = s->registered[0] = '\0';
	if (s->store != NULL)
		store_set_reserve(s->store, s->cfg->reserve_space);
	if ((s->tls_ctx == NULL || tls_start(s) == 0) && handshake(s) == 0) {
		for (;;) {
			int64_t deadline = mono_ms() +
			    s->cfg->idle_timeout * 1000L;
			int64_t hs = s->accepted +
			    s->cfg->handshake_timeout * 1000L;
			const char *what = "idle timeout";

			/*
			 * Until AUTH_OK the whole conversation (hello,
			 * AUTH, PROOF, or REGISTER) has HandshakeTimeout:
			 * a connection that sends a hello and then
			 * trickles must not hold a worker for IdleTimeout.
			 */
			if (s->auth != AUTH_DONE && hs <= deadline) {
				deadline = hs;
				what = "handshake timeout (not authenticated "
				    "within HandshakeTimeout)";
			}
			if (read_header(s, &h, deadline, what) == -1)
				break;
			if ((code = session_admit(s->auth, &h,
			    s->cfg->max_frame, &fh, why, sizeof(why))) != 0) {
				fail(s, code, why);
				break;
			}
			s->did |= did_bit(h.type);
			if (read_payload(s, &h, deadline, what) == -1)
				break;
			if (writes(h.type) && s->readonly != NULL &&
			    s->readonly[0] != '\0') {
				failf(s, WIRE_ERR_STORAGE, "%s", s->readonly);
				break;
			}
			if (fh->fn(s, s->buf + WIRE_HDR_LEN, h.len) == -1)
				break;
		}
	}
	/*
	 * Whatever the end, blobs that arrived are made durable and
	 * indexed, so the next backup's HAVE finds them.
	 */
	if (s->store != NULL && s->readonly != NULL &&
	    s->readonly[0] != '\0')
		store_discard(s->store);	/* not ours to write now */
	else if (s->store != NULL && store_flush(s->store) == -1)
		log_warnx("%s: keeping uploaded blobs: %s",
		    who(s, wbuf, sizeof(wbuf)), store_strerror(s->store));
	/* An idle worker holds no pack: prune may rewrite them all. */
	if (s->store != NULL)
		store_finish(s->store);
	free(s->refs);
	s->refs = NULL;
	history_note(s);
	crypto_wipe(&s->client, sizeof(s->client));
	tls_close(s->tls);
	tls_conn_free(s->tls);
	s->tls = NULL;
}
