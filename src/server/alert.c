/*
 * alert.c - alerts (alert.h): find the events, apply the rate limits,
 * send each by mail and by webhook, keep the state in
 * DataDir/alerts.json.
 *
 * The state file:
 *
 *   {"since":T, "hour_start":T, "hour_count":N, "suppressed":N,
 *    "sent":[["event","client","set",T], ...],
 *    "jobs":{"CLIENT_ID":SEQ, ...},
 *    "overdue":[["client","set"], ...], "failed":[["client","set"], ...],
 *    "low_space":bool, "scrub":[STARTED, ENDED]}
 *
 * since: when the state began (reports received and scrubs ended before
 * it are history, not news); sent: the last alert of each (event,
 * client, set) within Alerts.RepeatInterval; jobs: the newest report
 * seen of each client; overdue: the sets overdue at the last check;
 * failed: the sets whose latest report seen was a failure;
 * scrub: the last scrub run seen.  Every member is checked for its type
 * as it is read; one that is not what it should be counts as missing.
 *
 * Mail is one message sent by SMTP to Alerts.SMTP through libcurl (a
 * setuid or setgid sendmail cannot queue mail under no_new_privs), or,
 * when Alerts.Sendmail is set, written on the standard input of that
 * command, run by /bin/sh with nothing of ours open but its pipes and
 * every signal at its default, in a process group of its own that dies
 * with us (PR_SET_PDEATHSIG) and is killed after Alerts.Timeout or when
 * we stop.  The webhook is one POST through libcurl with the same
 * time-out.  At most ALERT_SENDS_PER_CHECK alerts go out per check, and
 * none once the daemon is stopping, so that a stop waits for no more
 * than STOP_POLL_MS.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/mailhdr.h"
#include "common/monotime.h"
#include "common/text.h"
#include "alert.h"
#include "catalog.h"
#include "config.h"
#include "datadir.h"
#include "hkstatus.h"
#include "log.h"

#define HOUR_S		3600
#define OUTPUT_MAX	512	/* bytes of the mail command's output logged */
#define MESSAGE_MAX	(CAT_JOB_ERROR_MAX + 256)
#define MAIL_LINE_MAX	900	/* longer body lines are broken (RFC 5322: 998) */

struct alert_event {
	const char	*event;
	const char	*client;	/* NULL: none */
	const char	*set;		/* NULL: none */
	int64_t		 time;
	char		 message[MESSAGE_MAX];
	json_t		*extra;		/* members added to the body, or NULL */
};

struct alerter {
	const struct gv_config *cfg;
	char		 server[256];
	char		 server_id[SERVER_ID_HEX + 1];
	char		 from[320];
	uint8_t		*secret;
	size_t		 secretlen;
	int		 secret_bad;	/* WebhookSecretFile set, unreadable */
	json_t		*state;
	int		 dirty;
	int		(*cancel)(void *);	/* of this check, or NULL */
	void		*cancel_arg;
	int		 sends;		/* alerts sent in this check */
};

/* The daemon is stopping: send nothing more (alert_check()'s cancel). */
static int
halted(const struct alerter *a)
{
	return a->cancel != NULL && a->cancel(a->cancel_arg);
}

/* Nothing more to send in this check: stopping, or the cap is reached. */
static int
stop_sending(const struct alerter *a)
{
	return a->sends >= ALERT_SENDS_PER_CHECK || halted(a);
}

/* ------------------------------------------------------------ text */

/* "2026-12-07T00:00:00Z" into buf (at least 21 bytes). */
static void
iso_date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%" PRId64, t);
}

/* An RFC 5322 date in UTC, whatever the locale. */
static void
mail_date(int64_t t, char *buf, size_t len)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ------------------------------------------------------------ state */

static json_t *
state_new(int64_t now)
{
	json_t *s = json_pack("{s:I, s:I, s:i, s:i, s:[], s:{}, s:[], s:b, "
	    "s:[I, I]}", "since", (json_int_t)now, "hour_start", (json_int_t)0,
	    "hour_count", 0, "suppressed", 0, "sent", "jobs", "overdue",
	    "low_space", 0, "scrub", (json_int_t)0, (json_int_t)0);

	if (s == NULL)
		fatalx("%s: out of memory", __func__);
	return s;
}

static int
state_path(const struct alerter *a, char *path, size_t len,
    const char *suffix)
{
	if ((size_t)snprintf(path, len, "%s/%s%s", a->cfg->datadir,
	    ALERT_STATE_FILE, suffix) >= len) {
		log_warnx("alerts: DataDir path too long");
		return -1;
	}
	return 0;
}

/* An integer member of o, or def when it is missing or not one. */
static int64_t
get_int(const json_t *o, const char *key, int64_t def)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

static void
set_int(struct alerter *a, const char *key, int64_t v)
{
	if (json_object_set_new(a->state, key, json_integer((json_int_t)v)) ==
	    -1)
		fatalx("%s: out of memory", __func__);
	a->dirty = 1;
}

/* The member key of the state, made an empty array or object when it is
 * missing or of another type. */
static json_t *
get_member(struct alerter *a, const char *key, int array)
{
	json_t *v = json_object_get(a->state, key);

	if (array ? json_is_array(v) : json_is_object(v))
		return v;
	v = array ? json_array() : json_object();
	if (v == NULL || json_object_set_new(a->state, key, v) == -1)
		fatalx("%s: out of memory", __func__);
	a->dirty = 1;
	return v;
}

static void
state_load(struct alerter *a)
{
	char path[PATH_MAX];
	json_error_t e;
	struct stat st;
	int fd;

	a->state = NULL;
	if (state_path(a, path, sizeof(path), "") == -1)
		goto fresh;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("alerts: %s (starting anew)", path);
		goto fresh;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > ALERT_STATE_MAX) {
		log_warnx("alerts: %s: not a regular file of at most %d bytes "
		    "(starting anew)", path, ALERT_STATE_MAX);
		close(fd);
		goto fresh;
	}
	a->state = json_loadfd(fd, JSON_REJECT_DUPLICATES, &e);
	close(fd);
	if (a->state == NULL) {
		log_warnx("alerts: %s: line %d: %s (starting anew)", path,
		    e.line, e.text);
		goto fresh;
	}
	if (!json_is_object(a->state) ||
	    !json_is_integer(json_object_get(a->state, "since"))) {
		log_warnx("alerts: %s: not an alert state (starting anew)",
		    path);
		json_decref(a->state);
		goto fresh;
	}
	return;
