/* OpenSSL 3 behind bench/tls-lib.h. SSL_connect on a non-blocking fd
 * returns SSL_ERROR_WANT_READ / WANT_WRITE; the session arrives through the
 * new-session callback (in TLS 1.3 after the handshake, with the
 * NewSessionTicket), and the peer certificate stays in the session, so a
 * resumed check still reports the certificate it was issued with. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls-lib.h"

struct tlsb_ctx {
	SSL_CTX *ssl_ctx;
	SSL_SESSION *session; /* the last session, never handed to an SSL */
	size_t session_len;   /* its DER size, for the report */
	const struct tlsb_opts *o;
};

struct tlsb_conn {
	struct tlsb_ctx *ctx;
	SSL *ssl;
	bool got_ticket;
	char error[160];
};

static int ex_index = -1;

const char *tlsb_lib_name(void)
{
	return "openssl";
}

const char *tlsb_lib_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tlsb_conn *c = SSL_get_ex_data(ssl, ex_index);

	int len = i2d_SSL_SESSION(sess, NULL);

	if (!c || len <= 0)
		return 0;
	SSL_SESSION_free(c->ctx->session);
	c->ctx->session = sess;
	c->ctx->session_len = (size_t)len;
	c->got_ticket = true;
	return 1; /* the reference is ours now */
}

int tlsb_ctx_new(struct tlsb_ctx **out, const struct tlsb_opts *o, char *err, size_t errlen)
{
	struct tlsb_ctx *ctx = calloc(1, sizeof(*ctx));
	int v = o->tls12 ? TLS1_2_VERSION : TLS1_3_VERSION;

	if (!ctx)
		return -ENOMEM;
	ctx->o = o;
	if (ex_index < 0)
		ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ctx->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx->ssl_ctx)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx->ssl_ctx, v);
	SSL_CTX_set_max_proto_version(ctx->ssl_ctx, v);
	if (!SSL_CTX_set1_groups_list(ctx->ssl_ctx, "X25519:P-256"))
		goto fail;
	if (SSL_CTX_load_verify_locations(ctx->ssl_ctx, o->cafile, NULL) != 1)
		goto fail;
	SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, NULL);
	/* a client cache that only hands sessions to us */
	SSL_CTX_set_session_cache_mode(ctx->ssl_ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx->ssl_ctx, on_new_session);
	/* a read per flight, not two per record; buffers freed while idle
	 * (52 KiB per idle connection without, 20 KiB with) */
	SSL_CTX_set_read_ahead(ctx->ssl_ctx, 1);
	SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Offers psk_ke beside psk_dhe_ke; a 3.0 server still picks
	 * psk_dhe_ke when both are offered. */
	if (o->psk_ke)
		SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	*out = ctx;
	return 0;
fail:
	ERR_error_string_n(ERR_get_error(), err, errlen);
	tlsb_ctx_free(ctx);
	return -EINVAL;
}

void tlsb_ctx_free(struct tlsb_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_SESSION_free(ctx->session);
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

size_t tlsb_ctx_session_size(const struct tlsb_ctx *ctx)
{
	return ctx->session_len;
}

int tlsb_conn_new(struct tlsb_ctx *ctx, int fd, bool resume, struct tlsb_conn **out)
{
	struct tlsb_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->ctx = ctx;
	c->ssl = SSL_new(ctx->ssl_ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, fd))
		goto fail;
	SSL_set_ex_data(c->ssl, ex_index, c);
	SSL_set_tlsext_host_name(c->ssl, ctx->o->name);
	if (!SSL_set1_host(c->ssl, ctx->o->name))
		goto fail;
	if (resume && ctx->session) {
		/* a copy: the one an SSL resumed from is spent (tls-lib.h) */
		SSL_SESSION *sess = SSL_SESSION_dup(ctx->session);
		int ok = sess && SSL_set_session(c->ssl, sess);

		SSL_SESSION_free(sess);
		if (!ok)
			goto fail;
	}
	SSL_set_connect_state(c->ssl);
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
	SSL_free(c->ssl);
	free(c);
}

