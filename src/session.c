/*
 * session.c - the server side of the session protocol (doc/protocol.md).
 *
 * All waiting goes through io_wait(), which also watches the supervisor
 * pipe and the terminate flag and enforces the deadline, so no client
 * can hold a worker longer than the configured timeouts.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "session.h"
#include "wire.h"

#define SOFTWARE	"gigavaultd " PACKAGE_VERSION
#define ERROR_GRACE_MS	2000	/* time to deliver an ERROR frame */

enum io_result { IO_OK, IO_EOF, IO_TRUNCATED, IO_TIMEOUT, IO_ERROR, IO_TERM };

static struct timespec
deadline_in(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static long
ms_until(const struct timespec *d)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(d->tv_sec - now.tv_sec) * 1000 +
	    (d->tv_nsec - now.tv_nsec) / 1000000L;
	return ms < 0 ? 0 : ms;
}

/* Wait until the client fd is ready for events, or the deadline. */
static enum io_result
io_wait(struct session *s, short events, const struct timespec *deadline)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = s->fd, .events = events },
			{ .fd = *s->ctl_fd, .events = POLLIN },
		};
		long ms;
		int n;

		if (*s->terminate)
			return IO_TERM;
		if ((ms = ms_until(deadline)) == 0)
			return IO_TIMEOUT;
		n = poll(pfd, *s->ctl_fd == -1 ? 1 : 2, (int)ms);
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

/* Read exactly n bytes; *got says how many arrived. */
static enum io_result
read_full(struct session *s, uint8_t *p, size_t n, size_t *got,
    const struct timespec *deadline)
{
	enum io_result r;

	*got = 0;
	while (*got < n) {
		ssize_t k = read(s->fd, p + *got, n - *got);

		if (k > 0) {
			*got += (size_t)k;
			s->bytes_in += (uint64_t)k;
			continue;
		}
		if (k == 0)
			return *got == 0 ? IO_EOF : IO_TRUNCATED;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return IO_ERROR;
		if ((r = io_wait(s, POLLIN, deadline)) != IO_OK)
			return r;
	}
	return IO_OK;
}

static enum io_result
write_full(struct session *s, const uint8_t *p, size_t n,
    const struct timespec *deadline)
{
	size_t done = 0;
	enum io_result r;

	while (done < n) {
		ssize_t k = send(s->fd, p + done, n - done, MSG_NOSIGNAL);

		if (k > 0) {
			done += (size_t)k;
			s->bytes_out += (uint64_t)k;
			continue;
		}
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1 && errno != EAGAIN)
			return IO_ERROR;
		if ((r = io_wait(s, POLLOUT, deadline)) != IO_OK)
			return r;
	}
	return IO_OK;
}

static enum io_result
send_frames(struct session *s, struct wire_wr *w, long timeout_ms)
{
	struct timespec d = deadline_in(timeout_ms);

	if (w->overflow)
		return IO_ERROR;
	return write_full(s, w->buf, w->len, &d);
}

/* End the session: tell the client why (best effort) and remember it. */
static void
fail(struct session *s, enum wire_error code, const char *why)
{
	uint8_t out[512];
	struct wire_wr w;

	snprintf(s->why, sizeof(s->why), "%s", why);
	wire_wr_init(&w, out, sizeof(out));
	wire_put_error(&w, code, why);
	(void)send_frames(s, &w, ERROR_GRACE_MS);
}

/* Turn an I/O failure while reading into the session's end. */
static void
read_failed(struct session *s, enum io_result r, size_t got, size_t want,
    const char *waiting_for)
{
	char why[160];

	switch (r) {
	case IO_EOF:
		snprintf(s->why, sizeof(s->why), "client closed the connection");
		break;
	case IO_TRUNCATED:
		snprintf(s->why, sizeof(s->why), "truncated frame (got %zu of "
		    "%zu bytes)", got, want);
		break;
	case IO_TIMEOUT:
		snprintf(why, sizeof(why), "%s (%d s)", waiting_for,
		    s->version ? s->cfg->idle_timeout :
		    s->cfg->handshake_timeout);
		fail(s, WIRE_ERR_TIMEOUT, why);
		break;
	case IO_TERM:
		fail(s, WIRE_ERR_SHUTDOWN, "server shutting down");
		break;
	default:
		snprintf(s->why, sizeof(s->why), "read error: %s",
		    strerror(errno));
		break;
	}
}

/*
 * Read one frame into s->buf.  Returns 0 with the header in h and the
 * payload at s->buf + WIRE_HDR_LEN, or -1 when the session is over.
 */
