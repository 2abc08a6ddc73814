/*
 * gv-mh.c - the mailbox helper's client library (src/client/mhclient.c)
 * from the command line, for t/85-mailhelper.t and the mail tests.
 *
 *	gv-mh [-H HOST] -p PORT -s SECRETFILE [-t SECONDS] COMMAND ...
 *
 *	users
 *	mailboxes USER		NAME<TAB>DELIM<TAB>UIDVALIDITY<TAB>UIDNEXT
 *				<TAB>MESSAGES<TAB>SPECIAL per line
 *	messages USER MAILBOX UIDVALIDITY [STOP]
 *				UID<TAB>SIZE<TAB>DATE<TAB>TZOFF<TAB>FLAGS;
 *				with STOP the callback stops after STOP
 *				messages, then "users" runs on the same
 *				connection (it must still work)
 *	fetch USER MAILBOX UIDVALIDITY UID	the bytes on stdout
 *	header USER MAILBOX UIDVALIDITY UID	its From, Subject and Date
 *				fields (FETCH_HEADER) on stdout
 *	fetchall USER MAILBOX UIDVALIDITY [DIR]	every message (DIR/UID),
 *				then "N messages B bytes LIST_MS FETCH_MS"
 *	create USER MAILBOX
 *	append USER MAILBOX FLAGS DATE TZOFF	stdin appended; prints the UID
 *	session			requests from stdin, one a line, on this
 *				one connection ("fetch USER MAILBOX
 *				UIDVALIDITY UID", "count USER MAILBOX
 *				UIDVALIDITY"); each answered with one line,
 *				flushed: "ok LEN SHA256" (fetch), "ok N"
 *				(count), "stale", "gone" or "error TEXT"
 *
 * Exit status: 0, 1 on an error (on stderr), 3 for MH_STALE, 4 for
 * MH_GONE, 2 for usage.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/monotime.h"
#include "client/mhclient.h"

static void
usage(void)
{
	fprintf(stderr, "usage: gv-mh [-H host] -p port -s secretfile "
	    "[-t seconds] users|mailboxes|messages|fetch|fetchall|create|"
	    "append ...\n");
	exit(2);
}

static int
status(int rc, const char *err)
{
	if (rc == MH_STALE) {
		fprintf(stderr, "gv-mh: stale UIDVALIDITY\n");
		return 3;
	}
	if (rc == MH_GONE) {
		fprintf(stderr, "gv-mh: message gone\n");
		return 4;
	}
	if (rc != 0) {
		fprintf(stderr, "gv-mh: %s\n", err);
		return 1;
	}
	return 0;
}

struct list {
	uint32_t	*uids;
	size_t		 n, cap;
	long		 stop;		/* -1: never */
	int		 print;
};

static int
list_cb(void *arg, const struct mh_msginfo *m)
{
	struct list *l = arg;
	uint32_t *nu;

	if (l->stop >= 0 && (long)l->n >= l->stop)
		return -1;
	if (l->print)
		printf("%u\t%llu\t%lld\t%d\t%s\n", m->uid,
		    (unsigned long long)m->size, (long long)m->date,
		    (int)m->tzoff, m->flags);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		if ((nu = reallocarray(l->uids, l->cap, sizeof(*nu))) ==
		    NULL)
			return -1;
		l->uids = nu;
	}
	l->uids[l->n++] = m->uid;
	return 0;
}

static uint32_t
num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v > UINT32_MAX)
		usage();
	return (uint32_t)v;
}

/* All of stdin, malloc'ed. */
static uint8_t *
slurp(size_t *len)
{
	uint8_t *b = NULL, *nb;
	size_t cap = 0, n = 0;
	ssize_t r;

	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 65536;
			if ((nb = realloc(b, cap)) == NULL) {
				free(b);
				return NULL;
			}
			b = nb;
		}
		if ((r = read(STDIN_FILENO, b + n, cap - n)) == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			free(b);
			return NULL;
		}
		n += (size_t)r;
	}
	*len = n;
	return b;
}

/* One answer line of session(). */
static void
answer(int rc, const char *ok, const char *err)
{
	if (rc == MH_STALE)
		printf("stale\n");
	else if (rc == MH_GONE)
		printf("gone\n");
	else if (rc != 0)
		printf("error %s\n", err);
	else
		printf("ok %s\n", ok);
	fflush(stdout);
}

