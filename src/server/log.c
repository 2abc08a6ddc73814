/*
 * log.c - where gigavaultd's messages go.  See log.h.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "log.h"

static struct {
	char		*file;		/* NULL: syslog or stderr */
	int		 fd;		/* open log file, or -1 */
	int		 foreground;
	int		 syslog_open;
	enum log_level	 level;
	char		 procname[32];
	int		 sink[2];	/* the UI bridge's copy: send, receive */
	uint64_t	 sink_lost;	/* lines not sent since the last sent */
} lg = { NULL, -1, 1, 0, LOG_LVL_INFO, "gigavaultd", { -1, -1 }, 0 };

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int
log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return (size_t)level < sizeof(level_names) / sizeof(level_names[0]) ?
	    level_names[level] : "?";
}

int
log_facility_parse(const char *s)
{
	static const struct { const char *name; int fac; } tab[] = {
		{ "daemon", LOG_DAEMON }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(s, tab[i].name) == 0)
			return tab[i].fac;
	return -1;
}

static int
open_file(void)
{
	int fd = open(lg.file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd == -1)
		return -1;
	if (lg.fd != -1)
		close(lg.fd);
	lg.fd = fd;
	return 0;
}

int
log_init(const char *file, int foreground, int facility, enum log_level level)
{
	free(lg.file);
	lg.file = NULL;
	if (lg.fd != -1) {
		close(lg.fd);
		lg.fd = -1;
	}
	if (lg.syslog_open) {
		closelog();
		lg.syslog_open = 0;
	}
	lg.foreground = foreground;
	lg.level = level;
	if (file != NULL && *file != '\0') {
		if ((lg.file = strdup(file)) == NULL)
			return -1;
		return open_file();
	}
	if (!foreground) {
		openlog("gigavaultd", LOG_PID | LOG_NDELAY, facility);
		lg.syslog_open = 1;
	}
	return 0;
}

int
log_reopen(void)
{
	if (lg.file == NULL)
		return 0;
	return open_file();
}

int
log_sink_open(void)
{
	int sz = LOG_SINK_SNDBUF;

	if (lg.sink[0] != -1)
		return 0;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    lg.sink) == -1) {
		lg.sink[0] = lg.sink[1] = -1;
		return -1;
	}
	/* Room for a burst while the bridge is busy or restarting. */
	(void)setsockopt(lg.sink[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return 0;
}

int
log_sink_reader(void)
{
	return lg.sink[1];
}

void
log_sink_close_reader(void)
{
	if (lg.sink[1] != -1)
		close(lg.sink[1]);
	lg.sink[1] = -1;
}

void
log_procname(const char *name)
{
	snprintf(lg.procname, sizeof(lg.procname), "%s", name);
	lg.sink_lost = 0;	/* a new child: its parent's losses are not its */
}

/*
 * Send one record on the sink: 0, or -1 when it was not sent (the queue
 * is full, or the bridge has gone).
 */
static int
sink_send(const void *rec, size_t len)
{
	return send(lg.sink[0], rec, len, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    (ssize_t)len ? 0 : -1;
}

/*
 * Before a line: tell the bridge how many lines this process could not
 * send (log.h).  0 when that is told (or there was nothing), else -1.
 */
static int
sink_send_lost(const char *stamp, long ms)
{
	uint8_t rec[1 + 8 + 256];
	int n;

	if (lg.sink_lost == 0)
		return 0;
	n = snprintf((char *)rec + 9, sizeof(rec) - 9, "%s.%03ld %s[%ld] "
	    "warning: %llu lines of this process were not sent to the "
	    "console's log (its queue was full)", stamp, ms, lg.procname,
	    (long)getpid(), (unsigned long long)lg.sink_lost);
	if (n <= 0 || (size_t)n >= sizeof(rec) - 9)
		n = (int)strlen((char *)rec + 9);
	rec[0] = LOG_SINK_DROPS;
	be64_put(rec + 1, lg.sink_lost);
	if (sink_send(rec, 9 + (size_t)n) == -1)
		return -1;
	lg.sink_lost = 0;
	return 0;
}

static void
vlog(enum log_level level, const char *fmt, va_list ap, int with_errno)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	int saved = errno;
	char msg[2048], rec[1 + LOG_SINK_TEXT_MAX + 1], stamp[32];
	char *line = rec + 1;
	size_t len;
	struct timespec ts;
	struct tm tm;
	int n, to_syslog;

	if (level > lg.level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(saved));

	to_syslog = lg.syslog_open && lg.fd == -1;
	if (to_syslog)
		syslog(prio[level], "%s: %s", lg.procname, msg);
	if (to_syslog && lg.sink[0] == -1) {
		errno = saved;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, LOG_SINK_TEXT_MAX + 1, "%s.%03ld %s[%ld] %s: %s\n",
	    stamp, ts.tv_nsec / 1000000, lg.procname, (long)getpid(),
	    level_names[level], msg);
	if (n <= 0) {
		errno = saved;
		return;
	}
	len = (size_t)n <= LOG_SINK_TEXT_MAX ? (size_t)n : LOG_SINK_TEXT_MAX;
	if (line[len - 1] != '\n')
		line[len - 1] = '\n';	/* cut short: still one line */
	if (!to_syslog) {
		ssize_t w = write(lg.fd != -1 ? lg.fd : STDERR_FILENO, line,
		    len);
		(void)w;	/* nowhere left to report a failed log write */
	}
	/* The UI bridge's copy, without the newline; counted when full. */
	if (lg.sink[0] != -1) {
		rec[0] = (char)level;
		if (sink_send_lost(stamp, ts.tv_nsec / 1000000) == -1 ||
		    sink_send(rec, len) == -1)
			lg.sink_lost++;
	}
	errno = saved;
}

/* The six entry points; then is what follows the line (fatal: exit). */
#define LOG_FN(name, level, with_errno, then)		\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(level, fmt, ap, with_errno);		\
	va_end(ap);					\
	then;						\
}

LOG_FN(log_warn, LOG_LVL_WARNING, 1, return)
LOG_FN(log_warnx, LOG_LVL_WARNING, 0, return)
LOG_FN(log_info, LOG_LVL_INFO, 0, return)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0, return)
LOG_FN(fatal, LOG_LVL_ERROR, 1, exit(1))
LOG_FN(fatalx, LOG_LVL_ERROR, 0, exit(1))
