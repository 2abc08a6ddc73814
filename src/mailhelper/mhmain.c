/*
 * mhmain.c - main() of gigavault-mailhelper, the mailbox helper on the
 * protected machine (gigavault-mailhelper(8)): its flags, the config,
 * the secret and the master password read, the listening sockets bound
 * (loopback, Ports.MAPI32Bit), privileges dropped to Helper.User, then
 * one forked child per connection (mhserve.c), at most
 * Helper.MaxConnections at once.
 *
 *	gigavault-mailhelper [-dnvV] [-c FILE] [-p PIDFILE]
 *	gigavault-mailhelper -k [-f] [-c FILE]
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "common/crypto.h"
#include "common/mailauth.h"
#include "common/mailwire.h"
#include "common/wire.h"
#include "imap.h"
#include "mhconf.h"
#include "mhlog.h"
#include "mhserve.h"

#define LISTEN_MAX	16
#define PASSWORD_MAX	1024

static volatile sig_atomic_t	got_term, got_chld;
static int			wake[2] = { -1, -1 };
static pid_t			kids[MHCONF_CONN_MAX];	/* 0: free */

static void
on_signal(int sig)
{
	int e = errno;

	if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term = 1;
	/* A full pipe already wakes the loop: a failed write changes nothing. */
	if (wake[1] != -1) {
		ssize_t r = write(wake[1], "x", 1);

		(void)r;
	}
	errno = e;
}

/*
 * Bind and listen on every Helper.Listen address at port: *n sockets
 * in fds.  An IPv6 address where IPv6 is off is skipped (logged).  0,
 * or -1 with err.
 */
static int
bind_all(const struct mhconf *c, int *fds, size_t *n, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, on = 1;

	*n = 0;
	for (size_t i = 0; i < c->nlisten && *n < LISTEN_MAX; i++) {
		const char *a = c->listen[i];

		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, a,
		    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
			((struct sockaddr_in *)&ss)->sin_family = AF_INET;
			((struct sockaddr_in *)&ss)->sin_port =
			    htons((uint16_t)c->port);
			sl = sizeof(struct sockaddr_in);
		} else if (inet_pton(AF_INET6, a,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
			((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
			((struct sockaddr_in6 *)&ss)->sin6_port =
			    htons((uint16_t)c->port);
			sl = sizeof(struct sockaddr_in6);
		} else {
			snprintf(err, errlen, "Helper.Listen \"%s\" is not an "
			    "address", a);
			return -1;
		}
		if (!(ss.ss_family == AF_INET ? (ntohl(((struct sockaddr_in *)
		    &ss)->sin_addr.s_addr) >> 24) == 127 :
		    IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->
		    sin6_addr)))
			mlog_warnx("WARNING: Helper.Listen \"%s\" is not a "
			    "loopback address: every user's mail crosses the "
			    "network in the clear on port %d, and anyone who "
			    "reaches it may try the secret; listen on "
			    "127.0.0.1 and ::1 unless a tunnel or a private "
			    "network protects this port", a, c->port);
		if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1) {
			if (ss.ss_family == AF_INET6 &&
			    errno == EAFNOSUPPORT) {
				mlog_info("%s skipped: IPv6 is off", a);
				continue;
			}
			snprintf(err, errlen, "socket for %s: %s", a,
			    strerror(errno));
			return -1;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ss.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on));
		if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
			int e = errno;

			close(fd);
			if (ss.ss_family == AF_INET6 && e == EADDRNOTAVAIL) {
				mlog_info("%s skipped: IPv6 is off", a);
				continue;
			}
			snprintf(err, errlen, "cannot listen on %s%s%s:%d: %s",
			    ss.ss_family == AF_INET6 ? "[" : "", a,
			    ss.ss_family == AF_INET6 ? "]" : "", c->port,
			    strerror(e));
			return -1;
		}
		if (listen(fd, 64) == -1) {
			snprintf(err, errlen, "listen on %s: %s", a,
			    strerror(errno));
			close(fd);
			return -1;
		}
		fds[(*n)++] = fd;
	}
	if (*n == 0) {
		snprintf(err, errlen, "no address of Helper.Listen could be "
		    "used");
		return -1;
	}
	return 0;
}

