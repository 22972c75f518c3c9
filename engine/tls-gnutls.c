/* engine/tls.h on GnuTLS 3.7 (the library chosen by measurement:
 * bench/tls-libs.md). Behaves as engine/tls-openssl.c does, and reports in
 * the same words: OpenSSL's version names, IANA cipher names, RFC 4514
 * names, OpenSSL's texts for the common verification failures. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "engine/tls.h"

/* Calls in a row that may return a warning (an alert of level warning, a
 * TLS 1.2 server's renegotiation request) before it counts as an error. */
#define WARNINGS_MAX 8

struct tls_ctx {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
};

struct tls_session {
	gnutls_datum_t d; /* gnutls_session_get_data2's bytes, gnutls_free'd */
};

struct tls_conn {
	gnutls_session_t s;
	int fd;
	int io_errno;             /* the last failed recv or send's errno */
	bool write_pending;       /* a record went half out: the next write flushes it */
	bool closed_notify;
	struct tls_session *kept; /* the session to resume from, taken once valid */
	uint8_t first[TLS_FIRST_MAX]; /* the server's first bytes (tls_conn_first_bytes) */
	uint8_t n_first;
};

/* gnutls_strerror's sentence as a message: first letter lowercase unless
 * an acronym ("A TLS fatal alert..." -> "a TLS fatal alert..."), no
 * trailing period. */
static void error_text(char *out, size_t len, int rc)
{
	const char *e = gnutls_strerror(rc);
	size_t n = strlen(e);

	if (n && e[n - 1] == '.')
		n--;
	snprintf(out, len, "%.*s", (int)n, e);
	if (out[0] >= 'A' && out[0] <= 'Z' && (out[1] == ' ' || (out[1] >= 'a' && out[1] <= 'z')))
		out[0] = (char)(out[0] - 'A' + 'a');
}

int tls_ctx_new(struct tls_ctx **out, const char *ca_file, char *err, size_t errlen)
{
	struct tls_ctx *c = calloc(1, sizeof(*c));
	const char *errpos = NULL;
	char why[160];
	int rc;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	rc = gnutls_certificate_allocate_credentials(&c->cred);
	if (rc < 0) {
		free(c);
		return -ENOMEM;
	}
	/* The system's priorities (ciphers, signatures), plus what a monitor
	 * needs to report old servers rather than refuse them, as the OpenSSL
	 * backend's security level 0 does: TLS 1.0 and 1.1, weak keys and
	 * SHA-1 signatures; the version is in every result, the check decides.
	 * The groups in OpenSSL's client order, X25519 first, and one key share
	 * (GNUTLS_KEY_SHARE_TOP in tls_conn_new), as the OpenSSL backend sends:
	 * GnuTLS's own order puts P-256 first and sends a P-256 and an X25519
	 * share, a third more instructions per resumed check, a tenth more per
	 * full one (bench/tls-libs.md); a server without X25519 asks again for
	 * one of the others (HelloRetryRequest), as it does of OpenSSL.
	 * No PSK key exchange in them: GnuTLS then offers psk_dhe_ke first and
	 * psk_ke after it, as the OpenSSL backend does (ALLOW_NO_DHE_KEX), and
	 * the server picks; "+PSK" would offer psk_ke alone, which servers
	 * refuse by default: a full handshake every time (bench/tls-libs.md). */
	rc = gnutls_priority_init2(&c->prio,
				   "+VERS-TLS1.1:+VERS-TLS1.0:%PROFILE_VERY_WEAK:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
				   "+GROUP-X448:+GROUP-SECP521R1:+GROUP-SECP384R1:+GROUP-FFDHE2048:+GROUP-FFDHE3072:"
				   "+GROUP-FFDHE4096:+GROUP-FFDHE6144:+GROUP-FFDHE8192",
				   &errpos, GNUTLS_PRIORITY_INIT_DEF_APPEND);
	if (rc < 0) {
		error_text(why, sizeof(why), rc);
		snprintf(err, errlen, "cannot set up TLS: priorities at '%s': %s", errpos ? errpos : "", why);
		tls_ctx_free(c);
		return -EINVAL;
	}
	gnutls_certificate_set_verify_flags(c->cred, GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1);
	if (ca_file) {
		rc = gnutls_certificate_set_x509_trust_file(c->cred, ca_file, GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			/* GnuTLS says "error while reading file": the system says which */
			struct stat st;
			if (rc == GNUTLS_E_FILE_ERROR && access(ca_file, R_OK) < 0)
				snprintf(why, sizeof(why), "%s", strerror(errno));
			else if (rc == GNUTLS_E_FILE_ERROR && stat(ca_file, &st) == 0 && S_ISDIR(st.st_mode))
				snprintf(why, sizeof(why), "%s", strerror(EISDIR));
			else if (rc == 0)
				snprintf(why, sizeof(why), "no PEM certificate in it");
			else
				error_text(why, sizeof(why), rc);
			snprintf(err, errlen, "cannot load CA file '%s': %s", ca_file, why);
			tls_ctx_free(c);
			return -EINVAL;
		}
	} else {
		/* as OpenSSL's default paths: a system without CA certificates
		 * is not an error, its checks just do not verify */
		gnutls_certificate_set_x509_system_trust(c->cred);
	}
	*out = c;
	return 0;
}

