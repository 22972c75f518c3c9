/* common/latency: bucket bounds, quantiles against sorted samples, merges,
 * and the text form (round trips and a catalogue of malformed input). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/latency.h"

#define LAST (LAT_NBUCKETS - 1)

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* An RTT spread over the whole range, log-uniform, with some at the ends. */
static int64_t rnd_rtt(void)
{
	switch (rnd() % 8) {
	case 0:
		return (int64_t)(rnd() % 20000); /* the 1 us buckets */
	case 1:
		return LAT_NS_MAX - (int64_t)(rnd() % 3);
	default:
		return (int64_t)(rnd() % ((uint64_t)1 << (rnd() % 37)));
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Decodes a heap copy of exactly strlen(s) bytes, so that ASan sees any read
 * past the end. */
static int decode_exact(struct lat_minute *m, const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	int r = lat_decode(m, copy, len);
	free(copy);
	return r;
}

static void test_bucket_bounds(void **state)
{
	(void)state;
	assert_int_equal(lat_bucket_lower(0), 0);
	assert_int_equal(lat_bucket_upper(LAST), LAT_NS_MAX + 1);
	assert_true(lat_bucket_upper(LAST) >= 120 * INT64_C(1000000000));
	for (int i = 0; i < LAT_NBUCKETS; i++) {
		int64_t lo = lat_bucket_lower(i), hi = lat_bucket_upper(i);
		assert_true(lo < hi);
		assert_int_equal(lo % 1000, 0);
		assert_int_equal(hi % 1000, 0);
		if (i < 16)
			assert_int_equal(hi - lo, 1000);
		else
			assert_true((hi - lo) * 16 <= lo);
		if (i > 0)
			assert_int_equal(lo, lat_bucket_upper(i - 1));
		assert_int_equal(lat_bucket_of(lo), i);
		assert_int_equal(lat_bucket_of(hi - 1), i);
		if (i < LAST)
			assert_int_equal(lat_bucket_of(hi), i + 1);
	}
	assert_int_equal(lat_bucket_lower(-1), -EINVAL);
	assert_int_equal(lat_bucket_lower(LAT_NBUCKETS), -EINVAL);
	assert_int_equal(lat_bucket_upper(-1), -EINVAL);
	assert_int_equal(lat_bucket_upper(LAT_NBUCKETS), -EINVAL);
	/* the worked example of latency.h and docs/latency.md */
	assert_int_equal(lat_bucket_of(1234567), 115);
	assert_int_equal(lat_bucket_lower(115), 1216000);
	assert_int_equal(lat_bucket_upper(115), 1280000);
	assert_int_equal(lat_bucket_of(15999), 15);
	assert_int_equal(lat_bucket_of(16000), 16);
}

static void test_extremes(void **state)
{
	(void)state;
	struct lat_minute m;

	assert_int_equal(lat_bucket_of(0), 0);
	assert_int_equal(lat_bucket_of(999), 0);
	assert_int_equal(lat_bucket_of(-1), 0);
	assert_int_equal(lat_bucket_of(INT64_MIN), 0);
	assert_int_equal(lat_bucket_of(LAT_NS_MAX), LAST);
	assert_int_equal(lat_bucket_of(LAT_NS_MAX + 1), LAST);
	assert_int_equal(lat_bucket_of(INT64_MAX), LAST);

	lat_minute_init(&m, 60);
	assert_int_equal(lat_minute_add(&m, -5), 0);
	assert_int_equal(m.min_ns, 0);
	assert_int_equal(m.sum_ns, 0);
	assert_int_equal(lat_minute_quantile(&m, 0.5), 0); /* clamped to the one sample */
	assert_int_equal(lat_hist_quantile(&m.h, 0.5), 500);
	assert_int_equal(lat_minute_add(&m, INT64_MAX), 0);
	assert_int_equal(lat_minute_add(&m, INT64_MAX), 0);
	assert_int_equal(m.max_ns, LAT_NS_MAX);
	assert_int_equal(m.h.counts[0], 1);
	assert_int_equal(m.h.counts[LAST], 2);
	assert_int_equal(lat_minute_quantile(&m, 1), 132120576000); /* the midpoint of the last bucket */
	assert_int_equal(lat_minute_mean(&m), 2 * LAT_NS_MAX / 3);
}

static void test_quantiles(void **state)
{
	(void)state;
	enum { N = 5000 };
	static int64_t v[N];
	static const double ps[] = { 0, 0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1 };
	struct lat_minute m;

	for (int round = 0; round < 200; round++) {
		int n = 1 + (int)(rnd() % (round < 100 ? 10 : N));
		int64_t sum = 0;
		lat_minute_init(&m, 0);
		for (int i = 0; i < n; i++) {
			v[i] = rnd_rtt();
			sum += v[i];
			assert_int_equal(lat_minute_add(&m, v[i]), 0);
		}
		qsort(v, (size_t)n, sizeof(v[0]), cmp_i64);
		assert_int_equal(m.min_ns, v[0]);
		assert_int_equal(m.max_ns, v[n - 1]);
		assert_int_equal(lat_minute_mean(&m), sum / n);
		for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
			int64_t rank = (int64_t)ceil(ps[k] * n);
			int64_t want = v[rank < 1 ? 0 : rank - 1];
			int64_t got = lat_hist_quantile(&m.h, ps[k]);
			int64_t err = llabs(got - want);
			int64_t clamped = lat_minute_quantile(&m, ps[k]);
			assert_int_equal(lat_bucket_of(got), lat_bucket_of(want));
			assert_true(err * 16 <= want || err <= 500);
			if (want >= 16000)
				assert_true(err * 32 <= want);
			assert_true(clamped >= v[0] && clamped <= v[n - 1]);
			assert_true(llabs(clamped - want) <= err);
		}
	}
}

static void test_edge_cases(void **state)
{
	(void)state;
	struct lat_minute m;

	lat_minute_init(&m, 0);
	assert_int_equal(lat_hist_quantile(&m.h, 0.5), -ENODATA);
	assert_int_equal(lat_minute_quantile(&m, 0.5), -ENODATA);
	assert_int_equal(lat_minute_mean(&m), -ENODATA);
	assert_true(lat_minute_loss_ratio(&m) == 0.0);
	assert_int_equal(lat_minute_loss(&m), 0);
	assert_true(lat_minute_loss_ratio(&m) == 1.0);
	assert_int_equal(lat_minute_add(&m, 1234567), 0);
	assert_true(lat_minute_loss_ratio(&m) == 0.5);
	assert_int_equal(lat_minute_quantile(&m, 0.99), 1234567);
	assert_int_equal(lat_hist_quantile(&m.h, 0.99), 1248000);
	assert_int_equal(lat_hist_quantile(&m.h, -0.01), -EINVAL);
	assert_int_equal(lat_hist_quantile(&m.h, 1.01), -EINVAL);
	assert_int_equal(lat_hist_quantile(&m.h, NAN), -EINVAL);
	assert_int_equal(lat_minute_quantile(&m, NAN), -EINVAL);
}

static void test_overflow(void **state)
{
	(void)state;
	struct lat_minute m, before, other;

	lat_minute_init(&m, 0);
	m.count = UINT32_MAX - 1;
	m.h.counts[5] = UINT32_MAX - 1;
	m.min_ns = m.max_ns = 5000;
	m.sum_ns = 5000 * (int64_t)(UINT32_MAX - 1);
	assert_int_equal(lat_minute_add(&m, 5000), 0);
	before = m;
	assert_int_equal(lat_minute_add(&m, 5000), -EOVERFLOW);
	assert_memory_equal(&m, &before, sizeof(m));
	assert_int_equal(lat_hist_add(&m.h, 5000), -EOVERFLOW);
	lat_minute_init(&other, 0);
	assert_int_equal(lat_minute_add(&other, 5000), 0);
	assert_int_equal(lat_minute_loss(&other), 0);
	assert_int_equal(lat_minute_merge(&m, &other), -EOVERFLOW);
	assert_int_equal(lat_hist_merge(&m.h, &other.h), -EOVERFLOW);
	assert_memory_equal(&m, &before, sizeof(m));

	lat_minute_init(&m, 0);
	m.lost = UINT32_MAX;
	assert_int_equal(lat_minute_loss(&m), -EOVERFLOW);
	assert_int_equal(m.lost, UINT32_MAX);
	assert_int_equal(lat_minute_merge(&other, &m), -EOVERFLOW);

	lat_minute_init(&m, 0);
	m.sum_ns = INT64_MAX - 10; /* only the sum is checked here */
	assert_int_equal(lat_minute_add(&m, 11), -EOVERFLOW);
	assert_int_equal(m.count, 0);
}

static void fill_random(struct lat_minute *m, int64_t start, int n)
{
	lat_minute_init(m, start);
	for (int i = 0; i < n; i++)
		assert_int_equal(rnd() % 5 ? lat_minute_add(m, rnd_rtt()) : lat_minute_loss(m), 0);
}

static void test_merge(void **state)
{
	(void)state;
	struct lat_minute part[3], all, x, y, z;

	for (int round = 0; round < 300; round++) {
		lat_minute_init(&all, 1000);
		for (int k = 0; k < 3; k++)
			lat_minute_init(&part[k], 1000 + 60 * k);
		/* the same samples once into all, once split over three parts */
		int n = (int)(rnd() % 200);
		for (int i = 0; i < n; i++) {
			struct lat_minute *p = &part[rnd() % 3];
			if (rnd() % 4) {
				int64_t ns = rnd_rtt();
				assert_int_equal(lat_minute_add(&all, ns), 0);
				assert_int_equal(lat_minute_add(p, ns), 0);
			} else {
				assert_int_equal(lat_minute_loss(&all), 0);
				assert_int_equal(lat_minute_loss(p), 0);
			}
		}
		x = part[0]; /* (0 + 1) + 2 */
		assert_int_equal(lat_minute_merge(&x, &part[1]), 0);
		assert_int_equal(lat_minute_merge(&x, &part[2]), 0);
		y = part[1]; /* 2 + (1 + 0) */
		assert_int_equal(lat_minute_merge(&y, &part[0]), 0);
		z = part[2];
		assert_int_equal(lat_minute_merge(&z, &y), 0);
		assert_memory_equal(&x, &all, sizeof(all));
		assert_memory_equal(&z, &all, sizeof(all));
	}
}

/* The record of docs/latency.md: 1, 1.5 and 20 us, one probe lost. */
static void example(struct lat_minute *m)
{
	lat_minute_init(m, 1700000040);
	assert_int_equal(lat_minute_add(m, 1000), 0);
	assert_int_equal(lat_minute_add(m, 1500), 0);
	assert_int_equal(lat_minute_add(m, 20000), 0);
	assert_int_equal(lat_minute_loss(m), 0);
}

static void test_encode_example(void **state)
{
	(void)state;
	static const char want[] = "v1 t=1700000040 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20";
	static const char empty[] = "v1 t=0 n=0 l=0 min=0 max=0 sum=0 b=";
	char buf[LAT_TEXT_MAX];
	struct lat_minute m, back;

	example(&m);
	assert_int_equal(lat_encode(buf, sizeof(buf), &m), (int)strlen(want));
	assert_string_equal(buf, want);
	/* every buffer too short by even one byte (the NUL) */
	for (size_t len = 0; len <= strlen(want); len++) {
		char small[sizeof(want)];
		memset(small, 'x', sizeof(small));
		assert_int_equal(lat_encode(small, len, &m), -ENOSPC);
		assert_true(len == 0 || small[0] == '\0');
	}
	assert_int_equal(decode_exact(&back, want, strlen(want)), 0);
	assert_memory_equal(&back, &m, sizeof(m));

	lat_minute_init(&m, 0);
	assert_int_equal(lat_encode(buf, sizeof(buf), &m), (int)strlen(empty));
	assert_string_equal(buf, empty);
	assert_int_equal(decode_exact(&back, empty, strlen(empty)), 0);
	assert_memory_equal(&back, &m, sizeof(m));

	/* the longest text: every bucket with many samples, every number wide */
	lat_minute_init(&m, INT64_MAX);
	m.lost = UINT32_MAX;
	for (int i = 0; i < LAT_NBUCKETS; i++)
		m.h.counts[i] = UINT32_MAX / LAT_NBUCKETS;
	m.count = UINT32_MAX / LAT_NBUCKETS * LAT_NBUCKETS;
	m.min_ns = 0;
	m.max_ns = LAT_NS_MAX;
	m.sum_ns = INT64_MAX / 2;
	int n = lat_encode(buf, sizeof(buf), &m);
	assert_true(n > 4900 && n < LAT_TEXT_MAX);
	assert_int_equal(decode_exact(&back, buf, (size_t)n), 0);
	assert_memory_equal(&back, &m, sizeof(m));
}

static void test_roundtrip_random(void **state)
{
	(void)state;
	char buf[LAT_TEXT_MAX], again[LAT_TEXT_MAX];
	struct lat_minute m, back;

	for (int round = 0; round < 2000; round++) {
		fill_random(&m, (int64_t)(rnd() % 4000000000u) * 60, (int)(rnd() % (round % 10 ? 20 : 3000)));
		int n = lat_encode(buf, sizeof(buf), &m);
		assert_true(n > 0);
		assert_int_equal(decode_exact(&back, buf, (size_t)n), 0);
		assert_memory_equal(&back, &m, sizeof(m));
		assert_int_equal(lat_encode(again, sizeof(again), &back), n);
		assert_string_equal(again, buf);
	}
}

static void test_encode_rejects_invalid(void **state)
{
	(void)state;
	char buf[LAT_TEXT_MAX];
	struct lat_minute good, m;

	example(&good);
	assert_true(lat_encode(buf, sizeof(buf), &good) > 0);
#define BAD(stmt)                                                         \
	do {                                                              \
		m = good;                                                 \
		stmt;                                                     \
		assert_int_equal(lat_encode(buf, sizeof(buf), &m), -EINVAL); \
	} while (0)
	BAD(m.count = 4);
	BAD(m.h.counts[7]++);
	BAD(m.min_ns = 2000);
	BAD(m.max_ns = 900);
	BAD(m.sum_ns = 2999);
	BAD(m.sum_ns = 60001);
	BAD(m.sum_ns = -1);
	BAD(m.minute_start_s = -60);
	BAD(lat_minute_init(&m, 0); m.max_ns = 1);
#undef BAD
}

static void test_decode_rejects(void **state)
{
	(void)state;
	static const char good[] = "v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20";
	static const char *const bad[] = {
		"",
		"v1",
		"v2 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"V1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		" v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20 ",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20\n",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20,",
		"v1  t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=60\tn=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 n=3 t=60 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=1 x=0 min=1000 max=20000 sum=22500 b=1:2,20",
		/* numbers */
		"v1 t=060 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=+60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=-60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=0x3c n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t= n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=9223372036854775808 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=99999999999999999999999999 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=60 n=4294967299 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=4294967296 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=134217728000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=18446744073709551615 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=-1 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500.0 b=1:2,20",
		/* bucket list */
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=20,1:2",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1,1,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,384",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,4294967316",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:1,1,20",
		"v1 t=60 n=2 l=1 min=1000 max=20000 sum=21000 b=1:1,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20:0",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=,1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,20:",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2:3,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=01:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:02,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2;20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:4294967296,20",
		/* numbers that do not agree */
		"v1 t=60 n=4 l=1 min=1000 max=20000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=1 min=3000 max=20000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=19000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=21000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=2999 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=60001 b=1:2,20",
		"v1 t=60 n=3 l=1 min=20000 max=1000 sum=22500 b=1:2,20",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=",
		"v1 t=60 n=0 l=1 min=1000 max=0 sum=0 b=",
		"v1 t=60 n=0 l=1 min=0 max=0 sum=5 b=",
		"v1 t=60 n=0 l=1 min=0 max=0 sum=0 b=3",
		/* garbage */
		"\xff\xfe",
		"v1 t=60 n=3 l=1 min=1000 max=20000 sum=22500 b=1:2,2\xb0",
		"{\"n\":3}",
	};
	struct lat_minute m;

	assert_int_equal(decode_exact(&m, good, strlen(good)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (decode_exact(&m, bad[i], strlen(bad[i])) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
	/* every proper prefix, and the text with its NUL counted in */
	for (size_t len = 0; len < strlen(good); len++)
		assert_int_equal(decode_exact(&m, good, len), -EINVAL);
	assert_int_equal(decode_exact(&m, good, sizeof(good)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_bounds),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_encode_example),
		cmocka_unit_test(test_roundtrip_random),
		cmocka_unit_test(test_encode_rejects_invalid),
		cmocka_unit_test(test_decode_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
