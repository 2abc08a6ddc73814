/*
 * agentmain.c - main() of gigavault-agent, the daemon that runs a
 * machine's backup jobs on their schedules with the client's own code
 * and reports them to the server (gigavault-agent(8)): its flags, then
 * agent.c's loop.
 *
 *	gigavault-agent [-dnvV] [-c FILE] [-p PIDFILE]
 */
#include "autoconf.h"

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

static void
usage(void)
{
	fprintf(stderr, "usage: gigavault-agent [-dnvV] [-c FILE] [-p PIDFILE]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct agent_opts o = { NULL, 0, 0 };
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
	if (!o.foreground && daemon(0, 0) == -1) {
		perror("gigavault-agent: daemon");
		return 1;
	}
	alog_init(o.foreground, o.verbose);
	if (pidfile != NULL && write_pidfile(pidfile) == -1) {
		alog_warn("pidfile %s", pidfile);
		return 1;
	}
	rc = agent_main(&o);
	if (pidfile != NULL)
		unlink(pidfile);
	return rc;
}
