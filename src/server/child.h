/*
 * child.h - what the supervisor hands to every child it forks.
 *
 * A child's main function gets a struct child_env, runs until told to
 * stop, and never returns.  By the time it runs, the child has its own
 * end of the socketpair in ctl_fd, only the listening sockets of its own
 * services are open, signals are reset, and privileges are dropped.
 */
#ifndef GV_CHILD_H
#define GV_CHILD_H

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
	NKINDS
};

struct child_env {
	const struct gv_config	*cfg;
	struct listen_set	*listeners;	/* this child's services only */
	int			 ctl_fd;	/* socketpair to the supervisor */
	enum child_kind		 kind;
	int			 slot;		/* 0.. within its kind */
	const uint8_t		*server_id;	/* SERVER_ID_LEN bytes */
};

struct imsg;

/*
 * Read every message queued on the supervisor pipe *fd (nonblocking):
 * LOG_REOPEN reopens the log here; SHUTDOWN, and the pipe closing (then
 * *fd is closed and set to -1), call stop(); anything else is logged.
 */
void	child_read_ctl(int *fd, struct imsg *m, void (*stop)(void));
/*
 * The same, but a message of another type goes to other(m) (which must
 * check it with imsg_end()) instead of being logged.
 */
void	child_read_ctl_other(int *fd, struct imsg *m, void (*stop)(void),
	    void (*other)(struct imsg *));

void	worker_main(struct child_env *) __attribute__((noreturn));
void	uibridge_main(struct child_env *) __attribute__((noreturn));
void	housekeeper_main(struct child_env *) __attribute__((noreturn));
void	discovery_main(struct child_env *) __attribute__((noreturn));

#endif
