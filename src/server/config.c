/*
 * config.c - the gigavault.conf schema, defaults and validation.
 *
 * libconfuse parses the file and reports syntax errors, unknown options
 * and values of the wrong type with file and line.  Our validate
 * callbacks check each value as it is parsed (so errors carry its line)
 * and remember that line for the checks that involve several options
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/confread.h"
#include "common/discowire.h"
#include "log.h"

/* Integer options with a range.  line: where the file set it (0: default). */
static struct int_rule {
	const char	*sec;
	const char	*name;
	long		 min, max;
	int		 line;
} int_rules[] = {
	{ "Server", "Workers",		1, 1024, 0 },
	{ "Server", "HandshakeTimeout",	1, 3600, 0 },
	{ "Server", "IdleTimeout",	1, 86400, 0 },
	{ "Server", "MaxFrame",		1024, 64L * 1024 * 1024, 0 },
	{ "Server", "DrainTimeout",	0, 3600, 0 },
	{ "Ports", "BackupServer",	1, 65535, 0 },
	{ "Ports", "SSLServer",		1, 65535, 0 },
	{ "Ports", "UI",		1, 65535, 0 },
	{ "Ports", "UDPScan",		1, 65535, 0 },
	{ "Ports", "MAPI32Bit",		1, 65535, 0 },
	{ "Ports", "WebConsole",	1, 65535, 0 },
	{ "Ports", "WebConsoleSSL",	1, 65535, 0 },
	{ "Ports", "Multicast",		1, 65535, 0 },
	{ "SSL", "Enabled",		0, 1, 0 },
	{ "SSL", "VerifyClient",	0, 1, 0 },
	{ "Retention", "KeepLast",	0, 1000000, 0 },
	{ "Retention", "KeepHourly",	0, 1000000, 0 },
	{ "Retention", "KeepDaily",	0, 1000000, 0 },
	{ "Retention", "KeepWeekly",	0, 1000000, 0 },
	{ "Retention", "KeepMonthly",	0, 1000000, 0 },
	{ "Retention", "KeepYearly",	0, 1000000, 0 },
	{ "Prune", "Interval",		0, 31536000, 0 },
	{ "Prune", "GraceSeconds",	0, 31536000, 0 },
	{ "Prune", "RewriteBelow",	0, 100, 0 },
	{ "Scrub", "Interval",		0, 31536000, 0 },
	{ "Scrub", "RateLimit",		0, 1L << 40, 0 },
	{ "Discovery", "Multicast",	0, 1, 0 },
	{ "Discovery", "TTL",		1, 255, 0 },
	{ "Discovery", "AnnounceInterval", 1, 86400, 0 },
	{ "Discovery", "PeerTimeout",	2, 31536000, 0 },
	{ "Discovery", "UDPScan",	0, 1, 0 },
	{ "Discovery", "ScanRate",	1, 10000, 0 },
	{ "Discovery", "ScanInterval",	10, 31536000, 0 },
	{ "Discovery", "ScanMaxPrefix",	16, 32, 0 },
	{ "Discovery", "TCPInterval",	1, 86400, 0 },
	{ "Discovery", "MaxPeers",	1, 4096, 0 },
	{ "WebConsole", "Enabled",	0, 1, 0 },
	{ "WebConsole", "SessionTimeout", 60, 604800, 0 },
};

static struct int_rule *
int_rule(const char *sec, const char *name)
{
	for (size_t i = 0; i < sizeof(int_rules) / sizeof(int_rules[0]); i++)
		if (strcmp(int_rules[i].sec, sec) == 0 &&
		    strcmp(int_rules[i].name, name) == 0)
			return &int_rules[i];
	return NULL;
}

static int
validate_int(cfg_t *sec, cfg_opt_t *opt)
{
	struct int_rule *r = int_rule(sec->name, opt->name);

	if (r == NULL)
		return 0;
	r->line = sec->line;
	for (unsigned int i = 0; i < cfg_opt_size(opt); i++) {
		long v = cfg_opt_getnint(opt, i);

		if (v < r->min || v > r->max) {
			confread_error("%s:%d: %s.%s = %ld is out of range %ld..%ld",
			    confread_file(), sec->line, sec->name, opt->name, v,
			    r->min, r->max);
			return -1;
		}
	}
	return 0;
}

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

