/*
 * packstore.c - the bucket side of Store.Backend = s3: one S3 handle per
 * process, pack objects, journal segments, bucket.json and the cache
 * directory's trim.  See packstore.h and doc/object-store.md.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leasestate.h"
#include "packstore.h"
#include "s3.h"

static struct {
	int		 on;
	char		*endpoint, *region, *bucket, *prefix, *cred, *ca;
	int		 path_style;
	uint64_t	 part_size;
	uint64_t	 cache_size;
	int		 retries;
	struct s3	*s3;
	pid_t		 pid;	/* the process that opened s3 */
} ps;

static void
ps_clear(void)
{
	if (ps.s3 != NULL && ps.pid == getpid())
		s3_close(ps.s3);
	free(ps.endpoint);
	free(ps.region);
	free(ps.bucket);
	free(ps.prefix);
	free(ps.cred);
	free(ps.ca);
	memset(&ps, 0, sizeof(ps));
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

int
packstore_configure(const struct packstore_conf *pc, char *err,
    size_t errlen)
{
	ps_clear();
	if (pc == NULL)
		return 0;
	if (pc->prefix != NULL && strlen(pc->prefix) > PACKSTORE_PREFIX_MAX) {
		snprintf(err, errlen, "S3.Prefix: longer than %d bytes",
		    PACKSTORE_PREFIX_MAX);
		return -1;
	}
	ps.endpoint = dup_or_empty(pc->endpoint);
	ps.region = dup_or_empty(pc->region);
	ps.bucket = dup_or_empty(pc->bucket);
	ps.prefix = dup_or_empty(pc->prefix);
	ps.cred = dup_or_empty(pc->cred_file);
	ps.ca = dup_or_empty(pc->ca_file);
	if (ps.endpoint == NULL || ps.region == NULL || ps.bucket == NULL ||
	    ps.prefix == NULL || ps.cred == NULL || ps.ca == NULL) {
		ps_clear();
		snprintf(err, errlen, "packstore: out of memory");
		return -1;
	}
	ps.path_style = pc->path_style;
	ps.part_size = pc->part_size;
	ps.cache_size = pc->cache_size;
	ps.retries = pc->retries;
	ps.on = 1;
	return 0;
}

int
packstore_enabled(void)
{
	return ps.on;
}

uint64_t
packstore_cache_size(void)
{
	return ps.on ? ps.cache_size : 0;
}

const char *
packstore_bucket(void)
{
	return ps.on ? ps.bucket : "";
}

const char *
packstore_prefix(void)
{
	return ps.on ? ps.prefix : "";
}

struct s3 *
packstore_s3(char *err, size_t errlen)
{
	struct s3_config cfg;

	if (!ps.on) {
		snprintf(err, errlen, "packstore: Store.Backend is not s3");
		return NULL;
	}
	if (ps.s3 != NULL && ps.pid == getpid())
		return ps.s3;
	ps.s3 = NULL;	/* the parent's: not ours to use or close */
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = ps.endpoint;
	cfg.region = ps.region;
	cfg.bucket = ps.bucket;
	cfg.path_style = ps.path_style;
	cfg.ca_file = ps.ca[0] != '\0' ? ps.ca : NULL;
	cfg.cred_file = ps.cred;
	cfg.retries = ps.retries;
	cfg.part_size = ps.part_size;
	if (s3_open(&cfg, &ps.s3, err, errlen) == -1)
		return NULL;
	ps.pid = getpid();
	return ps.s3;
}

void
packstore_s3_close(void)
{
	if (ps.s3 != NULL && ps.pid == getpid())
		s3_close(ps.s3);
	ps.s3 = NULL;
	ps.pid = 0;
}

void
packstore_pack_key(uint32_t pack, char *key, size_t keylen)
{
	snprintf(key, keylen, "%spacks/%08" PRIx32, ps.on ? ps.prefix : "",
	    pack);
}

void
packstore_seg_key(uint64_t seq, char *key, size_t keylen)
{
	snprintf(key, keylen, "%sjournal/%016" PRIx64, ps.on ? ps.prefix :
	    "", seq);
}

int
packstore_put_pack(uint32_t pack, int fd, uint64_t len, char *err,
    size_t errlen)
{
	char key[S3_KEY_MAX + 1];
	struct s3 *s;

	if (lease_may_write(err, errlen) == -1)	/* leasestate.h */
		return -1;
	if ((s = packstore_s3(err, errlen)) == NULL)
		return -1;
	packstore_pack_key(pack, key, sizeof(key));
	return s3_put_fd(s, key, fd, 0, len, NULL, err, errlen) == S3_OK ?
	    0 : -1;
}

int
packstore_fetch_pack(uint32_t pack, const char *path, char *err,
    size_t errlen)
{
	char key[S3_KEY_MAX + 1], tmp[4096];
	struct s3 *s;
	uint64_t n;
	int fd, r;

	if ((s = packstore_s3(err, errlen)) == NULL)
		return -1;
	packstore_pack_key(pack, key, sizeof(key));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "packstore: path too long");
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		snprintf(err, errlen, "packstore: cannot create %s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	r = s3_get_fd(s, key, fd, &n, err, errlen);
	if (r == S3_OK && fsync(fd) == -1) {
		snprintf(err, errlen, "packstore: fsync %s: %s", tmp,
		    strerror(errno));
		r = S3_ERROR;
	}
	close(fd);
	if (r == S3_OK && rename(tmp, path) == -1) {
		snprintf(err, errlen, "packstore: rename %s: %s", tmp,
		    strerror(errno));
		r = S3_ERROR;
	}
	if (r != S3_OK)
		(void)unlink(tmp);
	if (r == S3_NOTFOUND)
		return 1;
	return r == S3_OK ? 0 : -1;
}

int
packstore_delete_pack(uint32_t pack, char *err, size_t errlen)
{
	char key[S3_KEY_MAX + 1];
	struct s3 *s;

	if (lease_may_write(err, errlen) == -1)	/* leasestate.h */
		return -1;
	if ((s = packstore_s3(err, errlen)) == NULL)
		return -1;
	packstore_pack_key(pack, key, sizeof(key));
	return s3_delete(s, key, err, errlen) == S3_OK ? 0 : -1;
}

int
packstore_pack_mtime(uint32_t pack, time_t *mtime, char *err, size_t errlen)
{
	char key[S3_KEY_MAX + 1];
	struct s3_objinfo info;
	struct s3 *s;
	int r;

	*mtime = -1;
	if ((s = packstore_s3(err, errlen)) == NULL)
		return -1;
	packstore_pack_key(pack, key, sizeof(key));
	if ((r = s3_head(s, key, &info, err, errlen)) == S3_NOTFOUND)
		return 1;
	if (r != S3_OK)
		return -1;
	*mtime = info.mtime;
	return 0;
}

/* A list of PREFIX/SUB/ keys of ndigits lowercase hex digits. */
struct listarg {
	size_t		 skip;		/* strlen(PREFIX/SUB/) */
	int		 ndigits;
	int		 (*fn)(void *, uint64_t, uint64_t);
	void		*arg;
	int		 stopped;
};

static int
list_one(const char *key, uint64_t size, const char *etag, void *arg)
{
	struct listarg *a = arg;
	const char *name = key + a->skip;
	uint64_t v = 0;

	(void)etag;
	if (strlen(key) < a->skip || strlen(name) != (size_t)a->ndigits)
		return 0;
	for (int i = 0; i < a->ndigits; i++) {
		int c = (unsigned char)name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return 0;
	}
	if (a->fn(a->arg, v, size) != 0) {
		a->stopped = 1;
		return 1;
	}
	return 0;
}

static int
list_hex(const char *sub, int ndigits, uint64_t from, int (*fn)(void *,
    uint64_t, uint64_t), void *arg, char *err, size_t errlen)
{
	char pfx[PACKSTORE_PREFIX_MAX + 32], after[PACKSTORE_PREFIX_MAX + 64];
	struct listarg a;
	struct s3 *s;
	int r;

	if ((s = packstore_s3(err, errlen)) == NULL)
		return -1;
	snprintf(pfx, sizeof(pfx), "%s%s", ps.prefix, sub);
	a.skip = strlen(pfx);
	a.ndigits = ndigits;
	a.fn = fn;
	a.arg = arg;
	a.stopped = 0;
	/*
	 * S3 lists in binary order: fixed-width hex is numeric order, so
	 * the keys from "from" on are those after the key of from - 1.
	 */
	after[0] = '\0';
	if (from > 0)
		snprintf(after, sizeof(after), "%s%0*llx", pfx, ndigits,
		    (unsigned long long)(from - 1));
	r = s3_list_after(s, pfx, after, 1000, list_one, &a, err, errlen);
	if (r == S3_STOPPED) {
		snprintf(err, errlen, "packstore: list of %s stopped", pfx);
		return -1;
	}
	return r == S3_OK ? 0 : -1;
}

struct packfn {
	int		(*fn)(void *, uint32_t, uint64_t);
	void		*arg;
};

static int
pack_one(void *arg, uint64_t v, uint64_t size)
{
	struct packfn *p = arg;

	return p->fn(p->arg, (uint32_t)v, size);
}

int
packstore_list_packs(int (*fn)(void *arg, uint32_t pack, uint64_t size),
    void *arg, char *err, size_t errlen)
{
	struct packfn p = { fn, arg };

	return list_hex("packs/", 8, 0, pack_one, &p, err, errlen);
}

int
packstore_list_segments(int (*fn)(void *arg, uint64_t seq, uint64_t size),
    void *arg, char *err, size_t errlen)
{
	return list_hex("journal/", 16, 0, fn, arg, err, errlen);
}

int
packstore_list_segments_from(uint64_t from, int (*fn)(void *arg,
    uint64_t seq, uint64_t size), void *arg, char *err, size_t errlen)
{
	return list_hex("journal/", 16, from, fn, arg, err, errlen);
}

int
packstore_put_segment(uint64_t seq, const void *p, size_t len, char *err,
    size_t errlen)
{
	char key[S3_KEY_MAX + 1];
	struct s3 *s;

	if (lease_may_write(err, errlen) == -1)	/* leasestate.h */
		return -1;
	if ((s = packstore_s3(err, errlen)) == NULL)
		return -1;
	packstore_seg_key(seq, key, sizeof(key));
	/* Never over another segment: a second writer must not win. */
	switch (s3_put(s, key, p, len, S3_COND_ABSENT, NULL, NULL, err,
	    errlen)) {
	case S3_OK:
		return 0;
	case S3_EXISTS:
		snprintf(err, errlen, "segment %016llx exists",
		    (unsigned long long)seq);
		return 1;
	default:
		return -1;
	}
}

int
packstore_get_segment(uint64_t seq, void **out, size_t *n, char *err,
    size_t errlen)
{
	char key[S3_KEY_MAX + 1];
	struct s3 *s;
	int r;

	*out = NULL;
	*n = 0;
	if ((s = packstore_s3(err, errlen)) == NULL)
		return -1;
	packstore_seg_key(seq, key, sizeof(key));
	r = s3_get(s, key, PACKSTORE_SEG_MAX, out, n, err, errlen);
	if (r == S3_NOTFOUND)
		return 1;
	return r == S3_OK ? 0 : -1;
}

int
packstore_meta_server_id(const char *p, size_t n, char hex[33])
{
	static const char tag[] = "\"server_id\": \"";
	const char *q;

	for (q = p; q + sizeof(tag) - 1 + 32 < p + n; q++) {
		if (memcmp(q, tag, sizeof(tag) - 1) != 0)
			continue;
		q += sizeof(tag) - 1;
		for (int i = 0; i < 32; i++)
			if (strchr("0123456789abcdef", q[i]) == NULL ||
			    q[i] == '\0')
				return -1;
		if (q[32] != '"')
			return -1;
		memcpy(hex, q, 32);
		hex[32] = '\0';
		return 0;
	}
	return -1;
}

int
packstore_bucket_server_id(char hex[33], char *err, size_t errlen)
{
	char key[S3_KEY_MAX + 1];
	struct s3 *s;
	void *p;
	size_t n;
	int r;

	if ((s = packstore_s3(err, errlen)) == NULL)
		return -1;
	snprintf(key, sizeof(key), "%sbucket.json", ps.prefix);
	r = s3_get(s, key, PACKSTORE_META_MAX, &p, &n, err, errlen);
	if (r == S3_NOTFOUND)
		return 1;
	if (r != S3_OK)
		return -1;
	r = packstore_meta_server_id(p, n, hex);
	free(p);
	if (r == -1) {
		snprintf(err, errlen, "S3 bucket %s: %s holds no server_id",
		    ps.bucket, key);
		return -1;
	}
	return 0;
}

int
packstore_check_bucket(const char *server_hex, int *made, char *err,
    size_t errlen)
{
	char key[S3_KEY_MAX + 1], body[256], hex[33];
	struct s3 *s;
	void *p;
	size_t n;
	int r, tries = 0;

	if (made != NULL)
		*made = 0;
	if ((s = packstore_s3(err, errlen)) == NULL)
		return -1;
	snprintf(key, sizeof(key), "%sbucket.json", ps.prefix);
again:
	r = s3_get(s, key, PACKSTORE_META_MAX, &p, &n, err, errlen);
	if (r == S3_NOTFOUND) {
		if (s3_bucket_create(s, err, errlen) == S3_ERROR)
			return -1;
		snprintf(body, sizeof(body), "{\"format\": 1, \"server_id\": "
		    "\"%s\", \"created\": %lld}\n", server_hex,
		    (long long)time(NULL));
		r = s3_put(s, key, body, strlen(body), S3_COND_ABSENT, NULL,
		    NULL, err, errlen);
		if (r == S3_EXISTS && ++tries < 3)
			goto again;	/* written meanwhile: read it */
		if (r != S3_OK)
			return -1;
		if (made != NULL)
			*made = 1;
		return 0;
	}
	if (r != S3_OK)
		return -1;
	if (packstore_meta_server_id(p, n, hex) == -1) {
		free(p);
		snprintf(err, errlen, "S3 bucket %s: %s holds no server_id: "
		    "not a GigaVault bucket (use another S3.Bucket or "
		    "S3.Prefix)", ps.bucket, key);
		return -1;
	}
	free(p);
	if (strcmp(hex, server_hex) != 0) {
		snprintf(err, errlen, "S3 bucket %s: %s names server %s, this "
		    "DataDir is server %s: it belongs to another server (use "
		    "another S3.Bucket or S3.Prefix, or rebuild-catalog "
		    "--from-bucket on a DataDir of that server)", ps.bucket,
		    key, hex, server_hex);
		return -1;
	}
	return 0;
}

struct cfile {
	uint32_t	 pack;
	uint64_t	 size;
	time_t		 used;
};

static int
cmp_used(const void *a, const void *b)
{
	const struct cfile *x = a, *y = b;

	return x->used < y->used ? -1 : x->used > y->used;
}

uint64_t
packstore_cache_trim(int dirfd, uint32_t keep)
{
	struct cfile *v = NULL, *nv;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned long id;
		char *end;

		if (strlen(de->d_name) != 13 ||
		    strcmp(de->d_name + 8, ".pack") != 0)
			continue;
		id = strtoul(de->d_name, &end, 16);
		if (end != de->d_name + 8 || id > UINT32_MAX ||
		    fstatat(dirfd, de->d_name, &st, 0) == -1)
			continue;
		total += (uint64_t)st.st_size;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		v[n].pack = (uint32_t)id;
		v[n].size = (uint64_t)st.st_size;
		/* Reads touch the file's mtime (store.c): least recent
		 * use first. */
		v[n].used = st.st_mtime;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_used);
	for (size_t i = 0; i < n && total > ps.cache_size; i++) {
		char name[16];
		int f;

		if (v[i].pack == keep)
			continue;
		snprintf(name, sizeof(name), "%08" PRIx32 ".pack", v[i].pack);
		if ((f = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		/* A writer holds LOCK_SH while it appends: spare it. */
		if (flock(f, LOCK_EX | LOCK_NB) == 0 &&
		    unlinkat(dirfd, name, 0) == 0)
			total -= v[i].size;
		close(f);
	}
	free(v);
	return total;
}
