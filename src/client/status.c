/*
 * status.c - "gigavault status": what a server's UI bridge answers to
 * {"request":"status"} (doc/protocol.md): its id, version, uptime, pool
 * size, sessions served and one line per worker; or, with --json, the
 * reply as it is.  bridge.c does the asking.  See gigavault(1).
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

#define STATUS_WAIT_S	10	/* connect, ask and read, in all */

/*
 * Member k of o as text into buf: a string (bytes that are not printable
 * ASCII shown as '?': it comes from the network), a number, or "-".
 */
static const char *
member(json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);
	size_t i;

	if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
		for (i = 0; buf[i] != '\0'; i++)
			if ((unsigned char)buf[i] < 0x20 ||
			    (unsigned char)buf[i] > 0x7e)
				buf[i] = '?';
	} else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "-");
	return buf;
}

static void
print_worker(json_t *w, time_t now)
{
	json_t *since = json_object_get(w, "since");
	char pid[24], state[16], peer[64], when[64], span[32];

	printf("  %-8s %-9s %-24s", member(w, "pid", pid, sizeof(pid)),
	    member(w, "state", state, sizeof(state)),
	    member(w, "peer", peer, sizeof(peer)));
	if (json_is_integer(since)) {
		client_fmt_time(json_integer_value(since), "%Y-%m-%d %H:%M:%S",
		    when, sizeof(when));
		human_span((long long)now - json_integer_value(since), span,
		    sizeof(span));
		printf(" %s (%s ago)", when, span);
	} else
		printf(" -");
	if (json_is_true(json_object_get(w, "retiring")))
		printf("  retiring");
	putchar('\n');
}

static void
print_status(json_t *o)
{
	json_t *up = json_object_get(o, "uptime"), *w;
	json_t *workers = json_object_get(o, "workers");
	char buf[128];
	time_t now = time(NULL);
	size_t i;

	printf("server id:        %s\n", member(o, "server_id", buf,
	    sizeof(buf)));
	printf("version:          %s\n", member(o, "version", buf,
	    sizeof(buf)));
	if (json_is_integer(up))
		human_span((long long)json_integer_value(up), buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	printf("uptime:           %s\n", buf);
	printf("pool size:        %s\n", member(o, "pool_size", buf,
	    sizeof(buf)));
	printf("sessions served:  %s\n", member(o, "sessions_served", buf,
	    sizeof(buf)));
	printf("workers:          %zu\n", json_array_size(workers));
	if (json_array_size(workers) > 0)
		printf("  %-8s %-9s %-24s %s\n", "PID", "STATE", "PEER",
		    "SINCE");
	json_array_foreach(workers, i, w)
		print_worker(w, now);
}

/*
 * The UI bridge to ask: -s as given (its port, else Ports.UI); else the
 * host of the backup server (-s auto's choice, Server, or the registered
 * one) with Ports.UI.  Into buf; 0, or -1 after printing.
 */
static int
ui_address(struct client *c, int backup_addr, char *buf, size_t len)
{
	struct client_state st;
	char err[1024], host[256], saved[sizeof(st.server)];
	const char *addr = c->server;
	int port;

	if (addr != NULL && !backup_addr) {
		snprintf(buf, len, "%s", addr);
		return 0;
	}
	if (addr == NULL && c->conf->server[0] != '\0')
		addr = c->conf->server;
	if (addr == NULL) {
		if (client_state_read(c->conf->statefile, &st, err,
		    sizeof(err)) == -1) {
			crypto_wipe(&st, sizeof(st));
			warnx("no server to ask: use -s HOST[:PORT], set "
			    "Server, or register (%s)", err);
			return -1;
		}
		memcpy(saved, st.server, sizeof(saved));
		crypto_wipe(&st, sizeof(st));
		addr = saved;
	}
	if (clientconf_parse_server(addr, host, sizeof(host), &port) == -1) {
		warnx("bad server address \"%s\"", addr);
		return -1;
	}
	snprintf(buf, len, strchr(host, ':') ? "[%s]" : "%s", host);
	return 0;
}

int
cmd_status(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	char addr[300], err[1024];
	json_t *o;
	int ch, backup_addr;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1)
		if (!client_opt(c, ch, optarg))
			return client_usage(c);
	if (optind != argc)
		return client_usage(c);
	/* -s auto finds a backup server: ask its host on Ports.UI. */
	backup_addr = c->server == NULL || strcmp(c->server, "auto") == 0;
	if (client_setup(c) == -1 ||
	    ui_address(c, backup_addr, addr, sizeof(addr)) == -1)
		return EXIT_ERROR;
	if ((o = bridge_request(addr, c->conf->port_ui,
	    "{\"request\":\"status\"}", STATUS_WAIT_S, err,
	    sizeof(err))) == NULL) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	if (json_object_get(o, "error") != NULL) {
		warnx("%s: the UI bridge answered with an error: %s", addr,
		    member(o, "error", err, sizeof(err)));
		json_decref(o);
		return EXIT_ERROR;
	}
	if (!json_is_string(json_object_get(o, "server_id")) ||
	    !json_is_array(json_object_get(o, "workers"))) {
		warnx("%s: not a status reply (no server_id and workers)",
		    addr);
		json_decref(o);
		return EXIT_ERROR;
	}
	if (c->json) {
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else
		print_status(o);
	json_decref(o);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		warn("standard output");
		return EXIT_ERROR;
	}
	return 0;
}