/* Maps an SSL_* call's result to TLSB_*; the error text goes into c. */
static int result(struct tlsb_conn *c, int rc)
{
	int e = SSL_get_error(c->ssl, rc);
	unsigned long code;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLSB_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLSB_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(c->error, sizeof(c->error), "the server closed the TLS session");
		return -EPIPE;
	case SSL_ERROR_SYSCALL:
		snprintf(c->error, sizeof(c->error), "connection closed: %s",
			 errno ? strerror(errno) : "eof");
		return -EPIPE;
	default:
		code = ERR_get_error();
		if (SSL_get_verify_result(c->ssl) != X509_V_OK)
			snprintf(c->error, sizeof(c->error), "certificate: %s",
				 X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
		else
			ERR_error_string_n(code, c->error, sizeof(c->error));
		ERR_clear_error();
		return -EPROTO;
	}
}

int tlsb_handshake(struct tlsb_conn *c)
{
	int rc = SSL_do_handshake(c->ssl);

	return rc == 1 ? TLSB_DONE : result(c, rc);
}

static void name_of(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int k;

	buf[0] = 0;
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
	k = BIO_read(b, buf, (int)len - 1);
	buf[k > 0 ? k : 0] = 0;
	BIO_free(b);
}

static void sans_of(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;
	int i;

	buf[0] = 0;
	for (i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		char ip[64] = "";
		const char *s = NULL;

		if (g->type == GEN_DNS)
			s = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
		else if (g->type == GEN_IPADD && g->d.iPAddress->length == 4) {
			const unsigned char *a = g->d.iPAddress->data;

			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
			s = ip;
		}
		if (s && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", s);
	}
	GENERAL_NAMES_free(names);
}

int tlsb_info(struct tlsb_conn *c, struct tlsb_info *info)
{
	X509 *leaf = SSL_get0_peer_certificate(c->ssl);
	EVP_PKEY *tmp = NULL;
	struct tm tm;

	snprintf(info->version, sizeof(info->version), "%s", SSL_get_version(c->ssl));
	snprintf(info->cipher, sizeof(info->cipher), "%s", SSL_get_cipher_name(c->ssl));
	info->resumed = SSL_session_reused(c->ssl);
	info->verified = SSL_get_verify_result(c->ssl) == X509_V_OK;
	/* the server's ephemeral key: absent when psk_ke skipped the exchange */
	if (SSL_get_peer_tmp_key(c->ssl, &tmp)) {
		snprintf(info->kx, sizeof(info->kx), "%s", OBJ_nid2sn(EVP_PKEY_get_id(tmp)));
		EVP_PKEY_free(tmp);
	} else {
		snprintf(info->kx, sizeof(info->kx), "none");
	}
	if (!leaf)
		return 0;
	info->have_cert = true;
	name_of(X509_get_subject_name(leaf), info->subject, sizeof(info->subject));
	name_of(X509_get_issuer_name(leaf), info->issuer, sizeof(info->issuer));
	sans_of(leaf, info->sans, sizeof(info->sans));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm))
		info->not_after = timegm(&tm);
	return 0;
}

int tlsb_read_ticket(struct tlsb_conn *c)
{
	char buf[256];
	int rc;

	if (SSL_version(c->ssl) != TLS1_3_VERSION) /* 1.2: inside the handshake */
		return c->got_ticket ? TLSB_DONE
				     : (snprintf(c->error, sizeof(c->error), "no ticket"), -ENOENT);
	while (!c->got_ticket) {
		rc = SSL_read(c->ssl, buf, sizeof(buf));
		if (rc > 0 || c->got_ticket)
			continue; /* no application data is expected; skip it */
		return result(c, rc);
	}
	return TLSB_DONE;
}

int tlsb_close_notify(struct tlsb_conn *c)
{
	int rc = SSL_shutdown(c->ssl);

	return rc >= 0 ? TLSB_DONE : result(c, rc);
}

const char *tlsb_error(struct tlsb_conn *c)
{
	return c->error[0] ? c->error : "unknown error";
}
