/*
 * lease.c - the writer's lease in the bucket (lease.h, and
 * doc/object-store.md rule 5): take, renew, release over s3.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/monotime.h"

#include "lease.h"
#include "s3.h"

#define LEASE_NAME	"lease"

static int
holder_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > LEASE_HOLDER_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

static int
host_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n > LEASE_HOST_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
lease_encode(const struct lease_info *info, char *out, size_t outlen)
{
	json_t *j;
	size_t n;

	if (!holder_ok(info->holder) || !host_ok(info->host) ||
	    info->pid < 0 || info->generation > INT64_MAX ||
	    info->renewal > INT64_MAX)
		return -1;
	j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:b}",
	    "holder", info->holder, "host", info->host,
	    "pid", (json_int_t)info->pid,
	    "generation", (json_int_t)info->generation,
	    "renewal", (json_int_t)info->renewal,
	    "duration", (json_int_t)info->duration,
	    "released", info->released != 0);
	if (j == NULL)
		return -1;
	n = json_dumpb(j, out, outlen, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (n == 0 || n >= outlen)
		return -1;
	out[n] = '\0';
	return (int)n;
}

static int
get_count(json_t *root, const char *name, int64_t max, int64_t *v,
    char *err, size_t errlen)
{
	json_t *x = json_object_get(root, name);

	if (!json_is_integer(x)) {
		snprintf(err, errlen, "lease: \"%s\" is not an integer", name);
		return -1;
	}
	*v = json_integer_value(x);
	if (*v < 0 || *v > max) {
		snprintf(err, errlen, "lease: \"%s\" is out of range", name);
		return -1;
	}
	return 0;
}

static int
get_str(json_t *root, const char *name, char *out, size_t outlen,
    char *err, size_t errlen)
{
	json_t *x = json_object_get(root, name);
	size_t n;

	if (!json_is_string(x)) {
		snprintf(err, errlen, "lease: \"%s\" is not a string", name);
		return -1;
	}
	n = json_string_length(x);
	if (n >= outlen || memchr(json_string_value(x), '\0', n) != NULL) {
		snprintf(err, errlen, "lease: \"%s\" is too long", name);
		return -1;
	}
	memcpy(out, json_string_value(x), n);
	out[n] = '\0';
	return 0;
}

int
lease_decode(const void *buf, size_t len, struct lease_info *info,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *rel;
	int64_t v;

	memset(info, 0, sizeof(*info));
	if (len > LEASE_DOC_MAX) {
		snprintf(err, errlen, "lease: %zu bytes, more than %d", len,
		    LEASE_DOC_MAX);
		return -1;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "lease: not JSON: %s", je.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "lease: not a JSON object");
		goto bad;
	}
	if (get_str(root, "holder", info->holder, sizeof(info->holder), err,
	    errlen) == -1 ||
	    get_str(root, "host", info->host, sizeof(info->host), err,
	    errlen) == -1)
		goto bad;
	if (!holder_ok(info->holder) || !host_ok(info->host)) {
		snprintf(err, errlen, "lease: bad holder or host");
		goto bad;
	}
	if (get_count(root, "pid", INT32_MAX, &info->pid, err, errlen) == -1)
		goto bad;
	if (get_count(root, "generation", INT64_MAX, &v, err, errlen) == -1)
		goto bad;
	info->generation = (uint64_t)v;
	if (get_count(root, "renewal", INT64_MAX, &v, err, errlen) == -1)
		goto bad;
	info->renewal = (uint64_t)v;
	if (get_count(root, "duration", LEASE_DURATION_MAX, &v, err,
	    errlen) == -1)
		goto bad;
	if (v < LEASE_DURATION_MIN) {
		snprintf(err, errlen, "lease: \"duration\" is out of range");
		goto bad;
	}
	info->duration = (uint32_t)v;
	rel = json_object_get(root, "released");
	if (rel != NULL && !json_is_boolean(rel)) {
		snprintf(err, errlen, "lease: \"released\" is not a boolean");
		goto bad;
	}
	info->released = rel != NULL && json_is_true(rel);
	json_decref(root);
	return 0;
bad:
	json_decref(root);
	memset(info, 0, sizeof(*info));
	return -1;
}

int
lease_watch_expired(struct lease_watch *w, const char *etag, int64_t now_ms,
    int64_t duration_ms)
{
	if (w->etag[0] == '\0' || strcmp(w->etag, etag) != 0) {
		snprintf(w->etag, sizeof(w->etag), "%s", etag);
		w->since_ms = now_ms;
		return 0;
	}
	return now_ms - w->since_ms >= duration_ms;
}

int
lease_init(struct lease *l, struct s3 *s, const char *prefix,
    const char *holder, const char *host, int64_t pid, uint32_t duration,
    char *err, size_t errlen)
{
	size_t n;

	memset(l, 0, sizeof(*l));
	n = strlen(prefix);
	if (n > 0 && prefix[n - 1] != '/') {
		snprintf(err, errlen, "lease: prefix \"%s\" does not end in /",
		    prefix);
		return -1;
	}
	if ((size_t)snprintf(l->key, sizeof(l->key), "%s%s", prefix,
	    LEASE_NAME) >= sizeof(l->key)) {
		snprintf(err, errlen, "lease: prefix too long");
		return -1;
	}
	if (!holder_ok(holder) || !host_ok(host) || pid < 0) {
		snprintf(err, errlen, "lease: bad holder, host or pid");
		return -1;
	}
	if (duration < LEASE_DURATION_MIN || duration > LEASE_DURATION_MAX) {
		snprintf(err, errlen, "lease: duration %" PRIu32 " s is not "
		    "within %d..%d", duration, LEASE_DURATION_MIN,
		    LEASE_DURATION_MAX);
		return -1;
	}
	l->s3 = s;
	snprintf(l->me.holder, sizeof(l->me.holder), "%s", holder);
	snprintf(l->me.host, sizeof(l->me.host), "%s", host);
	l->me.pid = pid;
	l->me.duration = duration;
	l->duration_ms = (int64_t)duration * 1000;
	return 0;
}

int
lease_valid(const struct lease *l, int64_t now_ms)
{
	return l->held && now_ms - l->renewed_ms < l->duration_ms;
}

int64_t
lease_renew_due(const struct lease *l)
{
	return l->renewed_ms + l->duration_ms / 3;
}

/* PUT our document with cond; the new ETag into l->etag on S3_OK. */
static int
put_doc(struct lease *l, enum s3_cond cond, const char *if_etag,
    char *err, size_t errlen)
{
	char doc[LEASE_DOC_MAX + 1], etag[S3_ETAG_MAX + 1];
	int n, rc;

	n = lease_encode(&l->me, doc, sizeof(doc));
	if (n < 0) {
		snprintf(err, errlen, "%s: cannot encode the lease", l->key);
		return S3_ERROR;
	}
	rc = s3_put(l->s3, l->key, doc, (size_t)n, cond, if_etag, etag, err,
	    errlen);
	if (rc == S3_OK && etag[0] == '\0') {
		snprintf(err, errlen, "%s: the PUT's reply has no ETag",
		    l->key);
		return S3_ERROR;
	}
	if (rc == S3_OK)
		snprintf(l->etag, sizeof(l->etag), "%s", etag);
	return rc;
}

