/*
 * peerinfo.h - what the discovery child (discovery.c) and the UI bridge
 * (uiapi.c) both say about peers: this server's own description, how a
 * description fills a peer row, and the names of the peer sources and
 * of the counters kept with the peer table in the catalog.  No event
 * loop and no catalog here: each child calls these with its own data.
 */
#ifndef GV_PEERINFO_H
#define GV_PEERINFO_H

#include <stdint.h>

#include "common/discowire.h"

struct cat_peer;
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

/*
 * A counter's name as in the bridge's "counters" object ("rx",
 * "drop_malformed", ...), or "?" for no counter.  Static storage.
 */
const char *peerinfo_stat_name(int);

/*
 * How a peer was found, as the bridge's "source" says it: "self" for 0,
 * then "multicast", "scan", "tcp", "static" (enum cat_peer_source), or
 * "?".  Static storage.
 */
const char *peerinfo_source_name(int);

/*
 * This server as it announces itself (type and nonce left 0): its id,
 * roles, ports and Discovery.Name (else the host name, made valid).
 */
void	peerinfo_self(const struct gv_config *, const uint8_t *server_id,
	    struct dw_msg *);

/* Copy m's name, roles, TLS flag and ports into the peer row p. */
void	peerinfo_describe(struct cat_peer *p, const struct dw_msg *m);

#endif
