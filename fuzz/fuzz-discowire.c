/*
 * fuzz-discowire.c - libFuzzer harness: discovery datagrams
 * (common/discowire.c).  The input is one datagram; dw_decode() parses
 * it.  One that decodes must encode back to the same bytes
 * (dw_encode()); a difference aborts.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/discowire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[DW_MAX_LEN];
	struct dw_msg m;

	if (dw_decode(data, size, &m) != DW_OK)
		return 0;
	if (dw_encode(&m, buf, sizeof(buf)) != size ||
	    memcmp(buf, data, size) != 0)
		abort();	/* decode and encode disagree */
	(void)dw_type_name(m.type);
	return 0;
}
