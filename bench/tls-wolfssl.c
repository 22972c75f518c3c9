/* wolfSSL 5.5 (Debian's build: OPENSSL_ALL, session tickets, TLS 1.3)
 * behind bench/tls-lib.h. wolfSSL_connect on a non-blocking fd fails with
 * WOLFSSL_ERROR_WANT_READ / WANT_WRITE. A TLS 1.3 ticket is announced by
 * the session-ticket callback; wolfSSL_set_session copies the session into
 * the connection, so one saved WOLFSSL_SESSION resumes any number of times.
 * psk_ke: wolfSSL_no_dhe_psk, and no key share at all, so a resumed check
 * does no elliptic-curve work (a declined ticket costs a HelloRetryRequest).
 * Reads go through tlsb_rbuf (an I/O callback). Each WOLFSSL seeds a DRBG
 * of its own from /dev/urandom: an open, a read and a close per check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "tls-lib.h"

struct tlsb_ctx {
	WOLFSSL_CTX *wctx;
	WOLFSSL_SESSION *session;
	size_t session_len;
	const struct tlsb_opts *o;
};

struct tlsb_conn {
	struct tlsb_ctx *ctx;
	WOLFSSL *ssl;
	int fd;
	struct tlsb_rbuf rbuf;
	bool got_ticket;
	char error[160];
};

const char *tlsb_lib_name(void)
{
	return "wolfssl";
}

const char *tlsb_lib_version(void)
{
	static char v[32];

	snprintf(v, sizeof(v), "wolfSSL %s", wolfSSL_lib_version());
	return v;
}

int tlsb_ctx_new(struct tlsb_ctx **out, const struct tlsb_opts *o, char *err, size_t errlen)
{
	struct tlsb_ctx *ctx = calloc(1, sizeof(*ctx));
	int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1};

	if (!ctx)
		return -ENOMEM;
	ctx->o = o;
	wolfSSL_Init();
	ctx->wctx = wolfSSL_CTX_new(o->tls12 ? wolfTLSv1_2_client_method() : wolfTLSv1_3_client_method());
	if (!ctx->wctx) {
		snprintf(err, errlen, "wolfSSL_CTX_new failed");
		goto fail;
	}
	if (wolfSSL_CTX_load_verify_locations(ctx->wctx, o->cafile, NULL) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "cannot load '%s'", o->cafile);
		goto fail;
	}
	wolfSSL_CTX_set_verify(ctx->wctx, WOLFSSL_VERIFY_PEER, NULL);
	/* the first group is the key share wolfSSL sends: X25519, as the others */
	if (!o->tls12 && wolfSSL_CTX_set_groups(ctx->wctx, groups, 2) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "cannot set the groups");
		goto fail;
	}
	if (o->tls12 && (wolfSSL_CTX_UseSupportedCurve(ctx->wctx, WOLFSSL_ECC_X25519) != WOLFSSL_SUCCESS ||
			 wolfSSL_CTX_UseSupportedCurve(ctx->wctx, WOLFSSL_ECC_SECP256R1) != WOLFSSL_SUCCESS ||
			 wolfSSL_CTX_UseSessionTicket(ctx->wctx) != WOLFSSL_SUCCESS)) {
		snprintf(err, errlen, "cannot set the curves or tickets");
		goto fail;
	}
	*out = ctx;
	return 0;
fail:
	tlsb_ctx_free(ctx);
	return -EINVAL;
}

void tlsb_ctx_free(struct tlsb_ctx *ctx)
{
	if (!ctx)
		return;
	wolfSSL_SESSION_free(ctx->session);
	wolfSSL_CTX_free(ctx->wctx);
	free(ctx);
}

size_t tlsb_ctx_session_size(const struct tlsb_ctx *ctx)
{
	return ctx->session_len;
}

static int io_recv(WOLFSSL *ssl, char *buf, int len, void *arg)
{
	struct tlsb_conn *c = arg;
	long n = tlsb_rbuf_recv(&c->rbuf, c->fd, buf, (size_t)len);

	(void)ssl;
	if (n > 0)
		return (int)n;
	if (n == 0)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	if (errno == EAGAIN || errno == EINTR)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	if (errno == ECONNRESET)
		return WOLFSSL_CBIO_ERR_CONN_RST;
	return WOLFSSL_CBIO_ERR_GENERAL;
}

static int on_ticket(WOLFSSL *ssl, const unsigned char *ticket, int len, void *arg)
{
	struct tlsb_conn *c = arg;

	(void)ssl;
	(void)ticket;
	(void)len;
	c->got_ticket = true;
	return 0;
}

