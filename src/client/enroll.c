/*
 * enroll.c - setting a machine up: "gigavault init" (the key file) and
 * "gigavault register" (a one-time token exchanged for the client's
 * long-term secret, kept in the state file with the server's id; over
 * TLS also the server's key pin and, with VerifyClient, a client
 * certificate) and "gigavault pin" (pin the key of a server registered
 * with before SSL was on, or whose key was replaced).
 */
#include "autoconf.h"

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "client.h"
#include "keyfile.h"

static int	client_cert(struct client *, struct remote *, const char *,
		    char *, size_t);

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
			return client_usage(c);
	if (optind != argc)
		return client_usage(c);
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
	struct remote_tls tls;
	struct remote *r;
	const char *token = NULL, *addr;
	char err[1024], host[256], hex[2 * SERVER_ID_LEN + 1], pin[96];
	int ch, port;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		if (ch == OPT_TOKEN)
			token = optarg;
		else
			return client_usage(c);
	}
	if (optind != argc || token == NULL)
		return client_usage(c);
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
	if (client_address(c, addr, host, sizeof(host), &port, err,
	    sizeof(err)) == -1) {
		warnx("\"%s\" is not HOST[:PORT]", addr);
		return EXIT_ERROR;
	}
	if (strlen(token) == 0 || strlen(token) > 128) {
		warnx("a token is 1 to 128 characters");
		return EXIT_ERROR;
	}

	memset(&st, 0, sizeof(st));
	if (client_tls(c, NULL, &tls, err, sizeof(err)) == -1 ||
	    (r = remote_connect(host, port, NULL, &tls, err,
	    sizeof(err))) == NULL) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	if (remote_register(r, token, st.name, st.secret, err,
	    sizeof(err)) == -1) {
		warnx("%s: %s", addr, err);
		remote_close(r);
		return EXIT_ERROR;
	}
	memcpy(st.server_id, remote_server_id(r), SERVER_ID_LEN);
	st.has_pin = remote_tls_pin(r, st.tls_pin) == 0;
	if (st.has_pin && client_cert(c, r, st.name, err, sizeof(err)) == -1)
		warnx("%s: no client certificate: %s", addr, err);
	remote_close(r);
	snprintf(st.server, sizeof(st.server), "%s", addr);
	if (client_state_write(c->conf->statefile, &st, err,
	    sizeof(err)) == -1) {
		warnx("%s (the token is used up now: ask for a new one)", err);
		crypto_wipe(&st, sizeof(st));
		return EXIT_ERROR;
	}
	hex_encode(st.server_id, SERVER_ID_LEN, hex);
	printf("registered as ");
	client_putsafe(stdout, st.name);
	printf(" with %s\nserver id %s\n", addr, hex);
	if (st.has_pin) {
		tls_pin_text(st.tls_pin, pin);
		printf("server key fingerprint (SHA-256), pinned:\n  %s\n"
		    "compare it with \"gigavaultctl tls show\" on the "
		    "server.\n", pin);
	}
	crypto_wipe(&st, sizeof(st));
	return 0;
}

/*
 * Right after registering over TLS: ask for a client certificate (the
 * server issues one when SSL.VerifyClient is on) and keep it in
 * SSL.Certificate, its key in SSL.Key.  0 (also when none is issued),
 * or -1 with err set.
 */
static int
client_cert(struct client *c, struct remote *r, const char *name, char *err,
    size_t errlen)
{
	uint8_t *csr = NULL;
	size_t csrlen = 0;
	char *pem = NULL;
	FILE *f;
	int rc = -1;

	if (client_mkparent(c->conf->ssl_key, err, errlen) == -1 ||
	    tls_make_request(c->conf->ssl_key, name, &csr, &csrlen, err,
	    errlen) == -1)
		return -1;
	if (remote_cert_request(r, csr, csrlen, &pem, err, errlen) == -1)
		goto done;
	if (pem == NULL) {		/* the server issues none */
		unlink(c->conf->ssl_key);
		rc = 0;
		goto done;
	}
	if ((f = fopen(c->conf->ssl_cert, "w")) == NULL ||
	    fputs(pem, f) == EOF || fclose(f) == EOF) {
		snprintf(err, errlen, "cannot write %s: %s", c->conf->ssl_cert,
		    strerror(errno));
		goto done;
	}
	printf("client certificate %s issued\n", c->conf->ssl_cert);
	rc = 0;
done:
	free(pem);
	free(csr);
	return rc;
}

/* a and b name the same bytes in hex, whatever the case and colons. */
static int
same_hex(const char *a, const char *b)
{
	for (;;) {
		while (*a == ':' || *a == ' ')
			a++;
		while (*b == ':' || *b == ' ')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a++) != tolower((unsigned char)*b++))
			return 0;
	}
}

int
cmd_pin(struct client *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "fingerprint", required_argument, NULL, OPT_CMD_FIRST },
		{ NULL, 0, NULL, 0 }
	};
	const char *want = NULL, *addr;
	char err[1024], host[256], pin[96], answer[16];
	struct remote_tls tls;
	struct remote *r;
	int ch, port, rc = EXIT_ERROR;

	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		if (ch == OPT_CMD_FIRST)
			want = optarg;
		else
			return client_usage(c);
	}
	if (optind != argc)
		return client_usage(c);
	c->ssl = 1;		/* pinning is for TLS */
	if (client_setup(c) == -1)
		return EXIT_ERROR;
	if (client_state_read(c->conf->statefile, &c->state, err,
	    sizeof(err)) == -1) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	addr = c->server ? c->server : c->conf->server[0] ? c->conf->server :
	    c->state.server;
	if (client_address(c, addr, host, sizeof(host), &port, err,
	    sizeof(err)) == -1 ||
	    client_tls(c, NULL, &tls, err, sizeof(err)) == -1 ||
	    (r = remote_connect(host, port, c->state.server_id, &tls, err,
	    sizeof(err))) == NULL) {
		warnx("%s", err);
		return EXIT_ERROR;
	}
	if (remote_tls_pin(r, c->state.tls_pin) == -1) {
		warnx("%s port %d sent no certificate", host, port);
		remote_close(r);
		return EXIT_ERROR;
	}
	remote_close(r);
	tls_pin_text(c->state.tls_pin, pin);
	printf("%s port %d: server key fingerprint (SHA-256):\n  %s\n", host,
	    port, pin);
	if (want != NULL) {
		if (!same_hex(want, pin)) {
			warnx("that is not the fingerprint given (%s); not "
			    "pinned", want);
			return EXIT_ERROR;
		}
	} else {
		if (!isatty(STDIN_FILENO)) {
			warnx("not pinned: compare it with \"gigavaultctl tls "
			    "show\" on the server and give it with "
			    "--fingerprint");
			return EXIT_ERROR;
		}
		printf("Is this the fingerprint \"gigavaultctl tls show\" "
		    "prints on the server? [y/N] ");
		fflush(stdout);
		if (fgets(answer, sizeof(answer), stdin) == NULL ||
		    (answer[0] != 'y' && answer[0] != 'Y')) {
			warnx("not pinned");
			return EXIT_ERROR;
		}
	}
	c->state.has_pin = 1;
	if (client_state_write(c->conf->statefile, &c->state, err,
	    sizeof(err)) == -1)
		warnx("%s", err);
	else {
		printf("pinned in %s\n", c->conf->statefile);
		rc = 0;
	}
	return rc;
}
