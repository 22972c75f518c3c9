/* store/redis-fmt.c: each record as the exact Redis commands of
 * docs/redis.md (a public interface), parsed back with hiredis's reader:
 * results, the first sight of a target, the short state-hash update, state
 * events and the idx sets, host and prober events, latency minutes,
 * removals and the heartbeat. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis.h>

#include "common/check.h"
#include "common/clock.h"
#include "common/latency.h"
#include "scheduler/table.h"
#include "store/backlog.h"
#include "store/histo.h"
#include "store/redis-fmt.h"
#include "store/store.h"

#define TS 1795568523000000005LL /* 2026-11-25T01:02:03Z + 5 ns */

/*   0  198.18.0.7:443    "web"   group web {team: net, note: "a \"b\""}
 *   1  [2001:db8::1]:22  none    no group */
static struct target targets[2];
static uint16_t group_of[2] = { 0, TABLE_NO_GROUP };
static uint8_t dead[2];
static char names[] = "web";
static char k_team[] = "team", v_team[] = "net", k_note[] = "note", v_note[] = "a \"b\"";
static struct label labels[] = { { k_note, v_note }, { k_team, v_team } };
static char g_name[] = "web";
static struct table_group groups[] = { { .name = g_name, .labels = labels, .n_labels = 2 } };
static struct table tab = {
	.gen = 1, .tl = { .v = targets, .n = 2, .names = names }, .group_of = group_of, .dead = dead,
	.groups = groups, .n_groups = 1, .n_live = 2,
};

static const struct rfmt_config cfg = {
	.prefix = "sw:", .location = "fra1", .prober = "fra1/p1", .run_id = 0x3f2a9c0e11d4b7a5ULL,
	.results_maxlen = 1000, .events_maxlen = 100, .latency_retention_s = 3600, .monitoring = true,
};

static int setup(void **state)
{
	(void)state;
	addr_parse(&targets[0].addr, "198.18.0.7");
	targets[0].port = 443;
	targets[0].name = 0;
	addr_parse(&targets[1].addr, "2001:db8::1");
	targets[1].port = 22;
	targets[1].name = TARGET_NO_NAME;
	return 0;
}

/* The commands of the frames in s, one string each ("ARG ARG ..."), into
 * out (at most max); returns how many. Frees nothing of s. */
static size_t commands(const struct bl_stage *s, char out[][1024], size_t max)
{
	size_t n = 0;

	for (size_t off = 0; off < s->len;) {
		struct bl_frame h;
		redisReader *rd = redisReaderCreate();
		void *reply;
		unsigned got = 0;

		memcpy(&h, s->buf + off, sizeof(h));
		assert_int_equal(h.magic, BL_MAGIC);
		assert_int_equal(redisReaderFeed(rd, s->buf + off + sizeof(h), h.len), REDIS_OK);
		while (redisReaderGetReply(rd, &reply) == REDIS_OK && reply) {
			redisReply *r = reply;
			assert_int_equal(r->type, REDIS_REPLY_ARRAY);
			assert_true(n < max);
			out[n][0] = '\0';
			for (size_t i = 0; i < r->elements; i++) {
				assert_int_equal(r->element[i]->type, REDIS_REPLY_STRING);
				snprintf(out[n] + strlen(out[n]), 1024 - strlen(out[n]), "%s%s", i ? " " : "",
					 r->element[i]->str);
			}
			freeReplyObject(r);
			n++;
			got++;
		}
		/* the whole payload, nothing more, and the count in the header */
		assert_int_equal(rd->pos, rd->len);
		assert_int_equal(got, h.ncmds);
		redisReaderFree(rd);
		off += sizeof(h) + h.len;
	}
	return n;
}

/* The kind of s's first frame. */
static enum bl_kind kind_of(const struct bl_stage *s)
{
	struct bl_frame h;

	assert_true(s->len >= sizeof(h));
	memcpy(&h, s->buf, sizeof(h));
	return (enum bl_kind)h.kind;
}

static void expect(struct bl_stage *s, const char *const *want, size_t n_want)
{
	char got[32][1024];
	size_t n = commands(s, got, 32);

	for (size_t i = 0; i < n && i < n_want; i++)
		if (strcmp(got[i], want[i]) != 0)
			fail_msg("command %zu:\n got  '%s'\n want '%s'", i, got[i], want[i]);
	assert_int_equal(n, n_want);
	bl_stage_clear(s);
}

