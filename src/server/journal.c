/*
 * journal.c - DataDir/journal: append checksummed records of the
 * catalog's changes, read them back.  See journal.h.
 *
 * Payloads (integers big-endian; a name or set is u8 length, bytes):
 *
 *   every type      u64 client, then
 *   CLIENT_ADD      name, u64 created, u32 flags, token hash[32],
 *                   u64 next snapshot id (1 for a new client; an
 *                   upgraded 0.1.0 client's own)
 *   REGISTER        name, secret[32]
 *   CLIENT_FLAGS    name, u32 flags
 *   CLIENT_TOKEN    name, token hash[32]
 *   CLIENT_REMOVE   name
 *   POLICY_SET      set, u32 last, hourly, daily, weekly, monthly, yearly
 *   POLICY_CLEAR    set
 *   COMMIT          u64 snap, u64 time, root[32], meta[32], u8 flags
 *                   (1: legacy node), [legacy[32]], set, u64 files,
 *                   u64 size, u64 new_bytes, u64 new_blobs
 *   FORGET          u64 snap
 *   SNAP_FLAGS      u64 snap, u32 flags (1: protected)
 *
 * Appends and the creation of the header hold flock(LOCK_EX) on the
 * file, so that even writers outside the catalog's lock cannot
 * interleave.
 *
 * With Store.Backend = s3 every append first writes its record as one
 * journal segment object (the file's header, then the record's frame)
 * under PREFIX/journal/SEQ, SEQ being the file's good end before the
 * append: the appends are serialised by the lock (and the catalog's
 * write transaction around them), so SEQ grows with every record and
 * the segments replay in the file's order.  Only when the bucket has
 * the segment is the record written here and the append answered 0, so
 * the catalog transaction around it commits, and the change is
 * acknowledged, only after its record is in the bucket.  A segment of a
 * change whose transaction then fails is overwritten by the next
 * append (same SEQ).  A catalog made from the bucket writes this file
 * again from the segments (rebuild.c), so SEQ stays above them.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crypto.h"
#include "journal.h"
#include "packstore.h"

static const char magic[JOURNAL_HDR_LEN] = JOURNAL_MAGIC;

/* len + the largest record + sum */
#define FRAME_MAX	(4 + JOURNAL_REC_MAX + JOURNAL_SUM_LEN)

struct journal {
	int		 fd;
	off_t		 end;	/* the good end as this process saw it */
	char		 path[1024];
};

/* ------------------------------------------------------------ encoding */

struct wbuf {
	uint8_t		*p;
	size_t		 len, cap;
	int		 bad;
};

static void
put(struct wbuf *w, const void *p, size_t n)
{
	if (w->bad || n > w->cap - w->len) {
		w->bad = 1;
		return;
	}
	memcpy(w->p + w->len, p, n);
	w->len += n;
}

static void
put8(struct wbuf *w, uint8_t v)
{
	put(w, &v, 1);
}

static void
put32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	put(w, b, 4);
}

static void
put64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];

	be64_put(b, v);
	put(w, b, 8);
}

static void
putstr(struct wbuf *w, const char *s)
{
	size_t n = strnlen(s, JOURNAL_NAME_MAX + 1);

	if (n > JOURNAL_NAME_MAX) {
		w->bad = 1;
		return;
	}
	put8(w, (uint8_t)n);
	put(w, s, n);
}