/* Requests from stdin on connection c, one a line (see the top). */
static int
session(struct mh_conn *c)
{
	char line[4096], u[256], m[1100], ok[128], err[2048];
	unsigned int uv, uid;
	uint8_t *d, h[32];
	size_t n;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		ok[0] = '\0';
		if (sscanf(line, "fetch %255s %1099s %u %u", u, m, &uv,
		    &uid) == 4) {
			rc = mh_fetch(c, u, m, uv, uid, &d, &n, err,
			    sizeof(err));
			if (rc == 0) {
				char hex[65];

				crypto_sha256(d, n, h);
				hex_encode(h, sizeof(h), hex);
				snprintf(ok, sizeof(ok), "%zu %s", n, hex);
				free(d);
			}
		} else if (sscanf(line, "count %255s %1099s %u", u, m,
		    &uv) == 3) {
			struct list l = { NULL, 0, 0, -1, 0 };

			rc = mh_messages(c, u, m, uv, list_cb, &l, err,
			    sizeof(err));
			snprintf(ok, sizeof(ok), "%zu", l.n);
			free(l.uids);
		} else {
			snprintf(err, sizeof(err), "not a request: %.200s", line);
			rc = -1;
		}
		answer(rc, ok, err);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *host = NULL, *secret = NULL, *cmd;
	struct mh_conn *c;
	char err[2048];
	int ch, port = 0, timeout = 30, rc;

	while ((ch = getopt(argc, argv, "+H:p:s:t:")) != -1) {
		switch (ch) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = (int)num(optarg);
			break;
		case 's':
			secret = optarg;
			break;
		case 't':
			timeout = (int)num(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || port == 0 || secret == NULL)
		usage();
	cmd = argv[0];
	if (mh_connect(host, port, secret, timeout, &c, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "gv-mh: %s\n", err);
		return 1;
	}
	if (strcmp(cmd, "users") == 0 && argc == 1) {
		char **u;
		size_t n;

		if ((rc = mh_users(c, &u, &n, err, sizeof(err))) == 0) {
			for (size_t i = 0; i < n; i++)
				printf("%s\n", u[i]);
			mh_strings_free(u, n);
		}
	} else if (strcmp(cmd, "mailboxes") == 0 && argc == 2) {
		struct mh_mailbox *m;
		size_t n;

		if ((rc = mh_mailboxes(c, argv[1], &m, &n, err,
		    sizeof(err))) == 0) {
			for (size_t i = 0; i < n; i++)
				printf("%s\t%c\t%u\t%u\t%u\t%s\n", m[i].name,
				    m[i].delim ? m[i].delim : '-',
				    m[i].uidvalidity, m[i].uidnext,
				    m[i].messages, m[i].special);
			mh_mailboxes_free(m, n);
		}
	} else if (strcmp(cmd, "messages") == 0 && (argc == 4 || argc == 5)) {
		struct list l = { NULL, 0, 0, argc == 5 ? (long)num(argv[4]) :
		    -1, 1 };

		rc = mh_messages(c, argv[1], argv[2], num(argv[3]), list_cb,
		    &l, err, sizeof(err));
		if (argc == 5 && rc == -1) {
			char **u;
			size_t n;

			/* Stopped: the connection must still serve. */
			printf("stopped after %zu\n", l.n);
			if ((rc = mh_users(c, &u, &n, err, sizeof(err))) == 0) {
				printf("users %zu\n", n);
				mh_strings_free(u, n);
			}
		}
		free(l.uids);
	} else if (strcmp(cmd, "fetch") == 0 && argc == 5) {
		uint8_t *d;
		size_t n;

		if ((rc = mh_fetch(c, argv[1], argv[2], num(argv[3]),
		    num(argv[4]), &d, &n, err, sizeof(err))) == 0) {
			if (fwrite(d, 1, n, stdout) != n)
				rc = -1;
			free(d);
		}
	} else if (strcmp(cmd, "header") == 0 && argc == 5) {
		uint8_t *d;
		size_t n;

		if ((rc = mh_fetch_header(c, argv[1], argv[2], num(argv[3]),
		    num(argv[4]), &d, &n, err, sizeof(err))) == 0) {
			if (fwrite(d, 1, n, stdout) != n)
				rc = -1;
			free(d);
		}
	} else if (strcmp(cmd, "fetchall") == 0 && (argc == 4 || argc == 5)) {
		struct list l = { NULL, 0, 0, -1, 0 };
		uint64_t bytes = 0;
		int64_t t0 = mono_ms(), t1;
		uint8_t *d;
		size_t n;

		rc = mh_messages(c, argv[1], argv[2], num(argv[3]), list_cb,
		    &l, err, sizeof(err));
		t1 = mono_ms();
		for (size_t i = 0; rc == 0 && i < l.n; i++) {
			if ((rc = mh_fetch(c, argv[1], argv[2], num(argv[3]),
			    l.uids[i], &d, &n, err, sizeof(err))) != 0)
				break;
			bytes += n;
			if (argc == 5) {
				char path[1024];
				FILE *f;

				snprintf(path, sizeof(path), "%s/%u", argv[4],
				    l.uids[i]);
				if ((f = fopen(path, "wb")) == NULL ||
				    fwrite(d, 1, n, f) != n || fclose(f) != 0) {
					snprintf(err, sizeof(err), "%s: %s",
					    path, strerror(errno));
					rc = -1;
				}
			}
			free(d);
		}
		if (rc == 0)
			printf("%zu messages %llu bytes %lld %lld\n", l.n,
			    (unsigned long long)bytes, (long long)(t1 - t0),
			    (long long)(mono_ms() - t1));
		free(l.uids);
	} else if (strcmp(cmd, "session") == 0 && argc == 1) {
		rc = session(c);
	} else if (strcmp(cmd, "create") == 0 && argc == 3) {
		rc = mh_create(c, argv[1], argv[2], err, sizeof(err));
	} else if (strcmp(cmd, "append") == 0 && argc == 6) {
		uint8_t *d;
		size_t n;
		uint32_t uid;
		long long date = strtoll(argv[4], NULL, 10);
		int tz = atoi(argv[5]);

		if ((d = slurp(&n)) == NULL) {
			fprintf(stderr, "gv-mh: reading stdin failed\n");
			mh_close(c);
			return 1;
		}
		if ((rc = mh_append(c, argv[1], argv[2], argv[3], date, tz, d,
		    n, &uid, err, sizeof(err))) == 0)
			printf("%u\n", uid);
		free(d);
	} else {
		mh_close(c);
		usage();
		return 2;
	}
	mh_close(c);
	if (fflush(stdout) != 0)
		rc = -1;
	return status(rc, err);
}
