/*
 * fsmeta.c - inode flags and extended attributes of files being backed
 * up or restored.  See fsmeta.h.
 */
#include "autoconf.h"

#include <sys/ioctl.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsmeta.h"

int
fsmeta_iflags(int fd, uint32_t *flags)
{
	int v = 0;

	*flags = 0;
	/* The kernel's ioctl takes an int, whatever its name says. */
	if (ioctl(fd, FS_IOC_GETFLAGS, &v) == -1)
		return -1;
	*flags = (uint32_t)v & FSMETA_IFLAGS_KEPT;
	return 0;
}

int
fsmeta_set_iflags(int fd, uint32_t flags)
{
	/*
	 * The kernel reads an int; the ioctl's number says a long, and
	 * checkers (valgrind) look at that much: all of it is set.
	 */
	union {
		int	 i;
		long	 l;
	} nv = { .l = 0 };
	int v = 0;

	flags &= FSMETA_IFLAGS_KEPT;
	if (ioctl(fd, FS_IOC_GETFLAGS, &v) == -1)
		return -1;
	nv.i = (int)(((uint32_t)v & ~FSMETA_IFLAGS_KEPT) | flags);
	if (nv.i == v)
		return 0;
	return ioctl(fd, FS_IOC_SETFLAGS, &nv);
}

/* ---------------------------------------------------------------- xattrs */

/*
 * The path by which the entry name of dfd is reached without following
 * it: /proc/self/fd/DFD/NAME (the directory through its descriptor, so
 * a rename of a parent on the way does not matter).  Returns 0, or -1
 * when it does not fit.
 */
static int
at_path(char *buf, size_t len, int dfd, const char *name)
{
	int k;

	k = snprintf(buf, len, "/proc/self/fd/%d/%s", dfd, name);
	return k < 0 || (size_t)k >= len ? -1 : 0;
}

static int
xattr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct node_xattr *)a)->name,
	    ((const struct node_xattr *)b)->name);
}

#define LIST_STACK	1024	/* most lists fit: one syscall */

/* Whether nd has the xattr called name. */
static int
has_xattr(const struct node *nd, const char *name)
{
	for (uint32_t i = 0; i < nd->nxattrs; i++)
		if (strcmp(nd->xattrs[i].name, name) == 0)
			return 1;
	return 0;
}

int
fsmeta_acls_drop(int fd, const struct node *nd)
{
	static const char *const acls[] = {
		"system.posix_acl_access", "system.posix_acl_default",
	};
	size_t n = nd->type == NODE_DIR ? 2 : 1;

	for (size_t i = 0; i < n; i++) {
		if (has_xattr(nd, acls[i]) || fremovexattr(fd, acls[i]) == 0)
			continue;
		if (errno != ENODATA && errno != ENOTSUP &&
		    errno != EOPNOTSUPP)
			return -1;
	}
	return 0;
}

