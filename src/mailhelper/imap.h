/*
 * imap.h - the mailbox helper's IMAP side, on libetpan: one session per
 * user, logged in as "USER<separator>MASTER" with the master password
 * (Dovecot's master users).  Read-only where it reads (EXAMINE,
 * BODY.PEEK[]); it writes only with CREATE and APPEND, and never sends
 * STORE, EXPUNGE or DELETE.
 *
 * Every call but imap_close() returns 0, or an mw_error code with the
 * reason in err: MW_ERR_NOMAILBOX (no such mailbox, or the user cannot
 * be logged in), MW_ERR_STALE (UIDVALIDITY differs), MW_ERR_GONE (no
 * such UID), MW_ERR_MSG_TOO_LARGE, MW_ERR_IMAP (the server refused,
 * failed or went away: imap_alive() then says whether the session can
 * be used again).
 */
#ifndef GV_MH_IMAP_H
#define GV_MH_IMAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/mailwire.h"

enum imap_security {
	IMAP_PLAIN = 0,		/* loopback without TLS */
	IMAP_STARTTLS,
	IMAP_IMAPS,
};

struct imap_opts {
	const char	*host;
	int		 port;
	int		 security;	/* enum imap_security */
	const char	*cafile;	/* PEM CAs that sign the server's
					   certificate, for TLS */
	const char	*master_user;
	const char	*master_password;
	const char	*separator;	/* auth_master_user_separator */
	int		 timeout;	/* seconds for each IMAP answer */
	uint32_t	 max_message;	/* bytes, at most MW_MESSAGE_MAX */
};

struct imap;

/*
 * A session logged in for user: *out (free with imap_close()), or an
 * error: MW_ERR_NOMAILBOX when the login is refused (no such user, or a
 * wrong master password: err says which the server said), MW_ERR_IMAP
 * when the server cannot be reached, its certificate is not trusted, or
 * it fails.  o must stay valid while the session lives.
 */
int	imap_open(const struct imap_opts *o, const char *user,
	    struct imap **out, char *err, size_t errlen);
void	imap_close(struct imap *);
/* The user the session is for. */
const char *imap_user(const struct imap *);
/* 1 while the session can take another command, 0 after it broke. */
int	imap_alive(const struct imap *);

/* NOOP: whether a session kept between requests still works. */
int	imap_noop(struct imap *, char *err, size_t errlen);
/* fn for each selectable mailbox (LIST "" "*", then STATUS of each). */
int	imap_mailboxes(struct imap *,
	    int (*fn)(void *, const struct mw_mailbox *), void *arg,
	    char *err, size_t errlen);
/*
 * fn for the messages of mailbox, UID order, at most MW_INFOS_PER_FRAME
 * at a time (fn returns -1 to stop: then -1 is returned); *count their
 * number.  MW_ERR_STALE when mailbox's UIDVALIDITY is not uidvalidity.
 * \Recent is left out of the flags (it belongs to one session).
 */
int	imap_messages(struct imap *, const char *mailbox, uint32_t uidvalidity,
	    int (*fn)(void *, const struct mw_msginfo *, size_t), void *arg,
	    uint64_t *count, char *err, size_t errlen);
/*
 * The bytes of message uid (BODY.PEEK[]): *data malloc'ed (the caller
 * frees), *len.  MW_ERR_GONE when there is no such UID,
 * MW_ERR_MSG_TOO_LARGE above max_message.
 */
int	imap_fetch(struct imap *, const char *mailbox, uint32_t uidvalidity,
	    uint32_t uid, uint8_t **data, size_t *len, char *err,
	    size_t errlen);
/*
 * Like imap_fetch(), but only the From, Subject and Date fields of the
 * message's header (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)]), at
 * most MW_FRAME_MAX bytes; a message above max_message is refused
 * (MW_ERR_MSG_TOO_LARGE) as by imap_fetch(), from its RFC822.SIZE in
 * the same FETCH.
 */
int	imap_fetch_headers(struct imap *, const char *mailbox,
	    uint32_t uidvalidity, uint32_t uid, uint8_t **data, size_t *len,
	    char *err, size_t errlen);
/* CREATE mailbox unless it exists (LIST first). */
int	imap_create(struct imap *, const char *mailbox, char *err,
	    size_t errlen);
/*
 * APPEND to mailbox with flags (mw_flags_valid(); \Recent dropped) and
 * the internal date at tzoff minutes east of UTC: *uid the new UID from
 * APPENDUID, else 0.
 */
int	imap_append(struct imap *, const char *mailbox, const char *flags,
	    int64_t date, int32_t tzoff, const uint8_t *data, size_t len,
	    uint32_t *uid, char *err, size_t errlen);

#endif
