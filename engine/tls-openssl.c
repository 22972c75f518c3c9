/* engine/tls.h on OpenSSL 3.0: the alternative backend (make
 * TLS_BACKEND=openssl); the build's is engine/tls-gnutls.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "engine/tls.h"

struct tls_ctx {
	SSL_CTX *ctx;
};

struct tls_conn {
	SSL *ssl;
	bool closed_notify;
	uint8_t first[TLS_FIRST_MAX]; /* the server's first bytes (tls_conn_first_bytes) */
	uint8_t n_first;
};

struct tls_session {
	SSL_SESSION *s;
};

static void last_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	/* "error:0A00010B:SSL routines::wrong version number": the reason only */
	const char *r = buf;
	for (int colons = 0; *r && colons < 4; r++)
		if (*r == ':')
			colons++;
	if (!*r)
		r = buf;
	snprintf(err, errlen, "%s%s%s", what, *r ? ": " : "", r);
}

int tls_ctx_new(struct tls_ctx **out, const char *ca_file, char *err, size_t errlen)
{
	struct tls_ctx *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx) {
		last_error(err, errlen, "cannot set up TLS");
		free(c);
		return -ENOMEM;
	}
	/* a monitor reports what a server speaks, old protocols included:
	 * the version is in every result, the check decides */
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_VERSION);
	SSL_CTX_set_security_level(c->ctx, 0);
	/* the chain is judged after the handshake (SSL_get_verify_result),
	 * not by failing it; resumption without a new key exchange is enough
	 * to see that the server works, and costs no public-key operation */
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(c->ctx, SSL_OP_ALLOW_NO_DHE_KEX | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	int ok = ca_file ? SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(c->ctx);
	if (!ok) {
		char why[200];
		last_error(why, sizeof(why), "");
		snprintf(err, errlen, "cannot load CA file '%s'%s", ca_file ? ca_file : "(system)", why);
		SSL_CTX_free(c->ctx);
		free(c);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

void tls_ctx_free(struct tls_ctx *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ctx);
	free(c);
}

/* The socket BIO's reads, for the first bytes the server sent. */
static long on_bio(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret, size_t *processed)
{
	struct tls_conn *t = (struct tls_conn *)BIO_get_callback_arg(b);

	(void)len;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed && *processed && t->n_first < sizeof(t->first)) {
		size_t k = sizeof(t->first) - t->n_first;
		if (k > *processed)
			k = *processed;
		memcpy(t->first + t->n_first, argp, k);
		t->n_first += (uint8_t)k;
	}
	return ret;
}

int tls_conn_new(struct tls_conn **out, struct tls_ctx *c, int fd, const char *sni, const struct tls_session *s)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->ssl = SSL_new(c->ctx);
	if (!t->ssl || !SSL_set_fd(t->ssl, fd)) {
		SSL_free(t->ssl);
		free(t);
		return -ENOMEM;
	}
	BIO_set_callback_ex(SSL_get_rbio(t->ssl), on_bio);
	BIO_set_callback_arg(SSL_get_rbio(t->ssl), (char *)t);
	SSL_set_connect_state(t->ssl);
	if (sni)
		SSL_set_tlsext_host_name(t->ssl, sni);
	if (s && s->s)
		SSL_set_session(t->ssl, s->s);
	*out = t;
	return 0;
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	free(t);
}

static enum tls_io io_result(struct tls_conn *t, int rc, char *err, size_t errlen, const char *what)
{
	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_IO_CLOSED;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			/* the peer went away without close_notify */
			if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
				return TLS_IO_CLOSED;
			if (err)
				snprintf(err, errlen, "%s: %s", what, strerror(errno));
			return TLS_IO_ERROR;
		}
		/* fall through */
	default:
		if (err)
			last_error(err, errlen, what);
		else
			ERR_clear_error();
		return TLS_IO_ERROR;
	}
}

enum tls_io tls_handshake(struct tls_conn *t, char *err, size_t errlen)
{
	ERR_clear_error();
	errno = 0;
	int rc = SSL_do_handshake(t->ssl);
	if (rc == 1)
		return TLS_IO_OK;
	enum tls_io r = io_result(t, rc, err, errlen, "handshake");
	if (r == TLS_IO_CLOSED && err)
		snprintf(err, errlen, "the server closed the connection during the handshake");
	return r;
}

enum tls_io tls_read(struct tls_conn *t, void *buf, size_t n, size_t *got, char *err, size_t errlen)
{
	size_t r = 0;

	ERR_clear_error();
	errno = 0;
	*got = 0;
	int rc = SSL_read_ex(t->ssl, buf, n, &r);
	if (rc == 1) {
		*got = r;
		return TLS_IO_OK;
	}
	return io_result(t, rc, err, errlen, "read");
}

enum tls_io tls_write(struct tls_conn *t, const void *buf, size_t n, size_t *put, char *err, size_t errlen)
{
	size_t w = 0;

