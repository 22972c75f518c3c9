/* The state machine, as tables: a sequence of results and the transition
 * (if any) each one must cause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "scheduler/state.h"

#define MS NSEC_PER_MSEC
#define NONE 255

struct step {
	char result;     /* o open, c closed, f filtered, u unreachable */
	int rtt_ms;
	uint8_t expect;  /* the new state, or NONE for no transition */
	uint8_t reason;  /* checked when expect != NONE */
};

static void run(const struct state_params *p, const struct step *steps, size_t n, int64_t step_ns)
{
	struct target_status st;
	state_init(&st);
	for (size_t i = 0; i < n; i++) {
		struct probe_result r = { .ts_real_ns = 1700000000LL * NSEC_PER_SEC + (int64_t)i * step_ns };
		switch (steps[i].result) {
		case 'o': r.state = PROBE_OPEN; r.rtt_ns = steps[i].rtt_ms * MS; break;
		case 'c': r.state = PROBE_CLOSED; r.rtt_ns = MS; break;
		case 'f': r.state = PROBE_FILTERED; r.rtt_ns = -1; break;
		default: r.state = PROBE_UNREACHABLE; r.rtt_ns = MS; break;
		}
		uint8_t from = NONE, prev = st.state;
		bool changed = state_update(&st, p, &r, &from);
		if (steps[i].expect == NONE) {
			if (changed)
				fail_msg("step %zu: unexpected transition %s -> %s", i, target_state_name(from),
					 target_state_name(st.state));
			continue;
		}
		if (!changed)
			fail_msg("step %zu: expected a transition to %s, state stays %s", i,
				 target_state_name(steps[i].expect), target_state_name(st.state));
		assert_int_equal(from, prev);
		assert_int_equal(st.state, steps[i].expect);
		if (st.reason != steps[i].reason)
			fail_msg("step %zu: reason %s, want %s", i, state_reason_name(st.reason),
				 state_reason_name(steps[i].reason));
		assert_int_equal(st.since_ns, r.ts_real_ns);
	}
}

static const struct state_params defaults = { .failures = 2, .successes = 1 };

/* A saved state from the text of a state hash or the state file: what
 * resumes and what starts afresh. */
