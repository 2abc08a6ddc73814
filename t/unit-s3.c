/*
 * unit-s3.c - unit tests of server/s3.c's pure parts: SigV4's percent
 * encoding and canonical queries, the XML scanner on S3's error bodies,
 * list pages and multi-delete results (also malformed and oversized
 * ones), and the credentials file (its parser and its mode check).
 * The requests themselves are t/90-s3.t's, against a real radosgw.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/s3.h"

#include "tap.h"

struct seen {
	char	 keys[8][64];
	uint64_t sizes[8];
	char	 etags[8][64];
	int	 n;
	int	 stop_at;	/* stop after this many; 0: never */
};

static int
on_key(const char *key, uint64_t size, const char *etag, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
		s->sizes[s->n] = size;
		snprintf(s->etags[s->n], sizeof(s->etags[0]), "%s", etag);
	}
	s->n++;
	return s->stop_at != 0 && s->n >= s->stop_at;
}

static char delerr_keys[256];

static void
on_delerr(const char *key, const char *code, const char *msg, void *arg)
{
	size_t l = strlen(delerr_keys);

	(void)arg;
	snprintf(delerr_keys + l, sizeof(delerr_keys) - l, "%s=%s(%s);", key,
	    code, msg);
}

static void
test_encode(void)
{
	char out[128];
	struct s3_param q[4];

	ok(s3_pct_encode("a-Z_0.~", 7, 0, out, sizeof(out)) == 0 &&
	    strcmp(out, "a-Z_0.~") == 0, "unreserved characters stay");
	ok(s3_pct_encode("a/b c+d=%", 9, 0, out, sizeof(out)) == 0 &&
	    strcmp(out, "a%2Fb%20c%2Bd%3D%25") == 0,
	    "others are %XX in upper case, '/' too in a query");
	ok(s3_pct_encode("a/b", 3, 1, out, sizeof(out)) == 0 &&
	    strcmp(out, "a/b") == 0, "'/' kept in a path");
	ok(s3_pct_encode("\xc3\xa9", 2, 0, out, sizeof(out)) == 0 &&
	    strcmp(out, "%C3%A9") == 0, "UTF-8 bytes each encoded");
	ok(s3_pct_encode("abc", 3, 0, out, 3) == -1 && out[0] == '\0',
	    "no room for the NUL: -1, empty");
	ok(s3_pct_encode(" ", 1, 0, out, 3) == -1, "no room for %XX: -1");
	ok(s3_pct_encode(" ", 1, 0, out, 4) == 0 && strcmp(out, "%20") == 0,
	    "exactly room for %XX");

	q[0].name = "uploads", q[0].value = NULL;
	ok(s3_canon_query(q, 1, out, sizeof(out)) == 0 &&
	    strcmp(out, "uploads=") == 0, "a bare key becomes \"uploads=\"");
	q[0].name = "max-keys", q[0].value = "2";
	q[1].name = "list-type", q[1].value = "2";
	q[2].name = "prefix", q[2].value = "a b/";
	q[3].name = "continuation-token", q[3].value = "list/k1";
	ok(s3_canon_query(q, 4, out, sizeof(out)) == 0 && strcmp(out,
	    "continuation-token=list%2Fk1&list-type=2&max-keys=2&"
	    "prefix=a%20b%2F") == 0, "keys sorted, values encoded");
	q[0].name = "uploadId", q[0].value = "2~x+y";
	q[1].name = "partNumber", q[1].value = "10";
	ok(s3_canon_query(q, 2, out, sizeof(out)) == 0 &&
	    strcmp(out, "partNumber=10&uploadId=2~x%2By") == 0,
	    "partNumber before uploadId (upper case sorts first)");
	ok(s3_canon_query(q, 2, out, 20) == -1 && out[0] == '\0',
	    "a query too long for the buffer: -1");
	ok(s3_canon_query(q, 17, out, sizeof(out)) == -1,
	    "more than 16 parameters: -1");
	ok(s3_canon_query(q, 0, out, sizeof(out)) == 0 && out[0] == '\0',
	    "no parameter: empty");
}