void tls_ctx_free(struct tls_ctx *c)
{
	if (!c)
		return;
	if (c->prio)
		gnutls_priority_deinit(c->prio);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	free(c);
}

/* The transport: the socket itself, with the errno kept for the caller
 * (a reset is a close, not an error) and MSG_NOSIGNAL on sends. */
static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
	struct tls_conn *t = p;
	ssize_t r = recv(t->fd, buf, n, 0);

	if (r < 0) {
		t->io_errno = errno;
		gnutls_transport_set_errno(t->s, errno);
	} else if (r > 0 && t->n_first < sizeof(t->first)) {
		size_t k = sizeof(t->first) - t->n_first < (size_t)r ? sizeof(t->first) - t->n_first : (size_t)r;
		memcpy(t->first + t->n_first, buf, k);
		t->n_first += (uint8_t)k;
	}
	return r;
}

/* Only called if GnuTLS were to wait with a timeout; it never should (no
 * handshake timeout, GNUTLS_NONBLOCK), and then it must not block. */
static int pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct tls_conn *t = p;
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };

	(void)ms;
	return poll(&pfd, 1, 0);
}

static ssize_t push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
	struct tls_conn *t = p;
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t r = sendmsg(t->fd, &m, MSG_NOSIGNAL);

	if (r < 0) {
		t->io_errno = errno;
		gnutls_transport_set_errno(t->s, errno);
	}
	return r;
}

int tls_conn_new(struct tls_conn **out, struct tls_ctx *c, int fd, const char *sni, const struct tls_session *s)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->fd = fd;
	if (gnutls_init(&t->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_KEY_SHARE_TOP) < 0) {
		free(t);
		return -ENOMEM;
	}
	if (gnutls_priority_set(t->s, c->prio) < 0 || gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, c->cred) < 0) {
		tls_conn_free(t);
		return -ENOMEM;
	}
	/* a name IDNA cannot map (GnuTLS converts non-ASCII names) goes
	 * without SNI: the certificate's name check still says whose it is */
	if (sni)
		gnutls_server_name_set(t->s, GNUTLS_NAME_DNS, sni, strlen(sni));
	/* the check's deadline is the only one (engine/checker.c): a timeout
	 * of GnuTLS's own would end a slow handshake in words of its own */
	gnutls_handshake_set_timeout(t->s, 0);
	gnutls_transport_set_ptr(t->s, t);
	gnutls_transport_set_pull_function(t->s, pull);
	gnutls_transport_set_pull_timeout_function(t->s, pull_timeout);
	gnutls_transport_set_vec_push_function(t->s, push);
	/* a session that does not load means a full handshake, as it would
	 * for one the server declines */
	if (s && s->d.size)
		gnutls_session_set_data(t->s, s->d.data, s->d.size);
	*out = t;
	return 0;
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	tls_session_free(t->kept);
	gnutls_deinit(t->s);
	free(t);
}

/* Takes the session data now, while GnuTLS still gives them: a connection
 * that ends without the server's close_notify (nginx closes so) is made
 * unresumable, as TLS asks, and by the time the checker asks for the
 * session (tls_conn_session, when the connection is done) the data would be
 * gone. Under TLS 1.3 the data resume only once the server's ticket has
 * come (after the handshake; GNUTLS_SFLAGS_SESSION_TICKET): before it,
 * GnuTLS hands over data that never resume. */
