/*
 * fuzz-s3xml.c - libFuzzer harness: the XML scanner of server/s3.c,
 * which reads what an S3 server answers.  The input goes whole to
 * s3_xml_error(), s3_xml_list() (a callback that checks each key's and
 * ETag's length), s3_xml_delete_result() and s3_xml_text() (UploadId,
 * into a small buffer), and, cut at its first NUL, to s3_creds_parse()
 * (the credentials file) and s3_canon_query() (as one parameter name
 * and value).  Inputs above S3_XML_MAX are refused by the scanner
 * itself; the harness passes them anyway.
 *
 * Not covered: the requests (curl, the network) and the headers of the
 * answers (on_header() in s3.c needs a curl handle).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/s3.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
on_key(const char *key, uint64_t size, const char *etag, void *arg)
{
	size_t *n = arg;

	(void)size;
	if (strlen(key) > S3_KEY_MAX || strlen(etag) > S3_ETAG_MAX + 2)
		abort();
	return ++*n > 5000;	/* and the stop path */
}

static void
on_delerr(const char *key, const char *code, const char *msg, void *arg)
{
	(void)arg;
	if (strlen(key) > S3_KEY_MAX || strlen(code) > S3_CODE_MAX ||
	    strlen(msg) > S3_MESSAGE_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *x = (const char *)data;
	char code[S3_CODE_MAX + 1], msg[S3_MESSAGE_MAX + 1], err[300];
	char id[64], secret[64], small[16], *q, *z;
	struct s3_listpage page;
	struct s3_param p;
	size_t n = 0, del, fail, zl, ql;

	if (s3_xml_error(x, size, code, msg) == 0 && code[0] == '\0')
		abort();
	(void)s3_xml_list(x, size, on_key, &n, &page, err, sizeof(err));
	if (strlen(page.next) > S3_KEY_MAX)
		abort();
	(void)s3_xml_delete_result(x, size, on_delerr, NULL, &del, &fail,
	    err, sizeof(err));
	if (s3_xml_text(x, size, "UploadId", small, sizeof(small)) == 0 &&
	    strlen(small) >= sizeof(small))
		abort();

	if ((z = malloc(size + 1)) == NULL)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	zl = strlen(z);
	(void)s3_creds_parse("fuzz", z, zl, id, sizeof(id), secret,
	    sizeof(secret), err, sizeof(err));
	p.name = z;
	p.value = z + zl / 2;
	ql = 3 * (zl + (zl - zl / 2)) + 2;	/* name=value and the NUL */
	if ((q = malloc(ql)) != NULL) {
		if (s3_canon_query(&p, 1, q, ql) != 0)
			abort();	/* 3 bytes a byte always fit */
		free(q);
	}
	free(z);
	return 0;
}
