/*
 * imap.c - the mailbox helper's IMAP side on libetpan (its parser reads
 * every answer, literals included).  See imap.h.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libetpan/libetpan.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "common/mailwire.h"
#include "imap.h"
#include "mhlog.h"

#define FETCH_BATCH	1000	/* UIDs in one UID FETCH of the list */

struct imap {
	const struct imap_opts	*o;
	mailimap		*s;
	char			 user[MW_USER_MAX + 1];
	char			 selected[MW_MAILBOX_MAX + 1];	/* "": none */
	int			 dead;
};

/* The server's last answer for err: its text, or libetpan's code. */
static int
fail(struct imap *im, int code, int r, const char *what, const char *mb,
    char *err, size_t errlen)
{
	const char *text = im->s != NULL && im->s->imap_response != NULL ?
	    im->s->imap_response : "";

	if (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_PARSE ||
	    r == MAILIMAP_ERROR_FATAL || r == MAILIMAP_ERROR_MEMORY ||
	    r == MAILIMAP_ERROR_BAD_STATE) {
		im->dead = 1;
		snprintf(err, errlen, "IMAP %s:%d, %s%s%s for %s: %s",
		    im->o->host, im->o->port, what, mb ? " " : "",
		    mb ? mb : "", im->user, r == MAILIMAP_ERROR_STREAM ?
		    "the connection broke or timed out" : r ==
		    MAILIMAP_ERROR_PARSE ? "an answer that does not parse" :
		    "failed");
		return MW_ERR_IMAP;
	}
	snprintf(err, errlen, "IMAP %s%s%s for %s: the server said \"%s\"",
	    what, mb ? " " : "", mb ? mb : "", im->user, text);
	return code;
}

/*
 * The server's certificate chain checked against o->cafile and its
 * name: 0, or -1 with err.
 */
