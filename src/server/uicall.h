/*
 * uicall.h - what the handlers of the UI bridge's requests share: the
 * request table is uiapi.c's (uiapi.h); a handler, in uiapi.c or in a
 * ui*.c file of its own topic, answers its call with ui_finish() exactly
 * once and reads the catalog through ui_cat().  Only the UI-bridge child
 * uses these.
 */
#ifndef GV_UICALL_H
#define GV_UICALL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct cat_client;
struct catalog;
struct child_env;
struct gv_config;
struct ui_call;

/* Called by uiapi_init() and uiapi_free(). */
void	uicall_init(struct child_env *);
void	uicall_free(void);	/* closes the catalog */

/*
 * Answer c: status is HTTP-like; body is stolen (NULL: 500 "internal
 * error").  When the transport has gone (uiapi_cancel()), frees c and
 * its args instead; c must not be used after this.
 */
void	ui_finish(struct ui_call *c, int status, json_t *body);

/*
 * The catalog, opened on first use (read-write for the tables the UI
 * bridge writes, uicall.c's UIAPI_WRITES); NULL, logged, when it cannot
 * be opened.  Owned by uicall.c until uicall_free().
 */
struct catalog *ui_cat(void);
/* ui_cat(), or NULL after answering c with 503. */
struct catalog *ui_cat_or_fail(struct ui_call *c);
/* Log the catalog's last error and answer c with 500. */
void	ui_cat_failed(struct ui_call *c);

/* A string argument of c of 1..max bytes, or NULL. */
const char *ui_arg_str(struct ui_call *c, const char *key, size_t max);
/*
 * An unsigned integer argument: a JSON integer or a string of decimal
 * digits (a GET's query gives strings), min..max; *out gets def when it
 * is absent.  0, or -1 after answering c with 400.
 */
int	ui_arg_uint(struct ui_call *c, const char *key, uint64_t min,
	    uint64_t max, uint64_t def, uint64_t *out);

/*
 * Text from outside (an agent's error, its name) as a JSON string, at
 * most len bytes, non-UTF-8 bytes and control characters but newline
 * and tab shown as '?'.  NULL only when out of memory.
 */
json_t *ui_text_json(const char *text, size_t len);
/* Unix seconds, or null for 0 (never, none). */
json_t *ui_time_json(int64_t t);

/*
 * The client the "name" argument names into *cl (its secret wiped): 0,
 * or -1 after answering c (400 not a client name, 404 no such client,
 * 503 or 500 the catalog).
 */
int	ui_client(struct ui_call *c, struct cat_client *cl);

/* The daemon's configuration (the UI-bridge child's), for handlers. */
const struct gv_config *ui_config(void);

#endif
