/*
 * text.c - text from outside (a client's error message, an agent's name,
 * a file's line) made safe to show, log and put in JSON.
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include "text.h"

void
text_clean(char *s, const char *keep)
{
	unsigned char *p = (unsigned char *)s;

	while (*p != '\0') {
		size_t n = 0;
		uint32_t cp = 0;

		if (*p < 0x80) {
			if ((*p < 0x20 || *p == 0x7f) &&
			    strchr(keep, (char)*p) == NULL)
				*p = '?';
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		}
		for (size_t i = 1; n > 0 && i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF are not. */
		if (n == 0 || (n == 1 && cp < 0x80) ||
		    (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

void
text_cut(char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return;
	n = max;
	/* Back to the first byte of the character that would be cut. */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}