int
lease_is_ours(const struct lease_info *me, const struct lease_info *doc)
{
	return strcmp(me->holder, doc->holder) == 0 &&
	    strcmp(me->host, doc->host) == 0 && me->pid == doc->pid &&
	    me->generation == doc->generation &&
	    me->renewal == doc->renewal && me->released == doc->released;
}

/*
 * After a 412 on our conditional PUT: s3.c retries a request whose reply
 * was lost with the same If-Match, so the 412 may answer our own write.
 * 1 when the lease now is exactly the document we wrote (its ETag into
 * l->etag), 0 when not (or it cannot be told).
 */
static int
adopt_own_write(struct lease *l)
{
	struct s3_objinfo a, b;
	struct lease_info doc;
	char err[512];
	void *body;
	size_t n;
	int ok;

	if (s3_head(l->s3, l->key, &a, err, sizeof(err)) != S3_OK ||
	    a.etag[0] == '\0')
		return 0;
	if (s3_get(l->s3, l->key, LEASE_DOC_MAX, &body, &n, err,
	    sizeof(err)) != S3_OK)
		return 0;
	ok = lease_decode(body, n, &doc, err, sizeof(err)) == 0 &&
	    lease_is_ours(&l->me, &doc);
	free(body);
	/* The same object throughout: its ETag did not change. */
	if (!ok || s3_head(l->s3, l->key, &b, err, sizeof(err)) != S3_OK ||
	    strcmp(a.etag, b.etag) != 0)
		return 0;
	snprintf(l->etag, sizeof(l->etag), "%s", a.etag);
	return 1;
}

static void
settle(void)
{
	struct timespec t = mono_timespec(LEASE_SETTLE_MS);

	while (nanosleep(&t, &t) == -1 && errno == EINTR)
		;
}