/* type and payload of r into w; -1 when r cannot be encoded. */
static int
rec_encode(const struct journal_rec *r, struct wbuf *w)
{
	const struct retention *p = &r->policy;

	put8(w, r->type);
	put64(w, r->client);
	switch (r->type) {
	case JOURNAL_CLIENT_ADD:
		putstr(w, r->name);
		put64(w, r->created);
		put32(w, r->flags);
		put(w, r->hash, JOURNAL_HASH_LEN);
		put64(w, r->snap);
		break;
	case JOURNAL_REGISTER:
	case JOURNAL_CLIENT_TOKEN:
		putstr(w, r->name);
		put(w, r->hash, JOURNAL_HASH_LEN);
		break;
	case JOURNAL_CLIENT_FLAGS:
		putstr(w, r->name);
		put32(w, r->flags);
		break;
	case JOURNAL_CLIENT_REMOVE:
		putstr(w, r->name);
		break;
	case JOURNAL_POLICY_SET:
		putstr(w, r->set);
		put32(w, p->last);
		put32(w, p->hourly);
		put32(w, p->daily);
		put32(w, p->weekly);
		put32(w, p->monthly);
		put32(w, p->yearly);
		break;
	case JOURNAL_POLICY_CLEAR:
		putstr(w, r->set);
		break;
	case JOURNAL_COMMIT:
		put64(w, r->snap);
		put64(w, r->time);
		put(w, r->root, BLOB_ID_LEN);
		put(w, r->meta, BLOB_ID_LEN);
		put8(w, r->has_legacy ? 1 : 0);
		if (r->has_legacy)
			put(w, r->legacy, BLOB_ID_LEN);
		putstr(w, r->set);
		put64(w, r->files);
		put64(w, r->size);
		put64(w, r->new_bytes);
		put64(w, r->new_blobs);
		break;
	case JOURNAL_FORGET:
		put64(w, r->snap);
		break;
	case JOURNAL_SNAP_FLAGS:
		if (r->flags & ~JOURNAL_SF_PROTECTED)
			return -1;
		put64(w, r->snap);
		put32(w, r->flags);
		break;
	default:
		return -1;
	}
	return w->bad ? -1 : 0;
}

struct rbuf {
	const uint8_t	*p;
	size_t		 left;
	int		 bad;
};

static const uint8_t *
take(struct rbuf *b, size_t n)
{
	const uint8_t *p = b->p;

	if (b->bad || n > b->left) {
		b->bad = 1;
		return NULL;
	}
	b->p += n;
	b->left -= n;
	return p;
}

static uint8_t
get8(struct rbuf *b)
{
	const uint8_t *p = take(b, 1);

	return p != NULL ? p[0] : 0;
}

static uint32_t
get32(struct rbuf *b)
{
	const uint8_t *p = take(b, 4);

	return p != NULL ? be32_get(p) : 0;
}

static uint64_t
get64(struct rbuf *b)
{
	const uint8_t *p = take(b, 8);

	return p != NULL ? be64_get(p) : 0;
}

static void
getn(struct rbuf *b, void *out, size_t n)
{
	const uint8_t *p = take(b, n);

	if (p != NULL)
		memcpy(out, p, n);
}

