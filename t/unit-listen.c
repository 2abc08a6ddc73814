/*
 * unit-listen.c - TAP unit tests of listen_same_host() in
 * src/server/listen.c, the key of the per-address limits: IPv4 by the
 * address, IPv6 by its /64, IPv4-mapped IPv6 by the whole address, the
 * port never.  Run by t/00-unit-listen.t.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "server/listen.h"
#include "tap.h"

static struct sockaddr_storage
addr(const char *s, int port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, s, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, s, &a->sin_addr);
	}
	return ss;
}

static int
same(const char *x, const char *y)
{
	struct sockaddr_storage a = addr(x, 1000), b = addr(y, 2000);

	return listen_same_host(&a, &b);
}

int
main(void)
{
	ok(same("192.0.2.1", "192.0.2.1"), "IPv4: the same address, other ports");
	ok(!same("192.0.2.1", "192.0.2.2"), "IPv4: another address");
	ok(same("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"),
	    "IPv6: two addresses of one /64 are one host");
	ok(!same("2001:db8:1:2::1", "2001:db8:1:3::1"), "IPv6: another /64");
	ok(!same("::ffff:192.0.2.1", "::ffff:192.0.2.2"),
	    "IPv4-mapped: by the whole address");
	ok(same("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
	    "IPv4-mapped: the same address");
	ok(!same("192.0.2.1", "::ffff:192.0.2.1"),
	    "IPv4 and IPv6 are not compared");
	return tap_done();
}
