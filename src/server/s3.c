/*
 * s3.c - the S3 client of s3.h: requests through one curl easy handle
 * signed by libcurl (CURLOPT_AWS_SIGV4), the headers and query forms
 * libcurl 7.88 leaves to us, retries, and a small bounded scanner for
 * the few XML elements S3's answers carry that we need.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "common/crypto.h"

#include "s3.h"

#define S3_ID_MAX	128	/* access key id, bytes */
#define S3_SECRET_MAX	128	/* secret access key, bytes */
#define S3_URL_MAX	(4 * S3_KEY_MAX + 1024)
#define S3_QUERY_MAX	(4 * S3_KEY_MAX + 512)
#define S3_PARAMS_MAX	16
#define S3_NOEXPECT_ABOVE (1u << 20)	/* curl 7.88 adds Expect above */

struct s3 {
	CURL		*curl;
	char		*scheme;	/* "http" or "https" */
	char		*hostport;	/* host[:port] */
	char		*region;
	char		*bucket;
	char		*ca_file;
	int		 path_style;
	long		 connect_timeout_ms;
	long		 stall_timeout_s;
	long		 total_timeout_ms;	/* s3_set_total_timeout() */
	int		 retries;
	long		 retry_base_ms;
	uint64_t	 part_size;
	uint64_t	 nretries;
	uint64_t	 rnd;		/* the back-off's jitter */
	char		 userpwd[S3_ID_MAX + S3_SECRET_MAX + 2];
	char		 sigv4[96];
};

/* Where an answer's body goes. */
enum sink_kind { SINK_MEM, SINK_FD };

#define S3_ERRBODY_MAX	65536	/* an error's body kept for its message */

struct sink {
	enum sink_kind	 kind;
	CURL		*curl;		/* to ask the status of the answer */
	char		*mem;		/* SINK_MEM: grows up to max */
	size_t		 max;		/* SINK_MEM: the cap */
	int		 fd;		/* SINK_FD: written from fdoff */
	off_t		 fdoff;
	size_t		 len;		/* bytes taken */
	char		*errmem;	/* SINK_FD: a non-2xx answer's body */
	size_t		 errlen;
	int		 over;		/* more than max came */
	int		 ioerr;		/* errno of a failed pwrite */
};

struct req {
	const char	*method;
	const char	*op;		/* for messages: "PUT", "complete" */
	const char	*key;		/* NULL: the bucket */
	const char	*query;		/* canonical, or NULL */
	const void	*body;
	size_t		 bodylen;
	const char	*ctype;		/* Content-Type of the body */
	const char	*hdrs[4];	/* more headers, NULL-ended */
	struct sink	 sink;
	/* Answer. */
	long		 status;
	char		 etag[S3_ETAG_MAX + 1];
	uint64_t	 clen;
	int		 have_clen;
	time_t		 mtime;
};

static int	curl_ready;

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- pure */

int
s3_pct_encode(const char *in, size_t len, int keep_slash, char *out,
    size_t outlen)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t i, j = 0;

	if (outlen == 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (keep_slash && c == '/')) {
			if (outlen - j < 2)
				goto full;
			out[j++] = (char)c;
		} else {
			if (outlen - j < 4)
				goto full;
			out[j++] = '%';
			out[j++] = hexd[c >> 4];
			out[j++] = hexd[c & 15];
		}
	}
	out[j] = '\0';
	return 0;
full:
	out[0] = '\0';
	return -1;
}

struct encparam {
	char	*name;
	char	*value;
};

static int
encparam_cmp(const void *a, const void *b)
{
	const struct encparam *x = a, *y = b;
	int c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->value, y->value);
}

int
s3_canon_query(const struct s3_param *params, size_t n, char *out,
    size_t outlen)
{
	struct encparam e[S3_PARAMS_MAX];
	size_t i, j = 0, nl, vl;
	int rc = -1;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (n > S3_PARAMS_MAX)
		return -1;
	memset(e, 0, sizeof(e));
	for (i = 0; i < n; i++) {
		const char *v = params[i].value ? params[i].value : "";

		nl = strlen(params[i].name);
		vl = strlen(v);
		if (nl > outlen || vl > outlen)
			goto out;
		if ((e[i].name = malloc(3 * nl + 1)) == NULL ||
		    (e[i].value = malloc(3 * vl + 1)) == NULL)
			goto out;
		s3_pct_encode(params[i].name, nl, 0, e[i].name, 3 * nl + 1);
		s3_pct_encode(v, vl, 0, e[i].value, 3 * vl + 1);
	}
	qsort(e, n, sizeof(e[0]), encparam_cmp);
	for (i = 0; i < n; i++) {
		nl = strlen(e[i].name);
		vl = strlen(e[i].value);
		/* '&' (not first), name, '=', value, and the NUL. */
		if (outlen - j < (i > 0) + nl + 1 + vl + 1)
			goto out;
		if (i > 0)
			out[j++] = '&';
		memcpy(out + j, e[i].name, nl);
		j += nl;
		out[j++] = '=';
		memcpy(out + j, e[i].value, vl);
		j += vl;
		out[j] = '\0';
	}
	rc = 0;
out:
	if (rc == -1)
		out[0] = '\0';
	for (i = 0; i < n && i < S3_PARAMS_MAX; i++) {
		free(e[i].name);
		free(e[i].value);
	}
	return rc;
}

/*
 * Finds the next element <name> (or <name attr...>) in [p, end): *in
 * and *inlen get its content, *after the first byte after its close
 * tag.  A self-closed <name/> has empty content.  0, 1 when there is
 * none, -1 when it is not closed.
 */
static int
xml_find(const char *p, const char *end, const char *name, const char **in,
    size_t *inlen, const char **after)
{
	size_t nl = strlen(name);
	const char *q, *gt, *c;

	while (p < end) {
		if ((q = memchr(p, '<', (size_t)(end - p))) == NULL)
			return 1;
		p = q + 1;
		if ((size_t)(end - p) < nl + 1 || memcmp(p, name, nl) != 0)
			continue;
		if (p[nl] != '>' && p[nl] != '/' && p[nl] != ' ' &&
		    p[nl] != '\t' && p[nl] != '\r' && p[nl] != '\n')
			continue;
		if ((gt = memchr(p + nl, '>', (size_t)(end - p - nl))) == NULL)
			return -1;
		if (gt[-1] == '/') {
			*in = gt;
			*inlen = 0;
			*after = gt + 1;
			return 0;
		}
		/* The close tag: "</" name ">". */
		for (c = gt + 1; c < end; c++) {
			if ((c = memchr(c, '<', (size_t)(end - c))) == NULL)
				break;
			if ((size_t)(end - c) >= nl + 3 && c[1] == '/' &&
			    memcmp(c + 2, name, nl) == 0 && c[2 + nl] == '>') {
				*in = gt + 1;
				*inlen = (size_t)(c - gt - 1);
				*after = c + nl + 3;
				return 0;
			}
		}
		return -1;
	}
	return 1;
}

/*
 * Copies len bytes of XML text to out with the five entities and &#N;
 * / &#xN; (ASCII only) decoded.  0, or -1 when it does not fit outlen
 * or an entity is unknown (out then holds what fit, cut).
 */
