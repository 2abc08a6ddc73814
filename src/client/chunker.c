/*
 * chunker.c - content-defined chunking: where to cut a byte stream so that
 * equal content yields equal chunks wherever it sits in a file.
 *
 * The algorithm is FastCDC (Xia et al., USENIX ATC 2016): a gear hash
 * h = (h << 1) + G[byte] whose top bits depend only on the last 64 bytes,
 * a cut where the masked top bits are all zero, no hashing of the first
 * CHUNK_MIN bytes of a chunk (no cut can fall there anyway: that is most
 * of the speed), and "normalized chunking": a mask with two more bits
 * (cut less likely) below CHUNK_AVG and two fewer bits (cut more likely)
 * above it, which squeezes the sizes towards the average and leaves
 * fewer chunks at CHUNK_MAX, whose cuts are not content-defined.
 *
 * Sizes (chunker.h): 128 KiB / 512 KiB / 2 MiB.
 *  - Dedup granularity: an edit costs one or two chunks (~0.5-1 MiB) of
 *    upload; small files are one chunk each whatever the sizes, so the
 *    sizes matter only for large files, where 512 KiB is fine grain.
 *  - Index size: the server keeps an LMDB entry (~100 bytes) per blob and
 *    the client sends 32-byte ids in HAVE/REFS; at 512 KiB average a
 *    1 TiB client is ~2 M chunks, i.e. ~200 MB of index and 64 MB of ids
 *    per full snapshot.  borg's 2 MiB and restic's 1 MiB averages were
 *    chosen for the same reason; 64 KiB chunks would make that 8x worse.
 *  - Frames: a sealed chunk is at most CHUNK_MAX + 2 + 28 bytes (zstd is
 *    only used when it shrinks), which fits a PUT (32-byte id + blob)
 *    under the default 4 MiB frame limit with room to spare.
 *  - Per-chunk costs (HMAC, zstd and GCM setup, one PUT header) are
 *    negligible at this size, and the 2 MiB maximum bounds the memory
 *    that each compression thread holds.
 *
 * We write our own because Debian packages no C library for CDC (borg,
 * restic and casync each carry theirs), and it is a few dozen lines.
 *
 * The gear table is part of the storage format: changing one constant
 * moves every cut point, and the next backup would upload everything
 * again.  It is pasted below rather than computed at start-up so that it
 * can only change visibly, and so that chunker_cut() needs no
 * initialisation.  The 256 values are splitmix64 (Steele, Lea and Flood
 * 2014) from the state 0x677667656172312d ("gvgear1-"): uniformly random
 * 64-bit words, which is all a gear table needs.  t/unit-chunker.c pins
 * the cut points of a known input.
 */
#include "autoconf.h"

#include "chunker.h"

/*
 * The cut test looks at the top bits of h: bit k of the gear hash depends
 * on the last k + 1 bytes, so the top bits see a 64-byte window.  With
 * avg = 2^19, the strict mask has 21 bits (a cut every 2 MiB on average
 * between CHUNK_MIN and CHUNK_AVG) and the loose one 17 (every 128 KiB
 * beyond CHUNK_AVG): FastCDC's normalization level 2.  The expected
 * chunk is then ~580 KiB (0.17 of the cuts fall below CHUNK_AVG, the
 * rest ~128 KiB beyond it), and almost none reach CHUNK_MAX.
 */
#define MASK_BITS(n)	(~(uint64_t)0 << (64 - (n)))
#define MASK_S		MASK_BITS(21)
#define MASK_L		MASK_BITS(17)

