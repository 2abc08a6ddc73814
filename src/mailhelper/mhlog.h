/*
 * mhlog.h - logging for gigavault-mailhelper: standard error in the
 * foreground (-d), else syslog (facility daemon).  The helper cannot use
 * the server's log.c (mailhelper/ includes only itself and common/).
 */
#ifndef GV_MHLOG_H
#define GV_MHLOG_H

/*
 * Where lines go from now on: stderr when foreground is set, else
 * syslog as "gigavault-mailhelper"; debug lines only when verbose is set.
 */
void	mlog_init(int foreground, int verbose);
/* A line, printf-like; mlog_warn() adds ": " and strerror(errno). */
void	mlog_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	mlog_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	mlog_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	mlog_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
