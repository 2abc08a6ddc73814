/*
 * chain.c - rollback detection: the parent named in each snapshot's
 * meta blob, and the check of the server's newest snapshot of a set
 * against the newest this client made or saw (kept in StateFile by
 * state.c).  See chain.h and doc/protocol.md, "Rollback detection".
 */
#include "autoconf.h"

#include <err.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "chain.h"

enum verdict {
	V_OK,		/* the newest is the remembered one or descends from it */
	V_UNKNOWN,	/* the chain cannot be followed: a note */
	V_OLDER,	/* the newest is older than the remembered one */
	V_FORK,		/* it does not descend from it */
	V_BAD,		/* its meta does not match the listing, or is damaged */
	V_FAIL,		/* the session failed */
};

json_t *
chain_parent_json(const struct snapinfo *p)
{
	char mhex[2 * BLOB_ID_LEN + 1], rhex[2 * BLOB_ID_LEN + 1];

	if (p == NULL)
		return json_null();
	hex_encode(p->meta, BLOB_ID_LEN, mhex);
	hex_encode(p->root, BLOB_ID_LEN, rhex);
	return json_pack("{s:I, s:I, s:s, s:s}", "snapshot", (json_int_t)p->id,
	    "time", (json_int_t)p->time, "meta", mhex, "root", rhex);
}

/* "12 of 2026-12-06T17:00:00+0000" */
static void
snap_text(uint64_t id, uint64_t t, char *buf, size_t len)
{
	char when[64];

	client_fmt_time((int64_t)t, "%Y-%m-%dT%H:%M:%S%z", when, sizeof(when));
	snprintf(buf, len, "%llu of %s", (unsigned long long)id, when);
}

/* An id member of o (64 hex digits) into id: 0, or -1. */
static int
get_id(json_t *o, const char *name, uint8_t id[BLOB_ID_LEN])
{
	const char *s = json_string_value(json_object_get(o, name));

	return s == NULL ? -1 : hex_decode(s, id, BLOB_ID_LEN);
}

/*
 * Follow the chain from top (the server's newest of set) down to the
 * remembered r, reading at most limit metas.  *toptime gets the time
 * top's own meta states (0 when it could not be read); why explains
 * every verdict but V_OK.
 */
static enum verdict
walk(struct client *c, const char *set, const struct snapinfo *top,
    const struct state_seen *r, size_t limit, uint64_t *toptime, char *why,
    size_t whylen)
{
	uint8_t cur[BLOB_ID_LEN], root[BLOB_ID_LEN], got[BLOB_ID_LEN];
	uint8_t *body;
	char err[512];
	json_error_t je;
	json_t *o, *t, *p, *s;
	size_t len, step;
	uint64_t mt;
	int missing, rc;
	enum verdict v;

	*toptime = 0;
	memcpy(cur, top->meta, BLOB_ID_LEN);
	memcpy(root, top->root, BLOB_ID_LEN);
	for (step = 0; ; step++) {
		if (step >= limit) {
			snprintf(why, whylen, "more than %zu snapshots on the "
			    "way", limit);
			return V_UNKNOWN;
		}
		if ((rc = client_meta(c, cur, &body, &len, &missing, err,
		    sizeof(err))) == -1) {
			snprintf(why, whylen, "%s", err);
			return V_FAIL;
		}
		if (rc == 1) {
			snprintf(why, whylen, "%s meta %s", step == 0 ? "its" :
			    "an older snapshot's", err);
			/* Forget and prune remove metas; never the newest's. */
			return step > 0 && missing ? V_UNKNOWN : V_BAD;
		}
		o = json_loadb((const char *)body, len, 0, &je);
		free(body);
		t = json_object_get(o, "time");
		if (!json_is_integer(t) || json_integer_value(t) < 0) {
			snprintf(why, whylen, "the meta of %s is damaged (no "
			    "time)", step == 0 ? "it" : "an older snapshot");
			json_decref(o);
			return V_BAD;
		}
		mt = (uint64_t)json_integer_value(t);
		if (step == 0)
			*toptime = mt;
		v = V_OK;
		s = json_object_get(o, "set");
		p = json_object_get(o, "parent");
		if (s != NULL && (!json_is_string(s) ||
		    strcmp(json_string_value(s), set) != 0))
			snprintf(why, whylen, "its chain holds a snapshot of "
			    "another set"), v = V_BAD;
		else if (json_object_get(o, "root") != NULL &&
		    (get_id(o, "root", got) == -1 ||
		    memcmp(got, root, BLOB_ID_LEN) != 0))
			snprintf(why, whylen, "%s root tree is not the one its "
			    "meta names", step == 0 ? "its" :
			    "an older snapshot's"), v = V_BAD;
		else if (memcmp(cur, r->meta, BLOB_ID_LEN) == 0)
			v = V_OK;	/* reached: a descendant */
		else if (mt < r->time)
			v = step == 0 ? V_OLDER : V_FORK;
		else if (step == 0 && mt != top->time)
			snprintf(why, whylen, "the server lists it with a time "
			    "its meta does not state"), v = V_BAD;
		else if (p == NULL)
			snprintf(why, whylen, "a snapshot on the way was made "
			    "by a client that names no parent"), v = V_UNKNOWN;
		else if (json_is_null(p))
			v = V_FORK;	/* the chain starts here */
		else if (get_id(p, "meta", cur) == -1 ||
		    get_id(p, "root", root) == -1)
			snprintf(why, whylen, "the meta of %s is damaged (its "
			    "parent)", step == 0 ? "it" : "an older snapshot"),
			    v = V_BAD;
		else {
			json_decref(o);
			continue;	/* one down */
		}
		json_decref(o);
		return v;
	}
}

