/*
 * remote.c - the client side of a session with gigavaultd over TCP.
 * See remote.h and doc/protocol.md.
 *
 * The socket is non-blocking and every wait goes through poll() with a
 * deadline, so a silent or slow server cannot hang the client.  Every
 * frame from the server is checked (flags, length, type, exact payload
 * layout) before it is used: the server is not trusted.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/iov.h"
#include "common/monotime.h"
#include "common/sock.h"
#include "common/tls.h"
#include "common/wire.h"
#include "ratelimit.h"
#include "remote.h"

_Static_assert(REMOTE_SECRET_LEN == WIRE_SECRET_LEN, "REGISTERED's secret");

#define SOFTWARE		"gigavault " PACKAGE_VERSION
#define IO_TIMEOUT_MS		60000	/* per frame, either way */
#define KEEPALIVE_MS		30000	/* PING after this long without a frame */
#define CONNECT_TIMEOUT_MS	30000
#define COMMIT_TIMEOUT_MS	900000	/* the server fsyncs and checks */
#define BYE_TIMEOUT_MS		2000
/* The largest payload we accept: the server's MaxFrame is at most 64 MiB. */
#define IN_MAX			(64u * 1024 * 1024)
/* Our largest small frame: HAVE or GET; the others are smaller. */
#define OUT_MAX			(WIRE_HDR_LEN + WIRE_IDS_MAX)
#define LIST_MAX		(16u * 1024 * 1024)	/* snapshots listed */

struct remote {
	int		 fd;
	struct tls_conn	*tls;		/* NULL: plain TCP */
	char		 tls_err[200];	/* why the last TLS step failed */
	uint8_t		 pin[TLS_PIN_LEN];	/* the server's key */
	int		 has_pin;
	uint8_t		*stage;		/* TLS: small pieces gathered here */
	int		 broken;	/* after an error: only close */
	uint8_t		 server_id[SERVER_ID_LEN];
	uint16_t	 version;	/* agreed in the hello */
	uint16_t	 errcode;	/* of the server's ERROR frame, 0: none */
	uint8_t		*in;		/* payload of the last frame read */
	size_t		 incap;
	uint8_t		*out;		/* OUT_MAX bytes */
	int64_t		 last_sent;	/* mono_ms() of the last write */
	char		 where[300];	/* "host:port", for the hello's errors */
	struct ratelimit *pace_up;	/* NULL: no limit; not ours */
	struct ratelimit *pace_down;
};

