/*
 * store.c - pack files: append, fsync, then index; read back and
 * verify.  See store.h for the record format and the durability order.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/iov.h"
#include "common/monotime.h"
#include "store.h"

#define REC_MAGIC	"GVB1"
#define TABLE_SIZE	(2 * STORE_BATCH_BLOBS)	/* a power of two */
#define READ_FDS	8

struct store {
	struct catalog	*cat;
	char		 dir[PATH_MAX];
	int		 dirfd;

	/* The pack this process appends to. */
	int		 wfd;		/* -1: none open yet */
	uint32_t	 wpack;
	uint64_t	 woff;

	/* Written, not yet indexed: one client's blobs in the open pack. */
	uint64_t	 pclient;
	struct cat_blob_add *pend;
	size_t		 npend;
	uint64_t	 pbytes;
	int64_t		 pfirst;	/* mono_ms() of the oldest */
	uint32_t	*table;		/* index + 1 into pend, 0 = empty */
	uint64_t	 salt;		/* keeps the table's hash unguessable */

	struct {
		uint32_t pack;
		int	 fd;
	}		 rfd[READ_FDS];
	unsigned	 rnext;

	int		 err_no;
	char		 err[256];
};

static int
fail(struct store *s, int err_no, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->err_no = err_no;
	return -1;
}

const char *
store_strerror(const struct store *s)
{
	return s->err;
}

int
store_errno(const struct store *s)
{
	return s->err_no;
}

void
store_sum(const void *blob, size_t len, uint8_t sum[CAT_SUM_LEN])
{
	uint8_t h[CRYPTO_HASH_LEN];

	crypto_sha256(blob, len, h);
	memcpy(sum, h, CAT_SUM_LEN);
}

static void
pack_name(uint32_t pack, char name[16])
{
	snprintf(name, 16, "%08x.pack", pack);
}

int
store_open(const char *datadir, struct catalog *cat, struct store **out,
    char *err, size_t errlen)
{
	struct store *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->pend = calloc(STORE_BATCH_BLOBS, sizeof(*s->pend))) == NULL ||
	    (s->table = calloc(TABLE_SIZE, sizeof(*s->table))) == NULL) {
		snprintf(err, errlen, "store: %s", strerror(errno));
		if (s != NULL)
			free(s->pend);
		free(s);
		return -1;
	}
	s->cat = cat;
	s->wfd = -1;
	for (int i = 0; i < READ_FDS; i++)
		s->rfd[i].fd = -1;
	if (crypto_random(&s->salt, sizeof(s->salt)) == -1) {
		snprintf(err, errlen, "store: no random numbers");
		goto bad;
	}
	if (snprintf(s->dir, sizeof(s->dir), "%s/packs", datadir) >=
	    (int)sizeof(s->dir)) {
		snprintf(err, errlen, "store: path too long");
		goto bad;
	}
	if (mkdir(s->dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "store: cannot create %s: %s", s->dir,
		    strerror(errno));
		goto bad;
	}
	if ((s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		snprintf(err, errlen, "store: cannot open %s: %s", s->dir,
		    strerror(errno));
		goto bad;
	}
	*out = s;
	return 0;
bad:
	free(s->table);
	free(s->pend);
	free(s);
	return -1;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->wfd != -1)
		close(s->wfd);
	for (int i = 0; i < READ_FDS; i++)
		if (s->rfd[i].fd != -1)
			close(s->rfd[i].fd);
	close(s->dirfd);
	free(s->table);
	free(s->pend);
	free(s);
}

/* ------------------------------------------------------- pending blobs */

static size_t
slot_of(const struct store *s, const uint8_t id[BLOB_ID_LEN])
{
	uint64_t x = 0;

	/* splitmix64 of the id's first 8 bytes, salted. */
	for (int i = 0; i < 8; i++)
		x = x << 8 | id[i];
	x ^= s->salt;
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)(x & (TABLE_SIZE - 1));
}

int
store_pending(const struct store *s, uint64_t client,
    const uint8_t id[BLOB_ID_LEN])
{
	if (s->npend == 0 || s->pclient != client)
		return 0;
	for (size_t i = slot_of(s, id); s->table[i] != 0;
	    i = (i + 1) & (TABLE_SIZE - 1))
		if (memcmp(s->pend[s->table[i] - 1].id, id, BLOB_ID_LEN) == 0)
			return 1;
	return 0;
}

