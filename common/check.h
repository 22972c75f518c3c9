/* Service checks: after a port's SYN is answered, a real connection that
 * speaks just enough of the port's protocol to get the server's own
 * verdict, then closes politely (docs/checks.md). This header is the plain
 * data every layer shares: which check a port asks for, its options (the
 * configuration builds them, the target table holds them, the checker
 * runs them), the verdict and the result. The conversations are
 * engine/dialog.h; the connections (non-blocking, TLS) engine/checker.h. */
#ifndef SW_CHECK_H
#define SW_CHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum check_kind {
	CHECK_NONE,       /* a bare SYN check */
	CHECK_CONNECT,    /* the TCP handshake completes; nothing is sent */
	CHECK_TLS,        /* a TLS handshake */
	CHECK_SSH,        /* the server's identification string */
	CHECK_SMTP,       /* greeting, EHLO, STARTTLS when offered or required, QUIT */
	CHECK_SUBMISSION, /* SMTP on 587: STARTTLS required unless told otherwise */
	CHECK_SMTPS,      /* SMTP inside TLS */
	CHECK_IMAP,       /* greeting, CAPABILITY, STARTTLS when offered or required, LOGOUT */
	CHECK_IMAPS,
	CHECK_POP3,       /* greeting, CAPA, STLS when offered or required, QUIT */
	CHECK_POP3S,
	CHECK_FTP,        /* greeting, AUTH TLS when required, QUIT */
	CHECK_REDIS,      /* [AUTH], PING, QUIT */
	CHECK_POSTGRES,   /* SSLRequest, startup message, Terminate */
	CHECK_MYSQL,      /* the greeting packet (or the error packet) */
	CHECK_HTTP,       /* a request line, the status line */
	CHECK_HTTPS,
	CHECK_AMQP,       /* protocol header, Connection.Start */
	CHECK_MONGODB,    /* OP_MSG hello */
	CHECK_MEMCACHED,  /* version, quit */
	CHECK_VNC,        /* the RFB version string */
	CHECK_GENERIC,    /* send: bytes, expect: a regular expression */
	CHECK_KIND_COUNT,
};

/* "postgres", ...; NULL for an unknown kind. */
const char *check_kind_name(enum check_kind k);
/* The kind named by n bytes of s, or -1. */
int check_kind_parse(const char *s, size_t n);
/* The check's conversation runs inside TLS from the start. */
bool check_kind_implicit_tls(enum check_kind k);
/* The check can upgrade with STARTTLS (or its protocol's equivalent). */
bool check_kind_starttls(enum check_kind k);

enum check_starttls {
	CHECK_STARTTLS_AUTO,     /* when the server offers it (submission: required) */
	CHECK_STARTTLS_REQUIRED, /* a server that does not offer it fails the check */
	CHECK_STARTTLS_NEVER,
};

#define CHECK_HTTP_CLASS(c) (1u << (c)) /* status class c (1..5) counts as up */
#define CHECK_SEND_MAX 1024
#define CHECK_AUTH_MAX 256

struct pcre2_real_code_8;

/* A check and its options, as the configuration gives them. Immutable once
 * built and shared: by the groups of every table generation that has it
 * and by the checks in flight, each holding a reference (check_spec_ref);
 * the last check_spec_unref frees it, on whichever thread. */
struct check_spec {
	atomic_uint refs;
	uint8_t kind;                /* enum check_kind */
	uint8_t starttls;            /* enum check_starttls */
	uint8_t http_classes;        /* CHECK_HTTP_CLASS bits; 0: 2xx and 3xx */
	bool verify;                 /* the chain must verify and the name match (else only reported) */
	int64_t timeout_ns;          /* the whole check: connect, TLS, conversation; 0: the target's */
	int64_t interval_ns;         /* how often (check_interval); 0: the target's interval */
	int32_t cert_warn_days;      /* fewer days left: degraded (cert_expiring); < 0: off */
	int32_t cert_crit_days;      /* fewer: down (cert_expiring is critical); < 0: off */
	char *sni;                   /* TLS server name; NULL: the target's name, if it has one */
	char *ca_file;               /* PEM bundle to verify against; NULL: the system store */
	char *request;               /* http: the request line, "HEAD / HTTP/1.1" by default */
	char *host_header;           /* http: Host; NULL: the SNI, the name or the address */
	char *user;                  /* postgres, mysql: the user to start as (default "synwatch") */
	char *database;              /* postgres: the database (default the user) */
	char *auth;                  /* redis: AUTH password, or "user:password" for ACLs */
	char *helo;                  /* smtp: the EHLO name (default "synwatch.invalid") */
	uint8_t *send;               /* generic: bytes to send first (escapes already decoded) */
	size_t send_len;
	char *expect;                /* generic: the regular expression's text (PCRE2) */
	struct pcre2_real_code_8 *expect_re; /* ... compiled once */
};

