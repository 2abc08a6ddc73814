/*
 * hkstatus.c - DataDir/housekeeping.json.  See hkstatus.h.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "hkstatus.h"
#include "log.h"
#include "prune.h"
#include "scrub.h"
#include "sync.h"

#define STATUS_FILE	"housekeeping.json"
#define LOCK_FILE	"housekeeping.json.lock"
#define STATUS_MAX	(64 * 1024)	/* a larger file is corrupt */

static const char *const job_names[HK_NJOBS] = { "prune", "scrub",
	"sync" };

const char *
hkstatus_job_name(enum hk_job job)
{
	if ((int)job < 0 || job >= HK_NJOBS)
		return NULL;
	return job_names[job];
}

static int
path_of(char *buf, size_t len, const char *datadir, const char *name)
{
	if (snprintf(buf, len, "%s/%s", datadir, name) >= (int)len) {
		log_warnx("housekeeping status: DataDir path too long");
		return -1;
	}
	return 0;
}

static json_t *
job_default(void)
{
	return json_pack("{s:b, s:n, s:n, s:n}", "running", 0, "started",
	    "next", "last");
}

/* Fill in what a job object lacks; -1 when it is not an object. */
static int
job_fix(json_t *root, const char *name)
{
	static const char *const times[] = { "started", "next", "last" };
	json_t *j = json_object_get(root, name), *def;

	if (j == NULL) {
		if ((def = job_default()) == NULL ||
		    json_object_set_new(root, name, def) == -1)
			return -1;
		return 0;
	}
	if (!json_is_object(j))
		return -1;
	if (!json_is_boolean(json_object_get(j, "running")) &&
	    json_object_set_new(j, "running", json_false()) == -1)
		return -1;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (json_object_get(j, times[i]) == NULL &&
		    json_object_set_new(j, times[i], json_null()) == -1)
			return -1;
	return 0;
}

/*
 * Read the file: the object, or the default when missing.  *corrupt
 * is set (and NULL returned) when it exists but is no status object.
 */
static json_t *
load(const char *datadir, int *corrupt)
{
	char path[PATH_MAX];
	json_error_t e;
	json_t *root;
	struct stat st;
	int fd;

	*corrupt = 0;
	if (path_of(path, sizeof(path), datadir, STATUS_FILE) == -1)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT) {
			log_warn("housekeeping status: %s", path);
			return NULL;
		}
		root = json_object();
	} else {
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    st.st_size > STATUS_MAX) {
			log_warnx("housekeeping status: %s: not a regular "
			    "file of at most %d bytes", path, STATUS_MAX);
			close(fd);
			*corrupt = 1;
			return NULL;
		}
		root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &e);
		close(fd);
		if (root == NULL) {
			log_warnx("housekeeping status: %s: line %d: %s", path,
			    e.line, e.text);
			*corrupt = 1;
			return NULL;
		}
	}
	if (root == NULL)
		return NULL;
	if (!json_is_object(root) || job_fix(root, "prune") == -1 ||
	    job_fix(root, "scrub") == -1 || job_fix(root, "sync") == -1) {
		log_warnx("housekeeping status: %s: not a status object", path);
		json_decref(root);
		*corrupt = 1;
		return NULL;
	}
	return root;
}

json_t *
hkstatus_load(const char *datadir)
{
	int corrupt;

	return load(datadir, &corrupt);
}

