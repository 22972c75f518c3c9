/* engine/checker against servers this test runs on 127.0.0.1: plain ones
 * that play a script (an SMTP server, a Redis at maxclients, a hung one),
 * a closed port, and TLS servers with certificates made here (valid,
 * expired, for another name; TLS 1.2 and 1.0; closing without close_notify).
 * Checks every verdict, the TLS details, session resumption, and the per-host
 * limit. The TLS servers are OpenSSL's whichever library the checker uses.
 * No root, no namespaces. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/clock.h"
#include "common/ring.h"
#include "engine/checker.h"

/* ---- servers ---- */

struct server;
typedef void (*script_fn)(struct server *sv, int fd);

struct server {
	int lfd;
	uint16_t port;
	script_fn script;
	SSL_CTX *tls;          /* implicit TLS before the script */
	pthread_t thread;
	atomic_int open_now, open_max, accepted;
	atomic_bool stop;
	atomic_bool abrupt;    /* TLS: close without close_notify, as nginx does */
};

struct conn_arg {
	struct server *sv;
	int fd;
};

static void *serve_one(void *p)
{
	struct conn_arg *a = p;
	struct server *sv = a->sv;
	int fd = a->fd;
	free(a);
	int n = atomic_fetch_add(&sv->open_now, 1) + 1;
	int m = atomic_load(&sv->open_max);
	while (n > m && !atomic_compare_exchange_weak(&sv->open_max, &m, n))
		;
	if (sv->tls) {
		SSL *ssl = SSL_new(sv->tls);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			char buf[256];
			/* serve until the client goes: tickets go out, close_notify comes in */
			while (SSL_read(ssl, buf, sizeof(buf)) > 0)
				;
			if (!atomic_load(&sv->abrupt))
				SSL_shutdown(ssl);
		}
		SSL_free(ssl);
	} else {
		sv->script(sv, fd);
	}
	atomic_fetch_sub(&sv->open_now, 1);
	close(fd);
	return NULL;
}

static void *accept_loop(void *p)
{
	struct server *sv = p;
	while (!atomic_load(&sv->stop)) {
		int fd = accept(sv->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&sv->accepted, 1);
		struct conn_arg *a = malloc(sizeof(*a));
		a->sv = sv;
		a->fd = fd;
		pthread_t t;
		pthread_create(&t, NULL, serve_one, a);
		pthread_detach(t);
	}
	return NULL;
}

static struct server *server_at(const char *ip, script_fn script, SSL_CTX *tls, bool accepting)
{
	struct server *sv = calloc(1, sizeof(*sv));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, ip, &sa.sin_addr);
	socklen_t sl = sizeof(sa);

	assert_non_null(sv);
	sv->script = script;
	sv->tls = tls;
	sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(sv->lfd >= 0);
	assert_int_equal(bind(sv->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(sv->lfd, 64), 0);
	assert_int_equal(getsockname(sv->lfd, (struct sockaddr *)&sa, &sl), 0);
	sv->port = ntohs(sa.sin_port);
	if (accepting) /* a hung process: the kernel completes handshakes, nobody accepts */
		pthread_create(&sv->thread, NULL, accept_loop, sv);
	return sv;
}

static struct server *server_new(script_fn script, SSL_CTX *tls, bool accepting)
{
	return server_at("127.0.0.1", script, tls, accepting);
}

static void server_free(struct server *sv)
{
	atomic_store(&sv->stop, true);
	shutdown(sv->lfd, SHUT_RDWR);
	if (sv->thread)
		pthread_join(sv->thread, NULL);
	/* the connections' threads are detached: they end with their client */
	for (int i = 0; i < 500 && atomic_load(&sv->open_now) > 0; i++)
		usleep(10 * 1000);
	close(sv->lfd);
	free(sv);
}

static void say(int fd, const char *s)
{
	ssize_t n = send(fd, s, strlen(s), MSG_NOSIGNAL);
	(void)n;
}

