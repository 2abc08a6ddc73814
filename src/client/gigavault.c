/*
 * gigavault.c - the client command's entry point: options that come
 * before the command, then one row of the command table.  Help is
 * answered here, from the table: "gigavault help [COMMAND]", and
 * "gigavault COMMAND --help" (or -h, before any "--"), so that no
 * command's own parser needs to know about it.
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
#include "pattern.h"
#include "remote.h"

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
	    "restore [-q] [--set NAME] [--overwrite] [--sparse] [--strict] "
	    "[--include PATTERN] [--exclude PATTERN] [--strip-components N] "
	    "--target DIR SNAPSHOT [PATH ...]",
	    "restore files from a snapshot" },
	{ "diff", cmd_diff, "diff [--set NAME] [--json] SNAPSHOT SNAPSHOT [PATH]",
	    "what changed between two snapshots" },
	{ "find", cmd_find,
	    "find [--set NAME] [--snapshot SNAPSHOT] [--json] PATTERN ...",
	    "find paths in snapshots, newest first" },
	{ "forget", cmd_forget,
	    "forget [--set NAME] [--dry-run] [--json] [--keep-last N] "
	    "[--keep-hourly N] [--keep-daily N] [--keep-weekly N] "
	    "[--keep-monthly N] [--keep-yearly N] [SNAPSHOT ...]",
	    "remove snapshots, by id or by --keep rules" },
	{ "verify", cmd_verify,
	    "verify [--set NAME] [--json] [--sample PERCENT] [SNAPSHOT]",
	    "read back and check every blob of a snapshot" },
	{ "mount", cmd_mount, "mount [--set NAME] [--strict] MOUNTPOINT",
	    "show the snapshots read-only through FUSE" },
	{ "discover", cmd_discover,
	    "discover [--json] [--wait SECONDS] [--direct] [--ui ADDR[:PORT]] "
	    "[--group ADDR] [--port PORT]",
	    "list the peers found by discovery" },
	{ "status", cmd_status, "status [-s HOST[:PORT]] [--json]",
	    "show a server's state (its UI bridge)" },
	{ "agent", cmd_agent,
	    "agent [--json] [--ui ADDR[:PORT]] status|jobs|history [SET]|"
	    "run SET|cancel SET",
	    "ask this machine's gigavault-agent" },
	{ "mail", cmd_mail,
	    "mail ls [--set NAME] [--json] SNAPSHOT [USER [MAILBOX]] | "
	    "restore [--set NAME] [--to-folder NAME] [--keep-deleted-flag] "
	    "SNAPSHOT USER "
	    "[MAILBOX [MESSAGE ...]]",
	    "list or restore the messages of a mail set's snapshot" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage_all(FILE *f)
{
	fprintf(f, "usage: gigavault [-hvV] [-c FILE] [--ssl] "
	    "[--passphrase-file FILE]\n"
	    "           [--limit-upload RATE] [--limit-download RATE] "
	    "COMMAND [ARGS]\n"
	    "       gigavault help [COMMAND]\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "       gigavault %s\n", commands[i].usage);
}

/* The table's row for name, or NULL. */
static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Every command with what it does, on stdout. */
static void
help_all(void)
{
	usage_all(stdout);
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].help);
	printf("\"gigavault help COMMAND\" or \"gigavault COMMAND --help\" "
	    "shows one command.  See gigavault(1).\n");
}

/* One command's usage and what it does, on stdout. */
static void
help_one(const struct command *cmd)
{
	printf("usage: gigavault [-v] [-c FILE] [--ssl] [--passphrase-file "
	    "FILE] %s\n  %s\nSee gigavault(1).\n", cmd->usage, cmd->help);
}

/* 1 when args (after the command's name) ask for help before any "--". */
static int
asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
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
	const struct command *cmd;
	struct client c;
	int ch, rc;

	/* "?" in patterns is a character of a file name (LC_CTYPE only). */
	patterns_locale();
	memset(&c, 0, sizeof(c));
	c.tty = isatty(STDERR_FILENO);
	while ((ch = getopt_long(argc, argv, "+" CLIENT_SHORTOPTS "hV",
	    longopts, NULL)) != -1) {
		if (client_opt(&c, ch, optarg))
			continue;
		switch (ch) {
		case 'h':
			help_all();
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
	if (strcmp(argv[0], "help") == 0) {
		if (argc == 1) {
			help_all();
			return 0;
		}
		if (argc == 2 && (cmd = find_command(argv[1])) != NULL) {
			help_one(cmd);
			return 0;
		}
		fprintf(stderr, "gigavault: help: %s\n", argc > 2 ?
		    "one command at most" : "no such command");
		usage_all(stderr);
		return EXIT_ERROR;
	}
	if ((cmd = find_command(argv[0])) != NULL) {
		if (asks_help(argc, argv)) {
			help_one(cmd);
			return 0;
		}
		optind = 0;	/* the command parses its own options */
		c.usage = cmd->usage;
		remote_set_purpose(cmd->name);	/* a hint in each hello */
		rc = cmd->fn(&c, argc, argv);
		client_done(&c);
		return rc;
	}
	fprintf(stderr, "gigavault: unknown command \"%s\"\n", argv[0]);
	usage_all(stderr);
	return EXIT_ERROR;
}