static int
verify_peer(struct imap *im, char *err, size_t errlen)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain = NULL;
	X509 *leaf = NULL, *x;
	carray *certs;
	const unsigned char *p;
	unsigned char ip[sizeof(struct in6_addr)];
	int ok = -1;

	if ((certs = mailstream_get_certificate_chain(im->s->imap_stream)) ==
	    NULL || carray_count(certs) == 0) {
		snprintf(err, errlen, "IMAP %s:%d: no certificate from the "
		    "server", im->o->host, im->o->port);
		goto out;
	}
	if ((store = X509_STORE_new()) == NULL ||
	    (chain = sk_X509_new_null()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (X509_STORE_load_file(store, im->o->cafile) != 1) {
		snprintf(err, errlen, "IMAP.CAFile %s: cannot read its "
		    "certificates", im->o->cafile);
		goto out;
	}
	for (unsigned int i = 0; i < carray_count(certs); i++) {
		MMAPString *der = carray_get(certs, i);

		p = (const unsigned char *)der->str;
		if ((x = d2i_X509(NULL, &p, (long)der->len)) == NULL) {
			snprintf(err, errlen, "IMAP %s:%d: a certificate that "
			    "does not parse", im->o->host, im->o->port);
			goto out;
		}
		if (i == 0)
			leaf = x;
		else if (!sk_X509_push(chain, x)) {
			X509_free(x);
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	/* IMAP.Host must be in the certificate: as an IP address or a name. */
	if (X509_STORE_CTX_init(ctx, store, leaf, chain) != 1 ||
	    (inet_pton(AF_INET, im->o->host, ip) == 1 ||
	    inet_pton(AF_INET6, im->o->host, ip) == 1 ?
	    X509_VERIFY_PARAM_set1_ip_asc(X509_STORE_CTX_get0_param(ctx),
	    im->o->host) : X509_VERIFY_PARAM_set1_host(
	    X509_STORE_CTX_get0_param(ctx), im->o->host, 0)) != 1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		snprintf(err, errlen, "IMAP %s:%d: the server's certificate is "
		    "not trusted (IMAP.CAFile %s): %s", im->o->host,
		    im->o->port, im->o->cafile, X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	ok = 0;
out:
	if (certs != NULL)
		mailstream_certificate_chain_free(certs);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	return ok;
}

int
imap_open(const struct imap_opts *o, const char *user, struct imap **out,
    char *err, size_t errlen)
{
	struct imap *im;
	char login[2 * MW_USER_MAX + 64];
	int r, code;

	*out = NULL;
	if ((im = calloc(1, sizeof(*im))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ERR_IMAP;
	}
	im->o = o;
	snprintf(im->user, sizeof(im->user), "%s", user);
	if ((im->s = mailimap_new(0, NULL)) == NULL) {
		free(im);
		snprintf(err, errlen, "out of memory");
		return MW_ERR_IMAP;
	}
	mailimap_set_timeout(im->s, o->timeout);
	if (o->security == IMAP_IMAPS)
		r = mailimap_ssl_connect(im->s, o->host, (uint16_t)o->port);
	else
		r = mailimap_socket_connect(im->s, o->host,
		    (uint16_t)o->port);
	if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_AUTHENTICATED) {
		snprintf(err, errlen, "IMAP %s:%d: cannot connect%s (libetpan "
		    "error %d)", o->host, o->port, o->security == IMAP_IMAPS ?
		    " with TLS" : "", r);
		imap_close(im);
		return MW_ERR_IMAP;
	}
	if (o->security == IMAP_STARTTLS &&
	    (r = mailimap_socket_starttls(im->s)) != MAILIMAP_NO_ERROR) {
		snprintf(err, errlen, "IMAP %s:%d: STARTTLS failed (libetpan "
		    "error %d)", o->host, o->port, r);
		imap_close(im);
		return MW_ERR_IMAP;
	}
	if (o->security != IMAP_PLAIN && verify_peer(im, err, errlen) == -1) {
		imap_close(im);
		return MW_ERR_IMAP;
	}
	snprintf(login, sizeof(login), "%s%s%s", user, o->separator,
	    o->master_user);
	if ((r = mailimap_login(im->s, login, o->master_password)) !=
	    MAILIMAP_NO_ERROR) {
		code = fail(im, MW_ERR_NOMAILBOX, r, "login", NULL, err,
		    errlen);
		if (code == MW_ERR_NOMAILBOX)
			snprintf(err + strlen(err), errlen - strlen(err),
			    " (no such user, or IMAP.MasterUser and its "
			    "password are not a master user of the server)");
		imap_close(im);
		return code;
	}
	*out = im;
	return 0;
}

void
imap_close(struct imap *im)
{
	if (im == NULL)
		return;
	if (im->s != NULL) {
		if (!im->dead && im->s->imap_stream != NULL)
			(void)mailimap_logout(im->s);
		mailimap_free(im->s);
	}
	free(im);
}

const char *
imap_user(const struct imap *im)
{
	return im->user;
}

int
imap_alive(const struct imap *im)
{
	return !im->dead;
}

int
imap_noop(struct imap *im, char *err, size_t errlen)
{
	int r;

	if ((r = mailimap_noop(im->s)) != MAILIMAP_NO_ERROR)
		return fail(im, MW_ERR_IMAP, r, "NOOP", NULL, err, errlen);
	return 0;
}

/* The special-use attributes of RFC 6154 among a LIST's flags. */
static void
special_use(const struct mailimap_mbx_list_flags *fl, char *out,
    size_t outlen, int *noselect)
{
	static const char *uses[] = { "All", "Archive", "Drafts", "Flagged",
	    "Junk", "Sent", "Trash" };
	clistiter *it;

	out[0] = '\0';
	*noselect = 0;
	if (fl == NULL)
		return;
	if (fl->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
	    fl->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
		*noselect = 1;
	for (it = clist_begin(fl->mbf_oflags); it != NULL;
	    it = clist_next(it)) {
		struct mailimap_mbx_list_oflag *of = clist_content(it);

		if (of->of_type != MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT ||
		    of->of_flag_ext == NULL)
			continue;
		if (strcasecmp(of->of_flag_ext, "NonExistent") == 0 ||
		    strcasecmp(of->of_flag_ext, "Noselect") == 0)
			*noselect = 1;
		for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
			if (strcasecmp(of->of_flag_ext, uses[i]) == 0 &&
			    strlen(out) + strlen(uses[i]) + 3 < outlen)
				snprintf(out + strlen(out), outlen - strlen(out),
				    "%s\\%s", out[0] ? " " : "", uses[i]);
	}
}

int
imap_mailboxes(struct imap *im, int (*fn)(void *, const struct mw_mailbox *),
    void *arg, char *err, size_t errlen)
{
	struct mailimap_mailbox_data_status *st;
	struct mailimap_status_att_list *atts;
	struct mw_mailbox m;
	clist *list = NULL;
	clistiter *it, *j;
	int r, noselect, rc = 0;

	if ((r = mailimap_list(im->s, "", "*", &list)) != MAILIMAP_NO_ERROR)
		return fail(im, MW_ERR_IMAP, r, "LIST", NULL, err, errlen);
	for (it = clist_begin(list); it != NULL && rc == 0;
	    it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);

		memset(&m, 0, sizeof(m));
		special_use(mb->mb_flag, m.special, sizeof(m.special),
		    &noselect);
		if (noselect)
			continue;
		if (strlen(mb->mb_name) > MW_MAILBOX_MAX) {
			snprintf(err, errlen, "IMAP LIST for %s: a mailbox name "
			    "of %zu bytes (at most %d)", im->user,
			    strlen(mb->mb_name), MW_MAILBOX_MAX);
			rc = MW_ERR_IMAP;
			break;
		}
		snprintf(m.name, sizeof(m.name), "%s", mb->mb_name);
		m.delim = (uint8_t)mb->mb_delimiter;
		if ((atts = mailimap_status_att_list_new_empty()) == NULL ||
		    mailimap_status_att_list_add(atts,
		    MAILIMAP_STATUS_ATT_MESSAGES) != 0 ||
		    mailimap_status_att_list_add(atts,
		    MAILIMAP_STATUS_ATT_UIDNEXT) != 0 ||
		    mailimap_status_att_list_add(atts,
		    MAILIMAP_STATUS_ATT_UIDVALIDITY) != 0) {
			if (atts != NULL)
				mailimap_status_att_list_free(atts);
			snprintf(err, errlen, "out of memory");
			rc = MW_ERR_IMAP;
			break;
		}
		st = NULL;
		r = mailimap_status(im->s, mb->mb_name, atts, &st);
		mailimap_status_att_list_free(atts);
		if (r != MAILIMAP_NO_ERROR) {
			rc = fail(im, MW_ERR_IMAP, r, "STATUS", mb->mb_name,
			    err, errlen);
			if (im->dead)
				break;
			/*
			 * A tagged NO: LIST shows a name that is no mailbox
			 * (Dovecot lists a deleted parent of a mailbox as
			 * \HasChildren only).  Left out, not the end of the
			 * list.
			 */
			mlog_info("%s: left out of the list", err);
			rc = 0;
			continue;
		}
		for (j = st->st_info_list ? clist_begin(st->st_info_list) :
		    NULL; j != NULL; j = clist_next(j)) {
			struct mailimap_status_info *si = clist_content(j);

			if (si->st_att == MAILIMAP_STATUS_ATT_MESSAGES)
				m.messages = si->st_value;
			else if (si->st_att == MAILIMAP_STATUS_ATT_UIDNEXT)
				m.uidnext = si->st_value;
			else if (si->st_att == MAILIMAP_STATUS_ATT_UIDVALIDITY)
				m.uidvalidity = si->st_value;
		}
		mailimap_mailbox_data_status_free(st);
		if (fn(arg, &m) == -1)
			rc = -1;
	}
	mailimap_list_result_free(list);
	return rc;
}

/* The server's UIDVALIDITY of mailbox now (STATUS): 0, or a code. */
static int
status_uidvalidity(struct imap *im, const char *mailbox, uint32_t *uv,
    char *err, size_t errlen)
{
	struct mailimap_mailbox_data_status *st = NULL;
	struct mailimap_status_att_list *atts;
	clistiter *j;
	int r;

	*uv = 0;
	if ((atts = mailimap_status_att_list_new_empty()) == NULL ||
	    mailimap_status_att_list_add(atts,
	    MAILIMAP_STATUS_ATT_UIDVALIDITY) != 0) {
		if (atts != NULL)
			mailimap_status_att_list_free(atts);
		snprintf(err, errlen, "out of memory");
		return MW_ERR_IMAP;
	}
	r = mailimap_status(im->s, mailbox, atts, &st);
	mailimap_status_att_list_free(atts);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, MW_ERR_NOMAILBOX, r, "STATUS", mailbox, err,
		    errlen);
	for (j = st->st_info_list ? clist_begin(st->st_info_list) : NULL;
	    j != NULL; j = clist_next(j)) {
		struct mailimap_status_info *si = clist_content(j);

		if (si->st_att == MAILIMAP_STATUS_ATT_UIDVALIDITY)
			*uv = si->st_value;
	}
	mailimap_mailbox_data_status_free(st);
	return 0;
}

/*
 * EXAMINE mailbox (read-only) unless it is selected and still the same
 * mailbox, and check UIDVALIDITY.  A session keeps its view of the
 * selected mailbox even after another deleted it and made it again (the
 * old UIDs still answer), so a selected mailbox is asked for its
 * UIDVALIDITY again (STATUS) and examined anew when that changed.
 */
static int
examine(struct imap *im, const char *mailbox, uint32_t uidvalidity,
    char *err, size_t errlen)
{
	uint32_t have, now;
	int r, rc;

	have = im->s->imap_selection_info != NULL ?
	    im->s->imap_selection_info->sel_uidvalidity : 0;
	if (strcmp(im->selected, mailbox) == 0) {
		if ((rc = status_uidvalidity(im, mailbox, &now, err,
		    errlen)) != 0)
			return rc;
		if (now != have)
			im->selected[0] = '\0';
	}
	if (strcmp(im->selected, mailbox) != 0) {
		im->selected[0] = '\0';
		if ((r = mailimap_examine(im->s, mailbox)) !=
		    MAILIMAP_NO_ERROR)
			return fail(im, MW_ERR_NOMAILBOX, r, "EXAMINE",
			    mailbox, err, errlen);
		snprintf(im->selected, sizeof(im->selected), "%s", mailbox);
		have = im->s->imap_selection_info != NULL ?
		    im->s->imap_selection_info->sel_uidvalidity : 0;
	}
	if (have != uidvalidity) {
		snprintf(err, errlen, "%s of %s: UIDVALIDITY is %u, not %u "
		    "(the mailbox was recreated: its UIDs name other "
		    "messages)", mailbox, im->user, have, uidvalidity);
		return MW_ERR_STALE;
	}
	return 0;
}

/*
 * A flag as IMAP writes it, appended to out with a space before it: 0,
 * or 1 when it did not fit (flags past MW_FLAGS_MAX bytes are left out:
 * the caller logs how many).
 */
static int
add_flag(char *out, size_t outlen, const struct mailimap_flag *f)
{
	const char *name = NULL, *pre = "";

	switch (f->fl_type) {
	case MAILIMAP_FLAG_ANSWERED:	name = "\\Answered"; break;
	case MAILIMAP_FLAG_FLAGGED:	name = "\\Flagged"; break;
	case MAILIMAP_FLAG_DELETED:	name = "\\Deleted"; break;
	case MAILIMAP_FLAG_SEEN:	name = "\\Seen"; break;
	case MAILIMAP_FLAG_DRAFT:	name = "\\Draft"; break;
	case MAILIMAP_FLAG_KEYWORD:	name = f->fl_data.fl_keyword; break;
	case MAILIMAP_FLAG_EXTENSION:
		name = f->fl_data.fl_extension;
		pre = "\\";
		break;
	}
	if (name == NULL)
		return 0;
	if (strlen(out) + strlen(pre) + strlen(name) + 2 > outlen)
		return 1;	/* flags past MW_FLAGS_MAX are dropped */
	snprintf(out + strlen(out), outlen - strlen(out), "%s%s%s",
	    out[0] ? " " : "", pre, name);
	return 0;
}

/* An IMAP date-time as Unix seconds and minutes east of UTC. */
static void
date_of(const struct mailimap_date_time *d, int64_t *date, int32_t *tzoff)
{
	struct tm tm;
	int z = d->dt_zone < 0 ? -d->dt_zone : d->dt_zone;
	int32_t off = (int32_t)((z / 100) * 60 + z % 100);

	if (d->dt_zone < 0)
		off = -off;
	if (off < -1439 || off > 1439)
		off = 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	*date = (int64_t)timegm(&tm) - (int64_t)off * 60;
	if (*date < 0)
		*date = 0;
	*tzoff = off;
}

/* One FETCH answer's attributes into m; m->uid 0 when it had none. */
static void
msg_of(const struct mailimap_msg_att *a, struct mw_msginfo *m,
    const uint8_t **body, size_t *bodylen)
{
	clistiter *it, *f;
	int cut = 0;

	memset(m, 0, sizeof(*m));
	if (body != NULL) {
		*body = NULL;
		*bodylen = 0;
	}
	for (it = clist_begin(a->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);

		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC &&
		    item->att_data.att_dyn != NULL &&
		    item->att_data.att_dyn->att_list != NULL) {
			for (f = clist_begin(item->att_data.att_dyn->att_list);
			    f != NULL; f = clist_next(f)) {
				struct mailimap_flag_fetch *ff =
				    clist_content(f);

				/* \Recent belongs to this session only. */
				if (ff->fl_type == MAILIMAP_FLAG_FETCH_OTHER &&
				    ff->fl_flag != NULL)
					cut += add_flag(m->flags,
					    sizeof(m->flags), ff->fl_flag);
			}
			continue;
		}
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC ||
		    item->att_data.att_static == NULL)
			continue;
		struct mailimap_msg_att_static *s = item->att_data.att_static;
		switch (s->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			m->uid = s->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			m->size = s->att_data.att_rfc822_size;
			break;
		case MAILIMAP_MSG_ATT_INTERNALDATE:
			if (s->att_data.att_internal_date != NULL)
				date_of(s->att_data.att_internal_date,
				    &m->date, &m->tzoff);
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (body != NULL &&
			    s->att_data.att_body_section != NULL &&
			    s->att_data.att_body_section->sec_body_part !=
			    NULL) {
				*body = (const uint8_t *)s->att_data.
				    att_body_section->sec_body_part;
				*bodylen = s->att_data.att_body_section->
				    sec_length;
			}
			break;
		}
	}
	if (cut > 0)
		mlog_info("UID %u: %d flag%s past %d bytes left out of its "
		    "flags", m->uid, cut, cut == 1 ? "" : "s", MW_FLAGS_MAX);
}

static int
cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_info(const void *a, const void *b)
{
	return cmp_uid(&((const struct mw_msginfo *)a)->uid,
	    &((const struct mw_msginfo *)b)->uid);
}

/* UID FETCH of set with the attributes the list needs. */
static struct mailimap_fetch_type *
list_atts(void)
{
	struct mailimap_fetch_type *ft;

	if ((ft = mailimap_fetch_type_new_fetch_att_list_empty()) == NULL)
		return NULL;
	if (mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != 0 ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_flags()) != 0 ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_internaldate()) != 0 ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_rfc822_size()) != 0) {
		mailimap_fetch_type_free(ft);
		return NULL;
	}
	return ft;
}