static int	fail(struct remote *, char *, size_t, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static int
fail(struct remote *r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (r != NULL)
		r->broken = 1;
	return -1;
}

/*
 * One read or write, plain or TLS: the bytes moved (> 0), 0 at end of
 * file, or -1 with *ev the poll event to wait for, or 0 on an error
 * (errno set; EPROTO: r->tls_err says why).
 */
static ssize_t
conn_io(struct remote *r, int writing, void *p, size_t n, short *ev)
{
	ssize_t k;

	*ev = 0;
	if (r->tls == NULL) {
		do
			k = writing ? send(r->fd, p, n, MSG_NOSIGNAL) :
			    recv(r->fd, p, n, 0);
		while (k == -1 && errno == EINTR);
		if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			*ev = writing ? POLLOUT : POLLIN;
		return k;
	}
	k = tls_io(r->tls, writing, p, n, ev);
	if (k == -1 && errno == EPROTO)
		snprintf(r->tls_err, sizeof(r->tls_err), "TLS: %s",
		    tls_conn_error(r->tls));
	return k;
}

void
remote_set_limits(struct remote *r, struct ratelimit *up,
    struct ratelimit *down)
{
	r->pace_up = up;
	r->pace_down = down;
}

/* errno's text, or the TLS error behind EPROTO. */
static const char *
io_error(const struct remote *r, int e)
{
	return e == EPROTO && r->tls != NULL ? r->tls_err : strerror(e);
}

/*
 * Read exactly n bytes.  Returns 0, or -1 with errno set (0 for EOF,
 * ETIMEDOUT for the deadline).
 */
static int
read_full(struct remote *r, void *buf, size_t n, int64_t deadline)
{
	uint8_t *p = buf;
	ssize_t k;
	short ev;
	int w;

	while (n > 0) {
		k = conn_io(r, 0, p, n, &ev);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			/* Time the limit makes us wait is not the server's. */
			deadline += ratelimit_pace(r->pace_down, (size_t)k);
			continue;
		}
		if (k == 0) {
			errno = 0;
			return -1;
		}
		if (ev == 0)
			return -1;
		if ((w = sock_wait(r->fd, ev, deadline)) <= 0) {
			if (w == 0)
				errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/* Copy the server's text, replacing control bytes. */
static void
clean_text(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/*
 * Read one frame into r->in.  An ERROR frame becomes "server: <message>".
 * Returns 0 with the header in h, or -1 with err set.
 */
static int
read_frame(struct remote *r, struct wire_hdr *h, long timeout_ms, char *err,
    size_t errlen)
{
	uint8_t hb[WIRE_HDR_LEN];
	int64_t deadline = mono_ms() + timeout_ms;
	char why[128];

	if (r->broken)
		return fail(r, err, errlen, "session already failed");
	if (read_full(r, hb, sizeof(hb), deadline) == -1) {
		if (errno == 0)
			return fail(r, err, errlen, "server closed the "
			    "connection");
		if (errno == ETIMEDOUT)
			return fail(r, err, errlen, "no answer from the "
			    "server for %ld s", timeout_ms / 1000);
		return fail(r, err, errlen, "read from server: %s",
		    io_error(r, errno));
	}
	/*
	 * Before the hello, another GigaVault service answers at once when
	 * it is not the backup port: the UI bridge with a JSON line, the
	 * web console with an HTTP status line.
	 */
	if (r->version == 0 && hb[0] == '{')
		return fail(r, err, errlen, "%s is GigaVault's UI bridge "
		    "(Ports.UI), not the backup port (Ports.BackupServer, "
		    "32004 by default)", r->where);
	if (r->version == 0 && memcmp(hb, "HTTP/1.", 7) == 0)
		return fail(r, err, errlen, "%s is GigaVault's web console "
		    "(Ports.WebConsole), not the backup port "
		    "(Ports.BackupServer, 32004 by default)", r->where);
	wire_hdr_decode(hb, h);
	if (wire_hdr_check(h, IN_MAX, why, sizeof(why)) != 0)
		return fail(r, err, errlen, "bad frame from server: %s", why);
	if (h->len > r->incap) {
		uint8_t *p = realloc(r->in, h->len);

		if (p == NULL)
			return fail(r, err, errlen, "out of memory");
		r->in = p;
		r->incap = h->len;
	}
	if (read_full(r, r->in, h->len, deadline) == -1) {
		if (errno == 0)
			return fail(r, err, errlen, "server closed the "
			    "connection in the middle of a frame");
		if (errno == ETIMEDOUT)
			return fail(r, err, errlen, "server stopped sending "
			    "for %ld s", timeout_ms / 1000);
		return fail(r, err, errlen, "read from server: %s",
		    io_error(r, errno));
	}
	if (h->type == WIRE_ERROR) {
		struct reader rd;
		uint16_t code, mlen;
		char msg[512];

		rd_init(&rd, r->in, h->len);
		if (rd_get_u16(&rd, &code) == -1 ||
		    rd_get_u16(&rd, &mlen) == -1 || mlen > rd.left)
			return fail(r, err, errlen, "server: error (malformed "
			    "ERROR frame)");
		/* Keep what fits of a long message. */
		if (mlen > sizeof(msg) - 1)
			mlen = sizeof(msg) - 1;
		memcpy(msg, rd.p, mlen);
		msg[mlen] = '\0';
		clean_text(msg);
		r->errcode = code;
		return fail(r, err, errlen, "server: %s", msg[0] ? msg :
		    "error without a message");
	}
	return 0;
}

/* Read a frame that must have the given type. */
static int
expect(struct remote *r, uint16_t type, long timeout_ms, size_t *len,
    char *err, size_t errlen)
{
	struct wire_hdr h;
	const char *name;

	if (read_frame(r, &h, timeout_ms, err, errlen) == -1)
		return -1;
	if (h.type != type) {
		name = wire_type_name(h.type);
		if (name != NULL)
			return fail(r, err, errlen, "unexpected %s frame from "
			    "server (expected %s)", name,
			    wire_type_name(type));
		return fail(r, err, errlen, "unknown frame type 0x%04x from "
		    "server", h.type);
	}
	*len = h.len;
	return 0;
}

/*
 * After a failed write the server has often said why (an ERROR frame,
 * then close): report that when it is there.
 */
static int
write_failed(struct remote *r, int saved, char *err, size_t errlen)
{
	struct wire_hdr h;
	char e2[512];

	r->broken = 0;
	if (read_frame(r, &h, 1000, e2, sizeof(e2)) == -1 &&
	    (strncmp(e2, "server: ", 8) == 0 || (r->tls != NULL &&
	    strstr(e2, "TLS: ") != NULL)))
		return fail(r, err, errlen, "%s", e2);
	if (saved == ETIMEDOUT)
		return fail(r, err, errlen, "server stopped reading for %d s",
		    IO_TIMEOUT_MS / 1000);
	return fail(r, err, errlen, "write to server: %s", io_error(r, saved));
}

/* Bytes gathered into one TLS write (a record is at most 16 KiB). */
#define STAGE_MAX	(64u * 1024)

/* TLS: write all of p[0..n). */
static int
tls_send_all(struct remote *r, const uint8_t *p, size_t n, char *err,
    size_t errlen)
{
	int64_t deadline = mono_ms() + IO_TIMEOUT_MS;
	ssize_t k;
	short ev;
	int w;

	while (n > 0) {
		if ((k = conn_io(r, 1, (void *)(uintptr_t)p, n, &ev)) > 0) {
			p += k;
			n -= (size_t)k;
			ratelimit_pace(r->pace_up, (size_t)k);
			deadline = mono_ms() + IO_TIMEOUT_MS;
			r->last_sent = deadline - IO_TIMEOUT_MS;
			continue;
		}
		if (ev == 0)
			return write_failed(r, errno, err, errlen);
		if ((w = sock_wait(r->fd, ev, deadline)) <= 0)
			return write_failed(r, w == 0 ? ETIMEDOUT : errno, err,
			    errlen);
	}
	return 0;
}

/*
 * TLS: write iov[0..n) as few records as it takes: small pieces (a
 * frame header, a small blob) are gathered into r->stage and written
 * together; a large piece that starts a write goes out from where it
 * is.  Each TLS write costs a record and syscalls of its own, so a PUT
 * sent as header + blob would cost twice what it needs.
 */
static int
write_iov_tls(struct remote *r, const struct iovec *iov, int n, char *err,
    size_t errlen)
{
	size_t used = 0, take, len;
	const uint8_t *p;

	if (r->broken)
		return fail(r, err, errlen, "session already failed");
	for (int i = 0; i < n; i++) {
		p = iov[i].iov_base;
		len = iov[i].iov_len;
		while (len > 0) {
			if (used == 0 && len >= STAGE_MAX) {
				if (tls_send_all(r, p, len, err, errlen) == -1)
					return -1;
				break;
			}
			take = len < STAGE_MAX - used ? len : STAGE_MAX - used;
			memcpy(r->stage + used, p, take);
			used += take;
			p += take;
			len -= take;
			if (used == STAGE_MAX) {
				if (tls_send_all(r, r->stage, used, err,
				    errlen) == -1)
					return -1;
				used = 0;
			}
		}
	}
	return used > 0 ? tls_send_all(r, r->stage, used, err, errlen) : 0;
}

/* Write all of iov[0..n), consuming it. */
static int
write_iov(struct remote *r, struct iovec *iov, int n, char *err,
    size_t errlen)
{
	int64_t deadline = mono_ms() + IO_TIMEOUT_MS;
	struct msghdr m;
	ssize_t k;
	short ev = 0;
	int w;

	if (r->tls != NULL)
		return write_iov_tls(r, iov, n, err, errlen);
	if (r->broken)
		return fail(r, err, errlen, "session already failed");
	while (n > 0) {
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)n;
		k = sendmsg(r->fd, &m, MSG_NOSIGNAL);
		if (k == -1 && errno == EINTR)
			continue;
		ev = k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) ?
		    POLLOUT : 0;
		if (k < 0) {
			if (ev == 0)
				return write_failed(r, errno, err, errlen);
			if ((w = sock_wait(r->fd, ev, deadline)) <= 0)
				return write_failed(r, w == 0 ? ETIMEDOUT :
				    errno, err, errlen);
			continue;
		}
		ratelimit_pace(r->pace_up, (size_t)k);
		deadline = mono_ms() + IO_TIMEOUT_MS;
		r->last_sent = deadline - IO_TIMEOUT_MS;
		iov_advance(&iov, &n, (size_t)k);
	}
	return 0;
}

/* Send the frame(s) in w (built in r->out). */
static int
send_wr(struct remote *r, struct wire_wr *w, char *err, size_t errlen)
{
	struct iovec iov;

	if (w->overflow)
		return fail(r, err, errlen, "internal error: frame too large");
	iov.iov_base = w->buf;
	iov.iov_len = w->len;
	return write_iov(r, &iov, 1, err, errlen);
}

static int
connect_one(const struct addrinfo *ai, char *why, size_t whylen)
{
	int fd, on = 1;

	if ((fd = sock_connect(ai, mono_ms() + CONNECT_TIMEOUT_MS)) == -1) {
		snprintf(why, whylen, "%s", errno == ETIMEDOUT ?
		    "connection timed out" : strerror(errno));
		return -1;
	}
	/* Frames are written whole; do not let Nagle hold a request back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

/*
 * The TLS handshake on r->fd, then the server's key against the pin.
 * 0, or -1 with err set.
 */
static int
tls_start(struct remote *r, const struct remote_tls *tls, const char *host,
    int port, long timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + timeout_ms;
	char t1[96], t2[96], when[32];
	int64_t not_after;
	struct tm tm;
	time_t tt;
	int w;

	if ((r->tls = tls_conn_new(tls->ctx, r->fd, host)) == NULL ||
	    (r->stage = malloc(STAGE_MAX)) == NULL)
		return fail(r, err, errlen, "out of memory");
	for (;;) {
		switch (tls_handshake(r->tls)) {
		case TLS_OK:
			goto done;
		case TLS_WANT_READ:
			w = sock_wait(r->fd, POLLIN, deadline);
			break;
		case TLS_WANT_WRITE:
			w = sock_wait(r->fd, POLLOUT, deadline);
			break;
		case TLS_EOF:
			return fail(r, err, errlen, "%s port %d closed the "
			    "connection during the TLS handshake (is SSL "
			    "enabled on the server, and is %d its "
			    "Ports.SSLServer?)", host, port, port);
		default:
			return fail(r, err, errlen, "TLS handshake with %s port "
			    "%d failed: %s", host, port,
			    tls_conn_error(r->tls));
		}
		if (w <= 0)
			return fail(r, err, errlen, "TLS handshake with %s port "
			    "%d: %s", host, port, w == 0 ? "no answer for "
			    "the handshake (timed out)" : strerror(errno));
	}
done:
	if (tls_conn_pin(r->tls, r->pin) == -1)
		return fail(r, err, errlen, "%s port %d sent no certificate",
		    host, port);
	r->has_pin = 1;
	if (tls->ca)		/* OpenSSL checked chain, name and dates */
		return 0;
	if (tls->pin != NULL && !crypto_equal(tls->pin, r->pin,
	    TLS_PIN_LEN)) {
		tls_pin_text(tls->pin, t1);
		tls_pin_text(r->pin, t2);
		return fail(r, err, errlen, "server certificate changed: "
		    "pinned key %s, but %s port %d presents key %s; refusing "
		    "to talk to it (if the server's key was really replaced, "
		    "check the new fingerprint with the administrator and "
		    "run \"gigavault pin\")", t1, host, port, t2);
	}
	if (tls_conn_peer_expired(r->tls, &not_after) == 1) {
		tt = (time_t)not_after;
		if (gmtime_r(&tt, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC",
		    &tm) == 0)
			snprintf(when, sizeof(when), "?");
		return fail(r, err, errlen, "the certificate of %s port %d is "
		    "outside its validity period (it ends %s): the server "
		    "must renew it (gigavaultctl tls init --renew)", host,
		    port, when);
	}
	return 0;
}

/* The command named in each hello (remote_set_purpose()); "": none. */
static char purpose[REMOTE_PURPOSE_MAX + 1];

void
remote_set_purpose(const char *command)
{
	size_t n = command != NULL ? strlen(command) : 0;

	purpose[0] = '\0';
	if (n > 0 && n <= REMOTE_PURPOSE_MAX &&
	    strspn(command, "abcdefghijklmnopqrstuvwxyz") == n)
		memcpy(purpose, command, n + 1);
}

struct remote *
remote_connect(const char *host, int port, const uint8_t *expect_id,
    const struct remote_tls *tls, char *err, size_t errlen)
{
	return remote_connect_wait(host, port, expect_id, IO_TIMEOUT_MS, tls,
	    err, errlen);
}

int
remote_tls_pin(const struct remote *r, uint8_t pin[TLS_PIN_LEN])
{
	if (!r->has_pin)
		return -1;
	memcpy(pin, r->pin, TLS_PIN_LEN);
	return 0;
}

/*
 * The highest protocol version offered: WIRE_VERSION_MAX, or what the
 * test-only GIGAVAULT_TEST_PROTOCOL_MAX says (a digit from
 * WIRE_VERSION_MIN up), so that a test can be an older client.
 */
static uint16_t
version_max(void)
{
	const char *e = getenv("GIGAVAULT_TEST_PROTOCOL_MAX");

	if (e != NULL && e[0] >= '0' + WIRE_VERSION_MIN &&
	    e[0] <= '0' + WIRE_VERSION_MAX && e[1] == '\0')
		return (uint16_t)(e[0] - '0');
	return WIRE_VERSION_MAX;
}

struct remote *
remote_connect_wait(const char *host, int port, const uint8_t *expect_id,
    long hello_ms, const struct remote_tls *tls, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	struct remote *r;
	struct wire_server_hello sh;
	struct wire_wr w;
	char portstr[16], why[256] = "no address", hex1[33], hex2[33];
	char soft[sizeof(SOFTWARE) + REMOTE_PURPOSE_MAX + 3];
	size_t len;
	int rc;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->out = malloc(OUT_MAX)) == NULL) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->fd = -1;
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(r->where, sizeof(r->where), strchr(host, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", host, port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		remote_close(r);
		return NULL;
	}
	for (ai = res; ai != NULL && r->fd == -1; ai = ai->ai_next)
		r->fd = connect_one(ai, why, sizeof(why));
	freeaddrinfo(res);
	if (r->fd == -1) {
		snprintf(err, errlen, "cannot connect to %s port %d: %s", host,
		    port, why);
		remote_close(r);
		return NULL;
	}
	if (tls != NULL && tls->ctx != NULL &&
	    tls_start(r, tls, host, port, hello_ms, err, errlen) == -1) {
		remote_close(r);
		return NULL;
	}

	snprintf(soft, sizeof(soft), purpose[0] != '\0' ? "%s (%s)" : "%s",
	    SOFTWARE, purpose);
	wire_wr_init(&w, r->out, OUT_MAX);
	wire_put_client_hello(&w, WIRE_VERSION_MIN, version_max(), soft);
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_SERVER_HELLO, hello_ms, &len, err,
	    errlen) == -1) {
		remote_close(r);
		return NULL;
	}
	if (wire_parse_server_hello(r->in, len, &sh, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s port %d: %s", host, port, why);
		remote_close(r);
		return NULL;
	}
	if (sh.version < WIRE_VERSION_MIN || sh.version > WIRE_VERSION_MAX) {
		snprintf(err, errlen, "%s port %d speaks protocol version %u, "
		    "this client %u..%u", host, port, sh.version,
		    WIRE_VERSION_MIN, WIRE_VERSION_MAX);
		remote_close(r);
		return NULL;
	}
	r->version = sh.version;
	memcpy(r->server_id, sh.server_id, SERVER_ID_LEN);
	if (expect_id != NULL && !crypto_equal(expect_id, r->server_id,
	    SERVER_ID_LEN)) {
		hex_encode(expect_id, SERVER_ID_LEN, hex1);
		hex_encode(r->server_id, SERVER_ID_LEN, hex2);
		snprintf(err, errlen, "server id changed: registered with "
		    "server %s, but %s port %d is server %s; refusing to "
		    "talk to it (register again if the server was really "
		    "replaced)", hex1, host, port, hex2);
		r->broken = 1;
		remote_close(r);
		return NULL;
	}
	return r;
}

const uint8_t *
remote_server_id(const struct remote *r)
{
	return r->server_id;
}

int
remote_version(const struct remote *r)
{
	return r->version;
}

uint16_t
remote_error_code(const struct remote *r)
{
	return r->errcode;
}

int
remote_keepalive(struct remote *r, char *err, size_t errlen)
{
	struct wire_wr w;
	size_t len;

	if (mono_ms() - r->last_sent < KEEPALIVE_MS)
		return 0;
	wire_wr_init(&w, r->out, OUT_MAX);
	wire_frame_begin(&w, WIRE_PING);
	wire_frame_end(&w);
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_PONG, IO_TIMEOUT_MS, &len, err, errlen) == -1)
		return -1;
	return 0;
}

