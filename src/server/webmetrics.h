/*
 * webmetrics.h - GET /metrics on the console's ports (WebConsole.Metrics,
 * off by default; webhttp.c asks for an API token): this server's state
 * in Prometheus's text exposition format (version 0.0.4), every name
 * gigavault_*, each with its HELP and TYPE lines:
 *
 *   gigavault_clients, gigavault_snapshots, gigavault_snapshots_size_bytes,
 *   gigavault_stored_bytes, gigavault_blobs            the catalog's totals
 *   gigavault_clients_health{health}                  catalog_health()
 *   gigavault_sessions_total, gigavault_received_bytes_total,
 *   gigavault_sent_bytes_total                        the day statistics
 *   gigavault_datadir_free_bytes, gigavault_datadir_capacity_bytes
 *   gigavault_housekeeping_running{job},
 *   gigavault_housekeeping_last_end_timestamp_seconds{job},
 *   gigavault_housekeeping_last_ok{job}               housekeeping.json
 *   gigavault_lease_held                              Store.Backend = s3
 *
 * Only the UI-bridge child calls it (it reads the catalog through
 * uicall.h's ui_cat()).
 */
#ifndef GV_WEBMETRICS_H
#define GV_WEBMETRICS_H

struct gv_config;

/* Days of statistics the *_total counters add up (ten years). */
#define WEBMETRICS_DAYS	3660

/*
 * The exposition for cfg's server: a malloc'ed NUL-terminated text (the
 * caller frees it), or NULL when the catalog cannot be read or out of
 * memory (logged).
 */
char	*webmetrics_text(const struct gv_config *cfg);

#endif
