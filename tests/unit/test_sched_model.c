/* The scheduler's model-based test (tests/fuzz/sched_model.h) on fixed
 * seeds: random inputs from a fixed generator, so that every make test
 * runs the same thousands of interleavings; the fuzz harness
 * (tests/fuzz/fuzz_sched.c) explores further. A failure names the seed:
 * SCHED_MODEL_SEED=N build/test/test_sched_model runs that one alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tests/fuzz/sched_model.h"

#define SEEDS 3000
#define MAX_LEN 1200

/* A crash is ASan's to report (cmocka's own SIGSEGV handler would hide the
 * stack), and the report names the seed. */
static uint64_t current_seed;
void __asan_set_death_callback(void (*callback)(void));
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "allow_user_segv_handler=0";
}

static void say_seed(void)
{
	fprintf(stderr, "test_sched_model: crashed at seed %llu (SCHED_MODEL_SEED=%llu SCHED_MODEL_TRACE=1 "
			"build/test/test_sched_model replays it)\n",
		(unsigned long long)current_seed, (unsigned long long)current_seed);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int run_seed(uint64_t seed, char *why, size_t len)
{
	uint8_t buf[MAX_LEN];
	uint64_t st = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t n = 64 + xorshift(&st) % (MAX_LEN - 64);

	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(xorshift(&st) >> 24);
	/* a third of the inputs lean on the composite "main loop" step, so
	 * that long realistic runs are common, not only byte soup */
	if (seed % 3 == 0)
		for (size_t i = 8; i + 1 < n; i += 2)
			if (buf[i] % 4 == 0)
				buf[i] = 17;
	return sched_model_run(buf, n, why, len);
}

static void test_seeds(void **state)
{
	(void)state;
	char why[512];
	const char *one = getenv("SCHED_MODEL_SEED");
	uint64_t lo = 1, hi = SEEDS;
	unsigned failed = 0;

	if (one)
		lo = hi = strtoull(one, NULL, 10);
	for (uint64_t seed = lo; seed <= hi; seed++) {
		current_seed = seed;
		if (run_seed(seed, why, sizeof(why)) < 0) {
			print_error("seed %llu: %s\n", (unsigned long long)seed, why);
			if (++failed >= 5)
				break;
		}
	}
	assert_int_equal(failed, 0);
}

int main(void)
{
	__asan_set_death_callback(say_seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
