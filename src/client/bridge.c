/*
 * bridge.c - the client's requests to a daemon's UI bridge: the address
 * as the user wrote it, common/uiask.h's request, the reply decoded.
 * finder.c asks it for "peers", status.c for "status".
 */
#include "autoconf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotime.h"
#include "common/uiask.h"
#include "client.h"

json_t *
bridge_request(const char *hostport, int default_port,
    const char *request_line, double wait_s, char *err, size_t errlen)
{
	char host[256], *line;
	json_error_t je;
	json_t *o;
	int port;

	if (clientconf_parse_server(hostport, host, sizeof(host), &port) ==
	    -1) {
		snprintf(err, errlen, "\"%s\" is not HOST[:PORT] (IPv6 "
		    "addresses in brackets, port 1..65535)", hostport);
		return NULL;
	}
	if (port == 0)
		port = default_port;
	if ((line = uiask_line(host, port, request_line, mono_ms() +
	    (int64_t)(wait_s * 1000), err, errlen)) == NULL)
		return NULL;
	o = json_loads(line, 0, &je);
	free(line);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s%s%s:%d: the answer is not a JSON "
		    "object (not a UI bridge?)", strchr(host, ':') ? "[" : "",
		    host, strchr(host, ':') ? "]" : "", port);
		json_decref(o);
		return NULL;
	}
	return o;
}
