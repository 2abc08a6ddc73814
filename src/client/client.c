/*
 * client.c - the steps gigavault commands share: common options, config,
 * passphrase and keys, an authenticated session, finding a snapshot and
 * fetching blobs.  See client.h.
 */
#include "autoconf.h"

#include <err.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/human.h"
#include "common/monotime.h"
#include "client.h"
#include "keyfile.h"
#include "ratelimit.h"

#define PASS_MAX	4096	/* bytes of a passphrase */

int
client_opt(struct client *c, int ch, const char *arg)
{
	switch (ch) {
	case 'c':
		c->conffile = arg;
		return 1;
	case 's':
		c->server = arg;
		return 1;
	case 'v':
		c->verbose++;
		return 1;
	case OPT_PASSFILE:
		c->passfile = arg;
		return 1;
	case OPT_JSON:
		c->json = 1;
		return 1;
	case OPT_SET:
		c->set = arg;
		return 1;
	case OPT_SSL:
		c->ssl = 1;
		return 1;
	case OPT_STRICT:
		c->strict = 1;
		return 1;
	case OPT_LIMIT_UP:
	case OPT_LIMIT_DOWN:
		if (human_parse_bytes(arg, ch == OPT_LIMIT_UP ? &c->limit_up :
		    &c->limit_down) == -1) {
			warnx("--limit-%s \"%s\": not a rate (bytes a second, "
			    "with K, M or G for 1024, 1024^2, 1024^3; 0 for "
			    "no limit)", ch == OPT_LIMIT_UP ? "upload" :
			    "download", arg);
			return 0;
		}
		return 1;
	}
	return 0;
}

int
client_usage(const struct client *c)
{
	fprintf(stderr, "usage: gigavault %s\n", c->usage);
	return EXIT_ERROR;
}

