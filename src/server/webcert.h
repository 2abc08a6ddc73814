/*
 * webcert.h - the web console's own certificate (DataDir/tls/
 * webconsole.crt, self-signed): the names it must carry, and making it
 * or making it again when one of them is missing, so that a browser
 * sent to any of the host's names or addresses (the HTTP port's
 * redirect keeps the Host it asked for) sees no name mismatch.
 */
#ifndef GV_WEBCERT_H
#define GV_WEBCERT_H

#include <stddef.h>

struct gv_config;

#define WEBCERT_NAMES_MAX	64	/* names in one certificate */
#define WEBCERT_NAME_MAX	253	/* bytes of one name */

/*
 * The names the certificate must carry: WebConsole.CertNames when set,
 * else the host name, its fully qualified name when /etc/hosts gives one
 * (no DNS query), localhost, 127.0.0.1, ::1 and each address of
 * Server.Listen, or for a wildcard ("*", 0.0.0.0, ::) every address of
 * the host's interfaces (getifaddrs(); IPv6 link-local ones cannot be
 * named and are left out), each once, at most WEBCERT_NAMES_MAX.
 * Fills names[0..*n-1] with malloc'ed strings (webcert_free() frees
 * them).  0, or -1 with err set (out of memory).
 */
int	webcert_names(const struct gv_config *c,
	    char *names[WEBCERT_NAMES_MAX], size_t *n, char *err,
	    size_t errlen);
void	webcert_free(char **names, size_t n);

/*
 * Make sure the self-signed certificate at cert (key at key) exists and
 * names every one of webcert_names(): make it (a new key) when either
 * file is missing; make it again with the same key when the certificate
 * is self-signed but lacks a name (logged with the name); leave one that
 * is not self-signed alone (someone's own).  *made says what was done:
 * 0 nothing, 1 made, 2 made again.  0, or -1 with err set.
 */
int	webcert_ensure(const struct gv_config *c, const char *cert,
	    const char *key, int *made, char *err, size_t errlen);

#endif
