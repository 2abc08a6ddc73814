/*
 * tmpfile.h - for the harnesses of parsers that read a file by name
 * (the state file, the config file): the input written to a file of
 * this process under $TMPDIR, else /dev/shm (memory: a disk's /tmp
 * slows a harness down a hundredfold), else /tmp; removed at exit.
 */
#ifndef GV_FUZZ_TMPFILE_H
#define GV_FUZZ_TMPFILE_H

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_path[PATH_MAX];

static void
fuzz_unlink(void)
{
	unlink(fuzz_path);
}

/* The file's name with data in it, or NULL when it cannot be written. */
static const char *
fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	const char *dir = getenv("TMPDIR");
	ssize_t n;
	int fd;

	if (fuzz_path[0] == '\0') {
		if (dir == NULL || *dir == '\0')
			dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
			    "/tmp";
		snprintf(fuzz_path, sizeof(fuzz_path), "%s/gv-fuzz-%s.%ld",
		    dir, name, (long)getpid());
		atexit(fuzz_unlink);
	}
	if ((fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return NULL;
	while (size > 0 && (n = write(fd, data, size)) > 0) {
		data += n;
		size -= (size_t)n;
	}
	close(fd);
	return size == 0 ? fuzz_path : NULL;
}

#endif
