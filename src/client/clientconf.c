/*
 * clientconf.c - the client.conf schema, defaults and validation.
 * See clientconf.h.
 *
 * libconfuse reports syntax errors, unknown options and wrong types with
 * file and line; our validate callbacks check each value as it is parsed
 * so that their errors carry its line too.  confread.c reads the file
 * (and works around libconfuse 3.3's line counting), as for
 * gigavault.conf.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>


#include <confuse.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/confread.h"
#include "common/discowire.h"
#include "common/human.h"
#include "common/paths.h"
#include "clientconf.h"
#include "pattern.h"
#include "schedule.h"

#define CONF_NAME	"client.conf"

int
clientconf_valid_set(const char *s)
{
	/* The same 1..64 of A-Za-z0-9._-, and not all dots (a path). */
	return dw_name_valid(s) && strspn(s, ".") != strlen(s);
}

int
clientconf_parse_server(const char *s, char *host, size_t hostlen, int *port)
{
	const char *h = s, *p = NULL, *colon;
	size_t hl;

	*port = 0;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			p = close + 2;
		else if (close[1] != '\0')
			return -1;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hl = (size_t)(colon - s);
		p = colon + 1;
	} else
		hl = strlen(s);		/* a name, or a bare IPv6 address */
	if (hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (p != NULL) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (*p < '0' || *p > '9' || *end != '\0' || errno != 0 ||
		    v < 1 || v > 65535)
			return -1;
		*port = (int)v;
	}
	return 0;
}

static int
validate_server(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	char host[256];
	int port;

	if (v == NULL || v[0] == '\0')
		return 0;
	if (clientconf_parse_server(v, host, sizeof(host), &port) == -1) {
		confread_error("%s:%d: Server \"%s\" is not host[:port] (port "
		    "1..65535, IPv6 addresses in brackets)", confread_file(),
		    sec->line, v);
		return -1;
	}
	return 0;
}

static int
validate_path(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || v[0] == '\0') {
		confread_error("%s:%d: %s must not be empty", confread_file(), sec->line,
		    opt->name);
		return -1;
	}
	return 0;
}

static int
validate_range(cfg_t *sec, cfg_opt_t *opt)
{
	static const struct { const char *name; long min, max; } ranges[] = {
		{ "Compression",	0, CLIENTCONF_ZMAX },
		{ "Threads",		0, CLIENTCONF_THREADS_MAX },
		{ "BackupServer",	1, 65535 },
		{ "SSLServer",		1, 65535 },
		{ "UI",			1, 65535 },
		{ "MAPI32Bit",		1, 65535 },
		{ "Enabled",		0, 1 },
		{ "StrictRollback",	0, 1 },
		{ "ExcludeCaches",	0, 1 },
		{ "OneFileSystem",	0, 1 },
		{ "RandomizedDelay",	0, CLIENTCONF_DELAY_MAX },
		{ "Retries",		0, CLIENTCONF_RETRIES_MAX },
		{ "RetryDelay",		1, CLIENTCONF_DELAY_MAX },
		{ "CommandTimeout",	1, CLIENTCONF_TIMEOUT_MAX },
		{ "Persistent",		0, 1 },
		{ "PollInterval",	1, CLIENTCONF_POLL_MAX },
		{ "Discovery",		0, 1 },
		{ "AnswerProbes",	0, 1 },
		{ "AllowBrowse",	0, 1 },
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
validate_set(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || !clientconf_valid_set(v)) {
		confread_error("%s:%d: Set \"%s\" is not 1 to 64 characters of "
		    "A-Z a-z 0-9 . _ -", confread_file(), sec->line, v ? v : "");
		return -1;
	}
	return 0;
}

int
clientconf_parse_rate(const char *s, uint64_t *v)
{
	/* One grammar with --limit-upload and --limit-download. */
	return human_parse_bytes(s, v);
}

/* LimitUpload, LimitDownload: a rate. */
static int
validate_rate(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	uint64_t r;

	if (v == NULL || clientconf_parse_rate(v, &r) == -1) {
		confread_error("%s:%d: %s \"%s\" is not bytes per second "
		    "(a number, K, M, G or T after it; 0 for no limit)",
		    confread_file(), sec->line, opt->name, v ? v : "");
		return -1;
	}
	return 0;
}

/* Schedule: "" or what schedule_parse() takes. */
static int
validate_schedule(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	struct schedule *s;
	char serr[512];

	if (v == NULL || v[0] == '\0')
		return 0;
	if (strlen(v) > SCHEDULE_SPEC_MAX) {
		confread_error("%s:%d: Schedule is longer than %d bytes",
		    confread_file(), sec->line, SCHEDULE_SPEC_MAX);
		return -1;
	}
	if ((s = schedule_parse(v, serr, sizeof(serr))) == NULL) {
		confread_error("%s:%d: Schedule %s", confread_file(),
		    sec->line, serr);
		return -1;
	}
	schedule_free(s);
	return 0;
}

/* PreCommand, PostCommand: bounded, one line. */
static int
validate_command(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v != NULL && (strlen(v) > CLIENTCONF_COMMAND_MAX ||
	    strchr(v, '\n') != NULL)) {
		confread_error("%s:%d: %s is longer than %d bytes or has a "
		    "newline", confread_file(), sec->line, opt->name,
		    CLIENTCONF_COMMAND_MAX);
		return -1;
	}
	return 0;
}

