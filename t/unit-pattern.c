/*
 * unit-pattern.c - TAP unit tests of src/client/pattern.c: anchored and
 * unanchored patterns, "**" at the start, in the middle and at the end,
 * a trailing "/" for directories only, classes, escapes, bad patterns
 * (each refused with its reason), pattern files (comments, blank lines,
 * trailing spaces, a bad line named with its number), paths deeper than
 * the matcher's stack, and a check against a brute-force matcher on
 * random patterns and paths.  Run by t/00-unit-pattern.t.
 */
#include "autoconf.h"

#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/pattern.h"
#include "tap.h"

static char err[512];

/* Whether the single pattern pat matches path. */
static int
m1(const char *pat, const char *path, int isdir)
{
	struct patterns *ps = patterns_new();
	int r;

	if (ps == NULL || patterns_add(ps, pat, err, sizeof(err)) == -1) {
		printf("# cannot add %s: %s\n", pat, err);
		patterns_free(ps);
		return -1;
	}
	r = patterns_match(ps, path, isdir);
	patterns_free(ps);
	return r;
}

struct mcase {
	const char	*pat;
	const char	*path;
	int		 isdir;
	int		 want;
};

static const struct mcase cases[] = {
	/* anchored */
	{ "/a/b", "/a/b", 0, 1 },
	{ "/a/b", "/a/b", 1, 1 },
	{ "/a/b", "/x/a/b", 0, 0 },
	{ "/a/b", "/a/b/c", 0, 0 },	/* below: the walk's business */
	{ "/a/b", "/a", 1, 0 },
	{ "/a/b", "/a/bc", 0, 0 },
	{ "/a", "/a", 1, 1 },
	{ "/a", "/b/a", 1, 0 },
	{ "/*", "/etc", 1, 1 },
	{ "/*", "/etc/passwd", 0, 0 },
	{ "/*/passwd", "/etc/passwd", 0, 1 },
	{ "/*/passwd", "/x/etc/passwd", 0, 0 },
	{ "/proc", "/proc", 1, 1 },
	{ "/a//b", "/a/b", 0, 1 },	/* empty components are dropped */
	/* unanchored: the path's last components */
	{ "*.o", "/src/x.o", 0, 1 },
	{ "*.o", "/x.o", 0, 1 },
	{ "*.o", "/src/x.o/y", 0, 0 },
	{ "*.o", "/src/x.c", 0, 0 },
	{ "*.o", "/src/.o", 0, 1 },
	{ "cache/tmp", "/home/u/cache/tmp", 1, 1 },
	{ "cache/tmp", "/cache/tmp", 1, 1 },
	{ "cache/tmp", "/home/u/xcache/tmp", 1, 0 },
	{ "cache/tmp", "/home/u/cache/tmp/x", 0, 0 },
	{ "cache/tmp", "/home/u/cache/tmpx", 0, 0 },
	{ "b", "/ab", 0, 0 },
	{ "b", "/a/b", 0, 1 },
	{ "b", "/b", 0, 1 },
	{ "b", "/b/a", 0, 0 },
	{ "a/*/c", "/x/a/b/c", 0, 1 },
	{ "a/*/c", "/x/a/b/b/c", 0, 0 },
	/* hidden files get no special case */
	{ "*", "/home/u/.profile", 0, 1 },
	{ "/home/*/.*", "/home/u/.profile", 0, 1 },
	{ ".*", "/home/u/profile", 0, 0 },
	{ "?profile", "/home/u/.profile", 0, 1 },
	/* "/" itself */
	{ "/", "/", 1, 1 },
	{ "**", "/", 1, 1 },
	{ "*", "/", 1, 0 },
	{ "a", "/", 1, 0 },
	{ "/a", "/", 1, 0 },
	{ "/", "/a", 0, 0 },
	/* ** at the start */
	{ "**/node_modules", "/node_modules", 1, 1 },
	{ "**/node_modules", "/home/u/p/node_modules", 1, 1 },
	{ "**/node_modules", "/home/u/p/node_modules/x", 0, 0 },
	{ "/**/node_modules", "/a/b/node_modules", 1, 1 },
	{ "/**/node_modules", "/node_modules", 1, 1 },
	{ "**", "/anything/at/all", 0, 1 },
	/* ** in the middle */
	{ "/var/**/*.log", "/var/x.log", 0, 1 },
	{ "/var/**/*.log", "/var/log/x.log", 0, 1 },
	{ "/var/**/*.log", "/var/log/a/b/c/x.log", 0, 1 },
	{ "/var/**/*.log", "/srv/var/log/x.log", 0, 0 },
	{ "/var/**/*.log", "/var/log/x.log.1", 0, 0 },
	{ "/a/**/b/**/c", "/a/b/c", 0, 1 },
	{ "/a/**/b/**/c", "/a/x/b/y/z/c", 0, 1 },
	{ "/a/**/b/**/c", "/a/x/y/c", 0, 0 },
	{ "/a/**/b/**/c", "/a/b/b/b/c", 0, 1 },
	{ "/a/**/**/b", "/a/b", 0, 1 },
	{ "x/**/y", "/q/x/y", 0, 1 },
	{ "x/**/y", "/q/x/1/2/y", 0, 1 },
	{ "x/**/y", "/q/x/1/2/y/z", 0, 0 },
	{ "/a/**/x/y", "/a/x/x/y", 0, 1 },
	{ "/a/**/x/y", "/a/x/y/x/z", 0, 0 },
	/* ** at the end: zero components included */
	{ "/var/cache/**", "/var/cache", 1, 1 },
	{ "/var/cache/**", "/var/cache/apt/x.deb", 0, 1 },
	{ "/var/cache/**", "/var/cachet", 1, 0 },
	{ "cache/**", "/home/cache/x", 0, 1 },
	{ "cache/**", "/home/cache", 1, 1 },
	/* ** only as a whole component; elsewhere it is * */
	{ "/a**b", "/axxb", 0, 1 },
	{ "/a**b", "/ax/xb", 0, 0 },
	{ "a/**b", "/a/xb", 0, 1 },
	{ "a/**b", "/a/x/b", 0, 0 },
	/* trailing "/": directories only */
	{ "tmp/", "/home/u/tmp", 1, 1 },
	{ "tmp/", "/home/u/tmp", 0, 0 },
	{ "/srv/data/", "/srv/data", 1, 1 },
	{ "/srv/data/", "/srv/data", 0, 0 },
	{ "*.d/", "/etc/cron.d", 1, 1 },
	{ "*.d/", "/etc/x.d", 0, 0 },
	{ "tmp//", "/tmp", 1, 1 },
	/* classes */
	{ "*.[oa]", "/lib/x.a", 0, 1 },
	{ "*.[oa]", "/lib/x.o", 0, 1 },
	{ "*.[oa]", "/lib/x.so", 0, 0 },
	{ "*.[!oa]", "/lib/x.c", 0, 1 },
	{ "*.[!oa]", "/lib/x.o", 0, 0 },
	{ "*.[^oa]", "/lib/x.o", 0, 0 },
	{ "file[0-9]", "/file7", 0, 1 },
	{ "file[0-9]", "/filex", 0, 0 },
	{ "x[]]", "/x]", 0, 1 },
	{ "x[!]]", "/x]", 0, 0 },
	{ "x[!]]", "/xa", 0, 1 },
	{ "[[:digit:]]*", "/9lives", 0, 1 },
	{ "[[:digit:]]*", "/lives", 0, 0 },
	{ "[[:upper:]][[:lower:]]", "/Ab", 0, 1 },
	/* escapes */
	{ "\\*", "/*", 0, 1 },
	{ "\\*", "/x", 0, 0 },
	{ "a\\?b", "/a?b", 0, 1 },
	{ "a\\?b", "/axb", 0, 0 },
	{ "\\[x]", "/[x]", 0, 1 },
	{ "\\[x]", "/x", 0, 0 },
	{ "a\\ ", "/a ", 0, 1 },
	{ "\\a\\b", "/ab", 0, 1 },
	{ "*\\*", "/x*", 0, 1 },
	{ "*\\*", "/xy", 0, 0 },
	{ "\\*\\*", "/**", 0, 1 },
	{ "\\*\\*", "/ab", 0, 0 },
	{ "[\\]]", "/]", 0, 1 },
	{ "x\\\\", "/x\\", 0, 1 },
	/* "*" and a literal: a suffix, escapes undone */
	{ "*.tar.gz", "/a/x.tar.gz", 0, 1 },
	{ "*.tar.gz", "/a/.tar.gz", 0, 1 },
	{ "*.tar.gz", "/a/tar.gz", 0, 0 },
	{ "*\\?", "/a/x?", 0, 1 },
	{ "*\\?", "/a/xy", 0, 0 },
	{ "*\\[x]", "/a/q[x]", 0, 1 },
	{ "*[x]", "/a/qx", 0, 1 },
	{ "/*", "/", 1, 0 },
	{ "/*/*", "/a/b", 0, 1 },
	/* spaces and odd bytes are ordinary */
	{ "my file", "/home/my file", 0, 1 },
	{ "\xc3\xa9t\xc3\xa9", "/x/\xc3\xa9t\xc3\xa9", 0, 1 },
};

