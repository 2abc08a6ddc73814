/*
 * gv-feed.c - backs up a synthetic in-memory feed (src/client/feed.h)
 * for t/85-feed.t, and fails when backup.c opens a file that the parent
 * snapshot has unchanged.
 *
 *	gv-feed CONFIG SET ROUND
 *
 * The feed: directories d0..d2, each with NFILES files "fNNN" whose
 * content is a function of (dir, file, generation); files f000..f009 of
 * d0 and d1 have the same content (stored once).  ROUND 1: every file
 * has generation 1.  ROUND 2: d1/f007 has generation 2 (a new size and
 * mtime) and d2/new is added; those two are the only files it may open.
 * Prints "opened N" and each opened path on stdout; exits with the
 * backup's status, or 3 when an unchanged file was opened.
 */
#include "autoconf.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "client/feed.h"
#include "client/pattern.h"

#define NFILES	100
#define NDIRS	3

static int round_no;
static int opened, bad;

/* The content of dir/name in this round: malloc'ed, *len. */
static char *
content(int dir, const char *name, size_t *len)
{
	int gen = round_no == 2 && dir == 1 && strcmp(name, "f007") == 0 ?
	    2 : 1, reps;
	int f = atoi(name + 1);
	char *s, *p;
	size_t n;

	/* Files 0..9 of d0 and d1: the same bytes in both. */
	if (dir == 1 && f < 10 && gen == 1)
		dir = 0;
	reps = 50 + f * 7 + gen * 3;
	n = (size_t)reps * 40 + 1;
	if ((s = p = malloc(n)) == NULL)
		abort();
	for (int i = 0; i < reps; i++)
		p += snprintf(p, 41, "d%d %s gen %d line %06d ......\n", dir,
		    name, gen, i);
	*len = (size_t)(p - s);
	return s;
}

static void
stat_file(int dir, const char *name, struct stat *st)
{
	size_t len;
	char *c = content(dir, name, &len);

	free(c);
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0600;
	st->st_size = (off_t)len;
	st->st_mtim.tv_sec = 1700000000 + (st->st_size);
	st->st_ctim.tv_sec = 1700000000;
	st->st_ino = (ino_t)(dir * 1000 + atoi(name[0] == 'f' ? name + 1 :
	    "999"));
	st->st_uid = getuid();
	st->st_gid = getgid();
}

static int
flist(void *arg, const char *path, struct feed_entry **out, size_t *n,
    char *err, size_t errlen)
{
	struct feed_entry *e;
	int dir;

	(void)arg;
	if (path[0] == '\0') {
		if ((e = calloc(NDIRS, sizeof(*e))) == NULL)
			abort();
		for (int i = 0; i < NDIRS; i++) {
			if (asprintf(&e[i].name, "d%d", i) == -1)
				abort();
			e[i].st.st_mode = S_IFDIR | 0700;
		}
		*out = e;
		*n = NDIRS;
		return 0;
	}
	if (sscanf(path, "/d%d", &dir) != 1 || dir < 0 || dir >= NDIRS) {
		snprintf(err, errlen, "no directory %s", path);
		return 1;
	}
	*n = NFILES + (round_no == 2 && dir == 2);
	if ((e = calloc(*n, sizeof(*e))) == NULL)
		abort();
	for (int i = 0; i < NFILES; i++) {
		if (asprintf(&e[i].name, "f%03d", i) == -1)
			abort();
		stat_file(dir, e[i].name, &e[i].st);
	}
	if (*n > NFILES) {
		if ((e[NFILES].name = strdup("new")) == NULL)
			abort();
		stat_file(dir, "new", &e[NFILES].st);
	}
	*out = e;
	return 0;
}

static int
fopen_(void *arg, const char *path, struct stat *st, int *fd, char *err,
    size_t errlen)
{
	char name[64], *c;
	size_t len;
	int dir;

	(void)arg;
	(void)st;
	if (sscanf(path, "/d%d/%63s", &dir, name) != 2) {
		snprintf(err, errlen, "no file %s", path);
		return 1;
	}
	opened++;
	printf("opened %s\n", path);
	if (round_no == 2 && !(dir == 1 && strcmp(name, "f007") == 0) &&
	    !(dir == 2 && strcmp(name, "new") == 0)) {
		printf("BAD: %s is unchanged, yet opened\n", path);
		bad++;
	}
	c = content(dir, name, &len);
	if ((*fd = memfd_create("gv-feed", MFD_CLOEXEC)) == -1 ||
	    write(*fd, c, len) != (ssize_t)len || lseek(*fd, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "memfd failed");
		free(c);
		return -1;
	}
	free(c);
	return 0;
}

int
main(int argc, char **argv)
{
	struct client c;
	struct feed f;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: gv-feed CONFIG SET ROUND\n");
		return 2;
	}
	patterns_locale();
	memset(&c, 0, sizeof(c));
	c.conffile = argv[1];
	c.set = argv[2];
	round_no = atoi(argv[3]);
	memset(&f, 0, sizeof(f));
	f.label = "feed:test";
	f.list = flist;
	f.open = fopen_;
	if (client_setup(&c) == -1)
		return 2;
	rc = backup_feed(&c, &f, 0, 0, 0);
	printf("opened %d\n", opened);
	client_done(&c);
	return bad > 0 ? 3 : rc;
}