static int
validate_pre_failure(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || (strcmp(v, "abort") != 0 &&
	    strcmp(v, "continue") != 0)) {
		confread_error("%s:%d: PreCommandFailure \"%s\" is neither "
		    "abort nor continue", confread_file(), sec->line,
		    v ? v : "");
		return -1;
	}
	return 0;
}

/* BackupSet Type: files or mail. */
static int
validate_set_type(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || (strcmp(v, "files") != 0 &&
	    strcmp(v, "mail") != 0)) {
		confread_error("%s:%d: Type \"%s\" is neither files nor "
		    "mail", confread_file(), sec->line, v ? v : "");
		return -1;
	}
	return 0;
}

/* Agent.AllowRestore: none, target or all. */
static int
validate_allow_restore(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || (strcmp(v, "none") != 0 &&
	    strcmp(v, "target") != 0 && strcmp(v, "all") != 0)) {
		confread_error("%s:%d: AllowRestore \"%s\" is not none, "
		    "target or all", confread_file(), sec->line, v ? v : "");
		return -1;
	}
	return 0;
}

/* Agent.Name: "" or a name discovery can carry. */
static int
validate_name(cfg_t *sec, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v != NULL && v[0] != '\0' && !dw_name_valid(v)) {
		confread_error("%s:%d: Name \"%s\" is not 1 to 64 characters "
		    "of A-Z a-z 0-9 . _ -", confread_file(), sec->line, v);
		return -1;
	}
	return 0;
}

/* 1 when the numeric address a is a loopback one. */
static int
is_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

static char	*user_path(const char *, const char *, const char *,
		    const char *);

/* The agent's default StateDir, malloc'ed; NULL when no home is known. */
static char *
default_state_dir(void)
{
	return user_path(GV_AGENTDIR, "XDG_STATE_HOME", ".local/state",
	    "gigavault-agent");
}

static char	*in_dir(const char *, const char *);

/* BackupSet NAME: the title of the section just read. */
static int
validate_set_title(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec;
	const char *v;

	if (cfg_opt_size(opt) == 0)
		return 0;
	sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	v = sec != NULL ? cfg_title(sec) : NULL;
	if (v == NULL || !clientconf_valid_set(v)) {
		confread_error("%s:%d: BackupSet \"%s\": a set name is 1 to 64 "
		    "characters of A-Z a-z 0-9 . _ -", confread_file(),
		    sec != NULL ? sec->line : cfg->line, v ? v : "");
		return -1;
	}
	return 0;
}

