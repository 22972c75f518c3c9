/* The timing wheel on a virtual clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/clock.h"
#include "scheduler/wheel.h"

#define MS NSEC_PER_MSEC

static void test_basic_order(void **state)
{
	(void)state;
	struct wheel *w;
	uint32_t out[16];

	assert_int_equal(wheel_new(&w, 8, MS, 0, 0), -EINVAL);
	assert_int_equal(wheel_new(&w, 8, MS, 16, 1000 * MS), 0);
	wheel_insert(w, 3, 1005 * MS);
	wheel_insert(w, 1, 1002 * MS);
	wheel_insert(w, 2, 1002 * MS + 500);
	wheel_insert(w, 4, 1000 * MS + 40 * MS); /* beyond one turn (16 slots) */
	assert_int_equal(wheel_count(w), 4);
	assert_true(wheel_contains(w, 4));
	assert_int_equal(wheel_advance(w, 1001 * MS, out, 16), 0);
	assert_int_equal(wheel_advance(w, 1002 * MS, out, 16), 1);
	assert_int_equal(out[0], 1);
	/* same tick, 500 ns later: due times are exact, not rounded to ticks */
	assert_int_equal(wheel_advance(w, 1002 * MS + 499, out, 16), 0);
	assert_int_equal(wheel_advance(w, 1002 * MS + 500, out, 16), 1);
	assert_int_equal(out[0], 2);
	assert_int_equal(wheel_advance(w, 1004 * MS, out, 16), 0);
	assert_int_equal(wheel_advance(w, 1030 * MS, out, 16), 1);
	assert_int_equal(out[0], 3);
	/* id 4 passed its slot twice without being due */
	assert_int_equal(wheel_advance(w, 1039 * MS, out, 16), 0);
	assert_int_equal(wheel_advance(w, 1040 * MS, out, 16), 1);
	assert_int_equal(out[0], 4);
	assert_int_equal(wheel_count(w), 0);
	wheel_free(w);
}

/* A wheel of n ids, 8 slots of 1 ms from 100 ms, moved to 200 ms (out has
 * room for n). */
static struct wheel *empty_at_200ms(uint32_t n, uint32_t *out)
{
	struct wheel *w;

	assert_int_equal(wheel_new(&w, n, MS, 8, 100 * MS), 0);
	assert_int_equal(wheel_advance(w, 200 * MS, out, n), 0);
	return w;
}

