/*
 * tls.c - TLS contexts, non-blocking handshakes and I/O, pins, and the
 * certificates of `gigavaultctl tls init` and SSL.VerifyClient.
 * See tls.h.  OpenSSL 3.0 or later.
 */
#include "autoconf.h"

#include <arpa/inet.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"

struct tls_ctx {
	SSL_CTX		*ctx;
	int		 server;
	int		 verify;	/* a CA file checks the peer */
};

struct tls_conn {
	SSL		*ssl;
	int		 verify;
	char		 err[320];
};

/* The text of OpenSSL's oldest queued error (or fallback), and clear. */
static void
ossl_error(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_peek_error();
	char r[200];

	if (e == 0)
		snprintf(buf, len, "%s", fallback);
	else {
		ERR_error_string_n(e, r, sizeof(r));
		snprintf(buf, len, "%s", r);
	}
	ERR_clear_error();
}

/* "what path: reason" for a file that would not load. */
static void
file_error(char *err, size_t errlen, const char *what, const char *path)
{
	char r[200];

	ossl_error(r, sizeof(r), strerror(errno ? errno : EINVAL));
	snprintf(err, errlen, "%s %s: %s", what, path, r);
}

static SSL_CTX *
ctx_common(const SSL_METHOD *m, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(m)) == NULL) {
		ossl_error(err, errlen, "out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* No TLS 1.3 tickets either (NO_TICKET alone makes them stateful). */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/*
	 * Read whole socket buffers, not a record header and then its
	 * body: half the read(2)s.  Callers poll only after a read asked
	 * for more (TLS_WANT_READ), so bytes OpenSSL holds are never
	 * waited for.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
	return ctx;
}

static int
load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *err,
    size_t errlen)
{
	errno = 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		file_error(err, errlen, "certificate", cert);
		return -1;
	}
	errno = 0;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		file_error(err, errlen, "key", key);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "key %s does not belong to certificate "
		    "%s", key, cert);
		return -1;
	}
	return 0;
}