/* The lists of a BackupSet: Paths, Exclude, ExcludeFile, ExcludeIfPresent. */
static int
validate_list(cfg_t *sec, cfg_opt_t *opt)
{
	struct patterns *ps;
	const char *v;
	char perr[300];
	unsigned int i;
	int bad;

	for (i = 0; i < cfg_opt_size(opt); i++) {
		v = cfg_opt_getnstr(opt, i);
		if (v == NULL || v[0] == '\0') {
			confread_error("%s:%d: %s: an empty entry",
			    confread_file(), sec->line, opt->name);
			return -1;
		}
		if (strcmp(opt->name, "Paths") == 0 && v[0] != '/') {
			confread_error("%s:%d: Paths \"%s\" is not an absolute "
			    "path", confread_file(), sec->line, v);
			return -1;
		}
		if (strcmp(opt->name, "ExcludeIfPresent") == 0 &&
		    (strchr(v, '/') != NULL || strcmp(v, ".") == 0 ||
		    strcmp(v, "..") == 0 || strlen(v) > 255)) {
			confread_error("%s:%d: ExcludeIfPresent \"%s\" is not "
			    "a file name", confread_file(), sec->line, v);
			return -1;
		}
		if (strcmp(opt->name, "Exclude") == 0) {
			if ((ps = patterns_new()) == NULL) {
				confread_error("out of memory");
				return -1;
			}
			bad = patterns_add(ps, v, perr, sizeof(perr)) == -1;
			patterns_free(ps);
			if (bad) {
				confread_error("%s:%d: Exclude \"%s\": %s",
				    confread_file(), sec->line, v, perr);
				return -1;
			}
		}
	}
	return 0;
}

