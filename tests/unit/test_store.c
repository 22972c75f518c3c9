/* store/: the NDJSON and text lines, byte for byte, and the store thread. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/ring.h"
#include "common/utf8.h"
#include "scheduler/table.h"
#include "store/format.h"
#include "store/minutes.h"
#include "store/store.h"

#define S(sec) ((int64_t)(sec) * NSEC_PER_SEC)
#define TS_EVENT S(1795568523)   /* 2026-11-25T01:02:03Z */
#define TS_SINCE S(1795568400)   /* 2026-11-25T01:00:00Z */
#define TS_YESTERDAY S(1795561200) /* 2026-11-24T23:00:00Z */
#define RUN_ID UINT64_C(0x3f2a9c0e11d4b7a5)

/* The target table, built by hand (scheduler/table.c is not under test):
 *   0  198.18.0.7:443    "web \"front\"\n"   no group
 *   1  198.18.0.9:22     no name             no group
 *   2  198.18.0.7:80     "db"                no group
 *   3  198.18.0.5:5432   "Production DB..."  databases
 *   4  [2001:db8::1]:443 no name             databases
 *   5  198.18.0.6:5432   "Production DB..."  databases (long label) */
enum { T_WEB, T_SSH, T_DB80, T_PG, T_V6, T_LONG, N_TARGETS };
static struct target targets[N_TARGETS];
static uint16_t group_of[N_TARGETS];
static uint8_t dead[N_TARGETS];
static char names[256];
static char key_crit[] = "criticality", val_high[] = "high";
static char key_team[] = "team", val_team[] = "dba \"core\"\t1";
static char key_note[] = "note", long_value[6000];
static struct label labels[] = { { key_crit, val_high }, { key_team, val_team } };
static struct label long_labels[] = { { key_note, long_value } };
static char group_name[] = "databases", long_group_name[] = "long";
static struct table_group groups[] = {
	{ .name = group_name, .labels = labels, .n_labels = 2 },
	{ .name = long_group_name, .labels = long_labels, .n_labels = 1 },
};
static struct table tab = {
	.gen = 1,
	.tl = { .v = targets, .names = names },
	.group_of = group_of,
	.dead = dead,
	.groups = groups,
	.n_groups = 2,
};

static void add_target(const char *ip, uint16_t port, const char *name, uint16_t group)
{
	struct target *t = &targets[tab.tl.n];

	*t = (struct target){ .port = port, .name = TARGET_NO_NAME };
	assert_int_equal(addr_parse(&t->addr, ip), 0);
	if (name) {
		t->name = (uint32_t)tab.tl.names_len;
		memcpy(names + tab.tl.names_len, name, strlen(name) + 1);
		tab.tl.names_len += strlen(name) + 1;
	}
	group_of[tab.tl.n] = group;
	tab.tl.n++;
	tab.n_live++;
}

static int setup_table(void **state)
{
	(void)state;
	add_target("198.18.0.7", 443, "web \"front\"\n", TABLE_NO_GROUP);
	add_target("198.18.0.9", 22, NULL, TABLE_NO_GROUP);
	add_target("198.18.0.7", 80, "db", TABLE_NO_GROUP);
	add_target("198.18.0.5", 5432, "Production DB - PostgreSQL 5432", 0);
	add_target("2001:db8::1", 443, NULL, 0);
	add_target("198.18.0.6", 5432, "Production DB - PostgreSQL 5432", 1);
	memset(long_value, 'x', sizeof(long_value) - 1);
	return 0;
}

static const struct store_format_ctx oneshot = { .table = &tab };
static const struct store_format_ctx monitor = {
	.table = &tab, .location = "fra1", .run_id = RUN_ID, .with_group = true
};

/* A formatter of one record into a buffer, for the checks every line gets. */
struct fmt {
	int (*result)(char *, size_t, const struct store_format_ctx *, const struct probe_result *);
	int (*event)(char *, size_t, const struct store_format_ctx *, const struct sw_event *);
};
static const struct fmt ndjson = { store_format_ndjson, store_format_event_ndjson };
static const struct fmt text = { store_format_text, store_format_event_text };

static int format(const struct fmt *f, char *buf, size_t len, const struct store_format_ctx *c,
		  const struct probe_result *r, const struct sw_event *e)
{
	return r ? f->result(buf, len, c, r) : f->event(buf, len, c, e);
}