struct tls_ctx *
tls_server_new(const char *cert, const char *key, const char *client_ca,
    const char *ciphers, const char *suites, char *err, size_t errlen)
{
	struct tls_ctx *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->server = 1;
	if ((t->ctx = ctx_common(TLS_server_method(), err, errlen)) == NULL)
		goto fail;
	SSL_CTX_set_options(t->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(t->ctx, ciphers) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "SSL.Ciphers \"%s\": no cipher OpenSSL "
		    "knows", ciphers);
		goto fail;
	}
	if (SSL_CTX_set_ciphersuites(t->ctx, suites) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "SSL.CipherSuites \"%s\": no TLS 1.3 "
		    "suite OpenSSL knows", suites);
		goto fail;
	}
	if (load_pair(t->ctx, cert, key, err, errlen) == -1)
		goto fail;
	if (client_ca != NULL) {
		STACK_OF(X509_NAME) *names;

		errno = 0;
		if (SSL_CTX_load_verify_locations(t->ctx, client_ca,
		    NULL) != 1 ||
		    (names = SSL_load_client_CA_file(client_ca)) == NULL) {
			file_error(err, errlen, "client CA", client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(t->ctx, names);
		/* Asked for, checked when sent, not required here. */
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		t->verify = 1;
	}
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

struct ssl_st *
tls_ssl_new(struct tls_ctx *t)
{
	SSL *ssl = SSL_new(t->ctx);

	/*
	 * libevent's OpenSSL bufferevents wait on the socket: bytes that
	 * read-ahead took in with the handshake (the request that follows
	 * the client's Finished in TLS 1.3) would sit in OpenSSL unseen,
	 * and 1 in 30 connections ended without an answer.
	 */
	if (ssl != NULL)
		SSL_set_read_ahead(ssl, 0);
	return ssl;
}

struct tls_ctx *
tls_client_new(const char *cafile, const char *cert, const char *key,
    char *err, size_t errlen)
{
	struct tls_ctx *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((t->ctx = ctx_common(TLS_client_method(), err, errlen)) == NULL)
		goto fail;
	if (SSL_CTX_set_cipher_list(t->ctx, TLS_DEFAULT_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(t->ctx, TLS_DEFAULT_SUITES) != 1) {
		ossl_error(err, errlen, "no usable cipher");
		goto fail;
	}
	if (cafile != NULL) {
		errno = 0;
		if (SSL_CTX_load_verify_locations(t->ctx, cafile, NULL) != 1) {
			file_error(err, errlen, "SSL.CAFile", cafile);
			goto fail;
		}
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		t->verify = 1;
	} else
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	if (cert != NULL && load_pair(t->ctx, cert, key, err, errlen) == -1)
		goto fail;
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *t, int fd, const char *servername)
{
	struct tls_conn *c;
	unsigned char ip[16];
	int is_ip;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1)
		goto fail;
	c->verify = t->verify;
	if (t->server) {
		SSL_set_accept_state(c->ssl);
		return c;
	}
	SSL_set_connect_state(c->ssl);
	if (servername == NULL)
		return c;
	is_ip = inet_pton(AF_INET, servername, ip) == 1 ||
	    inet_pton(AF_INET6, servername, ip) == 1;
	/* SNI carries names only (RFC 6066). */
	if (!is_ip && SSL_set_tlsext_host_name(c->ssl, servername) != 1)
		goto fail;
	if (t->verify && (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(
	    SSL_get0_param(c->ssl), servername) != 1 :
	    SSL_set1_host(c->ssl, servername) != 1))
		goto fail;
	return c;
fail:
	ERR_clear_error();
	tls_conn_free(c);
	return NULL;
}

void
tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	free(c);
}

/*
 * Explain a failed step in c->err: OpenSSL's reason, and for the
 * reasons people meet, what they most likely mean.
 */
static void
explain(struct tls_conn *c)
{
	static const struct {
		int	 reason;
		const char *hint;
	} hints[] = {
		{ SSL_R_WRONG_VERSION_NUMBER, "the peer does not speak TLS "
		    "(a plain port, or SSL off on the other side?)" },
		{ SSL_R_HTTP_REQUEST, "the peer sent HTTP, not TLS" },
		{ SSL_R_PACKET_LENGTH_TOO_LONG, "the peer does not speak TLS "
		    "(a plain port, or SSL off on the other side?)" },
		{ SSL_R_RECORD_LENGTH_MISMATCH, "the peer does not speak TLS" },
		{ SSL_R_UNSUPPORTED_PROTOCOL, "the peer offers only TLS "
		    "versions older than 1.2" },
		{ SSL_R_NO_SHARED_CIPHER, "no cipher in common (SSL.Ciphers, "
		    "SSL.CipherSuites)" },
		{ SSL_R_NO_PROTOCOLS_AVAILABLE, "no TLS version in common" },
		{ SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, "the peer refused our "
		    "TLS version" },
		{ SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE, "the peer refused the "
		    "handshake" },
		{ SSL_R_TLSV1_ALERT_UNKNOWN_CA, "the peer refused our "
		    "certificate: not issued by the authority it trusts "
		    "(register again for a client certificate)" },
		{ SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, "the peer refused our "
		    "certificate" },
		{ SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, "the peer refused our "
		    "certificate: expired" },
		{ SSL_R_TLSV1_ALERT_DECRYPT_ERROR, "the peer refused our "
		    "certificate or key" },
	};
	unsigned long e = ERR_peek_last_error();
	char r[200];
	long v;

	if (e == 0) {
		snprintf(c->err, sizeof(c->err), "%s", errno ?
		    strerror(errno) : "connection closed during the TLS "
		    "handshake");
		return;
	}
	ERR_error_string_n(e, r, sizeof(r));
	ERR_clear_error();
	if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    (v = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
		snprintf(c->err, sizeof(c->err), "certificate verify failed: "
		    "%s", X509_verify_cert_error_string(v));
		return;
	}
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (ERR_GET_REASON(e) == hints[i].reason) {
			snprintf(c->err, sizeof(c->err), "%s: %s",
			    hints[i].hint, r);
			return;
		}
	snprintf(c->err, sizeof(c->err), "%s", r);
}

/* Map the result r of an SSL_* call to what the caller does next. */
static enum tls_io
step(struct tls_conn *c, int r)
{
	int saved = errno;

	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_NONE:
		return TLS_OK;
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(c->err, sizeof(c->err), "connection closed");
		return TLS_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && (saved == 0 ||
		    saved == ECONNRESET || saved == EPIPE)) {
			snprintf(c->err, sizeof(c->err), "%s", saved ?
			    strerror(saved) : "connection closed");
			return TLS_EOF;
		}
		errno = saved;
		explain(c);
		return TLS_ERROR;
	default:
		errno = 0;
		explain(c);
		return TLS_ERROR;
	}
}

