/*
 * listen.h - every socket the daemon serves, bound by the supervisor
 * before it forks (so a taken port is reported at start-up), and the
 * switch to the unprivileged user that children make after fork.
 */
#ifndef GV_LISTEN_H
#define GV_LISTEN_H

#include <sys/types.h>

#include <stddef.h>

struct gv_config;

/* The services whose sockets are bound.  A new service is one entry here
 * and one row in listen.c's service table. */
enum listen_service {
	SVC_BACKUP,		/* Ports.BackupServer: worker sessions */
	SVC_UI,			/* Ports.UI: UI bridge */
	SVC_TLS,		/* Ports.SSLServer: worker sessions over TLS */
	SVC_MCAST_ANNOUNCE,	/* Ports.Multicast[0]: discovery (UDP) */
	SVC_MCAST_QUERY,	/* Ports.Multicast[1]: discovery (UDP) */
	SVC_UDPSCAN,		/* Ports.UDPScan: discovery (UDP) */
	SVC_WEB,		/* Ports.WebConsole: UI bridge, HTTP */
	SVC_WEBSSL,		/* Ports.WebConsoleSSL: UI bridge, HTTPS */
	SVC_MAX
};
#define SVC_BIT(s)	(1u << (s))

#define LISTEN_MAX	64

struct listener {
	enum listen_service svc;
	int		 fd;
	int		 socktype;	/* SOCK_STREAM or SOCK_DGRAM */
	int		 port;
	char		 addr[64];	/* numeric, as bound */
};

struct listen_set {
	struct listener	 l[LISTEN_MAX];
	size_t		 n;
};

/*
 * Bind every served service on every Server.Listen address.  A socket in
 * reuse with the same address, port and type is taken over instead of
 * bound again (reload): out gets its own duplicate of that socket.  On failure closes what it opened, writes e.g.
 * "cannot bind Ports.UI (TCP 32005) on 127.0.0.1: Address already in
 * use" to err and returns -1.  Sockets are nonblocking and close-on-exec.
 */
int	listen_open(const struct gv_config *, struct listen_set *out,
	    const struct listen_set *reuse, char *err, size_t errlen);

/* Close every socket of set and empty it. */
void	listen_close(struct listen_set *set);

/* Close every socket of set whose service is not in the mask. */
void	listen_keep_only(struct listen_set *set, unsigned svc_mask);

/* The config key of a service, e.g. "Ports.BackupServer". */
const char *listen_service_key(enum listen_service);

/*
 * Look up Server.User: 0 with uid/gid filled in, -1 when it does not
 * exist.  An empty name means the current user.
 */
int	user_lookup(const char *user, uid_t *uid, gid_t *gid);

/*
 * In a child: when running as root and user is not "", switch to it for
 * good (groups, gid, uid).  Exits via fatal() when that fails, since a
 * child must never serve clients as root by accident.
 */
void	drop_privileges(const char *user);

#endif