/* Checks that r (or e) formats as exactly want, and that any shorter
 * buffer gets -ENOSPC rather than a truncated line. */
static void check(const struct fmt *f, const struct store_format_ctx *c, const struct probe_result *r,
		  const struct sw_event *e, const char *want)
{
	char buf[8192];
	size_t len = strlen(want);

	assert_int_equal(format(f, buf, sizeof(buf), c, r, e), (int)len);
	assert_string_equal(buf, want);
	for (size_t i = 0; i <= len; i += 1 + i / 8)
		assert_int_equal(format(f, buf, i, c, r, e), -ENOSPC);
	assert_int_equal(format(f, buf, len + 1, c, r, e), (int)len);
}

static void check_result(const struct fmt *f, const struct store_format_ctx *c, const struct probe_result *r,
			 const char *want)
{
	check(f, c, r, NULL, want);
}

static void check_event(const struct fmt *f, const struct store_format_ctx *c, const struct sw_event *e,
			const char *want)
{
	check(f, c, NULL, e, want);
}

static void test_ndjson_open(void **state)
{
	(void)state;
	struct probe_result r = {
		.ts_real_ns = 1700000000LL * NSEC_PER_SEC + 5, .rtt_ns = 1234567, .state = PROBE_OPEN,
		.ttl = 63,
		.target = T_WEB,
	};
	check_result(&ndjson, &oneshot, &r,
		     "{\"type\":\"result\",\"ts\":\"2023-11-14T22:13:20.000000005Z\",\"ip\":\"198.18.0.7\","
		     "\"port\":443,\"state\":\"open\",\"rtt_us\":1234.567,\"attempt\":0,\"ttl\":63,"
		     "\"name\":\"web \\\"front\\\"\\n\"}\n");
}

static void test_ndjson_others(void **state)
{
	(void)state;
	char buf[1024];
	struct probe_result r = { .rtt_ns = -1, .state = PROBE_FILTERED, .attempt = 1, .target = T_SSH };

	check_result(&ndjson, &oneshot, &r,
		     "{\"type\":\"result\",\"ts\":\"1970-01-01T00:00:00.000000000Z\",\"ip\":\"198.18.0.9\","
		     "\"port\":22,\"state\":\"filtered\",\"rtt_us\":null,\"attempt\":1,\"ttl\":null}\n");
	r = (struct probe_result){ .rtt_ns = 999, .state = PROBE_UNREACHABLE, .ttl = 64, .icmp_type = 3,
				   .icmp_code = 13, .rtt_approx = 1, .target = T_SSH };
	addr_parse(&r.from, "198.19.255.2");
	check_result(&ndjson, &oneshot, &r,
		     "{\"type\":\"result\",\"ts\":\"1970-01-01T00:00:00.000000000Z\",\"ip\":\"198.18.0.9\","
		     "\"port\":22,\"state\":\"unreachable\",\"rtt_us\":0.999,\"attempt\":0,\"ttl\":64,"
		     "\"icmp_type\":3,\"icmp_code\":13,\"icmp_from\":\"198.19.255.2\",\"rtt_approx\":true}\n");
	r = (struct probe_result){ .rtt_ns = -1, .state = PROBE_ERROR, .err = ENETUNREACH, .target = T_SSH };
	store_format_ndjson(buf, sizeof(buf), &oneshot, &r);
	assert_non_null(strstr(buf, "\"state\":\"error\""));
	assert_non_null(strstr(buf, "\"error\":\"Network is unreachable\""));
	/* too small a buffer is an error, never a truncated line */
	assert_int_equal(store_format_ndjson(buf, 40, &oneshot, &r), -ENOSPC);
}

static void test_text(void **state)
{
	(void)state;
	struct probe_result r = { .rtt_ns = 250000, .state = PROBE_CLOSED, .ttl = 64, .target = T_DB80 };

	check_result(&text, &oneshot, &r, "198.18.0.7:80    closed          0.250 ms  ttl 64  db\n");
	r = (struct probe_result){ .rtt_ns = 1500000, .state = PROBE_OPEN, .ttl = 57, .rtt_approx = 1,
				   .target = T_V6 };
	check_result(&text, &monitor, &r, "[2001:db8::1]:443   open           ~1.500 ms  ttl 57\n");
}

