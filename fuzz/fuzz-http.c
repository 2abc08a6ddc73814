/*
 * fuzz-http.c - libFuzzer harness: the web console's HTTP requests.
 * The input is what a browser sends on Ports.Web.  libevent's evhttp
 * parses the request line and the headers as it does for the console
 * (evhttp_parse_firstline_() and evhttp_parse_headers_(), the functions
 * its server calls; exported by libevent but declared only in its
 * internal header, so declared here); the bytes after the headers are
 * the body.  webhttp_parse() then does what the server does with the
 * parsed request before any session, catalog or reply: decodes the
 * path, walks the routes, reads the session cookie, a GET's query
 * parameters (query_args()) and a POST's JSON body, checks a static
 * file's path.
 *
 * libevent's parser wants the request tied to a connection of a server
 * (it asks the server whether an absolute URI names one of its hosts),
 * so the harness starts an evhttp server on a Unix socket once, sends it
 * one request, and keeps that request's connection for the parser.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/util.h>

#include "server/webhttp.h"

#define ALL_DATA_READ	1	/* libevent's enum message_read_status */

int	evhttp_parse_firstline_(struct evhttp_request *, struct evbuffer *);
int	evhttp_parse_headers_(struct evhttp_request *, struct evbuffer *);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct evhttp_connection *evcon;

static void
on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evcon = evhttp_request_get_connection(req);	/* never answered */
}

/* A server's connection for the parser; exits when there is none. */
static void
setup(void)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: fuzz\r\n\r\n";
	struct sockaddr_un sun;
	struct event_base *base;
	struct evhttp *http;
	socklen_t len;
	int lfd, cfd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* An abstract name: no file to remove. */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    (size_t)snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
	    "gv-fuzz-http.%ld", (long)getpid()));
	if ((base = event_base_new()) == NULL ||
	    (http = evhttp_new(base)) == NULL ||
	    (lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, len) == -1 ||
	    listen(lfd, 1) == -1 ||
	    (cfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(cfd, (struct sockaddr *)&sun, len) == -1 ||
	    write(cfd, get, sizeof(get) - 1) != (ssize_t)sizeof(get) - 1) {
		perror("fuzz-http: setup");
		exit(1);
	}
	evutil_make_socket_nonblocking(lfd);
	evhttp_set_timeout(http, 24 * 3600);
	evhttp_set_gencb(http, on_request, NULL);
	if (evhttp_accept_socket(http, lfd) == -1) {
		fprintf(stderr, "fuzz-http: evhttp_accept_socket failed\n");
		exit(1);
	}
	for (int i = 0; i < 100 && evcon == NULL; i++)
		event_base_loop(base, EVLOOP_ONCE);
	if (evcon == NULL) {
		fprintf(stderr, "fuzz-http: no request arrived\n");
		exit(1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evhttp_request *req;
	struct evbuffer *in;
	char what[300];

	if (evcon == NULL)
		setup();
	if ((req = evhttp_request_new(NULL, NULL)) == NULL ||
	    (in = evbuffer_new()) == NULL)
		abort();
	req->kind = EVHTTP_REQUEST;
	req->evcon = evcon;
	evbuffer_add(in, data, size);
	if (evhttp_parse_firstline_(req, in) == ALL_DATA_READ &&
	    evhttp_parse_headers_(req, in) == ALL_DATA_READ) {
		evbuffer_add_buffer(evhttp_request_get_input_buffer(req), in);
		(void)webhttp_parse(req, what, sizeof(what));
	}
	req->evcon = NULL;
	evhttp_request_free(req);
	evbuffer_free(in);
	return 0;
}
