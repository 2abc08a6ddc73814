/*
 * mcast.c - multicast out of every interface.  See mcast.h.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>

#include <ifaddrs.h>
#include <string.h>

#include "mcast.h"

int
mcast_ifaces(struct in_addr *out, int max)
{
	struct ifaddrs *ifa, *i;
	int n = 0;

	if (getifaddrs(&ifa) == -1)
		return 0;
	for (i = ifa; i != NULL && n < max; i = i->ifa_next)
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET &&
		    (i->ifa_flags & IFF_UP) && (i->ifa_flags & IFF_MULTICAST) &&
		    !(i->ifa_flags & IFF_LOOPBACK))
			out[n++] = ((struct sockaddr_in *)(void *)i->ifa_addr)->
			    sin_addr;
	freeifaddrs(ifa);
	return n;
}

int
mcast_send_all(int fd, const void *buf, size_t len, struct in_addr group,
    int port)
{
	struct in_addr ifs[MCAST_MAX_IFACES];
	struct sockaddr_in to;
	int n = mcast_ifaces(ifs, MCAST_MAX_IFACES), sent = 0;

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr = group;
	to.sin_port = htons((uint16_t)port);
	for (int i = 0; i < n; i++)
		if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifs[i],
		    sizeof(ifs[i])) == 0 && sendto(fd, buf, len, 0,
		    (struct sockaddr *)&to, sizeof(to)) != -1)
			sent++;
	return sent;
}