int
remote_register(struct remote *r, const char *token,
    char name[REMOTE_NAME_MAX + 1], uint8_t secret[REMOTE_SECRET_LEN],
    char *err, size_t errlen)
{
	struct wire_wr w;
	struct reader rd;
	size_t len;

	if (strlen(token) == 0 || strlen(token) > WIRE_TOKEN_MAX)
		return fail(r, err, errlen, "a token is 1 to %d bytes",
		    WIRE_TOKEN_MAX);
	wire_wr_init(&w, r->out, OUT_MAX);
	wire_frame_begin(&w, WIRE_REGISTER);
	wire_put_str(&w, token);
	wire_frame_end(&w);
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_REGISTERED, IO_TIMEOUT_MS, &len, err, errlen) == -1)
		return -1;
	rd_init(&rd, r->in, len);
	if (rd_get_str16(&rd, name, REMOTE_NAME_MAX + 1, REMOTE_NAME_MAX) ==
	    -1 || name[0] == '\0' ||
	    rd_get_bytes(&rd, secret, REMOTE_SECRET_LEN) == -1 ||
	    rd.left != 0)
		return fail(r, err, errlen, "malformed REGISTERED frame from "
		    "server");
	return 0;
}

int
remote_cert_request(struct remote *r, const uint8_t *csr, size_t csrlen,
    char **pem, char *err, size_t errlen)
{
	struct wire_wr w;
	size_t len;

	*pem = NULL;
	if (csrlen > WIRE_CSR_MAX)
		return fail(r, err, errlen, "certificate request too large");
	wire_wr_init(&w, r->out, OUT_MAX);
	wire_frame_begin(&w, WIRE_CERT_REQUEST);
	wire_put_bytes(&w, csr, csrlen);
	wire_frame_end(&w);
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_CERT, IO_TIMEOUT_MS, &len, err, errlen) == -1)
		return -1;
	if (len > WIRE_CERT_MAX)
		return fail(r, err, errlen, "malformed CERT frame from server");
	if (len == 0)
		return 0;
	if ((*pem = malloc(len + 1)) == NULL)
		return fail(r, err, errlen, "out of memory");
	memcpy(*pem, r->in, len);
	(*pem)[len] = '\0';
	return 0;
}

