/*
 * datadir.c - create the data directory; keep the server id.
 * See datadir.h.
 */
#include "autoconf.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "datadir.h"

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
