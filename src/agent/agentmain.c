/*
 * agentmain.c - main() of gigavault-agent, the daemon that runs a
 * machine's backup jobs on their schedules with the client's own code
 * and reports them to the server (gigavault-agent(8)): its flags, then
 * agent.c's loop.
 *
 *	gigavault-agent [-dnvV] [-c FILE]
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "client/pattern.h"
#include "agent.h"
#include "agentlog.h"

static void
usage(void)
{
	fprintf(stderr, "usage: gigavault-agent [-dnvV] [-c FILE]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct agent_opts o = { NULL, 0, 0 };
	int ch, check = 0;

	/* "?" in patterns is a character of a file name (LC_CTYPE only). */
	patterns_locale();
	while ((ch = getopt(argc, argv, "c:dnvVh")) != -1) {
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
	if (!o.foreground && daemon(0, 0) == -1) {
		perror("gigavault-agent: daemon");
		return 1;
	}
	alog_init(o.foreground, o.verbose);
	return agent_main(&o);
}