int
client_setup(struct client *c)
{
	char err[1024], host[256];
	int port;

	if (c->conf != NULL)
		return 0;
	if ((c->conf = clientconf_load(c->conffile, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	c->ssl |= c->conf->ssl;
	c->strict |= c->conf->strict;
	if (c->set != NULL && !clientconf_valid_set(c->set)) {
		warnx("--set \"%s\": a set name is 1 to 64 characters of "
		    "A-Z a-z 0-9 . _ -", c->set);
		return -1;
	}
	if (c->server != NULL && strcmp(c->server, "auto") == 0 &&
	    client_auto_server(c) == -1)
		return -1;
	if (c->server != NULL && clientconf_parse_server(c->server, host,
	    sizeof(host), &port) == -1) {
		warnx("-s \"%s\" is not HOST[:PORT] (IPv6 addresses in "
		    "brackets, port 1..65535)", c->server);
		return -1;
	}
	return 0;
}

const char *
client_set(const struct client *c)
{
	return c->set != NULL ? c->set : c->conf->set;
}

/* One line from the terminal with echo off; NULL on EOF or error. */
static char *
ask(FILE *tty, const char *prompt, size_t *len)
{
	struct termios old, quiet;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int restore;

	fprintf(tty, "%s", prompt);
	fflush(tty);
	restore = tcgetattr(fileno(tty), &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	n = getline(&buf, &cap, tty);
	if (restore)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void
wipe_free(char *p, size_t len)
{
	if (p != NULL) {
		crypto_wipe(p, len);
		free(p);
	}
}

int
client_passphrase(struct client *c, int confirm, char **pass, size_t *len)
{
	const char *env = getenv("GIGAVAULT_PASSPHRASE");
	char *p, *p2;
	size_t n, n2;
	FILE *f;

	*pass = NULL;
	if (c->passfile != NULL) {
		if ((f = fopen(c->passfile, "re")) == NULL) {
			warn("%s", c->passfile);
			return -1;
		}
		if ((p = calloc(1, PASS_MAX + 2)) == NULL) {
			fclose(f);
			warnx("out of memory");
			return -1;
		}
		if (fgets(p, PASS_MAX + 2, f) == NULL && ferror(f)) {
			warn("%s", c->passfile);
			fclose(f);
			wipe_free(p, PASS_MAX + 2);
			return -1;
		}
		fclose(f);
		n = strlen(p);
		if (n > 0 && p[n - 1] == '\n')
			p[--n] = '\0';
		if (n > 0 && p[n - 1] == '\r')
			p[--n] = '\0';
		if (n > PASS_MAX) {
			warnx("%s: passphrase longer than %d bytes",
			    c->passfile, PASS_MAX);
			wipe_free(p, PASS_MAX + 2);
			return -1;
		}
	} else if (env != NULL) {
		if ((p = strdup(env)) == NULL) {
			warnx("out of memory");
			return -1;
		}
		n = strlen(p);
	} else {
		if ((f = fopen("/dev/tty", "r+e")) == NULL) {
			warnx("no passphrase: set GIGAVAULT_PASSPHRASE or use "
			    "--passphrase-file FILE (no terminal to ask on)");
			return -1;
		}
		p = ask(f, "Passphrase: ", &n);
		if (p != NULL && confirm) {
			p2 = ask(f, "Passphrase again: ", &n2);
			if (p2 == NULL || n2 != n || memcmp(p, p2, n) != 0) {
				fclose(f);
				wipe_free(p, n);
				wipe_free(p2, p2 ? n2 : 0);
				warnx("the passphrases differ");
				return -1;
			}
			wipe_free(p2, n2);
		}
		fclose(f);
		if (p == NULL) {
			warnx("no passphrase given");
			return -1;
		}
	}
	if (confirm && n == 0) {
		wipe_free(p, n);
		warnx("the passphrase is empty");
		return -1;
	}
	*pass = p;
	*len = n;
	return 0;
}

int
client_keys(struct client *c)
{
	char err[512], *pass;
	size_t len;
	int rc;

	if (c->have_keys)
		return 0;
	if (client_setup(c) == -1)
		return -1;
	if (access(c->conf->keyfile, F_OK) == -1 && errno == ENOENT) {
		warnx("no key file %s: run \"gigavault init\" first (or set "
		    "KeyFile)", c->conf->keyfile);
		return -1;
	}
	if (client_passphrase(c, 0, &pass, &len) == -1)
		return -1;
	rc = keyfile_load(c->conf->keyfile, pass, len, &c->keys, err,
	    sizeof(err));
	wipe_free(pass, len);
	if (rc == -1) {
		warnx("%s", err);
		return -1;
	}
	c->have_keys = 1;
	return 0;
}

#define IO_WAIT_MS	60000	/* for the hello of the main session */
#define EXTRA_WAIT_MS	1000	/* of an extra one: the pool may be busy */

static struct remote *open_session(struct client *, long, char *, size_t);

int
client_session(struct client *c)
{
	char err[1024];

	if (c->remote != NULL)
		return 0;
	if (client_setup(c) == -1)
		return -1;
	if (client_state_read(c->conf->statefile, &c->state, err,
	    sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	if ((c->remote = open_session(c, IO_WAIT_MS, err, sizeof(err))) ==
	    NULL) {
		warnx("%s", err);
		return -1;
	}
	return 0;
}

struct remote *
client_more_session(struct client *c, char *err, size_t errlen)
{
	return open_session(c, EXTRA_WAIT_MS, err, errlen);
}

int
client_address(struct client *c, const char *addr, char *host,
    size_t hostlen, int *port, char *err, size_t errlen)
{
	if (clientconf_parse_server(addr, host, hostlen, port) == -1) {
		snprintf(err, errlen, "bad server address \"%s\"", addr);
		return -1;
	}
	if (*port == 0)
		*port = c->ssl ? c->conf->port_ssl : c->conf->port_backup;
	return 0;
}

int
client_tls(struct client *c, const uint8_t *pin, struct remote_tls *t,
    char *err, size_t errlen)
{
	const char *ca = c->conf->cafile[0] ? c->conf->cafile : NULL;
	int have_cert = access(c->conf->ssl_cert, F_OK) == 0;

	memset(t, 0, sizeof(*t));
	if (!c->ssl)
		return 0;
	if (c->tls_ctx == NULL && (c->tls_ctx = tls_client_new(ca,
	    have_cert ? c->conf->ssl_cert : NULL,
	    have_cert ? c->conf->ssl_key : NULL, err, errlen)) == NULL)
		return -1;
	t->ctx = c->tls_ctx;
	t->pin = pin;
	t->ca = ca != NULL;
	return 0;
}

static struct remote *
open_session(struct client *c, long hello_ms, char *err, size_t errlen)
{
	char host[256], why[1024];
	struct remote_tls tls;
	struct remote *r;
	const char *addr;
	int port;

	/* Registered (or pinned) over TLS: never plain again. */
	c->ssl |= c->state.has_pin;
	addr = c->server ? c->server : c->conf->server[0] ? c->conf->server :
	    c->state.server;
	if (client_address(c, addr, host, sizeof(host), &port, err,
	    errlen) == -1)
		return NULL;
	if (c->ssl && c->conf->cafile[0] == '\0' && !c->state.has_pin) {
		snprintf(err, errlen, "SSL is on, but no server key is pinned "
		    "for %s (registered without SSL?): run \"gigavault pin\" "
		    "and compare the fingerprint with \"gigavaultctl tls "
		    "show\" on the server, or set SSL.CAFile", addr);
		return NULL;
	}
	if (client_tls(c, c->state.tls_pin, &tls, err, errlen) == -1)
		return NULL;
	/* One bucket each way for all of c's sessions. */
	if ((c->limit_up > 0 && c->pace_up == NULL &&
	    (c->pace_up = ratelimit_new(c->limit_up, 0)) == NULL) ||
	    (c->limit_down > 0 && c->pace_down == NULL &&
	    (c->pace_down = ratelimit_new(c->limit_down, 0)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((r = remote_connect_wait(host, port, c->state.server_id, hello_ms,
	    &tls, err, errlen)) == NULL)
		return NULL;
	remote_set_limits(r, c->pace_up, c->pace_down);
	if (remote_auth(r, c->state.name, c->state.secret, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", addr, why);
		remote_close(r);
		return NULL;
	}
	return r;
}

void
client_done(struct client *c)
{
	remote_close(c->remote);
	c->remote = NULL;
	tls_ctx_free(c->tls_ctx);
	c->tls_ctx = NULL;
	ratelimit_free(c->pace_up);
	ratelimit_free(c->pace_down);
	c->pace_up = c->pace_down = NULL;
	crypto_wipe(&c->keys, sizeof(c->keys));
	crypto_wipe(&c->state, sizeof(c->state));
	clientconf_free(c->conf);
	c->conf = NULL;
}

int
client_snapshot_id(const char *spec, uint64_t *id)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(spec, &end, 10);
	if (spec[0] < '0' || spec[0] > '9' || *end != '\0' || errno != 0 ||
	    v == 0) {
		warnx("\"%s\" is not a snapshot id nor \"latest\"", spec);
		return -1;
	}
	*id = v;
	return 0;
}

int
client_snapshot(struct client *c, const char *spec, const char *set,
    struct snapinfo *out)
{
	struct snapinfo *v;
	char err[1024];
	uint64_t id = 0;
	size_t n, i;
	int latest = strcmp(spec, "latest") == 0;

	if (!latest && client_snapshot_id(spec, &id) == -1)
		return -1;
	if (remote_list(c->remote, latest && set ? set : "", &v, &n, err,
	    sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	for (i = n; i > 0; i--)
		if (latest || v[i - 1].id == id)
			break;
	if (i == 0) {
		if (latest && set)
			warnx("no snapshot in set %s", set);
		else if (latest)
			warnx("no snapshot yet");
		else
			warnx("no snapshot %llu", (unsigned long long)id);
		free(v);
		return -1;
	}
	*out = v[i - 1];
	free(v);
	return 0;
}

struct fetch {
	uint8_t		*blob;		/* a copy of the sealed bytes */
	size_t		 len;
	int		 missing;
	uint8_t		(*links)[BLOB_ID_LEN];	/* a copy of the stated links */
	uint32_t	 nlinks;
	uint8_t		 id[BLOB_ID_LEN];	/* client_prefetch() */
	int		 used;
};

/* Only copy: a damaged blob must not end the session. */
static int
fetch_cb(void *arg, const uint8_t *id, const uint8_t *blob, size_t len,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks)
{
	struct fetch *f = arg;

	(void)id;
	f->nlinks = nlinks;
	if (blob == NULL) {
		f->missing = 1;
		return 0;
	}
	if ((f->blob = malloc(len)) == NULL)
		return -1;
	memcpy(f->blob, blob, len);
	f->len = len;
	if (nlinks > 0 && nlinks != UINT32_MAX) {
		if ((f->links = calloc(nlinks, BLOB_ID_LEN)) == NULL)
			return -1;
		memcpy(f->links, links, (size_t)nlinks * BLOB_ID_LEN);
	}
	return 0;
}

/* Blobs fetched ahead (client_prefetch()). */
struct client_ahead {
	struct fetch	*v;
	size_t		 n;
	size_t		 got;		/* filled by the GET so far */
};

static void
ahead_free(struct client_ahead *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].blob);
		free(a->v[i].links);
	}
	free(a->v);
	free(a);
}

/* remote_get() callback of client_prefetch(): one more in order. */
static int
ahead_cb(void *arg, const uint8_t *id, const uint8_t *blob, size_t len,
    const uint8_t (*links)[BLOB_ID_LEN], uint32_t nlinks)
{
	struct client_ahead *a = arg;
	struct fetch *f = &a->v[a->got++];

	memcpy(f->id, id, BLOB_ID_LEN);
	return fetch_cb(f, id, blob, len, links, nlinks);
}

/*
 * Fetch one blob over r with k, opened (authenticated, decrypted,
 * checked against id), and the links stated (tree_src's way; links NULL:
 * not wanted), from ahead when it was fetched ahead.  missing (or NULL)
 * tells a blob the server lacks from one that does not open.
 */
static int
fetch_linked(struct remote *r, const struct keys *k,
    struct client_ahead *ahead, enum blob_kind kind, const uint8_t *id,
    size_t maxlen, uint8_t **body, size_t *len,
    uint8_t (**links)[BLOB_ID_LEN], uint32_t *nlinks, int *missing,
    char *err, size_t errlen)
{
	struct fetch f;
	const uint8_t (*ids)[BLOB_ID_LEN] = (const uint8_t (*)[BLOB_ID_LEN])id;
	char hex[2 * BLOB_ID_LEN + 1], why[256];
	int rc;

	memset(&f, 0, sizeof(f));
	err[0] = '\0';
	*body = NULL;
	if (links != NULL)
		*links = NULL;
	for (size_t i = 0; ahead != NULL && i < ahead->n; i++) {
		if (ahead->v[i].used || memcmp(ahead->v[i].id, id,
		    BLOB_ID_LEN) != 0)
			continue;
		f = ahead->v[i];	/* taken over */
		memset(&ahead->v[i], 0, sizeof(ahead->v[i]));
		ahead->v[i].used = 1;
		goto got;
	}
	if ((rc = remote_get(r, ids, 1, fetch_cb, &f, err, errlen)) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		free(f.blob);
		free(f.links);
		return -1;
	}
got:
	hex_encode(id, BLOB_ID_LEN, hex);
	if (missing != NULL)
		*missing = f.missing;
	if (f.missing) {
		snprintf(err, errlen, "blob %s: not on the server", hex);
		return 1;
	}
	rc = blob_open(k, kind, id, f.blob, f.len, maxlen, body, len, why,
	    sizeof(why));
	free(f.blob);
	if (rc == -1) {
		free(f.links);
		snprintf(err, errlen, "blob %s: %s", hex, why);
		return 1;
	}
	if (links != NULL) {
		*links = f.links;
		*nlinks = f.nlinks;
	} else
		free(f.links);
	return 0;
}

int
client_meta(struct client *c, const uint8_t *id, uint8_t **body,
    size_t *len, int *missing, char *err, size_t errlen)
{
	return fetch_linked(c->remote, &c->keys, NULL, BLOB_META, id,
	    CLIENT_META_MAX, body, len, NULL, NULL, missing, err, errlen);
}

static int
rk_fetch(void *arg, const uint8_t id[BLOB_ID_LEN], uint8_t **body,
    size_t *len, uint8_t (**links)[BLOB_ID_LEN], uint32_t *nlinks,
    char *err, size_t errlen)
{
	struct client_rk *rk = arg;

	return fetch_linked(rk->r, rk->k, rk->ahead, BLOB_TREE, id,
	    CLIENT_TREE_MAX, body, len, links, nlinks, NULL, err, errlen);
}

int
client_prefetch(struct client_rk *rk, const uint8_t (*ids)[BLOB_ID_LEN],
    size_t n, char *err, size_t errlen)
{
	struct client_ahead *a = rk->ahead;
	struct fetch *v;
	uint8_t (*want)[BLOB_ID_LEN] = NULL;
	size_t keep = 0, m = 0, i, k;
	int rc;

	if (a == NULL) {
		if ((a = calloc(1, sizeof(*a))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		rk->ahead = a;
	}
	/* Keep what was fetched ahead and not read yet (a reader nests). */
	for (i = 0; i < a->n; i++)
		if (!a->v[i].used)
			a->v[keep++] = a->v[i];
	a->n = a->got = keep;
	if (n == 0)
		return 0;
	/* Each id once: not twice in ids, nor when it is kept already. */
	if ((want = calloc(n, BLOB_ID_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		for (k = 0; k < keep && memcmp(a->v[k].id, ids[i],
		    BLOB_ID_LEN) != 0; k++)
			;
		if (k < keep)
			continue;
		for (k = 0; k < m && memcmp(want[k], ids[i], BLOB_ID_LEN) != 0;
		    k++)
			;
		if (k == m)
			memcpy(want[m++], ids[i], BLOB_ID_LEN);
	}
	if (m == 0) {
		free(want);
		return 0;
	}
	if ((v = reallocarray(a->v, keep + m, sizeof(*v))) == NULL) {
		free(want);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->v = v;
	memset(v + keep, 0, m * sizeof(*v));
	a->n = keep + m;
	err[0] = '\0';
	rc = remote_get(rk->r, (const uint8_t (*)[BLOB_ID_LEN])want, m,
	    ahead_cb, a, err, errlen);
	free(want);
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
client_rk_free(struct client_rk *rk)
{
	ahead_free(rk->ahead);
	rk->ahead = NULL;
}

static int
rk_prefetch(void *arg, const uint8_t (*ids)[BLOB_ID_LEN], size_t n,
    char *err, size_t errlen)
{
	return client_prefetch(arg, ids, n, err, errlen);
}

void
client_tree_src(struct client_rk *rk, struct tree_src *src)
{
	src->fetch = rk_fetch;
	src->prefetch = rk_prefetch;
	src->arg = rk;
}

int
client_tree_find(struct client_rk *rk, const uint8_t *id, const char *name,
    struct tree *page, struct node **nd, char *err, size_t errlen)
{
	struct tree_src src;
	struct tree_dirw w;
	size_t lo = 0, hi, mid;
	int rc;

	*nd = NULL;
	client_tree_src(rk, &src);
	if ((rc = tree_load_index(&src, id, &w, page, err, errlen)) != 0)
		return rc;
	if (w.n > 1) {
		/* The last page whose first name is not after name. */
		hi = w.n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (strcmp(w.first[mid], name) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0)
			rc = tree_load(&src, w.ids[lo - 1], page, err,
			    errlen);
	}
	tree_dirw_free(&w);
	if (rc != 0)
		return rc;
	*nd = (struct node *)(uintptr_t)tree_find(page, name);
	return 0;
}

int
client_tree(struct client *c, const uint8_t *id, struct tree *t, char *err,
    size_t errlen)
{
	struct client_rk rk = { c->remote, &c->keys, NULL };
	struct tree_src src;
	int rc;

	client_tree_src(&rk, &src);
	rc = tree_load(&src, id, t, err, errlen);
	client_rk_free(&rk);
	return rc;
}

void
client_putsafe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\%03o", *p);	/* C0, DEL */
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fprintf(f, "\\%03o\\%03o", p[0], p[1]);	/* C1 */
			p++;
		} else
			putc(*p, f);
	}
}

json_t *
client_jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j != NULL)
		return j;
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

void
client_fmt_time(int64_t t, const char *fmt, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, fmt, &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

void
client_fmt_bytes(double n, char *buf, size_t len)
{
	human_bytes(n, buf, len);
}

int
client_json_item(json_t *o, int *first)
{
	char *text;

	if (o == NULL)
		return -1;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return -1;
	printf("%s%s", *first ? "[\n" : ",\n", text);
	free(text);
	*first = 0;
	return 0;
}

void
client_json_end(int first)
{
	printf(first ? "[]\n" : "\n]\n");
}

const char *
client_type_name(uint8_t t)
{
	switch (t) {
	case NODE_FILE:		return "file";
	case NODE_DIR:		return "dir";
	case NODE_SYMLINK:	return "symlink";
	case NODE_FIFO:		return "fifo";
	case NODE_CHR:		return "chr";
	case NODE_BLK:		return "blk";
	case NODE_SOCK:		return "sock";
	}
	return "unknown";
}

void
client_progress_start(struct client_progress *p, int on, int tty)
{
	p->on = on;
	p->tty = tty;
	p->start = mono_ms();
	p->last = 0;
}

double
client_progress_elapsed(const struct client_progress *p)
{
	return (double)(mono_ms() - p->start) / 1e3;
}

int
client_progress_due(struct client_progress *p, int final)
{
	double t;

	if (!p->on)
		return 0;
	t = client_progress_elapsed(p);
	if (!final && t - p->last < (p->tty ? 0.25 : 10.0))
		return 0;
	p->last = t;
	return 1;
}

void
client_progress_print(const struct client_progress *p, int final,
    const char *fmt, ...)
{
	va_list ap;

	fputs(client_progress_clear(p), stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!p->tty || final)
		fputc('\n', stderr);
	fflush(stderr);
}

const char *
client_progress_clear(const struct client_progress *p)
{
	return p->on && p->tty ? "\r\033[K" : "";
}

int
client_tree_path(struct client_rk *rk, const uint8_t *root, const char *path,
    struct tree *page, struct node **nd, size_t *stop, int *notdir,
    char *err, size_t errlen)
{
	uint8_t dir[BLOB_ID_LEN];
	const char *p = path, *e;
	char *name;
	int rc;

	*nd = NULL;
	*stop = 0;
	*notdir = 0;
	memcpy(dir, root, BLOB_ID_LEN);
	while (*p == '/') {
		if (*nd != NULL) {
			if ((*nd)->type != NODE_DIR) {
				tree_free(page);
				*nd = NULL;
				*notdir = 1;
				return 0;
			}
			memcpy(dir, (*nd)->subtree, BLOB_ID_LEN);
			tree_free(page);
			*nd = NULL;
		}
		p++;
		e = p + strcspn(p, "/");
		if ((name = strndup(p, (size_t)(e - p))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		rc = client_tree_find(rk, dir, name, page, nd, err, errlen);
		free(name);
		*stop = (size_t)(e - path);
		if (rc != 0)
			return rc;
		if (*nd == NULL) {
			tree_free(page);
			return 0;
		}
		p = e;
	}
	return 0;
}

char *
client_path_norm(const char *p)
{
	char *w = malloc(strlen(p) + 2), *q = w;
	const char *e;

	if (w == NULL)
		return NULL;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		e = p + strcspn(p, "/");
		if (e > p && !(e - p == 1 && *p == '.')) {
			*q++ = '/';
			memcpy(q, p, (size_t)(e - p));
			q += e - p;
		}
		p = e;
	}
	*q = '\0';
	return w;
}

char *
client_path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

int
client_path_under(const char *path, const char *dir)
{
	size_t l = strlen(dir);

	if (strncmp(path, dir, l) != 0)
		return -1;
	if (path[l] == '\0')
		return 0;
	return path[l] == '/' ? 1 : -1;
}
