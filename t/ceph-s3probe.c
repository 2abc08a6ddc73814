/*
 * t/ceph-s3probe.c: proves the S3 calls an object-store backend needs
 * work against radosgw with libcurl's own Signature V4 signing
 * (CURLOPT_AWS_SIGV4, libcurl 7.88 in Debian 12).  Not built by
 * Makefile.am; by hand:
 *
 *	cc -std=c17 -Wall -O2 -o ceph-s3probe t/ceph-s3probe.c \
 *	    -lcurl -lcrypto
 *	. DIR/s3.env && ./ceph-s3probe "$S3_ENDPOINT" "$S3_REGION" \
 *	    "$S3_ACCESS_KEY" "$S3_SECRET_KEY" bucketname
 *
 * Each step prints its HTTP status, what it expected, and ok or FAIL;
 * exit 0 when every step got what it expected.  Two things libcurl
 * 7.88 leaves to the caller are done here: the x-amz-content-sha256
 * header (SHA-256 of the body, hex), and the query string in canonical
 * form (keys sorted, values percent-encoded, bare keys as "key="),
 * since curl signs the query exactly as given.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

static const char *endpoint, *region, *access_key, *secret_key, *bucket;
static int failures;

struct buf {
	char	*p;
	size_t	 len;
};

struct resp {
	long		status;
	struct buf	body;
	char		etag[128];
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = sz * n;
	char *np;

	if ((np = realloc(b->p, b->len + len + 1)) == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = sz * n, i, j;

	if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
		for (i = 5; i < len && isspace((unsigned char)p[i]); i++)
			;
		for (j = 0; i < len && p[i] != '\r' && p[i] != '\n' &&
		    j < sizeof(r->etag) - 1; i++)
			r->etag[j++] = p[i];
		r->etag[j] = '\0';
	}
	return len;
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Percent-encodes s as SigV4 wants (all but A-Za-z0-9-._~). */
static void
pct(const char *s, char *out, size_t outlen)
{
	size_t j = 0;

	for (; *s != '\0' && j + 4 < outlen; s++) {
		unsigned char ch = *s;
		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
		    ch == '~')
			out[j++] = ch;
		else
			j += snprintf(out + j, outlen - j, "%%%02X", ch);
	}
	out[j] = '\0';
}

/*
 * One request: method on /bucket[/key][?query] (query already
 * canonical), with body (may be NULL), extra headers (NULL-ended), and
 * sha: whether to add x-amz-content-sha256.  Fills *r.
 */
static void
request(struct resp *r, const char *method, const char *key,
    const char *query, const char *body, size_t bodylen,
    const char **hdrs, int sha)
{
	CURL *c;
	struct curl_slist *h = NULL;
	unsigned char d[SHA256_DIGEST_LENGTH];
	char url[4096], line[256], sigv4[128], up[256], dh[65];
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s/%s%s%s%s%s", endpoint, bucket,
	    key ? "/" : "", key ? key : "", query ? "?" : "",
	    query ? query : "");
	if ((c = curl_easy_init()) == NULL)
		abort();
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", region);
	snprintf(up, sizeof(up), "%s:%s", access_key, secret_key);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
	curl_easy_setopt(c, CURLOPT_USERPWD, up);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		/*
		 * POSTFIELDS, not a read callback: curl 7.88 hashes the
		 * body it signs from postfields only.
		 */
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)bodylen);
		h = curl_slist_append(h, "Content-Type: application/octet-stream");
	}
	/*
	 * No "Expect:" (a header removal) here: curl 7.88 signs it as an
	 * empty header it then does not send, and radosgw answers 403
	 * SignatureDoesNotMatch.
	 */
	if (sha) {
		SHA256((const unsigned char *)(body ? body : ""), bodylen, d);
		hex(d, sizeof(d), dh);
		snprintf(line, sizeof(line), "x-amz-content-sha256: %s", dh);
		h = curl_slist_append(h, line);
	}
	for (; hdrs != NULL && *hdrs != NULL; hdrs++)
		h = curl_slist_append(h, *hdrs);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		fprintf(stderr, "%s %s: %s\n", method, url,
		    curl_easy_strerror(rc));
		r->status = -1;
	} else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void