fresh:
	a->state = state_new((int64_t)time(NULL));
	a->dirty = 1;
}

/* Write the state to a temporary file, then rename it into place. */
static void
state_save(struct alerter *a)
{
	char path[PATH_MAX], err[PATH_MAX + 128], *text;

	if (!a->dirty)
		return;
	if (state_path(a, path, sizeof(path), "") == -1)
		return;
	if ((text = json_dumps(a->state, JSON_COMPACT)) == NULL)
		fatalx("%s: out of memory", __func__);
	/* json_dumps() leaves room for nothing: the newline goes apart. */
	if ((text = realloc(text, strlen(text) + 2)) == NULL)
		fatalx("%s: out of memory", __func__);
	strcat(text, "\n");
	if (atomicfile_write(path, text, strlen(text), 0640, err,
	    sizeof(err)) == -1)
		log_warnx("alerts: %s", err);
	else
		a->dirty = 0;
	free(text);
}

/* ------------------------------------------------------------ sending */

/* The JSON body of ev (a new reference). */
static json_t *
event_body(const struct alerter *a, const struct alert_event *ev)
{
	char date[64];
	json_t *b;

	iso_date(ev->time, date, sizeof(date));
	b = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:s, s:s}",
	    "event", ev->event, "server", a->server, "server_id", a->server_id,
	    "client", ev->client ? json_string(ev->client) : json_null(),
	    "set", ev->set ? json_string(ev->set) : json_null(),
	    "time", (json_int_t)ev->time, "date", date, "message",
	    ev->message);
	if (b == NULL)
		fatalx("%s: out of memory", __func__);
	if (ev->extra != NULL && json_object_update(b, ev->extra) == -1)
		fatalx("%s: out of memory", __func__);
	return b;
}

/* Grow *buf (of *len bytes used, *size allocated) by the text fmt. */
static void __attribute__((format(printf, 4, 5)))
append(char **buf, size_t *len, size_t *size, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *size - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatalx("%s: vsnprintf", __func__);
		if ((size_t)n < *size - *len)
			break;
		*size = *size * 2 + (size_t)n;
		if ((*buf = realloc(*buf, *size)) == NULL)
			fatalx("%s: out of memory", __func__);
	}
	*len += (size_t)n;
}

/* Append text (valid UTF-8) with lines broken at MAIL_LINE_MAX bytes,
 * never inside a character. */
static void
append_body(char **buf, size_t *len, size_t *size, const char *text)
{
	char piece[MAIL_LINE_MAX + 2];

	while (*text != '\0') {
		size_t line = strcspn(text, "\n"), n;

		if (line <= MAIL_LINE_MAX) {
			append(buf, len, size, "%.*s\n", (int)line, text);
			text += line + (text[line] == '\n');
			continue;
		}
		/* One byte more, for text_cut() to see where it is. */
		memcpy(piece, text, MAIL_LINE_MAX + 1);
		piece[MAIL_LINE_MAX + 1] = '\0';
		text_cut(piece, MAIL_LINE_MAX);
		if ((n = strlen(piece)) == 0)	/* not UTF-8: cut anywhere */
			n = MAIL_LINE_MAX;
		append(buf, len, size, "%.*s\n", (int)n, text);
		text += n;
	}
}

/* The mail message of ev with body b; malloc'ed, the caller frees it. */
static char *
mail_message(const struct alerter *a, const struct alert_event *ev,
    json_t *b, size_t *lenp)
{
	char date[64], subject[600], *buf, *v;
	size_t len = 0, size = 2048;
	const char *key;
	json_t *val;

	if ((buf = malloc(size)) == NULL)
		fatalx("%s: out of memory", __func__);
	buf[0] = '\0';
	mail_date(ev->time, date, sizeof(date));
	snprintf(subject, sizeof(subject), "GigaVault %s: %s%s%s%s%s",
	    a->server, ev->event, ev->client ? " " : "",
	    ev->client ? ev->client : "", ev->set ? "/" : "",
	    ev->set ? ev->set : "");
	text_clean(subject, "");
	text_cut(subject, 300);
	append(&buf, &len, &size, "To: %s\nFrom: %s\nSubject: ",
	    a->cfg->alert_mail, a->from);
	if ((v = mailhdr_encode(subject)) == NULL)
		fatalx("%s: out of memory", __func__);
	append(&buf, &len, &size, "%s", v);
	free(v);
	append(&buf, &len, &size, "\nDate: %s\n"
	    "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\nAuto-Submitted: auto-generated\n"
	    "X-GigaVault-Event: %s\n\n", date, ev->event);
	append_body(&buf, &len, &size, ev->message);
	append(&buf, &len, &size, "\n");
	json_object_foreach(b, key, val) {
		if (strcmp(key, "message") == 0 || json_is_null(val))
			continue;
		if (json_is_string(val)) {
			/* A client's error text may hold any character. */
			if ((v = strdup(json_string_value(val))) == NULL)
				fatalx("%s: out of memory", __func__);
			text_clean(v, "\n\t");
			append(&buf, &len, &size, "%s: ", key);
			append_body(&buf, &len, &size, v);
			free(v);
			continue;
		}
		if ((v = json_dumps(val, JSON_ENCODE_ANY)) == NULL)
			fatalx("%s: out of memory", __func__);
		append(&buf, &len, &size, "%s: %s\n", key, v);
		free(v);
	}
	*lenp = len;
	return buf;
}

/* How often a running mail command looks whether we are stopping. */
#define STOP_POLL_MS	200

/*
 * Run cmd with /bin/sh, input on its standard input, within timeout
 * seconds, killed as soon as halted(a).  0, or -1 with why (and what it
 * printed) in err.
 */
