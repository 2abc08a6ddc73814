/*
 * fsmeta.c - inode flags and extended attributes of files being backed
 * up or restored.  See fsmeta.h.
 */
#include "autoconf.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <linux/fs.h>

#include "fsmeta.h"

/* The flags that say something about the file, not where it lies. */
#define KEPT_IFLAGS	(FS_SECRM_FL | FS_UNRM_FL | FS_COMPR_FL | \
	FS_SYNC_FL | FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | \
	FS_NOATIME_FL | FS_NOCOMP_FL | FS_JOURNAL_DATA_FL | \
	FS_NOTAIL_FL | FS_DIRSYNC_FL | FS_TOPDIR_FL | FS_NOCOW_FL | \
	FS_PROJINHERIT_FL)

int
fsmeta_iflags(int fd, uint32_t *flags)
{
	int v = 0;

	*flags = 0;
	/* The kernel's ioctl takes an int, whatever its name says. */
	if (ioctl(fd, FS_IOC_GETFLAGS, &v) == -1)
		return -1;
	*flags = (uint32_t)v & KEPT_IFLAGS;
	return 0;
}
