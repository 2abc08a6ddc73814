/*
 * mhclient.h - the client of the mailbox helper (gigavault-mailhelper(8),
 * port Ports.MAPI32Bit): blocking calls, one request at a time on one
 * connection, over common/mailwire.h's frames (doc/protocol.md,
 * "Mailbox helper (port 32008)").  Mail backup and restore use it; so
 * does t/gv-mh.
 *
 * Every call returns 0 (or, where said, a count or MH_STALE/MH_GONE),
 * MH_REFUSED, or -1, each error with a message in err.  -1 means the
 * session ended (a broken connection, a protocol error, a fatal ERROR):
 * every later call on the same connection fails at once with
 * "connection closed".  MH_REFUSED, MH_STALE and MH_GONE answered one
 * request (MH_REFUSED: no such mailbox, the IMAP server said NO, a
 * message above Helper.MaxMessageSize) and leave the connection usable.
 */
#ifndef GV_MHCLIENT_H
#define GV_MHCLIENT_H

#include <stddef.h>
#include <stdint.h>

#define MH_STALE	(-2)	/* the mailbox's UIDVALIDITY changed */
#define MH_GONE		(-3)	/* no such message any more */
#define MH_REFUSED	(-4)	/* this request refused; the connection lives */

struct mh_conn;

/*
 * Connect to the helper at host:port (NULL host: 127.0.0.1), authenticate
 * with the secret in secretfile (its bytes, whole; MW_SECRET_MIN to
 * MW_SECRET_MAX of them).  timeout_s bounds each step (connect, each
 * answer, each message's transfer); the helper must prove the secret
 * too (READY's proof) before anything else is sent.  0, or -1 with err
 * (the file, the connect, a refused proof, a peer that does not prove
 * the secret: "is not the mailbox helper").  *out is freed by
 * mh_close().
 */
int	mh_connect(const char *host, int port, const char *secretfile,
	    int timeout_s, struct mh_conn **out, char *err, size_t errlen);
/* Close the connection and free it (NULL is fine). */
void	mh_close(struct mh_conn *);

/*
 * The helper's users (Users or UserListCommand of mailhelper.conf):
 * *users a malloc'ed array of *n malloc'ed strings (NULL when none);
 * free with mh_strings_free().
 */
int	mh_users(struct mh_conn *, char ***users, size_t *n, char *err,
	    size_t errlen);
void	mh_strings_free(char **v, size_t n);

struct mh_mailbox {
	char		*name;		/* raw IMAP name (modified UTF-7) */
	char		 delim;		/* hierarchy delimiter, 0: none */
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint32_t	 messages;
	char		*special;	/* "\\Sent ..." or "" */
};

/*
 * The selectable mailboxes of user, in the server's order: *out a
 * malloc'ed array of *n (NULL when none), free with mh_mailboxes_free().
 */
int	mh_mailboxes(struct mh_conn *, const char *user,
	    struct mh_mailbox **out, size_t *n, char *err, size_t errlen);
void	mh_mailboxes_free(struct mh_mailbox *, size_t);

struct mh_msginfo {
	uint32_t	 uid;
	uint64_t	 size;
	int64_t		 date;		/* internal date, Unix seconds */
	int32_t		 tzoff;		/* minutes east of UTC */
	const char	*flags;		/* valid during the callback */
};

/*
 * Calls fn for every message, in UID order; fn returning -1 stops
 * (returns -1, err untouched; the rest of the list is read and dropped,
 * so the connection stays usable).  Returns MH_STALE (a distinct
 * negative value) when uidvalidity changed, MH_REFUSED when the helper
 * refused the request (no such mailbox: deleted since it was listed),
 * else 0 or -1 with err.
 */
int	mh_messages(struct mh_conn *, const char *user, const char *mailbox,
	    uint32_t uidvalidity, int (*fn)(void *, const struct mh_msginfo *),
	    void *arg, char *err, size_t errlen);
/*
 * One message's bytes, exactly as the server has them (BODY.PEEK[]:
 * \Seen is not set): *data malloc'ed (the caller frees), *len its size.
 * 0, MH_STALE, MH_GONE (no such message any more), MH_REFUSED (above
 * Helper.MaxMessageSize, the IMAP server said NO) or -1 with err.
 */
int	mh_fetch(struct mh_conn *, const char *user, const char *mailbox,
	    uint32_t uidvalidity, uint32_t uid, uint8_t **data, size_t *len,
	    char *err, size_t errlen);
/*
 * Like mh_fetch(), but only the message's From, Subject and Date header
 * fields (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)], at most
 * MW_FRAME_MAX bytes), whatever its size: what .mailbox needs of a new
 * message, whose body is then fetched once, when it is stored.
 */
int	mh_fetch_header(struct mh_conn *, const char *user,
	    const char *mailbox, uint32_t uidvalidity, uint32_t uid,
	    uint8_t **data, size_t *len, char *err, size_t errlen);
/* Create mailbox (and its parents); an existing mailbox is fine. */
int	mh_create(struct mh_conn *, const char *user, const char *mailbox,
	    char *err, size_t errlen);
/*
 * Append a message to mailbox (which must exist: mh_create()) with
 * flags ("\\Seen $Label1", "" for none; \Recent is dropped) and the
 * internal date at tzoff minutes east of UTC.  *newuid (NULL: not
 * wanted) is the new UID when the server gives APPENDUID, else 0.
 * Nothing is ever replaced: the message is added.
 */
int	mh_append(struct mh_conn *, const char *user, const char *mailbox,
	    const char *flags, int64_t date, int32_t tzoff,
	    const uint8_t *data, size_t len, uint32_t *newuid, char *err,
	    size_t errlen);

#endif
