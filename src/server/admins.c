/*
 * admins.c - the administrators file and password hashing.  See
 * admins.h.  Lines are split on ':' and every field is checked; a line
 * that does not parse makes the whole file "damaged" rather than being
 * skipped, so that a typo cannot silently lock out or let in anyone.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>

#include "common/crypto.h"
#include "common/textfile.h"
#include "admins.h"
#include "log.h"

#define FILE_MAX	(256 * 1024)
#define LINE_FIELDS	8	/* without the optional role */
#define LINE_FIELDS_ROLE 9	/* with the role, without TOTP */
#define LINE_FIELDS_TOTP 11	/* with the role, TOTP's secret and step */
#define LINE_FIELDS_MAX	12	/* and the user's id */

struct admin_line {
	char		 name[ADMIN_NAME_MAX + 1];
	struct admin_kdf kdf;
	uint8_t		 key[ADMIN_KEY_LEN];
	uint64_t	 changed;
	int		 role;		/* enum admin_role */
	uint8_t		 totp[ADMIN_TOTP_LEN];	/* all zero: no TOTP */
	int		 has_totp;
	uint64_t	 totp_step;	/* the last step a code was taken at */
	uint64_t	 uid;		/* 0: a line from before ids */
};

static const char *const role_names[] = {
	[ADMIN_ROLE_OPERATOR] = "operator",
	[ADMIN_ROLE_ADMIN] = "admin",
};

const char *
admin_role_name(int role)
{
	if (role < 0 || (size_t)role >= sizeof(role_names) /
	    sizeof(role_names[0]))
		return "?";
	return role_names[role];
}

int
admin_role_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(s, role_names[i]) == 0)
			return (int)i;
	return -1;
}

int
admin_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > ADMIN_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

static int
kdf_valid(const struct admin_kdf *k)
{
	return k->N >= 1024 && k->N <= (1u << 20) && (k->N & (k->N - 1)) == 0 &&
	    k->r >= 1 && k->r <= 32 && k->p >= 1 && k->p <= 16;
}

int
admin_derive(const char *password, const struct admin_kdf *kdf,
    uint8_t key[ADMIN_KEY_LEN])
{
	if (!kdf_valid(kdf))
		return -1;
	return crypto_scrypt(password, strlen(password), kdf->salt,
	    sizeof(kdf->salt), kdf->N, kdf->r, kdf->p, key, ADMIN_KEY_LEN);
}

/* A decimal number of at most max, the whole of s. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x > max)
		return -1;
	*v = x;
	return 0;
}

/* Parse one line (NUL-terminated, no newline) into *a.  0 or -1. */
static int
parse_line(char *line, struct admin_line *a)
{
	char *f[LINE_FIELDS_MAX];
	uint64_t n, r, p;
	int nf = 0;

	for (char *s = line;;) {
		if (nf == LINE_FIELDS_MAX)
			return -1;	/* more fields than we know */
		f[nf++] = s;
		if ((s = strchr(s, ':')) == NULL)
			break;
		*s++ = '\0';
	}
	if (nf < LINE_FIELDS || !admin_name_valid(f[0]) ||
	    strcmp(f[1], "scrypt") != 0 ||
	    parse_u64(f[2], 1u << 20, &n) == -1 ||
	    parse_u64(f[3], 32, &r) == -1 || parse_u64(f[4], 16, &p) == -1 ||
	    strlen(f[5]) != 2 * ADMIN_SALT_LEN ||
	    hex_decode(f[5], a->kdf.salt, ADMIN_SALT_LEN) == -1 ||
	    strlen(f[6]) != 2 * ADMIN_KEY_LEN ||
	    hex_decode(f[6], a->key, ADMIN_KEY_LEN) == -1 ||
	    parse_u64(f[7], UINT64_MAX, &a->changed) == -1)
		return -1;
	/* Without a ninth field (files before roles): an administrator. */
	a->role = ADMIN_ROLE_ADMIN;
	if (nf >= LINE_FIELDS_ROLE && (a->role = admin_role_parse(f[8])) == -1)
		return -1;
	/* TOTP: the secret's hex and the last step taken, both or none. */
	a->has_totp = 0;
	a->totp_step = 0;
	a->uid = 0;
	if (nf == LINE_FIELDS_ROLE + 1)
		return -1;
	/* With the id, a user without TOTP has an empty secret field. */
	if (nf == LINE_FIELDS_MAX) {
		uint8_t raw[8];

		if (strlen(f[11]) != 16 || hex_decode(f[11], raw, 8) == -1)
			return -1;
		for (int i = 0; i < 8; i++)
			a->uid = a->uid << 8 | raw[i];
		if (a->uid == 0)
			return -1;
	}
	if (nf >= LINE_FIELDS_TOTP && (nf == LINE_FIELDS_TOTP ||
	    f[9][0] != '\0')) {
		if (strlen(f[9]) != 2 * ADMIN_TOTP_LEN ||
		    hex_decode(f[9], a->totp, ADMIN_TOTP_LEN) == -1 ||
		    parse_u64(f[10], UINT64_MAX, &a->totp_step) == -1)
			return -1;
		a->has_totp = 1;
	} else if (nf == LINE_FIELDS_MAX &&
	    parse_u64(f[10], UINT64_MAX, &a->totp_step) == -1)
		return -1;
	snprintf(a->name, sizeof(a->name), "%s", f[0]);
	a->kdf.N = n;
	a->kdf.r = (uint32_t)r;
	a->kdf.p = (uint32_t)p;
	return kdf_valid(&a->kdf) ? 0 : -1;
}

