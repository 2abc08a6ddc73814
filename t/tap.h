/*
 * tap.h - the few lines of TAP the C unit tests (t/unit-*.c) print:
 * ok(cond, name) for each check, tap_done() last (plan and exit status).
 * prove reads the output.
 */
#ifndef GV_TAP_H
#define GV_TAP_H

#include <stdio.h>

static int tests, failed;

static void
ok(int cond, const char *name)
{
	tests++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests, name);
}

/* Print the plan; the value for main() to return. */
static int
tap_done(void)
{
	printf("1..%d\n", tests);
	return failed != 0;
}

#endif