/* The set of uids[0..n) (sorted) as ranges of consecutive UIDs. */
static struct mailimap_set *
uid_set(const uint32_t *uids, size_t n)
{
	struct mailimap_set *set;
	size_t i = 0, j;

	if ((set = mailimap_set_new_empty()) == NULL)
		return NULL;
	while (i < n) {
		for (j = i; j + 1 < n && uids[j + 1] == uids[j] + 1; j++)
			;
		if (mailimap_set_add_interval(set, uids[i], uids[j]) != 0) {
			mailimap_set_free(set);
			return NULL;
		}
		i = j + 1;
	}
	return set;
}

int
imap_messages(struct imap *im, const char *mailbox, uint32_t uidvalidity,
    int (*fn)(void *, const struct mw_msginfo *, size_t), void *arg,
    uint64_t *count, char *err, size_t errlen)
{
	struct mailimap_search_key *key = NULL;
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_set *set;
	struct mw_msginfo *batch = NULL;
	clist *res = NULL;
	clistiter *it;
	uint32_t *uids = NULL;
	size_t nuids = 0, i, k, nb, sent;
	int r, rc;

	*count = 0;
	if ((rc = examine(im, mailbox, uidvalidity, err, errlen)) != 0)
		return rc;
	/* Every UID (4 bytes each); the rest comes FETCH_BATCH at a time. */
	if ((key = mailimap_search_key_new_all()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ERR_IMAP;
	}
	r = mailimap_uid_search(im->s, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, MW_ERR_IMAP, r, "UID SEARCH", mailbox, err,
		    errlen);
	if (clist_count(res) > 0 && (uids = calloc((size_t)clist_count(res),
	    sizeof(*uids))) == NULL) {
		mailimap_search_result_free(res);
		snprintf(err, errlen, "out of memory");
		return MW_ERR_IMAP;
	}
	for (it = clist_begin(res); it != NULL; it = clist_next(it))
		uids[nuids++] = *(uint32_t *)clist_content(it);
	mailimap_search_result_free(res);
	qsort(uids, nuids, sizeof(*uids), cmp_uid);

	rc = 0;
	if ((batch = calloc(FETCH_BATCH, sizeof(*batch))) == NULL ||
	    (ft = list_atts()) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = MW_ERR_IMAP;
	}
	for (i = 0; i < nuids && rc == 0; i += FETCH_BATCH) {
		k = nuids - i < FETCH_BATCH ? nuids - i : FETCH_BATCH;
		if ((set = uid_set(uids + i, k)) == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = MW_ERR_IMAP;
			break;
		}
		res = NULL;
		r = mailimap_uid_fetch(im->s, set, ft, &res);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR) {
			rc = fail(im, MW_ERR_IMAP, r, "UID FETCH", mailbox,
			    err, errlen);
			break;
		}
		nb = 0;
		for (it = clist_begin(res); it != NULL && nb < FETCH_BATCH;
		    it = clist_next(it)) {
			msg_of(clist_content(it), &batch[nb], NULL, NULL);
			/* Answers without a UID (another FETCH's) are not ours. */
			if (batch[nb].uid != 0 && batch[nb].uid >= uids[i] &&
			    batch[nb].uid <= uids[i + k - 1])
				nb++;
		}
		mailimap_fetch_list_free(res);
		qsort(batch, nb, sizeof(*batch), cmp_info);
		/* A message expunged meanwhile is simply not listed. */
		for (sent = 0; sent < nb && rc == 0; sent += MW_INFOS_PER_FRAME) {
			size_t m = nb - sent < MW_INFOS_PER_FRAME ? nb - sent :
			    MW_INFOS_PER_FRAME;

			if (fn(arg, batch + sent, m) == -1)
				rc = -1;
			else
				*count += m;
		}
	}
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	free(batch);
	free(uids);
	return rc;
}

