/*
 * unit-text.c - TAP unit tests of src/common/text.c: text_clean() keeps
 * valid UTF-8 and the control characters asked for, and turns every
 * other byte (invalid, overlong, surrogate, beyond U+10FFFF, control)
 * into '?'; text_cut() never cuts inside a character.  Run by
 * t/00-unit-text.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "common/text.h"
#include "tap.h"

static void
clean_is(const char *in, const char *keep, const char *want)
{
	char buf[256], name[600];

	snprintf(buf, sizeof(buf), "%s", in);
	text_clean(buf, keep);
	snprintf(name, sizeof(name), "text_clean(\"%s\") = \"%s\"", want,
	    buf);
	ok(strcmp(buf, want) == 0 && strlen(buf) == strlen(in), name);
}

static void
cut_is(const char *in, size_t max, const char *want)
{
	char buf[256], name[600];

	snprintf(buf, sizeof(buf), "%s", in);
	text_cut(buf, max);
	snprintf(name, sizeof(name), "text_cut(%zu) = \"%s\" (got \"%s\")",
	    max, want, buf);
	ok(strcmp(buf, want) == 0, name);
}

int
main(void)
{
	clean_is("plain ascii", "", "plain ascii");
	clean_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	clean_is("caf\xe9", "", "caf?");			/* Latin-1 */
	clean_is("a\xc3", "", "a?");				/* cut short */
	clean_is("\xc0\xaf", "", "??");				/* overlong */
	clean_is("\xe0\x80\xaf", "", "???");			/* overlong */
	clean_is("\xed\xa0\x80", "", "???");			/* surrogate */
	clean_is("\xf4\x90\x80\x80", "", "????");		/* > U+10FFFF */
	clean_is("\xff\xfe", "", "??");
	clean_is("a\nb\tc\x1b[0m\x7f", "", "a?b?c?[0m?");
	clean_is("a\nb\tc", "\n", "a\nb?c");
	clean_is("a\nb\tc", "\n\t", "a\nb\tc");
	clean_is("", "", "");

	cut_is("abcdef", 3, "abc");
	cut_is("abc", 3, "abc");
	cut_is("abc", 10, "abc");
	cut_is("ab\xc3\xa9", 3, "ab");			/* not half of é */
	cut_is("ab\xc3\xa9", 4, "ab\xc3\xa9");
	cut_is("a\xe2\x82\xac", 2, "a");
	cut_is("a\xe2\x82\xac", 3, "a");
	cut_is("a\xf0\x9f\x98\x80z", 4, "a");
	cut_is("a\xf0\x9f\x98\x80z", 5, "a\xf0\x9f\x98\x80");
	cut_is("xyz", 0, "");
	return tap_done();
}
