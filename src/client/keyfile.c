/*
 * keyfile.c - create and unwrap the client's key file.  See keyfile.h.
 *
 *	{"version":1,"kdf":"scrypt","N":32768,"r":8,"p":1,
 *	 "salt":"<64 hex digits>","keys":"<184 hex digits>"}
 *
 * keys = crypto_seal(kek, aad = "gigavault-keyfile-1",
 * data key || id key), kek = scrypt(passphrase, salt, N, r, p), 32 bytes.
 * A wrong passphrase and a damaged file look the same: the seal does not
 * open.  Parameters are checked before scrypt runs, so a doctored file
 * cannot make us allocate gigabytes or spin for hours.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "keyfile.h"

#define KF_VERSION	1
#define KF_AAD		"gigavault-keyfile-1"
#define KF_KEYS_LEN	(2 * CRYPTO_KEY_LEN)

/* What keyfile_create() writes: 32 MiB and ~0.1 s of scrypt. */
#define KF_N		32768
#define KF_R		8
#define KF_P		1
/* What keyfile_load() accepts. */
#define KF_N_MIN	(1u << 14)
#define KF_N_MAX	(1u << 22)
#define KF_R_MAX	32
#define KF_P_MAX	16
#define KF_MEM_MAX	((uint64_t)1 << 30)	/* 128 * N * r bytes */

static int
derive(const char *pass, size_t passlen, const uint8_t *salt, uint64_t N,
    uint64_t r, uint64_t p, uint8_t kek[CRYPTO_KEY_LEN])
{
	return crypto_scrypt(pass, passlen, salt, KF_SALT_LEN, N, r, p, kek,
	    CRYPTO_KEY_LEN);
}

/* The directory part of path, for the temporary file and its fsync. */
static void
dir_of(const char *path, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, dirlen, ".");
	else if (slash == path)
		snprintf(dir, dirlen, "/");
	else
		snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
}