static int
run_command(const struct alerter *a, const char *cmd, const char *input,
    size_t len, int timeout, char *err, size_t errlen)
{
	int in[2], out[2], status, done = 0, stopped = 0;
	char output[OUTPUT_MAX + 1];
	size_t off = 0, outlen = 0;
	int64_t deadline = mono_ms() + timeout * 1000L;
	pid_t pid, parent = getpid();

	if (pipe2(in, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		/* Its own group, to be killed whole; gone when we are. */
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1 ||
		    getppid() != parent)
			_exit(127);
		if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1 ||
		    dup2(out[1], 2) == -1)
			_exit(127);
		/* Nothing of ours but the pipes (not the catalog's file),
		 * and every signal as a new process has it. */
		close_range(STDERR_FILENO + 1, ~0U, 0);
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	if (len == 0) {
		close(in[1]);
		in[1] = -1;
	}
	/* Write the message and read what it prints until it closes. */
	while (out[0] != -1 && mono_ms() < deadline) {
		struct pollfd pfd[2] = {
			{ .fd = out[0], .events = POLLIN },
			{ .fd = in[1], .events = POLLOUT },
		};
		int wait = (int)mono_left(deadline);

		if ((stopped = halted(a)))
			break;
		if (poll(pfd, in[1] == -1 ? 1 : 2, wait < STOP_POLL_MS ?
		    wait : STOP_POLL_MS) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (in[1] != -1 && pfd[1].revents != 0) {
			ssize_t n = write(in[1], input + off, len - off);

			if (n > 0)
				off += (size_t)n;
			if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
			    off == len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (pfd[0].revents != 0) {
			char buf[512];
			ssize_t n = read(out[0], buf, sizeof(buf));

			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				close(out[0]);
				out[0] = -1;
				continue;
			}
			for (ssize_t i = 0; i < n && outlen < OUTPUT_MAX; i++)
				output[outlen++] = buf[i];
		}
	}
	if (in[1] != -1)
		close(in[1]);
	if (out[0] != -1)
		close(out[0]);
	output[outlen] = '\0';
	while (outlen > 0 && output[outlen - 1] == '\n')
		output[--outlen] = '\0';
	text_clean(output, "");
	/* Wait for it to exit, until the deadline. */
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			done = 1;
			break;
		}
		if (r == -1 && errno != EINTR)
			break;
		if (stopped || mono_ms() >= deadline || (stopped = halted(a)))
			break;
		poll(NULL, 0, 20);
	}
	if (!done) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		if (stopped) {
			snprintf(err, errlen, "killed: gigavaultd is stopping");
			return -1;
		}
		snprintf(err, errlen, "did not finish in %d s, killed%s%s",
		    timeout, outlen ? "; it printed: " : "", output);
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (off < len) {
			snprintf(err, errlen, "exited before reading the whole "
			    "message (%zu of %zu bytes)", off, len);
			return -1;
		}
		return 0;
	}
	if (WIFEXITED(status))
		snprintf(err, errlen, "exited with status %d%s%s",
		    WEXITSTATUS(status), outlen ? ": " : "", output);
	else
		snprintf(err, errlen, "killed by signal %d%s%s",
		    WTERMSIG(status), outlen ? ": " : "", output);
	return -1;
}

static void	url_for_log(const char *, char *, size_t);

/* libcurl's progress callback: nonzero aborts the transfer when the
 * daemon is stopping. */
static int
curl_halted(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return halted(arg);
}

/* Time-outs and the stop check, as every transfer of ours has them. */
static void
curl_common(const struct alerter *a, CURL *c, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, a->cfg->alert_timeout * 1000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    a->cfg->alert_timeout * 1000L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, curl_halted);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)a);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

struct upload {
	const char	*data;
	size_t		 len, off;
};

static size_t
upload_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n;

	if (k > u->len - u->off)
		k = u->len - u->off;
	memcpy(buf, u->data + u->off, k);
	u->off += k;
	return k;
}

/* The address in "Name <addr>" or "addr", as "<addr>", into buf. */
static void
angle_addr(const char *s, size_t slen, char *buf, size_t len)
{
	const char *lt = memchr(s, '<', slen), *gt;

	if (lt != NULL && (gt = memchr(lt, '>', slen - (size_t)(lt - s))) !=
	    NULL) {
		s = lt + 1;
		slen = (size_t)(gt - s);
	}
	while (slen > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		slen--;
	}
	while (slen > 0 && (s[slen - 1] == ' ' || s[slen - 1] == '\t'))
		slen--;
	snprintf(buf, len, "<%.*s>", (int)slen, s);
}

/* Is url's host this machine (STARTTLS is then not asked for)? */
static int
smtp_local(const char *url)
{
	const char *h = strstr(url, "://");
	size_t n;

	if (h == NULL)
		return 0;
	h += 3;
	n = strcspn(h, ":/");
	if (*h == '[')
		n = strcspn(h, "]") + 1;
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0) ||
	    (n >= 4 && strncmp(h, "127.", 4) == 0);
}

/*
 * Hand the message msg (LF line ends) over by SMTP to Alerts.SMTP: the
 * envelope is MailFrom's address and those of Alerts.Mail.  0, or -1
 * with why in err.
 */
static int
send_smtp(const struct alerter *a, const char *msg, size_t len, char *err,
    size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE], addr[400], *crlf;
	struct curl_slist *rcpt = NULL, *r2;
	const char *p = a->cfg->alert_mail;
	struct upload u;
	size_t n = 0;
	CURLcode rc;
	CURL *c;

	/* SMTP wants CRLF line ends. */
	if ((crlf = malloc(len * 2 + 1)) == NULL)
		fatalx("%s: out of memory", __func__);
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = msg[i];
	}
	while (*p != '\0') {
		size_t k = strcspn(p, ",");

		angle_addr(p, k, addr, sizeof(addr));
		if (strcmp(addr, "<>") != 0) {
			if ((r2 = curl_slist_append(rcpt, addr)) == NULL)
				fatalx("%s: out of memory", __func__);
			rcpt = r2;
		}
		p += k + (p[k] == ',');
	}
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		curl_slist_free_all(rcpt);
		free(crlf);
		return -1;
	}
	u = (struct upload){ crlf, n, 0 };
	errbuf[0] = '\0';
	angle_addr(a->from, strlen(a->from), addr, sizeof(addr));
	curl_common(a, c, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, a->cfg->alert_smtp);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_USE_SSL, smtp_local(a->cfg->alert_smtp) ?
	    (long)CURLUSESSL_NONE : (long)CURLUSESSL_TRY);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)n);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	rc = curl_easy_perform(c);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		snprintf(err, errlen, "stopped: gigavaultd is stopping");
	else if (rc != CURLE_OK)
		snprintf(err, errlen, "%s", errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	free(crlf);
	return rc == CURLE_OK ? 0 : -1;
}

