/*
 * mcast.h - sending to a multicast group out of every interface that can
 * carry it, shared by the discovery child and gigavault discover.
 */
#ifndef GV_MCAST_H
#define GV_MCAST_H

#include <netinet/in.h>

#include <stddef.h>

#define MCAST_MAX_IFACES	16

/* IPv4 addresses of the interfaces that are up, not loopback, and can
 * multicast; at most max.  Returns how many. */
int	mcast_ifaces(struct in_addr *out, int max);

/*
 * Send len bytes of buf to group:port on fd out of every such interface.
 * Returns how many copies went out (0 when no interface can multicast).
 */
int	mcast_send_all(int fd, const void *buf, size_t len,
	    struct in_addr group, int port);

#endif