static int
read_frame(struct session *s, struct wire_hdr *h,
    const struct timespec *deadline, const char *waiting_for)
{
	enum io_result r;
	char why[160];
	size_t got;
	int code;

	r = read_full(s, s->buf, WIRE_HDR_LEN, &got, deadline);
	if (r != IO_OK) {
		read_failed(s, r, got, WIRE_HDR_LEN, waiting_for);
		return -1;
	}
	wire_hdr_decode(s->buf, h);
	if ((code = wire_hdr_check(h, s->cfg->max_frame, why,
	    sizeof(why))) != 0) {
		fail(s, code, why);
		return -1;
	}
	r = read_full(s, s->buf + WIRE_HDR_LEN, h->len, &got, deadline);
	if (r != IO_OK) {
		if (r == IO_EOF)	/* the header came, the payload did not */
			r = IO_TRUNCATED;
		read_failed(s, r, WIRE_HDR_LEN + got, WIRE_HDR_LEN + h->len,
		    waiting_for);
		return -1;
	}
	return 0;
}

static int
handshake(struct session *s)
{
	struct timespec deadline = s->accepted;
	struct wire_client_hello hello;
	struct wire_hdr h;
	struct wire_wr w;
	uint8_t out[512];
	char why[160];

	deadline.tv_sec += s->cfg->handshake_timeout;
	if (read_frame(s, &h, &deadline, "handshake timeout") == -1)
		return -1;
	if (h.type != WIRE_CLIENT_HELLO) {
		snprintf(why, sizeof(why), "first frame must be CLIENT_HELLO, "
		    "got unknown frame type 0x%04x", h.type);
		fail(s, WIRE_ERR_UNEXPECTED, why);
		return -1;
	}
	if (wire_parse_client_hello(s->buf + WIRE_HDR_LEN, h.len, &hello, why,
	    sizeof(why)) != 0) {
		char msg[200];

		snprintf(msg, sizeof(msg), "malformed CLIENT_HELLO: %s", why);
		fail(s, WIRE_ERR_MALFORMED, msg);
		return -1;
	}
	s->version = wire_pick_version(hello.version_min, hello.version_max);
	if (s->version == 0) {
		snprintf(why, sizeof(why), "no common protocol version "
		    "(client %u..%u, server %u..%u)", hello.version_min,
		    hello.version_max, WIRE_VERSION_MIN, WIRE_VERSION_MAX);
		fail(s, WIRE_ERR_VERSION, why);
		return -1;
	}
	log_debug("session from %s: client \"%s\", protocol %u", s->peer,
	    hello.software, s->version);
	wire_wr_init(&w, out, sizeof(out));
	wire_put_server_hello(&w, s->version, s->server_id, SOFTWARE);
	if (send_frames(s, &w, (long)s->cfg->idle_timeout * 1000) != IO_OK) {
		snprintf(s->why, sizeof(s->why), "could not send SERVER_HELLO");
		return -1;
	}
	return 0;
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

	if (len > WIRE_PING_MAX) {
		fail(s, WIRE_ERR_MALFORMED, "malformed PING: more than 64 bytes");
		return -1;
	}
	wire_wr_init(&w, out, sizeof(out));
	wire_frame_begin(&w, WIRE_PONG);
	wire_put_bytes(&w, p, len);
	wire_frame_end(&w);
	if (send_frames(s, &w, (long)s->cfg->idle_timeout * 1000) != IO_OK) {
		snprintf(s->why, sizeof(s->why), "could not send PONG");
		return -1;
	}
	return 0;
}

static int
on_bye(struct session *s, const uint8_t *p, uint32_t len)
{
	uint8_t out[WIRE_HDR_LEN];
	struct wire_wr w;

	(void)p;
	if (len != 0) {
		fail(s, WIRE_ERR_MALFORMED, "malformed BYE: payload not empty");
		return -1;
	}
	wire_wr_init(&w, out, sizeof(out));
	wire_frame_begin(&w, WIRE_BYE);
	wire_frame_end(&w);
	(void)send_frames(s, &w, ERROR_GRACE_MS);
	snprintf(s->why, sizeof(s->why), "client said bye");
	return -1;
}

static const struct frame_handler {
	uint16_t	 type;
	int		(*fn)(struct session *, const uint8_t *, uint32_t);
} handlers[] = {
	{ WIRE_PING,	on_ping },
	{ WIRE_BYE,	on_bye },
};

static int
dispatch(struct session *s, const struct wire_hdr *h)
{
	const char *name;
	char why[128];

	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == h->type)
			return handlers[i].fn(s, s->buf + WIRE_HDR_LEN, h->len);
	if ((name = wire_type_name(h->type)) != NULL)
		snprintf(why, sizeof(why), "unexpected frame type 0x%04x (%s)",
		    h->type, name);
	else
		snprintf(why, sizeof(why), "unknown frame type 0x%04x", h->type);
	fail(s, WIRE_ERR_UNEXPECTED, why);
	return -1;
}

void
session_run(struct session *s)
{
	struct wire_hdr h;

	s->bytes_in = s->bytes_out = 0;
	s->version = 0;
	snprintf(s->why, sizeof(s->why), "unknown");
	if (handshake(s) == -1)
		return;
	for (;;) {
		struct timespec deadline =
		    deadline_in((long)s->cfg->idle_timeout * 1000);

		if (read_frame(s, &h, &deadline, "idle timeout") == -1 ||
		    dispatch(s, &h) == -1)
			return;
	}
}
