/*
 * unit-config.c - TAP: every option of config.c's table (config_option())
 * is documented in man/gigavault.conf.5 and listed in conf/gigavault.conf.in,
 * and neither names an option that the table lacks; the table names each
 * option once and keeps a section's rows together (its libconfuse schema
 * needs that).  The files are read from $GV_SRCDIR (default ".").  Run by
 * t/00-unit-config.t.
 *
 * The manual's options are its ".It Cm Name" lines under a heading
 * ".Sh SECTIONNAME SECTION" (in capitals); the shipped file's are its
 * "Name = value" lines inside "Section {" ... "}", each also counted when
 * commented out with "#".
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/config.h"
#include "tap.h"

/* An option that a document names. */
struct entry {
	char	 sec[64];
	char	 name[64];
	int	 line;
};

/*
 * A document: its path under GV_SRCDIR, whether its sections are in
 * capitals (the manual), the reader of a line, the section being read
 * ("" none) and the options it names.
 */
struct doc {
	const char	*path;
	int		 nocase;
	void		(*line)(struct doc *, const char *, int);
	char		 sec[64];
	struct entry	*e;
	size_t		 n;
};

/*
 * Copy the name at p ([A-Za-z][A-Za-z0-9]*) to w (len bytes).
 * Returns the end of the name in p, or NULL when there is none.
 */
static const char *
word(const char *p, char *w, size_t len)
{
	size_t n = 0;

	if (!isalpha((unsigned char)*p))
		return NULL;
	while (isalnum((unsigned char)p[n]))
		n++;
	if (n >= len)
		return NULL;
	memcpy(w, p, n);
	w[n] = '\0';
	return p + n;
}

static void
add(struct doc *d, const char *name, int line)
{
	struct entry *e;

	if ((d->e = realloc(d->e, (d->n + 1) * sizeof(*d->e))) == NULL) {
		perror("realloc");
		exit(2);
	}
	e = &d->e[d->n++];
	snprintf(e->sec, sizeof(e->sec), "%s", d->sec);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->line = line;
}

/* A line of the manual. */
static void
man_line(struct doc *d, const char *s, int line)
{
	char w[64];
	const char *p;

	if (strncmp(s, ".Sh ", 4) == 0) {
		d->sec[0] = '\0';
		if ((p = word(s + 4, w, sizeof(w))) != NULL &&
		    strcmp(p, " SECTION") == 0)
			snprintf(d->sec, sizeof(d->sec), "%s", w);
	} else if (d->sec[0] != '\0' && strncmp(s, ".It Cm ", 7) == 0 &&
	    (p = word(s + 7, w, sizeof(w))) != NULL &&
	    (*p == ' ' || *p == '\0'))
		add(d, w, line);
}

/* A line of the shipped file. */
static void
conf_line(struct doc *d, const char *s, int line)
{
	char w[64];
	const char *p;

	s += strspn(s, " \t");
	if (*s == '#')
		s += 1 + strspn(s + 1, " \t");
	if (*s == '}') {
		d->sec[0] = '\0';
		return;
	}
	if ((p = word(s, w, sizeof(w))) == NULL)
		return;
	p += strspn(p, " \t");
	if (*p == '{' && p[1 + strspn(p + 1, " \t")] == '\0')
		snprintf(d->sec, sizeof(d->sec), "%s", w);
	else if (*p == '=')
		add(d, w, line);	/* outside a section: sec "" */
}

/* Read d from srcdir.  Returns 0, or -1 when it cannot be opened. */
static int
doc_read(struct doc *d, const char *srcdir)
{
	char path[4096], *s = NULL;
	size_t cap = 0;
	ssize_t len;
	int line = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", srcdir, d->path);
	if ((f = fopen(path, "r")) == NULL) {
		printf("# %s: cannot open\n", path);
		return -1;
	}
	while ((len = getline(&s, &cap, f)) != -1) {
		if (len > 0 && s[len - 1] == '\n')
			s[len - 1] = '\0';
		d->line(d, s, ++line);
	}
	free(s);
	fclose(f);
	return 0;
}

static int
same_sec(const struct doc *d, const char *a, const char *b)
{
	return (d->nocase ? strcasecmp(a, b) : strcmp(a, b)) == 0;
}

static int
doc_has(const struct doc *d, const char *sec, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (same_sec(d, d->e[i].sec, sec) &&
		    strcmp(d->e[i].name, name) == 0)
			return 1;
	return 0;
}

/* The table's option that e names, or -1. */
static long
table_find(const struct doc *d, const struct entry *e)
{
	const char *sec, *name;

	for (size_t i = 0; config_option(i, &sec, &name) == 0; i++)
		if (same_sec(d, e->sec, sec) && strcmp(e->name, name) == 0)
			return (long)i;
	return -1;
}

/* Each option once, the rows of a section together. */
static void
check_table(void)
{
	const char *sec, *name, *s, *n, *prev = NULL;
	size_t i;
	int bad = 0;

	for (i = 0; config_option(i, &sec, &name) == 0; i++) {
		for (size_t j = 0; j < i; j++) {
			config_option(j, &s, &n);
			if (strcmp(s, sec) != 0)
				continue;
			if (strcmp(n, name) == 0)
				printf("# %s.%s is in the table twice\n", sec,
				    name);
			else if (strcmp(prev, sec) != 0)
				printf("# %s.%s is apart from the rows of its "
				    "section\n", sec, name);
			else
				continue;
			bad++;
			break;
		}
		prev = sec;
	}
	printf("# config.c's table has %zu options\n", i);
	ok(i > 0 && bad == 0, "config.c's table names each option once, "
	    "a section's rows together");
}

int
main(void)
{
	struct doc man = { "man/gigavault.conf.5", 1, man_line, "", NULL, 0 };
	struct doc conf = { "conf/gigavault.conf.in", 0, conf_line, "", NULL, 0 };
	struct doc *docs[] = { &man, &conf };
	const char *srcdir = getenv("GV_SRCDIR"), *sec, *name;
	char t[256];

	if (srcdir == NULL)
		srcdir = ".";
	check_table();
	for (size_t k = 0; k < 2; k++) {
		snprintf(t, sizeof(t), "reads %s", docs[k]->path);
		ok(doc_read(docs[k], srcdir) == 0, t);
	}

	/* Every option of the table in both documents. */
	for (size_t i = 0; config_option(i, &sec, &name) == 0; i++)
		for (size_t k = 0; k < 2; k++) {
			snprintf(t, sizeof(t), "%s.%s is in %s", sec, name,
			    docs[k]->path);
			ok(doc_has(docs[k], sec, name), t);
		}

	/* Every option of both documents in the table. */
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < docs[k]->n; i++) {
			const struct entry *e = &docs[k]->e[i];
			long at = table_find(docs[k], e);

			if (at != -1)
				config_option((size_t)at, &sec, &name);
			else
				sec = e->sec[0] != '\0' ? e->sec :
				    "(no section)";
			snprintf(t, sizeof(t), "%s:%d: %s.%s is an option of "
			    "config.c's table", docs[k]->path, e->line, sec,
			    e->name);
			ok(at != -1, t);
		}
	free(man.e);
	free(conf.e);
	return tap_done();
}
