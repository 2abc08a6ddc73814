/*
 * lease.h - the writer's lease in the bucket (doc/object-store.md, rule
 * 5): one gigavaultd at a time writes to a bucket.  The lease is the
 * object PREFIX/lease, a small JSON document (struct lease_info), and
 * the protocol runs on s3.h alone:
 *
 *  - taken with a PUT If-None-Match: * when there is none; when there
 *    is one, with a PUT If-Match: its ETag, either at once when it is
 *    marked released, or when the same ETag has been seen for the
 *    lease's duration by our own monotonic clock (measured from the
 *    first time we saw it, so that no two clocks are compared);
 *  - a PUT that succeeded is confirmed after LEASE_SETTLE_MS by a
 *    renewal (If-Match: the ETag we wrote): whether radosgw checks and
 *    writes as one step is not proven (s3.h), so two takers that both
 *    passed the check find out there, and only the last one's renewal
 *    succeeds;
 *  - renewed every duration/3 with If-Match: our last ETag (each
 *    renewal writes a new "renewal" count, so that the ETag changes);
 *  - lost when a renewal is answered 412 and the lease then is not
 *    exactly our document (a 412 to s3.c's retry of our own PUT whose
 *    reply was lost is adopted: lease_is_ours()), or
 *    when no renewal succeeded for the duration counted from the start
 *    of the last one that did (so the holder gives up before any taker,
 *    who counts from after that request ended, may take it);
 *  - released on a clean stop by a PUT If-Match: our ETag of the same
 *    document marked "released", which a waiting server takes at once.
 *    It is never deleted: an unconditional DELETE could remove a lease
 *    someone else took meanwhile.
 *
 * One struct lease per process, used by one thread, over the caller's
 * struct s3.  Functions return the LEASE_* outcomes documented with
 * them; LEASE_ERROR comes with a message in (err, errlen) that names
 * the key and the S3 error.
 */
#ifndef GV_LEASE_H
#define GV_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "s3.h"

enum lease_result {
	LEASE_ERROR	= -1,	/* S3 failed (after s3.c's retries) */
	LEASE_HELD	= 0,	/* we hold it */
	LEASE_BUSY	= 1,	/* another server holds it (not expired) */
	LEASE_LOST	= 2,	/* we held it and do no longer */
	LEASE_RELEASED	= 3,	/* lease_release(): marked released */
};

#define LEASE_DOC_MAX		2048	/* the lease object, bytes */
#define LEASE_HOLDER_MAX	64	/* "holder": a server id in hex */
#define LEASE_HOST_MAX		255	/* "host" */
#define LEASE_DURATION_MIN	2	/* seconds */
#define LEASE_DURATION_MAX	3600
#define LEASE_SETTLE_MS		500	/* from a taking PUT to its check */

/* The lease document: {"holder": ..., "host": ..., "pid": N,
 * "generation": N, "renewal": N, "duration": S, "released": bool}. */
struct lease_info {
	char		 holder[LEASE_HOLDER_MAX + 1];
	char		 host[LEASE_HOST_MAX + 1];
	int64_t		 pid;
	uint64_t	 generation;	/* +1 at each take */
	uint64_t	 renewal;	/* +1 at each renewal; 0 when taken */
	uint32_t	 duration;	/* seconds */
	int		 released;
};

/*
 * The document for info, as compact JSON, into out (outlen bytes with
 * the NUL).  Its length, or -1 when it does not fit or a string of info
 * is not valid (empty holder, or too long).
 */
int	lease_encode(const struct lease_info *info, char *out, size_t outlen);

/*
 * Reads a lease document of len bytes at buf (outside bytes: at most
 * LEASE_DOC_MAX, not NUL-terminated) into *info.  Every field must be
 * there with its type ("released" may be missing: false), the strings
 * within their maxima, duration within LEASE_DURATION_MIN..MAX, pid and
 * the counts not negative.  0, or -1 with the reason in err.
 */
int	lease_decode(const void *buf, size_t len, struct lease_info *info,
	    char *err, size_t errlen);