static struct rfmt *new_fmt(const struct rfmt_config *c)
{
	struct rfmt *f;

	assert_int_equal(rfmt_new(&f, c), 0);
	assert_int_equal(rfmt_set_table(f, &tab), 0);
	return f;
}

static void test_results_and_state(void **state)
{
	struct rfmt *f = new_fmt(&cfg);
	struct bl_stage s = { 0 };
	struct probe_result r = { .ts_real_ns = TS, .rtt_ns = 412337, .target = 0, .state = PROBE_OPEN, .ttl = 63 };

	(void)state;
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	static const char *const first[] = {
		"XADD sw:results MAXLEN ~ 1000 * target 198.18.0.7:443 ip 198.18.0.7 port 443 state open "
		"rtt_us 412.337 ts 1795568523000000005 attempt 0 ttl 63 name web group web "
		"labels {\"note\":\"a \\\"b\\\"\",\"team\":\"net\"} location fra1 prober fra1/p1",
		"ZADD sw:idx:fra1:all NX 1795568523 198.18.0.7:443",
		"ZREM sw:idx:fra1:up 198.18.0.7:443",
		"ZREM sw:idx:fra1:degraded 198.18.0.7:443",
		"ZREM sw:idx:fra1:down 198.18.0.7:443",
		"ZREM sw:idx:fra1:flapping 198.18.0.7:443",
		"ZADD sw:idx:fra1:unknown 1795568523 198.18.0.7:443",
		"HSET sw:state:fra1:198.18.0.7:443 state unknown since 1795568523000000005 reason  last_result open "
		"last_rtt_us 412.337 last_ts 1795568523000000005 streak 0 name web group web "
		"labels {\"note\":\"a \\\"b\\\"\",\"team\":\"net\"} prober fra1/p1",
		/* an earlier run may have left a check's fields: the port has no check now */
		"HDEL sw:state:fra1:198.18.0.7:443 check_ts check check_ok check_verdict check_error check_us banner "
		"tls_version tls_cipher cert_subject cert_issuer cert_sans cert_not_after cert_days_left cert_verified cert_error",
	};
	/* it registers the target: never dropped at the spill limit */
	assert_int_equal(kind_of(&s), BL_RESULT);
	expect(&s, first, 9);

	/* the state change it causes */
	struct sw_event e = {
		.ts_real_ns = TS, .rtt_ns = 412337, .id = 7, .target = 0, .kind = EVENT_STATE, .from = TARGET_UNKNOWN,
		.to = TARGET_UP, .reason = REASON_OPEN, .probe_state = PROBE_OPEN,
	};
	assert_int_equal(rfmt_event(f, &s, &e), 0);
	static const char *const up[] = {
		"XADD sw:events MAXLEN ~ 100 * id 3f2a9c0e11d4b7a5-7 kind state ts 1795568523000000005 "
		"target 198.18.0.7:443 ip 198.18.0.7 port 443 name web group web "
		"labels {\"note\":\"a \\\"b\\\"\",\"team\":\"net\"} from unknown to up reason open since  "
		"rtt_us 412.337 location fra1 prober fra1/p1",
		"HSET sw:state:fra1:198.18.0.7:443 state up since 1795568523000000005 reason open",
		"ZREM sw:idx:fra1:unknown 198.18.0.7:443",
		"ZADD sw:idx:fra1:up 1795568523 198.18.0.7:443",
	};
	expect(&s, up, 4);

	/* later results: the short form */
	r.ts_real_ns += NSEC_PER_SEC;
	r.state = PROBE_FILTERED;
	r.rtt_ns = -1;
	r.ttl = 0;
	r.attempt = 1;
	r.fail_streak = 1;
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	static const char *const later[] = {
		"XADD sw:results MAXLEN ~ 1000 * target 198.18.0.7:443 ip 198.18.0.7 port 443 state filtered "
		"rtt_us  ts 1795568524000000005 attempt 1 ttl  name web group web "
		"labels {\"note\":\"a \\\"b\\\"\",\"team\":\"net\"} location fra1 prober fra1/p1",
		"HSET sw:state:fra1:198.18.0.7:443 last_result filtered last_rtt_us  last_ts 1795568524000000005 "
		"streak -1",
	};
	/* history only: the spill limit may drop it */
	assert_int_equal(kind_of(&s), BL_SAMPLE);
	expect(&s, later, 2);

	/* a new table generation (a reload): the hash is written whole again, with the state known */
	struct table next = tab;
	next.gen = 2;
	assert_int_equal(rfmt_set_table(f, &next), 0);
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	char got[32][1024];
	assert_int_equal(kind_of(&s), BL_RESULT);
	assert_int_equal(commands(&s, got, 32), 2);
	assert_non_null(strstr(got[1], "HSET sw:state:fra1:198.18.0.7:443 state up since 1795568523000000005 "
					"reason open last_result filtered"));
	bl_stage_clear(&s);

	/* a service check's result: the hash gets its fields */
	targets[0].check = CHECK_TLS;
	struct check_result cr = { .ts_real_ns = TS, .target = 0, .kind = CHECK_TLS, .check_ns = 1500000 };
	cr.v.ok = true;
	assert_int_equal(rfmt_check(f, &s, &cr, VERDICT_NONE, INT32_MIN), 0);
	assert_int_equal(commands(&s, got, 32), 2);
	assert_non_null(strstr(got[1], "HSET sw:state:fra1:198.18.0.7:443 check_ts 1795568523000000005 check tls "));
	bl_stage_clear(&s);
	/* still checked after a reload: no HDEL */
	struct table gen3 = tab, gen4 = tab, gen5 = tab;
	gen3.gen = 3;
	gen4.gen = 4;
	gen5.gen = 5;
	assert_int_equal(rfmt_set_table(f, &gen3), 0);
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	assert_int_equal(commands(&s, got, 32), 2);
	bl_stage_clear(&s);
	/* a reload takes the check away: the next result takes its fields away, once */
	targets[0].check = 0;
	assert_int_equal(rfmt_set_table(f, &gen4), 0);
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	assert_int_equal(commands(&s, got, 32), 3);
	assert_string_equal(got[2], "HDEL sw:state:fra1:198.18.0.7:443 check_ts check check_ok check_verdict check_error check_us banner "
		"tls_version tls_cipher cert_subject cert_issuer cert_sans cert_not_after cert_days_left cert_verified cert_error");
	bl_stage_clear(&s);
	assert_int_equal(rfmt_set_table(f, &gen5), 0);
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	assert_int_equal(commands(&s, got, 32), 2);
	bl_stage_clear(&s);

	/* removed by a reload: the state hash and every idx membership go */
	assert_int_equal(rfmt_removed(f, &s, 0), 0);
	static const char *const removed[] = {
		"DEL sw:state:fra1:198.18.0.7:443",        "ZREM sw:idx:fra1:all 198.18.0.7:443",
		"ZREM sw:idx:fra1:unknown 198.18.0.7:443", "ZREM sw:idx:fra1:up 198.18.0.7:443",
		"ZREM sw:idx:fra1:degraded 198.18.0.7:443", "ZREM sw:idx:fra1:down 198.18.0.7:443",
		"ZREM sw:idx:fra1:flapping 198.18.0.7:443",
	};
	expect(&s, removed, 7);
	bl_stage_release(&s);
	rfmt_free(f);
}