static void test_result_group_labels_location(void **state)
{
	(void)state;
	struct probe_result r = {
		.ts_real_ns = 1700000000LL * NSEC_PER_SEC + 5, .rtt_ns = 1234567, .state = PROBE_OPEN,
		.ttl = 63,
		.target = T_PG,
	};
	const char *head = "{\"type\":\"result\",\"ts\":\"2023-11-14T22:13:20.000000005Z\","
			   "\"ip\":\"198.18.0.5\",\"port\":5432,\"state\":\"open\",\"rtt_us\":1234.567,\"attempt\":0,\"ttl\":63,"
			   "\"name\":\"Production DB - PostgreSQL 5432\"";
	char want[1024];

	snprintf(want, sizeof(want), "%s,\"group\":\"databases\",\"labels\":{\"criticality\":\"high\","
				     "\"team\":\"dba \\\"core\\\"\\t1\"},\"location\":\"fra1\"}\n", head);
	check_result(&ndjson, &monitor, &r, want);
	/* one-shot: neither group nor labels, even if the target has them */
	snprintf(want, sizeof(want), "%s}\n", head);
	check_result(&ndjson, &oneshot, &r, want);
	/* a target without a group: no group, no labels */
	r.target = T_SSH;
	check_result(&ndjson, &monitor, &r,
		     "{\"type\":\"result\",\"ts\":\"2023-11-14T22:13:20.000000005Z\",\"ip\":\"198.18.0.9\","
		     "\"port\":22,\"state\":\"open\",\"rtt_us\":1234.567,\"attempt\":0,\"ttl\":63,"
		     "\"location\":\"fra1\"}\n");
	/* an id the table does not know still gives a line */
	r.target = 99;
	check_result(&ndjson, &monitor, &r,
		     "{\"type\":\"result\",\"ts\":\"2023-11-14T22:13:20.000000005Z\",\"target\":99,"
		     "\"state\":\"open\",\"rtt_us\":1234.567,\"attempt\":0,\"ttl\":63,\"location\":\"fra1\"}\n");
	check_result(&text, &monitor, &r, "#99    open            1.235 ms  ttl 63\n");
}

static void test_json_escaping(void **state)
{
	(void)state;
	char buf[256];
	char key[] = "k", value[] = "a\"b\\c\n\x01\x7f/\xc3\xa9";
	struct label l = { key, value };
	struct table_group g = { .name = key, .labels = &l, .n_labels = 1 };
	uint16_t go = 0;
	struct table t = { .tl = tab.tl, .group_of = &go, .groups = &g, .n_groups = 1 };
	struct store_format_ctx c = { .table = &t, .location = "x\"y", .with_group = true };
	struct probe_result r = { .rtt_ns = -1, .state = PROBE_FILTERED, .target = T_WEB };

	t.tl.n = 1;
	assert_true(store_format_ndjson(buf, sizeof(buf), &c, &r) > 0);
	assert_non_null(strstr(buf, ",\"name\":\"web \\\"front\\\"\\n\",\"group\":\"k\","
				    "\"labels\":{\"k\":\"a\\\"b\\\\c\\n\\u0001\\u007f/\xc3\xa9\"},"
				    "\"location\":\"x\\\"y\"}\n"));
}

#define EV_HEAD(kind) "{\"type\":\"event\",\"kind\":\"" kind "\",\"id\":\"3f2a9c0e11d4b7a5-42\"," \
		      "\"ts\":\"2026-11-25T01:02:03.000000005Z\""
#define PG_ID "\"ip\":\"198.18.0.5\",\"port\":5432,\"name\":\"Production DB - PostgreSQL 5432\"," \
	      "\"group\":\"databases\""
#define PG_LABELS "\"labels\":{\"criticality\":\"high\",\"team\":\"dba \\\"core\\\"\\t1\"}"
#define PG_TEXT "  Production DB - PostgreSQL 5432\n"
#define EV(...) { .ts_real_ns = TS_EVENT + 5, .id = 42, __VA_ARGS__ }
#define V4(o1, o2, o3, o4) { .family = AF_INET, .u.b = { o1, o2, o3, o4 } }

static const struct store_format_ctx no_location = { .table = &tab, .run_id = RUN_ID, .with_group = true };

