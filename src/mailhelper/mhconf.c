/*
 * mhconf.c - mailhelper.conf: schema, defaults and checks.  See mhconf.h.
 * The validate callbacks check each value as it is parsed so that their
 * errors carry its line (confread.c, as for client.conf).
 */
#include "autoconf.h"

#include <sys/socket.h>


#include <confuse.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/confread.h"
#include "common/crypto.h"
#include "common/human.h"
#include "common/mailwire.h"
#include "common/paths.h"
#include "imap.h"
#include "mhconf.h"

static int
validate_range(cfg_t *sec, cfg_opt_t *opt)
{
	static const struct { const char *name; long min, max; } ranges[] = {
		{ "MAPI32Bit",		1, 65535 },
		{ "Port",		1, 65535 },
		{ "MaxConnections",	1, MHCONF_CONN_MAX },
		{ "IdleTimeout",	1, MHCONF_TIMEOUT_MAX },
		{ "Timeout",		1, MHCONF_TIMEOUT_MAX },
	};
	long v = cfg_opt_getnint(opt, 0);

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (strcmp(opt->name, ranges[i].name) == 0 &&
		    (v < ranges[i].min || v > ranges[i].max)) {
			confread_error("%s:%d: %s = %ld is out of range "
			    "%ld..%ld", confread_file(), sec->line, opt->name,
			    v, ranges[i].min, ranges[i].max);
			return -1;
		}
	return 0;
}

static int
validate_security(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || (strcmp(v, "none") != 0 &&
	    strcmp(v, "starttls") != 0 && strcmp(v, "imaps") != 0)) {
		confread_error("%s:%d: Security \"%s\" is none, starttls or "
		    "imaps", confread_file(), sec->line, v ? v : "");
		return -1;
	}
	return 0;
}

static int
validate_size(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	uint64_t n;

	if (v == NULL || human_parse_bytes(v, &n) == -1 || n < 1024 ||
	    n > MW_MESSAGE_MAX) {
		confread_error("%s:%d: MaxMessageSize \"%s\" is not a size "
		    "from 1K to 256M", confread_file(), sec->line, v ? v : "");
		return -1;
	}
	return 0;
}

/* Users: names the protocol can carry, without spaces or controls. */
static int
validate_users(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v;

	if (cfg_opt_size(opt) > MHCONF_USERS_MAX) {
		confread_error("%s:%d: Users names more than %d users",
		    confread_file(), sec->line, MHCONF_USERS_MAX);
		return -1;
	}
	for (unsigned int i = 0; i < cfg_opt_size(opt); i++) {
		v = cfg_opt_getnstr(opt, i);
		if (v == NULL || v[0] == '\0' || strlen(v) > MW_USER_MAX ||
		    strpbrk(v, " \t\r\n") != NULL) {
			confread_error("%s:%d: Users \"%s\" is not a user name "
			    "(1 to %d bytes, no spaces)", confread_file(),
			    sec->line, v ? v : "", MW_USER_MAX);
			return -1;
		}
	}
	return 0;
}

static int
validate_nonempty(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || v[0] == '\0' || strlen(v) > 255) {
		confread_error("%s:%d: %s must be 1 to 255 bytes",
		    confread_file(), sec->line, opt->name);
		return -1;
	}
	return 0;
}

static int
copy_list(cfg_t *sec, const char *name, char ***out, size_t *n)
{
	size_t k = cfg_size(sec, name);

	*n = 0;
	if (k == 0)
		return 0;
	if ((*out = calloc(k, sizeof(**out))) == NULL)
		return -1;
	for (size_t i = 0; i < k; i++) {
		if (((*out)[i] = strdup(cfg_getnstr(sec, name,
		    (unsigned int)i))) == NULL)
			return -1;
		(*n)++;
	}
	return 0;
}

static void
free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
mhconf_free(struct mhconf *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free_list(c->listen, c->nlisten);
	free(c->secret_file);
	free(c->user);
	free(c->imap_host);
	free(c->cafile);
	free(c->master_user);
	free(c->master_pwfile);
	free(c->separator);
	free_list(c->users, c->nusers);
	free(c->user_cmd);
	free(c);
}

