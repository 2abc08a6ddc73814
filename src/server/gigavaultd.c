/*
 * gigavaultd.c - the backup server's entry point: flags, config, the
 * DataDir's lock, a check that Server.User can use DataDir and that the
 * catalog opens, the sockets and the pid file, then the supervisor
 * takes over.
 *
 * Exit status: 0 clean stop or good config (-n), 1 runtime error (port
 * taken, live pid file, DataDir in use or not usable by Server.User, a
 * catalog that cannot be opened, ...), 2 bad
 * config or usage.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/paths.h"
#include "alert.h"
#include "catalog.h"
#include "child.h"
#include "config.h"
#include "datadir.h"
#include "listen.h"
#include "log.h"
#include "packstore.h"
#include "pidfile.h"
#include "proctitle.h"
#include "store.h"
#include "supervisor.h"

#define FD_RESERVE	64	/* supervisor fds besides one per child */

static void
usage_to(FILE *f)
{
	fprintf(f, "usage: gigavaultd [-dnvV] [-f file]\n");
}

static void __attribute__((noreturn))
usage(void)
{
	usage_to(stderr);
	exit(2);
}

/* --help: the usage and what each flag does, on stdout. */
static void
help(void)
{
	usage_to(stdout);
	printf("  -d, --foreground  stay in the foreground, log to stderr\n"
	    "  -f, --config FILE the configuration (default %s)\n"
	    "  -n, --check       check the configuration and exit\n"
	    "  -v, --verbose     log debug messages too\n"
	    "  -V, --version     print the version and exit\n"
	    "  -h, --help        print this help and exit\n"
	    "See gigavaultd(8) and gigavault.conf(5).\n", GV_CONFFILE);
}

/*
 * Detach from the terminal.  The first process waits on a pipe until the
 * daemon has written its pid file (or failed) and exits with that
 * status, so "gigavaultd && echo started" tells the truth.  Returns the
 * write end of that pipe in the daemon; daemon_ready() closes it.
 */
static int
daemonize(void)
{
	int fd, pfd[2];
	uint8_t status;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		fatal("pipe");
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		close(pfd[1]);
		if (read(pfd[0], &status, 1) != 1)
			status = 1;	/* died before it could say */
		_exit(status);
	}
	close(pfd[0]);
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
	return pfd[1];
}

/* Tell the waiting first process how the start went. */
static void
daemon_ready(int fd, uint8_t status)
{
	if (fd == -1)
		return;
	if (write(fd, &status, 1) != 1)
		log_warn("%s: cannot report start-up status", __func__);
	close(fd);
}

/*
 * The supervisor holds a socketpair end per child, so the pool size is
 * bounded by the open-file limit.  Raise the soft limit as far as the
 * hard one allows; refuse to start when even that is too small.
 */
