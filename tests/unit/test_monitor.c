/* scheduler/monitor on a virtual clock: intervals and phases, spreading,
 * overload stretching, state events, host rollup, prober isolation and
 * reloads. No sleeping, no sockets. */
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
#include "scheduler/monitor.h"

#define W(s) ((char *)(s))
#define T0_REAL (1800000000LL * NSEC_PER_SEC)
#define T0_MONO (1000 * NSEC_PER_SEC)
#define MAX_EV 4096

struct sink {
	struct sw_event ev[MAX_EV];
	size_t n_ev, n_results;
	struct probe_result last[256]; /* the last result of each of the first ids */
};

static void on_result(void *ctx, const struct probe_result *r)
{
	struct sink *s = ctx;

	s->n_results++;
	if (r->target < 256)
		s->last[r->target] = *r;
}

static void on_event(void *ctx, const struct sw_event *e)
{
	struct sink *s = ctx;
	assert_true(s->n_ev < MAX_EV);
	s->ev[s->n_ev++] = *e;
}

static struct table_group one_group(int64_t interval_ns, uint8_t failures)
{
	struct table_group g = {
		.name = W("g"),
		.interval_ns = interval_ns,
		.timeout_ns = 100 * NSEC_PER_MSEC,
		.retries = 1,
		.priority = 1,
		.state = { .failures = failures, .successes = 1, .window = 5, .over = 3 },
	};
	return g;
}

/* A table of n endpoints: hosts 198.18.x.y with `ports` ports each. */
static struct table *make_table(size_t hosts, const uint16_t *ports, size_t n_ports, const struct table_group *g)
{
	struct target_list tl;
	struct table *t;
	char spec[64], err[256];

	target_list_init(&tl, 0, TARGET_FAMILY_V4);
	for (size_t h = 0; h < hosts; h++)
		for (size_t p = 0; p < n_ports; p++) {
			if (ports[p] == TARGET_PORT_ICMP)
				snprintf(spec, sizeof(spec), "198.18.%zu.%zu:icmp", h / 250, h % 250 + 1);
			else
				snprintf(spec, sizeof(spec), "198.18.%zu.%zu:%u", h / 250, h % 250 + 1, ports[p]);
			assert_int_equal(target_list_add_spec(&tl, spec, NULL, NULL, NULL, err, sizeof(err)), 1);
		}
	assert_int_equal(table_from_list(&t, &tl, g, "lab"), 0);
	return t;
}

static struct monitor *make_monitor(const struct table *t, struct sink *s, uint64_t cap)
{
	struct monitor *m;
	struct monitor_config cfg = {
		.rate_cap = cap, .emit_result = on_result, .emit_event = on_event, .ctx = s,
	};
	assert_int_equal(monitor_new(&m, &cfg, t, T0_MONO, T0_REAL), 0);
	return m;
}

static struct probe_result result(uint32_t id, int64_t real, uint8_t state, int64_t rtt)
{
	struct probe_result r = { .target = id, .ts_real_ns = real, .state = state, .rtt_ns = rtt };
	return r;
}

/* The monitor learns the result of target id's check. */
static void report(struct monitor *m, uint32_t id, int64_t real, uint8_t state, int64_t rtt)
{
	struct probe_result r = result(id, real, state, rtt);
	monitor_on_result(m, &r);
}

static void free_all(struct monitor *m, struct table *t, struct sink *s)
{
	monitor_free(m);
	table_free(t);
	free(s);
}

/* Runs the virtual clock from T0 for secs in 1 ms steps; counts dues per
 * target and per second. */
static void run_clock(struct monitor *m, double secs, uint32_t *per_target, uint32_t *per_second)
{
	uint32_t ids[4096];

	for (uint64_t ms = 0; ms < (uint64_t)(secs * 1000); ms++) {
		uint64_t mono = T0_MONO + ms * NSEC_PER_MSEC;
		int64_t real = T0_REAL + (int64_t)ms * NSEC_PER_MSEC;
		size_t n;
		while ((n = monitor_due(m, mono, real, ids, 4096)) > 0) {
			for (size_t i = 0; i < n; i++) {
				if (per_target)
					per_target[ids[i]]++;
				if (per_second)
					per_second[ms / 1000]++;
			}
			if (n < 4096)
				break;
		}
	}
}