static void test_overdue_and_remove(void **state)
{
	(void)state;
	uint32_t out[4];
	struct wheel *w = empty_at_200ms(4, out);

	wheel_insert(w, 0, 50 * MS); /* in the past */
	wheel_insert(w, 1, 300 * MS);
	assert_true(wheel_remove(w, 1));
	assert_false(wheel_remove(w, 1));
	assert_false(wheel_contains(w, 1));
	assert_int_equal(wheel_advance(w, 200 * MS, out, 4), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(wheel_due(w, 0), 50 * MS);
	assert_int_equal(wheel_advance(w, 400 * MS, out, 4), 0);
	/* remove an overdue one before it fires */
	wheel_insert(w, 2, 10 * MS);
	assert_true(wheel_remove(w, 2));
	assert_int_equal(wheel_count(w), 0);
	wheel_free(w);
}

/* Without a per-id slot number, remove finds an id by its due time: in its
 * tick's slot (also a turn or more ahead, or left behind by a full batch)
 * or in the overdue list. */
static void test_remove_finds_every_kind(void **state)
{
	(void)state;
	uint32_t out[8];
	struct wheel *w = empty_at_200ms(8, out);

	for (uint32_t id = 0; id < 3; id++)
		wheel_insert(w, id, (10 + id) * MS); /* overdue */
	wheel_insert(w, 3, 200 * MS + 500);       /* the current tick */
	wheel_insert(w, 4, 203 * MS);             /* this turn */
	wheel_insert(w, 5, 203 * MS + 8 * MS);    /* the same slot, a turn later */
	wheel_insert(w, 6, 203 * MS + 100);       /* the same tick as 4 */
	assert_int_equal(wheel_count(w), 7);
	assert_true(wheel_remove(w, 1));
	assert_int_equal(wheel_due(w, 4), 203 * MS);
	/* a full batch leaves 4 or 6 in its slot, and 5 waits for its turn,
	 * while the wheel moves on */
	assert_int_equal(wheel_advance(w, 206 * MS, out, 4), 4);
	assert_true(out[0] == 0 || out[0] == 2);
	assert_true(out[1] == 0 || out[1] == 2);
	assert_int_equal(out[2], 3);
	assert_true(out[3] == 4 || out[3] == 6);
	uint32_t left = out[3] == 4 ? 6 : 4;
	assert_true(wheel_contains(w, left));
	assert_true(wheel_remove(w, left));
	assert_int_equal(wheel_advance(w, 207 * MS, out, 4), 0);
	assert_true(wheel_remove(w, 5));
	assert_false(wheel_remove(w, 1));
	assert_int_equal(wheel_count(w), 0);
	assert_int_equal(wheel_advance(w, 300 * MS, out, 8), 0);
	wheel_free(w);
}

/* Many periodic ids: each fires exactly once per period, never early, and
 * no later than one tick after its due time when advanced every tick. */
static void test_periodic(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct wheel *w;
	static uint32_t out[N];
	static uint32_t fired[N];
	const uint64_t period = 10 * NSEC_PER_SEC;

	assert_int_equal(wheel_new(&w, N, MS, 4096, 0), 0);
	for (uint32_t i = 0; i < N; i++)
		wheel_insert(w, i, (uint64_t)i * period / N + 1);
	for (uint64_t now = 0; now <= 3 * period; now += MS) {
		size_t n;
		while ((n = wheel_advance(w, now, out, 997)) > 0) {
			for (size_t k = 0; k < n; k++) {
				uint32_t id = out[k];
				uint64_t due = wheel_due(w, id);
				assert_true(due <= now);
				assert_true(now - due < MS + 1);
				fired[id]++;
				wheel_insert(w, id, due + period);
			}
		}
	}
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(fired[i], 3);
	assert_int_equal(wheel_count(w), N);
	assert_int_equal(wheel_grow(w, N * 2), 0);
	assert_false(wheel_contains(w, N + 5));
	wheel_free(w);
}

/* Against a plain array of due times: ids inserted at random times (past,
 * this tick, later turns), removed and inserted again, the wheel advanced
 * many times a tick with small batches. After each drain no id due is left
 * in the wheel, and nothing comes out early or twice. */
static void test_model(void **state)
{
	(void)state;
	enum { N = 3000, TURN = 64 };
	static uint64_t ref[N]; /* 0: not in the wheel */
	static uint32_t out[64];
	struct wheel *w;
	uint64_t now = 5000 * MS, rnd = 0x9e3779b97f4a7c15ull;
	size_t in = 0;

	assert_int_equal(wheel_new(&w, N, MS, TURN, now), 0);
	for (int step = 0; step < 200000; step++) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		uint32_t id = (uint32_t)(rnd % N);
		unsigned op = (unsigned)(rnd >> 40) % 16;
		if (op < 5 && !ref[id]) {
			/* due: 2 ticks ago up to 3 turns ahead, often within this tick */
			uint64_t span = op < 2 ? MS : 3 * TURN * MS;
			uint64_t due = now - 2 * MS + (rnd >> 20) % (span + 2 * MS);
			wheel_insert(w, id, due);
			ref[id] = due;
			in++;
		} else if (op < 7) {
			assert_int_equal(wheel_remove(w, id), ref[id] != 0);
			in -= ref[id] != 0;
			ref[id] = 0;
		} else if (op < 15) {
			now += (rnd >> 24) % (MS / 4); /* many advances a tick */
			size_t max = 1 + (rnd >> 33) % 64, n;
			do {
				n = wheel_advance(w, now, out, max);
				for (size_t k = 0; k < n; k++) {
					assert_true(ref[out[k]] != 0);
					assert_true(ref[out[k]] <= now);
					assert_false(wheel_contains(w, out[k]));
					ref[out[k]] = 0;
					in--;
				}
			} while (n == max);
			for (uint32_t i = 0; i < N; i++)
				if (ref[i] && ref[i] <= now)
					fail_msg("step %d: id %u due at %llu is still in at %llu", step, i,
						 (unsigned long long)ref[i], (unsigned long long)now);
		} else {
			now += (rnd >> 24) % (5 * TURN * MS); /* a long gap */
		}
		assert_int_equal(wheel_count(w), in);
	}
	wheel_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_order),
		cmocka_unit_test(test_overdue_and_remove),
		cmocka_unit_test(test_remove_finds_every_kind),
		cmocka_unit_test(test_periodic),
		cmocka_unit_test(test_model),
	};
	return cmocka_run_group_tests_name("wheel", tests, NULL, NULL);
}