static int
raise_fd_limit(int workers)
{
	rlim_t need = (rlim_t)workers + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	if (rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ?
	    need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < need) {
		fprintf(stderr, "gigavaultd: Server.Workers = %d needs %llu open "
		    "files, and the limit is %llu (raise it with ulimit -n or "
		    "LimitNOFILE=)\n", workers, (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

/* 1 when DataDir holds a pack or a journal with records, else 0. */
static int
has_data(const char *datadir)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int found = 0;

	if (snprintf(path, sizeof(path), "%s/journal", datadir) <
	    (int)sizeof(path) && stat(path, &st) == 0 && st.st_size > 8)
		return 1;
	if (snprintf(path, sizeof(path), "%s/packs", datadir) >=
	    (int)sizeof(path) || (d = opendir(path)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		found = n > 5 && strcmp(de->d_name + n - 5, ".pack") == 0;
	}
	closedir(d);
	return found;
}

/* How the check child ends (check_datadir()). */
enum check_exit {
	CHECK_OK,
	CHECK_CATALOG,		/* the catalog does not open */
	CHECK_OLDFORMAT,	/* a catalog of 0.1.0 */
	CHECK_REPORT_FAILED,	/* the message could not be sent */
	CHECK_ACCESS,		/* the user lacks a permission */
};

/*
 * In the check child, as Server.User: the access check, then the
 * catalog when data.mdb exists.  Never returns.
 */
static void __attribute__((noreturn))
check_child(const struct gv_config *cfg, const char *catdir, int exists,
    int fd)
{
	char msg[PATH_MAX + 512], self[64];
	const char *user = cfg->user;
	struct catalog *cat;
	struct passwd *pw;
	int r;

	if (geteuid() != 0 || user[0] == '\0') {
		if ((pw = getpwuid(geteuid())) != NULL)
			snprintf(self, sizeof(self), "%s", pw->pw_name);
		else
			snprintf(self, sizeof(self), "%ld", (long)geteuid());
		user = self;
	}
	datadir_lock_close_copy();
	drop_privileges(cfg->user);
	child_restrict();
	if (datadir_check_access(cfg->datadir, user, msg, sizeof(msg)) == -1)
		r = CHECK_ACCESS;
	else if (!exists)
		_exit(CHECK_OK);
	else if ((r = catalog_open(catdir, 0, &cat, msg, sizeof(msg))) ==
	    CAT_OK) {
		catalog_close(cat);
		_exit(CHECK_OK);
	} else
		r = r == CAT_OLDFORMAT ? CHECK_OLDFORMAT : CHECK_CATALOG;
	if (write(fd, msg, strnlen(msg, sizeof(msg))) == -1)
		_exit(CHECK_REPORT_FAILED);
	_exit(r);
}

/*
 * Refuse a DataDir that the children could not use, before anything is
 * bound or forked: a child, as Server.User, checks that it may reach
 * and use DataDir's directories and files (datadir_check_access()), and
 * opens the catalog (the supervisor never opens LMDB); it reports
 * through a pipe.  A missing data.mdb is fine for a new DataDir, not
 * for one that holds packs or a journal.  Returns 0 or -1 with the
 * reason printed.
 */
static int
check_datadir(const struct gv_config *cfg)
{
	char path[PATH_MAX], msg[PATH_MAX + 512];
	struct stat st;
	ssize_t n;
	size_t got = 0;
	pid_t pid;
	int pfd[2], ws, exists = 1;

	if (snprintf(path, sizeof(path), "%s/catalog/data.mdb",
	    cfg->datadir) >= (int)sizeof(path)) {
		fprintf(stderr, "gigavaultd: Server.DataDir: path too long\n");
		return -1;
	}
	if (stat(path, &st) == -1) {
		if (errno == ENOENT && has_data(cfg->datadir)) {
			fprintf(stderr, "gigavaultd: the catalog %s is missing, "
			    "but %s holds packs: refusing to start; rebuild the "
			    "catalog from them with `gigavaultctl "
			    "rebuild-catalog`\n", path, cfg->datadir);
			return -1;
		}
		exists = 0;	/* new DataDir, or the child says why not */
	}
	path[strlen(path) - strlen("/data.mdb")] = '\0';
	if (pipe2(pfd, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		fprintf(stderr, "gigavaultd: cannot check the catalog: %s\n",
		    strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		check_child(cfg, path, exists, pfd[1]);
	}
	close(pfd[1]);
	while (got < sizeof(msg) - 1 && ((n = read(pfd[0], msg + got,
	    sizeof(msg) - 1 - got)) > 0 || (n == -1 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(pfd[0]);
	msg[got] = '\0';
	while (waitpid(pid, &ws, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == CHECK_OK)
		return 0;
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == CHECK_ACCESS)
		fprintf(stderr, "gigavaultd: %s\ngigavaultd: refusing to "
		    "start: the children, which run as Server.User, could not "
		    "use Server.DataDir\n", msg);
	else if (WIFEXITED(ws) && WEXITSTATUS(ws) == CHECK_OLDFORMAT)
		fprintf(stderr, "gigavaultd: %s\ngigavaultd: the catalog in %s "
		    "was written by an older version: refusing to start; "
		    "upgrade the DataDir with `gigavaultctl upgrade`\n", msg,
		    path);
	else
		fprintf(stderr, "gigavaultd: %s\ngigavaultd: the catalog in %s "
		    "cannot be opened: refusing to start; rebuild it from the "
		    "packs with `gigavaultctl rebuild-catalog`\n",
		    msg[0] != '\0' ? msg : "the catalog check failed", path);
	return -1;
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
	int ready_fd = -1;
	pid_t other;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 && cfg->user[0] != '\0')
		fprintf(stderr, "gigavaultd: not started as root; Server.User "
		    "\"%s\" is ignored\n", cfg->user);
	if (raise_fd_limit(cfg->workers) == -1)
		return 1;
	if ((other = pidfile_running(cfg->pidfile)) != 0) {
		fprintf(stderr, "gigavaultd: already running as pid %ld "
		    "(Server.PidFile %s)\n", (long)other, cfg->pidfile);
		return 1;
	}
	if (user_lookup(cfg->user, &uid, &gid) == -1) {
		fprintf(stderr, "gigavaultd: no such user \"%s\"\n", cfg->user);
		return 2;
	}
	/*
	 * One daemon per DataDir: its lock is taken before anything is
	 * bound or forked, and held by the supervisor until it exits.
	 */
	if (datadir_prepare(cfg->datadir, uid, gid, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultd: %s\n", err);
		return 1;
	}
	if (datadir_lock(cfg->datadir, &other, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultd: %s: refusing to start\n", err);
		return 1;
	}
	if (datadir_server_id(cfg->datadir, server_id, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "gigavaultd: %s\n", err);
		return 1;
	}
	/* Store.Backend = s3: the bucket answers and is this server's. */
	if (packstore_enabled()) {
		char hex[SERVER_ID_HEX + 1];

		server_id_hex(server_id, hex);
		if (store_check_backend(cfg->datadir, err, sizeof(err)) ==
		    -1 || packstore_check_bucket(hex, NULL, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "gigavaultd: Store.Backend = s3: %s\n",
			    err);
			packstore_s3_close();
			return 1;
		}
		/* Each child opens its own after fork(). */
		packstore_s3_close();
	}
	if (check_datadir(cfg) == -1)
		return 1;
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
		ready_fd = daemonize();
	if (!foreground && datadir_lock_setpid() == -1)
		log_warn("cannot write our pid into %s/%s", cfg->datadir,
		    DATADIR_LOCK);
	if (pidfile_write(cfg->pidfile) == -1) {
		log_warn("cannot write Server.PidFile %s", cfg->pidfile);
		listen_close(ls);
		daemon_ready(ready_fd, 1);
		return 1;
	}
	daemon_ready(ready_fd, 0);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "foreground",	no_argument,		NULL, 'd' },
		{ "config",	required_argument,	NULL, 'f' },
		{ "check",	no_argument,		NULL, 'n' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	const char *file = GV_CONFFILE;
	int ch, foreground = 0, check_only = 0, verbose = 0, expired = 0;
	int file_given = 0;
	static uint8_t server_id[SERVER_ID_LEN];
	struct gv_config *cfg;
	struct listen_set ls;
	char err[512], absfile[PATH_MAX + 256], cwd[PATH_MAX];
	int status;

	/* Nothing the caller left open reaches the children. */
	close_range(STDERR_FILENO + 1, ~0U, 0);

	while ((ch = getopt_long(argc, argv, "df:hnvV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			file = optarg;
			file_given = 1;
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
		case 'h':
			help();
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/*
	 * The daemon leaves the working directory, and SIGHUP rereads the
	 * file: a relative name is taken relative to where we started.
	 */
	if (file[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
	    snprintf(absfile, sizeof(absfile), "%s/%s", cwd, file) <
	    (int)sizeof(absfile))
		file = absfile;

	if ((cfg = config_load(file, err, sizeof(err))) != NULL)
		cfg->web_cert_no_create = check_only;
	if (cfg == NULL ||
	    config_tls_load(cfg, &expired, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultd: %s\n", err);
		if (cfg == NULL && !file_given && access(file, F_OK) == -1 &&
		    errno == ENOENT)
			fprintf(stderr, "gigavaultd: no -f was given and the "
			    "default configuration %s does not exist: name "
			    "yours with -f FILE\n", file);
		config_free(cfg);
		return 2;
	}
	if (expired)
		fprintf(stderr, "gigavaultd: warning: SSL.Certificate %s is "
		    "outside its validity period: TLS clients will refuse it "
		    "(renew it: gigavaultctl tls init --renew)\n", cfg->ssl_cert);
	if (alert_sendmail_setid(cfg, err, sizeof(err)))
		fprintf(stderr, "gigavaultd: warning: %s\n", err);
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
	proctitle_init(argc, argv);	/* argv's strings are not used now */
	return supervisor_run(cfg, &ls, server_id, verbose, foreground);
}
