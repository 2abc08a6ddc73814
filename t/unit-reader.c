/*
 * unit-reader.c - TAP unit tests of src/common/reader.c: each getter
 * reads big-endian fields and consumes them, each error (truncated, too
 * long, bad string, bytes left over, buffer too small) is reported with
 * its code and name, nothing is read past the buffer, and the first
 * error sticks.  Run by t/00-unit-reader.t.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/reader.h"
#include "tap.h"

/*
 * A copy of len bytes in a malloc'ed block of that size, so that
 * AddressSanitizer (the CI's second build) catches a read past the end.
 */
static uint8_t *
tail_copy(const void *p, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	if (b == NULL)
		abort();
	if (len > 0)
		memcpy(b, p, len);
	return b;
}

static void
test_integers(void)
{
	static const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	    0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
	uint8_t *b = tail_copy(in, sizeof(in));
	struct reader r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	rd_init(&r, b, sizeof(in));
	ok(rd_get_u8(&r, &u8) == 0 && u8 == 0x01, "u8");
	ok(rd_get_u16(&r, &u16) == 0 && u16 == 0x0203, "u16 is big-endian");
	ok(rd_get_u32(&r, &u32) == 0 && u32 == 0x04050607,
	    "u32 is big-endian");
	ok(rd_get_u64(&r, &u64) == 0 && u64 == 0x08090a0b0c0d0e0fULL,
	    "u64 is big-endian");
	ok(r.left == 0 && rd_end(&r) == 0 && rd_error(&r) == RD_OK,
	    "every byte read: rd_end() passes");
	ok(rd_get_u8(&r, &u8) == -1 && u8 == 0 &&
	    rd_error(&r) == RD_ERR_TRUNCATED, "u8 past the end: truncated");
	free(b);

	b = tail_copy(in, 3);
	rd_init(&r, b, 3);
	ok(rd_get_u32(&r, &u32) == -1 && u32 == 0 && r.left == 3 &&
	    rd_error(&r) == RD_ERR_TRUNCATED,
	    "u32 of 3 bytes: truncated, nothing consumed");
	ok(rd_get_u8(&r, &u8) == -1 && u8 == 0 &&
	    rd_error(&r) == RD_ERR_TRUNCATED,
	    "the error sticks: a later get that would fit fails too");
	free(b);

	b = tail_copy(in, 7);
	rd_init(&r, b, 7);
	ok(rd_get_u64(&r, &u64) == -1 && u64 == 0, "u64 of 7 bytes fails");
	rd_init(&r, b, 1);
	ok(rd_get_u16(&r, &u16) == -1 && u16 == 0, "u16 of 1 byte fails");
	free(b);
}

static void
test_bytes(void)
{
	static const uint8_t in[] = "abcdefgh";
	uint8_t *b = tail_copy(in, 8), dst[8];
	const uint8_t *v;
	struct reader r;

	rd_init(&r, b, 8);
	ok(rd_get_bytes(&r, dst, 3) == 0 && memcmp(dst, "abc", 3) == 0,
	    "bytes copied");
	ok(rd_get_view(&r, &v, 2) == 0 && v == b + 3, "view points in place");
	ok(rd_skip(&r, 2) == 0 && r.left == 1 && r.p == b + 7, "skip");
	ok(rd_get_bytes(&r, dst, 0) == 0 && r.left == 1,
	    "zero bytes always fit");
	ok(rd_end(&r) == -1 && rd_error(&r) == RD_ERR_TRAILING,
	    "rd_end() with a byte left: bytes left over");
	ok(rd_skip(&r, 1) == -1, "after an error, even a fitting skip fails");

	rd_init(&r, b, 8);
	ok(rd_skip(&r, SIZE_MAX) == -1 && rd_error(&r) == RD_ERR_TRUNCATED &&
	    r.left == 8, "skip of SIZE_MAX: truncated, nothing consumed");
	rd_init(&r, b, 8);
	ok(rd_get_view(&r, &v, 9) == -1 && v == NULL &&
	    rd_error(&r) == RD_ERR_TRUNCATED, "view past the end: truncated");
	rd_init(&r, b, 8);
	ok(rd_get_bytes(&r, dst, 9) == -1 && rd_error(&r) == RD_ERR_TRUNCATED,
	    "bytes past the end: truncated");
	free(b);
}