static void test_intervals_and_phase(void **state)
{
	(void)state;
	uint16_t ports[] = { 80 };
	struct table_group g = one_group(1 * NSEC_PER_SEC, 2);
	struct table *t = make_table(200, ports, 1, &g);
	struct sink *s = calloc(1, sizeof(*s));
	struct monitor *m = make_monitor(t, s, 100000);
	uint32_t per_target[200] = { 0 };

	/* first due within one interval, at the target's phase */
	for (uint32_t id = 0; id < 200; id++) {
		uint64_t d = monitor_next_due(m, id);
		assert_true(d > T0_MONO && d <= T0_MONO + NSEC_PER_SEC);
	}
	uint64_t d7 = monitor_next_due(m, 7);
	run_clock(m, 10.0, per_target, NULL);
	for (uint32_t id = 0; id < 200; id++)
		assert_int_equal(per_target[id], 10);
	/* no drift: still the same phase ten intervals later (1 ms wheel ticks) */
	assert_int_equal((monitor_next_due(m, 7) - d7) % NSEC_PER_SEC, 0);

	/* a restart 3.7 s later (another monotonic origin) keeps the phase */
	struct monitor *m2;
	struct monitor_config cfg = { .rate_cap = 100000, .emit_result = on_result, .emit_event = on_event, .ctx = s };
	assert_int_equal(monitor_new(&m2, &cfg, t, 5 * NSEC_PER_SEC, T0_REAL + 3700 * NSEC_PER_MSEC), 0);
	int64_t phase1 = (int64_t)(d7 - T0_MONO) + T0_REAL;
	int64_t phase2 = (int64_t)(monitor_next_due(m2, 7) - 5 * NSEC_PER_SEC) + T0_REAL + 3700 * NSEC_PER_MSEC;
	assert_int_equal(phase1 % NSEC_PER_SEC, phase2 % NSEC_PER_SEC);
	monitor_free(m2);
	free_all(m, t, s);
}

static void test_spreading(void **state)
{
	(void)state;
	uint16_t ports[] = { 22, 80, 443, 8080 };
	struct table_group g = one_group(10 * NSEC_PER_SEC, 2);
	struct table *t = make_table(25000, ports, 4, &g); /* 100,000 targets, 10,000 checks/s */
	struct sink *s = calloc(1, sizeof(*s));
	struct monitor *m = make_monitor(t, s, 1000000);
	uint32_t per_second[30] = { 0 };

	run_clock(m, 30.0, NULL, per_second);
	for (int sec = 0; sec < 30; sec++) {
		/* within +-5% of the mean in every 1-second window */
		assert_true(per_second[sec] >= 9500 && per_second[sec] <= 10500);
	}
	struct monitor_stats st;
	monitor_get_stats(m, &st);
	assert_false(st.overloaded);
	assert_true(st.demand_pps > 9999 && st.demand_pps < 10001);
	free_all(m, t, s);
}

static void test_stretch_table(void **state)
{
	(void)state;
	double f[4];
	/* fits: nobody stretches */
	monitor_stretch((double[4]){ 100, 100, 100, 100 }, 400, f);
	for (int p = 0; p < 4; p++)
		assert_true(f[p] == 1.0);
	/* 100 over: the lowest priority halves its rate, the rest keep theirs */
	monitor_stretch((double[4]){ 200, 100, 100, 100 }, 400, f);
	assert_true(f[0] > 1.99 && f[0] < 2.01);
	assert_true(f[1] == 1.0 && f[2] == 1.0 && f[3] == 1.0);
	/* low gives its most (10x), then normal gives way */
	monitor_stretch((double[4]){ 1000, 1000, 100, 100 }, 400, f);
	assert_true(f[0] == MONITOR_MAX_STRETCH);
	assert_true(f[1] > 1.0 && f[2] == 1.0 && f[3] == 1.0);
	double load = 1000 / f[0] + 1000 / f[1] + 100 + 100;
	assert_true(load > 399.9 && load < 400.1);
	/* critical alone over the cap: everyone stretches, nobody is dropped */
	monitor_stretch((double[4]){ 10, 10, 10, 1000 }, 100, f);
	load = 10 / f[0] + 10 / f[1] + 10 / f[2] + 1000 / f[3];
	assert_true(load > 99.9 && load < 100.1);
	for (int p = 0; p < 4; p++)
		assert_true(f[p] >= 1.0);
}

static void test_overload_stretches(void **state)
{
	(void)state;
	uint16_t ports[] = { 80 };
	struct table_group g = one_group(1 * NSEC_PER_SEC, 2);
	struct table *t = make_table(1000, ports, 1, &g); /* 1000 checks/s asked */
	struct sink *s = calloc(1, sizeof(*s));
	struct monitor *m = make_monitor(t, s, 500);   /* 500/s allowed */
	uint32_t per_second[20] = { 0 };
	struct monitor_stats st;

	monitor_get_stats(m, &st);
	assert_true(st.overloaded);
	assert_true(st.stretch[1] > 2.0 && st.stretch[1] < 2.2);
	run_clock(m, 20.0, NULL, per_second);
	uint32_t total = 0;
	for (int sec = 5; sec < 20; sec++)
		total += per_second[sec];
	/* under the cap, and every target still probed */
	assert_true(total / 15 <= 500);
	assert_true(total / 15 >= 400);
	free_all(m, t, s);
}

