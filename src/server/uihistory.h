/*
 * uihistory.h - the console's history requests (doc/webconsole.md,
 * "History"): rows of req_history()'s table in uiapi.c's requests[].
 */
#ifndef GV_UIHISTORY_H
#define GV_UIHISTORY_H

struct ui_call;

/*
 * "history": rows of the catalog's history, newest first, with the
 * filters client, kind, result, since (Unix seconds), before (an id,
 * for the next page) and limit (1..UIHISTORY_LIMIT_MAX, default
 * UIHISTORY_LIMIT).  "history_entry": the row of id (or name: the
 * console's GET /api/history/ID).
 */
#define UIHISTORY_LIMIT		50
#define UIHISTORY_LIMIT_MAX	500
void	req_history(struct ui_call *);
void	req_history_entry(struct ui_call *);

#endif
