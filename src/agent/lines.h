/*
 * lines.h - cut what a child writes on a pipe into lines, for the
 * agent's runs (their standard error) and polls (their answers): each
 * line at most LINES_MAX - 1 bytes (the rest of a longer one is
 * dropped), ended by '\n' or '\r'.
 */
#ifndef GV_LINES_H
#define GV_LINES_H

#include <stddef.h>

#define LINES_MAX	1025	/* a line and its NUL */

struct lines {
	char	 buf[LINES_MAX];
	size_t	 len;
};

/* A whole line, NUL-terminated, without its end; fn may modify it. */
typedef void	(*lines_fn)(void *arg, char *line);

/* Feed n bytes of data: fn(arg, line) for each line they end. */
void	lines_feed(struct lines *, const char *data, size_t n, lines_fn fn,
	    void *arg);
/* The last line when it had no end (the pipe closed): fn, if any. */
void	lines_flush(struct lines *, lines_fn fn, void *arg);

#endif
