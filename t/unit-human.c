/*
 * unit-human.c - TAP unit tests of src/common/human.c: sizes at each
 * unit's boundary (never "1024.0 KiB" nor "1024 B"), the largest unit,
 * negative and fractional inputs, and time spans in each form.  Run by
 * t/00-unit-human.t.
 */
#include "autoconf.h"

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
	return tap_done();
}
