/*
 * gigavault.c - the client command's entry point: options that come
 * before the command, then one row of the command table.
 *
 * Exit status: 0 ok, 1 partial (a backup skipped unreadable files, named
 * on stderr), 2 error.  See gigavault(1).
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static const struct command {
	const char	*name;
	int		(*fn)(struct client *, int, char **);
	const char	*usage;
	const char	*help;
} commands[] = {
	{ "init", cmd_init, "init",
	    "create the key file" },
	{ "register", cmd_register,
	    "register [--ssl] -s HOST[:PORT]|auto --token TOKEN",
	    "enroll this machine with a server" },
	{ "pin", cmd_pin, "pin [-s HOST[:PORT]] [--fingerprint HEX]",
	    "pin the TLS key of the registered server" },
	{ "backup", cmd_backup,
	    "backup [-qx] [--no-parent] [--strict] [--set NAME] "
	    "[--exclude PATTERN] [--exclude-file FILE] [--exclude-caches] "
	    "[--exclude-if-present NAME] [--include-nodump] [PATH ...]",
	    "save a snapshot of the paths" },
	{ "snapshots", cmd_snapshots,
	    "snapshots [--set NAME] [--json] [--strict]",
	    "list snapshots" },
	{ "ls", cmd_ls, "ls [--set NAME] [--json] SNAPSHOT [PATH]",
	    "list the files of a snapshot" },
	{ "restore", cmd_restore,
	    "restore [--set NAME] [--overwrite] [--strict] --target DIR "
	    "SNAPSHOT [PATH ...]", "restore files from a snapshot" },
	{ "forget", cmd_forget,
	    "forget [--set NAME] [--dry-run] [--json] [--keep-last N] "
	    "[--keep-hourly N] [--keep-daily N] [--keep-weekly N] "
	    "[--keep-monthly N] [--keep-yearly N] [SNAPSHOT ...]",
	    "remove snapshots, by id or by --keep rules" },
	{ "verify", cmd_verify,
	    "verify [--set NAME] [--json] [--sample PERCENT] [SNAPSHOT]",
	    "read back and check every blob of a snapshot" },
	{ "discover", cmd_discover,
	    "discover [--json] [--wait SECONDS] [--direct] [--ui ADDR[:PORT]] "
	    "[--group ADDR] [--port PORT]",
	    "list the peers found by discovery" },
	{ "status", cmd_status, "status [-s HOST[:PORT]] [--json]",
	    "show a server's state (its UI bridge)" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage_all(FILE *f)
{
	fprintf(f, "usage: gigavault [-v] [-c FILE] [--ssl] "
	    "[--passphrase-file FILE] COMMAND [ARGS]\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "       gigavault %s\n", commands[i].usage);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct client c;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	c.tty = isatty(STDERR_FILENO);
	while ((ch = getopt_long(argc, argv, "+" CLIENT_SHORTOPTS "hV",
	    longopts, NULL)) != -1) {
		if (client_opt(&c, ch, optarg))
			continue;
		switch (ch) {
		case 'h':
			usage_all(stdout);
			for (size_t i = 0; i < NCOMMANDS; i++)
				printf("  %-10s %s\n", commands[i].name,
				    commands[i].help);
			return 0;
		case 'V':
			printf("gigavault %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage_all(stderr);
			return EXIT_ERROR;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage_all(stderr);
		return EXIT_ERROR;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, argv[0]) != 0)
			continue;
		optind = 0;	/* the command parses its own options */
		c.usage = commands[i].usage;
		rc = commands[i].fn(&c, argc, argv);
		client_done(&c);
		return rc;
	}
	fprintf(stderr, "gigavault: unknown command \"%s\"\n", argv[0]);
	usage_all(stderr);
	return EXIT_ERROR;
}