/* The shared spec of kind k with every option at its default (never
 * freed), or NULL for CHECK_NONE and unknown kinds. */
struct check_spec *check_spec_default(enum check_kind k);
/* A new spec of kind k with the defaults (one reference), or NULL. */
struct check_spec *check_spec_new(enum check_kind k);
/* Another reference; returns s. */
struct check_spec *check_spec_ref(struct check_spec *s);
/* Drops a reference; the last frees the spec and what it owns. NULL-safe. */
void check_spec_unref(struct check_spec *s);

#define CHECK_TEXT_MAX 200 /* error and banner: sanitised, cut at this many bytes */

/* What a check found. Plain data that crosses threads (checker -> main ->
 * store); strings are NUL-terminated, sanitised (valid UTF-8, no control
 * characters) and cut on a character boundary. */
struct check_verdict {
	bool ok;                          /* the server said it works */
	char error[CHECK_TEXT_MAX + 1];   /* !ok: the server's own words when it sent any, else what
	                                     happened ("no greeting within 2s") */
	char banner[CHECK_TEXT_MAX + 1];  /* the first line (or version) the server sent; "" if none */
	uint16_t code;                    /* the protocol's status: HTTP status, SMTP reply code...; 0 if none */
};

/* Fills v as a failure; fmt is printf-style. */
void check_fail(struct check_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies n bytes of untrusted text into dst (CHECK_TEXT_MAX + 1 bytes):
 * valid UTF-8 kept, CR/LF/TAB as spaces (runs of them as one), other
 * control characters and invalid bytes as U+FFFD, trailing spaces dropped,
 * cut at CHECK_TEXT_MAX bytes on a character boundary. */
void check_text(char *dst, const void *src, size_t n);

/* What a check's TLS handshake showed. */
struct check_tls {
	char version[16];                     /* "TLSv1.3" */
	char cipher[64];                      /* "TLS_AES_256_GCM_SHA384" */
	char subject[CHECK_TEXT_MAX + 1];     /* the leaf's subject, one line ("CN=db-7.example.test") */
	char issuer[CHECK_TEXT_MAX + 1];
	char sans[CHECK_TEXT_MAX + 1];        /* subjectAltName DNS and IP entries, comma-separated */
	int64_t not_after_s;                  /* Unix seconds; 0: no certificate */
	bool verified;                        /* the chain verifies against the trust store */
	bool name_ok;                         /* the SNI name (or address) matches the certificate */
	bool resumed;
	char verify_error[CHECK_TEXT_MAX + 1]; /* !verified or !name_ok: why */
};
/* One check's outcome: checker -> main -> store. Plain data. */
struct check_result {
	uint32_t target, seq;      /* the request's */
	int64_t ts_real_ns;        /* when the verdict was reached (CLOCK_REALTIME) */
	int64_t connect_ns;        /* connect() to connected, in user space; -1: not connected */
	int64_t tls_ns;            /* the (first) TLS handshake; -1: none */
	int64_t check_ns;          /* connect() to the verdict */
	uint16_t sport;            /* the connection's source port (0: none) */
	uint8_t kind;              /* enum check_kind */
	uint8_t cert_failed;       /* !v.ok because verify: true and the certificate failed */
	struct check_verdict v;
	struct check_tls tls;      /* tls.version[0] == 0: no TLS on this check */
};

/* What a result means for its port (enum probe_verdict, common/probe.h):
 * a failed check, a certificate that did not verify (verify: true), one
 * expired or within cert_crit_days (a failure), within cert_warn_days
 * (degraded); and the certificate's whole days left (negative once
 * expired; INT32_MIN without a certificate). spec may be NULL. */
void check_judge(const struct check_result *r, const struct check_spec *spec, uint8_t *verdict, int32_t *days_left);

#endif
