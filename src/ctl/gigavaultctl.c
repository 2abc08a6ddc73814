/*
 * gigavaultctl.c - administration of a GigaVault server: clients and
 * their enrollment tokens, snapshots and usage, retention policies,
 * prune and scrub, read and written in the catalog and the packs
 * directly (LMDB allows that beside the running daemon; prune and scrub
 * take the housekeeping lock, see prune.h, and record their runs, but
 * not a dry run, in DataDir/housekeeping.json, see hkstatus.h).
 *
 * Exit status: 0 success, 1 runtime error (no such client, name taken,
 * catalog error, scrub found damage), 2 usage or configuration error.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stddef.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/paths.h"
#include "server/catalog.h"
#include "server/config.h"
#include "server/datadir.h"
#include "server/hkstatus.h"
#include "server/leasestate.h"
#include "server/policy.h"
#include "server/prune.h"
#include "server/scrub.h"
#include "server/store.h"
#include "ctl.h"

#define TOKEN_BYTES	16	/* printed as 32 hex digits */

static const char usage_text[] =
	    "usage: gigavaultctl [-hV] [-f file] COMMAND [ARGS]\n"
	    "       gigavaultctl [-f file] status [--bytes] [--json]\n"
	    "       gigavaultctl [-f file] client add | token name\n"
	    "       gigavaultctl [-f file] client list [--json]\n"
	    "       gigavaultctl [-f file] clients [--json]\n"
	    "       gigavaultctl [-f file] client backup name [--set name]\n"
	    "       gigavaultctl [-f file] client history name [--limit n] "
	    "[--json]\n"
	    "       gigavaultctl [-f file] client disable | enable | remove "
	    "name\n"
	    "       gigavaultctl [-f file] client allow-forget | deny-forget "
	    "name\n"
	    "       gigavaultctl [-f file] snapshots [client] [--bytes] "
	    "[--json]\n"
	    "       gigavaultctl [-f file] snapshot protect | unprotect | "
	    "forget client id\n"
	    "       gigavaultctl [-f file] usage [--bytes] [--json]\n"
	    "       gigavaultctl [-f file] stats [--days n] [--bytes] "
	    "[--json]\n"
	    "       gigavaultctl [-f file] history [--client name] [--kind k] "
	    "[--result r]\n"
	    "                    [--since time] [--limit n] [--bytes] "
	    "[--json]\n"
	    "       gigavaultctl [-f file] policy show [client] [--json]\n"
	    "       gigavaultctl [-f file] policy set client [--set name] "
	    "[--keep-last n]\n"
	    "                    [--keep-hourly n] [--keep-daily n] "
	    "[--keep-weekly n]\n"
	    "                    [--keep-monthly n] [--keep-yearly n]\n"
	    "       gigavaultctl [-f file] policy clear client [--set name]\n"
	    "       gigavaultctl [-f file] prune [--dry-run] [--bytes] "
	    "[--json]\n"
	    "       gigavaultctl [-f file] scrub [--rate bytes/s] [--bytes] "
	    "[--json]\n"
	    "       gigavaultctl [-f file] tls init [--name host] [--days n] "
	    "[--renew | --force]\n"
	    "       gigavaultctl [-f file] tls show [--json]\n"
	    "       gigavaultctl [-f file] admin add | passwd [--role role] "
	    "name\n"
	    "       gigavaultctl [-f file] admin role --role role name\n"
	    "       gigavaultctl [-f file] admin totp --disable name\n"
	    "       gigavaultctl [-f file] admin remove name\n"
	    "       gigavaultctl [-f file] admin list [--json]\n"
	    "       gigavaultctl [-f file] sync [--to-bucket file] "
	    "[--client name ...] [--dry-run]\n"
	    "                    [--json]\n"
	    "       gigavaultctl [-f file] rebuild-catalog [--from-bucket]\n"
	    "       gigavaultctl [-f file] upgrade\n";

static void
usage_to(FILE *f)
{
	fputs(usage_text, f);
}

/*
 * Whether the usage line at cmd ("gigavaultctl [-f file] client add |
 * token name ...") is the one of word and sub (NULL for none): the word,
 * then sub among the alternatives that follow it.
 */
static int
usage_line_is(const char *cmd, const char *word, const char *sub)
{
	static const char lead[] = "gigavaultctl [-f file] ";
	size_t n = strlen(word), m;

	if (strncmp(cmd, lead, sizeof(lead) - 1) != 0)
		return 0;
	cmd += sizeof(lead) - 1;
	if (strncmp(cmd, word, n) != 0 || (cmd[n] != ' ' && cmd[n] != '\n'))
		return 0;
	if (sub == NULL)
		return 1;
	m = strlen(sub);
	for (cmd += n; *cmd == ' '; ) {
		cmd++;
		if (strncmp(cmd, sub, m) == 0 && (cmd[m] == ' ' ||
		    cmd[m] == '\n'))
			return 1;
		cmd += strcspn(cmd, " \n");	/* another alternative */
		if (strncmp(cmd, " | ", 3) != 0)
			return 0;
		cmd += 2;
	}
	return 0;
}

/*
 * The usage lines of the command word (and sub), with the lines that
 * continue them, on stdout: "gigavaultctl policy set --help".
 */
static void
usage_of(const char *word, const char *sub)
{
	const char *p = usage_text, *nl, *cmd;
	int on = 0, any = 0;

	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		cmd = strstr(p, "gigavaultctl ");
		if (cmd != NULL && cmd < nl) {
			if ((on = usage_line_is(cmd, word, sub)))
				printf("%s%.*s\n", any++ ? "       " :
				    "usage: ", (int)(nl - cmd), cmd);
		} else if (on)
			printf("%.*s\n", (int)(nl - p), p);
	}
	if (!any)
		usage_to(stdout);
}

static void __attribute__((noreturn))
usage(void)
{
	usage_to(stderr);
	exit(EXIT_USAGE);
}

static int
cat_failed(struct ctl *c)
{
	fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
	return EXIT_RUNTIME;
}

/* The command's client (argv[0]) is not in the catalog. */
static int
no_client(struct ctl *c)
{
	fprintf(stderr, "gigavaultctl: no client named \"%s\"\n",
	    c->argv[0]);
	return EXIT_RUNTIME;
}

