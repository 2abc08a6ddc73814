/*
 * tls.h - TLS for the session protocol on Ports.SSLServer: contexts,
 * non-blocking handshakes and record I/O, certificate pinning, and the
 * small certificate authority behind SSL.VerifyClient.  Besides crypto.c
 * this is the only file that calls OpenSSL.
 *
 * Policy, the same on both sides: TLS 1.2 and 1.3 only, no
 * renegotiation, no compression, no session tickets (a session is one
 * long connection; resumption would buy nothing).  Keys are ECDSA
 * P-256, so the handshake is cheap and AES-GCM (AES-NI) carries the
 * data.
 *
 * A "pin" is the SHA-256 of the server's public key (its DER
 * SubjectPublicKeyInfo), not of the certificate: a certificate renewed
 * over the same key keeps every client's pin valid.
 *
 * Every function that can fail writes one line to err (at most errlen
 * bytes, NUL-terminated), naming the file or the peer's problem.
 * Objects returned are owned by the caller and freed with the matching
 * _free(); none keeps a pointer to the caller's strings.
 */
#ifndef GV_TLS_H
#define GV_TLS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define TLS_PIN_LEN	32	/* SHA-256 */

/* Defaults of SSL.Ciphers (TLS 1.2) and SSL.CipherSuites (TLS 1.3). */
#define TLS_DEFAULT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_DEFAULT_SUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
	"TLS_CHACHA20_POLY1305_SHA256"

struct tls_ctx;
struct tls_conn;

/*
 * A server context from PEM files cert and key (which must match).
 * client_ca: when not NULL, the CA file whose certificates clients may
 * present; the certificate is requested but not required by the
 * handshake (registration happens before a client has one), and
 * session.c decides what a client without one may do.
 * ciphers/suites: OpenSSL cipher strings (TLS 1.2 / TLS 1.3).
 * Returns NULL with err set ("SSL.Certificate /x: ...").
 */
struct tls_ctx *tls_server_new(const char *cert, const char *key,
	    const char *client_ca, const char *ciphers, const char *suites,
	    char *err, size_t errlen);

/*
 * A client context.  cafile: verify the server's chain and name against
 * it; NULL: accept any certificate in the handshake and check the pin
 * afterwards (tls_conn_pin()).  cert/key: the client certificate to
 * present, or NULL.  Returns NULL with err set.
 */
struct tls_ctx *tls_client_new(const char *cafile, const char *cert,
	    const char *key, char *err, size_t errlen);

void	tls_ctx_free(struct tls_ctx *);

/*
 * A new OpenSSL connection object (SSL *) of server context t, for
 * libevent's OpenSSL bufferevents (the web console's HTTPS), which own
 * and free it.  NULL when out of memory.
 */
struct ssl_st *tls_ssl_new(struct tls_ctx *t);

/*
 * A connection over the connected, non-blocking socket fd (which stays
 * the caller's to close).  servername (client only, may be NULL) is
 * sent as SNI and checked against the certificate when the context has
 * a CA file.  NULL when out of memory.
 */
struct tls_conn *tls_conn_new(struct tls_ctx *, int fd,
	    const char *servername);
void	tls_conn_free(struct tls_conn *);

/* What a non-blocking step needs next. */
enum tls_io {
	TLS_OK,			/* done (or some bytes moved) */
	TLS_WANT_READ,		/* wait for POLLIN, then call again */
	TLS_WANT_WRITE,		/* wait for POLLOUT, then call again */
	TLS_EOF,		/* the peer closed (cleanly or not) */
	TLS_ERROR,		/* see tls_conn_error() */
};

/*
 * One step of the handshake (accept or connect, by the context's side).
 * Call again after the wait it asks for until TLS_OK.  The caller
 * bounds the time.
 */
enum tls_io tls_handshake(struct tls_conn *);

/*
 * Read or write up to len bytes, in the shape of read(2) and send(2),
 * for callers that poll: the bytes moved (> 0, maybe fewer than len),
 * 0 at the end of the stream (reading), or -1 with *events the poll
 * event to wait for (POLLIN or POLLOUT), or 0 on an error: errno EPIPE
 * for a write after the peer closed, else EPROTO (tls_conn_error() says
 * why).  A write that asked to wait must be repeated with the same
 * bytes.
 */
ssize_t	tls_io(struct tls_conn *, int writing, void *buf, size_t len,
	    short *events);

/* Send close_notify (best effort, never waits). */
void	tls_close(struct tls_conn *);

/*
 * Why the last step failed, in words for a log or a user: OpenSSL's
 * reason plus what it most likely means ("the peer does not speak TLS:
 * is this the plain port?").  Valid until the next call on c.
 */
