/* store/minutes: per-minute latency records from compact samples. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "store/minutes.h"

#define MIN_NS (60 * NSEC_PER_SEC)
#define M0 INT64_C(29926140) /* a Unix minute: 2026-11-25T01:00:00Z */
#define AT(minute, sec) (((M0) + (minute)) * MIN_NS + (int64_t)(sec) * NSEC_PER_SEC)

/* What the callback got: every record, copied. */
struct got {
	struct rec {
		uint32_t target;
		struct lat_minute lm;
	} *v;
	size_t n, cap;
};

static void collect(void *ctx, uint32_t target, const struct lat_minute *lm)
{
	struct got *g = ctx;

	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->v = realloc(g->v, g->cap * sizeof(*g->v));
		assert_non_null(g->v);
	}
	g->v[g->n].target = target;
	g->v[g->n].lm = *lm;
	g->n++;
}

struct fix {
	struct minutes *m;
	struct got g;
};

static int setup(void **state)
{
	struct fix *x = calloc(1, sizeof(*x));

	if (!x || minutes_new(&x->m) < 0)
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fix *x = *state;

	minutes_free(x->m);
	free(x->g.v);
	free(x);
	return 0;
}

static void add(struct minutes *m, uint32_t target, int64_t ts, uint8_t state, int64_t rtt)
{
	struct probe_result r = { .ts_real_ns = ts, .rtt_ns = rtt, .state = state, .target = target };
	assert_int_equal(minutes_add(m, &r), 0);
}

static void check_rec(const struct rec *r, uint32_t target, int64_t minute, uint32_t count, uint32_t lost,
		      int64_t min_ns, int64_t max_ns, int64_t sum_ns)
{
	assert_int_equal(r->target, target);
	assert_int_equal(r->lm.minute_start_s, (M0 + minute) * 60);
	assert_int_equal(r->lm.count, count);
	assert_int_equal(r->lm.lost, lost);
	assert_int_equal(r->lm.min_ns, min_ns);
	assert_int_equal(r->lm.max_ns, max_ns);
	assert_int_equal(r->lm.sum_ns, sum_ns);
}

static void test_boundaries_and_loss(void **state)
{
	struct fix *x = *state;
	struct minutes *m = x->m;
	struct got *g = &x->g;
	struct minutes_stats st;

	add(m, 7, AT(0, 0), PROBE_OPEN, 1000);           /* first ns of minute 0 */
	add(m, 7, AT(0, 60) - 1, PROBE_CLOSED, 3000);    /* last ns of minute 0 */
	add(m, 7, AT(1, 0), PROBE_OPEN, 5000);           /* minute 1 */
	add(m, 3, AT(0, 30), PROBE_FILTERED, -1);        /* losses */
	add(m, 3, AT(0, 31), PROBE_ERROR, -1);
	add(m, 3, AT(0, 32), PROBE_UNREACHABLE, 2000000);
	add(m, 9, AT(0, 33), PROBE_OPEN, -1);            /* answered without an RTT: neither */
	add(m, 9, AT(0, 34), PROBE_STATE_COUNT, 100);    /* not a state: ignored */
	add(m, 2, AT(0, 35), PROBE_OPEN, 200 * NSEC_PER_SEC); /* clamped to LAT_NS_MAX */
	minutes_stats(m, &st);
	assert_int_equal(st.samples, 7);
	assert_int_equal(st.held, 7);
	assert_int_equal(st.late, 0);

	assert_int_equal(minutes_flush_all(m, collect, g), 4);
	assert_int_equal(g->n, 4);
	check_rec(&g->v[0], 2, 0, 1, 0, LAT_NS_MAX / 1000 * 1000, LAT_NS_MAX / 1000 * 1000,
		  LAT_NS_MAX / 1000 * 1000);
	check_rec(&g->v[1], 3, 0, 1, 2, 2000000, 2000000, 2000000);
	check_rec(&g->v[2], 7, 0, 2, 0, 1000, 3000, 4000);
	check_rec(&g->v[3], 7, 1, 1, 0, 5000, 5000, 5000);
	assert_true(lat_minute_loss_ratio(&g->v[1].lm) > 0.66 && lat_minute_loss_ratio(&g->v[1].lm) < 0.67);
	minutes_stats(m, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.records, 4);
	/* delivered minutes are over: what comes for them is late */
	add(m, 7, AT(1, 10), PROBE_OPEN, 1000);
	minutes_stats(m, &st);
	assert_int_equal(st.late, 1);
	assert_int_equal(minutes_flush_all(m, collect, g), 0);
	minutes_free(NULL);
}

