/* Service checks: after a port's SYN is answered, a real connection that
 * speaks just enough of the port's protocol to get the server's own
 * verdict, then closes politely (docs/checks.md). This header is the plain
 * data every layer shares: which check a port asks for, its options, and
 * the verdict. The conversations are engine/dialog.h; the connections
 * (non-blocking, TLS) engine/checker.h. */
#ifndef SW_CHECK_H
#define SW_CHECK_H

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

/* A check and its options, as the configuration gives them. Read-only once
 * built; shared by every target that asks for it. */
struct check_spec {
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

/* Frees what the spec owns (not the struct). NULL-safe; zeroed specs are fine. */
void check_spec_release(struct check_spec *s);

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

#endif
