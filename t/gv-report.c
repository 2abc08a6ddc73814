/*
 * gv-report.c - the agent's frames from the command line, for tests
 * that need failed, overdue or polled clients without running the agent
 * (t/58-job-reports.t, the console's and the alerts' tests).  It is a
 * registered client (its client.conf and state file, as gigavault
 * uses them; no key file needed).  These
 * flags are kept stable: other tests depend on them.
 *
 *	gv-report -c CLIENT.CONF --set SET [--result ok|partial|failed|
 *	    cancelled] [--error TEXT] [--start T] [--end T] [--next-run T]
 *	    [--request ID] [--snapshot ID] [--files N] [--bytes N]
 *	    [--read N] [--sent N] [--problems N]
 *
 * sends one JOB_REPORT and waits for the server's ack.  The result
 * defaults to ok, start and end to now, next run to none (0).
 * A time T is Unix seconds, or +N / -N: N seconds after or before now.
 *
 *	gv-report -c CLIENT.CONF --poll [--agent NAME]
 *	    [--job SET:NEXT:INTERVAL[:running]] ...
 *	    [--answer STATUS:TEXT [--answer-id ID]]
 *
 * sends one AGENT_POLL naming those jobs (NEXT a time as above, 0 for
 * none; INTERVAL seconds) and the agent NAME (default "gv-report"), and
 * prints each request it got as "ID KIND SET", one a line (a browse or
 * restore request of protocol version 5: "ID KIND SET ARGS").  With
 * --answer STATUS:TEXT it answers each of those with AGENT_ANSWER
 * (STATUS 0 done, 1 started, 2 failed; TEXT as it is, JSON or not);
 * with --answer-id ID it sends that answer to request ID, taken or not.
 * It speaks the newest protocol version; GIGAVAULT_TEST_PROTOCOL_MAX=4
 * makes it a version 4 agent (gigavault(1)).
 *
 * Exit 0; 1 when the server refused (its message on stderr); 2 for a
 * usage or setup error.
 */
#include "autoconf.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "client/remote.h"

#define MAX_JOBS	REMOTE_AGENT_JOBS_MAX

static void
usage(void)
{
	fprintf(stderr, "usage: gv-report -c CLIENT.CONF --set SET "
	    "[--result ok|partial|failed|cancelled] [--error TEXT] "
	    "[--start T] [--end T] [--next-run T] [--request ID] "
	    "[--snapshot ID] [--files N] [--bytes N] [--read N] [--sent N] "
	    "[--problems N]\n"
	    "       gv-report -c CLIENT.CONF --poll [--agent NAME] "
	    "[--job SET:NEXT:INTERVAL[:running]] ... "
	    "[--answer STATUS:TEXT [--answer-id ID]]\n");
	exit(2);
}

/* A count: decimal digits only. */
static uint64_t
number(const char *s, const char *what)
{
	char *end;
	uint64_t v;

	errno = 0;
	if (*s < '0' || *s > '9')
		errx(2, "%s: not a number: %s", what, s);
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		errx(2, "%s: not a number: %s", what, s);
	return v;
}

/* A time: Unix seconds, or +N / -N relative to now. */
static int64_t
when(const char *s, int64_t now, const char *what)
{
	uint64_t n;

	if (*s == '+' || *s == '-') {
		n = number(s + 1, what);
		if (n > INT32_MAX)
			errx(2, "%s: too far: %s", what, s);
		return *s == '+' ? now + (int64_t)n : now - (int64_t)n;
	}
	n = number(s, what);
	if (n > INT64_MAX / 2)
		errx(2, "%s: too far: %s", what, s);
	return (int64_t)n;
}

static int
result_of(const char *s)
{
	static const char *const names[] = { "ok", "partial", "failed",
	    "cancelled" };

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	errx(2, "--result: ok, partial, failed or cancelled, not %s", s);
}

/* SET:NEXT:INTERVAL[:running] into j. */
static void
job_of(char *spec, int64_t now, struct remote_agent_job *j)
{
	char *set = strsep(&spec, ":"), *next = strsep(&spec, ":");
	char *interval = strsep(&spec, ":"), *running = spec;

	if (next == NULL || interval == NULL ||
	    strlen(set) >= sizeof(j->set) ||
	    (running != NULL && strcmp(running, "running") != 0))
		errx(2, "--job SET:NEXT:INTERVAL[:running]");
	memset(j, 0, sizeof(*j));
	snprintf(j->set, sizeof(j->set), "%s", set);
	j->next_run = strcmp(next, "0") == 0 ? 0 : when(next, now, "--job");
	j->interval = (int64_t)number(interval, "--job interval");
	j->running = running != NULL;
}