static void keep_session(struct tls_conn *t)
{
	if (t->kept)
		return;
	if (gnutls_protocol_get_version(t->s) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(t->s) & GNUTLS_SFLAGS_SESSION_TICKET))
		return;
	struct tls_session *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return;
	if (gnutls_session_get_data2(t->s, &ts->d) < 0 || !ts->d.size) {
		tls_session_free(ts);
		return;
	}
	t->kept = ts;
}

/* What a failed call means for the caller; err (may be NULL) says why. */
static enum tls_io io_result(struct tls_conn *t, int rc, char *err, size_t errlen, const char *what)
{
	char why[160];

	switch (rc) {
	case GNUTLS_E_AGAIN:
	case GNUTLS_E_INTERRUPTED:
		return gnutls_record_get_direction(t->s) ? TLS_IO_WANT_WRITE : TLS_IO_WANT_READ;
	case GNUTLS_E_PREMATURE_TERMINATION:
		/* the peer went away without close_notify */
		return TLS_IO_CLOSED;
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		if (t->io_errno == ECONNRESET || t->io_errno == EPIPE)
			return TLS_IO_CLOSED;
		if (err)
			snprintf(err, errlen, "%s: %s", what, strerror(t->io_errno ? t->io_errno : EIO));
		return TLS_IO_ERROR;
	}
	if (err) {
		error_text(why, sizeof(why), rc);
		if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED) {
			const char *a = gnutls_alert_get_name(gnutls_alert_get(t->s));
			snprintf(err, errlen, "%s: %s: %s", what, why, a ? a : "unknown alert");
		} else {
			snprintf(err, errlen, "%s: %s", what, why);
		}
	}
	return TLS_IO_ERROR;
}

enum tls_io tls_handshake(struct tls_conn *t, char *err, size_t errlen)
{
	int rc;

	/* a warning (an unrecognized_name alert from a server that has no
	 * certificate for the SNI name, say) is not the end: go on, as
	 * OpenSSL does */
	for (int i = 0; i < WARNINGS_MAX; i++) {
		rc = gnutls_handshake(t->s);
		if (rc == GNUTLS_E_SUCCESS) {
			/* TLS 1.2: the session is complete now (1.3: a ticket to come) */
			keep_session(t);
			return TLS_IO_OK;
		}
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED || gnutls_error_is_fatal(rc))
			break;
	}
	enum tls_io r = io_result(t, rc, err, errlen, "handshake");
	if (r == TLS_IO_CLOSED && err)
		snprintf(err, errlen, "the server closed the connection during the handshake");
	return r;
}

enum tls_io tls_read(struct tls_conn *t, void *buf, size_t n, size_t *got, char *err, size_t errlen)
{
	ssize_t rc = GNUTLS_E_AGAIN;

	*got = 0;
	/* warnings, and a TLS 1.2 server's renegotiation request, which is
	 * declined by not answering it */
	for (int i = 0; i < WARNINGS_MAX; i++) {
		rc = gnutls_record_recv(t->s, buf, n);
		if (!t->kept)
			keep_session(t); /* a TLS 1.3 ticket may just have come */
		if (rc > 0) {
			*got = (size_t)rc;
			return TLS_IO_OK;
		}
		if (rc == 0)
			return TLS_IO_CLOSED;
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED || gnutls_error_is_fatal((int)rc))
			break;
	}
	return io_result(t, (int)rc, err, errlen, "read");
}

enum tls_io tls_write(struct tls_conn *t, const void *buf, size_t n, size_t *put, char *err, size_t errlen)
{
	/* after GNUTLS_E_AGAIN the record is made and buffered: GnuTLS wants
	 * NULL, 0 to send the rest, and then counts the bytes of the first
	 * call (the caller's buffer starts with them still) */
	ssize_t rc = t->write_pending ? gnutls_record_send(t->s, NULL, 0) : gnutls_record_send(t->s, buf, n);

	*put = 0;
	if (rc >= 0) {
		t->write_pending = false;
		*put = (size_t)rc;
		return TLS_IO_OK;
	}
	t->write_pending = rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED;
	return io_result(t, (int)rc, err, errlen, "write");
}