static void test_states_and_hosts(void **state)
{
	(void)state;
	uint16_t ports[] = { 22, 80, 443 };
	struct table_group g = one_group(1 * NSEC_PER_SEC, 2);
	struct table *t = make_table(40, ports, 3, &g); /* host 0 = ids 0, 1, 2 */
	struct sink *s = calloc(1, sizeof(*s));
	struct monitor *m = make_monitor(t, s, 100000);
	int64_t now = T0_REAL;

	/* everyone up */
	for (uint32_t id = 0; id < 120; id++)
		report(m, id, now, PROBE_OPEN, 500000);
	assert_int_equal(s->n_ev, 120);
	assert_int_equal(s->ev[0].kind, EVENT_STATE);
	assert_int_equal(s->ev[0].from, TARGET_UNKNOWN);
	assert_int_equal(s->ev[0].to, TARGET_UP);
	s->n_ev = 0;
	/* host 0: port 22 refused twice -> down (one failure is not enough) */
	now += NSEC_PER_SEC;
	report(m, 0, now, PROBE_CLOSED, 300000);
	assert_int_equal(s->n_ev, 0);
	now += NSEC_PER_SEC;
	report(m, 0, now, PROBE_CLOSED, 300000);
	assert_int_equal(s->n_ev, 1);
	assert_int_equal(s->ev[0].to, TARGET_DOWN);
	assert_int_equal(s->ev[0].reason, REASON_REFUSED);
	assert_int_equal(s->ev[0].since_ns, T0_REAL);
	assert_int_equal(s->ev[0].host_event, 0);
	/* ports 80 and 443 time out: the last one takes the host down */
	for (int k = 0; k < 2; k++) {
		now += NSEC_PER_SEC;
		for (uint32_t id = 1; id <= 2; id++)
			report(m, id, now, PROBE_FILTERED, -1);
	}
	assert_int_equal(s->n_ev, 4);
	assert_int_equal(s->ev[1].kind, EVENT_STATE);
	assert_int_equal(s->ev[1].reason, REASON_TIMEOUT);
	assert_int_equal(s->ev[2].kind, EVENT_HOST_DOWN);
	assert_int_equal(s->ev[2].count, 3);
	assert_int_equal(s->ev[3].kind, EVENT_STATE);
	assert_int_equal(s->ev[3].host_event, s->ev[2].id);
	uint64_t host_ev = s->ev[2].id;
	/* one port answers again: host_up, then the port's up event */
	now += NSEC_PER_SEC;
	report(m, 1, now, PROBE_OPEN, 400000);
	assert_int_equal(s->n_ev, 6);
	assert_int_equal(s->ev[4].kind, EVENT_HOST_UP);
	assert_int_equal(s->ev[5].to, TARGET_UP);
	assert_int_equal(s->ev[5].host_event, host_ev);
	/* event ids are unique and increasing */
	for (size_t i = 1; i < s->n_ev; i++)
		assert_true(s->ev[i].id > s->ev[i - 1].id);
	assert_int_equal(s->n_results, 120 + 2 + 4 + 1);
	free_all(m, t, s);
}

/* s has n events, the last a change from -> to. */
static void expect_change(const struct sink *s, size_t n, uint8_t from, uint8_t to)
{
	assert_int_equal(s->n_ev, n);
	assert_int_equal(s->ev[n - 1].kind, EVENT_STATE);
	assert_int_equal(s->ev[n - 1].from, from);
	assert_int_equal(s->ev[n - 1].to, to);
}

/* A restart: a second monitor resumes what the first one left (as the
 * daemon reads it back from Redis: state, since, reason and the streaks
 * its last result carried) and carries on exactly, telling nothing for the
 * resume: up targets stay up silently, a down one needs its confirming
 * successes, a half-failed one goes down at its next failure, a host down
 * across the restart is told up again, with the outage's start. */
