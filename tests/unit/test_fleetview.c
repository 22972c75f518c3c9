/* tools/lib/fleetview: the pure helpers (labels JSON, escaping, target split,
 * latency merging, the arena), and the readers against a private
 * redis-server on a unix socket: counts, indexes, state hashes read in
 * pipelined slices, latency records, events, probers, wrong types, a
 * foreign schema and a reconnect after the connection was killed. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <hiredis.h>

#include "common/json.h"
#include "tools/lib/fleetview.h"

/* ---- pure helpers ---- */

static void test_labels(void **state)
{
	(void)state;
	struct fv_arena a = { 0 };
	struct fv_label l[8];

	assert_int_equal(fv_labels_parse("", &a, l, 8), 0);
	assert_int_equal(fv_labels_parse(" {} ", &a, l, 8), 0);
	assert_int_equal(fv_labels_parse("{\"team\":\"dba\", \"criticality\" : \"critical\"}", &a, l, 8), 2);
	assert_string_equal(l[0].name, "team");
	assert_string_equal(l[0].value, "dba");
	assert_string_equal(l[1].value, "critical");
	/* escapes, \u with a surrogate pair, a lone surrogate */
	assert_int_equal(fv_labels_parse("{\"n\":\"a\\\"b\\\\c\\nd\\u00e9\\ud83d\\ude00\\ud800x\"}", &a, l, 8), 1);
	assert_string_equal(l[0].value, "a\"b\\c\nd\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx");
	/* other scalars keep their text; null, objects and arrays are left out */
	assert_int_equal(fv_labels_parse("{\"a\":2.5e3,\"b\":true,\"c\":null,\"d\":{\"x\":[1,{}]},\"e\":[],\"f\":-0}",
					 &a, l, 8), 3);
	assert_string_equal(l[0].value, "2.5e3");
	assert_string_equal(l[1].value, "true");
	assert_string_equal(l[2].name, "f");
	/* at most max, the rest still checked */
	assert_int_equal(fv_labels_parse("{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}", &a, l, 2), 2);
	assert_int_equal(fv_labels_parse("{\"a\":\"1\",\"b\":\"2\",\"c\":}", &a, l, 2), -EINVAL);
	static const char *const bad[] = {
		"[]", "{", "{\"a\"}", "{\"a\":\"x\"", "{\"a\":\"x\"} x", "{a:\"x\"}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}", "{\"a\":\"x\",}",
		"{\"a\":[1,2}", "\"str\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fv_labels_parse(bad[i], &a, l, 8) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	fv_arena_release(&a);
}

static void test_escaping(void **state)
{
	(void)state;
	struct buf b = { 0 };

	json_put_str(&b, "a\"b\\c\n\x01\xc3\xa9\xff\xe2\x82");
	assert_string_equal(b.s, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\\ufffd\\ufffd\\ufffd\"");
	buf_reset(&b);
	json_put_str(&b, NULL);
	buf_add(&b, " ", 1);
	json_put_num(&b, 42);
	buf_add(&b, " ", 1);
	json_put_num(&b, 1795570076.45);
	buf_add(&b, " ", 1);
	json_put_num(&b, NAN);
	assert_string_equal(b.s, "null 42 1795570076.45 null");
	buf_reset(&b);
	fv_prom_value(&b, "x\"y\\z\nw");
	assert_string_equal(b.s, "x\\\"y\\\\z\\nw");
	buf_reset(&b);
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.s));
	assert_false(b.nomem);
	assert_memory_equal(b.s + b.len - 5, "9999,", 5);
	buf_release(&b);
	assert_null(b.s);
}

