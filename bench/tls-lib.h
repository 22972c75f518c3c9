/* One TLS library behind the handshake benchmark (bench/tls_handshake.c):
 * each bench/tls-LIB.c implements these functions, and the driver, which
 * owns the sockets and the epoll loop, links with exactly one of them. The
 * interface is the one synwatch's engine will need: a handshake driven by
 * readiness on a non-blocking socket, the details a check reports, one saved
 * session per target to resume from, and a polite close.
 *
 * Return codes of the stepping functions: TLSB_DONE when the step finished,
 * TLSB_WANT_READ / TLSB_WANT_WRITE when the socket must become readable /
 * writable first, a negative errno-style value on failure (tlsb_error says
 * why). Single-threaded: one ctx and its conns belong to one thread. */
#ifndef SYNWATCH_BENCH_TLS_LIB_H
#define SYNWATCH_BENCH_TLS_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum {
	TLSB_DONE = 0,
	TLSB_WANT_READ = 1,
	TLSB_WANT_WRITE = 2,
};

struct tlsb_opts {
	const char *cafile; /* PEM trust anchors the chain must verify against */
	const char *name;   /* SNI and the name the leaf must carry */
	bool tls12;	    /* offer TLS 1.2 only (mbedTLS 2.28 has no 1.3 client) */
	bool psk_ke;	    /* on resumption, offer psk_ke: no new key exchange */
};

/* What a tls check reports; strings are cut to their buffer. */
struct tlsb_info {
	char version[16];
	char cipher[64];
	char subject[256];
	char issuer[256];
	char sans[256];	  /* comma-separated DNS names and IP addresses */
	time_t not_after; /* leaf notAfter, seconds since the epoch; 0 unknown */
	bool verified;	  /* chain verified and the name matched */
	bool resumed;	  /* the session was resumed */
	bool have_cert;	  /* subject..not_after come from a certificate */
	char kx[32];	  /* the key exchange group, "none" for psk_ke */
};

/* A socket reader for the libraries' receive callbacks. GnuTLS, wolfSSL and
 * Mbed TLS read a record's 5-byte header, then its body, each with a recv
 * of its own: about 10 system calls per resumed handshake. Through this
 * buffer a flight costs one recv (OpenSSL gets the same from read_ahead). */
struct tlsb_rbuf {
	unsigned short off, len;
	unsigned char data[4096];
};

/* Copies up to len bytes to dst, refilling from fd when empty. Returns the
 * count, 0 at EOF, or -1 with errno (EAGAIN when nothing is there). */
long tlsb_rbuf_recv(struct tlsb_rbuf *b, int fd, void *dst, size_t len);

struct tlsb_ctx;
struct tlsb_conn;

/* The library's name and its version at run time; static strings. */
const char *tlsb_lib_name(void);
const char *tlsb_lib_version(void);

/* Loads the trust anchors and sets up the client configuration.
 * Returns 0 and sets *out (free with tlsb_ctx_free), or a negative value and
 * a message in err. */
int tlsb_ctx_new(struct tlsb_ctx **out, const struct tlsb_opts *o, char *err, size_t errlen);
void tlsb_ctx_free(struct tlsb_ctx *ctx);

/* The saved session's size in bytes, 0 while there is none. The ctx keeps
 * it serialised, as synwatch would per target: a TLS 1.3 client should not
 * offer one ticket object twice (RFC 8446 C.4), and OpenSSL 3.0 marks an
 * SSL_SESSION not resumable once it was resumed; a decoded copy per check
 * resumes every time. */
size_t tlsb_ctx_session_size(const struct tlsb_ctx *ctx);

/* A client on the connected non-blocking socket fd (the caller keeps and
 * closes fd); offers the ctx's saved session when resume is true.
 * Returns 0 and sets *out (free with tlsb_conn_free), or a negative value. */
int tlsb_conn_new(struct tlsb_ctx *ctx, int fd, bool resume, struct tlsb_conn **out);
void tlsb_conn_free(struct tlsb_conn *c);

/* Advances the handshake; TLSB_DONE once it completed and verified. */
int tlsb_handshake(struct tlsb_conn *c);

/* The details of a completed handshake. Returns 0 or a negative value. */
int tlsb_info(struct tlsb_conn *c, struct tlsb_info *info);

/* Reads what the server sent after the handshake (TLS 1.3 session
 * tickets), saving a ticket into the ctx. TLSB_DONE once a ticket was
 * saved (or the protocol delivered it inside the handshake), else
 * TLSB_WANT_READ, or a negative value (the peer closed, an error). */
int tlsb_read_ticket(struct tlsb_conn *c);

/* Sends close_notify. TLSB_DONE once it is written. */
int tlsb_close_notify(struct tlsb_conn *c);

/* Why the last step failed; a static or per-conn string. */
const char *tlsb_error(struct tlsb_conn *c);

#endif
