/*
 * run.c - one run of a job in a forked child: PreCommand, the client's
 * backup, PostCommand; the outcome back over a pipe.  See run.h.
 *
 * The parent learns that the child ended from the end of the result
 * pipe (close-on-exec, so no command keeps it open), then reaps it with
 * waitpid() (it is exiting), so the agent needs no SIGCHLD handler.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"
#include "common/text.h"
#include "agentlog.h"
#include "lines.h"
#include "run.h"

#define RUN_KILL_AFTER_S	10	/* SIGKILL after a cancel's SIGTERM */
#define RUN_ERRLINE_MAX		REMOTE_JOB_ERROR_MAX
_Static_assert(LINES_MAX == RUN_ERRLINE_MAX + 1,
    "a line of a run's stderr is at most a report's error text");
#define RUN_MAGIC		0x67767275	/* "gvru" */
#define RUN_CMD_KILL_MS		2000	/* a command's SIGKILL after SIGTERM */
/*
 * The line the child writes on stderr before the PostCommand: what comes
 * after it is logged but never the run's error text.
 */
#define RUN_POST_MARK		"\001gigavault-agent: PostCommand\001"

/* What the child writes on the result pipe, once, at its end. */
struct run_wire {
	uint32_t		magic;
	int32_t			status;		/* cmd_backup()'s, or -1 */
	int32_t			pre_failed;	/* PreCommand aborted */
	struct client_result	res;
	char			error[REMOTE_JOB_ERROR_MAX + 1];
};

struct run {
	struct event_base *base;
	pid_t		 pid;
	char		 set[65];
	int		 rfd, efd;
	struct event	*rev, *eev, *killev;
	struct run_wire	 wire;
	size_t		 got;		/* bytes of wire read */
	struct lines	 errbuf;	/* stderr, being read */
	char		 last[RUN_ERRLINE_MAX + 1]; /* last whole line */
	int		 lines;		/* logged */
	int		 in_post;	/* RUN_POST_MARK seen */
	int		 cancelled;
	run_done_fn	 done;
	void		*arg;
};

/* ------------------------------------------------------------- child */

static volatile sig_atomic_t cmd_pgid;	/* a Pre/PostCommand running */
static volatile sig_atomic_t term_sig;	/* the signal that stops the run */

/*
 * SIGTERM (a cancel, the agent's stop), SIGINT or SIGHUP: with no
 * command running the run ends at once; with one, run_command() stops
 * the command's whole process group (SIGTERM, SIGKILL 2 s later),
 * reaps it, and then the run ends by the same signal.
 */
