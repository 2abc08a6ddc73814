/*
 * statuscmd.c - gigavaultctl status: the server at a glance.  The pool
 * and its sessions come from the running daemon, asked as the console
 * asks (the UI bridge's {"request":"status"} on Ports.UI, see
 * doc/protocol.md); the storage totals from the catalog, the last and
 * next prune and scrub from DataDir/housekeeping.json (hkstatus.h), the
 * free space from DataDir's file system, as gigavaultctl stats says it.
 * A daemon that does not answer is reported, and the rest still shown.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/catalog.h"
#include "server/config.h"
#include "server/hkstatus.h"
#include "server/pidfile.h"
#include "server/store.h"
#include "ctl.h"

#define BRIDGE_WAIT_MS	5000		/* connect, ask and read, in all */
#define BRIDGE_REPLY_MAX (1024 * 1024)	/* bytes of the status line */

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int
left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/*
 * The UI bridge's address for this config: the first Server.Listen
 * address, loopback for a wildcard.
 */
static int
bridge_addr(const struct gv_config *cfg, struct sockaddr_storage *ss,
    socklen_t *sslen, char *text, size_t len)
{
	const char *a = cfg->nlisten > 0 ? cfg->listen[0] : "*";
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (strcmp(a, "*") == 0 || strcmp(a, "0.0.0.0") == 0)
		a = "127.0.0.1";
	else if (strcmp(a, "::") == 0)
		a = "::1";
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)cfg->port.ui);
		*sslen = sizeof(*sin);
		snprintf(text, len, "%s:%d", a, cfg->port.ui);
	} else if (inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)cfg->port.ui);
		*sslen = sizeof(*sin6);
		snprintf(text, len, "[%s]:%d", a, cfg->port.ui);
	} else
		return -1;
	return 0;
}

/*
 * Ask the UI bridge for its status.  The decoded reply (the caller
 * decrefs), or NULL with the reason in err.
 */
static json_t *
ask_bridge(const struct gv_config *cfg, char *where, size_t wlen, char *err,
    size_t errlen)
{
	static const char req[] = "{\"request\":\"status\"}\n";
	struct sockaddr_storage ss;
	struct timespec deadline;
	struct pollfd pfd;
	socklen_t sslen;
	json_error_t jerr;
	json_t *j = NULL;
	char *buf = NULL, *nl = NULL;
	size_t got = 0, sent = 0;
	ssize_t n;
	int fd, soerr;
	socklen_t olen = sizeof(soerr);

	if (bridge_addr(cfg, &ss, &sslen, where, wlen) == -1) {
		snprintf(where, wlen, "%s", cfg->listen[0]);
		snprintf(err, errlen, "Server.Listen %s: not an address",
		    cfg->listen[0]);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += BRIDGE_WAIT_MS / 1000;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	pfd.fd = fd;
	if (connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
		if (errno != EINPROGRESS)
			goto syserr;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left_ms(&deadline)) != 1)
			goto timeout;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &olen) == -1)
			goto syserr;
		if (soerr != 0) {
			errno = soerr;
			goto syserr;
		}
	}
	while (sent < sizeof(req) - 1) {
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left_ms(&deadline)) != 1)
			goto timeout;
		if ((n = write(fd, req + sent, sizeof(req) - 1 - sent)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			goto syserr;
		}
		sent += (size_t)n;
	}
	if ((buf = malloc(BRIDGE_REPLY_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (nl == NULL) {
		if (got == BRIDGE_REPLY_MAX) {
			snprintf(err, errlen, "the reply is longer than %d "
			    "bytes", BRIDGE_REPLY_MAX);
			goto out;
		}
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left_ms(&deadline)) != 1)
			goto timeout;
		n = read(fd, buf + got, BRIDGE_REPLY_MAX - got);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1)
			goto syserr;
		if (n == 0) {
			snprintf(err, errlen, "the UI bridge closed the "
			    "connection");
			goto out;
		}
		nl = memchr(buf + got, '\n', (size_t)n);
		got += (size_t)n;
	}
	if ((j = json_loadb(buf, (size_t)(nl - buf), 0, &jerr)) == NULL ||
	    !json_is_object(j)) {
		snprintf(err, errlen, "the reply is not a JSON object");
		json_decref(j);
		j = NULL;
	} else if (json_is_string(json_object_get(j, "error"))) {
		snprintf(err, errlen, "%s", json_string_value(
		    json_object_get(j, "error")));
		json_decref(j);
		j = NULL;
	}
	goto out;