static void
test_error(void)
{
	char code[S3_CODE_MAX + 1], msg[S3_MESSAGE_MAX + 1], big[2048];
	const char *x;
	char *huge;

	x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>"
	    "<Code>SignatureDoesNotMatch</Code><Message>a &amp; b &lt;c&gt; "
	    "&#65;&#x42;</Message><RequestId>tx</RequestId></Error>";
	ok(s3_xml_error(x, strlen(x), code, msg) == 0 &&
	    strcmp(code, "SignatureDoesNotMatch") == 0 &&
	    strcmp(msg, "a & b <c> AB") == 0, "error: code, decoded message");
	x = "<Error><Code>PreconditionFailed</Code><Message></Message>"
	    "<BucketName>b</BucketName></Error>";
	ok(s3_xml_error(x, strlen(x), code, msg) == 0 &&
	    strcmp(code, "PreconditionFailed") == 0 && msg[0] == '\0',
	    "radosgw's empty <Message>");
	x = "<Error><Code>NoSuchKey</Code><Message/></Error>";
	ok(s3_xml_error(x, strlen(x), code, msg) == 0 &&
	    strcmp(code, "NoSuchKey") == 0 && msg[0] == '\0',
	    "a self-closed <Message/>");
	x = "<Error><Code>Nope</Code><Message>abc</Message></Error>";
	ok(s3_xml_error(x, 20, code, msg) == -1 && code[0] == '\0',
	    "the length is obeyed: a cut body has no closed <Error>");
	x = "<Error><Message>x</Message></Error>";
	ok(s3_xml_error(x, strlen(x), code, msg) == -1,
	    "an <Error> without <Code>: -1");
	x = "<html>502 Bad Gateway</html>";
	ok(s3_xml_error(x, strlen(x), code, msg) == -1 && code[0] == '\0' &&
	    msg[0] == '\0', "not S3's XML: -1, both empty");
	x = "<ErrorX><Code>A</Code></ErrorX>";
	ok(s3_xml_error(x, strlen(x), code, msg) == -1,
	    "<ErrorX> is not <Error>");
	memset(big, 'm', sizeof(big));
	memcpy(big, "<Error><Code>Long</Code><Message>", 33);
	memcpy(big + sizeof(big) - 18, "</Message></Error>", 18);
	ok(s3_xml_error(big, sizeof(big), code, msg) == 0 &&
	    strcmp(code, "Long") == 0 && strlen(msg) == S3_MESSAGE_MAX,
	    "a long message is cut to S3_MESSAGE_MAX");
	x = "<Error><Code>A&bogus;</Code></Error>";
	ok(s3_xml_error(x, strlen(x), code, msg) == 0 &&
	    strlen(code) <= S3_CODE_MAX, "an unknown entity: cut there");
	if ((huge = malloc(S3_XML_MAX + 2)) != NULL) {
		memset(huge, ' ', S3_XML_MAX + 1);
		memcpy(huge, "<Error><Code>A</Code></Error>", 29);
		ok(s3_xml_error(huge, S3_XML_MAX + 1, code, msg) == -1,
		    "a body above S3_XML_MAX: refused");
		ok(s3_xml_error(huge, S3_XML_MAX, code, msg) == 0,
		    "one of S3_XML_MAX: read");
		free(huge);
	}
}