check(const char *step, struct resp *r, long want, int extra_ok,
    const char *fmt, ...)
{
	va_list ap;
	int ok = r->status == want && extra_ok;

	printf("%-44s %4ld (want %ld) %s", step, r->status, want,
	    ok ? "ok" : "FAIL");
	if (fmt != NULL) {
		printf("  ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	if (!ok) {
		failures++;
		if (r->body.p != NULL)
			printf("    body: %.400s\n", r->body.p);
	}
}

/* Copies the text of the first <tag>...</tag> after from into out. */
static int
xml_get(const char *xml, const char *tag, char *out, size_t outlen,
    const char **after)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (xml == NULL || (a = strstr(xml, open)) == NULL)
		return -1;
	a += strlen(open);
	if ((b = strstr(a, close)) == NULL || (size_t)(b - a) >= outlen)
		return -1;
	memcpy(out, a, b - a);
	out[b - a] = '\0';
	if (after != NULL)
		*after = b;
	return 0;
}

static int
count(const char *s, const char *needle)
{
	int n = 0;

	while (s != NULL && (s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct resp r;
	char q[4096], tok[1024], etok[3072], upid[512], eupid[1536];
	char etag1[128], etag2[128], md5b64[64], line[256];
	char *part, *xml, *big;
	unsigned char md[MD5_DIGEST_LENGTH];
	const char *h1[2];
	const size_t partlen = 5 * 1024 * 1024;
	int pages, keys, i;

	if (argc != 6) {
		fprintf(stderr, "usage: ceph-s3probe endpoint region "
		    "access-key secret-key bucket\n");
		return 2;
	}
	endpoint = argv[1], region = argv[2], access_key = argv[3];
	secret_key = argv[4], bucket = argv[5];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);

	/* The gap: without x-amz-content-sha256 radosgw refuses. */
	request(&r, "PUT", NULL, NULL, NULL, 0, NULL, 0);
	printf("%-44s %4ld (radosgw refuses without the header)\n",
	    "create bucket, no x-amz-content-sha256", r.status);
	free(r.body.p);

	request(&r, "PUT", NULL, NULL, NULL, 0, NULL, 1);
	check("create bucket", &r, 200, 1, NULL);
	free(r.body.p);

	request(&r, "PUT", "obj-a", NULL, "0123456789abcdefghijklmnopqrstuvwxyz",
	    36, NULL, 1);
	check("PUT obj-a (36 bytes)", &r, 200, 1, "etag %s", r.etag);
	free(r.body.p);

	request(&r, "GET", "obj-a", NULL, NULL, 0, NULL, 1);
	check("GET obj-a", &r, 200, r.body.len == 36 &&
	    memcmp(r.body.p, "0123456789abcdefghijklmnopqrstuvwxyz", 36) == 0,
	    "%zu bytes", r.body.len);
	free(r.body.p);

	h1[0] = "Range: bytes=10-19", h1[1] = NULL;
	request(&r, "GET", "obj-a", NULL, NULL, 0, h1, 1);
	check("ranged GET obj-a bytes=10-19", &r, 206, r.body.len == 10 &&
	    memcmp(r.body.p, "abcdefghij", 10) == 0, "\"%.*s\"",
	    (int)r.body.len, r.body.p ? r.body.p : "");
	free(r.body.p);

	request(&r, "HEAD", "obj-a", NULL, NULL, 0, NULL, 1);
	check("HEAD obj-a", &r, 200, 1, NULL);
	free(r.body.p);

	request(&r, "GET", "no-such", NULL, NULL, 0, NULL, 1);
	check("GET missing key", &r, 404, 1, NULL);
	free(r.body.p);

	/* Five objects under a prefix with odd characters, listed 2 a page. */
	for (i = 0; i < 5; i++) {
		char k[64];
		snprintf(k, sizeof(k), "list/k%d", i);
		request(&r, "PUT", k, NULL, "x", 1, NULL, 1);
		if (r.status != 200)
			check("PUT list/kN", &r, 200, 1, NULL);
		free(r.body.p);
	}
	tok[0] = '\0';
	pages = keys = 0;
	for (;;) {
		if (tok[0] == '\0')
			snprintf(q, sizeof(q),
			    "list-type=2&max-keys=2&prefix=list%%2F");
		else {
			pct(tok, etok, sizeof(etok));
			snprintf(q, sizeof(q), "continuation-token=%s&"
			    "list-type=2&max-keys=2&prefix=list%%2F", etok);
		}
		request(&r, "GET", NULL, q, NULL, 0, NULL, 1);
		pages++;
		keys += count(r.body.p, "<Key>");
		if (r.status != 200) {
			check("list page", &r, 200, 1, NULL);
			break;
		}
		if (strstr(r.body.p, "<IsTruncated>true</IsTruncated>") ==
		    NULL || xml_get(r.body.p, "NextContinuationToken", tok,
		    sizeof(tok), NULL) == -1) {
			free(r.body.p);
			break;
		}
		printf("    page %d: next token %s\n", pages, tok);
		free(r.body.p);
		if (pages > 10)
			break;
	}
	r.status = 200;
	r.body.p = NULL;
	check("list, max-keys=2 with continuation", &r, 200,
	    pages == 3 && keys == 5, "%d pages, %d keys", pages, keys);

	/* Multipart: initiate, two parts of 5 MiB, complete, read back. */
	request(&r, "POST", "mp", "uploads=", NULL, 0, NULL, 1);
	check("multipart initiate (?uploads=)", &r, 200,
	    xml_get(r.body.p, "UploadId", upid, sizeof(upid), NULL) == 0,
	    "UploadId %s", upid);
	free(r.body.p);
	pct(upid, eupid, sizeof(eupid));
	if ((part = malloc(partlen)) == NULL)
		abort();
	memset(part, 'A', partlen);
	snprintf(q, sizeof(q), "partNumber=1&uploadId=%s", eupid);
	request(&r, "PUT", "mp", q, part, partlen, NULL, 1);
	check("multipart part 1 (5 MiB)", &r, 200, r.etag[0] != '\0',
	    "etag %s", r.etag);
	snprintf(etag1, sizeof(etag1), "%s", r.etag);
	free(r.body.p);
	memset(part, 'B', partlen);
	snprintf(q, sizeof(q), "partNumber=2&uploadId=%s", eupid);
	request(&r, "PUT", "mp", q, part, partlen, NULL, 1);
	check("multipart part 2 (5 MiB)", &r, 200, r.etag[0] != '\0',
	    "etag %s", r.etag);
	snprintf(etag2, sizeof(etag2), "%s", r.etag);
	free(r.body.p);
	if (asprintf(&xml, "<CompleteMultipartUpload>"
	    "<Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
	    "<Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part>"
	    "</CompleteMultipartUpload>", etag1, etag2) == -1)
		abort();
	snprintf(q, sizeof(q), "uploadId=%s", eupid);
	request(&r, "POST", "mp", q, xml, strlen(xml), NULL, 1);
	check("multipart complete", &r, 200,
	    r.body.p != NULL && strstr(r.body.p, "<ETag>") != NULL &&
	    strstr(r.body.p, "<Error>") == NULL, "%.80s",
	    r.body.p ? r.body.p + (r.body.len > 80 ? r.body.len - 80 : 0) :
	    "");
	free(r.body.p);
	free(xml);
	/*
	 * radosgw 16.2 answers complete with an empty <ETag></ETag>; the
	 * object's ETag ("md5-of-part-md5s-2") comes with HEAD.
	 */
	request(&r, "HEAD", "mp", NULL, NULL, 0, NULL, 1);
	check("HEAD multipart object", &r, 200, strstr(r.etag, "-2") != NULL,
	    "etag %s", r.etag);
	free(r.body.p);
	h1[0] = "Range: bytes=5242878-5242881", h1[1] = NULL;
	request(&r, "GET", "mp", NULL, NULL, 0, h1, 1);
	check("ranged GET across the part boundary", &r, 206,
	    r.body.len == 4 && memcmp(r.body.p, "AABB", 4) == 0, "\"%.*s\"",
	    (int)r.body.len, r.body.p ? r.body.p : "");
	free(r.body.p);
	request(&r, "GET", "mp", NULL, NULL, 0, NULL, 1);
	big = r.body.p;
	check("GET whole multipart object", &r, 200,
	    r.body.len == 2 * partlen && big[0] == 'A' &&
	    big[2 * partlen - 1] == 'B', "%zu bytes", r.body.len);
	free(big);
	free(part);

	/* Conditional PUT: If-None-Match: * on a new key, then again. */
	h1[0] = "If-None-Match: *", h1[1] = NULL;
	request(&r, "PUT", "lease", NULL, "holder-1", 8, h1, 1);
	check("PUT If-None-Match: * on a new key", &r, 200, 1, NULL);
	free(r.body.p);
	request(&r, "PUT", "lease", NULL, "holder-2", 8, h1, 1);
	check("PUT If-None-Match: * on an existing key", &r, 412, 1, NULL);
	free(r.body.p);
	request(&r, "GET", "lease", NULL, NULL, 0, NULL, 1);
	check("lease still holds holder-1", &r, 200, r.body.len == 8 &&
	    memcmp(r.body.p, "holder-1", 8) == 0, NULL);
	free(r.body.p);

	/* Multi-delete of every key, with Content-MD5. */
	if (asprintf(&xml, "<Delete><Quiet>false</Quiet>"
	    "<Object><Key>obj-a</Key></Object>"
	    "<Object><Key>list/k0</Key></Object>"
	    "<Object><Key>list/k1</Key></Object>"
	    "<Object><Key>list/k2</Key></Object>"
	    "<Object><Key>list/k3</Key></Object>"
	    "<Object><Key>list/k4</Key></Object>"
	    "<Object><Key>mp</Key></Object>"
	    "<Object><Key>lease</Key></Object>"
	    "</Delete>") == -1)
		abort();
	MD5((unsigned char *)xml, strlen(xml), md);
	EVP_EncodeBlock((unsigned char *)md5b64, md, sizeof(md));
	snprintf(line, sizeof(line), "Content-MD5: %s", md5b64);
	h1[0] = line, h1[1] = NULL;
	request(&r, "POST", NULL, "delete=", xml, strlen(xml), h1, 1);
	check("multi-delete (?delete=, Content-MD5)", &r, 200,
	    count(r.body.p, "<Deleted>") == 8 && strstr(r.body.p,
	    "<Error>") == NULL, "%d deleted", count(r.body.p, "<Deleted>"));
	free(r.body.p);
	free(xml);
	request(&r, "GET", NULL, "list-type=2", NULL, 0, NULL, 1);
	check("bucket empty after multi-delete", &r, 200,
	    count(r.body.p, "<Key>") == 0, NULL);
	free(r.body.p);

	/* Gap check: a query not in canonical form (unsorted) is refused. */
	request(&r, "GET", NULL, "max-keys=2&list-type=2", NULL, 0, NULL, 1);
	printf("%-44s %4ld (query not canonical: unsorted keys)\n",
	    "list, ?max-keys=2&list-type=2", r.status);
	free(r.body.p);
	request(&r, "POST", "mp2", "uploads", NULL, 0, NULL, 1);
	printf("%-44s %4ld (query not canonical: bare key)\n",
	    "multipart initiate, ?uploads", r.status);
	free(r.body.p);

	request(&r, "DELETE", NULL, NULL, NULL, 0, NULL, 1);
	check("delete bucket", &r, 204, 1, NULL);
	free(r.body.p);

	curl_global_cleanup();
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
