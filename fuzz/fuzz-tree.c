/*
 * fuzz-tree.c - libFuzzer harness: tree blobs (client/tree.c), the
 * client's most hostile input (a server can hand it any blob).  The
 * input is a decrypted BLOB_TREE body: tree_blob_decode() parses it as
 * a page (format 1, 2 or 3), an index or a chunk list.  A page of format
 * 3 that decodes must encode back to the very same bytes (tree_encode()),
 * and its names must be found by tree_find(); a difference aborts, so
 * that the fuzzer reports it.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/tree.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tree_blob tb;
	uint8_t *out;
	size_t len;
	char err[256];

	if (tree_blob_decode(data, size, &tb, err, sizeof(err)) == -1)
		return 0;
	if (tb.kind == TREE_PAGE && tb.page.format == 3) {
		if (tree_encode(&tb.page, &out, &len) == -1 || len != size ||
		    memcmp(out, data, size) != 0)
			abort();	/* decode and encode disagree */
		free(out);
		for (uint32_t i = 0; i < tb.page.n; i++)
			if (tree_find(&tb.page, tb.page.nodes[i].name) !=
			    &tb.page.nodes[i])
				abort();
	}
	tree_blob_free(&tb);
	return 0;
}
