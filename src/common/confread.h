/*
 * confread.h - reading a libconfuse file so that every error names the
 * file and the right line.  Shared by gigavault.conf (config.c) and the
 * client's client.conf (client/clientconf.c).
 *
 * One parse at a time per process (the error sink is static): call
 * confread_begin(), give libconfuse confread_errfunc(), report your own
 * checks with confread_error(), then confread_parse().
 */
#ifndef GV_CONFREAD_H
#define GV_CONFREAD_H

#include <stdarg.h>
#include <stddef.h>

#include <confuse.h>

#define CONFREAD_MAX	(1u << 20)	/* bytes of a config file */

/* Start a parse of file; the first error goes to err (errlen bytes). */
void	confread_begin(const char *file, char *err, size_t errlen);
/* The file of the parse under way. */
const char *confread_file(void);
/* Record an error (printf-like); only the first one is kept. */
void	confread_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* For cfg_set_error_function(): "FILE:LINE: message". */
void	confread_errfunc(cfg_t *cfg, const char *fmt, va_list ap);
/* Nonzero once an error was recorded. */
int	confread_failed(void);

/*
 * Read file (at most CONFREAD_MAX bytes), check that its comments,
 * strings and braces are closed, and parse it into cfg.  When missing_ok
 * is set a file that does not exist parses as empty (all defaults).
 * Returns 0, or -1 with the error recorded.
 */
int	confread_parse(cfg_t *cfg, const char *file, int missing_ok);

/*
 * A libconfuse validation callback for a list of numeric IPv4 or IPv6
 * addresses (a Listen option): each value must parse with inet_pton();
 * the first that does not is reported through confread_error() as
 * "FILE:LINE: OPTION "VALUE" is not an IPv4 or IPv6 address".  0 or -1.
 */
int	confread_addresses(cfg_t *sec, cfg_opt_t *opt);

#endif
