/*
 * mhconf.h - mailhelper.conf (gigavault-mailhelper(8)): its options,
 * defaults and checks, read with libconfuse through common/confread.c.
 */
#ifndef GV_MHCONF_H
#define GV_MHCONF_H

#include <stddef.h>
#include <stdint.h>

#define MHCONF_USERS_MAX	100000	/* users a list may name */
#define MHCONF_CONN_MAX		1024	/* Helper.MaxConnections */
#define MHCONF_TIMEOUT_MAX	86400	/* seconds */

struct mhconf {
	char	 *file;		/* the file read */
	int	  port;		/* Ports.MAPI32Bit */
	char	**listen;	/* Helper.Listen: numeric addresses */
	size_t	  nlisten;
	char	 *secret_file;	/* Helper.SecretFile */
	char	 *user;		/* Helper.User, "" = stay who we are */
	int	  max_conn;	/* Helper.MaxConnections */
	int	  idle_timeout;	/* Helper.IdleTimeout, seconds */
	uint32_t  max_message;	/* Helper.MaxMessageSize, bytes */
	char	 *imap_host;	/* IMAP.Host */
	int	  imap_port;	/* IMAP.Port */
	int	  security;	/* IMAP.Security: enum imap_security */
	char	 *cafile;	/* IMAP.CAFile, "" = none */
	char	 *master_user;	/* IMAP.MasterUser */
	char	 *master_pwfile;	/* IMAP.MasterPasswordFile */
	char	 *separator;	/* IMAP.MasterSeparator */
	char	**users;	/* IMAP.Users */
	size_t	  nusers;
	char	 *user_cmd;	/* IMAP.UserListCommand, "" = none */
	int	  imap_timeout;	/* IMAP.Timeout, seconds */
};

/*
 * Load file (NULL: GV_MAILHELPERCONF).  A config (free with
 * mhconf_free()), or NULL with "FILE:LINE: message" in err: syntax, an
 * unknown option, a value out of range, and unless syntax_only is set
 * (-k needs only Helper.SecretFile): no MasterUser or
 * MasterPasswordFile, neither Users nor UserListCommand (or both), TLS
 * without CAFile.
 */
struct mhconf *mhconf_load(const char *file, int syntax_only, char *err,
	    size_t errlen);
void	mhconf_free(struct mhconf *);

/*
 * The master password: the first line of c->master_pwfile, into pw
 * (pwlen bytes).  0, or -1 with err (missing, empty, too long).
 */
int	mhconf_master_password(const struct mhconf *c, char *pw, size_t pwlen,
	    char *err, size_t errlen);

#endif
