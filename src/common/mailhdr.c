/*
 * mailhdr.c - RFC 2047 encoded-words for mail headers (mailhdr.h).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailhdr.h"
#include "text.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
mailhdr_encode(const char *s)
{
	char piece[MAILHDR_WORD_BYTES + 2], *out, *o;
	const unsigned char *p;
	size_t len = strlen(s), n;
	int ascii = 1;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p >= 0x80)
			ascii = 0;
	if (ascii)
		return strdup(s);
	/* Each word: 2 of fold, 12 of frame, 4 per 3 bytes (at least 1). */
	if ((out = malloc((len + 1) * (2 + 12 + 4) + 1)) == NULL)
		return NULL;
	o = out;
	for (int first = 1; *s != '\0'; first = 0) {
		/* One byte more, for text_cut() to see where it is. */
		n = strnlen(s, MAILHDR_WORD_BYTES + 1);
		memcpy(piece, s, n);
		piece[n] = '\0';
		text_cut(piece, MAILHDR_WORD_BYTES);
		if ((n = strlen(piece)) == 0)
			n = 1;		/* not UTF-8: one byte, to move on */
		if (!first) {
			*o++ = '\n';
			*o++ = ' ';
		}
		memcpy(o, "=?UTF-8?B?", 10);
		o += 10;
		p = (const unsigned char *)s;
		for (size_t i = 0; i < n; i += 3) {
			uint32_t v = (uint32_t)p[i] << 16;

			if (i + 1 < n)
				v |= (uint32_t)p[i + 1] << 8;
			if (i + 2 < n)
				v |= p[i + 2];
			*o++ = b64[v >> 18];
			*o++ = b64[(v >> 12) & 63];
			*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
			*o++ = i + 2 < n ? b64[v & 63] : '=';
		}
		*o++ = '?';
		*o++ = '=';
		s += n;
	}
	*o = '\0';
	return out;
}