/* A copy of the list name of sec (relative paths under dir if dir). */
static int
copy_list(cfg_t *sec, const char *name, const char *dir, char ***out,
    size_t *n)
{
	size_t i, k = cfg_size(sec, name);

	*n = 0;
	if (k == 0)
		return 0;
	if ((*out = calloc(k, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < k; i++) {
		(*out)[i] = dir != NULL ? in_dir(dir, cfg_getnstr(sec, name,
		    (unsigned int)i)) : strdup(cfg_getnstr(sec, name,
		    (unsigned int)i));
		if ((*out)[i] == NULL)
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

const struct clientconf_set *
clientconf_set(const struct clientconf *c, const char *name)
{
	for (size_t i = 0; c != NULL && name != NULL && i < c->nsets; i++)
		if (strcmp(c->sets[i].name, name) == 0)
			return &c->sets[i];
	return NULL;
}

/*
 * A per-user path, malloc'ed: root_path for root, else $XDG_VAR/name
 * (an absolute XDG_VAR), else $HOME/home_dir/name (HOME from the
 * password file when unset).  NULL when no home is known or memory runs
 * out.  client.conf and the agent's StateDir.
 */
static char *
user_path(const char *root_path, const char *xdg_var, const char *home_dir,
    const char *name)
{
	const char *xdg = getenv(xdg_var), *home;
	struct passwd *pw;
	char *p;

	if (geteuid() == 0)
		return strdup(root_path);
	if (xdg != NULL && xdg[0] == '/') {
		if (asprintf(&p, "%s/%s", xdg, name) == -1)
			return NULL;
		return p;
	}
	if ((home = getenv("HOME")) == NULL || home[0] != '/') {
		if ((pw = getpwuid(geteuid())) == NULL)
			return NULL;
		home = pw->pw_dir;
	}
	if (asprintf(&p, "%s/%s/%s", home, home_dir, name) == -1)
		return NULL;
	return p;
}

/* The default file's path, malloc'ed; NULL when no home is known. */
static char *
default_file(void)
{
	return user_path(GV_CLIENTCONF, "XDG_CONFIG_HOME", ".config",
	    "gigavault/" CONF_NAME);
}

/* dir/name when name is relative, else name; malloc'ed. */
static char *
in_dir(const char *dir, const char *name)
{
	char *p;

	if (name[0] == '/')
		return strdup(name);
	if (asprintf(&p, "%s/%s", dir, name) == -1)
		return NULL;
	return p;
}

void
clientconf_free(struct clientconf *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free(c->dir);
	free(c->server);
	free(c->keyfile);
	free(c->statefile);
	free(c->set);
	free(c->cafile);
	free(c->ssl_cert);
	free(c->ssl_key);
	for (size_t i = 0; i < c->nsets; i++) {
		struct clientconf_set *s = &c->sets[i];

		free(s->name);
		free_list(s->paths, s->npaths);
		free_list(s->exclude, s->nexclude);
		free_list(s->exclude_file, s->nexclude_file);
		free_list(s->if_present, s->nif_present);
		free(s->schedule);
		free(s->pre_command);
		free(s->post_command);
		free_list(s->mail_users, s->nmail_users);
		free_list(s->mail_folders, s->nmail_folders);
	}
	free(c->sets);
	free_list(c->agent.ui_listen, c->agent.nui_listen);
	free(c->agent.token_file);
	free(c->agent.passfile);
	free(c->agent.state_dir);
	free(c->agent.name);
	free(c->mail_host);
	free(c->mail_secret);
	free(c);
}

/* The Agent section into c->agent; -1 after confread_error(). */
static int
load_agent(struct clientconf *c, cfg_t *cfg)
{
	struct clientconf_agent *a = &c->agent;
	cfg_t *sec = cfg_getsec(cfg, "Agent");
	const char *tok = cfg_getstr(sec, "UITokenFile");
	const char *pass = cfg_getstr(sec, "PassphraseFile");
	const char *sd = cfg_getstr(sec, "StateDir");

	cfg_opt_t *lo = cfg_getopt(sec, "UIListen");

	a->ui_listen_default = lo == NULL || !(lo->flags & CFGF_MODIFIED);
	a->poll = (int)cfg_getint(sec, "PollInterval");
	a->discovery = (int)cfg_getint(sec, "Discovery");
	a->answer_probes = (int)cfg_getint(sec, "AnswerProbes");
	a->allow_browse = (int)cfg_getint(sec, "AllowBrowse");
	a->allow_restore = strcmp(cfg_getstr(sec, "AllowRestore"), "all") ==
	    0 ? CLIENTCONF_RESTORE_ALL : strcmp(cfg_getstr(sec,
	    "AllowRestore"), "none") == 0 ? CLIENTCONF_RESTORE_NONE :
	    CLIENTCONF_RESTORE_TARGET;
	if (copy_list(sec, "UIListen", NULL, &a->ui_listen,
	    &a->nui_listen) == -1 ||
	    (a->token_file = tok[0] ? in_dir(c->dir, tok) : strdup("")) ==
	    NULL ||
	    (a->passfile = pass[0] ? in_dir(c->dir, pass) : strdup("")) ==
	    NULL ||
	    (a->state_dir = sd[0] ? in_dir(c->dir, sd) :
	    default_state_dir()) == NULL ||
	    (a->name = strdup(cfg_getstr(sec, "Name"))) == NULL) {
		confread_error("out of memory, or no home directory for the "
		    "Agent's StateDir (set it)");
		return -1;
	}
	for (size_t i = 0; i < a->nui_listen; i++)
		if (!is_loopback(a->ui_listen[i]) && a->token_file[0] ==
		    '\0') {
			confread_error("%s:%d: Agent: UIListen \"%s\" is not a "
			    "loopback address: set UITokenFile too",
			    confread_file(), sec->line, a->ui_listen[i]);
			return -1;
		}
	return 0;
}

struct clientconf *
clientconf_load(const char *file, char *err, size_t errlen)
{
	cfg_opt_t ports_opts[] = {
		CFG_INT("BackupServer", 32004, CFGF_NONE),
		CFG_INT("SSLServer", 32007, CFGF_NONE),
		CFG_INT("UI", 32005, CFGF_NONE),
		CFG_INT("MAPI32Bit", 32008, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t ssl_opts[] = {
		CFG_INT("Enabled", 0, CFGF_NONE),
		CFG_STR("CAFile", "", CFGF_NONE),
		CFG_STR("Certificate", "client.crt", CFGF_NONE),
		CFG_STR("Key", "client.key", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t set_opts[] = {
		CFG_STR_LIST("Paths", NULL, CFGF_NONE),
		CFG_STR_LIST("Exclude", NULL, CFGF_NONE),
		CFG_STR_LIST("ExcludeFile", NULL, CFGF_NONE),
		CFG_INT("ExcludeCaches", 0, CFGF_NONE),
		CFG_STR_LIST("ExcludeIfPresent", NULL, CFGF_NONE),
		CFG_INT("OneFileSystem", 0, CFGF_NONE),
		CFG_STR("Schedule", "", CFGF_NONE),
		CFG_INT("RandomizedDelay", 0, CFGF_NONE),
		CFG_INT("Retries", 2, CFGF_NONE),
		CFG_INT("RetryDelay", 300, CFGF_NONE),
		CFG_STR("LimitUpload", "0", CFGF_NONE),
		CFG_STR("LimitDownload", "0", CFGF_NONE),
		CFG_STR("PreCommand", "", CFGF_NONE),
		CFG_STR("PostCommand", "", CFGF_NONE),
		CFG_INT("CommandTimeout", 600, CFGF_NONE),
		CFG_STR("PreCommandFailure", "abort", CFGF_NONE),
		CFG_INT("Persistent", 1, CFGF_NONE),
		CFG_STR("Type", "files", CFGF_NONE),
		CFG_STR_LIST("MailUsers", NULL, CFGF_NONE),
		CFG_STR_LIST("MailFolders", NULL, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t mail_opts[] = {
		CFG_STR("Host", "127.0.0.1", CFGF_NONE),
		CFG_STR("SecretFile", GV_CONFDIR "/mailhelper.secret",
		    CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t agent_opts[] = {
		CFG_STR_LIST("UIListen", "{\"127.0.0.1\", \"::1\"}",
		    CFGF_NONE),
		CFG_STR("UITokenFile", "", CFGF_NONE),
		CFG_STR("PassphraseFile", "", CFGF_NONE),
		CFG_STR("StateDir", "", CFGF_NONE),
		CFG_INT("PollInterval", 60, CFGF_NONE),
		CFG_INT("Discovery", 1, CFGF_NONE),
		CFG_INT("AnswerProbes", 0, CFGF_NONE),
		CFG_STR("Name", "", CFGF_NONE),
		CFG_INT("AllowBrowse", 1, CFGF_NONE),
		CFG_STR("AllowRestore", "target", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t opts[] = {
		CFG_SEC("Ports", ports_opts, CFGF_NONE),
		CFG_SEC("BackupSet", set_opts, CFGF_MULTI | CFGF_TITLE |
		    CFGF_NO_TITLE_DUPES),
		CFG_SEC("SSL", ssl_opts, CFGF_NONE),
		CFG_SEC("Agent", agent_opts, CFGF_NONE),
		CFG_SEC("Mail", mail_opts, CFGF_NONE),
		CFG_STR("Server", "", CFGF_NONE),
		CFG_STR("KeyFile", "key", CFGF_NONE),
		CFG_STR("StateFile", "state.json", CFGF_NONE),
		CFG_INT("Compression", 3, CFGF_NONE),
		CFG_INT("Threads", 0, CFGF_NONE),
		CFG_STR("Set", "default", CFGF_NONE),
		CFG_INT("StrictRollback", 0, CFGF_NONE),
		CFG_END()
	};
	static const struct { const char *name; cfg_validate_callback_t fn; }
	    checks[] = {
		{ "Server", validate_server },
		{ "KeyFile", validate_path },
		{ "StateFile", validate_path },
		{ "Compression", validate_range },
		{ "Threads", validate_range },
		{ "Set", validate_set },
		{ "StrictRollback", validate_range },
		{ "Ports|BackupServer", validate_range },
		{ "Ports|SSLServer", validate_range },
		{ "Ports|UI", validate_range },
		{ "Ports|MAPI32Bit", validate_range },
		{ "SSL|Enabled", validate_range },
		{ "SSL|Certificate", validate_path },
		{ "SSL|Key", validate_path },
		{ "BackupSet", validate_set_title },
		{ "BackupSet|Paths", validate_list },
		{ "BackupSet|Exclude", validate_list },
		{ "BackupSet|ExcludeFile", validate_list },
		{ "BackupSet|ExcludeIfPresent", validate_list },
		{ "BackupSet|ExcludeCaches", validate_range },
		{ "BackupSet|OneFileSystem", validate_range },
		{ "BackupSet|Schedule", validate_schedule },
		{ "BackupSet|RandomizedDelay", validate_range },
		{ "BackupSet|Retries", validate_range },
		{ "BackupSet|RetryDelay", validate_range },
		{ "BackupSet|LimitUpload", validate_rate },
		{ "BackupSet|LimitDownload", validate_rate },
		{ "BackupSet|PreCommand", validate_command },
		{ "BackupSet|PostCommand", validate_command },
		{ "BackupSet|CommandTimeout", validate_range },
		{ "BackupSet|PreCommandFailure", validate_pre_failure },
		{ "BackupSet|Persistent", validate_range },
		{ "BackupSet|Type", validate_set_type },
		{ "BackupSet|MailUsers", validate_list },
		{ "BackupSet|MailFolders", validate_list },
		{ "Mail|SecretFile", validate_path },
		{ "Agent|UIListen", confread_addresses },
		{ "Agent|PollInterval", validate_range },
		{ "Agent|Discovery", validate_range },
		{ "Agent|Name", validate_name },
		{ "Agent|AllowBrowse", validate_range },
		{ "Agent|AllowRestore", validate_allow_restore },
	};
	struct clientconf *c;
	char *slash;
	cfg_t *cfg;
	int is_default = file == NULL;
	long ncpu;

	err[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->file = is_default ? default_file() : strdup(file);
	if (c->file == NULL) {
		snprintf(err, errlen, "cannot find the configuration file: "
		    "neither XDG_CONFIG_HOME nor HOME is set (use -c FILE)");
		clientconf_free(c);
		return NULL;
	}
	confread_begin(c->file, err, errlen);

	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL) {
		snprintf(err, errlen, "out of memory");
		clientconf_free(c);
		return NULL;
	}
	cfg_set_error_function(cfg, confread_errfunc);
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		cfg_set_validate_func(cfg, checks[i].name, checks[i].fn);

	if (confread_parse(cfg, c->file, is_default) == -1)
		goto fail;

	if ((slash = strrchr(c->file, '/')) == NULL)
		c->dir = strdup(".");
	else if (slash == c->file)
		c->dir = strdup("/");
	else
		c->dir = strndup(c->file, (size_t)(slash - c->file));
	c->server = strdup(cfg_getstr(cfg, "Server"));
	c->set = strdup(cfg_getstr(cfg, "Set"));
	c->compression = (int)cfg_getint(cfg, "Compression");
	c->threads = (int)cfg_getint(cfg, "Threads");
	c->strict = (int)cfg_getint(cfg, "StrictRollback");
	c->port_backup = (int)cfg_getint(cfg, "Ports|BackupServer");
	c->port_ssl = (int)cfg_getint(cfg, "Ports|SSLServer");
	c->port_ui = (int)cfg_getint(cfg, "Ports|UI");
	c->port_mapi = (int)cfg_getint(cfg, "Ports|MAPI32Bit");
	c->ssl = (int)cfg_getint(cfg, "SSL|Enabled");
	if (c->dir != NULL) {
		c->keyfile = in_dir(c->dir, cfg_getstr(cfg, "KeyFile"));
		c->statefile = in_dir(c->dir, cfg_getstr(cfg, "StateFile"));
		c->cafile = cfg_getstr(cfg, "SSL|CAFile")[0] == '\0' ?
		    strdup("") : in_dir(c->dir, cfg_getstr(cfg, "SSL|CAFile"));
		c->ssl_cert = in_dir(c->dir, cfg_getstr(cfg,
		    "SSL|Certificate"));
		c->ssl_key = in_dir(c->dir, cfg_getstr(cfg, "SSL|Key"));
		c->mail_secret = in_dir(c->dir, cfg_getstr(cfg,
		    "Mail|SecretFile"));
	}
	c->mail_host = strdup(cfg_getstr(cfg, "Mail|Host"));
	if (c->dir == NULL || c->server == NULL || c->set == NULL ||
	    c->keyfile == NULL || c->statefile == NULL || c->cafile == NULL ||
	    c->ssl_cert == NULL || c->ssl_key == NULL ||
	    c->mail_secret == NULL || c->mail_host == NULL) {
		confread_error("out of memory");
		goto fail;
	}
	if ((c->nsets = cfg_size(cfg, "BackupSet")) > 0 &&
	    (c->sets = calloc(c->nsets, sizeof(*c->sets))) == NULL) {
		c->nsets = 0;
		confread_error("out of memory");
		goto fail;
	}
	for (size_t i = 0; i < c->nsets; i++) {
		struct clientconf_set *s = &c->sets[i];
		cfg_t *sec = cfg_getnsec(cfg, "BackupSet", (unsigned int)i);

		s->exclude_caches = (int)cfg_getint(sec, "ExcludeCaches");
		s->one_fs = (int)cfg_getint(sec, "OneFileSystem");
		s->randomized_delay = (int)cfg_getint(sec, "RandomizedDelay");
		s->retries = (int)cfg_getint(sec, "Retries");
		s->retry_delay = (int)cfg_getint(sec, "RetryDelay");
		s->command_timeout = (int)cfg_getint(sec, "CommandTimeout");
		s->persistent = (int)cfg_getint(sec, "Persistent");
		s->pre_continue = strcmp(cfg_getstr(sec, "PreCommandFailure"),
		    "continue") == 0;
		/* Checked by validate_rate() as the file was read. */
		(void)clientconf_parse_rate(cfg_getstr(sec, "LimitUpload"),
		    &s->limit_up);
		(void)clientconf_parse_rate(cfg_getstr(sec, "LimitDownload"),
		    &s->limit_down);
		if ((s->schedule = strdup(cfg_getstr(sec, "Schedule"))) ==
		    NULL || (s->pre_command = strdup(cfg_getstr(sec,
		    "PreCommand"))) == NULL || (s->post_command =
		    strdup(cfg_getstr(sec, "PostCommand"))) == NULL) {
			confread_error("out of memory");
			goto fail;
		}
		if ((s->name = strdup(cfg_title(sec))) == NULL ||
		    copy_list(sec, "Paths", NULL, &s->paths,
		    &s->npaths) == -1 ||
		    copy_list(sec, "Exclude", NULL, &s->exclude,
		    &s->nexclude) == -1 ||
		    copy_list(sec, "ExcludeFile", c->dir, &s->exclude_file,
		    &s->nexclude_file) == -1 ||
		    copy_list(sec, "ExcludeIfPresent", NULL, &s->if_present,
		    &s->nif_present) == -1 ||
		    copy_list(sec, "MailUsers", NULL, &s->mail_users,
		    &s->nmail_users) == -1 ||
		    copy_list(sec, "MailFolders", NULL, &s->mail_folders,
		    &s->nmail_folders) == -1) {
			confread_error("out of memory");
			goto fail;
		}
		s->mail = strcmp(cfg_getstr(sec, "Type"), "mail") == 0;
		if (s->mail && s->npaths > 0) {
			confread_error("%s:%d: BackupSet %s: Type = mail "
			    "takes no Paths (its mailboxes come from the "
			    "mail helper)", confread_file(), sec->line,
			    s->name);
			goto fail;
		}
	}
	if (load_agent(c, cfg) == -1)
		goto fail;
	if (c->threads == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		c->threads = ncpu < 1 ? 1 : ncpu > CLIENTCONF_THREADS_MAX ?
		    CLIENTCONF_THREADS_MAX : (int)ncpu;
	}
	cfg_free(cfg);
	return c;

fail:
	cfg_free(cfg);
	clientconf_free(c);
	return NULL;
}
