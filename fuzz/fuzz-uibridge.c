/*
 * fuzz-uibridge.c - libFuzzer harness: UI bridge requests
 * (server/uiapi.c).  The input is what a client sends on Ports.UI; it is
 * cut into lines at '\n' as uibridge.c's process_lines() does (a line
 * of UI_MAX_LINE bytes or more ends the connection), and each non-empty
 * line goes to uiapi_parse_line(), the bridge's parse of a request.
 *
 * Not covered: the requests' handlers (they need the catalog and the
 * supervisor) and the token lookup (webauth.c's sessions).
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "server/uiapi.h"

#define FUZZ_MAX_LINE	(64 * 1024)	/* uibridge.c's UI_MAX_LINE */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl;
	json_t *req;
	char err[300];
	size_t n;

	while (size > 0 && (nl = memchr(p, '\n', size)) != NULL) {
		n = (size_t)(nl - p);
		if (n + 1 > FUZZ_MAX_LINE)
			break;
		if (n > 0) {
			(void)uiapi_parse_line(p, n, &req, err, sizeof(err));
			json_decref(req);
		}
		p = nl + 1;
		size -= n + 1;
	}
	return 0;
}
