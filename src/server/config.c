/*
 * config.c - the gigavault.conf schema, defaults and validation.
 *
 * One table, conf_opts[], holds every option: its section, name, type,
 * default, range and where it lands in struct gv_config.  The libconfuse
 * schema, the range checks and the copying into the struct are made from
 * it.  libconfuse parses the file and reports syntax errors, unknown
 * options and values of the wrong type with file and line.  Our validate
 * callback checks each value as it is parsed (so errors carry its line)
 * and remembers that line for the checks that involve several options
 * (ports shared by two services), which run after the parse.
 */
#include "config.h"
#include "autoconf.h"

#include <sys/stat.h>
#include <arpa/inet.h>
#include <confuse.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/confread.h"
#include "common/discowire.h"
#include "common/paths.h"
#include "log.h"
#include "packstore.h"
#include "webcert.h"

static int
validate_listen(cfg_t *sec, cfg_opt_t *opt)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (cfg_opt_size(opt) == 0 || cfg_opt_size(opt) > GV_MAX_LISTEN) {
		confread_error("%s:%d: Server.Listen needs 1 to %d addresses",
		    confread_file(), sec->line, GV_MAX_LISTEN);
		return -1;
	}
	for (unsigned int i = 0; i < cfg_opt_size(opt); i++) {
		const char *a = cfg_opt_getnstr(opt, i);

		if (strcmp(a, "*") == 0 || inet_pton(AF_INET, a, buf) == 1 ||
		    inet_pton(AF_INET6, a, buf) == 1)
			continue;
		confread_error("%s:%d: Server.Listen: \"%s\" is not \"*\" nor a "
		    "numeric IPv4 or IPv6 address", confread_file(), sec->line, a);
		return -1;
	}
	return 0;
}

static int
validate_abspath(cfg_t *sec, cfg_opt_t *opt)
{
	const char *p = cfg_opt_getnstr(opt, 0);

	if (p == NULL || p[0] != '/') {
		confread_error("%s:%d: %s.%s must be an absolute path, not \"%s\"",
		    confread_file(), sec->line, sec->name, opt->name,
		    p ? p : "");
		return -1;
	}
	return 0;
}

static int
validate_abspath_or_empty(cfg_t *sec, cfg_opt_t *opt)
{
	const char *p = cfg_opt_getnstr(opt, 0);

	return p == NULL || *p == '\0' ? 0 : validate_abspath(sec, opt);
}

/* Alerts.Mail and MailFrom go into mail headers: no control characters. */
static int
validate_alert_text(cfg_t *sec, cfg_opt_t *opt)
{
	const char *p = cfg_opt_getnstr(opt, 0);

	for (; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			confread_error("%s:%d: %s.%s may not hold control "
			    "characters (such as a line break)", confread_file(),
			    sec->line, sec->name, opt->name);
			return -1;
		}
	return 0;
}

static int
validate_alert_smtp(cfg_t *sec, cfg_opt_t *opt)
{
	const char *p = cfg_opt_getnstr(opt, 0);

	if (p == NULL || ((strncmp(p, "smtp://", 7) != 0 || p[7] == '\0') &&
	    (strncmp(p, "smtps://", 8) != 0 || p[8] == '\0'))) {
		confread_error("%s:%d: %s.%s \"%s\" is not an smtp:// or "
		    "smtps:// URL", confread_file(), sec->line, sec->name,
		    opt->name, p != NULL ? p : "");
		return -1;
	}
	return validate_alert_text(sec, opt);
}

static int
validate_alert_url(cfg_t *sec, cfg_opt_t *opt)
{
	const char *p = cfg_opt_getnstr(opt, 0);

	if (p == NULL || *p == '\0')
		return 0;
	if ((strncmp(p, "http://", 7) != 0 || p[7] == '\0') &&
	    (strncmp(p, "https://", 8) != 0 || p[8] == '\0')) {
		confread_error("%s:%d: %s.%s \"%s\" is not an http:// or "
		    "https:// URL", confread_file(), sec->line, sec->name,
		    opt->name, p);
		return -1;
	}
	return validate_alert_text(sec, opt);
}

static const char *const store_backend_names[] = {
	[STORE_BACKEND_DATADIR] = "datadir",
	[STORE_BACKEND_S3] = "s3",
};

static int
store_backend_parse(const char *v)
{
	for (size_t i = 0; i < sizeof(store_backend_names) /
	    sizeof(store_backend_names[0]); i++)
		if (strcmp(v, store_backend_names[i]) == 0)
			return (int)i;
	return -1;
}

static const char *const s3_role_names[] = {
	[S3_ROLE_ACTIVE] = "active",
	[S3_ROLE_STANDBY] = "standby",
};

static int
s3_role_parse(const char *v)
{
	for (size_t i = 0; i < sizeof(s3_role_names) /
	    sizeof(s3_role_names[0]); i++)
		if (strcmp(v, s3_role_names[i]) == 0)
			return (int)i;
	return -1;
}