static void
test_count(void)
{
	uint8_t in[4 + 6] = { 0, 0, 0, 3 };
	uint8_t *b;
	struct reader r;
	uint32_t n;

	b = tail_copy(in, sizeof(in));
	rd_init(&r, b, sizeof(in));
	ok(rd_get_count(&r, &n, 10, 2) == 0 && n == 3 && r.left == 6,
	    "a count whose entries fit");
	rd_init(&r, b, sizeof(in));
	ok(rd_get_count(&r, &n, 10, 3) == -1 && n == 0 &&
	    rd_error(&r) == RD_ERR_TRUNCATED,
	    "a count whose entries cannot fit: truncated");
	rd_init(&r, b, sizeof(in));
	ok(rd_get_count(&r, &n, 2, 1) == -1 && n == 0 &&
	    rd_error(&r) == RD_ERR_TOO_LONG, "a count above max: too long");
	free(b);

	memset(in, 0xff, 4);
	b = tail_copy(in, sizeof(in));
	rd_init(&r, b, sizeof(in));
	ok(rd_get_count(&r, &n, UINT32_MAX, 1) == -1 &&
	    rd_error(&r) == RD_ERR_TRUNCATED,
	    "a count of 2^32 - 1 bytes in 6: truncated");
	rd_init(&r, b, 3);
	ok(rd_get_count(&r, &n, 10, 1) == -1 &&
	    rd_error(&r) == RD_ERR_TRUNCATED, "a count of 3 bytes: truncated");
	free(b);
}

static void
test_strings(void)
{
	uint8_t *b;
	struct reader r;
	char s[8];
	const uint8_t *v;
	size_t n;

	b = tail_copy("\0\3abc", 5);
	rd_init(&r, b, 5);
	ok(rd_get_str16(&r, s, sizeof(s), 7) == 0 && strcmp(s, "abc") == 0 &&
	    rd_end(&r) == 0, "u16 string");
	rd_init(&r, b, 5);
	ok(rd_get_str16(&r, s, sizeof(s), 2) == -1 && s[0] == '\0' &&
	    rd_error(&r) == RD_ERR_TOO_LONG, "u16 string above max: too long");
	rd_init(&r, b, 4);
	ok(rd_get_str16(&r, s, sizeof(s), 7) == -1 &&
	    rd_error(&r) == RD_ERR_TRUNCATED,
	    "u16 string cut short: truncated");
	rd_init(&r, b, 5);
	ok(rd_get_str16(&r, s, 4, 4) == -1 && rd_error(&r) == RD_ERR_NO_ROOM &&
	    r.left == 5, "max not below the buffer's size: buffer too small");
	rd_init(&r, b, 5);
	ok(rd_get_view16(&r, &v, &n, 3) == 0 && n == 3 && v == b + 2,
	    "u16 bytes in place");
	rd_init(&r, b, 5);
	ok(rd_get_view16(&r, &v, &n, 2) == -1 && v == NULL && n == 0 &&
	    rd_error(&r) == RD_ERR_TOO_LONG, "u16 bytes above max: too long");
	rd_init(&r, b, 4);
	ok(rd_get_view16(&r, &v, &n, 3) == -1 &&
	    rd_error(&r) == RD_ERR_TRUNCATED, "u16 bytes cut short: truncated");
	free(b);

	b = tail_copy("\0\3a\0c", 5);
	rd_init(&r, b, 5);
	ok(rd_get_str16(&r, s, sizeof(s), 7) == -1 && s[0] == '\0' &&
	    rd_error(&r) == RD_ERR_BAD_STRING, "NUL in a string: bad string");
	free(b);

	b = tail_copy("\2xy", 3);
	rd_init(&r, b, 3);
	ok(rd_get_str8(&r, s, sizeof(s), 7) == 0 && strcmp(s, "xy") == 0 &&
	    rd_end(&r) == 0, "u8 string");
	rd_init(&r, b, 2);
	ok(rd_get_str8(&r, s, sizeof(s), 7) == -1 &&
	    rd_error(&r) == RD_ERR_TRUNCATED, "u8 string cut short: truncated");
	rd_init(&r, b, 3);
	ok(rd_get_str8(&r, s, sizeof(s), 1) == -1 &&
	    rd_error(&r) == RD_ERR_TOO_LONG, "u8 string above max: too long");
	free(b);

	b = tail_copy("\0", 1);
	rd_init(&r, b, 1);
	ok(rd_get_str8(&r, s, sizeof(s), 7) == 0 && s[0] == '\0',
	    "empty u8 string");
	free(b);
}

static void
test_names(void)
{
	int distinct = 1;

	for (int i = 0; i < RD_NERR; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(rd_strerror(i), rd_strerror(j)) == 0 ||
			    strcmp(rd_strerror(i), "?") == 0)
				distinct = 0;
	ok(distinct, "each error has its own name");
	ok(strcmp(rd_strerror(RD_ERR_TRUNCATED), "truncated") == 0 &&
	    strcmp(rd_strerror(RD_ERR_TOO_LONG), "too long") == 0 &&
	    strcmp(rd_strerror(RD_ERR_BAD_STRING), "bad string") == 0,
	    "names of truncated, too long, bad string");
	ok(strcmp(rd_strerror(-1), "?") == 0 &&
	    strcmp(rd_strerror(RD_NERR), "?") == 0, "unknown codes: \"?\"");
}

int
main(void)
{
	test_integers();
	test_bytes();
	test_count();
	test_strings();
	test_names();
	return tap_done();
}