static int
xml_decode(const char *p, size_t len, char *out, size_t outlen)
{
	static const struct { const char *e; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	size_t i = 0, j = 0, k;
	int rc = 0;

	if (outlen == 0)
		return -1;
	while (i < len) {
		char c = p[i];

		if (c == '&') {
			for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
				size_t el = strlen(ents[k].e);
				if (len - i >= el &&
				    memcmp(p + i, ents[k].e, el) == 0) {
					c = ents[k].c;
					i += el;
					break;
				}
			}
			if (k == sizeof(ents) / sizeof(ents[0])) {
				unsigned long v = 0;
				size_t d = i + 2;
				int hexv = 0, nd = 0;

				if (len - i < 4 || p[i + 1] != '#') {
					rc = -1;
					break;
				}
				if (p[d] == 'x') {
					hexv = 1;
					d++;
				}
				for (; d < len && nd < 6 && p[d] != ';'; d++,
				    nd++) {
					int x;
					if (isdigit((unsigned char)p[d]))
						x = p[d] - '0';
					else if (hexv &&
					    isxdigit((unsigned char)p[d]))
						x = tolower((unsigned char)p[d])
						    - 'a' + 10;
					else
						break;
					v = v * (hexv ? 16 : 10) + (unsigned)x;
				}
				if (d >= len || p[d] != ';' || nd == 0 ||
				    v == 0 || v > 127) {
					rc = -1;
					break;
				}
				c = (char)v;
				i = d + 1;
			}
		} else
			i++;
		if (outlen - j < 2) {
			rc = -1;
			break;
		}
		out[j++] = c;
	}
	out[j] = '\0';
	return rc;
}

int
s3_xml_text(const char *xml, size_t len, const char *name, char *out,
    size_t outlen)
{
	const char *in, *after;
	size_t inlen;
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	if (len > S3_XML_MAX)
		return -1;
	if ((rc = xml_find(xml, xml + len, name, &in, &inlen, &after)) != 0)
		return rc;
	return xml_decode(in, inlen, out, outlen);
}

/* An ETag's text without its quotes, in place. */
static void
etag_unquote(char *e)
{
	size_t n = strlen(e);

	if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
		memmove(e, e + 1, n - 2);
		e[n - 2] = '\0';
	}
}

int
s3_xml_error(const char *xml, size_t len, char *code, char *message)
{
	const char *in, *after;
	size_t inlen;

	code[0] = message[0] = '\0';
	if (len > S3_XML_MAX ||
	    xml_find(xml, xml + len, "Error", &in, &inlen, &after) != 0)
		return -1;
	/* Cut to the buffers: a long message is still worth its start. */
	s3_xml_text(in, inlen, "Code", code, S3_CODE_MAX + 1);
	s3_xml_text(in, inlen, "Message", message, S3_MESSAGE_MAX + 1);
	if (code[0] == '\0') {
		message[0] = '\0';
		return -1;
	}
	return 0;
}

