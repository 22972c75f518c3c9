/* engine/rate on a virtual clock: a simulated sender polls the limiter in
 * several patterns and every packet's send time is recorded; the schedule
 * must be exact, every one-second window must hold pps packets (give or take
 * the packets one polling gap can delay), stalls must not turn into bursts
 * beyond max_lag and idling must earn nothing. No real time is involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "engine/rate.h"

#define BATCH 64
#define SIM_START (5 * NSEC_PER_SEC + 123) /* not 0: catches start-relative slips */

enum poll_kind {
	POLL_FIXED,   /* every period */
	POLL_RANDOM,  /* uniform gaps in [0, 2 * period] */
	POLL_SLEEPER, /* like the sender: sleep until rate_next_ns, wake up to `period` late */
};

struct sim {
	uint64_t *t; /* send time of each packet, non-decreasing */
	size_t n, cap;
	uint64_t max_gap;
	uint64_t seed;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* packets due in [start, start + d]: k * 1e9 / pps <= d */
static uint64_t expected(uint64_t pps, uint64_t d)
{
	return (uint64_t)((unsigned __int128)d * pps / NSEC_PER_SEC) + 1;
}

/* What the sender does at one wake-up: send what is due, in batches, until
 * less than a batch was due. */
static void drain(struct rate_limiter *r, uint64_t now, struct sim *s)
{
	uint32_t n;

	do {
		n = rate_due(r, now, BATCH);
		assert_true(n <= BATCH);
		assert_true(s->n + n <= s->cap);
		for (uint32_t i = 0; i < n; i++)
			s->t[s->n++] = now;
		rate_take(r, n);
	} while (n == BATCH);
	/* nothing left due: the limiter must name a future instant, and
	 * that instant must release at least one packet */
	struct rate_limiter probe = *r;
	uint64_t next = rate_next_ns(&probe);
	assert_true(next > now);
	assert_int_equal(rate_due(&probe, next - 1, BATCH), 0);
	assert_true(rate_due(&probe, next, BATCH) >= 1);
}

/* Checks every one-second window, [a, a + 1s) and (a, a + 1s], anchored at
 * a packet time a from start + 1 s until the end. */
static void check_windows(const struct sim *s, uint64_t pps, uint64_t from, uint64_t end)
{
	uint64_t tol = 1 + (s->max_gap * pps + NSEC_PER_SEC - 1) / NSEC_PER_SEC;
	size_t hi_co = 0, hi_oc = 0, checked = 0;

	/* the ±2% the design asks for must hold whatever the polling */
	assert_true(tol * 50 <= pps || tol <= 2);
	for (size_t i = 0; i < s->n; i++) {
		uint64_t a = s->t[i];
		if (a < from || a + NSEC_PER_SEC > end)
			continue;
		if (i > 0 && s->t[i - 1] == a)
			continue; /* one window per distinct time */
		/* [a, a + 1s): from i to the first packet at >= a + 1s */
		if (hi_co < i)
			hi_co = i;
		while (hi_co < s->n && s->t[hi_co] < a + NSEC_PER_SEC)
			hi_co++;
		int64_t c1 = (int64_t)(hi_co - i) - (int64_t)pps;
		/* (a, a + 1s]: after the packets at a, up to a + 1s inclusive */
		size_t lo = i;
		while (lo < s->n && s->t[lo] == a)
			lo++;
		if (hi_oc < lo)
			hi_oc = lo;
		while (hi_oc < s->n && s->t[hi_oc] <= a + NSEC_PER_SEC)
			hi_oc++;
		int64_t c2 = (int64_t)(hi_oc - lo) - (int64_t)pps;
		if (c1 < -(int64_t)tol || c1 > (int64_t)tol || c2 < -(int64_t)tol || c2 > (int64_t)tol)
			fail_msg("pps %llu: window at %llu holds %lld / %lld packets off, tolerance %llu",
				 (unsigned long long)pps, (unsigned long long)a, (long long)c1, (long long)c2,
				 (unsigned long long)tol);
		checked++;
	}
	assert_true(checked > 0);
}

static void run_pattern(uint64_t pps, enum poll_kind kind, uint64_t period, struct sim *s)
{
	struct rate_limiter r;
	uint64_t dur = (pps < 1000 ? 6 : 3) * NSEC_PER_SEC, end = SIM_START + dur, now = SIM_START;

	s->n = 0;
	s->max_gap = 0;
	rate_init(&r, pps, SIM_START);
	while (now < end) {
		drain(&r, now, s);
		/* exact: never a packet more or less than the schedule allows */
		assert_int_equal(s->n, expected(pps, now - SIM_START));
		uint64_t next;
		switch (kind) {
		case POLL_FIXED: next = now + period; break;
		case POLL_RANDOM: next = now + rnd(&s->seed) % (2 * period + 1); break;
		default: next = rate_next_ns(&r) + rnd(&s->seed) % (period + 1); break;
		}
		/* the delay a packet can suffer: from its due time to the poll */
		uint64_t gap = kind == POLL_SLEEPER ? next - rate_next_ns(&r) : next - now;
		if (gap > s->max_gap)
			s->max_gap = gap;
		now = next;
	}
	assert_true(s->max_gap < r.max_lag_ns); /* else debt would be forgiven */
	check_windows(s, pps, SIM_START + NSEC_PER_SEC, s->t[s->n - 1]);
}

/* the design's rates, and one that does not divide a second */
static const uint64_t rates[] = { 100, 1000, 7777, 10000, 100000, 1000000, 2500000 };

static struct sim *sim_new(void)
{
	struct sim *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	/* the longest run: 2.5 Mpps for 3 s (the stall test: 2.5 s + burst) */
	s->cap = 2500000 * 3 + 10000;
	s->t = malloc(s->cap * sizeof(*s->t));
	assert_non_null(s->t);
	s->seed = 0x243f6a8885a308d3ULL;
	return s;
}

static void sim_free(struct sim *s)
{
	free(s->t);
	free(s);
}

static void test_exact_windows(void **state)
{
	(void)state;
	static const struct {
		enum poll_kind kind;
		uint64_t period;
	} patterns[] = {
		{ POLL_FIXED, 1000 },           { POLL_FIXED, 37 * NSEC_PER_USEC + 11 },
		{ POLL_FIXED, 250 * NSEC_PER_USEC }, { POLL_RANDOM, 1000 },
		{ POLL_RANDOM, 100 * NSEC_PER_USEC }, { POLL_RANDOM, 400 * NSEC_PER_USEC },
		{ POLL_SLEEPER, 0 },            { POLL_SLEEPER, 60 * NSEC_PER_USEC },
		{ POLL_SLEEPER, 450 * NSEC_PER_USEC },
	};
	struct sim *s = sim_new();

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++)
			run_pattern(rates[i], patterns[p].kind, patterns[p].period, s);
	sim_free(s);
}