/* A target resumed from the previous run: its first result keeps its
 * state, since and reason in the hash and puts it back in its own idx set,
 * not in unknown; a target with nothing to resume starts unknown. */
static void test_resumed(void **state)
{
	struct rfmt *f;
	struct bl_stage s = { 0 };
	struct state_saved saved[2] = {
		{ .since_ns = TS - 3600 * NSEC_PER_SEC, .state = TARGET_DOWN, .reason = REASON_REFUSED, .fail_streak = 9 },
	};
	struct probe_result r = { .ts_real_ns = TS, .rtt_ns = -1, .target = 0, .state = PROBE_CLOSED, .fail_streak = 10 };

	(void)state;
	assert_int_equal(rfmt_new(&f, &cfg), 0);
	assert_int_equal(rfmt_resume(f, &tab, saved), 0);
	assert_int_equal(rfmt_set_table(f, &tab), 0); /* the store thread adopts the same table */
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	static const char *const first[] = {
		"XADD sw:results MAXLEN ~ 1000 * target 198.18.0.7:443 ip 198.18.0.7 port 443 state closed "
		"rtt_us  ts 1795568523000000005 attempt 0 ttl  name web group web "
		"labels {\"note\":\"a \\\"b\\\"\",\"team\":\"net\"} location fra1 prober fra1/p1",
		"ZADD sw:idx:fra1:all NX 1795568523 198.18.0.7:443",
		"ZREM sw:idx:fra1:unknown 198.18.0.7:443",
		"ZREM sw:idx:fra1:up 198.18.0.7:443",
		"ZREM sw:idx:fra1:degraded 198.18.0.7:443",
		"ZREM sw:idx:fra1:flapping 198.18.0.7:443",
		"ZADD sw:idx:fra1:down 1795564923 198.18.0.7:443",
		"HSET sw:state:fra1:198.18.0.7:443 state down since 1795564923000000005 reason refused "
		"last_result closed last_rtt_us  last_ts 1795568523000000005 streak -10 name web group web "
		"labels {\"note\":\"a \\\"b\\\"\",\"team\":\"net\"} prober fra1/p1",
		"HDEL sw:state:fra1:198.18.0.7:443 check_ts check check_ok check_verdict check_error check_us banner "
		"tls_version tls_cipher cert_subject cert_issuer cert_sans cert_not_after cert_days_left cert_verified cert_error",
	};
	expect(&s, first, 9);

	/* its recovery moves it out of down */
	struct sw_event e = {
		.ts_real_ns = TS + NSEC_PER_SEC, .since_ns = saved[0].since_ns, .rtt_ns = -1, .id = 1, .target = 0,
		.kind = EVENT_STATE, .from = TARGET_DOWN, .to = TARGET_UP, .reason = REASON_OPEN,
	};
	assert_int_equal(rfmt_event(f, &s, &e), 0);
	char got[32][1024];
	assert_int_equal(commands(&s, got, 32), 4);
	assert_string_equal(got[2], "ZREM sw:idx:fra1:down 198.18.0.7:443");
	assert_string_equal(got[3], "ZADD sw:idx:fra1:up 1795568524 198.18.0.7:443");
	bl_stage_clear(&s);

	/* nothing saved: unknown, as without */
	r.target = 1;
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	assert_int_equal(commands(&s, got, 32), 9);
	assert_string_equal(got[6], "ZADD sw:idx:fra1:unknown 1795568523 [2001:db8::1]:22");
	assert_non_null(strstr(got[7], "state unknown since 1795568523000000005 reason  "));
	bl_stage_clear(&s);
	bl_stage_release(&s);
	rfmt_free(f);
}

