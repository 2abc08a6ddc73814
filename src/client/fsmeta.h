/*
 * fsmeta.h - the metadata of a file beyond stat(2) that a backup keeps:
 * Linux inode flags (FS_IOC_GETFLAGS) and extended attributes (which
 * carry POSIX ACLs, as system.posix_acl_access and
 * system.posix_acl_default in the kernel's raw form, and file
 * capabilities, as security.capability): read into a struct node at
 * backup, set from one at restore.
 */
#ifndef GV_FSMETA_H
#define GV_FSMETA_H

#include <linux/fs.h>
#include <stdint.h>

#include "tree.h"

/*
 * The inode flags a backup keeps and a restore sets (after the content):
 * immutable, append-only, nodump, noatime, and the like.  Others (e.g.
 * extents, inline data) describe the file system's layout, not the file,
 * and are neither saved nor set.  The tree format (tree.c) refuses other
 * bits.
 */
#define FSMETA_IFLAGS_KEPT	(FS_SECRM_FL | FS_UNRM_FL | FS_COMPR_FL | \
	FS_SYNC_FL | FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | \
	FS_NOATIME_FL | FS_NOCOMP_FL | FS_JOURNAL_DATA_FL | \
	FS_NOTAIL_FL | FS_DIRSYNC_FL | FS_TOPDIR_FL | FS_NOCOW_FL | \
	FS_PROJINHERIT_FL)
#define FSMETA_IFLAG_NODUMP	0x00000040u	/* FS_NODUMP_FL */
/*
 * The flags that forbid changing the file (and, on a directory, its
 * entries): a restore sets them last, after everything else in the
 * target (fsmeta_set_iflags() with late).
 */
#define FSMETA_IFLAGS_LATE	(FS_IMMUTABLE_FL | FS_APPEND_FL)

/*
 * Read the inode flags of the file open on fd (a regular file or a
 * directory), masked to the kept ones, into *flags.  Returns 0; or -1
 * with errno: ENOTTY or EOPNOTSUPP when the file system has no flags
 * (*flags is then 0, and callers treat it as no flags, not an error),
 * or any other errno of ioctl(2).
 */
int	fsmeta_iflags(int fd, uint32_t *flags);
/*
 * Set the kept inode flags of the file open on fd to flags (masked to
 * FSMETA_IFLAGS_KEPT; the file system's other flags stay): read them,
 * and set them only when they differ.  Returns 0; or -1 with errno of
 * ioctl(2) (ENOTTY, EOPNOTSUPP: no flags on this file system; EPERM:
 * immutable and append-only need CAP_LINUX_IMMUTABLE; EINVAL: a flag
 * this file system does not take).
 */
int	fsmeta_set_iflags(int fd, uint32_t flags);

/*
 * Read the extended attributes of a file into nd->xattrs[0..nd->nxattrs)
 * (malloc'ed, each name and value too; freed by tree_free() with the
 * node), sorted by name.  The file: fd when fd >= 0 (flistxattr), else
 * the entry name of the directory open as dfd, not followed (llistxattr
 * through /proc/self/fd/DFD/NAME, so neither the length of its full
 * path nor a directory on the way renamed meanwhile matters), or, when
 * dfd is AT_FDCWD, the file at the path name.  Those the caller may
 * not read (trusted.* as non-root is not even listed) are left out, as
 * are names outside the namespaces of the tree format (tree.h); so are
 * the last ones (in name order) when they would take more than
 * TREE_MAX_XATTR_BYTES.  A file system without xattrs has none.  Costs
 * one syscall for a file without xattrs.
 *
 * Returns 0 (all read); 1 with the reason in err when some or all
 * could not be read (the file vanished, a value of more than 64 KiB,
 * too many bytes): nd keeps those that were; -1 when memory ran out (nd
 * then has none).
 */
int	fsmeta_xattrs_read(int fd, int dfd, const char *name,
	    struct node *nd, char *err, size_t errlen);
/*
 * Remove the POSIX ACLs of the file open on fd that nd does not have:
 * the access ACL (system.posix_acl_access) and, on a directory, the
 * default one, which a file created in a directory with a default ACL
 * is given.  Returns 0 (none there, or removed, or no ACLs on this file
 * system); or -1 with errno of fremovexattr(2).
 */
int	fsmeta_acls_drop(int fd, const struct node *nd);
/*
 * Set nd's extended attributes on a file: fd when fd >= 0 (fsetxattr),
 * else the entry nd->name of the directory open as dfd, not followed
 * (lsetxattr through /proc/self/fd/DFD/NAME).  Attributes already
 * there and not in nd are left alone.  Returns how many could not be
 * set (0: all were), with their names and the first one's reason in err
 * ("trusted.a, security.capability: Operation not permitted"; cut at
 * errlen).
 */
uint32_t fsmeta_xattrs_apply(int fd, int dfd, const struct node *nd,
	    char *err, size_t errlen);

#endif