static void
send_mail(const struct alerter *a, const struct alert_event *ev, json_t *b)
{
	char err[OUTPUT_MAX + CURL_ERROR_SIZE + 128], *msg;
	char shown[256];
	size_t len;

	msg = mail_message(a, ev, b, &len);
	if (a->cfg->alert_sendmail[0] == '\0') {
		url_for_log(a->cfg->alert_smtp, shown, sizeof(shown));
		if (send_smtp(a, msg, len, err, sizeof(err)) == -1)
			log_warnx("alert %s: mail to %s not sent: Alerts.SMTP "
			    "%s: %s", ev->event, a->cfg->alert_mail, shown,
			    err);
		else
			log_info("alert %s: mailed to %s through %s",
			    ev->event, a->cfg->alert_mail, shown);
	} else if (run_command(a, a->cfg->alert_sendmail, msg, len,
	    a->cfg->alert_timeout, err, sizeof(err)) == -1)
		log_warnx("alert %s: mail to %s not sent: Alerts.Sendmail "
		    "\"%s\" %s", ev->event, a->cfg->alert_mail,
		    a->cfg->alert_sendmail, err);
	else
		log_info("alert %s: mailed to %s", ev->event,
		    a->cfg->alert_mail);
	free(msg);
}

/*
 * The webhook's URL as the log shows it: scheme and host only, as its
 * user name, path or query may hold a secret.
 */
