/*
 * pattern.c - glob patterns over slash-separated paths.  See pattern.h.
 *
 * A pattern is kept as a list of components, each a literal name (no
 * wildcard left once its escapes are undone, compared with memcmp), a
 * glob for fnmatch(3), or "**".  An unanchored pattern is kept as an
 * anchored one that starts with "**", so there is one matcher: the
 * classic one-star backtracking walk, with "**" as the star and every
 * other component matching exactly one path component.  It is linear
 * in the path's length for a pattern with one "**" (the common "*.o",
 * "cache/tmp", "**\/node_modules"), which goes straight to the path's
 * last components.
 */
#include "autoconf.h"

#include <errno.h>
#include <fnmatch.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

#define NAME_MAX_BYTES	255	/* longest component (NAME_MAX) */
#define STACK_COMPS	64	/* path components before malloc */

enum comp_kind {
	COMP_LIT,		/* a literal name */
	COMP_GLOB,		/* fnmatch(3) on one name */
	COMP_ANY,		/* "**": any number of components */
	COMP_STAR,		/* "*": any one name */
	COMP_SUFFIX		/* "*" and a literal ("*.o"): a suffix */
};

struct comp {
	enum comp_kind	 kind;
	size_t		 len;	/* of s, for COMP_LIT and COMP_SUFFIX */
	char		*s;	/* unescaped for COMP_LIT and COMP_SUFFIX (the
				   part after "*"), as given for COMP_GLOB */
};

struct pat {
	struct comp	*comps;
	size_t		 ncomps;
	int		 dironly;
	/*
	 * The only "**" is the first component: the others must match
	 * the path's last ncomps - 1 components, no search needed.
	 */
	int		 suffix;
	/* No "**" at all: the path has exactly ncomps components. */
	int		 exact;
};

struct patterns {
	struct pat	*pats;
	size_t		 n, cap;
};

/* A path component: not NUL-terminated in the path, see split(). */
struct name {
	const char	*s;
	size_t		 len;
};

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
patterns_locale(void)
{
	const char *l = setlocale(LC_CTYPE, ""), *u;

	if (l == NULL || strcmp(l, "C") == 0 || strcmp(l, "POSIX") == 0) {
		if ((u = setlocale(LC_CTYPE, "C.UTF-8")) != NULL)
			return u;
		if (l == NULL)
			l = setlocale(LC_CTYPE, NULL);
	}
	return l;
}

struct patterns *
patterns_new(void)
{
	return calloc(1, sizeof(struct patterns));
}

static void
pat_free(struct pat *p)
{
	size_t i;

	for (i = 0; i < p->ncomps; i++)
		free(p->comps[i].s);
	free(p->comps);
	p->comps = NULL;
	p->ncomps = 0;
}

/*
 * The end of the bracket expression that starts at s[0] == '[', or
 * NULL when it is not terminated.  As in fnmatch(3): "!" or "^" first
 * negates, a "]" right after that is a member, "\" quotes the next
 * character, and "[:name:]", "[.c.]" and "[=c=]" are members whose
 * "]" does not end the class.
 */
static const char *
class_end(const char *s)
{
	const char *p = s + 1, *q;

	if (*p == '!' || *p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			p++;
		} else if (*p == '[' && (p[1] == ':' || p[1] == '.' ||
		    p[1] == '=')) {
			for (q = p + 2; *q != '\0'; q++)
				if (q[0] == p[1] && q[1] == ']')
					break;
			if (*q != '\0')
				p = q + 1;
		} else if (*p == ']')
			return p;
	}
	return NULL;
}

/*
 * Parse one component s[0..len) of a pattern into c.  Returns 0, or -1
 * with the reason in err.
 */
