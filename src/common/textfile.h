/*
 * textfile.h - read a small text file of our own whole (DataDir/admins,
 * DataDir/apitokens), safely: the root supervisor and the children read
 * files in a directory that belongs to Server.User.
 */
#ifndef GV_TEXTFILE_H
#define GV_TEXTFILE_H

#include <stddef.h>

/*
 * Read path whole into *buf (malloc'ed, max + 1 bytes, NUL-terminated;
 * the caller frees it, and wipes it first when it holds secrets) and
 * its length into *len.  The file is opened without following a
 * symbolic link and without waiting on a FIFO or device (O_NOFOLLOW,
 * O_NONBLOCK); only a regular file is read.  Returns 0 with *buf NULL
 * when path does not exist; 0 with the content; -1 with the reason
 * (path first) in err when it is a link or not a regular file, cannot
 * be read, has max bytes or more, holds a NUL byte, or memory runs out.
 * On -1 *buf is NULL and nothing read is left in memory.
 */
int	textfile_read(const char *path, size_t max, char **buf, size_t *len,
	    char *err, size_t errlen);

#endif