static void
test_list(void)
{
	struct s3_listpage page;
	struct seen s;
	char err[256], k[S3_KEY_MAX + 64];
	const char *x;
	char *b;
	int rc;

	x = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"x\"><Name>b"
	    "</Name><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
	    "<IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>list/k1</NextContinuationToken>"
	    "<Contents><Key>list/k0</Key><LastModified>2026</LastModified>"
	    "<ETag>&quot;abc&quot;</ETag><Size>12</Size></Contents>"
	    "<Contents><Key>a&amp;b &lt;c&gt;</Key><Size>0</Size>"
	    "<ETag>\"d-2\"</ETag><StorageClass>STANDARD</StorageClass>"
	    "</Contents></ListBucketResult>";
	memset(&s, 0, sizeof(s));
	rc = s3_xml_list(x, strlen(x), on_key, &s, &page, err, sizeof(err));
	ok(rc == 0 && s.n == 2 && page.keys == 2, "list: two keys");
	ok(strcmp(s.keys[0], "list/k0") == 0 && s.sizes[0] == 12 &&
	    strcmp(s.etags[0], "abc") == 0, "first key, size, ETag unquoted");
	ok(strcmp(s.keys[1], "a&b <c>") == 0 && s.sizes[1] == 0 &&
	    strcmp(s.etags[1], "d-2") == 0, "entities decoded in a key");
	ok(page.truncated && strcmp(page.next, "list/k1") == 0,
	    "truncated, with the token");

	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	ok(s3_xml_list(x, strlen(x), on_key, &s, &page, err,
	    sizeof(err)) == 1 && s.n == 1 && page.keys == 1,
	    "the callback stops it: 1");

	x = "<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "</ListBucketResult>";
	memset(&s, 0, sizeof(s));
	ok(s3_xml_list(x, strlen(x), on_key, &s, &page, err,
	    sizeof(err)) == 0 && s.n == 0 && !page.truncated &&
	    page.next[0] == '\0', "an empty last page");

	x = "<ListBucketResult><IsTruncated>true</IsTruncated>"
	    "<Contents><Key>a</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	ok(s3_xml_list(x, strlen(x), NULL, NULL, &page, err,
	    sizeof(err)) == -1 && strstr(err, "NextContinuationToken") != NULL,
	    "truncated without a token: -1");
	x = "<ListBucketResult><Contents><Key>a</Key><Size>1x</Size>"
	    "</Contents></ListBucketResult>";
	ok(s3_xml_list(x, strlen(x), NULL, NULL, &page, err,
	    sizeof(err)) == -1 && strstr(err, "Size") != NULL,
	    "a size that is not a number: -1");
	x = "<ListBucketResult><Contents><Key>a</Key>"
	    "<Size>18446744073709551616</Size></Contents></ListBucketResult>";
	ok(s3_xml_list(x, strlen(x), NULL, NULL, &page, err,
	    sizeof(err)) == -1, "a size above 2^64-1: -1");
	x = "<ListBucketResult><Contents><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	ok(s3_xml_list(x, strlen(x), NULL, NULL, &page, err,
	    sizeof(err)) == -1 && strstr(err, "Key") != NULL,
	    "<Contents> without <Key>: -1");
	x = "<ListBucketResult><Contents><Key>a</Key><Size>1</Size>"
	    "</ListBucketResult>";
	ok(s3_xml_list(x, strlen(x), NULL, NULL, &page, err,
	    sizeof(err)) == -1, "<Contents> not closed: -1");
	x = "<Error><Code>AccessDenied</Code></Error>";
	ok(s3_xml_list(x, strlen(x), NULL, NULL, &page, err,
	    sizeof(err)) == -1 && strstr(err, "ListBucketResult") != NULL,
	    "an error body is no page: -1");

	/* A key of S3_KEY_MAX bytes is read, one more is refused. */
	b = malloc(2 * S3_KEY_MAX + 256);
	memset(k, 'k', S3_KEY_MAX);
	k[S3_KEY_MAX] = '\0';
	snprintf(b, 2 * S3_KEY_MAX + 256, "<ListBucketResult><Contents><Key>"
	    "%s</Key><Size>5</Size></Contents></ListBucketResult>", k);
	memset(&s, 0, sizeof(s));
	ok(s3_xml_list(b, strlen(b), on_key, &s, &page, err,
	    sizeof(err)) == 0 && s.n == 1, "a key of S3_KEY_MAX bytes");
	k[S3_KEY_MAX] = 'k';
	k[S3_KEY_MAX + 1] = '\0';
	snprintf(b, 2 * S3_KEY_MAX + 256, "<ListBucketResult><Contents><Key>"
	    "%s</Key><Size>5</Size></Contents></ListBucketResult>", k);
	ok(s3_xml_list(b, strlen(b), on_key, &s, &page, err,
	    sizeof(err)) == -1, "a key of S3_KEY_MAX + 1 bytes: -1");
	free(b);
}