/*
 * Write StateFile with the entry of set replaced by *e (e NULL: removed),
 * read again first so that what another run wrote meanwhile stays; and
 * the same change in c->state.
 */
static void
save(struct client *c, const char *set, const struct state_seen *e)
{
	struct client_state *st;
	char err[1024] = "";
	int lockfd = -1;

	if (e != NULL && client_state_remember(&c->state, e) == -1) {
		warnx("warning: set %s is not checked for a rollback: %d sets "
		    "are remembered already (%s)", set, STATE_SEEN_MAX,
		    c->conf->statefile);
		return;
	}
	if (e == NULL)
		client_state_drop(&c->state, c->state.server_id, set);
	if ((st = malloc(sizeof(*st))) == NULL) {
		warnx("warning: cannot remember the newest snapshot of set %s: "
		    "out of memory", set);
		return;
	}
	/* Another run (cron) may save at the same time: one at a time. */
	if ((lockfd = client_state_lock(c->conf->statefile, err,
	    sizeof(err))) == -1)
		goto report;
	if (client_state_read(c->conf->statefile, st, err, sizeof(err)) ==
	    0 && memcmp(st->server_id, c->state.server_id,
	    SERVER_ID_LEN) != 0)
		snprintf(err, sizeof(err), "%s now names another server",
		    c->conf->statefile);
report:
	if (err[0] != '\0') {
		warnx("warning: cannot remember the newest snapshot of set %s: "
		    "%s", set, err);
		goto done;
	}
	if (e != NULL && client_state_remember(st, e) == -1) {
		warnx("warning: set %s is not checked for a rollback: %d sets "
		    "are remembered already (%s)", set, STATE_SEEN_MAX,
		    c->conf->statefile);
		goto done;
	}
	if (e == NULL)
		client_state_drop(st, c->state.server_id, set);
	if (client_state_write(c->conf->statefile, st, err, sizeof(err)) == -1)
		warnx("warning: cannot remember the newest snapshot of set %s: "
		    "%s", set, err);
done:
	client_state_unlock(lockfd);
	crypto_wipe(st, sizeof(*st));
	free(st);
}

static void
remember(struct client *c, const char *set, const struct snapinfo *s,
    uint64_t t)
{
	struct state_seen e;

	/* What StateFile could not hold back (a lying server's listing). */
	if (s->id == 0 || s->id > INT64_MAX || t > INT64_MAX) {
		warnx("warning: set %s: the server lists snapshot %llu with an "
		    "impossible id or time; not remembered", set,
		    (unsigned long long)s->id);
		return;
	}
	memset(&e, 0, sizeof(e));
	memcpy(e.server_id, c->state.server_id, SERVER_ID_LEN);
	snprintf(e.set, sizeof(e.set), "%s", set);
	e.id = s->id;
	e.time = t;
	memcpy(e.meta, s->meta, BLOB_ID_LEN);
	memcpy(e.root, s->root, BLOB_ID_LEN);
	save(c, set, &e);
}

