/* engine/dialog: every conversation against scripted servers, healthy and
 * broken in the ways port monitoring exists to catch (a database at its
 * connection limit, a refused STARTTLS, a hung server, the wrong service
 * on the port), and the bounds (a megabyte banner, a slow drip). No
 * sockets: the script plays the server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "engine/dialog.h"

enum op { END, SRV, CLI, TLS, CLOSE, RESET, TIMEOUT };

struct step {
	enum op op;
	const char *data; /* SRV: bytes the server sends; CLI: what the client must have sent since */
	size_t len;       /* 0: strlen(data) */
};

#define S(x) { SRV, x, sizeof(x) - 1 }
#define C(x) { CLI, x, sizeof(x) - 1 }

/* Plays the script; returns the verdict. Every byte the dialog sends is
 * checked against the CLI steps, in order. */
static struct check_verdict play(const struct check_spec *spec, const struct step *script)
{
	struct dialog d;
	uint8_t outbuf[2048], inbuf[2 * DIALOG_LINE_MAX];
	struct dialog_out out = { .p = outbuf, .cap = sizeof(outbuf) };
	size_t pending = 0;
	enum dialog_next next = dialog_begin(&d, spec, "db-7.example.test", &out);

	for (const struct step *s = script; s->op != END; s++) {
		size_t len = s->len ? s->len : (s->data ? strlen(s->data) : 0);
		switch (s->op) {
		case SRV:
			assert_int_equal(next, DIALOG_MORE);
			assert_true(pending + len <= sizeof(inbuf));
			memcpy(inbuf + pending, s->data, len);
			pending += len;
			size_t used;
			next = dialog_data(&d, inbuf, pending, &used, &out);
			assert_true(used <= pending);
			memmove(inbuf, inbuf + used, pending - used);
			pending -= used;
			break;
		case CLI:
			if (out.len != len || memcmp(out.p, s->data, len) != 0) {
				print_error("client sent %zu bytes '%.*s', expected '%.*s'\n", out.len, (int)out.len,
					    (const char *)out.p, (int)len, s->data);
				fail();
			}
			out.len = 0;
			break;
		case TLS:
			assert_int_equal(next, DIALOG_STARTTLS);
			pending = 0; /* plaintext after the go-ahead is dropped (STARTTLS injection) */
			next = dialog_tls_up(&d, &out);
			break;
		case CLOSE:
		case RESET:
			dialog_closed(&d, pending, s->op == RESET);
			next = DIALOG_DONE;
			break;
		case TIMEOUT:
			dialog_timeout(&d, 2000, pending);
			next = DIALOG_DONE;
			break;
		case END:
			break;
		}
	}
	assert_int_equal(next, DIALOG_DONE);
	if (out.len) {
		print_error("client left %zu bytes unchecked: '%.*s'\n", out.len, (int)out.len, (const char *)out.p);
		fail();
	}
	return *dialog_verdict(&d);
}

static void expect_ok(const struct check_verdict *v, const char *banner)
{
	if (!v->ok)
		print_error("failed: %s\n", v->error);
	assert_true(v->ok);
	assert_string_equal(v->error, "");
	if (banner)
		assert_string_equal(v->banner, banner);
}

static void expect_fail(const struct check_verdict *v, const char *error)
{
	assert_false(v->ok);
	if (strcmp(v->error, error) != 0) {
		print_error("error '%s', expected '%s'\n", v->error, error);
		fail();
	}
}

/* Plays script; the conversation must go well, with banner (NULL: any). */
static struct check_verdict play_ok(const struct check_spec *spec, const struct step *script,
				    const char *banner)
{
	struct check_verdict v = play(spec, script);

	expect_ok(&v, banner);
	return v;
}

/* Plays script; the conversation must fail with exactly error. */
static struct check_verdict play_fail(const struct check_spec *spec, const struct step *script,
				      const char *error)
{
	struct check_verdict v = play(spec, script);

	expect_fail(&v, error);
	return v;
}

static struct check_spec spec_of(enum check_kind k)
{
	return (struct check_spec){ .kind = (uint8_t)k, .cert_warn_days = 14, .cert_crit_days = 3 };
}

