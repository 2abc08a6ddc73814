/*
 * state.c - the client's registration in StateFile: read by every
 * session and by -s auto (finder.c), written by register and pin
 * (enroll.c); and the directories of the client's own files.  See
 * state.h.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "state.h"

int
client_mkparent(const char *path, char *err, size_t errlen)
{
	char *d = strdup(path), *p;

	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((p = strrchr(d, '/')) == NULL || p == d) {
		free(d);
		return 0;
	}
	*p = '\0';
	for (p = d + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char save = *p;

		*p = '\0';
		if (mkdir(d, 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", d,
			    strerror(errno));
			free(d);
			return -1;
		}
		*p = save;
		if (save == '\0')
			break;
	}
	free(d);
	return 0;
}

int
client_state_write(const char *path, const struct client_state *st,
    char *err, size_t errlen)
{
	char idhex[2 * SERVER_ID_LEN + 1];
	char sechex[2 * REMOTE_SECRET_LEN + 1], *text, *tmp = NULL;
	char pinhex[2 * TLS_PIN_LEN + 1];
	json_t *o;
	size_t len;
	int fd = -1, rc = -1;

	hex_encode(st->server_id, sizeof(st->server_id), idhex);
	hex_encode(st->secret, sizeof(st->secret), sechex);
	o = json_pack("{s:s, s:s, s:s, s:s}", "server", st->server,
	    "server_id", idhex, "client", st->name, "secret", sechex);
	crypto_wipe(sechex, sizeof(sechex));
	if (o != NULL && st->has_pin) {
		hex_encode(st->tls_pin, sizeof(st->tls_pin), pinhex);
		if (json_object_set_new(o, "tls_pin", json_string(pinhex)) ==
		    -1) {
			json_decref(o);
			o = NULL;
		}
	}
	if (o == NULL || (text = json_dumps(o, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(o);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_decref(o);		/* jansson keeps no copy of the secret */
	len = strlen(text);
	if (client_mkparent(path, err, errlen) == -1)
		goto done;
	if (asprintf(&tmp, "%s.tmp", path) == -1) {
		tmp = NULL;
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || write(fd, text, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		if (fd != -1)
			unlink(tmp);
		goto done;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		fd = -1;
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		goto done;
	}
	fd = -1;
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	crypto_wipe(text, len);
	free(text);
	free(tmp);
	return rc;
}

int
client_state_read(const char *path, struct client_state *st, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *o;
	const char *server, *id, *name, *secret, *pin = NULL;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if ((o = json_load_file(path, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		if (access(path, F_OK) == -1 && errno == ENOENT)
			snprintf(err, errlen, "not registered (no %s): run "
			    "\"gigavault register -s HOST[:PORT] --token "
			    "TOKEN\" first", path);
		else
			snprintf(err, errlen, "%s:%d: %s", path, je.line,
			    je.text);
		return -1;
	}
	if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:s, s:s, s?s}",
	    "server", &server, "server_id", &id, "client", &name,
	    "secret", &secret, "tls_pin", &pin) == -1) {
		snprintf(err, errlen, "%s: %s", path, je.text);
		goto done;
	}
	if (strlen(server) >= sizeof(st->server) ||
	    strlen(name) == 0 || strlen(name) > REMOTE_NAME_MAX ||
	    hex_decode(id, st->server_id, sizeof(st->server_id)) == -1 ||
	    hex_decode(secret, st->secret, sizeof(st->secret)) == -1 ||
	    (pin != NULL && hex_decode(pin, st->tls_pin,
	    sizeof(st->tls_pin)) == -1)) {
		snprintf(err, errlen, "%s: damaged (a value is too long or "
		    "not hex)", path);
		goto done;
	}
	snprintf(st->server, sizeof(st->server), "%s", server);
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->has_pin = pin != NULL;
	rc = 0;
done:
	json_decref(o);
	return rc;
}
