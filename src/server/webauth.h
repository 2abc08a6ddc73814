/*
 * webauth.h - who is logged in to the UI bridge child: console sessions
 * (cookie + CSRF token), bridge tokens (a peer's console logged in
 * through the peer switch), the challenges of peer logins, and the
 * growing delay after failed logins.  All state is in this process's
 * memory: a restart logs everyone out.
 */
#ifndef GV_WEBAUTH_H
#define GV_WEBAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "admins.h"

#define WA_TOKEN_HEX	64		/* session ids, CSRF and bridge tokens */
#define WA_SESSIONS	256		/* the oldest goes when full */
#define WA_PEER_TOKENS	8		/* peers one console session is logged in to */

struct wa_session {
	char		 id[WA_TOKEN_HEX + 1];
	char		 csrf[WA_TOKEN_HEX + 1];
	char		 user[ADMIN_NAME_MAX + 1];
	int		 role;		/* enum admin_role, at the last use */
	uint64_t	 uid;		/* the user's id (admins.h) */
	int64_t		 last;		/* mono_ms() of the last use */
	int		 bridge;	/* a bridge token, not a cookie */
	struct {
		char	 peer[SERVER_ID_HEX + 1];
		char	 token[WA_TOKEN_HEX + 1];
	}		 peers[WA_PEER_TOKENS];
};

/* Set the idle timeout (seconds) and the administrators file. */
void	wa_init(int timeout, const char *admins_path);
/* The administrators file wa_init() was given (NULL before). */
const char *wa_admins(void);

/*
 * A new session for user (bridge: a bridge token), with user's role as
 * the administrators file has it now (a read-only operator when it
 * cannot be read).  The returned entry stays valid until the next wa_*
 * call that creates or ends sessions.  NULL when no random numbers.
 */
struct wa_session *wa_new(const char *user, int bridge);
/*
 * The live session with this id (touched), its role read again from the
 * administrators file; NULL when there is none, and (the session ended)
 * when its user is no longer in the file (or is another user of the
 * same name, with another id) or the file cannot be read.
 */
struct wa_session *wa_find(const char *id, int bridge);
void	wa_end(struct wa_session *);
/* End every session and bridge token of user; how many there were. */
int	wa_end_user(const char *user);

/*
 * TOTP enrolments waiting for their first code (in memory, one per user,
 * WA_TOTP_PENDING_MS; the oldest goes when WA_TOTP_PENDING are).
 * wa_totp_begin: a new random secret for user, replacing any it had
 * waiting; 0, or -1 without random numbers.  wa_totp_pending: 1 with
 * user's secret waiting, else 0.  wa_totp_forget: drop it.
 */
#define WA_TOTP_PENDING		32
#define WA_TOTP_PENDING_MS	(10 * 60 * 1000)
int	wa_totp_begin(const char *user, uint8_t secret[ADMIN_TOTP_LEN]);
int	wa_totp_pending(const char *user, uint8_t secret[ADMIN_TOTP_LEN]);
void	wa_totp_forget(const char *user);
/* 1 when csrf is s's token (constant time). */
int	wa_csrf_ok(const struct wa_session *s, const char *csrf);
/* A console session's token for peer (NULL when none); set/forget it. */
const char *wa_peer_token(const struct wa_session *, const char *peer);
void	wa_set_peer_token(struct wa_session *, const char *peer,
	    const char *token);

/*
 * Failed-login delay for address addr, in milliseconds: 0 after no
 * failure, then 250, 500, 1000, ... up to 16000 per earlier failure in
 * the last 15 minutes.  wa_failed() counts one and returns the delay
 * to answer it after; wa_succeeded() forgets the address.
 */
unsigned wa_delay_ms(const char *addr);
unsigned wa_failed(const char *addr);
void	wa_succeeded(const char *addr);

/*
 * Peer login by challenge (doc/webconsole.md): wa_challenge() fills
 * kdf (the user's, or a made-up but stable one for an unknown name) and
 * a fresh nonce (hex); wa_answer() checks proof (hex HMAC-SHA-256 under
 * the user's key of the nonce and server_id) once: 1 right, 0 wrong or
 * unknown or expired, -1 error.
 */
int	wa_challenge(const char *user, struct admin_kdf *kdf,
	    char nonce[WA_TOKEN_HEX + 1]);
int	wa_answer(const char *user, const char *nonce, const char *proof,
	    const char *server_id);
/* The proof for a challenge (the asking side of the peer switch). */
void	wa_proof(const uint8_t key[ADMIN_KEY_LEN], const char *nonce,
	    const char *server_id, char proof[WA_TOKEN_HEX + 1]);

#endif