enum tls_io tls_close_notify(struct tls_conn *t)
{
	if (t->closed_notify)
		return TLS_IO_OK;
	/* SHUT_WR: our close_notify only; the server's comes to tls_read */
	int rc = gnutls_bye(t->s, GNUTLS_SHUT_WR);
	if (rc == GNUTLS_E_SUCCESS) {
		t->closed_notify = true;
		return TLS_IO_OK;
	}
	return io_result(t, rc, NULL, 0, "close");
}

/* OpenSSL's SSL_get_version spellings, so that results do not depend on
 * the backend */
static const char *version_name(gnutls_protocol_t v)
{
	switch (v) {
	case GNUTLS_SSL3:
		return "SSLv3";
	case GNUTLS_TLS1_0:
		return "TLSv1";
	case GNUTLS_TLS1_1:
		return "TLSv1.1";
	case GNUTLS_TLS1_2:
		return "TLSv1.2";
	case GNUTLS_TLS1_3:
		return "TLSv1.3";
	default:
		return "unknown";
	}
}

/* One line of a name, RFC 4514 (most significant last: "CN=x,O=y", as
 * OpenSSL's RFC 2253 output), into out (CHECK_TEXT_MAX + 1 bytes). */
static void name_line(int (*get)(gnutls_x509_crt_t, gnutls_datum_t *, unsigned), gnutls_x509_crt_t x, char *out)
{
	gnutls_datum_t d = { NULL, 0 };

	out[0] = '\0';
	if (get(x, &d, 0) == 0)
		check_text(out, d.data, d.size);
	gnutls_free(d.data);
}

/* "DNS:a,DNS:b,IP:1.2.3.4", as the OpenSSL backend writes them (IPv6 as
 * eight groups in hex). */
static void sans_line(gnutls_x509_crt_t x, char *out)
{
	char buf[1024];
	size_t o = 0;

	out[0] = '\0';
	for (unsigned i = 0; o < sizeof(buf) - 64; i++) {
		unsigned char d[256];
		size_t dl = sizeof(d);
		int type = gnutls_x509_crt_get_subject_alt_name(x, i, d, &dl, NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sDNS:%.*s", o ? "," : "",
					      dl > 253 ? 253 : (int)dl, (const char *)d);
		} else if (type == GNUTLS_SAN_IPADDRESS && dl == 4) {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sIP:%u.%u.%u.%u", o ? "," : "", d[0], d[1], d[2],
					      d[3]);
		} else if (type == GNUTLS_SAN_IPADDRESS && dl == 16) {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sIP:%x:%x:%x:%x:%x:%x:%x:%x", o ? "," : "",
					      d[0] << 8 | d[1], d[2] << 8 | d[3], d[4] << 8 | d[5], d[6] << 8 | d[7],
					      d[8] << 8 | d[9], d[10] << 8 | d[11], d[12] << 8 | d[13], d[14] << 8 | d[15]);
		}
		/* other types, and entries too long for d, are skipped */
		if (o >= sizeof(buf))
			o = sizeof(buf) - 1;
	}
	check_text(out, buf, o);
}

/* Why the chain does not verify, in OpenSSL's words
 * (X509_verify_cert_error_string) for the failures a monitor meets, checked
 * in the order OpenSSL meets them: the issuer first, then the chain's
 * extensions, then signatures and dates. */
static void verify_text(gnutls_session_t s, unsigned status, const gnutls_datum_t *peers, unsigned n, char *out)
{
	static const struct {
		unsigned bit;
		const char *text;
	} why[] = {
		{ GNUTLS_CERT_SIGNER_NOT_CA, "invalid CA certificate" },
		{ GNUTLS_CERT_PURPOSE_MISMATCH, "unsuitable certificate purpose" },
		{ GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS, "unhandled critical extension" },
		{ GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, "name constraints violation" },
		{ GNUTLS_CERT_INSECURE_ALGORITHM, "insecure algorithm in the certificate chain" },
		{ GNUTLS_CERT_REVOKED, "certificate revoked" },
		{ GNUTLS_CERT_SIGNATURE_FAILURE, "certificate signature failure" },
		{ GNUTLS_CERT_NOT_ACTIVATED, "certificate is not yet valid" },
		{ GNUTLS_CERT_EXPIRED, "certificate has expired" },
	};
	gnutls_datum_t d;

	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
		/* self-signed: the last certificate sent is its own issuer */
		gnutls_x509_crt_t last;
		bool self = false;
		if (gnutls_x509_crt_init(&last) == 0) {
			if (gnutls_x509_crt_import(last, &peers[n - 1], GNUTLS_X509_FMT_DER) == 0)
				self = gnutls_x509_crt_check_issuer(last, last) == 1;
			gnutls_x509_crt_deinit(last);
		}
		snprintf(out, CHECK_TEXT_MAX + 1, "%s",
			 !self ? "unable to get local issuer certificate"
			 : n == 1 ? "self-signed certificate"
				  : "self-signed certificate in certificate chain");
		return;
	}
	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++)
		if (status & why[i].bit) {
			snprintf(out, CHECK_TEXT_MAX + 1, "%s", why[i].text);
			return;
		}
	/* the rest (OCSP): GnuTLS's own words */
	if (gnutls_certificate_verification_status_print(status, gnutls_certificate_type_get(s), &d, 0) == 0) {
		check_text(out, d.data, d.size);
		gnutls_free(d.data);
	} else {
		snprintf(out, CHECK_TEXT_MAX + 1, "not trusted");
	}
}