/* S3.Prefix: "" or ending in '/', no leading '/', at most 256 bytes. */
static int
validate_s3_prefix(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	size_t n = v != NULL ? strlen(v) : 0;

	if (n == 0)
		return 0;
	if (n > 256 || v[0] == '/' || v[n - 1] != '/') {
		confread_error("%s:%d: %s.%s \"%s\": give \"\" or a prefix of "
		    "at most 256 bytes that ends in / and does not start with "
		    "it (e.g. \"gigavault/\")", confread_file(), sec->line,
		    sec->name, opt->name, v);
		return -1;
	}
	return 0;
}

static const char *const web_http_names[] = {
	[WEB_HTTP_SERVE] = "serve",
	[WEB_HTTP_LOCAL] = "local",
	[WEB_HTTP_REDIRECT] = "redirect",
};

static int
web_http_parse(const char *v)
{
	for (size_t i = 0; i < sizeof(web_http_names) /
	    sizeof(web_http_names[0]); i++)
		if (strcmp(v, web_http_names[i]) == 0)
			return (int)i;
	return -1;
}

/* Services that may not share a port with one another. */
struct port_use {
	const char	*key;
	int		 port;
	int		 line;
};

static int
check_port_clash(const char *file, const struct port_use *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++) {
			if (u[i].port != u[j].port)
				continue;
			/* Report at the line that the file set. */
			const struct port_use *a = u[i].line ? &u[i] : &u[j];
			const struct port_use *b = a == &u[i] ? &u[j] : &u[i];
			confread_error("%s:%d: %s = %d is also used by %s", file,
			    a->line, a->key, a->port, b->key);
			return -1;
		}
	return 0;
}

/* A file that SSL.Enabled = 1 needs; line 0: the default, not set. */
static int
check_readable(const struct gv_config *c, int which, const char *key,
    const char *path, char *err, size_t errlen)
{
	int line = c->ssl_line[which];

	if (access(path, R_OK) == 0)
		return 0;
	if (line == 0)
		snprintf(err, errlen, "%s:%d: SSL.Enabled = 1 needs %s, and "
		    "its default \"%s\" cannot be read: %s (make one with "
		    "gigavaultctl tls init)", c->file, c->ssl_line[0], key,
		    path, strerror(errno));
	else
		snprintf(err, errlen, "%s:%d: %s: cannot read \"%s\": %s "
		    "(make one with gigavaultctl tls init)", c->file, line,
		    key, path, strerror(errno));
	return -1;
}

void
config_client_ca(const struct gv_config *c, char *cert, char *key, size_t len)
{
	snprintf(cert, len, "%s/%s", c->datadir, CONFIG_CLIENT_CA_CERT);
	snprintf(key, len, "%s/%s", c->datadir, CONFIG_CLIENT_CA_KEY);
}

/*
 * The web console's HTTPS context: the server's certificate when it
 * exists, else our own, made at the first start.
 */