/* reads until "\n" (or the client goes) */
static bool hear(int fd)
{
	char c;
	while (recv(fd, &c, 1, 0) == 1)
		if (c == '\n')
			return true;
	return false;
}

static void smtp_script(struct server *sv, int fd)
{
	(void)sv;
	say(fd, "220 mail.test ESMTP ready\r\n");
	if (!hear(fd))
		return;
	say(fd, "250-mail.test\r\n250 PIPELINING\r\n");
	if (!hear(fd))
		return;
	say(fd, "221 bye\r\n");
	usleep(50 * 1000); /* a concurrent client overlaps this one */
}

static void redis_full_script(struct server *sv, int fd)
{
	(void)sv;
	say(fd, "-ERR max number of clients reached\r\n");
}

static void silent_script(struct server *sv, int fd)
{
	(void)sv;
	char buf[64];
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

/* HTTP: the status line's reason phrase echoes the request's Host: header */
static void http_echo_host_script(struct server *sv, int fd)
{
	(void)sv;
	char line[300], host[300] = "(none)";
	size_t n = 0;
	char c;
	while (recv(fd, &c, 1, 0) == 1) {
		if (c != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = c;
			continue;
		}
		line[n && line[n - 1] == '\r' ? n - 1 : n] = '\0';
		if (!line[0])
			break;
		if (!strncasecmp(line, "Host: ", 6))
			memcpy(host, line + 6, strlen(line + 6) + 1);
		n = 0;
	}
	char reply[400];
	snprintf(reply, sizeof(reply), "HTTP/1.1 200 host %s\r\nContent-Length: 0\r\n\r\n", host);
	say(fd, reply);
	hear(fd);
}

/* Hostile servers: a megabyte without a newline, a byte every 100 ms, an
 * HTTP answer where TLS was expected. */
static void megabyte_script(struct server *sv, int fd)
{
	(void)sv;
	static char chunk[65536];
	memset(chunk, 'A', sizeof(chunk));
	for (int i = 0; i < 16; i++)
		if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) < 0)
			return;
	silent_script(sv, fd);
}

static void drip_script(struct server *sv, int fd)
{
	(void)sv;
	for (int i = 0; i < 50; i++) {
		if (send(fd, "2", 1, MSG_NOSIGNAL) < 0)
			return;
		usleep(100 * 1000);
	}
}

