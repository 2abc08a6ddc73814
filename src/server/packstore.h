/*
 * packstore.h - the bucket side of Store.Backend = s3 (issue 21,
 * doc/object-store.md): the process's S3 handle, the keys of packs and
 * journal segments, uploads, fetches into DataDir/cache, deletes and
 * lists.  store.c calls it at its seams (seal and upload on flush, fetch
 * on read, list and delete for prune and scrub), journal.c to write a
 * segment per change, rebuild.c to read the bucket back.
 *
 * The setting is process-wide: packstore_configure() (config_load()
 * calls it when Store.Backend = s3, so the supervisor, every child it
 * forks and gigavaultctl have it) copies the S3 section.  The S3 handle
 * itself is opened on first use by each process (packstore_s3() checks
 * getpid()), so a worker, the housekeeper and gigavaultctl each have
 * their own connection after fork().
 *
 * Errors: 0 (or a positive outcome named with the function) or -1 with
 * a message in (err, errlen) naming the key, from s3.h.
 */
#ifndef GV_PACKSTORE_H
#define GV_PACKSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PACKSTORE_PREFIX_MAX	256
#define PACKSTORE_SEG_MAX	(1u << 20)	/* largest segment read */
#define PACKSTORE_META_MAX	4096	/* largest bucket.json read */
#define PACKSTORE_CACHE_DIR	"cache"	/* under DataDir */

struct s3;

struct packstore_conf {
	const char	*endpoint;
	const char	*region;
	const char	*bucket;
	const char	*prefix;	/* "" or ends in '/' */
	const char	*cred_file;
	const char	*ca_file;	/* NULL or "": the system's */
	int		 path_style;
	uint64_t	 part_size;	/* 0: S3_PART_DEFAULT */
	uint64_t	 cache_size;	/* bytes in DataDir/cache */
	int		 retries;
};

/*
 * Turns the s3 backend on for this process (and the children it forks)
 * with a copy of pc, or off when pc is NULL.  A handle opened with an
 * older setting is dropped.  0, or -1 (out of memory, a prefix too long)
 * with the message in err and the backend off.
 */
int	packstore_configure(const struct packstore_conf *pc, char *err,
	    size_t errlen);
/* 1 when the s3 backend is on, else 0. */
int	packstore_enabled(void);
/* The configured cache size in bytes (0 when off). */
uint64_t packstore_cache_size(void);
/* The configured bucket and prefix ("" when off); valid until the next
 * packstore_configure(). */
const char *packstore_bucket(void);
const char *packstore_prefix(void);

/*
 * This process's S3 handle, opened on its first use (again after a
 * fork: the parent's is left alone, never used).  NULL with a message in
 * err when the backend is off or s3_open() failed.  The handle belongs
 * to packstore; the caller must not close it.
 */
struct s3 *packstore_s3(char *err, size_t errlen);
/*
 * Close this process's S3 handle, if it opened one (its connection too),
 * before a fork that should not inherit it: gigavaultd after its start
 * checks.  The next packstore_s3() opens a new one.
 */
void	packstore_s3_close(void);

/* The key of pack / of journal segment seq, with the prefix. */
void	packstore_pack_key(uint32_t pack, char *key, size_t keylen);
void	packstore_seg_key(uint64_t seq, char *key, size_t keylen);

/*
 * Uploads len bytes of fd (from offset 0) as the object of pack.  0 when
 * the bucket answered 200 (the object holds all of it), -1 otherwise.
 */
int	packstore_put_pack(uint32_t pack, int fd, uint64_t len, char *err,
	    size_t errlen);
/*
 * Fetches the object of pack into path (written as path.tmp, fsync'ed,
 * then renamed).  0, 1 when there is no such object (nothing written),
 * -1 on an error.
 */
int	packstore_fetch_pack(uint32_t pack, const char *path, char *err,
	    size_t errlen);
/* Deletes the object of pack (a missing one is fine).  0 or -1. */
/*
 * The Last-Modified date of pack's object into *mtime (-1 when S3 gave
 * none).  0, 1 when there is no such object, -1 with err on error.
 */
int	packstore_pack_mtime(uint32_t pack, time_t *mtime, char *err,
	    size_t errlen);
int	packstore_delete_pack(uint32_t pack, char *err, size_t errlen);

/*
 * Calls fn(arg, id, size) for each object under PREFIX/packs/ whose name
 * is 8 lowercase hex digits, in id order (fn returns 0 to go on).  Other
 * keys there are skipped.  0, or -1 (also when fn stopped it: fn's own
 * error then).
 */
int	packstore_list_packs(int (*fn)(void *arg, uint32_t pack,
	    uint64_t size), void *arg, char *err, size_t errlen);
/*
 * The same for PREFIX/journal/: fn(arg, seq, size) for each segment (16
 * lowercase hex digits), in seq order.
 */
int	packstore_list_segments(int (*fn)(void *arg, uint64_t seq,
	    uint64_t size), void *arg, char *err, size_t errlen);
/* The same for the segments from seq from on only (S3's StartAfter). */
int	packstore_list_segments_from(uint64_t from, int (*fn)(void *arg,
	    uint64_t seq, uint64_t size), void *arg, char *err,
	    size_t errlen);
/*
 * Writes the len bytes at p as journal segment seq, only if there is no
 * such segment yet (If-None-Match: *).  0 when the bucket has it, 1
 * when a segment seq was there already (its bytes untouched; err says
 * so), -1 otherwise.
 */
int	packstore_put_segment(uint64_t seq, const void *p, size_t len,
	    char *err, size_t errlen);
/*
 * Reads segment seq into *out (malloc'ed, the caller frees; at most
 * PACKSTORE_SEG_MAX bytes) and *n.  0, 1 when it is missing, -1.
 */
int	packstore_get_segment(uint64_t seq, void **out, size_t *n, char *err,
	    size_t errlen);

/*
 * Start-up check of the bucket for a server whose id is server_hex (32
 * hex digits): the bucket is made when missing; PREFIX/bucket.json is
 * read, or written with If-None-Match: * when missing; a bucket.json
 * naming another server id (or that is no such file) is refused.  *made
 * (may be NULL) gets 1 when this call wrote it.  0 or -1 (the message
 * says what to do).
 */
int	packstore_check_bucket(const char *server_hex, int *made, char *err,
	    size_t errlen);

/*
 * The server id bucket.json names, as 32 hex digits and a NUL into hex.
 * 0, 1 when there is no bucket.json, -1 (also when it names no id).
 */
int	packstore_bucket_server_id(char hex[33], char *err, size_t errlen);

/*
 * The parser of bucket.json (n bytes at p, not NUL-terminated, from the
 * bucket): the 32 lowercase hex digits after the first "server_id": "
 * (which must end with '"') into hex with a NUL.  0, or -1 when there
 * are none.  Exported for fuzz/fuzz-objstore.c.
 */
int	packstore_meta_server_id(const char *p, size_t n, char hex[33]);

/*
 * Removes the least recently used pack files of the cache directory
 * (open as dirfd) until at most the configured cache size is left,
 * sparing keep (UINT32_MAX: none) and every file a writer holds a
 * flock(LOCK_SH) on.  Best effort; returns the bytes left.
 */
uint64_t packstore_cache_trim(int dirfd, uint32_t keep);

#endif
