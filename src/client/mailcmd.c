/*
 * mailcmd.c - "gigavault mail ls|restore": the messages of a mail set's
 * snapshot (doc/mail.md), listed, or put back through the mail helper.
 *
 * Listing reads the snapshot's trees (client_tree(), client_tree_path())
 * and a mailbox's .mailbox; restore reads the message files.  Both get
 * a file's bytes from the snapshot with restore_snapshot() (restore.c),
 * into a private temporary directory (mode 0700, removed after each
 * mailbox), so that reading a file of a snapshot stays in one place.
 * Restoring only APPENDs (with the message's flags and internal date):
 * nothing on the mail server is replaced or removed.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mailwire.h"
#include "client.h"
#include "mailsrc.h"
#include "mhclient.h"
#include "restore.h"

#define MAILCMD_META_MAX	(256u << 20)	/* bytes of a .mailbox read */
#define MAILCMD_MSG_MAX		(1u << 30)	/* bytes of a message */
#define MH_TIMEOUT_S		300

struct mailcmd {
	struct client	*c;
	struct snapinfo	 snap;
	struct client_rk rk;
	char		 tmp[PATH_MAX];	/* the temporary directory, or "" */
	int		 first;		/* --json: no item printed yet */
	int		 keep_deleted;	/* --keep-deleted-flag */
};

/* ---------------------------------------------------------------- reading */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

