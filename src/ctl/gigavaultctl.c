/*
 * gigavaultctl.c - administration of a GigaVault server: clients and
 * their enrollment tokens, snapshots and usage, read and written in the
 * catalog directly (LMDB allows that beside the running daemon).
 *
 * Exit status: 0 success, 1 runtime error (no such client, name taken,
 * catalog error), 2 usage or configuration error.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "crypto.h"
#include "datadir.h"

#ifndef GV_CONFFILE
#define GV_CONFFILE	"/etc/gigavault/gigavault.conf"
#endif

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2
#define TOKEN_BYTES	16	/* printed as 32 hex digits */

struct ctl {
	const struct gv_config *cfg;
	struct catalog	*cat;
	int		 json;
	char		**argv;		/* the command's operands */
	int		 argc;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: gigavaultctl [-f file] client add name\n"
	    "       gigavaultctl [-f file] client list [--json]\n"
	    "       gigavaultctl [-f file] client disable | enable | remove "
	    "name\n"
	    "       gigavaultctl [-f file] snapshots [client] [--json]\n"
	    "       gigavaultctl [-f file] usage [--json]\n");
	exit(EXIT_USAGE);
}

static int
cat_failed(struct ctl *c)
{
	fprintf(stderr, "gigavaultctl: %s\n", catalog_strerror(c->cat));
	return EXIT_RUNTIME;
}

static int
no_client(const char *name)
{
	fprintf(stderr, "gigavaultctl: no client named \"%s\"\n", name);
	return EXIT_RUNTIME;
}

static void
fmt_time(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%llu", (unsigned long long)t);
}

/* Print j as one JSON document on stdout; takes the reference. */
static int
print_json(json_t *j)
{
	int rc = 0;

	if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER) == -1) {
		fprintf(stderr, "gigavaultctl: cannot write JSON\n");
		rc = EXIT_RUNTIME;
	} else
		putchar('\n');
	json_decref(j);
	return rc;
}

/* ------------------------------------------------------------- clients */

struct client_vec {
	struct cat_client *v;
	size_t		 n, cap;
	int		 oom;
};

static int
collect_client(void *arg, const struct cat_client *cl)
{
	struct client_vec *cv = arg;

	if (cv->n == cv->cap) {
		size_t cap = cv->cap ? cv->cap * 2 : 16;
		struct cat_client *p = reallocarray(cv->v, cap, sizeof(*p));

		if (p == NULL) {
			cv->oom = 1;
			return 1;
		}
		cv->v = p;
		cv->cap = cap;
	}
	cv->v[cv->n] = *cl;
	crypto_wipe(cv->v[cv->n].secret, sizeof(cv->v[cv->n].secret));
	cv->n++;
	return 0;
}

/* Every client (sorted by name) into cv.  0 or an exit status. */
static int
all_clients(struct ctl *c, struct client_vec *cv)
{
	memset(cv, 0, sizeof(*cv));
	if (catalog_clients(c->cat, collect_client, cv) != CAT_OK) {
		free(cv->v);
		return cat_failed(c);
	}
	if (cv->oom) {
		free(cv->v);
		fprintf(stderr, "gigavaultctl: out of memory\n");
		return EXIT_RUNTIME;
	}
	return 0;
}

static int
cmd_client_add(struct ctl *c)
{
	const char *name = c->argv[0];
	uint8_t raw[TOKEN_BYTES], hash[CRYPTO_HASH_LEN];
	char token[2 * TOKEN_BYTES + 1];
	int rc;

	if (!catalog_name_valid(name)) {
		fprintf(stderr, "gigavaultctl: invalid client name \"%s\": "
		    "use 1 to %d of A-Z a-z 0-9 . _ -\n", name, CAT_NAME_MAX);
		return EXIT_USAGE;
	}
	if (crypto_random(raw, sizeof(raw)) == -1) {
		fprintf(stderr, "gigavaultctl: no random numbers\n");
		return EXIT_RUNTIME;
	}
	hex_encode(raw, sizeof(raw), token);
	crypto_sha256(token, strlen(token), hash);
	rc = catalog_client_add(c->cat, name, hash, (uint64_t)time(NULL),
	    NULL);
	if (rc == CAT_EXISTS) {
		fprintf(stderr, "gigavaultctl: a client named \"%s\" exists "
		    "already\n", name);
		return EXIT_RUNTIME;
	}
	if (rc != CAT_OK)
		return cat_failed(c);
	printf("%s\n", token);
	crypto_wipe(token, sizeof(token));
	crypto_wipe(raw, sizeof(raw));
	return 0;
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
			    "{s:s, s:I, s:b, s:b, s:I}",
			    "name", cv.v[i].name,
			    "id", (json_int_t)cv.v[i].id,
			    "registered", cv.v[i].registered,
			    "disabled", cv.v[i].disabled,
			    "created", (json_int_t)cv.v[i].created));
		free(cv.v);
		return print_json(arr);
	}
	printf("%-24s %6s %-10s %-10s %s\n", "NAME", "ID", "STATE",
	    "ENROLLED", "CREATED");
	for (size_t i = 0; i < cv.n; i++) {
		fmt_time(cv.v[i].created, when, sizeof(when));
		printf("%-24s %6llu %-10s %-10s %s\n", cv.v[i].name,
		    (unsigned long long)cv.v[i].id,
		    cv.v[i].disabled ? "disabled" : "enabled",
		    cv.v[i].registered ? "yes" : "no", when);
	}
	free(cv.v);
	return 0;
}

