/*
 * agentcmd.c - "gigavault agent status|jobs|history [SET]|run SET|cancel
 * SET": ask the machine's gigavault-agent(8) on its UI port (Ports.UI,
 * loopback unless --ui names another address) through bridge.c, with
 * the token of Agent.UITokenFile when one is set, and print the answer
 * (or, with --json, the reply as it is).  See gigavault(1).
 */
#include "autoconf.h"

#include <err.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/human.h"
#include "client.h"

#define AGENT_WAIT_S	10	/* connect, ask and read, in all */
#define AGENT_UI	"127.0.0.1"
#define AGENT_TOKEN_MAX	256

/* Member k of o as printable text into buf ("-" when absent). */
static const char *
text(json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);

	if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
		for (size_t i = 0; buf[i] != '\0'; i++)
			if ((unsigned char)buf[i] < 0x20 ||
			    (unsigned char)buf[i] > 0x7e)
				buf[i] = '?';
	} else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, len, "-");
	return buf;
}

/* A time member as "YYYY-MM-DD HH:MM:SS", or "-" when 0 or absent. */
static const char *
when(json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		snprintf(buf, len, "-");
	else
		client_fmt_time(json_integer_value(v), "%Y-%m-%d %H:%M:%S",
		    buf, len);
	return buf;
}

/* The first line of the Agent's UITokenFile into tok, "" when none. */
static void
agent_token(struct client *c, char *tok, size_t len)
{
	FILE *f;

	tok[0] = '\0';
	if (c->conf->agent.token_file[0] == '\0' ||
	    (f = fopen(c->conf->agent.token_file, "re")) == NULL)
		return;
	if (fgets(tok, (int)len, f) == NULL)
		tok[0] = '\0';
	fclose(f);
	tok[strcspn(tok, "\r\n")] = '\0';
}

/*
 * Ask the agent: request name with set (may be NULL).  The reply, or
 * NULL after printing.
 */
