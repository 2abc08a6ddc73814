/*
 * apitokens.h - API tokens of the console's users, for scripts: sent as
 * "Authorization: Bearer TOKEN" to the console's JSON API (webhttp.c),
 * with no cookie and so no CSRF token.  Kept in DataDir/apitokens, one
 * line per token, only a SHA-256 of each (a token is 192 random bits,
 * shown once when it is made):
 *
 *	ID:USER[/UID]:SCOPE:CREATED:LASTUSED:SHA256HEX:LABEL
 *
 * UID is the id of the user the token was made for (admins.h; absent
 * for a user without one): a token is its user's only while the
 * administrators file gives the name that id, never a later user's of
 * the same name.
 * ID is 16 hex digits (the token's first digits after "gvt_"), SCOPE
 * "read" or "full", the times Unix seconds (LASTUSED 0: never), LABEL
 * the rest of the line (0 to APITOK_LABEL_MAX bytes, no control bytes).
 * A line that does not parse makes the file damaged: every token is
 * refused until it is mended.  The file is replaced whole
 * (common/atomicfile.h), mode 0640; the UI bridge and gigavaultctl
 * (admin remove, add, passwd) write it, each read-modify-write under
 * admin_lock() (DataDir/apitokens.lock).
 */
#ifndef GV_APITOKENS_H
#define GV_APITOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "admins.h"

#define APITOK_FILE		"apitokens"	/* in DataDir */
#define APITOK_PREFIX		"gvt_"
#define APITOK_ID_HEX		16
#define APITOK_SECRET_HEX	48
#define APITOK_LEN		(4 + APITOK_ID_HEX + APITOK_SECRET_HEX)
#define APITOK_LABEL_MAX	64
#define APITOK_MAX		1000		/* lines the file may hold */
#define APITOK_PER_USER		50
#define APITOK_USED_EVERY	60	/* seconds between LASTUSED writes */

enum apitok_scope {
	APITOK_READ = 0,	/* "read": what a read-only operator may */
	APITOK_FULL = 1,	/* "full": what its user's role may */
};

struct apitok {
	char		 id[APITOK_ID_HEX + 1];
	char		 user[ADMIN_NAME_MAX + 1];
	uint64_t	 uid;		/* the user's id (admins.h), or 0 */
	int		 scope;		/* enum apitok_scope */
	uint64_t	 created, last_used;
	char		 label[APITOK_LABEL_MAX + 1];
};

/* "read" or "full"; the scope named s, or -1. */
const char *apitok_scope_name(int scope);
int	apitok_scope_parse(const char *s);

/*
 * Make a token for user, whose id is uid (admins.h), with scope and
 * label (checked: at most APITOK_LABEL_MAX bytes, no control bytes; at
 * most APITOK_PER_USER per user): token gets it (NUL-terminated; the
 * only time it is known), *t its line.  0, or -1 with err set.
 */
int	apitok_create(const char *path, const char *user, uint64_t uid,
	    int scope, const char *label, char token[APITOK_LEN + 1],
	    struct apitok *t, char *err, size_t errlen);

/*
 * The tokens of user (every user's with NULL), in file order: *v a
 * malloc'ed array of *n (the caller frees it; NULL when none).  0, or
 * -1 with err set (an unreadable or damaged file).
 */
int	apitok_list(const char *path, const char *user, struct apitok **v,
	    size_t *n, char *err, size_t errlen);

/*
 * Revoke token id of user (any user's with user NULL): it is deleted
 * from the file.  0; -1 with err "no such token" or an I/O error.
 */
int	apitok_revoke(const char *path, const char *user, const char *id,
	    char *err, size_t errlen);
/* Revoke every token of user (its account is gone).  0 or -1 (err). */
int	apitok_revoke_user(const char *path, const char *user, char *err,
	    size_t errlen);

/*
 * Check token (as sent, any bytes): 1 valid, with *t its line (its
 * LASTUSED set to now in the file when it was older than
 * APITOK_USED_EVERY); 0 not a token of the file; -1 the file cannot be
 * read or is damaged (logged).  Constant time in the token's secret.
 */
int	apitok_check(const char *path, const char *token, uint64_t now,
	    struct apitok *t);

#endif
