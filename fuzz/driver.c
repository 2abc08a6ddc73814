/*
 * driver.c - a main() for a fuzzing harness built without libFuzzer:
 * each argument is a file (or a directory of files) whose bytes are
 * handed to LLVMFuzzerTestOneInput() once.  t/00-fuzz-regress.t runs the
 * harnesses so on fuzz/regress/NAME/ and fuzz/corpus/NAME/, so that an
 * input that once crashed a parser keeps being tried by make check.
 * Prints one line per input; exits 0 when every input was read.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define DRIVER_MAX	(16u << 20)	/* the largest input read */

/* The bytes of path, in a block of exactly their size: a sanitizer sees
 * a read past them. */
static int
run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if ((size_t)st.st_size > DRIVER_MAX ||
	    (buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		fprintf(stderr, "%s: too large\n", path);
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	printf("%s: %zu bytes\n", path, n);
	return 0;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run(const char *path)
{
	struct dirent *de;
	struct stat st;
	char **names = NULL, *p, **nn;
	size_t n = 0;
	int rc = 0;
	DIR *d;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((nn = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    asprintf(&p, "%s/%s", path, de->d_name) == -1) {
			rc = -1;
			break;
		}
		names = nn;
		names[n++] = p;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && run(names[i]) == -1)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++)
		if (run(argv[i]) == -1)
			rc = 1;
	return rc;
}