static void
pending_add(struct store *s, const struct cat_blob_add *b)
{
	size_t i;

	for (i = slot_of(s, b->id); s->table[i] != 0;
	    i = (i + 1) & (TABLE_SIZE - 1))
		;
	if (s->npend == 0)
		s->pfirst = mono_ms();
	s->pend[s->npend] = *b;
	s->table[i] = (uint32_t)++s->npend;
	s->pbytes += b->loc.length;
}

void
store_discard(struct store *s)
{
	if (s->npend > 0)
		memset(s->table, 0, TABLE_SIZE * sizeof(*s->table));
	s->npend = 0;
	s->pbytes = 0;
}

/* Give up the open pack after an error; the next put opens a new one. */
static void
abandon_pack(struct store *s)
{
	if (s->wfd != -1)
		close(s->wfd);
	s->wfd = -1;
	store_discard(s);
}

void
store_finish(struct store *s)
{
	abandon_pack(s);
}

int
store_flush(struct store *s)
{
	if (s->npend == 0)
		return 0;
	if (store_sync(s) == -1)
		return -1;
	if (catalog_blobs_add(s->cat, s->pclient, s->pend, s->npend) !=
	    CAT_OK) {
		store_discard(s);
		return fail(s, 0, "%s", catalog_strerror(s->cat));
	}
	store_discard(s);
	return 0;
}

/* ---------------------------------------------------------------- write */

static int
open_pack(struct store *s)
{
	struct stat st;
	char name[16];
	uint32_t pack;
	int fd, tries = 0;

again:
	if (catalog_next_pack(s->cat, &pack) != CAT_OK)
		return fail(s, 0, "%s", catalog_strerror(s->cat));
	pack_name(pack, name);
	if ((fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0640)) == -1)
		return fail(s, errno, "store: cannot create %s/%s: %s",
		    s->dir, name, strerror(errno));
	/*
	 * Held while we append: prune leaves the pack alone.  A prune
	 * that locked the empty file first removed it: take another.
	 */
	if (flock(fd, LOCK_SH) == -1 || fstat(fd, &st) == -1) {
		int e = errno;

		close(fd);
		return fail(s, e, "store: lock %s/%s: %s", s->dir, name,
		    strerror(e));
	}
	if (st.st_nlink == 0) {
		close(fd);
		if (++tries < 8)
			goto again;
		return fail(s, EAGAIN, "store: packs keep vanishing in %s",
		    s->dir);
	}
	/* The pack's name must be on disk before the index names it. */
	if (fsync(s->dirfd) == -1) {
		int e = errno;

		close(fd);
		return fail(s, e, "store: fsync %s: %s", s->dir, strerror(e));
	}
	s->wfd = fd;
	s->wpack = pack;
	s->woff = 0;
	return 0;
}

static int
write_all(int fd, struct iovec *iov, int n, uint64_t off)
{
	while (n > 0) {
		ssize_t k = pwritev(fd, iov, n, (off_t)off);

		if (k == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0) {
			errno = EIO;
			return -1;
		}
		off += (uint64_t)k;
		iov_advance(&iov, &n, (size_t)k);
	}
	return 0;
}