/*
 * What a taker remembers of a lease held by another: the ETag it last
 * saw and when (mono_ms()) it first saw that ETag.
 */
struct lease_watch {
	char		 etag[S3_ETAG_MAX + 1];	/* "" before the first */
	int64_t		 since_ms;
};

/*
 * Records that the lease has etag at now_ms.  1 when that ETag has been
 * seen, unchanged, for at least duration_ms (the holder stopped
 * renewing: the lease expired), 0 otherwise (a new ETag restarts the
 * count).
 */
int	lease_watch_expired(struct lease_watch *w, const char *etag,
	    int64_t now_ms, int64_t duration_ms);

/* How a lease was taken (lease_take()'s *how). */
enum lease_how {
	LEASE_TOOK_NEW,		/* there was none */
	LEASE_TOOK_EXPIRED,	/* its holder stopped renewing */
	LEASE_TOOK_RELEASED,	/* its holder released it */
};

struct lease {
	struct s3		*s3;
	char			 key[S3_KEY_MAX + 1];
	struct lease_info	 me;	/* what we write */
	int64_t			 duration_ms;
	int			 held;
	char			 etag[S3_ETAG_MAX + 1];	/* ours, when held */
	int64_t			 renewed_ms;	/* start of the last good PUT */
	struct lease_watch	 watch;
	struct lease_info	 other;	/* last document read of another */
	int			 other_ok;	/* other was read and decoded */
	/*
	 * Set by the caller: 1 makes lease_take() leave a missing lease
	 * alone (LEASE_BUSY, other_ok 0): a standby takes over from a
	 * writer, it never starts one.
	 */
	int			 only_existing;
};

/*
 * Prepares l over s (not owned; it must outlive l) for the object
 * PREFIXlease (prefix "" or ending in '/'), as holder (a server id in
 * hex) on host with pid, for duration seconds.  No request is sent.  0,
 * or -1 (a prefix too long, a bad holder, host or duration) with err.
 */
int	lease_init(struct lease *l, struct s3 *s, const char *prefix,
	    const char *holder, const char *host, int64_t pid,
	    uint32_t duration, char *err, size_t errlen);

/*
 * One attempt to take the lease (call it every second or so while it
 * is LEASE_BUSY: the expiry is measured across calls).  LEASE_HELD
 * with *how saying how (after LEASE_SETTLE_MS and a confirming
 * renewal); LEASE_BUSY when another server holds it (l->other has its
 * document when l->other_ok), also when a racing taker won, and when
 * there is none and l->only_existing is set; LEASE_ERROR.
 * Already held: LEASE_HELD at once.
 */
int	lease_take(struct lease *l, enum lease_how *how, char *err,
	    size_t errlen);

/*
 * 1 when l is held and its last good renewal started less than the
 * duration before now_ms; 0 otherwise.  A writer checks it before each
 * write it acknowledges.
 */
int	lease_valid(const struct lease *l, int64_t now_ms);

/* The mono_ms() at which l's next renewal is due (renewed + d/3). */
int64_t	lease_renew_due(const struct lease *l);

/*
 * 1 when doc is the document me describes (holder, host, pid,
 * generation, renewal and released all equal): after a 412 on a
 * renewal, the lease is then our own retried write (s3.c repeats a
 * request whose reply was lost), and its ETag is adopted.
 */
int	lease_is_ours(const struct lease_info *me,
	    const struct lease_info *doc);

/*
 * Renews a held lease.  LEASE_HELD; LEASE_LOST when the lease was
 * written by another (412) or when it had not been renewed within the
 * duration before this call (l is then no longer held, err says which);
 * LEASE_ERROR when S3 failed this time but the lease is still valid
 * (try again soon).  Not held: LEASE_LOST.
 */
int	lease_renew(struct lease *l, char *err, size_t errlen);

/*
 * Marks a held and valid lease released (If-Match: our ETag), so that
 * a waiting server takes it at once; l is no longer held either way.
 * LEASE_RELEASED, LEASE_LOST (it was not ours any more, or not valid:
 * nothing written), or LEASE_ERROR.
 */
int	lease_release(struct lease *l, char *err, size_t errlen);

#endif