static void
test_delete(void)
{
	size_t del, fail;
	char err[256];
	const char *x;

	x = "<?xml version=\"1.0\"?><DeleteResult>"
	    "<Deleted><Key>a</Key></Deleted><Deleted><Key>b</Key></Deleted>"
	    "<Error><Key>c&amp;d</Key><Code>AccessDenied</Code>"
	    "<Message>no</Message></Error>"
	    "<Error><Key>e</Key><Code>InternalError</Code></Error>"
	    "</DeleteResult>";
	delerr_keys[0] = '\0';
	ok(s3_xml_delete_result(x, strlen(x), on_delerr, NULL, &del, &fail,
	    err, sizeof(err)) == 0 && del == 2 && fail == 2,
	    "delete result: 2 deleted, 2 errors");
	ok(strcmp(delerr_keys, "c&d=AccessDenied(no);e=InternalError();") ==
	    0, "each error's key, code and message");
	x = "<DeleteResult></DeleteResult>";
	ok(s3_xml_delete_result(x, strlen(x), NULL, NULL, &del, &fail, err,
	    sizeof(err)) == 0 && del == 0 && fail == 0,
	    "a quiet result: nothing listed");
	x = "<Error><Code>MalformedXML</Code></Error>";
	ok(s3_xml_delete_result(x, strlen(x), NULL, NULL, &del, &fail, err,
	    sizeof(err)) == -1, "an error body is no result: -1");
	x = "<DeleteResult><Error><Code>X</Code></Error></DeleteResult>";
	ok(s3_xml_delete_result(x, strlen(x), NULL, NULL, &del, &fail, err,
	    sizeof(err)) == -1, "an <Error> without <Key>: -1");
	x = "<DeleteResult><Deleted><Key>a</Key></DeleteResult>";
	ok(s3_xml_delete_result(x, strlen(x), NULL, NULL, &del, &fail, err,
	    sizeof(err)) == -1, "<Deleted> not closed: -1");
}

static void
test_text(void)
{
	char out[8];
	const char *x = "<R><UploadId>2~abc</UploadId></R>";

	ok(s3_xml_text(x, strlen(x), "UploadId", out, sizeof(out)) == 0 &&
	    strcmp(out, "2~abc") == 0, "UploadId");
	ok(s3_xml_text(x, strlen(x), "Upload", out, sizeof(out)) == 1,
	    "a name that is a prefix of another: not found");
	x = "<R><UploadId>2~abcdefgh</UploadId></R>";
	ok(s3_xml_text(x, strlen(x), "UploadId", out, sizeof(out)) == -1 &&
	    strlen(out) < sizeof(out), "too long for the buffer: -1, cut");
	x = "<R><UploadId>2~abc";
	ok(s3_xml_text(x, strlen(x), "UploadId", out, sizeof(out)) == -1,
	    "not closed: -1");
	x = "<R><UploadId";
	ok(s3_xml_text(x, strlen(x), "UploadId", out, sizeof(out)) == 1,
	    "a tag cut at the end: not found, not read past it");
	x = "<R><UploadId>";
	ok(s3_xml_text(x, strlen(x), "UploadId", out, sizeof(out)) == -1,
	    "an open tag at the end, no close: -1");
}