enum tls_io
tls_handshake(struct tls_conn *c)
{
	ERR_clear_error();
	errno = 0;
	return step(c, SSL_do_handshake(c->ssl));
}

ssize_t
tls_io(struct tls_conn *c, int writing, void *buf, size_t len, short *events)
{
	size_t n = 0;
	int r;

	*events = 0;
	ERR_clear_error();
	errno = 0;
	r = writing ? SSL_write_ex(c->ssl, buf, len, &n) :
	    SSL_read_ex(c->ssl, buf, len, &n);
	switch (r == 1 ? TLS_OK : step(c, r)) {
	case TLS_OK:
		return (ssize_t)n;
	case TLS_EOF:
		if (!writing)
			return 0;
		errno = EPIPE;
		return -1;
	case TLS_WANT_READ:
		*events = POLLIN;
		return -1;
	case TLS_WANT_WRITE:
		*events = POLLOUT;
		return -1;
	case TLS_ERROR:
		break;
	}
	errno = EPROTO;
	return -1;
}

void
tls_close(struct tls_conn *c)
{
	if (c == NULL)
		return;
	ERR_clear_error();
	if (SSL_is_init_finished(c->ssl))
		(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
}

const char *
tls_conn_error(struct tls_conn *c)
{
	return c->err[0] ? c->err : "unknown TLS error";
}

void
tls_conn_describe(struct tls_conn *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl));
}

static int
pin_of(X509 *x, uint8_t pin[TLS_PIN_LEN])
{
	unsigned char *der = NULL;
	unsigned int n = 0;
	int len, rc;

	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0) {
		ERR_clear_error();
		return -1;
	}
	rc = EVP_Digest(der, (size_t)len, pin, &n, EVP_sha256(), NULL) == 1 &&
	    n == TLS_PIN_LEN ? 0 : -1;
	OPENSSL_free(der);
	ERR_clear_error();
	return rc;
}

int
tls_conn_pin(struct tls_conn *c, uint8_t pin[TLS_PIN_LEN])
{
	X509 *x;
	int rc;

	if ((x = SSL_get1_peer_certificate(c->ssl)) == NULL)
		return -1;
	rc = pin_of(x, pin);
	X509_free(x);
	return rc;
}

int
tls_conn_peer_name(struct tls_conn *c, char *cn, size_t cnlen)
{
	X509 *x;
	int n;

	if (!c->verify || cnlen == 0 ||
	    (x = SSL_get1_peer_certificate(c->ssl)) == NULL)
		return -1;
	n = SSL_get_verify_result(c->ssl) == X509_V_OK ?
	    X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, (int)(cnlen > 0x7fffffff ? 0x7fffffff :
	    cnlen)) : -1;
	X509_free(x);
	ERR_clear_error();
	/* A name with a NUL inside is cut short: not a match for anyone. */
	return n > 0 && (size_t)n == strlen(cn) ? 0 : -1;
}

static int64_t
asn1_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

