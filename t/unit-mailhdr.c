/*
 * unit-mailhdr.c - TAP unit tests of src/common/mailhdr.c:
 * mailhdr_encode() leaves ASCII alone, and turns other text into RFC
 * 2047 encoded-words of at most 75 characters that hold whole UTF-8
 * characters and decode back to the text.  Run by t/00-unit-mailhdr.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mailhdr.h"
#include "tap.h"

static int
b64val(char c)
{
	const char *t =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(t, c);

	return c != '\0' && p != NULL ? (int)(p - t) : -1;
}

/*
 * Decode the encoded-words of enc into out; each word must be at most 75
 * characters and hold valid UTF-8 on its own.  0 or -1.
 */
static int
decode(const char *enc, char *out, size_t outlen)
{
	size_t o = 0;

	while (*enc != '\0') {
		const char *end;
		unsigned char word[128];
		size_t wn = 0;

		if (strncmp(enc, "=?UTF-8?B?", 10) != 0 ||
		    (end = strstr(enc + 10, "?=")) == NULL ||
		    end + 2 - enc > 75)
			return -1;
		for (const char *p = enc + 10; p < end; p += 4) {
			int v[4];

			for (int i = 0; i < 4; i++)
				v[i] = p[i] == '=' ? 0 : b64val(p[i]);
			if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
				return -1;
			word[wn++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
			if (p[2] != '=')
				word[wn++] = (unsigned char)(v[1] << 4 |
				    v[2] >> 2);
			if (p[3] != '=')
				word[wn++] = (unsigned char)(v[2] << 6 | v[3]);
		}
		/* A word may not end inside a character. */
		for (size_t i = 0; i < wn;) {
			size_t k = word[i] < 0x80 ? 1 : word[i] < 0xe0 ? 2 :
			    word[i] < 0xf0 ? 3 : 4;

			if (i + k > wn)
				return -1;
			i += k;
		}
		if (o + wn >= outlen)
			return -1;
		memcpy(out + o, word, wn);
		o += wn;
		enc = end + 2;
		if (strncmp(enc, "\n ", 2) == 0)
			enc += 2;
	}
	out[o] = '\0';
	return 0;
}

int
main(void)
{
	char buf[1024], in[600], *e;

	e = mailhdr_encode("GigaVault vault-59: job_failed bob/home");
	ok(e != NULL && strcmp(e, "GigaVault vault-59: job_failed bob/home")
	    == 0, "ASCII stays as it is");
	free(e);
	e = mailhdr_encode("GigaVault caf\xc3\xa9");
	ok(e != NULL && strcmp(e, "=?UTF-8?B?R2lnYVZhdWx0IGNhZsOp?=") == 0,
	    "UTF-8: one encoded-word");
	free(e);
	e = mailhdr_encode("");
	ok(e != NULL && e[0] == '\0', "empty stays empty");
	free(e);

	/* "x" then 100 two-byte characters: 45-byte words would end
	 * inside one. */
	snprintf(in, sizeof(in), "x");
	for (int i = 0; i < 100; i++)
		strcat(in, "\xc3\xa9");
	e = mailhdr_encode(in);
	ok(e != NULL && strchr(e, '\n') != NULL, "long text: several words, "
	    "folded");
	ok(e != NULL && decode(e, buf, sizeof(buf)) == 0,
	    "each word at most 75 characters, of whole characters");
	ok(e != NULL && strcmp(buf, in) == 0, "and they decode to the text");
	free(e);
	snprintf(in, sizeof(in), "GigaVault \xe2\x82\xac\xf0\x9f\x98\x80 "
	    "%s", "a-rather-long-host-name.example.org: job_failed x/y");
	e = mailhdr_encode(in);
	ok(e != NULL && decode(e, buf, sizeof(buf)) == 0 &&
	    strcmp(buf, in) == 0, "3- and 4-byte characters round trip");
	free(e);
	return tap_done();
}
