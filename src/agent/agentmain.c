/*
 * agentmain.c - main() of gigavault-agent, the daemon that runs a
 * machine's backup jobs on their schedules with the client's own code
 * and reports them to the server (gigavault-agent(8)): its flags, then
 * agent.c's loop.
 *
 *	gigavault-agent [-dnvV] [-c FILE] [-p PIDFILE]
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/pattern.h"
#include "agent.h"
#include "agentlog.h"

/* Write our pid into path (made or truncated, mode 0644).  0 or -1. */
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

struct ready {
	const char	*pidfile;
	int		 fd;		/* to the waiting parent, or -1 */
	int		 written;	/* the pidfile was written */
};

/*
 * The agent has its StateDir and UI port: the pidfile, then one byte
 * to the parent that waits (without -d), which then exits 0.
 */
static int
on_ready(void *arg)
{
	struct ready *r = arg;

	if (r->pidfile != NULL) {
		if (write_pidfile(r->pidfile) == -1) {
			alog_warn("pidfile %s", r->pidfile);
			return -1;	/* the parent sees the pipe close */
		}
		r->written = 1;
	}
	if (r->fd != -1) {
		if (write(r->fd, "1", 1) != 1)
			alog_warn("cannot tell the starting process");
		close(r->fd);
		r->fd = -1;
	}
	return 0;
}

/*
 * daemon(0, 0), but the parent waits until the agent is ready (the
 * pipe gets a byte: exit 0) or has failed to start (the pipe closes:
 * its exit status), so that an init script sees a start that failed.
 * In the child: the pipe's write end, or -1 with errno set.
 */
static int
daemonize(void)
{
	int p[2], fd, st;
	pid_t pid;
	char b;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0) {
		ssize_t n;

		close(p[1]);
		while ((n = read(p[0], &b, 1)) == -1 && errno == EINTR)
			;
		if (n == 1)
			_exit(0);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		fprintf(stderr, "gigavault-agent: did not start (the system "
		    "log says why)\n");
		_exit(WIFEXITED(st) && WEXITSTATUS(st) != 0 ?
		    WEXITSTATUS(st) : 1);
	}
	close(p[0]);
	if (setsid() == -1 || chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return p[1];
}

static void
usage(void)
{
	fprintf(stderr, "usage: gigavault-agent [-dnvV] [-c FILE] "
	    "[-p PIDFILE]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct agent_opts o = { NULL, 0, 0, NULL, NULL };
	struct ready ready = { NULL, -1, 0 };
	const char *pidfile = NULL;
	char conf[PATH_MAX];
	int ch, check = 0, rc;

	/* "?" in patterns is a character of a file name (LC_CTYPE only). */
	patterns_locale();
	while ((ch = getopt(argc, argv, "c:dnp:vVh")) != -1) {
		switch (ch) {
		case 'c':
			o.conffile = optarg;
			break;
		case 'd':
			o.foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'V':
			printf("gigavault-agent %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (agent_check(&o) == -1)
		return 1;
	if (check) {
		fprintf(stderr, "gigavault-agent: configuration OK\n");
		return 0;
	}
	/* daemon() goes to /: a relative -c FILE must still be found. */
	if (!o.foreground && o.conffile != NULL &&
	    (o.conffile = realpath(o.conffile, conf)) == NULL) {
		perror("gigavault-agent: -c");
		return 1;
	}
	if (!o.foreground && (ready.fd = daemonize()) == -1) {
		perror("gigavault-agent: daemon");
		return 1;
	}
	alog_init(o.foreground, o.verbose);
	ready.pidfile = pidfile;
	o.ready = on_ready;
	o.ready_arg = &ready;
	rc = agent_main(&o);
	if (ready.written)
		unlink(pidfile);
	return rc;
}