/* Every kind of event, as NDJSON and as text. */
static const struct {
	struct sw_event e;
	const struct store_format_ctx *c;
	const char *ndjson, *text;
} events[] = {
	{
		EV(.since_ns = TS_SINCE, .rtt_ns = -1, .host_event = 7, .target = T_PG, .kind = EVENT_STATE,
		   .from = TARGET_UP, .to = TARGET_DOWN, .reason = REASON_TIMEOUT,
		   .probe_state = PROBE_FILTERED),
		&monitor,
		EV_HEAD("state") "," PG_ID ",\"from\":\"up\",\"to\":\"down\",\"reason\":\"timeout\","
		"\"since\":\"2026-11-25T01:00:00.000000000Z\",\"last_rtt_us\":null,"
		"\"host_event\":\"3f2a9c0e11d4b7a5-7\"," PG_LABELS ",\"location\":\"fra1\"}\n",
		"2026-11-25T01:02:03Z EVENT 198.18.0.5:5432 up -> down (timeout) since 01:00:00" PG_TEXT,
	},
	{
		/* unreachable: the code; no host event, unknown since, last RTT */
		EV(.rtt_ns = 1234567, .target = T_PG, .kind = EVENT_STATE, .from = TARGET_UP,
		   .to = TARGET_DOWN, .reason = REASON_UNREACHABLE, .probe_state = PROBE_UNREACHABLE,
		   .icmp_code = 13),
		&monitor,
		EV_HEAD("state") "," PG_ID ",\"from\":\"up\",\"to\":\"down\",\"reason\":\"unreachable\","
		"\"since\":null,\"last_rtt_us\":1234.567,\"icmp_code\":13," PG_LABELS
		",\"location\":\"fra1\"}\n",
		"2026-11-25T01:02:03Z EVENT 198.18.0.5:5432 up -> down (unreachable icmp 13)" PG_TEXT,
	},
	{
		/* slow: rtt_ns is the window's p95; since on another day */
		EV(.since_ns = TS_YESTERDAY, .rtt_ns = 250000000, .target = T_PG, .kind = EVENT_STATE,
		   .from = TARGET_UP, .to = TARGET_DEGRADED, .reason = REASON_SLOW_CRIT),
		&monitor,
		EV_HEAD("state") "," PG_ID ",\"from\":\"up\",\"to\":\"degraded\","
		"\"reason\":\"slow_critical\",\"since\":\"2026-11-24T23:00:00.000000000Z\",\"last_rtt_us\":null,"
		"\"p95_us\":250000.000," PG_LABELS ",\"location\":\"fra1\"}\n",
		"2026-11-25T01:02:03Z EVENT 198.18.0.5:5432 up -> degraded (slow_critical p95 250.000 ms)"
		" since 2026-11-24T23:00:00Z" PG_TEXT,
	},
	{
		/* no location, no name, no group: only what there is */
		EV(.since_ns = TS_SINCE, .rtt_ns = 800, .target = T_SSH, .kind = EVENT_STATE,
		   .from = TARGET_UNKNOWN, .to = TARGET_UP, .reason = REASON_OPEN),
		&no_location,
		EV_HEAD("state") ",\"ip\":\"198.18.0.9\",\"port\":22,\"from\":\"unknown\",\"to\":\"up\","
		"\"reason\":\"open\",\"since\":\"2026-11-25T01:00:00.000000000Z\",\"last_rtt_us\":0.800}\n",
		"2026-11-25T01:02:03Z EVENT 198.18.0.9:22 unknown -> up (open) since 01:00:00\n",
	},
	{
		EV(.addr = V4(198, 18, 0, 5), .target = T_PG, .count = 3, .kind = EVENT_HOST_DOWN),
		&monitor,
		EV_HEAD("host_down") ",\"ip\":\"198.18.0.5\",\"ports\":3,\"ping\":\"none\",\"location\":\"fra1\"}\n",
		"2026-11-25T01:02:03Z EVENT host_down 198.18.0.5 (3 ports)\n",
	},
	{
		EV(.since_ns = TS_SINCE, .addr = V4(198, 18, 0, 5), .target = T_PG, .count = 3,
		   .kind = EVENT_HOST_UP),
		&monitor,
		EV_HEAD("host_up") ",\"ip\":\"198.18.0.5\",\"ports\":3,\"ping\":\"none\","
		"\"since\":\"2026-11-25T01:00:00.000000000Z\",\"location\":\"fra1\"}\n",
		"2026-11-25T01:02:03Z EVENT host_up 198.18.0.5 (3 ports) since 01:00:00\n",
	},
	{
		EV(.count = 734, .kind = EVENT_PROBER_ISOLATED),
		&monitor,
		EV_HEAD("prober_isolated") ",\"failing_share\":0.734,\"location\":\"fra1\"}\n",
		"2026-11-25T01:02:03Z EVENT prober_isolated (73.4% of targets failing)\n",
	},
	{
		EV(.since_ns = TS_SINCE, .count = 5, .kind = EVENT_PROBER_OK),
		&monitor,
		EV_HEAD("prober_ok") ",\"failing_share\":0.005,\"since\":\"2026-11-25T01:00:00.000000000Z\","
		"\"location\":\"fra1\"}\n",
		"2026-11-25T01:02:03Z EVENT prober_ok (0.5% of targets failing) since 01:00:00\n",
	},
	{
		/* run id 0, no location */
		EV(.since_ns = TS_SINCE, .count = 1000, .kind = EVENT_PROBER_OK),
		&oneshot,
		"{\"type\":\"event\",\"kind\":\"prober_ok\",\"id\":\"0000000000000000-42\","
		"\"ts\":\"2026-11-25T01:02:03.000000005Z\",\"failing_share\":1.000,"
		"\"since\":\"2026-11-25T01:00:00.000000000Z\"}\n",
		"2026-11-25T01:02:03Z EVENT prober_ok (100.0% of targets failing) since 01:00:00\n",
	},
	{
		EV(.addr = V4(198, 18, 0, 4), .target = T_PG, .kind = EVENT_ADDRESS_CHANGED),
		&monitor,
		EV_HEAD("address_changed") ",\"name\":\"Production DB - PostgreSQL 5432\","
		"\"group\":\"databases\",\"ip\":\"198.18.0.5\",\"port\":5432,\"old_ip\":\"198.18.0.4\","
		"\"location\":\"fra1\"}\n",
		"2026-11-25T01:02:03Z EVENT address_changed 198.18.0.5:5432 was 198.18.0.4" PG_TEXT,
	},
};