static int
comp_parse(struct comp *c, const char *s, size_t len, char *err,
    size_t errlen)
{
	const char *p, *end, *ce;
	char *raw, *d;
	int glob = 0, star = 0;

	memset(c, 0, sizeof(*c));
	if (len > NAME_MAX_BYTES) {
		seterr(err, errlen, "a component longer than %d bytes",
		    NAME_MAX_BYTES);
		return -1;
	}
	if (len == 2 && s[0] == '*' && s[1] == '*') {
		c->kind = COMP_ANY;
		return 0;
	}
	if ((raw = strndup(s, len)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	end = raw + len;
	for (p = raw; p < end; p++) {
		if (*p == '\\') {
			if (p + 1 == end) {
				seterr(err, errlen, "a trailing backslash");
				free(raw);
				return -1;
			}
			p++;
		} else if (*p == '*' || *p == '?') {
			glob = 1;
			/* Only a leading "*": maybe a suffix (below). */
			star += p == raw && *p == '*' ? 1 : 2;
		}
		else if (*p == '[') {
			if ((ce = class_end(p)) == NULL) {
				seterr(err, errlen,
				    "an unterminated class \"[\"");
				free(raw);
				return -1;
			}
			glob = 1;
			p = ce;
		}
	}
	if (glob && star == 1 && memchr(raw, '[', len) == NULL) {
		/*
		 * "*" and a literal: the literal, unescaped, must end the
		 * name ("*" matches any name: it is never empty).
		 */
		for (p = d = raw + 1; p < end; p++) {
			if (*p == '\\')
				p++;
			*d++ = *p;
		}
		*d = '\0';
		c->len = (size_t)(d - raw - 1);
		memmove(raw, raw + 1, c->len + 1);
		c->kind = c->len == 0 ? COMP_STAR : COMP_SUFFIX;
		c->s = raw;
		return 0;
	}
	if (glob) {
		c->kind = COMP_GLOB;
		c->s = raw;
		c->len = len;
		return 0;
	}
	/* A literal: undo the escapes in place. */
	for (p = d = raw; p < end; p++) {
		if (*p == '\\')
			p++;
		*d++ = *p;
	}
	*d = '\0';
	c->kind = COMP_LIT;
	c->s = raw;
	c->len = (size_t)(d - raw);
	return 0;
}

/* Parse pat into p.  Returns 0, or -1 with the reason in err. */
static int
pat_parse(struct pat *p, const char *pat, char *err, size_t errlen)
{
	const char *s, *e;
	size_t len, ncap, i, nany;
	int anchored;

	memset(p, 0, sizeof(*p));
	len = strlen(pat);
	if (len == 0) {
		seterr(err, errlen, "an empty pattern");
		return -1;
	}
	anchored = pat[0] == '/';
	p->dironly = pat[len - 1] == '/';
	/* At most one component per byte, plus the leading "**". */
	ncap = len / 2 + 2;
	if ((p->comps = calloc(ncap, sizeof(struct comp))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (!anchored)
		p->comps[p->ncomps++].kind = COMP_ANY;
	for (s = pat; *s != '\0'; s = e) {
		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e != '\0' && *e != '/'; e++)
			;
		if (*s == '.' && (e - s == 1 || (e - s == 2 && s[1] == '.'))) {
			/* No path in a snapshot has one: it would never match. */
			seterr(err, errlen, "a \"%.*s\" component never matches "
			    "(paths are matched from the root, as /a/b): write "
			    "the name alone (\"node_modules\" matches it in any "
			    "directory) or the absolute path (\"/abs/path\")",
			    (int)(e - s), s);
			pat_free(p);
			return -1;
		}
		if (p->ncomps == ncap) {	/* cannot happen: see ncap */
			seterr(err, errlen, "too many components");
			pat_free(p);
			return -1;
		}
		if (comp_parse(&p->comps[p->ncomps], s, (size_t)(e - s),
		    err, errlen) == -1) {
			pat_free(p);
			return -1;
		}
		/* "**" after "**" adds nothing. */
		if (p->comps[p->ncomps].kind == COMP_ANY && p->ncomps > 0 &&
		    p->comps[p->ncomps - 1].kind == COMP_ANY)
			continue;
		p->ncomps++;
	}
	if (strspn(pat, "/") == len)
		p->dironly = 0;		/* "/" is the root, a directory */
	for (i = nany = 0; i < p->ncomps; i++)
		if (p->comps[i].kind == COMP_ANY)
			nany++;
	p->exact = nany == 0;
	p->suffix = nany == 1 && p->comps[0].kind == COMP_ANY;
	return 0;
}

int
patterns_add(struct patterns *ps, const char *pat, char *err,
    size_t errlen)
{
	struct pat p, *np;
	size_t ncap;

	if (ps == NULL || pat == NULL) {
		seterr(err, errlen, "no pattern list");
		return -1;
	}
	if (pat_parse(&p, pat, err, errlen) == -1)
		return -1;
	if (ps->n == ps->cap) {
		ncap = ps->cap ? ps->cap * 2 : 8;
		if ((np = reallocarray(ps->pats, ncap, sizeof(*np))) == NULL) {
			pat_free(&p);
			seterr(err, errlen, "out of memory");
			return -1;
		}
		ps->pats = np;
		ps->cap = ncap;
	}
	ps->pats[ps->n++] = p;
	return 0;
}

int
patterns_add_file(struct patterns *ps, const char *file, char *err,
    size_t errlen)
{
	FILE *f;
	char *line = NULL, *s, perr[300];
	size_t cap = 0, lineno = 0, len, nbs;
	ssize_t n;
	int rc = 0;

	if ((f = fopen(file, "r")) == NULL) {
		seterr(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		len = (size_t)n;
		if (memchr(line, '\0', len) != NULL) {
			seterr(err, errlen, "%s:%zu: a NUL byte", file,
			    lineno);
			rc = -1;
			break;
		}
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		/* Trailing spaces, but not one escaped by a backslash. */
		while (len > 0 && line[len - 1] == ' ') {
			for (nbs = 0; nbs < len - 1 &&
			    line[len - 2 - nbs] == '\\'; nbs++)
				;
			if (nbs % 2 == 1)
				break;
			len--;
		}
		line[len] = '\0';
		s = line;
		if (len == 0 || s[0] == '#')
			continue;
		if (patterns_add(ps, s, perr, sizeof(perr)) == -1) {
			seterr(err, errlen, "%s:%zu: %s", file, lineno, perr);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		seterr(err, errlen, "%s: %s", file, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

static int
comp_match(const struct comp *c, const struct name *nm)
{
	char buf[NAME_MAX_BYTES + 1], *dup;
	int r;

	switch (c->kind) {
	case COMP_ANY:
	case COMP_STAR:
		return 1;
	case COMP_LIT:
		return c->len == nm->len && memcmp(c->s, nm->s, nm->len) == 0;
	case COMP_SUFFIX:
		return nm->len >= c->len && memcmp(c->s, nm->s + nm->len -
		    c->len, c->len) == 0;
	case COMP_GLOB:
		break;
	}
	/* fnmatch(3) wants a string: the name is not NUL-terminated. */
	if (nm->len < sizeof(buf)) {
		memcpy(buf, nm->s, nm->len);
		buf[nm->len] = '\0';
		return fnmatch(c->s, buf, 0) == 0;
	}
	if ((dup = strndup(nm->s, nm->len)) == NULL)
		return 0;
	r = fnmatch(c->s, dup, 0) == 0;
	free(dup);
	return r;
}

/*
 * Whether p matches the names v[0..n): "**" is the star of the usual
 * backtracking glob walk, every other component matches one name.
 */
static int
pat_match(const struct pat *p, const struct name *v, size_t n)
{
	size_t i = 0, j = 0, k, si = 0, sj = 0;
	int star = 0;

	if (p->exact) {
		if (n != p->ncomps)
			return 0;
		for (k = 0; k < n; k++)
			if (!comp_match(&p->comps[k], &v[k]))
				return 0;
		return 1;
	}
	if (p->suffix) {
		if (n < p->ncomps - 1)
			return 0;
		for (k = 1; k < p->ncomps; k++)
			if (!comp_match(&p->comps[k],
			    &v[n - (p->ncomps - k)]))
				return 0;
		return 1;
	}
	while (j < n) {
		if (i < p->ncomps && p->comps[i].kind == COMP_ANY) {
			star = 1;
			si = i++;
			sj = j;
		} else if (i < p->ncomps && comp_match(&p->comps[i], &v[j])) {
			i++;
			j++;
		} else if (star) {
			i = si + 1;
			j = ++sj;
		} else
			return 0;
	}
	while (i < p->ncomps && p->comps[i].kind == COMP_ANY)
		i++;
	return i == p->ncomps;
}

/*
 * Split path into its names: into stack (of cap entries) or, for a
 * deeper path, a new array in *heap.  Returns the count, or -1 when
 * memory runs out.
 */
static ssize_t
split(const char *path, struct name *stack, size_t cap, struct name **heap,
    struct name **out)
{
	const char *s, *e;
	struct name *v = stack;
	size_t n = 0, need = 0;

	*heap = NULL;
	for (s = path; *s != '\0'; s++)
		if (*s != '/' && (s == path || s[-1] == '/'))
			need++;
	if (need > cap) {
		if ((*heap = calloc(need, sizeof(struct name))) == NULL)
			return -1;
		v = *heap;
	}
	for (s = path; *s != '\0'; s = e) {
		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e != '\0' && *e != '/'; e++)
			;
		v[n].s = s;
		v[n].len = (size_t)(e - s);
		n++;
	}
	*out = v;
	return (ssize_t)n;
}

int
patterns_match(const struct patterns *ps, const char *path, int isdir)
{
	struct name stack[STACK_COMPS], *heap, *v;
	ssize_t n;
	size_t i;
	int r = 0;

	if (ps == NULL || ps->n == 0 || path == NULL)
		return 0;
	if ((n = split(path, stack, STACK_COMPS, &heap, &v)) == -1)
		return 0;
	for (i = 0; i < ps->n && !r; i++) {
		if (ps->pats[i].dironly && !isdir)
			continue;
		r = pat_match(&ps->pats[i], v, (size_t)n);
	}
	free(heap);
	return r;
}

size_t
patterns_count(const struct patterns *ps)
{
	return ps == NULL ? 0 : ps->n;
}

void
patterns_free(struct patterns *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++)
		pat_free(&ps->pats[i]);
	free(ps->pats);
	free(ps);
}
