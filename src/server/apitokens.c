/*
 * apitokens.c - the API tokens file (apitokens.h).  Lines are split on
 * ':' (the label, last, may hold more) and every field is checked; as in
 * admins.c, one bad line makes the file damaged rather than skipped.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/crypto.h"
#include "common/textfile.h"
#include "admins.h"
#include "apitokens.h"
#include "log.h"

#define FILE_MAX	(APITOK_MAX * 256)
#define LINE_FIELDS	7

struct line {
	struct apitok	 t;
	uint8_t		 hash[CRYPTO_HASH_LEN];
};

const char *
apitok_scope_name(int scope)
{
	return scope == APITOK_FULL ? "full" : "read";
}

int
apitok_scope_parse(const char *s)
{
	if (strcmp(s, "read") == 0)
		return APITOK_READ;
	if (strcmp(s, "full") == 0)
		return APITOK_FULL;
	return -1;
}

static int
label_valid(const char *s)
{
	size_t n = strlen(s);

	if (n > APITOK_LABEL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
hex_field(const char *s, size_t digits)
{
	return strlen(s) == digits && strspn(s, "0123456789abcdef") == digits;
}

static int
num_field(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* One line (NUL-terminated, no newline) into *l.  0 or -1. */
static int
parse_line(char *s, struct line *l)
{
	char *f[LINE_FIELDS];
	int nf = 0;

	while (nf < LINE_FIELDS - 1) {
		f[nf++] = s;
		if ((s = strchr(s, ':')) == NULL)
			return -1;
		*s++ = '\0';
	}
	f[nf] = s;		/* the label: the rest */
	memset(l, 0, sizeof(*l));
	/* USER/UID: the user's id (admins.h); without it, 0. */
	if ((s = strchr(f[1], '/')) != NULL) {
		uint8_t raw[8];

		*s++ = '\0';
		if (!hex_field(s, 16) || hex_decode(s, raw, sizeof(raw)) == -1)
			return -1;
		for (size_t i = 0; i < sizeof(raw); i++)
			l->t.uid = l->t.uid << 8 | raw[i];
		if (l->t.uid == 0)
			return -1;
	}
	if (!hex_field(f[0], APITOK_ID_HEX) || !admin_name_valid(f[1]) ||
	    (l->t.scope = apitok_scope_parse(f[2])) == -1 ||
	    num_field(f[3], &l->t.created) == -1 ||
	    num_field(f[4], &l->t.last_used) == -1 ||
	    !hex_field(f[5], 2 * CRYPTO_HASH_LEN) ||
	    hex_decode(f[5], l->hash, sizeof(l->hash)) == -1 ||
	    !label_valid(f[6]))
		return -1;
	snprintf(l->t.id, sizeof(l->t.id), "%s", f[0]);
	snprintf(l->t.user, sizeof(l->t.user), "%s", f[1]);
	snprintf(l->t.label, sizeof(l->t.label), "%s", f[6]);
	return 0;
}

/*
 * The whole file into *v (*n lines, malloc'ed).  No file: no tokens.
 * Only a regular file, never through a link, at most FILE_MAX bytes.
 */
static int
read_all(const char *path, struct line **v, size_t *n, char *err,
    size_t errlen)
{
	char *buf = NULL, *line, *next;
	struct line *lines = NULL;
	size_t len = 0, count = 0, lineno = 0;

	*v = NULL;
	*n = 0;
	if (textfile_read(path, FILE_MAX, &buf, &len, err, errlen) == -1)
		return -1;
	if (buf == NULL)
		return 0;	/* no file */
	if ((lines = calloc(APITOK_MAX + 1, sizeof(*lines))) == NULL)
		goto oom;
	for (line = buf; *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (count == APITOK_MAX) {
			snprintf(err, errlen, "%s: more than %d tokens", path,
			    APITOK_MAX);
			goto fail;
		}
		if (parse_line(line, &lines[count]) == -1) {
			snprintf(err, errlen, "%s:%zu: damaged line", path,
			    lineno);
			goto fail;
		}
		count++;
	}
	free(buf);
	*v = lines;
	*n = count;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	free(buf);
	free(lines);
	return -1;
}