static int
validate_log_level(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (log_level_parse(v) == -1) {
		confread_error("%s:%d: Log.Level \"%s\" is not one of error, "
		    "warning, info, debug", confread_file(), sec->line, v);
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

static int
validate_web_http(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || web_http_parse(v) == -1) {
		confread_error("%s:%d: WebConsole.HTTP \"%s\" is not one of "
		    "serve, local, redirect", confread_file(), sec->line,
		    v ? v : "");
		return -1;
	}
	return 0;
}

static int
validate_facility(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (log_facility_parse(v) == -1) {
		confread_error("%s:%d: Log.Facility \"%s\" is not daemon nor "
		    "local0..local7", confread_file(), sec->line, v);
		return -1;
	}
	return 0;
}

static int	user_line, cert_line, key_line;

static int
note_line(cfg_t *sec, cfg_opt_t *opt)
{
	if (strcmp(opt->name, "User") == 0)
		user_line = sec->line;
	else if (strcmp(opt->name, "Certificate") == 0)
		cert_line = sec->line;
	else if (strcmp(opt->name, "Key") == 0)
		key_line = sec->line;
	return 0;
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
	char key[sizeof(c->web_cert)], dir[sizeof(c->web_cert)], cn[256];
	char why[512], text[96];
	uint8_t pin[TLS_PIN_LEN];
	struct tls_fileinfo info;
	const char *keyp;

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
		if (access(c->web_cert, F_OK) == -1 ||
		    access(key, F_OK) == -1) {
			if (gethostname(cn, sizeof(cn)) == -1 || cn[0] == '\0')
				snprintf(cn, sizeof(cn), "localhost");
			cn[sizeof(cn) - 1] = '\0';
			if ((mkdir(c->datadir, 0750) == -1 && errno != EEXIST) ||
			    (mkdir(dir, 0700) == -1 && errno != EEXIST)) {
				snprintf(err, errlen, "%s: web console: cannot "
				    "create %s: %s", c->file, dir,
				    strerror(errno));
				return -1;
			}
			if (tls_make_selfsigned(c->web_cert, key, cn, 3650, 0,
			    0, pin, why, sizeof(why)) == -1) {
				snprintf(err, errlen, "%s: web console: %s",
				    c->file, why);
				return -1;
			}
			tls_pin_text(pin, text);
			log_info("web console: made a self-signed certificate "
			    "for %s in %s; its key's SHA-256 fingerprint is %s",
			    cn, c->web_cert, text);
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

static int	scan_line;

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

	scan_line = sec->line;
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

static char	*xstrdup(const char *);

static void
discovery_from_cfg(cfg_t *sec, struct gv_discovery *d)
{
	d->multicast = (int)cfg_getint(sec, "Multicast");
	d->group = xstrdup(cfg_getstr(sec, "Group"));
	d->ttl = (int)cfg_getint(sec, "TTL");
	d->announce_interval = (int)cfg_getint(sec, "AnnounceInterval");
	d->peer_timeout = (int)cfg_getint(sec, "PeerTimeout");
	d->name = xstrdup(cfg_getstr(sec, "Name"));
	d->udpscan = (int)cfg_getint(sec, "UDPScan");
	d->nscan = cfg_size(sec, "ScanNetworks");
	for (size_t i = 0; i < d->nscan && i < GV_MAX_SCAN_NETS; i++)
		d->scan_networks[i] = xstrdup(cfg_getnstr(sec, "ScanNetworks",
		    (unsigned)i));
	d->scan_rate = (int)cfg_getint(sec, "ScanRate");
	d->scan_interval = (int)cfg_getint(sec, "ScanInterval");
	d->scan_max_prefix = (int)cfg_getint(sec, "ScanMaxPrefix");
	d->tcp_interval = (int)cfg_getint(sec, "TCPInterval");
	d->max_peers = (int)cfg_getint(sec, "MaxPeers");
	d->npeers = cfg_size(sec, "Peers");
	for (size_t i = 0; i < d->npeers && i < GV_MAX_STATIC_PEERS; i++)
		d->peers[i] = xstrdup(cfg_getnstr(sec, "Peers", (unsigned)i));
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
		    c->file, scan_line, d->scan_networks[i], d->scan_max_prefix);
		return -1;
	}
	return 0;
}

static void
discovery_free(struct gv_discovery *d)
{
	free(d->group);
	free(d->name);
	for (size_t i = 0; i < d->nscan && i < GV_MAX_SCAN_NETS; i++)
		free(d->scan_networks[i]);
	for (size_t i = 0; i < d->npeers && i < GV_MAX_STATIC_PEERS; i++)
		free(d->peers[i]);
}

static int
strv_differs(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return 1;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 1;
	return 0;
}

static int
discovery_differs(const struct gv_discovery *a, const struct gv_discovery *b)
{
	return a->multicast != b->multicast || strcmp(a->group, b->group) ||
	    a->ttl != b->ttl || a->announce_interval != b->announce_interval ||
	    a->peer_timeout != b->peer_timeout || strcmp(a->name, b->name) ||
	    a->udpscan != b->udpscan ||
	    strv_differs(a->scan_networks, a->nscan, b->scan_networks,
	    b->nscan) || a->scan_rate != b->scan_rate ||
	    a->scan_interval != b->scan_interval ||
	    a->scan_max_prefix != b->scan_max_prefix ||
	    a->tcp_interval != b->tcp_interval ||
	    a->max_peers != b->max_peers ||
	    strv_differs(a->peers, a->npeers, b->peers, b->npeers);
}

/* ----------------------------------------------------------------- */

static char *
xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		fatal("%s", __func__);
	return d;
}

