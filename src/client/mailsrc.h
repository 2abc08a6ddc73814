/*
 * mailsrc.h - the feed (feed.h) of a mail set: the mailboxes that the
 * mail helper (gigavault-mailhelper, through mhclient.h) reads from the
 * mail server, as a tree of users, mailboxes and messages.  The layout
 * is in doc/mail.md:
 *
 *	/USER/MAILBOX/.mailbox		JSON: the mailbox, each message's
 *					flags, dates, size, From, Subject
 *	/USER/MAILBOX/UIDVALIDITY-UID	a message's bytes, as FETCHed
 *
 * USER and MAILBOX are the raw names with '%' as "%25", '/' as "%2F"
 * and a leading '.' as "%2E" (mailsrc_encode()).  A message's stat is
 * its identity: size RFC822.SIZE, mtime its internal date, ino its UID,
 * ctime its UIDVALIDITY, so backup.c's parent check keeps an unchanged
 * message without fetching it.  The From, Subject and Date of the
 * messages already seen come from a cache in the client's state
 * directory (MAILSRC_CACHE under StateFile's directory); a message not
 * in it has those header fields fetched alone while its mailbox is
 * listed (mh_fetch_header()); its bytes are fetched once, when backup.c
 * opens it.
 */
#ifndef GV_MAILSRC_H
#define GV_MAILSRC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clientconf.h"
#include "feed.h"

struct client;
struct mailsrc;

#define MAILSRC_CACHE		"mail-cache"	/* under StateFile's dir */
#define MAILSRC_HDR_MAX		1000	/* bytes kept of From, Subject, Date */
#define MAILSRC_MSGS_MAX	(16u << 20)	/* messages of one mailbox */
#define MAILSRC_META		".mailbox"

/*
 * Connect to the mail helper (the client config's Mail.Host,
 * Ports.MAPI32Bit, Mail.SecretFile) for the mail set cs, and fill *f
 * with the feed of its users (cs->mail_users, all when none) and
 * mailboxes (cs->mail_folders).  Returns the source (free with
 * mailsrc_free() after the backup; f is valid until then), or NULL with
 * err set (no helper, refused secret, out of memory).
 */
struct mailsrc *mailsrc_new(struct client *c, const struct clientconf_set *cs,
	    struct feed *f, char *err, size_t errlen);

/*
 * One line on out: users, mailboxes and messages seen, how many
 * messages were fetched from the helper (bytes too), and of how many the
 * header fields alone were fetched (the new ones, for .mailbox).
 */
void	mailsrc_summary(const struct mailsrc *, FILE *out);

void	mailsrc_free(struct mailsrc *);

/*
 * name (a user or mailbox name) as one file name: '%' -> "%25", '/' ->
 * "%2F", a leading '.' -> "%2E".  malloc'ed, NULL when out of memory.
 * mailsrc_decode() undoes it (any %XX of hex digits); NULL also when s
 * is not such a name (a '%' without two hex digits, a NUL byte).
 */
char	*mailsrc_encode(const char *name);
char	*mailsrc_decode(const char *s);

/*
 * The unfolded value of the header field name (case-insensitive, such as
 * "Subject") in the header of the message msg[0..len): at most
 * MAILSRC_HDR_MAX bytes, valid UTF-8 without control characters,
 * leading blanks dropped.  malloc'ed, or NULL when the field is absent
 * (or memory runs out).
 */
char	*mailsrc_header(const uint8_t *msg, size_t len, const char *name);

#endif