int
chain_check(struct client *c, const char *set, const struct snapinfo *v,
    size_t n)
{
	const struct state_seen *rp;
	const struct snapinfo *top = NULL;
	struct state_seen r;
	char why[768] = "", rtext[128], ttext[128];
	size_t i, count = 0;
	uint64_t toptime;
	enum verdict verdict;

	if (strlen(set) > STATE_SET_MAX || !clientconf_valid_set(set))
		return 0;	/* not a set name this client writes */
	for (i = 0; i < n; i++)
		if (strcmp(v[i].set, set) == 0) {
			top = &v[i];
			count++;
		}
	if ((rp = client_state_seen(&c->state, c->state.server_id,
	    set)) == NULL) {
		if (top != NULL)
			remember(c, set, top, top->time);	/* first use */
		return 0;
	}
	r = *rp;
	snap_text(r.id, r.time, rtext, sizeof(rtext));
	if (top == NULL) {
		warnx("warning: set %s: possible rollback: the server lists no "
		    "snapshot of it, but this client made or saw snapshot %s",
		    set, rtext);
		goto alarm;
	}
	if (memcmp(top->meta, r.meta, BLOB_ID_LEN) == 0 &&
	    memcmp(top->root, r.root, BLOB_ID_LEN) == 0) {
		if (top->id != r.id)
			remember(c, set, top, r.time);
		return 0;
	}
	if (!c->have_keys && client_keys(c) == -1) {
		warnx("note: set %s: cannot check that the server's newest "
		    "snapshot %llu descends from snapshot %s, the newest this "
		    "client made or saw, without the keys", set,
		    (unsigned long long)top->id, rtext);
		return 0;
	}
	verdict = walk(c, set, top, &r, count + CHAIN_SLACK, &toptime, why,
	    sizeof(why));
	snap_text(top->id, toptime ? toptime : top->time, ttext,
	    sizeof(ttext));
	switch (verdict) {
	case V_OK:
		remember(c, set, top, toptime);
		return 0;
	case V_UNKNOWN:
		warnx("note: set %s: cannot check that the server's newest "
		    "snapshot %s descends from snapshot %s, the newest this "
		    "client made or saw: %s", set, ttext, rtext, why);
		remember(c, set, top, toptime);
		return 0;
	case V_OLDER:
		warnx("warning: set %s: possible rollback: the server's newest "
		    "snapshot %s is older than snapshot %s, the newest this "
		    "client made or saw", set, ttext, rtext);
		break;
	case V_FORK:
		warnx("warning: set %s: possible rollback: the server's newest "
		    "snapshot %s does not descend from snapshot %s, the newest "
		    "this client made or saw", set, ttext, rtext);
		break;
	case V_BAD:
		warnx("warning: set %s: possible rollback: the server's newest "
		    "snapshot %s cannot be checked against snapshot %s, the "
		    "newest this client made or saw: %s", set, ttext, rtext,
		    why);
		break;
	case V_FAIL:
		warnx("%s", why);
		return -1;
	}
alarm:
	if (c->strict) {
		warnx("refusing to go on (--strict, or StrictRollback = 1)");
		return -1;
	}
	return 0;
}

int
chain_check_all(struct client *c, const struct snapinfo *v, size_t n)
{
	struct state_seen *seen = NULL;
	size_t nseen = 0, i, k;
	int rc = 0;

	/* Sets that the check may remember anew: a copy to walk over. */
	for (i = 0; i < c->state.nseen; i++)
		if (memcmp(c->state.seen[i].server_id, c->state.server_id,
		    SERVER_ID_LEN) == 0)
			nseen++;
	if (nseen > 0 && (seen = calloc(nseen, sizeof(*seen))) == NULL) {
		warnx("out of memory");
		return -1;
	}
	for (i = 0, k = 0; i < c->state.nseen; i++)
		if (memcmp(c->state.seen[i].server_id, c->state.server_id,
		    SERVER_ID_LEN) == 0)
			seen[k++] = c->state.seen[i];
	for (i = 0; i < n; i++) {
		for (k = 0; k < i && strcmp(v[k].set, v[i].set) != 0; k++)
			;
		if (k == i && chain_check(c, v[i].set, v, n) == -1)
			rc = -1;
	}
	for (k = 0; k < nseen; k++) {
		for (i = 0; i < n && strcmp(v[i].set, seen[k].set) != 0; i++)
			;
		if (i == n && chain_check(c, seen[k].set, v, n) == -1)
			rc = -1;
	}
	free(seen);
	return rc;
}

void
chain_remember(struct client *c, const struct snapinfo *s)
{
	remember(c, s->set, s, s->time);
}

int
chain_check_set(struct client *c, const char *set)
{
	struct snapinfo *v;
	char err[1024];
	size_t n;
	int rc;

	if (remote_list(c->remote, set, &v, &n, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	rc = chain_check(c, set, v, n);
	free(v);
	return rc;
}

void
chain_forgotten(struct client *c, const struct snapinfo *gone)
{
	const struct state_seen *r;
	const struct snapinfo *top = NULL;
	struct snapinfo *v;
	char err[1024];
	size_t n;

	r = client_state_seen(&c->state, c->state.server_id, gone->set);
	if (r == NULL || r->id != gone->id ||
	    memcmp(r->meta, gone->meta, BLOB_ID_LEN) != 0)
		return;
	if (remote_list(c->remote, gone->set, &v, &n, err, sizeof(err)) ==
	    -1) {
		warnx("warning: cannot remember the newest snapshot of set %s: "
		    "%s", gone->set, err);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].set, gone->set) == 0 && v[i].id != gone->id)
			top = &v[i];
	if (top != NULL)
		remember(c, gone->set, top, top->time);
	else
		save(c, gone->set, NULL);
	free(v);
}