/* results: changes writes a target's first result of a run and those that
 * differ from its last; none writes no entry; the state hash gets every
 * result either way. Service checks likewise, by verdict. */
static void test_results_retention(void **state)
{
	struct rfmt *f = new_fmt(&cfg);
	struct bl_stage s = { 0 };
	struct probe_result r = { .ts_real_ns = TS, .rtt_ns = 1000, .target = 0, .state = PROBE_OPEN, .ttl = 63 };
	char got[32][1024];
	static const enum probe_state seq[] = { PROBE_OPEN, PROBE_OPEN, PROBE_CLOSED, PROBE_CLOSED, PROBE_OPEN };
	static const bool want_changes[] = { true, false, true, false, true };

	(void)state;
	groups[0].results = TABLE_RESULTS_CHANGES;
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		r.state = seq[i];
		r.ts_real_ns = TS + (int64_t)i;
		assert_int_equal(rfmt_result(f, &s, &r), 0);
		size_t n = commands(&s, got, 32);
		bool xadd = n && !strncmp(got[0], "XADD sw:results ", 16);
		if (xadd != want_changes[i])
			fail_msg("result %zu (%s): XADD %d, want %d", i, probe_state_name(seq[i]), xadd, want_changes[i]);
		/* the state hash has it either way */
		bool hset = false;
		for (size_t k = 0; k < n; k++)
			hset |= !strncmp(got[k], "HSET sw:state:fra1:198.18.0.7:443 ", 34) && strstr(got[k], "last_result");
		assert_true(hset);
		bl_stage_clear(&s);
	}
	/* a service check: the first verdict, then only a change */
	targets[0].check = CHECK_TLS;
	struct check_result cr = { .ts_real_ns = TS, .target = 0, .kind = CHECK_TLS, .check_ns = 1000 };
	cr.v.ok = true;
	static const bool check_ok[] = { true, true, false, false };
	static const bool want_check[] = { true, false, true, false };
	for (size_t i = 0; i < 4; i++) {
		cr.v.ok = check_ok[i];
		assert_int_equal(rfmt_check(f, &s, &cr, check_ok[i] ? VERDICT_NONE : VERDICT_CHECK_FAILED, INT32_MIN), 0);
		size_t n = commands(&s, got, 32);
		bool xadd = n && !strncmp(got[0], "XADD sw:results ", 16);
		if (xadd != want_check[i])
			fail_msg("check %zu: XADD %d, want %d", i, xadd, want_check[i]);
		bl_stage_clear(&s);
	}
	targets[0].check = 0;
	/* none: no entry at all, the hash still */
	groups[0].results = TABLE_RESULTS_NONE;
	r.state = PROBE_FILTERED;
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	assert_int_equal(commands(&s, got, 32), 1);
	assert_non_null(strstr(got[0], "HSET sw:state:fra1:198.18.0.7:443 last_result filtered"));
	bl_stage_clear(&s);
	/* a target without a group (outside monitoring's groups) keeps every result */
	r.target = 1;
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	assert_true(commands(&s, got, 32) >= 1 && !strncmp(got[0], "XADD sw:results ", 16));
	groups[0].results = TABLE_RESULTS_ALL;
	bl_stage_release(&s);
	rfmt_free(f);
}

