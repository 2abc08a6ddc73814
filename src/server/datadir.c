/*
 * datadir.c - create the data directory; keep the server id; the lock
 * that lets one process at a time use it.  See datadir.h.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "datadir.h"
#include "pidfile.h"

static int
mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0750) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
datadir_prepare(const char *dir, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		snprintf(err, errlen, "Server.DataDir: path too long");
		return -1;
	}
	if (mkdirs(path) == -1 || stat(dir, &st) == -1) {
		snprintf(err, errlen, "Server.DataDir: cannot create %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "Server.DataDir: %s is not a directory",
		    dir);
		return -1;
	}
	if (geteuid() == 0 && (st.st_uid != uid || st.st_gid != gid) &&
	    chown(dir, uid, gid) == -1) {
		snprintf(err, errlen, "Server.DataDir: cannot give %s to uid "
		    "%ld: %s", dir, (long)uid, strerror(errno));
		return -1;
	}
	return 0;
}

void
server_id_hex(const uint8_t id[SERVER_ID_LEN],
    char hex[SERVER_ID_HEX + 1])
{
	hex_encode(id, SERVER_ID_LEN, hex);
}

static int
read_id(const char *path, uint8_t id[SERVER_ID_LEN], char *err,
    size_t errlen)
{
	char buf[64];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 1 : (snprintf(err, errlen,
		    "cannot read %s: %s", path, strerror(errno)), -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == 33 && buf[32] == '\n')
		n = 32;
	if (n != 32)
		goto bad;
	buf[32] = '\0';
	if (hex_decode(buf, id, SERVER_ID_LEN) == -1)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "%s does not hold a server id (32 hex digits); "
	    "clients pin it, so it is not replaced: restore it or remove it",
	    path);
	return -1;
}

int
datadir_server_id(const char *dir, uint8_t id[SERVER_ID_LEN], char *err,
    size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX], hex[34];
	int fd, rc, ok;

	if (snprintf(path, sizeof(path), "%s/server-id", dir) >=
	    (int)sizeof(path) || snprintf(tmp, sizeof(tmp),
	    "%s/server-id.tmp", dir) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "Server.DataDir: path too long");
		return -1;
	}
	if ((rc = read_id(path, id, err, errlen)) <= 0)
		return rc;

	if (getrandom(id, SERVER_ID_LEN, 0) != SERVER_ID_LEN) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	server_id_hex(id, hex);
	hex[32] = '\n';
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	ok = write(fd, hex, 33) == 33 && fsync(fd) == 0;
	if (close(fd) == -1)
		ok = 0;
	if (!ok || rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * The DataDir lock.  flock(2), not fcntl(2): a fcntl lock belongs to
 * the process and goes the moment it closes any descriptor of the file
 * (a read of the pid would drop it), while a flock lock belongs to the
 * open file description, which this process keeps for its whole life.
 * A fork shares that description, and any sharer could flock(LOCK_UN)
 * it for all: the descriptor is O_CLOEXEC and every child closes its
 * copy first thing (datadir_lock_close_copy()), so only the supervisor
 * holds it.  Closing a copy leaves the lock in place.
 */
static int	lock_fd = -1;
static dev_t	lock_dev;
static ino_t	lock_ino;

#define LOCK_WAIT_PID_MS	1000	/* for a holder to write its pid */

static int
lock_write_pid(int fd)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

/* The command name of pid ("gigavaultd", "gigavaultctl"), or "". */
static void
proc_name(pid_t pid, char *name, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	name[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, name, len - 1);
	close(fd);
	if (n <= 0) {
		name[0] = '\0';
		return;
	}
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
}