static void test_default_max_lag(void **state)
{
	(void)state;
	struct rate_limiter r;

	rate_init(&r, 100, 0);
	assert_int_equal(r.max_lag_ns, 640 * NSEC_PER_MSEC); /* 64 intervals */
	rate_init(&r, 3200, 0);
	assert_int_equal(r.max_lag_ns, 20 * NSEC_PER_MSEC);
	rate_init(&r, 1000, 0);
	assert_int_equal(r.max_lag_ns, 64 * NSEC_PER_MSEC);
	/* 2 % of a second: a window that lost no more still holds +-2 % */
	rate_init(&r, 10000, 0);
	assert_int_equal(r.max_lag_ns, 20 * NSEC_PER_MSEC);
	rate_init(&r, 2500000, 0);
	assert_int_equal(r.max_lag_ns, 20 * NSEC_PER_MSEC);
}

/* A stall (the thread preempted, a blocked send) is followed by at most
 * max_lag worth of packets, then the plain rate. */
static void stall(uint64_t pps, uint64_t stall_ns, struct sim *s)
{
	struct rate_limiter r;
	uint64_t now = SIM_START, poll = 10 * NSEC_PER_USEC;

	s->n = 0;
	rate_init(&r, pps, now);
	for (; now < SIM_START + NSEC_PER_SEC / 2; now += poll)
		drain(&r, now, s);
	now += stall_ns;
	uint64_t resume = now, lag = r.max_lag_ns;
	struct rate_limiter probe = r;
	uint64_t burst = rate_due(&probe, now, UINT32_MAX);
	uint64_t cap = expected(pps, lag);
	uint64_t owed = expected(pps, stall_ns < lag ? stall_ns : lag) - 1;
	if (burst > cap || burst < owed)
		fail_msg("pps %llu stall %llu ns: %llu due at once, want %llu..%llu", (unsigned long long)pps,
			 (unsigned long long)stall_ns, (unsigned long long)burst, (unsigned long long)owed,
			 (unsigned long long)cap);
	size_t first = s->n;
	for (; now < resume + 2 * NSEC_PER_SEC; now += poll)
		drain(&r, now, s);
	/* the second after the stall: the plain rate plus at most the burst */
	size_t k = first;
	while (k < s->n && s->t[k] < resume + NSEC_PER_SEC)
		k++;
	uint64_t in_first = k - first, tol = 1 + (poll * pps + NSEC_PER_SEC - 1) / NSEC_PER_SEC;
	assert_true(in_first <= pps + cap + tol);
	assert_true(in_first + tol >= pps);
	/* from then on the plain rate: no catching up on forgiven debt */
	s->max_gap = poll;
	check_windows(s, pps, resume + lag + poll, s->t[s->n - 1]);
}