int
lease_take(struct lease *l, enum lease_how *how, char *err, size_t errlen)
{
	struct s3_objinfo oi;
	enum s3_cond cond;
	const char *if_etag = NULL;
	void *body;
	size_t n;
	int64_t start, dur;
	int rc;

	if (l->held)
		return LEASE_HELD;
	rc = s3_head(l->s3, l->key, &oi, err, errlen);
	if (rc == S3_ERROR)
		return LEASE_ERROR;
	if (rc == S3_NOTFOUND && l->only_existing) {
		l->other_ok = 0;
		l->watch.etag[0] = '\0';
		return LEASE_BUSY;
	}
	if (rc == S3_NOTFOUND) {
		cond = S3_COND_ABSENT;
		*how = LEASE_TOOK_NEW;
		l->me.generation = l->other_ok ? l->other.generation + 1 : 1;
		l->watch.etag[0] = '\0';
	} else {
		if (strcmp(l->watch.etag, oi.etag) != 0) {
			/* Who holds it: read once per ETag. */
			l->other_ok = 0;
			rc = s3_get(l->s3, l->key, LEASE_DOC_MAX, &body, &n,
			    err, errlen);
			if (rc == S3_ERROR)
				return LEASE_ERROR;
			if (rc == S3_OK) {
				l->other_ok = lease_decode(body, n, &l->other,
				    err, errlen) == 0;
				free(body);
			}
		}
		dur = l->duration_ms;
		if (l->other_ok && (int64_t)l->other.duration * 1000 > dur)
			dur = (int64_t)l->other.duration * 1000;
		if (lease_watch_expired(&l->watch, oi.etag, mono_ms(), dur))
			*how = LEASE_TOOK_EXPIRED;
		else if (l->other_ok && l->other.released)
			*how = LEASE_TOOK_RELEASED;
		else
			return LEASE_BUSY;
		cond = S3_COND_MATCH;
		if_etag = oi.etag;
		l->me.generation = l->other_ok ? l->other.generation + 1 : 1;
	}
	l->me.renewal = 0;
	l->me.released = 0;
	start = mono_ms();
	rc = put_doc(l, cond, if_etag, err, errlen);
	if (rc == S3_ERROR)
		return LEASE_ERROR;
	if (rc != S3_OK)
		return LEASE_BUSY;	/* a racing taker wrote it first */
	l->held = 1;
	l->renewed_ms = start;
	settle();
	rc = lease_renew(l, err, errlen);
	if (rc == LEASE_HELD) {
		l->watch.etag[0] = '\0';
		return LEASE_HELD;
	}
	/* Not confirmed: treat it as another's until it expires. */
	l->held = 0;
	return rc == LEASE_LOST ? LEASE_BUSY : LEASE_ERROR;
}

int
lease_renew(struct lease *l, char *err, size_t errlen)
{
	int64_t start;
	int rc;

	if (!l->held) {
		snprintf(err, errlen, "%s: not held", l->key);
		return LEASE_LOST;
	}
	start = mono_ms();
	if (!lease_valid(l, start)) {
		l->held = 0;
		snprintf(err, errlen, "%s: not renewed within %" PRIu32 " s",
		    l->key, l->me.duration);
		return LEASE_LOST;
	}
	l->me.renewal++;
	rc = put_doc(l, S3_COND_MATCH, l->etag, err, errlen);
	if (rc == S3_OK) {
		l->renewed_ms = start;
		return LEASE_HELD;
	}
	if (rc == S3_CHANGED && adopt_own_write(l)) {
		l->renewed_ms = start;
		return LEASE_HELD;
	}
	if (rc == S3_CHANGED) {
		l->held = 0;
		snprintf(err, errlen, "%s: written by another server (412 on "
		    "renewal)", l->key);
		return LEASE_LOST;
	}
	if (!lease_valid(l, mono_ms())) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err);
		l->held = 0;
		snprintf(err, errlen, "%s: not renewed within %" PRIu32
		    " s (%s)", l->key, l->me.duration, why);
		return LEASE_LOST;
	}
	return LEASE_ERROR;
}

int
lease_release(struct lease *l, char *err, size_t errlen)
{
	int rc;

	if (!lease_valid(l, mono_ms())) {
		l->held = 0;
		snprintf(err, errlen, "%s: not held", l->key);
		return LEASE_LOST;
	}
	l->held = 0;
	l->me.released = 1;
	l->me.renewal++;
	rc = put_doc(l, S3_COND_MATCH, l->etag, err, errlen);
	l->me.released = 0;
	if (rc == S3_OK)
		return LEASE_RELEASED;
	if (rc == S3_CHANGED) {
		snprintf(err, errlen, "%s: written by another server", l->key);
		return LEASE_LOST;
	}
	return LEASE_ERROR;
}
