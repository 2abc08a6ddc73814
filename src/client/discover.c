/*
 * discover.c - "gigavault discover": list the peers found by discovery
 * (finder.c finds them).  See gigavault(1).
 */
#include "autoconf.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "client.h"

enum { OPT_WAIT = OPT_CMD_FIRST, OPT_DIRECT, OPT_UI, OPT_GROUP, OPT_PORT };

/* A number of --name in min..max into *v; -1 after printing. */
static int
parse_num(const char *name, const char *arg, long min, long max, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(arg, &end, 10);
	if (*end == '\0' && errno == 0 && *v >= min && *v <= max)
		return 0;
	warnx("--%s \"%s\": a number, %ld..%ld", name, arg, min, max);
	return -1;
}

/* One of discover's own options: 1 taken, 0 not one, -1 bad value. */
static int
parse_opt(struct disc_opts *o, int ch, const char *arg)
{
	long v;

	if (ch == OPT_WAIT || ch == OPT_PORT) {
		if (parse_num(ch == OPT_WAIT ? "wait" : "port", arg, 1,
		    ch == OPT_WAIT ? 3600 : 65535, &v) == -1)
			return -1;
		if (ch == OPT_WAIT)
			o->wait = (double)v;
		else
			o->port = (int)v;
	} else if (ch == OPT_DIRECT)
		o->direct = 1;
	else if (ch == OPT_UI)
		o->ui = arg;
	else if (ch == OPT_GROUP)
		o->group = arg;
	else
		return 0;
	return 1;
}

int
cmd_discover(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "direct", no_argument, NULL, OPT_DIRECT },
		{ "ui", required_argument, NULL, OPT_UI },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "port", required_argument, NULL, OPT_PORT },
		{ NULL, 0, NULL, 0 }
	};
	struct disc_opts o = { DISC_UI, DISC_GROUP, DISC_PORT, DISC_WAIT_S, 0 };
	char err[512];
	json_t *list, *p;
	size_t i;
	int ch, r;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		if ((r = parse_opt(&o, ch, optarg)) == -1)
			return EXIT_ERROR;
		if (r == 0)
			return client_usage(c);
	}
	if (optind != argc)
		return client_usage(c);
	if ((list = client_find_peers(&o, err, sizeof(err))) == NULL) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	if (c->json) {
		json_t *out = json_pack("{s:o}", "peers", list);

		json_dumpf(out, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(out);
		return 0;
	}
	json_array_foreach(list, i, p)
		client_print_peer(stdout, p);
	if (json_array_size(list) == 0)
		printf("no peer found\n");
	json_decref(list);
	return 0;
}