static void
child_term(int sig)
{
	if (cmd_pgid > 0) {
		term_sig = sig;
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* End the run by the signal that asked it to stop. */
static void
child_die(void)
{
	int sig = term_sig;

	signal(sig, SIG_DFL);
	raise(sig);
	_exit(1);
}

/*
 * Run cmd with /bin/sh -c in a process group of its own, GIGAVAULT_SET
 * and (when result is not NULL) GIGAVAULT_RESULT in its environment, for
 * at most timeout seconds.  0 when it exits 0, else -1 with why set.
 */
static int
run_command(const char *what, const char *cmd, const char *set,
    const char *result, int timeout, char *why, size_t whylen)
{
	int64_t deadline = mono_ms() + (int64_t)timeout * 1000;
	int st, killed = 0, stopping = 0;
	sigset_t block, old;
	pid_t pid, r;

	/* No stop signal between the fork and cmd_pgid set. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		snprintf(why, whylen, "%s: cannot fork: %s", what,
		    strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		/* The key's passphrase is the backup's, not the commands'. */
		unsetenv("GIGAVAULT_PASSPHRASE");
		setenv("GIGAVAULT_SET", set, 1);
		if (result != NULL)
			setenv("GIGAVAULT_RESULT", result, 1);
		else
			unsetenv("GIGAVAULT_RESULT");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		fprintf(stderr, "%s: /bin/sh: %s\n", what, strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	cmd_pgid = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r == -1 && errno != EINTR) {
			st = 0x7f00;
			break;
		}
		if (term_sig != 0 && !stopping) {
			/* The run is stopped: the command first. */
			stopping = 1;
			kill(-pid, SIGTERM);
			killed = 1;
			deadline = mono_ms() + RUN_CMD_KILL_MS;
		} else if (!killed && mono_ms() >= deadline) {
			kill(-pid, SIGTERM);
			killed = 1;
			deadline = mono_ms() + RUN_CMD_KILL_MS;
		} else if (killed == 1 && mono_ms() >= deadline) {
			kill(-pid, SIGKILL);
			killed = 2;
		}
		usleep(20000);
	}
	/* When stopped: what is left of its group (outliving the shell). */
	if (stopping)
		kill(-pid, SIGKILL);
	cmd_pgid = 0;
	if (term_sig != 0)
		child_die();
	if (killed) {
		snprintf(why, whylen, "%s timed out after %d s "
		    "(CommandTimeout)", what, timeout);
		return -1;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		snprintf(why, whylen, "%s failed with exit status %d", what,
		    WEXITSTATUS(st));
	else
		snprintf(why, whylen, "%s was killed by signal %d", what,
		    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return -1;
}

static void
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void __attribute__((noreturn))
child_main(const struct run_spec *sp, int wfd, int efd)
{
	char set[65], a0[] = "backup", a1[] = "--set", a3[] = "-q", *argv[5];
	static struct run_wire w;
	struct client c;
	const char *res;
	char why[512];
	int fd, st = -1;

	setsid();
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
	}
	dup2(efd, STDERR_FILENO);
	if (dup2(wfd, 3) == -1)
		_exit(2);
	fcntl(3, F_SETFD, FD_CLOEXEC);
	for (fd = 4; fd < 1024; fd++)
		close(fd);
	prctl(PR_SET_NAME, "gv-agent-run", 0, 0, 0);
	signal(SIGTERM, child_term);
	signal(SIGINT, child_term);
	signal(SIGHUP, child_term);
	signal(SIGCHLD, SIG_DFL);
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	memset(&w, 0, sizeof(w));
	w.magic = RUN_MAGIC;
	snprintf(set, sizeof(set), "%s", sp->set);

	if (sp->body != NULL) {
		/* Another body than the backup: no commands around it. */
		memset(&c, 0, sizeof(c));
		c.conffile = sp->conffile;
		c.passfile = sp->passfile != NULL && sp->passfile[0] != '\0' ?
		    sp->passfile : NULL;
		c.limit_up = sp->limit_up;
		c.limit_down = sp->limit_down;
		c.usage = "restore (gigavault-agent)";
		w.status = sp->body(&c, sp->body_arg);
		client_done(&c);
		write_all(3, &w, sizeof(w));
		_exit(0);
	}
	if (sp->pre != NULL && sp->pre[0] != '\0' && run_command("PreCommand",
	    sp->pre, set, NULL, sp->timeout, why, sizeof(why)) == -1) {
		fprintf(stderr, "%s\n", why);
		if (!sp->pre_continue) {
			w.status = -1;
			w.pre_failed = 1;
			snprintf(w.error, sizeof(w.error), "%s", why);
			write_all(3, &w, sizeof(w));
			_exit(0);
		}
	}

	memset(&c, 0, sizeof(c));
	c.conffile = sp->conffile;
	c.passfile = sp->passfile != NULL && sp->passfile[0] != '\0' ?
	    sp->passfile : NULL;
	c.limit_up = sp->limit_up;
	c.limit_down = sp->limit_down;
	c.result = &w.res;
	c.usage = "backup --set NAME -q (gigavault-agent)";
	argv[0] = a0;
	argv[1] = a1;
	argv[2] = set;
	argv[3] = a3;
	argv[4] = NULL;
	optind = 0;
	st = cmd_backup(&c, 4, argv);
	client_done(&c);
	w.status = st;

	if (sp->post != NULL && sp->post[0] != '\0') {
		fprintf(stderr, "\n%s\n", RUN_POST_MARK);
		fflush(stderr);
		res = st == 0 ? "ok" : st == EXIT_PARTIAL ? "partial" :
		    "failed";
		if (run_command("PostCommand", sp->post, set, res, sp->timeout,
		    why, sizeof(why)) == -1)
			fprintf(stderr, "%s\n", why);
	}
	write_all(3, &w, sizeof(w));
	_exit(0);
}

/* ------------------------------------------------------------ parent */

static void	run_finish(struct run *);

/* A whole line of the child's stderr: log it, keep it as the last. */
static void
err_line(void *arg, char *s)
{
	static const char prefix[] = "gigavault-agent: ";
	struct run *r = arg;

	if (strcmp(s, RUN_POST_MARK) == 0) {
		r->in_post = 1;
		return;
	}
	text_clean(s, "\t");
	if (strncmp(s, prefix, sizeof(prefix) - 1) == 0)
		s += sizeof(prefix) - 1;
	if (s[0] == '\0')
		return;
	if (r->lines < RUN_LOG_LINES)
		alog_info("job %s: %s", r->set, s);
	else if (r->lines == RUN_LOG_LINES)
		alog_info("job %s: (more lines not logged)", r->set);
	r->lines++;
	/* The PostCommand's lines are logged, never the run's error. */
	if (r->in_post)
		return;
	/*
	 * backup's closing line, "no snapshot saved (...)" or "snapshot N
	 * saved with M problems (named above)": the cause is the line before.
	 */
	if (r->last[0] != '\0' && (strncmp(s, "no snapshot saved (", 19) == 0 ||
	    (strncmp(s, "snapshot ", 9) == 0 && strstr(s, " saved with ") !=
	    NULL && strstr(s, "(named above)") != NULL)))
		return;
	snprintf(r->last, sizeof(r->last), "%s", s);
}

static void
err_read(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	char buf[4096];
	ssize_t n;

	(void)what;
	if ((n = read(fd, buf, sizeof(buf))) <= 0) {
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		event_del(r->eev);
		return;
	}
	lines_feed(&r->errbuf, buf, (size_t)n, err_line, r);
}

static void
result_read(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	ssize_t n;

	(void)what;
	if (r->got < sizeof(r->wire)) {
		n = read(fd, (char *)&r->wire + r->got,
		    sizeof(r->wire) - r->got);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0) {
			r->got += (size_t)n;
			return;
		}
	} else {
		char extra[64];

		n = read(fd, extra, sizeof(extra));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0) {
			r->got = 0;	/* more than one wire: not ours */
			return;
		}
	}
	run_finish(r);	/* end of file or error: the child is gone */
}