static void test_events(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		check_event(&ndjson, events[i].c, &events[i].e, events[i].ndjson);
		check_event(&text, events[i].c, &events[i].e, events[i].text);
	}
}

static void test_event_id(void **state)
{
	(void)state;
	char buf[64];

	assert_int_equal(store_event_id(buf, sizeof(buf), RUN_ID, 42), 19);
	assert_string_equal(buf, "3f2a9c0e11d4b7a5-42");
	assert_int_equal(store_event_id(buf, sizeof(buf), 1, UINT64_MAX), 37);
	assert_string_equal(buf, "0000000000000001-18446744073709551615");
	assert_int_equal(store_event_id(buf, 19, RUN_ID, 42), -ENOSPC);
}

static void test_latency_lines(void **state)
{
	(void)state;
	struct lat_minute lm;
	char buf[1024];

	/* quantiles are bucket midpoints clamped into [min, max] (latency.h):
	 * the median, 200 us, is in [200, 208) us; p95 and p99 are clamped to max */
	lat_minute_init(&lm, 1795568460);
	lat_minute_add(&lm, 100000);
	lat_minute_add(&lm, 200000);
	lat_minute_add(&lm, 300000);
	lat_minute_add(&lm, 400600);
	lat_minute_loss(&lm);
	assert_true(store_format_latency_ndjson(buf, sizeof(buf), &monitor, T_PG, &lm) > 0);
	assert_string_equal(buf, "{\"type\":\"latency\"," PG_ID ",\"minute\":\"2026-11-25T01:01:00Z\","
				 "\"count\":4,\"lost\":1,\"loss\":0.2,\"min_us\":100.000,\"mean_us\":250.150,"
				 "\"p50_us\":204.000,\"p95_us\":400.600,\"p99_us\":400.600,"
				 "\"max_us\":400.600,\"location\":\"fra1\"}\n");
	assert_true(store_format_latency_text(buf, sizeof(buf), &monitor, T_PG, &lm) > 0);
	assert_string_equal(buf,
			    "2026-11-25T01:01:00Z LATENCY 198.18.0.5:5432 n 4 lost 1 (20.0%) min 0.100 ms"
			    " p50 0.204 ms p95 0.401 ms max 0.401 ms  Production DB - PostgreSQL 5432\n");

	/* nothing answered */
	lat_minute_init(&lm, 1795568460);
	lat_minute_loss(&lm);
	lat_minute_loss(&lm);
	assert_true(store_format_latency_ndjson(buf, sizeof(buf), &oneshot, T_SSH, &lm) > 0);
	assert_string_equal(buf, "{\"type\":\"latency\",\"ip\":\"198.18.0.9\",\"port\":22,"
				 "\"minute\":\"2026-11-25T01:01:00Z\",\"count\":0,\"lost\":2,\"loss\":1,"
				 "\"min_us\":null,\"mean_us\":null,\"p50_us\":null,\"p95_us\":null,"
				 "\"p99_us\":null,\"max_us\":null}\n");
	assert_true(store_format_latency_text(buf, sizeof(buf), &oneshot, T_SSH, &lm) > 0);
	assert_string_equal(buf, "2026-11-25T01:01:00Z LATENCY 198.18.0.9:22 n 0 lost 2 (100.0%)\n");
	assert_int_equal(store_format_latency_ndjson(buf, 100, &oneshot, T_SSH, &lm), -ENOSPC);
}

