/*
 * atomicfile.c - a whole file replaced at once (atomicfile.h).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"

int
atomicfile_write(const char *path, const void *data, size_t len,
    mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *what = "write";
	size_t off = 0;
	int fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) == -1) {
		what = "chmod";
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ENOSPC;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fdatasync(fd) == -1) {
		what = "fdatasync";
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		what = "close";
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		what = "rename";
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(saved));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}
