/*
 * gv-lease.c - drives src/server/lease.c from the command line, for
 * t/92-lease.t: contenders for one bucket's lease.  Not installed.
 *
 *   gv-lease -e ENDPOINT -r REGION -b BUCKET -k CREDFILE -p PREFIX
 *            -i HOLDER [-d DURATION] CMD ARGS
 *
 * Commands:
 *   hold SECONDS  take the lease (waiting while another holds it), hold
 *                 it for SECONDS (0: until SIGTERM) renewing it, then
 *                 release it.  Lines on stdout, each with the wall
 *                 clock (seconds since the epoch, 3 decimals) last:
 *                   waiting HOLDER GENERATION T   (each new holder seen)
 *                   held GENERATION new|expired|released T
 *                   renewed RENEWAL T
 *                   lost REASON... T              (exit 4)
 *                   released T                    (exit 0)
 *   steal         write the lease as HOLDER without a condition (what a
 *                 second writer that ignored the protocol would do)
 *   show          the lease document, or exit 3 when there is none
 * Exit: 0 done, 1 error (the message on stderr), 2 usage, 3 no lease,
 * 4 lost.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"
#include "server/lease.h"
#include "server/s3.h"

#define POLL_MS	250

static volatile sig_atomic_t stop;
static char err[1024];

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void
nap(int64_t ms)
{
	struct timespec t;

	if (ms <= 0)
		return;
	t = mono_timespec(ms);
	nanosleep(&t, NULL);	/* a signal cuts it short: checked after */
}

static int
usage(void)
{
	fprintf(stderr, "usage: gv-lease -e ENDPOINT -r REGION -b BUCKET "
	    "-k CREDFILE -p PREFIX -i HOLDER [-d DURATION] hold SECONDS | "
	    "steal | show\n");
	return 2;
}

static int
hold(struct lease *l, long seconds)
{
	static const char *hows[] = { "new", "expired", "released" };
	enum lease_how how;
	char last[LEASE_HOLDER_MAX + 32] = "";
	int64_t end = 0;
	int rc;

	for (;;) {
		if (stop)
			return 0;
		rc = lease_take(l, &how, err, sizeof(err));
		if (rc == LEASE_HELD)
			break;
		if (rc == LEASE_ERROR)
			fprintf(stderr, "%s\n", err);
		else if (l->other_ok) {
			char cur[sizeof(last)];

			snprintf(cur, sizeof(cur), "%s %" PRIu64,
			    l->other.holder, l->other.generation);
			if (strcmp(cur, last) != 0) {
				printf("waiting %s %.3f\n", cur, now());
				memcpy(last, cur, sizeof(last));
			}
		}
		nap(POLL_MS);
	}
	printf("held %" PRIu64 " %s %.3f\n", l->me.generation, hows[how],
	    now());
	if (seconds > 0)
		end = mono_ms() + seconds * 1000;
	while (!stop && (end == 0 || mono_ms() < end)) {
		int64_t wake = lease_renew_due(l);

		if (end != 0 && end < wake)
			wake = end;
		nap(wake - mono_ms());
		if (stop || (end != 0 && mono_ms() >= end))
			break;
		if (mono_ms() < lease_renew_due(l))
			continue;
		rc = lease_renew(l, err, sizeof(err));
		if (rc == LEASE_HELD)
			printf("renewed %" PRIu64 " %.3f\n", l->me.renewal,
			    now());
		else if (rc == LEASE_LOST) {
			printf("lost %s %.3f\n", err, now());
			return 4;
		} else {
			fprintf(stderr, "%s\n", err);
			nap(POLL_MS);
		}
	}
	rc = lease_release(l, err, sizeof(err));
	if (rc == LEASE_RELEASED) {
		printf("released %.3f\n", now());
		return 0;
	}
	printf("lost %s %.3f\n", err, now());
	return rc == LEASE_LOST ? 4 : 1;
}

int
main(int argc, char **argv)
{
	struct s3_config c;
	struct s3 *s;
	struct lease l;
	struct sigaction sa;
	const char *prefix = NULL, *holder = NULL;
	char host[256];
	long duration = 30;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	c.path_style = 1;
	c.retries = -1;
	while ((ch = getopt(argc, argv, "e:r:b:k:p:i:d:")) != -1) {
		switch (ch) {
		case 'e': c.endpoint = optarg; break;
		case 'r': c.region = optarg; break;
		case 'b': c.bucket = optarg; break;
		case 'k': c.cred_file = optarg; break;
		case 'p': prefix = optarg; break;
		case 'i': holder = optarg; break;
		case 'd': duration = atol(optarg); break;
		default: return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || c.endpoint == NULL || c.region == NULL ||
	    c.bucket == NULL || c.cred_file == NULL || prefix == NULL ||
	    holder == NULL || duration < 0 || duration > UINT32_MAX)
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (gethostname(host, sizeof(host)) == -1)
		strcpy(host, "?");
	host[sizeof(host) - 1] = '\0';
	if (s3_open(&c, &s, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (lease_init(&l, s, prefix, holder, host, getpid(),
	    (uint32_t)duration, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		s3_close(s);
		return 1;
	}
	if (strcmp(argv[0], "hold") == 0 && argc == 2)
		rc = hold(&l, atol(argv[1]));
	else if (strcmp(argv[0], "steal") == 0 && argc == 1) {
		char doc[LEASE_DOC_MAX + 1];
		int n;

		l.me.generation = 1000;
		n = lease_encode(&l.me, doc, sizeof(doc));
		rc = s3_put(s, l.key, doc, (size_t)n, S3_COND_NONE, NULL,
		    NULL, err, sizeof(err));
		if (rc != S3_OK)
			fprintf(stderr, "%s\n", err);
		else
			printf("stole %.3f\n", now());
		rc = rc == S3_OK ? 0 : 1;
	} else if (strcmp(argv[0], "show") == 0 && argc == 1) {
		void *body;
		size_t n;

		rc = s3_get(s, l.key, LEASE_DOC_MAX, &body, &n, err,
		    sizeof(err));
		if (rc == S3_OK) {
			fwrite(body, 1, n, stdout);
			printf("\n");
			free(body);
			rc = 0;
		} else if (rc == S3_NOTFOUND)
			rc = 3;
		else {
			fprintf(stderr, "%s\n", err);
			rc = 1;
		}
	} else
		rc = usage();
	s3_close(s);
	return rc;
}