static void test_format_parse(void **state)
{
	(void)state;
	enum store_format f;
	assert_int_equal(store_format_parse("ndjson", &f), 0);
	assert_int_equal(f, STORE_NDJSON);
	assert_int_equal(store_format_parse("text", &f), 0);
	assert_int_equal(f, STORE_TEXT);
	assert_int_equal(store_format_parse("none", &f), 0);
	assert_int_equal(f, STORE_NONE);
	assert_int_equal(store_format_parse("json", &f), -EINVAL);
}

/* The store thread over a ring, writing into memory. */
struct run {
	struct ring *ring;
	struct table_pub pub;
	struct store *st;
	FILE *out;
	char *buf;
	size_t len;
};

static void run_start(struct run *x, enum store_format format, bool latency, FILE *out)
{
	struct store_config cfg = {
		.format = format, .tables = &x->pub, .location = "fra1", .run_id = RUN_ID,
		.with_group = true, .latency_records = latency,
	};

	memset(x, 0, sizeof(*x));
	x->out = out ? out : open_memstream(&x->buf, &x->len);
	assert_non_null(x->out);
	cfg.out = x->out;
	assert_int_equal(ring_new(&x->ring, sizeof(struct store_rec), 64), 0);
	table_pub_publish(&x->pub, &tab);
	assert_int_equal(store_new(&x->st, &cfg, x->ring, NULL), 0);
	assert_int_equal(store_start(x->st), 0);
}

static void run_push(struct run *x, const struct store_rec *rec)
{
	while (ring_push(x->ring, rec, 1) == 0) {
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
}

static void run_result(struct run *x, uint32_t target, int64_t ts, uint8_t state, int64_t rtt)
{
	struct store_rec rec = { .kind = STORE_REC_RESULT };
	rec.u.result = (struct probe_result){ .ts_real_ns = ts, .rtt_ns = rtt, .state = state,
					      .target = target, .ttl = rtt >= 0 ? 64 : 0 };
	run_push(x, &rec);
}

/* Stops the store; returns what it wrote (NUL-terminated, freed by run_end). */
static const char *run_stop(struct run *x, uint64_t written)
{
	store_stop(x->st);
	assert_int_equal(store_written(x->st), written);
	fflush(x->out);
	return x->buf;
}

static void run_end(struct run *x)
{
	store_free(x->st);
	ring_free(x->ring);
	fclose(x->out);
	free(x->buf);
	/* the table is static: nothing of the publisher to release */
}

/* The lines of type (a "\"type\":\"...\"" prefix), in order, joined. */
static char *lines_of(const char *all, const char *prefix)
{
	char *v = calloc(1, strlen(all) + 1);
	size_t n = 0;

	assert_non_null(v);
	for (const char *p = all; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			memcpy(v + n, p, len);
			n += len;
		}
		p += len;
	}
	return v;
}

/* A result of T_PG at ts (to the second) in the monitor's NDJSON */
#define RESULT_PG(ts, state, rtt)                                                                   \
	"{\"type\":\"result\",\"ts\":\"" ts ".000000000Z\",\"ip\":\"198.18.0.5\",\"port\":5432,"        \
	"\"state\":\"" state "\",\"rtt_us\":" rtt ",\"attempt\":0,\"ttl\":64,"                           \
	"\"name\":\"Production DB - PostgreSQL 5432\",\"group\":\"databases\"," PG_LABELS ","           \
	"\"location\":\"fra1\"}\n"