static json_t *
ask(struct client *c, const char *ui, const char *name, const char *set)
{
	char tok[AGENT_TOKEN_MAX + 2], err[1024], *line;
	json_t *req, *o;

	agent_token(c, tok, sizeof(tok));
	req = json_pack("{s:s}", "request", name);
	if (req != NULL && set != NULL)
		json_object_set_new(req, "set", json_string(set));
	if (req != NULL && name[0] == 'h')
		json_object_set_new(req, "limit", json_integer(50));
	if (req != NULL && tok[0] != '\0')
		json_object_set_new(req, "token", json_string(tok));
	crypto_wipe(tok, sizeof(tok));
	if (req == NULL || (line = json_dumps(req, JSON_COMPACT)) == NULL) {
		json_decref(req);
		warnx("out of memory");
		return NULL;
	}
	json_decref(req);
	o = bridge_request(ui, c->conf->port_ui, line, AGENT_WAIT_S, err,
	    sizeof(err));
	crypto_wipe(line, strlen(line));
	free(line);
	if (o == NULL) {
		warnx("%s (is gigavault-agent running?)", err);
		return NULL;
	}
	if (json_object_get(o, "error") != NULL) {
		warnx("the agent at %s answered: %s", ui, text(o, "error", err,
		    sizeof(err)));
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
print_jobs(json_t *jobs)
{
	char set[72], sched[72], last[32], res[16], next[32], err[256];
	json_t *j;
	size_t i;

	printf("%-16s %-20s %-19s %-9s %-19s %s\n", "JOB", "SCHEDULE",
	    "LAST RUN", "RESULT", "NEXT RUN", "");
	json_array_foreach(jobs, i, j) {
		printf("%-16s %-20s %-19s %-9s %-19s %s", text(j, "set", set,
		    sizeof(set)), text(j, "schedule", sched, sizeof(sched)),
		    when(j, "last_run", last, sizeof(last)),
		    text(j, "last_result", res, sizeof(res)),
		    when(j, "next_run", next, sizeof(next)),
		    json_is_true(json_object_get(j, "running")) ? "running" :
		    "");
		if (json_integer_value(json_object_get(j, "retry_at")) > 0)
			printf("retry at %s", when(j, "retry_at", next,
			    sizeof(next)));
		putchar('\n');
		if (strcmp(res, "ok") != 0 && strcmp(res, "-") != 0 &&
		    json_string_length(json_object_get(j, "last_error")) > 0)
			printf("  %s\n", text(j, "last_error", err,
			    sizeof(err)));
	}
}

static void
print_status(json_t *o, json_t *jobs)
{
	json_t *poll = json_object_get(o, "poll");
	char buf[512], span[32], t[32];

	printf("agent:       %s\n", text(o, "agent", buf, sizeof(buf)));
	printf("id:          %s\n", text(o, "id", buf, sizeof(buf)));
	printf("version:     %s\n", text(o, "version", buf, sizeof(buf)));
	human_span((long long)json_integer_value(json_object_get(o,
	    "uptime")), span, sizeof(span));
	printf("up:          %s (pid %s)\n", span, text(o, "pid", buf,
	    sizeof(buf)));
	printf("config:      %s\n", text(o, "config", buf, sizeof(buf)));
	printf("server:      %s\n", text(o, "server", buf, sizeof(buf)));
	printf("jobs:        %s, %s running\n", text(o, "jobs", buf,
	    sizeof(buf)), text(o, "running", span, sizeof(span)));
	if (json_integer_value(json_object_get(poll, "last_poll")) <= 0)
		printf("last poll:   -\n");
	else if (json_is_string(json_object_get(poll, "last_error")))
		printf("last poll:   %s, failed: %s\n", when(poll, "last_poll",
		    t, sizeof(t)), text(poll, "last_error", buf, sizeof(buf)));
	else
		printf("last poll:   %s, ok\n", when(poll, "last_poll", t,
		    sizeof(t)));
	if (jobs != NULL && json_array_size(jobs) > 0) {
		putchar('\n');
		print_jobs(jobs);
	}
}

static void
print_history(json_t *h)
{
	char set[72], start[32], res[16], files[24], sent[32], err[256];
	json_t *r;
	size_t i;

	printf("%-19s %-16s %-9s %9s %10s  %s\n", "START", "JOB", "RESULT",
	    "FILES", "SENT", "ERROR");
	json_array_foreach(h, i, r) {
		client_fmt_bytes((double)json_integer_value(json_object_get(r,
		    "sent_bytes")), sent, sizeof(sent));
		printf("%-19s %-16s %-9s %9s %10s  %s\n", when(r, "start",
		    start, sizeof(start)), text(r, "set", set, sizeof(set)),
		    text(r, "result", res, sizeof(res)), text(r, "files",
		    files, sizeof(files)), sent, text(r, "error", err,
		    sizeof(err)));
	}
}

int
cmd_agent(struct client *c, int argc, char **argv)
{
	enum { OPT_UI = OPT_CMD_FIRST };
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "ui", required_argument, NULL, OPT_UI },
		{ NULL, 0, NULL, 0 }
	};
	const char *ui = AGENT_UI, *what, *set = NULL;
	json_t *o = NULL, *jobs = NULL;
	int ch, rc = EXIT_ERROR;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		if (ch == OPT_UI)
			ui = optarg;
		else
			return client_usage(c);
	}
	if (optind >= argc)
		return client_usage(c);
	what = argv[optind++];
	if (optind < argc)
		set = argv[optind++];
	if (optind != argc)
		return client_usage(c);
	if (strcmp(what, "status") == 0 || strcmp(what, "jobs") == 0) {
		if (set != NULL)
			return client_usage(c);
	} else if (strcmp(what, "run") == 0 || strcmp(what, "cancel") == 0) {
		if (set == NULL)
			return client_usage(c);
	} else if (strcmp(what, "history") != 0)
		return client_usage(c);
	if (set != NULL && !clientconf_valid_set(set)) {
		warnx("\"%s\" is not a set name", set);
		return EXIT_ERROR;
	}
	if (client_setup(c) == -1)
		return EXIT_ERROR;
	if ((o = ask(c, ui, what, set)) == NULL)
		goto out;
	if (strcmp(what, "status") == 0 && !c->json) {
		json_t *jo = ask(c, ui, "jobs", NULL);

		if (jo == NULL)
			goto out;
		jobs = json_incref(json_object_get(jo, "jobs"));
		json_decref(jo);
	}
	if (c->json) {
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else if (strcmp(what, "status") == 0)
		print_status(o, jobs);
	else if (strcmp(what, "jobs") == 0)
		print_jobs(json_object_get(o, "jobs"));
	else if (strcmp(what, "history") == 0)
		print_history(json_object_get(o, "history"));
	else if (strcmp(what, "run") == 0)
		printf("job %s: run started\n", set);
	else
		printf("job %s: cancelled\n", set);
	rc = 0;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		warn("standard output");
		rc = EXIT_ERROR;
	}
out:
	json_decref(jobs);
	json_decref(o);
	return rc;
}