static void test_result_kinds(void **state)
{
	struct rfmt_config oneshot = cfg;
	struct rfmt *f;
	struct bl_stage s = { 0 };
	struct probe_result r = {
		.ts_real_ns = TS, .rtt_ns = 1500, .target = 1, .state = PROBE_UNREACHABLE, .ttl = 60, .icmp_type = 1,
		.icmp_code = 3,
	};

	(void)state;
	oneshot.monitoring = false; /* --once: the results stream only */
	f = new_fmt(&oneshot);
	addr_parse(&r.from, "2001:db8::fe");
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	static const char *const unreach[] = {
		"XADD sw:results MAXLEN ~ 1000 * target [2001:db8::1]:22 ip 2001:db8::1 port 22 state unreachable "
		"rtt_us 1.500 ts 1795568523000000005 attempt 0 ttl 60 icmp_type 1 icmp_code 3 icmp_from 2001:db8::fe "
		"location fra1 prober fra1/p1",
	};
	expect(&s, unreach, 1);
	r = (struct probe_result){ .ts_real_ns = TS, .rtt_ns = 2000000, .target = 1, .state = PROBE_ERROR,
				   .err = ENETUNREACH, .rtt_approx = 1 };
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	static const char *const error[] = {
		"XADD sw:results MAXLEN ~ 1000 * target [2001:db8::1]:22 ip 2001:db8::1 port 22 state error "
		"rtt_us 2000.000 ts 1795568523000000005 attempt 0 ttl  error Network is unreachable rtt_approx 1 "
		"location fra1 prober fra1/p1",
	};
	expect(&s, error, 1);
	/* no latency history and no state in one-shot mode */
	struct lat_minute lm;
	lat_minute_init(&lm, 1795568520);
	lat_minute_add(&lm, 412000);
	assert_int_equal(rfmt_latency(f, &s, 1, &lm), 0);
	assert_int_equal(s.n, 0);
	bl_stage_release(&s);
	rfmt_free(f);
}