/* The exit status for rc, what the catalog said to a change of argv[0]. */
static int
changed(struct ctl *c, int rc)
{
	if (rc == CAT_NOTFOUND)
		return no_client(c);
	return rc == CAT_OK ? 0 : cat_failed(c);
}


/* ------------------------------------------------------------- clients */

struct client_vec {
	struct cat_client *v;	/* secrets zeroed by catalog_clients() */
	size_t		 n;
};

/*
 * Every client (sorted by name) into cv, or only the one an operand
 * names (snapshots, policy show).  0 or an exit status.
 */
static int
all_clients(struct ctl *c, struct client_vec *cv)
{
	size_t i;

	if (catalog_clients(c->cat, &cv->v, &cv->n) != CAT_OK)
		return cat_failed(c);
	if (c->argc == 0)
		return 0;
	for (i = 0; i < cv->n; i++)
		if (strcmp(cv->v[i].name, c->argv[0]) == 0)
			break;
	if (i == cv->n) {
		free(cv->v);
		return no_client(c);
	}
	cv->v[0] = cv->v[i];
	cv->n = 1;
	return 0;
}

#define CLIENT_PORT	32004	/* the client's default ports (gigavault(1)) */
#define CLIENT_SSL_PORT	32007

/*
 * Where clients reach this server, for the register line: the first
 * Server.Listen address that is not a wildcard ("*", 0.0.0.0, ::), IPv6
 * in brackets, else this machine's host name; then ":PORT" when the
 * session port is not the client's default.
 */
static void
register_host(const struct gv_config *cfg, char *buf, size_t len)
{
	const char *a = NULL;
	char host[256];
	int port;
	size_t i, n;

	for (i = 0; i < cfg->nlisten; i++)
		if (strcmp(cfg->listen[i], "*") != 0 &&
		    strcmp(cfg->listen[i], "0.0.0.0") != 0 &&
		    strcmp(cfg->listen[i], "::") != 0) {
			a = cfg->listen[i];
			break;
		}
	if (a == NULL) {
		if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
			snprintf(host, sizeof(host), "SERVER");
		host[sizeof(host) - 1] = '\0';
		a = host;
	}
	if (strchr(a, ':') != NULL)
		n = (size_t)snprintf(buf, len, "[%s]", a);
	else
		n = (size_t)snprintf(buf, len, "%s", a);
	port = cfg->ssl_enabled ? cfg->port.ssl : cfg->port.backup;
	if (n < len && port != (cfg->ssl_enabled ? CLIENT_SSL_PORT :
	    CLIENT_PORT))
		snprintf(buf + n, len - n, ":%d", port);
}

/*
 * Make a one-time token for client name, new or (reissue) existing: the
 * token alone on stdout (for scripts), and on stderr the command that
 * enrolls the client.
 */
static int
issue_token(struct ctl *c, int reissue)
{
	const char *name = c->argv[0];
	uint8_t hash[CRYPTO_HASH_LEN];
	char token[2 * TOKEN_BYTES + 1], host[300];
	int rc;

	if (!catalog_name_valid(name)) {
		fprintf(stderr, "gigavaultctl: invalid client name \"%s\": "
		    "use 1 to %d of A-Z a-z 0-9 . _ -, not only dots\n", name,
		    CAT_NAME_MAX);
		return EXIT_USAGE;
	}
	if (crypto_token(token, TOKEN_BYTES, hash) == -1) {
		fprintf(stderr, "gigavaultctl: no random numbers\n");
		return EXIT_RUNTIME;
	}
	rc = reissue ? catalog_client_token(c->cat, name, hash) :
	    catalog_client_add(c->cat, name, hash, (uint64_t)time(NULL),
	    NULL);
	if (rc == CAT_EXISTS) {
		fprintf(stderr, "gigavaultctl: a client named \"%s\" exists "
		    "already (\"client token %s\" lets it register again)\n",
		    name, name);
		return EXIT_RUNTIME;
	}
	if (rc != CAT_OK)
		return changed(c, rc);
	register_host(c->cfg, host, sizeof(host));
	printf("%s\n", token);
	fflush(stdout);
	fprintf(stderr, "Enroll the client: on it, after \"gigavault init\", "
	    "run\n\n    gigavault register %s-s %s --token %s\n\n(if it "
	    "reaches this server by another name or port, change -s; see "
	    "gigavaultctl(8))\n", c->cfg->ssl_enabled ? "--ssl " : "", host,
	    token);
	crypto_wipe(token, sizeof(token));
	return 0;
}

static int
cmd_client_add(struct ctl *c)
{
	return issue_token(c, 0);
}

static int
cmd_client_token(struct ctl *c)
{
	return issue_token(c, 1);
}

static int
cmd_client_list(struct ctl *c)
{
	struct client_vec cv;
	char when[32];
	json_t *arr;
	int rc;

	if ((rc = all_clients(c, &cv)) != 0)
		return rc;
	if (c->json) {
		arr = json_array();
		for (size_t i = 0; i < cv.n; i++)
			json_array_append_new(arr, json_pack(
			    "{s:s, s:I, s:b, s:b, s:b, s:I}",
			    "name", cv.v[i].name,
			    "id", (json_int_t)cv.v[i].id,
			    "registered", cv.v[i].registered,
			    "disabled", cv.v[i].disabled,
			    "allow_forget", cv.v[i].allow_forget,
			    "created", (json_int_t)cv.v[i].created));
		free(cv.v);
		return print_json(arr);
	}
	printf("%-24s %6s %-10s %-10s %s\n", "NAME", "ID", "STATE",
	    "ENROLLED", "CREATED");
	for (size_t i = 0; i < cv.n; i++) {
		fmt_utc(cv.v[i].created, when, sizeof(when));
		printf("%-24s %6llu %-10s %-10s %s\n", cv.v[i].name,
		    (unsigned long long)cv.v[i].id,
		    cv.v[i].disabled ? "disabled" : "enabled",
		    cv.v[i].registered ? "yes" : "no", when);
	}
	free(cv.v);
	return 0;
}