int
store_put(struct store *s, uint64_t client, const uint8_t id[BLOB_ID_LEN],
    const void *blob, size_t len)
{
	uint8_t hdr[STORE_HDR_LEN], found;
	struct cat_blob_add b;
	struct iovec iov[2];

	if (len == 0 || len > UINT32_MAX)
		return fail(s, EINVAL, "store: blob length %zu", len);
	if (s->npend > 0 && s->pclient != client && store_flush(s) == -1)
		return -1;
	if (store_pending(s, client, id))
		return 1;
	if (catalog_blobs_lookup(s->cat, client, (const uint8_t (*)[BLOB_ID_LEN])
	    id, 1, NULL, &found) != CAT_OK)
		return fail(s, 0, "%s", catalog_strerror(s->cat));
	if (found)
		return 1;
	/* Pending blobs live in one pack: flush before starting another. */
	if (s->wfd != -1 && s->woff + STORE_HDR_LEN + len > STORE_PACK_MAX &&
	    s->woff > 0) {
		if (store_flush(s) == -1)
			return -1;
		close(s->wfd);
		s->wfd = -1;
	}
	if (s->wfd == -1 && open_pack(s) == -1)
		return -1;

	memset(&b, 0, sizeof(b));
	memcpy(b.id, id, BLOB_ID_LEN);
	b.loc.pack = s->wpack;
	b.loc.offset = s->woff;
	b.loc.length = (uint32_t)len;
	b.loc.touched = (uint64_t)time(NULL);
	store_sum(blob, len, b.loc.sum);

	memcpy(hdr, REC_MAGIC, 4);
	be32_put(hdr + 4, (uint32_t)len);
	memcpy(hdr + 8, id, BLOB_ID_LEN);
	memcpy(hdr + 8 + BLOB_ID_LEN, b.loc.sum, CAT_SUM_LEN);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)blob;
	iov[1].iov_len = len;
	if (write_all(s->wfd, iov, 2, s->woff) == -1) {
		int e = errno;

		abandon_pack(s);
		return fail(s, e, "store: write pack %08x: %s", s->wpack,
		    strerror(e));
	}
	s->woff += sizeof(hdr) + len;
	s->pclient = client;
	pending_add(s, &b);
	/*
	 * Index in batches: by size, and by age, so that a worker killed in
	 * a long upload loses at most STORE_BATCH_SECONDS of it (the next
	 * backup's HAVE finds the rest).
	 */
	if ((s->npend >= STORE_BATCH_BLOBS || s->pbytes >= STORE_BATCH_BYTES ||
	    mono_ms() - s->pfirst >= STORE_BATCH_SECONDS * 1000L) &&
	    store_flush(s) == -1)
		return -1;
	return 0;
}

/* ----------------------------------------------------------------- read */