int
tls_conn_peer_expired(struct tls_conn *c, int64_t *not_after)
{
	X509 *x;
	int expired;

	if ((x = SSL_get1_peer_certificate(c->ssl)) == NULL)
		return -1;
	*not_after = asn1_epoch(X509_get0_notAfter(x));
	expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0 ||
	    X509_cmp_current_time(X509_get0_notBefore(x)) > 0;
	X509_free(x);
	ERR_clear_error();
	return expired;
}

static X509 *
read_cert(const char *path, char *err, size_t errlen)
{
	X509 *x = NULL;
	BIO *b;

	errno = 0;
	if ((b = BIO_new_file(path, "r")) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		file_error(err, errlen, "certificate", path);
	BIO_free(b);
	return x;
}

static EVP_PKEY *
read_key(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *k = NULL;
	BIO *b;

	errno = 0;
	if ((b = BIO_new_file(path, "r")) == NULL ||
	    (k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
		file_error(err, errlen, "key", path);
	BIO_free(b);
	return k;
}

int
tls_files_check(const char *cert, const char *key, struct tls_fileinfo *info,
    char *err, size_t errlen)
{
	unsigned int n = 0;
	X509 *x;
	EVP_PKEY *k;
	int rc = -1;

	if ((x = read_cert(cert, err, errlen)) == NULL)
		return -1;
	if ((k = read_key(key, err, errlen)) == NULL)
		goto done;
	if (X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "key %s does not belong to certificate "
		    "%s", key, cert);
		goto done;
	}
	if (pin_of(x, info->pin) == -1 || X509_digest(x, EVP_sha256(),
	    info->cert_hash, &n) != 1 || n != sizeof(info->cert_hash)) {
		ERR_clear_error();
		snprintf(err, errlen, "certificate %s: no usable public key",
		    cert);
		goto done;
	}
	info->not_after = asn1_epoch(X509_get0_notAfter(x));
	info->expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0 ||
	    X509_cmp_current_time(X509_get0_notBefore(x)) > 0;
	ERR_clear_error();
	rc = 0;
done:
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}

struct tls_ca {
	X509		*cert;
	EVP_PKEY	*key;
};

struct tls_ca *
tls_ca_load(const char *cert, const char *key, char *err, size_t errlen)
{
	struct tls_ca *ca;

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((ca->cert = read_cert(cert, err, errlen)) == NULL ||
	    (ca->key = read_key(key, err, errlen)) == NULL) {
		tls_ca_free(ca);
		return NULL;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "key %s does not belong to certificate "
		    "%s", key, cert);
		tls_ca_free(ca);
		return NULL;
	}
	return ca;
}

void
tls_ca_free(struct tls_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

/*
 * Write the PEM made by put() into path with mode, through a temporary
 * file, fsync'ed and renamed over path.
 */
static int
write_pem(const char *path, mode_t mode, int (*put)(BIO *, void *),
    void *obj, char *err, size_t errlen)
{
	char tmp[4096];
	BIO *mem;
	char *data;
	long len;
	int fd = -1, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((mem = BIO_new(BIO_s_mem())) == NULL || put(mem, obj) != 1 ||
	    (len = BIO_get_mem_data(mem, &data)) <= 0) {
		ossl_error(err, errlen, "out of memory");
		BIO_free(mem);
		return -1;
	}
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) ==
	    -1 || fchmod(fd, mode) == -1 ||
	    write(fd, data, (size_t)len) != (ssize_t)len ||
	    fsync(fd) == -1 || close(fd) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		goto done;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		unlink(tmp);
		goto done;
	}
	rc = 0;
done:
	BIO_free(mem);
	return rc;
}

static int
put_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static int
put_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

static EVP_PKEY *
new_key(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *k;

	if ((k = EVP_EC_gen("P-256")) == NULL) {
		ossl_error(err, errlen, "cannot make a key");
		return NULL;
	}
	if (write_pem(path, 0600, put_key, k, err, errlen) == -1) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* Add extension nid = value (openssl x509v3_config syntax) to x. */
static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : -1;
}