static void
free_str(void *s, void *unused)
{
	(void)unused;
	free(s);
}

/* The header fields that mail backup reads (doc/mail.md, .mailbox). */
static struct mailimap_section *
header_section(void)
{
	static const char *names[] = { "FROM", "SUBJECT", "DATE" };
	struct mailimap_header_list *hl;
	struct mailimap_section *sec;
	clist *l;
	char *s;

	if ((l = clist_new()) == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((s = strdup(names[i])) == NULL ||
		    clist_append(l, s) != 0) {
			free(s);
			clist_foreach(l, free_str, NULL);
			clist_free(l);
			return NULL;
		}
	if ((hl = mailimap_header_list_new(l)) == NULL) {
		clist_foreach(l, free_str, NULL);
		clist_free(l);
		return NULL;
	}
	if ((sec = mailimap_section_new_header_fields(hl)) == NULL)
		mailimap_header_list_free(hl);
	return sec;
}

/*
 * One message's bytes (BODY.PEEK[]), or only its From, Subject and Date
 * fields when headers (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)], at
 * most MW_FRAME_MAX bytes of them).
 */
static int
fetch_one(struct imap *im, const char *mailbox, uint32_t uidvalidity,
    uint32_t uid, int headers, uint8_t **data, size_t *len, char *err,
    size_t errlen)
{
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_set *set = NULL;
	struct mailimap_section *sec;
	struct mw_msginfo m;
	const uint8_t *body;
	size_t bodylen;
	clist *res = NULL;
	clistiter *it;
	uint64_t size = 0;
	int r, rc, found = 0;

	*data = NULL;
	*len = 0;
	if ((rc = examine(im, mailbox, uidvalidity, err, errlen)) != 0)
		return rc;
	if ((set = mailimap_set_new_single(uid)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ERR_IMAP;
	}
	if (headers)
		goto fetch;
	/* Its size first: a message above the limit is never read. */
	if ((ft = mailimap_fetch_type_new_fetch_att_list_empty()) == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != 0 ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_rfc822_size()) != 0) {
		snprintf(err, errlen, "out of memory");
		rc = MW_ERR_IMAP;
		goto out;
	}
	if ((r = mailimap_uid_fetch(im->s, set, ft, &res)) !=
	    MAILIMAP_NO_ERROR) {
		rc = fail(im, MW_ERR_IMAP, r, "UID FETCH", mailbox, err,
		    errlen);
		goto out;
	}
	for (it = clist_begin(res); it != NULL; it = clist_next(it)) {
		msg_of(clist_content(it), &m, NULL, NULL);
		if (m.uid == uid) {
			found = 1;
			size = m.size;
		}
	}
	mailimap_fetch_list_free(res);
	res = NULL;
	mailimap_fetch_type_free(ft);
	ft = NULL;
	if (!found) {
		snprintf(err, errlen, "%s of %s: no message with UID %u (it "
		    "was expunged)", mailbox, im->user, uid);
		rc = MW_ERR_GONE;
		goto out;
	}
	if (size > im->o->max_message) {
		snprintf(err, errlen, "%s of %s: UID %u has %llu bytes, more "
		    "than Helper.MaxMessageSize (%u)", mailbox, im->user, uid,
		    (unsigned long long)size, im->o->max_message);
		rc = MW_ERR_MSG_TOO_LARGE;
		goto out;
	}
fetch:
	if ((sec = headers ? header_section() :
	    mailimap_section_new(NULL)) == NULL ||
	    (ft = mailimap_fetch_type_new_fetch_att_list_empty()) == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != 0 ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(sec)) != 0 ||
	    (headers && mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_rfc822_size()) != 0)) {
		snprintf(err, errlen, "out of memory");
		rc = MW_ERR_IMAP;
		goto out;
	}
	if ((r = mailimap_uid_fetch(im->s, set, ft, &res)) !=
	    MAILIMAP_NO_ERROR) {
		rc = fail(im, MW_ERR_IMAP, r, "UID FETCH BODY.PEEK[]",
		    mailbox, err, errlen);
		goto out;
	}
	rc = MW_ERR_GONE;
	snprintf(err, errlen, "%s of %s: no message with UID %u (it was "
	    "expunged)", mailbox, im->user, uid);
	for (it = clist_begin(res); it != NULL; it = clist_next(it)) {
		msg_of(clist_content(it), &m, &body, &bodylen);
		if (m.uid != uid || body == NULL)
			continue;
		if (headers && m.size > im->o->max_message) {
			/* Refused as its FETCH would be, in the same words. */
			snprintf(err, errlen, "%s of %s: UID %u has %llu bytes, "
			    "more than Helper.MaxMessageSize (%u)", mailbox,
			    im->user, uid, (unsigned long long)m.size,
			    im->o->max_message);
			rc = MW_ERR_MSG_TOO_LARGE;
			break;
		}
		if (headers && bodylen > MW_FRAME_MAX)
			bodylen = MW_FRAME_MAX;	/* what is read of them */
		if (bodylen > im->o->max_message) {
			snprintf(err, errlen, "%s of %s: UID %u has %zu bytes, "
			    "more than Helper.MaxMessageSize (%u)", mailbox,
			    im->user, uid, bodylen, im->o->max_message);
			rc = MW_ERR_MSG_TOO_LARGE;
			break;
		}
		if ((*data = malloc(bodylen > 0 ? bodylen : 1)) == NULL) {
			snprintf(err, errlen, "out of memory for %zu bytes",
			    bodylen);
			rc = MW_ERR_IMAP;
			break;
		}
		memcpy(*data, body, bodylen);
		*len = bodylen;
		rc = 0;
		err[0] = '\0';
		break;
	}
