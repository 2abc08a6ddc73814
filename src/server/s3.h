/*
 * s3.h - a small, blocking S3 client on libcurl (issue 21's object
 * store): put (one request, or a multipart upload above the part
 * size), conditional put, get (whole, ranged, into a file), head,
 * delete, multi-object delete and list, against AWS S3 or radosgw
 * (tested with Ceph 16.2's, doc/ceph-tests.md).
 *
 * Signing is libcurl's (CURLOPT_AWS_SIGV4, "aws:amz:REGION:s3"); what
 * libcurl 7.88 leaves out is done here: every request carries
 * x-amz-content-sha256 with the hex SHA-256 of its body (curl signs the
 * value it is given), queries are written in canonical form (keys
 * sorted, percent-encoded, bare keys as "uploads="; curl signs the query
 * as given), and a body above 1 MiB goes as HTTP/1.0 with "Connection:
 * keep-alive" so that curl does not add "Expect: 100-continue" (the
 * header-removal "Expect:" would be signed as an empty header curl does
 * not send: radosgw answers 403).  Bodies are sent from memory, so a
 * multipart upload holds one part (part_size bytes) at a time.
 *
 * One struct s3 per process, used by one thread: it keeps one curl easy
 * handle so that connections are kept alive between requests.  Call
 * curl_global_init() (or s3_open(), which does it once) before threads
 * exist.
 *
 * Results: every function that can fail returns S3_OK (0), one of the
 * positive S3_* outcomes documented with it, or S3_ERROR (-1) with a
 * message in (err, errlen) that names the operation, the key, the HTTP
 * status, and S3's <Code> and <Message> when the body had them (or
 * curl's reason when no answer came), and the number of attempts after
 * retries.  No message ever holds the secret key.
 *
 * Retries: a connection error, a timeout, HTTP 5xx (503 SlowDown too)
 * and 429 are tried again up to cfg.retries times, after
 * retry_base_ms * 2^(n-1) milliseconds with jitter (a random delay
 * between half that and all of it); 4xx answers are not retried.
 * s3_retries() counts every retry since s3_open().
 */
#ifndef GV_S3_H
#define GV_S3_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum s3_result {
	S3_ERROR	= -1,
	S3_OK		= 0,
	S3_NOTFOUND	= 1,	/* 404: no such key */
	S3_EXISTS	= 2,	/* PUT with If-None-Match: *: the key exists */
	S3_CHANGED	= 3,	/* PUT with If-Match: the ETag differs */
	S3_STOPPED	= 4,	/* s3_list(): the callback stopped it */
};

#define S3_KEY_MAX		1024	/* S3's own limit, bytes */
#define S3_ETAG_MAX		128	/* an ETag without its quotes */
#define S3_CODE_MAX		64	/* S3's <Code> */
#define S3_MESSAGE_MAX		256	/* S3's <Message>, cut beyond */
#define S3_UPLOADID_MAX		512	/* a multipart upload's id */
#define S3_XML_MAX		(8u << 20)	/* largest XML answer read */
#define S3_DELETE_MAX		1000	/* keys in one multi-delete */
#define S3_PART_MIN		(5u << 20)	/* S3's smallest part */
#define S3_PART_DEFAULT		(64u << 20)
#define S3_PARTS_MAX		10000	/* parts in one upload */
#define S3_CRED_FILE_MAX	4096	/* credentials file, bytes */

struct s3_config {
	/*
	 * "http://host[:port]" or "https://host[:port]", no path.  With
	 * path_style the URL is ENDPOINT/BUCKET/KEY, otherwise
	 * SCHEME://BUCKET.HOST[:port]/KEY (virtual-host style).
	 */
	const char	*endpoint;
	const char	*region;	/* "us-east-1", radosgw's "default" */
	const char	*bucket;	/* 3 to 63 characters */
	int		 path_style;
	const char	*ca_file;	/* PEM for https; NULL: the system's */
	const char	*cred_file;	/* s3_creds_load() */
	long		 connect_timeout_ms;	/* 0: 10 000 */
	long		 stall_timeout_s; /* no byte moved for that: 0: 60 */
	int		 retries;	/* tries after the first; < 0: 4 */
	long		 retry_base_ms;	/* 0: 250 */
	uint64_t	 part_size;	/* 0: S3_PART_DEFAULT; >= S3_PART_MIN */
};

