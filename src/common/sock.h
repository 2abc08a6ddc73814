/*
 * sock.h - one socket and a deadline, for the client's sessions
 * (client/remote.c), its multicast query (client/finder.c) and the UI
 * bridge requests of the client and gigavaultctl (uiask.c).  A deadline
 * is a mono_ms() value (monotime.h).
 */
#ifndef GV_SOCK_H
#define GV_SOCK_H

#include <stddef.h>
#include <stdint.h>

struct addrinfo;

/*
 * poll() fd for events until the deadline (retried after a signal): 1
 * ready, 0 when the deadline has passed, -1 with errno set.
 */
int	sock_wait(int fd, short events, int64_t deadline);
/*
 * A stream socket to ai (non-blocking, close-on-exec), connected before
 * the deadline; or -1 with errno set, ETIMEDOUT when the deadline came
 * first.
 */
int	sock_connect(const struct addrinfo *ai, int64_t deadline);
/*
 * Send all len bytes of buf on the non-blocking stream fd before the
 * deadline (flags: send(2)'s, MSG_NOSIGNAL added): 0, or -1 with errno
 * set, ETIMEDOUT when the deadline came first.
 */
int	sock_send_all(int fd, const void *buf, size_t len, int flags,
	    int64_t deadline);
/*
 * Read exactly len bytes from the non-blocking stream fd into buf before
 * the deadline: 1; 0 when the peer closed before the first byte; -1
 * with errno set (0 when the peer closed after some, ETIMEDOUT when the
 * deadline came first).
 */
int	sock_recv_all(int fd, void *buf, size_t len, int64_t deadline);

#endif