/* A decimal uint64 of exactly len bytes.  0, or -1. */
static int
parse_u64(const char *p, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;
		if (p[i] < '0' || p[i] > '9')
			return -1;
		d = (unsigned)(p[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int
s3_xml_list(const char *xml, size_t len, s3_list_fn fn, void *arg,
    struct s3_listpage *page, char *err, size_t errlen)
{
	const char *end = xml + len, *in, *after, *p, *v, *va;
	size_t inlen, vlen;
	char key[S3_KEY_MAX + 1], etag[S3_ETAG_MAX + 3], tf[8];
	uint64_t size;
	int rc;

	memset(page, 0, sizeof(*page));
	if (len > S3_XML_MAX) {
		seterr(err, errlen, "list page of %zu bytes (at most %u)",
		    len, S3_XML_MAX);
		return -1;
	}
	if (xml_find(xml, end, "ListBucketResult", &in, &inlen,
	    &after) != 0) {
		seterr(err, errlen, "no <ListBucketResult> in the page");
		return -1;
	}
	end = in + inlen;
	rc = s3_xml_text(in, inlen, "IsTruncated", tf, sizeof(tf));
	page->truncated = rc == 0 && strcmp(tf, "true") == 0;
	rc = s3_xml_text(in, inlen, "NextContinuationToken", page->next,
	    sizeof(page->next));
	if (rc == -1) {
		seterr(err, errlen, "<NextContinuationToken> too long or "
		    "not closed");
		return -1;
	}
	if (page->truncated && page->next[0] == '\0') {
		seterr(err, errlen, "a truncated page without "
		    "<NextContinuationToken>");
		return -1;
	}
	for (p = in; p < end; p = after) {
		rc = xml_find(p, end, "Contents", &v, &vlen, &after);
		if (rc == 1)
			break;
		if (rc == -1) {
			seterr(err, errlen, "<Contents> not closed");
			return -1;
		}
		if (s3_xml_text(v, vlen, "Key", key, sizeof(key)) != 0 ||
		    key[0] == '\0') {
			seterr(err, errlen, "<Contents> %zu: no <Key>, or one "
			    "too long (%d bytes at most)", page->keys + 1,
			    S3_KEY_MAX);
			return -1;
		}
		if (xml_find(v, v + vlen, "Size", &va, &inlen, &after) != 0 ||
		    parse_u64(va, inlen, &size) != 0) {
			seterr(err, errlen, "key %s: no <Size> or not a "
			    "number", key);
			return -1;
		}
		/* xml_find() moved after: back to this Contents' end. */
		after = v + vlen;
		rc = s3_xml_text(v, vlen, "ETag", etag, sizeof(etag));
		if (rc == -1) {
			seterr(err, errlen, "key %s: <ETag> too long", key);
			return -1;
		}
		etag_unquote(etag);
		page->keys++;
		if (fn != NULL && fn(key, size, etag, arg) != 0)
			return 1;
	}
	return 0;
}

int
s3_xml_delete_result(const char *xml, size_t len, s3_delerr_fn onerr,
    void *arg, size_t *deleted, size_t *failed, char *err, size_t errlen)
{
	const char *end, *in, *after, *p, *v;
	size_t inlen, vlen;
	char key[S3_KEY_MAX + 1], code[S3_CODE_MAX + 1];
	char msg[S3_MESSAGE_MAX + 1];
	int rc;

	*deleted = *failed = 0;
	if (len > S3_XML_MAX || xml_find(xml, xml + len, "DeleteResult", &in,
	    &inlen, &after) != 0) {
		seterr(err, errlen, "no <DeleteResult> in the answer");
		return -1;
	}
	end = in + inlen;
	for (p = in; p < end; p = after) {
		if ((rc = xml_find(p, end, "Deleted", &v, &vlen,
		    &after)) == 1)
			break;
		if (rc == -1) {
			seterr(err, errlen, "<Deleted> not closed");
			return -1;
		}
		(*deleted)++;
	}
	for (p = in; p < end; p = after) {
		if ((rc = xml_find(p, end, "Error", &v, &vlen, &after)) == 1)
			break;
		if (rc == -1 || s3_xml_text(v, vlen, "Key", key,
		    sizeof(key)) != 0) {
			seterr(err, errlen, "<Error> %zu of the result "
			    "malformed", *failed + 1);
			return -1;
		}
		s3_xml_text(v, vlen, "Code", code, sizeof(code));
		s3_xml_text(v, vlen, "Message", msg, sizeof(msg));
		(*failed)++;
		if (onerr != NULL)
			onerr(key, code, msg, arg);
	}
	return 0;
}

int
s3_creds_parse(const char *name, const char *text, size_t len, char *id,
    size_t idlen, char *secret, size_t secretlen, char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *nl, *eq, *ks, *ke, *vs, *ve;
	int line = 0, got_id = 0, got_secret = 0;
	size_t vl;

	while (p < end) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		ks = p;
		ke = nl;
		p = nl < end ? nl + 1 : end;
		while (ks < ke && isspace((unsigned char)*ks))
			ks++;
		while (ke > ks && isspace((unsigned char)ke[-1]))
			ke--;
		if (ks == ke || *ks == '#')
			continue;
		if ((eq = memchr(ks, '=', (size_t)(ke - ks))) == NULL) {
			seterr(err, errlen, "%s:%d: not \"name = value\"",
			    name, line);
			return -1;
		}
		vs = eq + 1;
		ve = ke;
		while (eq > ks && isspace((unsigned char)eq[-1]))
			eq--;
		while (vs < ve && isspace((unsigned char)*vs))
			vs++;
		vl = (size_t)(ve - vs);
		if ((size_t)(eq - ks) == 13 && memcmp(ks, "access_key_id",
		    13) == 0) {
			if (vl == 0 || vl >= idlen || vl > S3_ID_MAX ||
			    memchr(vs, ':', vl) != NULL) {
				seterr(err, errlen, "%s:%d: access_key_id "
				    "empty, longer than %d bytes or with ':'",
				    name, line, S3_ID_MAX);
				return -1;
			}
			memcpy(id, vs, vl);
			id[vl] = '\0';
			got_id = 1;
		} else if ((size_t)(eq - ks) == 17 &&
		    memcmp(ks, "secret_access_key", 17) == 0) {
			if (vl == 0 || vl >= secretlen || vl > S3_SECRET_MAX) {
				seterr(err, errlen, "%s:%d: secret_access_key "
				    "empty or longer than %d bytes", name, line,
				    S3_SECRET_MAX);
				return -1;
			}
			memcpy(secret, vs, vl);
			secret[vl] = '\0';
			got_secret = 1;
		} else {
			seterr(err, errlen, "%s:%d: unknown name (only "
			    "access_key_id and secret_access_key)", name, line);
			return -1;
		}
	}
	if (!got_id || !got_secret) {
		seterr(err, errlen, "%s: no %s", name, !got_id ?
		    "access_key_id" : "secret_access_key");
		return -1;
	}
	return 0;
}

int
s3_creds_load(const char *path, char *id, size_t idlen, char *secret,
    size_t secretlen, char *err, size_t errlen)
{
	char buf[S3_CRED_FILE_MAX + 1];
	struct stat st;
	ssize_t r;
	size_t len = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		seterr(err, errlen, "%s: mode %04o lets group or others at "
		    "the secret; chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > S3_CRED_FILE_MAX) {
		seterr(err, errlen, "%s: larger than %d bytes", path,
		    S3_CRED_FILE_MAX);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	rc = s3_creds_parse(path, buf, len, id, idlen, secret, secretlen, err,
	    errlen);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* ---------------------------------------------------------------- setup */

int
s3_open(const struct s3_config *cfg, struct s3 **out, char *err,
    size_t errlen)
{
	struct s3 *s;
	char id[S3_ID_MAX + 1], secret[S3_SECRET_MAX + 1];
	const char *hp, *b;
	size_t i, bl;

	*out = NULL;
	if (cfg->endpoint == NULL || cfg->region == NULL ||
	    cfg->bucket == NULL || cfg->cred_file == NULL) {
		seterr(err, errlen, "s3: endpoint, region, bucket and "
		    "credentials file are needed");
		return -1;
	}
	if (strncmp(cfg->endpoint, "http://", 7) == 0)
		hp = cfg->endpoint + 7;
	else if (strncmp(cfg->endpoint, "https://", 8) == 0)
		hp = cfg->endpoint + 8;
	else {
		seterr(err, errlen, "s3: endpoint %s: not http:// or "
		    "https://", cfg->endpoint);
		return -1;
	}
	if (*hp == '\0' || strpbrk(hp, "/?#@ ") != NULL || strlen(hp) > 255) {
		seterr(err, errlen, "s3: endpoint %s: want SCHEME://HOST[:PORT]"
		    " and nothing more", cfg->endpoint);
		return -1;
	}
	b = cfg->bucket;
	bl = strlen(b);
	for (i = 0; i < bl; i++)
		if (!islower((unsigned char)b[i]) &&
		    !isdigit((unsigned char)b[i]) && b[i] != '-' && b[i] != '.')
			break;
	if (bl < 3 || bl > 63 || i < bl || b[0] == '-' || b[0] == '.') {
		seterr(err, errlen, "s3: bucket \"%s\": 3 to 63 of a-z 0-9 . -,"
		    " starting with a letter or digit", b);
		return -1;
	}
	if (strlen(cfg->region) == 0 || strlen(cfg->region) > 64 ||
	    strpbrk(cfg->region, ": /") != NULL) {
		seterr(err, errlen, "s3: region \"%s\" is not a region name",
		    cfg->region);
		return -1;
	}
	if (cfg->part_size != 0 && cfg->part_size < S3_PART_MIN) {
		seterr(err, errlen, "s3: part size %" PRIu64 " below S3's "
		    "%u bytes", cfg->part_size, S3_PART_MIN);
		return -1;
	}
	if (cfg->part_size > SIZE_MAX / 2) {
		seterr(err, errlen, "s3: part size %" PRIu64 " too large",
		    cfg->part_size);
		return -1;
	}
	if (s3_creds_load(cfg->cred_file, id, sizeof(id), secret,
	    sizeof(secret), err, errlen) == -1)
		return -1;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			seterr(err, errlen, "s3: curl_global_init failed");
			explicit_bzero(secret, sizeof(secret));
			return -1;
		}
		curl_ready = 1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto nomem;
	snprintf(s->userpwd, sizeof(s->userpwd), "%s:%s", id, secret);
	explicit_bzero(secret, sizeof(secret));
	s->scheme = strndup(cfg->endpoint, (size_t)(hp - cfg->endpoint - 3));
	s->hostport = strdup(hp);
	s->region = strdup(cfg->region);
	s->bucket = strdup(cfg->bucket);
	if (cfg->ca_file != NULL)
		s->ca_file = strdup(cfg->ca_file);
	if (s->scheme == NULL || s->hostport == NULL || s->region == NULL ||
	    s->bucket == NULL || (cfg->ca_file != NULL && s->ca_file == NULL) ||
	    (s->curl = curl_easy_init()) == NULL) {
		s3_close(s);
		goto nomem;
	}
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", cfg->region);
	s->path_style = cfg->path_style;
	s->connect_timeout_ms = cfg->connect_timeout_ms > 0 ?
	    cfg->connect_timeout_ms : 10000;
	s->stall_timeout_s = cfg->stall_timeout_s > 0 ?
	    cfg->stall_timeout_s : 60;
	s->retries = cfg->retries >= 0 ? cfg->retries : 4;
	s->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 250;
	s->part_size = cfg->part_size ? cfg->part_size : S3_PART_DEFAULT;
	s->rnd = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^
	    (uint64_t)(uintptr_t)s;
	if (s->rnd == 0)
		s->rnd = 1;
	*out = s;
	return 0;
nomem:
	explicit_bzero(secret, sizeof(secret));
	seterr(err, errlen, "s3: out of memory");
	return -1;
}

void
s3_close(struct s3 *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	explicit_bzero(s->userpwd, sizeof(s->userpwd));
	free(s->scheme);
	free(s->hostport);
	free(s->region);
	free(s->bucket);
	free(s->ca_file);
	free(s);
}

uint64_t
s3_retries(const struct s3 *s)
{
	return s->nretries;
}

void
s3_set_total_timeout(struct s3 *s, long ms)
{
	s->total_timeout_ms = ms > 0 ? ms : 0;
}

int
s3_set_part_size(struct s3 *s, uint64_t part_size, char *err, size_t errlen)
{
	if (part_size < S3_PART_MIN || part_size > SIZE_MAX / 2) {
		seterr(err, errlen, "s3: part size %" PRIu64 " not between "
		    "%u and %zu", part_size, S3_PART_MIN, SIZE_MAX / 2);
		return -1;
	}
	s->part_size = part_size;
	return 0;
}

/* ---------------------------------------------------------------- requests */

/* Appends len bytes to the malloc'ed *m of *n bytes, up to max.  0 or -1. */
static int
mem_append(char **m, size_t *n, size_t max, const char *p, size_t len)
{
	size_t want, cap = 4096;
	char *np;

	if (len > max - *n)
		return -1;
	want = *n + len + 1;	/* and the NUL */
	while (cap < want)
		cap *= 2;
	if ((np = realloc(*m, cap)) == NULL)
		return -1;
	*m = np;
	memcpy(*m + *n, p, len);
	*n += len;
	(*m)[*n] = '\0';
	return 0;
}

static size_t
on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct sink *k = arg;
	size_t len = sz * nm, left;
	ssize_t w;
	long st = 0;

	if (k->kind == SINK_MEM) {
		if (mem_append(&k->mem, &k->len, k->max, p, len) == -1) {
			k->over = 1;
			return 0;	/* curl stops: CURLE_WRITE_ERROR */
		}
		return len;
	}
	/* SINK_FD: only a 2xx answer's body goes to the file. */
	curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &st);
	if (st < 200 || st > 299) {
		if (len > S3_ERRBODY_MAX - k->errlen)
			len = S3_ERRBODY_MAX - k->errlen;
		mem_append(&k->errmem, &k->errlen, S3_ERRBODY_MAX, p, len);
		return sz * nm;
	}
	for (left = len; left > 0; left -= (size_t)w, p += w) {
		w = pwrite(k->fd, p, left, k->fdoff + (off_t)k->len);
		if (w == -1 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0) {
			k->ioerr = w == -1 ? errno : EIO;
			return 0;
		}
		k->len += (size_t)w;
	}
	return len;
}

static size_t
on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct req *r = arg;
	size_t len = sz * nm, i, j;
	char v[256];

	/* A new status line (after a 100 Continue, a redirect): reset. */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		r->etag[0] = '\0';
		r->have_clen = 0;
		r->mtime = -1;
		return len;
	}
	for (i = 0; i < len && p[i] != ':'; i++)
		;
	if (i == len)
		return len;
	for (j = i + 1; j < len && (p[j] == ' ' || p[j] == '\t'); j++)
		;
	{
		size_t e = len;
		while (e > j && (p[e - 1] == '\r' || p[e - 1] == '\n' ||
		    p[e - 1] == ' '))
			e--;
		if (e - j >= sizeof(v))
			return len;	/* no header we read is that long */
		memcpy(v, p + j, e - j);
		v[e - j] = '\0';
	}
	if (i == 4 && strncasecmp(p, "etag", 4) == 0) {
		if (strlen(v) <= S3_ETAG_MAX + 2) {
			etag_unquote(v);
			if (strlen(v) <= S3_ETAG_MAX)
				memcpy(r->etag, v, strlen(v) + 1);
		}
	} else if (i == 14 && strncasecmp(p, "content-length", 14) == 0) {
		if (parse_u64(v, strlen(v), &r->clen) == 0)
			r->have_clen = 1;
	} else if (i == 13 && strncasecmp(p, "last-modified", 13) == 0)
		r->mtime = curl_getdate(v, NULL);
	return len;
}