static void
test_creds(void)
{
	char id[64], secret[64], err[256], path[] = "/tmp/unit-s3.XXXXXX";
	const char *t;
	int fd;

	t = "# test\n\naccess_key_id = AK01\n  secret_access_key=s3cr3t/x+y \n";
	ok(s3_creds_parse("f", t, strlen(t), id, sizeof(id), secret,
	    sizeof(secret), err, sizeof(err)) == 0 && strcmp(id, "AK01") == 0 &&
	    strcmp(secret, "s3cr3t/x+y") == 0, "credentials: both read");
	t = "access_key_id = AK01\n";
	ok(s3_creds_parse("f", t, strlen(t), id, sizeof(id), secret,
	    sizeof(secret), err, sizeof(err)) == -1 &&
	    strstr(err, "secret_access_key") != NULL, "no secret: -1");
	t = "access_key_id = AK01\nsecret_access_key = TOPSECRET\nregion x\n";
	ok(s3_creds_parse("f", t, strlen(t), id, sizeof(id), secret,
	    sizeof(secret), err, sizeof(err)) == -1 &&
	    strstr(err, "f:3") != NULL && strstr(err, "TOPSECRET") == NULL,
	    "a bad line named by number, the secret never in the message");
	t = "access_key_id = A:B\nsecret_access_key = s\n";
	ok(s3_creds_parse("f", t, strlen(t), id, sizeof(id), secret,
	    sizeof(secret), err, sizeof(err)) == -1, "':' in the id: -1");
	t = "secret_access_key = 0123456789abcdef0123456789abcdef0123456789"
	    "abcdef0123456789abcdef\naccess_key_id = a\n";
	ok(s3_creds_parse("f", t, strlen(t), id, sizeof(id), secret,
	    sizeof(secret), err, sizeof(err)) == -1 &&
	    strstr(err, "0123") == NULL, "a secret too long for the buffer");

	if ((fd = mkstemp(path)) == -1)
		return;
	t = "access_key_id = AK\nsecret_access_key = SEKRIT\n";
	ok(write(fd, t, strlen(t)) == (ssize_t)strlen(t), "wrote a file");
	close(fd);
	chmod(path, 0600);
	ok(s3_creds_load(path, id, sizeof(id), secret, sizeof(secret), err,
	    sizeof(err)) == 0 && strcmp(secret, "SEKRIT") == 0,
	    "mode 0600: loaded");
	chmod(path, 0640);
	ok(s3_creds_load(path, id, sizeof(id), secret, sizeof(secret), err,
	    sizeof(err)) == -1 && strstr(err, "0640") != NULL &&
	    strstr(err, "SEKRIT") == NULL, "mode 0640: refused, mode named");
	chmod(path, 0604);
	ok(s3_creds_load(path, id, sizeof(id), secret, sizeof(secret), err,
	    sizeof(err)) == -1, "mode 0604: refused");
	unlink(path);
	ok(s3_creds_load(path, id, sizeof(id), secret, sizeof(secret), err,
	    sizeof(err)) == -1 && strstr(err, path) != NULL,
	    "a missing file: -1, named");
}

static void
test_open(void)
{
	struct s3_config c;
	struct s3 *s;
	char err[256];

	memset(&c, 0, sizeof(c));
	c.endpoint = "ftp://x";
	c.region = "default";
	c.bucket = "bucket";
	c.cred_file = "/nonexistent";
	ok(s3_open(&c, &s, err, sizeof(err)) == -1 && s == NULL &&
	    strstr(err, "ftp://x") != NULL, "an endpoint not http(s): -1");
	c.endpoint = "http://h:1/path";
	ok(s3_open(&c, &s, err, sizeof(err)) == -1, "an endpoint with a path");
	c.endpoint = "http://h:1";
	c.bucket = "ab";
	ok(s3_open(&c, &s, err, sizeof(err)) == -1 && strstr(err, "\"ab\""),
	    "a bucket of 2 characters: -1");
	c.bucket = "Bucket";
	ok(s3_open(&c, &s, err, sizeof(err)) == -1, "upper case bucket: -1");
	c.bucket = "bucket";
	c.part_size = 1 << 20;
	ok(s3_open(&c, &s, err, sizeof(err)) == -1 &&
	    strstr(err, "part size") != NULL, "a part below 5 MiB: -1");
	c.part_size = 0;
	ok(s3_open(&c, &s, err, sizeof(err)) == -1 &&
	    strstr(err, "/nonexistent") != NULL, "no credentials file: -1");
}

int
main(void)
{
	test_encode();
	test_error();
	test_list();
	test_delete();
	test_text();
	test_creds();
	test_open();
	return tap_done();
}