static void http_for_tls_script(struct server *sv, int fd)
{
	(void)sv;
	say(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	usleep(100 * 1000);
}

/* ---- certificates ---- */

static EVP_PKEY *key_new(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

/* A self-signed certificate for cn (and SAN DNS:cn), valid from `from` to
 * `to` seconds relative to now. */
static X509 *cert_new(EVP_PKEY *k, const char *cn, long from, long to)
{
	X509 *x = X509_new();
	char san[128];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	snprintf(san, sizeof(san), "DNS:%s", cn);
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, k, EVP_sha256());
	return x;
}

static SSL_CTX *tls_server(X509 *x, EVP_PKEY *k)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	assert_non_null(c);
	assert_int_equal(SSL_CTX_use_certificate(c, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(c, k), 1);
	return c;
}

/* ---- the checker ---- */

struct rig {
	struct checker *ck;
	struct ring *reqs, *results;
};

struct rig_specs {
	struct check_spec *v[8];
	size_t n;
};

static struct rig_specs *specs_of;
static int64_t rig_slow_ns; /* the next rig's loop: this much longer per event */

static void rig_new(struct rig *g, struct rig_specs *specs, uint32_t per_host)
{
	char err[256];
	struct checker_config cfg = {
		.max_in_flight = 64, .max_per_host = per_host, .linger_ns = 1000 * NSEC_PER_MSEC,
		.test_slow_ns = rig_slow_ns,
	};
	specs_of = specs;
	assert_int_equal(ring_new(&g->reqs, sizeof(struct check_req), 256), 0);
	assert_int_equal(ring_new(&g->results, sizeof(struct check_result), 256), 0);
	if (checker_new(&g->ck, &cfg, err, sizeof(err)) < 0) {
		print_error("checker_new: %s\n", err);
		fail();
	}
}

static void rig_free(struct rig *g)
{
	checker_free(g->ck);
	ring_free(g->reqs);
	ring_free(g->results);
	for (size_t i = 0; i < specs_of->n; i++)
		check_spec_unref(specs_of->v[i]);
}

/* A spec of kind k; ca_file (may be NULL) and verify set. */
static struct check_spec *spec(enum check_kind k, const char *ca_file, bool verify)
{
	struct check_spec *s = check_spec_new(k);
	assert_non_null(s);
	s->ca_file = ca_file ? strdup(ca_file) : NULL;
	s->verify = verify;
	return s;
}

static void ask_at(struct rig *g, const char *ip, uint16_t port, uint16_t spec, uint32_t target, int64_t timeout_ms,
		   const char *name)
{
	struct check_req r = { .port = port, .spec = check_spec_ref(specs_of->v[spec]), .target = target,
			       .seq = target, .timeout_ns = timeout_ms * NSEC_PER_MSEC };
	addr_parse(&r.dst, ip);
	snprintf(r.name, sizeof(r.name), "%s", name ? name : "");
	assert_int_equal(ring_push(g->reqs, &r, 1), 1);
}

static void ask(struct rig *g, uint16_t port, uint16_t spec, uint32_t target, int64_t timeout_ms, const char *name)
{
	ask_at(g, "127.0.0.1", port, spec, target, timeout_ms, name);
}

/* Runs the loop until n results came (at most 5 s). */
static size_t collect(struct rig *g, struct check_result *out, size_t n)
{
	size_t got = 0;
	uint64_t end = clock_mono_ns() + 5 * NSEC_PER_SEC;
	while (got < n && clock_mono_ns() < end) {
		checker_step(g->ck, g->reqs, g->results, 20);
		got += ring_pop(g->results, out + got, n - got);
	}
	/* let the closing ones finish (a TLS 1.3 ticket comes after the
	 * handshake: the session to resume from is kept once it is read) */
	struct checker_stats st;
	end = clock_mono_ns() + 2 * NSEC_PER_SEC;
	do {
		checker_step(g->ck, g->reqs, g->results, 10);
		checker_get_stats(g->ck, &st);
	} while (st.in_flight_now > 0 && clock_mono_ns() < end);
	return got;
}

static void test_plain(void **state)
{
	(void)state;
	struct rig_specs specs = { { spec(CHECK_CONNECT, NULL, false), spec(CHECK_SMTP, NULL, false),
				     spec(CHECK_REDIS, NULL, false), spec(CHECK_SSH, NULL, false) }, 4 };
	struct server *smtp = server_new(smtp_script, NULL, true);
	struct server *full = server_new(redis_full_script, NULL, true);
	struct server *hung = server_new(silent_script, NULL, false);
	struct server *closed = server_new(silent_script, NULL, false);
	uint16_t closed_port = closed->port;
	server_free(closed); /* its port now refuses */
	struct rig g;
	struct check_result res[8];

	rig_new(&g, &specs, 4);
	ask(&g, smtp->port, 0, 1, 1000, NULL);
	ask(&g, smtp->port, 1, 2, 1000, "mail.test");
	ask(&g, full->port, 2, 3, 1000, NULL);
	ask(&g, hung->port, 3, 4, 300, NULL);
	ask(&g, closed_port, 0, 5, 1000, NULL);
	assert_int_equal(collect(&g, res, 5), 5);
	for (int i = 0; i < 5; i++) {
		const struct check_result *r = &res[i];
		switch (r->target) {
		case 1:
			assert_true(r->v.ok);
			assert_true(r->connect_ns >= 0);
			break;
		case 2:
			assert_true(r->v.ok);
			assert_string_equal(r->v.banner, "mail.test ESMTP ready");
			assert_true(r->check_ns >= r->connect_ns);
			break;
		case 3:
			assert_false(r->v.ok);
			assert_string_equal(r->v.error, "ERR max number of clients reached");
			break;
		case 4:
			/* a hung sshd: connected (the kernel's backlog), then nothing */
			assert_false(r->v.ok);
			assert_string_equal(r->v.error, "no SSH identification string within 300ms");
			assert_true(r->connect_ns >= 0);
			break;
		case 5:
			assert_false(r->v.ok);
			assert_string_equal(r->v.error, "cannot connect: refused");
			break;
		default:
			fail();
		}
	}
	struct checker_stats st;
	checker_get_stats(g.ck, &st);
	assert_int_equal(st.done, 5);
	assert_int_equal(st.ok, 2);
	assert_int_equal(st.in_flight_now, 0);
	rig_free(&g);
	server_free(smtp);
	server_free(full);
	server_free(hung);
}

/* An http check sends the Host: header RFC 9110 asks for: the target's name
 * or address, with the port when it is not 80. */
static void test_http_host(void **state)
{
	(void)state;
	struct rig_specs specs = { { spec(CHECK_HTTP, NULL, false) }, 1 };
	struct server *web = server_new(http_echo_host_script, NULL, true);
	struct rig g;
	struct check_result res[2];
	char want[64];

	rig_new(&g, &specs, 4);
	ask(&g, web->port, 0, 1, 1000, NULL);
	ask(&g, web->port, 0, 2, 1000, "web.test");
	assert_int_equal(collect(&g, res, 2), 2);
	for (int i = 0; i < 2; i++) {
		assert_true(res[i].v.ok);
		snprintf(want, sizeof(want), "HTTP/1.1 200 host %s:%u", res[i].target == 1 ? "127.0.0.1" : "web.test",
			 (unsigned)web->port);
		assert_string_equal(res[i].v.banner, want);
	}
	rig_free(&g);
	server_free(web);
}

static void test_hostile(void **state)
{
	(void)state;
	struct rig_specs specs = { { spec(CHECK_SSH, NULL, false), spec(CHECK_SMTP, NULL, false),
				     spec(CHECK_TLS, NULL, false) }, 3 };
	struct server *big = server_new(megabyte_script, NULL, true);
	struct server *drip = server_new(drip_script, NULL, true);
	struct server *plain = server_new(http_for_tls_script, NULL, true);
	struct rig g;
	struct check_result res[3];
	uint64_t t0 = clock_mono_ns();

	rig_new(&g, &specs, 4);
	ask(&g, big->port, 0, 1, 2000, NULL);
	ask(&g, drip->port, 1, 2, 700, NULL);
	ask(&g, plain->port, 2, 3, 2000, NULL);
	assert_int_equal(collect(&g, res, 3), 3);
	for (int i = 0; i < 3; i++) {
		const struct check_result *r = &res[i];
		assert_false(r->v.ok);
		switch (r->target) {
		case 1: /* bounded: the line limit, not the megabyte */
			assert_non_null(strstr(r->v.error, "a line of more than 4096 bytes"));
			assert_true(r->check_ns < 2 * NSEC_PER_SEC);
			break;
		case 2: /* bounded in time: the deadline, whatever still drips */
			/* (a byte every 100 ms: about 7 of them, fewer on a busy machine) */
			assert_non_null(strstr(r->v.error, "no greeting within 700ms (after "));
			break;
		case 3:
			/* the server's words, at once, not the library's "unexpected packet" */
			assert_non_null(strstr(r->v.error, "not TLS: HTTP/1.1 400 Bad Request"));
			assert_true(r->check_ns < NSEC_PER_SEC);
			break;
		default:
			fail();
		}
	}
	assert_true(clock_mono_ns() - t0 < 3 * NSEC_PER_SEC);
	rig_free(&g);
	server_free(big);
	server_free(drip);
	server_free(plain);
}

/* Ten checks of one hung host, two at a time at most: two in flight, eight
 * waiting; they end two by two at their deadlines. */
static void test_per_host_limit(void **state)
{
	(void)state;
	struct rig_specs specs = { { spec(CHECK_SSH, NULL, false) }, 1 };
	struct server *hung = server_new(silent_script, NULL, false);
	struct server *smtp = server_at("127.0.0.2", smtp_script, NULL, true);
	struct rig g;
	struct check_result res[11];
	struct checker_stats st;

	rig_new(&g, &specs, 2);
	for (uint32_t i = 0; i < 10; i++)
		ask(&g, hung->port, 0, i, 200, NULL);
	/* another host is not held back by this one */
	ask_at(&g, "127.0.0.2", smtp->port, 0, 100, 2000, NULL);
	checker_step(g.ck, g.reqs, g.results, 0);
	checker_get_stats(g.ck, &st);
	assert_int_equal(st.in_flight_now, 3);
	assert_int_equal(st.queued_now, 8);
	uint64_t t0 = clock_mono_ns();
	assert_int_equal(collect(&g, res, 11), 11);
	uint64_t took = clock_mono_ns() - t0;
	/* five waves of 200 ms (and the SMTP one, which said 220 and not SSH) */
	assert_true(took >= 900 * NSEC_PER_MSEC);
	for (int i = 0; i < 11; i++) {
		assert_false(res[i].v.ok);
		if (res[i].target != 100)
			assert_string_equal(res[i].v.error, "no SSH identification string within 200ms");
		else
			assert_string_equal(res[i].v.error, "not SSH: 220 mail.test ESMTP ready");
	}
	rig_free(&g);
	server_free(hung);
	server_free(smtp);
}

static char *write_pem(X509 *x)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/sw-test-checker-ca.%d.pem", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	return path;
}

