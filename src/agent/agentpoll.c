/*
 * agentpoll.c - the agent's poll of its server in a forked child.  See
 * agentpoll.h.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/wire.h"
#include "client/client.h"
#include "client/clientconf.h"
#include "agentlog.h"
#include "agentpoll.h"
#include "agentstate.h"
#include "browse.h"
#include "lines.h"

#define ARG_CHUNK	900	/* bytes of args per "ARG" line */

/* An answer waiting for the next poll (apoll_answer()). */
struct apoll_answer {
	uint64_t	 id;
	int		 status;
	char		*json;
};

struct apoll {
	struct event_base *base;
	struct apoll_conf c;
	char		*conffile, *name, *outbox, *passfile;
	struct apoll_answer answers[APOLL_ANSWERS];	/* to send */
	size_t		 nanswers, sending;	/* sending: in this poll */
	char		 args[REMOTE_REQ_ARGS_MAX + 1];	/* "ARG" lines */
	size_t		 argslen;
	int		 argsbad;	/* more than fits */
	pid_t		 pid;		/* the poll under way, or 0 */
	int		 fd;
	struct event	*ev, *killev;
	struct lines	 lines;		/* from the child, being read */
	int		 done_seen;	/* "DONE" came */
	int		 again;		/* poll again after this one */
	int		 quiet;		/* killed by apoll_free() */
	char		 errtext[APOLL_LINE_MAX + 1]; /* this poll's */
	int64_t		 last_poll, last_ok;
	char		 last_error[APOLL_LINE_MAX + 1];
};

/* ------------------------------------------------------------- child */

/*
 * Move the outbox's report name to outbox/rejected/, or drop it when
 * that fails: a report the server refuses never blocks the others.
 */
