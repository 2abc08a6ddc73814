/*
 * webauth.c - sessions, tokens, login delays and peer-login challenges
 * of the UI bridge child.  See webauth.h.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "common/crypto.h"
#include "common/monotime.h"
#include "admins.h"
#include "webauth.h"

#define FAIL_SLOTS	256
#define FAIL_MEMORY_MS	(900 * 1000)
#define CHALLENGES	64
#define CHALLENGE_MS	(60 * 1000)

static struct {
	int64_t		 timeout;	/* ms */
	const char	*admins;
	struct wa_session s[WA_SESSIONS];
	struct fail {
		char	 addr[64];
		unsigned n;
		int64_t	 last;		/* mono_ms() */
	}		 fail[FAIL_SLOTS];
	struct challenge {
		char	 user[ADMIN_NAME_MAX + 1];
		char	 nonce[WA_TOKEN_HEX + 1];
		int64_t	 made;		/* mono_ms() */
	}		 ch[CHALLENGES];
	struct pending {
		char	 user[ADMIN_NAME_MAX + 1];
		uint8_t	 secret[ADMIN_TOTP_LEN];
		int64_t	 made;		/* mono_ms(); 0: free */
	}		 totp[WA_TOTP_PENDING];
	uint8_t		 secret[32];	/* for made-up salts */
	int		 have_secret;
} wa;

static int
random_hex(char out[WA_TOKEN_HEX + 1])
{
	uint8_t raw[WA_TOKEN_HEX / 2];

	if (crypto_random(raw, sizeof(raw)) == -1)
		return -1;
	hex_encode(raw, sizeof(raw), out);
	return 0;
}

void
wa_init(int timeout, const char *admins_path)
{
	wa.timeout = (int64_t)timeout * 1000;
	wa.admins = admins_path;
	if (crypto_random(wa.secret, sizeof(wa.secret)) == 0)
		wa.have_secret = 1;
}

const char *
wa_admins(void)
{
	return wa.admins;
}

static int
expired(const struct wa_session *s, int64_t now)
{
	return s->id[0] == '\0' || s->last + wa.timeout < now;
}

struct wa_session *
wa_new(const char *user, int bridge)
{
	int64_t now = mono_ms();
	struct wa_session *slot = &wa.s[0];
	int role;

	for (int i = 0; i < WA_SESSIONS; i++) {
		if (expired(&wa.s[i], now)) {
			slot = &wa.s[i];
			break;
		}
		if (wa.s[i].last < slot->last)
			slot = &wa.s[i];
	}
	memset(slot, 0, sizeof(*slot));
	if (random_hex(slot->id) == -1 || random_hex(slot->csrf) == -1) {
		memset(slot, 0, sizeof(*slot));
		return NULL;
	}
	snprintf(slot->user, sizeof(slot->user), "%s", user);
	role = wa.admins != NULL ? admin_whois(wa.admins, user, &slot->uid) :
	    -1;
	slot->role = role == -1 ? ADMIN_ROLE_OPERATOR : role;
	slot->bridge = bridge;
	slot->last = now;
	return slot;
}

struct wa_session *
wa_find(const char *id, int bridge)
{
	int64_t now = mono_ms();
	uint64_t uid;
	int role;

	if (id == NULL || strlen(id) != WA_TOKEN_HEX)
		return NULL;
	for (int i = 0; i < WA_SESSIONS; i++) {
		struct wa_session *s = &wa.s[i];

		if (expired(s, now) || s->bridge != bridge)
			continue;
		if (crypto_equal(s->id, id, WA_TOKEN_HEX)) {
			/*
			 * The role is the file's now, not the login's: a
			 * user removed or given another role by
			 * gigavaultctl has no session left as before.
			 */
			if (wa.admins != NULL &&
			    ((role = admin_whois(wa.admins, s->user, &uid)) ==
			    -1 || uid != s->uid)) {
				wa_end(s);
				return NULL;
			}
			if (wa.admins != NULL)
				s->role = role;
			s->last = now;
			return s;
		}
	}
	return NULL;
}

void
wa_end(struct wa_session *s)
{
	crypto_wipe(s, sizeof(*s));
}

