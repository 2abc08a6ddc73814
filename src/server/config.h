/*
 * config.h - gigavault.conf: the schema, its defaults and its validation.
 *
 * config_load() parses a file with libconfuse and checks every value;
 * the result is a plain struct that owns all its strings and needs no
 * libconfuse afterwards.  The supervisor loads it at start and on SIGHUP;
 * children get a copy through fork().
 */
#ifndef GV_CONFIG_H
#define GV_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/retention.h"
#include "common/tls.h"

#define GV_MAX_LISTEN	16		/* addresses in Server.Listen */
#define GV_MAX_SCAN_NETS	16	/* networks in Discovery.ScanNetworks */
#define GV_MAX_SYNC_CLIENTS	64	/* names in Sync.Clients */
#define GV_MAX_STATIC_PEERS	32	/* addresses in Discovery.Peers */
#define GV_MAX_CERT_NAMES	32	/* names in WebConsole.CertNames */

/* The Discovery section (discovery.c; gigavault.conf(5)). */
struct gv_discovery {
	int		 multicast;		/* Multicast: 0 or 1 */
	char		*group;			/* Group: IPv4 multicast address */
	int		 ttl;			/* TTL */
	int		 announce_interval;	/* seconds */
	int		 peer_timeout;		/* seconds without news */
	char		*name;			/* Name; "" = host name */
	int		 udpscan;		/* UDPScan: 0 or 1 */
	char		*scan_networks[GV_MAX_SCAN_NETS];
	size_t		 nscan;
	int		 scan_rate;		/* probes per second */
	int		 scan_interval;		/* seconds between scans */
	int		 scan_max_prefix;	/* /N: larger networks refused */
	int		 tcp_interval;		/* seconds between asks of a peer */
	int		 max_peers;		/* table and list size */
	char		*peers[GV_MAX_STATIC_PEERS];	/* static peers */
	size_t		 npeers;
};

struct gv_config {
	char		*file;		/* path it was read from */

	int		 workers;
	char		*listen[GV_MAX_LISTEN];
	size_t		 nlisten;
	char		*datadir;
	char		*user;		/* "" = do not switch user */
	char		*pidfile;
	int		 handshake_timeout;	/* seconds */
	int		 idle_timeout;		/* seconds */
	uint32_t	 max_frame;		/* bytes of payload */
	int		 drain_timeout;		/* seconds */
	uint64_t	 reserve_space;	/* bytes; -1 (UINT64_MAX): automatic */
	int		 max_handshakes_per_addr; /* connections, per address */

	struct {
		int	 backup;	/* Ports.BackupServer */
		int	 ssl;		/* Ports.SSLServer */
		int	 ui;		/* Ports.UI */
		int	 udpscan;	/* Ports.UDPScan */
		int	 mapi;		/* Ports.MAPI32Bit */
		int	 webconsole;	/* Ports.WebConsole */
		int	 webconsole_ssl; /* Ports.WebConsoleSSL */
		int	 multicast[2];	/* Ports.Multicast */
	} port;
	size_t		 nmulticast;	/* values given; must be 2 */

	int		 ssl_enabled;
	char		*ssl_cert;
	char		*ssl_key;
	char		*ssl_ciphers;		/* TLS 1.2 cipher list */
	char		*ssl_suites;		/* TLS 1.3 cipher suites */
	int		 ssl_verify_client;
	int		 ssl_line[4];	/* Enabled, Certificate, Key, VerifyClient */

	/* Filled in by config_tls_load() when ssl_enabled. */
	struct tls_ctx	*tls;			/* the server context */
	struct tls_ca	*client_ca;		/* with ssl_verify_client */
	struct tls_fileinfo *ssl_info;		/* of Certificate */

	int		 log_level;	/* enum log_level */
	char		*log_file;	/* "" = syslog or stderr */
	int		 log_facility;	/* syslog facility */

	struct retention retention;	/* Retention: the server's default */
	int		 prune_interval;	/* seconds; 0: never */
	int		 prune_grace;		/* seconds */
	int		 prune_rewrite_below;	/* percent live */
	int		 scrub_interval;	/* seconds; 0: never */
	uint64_t	 scrub_rate;		/* bytes/s; 0: no limit */
	int		 overdue_grace;		/* Jobs.OverdueGrace, seconds */

	/* Sync: the housekeeper's off-site sync job (sync.h) */
	char		*sync_target;		/* a target file; "": no job */
	char		*sync_clients[GV_MAX_SYNC_CLIENTS];	/* none: all */
	size_t		 nsync_clients;
	int		 sync_interval;		/* seconds; 0: never */

	/* Alerts (alert.c, run by the housekeeper) */
	char		*alert_mail;		/* To: addresses; "": no mail */
	char		*alert_mail_from;	/* "": gigavault@host name */
	char		*alert_smtp;		/* smtp(s):// URL, when no Sendmail */
	char		*alert_sendmail;	/* the command, run by /bin/sh; "":
						 * mail goes by SMTP */
	char		*alert_webhook;		/* http(s) URL; "": none */
	char		*alert_secret_file;	/* "": unsigned webhooks */
	char		*alert_ca_file;		/* "": the system's CA store */
	int		 alert_free_warning;	/* percent free; 0: off */
	int		 alert_repeat;		/* seconds per (event, client, set) */
	int		 alert_max_per_hour;	/* 0: no cap */
	int		 alert_check_interval;	/* seconds */
	int		 alert_timeout;		/* seconds per send */