struct s3;

/*
 * Reads the credentials file path: lines "access_key_id = VALUE" and
 * "secret_access_key = VALUE" (spaces around "=" optional; blank lines
 * and lines starting with '#' ignored; any other line is an error with
 * its number).  The file must be a regular file of at most
 * S3_CRED_FILE_MAX bytes that neither group nor others may read or
 * write (mode 0600 or 0400 for its owner).  Fills id and secret
 * (NUL-terminated, of idlen and secretlen bytes with the NUL).  0, or
 * -1 with the message in err (naming the file, never the secret).
 */
int	s3_creds_load(const char *path, char *id, size_t idlen, char *secret,
	    size_t secretlen, char *err, size_t errlen);

/*
 * s3_creds_load()'s parser on text of len bytes (the file read whole);
 * what errors it gives, without the file checks.  name is the file's
 * name for messages.
 */
int	s3_creds_parse(const char *name, const char *text, size_t len,
	    char *id, size_t idlen, char *secret, size_t secretlen, char *err,
	    size_t errlen);

/*
 * Checks cfg, reads the credentials and makes the curl handle.  *out
 * gets a handle the caller frees with s3_close(); cfg's strings are
 * copied.  No request is sent.  0, or -1 (a bad endpoint, bucket or part
 * size, the credentials file, out of memory) with *out NULL.
 */
int	s3_open(const struct s3_config *cfg, struct s3 **out, char *err,
	    size_t errlen);

/* Closes the connection and frees s (which may be NULL); the secret is
 * zeroed first. */
void	s3_close(struct s3 *s);

/* The retries made since s3_open() (every request's, added up). */
uint64_t s3_retries(const struct s3 *s);

/*
 * Each later request (each try) ends after ms in all (0: no total
 * limit, the default): the lease child's requests must not outlast a
 * fraction of the lease (follower.c).
 */
void	s3_set_total_timeout(struct s3 *s, long ms);

/* Sets the part size of later puts (>= S3_PART_MIN). 0, or -1. */
int	s3_set_part_size(struct s3 *s, uint64_t part_size, char *err,
	    size_t errlen);

/*
 * Creates the configured bucket.  S3_OK, S3_EXISTS when the caller owns
 * it already (BucketAlreadyOwnedByYou; radosgw 16.2 answers 200 then,
 * also S3_OK), or S3_ERROR.
 */
int	s3_bucket_create(struct s3 *s, char *err, size_t errlen);

/* Deletes the configured bucket, which must be empty.  S3_OK or
 * S3_ERROR. */
int	s3_bucket_delete(struct s3 *s, char *err, size_t errlen);

enum s3_cond {
	S3_COND_NONE,
	S3_COND_ABSENT,		/* If-None-Match: *: only if no such key */
	S3_COND_MATCH,		/* If-Match: ETAG: only if it has that ETag */
};

/*
 * Writes len bytes at p as key.  Above the part size it is a multipart
 * upload (initiate, parts, complete); any failure on the way aborts the
 * upload, so the key either holds all of it or is as it was.  etag, when
 * not NULL, gets the object's ETag without quotes (S3_ETAG_MAX + 1
 * bytes; radosgw answers complete with an empty ETag, so it is taken
 * from a HEAD then).
 *
 * cond makes it conditional (single requests only: with a cond, len
 * must not exceed the part size, or S3_ERROR):
 *  - S3_COND_ABSENT sends If-None-Match: * and gives S3_EXISTS when the
 *    key exists (412).  radosgw 16.2 and AWS S3 both refuse it then.
 *  - S3_COND_MATCH sends If-Match with if_etag (no quotes) and gives
 *    S3_CHANGED on 412.  radosgw 16.2 compares the header with the bare
 *    ETag: a quoted ETag ("...") never matches and always gives 412, so
 *    it is sent without quotes (AWS S3 takes both).  On a missing key
 *    radosgw answers 412 too (AWS: 404), so S3_CHANGED also means "the
 *    key is gone".  If-Match: * (if_etag "*") succeeds on any existing
 *    key and gives S3_CHANGED on a missing one.  Whether radosgw
 *    checks and writes as one step (two writers racing with the same
 *    ETag) is not tested here: the lease must not assume it unproven.
 * S3_OK, S3_EXISTS, S3_CHANGED or S3_ERROR.
 */
