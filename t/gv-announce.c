/*
 * gv-announce.c - the agent's discovery (src/agent/announce.c) alone,
 * for t/62-discover-agent.t before and beside the agent: announce_start()
 * on an event base until SIGTERM, then announce_stop() (its LEAVE) and
 * exit 0.  Prints "announcing" once started; exits 1 with the error
 * when announce_start() fails, 2 on a bad flag.
 *
 *	gv-announce -n NAME [-i IDHEX] [-g GROUP] [-a PORT] [-q PORT]
 *	    [-s PORT] [-u PORT] [-b PORT] [-S PORT] [-t TTL] [-I SECONDS]
 *
 * -i the agent's id (32 hex digits; default 00..01), -g the group
 * (239.255.63.63), -a and -q Ports.Multicast (6363, 6364), -s
 * Ports.UDPScan (32006; 0 answers no probes), -u the UI port (32005),
 * -b and -S the server's backup and TLS ports (32004, 32007), -t the
 * TTL (1), -I seconds between ANNOUNCEs (2).
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent/announce.h"
#include "common/crypto.h"

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

static int
num(const char *s, int min, int max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "gv-announce: \"%s\" is not in %d..%d\n", s,
		    min, max);
		exit(2);
	}
	return (int)v;
}

int
main(int argc, char **argv)
{
	struct announce_conf c;
	struct event_base *base;
	struct announce *a;
	struct event *sig;
	char err[512];
	int ch;

	memset(&c, 0, sizeof(c));
	c.id[SERVER_ID_LEN - 1] = 1;
	c.group = "239.255.63.63";
	c.port_announce = 6363;
	c.port_query = 6364;
	c.port_udpscan = 32006;
	c.port_ui = 32005;
	c.port_backup = 32004;
	c.port_ssl = 32007;
	c.ttl = 1;
	c.interval = 2;
	while ((ch = getopt(argc, argv, "n:i:g:a:q:s:u:b:S:t:I:")) != -1) {
		switch (ch) {
		case 'n':
			c.name = optarg;
			break;
		case 'i':
			if (strlen(optarg) != 2 * SERVER_ID_LEN ||
			    hex_decode(optarg, c.id, SERVER_ID_LEN) == -1) {
				fprintf(stderr, "gv-announce: -i: 32 hex "
				    "digits\n");
				return 2;
			}
			break;
		case 'g':
			c.group = optarg;
			break;
		case 'a':
			c.port_announce = num(optarg, 1, 65535);
			break;
		case 'q':
			c.port_query = num(optarg, 1, 65535);
			break;
		case 's':
			c.port_udpscan = num(optarg, 0, 65535);
			break;
		case 'u':
			c.port_ui = num(optarg, 0, 65535);
			break;
		case 'b':
			c.port_backup = num(optarg, 0, 65535);
			break;
		case 'S':
			c.port_ssl = num(optarg, 0, 65535);
			break;
		case 't':
			c.ttl = num(optarg, 1, 255);
			break;
		case 'I':
			c.interval = num(optarg, 1, 86400);
			break;
		default:
			fprintf(stderr, "usage: gv-announce -n NAME [-i IDHEX] "
			    "[-g GROUP] [-a PORT] [-q PORT] [-s PORT] "
			    "[-u PORT] [-b PORT] [-S PORT] [-t TTL] "
			    "[-I SECONDS]\n");
			return 2;
		}
	}
	if ((base = event_base_new()) == NULL ||
	    (sig = evsignal_new(base, SIGTERM, on_term, base)) == NULL ||
	    event_add(sig, NULL) == -1) {
		fprintf(stderr, "gv-announce: event setup failed\n");
		return 1;
	}
	if ((a = announce_start(base, &c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gv-announce: %s\n", err);
		return 1;
	}
	printf("announcing\n");
	fflush(stdout);
	event_base_dispatch(base);
	announce_stop(a);
	event_free(sig);
	event_base_free(base);
	return 0;
}
