/*
 * textfile.c - read a small text file of our own whole (textfile.h).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "textfile.h"

int
textfile_read(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	char *b;
	size_t n = 0;
	ssize_t got;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, errno == ELOOP ?
		    "a symbolic link, not a file" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((b = malloc(max + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (n < max && (got = read(fd, b + n, max - n)) != 0) {
		if (got == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		n += (size_t)got;
	}
	if (n == max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path,
		    max);
		goto fail;
	}
	b[n] = '\0';
	if (memchr(b, '\0', n) != NULL) {
		snprintf(err, errlen, "%s: damaged (a NUL byte)", path);
		goto fail;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
fail:
	crypto_wipe(b, n);
	free(b);
	close(fd);
	return -1;
}