/* Become Helper.User (with its groups): 0, or -1 with err. */
static int
drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (user[0] == '\0')
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "Helper.User %s: no such user", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot become Helper.User %s: %s", user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1 && pw->pw_uid != 0) {
		snprintf(err, errlen, "Helper.User %s: root came back", user);
		return -1;
	}
	return 0;
}

/* "127.0.0.1:40000" of an accepted peer. */
static void
peer_name(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		port = ntohs(s->sin_port);
		snprintf(out, outlen, "%s:%d", a, port);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		port = ntohs(s->sin6_port);
		snprintf(out, outlen, "[%s]:%d", a, port);
	}
}

/* Tell a connection over MaxConnections why, and close it. */
static void
refuse_busy(int fd, const char *peer, int max)
{
	uint8_t buf[WIRE_HDR_LEN + 512];
	struct wire_wr w;
	char text[256];

	snprintf(text, sizeof(text), "busy: Helper.MaxConnections (%d) "
	    "connections are open; try again later", max);
	mlog_warnx("%s: %s", peer, text);
	wire_wr_init(&w, buf, sizeof(buf));
	mw_put_error(&w, MW_ERR_BUSY, text);
	(void)send(fd, buf, w.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* The accept loop: returns when SIGTERM or SIGINT came. */
static int
serve(const struct mhconf *c, const struct mhserve *sv, int *fds,
    size_t nfds)
{
	struct pollfd pf[LISTEN_MAX + 1];
	struct sockaddr_storage ss;
	socklen_t sl;
	char peer[INET6_ADDRSTRLEN + 16], b[64];
	int children = 0, fd, st, on = 1;
	pid_t pid;

	mlog_info("listening on port %d (%zu addresses), IMAP %s:%d",
	    c->port, nfds, c->imap_host, c->imap_port);
	while (!got_term) {
		for (size_t i = 0; i < nfds; i++) {
			pf[i].fd = fds[i];
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		pf[nfds].fd = wake[0];
		pf[nfds].events = POLLIN;
		pf[nfds].revents = 0;
		if (poll(pf, nfds + 1, -1) == -1 && errno != EINTR) {
			mlog_warn("poll");
			return -1;
		}
		if (pf[nfds].revents != 0)
			while (read(wake[0], b, sizeof(b)) > 0)
				;
		if (got_chld) {
			got_chld = 0;
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
				for (int k = 0; k < c->max_conn; k++)
					if (kids[k] == pid) {
						kids[k] = 0;
						children--;
					}
		}
		for (size_t i = 0; i < nfds && !got_term; i++) {
			if (pf[i].revents == 0)
				continue;
			sl = sizeof(ss);
			if ((fd = accept4(fds[i], (struct sockaddr *)&ss, &sl,
			    SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1) {
				if (errno != EAGAIN && errno != EINTR &&
				    errno != ECONNABORTED)
					mlog_warn("accept");
				continue;
			}
			/* Requests and answers are small frames, one at a time. */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof(on));
			peer_name(&ss, peer, sizeof(peer));
			if (children >= c->max_conn) {
				refuse_busy(fd, peer, c->max_conn);
				continue;
			}
			if ((pid = fork()) == -1) {
				mlog_warn("fork for %s", peer);
				close(fd);
				continue;
			}
			if (pid == 0) {
				signal(SIGTERM, SIG_DFL);
				signal(SIGINT, SIG_DFL);
				signal(SIGCHLD, SIG_DFL);
				for (size_t j = 0; j < nfds; j++)
					close(fds[j]);
				close(wake[0]);
				close(wake[1]);
				mhserve_conn(sv, fd, peer);
				_exit(0);
			}
			for (int k = 0; k < c->max_conn; k++)
				if (kids[k] == 0) {
					kids[k] = pid;
					break;
				}
			children++;
			close(fd);
		}
	}
	mlog_info("stopping (%d connections open)", children);
	for (int k = 0; k < c->max_conn; k++)
		if (kids[k] != 0)
			kill(kids[k], SIGTERM);
	return 0;
}

/* Our pid into path (made or truncated, mode 0644): 0 or -1. */
static int
write_pidfile(const char *path)
{
	char line[32];
	int fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) == -1)
		return -1;
	n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void
usage(void)
{
	fprintf(stderr, "usage: gigavault-mailhelper [-dnvV] [-c FILE] "
	    "[-p PIDFILE]\n"
	    "       gigavault-mailhelper -k [-f] [-c FILE]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "new-secret",	no_argument,	NULL,	'k' },
		{ "force",	no_argument,	NULL,	'f' },
		{ "help",	no_argument,	NULL,	'h' },
		{ NULL,		0,		NULL,	0 }
	};
	struct mhconf *c;
	struct imap_opts io;
	struct mhserve sv;
	struct sigaction sa;
	uint8_t secret[MW_SECRET_MAX];
	char err[1024], pw[PASSWORD_MAX];
	const char *file = NULL, *pidfile = NULL;
	int ch, fg = 0, check = 0, verbose = 0, newsecret = 0, force = 0;
	int fds[LISTEN_MAX], rc;
	size_t nfds, slen;

	while ((ch = getopt_long(argc, argv, "c:dfknp:vVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'd':
			fg = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'k':
			newsecret = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("gigavault-mailhelper %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc || (force && !newsecret))
		usage();
	if ((c = mhconf_load(file, newsecret, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gigavault-mailhelper: %s\n", err);
		return 1;
	}
	if (newsecret) {
		rc = mailauth_new_secret(c->secret_file, force, err,
		    sizeof(err));
		if (rc == -1)
			fprintf(stderr, "gigavault-mailhelper: %s\n", err);
		else
			fprintf(stderr, "gigavault-mailhelper: wrote a new "
			    "secret to %s (mode 0600)\n", c->secret_file);
		mhconf_free(c);
		return rc == -1 ? 1 : 0;
	}
	if (mailauth_read_secret(c->secret_file, secret, &slen, err,
	    sizeof(err)) == -1 ||
	    mhconf_master_password(c, pw, sizeof(pw), err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "gigavault-mailhelper: %s\n", err);
		mhconf_free(c);
		return 1;
	}
	if (check) {
		fprintf(stderr, "gigavault-mailhelper: configuration OK\n");
		crypto_wipe(secret, sizeof(secret));
		crypto_wipe(pw, sizeof(pw));
		mhconf_free(c);
		return 0;
	}
	mlog_init(1, verbose);
	if (bind_all(c, fds, &nfds, err, sizeof(err)) == -1) {
		mlog_warnx("%s", err);
		return 1;
	}
	if (!fg && daemon(0, 0) == -1) {
		mlog_warn("daemon");
		return 1;
	}
	mlog_init(fg, verbose);
	/* The pidfile as root (in /run), then Helper.User. */
	if (pidfile != NULL && write_pidfile(pidfile) == -1) {
		mlog_warn("pidfile %s", pidfile);
		return 1;
	}
	if (drop_privileges(c->user, err, sizeof(err)) == -1) {
		mlog_warnx("%s", err);
		return 1;
	}
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		mlog_warn("pipe");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	mailstream_network_delay.tv_sec = c->imap_timeout;
	mailstream_network_delay.tv_usec = 0;

	memset(&io, 0, sizeof(io));
	io.host = c->imap_host;
	io.port = c->imap_port;
	io.security = c->security;
	io.cafile = c->cafile;
	io.master_user = c->master_user;
	io.master_password = pw;
	io.separator = c->separator;
	io.timeout = c->imap_timeout;
	io.max_message = c->max_message;
	sv.conf = c;
	sv.imap = &io;
	sv.secret = secret;
	sv.secret_len = slen;
	rc = serve(c, &sv, fds, nfds);
	/* As Helper.User this may fail: the init script removes it then. */
	if (pidfile != NULL)
		(void)unlink(pidfile);
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(pw, sizeof(pw));
	mhconf_free(c);
	return rc == -1 ? 1 : 0;
}