static void
getstr(struct rbuf *b, char out[JOURNAL_NAME_MAX + 1])
{
	uint8_t n = get8(b);
	const uint8_t *p;

	if (n > JOURNAL_NAME_MAX)
		b->bad = 1;
	if (b->bad || (p = take(b, n)) == NULL) {
		out[0] = '\0';
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Decode type and payload (len bytes at p) into r; -1 when malformed. */
static int
rec_decode(const uint8_t *p, size_t len, struct journal_rec *r)
{
	struct rbuf b = { p, len, 0 };
	struct retention *pol = &r->policy;

	memset(r, 0, sizeof(*r));
	r->type = get8(&b);
	r->client = get64(&b);
	switch (r->type) {
	case JOURNAL_CLIENT_ADD:
		getstr(&b, r->name);
		r->created = get64(&b);
		r->flags = get32(&b);
		getn(&b, r->hash, JOURNAL_HASH_LEN);
		r->snap = get64(&b);
		break;
	case JOURNAL_REGISTER:
	case JOURNAL_CLIENT_TOKEN:
		getstr(&b, r->name);
		getn(&b, r->hash, JOURNAL_HASH_LEN);
		break;
	case JOURNAL_CLIENT_FLAGS:
		getstr(&b, r->name);
		r->flags = get32(&b);
		break;
	case JOURNAL_CLIENT_REMOVE:
		getstr(&b, r->name);
		break;
	case JOURNAL_POLICY_SET:
		getstr(&b, r->set);
		pol->last = get32(&b);
		pol->hourly = get32(&b);
		pol->daily = get32(&b);
		pol->weekly = get32(&b);
		pol->monthly = get32(&b);
		pol->yearly = get32(&b);
		break;
	case JOURNAL_POLICY_CLEAR:
		getstr(&b, r->set);
		break;
	case JOURNAL_COMMIT:
		r->snap = get64(&b);
		r->time = get64(&b);
		getn(&b, r->root, BLOB_ID_LEN);
		getn(&b, r->meta, BLOB_ID_LEN);
		r->has_legacy = get8(&b);
		if (r->has_legacy > 1)
			return -1;
		if (r->has_legacy)
			getn(&b, r->legacy, BLOB_ID_LEN);
		getstr(&b, r->set);
		r->files = get64(&b);
		r->size = get64(&b);
		r->new_bytes = get64(&b);
		r->new_blobs = get64(&b);
		break;
	case JOURNAL_FORGET:
		r->snap = get64(&b);
		break;
	case JOURNAL_SNAP_FLAGS:
		r->snap = get64(&b);
		r->flags = get32(&b);
		if (r->flags & ~JOURNAL_SF_PROTECTED)
			return -1;
		break;
	default:
		return -1;
	}
	if (b.bad || b.left != 0)
		return -1;
	return 0;
}

static void
frame_sum(const uint8_t *frame, size_t len, uint8_t sum[JOURNAL_SUM_LEN])
{
	uint8_t h[CRYPTO_HASH_LEN];

	crypto_sha256(frame, len, h);
	memcpy(sum, h, JOURNAL_SUM_LEN);
}

/* ------------------------------------------------------------- reading */

/*
 * pread exactly n bytes at off: 1, 0 at the end of the file or a short
 * read (a torn tail), -1 on an error.
 */
static int
read_at(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *)buf + got, n - got,
		    off + (off_t)got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

/*
 * The record at *off into frame (FRAME_MAX bytes): 1 with *off moved
 * past it and *len its type-and-payload length (at frame + 4); 0 at the
 * end or at a torn or damaged record; -1 on a read error.
 */
static int
next_frame(int fd, off_t *off, uint8_t *frame, size_t *len)
{
	uint8_t sum[JOURNAL_SUM_LEN];
	uint32_t n;
	int r;

	if ((r = read_at(fd, frame, 4, *off)) != 1)
		return r;
	n = be32_get(frame);
	if (n < 1 || n > JOURNAL_REC_MAX)
		return 0;
	if ((r = read_at(fd, frame + 4, n + JOURNAL_SUM_LEN, *off + 4)) != 1)
		return r;
	frame_sum(frame, 4 + n, sum);
	if (memcmp(sum, frame + 4 + n, JOURNAL_SUM_LEN) != 0)
		return 0;
	*off += 4 + n + JOURNAL_SUM_LEN;
	*len = n;
	return 1;
}

/* 0 when fd starts with the header, else -1 with a message. */
static int
check_header(int fd, const char *path, char *err, size_t errlen)
{
	char b[JOURNAL_HDR_LEN];
	int r;

	if ((r = read_at(fd, b, sizeof(b), 0)) == -1) {
		snprintf(err, errlen, "journal: cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (r == 0 || memcmp(b, magic, sizeof(magic)) != 0) {
		snprintf(err, errlen, "journal: %s is not a GigaVault "
		    "journal (bad header)", path);
		return -1;
	}
	return 0;
}

int
journal_replay(const char *path,
    int (*fn)(void *arg, const struct journal_rec *r), void *arg,
    uint64_t *ignored, char *err, size_t errlen)
{
	uint8_t frame[FRAME_MAX];
	struct journal_rec rec;
	struct stat st;
	off_t off = JOURNAL_HDR_LEN;
	size_t len;
	int fd, r, ret = 0;

	if (ignored != NULL)
		*ignored = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "journal: cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "journal: %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		close(fd);
		return 0;
	}
	if (check_header(fd, path, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	while ((r = next_frame(fd, &off, frame, &len)) == 1) {
		if (rec_decode(frame + 4, len, &rec) == -1) {
			/* A good sum over a bad record: treat as the end. */
			off -= (off_t)(4 + len + JOURNAL_SUM_LEN);
			break;
		}
		if ((ret = fn(arg, &rec)) != 0)
			break;
	}
	if (r == -1) {
		snprintf(err, errlen, "journal: cannot read %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (ret == 0 && ignored != NULL && st.st_size > off)
		*ignored = (uint64_t)(st.st_size - off);
	close(fd);
	return ret;
}

/* ------------------------------------------------------------- writing */

static int
lock(struct journal *j, int op, char *err, size_t errlen)
{
	while (flock(j->fd, op) == -1) {
		if (errno == EINTR)
			continue;
		snprintf(err, errlen, "journal: cannot lock %s: %s", j->path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

int
journal_open(const char *path, struct journal **out, char *err,
    size_t errlen)
{
	struct journal *j;
	struct stat st;

	*out = NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, errlen, "journal: %s", strerror(errno));
		return -1;
	}
	if (snprintf(j->path, sizeof(j->path), "%s", path) >=
	    (int)sizeof(j->path)) {
		snprintf(err, errlen, "journal: path too long");
		free(j);
		return -1;
	}
	if ((j->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1) {
		snprintf(err, errlen, "journal: cannot open %s: %s", path,
		    strerror(errno));
		free(j);
		return -1;
	}
	if (lock(j, LOCK_EX, err, errlen) == -1)
		goto fail;
	if (fstat(j->fd, &st) == -1) {
		snprintf(err, errlen, "journal: %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	/* Shorter than its header: a crash while it was being created. */
	if (st.st_size < JOURNAL_HDR_LEN && (ftruncate(j->fd, 0) == -1 ||
	    write_all(j->fd, magic, sizeof(magic)) == -1 ||
	    fsync(j->fd) == -1)) {
		snprintf(err, errlen, "journal: cannot write %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (check_header(j->fd, path, err, errlen) == -1)
		goto fail;
	flock(j->fd, LOCK_UN);
	j->end = JOURNAL_HDR_LEN;
	*out = j;
	return 0;
fail:
	close(j->fd);
	free(j);
	return -1;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	close(j->fd);
	free(j);
}

/* Find the good end from j->end on; cut off what follows it.  0 or -1. */
static int
find_end(struct journal *j, char *err, size_t errlen)
{
	uint8_t frame[FRAME_MAX];
	struct stat st;
	size_t len;
	int r;

	if (fstat(j->fd, &st) == -1)
		goto fail;
	if (st.st_size == j->end)
		return 0;
	if (st.st_size < j->end)
		j->end = JOURNAL_HDR_LEN;	/* shorter than seen: rescan */
	while ((r = next_frame(j->fd, &j->end, frame, &len)) == 1)
		;
	if (r == -1)
		goto fail;
	if (st.st_size > j->end && ftruncate(j->fd, j->end) == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "journal: %s: %s", j->path, strerror(errno));
	return -1;
}

int
journal_good_end(const char *path, uint64_t *end, char *err, size_t errlen)
{
	uint8_t frame[FRAME_MAX];
	off_t off = JOURNAL_HDR_LEN;
	struct stat st;
	size_t len;
	int fd, r;

	*end = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "journal: cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && st.st_size == 0) {
		close(fd);	/* created, no header yet: nothing in it */
		return 0;
	}
	if (check_header(fd, path, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	while ((r = next_frame(fd, &off, frame, &len)) == 1)
		;
	if (r == -1) {
		snprintf(err, errlen, "journal: %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	*end = (uint64_t)off;
	return 0;
}

static int	mirror;	/* journal_mirror() */

void
journal_mirror(int on)
{
	mirror = on != 0;
}

/*
 * Set when the bucket held another record under the SEQ this process
 * was to write: another writer has appended to the journal (two
 * servers think they hold the lease, or a DataDir behind the bucket).
 * Every later append fails: going on would fork the history.
 */
static char	fenced[256];

/*
 * Whether segment seq in the bucket is exactly seg (len bytes): 1 yes,
 * 0 it holds something else, 2 missing, -1 the GET failed (err).
 */
static int
segment_is(uint64_t seq, const uint8_t *seg, size_t len, char *err,
    size_t errlen)
{
	void *p;
	size_t n;
	int r, same;

	if ((r = packstore_get_segment(seq, &p, &n, err, errlen)) == -1)
		return -1;
	if (r == 1)
		return 2;
	same = n == len && memcmp(p, seg, len) == 0;
	free(p);
	return same;
}

/*
 * The s3 backend: frame (n bytes) as segment j->end, written only if
 * that key is free.  Our own PUT that landed although its answer was
 * lost (the same bytes) counts as written.  0, or -1 with err (and
 * fenced set when another record holds the key).
 */
static int
put_segment(struct journal *j, const uint8_t *frame, size_t n, char *err,
    size_t errlen)
{
	uint8_t seg[JOURNAL_HDR_LEN + FRAME_MAX];
	uint64_t seq = (uint64_t)j->end;
	char e[512], ge[512];
	int r, same;

	memcpy(seg, magic, JOURNAL_HDR_LEN);
	memcpy(seg + JOURNAL_HDR_LEN, frame, n);
	if ((r = packstore_put_segment(seq, seg, JOURNAL_HDR_LEN + n, e,
	    sizeof(e))) == 0)
		return 0;
	same = segment_is(seq, seg, JOURNAL_HDR_LEN + n, ge, sizeof(ge));
	if (same == 1)
		return 0;
	if (same == 0) {
		snprintf(fenced, sizeof(fenced), "journal: segment %016llx "
		    "in the bucket holds another record than this server's: "
		    "another server writes to the bucket (check the lease "
		    "and the standbys); this process stops writing",
		    (unsigned long long)seq);
		snprintf(err, errlen, "%s", fenced);
		return -1;
	}
	if (r == 1)	/* there a moment ago, gone now, or unreadable */
		snprintf(err, errlen, "journal: segment %016llx exists in "
		    "the bucket and cannot be compared: %s",
		    (unsigned long long)seq, same == 2 ? "gone meanwhile" : ge);
	else
		snprintf(err, errlen, "journal: segment %016llx not written "
		    "to the bucket: %s", (unsigned long long)seq, e);
	return -1;
}

int
journal_frame(const struct journal_rec *r, uint8_t *frame, size_t *n,
    char *err, size_t errlen)
{
	struct wbuf w = { frame + 4, 0, JOURNAL_REC_MAX, 0 };

	if (r->type < 1 || r->type > JOURNAL_TYPE_MAX ||
	    rec_encode(r, &w) == -1) {
		snprintf(err, errlen, "journal: invalid record (type %u)",
		    r->type);
		return -1;
	}
	be32_put(frame, (uint32_t)w.len);
	frame_sum(frame, 4 + w.len, frame + 4 + w.len);
	*n = 4 + w.len + JOURNAL_SUM_LEN;
	return 0;
}

int
journal_append(struct journal *j, const struct journal_rec *r, char *err,
    size_t errlen)
{
	uint8_t frame[FRAME_MAX];
	size_t n;
	int ret = -1;

	if (mirror)
		return 0;
	if (journal_frame(r, frame, &n, err, errlen) == -1)
		return -1;
	if (fenced[0] != '\0') {
		snprintf(err, errlen, "%s", fenced);
		return -1;
	}
	if (lock(j, LOCK_EX, err, errlen) == -1)
		return -1;
	if (find_end(j, err, errlen) == -1)
		goto out;
	/*
	 * The local frame first, then the segment: a change whose local
	 * write failed never leaves a segment in the bucket.
	 */
	if (write_all(j->fd, frame, n) == -1 || fsync(j->fd) == -1) {
		snprintf(err, errlen, "journal: cannot write %s: %s",
		    j->path, strerror(errno));
		goto cut;
	}
	if (packstore_enabled() && put_segment(j, frame, n, err, errlen) ==
	    -1)
		goto cut;
	j->end += (off_t)n;
	ret = 0;
	goto out;
cut:
	/* Take back what may have been written (best effort). */
	if (ftruncate(j->fd, j->end) == -1 || fsync(j->fd) == -1) {
		/* the next append cuts it off */
	}
out:
	flock(j->fd, LOCK_UN);
	return ret;
}

/* ------------------------------------------------------ from the bucket */

struct seglist {
	uint64_t	*seq;
	size_t		 n, cap;
	uint64_t	 from;
	int		 nomem;
};

static int
seg_add(void *arg, uint64_t seq, uint64_t size)
{
	struct seglist *l = arg;
	uint64_t *p;

	(void)size;
	if (seq < l->from)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		if ((p = reallocarray(l->seq, l->cap, sizeof(*p))) == NULL) {
			l->nomem = 1;
			return 1;
		}
		l->seq = p;
	}
	l->seq[l->n++] = seq;
	return 0;
}

int
journal_segment_check(const uint8_t *p, size_t n, size_t *len)
{
	uint8_t sum[JOURNAL_SUM_LEN];
	uint32_t k;

	if (n < JOURNAL_HDR_LEN + 4 + 1 + JOURNAL_SUM_LEN ||
	    memcmp(p, magic, JOURNAL_HDR_LEN) != 0)
		return -1;
	p += JOURNAL_HDR_LEN;
	n -= JOURNAL_HDR_LEN;
	k = be32_get(p);
	if (k < 1 || k > JOURNAL_REC_MAX ||
	    n != 4 + (size_t)k + JOURNAL_SUM_LEN)
		return -1;
	frame_sum(p, 4 + (size_t)k, sum);
	if (memcmp(sum, p + 4 + k, JOURNAL_SUM_LEN) != 0)
		return -1;
	*len = k;
	return 0;
}

/* A checked segment's record decodes (journal_replay() would stop). */
static int
decodes(const void *seg, size_t len)
{
	struct journal_rec r;

	return rec_decode((const uint8_t *)seg + JOURNAL_HDR_LEN + 4, len,
	    &r);
}

int
journal_pull(const char *path, uint64_t *records, char *err, size_t errlen)
{
	struct seglist l = { NULL, 0, 0, 0, 0 };
	struct journal *j;
	size_t n, len;
	void *p;
	int r, ret = -1;

	*records = 0;
	if (!packstore_enabled()) {
		snprintf(err, errlen, "journal: Store.Backend is not s3");
		return -1;
	}
	if (journal_open(path, &j, err, errlen) == -1)
		return -1;
	if (lock(j, LOCK_EX, err, errlen) == -1)
		goto out0;
	if (find_end(j, err, errlen) == -1)
		goto out;
	l.from = (uint64_t)j->end;
	/* Only what is new: the cost of a follow follows it. */
	if (packstore_list_segments_from(l.from, seg_add, &l, err,
	    errlen) == -1) {
		if (l.nomem)
			snprintf(err, errlen, "journal: out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (l.seq[i] != (uint64_t)j->end) {
			snprintf(err, errlen, "journal: segment %016llx in the "
			    "bucket, but %s ends at %llu: segments are missing "
			    "in the bucket", (unsigned long long)l.seq[i], path,
			    (unsigned long long)j->end);
			goto out;
		}
		if ((r = packstore_get_segment(l.seq[i], &p, &n, err,
		    errlen)) != 0) {
			if (r == 1)
				snprintf(err, errlen, "journal: segment "
				    "%016llx vanished from the bucket",
				    (unsigned long long)l.seq[i]);
			goto out;
		}
		if (journal_segment_check(p, n, &len) == -1 ||
		    decodes(p, len) == -1) {
			free(p);
			snprintf(err, errlen, "journal: segment %016llx in the "
			    "bucket is damaged (%zu bytes): not a journal "
			    "header and one good record",
			    (unsigned long long)l.seq[i], n);
			goto out;
		}
		if (write_all(j->fd, (uint8_t *)p + JOURNAL_HDR_LEN,
		    4 + len + JOURNAL_SUM_LEN) == -1) {
			free(p);
			snprintf(err, errlen, "journal: cannot write %s: %s",
			    path, strerror(errno));
			(void)ftruncate(j->fd, j->end);
			goto out;
		}
		free(p);
		j->end += (off_t)(4 + len + JOURNAL_SUM_LEN);
		(*records)++;
	}
	if (fsync(j->fd) == -1) {
		snprintf(err, errlen, "journal: fsync %s: %s", path,
		    strerror(errno));
		goto out;
	}
	ret = 0;
out:
	flock(j->fd, LOCK_UN);
out0:
	journal_close(j);
	free(l.seq);
	return ret;
}
