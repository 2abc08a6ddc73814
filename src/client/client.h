/*
 * client.h - what every gigavault command shares: the command-line
 * state (struct client), the options every command accepts, and the
 * steps most commands take (load the config, unlock the keys, open an
 * authenticated session, find a snapshot, fetch a tree).
 *
 * Command calling convention (the table in gigavault.c):
 *
 *	int cmd_NAME(struct client *c, int argc, char **argv);
 *
 * argv[0] is the command's name and argv[1..argc-1] its words, unparsed;
 * options given before the command (gigavault -v -c FILE backup ...) are
 * already in c, and c->usage is the command's usage line from the table
 * (client_usage() prints it).  main() resets getopt (optind = 0) before
 * the call, so a command parses its own options with getopt_long() and
 * passes any option it does not know to client_opt() first (so "-v",
 * "-c FILE", "-s HOST[:PORT]", "--set NAME", "--passphrase-file FILE",
 * "--json", "--limit-upload RATE" and "--limit-download RATE" work after
 * the command name too).  Then it calls
 * client_setup() (config), and client_keys() and client_session() when
 * it needs them; each prints its own error.
 * A command returns the exit status: 0 ok, 1 partial (some files were
 * skipped and named on stderr), 2 error.  Errors go to stderr as
 * "gigavault: message" (warnx()).
 */
#ifndef GV_CLIENT_H
#define GV_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/tls.h"
#include "blob.h"
#include "clientconf.h"
#include "remote.h"
#include "state.h"
#include "tree.h"

#define EXIT_PARTIAL	1
#define EXIT_ERROR	2

/* Largest decompressed blobs we accept from the server. */
#define CLIENT_TREE_MAX		(128u * 1024 * 1024)
#define CLIENT_META_MAX		(1u * 1024 * 1024)

/* Long options shared by every command (values of getopt_long). */
enum client_optval {
	OPT_PASSFILE = 256,
	OPT_JSON,
	OPT_SET,
	OPT_TOKEN,
	OPT_SSL,
	OPT_STRICT,		/* CLIENT_STRICT_OPT */
	OPT_LIMIT_UP,
	OPT_LIMIT_DOWN,
	OPT_CMD_FIRST = 300,	/* a command's own long options from here */
};
#define CLIENT_SHORTOPTS	"c:s:v"
#define CLIENT_LONGOPTS \
	{ "config", required_argument, NULL, 'c' }, \
	{ "server", required_argument, NULL, 's' }, \
	{ "set", required_argument, NULL, OPT_SET }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "passphrase-file", required_argument, NULL, OPT_PASSFILE }, \
	{ "json", no_argument, NULL, OPT_JSON }, \
	{ "ssl", no_argument, NULL, OPT_SSL }, \
	{ "limit-upload", required_argument, NULL, OPT_LIMIT_UP }, \
	{ "limit-download", required_argument, NULL, OPT_LIMIT_DOWN }

/*
 * --strict, in the options of the commands that check for a rollback
 * (backup, snapshots, restore): client_opt() sets c->strict.
 */
#define CLIENT_STRICT_OPT \
	{ "strict", no_argument, NULL, OPT_STRICT }

struct client {
	/* From the command line. */
	const char	*usage;		/* the command's usage line */
	const char	*conffile;	/* -c FILE; NULL: the default file */
	const char	*passfile;	/* --passphrase-file FILE, or NULL */
	const char	*server;	/* -s HOST[:PORT], or NULL */
	const char	*set;		/* --set NAME; NULL: Set from config */
	int		 verbose;	/* -v (count) */
	int		 json;		/* --json */
	int		 ssl;		/* --ssl, or SSL.Enabled (setup) */
	int		 strict;	/* --strict or StrictRollback (setup): a
					   rollback warning refuses */
	int		 tty;		/* stderr is a terminal (progress) */

	/* client_setup() */
	struct clientconf *conf;
	/* client_keys() */
	struct keys	 keys;
	int		 have_keys;
	/* client_session(): an authenticated session */
	struct client_state state;
	struct remote	*remote;
	struct tls_ctx	*tls_ctx;	/* client_tls(), shared by sessions */