int
remote_auth(struct remote *r, const char *name,
    const uint8_t secret[REMOTE_SECRET_LEN], char *err, size_t errlen)
{
	uint8_t msg[sizeof(WIRE_AUTH_LABEL) - 1 + SERVER_ID_LEN +
	    WIRE_NONCE_LEN + REMOTE_NAME_MAX], proof[CRYPTO_HASH_LEN];
	size_t nlen = strlen(name), len, off = 0;
	struct wire_wr w;

	if (nlen == 0 || nlen > REMOTE_NAME_MAX)
		return fail(r, err, errlen, "client name must be 1 to %d bytes",
		    REMOTE_NAME_MAX);
	wire_wr_init(&w, r->out, OUT_MAX);
	wire_frame_begin(&w, WIRE_AUTH);
	wire_put_str(&w, name);
	wire_frame_end(&w);
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_CHALLENGE, IO_TIMEOUT_MS, &len, err, errlen) == -1)
		return -1;
	if (len != WIRE_NONCE_LEN)
		return fail(r, err, errlen, "malformed CHALLENGE frame from "
		    "server");

	memcpy(msg, WIRE_AUTH_LABEL, sizeof(WIRE_AUTH_LABEL) - 1);
	off = sizeof(WIRE_AUTH_LABEL) - 1;
	memcpy(msg + off, r->server_id, SERVER_ID_LEN);
	off += SERVER_ID_LEN;
	memcpy(msg + off, r->in, WIRE_NONCE_LEN);
	off += WIRE_NONCE_LEN;
	memcpy(msg + off, name, nlen);
	off += nlen;
	crypto_hmac(secret, REMOTE_SECRET_LEN, msg, off, NULL, 0, proof);

	wire_wr_init(&w, r->out, OUT_MAX);
	wire_frame_begin(&w, WIRE_PROOF);
	wire_put_bytes(&w, proof, sizeof(proof));
	wire_frame_end(&w);
	crypto_wipe(proof, sizeof(proof));
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_AUTH_OK, IO_TIMEOUT_MS, &len, err, errlen) == -1)
		return -1;
	if (len != 0)
		return fail(r, err, errlen, "malformed AUTH_OK frame from "
		    "server");
	return 0;
}