static void test_other_events(void **state)
{
	struct rfmt *f = new_fmt(&cfg);
	struct bl_stage s = { 0 };
	struct sw_event e = {
		.ts_real_ns = TS, .since_ns = TS - NSEC_PER_SEC, .id = 9, .target = 0, .kind = EVENT_HOST_UP,
		.count = 2, .rtt_ns = -1,
	};

	(void)state;
	addr_parse(&e.addr, "198.18.0.7");
	assert_int_equal(rfmt_event(f, &s, &e), 0);
	e.kind = EVENT_PROBER_ISOLATED;
	e.count = 512;
	assert_int_equal(rfmt_event(f, &s, &e), 0);
	/* slow: rtt_us carries the p95, the state machine's reason */
	e = (struct sw_event){ .ts_real_ns = TS, .id = 10, .target = 1, .kind = EVENT_STATE, .from = TARGET_UNKNOWN,
			       .to = TARGET_DEGRADED, .reason = REASON_SLOW, .rtt_ns = 90000000, .host_event = 9 };
	assert_int_equal(rfmt_event(f, &s, &e), 0);
	static const char *const want[] = {
		"XADD sw:events MAXLEN ~ 100 * id 3f2a9c0e11d4b7a5-9 kind host_up ts 1795568523000000005 "
		"ip 198.18.0.7 ports 2 ping none since 1795568522000000005 location fra1 prober fra1/p1",
		"XADD sw:events MAXLEN ~ 100 * id 3f2a9c0e11d4b7a5-9 kind prober_isolated ts 1795568523000000005 "
		"failing_share 0.512 location fra1 prober fra1/p1",
		"XADD sw:events MAXLEN ~ 100 * id 3f2a9c0e11d4b7a5-10 kind state ts 1795568523000000005 "
		"target [2001:db8::1]:22 ip 2001:db8::1 port 22 from unknown to degraded reason slow since  "
		"rtt_us 90000.000 host_event 3f2a9c0e11d4b7a5-9 location fra1 prober fra1/p1",
		/* not seen before: it joins the sets first */
		"ZADD sw:idx:fra1:all NX 1795568523 [2001:db8::1]:22",
		"ZREM sw:idx:fra1:up [2001:db8::1]:22",
		"ZREM sw:idx:fra1:degraded [2001:db8::1]:22",
		"ZREM sw:idx:fra1:down [2001:db8::1]:22",
		"ZREM sw:idx:fra1:flapping [2001:db8::1]:22",
		"ZADD sw:idx:fra1:unknown 1795568523 [2001:db8::1]:22",
		"HSET sw:state:fra1:[2001:db8::1]:22 state degraded since 1795568523000000005 reason slow",
		"ZREM sw:idx:fra1:unknown [2001:db8::1]:22",
		"ZADD sw:idx:fra1:degraded 1795568523 [2001:db8::1]:22",
	};
	expect(&s, want, sizeof(want) / sizeof(want[0]));
	bl_stage_release(&s);
	rfmt_free(f);
}

static void test_latency_and_dead(void **state)
{
	struct rfmt *f = new_fmt(&cfg);
	struct bl_stage s = { 0 };
	struct lat_minute lm;
	char text[256], want[2][1024];

	(void)state;
	lat_minute_init(&lm, 1795568520);
	lat_minute_add(&lm, 412000);
	lat_minute_add(&lm, 530000);
	lat_minute_loss(&lm);
	assert_true(lat_encode(text, sizeof(text), &lm) > 0);
	assert_int_equal(rfmt_latency(f, &s, 0, &lm), 0);
	snprintf(want[0], sizeof(want[0]), "ZADD sw:lat:fra1:198.18.0.7:443 1795568520 %s", text);
	snprintf(want[1], sizeof(want[1]), "ZREMRANGEBYSCORE sw:lat:fra1:198.18.0.7:443 -inf (1795564920");
	const char *const w[] = { want[0], want[1] };
	expect(&s, w, 2);

	/* a result of a target removed while its check ran: the stream only */
	struct table next = tab;
	uint8_t nd[2] = { 1, 0 };
	next.dead = nd;
	next.gen = 2;
	assert_int_equal(rfmt_set_table(f, &next), 0);
	struct probe_result r = { .ts_real_ns = TS, .rtt_ns = 1000, .target = 0, .state = PROBE_CLOSED, .ttl = 64 };
	assert_int_equal(rfmt_result(f, &s, &r), 0);
	char got[32][1024];
	assert_int_equal(commands(&s, got, 32), 1);
	assert_non_null(strstr(got[0], "XADD sw:results"));
	bl_stage_release(&s);
	rfmt_free(f);
}