struct bcase {
	const char	*pat;
	const char	*reason;
};

static const struct bcase bad[] = {
	{ "", "empty" },
	{ "[abc", "unterminated class" },
	{ "a/[", "unterminated class" },
	{ "[!]", "unterminated class" },
	{ "x[]", "unterminated class" },
	{ "[[:alpha:]", "unterminated class" },
	{ "[a\\]", "unterminated class" },
	{ "abc\\", "trailing backslash" },
	{ "a/b\\/c", "trailing backslash" },
	{ "./node_modules", "\".\" component never matches" },
	{ ".", "\".\" component never matches" },
	{ "/home/./ann", "\".\" component never matches" },
	{ "a/../b", "\"..\" component never matches" },
	{ "..", "\"..\" component never matches" },
	{ "cache/.", "write the name alone" },
};

static void
test_table(void)
{
	char name[600];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = m1(cases[i].pat, cases[i].path, cases[i].isdir);
		snprintf(name, sizeof(name), "\"%s\" %s \"%s\"%s",
		    cases[i].pat, cases[i].want ? "matches" :
		    "does not match", cases[i].path,
		    cases[i].isdir ? " (dir)" : "");
		ok(r == cases[i].want, name);
	}
}

static void
test_bad(void)
{
	struct patterns *ps = patterns_new();
	char name[600], big[600];
	size_t i;
	int r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		r = patterns_add(ps, bad[i].pat, err, sizeof(err));
		snprintf(name, sizeof(name), "\"%s\" refused: %s (%s)",
		    bad[i].pat, bad[i].reason, err);
		ok(r == -1 && strstr(err, bad[i].reason) != NULL, name);
	}
	/* A component of 255 bytes is fine, 256 is not. */
	memset(big, 'x', 255);
	big[255] = '\0';
	ok(patterns_add(ps, big, err, sizeof(err)) == 0,
	    "a 255-byte component is accepted");
	memset(big, 'x', 256);
	big[256] = '\0';
	err[0] = '\0';
	ok(patterns_add(ps, big, err, sizeof(err)) == -1 &&
	    strstr(err, "255") != NULL, "a 256-byte component is refused");
	big[0] = '/';
	memset(big + 1, 'y', 200);
	big[201] = '/';
	memset(big + 202, 'z', 256);
	big[458] = '\0';
	ok(patterns_add(ps, big, err, sizeof(err)) == -1,
	    "a 256-byte component after a short one is refused");
	ok(patterns_count(ps) == 1, "refused patterns are not kept");
	ok(patterns_add(NULL, "a", err, sizeof(err)) == -1,
	    "patterns_add(NULL) refused");
	patterns_free(ps);
}

