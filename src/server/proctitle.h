/*
 * proctitle.h - what ps(1) shows for each gigavaultd process:
 * "gigavaultd: supervisor -f FILE", "gigavaultd: worker 3", ...
 *
 * Linux keeps no title apart from the command line: ps and
 * /proc/PID/cmdline read the argument strings in the process's memory.
 * So the title is written over them, and over the environment strings
 * that follow them, once the environment is copied elsewhere (as nginx
 * and PostgreSQL do).  The command name (/proc/PID/comm), which pgrep,
 * pkill and killall match, stays "gigavaultd".
 */
#ifndef GV_PROCTITLE_H
#define GV_PROCTITLE_H

/*
 * Take the argument and environment strings for the title.  Call once,
 * after the last use of argv's strings, which are overwritten from then
 * on; environ is a copy from then on.  Exits (fatal) when out of memory.
 */
void	proctitle_init(int argc, char *argv[]);
/*
 * Show "gigavaultd: " and the printf-formatted text, cut to the room
 * there is.  Does nothing before proctitle_init().
 */
void	proctitle_set(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
