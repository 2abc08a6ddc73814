/*
 * store.c - pack files: append, fsync, then index; read back and
 * verify.  See store.h for the record format and the durability order.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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

#include <openssl/evp.h>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/iov.h"
#include "common/monotime.h"
#include "packstore.h"
#include "store.h"

#define REC_MAGIC	"GVB2"
#define REC1_MAGIC	"GVB1"	/* 0.1.0: read, copied, never written */
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
	uint64_t	 wkeep;		/* a tail cut stops here (store.h) */
	int		 sealed;	/* s3: wfd uploaded, never appended to */

	/*
	 * Packs closed to appends whose blobs the caller has not indexed
	 * yet: their fds keep LOCK_SH (no prune removes them) until
	 * store_release().
	 */
	int		*held;
	size_t		 nheld, capheld;

	/* Server.ReserveSpace; checked only when set. */
	int		 check_space;
	uint64_t	 reserve;	/* bytes or STORE_RESERVE_AUTO */
	struct store_space seen;	/* by the last put's check */

	/* Written, not yet indexed: one client's blobs in the open pack. */
	uint64_t	 pclient;
	struct cat_blob_add *pend;
	size_t		 npend;
	uint8_t		(*plinks)[BLOB_ID_LEN]; /* their links, in order */
	size_t		 nplinks, capplinks;
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
store_sum(const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks,
    const void *blob, size_t len, uint8_t sum[STORE_SUM_LEN])
{
	uint8_t h[CRYPTO_HASH_LEN];
	EVP_MD_CTX *ctx;

	if (nlinks == 0) {
		crypto_sha256(blob, len, h);
		memcpy(sum, h, STORE_SUM_LEN);
		return;
	}
	/* Out of memory: a sum nothing matches, so the record reads bad. */
	memset(h, 0, sizeof(h));
	if ((ctx = EVP_MD_CTX_new()) != NULL) {
		if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, links, (size_t)nlinks *
		    BLOB_ID_LEN) != 1 ||
		    EVP_DigestUpdate(ctx, blob, len) != 1 ||
		    EVP_DigestFinal_ex(ctx, h, NULL) != 1)
			memset(h, 0, sizeof(h));
		EVP_MD_CTX_free(ctx);
	}
	memcpy(sum, h, STORE_SUM_LEN);
}

uint64_t
store_rec_size(uint32_t nlinks, uint32_t length)
{
	return STORE_HDR_LEN + (uint64_t)nlinks * BLOB_ID_LEN + length;
}

/* A record's header, either format. */
struct rec_hdr {
	size_t		 hlen;		/* STORE_HDR_LEN or STORE_HDR1_LEN */
	uint8_t		 type;
	uint64_t	 client;
	uint8_t		 id[BLOB_ID_LEN];
	uint32_t	 nlinks;
	uint32_t	 length;
	uint8_t		 sum[STORE_SUM_LEN];
};

static void
hdr_encode(uint8_t b[STORE_HDR_LEN], uint8_t type, uint64_t client,
    const uint8_t id[BLOB_ID_LEN], uint32_t nlinks, uint32_t length,
    const uint8_t sum[STORE_SUM_LEN])
{
	memcpy(b, REC_MAGIC, 4);
	b[4] = type;
	b[5] = b[6] = b[7] = 0;
	be64_put(b + 8, client);
	memcpy(b + 16, id, BLOB_ID_LEN);
	be32_put(b + 48, nlinks);
	be32_put(b + 52, length);
	memcpy(b + 56, sum, STORE_SUM_LEN);
}

/*
 * Read and check the header at off of fd whose file has size bytes
 * (UINT64_MAX: unknown).  0, 1 when it cannot be a record (bad magic,
 * type or sizes, past the end), -1 on an I/O error (errno set).
 */
static int	read_at(int, void *, size_t, uint64_t);