static int
cmd_client_disable(struct ctl *c)
{
	return changed(c, catalog_client_set_disabled(c->cat, c->argv[0], 1));
}

static int
cmd_client_enable(struct ctl *c)
{
	return changed(c, catalog_client_set_disabled(c->cat, c->argv[0], 0));
}

static int
cmd_client_allow_forget(struct ctl *c)
{
	return changed(c, catalog_client_set_allow_forget(c->cat, c->argv[0],
	    1));
}

static int
cmd_client_deny_forget(struct ctl *c)
{
	return changed(c, catalog_client_set_allow_forget(c->cat, c->argv[0],
	    0));
}

static int
cmd_client_remove(struct ctl *c)
{
	return changed(c, catalog_client_remove(c->cat, c->argv[0]));
}

/* ----------------------------------------------------------- snapshots */

struct snap_out {
	const struct ctl *c;
	const char	*client;
	json_t		*arr;		/* NULL: print a table */
};

static int
print_snapshot(void *arg, const struct cat_snapshot *s)
{
	struct snap_out *o = arg;
	char root[2 * BLOB_ID_LEN + 1], meta[2 * BLOB_ID_LEN + 1], when[32];
	char size[32], new[32];

	hex_encode(s->root, BLOB_ID_LEN, root);
	hex_encode(s->meta, BLOB_ID_LEN, meta);
	if (o->arr != NULL) {
		json_array_append_new(o->arr, json_pack(
		    "{s:s, s:I, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:b}",
		    "client", o->client, "id", (json_int_t)s->id,
		    "set", s->set, "time", (json_int_t)s->time,
		    "root", root, "meta", meta,
		    "files", (json_int_t)s->files,
		    "size", (json_int_t)s->size,
		    "new_bytes", (json_int_t)s->new_bytes,
		    "new_blobs", (json_int_t)s->new_blobs,
		    "protected", s->protected));
		return 0;
	}
	fmt_utc(s->time, when, sizeof(when));
	printf("%-24s %6llu %-16s %-20s %10llu %14s %14s %s\n", o->client,
	    (unsigned long long)s->id, s->set, when,
	    (unsigned long long)s->files,
	    fmt_size(o->c, s->size, size, sizeof(size)),
	    fmt_size(o->c, s->new_bytes, new, sizeof(new)),
	    s->protected ? "protected" : "-");
	return 0;
}

static int
cmd_snapshots(struct ctl *c)
{
	struct client_vec cv;
	struct snap_out o;
	int rc;

	if ((rc = all_clients(c, &cv)) != 0)
		return rc;
	o.c = c;
	o.arr = c->json ? json_array() : NULL;
	if (!c->json)
		printf("%-24s %6s %-16s %-20s %10s %14s %14s %s\n", "CLIENT",
		    "ID", "SET", "TIME", "FILES", "SIZE", "NEW BYTES",
		    "FLAGS");
	for (size_t i = 0; i < cv.n; i++) {
		o.client = cv.v[i].name;
		if (catalog_snapshots(c->cat, cv.v[i].id, NULL, 0,
		    print_snapshot, &o) != CAT_OK) {
			json_decref(o.arr);
			free(cv.v);
			return cat_failed(c);
		}
	}
	free(cv.v);
	return c->json ? print_json(o.arr) : 0;
}

/*
 * The command's client (argv[0]) into *cl and snapshot id (argv[1]) into
 * *id.  0 or an exit status.
 */
static int
snapshot_args(struct ctl *c, struct cat_client *cl, uint64_t *id)
{
	const char *a = c->argv[1];
	char *end;
	unsigned long long v;
	int rc;

	errno = 0;
	v = strtoull(a, &end, 10);
	if (a[0] < '0' || a[0] > '9' || *end != '\0' || errno != 0 ||
	    v == 0) {
		fprintf(stderr, "gigavaultctl: invalid snapshot id \"%s\": "
		    "a number from 1 (gigavaultctl snapshots %s lists them)\n",
		    a, c->argv[0]);
		return EXIT_USAGE;
	}
	*id = v;
	if ((rc = catalog_client_get(c->cat, c->argv[0], cl)) == CAT_NOTFOUND)
		return no_client(c);
	if (rc != CAT_OK)
		return cat_failed(c);
	crypto_wipe(cl->secret, sizeof(cl->secret));
	return 0;
}

static int
no_snapshot(struct ctl *c, uint64_t id)
{
	fprintf(stderr, "gigavaultctl: client %s has no snapshot %llu\n",
	    c->argv[0], (unsigned long long)id);
	return EXIT_RUNTIME;
}

static int
protect(struct ctl *c, int on)
{
	struct cat_client cl;
	uint64_t id;
	int rc;

	if ((rc = snapshot_args(c, &cl, &id)) != 0)
		return rc;
	rc = catalog_snapshot_protect(c->cat, cl.id, id, on);
	if (rc == CAT_NOTFOUND)
		return no_snapshot(c, id);
	return rc == CAT_OK ? 0 : cat_failed(c);
}

static int
cmd_snapshot_protect(struct ctl *c)
{
	return protect(c, 1);
}

static int
cmd_snapshot_unprotect(struct ctl *c)
{
	return protect(c, 0);
}

/* As a client's forget: policy_forget() says what may go. */
static int
cmd_snapshot_forget(struct ctl *c)
{
	struct cat_client cl;
	uint64_t id;
	char why[256];
	int rc;

	if ((rc = snapshot_args(c, &cl, &id)) != 0)
		return rc;
	switch (policy_forget(c->cat, &c->cfg->retention, &cl, id, why,
	    sizeof(why))) {
	case CAT_OK:
		return 0;
	case CAT_NOTFOUND:
		return no_snapshot(c, id);
	case CAT_PROTECTED:
		fprintf(stderr, "gigavaultctl: snapshot %llu of %s is "
		    "protected: \"snapshot unprotect %s %llu\" first\n",
		    (unsigned long long)id, cl.name, cl.name,
		    (unsigned long long)id);
		return EXIT_RUNTIME;
	case POLICY_KEPT:
		fprintf(stderr, "gigavaultctl: snapshot %llu of %s is kept by "
		    "the retention policy (%s): change the policy, or \"client "
		    "allow-forget %s\"\n", (unsigned long long)id, cl.name,
		    why, cl.name);
		return EXIT_RUNTIME;
	default:
		fprintf(stderr, "gigavaultctl: %s\n", why);
		return EXIT_RUNTIME;
	}
}

