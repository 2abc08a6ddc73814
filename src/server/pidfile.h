/*
 * pidfile.h - the supervisor's pid file (Server.PidFile).
 */
#ifndef GV_PIDFILE_H
#define GV_PIDFILE_H

#include <sys/types.h>

/*
 * The pid of a running gigavaultd named by path, or 0 when the file is
 * missing, unreadable, or names a process that is gone or is not a
 * gigavaultd (a stale file after a crash).
 */
pid_t	pidfile_running(const char *path);

/*
 * The pid written at the start of the file open as fd (decimal digits,
 * then a newline or the end), or 0 when it holds none.  The file offset
 * is not moved.  Also reads DataDir's lock file (datadir.h).
 */
pid_t	pidfile_read_fd(int fd);

/* Write our pid to path (atomically).  Returns 0 or -1 with errno set. */
int	pidfile_write(const char *path);

/* Remove path if it still holds our pid. */
void	pidfile_remove(const char *path);

#endif
