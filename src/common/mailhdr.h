/*
 * mailhdr.h - text for a mail header: ASCII as it is, anything else as
 * RFC 2047 encoded-words (=?UTF-8?B?...?=).
 */
#ifndef GV_MAILHDR_H
#define GV_MAILHDR_H

/* Bytes of text per encoded-word: 45 make 60 of base64, and with the 12
 * of "=?UTF-8?B?" and "?=" the 72 below RFC 2047's 75. */
#define MAILHDR_WORD_BYTES	45

/*
 * s (valid UTF-8, as after text_clean(); NUL-terminated) as the text of
 * an unstructured header such as Subject: a copy of s when it is all
 * ASCII, else encoded-words of whole characters (at most
 * MAILHDR_WORD_BYTES bytes of s each), separated by "\n " (a folded
 * line; the caller's line ends).  Returns a malloc'ed string (the
 * caller frees it), or NULL when out of memory.
 */
char	*mailhdr_encode(const char *s);

#endif
