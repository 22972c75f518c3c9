/* Mbed TLS 2.28 behind bench/tls-lib.h. 2.28 has no TLS 1.3 client, so
 * this is TLS 1.2 ECDHE-ECDSA (X25519, P-256 certificate); its ticket
 * (RFC 5077) comes inside the handshake, and a resumed 1.2 handshake does
 * no key exchange at all. The bio callbacks are our own: mbedtls_net_recv
 * asks fcntl(F_GETFL) on every EAGAIN to learn whether the socket is
 * non-blocking; reads go through tlsb_rbuf. 2.28 does not say whether a handshake resumed: a full one
 * verifies the chain, so the verify callback tells. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "tls-lib.h"

struct tlsb_ctx {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;
	mbedtls_ssl_config conf;
	mbedtls_ssl_session session;
	bool have_session;
	size_t session_len;
	const struct tlsb_opts *o;
};

struct tlsb_conn {
	struct tlsb_ctx *ctx;
	mbedtls_ssl_context ssl;
	int fd;
	struct tlsb_rbuf rbuf;
	bool verified_chain; /* the verify callback ran: a full handshake */
	char error[160];
};

static const int suites[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0};
static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
					      MBEDTLS_ECP_DP_NONE};

const char *tlsb_lib_name(void)
{
	return "mbedtls";
}

const char *tlsb_lib_version(void)
{
	static char v[32];

	mbedtls_version_get_string_full(v);
	return v;
}

static int on_verify(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tlsb_conn *c = arg;

	(void)crt;
	(void)depth;
	(void)flags;
	c->verified_chain = true;
	return 0;
}

