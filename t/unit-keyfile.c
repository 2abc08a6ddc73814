/*
 * unit-keyfile.c - TAP unit tests of src/client/keyfile.c: a key file is
 * created with mode 0600 and loads back with its passphrase only; an
 * existing file is never replaced; every doctored field is refused with
 * a reason, before any scrypt work.  Run by t/00-unit-keyfile.t.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "client/keyfile.h"
#include "tap.h"


static char dir[] = "/tmp/gv-unit-keyfile.XXXXXX";
static char path[256], other[256], err[512];

#define PASS	"correct horse battery staple"

static char *
slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	char *buf = calloc(1, 65536);

	*len = f ? fread(buf, 1, 65535, f) : 0;
	if (f)
		fclose(f);
	return buf;
}

static void
spit(const char *p, const char *s)
{
	FILE *f = fopen(p, "wb");

	fputs(s, f);
	fclose(f);
}

static int
files_in_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * Write the real key file with member key replaced by the JSON text val
 * (or removed when val is NULL) to other, and check that loading it is
 * refused with a reason containing why.
 */
static int
doctored(const char *key, const char *val, const char *why)
{
	json_t *o = json_load_file(path, 0, NULL), *v = NULL;
	struct keys k;
	char *text;
	int r;

	if (val != NULL) {
		v = json_loads(val, JSON_DECODE_ANY, NULL);
		json_object_set_new(o, key, v);
	} else
		json_object_del(o, key);
	text = json_dumps(o, JSON_PRESERVE_ORDER);
	spit(other, text);
	free(text);
	json_decref(o);
	err[0] = '\0';
	r = keyfile_load(other, PASS, strlen(PASS), &k, err, sizeof(err));
	if (r == 0 || strstr(err, why) == NULL) {
		printf("# %s = %s: %s\n", key, val ? val : "(none)", err);
		return 0;
	}
	return 1;
}

static int
refused_text(const char *text, const char *why)
{
	struct keys k;

	spit(other, text);
	err[0] = '\0';
	if (keyfile_load(other, PASS, strlen(PASS), &k, err,
	    sizeof(err)) == 0 || strstr(err, why) == NULL) {
		printf("# %.40s: %s\n", text, err);
		return 0;
	}
	return 1;
}