const char *tls_conn_error(struct tls_conn *);

/* "TLSv1.3 TLS_AES_128_GCM_SHA256" after the handshake. */
void	tls_conn_describe(struct tls_conn *, char *buf, size_t len);

/* The pin of the peer's certificate: 0, or -1 when it sent none. */
int	tls_conn_pin(struct tls_conn *, uint8_t pin[TLS_PIN_LEN]);

/*
 * The peer's certificate, when it sent one that verified against the
 * context's CA: its subject's common name into cn, and 0; -1 when there
 * is none or it did not verify.
 */
int	tls_conn_peer_name(struct tls_conn *, char *cn, size_t cnlen);

/*
 * The peer certificate's notAfter, as seconds since the epoch, and
 * whether it is outside its validity period now (1) or not (0); -1 when
 * there is no peer certificate.
 */
int	tls_conn_peer_expired(struct tls_conn *, int64_t *not_after);

struct tls_fileinfo {
	uint8_t	 pin[TLS_PIN_LEN];	/* of the public key */
	uint8_t	 cert_hash[32];		/* SHA-256 of the certificate */
	int64_t	 not_after;		/* seconds since the epoch */
	int	 expired;		/* outside its validity period now */
};

/*
 * Check that PEM files cert and key load and match, and describe the
 * certificate in *info.  0, or -1 with err set.
 */
int	tls_files_check(const char *cert, const char *key,
	    struct tls_fileinfo *info, char *err, size_t errlen);

/* The authority that issues client certificates (VerifyClient). */
struct tls_ca;
/* Load its PEM certificate and key.  NULL with err set. */
struct tls_ca *tls_ca_load(const char *cert, const char *key, char *err,
	    size_t errlen);
void	tls_ca_free(struct tls_ca *);

/*
 * Write a self-signed certificate for cn, valid for days, to cert
 * (mode 0644) and, unless keep_key, a new ECDSA P-256 key to key (mode
 * 0600).  With keep_key the existing key is reused (a renewal).  ca
 * makes it a CA certificate (the authority behind VerifyClient), else
 * a server certificate with cn as its DNS name.  Files are written to
 * a temporary name and renamed.  *pin gets the key's pin.
 */
int	tls_make_selfsigned(const char *cert, const char *key, const char *cn,
	    int days, int keep_key, int ca, uint8_t pin[TLS_PIN_LEN],
	    char *err, size_t errlen);

/*
 * tls_make_selfsigned() of a server certificate whose subjectAltNames
 * are names[0..n-1] (each a DNS name, or an IPv4 or IPv6 address, which
 * becomes an IP name; no commas or spaces), with cn as its subject.
 * 0, or -1 with err set (also for n == 0 or a name it cannot hold).
 */
int	tls_make_selfsigned_names(const char *cert, const char *key,
	    const char *cn, const char *const *names, size_t n, int days,
	    int keep_key, uint8_t pin[TLS_PIN_LEN], char *err, size_t errlen);

/*
 * Whether the PEM certificate at path, self-signed, names every one of
 * names[0..n-1] as a subjectAltName (an address as an IP name, a name
 * as a DNS name, as a verifying client checks them): 1 yes; 0 not, with
 * *missing the first name it lacks (one of names); 2 it is not
 * self-signed (someone else's: never replace it); -1 it cannot be read
 * (err set).
 */
int	tls_cert_covers(const char *path, const char *const *names,
	    size_t n, const char **missing, char *err, size_t errlen);

/*
 * Client side of VerifyClient: make a new ECDSA P-256 key at key (mode
 * 0600, replacing any) and a certificate request for cn; *csr is a
 * malloc'ed DER request of *csrlen bytes.
 */
int	tls_make_request(const char *key, const char *cn, uint8_t **csr,
	    size_t *csrlen, char *err, size_t errlen);

/*
 * Server side: check that the DER request csr is well-formed and signed
 * by its own key, and issue a client certificate for cn (whatever the
 * request says) signed by ca, valid for days.  *pem is a malloc'ed PEM
 * certificate of *pemlen bytes (and a NUL).
 */
int	tls_issue(const struct tls_ca *ca, const uint8_t *csr,
	    size_t csrlen, const char *cn, int days, char **pem,
	    size_t *pemlen, char *err, size_t errlen);

/* The common name of the PEM certificate at path: 0, or -1. */
int	tls_cert_name(const char *path, char *cn, size_t cnlen);

/* "ab:cd:..." (95 characters and a NUL) for a pin, for people. */
void	tls_pin_text(const uint8_t pin[TLS_PIN_LEN], char out[96]);

#endif
