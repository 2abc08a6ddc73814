/*
 * alert.h - alerts: what the housekeeper tells an administrator about,
 * by mail (SMTP to Alerts.SMTP, or the Alerts.Sendmail command) and by
 * webhook (both SMTP and webhook through libcurl), with
 * rate limits (gigavault.conf(5), ALERTS SECTION).
 *
 * The events: "job_failed" (a new failed or cancelled job report),
 * "overdue" (a client's set became overdue, catalog_health()),
 * "scrub_damage" (the last scrub in DataDir/housekeeping.json found
 * damaged blobs), "sync_failed" (the last off-site sync there ended in
 * error), "low_space" (DataDir's file system fell below
 * Alerts.FreeSpaceWarning percent free), "suppressed" (how many
 * alerts Alerts.MaxPerHour held back in the hour that ended), and the
 * recoveries "job_ok" (a set's first success after a failure) and
 * "overdue_ok" (an overdue set fine again).
 *
 * What was sent, and which reports, scrubs and overdue sets were seen
 * already, is kept in DataDir/alerts.json (written whole to a temporary
 * file, then renamed), so that a restart neither repeats nor loses an
 * alert.  Only the housekeeper writes it.
 */
#ifndef GV_ALERT_H
#define GV_ALERT_H

struct catalog;
struct gv_config;

#define ALERT_STATE_FILE	"alerts.json"
#define ALERT_STATE_MAX		(4 * 1024 * 1024) /* a larger file is corrupt */
#define ALERT_SECRET_MAX	4096	/* bytes of WebhookSecretFile */
#define ALERT_JOBS_PER_CHECK	50	/* newest reports of a client read */
#define ALERT_SENDS_PER_CHECK	20	/* more wait for the next check */

struct alerter;

/*
 * An alerter for cfg (which must outlive it): reads DataDir/alerts.json
 * (missing or corrupt: a new state, logged, whose reports and scrubs
 * from before now are not alerted), the server's name and id, and
 * WebhookSecretFile (unreadable: logged, and no webhook is sent).
 * Returns it (free with alert_close()), or NULL after logging when out
 * of memory or when libcurl cannot start.
 */
struct alerter *alert_open(const struct gv_config *cfg);

/*
 * One check: low space, the last scrub, and with cat (NULL: skipped)
 * new failed job reports and newly overdue sets; sends what is due
 * within the rate limits and saves the state when it changed.  Each
 * send takes at most Alerts.Timeout seconds (the mail command is then
 * killed); failures are logged, never returned.  cancel(arg) (may be
 * NULL) is asked between sends: nonzero stops the check (what was not
 * sent yet is looked at again by the next check).
 */
void	alert_check(struct alerter *a, struct catalog *cat,
	    int (*cancel)(void *), void *arg);

void	alert_close(struct alerter *a);

/*
 * When Alerts.Sendmail is set and its program (the command's first word,
 * looked up in PATH) is set-user-ID or set-group-ID, which cannot work
 * under no new privileges: 1 with a warning for the administrator in
 * buf.  Otherwise 0.
 */
int	alert_sendmail_setid(const struct gv_config *cfg, char *buf,
	    size_t len);

#endif