/* The URL of key (NULL: the bucket) and the canonical query. */
static int
make_url(struct s3 *s, const char *key, const char *query, char *url,
    size_t urllen, char *err, size_t errlen)
{
	char ekey[3 * S3_KEY_MAX + 1];
	int n;

	ekey[0] = '\0';
	if (key != NULL) {
		size_t kl = strlen(key);
		if (kl == 0 || kl > S3_KEY_MAX) {
			seterr(err, errlen, "s3: key of %zu bytes (1 to %d)",
			    kl, S3_KEY_MAX);
			return -1;
		}
		s3_pct_encode(key, kl, 1, ekey, sizeof(ekey));
	}
	if (s->path_style)
		n = snprintf(url, urllen, "%s://%s/%s%s%s%s%s", s->scheme,
		    s->hostport, s->bucket, key ? "/" : "", ekey,
		    query ? "?" : "", query ? query : "");
	else
		n = snprintf(url, urllen, "%s://%s.%s/%s%s%s", s->scheme,
		    s->bucket, s->hostport, ekey, query ? "?" : "",
		    query ? query : "");
	if (n < 0 || (size_t)n >= urllen) {
		seterr(err, errlen, "s3: URL too long");
		return -1;
	}
	return 0;
}

static int
retryable_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static void
backoff(struct s3 *s, int attempt)
{
	long ms = s->retry_base_ms;
	struct timespec ts;
	int i;

	for (i = 1; i < attempt && ms < 60000; i++)
		ms *= 2;
	if (ms > 60000)
		ms = 60000;
	/* Jitter: between half the delay and all of it (xorshift64). */
	s->rnd ^= s->rnd << 13;
	s->rnd ^= s->rnd >> 7;
	s->rnd ^= s->rnd << 17;
	ms = ms / 2 + (long)(s->rnd % (uint64_t)(ms / 2 + 1));
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The name for messages: "KEY" or "bucket BUCKET". */
static const char *
what(struct s3 *s, struct req *r, char *buf, size_t len)
{
	if (r->key != NULL)
		snprintf(buf, len, "%s", r->key);
	else
		snprintf(buf, len, "bucket %s", s->bucket);
	return buf;
}

/*
 * Sends r (retrying as s3.h says) and reads the answer into r->sink.
 * Returns the HTTP status (also 4xx and 5xx: the caller judges it, with
 * r->sink holding an error body when it had room), or -1 when no answer
 * came (err says why).  An error body goes to a memory sink of its own
 * when the sink is a caller's buffer or file.
 */
static long
perform(struct s3 *s, struct req *r, char *err, size_t errlen)
{
	CURL *c = s->curl;
	struct curl_slist *h = NULL;
	char url[S3_URL_MAX], line[128], sha[2 * CRYPTO_HASH_LEN + 1];
	char name[S3_KEY_MAX + 32];
	uint8_t d[CRYPTO_HASH_LEN];
	CURLcode cc = CURLE_OK;
	struct sink start = r->sink;
	int attempt, i;

	if (make_url(s, r->key, r->query, url, sizeof(url), err, errlen) ==
	    -1)
		return -1;
	crypto_sha256(r->body != NULL ? r->body : "", r->bodylen, d);
	hex_encode(d, sizeof(d), sha);
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", sha);
	if ((h = curl_slist_append(h, line)) == NULL)
		goto nomem;
	if (r->body != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s",
		    r->ctype ? r->ctype : "application/octet-stream");
		if ((h = curl_slist_append(h, line)) == NULL)
			goto nomem;
		if (r->bodylen > S3_NOEXPECT_ABOVE &&
		    (h = curl_slist_append(h, "Connection: keep-alive")) ==
		    NULL)
			goto nomem;
	}
	for (i = 0; r->hdrs[i] != NULL; i++)
		if ((h = curl_slist_append(h, r->hdrs[i])) == NULL)
			goto nomem;

	for (attempt = 0;; attempt++) {
		curl_easy_reset(c);
		r->sink = start;
		r->sink.len = 0;
		r->sink.curl = c;
		r->etag[0] = '\0';
		r->have_clen = 0;
		r->mtime = -1;
		r->status = 0;
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		    s->connect_timeout_ms);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->stall_timeout_s);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->total_timeout_ms);
		if (s->ca_file != NULL)
			curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
		if (strcmp(r->method, "HEAD") == 0)
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		else if (strcmp(r->method, "GET") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
		if (r->body != NULL) {
			/*
			 * From memory: curl 7.88 signs with the header's hash
			 * and sends this; above 1 MiB as HTTP/1.0 (kept
			 * alive) so that no Expect: 100-continue is added.
			 */
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)r->bodylen);
			if (r->bodylen > S3_NOEXPECT_ABOVE)
				curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
				    (long)CURL_HTTP_VERSION_1_0);
		}
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->sink);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
		cc = curl_easy_perform(c);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE,
			    &r->status);
		else if (cc == CURLE_WRITE_ERROR && (r->sink.over ||
		    r->sink.ioerr)) {
			/* Our own stop: the cap or the file; no retry. */
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE,
			    &r->status);
			break;
		}
		if (cc == CURLE_OK && r->status != 429 && r->status < 500)
			break;
		if (cc != CURLE_OK && !retryable_curl(cc))
			break;
		if (attempt >= s->retries)
			break;
		s->nretries++;
		free(r->sink.mem);
		free(r->sink.errmem);
		start.mem = start.errmem = NULL;
		backoff(s, attempt + 1);
	}
	curl_slist_free_all(h);
	if (r->sink.over) {
		seterr(err, errlen, "s3: %s %s: answer larger than %zu bytes",
		    r->op, what(s, r, name, sizeof(name)), r->sink.max);
		return -1;
	}
	if (r->sink.ioerr) {
		seterr(err, errlen, "s3: %s %s: writing the file: %s", r->op,
		    what(s, r, name, sizeof(name)), strerror(r->sink.ioerr));
		return -1;
	}
	if (cc != CURLE_OK) {
		seterr(err, errlen, "s3: %s %s: %s (%s://%s; %d attempt%s)",
		    r->op, what(s, r, name, sizeof(name)),
		    curl_easy_strerror(cc), s->scheme, s->hostport,
		    attempt + 1, attempt ? "s" : "");
		return -1;
	}
	return r->status;