out:
	if (res != NULL)
		mailimap_fetch_list_free(res);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	if (set != NULL)
		mailimap_set_free(set);
	return rc;
}

int
imap_fetch(struct imap *im, const char *mailbox, uint32_t uidvalidity,
    uint32_t uid, uint8_t **data, size_t *len, char *err, size_t errlen)
{
	return fetch_one(im, mailbox, uidvalidity, uid, 0, data, len, err,
	    errlen);
}

int
imap_fetch_headers(struct imap *im, const char *mailbox,
    uint32_t uidvalidity, uint32_t uid, uint8_t **data, size_t *len,
    char *err, size_t errlen)
{
	return fetch_one(im, mailbox, uidvalidity, uid, 1, data, len, err,
	    errlen);
}

/*
 * 1 when mailbox exists (LIST "" mailbox shows it selectable and STATUS
 * answers: Dovecot lists a deleted parent of a mailbox as \HasChildren
 * only), 0 when not, -1 on errors (*code set).
 */
static int
exists(struct imap *im, const char *mailbox, char *err, size_t errlen,
    int *code)
{
	clist *list = NULL;
	clistiter *it;
	int r, found = 0;

	if ((r = mailimap_list(im->s, "", mailbox, &list)) !=
	    MAILIMAP_NO_ERROR) {
		*code = fail(im, MW_ERR_IMAP, r, "LIST", mailbox, err, errlen);
		return -1;
	}
	for (it = clist_begin(list); it != NULL; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);
		char special[MW_SPECIAL_MAX + 1];
		int noselect;

		special_use(mb->mb_flag, special, sizeof(special), &noselect);
		if (strcmp(mb->mb_name, mailbox) == 0 && !noselect)
			found = 1;
	}
	mailimap_list_result_free(list);
	if (found) {
		uint32_t uv;

		if ((*code = status_uidvalidity(im, mailbox, &uv, err,
		    errlen)) == 0)
			return 1;
		if (im->dead)
			return -1;
		found = 0;	/* a NO: only a name */
	}
	return found;
}