static void
kill_late(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	(void)fd;
	(void)what;
	alog_warnx("job %s: still running %d s after SIGTERM: SIGKILL",
	    r->set, RUN_KILL_AFTER_S);
	kill(-r->pid, SIGKILL);
	kill(r->pid, SIGKILL);
}

static void
run_finish(struct run *r)
{
	struct run_outcome o;
	int st = 0, have;

	/* What stderr still holds. */
	for (int i = 0; i < 64; i++) {
		char buf[4096];
		ssize_t n = read(r->efd, buf, sizeof(buf));

		if (n <= 0)
			break;
		lines_feed(&r->errbuf, buf, (size_t)n, err_line, r);
	}
	lines_flush(&r->errbuf, err_line, r);
	while (waitpid(r->pid, &st, 0) == -1 && errno == EINTR)
		;
	have = r->got == sizeof(r->wire) && r->wire.magic == RUN_MAGIC;
	memset(&o, 0, sizeof(o));
	o.status = have ? r->wire.status : -1;
	if (have) {
		o.res = r->wire.res;
		r->wire.error[sizeof(r->wire.error) - 1] = '\0';
		text_clean(r->wire.error, "");
	}
	if (r->cancelled) {
		o.result = REMOTE_JOB_CANCELLED;
		snprintf(o.error, sizeof(o.error), "cancelled");
	} else if (!have) {
		o.result = REMOTE_JOB_FAILED;
		if (r->last[0] != '\0')
			snprintf(o.error, sizeof(o.error), "%s", r->last);
		else if (WIFSIGNALED(st))
			snprintf(o.error, sizeof(o.error), "the run was killed "
			    "by signal %d", WTERMSIG(st));
		else
			snprintf(o.error, sizeof(o.error), "the run ended "
			    "without a result");
	} else if (r->wire.pre_failed) {
		o.result = REMOTE_JOB_FAILED;
		snprintf(o.error, sizeof(o.error), "%s", r->wire.error);
	} else if (o.status == 0) {
		o.result = o.res.saved ? REMOTE_JOB_OK : REMOTE_JOB_FAILED;
	} else if (o.status == EXIT_PARTIAL && o.res.saved) {
		o.result = REMOTE_JOB_PARTIAL;
		snprintf(o.error, sizeof(o.error), "%s", r->last);
	} else {
		o.result = REMOTE_JOB_FAILED;
		if (r->last[0] != '\0')
			snprintf(o.error, sizeof(o.error), "%s", r->last);
		else
			snprintf(o.error, sizeof(o.error), "backup failed "
			    "(exit status %d)", o.status);
	}
	if (o.result == REMOTE_JOB_FAILED && o.error[0] == '\0')
		snprintf(o.error, sizeof(o.error), "no snapshot was saved");
	event_free(r->rev);
	event_free(r->eev);
	if (r->killev != NULL)
		event_free(r->killev);
	close(r->rfd);
	close(r->efd);
	r->done(r, &o, r->arg);
	free(r);
}

