/*
 * mhusers.h - the users the helper serves: IMAP cannot list them, so
 * they come from IMAP.Users or from the output of IMAP.UserListCommand
 * (for Dovecot: doveadm user '*'), run without a shell.
 */
#ifndef GV_MHUSERS_H
#define GV_MHUSERS_H

#include <stddef.h>

#include "mhconf.h"

#define MHUSERS_OUTPUT_MAX	(16u << 20)	/* bytes a command may print */

/*
 * The users: *out a malloc'ed array of *n malloc'ed names (free with
 * mw_strings_free()), NULL when none.  The command's words are split on
 * spaces (no quoting, no shell); each line it prints is a name (empty
 * lines skipped), at most MHCONF_USERS_MAX of them and
 * MHUSERS_OUTPUT_MAX bytes, within timeout seconds.  0, or -1 with err:
 * it cannot run, it exits non-zero (its first line of stderr is in err),
 * it prints too much, a name too long or with spaces, the time runs out.
 */
int	mhusers_list(const struct mhconf *c, int timeout, char ***out,
	    size_t *n, char *err, size_t errlen);

#endif
