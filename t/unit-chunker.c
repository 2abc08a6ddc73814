/*
 * unit-chunker.c - TAP unit tests of src/client/chunker.c: cut points are
 * deterministic and pinned, sizes stay within CHUNK_MIN..CHUNK_MAX, a
 * streaming caller gets the same cuts as one holding everything, and an
 * insert in the middle changes only the chunks around it.  Throughput
 * is printed as a comment, never asserted.  Run by t/00-unit-chunker.t.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/chunker.h"
#include "tap.h"

#define BUF_LEN		(32u << 20)
#define MAX_CUTS	4096


static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = splitmix(&seed);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* Cut all of p in one go; returns the number of chunks. */
static size_t
cut_all(const uint8_t *p, size_t len, size_t *cuts)
{
	size_t off = 0, n = 0, c;

	while (off < len && n < MAX_CUTS) {
		c = chunker_cut(p + off, len - off, 1);
		if (c == 0)
			break;
		cuts[n++] = c;
		off += c;
	}
	return n;
}

/*
 * Cut as a reader with a small window would: show only up to win bytes
 * at a time, growing the window after each 0.
 */
static size_t
cut_stream(const uint8_t *p, size_t len, size_t *cuts, uint64_t seed)
{
	size_t off = 0, n = 0, avail, c;

	while (off < len && n < MAX_CUTS) {
		avail = splitmix(&seed) % (CHUNK_MIN * 2);
		for (;;) {
			if (avail > len - off)
				avail = len - off;
			c = chunker_cut(p + off, avail, off + avail == len);
			if (c != 0)
				break;
			avail += 1 + splitmix(&seed) % (CHUNK_MIN);
		}
		if (c > avail)
			return 0;	/* contract broken */
		cuts[n++] = c;
		off += c;
	}
	return n;
}