/* A certificate skeleton: v3, random serial, validity, subject CN. */
static X509 *
new_cert(EVP_PKEY *pub, const char *cn, int days)
{
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509 *x;

	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;	/* positive */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    /* Five minutes back, for clocks a little behind ours. */
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    X509_set_pubkey(x, pub) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1)
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* 1 when s is an IPv4 or IPv6 address literal. */
static int
is_ip(const char *s)
{
	unsigned char ip[16];

	return inet_pton(AF_INET, s, ip) == 1 || inet_pton(AF_INET6, s, ip) == 1;
}

/*
 * "DNS:a,IP:b,..." for names (x509v3_config syntax), malloc'ed; NULL
 * (err set) when out of memory or a name holds a comma or is empty.
 */
static char *
san_value(const char *const *names, size_t n, char *err, size_t errlen)
{
	size_t len = 1, at = 0;
	char *v;

	for (size_t i = 0; i < n; i++) {
		if (names[i][0] == '\0' || strpbrk(names[i], ", \t\n") != NULL) {
			snprintf(err, errlen, "\"%s\" cannot be a certificate's "
			    "name", names[i]);
			return NULL;
		}
		len += strlen(names[i]) + 5;
	}
	if ((v = malloc(len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	v[0] = '\0';
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(v + at, len - at, "%s%s:%s",
		    i > 0 ? "," : "", is_ip(names[i]) ? "IP" : "DNS", names[i]);
	return v;
}

static int
make_selfsigned(const char *cert, const char *key, const char *cn,
    const char *const *names, size_t nnames, int days, int keep_key, int ca,
    uint8_t pin[TLS_PIN_LEN], char *err, size_t errlen)
{
	char *san = NULL;
	EVP_PKEY *k;
	X509 *x = NULL;
	int rc = -1;

	if (!ca && (san = san_value(names, nnames, err, errlen)) == NULL)
		return -1;
	k = keep_key ? read_key(key, err, errlen) : new_key(key, err, errlen);
	if (k == NULL) {
		free(san);
		return -1;
	}
	if ((x = new_cert(k, cn, days)) == NULL ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") == -1 ||
	    (ca ? add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ==
	    -1 || add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")
	    == -1 :
	    add_ext(x, x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    add_ext(x, x, NID_key_usage, "critical,digitalSignature") == -1 ||
	    add_ext(x, x, NID_ext_key_usage, "serverAuth") == -1 ||
	    add_ext(x, x, NID_subject_alt_name, san) == -1) ||
	    X509_sign(x, k, EVP_sha256()) <= 0) {
		ossl_error(err, errlen, "cannot make the certificate");
		goto done;
	}
	if (write_pem(cert, 0644, put_cert, x, err, errlen) == -1)
		goto done;
	if (pin != NULL && pin_of(x, pin) == -1) {
		snprintf(err, errlen, "certificate %s: no usable public key",
		    cert);
		goto done;
	}
	rc = 0;
done:
	free(san);
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

int
tls_make_selfsigned(const char *cert, const char *key, const char *cn,
    int days, int keep_key, int ca, uint8_t pin[TLS_PIN_LEN], char *err,
    size_t errlen)
{
	return make_selfsigned(cert, key, cn, &cn, 1, days, keep_key, ca, pin,
	    err, errlen);
}

int
tls_make_selfsigned_names(const char *cert, const char *key, const char *cn,
    const char *const *names, size_t n, int days, int keep_key,
    uint8_t pin[TLS_PIN_LEN], char *err, size_t errlen)
{
	if (n == 0) {
		snprintf(err, errlen, "a certificate needs a name");
		return -1;
	}
	return make_selfsigned(cert, key, cn, names, n, days, keep_key, 0, pin,
	    err, errlen);
}

int
tls_cert_covers(const char *path, const char *const *names, size_t n,
    const char **missing, char *err, size_t errlen)
{
	X509 *x;
	int rc = 1;

	*missing = NULL;
	if ((x = read_cert(path, err, errlen)) == NULL)
		return -1;
	/* Self-signed: its own issuer, its signature checked by its key
	 * (X509_check_issued() would also want keyCertSign). */
	if (X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(x)) != 0 ||
	    X509_verify(x, X509_get0_pubkey(x)) != 1) {
		X509_free(x);
		ERR_clear_error();
		return 2;
	}
	for (size_t i = 0; i < n && rc == 1; i++)
		if ((is_ip(names[i]) ? X509_check_ip_asc(x, names[i], 0) :
		    X509_check_host(x, names[i], 0,
		    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL)) != 1) {
			*missing = names[i];
			rc = 0;
		}
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int
tls_make_request(const char *key, const char *cn, uint8_t **csr,
    size_t *csrlen, char *err, size_t errlen)
{
	X509_REQ *req = NULL;
	unsigned char *der = NULL;
	EVP_PKEY *k;
	int len, rc = -1;

	*csr = NULL;
	if ((k = new_key(key, err, errlen)) == NULL)
		return -1;
	if ((req = X509_REQ_new()) == NULL ||
	    X509_REQ_set_pubkey(req, k) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_sign(req, k, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0) {
		ossl_error(err, errlen, "cannot make a certificate request");
		goto done;
	}
	if ((*csr = malloc((size_t)len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	memcpy(*csr, der, (size_t)len);
	*csrlen = (size_t)len;
	rc = 0;
done:
	OPENSSL_free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return rc;
}

int
tls_issue(const struct tls_ca *ca, const uint8_t *csr, size_t csrlen,
    const char *cn, int days, char **pem, size_t *pemlen, char *err,
    size_t errlen)
{
	const unsigned char *p = csr;
	X509_REQ *req = NULL;
	EVP_PKEY *pub;
	X509 *x = NULL;
	BIO *mem = NULL;
	char *data;
	long len;
	int rc = -1;

	*pem = NULL;
	if (csrlen > 0x7fffffff ||
	    (req = d2i_X509_REQ(NULL, &p, (long)csrlen)) == NULL ||
	    p != csr + csrlen ||
	    (pub = X509_REQ_get0_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "malformed certificate request");
		goto done;
	}
	if ((x = new_cert(pub, cn, days)) == NULL ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
	    add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ==
	    -1 ||
	    add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") ==
	    -1 ||
	    add_ext(x, ca->cert, NID_ext_key_usage, "clientAuth") == -1 ||
	    add_ext(x, ca->cert, NID_authority_key_identifier, "keyid") == -1 ||
	    X509_sign(x, ca->key, EVP_sha256()) <= 0 ||
	    (mem = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(mem, x) != 1 ||
	    (len = BIO_get_mem_data(mem, &data)) <= 0) {
		ossl_error(err, errlen, "cannot issue the certificate");
		goto done;
	}
	if ((*pem = malloc((size_t)len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	memcpy(*pem, data, (size_t)len);
	(*pem)[len] = '\0';
	*pemlen = (size_t)len;
	rc = 0;
done:
	BIO_free(mem);
	X509_free(x);
	X509_REQ_free(req);
	ERR_clear_error();
	return rc;
}

int
tls_cert_name(const char *path, char *cn, size_t cnlen)
{
	char err[64];
	X509 *x;
	int n;

	if (cnlen == 0 || cnlen > 0x7fffffff ||
	    (x = read_cert(path, err, sizeof(err))) == NULL)
		return -1;
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, (int)cnlen);
	X509_free(x);
	ERR_clear_error();
	return n > 0 && (size_t)n == strlen(cn) ? 0 : -1;
}

void
tls_pin_text(const uint8_t pin[TLS_PIN_LEN], char out[96])
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < TLS_PIN_LEN; i++) {
		out[3 * i] = hex[pin[i] >> 4];
		out[3 * i + 1] = hex[pin[i] & 15];
		out[3 * i + 2] = i + 1 < TLS_PIN_LEN ? ':' : '\0';
	}
}