int
imap_create(struct imap *im, const char *mailbox, char *err, size_t errlen)
{
	int r, code = 0;

	if ((r = exists(im, mailbox, err, errlen, &code)) == -1)
		return code;
	if (r == 1)
		return 0;
	if ((r = mailimap_create(im->s, mailbox)) != MAILIMAP_NO_ERROR)
		return fail(im, MW_ERR_IMAP, r, "CREATE", mailbox, err,
		    errlen);
	return 0;
}

/* flags (checked by mw_flags_valid()) as libetpan's list. */
static struct mailimap_flag_list *
flag_list(const char *flags)
{
	struct mailimap_flag_list *fl;
	struct mailimap_flag *f;
	char buf[MW_FLAGS_MAX + 1], *p, *tok, *save = NULL;

	if ((fl = mailimap_flag_list_new_empty()) == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", flags);
	for (p = buf; (tok = strtok_r(p, " ", &save)) != NULL; p = NULL) {
		f = NULL;
		if (strcasecmp(tok, "\\Seen") == 0)
			f = mailimap_flag_new_seen();
		else if (strcasecmp(tok, "\\Answered") == 0)
			f = mailimap_flag_new_answered();
		else if (strcasecmp(tok, "\\Flagged") == 0)
			f = mailimap_flag_new_flagged();
		else if (strcasecmp(tok, "\\Deleted") == 0)
			f = mailimap_flag_new_deleted();
		else if (strcasecmp(tok, "\\Draft") == 0)
			f = mailimap_flag_new_draft();
		else if (strcasecmp(tok, "\\Recent") == 0)
			continue;	/* the server's to set */
		else if (tok[0] != '\\') {
			char *kw = strdup(tok);

			if (kw != NULL &&
			    (f = mailimap_flag_new_flag_keyword(kw)) == NULL)
				free(kw);
		}
		if (f == NULL || mailimap_flag_list_add(fl, f) != 0) {
			if (f != NULL)
				mailimap_flag_free(f);
			mailimap_flag_list_free(fl);
			return NULL;
		}
	}
	return fl;
}

int
imap_append(struct imap *im, const char *mailbox, const char *flags,
    int64_t date, int32_t tzoff, const uint8_t *data, size_t len,
    uint32_t *uid, char *err, size_t errlen)
{
	struct mailimap_flag_list *fl;
	struct mailimap_date_time *dt;
	struct tm tm;
	time_t local = (time_t)(date + (int64_t)tzoff * 60);
	uint32_t uidvalidity = 0;
	int r, a = tzoff < 0 ? -tzoff : tzoff;
	int zone = (a / 60) * 100 + a % 60;

	*uid = 0;
	if (!mw_flags_valid(flags)) {
		snprintf(err, errlen, "flags \"%s\" are not IMAP flags", flags);
		return MW_ERR_MALFORMED;
	}
	if (gmtime_r(&local, &tm) == NULL) {
		snprintf(err, errlen, "date %lld cannot be written",
		    (long long)date);
		return MW_ERR_MALFORMED;
	}
	if ((fl = flag_list(flags)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return MW_ERR_IMAP;
	}
	if ((dt = mailimap_date_time_new(tm.tm_mday, tm.tm_mon + 1,
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    tzoff < 0 ? -zone : zone)) == NULL) {
		mailimap_flag_list_free(fl);
		snprintf(err, errlen, "out of memory");
		return MW_ERR_IMAP;
	}
	/* APPEND never replaces: the server adds a message with a new UID. */
	r = mailimap_uidplus_append(im->s, mailbox, fl, dt,
	    (const char *)data, len, &uidvalidity, uid);
	mailimap_flag_list_free(fl);
	mailimap_date_time_free(dt);
	if (r != MAILIMAP_NO_ERROR) {
		*uid = 0;
		return fail(im, MW_ERR_IMAP, r, "APPEND", mailbox, err,
		    errlen);
	}
	/* A message appended to the selected mailbox changes nothing we
	   keep: EXAMINE's UIDVALIDITY is the same. */
	return 0;
}
