/*
 * webcert.c - the names of the web console's own certificate, and
 * making it (webcert.h).  The certificate itself is common/tls.c's.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tls.h"
#include "config.h"
#include "log.h"
#include "webcert.h"

#define HOSTS_FILE	"/etc/hosts"
#define HOSTS_LINE_MAX	4096
#define CERT_DAYS	3650

struct names {
	char		**v;
	size_t		 n;
	int		 oom;
};

/* Add s (of len bytes) unless it is there already or the list is full. */
static void
add_len(struct names *l, const char *s, size_t len)
{
	char *d;

	if (len == 0 || len > WEBCERT_NAME_MAX || l->n == WEBCERT_NAMES_MAX)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == len && strncasecmp(l->v[i], s, len) == 0)
			return;
	if ((d = strndup(s, len)) == NULL) {
		l->oom = 1;
		return;
	}
	l->v[l->n++] = d;
}

static void
add(struct names *l, const char *s)
{
	add_len(l, s, strlen(s));
}

/*
 * The host's fully qualified name from /etc/hosts: the first name with a
 * dot on a line that names host (the first word of a line is its
 * address, '#' starts a comment).  "" when there is none.
 */
static void
fqdn_from_hosts(const char *host, char *out, size_t len)
{
	char line[HOSTS_LINE_MAX], *w, *save, *names[32];
	size_t nn;
	FILE *f;

	out[0] = '\0';
	if ((f = fopen(HOSTS_FILE, "re")) == NULL)
		return;
	while (out[0] == '\0' && fgets(line, sizeof(line), f) != NULL) {
		int named = 0;

		line[strcspn(line, "#")] = '\0';
		nn = 0;
		if (strtok_r(line, " \t\r\n", &save) == NULL)
			continue;	/* the address */
		while ((w = strtok_r(NULL, " \t\r\n", &save)) != NULL &&
		    nn < sizeof(names) / sizeof(names[0])) {
			names[nn++] = w;
			if (strcasecmp(w, host) == 0)
				named = 1;
		}
		for (size_t i = 0; named && i < nn && out[0] == '\0'; i++)
			if (strchr(names[i], '.') != NULL &&
			    strncasecmp(names[i], host, strlen(host)) == 0 &&
			    names[i][strlen(host)] == '.')
				snprintf(out, len, "%s", names[i]);
	}
	fclose(f);
}

/* Every address of the host's interfaces but IPv6 link-local ones. */
static void
add_interfaces(struct names *l)
{
	struct ifaddrs *ifa, *i;
	char a[INET6_ADDRSTRLEN];

	if (getifaddrs(&ifa) == -1) {
		log_warn("web console certificate: getifaddrs");
		return;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)
			    (void *)i->ifa_addr;

			if (inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a)))
				add(l, a);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)
			    (void *)i->ifa_addr;

			if (IN6_IS_ADDR_LINKLOCAL(&s->sin6_addr))
				continue;
			if (inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a)))
				add(l, a);
		}
	}
	freeifaddrs(ifa);
}

static int
is_wildcard(const char *a)
{
	return strcmp(a, "*") == 0 || strcmp(a, "0.0.0.0") == 0 ||
	    strcmp(a, "::") == 0;
}

int
webcert_names(const struct gv_config *c, char *names[WEBCERT_NAMES_MAX],
    size_t *n, char *err, size_t errlen)
{
	struct names l = { names, 0, 0 };
	char host[256], fqdn[256];
	int wild = 0;

	if (c->nweb_cert_names > 0) {
		for (size_t i = 0; i < c->nweb_cert_names; i++)
			add(&l, c->web_cert_names[i]);
	} else {
		if (gethostname(host, sizeof(host)) == 0 && host[0] != '\0') {
			host[sizeof(host) - 1] = '\0';
			add(&l, host);
			fqdn_from_hosts(host, fqdn, sizeof(fqdn));
			add(&l, fqdn);
		}
		add(&l, "localhost");
		add(&l, "127.0.0.1");
		add(&l, "::1");
		for (size_t i = 0; i < c->nlisten; i++) {
			if (is_wildcard(c->listen[i]))
				wild = 1;
			else
				add(&l, c->listen[i]);
		}
		if (wild)
			add_interfaces(&l);
	}
	if (l.oom) {
		webcert_free(l.v, l.n);
		*n = 0;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*n = l.n;
	return 0;
}

void
webcert_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}

int
webcert_ensure(const struct gv_config *c, const char *cert, const char *key,
    int *made, char *err, size_t errlen)
{
	char *names[WEBCERT_NAMES_MAX], why[512], text[96];
	uint8_t pin[TLS_PIN_LEN];
	const char *missing = NULL;
	size_t n;
	int rc = -1, have, keep = 0;

	*made = 0;
	if (webcert_names(c, names, &n, err, errlen) == -1)
		return -1;
	if (n == 0) {
		snprintf(err, errlen, "no name for the certificate");
		goto out;
	}
	have = access(cert, F_OK) == 0 && access(key, F_OK) == 0;
	if (have) {
		switch (tls_cert_covers(cert, (const char *const *)names, n,
		    &missing, why, sizeof(why))) {
		case 0:
			keep = 1;	/* a name is missing: same key */
			break;
		case -1:
			/* tls_files_check() will say what is wrong. */
		case 1:
		case 2:		/* not ours: never replaced */
		default:
			rc = 0;
			goto out;
		}
	}
	if (tls_make_selfsigned_names(cert, key, names[0],
	    (const char *const *)names, n, CERT_DAYS, keep, pin, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	tls_pin_text(pin, text);
	if (keep)
		log_info("web console: the certificate %s did not name %s: "
		    "made it again with the same key (%zu names)", cert,
		    missing, n);
	else
		log_info("web console: made a self-signed certificate for %s "
		    "(%zu names) in %s; its key's SHA-256 fingerprint is %s",
		    names[0], n, cert, text);
	*made = keep ? 2 : 1;
	rc = 0;
out:
	webcert_free(names, n);
	return rc;
}
