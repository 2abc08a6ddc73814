/*
 * mailsrc.c - the feed of a mail set (mailsrc.h, doc/mail.md): users,
 * mailboxes and messages read through the mail helper on
 * Ports.MAPI32Bit (mhclient.h), as directories and files for backup.c.
 *
 * backup.c walks depth first in name order: the root (the users), a
 * user (its mailboxes), a mailbox (its messages), then opens the files
 * of that mailbox that changed since the parent snapshot, before it
 * lists the next one.  So one mailbox is "current" at a time: listing it
 * asks the helper for its messages (UID, size, flags, dates), fetches
 * the From/Subject/Date header fields alone of those the cache lacks
 * (FETCH_HEADER), and writes .mailbox and the cache; opening a message
 * fetches its bytes, once.  A message the parent snapshot has is never
 * opened.
 */
#include "autoconf.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/atomicfile.h"
#include "common/crypto.h"
#include "common/text.h"
#include "client.h"
#include "mailsrc.h"
#include "mhclient.h"

#define MH_TIMEOUT_S	300	/* the helper's answer to one request */

struct msg {
	uint32_t	 uid;
	uint64_t	 size;
	int64_t		 date;
	int32_t		 tzoff;
	char		*flags;
	char		*from, *subject, *hdate;	/* NULL: not known */
	int		 known;		/* the three are known (maybe NULL) */
	char		*refused;	/* the helper refused it: why */
};

struct mailsrc {
	struct client	*c;
	const struct clientconf_set *cs;
	struct mh_conn	*mh;
	struct feed	*f;
	char		*cachedir;	/* StateFile's dir/mail-cache/SET */
	char		 label[128];

	/* The user whose mailboxes were listed last. */
	char		*user;		/* raw name */
	char		*user_enc;
	struct mh_mailbox *mbs;
	size_t		 nmbs;

	/* The mailbox listed last: "/USER/MAILBOX" and its messages. */
	char		*cur_path;
	const struct mh_mailbox *cur;
	struct msg	*msgs;		/* by uid */
	size_t		 nmsgs, capmsgs;
	char		*meta;		/* its .mailbox */
	size_t		 metalen;
	struct timespec	 stamp;		/* .mailbox's mtime: now */

	uint64_t	 nusers, nmailboxes, nmessages, fetched, fetched_bytes;
	uint64_t	 hdr_fetched;	/* their header fields fetched */
	int		 oom, toomany;	/* why add_info() stopped */
};

/* ---------------------------------------------------------------- names */