/* A closed result of T_DB80 in 0.25 ms as text, and the rest of its latency line */
#define DB80_TEXT "198.18.0.7:80    closed          0.250 ms  ttl 64  db\n"
#define DB80_LATENCY \
	" 198.18.0.7:80 n 1 lost 0 (0.0%) min 0.250 ms p50 0.250 ms p95 0.250 ms max 0.250 ms  db\n"

static void test_thread_ndjson(void **state)
{
	(void)state;
	struct run x;
	const int64_t m0 = S(1795568460); /* 01:01:00 */
	struct store_rec ev = { .kind = STORE_REC_EVENT };

	run_start(&x, STORE_NDJSON, true, NULL);
	run_result(&x, T_PG, m0 + S(10), PROBE_OPEN, 1000000);
	run_result(&x, T_SSH, m0 + S(11), PROBE_FILTERED, -1);
	run_result(&x, T_PG, m0 + S(20), PROBE_OPEN, 3000000);
	ev.u.event = events[0].e;
	run_push(&x, &ev);
	run_result(&x, T_PG, m0 + S(61), PROBE_CLOSED, 500000);
	/* one long label: longer than the first line buffer */
	run_result(&x, T_LONG, m0 + S(62), PROBE_OPEN, 2000);

	const char *out = run_stop(&x, 6);
	char *recs = lines_of(out, "{\"type\":\"result\"");
	char *evs = lines_of(out, "{\"type\":\"event\"");
	char *lat = lines_of(out, "{\"type\":\"latency\"");
	size_t wlen = strlen(long_value) + 4096;
	char *want = malloc(wlen);

	assert_non_null(want);
	snprintf(want, wlen,
		 RESULT_PG("2026-11-25T01:01:10", "open", "1000.000")
		 "{\"type\":\"result\",\"ts\":\"2026-11-25T01:01:11.000000000Z\",\"ip\":\"198.18.0.9\","
		 "\"port\":22,\"state\":\"filtered\",\"rtt_us\":null,\"attempt\":0,\"ttl\":null,"
		 "\"location\":\"fra1\"}\n"
		 RESULT_PG("2026-11-25T01:01:20", "open", "3000.000")
		 RESULT_PG("2026-11-25T01:02:01", "closed", "500.000")
		 "{\"type\":\"result\",\"ts\":\"2026-11-25T01:02:02.000000000Z\",\"ip\":\"198.18.0.6\","
		 "\"port\":5432,\"state\":\"open\",\"rtt_us\":2.000,\"attempt\":0,\"ttl\":64,"
		 "\"name\":\"Production DB - PostgreSQL 5432\",\"group\":\"long\",\"labels\":{\"note\":\"%s\"},"
		 "\"location\":\"fra1\"}\n",
		 long_value);
	assert_int_equal(strlen(out), strlen(recs) + strlen(evs) + strlen(lat));
	assert_string_equal(recs, want);
	assert_string_equal(evs, events[0].ndjson);
	/* one line per target and minute, by minute then target id; the long
	 * target's line has no labels, so it fits without growing */
	assert_string_equal(lat,
			    "{\"type\":\"latency\",\"ip\":\"198.18.0.9\",\"port\":22,"
			    "\"minute\":\"2026-11-25T01:01:00Z\",\"count\":0,\"lost\":1,\"loss\":1,\"min_us\":null,"
			    "\"mean_us\":null,\"p50_us\":null,\"p95_us\":null,\"p99_us\":null,\"max_us\":null,"
			    "\"location\":\"fra1\"}\n"
			    "{\"type\":\"latency\"," PG_ID ",\"minute\":\"2026-11-25T01:01:00Z\",\"count\":2,"
			    "\"lost\":0,\"loss\":0,\"min_us\":1000.000,\"mean_us\":2000.000,\"p50_us\":1008.000,"
			    "\"p95_us\":3000.000,\"p99_us\":3000.000,\"max_us\":3000.000,\"location\":\"fra1\"}\n"
			    "{\"type\":\"latency\"," PG_ID ",\"minute\":\"2026-11-25T01:02:00Z\",\"count\":1,"
			    "\"lost\":0,\"loss\":0,\"min_us\":500.000,\"mean_us\":500.000,\"p50_us\":500.000,"
			    "\"p95_us\":500.000,\"p99_us\":500.000,\"max_us\":500.000,\"location\":\"fra1\"}\n"
			    "{\"type\":\"latency\",\"ip\":\"198.18.0.6\",\"port\":5432,"
			    "\"name\":\"Production DB - PostgreSQL 5432\",\"group\":\"long\","
			    "\"minute\":\"2026-11-25T01:02:00Z\",\"count\":1,\"lost\":0,\"loss\":0,"
			    "\"min_us\":2.000,\"mean_us\":2.000,\"p50_us\":2.000,\"p95_us\":2.000,"
			    "\"p99_us\":2.000,\"max_us\":2.000,\"location\":\"fra1\"}\n");
	assert_int_equal(store_error(x.st), 0);
	free(want);
	free(recs);
	free(evs);
	free(lat);
	run_end(&x);
}

