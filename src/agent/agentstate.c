/*
 * agentstate.c - the agent's state directory: id, last runs, history,
 * outbox.  See agentstate.h.  Every file is written to a temporary name
 * and renamed, so a crash leaves the old or the new one; every file is
 * read with a bound on its size and each value checked.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "client/clientconf.h"
#include "agentstate.h"

struct astate {
	char		*dir;
	char		*outbox;
	uint8_t		 id[SERVER_ID_LEN];
	char		 id_hex[2 * SERVER_ID_LEN + 1];
	unsigned int	 seq;		/* outbox file names */
};

static const char *const result_names[] = {
	[REMOTE_JOB_OK] = "ok",
	[REMOTE_JOB_PARTIAL] = "partial",
	[REMOTE_JOB_FAILED] = "failed",
	[REMOTE_JOB_CANCELLED] = "cancelled",
};

const char *
astate_result_name(int result)
{
	if (result < 0 || (size_t)result >= sizeof(result_names) /
	    sizeof(result_names[0]))
		return "unknown";
	return result_names[result];
}

/* The whole file path, at most ASTATE_FILE_MAX bytes, NUL-terminated. */
static char *
slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || st.st_size > ASTATE_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, st.st_size >
		    ASTATE_FILE_MAX ? "too large" : strerror(errno));
		close(fd);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Write len bytes to path through path.tmp and rename. */
static int
spit(const char *path, const char *data, size_t len, char *err,
    size_t errlen)
{
	char tmp[PATH_MAX];
	size_t done = 0;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (done < len && (n = write(fd, data + done, len - done)) > 0)
		done += (size_t)n;
	if (done < len || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* mkdir -p dir with mode 0700 for what it makes. */
static int
make_dirs(const char *dir, char *err, size_t errlen)
{
	char p[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(p)) {
		snprintf(err, errlen, "%s: bad directory name", dir);
		return -1;
	}
	memcpy(p, dir, len + 1);
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0700) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "cannot make %s: %s", p,
				    strerror(errno));
				return -1;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct astate *
astate_open(const char *dir, char *err, size_t errlen)
{
	struct astate *s;
	char path[PATH_MAX], *buf;
	size_t len;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dir = strdup(dir)) == NULL ||
	    asprintf(&s->outbox, "%s/outbox", dir) == -1) {
		if (s != NULL)
			s->outbox = NULL;
		snprintf(err, errlen, "out of memory");
		astate_free(s);
		return NULL;
	}
	if (make_dirs(s->outbox, err, errlen) == -1) {
		astate_free(s);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/id", dir);
	if ((buf = slurp(path, &len, err, errlen)) != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (len < 2 * SERVER_ID_LEN || hex_decode(buf, s->id,
		    SERVER_ID_LEN) == -1) {
			snprintf(err, errlen, "%s: not %d hex digits (remove "
			    "it to get a new id)", path, 2 * SERVER_ID_LEN);
			free(buf);
			astate_free(s);
			return NULL;
		}
		free(buf);
	} else if (errno == ENOENT) {
		char line[2 * SERVER_ID_LEN + 2];

		if (crypto_random(s->id, sizeof(s->id)) == -1) {
			snprintf(err, errlen, "no random numbers");
			astate_free(s);
			return NULL;
		}
		hex_encode(s->id, sizeof(s->id), line);
		strcat(line, "\n");
		if (spit(path, line, strlen(line), err, errlen) == -1) {
			astate_free(s);
			return NULL;
		}
	} else {
		astate_free(s);
		return NULL;
	}
	hex_encode(s->id, sizeof(s->id), s->id_hex);
	{
		/* Half-written reports of a crash: never renamed, never sent. */
		char **v;
		size_t n = astate_outbox_names(s->outbox, 1, &v);

		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", s->outbox, v[i]);
			unlink(path);
		}
		astate_names_free(v, n);
	}
	return s;
}

void
astate_free(struct astate *s)
{
	if (s == NULL)
		return;
	free(s->dir);
	free(s->outbox);
	free(s);
}

const uint8_t *
astate_id(const struct astate *s)
{
	return s->id;
}

const char *
astate_id_hex(const struct astate *s)
{
	return s->id_hex;
}

const char *
astate_outbox(const struct astate *s)
{
	return s->outbox;
}