nomem:
	curl_slist_free_all(h);
	seterr(err, errlen, "s3: out of memory");
	return -1;
}

/*
 * The message for an answer with status st that is not what the
 * operation wanted: the key, the status, S3's Code and Message.  body
 * (may be NULL) is the answer's body.
 */
static void
http_error(struct s3 *s, struct req *r, const char *body, size_t len,
    char *err, size_t errlen)
{
	char code[S3_CODE_MAX + 1], msg[S3_MESSAGE_MAX + 1];
	char name[S3_KEY_MAX + 32];

	if (body == NULL || s3_xml_error(body, len, code, msg) == -1) {
		seterr(err, errlen, "s3: %s %s: HTTP %ld (no S3 error in the "
		    "answer)", r->op, what(s, r, name, sizeof(name)),
		    r->status);
		return;
	}
	seterr(err, errlen, "s3: %s %s: HTTP %ld %s%s%s", r->op,
	    what(s, r, name, sizeof(name)), r->status, code,
	    msg[0] ? ": " : "", msg);
}

static void
req_init(struct req *r, const char *method, const char *op, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->op = op;
	r->key = key;
	r->sink.kind = SINK_MEM;
	r->sink.max = S3_XML_MAX;
	r->sink.fd = -1;
	r->mtime = -1;
}

/*
 * One request whose answer body (XML or nothing) is read to memory.
 * The status, or -1; *body gets the malloc'ed body (NUL-terminated; may
 * be NULL when empty), which the caller frees.
 */
static long
simple(struct s3 *s, struct req *r, char **body, size_t *blen, char *err,
    size_t errlen)
{
	long st;

	st = perform(s, r, err, errlen);
	*body = r->sink.mem;
	*blen = r->sink.len;
	if (st == -1) {
		free(*body);
		*body = NULL;
		*blen = 0;
	}
	return st;
}

/* ---------------------------------------------------------------- bucket */

int
s3_bucket_create(struct s3 *s, char *err, size_t errlen)
{
	struct req r;
	char *b, code[S3_CODE_MAX + 1], msg[S3_MESSAGE_MAX + 1];
	size_t bl;
	long st;
	int rc = S3_ERROR;

	req_init(&r, "PUT", "create", NULL);
	if ((st = simple(s, &r, &b, &bl, err, errlen)) == -1)
		return S3_ERROR;
	if (st == 200)
		rc = S3_OK;
	else if (st == 409 && b != NULL &&
	    s3_xml_error(b, bl, code, msg) == 0 &&
	    strcmp(code, "BucketAlreadyOwnedByYou") == 0)
		rc = S3_EXISTS;
	else
		http_error(s, &r, b, bl, err, errlen);
	free(b);
	return rc;
}

/*
 * One DELETE (of key, or of the bucket when key is NULL; what names it in
 * messages): S3_OK on 200 or 204, else S3_ERROR with the answer in err.
 */
static int
delete_one(struct s3 *s, const char *what, const char *key, char *err,
    size_t errlen)
{
	struct req r;
	char *b;
	size_t bl;
	long st;
	int rc = S3_ERROR;

	req_init(&r, "DELETE", what, key);
	if ((st = simple(s, &r, &b, &bl, err, errlen)) == -1)
		return S3_ERROR;
	if (st == 204 || st == 200)
		rc = S3_OK;
	else
		http_error(s, &r, b, bl, err, errlen);
	free(b);
	return rc;
}

int
s3_bucket_delete(struct s3 *s, char *err, size_t errlen)
{
	return delete_one(s, "delete", NULL, err, errlen);
}

/* ---------------------------------------------------------------- put */

/* One PUT of a body, conditional or not; etag gets the answer's. */
static int
put_one(struct s3 *s, const char *key, const void *p, size_t len,
    enum s3_cond cond, const char *if_etag, char *etag, char *err,
    size_t errlen)
{
	struct req r;
	char *b, hdr[S3_ETAG_MAX + 16];
	size_t bl;
	long st;
	int rc = S3_ERROR;

	req_init(&r, "PUT", "PUT", key);
	r.body = p;
	r.bodylen = len;
	if (cond == S3_COND_ABSENT)
		r.hdrs[0] = "If-None-Match: *";
	else if (cond == S3_COND_MATCH) {
		char bare[S3_ETAG_MAX + 3];

		if (if_etag == NULL || strlen(if_etag) > S3_ETAG_MAX ||
		    if_etag[0] == '\0' || strpbrk(if_etag, "\r\n") != NULL) {
			seterr(err, errlen, "s3: PUT %s: If-Match with no "
			    "ETag or a bad one", key);
			return S3_ERROR;
		}
		/* radosgw 16.2 matches the bare ETag only. */
		snprintf(bare, sizeof(bare), "%s", if_etag);
		etag_unquote(bare);
		snprintf(hdr, sizeof(hdr), "If-Match: %s", bare);
		r.hdrs[0] = hdr;
	}
	if ((st = simple(s, &r, &b, &bl, err, errlen)) == -1)
		return S3_ERROR;
	if (st == 200) {
		if (etag != NULL)
			memcpy(etag, r.etag, strlen(r.etag) + 1);
		rc = S3_OK;
	} else if (st == 412 && cond == S3_COND_ABSENT)
		rc = S3_EXISTS;
	else if (st == 412 && cond == S3_COND_MATCH)
		rc = S3_CHANGED;
	else
		http_error(s, &r, b, bl, err, errlen);
	free(b);
	return rc;
}

/* Multipart upload state. */
struct mpu {
	struct s3	*s;
	const char	*key;
	char		 id[S3_UPLOADID_MAX + 1];
	char		 eid[3 * S3_UPLOADID_MAX + 1];
	char		(*etags)[S3_ETAG_MAX + 1];
	unsigned	 nparts;
};

