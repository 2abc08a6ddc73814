/*
 * child.c - what every polling child (worker, housekeeper) does with the
 * messages its supervisor sends.  See child.h.
 */
#include "autoconf.h"

#include <errno.h>
#include <unistd.h>

#include "child.h"
#include "imsg.h"
#include "log.h"

void
child_read_ctl(int *fd, struct imsg *m, void (*stop)(void))
{
	child_read_ctl_other(fd, m, stop, NULL);
}

void
child_read_ctl_other(int *fd, struct imsg *m, void (*stop)(void),
    void (*other)(struct imsg *))
{
	while (*fd != -1) {
		int rc = imsg_recv(*fd, m);

		if (rc == 0) {		/* supervisor gone: finish and exit */
			close(*fd);
			*fd = -1;
			stop();
			return;
		}
		if (rc == -1) {
			if (errno != EAGAIN)
				log_warn("%s: supervisor pipe", __func__);
			return;
		}
		switch (m->type) {
		case IMSG_SHUTDOWN:
			if (imsg_end(m, __func__) == 0)
				stop();
			break;
		case IMSG_LOG_REOPEN:
			if (imsg_end(m, __func__) == 0 && log_reopen() == -1)
				log_warn("%s: reopen log", __func__);
			break;
		default:
			if (other != NULL)
				other(m);
			else
				log_warnx("%s: unexpected %s message",
				    __func__, imsg_type_name(m->type));
		}
	}
}
