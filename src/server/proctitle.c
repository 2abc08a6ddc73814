/*
 * proctitle.c - the process title on Linux.  See proctitle.h.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proctitle.h"

extern char **environ;

static char	*title;		/* argv[0]'s string; NULL: not taken */
static size_t	 room;		/* up to the end of the last string taken */

void
proctitle_init(int argc, char *argv[])
{
	char *end, **env;
	size_t n = 0;

	if (argc == 0)
		return;
	end = argv[0];
	for (int i = 0; i < argc; i++)
		if (argv[i] == end)
			end += strlen(end) + 1;
	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 1, sizeof(*env))) == NULL)
		fatal("%s", __func__);
	for (size_t i = 0; i < n; i++) {
		if (environ[i] == end)
			end += strlen(end) + 1;
		if ((env[i] = strdup(environ[i])) == NULL)
			fatal("%s", __func__);
	}
	environ = env;
	title = argv[0];
	room = (size_t)(end - title);
}

void
proctitle_set(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (title == NULL)
		return;
	memset(title, '\0', room);
	n = snprintf(title, room, "gigavaultd: ");
	if (n < 0 || (size_t)n >= room)
		return;
	va_start(ap, fmt);
	vsnprintf(title + n, room - (size_t)n, fmt, ap);
	va_end(ap);
}
