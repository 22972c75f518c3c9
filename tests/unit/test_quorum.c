/* tools/lib/quorum: the k-th worst vote, k by majority, all or a fixed number. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tools/lib/quorum.h"

/* votes as up, degraded, down, flapping (unknown is ignored: 7 of them) */
static enum fv_state decide(unsigned up, unsigned degraded, unsigned down, unsigned flapping, int spec,
			    unsigned *need)
{
	unsigned v[FV_NSTATES] = { [FV_UNKNOWN] = 7, [FV_UP] = up, [FV_DEGRADED] = degraded,
				   [FV_DOWN] = down, [FV_FLAPPING] = flapping };

	return quorum_decide(v, spec, need);
}

static void test_need(void **state)
{
	(void)state;
	assert_int_equal(quorum_need(QUORUM_MAJORITY, 0), 0);
	assert_int_equal(quorum_need(QUORUM_MAJORITY, 1), 1);
	assert_int_equal(quorum_need(QUORUM_MAJORITY, 2), 2);
	assert_int_equal(quorum_need(QUORUM_MAJORITY, 3), 2);
	assert_int_equal(quorum_need(QUORUM_MAJORITY, 4), 3);
	assert_int_equal(quorum_need(QUORUM_MAJORITY, 5), 3);
	assert_int_equal(quorum_need(QUORUM_ALL, 5), 5);
	assert_int_equal(quorum_need(2, 5), 2);
	/* a fixed k larger than the locations watching: all of them */
	assert_int_equal(quorum_need(3, 2), 2);
	assert_int_equal(quorum_need(3, 0), 0);
}

static void test_three_locations(void **state)
{
	unsigned need;

	(void)state;
	assert_int_equal(decide(3, 0, 0, 0, QUORUM_MAJORITY, &need), FV_UP);
	assert_int_equal(need, 2);
	/* one location sees it down: a location issue, globally up */
	assert_int_equal(decide(2, 0, 1, 0, QUORUM_MAJORITY, NULL), FV_UP);
	assert_int_equal(decide(1, 0, 2, 0, QUORUM_MAJORITY, NULL), FV_DOWN);
	assert_int_equal(decide(0, 0, 3, 0, QUORUM_MAJORITY, NULL), FV_DOWN);
	/* one down, one flapping: two see it at least flapping */
	assert_int_equal(decide(1, 0, 1, 1, QUORUM_MAJORITY, NULL), FV_FLAPPING);
	assert_int_equal(decide(1, 1, 1, 0, QUORUM_MAJORITY, NULL), FV_DEGRADED);
	assert_int_equal(decide(2, 1, 0, 0, QUORUM_MAJORITY, NULL), FV_UP);
	/* any one location decides with k = 1; all three with all */
	assert_int_equal(decide(2, 0, 1, 0, 1, NULL), FV_DOWN);
	assert_int_equal(decide(0, 0, 2, 1, QUORUM_ALL, NULL), FV_FLAPPING);
	assert_int_equal(decide(1, 0, 2, 0, QUORUM_ALL, NULL), FV_UP);
}

static void test_few_locations(void **state)
{
	unsigned need;

	(void)state;
	/* nobody with an opinion: unknown, whatever the unknown votes */
	assert_int_equal(decide(0, 0, 0, 0, QUORUM_MAJORITY, &need), FV_UNKNOWN);
	assert_int_equal(need, 0);
	/* one location: it decides alone */
	assert_int_equal(decide(0, 0, 1, 0, QUORUM_MAJORITY, NULL), FV_DOWN);
	/* two: majority is both */
	assert_int_equal(decide(1, 0, 1, 0, QUORUM_MAJORITY, NULL), FV_UP);
	/* k = 3 of two watching: both */
	assert_int_equal(decide(0, 0, 2, 0, 3, NULL), FV_DOWN);
}

static void test_spec(void **state)
{
	char buf[16];
	int s = 99;

	(void)state;
	assert_int_equal(quorum_spec_parse("majority", &s), 0);
	assert_int_equal(s, QUORUM_MAJORITY);
	assert_int_equal(quorum_spec_parse("all", &s), 0);
	assert_int_equal(s, QUORUM_ALL);
	assert_int_equal(quorum_spec_parse("2", &s), 0);
	assert_int_equal(s, 2);
	assert_string_equal(quorum_spec_name(2, buf, sizeof(buf)), "2");
	assert_string_equal(quorum_spec_name(QUORUM_ALL, buf, sizeof(buf)), "all");
	assert_int_equal(quorum_spec_parse("0", &s), -EINVAL);
	assert_int_equal(quorum_spec_parse("-1", &s), -EINVAL);
	assert_int_equal(quorum_spec_parse("65", &s), -EINVAL);
	assert_int_equal(quorum_spec_parse("2x", &s), -EINVAL);
	assert_int_equal(quorum_spec_parse("", &s), -EINVAL);
	assert_int_equal(quorum_spec_parse("half", &s), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_need),
		cmocka_unit_test(test_three_locations),
		cmocka_unit_test(test_few_locations),
		cmocka_unit_test(test_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