static void test_target_split(void **state)
{
	(void)state;
	char ip[64];
	unsigned port;

	assert_int_equal(fv_target_split("198.18.0.5:5432", ip, sizeof(ip), &port), 0);
	assert_string_equal(ip, "198.18.0.5");
	assert_int_equal(port, 5432);
	assert_int_equal(fv_target_split("[2001:db8::1]:443", ip, sizeof(ip), &port), 0);
	assert_string_equal(ip, "2001:db8::1");
	assert_int_equal(port, 443);
	static const char *const bad[] = { "198.18.0.5", ":80", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:+8",
					   "2001:db8::1:443", "[2001:db8::1:443", "1.2.3.4:8x", "[]:80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fv_target_split(bad[i], ip, sizeof(ip), &port) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	assert_int_equal(fv_target_split("198.18.0.5:1", ip, 8, &port), -EINVAL);
}

static void minute(struct lat_minute *m, int64_t start, int n, int64_t ns)
{
	lat_minute_init(m, start);
	for (int i = 0; i < n; i++)
		assert_int_equal(lat_minute_add(m, ns + i * 1000), 0);
	assert_int_equal(lat_minute_loss(m), 0);
}

static void assert_minute(const struct lat_minute *m, int64_t start, uint32_t count, uint32_t lost, int64_t min_ns,
			  int64_t max_ns)
{
	assert_int_equal(m->minute_start_s, start);
	assert_int_equal(m->count, count);
	assert_int_equal(m->lost, lost);
	assert_int_equal(m->min_ns, min_ns);
	assert_int_equal(m->max_ns, max_ns);
}

static void test_latency_series(void **state)
{
	(void)state;
	struct lat_minute a[3], b[2], out[5];

	minute(&a[0], 60, 2, 100000);
	minute(&a[1], 120, 3, 200000);
	minute(&a[2], 240, 1, 900000);
	minute(&b[0], 120, 5, 300000);
	minute(&b[1], 180, 1, 50000);
	size_t n = fv_lat_merge_series(out, a, 3, b, 2);
	assert_int_equal(n, 4);
	assert_minute(&out[1], 120, 8, 2, 200000, 304000);
	assert_int_equal(out[2].minute_start_s, 180);
	/* 5-minute periods: 60 and 120..240 land in 0 and 0..300 */
	n = fv_lat_rebin(out, n, 300);
	assert_int_equal(n, 1);
	assert_minute(&out[0], 0, 12, 5, 50000, 900000);
	assert_int_equal(fv_lat_rebin(out, 1, 60), 1);
}

static void test_small(void **state)
{
	(void)state;
	char buf[16];
	struct fv_arena a = { 0 };

	assert_string_equal(fv_age_text(45, buf, sizeof(buf)), "45s");
	assert_string_equal(fv_age_text(192, buf, sizeof(buf)), "3m12s");
	assert_string_equal(fv_age_text(7500, buf, sizeof(buf)), "2h05m");
	assert_string_equal(fv_age_text(273600, buf, sizeof(buf)), "3d04h");
	assert_string_equal(fv_age_text(-5, buf, sizeof(buf)), "0s");
	for (int s = 0; s < FV_NSTATES; s++)
		assert_int_equal(fv_state_parse(fv_state_name(s)), s);
	assert_string_equal(fv_state_name(FV_ALL), "all");
	assert_int_equal(fv_state_parse("all"), -EINVAL);
	assert_true(fv_state_rank(FV_DOWN) < fv_state_rank(FV_DEGRADED));
	assert_true(fv_state_rank(FV_UNKNOWN) < fv_state_rank(FV_UP));
	/* small pieces share chunks, big ones get their own; all aligned */
	for (int i = 0; i < 5000; i++) {
		char *p = fv_alloc(&a, (size_t)(i % 97) + 1);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		memset(p, 0xab, (size_t)(i % 97) + 1);
	}
	char *big = fv_alloc(&a, 1 << 20);
	assert_non_null(big);
	memset(big, 1, 1 << 20);
	assert_string_equal(fv_strndup(&a, "abcdef", 3), "abc");
	fv_arena_release(&a);
	assert_null(a.head);
	const char *v[] = { "b", "a", "b", "c", "a" };
	assert_int_equal(fv_sort_unique(v, 5), 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "c");
	assert_int_equal(fv_sort_unique(v, 0), 0);
}

/* ok, late and gone, and the line a viewer puts first, from probers as
 * fleetview_probers returns them (newest heartbeat first) */
static void test_prober_health(void **state)
{
	(void)state;
	const int64_t now = 1700000100000;
	struct fv_prober p[] = {
		{ .id = "fra1/a", .location = "fra1", .last_ms = now - 500, .alive = true },
		{ .id = "ams1/b", .location = "ams1", .last_ms = now - 4200, .alive = true },
		{ .id = "ams1/c", .location = "ams1", .last_ms = now - 37000, .alive = false },
		{ .id = "fra1/old", .location = "fra1", .last_ms = now - 1200000, .alive = false },
	};
	struct fv_probers_sum sum;

	assert_int_equal(fv_prober_health(&p[0], now), FV_PROBER_OK);
	assert_int_equal(fv_prober_health(&p[1], now), FV_PROBER_LATE);
	assert_int_equal(fv_prober_health(&p[2], now), FV_PROBER_GONE);
	/* exactly FV_PROBER_LATE_MS is not late yet; a hash that expired is
	 * gone whatever the clocks say */
	struct fv_prober edge = { .last_ms = now - FV_PROBER_LATE_MS, .alive = true };
	assert_int_equal(fv_prober_health(&edge, now), FV_PROBER_OK);
	edge.last_ms = now + 60000;
	assert_int_equal(fv_prober_health(&edge, now), FV_PROBER_OK);
	edge.alive = false;
	assert_int_equal(fv_prober_health(&edge, now), FV_PROBER_GONE);
	assert_string_equal(fv_prober_health_name(FV_PROBER_OK), "ok");
	assert_string_equal(fv_prober_health_name(FV_PROBER_LATE), "late");
	assert_string_equal(fv_prober_health_name(FV_PROBER_GONE), "gone");

	fv_probers_sum(p, 4, now, &sum);
	assert_int_equal(sum.n[FV_PROBER_OK], 1);
	assert_int_equal(sum.n[FV_PROBER_LATE], 1);
	assert_int_equal(sum.n[FV_PROBER_GONE], 2);
	assert_ptr_equal(sum.gone, &p[2]); /* the most recent loss, not the oldest */
	assert_ptr_equal(sum.late, &p[1]);
	assert_int_equal(sum.gone_loc_live, 1); /* ams1/b: late is still alive */
	/* the order does not matter */
	struct fv_prober q[] = { p[3], p[2] };
	fv_probers_sum(q, 2, now, &sum);
	assert_ptr_equal(sum.gone, &q[1]);
	assert_int_equal(sum.gone_loc_live, 0);
	assert_null(sum.late);
	fv_probers_sum(p, 1, now, &sum);
	assert_null(sum.gone);
	assert_null(sum.late);
	fv_probers_sum(NULL, 0, now, &sum);
	assert_int_equal(sum.n[FV_PROBER_GONE], 0);

	/* "never written" only when neither the schema nor any prober is there:
	 * a prober that died keeps its P probers entry */
	assert_true(fv_never_written(false, 0));
	assert_false(fv_never_written(true, 0));
	assert_false(fv_never_written(false, 1));
	assert_false(fv_never_written(true, 3));
}

/* What the viewers say about a check, from its fields. */
static void test_check_text(void **state)
{
	(void)state;
	char buf[256];
	struct buf b = { 0 };
	struct fv_check none = { .kind = "", .verdict = "", .error = "", .banner = "", .tls_version = "",
				 .tls_cipher = "", .cert_subject = "", .cert_issuer = "", .cert_sans = "",
				 .cert_error = "", .ok = -1, .cert_verified = -1, .cert_days_left = FV_NO_DAYS, .us = -1 };
	struct fv_check c = none;

	assert_true(fv_reason_is_check("check_failed"));
	assert_true(fv_reason_is_check("cert_expiring"));
	assert_true(fv_reason_is_check("cert_expired"));
	assert_true(fv_reason_is_check("cert_unverified"));
	assert_false(fv_reason_is_check("refused"));
	assert_false(fv_reason_is_check(""));

	assert_string_equal(fv_cert_days_text(12, buf, sizeof(buf)), "expires in 12 days");
	assert_string_equal(fv_cert_days_text(1, buf, sizeof(buf)), "expires in 1 day");
	assert_string_equal(fv_cert_days_text(0, buf, sizeof(buf)), "expires within a day");
	assert_string_equal(fv_cert_days_text(-1, buf, sizeof(buf)), "expired within the last day");
	assert_string_equal(fv_cert_days_text(-4, buf, sizeof(buf)), "expired 4 days ago");

	assert_string_equal(fv_check_text(&c, buf, sizeof(buf)), "");
	fv_check_json(&b, &c);
	assert_string_equal(b.s, "null");
	c.kind = "postgres";
	c.ok = 0;
	c.verdict = "check_failed";
	c.error = "FATAL: sorry, too many clients already";
	assert_string_equal(fv_check_text(&c, buf, sizeof(buf)), "FATAL: sorry, too many clients already");
	assert_false(fv_check_passed(&c));
	assert_false(fv_check_passed(&none));
	c.error = "";
	assert_string_equal(fv_check_text(&c, buf, sizeof(buf)), "failed");
	/* passed, with a certificate running out: its days */
	c = none;
	c.kind = "tls";
	c.ok = 1;
	c.verdict = "cert_expiring";
	c.cert_days_left = 4;
	c.cert_not_after_s = 1797109597;
	c.cert_subject = "CN=localhost";
	c.cert_issuer = "CN=\"Test CA\"";
	c.cert_sans = "DNS:localhost,IP:127.0.0.1";
	c.cert_verified = 0;
	c.cert_error = "self-signed certificate";
	c.tls_version = "TLSv1.3";
	c.tls_cipher = "TLS_AES_256_GCM_SHA384";
	c.us = 1126.452;
	c.ts_ns = 1796677630696115900;
	assert_string_equal(fv_check_text(&c, buf, sizeof(buf)), "certificate expires in 4 days");
	assert_true(fv_check_passed(&c)); /* expiring only warns */
	c.verdict = "cert_expired";
	assert_false(fv_check_passed(&c)); /* the handshake worked, the verdict fails it */
	c.cert_days_left = -4;
	assert_string_equal(fv_check_text(&c, buf, sizeof(buf)), "certificate expired 4 days ago");
	c.verdict = "ok";
	assert_string_equal(fv_check_text(&c, buf, sizeof(buf)), "certificate expired 4 days ago");
	c.cert_days_left = 40;
	assert_string_equal(fv_check_text(&c, buf, sizeof(buf)), "ok");
	buf_reset(&b);
	fv_check_json(&b, &c);
	assert_string_equal(b.s, "{\"kind\":\"tls\",\"ok\":true,\"verdict\":\"ok\",\"error\":\"\",\"banner\":\"\","
				 "\"ts\":1796677630.696,\"us\":1126.452,"
				 "\"tls\":{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\"},"
				 "\"cert\":{\"subject\":\"CN=localhost\",\"issuer\":\"CN=\\\"Test CA\\\"\","
				 "\"sans\":[\"DNS:localhost\",\"IP:127.0.0.1\"],\"not_after\":1797109597,"
				 "\"days_left\":40,\"verified\":false,\"error\":\"self-signed certificate\"}}");
	buf_release(&b);

	/* blackbox_exporter's spelling of the version */
	assert_string_equal(fv_tls_version_label("TLSv1.3"), "TLS 1.3");
	assert_string_equal(fv_tls_version_label("TLS1.2"), "TLS 1.2");
	assert_string_equal(fv_tls_version_label("TLS 1.1"), "TLS 1.1");
	assert_string_equal(fv_tls_version_label("TLSv1"), "TLS 1.0");
	assert_string_equal(fv_tls_version_label("TLSv1.0"), "TLS 1.0");
	assert_string_equal(fv_tls_version_label("SSLv3"), "unknown");
	assert_string_equal(fv_tls_version_label("TLSv1.4"), "unknown");
	assert_string_equal(fv_tls_version_label(""), "unknown");
}

/* ---- against redis-server ---- */

struct srv {
	char dir[64];
	char url[160];
	pid_t pid;
	redisContext *c;
};

static redisContext *connect_sock(const char *dir)
{
	char sock[128];
	snprintf(sock, sizeof(sock), "%s/r.sock", dir);
	redisContext *c = redisConnectUnix(sock);
	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

static void srv_start(struct srv *s)
{
	char sock[128];

	snprintf(s->dir, sizeof(s->dir), "/tmp/sw-fleetview.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(sock, sizeof(sock), "%s/r.sock", s->dir);
	snprintf(s->url, sizeof(s->url), "unix://%s", sock);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
		       "--appendonly", "no", "--dir", s->dir, "--logfile", "/dev/null", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !(s->c = connect_sock(s->dir)); i++)
		usleep(10000);
	assert_non_null(s->c);
}

static void srv_stop(struct srv *s)
{
	char cmd[128];

	redisFree(s->c);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
	assert_int_equal(system(cmd), 0);
}

/* As cmocka setup and teardown, so that a failed test stops its server too. */
static int srv_setup(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	srv_start(s);
	*state = s;
	return 0;
}

static int srv_teardown(void **state)
{
	srv_stop(*state);
	free(*state);
	return 0;
}

__attribute__((format(printf, 2, 3))) static void cmd(struct srv *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	redisReply *r = redisvCommand(s->c, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("%s: %s", fmt, r->str);
	freeReplyObject(r);
}

/* A reader of the test server's keys under prefix; the test fails with
 * its error if it cannot open. */
static struct fleetview *open_view(const struct srv *s, const char *prefix, int timeout_ms)
{
	struct fleetview *fv;
	char err[512];

	if (fleetview_open(&fv, s->url, prefix, timeout_ms, err, sizeof(err)) != 0)
		fail_msg("fleetview_open: %s", err);
	return fv;
}

static void test_readers(void **state)
{
	struct srv *s = *state;
	struct fleetview *fv;
	struct fv_arena a = { 0 };
	char err[512];
	uint64_t counts[2][FV_NSETS];
	const char *locs_in[] = { "fra1", "ams1" };

	cmd(s, "SET t:schema 1");
	cmd(s, "ZADD t:probers 1700000000000 fra1/a 1700000001000 ams1/b 1600000000000 fra1/old 5 bad!loc/x");
	cmd(s, "HSET t:prober:fra1/a location fra1 backlog 7 overloaded 1");
	cmd(s, "ZADD t:idx:fra1:down 100 198.18.0.1:80 50 198.18.0.2:80");
	cmd(s, "ZADD t:idx:fra1:up 10 198.18.0.3:80");
	cmd(s, "HSET t:state:fra1:198.18.0.2:80 state down since 50000000000 name db\"1 last_rtt_us 412.5 labels {}");
	cmd(s, "HSET t:state:fra1:198.18.0.1:80 state bogus last_rtt_us %s", "");
	cmd(s, "ZADD t:lat:fra1:198.18.0.2:80 60 %s 120 %s 180 %s", "v1 t=60 n=1 l=0 min=1000 max=1000 sum=1000 b=1",
	    "broken", "v1 t=180 n=0 l=2 min=0 max=0 sum=0 b=");
	cmd(s, "XADD t:events 1-1 kind state target 198.18.0.2:80");
	cmd(s, "XADD t:events 2-1 kind host_down ip 198.18.0.2");
	cmd(s, "XADD t:events 3-1 kind state target 198.18.0.1:80");

	fv = open_view(s, "t:", 2000);
	assert_true(fleetview_has_schema(fv));

	const char **locs;
	assert_int_equal(fleetview_locations(fv, &a, locs_in + 1, 1, &locs), 2);
	assert_string_equal(locs[0], "ams1");
	assert_string_equal(locs[1], "fra1");
	assert_null(locs[2]);

	assert_int_equal(fleetview_counts(fv, locs_in, 2, counts), 0);
	assert_int_equal(counts[0][FV_DOWN], 2);
	assert_int_equal(counts[0][FV_UP], 1);
	assert_int_equal(counts[1][FV_DOWN], 0);

	struct fv_member *m;
	assert_int_equal(fleetview_index(fv, &a, "fra1", FV_DOWN, 0, -1, &m), 2);
	assert_string_equal(m[0].member, "198.18.0.2:80"); /* the longest down first */
	assert_true(m[0].score == 50);
	assert_int_equal(fleetview_index(fv, &a, "fra1", FV_NSETS, 0, -1, &m), -EINVAL);

	const char *names[] = { "198.18.0.2:80", "198.18.0.1:80", "198.18.9.9:1" };
	struct fv_target t[3];
	assert_int_equal(fleetview_targets(fv, &a, "fra1", names, 3, t), 3);
	assert_int_equal(t[0].state, FV_DOWN);
	assert_true(t[0].present);
	assert_int_equal(t[0].since_ns, 50000000000);
	assert_string_equal(t[0].name, "db\"1");
	assert_true(t[0].last_rtt_us == 412.5);
	assert_string_equal(t[0].group, "");
	assert_int_equal(t[1].state, FV_UNKNOWN); /* a state it does not know */
	assert_true(t[1].last_rtt_us < 0);
	assert_false(t[2].present);

	struct lat_minute *lm;
	size_t bad = 0;
	assert_int_equal(fleetview_latency(fv, &a, "fra1", "198.18.0.2:80", 0, 100, &lm, &bad), 2);
	assert_int_equal(bad, 1);
	assert_int_equal(lm[0].minute_start_s, 60);
	assert_int_equal(lm[1].lost, 2);
	assert_int_equal(fleetview_latency(fv, &a, "fra1", "198.18.0.2:80", 0, 1, &lm, NULL), 1);
	assert_int_equal(lm[0].minute_start_s, 180); /* the newest */

	struct fv_record *ev;
	assert_int_equal(fleetview_events(fv, &a, NULL, 2, &ev), 2);
	assert_string_equal(ev[0].id, "3-1");
	assert_string_equal(fv_record_get(&ev[1], "kind"), "host_down");
	assert_null(fv_record_get(&ev[1], "target"));
	assert_int_equal(fleetview_events(fv, &a, "2-1", 10, &ev), 1);
	assert_string_equal(ev[0].id, "1-1");

	struct fv_prober *p;
	assert_int_equal(fleetview_probers(fv, &a, 10, &p), 4);
	assert_string_equal(p[0].id, "ams1/b");
	assert_false(p[0].alive);
	assert_string_equal(p[1].id, "fra1/a");
	assert_true(p[1].alive);
	assert_int_equal(p[1].last_ms, 1700000000000);
	assert_string_equal(fv_record_get(&p[1].h, "backlog"), "7");

	/* a key of the wrong type: -EPROTO, and the connection stays usable */
	cmd(s, "SET t:idx:fra1:flapping x");
	assert_int_equal(fleetview_counts(fv, locs_in, 2, counts), -EPROTO);
	assert_non_null(strstr(fleetview_error(fv), "WRONGTYPE"));
	cmd(s, "DEL t:idx:fra1:flapping");
	assert_int_equal(fleetview_counts(fv, locs_in, 2, counts), 0);

	/* the connection killed under it: one error, then it reconnects */
	cmd(s, "CLIENT KILL TYPE normal SKIPME yes");
	int r = fleetview_counts(fv, locs_in, 2, counts);
	assert_true(r == -ECONNRESET || r == 0);
	assert_int_equal(fleetview_counts(fv, locs_in, 2, counts), 0);
	fleetview_free(fv);

	/* a foreign schema, a bad prefix, nothing listening */
	cmd(s, "SET u:schema 2");
	assert_int_equal(fleetview_open(&fv, s->url, "u:", 2000, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "has schema 2, this program reads 1"));
	assert_int_equal(fleetview_open(&fv, s->url, "a b", 2000, err, sizeof(err)), -EINVAL);
	assert_int_equal(fleetview_open(&fv, "unix:///nonexistent/r.sock", "t:", 500, err, sizeof(err)) < 0, 1);
	assert_int_equal(fleetview_open(&fv, s->url, "none:", 2000, err, sizeof(err)), 0);
	assert_false(fleetview_has_schema(fv));
	/* a prober writes after the reader connected: checking again sees it */
	assert_int_equal(fleetview_check_schema(fv), 0);
	assert_false(fleetview_has_schema(fv));
	cmd(s, "SET none:schema 1");
	assert_false(fleetview_has_schema(fv));
	assert_int_equal(fleetview_check_schema(fv), 0);
	assert_true(fleetview_has_schema(fv));
	cmd(s, "SET none:schema 2");
	assert_int_equal(fleetview_check_schema(fv), -EPROTONOSUPPORT);
	assert_non_null(strstr(fleetview_error(fv), "has schema 2"));
	fleetview_free(fv);

	fv_arena_release(&a);
}

/* The check fields of state hashes, as the prober writes them (store/redis-fmt.c). */
static void test_check_fields(void **state)
{
	struct srv *s = *state;
	struct fv_arena a = { 0 };

	cmd(s, "SET t:schema 1");
	/* a redis at maxclients: failed, the server's words */
	cmd(s, "HSET t:state:lab:127.0.0.1:6392 state down since 1796677623919420414 reason check_failed "
	       "last_result open last_rtt_us 29.204 last_ts 1796677629912497280 name cache-full group cli labels {} "
	       "prober lab/vm check_ts 1796677629914105541 check redis check_ok 0 check_verdict check_failed "
	       "check_error %s check_us 355.583 banner %s tls_version %s tls_cipher %s cert_subject %s "
	       "cert_issuer %s cert_sans %s cert_not_after %s cert_days_left %s cert_verified %s",
	    "ERR max number of clients reached", "", "", "", "", "", "", "", "", "");
	/* a certificate four days from its end */
	cmd(s, "HSET t:state:lab:127.0.0.1:8443 state degraded reason cert_expiring check_ts 1796677630696115900 "
	       "check tls check_ok 1 check_verdict cert_expiring check_error %s check_us 1126.452 banner %s "
	       "tls_version TLSv1.3 tls_cipher TLS_AES_256_GCM_SHA384 cert_subject CN=localhost "
	       "cert_issuer CN=localhost cert_sans DNS:localhost,IP:127.0.0.1 cert_not_after 1797109597 "
	       "cert_days_left 4 cert_verified 0 cert_error self-signed",
	    "", "");
	/* expired */
	cmd(s, "HSET t:state:lab:127.0.0.1:8444 state down reason cert_expired check tls check_ok 1 "
	       "check_verdict cert_expired cert_not_after 1796418413 cert_days_left -4 cert_verified 1");
	/* a bare SYN check, and a hash whose check fields are not a result */
	cmd(s, "HSET t:state:lab:127.0.0.1:80 state up reason open last_rtt_us 12");
	cmd(s, "HSET t:state:lab:127.0.0.1:81 state up check redis check_ok maybe cert_days_left x");

	struct fleetview *fv = open_view(s, "t:", 2000);
	const char *names[] = { "127.0.0.1:6392", "127.0.0.1:8443", "127.0.0.1:8444", "127.0.0.1:80", "127.0.0.1:81" };
	struct fv_target t[5];
	assert_int_equal(fleetview_targets(fv, &a, "lab", names, 5, t), 5);

	const struct fv_check *c = &t[0].check;
	assert_int_equal(t[0].state, FV_DOWN);
	assert_string_equal(t[0].reason, "check_failed");
	assert_string_equal(c->kind, "redis");
	assert_int_equal(c->ok, 0);
	assert_string_equal(c->verdict, "check_failed");
	assert_string_equal(c->error, "ERR max number of clients reached");
	assert_true(c->us == 355.583);
	assert_int_equal(c->ts_ns, 1796677629914105541);
	assert_string_equal(c->banner, "");
	assert_string_equal(c->tls_version, "");
	assert_int_equal(c->cert_not_after_s, 0);
	assert_int_equal(c->cert_days_left, FV_NO_DAYS);
	assert_int_equal(c->cert_verified, -1);

	c = &t[1].check;
	assert_int_equal(c->ok, 1);
	assert_string_equal(c->verdict, "cert_expiring");
	assert_string_equal(c->tls_version, "TLSv1.3");
	assert_string_equal(c->tls_cipher, "TLS_AES_256_GCM_SHA384");
	assert_string_equal(c->cert_subject, "CN=localhost");
	assert_string_equal(c->cert_sans, "DNS:localhost,IP:127.0.0.1");
	assert_int_equal(c->cert_not_after_s, 1797109597);
	assert_int_equal(c->cert_days_left, 4);
	assert_int_equal(c->cert_verified, 0);
	assert_string_equal(c->cert_error, "self-signed");

	c = &t[2].check;
	assert_int_equal(c->cert_days_left, -4);
	assert_int_equal(c->cert_verified, 1);
	assert_string_equal(c->us >= 0 ? "us" : "none", "none");

	for (int i = 3; i < 5; i++) {
		c = &t[i].check;
		assert_int_equal(c->ok, -1);
		assert_string_equal(c->kind, "");
		assert_int_equal(c->cert_days_left, FV_NO_DAYS);
		assert_int_equal(c->cert_verified, -1);
	}
	assert_true(t[3].last_rtt_us == 12);
	assert_int_equal(t[3].state, FV_UP);
	fleetview_free(fv);
	fv_arena_release(&a);
}

/* A location larger than one slice, with members moving between slices. */
static void test_location_slices(void **state)
{
	struct srv *s = *state;
	struct fv_arena a = { 0 };
	struct fv_target *t;
	enum { N = 45000 };

	for (int i = 0; i < N; i++)
		redisAppendCommand(s->c, "ZADD t:idx:x:all %d 10.%d.%d.%d:80", i, i >> 16, (i >> 8) & 255, i & 255);
	for (int i = 0; i < N; i++) {
		redisReply *r;
		assert_int_equal(redisGetReply(s->c, (void **)&r), REDIS_OK);
		freeReplyObject(r);
	}
	cmd(s, "HSET t:state:x:10.0.0.7:80 state up last_rtt_us 9");
	struct fleetview *fv = open_view(s, "t:", 5000);
	assert_int_equal(fleetview_location_targets(fv, &a, "x", &t), N);
	for (int i = 1; i < N; i++)
		assert_true(strcmp(t[i - 1].target, t[i].target) < 0);
	int up = 0;
	for (int i = 0; i < N; i++)
		up += t[i].state == FV_UP && t[i].last_rtt_us == 9;
	assert_int_equal(up, 1);
	fleetview_free(fv);
	fv_arena_release(&a);
}

/* P histo:LOC of each location: groups by name, buckets by their bound,
 * fields it does not know (or that are no counts) skipped. */
static void test_histograms(void **state)
{
	struct srv *s = *state;
	struct fleetview *fv;
	struct fv_arena a = { 0 };
	struct fv_histo *h;
	char err[512];
	const char *locs[] = { "fra1", "ams1", "none" };
	const char *names[4];

	cmd(s, "HSET t:histo:fra1 800:web 7 1600:web 2 inf:web 1 count:web 10 sum_us:web 9000 50:db:x 3 count:db:x 3");
	cmd(s, "HSET t:histo:fra1 801:web 5 max:web 9 nocolon 1 count:bad x");
	cmd(s, "HSET t:histo:ams1 100:db:x 4 count:db:x 4 sum_us:db:x 300");
	assert_int_equal(fleetview_open(&fv, s->url, "t:", 2000, err, sizeof(err)), 0);
	assert_int_equal(fleetview_histograms(fv, &a, locs, 3, &h), 3);
	/* by location, then group */
	assert_string_equal(h[0].location, "ams1");
	assert_string_equal(h[0].group, "db:x");
	assert_int_equal(h[0].bucket[1], 4);
	assert_int_equal(h[0].sum_us, 300);
	assert_string_equal(h[1].location, "fra1");
	assert_string_equal(h[1].group, "db:x");
	assert_int_equal(h[1].bucket[0], 3);
	assert_int_equal(h[1].count, 3);
	assert_string_equal(h[2].group, "web");
	assert_int_equal(h[2].bucket[histo_bucket(800000)], 7);
	assert_int_equal(h[2].bucket[histo_bucket(1600000)], 2);
	assert_int_equal(h[2].bucket[HISTO_NBOUNDS], 1);
	assert_int_equal(h[2].count, 10);
	assert_int_equal(h[2].sum_us, 9000);
	uint64_t all = 0;
	for (unsigned b = 0; b < HISTO_NBUCKETS; b++)
		all += h[2].bucket[b];
	assert_int_equal(all, 10); /* 801 is no bound: skipped */
	fleetview_free(fv);

	/* a prober's metrics_per_target */
	assert_int_equal(fv_strings_parse("[]", &a, names, 4), 0);
	assert_int_equal(fv_strings_parse(" [\"db\", 7, \"we\\\"b\", null] ", &a, names, 4), 2);
	assert_string_equal(names[0], "db");
	assert_string_equal(names[1], "we\"b");
	assert_int_equal(fv_strings_parse("[\"a\",\"b\",\"c\"]", &a, names, 2), 2);
	assert_int_equal(fv_strings_parse("{}", &a, names, 4), -EINVAL);
	assert_int_equal(fv_strings_parse("[\"a\"", &a, names, 4), -EINVAL);
	assert_int_equal(fv_strings_parse("", &a, names, 4), -EINVAL);
	fv_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),          cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_target_split),    cmocka_unit_test(test_latency_series),
		cmocka_unit_test(test_small),           cmocka_unit_test(test_prober_health),
		cmocka_unit_test(test_check_text),
		cmocka_unit_test_setup_teardown(test_readers, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_check_fields, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_location_slices, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_histograms, srv_setup, srv_teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
