/*
 * child.h - what the supervisor hands to every child it forks.
 *
 * A child's main function gets a struct child_env, runs until told to
 * stop, and never returns.  By the time it runs, the child has its own
 * end of the socketpair in ctl_fd, only the listening sockets of its own
 * services are open (not the DataDir's lock), signals are reset,
 * privileges are dropped and child_restrict() has run.
 */
#ifndef GV_CHILD_H
#define GV_CHILD_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

struct gv_config;
struct listen_set;

/* The kinds of children: supervisor.c has a row for each in its table. */
enum child_kind {
	KIND_UIBRIDGE,
	KIND_WORKER,
	KIND_HOUSEKEEPER,
	KIND_DISCOVERY,
	KIND_ACCEPTOR,
	KIND_LEASE,		/* Store.Backend = s3 only: follower.c */
	NKINDS
};

struct child_env {
	const struct gv_config	*cfg;
	struct listen_set	*listeners;	/* this child's services only */
	int			 ctl_fd;	/* socketpair to the supervisor */
	/*
	 * The hand-off queue (listen.h): the acceptor's sending end, a
	 * worker's receiving end, -1 in the other kinds.
	 */
	int			 handoff_fd;
	enum child_kind		 kind;
	int			 slot;		/* 0.. within its kind */
	const uint8_t		*server_id;	/* SERVER_ID_LEN bytes */
};

struct imsg;
union imsg_body;

/*
 * The last step of a child's setup, after drop_privileges():
 * PR_SET_NO_NEW_PRIVS (nothing it could exec gains privileges: no
 * set-uid program, no file capabilities) and PR_SET_DUMPABLE 0 (no core
 * file with its memory, and no other process of Server.User may ptrace
 * it or read its /proc/PID/mem, environ or fd links).  Exits via fatal()
 * when either fails: a child does not serve without them.
 */
void	child_restrict(void);

/*
 * Read every message queued on env->ctl_fd (nonblocking), each checked
 * with imsg_to_child() for env->kind (a refused one is logged and
 * dropped).  SHUTDOWN, and the pipe closing (then env->ctl_fd is closed
 * and set to -1), call stop(); LOG_REOPEN reopens the log here; the
 * other types the table sends to this kind go to other(type, body),
 * which may be NULL for a kind that is sent no others.
 */
void	child_read_ctl(struct child_env *env, void (*stop)(void),
	    void (*other)(int type, const union imsg_body *));
/*
 * Send m (built by an encoder of imsg.h) to the supervisor, waiting for
 * room.  Returns 0, or -1 when the supervisor is gone or the send failed
 * (logged).
 */
int	child_send(struct child_env *env, struct imsg *m);

/* Set by SIGTERM in a child that called child_catch_term(). */
extern volatile sig_atomic_t child_terminate;
/*
 * For a child that waits in ppoll(): SIGTERM sets child_terminate, and
 * stays blocked except inside a ppoll() given *waitmask, so that one
 * that comes between a check of the flag and the wait is not lost.
 */
void	child_catch_term(sigset_t *waitmask);

void	worker_main(struct child_env *) __attribute__((noreturn));
void	uibridge_main(struct child_env *) __attribute__((noreturn));
void	housekeeper_main(struct child_env *) __attribute__((noreturn));
void	discovery_main(struct child_env *) __attribute__((noreturn));
void	acceptor_main(struct child_env *) __attribute__((noreturn));
void	follower_main(struct child_env *) __attribute__((noreturn));

#endif