int	s3_put(struct s3 *s, const char *key, const void *p, size_t len,
	    enum s3_cond cond, const char *if_etag, char *etag, char *err,
	    size_t errlen);

/*
 * s3_put() of len bytes of fd from offset off (pread: fd's offset is
 * not moved; a short file is an error), part by part (one part in
 * memory at a time).  No condition.  S3_OK or S3_ERROR.
 */
int	s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t off,
	    uint64_t len, char *etag, char *err, size_t errlen);

/*
 * Reads the whole object key into *out, a malloc'ed buffer the caller
 * frees (NUL-terminated after *n bytes, for convenience), of at most
 * max bytes (a larger object: S3_ERROR, nothing kept).  S3_OK,
 * S3_NOTFOUND (*out NULL) or S3_ERROR (*out NULL, *n 0).
 */
int	s3_get(struct s3 *s, const char *key, size_t max, void **out,
	    size_t *n, char *err, size_t errlen);

/*
 * Reads len bytes of key from offset off into buf (a ranged GET,
 * "Range: bytes=off-(off+len-1)"); *n gets the bytes read, fewer than
 * len when the object ends first.  len 0 reads nothing and sends no
 * request.  An off at or past the end is S3_ERROR (416
 * InvalidRange).  S3_OK, S3_NOTFOUND or S3_ERROR.
 */
int	s3_get_range(struct s3 *s, const char *key, uint64_t off, size_t len,
	    void *buf, size_t *n, char *err, size_t errlen);

/*
 * Writes the whole object key into fd, a regular file, with pwrite()
 * from fd's current offset (which is not moved; a retry writes from
 * there again); *n (may be NULL) gets its size.  The file is not
 * truncated.  S3_OK, S3_NOTFOUND or S3_ERROR (what was written stays).
 */
int	s3_get_fd(struct s3 *s, const char *key, int fd, uint64_t *n,
	    char *err, size_t errlen);

struct s3_objinfo {
	uint64_t	 size;
	char		 etag[S3_ETAG_MAX + 1];	/* without quotes */
	time_t		 mtime;		/* Last-Modified; -1 if none */
};

/* HEAD of key into *info.  S3_OK, S3_NOTFOUND or S3_ERROR. */
int	s3_head(struct s3 *s, const char *key, struct s3_objinfo *info,
	    char *err, size_t errlen);

/* Deletes key; a missing key is S3_OK too (S3 answers 204 either
 * way).  S3_OK or S3_ERROR. */
int	s3_delete(struct s3 *s, const char *key, char *err, size_t errlen);

/*
 * Called once for each key a multi-delete could not delete, with S3's
 * code and message for it (NUL-terminated, valid during the call).
 */
typedef void (*s3_delerr_fn)(const char *key, const char *code,
    const char *message, void *arg);

/*
 * Deletes n keys, S3_DELETE_MAX per request (POST ?delete= with
 * Content-MD5).  Keys S3 refuses are given to onerr (may be NULL) and
 * counted in *failed (may be NULL); missing keys count as deleted.
 * S3_OK when every key is deleted; S3_ERROR when a request failed (the
 * message says which batch; keys of later batches were not tried) or
 * when *failed > 0 (the message names the first key and its code).
 */
int	s3_delete_many(struct s3 *s, const char *const *keys, size_t n,
	    s3_delerr_fn onerr, void *arg, size_t *failed, char *err,
	    size_t errlen);

