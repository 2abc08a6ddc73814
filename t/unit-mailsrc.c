/*
 * unit-mailsrc.c - TAP unit tests of src/client/mailsrc.c's pure parts:
 * the names of users and mailboxes as file names (mailsrc_encode() and
 * mailsrc_decode(): '%', '/', a leading '.', round trips, bad escapes
 * refused) and the header fields taken for listings (mailsrc_header():
 * case, folding, LF or CRLF, only the header, the first field only,
 * control characters, the length cut).  Run by t/00-unit-mailsrc.t.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/mailsrc.h"
#include "tap.h"

static void
enc_is(const char *in, const char *want)
{
	char *e = mailsrc_encode(in), *d = e ? mailsrc_decode(e) : NULL;
	char name[256];

	snprintf(name, sizeof(name), "encode \"%s\" is \"%s\", and back", in,
	    want);
	ok(e != NULL && strcmp(e, want) == 0 && d != NULL &&
	    strcmp(d, in) == 0, name);
	if (e != NULL && strcmp(e, want) != 0)
		printf("# got \"%s\"\n", e);
	free(e);
	free(d);
}

static void
dec_bad(const char *in)
{
	char *d = mailsrc_decode(in);
	char name[128];

	snprintf(name, sizeof(name), "decode refuses \"%s\"", in);
	ok(d == NULL, name);
	free(d);
}

static void
hdr_is(const char *msg, const char *field, const char *want,
    const char *name)
{
	char *v = mailsrc_header((const uint8_t *)msg, strlen(msg), field);

	ok(want == NULL ? v == NULL : v != NULL && strcmp(v, want) == 0,
	    name);
	if (v != NULL && (want == NULL || strcmp(v, want) != 0))
		printf("# got \"%s\"\n", v);
	free(v);
}

int
main(void)
{
	char *big, *v;
	size_t n;

	enc_is("INBOX", "INBOX");
	enc_is("Work/Projects", "Work%2FProjects");
	enc_is(".hidden", "%2Ehidden");
	enc_is("a.b.", "a.b.");
	enc_is("50% off", "50%25 off");
	enc_is("/", "%2F");
	enc_is("..", "%2E.");
	enc_is("%2F", "%252F");
	enc_is("&AOk-t&AOk-", "&AOk-t&AOk-");	/* modified UTF-7 as is */
	dec_bad("%");
	dec_bad("%2");
	dec_bad("a%zz");
	dec_bad("%00");
	v = mailsrc_decode("%41%2f");
	ok(v != NULL && strcmp(v, "A/") == 0, "decode takes any %XX, either case");
	free(v);

	hdr_is("From: Alice <a@x>\r\nSubject: Hi\r\n\r\nbody", "Subject", "Hi",
	    "a field of a CRLF message");
	hdr_is("from: Alice <a@x>\nsubject: Hi\n\nbody", "From", "Alice <a@x>",
	    "LF line ends, and the name in another case");
	hdr_is("Subject: a long\r\n\tfolded\r\n  subject\r\nX: y\r\n\r\n",
	    "Subject", "a long folded  subject",
	    "a folded field unfolded (its blanks kept, tabs as spaces)");
	hdr_is("To: b\r\n\r\nSubject: in the body\r\n", "Subject", NULL,
	    "a field in the body is not one");
	hdr_is("Subject: first\r\nSubject: second\r\n\r\n", "Subject", "first",
	    "the first of two");
	hdr_is("Subject:\r\n\r\n", "Subject", "", "an empty field");
	hdr_is("Subjects: x\r\nSubject:x\r\n\r\n", "Subject", "x",
	    "another name with the same start is not it");
	hdr_is("Subject: \x01\x1b[1m\xff\r\n\r\n", "Subject", "??[1m?",
	    "control characters and bad UTF-8 as '?'");
	hdr_is("Date: Fri, 6 Dec 2024 10:13:20 +0100", "Date",
	    "Fri, 6 Dec 2024 10:13:20 +0100", "a message that is only a header");
	hdr_is("", "From", NULL, "an empty message");

	n = 5000;
	big = malloc(n + 32);
	memcpy(big, "Subject: ", 9);
	memset(big + 9, 'x', n);
	memcpy(big + 9 + n, "\r\n\r\n", 5);
	v = mailsrc_header((const uint8_t *)big, strlen(big), "Subject");
	ok(v != NULL && strlen(v) == MAILSRC_HDR_MAX,
	    "a field of 5000 bytes cut to MAILSRC_HDR_MAX");
	free(v);
	/* Not NUL-terminated, cut in the middle of the name. */
	v = mailsrc_header((const uint8_t *)"Subj", 4, "Subject");
	ok(v == NULL, "a message that ends inside the name");
	free(v);
	free(big);
	return tap_done();
}