/* One frame of type with a count and n ids. */
static int
send_ids(struct remote *r, uint16_t type, const uint8_t (*ids)[BLOB_ID_LEN],
    size_t n, char *err, size_t errlen)
{
	struct wire_wr w;

	wire_wr_init(&w, r->out, OUT_MAX);
	wire_frame_begin(&w, type);
	wire_put_u32(&w, (uint32_t)n);
	wire_put_bytes(&w, ids, n * BLOB_ID_LEN);
	wire_frame_end(&w);
	return send_wr(r, &w, err, errlen);
}

int
remote_have(struct remote *r, const uint8_t (*ids)[BLOB_ID_LEN], size_t n,
    uint8_t *missing, char *err, size_t errlen)
{
	struct reader rd;
	uint32_t m;
	size_t len, b, j;

	memset(missing, 0, n);
	for (size_t i = 0; i < n; i += b) {
		b = n - i < WIRE_BATCH_MAX ? n - i : WIRE_BATCH_MAX;
		if (send_ids(r, WIRE_HAVE, ids + i, b, err, errlen) == -1 ||
		    expect(r, WIRE_MISSING, IO_TIMEOUT_MS, &len, err,
		    errlen) == -1)
			return -1;
		rd_init(&rd, r->in, len);
		if (rd_get_u32(&rd, &m) == -1 || m > b ||
		    rd.left != (size_t)m * BLOB_ID_LEN)
			return fail(r, err, errlen, "malformed MISSING frame "
			    "from server");
		/* The missing ids come in HAVE's order: match them up. */
		j = 0;
		for (uint32_t k = 0; k < m; k++) {
			const uint8_t *id = rd.p + (size_t)k * BLOB_ID_LEN;

			while (j < b && memcmp(ids[i + j], id, BLOB_ID_LEN) != 0)
				j++;
			if (j == b)
				return fail(r, err, errlen, "MISSING frame from "
				    "server names an id not asked for");
			missing[i + j++] = 1;
		}
	}
	return 0;
}

int
remote_put(struct remote *r, const uint8_t id[BLOB_ID_LEN], const void *blob,
    size_t len, char *err, size_t errlen)
{
	uint8_t head[WIRE_HDR_LEN + BLOB_ID_LEN];
	struct iovec iov[2];
	struct wire_wr w;

	if (len == 0 || len > IN_MAX - BLOB_ID_LEN)
		return fail(r, err, errlen, "blob of %zu bytes cannot be sent",
		    len);
	wire_wr_init(&w, head, sizeof(head));
	wire_frame_begin(&w, WIRE_PUT);
	wire_put_bytes(&w, id, BLOB_ID_LEN);
	/* The length covers the blob that follows in the second iovec. */
	be32_put(head, (uint32_t)(BLOB_ID_LEN + len));
	iov[0].iov_base = head;
	iov[0].iov_len = sizeof(head);
	iov[1].iov_base = (void *)blob;
	iov[1].iov_len = len;
	return write_iov(r, iov, 2, err, errlen);
}

int
remote_put_linked(struct remote *r, const uint8_t id[BLOB_ID_LEN],
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks, const void *blob,
    size_t len, char *err, size_t errlen)
{
	uint8_t head[WIRE_HDR_LEN + BLOB_ID_LEN + 4];
	struct iovec iov[3];
	struct wire_wr w;
	size_t lbytes = (size_t)nlinks * BLOB_ID_LEN;

	if (nlinks == 0)
		return remote_put(r, id, blob, len, err, errlen);
	if (r->version < 3)
		return fail(r, err, errlen, "this server speaks protocol "
		    "version %u, which stores no links (version 3 does)",
		    r->version);
	if (nlinks > WIRE_LINKS_MAX)
		return fail(r, err, errlen, "a blob with %u links cannot be "
		    "sent (at most %u)", nlinks, WIRE_LINKS_MAX);
	if (len == 0 || len > IN_MAX - BLOB_ID_LEN - 4 - lbytes)
		return fail(r, err, errlen, "blob of %zu bytes cannot be sent",
		    len);
	wire_wr_init(&w, head, sizeof(head));
	wire_frame_begin(&w, WIRE_PUT_LINKED);
	wire_put_bytes(&w, id, BLOB_ID_LEN);
	wire_put_u32(&w, nlinks);
	/* The length covers the links and the blob that follow. */
	be32_put(head, (uint32_t)(BLOB_ID_LEN + 4 + lbytes + len));
	iov[0].iov_base = head;
	iov[0].iov_len = sizeof(head);
	iov[1].iov_base = (void *)(uintptr_t)links;
	iov[1].iov_len = lbytes;
	iov[2].iov_base = (void *)blob;
	iov[2].iov_len = len;
	return write_iov(r, iov, 3, err, errlen);
}

