/*
 * iov.h - after a short writev(2), pwritev(2) or sendmsg(2): step over
 * what was written, for the pack writer (server/store.c) and the
 * session's sender (client/remote.c).
 */
#ifndef GV_IOV_H
#define GV_IOV_H

#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

/*
 * k bytes of the *n vectors at *iov went out (k is at most their sum):
 * drop the vectors written whole and trim the first one left.
 */
static inline void
iov_advance(struct iovec **iov, int *n, size_t k)
{
	while (*n > 0 && k >= (*iov)->iov_len) {
		k -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n > 0) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + k;
		(*iov)->iov_len -= k;
	}
}

#endif