static void test_resume(void **state)
{
	(void)state;
	uint16_t ports[] = { 22, 80 };
	struct table_group g = one_group(1 * NSEC_PER_SEC, 2);
	g.state.successes = 2;
	struct table *t = make_table(4, ports, 2, &g); /* host h = ids 2h, 2h + 1 */
	struct sink *s = calloc(1, sizeof(*s));
	struct monitor *m = make_monitor(t, s, 100000);
	int64_t now = T0_REAL;

	for (uint32_t id = 0; id < 8; id++)
		report(m, id, now, PROBE_OPEN, 500000);
	/* host 0 down (both ports), host 1's :22 down, host 2's :22 one failure */
	for (int k = 0; k < 2; k++) {
		now += NSEC_PER_SEC;
		for (uint32_t id = 0; id <= 2; id++)
			report(m, id, now, PROBE_CLOSED, -1);
	}
	report(m, 4, now, PROBE_FILTERED, -1);
	int64_t down_since = now;
	assert_int_equal(monitor_status(m, 0)->state, TARGET_DOWN);
	assert_int_equal(s->last[4].fail_streak, 1);
	assert_int_equal(s->last[5].ok_streak, 1);

	/* what the state hashes hold, read back by the next run */
	struct state_saved saved[8];
	for (uint32_t id = 0; id < 8; id++) {
		const struct target_status *st = monitor_status(m, id);
		saved[id] = (struct state_saved){
			.since_ns = st->since_ns, .state = st->state, .reason = st->reason,
			.ok_streak = s->last[id].ok_streak, .fail_streak = s->last[id].fail_streak,
		};
	}
	monitor_free(m);
	memset(s, 0, sizeof(*s));
	m = make_monitor(t, s, 100000);
	assert_int_equal(monitor_resume(m, saved), 8);
	assert_int_equal(s->n_ev, 0);
	for (uint32_t id = 0; id < 8; id++) {
		assert_int_equal(monitor_status(m, id)->state, saved[id].state);
		assert_int_equal(monitor_status(m, id)->since_ns, saved[id].since_ns);
	}

	/* the same answers as before the restart: nothing to tell */
	now += 10 * NSEC_PER_SEC;
	for (uint32_t id = 0; id < 8; id++)
		if (id != 4)
			report(m, id, now, id <= 2 ? PROBE_CLOSED : PROBE_OPEN, id <= 2 ? -1 : 500000);
	assert_int_equal(s->n_ev, 0);
	/* host 2's :22 failed once before the restart: one more is down */
	now += NSEC_PER_SEC;
	report(m, 4, now, PROBE_FILTERED, -1);
	expect_change(s, 1, TARGET_UP, TARGET_DOWN);
	/* host 1's :22 answers: down until its second success */
	report(m, 2, now, PROBE_OPEN, 500000);
	assert_int_equal(s->n_ev, 1);
	now += NSEC_PER_SEC;
	report(m, 2, now, PROBE_OPEN, 500000);
	expect_change(s, 2, TARGET_DOWN, TARGET_UP);
	assert_int_equal(s->ev[1].since_ns, down_since);
	/* host 0 was down across the restart: its recovery is a host_up with
	 * the outage's start, and the port's event belongs to it */
	for (int k = 0; k < 2; k++, now += NSEC_PER_SEC)
		report(m, 0, now, PROBE_OPEN, 500000);
	expect_change(s, 4, TARGET_DOWN, TARGET_UP);
	assert_int_equal(s->ev[2].kind, EVENT_HOST_UP);
	assert_int_equal(s->ev[2].since_ns, down_since);
	/* the outage's id was taken at the resume, before any of this run's */
	assert_true(s->ev[3].host_event != 0 && s->ev[3].host_event < s->ev[0].id);
	free_all(m, t, s);
}

/* A host with a ping check: its ports all down while the ping answers is
 * a service outage on a live host (host_down says ping up); the ping does
 * not count as a port. */
static void test_host_with_ping(void **state)
{
	(void)state;
	uint16_t ports[] = { TARGET_PORT_ICMP, 22, 80 };
	struct table_group g = one_group(1 * NSEC_PER_SEC, 1);
	struct table *t = make_table(1, ports, 3, &g); /* ids: 0 ping, 1 :22, 2 :80 */
	struct sink *s = calloc(1, sizeof(*s));
	struct monitor *m = make_monitor(t, s, 100000);

	for (uint32_t id = 0; id < 3; id++)
		report(m, id, T0_REAL, PROBE_OPEN, 1000);
	s->n_ev = 0;
	report(m, 1, T0_REAL + NSEC_PER_SEC, PROBE_CLOSED, 1000);
	assert_int_equal(s->n_ev, 1); /* one of two ports: no host event */
	report(m, 2, T0_REAL + NSEC_PER_SEC, PROBE_CLOSED, 1000);
	assert_int_equal(s->n_ev, 3);
	assert_int_equal(s->ev[1].kind, EVENT_HOST_DOWN);
	assert_int_equal(s->ev[1].count, 2);        /* the ping is not a port */
	assert_int_equal(s->ev[1].to, TARGET_UP);   /* services down, host alive */
	/* the ping fails too: its event belongs to the host's outage */
	report(m, 0, T0_REAL + 2 * NSEC_PER_SEC, PROBE_FILTERED, -1);
	assert_int_equal(s->n_ev, 4);
	assert_int_equal(s->ev[3].to, TARGET_DOWN);
	assert_int_equal(s->ev[3].host_event, s->ev[1].id);
	free_all(m, t, s);
}

