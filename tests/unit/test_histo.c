/* store/histo: the handshake histograms' buckets and increments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/histo.h"

#define US 1000LL
#define MS 1000000LL
#define S 1000000000LL

/* Every bucket's bounds: the bound itself is in (le), one ns more is not. */
static void test_bucket_edges(void **state)
{
	(void)state;
	assert_int_equal(histo_bucket(0), 0);
	assert_int_equal(histo_bucket(1), 0);
	assert_int_equal(histo_bucket(50 * US), 0);
	assert_int_equal(histo_bucket(50 * US + 1), 1);
	for (unsigned i = 0; i < HISTO_NBOUNDS; i++) {
		int64_t b = histo_bound_ns(i);
		assert_int_equal(histo_bucket(b), i);
		assert_int_equal(histo_bucket(b + 1), i + 1);
		if (i > 0)
			assert_int_equal(histo_bucket(histo_bound_ns(i - 1) + 1), i);
	}
	assert_int_equal(histo_bucket(INT64_MAX), HISTO_NBOUNDS);
}

/* smokeping_prober's bounds: 50 us doubling, to 13.1072 s. */
static void test_bounds(void **state)
{
	(void)state;
	assert_int_equal(histo_bound_ns(0), 50 * US);
	assert_int_equal(histo_bound_ns(1), 100 * US);
	assert_int_equal(histo_bound_ns(10), 51200 * US);
	assert_int_equal(histo_bound_ns(HISTO_NBOUNDS - 1), 13107200 * US);
	assert_true(histo_bound_ns(HISTO_NBOUNDS - 1) > 10 * S);
	/* a typical RTT: 412 us is in (400, 800] */
	assert_int_equal(histo_bound_ns(histo_bucket(412 * US)), 800 * US);
	assert_int_equal(histo_bound_ns(histo_bucket(412 * US) - 1), 400 * US);
}

static int setup(void **state)
{
	struct histo *h;

	assert_int_equal(histo_new(&h), 0);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	histo_free(*state);
	histo_free(NULL);
	return 0;
}

static void test_counts_by_group(void **state)
{
	struct histo *h = *state;
	const char *names[] = { "web", "db", NULL };
	struct histo_delta d;

	assert_int_equal(histo_set_groups(h, names, 3), 0);
	histo_add(h, 0, 412 * US);
	histo_add(h, 0, 412 * US);
	histo_add(h, 0, 20 * S);   /* above the last bound: +Inf */
	histo_add(h, 1, 30 * US);
	histo_add(h, 2, 1 * MS);   /* a group without a name: not counted */
	histo_add(h, 3, 1 * MS);   /* no such group */
	histo_add(h, 0, -1);       /* no answer */

	assert_true(histo_delta(h, 0, &d));
	assert_string_equal(d.group, "web");
	assert_int_equal(d.count, 3);
	assert_int_equal(d.bucket[histo_bucket(412 * US)], 2);
	assert_int_equal(d.bucket[HISTO_NBOUNDS], 1);
	assert_int_equal(d.sum_us, 824 + 20 * 1000000);
	assert_true(histo_delta(h, 1, &d));
	assert_string_equal(d.group, "db");
	assert_int_equal(d.count, 1);
	assert_int_equal(d.bucket[0], 1);
	assert_false(histo_delta(h, 2, &d));
}

/* What was taken is not given again; the sum's nanoseconds carry over, so
 * that whole microseconds add up to the true sum. */
static void test_taken_and_carry(void **state)
{
	struct histo *h = *state;
	const char *names[] = { "web" };
	struct histo_delta d;
	uint64_t total_us = 0;

	assert_int_equal(histo_set_groups(h, names, 1), 0);
	for (int second = 0; second < 1000; second++) {
		histo_add(h, 0, 1500); /* 1.5 us */
		assert_true(histo_delta(h, 0, &d));
		assert_int_equal(d.count, 1);
		total_us += d.sum_us;
		histo_taken(h, 0);
	}
	assert_int_equal(total_us, 1500);
	assert_true(histo_delta(h, 0, &d));
	assert_int_equal(d.count, 0);
	assert_int_equal(d.sum_us, 0);
	histo_taken(h, 7); /* no such group: nothing */
}

/* A new table keeps counting a group by its name, wherever it stands, and
 * keeps what was not taken yet of a group it dropped. */
static void test_reload_by_name(void **state)
{
	struct histo *h = *state;
	const char *first[] = { "web", "db" }, *second[] = { "db", "new", "db" };
	struct histo_delta d;

	assert_int_equal(histo_set_groups(h, first, 2), 0);
	histo_add(h, 0, 100 * US);
	histo_add(h, 1, 200 * US);
	assert_int_equal(histo_set_groups(h, second, 3), 0);
	histo_add(h, 0, 200 * US);  /* db */
	histo_add(h, 2, 200 * US);  /* db again (a runtime target's group of its own) */
	histo_add(h, 1, 5 * MS);    /* new */

	assert_true(histo_delta(h, 0, &d));
	assert_string_equal(d.group, "web");
	assert_int_equal(d.count, 1);
	assert_true(histo_delta(h, 1, &d));
	assert_string_equal(d.group, "db");
	assert_int_equal(d.count, 3);
	assert_int_equal(d.bucket[histo_bucket(200 * US)], 3);
	assert_int_equal(d.sum_us, 600);
	assert_true(histo_delta(h, 2, &d));
	assert_string_equal(d.group, "new");
	assert_int_equal(d.count, 1);
	assert_false(histo_delta(h, 3, &d));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test_setup_teardown(test_counts_by_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_taken_and_carry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_by_name, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
