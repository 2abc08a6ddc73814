/*
 * sock.h - one socket and a deadline, for the client's sessions
 * (client/remote.c), its multicast query (client/finder.c) and the UI
 * bridge requests of the client and gigavaultctl (uiask.c).  A deadline
 * is a mono_ms() value (monotime.h).
 */
#ifndef GV_SOCK_H
#define GV_SOCK_H

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

#endif
