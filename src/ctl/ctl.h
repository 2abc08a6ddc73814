/*
 * ctl.h - what the gigavaultctl commands share: the parsed command line
 * and the catalog (struct ctl), option lookup, JSON output and times
 * (ctl.c).  A command is a function int cmd_X(struct ctl *) in
 * gigavaultctl.c's table; it returns the exit status (0, EXIT_RUNTIME,
 * EXIT_USAGE) after printing its own errors as "gigavaultctl: message".
 */
#ifndef GV_CTL_H
#define GV_CTL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2
#define MAX_OPTS	16

struct gv_config;
struct catalog;

struct ctl {
	const struct gv_config *cfg;
	struct catalog	*cat;		/* NULL for commands that need none */
	int		 json;
	int		 bytes;		/* --bytes: sizes as plain numbers */
	char		**argv;		/* the command's operands */
	int		 argc;
	struct {
		const char *name;	/* "--dry-run", "--rate", ... */
		const char *value;	/* NULL for a flag */
	}		 opt[MAX_OPTS];
	int		 nopt;
};

/* The value of option name, or NULL; a flag's value is "". */
const char *opt_get(const struct ctl *, const char *name);
/* Parse a number 0..max into *v (0 when absent).  0, or EXIT_USAGE
 * after a message. */
int	opt_number(const struct ctl *, const char *name,
	    unsigned long long max, unsigned long long *v);
/*
 * Print j as one JSON document on stdout; takes the reference.  0, or
 * EXIT_RUNTIME after a message (j NULL: out of memory; or stdout failed).
 */
int	print_json(json_t *j);
/*
 * A size of n bytes for a table, into buf (len bytes, 16 are enough):
 * with --bytes the number, else in binary units with one decimal
 * ("512 B", "1.5 KiB", "20.0 GiB").  Returns buf.
 */
const char *fmt_size(const struct ctl *, uint64_t n, char *buf, size_t len);
/* t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into buf; the number when it cannot. */
void	fmt_utc(uint64_t t, char *buf, size_t len);

/*
 * The housekeeping lock (DataDir/prune.lock, server/prune.h), waiting
 * for it after saying so: the fd holding it (close it to give it back),
 * or -1 after a message.
 */
int	lock_housekeeping(struct ctl *);

/* jobcmd.c */
int	cmd_clients(struct ctl *);
int	cmd_client_backup(struct ctl *);
int	cmd_client_history(struct ctl *);

/* admincmd.c */
int	cmd_admin_add(struct ctl *);
int	cmd_admin_passwd(struct ctl *);
int	cmd_admin_remove(struct ctl *);
int	cmd_admin_role(struct ctl *);
int	cmd_admin_totp(struct ctl *);
int	cmd_admin_list(struct ctl *);

/* rebuildcmd.c */
int	cmd_rebuild_catalog(struct ctl *);
int	cmd_upgrade(struct ctl *);

/* statuscmd.c */
int	cmd_status(struct ctl *);

/* synccmd.c */
int	cmd_sync(struct ctl *);

/* historycmd.c */
int	cmd_history(struct ctl *);
/*
 * Record a run of gigavaultctl's prune or scrub (kind: enum
 * cat_history_kind) started at start (Unix seconds) in the catalog's
 * history, with who ran it; result is "ok", "failed", "interrupted"
 * (anything else counts as failed).  A failure is only said on stderr.
 */
void	ctl_history_record(struct ctl *, int kind, uint64_t start,
	    const char *result, const char *text);

/* tlscmd.c */
int	cmd_tls_init(struct ctl *);
int	cmd_tls_show(struct ctl *);

#endif
