/*
 * uiask.c - one request to a daemon's UI bridge.  See uiask.h.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monotime.h"
#include "sock.h"
#include "uiask.h"

/* A socket connected to one of res's addresses, or -1 with errno set. */
static int
connect_any(const struct addrinfo *res, int64_t dl)
{
	int fd;

	for (; res != NULL; res = res->ai_next) {
		if ((fd = sock_connect(res, dl)) != -1)
			return fd;
		if (mono_left(dl) == 0)
			break;		/* the time is up for the others too */
	}
	return -1;
}

/* Send all of buf before the deadline: 0, or -1 with errno set. */
static int
send_all(int fd, const char *buf, size_t len, int64_t dl)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (sock_wait(fd, POLLOUT, dl) != 1) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/*
 * Read up to the first newline before the deadline: the line (without
 * it, NUL-terminated, malloc'ed), or NULL with *why: "timed out",
 * "connection closed", a strerror, or too long.
 */
static char *
read_line(int fd, int64_t dl, const char **why)
{
	char *buf = NULL, *p, *nl;
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (len + 4096 > cap) {
			if (cap >= UIASK_REPLY_MAX) {
				*why = "reply line too long";
				break;
			}
			if ((p = realloc(buf, cap = cap ? cap * 2 : 65536)) ==
			    NULL) {
				*why = "out of memory";
				break;
			}
			buf = p;
		}
		if (sock_wait(fd, POLLIN, dl) != 1) {
			*why = "no answer (timed out)";
			break;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*why = strerror(errno);
			break;
		}
		if (n == 0) {
			*why = "connection closed without an answer";
			break;
		}
		if ((nl = memchr(buf + len, '\n', (size_t)n)) != NULL) {
			*nl = '\0';
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

char *
uiask_line(const char *host, int port, const char *request_line,
    int64_t dl, char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	char where[300], portstr[8], *line, *req;
	const char *why = "no answer";
	size_t rlen = strlen(request_line);
	int fd, rc, e;

	snprintf(where, sizeof(where), strchr(host, ':') ? "[%s]:%d" :
	    "%s:%d", host, port);
	snprintf(portstr, sizeof(portstr), "%d", port);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return NULL;
	}
	fd = connect_any(res, dl);
	e = errno;
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "no UI bridge answers on %s: %s", where,
		    strerror(e));
		return NULL;
	}

	/* The request is one line: end it with a newline if it has none. */
	if ((req = malloc(rlen + 2)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(req, request_line, rlen);
	if (rlen == 0 || req[rlen - 1] != '\n')
		req[rlen++] = '\n';
	rc = send_all(fd, req, rlen, dl);
	e = errno;
	free(req);
	if (rc == -1) {
		close(fd);
		snprintf(err, errlen, "%s: cannot send the request: %s", where,
		    strerror(e));
		return NULL;
	}
	line = read_line(fd, dl, &why);
	close(fd);
	if (line == NULL)
		snprintf(err, errlen, "%s: %s", where, why);
	return line;
}