static void test_degraded_reason(void **state)
{
	(void)state;
	uint16_t ports[] = { 5432 };
	struct table_group g = one_group(1 * NSEC_PER_SEC, 2);
	g.state.warn_ns = 500 * NSEC_PER_MSEC;
	struct table *t = make_table(1, ports, 1, &g);
	struct sink *s = calloc(1, sizeof(*s));
	struct monitor *m = make_monitor(t, s, 100000);
	int64_t rtts[] = { 100, 812, 900, 700 }; /* ms */

	for (int i = 0; i < 4; i++)
		report(m, 0, T0_REAL + i * NSEC_PER_SEC, PROBE_OPEN, rtts[i] * NSEC_PER_MSEC);
	/* up, then degraded at the third slow answer of the last five */
	assert_int_equal(s->n_ev, 2);
	assert_int_equal(s->ev[1].to, TARGET_DEGRADED);
	assert_int_equal(s->ev[1].reason, REASON_SLOW);
	/* the p95 of the recent answers, kept to 1/2048 */
	assert_true(s->ev[1].rtt_ns <= 900 * NSEC_PER_MSEC && s->ev[1].rtt_ns > 899 * NSEC_PER_MSEC);
	free_all(m, t, s);
}

static void test_isolation(void **state)
{
	(void)state;
	uint16_t ports[] = { 80 };
	struct table_group g = one_group(1 * NSEC_PER_SEC, 2);
	struct table *t = make_table(200, ports, 1, &g);
	struct sink *s = calloc(1, sizeof(*s));
	struct monitor *m = make_monitor(t, s, 100000);
	int64_t now = T0_REAL;

	for (uint32_t id = 0; id < 200; id++)
		report(m, id, now, PROBE_OPEN, 100000);
	s->n_ev = 0;
	/* the uplink goes: every check fails for five intervals */
	for (int k = 0; k < 5; k++) {
		now += NSEC_PER_SEC;
		for (uint32_t id = 0; id < 200; id++)
			report(m, id, now + id * 1000, PROBE_FILTERED, -1);
	}
	/* one prober_isolated, no target down */
	assert_int_equal(s->n_ev, 1);
	assert_int_equal(s->ev[0].kind, EVENT_PROBER_ISOLATED);
	assert_true(s->ev[0].count >= 500);
	struct monitor_stats st;
	monitor_get_stats(m, &st);
	assert_true(st.isolated);
	assert_int_equal(st.by_state[TARGET_UP], 200);
	/* the link returns: prober_ok, and no storm of up events */
	now += NSEC_PER_SEC;
	for (uint32_t id = 0; id < 200; id++)
		report(m, id, now + id * 1000, PROBE_OPEN, 100000);
	now += NSEC_PER_SEC;
	for (uint32_t id = 0; id < 200; id++)
		report(m, id, now + id * 1000, PROBE_OPEN, 100000);
	assert_int_equal(s->n_ev, 2);
	assert_int_equal(s->ev[1].kind, EVENT_PROBER_OK);
	monitor_get_stats(m, &st);
	assert_false(st.isolated);
	/* a real outage of a few targets still goes down */
	s->n_ev = 0;
	for (int k = 0; k < 2; k++) {
		now += NSEC_PER_SEC;
		for (uint32_t id = 0; id < 200; id++)
			report(m, id, now + id * 1000, id < 5 ? PROBE_CLOSED : PROBE_OPEN, 100000);
	}
	assert_int_equal(s->n_ev, 5);
	free_all(m, t, s);
}

/* A small fleet (16 targets, fewer checks an interval than isolation_min)
 * whose prober loses its own link: with its canary failing too, it is
 * isolated rather than paging for every target; without a canary it cannot
 * tell, and the targets go down. */
static void test_isolation_small(void **state)
{
	(void)state;
	uint16_t ports[] = { 80 };
	struct table_group g = one_group(1 * NSEC_PER_SEC, 2);

	for (int with_canary = 1; with_canary >= 0; with_canary--) {
		struct table *t = make_table(17, ports, 1, &g); /* the 17th: the canary */
		struct sink *s = calloc(1, sizeof(*s));
		struct sw_addr canary;
		uint16_t canary_port = 80;
		assert_int_equal(addr_parse(&canary, "198.18.0.17"), 0);
		struct monitor_config cfg = {
			.rate_cap = 100000, .emit_result = on_result, .emit_event = on_event, .ctx = s,
			.canaries = &canary, .canary_ports = &canary_port, .n_canaries = (size_t)with_canary,
		};
		struct monitor *m;
		int64_t now = T0_REAL;
		assert_int_equal(monitor_new(&m, &cfg, t, T0_MONO, T0_REAL), 0);
		for (uint32_t id = 0; id < 17; id++)
			report(m, id, now, PROBE_OPEN, 100000);
		s->n_ev = 0;
		/* the uplink goes: the canary's check fails first, then the others */
		for (int k = 0; k < 4; k++) {
			now += NSEC_PER_SEC;
			report(m, 16, now, PROBE_FILTERED, -1);
			for (uint32_t id = 0; id < 16; id++)
				report(m, id, now + (id + 1) * 1000, PROBE_FILTERED, -1);
		}
		struct monitor_stats st;
		monitor_get_stats(m, &st);
		if (with_canary) {
			assert_int_equal(s->n_ev, 1);
			assert_int_equal(s->ev[0].kind, EVENT_PROBER_ISOLATED);
			assert_true(st.isolated);
			/* back: prober_ok, no storm */
			for (int k = 0; k < 2; k++) {
				now += NSEC_PER_SEC;
				for (uint32_t id = 0; id < 17; id++)
					report(m, id, now + id * 1000, PROBE_OPEN, 100000);
			}
			assert_int_equal(s->n_ev, 2);
			assert_int_equal(s->ev[1].kind, EVENT_PROBER_OK);
			monitor_get_stats(m, &st);
			assert_false(st.isolated);
		} else {
			/* 16 checks a window, under isolation_min: every target goes down */
			assert_false(st.isolated);
			assert_int_equal(st.by_state[TARGET_DOWN], 17);
		}
		free_all(m, t, s);
	}
}