int64_t
astate_last_run(const struct astate *s, const char *set)
{
	char path[PATH_MAX], err[256], *buf, *end;
	long long v;
	size_t len;

	if (!clientconf_valid_set(set) || (size_t)snprintf(path, sizeof(path),
	    "%s/last-%s", s->dir, set) >= sizeof(path))
		return 0;
	if ((buf = slurp(path, &len, err, sizeof(err))) == NULL)
		return 0;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (buf[0] < '0' || buf[0] > '9' || errno != 0 || v < 0 ||
	    (*end != '\0' && *end != '\n'))
		v = 0;
	free(buf);
	return v;
}

int
astate_set_last_run(struct astate *s, const char *set, int64_t t,
    char *err, size_t errlen)
{
	char path[PATH_MAX], line[32];

	if (!clientconf_valid_set(set) || (size_t)snprintf(path, sizeof(path),
	    "%s/last-%s", s->dir, set) >= sizeof(path)) {
		snprintf(err, errlen, "bad set name");
		return -1;
	}
	snprintf(line, sizeof(line), "%lld\n", (long long)t);
	return spit(path, line, strlen(line), err, errlen);
}

json_t *
astate_report_json(const struct remote_job_report *r)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:s}",
	    "set", r->set,
	    "request", (json_int_t)r->request,
	    "start", (json_int_t)r->start,
	    "end", (json_int_t)r->end,
	    "result", astate_result_name(r->result),
	    "snapshot", (json_int_t)r->snapid,
	    "files", (json_int_t)r->files,
	    "bytes", (json_int_t)r->bytes,
	    "read_bytes", (json_int_t)r->read_bytes,
	    "sent_bytes", (json_int_t)r->sent_bytes,
	    "problems", (json_int_t)r->problems,
	    "next_run", (json_int_t)r->next_run,
	    "error", r->error);
}

int
astate_report_from_json(json_t *o, struct remote_job_report *r, char *err,
    size_t errlen)
{
	json_int_t req, start, end, snap, files, bytes, rd, sent, probs, next;
	const char *set, *result, *error;
	json_error_t je;
	int i;

	memset(r, 0, sizeof(*r));
	if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:I, s:I, s:I, s:s, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
	    "set", &set, "request", &req, "start", &start, "end", &end,
	    "result", &result, "snapshot", &snap, "files", &files,
	    "bytes", &bytes, "read_bytes", &rd, "sent_bytes", &sent,
	    "problems", &probs, "next_run", &next, "error", &error) == -1) {
		snprintf(err, errlen, "not a job report: %s", je.text);
		return -1;
	}
	if (!clientconf_valid_set(set) || strlen(error) >
	    REMOTE_JOB_ERROR_MAX || req < 0 || snap < 0 || files < 0 ||
	    bytes < 0 || rd < 0 || sent < 0 || probs < 0 || start < 0 ||
	    end < 0 || next < 0) {
		snprintf(err, errlen, "a job report with a bad value");
		return -1;
	}
	for (i = 0; i < (int)(sizeof(result_names) / sizeof(result_names[0]));
	    i++)
		if (strcmp(result, result_names[i]) == 0)
			break;
	if (i == (int)(sizeof(result_names) / sizeof(result_names[0]))) {
		snprintf(err, errlen, "a job report with result \"%s\"",
		    result);
		return -1;
	}
	snprintf(r->set, sizeof(r->set), "%s", set);
	snprintf(r->error, sizeof(r->error), "%s", error);
	r->result = i;
	r->request = (uint64_t)req;
	r->start = start;
	r->end = end;
	r->snapid = (uint64_t)snap;
	r->files = (uint64_t)files;
	r->bytes = (uint64_t)bytes;
	r->read_bytes = (uint64_t)rd;
	r->sent_bytes = (uint64_t)sent;
	r->problems = (uint64_t)probs;
	r->next_run = next;
	return 0;
}

int
astate_report_read(const char *path, struct remote_job_report *r,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *o;
	size_t len;
	char *buf;
	int rc;

	if ((buf = slurp(path, &len, err, errlen)) == NULL)
		return -1;
	o = json_loadb(buf, len, 0, &je);
	free(buf);
	if (o == NULL) {
		snprintf(err, errlen, "%s: %s", path, je.text);
		return -1;
	}
	rc = astate_report_from_json(o, r, err, errlen);
	json_decref(o);
	return rc;
}