	/*
	 * --limit-upload, --limit-download (or a job's LimitUpload and
	 * LimitDownload in the agent): bytes per second over all of this
	 * process's sessions, 0 for no limit.
	 */
	uint64_t	 limit_up;
	uint64_t	 limit_down;
	/* Their token buckets (ratelimit.h), made by the first session. */
	struct ratelimit *pace_up;
	struct ratelimit *pace_down;
	/* NULL, or where cmd_backup() tells what it did (the agent). */
	struct client_result *result;
};

/*
 * What one cmd_backup() did, for a caller that does not read its output
 * (the agent): filled in when c->result is not NULL, also when it fails
 * (then with what was done up to the failure, saved 0).
 */
struct client_result {
	int		 saved;		/* a snapshot was saved */
	uint64_t	 snapid;	/* its id, when saved */
	uint64_t	 files;		/* regular files in it */
	uint64_t	 dirs;
	uint64_t	 bytes;		/* their size */
	uint64_t	 read_bytes;	/* read from the disk */
	uint64_t	 sent_bytes;	/* sent to the server in new blobs */
	uint64_t	 new_blobs;
	uint64_t	 problems;	/* paths named as not (fully) saved */
};

/*
 * Handle an option every command shares (ch from getopt_long with
 * CLIENT_SHORTOPTS / CLIENT_LONGOPTS).  Returns 1 when it was one, 0
 * when it was not, or when its value is bad (a RATE that
 * human_parse_bytes() refuses: then after printing why).
 */
int	client_opt(struct client *, int ch, const char *arg);
/* Print "usage: gigavault <c->usage>" on stderr; returns EXIT_ERROR. */
int	client_usage(const struct client *);

/* Load the config (once).  Returns 0, or -1 after printing the error. */
int	client_setup(struct client *);
/* The set in effect: --set, else Set from the config. */
const char *client_set(const struct client *);
/*
 * Get the passphrase: --passphrase-file (its first line), else
 * $GIGAVAULT_PASSPHRASE, else asked on the terminal with echo off
 * (twice when confirm is set).  *pass is malloc'ed; wipe and free it.
 */
int	client_passphrase(struct client *, int confirm, char **pass,
	    size_t *len);
/* Unlock the key file into c->keys.  0, or -1 after printing. */
int	client_keys(struct client *);
/*
 * Read the state file, connect (to -s, Server, or the registered
 * server), check the server id and authenticate.  0, or -1 after
 * printing.
 */
int	client_session(struct client *);
/*
 * Another authenticated session to the same server, for work in
 * parallel (after client_session() succeeded).  NULL with err set.
 */
struct remote *client_more_session(struct client *, char *err,
	    size_t errlen);
/*
 * Where sessions go: host and port of addr (the port from addr, else
 * Ports.SSLServer with SSL on, else Ports.BackupServer).  0, or -1 with
 * err set.
 */
int	client_address(struct client *, const char *addr, char *host,
	    size_t hostlen, int *port, char *err, size_t errlen);
/*
 * With SSL on (--ssl or SSL.Enabled): fill *t for remote_connect*() with
 * the TLS context (made once) and pin (NULL: take any key, for register
 * and pin).  With SSL off, t->ctx is NULL.  0, or -1 with err set.
 */
int	client_tls(struct client *, const uint8_t *pin, struct remote_tls *t,
	    char *err, size_t errlen);
/* Close the session (BYE) if one is open, wipe the keys, free. */
void	client_done(struct client *);

/*
 * The snapshot id that spec names (a decimal number from 1) into *id.
 * 0, or -1 after printing "SPEC" is not a snapshot id nor "latest".
 */
int	client_snapshot_id(const char *spec, uint64_t *id);
/*
 * Resolve spec (a decimal snapshot id, or "latest": the newest of set,
 * or of every set when set is NULL) over the session.  0, or -1 after
 * printing.
 */
int	client_snapshot(struct client *, const char *spec, const char *set,
	    struct snapinfo *out);
/*
 * Fetch, open, decode and check the directory id, all its pages (nodes
 * as stored: see tree_load()).  t is empty on failure.  Same returns.
 */
int	client_tree(struct client *, const uint8_t *id, struct tree *,
	    char *err, size_t errlen);
/*
 * A tree_src (tree.h) reading tree blobs over session r with keys k:
 * src->arg points at rk, which must outlive src.  ahead: NULL, or what
 * client_prefetch() fetched.
 */