static const uint64_t gear[256] = {
	0xb2cf1f8f4d9acede, 0x822d1c0b076322c0, 0x54e3b19158d0d268,
	0xb2b0c3f941044941, 0xef546e45d5d1b7ec, 0x2c5bf3eedebd299c,
	0xaecde30b18c49e12, 0x8c1e8e52da6ff59c, 0xb0cb50b02a967779,
	0x877226f858d3be66, 0xa6e389a6df6e64c1, 0xa602bace5321a1f2,
	0x96580131ab77573a, 0x9d095fb3a924d941, 0x9f3b60d636073915,
	0x65e913b5df9d4351, 0x635df41bf98f10b1, 0xb7d2a82901e3c0a1,
	0xd50e81bf2197d7b6, 0x30801f8a193a5ae5, 0x26b0792e31bbb9b7,
	0x78d3b6a491aae9b9, 0x6b50f407ba1bfbc3, 0xf4dec2c085210c94,
	0x1cd7260cfc814780, 0x9e5231cccc35e7bd, 0x52cf77e5c0ac550d,
	0xda0391574e56a241, 0xc24e1d17b0170d22, 0x7d92e07aeaeac71a,
	0x31576b07fce2bf7b, 0x47185d58dc0d0ef3, 0xa6a0986b25f8ca73,
	0x21c3d80d33a76d58, 0x93ca0093eedc03f7, 0xb0b5fd4e6d699c9c,
	0x7ae2a94e331608fe, 0x1f010cc7c2763fba, 0x4491d0271c0e3429,
	0xda1c26602cb8b1db, 0x0f09a7f62d868b67, 0x0f83f40ee69685b1,
	0xd6c943899d2e8744, 0x542ce2ae5a77741f, 0xe4f3bcf367f931b8,
	0x53d9477a28a50856, 0x99c7d3f8b613c45e, 0xcb9cded31c71c828,
	0x6f7d5e3e1460a67c, 0x69143f63faba1c83, 0x7814ed38092ce00c,
	0xa8264f80fad810bb, 0x9ca58fcaf5cd40a1, 0xdfaf27093f207f35,
	0x5884b0d9396c9445, 0xe19da741ffe8eb26, 0x6bff4be826071549,
	0x9808cfdd1e6ff2fc, 0x0bcd1cc9a1cc3fa6, 0xfae4fc4e35c9ea18,
	0xe7aa3b99b6e6a4e6, 0x636c24502262efd4, 0xa822f11a16451bb6,
	0xfb7526a6b32220b3, 0x77505634cd08aeb9, 0x88cd43e1050ad25f,
	0x7691036f8de93007, 0xe772ce069ea5d72c, 0xd42fe0246500f82f,
	0xccf712eccaa572ca, 0x3756879efd6a9176, 0xf287b1dc2d623132,
	0xc961e3d47fee2661, 0xeddf58d33a3edf56, 0x0f4dbd2b2f041e28,
	0xdfe2647dbc3faba5, 0x6f4e4b249e71b561, 0x4eb11c769489f610,
	0xde4e9d4ea423a4bd, 0x31a00004d15f7b92, 0xe5120e5b76ff89a3,
	0x22c11550bbfee740, 0xda2d31471b52571e, 0x49f6adaf72714c3d,
	0xc64f27c1968554d7, 0xdd6753ed3db92416, 0x0da05d79ad5859a5,
	0xe50339f82a79f71e, 0xbd2a9c37251aebe5, 0xaf810ca77d257440,
	0x0c8f667b4a3ffa98, 0xe2e7ec5f4715b354, 0x1e3841f0d2f67784,
	0xcb920ab684c3ba52, 0x888f3923e85a3bb3, 0x7ede80b74d5d61eb,
	0x00abe6e33258adf2, 0x3dc5c82c9e2b8c1c, 0x3a1bba38daf6c4a7,
	0x6be6cec3462d1546, 0x8a6067947a0d7f3a, 0xdf27dcb845b6d5dd,
	0x17170556cad2d4ee, 0x52ac37868e74ba0c, 0x76fd6f71f24d0d16,
	0x7f2c01b14de46e7b, 0xa72f8e7ca786238f, 0x90418971a6169327,
	0x51e4dcdd9db2beca, 0xdbe1abebaeda1a46, 0xd091f4fbe1ec0f38,
	0x9da93ef5491fffac, 0x515d9b1011c5ba5a, 0x48fdac3dca31e087,
	0xd37b5d8d2fe3abaa, 0xa82aa30014293a3e, 0xa5a7024cd7544c0a,
	0xc8bc29478889e02d, 0x2297c162512b55c5, 0xc2908a0cc1ec7bdf,
	0x6f4fbcc6e57d2aa3, 0x151367a48ada8cbe, 0x327bcc93239e66a9,
	0x53ad01b6d774ee9c, 0x41bfaf2158489bc1, 0xd61ca3b1768f787a,
	0x2e4dc682284adc36, 0x09253d3890ff7b62, 0x540642030f73fe87,
	0x6fe144f49f3f743e, 0x5f125b19c4d9c908, 0xd1372b52dafad6ae,
	0x50eaf31402d31e2f, 0x55dca44324a5d900, 0x80dd227c434ffa22,
	0x053b08be95ba1503, 0xaf60c1c6dd2f6e99, 0x1f3e3f549864370a,
	0xc11d6ebc9472e839, 0x830f1b66d0301f86, 0x9861f361e89321a7,
	0x876b059fa2f1ab3f, 0xb2e4195268d6756a, 0x57d7f1ce32304828,
	0x48b203c55996e0e1, 0x4496e4266ee3bdac, 0x672df2a15c7e4d3e,
	0xd61f6f5a2b6a00c2, 0xa7e41783616eae0e, 0xd7721d71dd6ed550,
	0x32185b5906144160, 0x0be21aba7ce38e5f, 0x0ebdd1d7ecb81e77,
	0x8913a9523946c359, 0x83f01e551b646ebd, 0xc001d4752160f007,
	0x8483ffd4d50599e5, 0x0fd8ac438749ea7b, 0xd591e0f91e801397,
	0x0642ec2fe0915bb2, 0x096c6d94192d37eb, 0x0be720fe3a50ed59,
	0x8baee8bb53c58a0b, 0x0cadbeb8c7590c51, 0x834a9c3a9bcdc941,
	0xe9a6451d5f0ed5aa, 0xb52cfc6be3a43791, 0x89df751ad85be81e,
	0x70de7b9e3c7aa62e, 0x83f53792848a77af, 0x9189da25d11bde1b,
	0xcb6e467b0474b952, 0xaef41e7530e0b906, 0x15f0377670b2c51a,
	0x0300a7295cf2a28b, 0x252d3c644ff7af6e, 0x282dccb97ea35a27,
	0xbf718070fe5f5060, 0x921154580143089f, 0xbcb597e1a2b15be4,
	0xe91f5d784e094073, 0xc2d4b90d11de7f19, 0x00b565c9a35f5ac0,
	0xc1b35fc7b1cb3ca6, 0xd70866fd28ba93a7, 0xdf7b733682bc44d1,
	0x0dc29b68793a4f69, 0x791db870f4c4e7e6, 0x7a5fc7e9ef9fef4c,
	0xbc58a8c2c7cc2451, 0xd1a80a18ca301e9c, 0x923c8af0868c74d7,
	0x1436abb13cc88cb4, 0xb45ca399913c06f5, 0x1bd865556e97b78c,
	0xfbc9b2d846aa7b55, 0xd342c2ae23fc24e4, 0xcada38719191344b,
	0x469ef7e2e9577980, 0x51bed4895d140a2f, 0x134db2962fd6cf50,
	0x257f8f198f5dbb9d, 0xfae89ce5ce116855, 0x58caba62b3791fd9,
	0xb3ecfc854b10bd6c, 0xa2682021de153378, 0xdde87ec4407af699,
	0x66bd791b2b23cf8d, 0x7b2defc6a8f9347a, 0x4162db33e34b44cc,
	0x844d8f902f469e47, 0x0968a29bbe4ca374, 0x445d14ced893487d,
	0x4364fc42e55289ef, 0x4d101f27d7f009f7, 0xc7a0883d886707d7,
	0x72ff3f92eeb608ab, 0x1dbdbad69bdd78e4, 0x8036bdef350c295b,
	0xccd9f40da4953318, 0x7538451043e3d0f2, 0xe834f941441cb8e0,
	0x360ff37e3484f30a, 0xba020a617f66afc7, 0xd18c82066e5377d0,
	0xbc9a525c31439ff1, 0x812fe3c1bb622903, 0x98b93ce7ccf31317,
	0xaecdec46fa5c10be, 0xb9b74fdb880e21b9, 0xee8c47b9b2fbec25,
	0xbae24aeb0034ad5b, 0xf582463aa57b4d9d, 0x7d452ab3871c7fa9,
	0xd01bb67792a5dc99, 0x35dda6977ccc4fdb, 0xda4ff98cf6e99bb5,
	0x9323e3d2bc74783e, 0x0e1ac76bc6a8de5a, 0x9b8b2831661988cf,
	0x816eb4b980a8b7d1, 0xb001f8eb09415118, 0x20f319163cc74984,
	0xc17fd39a069c468e, 0x27872220534beb09, 0xf1e5ba677b86d175,
	0x508cb6c43a17fd40, 0x530d4af283e0f3ad, 0x2c76838fbcf04e78,
	0x56f3264c3a5e5c88, 0x0d35604d7ae25310, 0x86d0a52682a2d23e,
	0xb591f3d9b215cd32, 0x4caed78ea47f2740, 0xf201b4b23b9f42a8,
	0xf6acf342dbe8a11c,
};