timeout:
	snprintf(err, errlen, "no answer within %d s", BRIDGE_WAIT_MS / 1000);
	goto out;
syserr:
	snprintf(err, errlen, "%s", strerror(errno));
out:
	free(buf);
	close(fd);
	return j;
}

/* A member of o as an integer (0 when missing or not one). */
static long long
int_of(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "42 s", "12 min", "5 h 3 min", "3 d 4 h". */
static void
fmt_span(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%lld s", s);
	else if (s < 3600)
		snprintf(buf, len, "%lld min", s / 60);
	else if (s < 86400)
		snprintf(buf, len, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lld d %lld h", s / 86400,
		    s % 86400 / 3600);
}

/* The daemon's part, from the bridge's reply (NULL: not answering). */
static void
print_daemon(pid_t pid, json_t *st, const char *where, const char *why)
{
	json_t *workers, *w;
	size_t i;
	long long busy = 0, idle = 0, starting = 0;
	char span[32], when[32];

	if (st == NULL) {
		if (pid != 0)
			printf("daemon:    pid %ld, but its UI bridge on %s "
			    "does not answer: %s\n", (long)pid, where, why);
		else
			printf("daemon:    not running (no answer on %s: %s)\n",
			    where, why);
		return;
	}
	fmt_span(int_of(st, "uptime"), span, sizeof(span));
	printf("daemon:    running");
	if (pid != 0)
		printf(", pid %ld", (long)pid);
	printf(", version %s, up %s\n", json_string_value(json_object_get(st,
	    "version")) ? json_string_value(json_object_get(st, "version")) :
	    "?", span);
	workers = json_object_get(st, "workers");
	json_array_foreach(workers, i, w) {
		const char *s = json_string_value(json_object_get(w, "state"));

		if (s != NULL && strcmp(s, "busy") == 0)
			busy++;
		else if (s != NULL && strcmp(s, "idle") == 0)
			idle++;
		else
			starting++;
	}
	printf("pool:      %lld workers: %lld busy, %lld idle, %lld "
	    "starting; %lld sessions served\n", int_of(st, "pool_size"), busy,
	    idle, starting, int_of(st, "sessions_served"));
	json_array_foreach(workers, i, w) {
		const char *peer = json_string_value(json_object_get(w,
		    "peer"));
		const char *s = json_string_value(json_object_get(w, "state"));

		if (s == NULL || strcmp(s, "busy") != 0)
			continue;
		fmt_utc((uint64_t)int_of(w, "since"), when, sizeof(when));
		printf("session:   worker pid %lld with %s since %s\n",
		    int_of(w, "pid"), peer ? peer : "?", when);
	}
}

/* One housekeeping job's line from housekeeping.json's object. */
static void
print_job(const char *name, json_t *job)
{
	json_t *last = json_object_get(job, "last");
	const char *result, *msg;
	char when[32];

	printf("%-10s ", name);
	if (json_is_true(json_object_get(job, "running"))) {
		fmt_utc((uint64_t)int_of(job, "started"), when, sizeof(when));
		printf("running since %s; ", when);
	}
	if (!json_is_object(last))
		printf("never run");
	else {
		fmt_utc((uint64_t)int_of(last, "ended"), when, sizeof(when));
		result = json_string_value(json_object_get(last, "result"));
		msg = json_string_value(json_object_get(last, "message"));
		printf("last ended %s: %s", when, result ? result : "?");
		if (msg != NULL && msg[0] != '\0')
			printf(" (%s)", msg);
	}
	if (json_integer_value(json_object_get(job, "next")) > 0) {
		fmt_utc((uint64_t)int_of(job, "next"), when, sizeof(when));
		printf("; next %s", when);
	}
	printf("\n");
}

int
cmd_status(struct ctl *c)
{
	const struct gv_config *cfg = c->cfg;
	struct cat_totals t;
	struct store_space sp;
	json_t *st, *hk, *disk, *out;
	char where[128], why[256], err[256], b1[32], b2[32], b3[32];
	pid_t pid;
	int space_ok, up, rc;

	if (catalog_totals(c->cat, &t) != CAT_OK) {
		fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
		return EXIT_RUNTIME;
	}
	pid = pidfile_running(cfg->pidfile);
	st = ask_bridge(cfg, where, sizeof(where), why, sizeof(why));
	up = st != NULL;
	if ((hk = hkstatus_load(cfg->datadir)) == NULL)
		fprintf(stderr, "gigavaultctl: %s/housekeeping.json cannot be "
		    "read\n", cfg->datadir);
	space_ok = store_space_of(cfg->datadir, cfg->reserve_space, &sp, err,
	    sizeof(err)) == 0;
	if (!space_ok)
		fprintf(stderr, "gigavaultctl: %s\n", err);
	if (c->json) {
		json_t *daemon;

		if (st != NULL) {
			daemon = st;
			json_object_set_new(daemon, "running", json_true());
		} else
			daemon = json_pack("{s:b, s:s}", "running", 0,
			    "error", why);
		json_object_set_new(daemon, "pid", pid != 0 ?
		    json_integer(pid) : json_null());
		json_object_set_new(daemon, "ui_bridge", json_string(where));
		disk = space_ok ? json_pack("{s:I, s:I, s:I, s:s}",
		    "free", (json_int_t)sp.free,
		    "capacity", (json_int_t)sp.capacity,
		    "reserve", (json_int_t)sp.reserve,
		    "level", store_level_name(sp.level)) : json_null();
		json_object_del(daemon, "disk");	/* said below */
		out = json_pack("{s:o, s:{s:I, s:I, s:I, s:I}, s:O, s:O, "
		    "s:o}", "daemon", daemon,
		    "storage", "clients", (json_int_t)t.clients,
		    "snapshots", (json_int_t)t.snapshots,
		    "size", (json_int_t)t.size,
		    "unique_bytes", (json_int_t)t.unique_bytes,
		    "prune", hk ? json_object_get(hk, "prune") : json_null(),
		    "scrub", hk ? json_object_get(hk, "scrub") : json_null(),
		    "disk", disk);
		json_decref(hk);
		rc = print_json(out);
		return rc != 0 ? rc : up ? 0 : EXIT_RUNTIME;
	}
	print_daemon(pid, st, where, why);
	printf("storage:   %llu clients, %llu snapshots, %s (%s unique)\n",
	    (unsigned long long)t.clients, (unsigned long long)t.snapshots,
	    fmt_size(c, t.size, b1, sizeof(b1)),
	    fmt_size(c, t.unique_bytes, b2, sizeof(b2)));
	if (hk != NULL) {
		print_job("prune:", json_object_get(hk, "prune"));
		print_job("scrub:", json_object_get(hk, "scrub"));
	}
	if (space_ok)
		printf("disk:      %s free of %s, reserve %s: %s\n",
		    fmt_size(c, sp.free, b1, sizeof(b1)),
		    fmt_size(c, sp.capacity, b2, sizeof(b2)),
		    fmt_size(c, sp.reserve, b3, sizeof(b3)),
		    store_level_name(sp.level));
	json_decref(hk);
	json_decref(st);
	return up ? 0 : EXIT_RUNTIME;
}
