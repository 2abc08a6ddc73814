/*
 * confread.c - read a libconfuse file with exact line numbers and the
 * first error kept.  See confread.h.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confread.h"

/* Where the current parse writes its first error. */
static struct {
	const char	*file;
	char		*buf;
	size_t		 len;
	int		 failed;
} perr;

void
confread_error(const char *fmt, ...)
{
	va_list ap;

	if (perr.failed)
		return;		/* keep the first error: it is the cause */
	perr.failed = 1;
	va_start(ap, fmt);
	vsnprintf(perr.buf, perr.len, fmt, ap);
	va_end(ap);
}

/* libconfuse's own errors: syntax, unknown option, wrong type. */
void
confread_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cfg != NULL && cfg->line > 0)
		confread_error("%s:%d: %s", perr.file, cfg->line, msg);
	else
		confread_error("%s: %s", perr.file, msg);
}

void
confread_begin(const char *file, char *err, size_t errlen)
{
	perr.file = file;
	perr.buf = err;
	perr.len = errlen;
	perr.failed = 0;
	err[0] = '\0';
}

const char *
confread_file(void)
{
	return perr.file;
}

int
confread_failed(void)
{
	return perr.failed;
}

/*
 * libconfuse 3.3 (Debian 12) counts each comment line more than once, so
 * its line numbers drift after the first comment, and it accepts a file
 * that ends inside a section (a missing "}").  We blank out comments
 * (#, //, and C-style, keeping their newlines) before it sees the text,
 * which leaves every line where it was, and check here that comments,
 * strings and braces are closed.  Returns 0, or -1 with the error set.
 */
static int
prescan(char *p, const char *file)
{
	char quote = 0;
	int line = 1, open_line = 0, depth = 0, quote_line = 0;
	int brace_line[64];

	for (; *p != '\0'; p++) {
		if (*p == '\n')
			line++;
		if (quote) {
			if (*p == '\\' && p[1] != '\0' && p[1] != '\n')
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
			quote_line = line;
		} else if (*p == '#' || (*p == '/' && p[1] == '/')) {
			for (; *p != '\0' && *p != '\n'; p++)
				*p = ' ';
			if (*p == '\0')
				break;
			line++;
		} else if (*p == '/' && p[1] == '*') {
			open_line = line;
			*p++ = ' ';
			*p = ' ';
			for (p++; *p != '\0' && !(*p == '*' && p[1] == '/'); p++) {
				if (*p == '\n')
					line++;
				else
					*p = ' ';
			}
			if (*p == '\0') {
				confread_error("%s:%d: comment not closed (\"*/\" "
				    "missing)", file, open_line);
				return -1;
			}
			*p++ = ' ';
			*p = ' ';
		} else if (*p == '{') {
			if (depth < (int)(sizeof(brace_line) / sizeof(brace_line[0])))
				brace_line[depth] = line;
			depth++;
		} else if (*p == '}') {
			if (depth == 0) {
				confread_error("%s:%d: \"}\" without a \"{\"", file, line);
				return -1;
			}
			depth--;
		}
	}
	if (quote) {
		confread_error("%s:%d: string not closed", file, quote_line);
		return -1;
	}
	if (depth > 0) {
		int at = depth <= (int)(sizeof(brace_line) / sizeof(brace_line[0])) ?
		    brace_line[depth - 1] : line;

		confread_error("%s:%d: \"{\" not closed (\"}\" missing)", file, at);
		return -1;
	}
	return 0;
}

/* The whole file as a NUL-terminated string, or NULL with errno set. */
static char *
read_file(const char *file)
{
	FILE *f = fopen(file, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb;

			if (cap > CONFREAD_MAX || (nb = realloc(buf, cap + 65536)) == NULL) {
				free(buf);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		free(buf);
		errno = EINVAL;
		return NULL;
	}
	return buf;
}

int
confread_parse(cfg_t *cfg, const char *file, int missing_ok)
{
	char *text;
	int rc;

	if ((text = read_file(file)) == NULL) {
		if (missing_ok && errno == ENOENT)
			rc = cfg_parse_buf(cfg, "");	/* all defaults */
		else {
			confread_error("%s: cannot read: %s", file,
			    strerror(errno));
			return -1;
		}
	} else {
		if (prescan(text, file) == -1) {
			free(text);
			return -1;
		}
		rc = cfg_parse_buf(cfg, text);
		free(text);
	}
	if (rc != CFG_SUCCESS) {
		confread_error("%s: parse error", file);	/* set already, normally */
		return -1;
	}
	return 0;
}

int
confread_addresses(cfg_t *sec, cfg_opt_t *opt)
{
	unsigned char buf[sizeof(struct in6_addr)];
	const char *v;

	for (unsigned int i = 0; i < cfg_opt_size(opt); i++) {
		v = cfg_opt_getnstr(opt, i);
		if (v == NULL || (inet_pton(AF_INET, v, buf) != 1 &&
		    inet_pton(AF_INET6, v, buf) != 1)) {
			confread_error("%s:%d: %s \"%s\" is not an IPv4 or "
			    "IPv6 address", confread_file(), sec->line,
			    opt->name, v ? v : "");
			return -1;
		}
	}
	return 0;
}
