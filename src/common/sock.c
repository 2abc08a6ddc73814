/*
 * sock.c - waiting for one socket until a deadline, connecting one,
 * sending and reading whole buffers before it.  See sock.h.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "monotime.h"
#include "sock.h"

int
sock_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int ms, n;

	do {
		if ((ms = mono_left(deadline)) == 0)
			return 0;
		n = poll(&p, 1, ms);
	} while (n == -1 && errno == EINTR);
	return n > 0 ? 1 : n;
}

int
sock_connect(const struct addrinfo *ai, int64_t deadline)
{
	socklen_t len = sizeof(int);
	int fd, e = 0, w;

	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol)) == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno == EINPROGRESS) {
		if ((w = sock_wait(fd, POLLOUT, deadline)) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0) {
			if (e == 0)
				return fd;
			errno = e;
		} else if (w == 0)
			errno = ETIMEDOUT;
	}
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
sock_send_all(int fd, const void *buf, size_t len, int flags,
    int64_t deadline)
{
	const uint8_t *b = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, b, len, flags | MSG_NOSIGNAL)) > 0) {
			b += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (sock_wait(fd, POLLOUT, deadline) != 1) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

int
sock_recv_all(int fd, void *buf, size_t len, int64_t deadline)
{
	uint8_t *b = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = recv(fd, b + got, len - got, 0)) > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = 0;
			return got == 0 ? 0 : -1;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (sock_wait(fd, POLLIN, deadline) != 1) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 1;
}