size_t
astate_outbox_count(const struct astate *s)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir(s->outbox)) == NULL)
		return 0;
	/* Reports only: not rejected/ nor a .json.tmp being written. */
	while ((de = readdir(d)) != NULL && n < ASTATE_OUTBOX_MAX) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] != '.' && len > 5 &&
		    strcmp(de->d_name + len - 5, ".json") == 0)
			n++;
	}
	closedir(d);
	return n;
}

size_t
astate_outbox_names(const char *outbox, int tmp, char ***out)
{
	const char *suffix = tmp ? ".json.tmp" : ".json";
	size_t n = 0, cap = 0, sl = strlen(suffix);
	char **v = NULL, **nv;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	if ((d = opendir(outbox)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < ASTATE_OUTBOX_MAX) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len <= sl ||
		    strcmp(de->d_name + len - sl, suffix) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_names);
	*out = v;
	return n;
}

void
astate_names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Remove the outbox's oldest report (the first name). */
static void
drop_oldest(struct astate *s)
{
	char **v, path[PATH_MAX];
	size_t n = astate_outbox_names(s->outbox, 0, &v);

	if (n > 0) {
		snprintf(path, sizeof(path), "%s/%s", s->outbox, v[0]);
		unlink(path);
	}
	astate_names_free(v, n);
}

int
astate_keep(struct astate *s, const struct remote_job_report *r,
    int outbox, char *err, size_t errlen)
{
	char path[PATH_MAX], *line, *buf, *p, *keep;
	size_t len, nlines = 0, cut;
	json_t *o;
	int rc = -1;

	if ((o = astate_report_json(r)) == NULL ||
	    (line = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_decref(o);
	if (outbox) {
		/* A full outbox loses its oldest report, not this one. */
		if (astate_outbox_count(s) >= ASTATE_OUTBOX_MAX)
			drop_oldest(s);
		/* Zero-padded: the names sort as the reports came. */
		snprintf(path, sizeof(path), "%s/%lld-%010d-%010u-%s.json",
		    s->outbox, (long long)r->end, (int)getpid(), s->seq++,
		    r->set);
		if (spit(path, line, strlen(line), err, errlen) == -1)
			goto done;
	}
	rc = 1;		/* from here on only the history may fail */
	/* The history: the newest ASTATE_HISTORY_MAX - 1 lines, then r. */
	snprintf(path, sizeof(path), "%s/history.jsonl", s->dir);
	if ((buf = slurp(path, &len, err, errlen)) == NULL) {
		if (errno != ENOENT)
			goto done;
		buf = strdup("");
		len = 0;
		if (buf == NULL) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n')
			nlines++;
	keep = buf;
	for (cut = nlines; cut + 1 > ASTATE_HISTORY_MAX; cut--) {
		if ((p = strchr(keep, '\n')) == NULL)
			break;
		keep = p + 1;
	}
	{
		size_t klen = strlen(keep), llen = strlen(line);
		char *out = malloc(klen + llen + 2);

		if (out == NULL) {
			free(buf);
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		memcpy(out, keep, klen);
		memcpy(out + klen, line, llen);
		out[klen + llen] = '\n';
		rc = spit(path, out, klen + llen + 1, err, errlen) == -1 ?
		    1 : 0;
		free(out);
	}
	free(buf);
done:
	free(line);
	return rc;
}

json_t *
astate_history(const struct astate *s, const char *set, size_t max)
{
	char path[PATH_MAX], err[256], *buf, *p, *nl;
	struct remote_job_report r;
	json_t *all, *o;
	size_t len;

	if ((all = json_array()) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/history.jsonl", s->dir);
	if ((buf = slurp(path, &len, err, sizeof(err))) == NULL)
		return all;
	/* Oldest first in the file: insert each at the front. */
	for (p = buf; *p != '\0'; p = nl + 1) {
		json_error_t je;
		json_t *line;

		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		if ((line = json_loads(p, 0, &je)) == NULL)
			continue;
		if (astate_report_from_json(line, &r, err, sizeof(err)) == 0 &&
		    (set == NULL || strcmp(set, r.set) == 0) &&
		    (o = astate_report_json(&r)) != NULL) {
			json_array_insert_new(all, 0, o);
			if (json_array_size(all) > max)
				json_array_remove(all,
				    json_array_size(all) - 1);
		}
		json_decref(line);
	}
	free(buf);
	return all;
}
