/*
 * fuzz-agentui.c - libFuzzer harness: requests on gigavault-agent's UI
 * port (agent/agentui.c).  The input is what a client sends on
 * Ports.UI; it is cut into lines at '\n' as agentui.c's conn_read() does
 * (a line of AGENTUI_LINE_MAX bytes or more ends the connection), and
 * each line goes to agentui_parse_line() twice: without a token and with
 * one (Agent.UITokenFile), so that the token's comparison is reached.
 *
 * Not covered: the requests' handlers (they need the jobs, the state
 * directory and the event loop).
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "agent/agentui.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tokens[] = { NULL, "s3cret-token" };
	const char *p = (const char *)data, *nl, *name;
	json_t *req;
	char err[300];
	size_t n;

	while (size > 0 && (nl = memchr(p, '\n', size)) != NULL) {
		n = (size_t)(nl - p);
		if (n >= AGENTUI_LINE_MAX)
			break;
		for (size_t i = 0; i < 2; i++) {
			(void)agentui_parse_line(p, n, tokens[i], &req, &name,
			    err, sizeof(err));
			json_decref(req);
		}
		p = nl + 1;
		size -= n + 1;
	}
	return 0;
}
