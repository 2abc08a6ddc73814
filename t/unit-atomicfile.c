/*
 * unit-atomicfile.c - TAP unit tests of src/common/atomicfile.c:
 * atomicfile_write() replaces a file whole with the mode asked for,
 * leaves no temporary file, and on failure leaves the old content and
 * says why.  Run by t/00-unit-atomicfile.t.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "tap.h"

static int
content_is(const char *path, const char *want)
{
	char buf[256];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

/* Entries in dir other than . and .. */
static int
entries(const char *dir)
{
	struct dirent *d;
	DIR *dp;
	int n = 0;

	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

int
main(void)
{
	char dir[] = "/tmp/gv-atomicfile-XXXXXX", path[512], bad[512];
	char err[600];
	struct stat st;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ok(atomicfile_write(path, "{\"a\":1}\n", 8, 0640, err,
	    sizeof(err)) == 0, "a new file is written");
	ok(content_is(path, "{\"a\":1}\n"), "with its content");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640,
	    "and mode 0640");
	ok(atomicfile_write(path, "{}", 2, 0600, err, sizeof(err)) == 0 &&
	    content_is(path, "{}"), "an existing file is replaced whole");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "with the new mode");
	ok(atomicfile_write(path, "", 0, 0640, err, sizeof(err)) == 0 &&
	    content_is(path, ""), "an empty file");
	ok(entries(dir) == 1, "no temporary file is left");

	snprintf(bad, sizeof(bad), "%s/nodir/state.json", dir);
	err[0] = '\0';
	ok(atomicfile_write(bad, "x", 1, 0640, err, sizeof(err)) == -1,
	    "a file in a missing directory: -1");
	ok(strstr(err, "nodir") != NULL && strstr(err, "No such file") != NULL,
	    "err names the file and why");
	/* A rename that fails: path is a directory that is not empty. */
	snprintf(bad, sizeof(bad), "%s/sub", dir);
	mkdir(bad, 0700);
	snprintf(path, sizeof(path), "%s/sub/x", dir);
	ok(atomicfile_write(path, "x", 1, 0640, err, sizeof(err)) == 0,
	    "a file in sub/");
	ok(atomicfile_write(bad, "new", 3, 0640, err, sizeof(err)) == -1 &&
	    strstr(err, "rename") != NULL, "rename over a directory fails, "
	    "err says rename");
	ok(entries(dir) == 2, "and the temporary file is removed");
	unlink(path);
	rmdir(bad);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