int
remote_commit(struct remote *r, const char *set, uint64_t time,
    const uint8_t root[BLOB_ID_LEN], const uint8_t meta[BLOB_ID_LEN],
    uint64_t files, uint64_t size, uint64_t *snap_id, char *err,
    size_t errlen)
{
	struct wire_wr w;
	struct reader rd;
	size_t len, slen = strlen(set);

	if (r->version < 3)
		return fail(r, err, errlen, "this server speaks protocol "
		    "version %u; a commit needs version 3", r->version);
	if (slen == 0 || slen > WIRE_SET_MAX)
		return fail(r, err, errlen, "set name must be 1 to %d bytes",
		    WIRE_SET_MAX);
	wire_wr_init(&w, r->out, OUT_MAX);
	wire_frame_begin(&w, WIRE_COMMIT);
	wire_put_str(&w, set);
	wire_put_u64(&w, time);
	wire_put_bytes(&w, root, BLOB_ID_LEN);
	wire_put_bytes(&w, meta, BLOB_ID_LEN);
	wire_put_u64(&w, files);
	wire_put_u64(&w, size);
	wire_frame_end(&w);
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_COMMITTED, COMMIT_TIMEOUT_MS, &len, err,
	    errlen) == -1)
		return -1;
	rd_init(&rd, r->in, len);
	if (rd_get_u64(&rd, snap_id) == -1 || rd.left != 0)
		return fail(r, err, errlen, "malformed COMMITTED frame from "
		    "server");
	return 0;
}

int
remote_forget(struct remote *r, const uint64_t *ids, size_t n,
    uint8_t *results, char *err, size_t errlen)
{
	struct wire_wr w;
	struct reader rd;
	uint64_t id;
	uint32_t m;
	uint8_t res;
	size_t len, b;

	for (size_t i = 0; i < n; i += b) {
		b = n - i < WIRE_BATCH_MAX ? n - i : WIRE_BATCH_MAX;
		wire_wr_init(&w, r->out, OUT_MAX);
		wire_frame_begin(&w, WIRE_FORGET);
		wire_put_u32(&w, (uint32_t)b);
		for (size_t j = 0; j < b; j++)
			wire_put_u64(&w, ids[i + j]);
		wire_frame_end(&w);
		/* The server removes and syncs: give it time. */
		if (send_wr(r, &w, err, errlen) == -1 ||
		    expect(r, WIRE_FORGOTTEN, COMMIT_TIMEOUT_MS, &len, err,
		    errlen) == -1)
			return -1;
		rd_init(&rd, r->in, len);
		if (rd_get_u32(&rd, &m) == -1 || m != b ||
		    rd.left != (size_t)m * 9)
			return fail(r, err, errlen, "malformed FORGOTTEN frame "
			    "from server (%zu snapshots asked)", b);
		for (size_t j = 0; j < b; j++) {
			if (rd_get_u64(&rd, &id) == -1 ||
			    rd_get_bytes(&rd, &res, 1) == -1)
				return fail(r, err, errlen, "malformed "
				    "FORGOTTEN frame from server");
			if (id != ids[i + j])
				return fail(r, err, errlen, "FORGOTTEN frame "
				    "from server answers for snapshot %llu, "
				    "not %llu", (unsigned long long)id,
				    (unsigned long long)ids[i + j]);
			if (res > REMOTE_FORGET_NOT_FOUND)
				return fail(r, err, errlen, "FORGOTTEN frame "
				    "from server has unknown result %u",
				    res);
			results[i + j] = res;
		}
	}
	return 0;
}

int
remote_list(struct remote *r, const char *set, struct snapinfo **out,
    size_t *n, char *err, size_t errlen)
{
	struct snapinfo *v = NULL, *nv;
	size_t cnt = 0, cap = 0, len;
	uint64_t after = 0;
	struct wire_wr w;
	struct reader rd;
	uint32_t m;
	size_t emin = r->version >= 5 ? 107 : r->version >= 3 ? 106 : 98;

	*out = NULL;
	*n = 0;
	if (strlen(set) > WIRE_SET_MAX)
		return fail(r, err, errlen, "set name too long");
	for (;;) {
		wire_wr_init(&w, r->out, OUT_MAX);
		wire_frame_begin(&w, WIRE_LIST);
		wire_put_str(&w, set);
		wire_put_u64(&w, after);
		wire_frame_end(&w);
		if (send_wr(r, &w, err, errlen) == -1 ||
		    expect(r, WIRE_SNAPSHOTS, IO_TIMEOUT_MS, &len, err,
		    errlen) == -1)
			goto bad;
		rd_init(&rd, r->in, len);
		if (rd_get_u32(&rd, &m) == -1)
			goto malformed;
		if (m == 0) {
			if (rd.left != 0)
				goto malformed;
			break;
		}
		/* Each entry is at least 8+2+8+32+32+8+8 (+8, +1) bytes. */
		if (m > rd.left / emin || m > LIST_MAX - cnt) {
			if (m > LIST_MAX - cnt && m <= rd.left / emin) {
				fail(r, err, errlen, "server lists more than "
				    "%u snapshots", LIST_MAX);
				goto bad;
			}
			goto malformed;
		}
		if (cnt + m > cap) {
			cap = cnt + m + cap;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				fail(r, err, errlen, "out of memory");
				goto bad;
			}
			v = nv;
		}
		for (uint32_t k = 0; k < m; k++) {
			struct snapinfo *s = &v[cnt];

			memset(s, 0, sizeof(*s));
			s->v3 = r->version >= 3;
			if (rd_get_u64(&rd, &s->id) == -1 ||
			    rd_get_str16(&rd, s->set, sizeof(s->set),
			    WIRE_SET_MAX) == -1 ||
			    rd_get_u64(&rd, &s->time) == -1 ||
			    rd_get_bytes(&rd, s->root, BLOB_ID_LEN) == -1 ||
			    rd_get_bytes(&rd, s->meta, BLOB_ID_LEN) == -1)
				goto malformed;
			if (s->v3 ? rd_get_u64(&rd, &s->files) == -1 ||
			    rd_get_u64(&rd, &s->bytes) == -1 ||
			    rd_get_u64(&rd, &s->new_bytes) == -1 :
			    rd_get_u64(&rd, &s->blobs) == -1 ||
			    rd_get_u64(&rd, &s->bytes) == -1)
				goto malformed;
			if ((s->v5 = r->version >= 5)) {
				uint8_t flags;

				/* Flags a later version adds: not ours. */
				if (rd_get_bytes(&rd, &flags, 1) == -1)
					goto malformed;
				s->protected = (flags & WIRE_SNAP_PROTECTED) != 0;
			}
			/* Ids must grow, or a server could loop us forever. */
			if (s->id <= after)
				goto malformed;
			clean_text(s->set);
			after = s->id;
			cnt++;
		}
		if (rd.left != 0)
			goto malformed;
	}
	*out = v;
	*n = cnt;
	return 0;

