/*
 * human.c - sizes and time spans for a person.  See human.h.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "human.h"

void
human_bytes(double n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
	    "PiB", "EiB" };
	const size_t nunits = sizeof(units) / sizeof(units[0]);
	size_t u = 0;

	if (!(n > 0))
		n = 0;
	while (n >= 1024 && u + 1 < nunits) {
		n /= 1024;
		u++;
	}
	/*
	 * What would print as 1024 (1023.5 B as "%.0f", 1023.95 KiB as
	 * "%.1f") is the next unit's 1.0.
	 */
	if (n >= (u == 0 ? 1023.5 : 1023.95) && u + 1 < nunits) {
		n /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", n, units[u]);
}

void
human_span(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%lld s", s);
	else if (s < 3600)
		snprintf(buf, len, "%lld min", s / 60);
	else if (s < 86400 && s % 3600 / 60 != 0)
		snprintf(buf, len, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else if (s < 86400)
		snprintf(buf, len, "%lld h", s / 3600);
	else if (s % 86400 / 3600 != 0)
		snprintf(buf, len, "%lld d %lld h", s / 86400,
		    s % 86400 / 3600);
	else
		snprintf(buf, len, "%lld d", s / 86400);
}

int
human_parse_bytes(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *u;
	uint64_t v = 0;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s != '\0') {
		if ((u = strchr(units, toupper((unsigned char)*s))) == NULL)
			return -1;
		shift = 10 * (int)(u - units + 1);
		s++;
		if (*s != '\0' && strcasecmp(s, "iB") != 0)
			return -1;
		if (v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
	}
	*out = v;
	return 0;
}