static void
reject(const char *outbox, const char *name, const char *set)
{
	char dir[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	int n;

	snprintf(dir, sizeof(dir), "%s/rejected", outbox);
	snprintf(from, sizeof(from), "%s/%s", outbox, name);
	n = snprintf(to, sizeof(to), "%s/rejected/%s", outbox, name);
	if (n < 0 || (size_t)n >= sizeof(to) || (mkdir(dir, 0700) == -1 && errno != EEXIST) ||
	    rename(from, to) == -1) {
		warn("a report of set %s the server would refuse is dropped: "
		    "%s", set, to);
		unlink(from);
		return;
	}
	warnx("a report of set %s the server would refuse is kept aside "
	    "as %s", set, to);
}

/* Send every report in the outbox, oldest first.  0, or -1 (printed). */
static int
send_outbox(struct client *c, const char *outbox)
{
	struct remote_job_report r;
	char **names, path[PATH_MAX], err[1024];
	size_t n;
	int rc = 0;

	if (access(outbox, R_OK | X_OK) == -1) {
		warn("%s", outbox);
		return -1;
	}
	n = astate_outbox_names(outbox, 0, &names);
	for (size_t i = 0; i < n && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", outbox, names[i]);
		if (astate_report_read(path, &r, err, sizeof(err)) == -1) {
			warnx("dropping a report that does not read: %s", err);
			unlink(path);
			continue;
		}
		/*
		 * A report the server would refuse (its checks, made here
		 * too) is set aside, so that it never blocks those after it.
		 */
		if (r.set[0] == '\0' || strlen(r.set) > WIRE_SET_MAX ||
		    r.result < 0 || r.result > REMOTE_JOB_CANCELLED ||
		    r.start < 0 || r.end < 0 || r.next_run < 0) {
			reject(outbox, names[i], r.set);
			continue;
		}
		if (remote_job_report(c->remote, &r, err, sizeof(err)) == -1) {
			uint16_t code = remote_error_code(c->remote);

			warnx("cannot send the report of set %s: %s", r.set,
			    err);
			/* The server refused this report: set it aside. */
			if (code == WIRE_ERR_MALFORMED || code == WIRE_ERR_LIMIT)
				reject(outbox, names[i], r.set);
			rc = -1;
			break;	/* the session is over */
		}
		unlink(path);
	}
	astate_names_free(names, n);
	return rc;
}

/*
 * A version 5 request in the poll child: a browse answered here, a
 * restore checked (a bad one answered failed) and handed to the agent
 * (its args as "ARG" lines, then "REQ").  0, or -1 when the session
 * failed (printed).
 */
static int
child_request(struct client *c, const struct remote_agent_request *rq)
{
	struct restore_args ra;
	char why[1024], err[1024], *args;
	json_t *j;

	if (rq->kind == REMOTE_REQ_BROWSE) {
		if (!c->conf->agent.allow_browse) {
			/* Names must not leave this machine. */
			if (browse_send(c, rq->id, 2, json_pack("{s:s}",
			    "error", "this agent lists nothing for the server "
			    "(its Agent.AllowBrowse is 0)"), err,
			    sizeof(err)) == -1) {
				warnx("answer %llu: %s",
				    (unsigned long long)rq->id, err);
				return -1;
			}
			warnx("browse request %llu refused: AllowBrowse is 0",
			    (unsigned long long)rq->id);
			return 0;
		}
		if (!c->have_keys && client_keys(c) == -1) {
			json_t *o = json_pack("{s:s}", "error", "the agent "
			    "cannot open the client's key file (see its log)");

			if (browse_send(c, rq->id, 2, o, err, sizeof(err)) ==
			    -1) {
				warnx("answer %llu: %s",
				    (unsigned long long)rq->id, err);
				return -1;
			}
			return 0;
		}
		if (browse_answer(c, rq, err, sizeof(err)) == -1) {
			warnx("answer %llu: %s", (unsigned long long)rq->id,
			    err);
			return -1;
		}
		printf("BROWSED %llu\n", (unsigned long long)rq->id);
		return 0;
	}
	if (restore_args_parse(rq->args, &ra, why, sizeof(why)) == -1 ||
	    restore_args_allowed(&ra, c->conf->agent.allow_restore, why,
	    sizeof(why)) == -1) {
		restore_args_free(&ra);	/* none after a parse's failure */
		if (browse_send(c, rq->id, 2, json_pack("{s:o}", "error",
		    client_jstr(why)), err, sizeof(err)) == -1) {
			warnx("answer %llu: %s", (unsigned long long)rq->id,
			    err);
			return -1;
		}
		warnx("restore request %llu refused: %s",
		    (unsigned long long)rq->id, why);
		return 0;
	}
	restore_args_free(&ra);
	/* Written again compact: JSON may have newlines between tokens. */
	if ((j = json_loads(rq->args, 0, NULL)) == NULL ||
	    (args = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		warnx("restore request %llu: out of memory",
		    (unsigned long long)rq->id);
		return -1;
	}
	json_decref(j);
	if (browse_send(c, rq->id, 1, json_pack("{s:s}", "state", "started"),
	    err, sizeof(err)) == -1) {
		warnx("answer %llu: %s", (unsigned long long)rq->id, err);
		free(args);
		return -1;
	}
	for (size_t i = 0, n = strlen(args); i < n; i += ARG_CHUNK)
		printf("ARG %.*s\n", ARG_CHUNK, args + i);
	printf("REQ %llu %d %s\n", (unsigned long long)rq->id, rq->kind,
	    rq->set);
	free(args);
	return 0;
}

static void __attribute__((noreturn))
child_main(const struct apoll *p, int wfd, struct remote_agent_job *jobs,
    size_t njobs)
{
	struct remote_agent_request *reqs = NULL;
	char err[1024];
	struct client c;
	size_t nreq = 0;
	int fd;

	if ((fd = open("/dev/null", O_RDONLY)) != -1)
		dup2(fd, STDIN_FILENO);
	dup2(wfd, STDOUT_FILENO);
	dup2(wfd, STDERR_FILENO);
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	prctl(PR_SET_NAME, "gv-agent-poll", 0, 0, 0);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&c, 0, sizeof(c));
	c.conffile = p->conffile;
	c.passfile = p->passfile;
	if (client_setup(&c) == -1 || client_session(&c) == -1)
		_exit(1);
	if (send_outbox(&c, p->outbox) == -1) {
		client_done(&c);
		_exit(1);
	}
	if (remote_agent_poll(c.remote, p->name, jobs, njobs, &reqs, &nreq,
	    err, sizeof(err)) == -1) {
		warnx("poll: %s", err);
		client_done(&c);
		_exit(1);
	}
	for (size_t i = 0; i < nreq; i++) {
		/* Args are JSON: one line as jansson writes it. */
		if (reqs[i].kind == REMOTE_REQ_BACKUP)
			printf("REQ %llu %d %s\n",
			    (unsigned long long)reqs[i].id, reqs[i].kind,
			    reqs[i].set);
		else if (child_request(&c, &reqs[i]) == -1) {
			free(reqs);
			client_done(&c);
			_exit(1);
		}
	}
	free(reqs);
	/* The answers the agent left: sent, then "SENT" for each. */
	for (size_t i = 0; i < p->sending; i++) {
		const struct apoll_answer *an = &p->answers[i];

		if (remote_agent_answer(c.remote, an->id, an->status,
		    an->json, strlen(an->json), err, sizeof(err)) == -1) {
			warnx("answer %llu: %s", (unsigned long long)an->id,
			    err);
			/* Refused by the server (expired): not tried again. */
			if (remote_error_code(c.remote) != 0)
				printf("SENT\n");
			client_done(&c);
			_exit(1);
		}
		printf("SENT\n");
	}
	client_done(&c);
	printf("DONE\n");
	fflush(stdout);
	_exit(0);
}

/* ------------------------------------------------------------ parent */

static void	poll_start(struct apoll *);

/* One line from the child: a request, DONE, or something to say. */
static void
poll_line(void *arg, char *s)
{
	struct apoll *p = arg;
	static const char prefix[] = "gigavault-agent: ";
	struct remote_agent_request rq;
	unsigned long long id;
	int kind, used = 0;
	char set[65];

	if (strcmp(s, "DONE") == 0) {
		p->done_seen = 1;
		return;
	}
	if (strcmp(s, "SENT") == 0) {
		/* The oldest answer was sent (or refused): dropped. */
		if (p->nanswers > 0 && p->sending > 0) {
			free(p->answers[0].json);
			memmove(&p->answers[0], &p->answers[1],
			    (p->nanswers - 1) * sizeof(p->answers[0]));
			p->nanswers--;
			p->sending--;
		}
		return;
	}
	if (strncmp(s, "ARG ", 4) == 0) {
		size_t n = strlen(s + 4);

		if (p->argslen + n > REMOTE_REQ_ARGS_MAX)
			p->argsbad = 1;
		else {
			memcpy(p->args + p->argslen, s + 4, n);
			p->argslen += n;
			p->args[p->argslen] = '\0';
		}
		return;
	}
	if (strncmp(s, "BROWSED ", 8) == 0) {
		if (sscanf(s, "BROWSED %llu%n", &id, &used) != 1 ||
		    s[used] != '\0' || id == 0)
			return;
		memset(&rq, 0, sizeof(rq));
		rq.id = id;
		rq.kind = REMOTE_REQ_BROWSE;
		p->c.request(p->c.arg, &rq);
		return;
	}
	if (strncmp(s, "REQ ", 4) == 0) {
		if (sscanf(s, "REQ %llu %d %64s%n", &id, &kind, set,
		    &used) != 3 || s[used] != '\0' ||
		    !clientconf_valid_set(set) || id == 0) {
			alog_warnx("poll: a request line that does not parse");
			return;
		}
		memset(&rq, 0, sizeof(rq));
		rq.id = id;
		rq.kind = kind;
		snprintf(rq.set, sizeof(rq.set), "%s", set);
		if (kind != REMOTE_REQ_BACKUP) {
			if (p->argsbad)
				rq.args[0] = '\0';	/* refused by the parse */
			else
				memcpy(rq.args, p->args, p->argslen + 1);
		}
		p->argslen = 0;
		p->args[0] = '\0';
		p->argsbad = 0;
		p->c.request(p->c.arg, &rq);
		return;
	}
	if (strncmp(s, prefix, sizeof(prefix) - 1) == 0)
		s += sizeof(prefix) - 1;
	if (s[0] != '\0')
		snprintf(p->errtext, sizeof(p->errtext), "%s", s);
}

static void
poll_end(struct apoll *p)
{
	int st;

	lines_flush(&p->lines, poll_line, p);
	event_free(p->ev);
	p->ev = NULL;
	if (p->killev != NULL) {
		event_free(p->killev);
		p->killev = NULL;
	}
	close(p->fd);
	while (waitpid(p->pid, &st, 0) == -1 && errno == EINTR)
		;
	p->pid = 0;
	if (p->done_seen) {
		if (p->last_error[0] != '\0')
			alog_info("poll: the server answers again");
		p->last_ok = time(NULL);
		p->last_error[0] = '\0';
	} else {
		if (p->errtext[0] == '\0')
			snprintf(p->errtext, sizeof(p->errtext), "the poll "
			    "ended without an answer");
		/* Said once, not every PollInterval. */
		if (!p->quiet && strcmp(p->errtext, p->last_error) != 0)
			alog_warnx("poll: %s", p->errtext);
		snprintf(p->last_error, sizeof(p->last_error), "%s",
		    p->errtext);
	}
	if (p->again) {
		p->again = 0;
		poll_start(p);
	}
	if (p->pid == 0 && !p->quiet && p->c.ended != NULL)
		p->c.ended(p->c.arg, p->done_seen);
}

static void
poll_read(evutil_socket_t fd, short what, void *arg)
{
	struct apoll *p = arg;
	char buf[4096];
	ssize_t n;

	(void)what;
	if ((n = read(fd, buf, sizeof(buf))) == -1 && (errno == EAGAIN ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		poll_end(p);
		return;
	}
	lines_feed(&p->lines, buf, (size_t)n, poll_line, p);
}

static void
poll_kill(evutil_socket_t fd, short what, void *arg)
{
	struct apoll *p = arg;

	(void)fd;
	(void)what;
	snprintf(p->errtext, sizeof(p->errtext), "no answer within %d s",
	    APOLL_TIMEOUT_S);
	kill(p->pid, SIGKILL);
}

static void
poll_start(struct apoll *p)
{
	struct timeval tv = { APOLL_TIMEOUT_S, 0 };
	struct remote_agent_job *jobs = NULL;
	sigset_t block, old;
	size_t njobs = 0;
	int fds[2];

	if (p->c.jobs(p->c.arg, &jobs, &njobs) == -1) {
		alog_warnx("poll: out of memory");
		return;
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		alog_warn("poll: pipe");
		free(jobs);
		return;
	}
	p->last_poll = time(NULL);
	p->sending = p->nanswers;	/* the child sends these */
	p->argslen = 0;
	p->args[0] = '\0';
	p->argsbad = 0;
	p->done_seen = 0;
	p->errtext[0] = '\0';
	p->lines.len = 0;
	fflush(stdout);
	fflush(stderr);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if ((p->pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		alog_warn("poll: fork");
		p->pid = 0;
		close(fds[0]);
		close(fds[1]);
		free(jobs);
		return;
	}
	if (p->pid == 0) {
		close(fds[0]);
		child_main(p, fds[1], jobs, njobs);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(jobs);
	close(fds[1]);
	p->fd = fds[0];
	evutil_make_socket_nonblocking(p->fd);
	if ((p->ev = event_new(p->base, p->fd, EV_READ | EV_PERSIST,
	    poll_read, p)) == NULL || event_add(p->ev, NULL) == -1 ||
	    (p->killev = evtimer_new(p->base, poll_kill, p)) == NULL ||
	    evtimer_add(p->killev, &tv) == -1) {
		/* Cannot watch it: wait for it here. */
		alog_warnx("poll: out of memory");
		kill(p->pid, SIGKILL);
		if (p->ev != NULL)
			event_free(p->ev);
		p->ev = NULL;
		if (p->killev != NULL)
			event_free(p->killev);
		p->killev = NULL;
		close(p->fd);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
}

struct apoll *
apoll_new(struct event_base *base, const struct apoll_conf *c)
{
	struct apoll *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->base = base;
	p->c = *c;
	p->c.passfile = NULL;
	if ((c->passfile != NULL && c->passfile[0] != '\0' &&
	    (p->passfile = strdup(c->passfile)) == NULL) ||
	    (p->conffile = strdup(c->conffile)) == NULL ||
	    (p->name = strdup(c->name)) == NULL ||
	    (p->outbox = strdup(c->outbox)) == NULL) {
		apoll_free(p);
		return NULL;
	}
	return p;
}

void
apoll_now(struct apoll *p)
{
	if (p->pid != 0)
		p->again = 1;
	else
		poll_start(p);
}

int
apoll_busy(const struct apoll *p)
{
	return p->pid != 0;
}

json_t *
apoll_json(const struct apoll *p)
{
	return json_pack("{s:I, s:I, s:s?}",
	    "last_poll", (json_int_t)p->last_poll,
	    "last_ok", (json_int_t)p->last_ok,
	    "last_error", p->last_error[0] ? p->last_error : NULL);
}

void
apoll_free(struct apoll *p)
{
	if (p == NULL)
		return;
	if (p->pid != 0) {
		kill(p->pid, SIGKILL);
		p->again = 0;
		p->quiet = 1;
		poll_end(p);
	}
	free(p->conffile);
	free(p->name);
	free(p->outbox);
	free(p->passfile);
	for (size_t i = 0; i < p->nanswers; i++)
		free(p->answers[i].json);
	free(p);
}

void
apoll_answer(struct apoll *p, uint64_t id, int status, const char *json)
{
	char *s;

	if ((s = strdup(json)) == NULL) {
		alog_warnx("answer %llu: out of memory",
		    (unsigned long long)id);
		return;
	}
	/* Full: the oldest not being sent goes. */
	if (p->nanswers == APOLL_ANSWERS) {
		size_t i = p->pid != 0 ? p->sending : 0;

		if (i >= p->nanswers) {
			free(s);
			alog_warnx("answer %llu dropped: %d wait already",
			    (unsigned long long)id, APOLL_ANSWERS);
			return;
		}
		free(p->answers[i].json);
		memmove(&p->answers[i], &p->answers[i + 1],
		    (p->nanswers - i - 1) * sizeof(p->answers[0]));
		p->nanswers--;
	}
	p->answers[p->nanswers].id = id;
	p->answers[p->nanswers].status = status;
	p->answers[p->nanswers].json = s;
	p->nanswers++;
}
