/*
 * ctl.c - what the gigavaultctl commands share (ctl.h): option lookup,
 * JSON output and times.  Apart from gigavaultctl.c, so that the main()
 * and its command table use the commands and no command uses them.
 */
#include "autoconf.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/human.h"
#include "server/config.h"
#include "server/prune.h"
#include "ctl.h"

const char *
opt_get(const struct ctl *c, const char *name)
{
	for (int i = 0; i < c->nopt; i++)
		if (strcmp(c->opt[i].name, name) == 0)
			return c->opt[i].value ? c->opt[i].value : "";
	return NULL;
}

int
opt_number(const struct ctl *c, const char *name, unsigned long long max,
    unsigned long long *v)
{
	const char *s = opt_get(c, name);
	char *end;

	*v = 0;
	if (s == NULL)
		return 0;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || *v > max) {
		fprintf(stderr, "gigavaultctl: %s: \"%s\" is not a number "
		    "0..%llu\n", name, s, max);
		return EXIT_USAGE;
	}
	return 0;
}

int
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

const char *
fmt_size(const struct ctl *c, uint64_t n, char *buf, size_t len)
{
	if (c->bytes)
		snprintf(buf, len, "%llu", (unsigned long long)n);
	else if (n < 1024)	/* exact, not through a double */
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		human_bytes((double)n, buf, len);
	return buf;
}

void
fmt_utc(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%llu", (unsigned long long)t);
}

int
lock_housekeeping(struct ctl *c)
{
	char err[512];
	int fd;

	fd = housekeeping_lock(c->cfg->datadir, 0, err, sizeof(err));
	if (fd == -2) {
		fprintf(stderr, "gigavaultctl: waiting for the prune or scrub "
		    "that is running\n");
		fd = housekeeping_lock(c->cfg->datadir, 1, err, sizeof(err));
	}
	if (fd < 0)
		fprintf(stderr, "gigavaultctl: %s\n", err);
	return fd < 0 ? -1 : fd;
}