struct run *
run_start(struct event_base *base, const struct run_spec *spec,
    run_done_fn done, void *arg, char *err, size_t errlen)
{
	int rp[2] = { -1, -1 }, ep[2] = { -1, -1 };
	sigset_t block, old;
	struct run *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pipe2(rp, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	r->base = base;
	r->done = done;
	r->arg = arg;
	r->rfd = rp[0];
	r->efd = ep[0];
	snprintf(r->set, sizeof(r->set), "%s", spec->set);
	fflush(stderr);
	/*
	 * The child gets the signals the agent catches only once it has
	 * its own handlers (child_main()).
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if ((r->pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (r->pid == 0) {
		close(rp[0]);
		close(ep[0]);
		child_main(spec, rp[1], ep[1]);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(rp[1]);
	close(ep[1]);
	evutil_make_socket_nonblocking(r->rfd);
	evutil_make_socket_nonblocking(r->efd);
	if ((r->rev = event_new(base, r->rfd, EV_READ | EV_PERSIST,
	    result_read, r)) == NULL || (r->eev = event_new(base, r->efd,
	    EV_READ | EV_PERSIST, err_read, r)) == NULL ||
	    event_add(r->rev, NULL) == -1 || event_add(r->eev, NULL) == -1) {
		/* Cannot watch it: stop it now and say so. */
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		if (r->rev != NULL)
			event_free(r->rev);
		if (r->eev != NULL)
			event_free(r->eev);
		close(r->rfd);
		close(r->efd);
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return r;

fail:
	for (int i = 0; i < 2; i++) {
		if (rp[i] != -1)
			close(rp[i]);
		if (ep[i] != -1)
			close(ep[i]);
	}
	free(r);
	return NULL;
}

void
run_cancel(struct run *r)
{
	struct timeval tv = { RUN_KILL_AFTER_S, 0 };

	if (r->cancelled)
		return;
	r->cancelled = 1;
	kill(-r->pid, SIGTERM);		/* its group, once it made it */
	kill(r->pid, SIGTERM);
	if ((r->killev = evtimer_new(r->base, kill_late, r)) != NULL)
		evtimer_add(r->killev, &tv);
}

pid_t
run_pid(const struct run *r)
{
	return r->pid;
}