struct mhconf *
mhconf_load(const char *file, int syntax_only, char *err, size_t errlen)
{
	cfg_opt_t ports_opts[] = {
		CFG_INT("MAPI32Bit", 32008, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t helper_opts[] = {
		CFG_STR_LIST("Listen", "{\"127.0.0.1\", \"::1\"}", CFGF_NONE),
		CFG_STR("SecretFile", GV_MAILSECRET, CFGF_NONE),
		CFG_STR("User", "", CFGF_NONE),
		CFG_INT("MaxConnections", 8, CFGF_NONE),
		CFG_INT("IdleTimeout", 300, CFGF_NONE),
		CFG_STR("MaxMessageSize", "256M", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t imap_opts[] = {
		CFG_STR("Host", "127.0.0.1", CFGF_NONE),
		CFG_INT("Port", 143, CFGF_NONE),
		CFG_STR("Security", "none", CFGF_NONE),
		CFG_STR("CAFile", "", CFGF_NONE),
		CFG_STR("MasterUser", "", CFGF_NONE),
		CFG_STR("MasterPasswordFile", "", CFGF_NONE),
		CFG_STR("MasterSeparator", "*", CFGF_NONE),
		CFG_STR_LIST("Users", NULL, CFGF_NONE),
		CFG_STR("UserListCommand", "", CFGF_NONE),
		CFG_INT("Timeout", 60, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t opts[] = {
		CFG_SEC("Ports", ports_opts, CFGF_NONE),
		CFG_SEC("Helper", helper_opts, CFGF_NONE),
		CFG_SEC("IMAP", imap_opts, CFGF_NONE),
		CFG_END()
	};
	static const struct { const char *name; cfg_validate_callback_t fn; }
	    checks[] = {
		{ "Ports|MAPI32Bit", validate_range },
		{ "Helper|Listen", confread_addresses },
		{ "Helper|SecretFile", validate_nonempty },
		{ "Helper|MaxConnections", validate_range },
		{ "Helper|IdleTimeout", validate_range },
		{ "Helper|MaxMessageSize", validate_size },
		{ "IMAP|Host", validate_nonempty },
		{ "IMAP|Port", validate_range },
		{ "IMAP|Security", validate_security },
		{ "IMAP|MasterSeparator", validate_nonempty },
		{ "IMAP|Users", validate_users },
		{ "IMAP|Timeout", validate_range },
	};
	struct mhconf *c;
	const char *sec;
	uint64_t n = 0;
	cfg_t *cfg;

	err[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->file = strdup(file != NULL ? file : GV_MAILHELPERCONF)) ==
	    NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	confread_begin(c->file, err, errlen);
	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL) {
		snprintf(err, errlen, "out of memory");
		mhconf_free(c);
		return NULL;
	}
	cfg_set_error_function(cfg, confread_errfunc);
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		cfg_set_validate_func(cfg, checks[i].name, checks[i].fn);
	if (confread_parse(cfg, c->file, 0) == -1)
		goto fail;

	c->port = (int)cfg_getint(cfg, "Ports|MAPI32Bit");
	c->max_conn = (int)cfg_getint(cfg, "Helper|MaxConnections");
	c->idle_timeout = (int)cfg_getint(cfg, "Helper|IdleTimeout");
	(void)human_parse_bytes(cfg_getstr(cfg, "Helper|MaxMessageSize"), &n);
	c->max_message = (uint32_t)n;
	c->imap_port = (int)cfg_getint(cfg, "IMAP|Port");
	c->imap_timeout = (int)cfg_getint(cfg, "IMAP|Timeout");
	sec = cfg_getstr(cfg, "IMAP|Security");
	c->security = strcmp(sec, "imaps") == 0 ? IMAP_IMAPS :
	    strcmp(sec, "starttls") == 0 ? IMAP_STARTTLS : IMAP_PLAIN;
	if ((c->secret_file = strdup(cfg_getstr(cfg, "Helper|SecretFile"))) ==
	    NULL ||
	    (c->user = strdup(cfg_getstr(cfg, "Helper|User"))) == NULL ||
	    (c->imap_host = strdup(cfg_getstr(cfg, "IMAP|Host"))) == NULL ||
	    (c->cafile = strdup(cfg_getstr(cfg, "IMAP|CAFile"))) == NULL ||
	    (c->master_user = strdup(cfg_getstr(cfg, "IMAP|MasterUser"))) ==
	    NULL ||
	    (c->master_pwfile = strdup(cfg_getstr(cfg,
	    "IMAP|MasterPasswordFile"))) == NULL ||
	    (c->separator = strdup(cfg_getstr(cfg,
	    "IMAP|MasterSeparator"))) == NULL ||
	    (c->user_cmd = strdup(cfg_getstr(cfg, "IMAP|UserListCommand"))) ==
	    NULL ||
	    copy_list(cfg_getsec(cfg, "Helper"), "Listen", &c->listen,
	    &c->nlisten) == -1 ||
	    copy_list(cfg_getsec(cfg, "IMAP"), "Users", &c->users,
	    &c->nusers) == -1) {
		confread_error("out of memory");
		goto fail;
	}
	if (syntax_only) {
		cfg_free(cfg);
		return c;
	}
	if (c->master_user[0] == '\0' || c->master_pwfile[0] == '\0') {
		confread_error("%s: IMAP needs MasterUser and "
		    "MasterPasswordFile (a master user of the IMAP server: "
		    "Dovecot's passdb with master = yes)", c->file);
		goto fail;
	}
	if ((c->nusers > 0) == (c->user_cmd[0] != '\0')) {
		confread_error("%s: IMAP needs either Users or "
		    "UserListCommand (IMAP cannot list users), not %s",
		    c->file, c->nusers > 0 ? "both" : "neither");
		goto fail;
	}
	if (c->security != IMAP_PLAIN && c->cafile[0] == '\0') {
		confread_error("%s: IMAP.Security %s needs IMAP.CAFile (the "
		    "CA that signed the server's certificate)", c->file, sec);
		goto fail;
	}
	if (c->nlisten == 0) {
		confread_error("%s: Helper.Listen names no address", c->file);
		goto fail;
	}
	cfg_free(cfg);
	return c;

fail:
	cfg_free(cfg);
	mhconf_free(c);
	return NULL;
}

int
mhconf_master_password(const struct mhconf *c, char *pw, size_t pwlen,
    char *err, size_t errlen)
{
	size_t n = 0;
	ssize_t r;
	int fd;

	if ((fd = open(c->master_pwfile, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "IMAP.MasterPasswordFile %s: %s",
		    c->master_pwfile, strerror(errno));
		return -1;
	}
	while (n + 1 < pwlen && (r = read(fd, pw + n, pwlen - 1 - n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "IMAP.MasterPasswordFile %s: %s",
			    c->master_pwfile, strerror(errno));
			close(fd);
			crypto_wipe(pw, pwlen);
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	pw[n] = '\0';
	pw[strcspn(pw, "\r\n")] = '\0';
	if (pw[0] == '\0' || n + 1 >= pwlen) {
		snprintf(err, errlen, "IMAP.MasterPasswordFile %s: %s",
		    c->master_pwfile, pw[0] == '\0' ? "empty" :
		    "longer than its first line may be");
		crypto_wipe(pw, pwlen);
		return -1;
	}
	return 0;
}
