/*
 * admins.h - the web console's administrators: DataDir/admins, one line
 * per administrator with a scrypt hash of the password:
 *
 *	name:scrypt:N:r:p:SALTHEX:KEYHEX:changed[:role[:TOTPHEX:step[:UID]]]
 *
 * role is "admin" (an administrator: may change things) or "operator"
 * (a read-only operator: sees everything, changes nothing but the own
 * password); a line without it (every file written before roles) is an
 * administrator, and an administrator's line is written without it.
 * TOTPHEX is the user's TOTP secret (RFC 6238: HMAC-SHA-1, 6 digits,
 * 30 s steps) and step the last time step a code was taken at (codes of
 * that step and older are refused: a code is never taken twice); both
 * are absent when the user has no TOTP.  UID (16 hex digits, not all
 * zero) is the user's id, random when the user was added: a line with
 * it has every field (TOTPHEX empty without TOTP, step 0).  A former
 * user of the same name had another id, so that its API tokens and
 * console sessions, which carry the id, are not the new user's.  A line
 * without it (added before ids) has the id 0.
 *
 * gigavaultctl writes the file (admin add, passwd, remove), and so does
 * the console's Administrators page (uiadmins.c) and every TOTP login
 * (the step taken); the UI bridge reads it at each login and request, so
 * changes apply at once.  The file is replaced whole (temporary file,
 * rename), mode 0640; every read-modify-write holds admin_lock() on it.
 */
#ifndef GV_ADMINS_H
#define GV_ADMINS_H

#include <stddef.h>
#include <stdint.h>

#define ADMIN_FILE	"admins"	/* in DataDir */
#define ADMIN_NAME_MAX	64
#define ADMIN_SALT_LEN	16
#define ADMIN_KEY_LEN	32
#define ADMIN_PASS_MIN	8		/* characters a new password needs */
#define ADMIN_PASS_MAX	1024
#define ADMIN_MAX	1000		/* lines the file may hold */
#define ADMIN_TOTP_LEN	20		/* bytes of a TOTP secret (160 bits) */
#define ADMIN_TOTP_DIGITS 6
#define ADMIN_TOTP_STEP	30		/* seconds */
#define ADMIN_TOTP_WINDOW 1		/* steps early or late accepted */
#define ADMIN_TOTP_B32	40		/* base32 characters of a secret, +1 */

/* The roles; a zeroed struct (ui_call's) is the read-only one. */
enum admin_role {
	ADMIN_ROLE_OPERATOR = 0,	/* read-only operator */
	ADMIN_ROLE_ADMIN = 1,		/* administrator */
};

/*
 * An exclusive flock(2) on PATH.lock (created mode 0640 when missing),
 * for a read-modify-write of the file at path (the administrators file,
 * DataDir/apitokens) that the daemon and gigavaultctl both write:
 * waits for the other holder.  The lock's descriptor, which
 * admin_unlock() closes (-1 is ignored there), or -1 with err set.
 */
int	admin_lock(const char *path, char *err, size_t errlen);
void	admin_unlock(int fd);

/* "operator" or "admin" ("?" for anything else). */
const char *admin_role_name(int role);
/* The role named s, or -1. */
int	admin_role_parse(const char *s);

/* How a password becomes a key: scrypt(password, salt, N, r, p). */
struct admin_kdf {
	uint64_t	 N;
	uint32_t	 r, p;
	uint8_t		 salt[ADMIN_SALT_LEN];
};

/* The parameters of new hashes (about 32 MiB and 0.1 s). */
#define ADMIN_SCRYPT_N	32768
#define ADMIN_SCRYPT_R	8
#define ADMIN_SCRYPT_P	1

/* 1 when name is 1..ADMIN_NAME_MAX of [A-Za-z0-9._-], not starting
 * with '.' or '-'; else 0. */
int	admin_name_valid(const char *name);

/* The key of password under kdf (the scrypt parameters are checked:
 * N a power of two from 2^10 to 2^20, r 1..32, p 1..16).  0 or -1. */
