/*
 * log.h - logging for every gigavaultd process.
 *
 * Before log_init() messages go to stderr.  After it they go to the
 * configured file (one write(2) per line, O_APPEND, so several processes
 * can share it), to syslog, or to stderr in the foreground.
 * Each line carries the process role set with log_procname().
 */
#ifndef GV_LOG_H
#define GV_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };

/*
 * Set where messages go.  file: path of a log file or NULL; foreground:
 * log to stderr when file is NULL (else syslog with facility).
 * Returns 0, or -1 with errno set when the file cannot be opened.
 */
int	log_init(const char *file, int foreground, int facility,
	    enum log_level level);
/* Reopen the log file (SIGUSR1).  Returns 0 or -1 with errno set. */
int	log_reopen(void);
/* The role shown at the start of each line, e.g. "worker[2]". */
void	log_procname(const char *name);
/* Parse "error", "warning", "info", "debug"; -1 if unknown. */
int	log_level_parse(const char *s);
/* Parse "daemon", "local0".."local7" into a syslog facility; -1 if unknown. */
int	log_facility_parse(const char *s);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level (fatal: with strerror(errno)) and exit(1). */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
