/*
 * child.c - what every child does with its supervisor pipe (read what
 * the supervisor sends, send it messages), the last step of its setup
 * (no new privileges, not dumpable), and the SIGTERM catch of the
 * children that wait in ppoll().  See child.h.
 */
#include "autoconf.h"

#include <sys/prctl.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "imsg.h"
#include "log.h"

void
child_restrict(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("%s: PR_SET_NO_NEW_PRIVS", __func__);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("%s: PR_SET_DUMPABLE", __func__);
}

void
child_read_ctl(struct child_env *env, void (*stop)(void),
    void (*other)(int type, const union imsg_body *))
{
	static struct imsg m;
	static union imsg_body body;
	char err[128];

	while (env->ctl_fd != -1) {
		int rc = imsg_recv(env->ctl_fd, &m);

		if (rc == 0) {		/* supervisor gone: finish and exit */
			close(env->ctl_fd);
			env->ctl_fd = -1;
			stop();
			return;
		}
		if (rc == -1) {
			if (errno != EAGAIN)
				log_warn("%s: supervisor pipe", __func__);
			return;
		}
		if (imsg_to_child(env->kind, &m, &body, err, sizeof(err)) == -1)
			log_warnx("%s: %s", __func__, err);
		else if (m.type == IMSG_SHUTDOWN)
			stop();
		else if (m.type == IMSG_LOG_REOPEN) {
			if (log_reopen() == -1)
				log_warn("%s: reopen log", __func__);
		} else
			other(m.type, &body);
	}
}

int
child_send(struct child_env *env, struct imsg *m)
{
	if (env->ctl_fd == -1)
		return -1;
	if (imsg_send(env->ctl_fd, m, 0) == -1) {
		log_warn("%s: send %s", __func__, imsg_name(m->type));
		return -1;
	}
	return 0;
}

volatile sig_atomic_t child_terminate;

static void
on_sigterm(int sig)
{
	(void)sig;
	child_terminate = 1;
}

void
child_catch_term(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigterm;	/* no SA_RESTART: ppoll() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
}