static void test_rtt_precision(void **state)
{
	struct fix *x = *state;
	struct minutes *m = x->m;
	struct got *g = &x->g;
	const int64_t exact = 2147483647;              /* 2^31 - 1 ns: kept to the ns */
	const int64_t coarse = 2147483648LL + 123456;  /* above: to the us */

	add(m, 1, AT(0, 1), PROBE_OPEN, exact);
	add(m, 1, AT(0, 2), PROBE_OPEN, coarse);
	add(m, 1, AT(0, 3), PROBE_OPEN, 0);
	minutes_flush_all(m, collect, g);
	assert_int_equal(g->n, 1);
	check_rec(&g->v[0], 1, 0, 3, 0, 0, coarse / 1000 * 1000, exact + coarse / 1000 * 1000);
}

static void test_flush_grace(void **state)
{
	struct fix *x = *state;
	struct minutes *m = x->m;
	struct got *g = &x->g;

	add(m, 1, AT(0, 10), PROBE_OPEN, 1000);
	add(m, 1, AT(1, 10), PROBE_OPEN, 2000);
	/* minute 0 ends at AT(1, 0): not before 5 s later */
	assert_int_equal(minutes_flush(m, AT(0, 59), collect, g), 0);
	assert_int_equal(minutes_flush(m, AT(1, 0), collect, g), 0);
	assert_int_equal(minutes_flush(m, AT(1, 5) - 1, collect, g), 0);
	/* a late result inside the grace still counts */
	add(m, 2, AT(0, 59), PROBE_OPEN, 3000);
	assert_int_equal(minutes_flush(m, AT(1, 5), collect, g), 2);
	check_rec(&g->v[0], 1, 0, 1, 0, 1000, 1000, 1000);
	check_rec(&g->v[1], 2, 0, 1, 0, 3000, 3000, 3000);
	/* after the flush it is late */
	add(m, 2, AT(0, 59), PROBE_OPEN, 3000);
	struct minutes_stats st;
	minutes_stats(m, &st);
	assert_int_equal(st.late, 1);
	assert_int_equal(st.held, 1);
	/* minute 1 waits for its own end */
	assert_int_equal(minutes_flush(m, AT(2, 4), collect, g), 0);
	assert_int_equal(minutes_flush(m, AT(3, 0), collect, g), 1);
	check_rec(&g->v[2], 1, 1, 1, 0, 2000, 2000, 2000);
	/* a clock before the epoch's first minute flushes nothing */
	add(m, 1, AT(5, 0), PROBE_OPEN, 1);
	assert_int_equal(minutes_flush(m, 0, collect, g), 0);
	assert_int_equal(minutes_flush(m, -1, collect, g), 0);
}

static void test_open_window(void **state)
{
	struct fix *x = *state;
	struct minutes *m = x->m;
	struct got *g = &x->g;
	struct minutes_stats st;

	/* out of order within the window of three minutes */
	add(m, 1, AT(2, 0), PROBE_OPEN, 2000);
	add(m, 1, AT(0, 0), PROBE_OPEN, 1000);
	add(m, 1, AT(1, 0), PROBE_OPEN, 1500);
	/* older than newest - 2: late, and never opened */
	add(m, 1, AT(-1, 59), PROBE_OPEN, 999);
	minutes_stats(m, &st);
	assert_int_equal(st.late, 1);
	assert_int_equal(st.samples, 3);
	/* minute 3 closes minute 0: it goes at the next flush, whatever the time */
	add(m, 1, AT(3, 0), PROBE_OPEN, 3000);
	add(m, 1, AT(0, 30), PROBE_OPEN, 999);
	minutes_stats(m, &st);
	assert_int_equal(st.late, 2);
	assert_int_equal(minutes_flush(m, AT(0, 0), collect, g), 1);
	check_rec(&g->v[0], 1, 0, 1, 0, 1000, 1000, 1000);
	/* a jump ahead closes the other three; the new minute stays open */
	add(m, 1, AT(10, 0), PROBE_OPEN, 4000);
	assert_int_equal(minutes_flush(m, AT(0, 0), collect, g), 3);
	check_rec(&g->v[1], 1, 1, 1, 0, 1500, 1500, 1500);
	check_rec(&g->v[2], 1, 2, 1, 0, 2000, 2000, 2000);
	check_rec(&g->v[3], 1, 3, 1, 0, 3000, 3000, 3000);
	minutes_stats(m, &st);
	assert_int_equal(st.held, 1);
	assert_int_equal(minutes_flush_all(m, collect, g), 1);
	check_rec(&g->v[4], 1, 10, 1, 0, 4000, 4000, 4000);
}

