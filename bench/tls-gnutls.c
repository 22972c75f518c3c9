/* GnuTLS 3.7 behind bench/tls-lib.h. A session made with GNUTLS_NONBLOCK
 * returns GNUTLS_E_AGAIN, and gnutls_record_get_direction says which way it
 * waits. gnutls_session_set_verify_cert makes the handshake itself verify
 * the chain and the name. The session data (gnutls_session_get_data2) is a
 * byte string, usable for any number of resumptions; it holds the peer's
 * certificates, so a resumed check still reports them. The socket is read
 * through tlsb_rbuf (a pull function), not record by record. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls-lib.h"

struct tlsb_ctx {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	gnutls_datum_t session; /* gnutls_session_get_data2, ours to free */
	const struct tlsb_opts *o;
};

struct tlsb_conn {
	struct tlsb_ctx *ctx;
	gnutls_session_t s;
	int fd;
	struct tlsb_rbuf rbuf;
	char error[160];
};

const char *tlsb_lib_name(void)
{
	return "gnutls";
}

const char *tlsb_lib_version(void)
{
	static char v[32];

	snprintf(v, sizeof(v), "GnuTLS %s", gnutls_check_version(NULL));
	return v;
}

int tlsb_ctx_new(struct tlsb_ctx **out, const struct tlsb_opts *o, char *err, size_t errlen)
{
	struct tlsb_ctx *ctx = calloc(1, sizeof(*ctx));
	const char *prio;
	int rc;

	if (!ctx)
		return -ENOMEM;
	ctx->o = o;
	/* +PSK puts psk_ke into psk_key_exchange_modes; without an (EC)DHE-PSK
	 * entry GnuTLS offers psk_ke alone, and still sends a key share for
	 * the case the server declines the ticket. */
	if (o->tls12)
		prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1";
	else if (o->psk_ke)
		prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+PSK";
	else
		prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1";
	rc = gnutls_certificate_allocate_credentials(&ctx->cred);
	if (rc < 0)
		goto fail;
	rc = gnutls_certificate_set_x509_trust_file(ctx->cred, o->cafile, GNUTLS_X509_FMT_PEM);
	if (rc <= 0) {
		snprintf(err, errlen, "no CA certificate in '%s'", o->cafile);
		tlsb_ctx_free(ctx);
		return -EINVAL;
	}
	rc = gnutls_priority_init(&ctx->prio, prio, NULL);
	if (rc < 0)
		goto fail;
	*out = ctx;
	return 0;
fail:
	snprintf(err, errlen, "%s", gnutls_strerror(rc));
	tlsb_ctx_free(ctx);
	return -EINVAL;
}

void tlsb_ctx_free(struct tlsb_ctx *ctx)
{
	if (!ctx)
		return;
	gnutls_free(ctx->session.data);
	if (ctx->prio)
		gnutls_priority_deinit(ctx->prio);
	if (ctx->cred)
		gnutls_certificate_free_credentials(ctx->cred);
	free(ctx);
}

size_t tlsb_ctx_session_size(const struct tlsb_ctx *ctx)
{
	return ctx->session.size;
}

static ssize_t pull(gnutls_transport_ptr_t arg, void *buf, size_t len)
{
	struct tlsb_conn *c = arg;
	long n = tlsb_rbuf_recv(&c->rbuf, c->fd, buf, len);

	if (n < 0)
		gnutls_transport_set_errno(c->s, errno);
	return n;
}

static ssize_t vec_push(gnutls_transport_ptr_t arg, const giovec_t *iov, int iovcnt)
{
	struct tlsb_conn *c = arg;
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
	ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);

	if (n < 0)
		gnutls_transport_set_errno(c->s, errno);
	return n;
}

int tlsb_conn_new(struct tlsb_ctx *ctx, int fd, bool resume, struct tlsb_conn **out)
{
	struct tlsb_conn *c = calloc(1, sizeof(*c));
	const char *name = ctx->o->name;

	if (!c)
		return -ENOMEM;
	c->ctx = ctx;
	if (gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0) {
		free(c);
		return -ENOMEM;
	}
	if (gnutls_priority_set(c->s, ctx->prio) < 0 ||
	    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, ctx->cred) < 0 ||
	    gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, name, strlen(name)) < 0)
		goto fail;
	gnutls_session_set_verify_cert(c->s, name, 0);
	c->fd = fd;
	gnutls_transport_set_ptr(c->s, c);
	gnutls_transport_set_pull_function(c->s, pull);
	gnutls_transport_set_vec_push_function(c->s, vec_push);
	if (resume && ctx->session.size &&
	    gnutls_session_set_data(c->s, ctx->session.data, ctx->session.size) < 0)
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
	gnutls_deinit(c->s);
	free(c);
}