static int
mpu_begin(struct mpu *m, struct s3 *s, const char *key, uint64_t len,
    char *err, size_t errlen)
{
	struct s3_param q[] = { { "uploads", NULL } };
	char query[64], *b;
	struct req r;
	size_t bl;
	uint64_t n;
	long st;

	memset(m, 0, sizeof(*m));
	m->s = s;
	m->key = key;
	n = (len + s->part_size - 1) / s->part_size;
	if (n > S3_PARTS_MAX) {
		seterr(err, errlen, "s3: PUT %s: %" PRIu64 " bytes make more "
		    "than %d parts of %" PRIu64, key, len, S3_PARTS_MAX,
		    s->part_size);
		return -1;
	}
	if ((m->etags = calloc((size_t)n, sizeof(*m->etags))) == NULL) {
		seterr(err, errlen, "s3: out of memory");
		return -1;
	}
	s3_canon_query(q, 1, query, sizeof(query));
	req_init(&r, "POST", "initiate upload", key);
	r.query = query;
	if ((st = simple(s, &r, &b, &bl, err, errlen)) == -1)
		goto fail;
	if (st != 200) {
		http_error(s, &r, b, bl, err, errlen);
		free(b);
		goto fail;
	}
	if (b == NULL || s3_xml_text(b, bl, "UploadId", m->id,
	    sizeof(m->id)) != 0 || m->id[0] == '\0') {
		seterr(err, errlen, "s3: initiate upload %s: no UploadId in "
		    "the answer", key);
		free(b);
		goto fail;
	}
	free(b);
	s3_pct_encode(m->id, strlen(m->id), 0, m->eid, sizeof(m->eid));
	return 0;
fail:
	free(m->etags);
	m->etags = NULL;
	return -1;
}

static int
mpu_part(struct mpu *m, const void *p, size_t len, char *err, size_t errlen)
{
	struct s3_param q[2];
	char query[S3_QUERY_MAX], pn[16], *b;
	struct req r;
	char op[48];
	size_t bl;
	long st;

	snprintf(pn, sizeof(pn), "%u", m->nparts + 1);
	snprintf(op, sizeof(op), "upload part %u of", m->nparts + 1);
	q[0].name = "partNumber", q[0].value = pn;
	q[1].name = "uploadId", q[1].value = m->id;
	if (s3_canon_query(q, 2, query, sizeof(query)) == -1) {
		seterr(err, errlen, "s3: query too long");
		return -1;
	}
	req_init(&r, "PUT", op, m->key);
	r.query = query;
	r.body = p;
	r.bodylen = len;
	if ((st = simple(m->s, &r, &b, &bl, err, errlen)) == -1)
		return -1;
	if (st != 200) {
		http_error(m->s, &r, b, bl, err, errlen);
		free(b);
		return -1;
	}
	free(b);
	if (r.etag[0] == '\0') {
		seterr(err, errlen, "s3: upload part %u of %s: no ETag in the "
		    "answer", m->nparts + 1, m->key);
		return -1;
	}
	memcpy(m->etags[m->nparts], r.etag, strlen(r.etag) + 1);
	m->nparts++;
	return 0;
}

/* Appends the XML-escaped s to the string at *p of *len (realloc'ed). */
static int
xml_append(char **p, size_t *len, size_t *cap, const char *s, int escape)
{
	for (; *s != '\0'; s++) {
		const char *e = NULL;
		char one[2] = { *s, '\0' };
		size_t el;

		if (escape && *s == '&')
			e = "&amp;";
		else if (escape && *s == '<')
			e = "&lt;";
		else if (escape && *s == '>')
			e = "&gt;";
		else if (escape && *s == '"')
			e = "&quot;";
		else
			e = one;
		el = strlen(e);
		if (*cap - *len < el + 1) {
			size_t nc = *cap ? *cap * 2 : 4096;
			char *np;

			while (nc - *len < el + 1)
				nc *= 2;
			if ((np = realloc(*p, nc)) == NULL)
				return -1;
			*p = np;
			*cap = nc;
		}
		memcpy(*p + *len, e, el);
		*len += el;
		(*p)[*len] = '\0';
	}
	return 0;
}

static int
mpu_complete(struct mpu *m, char *etag, char *err, size_t errlen)
{
	struct s3_param q[] = { { "uploadId", NULL } };
	char query[S3_QUERY_MAX], *x = NULL, *b, pn[64];
	char code[S3_CODE_MAX + 1], msg[S3_MESSAGE_MAX + 1];
	size_t xl = 0, xc = 0, bl;
	struct req r;
	unsigned i;
	long st;
	int bad = 0;

	q[0].value = m->id;
	s3_canon_query(q, 1, query, sizeof(query));
	bad |= xml_append(&x, &xl, &xc, "<CompleteMultipartUpload>", 0);
	for (i = 0; i < m->nparts; i++) {
		snprintf(pn, sizeof(pn), "<Part><PartNumber>%u</PartNumber>"
		    "<ETag>\"", i + 1);
		bad |= xml_append(&x, &xl, &xc, pn, 0);
		bad |= xml_append(&x, &xl, &xc, m->etags[i], 1);
		bad |= xml_append(&x, &xl, &xc, "\"</ETag></Part>", 0);
	}
	bad |= xml_append(&x, &xl, &xc, "</CompleteMultipartUpload>", 0);
	if (bad) {
		free(x);
		seterr(err, errlen, "s3: out of memory");
		return -1;
	}
	req_init(&r, "POST", "complete upload", m->key);
	r.query = query;
	r.body = x;
	r.bodylen = xl;
	r.ctype = "application/xml";
	st = simple(m->s, &r, &b, &bl, err, errlen);
	free(x);
	if (st == -1)
		return -1;
	/*
	 * S3 may answer 200 with an <Error> in the body: the message says
	 * "HTTP 200" and the error's code.
	 */
	if (st != 200 || (b != NULL && s3_xml_error(b, bl, code, msg) == 0)) {
		http_error(m->s, &r, b, bl, err, errlen);
		free(b);
		return -1;
	}
	if (etag != NULL) {
		etag[0] = '\0';
		if (b != NULL)
			s3_xml_text(b, bl, "ETag", etag, S3_ETAG_MAX + 1);
		etag_unquote(etag);
	}
	free(b);
	if (etag != NULL && etag[0] == '\0') {
		/* radosgw 16.2 answers <ETag></ETag>: ask. */
		struct s3_objinfo oi;

		if (s3_head(m->s, m->key, &oi, err, errlen) != S3_OK)
			return -1;
		memcpy(etag, oi.etag, strlen(oi.etag) + 1);
	}
	return 0;
}

/* Aborts the upload; its own failure is added to err's message. */
static void
mpu_abort(struct mpu *m, char *err, size_t errlen)
{
	struct s3_param q[] = { { "uploadId", NULL } };
	char query[S3_QUERY_MAX], e2[256], *b;
	struct req r;
	size_t bl, el;
	long st;

	q[0].value = m->id;
	s3_canon_query(q, 1, query, sizeof(query));
	req_init(&r, "DELETE", "abort upload", m->key);
	r.query = query;
	st = simple(m->s, &r, &b, &bl, e2, sizeof(e2));
	if (st != -1 && st != 204 && st != 200 && st != 404)
		http_error(m->s, &r, b, bl, e2, sizeof(e2));
	free(b);
	if ((st == -1 || (st != 204 && st != 200 && st != 404)) &&
	    err != NULL && (el = strlen(err)) + 3 < errlen)
		snprintf(err + el, errlen - el, "; %s (upload %s left; "
		    "a lifecycle rule or a later abort removes it)", e2, m->id);
	free(m->etags);
	m->etags = NULL;
}