	struct gv_discovery disc;		/* Discovery */

	/* Store and S3 (issue 21; doc/object-store.md, packstore.h) */
	int		 store_backend;		/* enum store_backend */
	struct {
		char	*endpoint;		/* http(s)://host[:port] */
		char	*region;
		char	*bucket;
		char	*prefix;		/* key prefix, "" or ends in / */
		char	*cred_file;		/* s3_creds_load() */
		char	*ca_file;		/* "": the system's CA store */
		int	 path_style;
		uint64_t part_size;		/* bytes per multipart part */
		uint64_t cache_size;		/* bytes in DataDir/cache */
		int	 retries;		/* tries after the first */
		int	 role;			/* enum s3_role */
		int	 lease_duration;	/* seconds */
		int	 follow_interval;	/* seconds (standby) */
	} s3;

	/* WebConsole (served by the UI bridge on Ports.WebConsole[SSL]) */
	int		 web_enabled;
	int		 web_http;		/* enum web_http_mode */
	char		*web_root;		/* the pages; "" = built in */
	int		 web_session_timeout;	/* seconds idle */
	/* names of our own certificate (webcert.h); none: the defaults */
	char		*web_cert_names[GV_MAX_CERT_NAMES];
	size_t		 nweb_cert_names;
	int		 web_metrics;		/* GET /metrics (webmetrics.h) */
	/* Filled in by config_tls_load() when web_enabled. */
	struct tls_ctx	*web_tls;		/* HTTPS on WebConsoleSSL */
	char		 web_cert[4096];	/* the certificate it serves */
	int		 web_cert_no_create;	/* gigavaultd -n: make no files */

	/* History (catalog.h's history table, trimmed by the housekeeper) */
	uint64_t	 history_max_age;	/* seconds */
	uint64_t	 history_max_entries;	/* rows */
};

/* Store.Backend: where the packs and the journal live. */
enum store_backend {
	STORE_BACKEND_DATADIR,	/* "datadir": DataDir/packs, DataDir/journal */
	STORE_BACKEND_S3,	/* "s3": the S3 section's bucket */
};

/* S3.Role: the writer, or a standby that follows the bucket. */
enum s3_role {
	S3_ROLE_ACTIVE,		/* "active" */
	S3_ROLE_STANDBY,	/* "standby" */
};

/* WebConsole.HTTP: what the plain HTTP port does. */
enum web_http_mode {
	WEB_HTTP_SERVE,		/* "serve": everyone */
	WEB_HTTP_LOCAL,		/* "local": loopback; others go to HTTPS */
	WEB_HTTP_REDIRECT,	/* "redirect": everyone goes to HTTPS */
};

/* The console's own certificate when SSL.Certificate does not exist. */
#define CONFIG_WEB_CERT		"tls/webconsole.crt"
#define CONFIG_WEB_KEY		"tls/webconsole.key"


/*
 * Read and validate FILE.
 * On success returns a new config (free with config_free()).
 * On failure returns NULL and writes one message to err (at most errlen
 * bytes, NUL-terminated), of the form "FILE:LINE: Section.Option ...".
 */
struct gv_config *config_load(const char *file, char *err, size_t errlen);

/*
 * With SSL.Enabled = 1: load Certificate and Key (which must match) and
 * the ciphers into a TLS server context, and with VerifyClient = 1 the
 * client authority (DataDir/tls/client-ca.crt and .key); a no-op
 * otherwise.  Called by gigavaultd (as root, before any child drops
 * privileges, so the key may be readable by root alone): children
 * inherit the context.  config_load() does not do this, so that
 * gigavaultctl can read a config whose certificate does not exist yet
 * (to make it).  Returns 0, or -1 with "FILE:LINE: SSL.Key ..." in err.
 * An expired certificate is not an error here: *expired is set (when
 * not NULL) so that the caller can warn, and clients refuse it.
 */
int	config_tls_load(struct gv_config *, int *expired, char *err,
	    size_t errlen);
/*
 * With WebConsole.Enabled (also part of config_tls_load()): the HTTPS
 * context of the web console.  It serves SSL.Certificate and SSL.Key
 * when both exist, else DataDir/tls/webconsole.crt and .key, made
 * self-signed (for the host name, 10 years) at the first start, its
 * fingerprint logged.  The path served is put in web_cert.
 */

/* Where VerifyClient's authority lives in DataDir. */
#define CONFIG_CLIENT_CA_CERT	"tls/client-ca.crt"
#define CONFIG_CLIENT_CA_KEY	"tls/client-ca.key"
/* Their paths: DataDir/tls/client-ca.crt and .key (each len bytes). */
void	config_client_ca(const struct gv_config *, char *cert, char *key,
	    size_t len);
#define CONFIG_CLIENT_CERT_DAYS	3650

void	config_free(struct gv_config *);

/*
 * The i-th option of gigavault.conf, counting from 0, as config.c's
 * table has it: sets *sec and *name (static strings) and returns 0, or
 * returns -1 past the last.  t/unit-config checks gigavault.conf(5) and
 * the shipped file against it.
 */
int	config_option(size_t i, const char **sec, const char **name);

/*
 * Nonzero when a and b differ in anything but Server.Workers: such a
 * change needs a new generation of children after a reload.
 */
int	config_differs_beyond_workers(const struct gv_config *a,
	    const struct gv_config *b);

#endif
