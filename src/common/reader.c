/*
 * reader.c - the bounds-checked reader of outside bytes.  See reader.h.
 * Every get goes through take(): the length is compared with what is
 * left (never left minus something), the bytes are consumed, and only
 * then does the caller decode them.
 */
#include "autoconf.h"

#include <string.h>

#include "bytes.h"
#include "reader.h"

static const char *const rd_names[RD_NERR] = {
	[RD_OK] = "no error",
	[RD_ERR_TRUNCATED] = "truncated",
	[RD_ERR_TOO_LONG] = "too long",
	[RD_ERR_BAD_STRING] = "bad string",
	[RD_ERR_TRAILING] = "bytes left over",
	[RD_ERR_NO_ROOM] = "buffer too small",
};

void
rd_init(struct reader *r, const void *p, size_t len)
{
	r->p = p;
	r->left = len;
	r->err = RD_OK;
}

/* Record the first error; -1 for the caller to return. */
static int
fail(struct reader *r, int err)
{
	if (r->err == RD_OK)
		r->err = err;
	return -1;
}

/* Consume n bytes: *v gets where they start, or NULL on -1. */
static int
take(struct reader *r, size_t n, const uint8_t **v)
{
	*v = NULL;
	if (r->err != RD_OK)
		return -1;
	if (n > r->left)
		return fail(r, RD_ERR_TRUNCATED);
	*v = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

int
rd_get_u8(struct reader *r, uint8_t *v)
{
	const uint8_t *b;

	*v = 0;
	if (take(r, 1, &b) == -1)
		return -1;
	*v = b[0];
	return 0;
}

int
rd_get_u16(struct reader *r, uint16_t *v)
{
	const uint8_t *b;

	*v = 0;
	if (take(r, 2, &b) == -1)
		return -1;
	*v = be16_get(b);
	return 0;
}

int
rd_get_u32(struct reader *r, uint32_t *v)
{
	const uint8_t *b;

	*v = 0;
	if (take(r, 4, &b) == -1)
		return -1;
	*v = be32_get(b);
	return 0;
}

int
rd_get_u64(struct reader *r, uint64_t *v)
{
	const uint8_t *b;

	*v = 0;
	if (take(r, 8, &b) == -1)
		return -1;
	*v = be64_get(b);
	return 0;
}

int
rd_get_bytes(struct reader *r, void *dst, size_t n)
{
	const uint8_t *b;

	if (take(r, n, &b) == -1)
		return -1;
	if (n > 0)
		memcpy(dst, b, n);
	return 0;
}

int
rd_get_view(struct reader *r, const uint8_t **v, size_t n)
{
	return take(r, n, v);
}

int
rd_skip(struct reader *r, size_t n)
{
	const uint8_t *b;

	return take(r, n, &b);
}

int
rd_get_count(struct reader *r, uint32_t *count, uint32_t max,
    size_t elem_min)
{
	uint32_t n;

	*count = 0;
	if (rd_get_u32(r, &n) == -1)
		return -1;
	if (n > max)
		return fail(r, RD_ERR_TOO_LONG);
	if (elem_min == 0 || n > r->left / elem_min)
		return fail(r, RD_ERR_TRUNCATED);
	*count = n;
	return 0;
}

/* The string of n bytes (already its length) into dst. */
static int
get_str(struct reader *r, size_t n, char *dst, size_t maxlen)
{
	const uint8_t *b;

	if (n > maxlen)
		return fail(r, RD_ERR_TOO_LONG);
	if (take(r, n, &b) == -1)
		return -1;
	if (n > 0 && memchr(b, '\0', n) != NULL)
		return fail(r, RD_ERR_BAD_STRING);
	if (n > 0)
		memcpy(dst, b, n);
	dst[n] = '\0';
	return 0;
}

int
rd_get_str16(struct reader *r, char *dst, size_t dstlen, size_t maxlen)
{
	uint16_t n;

	if (dstlen > 0)
		dst[0] = '\0';
	if (maxlen >= dstlen)
		return fail(r, RD_ERR_NO_ROOM);
	if (rd_get_u16(r, &n) == -1)
		return -1;
	return get_str(r, n, dst, maxlen);
}

int
rd_get_str8(struct reader *r, char *dst, size_t dstlen, size_t maxlen)
{
	uint8_t n;

	if (dstlen > 0)
		dst[0] = '\0';
	if (maxlen >= dstlen)
		return fail(r, RD_ERR_NO_ROOM);
	if (rd_get_u8(r, &n) == -1)
		return -1;
	return get_str(r, n, dst, maxlen);
}

int
rd_get_view16(struct reader *r, const uint8_t **v, size_t *n, size_t max)
{
	uint16_t len;

	*v = NULL;
	*n = 0;
	if (rd_get_u16(r, &len) == -1)
		return -1;
	if (len > max)
		return fail(r, RD_ERR_TOO_LONG);
	if (take(r, len, v) == -1)
		return -1;
	*n = len;
	return 0;
}

int
rd_end(struct reader *r)
{
	if (r->err != RD_OK)
		return -1;
	if (r->left != 0)
		return fail(r, RD_ERR_TRAILING);
	return 0;
}

int
rd_error(const struct reader *r)
{
	return r->err;
}

const char *
rd_strerror(int err)
{
	if (err < 0 || err >= RD_NERR)
		return "?";
	return rd_names[err];
}