int
datadir_lock(const char *dir, pid_t *holder, char *err, size_t errlen)
{
	char path[PATH_MAX], name[32];
	struct timespec nap = { 0, 50 * 1000000L };
	struct stat st, dst;
	int fd, waited;
	pid_t pid;

	*holder = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, DATADIR_LOCK) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "Server.DataDir: path too long");
		return -1;
	}
	/* Read-only is enough to see who holds a lock we cannot take. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0644)) == -1 && (errno != EACCES || (fd = open(path,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)) {
		snprintf(err, errlen, "cannot open the lock file %s: %s",
		    path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || stat(dir, &dst) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (lock_fd != -1 && st.st_dev == lock_dev && st.st_ino == lock_ino) {
		close(fd);	/* the DataDir we hold, by another name */
		return 0;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK) {
			snprintf(err, errlen, "cannot lock %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		/* The holder writes its pid just after it takes the lock. */
		for (waited = 0; (pid = pidfile_read_fd(fd)) == 0 &&
		    waited < LOCK_WAIT_PID_MS; waited += 50)
			nanosleep(&nap, NULL);
		close(fd);
		*holder = pid;
		if (pid == 0) {
			snprintf(err, errlen, "Server.DataDir %s is in use: "
			    "another process holds its lock %s", dir, path);
			return -1;
		}
		proc_name(pid, name, sizeof(name));
		snprintf(err, errlen, "Server.DataDir %s is in use by %s%spid "
		    "%ld, which holds its lock %s", dir, name,
		    name[0] != '\0' ? " " : "", (long)pid, path);
		return -1;
	}
	/*
	 * A stale file of a process that is gone is simply taken over.  It
	 * belongs to DataDir's owner, so that gigavaultctl, which runs as
	 * that owner, can take it and write its pid too.
	 */
	if ((geteuid() == 0 && (st.st_uid != dst.st_uid ||
	    st.st_gid != dst.st_gid) &&
	    fchown(fd, dst.st_uid, dst.st_gid) == -1) ||
	    lock_write_pid(fd) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (lock_fd != -1)
		close(lock_fd);	/* DataDir changed on reload */
	lock_fd = fd;
	lock_dev = st.st_dev;
	lock_ino = st.st_ino;
	return 0;
}

int
datadir_lock_setpid(void)
{
	if (lock_fd == -1) {
		errno = EBADF;
		return -1;
	}
	return lock_write_pid(lock_fd);
}

void
datadir_lock_close_copy(void)
{
	if (lock_fd != -1)
		close(lock_fd);
	lock_fd = -1;
}

/*
 * What the children need of DataDir, beyond entering it: a row per
 * entry (checked when it exists; a new DataDir has none yet), and, for
 * packs/, read access to every file in it (packs are only read once
 * written; new ones are created in the directory).
 */
static const struct access_row {
	const char	*name;
	int		 amode;
} datadir_needs[] = {
	{ "",				R_OK | W_OK | X_OK },
	{ "catalog",			R_OK | W_OK | X_OK },
	{ "catalog/data.mdb",		R_OK | W_OK },
	{ "catalog/lock.mdb",		R_OK | W_OK },
	{ "journal",			R_OK | W_OK },
	{ "packs",			R_OK | W_OK | X_OK },
	{ "server-id",			R_OK },
	{ "housekeeping.json",		R_OK | W_OK },
	{ "housekeeping.json.lock",	R_OK | W_OK },
	{ "prune.lock",			R_OK | W_OK },
	{ "admins",			R_OK },
};

/*
 * Whether this process may do amode to path: 0, 1 when path does not
 * exist, or -1 with "DIR: user USER cannot read or write PATH (mode
 * 0640, owner root:root)" (or the error) in msg.
 */
static int
may_access(const char *dir, const char *user, const char *path, int amode,
    char *msg, size_t len)
{
	static const struct {
		int		 bit;
		const char	*file, *dir;
	} verbs[] = {
		{ R_OK, "read", "list" },
		{ W_OK, "write", "write in" },
		{ X_OK, NULL, "traverse" },
	};
	char what[64], owner[64], group[64];
	struct passwd *pw;
	struct group *gr;
	struct stat st;
	int e = 0, missing = 0;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(msg, len, "%s: user %s cannot reach %s: %s", dir,
		    user, path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		amode &= ~X_OK;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if ((amode & verbs[i].bit) && access(path, verbs[i].bit) == -1) {
			missing |= verbs[i].bit;
			if (e == 0 || errno != EACCES)
				e = errno;
		}
	if (missing == 0)
		return 0;
	what[0] = '\0';
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (missing & verbs[i].bit)
			snprintf(what + strlen(what), sizeof(what) - strlen(what),
			    "%s%s", what[0] != '\0' ? " or " : "",
			    S_ISDIR(st.st_mode) ? verbs[i].dir : verbs[i].file);
	if (e != EACCES) {
		snprintf(msg, len, "%s: user %s cannot %s %s: %s", dir, user,
		    what, path, strerror(e));
		return -1;
	}
	if ((pw = getpwuid(st.st_uid)) != NULL)
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
	else
		snprintf(owner, sizeof(owner), "%ld", (long)st.st_uid);
	if ((gr = getgrgid(st.st_gid)) != NULL)
		snprintf(group, sizeof(group), "%s", gr->gr_name);
	else
		snprintf(group, sizeof(group), "%ld", (long)st.st_gid);
	snprintf(msg, len, "%s: user %s cannot %s %s (mode %04o, owner "
	    "%s:%s)", dir, user, what, path, (unsigned)(st.st_mode & 07777),
	    owner, group);
	return -1;
}

int
datadir_check_access(const char *dir, const char *user, char *msg,
    size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	size_t n;
	int rc = 0;

	if ((n = strlen(dir)) >= sizeof(path)) {
		snprintf(msg, len, "Server.DataDir: path too long");
		return -1;
	}
	/* Every directory on the way: "/", "/srv", "/srv/x", ... */
	if (dir[0] == '/' && may_access(dir, user, "/", X_OK, msg, len) == -1)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if (dir[i] != '/' || dir[i - 1] == '/')
			continue;
		memcpy(path, dir, i);
		path[i] = '\0';
		if (may_access(dir, user, path, X_OK, msg, len) == -1)
			return -1;
	}
	for (size_t i = 0; i < sizeof(datadir_needs) /
	    sizeof(datadir_needs[0]); i++) {
		const struct access_row *r = &datadir_needs[i];

		if (snprintf(path, sizeof(path), "%s%s%s", dir,
		    r->name[0] != '\0' ? "/" : "", r->name) >=
		    (int)sizeof(path)) {
			snprintf(msg, len, "Server.DataDir: path too long");
			return -1;
		}
		if (may_access(dir, user, path, r->amode, msg, len) == -1)
			return -1;
	}
	if (snprintf(path, sizeof(path), "%s/packs", dir) >=
	    (int)sizeof(path) || (d = opendir(path)) == NULL)
		return 0;	/* none yet, or the row above said why */
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/packs/%s", dir,
		    de->d_name) >= (int)sizeof(path))
			continue;
		rc = may_access(dir, user, path, R_OK, msg, len) == -1 ? -1 : 0;
	}
	closedir(d);
	return rc;
}
