/*
 * admincmd.c - gigavaultctl admin add|passwd|role|remove|list: the web
 * console's administrators and their roles (admins.h), in DataDir/admins.
 */
#include "autoconf.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/crypto.h"
#include "server/admins.h"
#include "server/apitokens.h"
#include "server/config.h"
#include "ctl.h"

static int
datadir_path(const struct ctl *c, const char *file, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/%s", c->cfg->datadir,
	    file) >= len) {
		fprintf(stderr, "gigavaultctl: Server.DataDir: path too long\n");
		return -1;
	}
	return 0;
}

static int
admins_path(const struct ctl *c, char *path, size_t len)
{
	return datadir_path(c, ADMIN_FILE, path, len);
}

/*
 * Revoke every API token of name (DataDir/apitokens): a user removed,
 * a name added anew (tokens of a former user of that name), a password
 * set by an administrator.  0, or EXIT_RUNTIME after saying why.
 */
static int
revoke_tokens(const struct ctl *c, const char *name)
{
	char path[PATH_MAX], err[512];

	if (datadir_path(c, APITOK_FILE, path, sizeof(path)) == -1)
		return EXIT_USAGE;
	if (apitok_revoke_user(path, name, err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultctl: the API tokens of \"%s\": %s\n",
		    name, err);
		return EXIT_RUNTIME;
	}
	return 0;
}

/*
 * Read one line into buf (the newline dropped).  On a terminal, prompt
 * on stderr with echo off.  0, or -1 at end of input or when too long.
 */
static int
read_secret(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), rc = 0;
	size_t n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else
			tty = 0;
	}
	if (fgets(buf, (int)len, stdin) == NULL)
		rc = -1;
	else if ((n = strlen(buf)) > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	else if (n + 1 == len)
		rc = -1;	/* longer than the buffer */
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

/* The new password: asked twice on a terminal, else one line of stdin. */
static int
new_password(char *pw, size_t len)
{
	char again[ADMIN_PASS_MAX + 2];
	int rc = 0;

	if (read_secret("New password: ", pw, len) == -1) {
		fprintf(stderr, "gigavaultctl: no password given (one line on "
		    "standard input, at most %d characters)\n", ADMIN_PASS_MAX);
		return EXIT_USAGE;
	}
	if (isatty(STDIN_FILENO)) {
		if (read_secret("Again: ", again, sizeof(again)) == -1 ||
		    strcmp(pw, again) != 0) {
			fprintf(stderr, "gigavaultctl: the passwords differ\n");
			rc = EXIT_USAGE;
		}
		crypto_wipe(again, sizeof(again));
	}
	return rc;
}

static int
set_password(struct ctl *c, int create)
{
	char path[PATH_MAX], pw[ADMIN_PASS_MAX + 2], err[512];
	const char *v;
	int rc, role = -1;

	if (admins_path(c, path, sizeof(path)) == -1)
		return EXIT_USAGE;
	if (!admin_name_valid(c->argv[0])) {
		fprintf(stderr, "gigavaultctl: invalid administrator name "
		    "\"%s\": use 1 to %d of A-Z a-z 0-9 . _ -, not starting "
		    "with . or -\n", c->argv[0], ADMIN_NAME_MAX);
		return EXIT_USAGE;
	}
	if ((v = opt_get(c, "--role")) != NULL &&
	    (role = admin_role_parse(v)) == -1) {
		fprintf(stderr, "gigavaultctl: --role=%s: use admin or "
		    "operator\n", v);
		return EXIT_USAGE;
	}
	if ((rc = new_password(pw, sizeof(pw))) != 0)
		return rc;
	rc = admin_put(path, c->argv[0], pw, create, role, err, sizeof(err));
	crypto_wipe(pw, sizeof(pw));
	if (rc == -1) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	/*
	 * A new name must not inherit a former user's tokens, and a
	 * password set here (a reset) ends the tokens it may have leaked
	 * through: both revoke the name's API tokens.
	 */
	if ((rc = revoke_tokens(c, c->argv[0])) != 0)
		return rc;
	fprintf(stderr, "gigavaultctl: %s administrator \"%s\"%s%s\n",
	    create ? "added" : "new password for", c->argv[0],
	    role == ADMIN_ROLE_OPERATOR ? ", a read-only operator" : "",
	    role == ADMIN_ROLE_ADMIN && !create ? ", an administrator" : "");
	return 0;
}

/* admin totp NAME --disable: for an administrator locked out. */
int
cmd_admin_totp(struct ctl *c)
{
	char path[PATH_MAX], err[512];

	if (admins_path(c, path, sizeof(path)) == -1)
		return EXIT_USAGE;
	if (opt_get(c, "--disable") == NULL) {
		fprintf(stderr, "gigavaultctl: admin totp needs --disable (a "
		    "user turns TOTP on in the console, My account)\n");
		return EXIT_USAGE;
	}
	if (admin_totp_set(path, c->argv[0], NULL, 0, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "gigavaultctl: TOTP turned off for \"%s\"\n",
	    c->argv[0]);
	return 0;
}

/* admin role NAME --role=ROLE: change the role, keep the password. */
int
cmd_admin_role(struct ctl *c)
{
	char path[PATH_MAX], err[512];
	const char *v = opt_get(c, "--role");
	int role;

	if (admins_path(c, path, sizeof(path)) == -1)
		return EXIT_USAGE;
	if (v == NULL || (role = admin_role_parse(v)) == -1) {
		fprintf(stderr, "gigavaultctl: admin role needs --role=admin "
		    "or --role=operator\n");
		return EXIT_USAGE;
	}
	if (admin_put(path, c->argv[0], NULL, 0, role, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	return 0;
}

int
cmd_admin_add(struct ctl *c)
{
	return set_password(c, 1);
}

int
cmd_admin_passwd(struct ctl *c)
{
	return set_password(c, 0);
}

int
cmd_admin_remove(struct ctl *c)
{
	char path[PATH_MAX], err[512];

	if (admins_path(c, path, sizeof(path)) == -1)
		return EXIT_USAGE;
	if (admin_remove(path, c->argv[0], err, sizeof(err)) == -1) {
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	/* Its API tokens go with it (so does the console's remove). */
	return revoke_tokens(c, c->argv[0]);
}

static void
list_one(void *arg, const struct admin_info *ai)
{
	json_t *list = arg;
	char when[32];

	if (list != NULL) {
		json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:b}",
		    "name", ai->name, "changed", (json_int_t)ai->changed,
		    "role", admin_role_name(ai->role), "totp", ai->totp));
		return;
	}
	fmt_utc(ai->changed, when, sizeof(when));
	printf("%-24s %-9s password set %s%s\n", ai->name,
	    admin_role_name(ai->role), when, ai->totp ? ", TOTP" : "");
}

int
cmd_admin_list(struct ctl *c)
{
	char path[PATH_MAX], err[512];
	json_t *list = c->json ? json_array() : NULL;

	if (admins_path(c, path, sizeof(path)) == -1)
		return EXIT_USAGE;
	if (admin_list(path, list_one, list, err, sizeof(err)) == -1) {
		json_decref(list);
		fprintf(stderr, "gigavaultctl: %s\n", err);
		return EXIT_RUNTIME;
	}
	return list != NULL ? print_json(list) : 0;
}