static int
web_tls_load(struct gv_config *c, char *err, size_t errlen)
{
	char key[sizeof(c->web_cert)], dir[sizeof(c->web_cert)];
	char why[512];
	struct tls_fileinfo info;
	const char *keyp;
	int made;

	if (!c->web_enabled || c->port.webconsole_ssl == 0)
		return 0;
	if (access(c->ssl_cert, R_OK) == 0 && access(c->ssl_key, R_OK) == 0) {
		snprintf(c->web_cert, sizeof(c->web_cert), "%s", c->ssl_cert);
		keyp = c->ssl_key;
	} else {
		if ((size_t)snprintf(dir, sizeof(dir), "%s/tls", c->datadir) >=
		    sizeof(dir) ||
		    (size_t)snprintf(c->web_cert, sizeof(c->web_cert), "%s/%s",
		    c->datadir, CONFIG_WEB_CERT) >= sizeof(c->web_cert) ||
		    (size_t)snprintf(key, sizeof(key), "%s/%s", c->datadir,
		    CONFIG_WEB_KEY) >= sizeof(key)) {
			snprintf(err, errlen, "%s: Server.DataDir is too long",
			    c->file);
			return -1;
		}
		keyp = key;
		if ((access(c->web_cert, F_OK) == -1 ||
		    access(key, F_OK) == -1) && c->web_cert_no_create) {
			c->web_cert[0] = '\0';
			return 0;	/* made at the first start */
		}
		if (!c->web_cert_no_create) {
			if ((mkdir(c->datadir, 0750) == -1 && errno != EEXIST) ||
			    (mkdir(dir, 0700) == -1 && errno != EEXIST)) {
				snprintf(err, errlen, "%s: web console: cannot "
				    "create %s: %s", c->file, dir,
				    strerror(errno));
				return -1;
			}
			/* Made, or made again when it lacks a name. */
			if (webcert_ensure(c, c->web_cert, key, &made, why,
			    sizeof(why)) == -1) {
				snprintf(err, errlen, "%s: web console: %s",
				    c->file, why);
				return -1;
			}
		}
	}
	if (tls_files_check(c->web_cert, keyp, &info, why, sizeof(why)) == -1 ||
	    (c->web_tls = tls_server_new(c->web_cert, keyp, NULL,
	    c->ssl_ciphers, c->ssl_suites, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "%s: web console (Ports.WebConsoleSSL): "
		    "%s", c->file, why);
		return -1;
	}
	return 0;
}

int
config_tls_load(struct gv_config *c, int *expired, char *err, size_t errlen)
{
	char why[512], ca_cert[4096], ca_key[4096];
	int line;

	if (expired != NULL)
		*expired = 0;
	if (!c->ssl_enabled)
		return web_tls_load(c, err, errlen);
	if (check_readable(c, 1, "SSL.Certificate", c->ssl_cert, err,
	    errlen) == -1 ||
	    check_readable(c, 2, "SSL.Key", c->ssl_key, err, errlen) == -1)
		return -1;
	line = c->ssl_line[1] ? c->ssl_line[1] : c->ssl_line[0];
	if ((c->ssl_info = calloc(1, sizeof(*c->ssl_info))) == NULL)
		fatal("%s", __func__);
	if (tls_files_check(c->ssl_cert, c->ssl_key, c->ssl_info, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%d: SSL: %s", c->file, line, why);
		return -1;
	}
	if (expired != NULL)
		*expired = c->ssl_info->expired;
	config_client_ca(c, ca_cert, ca_key, sizeof(ca_cert));
	if (c->ssl_verify_client && (c->client_ca = tls_ca_load(ca_cert,
	    ca_key, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "%s:%d: SSL.VerifyClient = 1 needs the "
		    "client authority: %s (make it with gigavaultctl tls init)",
		    c->file, c->ssl_line[3], why);
		return -1;
	}
	if ((c->tls = tls_server_new(c->ssl_cert, c->ssl_key,
	    c->ssl_verify_client ? ca_cert : NULL, c->ssl_ciphers,
	    c->ssl_suites, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "%s:%d: SSL: %s", c->file, line, why);
		return -1;
	}
	return web_tls_load(c, err, errlen);
}

/* ------------------------------------------------------ Discovery */

static int
validate_group(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	struct in_addr a;

	if (v == NULL || inet_pton(AF_INET, v, &a) != 1 ||
	    (ntohl(a.s_addr) >> 28) != 0xe) {
		confread_error("%s:%d: Discovery.Group \"%s\" is not an IPv4 "
		    "multicast address (224.0.0.0 to 239.255.255.255)",
		    confread_file(), sec->line, v ? v : "");
		return -1;
	}
	return 0;
}

static int
validate_disc_name(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || v[0] == '\0' || dw_name_valid(v))
		return 0;
	confread_error("%s:%d: Discovery.Name \"%s\" is not 1 to %d characters "
	    "of A-Z a-z 0-9 . _ -", confread_file(), sec->line, v, DW_NAME_MAX);
	return -1;
}

static int
validate_scan_networks(cfg_t *sec, cfg_opt_t *opt)
{
	uint32_t net;
	int prefix;

	if (cfg_opt_size(opt) > GV_MAX_SCAN_NETS) {
		confread_error("%s:%d: Discovery.ScanNetworks: at most %d networks",
		    confread_file(), sec->line, GV_MAX_SCAN_NETS);
		return -1;
	}
	for (unsigned int i = 0; i < cfg_opt_size(opt); i++)
		if (dw_parse_cidr(cfg_opt_getnstr(opt, i), &net, &prefix) == -1) {
			confread_error("%s:%d: Discovery.ScanNetworks: \"%s\" is "
			    "not an IPv4 network A.B.C.D/N", confread_file(),
			    sec->line, cfg_opt_getnstr(opt, i));
			return -1;
		}
	return 0;
}

static int
validate_static_peers(cfg_t *sec, cfg_opt_t *opt)
{
	char host[64];
	int port;

	if (cfg_opt_size(opt) > GV_MAX_STATIC_PEERS) {
		confread_error("%s:%d: Discovery.Peers: at most %d peers",
		    confread_file(), sec->line, GV_MAX_STATIC_PEERS);
		return -1;
	}
	for (unsigned int i = 0; i < cfg_opt_size(opt); i++)
		if (dw_parse_hostport(cfg_opt_getnstr(opt, i), host,
		    sizeof(host), &port, 32005) == -1) {
			confread_error("%s:%d: Discovery.Peers: \"%s\" is not a "
			    "numeric address with an optional :PORT",
			    confread_file(), sec->line, cfg_opt_getnstr(opt, i));
			return -1;
		}
	return 0;
}

/* WebConsole.CertNames: host names (letters, digits, '-', '.') or
 * numeric addresses. */
static int
validate_cert_names(cfg_t *sec, cfg_opt_t *opt)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (cfg_opt_size(opt) > GV_MAX_CERT_NAMES) {
		confread_error("%s:%d: WebConsole.CertNames: at most %d names",
		    confread_file(), sec->line, GV_MAX_CERT_NAMES);
		return -1;
	}
	for (unsigned int i = 0; i < cfg_opt_size(opt); i++) {
		const char *a = cfg_opt_getnstr(opt, i);
		size_t n = strlen(a);

		if (inet_pton(AF_INET, a, buf) == 1 ||
		    inet_pton(AF_INET6, a, buf) == 1 ||
		    (n > 0 && n <= 253 && a[0] != '.' && a[0] != '-' &&
		    strstr(a, "..") == NULL && strspn(a, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n))
			continue;
		confread_error("%s:%d: WebConsole.CertNames: \"%s\" is not a "
		    "host name nor a numeric IPv4 or IPv6 address",
		    confread_file(), sec->line, a);
		return -1;
	}
	return 0;
}

static int	line_of(const char *, const char *);

/* UDPScan needs networks, none larger than ScanMaxPrefix allows. */
static int
discovery_check(const struct gv_config *c)
{
	const struct gv_discovery *d = &c->disc;
	uint32_t net;
	int prefix;

	if (d->udpscan && d->nscan == 0) {
		confread_error("%s:%d: Discovery.UDPScan = 1 needs ScanNetworks",
		    c->file, line_of("Discovery", "UDPScan"));
		return -1;
	}
	for (size_t i = 0; i < d->nscan; i++) {
		if (dw_parse_cidr(d->scan_networks[i], &net, &prefix) == 0 &&
		    prefix >= d->scan_max_prefix)
			continue;
		confread_error("%s:%d: Discovery.ScanNetworks: \"%s\" is larger "
		    "than /%d (Discovery.ScanMaxPrefix); scan smaller networks",
		    c->file, line_of("Discovery", "ScanNetworks"),
		    d->scan_networks[i], d->scan_max_prefix);
		return -1;
	}
	return 0;
}

/* Store.Backend = s3 needs S3.Endpoint, Bucket and CredentialsFile. */
static int
s3_check(const struct gv_config *c)
{
	const char *need[] = { "Endpoint", "Bucket", "CredentialsFile" };
	const char *have[] = { c->s3.endpoint, c->s3.bucket,
	    c->s3.cred_file };

	if (c->store_backend != STORE_BACKEND_S3)
		return 0;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (have[i] != NULL && have[i][0] != '\0')
			continue;
		confread_error("%s:%d: Store.Backend = s3 needs S3.%s (see "
		    "gigavault.conf(5), S3 SECTION)", c->file,
		    line_of("Store", "Backend"), need[i]);
		return -1;
	}
	if (strncmp(c->s3.endpoint, "http://", 7) != 0 &&
	    strncmp(c->s3.endpoint, "https://", 8) != 0) {
		confread_error("%s:%d: S3.Endpoint \"%s\" is not http://HOST"
		    "[:PORT] nor https://HOST[:PORT]", c->file,
		    line_of("S3", "Endpoint"), c->s3.endpoint);
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------- the options */

/* How an option is written in the file, and what it lands in. */
enum opt_type {
	OPT_INT,	/* integer, into an int */
	OPT_U32,	/* integer, into a uint32_t */
	OPT_U64,	/* integer, into a uint64_t */
	OPT_STR,	/* string, into a char * that the config owns */
	OPT_NAME,	/* one of a few names, into an int by parse() */
	OPT_INTS,	/* list of integers, into an int[] and its length */
	OPT_STRS,	/* list of strings, into a char *[] and its length */
};

/*
 * A row: an integer has def and its range min..max (of each item of a
 * list); the others have sdef (a list as "{...}").  check is called for
 * a value the file sets, after the range.  An OPT_NAME is checked and
 * converted by parse() (-1: not a name), its error saying names.  off
 * is where the value lands in struct gv_config; a list's length lands
 * at noff, and at most room items are kept.
 */
struct conf_opt {
	const char	*sec;
	const char	*name;
	enum opt_type	 type;
	long		 def;
	const char	*sdef;
	long		 min, max;
	cfg_validate_callback_t check;
	int		(*parse)(const char *);
	const char	*names;
	size_t		 off;
	size_t		 noff;
	size_t		 room;
};

#define AT(f)	offsetof(struct gv_config, f)
#define ROOM(f)	(sizeof(((struct gv_config *)0)->f) / \
		    sizeof(((struct gv_config *)0)->f[0]))
/* An integer's type is that of the field it lands in. */
#define INTO(f)	_Generic(((struct gv_config *)0)->f, int: OPT_INT, \
		    uint32_t: OPT_U32, uint64_t: OPT_U64)

/* The rows: section, name, default, then range or check, then field. */
#define INT(s, n, def, min, max, f) \
	{ s, n, INTO(f), def, NULL, min, max, NULL, NULL, NULL, AT(f), 0, 0 }
#define BOOL(s, n, def, f)	INT(s, n, def, 0, 1, f)
#define STR(s, n, def, check, f) \
	{ s, n, OPT_STR, 0, def, 0, 0, check, NULL, NULL, AT(f), 0, 0 }
#define NAME(s, n, def, parse, names, f) \
	{ s, n, OPT_NAME, 0, def, 0, 0, NULL, parse, names, AT(f), 0, 0 }
#define INTS(s, n, def, min, max, f, nf) \
	{ s, n, OPT_INTS, 0, def, min, max, NULL, NULL, NULL, AT(f), AT(nf), \
	    ROOM(f) }
#define STRS(s, n, def, check, f, nf) \
	{ s, n, OPT_STRS, 0, def, 0, 0, check, NULL, NULL, AT(f), AT(nf), \
	    ROOM(f) }

/* Every option, as in gigavault.conf(5); the rows of a section together. */
static const struct conf_opt conf_opts[] = {
	INT("Server", "Workers", 8, 1, 1024, workers),
	STRS("Server", "Listen", "{\"*\"}", validate_listen, listen, nlisten),
	STR("Server", "DataDir", GV_DATADIR, validate_abspath,
	    datadir),
	STR("Server", "User", "gigavault", NULL, user),
	STR("Server", "PidFile", GV_PIDFILE, validate_abspath,
	    pidfile),
	INT("Server", "HandshakeTimeout", 10, 1, 3600, handshake_timeout),
	INT("Server", "IdleTimeout", 300, 1, 86400, idle_timeout),
	INT("Server", "MaxFrame", 4194304, 1024, 64L * 1024 * 1024, max_frame),
	INT("Server", "DrainTimeout", 30, 0, 3600, drain_timeout),
	INT("Server", "ReserveSpace", -1, -1, 1L << 50, reserve_space),
	INT("Server", "MaxHandshakesPerAddress", 32, 1, 100000,
	    max_handshakes_per_addr),

	INT("Ports", "BackupServer", 32004, 1, 65535, port.backup),
	INT("Ports", "SSLServer", 32007, 1, 65535, port.ssl),
	INT("Ports", "UI", 32005, 1, 65535, port.ui),
	INT("Ports", "UDPScan", 32006, 1, 65535, port.udpscan),
	INT("Ports", "MAPI32Bit", 32008, 1, 65535, port.mapi),
	INT("Ports", "WebConsole", 6060, 1, 65535, port.webconsole),
	INT("Ports", "WebConsoleSSL", 6061, 1, 65535, port.webconsole_ssl),
	INTS("Ports", "Multicast", "{6363, 6364}", 1, 65535, port.multicast,
	    nmulticast),

	BOOL("SSL", "Enabled", 0, ssl_enabled),
	STR("SSL", "Certificate", GV_SSLCERT, NULL, ssl_cert),
	STR("SSL", "Key", GV_SSLKEY, NULL, ssl_key),
	STR("SSL", "Ciphers", TLS_DEFAULT_CIPHERS, NULL, ssl_ciphers),
	STR("SSL", "CipherSuites", TLS_DEFAULT_SUITES, NULL, ssl_suites),
	BOOL("SSL", "VerifyClient", 0, ssl_verify_client),

	NAME("Log", "Level", "info", log_level_parse,
	    "is not one of error, warning, info, debug", log_level),
	STR("Log", "File", "", validate_abspath_or_empty, log_file),
	NAME("Log", "Facility", "daemon", log_facility_parse,
	    "is not daemon nor local0..local7", log_facility),

	INT("Retention", "KeepLast", 0, 0, 1000000, retention.last),
	INT("Retention", "KeepHourly", 0, 0, 1000000, retention.hourly),
	INT("Retention", "KeepDaily", 0, 0, 1000000, retention.daily),
	INT("Retention", "KeepWeekly", 0, 0, 1000000, retention.weekly),
	INT("Retention", "KeepMonthly", 0, 0, 1000000, retention.monthly),
	INT("Retention", "KeepYearly", 0, 0, 1000000, retention.yearly),

	INT("Prune", "Interval", 86400, 0, 31536000, prune_interval),
	INT("Prune", "GraceSeconds", 86400, 0, 31536000, prune_grace),
	INT("Prune", "RewriteBelow", 50, 0, 100, prune_rewrite_below),

	INT("Scrub", "Interval", 604800, 0, 31536000, scrub_interval),
	INT("Scrub", "RateLimit", 0, 0, 1L << 40, scrub_rate),

	INT("Jobs", "OverdueGrace", 3600, 0, 31536000, overdue_grace),

	STR("Sync", "Target", "", validate_abspath_or_empty, sync_target),
	STRS("Sync", "Clients", NULL, NULL, sync_clients, nsync_clients),
	INT("Sync", "Interval", 86400, 0, 31536000, sync_interval),

	STR("Alerts", "Mail", "", validate_alert_text, alert_mail),
	STR("Alerts", "MailFrom", "", validate_alert_text, alert_mail_from),
	STR("Alerts", "SMTP", "smtp://localhost", validate_alert_smtp,
	    alert_smtp),
	STR("Alerts", "Sendmail", "", validate_alert_text, alert_sendmail),
	STR("Alerts", "Webhook", "", validate_alert_url, alert_webhook),
	STR("Alerts", "WebhookSecretFile", "", validate_abspath_or_empty,
	    alert_secret_file),
	STR("Alerts", "WebhookCAFile", "", validate_abspath_or_empty,
	    alert_ca_file),
	INT("Alerts", "FreeSpaceWarning", 10, 0, 100, alert_free_warning),
	INT("Alerts", "RepeatInterval", 3600, 0, 31536000, alert_repeat),
	INT("Alerts", "MaxPerHour", 60, 0, 100000, alert_max_per_hour),
	INT("Alerts", "CheckInterval", 60, 1, 86400, alert_check_interval),
	INT("Alerts", "Timeout", 10, 1, 300, alert_timeout),

	BOOL("Discovery", "Multicast", 1, disc.multicast),
	STR("Discovery", "Group", "239.255.63.63", validate_group, disc.group),
	INT("Discovery", "TTL", 1, 1, 255, disc.ttl),
	INT("Discovery", "AnnounceInterval", 60, 1, 86400,
	    disc.announce_interval),
	INT("Discovery", "PeerTimeout", 600, 2, 31536000, disc.peer_timeout),
	STR("Discovery", "Name", "", validate_disc_name, disc.name),
	BOOL("Discovery", "UDPScan", 0, disc.udpscan),
	STRS("Discovery", "ScanNetworks", NULL, validate_scan_networks,
	    disc.scan_networks, disc.nscan),
	INT("Discovery", "ScanRate", 100, 1, 10000, disc.scan_rate),
	INT("Discovery", "ScanInterval", 3600, 10, 31536000,
	    disc.scan_interval),
	INT("Discovery", "ScanMaxPrefix", 22, 16, 32, disc.scan_max_prefix),
	INT("Discovery", "TCPInterval", 300, 1, 86400, disc.tcp_interval),
	INT("Discovery", "MaxPeers", 256, 1, 4096, disc.max_peers),
	STRS("Discovery", "Peers", NULL, validate_static_peers, disc.peers,
	    disc.npeers),

	NAME("Store", "Backend", "datadir", store_backend_parse,
	    "is not datadir nor s3", store_backend),

	STR("S3", "Endpoint", "", NULL, s3.endpoint),
	STR("S3", "Region", "us-east-1", NULL, s3.region),
	STR("S3", "Bucket", "", NULL, s3.bucket),
	STR("S3", "Prefix", "gigavault/", validate_s3_prefix, s3.prefix),
	STR("S3", "CredentialsFile", "", validate_abspath_or_empty,
	    s3.cred_file),
	STR("S3", "CAFile", "", validate_abspath_or_empty, s3.ca_file),
	BOOL("S3", "PathStyle", 1, s3.path_style),
	INT("S3", "PartSize", 64L << 20, 5L << 20, 5L << 30, s3.part_size),
	INT("S3", "CacheSize", 1L << 30, 0, 1L << 50, s3.cache_size),
	INT("S3", "Retries", 4, 0, 20, s3.retries),
	NAME("S3", "Role", "active", s3_role_parse,
	    "is not active nor standby", s3.role),
	INT("S3", "LeaseDuration", 60, 10, 86400, s3.lease_duration),
	INT("S3", "FollowInterval", 10, 1, 3600, s3.follow_interval),

	BOOL("WebConsole", "Enabled", 1, web_enabled),
	NAME("WebConsole", "HTTP", "local", web_http_parse,
	    "is not one of serve, local, redirect", web_http),
	STR("WebConsole", "Root", "", validate_abspath_or_empty, web_root),
	INT("WebConsole", "SessionTimeout", 3600, 60, 604800,
	    web_session_timeout),
	STRS("WebConsole", "CertNames", NULL, validate_cert_names,
	    web_cert_names, nweb_cert_names),
	BOOL("WebConsole", "Metrics", 0, web_metrics),

	INT("History", "MaxAge", 7776000, 3600, 3153600000L, history_max_age),
	INT("History", "MaxEntries", 100000, 10, 10000000, history_max_entries),
};
#define NOPTS	(sizeof(conf_opts) / sizeof(conf_opts[0]))

/* Where the file set each option (0: it did not), during config_load(). */
static int	opt_line[NOPTS];

static const struct conf_opt *
conf_opt_find(const char *sec, const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(conf_opts[i].sec, sec) == 0 &&
		    strcmp(conf_opts[i].name, name) == 0)
			return &conf_opts[i];
	return NULL;
}

static int
line_of(const char *sec, const char *name)
{
	const struct conf_opt *o = conf_opt_find(sec, name);

	return o != NULL ? opt_line[o - conf_opts] : 0;
}

/*
 * libconfuse calls this for each option as the file sets it: note the
 * line, check integers against the range and names against the parser
 * of the option's row, then its own check.
 */
static int
validate_option(cfg_t *sec, cfg_opt_t *opt)
{
	const struct conf_opt *o = conf_opt_find(sec->name, opt->name);
	const char *v;

	if (o == NULL) {
		/*
		 * libconfuse's "Section|Option = value", outside the
		 * section: it validates with the enclosing section, which
		 * has no such row (fuzz/regress/config/).
		 */
		confread_error("%s:%d: %s set outside its section (write "
		    "it inside Section { ... })", confread_file(), sec->line,
		    opt->name);
		return -1;
	}
	opt_line[o - conf_opts] = sec->line;
	if (o->type == OPT_NAME) {
		v = cfg_opt_getnstr(opt, 0);
		if (v == NULL || o->parse(v) == -1) {
			confread_error("%s:%d: %s.%s \"%s\" %s",
			    confread_file(), sec->line, sec->name, opt->name,
			    v ? v : "", o->names);
			return -1;
		}
	} else if (o->type != OPT_STR && o->type != OPT_STRS) {
		for (unsigned int i = 0; i < cfg_opt_size(opt); i++) {
			long n = cfg_opt_getnint(opt, i);

			if (n < o->min || n > o->max) {
				confread_error("%s:%d: %s.%s = %ld is out of "
				    "range %ld..%ld", confread_file(),
				    sec->line, sec->name, opt->name, n,
				    o->min, o->max);
				return -1;
			}
		}
	}
	return o->check != NULL ? o->check(sec, opt) : 0;
}

/*
 * The libconfuse schema of conf_opts[]: a CFG_SEC for each run of rows
 * of one section.  cfg_init() copies the arrays, so they may be local.
 * libconfuse's default of a list is not const, but it only copies it.
 */
static cfg_t *
schema_init(void)
{
	cfg_opt_t opts[NOPTS * 2], secs[NOPTS + 1], *p = opts;
	size_t nsec = 0;
	cfg_t *cfg;

	for (size_t i = 0; i < NOPTS; i++) {
		const struct conf_opt *o = &conf_opts[i];

		if (i == 0 || strcmp(o->sec, conf_opts[i - 1].sec) != 0) {
			if (i > 0)
				*p++ = (cfg_opt_t)CFG_END();
			secs[nsec++] = (cfg_opt_t)CFG_SEC(o->sec, p, CFGF_NONE);
		}
		if (o->type == OPT_INTS)
			*p = (cfg_opt_t)CFG_INT_LIST(o->name, (char *)o->sdef,
			    CFGF_NONE);
		else if (o->type == OPT_STRS)
			*p = (cfg_opt_t)CFG_STR_LIST(o->name, (char *)o->sdef,
			    CFGF_NONE);
		else if (o->type == OPT_STR || o->type == OPT_NAME)
			*p = (cfg_opt_t)CFG_STR(o->name, o->sdef, CFGF_NONE);
		else
			*p = (cfg_opt_t)CFG_INT(o->name, o->def, CFGF_NONE);
		p++->validcb = validate_option;
	}
	*p = (cfg_opt_t)CFG_END();
	secs[nsec] = (cfg_opt_t)CFG_END();
	if ((cfg = cfg_init(secs, CFGF_NONE)) == NULL)
		fatal("%s: cfg_init", __func__);
	return cfg;
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		fatal("%s", __func__);
	return d;
}

/* Copy the value of option o from opt to where o lands in c. */
static void
conf_opt_copy(const struct conf_opt *o, cfg_opt_t *opt, struct gv_config *c)
{
	char *p = (char *)c + o->off;
	unsigned int n = cfg_opt_size(opt);

	switch (o->type) {
	case OPT_INT:
		*(int *)p = (int)cfg_opt_getnint(opt, 0);
		break;
	case OPT_U32:
		*(uint32_t *)p = (uint32_t)cfg_opt_getnint(opt, 0);
		break;
	case OPT_U64:
		*(uint64_t *)p = (uint64_t)cfg_opt_getnint(opt, 0);
		break;
	case OPT_STR:
		*(char **)p = xstrdup(cfg_opt_getnstr(opt, 0));
		break;
	case OPT_NAME:
		*(int *)p = o->parse(cfg_opt_getnstr(opt, 0));
		break;
	case OPT_INTS:
	case OPT_STRS:
		*(size_t *)((char *)c + o->noff) = n;
		for (unsigned int i = 0; i < n && i < o->room; i++)
			if (o->type == OPT_INTS)
				((int *)p)[i] = (int)cfg_opt_getnint(opt, i);
			else
				((char **)p)[i] = xstrdup(cfg_opt_getnstr(opt,
				    i));
		break;
	}
}

int
config_option(size_t i, const char **sec, const char **name)
{
	if (i >= NOPTS)
		return -1;
	*sec = conf_opts[i].sec;
	*name = conf_opts[i].name;
	return 0;
}

static struct gv_config *
config_from_cfg(cfg_t *cfg, const char *file)
{
	struct gv_config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		fatal("%s", __func__);
	c->file = xstrdup(file);
	for (size_t i = 0; i < NOPTS; i++)
		conf_opt_copy(&conf_opts[i], cfg_getopt(cfg_getsec(cfg,
		    conf_opts[i].sec), conf_opts[i].name), c);
	return c;
}
/* Checks that involve several options or the system. */
static int
config_check(const struct gv_config *c)
{
	const struct port_use tcp[] = {
		{ "Ports.BackupServer", c->port.backup, line_of("Ports", "BackupServer") },
		{ "Ports.SSLServer", c->port.ssl, line_of("Ports", "SSLServer") },
		{ "Ports.UI", c->port.ui, line_of("Ports", "UI") },
		{ "Ports.MAPI32Bit", c->port.mapi, line_of("Ports", "MAPI32Bit") },
		{ "Ports.WebConsole", c->port.webconsole, line_of("Ports", "WebConsole") },
		{ "Ports.WebConsoleSSL", c->port.webconsole_ssl, line_of("Ports", "WebConsoleSSL") },
	};
	const struct port_use udp[] = {
		{ "Ports.UDPScan", c->port.udpscan, line_of("Ports", "UDPScan") },
		{ "Ports.Multicast[0]", c->port.multicast[0], line_of("Ports", "Multicast") },
		{ "Ports.Multicast[1]", c->port.multicast[1], line_of("Ports", "Multicast") },
	};

	if (c->nmulticast != 2) {
		confread_error("%s:%d: Ports.Multicast needs exactly two ports, got "
		    "%zu", c->file, line_of("Ports", "Multicast"), c->nmulticast);
		return -1;
	}
	if (check_port_clash(c->file, tcp, sizeof(tcp) / sizeof(tcp[0])) ||
	    check_port_clash(c->file, udp, sizeof(udp) / sizeof(udp[0])))
		return -1;

	if (geteuid() == 0 && c->user[0] != '\0' && getpwnam(c->user) == NULL) {
		int line = line_of("Server", "User");

		if (line == 0)
			confread_error("%s: Server.User is not set, and its default "
			    "\"%s\" does not exist (create it, e.g. useradd "
			    "--system %s, or set User = \"\")", c->file,
			    c->user, c->user);
		else
			confread_error("%s:%d: Server.User: no such user \"%s\" "
			    "(create it, e.g. useradd --system %s, or set "
			    "User = \"\")", c->file, line, c->user, c->user);
		return -1;
	}

	if (s3_check(c) == -1)
		return -1;
	return discovery_check(c);
}

/*
 * Store.Backend = s3: the process-wide setting of packstore.h, which the
 * children forked later inherit (each opens its own S3 handle).  0 or -1.
 */
static int
config_store(const struct gv_config *c, char *err, size_t errlen)
{
	struct packstore_conf pc;

	if (c->store_backend != STORE_BACKEND_S3)
		return packstore_configure(NULL, err, errlen);
	memset(&pc, 0, sizeof(pc));
	pc.endpoint = c->s3.endpoint;
	pc.region = c->s3.region;
	pc.bucket = c->s3.bucket;
	pc.prefix = c->s3.prefix;
	pc.cred_file = c->s3.cred_file;
	pc.ca_file = c->s3.ca_file;
	pc.path_style = c->s3.path_style;
	pc.part_size = c->s3.part_size;
	pc.cache_size = c->s3.cache_size;
	pc.retries = c->s3.retries;
	return packstore_configure(&pc, err, errlen);
}

struct gv_config *
config_load(const char *file, char *err, size_t errlen)
{
	struct gv_config *c = NULL;
	cfg_t *cfg;

	confread_begin(file, err, errlen);
	memset(opt_line, 0, sizeof(opt_line));
	cfg = schema_init();
	cfg_set_error_function(cfg, confread_errfunc);
	if (confread_parse(cfg, file, 0) == 0) {
		c = config_from_cfg(cfg, file);
		c->ssl_line[0] = line_of("SSL", "Enabled");
		c->ssl_line[1] = line_of("SSL", "Certificate");
		c->ssl_line[2] = line_of("SSL", "Key");
		c->ssl_line[3] = line_of("SSL", "VerifyClient");
		if (config_check(c) == -1 || config_store(c, err, errlen) ==
		    -1) {
			config_free(c);
			c = NULL;
		}
	}
	cfg_free(cfg);
	return c;
}

/* The length of list o in c: the items the file gave. */
static size_t
list_len(const struct conf_opt *o, const struct gv_config *c)
{
	return *(const size_t *)((const char *)c + o->noff);
}

void
config_free(struct gv_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < NOPTS; i++) {
		const struct conf_opt *o = &conf_opts[i];
		char **p = (char **)((char *)c + o->off);

		if (o->type == OPT_STR)
			free(*p);
		else if (o->type == OPT_STRS)
			for (size_t j = 0; j < list_len(o, c) &&
			    j < o->room; j++)
				free(p[j]);
	}
	free(c->file);
	tls_ctx_free(c->tls);
	tls_ca_free(c->client_ca);
	free(c->ssl_info);
	tls_ctx_free(c->web_tls);
	free(c);
}