static void test_smtp(void **state)
{
	(void)state;
	struct check_spec s = spec_of(CHECK_SMTP);
	struct check_verdict v;

	const struct step plain[] = {
		S("220-mx.example.test ESMTP Postfix\r\n220 second line\r\n"), C("EHLO synwatch.invalid\r\n"),
		S("250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"), C("QUIT\r\n"), { END, 0, 0 },
	};
	v = play_ok(&s, plain, "mx.example.test ESMTP Postfix");
	assert_int_equal(v.code, 220);

	/* offered: taken; EHLO again inside TLS */
	const struct step tls[] = {
		S("220 mx ESMTP\r\n"), C("EHLO synwatch.invalid\r\n"), S("250-mx\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"),
		S("220 2.0.0 Ready to start TLS\r\n"), { TLS, 0, 0 }, C("EHLO synwatch.invalid\r\n"), S("250 mx\r\n"),
		C("QUIT\r\n"), { END, 0, 0 },
	};
	play_ok(&s, tls, "mx ESMTP");

	const struct step refused[] = {
		S("220 mx ESMTP\r\n"), C("EHLO synwatch.invalid\r\n"), S("250-mx\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"),
		S("454 4.7.0 TLS not available due to local problem\r\n"), { END, 0, 0 },
	};
	play_fail(&s, refused, "STARTTLS refused: 454 4.7.0 TLS not available due to local problem");

	const struct step busy[] = { S("421 4.3.2 Service shutting down\r\n"), { END, 0, 0 } };
	play_fail(&s, busy, "421 4.3.2 Service shutting down");

	/* required but not offered; submission requires it by default */
	s.starttls = CHECK_STARTTLS_REQUIRED;
	const struct step not_offered[] = {
		S("220 mx ESMTP\r\n"), C("EHLO synwatch.invalid\r\n"), S("250 mx\r\n"), { END, 0, 0 },
	};
	play_fail(&s, not_offered, "STARTTLS required but not offered");
	struct check_spec sub = spec_of(CHECK_SUBMISSION);
	play_fail(&sub, not_offered, "STARTTLS required but not offered");

	/* smtps: TLS from the start, no STARTTLS */
	struct check_spec smtps = spec_of(CHECK_SMTPS);
	const struct step implicit[] = {
		S("220 mx ESMTP\r\n"), C("EHLO synwatch.invalid\r\n"), S("250-mx\r\n250 STARTTLS\r\n"), C("QUIT\r\n"),
		{ END, 0, 0 },
	};
	play_ok(&smtps, implicit, "mx ESMTP");

	/* the wrong service: an SSH server where SMTP should be */
	struct check_spec s2 = spec_of(CHECK_SMTP);
	const struct step wrong[] = { S("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), { END, 0, 0 } };
	play_fail(&s2, wrong, "not SMTP: SSH-2.0-OpenSSH_9.2p1 Debian-2");
}

static void test_imap_pop3_ftp(void **state)
{
	(void)state;
	struct check_spec s = spec_of(CHECK_IMAP);

	const struct step imap[] = {
		S("* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n"), C("a1 CAPABILITY\r\n"),
		S("* CAPABILITY IMAP4rev1 LITERAL+ STARTTLS LOGINDISABLED\r\na1 OK done\r\n"), C("a2 STARTTLS\r\n"),
		S("a2 OK Begin TLS negotiation now.\r\n"), { TLS, 0, 0 }, C("a3 LOGOUT\r\n"), { END, 0, 0 },
	};
	play_ok(&s, imap, "OK [CAPABILITY IMAP4rev1] Dovecot ready.");
	const struct step bye[] = { S("* BYE Too many connections\r\n"), { END, 0, 0 } };
	play_fail(&s, bye, "BYE Too many connections");

	s = spec_of(CHECK_POP3);
	const struct step pop[] = {
		S("+OK Dovecot ready.\r\n"), C("CAPA\r\n"), S("+OK\r\nTOP\r\nUIDL\r\nSTLS\r\n.\r\n"), C("STLS\r\n"),
		S("+OK Begin TLS negotiation now.\r\n"), { TLS, 0, 0 }, C("QUIT\r\n"), { END, 0, 0 },
	};
	play_ok(&s, pop, "+OK Dovecot ready.");
	const struct step pop_err[] = { S("-ERR [SYS/TEMP] Server shutting down\r\n"), { END, 0, 0 } };
	play_fail(&s, pop_err, "-ERR [SYS/TEMP] Server shutting down");

	s = spec_of(CHECK_FTP);
	const struct step ftp[] = {
		S("220 (vsFTPd 3.0.3)\r\n"), C("FEAT\r\n"), S("211-Features:\r\n AUTH TLS\r\n PBSZ\r\n211 End\r\n"),
		C("AUTH TLS\r\n"), S("234 Proceed with negotiation.\r\n"), { TLS, 0, 0 }, C("QUIT\r\n"), { END, 0, 0 },
	};
	play_ok(&s, ftp, "(vsFTPd 3.0.3)");
	s.starttls = CHECK_STARTTLS_REQUIRED;
	const struct step ftp_plain[] = {
		S("220 FTP\r\n"), C("FEAT\r\n"), S("500 FEAT not understood\r\n"), { END, 0, 0 },
	};
	play_fail(&s, ftp_plain, "AUTH TLS required but not offered");
}

static void test_redis(void **state)
{
	(void)state;
	struct check_spec s = spec_of(CHECK_REDIS);

	const struct step pong[] = {
		C("*1\r\n$4\r\nPING\r\n"), S("+PONG\r\n"), C("*1\r\n$4\r\nQUIT\r\n"), { END, 0, 0 },
	};
	play_ok(&s, pong, "PONG");
	/* at maxclients the error comes at once, then the server closes */
	const struct step full[] = {
		C("*1\r\n$4\r\nPING\r\n"), S("-ERR max number of clients reached\r\n"), { END, 0, 0 },
	};
	play_fail(&s, full, "ERR max number of clients reached");
	const struct step loading[] = {
		C("*1\r\n$4\r\nPING\r\n"), S("-LOADING Redis is loading the dataset in memory\r\n"), { END, 0, 0 },
	};
	play_fail(&s, loading, "LOADING Redis is loading the dataset in memory");
	const struct step noauth[] = {
		C("*1\r\n$4\r\nPING\r\n"), S("-NOAUTH Authentication required.\r\n"), C("*1\r\n$4\r\nQUIT\r\n"),
		{ END, 0, 0 },
	};
	play_ok(&s, noauth, "NOAUTH Authentication required.");

	s.auth = (char *)"monitor:s3cret";
	const struct step acl[] = {
		C("*3\r\n$4\r\nAUTH\r\n$7\r\nmonitor\r\n$6\r\ns3cret\r\n*1\r\n$4\r\nPING\r\n"), S("+OK\r\n+PONG\r\n"),
		C("*1\r\n$4\r\nQUIT\r\n"), { END, 0, 0 },
	};
	play_ok(&s, acl, "PONG");
	const struct step wrongpass[] = {
		C("*3\r\n$4\r\nAUTH\r\n$7\r\nmonitor\r\n$6\r\ns3cret\r\n*1\r\n$4\r\nPING\r\n"),
		S("-WRONGPASS invalid username-password pair or user is disabled.\r\n"), { END, 0, 0 },
	};
	play_fail(&s, wrongpass, "WRONGPASS invalid username-password pair or user is disabled.");

	struct check_spec h = spec_of(CHECK_REDIS);
	const struct step http[] = {
		C("*1\r\n$4\r\nPING\r\n"), S("HTTP/1.1 400 Bad Request\r\n"), { END, 0, 0 },
	};
	play_fail(&h, http, "not Redis: HTTP/1.1 400 Bad Request");
}

/* PostgreSQL messages: type, length, body */
#define PG_E(fields) "E\0\0\0" fields

static void test_postgres(void **state)
{
	(void)state;
	struct check_spec s = spec_of(CHECK_POSTGRES);
	static const char ssl_req[] = "\0\0\0\x08\x04\xd2\x16\x2f";
	static const char startup[] = "\0\0\0\x43\0\x03\0\0user\0synwatch\0database\0synwatch\0"
				      "application_name\0synwatch\0\0";
	static const char sasl[] = "R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0";
	static const char terminate[] = "X\0\0\0\x04";

	const struct step ok[] = {
		{ CLI, ssl_req, 8 }, S("S"), { TLS, 0, 0 }, { CLI, startup, sizeof(startup) - 1 },
		{ SRV, sasl, sizeof(sasl) - 1 }, { CLI, terminate, 5 }, { END, 0, 0 },
	};
	play_ok(&s, ok, "authentication: SASL");

	/* at max_connections: FATAL 53300, after TLS and the startup message */
	static const char too_many[] = "E\0\0\0\x48"
				       "SFATAL\0VFATAL\0C53300\0Msorry, too many clients already\0Fproc.c\0L359\0\0";
	const struct step full[] = {
		{ CLI, ssl_req, 8 }, S("S"), { TLS, 0, 0 }, { CLI, startup, sizeof(startup) - 1 },
		{ SRV, too_many, sizeof(too_many) - 1 }, { END, 0, 0 },
	};
	play_fail(&s, full, "FATAL: sorry, too many clients already (53300)");

	static const char starting[] = "E\0\0\0\x37"
				       "SFATAL\0C57P03\0Mthe database system is starting up\0\0";
	const struct step start[] = {
		{ CLI, ssl_req, 8 }, S("N"), { CLI, startup, sizeof(startup) - 1 },
		{ SRV, starting, sizeof(starting) - 1 }, { END, 0, 0 },
	};
	play_fail(&s, start, "FATAL: the database system is starting up (57P03)");

	/* a server that judged our credentials works */
	static const char denied[] = "E\0\0\0\x3f"
				     "SFATAL\0C28000\0Mno pg_hba.conf entry for host \"198.18.0.1\"\0\0";
	const struct step hba[] = {
		{ CLI, ssl_req, 8 }, S("N"), { CLI, startup, sizeof(startup) - 1 }, { SRV, denied, sizeof(denied) - 1 },
		{ END, 0, 0 },
	};
	play_ok(&s, hba, "FATAL: no pg_hba.conf entry for host \"198.18.0.1\" (28000)");

	/* required TLS refused; the wrong service */
	s.starttls = CHECK_STARTTLS_REQUIRED;
	const struct step no_tls[] = { { CLI, ssl_req, 8 }, S("N"), { END, 0, 0 } };
	play_fail(&s, no_tls, "the server does not offer TLS (SSLRequest answered N)");
	const struct step http[] = { { CLI, ssl_req, 8 }, S("HTTP/1.1 400 Bad Request\r\n"), { END, 0, 0 } };
	play_fail(&s, http, "not PostgreSQL: 'HTTP/1.1 400 Bad Request' in answer to SSLRequest");
}

static void test_mysql_mongodb_memcached(void **state)
{
	(void)state;
	struct check_spec s = spec_of(CHECK_MYSQL);
	static const char greeting[] = "\x0e\0\0\0\x0a" "8.0.35\0\x01\0\0\0\0\0";
	const struct step ok[] = { { SRV, greeting, sizeof(greeting) - 1 }, { END, 0, 0 } };
	play_ok(&s, ok, "8.0.35");
	static const char err[] = "\x1d\0\0\0\xff\x10\x04#08004Too many connections\0";
	const struct step full[] = { { SRV, err, 33 }, { END, 0, 0 } };
	play_fail(&s, full, "1040: Too many connections");

	s = spec_of(CHECK_MONGODB);
	/* the hello request, then a reply {ok: 1.0} */
	static const uint8_t reply[] = {
		38, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0xdd, 7, 0, 0, 0, 0, 0, 0, 0,
		17, 0, 0, 0, 0x01, 'o', 'k', 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0,
	};
	struct dialog d;
	uint8_t ob[512];
	struct dialog_out out = { .p = ob, .cap = sizeof(ob) };
	assert_int_equal(dialog_begin(&d, &s, NULL, &out), DIALOG_MORE);
	assert_int_equal(out.len, 52);
	assert_int_equal(ob[12], 0xdd); /* OP_MSG */
	size_t used;
	assert_int_equal(dialog_data(&d, reply, sizeof(reply), &used, &out), DIALOG_DONE);
	assert_int_equal(used, sizeof(reply));
	expect_ok(dialog_verdict(&d), "hello: ok");

	s = spec_of(CHECK_MEMCACHED);
	const struct step mc[] = { C("version\r\n"), S("VERSION 1.6.18\r\n"), C("quit\r\n"), { END, 0, 0 } };
	play_ok(&s, mc, "VERSION 1.6.18");
}

static void test_http_ssh_amqp_vnc(void **state)
{
	(void)state;
	struct check_spec s = spec_of(CHECK_HTTP);
	struct check_verdict v;
	const struct step ok[] = {
		C("HEAD / HTTP/1.1\r\nHost: db-7.example.test\r\nUser-Agent: synwatch-check\r\nAccept: */*\r\n"
		  "Connection: close\r\n\r\n"),
		S("HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n"), { END, 0, 0 },
	};
	v = play_ok(&s, ok, "HTTP/1.1 301 Moved Permanently");
	assert_int_equal(v.code, 301);
	s.request = (char *)"GET /healthz HTTP/1.1";
	s.http_classes = CHECK_HTTP_CLASS(2);
	const struct step down[] = {
		C("GET /healthz HTTP/1.1\r\nHost: db-7.example.test\r\nUser-Agent: synwatch-check\r\nAccept: */*\r\n"
		  "Connection: close\r\n\r\n"),
		S("HTTP/1.1 503 Service Unavailable\r\n\r\n"), { END, 0, 0 },
	};
	play_fail(&s, down, "HTTP/1.1 503 Service Unavailable");

	s = spec_of(CHECK_SSH);
	const struct step ssh[] = {
		S("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"), C("SSH-2.0-synwatch_check\r\n"), { END, 0, 0 },
	};
	play_ok(&s, ssh, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
	/* a hung sshd (SIGSTOP): the kernel accepts, nothing is said */
	const struct step hung[] = { { TIMEOUT, 0, 0 }, { END, 0, 0 } };
	play_fail(&s, hung, "no SSH identification string within 2s");
	/* OpenSSH 9.2 past MaxStartups: a line of its own, then it closes (the
	 * bytes a real sshd sent); and a server with a line before its version */
	const struct step maxstartups[] = { S("Exceeded MaxStartups\r\n"), { CLOSE, 0, 0 }, { END, 0, 0 } };
	v = play(&s, maxstartups);
	expect_fail(&v, "connection closed by the server after 22 bytes, before the SSH identification string: "
			"'Exceeded MaxStartups'");
	assert_string_equal(v.banner, "Exceeded MaxStartups");
	const struct step slow[] = { S("please wait\r\n"), { TIMEOUT, 0, 0 }, { END, 0, 0 } };
	play_fail(&s, slow, "no SSH identification string within 2s (after 13 bytes): 'please wait'");
	const struct step prelude[] = {
		S("Welcome\r\nSSH-2.0-OpenSSH_9.2p1\r\n"), C("SSH-2.0-synwatch_check\r\n"), { END, 0, 0 },
	};
	play_ok(&s, prelude, "SSH-2.0-OpenSSH_9.2p1");
	/* an HTTP server where SSH should be says nothing either; an SMTP one does */
	const struct step smtp[] = { S("220 mx ESMTP\r\n"), { END, 0, 0 } };
	play_fail(&s, smtp, "not SSH: 220 mx ESMTP");

	s = spec_of(CHECK_AMQP);
	static const char start[] = "\x01\0\0\0\0\0\x06\0\x0a\0\x0a\0\x09\xce";
	const struct step amqp[] = { C("AMQP\0\0\x09\x01"), { SRV, start, 14 }, { END, 0, 0 } };
	play_ok(&s, amqp, "AMQP 0-9 Connection.Start");
	const struct step amqp10[] = { C("AMQP\0\0\x09\x01"), S("AMQP\0\x01\0\0"), { END, 0, 0 } };
	play_fail(&s, amqp10, "the server speaks AMQP 1-0-0, not 0-9-1");

	s = spec_of(CHECK_VNC);
	const struct step vnc[] = { S("RFB 003.008\n"), { END, 0, 0 } };
	play_ok(&s, vnc, "RFB 003.008");
}

static void test_generic(void **state)
{
	(void)state;
	struct check_spec s = spec_of(CHECK_GENERIC);
	int err;
	PCRE2_SIZE off;

	s.send = (uint8_t *)"PING\r\n";
	s.send_len = 6;
	s.expect = (char *)"^\\+PONG\\r$";
	s.expect_re = (struct pcre2_real_code_8 *)pcre2_compile((PCRE2_SPTR) "^\\+PONG\\r$", PCRE2_ZERO_TERMINATED,
								 PCRE2_MULTILINE, &err, &off, NULL);
	assert_non_null(s.expect_re);
	/* the reply drips in: a match once it is whole */
	const struct step ok[] = { C("PING\r\n"), S("+PO"), S("NG\r\n"), { END, 0, 0 } };
	play_ok(&s, ok, "+PONG");
	const struct step no[] = { C("PING\r\n"), S("-ERR unknown command\r\n"), { CLOSE, 0, 0 }, { END, 0, 0 } };
	play_fail(&s, no, "connection closed by the server after 22 bytes, before the matching reply");
	pcre2_code_free((pcre2_code *)s.expect_re);
}

/* Bounds: a megabyte banner, a slow drip, garbage, a reset. */
static void test_bounds(void **state)
{
	(void)state;
	struct check_spec s = spec_of(CHECK_SMTP);
	struct check_verdict v;
	char *big = malloc(5000);
	assert_non_null(big);
	memset(big, 'A', 5000);
	const struct step banner[] = { { SRV, big, 5000 }, { END, 0, 0 } };
	v = play(&s, banner);
	assert_false(v.ok);
	assert_non_null(strstr(v.error, "a line of more than 4096 bytes"));
	free(big);

	const struct step drip[] = { S("2"), S("2"), S("0"), { TIMEOUT, 0, 0 }, { END, 0, 0 } };
	play_fail(&s, drip, "no greeting within 2s (after 3 bytes)");

	const struct step reset[] = {
		S("220 mx\r\n"), C("EHLO synwatch.invalid\r\n"), S("25"), { RESET, 0, 0 }, { END, 0, 0 },
	};
	play_fail(&s, reset, "connection reset by the server after 10 bytes, before the reply to EHLO");

	/* garbage: control bytes and invalid UTF-8 become U+FFFD in the words */
	const struct step junk[] = { S("\x01\xff" "abc\r\n"), { END, 0, 0 } };
	play_fail(&s, junk, "not SMTP: \xef\xbf\xbd\xef\xbf\xbd" "abc");
}

static void test_text(void **state)
{
	(void)state;
	char out[CHECK_TEXT_MAX + 1];
	char in[600];

	check_text(out, "  a\r\n\tb\x7f c  \r\n", 14);
	assert_string_equal(out, "a b\xef\xbf\xbd c");
	/* cut on a character boundary */
	memset(in, 'x', sizeof(in));
	memcpy(in + 198, "\xc3\xa9", 2); /* é across the 200-byte edge? it ends at 200 */
	check_text(out, in, sizeof(in));
	assert_int_equal(strlen(out), 200);
	memset(in, 'x', sizeof(in));
	memcpy(in + 199, "\xc3\xa9", 2); /* now it would end at 201: left out */
	check_text(out, in, sizeof(in));
	assert_int_equal(strlen(out), 199);
	assert_int_equal(check_kind_parse("postgres", 8), CHECK_POSTGRES);
	assert_int_equal(check_kind_parse("none", 4), -1);
	assert_string_equal(check_kind_name(CHECK_SMTPS), "smtps");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp),     cmocka_unit_test(test_imap_pop3_ftp),
		cmocka_unit_test(test_redis),    cmocka_unit_test(test_postgres),
		cmocka_unit_test(test_mysql_mongodb_memcached), cmocka_unit_test(test_http_ssh_amqp_vnc),
		cmocka_unit_test(test_generic),  cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