static void test_saved_parse(void **state)
{
	(void)state;
	struct state_saved s;

	assert_true(state_saved_parse("down", "1700000000000000001", "refused", "-4", &s));
	assert_int_equal(s.state, TARGET_DOWN);
	assert_true(s.since_ns == 1700000000000000001LL);
	assert_int_equal(s.reason, REASON_REFUSED);
	assert_int_equal(s.fail_streak, 4);
	assert_int_equal(s.ok_streak, 0);
	assert_true(state_saved_parse("up", "5", "", "999", &s));
	assert_int_equal(s.reason, REASON_NONE);
	assert_int_equal(s.ok_streak, 255);
	assert_true(state_saved_parse("degraded", "5", "slow_critical", "", &s));
	assert_int_equal(s.reason, REASON_SLOW_CRIT);
	assert_int_equal(s.ok_streak + s.fail_streak, 0);
	/* no state to resume: untouched */
	memset(&s, 0x5a, sizeof(s));
	static const char *const bad[][2] = {
		{ "unknown", "5" }, { "sideways", "5" }, { "up", "" }, { "up", "0" }, { "up", "-5" }, { "up", "5x" },
		{ "", "5" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (state_saved_parse(bad[i][0], bad[i][1], "open", "1", &s))
			fail_msg("resumed state '%s' since '%s'", bad[i][0], bad[i][1]);
	assert_int_equal(s.state, 0x5a);
}

/* Resuming a saved state (a restart): what the status cannot keep is made
 * up on the safe side. A slow target stays degraded until enough fast
 * answers push the slow ones out of its window; a flapping one stays
 * flapping for a flap window after its since; a down one needs its
 * confirming successes, counting those it had; nothing saved is unknown. */
static void test_resume(void **state)
{
	(void)state;
	const int64_t t0 = 1700000000LL * NSEC_PER_SEC;
	struct state_params p = { .failures = 2, .successes = 3, .warn_ns = MS, .window = 5, .over = 3,
				  .flap_changes = 3, .flap_window_s = 60 };
	struct target_status st;
	struct probe_result fast = { .ts_real_ns = t0 + NSEC_PER_SEC, .state = PROBE_OPEN, .rtt_ns = MS / 10 };
	uint8_t from;

	state_resume(&st, &p, &(struct state_saved){ .since_ns = t0, .state = TARGET_DEGRADED,
						     .reason = REASON_SLOW, .ok_streak = 4 });
	assert_false(state_update(&st, &p, &fast, &from));
	assert_false(state_update(&st, &p, &fast, &from));
	assert_true(state_update(&st, &p, &fast, &from)); /* 3 of the last 5 fast */
	assert_int_equal(from, TARGET_DEGRADED);
	assert_int_equal(st.state, TARGET_UP);

	state_resume(&st, &p, &(struct state_saved){ .since_ns = t0, .state = TARGET_FLAPPING,
						     .reason = REASON_FLAPPING, .ok_streak = 1 });
	fast.ts_real_ns = t0 + 30 * NSEC_PER_SEC;
	assert_false(state_update(&st, &p, &fast, &from));
	fast.ts_real_ns = t0 + 61 * NSEC_PER_SEC;
	assert_true(state_update(&st, &p, &fast, &from));
	assert_int_equal(from, TARGET_FLAPPING);
	assert_int_equal(st.state, TARGET_UP);
	assert_int_equal(st.reason, REASON_SETTLED);

	state_resume(&st, &p, &(struct state_saved){ .since_ns = t0, .state = TARGET_DOWN,
						     .reason = REASON_REFUSED, .ok_streak = 2 });
	assert_int_equal(st.since_ns, t0);
	assert_true(state_update(&st, &p, &fast, &from)); /* its third success in a row */
	assert_int_equal(from, TARGET_DOWN);

	state_resume(&st, &p, &(struct state_saved){ .since_ns = t0, .state = TARGET_UNKNOWN, .ok_streak = 3 });
	assert_int_equal(st.state, TARGET_UNKNOWN);
	assert_int_equal(st.ok_streak, 0);
	assert_int_equal(st.since_ns, 0);
}

static void test_down_up(void **state)
{
	(void)state;
	const struct step s[] = {
		{ 'o', 1, TARGET_UP, REASON_OPEN },
		{ 'o', 1, NONE, 0 },
		{ 'c', 0, NONE, 0 },              /* one failure is not enough */
		{ 'o', 1, NONE, 0 },
		{ 'f', 0, NONE, 0 },
		{ 'f', 0, TARGET_DOWN, REASON_TIMEOUT },
		{ 'c', 0, NONE, 0 },              /* still down: no new event */
		{ 'o', 1, TARGET_UP, REASON_OPEN },
	};
	run(&defaults, s, sizeof(s) / sizeof(s[0]), NSEC_PER_SEC);
}

static void test_unknown_needs_streak(void **state)
{
	(void)state;
	const struct step s[] = {
		{ 'u', 0, NONE, 0 },
		{ 'u', 0, TARGET_DOWN, REASON_UNREACHABLE },
	};
	run(&defaults, s, 2, NSEC_PER_SEC);
	const struct state_params one = { .failures = 1, .successes = 1 };
	const struct step t[] = { { 'c', 0, TARGET_DOWN, REASON_REFUSED } };
	run(&one, t, 1, NSEC_PER_SEC);
}

static void test_recovery_needs_successes(void **state)
{
	(void)state;
	const struct state_params p = { .failures = 1, .successes = 3 };
	const struct step s[] = {
		{ 'o', 1, TARGET_UP, REASON_OPEN },
		{ 'f', 0, TARGET_DOWN, REASON_TIMEOUT },
		{ 'o', 1, NONE, 0 },
		{ 'o', 1, NONE, 0 },
		{ 'f', 0, NONE, 0 },  /* streak broken */
		{ 'o', 1, NONE, 0 },
		{ 'o', 1, NONE, 0 },
		{ 'o', 1, TARGET_UP, REASON_OPEN },
	};
	run(&p, s, sizeof(s) / sizeof(s[0]), NSEC_PER_SEC);
}

static void test_degraded(void **state)
{
	(void)state;
	const struct state_params p = {
		.failures = 2, .successes = 1, .warn_ns = 100 * MS, .crit_ns = 500 * MS, .window = 5, .over = 3,
	};
	const struct step s[] = {
		{ 'o', 50, TARGET_UP, REASON_OPEN },
		{ 'o', 150, NONE, 0 },
		{ 'o', 150, NONE, 0 },
		{ 'o', 150, TARGET_DEGRADED, REASON_SLOW },   /* 3 of the last 5 over warn */
		{ 'o', 600, NONE, 0 },
		{ 'o', 600, NONE, 0 },
		{ 'o', 600, TARGET_DEGRADED, REASON_SLOW_CRIT }, /* 3 of 5 over crit */
		{ 'o', 50, NONE, 0 },
		{ 'o', 50, NONE, 0 },                         /* still 3 of the last 5 over crit */
		{ 'o', 150, TARGET_DEGRADED, REASON_SLOW },  /* crit 2 of 5, warn 3 of 5 */
		{ 'o', 50, TARGET_UP, REASON_OPEN },         /* warn 2 of 5 */
		{ 'f', 0, NONE, 0 },
		{ 'f', 0, TARGET_DOWN, REASON_TIMEOUT },
		/* after down, old slow samples are forgotten */
		{ 'o', 150, TARGET_UP, REASON_OPEN },
	};
	run(&p, s, sizeof(s) / sizeof(s[0]), NSEC_PER_SEC);
}

static void test_flapping(void **state)
{
	(void)state;
	const struct state_params p = { .failures = 1, .successes = 1, .flap_changes = 3, .flap_window_s = 60 };
	const struct step s[] = {
		{ 'o', 1, TARGET_UP, REASON_OPEN },
		{ 'c', 0, TARGET_DOWN, REASON_REFUSED },  /* change 1 */
		{ 'o', 1, TARGET_UP, REASON_OPEN },       /* 2 */
		{ 'c', 0, TARGET_DOWN, REASON_REFUSED },  /* 3 */
		{ 'o', 1, TARGET_FLAPPING, REASON_FLAPPING }, /* 4 > 3 within 60 s */
		{ 'c', 0, NONE, 0 },                       /* flapping holds alerts */
		{ 'o', 1, NONE, 0 },
	};
	run(&p, s, sizeof(s) / sizeof(s[0]), NSEC_PER_SEC);

	/* with results every 10 s, changes age out of the window and it settles */
	struct target_status st;
	state_init(&st);
	uint8_t from;
	int64_t t = 1700000000LL * NSEC_PER_SEC;
	const char seq[] = "ococo";
	for (int i = 0; seq[i]; i++, t += NSEC_PER_SEC) {
		struct probe_result r = { .ts_real_ns = t, .state = seq[i] == 'o' ? PROBE_OPEN : PROBE_CLOSED,
					  .rtt_ns = MS };
		state_update(&st, &p, &r, &from);
	}
	assert_int_equal(st.state, TARGET_FLAPPING);
	bool settled = false;
	for (int i = 0; i < 10 && !settled; i++) {
		t += 10 * NSEC_PER_SEC;
		struct probe_result r = { .ts_real_ns = t, .state = PROBE_OPEN, .rtt_ns = MS };
		if (state_update(&st, &p, &r, &from)) {
			assert_int_equal(from, TARGET_FLAPPING);
			assert_int_equal(st.state, TARGET_UP);
			assert_int_equal(st.reason, REASON_SETTLED);
			settled = true;
		}
	}
	assert_true(settled);
}

/* The flap counter as it was, with every change's second in full: a ring
 * of the latest flap_changes + 1. The compact one must count the same. */
struct flap_ref {
	uint32_t t[STATE_MAX_FLAP_CHANGES + 1];
	unsigned head, count;
};

static unsigned flap_ref_record(struct flap_ref *f, const struct state_params *p, uint32_t now_s, bool changed)
{
	unsigned cap = (unsigned)p->flap_changes + 1;

	if (changed) {
		f->t[f->head] = now_s;
		f->head = (f->head + 1) % cap;
		if (f->count < cap)
			f->count++;
	}
	unsigned n = 0;
	for (unsigned i = 0; i < f->count; i++)
		if (now_s - f->t[i] < p->flap_window_s)
			n++;
	return n;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Gaps from none to beyond the 17 bits of an age, most of them near the
 * window's edge or the 16-bit boundary, where an encoding would slip. */
static uint32_t flap_gap(uint32_t window)
{
	switch (rng(8)) {
	case 0: return 0;
	case 1: return rng(4);
	case 2: return window - 1 - rng(window < 3 ? window : 3);
	case 3: return window + rng(3);
	case 4: return 65534 + rng(4);
	case 5: return 131070 + rng(4);
	case 6: return rng(window / 4 + 1);
	default: return rng(window / 13 + 2);
	}
}

static void test_flap_encoding_matches_ring(void **state)
{
	(void)state;
	static const uint32_t windows[] = { 1, 2, 60, 600, 65535, 65536, 65537, 86400, STATE_MAX_FLAP_WINDOW_S };

	for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
		for (unsigned changes = 1; changes <= STATE_MAX_FLAP_CHANGES; changes++) {
			const struct state_params p = { .flap_changes = (uint8_t)changes, .flap_window_s = windows[w] };
			struct target_status st;
			struct flap_ref ref = { 0 };
			uint32_t now = 1700000000;
			state_init(&st);
			for (int i = 0; i < 3000; i++) {
				now += flap_gap(windows[w]);
				bool changed = rng(3) != 0;
				unsigned want = flap_ref_record(&ref, &p, now, changed);
				unsigned got = state_flap_record(&st, &p, now, changed);
				if (got != want)
					fail_msg("window %u, changes %u, step %d at %u: %u changes counted, want %u",
						 windows[w], changes, i, now, got, want);
				assert_true(st.flap_count <= changes + 1);
			}
		}
	}
}

static void test_flap_window_edges(void **state)
{
	(void)state;
	const struct state_params p = { .flap_changes = 2, .flap_window_s = 86400 };
	struct target_status st;
	uint32_t t0 = 1700000000;

	state_init(&st);
	assert_int_equal(state_flap_record(&st, &p, t0, false), 0);
	assert_int_equal(state_flap_record(&st, &p, t0, true), 1);
	/* 65,536 s later (bit 16 of the age) and 86,399 s (the window's last second) */
	assert_int_equal(state_flap_record(&st, &p, t0 + 65536, true), 2);
	assert_int_equal(state_flap_record(&st, &p, t0 + 86399, true), 3);
	assert_int_equal(state_flap_record(&st, &p, t0 + 86399, false), 3);
	/* at 86,400 s the first change leaves the window */
	assert_int_equal(state_flap_record(&st, &p, t0 + 86400, false), 2);
	/* the next change pushes the first one out of the three remembered */
	assert_int_equal(state_flap_record(&st, &p, t0 + 86401, true), 3);
	assert_int_equal(state_flap_record(&st, &p, t0 + 65536 + 86399, false), 3);
	assert_int_equal(state_flap_record(&st, &p, t0 + 65536 + 86400, false), 2);

	/* a gap of a window or more leaves only the new change */
	assert_int_equal(state_flap_record(&st, &p, t0 + 400000, true), 1);
	assert_true(st.flap_count == 1);

	/* a realtime clock stepped back: the change counts as made now */
	state_init(&st);
	assert_int_equal(state_flap_record(&st, &p, t0 + 100, true), 1);
	assert_int_equal(state_flap_record(&st, &p, t0, true), 2);
	assert_int_equal(state_flap_record(&st, &p, t0 + 86399, false), 2);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(target_state_name(TARGET_DOWN), "down");
	assert_string_equal(target_state_name(TARGET_STATE_COUNT), "invalid");
	assert_string_equal(state_reason_name(REASON_REFUSED), "refused");
	/* one per target: a fleet of a million pays for every byte */
	assert_true(sizeof(struct target_status) <= 56);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_down_up),      cmocka_unit_test(test_unknown_needs_streak),
		cmocka_unit_test(test_recovery_needs_successes), cmocka_unit_test(test_degraded),
		cmocka_unit_test(test_flapping),     cmocka_unit_test(test_flap_encoding_matches_ring),
		cmocka_unit_test(test_flap_window_edges), cmocka_unit_test(test_names),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_saved_parse),
	};
	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