static void
url_for_log(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://"), *host, *end, *at;

	if (p == NULL) {
		snprintf(buf, len, "(bad URL)");
		return;
	}
	host = p + 3;
	end = host + strcspn(host, "/?#");
	for (at = host; (p = memchr(at, '@', (size_t)(end - at))) != NULL;)
		at = p + 1;
	snprintf(buf, len, "%.*s%.*s", (int)(host - url), url,
	    (int)(end - at), at);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void
send_webhook(const struct alerter *a, const struct alert_event *ev,
    const char *body)
{
	char errbuf[CURL_ERROR_SIZE], hdr[128];
	char sig[sizeof("X-GigaVault-Signature: sha256=") +
	    CRYPTO_HASH_LEN * 2];
	uint8_t mac[CRYPTO_HASH_LEN];
	struct curl_slist *h = NULL, *h2;
	const char *url = a->cfg->alert_webhook;
	char shown[256];
	long code = 0;
	CURLcode rc;
	CURL *c;

	if (a->secret_bad) {
		log_warnx("alert %s: webhook not sent: Alerts.WebhookSecretFile "
		    "\"%s\" could not be read", ev->event,
		    a->cfg->alert_secret_file);
		return;
	}
	if ((c = curl_easy_init()) == NULL) {
		log_warnx("alert %s: webhook not sent: curl_easy_init failed",
		    ev->event);
		return;
	}
	snprintf(hdr, sizeof(hdr), "X-GigaVault-Event: %s", ev->event);
	if ((h = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL || (h2 = curl_slist_append(h, hdr)) == NULL)
		fatalx("%s: out of memory", __func__);
	h = h2;
	if (a->secret != NULL) {
		crypto_hmac(a->secret, a->secretlen, body, strlen(body), NULL,
		    0, mac);
		memcpy(sig, "X-GigaVault-Signature: sha256=", 30);
		hex_encode(mac, sizeof(mac), sig + 30);
		if ((h2 = curl_slist_append(h, sig)) == NULL)
			fatalx("%s: out of memory", __func__);
		h = h2;
	}
	errbuf[0] = '\0';
	url_for_log(url, shown, sizeof(shown));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_common(a, c, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "gigavaultd/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (a->cfg->alert_ca_file[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, a->cfg->alert_ca_file);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		log_warnx("alert %s: webhook %s not sent: %s", ev->event, shown,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
	else if (code < 200 || code > 299)
		log_warnx("alert %s: webhook %s answered HTTP %ld", ev->event,
		    shown, code);
	else
		log_info("alert %s: webhook %s answered HTTP %ld", ev->event,
		    shown, code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

/* Send ev by mail and by webhook, as configured. */
static void
deliver(const struct alerter *a, const struct alert_event *ev)
{
	json_t *b = event_body(a, ev);
	char *text;

	if (a->cfg->alert_mail[0] != '\0')
		send_mail(a, ev, b);
	if (a->cfg->alert_webhook[0] != '\0' && halted(a))
		log_warnx("alert %s: webhook not sent: gigavaultd is stopping",
		    ev->event);
	else if (a->cfg->alert_webhook[0] != '\0') {
		if ((text = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
		    NULL)
			fatalx("%s: out of memory", __func__);
		send_webhook(a, ev, text);
		free(text);
	}
	json_decref(b);
}

/* ------------------------------------------------------------ limits */

static int
str_is(const json_t *v, const char *s)
{
	if (s == NULL)
		return json_is_null(v);
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* The entry of "sent" for (event, client, set): its index, or -1. */
static ssize_t
sent_find(struct alerter *a, const struct alert_event *ev)
{
	json_t *sent = get_member(a, "sent", 1), *e;
	size_t i;

	json_array_foreach(sent, i, e)
		if (json_is_array(e) && json_array_size(e) == 4 &&
		    str_is(json_array_get(e, 0), ev->event) &&
		    str_is(json_array_get(e, 1), ev->client) &&
		    str_is(json_array_get(e, 2), ev->set))
			return (ssize_t)i;
	return -1;
}

/* Forget the entries of "sent" older than RepeatInterval. */
static void
sent_expire(struct alerter *a, int64_t now)
{
	json_t *sent = get_member(a, "sent", 1), *e;
	size_t i = 0;

	while (i < json_array_size(sent)) {
		e = json_array_get(sent, i);
		if (!json_is_array(e) || json_array_size(e) != 4 ||
		    !json_is_integer(json_array_get(e, 3)) ||
		    now - (int64_t)json_integer_value(json_array_get(e, 3)) >=
		    a->cfg->alert_repeat) {
			json_array_remove(sent, i);
			a->dirty = 1;
		} else
			i++;
	}
}

static void	check_suppressed(struct alerter *, int64_t);

static void
log_event(const struct alert_event *ev, const char *what)
{
	log_info("alert %s%s%s%s%s: %s%s", ev->event, ev->client ? " " : "",
	    ev->client ? ev->client : "", ev->set ? "/" : "",
	    ev->set ? ev->set : "", ev->message, what);
}

/*
 * Send ev unless RepeatInterval or MaxPerHour holds it back; log it
 * either way.  Takes ev->extra.
 */
static void
emit(struct alerter *a, struct alert_event *ev)
{
	const struct gv_config *cfg = a->cfg;
	int64_t now = ev->time, count;
	json_t *e;

	text_clean(ev->message, "\n");
	if (cfg->alert_repeat > 0 && sent_find(a, ev) != -1) {
		log_event(ev, " (not sent: sent already within "
		    "Alerts.RepeatInterval)");
		goto out;
	}
	/* A new hour: first the summary of the last one, if due. */
	check_suppressed(a, now);
	if (now - get_int(a->state, "hour_start", 0) >= HOUR_S ||
	    get_int(a->state, "hour_start", 0) > now) {
		set_int(a, "hour_start", now);
		set_int(a, "hour_count", 0);
	}
	count = get_int(a->state, "hour_count", 0);
	if (cfg->alert_max_per_hour > 0 && count >= cfg->alert_max_per_hour) {
		set_int(a, "suppressed", get_int(a->state, "suppressed", 0) + 1);
		log_event(ev, " (not sent: Alerts.MaxPerHour reached)");
		goto out;
	}
	set_int(a, "hour_count", count + 1);
	if (cfg->alert_repeat > 0) {
		e = json_pack("[s, s?, s?, I]", ev->event, ev->client, ev->set,
		    (json_int_t)now);
		if (e == NULL || json_array_append_new(get_member(a, "sent", 1),
		    e) == -1)
			fatalx("%s: out of memory", __func__);
	}
	/* Recorded before it goes out: a crash while sending does not
	 * send it twice. */
	state_save(a);
	log_event(ev, "");
	a->sends++;
	deliver(a, ev);
out:
	json_decref(ev->extra);
	ev->extra = NULL;
}

/* After an hour that held alerts back: one alert with their number. */
static void
check_suppressed(struct alerter *a, int64_t now)
{
	struct alert_event ev = { "suppressed", NULL, NULL, now, "", NULL };
	int64_t n = get_int(a->state, "suppressed", 0);

	if (n <= 0 || now - get_int(a->state, "hour_start", 0) < HOUR_S)
		return;
	snprintf(ev.message, sizeof(ev.message), "%" PRId64 " alert%s "
	    "suppressed in the last hour (Alerts.MaxPerHour = %d); see the "
	    "log for each", n, n == 1 ? "" : "s", a->cfg->alert_max_per_hour);
	if ((ev.extra = json_pack("{s:I}", "count", (json_int_t)n)) == NULL)
		fatalx("%s: out of memory", __func__);
	set_int(a, "suppressed", 0);
	set_int(a, "hour_start", now);
	set_int(a, "hour_count", 1);
	state_save(a);
	log_event(&ev, "");
	deliver(a, &ev);
	json_decref(ev.extra);
}

/* ------------------------------------------------------------ events */

static void
check_space(struct alerter *a, int64_t now)
{
	struct alert_event ev = { "low_space", NULL, NULL, now, "", NULL };
	const char *dir = a->cfg->datadir;
	struct statvfs sv;
	double pct;
	int low, was;

	if (statvfs(dir, &sv) == -1) {
		log_warn("alerts: statvfs %s", dir);
		return;
	}
	if (sv.f_blocks == 0)
		return;
	pct = (double)sv.f_bavail * 100.0 / (double)sv.f_blocks;
	low = a->cfg->alert_free_warning > 0 &&
	    pct < (double)a->cfg->alert_free_warning;
	was = json_is_true(json_object_get(a->state, "low_space"));
	if (low == was)
		return;
	if (json_object_set_new(a->state, "low_space", json_boolean(low)) ==
	    -1)
		fatalx("%s: out of memory", __func__);
	a->dirty = 1;
	if (!low)
		return;
	snprintf(ev.message, sizeof(ev.message), "%s has %.1f%% free, below "
	    "Alerts.FreeSpaceWarning = %d%%", dir, pct,
	    a->cfg->alert_free_warning);
	if ((ev.extra = json_pack("{s:s, s:f, s:I, s:I}", "path", dir,
	    "free_percent", pct, "free_bytes",
	    (json_int_t)((uint64_t)sv.f_bavail * sv.f_frsize),
	    "total_bytes", (json_int_t)((uint64_t)sv.f_blocks *
	    sv.f_frsize))) == NULL)
		fatalx("%s: out of memory", __func__);
	emit(a, &ev);
}

/*
 * The last run of job in housekeeping.json, when it is one not seen
 * before (a run is its start and end, in seconds; the state keeps the
 * last seen under the job's name, and keeps this one now): a new
 * reference to the whole file (the caller decrefs it) with *last that
 * run and *ended its end; else NULL.
 */
static json_t *
new_run(struct alerter *a, const char *job, json_t **last, int64_t *ended)
{
	json_t *hk, *seen;
	int64_t started;

	if ((hk = hkstatus_load(a->cfg->datadir)) == NULL)
		return NULL;
	*last = json_object_get(json_object_get(hk, job), "last");
	if (!json_is_object(*last)) {
		json_decref(hk);
		return NULL;
	}
	started = get_int(*last, "started", 0);
	*ended = get_int(*last, "ended", 0);
	seen = json_object_get(a->state, job);
	if (json_is_array(seen) && json_array_size(seen) == 2 &&
	    (int64_t)json_integer_value(json_array_get(seen, 0)) == started &&
	    (int64_t)json_integer_value(json_array_get(seen, 1)) == *ended) {
		json_decref(hk);
		return NULL;
	}
	if ((seen = json_pack("[I, I]", (json_int_t)started,
	    (json_int_t)*ended)) == NULL ||
	    json_object_set_new(a->state, job, seen) == -1)
		fatalx("%s: out of memory", __func__);
	a->dirty = 1;
	return hk;
}

static void
check_scrub(struct alerter *a, int64_t now)
{
	struct alert_event ev = { "scrub_damage", NULL, NULL, now, "", NULL };
	json_t *hk, *last;
	int64_t ended, damaged;
	const char *msg;

	if ((hk = new_run(a, "scrub", &last, &ended)) == NULL)
		return;
	damaged = get_int(last, "damaged", 0);
	msg = json_string_value(json_object_get(last, "message"));
	/* A scrub that ended before the state began is history. */
	if (damaged > 0 && ended >= get_int(a->state, "since", 0)) {
		snprintf(ev.message, sizeof(ev.message), "scrub found damage: "
		    "%s", msg != NULL ? msg : "");
		if ((ev.extra = json_pack("{s:I, s:I, s:I}", "damaged",
		    (json_int_t)damaged, "snapshots_hurt",
		    (json_int_t)get_int(last, "snapshots_hurt", 0), "ended",
		    (json_int_t)ended)) == NULL)
			fatalx("%s: out of memory", __func__);
		emit(a, &ev);
	}
	json_decref(hk);
}

/* An off-site sync (sync.c) that ended in error. */
static void
check_sync(struct alerter *a, int64_t now)
{
	struct alert_event ev = { "sync_failed", NULL, NULL, now, "", NULL };
	json_t *hk, *last;
	int64_t ended;
	const char *msg, *result;

	if ((hk = new_run(a, "sync", &last, &ended)) == NULL)
		return;
	msg = json_string_value(json_object_get(last, "message"));
	result = json_string_value(json_object_get(last, "result"));
	if (result != NULL && strcmp(result, "error") == 0 &&
	    ended >= get_int(a->state, "since", 0)) {
		snprintf(ev.message, sizeof(ev.message), "off-site sync "
		    "failed: %s", msg != NULL ? msg : "");
		if ((ev.extra = json_pack("{s:I, s:I}", "damaged",
		    (json_int_t)get_int(last, "damaged", 0), "ended",
		    (json_int_t)ended)) == NULL)
			fatalx("%s: out of memory", __func__);
		emit(a, &ev);
	}
	json_decref(hk);
}

/* A date for a message: "2026-12-07T00:00:00Z", or "never" for 0. */
static const char *
date_or_never(int64_t t, char *buf, size_t len)
{
	if (t == 0)
		return "never";
	iso_date(t, buf, len);
	return buf;
}

static json_t *
time_or_null(int64_t t)
{
	return t == 0 ? json_null() : json_integer((json_int_t)t);
}

/* Take (c, s) out of list (not the state's: nothing is marked dirty). */
static void
pairs_del(json_t *list, const char *c, const char *s)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_is_array(e) && json_array_size(e) == 2 &&
		    str_is(json_array_get(e, 0), c) &&
		    str_is(json_array_get(e, 1), s)) {
			json_array_remove(list, i);
			return;
		}
}

static int
in_pairs(const json_t *list, const char *c, const char *s)
{
	const json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_is_array(e) && json_array_size(e) == 2 &&
		    str_is(json_array_get(e, 0), c) &&
		    str_is(json_array_get(e, 1), s))
			return 1;
	return 0;
}

/* Add (c, s) to the list of pairs key, or (add 0) take it out. */
static void
pairs_set(struct alerter *a, const char *key, const char *c, const char *s,
    int add)
{
	json_t *list = get_member(a, key, 1), *e;
	size_t i;

	if (add) {
		if (in_pairs(list, c, s))
			return;
		if ((e = json_pack("[s, s]", c, s)) == NULL ||
		    json_array_append_new(list, e) == -1)
			fatalx("%s: out of memory", __func__);
		a->dirty = 1;
		return;
	}
	json_array_foreach(list, i, e)
		if (json_is_array(e) && json_array_size(e) == 2 &&
		    str_is(json_array_get(e, 0), c) &&
		    str_is(json_array_get(e, 1), s)) {
			json_array_remove(list, i);
			a->dirty = 1;
			return;
		}
}

/*
 * New reports of client h (those after the newest seen, received since
 * the state began): each failed or cancelled one is an alert, and so is
 * the first success (ok or partial) of a set after one ("job_ok").  -1
 * when cancelled before the end (what is left is looked at next time).
 */
static int
check_client_jobs(struct alerter *a, struct catalog *cat,
    const struct cat_client_health *h, int64_t now)
{
	struct alert_event ev = { "job_failed", h->name, NULL, now, "", NULL };
	json_t *jobs = get_member(a, "jobs", 0);
	struct cat_jobrun *r = NULL;
	char key[32], d1[32], d2[32];
	int64_t since = get_int(a->state, "since", 0);
	uint64_t seen;
	size_t n = 0;

	snprintf(key, sizeof(key), "%" PRIu64, h->client);
	seen = (uint64_t)get_int(jobs, key, 0);
	/* The newest alone first: most checks find nothing new. */
	if (catalog_jobs(cat, h->client, 0, 1, &r, &n) != CAT_OK) {
		log_warnx("alerts: %s", catalog_strerror(cat));
		return 0;
	}
	if (n == 0 || r[0].seq <= seen) {
		free(r);
		return 0;
	}
	free(r);
	r = NULL;
	if (catalog_jobs(cat, h->client, 0, ALERT_JOBS_PER_CHECK, &r, &n) !=
	    CAT_OK) {
		log_warnx("alerts: %s", catalog_strerror(cat));
		return 0;
	}
	/* Newest first: the oldest new one is sent first. */
	for (size_t i = n; i-- > 0;) {
		if (r[i].seq <= seen)
			continue;
		if (stop_sending(a)) {
			free(r);
			return -1;
		}
		seen = r[i].seq;
		if (json_object_set_new(jobs, key,
		    json_integer((json_int_t)seen)) == -1)
			fatalx("%s: out of memory", __func__);
		a->dirty = 1;
		if (r[i].received < since)
			continue;
		ev.set = r[i].set;
		if (r[i].result != CAT_JOB_FAILED &&
		    r[i].result != CAT_JOB_CANCELLED) {
			if (!in_pairs(get_member(a, "failed", 1), h->name,
			    r[i].set))
				continue;
			pairs_set(a, "failed", h->name, r[i].set, 0);
			ev.event = "job_ok";
			snprintf(ev.message, sizeof(ev.message), "the backup "
			    "of set %s of client %s succeeded again (ended %s)",
			    r[i].set, h->name, date_or_never(r[i].end, d2,
			    sizeof(d2)));
			if ((ev.extra = json_pack("{s:s, s:o, s:o, s:I, s:o}",
			    "result", r[i].result == CAT_JOB_OK ? "ok" :
			    "partial", "start", time_or_null(r[i].start),
			    "end", time_or_null(r[i].end), "report",
			    (json_int_t)r[i].seq, "next_run",
			    time_or_null(r[i].next_run))) == NULL)
				fatalx("%s: out of memory", __func__);
			emit(a, &ev);
			continue;
		}
		pairs_set(a, "failed", h->name, r[i].set, 1);
		ev.event = "job_failed";
		ev.time = now;
		snprintf(ev.message, sizeof(ev.message), "the backup of set %s "
		    "of client %s %s (started %s, ended %s): %s", r[i].set,
		    h->name, r[i].result == CAT_JOB_FAILED ? "failed" :
		    "was cancelled", date_or_never(r[i].start, d1, sizeof(d1)),
		    date_or_never(r[i].end, d2, sizeof(d2)),
		    r[i].error[0] != '\0' ? r[i].error : "no error text");
		ev.extra = json_pack("{s:s, s:s, s:o, s:o, s:I, s:o}",
		    "result", r[i].result == CAT_JOB_FAILED ? "failed" :
		    "cancelled", "error", r[i].error, "start",
		    time_or_null(r[i].start), "end", time_or_null(r[i].end),
		    "report", (json_int_t)r[i].seq, "next_run",
		    time_or_null(r[i].next_run));
		if (ev.extra == NULL) {
			/* The error text is not UTF-8: cleaned, then again. */
			text_clean(r[i].error, "\n\t");
			ev.extra = json_pack("{s:s, s:s, s:o, s:o, s:I, s:o}",
			    "result", r[i].result == CAT_JOB_FAILED ? "failed" :
			    "cancelled", "error", r[i].error, "start",
			    time_or_null(r[i].start), "end",
			    time_or_null(r[i].end), "report",
			    (json_int_t)r[i].seq, "next_run",
			    time_or_null(r[i].next_run));
			if (ev.extra == NULL)
				fatalx("%s: out of memory", __func__);
		}
		emit(a, &ev);
	}
	free(r);
	return 0;
}

/*
 * Sets that are overdue now and were not at the last check: an alert
 * each.  The list of overdue sets is then replaced by the new one.
 */
static void
check_overdue(struct alerter *a, const struct cat_client_health *h,
    size_t n, int64_t now)
{
	json_t *old = get_member(a, "overdue", 1), *cur, *e;
	struct alert_event ev = { "overdue", NULL, NULL, now, "", NULL };
	char d1[32], d2[32];

	json_incref(old);
	if ((cur = json_array()) == NULL)
		fatalx("%s: out of memory", __func__);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < h[i].nsets; j++) {
			const struct cat_set_health *s = &h[i].sets[j];

			if (s->health != CAT_HEALTH_OVERDUE)
				continue;
			if ((e = json_pack("[s, s]", h[i].name, s->set)) ==
			    NULL || json_array_append_new(cur, e) == -1)
				fatalx("%s: out of memory", __func__);
		}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < h[i].nsets; j++) {
			const struct cat_set_health *s = &h[i].sets[j];

			if (s->health != CAT_HEALTH_OVERDUE ||
			    in_pairs(old, h[i].name, s->set))
				continue;
			if (stop_sending(a)) {
				/* Not sent: new again at the next check. */
				pairs_del(cur, h[i].name, s->set);
				continue;
			}
			ev.client = h[i].name;
			ev.set = s->set;
			snprintf(ev.message, sizeof(ev.message), "set %s of "
			    "client %s is overdue: no successful backup since "
			    "%s; its run was due at %s (Jobs.OverdueGrace = "
			    "%d s)", s->set, h[i].name, date_or_never(
			    s->last_success, d1, sizeof(d1)), date_or_never(
			    s->next_run, d2, sizeof(d2)),
			    a->cfg->overdue_grace);
			if ((ev.extra = json_pack("{s:o, s:o, s:I, s:s}",
			    "last_success", time_or_null(s->last_success),
			    "next_run", time_or_null(s->next_run), "interval",
			    (json_int_t)s->interval, "last_error",
			    s->last_error)) == NULL) {
				if ((ev.extra = json_pack("{s:o, s:o, s:I}",
				    "last_success", time_or_null(
				    s->last_success), "next_run",
				    time_or_null(s->next_run), "interval",
				    (json_int_t)s->interval)) == NULL)
					fatalx("%s: out of memory", __func__);
			}
			emit(a, &ev);
		}
	/* Sets no longer overdue, and fine now: "overdue_ok". */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < h[i].nsets; j++) {
			const struct cat_set_health *s = &h[i].sets[j];

			if (s->health != CAT_HEALTH_OK ||
			    !in_pairs(old, h[i].name, s->set))
				continue;
			if (stop_sending(a)) {
				/* Not sent: still overdue for the next check. */
				if ((e = json_pack("[s, s]", h[i].name,
				    s->set)) == NULL ||
				    json_array_append_new(cur, e) == -1)
					fatalx("%s: out of memory", __func__);
				continue;
			}
			ev.event = "overdue_ok";
			ev.client = h[i].name;
			ev.set = s->set;
			snprintf(ev.message, sizeof(ev.message), "set %s of "
			    "client %s is no longer overdue: last successful "
			    "backup %s", s->set, h[i].name, date_or_never(
			    s->last_success, d1, sizeof(d1)));
			if ((ev.extra = json_pack("{s:o, s:o}",
			    "last_success", time_or_null(s->last_success),
			    "next_run", time_or_null(s->next_run))) == NULL)
				fatalx("%s: out of memory", __func__);
			emit(a, &ev);
		}
	if (!json_equal(old, cur)) {
		if (json_object_set(a->state, "overdue", cur) == -1)
			fatalx("%s: out of memory", __func__);
		a->dirty = 1;
	}
	json_decref(old);
	json_decref(cur);
}

/*
 * Forget what is kept of clients no longer in the catalog (h, n): their
 * newest report seen (by id) and their failed sets (by name), so that a
 * client removed and added again under its name starts anew.
 */
static void
forget_removed(struct alerter *a, const struct cat_client_health *h,
    size_t n)
{
	json_t *jobs = get_member(a, "jobs", 0), *failed, *e, *v;
	const char *key;
	char id[32];
	void *tmp;
	size_t i, j;

	json_object_foreach_safe(jobs, tmp, key, v) {
		for (j = 0; j < n; j++) {
			snprintf(id, sizeof(id), "%" PRIu64, h[j].client);
			if (strcmp(id, key) == 0)
				break;
		}
		if (j == n) {
			json_object_del(jobs, key);
			a->dirty = 1;
		}
	}
	failed = get_member(a, "failed", 1);
	i = 0;
	while (i < json_array_size(failed)) {
		e = json_array_get(failed, i);
		for (j = 0; j < n; j++)
			if (json_is_array(e) &&
			    str_is(json_array_get(e, 0), h[j].name))
				break;
		if (j == n) {
			json_array_remove(failed, i);
			a->dirty = 1;
		} else
			i++;
	}
}

/* Failed job reports and overdue sets, from the catalog. */
static void
check_catalog(struct alerter *a, struct catalog *cat, int64_t now)
{
	struct cat_client_health *h = NULL;
	size_t n = 0;

	if (catalog_health(cat, 0, now, a->cfg->overdue_grace, &h, &n) !=
	    CAT_OK) {
		log_warnx("alerts: %s", catalog_strerror(cat));
		return;
	}
	forget_removed(a, h, n);
	/* A client with no set has no report (catalog_health()). */
	for (size_t i = 0; i < n; i++)
		if (h[i].nsets > 0 &&
		    check_client_jobs(a, cat, &h[i], now) == -1) {
			catalog_health_free(h, n);
			return;
		}
	if (!halted(a))
		check_overdue(a, h, n, now);
	catalog_health_free(h, n);
}

/* ------------------------------------------------------------ the API */

static void
read_secret(struct alerter *a)
{
	const char *path = a->cfg->alert_secret_file;
	uint8_t buf[ALERT_SECRET_MAX + 1];
	size_t len = 0;
	ssize_t n;
	int fd;

	if (path[0] == '\0')
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("Alerts.WebhookSecretFile: %s (no webhook will be "
		    "sent)", path);
		a->secret_bad = 1;
		return;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len,
	    sizeof(buf) - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("Alerts.WebhookSecretFile: %s (no webhook "
			    "will be sent)", path);
			a->secret_bad = 1;
			close(fd);
			crypto_wipe(buf, sizeof(buf));
			return;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0 || len > ALERT_SECRET_MAX) {
		log_warnx("Alerts.WebhookSecretFile: %s: must hold 1 to %d "
		    "bytes (no webhook will be sent)", path, ALERT_SECRET_MAX);
		a->secret_bad = 1;
		crypto_wipe(buf, sizeof(buf));
		return;
	}
	if ((a->secret = malloc(len)) == NULL)
		fatalx("%s: out of memory", __func__);
	memcpy(a->secret, buf, len);
	a->secretlen = len;
	crypto_wipe(buf, sizeof(buf));
}

