/*
 * unit-webauth.c - the administrators file (src/server/admins.c) and the
 * console's sessions, CSRF tokens, login delays and peer-login
 * challenges (src/server/webauth.c).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <unistd.h>

#include "server/admins.h"
#include "server/webauth.h"
#include "tap.h"

static int listed;

static int operators;

static void
count(void *arg, const struct admin_info *ai)
{
	(void)arg;
	listed += ai->changed > 0;
	operators += ai->role == ADMIN_ROLE_OPERATOR;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

int
main(void)
{
	char dir[] = "/tmp/gv-unit-webauth.XXXXXX", path[256], err[512];
	char nonce[WA_TOKEN_HEX + 1], proof[WA_TOKEN_HEX + 1], csrf[80];
	const char *sid = "0123456789abcdef0123456789abcdef";
	struct wa_session *s, *b;
	struct admin_kdf kdf, kdf2;
	uint8_t key[ADMIN_KEY_LEN];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/admins", dir);

	/* The file. */
	ok(admin_count(path) == 0, "no file: no administrators");
	ok(admin_verify(path, "alice", "whatever1") == 0, "no file: refused");
	ok(admin_set(path, "alice", "short", 1, err, sizeof(err)) == -1 &&
	    strstr(err, "8 to") != NULL, "a short password is refused");
	ok(admin_set(path, "-x", "longenough", 1, err, sizeof(err)) == -1,
	    "a name starting with - is refused");
	ok(admin_set(path, "al:ice", "longenough", 1, err, sizeof(err)) == -1,
	    "a name with : is refused");
	ok(admin_set(path, "alice", "correct horse", 1, err, sizeof(err)) == 0,
	    "alice added");
	ok(admin_set(path, "alice", "other pass", 1, err, sizeof(err)) == -1 &&
	    strstr(err, "exists") != NULL, "added twice: refused");
	ok(admin_set(path, "bob", "bob's password", 1, err, sizeof(err)) == 0,
	    "bob added");
	ok(admin_count(path) == 2, "two administrators");
	ok(admin_verify(path, "alice", "correct horse") == 1, "right password");
	ok(admin_verify(path, "alice", "correct horsE") == 0, "wrong password");
	ok(admin_verify(path, "bob", "correct horse") == 0,
	    "another's password");
	ok(admin_verify(path, "carol", "correct horse") == 0, "unknown name");
	ok(admin_set(path, "carol", "new password", 0, err, sizeof(err)) == -1,
	    "passwd of an unknown name is refused");
	ok(admin_set(path, "alice", "new password", 0, err, sizeof(err)) == 0 &&
	    admin_verify(path, "alice", "new password") == 1 &&
	    admin_verify(path, "alice", "correct horse") == 0,
	    "passwd replaces the password");
	ok(admin_lookup(path, "bob", &kdf, key) == 1 && kdf.N == ADMIN_SCRYPT_N,
	    "lookup gives the scrypt parameters");
	ok(admin_lookup(path, "alice", &kdf2, key) == 1 &&
	    memcmp(kdf.salt, kdf2.salt, sizeof(kdf.salt)) != 0,
	    "every administrator has a salt of its own");
	listed = 0;
	ok(admin_list(path, count, NULL, err, sizeof(err)) == 0 && listed == 2,
	    "list shows both");
	ok(admin_remove(path, "bob", err, sizeof(err)) == 0 &&
	    admin_count(path) == 1 && admin_verify(path, "bob",
	    "bob's password") == 0, "bob removed");
	ok(admin_remove(path, "bob", err, sizeof(err)) == -1,
	    "removing twice is refused");

	/* Roles. */
	ok(admin_role_of(path, "alice") == ADMIN_ROLE_ADMIN,
	    "a line without a role is an administrator");
	ok(admin_remove(path, "alice", err, sizeof(err)) == 0 &&
	    admin_count(path) == 0, "the only line may be removed");
	ok(admin_put(path, "olga", "olga's password", 1, ADMIN_ROLE_OPERATOR,
	    err, sizeof(err)) == -1 && strstr(err, "first user") != NULL &&
	    admin_count(path) == 0, "the first user cannot be an operator");
	write_file(path, "alice:scrypt:32768:8:1:00112233445566778899aabbccddeeff:"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:1\n");
	ok(admin_role_of(path, "alice") == ADMIN_ROLE_ADMIN,
	    "a file from before roles: an administrator");
	ok(admin_put(path, "olga", "olga's password", 1, ADMIN_ROLE_OPERATOR,
	    err, sizeof(err)) == 0 && admin_role_of(path, "olga") ==
	    ADMIN_ROLE_OPERATOR, "an operator added");
	ok(admin_put(path, "alice", NULL, 0, ADMIN_ROLE_OPERATOR, err,
	    sizeof(err)) == -1 && strstr(err, "last administrator") != NULL,
	    "the last administrator cannot be demoted");
	ok(admin_remove(path, "alice", err, sizeof(err)) == -1 &&
	    strstr(err, "last administrator") != NULL,
	    "nor removed while an operator remains");
	ok(admin_role_of(path, "alice") == ADMIN_ROLE_ADMIN &&
	    admin_verify(path, "olga", "olga's password") == 1,
	    "a refused change changes nothing");
	ok(admin_put(path, "olga", NULL, 0, ADMIN_ROLE_ADMIN, err,
	    sizeof(err)) == 0 && admin_put(path, "alice", NULL, 0,
	    ADMIN_ROLE_OPERATOR, err, sizeof(err)) == 0 &&
	    admin_role_of(path, "alice") == ADMIN_ROLE_OPERATOR &&
	    admin_verify(path, "olga", "olga's password") == 1,
	    "with another administrator, one may be demoted (password kept)");
	listed = operators = 0;
	ok(admin_list(path, count, NULL, err, sizeof(err)) == 0 &&
	    listed == 2 && operators == 1, "list shows the roles");
	ok(admin_set(path, "alice", "yet another", 0, err, sizeof(err)) == 0 &&
	    admin_role_of(path, "alice") == ADMIN_ROLE_OPERATOR,
	    "passwd keeps the role");
	write_file(path, "alice:scrypt:32768:8:1:00112233445566778899aabbccddeeff:"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:1:"
	    "root\n");
	ok(admin_count(path) == -1, "an unknown role is damage");
	write_file(path, "alice:scrypt:32768:8:1:00112233445566778899aabbccddeeff:"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:1:"
	    "admin:x\n");
	ok(admin_count(path) == -1, "a field more than known is damage");

	/* TOTP: RFC 6238's SHA-1 vectors (their last 6 digits). */
	{
		const uint8_t rfc[ADMIN_TOTP_LEN] = "12345678901234567890";
		uint64_t step;

		unlink(path);
		ok(admin_set(path, "boss", "boss password", 1, err,
		    sizeof(err)) == 0 && admin_put(path, "alice", "yet another",
		    1, ADMIN_ROLE_OPERATOR, err, sizeof(err)) == 0,
		    "a file again");

		ok(admin_totp_match(rfc, "287082", 59, &step) == 1 &&
		    step == 1, "RFC 6238 at T=59");
		ok(admin_totp_match(rfc, "081804", 1111111109, &step) == 1 &&
		    step == 1111111109 / 30, "RFC 6238 at T=1111111109");
		ok(admin_totp_match(rfc, "081804", 1111111109 + 30, &step) ==
		    1 && step == 1111111109 / 30, "one step late is taken");
		ok(admin_totp_match(rfc, "081804", 1111111109 + 60, &step) == 0,
		    "two steps late is not");
		ok(admin_totp_match(rfc, "81804", 1111111109, &step) == 0 &&
		    admin_totp_match(rfc, "0818040", 1111111109, &step) == 0 &&
		    admin_totp_match(rfc, NULL, 1111111109, &step) == 0,
		    "only 6 digits");
		ok(admin_totp_check(path, "alice", "081804", 1111111109) == 2,
		    "no TOTP: 2");
		ok(admin_totp_set(path, "alice", rfc, 0, err, sizeof(err)) == 0 &&
		    admin_role_of(path, "alice") == ADMIN_ROLE_OPERATOR,
		    "TOTP set, the role kept");
		ok(admin_totp_check(path, "alice", "081804", 1111111109) == 1,
		    "a right code");
		ok(admin_totp_check(path, "alice", "081804", 1111111109) == 0,
		    "the same code again is refused");
		ok(admin_set(path, "alice", "yet another2", 0, err,
		    sizeof(err)) == 0 && admin_totp_check(path, "alice",
		    "287082", 59) == 0, "passwd keeps TOTP and its last step");
		ok(admin_totp_set(path, "alice", NULL, 0, err, sizeof(err)) ==
		    0 && admin_totp_check(path, "alice", "287082", 59) == 2,
		    "TOTP off");
	}
	write_file(path, "alice:scrypt:32768:8:1:00112233445566778899aabbccddeeff:"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:1:"
	    "admin:0011\n");
	ok(admin_count(path) == -1, "a TOTP secret without its step is damage");

	/* A damaged file refuses everyone rather than skipping a line. */
	write_file(path, "alice:scrypt:32768:8:1:00:11:0\n");
	ok(admin_verify(path, "alice", "new password") == -1,
	    "a damaged line is an error");
	write_file(path, "alice:scrypt:3:8:1:00112233445566778899aabbccddeeff:"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:1\n");
	ok(admin_count(path) == -1, "N not a power of two is damage");
	write_file(path, "alice:scrypt:1048576000:8:1:00112233445566778899aabbccddeeff:"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:1\n");
	ok(admin_count(path) == -1, "a huge N is damage, not a memory bomb");
	unlink(path);

	/* Sessions and CSRF. */
	ok(admin_set(path, "alice", "correct horse", 1, err, sizeof(err)) == 0,
	    "alice again");
	wa_init(3600, path);
	s = wa_new("alice", 0);
	ok(s != NULL && strlen(s->id) == WA_TOKEN_HEX, "a session");
	ok(s->role == ADMIN_ROLE_ADMIN, "it has alice's role");
	ok(admin_put(path, "olga", "olga's password", 1, ADMIN_ROLE_OPERATOR,
	    err, sizeof(err)) == 0, "an operator added");
	b = wa_new("olga", 1);
	ok(b != NULL && b->role == ADMIN_ROLE_OPERATOR && wa_new("mallory", 0)->role ==
	    ADMIN_ROLE_OPERATOR, "an operator's session, and an unknown "
	    "name's, are read-only");
	snprintf(csrf, sizeof(csrf), "%s", b->id);
	ok(wa_end_user("olga") == 1 && wa_find(csrf, 1) == NULL,
	    "wa_end_user ends the user's sessions");
	ok(wa_find(s->id, 0) == s, "found by its id");
	ok(wa_find(s->id, 1) == NULL, "a cookie is not a bridge token");
	snprintf(csrf, sizeof(csrf), "%s", s->csrf);
	ok(wa_csrf_ok(s, csrf), "its CSRF token");
	csrf[0] = csrf[0] == 'a' ? 'b' : 'a';
	ok(!wa_csrf_ok(s, csrf), "a changed CSRF token is refused");
	ok(!wa_csrf_ok(s, NULL) && !wa_csrf_ok(s, ""), "no CSRF token");
	wa_set_peer_token(s, sid, "t0");
	ok(wa_peer_token(s, sid) != NULL &&
	    strcmp(wa_peer_token(s, sid), "t0") == 0, "a peer token is kept");
	wa_end(s);
	ok(wa_find(csrf, 0) == NULL, "an ended session is gone");

	/* Ids: a session is its user's, not a later user's of the name. */
	{
		uint64_t u1, u2;

		ok(admin_put(path, "kim", "kim's password", 1,
		    ADMIN_ROLE_OPERATOR, err, sizeof(err)) == 0 &&
		    admin_whois(path, "kim", &u1) == ADMIN_ROLE_OPERATOR &&
		    u1 != 0, "a new user has an id");
		b = wa_new("kim", 0);
		snprintf(csrf, sizeof(csrf), "%s", b->id);
		ok(admin_put(path, "kim", NULL, 0, ADMIN_ROLE_ADMIN, err,
		    sizeof(err)) == 0 && wa_find(csrf, 0) == b &&
		    b->role == ADMIN_ROLE_ADMIN,
		    "a session takes a new role at its next use");
		ok(admin_remove(path, "kim", err, sizeof(err)) == 0 &&
		    admin_put(path, "kim", "kim's password", 1,
		    ADMIN_ROLE_ADMIN, err, sizeof(err)) == 0 &&
		    admin_whois(path, "kim", &u2) == ADMIN_ROLE_ADMIN &&
		    u2 != 0 && u2 != u1, "kim removed and added again: "
		    "another id");
		ok(wa_find(csrf, 0) == NULL, "the former kim's session ends");
		ok(admin_totp_set(path, "kim", (const uint8_t *)
		    "0123456789abcdefghij", 7, err, sizeof(err)) == 0 &&
		    admin_whois(path, "kim", &u1) == ADMIN_ROLE_ADMIN &&
		    u1 == u2 && admin_totp_check(path, "kim", "x", 100) == 0,
		    "a line with an id and TOTP reads back");
		write_file(path, "al:scrypt:1024:8:1:00112233445566778899aabbccddeeff:"
		    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:1\n");
		ok(admin_whois(path, "al", &u1) == ADMIN_ROLE_ADMIN && u1 == 0,
		    "a line from before ids: id 0");
		write_file(path, "al:scrypt:1024:8:1:00112233445566778899aabbccddeeff:"
		    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:1"
		    ":admin::0:0000000000000000\n");
		ok(admin_count(path) == -1, "an id of zeros is damage");
		unlink(path);
		ok(admin_set(path, "alice", "correct horse", 1, err,
		    sizeof(err)) == 0, "alice once more, for what follows");
	}

	/* Login delays. */
	ok(wa_delay_ms("192.0.2.1") == 0, "no delay at first");
	wa_failed("192.0.2.1");
	ok(wa_delay_ms("192.0.2.1") == 250, "250 ms after one failure");
	wa_failed("192.0.2.1");
	wa_failed("192.0.2.1");
	ok(wa_delay_ms("192.0.2.1") == 1000, "1 s after three");
	ok(wa_delay_ms("192.0.2.2") == 0, "another address waits not");
	for (int i = 0; i < 20; i++)
		wa_failed("192.0.2.1");
	ok(wa_delay_ms("192.0.2.1") == 16000, "capped at 16 s");
	wa_succeeded("192.0.2.1");
	ok(wa_delay_ms("192.0.2.1") == 0, "a success forgets");
	ok(wa_failed("192.0.2.1") == 250 && wa_failed("192.0.2.1") == 500,
	    "a failure is answered after the delay it makes");

	/* Peer login by challenge. */
	ok(wa_challenge("alice", &kdf, nonce) == 0, "a challenge for alice");
	ok(admin_derive("correct horse", &kdf, key) == 0, "the asker derives");
	wa_proof(key, nonce, sid, proof);
	ok(wa_answer("alice", nonce, proof, sid) == 1, "the right proof");
	ok(wa_answer("alice", nonce, proof, sid) == 0, "a nonce works once");
	ok(wa_challenge("alice", &kdf, nonce) == 0, "another challenge");
	ok(admin_derive("wrong horse", &kdf, key) == 0, "a wrong password");
	wa_proof(key, nonce, sid, proof);
	ok(wa_answer("alice", nonce, proof, sid) == 0, "its proof is refused");
	ok(wa_challenge("alice", &kdf, nonce) == 0 &&
	    admin_derive("correct horse", &kdf, key) == 0, "a third challenge");
	wa_proof(key, nonce, "ffffffffffffffffffffffffffffffff", proof);
	ok(wa_answer("alice", nonce, proof, sid) == 0,
	    "a proof for another server is refused");
	ok(wa_challenge("nobody", &kdf, nonce) == 0 &&
	    wa_challenge("nobody", &kdf2, nonce) == 0 &&
	    memcmp(kdf.salt, kdf2.salt, sizeof(kdf.salt)) == 0,
	    "an unknown name gets a stable made-up salt");
	b = wa_new("alice", 1);
	ok(b != NULL && wa_find(b->id, 1) == b && wa_find(b->id, 0) == NULL,
	    "a bridge token is not a cookie");

	unlink(path);

	/*
	 * gigavaultctl and the daemon write the file at once: each
	 * read-modify-write holds admin_lock(), so none is lost (the hash
	 * between read and write made both processes' writes overlap).
	 */
	{
		char race[300], name[32];
		pid_t pid[2];
		int st, good = 1;

		snprintf(race, sizeof(race), "%s/race", dir);
		for (int p = 0; p < 2; p++) {
			if ((pid[p] = fork()) == 0) {
				for (int i = 0; i < 4; i++) {
					snprintf(name, sizeof(name), "w%d-%d", p, i);
					if (admin_set(race, name, "racing password",
					    1, err, sizeof(err)) == -1)
						_exit(1);
				}
				_exit(0);
			}
		}
		for (int p = 0; p < 2; p++)
			if (pid[p] == -1 || waitpid(pid[p], &st, 0) == -1 ||
			    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
				good = 0;
		ok(good && admin_count(race) == 8, "two processes adding 4 "
		    "users each at once: all 8 are in the file");
		unlink(race);
		snprintf(race, sizeof(race), "%s/race.lock", dir);
		unlink(race);
	}
	snprintf(path, sizeof(path), "%s/admins.lock", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
