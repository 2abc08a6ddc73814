/*
 * gigavaultd.c - the backup server's entry point: flags, config, the
 * sockets and the pid file, then the supervisor takes over.
 *
 * Exit status: 0 clean stop or good config (-n), 1 runtime error (port
 * taken, live pid file, ...), 2 bad config or usage.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "datadir.h"
#include "listen.h"
#include "log.h"
#include "pidfile.h"
#include "supervisor.h"

#ifndef GV_CONFFILE
#define GV_CONFFILE	"/etc/gigavault/gigavault.conf"
#endif

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: gigavaultd [-dnvV] [-f file]\n");
	exit(2);
}

/* Detach from the terminal; the parent exits 0 once the child runs. */
static void
daemonize(void)
{
	int fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	switch (fork()) {		/* never reacquire a terminal */
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (chdir("/") == -1)
		fatal("chdir /");
	umask(027);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/*
 * Everything between a valid config and the supervisor: pid file check,
 * data directory, sockets, logging, detaching.  Returns 0 or the exit
 * status, with the reason printed.
 */
static int
start(struct gv_config *cfg, struct listen_set *ls, uint8_t *server_id,
    int foreground, int verbose)
{
	char err[512];
	pid_t other;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 && cfg->user[0] != '\0')
		fprintf(stderr, "gigavaultd: not started as root; Server.User "
		    "\"%s\" is ignored\n", cfg->user);
	if ((other = pidfile_running(cfg->pidfile)) != 0) {
		fprintf(stderr, "gigavaultd: already running as pid %ld "
		    "(Server.PidFile %s)\n", (long)other, cfg->pidfile);
		return 1;
	}
	if (user_lookup(cfg->user, &uid, &gid) == -1) {
		fprintf(stderr, "gigavaultd: no such user \"%s\"\n", cfg->user);
		return 2;
	}
	if (datadir_prepare(cfg->datadir, uid, gid, err, sizeof(err)) == -1 ||
	    datadir_server_id(cfg->datadir, server_id, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultd: %s\n", err);
		return 1;
	}
	/* Every port is bound now, before any fork, or not at all. */
	if (listen_open(cfg, ls, NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultd: %s\n", err);
		return 1;
	}
	if (supervisor_log_setup(cfg, verbose, foreground) == -1) {
		fprintf(stderr, "gigavaultd: Log.File %s: %s\n", cfg->log_file,
		    strerror(errno));
		listen_close(ls);
		return 1;
	}
	if (!foreground)
		daemonize();
	if (pidfile_write(cfg->pidfile) == -1) {
		log_warn("cannot write Server.PidFile %s", cfg->pidfile);
		listen_close(ls);
		return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *file = GV_CONFFILE;
	int ch, foreground = 0, check_only = 0, verbose = 0;
	static uint8_t server_id[SERVER_ID_LEN];
	struct gv_config *cfg;
	struct listen_set ls;
	char err[512];
	int status;

	while ((ch = getopt(argc, argv, "df:nvV")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			file = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("gigavaultd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if ((cfg = config_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gigavaultd: %s\n", err);
		return 2;
	}
	if (check_only) {
		fprintf(stderr, "gigavaultd: configuration file %s is valid\n",
		    file);
		config_free(cfg);
		return 0;
	}
	if ((status = start(cfg, &ls, server_id, foreground, verbose)) != 0) {
		config_free(cfg);
		return status;
	}
	return supervisor_run(cfg, &ls, server_id, verbose, foreground);
}