static int
cmd_usage(struct ctl *c)
{
	struct client_vec cv;
	struct cat_usage u;
	json_t *arr = NULL;
	int rc;

	if ((rc = all_clients(c, &cv)) != 0)
		return rc;
	if (c->json)
		arr = json_array();
	else
		printf("%-24s %9s %14s %14s %10s %7s\n", "CLIENT", "SNAPSHOTS",
		    "SIZE", "UNIQUE", "BLOBS", "DEDUP");
	for (size_t i = 0; i < cv.n; i++) {
		char size[32], uniq[32];
		double ratio;

		if (catalog_usage(c->cat, cv.v[i].id, &u) != CAT_OK) {
			json_decref(arr);
			free(cv.v);
			return cat_failed(c);
		}
		ratio = u.unique_bytes ?
		    (double)u.size / (double)u.unique_bytes : 0;
		if (arr != NULL) {
			json_array_append_new(arr, json_pack(
			    "{s:s, s:I, s:I, s:I, s:I, s:o}",
			    "client", cv.v[i].name,
			    "snapshots", (json_int_t)u.snapshots,
			    "size", (json_int_t)u.size,
			    "unique_bytes", (json_int_t)u.unique_bytes,
			    "blobs", (json_int_t)u.blobs,
			    "dedup_ratio", u.unique_bytes ? json_real(ratio) :
			    json_null()));
			continue;
		}
		printf("%-24s %9llu %14s %14s %10llu ", cv.v[i].name,
		    (unsigned long long)u.snapshots,
		    fmt_size(c, u.size, size, sizeof(size)),
		    fmt_size(c, u.unique_bytes, uniq, sizeof(uniq)),
		    (unsigned long long)u.blobs);
		if (u.unique_bytes)
			printf("%6.2fx\n", ratio);
		else
			printf("%7s\n", "-");
	}
	free(cv.v);
	return arr != NULL ? print_json(arr) : 0;
}

#define STATS_DAYS	14	/* as the console shows */
#define STATS_DAYS_MAX	3660

/* Totals over all clients and the sessions of the last --days days. */
static int
cmd_stats(struct ctl *c)
{
	struct cat_totals t;
	struct cat_day *days;
	struct store_space sp;
	unsigned long long n;
	json_t *arr = NULL, *disk = NULL;
	char err[256], b1[32], b2[32], b3[32];
	time_t now = time(NULL);
	uint32_t today;
	int rc;

	if ((rc = opt_number(c, "--days", STATS_DAYS_MAX, &n)) != 0)
		return rc;
	if (opt_get(c, "--days") == NULL)
		n = STATS_DAYS;
	if (now < 0)
		now = 0;
	today = (uint32_t)((uint64_t)now / CAT_DAY_SECONDS);
	if (n > (unsigned long long)today + 1)
		n = (unsigned long long)today + 1;
	if ((days = calloc(n ? n : 1, sizeof(*days))) == NULL) {
		fprintf(stderr, "gigavaultctl: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (catalog_totals(c->cat, &t) != CAT_OK || (n > 0 &&
	    catalog_days(c->cat, today - (uint32_t)(n - 1), n, days) !=
	    CAT_OK)) {
		free(days);
		return cat_failed(c);
	}
	if (c->json)
		arr = json_array();
	else
		printf("clients %llu, snapshots %llu, size %s, "
		    "unique bytes %s\n%-10s %9s %14s %14s %14s\n",
		    (unsigned long long)t.clients,
		    (unsigned long long)t.snapshots,
		    fmt_size(c, t.size, b1, sizeof(b1)),
		    fmt_size(c, t.unique_bytes, b2, sizeof(b2)), "DAY",
		    "SESSIONS",
		    "BYTES IN", "BYTES OUT", "UNIQUE");
	for (size_t i = 0; i < n; i++) {
		char day[32];

		fmt_utc((uint64_t)days[i].day * CAT_DAY_SECONDS, day,
		    sizeof(day));
		day[10] = '\0';	/* YYYY-MM-DD */
		if (arr != NULL) {
			json_array_append_new(arr, json_pack("{s:s, s:I, s:I, "
			    "s:I, s:I}", "day", day,
			    "sessions", (json_int_t)days[i].sessions,
			    "bytes_in", (json_int_t)days[i].bytes_in,
			    "bytes_out", (json_int_t)days[i].bytes_out,
			    "unique_bytes", (json_int_t)days[i].unique_bytes));
			continue;
		}
		printf("%-10s %9llu %14s %14s %14s\n", day,
		    (unsigned long long)days[i].sessions,
		    fmt_size(c, days[i].bytes_in, b1, sizeof(b1)),
		    fmt_size(c, days[i].bytes_out, b2, sizeof(b2)),
		    fmt_size(c, days[i].unique_bytes, b3, sizeof(b3)));
	}
	free(days);
	/* DataDir's file system, as the UI bridge's status says it. */
	if (store_space_of(c->cfg->datadir, c->cfg->reserve_space, &sp, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		disk = json_null();
	} else if (arr == NULL)
		printf("disk: %s free of %s, reserve %s: %s\n",
		    fmt_size(c, sp.free, b1, sizeof(b1)),
		    fmt_size(c, sp.capacity, b2, sizeof(b2)),
		    fmt_size(c, sp.reserve, b3, sizeof(b3)),
		    store_level_name(sp.level));
	else
		disk = json_pack("{s:I, s:I, s:I, s:s}",
		    "free", (json_int_t)sp.free,
		    "capacity", (json_int_t)sp.capacity,
		    "reserve", (json_int_t)sp.reserve,
		    "level", store_level_name(sp.level));
	if (arr == NULL)
		return 0;
	return print_json(json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}",
	    "clients", (json_int_t)t.clients,
	    "snapshots", (json_int_t)t.snapshots,
	    "size", (json_int_t)t.size,
	    "unique_bytes", (json_int_t)t.unique_bytes, "days", arr,
	    "disk", disk));
}

/* ------------------------------------------------------------ policies */