int
wa_end_user(const char *user)
{
	int n = 0;

	for (int i = 0; i < WA_SESSIONS; i++)
		if (wa.s[i].id[0] != '\0' && strcmp(wa.s[i].user, user) == 0) {
			wa_end(&wa.s[i]);
			n++;
		}
	return n;
}

int
wa_csrf_ok(const struct wa_session *s, const char *csrf)
{
	return csrf != NULL && strlen(csrf) == WA_TOKEN_HEX &&
	    crypto_equal(s->csrf, csrf, WA_TOKEN_HEX);
}

const char *
wa_peer_token(const struct wa_session *s, const char *peer)
{
	for (int i = 0; i < WA_PEER_TOKENS; i++)
		if (s->peers[i].peer[0] != '\0' &&
		    strcmp(s->peers[i].peer, peer) == 0)
			return s->peers[i].token;
	return NULL;
}

void
wa_set_peer_token(struct wa_session *s, const char *peer, const char *token)
{
	int slot = -1;

	for (int i = 0; i < WA_PEER_TOKENS && slot == -1; i++)
		if (strcmp(s->peers[i].peer, peer) == 0)
			slot = i;
	for (int i = 0; i < WA_PEER_TOKENS && slot == -1; i++)
		if (s->peers[i].peer[0] == '\0')
			slot = i;
	if (slot == -1) {	/* full: the first goes */
		memmove(&s->peers[0], &s->peers[1],
		    sizeof(s->peers[0]) * (WA_PEER_TOKENS - 1));
		slot = WA_PEER_TOKENS - 1;
	}
	if (token == NULL) {
		memset(&s->peers[slot], 0, sizeof(s->peers[slot]));
		return;
	}
	snprintf(s->peers[slot].peer, sizeof(s->peers[slot].peer), "%s", peer);
	snprintf(s->peers[slot].token, sizeof(s->peers[slot].token), "%s",
	    token);
}

/* ------------------------------------------------------- login delays */

static struct fail *
fail_find(const char *addr, int make)
{
	int64_t now = mono_ms();
	struct fail *old = &wa.fail[0];

	for (int i = 0; i < FAIL_SLOTS; i++) {
		struct fail *f = &wa.fail[i];

		if (f->n > 0 && f->last + FAIL_MEMORY_MS < now)
			memset(f, 0, sizeof(*f));
		if (f->n > 0 && strcmp(f->addr, addr) == 0)
			return f;
		if (f->last < old->last)
			old = f;
	}
	if (!make)
		return NULL;
	memset(old, 0, sizeof(*old));
	snprintf(old->addr, sizeof(old->addr), "%s", addr);
	return old;
}

unsigned
wa_delay_ms(const char *addr)
{
	struct fail *f = fail_find(addr, 0);

	if (f == NULL || f->n == 0)
		return 0;
	return f->n >= 7 ? 16000 : 250u << (f->n - 1);
}

unsigned
wa_failed(const char *addr)
{
	struct fail *f = fail_find(addr, 1);

	if (f->n < 1000)
		f->n++;
	f->last = mono_ms();
	return wa_delay_ms(addr);
}