struct client_ahead;
struct client_rk {
	struct remote		*r;
	const struct keys	*k;
	struct client_ahead	*ahead;
};
void	client_tree_src(struct client_rk *rk, struct tree_src *src);
/*
 * GET tree blobs ids[0..n) now, in one batch (their sealed bytes kept in
 * rk beside those fetched ahead and not read yet), so that reading them
 * through rk's tree_src costs no round trip each.  An id is asked for
 * once: not again when it repeats in ids or is held already.  0, or -1
 * with err set when the session failed.
 */
int	client_prefetch(struct client_rk *rk,
	    const uint8_t (*ids)[BLOB_ID_LEN], size_t n, char *err,
	    size_t errlen);
/* Free what rk fetched ahead. */
void	client_rk_free(struct client_rk *rk);
/*
 * Fetch the meta blob id over c's session and open it (authenticated,
 * decrypted, checked against id, at most CLIENT_META_MAX bytes): *body
 * is malloc'ed (the caller frees it), *len its length.  Returns 0; 1
 * with err set when the server has no such blob (*missing set) or it
 * does not open (damaged, not ours, not a meta blob); -1 with err set
 * when the session failed (it is then unusable).
 */
int	client_meta(struct client *, const uint8_t *id, uint8_t **body,
	    size_t *len, int *missing, char *err, size_t errlen);
/*
 * Look name up in directory id over rk, reading its index and only the
 * page that can hold name: *page gets that page (initialized by the
 * call; the caller frees it), *nd the node in it, or NULL when name is
 * not there (nodes as stored).  Returns 0; 1 or -1 as client_tree().
 */
int	client_tree_find(struct client_rk *rk, const uint8_t *id,
	    const char *name, struct tree *page, struct node **nd, char *err,
	    size_t errlen);
/*
 * Walk the normalized path (client_path_norm(): "/a/b", "" for the
 * root itself) down from directory root over rk, one page per
 * component.  *nd gets the node at path in *page (the caller frees
 * *page when *nd is not NULL), or NULL when path is not there (*page
 * then needs no freeing; for the root itself too: it has no node).
 * *stop gets the length of path's prefix that was looked at: all of it
 * when found, else up to the missing component, or (*notdir set) up to
 * a non-directory that the rest of path would be below.  Returns 0; 1 or
 * -1 (err set) as client_tree().
 */
int	client_tree_path(struct client_rk *rk, const uint8_t *root,
	    const char *path, struct tree *page, struct node **nd,
	    size_t *stop, int *notdir, char *err, size_t errlen);

/*
 * Paths in a snapshot.  client_path_norm(): p as "/a/b", its empty and
 * "." components dropped ("" for the root); malloc'ed (the caller frees
 * it), NULL when memory runs out.  client_path_join(): "dir/name",
 * malloc'ed, NULL when memory runs out.  client_path_under(): 0 when
 * path is dir, 1 when it is below dir (both normalized; every path but
 * "" is below the root ""), -1 when neither.
 */
char	*client_path_norm(const char *p);
char	*client_path_join(const char *dir, const char *name);
int	 client_path_under(const char *path, const char *dir);

/*
 * Write s to f with bytes that are not printable ASCII or UTF-8 text
 * (control characters, escape sequences) shown as \ooo, and backslash
 * as \\, so that hostile names cannot drive the terminal.
 */
void	client_putsafe(FILE *, const char *s);

/* A JSON string for bytes that may not be UTF-8 (bad bytes become '?'),
 * or NULL when memory runs out. */
struct json_t;
struct json_t *client_jstr(const char *s);
/* strftime(fmt) of local time t into buf; the number when that fails. */
void	client_fmt_time(int64_t t, const char *fmt, char *buf, size_t len);
/*
 * Print o as the next element of a JSON array streamed on stdout, one
 * line each: "[" before the first (*first set, then cleared), "," between;
 * o is freed.  client_json_end() closes the array ("[]" when empty).
 * 0, or -1 when o is NULL or memory runs out.
 */
int	client_json_item(struct json_t *o, int *first);
void	client_json_end(int first);
/*
 * n bytes (or bytes a second) for a person into buf: "512 B", "1.5 MiB";
 * common/human.h's human_bytes(), which gigavaultctl uses too.
 */