struct alerter *
alert_open(const struct gv_config *cfg)
{
	uint8_t id[SERVER_ID_LEN];
	char err[512], host[256];
	struct alerter *a;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_warnx("alerts: libcurl cannot start; no alerts");
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warnx("alerts: out of memory; no alerts");
		curl_global_cleanup();
		return NULL;
	}
	a->cfg = cfg;
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(a->server, sizeof(a->server), "%s",
	    cfg->disc.name[0] != '\0' ? cfg->disc.name : host);
	text_clean(a->server, "");
	if (datadir_server_id(cfg->datadir, id, err, sizeof(err)) == 0)
		server_id_hex(id, a->server_id);
	else
		log_warnx("alerts: %s", err);
	if (cfg->alert_mail_from[0] != '\0')
		snprintf(a->from, sizeof(a->from), "%s", cfg->alert_mail_from);
	else
		snprintf(a->from, sizeof(a->from), "gigavault@%s", host);
	text_clean(a->from, "");
	read_secret(a);
	state_load(a);
	return a;
}

void
alert_check(struct alerter *a, struct catalog *cat, int (*cancel)(void *),
    void *arg)
{
	int64_t now = (int64_t)time(NULL);

	if (a == NULL)
		return;
	a->cancel = cancel;
	a->cancel_arg = arg;
	a->sends = 0;
	sent_expire(a, now);
	check_suppressed(a, now);
	if (!stop_sending(a))
		check_space(a, now);
	if (!stop_sending(a))
		check_scrub(a, now);
	if (!stop_sending(a))
		check_sync(a, now);
	if (cat != NULL && !stop_sending(a))
		check_catalog(a, cat, now);
	a->cancel = NULL;
	a->cancel_arg = NULL;
	state_save(a);
}

