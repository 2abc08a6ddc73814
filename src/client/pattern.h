/*
 * pattern.h - the glob patterns of backup --exclude, restore --include
 * and --exclude, and find (gigavault(1), "PATTERNS").
 *
 * A pattern is matched against a path of slash-separated components:
 * for backup the absolute path on this machine, for restore and find the
 * path in the snapshot (starting with "/").
 *
 *	/a/b	anchored (leading "/"): the whole path must match
 *	a/b	unanchored: matches when it matches the path's last
 *		components (so "*.o" matches "/src/x.o", "cache/tmp"
 *		matches "/home/u/cache/tmp", but "b" does not match "/ab")
 *	*	any run of characters within one component
 *	?	one character, not "/" (of LC_CTYPE's character set:
 *		UTF-8 unless the environment names another one; see
 *		patterns_locale())
 *	[...]	a character class, as in fnmatch(3) ([!...] negates)
 *	**	as a whole component: any number (zero included) of whole
 *		components ("**\/node_modules"; "/var/" "**" "/" "*.log",
 *		written as one, is a .log file anywhere below /var)
 *	\c	the character c itself
 *	dir/	a trailing "/": matches directories only
 *
 * A pattern that matches a directory matches everything below it (the
 * walk does not descend into it).  Hidden files get no special case: "*"
 * matches ".profile".
 */
#ifndef GV_PATTERN_H
#define GV_PATTERN_H

#include <stddef.h>

struct patterns;

/* An empty list (matches nothing), or NULL when memory runs out. */
struct patterns *patterns_new(void);
/*
 * Set LC_CTYPE (only: numbers, messages and times stay as in "C") from
 * the environment, or to "C.UTF-8" when that is "C" or "POSIX" (or not
 * valid): file names are nearly always UTF-8, and fnmatch(3) matches "?"
 * and classes against characters of LC_CTYPE ("caf?" matches "café").
 * A program that matches patterns calls it once, before any thread
 * starts (gigavault.c's main(); the unit test likewise).  Returns the
 * locale set (setlocale(3)'s string).
 */
const char *patterns_locale(void);
/*
 * Add one pattern.  Returns 0, or -1 with the reason in err: empty, an
 * unterminated class or trailing backslash, a component longer than 255
 * bytes, a "." or ".." component (it would never match), or out of
 * memory.  The list keeps its own copy.
 */
int	patterns_add(struct patterns *, const char *pat, char *err,
	    size_t errlen);
/*
 * Add the patterns of a file, one per line; blank lines and lines that
 * start with "#" are skipped, trailing spaces and the newline are not
 * part of the pattern (a pattern that must end in a space ends in "\ ").
 * Returns 0, or -1 with the reason (file name and line number when a
 * line is bad, or why the file cannot be read) in err.
 */
int	patterns_add_file(struct patterns *, const char *file, char *err,
	    size_t errlen);
/*
 * 1 when some pattern matches path (absolute, no "." or ".." or empty
 * components; "/" itself matches only "/" and "**"), isdir saying
 * whether it is a directory; else 0.  A NULL or empty list matches
 * nothing.
 */
int	patterns_match(const struct patterns *, const char *path, int isdir);
/* How many patterns the list holds (0 for NULL). */
size_t	patterns_count(const struct patterns *);
/* Free the list (NULL is fine). */
void	patterns_free(struct patterns *);

#endif