int
main(int argc, char *argv[])
{
	enum { O_SET = 256, O_RESULT, O_ERROR, O_START, O_END, O_NEXT,
	    O_REQUEST, O_SNAP, O_FILES, O_BYTES, O_READ, O_SENT, O_PROBLEMS,
	    O_POLL, O_AGENT, O_JOB, O_ANSWER, O_ANSWER_ID };
	static const struct option longopts[] = {
		{ "set",	required_argument, NULL, O_SET },
		{ "result",	required_argument, NULL, O_RESULT },
		{ "error",	required_argument, NULL, O_ERROR },
		{ "start",	required_argument, NULL, O_START },
		{ "end",	required_argument, NULL, O_END },
		{ "next-run",	required_argument, NULL, O_NEXT },
		{ "request",	required_argument, NULL, O_REQUEST },
		{ "snapshot",	required_argument, NULL, O_SNAP },
		{ "files",	required_argument, NULL, O_FILES },
		{ "bytes",	required_argument, NULL, O_BYTES },
		{ "read",	required_argument, NULL, O_READ },
		{ "sent",	required_argument, NULL, O_SENT },
		{ "problems",	required_argument, NULL, O_PROBLEMS },
		{ "poll",	no_argument,	   NULL, O_POLL },
		{ "agent",	required_argument, NULL, O_AGENT },
		{ "job",	required_argument, NULL, O_JOB },
		{ "answer",	required_argument, NULL, O_ANSWER },
		{ "answer-id",	required_argument, NULL, O_ANSWER_ID },
		{ NULL, 0, NULL, 0 },
	};
	static struct remote_agent_job jobs[MAX_JOBS];
	struct remote_job_report r;
	struct remote_agent_request *reqs;
	const char *agent = "gv-report", *answer = NULL;
	uint64_t answer_id = 0;
	int status = 0;
	int64_t now = time(NULL);
	struct client c;
	size_t njobs = 0, n;
	char err[512];
	int ch, poll = 0, haveset = 0, start = 0, end = 0;

	memset(&c, 0, sizeof(c));
	memset(&r, 0, sizeof(r));
	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.conffile = optarg;
			break;
		case O_SET:
			if (strlen(optarg) >= sizeof(r.set))
				errx(2, "--set: too long");
			snprintf(r.set, sizeof(r.set), "%s", optarg);
			haveset = 1;
			break;
		case O_RESULT:
			r.result = result_of(optarg);
			break;
		case O_ERROR:
			if (strlen(optarg) >= sizeof(r.error))
				errx(2, "--error: at most %d bytes",
				    REMOTE_JOB_ERROR_MAX);
			snprintf(r.error, sizeof(r.error), "%s", optarg);
			break;
		case O_START:
			r.start = when(optarg, now, "--start");
			start = 1;
			break;
		case O_END:
			r.end = when(optarg, now, "--end");
			end = 1;
			break;
		case O_NEXT:
			r.next_run = strcmp(optarg, "0") == 0 ? 0 :
			    when(optarg, now, "--next-run");
			break;
		case O_REQUEST:
			r.request = number(optarg, "--request");
			break;
		case O_SNAP:
			r.snapid = number(optarg, "--snapshot");
			break;
		case O_FILES:
			r.files = number(optarg, "--files");
			break;
		case O_BYTES:
			r.bytes = number(optarg, "--bytes");
			break;
		case O_READ:
			r.read_bytes = number(optarg, "--read");
			break;
		case O_SENT:
			r.sent_bytes = number(optarg, "--sent");
			break;
		case O_PROBLEMS:
			r.problems = number(optarg, "--problems");
			break;
		case O_POLL:
			poll = 1;
			break;
		case O_ANSWER:
			if (optarg[0] < '0' || optarg[0] > '2' ||
			    optarg[1] != ':')
				errx(2, "--answer STATUS:TEXT, STATUS 0..2");
			status = optarg[0] - '0';
			answer = optarg + 2;
			break;
		case O_ANSWER_ID:
			answer_id = number(optarg, "--answer-id");
			break;
		case O_AGENT:
			agent = optarg;
			break;
		case O_JOB:
			if (njobs == MAX_JOBS)
				errx(2, "at most %d --job", MAX_JOBS);
			job_of(optarg, now, &jobs[njobs++]);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || c.conffile == NULL || poll == haveset)
		usage();
	if (!start)
		r.start = end ? r.end : now;
	if (!end)
		r.end = r.start > now ? r.start : now;
	if (client_setup(&c) == -1 || client_session(&c) == -1)
		return 2;
	if (poll) {
		if (remote_agent_poll(c.remote, agent, jobs, njobs, &reqs, &n,
		    err, sizeof(err)) == -1) {
			fprintf(stderr, "gv-report: %s\n", err);
			client_done(&c);
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			printf("%" PRIu64 " %d %s%s%s\n", reqs[i].id,
			    reqs[i].kind, reqs[i].set, reqs[i].args[0] ?
			    " " : "", reqs[i].args);
			if (answer == NULL || reqs[i].kind ==
			    REMOTE_REQ_BACKUP || answer_id != 0)
				continue;
			if (remote_agent_answer(c.remote, reqs[i].id, status,
			    answer, strlen(answer), err, sizeof(err)) == -1) {
				fprintf(stderr, "gv-report: %s\n", err);
				free(reqs);
				client_done(&c);
				return 1;
			}
		}
		free(reqs);
		if (answer != NULL && answer_id != 0 &&
		    remote_agent_answer(c.remote, answer_id, status, answer,
		    strlen(answer), err, sizeof(err)) == -1) {
			fprintf(stderr, "gv-report: %s\n", err);
			client_done(&c);
			return 1;
		}
	} else if (remote_job_report(c.remote, &r, err, sizeof(err)) == -1) {
		fprintf(stderr, "gv-report: %s\n", err);
		client_done(&c);
		return 1;
	}
	client_done(&c);
	return 0;
}