char *
mailsrc_encode(const char *name)
{
	size_t n = strlen(name), o = 0;
	char *s;

	if (n > (SIZE_MAX - 1) / 3 || (s = malloc(3 * n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '%' || ch == '/' || (i == 0 && ch == '.')) {
			snprintf(s + o, 4, "%%%02X", ch);
			o += 3;
		} else
			s[o++] = (char)ch;
	}
	s[o] = '\0';
	return s;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

char *
mailsrc_decode(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *d;
	int hi, lo;

	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			d[o++] = s[i];
			continue;
		}
		if (i + 2 >= n || (hi = hexval((unsigned char)s[i +
		    1])) == -1 || (lo = hexval((unsigned char)s[i + 2])) ==
		    -1 || (hi == 0 && lo == 0)) {
			free(d);
			return NULL;
		}
		d[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	d[o] = '\0';
	return d;
}

/* ---------------------------------------------------------------- headers */

char *
mailsrc_header(const uint8_t *msg, size_t len, const char *name)
{
	size_t nl = strlen(name), i = 0, o = 0;
	char *v = NULL;
	int in = 0;

	while (i < len) {
		size_t e = i;

		while (e < len && msg[e] != '\n')
			e++;
		/* This line is msg[i..e), without its LF (and CR). */
		size_t le = e;

		if (le > i && msg[le - 1] == '\r')
			le--;
		if (le == i)
			break;			/* the header ends */
		if (in && (msg[i] == ' ' || msg[i] == '\t')) {
			/* A folded line: one blank for the line break. */
			for (size_t k = i; k < le && o < MAILSRC_HDR_MAX; k++)
				v[o++] = msg[k] == '\t' ? ' ' : (char)msg[k];
		} else if (in)
			break;
		else if (le - i > nl && msg[i + nl] == ':' &&
		    strncasecmp((const char *)msg + i, name, nl) == 0) {
			if ((v = malloc(MAILSRC_HDR_MAX + 1)) == NULL)
				return NULL;
			in = 1;
			for (size_t k = i + nl + 1; k < le &&
			    o < MAILSRC_HDR_MAX; k++) {
				if (o == 0 && (msg[k] == ' ' ||
				    msg[k] == '\t'))
					continue;
				v[o++] = (char)msg[k];
			}
		}
		i = e + 1;
	}
	if (v == NULL)
		return NULL;
	v[o] = '\0';
	/* A NUL byte in the field ends it. */
	text_clean(v, "");
	text_cut(v, MAILSRC_HDR_MAX);
	return v;
}

/* ---------------------------------------------------------------- cache */

static void
msgs_clear(struct mailsrc *m)
{
	for (size_t i = 0; i < m->nmsgs; i++) {
		free(m->msgs[i].flags);
		free(m->msgs[i].from);
		free(m->msgs[i].subject);
		free(m->msgs[i].hdate);
		free(m->msgs[i].refused);
	}
	m->nmsgs = 0;
	free(m->meta);
	m->meta = NULL;
	m->metalen = 0;
	free(m->cur_path);
	m->cur_path = NULL;
	m->cur = NULL;
}

static int
cmp_msg_uid(const void *key, const void *e)
{
	uint32_t k = *(const uint32_t *)key, u = ((const struct msg *)e)->uid;

	return k < u ? -1 : k > u;
}

static int
cmp_msgs(const void *a, const void *b)
{
	return cmp_msg_uid(&((const struct msg *)a)->uid, b);
}

static struct msg *
msg_find(struct mailsrc *m, uint32_t uid)
{
	return bsearch(&uid, m->msgs, m->nmsgs, sizeof(*m->msgs), cmp_msg_uid);
}

/* The cache file of mailbox mb of the current user; NULL: out of memory. */
static char *
cache_path(struct mailsrc *m, const char *mailbox)
{
	uint8_t h[CRYPTO_HASH_LEN];
	char hex[2 * CRYPTO_HASH_LEN + 1], *key, *p;
	size_t ul = strlen(m->user), ml = strlen(mailbox);

	if ((key = malloc(ul + ml + 1)) == NULL)
		return NULL;
	memcpy(key, m->user, ul + 1);		/* with its NUL */
	memcpy(key + ul + 1, mailbox, ml);
	crypto_sha256(key, ul + 1 + ml, h);
	free(key);
	hex_encode(h, sizeof(h), hex);
	if (asprintf(&p, "%s/%s.json", m->cachedir, hex) == -1)
		return NULL;
	return p;
}

static char *
jdup(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? strdup(s) : NULL;
}

/*
 * From, Subject and Date of the current mailbox's messages from its
 * cache file (a .mailbox written before), for the same UIDVALIDITY.  A
 * missing or unreadable cache is no error: the messages are fetched.
 */
static void
cache_load(struct mailsrc *m, const char *mailbox)
{
	json_t *o, *arr, *e;
	json_error_t jerr;
	char *path;
	size_t i;

	if ((path = cache_path(m, mailbox)) == NULL)
		return;
	o = json_load_file(path, 0, &jerr);
	free(path);
	if (o == NULL)
		return;
	if (json_integer_value(json_object_get(o, "uidvalidity")) !=
	    (json_int_t)m->cur->uidvalidity ||
	    !json_is_array(arr = json_object_get(o, "messages"))) {
		json_decref(o);
		return;
	}
	json_array_foreach(arr, i, e) {
		json_int_t uid = json_integer_value(json_object_get(e, "uid"));
		json_int_t size = json_integer_value(json_object_get(e,
		    "size"));
		struct msg *g;

		if (uid <= 0 || uid > UINT32_MAX ||
		    (g = msg_find(m, (uint32_t)uid)) == NULL || g->known ||
		    (uint64_t)size != g->size)
			continue;
		g->from = jdup(e, "from");
		g->subject = jdup(e, "subject");
		g->hdate = jdup(e, "date_header");
		g->known = 1;
	}
	json_decref(o);
}

/* ---------------------------------------------------------------- the feed */

/* A memfd holding data[0..len), at offset 0; -1 with err set. */
static int
memfd_of(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	size_t off = 0;
	ssize_t k;
	int fd;

	if ((fd = memfd_create("gigavault-mail", MFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((k = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "memfd: %s", strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)k;
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void
stat_dir(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | 0700;
	st->st_uid = getuid();
	st->st_gid = getgid();
}

static int
cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct feed_entry *)a)->name,
	    ((const struct feed_entry *)b)->name);
}

static void
entries_free(struct feed_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* 1 when list (a MailUsers or MailFolders list) is empty or has s. */
static int
chosen(char **list, size_t n, const char *s, int glob)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (glob ? fnmatch(list[i], s, 0) == 0 :
		    strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* Directories named by names[0..n) (raw), encoded, sorted. */
static int
dir_entries(char *const *names, size_t n, struct feed_entry **out,
    size_t *nout, char *err, size_t errlen)
{
	struct feed_entry *e;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if ((e = calloc(n, sizeof(*e))) == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if ((e[i].name = mailsrc_encode(names[i])) == NULL) {
			entries_free(e, i);
			goto oom;
		}
		stat_dir(&e[i].st);
	}
	qsort(e, n, sizeof(*e), cmp_entries);
	*out = e;
	*nout = n;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int
list_users(struct mailsrc *m, struct feed_entry **out, size_t *n, char *err,
    size_t errlen)
{
	const struct clientconf_set *cs = m->cs;
	char **users = NULL, **keep = NULL;
	size_t nu = 0, nk = 0;
	int rc;

	if (mh_users(m->mh, &users, &nu, err, errlen) != 0)
		return -1;
	if (nu > 0 && (keep = calloc(nu, sizeof(*keep))) == NULL) {
		mh_strings_free(users, nu);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < nu; i++)
		if (chosen(cs->mail_users, cs->nmail_users, users[i], 0))
			keep[nk++] = users[i];
	for (size_t i = 0; i < cs->nmail_users; i++) {
		size_t k;

		for (k = 0; k < nu; k++)
			if (strcmp(users[k], cs->mail_users[i]) == 0)
				break;
		if (k == nu) {
			/* Named, but the mail server has no such user. */
			snprintf(err, errlen, "MailUsers names \"%s\", which "
			    "the mail helper does not list",
			    cs->mail_users[i]);
			fprintf(stderr, "gigavault: warning: %s\n", err);
		}
	}
	rc = dir_entries(keep, nk, out, n, err, errlen);
	m->nusers = nk;
	free(keep);
	mh_strings_free(users, nu);
	return rc;
}

/* Path components: "/a/b" into up to 3; their count, or -1. */
static int
split(const char *path, char *c[3])
{
	const char *s = path, *e;
	int n = 0;

	c[0] = c[1] = c[2] = NULL;
	if (*s == '\0')
		return 0;
	while (*s == '/') {
		s++;
		if (n == 3)
			goto bad;
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		if ((c[n++] = strndup(s, (size_t)(e - s))) == NULL)
			goto bad;
		s = e;
	}
	if (*s == '\0')
		return n;
bad:
	for (int i = 0; i < 3; i++) {
		free(c[i]);
		c[i] = NULL;
	}
	return -1;
}

/*
 * Test hooks (gigavault(1)): GIGAVAULT_TEST_MAIL_PAUSE=PATH creates PATH
 * after the first user's mailboxes are listed, GIGAVAULT_TEST_MAIL_
 * PAUSE_OPEN=PATH before the first message is fetched to be stored,
 * and each waits, a minute at most, until PATH is removed, so that
 * t/86-mail-errors.t deletes a mailbox between its LIST and its EXAMINE,
 * or expunges a message between .mailbox and its bytes, every time.
 */
static void
test_pause(const char *var)
{
	static int done[2];
	const char *p = getenv(var);
	int fd, k = strcmp(var, "GIGAVAULT_TEST_MAIL_PAUSE") != 0;

	if (done[k] || p == NULL || p[0] == '\0')
		return;
	done[k] = 1;
	if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return;
	close(fd);
	for (int i = 0; i < 6000 && access(p, F_OK) == 0; i++)
		usleep(10000);
}

static int
list_mailboxes(struct mailsrc *m, const char *uenc, struct feed_entry **out,
    size_t *n, char *err, size_t errlen)
{
	const struct clientconf_set *cs = m->cs;
	char *user, **names = NULL;
	size_t nn = 0;
	int rc;

	msgs_clear(m);
	if ((user = mailsrc_decode(uenc)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	mh_mailboxes_free(m->mbs, m->nmbs);
	m->mbs = NULL;
	m->nmbs = 0;
	free(m->user);
	free(m->user_enc);
	m->user = user;
	if ((m->user_enc = strdup(uenc)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((rc = mh_mailboxes(m->mh, user, &m->mbs, &m->nmbs, err,
	    errlen)) != 0)
		return rc == -1 ? -1 : 1;
	test_pause("GIGAVAULT_TEST_MAIL_PAUSE");
	if (m->nmbs > 0 && (names = calloc(m->nmbs, sizeof(*names))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < m->nmbs; i++)
		if (chosen(cs->mail_folders, cs->nmail_folders,
		    m->mbs[i].name, 1))
			names[nn++] = m->mbs[i].name;
	m->nmailboxes += nn;
	rc = dir_entries(names, nn, out, n, err, errlen);
	free(names);
	return rc;
}

static int
add_info(void *arg, const struct mh_msginfo *mi)
{
	struct mailsrc *m = arg;
	struct msg *g, *nm;
	size_t cap;

	if (m->nmsgs >= MAILSRC_MSGS_MAX) {
		m->toomany = 1;
		return -1;
	}
	if (m->nmsgs == m->capmsgs) {
		cap = m->capmsgs ? 2 * m->capmsgs : 256;
		if ((nm = reallocarray(m->msgs, cap, sizeof(*nm))) == NULL) {
			m->oom = 1;
			return -1;
		}
		m->msgs = nm;
		m->capmsgs = cap;
	}
	g = &m->msgs[m->nmsgs];
	memset(g, 0, sizeof(*g));
	g->uid = mi->uid;
	g->size = mi->size;
	g->date = mi->date;
	g->tzoff = mi->tzoff;
	if ((g->flags = strdup(mi->flags != NULL ? mi->flags : "")) == NULL) {
		m->oom = 1;
		return -1;
	}
	m->nmsgs++;
	return 0;
}

/*
 * Fetch message g of the current mailbox: *data (malloc'ed), *len.
 * 0; 1 when it is gone, 2 when the mailbox's UIDVALIDITY changed, 3 when
 * the helper refused it (too large, the IMAP server said NO: the
 * connection goes on), each with err set; -1 when the helper failed
 * (err set: nothing more can be read).
 */
static int
fetch(struct mailsrc *m, struct msg *g, uint8_t **data, size_t *len,
    char *err, size_t errlen)
{
	int rc;

	rc = mh_fetch(m->mh, m->user, m->cur->name, m->cur->uidvalidity,
	    g->uid, data, len, err, errlen);
	if (rc == -1)
		return -1;
	if (rc == MH_REFUSED)
		return 3;
	if (rc != 0) {
		snprintf(err, errlen, "%s", rc == MH_GONE ? "the message is "
		    "gone (expunged while the backup ran)" : "the mailbox's "
		    "UIDVALIDITY changed while the backup ran");
		return rc == MH_GONE ? 1 : 2;
	}
	m->fetched++;
	m->fetched_bytes += *len;
	return 0;
}

/*
 * g's From, Subject and Date, fetched alone (FETCH_HEADER: not its
 * body, which is fetched once, when backup.c stores it).  0; 1, 2, 3 as
 * fetch(); -1 when the helper failed (err set).
 */
static int
fetch_headers(struct mailsrc *m, struct msg *g, char *err, size_t errlen)
{
	uint8_t *data;
	size_t len;
	int rc;

	rc = mh_fetch_header(m->mh, m->user, m->cur->name,
	    m->cur->uidvalidity, g->uid, &data, &len, err, errlen);
	if (rc == -1)
		return -1;
	if (rc == MH_REFUSED)
		return 3;
	if (rc != 0) {
		snprintf(err, errlen, "%s", rc == MH_GONE ? "the message is "
		    "gone (expunged while the backup ran)" : "the mailbox's "
		    "UIDVALIDITY changed while the backup ran");
		return rc == MH_GONE ? 1 : 2;
	}
	m->hdr_fetched++;
	g->from = mailsrc_header(data, len, "From");
	g->subject = mailsrc_header(data, len, "Subject");
	g->hdate = mailsrc_header(data, len, "Date");
	g->known = 1;
	free(data);
	return 0;
}

static json_t *
jstr_or_null(const char *s)
{
	return s != NULL ? client_jstr(s) : json_null();
}

/* The current mailbox's .mailbox into m->meta; -1 when out of memory. */
static int
make_meta(struct mailsrc *m)
{
	const struct mh_mailbox *mb = m->cur;
	json_t *o, *arr, *e;
	char delim[2] = { mb->delim, '\0' }, file[32];

	if ((arr = json_array()) == NULL)
		return -1;
	for (size_t i = 0; i < m->nmsgs; i++) {
		const struct msg *g = &m->msgs[i];

		if (g->refused != NULL)
			continue;	/* not in the snapshot */
		snprintf(file, sizeof(file), "%" PRIu32 "-%" PRIu32,
		    mb->uidvalidity, g->uid);
		e = json_pack("{s:s, s:I, s:o, s:I, s:i, s:I, s:o, s:o, s:o}",
		    "file", file, "uid", (json_int_t)g->uid,
		    "flags", client_jstr(g->flags), "date", (json_int_t)g->date,
		    "tzoff", (int)g->tzoff, "size", (json_int_t)g->size,
		    "from", jstr_or_null(g->from),
		    "subject", jstr_or_null(g->subject),
		    "date_header", jstr_or_null(g->hdate));
		if (e == NULL || json_array_append_new(arr, e) == -1) {
			json_decref(arr);
			return -1;
		}
	}
	o = json_pack("{s:o, s:s, s:I, s:I, s:o, s:o}",
	    "name", client_jstr(mb->name), "delimiter", delim,
	    "uidvalidity", (json_int_t)mb->uidvalidity,
	    "uidnext", (json_int_t)mb->uidnext,
	    "special", jstr_or_null(mb->special != NULL &&
	    mb->special[0] != '\0' ? mb->special : NULL),
	    "messages", arr);
	if (o == NULL)
		return -1;
	m->meta = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (m->meta == NULL)
		return -1;
	m->metalen = strlen(m->meta);
	return 0;
}

static int
list_messages(struct mailsrc *m, const char *path, const char *menc,
    struct feed_entry **out, size_t *n, char *err, size_t errlen)
{
	const struct mh_mailbox *mb = NULL;
	struct feed_entry *e;
	char *enc, *cpath, aerr[512];
	size_t i, k;
	int rc;

	msgs_clear(m);
	for (i = 0; i < m->nmbs && mb == NULL; i++) {
		if ((enc = mailsrc_encode(m->mbs[i].name)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (strcmp(enc, menc) == 0)
			mb = &m->mbs[i];
		free(enc);
	}
	if (mb == NULL) {
		snprintf(err, errlen, "no such mailbox (internal error)");
		return 1;
	}
	m->cur = mb;
	if ((m->cur_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->oom = m->toomany = 0;
	rc = mh_messages(m->mh, m->user, mb->name, mb->uidvalidity, add_info,
	    m, err, errlen);
	if (rc != 0) {
		if (m->toomany) {
			snprintf(err, errlen, "more than %u messages in one "
			    "mailbox", MAILSRC_MSGS_MAX);
			rc = 1;
		}
		if (m->oom)
			snprintf(err, errlen, "out of memory");
		if (rc == MH_STALE)
			snprintf(err, errlen, "the mailbox's UIDVALIDITY "
			    "changed while the backup ran");
		if (rc == MH_REFUSED)
			snprintf(err + strlen(err), errlen - strlen(err),
			    ": left out (deleted while the backup ran?)");
		msgs_clear(m);
		return rc == -1 ? -1 : 1;
	}
	if (m->nmsgs > 1)
		qsort(m->msgs, m->nmsgs, sizeof(*m->msgs), cmp_msgs);
	for (i = 1, k = m->nmsgs > 0 ? 1 : 0; i < m->nmsgs; i++)
		if (m->msgs[i].uid != m->msgs[k - 1].uid)
			m->msgs[k++] = m->msgs[i];
		else
			free(m->msgs[i].flags);
	m->nmsgs = k;
	cache_load(m, mb->name);

	/* The messages not seen before: their header fields fetched now. */
	for (i = 0; i < m->nmsgs; i++) {
		if (m->msgs[i].known)
			continue;
		rc = fetch_headers(m, &m->msgs[i], err, errlen);
		if (rc == -1)
			return -1;
		if (rc == 2)
			return 1;
		if (rc == 3) {
			/*
			 * Refused (above Helper.MaxMessageSize, a NO): left
			 * out of .mailbox; opening it says why, a problem.
			 */
			if ((m->msgs[i].refused = strdup(err)) == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			continue;
		}
		if (rc == 1) {
			/* Expunged meanwhile: not in this backup. */
			free(m->msgs[i].flags);
			memmove(&m->msgs[i], &m->msgs[i + 1],
			    (m->nmsgs - i - 1) * sizeof(*m->msgs));
			m->nmsgs--;
			i--;
		}
	}
	m->nmessages += m->nmsgs;
	if (make_meta(m) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((cpath = cache_path(m, mb->name)) == NULL ||
	    client_mkparent(cpath, aerr, sizeof(aerr)) == -1 ||
	    atomicfile_write(cpath, m->meta, m->metalen, 0600, aerr,
	    sizeof(aerr)) == -1) {
		/* Not fatal: the next backup fetches the headers again. */
		if (cpath != NULL)
			fprintf(stderr, "gigavault: warning: mail cache: %s\n",
			    aerr);
	}
	free(cpath);

	if ((e = calloc(m->nmsgs + 1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &m->stamp);
	for (i = 0; i < m->nmsgs + 1; i++) {
		struct stat *st = &e[i].st;

		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFREG | 0600;
		st->st_uid = getuid();
		st->st_gid = getgid();
		if (i == 0) {
			e[i].name = strdup(MAILSRC_META);
			st->st_size = (off_t)m->metalen;
			st->st_mtim = m->stamp;
			st->st_ctim = m->stamp;
			continue;
		}
		if (asprintf(&e[i].name, "%" PRIu32 "-%" PRIu32,
		    mb->uidvalidity, m->msgs[i - 1].uid) == -1)
			e[i].name = NULL;
		st->st_size = (off_t)m->msgs[i - 1].size;
		st->st_mtim.tv_sec = (time_t)m->msgs[i - 1].date;
		st->st_ctim.tv_sec = (time_t)mb->uidvalidity;
		st->st_ino = m->msgs[i - 1].uid;
	}
	for (i = 0; i < m->nmsgs + 1; i++)
		if (e[i].name == NULL) {
			entries_free(e, m->nmsgs + 1);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	qsort(e, m->nmsgs + 1, sizeof(*e), cmp_entries);
	*out = e;
	*n = m->nmsgs + 1;
	return 0;
}

static int
feed_list(void *arg, const char *path, struct feed_entry **out, size_t *n,
    char *err, size_t errlen)
{
	struct mailsrc *m = arg;
	char *c[3];
	int nc, rc;

	*out = NULL;
	*n = 0;
	if ((nc = split(path, c)) == -1 || nc == 3) {
		snprintf(err, errlen, "no such directory in a mail set");
		if (nc == 3)
			for (int i = 0; i < 3; i++)
				free(c[i]);
		return 1;
	}
	if (nc == 0)
		rc = list_users(m, out, n, err, errlen);
	else if (nc == 1)
		rc = list_mailboxes(m, c[0], out, n, err, errlen);
	else if (m->user_enc == NULL || strcmp(c[0], m->user_enc) != 0) {
		snprintf(err, errlen, "not the user being read (internal "
		    "error)");
		rc = 1;
	} else
		rc = list_messages(m, path, c[1], out, n, err, errlen);
	for (int i = 0; i < 3; i++)
		free(c[i]);
	return rc;
}

static int
feed_open(void *arg, const char *path, struct stat *st, int *fd, char *err,
    size_t errlen)
{
	struct mailsrc *m = arg;
	const char *slash = strrchr(path, '/'), *name;
	struct msg *g;
	uint8_t *data;
	unsigned long long v, u;
	size_t len;
	char *end;
	int rc;

	if (slash == NULL || m->cur_path == NULL ||
	    strlen(m->cur_path) != (size_t)(slash - path) ||
	    strncmp(m->cur_path, path, (size_t)(slash - path)) != 0) {
		snprintf(err, errlen, "not in the mailbox being read "
		    "(internal error)");
		return 1;
	}
	name = slash + 1;
	if (strcmp(name, MAILSRC_META) == 0) {
		if ((*fd = memfd_of((const uint8_t *)m->meta, m->metalen, err,
		    errlen)) == -1)
			return -1;
		st->st_size = (off_t)m->metalen;
		return 0;
	}
	errno = 0;
	v = strtoull(name, &end, 10);
	if (errno != 0 || *end != '-' || v != m->cur->uidvalidity ||
	    (u = strtoull(end + 1, &end, 10), *end != '\0') || u == 0 ||
	    u > UINT32_MAX || (g = msg_find(m, (uint32_t)u)) == NULL) {
		snprintf(err, errlen, "no such message (internal error)");
		return 1;
	}
	if (g->refused != NULL) {
		snprintf(err, errlen, "%s", g->refused);
		return 1;
	}
	test_pause("GIGAVAULT_TEST_MAIL_PAUSE_OPEN");
	if ((rc = fetch(m, g, &data, &len, err, errlen)) != 0)
		return rc == -1 ? -1 : 1;
	*fd = memfd_of(data, len, err, errlen);
	free(data);
	if (*fd == -1)
		return -1;
	st->st_size = (off_t)len;
	return 0;
}

/* ---------------------------------------------------------------- source */

struct mailsrc *
mailsrc_new(struct client *c, const struct clientconf_set *cs,
    struct feed *f, char *err, size_t errlen)
{
	const struct clientconf *conf = c->conf;
	struct mailsrc *m;
	char *slash, *probe;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->c = c;
	m->cs = cs;
	slash = strrchr(conf->statefile, '/');
	if (asprintf(&m->cachedir, "%.*s/%s/%s", slash != NULL ?
	    (int)(slash - conf->statefile) : 1, slash != NULL ?
	    conf->statefile : ".", MAILSRC_CACHE, cs->name) == -1) {
		m->cachedir = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* client_mkparent() makes the directory of a file in it. */
	if (asprintf(&probe, "%s/x", m->cachedir) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (client_mkparent(probe, err, errlen) == -1) {
		free(probe);
		goto fail;
	}
	free(probe);
	if (mh_connect(conf->mail_host, conf->port_mapi, conf->mail_secret,
	    MH_TIMEOUT_S, &m->mh, err, errlen) != 0)
		goto fail;
	snprintf(m->label, sizeof(m->label), "mail:%s", cs->name);
	memset(f, 0, sizeof(*f));
	f->arg = m;
	f->label = m->label;
	f->list = feed_list;
	f->open = feed_open;
	m->f = f;
	return m;
fail:
	mailsrc_free(m);
	return NULL;
}

void
mailsrc_summary(const struct mailsrc *m, FILE *out)
{
	char s[32];

	client_fmt_bytes((double)m->fetched_bytes, s, sizeof(s));
	fprintf(out, "mail: %" PRIu64 " user%s, %" PRIu64 " mailbox%s, %"
	    PRIu64 " messages; fetched %" PRIu64 " (%s), the header fields "
	    "of %" PRIu64 "\n", m->nusers, m->nusers == 1 ? "" : "s",
	    m->nmailboxes, m->nmailboxes == 1 ? "" : "es", m->nmessages,
	    m->fetched, s, m->hdr_fetched);
}

void
mailsrc_free(struct mailsrc *m)
{
	if (m == NULL)
		return;
	msgs_clear(m);
	free(m->msgs);
	mh_mailboxes_free(m->mbs, m->nmbs);
	free(m->user);
	free(m->user_enc);
	if (m->mh != NULL)
		mh_close(m->mh);
	free(m->cachedir);
	free(m);
}
