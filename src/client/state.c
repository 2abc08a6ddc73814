/*
 * state.c - the client's registration in StateFile: read by every
 * session and by -s auto (finder.c), written by register and pin
 * (enroll.c) and by rollback detection (chain.c), which keeps the
 * newest snapshot of each set there; and the directories of the
 * client's own files.  See state.h.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "clientconf.h"
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

/* The "newest" entries as a JSON array (NULL when out of memory). */
static json_t *
seen_json(const struct client_state *st)
{
	char idhex[2 * SERVER_ID_LEN + 1], mhex[2 * BLOB_ID_LEN + 1];
	char rhex[2 * BLOB_ID_LEN + 1];
	json_t *a, *e;

	if ((a = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < st->nseen; i++) {
		const struct state_seen *s = &st->seen[i];

		hex_encode(s->server_id, SERVER_ID_LEN, idhex);
		hex_encode(s->meta, BLOB_ID_LEN, mhex);
		hex_encode(s->root, BLOB_ID_LEN, rhex);
		e = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "server_id",
		    idhex, "set", s->set, "snapshot", (json_int_t)s->id,
		    "time", (json_int_t)s->time, "meta", mhex, "root", rhex);
		if (e == NULL || json_array_append_new(a, e) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
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
	if (o != NULL && st->nseen > 0 && json_object_set_new(o, "newest",
	    seen_json(st)) == -1) {
		json_decref(o);
		o = NULL;
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
	/* A name of its own: two runs at once never share a temp file. */
	if (asprintf(&tmp, "%s.XXXXXX", path) == -1) {
		tmp = NULL;
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto done;
	}
	if (fchmod(fd, 0600) == -1 || write(fd, text, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
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
client_state_lock(const char *path, char *err, size_t errlen)
{
	char *lp;
	int fd;

	if (asprintf(&lp, "%s.lock", path) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    flock(fd, LOCK_EX) == -1) {
		snprintf(err, errlen, "cannot lock %s: %s", lp,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	free(lp);
	return fd;
}

void
client_state_unlock(int fd)
{
	if (fd != -1)
		close(fd);	/* the lock goes with the descriptor */
}

/*
 * The "newest" array a into st, each entry checked: 0, or -1 with err
 * set naming the entry.
 */
static int
seen_read(const char *path, json_t *a, struct client_state *st, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *e;
	size_t i;
	const char *id, *set, *meta, *root;
	json_int_t snap, time;

	if (!json_is_array(a)) {
		snprintf(err, errlen, "%s: \"newest\" is not an array", path);
		return -1;
	}
	if (json_array_size(a) > STATE_SEEN_MAX) {
		snprintf(err, errlen, "%s: \"newest\" has %zu entries (at most "
		    "%d)", path, json_array_size(a), STATE_SEEN_MAX);
		return -1;
	}
	json_array_foreach(a, i, e) {
		struct state_seen *s = &st->seen[st->nseen];

		if (json_unpack_ex(e, &je, JSON_STRICT,
		    "{s:s, s:s, s:I, s:I, s:s, s:s}", "server_id", &id,
		    "set", &set, "snapshot", &snap, "time", &time,
		    "meta", &meta, "root", &root) == -1) {
			snprintf(err, errlen, "%s: \"newest\" entry %zu: %s",
			    path, i + 1, je.text);
			return -1;
		}
		if (strlen(set) > STATE_SET_MAX ||
		    !clientconf_valid_set(set) || snap < 1 || time < 0 ||
		    hex_decode(id, s->server_id, SERVER_ID_LEN) == -1 ||
		    hex_decode(meta, s->meta, BLOB_ID_LEN) == -1 ||
		    hex_decode(root, s->root, BLOB_ID_LEN) == -1) {
			snprintf(err, errlen, "%s: \"newest\" entry %zu: "
			    "damaged (a bad set name, snapshot id or time, or "
			    "an id not hex of the right length)", path, i + 1);
			return -1;
		}
		if (client_state_seen(st, s->server_id, set) != NULL) {
			snprintf(err, errlen, "%s: \"newest\" entry %zu: a "
			    "second entry for set %s of the same server", path,
			    i + 1, set);
			return -1;
		}
		snprintf(s->set, sizeof(s->set), "%s", set);
		s->id = (uint64_t)snap;
		s->time = (uint64_t)time;
		st->nseen++;
	}
	return 0;
}

/*
 * The whole file at path, at most STATE_FILE_MAX bytes, into a malloc'ed
 * *buf of *len bytes.  0; 1 when there is no file; -1 with err set.
 */
static int
slurp(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	char *b;
	size_t got = 0;
	ssize_t r;
	int fd;

	*buf = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (sb.st_size > STATE_FILE_MAX) {
		snprintf(err, errlen, "%s: too large (%lld bytes; a state file "
		    "has at most %d)", path, (long long)sb.st_size,
		    STATE_FILE_MAX);
		close(fd);
		return -1;
	}
	/* One byte more than allowed tells a file that grew meanwhile. */
	if ((b = malloc(STATE_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (got <= STATE_FILE_MAX && (r = read(fd, b + got,
	    STATE_FILE_MAX + 1 - got)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		got += (size_t)r;
	}
	if (got > STATE_FILE_MAX) {
		snprintf(err, errlen, "%s: too large (a state file has at "
		    "most %d bytes)", path, STATE_FILE_MAX);
		goto fail;
	}
	close(fd);
	*buf = b;
	*len = got;
	return 0;
fail:
	crypto_wipe(b, STATE_FILE_MAX + 1);
	free(b);
	close(fd);
	return -1;
}

int
client_state_read(const char *path, struct client_state *st, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *o, *newest = NULL;
	const char *server, *id, *name, *secret, *pin = NULL;
	char *buf;
	size_t len;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = slurp(path, &buf, &len, err, errlen)) != 0) {
		if (rc == 1)
			snprintf(err, errlen, "not registered (no %s): run "
			    "\"gigavault register -s HOST[:PORT] --token "
			    "TOKEN\" first", path);
		return -1;
	}
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	crypto_wipe(buf, len);
	free(buf);
	if (o == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return -1;
	}
	rc = -1;
	if (json_unpack_ex(o, &je, JSON_STRICT,
	    "{s:s, s:s, s:s, s:s, s?s, s?o}", "server", &server,
	    "server_id", &id, "client", &name, "secret", &secret,
	    "tls_pin", &pin, "newest", &newest) == -1) {
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
	if (newest != NULL && seen_read(path, newest, st, err, errlen) == -1)
		goto done;
	snprintf(st->server, sizeof(st->server), "%s", server);
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->has_pin = pin != NULL;
	rc = 0;
done:
	if (rc == -1)
		crypto_wipe(st, sizeof(*st));
	json_decref(o);
	return rc;
}

const struct state_seen *
client_state_seen(const struct client_state *st, const uint8_t *server_id,
    const char *set)
{
	for (size_t i = 0; i < st->nseen; i++)
		if (memcmp(st->seen[i].server_id, server_id,
		    SERVER_ID_LEN) == 0 && strcmp(st->seen[i].set, set) == 0)
			return &st->seen[i];
	return NULL;
}

int
client_state_remember(struct client_state *st, const struct state_seen *e)
{
	size_t i;

	for (i = 0; i < st->nseen; i++)
		if (memcmp(st->seen[i].server_id, e->server_id,
		    SERVER_ID_LEN) == 0 && strcmp(st->seen[i].set, e->set) == 0)
			break;
	if (i == st->nseen) {
		if (st->nseen == STATE_SEEN_MAX)
			return -1;
		st->nseen++;
	}
	st->seen[i] = *e;
	return 0;
}

void
client_state_drop(struct client_state *st, const uint8_t *server_id,
    const char *set)
{
	for (size_t i = 0; i < st->nseen; i++) {
		if (memcmp(st->seen[i].server_id, server_id,
		    SERVER_ID_LEN) != 0 || strcmp(st->seen[i].set, set) != 0)
			continue;
		memmove(&st->seen[i], &st->seen[i + 1],
		    (st->nseen - i - 1) * sizeof(st->seen[0]));
		st->nseen--;
		return;
	}
}
