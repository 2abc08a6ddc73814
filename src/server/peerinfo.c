/*
 * peerinfo.c - what discovery and the UI bridge both say about peers
 * (see peerinfo.h): the names of sources and counters, this server's
 * own description, and how a description fills a peer row.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "peerinfo.h"

static const char *const stat_names[DS_NSTATS] = {
	"rx", "drop_malformed", "drop_oversize", "drop_version", "drop_own",
	"drop_rate", "drop_full", "tx_announce", "tx_query", "rx_query",
	"tx_answer", "tx_probe", "rx_probe", "tx_probe_reply",
	"rx_probe_reply", "scans", "scan_last_probes", "scan_last_ms",
	"scan_last_found", "tcp_asked", "tcp_failed", "tcp_learned",
	"drop_tcp_entry", "expired", "drop_claim",
};

const char *
peerinfo_stat_name(int i)
{
	return i >= 0 && i < DS_NSTATS ? stat_names[i] : "?";
}

const char *
peerinfo_source_name(int s)
{
	static const char *const names[] = { "self", "multicast", "scan",
	    "tcp", "static" };

	return s >= 0 && s <= CAT_PEER_STATIC ? names[s] : "?";
}

void
peerinfo_self(const struct gv_config *cfg, const uint8_t *server_id,
    struct dw_msg *m)
{
	char host[256];
	size_t j = 0;

	memset(m, 0, sizeof(*m));
	memcpy(m->id, server_id, SERVER_ID_LEN);
	m->roles = DW_ROLE_SERVER;
	m->flags = cfg->ssl_enabled ? DW_FLAG_TLS : 0;
	m->port_backup = (uint16_t)cfg->port.backup;
	m->port_ssl = cfg->ssl_enabled ? (uint16_t)cfg->port.ssl : 0;
	m->port_ui = (uint16_t)cfg->port.ui;
	m->port_web = cfg->web_enabled ? (uint16_t)cfg->port.webconsole : 0;
	m->port_webssl = cfg->web_enabled && cfg->web_tls != NULL ?
	    (uint16_t)cfg->port.webconsole_ssl : 0;
	if (cfg->disc.name[0] != '\0') {
		snprintf(m->name, sizeof(m->name), "%s", cfg->disc.name);
		return;
	}
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	for (size_t i = 0; host[i] != '\0' && j < DW_NAME_MAX; i++) {
		char ch = host[i];
		m->name[j++] = dw_name_valid((char[]){ ch, '\0' }) ? ch : '-';
	}
	m->name[j] = '\0';
	if (j == 0)
		snprintf(m->name, sizeof(m->name), "gigavault");
}

void
peerinfo_describe(struct cat_peer *p, const struct dw_msg *m)
{
	snprintf(p->name, sizeof(p->name), "%s", m->name);
	p->roles = m->roles;
	p->tls = (m->flags & DW_FLAG_TLS) != 0;
	p->port_backup = m->port_backup;
	p->port_ssl = m->port_ssl;
	p->port_ui = m->port_ui;
	p->port_web = m->port_web;
	p->port_webssl = m->port_webssl;
}