static uint64_t
fnv(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* How many chunks of b (cuts bc, nb) have no equal in a. */
static size_t
new_chunks(const uint8_t *a, const size_t *ac, size_t na, const uint8_t *b,
    const size_t *bc, size_t nb)
{
	uint64_t *ha = calloc(na, sizeof(*ha));
	size_t off = 0, fresh = 0;

	for (size_t i = 0; i < na; i++) {
		ha[i] = fnv(a + off, ac[i]) ^ ac[i];
		off += ac[i];
	}
	off = 0;
	for (size_t i = 0; i < nb; i++) {
		uint64_t h = fnv(b + off, bc[i]) ^ bc[i];
		size_t j;

		for (j = 0; j < na; j++)
			if (ha[j] == h)
				break;
		if (j == na)
			fresh++;
		off += bc[i];
	}
	free(ha);
	return fresh;
}

static void
test_edges(void)
{
	uint8_t *p = calloc(1, 5u << 20);
	size_t cuts[8], n;

	fill_random(p, CHUNK_MIN, 7);
	ok(chunker_cut(p, 0, 1) == 0, "nothing at EOF: 0");
	ok(chunker_cut(p, 0, 0) == 0, "nothing before EOF: 0");
	ok(chunker_cut(p, 1000, 1) == 1000, "a short last chunk is all of it");
	ok(chunker_cut(p, CHUNK_MIN, 0) == 0,
	    "CHUNK_MIN bytes with more to come: ask for more");
	ok(chunker_cut(p, CHUNK_MIN, 1) == CHUNK_MIN,
	    "CHUNK_MIN bytes at EOF: one chunk");

	/* Zeros never cut: chunks of CHUNK_MAX, the rest as the last. */
	memset(p, 0, 5u << 20);
	n = cut_all(p, 5u << 20, cuts);
	ok(n == 3 && cuts[0] == CHUNK_MAX && cuts[1] == CHUNK_MAX &&
	    cuts[2] == (5u << 20) - 2 * CHUNK_MAX,
	    "uniform data is cut at CHUNK_MAX");
	ok(chunker_cut(p, CHUNK_MAX, 0) == CHUNK_MAX,
	    "CHUNK_MAX bytes without a cut, more to come: CHUNK_MAX");
	ok(chunker_cut(p, CHUNK_MAX - 1, 0) == 0,
	    "one byte short of CHUNK_MAX without a cut: ask for more");
	ok(chunker_cut(p, 5u << 20, 0) == CHUNK_MAX,
	    "never more than CHUNK_MAX");
	free(p);
}

int
main(void)
{
	/*
	 * The first cuts of splitmix64 bytes from seed 1: they change only
	 * when the gear table, masks or sizes change, i.e. when every
	 * stored chunk would stop deduplicating.
	 */
	static const size_t pinned[] = {
		560597, 508014, 639402, 560965, 609670, 822727, 538988,
		825322,
	};
	uint8_t *a = malloc(BUF_LEN), *b = malloc(BUF_LEN + 64);
	size_t *ca = calloc(MAX_CUTS, sizeof(size_t));
	size_t *cb = calloc(MAX_CUTS, sizeof(size_t));
	size_t na, nb, sum, minc = SIZE_MAX, maxc = 0, fresh;
	struct timespec t0, t1;
	double secs;
	int inrange = 1, same;

	test_edges();

	fill_random(a, BUF_LEN, 1);
	na = cut_all(a, BUF_LEN, ca);
	sum = 0;
	for (size_t i = 0; i < na; i++) {
		sum += ca[i];
		if (i + 1 < na && (ca[i] < CHUNK_MIN || ca[i] > CHUNK_MAX))
			inrange = 0;
		if (i + 1 < na && ca[i] < minc)
			minc = ca[i];
		if (ca[i] > maxc)
			maxc = ca[i];
	}
	ok(na > 1 && sum == BUF_LEN, "the chunks cover the input exactly");
	ok(inrange, "every chunk but the last is within CHUNK_MIN..CHUNK_MAX");
	printf("# 32 MiB random: %zu chunks, mean %zu, min %zu, max %zu\n",
	    na, BUF_LEN / na, minc, maxc);
	ok(na > BUF_LEN / (CHUNK_MAX / 2) && na < BUF_LEN / CHUNK_MIN,
	    "the mean chunk size is between CHUNK_MIN and CHUNK_MAX / 2");

	same = na >= sizeof(pinned) / sizeof(pinned[0]);
	for (size_t i = 0; same && i < sizeof(pinned) / sizeof(pinned[0]); i++)
		same = ca[i] == pinned[i];
	ok(same, "cut points of a known input are the pinned ones");
	if (!same) {
		printf("# got:");
		for (size_t i = 0; i < na && i < 8; i++)
			printf(" %zu,", ca[i]);
		printf("\n");
	}

	nb = cut_all(a, BUF_LEN, cb);
	ok(nb == na && memcmp(ca, cb, na * sizeof(size_t)) == 0,
	    "cutting twice gives the same cuts");
	for (uint64_t seed = 1; seed <= 3; seed++) {
		memset(cb, 0, MAX_CUTS * sizeof(size_t));
		nb = cut_stream(a, BUF_LEN, cb, seed);
		ok(nb == na && memcmp(ca, cb, na * sizeof(size_t)) == 0,
		    "a streaming caller with small windows gets the same cuts");
	}

	/* Insert 7 bytes in the middle. */
	memcpy(b, a, BUF_LEN / 2 + 12345);
	memcpy(b + BUF_LEN / 2 + 12345, "INSERT!", 7);
	memcpy(b + BUF_LEN / 2 + 12345 + 7, a + BUF_LEN / 2 + 12345,
	    BUF_LEN / 2 - 12345);
	nb = cut_all(b, BUF_LEN + 7, cb);
	fresh = new_chunks(a, ca, na, b, cb, nb);
	printf("# insert of 7 bytes: %zu of %zu chunks are new\n", fresh, nb);
	ok(fresh >= 1 && fresh <= 3,
	    "an insert in the middle changes 1..3 chunks");

	/* Delete 5 bytes in the middle. */
	memcpy(b, a, BUF_LEN / 3);
	memcpy(b + BUF_LEN / 3, a + BUF_LEN / 3 + 5, BUF_LEN - BUF_LEN / 3 - 5);
	nb = cut_all(b, BUF_LEN - 5, cb);
	fresh = new_chunks(a, ca, na, b, cb, nb);
	printf("# delete of 5 bytes: %zu of %zu chunks are new\n", fresh, nb);
	ok(fresh >= 1 && fresh <= 3,
	    "a deletion in the middle changes 1..3 chunks");

	/* Prepend 1 byte: only the first chunks change. */
	b[0] = 0x5a;
	memcpy(b + 1, a, BUF_LEN);
	nb = cut_all(b, BUF_LEN + 1, cb);
	fresh = new_chunks(a, ca, na, b, cb, nb);
	ok(fresh >= 1 && fresh <= 3, "a prepended byte changes 1..3 chunks");

	/* Throughput, for information only. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sum = 0;
	for (int r = 0; r < 4; r++)
		sum += cut_all(a, BUF_LEN, ca);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# chunker throughput: %.0f MB/s (%zu chunks of random data)\n",
	    4.0 * BUF_LEN / 1e6 / secs, sum);

	free(a);
	free(b);
	free(ca);
	free(cb);
	return tap_done();
}
