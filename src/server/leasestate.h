/*
 * leasestate.h - what other processes know of the bucket's lease
 * (Store.Backend = s3; doc/object-store.md, rules 5 to 8), so that
 * nothing writes to the bucket or the catalog without it:
 *
 *  - a page shared by gigavaultd's children (an anonymous MAP_SHARED
 *    mapping the supervisor makes before it forks): the lease child
 *    publishes "valid until T" (CLOCK_MONOTONIC, mono_ms(): the start of
 *    its last good renewal + S3.LeaseDuration - a margin), and every
 *    write to the bucket checks it first (lease_may_write()), however
 *    long the lease child takes to notice a loss;
 *  - the file DataDir/lease.state ("STATE DEADLINE\n", the deadline in
 *    wall-clock seconds, written atomically by the lease child), read
 *    by gigavaultctl before a command that writes the catalog
 *    (leasestate_check()).
 */
#ifndef GV_LEASESTATE_H
#define GV_LEASESTATE_H

#include <stddef.h>
#include <stdint.h>

struct gv_config;

#define LEASESTATE_FILE	"lease.state"

/*
 * Supervisor, before the forks (Store.Backend = s3): the shared page,
 * "not valid" until the lease child publishes.  0, or -1 (errno).
 */
int	leasestate_map(void);

/*
 * Lease child: writes may go on until until_ms (mono_ms()); 0: none
 * (not held).  Nothing when there is no page.
 */
void	leasestate_publish(int64_t until_ms);

/*
 * Before a write to the bucket: 0 when it may go on (the lease is
 * valid, or there is no shared page: not a child of gigavaultd with
 * Store.Backend = s3), -1 with the reason in err when the lease's
 * validity has passed.
 */
int	lease_may_write(char *err, size_t errlen);

/*
 * Lease child: DataDir/lease.state says state ("held", "waiting",
 * "standby", "lost", "released") valid until the wall-clock second
 * deadline (0: not valid).  0, or -1 with err.
 */
int	leasestate_write(const char *datadir, const char *state,
	    int64_t deadline, char *err, size_t errlen);

/*
 * gigavaultctl, before a command that writes the catalog (and so the
 * bucket's journal): 0 when cfg's Store.Backend is not s3, or when this
 * server holds the bucket's lease (DataDir/lease.state says "held" and
 * its deadline has not passed); -1 with the reason in err otherwise,
 * always with S3.Role = standby.
 */
int	leasestate_check(const struct gv_config *cfg, char *err,
	    size_t errlen);

#endif
