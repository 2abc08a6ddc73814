/*
 * human.h - sizes and time spans for a person, the same in gigavault
 * and gigavaultctl: "1.5 MiB", "5 h 3 min".
 */
#ifndef GV_HUMAN_H
#define GV_HUMAN_H

#include <stddef.h>
#include <stdint.h>

/*
 * n bytes (or bytes a second) into buf (len bytes, always terminated):
 * "512 B" below 1 KiB, else one decimal and the largest binary unit that
 * keeps the number below 1024 as printed ("1.0 MiB", never "1024.0
 * KiB"; "1 KiB"... up to EiB).  A negative n is shown as 0 B.
 */
void	human_bytes(double n, char *buf, size_t len);

/*
 * s seconds into buf: "42 s", "12 min", "5 h 3 min", "5 h", "3 d 4 h",
 * "3 d" (each cut to its two largest units, the lower one left out when
 * 0).  A negative s is shown as 0 s.
 */
void	human_span(long long s, char *buf, size_t len);

/*
 * A size a person wrote ("512", "64K", "10M", "1G", "2T"; also "64KiB"
 * and lower-case units), in bytes: the units are 1024-based.  A decimal
 * integer of digits only, no sign, no space, no fraction.  0 with *out
 * set, or -1 (*out untouched) when s is not such a size or the bytes do
 * not fit in 64 bits.
 */
int	human_parse_bytes(const char *s, uint64_t *out);

#endif