static void test_negative_ts_is_late(void **state)
{
	struct minutes *m = ((struct fix *)*state)->m;
	struct minutes_stats st;

	add(m, 1, -1, PROBE_OPEN, 1000);
	add(m, 1, -MIN_NS * 5, PROBE_FILTERED, -1);
	minutes_stats(m, &st);
	assert_int_equal(st.late, 2);
	assert_int_equal(st.held, 0);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The built minute equals one made sample by sample, and its quantiles are
 * within the histogram's error of the exact nearest-rank ones. */
static void test_quantiles(void **state)
{
	struct fix *x = *state;
	struct minutes *m = x->m;
	struct got *g = &x->g;
	struct lat_minute ref;
	enum { N = 1000 };
	int64_t v[N];

	lat_minute_init(&ref, (M0 + 4) * 60);
	for (int i = 0; i < N; i++) {
		/* 1 us .. 100 ms, spread evenly on a log scale, in a scrambled order */
		v[i] = (int64_t)(1000.0 * exp((double)(i * 389 % N) * log(1e5) / N)) + i % 7;
		add(m, 42, AT(4, i % 60), PROBE_OPEN, v[i]);
		add(m, 41, AT(4, i % 60), PROBE_OPEN, 5000);
		lat_minute_add(&ref, v[i]);
	}
	minutes_flush_all(m, collect, g);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->v[1].target, 42);
	assert_memory_equal(&g->v[1].lm, &ref, sizeof(ref));
	qsort(v, N, sizeof(v[0]), cmp_i64);
	static const double ps[] = { 0.5, 0.9, 0.95, 0.99, 1.0 };
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		size_t rank = (size_t)(ps[i] * N + 0.999999);
		int64_t exact = v[rank - 1], q = lat_minute_quantile(&g->v[1].lm, ps[i]);
		assert_true(llabs(q - exact) <= exact / 32 + 500);
	}
	/* a target with one RTT: every quantile is exact */
	assert_int_equal(lat_minute_quantile(&g->v[0].lm, 0.5), 5000);
	assert_int_equal(lat_minute_quantile(&g->v[0].lm, 0.99), 5000);
}

struct many {
	uint32_t next; /* the index of the next target expected */
	uint64_t lost;
	bool ok;
};

#define MANY_TARGETS 200000
#define MANY_STRIDE 20000u /* ids up to 4e9: all three radix digits */

/* Every target once, in id order, with its six results. */
static void many_fn(void *ctx, uint32_t target, const struct lat_minute *lm)
{
	struct many *c = ctx;
	int64_t base = 1000 + (int64_t)(target % 1000) * 1000;

	if (target != c->next * MANY_STRIDE || lm->count + lm->lost != 6 || lm->lost > 1 ||
	    lm->min_ns != base || lm->max_ns != base + (lm->lost ? 4 : 5) || lm->minute_start_s != M0 * 60)
		c->ok = false;
	c->lost += lm->lost;
	c->next++;
}

static void test_many_targets(void **state)
{
	struct minutes *m = ((struct fix *)*state)->m;
	struct minutes_stats st;
	struct many c = { .ok = true };

	/* results come in schedule order, not by id */
	for (int k = 0; k < 6; k++)
		for (uint32_t i = 0; i < MANY_TARGETS; i++) {
			uint32_t id = (uint32_t)((uint64_t)i * 7919 % MANY_TARGETS) * MANY_STRIDE;
			if (k == 5 && i % 7 == 0)
				add(m, id, AT(0, k * 10), PROBE_FILTERED, -1);
			else
				add(m, id, AT(0, k * 10), PROBE_OPEN, 1000 + (int64_t)(id % 1000) * 1000 + k);
		}
	minutes_stats(m, &st);
	assert_int_equal(st.held, MANY_TARGETS * 6);
	assert_int_equal(minutes_flush(m, AT(1, 4), many_fn, &c), 0);
	assert_int_equal(minutes_flush(m, AT(1, 5), many_fn, &c), MANY_TARGETS);
	assert_true(c.ok);
	assert_int_equal(c.next, MANY_TARGETS);
	assert_int_equal(c.lost, (MANY_TARGETS + 6) / 7);
	minutes_stats(m, &st);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.records, MANY_TARGETS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_boundaries_and_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtt_precision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_ts_is_late, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quantiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_targets, setup, teardown),
	};
	return cmocka_run_group_tests_name("minutes", tests, NULL, NULL);
}
