/*
 * agentstate.h - the agent's state directory (Agent.StateDir, mode
 * 0700): its discovery id ("id", 32 hex digits), the end of each job's
 * last scheduled run ("last-SET", Unix seconds: Persistent= catch-up),
 * the last ASTATE_HISTORY_MAX runs ("history.jsonl", one report a
 * line), and the reports not yet sent to the server ("outbox/NAME.json",
 * sent and removed by the next poll).
 */
#ifndef GV_AGENTSTATE_H
#define GV_AGENTSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"
#include "client/remote.h"

#define ASTATE_HISTORY_MAX	200	/* runs kept in history.jsonl */
#define ASTATE_FILE_MAX		(4 * 1024 * 1024) /* bytes we read */
#define ASTATE_OUTBOX_MAX	1000	/* reports waiting, at most */

struct astate;
struct json_t;

/*
 * Open (and make, mode 0700) dir and read or make its id.  The handle
 * (free with astate_free()), or NULL with err set ("DIR: reason").
 */
struct astate *astate_open(const char *dir, char *err, size_t errlen);
void	astate_free(struct astate *);
/* The agent's id, SERVER_ID_LEN bytes; its hex form (NUL-terminated). */
const uint8_t *astate_id(const struct astate *);
const char *astate_id_hex(const struct astate *);
/* The directory of the outbox ("DIR/outbox"), owned by s. */
const char *astate_outbox(const struct astate *);

/*
 * The report files (NAME.json) in the outbox directory, oldest first
 * (sorted by name), at most ASTATE_OUTBOX_MAX; with tmp, the leftover
 * NAME.json.tmp files instead.  *out gets a malloc'ed array of that
 * many malloc'ed names (free it with astate_names_free(); NULL when
 * there are none).  The count: 0 also when the directory cannot be
 * read or memory ran out before the first.
 */
size_t	astate_outbox_names(const char *outbox, int tmp, char ***out);
void	astate_names_free(char **v, size_t n);

/* Reports waiting in the outbox (counted up to ASTATE_OUTBOX_MAX). */
size_t	astate_outbox_count(const struct astate *);

/* When set's last scheduled run ran, 0 when never (or unreadable). */
int64_t	astate_last_run(const struct astate *, const char *set);
/* Remember it.  0, or -1 with err set. */
int	astate_set_last_run(struct astate *, const char *set, int64_t t,
	    char *err, size_t errlen);

/*
 * Keep report r: a file in the outbox (when outbox is set; when
 * ASTATE_OUTBOX_MAX wait already, the oldest is removed first), and a
 * line in the history (trimmed to ASTATE_HISTORY_MAX lines).  0; -1
 * with err set when the report could not be kept (the outbox file not
 * written, or out of memory); 1 with err set when it was but the
 * history could not be written.
 */
int	astate_keep(struct astate *, const struct remote_job_report *r,
	    int outbox, char *err, size_t errlen);
/*
 * The history, newest first, at most max runs of set (NULL: every set),
 * as a JSON array of report objects (astate_report_json()); NULL when
 * memory runs out.  The caller owns it (json_decref()).
 */
struct json_t *astate_history(const struct astate *, const char *set,
	    size_t max);

/* r as a JSON object (new reference), NULL when memory runs out. */
struct json_t *astate_report_json(const struct remote_job_report *r);
/*
 * A report from object o (each member checked: the set a valid name,
 * the error at most REMOTE_JOB_ERROR_MAX bytes, the result known).
 * 0, or -1 with err set.
 */
int	astate_report_from_json(struct json_t *o,
	    struct remote_job_report *r, char *err, size_t errlen);
/* Read the report in file path (at most ASTATE_FILE_MAX bytes). */
int	astate_report_read(const char *path, struct remote_job_report *r,
	    char *err, size_t errlen);
/* The name of result (enum remote_job_result): "ok", "partial", ... */
const char *astate_result_name(int result);

#endif