malformed:
	fail(r, err, errlen, "malformed SNAPSHOTS frame from server");
bad:
	free(v);
	return -1;
}

int
remote_get(struct remote *r, const uint8_t (*ids)[BLOB_ID_LEN], size_t n,
    int (*cb)(void *, const uint8_t *, const uint8_t *, size_t,
    const uint8_t (*)[BLOB_ID_LEN], uint32_t), void *arg, char *err,
    size_t errlen)
{
	const uint8_t (*links)[BLOB_ID_LEN];
	struct wire_hdr h;
	uint32_t nlinks;
	size_t b, off;
	int rc, bad;

	for (size_t i = 0; i < n; i += b) {
		b = n - i < WIRE_BATCH_MAX ? n - i : WIRE_BATCH_MAX;
		if (send_ids(r, WIRE_GET, ids + i, b, err, errlen) == -1)
			return -1;
		for (size_t j = 0; j < b; j++) {
			if (read_frame(r, &h, IO_TIMEOUT_MS, err, errlen) == -1)
				return -1;
			links = NULL;
			nlinks = r->version >= 3 ? 0 : UINT32_MAX;
			off = BLOB_ID_LEN;
			switch (h.type) {
			case WIRE_NOBLOB:
				bad = h.len != BLOB_ID_LEN;
				break;
			case WIRE_BLOB:
				bad = h.len <= BLOB_ID_LEN;
				break;
			case WIRE_LBLOB:
				/* id, u32 nlinks (1..), links, >= 1 byte */
				bad = r->version < 3 ||
				    h.len <= BLOB_ID_LEN + 4;
				if (bad)
					break;
				nlinks = be32_get(r->in + BLOB_ID_LEN);
				off = BLOB_ID_LEN + 4;
				bad = nlinks == 0 || nlinks > WIRE_LINKS_MAX ||
				    (size_t)nlinks * BLOB_ID_LEN >= h.len - off;
				if (bad)
					break;
				links = (const uint8_t (*)[BLOB_ID_LEN])
				    (r->in + off);
				off += (size_t)nlinks * BLOB_ID_LEN;
				break;
			default:
				bad = 1;
			}
			if (bad)
				return fail(r, err, errlen, "unexpected or "
				    "malformed %s frame from server in answer "
				    "to GET", wire_type_name(h.type) ?
				    wire_type_name(h.type) : "unknown");
			if (memcmp(r->in, ids[i + j], BLOB_ID_LEN) != 0)
				return fail(r, err, errlen, "server answered "
				    "GET with a blob for another id");
			if (h.type == WIRE_NOBLOB)
				rc = cb(arg, ids[i + j], NULL, 0, NULL, 0);
			else
				rc = cb(arg, ids[i + j], r->in + off,
				    h.len - off, links, nlinks);
			if (rc != 0) {
				r->broken = 1;
				return rc;
			}
		}
	}
	return 0;
}

/*
 * The agent's frames (version 4).  Their limits are the wire's; the
 * server hands out requests once, so those of a kind this agent does
 * not know are dropped here (a later server may add kinds).
 */
_Static_assert(REMOTE_JOB_ERROR_MAX == WIRE_JOB_ERROR_MAX, "report error");
_Static_assert(REMOTE_AGENT_JOBS_MAX == WIRE_AGENT_JOBS_MAX, "poll jobs");
_Static_assert(REMOTE_REQUESTS_MAX == WIRE_REQUESTS_MAX, "poll requests");
_Static_assert(REMOTE_JOB_CANCELLED == WIRE_JOB_RESULT_MAX, "job results");
_Static_assert(REMOTE_REQ_BACKUP == WIRE_REQ_BACKUP, "request kinds");
_Static_assert(WIRE_HDR_LEN + WIRE_AGENT_POLL_MAX <= OUT_MAX, "AGENT_POLL");
_Static_assert(WIRE_HDR_LEN + WIRE_JOB_REPORT_MAX <= OUT_MAX, "JOB_REPORT");

static int
need_v4(struct remote *r, char *err, size_t errlen)
{
	if (r->version >= 4)
		return 0;
	snprintf(err, errlen, "this server speaks protocol version %u; job "
	    "reports need version 4", r->version);
	return -1;
}

int
remote_job_report(struct remote *r, const struct remote_job_report *jr,
    char *err, size_t errlen)
{
	struct wire_job_report w4;
	struct wire_wr w;
	char why[160];
	uint64_t seq;
	size_t len;

	if (need_v4(r, err, errlen) == -1)
		return -1;
	/* Mistakes of the caller: nothing sent, the session stays. */
	if (jr->set[0] == '\0' || strlen(jr->set) > WIRE_SET_MAX)
		return fail(NULL, err, errlen, "set name must be 1 to %d "
		    "bytes", WIRE_SET_MAX);
	if (jr->result < 0 || jr->result > WIRE_JOB_RESULT_MAX ||
	    jr->start < 0 || jr->end < 0 || jr->next_run < 0)
		return fail(NULL, err, errlen, "job report: result %d or a "
		    "negative time", jr->result);
	memset(&w4, 0, sizeof(w4));
	snprintf(w4.set, sizeof(w4.set), "%s", jr->set);
	w4.request = jr->request;
	w4.start = jr->start;
	w4.end = jr->end;
	w4.result = (uint8_t)jr->result;
	w4.snapid = jr->snapid;
	w4.files = jr->files;
	w4.bytes = jr->bytes;
	w4.read_bytes = jr->read_bytes;
	w4.sent_bytes = jr->sent_bytes;
	w4.problems = jr->problems;
	w4.next_run = jr->next_run;
	/* A longer text is cut (at most REMOTE_JOB_ERROR_MAX fits). */
	snprintf(w4.error, sizeof(w4.error), "%s", jr->error);
	wire_wr_init(&w, r->out, OUT_MAX);
	wire_put_job_report(&w, &w4);
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_JOB_REPORTED, IO_TIMEOUT_MS, &len, err,
	    errlen) == -1)
		return -1;
	if (wire_parse_job_reported(r->in, len, &seq, why, sizeof(why)) != 0)
		return fail(r, err, errlen, "%s from server", why);
	return 0;
}