/* Empty the temporary directory (kept itself); drop it too when all. */
static void
tmp_clear(struct mailcmd *m, int all)
{
	if (m->tmp[0] == '\0')
		return;
	nftw(m->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (all)
		m->tmp[0] = '\0';
	else
		mkdir(m->tmp, 0700);
}

/*
 * Restore paths[0..n) of the snapshot (files of one mailbox) under the
 * temporary directory.  0; 1 when some were not there or not restored
 * (named on stderr); -1 after printing why.
 */
static int
fetch_files(struct mailcmd *m, char **paths, int n)
{
	struct restore_opts o;
	struct restore_stats st;
	const char *tmpdir = getenv("TMPDIR");
	char err[1024];
	int rc;

	if (m->tmp[0] == '\0') {
		snprintf(m->tmp, sizeof(m->tmp), "%s/gigavault-mail.XXXXXX",
		    tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
		if (mkdtemp(m->tmp) == NULL) {
			warn("%s", m->tmp);
			m->tmp[0] = '\0';
			return -1;
		}
	}
	memset(&o, 0, sizeof(o));
	o.target = m->tmp;
	o.paths = paths;
	o.npaths = n;
	rc = restore_snapshot(m->c->remote, &m->c->keys, &m->snap, &o, &st,
	    err, sizeof(err));
	if (rc == 2) {
		warnx("%s", err);
		return -1;
	}
	return rc;
}

/*
 * 0 when the file at spath of the snapshot is not there after it was
 * restored (fetch_files()): a message .mailbox lists that was expunged
 * before the backup read it.  1 otherwise (read_restored() then says
 * what is wrong, if anything).
 */
static int
in_snapshot(struct mailcmd *m, const char *spath)
{
	struct stat st;
	char *p;
	int rc;

	if (asprintf(&p, "%s%s", m->tmp, spath) == -1)
		return 1;
	rc = lstat(p, &st) == -1 && errno == ENOENT ? 0 : 1;
	free(p);
	return rc;
}

/*
 * The file at spath of the snapshot, restored already, read whole (at
 * most max bytes): *data malloc'ed, *len.  0, or -1 after printing.
 */
static int
read_restored(struct mailcmd *m, const char *spath, size_t max,
    uint8_t **data, size_t *len)
{
	struct stat st;
	char *p;
	size_t off = 0;
	ssize_t k;
	int fd;

	*data = NULL;
	if (asprintf(&p, "%s%s", m->tmp, spath) == -1) {
		warnx("out of memory");
		return -1;
	}
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(p);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max) {
		warnx("%s: %s", spath, fd == -1 ? strerror(errno) :
		    "not a file of a mail snapshot, or too large");
		if (fd != -1)
			close(fd);
		return -1;
	}
	*len = (size_t)st.st_size;
	if ((*data = malloc(*len + 1)) == NULL) {
		warnx("out of memory");
		close(fd);
		return -1;
	}
	while (off < *len) {
		if ((k = read(fd, *data + off, *len - off)) <= 0) {
			if (k == -1 && errno == EINTR)
				continue;
			warnx("%s: short read", spath);
			close(fd);
			free(*data);
			*data = NULL;
			return -1;
		}
		off += (size_t)k;
	}
	(*data)[*len] = '\0';
	close(fd);
	return 0;
}

/* The .mailbox of the mailbox directory dir ("/U/M"), parsed; NULL. */
static json_t *
load_meta(struct mailcmd *m, const char *dir)
{
	json_error_t jerr;
	json_t *o;
	uint8_t *data;
	size_t len;
	char *paths[1];

	if (asprintf(&paths[0], "%s/%s", dir, MAILSRC_META) == -1) {
		warnx("out of memory");
		return NULL;
	}
	if (fetch_files(m, paths, 1) != 0 || read_restored(m, paths[0],
	    MAILCMD_META_MAX, &data, &len) == -1) {
		free(paths[0]);
		return NULL;
	}
	o = json_loadb((const char *)data, len, 0, &jerr);
	free(data);
	if (o == NULL || !json_is_string(json_object_get(o, "name")) ||
	    !json_is_integer(json_object_get(o, "uidvalidity")) ||
	    !json_is_array(json_object_get(o, "messages"))) {
		warnx("%s: not a mailbox's %s (%s)", paths[0], MAILSRC_META,
		    o == NULL ? jerr.text : "members missing");
		json_decref(o);
		o = NULL;
	}
	free(paths[0]);
	return o;
}

/*
 * The directory spath ("" for the root) of the snapshot: its nodes into
 * *t (the caller frees it).  0; 1 when it is not there (printed); -1.
 */
static int
load_dir(struct mailcmd *m, const char *spath, const char *what,
    struct tree *t)
{
	struct tree page;
	struct node *nd = NULL;
	size_t stop;
	int notdir = 0, rc;
	char err[1024];

	tree_init(t);
	if (spath[0] == '\0')
		rc = client_tree(m->c, m->snap.root, t, err, sizeof(err));
	else {
		rc = client_tree_path(&m->rk, m->snap.root, spath, &page, &nd,
		    &stop, &notdir, err, sizeof(err));
		if (rc == 0 && (nd == NULL || nd->type != NODE_DIR)) {
			if (nd != NULL)
				tree_free(&page);
			warnx("snapshot %" PRIu64 " has no %s", m->snap.id,
			    what);
			return 1;
		}
		if (rc == 0) {
			uint8_t id[BLOB_ID_LEN];

			memcpy(id, nd->subtree, BLOB_ID_LEN);
			tree_free(&page);
			rc = client_tree(m->c, id, t, err, sizeof(err));
		}
	}
	if (rc != 0) {
		warnx("%s", err);
		return -1;
	}
	return 0;
}

/* "/ENC(user)" or "/ENC(user)/ENC(mailbox)"; NULL when out of memory. */
static char *
mail_path(const char *user, const char *mailbox)
{
	char *u, *mb = NULL, *p = NULL;

	if ((u = mailsrc_encode(user)) == NULL ||
	    (mailbox != NULL && (mb = mailsrc_encode(mailbox)) == NULL) ||
	    asprintf(&p, "/%s%s%s", u, mb ? "/" : "", mb ? mb : "") == -1)
		p = NULL;
	free(u);
	free(mb);
	if (p == NULL)
		warnx("out of memory");
	return p;
}

/* ---------------------------------------------------------------- ls */

static int
ls_users(struct mailcmd *m)
{
	struct tree t;
	char *u;
	int rc;

	if ((rc = load_dir(m, "", "users", &t)) != 0)
		return EXIT_ERROR;
	for (uint32_t i = 0; i < t.n; i++) {
		if (t.nodes[i].type != NODE_DIR ||
		    (u = mailsrc_decode(t.nodes[i].name)) == NULL)
			continue;
		if (m->c->json)
			client_json_item(json_pack("{s:o}", "user",
			    client_jstr(u)), &m->first);
		else {
			client_putsafe(stdout, u);
			putchar('\n');
		}
		free(u);
	}
	tree_free(&t);
	return 0;
}

static int
ls_mailboxes(struct mailcmd *m, const char *user)
{
	struct tree t, mt;
	char *up, *mp, *name;
	uint32_t count;
	int rc = 0;

	if ((up = mail_path(user, NULL)) == NULL)
		return EXIT_ERROR;
	if (load_dir(m, up, "such user", &t) != 0) {
		free(up);
		return EXIT_ERROR;
	}
	for (uint32_t i = 0; i < t.n && rc == 0; i++) {
		if (t.nodes[i].type != NODE_DIR ||
		    (name = mailsrc_decode(t.nodes[i].name)) == NULL)
			continue;
		if (asprintf(&mp, "%s/%s", up, t.nodes[i].name) == -1) {
			free(name);
			rc = EXIT_ERROR;
			break;
		}
		if (load_dir(m, mp, "such mailbox", &mt) != 0) {
			free(mp);
			free(name);
			rc = EXIT_ERROR;
			break;
		}
		count = 0;
		for (uint32_t k = 0; k < mt.n; k++)
			if (mt.nodes[k].type == NODE_FILE &&
			    strcmp(mt.nodes[k].name, MAILSRC_META) != 0)
				count++;
		if (m->c->json)
			client_json_item(json_pack("{s:o, s:i}", "mailbox",
			    client_jstr(name), "messages", (int)count),
			    &m->first);
		else {
			printf("%8" PRIu32 "  ", count);
			client_putsafe(stdout, name);
			putchar('\n');
		}
		tree_free(&mt);
		free(mp);
		free(name);
	}
	tree_free(&t);
	free(up);
	return rc;
}

static const char *
jget_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static int
ls_messages(struct mailcmd *m, const char *user, const char *mailbox)
{
	json_t *meta, *e;
	char *mp, when[64], size[32];
	size_t i;

	if ((mp = mail_path(user, mailbox)) == NULL)
		return EXIT_ERROR;
	meta = load_meta(m, mp);
	free(mp);
	tmp_clear(m, 0);
	if (meta == NULL)
		return EXIT_ERROR;
	json_array_foreach(json_object_get(meta, "messages"), i, e) {
		if (m->c->json) {
			client_json_item(json_incref(e), &m->first);
			continue;
		}
		client_fmt_time(json_integer_value(json_object_get(e,
		    "date")), "%Y-%m-%d %H:%M", when, sizeof(when));
		client_fmt_bytes((double)json_integer_value(json_object_get(e,
		    "size")), size, sizeof(size));
		printf("%-22s %s %10s  ", jget_str(e, "file"), when, size);
		client_putsafe(stdout, jget_str(e, "from"));
		printf("  ");
		client_putsafe(stdout, jget_str(e, "subject"));
		printf("  [");
		client_putsafe(stdout, jget_str(e, "flags"));
		printf("]\n");
	}
	json_decref(meta);
	return 0;
}

/* ---------------------------------------------------------------- restore */

/*
 * The flags a message is APPENDed with: flags without \Recent (no
 * APPEND may set it), without \Deleted unless keep_deleted (a restored
 * message marked for deletion would be expunged again at the next
 * EXPUNGE), and without any flag that APPEND cannot carry (a system flag
 * outside the standard ones, which a server may list): those are written
 * into dropped (malloc'ed, "" when none; the caller frees it), so that
 * the message is restored with a note instead of refused.  malloc'ed,
 * or NULL when out of memory.
 */
static char *
append_flags(const char *flags, int keep_deleted, char **dropped)
{
	char *out, *dup, *w, *save = NULL;
	size_t o = 0, d = 0;

	*dropped = NULL;
	if ((out = calloc(1, strlen(flags) + 1)) == NULL ||
	    (*dropped = calloc(1, strlen(flags) + 1)) == NULL ||
	    (dup = strdup(flags)) == NULL) {
		free(out);
		free(*dropped);
		*dropped = NULL;
		return NULL;
	}
	for (w = strtok_r(dup, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (strcasecmp(w, "\\Recent") == 0 ||
		    (!keep_deleted && strcasecmp(w, "\\Deleted") == 0))
			continue;
		if (!mw_flags_valid(w)) {
			d += (size_t)sprintf(*dropped + d, "%s%s", d ? " " :
			    "", w);
			continue;
		}
		o += (size_t)sprintf(out + o, "%s%s", o ? " " : "", w);
	}
	free(dup);
	return out;
}

/* 1 when file ("V-U") is among the MESSAGE words (file names or UIDs). */
static int
wanted(char **words, int nwords, const char *file, int64_t uid, int *seen)
{
	char num[32];

	if (nwords == 0)
		return 1;
	snprintf(num, sizeof(num), "%" PRId64, uid);
	for (int i = 0; i < nwords; i++)
		if (strcmp(words[i], file) == 0 || strcmp(words[i], num) == 0) {
			seen[i] = 1;
			return 1;
		}
	return 0;
}

/*
 * Restore the messages (words: all when none) of the user's mailbox
 * (a directory of the snapshot) into the mailbox to (NULL: the one it
 * came from), created when missing.  Adds to *done and *problems.
 * Returns 0, or -1 when the helper or the session failed.
 */
static int
restore_mailbox(struct mailcmd *m, struct mh_conn *mh, const char *user,
    const char *mailbox, const char *to, const char *to_parent,
    char **words, int nwords, uint64_t *done, uint64_t *problems)
{
	size_t i, nmsg, *idx = NULL;
	json_t *meta, *msgs, *e;
	char *mp = NULL, **paths = NULL, *target = NULL, *flags, err[1024];
	int *seen = NULL, np = 0, rc = -1;

	if ((mp = mail_path(user, mailbox)) == NULL ||
	    (meta = load_meta(m, mp)) == NULL) {
		free(mp);
		tmp_clear(m, 0);
		(*problems)++;
		return 0;
	}
	msgs = json_object_get(meta, "messages");
	nmsg = json_array_size(msgs);
	if ((paths = calloc(nmsg + 1, sizeof(*paths))) == NULL ||
	    (idx = calloc(nmsg + 1, sizeof(*idx))) == NULL ||
	    (nwords > 0 && (seen = calloc((size_t)nwords,
	    sizeof(*seen))) == NULL)) {
		warnx("out of memory");
		goto out;
	}
	json_array_foreach(msgs, i, e) {
		const char *file = jget_str(e, "file");

		if (file[0] == '\0' || strchr(file, '/') != NULL ||
		    file[0] == '.') {
			warnx("%s %s: a message of %s has no valid file name: "
			    "not restored", user, mailbox, MAILSRC_META);
			(*problems)++;
			continue;
		}
		if (!wanted(words, nwords, file, json_integer_value(
		    json_object_get(e, "uid")), seen))
			continue;
		if (asprintf(&paths[np], "%s/%s", mp, file) == -1) {
			warnx("out of memory");
			goto out;
		}
		idx[np++] = i;
	}
	for (int k = 0; k < nwords; k++)
		if (!seen[k]) {
			warnx("%s %s: no message %s in snapshot %" PRIu64,
			    user, mailbox, words[k], m->snap.id);
			(*problems)++;
		}
	if (np == 0) {
		rc = 0;
		goto out;
	}
	/* The target: --to-folder, under it for a whole user, or the same. */
	if (to_parent != NULL) {
		const char *d = jget_str(meta, "delimiter");

		if (asprintf(&target, "%s%s%s", to_parent, d[0] ? d : "/",
		    mailbox) == -1)
			target = NULL;
	} else
		target = strdup(to != NULL ? to : mailbox);
	if (target == NULL) {
		warnx("out of memory");
		goto out;
	}
	/* Created when it is gone (an existing mailbox is fine). */
	if (mh_create(mh, user, target, err, sizeof(err)) != 0) {
		warnx("%s: cannot create mailbox %s: %s", user, target, err);
		(*problems) += (uint64_t)np;
		rc = 0;
		goto out;
	}
	/* All of them: the directory at once (one walk, not one per file). */
	if (fetch_files(m, nwords == 0 ? &mp : paths, nwords == 0 ? 1 : np) ==
	    -1)
		goto out;
	for (int k = 0; k < np; k++) {
		const char *file = strrchr(paths[k], '/') + 1;
		uint8_t *data;
		size_t len;
		uint32_t newuid = 0;
		char *dropped;
		int arc;

		e = json_array_get(msgs, idx[k]);
		if (!in_snapshot(m, paths[k])) {
			/* Listed in .mailbox, expunged before it was read. */
			printf("not restored %s ", user);
			client_putsafe(stdout, mailbox);
			printf("/%s: not in this snapshot (it was gone during "
			    "the backup)\n", file);
			continue;
		}
		if (read_restored(m, paths[k], MAILCMD_MSG_MAX, &data,
		    &len) == -1) {
			(*problems)++;
			continue;
		}
		if ((flags = append_flags(jget_str(e, "flags"),
		    m->keep_deleted, &dropped)) == NULL) {
			free(data);
			warnx("out of memory");
			goto out;
		}
		if (dropped[0] != '\0')
			warnx("%s %s/%s: flags \"%s\" left out (APPEND cannot "
			    "set them)", user, mailbox, file, dropped);
		free(dropped);
		arc = mh_append(mh, user, target, flags,
		    json_integer_value(json_object_get(e, "date")),
		    (int32_t)json_integer_value(json_object_get(e, "tzoff")),
		    data, len, &newuid, err, sizeof(err));
		free(flags);
		free(data);
		if (arc != 0) {
			warnx("%s %s/%s: APPEND to %s failed: %s", user,
			    mailbox, file, target, err);
			(*problems)++;
			if (arc == MH_REFUSED)
				continue;	/* the connection goes on */
			/* The helper is gone: the rest cannot be either. */
			if (np - k - 1 > 0)
				warnx("%s %s: %d more messages not restored",
				    user, mailbox, np - k - 1);
			(*problems) += (uint64_t)(np - k - 1);
			goto out;
		}
		(*done)++;
		printf("restored %s ", user);
		client_putsafe(stdout, mailbox);
		printf("/%s -> ", file);
		client_putsafe(stdout, target);
		printf(" (uid %" PRIu32 ")\n", newuid);
	}
	rc = 0;
out:
	tmp_clear(m, 0);
	if (paths != NULL)
		for (int k = 0; k < np; k++)
			free(paths[k]);
	free(paths);
	free(idx);
	free(seen);
	free(target);
	free(mp);
	json_decref(meta);
	return rc;
}

static int
mail_restore(struct mailcmd *m, char **args, int nargs, const char *to)
{
	const struct clientconf *conf = m->c->conf;
	struct mh_conn *mh = NULL;
	struct tree t;
	char err[1024], *up, *name;
	uint64_t done = 0, problems = 0;
	int rc = EXIT_ERROR;

	if (mh_connect(conf->mail_host, conf->port_mapi, conf->mail_secret,
	    MH_TIMEOUT_S, &mh, err, sizeof(err)) != 0) {
		warnx("mail helper: %s", err);
		return EXIT_ERROR;
	}
	if (nargs >= 2) {
		if (restore_mailbox(m, mh, args[0], args[1], to, NULL,
		    args + 2, nargs - 2, &done, &problems) == -1)
			goto out;
	} else {
		if ((up = mail_path(args[0], NULL)) == NULL)
			goto out;
		if (load_dir(m, up, "such user", &t) != 0) {
			free(up);
			goto out;
		}
		free(up);
		for (uint32_t i = 0; i < t.n; i++) {
			if (t.nodes[i].type != NODE_DIR ||
			    (name = mailsrc_decode(t.nodes[i].name)) == NULL)
				continue;
			if (restore_mailbox(m, mh, args[0], name, NULL, to,
			    NULL, 0, &done, &problems) == -1) {
				free(name);
				tree_free(&t);
				goto out;
			}
			free(name);
		}
		tree_free(&t);
	}
	printf("%" PRIu64 " message%s restored, %" PRIu64 " problem%s\n",
	    done, done == 1 ? "" : "s", problems, problems == 1 ? "" : "s");
	rc = problems > 0 ? EXIT_PARTIAL : 0;
out:
	mh_close(mh);
	return rc;
}

/* ---------------------------------------------------------------- command */

int
cmd_mail(struct client *c, int argc, char **argv)
{
	enum { OPT_TO = OPT_CMD_FIRST, OPT_KEEP_DELETED };
	static const struct option longopts[] = {
		CLIENT_LONGOPTS,
		{ "to-folder", required_argument, NULL, OPT_TO },
		{ "keep-deleted-flag", no_argument, NULL, OPT_KEEP_DELETED },
		{ NULL, 0, NULL, 0 }
	};
	struct mailcmd m;
	const char *to = NULL, *sub;
	char **args;
	int ch, nargs, rc = EXIT_ERROR, keep_deleted = 0;

	if (argc < 2 || (strcmp(argv[1], "ls") != 0 &&
	    strcmp(argv[1], "restore") != 0))
		return client_usage(c);
	sub = argv[1];
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (client_opt(c, ch, optarg))
			continue;
		if (ch == OPT_TO && strcmp(sub, "restore") == 0 &&
		    optarg[0] != '\0') {
			to = optarg;
			continue;
		}
		if (ch == OPT_KEEP_DELETED && strcmp(sub, "restore") == 0) {
			keep_deleted = 1;
			continue;
		}
		return client_usage(c);
	}
	args = argv + optind;
	nargs = argc - optind;
	if (nargs < 1 || (strcmp(sub, "ls") == 0 && nargs > 3) ||
	    (strcmp(sub, "restore") == 0 && nargs < 2))
		return client_usage(c);
	memset(&m, 0, sizeof(m));
	m.c = c;
	m.first = 1;
	m.keep_deleted = keep_deleted;
	if (client_setup(c) == -1 || client_keys(c) == -1 ||
	    client_session(c) == -1 ||
	    client_snapshot(c, args[0], client_set(c), &m.snap) == -1)
		return EXIT_ERROR;
	m.rk.r = c->remote;
	m.rk.k = &c->keys;
	if (strcmp(sub, "ls") == 0) {
		if (nargs == 1)
			rc = ls_users(&m);
		else if (nargs == 2)
			rc = ls_mailboxes(&m, args[1]);
		else
			rc = ls_messages(&m, args[1], args[2]);
		if (c->json && rc == 0)
			client_json_end(m.first);
	} else
		rc = mail_restore(&m, args + 1, nargs - 1, to);
	tmp_clear(&m, 1);
	return fflush(stdout) == 0 ? rc : EXIT_ERROR;
}