/* As the OpenSSL backend: an address (a ':' in it, or only digits and
 * dots) against the IP entries, a name against the DNS entries (the CN when
 * there are none, wildcards as RFC 6125). */
static bool name_matches(gnutls_x509_crt_t x, const char *name)
{
	unsigned char ip[16];

	if (strchr(name, ':'))
		return inet_pton(AF_INET6, name, ip) == 1 && gnutls_x509_crt_check_ip(x, ip, 16, 0);
	if (strspn(name, "0123456789.") == strlen(name))
		return inet_pton(AF_INET, name, ip) == 1 && gnutls_x509_crt_check_ip(x, ip, 4, 0);
	return gnutls_x509_crt_check_hostname2(x, name, 0);
}

void tls_conn_info(struct tls_conn *t, const char *name, struct check_tls *out)
{
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t x;
	unsigned n = 0, status = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->version, sizeof(out->version), "%s", version_name(gnutls_protocol_get_version(t->s)));
	/* IANA names ("TLS_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
	 * as the OpenSSL backend gives them too */
	const char *cipher = gnutls_ciphersuite_get(t->s);
	snprintf(out->cipher, sizeof(out->cipher), "%s", cipher ? cipher : "");
	out->resumed = gnutls_session_is_resumed(t->s);
	if (out->resumed) {
		/* the session holds the certificate, but the checker keeps the
		 * last full handshake's, verified then: verifying again would
		 * cost the signature checks resumption saves */
		return;
	}
	peers = gnutls_certificate_get_peers(t->s, &n);
	if (!peers || !n || gnutls_x509_crt_init(&x) < 0) {
		snprintf(out->verify_error, sizeof(out->verify_error), "no certificate");
		return;
	}
	if (gnutls_x509_crt_import(x, &peers[0], GNUTLS_X509_FMT_DER) < 0) {
		snprintf(out->verify_error, sizeof(out->verify_error), "the certificate does not parse");
		gnutls_x509_crt_deinit(x);
		return;
	}
	name_line(gnutls_x509_crt_get_dn3, x, out->subject);
	name_line(gnutls_x509_crt_get_issuer_dn3, x, out->issuer);
	sans_line(x, out->sans);
	time_t na = gnutls_x509_crt_get_expiration_time(x);
	if (na != (time_t)-1)
		out->not_after_s = (int64_t)na;
	/* the chain alone (no name): the name is name_ok's */
	int rc = gnutls_certificate_verify_peers3(t->s, NULL, &status);
	out->verified = rc == 0 && status == 0;
	if (rc < 0)
		error_text(out->verify_error, sizeof(out->verify_error), rc);
	else if (status)
		verify_text(t->s, status, peers, n, out->verify_error);
	if (name && *name) {
		out->name_ok = name_matches(x, name);
		if (!out->name_ok && out->verified)
			snprintf(out->verify_error, sizeof(out->verify_error), "the certificate is not for '%s'", name);
	}
	gnutls_x509_crt_deinit(x);
}

struct tls_session *tls_conn_session(struct tls_conn *t)
{
	keep_session(t);
	struct tls_session *ts = t->kept;
	t->kept = NULL;
	return ts;
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	gnutls_free(s->d.data);
	free(s);
}

size_t tls_conn_first_bytes(const struct tls_conn *t, const uint8_t **out)
{
	*out = t->first;
	return t->n_first;
}
