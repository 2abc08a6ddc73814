/*
 * fsmeta.h - the metadata of a file beyond stat(2) that a backup keeps:
 * Linux inode flags (FS_IOC_GETFLAGS) and, in fsmeta.c, extended
 * attributes (which carry POSIX ACLs and file capabilities).
 */
#ifndef GV_FSMETA_H
#define GV_FSMETA_H

#include <stdint.h>

/*
 * The inode flags a backup keeps and a restore sets (after the content):
 * immutable, append-only, nodump, noatime, and the like; see fsmeta.c.
 * Others (e.g. extents, inline data) describe the file system's layout,
 * not the file, and are neither saved nor set.
 */
#define FSMETA_IFLAG_NODUMP	0x00000040u	/* FS_NODUMP_FL */

/*
 * Read the inode flags of the file open on fd (a regular file or a
 * directory), masked to the kept ones, into *flags.  Returns 0; or -1
 * with errno: ENOTTY or EOPNOTSUPP when the file system has no flags
 * (*flags is then 0, and callers treat it as no flags, not an error),
 * or any other errno of ioctl(2).
 */
int	fsmeta_iflags(int fd, uint32_t *flags);

#endif