static int result(struct tlsb_conn *c, int rc)
{
	gnutls_datum_t out;
	unsigned int status;

	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return gnutls_record_get_direction(c->s) ? TLSB_WANT_WRITE : TLSB_WANT_READ;
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		status = gnutls_session_get_verify_cert_status(c->s);
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
			snprintf(c->error, sizeof(c->error), "certificate: %s", out.data);
			gnutls_free(out.data);
			return -EPROTO;
		}
	}
	snprintf(c->error, sizeof(c->error), "%s", gnutls_strerror(rc));
	return -EPROTO;
}

int tlsb_handshake(struct tlsb_conn *c)
{
	int rc = gnutls_handshake(c->s);

	return rc == GNUTLS_E_SUCCESS ? TLSB_DONE : result(c, rc);
}

static void copy_dn(int (*get)(gnutls_x509_crt_t, gnutls_datum_t *, unsigned), gnutls_x509_crt_t crt,
		    char *buf, size_t len)
{
	gnutls_datum_t d;

	buf[0] = 0;
	if (get(crt, &d, 0) == 0) {
		snprintf(buf, len, "%.*s", (int)d.size, (const char *)d.data);
		gnutls_free(d.data);
	}
}

static void sans_of(gnutls_x509_crt_t crt, char *buf, size_t len)
{
	size_t used = 0;
	unsigned i;

	buf[0] = 0;
	for (i = 0; used < len; i++) {
		unsigned char v[256];
		char ip[64];
		size_t vlen = sizeof(v) - 1;
		const char *s = NULL;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, v, &vlen, NULL);

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			v[vlen] = 0;
			s = (const char *)v;
		} else if (type == GNUTLS_SAN_IPADDRESS && vlen == 4) {
			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
			s = ip;
		}
		if (s)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", s);
	}
}

int tlsb_info(struct tlsb_conn *c, struct tlsb_info *info)
{
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crt;
	gnutls_group_t g = gnutls_group_get(c->s);
	unsigned n = 0;

	snprintf(info->version, sizeof(info->version), "%s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(c->s)));
	snprintf(info->cipher, sizeof(info->cipher), "%s", gnutls_ciphersuite_get(c->s));
	info->resumed = gnutls_session_is_resumed(c->s);
	/* a completed handshake has verified (gnutls_session_set_verify_cert);
	 * a resumed one stands on the verification of the session it resumed */
	info->verified = true;
	snprintf(info->kx, sizeof(info->kx), "%s", g ? gnutls_group_get_name(g) : "none");
	peers = gnutls_certificate_get_peers(c->s, &n);
	if (!peers || !n)
		return 0;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0) {
		info->have_cert = true;
		copy_dn(gnutls_x509_crt_get_dn3, crt, info->subject, sizeof(info->subject));
		copy_dn(gnutls_x509_crt_get_issuer_dn3, crt, info->issuer, sizeof(info->issuer));
		sans_of(crt, info->sans, sizeof(info->sans));
		info->not_after = gnutls_x509_crt_get_expiration_time(crt);
	}
	gnutls_x509_crt_deinit(crt);
	return 0;
}

static int save_session(struct tlsb_conn *c)
{
	gnutls_datum_t d;
	int rc = gnutls_session_get_data2(c->s, &d);

	if (rc < 0)
		return result(c, rc);
	gnutls_free(c->ctx->session.data);
	c->ctx->session = d;
	return TLSB_DONE;
}

int tlsb_read_ticket(struct tlsb_conn *c)
{
	char buf[256];
	ssize_t rc;

	if (gnutls_protocol_get_version(c->s) != GNUTLS_TLS1_3) /* 1.2: inside the handshake */
		return save_session(c);
	while (!(gnutls_session_get_flags(c->s) & GNUTLS_SFLAGS_SESSION_TICKET)) {
		rc = gnutls_record_recv(c->s, buf, sizeof(buf));
		if (rc > 0)
			continue;
		if (gnutls_session_get_flags(c->s) & GNUTLS_SFLAGS_SESSION_TICKET)
			break;
		if (rc == 0) {
			snprintf(c->error, sizeof(c->error), "the server closed before a ticket");
			return -EPIPE;
		}
		return result(c, (int)rc);
	}
	return save_session(c);
}

int tlsb_close_notify(struct tlsb_conn *c)
{
	int rc = gnutls_bye(c->s, GNUTLS_SHUT_WR);

	return rc == GNUTLS_E_SUCCESS ? TLSB_DONE : result(c, rc);
}

const char *tlsb_error(struct tlsb_conn *c)
{
	return c->error[0] ? c->error : "unknown error";
}