int
keyfile_create(const char *path, const char *pass, size_t passlen,
    char *err, size_t errlen)
{
	uint8_t keys[KF_KEYS_LEN], salt[KF_SALT_LEN], kek[CRYPTO_KEY_LEN];
	uint8_t wrapped[KF_WRAPPED_LEN];
	char saltx[2 * KF_SALT_LEN + 1], keysx[2 * KF_WRAPPED_LEN + 1];
	char tmp[PATH_MAX], dir[PATH_MAX], *text = NULL;
	json_t *o = NULL;
	struct stat st;
	size_t len;
	int fd = -1, ret = -1;

	tmp[0] = '\0';
	if (passlen == 0) {
		snprintf(err, errlen, "empty passphrase");
		return -1;
	}
	if (lstat(path, &st) == 0) {
		snprintf(err, errlen, "%s exists; not replaced", path);
		return -1;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (crypto_random(keys, sizeof(keys)) == -1 ||
	    crypto_random(salt, sizeof(salt)) == -1) {
		snprintf(err, errlen, "no random bytes");
		goto out;
	}
	if (derive(pass, passlen, salt, KF_N, KF_R, KF_P, kek) == -1) {
		snprintf(err, errlen, "scrypt failed (out of memory?)");
		goto out;
	}
	if (crypto_seal(kek, KF_AAD, strlen(KF_AAD), keys, sizeof(keys),
	    wrapped) == -1) {
		snprintf(err, errlen, "cannot wrap the keys");
		goto out;
	}
	hex_encode(salt, sizeof(salt), saltx);
	hex_encode(wrapped, sizeof(wrapped), keysx);
	o = json_pack("{s:i, s:s, s:I, s:I, s:I, s:s, s:s}",
	    "version", KF_VERSION, "kdf", "scrypt", "N", (json_int_t)KF_N,
	    "r", (json_int_t)KF_R, "p", (json_int_t)KF_P, "salt", saltx,
	    "keys", keysx);
	if (o == NULL || (text = json_dumps(o, JSON_PRESERVE_ORDER)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	/*
	 * Write a temporary file (mode 0600 from the start) beside path,
	 * sync it, then link it to path: link() fails when path exists, so
	 * a key file is never replaced, not even by a concurrent init.
	 */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    sizeof(tmp)) {
		tmp[0] = '\0';
		snprintf(err, errlen, "%s: path too long", path);
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "cannot create %s: %s", tmp,
		    strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	len = strlen(text);
	if (fchmod(fd, 0600) == -1 ||
	    write(fd, text, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (link(tmp, path) == -1) {
		if (errno == EEXIST)
			snprintf(err, errlen, "%s exists; not replaced", path);
		else
			snprintf(err, errlen, "cannot create %s: %s", path,
			    strerror(errno));
		goto out;
	}
	dir_of(path, dir, sizeof(dir));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) != -1) {
		(void)fsync(fd);
		close(fd);
		fd = -1;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	if (text != NULL) {
		crypto_wipe(text, strlen(text));
		free(text);
	}
	json_decref(o);
	crypto_wipe(keys, sizeof(keys));
	crypto_wipe(kek, sizeof(kek));
	return ret;
}

/* An integer member in [lo, hi]; -1 with err set when not. */
static int
get_int(json_t *o, const char *key, json_int_t lo, json_int_t hi,
    json_int_t *v, const char *path, char *err, size_t errlen)
{
	json_t *m = json_object_get(o, key);

	if (!json_is_integer(m)) {
		snprintf(err, errlen, "%s: \"%s\" missing or not an integer",
		    path, key);
		return -1;
	}
	*v = json_integer_value(m);
	if (*v < lo || *v > hi) {
		snprintf(err, errlen, "%s: \"%s\" is %lld, not in %lld..%lld",
		    path, key, (long long)*v, (long long)lo, (long long)hi);
		return -1;
	}
	return 0;
}

/* A hex string member of exactly len bytes into out. */
static int
get_hex(json_t *o, const char *key, uint8_t *out, size_t len,
    const char *path, char *err, size_t errlen)
{
	json_t *m = json_object_get(o, key);
	const char *s;

	if (!json_is_string(m)) {
		snprintf(err, errlen, "%s: \"%s\" missing or not a string",
		    path, key);
		return -1;
	}
	s = json_string_value(m);
	if (json_string_length(m) != 2 * len || hex_decode(s, out, len) == -1) {
		snprintf(err, errlen, "%s: \"%s\" is not %zu hex digits",
		    path, key, 2 * len);
		return -1;
	}
	return 0;
}

int
keyfile_parse(const char *buf, size_t len, const char *path,
    struct keyfile_params *kp, char *err, size_t errlen)
{
	static const char *const known[] = {
		"version", "kdf", "N", "r", "p", "salt", "keys"
	};
	json_int_t version, N, r, p;
	json_error_t jerr;
	json_t *o = NULL, *kdf;
	const char *key;
	json_t *val;
	int ret = -1;

	memset(kp, 0, sizeof(*kp));
	if (len > KF_MAX_BYTES) {
		snprintf(err, errlen, "%s: not a key file (larger than %d "
		    "bytes)", path, KF_MAX_BYTES);
		return -1;
	}
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(err, errlen, "%s:%d: not a key file: %s", path,
		    jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s: not a key file (not a JSON object)",
		    path);
		goto out;
	}
	json_object_foreach(o, key, val) {
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			snprintf(err, errlen, "%s: unknown member \"%.64s\"",
			    path, key);
			goto out;
		}
	}
	if (get_int(o, "version", 0, INT32_MAX, &version, path, err,
	    errlen) == -1)
		goto out;
	if (version != KF_VERSION) {
		snprintf(err, errlen, "%s: key file version %lld (this "
		    "client reads version %d)", path, (long long)version,
		    KF_VERSION);
		goto out;
	}
	kdf = json_object_get(o, "kdf");
	if (!json_is_string(kdf) || strcmp(json_string_value(kdf), "scrypt")
	    != 0) {
		snprintf(err, errlen, "%s: \"kdf\" is not \"scrypt\"", path);
		goto out;
	}
	if (get_int(o, "N", KF_N_MIN, KF_N_MAX, &N, path, err, errlen) ==
	    -1 || get_int(o, "r", 1, KF_R_MAX, &r, path, err, errlen) == -1 ||
	    get_int(o, "p", 1, KF_P_MAX, &p, path, err, errlen) == -1)
		goto out;
	if ((N & (N - 1)) != 0) {
		snprintf(err, errlen, "%s: \"N\" is %lld, not a power of two",
		    path, (long long)N);
		goto out;
	}
	if ((uint64_t)128 * (uint64_t)N * (uint64_t)r > KF_MEM_MAX) {
		snprintf(err, errlen, "%s: scrypt would need more than %llu "
		    "MiB (N %lld, r %lld)", path,
		    (unsigned long long)(KF_MEM_MAX >> 20), (long long)N,
		    (long long)r);
		goto out;
	}
	if (get_hex(o, "salt", kp->salt, sizeof(kp->salt), path, err,
	    errlen) == -1 || get_hex(o, "keys", kp->wrapped,
	    sizeof(kp->wrapped), path, err, errlen) == -1)
		goto out;
	kp->N = (uint64_t)N;
	kp->r = (uint64_t)r;
	kp->p = (uint64_t)p;
	ret = 0;
out:
	json_decref(o);
	return ret;
}

int
keyfile_load(const char *path, const char *pass, size_t passlen,
    struct keys *out, char *err, size_t errlen)
{
	struct keyfile_params kp;
	uint8_t kek[CRYPTO_KEY_LEN], keys[KF_KEYS_LEN];
	char buf[KF_MAX_BYTES + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, ret = -1;

	memset(out, 0, sizeof(*out));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "cannot read %s: not a regular file",
		    path);
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) &&
	    (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	if (keyfile_parse(buf, len, path, &kp, err, errlen) == -1)
		goto out;
	if (derive(pass, passlen, kp.salt, kp.N, kp.r, kp.p, kek) == -1) {
		snprintf(err, errlen, "scrypt failed (out of memory?)");
		goto out;
	}
	if (crypto_open(kek, KF_AAD, strlen(KF_AAD), kp.wrapped,
	    sizeof(kp.wrapped), keys) == -1) {
		snprintf(err, errlen, "%s: wrong passphrase or damaged key "
		    "file", path);
		goto out;
	}
	memcpy(out->data_key, keys, CRYPTO_KEY_LEN);
	memcpy(out->id_key, keys + CRYPTO_KEY_LEN, CRYPTO_KEY_LEN);
	ret = 0;
out:
	crypto_wipe(&kp, sizeof(kp));
	crypto_wipe(kek, sizeof(kek));
	crypto_wipe(keys, sizeof(keys));
	crypto_wipe(buf, sizeof(buf));
	return ret;
}