static void test_tls(void **state)
{
	(void)state;
	EVP_PKEY *k = key_new();
	X509 *good = cert_new(k, "svc.test", -3600, 30 * 86400);
	X509 *old = cert_new(k, "old.test", -40 * 86400, -86400);
	SSL_CTX *sg = tls_server(good, k), *so = tls_server(old, k);
	struct server *g1 = server_new(NULL, sg, true), *o1 = server_new(NULL, so, true);
	char *ca = write_pem(good);
	struct rig_specs specs = { {
		spec(CHECK_TLS, NULL, false), /* the system store: not verified */
		spec(CHECK_TLS, ca, false),   /* our CA: verified */
		spec(CHECK_TLS, ca, true),
	}, 3 };
	struct rig g;
	struct check_result res[4];

	rig_new(&g, &specs, 4);
	ask(&g, g1->port, 0, 1, 2000, "svc.test");
	ask(&g, g1->port, 1, 2, 2000, "svc.test");
	ask(&g, g1->port, 2, 3, 2000, "other.test"); /* verify: the name does not match */
	ask(&g, o1->port, 0, 4, 2000, "old.test");
	assert_int_equal(collect(&g, res, 4), 4);
	time_t now = time(NULL);
	for (int i = 0; i < 4; i++) {
		const struct check_result *r = &res[i];
		if (r->target != 3 && !r->v.ok)
			print_error("target %u: %s\n", r->target, r->v.error);
		switch (r->target) {
		case 1:
			assert_true(r->v.ok);
			assert_string_equal(r->tls.version, "TLSv1.3");
			assert_string_equal(r->tls.subject, "CN=svc.test");
			assert_string_equal(r->tls.issuer, "CN=svc.test");
			assert_string_equal(r->tls.sans, "DNS:svc.test");
			assert_false(r->tls.verified);
			assert_true(r->tls.name_ok);
			assert_true(r->tls.not_after_s > now + 29 * 86400 && r->tls.not_after_s < now + 31 * 86400);
			assert_true(r->tls_ns > 0);
			break;
		case 2:
			assert_true(r->v.ok);
			assert_true(r->tls.verified);
			assert_true(r->tls.name_ok);
			break;
		case 3:
			assert_false(r->v.ok);
			assert_string_equal(r->v.error, "certificate name mismatch: the certificate is not for 'other.test'");
			break;
		case 4:
			/* expired: the handshake works, the dates tell */
			assert_true(r->v.ok);
			assert_true(r->tls.not_after_s < now);
			break;
		default:
			fail();
		}
	}

	/* again: resumed, with the certificate of the full handshake */
	ask(&g, g1->port, 1, 2, 2000, "svc.test");
	assert_int_equal(collect(&g, res, 1), 1);
	assert_true(res[0].v.ok);
	assert_true(res[0].tls.resumed);
	assert_string_equal(res[0].tls.subject, "CN=svc.test");
	assert_true(res[0].tls.verified);
	struct checker_stats st;
	checker_get_stats(g.ck, &st);
	assert_int_equal(st.tls_resumed, 1);
	rig_free(&g);
	server_free(g1);
	server_free(o1);
	SSL_CTX_free(sg);
	SSL_CTX_free(so);
	X509_free(good);
	X509_free(old);
	EVP_PKEY_free(k);
	unlink(ca);
}