void	client_fmt_bytes(double n, char *buf, size_t len);
/*
 * The name of a node type (enum node_type) in listings and JSON: "file",
 * "dir", "symlink", "fifo", "chr", "blk", "sock"; "unknown" for others.
 */
const char *client_type_name(uint8_t type);

/*
 * A progress line on stderr (backup, restore): on a terminal one line
 * redrawn in place at most every 0.25 s, else (a log) one line every
 * 10 s.  client_progress_start() begins the clock; on says whether to
 * show anything at all, tty whether stderr is a terminal.
 */
struct client_progress {
	int		 on;		/* show at all */
	int		 tty;		/* redraw one line; else print lines */
	int64_t		 start;		/* mono_ms() at the start */
	double		 last;		/* seconds since start, last shown */
};
void	client_progress_start(struct client_progress *, int on, int tty);
/* Seconds since the start. */
double	client_progress_elapsed(const struct client_progress *);
/*
 * 1 when a line is due now (on, and final or the interval passed): the
 * caller prints it with client_progress_print(); else 0.
 */
int	client_progress_due(struct client_progress *, int final);
/*
 * Print a progress line (printf format, no newline: the call ends it,
 * or leaves it open on a terminal unless final).
 */
void	client_progress_print(const struct client_progress *, int final,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * What to print first on stderr before another line there while a
 * progress line may be open on the terminal ("\r" and erase line), or "".
 */
const char *client_progress_clear(const struct client_progress *);

/* The commands (gigavault.c's table). */
int	cmd_init(struct client *, int, char **);
int	cmd_register(struct client *, int, char **);
int	cmd_pin(struct client *, int, char **);
int	cmd_backup(struct client *, int, char **);
int	cmd_snapshots(struct client *, int, char **);
int	cmd_ls(struct client *, int, char **);
int	cmd_restore(struct client *, int, char **);
int	cmd_forget(struct client *, int, char **);
int	cmd_verify(struct client *, int, char **);
int	cmd_mount(struct client *, int, char **);	/* mount.c */
int	cmd_discover(struct client *, int, char **);
int	cmd_status(struct client *, int, char **);
int	cmd_diff(struct client *, int, char **);
int	cmd_find(struct client *, int, char **);
int	cmd_agent(struct client *, int, char **);	/* agentcmd.c */
int	cmd_mail(struct client *, int, char **);	/* mailcmd.c */

/* Where and how long to look for peers (finder.c). */
#define DISC_UI		"127.0.0.1:32005"	/* the local daemon's bridge */
#define DISC_UI_PORT	32005		/* its port when --ui names none */
#define DISC_GROUP	"239.255.63.63"		/* Discovery.Group */
#define DISC_PORT	6364			/* Ports.Multicast[1] */
#define DISC_WAIT_S	2
struct disc_opts {
	const char	*ui;		/* the daemon to ask */
	const char	*group;		/* --direct: multicast group */
	int		 port;		/* --direct: query port */
	double		 wait;		/* seconds */
	int		 direct;	/* our own multicast query */
};
/*
 * The peers found, as a JSON array of objects shaped like the bridge's
 * "peers" entries (the asked daemon first, source "self"), or NULL with
 * err set.
 */
struct json_t *client_find_peers(const struct disc_opts *, char *err,
	    size_t errlen);
/*
 * One request to the UI bridge at hostport ("host", "host:port",
 * "[v6addr]:port"; host names are resolved and each address tried;
 * default_port when it names none): send request_line (a newline is
 * added), read the first line back, all within wait_s seconds.  The
 * reply parsed, a JSON object (it may be {"error":...}: the caller
 * checks its shape), or NULL with err set: "no UI bridge answers on
 * HOST:PORT: reason", "HOST:PORT: no answer (timed out)", ...
 */
struct json_t *bridge_request(const char *hostport, int default_port,
	    const char *request_line, double wait_s, char *err,
	    size_t errlen);
/* One line about peer p: name, id, address, ports, roles, source. */
void	client_print_peer(FILE *, struct json_t *p);

/*
 * -s auto: set c->server to the backup server that discovery finds (the
 * local daemon's peers, else a multicast query); when registered, only
 * the server with the registered id.  Several: asked on a terminal, else
 * an error that lists them.  0, or -1 after printing.
 */
int	client_auto_server(struct client *);

#endif
