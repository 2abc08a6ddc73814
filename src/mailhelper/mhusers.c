/*
 * mhusers.c - the users the helper serves: IMAP.Users or the lines of
 * IMAP.UserListCommand.  See mhusers.h.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mailwire.h"
#include "common/monotime.h"
#include "mhconf.h"
#include "mhusers.h"

#define ARGS_MAX	64

/* Append a copy of name[0..len) to *v: 0, or -1 (err written). */
static int
add_name(char ***v, size_t *n, const char *name, size_t len, char *err,
    size_t errlen)
{
	char **nv;

	if (len > MW_USER_MAX || memchr(name, ' ', len) != NULL ||
	    memchr(name, '\t', len) != NULL || memchr(name, '\0', len)) {
		snprintf(err, errlen, "IMAP.UserListCommand printed a line "
		    "that is not a user name (1 to %d bytes, no spaces)",
		    MW_USER_MAX);
		return -1;
	}
	if (*n >= MHCONF_USERS_MAX) {
		snprintf(err, errlen, "IMAP.UserListCommand printed more than "
		    "%d users", MHCONF_USERS_MAX);
		return -1;
	}
	if ((nv = reallocarray(*v, *n + 1, sizeof(**v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*v = nv;
	if ((nv[*n] = strndup(name, len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	(*n)++;
	return 0;
}

/* Run argv, its stdout into *buf (malloc'ed, *len bytes, NUL after). */
static int
run(char **argv, int timeout, char **buf, size_t *len, char *err,
    size_t errlen)
{
	int out[2], errp[2], st, rc = -1, open_fds = 2;
	char ebuf[512], *b = NULL;
	size_t n = 0, en = 0, cap = 65536;
	int64_t dl = mono_ms() + (int64_t)timeout * 1000;
	pid_t pid;

	*buf = NULL;
	*len = 0;
	if (pipe2(out, O_CLOEXEC) == -1)
		goto syserr;
	if (pipe2(errp, O_CLOEXEC) == -1) {
		close(out[0]);
		close(out[1]);
		goto syserr;
	}
	if ((pid = fork()) == -1) {
		close(out[0]);
		close(out[1]);
		close(errp[0]);
		close(errp[1]);
		goto syserr;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul != -1)
			dup2(nul, STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(errp[1], STDERR_FILENO);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	if ((b = malloc(cap + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto kill;
	}
	ebuf[0] = '\0';
	while (open_fds > 0) {
		struct pollfd pf[2] = { { out[0], POLLIN, 0 },
		    { errp[0], POLLIN, 0 } };
		int left = mono_left(dl), r;
		ssize_t k;

		if (left == 0) {
			snprintf(err, errlen, "IMAP.UserListCommand %s did not "
			    "finish within %d s", argv[0], timeout);
			goto kill;
		}
		if ((r = poll(pf, 2, left)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			goto kill;
		}
		if (pf[0].fd != -1 && pf[0].revents != 0) {
			if (n >= MHUSERS_OUTPUT_MAX) {
				snprintf(err, errlen, "IMAP.UserListCommand "
				    "printed more than %u bytes",
				    MHUSERS_OUTPUT_MAX);
				goto kill;
			}
			if (n == cap) {
				char *nb;

				cap = 2 * cap < MHUSERS_OUTPUT_MAX ? 2 * cap :
				    MHUSERS_OUTPUT_MAX;
				if ((nb = realloc(b, cap + 1)) == NULL) {
					snprintf(err, errlen, "out of memory");
					goto kill;
				}
				b = nb;
			}
			k = read(out[0], b + n, cap - n);
			if (k > 0)
				n += (size_t)k;
			else if (k == 0 || errno != EINTR) {
				close(out[0]);
				out[0] = -1;
				open_fds--;
			}
		}
		if (errp[0] != -1 && pf[1].revents != 0) {
			char tmp[512];

			k = read(errp[0], tmp, sizeof(tmp));
			if (k > 0 && en + 1 < sizeof(ebuf)) {
				size_t c = (size_t)k < sizeof(ebuf) - 1 - en ?
				    (size_t)k : sizeof(ebuf) - 1 - en;

				memcpy(ebuf + en, tmp, c);
				en += c;
				ebuf[en] = '\0';
			} else if (k == 0 || (k == -1 && errno != EINTR)) {
				close(errp[0]);
				errp[0] = -1;
				open_fds--;
			}
		}
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		ebuf[strcspn(ebuf, "\n")] = '\0';
		snprintf(err, errlen, "IMAP.UserListCommand %s failed (%s %d)%s"
		    "%s", argv[0], WIFEXITED(st) ? "exit status" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
		    ebuf[0] ? ": " : "", ebuf);
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;

kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (out[0] != -1)
		close(out[0]);
	if (errp[0] != -1)
		close(errp[0]);
	free(b);
	return rc;

syserr:
	snprintf(err, errlen, "IMAP.UserListCommand: %s", strerror(errno));
	return -1;
}

int
mhusers_list(const struct mhconf *c, int timeout, char ***out, size_t *n,
    char *err, size_t errlen)
{
	char *argv[ARGS_MAX + 1], *words = NULL, *p, *tok, *save = NULL;
	char *buf = NULL, *line, *end;
	size_t len, k = 0;

	*out = NULL;
	*n = 0;
	if (c->user_cmd[0] == '\0') {
		for (size_t i = 0; i < c->nusers; i++)
			if (add_name(out, n, c->users[i], strlen(c->users[i]),
			    err, errlen) == -1)
				goto fail;
		return 0;
	}
	if ((words = strdup(c->user_cmd)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (p = words; (tok = strtok_r(p, " ", &save)) != NULL; p = NULL) {
		if (k == ARGS_MAX) {
			snprintf(err, errlen, "IMAP.UserListCommand has more "
			    "than %d words", ARGS_MAX);
			goto fail;
		}
		argv[k++] = tok;
	}
	argv[k] = NULL;
	if (k == 0 || argv[0][0] != '/') {
		snprintf(err, errlen, "IMAP.UserListCommand \"%s\" does not "
		    "start with an absolute path", c->user_cmd);
		goto fail;
	}
	if (run(argv, timeout, &buf, &len, err, errlen) == -1)
		goto fail;
	for (line = buf; line < buf + len; line = end + 1) {
		if ((end = memchr(line, '\n', (size_t)(buf + len - line))) ==
		    NULL)
			end = buf + len;
		if (end > line && end[-1] == '\r')
			end[-1] = '\0';
		if (end > line && line[0] != '\0' && line[0] != '\r' &&
		    add_name(out, n, line, strcspn(line, "\r\n"), err,
		    errlen) == -1)
			goto fail;
	}
	free(buf);
	free(words);
	return 0;

fail:
	free(buf);
	free(words);
	mw_strings_free(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}
