/*
 * listen.h - every socket the daemon serves, bound by the supervisor
 * before it forks (so a taken port is reported at start-up), and the
 * switch to the unprivileged user that children make after fork.
 */
#ifndef GV_LISTEN_H
#define GV_LISTEN_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

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
 * The hand-off queue from the acceptor to the workers: one
 * SOCK_DGRAM socketpair that the supervisor makes before it forks
 * and keeps for its whole life (so that connections queued in it
 * survive a respawn of the acceptor or of a worker).  The acceptor
 * sends on end 0, every worker receives on end 1; the kernel gives each
 * message to exactly one reader, as accept() on a shared listener did.
 * A message is one struct handoff and the connection's descriptor
 * (SCM_RIGHTS).
 */
struct handoff {
	uint32_t	 svc;		/* SVC_BACKUP or SVC_TLS */
	int64_t		 accepted;	/* mono_ms() of the accept */
	uint32_t	 timed_out;	/* 1: HandshakeTimeout ran out while
					   the acceptor held it */
	uint32_t	 sslen;		/* bytes of ss used */
	struct sockaddr_storage ss;	/* the peer */
};

/*
 * Make the hand-off socketpair (close-on-exec, both ends nonblocking):
 * fds[0] for the acceptor, fds[1] for the workers.  0, or -1 with errno.
 */
int	handoff_pair(int fds[2]);

/*
 * Send connection fd with *h on the acceptor's end, without waiting.
 * 0 when it is queued (the caller still closes its own fd), or -1 with
 * errno: EAGAIN (or ENOBUFS, ETOOMANYREFS) when the queue is full for
 * now, anything else for a broken queue.
 */
int	handoff_send(int sock, int fd, const struct handoff *h);

/*
 * Take one connection from the workers' end, without waiting.  Returns
 * its descriptor (close-on-exec, nonblocking as accepted) with *h
 * filled in, or -1: errno EAGAIN when another worker was quicker or
 * nothing is queued, EBADMSG for a message that is not one struct
 * handoff with exactly one descriptor and a known service (every
 * descriptor that came with it is closed), else the error of recvmsg.
 */
int	handoff_recv(int sock, struct handoff *h);

/*
 * 1 when a and b are the same host (the port aside), 0 when not or when
 * either is neither IPv4 nor IPv6: the key of the per-address limits
 * (Server.MaxHandshakesPerAddress).  An IPv6 address counts by its /64,
 * the share one host usually has (it could otherwise take a new address
 * for every connection); an IPv4-mapped one by its IPv4 address.
 */
int	listen_same_host(const struct sockaddr_storage *a,
	    const struct sockaddr_storage *b);

/*
 * Raise this process's soft RLIMIT_NOFILE to its hard limit (for a child
 * that holds many connections: the acceptor, the UI bridge).  Returns
 * the soft limit now in force, at most 1048576; 0 when it cannot be read.
 */
size_t	listen_raise_nofile(void);

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
