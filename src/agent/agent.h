/*
 * agent.h - gigavault-agent's event loop (agent.c): it exports nothing
 * but agent_main(), as the server's loops do.
 */
#ifndef GV_AGENT_H
#define GV_AGENT_H

struct agent_opts {
	const char	*conffile;	/* -c FILE, or NULL: the default */
	int		 foreground;	/* -d: no daemon, log to stderr */
	int		 verbose;	/* -v: debug lines */
	/*
	 * Called once agent_main() has its StateDir and UI port, before
	 * its loop runs (NULL: none); -1 from it: agent_main() returns 1.
	 */
	int		(*ready)(void *);
	void		*ready_arg;
};

/*
 * Check the configuration (client.conf with its Agent section and
 * jobs, the PassphraseFile and UITokenFile modes), print what is wrong
 * on stderr.  0 when it is fine, else -1.
 */
int	agent_check(const struct agent_opts *);
/*
 * Run the agent until SIGTERM or SIGINT: jobs, polls, the UI port,
 * discovery.  Returns the exit status: 0 after a clean stop, 1 when it
 * could not start (said on stderr or in the log).
 */
int	agent_main(const struct agent_opts *);

#endif
