/*
 * log.h - logging for every gigavaultd process.
 *
 * Before log_init() messages go to stderr.  After it they go to the
 * configured file (one write(2) per line, O_APPEND, so several processes
 * can share it), to syslog, or to stderr in the foreground.
 * Each line carries the process role set with log_procname().
 *
 * Whatever the destination, every line is also sent to the UI bridge,
 * which keeps the last ones for the console's Log page (uiapi.c): the
 * supervisor makes the sink with log_sink_open() before it forks, and
 * every process that logs sends on it without waiting (a line is
 * dropped when the queue is full).  A record is one datagram: a byte
 * with the enum log_level, then the line as written to a log file,
 * without its newline (1 to LOG_SINK_TEXT_MAX - 1 bytes, no NUL).
 * Each process counts the lines it dropped; before its next line that
 * gets through it sends a record of LOG_SINK_DROPS: that byte, the
 * count as 8 bytes big-endian, then a warning line that says it (as
 * above), so the bridge can count them and show where.
 *
 * The queue is the send buffer of the one socket that every process
 * shares.  LOG_SINK_SNDBUF is what is asked for, not what is had:
 * Linux caps SO_SNDBUF at net.core.wmem_max (212992 bytes by default;
 * it doubles the request for its bookkeeping) and charges each queued
 * datagram with its buffer's overhead (several hundred bytes), so some
 * hundreds of lines wait at most, fewer than 1 MiB of text.
 */
#ifndef GV_LOG_H
#define GV_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG };
#define LOG_NLEVELS		4

#define LOG_SINK_TEXT_MAX	2300		/* a line and its newline */
#define LOG_SINK_DROPS		0x80		/* a record of lines dropped */
#define LOG_SINK_REC_MAX	(LOG_SINK_TEXT_MAX + 8)	/* level, count, line */
#define LOG_SINK_SNDBUF		(1024 * 1024)	/* asked for (see above) */

/*
 * Set where messages go.  file: path of a log file or NULL; foreground:
 * log to stderr when file is NULL (else syslog with facility).
 * Returns 0, or -1 with errno set when the file cannot be opened.
 */
int	log_init(const char *file, int foreground, int facility,
	    enum log_level level);
/* Reopen the log file (SIGUSR1).  Returns 0 or -1 with errno set. */
int	log_reopen(void);
/*
 * Make the sink (a SOCK_DGRAM socketpair, nonblocking, close-on-exec)
 * that every later line is sent to; a no-op when it exists.  0, or -1
 * with errno (lines then go only where log_init() said).
 */
int	log_sink_open(void);
/* The receiving end, for the UI bridge; -1 when there is none. */
int	log_sink_reader(void);
/* Close the receiving end (every child but the UI bridge). */
void	log_sink_close_reader(void);
/*
 * The role shown at the start of each line, e.g. "worker[2]"; a child
 * calls it first, which also clears the count of lines it inherited as
 * not sent to the sink (they are its parent's to report).
 */
void	log_procname(const char *name);
/* Parse "error", "warning", "info", "debug"; -1 if unknown. */
int	log_level_parse(const char *s);
/* The name of level, as log_level_parse() takes it ("?" outside). */
const char *log_level_name(enum log_level level);
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