static void test_stall(void **state)
{
	(void)state;
	struct sim *s = sim_new();

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		stall(rates[i], 50 * NSEC_PER_MSEC, s);
		stall(rates[i], 3 * NSEC_PER_SEC, s);
	}
	sim_free(s);
}

static void test_idle_earns_nothing(void **state)
{
	(void)state;
	struct rate_limiter r;
	uint64_t now = SIM_START;

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		uint64_t pps = rates[i];
		rate_init(&r, pps, now);
		/* one second with an empty request ring, polled as the
		 * sender does: due, nothing to pop, rate_idle */
		for (uint64_t end = now + NSEC_PER_SEC; now < end; now += 150 * NSEC_PER_USEC)
			if (rate_due(&r, now, BATCH))
				rate_idle(&r, now);
		/* requests arrive between two polls; the sender, having been
		 * idle, restarts the schedule at its wake-up: exactly one is
		 * due now, the next one interval later */
		rate_idle(&r, now);
		assert_int_equal(rate_due(&r, now, UINT32_MAX), 1);
		rate_take(&r, 1);
		uint64_t interval = (NSEC_PER_SEC + pps - 1) / pps; /* ceil */
		assert_int_equal(rate_due(&r, now + interval - 1, UINT32_MAX), 0);
		assert_int_equal(rate_due(&r, now + interval, UINT32_MAX), 1);
		/* without rate_idle the same pause would have released a burst */
		struct rate_limiter lazy;
		rate_init(&lazy, pps, now);
		assert_true(rate_due(&lazy, now + NSEC_PER_SEC, UINT32_MAX) > 1);
		/* idling while ahead of schedule changes nothing */
		uint64_t next = rate_next_ns(&r);
		rate_idle(&r, now);
		assert_int_equal(rate_next_ns(&r), next);
		now += 2 * NSEC_PER_SEC;
	}
}

static void test_unlimited(void **state)
{
	(void)state;
	struct rate_limiter r;

	rate_init(&r, 0, 1000);
	for (uint64_t t = 0; t < 10; t++) {
		assert_int_equal(rate_due(&r, 1000 + t, 64), 64);
		assert_int_equal(rate_due(&r, 0, 1024), 1024);
		rate_take(&r, 1000000);
		rate_idle(&r, 5000);
	}
	assert_int_equal(rate_due(&r, 1000, UINT32_MAX), UINT32_MAX);
}

/* Rates that do not divide a second: the carried remainder keeps packet k
 * at exactly start + k * 1e9 / pps, however the takes are grouped. */
static void test_no_drift(void **state)
{
	(void)state;
	static const uint64_t odd[] = { 3, 7, 999983, 3000000007ULL };

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct rate_limiter a, b;
		uint64_t pps = odd[i], k = 0;
		rate_init(&a, pps, SIM_START);
		rate_init(&b, pps, SIM_START);
		for (uint32_t step = 1; k < 5000000; step = step % 1000 + 7) {
			rate_take(&a, step);
			k += step;
		}
		rate_take(&b, (uint32_t)k);
		assert_int_equal(rate_next_ns(&a), rate_next_ns(&b));
		/* ceil(k * 1e9 / pps) */
		unsigned __int128 exact = (unsigned __int128)k * NSEC_PER_SEC;
		uint64_t want = SIM_START + (uint64_t)((exact + pps - 1) / pps);
		assert_int_equal(rate_next_ns(&a), want);
	}
	/* above 1e9 pps several packets share a nanosecond */
	struct rate_limiter r;
	rate_init(&r, 3000000000ULL, 100);
	assert_int_equal(rate_due(&r, 100, UINT32_MAX), 1);
	assert_int_equal(rate_due(&r, 101, UINT32_MAX), 4);
	assert_int_equal(rate_due(&r, 99, UINT32_MAX), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_max_lag),
		cmocka_unit_test(test_exact_windows),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_idle_earns_nothing),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_no_drift),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
