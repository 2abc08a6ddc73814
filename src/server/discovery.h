/*
 * discovery.h - what the discovery child (discovery.c) shares with the UI
 * bridge: this peer's own description, and the names of the counters it
 * keeps with the peer table in the catalog.
 */
#ifndef GV_DISCOVERY_H
#define GV_DISCOVERY_H

#include <stdint.h>

#include "common/discowire.h"

struct gv_config;

/* Counters, stored with the peers (catalog_peers_replace()). */
enum disc_stat {
	DS_RX,			/* datagrams that decoded */
	DS_DROP_MALFORMED,
	DS_DROP_OVERSIZE,
	DS_DROP_VERSION,
	DS_DROP_OWN,		/* our own echo */
	DS_DROP_RATE,		/* answers not sent: rate limit */
	DS_DROP_FULL,		/* new peers not added: MaxPeers reached */
	DS_TX_ANNOUNCE,
	DS_TX_QUERY,
	DS_RX_QUERY,
	DS_TX_ANSWER,
	DS_TX_PROBE,
	DS_RX_PROBE,
	DS_TX_PROBE_REPLY,
	DS_RX_PROBE_REPLY,
	DS_SCANS,		/* scans completed */
	DS_SCAN_LAST_PROBES,	/* probes of the last complete scan */
	DS_SCAN_LAST_MS,	/* its duration */
	DS_SCAN_LAST_FOUND,	/* peers that answered it */
	DS_TCP_ASKED,		/* peer lists asked for */
	DS_TCP_FAILED,		/* ... that failed (connect, timeout, bad) */
	DS_TCP_LEARNED,		/* peers first learned from a list */
	DS_DROP_TCP_ENTRY,	/* list entries refused */
	DS_EXPIRED,		/* peers aged out */
	DS_DROP_CLAIM,		/* datagrams that claim more than they may */
	DS_NSTATS
};

/* "rx", "drop_malformed", ... as in the bridge's "counters" object. */
const char *disc_stat_name(int);

/* This peer as it announces itself (type and nonce left 0). */
void	disc_self(const struct gv_config *, const uint8_t *server_id,
	    struct dw_msg *);

#endif
