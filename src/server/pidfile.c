/*
 * pidfile.c - the supervisor's pid file.  See pidfile.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidfile.h"

pid_t
pidfile_read_fd(int fd)
{
	char buf[32], *end;
	ssize_t n;
	long v;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    v <= 0 || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

static pid_t
read_pid(const char *path)
{
	pid_t pid;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	pid = pidfile_read_fd(fd);
	close(fd);
	return pid;
}

/* Is pid a gigavaultd?  Judged by /proc/PID/comm. */
static int
is_gigavaultd(pid_t pid)
{
	char path[64], comm[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return kill(pid, 0) == 0 || errno == EPERM;	/* no /proc */
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	return strncmp(comm, "gigavaultd", 10) == 0;
}

pid_t
pidfile_running(const char *path)
{
	pid_t pid = read_pid(path);

	if (pid == 0 || pid == getpid())
		return 0;
	return is_gigavaultd(pid) ? pid : 0;
}

int
pidfile_write(const char *path)
{
	char tmp[PATH_MAX], buf[32];
	int fd, n, ok, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return -1;
	ok = write(fd, buf, (size_t)n) == n;
	if (close(fd) == -1)
		ok = 0;
	if (!ok || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

void
pidfile_remove(const char *path)
{
	if (read_pid(path) == getpid())
		unlink(path);
}
