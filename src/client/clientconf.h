/*
 * clientconf.h - the gigavault client's configuration file (client.conf):
 * its schema, defaults and validation.  gigavault(1) documents every
 * option.
 *
 * The default file is $XDG_CONFIG_HOME/gigavault/client.conf (else
 * ~/.config/gigavault/client.conf), or /etc/gigavault/client.conf for
 * root; a missing default file means all defaults.  A file named with -c
 * must exist.  KeyFile and StateFile default to "key" and "state.json"
 * in the directory of the configuration file.
 */
#ifndef GV_CLIENTCONF_H
#define GV_CLIENTCONF_H

#include <stddef.h>
#include <stdint.h>

#define CLIENTCONF_ZMAX		19	/* highest Compression level */
#define CLIENTCONF_THREADS_MAX	256
#define CLIENTCONF_DELAY_MAX	(7 * 86400)	/* RandomizedDelay... */
#define CLIENTCONF_RETRIES_MAX	100
#define CLIENTCONF_TIMEOUT_MAX	86400		/* CommandTimeout */
#define CLIENTCONF_POLL_MAX	86400		/* PollInterval */
#define CLIENTCONF_COMMAND_MAX	4096	/* bytes of a Pre/PostCommand */

/*
 * A BackupSet NAME { ... } section: what "gigavault backup --set NAME"
 * saves when no PATH is given, and the excludes it always adds.  Every
 * string is the config's own copy; paths and patterns were checked when
 * the file was read (Paths absolute, patterns valid, ExcludeIfPresent a
 * plain name), ExcludeFile made absolute (relative to the config's
 * directory) but not opened.
 */
struct clientconf_set {
	char	 *name;			/* its title, a valid set name */
	char	**paths;		/* Paths */
	size_t	  npaths;
	char	**exclude;		/* Exclude: patterns */
	size_t	  nexclude;
	char	**exclude_file;		/* ExcludeFile: pattern files */
	size_t	  nexclude_file;
	char	**if_present;		/* ExcludeIfPresent: names */
	size_t	  nif_present;
	int	  exclude_caches;	/* ExcludeCaches */
	int	  one_fs;		/* OneFileSystem */

	/*
	 * The set as a job of gigavault-agent(8): it is one when schedule
	 * is not "" (checked with schedule_parse() when the file was read).
	 */
	char	 *schedule;		/* Schedule, "" = no job */
	int	  randomized_delay;	/* RandomizedDelay, seconds */
	int	  retries;		/* Retries */
	int	  retry_delay;		/* RetryDelay, s, doubled each */
	uint64_t  limit_up;		/* LimitUpload, bytes/s, 0 = none */
	uint64_t  limit_down;		/* LimitDownload */
	char	 *pre_command;		/* PreCommand, "" = none */
	char	 *post_command;		/* PostCommand, "" = none */
	int	  command_timeout;	/* CommandTimeout, seconds */
	int	  pre_continue;		/* PreCommandFailure continue */
	int	  persistent;		/* Persistent */

	/* Type = mail (doc/mail.md): the mailboxes of the mail helper. */
	int	  mail;			/* Type: 0 files, 1 mail */
	char	**mail_users;		/* MailUsers: none = all */
	size_t	  nmail_users;
	char	**mail_folders;		/* MailFolders: fnmatch(3) patterns
					   of mailbox names; none = all */
	size_t	  nmail_folders;
};

/*
 * The Agent section, read by gigavault-agent(8) only.  Strings are the
 * config's own copies; paths were made absolute (relative to the
 * config's directory), state_dir resolved to its default.
 */
struct clientconf_agent {
	char	**ui_listen;		/* UIListen: addresses */
	size_t	  nui_listen;
	int	  ui_listen_default;	/* UIListen not set: the default */
	char	 *token_file;		/* UITokenFile, "" = none */
	char	 *passfile;		/* PassphraseFile, "" = none */
	char	 *state_dir;		/* StateDir */
	int	  poll;			/* PollInterval, seconds */
	int	  discovery;		/* Discovery */
	int	  answer_probes;	/* AnswerProbes: UDP scans on 32006 */
	char	 *name;			/* Name, "": the host name */
	int	  allow_browse;		/* AllowBrowse: the server may list */
	int	  allow_restore;	/* AllowRestore: CLIENTCONF_RESTORE_* */
};

/*
 * Agent.AllowRestore: which restores the server (its administrators)
 * may ask the agent for: none; only into a new or empty directory; or
 * also to the original place, with or without overwrite.
 */
#define CLIENTCONF_RESTORE_NONE		0
#define CLIENTCONF_RESTORE_TARGET	1
#define CLIENTCONF_RESTORE_ALL		2

struct clientconf {
	char	*file;		/* the file read, or the default that was absent */
	char	*dir;		/* its directory */
	char	*server;	/* Server: "host[:port]", "" = not set */
	char	*keyfile;	/* KeyFile */
	char	*statefile;	/* StateFile */
	int	 compression;	/* Compression: zstd level, 0 = none */
	int	 threads;	/* Threads, 0 resolved to the number of CPUs */
	char	*set;		/* Set */
	int	 strict;	/* StrictRollback: as --strict */
	int	 port_backup;	/* Ports.BackupServer */
	int	 port_ssl;	/* Ports.SSLServer */
	int	 port_ui;	/* Ports.UI: the server's UI bridge (status) */
	int	 port_mapi;	/* Ports.MAPI32Bit: the mailbox helper */
	char	*mail_host;	/* Mail.Host: where the mail helper listens */
	char	*mail_secret;	/* Mail.SecretFile, absolute */
	int	 ssl;		/* SSL.Enabled */
	char	*cafile;	/* SSL.CAFile, "" = pin the server's key */
	char	*ssl_cert;	/* SSL.Certificate: ours, when issued */
	char	*ssl_key;	/* SSL.Key */
	struct clientconf_set *sets;	/* BackupSet sections */
	size_t	 nsets;
	struct clientconf_agent agent;	/* Agent section */
};

/*
 * Load file (NULL: the default location).  Returns a config (free with
 * clientconf_free()), or NULL with "FILE:LINE: message" (or "FILE:
 * message") in err.
 */
struct clientconf *clientconf_load(const char *file, char *err,
	    size_t errlen);
void	clientconf_free(struct clientconf *);

/* The BackupSet section called name, or NULL when there is none. */
const struct clientconf_set *clientconf_set(const struct clientconf *,
	    const char *name);

/* 1 when s is a valid set name: 1..64 bytes of A-Za-z0-9._- */
int	clientconf_valid_set(const char *s);

/*
 * A rate in bytes per second into *v, as human_parse_bytes() reads it
 * (--limit-upload's grammar: "512K", "10M", "10MiB", K = 1024).  0, or
 * -1 when s is not one or overflows.
 */
int	clientconf_parse_rate(const char *s, uint64_t *v);

/*
 * Split "host", "host:port", "[v6addr]", "[v6addr]:port" or a bare IPv6
 * address into host (NUL-terminated) and port (0 when s names none: the
 * caller's default, Ports.BackupServer or Ports.SSLServer).
 * Returns 0, or -1 when s is empty, too long or has a bad port.
 */
int	clientconf_parse_server(const char *s, char *host, size_t hostlen,
	    int *port);

#endif
