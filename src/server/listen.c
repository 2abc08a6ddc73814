/*
 * listen.c - bind the served sockets before fork; drop privileges in
 * children.  See listen.h.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "listen.h"
#include "log.h"

/* One row per service: its config key, socket type and port. */
struct service {
	enum listen_service svc;
	const char	*key;
	int		 socktype;
	int		(*port)(const struct gv_config *);	/* 0: not served */
};

static int port_backup(const struct gv_config *c) { return c->port.backup; }
static int port_ui(const struct gv_config *c) { return c->port.ui; }
/* 0: not served with this config. */
static int port_tls(const struct gv_config *c)
{
	return c->ssl_enabled ? c->port.ssl : 0;
}
static int port_udpscan(const struct gv_config *c) { return c->port.udpscan; }
static int port_web(const struct gv_config *c)
{ return c->web_enabled ? c->port.webconsole : 0; }
static int port_webssl(const struct gv_config *c)
{ return c->web_enabled ? c->port.webconsole_ssl : 0; }
/* Multicast is received on the wildcard address, and only when it is on. */
static int port_mc0(const struct gv_config *c)
{ return c->disc.multicast ? c->port.multicast[0] : 0; }
static int port_mc1(const struct gv_config *c)
{ return c->disc.multicast ? c->port.multicast[1] : 0; }

static const struct service services[SVC_MAX] = {
	{ SVC_BACKUP,	"Ports.BackupServer",	SOCK_STREAM,	port_backup },
	{ SVC_UI,	"Ports.UI",		SOCK_STREAM,	port_ui },
	{ SVC_TLS,	"Ports.SSLServer",	SOCK_STREAM,	port_tls },
	{ SVC_MCAST_ANNOUNCE, "Ports.Multicast[0]", SOCK_DGRAM, port_mc0 },
	{ SVC_MCAST_QUERY, "Ports.Multicast[1]", SOCK_DGRAM,	port_mc1 },
	{ SVC_UDPSCAN,	"Ports.UDPScan",	SOCK_DGRAM,	port_udpscan },
	{ SVC_WEB,	"Ports.WebConsole",	SOCK_STREAM,	port_web },
	{ SVC_WEBSSL,	"Ports.WebConsoleSSL",	SOCK_STREAM,	port_webssl },
};

/* Multicast arrives on the wildcard address only: bound there, whatever
 * Server.Listen says.  NULL: every Server.Listen address. */
static const char *
service_addr(enum listen_service svc)
{
	return svc == SVC_MCAST_ANNOUNCE || svc == SVC_MCAST_QUERY ?
	    "0.0.0.0" : NULL;
}

const char *
listen_service_key(enum listen_service svc)
{
	return svc < SVC_MAX ? services[svc].key : "?";
}

static int
take_over(const struct listen_set *reuse, struct listener *l)
{
	if (reuse == NULL)
		return 0;
	for (size_t i = 0; i < reuse->n; i++) {
		const struct listener *r = &reuse->l[i];

		if (r->fd != -1 && r->port == l->port &&
		    r->socktype == l->socktype && strcmp(r->addr, l->addr) == 0) {
			l->fd = dup(r->fd);
			return l->fd != -1;
		}
	}
	return 0;
}

