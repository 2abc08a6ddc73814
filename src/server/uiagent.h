/*
 * uiagent.h - the console's requests that go through a client's agent
 * (protocol version 5): browse a snapshot's directory, restore paths of
 * it, and read the agent's answer.  The server cannot read a snapshot
 * (it holds only encrypted data); the agent has the keys.  Rows of
 * uiapi.c's requests[]; doc/webconsole.md "Browse and restore".
 */
#ifndef GV_UIAGENT_H
#define GV_UIAGENT_H

struct ui_call;

/*
 * "client_browse": name, snapshot, path ("" or "/": its root), offset
 * (the first entry of a page, 0 by default).  Queues a browse request
 * for the client's agent: 200 {"id", "set", "agent_seen",
 * "agent_name"}; 400 bad arguments, 404 no such client or snapshot,
 * 409 the client is disabled or CAT_PENDING_MAX of its browse and
 * restore requests wait already ("too many requests pending for this
 * client").
 */
void	ui_client_browse(struct ui_call *);
/*
 * "client_restore": name, snapshot, paths (a list of 1 to 64 absolute
 * paths in the snapshot), where ("original", "overwrite" or
 * "directory") and dir (absolute, with "directory" only).  Queues a
 * restore request: 200 {"id", "set", "agent_seen", "agent_name"};
 * 400, 404, 409 as client_browse.
 */
void	ui_client_restore(struct ui_call *);
/*
 * "client_answer": name, req (the request's id; "id" is the bridge's
 * own).  200 {"id", "state": "pending" |
 * "started" | "done" | "failed", "kind": "browse" | "restore",
 * "taken" (pending: when the agent took it, or null), "agent_seen",
 * "answer" (the agent's JSON, when not pending)}; a read: a final
 * answer may be read again until it expires an hour after it came, and
 * a request the agent did not end is "failed" with the server's
 * {"error"} (catalog.h, "browse and restore").  404: no such request or
 * answer (expired, never made); 502: the agent's answer is not JSON.
 */
void	ui_client_answer(struct ui_call *);

#endif