static void test_heartbeat(void **state)
{
	struct store_status st = {
		.sent_per_s = 2000, .replies_per_s = 1990, .pcap_drops = 3, .demand_pps = 1999.6, .targets = 100,
		.by_state = { 1, 90, 2, 7, 0 }, .overloaded = 1,
	};
	struct rfmt_heartbeat h = {
		.st = &st, .host = "p1", .version = "0.3.0", .started_s = 1795568000, .now_ms = 1795568523456,
		.rate = 20000, .backlog = 12, .spilled = 4, .spill_bytes = 1048608, .spill_max = 1073741824,
		.dropped = 0, .problem = "warning: redis: lost connection", .problem_ms = 1795568520000,
		.per_target = "[\"db\"]",
	};
	struct bl_stage s = { 0 };

	(void)state;
	assert_int_equal(rfmt_heartbeat(&s, &cfg, &h), 0);
	static const char *const want[] = {
		"HSET sw:prober:fra1/p1 location fra1 host p1 version 0.3.0 started 1795568000 heartbeat 1795568523456 "
		"targets 100 rate 20000 sent_per_s 2000 replies_per_s 1990 pcap_drops 3 backlog 12 spilled 4 "
		"spill_bytes 1048608 spill_max 1073741824 dropped 0 problem warning: redis: lost connection "
		"problem_at 1795568520000 "
		"overloaded 1 demand_pps 2000 isolated 0 "
		"state_counts {\"unknown\":1,\"up\":90,\"degraded\":2,\"down\":7,\"flapping\":0} "
		"metrics_per_target [\"db\"]",
		"PEXPIRE sw:prober:fra1/p1 5000",
		"ZADD sw:probers 1795568523456 fra1/p1",
		"ZREMRANGEBYSCORE sw:probers -inf (1795564923456",
	};
	expect(&s, want, 4);
	bl_stage_release(&s);

	/* no group asked for per-target series: an empty list, not a missing field */
	h.per_target = NULL;
	assert_int_equal(rfmt_heartbeat(&s, &cfg, &h), 0);
	char got[8][1024];
	assert_int_equal(commands(&s, got, 8), 4);
	assert_non_null(strstr(got[0], " metrics_per_target []"));
	bl_stage_release(&s);
}

/* A group's increments: HINCRBY of the buckets that have any, the count
 * and the sum, one frame; nothing without answers or in one-shot mode. */
static void test_histo(void **state)
{
	struct rfmt *f = new_fmt(&cfg);
	struct bl_stage s = { 0 };
	struct histo_delta d = { .group = "web", .count = 4, .sum_us = 20000123 };

	(void)state;
	d.bucket[histo_bucket(412000)] = 2;
	d.bucket[0] = 1;
	d.bucket[HISTO_NBOUNDS] = 1;
	assert_int_equal(rfmt_histo(f, &s, &d), 0);
	assert_int_equal(s.n, 1);
	/* counts: never dropped at the spill limit, as history may be */
	struct bl_frame fr;
	memcpy(&fr, s.buf, sizeof(fr));
	assert_int_equal(fr.kind, BL_HISTO);
	assert_false(BL_DROPPABLE(fr.kind));
	static const char *const want[] = {
		"HINCRBY sw:histo:fra1 50:web 1",
		"HINCRBY sw:histo:fra1 800:web 2",
		"HINCRBY sw:histo:fra1 inf:web 1",
		"HINCRBY sw:histo:fra1 count:web 4",
		"HINCRBY sw:histo:fra1 sum_us:web 20000123",
	};
	expect(&s, want, 5);
	bl_stage_release(&s);

	d = (struct histo_delta){ .group = "web" };
	assert_int_equal(rfmt_histo(f, &s, &d), 0);
	assert_int_equal(s.n, 0);
	rfmt_free(f);

	struct rfmt_config oneshot = cfg;
	oneshot.monitoring = false;
	f = new_fmt(&oneshot);
	d.count = d.bucket[0] = 1;
	assert_int_equal(rfmt_histo(f, &s, &d), 0);
	assert_int_equal(s.n, 0);
	bl_stage_release(&s);
	rfmt_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results_and_state),
		cmocka_unit_test(test_resumed),
		cmocka_unit_test(test_result_kinds),
		cmocka_unit_test(test_results_retention),
		cmocka_unit_test(test_other_events),
		cmocka_unit_test(test_latency_and_dead),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_histo),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