static int
read_fd(struct store *s, uint32_t pack)
{
	char name[16];
	unsigned i;
	int fd;

	for (i = 0; i < READ_FDS; i++)
		if (s->rfd[i].fd != -1 && s->rfd[i].pack == pack)
			return s->rfd[i].fd;
	pack_name(pack, name);
	if ((fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	i = s->rnext++ % READ_FDS;
	if (s->rfd[i].fd != -1)
		close(s->rfd[i].fd);
	s->rfd[i].fd = fd;
	s->rfd[i].pack = pack;
	return fd;
}

int
store_read(struct store *s, const uint8_t id[BLOB_ID_LEN],
    const struct cat_blob *loc, void *buf)
{
	uint8_t hdr[STORE_HDR_LEN], sum[CAT_SUM_LEN];
	size_t want = sizeof(hdr) + loc->length, got = 0;
	struct iovec iov[2];
	int fd;

	if ((fd = read_fd(s, loc->pack)) == -1) {
		if (errno == ENOENT)
			return fail(s, ENOENT, "pack %08x is missing",
			    loc->pack), 1;
		return fail(s, errno, "store: open pack %08x: %s", loc->pack,
		    strerror(errno));
	}
	while (got < want) {
		ssize_t k;

		if (got < sizeof(hdr)) {
			iov[0].iov_base = hdr + got;
			iov[0].iov_len = sizeof(hdr) - got;
			iov[1].iov_base = buf;
			iov[1].iov_len = loc->length;
			k = preadv(fd, iov, 2, (off_t)(loc->offset + got));
		} else {
			k = pread(fd, (uint8_t *)buf + (got - sizeof(hdr)),
			    want - got, (off_t)(loc->offset + got));
		}
		if (k == -1) {
			if (errno == EINTR)
				continue;
			return fail(s, errno, "store: read pack %08x: %s",
			    loc->pack, strerror(errno));
		}
		if (k == 0)
			return fail(s, 0, "pack %08x ends inside the record at "
			    "offset %llu", loc->pack,
			    (unsigned long long)loc->offset), 1;
		got += (size_t)k;
	}
	if (memcmp(hdr, REC_MAGIC, 4) != 0 || be32_get(hdr + 4) != loc->length ||
	    memcmp(hdr + 8, id, BLOB_ID_LEN) != 0)
		return fail(s, 0, "pack %08x: bad record header at offset %llu",
		    loc->pack, (unsigned long long)loc->offset), 1;
	store_sum(buf, loc->length, sum);
	if (memcmp(sum, hdr + 8 + BLOB_ID_LEN, CAT_SUM_LEN) != 0 ||
	    memcmp(sum, loc->sum, CAT_SUM_LEN) != 0)
		return fail(s, 0, "pack %08x: checksum mismatch at offset %llu",
		    loc->pack, (unsigned long long)loc->offset), 1;
	return 0;
}

/* ---------------------------------------------------- prune and scrub */

static int
cmp_pack(const void *a, const void *b)
{
	const struct store_pack *x = a, *y = b;

	return x->pack < y->pack ? -1 : x->pack > y->pack;
}

int
store_packs(struct store *s, struct store_pack **out, size_t *n)
{
	struct store_pack *v = NULL, *p;
	size_t cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	if ((fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		int e = errno;

		if (fd != -1)
			close(fd);
		return fail(s, e, "store: read %s: %s", s->dir, strerror(e));
	}
	while ((de = readdir(d)) != NULL) {
		unsigned long id;
		char *end;

		if (strlen(de->d_name) != 13 ||
		    strcmp(de->d_name + 8, ".pack") != 0)
			continue;
		errno = 0;
		id = strtoul(de->d_name, &end, 16);
		if (errno != 0 || end != de->d_name + 8 || id > UINT32_MAX)
			continue;
		if (fstatat(s->dirfd, de->d_name, &st, 0) == -1)
			continue;	/* removed meanwhile */
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((p = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				return fail(s, ENOMEM, "store: out of memory");
			}
			v = p;
		}
		v[*n].pack = (uint32_t)id;
		v[*n].size = (uint64_t)st.st_size;
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), cmp_pack);
	*out = v;
	return 0;
}

int
store_pack_lock(struct store *s, uint32_t pack, int *fd)
{
	struct stat st;
	char name[16];

	pack_name(pack, name);
	if ((*fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		return fail(s, errno, "store: open pack %08x: %s", pack,
		    strerror(errno));
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) == -1) {
		int e = errno;

		close(*fd);
		*fd = -1;
		if (e == EWOULDBLOCK)
			return 1;
		return fail(s, e, "store: lock pack %08x: %s", pack,
		    strerror(e));
	}
	if (fstat(*fd, &st) == -1 || st.st_nlink == 0) {
		close(*fd);
		*fd = -1;
		return 1;
	}
	return 0;
}

void
store_pack_unlock(int fd)
{
	if (fd != -1)
		close(fd);
}

int
store_pack_remove(struct store *s, uint32_t pack)
{
	char name[16];

	pack_name(pack, name);
	for (int i = 0; i < READ_FDS; i++)
		if (s->rfd[i].fd != -1 && s->rfd[i].pack == pack) {
			close(s->rfd[i].fd);
			s->rfd[i].fd = -1;
		}
	if (unlinkat(s->dirfd, name, 0) == -1 && errno != ENOENT)
		return fail(s, errno, "store: remove pack %08x: %s", pack,
		    strerror(errno));
	if (fsync(s->dirfd) == -1)
		return fail(s, errno, "store: fsync %s: %s", s->dir,
		    strerror(errno));
	return 0;
}

int
store_sync(struct store *s)
{
	if (s->wfd == -1)
		return 0;
	if (fdatasync(s->wfd) == -1) {
		int e = errno;

		/* After a failed sync the state of the bytes is unknown. */
		abandon_pack(s);
		return fail(s, e, "store: fsync pack %08x: %s", s->wpack,
		    strerror(e));
	}
	return 0;
}

int
store_copy(struct store *s, const uint8_t id[BLOB_ID_LEN],
    const struct cat_blob *from, struct cat_blob *to)
{
	uint8_t hdr[STORE_HDR_LEN], *buf;
	struct iovec iov[2];
	int r;

	if (from->length == 0 || from->length > STORE_BLOB_MAX)
		return fail(s, 0, "store: blob length %u", from->length), 1;
	if ((buf = malloc(from->length)) == NULL)
		return fail(s, ENOMEM, "store: out of memory");
	if ((r = store_read(s, id, from, buf)) != 0) {
		free(buf);
		return r;
	}
	/* A full pack is synced and closed before the next one starts. */
	if (s->wfd != -1 && s->woff > 0 &&
	    s->woff + STORE_HDR_LEN + from->length > STORE_PACK_MAX) {
		if (store_sync(s) == -1) {
			free(buf);
			return -1;
		}
		close(s->wfd);
		s->wfd = -1;
	}
	if (s->wfd == -1 && open_pack(s) == -1) {
		free(buf);
		return -1;
	}
	memcpy(hdr, REC_MAGIC, 4);
	be32_put(hdr + 4, from->length);
	memcpy(hdr + 8, id, BLOB_ID_LEN);
	memcpy(hdr + 8 + BLOB_ID_LEN, from->sum, CAT_SUM_LEN);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = buf;
	iov[1].iov_len = from->length;
	if (write_all(s->wfd, iov, 2, s->woff) == -1) {
		int e = errno;

		free(buf);
		abandon_pack(s);
		return fail(s, e, "store: write pack %08x: %s", s->wpack,
		    strerror(e));
	}
	free(buf);
	*to = *from;
	to->pack = s->wpack;
	to->offset = s->woff;
	s->woff += sizeof(hdr) + from->length;
	return 0;
}

/* pread exactly n bytes at off: 0, 1 at the end of the file, -1. */
static int
read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (uint8_t *)buf + got, n - got,
		    (off_t)(off + got));

		if (k == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0)
			return 1;
		got += (size_t)k;
	}
	return 0;
}