static int
put_multi(struct s3 *s, const char *key, const uint8_t *p, int fd,
    uint64_t off, uint64_t len, char *etag, char *err, size_t errlen)
{
	struct mpu m;
	uint8_t *part = NULL;
	uint64_t done = 0;

	if (mpu_begin(&m, s, key, len, err, errlen) == -1)
		return S3_ERROR;
	if (p == NULL && (part = malloc((size_t)s->part_size)) == NULL) {
		seterr(err, errlen, "s3: PUT %s: out of memory for a part of "
		    "%" PRIu64 " bytes", key, s->part_size);
		goto fail;
	}
	while (done < len) {
		size_t n = (size_t)(len - done < s->part_size ? len - done :
		    s->part_size);
		const uint8_t *body;

		if (p != NULL)
			body = p + done;
		else {
			size_t got = 0;
			ssize_t rd;

			while (got < n) {
				rd = pread(fd, part + got, n - got,
				    (off_t)(off + done + got));
				if (rd == -1 && errno == EINTR)
					continue;
				if (rd <= 0) {
					seterr(err, errlen, "s3: PUT %s: "
					    "reading at %" PRIu64 ": %s", key,
					    off + done + got, rd == 0 ?
					    "file shorter than said" :
					    strerror(errno));
					goto fail;
				}
				got += (size_t)rd;
			}
			body = part;
		}
		if (mpu_part(&m, body, n, err, errlen) == -1)
			goto fail;
		done += n;
	}
	if (mpu_complete(&m, etag, err, errlen) == -1)
		goto fail;
	free(part);
	free(m.etags);
	return S3_OK;
fail:
	free(part);
	mpu_abort(&m, err, errlen);
	return S3_ERROR;
}

int
s3_put(struct s3 *s, const char *key, const void *p, size_t len,
    enum s3_cond cond, const char *if_etag, char *etag, char *err,
    size_t errlen)
{
	if (len > s->part_size) {
		if (cond != S3_COND_NONE) {
			seterr(err, errlen, "s3: PUT %s: a conditional put of "
			    "%zu bytes, above the part size %" PRIu64, key,
			    len, s->part_size);
			return S3_ERROR;
		}
		return put_multi(s, key, p, -1, 0, len, etag, err, errlen);
	}
	return put_one(s, key, len ? p : "", len, cond, if_etag, etag, err,
	    errlen);
}

int
s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t off, uint64_t len,
    char *etag, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t got = 0;
	ssize_t rd;
	int rc;

	if (len > s->part_size)
		return put_multi(s, key, NULL, fd, off, len, etag, err,
		    errlen);
	if ((buf = malloc(len ? (size_t)len : 1)) == NULL) {
		seterr(err, errlen, "s3: PUT %s: out of memory", key);
		return S3_ERROR;
	}
	while (got < len) {
		rd = pread(fd, buf + got, (size_t)len - got,
		    (off_t)(off + got));
		if (rd == -1 && errno == EINTR)
			continue;
		if (rd <= 0) {
			seterr(err, errlen, "s3: PUT %s: reading at %" PRIu64
			    ": %s", key, off + got, rd == 0 ?
			    "file shorter than said" : strerror(errno));
			free(buf);
			return S3_ERROR;
		}
		got += (size_t)rd;
	}
	rc = put_one(s, key, buf, (size_t)len, S3_COND_NONE, NULL, etag, err,
	    errlen);
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- get */

/*
 * A GET whose body goes to r->sink when the status is 200 or 206; any
 * other answer's body is read into memory for the message.  Returns
 * S3_OK (r->status says which), S3_NOTFOUND or S3_ERROR.
 */
static int
get_into(struct s3 *s, struct req *r, char *err, size_t errlen)
{
	long st;
	int rc = S3_ERROR;

	st = perform(s, r, err, errlen);
	if (st == 200 || st == 206)
		rc = S3_OK;
	else if (st == 404) {
		seterr(err, errlen, "s3: %s %s: HTTP 404 (no such key)", r->op,
		    r->key);
		rc = S3_NOTFOUND;
	} else if (st != -1) {
		if (r->sink.kind == SINK_MEM)
			http_error(s, r, r->sink.mem, r->sink.len, err, errlen);
		else
			http_error(s, r, r->sink.errmem, r->sink.errlen, err,
			    errlen);
	}
	free(r->sink.errmem);
	r->sink.errmem = NULL;
	return rc;
}

int
s3_get(struct s3 *s, const char *key, size_t max, void **out, size_t *n,
    char *err, size_t errlen)
{
	struct req r;
	int rc;

	*out = NULL;
	*n = 0;
	req_init(&r, "GET", "GET", key);
	/* Room for an error body even when max is small. */
	r.sink.max = max > 65536 ? max : 65536;
	rc = get_into(s, &r, err, errlen);
	if ((rc == S3_ERROR && r.sink.over) ||
	    (rc == S3_OK && r.sink.len > max)) {
		seterr(err, errlen, "s3: GET %s: larger than %zu bytes", key,
		    max);
		rc = S3_ERROR;
	}
	if (rc != S3_OK) {
		free(r.sink.mem);
		return rc;
	}
	if (r.sink.mem == NULL && (r.sink.mem = calloc(1, 1)) == NULL) {
		seterr(err, errlen, "s3: out of memory");
		return S3_ERROR;
	}
	*out = r.sink.mem;
	*n = r.sink.len;
	return S3_OK;
}

int
s3_get_range(struct s3 *s, const char *key, uint64_t off, size_t len,
    void *buf, size_t *n, char *err, size_t errlen)
{
	struct req r;
	char range[64];
	int rc;

	*n = 0;
	if (len == 0)
		return S3_OK;
	if (off > UINT64_MAX - len) {
		seterr(err, errlen, "s3: GET %s: range overflows", key);
		return S3_ERROR;
	}
	snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64,
	    off, off + len - 1);
	req_init(&r, "GET", "ranged GET", key);
	r.hdrs[0] = range;
	r.sink.kind = SINK_MEM;
	r.sink.max = len > 65536 ? len : 65536;
	rc = get_into(s, &r, err, errlen);
	if (rc == S3_OK && r.status == 200 && r.have_clen &&
	    r.clen <= len && off == 0)
		r.status = 206;	/* a short object sent whole */
	if (rc == S3_OK && r.status != 206) {
		seterr(err, errlen, "s3: ranged GET %s: HTTP %ld, not 206",
		    key, r.status);
		rc = S3_ERROR;
	}
	if (rc == S3_OK && r.sink.len > len) {
		seterr(err, errlen, "s3: ranged GET %s: %zu bytes for %zu",
		    key, r.sink.len, len);
		rc = S3_ERROR;
	}
	if (rc == S3_OK) {
		if (r.sink.len > 0)
			memcpy(buf, r.sink.mem, r.sink.len);
		*n = r.sink.len;
	}
	free(r.sink.mem);
	return rc;
}

int
s3_get_fd(struct s3 *s, const char *key, int fd, uint64_t *n, char *err,
    size_t errlen)
{
	struct req r;
	off_t at;
	int rc;

	if (n != NULL)
		*n = 0;
	if ((at = lseek(fd, 0, SEEK_CUR)) == -1) {
		seterr(err, errlen, "s3: GET %s: the file: %s", key,
		    strerror(errno));
		return S3_ERROR;
	}
	req_init(&r, "GET", "GET", key);
	r.sink.kind = SINK_FD;
	r.sink.fd = fd;
	r.sink.fdoff = at;
	rc = get_into(s, &r, err, errlen);
	if (rc == S3_OK && r.have_clen && r.clen != r.sink.len) {
		seterr(err, errlen, "s3: GET %s: %zu bytes of %" PRIu64, key,
		    r.sink.len, r.clen);
		rc = S3_ERROR;
	}
	if (rc == S3_OK && n != NULL)
		*n = r.sink.len;
	return rc;
}