static int
bind_one(const struct service *s, const struct addrinfo *ai,
    struct listener *l, char *err, size_t errlen)
{
	int fd, on = 1;
	const char *proto = s->socktype == SOCK_STREAM ? "TCP" : "UDP";

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "cannot open a socket for %s (%s %d) on "
		    "%s: %s", s->key, proto, l->port, l->addr, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1))
		log_warn("%s: setsockopt", __func__);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    (s->socktype == SOCK_STREAM && listen(fd, 1024) == -1)) {
		int saved = errno;

		snprintf(err, errlen, "cannot bind %s (%s %d) on %s: %s",
		    s->key, proto, l->port, l->addr, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	l->fd = fd;
	return 0;
}

/* Bind service s on one Server.Listen entry ("*" gives IPv4 and IPv6). */
static int
open_service_addr(const struct service *s, int port, const char *addr,
    struct listen_set *out, const struct listen_set *reuse, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char portstr[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = s->socktype;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(strcmp(addr, "*") == 0 ? NULL : addr, portstr,
	    &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s on %s: %s", s->key, addr,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct listener *l;

		if (out->n == LISTEN_MAX) {
			snprintf(err, errlen, "more than %d sockets to bind",
			    LISTEN_MAX);
			freeaddrinfo(res);
			return -1;
		}
		l = &out->l[out->n];
		memset(l, 0, sizeof(*l));
		l->svc = s->svc;
		l->socktype = s->socktype;
		l->port = port;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, l->addr,
		    sizeof(l->addr), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(l->addr, sizeof(l->addr), "%s", addr);
		if (take_over(reuse, l)) {
			out->n++;
			continue;
		}
		if (bind_one(s, ai, l, err, errlen) == -1) {
			/* "*" on a host without IPv6: IPv4 alone is fine. */
			if (strcmp(addr, "*") == 0 && ai->ai_family == AF_INET6 &&
			    errno == EAFNOSUPPORT)
				continue;
			freeaddrinfo(res);
			return -1;
		}
		out->n++;
	}
	freeaddrinfo(res);
	return 0;
}

int
listen_open(const struct gv_config *c, struct listen_set *out,
    const struct listen_set *reuse, char *err, size_t errlen)
{
	out->n = 0;
	for (size_t s = 0; s < SVC_MAX; s++) {
		int port = services[s].port(c);

		if (port == 0)
			continue;
		for (size_t a = 0; a < c->nlisten; a++)
			if (open_service_addr(&services[s], port,
			    service_addr(services[s].svc) ?
			    service_addr(services[s].svc) : c->listen[a],
			    out, reuse, err, errlen) == -1) {
				listen_close(out);
				return -1;
			} else if (service_addr(services[s].svc))
				break;
	}
	return 0;
}

void
listen_close(struct listen_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->l[i].fd != -1) {
			close(set->l[i].fd);
			set->l[i].fd = -1;
		}
	set->n = 0;
}

void
listen_keep_only(struct listen_set *set, unsigned svc_mask)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->l[i].fd != -1 && !(svc_mask & SVC_BIT(set->l[i].svc))) {
			close(set->l[i].fd);
			set->l[i].fd = -1;
		}
}

size_t
listen_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = rl;

		up.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1024 * 1024)
		return 1024 * 1024;
	return (size_t)rl.rlim_cur;
}

int
listen_same_host(const struct sockaddr_storage *x,
    const struct sockaddr_storage *y)
{
	if (x->ss_family != y->ss_family)
		return 0;
	if (x->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)x)->sin_addr,
		    &((const struct sockaddr_in *)y)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	if (x->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)x)->
		    sin6_addr, *b = &((const struct sockaddr_in6 *)y)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4MAPPED(b))
			return memcmp(a, b, sizeof(*a)) == 0;
		return memcmp(a, b, 8) == 0;	/* the /64 */
	}
	return 0;
}

int
handoff_pair(int fds[2])
{
	int small = 1;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, fds) == -1)
		return -1;
	/*
	 * The kernel's queue should stay short (the smallest send buffer
	 * holds a few messages): connections waiting for a worker wait in
	 * the acceptor, which hands them on fairly, not here in order.
	 */
	if (setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)) == -1)
		log_debug("%s: SO_SNDBUF: %s", __func__, strerror(errno));
	return 0;
}

int
handoff_send(int sock, int fd, const struct handoff *h)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = (void *)h, .iov_len = sizeof(*h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	ssize_t n;

	memset(&cm, 0, sizeof(cm));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do {
		n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != sizeof(*h)) {	/* datagrams go whole or not at all */
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
handoff_recv(int sock, struct handoff *h)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = h, .iov_len = sizeof(*h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	int fd = -1, nfds = 0, bad;
	ssize_t n;

	do {
		n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	/* Every descriptor that came is ours to close, whatever else. */
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int one;

			memcpy(&one, CMSG_DATA(c) + i * sizeof(int),
			    sizeof(int));
			if (nfds++ == 0)
				fd = one;
			else
				close(one);
		}
	}
	bad = (size_t)n != sizeof(*h) || (msg.msg_flags & (MSG_TRUNC |
	    MSG_CTRUNC)) || nfds != 1 || (h->svc != SVC_BACKUP &&
	    h->svc != SVC_TLS) || h->sslen > sizeof(h->ss);
	if (bad) {
		if (fd != -1)
			close(fd);
		errno = EBADMSG;
		return -1;
	}
	return fd;
}

int
user_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	if (user[0] == '\0') {
		*uid = geteuid();
		*gid = getegid();
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

void
drop_privileges(const char *user)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || user[0] == '\0')
		return;
	if (user_lookup(user, &uid, &gid) == -1)
		fatalx("%s: no such user \"%s\"", __func__, user);
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		fatal("%s: cannot switch to user \"%s\"", __func__, user);
	if (uid != 0 && setuid(0) != -1)
		fatalx("%s: could regain root after switching to \"%s\"",
		    __func__, user);
}
