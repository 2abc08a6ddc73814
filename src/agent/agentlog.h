/*
 * agentlog.h - logging for gigavault-agent: standard error in the
 * foreground (-d), else syslog (facility daemon).  The agent cannot use
 * the server's log.c (agent/ includes only agent/, client/ and common/).
 */
#ifndef GV_AGENTLOG_H
#define GV_AGENTLOG_H

/*
 * Where lines go from now on: stderr when foreground is set, else
 * syslog as "gigavault-agent"; debug lines only when verbose is set.
 */
void	alog_init(int foreground, int verbose);
/* A line, printf-like; alog_warn() adds ": " and strerror(errno). */
void	alog_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	alog_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	alog_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	alog_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