int
fsmeta_xattrs_read(int fd, int dfd, const char *name, struct node *nd,
    char *err, size_t errlen)
{
	char stackbuf[LIST_STACK], *list = stackbuf;
	char pbuf[PATH_MAX + 32];
	const char *path = name;
	uint8_t *val = NULL;
	ssize_t k, vk;
	size_t total = 0, n = 0, cnt = 0;
	int rc = 0, tries = 0;

	tree_node_xattrs_free(nd);
	*err = '\0';
	if (fd < 0 && dfd != AT_FDCWD) {
		if (at_path(pbuf, sizeof(pbuf), dfd, name) == -1) {
			snprintf(err, errlen, "extended attributes not read: "
			    "name too long");
			return 1;
		}
		path = pbuf;
	}
	k = fd >= 0 ? flistxattr(fd, list, LIST_STACK) :
	    llistxattr(path, list, LIST_STACK);
	while (k == -1 && errno == ERANGE && tries++ < 4) {
		/* Larger than our buffer: ask for the size, then read. */
		if (list != stackbuf)
			free(list);
		list = NULL;
		if ((k = fd >= 0 ? flistxattr(fd, NULL, 0) :
		    llistxattr(path, NULL, 0)) <= 0)
			break;
		if ((list = malloc((size_t)k)) == NULL)
			return -1;
		k = fd >= 0 ? flistxattr(fd, list, (size_t)k) :
		    llistxattr(path, list, (size_t)k);
	}
	if (k == -1) {
		if (list != stackbuf)
			free(list);
		if (errno == ENOTSUP || errno == EOPNOTSUPP)
			return 0;	/* no xattrs on this file system */
		snprintf(err, errlen, "extended attributes not read: %s",
		    strerror(errno));
		return 1;
	}
	if (k == 0) {
		if (list != stackbuf)
			free(list);
		return 0;
	}
	for (ssize_t i = 0; i < k; i += (ssize_t)strlen(list + i) + 1)
		cnt++;
	if ((nd->xattrs = calloc(cnt, sizeof(*nd->xattrs))) == NULL ||
	    (val = malloc(TREE_MAX_XATTR_VALUE)) == NULL)
		goto oom;
	for (ssize_t i = 0; i < k; i += (ssize_t)strlen(list + i) + 1) {
		const char *xn = list + i;
		size_t nl = strnlen(xn, (size_t)(k - i));

		if (tree_xattr_name_bad(xn, nl) != NULL)
			continue;
		vk = fd >= 0 ? fgetxattr(fd, xn, val, TREE_MAX_XATTR_VALUE) :
		    lgetxattr(path, xn, val, TREE_MAX_XATTR_VALUE);
		if (vk == -1) {
			if (errno == ENODATA || errno == EACCES ||
			    errno == EPERM)
				continue;	/* gone, or not ours to read */
			snprintf(err, errlen, "extended attribute %s not "
			    "read: %s", xn, errno == ERANGE ?
			    "value larger than 64 KiB" : strerror(errno));
			rc = 1;
			continue;
		}
		if ((nd->xattrs[n].name = strdup(xn)) == NULL)
			goto oom;
		if (vk > 0 && (nd->xattrs[n].value = malloc((size_t)vk)) ==
		    NULL) {
			free(nd->xattrs[n].name);
			goto oom;
		}
		if (vk > 0)
			memcpy(nd->xattrs[n].value, val, (size_t)vk);
		nd->xattrs[n].len = (uint32_t)vk;
		nd->nxattrs = (uint32_t)++n;
	}
	free(val);
	if (list != stackbuf)
		free(list);
	if (n > 1)
		qsort(nd->xattrs, n, sizeof(*nd->xattrs), xattr_cmp);
	/* Keep what fits, in name order (tree.h: TREE_MAX_XATTR_BYTES). */
	for (uint32_t i = 0; i < nd->nxattrs; i++) {
		total += strlen(nd->xattrs[i].name) + nd->xattrs[i].len;
		if (total > TREE_MAX_XATTR_BYTES || i >= TREE_MAX_XATTRS) {
			snprintf(err, errlen, "extended attributes from %s on "
			    "not kept: more than %u bytes", nd->xattrs[i].name,
			    TREE_MAX_XATTR_BYTES);
			for (uint32_t j = i; j < nd->nxattrs; j++) {
				free(nd->xattrs[j].name);
				free(nd->xattrs[j].value);
			}
			nd->nxattrs = i;
			rc = 1;
			break;
		}
	}
	if (nd->nxattrs == 0) {
		free(nd->xattrs);
		nd->xattrs = NULL;
	}
	return rc;
oom:
	free(val);
	if (list != stackbuf)
		free(list);
	tree_node_xattrs_free(nd);
	return -1;
}

uint32_t
fsmeta_xattrs_apply(int fd, int dfd, const struct node *nd, char *err,
    size_t errlen)
{
	char path[PATH_MAX + 32];
	const char *why = NULL;
	uint32_t failed = 0;
	size_t used = 0;
	int k;

	*err = '\0';
	if (nd->nxattrs == 0)
		return 0;
	if (fd < 0 && at_path(path, sizeof(path), dfd, nd->name) == -1) {
		snprintf(err, errlen, "name too long");
		return nd->nxattrs;
	}
	for (uint32_t i = 0; i < nd->nxattrs; i++) {
		const struct node_xattr *x = &nd->xattrs[i];

		if ((fd >= 0 ? fsetxattr(fd, x->name, x->value, x->len, 0) :
		    lsetxattr(path, x->name, x->value, x->len, 0)) == 0)
			continue;
		if (why == NULL)
			why = strerror(errno);
		failed++;
		k = snprintf(err + used, errlen - used, "%s%s",
		    used ? ", " : "", x->name);
		if (k > 0 && (size_t)k < errlen - used)
			used += (size_t)k;
		else
			used = errlen - 1;
	}
	if (failed > 0 && used < errlen - 1)
		snprintf(err + used, errlen - used, ": %s", why);
	return failed;
}