int
s3_head(struct s3 *s, const char *key, struct s3_objinfo *info, char *err,
    size_t errlen)
{
	struct req r;
	char *b;
	size_t bl;
	long st;

	memset(info, 0, sizeof(*info));
	info->mtime = -1;
	req_init(&r, "HEAD", "HEAD", key);
	if ((st = simple(s, &r, &b, &bl, err, errlen)) == -1)
		return S3_ERROR;
	free(b);
	if (st == 404) {
		seterr(err, errlen, "s3: HEAD %s: HTTP 404 (no such key)",
		    key);
		return S3_NOTFOUND;
	}
	if (st != 200) {
		/* HEAD answers carry no body: the status is all. */
		seterr(err, errlen, "s3: HEAD %s: HTTP %ld", key, st);
		return S3_ERROR;
	}
	if (!r.have_clen) {
		seterr(err, errlen, "s3: HEAD %s: no Content-Length", key);
		return S3_ERROR;
	}
	info->size = r.clen;
	memcpy(info->etag, r.etag, strlen(r.etag) + 1);
	info->mtime = r.mtime;
	return S3_OK;
}

/* ---------------------------------------------------------------- delete */

int
s3_delete(struct s3 *s, const char *key, char *err, size_t errlen)
{
	return delete_one(s, "DELETE", key, err, errlen);
}

struct delctx {
	s3_delerr_fn	 fn;
	void		*arg;
	char		 first[S3_KEY_MAX + S3_CODE_MAX + 4];
};

static void
del_onerr(const char *key, const char *code, const char *message, void *arg)
{
	struct delctx *d = arg;

	if (d->first[0] == '\0')
		snprintf(d->first, sizeof(d->first), "%s (%s)", key, code);
	if (d->fn != NULL)
		d->fn(key, code, message, d->arg);
}

int
s3_delete_many(struct s3 *s, const char *const *keys, size_t n,
    s3_delerr_fn onerr, void *arg, size_t *failed, char *err, size_t errlen)
{
	struct s3_param q[] = { { "delete", NULL } };
	struct delctx d = { onerr, arg, "" };
	char query[32], md5b64[32], hdr[64], *x, *b, e2[256];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	size_t i, j, xl, xc, bl, del, fail, total_failed = 0;
	struct req r;
	long st;

	if (failed != NULL)
		*failed = 0;
	s3_canon_query(q, 1, query, sizeof(query));
	for (i = 0; i < n; i += S3_DELETE_MAX) {
		size_t m = n - i < S3_DELETE_MAX ? n - i : S3_DELETE_MAX;
		int bad = 0;

		x = NULL;
		xl = xc = 0;
		bad |= xml_append(&x, &xl, &xc, "<Delete><Quiet>true</Quiet>",
		    0);
		for (j = 0; j < m; j++) {
			size_t kl = strlen(keys[i + j]);
			if (kl == 0 || kl > S3_KEY_MAX) {
				free(x);
				seterr(err, errlen, "s3: multi-delete: key %zu "
				    "of %zu bytes (1 to %d)", i + j, kl,
				    S3_KEY_MAX);
				return S3_ERROR;
			}
			bad |= xml_append(&x, &xl, &xc, "<Object><Key>", 0);
			bad |= xml_append(&x, &xl, &xc, keys[i + j], 1);
			bad |= xml_append(&x, &xl, &xc, "</Key></Object>", 0);
		}
		bad |= xml_append(&x, &xl, &xc, "</Delete>", 0);
		if (bad || EVP_Digest(x, xl, md, &mdlen, EVP_md5(), NULL) !=
		    1) {
			free(x);
			seterr(err, errlen, "s3: out of memory");
			return S3_ERROR;
		}
		EVP_EncodeBlock((unsigned char *)md5b64, md, (int)mdlen);
		snprintf(hdr, sizeof(hdr), "Content-MD5: %s", md5b64);
		req_init(&r, "POST", "multi-delete", NULL);
		r.query = query;
		r.body = x;
		r.bodylen = xl;
		r.ctype = "application/xml";
		r.hdrs[0] = hdr;
		st = simple(s, &r, &b, &bl, err, errlen);
		free(x);
		if (st == -1)
			goto batch;
		if (st != 200) {
			http_error(s, &r, b, bl, err, errlen);
			free(b);
			goto batch;
		}
		if (b == NULL || s3_xml_delete_result(b, bl, del_onerr, &d,
		    &del, &fail, e2, sizeof(e2)) == -1) {
			seterr(err, errlen, "s3: multi-delete: %s", b == NULL ?
			    "empty answer" : e2);
			free(b);
			goto batch;
		}
		free(b);
		total_failed += fail;
	}
	if (failed != NULL)
		*failed = total_failed;
	if (total_failed > 0) {
		seterr(err, errlen, "s3: multi-delete: %zu of %zu keys not "
		    "deleted, the first %s", total_failed, n, d.first);
		return S3_ERROR;
	}
	return S3_OK;
batch:
	if (failed != NULL)
		*failed = total_failed;
	{
		size_t el = err ? strlen(err) : 0;
		if (err != NULL && el + 3 < errlen)
			snprintf(err + el, errlen - el, " (keys %zu to %zu; "
			    "later ones not tried)", i, i + (n - i <
			    S3_DELETE_MAX ? n - i : S3_DELETE_MAX) - 1);
	}
	return S3_ERROR;
}

/* ---------------------------------------------------------------- list */

int
s3_list(struct s3 *s, const char *prefix, int page_size, s3_list_fn fn,
    void *arg, char *err, size_t errlen)
{
	return s3_list_after(s, prefix, NULL, page_size, fn, arg, err,
	    errlen);
}

int
s3_list_after(struct s3 *s, const char *prefix, const char *after,
    int page_size, s3_list_fn fn, void *arg, char *err, size_t errlen)
{
	struct s3_param q[5];
	struct s3_listpage *page;
	char query[S3_QUERY_MAX], mk[16], e2[256], *b;
	struct req r;
	size_t bl, nq;
	long st;
	int rc;

	if (page_size < 0 || page_size > 1000 || strlen(prefix) >
	    S3_KEY_MAX || (after != NULL && strlen(after) > S3_KEY_MAX)) {
		seterr(err, errlen, "s3: list: page size %d (1 to 1000) or "
		    "prefix too long", page_size);
		return S3_ERROR;
	}
	if ((page = calloc(1, sizeof(*page))) == NULL) {
		seterr(err, errlen, "s3: out of memory");
		return S3_ERROR;
	}
	snprintf(mk, sizeof(mk), "%d", page_size ? page_size : 1000);
	for (;;) {
		nq = 0;
		q[nq].name = "list-type", q[nq++].value = "2";
		q[nq].name = "max-keys", q[nq++].value = mk;
		if (prefix[0] != '\0')
			q[nq].name = "prefix", q[nq++].value = prefix;
		/* The token goes on from where the first page began. */
		if (page->next[0] != '\0')
			q[nq].name = "continuation-token",
			    q[nq++].value = page->next;
		else if (after != NULL && after[0] != '\0')
			q[nq].name = "start-after", q[nq++].value = after;
		if (s3_canon_query(q, nq, query, sizeof(query)) == -1) {
			seterr(err, errlen, "s3: list: query too long");
			rc = S3_ERROR;
			break;
		}
		req_init(&r, "GET", "list", NULL);
		r.query = query;
		if ((st = simple(s, &r, &b, &bl, err, errlen)) == -1) {
			rc = S3_ERROR;
			break;
		}
		if (st != 200) {
			http_error(s, &r, b, bl, err, errlen);
			free(b);
			rc = S3_ERROR;
			break;
		}
		rc = s3_xml_list(b ? b : "", bl, fn, arg, page, e2,
		    sizeof(e2));
		free(b);
		if (rc == -1) {
			seterr(err, errlen, "s3: list %s of bucket %s: %s",
			    prefix, s->bucket, e2);
			rc = S3_ERROR;
			break;
		}
		if (rc == 1) {
			rc = S3_STOPPED;
			break;
		}
		if (!page->truncated) {
			rc = S3_OK;
			break;
		}
	}
	free(page);
	return rc;
}
