/*
 * atomicfile.h - write a whole file so that readers see the old content
 * or the new, never a part: a temporary file beside it, synced, then
 * renamed into place (DataDir/alerts.json, housekeeping.json).
 */
#ifndef GV_ATOMICFILE_H
#define GV_ATOMICFILE_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Replace path with the len bytes of data, created with mode (before the
 * umask's say: fchmod) through a temporary file path.XXXXXX in the same
 * directory that is written, fdatasync'ed and renamed over path.  0, or
 * -1 with the file and strerror(errno) in err (the temporary file is
 * then removed and path is unchanged).
 */
int	atomicfile_write(const char *path, const void *data, size_t len,
	    mode_t mode, char *err, size_t errlen);

#endif