static struct gv_config *
config_from_cfg(cfg_t *cfg, const char *file)
{
	struct gv_config *c = calloc(1, sizeof(*c));
	cfg_t *srv = cfg_getsec(cfg, "Server");
	cfg_t *ports = cfg_getsec(cfg, "Ports");
	cfg_t *ssl = cfg_getsec(cfg, "SSL");
	cfg_t *lg = cfg_getsec(cfg, "Log");
	cfg_t *ret = cfg_getsec(cfg, "Retention");
	cfg_t *pr = cfg_getsec(cfg, "Prune");
	cfg_t *sc = cfg_getsec(cfg, "Scrub");
	cfg_t *web = cfg_getsec(cfg, "WebConsole");

	if (c == NULL)
		fatal("%s", __func__);
	c->file = xstrdup(file);
	c->workers = (int)cfg_getint(srv, "Workers");
	c->nlisten = cfg_size(srv, "Listen");
	for (size_t i = 0; i < c->nlisten; i++)
		c->listen[i] = xstrdup(cfg_getnstr(srv, "Listen", (unsigned)i));
	c->datadir = xstrdup(cfg_getstr(srv, "DataDir"));
	c->user = xstrdup(cfg_getstr(srv, "User"));
	c->pidfile = xstrdup(cfg_getstr(srv, "PidFile"));
	c->handshake_timeout = (int)cfg_getint(srv, "HandshakeTimeout");
	c->idle_timeout = (int)cfg_getint(srv, "IdleTimeout");
	c->max_frame = (uint32_t)cfg_getint(srv, "MaxFrame");
	c->drain_timeout = (int)cfg_getint(srv, "DrainTimeout");

	c->port.backup = (int)cfg_getint(ports, "BackupServer");
	c->port.ssl = (int)cfg_getint(ports, "SSLServer");
	c->port.ui = (int)cfg_getint(ports, "UI");
	c->port.udpscan = (int)cfg_getint(ports, "UDPScan");
	c->port.mapi = (int)cfg_getint(ports, "MAPI32Bit");
	c->port.webconsole = (int)cfg_getint(ports, "WebConsole");
	c->port.webconsole_ssl = (int)cfg_getint(ports, "WebConsoleSSL");
	c->nmulticast = cfg_size(ports, "Multicast");
	for (size_t i = 0; i < 2 && i < c->nmulticast; i++)
		c->port.multicast[i] = (int)cfg_getnint(ports, "Multicast",
		    (unsigned)i);

	c->ssl_enabled = (int)cfg_getint(ssl, "Enabled");
	c->ssl_cert = xstrdup(cfg_getstr(ssl, "Certificate"));
	c->ssl_key = xstrdup(cfg_getstr(ssl, "Key"));
	c->ssl_ciphers = xstrdup(cfg_getstr(ssl, "Ciphers"));
	c->ssl_suites = xstrdup(cfg_getstr(ssl, "CipherSuites"));
	c->ssl_verify_client = (int)cfg_getint(ssl, "VerifyClient");

	c->log_level = log_level_parse(cfg_getstr(lg, "Level"));
	c->log_file = xstrdup(cfg_getstr(lg, "File"));
	c->log_facility = log_facility_parse(cfg_getstr(lg, "Facility"));

	c->retention.last = (uint32_t)cfg_getint(ret, "KeepLast");
	c->retention.hourly = (uint32_t)cfg_getint(ret, "KeepHourly");
	c->retention.daily = (uint32_t)cfg_getint(ret, "KeepDaily");
	c->retention.weekly = (uint32_t)cfg_getint(ret, "KeepWeekly");
	c->retention.monthly = (uint32_t)cfg_getint(ret, "KeepMonthly");
	c->retention.yearly = (uint32_t)cfg_getint(ret, "KeepYearly");
	c->prune_interval = (int)cfg_getint(pr, "Interval");
	c->prune_grace = (int)cfg_getint(pr, "GraceSeconds");
	c->prune_rewrite_below = (int)cfg_getint(pr, "RewriteBelow");
	c->scrub_interval = (int)cfg_getint(sc, "Interval");
	c->scrub_rate = (uint64_t)cfg_getint(sc, "RateLimit");
	discovery_from_cfg(cfg_getsec(cfg, "Discovery"), &c->disc);
	c->web_enabled = (int)cfg_getint(web, "Enabled");
	c->web_http = web_http_parse(cfg_getstr(web, "HTTP"));
	c->web_root = xstrdup(cfg_getstr(web, "Root"));
	c->web_session_timeout = (int)cfg_getint(web, "SessionTimeout");
	return c;
}