/*
 * Scan p[i..end) for a cut under mask.  Returns the chunk length (the
 * cut follows the byte that completes the window), or 0 when there is
 * none.  h carries the hash from one scan to the next.  Two bytes per
 * round: the loads are independent of h, and h's chain is one shift-add
 * (an lea) per byte.
 */
static inline size_t
scan(const uint8_t *p, size_t i, size_t end, uint64_t mask, uint64_t *hp)
{
	uint64_t h = *hp;

	for (; i + 2 <= end; i += 2) {
		h = (h << 1) + gear[p[i]];
		if ((h & mask) == 0) {
			*hp = h;
			return i + 1;
		}
		h = (h << 1) + gear[p[i + 1]];
		if ((h & mask) == 0) {
			*hp = h;
			return i + 2;
		}
	}
	if (i < end) {
		h = (h << 1) + gear[p[i]];
		if ((h & mask) == 0) {
			*hp = h;
			return i + 1;
		}
	}
	*hp = h;
	return 0;
}

size_t
chunker_cut(const uint8_t *p, size_t avail, int at_eof)
{
	size_t end, normal, n;
	uint64_t h = 0;

	end = avail < CHUNK_MAX ? avail : CHUNK_MAX;
	if (end <= CHUNK_MIN)
		return at_eof ? end : 0;
	normal = end < CHUNK_AVG ? end : CHUNK_AVG;
	if ((n = scan(p, CHUNK_MIN, normal, MASK_S, &h)) != 0)
		return n;
	if ((n = scan(p, normal, end, MASK_L, &h)) != 0)
		return n;
	/* No cut point in the first end bytes. */
	if (end == CHUNK_MAX || at_eof)
		return end;
	return 0;
}
