/*
 * mhlog.c - the mailbox helper's log lines: stderr or syslog.  See mhlog.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "mhlog.h"

static int	to_stderr = 1;
static int	debug_on;

void
mlog_init(int foreground, int verbose)
{
	to_stderr = foreground;
	debug_on = verbose;
	if (!foreground)
		openlog("gigavault-mailhelper", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int pri, const char *prefix, const char *fmt, va_list ap,
    const char *suffix)
{
	char line[2048], when[32];
	struct tm tm;
	time_t now;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (!to_stderr) {
		syslog(pri, "%s%s%s%s", prefix, line, suffix ? ": " : "",
		    suffix ? suffix : "");
		return;
	}
	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		when[0] = '\0';
	fprintf(stderr, "%s gigavault-mailhelper: %s%s%s%s\n", when, prefix, line,
	    suffix ? ": " : "", suffix ? suffix : "");
	fflush(stderr);
}

void
mlog_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, "", fmt, ap, NULL);
	va_end(ap);
}

void
mlog_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning: ", fmt, ap, e);
	va_end(ap);
}

void
mlog_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning: ", fmt, ap, NULL);
	va_end(ap);
}

void
mlog_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, "debug: ", fmt, ap, NULL);
	va_end(ap);
}