int
admin_lock(const char *path, char *err, size_t errlen)
{
	char lpath[4096];
	struct stat st;
	int fd;

	/* Never through a link, never waiting on a FIFO (as read_all). */
	if ((size_t)snprintf(lpath, sizeof(lpath), "%s.lock", path) >=
	    sizeof(lpath)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = open(lpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0640)) == -1) {
		snprintf(err, errlen, "%s: %s", lpath, errno == ELOOP ?
		    "a symbolic link, not a file" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", lpath);
		close(fd);
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		snprintf(err, errlen, "%s: %s", lpath, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
admin_unlock(int fd)
{
	if (fd != -1)
		close(fd);	/* and with it the lock */
}

/*
 * Read the whole file into *v (*n lines; malloc'ed, the caller frees).
 * A missing file is no administrators; a symbolic link, a FIFO or
 * anything but a regular file is an error (never followed, never
 * waited on); at most FILE_MAX bytes.  0, or -1 with err set.
 */
static int
read_all(const char *path, struct admin_line **v, size_t *n, char *err,
    size_t errlen)
{
	char *buf = NULL, *line, *next;
	struct admin_line *lines = NULL;
	size_t len = 0, count = 0, lineno = 0;

	*v = NULL;
	*n = 0;
	if (textfile_read(path, FILE_MAX, &buf, &len, err, errlen) == -1)
		return -1;
	if (buf == NULL)
		return 0;	/* no file */
	if ((lines = calloc(ADMIN_MAX, sizeof(*lines))) == NULL)
		goto oom;
	for (line = buf; *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (count == ADMIN_MAX) {
			snprintf(err, errlen, "%s: more than %d administrators",
			    path, ADMIN_MAX);
			goto fail;
		}
		if (parse_line(line, &lines[count]) == -1) {
			snprintf(err, errlen, "%s:%zu: damaged line", path,
			    lineno);
			goto fail;
		}
		count++;
	}
	crypto_wipe(buf, len);
	free(buf);
	*v = lines;
	*n = count;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	if (buf != NULL)
		crypto_wipe(buf, len);
	free(buf);
	free(lines);
	return -1;
}

int
admin_lookup(const char *path, const char *name, struct admin_kdf *kdf,
    uint8_t key[ADMIN_KEY_LEN])
{
	struct admin_line *v;
	char err[512];
	size_t n;
	int found = 0;

	if (read_all(path, &v, &n, err, sizeof(err)) == -1) {
		log_warnx("administrators: %s", err);
		return -1;
	}
	for (size_t i = 0; i < n && !found; i++)
		if (strcmp(v[i].name, name) == 0) {
			*kdf = v[i].kdf;
			memcpy(key, v[i].key, ADMIN_KEY_LEN);
			found = 1;
		}
	if (v != NULL)
		crypto_wipe(v, n * sizeof(*v));
	free(v);
	return found;
}

int
admin_verify(const char *path, const char *name, const char *password)
{
	struct admin_kdf kdf;
	uint8_t want[ADMIN_KEY_LEN], got[ADMIN_KEY_LEN];
	int found, ok;

	if ((found = admin_lookup(path, name, &kdf, want)) == -1)
		return -1;
	if (!found) {
		/* Spend the same time, so that names cannot be probed. */
		memset(&kdf, 0, sizeof(kdf));
		kdf.N = ADMIN_SCRYPT_N;
		kdf.r = ADMIN_SCRYPT_R;
		kdf.p = ADMIN_SCRYPT_P;
		memset(want, 0, sizeof(want));
	}
	if (admin_derive(password, &kdf, got) == -1) {
		log_warnx("%s: scrypt failed", __func__);
		return -1;
	}
	ok = found && crypto_equal(got, want, sizeof(got));
	crypto_wipe(got, sizeof(got));
	crypto_wipe(want, sizeof(want));
	return ok;
}

int
admin_count(const char *path)
{
	struct admin_line *v;
	char err[512];
	size_t n;

	if (read_all(path, &v, &n, err, sizeof(err)) == -1) {
		log_warnx("administrators: %s", err);
		return -1;
	}
	if (v != NULL)
		crypto_wipe(v, n * sizeof(*v));
	free(v);
	return (int)n;
}

/* Write v[0..n-1] to path through a temporary file.  0 or -1 (err). */
static int
write_all(const char *path, const struct admin_line *v, size_t n, char *err,
    size_t errlen)
{
	char tmp[4096], salt[2 * ADMIN_SALT_LEN + 1], key[2 * ADMIN_KEY_LEN + 1];
	char totp[2 * ADMIN_TOTP_LEN + 1], tail[2 * ADMIN_TOTP_LEN + 72];
	FILE *f;
	int fd, bad = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0640)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		hex_encode(v[i].kdf.salt, ADMIN_SALT_LEN, salt);
		hex_encode(v[i].key, ADMIN_KEY_LEN, key);
		/* An administrator without TOTP: the line as before roles. */
		tail[0] = '\0';
		if (v[i].uid != 0) {
			/* Every field, the secret empty without TOTP. */
			totp[0] = '\0';
			if (v[i].has_totp)
				hex_encode(v[i].totp, ADMIN_TOTP_LEN, totp);
			snprintf(tail, sizeof(tail), ":%s:%s:%llu:%016llx",
			    admin_role_name(v[i].role), totp,
			    (unsigned long long)v[i].totp_step,
			    (unsigned long long)v[i].uid);
		} else if (v[i].has_totp) {
			hex_encode(v[i].totp, ADMIN_TOTP_LEN, totp);
			snprintf(tail, sizeof(tail), ":%s:%s:%llu",
			    admin_role_name(v[i].role), totp,
			    (unsigned long long)v[i].totp_step);
		} else if (v[i].role != ADMIN_ROLE_ADMIN)
			snprintf(tail, sizeof(tail), ":%s",
			    admin_role_name(v[i].role));
		if (fprintf(f, "%s:scrypt:%llu:%u:%u:%s:%s:%llu%s\n",
		    v[i].name, (unsigned long long)v[i].kdf.N, v[i].kdf.r,
		    v[i].kdf.p, salt, key, (unsigned long long)v[i].changed,
		    tail) < 0)
			bad = 1;
	}
	crypto_wipe(key, sizeof(key));
	crypto_wipe(totp, sizeof(totp));
	crypto_wipe(tail, sizeof(tail));
	if (fflush(f) == EOF || fsync(fileno(f)) == -1)
		bad = 1;
	if (fclose(f) == EOF)
		bad = 1;
	if (bad || rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
admin_set(const char *path, const char *name, const char *password,
    int create, char *err, size_t errlen)
{
	return admin_put(path, name, password, create, -1, err, errlen);
}

/* How many of v[0..n-1] have the administrator role. */
static size_t
count_admins(const struct admin_line *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].role == ADMIN_ROLE_ADMIN)
			k++;
	return k;
}

int
admin_put(const char *path, const char *name, const char *password,
    int create, int role, char *err, size_t errlen)
{
	struct admin_line *v = NULL, *a = NULL, *nv;
	size_t n, i;
	int rc = -1, lk;

	if (!admin_name_valid(name)) {
		snprintf(err, errlen, "invalid administrator name \"%s\": use "
		    "1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -",
		    name, ADMIN_NAME_MAX);
		return -1;
	}
	if (role != -1 && (role < 0 || (size_t)role >= sizeof(role_names) /
	    sizeof(role_names[0]))) {
		snprintf(err, errlen, "no such role");
		return -1;
	}
	if (password != NULL && (strlen(password) < ADMIN_PASS_MIN ||
	    strlen(password) > ADMIN_PASS_MAX)) {
		snprintf(err, errlen, "a password needs %d to %d characters",
		    ADMIN_PASS_MIN, ADMIN_PASS_MAX);
		return -1;
	}
	if ((lk = admin_lock(path, err, errlen)) == -1)
		return -1;
	if (read_all(path, &v, &n, err, errlen) == -1) {
		admin_unlock(lk);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			a = &v[i];
	if (create && a != NULL) {
		snprintf(err, errlen, "an administrator named \"%s\" exists "
		    "already (admin passwd changes the password)", name);
		goto out;
	}
	if (!create && a == NULL) {
		snprintf(err, errlen, "no administrator named \"%s\"", name);
		goto out;
	}
	if (a == NULL) {
		if (n == ADMIN_MAX) {
			snprintf(err, errlen, "%d administrators already",
			    ADMIN_MAX);
			goto out;
		}
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		v = nv;
		a = &v[n++];
		memset(a, 0, sizeof(*a));
		snprintf(a->name, sizeof(a->name), "%s", name);
		a->role = ADMIN_ROLE_ADMIN;
		/* This user's id: a former user of the name had another. */
		do {
			if (crypto_random(&a->uid, sizeof(a->uid)) == -1) {
				snprintf(err, errlen, "no random numbers");
				goto out;
			}
		} while (a->uid == 0);
		if (password == NULL) {
			snprintf(err, errlen, "a new administrator needs a "
			    "password");
			goto out;
		}
	}
	if (!create && role != -1 && a->role == ADMIN_ROLE_ADMIN &&
	    role != ADMIN_ROLE_ADMIN && count_admins(v, n) == 1) {
		snprintf(err, errlen, "\"%s\" is the last administrator: "
		    "give another one the administrator role first", name);
		goto out;
	}
	if (role != -1)
		a->role = role;
	if (count_admins(v, n) == 0) {
		snprintf(err, errlen, "the first user must be an administrator "
		    "(a read-only operator could not manage the others)");
		goto out;
	}
	if (password == NULL) {
		rc = write_all(path, v, n, err, errlen);
		goto out;
	}
	a->kdf.N = ADMIN_SCRYPT_N;
	a->kdf.r = ADMIN_SCRYPT_R;
	a->kdf.p = ADMIN_SCRYPT_P;
	a->changed = (uint64_t)time(NULL);
	if (crypto_random(a->kdf.salt, sizeof(a->kdf.salt)) == -1 ||
	    admin_derive(password, &a->kdf, a->key) == -1) {
		snprintf(err, errlen, "cannot hash the password");
		goto out;
	}
	rc = write_all(path, v, n, err, errlen);
out:
	if (v != NULL)
		crypto_wipe(v, n * sizeof(*v));
	free(v);
	admin_unlock(lk);
	return rc;
}

int
admin_remove(const char *path, const char *name, char *err, size_t errlen)
{
	struct admin_line *v;
	size_t n, i;
	int rc = -1, lk;

	if ((lk = admin_lock(path, err, errlen)) == -1)
		return -1;
	if (read_all(path, &v, &n, err, errlen) == -1) {
		admin_unlock(lk);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			break;
	if (i == n)
		snprintf(err, errlen, "no administrator named \"%s\"", name);
	else if (v[i].role == ADMIN_ROLE_ADMIN && count_admins(v, n) == 1 &&
	    n > 1)
		snprintf(err, errlen, "\"%s\" is the last administrator "
		    "(the others are read-only operators): give another one "
		    "the administrator role first", name);
	else {
		memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof(*v));
		rc = write_all(path, v, n - 1, err, errlen);
	}
	if (v != NULL)
		crypto_wipe(v, n * sizeof(*v));
	free(v);
	admin_unlock(lk);
	return rc;
}

int
admin_role_of(const char *path, const char *name)
{
	uint64_t uid;

	return admin_whois(path, name, &uid);
}

int
admin_whois(const char *path, const char *name, uint64_t *uid)
{
	struct admin_line *v;
	char err[512];
	size_t n;
	int role = -1;

	*uid = 0;
	if (read_all(path, &v, &n, err, sizeof(err)) == -1) {
		log_warnx("administrators: %s", err);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0) {
			role = v[i].role;
			*uid = v[i].uid;
		}
	if (v != NULL)
		crypto_wipe(v, n * sizeof(*v));
	free(v);
	return role;
}

int
admin_list(const char *path, void (*fn)(void *, const struct admin_info *),
    void *arg, char *err, size_t errlen)
{
	struct admin_info ai;
	struct admin_line *v;
	size_t n;

	if (read_all(path, &v, &n, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		ai.name = v[i].name;
		ai.changed = v[i].changed;
		ai.role = v[i].role;
		ai.totp = v[i].has_totp;
		fn(arg, &ai);
	}
	if (v != NULL)
		crypto_wipe(v, n * sizeof(*v));
	free(v);
	return 0;
}

/* Read the file and find name: 0 with *v, *n and *a set, or -1 (err). */
static int
find(const char *path, const char *name, struct admin_line **v, size_t *n,
    struct admin_line **a, char *err, size_t errlen)
{
	*a = NULL;
	if (read_all(path, v, n, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0)
			*a = &(*v)[i];
	if (*a == NULL) {
		snprintf(err, errlen, "no administrator named \"%s\"", name);
		if (*v != NULL)
			crypto_wipe(*v, *n * sizeof(**v));
		free(*v);
		*v = NULL;
		return -1;
	}
	return 0;
}

int
admin_totp_set(const char *path, const char *name,
    const uint8_t secret[ADMIN_TOTP_LEN], uint64_t step, char *err,
    size_t errlen)
{
	struct admin_line *v, *a;
	size_t n;
	int rc, lk;

	if ((lk = admin_lock(path, err, errlen)) == -1)
		return -1;
	if (find(path, name, &v, &n, &a, err, errlen) == -1) {
		admin_unlock(lk);
		return -1;
	}
	a->has_totp = secret != NULL;
	memset(a->totp, 0, sizeof(a->totp));
	if (secret != NULL)
		memcpy(a->totp, secret, ADMIN_TOTP_LEN);
	a->totp_step = step;
	rc = write_all(path, v, n, err, errlen);
	crypto_wipe(v, n * sizeof(*v));
	free(v);
	admin_unlock(lk);
	return rc;
}

int
admin_totp_match(const uint8_t secret[ADMIN_TOTP_LEN], const char *code,
    uint64_t now, uint64_t *step)
{
	int pos, rc;

	if (code == NULL || strlen(code) != ADMIN_TOTP_DIGITS ||
	    strspn(code, "0123456789") != ADMIN_TOTP_DIGITS ||
	    now < ADMIN_TOTP_STEP || oath_init() != OATH_OK)
		return 0;
	rc = oath_totp_validate2((const char *)secret, ADMIN_TOTP_LEN,
	    (time_t)now, ADMIN_TOTP_STEP, 0, ADMIN_TOTP_WINDOW, &pos, code);
	oath_done();
	if (rc < 0)
		return 0;
	*step = now / ADMIN_TOTP_STEP + (uint64_t)(int64_t)pos;
	return 1;
}

int
admin_totp_check(const char *path, const char *name, const char *code,
    uint64_t now)
{
	struct admin_line *v, *a;
	char err[512];
	uint64_t step;
	size_t n;
	int rc = 0, lk;

	/* Locked: a step taken by another writer is never rolled back. */
	if ((lk = admin_lock(path, err, sizeof(err))) == -1) {
		log_warnx("administrators: %s", err);
		return -1;
	}
	if (find(path, name, &v, &n, &a, err, sizeof(err)) == -1) {
		admin_unlock(lk);
		if (strncmp(err, "no administrator", 16) == 0)
			return 2;
		log_warnx("administrators: %s", err);
		return -1;
	}
	if (!a->has_totp)
		rc = 2;
	else if (admin_totp_match(a->totp, code, now, &step) &&
	    step > a->totp_step) {
		/* Taken: this step's code, and older ones, never again. */
		a->totp_step = step;
		if (write_all(path, v, n, err, sizeof(err)) == -1) {
			log_warnx("administrators: %s", err);
			rc = -1;
		} else
			rc = 1;
	}
	crypto_wipe(v, n * sizeof(*v));
	free(v);
	admin_unlock(lk);
	return rc;
}

int
admin_totp_uri(const char *name, const uint8_t secret[ADMIN_TOTP_LEN],
    char *b32, size_t b32len, char *uri, size_t urilen)
{
	char *out = NULL;
	size_t outlen = 0;
	int rc = -1;

	if (oath_init() != OATH_OK)
		return -1;
	if (oath_base32_encode((const char *)secret, ADMIN_TOTP_LEN, &out,
	    &outlen) == OATH_OK && outlen < b32len) {
		/* Without the padding, as authenticator apps expect. */
		while (outlen > 0 && out[outlen - 1] == '=')
			outlen--;
		snprintf(b32, b32len, "%.*s", (int)outlen, out);
		if ((size_t)snprintf(uri, urilen, "otpauth://totp/GigaVault:%s?"
		    "secret=%s&issuer=GigaVault&algorithm=SHA1&digits=%d&"
		    "period=%d", name, b32, ADMIN_TOTP_DIGITS, ADMIN_TOTP_STEP) <
		    urilen)
			rc = 0;
	}
	if (out != NULL) {
		crypto_wipe(out, outlen);
		free(out);
	}
	oath_done();
	return rc;
}
