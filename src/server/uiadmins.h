/*
 * uiadmins.h - the UI bridge's requests about the console's users
 * (uiapi.c's table names them; doc/webconsole.md, "Administrators"):
 * list, add, remove, change a role, change a password.  Each answers
 * its call with ui_finish() (uicall.h) and writes the administrators
 * file through admins.h.
 */
#ifndef GV_UIADMINS_H
#define GV_UIADMINS_H

struct ui_call;

/* "admins" (UI_MANAGE): every user: name, role, when the password was
 * set, and whether it is the asker. */
void	req_admins(struct ui_call *);
/* "admin_add" (UI_MANAGE, writes): "name", "password", "role"; 201. */
void	req_admin_add(struct ui_call *);
/* "admin_remove" (UI_MANAGE, writes): "name"; never the asker, never
 * the last administrator (409).  The user's sessions end. */
void	req_admin_remove(struct ui_call *);
/* "admin_role" (UI_MANAGE, writes): "name", "role"; the last
 * administrator keeps the role (409).  The user's sessions end, so the
 * new role applies from the next login. */
void	req_admin_role(struct ui_call *);
/*
 * "admin_passwd" (UI_SELF, writes): "password" (the new one) and
 * "current" (the asker's own password) for the asker's own account; with
 * "name" another user's, which needs the administrator role (403) and
 * ends that user's sessions.  A wrong "current" is 403.
 */
void	req_admin_passwd(struct ui_call *);

/*
 * The asker's API tokens (apitokens.h).  "tokens" (UI_SELF): the list,
 * never a token itself.  "token_create" (UI_SELF, writes): "label"
 * (optional) and "scope" ("read", the default, or "full", which a
 * read-only operator may not ask: 403); 201 with the token, shown this
 * once.  "token_revoke" (UI_SELF, writes): "name" is the token's id;
 * 404 when the asker has no such token.
 */
void	req_tokens(struct ui_call *);

/*
 * "account" (UI_SELF): the asker's name, role, whether it has TOTP and
 * whether an enrolment waits for its first code.
 * TOTP (admins.h): "totp_enroll" (UI_SELF, writes): a new secret, kept
 * waiting (webauth.h) until "totp_confirm" (UI_SELF, writes) gets a
 * right "code" for it (400 otherwise), which makes it the asker's
 * second factor; answers {"secret" (base32), "uri" (otpauth://)}.
 * "totp_disable" (UI_SELF, writes): the asker's own with "current" (its
 * password, 403 when wrong); another's with "name", which needs the
 * administrator role.
 */
void	req_account(struct ui_call *);
void	req_totp_enroll(struct ui_call *);
void	req_totp_confirm(struct ui_call *);
void	req_totp_disable(struct ui_call *);
void	req_token_create(struct ui_call *);
void	req_token_revoke(struct ui_call *);

#endif