int	admin_derive(const char *password, const struct admin_kdf *kdf,
	    uint8_t key[ADMIN_KEY_LEN]);

/*
 * Look name up in the file at path: 1 with its kdf and key, 0 when there
 * is no such administrator (or no file), -1 when the file cannot be
 * read or is damaged (logged).
 */
int	admin_lookup(const char *path, const char *name,
	    struct admin_kdf *kdf, uint8_t key[ADMIN_KEY_LEN]);

/*
 * Check name's password: 1 right, 0 wrong or no such administrator
 * (which costs the same time), -1 error (logged).
 */
int	admin_verify(const char *path, const char *name, const char *password);

/* How many administrators the file lists (0 without a file), or -1. */
int	admin_count(const char *path);

/* name's role (enum admin_role), or -1 when there is no such
 * administrator or the file cannot be read (logged).  admin_whois: the
 * same, with *uid its id (0 for a line without one, and on -1). */
int	admin_role_of(const char *path, const char *name);
int	admin_whois(const char *path, const char *name, uint64_t *uid);

/* One line of the file, as admin_list() shows it. */
struct admin_info {
	const char	*name;
	uint64_t	 changed;	/* when the password was set */
	int		 role;		/* enum admin_role */
	int		 totp;		/* 1: has a TOTP second factor */
};

/*
 * For gigavaultctl and the console.  admin_put: with a password, give
 * name a new salt and the hash of password; with role (not -1), give
 * name that role (a new name without a role is an administrator);
 * create says whether name must be new (then it needs a password), else
 * it must exist.  admin_set is admin_put without a role.  admin_remove:
 * delete name.  Neither leaves users behind without one of the
 * administrator role: demoting the last one is refused, so is adding a
 * read-only operator as the first user, and so is removing the last
 * administrator while others remain (removing the only line is allowed).
 * All 0, or -1 with a message in err ("no administrator named ...",
 * "... exists already", "... is the last administrator", I/O errors).
 * admin_list: call fn for every line, in file order (ai and its name
 * valid during the call only); 0 or -1 with err.
 */
int	admin_put(const char *path, const char *name, const char *password,
	    int create, int role, char *err, size_t errlen);
int	admin_set(const char *path, const char *name, const char *password,
	    int create, char *err, size_t errlen);
int	admin_remove(const char *path, const char *name, char *err,
	    size_t errlen);
int	admin_list(const char *path, void (*fn)(void *arg,
	    const struct admin_info *ai), void *arg, char *err, size_t errlen);

/*
 * TOTP (liboath).  admin_totp_set: give name the secret (NULL: no TOTP
 * any more) and step as the last step taken; 0, or -1 with err.
 * admin_totp_match: whether code (6 digits) is secret's at now, one
 * step early or late allowed: 1 with *step the step it belongs to, or
 * 0 (also for anything but 6 digits).  admin_totp_check: for a login
 * of name: 1 the code is right and newer than the last one taken (its
 * step is recorded in the file), 0 wrong or taken already, 2 name has
 * no TOTP (or there is no such name), -1 error (logged).
 */
int	admin_totp_set(const char *path, const char *name,
	    const uint8_t secret[ADMIN_TOTP_LEN], uint64_t step, char *err,
	    size_t errlen);
int	admin_totp_match(const uint8_t secret[ADMIN_TOTP_LEN],
	    const char *code, uint64_t now, uint64_t *step);
int	admin_totp_check(const char *path, const char *name,
	    const char *code, uint64_t now);
/*
 * The secret in base32 without padding (b32, ADMIN_TOTP_B32 bytes is
 * enough) and the otpauth:// URI an authenticator app takes (for name,
 * issuer GigaVault), for enrolment.  0, or -1 (too small, no memory).
 */
int	admin_totp_uri(const char *name, const uint8_t secret[ADMIN_TOTP_LEN],
	    char *b32, size_t b32len, char *uri, size_t urilen);

#endif
