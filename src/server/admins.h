/*
 * admins.h - the web console's administrators: DataDir/admins, one line
 * per administrator with a scrypt hash of the password:
 *
 *	name:scrypt:N:r:p:SALTHEX:KEYHEX:changed
 *
 * gigavaultctl writes the file (admin add, passwd, remove); the UI
 * bridge reads it at each login, so changes apply at once.  The file is
 * replaced whole (temporary file, rename), mode 0640.
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

/*
 * For gigavaultctl.  admin_set: give name a new salt and the hash of
 * password; create says whether name must be new (else it must exist).
 * admin_remove: delete name.  Both 0, or -1 with a message in err
 * ("no administrator named ...", "... exists already", I/O errors).
 * admin_list: call fn for every line, in file order; 0 or -1 with err.
 */
int	admin_set(const char *path, const char *name, const char *password,
	    int create, char *err, size_t errlen);
int	admin_remove(const char *path, const char *name, char *err,
	    size_t errlen);
int	admin_list(const char *path, void (*fn)(void *arg, const char *name,
	    uint64_t changed), void *arg, char *err, size_t errlen);

#endif