int
alert_sendmail_setid(const struct gv_config *cfg, char *buf, size_t len)
{
	const char *cmd = cfg->alert_sendmail, *path, *dir;
	char prog[PATH_MAX], full[PATH_MAX];
	struct stat st;
	size_t n, k;

	cmd += strspn(cmd, " \t");
	if ((n = strcspn(cmd, " \t;|&<>")) == 0 || n >= sizeof(prog))
		return 0;
	memcpy(prog, cmd, n);
	prog[n] = '\0';
	if (strchr(prog, '/') != NULL)
		snprintf(full, sizeof(full), "%s", prog);
	else {
		if ((path = getenv("PATH")) == NULL)
			path = "/usr/local/bin:/usr/bin:/bin";
		for (dir = path, full[0] = '\0'; *dir != '\0';
		    dir += k + (dir[k] == ':')) {
			k = strcspn(dir, ":");
			if ((size_t)snprintf(full, sizeof(full), "%.*s/%s",
			    (int)k, dir, prog) < sizeof(full) &&
			    access(full, X_OK) == 0)
				break;
			full[0] = '\0';
		}
	}
	if (full[0] == '\0' || stat(full, &st) == -1 ||
	    (st.st_mode & (S_ISUID | S_ISGID)) == 0)
		return 0;
	snprintf(buf, len, "Alerts.Sendmail: %s is set-%s-ID, which cannot "
	    "work in gigavaultd's children (they run with no new "
	    "privileges): no alert mail will be sent; leave Alerts.Sendmail "
	    "empty to send by SMTP to Alerts.SMTP (gigavault.conf(5), ALERTS "
	    "SECTION)", full, (st.st_mode & S_ISUID) ? "user" : "group");
	return 1;
}

void
alert_close(struct alerter *a)
{
	if (a == NULL)
		return;
	state_save(a);
	json_decref(a->state);
	if (a->secret != NULL)
		crypto_wipe(a->secret, a->secretlen);
	free(a->secret);
	free(a);
	curl_global_cleanup();
}
