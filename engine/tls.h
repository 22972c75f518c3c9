/* TLS for the service checks: a client on a non-blocking socket, driven by
 * the checker's epoll loop, that reports what the checks show (version,
 * cipher, the leaf certificate, whether the chain verifies and the name
 * matches) and resumes sessions. One backend file implements it (the
 * library chosen by measurement: bench/tls-libs.md). Checker thread only. */
#ifndef SW_TLS_H
#define SW_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/check.h"

struct tls_ctx;
struct tls_conn;
struct tls_session;

/* A library context: protocol settings and the trust store (ca_file, or
 * the system's when NULL). Returns 0 and sets *out (free with
 * tls_ctx_free), or a negative errno with one line in err ("cannot load
 * CA file '/etc/x.pem': ..."). */
int tls_ctx_new(struct tls_ctx **out, const char *ca_file, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *c); /* NULL is a no-op */

enum tls_io {
	TLS_IO_OK,          /* done (or n bytes moved) */
	TLS_IO_WANT_READ,   /* call again when the socket is readable */
	TLS_IO_WANT_WRITE,  /* ... writable */
	TLS_IO_CLOSED,      /* the peer sent close_notify (or closed the socket) */
	TLS_IO_ERROR,       /* the error text says what */
};

/* A client on connected socket fd (non-blocking), with SNI name (may be
 * NULL: none), resuming from session s (may be NULL: a full handshake).
 * Returns 0 and sets *out (free with tls_conn_free), or -ENOMEM. */
int tls_conn_new(struct tls_conn **out, struct tls_ctx *c, int fd, const char *sni, const struct tls_session *s);
void tls_conn_free(struct tls_conn *t); /* NULL is a no-op; does not close fd */

/* Drives the handshake. On TLS_IO_ERROR, err holds the library's reason
 * ("handshake failure: alert 40", "wrong version number: not TLS"). The
 * handshake does not fail on an unverified chain: that is reported by
 * tls_conn_info, and the check decides. */
enum tls_io tls_handshake(struct tls_conn *t, char *err, size_t errlen);
enum tls_io tls_read(struct tls_conn *t, void *buf, size_t n, size_t *got, char *err, size_t errlen);
enum tls_io tls_write(struct tls_conn *t, const void *buf, size_t n, size_t *put, char *err, size_t errlen);
/* Sends close_notify (once); TLS_IO_WANT_WRITE until it is out. */
enum tls_io tls_close_notify(struct tls_conn *t);

/* What the handshake showed (common/check.h). A resumed session shows no
 * certificate: resumed is set and the certificate fields are empty (the
 * checker keeps those of the target's last full handshake). name: the SNI
 * name, or the address text, to match the certificate against. */
void tls_conn_info(struct tls_conn *t, const char *name, struct check_tls *out);

/* The session to resume from next time (NULL: none to keep); free with
 * tls_session_free. */
struct tls_session *tls_conn_session(struct tls_conn *t);

/* The first bytes the server sent on this connection (up to
 * TLS_FIRST_MAX, as the library read them); the number, 0 if none yet.
 * After a failed handshake they tell a server that speaks no TLS at all
 * (an HTTP error page, a plaintext greeting) from one that does. */
#define TLS_FIRST_MAX 16
size_t tls_conn_first_bytes(const struct tls_conn *t, const uint8_t **out);
void tls_session_free(struct tls_session *s);

#endif