static int
hdr_read(int fd, uint64_t off, uint64_t size, struct rec_hdr *h)
{
	uint8_t b[STORE_HDR_LEN];
	int k;

	if ((k = read_at(fd, b, STORE_HDR1_LEN, off)) != 0)
		return k;
	memset(h, 0, sizeof(*h));
	if (memcmp(b, REC1_MAGIC, 4) == 0) {
		h->hlen = STORE_HDR1_LEN;
		h->type = STORE_TYPE_BLOB;
		h->length = be32_get(b + 4);
		memcpy(h->id, b + 8, BLOB_ID_LEN);
		memcpy(h->sum, b + 8 + BLOB_ID_LEN, STORE_SUM_LEN);
	} else if (memcmp(b, REC_MAGIC, 4) == 0) {
		if ((k = read_at(fd, b + STORE_HDR1_LEN,
		    STORE_HDR_LEN - STORE_HDR1_LEN, off + STORE_HDR1_LEN)) != 0)
			return k;
		h->hlen = STORE_HDR_LEN;
		h->type = b[4];
		h->client = be64_get(b + 8);
		memcpy(h->id, b + 16, BLOB_ID_LEN);
		h->nlinks = be32_get(b + 48);
		h->length = be32_get(b + 52);
		memcpy(h->sum, b + 56, STORE_SUM_LEN);
		if ((h->type != STORE_TYPE_BLOB &&
		    h->type != STORE_TYPE_LEGACY) || b[5] || b[6] || b[7])
			return 1;
	} else
		return 1;
	if (h->length > STORE_BLOB_MAX || h->nlinks > STORE_LINKS_MAX ||
	    (h->type == STORE_TYPE_BLOB && h->length == 0))
		return 1;
	if (size != UINT64_MAX && (off > size || size - off < h->hlen +
	    (uint64_t)h->nlinks * BLOB_ID_LEN + h->length))
		return 1;
	return 0;
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
	/*
	 * With the s3 backend the local directory is the cache: packs
	 * this process writes until they are uploaded and kept after,
	 * packs fetched to be read (packstore.h).
	 */
	if (snprintf(s->dir, sizeof(s->dir), "%s/%s", datadir,
	    packstore_enabled() ? PACKSTORE_CACHE_DIR : "packs") >=
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
	free(s->plinks);
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
	store_release(s);
	free(s->held);
	for (int i = 0; i < READ_FDS; i++)
		if (s->rfd[i].fd != -1)
			close(s->rfd[i].fd);
	close(s->dirfd);
	free(s->table);
	free(s->pend);
	free(s->plinks);
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
	s->nplinks = 0;
	s->pbytes = 0;
}

/*
 * 1 when no pending blob of the open pack is indexed there (the bytes
 * after wkeep are garbage), 0 when one is or the catalog cannot say.
 */
static int
pending_unindexed(struct store *s)
{
	uint8_t (*ids)[BLOB_ID_LEN], found[256];
	struct cat_blob loc[256];
	size_t i, k, n;

	if (s->npend == 0)
		return 1;
	if ((ids = reallocarray(NULL, 256, BLOB_ID_LEN)) == NULL)
		return 0;
	for (i = 0; i < s->npend; i += n) {
		n = s->npend - i < 256 ? s->npend - i : 256;
		for (k = 0; k < n; k++)
			memcpy(ids[k], s->pend[i + k].id, BLOB_ID_LEN);
		if (catalog_blobs_lookup(s->cat, s->pclient,
		    (const uint8_t (*)[BLOB_ID_LEN])ids, n, loc, found) !=
		    CAT_OK)
			break;
		for (k = 0; k < n; k++)
			if (found[k] && loc[k].pack == s->wpack &&
			    loc[k].offset >= s->wkeep)
				break;
		if (k < n)
			break;
	}
	free(ids);
	return i >= s->npend;
}

/*
 * Cut the open pack back to wkeep (store.h, the tail cut): what follows
 * is this process's pending records, or a part of one.  A pack that
 * keeps nothing is removed; we hold its lock, so no prune has it.
 * Best effort: on a failure the tail stays, garbage for prune.
 */
static void
cut_tail(struct store *s)
{
	char name[16];

	if (s->wfd == -1 || !pending_unindexed(s))
		return;
	if (s->wkeep == 0) {
		pack_name(s->wpack, name);
		if (unlinkat(s->dirfd, name, 0) == 0)
			(void)fsync(s->dirfd);
	} else
		(void)ftruncate(s->wfd, (off_t)s->wkeep);
	s->woff = s->wkeep;
}

/*
 * Give up the open pack after an error, cut back to what may be
 * indexed; the next put opens a new one.
 */
static void
abandon_pack(struct store *s)
{
	if (s->wfd != -1) {
		/* An uploaded pack's file stays what its object is. */
		if (!s->sealed)
			cut_tail(s);
		close(s->wfd);
	}
	s->wfd = -1;
	s->sealed = 0;
	store_discard(s);
	store_release(s);
}

void
store_finish(struct store *s)
{
	if (s->wfd != -1)
		close(s->wfd);
	s->wfd = -1;
	s->sealed = 0;
	store_discard(s);
	store_release(s);
	/* A pack prune removes must not stay allocated by our reads. */
	for (int i = 0; i < READ_FDS; i++)
		if (s->rfd[i].fd != -1) {
			close(s->rfd[i].fd);
			s->rfd[i].fd = -1;
		}
}

/*
 * The s3 backend, once what an uploaded pack holds is indexed (or
 * dropped): the pack is never appended to again.  Its file stays in the
 * cache (our lock goes with the close), the cache is trimmed to
 * S3.CacheSize.
 */
static void
sealed_pack(struct store *s)
{
	uint32_t pack = s->wpack;

	close(s->wfd);
	s->wfd = -1;
	s->sealed = 0;
	(void)packstore_cache_trim(s->dirfd, pack);
}

/*
 * Stop appending to the open pack, its blobs not indexed yet: its fd,
 * and so its LOCK_SH, is kept until store_release().  0 or -1 (out of
 * memory: the fd is closed, as before this existed).
 */
static int
hold_pack(struct store *s)
{
	if (s->wfd == -1)
		return 0;
	if (s->nheld == s->capheld) {
		size_t cap = s->capheld ? s->capheld * 2 : 4;
		int *v;

		if ((v = reallocarray(s->held, cap, sizeof(*v))) == NULL) {
			close(s->wfd);
			s->wfd = -1;
			s->sealed = 0;
			return fail(s, ENOMEM, "store: out of memory");
		}
		s->held = v;
		s->capheld = cap;
	}
	s->held[s->nheld++] = s->wfd;
	s->wfd = -1;
	s->sealed = 0;
	return 0;
}

void
store_release(struct store *s)
{
	for (size_t i = 0; i < s->nheld; i++)
		close(s->held[i]);
	s->nheld = 0;
	if (s->wfd != -1 && s->sealed)
		sealed_pack(s);
}

/*
 * The test hook GIGAVAULT_TEST_PAUSE_BEFORE_INDEX=PATH (HACKING,
 * gigavaultd(8)): while the file PATH exists, store_flush() waits
 * between the pack's sync (its upload with the s3 backend) and the
 * index, after creating PATH.paused, so that t/95-flush-prune.t runs a
 * prune in that window every time.  At most a minute.
 */
static void
test_pause_before_index(void)
{
	const char *path = getenv("GIGAVAULT_TEST_PAUSE_BEFORE_INDEX");
	char note[PATH_MAX];
	struct stat st;
	int fd;

	if (path == NULL || *path == '\0' || stat(path, &st) == -1)
		return;
	if (snprintf(note, sizeof(note), "%s.paused", path) >=
	    (int)sizeof(note))
		return;
	if ((fd = open(note, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) != -1)
		close(fd);
	for (int i = 0; i < 600 && stat(path, &st) == 0; i++)
		(void)nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
}

int
store_flush(struct store *s)
{
	size_t missing;
	int r;

	if (s->npend == 0)
		return 0;
	if (store_sync(s) == -1)
		return -1;
	/*
	 * From here to the index, the pack stays open and locked (an
	 * uploaded one too): prune, which takes LOCK_EX, leaves it alone
	 * while no index entry names it yet.
	 */
	test_pause_before_index();
	/*
	 * Touched when indexed: near the reserve a blob may wait for the
	 * session's end, and prune's grace counts from now.
	 */
	for (size_t i = 0; i < s->npend; i++)
		s->pend[i].loc.touched = (uint64_t)time(NULL);
	r = catalog_blobs_add_linked(s->cat, s->pclient, s->pend, s->npend,
	    (const uint8_t (*)[BLOB_ID_LEN])s->plinks, &missing);
	if (r == CAT_OK) {
		store_discard(s);
		s->wkeep = s->woff;
		store_release(s);
		return 0;
	}
	/* Nothing was indexed: give the space back (the cut checks). */
	abandon_pack(s);
	if (r == CAT_MISSING)
		return fail(s, ESTALE, "store: %zu links of the blobs to index "
		    "are no longer stored (pruned meanwhile)", missing);
	return fail(s, 0, "%s", catalog_strerror(s->cat));
}

/* ---------------------------------------------------------------- space */

const char *
store_level_name(enum store_level level)
{
	switch (level) {
	case STORE_SPACE_OK:
		return "ok";
	case STORE_SPACE_WARNING:
		return "warning";
	case STORE_SPACE_CRITICAL:
		return "critical";
	}
	return "?";
}

static void
space_fill(const struct statvfs *v, uint64_t reserve, struct store_space *sp)
{
	uint64_t unit = v->f_frsize ? v->f_frsize : v->f_bsize;

	sp->free = (uint64_t)v->f_bavail * unit;
	sp->capacity = (uint64_t)v->f_blocks * unit;
	if (reserve == STORE_RESERVE_AUTO) {
		reserve = sp->capacity / 100;
		if (reserve > STORE_RESERVE_AUTO_MAX)
			reserve = STORE_RESERVE_AUTO_MAX;
	}
	sp->reserve = reserve;
	if (sp->free < reserve)
		sp->level = STORE_SPACE_CRITICAL;
	else if (sp->free - reserve < reserve)
		sp->level = STORE_SPACE_WARNING;
	else
		sp->level = STORE_SPACE_OK;
}

int
store_space_of(const char *path, uint64_t reserve, struct store_space *sp,
    char *err, size_t errlen)
{
	struct statvfs v;

	memset(sp, 0, sizeof(*sp));
	if (statvfs(path, &v) == -1) {
		snprintf(err, errlen, "statvfs %s: %s", path, strerror(errno));
		return -1;
	}
	space_fill(&v, reserve, sp);
	return 0;
}

void
store_space_seen(const struct store *s, struct store_space *sp)
{
	*sp = s->seen;
}

void
store_set_reserve(struct store *s, uint64_t reserve)
{
	s->check_space = reserve != 0;
	s->reserve = reserve;
}

int
store_space(struct store *s, struct store_space *sp)
{
	struct statvfs v;

	memset(sp, 0, sizeof(*sp));
	if (fstatvfs(s->dirfd, &v) == -1)
		return fail(s, errno, "store: statvfs %s: %s", s->dir,
		    strerror(errno));
	space_fill(&v, s->check_space ? s->reserve : 0, sp);
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
	if ((fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL |
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
	s->wkeep = 0;
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

static int
put_rec(struct store *s, uint8_t type, uint64_t client,
    const uint8_t id[BLOB_ID_LEN], const uint8_t (*links)[BLOB_ID_LEN],
    uint32_t nlinks, const void *blob, size_t len, struct cat_blob *at)
{
	uint8_t hdr[STORE_HDR_LEN], found;
	struct cat_blob_add b;
	struct store_space *sp = &s->seen;
	struct iovec iov[3];
	uint64_t size;
	int n = 0, low = 0;

	if ((type == STORE_TYPE_BLOB && len == 0) || len > STORE_BLOB_MAX)
		return fail(s, EINVAL, "store: blob length %zu", len);
	if (nlinks > STORE_LINKS_MAX || (nlinks > 0 && links == NULL))
		return fail(s, EINVAL, "store: %u links", nlinks);
	size = store_rec_size(nlinks, (uint32_t)len);
	if (s->npend > 0 && s->pclient != client && store_flush(s) == -1)
		return -1;
	if (store_pending(s, client, id))
		return 1;
	if (catalog_blobs_lookup(s->cat, client, (const uint8_t (*)[BLOB_ID_LEN])
	    id, 1, NULL, &found) != CAT_OK)
		return fail(s, 0, "%s", catalog_strerror(s->cat));
	if (found)
		return 1;
	if (s->check_space) {
		if (store_space(s, sp) == -1)
			return -1;
		if (sp->free < sp->reserve || sp->free - sp->reserve < size) {
			abandon_pack(s);
			return fail(s, ENOSPC, "%.1f MiB free, reserve %.1f "
			    "MiB", (double)sp->free / (1 << 20),
			    (double)sp->reserve / (1 << 20));
		}
		low = sp->free - sp->reserve - size < STORE_LOW_SPACE;
	}
	/* An uploaded pack is never appended to. */
	if (s->wfd != -1 && s->sealed)
		store_release(s);
	/* Pending blobs live in one pack: flush before starting another. */
	if (s->wfd != -1 && s->woff + size > STORE_PACK_MAX && s->woff > 0) {
		if (store_flush(s) == -1)
			return -1;
		close(s->wfd);
		s->wfd = -1;
	}
	if (s->wfd == -1 && open_pack(s) == -1)
		return -1;
	/* Room for the links, kept until the flush checks them. */
	if (s->capplinks - s->nplinks < nlinks) {
		size_t cap = s->capplinks ? s->capplinks : 1024;
		void *q;

		while (cap - s->nplinks < nlinks)
			cap *= 2;
		if ((q = reallocarray(s->plinks, cap, BLOB_ID_LEN)) == NULL)
			return fail(s, ENOMEM, "store: out of memory");
		s->plinks = q;
		s->capplinks = cap;
	}

	memset(&b, 0, sizeof(b));
	memcpy(b.id, id, BLOB_ID_LEN);
	b.loc.pack = s->wpack;
	b.loc.offset = s->woff;
	b.loc.length = (uint32_t)len;
	b.loc.nlinks = nlinks;
	b.loc.touched = (uint64_t)time(NULL);

	store_sum(links, nlinks, blob, len, hdr + 56);
	hdr_encode(hdr, type, client, id, nlinks, (uint32_t)len, hdr + 56);
	iov[n].iov_base = hdr;
	iov[n++].iov_len = sizeof(hdr);
	if (nlinks > 0) {
		iov[n].iov_base = (void *)links;
		iov[n++].iov_len = (size_t)nlinks * BLOB_ID_LEN;
	}
	if (len > 0) {
		iov[n].iov_base = (void *)blob;
		iov[n++].iov_len = len;
	}
	if (write_all(s->wfd, iov, n, s->woff) == -1) {
		int e = errno;

		/* The space as the write found it, before the cut. */
		(void)store_space(s, sp);
		abandon_pack(s);
		return fail(s, e, "store: write pack %08x: %s", s->wpack,
		    strerror(e));
	}
	s->woff += size;
	s->pclient = client;
	pending_add(s, &b);
	if (nlinks > 0) {
		memcpy(s->plinks[s->nplinks], links, (size_t)nlinks *
		    BLOB_ID_LEN);
		s->nplinks += nlinks;
	}
	if (at != NULL)
		*at = b.loc;
	s->pbytes += size - len;
	/*
	 * Index in batches: by size, and by age, so that a worker killed in
	 * a long upload loses at most STORE_BATCH_SECONDS of it (the next
	 * backup's HAVE finds the rest).
	 */
	/*
	 * Near the reserve, only by count (store.h): a failure then gives
	 * back all that was written since.
	 */
	if ((s->npend >= STORE_BATCH_BLOBS || (!low &&
	    (s->pbytes >= STORE_BATCH_BYTES ||
	    mono_ms() - s->pfirst >= STORE_BATCH_SECONDS * 1000L))) &&
	    store_flush(s) == -1)
		return -1;
	return 0;
}

int
store_put(struct store *s, uint64_t client, const uint8_t id[BLOB_ID_LEN],
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks, const void *blob,
    size_t len)
{
	if (nlinks > WIRE_LINKS_MAX)
		return fail(s, EINVAL, "store: %u links", nlinks);
	return put_rec(s, STORE_TYPE_BLOB, client, id, links, nlinks, blob,
	    len, NULL);
}

void
store_legacy_id(uint64_t client, uint64_t snap, uint8_t id[BLOB_ID_LEN])
{
	uint8_t b[sizeof(STORE_LEGACY_LABEL) - 1 + 16];

	memcpy(b, STORE_LEGACY_LABEL, sizeof(STORE_LEGACY_LABEL) - 1);
	be64_put(b + sizeof(STORE_LEGACY_LABEL) - 1, client);
	be64_put(b + sizeof(STORE_LEGACY_LABEL) - 1 + 8, snap);
	crypto_sha256(b, sizeof(b), id);
}

int
store_put_legacy(struct store *s, uint64_t client,
    const uint8_t id[BLOB_ID_LEN], const uint8_t (*links)[BLOB_ID_LEN],
    uint32_t nlinks, struct cat_blob *at)
{
	if (nlinks == 0)
		return fail(s, EINVAL, "store: a legacy node without links");
	return put_rec(s, STORE_TYPE_LEGACY, client, id, links, nlinks, "",
	    0, at);
}

/* ----------------------------------------------------------------- read */

/*
 * Open pack's file name for reading.  With the s3 backend a pack not in
 * the cache is fetched whole from the bucket first (packstore.h), and a
 * pack read is touched (its mtime) so that the cache's trim evicts the
 * least recently used.  The fd, or -1 with errno (ENOENT: no such pack
 * here nor in the bucket; EIO: the bucket failed, store_strerror()
 * says why).
 */
static int
cache_open(struct store *s, uint32_t pack, const char *name)
{
	char path[PATH_MAX + 32], err[512];
	int fd, r;

	if ((fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC)) != -1 ||
	    errno != ENOENT || !packstore_enabled()) {
		if (fd != -1 && packstore_enabled())
			(void)futimens(fd, NULL);
		return fd;
	}
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if ((r = packstore_fetch_pack(pack, path, err, sizeof(err))) != 0) {
		if (r == 1) {
			errno = ENOENT;
			return -1;
		}
		fail(s, EIO, "store: fetch of pack %08x: %s", pack, err);
		errno = EIO;
		return -1;
	}
	(void)packstore_cache_trim(s->dirfd, pack);
	return openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
}

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
	if ((fd = cache_open(s, pack, name)) == -1)
		return -1;
	i = s->rnext++ % READ_FDS;
	if (s->rfd[i].fd != -1)
		close(s->rfd[i].fd);
	s->rfd[i].fd = fd;
	s->rfd[i].pack = pack;
	return fd;
}

/*
 * Read the record of id at loc: check its header against id, loc's
 * length and nlinks (and client, unless 0 or a "GVB1" record), read
 * its links into links (loc->nlinks ids; may be NULL when 0) and its
 * bytes into buf, check the sum.  *h gets the header.  0, 1 when
 * damaged or the pack is missing, -1 on an I/O error.
 */
static int
rec_read(struct store *s, uint64_t client, const uint8_t id[BLOB_ID_LEN],
    const struct cat_blob *loc, struct rec_hdr *h,
    uint8_t (*links)[BLOB_ID_LEN], void *buf)
{
	uint8_t sum[STORE_SUM_LEN];
	uint64_t at;
	int fd, k;

	if ((fd = read_fd(s, loc->pack)) == -1) {
		if (errno == EIO && packstore_enabled())
			return -1;	/* the bucket's error, kept */
		if (errno == ENOENT)
			return fail(s, ENOENT, "pack %08x is missing",
			    loc->pack), 1;
		return fail(s, errno, "store: open pack %08x: %s", loc->pack,
		    strerror(errno));
	}
	if ((k = hdr_read(fd, loc->offset, UINT64_MAX, h)) == -1)
		goto ioerr;
	if (k == 1 || memcmp(h->id, id, BLOB_ID_LEN) != 0 ||
	    h->length != loc->length || h->nlinks != loc->nlinks ||
	    (client != 0 && h->hlen == STORE_HDR_LEN && h->client != client))
		return fail(s, 0, "pack %08x: bad record header at offset %llu",
		    loc->pack, (unsigned long long)loc->offset), 1;
	at = loc->offset + h->hlen;
	if (h->nlinks > 0 && (k = read_at(fd, links, (size_t)h->nlinks *
	    BLOB_ID_LEN, at)) != 0)
		goto short_or_err;
	at += (uint64_t)h->nlinks * BLOB_ID_LEN;
	if (h->length > 0 && (k = read_at(fd, buf, h->length, at)) != 0)
		goto short_or_err;
	store_sum((const uint8_t (*)[BLOB_ID_LEN])links, h->nlinks, buf,
	    h->length, sum);
	if (memcmp(sum, h->sum, STORE_SUM_LEN) != 0)
		return fail(s, 0, "pack %08x: checksum mismatch at offset %llu",
		    loc->pack, (unsigned long long)loc->offset), 1;
	return 0;
short_or_err:
	if (k == 1)
		return fail(s, 0, "pack %08x ends inside the record at "
		    "offset %llu", loc->pack,
		    (unsigned long long)loc->offset), 1;
ioerr:
	return fail(s, errno, "store: read pack %08x: %s", loc->pack,
	    strerror(errno));
}

int
store_read_rec(struct store *s, uint64_t client,
    const uint8_t id[BLOB_ID_LEN], const struct cat_blob *loc,
    uint8_t (*links)[BLOB_ID_LEN], void *buf)
{
	uint8_t (*tmp)[BLOB_ID_LEN] = NULL;
	struct rec_hdr h;
	int r;

	if (loc->nlinks > STORE_LINKS_MAX)
		return fail(s, 0, "store: %u links", loc->nlinks), 1;
	if (links == NULL && loc->nlinks > 0) {
		if ((tmp = reallocarray(NULL, loc->nlinks, BLOB_ID_LEN)) ==
		    NULL)
			return fail(s, ENOMEM, "store: out of memory");
		links = tmp;
	}
	r = rec_read(s, client, id, loc, &h, links, buf);
	free(tmp);
	return r;
}

int
store_read(struct store *s, const uint8_t id[BLOB_ID_LEN],
    const struct cat_blob *loc, void *buf)
{
	return store_read_rec(s, 0, id, loc, NULL, buf);
}

int
store_links(struct store *s, uint64_t client, const uint8_t id[BLOB_ID_LEN],
    const struct cat_blob *loc, uint8_t (**links)[BLOB_ID_LEN], uint32_t *n)
{
	uint8_t (*v)[BLOB_ID_LEN] = NULL, *buf = NULL;
	struct rec_hdr h;
	int r;

	*links = NULL;
	*n = 0;
	if (loc->nlinks > STORE_LINKS_MAX || loc->length > STORE_BLOB_MAX)
		return fail(s, 0, "store: %u links, %u bytes", loc->nlinks,
		    loc->length), 1;
	if (loc->nlinks == 0)
		return 0;
	if ((v = reallocarray(NULL, loc->nlinks, BLOB_ID_LEN)) == NULL ||
	    (buf = malloc(loc->length ? loc->length : 1)) == NULL) {
		free(v);
		return fail(s, ENOMEM, "store: out of memory");
	}
	r = rec_read(s, client, id, loc, &h, v, buf);
	free(buf);
	if (r != 0) {
		free(v);
		return r;
	}
	*links = v;
	*n = loc->nlinks;
	return 0;
}

/* ---------------------------------------------------- prune and scrub */

static int
cmp_pack(const void *a, const void *b)
{
	const struct store_pack *x = a, *y = b;

	return x->pack < y->pack ? -1 : x->pack > y->pack;
}

struct packlist {
	struct store_pack *v;
	size_t		 n, cap;
};

static int
packlist_add(void *arg, uint32_t pack, uint64_t size)
{
	struct packlist *l = arg;
	struct store_pack *p;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		if ((p = reallocarray(l->v, l->cap, sizeof(*p))) == NULL)
			return -1;
		l->v = p;
	}
	l->v[l->n].pack = pack;
	l->v[l->n].size = size;
	l->n++;
	return 0;
}

/* store_packs() of the s3 backend: the objects under PREFIX/packs/. */
static int
bucket_packs(struct store *s, struct store_pack **out, size_t *n)
{
	struct packlist l = { NULL, 0, 0 };
	char err[512];

	if (packstore_list_packs(packlist_add, &l, err, sizeof(err)) == -1) {
		free(l.v);
		return fail(s, EIO, "store: list of "
		    "packs in the bucket: %s", err);
	}
	*out = l.v;
	*n = l.n;
	return 0;
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
	if (packstore_enabled())
		return bucket_packs(s, out, n);
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
	if ((*fd = cache_open(s, pack, name)) == -1) {
		if (errno == ENOENT)
			return 1;
		if (errno == EIO && packstore_enabled())
			return -1;
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
	char name[16], err[512];

	/* The bucket's object first: a cached file alone is harmless. */
	if (packstore_enabled() && packstore_delete_pack(pack, err,
	    sizeof(err)) == -1)
		return fail(s, EIO, "store: delete of pack %08x in the bucket: "
		    "%s", pack, err);

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
store_pack_mtime(struct store *s, uint32_t pack, time_t *mtime)
{
	char name[16], err[512];
	struct stat st;
	int r;

	*mtime = -1;
	if (packstore_enabled()) {
		if ((r = packstore_pack_mtime(pack, mtime, err,
		    sizeof(err))) == -1)
			return fail(s, EIO, "store: HEAD of pack %08x in the "
			    "bucket: %s", pack, err);
		return r;
	}
	pack_name(pack, name);
	if (fstatat(s->dirfd, name, &st, 0) == -1) {
		if (errno == ENOENT)
			return 1;
		return fail(s, errno, "store: stat pack %08x: %s", pack,
		    strerror(errno));
	}
	*mtime = st.st_mtime;
	return 0;
}

int
store_check_backend(const char *datadir, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int found = 0;

	if (!packstore_enabled())
		return 0;
	snprintf(dir, sizeof(dir), "%s/packs", datadir);
	if ((d = opendir(dir)) == NULL)
		return 0;	/* none: nothing to lose */
	while (!found && (de = readdir(d)) != NULL)
		found = strlen(de->d_name) == 13 &&
		    strcmp(de->d_name + 8, ".pack") == 0;
	closedir(d);
	if (found) {
		snprintf(err, errlen, "%s holds packs written with "
		    "Store.Backend = datadir; they are not in the bucket and "
		    "would not be read: keep Store.Backend = datadir for this "
		    "DataDir, or start the s3 backend on a new DataDir", dir);
		return -1;
	}
	return 0;
}

int
store_sync(struct store *s)
{
	char err[512];

	if (s->wfd == -1 || s->sealed)
		return 0;
	if (fdatasync(s->wfd) == -1) {
		int e = errno;

		/* After a failed sync the state of the bytes is unknown. */
		abandon_pack(s);
		return fail(s, e, "store: fsync pack %08x: %s", s->wpack,
		    strerror(e));
	}
	if (!packstore_enabled() || s->woff == 0)
		return 0;
	/*
	 * The s3 backend: seal the pack and upload it as one object
	 * before anything in it is indexed (doc/object-store.md, rule 1).
	 * A failed upload drops the pending blobs and cuts the file; the
	 * object under that key holds all of it or was never written.
	 */
	if (packstore_put_pack(s->wpack, s->wfd, s->woff, err,
	    sizeof(err)) == -1) {
		abandon_pack(s);
		return fail(s, EIO, "store: upload of pack %08x failed: %s",
		    s->wpack, err);
	}
	/*
	 * Sealed: the next put starts a new pack.  The file stays open
	 * and locked until its blobs are indexed (store_release()).
	 */
	s->wkeep = s->woff;
	s->sealed = 1;
	return 0;
}

int
store_copy(struct store *s, const uint8_t id[BLOB_ID_LEN],
    const struct cat_blob *from, struct cat_blob *to)
{
	uint8_t hdr[STORE_HDR_LEN], *buf;
	struct rec_hdr h;
	struct iovec iov[2];
	uint64_t size;
	size_t body;
	int r;

	if (from->length > STORE_BLOB_MAX || from->nlinks > STORE_LINKS_MAX)
		return fail(s, 0, "store: blob length %u, %u links",
		    from->length, from->nlinks), 1;
	body = (size_t)from->nlinks * BLOB_ID_LEN + from->length;
	if ((buf = malloc(body ? body : 1)) == NULL)
		return fail(s, ENOMEM, "store: out of memory");
	if ((r = rec_read(s, 0, id, from, &h, (uint8_t (*)[BLOB_ID_LEN])buf,
	    buf + (size_t)from->nlinks * BLOB_ID_LEN)) != 0) {
		free(buf);
		return r;
	}
	size = h.hlen + body;
	/*
	 * A full (or uploaded) pack is synced and closed to appends before
	 * the next one starts; it stays locked until the caller has
	 * indexed the copies (store_release()).
	 */
	if (s->wfd != -1 && (s->sealed || (s->woff > 0 &&
	    s->woff + size > STORE_PACK_MAX))) {
		if (store_sync(s) == -1 || hold_pack(s) == -1) {
			free(buf);
			return -1;
		}
	}
	if (s->wfd == -1 && open_pack(s) == -1) {
		free(buf);
		return -1;
	}
	/* The record as it was: a "GVB1" one stays one. */
	if (h.hlen == STORE_HDR1_LEN) {
		memcpy(hdr, REC1_MAGIC, 4);
		be32_put(hdr + 4, h.length);
		memcpy(hdr + 8, h.id, BLOB_ID_LEN);
		memcpy(hdr + 8 + BLOB_ID_LEN, h.sum, STORE_SUM_LEN);
	} else
		hdr_encode(hdr, h.type, h.client, h.id, h.nlinks, h.length,
		    h.sum);
	iov[0].iov_base = hdr;
	iov[0].iov_len = h.hlen;
	iov[1].iov_base = buf;
	iov[1].iov_len = body;
	if (write_all(s->wfd, iov, body ? 2 : 1, s->woff) == -1) {
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
	s->woff += size;
	s->wkeep = s->woff;	/* the caller may index the copy any time */
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
	uint8_t sum[STORE_SUM_LEN], *buf = NULL;
	struct store_rec rec;
	struct rec_hdr h;
	struct stat st;
	size_t cap = 0;
	uint64_t off = 0;
	char name[16];
	int fd, r = 0;

	pack_name(pack, name);
	/*
	 * With the s3 backend a scan reads the object as the bucket has
	 * it now (scrub, rebuild): fetched again, not taken from the cache.
	 */
	if (packstore_enabled() && (unlinkat(s->dirfd, name, 0) == 0 ||
	    errno == ENOENT))
		fd = cache_open(s, pack, name);
	else
		fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == EIO && packstore_enabled())
			return -1;
		return fail(s, errno, "store: open pack %08x: %s", pack,
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		r = fail(s, errno, "store: stat pack %08x: %s", pack,
		    strerror(errno));
		goto done;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (off < (uint64_t)st.st_size) {
		size_t body;
		int k;

		if ((k = hdr_read(fd, off, (uint64_t)st.st_size, &h)) == 1) {
			*bad_at = off;
			r = 1;
			break;
		}
		if (k == -1) {
			r = fail(s, errno, "store: read pack %08x: %s", pack,
			    strerror(errno));
			break;
		}
		body = (size_t)h.nlinks * BLOB_ID_LEN + h.length;
		if (body > cap || buf == NULL) {
			uint8_t *p = realloc(buf, body ? body : 1);

			if (p == NULL) {
				r = fail(s, ENOMEM, "store: out of memory");
				break;
			}
			buf = p;
			cap = body;
		}
		if (body > 0 && (k = read_at(fd, buf, body, off + h.hlen)) !=
		    0) {
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
		rec.size = h.hlen + body;
		rec.type = h.type;
		rec.client = h.client;
		rec.nlinks = h.nlinks;
		rec.length = h.length;
		memcpy(rec.id, h.id, BLOB_ID_LEN);
		memcpy(rec.sum, h.sum, STORE_SUM_LEN);
		store_sum((const uint8_t (*)[BLOB_ID_LEN])buf, h.nlinks,
		    buf + (size_t)h.nlinks * BLOB_ID_LEN, h.length, sum);
		rec.good = memcmp(sum, rec.sum, STORE_SUM_LEN) == 0;
		off += rec.size;
		if (fn(arg, &rec) != 0)
			break;
	}
done:
	free(buf);
	close(fd);
	return r;
}