static json_t *
policy_json(const char *set, const struct retention *p)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "set", set, "keep_last", (json_int_t)p->last,
	    "keep_hourly", (json_int_t)p->hourly,
	    "keep_daily", (json_int_t)p->daily,
	    "keep_weekly", (json_int_t)p->weekly,
	    "keep_monthly", (json_int_t)p->monthly,
	    "keep_yearly", (json_int_t)p->yearly);
}

static void
policy_row(const char *client, const char *set, const struct retention *p,
    const char *forget)
{
	printf("%-24s %-16s %6lu %6lu %6lu %6lu %7lu %6lu  %s\n", client,
	    set[0] ? set : "*", (unsigned long)p->last,
	    (unsigned long)p->hourly, (unsigned long)p->daily,
	    (unsigned long)p->weekly, (unsigned long)p->monthly,
	    (unsigned long)p->yearly, forget);
}

struct policy_out {
	const struct cat_client *cl;
	json_t		*arr;		/* NULL: print rows */
	int		 n;
};

static int
print_policy(void *arg, const char *set, const struct retention *p)
{
	struct policy_out *o = arg;

	o->n++;
	if (o->arr != NULL)
		json_array_append_new(o->arr, policy_json(set, p));
	else
		policy_row(o->cl->name, set, p, o->cl->allow_forget ?
		    "allowed" : "denied");
	return 0;
}

static int
cmd_policy_show(struct ctl *c)
{
	struct client_vec cv;
	json_t *top = NULL, *arr = NULL;
	int rc;

	if ((rc = all_clients(c, &cv)) != 0)
		return rc;
	if (c->json) {
		arr = json_array();
		top = json_pack("{s:o, s:o}", "server",
		    policy_json("", &c->cfg->retention), "clients", arr);
	} else {
		printf("%-24s %-16s %6s %6s %6s %6s %7s %6s  %s\n", "CLIENT",
		    "SET", "LAST", "HOURLY", "DAILY", "WEEKLY", "MONTHLY",
		    "YEARLY", "FORGET");
		policy_row("(server default)", "", &c->cfg->retention, "-");
	}
	for (size_t i = 0; i < cv.n; i++) {
		struct policy_out o = { &cv.v[i], NULL, 0 };
		json_t *one = NULL;

		if (arr != NULL) {
			o.arr = json_array();
			one = json_pack("{s:s, s:b, s:o}", "client",
			    cv.v[i].name, "allow_forget",
			    cv.v[i].allow_forget, "policies", o.arr);
		}
		if (catalog_policies(c->cat, cv.v[i].id, print_policy, &o) !=
		    CAT_OK) {
			json_decref(one);
			json_decref(top);
			free(cv.v);
			return cat_failed(c);
		}
		if (one != NULL)
			json_array_append_new(arr, one);
		else if (o.n == 0)
			printf("%-24s %-16s %6s %6s %6s %6s %7s %6s  %s\n",
			    cv.v[i].name, "*", "-", "-", "-", "-", "-", "-",
			    cv.v[i].allow_forget ? "allowed" : "denied");
	}
	free(cv.v);
	return top != NULL ? print_json(top) : 0;
}

static const struct {
	const char	*opt;
	size_t		 off;
} keep_opts[] = {
	{ "--keep-last",	offsetof(struct retention, last) },
	{ "--keep-hourly",	offsetof(struct retention, hourly) },
	{ "--keep-daily",	offsetof(struct retention, daily) },
	{ "--keep-weekly",	offsetof(struct retention, weekly) },
	{ "--keep-monthly",	offsetof(struct retention, monthly) },
	{ "--keep-yearly",	offsetof(struct retention, yearly) },
};

static int
policy_set_name(struct ctl *c, const char **set)
{
	*set = opt_get(c, "--set");
	if (*set == NULL)
		*set = "";
	else if (!catalog_name_valid(*set)) {
		fprintf(stderr, "gigavaultctl: invalid set name \"%s\": use "
		    "1 to %d of A-Z a-z 0-9 . _ -, not only dots\n", *set,
		    CAT_NAME_MAX);
		return EXIT_USAGE;
	}
	return 0;
}