int
remote_agent_poll(struct remote *r, const char *agent_name,
    const struct remote_agent_job *jobs, size_t njobs,
    struct remote_agent_request **out, size_t *n, char *err, size_t errlen)
{
	struct wire_agent_job *wj = NULL;
	struct wire_request *wr = NULL;
	struct remote_agent_request *v = NULL;
	char name[WIRE_AGENT_NAME_MAX + 1], why[160];
	struct wire_wr w;
	uint32_t m;
	size_t len, k = 0;

	*out = NULL;
	*n = 0;
	if (need_v4(r, err, errlen) == -1)
		return -1;
	/* Mistakes of the caller: nothing sent, the session stays. */
	if (njobs > WIRE_AGENT_JOBS_MAX)
		return fail(NULL, err, errlen, "%zu jobs: at most %d in one "
		    "poll", njobs, WIRE_AGENT_JOBS_MAX);
	for (size_t i = 0; i < njobs; i++)
		if (jobs[i].set[0] == '\0' ||
		    strlen(jobs[i].set) > WIRE_SET_MAX ||
		    jobs[i].next_run < 0 || jobs[i].interval < 0)
			return fail(NULL, err, errlen, "job %zu: set name "
			    "must be 1 to %d bytes and times not negative",
			    i + 1, WIRE_SET_MAX);
	/* A longer host name is cut: it is only shown. */
	snprintf(name, sizeof(name), "%s", agent_name);
	if ((njobs > 0 && (wj = calloc(njobs, sizeof(*wj))) == NULL) ||
	    (wr = calloc(WIRE_REQUESTS_MAX, sizeof(*wr))) == NULL) {
		free(wj);
		return fail(NULL, err, errlen, "out of memory");
	}
	for (size_t i = 0; i < njobs; i++) {
		snprintf(wj[i].set, sizeof(wj[i].set), "%s", jobs[i].set);
		wj[i].next_run = jobs[i].next_run;
		wj[i].interval = jobs[i].interval;
		wj[i].running = jobs[i].running != 0;
	}
	wire_wr_init(&w, r->out, OUT_MAX);
	wire_put_agent_poll(&w, name, wj, njobs);
	free(wj);
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_AGENT_REQUESTS, IO_TIMEOUT_MS, &len, err,
	    errlen) == -1)
		goto bad;
	if ((r->version >= 5 ? wire_parse_agent_requests5(r->in, len, wr, &m,
	    why, sizeof(why)) : wire_parse_agent_requests(r->in, len, wr, &m,
	    why, sizeof(why))) != 0) {
		fail(r, err, errlen, "%s from server", why);
		goto bad;
	}
	if (m > 0 && (v = calloc(m, sizeof(*v))) == NULL) {
		fail(r, err, errlen, "out of memory");
		goto bad;
	}
	for (uint32_t i = 0; i < m; i++) {
		if (wr[i].kind != WIRE_REQ_BACKUP && (r->version < 5 ||
		    wr[i].kind > WIRE_REQ_KIND_MAX))
			continue;
		v[k].id = wr[i].id;
		v[k].kind = wr[i].kind;
		snprintf(v[k].set, sizeof(v[k].set), "%s", wr[i].set);
		snprintf(v[k].args, sizeof(v[k].args), "%s", wr[i].args);
		k++;
	}
	free(wr);
	if (k == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = k;
	return 0;
bad:
	free(wr);
	free(v);
	return -1;
}

void
remote_close(struct remote *r)
{
	struct wire_wr w;
	struct wire_hdr h;
	char err[256];

	if (r == NULL)
		return;
	if (r->fd != -1 && !r->broken) {
		/* Say BYE and wait (briefly) for the server's BYE. */
		wire_wr_init(&w, r->out, OUT_MAX);
		wire_frame_begin(&w, WIRE_BYE);
		wire_frame_end(&w);
		if (send_wr(r, &w, err, sizeof(err)) == 0)
			(void)read_frame(r, &h, BYE_TIMEOUT_MS, err,
			    sizeof(err));
	}
	if (r->tls != NULL && !r->broken)
		tls_close(r->tls);
	tls_conn_free(r->tls);
	free(r->stage);
	if (r->fd != -1)
		close(r->fd);
	free(r->in);
	free(r->out);
	free(r);
}

int
remote_agent_answer(struct remote *r, uint64_t request, int status,
    const char *answer, size_t len, char *err, size_t errlen)
{
	struct wire_wr w;
	char why[160];
	uint64_t got;
	size_t n;

	if (r->version < 5)
		return fail(NULL, err, errlen, "this server speaks protocol "
		    "version %u; answers need version 5", r->version);
	if (len > WIRE_ANSWER_MAX || status < 0 ||
	    status > WIRE_ANSWER_STATUS_MAX || request == 0)
		return fail(NULL, err, errlen, "answer of %zu bytes (at most "
		    "%d), status %d", len, WIRE_ANSWER_MAX, status);
	wire_wr_init(&w, r->out, OUT_MAX);
	wire_put_agent_answer(&w, request, (uint8_t)status, answer, len);
	if (send_wr(r, &w, err, errlen) == -1 ||
	    expect(r, WIRE_AGENT_ANSWERED, IO_TIMEOUT_MS, &n, err,
	    errlen) == -1)
		return -1;
	if (wire_parse_agent_answered(r->in, n, &got, why, sizeof(why)) != 0)
		return fail(r, err, errlen, "%s from server", why);
	if (got != request)
		return fail(r, err, errlen, "the server acknowledged answer "
		    "%llu, not %llu", (unsigned long long)got,
		    (unsigned long long)request);
	return 0;
}
