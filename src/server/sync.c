/*
 * sync.c - off-site sync to another bucket (sync.h): read the chosen
 * clients' indexed blobs from this server's packs and their journal
 * records, write them to the target bucket as new packs (one client
 * each) and one journal segment, check each uploaded pack record by
 * record, and remember what was copied in PREFIX/sync-state.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "catalog.h"
#include "datadir.h"
#include "journal.h"
#include "lease.h"
#include "prune.h"
#include "s3.h"
#include "store.h"
#include "sync.h"

#define STATE_MAGIC	"gigavault-sync-state 1"
#define STATE_LINE_MAX	128
/* A target pack is closed and uploaded past this, between source packs. */
#define SYNC_PACK_SPLIT	(512ULL << 20)

/* ------------------------------------------------------------ target */

static int
set_str(char *dst, size_t dstlen, const char *v, const char *path,
    int line, const char *key, char *err, size_t errlen)
{
	if (strlen(v) >= dstlen) {
		snprintf(err, errlen, "%s:%d: %s is longer than %zu bytes",
		    path, line, key, dstlen - 1);
		return -1;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static void
target_defaults(struct sync_target *t)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->region, "us-east-1");
	strcpy(t->prefix, "gigavault/");
	t->path_style = 1;
}

int
sync_target_parse(const char *path, char *text, struct sync_target *t,
    char *err, size_t errlen)
{
	char *p = text, *nl;
	int line = 0;

	target_defaults(t);

	while (*p != '\0') {
		char *k, *v, *e;

		line++;
		if ((nl = strchr(p, '\n')) != NULL)
			*nl = '\0';
		k = p;
		p = nl != NULL ? nl + 1 : p + strlen(p);
		k += strspn(k, " \t");
		if (*k == '\0' || *k == '#')
			continue;
		if ((v = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: not \"Key = value\"",
			    path, line);
			return -1;
		}
		for (e = v; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		v++;
		v += strspn(v, " \t");
		for (e = v + strlen(v); e > v && (e[-1] == ' ' ||
		    e[-1] == '\t' || e[-1] == '\r'); e--)
			;
		*e = '\0';
		if (strlen(v) >= 2 && v[0] == '"' && e[-1] == '"') {
			e[-1] = '\0';
			v++;
		}
		if (strcasecmp(k, "Endpoint") == 0) {
			if (set_str(t->endpoint, sizeof(t->endpoint), v, path,
			    line, k, err, errlen) == -1)
				return -1;
		} else if (strcasecmp(k, "Region") == 0) {
			if (set_str(t->region, sizeof(t->region), v, path,
			    line, k, err, errlen) == -1)
				return -1;
		} else if (strcasecmp(k, "Bucket") == 0) {
			if (set_str(t->bucket, sizeof(t->bucket), v, path,
			    line, k, err, errlen) == -1)
				return -1;
		} else if (strcasecmp(k, "Prefix") == 0) {
			/* room for the '/' added below */
			if (set_str(t->prefix, sizeof(t->prefix) - 1, v, path,
			    line, k, err, errlen) == -1)
				return -1;
		} else if (strcasecmp(k, "CredentialsFile") == 0) {
			if (set_str(t->cred_file, sizeof(t->cred_file), v,
			    path, line, k, err, errlen) == -1)
				return -1;
		} else if (strcasecmp(k, "CAFile") == 0) {
			if (set_str(t->ca_file, sizeof(t->ca_file), v, path,
			    line, k, err, errlen) == -1)
				return -1;
		} else if (strcasecmp(k, "PathStyle") == 0) {
			if (strcasecmp(v, "yes") == 0 ||
			    strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
				t->path_style = 1;
			else if (strcasecmp(v, "no") == 0 ||
			    strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
				t->path_style = 0;
			else {
				snprintf(err, errlen, "%s:%d: PathStyle is yes "
				    "or no", path, line);
				return -1;
			}
		} else {
			snprintf(err, errlen, "%s:%d: unknown key \"%.64s\" "
			    "(Endpoint, Region, Bucket, Prefix, "
			    "CredentialsFile, CAFile, PathStyle)", path, line,
			    k);
			return -1;
		}
	}
	if (t->endpoint[0] == '\0' || t->bucket[0] == '\0' ||
	    t->cred_file[0] == '\0') {
		snprintf(err, errlen, "%s: Endpoint, Bucket and CredentialsFile "
		    "are required", path);
		return -1;
	}
	if (t->prefix[0] != '\0' && t->prefix[strlen(t->prefix) - 1] != '/')
		strcat(t->prefix, "/");
	return 0;
}

int
sync_target_load(const char *path, struct sync_target *t, char *err,
    size_t errlen)
{
	struct stat st;
	char *text;
	ssize_t r;
	int fd, rc;

	target_defaults(t);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > SYNC_TARGET_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", path, SYNC_TARGET_MAX);
		close(fd);
		return -1;
	}
	if ((text = calloc(1, (size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	r = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (r != st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		free(text);
		return -1;
	}
	if (memchr(text, '\0', (size_t)r) != NULL) {
		snprintf(err, errlen, "%s: holds a NUL byte", path);
		free(text);
		return -1;
	}
	rc = sync_target_parse(path, text, t, err, errlen);
	free(text);
	return rc;
}

int
sync_target_open(const struct sync_target *t, struct s3 **out, char *err,
    size_t errlen)
{
	struct s3_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = t->endpoint;
	cfg.region = t->region;
	cfg.bucket = t->bucket;
	cfg.path_style = t->path_style;
	cfg.ca_file = t->ca_file[0] != '\0' ? t->ca_file : NULL;
	cfg.cred_file = t->cred_file;
	cfg.retries = -1;
	return s3_open(&cfg, out, err, errlen);
}

/* ------------------------------------------------------------- state */

struct packoff {
	uint64_t	 client;
	uint32_t	 pack;
	uint64_t	 offset;	/* copied up to here */
};

struct jcount {
	uint64_t	 client;
	uint64_t	 n;		/* journal records of client read */
};

struct state {
	struct packoff	*po;
	size_t		 npo, capo;
	struct jcount	*jc;
	size_t		 njc, capj;
};

static int
po_cmp(const void *a, const void *b)
{
	const struct packoff *x = a, *y = b;

	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return 0;
}

static struct packoff *
po_find(struct state *st, uint64_t client, uint32_t pack)
{
	struct packoff key = { client, pack, 0 };

	if (st->npo == 0)
		return NULL;
	return bsearch(&key, st->po, st->npo, sizeof(key), po_cmp);
}

/* Sets client's offset in pack (the array is sorted again by the caller
 * with po_sort() before the next po_find()). */
static int
po_set(struct state *st, uint64_t client, uint32_t pack, uint64_t offset,
    int sorted)
{
	struct packoff *p = sorted ? po_find(st, client, pack) : NULL;

	if (p != NULL) {
		p->offset = offset;
		return 0;
	}
	if (st->npo == st->capo) {
		size_t cap = st->capo ? st->capo * 2 : 64;
		struct packoff *n = reallocarray(st->po, cap, sizeof(*n));

		if (n == NULL)
			return -1;
		st->po = n;
		st->capo = cap;
	}
	st->po[st->npo++] = (struct packoff){ client, pack, offset };
	return 0;
}

static void
po_sort(struct state *st)
{
	if (st->npo > 0)
		qsort(st->po, st->npo, sizeof(*st->po), po_cmp);
}

static struct jcount *
jc_get(struct state *st, uint64_t client, int create)
{
	for (size_t i = 0; i < st->njc; i++)
		if (st->jc[i].client == client)
			return &st->jc[i];
	if (!create)
		return NULL;
	if (st->njc == st->capj) {
		size_t cap = st->capj ? st->capj * 2 : 16;
		struct jcount *n = reallocarray(st->jc, cap, sizeof(*n));

		if (n == NULL)
			return NULL;
		st->jc = n;
		st->capj = cap;
	}
	st->jc[st->njc] = (struct jcount){ client, 0 };
	return &st->jc[st->njc++];
}

static void
state_free(struct state *st)
{
	free(st->po);
	free(st->jc);
	memset(st, 0, sizeof(*st));
}

/* A decimal number that is the whole of s.  0 or -1. */
static int
num(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x > max)
		return -1;
	*v = x;
	return 0;
}

/*
 * Parses the state object (len bytes at text, NUL-terminated after):
 * its first line, "source HEX", then "journal CLIENT N" and "pack
 * CLIENT PACK OFFSET" lines.  The source must be src.
 */
static int
state_parse(char *text, size_t len, const char *srchex, struct state *st,
    const char *key, char *err, size_t errlen)
{
	char *p = text, *nl;
	int line = 0, source = 0;

	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: holds a NUL byte", key);
		return -1;
	}
	while (*p != '\0') {
		char *f[5], *save;
		int nf = 0;
		uint64_t a, b, c;

		line++;
		if ((nl = strchr(p, '\n')) == NULL) {
			snprintf(err, errlen, "%s:%d: no end of line", key,
			    line);
			return -1;
		}
		*nl = '\0';
		if ((size_t)(nl - p) > STATE_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: line too long", key, line);
			return -1;
		}
		if (line == 1) {
			if (strcmp(p, STATE_MAGIC) != 0) {
				snprintf(err, errlen, "%s: not a sync state "
				    "(first line)", key);
				return -1;
			}
			p = nl + 1;
			continue;
		}
		for (char *w = strtok_r(p, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save)) {
			if (nf == 5)
				break;
			f[nf++] = w;
		}
		p = nl + 1;
		if (nf == 2 && strcmp(f[0], "source") == 0) {
			if (strcmp(f[1], srchex) != 0) {
				snprintf(err, errlen, "%s: written by sync "
				    "from server %s, not this one (%s)", key,
				    f[1], srchex);
				return -1;
			}
			source = 1;
		} else if (nf == 3 && strcmp(f[0], "journal") == 0 &&
		    num(f[1], UINT64_MAX, &a) == 0 &&
		    num(f[2], UINT64_MAX, &b) == 0) {
			struct jcount *j = jc_get(st, a, 1);

			if (j == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			j->n = b;
		} else if (nf == 4 && strcmp(f[0], "pack") == 0 &&
		    num(f[1], UINT64_MAX, &a) == 0 &&
		    num(f[2], UINT32_MAX, &b) == 0 &&
		    num(f[3], STORE_PACK_MAX * 2, &c) == 0) {
			if (po_set(st, a, (uint32_t)b, c, 0) == -1) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		} else {
			snprintf(err, errlen, "%s:%d: not a state line", key,
			    line);
			return -1;
		}
	}
	if (line == 0 || !source) {
		snprintf(err, errlen, "%s: %s", key, line == 0 ? "empty" :
		    "no source line");
		return -1;
	}
	po_sort(st);
	return 0;
}

int
sync_state_parse(char *text, size_t len, const char *srchex,
    size_t *njournal, size_t *npacks, char *err, size_t errlen)
{
	struct state st;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = state_parse(text, len, srchex, &st, "sync-state", err, errlen);
	if (njournal != NULL)
		*njournal = rc == 0 ? st.njc : 0;
	if (npacks != NULL)
		*npacks = rc == 0 ? st.npo : 0;
	state_free(&st);
	return rc;
}

static char *
state_text(const struct state *st, const char *srchex, size_t *len)
{
	size_t cap = 64 + (st->njc + st->npo + 2) * (STATE_LINE_MAX + 1);
	char *t;
	size_t n = 0;

	if ((t = malloc(cap)) == NULL)
		return NULL;
	n += (size_t)snprintf(t + n, cap - n, "%s\nsource %s\n", STATE_MAGIC,
	    srchex);
	for (size_t i = 0; i < st->njc; i++)
		n += (size_t)snprintf(t + n, cap - n, "journal %llu %llu\n",
		    (unsigned long long)st->jc[i].client,
		    (unsigned long long)st->jc[i].n);
	for (size_t i = 0; i < st->npo; i++)
		n += (size_t)snprintf(t + n, cap - n, "pack %llu %u %llu\n",
		    (unsigned long long)st->po[i].client, st->po[i].pack,
		    (unsigned long long)st->po[i].offset);
	*len = n;
	return t;
}

/* ---------------------------------------------------------- listings */

struct maxkey {
	size_t		 plen;		/* of the listed prefix */
	size_t		 digits;	/* 8 for packs, 16 for segments */
	uint64_t	 max;
	uint64_t	 size;		/* of the object with the largest id */
	int		 any;
};

static int
on_key(const char *key, uint64_t size, const char *etag, void *arg)
{
	struct maxkey *m = arg;
	const char *d = key + m->plen;
	uint64_t v = 0;

	(void)etag;
	if (strlen(d) != m->digits)
		return 0;	/* not ours: ignored */
	for (size_t i = 0; i < m->digits; i++) {
		int x;

		if (d[i] >= '0' && d[i] <= '9')
			x = d[i] - '0';
		else if (d[i] >= 'a' && d[i] <= 'f')
			x = d[i] - 'a' + 10;
		else
			return 0;
		v = v << 4 | (uint64_t)x;
	}
	if (!m->any || v > m->max) {
		m->max = v;
		m->size = size;
		m->any = 1;
	}
	return 0;
}

/* The largest id under PREFIX/dir (0 when none), and that object's size. */
static int
list_max(struct s3 *s, const char *prefix, const char *dir, size_t digits,
    uint64_t *max, uint64_t *size, char *err, size_t errlen)
{
	char p[SYNC_PREFIX_MAX + 32];
	struct maxkey m;

	snprintf(p, sizeof(p), "%s%s", prefix, dir);
	memset(&m, 0, sizeof(m));
	m.plen = strlen(p);
	m.digits = digits;
	if (s3_list(s, p, 1000, on_key, &m, err, errlen) != S3_OK)
		return -1;
	*max = m.max;
	if (size != NULL)
		*size = m.size;
	return 0;
}

/* ----------------------------------------------------- bucket.json */

static int
check_identity(struct s3 *s, const char *prefix, const char *srchex,
    int dry_run, char *err, size_t errlen)
{
	char key[SYNC_PREFIX_MAX + 32];
	void *p = NULL;
	size_t n = 0;
	json_t *j;
	json_error_t je;
	const char *id = NULL, *from = NULL;
	int r;

	/*
	 * A bucket a server writes to is no sync target: a lease there must
	 * be one its server released (a failover server that ran on the
	 * target and stopped); a held one, or one we cannot read, refuses.
	 */
	snprintf(key, sizeof(key), "%slease", prefix);
	r = s3_get(s, key, LEASE_DOC_MAX, &p, &n, err, errlen);
	if (r == S3_ERROR)
		return -1;
	if (r == S3_OK) {
		struct lease_info li;
		char why[256];

		r = lease_decode(p, n, &li, why, sizeof(why));
		free(p);
		p = NULL;
		if (r == -1 || !li.released) {
			snprintf(err, errlen, "%s exists: a gigavaultd writes "
			    "to this bucket and prefix (%s), so sync does not: "
			    "stop it, or sync to another prefix", key, r == -1 ?
			    why : "its lease is not released");
			return -1;
		}
	}
	snprintf(key, sizeof(key), "%sbucket.json", prefix);
	r = s3_get(s, key, SYNC_BUCKETJSON_MAX, &p, &n, err, errlen);
	if (r == S3_NOTFOUND) {
		char body[256];
		int len;

		if (dry_run)
			return 0;
		len = snprintf(body, sizeof(body), "{\"format\": 1, "
		    "\"server_id\": \"%s\", \"created\": %lld, "
		    "\"synced_from\": \"%s\"}\n", srchex,
		    (long long)time(NULL), srchex);
		r = s3_put(s, key, body, (size_t)len, S3_COND_ABSENT, NULL,
		    NULL, err, errlen);
		if (r == S3_OK)
			return 0;
		if (r != S3_EXISTS)
			return -1;
		/* written meanwhile: read it as below */
		r = s3_get(s, key, SYNC_BUCKETJSON_MAX, &p, &n, err, errlen);
	}
	if (r != S3_OK)
		return -1;
	j = json_loadb(p, n, 0, &je);
	free(p);
	if (j == NULL || json_unpack(j, "{s:s, s?s}", "server_id", &id,
	    "synced_from", &from) == -1) {
		snprintf(err, errlen, "%s: not a bucket identity (%s)", key,
		    j == NULL ? je.text : "no server_id");
		json_decref(j);
		return -1;
	}
	if (from == NULL) {
		snprintf(err, errlen, "%s was written by a gigavaultd, not by "
		    "sync: this is a server's own bucket and prefix; sync to "
		    "another", key);
		json_decref(j);
		return -1;
	}
	if (strcmp(id, srchex) != 0) {
		snprintf(err, errlen, "%s names server %.64s, not this one "
		    "(%s): the target bucket (or prefix) belongs to another "
		    "server", key, id, srchex);
		json_decref(j);
		return -1;
	}
	json_decref(j);
	return 0;
}

/* ---------------------------------------------------------- the run */

struct ent {
	uint64_t	 client;
	uint8_t		 id[BLOB_ID_LEN];
	struct cat_blob	 loc;
};

struct run {
	const uint64_t	*clients;	/* sorted */
	size_t		 nclients;
	struct state	*st;
	struct catalog	*cat;
	struct ent	*ents;
	size_t		 nents, capents;
	struct journal_rec *recs;	/* to write */
	size_t		 nrecs, caprecs;
	uint64_t	*jseen;		/* per client: records read */
	uint64_t	 skipped;
	int		 oom;
	char		*err;
	size_t		 errlen;
};

static ssize_t
client_index(const struct run *r, uint64_t client)
{
	size_t lo = 0, hi = r->nclients;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->clients[mid] == client)
			return (ssize_t)mid;
		if (r->clients[mid] < client)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
on_blob(void *arg, uint64_t client, const uint8_t *id,
    const struct cat_blob *loc)
{
	struct run *r = arg;
	struct packoff *po;

	if (client_index(r, client) < 0)
		return 0;
	po = po_find(r->st, client, loc->pack);
	if (po != NULL && loc->offset < po->offset)
		return 0;	/* copied by an earlier sync */
	if (r->nents == r->capents) {
		size_t cap = r->capents ? r->capents * 2 : 1024;
		struct ent *n = reallocarray(r->ents, cap, sizeof(*n));

		if (n == NULL) {
			r->oom = 1;
			return 1;
		}
		r->ents = n;
		r->capents = cap;
	}
	r->ents[r->nents].client = client;
	memcpy(r->ents[r->nents].id, id, BLOB_ID_LEN);
	r->ents[r->nents].loc = *loc;
	r->nents++;
	return 0;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->loc.pack != y->loc.pack)
		return x->loc.pack < y->loc.pack ? -1 : 1;
	if (x->loc.offset != y->loc.offset)
		return x->loc.offset < y->loc.offset ? -1 : 1;
	return 0;
}

int
sync_journal_keep(int type, uint32_t flags, int held)
{
	switch (type) {
	case JOURNAL_CLIENT_ADD:
	case JOURNAL_REGISTER:
	case JOURNAL_CLIENT_FLAGS:
	case JOURNAL_CLIENT_TOKEN:
	case JOURNAL_POLICY_SET:
	case JOURNAL_POLICY_CLEAR:
		return 1;
	case JOURNAL_COMMIT:
		/* Only snapshots the source still holds: their blobs are
		 * indexed, so they are copied in this run or were before. */
		return held;
	case JOURNAL_SNAP_FLAGS:
		/* A protect as its COMMIT; an unprotect always, or the
		 * target keeps a snapshot forgotten here protected. */
		return held || (flags & JOURNAL_SF_PROTECTED) == 0;
	default:
		/* forgets and removals: the target keeps its own retention */
		return 0;
	}
}

static int
on_journal(void *arg, const struct journal_rec *jr)
{
	struct run *r = arg;
	ssize_t ci = client_index(r, jr->client);
	struct jcount *jc;
	struct cat_snapshot snap;
	int keep, held;

	if (ci < 0)
		return 0;
	jc = jc_get(r->st, jr->client, 0);
	if (jc != NULL && r->jseen[ci] < jc->n) {
		r->jseen[ci]++;
		return 0;	/* handled by an earlier sync */
	}
	r->jseen[ci]++;
	held = (jr->type == JOURNAL_COMMIT ||
	    jr->type == JOURNAL_SNAP_FLAGS) &&
	    catalog_snapshot_get(r->cat, jr->client, jr->snap, &snap) ==
	    CAT_OK;
	keep = sync_journal_keep(jr->type, jr->flags, held);
	if (!keep) {
		r->skipped++;
		return 0;
	}
	if (r->nrecs == r->caprecs) {
		size_t cap = r->caprecs ? r->caprecs * 2 : 64;
		struct journal_rec *n = reallocarray(r->recs, cap,
		    sizeof(*n));

		if (n == NULL) {
			snprintf(r->err, r->errlen, "out of memory");
			return -1;
		}
		r->recs = n;
		r->caprecs = cap;
	}
	r->recs[r->nrecs++] = *jr;
	return 0;
}

/* A target pack being written for one client: a temporary file. */
struct tpack {
	uint64_t	 client;
	int		 fd;		/* -1 until the first record */
	uint64_t	 size;
	uint64_t	 mark;		/* size before the current source pack */
	uint64_t	 nrec, nmark;
	uint8_t		(*ids)[BLOB_ID_LEN];	/* records, in order */
	size_t		 capids;
};

static int
tmpfile_in(const char *datadir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/sync.tmp.XXXXXX",
	    datadir) >= sizeof(path)) {
		snprintf(err, errlen, "DataDir path too long");
		return -1;
	}
	if ((fd = mkstemp(path)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

static int
pwrite_all(int fd, const void *p, size_t len, uint64_t off)
{
	const uint8_t *b = p;

	while (len > 0) {
		ssize_t w = pwrite(fd, b, len, (off_t)off);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int
pread_all(int fd, void *p, size_t len, uint64_t off)
{
	uint8_t *b = p;

	while (len > 0) {
		ssize_t r = pread(fd, b, len, (off_t)off);

		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		b += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Appends one record to tp (a record as store.c writes it). */
static int
tp_append(const char *datadir, struct tpack *tp, const struct ent *e,
    const uint8_t (*links)[BLOB_ID_LEN], const void *buf, char *err,
    size_t errlen)
{
	uint8_t hdr[STORE_HDR_LEN];
	size_t llen = (size_t)e->loc.nlinks * BLOB_ID_LEN;

	if (tp->fd == -1 && (tp->fd = tmpfile_in(datadir, err, errlen)) == -1)
		return -1;
	if (tp->nrec == tp->capids) {
		size_t cap = tp->capids ? tp->capids * 2 : 256;
		uint8_t (*n)[BLOB_ID_LEN] = reallocarray(tp->ids, cap,
		    sizeof(*n));

		if (n == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		tp->ids = n;
		tp->capids = cap;
	}
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "GVB2", 4);
	hdr[4] = e->loc.length == 0 ? STORE_TYPE_LEGACY : STORE_TYPE_BLOB;
	be64_put(hdr + 8, e->client);
	memcpy(hdr + 16, e->id, BLOB_ID_LEN);
	be32_put(hdr + 48, e->loc.nlinks);
	be32_put(hdr + 52, e->loc.length);
	store_sum(links, e->loc.nlinks, buf, e->loc.length, hdr + 56);
	if (pwrite_all(tp->fd, hdr, sizeof(hdr), tp->size) == -1 ||
	    (llen > 0 && pwrite_all(tp->fd, links, llen, tp->size +
	    sizeof(hdr)) == -1) ||
	    (e->loc.length > 0 && pwrite_all(tp->fd, buf, e->loc.length,
	    tp->size + sizeof(hdr) + llen) == -1)) {
		snprintf(err, errlen, "temporary pack in %s: %s", datadir,
		    strerror(errno));
		return -1;
	}
	tp->size += store_rec_size(e->loc.nlinks, e->loc.length);
	memcpy(tp->ids[tp->nrec++], e->id, BLOB_ID_LEN);
	return 0;
}

/*
 * Checks the len bytes of the pack in fd record by record: each a GVB2
 * record of client with the expected id, in order, whose links and
 * bytes match its header's checksum.
 */
static int
verify_pack(int fd, uint64_t len, const struct tpack *tp, const char *key,
    char *err, size_t errlen)
{
	uint8_t hdr[STORE_HDR_LEN], sum[STORE_SUM_LEN];
	uint64_t off = 0, i = 0;
	uint8_t *buf = NULL;
	size_t cap = 0;

	while (off < len) {
		uint32_t nlinks, length;
		uint64_t body;

		if (len - off < STORE_HDR_LEN ||
		    pread_all(fd, hdr, sizeof(hdr), off) == -1) {
			snprintf(err, errlen, "%s: record %llu at %llu: "
			    "truncated header", key, (unsigned long long)i,
			    (unsigned long long)off);
			goto bad;
		}
		nlinks = be32_get(hdr + 48);
		length = be32_get(hdr + 52);
		if (memcmp(hdr, "GVB2", 4) != 0 || i >= tp->nrec ||
		    be64_get(hdr + 8) != tp->client ||
		    memcmp(hdr + 16, tp->ids[i], BLOB_ID_LEN) != 0 ||
		    nlinks > STORE_LINKS_MAX || length > STORE_BLOB_MAX) {
			snprintf(err, errlen, "%s: record %llu at %llu is not "
			    "the one written", key, (unsigned long long)i,
			    (unsigned long long)off);
			goto bad;
		}
		body = (uint64_t)nlinks * BLOB_ID_LEN + length;
		if (len - off - STORE_HDR_LEN < body) {
			snprintf(err, errlen, "%s: record %llu runs past the "
			    "end", key, (unsigned long long)i);
			goto bad;
		}
		if (body + 1 > cap) {
			uint8_t *n = realloc(buf, (size_t)body + 1);

			if (n == NULL) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			buf = n;
			cap = (size_t)body + 1;
		}
		if (pread_all(fd, buf, (size_t)body, off + STORE_HDR_LEN) ==
		    -1) {
			snprintf(err, errlen, "%s: %s", key, strerror(errno));
			goto bad;
		}
		store_sum((const uint8_t (*)[BLOB_ID_LEN])buf, nlinks,
		    buf + (size_t)nlinks * BLOB_ID_LEN, length, sum);
		if (memcmp(sum, hdr + 56, STORE_SUM_LEN) != 0) {
			snprintf(err, errlen, "%s: record %llu: checksum "
			    "mismatch", key, (unsigned long long)i);
			goto bad;
		}
		off += STORE_HDR_LEN + body;
		i++;
	}
	if (i != tp->nrec) {
		snprintf(err, errlen, "%s: %llu records, %llu written", key,
		    (unsigned long long)i, (unsigned long long)tp->nrec);
		goto bad;
	}
	free(buf);
	return 0;
bad:
	free(buf);
	return -1;
}

/* Uploads tp as the target's next pack, reads it back and checks it. */
static int
tp_upload(const char *datadir, struct s3 *s, const char *prefix,
    struct tpack *tp, uint64_t *maxpack, struct sync_report *rep,
    char *err, size_t errlen)
{
	char key[SYNC_PREFIX_MAX + 32];
	uint64_t got = 0;
	int vfd, rc;

	if (tp->fd == -1 || tp->size == 0)
		return 0;
	if (*maxpack >= UINT32_MAX) {
		snprintf(err, errlen, "the target has no pack id left");
		return -1;
	}
	snprintf(key, sizeof(key), "%spacks/%08llx", prefix,
	    (unsigned long long)(*maxpack + 1));
	if (s3_put_fd(s, key, tp->fd, 0, tp->size, NULL, err, errlen) !=
	    S3_OK)
		return -1;
	(*maxpack)++;
	if ((vfd = tmpfile_in(datadir, err, errlen)) == -1)
		return -1;
	rc = s3_get_fd(s, key, vfd, &got, err, errlen);
	if (rc == S3_OK && got != tp->size) {
		snprintf(err, errlen, "%s: %llu bytes read back, %llu written",
		    key, (unsigned long long)got,
		    (unsigned long long)tp->size);
		rc = S3_ERROR;
	} else if (rc == S3_NOTFOUND) {
		snprintf(err, errlen, "%s: gone right after its upload", key);
		rc = S3_ERROR;
	}
	if (rc == S3_OK && verify_pack(vfd, got, tp, key, err, errlen) == -1)
		rc = S3_ERROR;
	close(vfd);
	if (rc != S3_OK)
		return -1;
	rep->packs++;
	rep->records += tp->nrec;
	rep->bytes += tp->size;
	close(tp->fd);
	tp->fd = -1;
	tp->size = tp->mark = 0;
	tp->nrec = tp->nmark = 0;
	return 0;
}

/*
 * Writes each record as one journal segment (doc/object-store.md: the
 * journal file's header and one record's frame, under journal/SEQ where
 * SEQ is the record's offset in the journal file the segments make),
 * from *seq on; *seq ends past the last one written.
 */
static int
put_segments(struct s3 *s, const char *prefix,
    const struct journal_rec *recs, size_t n, uint64_t *seq, char *err,
    size_t errlen)
{
	uint8_t seg[JOURNAL_HDR_LEN + JOURNAL_FRAME_MAX];
	char key[SYNC_PREFIX_MAX + 32];

	memcpy(seg, JOURNAL_MAGIC, JOURNAL_HDR_LEN);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		int r;

		if (journal_frame(&recs[i], seg + JOURNAL_HDR_LEN, &len, err,
		    errlen) == -1)
			return -1;
		snprintf(key, sizeof(key), "%sjournal/%016llx", prefix,
		    (unsigned long long)*seq);
		r = s3_put(s, key, seg, JOURNAL_HDR_LEN + len, S3_COND_ABSENT,
		    NULL, NULL, err, errlen);
		if (r == S3_EXISTS) {
			snprintf(err, errlen, "%s exists: another writer "
			    "appends to the target's journal", key);
			return -1;
		}
		if (r != S3_OK)
			return -1;
		*seq += len;
	}
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The ids of the chosen clients (every client when n is 0), sorted. */
static int
choose_clients(struct catalog *cat, const char *const *names, size_t n,
    uint64_t **out, size_t *nout, char *err, size_t errlen)
{
	struct cat_client *all = NULL;
	size_t nall = 0, k = 0;
	uint64_t *ids;

	*out = NULL;
	*nout = 0;
	if (catalog_clients(cat, &all, &nall) != CAT_OK) {
		snprintf(err, errlen, "catalog: %s", catalog_strerror(cat));
		return -1;
	}
	if ((ids = calloc(nall + 1, sizeof(*ids))) == NULL) {
		free(all);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (n == 0) {
		for (size_t i = 0; i < nall; i++)
			ids[k++] = all[i].id;
	} else {
		for (size_t i = 0; i < n; i++) {
			size_t j;

			for (j = 0; j < nall; j++)
				if (strcmp(all[j].name, names[i]) == 0)
					break;
			if (j == nall) {
				snprintf(err, errlen, "no client named "
				    "\"%.64s\" (gigavaultctl client list)",
				    names[i]);
				free(all);
				free(ids);
				return -1;
			}
			ids[k++] = all[j].id;
		}
	}
	explicit_bzero(all, nall * sizeof(*all));
	free(all);
	qsort(ids, k, sizeof(*ids), u64_cmp);
	/* the same name twice counts once */
	{
		size_t w = 0;

		for (size_t i = 0; i < k; i++)
			if (w == 0 || ids[i] != ids[w - 1])
				ids[w++] = ids[i];
		k = w;
	}
	*out = ids;
	*nout = k;
	return 0;
}

static void
add_damaged(struct sync_report *rep, uint32_t pack, const char *why)
{
	for (size_t i = 0; i < rep->ndamaged; i++)
		if (rep->damaged[i] == pack)
			return;
	if (rep->ndamaged < SYNC_DAMAGED_MAX)
		rep->damaged[rep->ndamaged++] = pack;
	if (rep->why[0] == '\0')
		snprintf(rep->why, sizeof(rep->why), "%s", why);
}

int
sync_run(const char *datadir, struct catalog *cat, struct s3 *s,
    const char *prefix, const char *const *names, size_t n, int dry_run,
    const struct hk_hooks *hooks, struct sync_report *rep, char *err,
    size_t errlen)
{
	uint8_t sid[SERVER_ID_LEN];
	char srchex[SERVER_ID_LEN * 2 + 1], key[SYNC_PREFIX_MAX + 32];
	char jpath[PATH_MAX];
	struct state st;
	struct run r;
	struct store *store = NULL;
	struct tpack *tps = NULL;
	uint64_t maxpack = 0, maxseg = 0, segsize = 0, seq;
	uint8_t *buf = NULL;
	uint8_t (*links)[BLOB_ID_LEN] = NULL;
	void *stext = NULL;
	size_t stlen = 0;
	int rc = -1, s3r;

	memset(rep, 0, sizeof(*rep));
	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	r.st = &st;
	r.cat = cat;
	r.err = err;
	r.errlen = errlen;
	if (strlen(prefix) >= SYNC_PREFIX_MAX) {
		snprintf(err, errlen, "prefix too long");
		return -1;
	}
	if (datadir_server_id(datadir, sid, err, errlen) == -1)
		return -1;
	hex_encode(sid, SERVER_ID_LEN, srchex);
	if (choose_clients(cat, names, n, (uint64_t **)&r.clients,
	    &r.nclients, err, errlen) == -1)
		return -1;
	rep->clients = r.nclients;
	if ((r.jseen = calloc(r.nclients + 1, sizeof(*r.jseen))) == NULL ||
	    (tps = calloc(r.nclients + 1, sizeof(*tps))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r.nclients; i++) {
		tps[i].client = r.clients[i];
		tps[i].fd = -1;
	}

	/* What the target has. */
	if (check_identity(s, prefix, srchex, dry_run, err, errlen) == -1)
		goto out;
	snprintf(key, sizeof(key), "%ssync-state", prefix);
	s3r = s3_get(s, key, SYNC_STATE_MAX, &stext, &stlen, err, errlen);
	if (s3r == S3_ERROR)
		goto out;
	if (s3r == S3_OK && state_parse(stext, stlen, srchex, &st, key, err,
	    errlen) == -1)
		goto out;
	if (list_max(s, prefix, "packs/", 8, &maxpack, NULL, err,
	    errlen) == -1 ||
	    list_max(s, prefix, "journal/", 16, &maxseg, &segsize, err,
	    errlen) == -1)
		goto out;
	/* The end of the journal the segments make: the next SEQ. */
	if (segsize == 0)
		seq = JOURNAL_HDR_LEN;
	else if (segsize <= JOURNAL_HDR_LEN ||
	    segsize > JOURNAL_HDR_LEN + JOURNAL_FRAME_MAX ||
	    maxseg > UINT64_MAX - segsize) {
		snprintf(err, errlen, "%sjournal/%016llx: %llu bytes is no "
		    "segment", prefix, (unsigned long long)maxseg,
		    (unsigned long long)segsize);
		goto out;
	} else
		seq = maxseg + segsize - JOURNAL_HDR_LEN;

	/*
	 * The journal first, then the index: a commit read here had its
	 * blobs indexed before it, so the scan below sees them.
	 */
	snprintf(jpath, sizeof(jpath), "%s/journal", datadir);
	if (journal_replay(jpath, on_journal, &r, NULL, err, errlen) != 0)
		goto out;
	rep->skipped = r.skipped;
	if (catalog_blobs_scan(cat, on_blob, &r) != CAT_OK) {
		snprintf(err, errlen, "catalog: %s", catalog_strerror(cat));
		goto out;
	}
	if (r.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (r.nents > 0)
		qsort(r.ents, r.nents, sizeof(*r.ents), ent_cmp);
	if (store_open(datadir, cat, &store, err, errlen) == -1)
		goto out;
	if ((buf = malloc(STORE_BLOB_MAX + 1)) == NULL ||
	    (links = calloc(STORE_LINKS_MAX, sizeof(*links))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	/* One source pack at a time: all of its records, or none. */
	for (size_t i = 0; i < r.nents; ) {
		uint32_t pack = r.ents[i].loc.pack;
		size_t j, end;
		int damaged = 0;

		if (hooks != NULL && hooks->cancel != NULL &&
		    hooks->cancel(hooks->arg)) {
			snprintf(err, errlen, "stopped (the daemon stops)");
			goto out;
		}
		for (end = i; end < r.nents && r.ents[end].loc.pack == pack;
		    end++)
			;
		for (size_t c = 0; c < r.nclients; c++) {
			if (!dry_run && tps[c].size >= SYNC_PACK_SPLIT &&
			    tp_upload(datadir, s, prefix, &tps[c], &maxpack,
			    rep, err, errlen) == -1)
				goto out;
			tps[c].mark = tps[c].size;
			tps[c].nmark = tps[c].nrec;
		}
		for (j = i; j < end; j++) {
			const struct ent *e = &r.ents[j];
			struct tpack *tp = &tps[client_index(&r, e->client)];
			int x;

			x = store_read_rec(store, e->client, e->id, &e->loc,
			    links, buf);
			if (x == -1) {
				snprintf(err, errlen, "pack %08x: %s", pack,
				    store_strerror(store));
				goto out;
			}
			if (x == 1 && store_errno(store) == ENOENT) {
				snprintf(err, errlen, "pack %08x went away "
				    "while sync read it (prune moved its "
				    "blobs): run sync again", pack);
				goto out;
			}
			if (x == 1) {
				char why[400];

				snprintf(why, sizeof(why), "pack %08x: %s",
				    pack, store_strerror(store));
				add_damaged(rep, pack, why);
				if (hooks != NULL && hooks->report != NULL)
					hooks->report(hooks->arg, why);
				damaged = 1;
				break;
			}
			if (dry_run) {
				tp->nrec++;
				tp->size += store_rec_size(e->loc.nlinks,
				    e->loc.length);
				continue;
			}
			if (tp_append(datadir, tp, e,
			    (const uint8_t (*)[BLOB_ID_LEN])links, buf, err,
			    errlen) == -1)
				goto out;
		}
		if (damaged) {
			/* Give back what this pack added. */
			for (size_t c = 0; c < r.nclients; c++) {
				if (tps[c].fd != -1 &&
				    ftruncate(tps[c].fd,
				    (off_t)tps[c].mark) == -1) {
					snprintf(err, errlen, "temporary pack: "
					    "%s", strerror(errno));
					goto out;
				}
				tps[c].size = tps[c].mark;
				tps[c].nrec = tps[c].nmark;
			}
		} else {
			rep->source_packs++;
			for (j = i; j < end; j++) {
				const struct ent *e = &r.ents[j];
				uint64_t to = e->loc.offset +
				    store_rec_size(e->loc.nlinks,
				    e->loc.length);
				struct packoff *po = po_find(&st, e->client,
				    pack);

				if (po != NULL) {
					if (to > po->offset)
						po->offset = to;
				} else if (po_set(&st, e->client, pack, to,
				    0) == -1) {
					snprintf(err, errlen, "out of memory");
					goto out;
				} else
					po_sort(&st);
			}
		}
		i = end;
	}
	for (size_t c = 0; c < r.nclients; c++) {
		if (dry_run) {
			if (tps[c].nrec > 0) {
				rep->packs++;
				rep->records += tps[c].nrec;
				rep->bytes += tps[c].size;
			}
			continue;
		}
		if (tp_upload(datadir, s, prefix, &tps[c], &maxpack, rep, err,
		    errlen) == -1)
			goto out;
	}

	/* The journal, only when every chosen blob is there. */
	if (rep->ndamaged == 0) {
		if (r.nrecs > 0 && !dry_run) {
			rep->segment = seq;
			if (put_segments(s, prefix, r.recs, r.nrecs, &seq, err,
			    errlen) == -1)
				goto out;
		}
		rep->journal = r.nrecs;
		for (size_t c = 0; c < r.nclients; c++) {
			struct jcount *jc = jc_get(&st, r.clients[c], 1);

			if (jc == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			jc->n = r.jseen[c];
		}
	}
	if (!dry_run) {
		size_t len;
		char *t = state_text(&st, srchex, &len);

		if (t == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		s3r = s3_put(s, key, t, len, S3_COND_NONE, NULL, NULL, err,
		    errlen);
		free(t);
		if (s3r != S3_OK)
			goto out;
	}
	rc = rep->ndamaged > 0 ? 1 : 0;
out:
	if (tps != NULL)
		for (size_t c = 0; c < r.nclients; c++) {
			if (tps[c].fd != -1)
				close(tps[c].fd);
			free(tps[c].ids);
		}
	free(tps);
	free(buf);
	free(links);
	free(stext);
	store_close(store);
	free(r.ents);
	if (r.recs != NULL)
		explicit_bzero(r.recs, r.caprecs * sizeof(*r.recs));
	free(r.recs);
	free(r.jseen);
	free((void *)r.clients);
	state_free(&st);
	return rc;
}
