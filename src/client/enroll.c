/*
 * enroll.c - setting a machine up: "gigavault init" (the key file) and
 * "gigavault register" (a one-time token exchanged for the client's
 * long-term secret, kept in the state file with the server's id).
 */
#include "autoconf.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crypto.h"
#include "keyfile.h"

int
cmd_init(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	char err[512], *pass;
	size_t len;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1)
		if (!client_opt(c, ch, optarg))
			return client_usage(argv[0]);
	if (optind != argc)
		return client_usage(argv[0]);
	if (client_setup(c) == -1)
		return EXIT_ERROR;
	if (access(c->conf->keyfile, F_OK) == 0) {
		warnx("%s already exists; not replacing it (the backups made "
		    "with it need it)", c->conf->keyfile);
		return EXIT_ERROR;
	}
	if (client_mkparent(c->conf->keyfile, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	if (client_passphrase(c, 1, &pass, &len) == -1)
		return EXIT_ERROR;
	rc = keyfile_create(c->conf->keyfile, pass, len, err, sizeof(err));
	crypto_wipe(pass, len);
	free(pass);
	if (rc == -1) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	printf("key file %s created.\n"
	    "Keep a copy of it and the passphrase somewhere safe: without "
	    "both, no backup can be restored.\n", c->conf->keyfile);
	return 0;
}

int
cmd_register(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ NULL, 0, NULL, 0 }
	};
	struct client_state st, old;
	struct remote *r;
	const char *token = NULL, *addr;
	char err[1024], host[256], hex[2 * REMOTE_SERVER_ID_LEN + 1];
	int ch, port;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		if (ch == OPT_TOKEN)
			token = optarg;
		else
			return client_usage(argv[0]);
	}
	if (optind != argc || token == NULL)
		return client_usage(argv[0]);
	if (client_setup(c) == -1)
		return EXIT_ERROR;
	addr = c->server ? c->server : c->conf->server;
	if (addr[0] == '\0') {
		warnx("register needs -s HOST[:PORT] (or Server in %s)",
		    c->conf->file);
		return EXIT_ERROR;
	}
	if (client_state_read(c->conf->statefile, &old, err,
	    sizeof(err)) == 0) {
		warnx("already registered as %s with %s (%s); remove that "
		    "file to register again", old.name, old.server,
		    c->conf->statefile);
		crypto_wipe(&old, sizeof(old));
		return EXIT_ERROR;
	}
	if (access(c->conf->statefile, F_OK) == 0) {
		warnx("%s", err);	/* there, but damaged: keep it */
		return EXIT_ERROR;
	}
	if (clientconf_parse_server(addr, host, sizeof(host), &port) == -1) {
		warnx("\"%s\" is not HOST[:PORT]", addr);
		return EXIT_ERROR;
	}
	if (strlen(token) == 0 || strlen(token) > 128) {
		warnx("a token is 1 to 128 characters");
		return EXIT_ERROR;
	}

	memset(&st, 0, sizeof(st));
	if ((r = remote_connect(host, port, NULL, err, sizeof(err))) == NULL) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	if (remote_register(r, token, st.name, st.secret, err,
	    sizeof(err)) == -1) {
		warnx("%s: %s", addr, err);
		remote_close(r);
		return EXIT_ERROR;
	}
	memcpy(st.server_id, remote_server_id(r), REMOTE_SERVER_ID_LEN);
	remote_close(r);
	snprintf(st.server, sizeof(st.server), "%s", addr);
	if (client_state_write(c->conf->statefile, &st, err,
	    sizeof(err)) == -1) {
		warnx("%s (the token is used up now: ask for a new one)", err);
		crypto_wipe(&st, sizeof(st));
		return EXIT_ERROR;
	}
	hex_encode(st.server_id, REMOTE_SERVER_ID_LEN, hex);
	printf("registered as ");
	client_putsafe(stdout, st.name);
	printf(" with %s\nserver id %s\n", addr, hex);
	crypto_wipe(&st, sizeof(st));
	return 0;
}
