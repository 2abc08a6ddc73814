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

/* Serve the child's web listeners (SVC_WEB, SVC_WEBSSL), if any. */
void	webhttp_init(struct child_env *, struct event_base *);
/* Stop accepting and drop every connection. */
void	webhttp_stop(void);

#endif
