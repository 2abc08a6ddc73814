/*
 * uiactions.h - the console's actions on a client and its snapshots,
 * handlers of uiapi.c's requests[] rows of the same names without
 * "uia_" (doc/webconsole.md, "Actions").  Each answers its call once
 * through uicall.h; arguments: "name" (the client) and, as each says,
 * "set", "snapshot", "confirm" and the rules keep_last ... keep_yearly.
 */
#ifndef GV_UIACTIONS_H
#define GV_UIACTIONS_H

struct ui_call;

/* The client's retention: each set's policy in force and its source. */
void	uia_client_policy(struct ui_call *);
/* Set / clear the policy of a set ("" or absent: the client's default). */
void	uia_policy_set(struct ui_call *);
void	uia_policy_clear(struct ui_call *);
/* One snapshot ("snapshot": its id): its row, protect flag, verdict. */
void	uia_snapshot(struct ui_call *);
void	uia_snapshot_protect(struct ui_call *);
void	uia_snapshot_unprotect(struct ui_call *);
/* Forget one snapshot: needs "confirm": true; 409 protected or kept. */
void	uia_snapshot_forget(struct ui_call *);
/* A new one-time enrollment token (201 {"name","token"}), shown once. */
void	uia_client_token(struct ui_call *);
/* Allow or deny the client's FORGET of snapshots its policy keeps. */
void	uia_client_allow_forget(struct ui_call *);
void	uia_client_deny_forget(struct ui_call *);

/*
 * Whether c's "confirm" argument confirms action what (a word for the
 * error): JSON true, or the string want when want is not NULL (remove
 * asks for the client's name).  0, or -1 after answering c with 400.
 */
int	uiactions_confirmed(struct ui_call *c, const char *what,
	    const char *want);

#endif