/*
 * Called for each key listed, in S3's order (UTF-8 binary order), with
 * its size and ETag (without quotes); the strings are valid during the
 * call.  Returns 0 to go on, anything else to stop.
 */
typedef int (*s3_list_fn)(const char *key, uint64_t size, const char *etag,
    void *arg);

/*
 * Lists the keys that start with prefix ("" for all), page_size per
 * request (1 to 1000; 0: 1000), with ListObjectsV2 and its continuation
 * token.  S3_OK after the last key, S3_STOPPED when fn stopped it, or
 * S3_ERROR (keys before the failure were given to fn).
 */
int	s3_list(struct s3 *s, const char *prefix, int page_size,
	    s3_list_fn fn, void *arg, char *err, size_t errlen);
/*
 * s3_list() of only the keys after the key after (StartAfter; NULL or
 * "" for all), so that a poller's cost follows what is new.  The same
 * results.
 */
int	s3_list_after(struct s3 *s, const char *prefix, const char *after,
	    int page_size, s3_list_fn fn, void *arg, char *err,
	    size_t errlen);

/*
 * The pure parts, exported for t/unit-s3.c and fuzz/fuzz-s3xml.c.
 */

/*
 * Percent-encodes the len bytes at in as SigV4 wants: all but A-Z a-z
 * 0-9 - . _ ~ (and '/' when keep_slash) become %XX with upper-case
 * hex.  The result and its NUL go to out; 0, or -1 when outlen is too
 * small (out then holds "").
 */
int	s3_pct_encode(const char *in, size_t len, int keep_slash, char *out,
	    size_t outlen);

struct s3_param {
	const char	*name;
	const char	*value;		/* NULL or "": a bare key, "name=" */
};

/*
 * The canonical query string of n parameters: each name and value
 * percent-encoded, joined as name=value with '&', sorted by encoded
 * name and then value (the array is not changed; n <= 16).  0, or -1
 * when it does not fit outlen or n > 16.
 */
int	s3_canon_query(const struct s3_param *params, size_t n, char *out,
	    size_t outlen);

/*
 * Scans an XML answer of len bytes (not NUL-terminated; at most
 * S3_XML_MAX) for the error's <Code> and <Message> (entities decoded,
 * each cut to its buffer's size: S3_CODE_MAX + 1, S3_MESSAGE_MAX + 1).
 * 0 when an <Error> with a <Code> was found, -1 (both "") otherwise.
 */
int	s3_xml_error(const char *xml, size_t len, char *code, char *message);

struct s3_listpage {
	int		 truncated;	/* <IsTruncated>true */
	char		 next[S3_KEY_MAX + 1];	/* NextContinuationToken */
	size_t		 keys;		/* <Contents> given to fn */
};

/*
 * Scans one ListObjectsV2 page of len bytes: fn gets each <Contents>'
 * <Key>, <Size> and <ETag> (entities decoded, quotes removed); page
 * gets IsTruncated, NextContinuationToken and the count.  0; 1 when fn
 * stopped (page->keys counts the key it stopped at); -1 when the page
 * is malformed (no ListBucketResult, a <Contents> without a Key or with
 * a Size that is not a number, a value too long, a truncated page
 * without a token), with a reason in err.
 */
int	s3_xml_list(const char *xml, size_t len, s3_list_fn fn, void *arg,
	    struct s3_listpage *page, char *err, size_t errlen);

/*
 * Scans a DeleteResult of len bytes: *deleted counts <Deleted>, each
 * <Error> goes to onerr (may be NULL) and is counted in *failed.  0, or
 * -1 when it is not a DeleteResult or an entry is malformed.
 */
int	s3_xml_delete_result(const char *xml, size_t len, s3_delerr_fn onerr,
	    void *arg, size_t *deleted, size_t *failed, char *err,
	    size_t errlen);

/*
 * Copies the text of the first <name> element in the len bytes at xml
 * into out (entities decoded).  0, 1 when there is none, -1 when it
 * does not fit outlen (with its NUL) or is not closed.
 */
int	s3_xml_text(const char *xml, size_t len, const char *name, char *out,
	    size_t outlen);

#endif