void
wa_succeeded(const char *addr)
{
	struct fail *f = fail_find(addr, 0);

	if (f != NULL)
		memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------ peer challenges */

int
wa_challenge(const char *user, struct admin_kdf *kdf,
    char nonce[WA_TOKEN_HEX + 1])
{
	uint8_t key[ADMIN_KEY_LEN], made[CRYPTO_HASH_LEN];
	int64_t now = mono_ms();
	struct challenge *slot = &wa.ch[0];
	int found;

	if ((found = admin_lookup(wa.admins, user, kdf, key)) == -1)
		return -1;
	crypto_wipe(key, sizeof(key));
	if (!found) {
		/* The same made-up salt every time, so names cannot be told. */
		if (!wa.have_secret)
			return -1;
		crypto_hmac(wa.secret, sizeof(wa.secret), user, strlen(user),
		    NULL, 0, made);
		memset(kdf, 0, sizeof(*kdf));
		kdf->N = ADMIN_SCRYPT_N;
		kdf->r = ADMIN_SCRYPT_R;
		kdf->p = ADMIN_SCRYPT_P;
		memcpy(kdf->salt, made, sizeof(kdf->salt));
	}
	for (int i = 0; i < CHALLENGES; i++) {
		if (wa.ch[i].nonce[0] == '\0' ||
		    wa.ch[i].made + CHALLENGE_MS < now) {
			slot = &wa.ch[i];
			break;
		}
		if (wa.ch[i].made < slot->made)
			slot = &wa.ch[i];
	}
	if (random_hex(nonce) == -1)
		return -1;
	snprintf(slot->user, sizeof(slot->user), "%s", user);
	snprintf(slot->nonce, sizeof(slot->nonce), "%s", nonce);
	slot->made = now;
	return 0;
}

void
wa_proof(const uint8_t key[ADMIN_KEY_LEN], const char *nonce,
    const char *server_id, char proof[WA_TOKEN_HEX + 1])
{
	uint8_t mac[CRYPTO_HASH_LEN];

	crypto_hmac(key, ADMIN_KEY_LEN, nonce, strlen(nonce), server_id,
	    strlen(server_id), mac);
	hex_encode(mac, sizeof(mac), proof);
}

int
wa_answer(const char *user, const char *nonce, const char *proof,
    const char *server_id)
{
	uint8_t key[ADMIN_KEY_LEN];
	char want[WA_TOKEN_HEX + 1];
	struct admin_kdf kdf;
	int64_t now = mono_ms();
	struct challenge *c = NULL;
	int found, ok;

	if (strlen(nonce) != WA_TOKEN_HEX || strlen(proof) != WA_TOKEN_HEX)
		return 0;
	for (int i = 0; i < CHALLENGES && c == NULL; i++)
		if (wa.ch[i].nonce[0] != '\0' &&
		    crypto_equal(wa.ch[i].nonce, nonce, WA_TOKEN_HEX))
			c = &wa.ch[i];
	if (c == NULL)
		return 0;
	ok = c->made + CHALLENGE_MS >= now && strcmp(c->user, user) == 0;
	memset(c, 0, sizeof(*c));	/* once only */
	if (!ok)
		return 0;
	if ((found = admin_lookup(wa.admins, user, &kdf, key)) != 1)
		return found;
	wa_proof(key, nonce, server_id, want);
	ok = crypto_equal(want, proof, WA_TOKEN_HEX);
	crypto_wipe(key, sizeof(key));
	crypto_wipe(want, sizeof(want));
	return ok;
}

/* -------------------------------------------------- TOTP enrolments */

static struct pending *
pending_find(const char *user)
{
	int64_t now = mono_ms();

	for (int i = 0; i < WA_TOTP_PENDING; i++) {
		struct pending *p = &wa.totp[i];

		if (p->made != 0 && p->made + WA_TOTP_PENDING_MS < now)
			crypto_wipe(p, sizeof(*p));
		if (p->made != 0 && strcmp(p->user, user) == 0)
			return p;
	}
	return NULL;
}

int
wa_totp_begin(const char *user, uint8_t secret[ADMIN_TOTP_LEN])
{
	struct pending *p = pending_find(user);

	if (p == NULL) {
		p = &wa.totp[0];
		for (int i = 0; i < WA_TOTP_PENDING; i++) {
			if (wa.totp[i].made == 0) {
				p = &wa.totp[i];
				break;
			}
			if (wa.totp[i].made < p->made)
				p = &wa.totp[i];
		}
	}
	crypto_wipe(p, sizeof(*p));
	if (crypto_random(p->secret, sizeof(p->secret)) == -1)
		return -1;
	snprintf(p->user, sizeof(p->user), "%s", user);
	p->made = mono_ms();
	memcpy(secret, p->secret, ADMIN_TOTP_LEN);
	return 0;
}

int
wa_totp_pending(const char *user, uint8_t secret[ADMIN_TOTP_LEN])
{
	struct pending *p = pending_find(user);

	if (p == NULL)
		return 0;
	memcpy(secret, p->secret, ADMIN_TOTP_LEN);
	return 1;
}

void
wa_totp_forget(const char *user)
{
	struct pending *p = pending_find(user);

	if (p != NULL)
		crypto_wipe(p, sizeof(*p));
}
