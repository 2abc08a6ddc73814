/*
 * webhttp.h - the web console's HTTP and HTTPS server, in the UI bridge
 * child (libevent's evhttp): static pages from WebConsole.Root or built
 * in, the JSON API under /api/ mapped onto uiapi's requests, console
 * sessions and CSRF (webauth.h), and the peer switch (/api/peer/ID/...,
 * through peerlink.h).  doc/webconsole.md is the contract.
 */
#ifndef GV_WEBHTTP_H
#define GV_WEBHTTP_H

struct child_env;
struct event_base;
struct evhttp_request;

/* Serve the child's web listeners (SVC_WEB, SVC_WEBSSL), if any. */
void	webhttp_init(struct child_env *, struct event_base *);
/* Stop accepting and drop every connection. */
void	webhttp_stop(void);
/*
 * What the server makes of req from its own bytes alone, through the
 * same helpers as a served request (the path's decoding, the routes,
 * the session cookie, a GET's query, the JSON body), without a session, the catalog or
 * a reply: 200 with what it asks for in what ("request clients", "file
 * app.js"), else 400, 404, 405, 413 or 415 with why.  For the fuzzing
 * harness (fuzz/fuzz-http.c), which has libevent parse the request head.
 */
int	webhttp_parse(struct evhttp_request *req, char *what,
	    size_t whatlen);

#endif