int tlsb_conn_new(struct tlsb_ctx *ctx, int fd, bool resume, struct tlsb_conn **out)
{
	struct tlsb_conn *c = calloc(1, sizeof(*c));
	const char *name = ctx->o->name;

	if (!c)
		return -ENOMEM;
	c->ctx = ctx;
	c->fd = fd;
	c->ssl = wolfSSL_new(ctx->wctx);
	if (!c->ssl || wolfSSL_set_fd(c->ssl, fd) != WOLFSSL_SUCCESS ||
	    wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, name, (unsigned short)strlen(name)) !=
		WOLFSSL_SUCCESS ||
	    wolfSSL_check_domain_name(c->ssl, name) != WOLFSSL_SUCCESS ||
	    wolfSSL_set_SessionTicket_cb(c->ssl, on_ticket, c) != WOLFSSL_SUCCESS)
		goto fail;
	wolfSSL_SSLSetIORecv(c->ssl, io_recv);
	wolfSSL_SetIOReadCtx(c->ssl, c);
	if (resume && ctx->session) {
		if (wolfSSL_set_session(c->ssl, ctx->session) != WOLFSSL_SUCCESS)
			goto fail;
		if (ctx->o->psk_ke && !ctx->o->tls12 &&
		    (wolfSSL_no_dhe_psk(c->ssl) != 0 || wolfSSL_NoKeyShares(c->ssl) != WOLFSSL_SUCCESS))
			goto fail;
	}
	*out = c;
	return 0;
fail:
	tlsb_conn_free(c);
	return -EINVAL;
}

void tlsb_conn_free(struct tlsb_conn *c)
{
	if (!c)
		return;
	wolfSSL_free(c->ssl);
	free(c);
}

static int result(struct tlsb_conn *c, int rc)
{
	int e = wolfSSL_get_error(c->ssl, rc);
	char buf[WOLFSSL_MAX_ERROR_SZ];

	if (e == WOLFSSL_ERROR_WANT_READ)
		return TLSB_WANT_READ;
	if (e == WOLFSSL_ERROR_WANT_WRITE)
		return TLSB_WANT_WRITE;
	snprintf(c->error, sizeof(c->error), "%s", wolfSSL_ERR_error_string((unsigned long)e, buf));
	return -EPROTO;
}

int tlsb_handshake(struct tlsb_conn *c)
{
	int rc = wolfSSL_connect(c->ssl);

	return rc == WOLFSSL_SUCCESS ? TLSB_DONE : result(c, rc);
}

int tlsb_info(struct tlsb_conn *c, struct tlsb_info *info)
{
	WOLFSSL_X509 *leaf = wolfSSL_get_peer_certificate(c->ssl);
	const char *curve = wolfSSL_get_curve_name(c->ssl);
	WOLFSSL_ASN1_TIME *na;
	size_t used = 0;
	struct tm tm;
	char *alt;

	snprintf(info->version, sizeof(info->version), "%s", wolfSSL_get_version(c->ssl));
	snprintf(info->cipher, sizeof(info->cipher), "%s", wolfSSL_get_cipher_name(c->ssl));
	info->resumed = wolfSSL_session_reused(c->ssl);
	info->verified = wolfSSL_get_verify_result(c->ssl) == 0;
	snprintf(info->kx, sizeof(info->kx), "%s", curve ? curve : "none");
	if (!leaf)
		return 0;
	info->have_cert = true;
	wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(leaf), info->subject, sizeof(info->subject));
	wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_issuer_name(leaf), info->issuer, sizeof(info->issuer));
	while ((alt = wolfSSL_X509_get_next_altname(leaf)) && used < sizeof(info->sans))
		used += (size_t)snprintf(info->sans + used, sizeof(info->sans) - used, "%s%s",
					 used ? "," : "", alt);
	na = wolfSSL_X509_get_notAfter(leaf);
	if (na && wolfSSL_ASN1_TIME_to_tm(na, &tm) == WOLFSSL_SUCCESS)
		info->not_after = timegm(&tm);
	wolfSSL_X509_free(leaf);
	return 0;
}

static int save_session(struct tlsb_conn *c)
{
	WOLFSSL_SESSION *s = wolfSSL_get1_session(c->ssl);
	int len;

	if (!s) {
		snprintf(c->error, sizeof(c->error), "no session to save");
		return -ENOENT;
	}
	len = wolfSSL_i2d_SSL_SESSION(s, NULL);
	wolfSSL_SESSION_free(c->ctx->session);
	c->ctx->session = s;
	c->ctx->session_len = len > 0 ? (size_t)len : 0;
	return TLSB_DONE;
}

int tlsb_read_ticket(struct tlsb_conn *c)
{
	char buf[256];
	int rc;

	if (c->ctx->o->tls12) /* inside the handshake */
		return save_session(c);
	while (!c->got_ticket) {
		rc = wolfSSL_read(c->ssl, buf, sizeof(buf));
		if (rc > 0 || c->got_ticket)
			continue;
		return result(c, rc);
	}
	return save_session(c);
}

int tlsb_close_notify(struct tlsb_conn *c)
{
	int rc = wolfSSL_shutdown(c->ssl);

	/* WOLFSSL_SHUTDOWN_NOT_DONE: ours is sent, the peer's not read */
	if (rc == WOLFSSL_SUCCESS || rc == WOLFSSL_SHUTDOWN_NOT_DONE)
		return TLSB_DONE;
	return result(c, rc);
}

const char *tlsb_error(struct tlsb_conn *c)
{
	return c->error[0] ? c->error : "unknown error";
}
