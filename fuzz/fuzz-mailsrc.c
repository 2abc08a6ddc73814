/*
 * fuzz-mailsrc.c - libFuzzer harness: what client/mailsrc.c reads from a
 * mail server's messages and names.  The input is a message:
 * mailsrc_header() takes its From, Subject and Date (each result, when
 * there is one, at most MAILSRC_HDR_MAX bytes without control
 * characters); and a name: mailsrc_encode() of the input (up to its
 * first NUL) must decode back to it with mailsrc_decode(), and
 * mailsrc_decode() of the input must not crash.  A broken rule aborts,
 * so that the fuzzer reports it.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/mailsrc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_field(const uint8_t *data, size_t size, const char *name)
{
	char *v = mailsrc_header(data, size, name);

	if (v == NULL)
		return;
	if (strlen(v) > MAILSRC_HDR_MAX)
		abort();
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *e, *d;

	check_field(data, size, "From");
	check_field(data, size, "Subject");
	check_field(data, size, "Date");
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if ((e = mailsrc_encode(s)) != NULL) {
		if (strchr(e, '/') != NULL || e[0] == '.' ||
		    (d = mailsrc_decode(e)) == NULL || strcmp(d, s) != 0)
			abort();	/* encode and decode disagree */
		free(d);
		free(e);
	}
	free(mailsrc_decode(s));
	free(s);
	return 0;
}
