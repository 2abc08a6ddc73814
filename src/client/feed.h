/*
 * feed.h - a backup of something other than the file system: a feed
 * gives the directories and files of a snapshot, and backup.c walks it
 * as it walks a directory.
 *
 * A feed's files are opened only when backup.c needs their bytes: a
 * file whose size, modification time, change time and inode number are
 * those of the same path in the parent snapshot reuses the parent's
 * chunks and is never opened (backup.c's parent check, the same as for
 * the file system).  So a feed that gives each item a stable identity
 * in those four fields is read incrementally, and identical contents
 * become identical chunks, stored once.  mailsrc.c is the feed of a
 * mail set (doc/mail.md).
 */
#ifndef GV_FEED_H
#define GV_FEED_H

#include <sys/stat.h>

#include <stddef.h>

struct client;

/*
 * One entry of a feed's directory: its name (malloc'ed; a valid file
 * name: not empty, no '/', not "." or "..") and a synthetic stat: st_mode
 * S_IFDIR or S_IFREG with permission bits, st_size (a file's length),
 * st_mtim, st_ctim, st_ino, st_uid, st_gid; other fields zero.
 */
struct feed_entry {
	char		*name;
	struct stat	 st;
};

struct feed {
	void		*arg;		/* handed to both calls */
	const char	*label;		/* the snapshot's "paths" in its meta */

	/*
	 * The entries of the directory path ("" for the root, else
	 * "/a/b", names as list gave them), sorted by strcmp() of their
	 * names, without duplicates: *out gets a malloc'ed array of *n
	 * entries (the caller frees each name and the array; NULL when
	 * there are none).  Returns 0; 1 when this directory cannot be
	 * read (err says why: it is left out, a problem); -1 when nothing
	 * more can be read (err says why: the backup fails).
	 */
	int	(*list)(void *arg, const char *path, struct feed_entry **out,
		    size_t *n, char *err, size_t errlen);

	/*
	 * The bytes of the file path (st: as list gave it): *fd gets a
	 * descriptor (the caller closes it) open for reading at offset 0,
	 * holding the content, regular (a memfd or a file) so that fstat()
	 * tells its size.  st->st_size may be corrected to the content's
	 * real length (the feed is then read again next time: its size
	 * does not match).  Returns 0; 1 when this file cannot be read
	 * (err says why: it is left out, a problem); -1 when nothing more
	 * can be read (the backup fails).
	 */
	int	(*open)(void *arg, const char *path, struct stat *st, int *fd,
		    char *err, size_t errlen);
};

/*
 * Back up feed f into the set in effect (client_set(c)) over a session
 * that the call opens (client_keys(), client_session()), with the newest
 * snapshot of the set as the parent unless noparent; quiet as "backup
 * -q", strict as "backup --strict".  A parent whose blobs are gone makes
 * it run again without one, as cmd_backup() does.  Returns the exit
 * status: 0, EXIT_PARTIAL (saved, with entries left out, named on
 * stderr) or EXIT_ERROR (after printing why).  Fills c->result as
 * cmd_backup() does.
 */
int	backup_feed(struct client *c, const struct feed *f, int noparent,
	    int quiet, int strict);

#endif