	ERR_clear_error();
	errno = 0;
	*put = 0;
	int rc = SSL_write_ex(t->ssl, buf, n, &w);
	if (rc == 1) {
		*put = w;
		return TLS_IO_OK;
	}
	return io_result(t, rc, err, errlen, "write");
}

enum tls_io tls_close_notify(struct tls_conn *t)
{
	if (t->closed_notify)
		return TLS_IO_OK;
	ERR_clear_error();
	int rc = SSL_shutdown(t->ssl);
	if (rc >= 0) {
		t->closed_notify = true;
		return TLS_IO_OK;
	}
	return io_result(t, rc, NULL, 0, "close");
}

/* One line of an X509 name, RFC 2253 order ("CN=x,O=y"), into out
 * (CHECK_TEXT_MAX + 1 bytes). */
static void name_line(const X509_NAME *n, char *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long l;

	out[0] = '\0';
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	l = BIO_get_mem_data(b, &p);
	if (l > 0)
		check_text(out, p, (size_t)l);
	BIO_free(b);
}

static void sans_line(X509 *x, char *out)
{
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char buf[1024];
	size_t o = 0;

	out[0] = '\0';
	if (!g)
		return;
	for (int i = 0; i < sk_GENERAL_NAME_num(g) && o < sizeof(buf) - 64; i++) {
		const GENERAL_NAME *e = sk_GENERAL_NAME_value(g, i);
		if (e->type == GEN_DNS) {
			const unsigned char *d = ASN1_STRING_get0_data(e->d.dNSName);
			int dl = ASN1_STRING_length(e->d.dNSName);
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sDNS:%.*s", o ? "," : "",
					      dl > 253 ? 253 : dl, (const char *)d);
		} else if (e->type == GEN_IPADD) {
			const unsigned char *d = ASN1_STRING_get0_data(e->d.iPAddress);
			int dl = ASN1_STRING_length(e->d.iPAddress);
			if (dl == 4)
				o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sIP:%u.%u.%u.%u", o ? "," : "", d[0], d[1],
						      d[2], d[3]);
			else if (dl == 16)
				o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sIP:%x:%x:%x:%x:%x:%x:%x:%x",
						      o ? "," : "", d[0] << 8 | d[1], d[2] << 8 | d[3], d[4] << 8 | d[5],
						      d[6] << 8 | d[7], d[8] << 8 | d[9], d[10] << 8 | d[11],
						      d[12] << 8 | d[13], d[14] << 8 | d[15]);
		}
		if (o >= sizeof(buf))
			o = sizeof(buf) - 1;
	}
	GENERAL_NAMES_free(g);
	check_text(out, buf, o);
}

void tls_conn_info(struct tls_conn *t, const char *name, struct check_tls *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->version, sizeof(out->version), "%s", SSL_get_version(t->ssl));
	/* IANA names ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", not OpenSSL's
	 * "ECDHE-ECDSA-AES128-GCM-SHA256"), as the GnuTLS backend gives them */
	const SSL_CIPHER *sc = SSL_get_current_cipher(t->ssl);
	const char *cipher = sc ? SSL_CIPHER_standard_name(sc) : NULL;
	snprintf(out->cipher, sizeof(out->cipher), "%s", cipher ? cipher : "");
	out->resumed = SSL_session_reused(t->ssl);
	X509 *x = SSL_get0_peer_certificate(t->ssl);
	if (!x) {
		if (!out->resumed)
			snprintf(out->verify_error, sizeof(out->verify_error), "no certificate");
		return;
	}
	name_line(X509_get_subject_name(x), out->subject);
	name_line(X509_get_issuer_name(x), out->issuer);
	sans_line(x, out->sans);
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		out->not_after_s = (int64_t)timegm(&tm);
	long v = SSL_get_verify_result(t->ssl);
	out->verified = v == X509_V_OK;
	if (!out->verified)
		snprintf(out->verify_error, sizeof(out->verify_error), "%s", X509_verify_cert_error_string(v));
	if (name && *name) {
		int m = strchr(name, ':') || strspn(name, "0123456789.") == strlen(name) ? X509_check_ip_asc(x, name, 0)
											 : X509_check_host(x, name, 0, 0, NULL);
		out->name_ok = m == 1;
		if (!out->name_ok && out->verified)
			snprintf(out->verify_error, sizeof(out->verify_error), "the certificate is not for '%s'", name);
	}
}

struct tls_session *tls_conn_session(struct tls_conn *t)
{
	SSL_SESSION *s = SSL_get1_session(t->ssl);
	if (!s)
		return NULL;
	if (!SSL_SESSION_is_resumable(s)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	struct tls_session *ts = calloc(1, sizeof(*ts));
	if (!ts) {
		SSL_SESSION_free(s);
		return NULL;
	}
	ts->s = s;
	return ts;
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	SSL_SESSION_free(s->s);
	free(s);
}

size_t tls_conn_first_bytes(const struct tls_conn *t, const uint8_t **out)
{
	*out = t->first;
	return t->n_first;
}