int tlsb_ctx_new(struct tlsb_ctx **out, const struct tlsb_opts *o, char *err, size_t errlen)
{
	struct tlsb_ctx *ctx = calloc(1, sizeof(*ctx));
	int rc;

	if (!ctx)
		return -ENOMEM;
	ctx->o = o;
	mbedtls_entropy_init(&ctx->entropy);
	mbedtls_ctr_drbg_init(&ctx->drbg);
	mbedtls_x509_crt_init(&ctx->ca);
	mbedtls_ssl_config_init(&ctx->conf);
	mbedtls_ssl_session_init(&ctx->session);
	if (!o->tls12) {
		snprintf(err, errlen, "Mbed TLS 2.28 has no TLS 1.3 client: use -2");
		tlsb_ctx_free(ctx);
		return -EINVAL;
	}
	rc = mbedtls_ctr_drbg_seed(&ctx->drbg, mbedtls_entropy_func, &ctx->entropy, NULL, 0);
	if (rc == 0)
		rc = mbedtls_x509_crt_parse_file(&ctx->ca, o->cafile);
	if (rc == 0)
		rc = mbedtls_ssl_config_defaults(&ctx->conf, MBEDTLS_SSL_IS_CLIENT,
						 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc) {
		mbedtls_strerror(rc, err, errlen);
		tlsb_ctx_free(ctx);
		return -EINVAL;
	}
	mbedtls_ssl_conf_authmode(&ctx->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&ctx->conf, &ctx->ca, NULL);
	mbedtls_ssl_conf_rng(&ctx->conf, mbedtls_ctr_drbg_random, &ctx->drbg);
	mbedtls_ssl_conf_min_version(&ctx->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(&ctx->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&ctx->conf, suites);
	mbedtls_ssl_conf_curves(&ctx->conf, curves);
	mbedtls_ssl_conf_session_tickets(&ctx->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
	*out = ctx;
	return 0;
}

void tlsb_ctx_free(struct tlsb_ctx *ctx)
{
	if (!ctx)
		return;
	mbedtls_ssl_session_free(&ctx->session);
	mbedtls_ssl_config_free(&ctx->conf);
	mbedtls_x509_crt_free(&ctx->ca);
	mbedtls_ctr_drbg_free(&ctx->drbg);
	mbedtls_entropy_free(&ctx->entropy);
	free(ctx);
}

size_t tlsb_ctx_session_size(const struct tlsb_ctx *ctx)
{
	return ctx->have_session ? ctx->session_len : 0;
}

static int bio_send(void *arg, const unsigned char *buf, size_t len)
{
	struct tlsb_conn *c = arg;
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *arg, unsigned char *buf, size_t len)
{
	struct tlsb_conn *c = arg;
	long n = tlsb_rbuf_recv(&c->rbuf, c->fd, buf, len);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

int tlsb_conn_new(struct tlsb_ctx *ctx, int fd, bool resume, struct tlsb_conn **out)
{
	struct tlsb_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->ctx = ctx;
	c->fd = fd;
	mbedtls_ssl_init(&c->ssl);
	if (mbedtls_ssl_setup(&c->ssl, &ctx->conf) || mbedtls_ssl_set_hostname(&c->ssl, ctx->o->name))
		goto fail;
	mbedtls_ssl_set_verify(&c->ssl, on_verify, c);
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	if (resume && ctx->have_session && mbedtls_ssl_set_session(&c->ssl, &ctx->session))
		goto fail;
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
	mbedtls_ssl_free(&c->ssl);
	free(c);
}

static int result(struct tlsb_conn *c, int rc)
{
	uint32_t flags;

	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		return TLSB_WANT_READ;
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLSB_WANT_WRITE;
	flags = mbedtls_ssl_get_verify_result(&c->ssl);
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags) {
		int n = snprintf(c->error, sizeof(c->error), "certificate:");

		mbedtls_x509_crt_verify_info(c->error + n, sizeof(c->error) - (size_t)n, " ", flags);
	} else {
		mbedtls_strerror(rc, c->error, sizeof(c->error));
	}
	return -EPROTO;
}

int tlsb_handshake(struct tlsb_conn *c)
{
	int rc = mbedtls_ssl_handshake(&c->ssl);

	return rc == 0 ? TLSB_DONE : result(c, rc);
}

int tlsb_info(struct tlsb_conn *c, struct tlsb_info *info)
{
	const mbedtls_x509_crt *leaf = mbedtls_ssl_get_peer_cert(&c->ssl);
	const mbedtls_x509_sequence *san;
	size_t used = 0;
	struct tm tm;

	snprintf(info->version, sizeof(info->version), "%s", mbedtls_ssl_get_version(&c->ssl));
	snprintf(info->cipher, sizeof(info->cipher), "%s", mbedtls_ssl_get_ciphersuite(&c->ssl));
	info->resumed = !c->verified_chain;
	info->verified = mbedtls_ssl_get_verify_result(&c->ssl) == 0;
	snprintf(info->kx, sizeof(info->kx), "%s", info->resumed ? "none" : "ECDHE");
	if (!leaf)
		return 0;
	info->have_cert = true;
	if (mbedtls_x509_dn_gets(info->subject, sizeof(info->subject), &leaf->subject) < 0)
		info->subject[0] = 0;
	if (mbedtls_x509_dn_gets(info->issuer, sizeof(info->issuer), &leaf->issuer) < 0)
		info->issuer[0] = 0;
	/* 2.28 keeps every SAN's raw value; a dNSName is [2], an iPAddress [7] */
	for (san = &leaf->subject_alt_names; san && san->buf.p && used < sizeof(info->sans);
	     san = san->next) {
		const unsigned char *p = san->buf.p;
		int tag = san->buf.tag & 0x1f;

		if (tag == 2)
			used += (size_t)snprintf(info->sans + used, sizeof(info->sans) - used, "%s%.*s",
						 used ? "," : "", (int)san->buf.len, (const char *)p);
		else if (tag == 7 && san->buf.len == 4)
			used += (size_t)snprintf(info->sans + used, sizeof(info->sans) - used,
						 "%s%u.%u.%u.%u", used ? "," : "", p[0], p[1], p[2], p[3]);
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = leaf->valid_to.year - 1900;
	tm.tm_mon = leaf->valid_to.mon - 1;
	tm.tm_mday = leaf->valid_to.day;
	tm.tm_hour = leaf->valid_to.hour;
	tm.tm_min = leaf->valid_to.min;
	tm.tm_sec = leaf->valid_to.sec;
	info->not_after = timegm(&tm);
	return 0;
}

int tlsb_read_ticket(struct tlsb_conn *c)
{
	size_t len = 0;
	int rc;

	/* TLS 1.2: the ticket came inside the handshake */
	mbedtls_ssl_session_free(&c->ctx->session);
	mbedtls_ssl_session_init(&c->ctx->session);
	c->ctx->have_session = false;
	rc = mbedtls_ssl_get_session(&c->ssl, &c->ctx->session);
	if (rc)
		return result(c, rc);
	c->ctx->have_session = true;
	mbedtls_ssl_session_save(&c->ctx->session, NULL, 0, &len);
	c->ctx->session_len = len;
	return TLSB_DONE;
}

int tlsb_close_notify(struct tlsb_conn *c)
{
	int rc = mbedtls_ssl_close_notify(&c->ssl);

	return rc == 0 ? TLSB_DONE : result(c, rc);
}

const char *tlsb_error(struct tlsb_conn *c)
{
	return c->error[0] ? c->error : "unknown error";
}