static int
cmd_policy_set(struct ctl *c)
{
	struct retention p;
	const char *set;
	int rc, given = 0;

	memset(&p, 0, sizeof(p));
	if ((rc = policy_set_name(c, &set)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof(keep_opts) / sizeof(keep_opts[0]);
	    i++) {
		unsigned long long v;

		if (opt_get(c, keep_opts[i].opt) != NULL)
			given = 1;
		if ((rc = opt_number(c, keep_opts[i].opt, POLICY_KEEP_MAX,
		    &v)) != 0)
			return rc;
		*(uint32_t *)((char *)&p + keep_opts[i].off) = (uint32_t)v;
	}
	if (!given)
		usage();
	return changed(c, catalog_policy_set(c->cat, c->argv[0], set, &p));
}

static int
cmd_policy_clear(struct ctl *c)
{
	const char *set;
	int rc;

	if ((rc = policy_set_name(c, &set)) != 0)
		return rc;
	rc = catalog_policy_clear(c->cat, c->argv[0], set);
	if (rc == CAT_NOTFOUND) {
		fprintf(stderr, "gigavaultctl: no client \"%s\" with a "
		    "policy for %s\n", c->argv[0], set[0] ? set :
		    "all its sets");
		return EXIT_RUNTIME;
	}
	return rc == CAT_OK ? 0 : cat_failed(c);
}

/* ------------------------------------------------------- prune, scrub */

/* n bytes in a sentence: "1234 bytes" with --bytes, else "1.2 KiB". */
static const char *
bytes_text(const struct ctl *c, uint64_t n, char *buf, size_t len)
{
	if (c->bytes)
		snprintf(buf, len, "%llu bytes", (unsigned long long)n);
	else
		fmt_size(c, n, buf, len);
	return buf;
}

/* A report line of prune or scrub: printed, or (--json) kept in arg. */
static void
print_line(void *arg, const char *line)
{
	if (arg != NULL) {
		json_array_append_new(arg, json_string(line));
		return;
	}
	printf("%s\n", line);
	fflush(stdout);
}

static int
cmd_prune(struct ctl *c)
{
	struct hk_hooks hk = { print_line, NULL, NULL };
	struct prune_result r;
	int dry = opt_get(c, "--dry-run") != NULL, fd, rc;
	json_t *lines = c->json ? json_array() : NULL;
	char err[512], b1[32], b2[32], b3[32];
	uint64_t start = (uint64_t)time(NULL);

	hk.arg = lines;
	if ((fd = lock_housekeeping(c)) == -1) {
		json_decref(lines);
		return EXIT_RUNTIME;
	}
	/* A dry run changes nothing and is not recorded. */
	if (!dry)
		hkstatus_begin(c->cfg->datadir, HK_PRUNE, (uint64_t)time(NULL),
		    HKSTATUS_KEEP);
	memset(&r, 0, sizeof(r));
	rc = prune_run(c->cat, c->cfg, dry, &hk, &r, err, sizeof(err));
	if (!dry)
		hkstatus_end(c->cfg->datadir, HK_PRUNE, (uint64_t)time(NULL),
		    HKSTATUS_KEEP, rc == -1 ? "error" : "ok",
		    rc == -1 ? err : "gigavaultctl prune",
		    hkstatus_prune_counters(&r));
	close(fd);
	if (!dry) {
		char sum[256];

		snprintf(sum, sizeof(sum), "%llu snapshots forgotten, %llu "
		    "blobs freed, %llu packs removed, %llu rewritten",
		    (unsigned long long)r.snapshots,
		    (unsigned long long)r.blobs,
		    (unsigned long long)r.packs_removed,
		    (unsigned long long)r.packs_rewritten);
		ctl_history_record(c, CAT_HIST_PRUNE, start, rc == -1 ?
		    "failed" : "ok", rc == -1 ? err : sum);
	}
	if (rc == -1) {
		json_decref(lines);
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	if (c->json) {
		json_t *out = hkstatus_prune_counters(&r);

		if (out == NULL || json_object_set_new(out, "dry_run",
		    json_boolean(dry)) == -1 || json_object_set_new(out,
		    "report", lines) == -1) {
			json_decref(out);
			fprintf(stderr, "gigavaultctl: out of memory\n");
			return EXIT_RUNTIME;
		}
		return print_json(out);
	}
	printf("%s: %llu snapshots forgotten, %llu blobs freed (%s), "
	    "%llu packs removed, %llu rewritten, %llu busy, %llu damaged; "
	    "pack bytes %s -> %s\n", dry ? "dry run" : "prune",
	    (unsigned long long)r.snapshots, (unsigned long long)r.blobs,
	    bytes_text(c, r.blob_bytes, b1, sizeof(b1)),
	    (unsigned long long)r.packs_removed,
	    (unsigned long long)r.packs_rewritten,
	    (unsigned long long)r.packs_busy,
	    (unsigned long long)r.packs_damaged,
	    fmt_size(c, r.bytes_before, b2, sizeof(b2)),
	    fmt_size(c, r.bytes_after, b3, sizeof(b3)));
	return 0;
}

static int
cmd_scrub(struct ctl *c)
{
	struct hk_hooks hk = { print_line, NULL, NULL };
	struct scrub_result r;
	unsigned long long rate;
	json_t *lines;
	char err[512], b1[32], b2[32], sum[256];
	uint64_t start = (uint64_t)time(NULL);
	int fd, rc;

	if ((rc = opt_number(c, "--rate", 1ULL << 40, &rate)) != 0)
		return rc;
	if ((fd = lock_housekeeping(c)) == -1)
		return EXIT_RUNTIME;
	lines = c->json ? json_array() : NULL;
	hk.arg = lines;
	hkstatus_begin(c->cfg->datadir, HK_SCRUB, (uint64_t)time(NULL),
	    HKSTATUS_KEEP);
	memset(&r, 0, sizeof(r));
	rc = scrub_run(c->cat, c->cfg->datadir, rate, &hk, &r, err,
	    sizeof(err));
	if (rc != -1 && r.damaged > 0)
		snprintf(err, sizeof(err), "%llu damaged blobs in %llu "
		    "snapshots", (unsigned long long)r.damaged,
		    (unsigned long long)r.snapshots);
	hkstatus_end(c->cfg->datadir, HK_SCRUB, (uint64_t)time(NULL),
	    HKSTATUS_KEEP, rc == -1 || r.damaged > 0 ? "error" : "ok",
	    rc == -1 || r.damaged > 0 ? err : "gigavaultctl scrub",
	    hkstatus_scrub_counters(&r));
	close(fd);
	snprintf(sum, sizeof(sum), "clean (%llu blobs, %llu packs, %llu "
	    "bytes read)", (unsigned long long)r.blobs,
	    (unsigned long long)r.packs, (unsigned long long)r.bytes);
	ctl_history_record(c, CAT_HIST_SCRUB, start, rc == -1 ||
	    r.damaged > 0 ? "failed" : "ok", rc == -1 || r.damaged > 0 ?
	    err : sum);
	if (rc == -1) {
		json_decref(lines);
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	if (c->json) {
		json_t *out = hkstatus_scrub_counters(&r);

		if (out == NULL || json_object_set_new(out, "report",
		    lines) == -1) {
			json_decref(out);
			fprintf(stderr, "gigavaultctl: out of memory\n");
			return EXIT_RUNTIME;
		}
		rc = print_json(out);
		return rc != 0 ? rc : r.damaged > 0 ? EXIT_RUNTIME : 0;
	}
	printf("scrub: %llu packs, %llu records, %s read; %llu "
	    "blobs checked, %llu damaged, %llu snapshots hurt; %s "
	    "of garbage\n", (unsigned long long)r.packs,
	    (unsigned long long)r.records,
	    bytes_text(c, r.bytes, b1, sizeof(b1)),
	    (unsigned long long)r.blobs, (unsigned long long)r.damaged,
	    (unsigned long long)r.snapshots,
	    bytes_text(c, r.garbage, b2, sizeof(b2)));
	return r.damaged > 0 ? EXIT_RUNTIME : 0;
}

/* ------------------------------------------------------------ commands */

#define KEEP_OPTS	"--keep-last= --keep-hourly= --keep-daily= " \
			"--keep-weekly= --keep-monthly= --keep-yearly="

/*
 * opts: the long options a command takes besides --json, separated by
 * spaces; a trailing '=' means it takes a value (--opt value or
 * --opt=value).
 */
static const struct command {
	const char	*word;
	const char	*sub;		/* NULL: a one-word command */
	int		 minargs, maxargs;
	int		 json;		/* takes --json */
	const char	*opts;
	int		(*fn)(struct ctl *);
} commands[] = {
	{ "status", NULL,	0, 0, 1, "", cmd_status },
	{ "client", "add",	1, 1, 0, "", cmd_client_add },
	{ "client", "token",	1, 1, 0, "", cmd_client_token },
	{ "client", "list",	0, 0, 1, "", cmd_client_list },
	{ "client", "disable",	1, 1, 0, "", cmd_client_disable },
	{ "client", "enable",	1, 1, 0, "", cmd_client_enable },
	{ "client", "remove",	1, 1, 0, "", cmd_client_remove },
	{ "client", "allow-forget", 1, 1, 0, "", cmd_client_allow_forget },
	{ "client", "deny-forget", 1, 1, 0, "", cmd_client_deny_forget },
	{ "clients", NULL,	0, 0, 1, "", cmd_clients },
	{ "client", "backup",	1, 1, 0, "--set=", cmd_client_backup },
	{ "client", "history",	1, 1, 1, "--limit=", cmd_client_history },
	{ "history", NULL,	0, 0, 1, "--client= --kind= --result= "
	    "--since= --limit=", cmd_history },
	{ "snapshots", NULL,	0, 1, 1, "", cmd_snapshots },
	{ "snapshot", "protect", 2, 2, 0, "", cmd_snapshot_protect },
	{ "snapshot", "unprotect", 2, 2, 0, "", cmd_snapshot_unprotect },
	{ "snapshot", "forget",	2, 2, 0, "", cmd_snapshot_forget },
	{ "usage", NULL,	0, 0, 1, "", cmd_usage },
	{ "stats", NULL,	0, 0, 1, "--days=", cmd_stats },
	{ "policy", "show",	0, 1, 1, "", cmd_policy_show },
	{ "policy", "set",	1, 1, 0, "--set= " KEEP_OPTS, cmd_policy_set },
	{ "policy", "clear",	1, 1, 0, "--set=", cmd_policy_clear },
	{ "prune", NULL,	0, 0, 1, "--dry-run", cmd_prune },
	{ "scrub", NULL,	0, 0, 1, "--rate=", cmd_scrub },
	{ "tls", "init",	0, 0, 0, "--name= --days= --renew --force",
	    cmd_tls_init },
	{ "tls", "show",	0, 0, 1, "", cmd_tls_show },
	{ "admin", "add",	1, 1, 0, "--role=", cmd_admin_add },
	{ "admin", "passwd",	1, 1, 0, "--role=", cmd_admin_passwd },
	{ "admin", "role",	1, 1, 0, "--role=", cmd_admin_role },
	{ "admin", "totp",	1, 1, 0, "--disable", cmd_admin_totp },
	{ "admin", "remove",	1, 1, 0, "", cmd_admin_remove },
	{ "admin", "list",	0, 0, 1, "", cmd_admin_list },
	{ "sync", NULL,		0, 0, 1, "--to-bucket= --client= --dry-run",
	    cmd_sync },
	{ "rebuild-catalog", NULL, 0, 0, 0, "--from-bucket",
	    cmd_rebuild_catalog },
	{ "upgrade", NULL,	0, 0, 0, "", cmd_upgrade },
};

/* Commands that print sizes, and so take --bytes. */
static int
prints_sizes(const struct command *cmd)
{
	return cmd->fn == cmd_status || cmd->fn == cmd_snapshots ||
	    cmd->fn == cmd_usage || cmd->fn == cmd_stats ||
	    cmd->fn == cmd_prune || cmd->fn == cmd_scrub ||
	    cmd->fn == cmd_history;
}

/* Commands that work on files alone, as the invoking user. */
static int
needs_catalog(const struct command *cmd)
{
	return cmd->fn != cmd_tls_init && cmd->fn != cmd_tls_show &&
	    cmd->fn != cmd_rebuild_catalog && cmd->fn != cmd_upgrade &&
	    strcmp(cmd->word, "admin") != 0;
}

/*
 * Commands that write the catalog, and so (Store.Backend = s3) the
 * bucket's journal: only on the server that holds the bucket's lease
 * (leasestate_check()).  sync only reads this server's catalog and
 * bucket.
 */
static int
writes_catalog(const struct command *cmd, const struct ctl *c)
{
	return cmd->fn == cmd_client_add || cmd->fn == cmd_client_token ||
	    cmd->fn == cmd_client_disable || cmd->fn == cmd_client_enable ||
	    cmd->fn == cmd_client_remove ||
	    cmd->fn == cmd_client_allow_forget ||
	    cmd->fn == cmd_client_deny_forget ||
	    cmd->fn == cmd_policy_set || cmd->fn == cmd_policy_clear ||
	    cmd->fn == cmd_snapshot_protect ||
	    cmd->fn == cmd_snapshot_unprotect ||
	    cmd->fn == cmd_snapshot_forget ||
	    cmd->fn == cmd_scrub ||
	    (cmd->fn == cmd_prune && opt_get(c, "--dry-run") == NULL);
}

/* Commands that write DataDir's files, as the daemon would. */
static int
needs_owner(const struct command *cmd)
{
	return needs_catalog(cmd) || strcmp(cmd->word, "admin") == 0 ||
	    cmd->fn == cmd_rebuild_catalog || cmd->fn == cmd_upgrade;
}

/*
 * Whether cmd takes option name (of namelen bytes): 0 no, 1 a flag, 2
 * with a value.
 */
static int
takes_opt(const struct command *cmd, const char *name, size_t namelen)
{
	const char *p = cmd->opts;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		size_t w = n > 0 && p[n - 1] == '=' ? n - 1 : n;

		if (w == namelen && strncmp(p, name, w) == 0)
			return w == n ? 1 : 2;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

static const struct command *
find_command(int *argc, char ***argv)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *cmd = &commands[i];

		if (strcmp((*argv)[0], cmd->word) != 0)
			continue;
		if (cmd->sub == NULL) {
			(*argc)--;
			(*argv)++;
			return cmd;
		}
		if (*argc >= 2 && strcmp((*argv)[1], cmd->sub) == 0) {
			*argc -= 2;
			*argv += 2;
			return cmd;
		}
	}
	return NULL;
}

/*
 * Create DataDir when it is missing (owned by Server.User when root).
 * Running as root with a DataDir owned by another user (the daemon's):
 * become that user, so that the catalog files stay the daemon's.
 * Returns 0 or an exit status.
 */
static int
become_owner(const struct gv_config *cfg)
{
	struct stat st;
	uid_t uid = 0;
	gid_t gid = 0;
	char err[512];

	if (stat(cfg->datadir, &st) == -1) {
		struct passwd *pw;

		if (errno != ENOENT) {
			fprintf(stderr, "gigavaultctl: Server.DataDir %s: %s\n",
			    cfg->datadir, strerror(errno));
			return EXIT_RUNTIME;
		}
		/* Not there yet: create it the way gigavaultd would. */
		uid = geteuid();
		gid = getegid();
		if (uid == 0 && cfg->user[0] != '\0') {
			if ((pw = getpwnam(cfg->user)) == NULL) {
				fprintf(stderr, "gigavaultctl: Server.User: no "
				    "such user \"%s\"\n", cfg->user);
				return EXIT_USAGE;
			}
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
		if (datadir_prepare(cfg->datadir, uid, gid, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "gigavaultctl: %s\n", err);
			return EXIT_RUNTIME;
		}
		if (stat(cfg->datadir, &st) == -1) {
			fprintf(stderr, "gigavaultctl: Server.DataDir %s: %s\n",
			    cfg->datadir, strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	if (geteuid() != 0 || st.st_uid == 0)
		return 0;
	if (setgroups(1, &st.st_gid) == -1 ||
	    setresgid(st.st_gid, st.st_gid, st.st_gid) == -1 ||
	    setresuid(st.st_uid, st.st_uid, st.st_uid) == -1) {
		fprintf(stderr, "gigavaultctl: cannot switch to uid %ld, the "
		    "owner of %s: %s\n", (long)st.st_uid, cfg->datadir,
		    strerror(errno));
		return EXIT_RUNTIME;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'f' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	const char *file = GV_CONFFILE;
	const struct command *cmd;
	struct gv_config *cfg;
	struct ctl c;
	char path[PATH_MAX], err[1024];
	int ch, rc, n, file_given = 0;

	while ((ch = getopt_long(argc, argv, "+f:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			file_given = 1;
			break;
		case 'h':
			usage_to(stdout);
			printf("Sizes are shown as KiB, MiB, ... unless "
			    "--bytes or --json is given.\nThe configuration "
			    "is %s unless -f names another.  See "
			    "gigavaultctl(8).\n", GV_CONFFILE);
			return 0;
		case 'V':
			printf("gigavaultctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (cmd = find_command(&argc, &argv)) == NULL)
		usage();

	/* "COMMAND --help" (or -h): its usage, and nothing run. */
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage_of(cmd->word, cmd->sub);
			return 0;
		}

	memset(&c, 0, sizeof(c));
	/* Operands, with --json and the command's options taken out. */
	n = 0;
	for (int i = 0; i < argc; i++) {
		const char *eq;
		size_t len;
		int kind;

		if (strcmp(argv[i], "--json") == 0 && cmd->json) {
			c.json = 1;
			continue;
		}
		if (strcmp(argv[i], "--bytes") == 0 && prints_sizes(cmd)) {
			c.bytes = 1;
			continue;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			argv[n++] = argv[i];
			continue;
		}
		eq = strchr(argv[i], '=');
		len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		if ((kind = takes_opt(cmd, argv[i], len)) == 0 ||
		    (kind == 1 && eq != NULL) || c.nopt == MAX_OPTS)
			usage();
		c.opt[c.nopt].name = argv[i];
		if (kind == 2) {
			if (eq != NULL)
				c.opt[c.nopt].value = eq + 1;
			else if (i + 1 < argc)
				c.opt[c.nopt].value = argv[++i];
			else
				usage();
			if (eq != NULL)
				argv[i][len] = '\0';	/* the name alone */
		}
		c.nopt++;
	}
	if (n < cmd->minargs || n > cmd->maxargs)
		usage();
	c.argv = argv;
	c.argc = n;

	if ((cfg = config_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		if (!file_given && access(file, F_OK) == -1 && errno == ENOENT)
			fprintf(stderr, "gigavaultctl: no -f was given and the "
			    "default configuration %s does not exist: name the "
			    "daemon's with -f FILE\n", file);
		return EXIT_USAGE;
	}
	c.cfg = cfg;
	if (needs_owner(cmd) && (rc = become_owner(cfg)) != 0) {
		config_free(cfg);
		return rc;
	}
	if (!needs_catalog(cmd)) {
		rc = cmd->fn(&c);
		config_free(cfg);
		return rc;
	}
	if (writes_catalog(cmd, &c) &&
	    leasestate_check(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultctl: %s%s%s: refused: %s\n",
		    cmd->word, cmd->sub != NULL ? " " : "",
		    cmd->sub != NULL ? cmd->sub : "", err);
		config_free(cfg);
		return EXIT_RUNTIME;
	}
	if (snprintf(path, sizeof(path), "%s/catalog", cfg->datadir) >=
	    (int)sizeof(path)) {
		fprintf(stderr, "gigavaultctl: Server.DataDir: path too long\n");
		config_free(cfg);
		return EXIT_USAGE;
	}
	if (catalog_open(path, 0, &c.cat, err, sizeof(err)) != CAT_OK) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		config_free(cfg);
		return EXIT_RUNTIME;
	}
	rc = cmd->fn(&c);
	catalog_close(c.cat);
	config_free(cfg);
	if (fflush(stdout) == EOF && rc == 0) {
		fprintf(stderr, "gigavaultctl: stdout: %s\n", strerror(errno));
		rc = EXIT_RUNTIME;
	}
	return rc;
}
