/*
 * supervisor.h - the parent process of gigavaultd: forks the children
 * named in its child table, watches them, and reacts to signals.
 *
 * The supervisor never opens the catalog and never reads a client's
 * bytes: it only speaks imsg with its children over socketpairs.
 */
#ifndef GV_SUPERVISOR_H
#define GV_SUPERVISOR_H

#include <stdint.h>

struct gv_config;
struct listen_set;

/*
 * Run until SIGTERM/SIGINT and the drain that follows.  Takes ownership
 * of cfg and of the sockets in ls.  verbose forces debug logging across
 * reloads; foreground says where logs go when Log.File is "".
 * Returns the process exit status (0 after a clean stop).
 */
int	supervisor_run(struct gv_config *cfg, struct listen_set *ls,
	    const uint8_t *server_id, int verbose, int foreground);

/*
 * Set up logging from cfg (file, syslog or stderr); when running as root
 * give the log file to Server.User so children can reopen it.
 * Returns 0, or -1 with errno set when the file cannot be opened.
 */
int	supervisor_log_setup(const struct gv_config *cfg, int verbose,
	    int foreground);

#endif
