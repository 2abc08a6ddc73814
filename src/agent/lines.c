/*
 * lines.c - a child's pipe cut into lines.  See lines.h.
 */
#include "autoconf.h"

#include "lines.h"

void
lines_feed(struct lines *l, const char *data, size_t n, lines_fn fn,
    void *arg)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n' || data[i] == '\r') {
			l->buf[l->len] = '\0';
			l->len = 0;
			fn(arg, l->buf);
		} else if (l->len < sizeof(l->buf) - 1)
			l->buf[l->len++] = data[i];
	}
}

void
lines_flush(struct lines *l, lines_fn fn, void *arg)
{
	if (l->len == 0)
		return;
	l->buf[l->len] = '\0';
	l->len = 0;
	fn(arg, l->buf);
}