static int
set_disabled(struct ctl *c, int disabled)
{
	int rc = catalog_client_set_disabled(c->cat, c->argv[0], disabled);

	if (rc == CAT_NOTFOUND)
		return no_client(c->argv[0]);
	return rc == CAT_OK ? 0 : cat_failed(c);
}

static int
cmd_client_disable(struct ctl *c)
{
	return set_disabled(c, 1);
}

static int
cmd_client_enable(struct ctl *c)
{
	return set_disabled(c, 0);
}

static int
cmd_client_remove(struct ctl *c)
{
	int rc = catalog_client_remove(c->cat, c->argv[0]);

	if (rc == CAT_NOTFOUND)
		return no_client(c->argv[0]);
	return rc == CAT_OK ? 0 : cat_failed(c);
}

/* ----------------------------------------------------------- snapshots */

struct snap_out {
	const char	*client;
	json_t		*arr;		/* NULL: print a table */
};

static int
print_snapshot(void *arg, const struct cat_snapshot *s)
{
	struct snap_out *o = arg;
	char root[2 * CAT_ID_LEN + 1], meta[2 * CAT_ID_LEN + 1], when[32];

	hex_encode(s->root, CAT_ID_LEN, root);
	hex_encode(s->meta, CAT_ID_LEN, meta);
	if (o->arr != NULL) {
		json_array_append_new(o->arr, json_pack(
		    "{s:s, s:I, s:s, s:I, s:s, s:s, s:I, s:I}",
		    "client", o->client, "id", (json_int_t)s->id,
		    "set", s->set, "time", (json_int_t)s->time,
		    "root", root, "meta", meta,
		    "blobs", (json_int_t)s->blobs,
		    "bytes", (json_int_t)s->bytes));
		return 0;
	}
	fmt_time(s->time, when, sizeof(when));
	printf("%-24s %6llu %-16s %-20s %10llu %14llu\n", o->client,
	    (unsigned long long)s->id, s->set, when,
	    (unsigned long long)s->blobs, (unsigned long long)s->bytes);
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
	if (c->argc == 1) {
		size_t i;

		for (i = 0; i < cv.n; i++)
			if (strcmp(cv.v[i].name, c->argv[0]) == 0)
				break;
		if (i == cv.n) {
			free(cv.v);
			return no_client(c->argv[0]);
		}
		cv.v[0] = cv.v[i];
		cv.n = 1;
	}
	o.arr = c->json ? json_array() : NULL;
	if (!c->json)
		printf("%-24s %6s %-16s %-20s %10s %14s\n", "CLIENT", "ID",
		    "SET", "TIME", "BLOBS", "BYTES");
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
		    "STORED", "UNIQUE", "BLOBS", "DEDUP");
	for (size_t i = 0; i < cv.n; i++) {
		double ratio;

		if (catalog_usage(c->cat, cv.v[i].id, &u) != CAT_OK) {
			json_decref(arr);
			free(cv.v);
			return cat_failed(c);
		}
		ratio = u.unique_bytes ?
		    (double)u.stored_bytes / (double)u.unique_bytes : 0;
		if (arr != NULL) {
			json_array_append_new(arr, json_pack(
			    "{s:s, s:I, s:I, s:I, s:I, s:o}",
			    "client", cv.v[i].name,
			    "snapshots", (json_int_t)u.snapshots,
			    "stored_bytes", (json_int_t)u.stored_bytes,
			    "unique_bytes", (json_int_t)u.unique_bytes,
			    "blobs", (json_int_t)u.blobs,
			    "dedup_ratio", u.unique_bytes ? json_real(ratio) :
			    json_null()));
			continue;
		}
		printf("%-24s %9llu %14llu %14llu %10llu ", cv.v[i].name,
		    (unsigned long long)u.snapshots,
		    (unsigned long long)u.stored_bytes,
		    (unsigned long long)u.unique_bytes,
		    (unsigned long long)u.blobs);
		if (u.unique_bytes)
			printf("%6.2fx\n", ratio);
		else
			printf("%7s\n", "-");
	}
	free(cv.v);
	return arr != NULL ? print_json(arr) : 0;
}

/* ------------------------------------------------------------ commands */

static const struct command {
	const char	*word;
	const char	*sub;		/* NULL: a one-word command */
	int		 minargs, maxargs;
	int		 json;		/* takes --json */
	int		(*fn)(struct ctl *);
} commands[] = {
	{ "client", "add",	1, 1, 0, cmd_client_add },
	{ "client", "list",	0, 0, 1, cmd_client_list },
	{ "client", "disable",	1, 1, 0, cmd_client_disable },
	{ "client", "enable",	1, 1, 0, cmd_client_enable },
	{ "client", "remove",	1, 1, 0, cmd_client_remove },
	{ "snapshots", NULL,	0, 1, 1, cmd_snapshots },
	{ "usage", NULL,	0, 0, 1, cmd_usage },
};

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
	const char *file = GV_CONFFILE;
	const struct command *cmd;
	struct gv_config *cfg;
	struct ctl c;
	char path[PATH_MAX], err[1024];
	int ch, rc, n;

	while ((ch = getopt(argc, argv, "+f:")) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (cmd = find_command(&argc, &argv)) == NULL)
		usage();

	memset(&c, 0, sizeof(c));
	/* Operands, with --json taken out where the command allows it. */
	n = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && cmd->json)
			c.json = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			usage();
		else
			argv[n++] = argv[i];
	}
	if (n < cmd->minargs || n > cmd->maxargs)
		usage();
	c.argv = argv;
	c.argc = n;

	if ((cfg = config_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_USAGE;
	}
	c.cfg = cfg;
	if ((rc = become_owner(cfg)) != 0) {
		config_free(cfg);
		return rc;
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
