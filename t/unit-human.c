/*
 * unit-human.c - TAP unit tests of src/common/human.c: sizes at each
 * unit's boundary (never "1024.0 KiB" nor "1024 B"), the largest unit,
 * negative and fractional inputs, time spans in each form, and sizes a
 * person writes (human_parse_bytes(): units, overflow, what is refused).
 * Run by t/00-unit-human.t.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/human.h"
#include "tap.h"

static void
bytes_is(double n, const char *want)
{
	char buf[32], name[96];

	human_bytes(n, buf, sizeof(buf));
	snprintf(name, sizeof(name), "human_bytes(%.2f) = \"%s\" (got \"%s\")",
	    n, want, buf);
	ok(strcmp(buf, want) == 0, name);
}

static void
parse_is(const char *s, int want_rc, uint64_t want)
{
	uint64_t v = 7;
	char name[128];
	int rc = human_parse_bytes(s, &v);

	if (want_rc == -1)
		snprintf(name, sizeof(name), "human_parse_bytes(\"%s\") is "
		    "refused (got %d)", s, rc);
	else
		snprintf(name, sizeof(name), "human_parse_bytes(\"%s\") = "
		    "%llu (got %llu)", s, (unsigned long long)want,
		    (unsigned long long)v);
	ok(rc == want_rc && v == (want_rc == -1 ? 7 : want), name);
}

static void
span_is(long long s, const char *want)
{
	char buf[32], name[96];

	human_span(s, buf, sizeof(buf));
	snprintf(name, sizeof(name), "human_span(%lld) = \"%s\" (got \"%s\")",
	    s, want, buf);
	ok(strcmp(buf, want) == 0, name);
}

int
main(void)
{
	char small[6];

	bytes_is(0, "0 B");
	bytes_is(-5, "0 B");
	bytes_is(512, "512 B");
	bytes_is(1023, "1023 B");
	bytes_is(1023.6, "1.0 KiB");	/* a rate: not "1024 B" */
	bytes_is(1024, "1.0 KiB");
	bytes_is(1536, "1.5 KiB");
	bytes_is(1048524, "1023.9 KiB");
	bytes_is(1048525, "1.0 MiB");	/* not "1024.0 KiB" */
	bytes_is(1048575, "1.0 MiB");
	bytes_is(1048576, "1.0 MiB");
	bytes_is(1073741823, "1.0 GiB");
	bytes_is(5.5 * 1099511627776.0, "5.5 TiB");
	bytes_is(18446744073709551615.0, "16.0 EiB");
	bytes_is(1024.0 * 1152921504606846976.0, "1024.0 EiB");	/* no more */

	human_bytes(1048576, small, sizeof(small));
	ok(strcmp(small, "1.0 M") == 0, "human_bytes cuts to the buffer");

	span_is(-1, "0 s");
	span_is(0, "0 s");
	span_is(59, "59 s");
	span_is(60, "1 min");
	span_is(3599, "59 min");
	span_is(3600, "1 h");
	span_is(3660, "1 h 1 min");
	span_is(86399, "23 h 59 min");
	span_is(86400, "1 d");
	span_is(90000, "1 d 1 h");
	span_is(86400 * 400 + 59, "400 d");

	parse_is("0", 0, 0);
	parse_is("512", 0, 512);
	parse_is("007", 0, 7);
	parse_is("64K", 0, 65536);
	parse_is("64k", 0, 65536);
	parse_is("64KiB", 0, 65536);
	parse_is("64kib", 0, 65536);
	parse_is("10M", 0, 10485760);
	parse_is("1G", 0, 1073741824);
	parse_is("2T", 0, 2199023255552ull);
	parse_is("18446744073709551615", 0, UINT64_MAX);
	parse_is("16777215T", 0, 16777215ull << 40);
	parse_is("16777216T", -1, 0);		/* 2^64 */
	parse_is("18446744073709551616", -1, 0);
	parse_is("99999999999999999999999", -1, 0);
	parse_is("", -1, 0);
	parse_is("K", -1, 0);
	parse_is("-1", -1, 0);
	parse_is("+1", -1, 0);
	parse_is(" 1", -1, 0);
	parse_is("1 K", -1, 0);
	parse_is("1.5M", -1, 0);
	parse_is("10MB", -1, 0);	/* B alone would be 1000 to some */
	parse_is("10X", -1, 0);
	parse_is("10P", -1, 0);
	parse_is("10Mi", -1, 0);
	parse_is("10KiBs", -1, 0);
	return tap_done();
}