/* Write root to the file atomically, mode 0640. */
static int
store(const char *datadir, json_t *root)
{
	char path[PATH_MAX], err[PATH_MAX + 128], *text, *t;
	int rc;

	if (path_of(path, sizeof(path), datadir, STATUS_FILE) == -1)
		return -1;
	if ((text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL) {
		log_warnx("housekeeping status: cannot encode");
		return -1;
	}
	/* json_dumps() leaves no room: one more byte for the newline. */
	if ((t = realloc(text, strlen(text) + 2)) == NULL) {
		log_warnx("housekeeping status: out of memory");
		free(text);
		return -1;
	}
	text = t;
	strcat(text, "\n");
	if ((rc = atomicfile_write(path, text, strlen(text), 0640, err,
	    sizeof(err))) == -1)
		log_warnx("housekeeping status: %s", err);
	free(text);
	return rc;
}

/* The lock that serializes changes.  fd, or -1 after logging. */
static int
lock(const char *datadir)
{
	char path[PATH_MAX];
	int fd;

	if (path_of(path, sizeof(path), datadir, LOCK_FILE) == -1)
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1) {
		log_warn("housekeeping status: %s", path);
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		log_warn("housekeeping status: lock %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

static json_t *
time_or_null(uint64_t t)
{
	return t == 0 ? json_null() : json_integer((json_int_t)t);
}

/* End job's run in root (running or not) at now. */
static int
end_job(json_t *job, uint64_t now, const char *result, const char *message,
    json_t *counters)
{
	json_t *started = json_object_get(job, "started"), *last;

	if (json_is_integer(started))
		last = json_pack("{s:O, s:I, s:s, s:s}", "started", started,
		    "ended", (json_int_t)now, "result", result, "message",
		    message != NULL ? message : "");
	else
		last = json_pack("{s:I, s:I, s:s, s:s}", "started",
		    (json_int_t)now, "ended", (json_int_t)now, "result",
		    result, "message", message != NULL ? message : "");
	if (last == NULL)
		return -1;
	if (counters != NULL && json_is_object(counters)) {
		const char *k;
		json_t *v;

		/* The fixed members win over counters of the same name. */
		json_object_foreach(counters, k, v)
			if (json_object_get(last, k) == NULL &&
			    json_object_set(last, k, v) == -1) {
				json_decref(last);
				return -1;
			}
	}
	if (json_object_set_new(job, "last", last) == -1 ||
	    json_object_set_new(job, "running", json_false()) == -1 ||
	    json_object_set_new(job, "started", json_null()) == -1)
		return -1;
	return 0;
}

static int
recover(json_t *root, uint64_t now, int *n)
{
	for (int i = 0; i < HK_NJOBS; i++) {
		json_t *job = json_object_get(root, job_names[i]);

		if (!json_is_true(json_object_get(job, "running")))
			continue;
		if (end_job(job, now, "interrupted", "the run ended without "
		    "recording its end (its process died)", NULL) == -1)
			return -1;
		log_info("housekeeping status: the %s started before was "
		    "interrupted", job_names[i]);
		(*n)++;
	}
	return 0;
}

enum change { C_BEGIN, C_END, C_NEXT, C_RECOVER };

struct change_arg {
	enum change	 what;
	enum hk_job	 job;
	uint64_t	 now, next;
	const char	*result, *message;
	json_t		*counters;	/* stolen */
	int		 recovered;
};

/* Read, change, write, under the lock. */
static int
change(const char *datadir, struct change_arg *a)
{
	json_t *root, *job;
	int fd, corrupt, rc = -1;

	if (a->what != C_RECOVER && hkstatus_job_name(a->job) == NULL) {
		log_warnx("housekeeping status: no job %d", (int)a->job);
		json_decref(a->counters);
		return -1;
	}
	if ((fd = lock(datadir)) == -1) {
		json_decref(a->counters);
		return -1;
	}
	root = load(datadir, &corrupt);
	if (root == NULL && corrupt) {
		log_warnx("housekeeping status: starting it afresh");
		if ((root = json_object()) != NULL &&
		    (job_fix(root, "prune") == -1 ||
		    job_fix(root, "scrub") == -1 ||
		    job_fix(root, "sync") == -1)) {
			json_decref(root);
			root = NULL;
		}
	}
	if (root == NULL)
		goto done;
	job = a->what == C_RECOVER ? NULL :
	    json_object_get(root, job_names[a->job]);
	switch (a->what) {
	case C_BEGIN:
		if (recover(root, a->now, &a->recovered) == -1 ||
		    json_object_set_new(job, "running", json_true()) == -1 ||
		    json_object_set_new(job, "started",
		    json_integer((json_int_t)a->now)) == -1)
			goto done;
		break;
	case C_END:
		if (end_job(job, a->now, a->result, a->message,
		    a->counters) == -1)
			goto done;
		break;
	case C_RECOVER:
		if (recover(root, a->now, &a->recovered) == -1)
			goto done;
		break;
	case C_NEXT:
		break;
	}
	if (job != NULL && a->next != HKSTATUS_KEEP &&
	    json_object_set_new(job, "next", time_or_null(a->next)) == -1)
		goto done;
	rc = store(datadir, root);
done:
	if (rc == -1 && root == NULL)
		log_warnx("housekeeping status: not updated");
	json_decref(root);
	json_decref(a->counters);
	close(fd);
	return rc;
}

int
hkstatus_begin(const char *datadir, enum hk_job job, uint64_t now,
    uint64_t next)
{
	struct change_arg a = { C_BEGIN, job, now, next, NULL, NULL, NULL,
	    0 };

	return change(datadir, &a);
}

int
hkstatus_end(const char *datadir, enum hk_job job, uint64_t now,
    uint64_t next, const char *result, const char *message,
    json_t *counters)
{
	struct change_arg a = { C_END, job, now, next, result, message,
	    counters, 0 };

	if (result == NULL || (strcmp(result, "ok") != 0 &&
	    strcmp(result, "error") != 0 &&
	    strcmp(result, "interrupted") != 0)) {
		log_warnx("housekeeping status: bad result");
		json_decref(counters);
		return -1;
	}
	return change(datadir, &a);
}

int
hkstatus_set_next(const char *datadir, enum hk_job job, uint64_t next)
{
	struct change_arg a = { C_NEXT, job, 0, next, NULL, NULL, NULL, 0 };

	return change(datadir, &a);
}

int
hkstatus_recover(const char *datadir, uint64_t now, int *n)
{
	struct change_arg a = { C_RECOVER, HK_PRUNE, now, HKSTATUS_KEEP,
	    NULL, NULL, NULL, 0 };
	int rc;

	rc = change(datadir, &a);
	if (n != NULL)
		*n = a.recovered;
	return rc;
}

json_t *
hkstatus_prune_counters(const struct prune_result *r)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "snapshots_forgotten", (json_int_t)r->snapshots,
	    "blobs_freed", (json_int_t)r->blobs,
	    "blob_bytes_freed", (json_int_t)r->blob_bytes,
	    "packs_removed", (json_int_t)r->packs_removed,
	    "packs_rewritten", (json_int_t)r->packs_rewritten,
	    "packs_busy", (json_int_t)r->packs_busy,
	    "packs_damaged", (json_int_t)r->packs_damaged,
	    "pack_bytes_before", (json_int_t)r->bytes_before,
	    "pack_bytes_after", (json_int_t)r->bytes_after);
}

json_t *
hkstatus_scrub_counters(const struct scrub_result *r)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "packs", (json_int_t)r->packs,
	    "records", (json_int_t)r->records,
	    "bytes_read", (json_int_t)r->bytes,
	    "blobs_checked", (json_int_t)r->blobs,
	    "damaged", (json_int_t)r->damaged,
	    "snapshots_hurt", (json_int_t)r->snapshots,
	    "garbage_bytes", (json_int_t)r->garbage);
}

json_t *
hkstatus_sync_counters(const struct sync_report *r)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "records", (json_int_t)r->records,
	    "bytes", (json_int_t)r->bytes,
	    "source_packs", (json_int_t)r->source_packs,
	    "packs", (json_int_t)r->packs,
	    "journal_records", (json_int_t)r->journal,
	    "journal_skipped", (json_int_t)r->skipped,
	    "damaged", (json_int_t)r->ndamaged);
}