static void
test_list(void)
{
	struct patterns *ps = patterns_new();
	char path[8192];
	size_t i;

	ok(patterns_match(NULL, "/a", 0) == 0, "NULL list matches nothing");
	ok(patterns_count(NULL) == 0, "NULL list has 0 patterns");
	ok(patterns_match(ps, "/a", 0) == 0, "empty list matches nothing");
	ok(patterns_match(ps, "/", 1) == 0, "empty list does not match /");
	ok(patterns_add(ps, "*.o", err, sizeof(err)) == 0 &&
	    patterns_add(ps, "/proc", err, sizeof(err)) == 0 &&
	    patterns_add(ps, "tmp/", err, sizeof(err)) == 0,
	    "three patterns added");
	ok(patterns_count(ps) == 3, "count is 3");
	ok(patterns_match(ps, "/a/b.o", 0), "any pattern: first");
	ok(patterns_match(ps, "/proc", 1), "any pattern: second");
	ok(patterns_match(ps, "/x/tmp", 1), "any pattern: third");
	ok(!patterns_match(ps, "/x/tmp", 0), "third is dirs only");
	ok(!patterns_match(ps, "/x/proc", 1), "second is anchored");

	/* A path deeper than the matcher's stack of components. */
	path[0] = '\0';
	for (i = 0; i < 1000; i++)
		strcat(path, "/d");
	strcat(path, "/x.o");
	ok(patterns_match(ps, path, 0), "a 1001-component path matches");
	patterns_free(ps);
	ps = patterns_new();
	ok(patterns_add(ps, "/d/**/d/e", err, sizeof(err)) == 0,
	    "a ** pattern added");
	ok(!patterns_match(ps, path, 1), "deep path: no false match");
	path[strlen(path) - 4] = '\0';
	strcat(path, "/e");
	ok(patterns_match(ps, path, 0), "deep path with ** in the middle");
	ok(patterns_add(ps, "*.o", err, sizeof(err)) == 0,
	    "*.o added again");
	/* Long names beyond the fnmatch buffer. */
	memset(path, 0, sizeof(path));
	path[0] = '/';
	memset(path + 1, 'q', 1000);
	strcat(path, ".o");
	ok(patterns_match(ps, path, 0), "a 1002-byte name matches *.o");
	patterns_free(ps);
}