static void test_reload(void **state)
{
	(void)state;
	char *h1[] = { W("198.18.0.0/29") }, *h2[] = { W("198.18.0.0/30"), W("198.18.9.9") };
	uint16_t p[] = { 80 };
	struct portlist pl = { .ports = p, .n = 1 };
	struct table_spec_group cg = {
		.settings = { .name = W("web"), .interval_ns = 2 * NSEC_PER_SEC, .timeout_ns = NSEC_PER_SEC / 10,
			      .state = { .failures = 2, .successes = 1, .window = 5, .over = 3 } },
		.hosts = h1, .n_hosts = 1, .ports = &pl, .families = TARGET_FAMILY_V4,
	};
	struct table_spec cfg = { .groups = &cg, .n_groups = 1 };
	struct exclude_list ex = { 0 };
	struct table *t1, *t2;
	char err[256];
	struct sink *s = calloc(1, sizeof(*s));

	assert_int_equal(table_build_with(&t1, &cfg, &ex, NULL, NULL, err, sizeof(err)), 0);
	struct monitor *m = make_monitor(t1, s, 100000);
	report(m, 1, T0_REAL, PROBE_OPEN, 1000);
	uint64_t due1 = monitor_next_due(m, 1);
	cg.hosts = h2;
	cg.n_hosts = 2;
	assert_int_equal(table_build_with(&t2, &cfg, &ex, t1, NULL, err, sizeof(err)), 0);
	assert_int_equal(monitor_set_table(m, t2, T0_MONO + 5, T0_REAL + 5), 0);
	/* kept: same state, same schedule; removed: not scheduled; added: scheduled */
	assert_int_equal(monitor_status(m, 1)->state, TARGET_UP);
	assert_int_equal(monitor_next_due(m, 1), due1);
	assert_int_equal(monitor_next_due(m, 6), 0);
	assert_true(monitor_next_due(m, 8) > T0_MONO);
	struct monitor_stats st;
	monitor_get_stats(m, &st);
	assert_int_equal(st.targets, 5);
	monitor_free(m);
	table_free(t2);
	table_free(t1);
	free(s);
}

/* Sharding: foreign targets are not scheduled, do not change state, are
 * not counted; taken back, they start at their phase. */
static void test_foreign(void **state)
{
	(void)state;
	uint16_t ports[] = { 80 };
	struct table_group g = one_group(1 * NSEC_PER_SEC, 1);
	struct table *t = make_table(300, ports, 1, &g);
	struct sink *s = calloc(1, sizeof(*s));
	struct monitor *m = make_monitor(t, s, 100000);
	uint8_t *foreign = calloc(t->tl.n, 1);
	uint32_t *per = calloc(t->tl.n, sizeof(*per));
	struct monitor_stats ms;

	for (size_t id = 0; id < t->tl.n; id++)
		foreign[id] = id % 3 != 0;
	assert_int_equal(monitor_set_foreign(m, foreign, T0_MONO, T0_REAL), 100);
	run_clock(m, 3.0, per, NULL);
	for (size_t id = 0; id < t->tl.n; id++) {
		if (foreign[id])
			assert_int_equal(per[id], 0);
		else
			assert_in_range(per[id], 2, 3);
	}
	/* a check that was in flight when its target left reports, changes nothing */
	report(m, 1, T0_REAL + 3 * NSEC_PER_SEC, PROBE_CLOSED, -1);
	assert_int_equal(s->n_results, 1);
	assert_int_equal(s->n_ev, 0);
	assert_int_equal(monitor_status(m, 1)->state, TARGET_UNKNOWN);
	monitor_get_stats(m, &ms);
	assert_int_equal(ms.targets, 100);
	/* ours again: due at the next phase */
	assert_int_equal(monitor_set_foreign(m, NULL, T0_MONO + 3 * NSEC_PER_SEC, T0_REAL + 3 * NSEC_PER_SEC), 300);
	assert_true(monitor_next_due(m, 1) > T0_MONO + 3 * NSEC_PER_SEC);
	assert_true(monitor_next_due(m, 1) <= T0_MONO + 4 * NSEC_PER_SEC);
	monitor_get_stats(m, &ms);
	assert_int_equal(ms.targets, 300);
	assert_int_equal(ms.taken_over, 200);
	free(per);
	free(foreign);
	free_all(m, t, s);
}