int
store_scan(struct store *s, uint32_t pack,
    int (*fn)(void *arg, const struct store_rec *rec), void *arg,
    uint64_t *bad_at)
{
	uint8_t hdr[STORE_HDR_LEN], sum[CAT_SUM_LEN], *buf = NULL;
	struct store_rec rec;
	struct stat st;
	size_t cap = 0;
	uint64_t off = 0;
	char name[16];
	int fd, r = 0;

	pack_name(pack, name);
	if ((fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return fail(s, errno, "store: open pack %08x: %s", pack,
		    strerror(errno));
	if (fstat(fd, &st) == -1) {
		r = fail(s, errno, "store: stat pack %08x: %s", pack,
		    strerror(errno));
		goto done;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (off < (uint64_t)st.st_size) {
		uint32_t len;
		int k;

		if (off + STORE_HDR_LEN > (uint64_t)st.st_size ||
		    (k = read_at(fd, hdr, sizeof(hdr), off)) == 1) {
			*bad_at = off;
			r = 1;
			break;
		}
		if (k == -1) {
			r = fail(s, errno, "store: read pack %08x: %s", pack,
			    strerror(errno));
			break;
		}
		len = be32_get(hdr + 4);
		if (memcmp(hdr, REC_MAGIC, 4) != 0 || len == 0 ||
		    len > STORE_BLOB_MAX ||
		    off + STORE_HDR_LEN + len > (uint64_t)st.st_size) {
			*bad_at = off;
			r = 1;
			break;
		}
		if (len > cap) {
			uint8_t *p = realloc(buf, len);

			if (p == NULL) {
				r = fail(s, ENOMEM, "store: out of memory");
				break;
			}
			buf = p;
			cap = len;
		}
		if ((k = read_at(fd, buf, len, off + STORE_HDR_LEN)) != 0) {
			if (k == 1) {
				*bad_at = off;
				r = 1;
			} else
				r = fail(s, errno, "store: read pack %08x: %s",
				    pack, strerror(errno));
			break;
		}
		memset(&rec, 0, sizeof(rec));
		rec.pack = pack;
		rec.offset = off;
		rec.length = len;
		memcpy(rec.id, hdr + 8, BLOB_ID_LEN);
		memcpy(rec.sum, hdr + 8 + BLOB_ID_LEN, CAT_SUM_LEN);
		store_sum(buf, len, sum);
		rec.good = memcmp(sum, rec.sum, CAT_SUM_LEN) == 0;
		off += STORE_HDR_LEN + len;
		if (fn(arg, &rec) != 0)
			break;
	}
done:
	free(buf);
	close(fd);
	return r;
}