static void
test_file(void)
{
	char tmpl[] = "/tmp/unit-pattern-XXXXXX";
	struct patterns *ps;
	FILE *f;
	int fd;

	if ((fd = mkstemp(tmpl)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		ok(0, "temporary file");
		return;
	}
	fputs("# build products\n"
	    "*.o\n"
	    "\n"
	    "   \n"
	    "  # not a comment: a pattern with leading spaces\n"
	    "/var/cache/   \n"
	    "trailing\\ \n"
	    "# another comment\n"
	    "dos\r\n"
	    "**/node_modules\n"
	    "last-without-newline", f);
	fclose(f);
	ps = patterns_new();
	ok(patterns_add_file(ps, tmpl, err, sizeof(err)) == 0,
	    "pattern file read");
	ok(patterns_count(ps) == 7, "seven patterns (comments, blank lines "
	    "skipped; a leading-space line is a pattern)");
	ok(patterns_match(ps, "/src/a.o", 0), "file: *.o");
	ok(patterns_match(ps, "/var/cache", 1), "file: trailing spaces cut");
	ok(!patterns_match(ps, "/var/cache", 0), "file: dir only kept");
	ok(patterns_match(ps, "/a/trailing ", 0), "file: escaped space kept");
	ok(!patterns_match(ps, "/a/trailing", 0), "file: ... and needed");
	ok(patterns_match(ps, "/a/dos", 0), "file: CR LF line ending");
	ok(patterns_match(ps, "/p/node_modules", 1), "file: **");
	ok(patterns_match(ps, "/last-without-newline", 0),
	    "file: last line without a newline");
	ok(!patterns_match(ps, "/# build products", 0),
	    "file: comment is no pattern");
	ok(patterns_match(ps, "/  # not a comment: a pattern with leading "
	    "spaces", 0), "file: leading spaces are part of the pattern");
	patterns_free(ps);

	if ((f = fopen(tmpl, "w")) == NULL) {
		ok(0, "rewrite temporary file");
		return;
	}
	fputs("*.o\n# fine\n[oops\n*.a\n", f);
	fclose(f);
	ps = patterns_new();
	err[0] = '\0';
	ok(patterns_add_file(ps, tmpl, err, sizeof(err)) == -1,
	    "bad pattern file refused");
	ok(strstr(err, tmpl) != NULL && strstr(err, ":3:") != NULL &&
	    strstr(err, "unterminated class") != NULL,
	    "reason names file, line 3 and why");
	printf("# %s\n", err);
	patterns_free(ps);

	unlink(tmpl);
	ps = patterns_new();
	err[0] = '\0';
	ok(patterns_add_file(ps, tmpl, err, sizeof(err)) == -1 &&
	    strstr(err, "No such file") != NULL && strstr(err, tmpl) != NULL,
	    "missing pattern file: named, with the reason");
	err[0] = '\0';
	ok(patterns_add_file(ps, "/", err, sizeof(err)) == -1 &&
	    strstr(err, "/") != NULL, "a directory as pattern file refused");
	printf("# %s\n", err);
	patterns_free(ps);
}

/* ------------------------------------------------- brute-force oracle */

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Recursive matcher over component arrays: p[0..np) against v[0..nv). */
static int
oracle(char **p, int np, char **v, int nv)
{
	int k;

	if (np == 0)
		return nv == 0;
	if (strcmp(p[0], "**") == 0) {
		for (k = 0; k <= nv; k++)
			if (oracle(p + 1, np - 1, v + k, nv - k))
				return 1;
		return 0;
	}
	if (nv == 0 || fnmatch(p[0], v[0], 0) != 0)
		return 0;
	return oracle(p + 1, np - 1, v + 1, nv - 1);
}

static void
test_random(void)
{
	static const char *pc[] = { "a", "b", "*", "?", "**", "[ab]", "a*",
	    "*b" };
	static const char *vc[] = { "a", "b", "ab", "ba", "c", "aa" };
	char pat[256], path[256], *p[8], *v[8];
	uint64_t seed = 16;
	int i, np, nv, k, anchored, bad = 0, want, got;

	for (i = 0; i < 20000; i++) {
		anchored = (int)(rnd(&seed) & 1);
		np = 1 + (int)(rnd(&seed) % 5);
		nv = (int)(rnd(&seed) % 7);
		pat[0] = '\0';
		k = 0;
		if (!anchored)
			p[k++] = "**";
		for (; k < np + !anchored; k++) {
			p[k] = (char *)pc[rnd(&seed) %
			    (sizeof(pc) / sizeof(pc[0]))];
			if (anchored || k > 1)
				strcat(pat, "/");
			strcat(pat, p[k]);
		}
		path[0] = '\0';
		for (k = 0; k < nv; k++) {
			v[k] = (char *)vc[rnd(&seed) %
			    (sizeof(vc) / sizeof(vc[0]))];
			strcat(path, "/");
			strcat(path, v[k]);
		}
		if (nv == 0)
			strcpy(path, "/");
		want = oracle(p, np + !anchored, v, nv);
		got = m1(pat, path, 0);
		if (got != want) {
			if (bad++ < 5)
				printf("# \"%s\" on \"%s\": got %d, want %d\n",
				    pat, path, got, want);
		}
	}
	ok(bad == 0, "20000 random patterns agree with a brute-force "
	    "matcher");
}

/*
 * "?" and classes match characters of the locale the program sets
 * (patterns_locale(): UTF-8 here, the environment being C or UTF-8),
 * not bytes.
 */
static void
test_locale(void)
{
	const char *l = patterns_locale();

	printf("# LC_CTYPE: %s\n", l ? l : "(none)");
	ok(m1("caf?", "/caf\xc3\xa9", 0) == 1,
	    "\"caf?\" matches \"/caf\xc3\xa9\" (one character, two bytes)");
	ok(m1("/[[:alpha:]]", "/\xc3\xa9", 0) == 1,
	    "\"[[:alpha:]]\" matches a letter of two bytes");
	ok(m1("/[!a]", "/\xe2\x82\xac", 0) == 1 && m1("/?", "/\xe2\x82\xac",
	    0) == 1, "\"[!a]\" and \"?\" match the euro sign (three bytes)");
	ok(m1("*.o", "/\xe9t\xe9.o", 0) == 1,
	    "a name that is not UTF-8 still matches \"*.o\"");
}

int
main(void)
{
	test_locale();
	test_table();
	test_bad();
	test_list();
	test_file();
	test_random();
	return tap_done();
}