static int
write_all(const char *path, const struct line *v, size_t n, char *err,
    size_t errlen)
{
	char *buf, hash[2 * CRYPTO_HASH_LEN + 1], uid[24];
	size_t cap = n * 256 + 1, len = 0;
	int rc;

	if ((buf = malloc(cap)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		hex_encode(v[i].hash, sizeof(v[i].hash), hash);
		uid[0] = '\0';
		if (v[i].t.uid != 0)
			snprintf(uid, sizeof(uid), "/%016llx",
			    (unsigned long long)v[i].t.uid);
		len += (size_t)snprintf(buf + len, cap - len,
		    "%s:%s%s:%s:%llu:%llu:%s:%s\n", v[i].t.id, v[i].t.user, uid,
		    apitok_scope_name(v[i].t.scope),
		    (unsigned long long)v[i].t.created,
		    (unsigned long long)v[i].t.last_used, hash, v[i].t.label);
	}
	rc = atomicfile_write(path, buf, len, 0640, err, errlen);
	free(buf);
	return rc;
}

int
apitok_create(const char *path, const char *user, uint64_t uid, int scope,
    const char *label, char token[APITOK_LEN + 1], struct apitok *t,
    char *err, size_t errlen)
{
	uint8_t raw[(APITOK_ID_HEX + APITOK_SECRET_HEX) / 2];
	char hex[APITOK_ID_HEX + APITOK_SECRET_HEX + 1];
	struct line *v, *nv;
	size_t n, mine = 0;
	int rc = -1, lk;

	if (!admin_name_valid(user) || (scope != APITOK_READ &&
	    scope != APITOK_FULL)) {
		snprintf(err, errlen, "invalid user or scope");
		return -1;
	}
	if (!label_valid(label)) {
		snprintf(err, errlen, "a label has at most %d bytes and no "
		    "control characters", APITOK_LABEL_MAX);
		return -1;
	}
	/* Every read-modify-write under the lock (admins.h). */
	if ((lk = admin_lock(path, err, errlen)) == -1)
		return -1;
	if (read_all(path, &v, &n, err, errlen) == -1) {
		admin_unlock(lk);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		mine += strcmp(v[i].t.user, user) == 0;
	if (mine >= APITOK_PER_USER || n >= APITOK_MAX) {
		snprintf(err, errlen, "%s has %d tokens already: revoke one "
		    "first", user, APITOK_PER_USER);
		goto out;
	}
	if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	v = nv;
	if (crypto_random(raw, sizeof(raw)) == -1) {
		snprintf(err, errlen, "no random numbers");
		goto out;
	}
	hex_encode(raw, sizeof(raw), hex);
	snprintf(token, APITOK_LEN + 1, APITOK_PREFIX "%s", hex);
	memset(&v[n], 0, sizeof(v[n]));
	memcpy(v[n].t.id, hex, APITOK_ID_HEX);
	snprintf(v[n].t.user, sizeof(v[n].t.user), "%s", user);
	v[n].t.uid = uid;
	v[n].t.scope = scope;
	v[n].t.created = (uint64_t)time(NULL);
	snprintf(v[n].t.label, sizeof(v[n].t.label), "%s", label);
	crypto_sha256(token, strlen(token), v[n].hash);
	if ((rc = write_all(path, v, n + 1, err, errlen)) == 0 && t != NULL)
		*t = v[n].t;
	n++;
out:
	crypto_wipe(raw, sizeof(raw));
	crypto_wipe(hex, sizeof(hex));
	free(v);
	admin_unlock(lk);
	return rc;
}

int
apitok_list(const char *path, const char *user, struct apitok **out,
    size_t *nout, char *err, size_t errlen)
{
	struct line *v;
	size_t n, k = 0;

	*out = NULL;
	*nout = 0;
	if (read_all(path, &v, &n, err, errlen) == -1)
		return -1;
	if (n > 0 && (*out = calloc(n, sizeof(**out))) == NULL) {
		free(v);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (user == NULL || strcmp(v[i].t.user, user) == 0)
			(*out)[k++] = v[i].t;
	free(v);
	if (k == 0) {
		free(*out);
		*out = NULL;
	}
	*nout = k;
	return 0;
}

/* Delete the lines of user (all users': NULL) with id (any: NULL). */
static int
revoke_lines(const char *path, const char *user, const char *id, char *err,
    size_t errlen)
{
	struct line *v;
	size_t n, k = 0;
	int rc, lk;

	if ((lk = admin_lock(path, err, errlen)) == -1)
		return -1;
	if (read_all(path, &v, &n, err, errlen) == -1) {
		admin_unlock(lk);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((user != NULL && strcmp(v[i].t.user, user) != 0) ||
		    (id != NULL && strcmp(v[i].t.id, id) != 0))
			v[k++] = v[i];
	if (k == n) {
		free(v);
		admin_unlock(lk);
		if (id == NULL)
			return 0;
		snprintf(err, errlen, "no such token");
		return -1;
	}
	rc = write_all(path, v, k, err, errlen);
	free(v);
	admin_unlock(lk);
	return rc;
}

int
apitok_revoke(const char *path, const char *user, const char *id, char *err,
    size_t errlen)
{
	return revoke_lines(path, user, id, err, errlen);
}

int
apitok_revoke_user(const char *path, const char *user, char *err,
    size_t errlen)
{
	return revoke_lines(path, user, NULL, err, errlen);
}

/*
 * Set LASTUSED of the token whose hash is hash to now, read again under
 * the lock so that a token revoked or made meanwhile is kept as the
 * file has it (errors logged: a last use is not worth a refusal).
 */
static void
touch(const char *path, const uint8_t hash[CRYPTO_HASH_LEN], uint64_t now)
{
	char err[512];
	struct line *v;
	size_t n;
	int lk;

	if ((lk = admin_lock(path, err, sizeof(err))) == -1) {
		log_warnx("API tokens: %s", err);
		return;
	}
	if (read_all(path, &v, &n, err, sizeof(err)) == -1) {
		log_warnx("API tokens: %s", err);
		admin_unlock(lk);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (crypto_equal(v[i].hash, hash, CRYPTO_HASH_LEN) &&
		    v[i].t.last_used < now) {
			v[i].t.last_used = now;
			if (write_all(path, v, n, err, sizeof(err)) == -1)
				log_warnx("API tokens: %s", err);
			break;
		}
	free(v);
	admin_unlock(lk);
}

int
apitok_check(const char *path, const char *token, uint64_t now,
    struct apitok *t)
{
	uint8_t hash[CRYPTO_HASH_LEN];
	char err[512];
	struct line *v, *hit = NULL;
	size_t n;

	if (token == NULL || strlen(token) != APITOK_LEN ||
	    strncmp(token, APITOK_PREFIX, 4) != 0)
		return 0;
	if (read_all(path, &v, &n, err, sizeof(err)) == -1) {
		log_warnx("API tokens: %s", err);
		return -1;
	}
	crypto_sha256(token, APITOK_LEN, hash);
	for (size_t i = 0; i < n; i++)
		if (crypto_equal(v[i].hash, hash, sizeof(hash)))
			hit = &v[i];
	if (hit != NULL) {
		*t = hit->t;
		if (hit->t.last_used + APITOK_USED_EVERY <= now) {
			touch(path, hash, now);
			t->last_used = now;
		}
	}
	free(v);
	return hit != NULL;
}