/* Service checks: a SYN answered starts the port's check when due; the
 * check's verdict decides the state (a SYN answer does not bring a failing
 * service back up), with its text on the event; certificates degrade and
 * fail; a check not due is not started twice. */
struct checks_sink {
	uint32_t started[8];
	size_t n_started;
	char detail[256];
};

static struct checks_sink *csink;

/* Whether m holds per-target service check states (--mem-report's item). */
static bool has_check_states(const struct monitor *m)
{
	struct memuse u = { 0 };
	bool has = false;

	monitor_memuse(m, &u);
	for (size_t i = 0; i < u.n; i++)
		has |= !strcmp(u.v[i].what, "monitor.service_checks");
	return has;
}

static void on_start_check(void *ctx, uint32_t id, struct check_spec *spec)
{
	(void)ctx;
	assert_true(csink->n_started < 8);
	csink->started[csink->n_started++] = id;
	check_spec_unref(spec);
}

static void on_detail(void *ctx, uint64_t id, const char *text)
{
	(void)ctx;
	(void)id;
	snprintf(csink->detail, sizeof(csink->detail), "%s", text);
}

static void test_service_checks(void **state)
{
	(void)state;
	struct table_group g = one_group(10 * NSEC_PER_SEC, 2);
	struct target_list tl;
	struct table *t;
	char err[256];
	struct sink *s = calloc(1, sizeof(*s));
	struct checks_sink cs = { 0 };
	struct monitor *m;

	csink = &cs;
	g.check = check_spec_new(CHECK_POSTGRES);
	target_list_init(&tl, 0, TARGET_FAMILY_V4);
	assert_int_equal(target_list_add_spec(&tl, "198.18.0.1:5432", NULL, NULL, NULL, err, sizeof(err)), 1);
	assert_int_equal(target_list_add_spec(&tl, "198.18.0.2:443/tls", NULL, NULL, NULL, err, sizeof(err)), 1);
	assert_int_equal(table_from_list(&t, &tl, &g, "lab"), 0);
	check_spec_unref(g.check); /* the table holds its own reference */
	assert_int_equal(table_check(t, 0)->kind, CHECK_POSTGRES);
	assert_int_equal(table_check(t, 1)->kind, CHECK_TLS);
	struct monitor_config cfg = {
		.rate_cap = 100000, .emit_result = on_result, .emit_event = on_event, .start_check = on_start_check,
		.emit_detail = on_detail, .ctx = s,
	};
	/* without any service check in the table, no per-target check state */
	uint16_t ports[] = { 80 };
	struct table_group plain = one_group(10 * NSEC_PER_SEC, 2);
	struct table *t0 = make_table(4, ports, 1, &plain);
	struct monitor *m0;
	assert_int_equal(monitor_new(&m0, &cfg, t0, T0_MONO, T0_REAL), 0);
	assert_false(has_check_states(m0));
	monitor_free(m0);
	table_free(t0);

	assert_int_equal(monitor_new(&m, &cfg, t, T0_MONO, T0_REAL), 0);
	assert_true(has_check_states(m));

	/* the SYN answers: the check starts; the port waits for its verdict */
	report(m, 0, T0_REAL, PROBE_OPEN, 1000);
	assert_int_equal(cs.n_started, 1);
	assert_int_equal(cs.started[0], 0);
	assert_int_equal(monitor_status(m, 0)->state, TARGET_UNKNOWN);
	/* while it runs, another SYN answer starts no second one */
	report(m, 0, T0_REAL + 1 * NSEC_PER_SEC, PROBE_OPEN, 1000);
	assert_int_equal(cs.n_started, 1);

	/* the check fails: at the second failure (failures: 2), down with its words */
	struct check_result c = { .target = 0, .ts_real_ns = T0_REAL + 2 * NSEC_PER_SEC, .kind = CHECK_POSTGRES };
	check_fail(&c.v, "FATAL: sorry, too many clients already (53300)");
	monitor_on_check(m, &c);
	assert_int_equal(monitor_status(m, 0)->state, TARGET_UNKNOWN);
	/* SYNs still answered: no evidence either way, the check is not due yet */
	report(m, 0, T0_REAL + 3 * NSEC_PER_SEC, PROBE_OPEN, 1000);
	assert_int_equal(monitor_status(m, 0)->state, TARGET_UNKNOWN);
	assert_int_equal(cs.n_started, 1);
	/* due again one interval later */
	report(m, 0, T0_REAL + 13 * NSEC_PER_SEC, PROBE_OPEN, 1000);
	assert_int_equal(cs.n_started, 2);
	c.ts_real_ns = T0_REAL + 13 * NSEC_PER_SEC;
	size_t before = s->n_ev;
	monitor_on_check(m, &c);
	assert_int_equal(monitor_status(m, 0)->state, TARGET_DOWN);
	assert_int_equal(monitor_status(m, 0)->reason, REASON_CHECK_FAILED);
	assert_int_equal(s->n_ev, before + 1);
	assert_int_equal(s->ev[before].reason, REASON_CHECK_FAILED);
	assert_int_equal(s->ev[before].check, CHECK_POSTGRES);
	assert_int_equal(s->ev[before].detail, 1);
	assert_string_equal(cs.detail, "FATAL: sorry, too many clients already (53300)");
	/* a SYN answer does not bring it back; the next passing check does */
	report(m, 0, T0_REAL + 20 * NSEC_PER_SEC, PROBE_OPEN, 1000);
	assert_int_equal(monitor_status(m, 0)->state, TARGET_DOWN);
	report(m, 0, T0_REAL + 24 * NSEC_PER_SEC, PROBE_OPEN, 1000);
	assert_int_equal(cs.n_started, 3);
	struct check_result ok = { .target = 0, .ts_real_ns = T0_REAL + 24 * NSEC_PER_SEC, .kind = CHECK_POSTGRES,
				   .v = { .ok = true } };
	monitor_on_check(m, &ok);
	assert_int_equal(monitor_status(m, 0)->state, TARGET_UP);

	/* the checker too far behind to take a due check: skipped, not failed;
	 * the port stays up and the check is due again at the next answer */
	report(m, 0, T0_REAL + 35 * NSEC_PER_SEC, PROBE_OPEN, 1000);
	assert_int_equal(cs.n_started, 4);
	before = s->n_ev;
	for (int i = 0; i < 3; i++) {
		monitor_check_skipped(m, 0);
		assert_int_equal(monitor_status(m, 0)->state, TARGET_UP);
		report(m, 0, T0_REAL + (36 + i) * NSEC_PER_SEC, PROBE_OPEN, 1000);
		assert_int_equal(cs.n_started, 5 + (size_t)i);
	}
	assert_int_equal(s->n_ev, before);
	struct monitor_stats mst;
	monitor_get_counters(m, &mst);
	assert_int_equal(mst.checks_skipped, 3);
	monitor_on_check(m, &ok);
	assert_int_equal(monitor_status(m, 0)->state, TARGET_UP);

	/* certificates: 10 days left degrades (warn 14), 2 days fails (crit 3) */
	report(m, 1, T0_REAL, PROBE_OPEN, 1000);
	assert_int_equal(cs.started[cs.n_started - 1], 1);
	struct check_result tls = { .target = 1, .ts_real_ns = T0_REAL, .kind = CHECK_TLS, .v = { .ok = true } };
	tls.tls.not_after_s = T0_REAL / NSEC_PER_SEC + 10 * 86400 + 3600;
	monitor_on_check(m, &tls);
	assert_int_equal(monitor_status(m, 1)->state, TARGET_DEGRADED);
	assert_int_equal(monitor_status(m, 1)->reason, REASON_CERT_EXPIRING);
	assert_string_equal(cs.detail, "certificate expires in 10 days");
	/* a SYN answer keeps it degraded: the certificate has not changed */
	report(m, 1, T0_REAL + 5 * NSEC_PER_SEC, PROBE_OPEN, 1000);
	assert_int_equal(monitor_status(m, 1)->state, TARGET_DEGRADED);
	tls.tls.not_after_s = T0_REAL / NSEC_PER_SEC + 2 * 86400;
	monitor_on_check(m, &tls);
	monitor_on_check(m, &tls);
	assert_int_equal(monitor_status(m, 1)->state, TARGET_DOWN);
	assert_int_equal(monitor_status(m, 1)->reason, REASON_CERT_EXPIRED);
	assert_string_equal(cs.detail, "certificate expires in 2 days");
	free_all(m, t, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_checks),
		cmocka_unit_test(test_intervals_and_phase),
		cmocka_unit_test(test_spreading),
		cmocka_unit_test(test_stretch_table),
		cmocka_unit_test(test_overload_stretches),
		cmocka_unit_test(test_states_and_hosts),
		cmocka_unit_test(test_degraded_reason),
		cmocka_unit_test(test_host_with_ping),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_isolation_small),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_foreign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