/* Old servers are reported, not refused, in the same words whichever the
 * TLS library; a session resumes after a server that closed without
 * close_notify (nginx does), under TLS 1.3 and 1.2. */
static void test_tls_versions(void **state)
{
	(void)state;
	EVP_PKEY *k = key_new();
	X509 *x = cert_new(k, "svc.test", -3600, 30 * 86400);
	SSL_CTX *s13 = tls_server(x, k), *s12 = tls_server(x, k), *s10 = tls_server(x, k);
	SSL_CTX_set_max_proto_version(s12, TLS1_2_VERSION);
	SSL_CTX_set_min_proto_version(s10, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(s10, TLS1_VERSION);
	SSL_CTX_set_security_level(s10, 0);
	struct server *v13 = server_new(NULL, s13, true), *v12 = server_new(NULL, s12, true),
		      *v10 = server_new(NULL, s10, true);
	atomic_store(&v13->abrupt, true);
	atomic_store(&v12->abrupt, true);
	struct rig_specs specs = { { spec(CHECK_TLS, NULL, false) }, 1 };
	struct rig g;
	struct check_result res[3];
	struct checker_stats st;

	rig_new(&g, &specs, 4);
	ask(&g, v13->port, 0, 1, 2000, "svc.test");
	ask(&g, v12->port, 0, 2, 2000, "svc.test");
	ask(&g, v10->port, 0, 3, 2000, "svc.test");
	assert_int_equal(collect(&g, res, 3), 3);
	for (int i = 0; i < 3; i++) {
		const struct check_result *r = &res[i];
		if (!r->v.ok)
			print_error("target %u: %s\n", r->target, r->v.error);
		assert_true(r->v.ok);
		assert_false(r->tls.resumed);
		assert_string_equal(r->tls.subject, "CN=svc.test");
		switch (r->target) {
		case 1:
			assert_string_equal(r->tls.version, "TLSv1.3");
			assert_true(strncmp(r->tls.cipher, "TLS_AES_", 8) == 0 || strncmp(r->tls.cipher, "TLS_CHACHA20_", 13) == 0);
			break;
		case 2:
			assert_string_equal(r->tls.version, "TLSv1.2");
			/* IANA names, not OpenSSL's "ECDHE-ECDSA-AES256-GCM-SHA384" */
			assert_true(strncmp(r->tls.cipher, "TLS_ECDHE_ECDSA_WITH_", 21) == 0);
			break;
		case 3:
			assert_string_equal(r->tls.version, "TLSv1");
			assert_true(strncmp(r->tls.cipher, "TLS_ECDHE_ECDSA_WITH_", 21) == 0);
			break;
		default:
			fail();
		}
	}
	ask(&g, v13->port, 0, 1, 2000, "svc.test");
	ask(&g, v12->port, 0, 2, 2000, "svc.test");
	assert_int_equal(collect(&g, res, 2), 2);
	for (int i = 0; i < 2; i++) {
		assert_true(res[i].v.ok);
		assert_true(res[i].tls.resumed);
		assert_string_equal(res[i].tls.version, res[i].target == 1 ? "TLSv1.3" : "TLSv1.2");
		assert_string_equal(res[i].tls.subject, "CN=svc.test");
	}
	checker_get_stats(g.ck, &st);
	assert_int_equal(st.tls_full, 3);
	assert_int_equal(st.tls_resumed, 2);
	rig_free(&g);
	server_free(v13);
	server_free(v12);
	server_free(v10);
	SSL_CTX_free(s13);
	SSL_CTX_free(s12);
	SSL_CTX_free(s10);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* A loop short of CPU (each event it handles takes 5 ms more: a busy
 * machine) slows the checks down instead of failing them: it starts only
 * as many connections as it can serve within their timeouts, and the rest
 * wait, with no deadline running. Asked: 100 SMTP checks at 400 a second,
 * four events or so each: 16 s of the loop's time for each second. Started
 * as they come, up to the 64 slots, a round of events would take 0.6 s and
 * the checks 2 s, twice their timeout (1 s). */
static void test_admission(void **state)
{
	(void)state;
	struct rig_specs specs = { { spec(CHECK_SMTP, NULL, false) }, 1 };
	struct server *smtp = server_new(smtp_script, NULL, true);
	struct rig g;
	struct check_result res[100];
	struct checker_stats st;
	size_t got = 0;
	uint32_t asked = 0;
	uint64_t max_active = 0, max_queued = 0;

	rig_slow_ns = 10 * NSEC_PER_MSEC;
	rig_new(&g, &specs, 64);
	rig_slow_ns = 0;
	uint64_t t0 = clock_mono_ns(), end = t0 + 30 * NSEC_PER_SEC;
	while (got < 100 && clock_mono_ns() < end) {
		uint64_t due = (clock_mono_ns() - t0) * 2 / (5 * NSEC_PER_MSEC) + 1;
		while (asked < 100 && asked < due)
			ask(&g, smtp->port, 0, asked++, 1000, NULL);
		checker_step(g.ck, g.reqs, g.results, 5);
		got += ring_pop(g.results, res + got, 100 - got);
		checker_get_stats(g.ck, &st);
		if (st.active_now > max_active)
			max_active = st.active_now;
		if (st.queued_now > max_queued)
			max_queued = st.queued_now;
	}
	assert_int_equal(got, 100);
	for (size_t i = 0; i < got; i++) {
		if (!res[i].v.ok || res[i].check_ns >= 3 * NSEC_PER_SEC / 2)
			print_error("check %u: %s after %.0f ms\n", res[i].target, res[i].v.ok ? "ok" : res[i].v.error,
				    (double)res[i].check_ns / 1e6);
		assert_true(res[i].v.ok);
		/* about within its timeout (the loop learns its pace as it goes,
		 * and the machine may be busier still): a verdict that comes late
		 * is kept (the server may have answered in time), with the time
		 * it took, 2 s and more without admission */
		assert_true(res[i].check_ns < 3 * NSEC_PER_SEC / 2);
	}
	checker_get_stats(g.ck, &st);
	assert_int_equal(st.timeouts, 0);
	assert_true(max_queued > 0);  /* it held some back */
	assert_true(max_active < 64); /* not the slots: admission */
	assert_true(st.conn_cost_ns > 10 * NSEC_PER_MSEC); /* it saw its own slowness */
	do
		checker_step(g.ck, g.reqs, g.results, 10);
	while (checker_get_stats(g.ck, &st), st.in_flight_now > 0 && clock_mono_ns() < end);
	rig_free(&g);
	server_free(smtp);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as synwatch does: a peer gone is an error, not a death */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_per_host_limit),
		cmocka_unit_test(test_http_host),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_admission),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_tls_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