static void test_thread_text_and_none(void **state)
{
	(void)state;
	struct run x;
	struct store_rec ev = { .kind = STORE_REC_EVENT };

	run_start(&x, STORE_TEXT, true, NULL);
	run_result(&x, T_DB80, S(1795568460), PROBE_CLOSED, 250000);
	ev.u.event = events[0].e;
	run_push(&x, &ev);
	assert_string_equal(run_stop(&x, 2),
			    DB80_TEXT
			    "2026-11-25T01:02:03Z EVENT 198.18.0.5:5432 up -> down (timeout) since 01:00:00" PG_TEXT
			    "2026-11-25T01:01:00Z LATENCY" DB80_LATENCY);
	run_end(&x);

	/* none: counted, nothing written, no latency lines */
	run_start(&x, STORE_NONE, true, NULL);
	for (int i = 0; i < 500; i++)
		run_result(&x, T_DB80, S(1795568460) + i, PROBE_CLOSED, 250000);
	assert_string_equal(run_stop(&x, 500), "");
	run_end(&x);
}

static void test_thread_minute_flush(void **state)
{
	(void)state;
	struct run x;
	struct timespec two_s = { 2, 0 };

	/* a finished minute (long ago: the clock is later) goes out about once
	 * a second, not only at stop */
	run_start(&x, STORE_TEXT, true, NULL);
	run_result(&x, T_DB80, S(1699999980), PROBE_CLOSED, 250000);
	nanosleep(&two_s, NULL);
	run_result(&x, T_DB80, S(1700000040), PROBE_CLOSED, 250000);
	assert_string_equal(run_stop(&x, 2), DB80_TEXT "2023-11-14T22:13:00Z LATENCY" DB80_LATENCY
					     DB80_TEXT "2023-11-14T22:14:00Z LATENCY" DB80_LATENCY);
	run_end(&x);
}

static void test_thread_many(void **state)
{
	(void)state;
	struct run x;
	enum { N = 5000 };

	/* far more records than the ring holds: none lost, in order */
	run_start(&x, STORE_NDJSON, false, NULL);
	for (int i = 0; i < N; i++)
		run_result(&x, (uint32_t)(i % N_TARGETS), S(1795568460) + i, PROBE_OPEN, i);
	const char *p = run_stop(&x, N);
	for (int i = 0; i < N; i++) {
		const char *nl = strchr(p, '\n');
		char want[64];
		int n = snprintf(want, sizeof(want), "\"rtt_us\":%d.%03d,", i / 1000, i % 1000);

		/* memmem within the line: strstr under ASan measures the whole rest */
		assert_non_null(nl);
		assert_non_null(memmem(p, (size_t)(nl - p), want, (size_t)n));
		p = nl + 1;
	}
	assert_string_equal(p, "");
	run_end(&x);
}

static void test_thread_write_error(void **state)
{
	(void)state;
	struct run x;
	FILE *ro = fopen("/dev/null", "r");

	/* a stream that cannot be written: every record still counted, the
	 * first error kept */
	assert_non_null(ro);
	setvbuf(ro, NULL, _IONBF, 0);
	run_start(&x, STORE_NDJSON, false, ro);
	for (int i = 0; i < 10; i++)
		run_result(&x, T_SSH, 0, PROBE_FILTERED, -1);
	run_stop(&x, 10);
	assert_int_equal(store_error(x.st), EBADF);
	run_end(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ndjson_open),
		cmocka_unit_test(test_ndjson_others),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_result_group_labels_location),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_event_id),
		cmocka_unit_test(test_latency_lines),
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_thread_ndjson),
		cmocka_unit_test(test_thread_text_and_none),
		cmocka_unit_test(test_thread_minute_flush),
		cmocka_unit_test(test_thread_many),
		cmocka_unit_test(test_thread_write_error),
	};
	return cmocka_run_group_tests_name("store", tests, setup_table, NULL);
}