int
main(void)
{
	static const uint8_t zero[CRYPTO_KEY_LEN];
	struct keys k1, k2;
	struct stat st;
	char *before, *after, big[8192];
	size_t blen, alen;
	json_t *o;

	if (mkdtemp(dir) == NULL) {
		printf("1..0 # SKIP cannot make a temporary directory\n");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(other, sizeof(other), "%s/other", dir);

	ok(keyfile_create(path, PASS, strlen(PASS), err, sizeof(err)) == 0,
	    "create a key file");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "it has mode 0600");
	ok(files_in_dir() == 1, "no temporary file is left behind");
	o = json_load_file(path, 0, NULL);
	ok(o != NULL && json_object_size(o) == 7 &&
	    json_integer_value(json_object_get(o, "version")) == 1 &&
	    json_is_string(json_object_get(o, "kdf")) &&
	    strcmp(json_string_value(json_object_get(o, "kdf")),
	    "scrypt") == 0 &&
	    json_integer_value(json_object_get(o, "N")) == 32768 &&
	    json_integer_value(json_object_get(o, "r")) == 8 &&
	    json_integer_value(json_object_get(o, "p")) == 1 &&
	    json_string_length(json_object_get(o, "salt")) == 64 &&
	    json_string_length(json_object_get(o, "keys")) == 184,
	    "it is the documented JSON");
	json_decref(o);

	ok(keyfile_load(path, PASS, strlen(PASS), &k1, err, sizeof(err)) == 0,
	    "load it with the passphrase");
	ok(memcmp(k1.data_key, zero, sizeof(zero)) != 0 &&
	    memcmp(k1.id_key, zero, sizeof(zero)) != 0 &&
	    memcmp(k1.data_key, k1.id_key, sizeof(zero)) != 0,
	    "two distinct nonzero keys");
	ok(keyfile_load(path, PASS, strlen(PASS), &k2, err, sizeof(err)) == 0 &&
	    memcmp(&k1, &k2, sizeof(k1)) == 0,
	    "loading again gives the same keys");

	ok(keyfile_load(path, "wrong", 5, &k2, err, sizeof(err)) == -1 &&
	    strstr(err, "wrong passphrase") != NULL &&
	    memcmp(&k2, zero, sizeof(zero)) == 0,
	    "a wrong passphrase is refused, no keys returned");
	ok(keyfile_load(path, PASS, strlen(PASS) - 1, &k2, err,
	    sizeof(err)) == -1, "a passphrase one byte short is refused");

	before = slurp(path, &blen);
	ok(keyfile_create(path, "other", 5, err, sizeof(err)) == -1 &&
	    strstr(err, "exists") != NULL, "an existing file is not replaced");
	after = slurp(path, &alen);
	ok(blen == alen && memcmp(before, after, blen) == 0 &&
	    files_in_dir() == 1, "and it is unchanged");
	free(after);
	ok(keyfile_create(other, "", 0, err, sizeof(err)) == -1 &&
	    access(other, F_OK) == -1, "an empty passphrase is refused");
	snprintf(big, sizeof(big), "%s/nodir/key", dir);
	ok(keyfile_create(big, PASS, strlen(PASS), err, sizeof(err)) == -1,
	    "a key file in a missing directory fails");
	ok(keyfile_load(big, PASS, strlen(PASS), &k2, err, sizeof(err)) == -1 &&
	    strstr(err, "cannot read") != NULL,
	    "a missing key file: cannot read");
	ok(keyfile_load(dir, PASS, strlen(PASS), &k2, err, sizeof(err)) == -1,
	    "a directory is not a key file");

	/* The file itself, copied verbatim, loads. */
	spit(other, before);
	ok(keyfile_load(other, PASS, strlen(PASS), &k2, err, sizeof(err)) == 0,
	    "(setup) a copy loads");
	free(before);

	ok(doctored("version", "2", "version 2"), "version 2 is refused");
	ok(doctored("version", "\"1\"", "not an integer"),
	    "a string version is refused");
	ok(doctored("version", NULL, "missing"), "no version is refused");
	ok(doctored("kdf", "\"argon2id\"", "kdf"), "another kdf is refused");
	ok(doctored("kdf", "null", "kdf"), "a null kdf is refused");
	ok(doctored("N", "32767", "power of two"), "N not a power of two");
	ok(doctored("N", "8192", "not in"), "N too small");
	ok(doctored("N", "1073741824", "not in"), "N too large");
	ok(doctored("N", "-32768", "not in"), "N negative");
	ok(doctored("N", "32768.0", "not an integer"), "N a real");
	ok(doctored("N", NULL, "missing"), "no N");
	ok(doctored("r", "0", "not in"), "r zero");
	ok(doctored("r", "33", "not in"), "r too large");
	ok(doctored("p", "0", "not in"), "p zero");
	ok(doctored("p", "1000000", "not in"), "p too large");
	/* 128 * 2^22 * 8 = 4 GiB: each in range, together too much. */
	ok(doctored("N", "4194304", "more than"), "N * r over the memory cap");
	ok(doctored("salt", "\"00ff\"", "hex digits"), "a short salt");
	{
		char bad[80];

		memset(bad, 'a', sizeof(bad));
		bad[0] = '"';
		bad[1] = 'x';	/* not hex */
		bad[65] = '"';
		bad[66] = '\0';
		ok(doctored("salt", bad, "hex digits"), "a non-hex salt");
	}
	ok(doctored("salt", "42", "not a string"), "a numeric salt");
	ok(doctored("keys", "\"abcd\"", "hex digits"), "short keys");
	{
		json_t *o2 = json_load_file(path, 0, NULL);
		char keys[200];

		snprintf(keys, sizeof(keys), "\"%s\"",
		    json_string_value(json_object_get(o2, "keys")));
		keys[50] = keys[50] == '0' ? '1' : '0';
		json_decref(o2);
		ok(doctored("keys", keys, "wrong passphrase or damaged"),
		    "a flipped digit in the keys is refused");
		o2 = json_load_file(path, 0, NULL);
		snprintf(keys, sizeof(keys), "\"%s\"",
		    json_string_value(json_object_get(o2, "salt")));
		keys[10] = keys[10] == '0' ? '1' : '0';
		json_decref(o2);
		ok(doctored("salt", keys, "wrong passphrase or damaged"),
		    "a flipped digit in the salt is refused");
	}
	ok(doctored("comment", "\"hi\"", "unknown member"),
	    "an unknown member is refused");
	ok(refused_text("[1, 2]", "not a JSON object"), "an array is refused");
	ok(refused_text("{\"version\": 1,", "not a key file"),
	    "truncated JSON is refused");
	ok(refused_text("", "not a key file"), "an empty file is refused");
	ok(refused_text("{\"version\":1,\"version\":1}", "not a key file"),
	    "a duplicated member is refused");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	ok(refused_text(big, "larger than"), "an oversized file is refused");

	unlink(path);
	unlink(other);
	rmdir(dir);
	return tap_done();
}