/* Nonzero when option o has another value in a than in b. */
static int
conf_opt_differs(const struct conf_opt *o, const struct gv_config *a,
    const struct gv_config *b)
{
	const char *pa = (const char *)a + o->off;
	const char *pb = (const char *)b + o->off;

	switch (o->type) {
	case OPT_INT:
	case OPT_NAME:
		return *(const int *)pa != *(const int *)pb;
	case OPT_U32:
		return *(const uint32_t *)pa != *(const uint32_t *)pb;
	case OPT_U64:
		return *(const uint64_t *)pa != *(const uint64_t *)pb;
	case OPT_STR:
		return strcmp(*(char *const *)pa, *(char *const *)pb) != 0;
	case OPT_INTS:
	case OPT_STRS:
		if (list_len(o, a) != list_len(o, b))
			return 1;
		for (size_t i = 0; i < list_len(o, a) && i < o->room; i++)
			if (o->type == OPT_INTS ?
			    ((const int *)pa)[i] != ((const int *)pb)[i] :
			    strcmp(((char *const *)pa)[i],
			    ((char *const *)pb)[i]) != 0)
				return 1;
		break;
	}
	return 0;
}

int
config_differs_beyond_workers(const struct gv_config *a,
    const struct gv_config *b)
{
	/* Every option but Server.Workers. */
	for (size_t i = 0; i < NOPTS; i++)
		if (conf_opts[i].off != offsetof(struct gv_config, workers) &&
		    conf_opt_differs(&conf_opts[i], a, b))
			return 1;
	/* A renewed certificate at the same path: a new generation. */
	return (a->ssl_info != NULL) != (b->ssl_info != NULL) ||
	    (a->ssl_info != NULL && memcmp(a->ssl_info->cert_hash,
	    b->ssl_info->cert_hash, sizeof(a->ssl_info->cert_hash)) != 0) ||
	    strcmp(a->web_cert, b->web_cert) != 0;
}
