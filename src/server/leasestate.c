/*
 * leasestate.c - the lease's validity for other processes
 * (leasestate.h).
 */
#include "autoconf.h"

#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"

#include "config.h"
#include "leasestate.h"

struct lease_page {
	int64_t		 until_ms;	/* mono_ms(); 0: not valid */
};

static struct lease_page *page;

int
leasestate_map(void)
{
	void *p;

	if (page != NULL)
		return 0;
	p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	page = p;
	__atomic_store_n(&page->until_ms, 0, __ATOMIC_SEQ_CST);
	return 0;
}

void
leasestate_publish(int64_t until_ms)
{
	if (page != NULL)
		__atomic_store_n(&page->until_ms, until_ms, __ATOMIC_SEQ_CST);
}

int
lease_may_write(char *err, size_t errlen)
{
	int64_t until, now;

	if (page == NULL)
		return 0;
	until = __atomic_load_n(&page->until_ms, __ATOMIC_SEQ_CST);
	now = mono_ms();
	if (until != 0 && now < until)
		return 0;
	if (until == 0)
		snprintf(err, errlen, "this server does not hold the bucket's "
		    "lease: not writing to the bucket");
	else
		snprintf(err, errlen, "the bucket's lease was not renewed in "
		    "time (valid until %" PRId64 " ms ago): not writing to "
		    "the bucket", now - until);
	return -1;
}

int
leasestate_write(const char *datadir, const char *state, int64_t deadline,
    char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX], line[128];
	int fd, n;

	if (snprintf(path, sizeof(path), "%s/%s", datadir, LEASESTATE_FILE) >=
	    (int)sizeof(path) || snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "DataDir path too long");
		return -1;
	}
	n = snprintf(line, sizeof(line), "%s %" PRId64 "\n", state, deadline);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1)
		goto fail;
	if (write(fd, line, (size_t)n) != n || fsync(fd) == -1) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		unlink(tmp);
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

int
leasestate_check(const struct gv_config *cfg, char *err, size_t errlen)
{
	char path[PATH_MAX], line[128], state[32];
	int64_t deadline;
	ssize_t n;
	int fd;

	if (cfg->store_backend != STORE_BACKEND_S3)
		return 0;
	if (cfg->s3.role == S3_ROLE_STANDBY) {
		snprintf(err, errlen, "this server is a standby (S3.Role = "
		    "standby): it does not write to the bucket, nor to its "
		    "catalog");
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/%s", cfg->datadir,
	    LEASESTATE_FILE) >= (int)sizeof(path)) {
		snprintf(err, errlen, "DataDir path too long");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "this server does not hold the bucket's "
		    "lease (%s: %s): start gigavaultd and wait until it "
		    "holds it", path, strerror(errno));
		return -1;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	line[n] = '\0';
	if (sscanf(line, "%31s %" SCNd64, state, &deadline) != 2) {
		snprintf(err, errlen, "%s: not understood: this server's "
		    "lease is unknown", path);
		return -1;
	}
	if (strcmp(state, "held") != 0) {
		snprintf(err, errlen, "this server does not hold the bucket's "
		    "lease (gigavaultd's lease is %s): not the bucket's "
		    "writer", state);
		return -1;
	}
	if ((int64_t)time(NULL) >= deadline) {
		snprintf(err, errlen, "this server's lease on the bucket was "
		    "not renewed in time (%s): is gigavaultd running?", path);
		return -1;
	}
	return 0;
}
