/*
 * text.h - text from outside (a client's error message, an agent's name,
 * a file's line) made safe to show, log and put in JSON (jansson refuses
 * strings that are not UTF-8).
 */
#ifndef GV_TEXT_H
#define GV_TEXT_H

#include <stddef.h>

/*
 * Make the NUL-terminated s valid UTF-8 without control characters but
 * those in keep (a string of them, such as "\n\t"; "" for none), in
 * place: each byte of an invalid, overlong or surrogate sequence, and
 * each control character (below 0x20, and 0x7f) not in keep, becomes
 * '?'.  The length does not change.
 */
void	text_clean(char *s, const char *keep);

/*
 * Cut s to at most max bytes, never inside a UTF-8 character (s valid
 * UTF-8, as after text_clean()).  Nothing happens when it is shorter.
 */
void	text_cut(char *s, size_t max);

#endif
