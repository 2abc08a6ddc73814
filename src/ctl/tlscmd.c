/*
 * tlscmd.c - "gigavaultctl tls init" and "tls show": the server's TLS
 * key and certificate at the paths SSL.Certificate and SSL.Key name,
 * and the authority in DataDir that issues client certificates
 * (SSL.VerifyClient).  These run as the invoking user (root, for
 * /etc/gigavault) and never open the catalog.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/tls.h"
#include "server/config.h"
#include "ctl.h"

#define DAYS_DEFAULT	3650
#define DAYS_MAX	36500

static void
print_pin(const char *what, const uint8_t pin[TLS_PIN_LEN])
{
	char text[96];

	tls_pin_text(pin, text);
	printf("%s public key fingerprint (SHA-256):\n  %s\n", what, text);
}

/* mkdir path (mode 0700) unless it exists.  0, or EXIT_RUNTIME. */
static int
make_dir(const char *path)
{
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "gigavaultctl: cannot create %s: %s\n", path,
		    strerror(errno));
		return EXIT_RUNTIME;
	}
	return 0;
}

/* A host name or an address: what a certificate's name may be. */
static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' &&
		    *s != ':')
			return 0;
	return 1;
}

/* The authority for client certificates, made once. */
static int
client_ca(const struct ctl *c, int days)
{
	char dir[4096], cert[4096], key[4096], err[512];
	uint8_t pin[TLS_PIN_LEN];

	snprintf(dir, sizeof(dir), "%s/tls", c->cfg->datadir);
	config_client_ca(c->cfg, cert, key, sizeof(cert));
	if (access(cert, F_OK) == 0 || access(key, F_OK) == 0) {
		printf("client authority: %s (kept)\n", cert);
		return 0;
	}
	if (make_dir(c->cfg->datadir) != 0 || make_dir(dir) != 0)
		return EXIT_RUNTIME;
	if (tls_make_selfsigned(cert, key, "gigavault client authority",
	    days, 0, 1, pin, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	printf("client authority: %s (new; used with SSL.VerifyClient = 1)\n",
	    cert);
	return 0;
}

int
cmd_tls_init(struct ctl *c)
{
	const struct gv_config *cfg = c->cfg;
	unsigned long long days;
	char host[256], err[512];
	const char *cn = opt_get(c, "--name");
	int renew = opt_get(c, "--renew") != NULL;
	int force = opt_get(c, "--force") != NULL;
	int have_cert = access(cfg->ssl_cert, F_OK) == 0;
	int have_key = access(cfg->ssl_key, F_OK) == 0;
	uint8_t pin[TLS_PIN_LEN];
	int rc;

	if ((rc = opt_number(c, "--days", DAYS_MAX, &days)) != 0)
		return rc;
	if (opt_get(c, "--days") == NULL)
		days = DAYS_DEFAULT;
	if (days == 0) {
		fprintf(stderr, "gigavaultctl: --days: 1 to %d\n", DAYS_MAX);
		return EXIT_USAGE;
	}
	if (renew && force) {
		fprintf(stderr, "gigavaultctl: --renew keeps the key, --force "
		    "replaces it: give one\n");
		return EXIT_USAGE;
	}
	if (renew && !have_key) {
		fprintf(stderr, "gigavaultctl: --renew: no key at %s (SSL.Key) "
		    "to renew the certificate of\n", cfg->ssl_key);
		return EXIT_RUNTIME;
	}
	if (!renew && !force && (have_cert || have_key)) {
		fprintf(stderr, "gigavaultctl: %s exists; not replacing it "
		    "(--renew issues a new certificate over the same key, "
		    "which clients keep trusting; --force makes a new key, "
		    "which every client must pin again)\n",
		    have_key ? cfg->ssl_key : cfg->ssl_cert);
		return EXIT_RUNTIME;
	}
	if (cn == NULL) {
		/* A renewal keeps the name clients may check. */
		if (!(renew && tls_cert_name(cfg->ssl_cert, host,
		    sizeof(host)) == 0) &&
		    gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		cn = host;
	}
	if (!valid_name(cn)) {
		fprintf(stderr, "gigavaultctl: --name \"%s\": a host name or "
		    "IP address of 1 to 64 characters (A-Z a-z 0-9 . - :)\n",
		    cn);
		return EXIT_USAGE;
	}
	if (tls_make_selfsigned(cfg->ssl_cert, cfg->ssl_key, cn, (int)days,
	    renew, 0, pin, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	printf("%s %s for \"%s\", valid for %llu days\n", renew ?
	    "renewed certificate" : "new key and certificate", cfg->ssl_cert,
	    cn, days);
	if (!renew)
		printf("key: %s (mode 0600)\n", cfg->ssl_key);
	print_pin("server", pin);
	printf("clients pin this when they register; compare it with what "
	    "\"gigavault register\" shows.\n");
	if (renew)
		printf("reload gigavaultd (SIGHUP) to serve the new "
		    "certificate.\n");
	return client_ca(c, DAYS_MAX / 10);
}

int
cmd_tls_show(struct ctl *c)
{
	const struct gv_config *cfg = c->cfg;
	struct tls_fileinfo info;
	char err[512], when[64], text[96];

	if (tls_files_check(cfg->ssl_cert, cfg->ssl_key, &info, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	fmt_utc((uint64_t)info.not_after, when, sizeof(when));
	tls_pin_text(info.pin, text);
	if (c->json)
		return print_json(json_pack("{s:s, s:s, s:s, s:b, s:b}",
		    "certificate", cfg->ssl_cert, "fingerprint", text,
		    "not_after", when, "expired", info.expired,
		    "enabled", cfg->ssl_enabled));
	printf("certificate %s%s\nvalid until %s%s\n", cfg->ssl_cert,
	    cfg->ssl_enabled ? "" : " (SSL.Enabled = 0: not served)", when,
	    info.expired ? " (EXPIRED or not yet valid)" : "");
	print_pin("server", info.pin);
	return info.expired ? EXIT_RUNTIME : 0;
}