static int
line_of(const char *sec, const char *name)
{
	struct int_rule *r = int_rule(sec, name);

	return r ? r->line : 0;
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
		if (user_line == 0)
			confread_error("%s: Server.User is not set, and its default "
			    "\"%s\" does not exist (create it, e.g. useradd "
			    "--system %s, or set User = \"\")", c->file,
			    c->user, c->user);
		else
			confread_error("%s:%d: Server.User: no such user \"%s\" "
			    "(create it, e.g. useradd --system %s, or set "
			    "User = \"\")", c->file, user_line, c->user,
			    c->user);
		return -1;
	}

	return discovery_check(c);
}

struct gv_config *
config_load(const char *file, char *err, size_t errlen)
{
	cfg_opt_t server_opts[] = {
		CFG_INT("Workers", 8, CFGF_NONE),
		CFG_STR_LIST("Listen", "{\"*\"}", CFGF_NONE),
		CFG_STR("DataDir", "/var/lib/gigavault", CFGF_NONE),
		CFG_STR("User", "gigavault", CFGF_NONE),
		CFG_STR("PidFile", "/run/gigavaultd.pid", CFGF_NONE),
		CFG_INT("HandshakeTimeout", 10, CFGF_NONE),
		CFG_INT("IdleTimeout", 300, CFGF_NONE),
		CFG_INT("MaxFrame", 4194304, CFGF_NONE),
		CFG_INT("DrainTimeout", 30, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t ports_opts[] = {
		CFG_INT("BackupServer", 32004, CFGF_NONE),
		CFG_INT("SSLServer", 32007, CFGF_NONE),
		CFG_INT("UI", 32005, CFGF_NONE),
		CFG_INT("UDPScan", 32006, CFGF_NONE),
		CFG_INT("MAPI32Bit", 32008, CFGF_NONE),
		CFG_INT("WebConsole", 6060, CFGF_NONE),
		CFG_INT("WebConsoleSSL", 6061, CFGF_NONE),
		CFG_INT_LIST("Multicast", "{6363, 6364}", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t ssl_opts[] = {
		CFG_INT("Enabled", 0, CFGF_NONE),
		CFG_STR("Certificate", "/etc/gigavault/server.crt", CFGF_NONE),
		CFG_STR("Key", "/etc/gigavault/server.key", CFGF_NONE),
		CFG_STR("Ciphers", TLS_DEFAULT_CIPHERS, CFGF_NONE),
		CFG_STR("CipherSuites", TLS_DEFAULT_SUITES, CFGF_NONE),
		CFG_INT("VerifyClient", 0, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t log_opts[] = {
		CFG_STR("Level", "info", CFGF_NONE),
		CFG_STR("File", "", CFGF_NONE),
		CFG_STR("Facility", "daemon", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t retention_opts[] = {
		CFG_INT("KeepLast", 0, CFGF_NONE),
		CFG_INT("KeepHourly", 0, CFGF_NONE),
		CFG_INT("KeepDaily", 0, CFGF_NONE),
		CFG_INT("KeepWeekly", 0, CFGF_NONE),
		CFG_INT("KeepMonthly", 0, CFGF_NONE),
		CFG_INT("KeepYearly", 0, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t prune_opts[] = {
		CFG_INT("Interval", 86400, CFGF_NONE),
		CFG_INT("GraceSeconds", 86400, CFGF_NONE),
		CFG_INT("RewriteBelow", 50, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t scrub_opts[] = {
		CFG_INT("Interval", 604800, CFGF_NONE),
		CFG_INT("RateLimit", 0, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t discovery_opts[] = {
		CFG_INT("Multicast", 1, CFGF_NONE),
		CFG_STR("Group", "239.255.63.63", CFGF_NONE),
		CFG_INT("TTL", 1, CFGF_NONE),
		CFG_INT("AnnounceInterval", 60, CFGF_NONE),
		CFG_INT("PeerTimeout", 600, CFGF_NONE),
		CFG_STR("Name", "", CFGF_NONE),
		CFG_INT("UDPScan", 0, CFGF_NONE),
		CFG_STR_LIST("ScanNetworks", NULL, CFGF_NONE),
		CFG_INT("ScanRate", 100, CFGF_NONE),
		CFG_INT("ScanInterval", 3600, CFGF_NONE),
		CFG_INT("ScanMaxPrefix", 22, CFGF_NONE),
		CFG_INT("TCPInterval", 300, CFGF_NONE),
		CFG_INT("MaxPeers", 256, CFGF_NONE),
		CFG_STR_LIST("Peers", NULL, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t web_opts[] = {
		CFG_INT("Enabled", 1, CFGF_NONE),
		CFG_STR("HTTP", "local", CFGF_NONE),
		CFG_STR("Root", "", CFGF_NONE),
		CFG_INT("SessionTimeout", 3600, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t opts[] = {
		CFG_SEC("Server", server_opts, CFGF_NONE),
		CFG_SEC("Ports", ports_opts, CFGF_NONE),
		CFG_SEC("SSL", ssl_opts, CFGF_NONE),
		CFG_SEC("Log", log_opts, CFGF_NONE),
		CFG_SEC("Retention", retention_opts, CFGF_NONE),
		CFG_SEC("Prune", prune_opts, CFGF_NONE),
		CFG_SEC("Scrub", scrub_opts, CFGF_NONE),
		CFG_SEC("Discovery", discovery_opts, CFGF_NONE),
		CFG_SEC("WebConsole", web_opts, CFGF_NONE),
		CFG_END()
	};
	static const struct { const char *path; cfg_validate_callback_t fn; }
	    checks[] = {
		{ "Server|Listen", validate_listen },
		{ "Server|DataDir", validate_abspath },
		{ "Server|PidFile", validate_abspath },
		{ "Log|File", validate_abspath_or_empty },
		{ "Server|User", note_line },
		{ "SSL|Certificate", note_line },
		{ "SSL|Key", note_line },
		{ "Log|Level", validate_log_level },
		{ "Log|Facility", validate_facility },
		{ "Discovery|Group", validate_group },
		{ "Discovery|Name", validate_disc_name },
		{ "Discovery|ScanNetworks", validate_scan_networks },
		{ "Discovery|Peers", validate_static_peers },
		{ "WebConsole|HTTP", validate_web_http },
		{ "WebConsole|Root", validate_abspath_or_empty },
	};
	struct gv_config *c = NULL;
	char path[64];
	cfg_t *cfg;

	confread_begin(file, err, errlen);
	user_line = cert_line = key_line = scan_line = 0;
	for (size_t i = 0; i < sizeof(int_rules) / sizeof(int_rules[0]); i++)
		int_rules[i].line = 0;

	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL)
		fatal("%s: cfg_init", __func__);
	cfg_set_error_function(cfg, confread_errfunc);
	for (size_t i = 0; i < sizeof(int_rules) / sizeof(int_rules[0]); i++) {
		snprintf(path, sizeof(path), "%s|%s", int_rules[i].sec,
		    int_rules[i].name);
		cfg_set_validate_func(cfg, path, validate_int);
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		cfg_set_validate_func(cfg, checks[i].path, checks[i].fn);

	if (confread_parse(cfg, file, 0) == 0) {
		c = config_from_cfg(cfg, file);
		c->ssl_line[0] = line_of("SSL", "Enabled");
		c->ssl_line[1] = cert_line;
		c->ssl_line[2] = key_line;
		c->ssl_line[3] = line_of("SSL", "VerifyClient");
		if (config_check(c) == -1) {
			config_free(c);
			c = NULL;
		}
	}
	cfg_free(cfg);
	return c;
}

void
config_free(struct gv_config *c)
{
	if (c == NULL)
		return;
	free(c->file);
	for (size_t i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->datadir);
	free(c->user);
	free(c->pidfile);
	free(c->ssl_cert);
	free(c->ssl_key);
	free(c->ssl_ciphers);
	free(c->ssl_suites);
	tls_ctx_free(c->tls);
	tls_ca_free(c->client_ca);
	free(c->ssl_info);
	free(c->log_file);
	discovery_free(&c->disc);
	free(c->web_root);
	tls_ctx_free(c->web_tls);
	free(c);
}

static int
str_differs(const char *a, const char *b)
{
	return strcmp(a, b) != 0;
}

int
config_differs_beyond_workers(const struct gv_config *a,
    const struct gv_config *b)
{
	if (a->nlisten != b->nlisten)
		return 1;
	for (size_t i = 0; i < a->nlisten; i++)
		if (str_differs(a->listen[i], b->listen[i]))
			return 1;
	return str_differs(a->datadir, b->datadir) ||
	    str_differs(a->user, b->user) ||
	    str_differs(a->pidfile, b->pidfile) ||
	    a->handshake_timeout != b->handshake_timeout ||
	    a->idle_timeout != b->idle_timeout ||
	    a->max_frame != b->max_frame ||
	    a->drain_timeout != b->drain_timeout ||
	    memcmp(&a->port, &b->port, sizeof(a->port)) != 0 ||
	    a->ssl_enabled != b->ssl_enabled ||
	    str_differs(a->ssl_cert, b->ssl_cert) ||
	    str_differs(a->ssl_key, b->ssl_key) ||
	    str_differs(a->ssl_ciphers, b->ssl_ciphers) ||
	    str_differs(a->ssl_suites, b->ssl_suites) ||
	    a->ssl_verify_client != b->ssl_verify_client ||
	    /* A renewed certificate at the same path: a new generation. */
	    (a->ssl_info != NULL) != (b->ssl_info != NULL) ||
	    (a->ssl_info != NULL && memcmp(a->ssl_info->cert_hash,
	    b->ssl_info->cert_hash, sizeof(a->ssl_info->cert_hash)) != 0) ||
	    a->log_level != b->log_level ||
	    str_differs(a->log_file, b->log_file) ||
	    a->log_facility != b->log_facility ||
	    memcmp(&a->retention, &b->retention, sizeof(a->retention)) != 0 ||
	    a->prune_interval != b->prune_interval ||
	    a->prune_grace != b->prune_grace ||
	    a->prune_rewrite_below != b->prune_rewrite_below ||
	    a->scrub_interval != b->scrub_interval ||
	    a->scrub_rate != b->scrub_rate ||
	    discovery_differs(&a->disc, &b->disc) ||
	    a->web_enabled != b->web_enabled ||
	    a->web_http != b->web_http ||
	    str_differs(a->web_root, b->web_root) ||
	    a->web_session_timeout != b->web_session_timeout ||
	    str_differs(a->web_cert, b->web_cert);
}
