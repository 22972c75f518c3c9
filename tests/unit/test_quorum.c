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

/* need: the votes needed, checked where not -1 */
static const struct {
	unsigned up, degraded, down, flapping;
	int spec;
	enum fv_state want;
	int need;
} decide_cases[] = {
	/* three locations */
	{ 3, 0, 0, 0, QUORUM_MAJORITY, FV_UP, 2 },
	/* one location sees it down: a location issue, globally up */
	{ 2, 0, 1, 0, QUORUM_MAJORITY, FV_UP, -1 },
	{ 1, 0, 2, 0, QUORUM_MAJORITY, FV_DOWN, -1 },
	{ 0, 0, 3, 0, QUORUM_MAJORITY, FV_DOWN, -1 },
	/* one down, one flapping: two see it at least flapping */
	{ 1, 0, 1, 1, QUORUM_MAJORITY, FV_FLAPPING, -1 },
	{ 1, 1, 1, 0, QUORUM_MAJORITY, FV_DEGRADED, -1 },
	{ 2, 1, 0, 0, QUORUM_MAJORITY, FV_UP, -1 },
	/* any one location decides with k = 1; all three with all */
	{ 2, 0, 1, 0, 1, FV_DOWN, -1 },
	{ 0, 0, 2, 1, QUORUM_ALL, FV_FLAPPING, -1 },
	{ 1, 0, 2, 0, QUORUM_ALL, FV_UP, -1 },
	/* few locations. Nobody with an opinion: unknown, whatever the unknown votes */
	{ 0, 0, 0, 0, QUORUM_MAJORITY, FV_UNKNOWN, 0 },
	/* one location: it decides alone */
	{ 0, 0, 1, 0, QUORUM_MAJORITY, FV_DOWN, -1 },
	/* two: majority is both */
	{ 1, 0, 1, 0, QUORUM_MAJORITY, FV_UP, -1 },
	/* k = 3 of two watching: both */
	{ 0, 0, 2, 0, 3, FV_DOWN, -1 },
};

static void test_decide(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
		unsigned need = 99;
		enum fv_state got = decide(decide_cases[i].up, decide_cases[i].degraded, decide_cases[i].down,
					   decide_cases[i].flapping, decide_cases[i].spec, &need);

		if (got != decide_cases[i].want || (decide_cases[i].need >= 0 && need != (unsigned)decide_cases[i].need))
			fail_msg("case %zu: state %d need %u, expected state %d need %d", i, got, need,
				 decide_cases[i].want, decide_cases[i].need);
	}
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
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
