/* scheduler/shard: rendezvous hashing over the members of a location:
 * balance, minimal movement when a member leaves or joins, the same split
 * in every process (fixed weights), and ownership of a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/shard.h"
#include "scheduler/table.h"

#define N_KEYS 10000

static const char *const three[] = { "lab/a", "lab/b", "lab/c" };

static size_t key_of(char *buf, size_t len, unsigned i)
{
	return (size_t)snprintf(buf, len, "198.18.%u.%u", i / 250, i % 250 + 1);
}

static void test_balance(void **state)
{
	(void)state;
	unsigned count[3] = { 0 };
	char key[64];

	for (unsigned i = 0; i < N_KEYS; i++) {
		size_t len = key_of(key, sizeof(key), i);
		count[shard_owner(key, len, three, 3)]++;
	}
	/* a third each, within 3% of the whole */
	for (int k = 0; k < 3; k++) {
		assert_true(count[k] > N_KEYS / 3 - N_KEYS * 3 / 100);
		assert_true(count[k] < N_KEYS / 3 + N_KEYS * 3 / 100);
	}
}

static void test_leave_moves_only_its_share(void **state)
{
	(void)state;
	static const char *const two[] = { "lab/a", "lab/c" };
	char key[64];
	unsigned moved = 0, b_had = 0;

	for (unsigned i = 0; i < N_KEYS; i++) {
		size_t len = key_of(key, sizeof(key), i);
		const char *before = three[shard_owner(key, len, three, 3)];
		const char *after = two[shard_owner(key, len, two, 2)];
		b_had += strcmp(before, "lab/b") == 0;
		if (strcmp(before, after) != 0) {
			/* only b's targets move, and they go to a or c */
			assert_string_equal(before, "lab/b");
			moved++;
		}
	}
	assert_int_equal(moved, b_had);
	/* and joining again gives back exactly those */
	unsigned back = 0;
	for (unsigned i = 0; i < N_KEYS; i++) {
		size_t len = key_of(key, sizeof(key), i);
		back += strcmp(three[shard_owner(key, len, three, 3)], "lab/b") == 0;
	}
	assert_int_equal(back, b_had);
}

/* Fixed vectors (from an independent SipHash-2-4 in Python, checked
 * against the reference's first vector): another process, another machine, another build must
 * split alike. A change here changes the public layout (docs/redis.md). */
static void test_stable_weights(void **state)
{
	(void)state;
	assert_int_equal(shard_weight("198.18.0.1", 10, "lab/a"), shard_weight("198.18.0.1", 10, "lab/a"));
	assert_true(shard_weight("198.18.0.1", 10, "lab/a") != shard_weight("198.18.0.1", 10, "lab/b"));
	/* the NUL between key and member: "ab"+"c" is not "a"+"bc" */
	assert_true(shard_weight("ab", 2, "c") != shard_weight("a", 1, "bc"));
	assert_int_equal(shard_weight("198.18.0.1", 10, "lab/a"), 0x79b2c2356c213277ULL);
	assert_int_equal(shard_weight("2001:db8::1", 11, "fra1/probe-2"), 0xcd3e8c4afd5ada00ULL);
}

static void test_assign_table(void **state)
{
	(void)state;
	struct target_list tl;
	struct table *t;
	char spec[64], err[256];
	char *ids[] = { (char *)"lab/a", (char *)"lab/b", (char *)"lab/c" };
	struct shard_members m = { .ids = ids, .n = 3 };
	struct shard_members none = { 0 };

	target_list_init(&tl, 0, TARGET_FAMILY_V4);
	/* 300 hosts, two ports and a ping each */
	for (unsigned h = 0; h < 300; h++)
		for (int p = 0; p < 3; p++) {
			static const char *const port[] = { "22", "80", "icmp" };
			snprintf(spec, sizeof(spec), "198.18.%u.%u:%s", h / 250, h % 250 + 1, port[p]);
			assert_int_equal(target_list_add_spec(&tl, spec, NULL, NULL, NULL, err, sizeof(err)), 1);
		}
	assert_int_equal(table_from_list(&t, &tl, NULL, "lab"), 0);
	target_list_release(&tl);
	uint8_t *f[3];
	uint32_t total = 0;
	for (int k = 0; k < 3; k++) {
		f[k] = malloc(t->tl.n);
		total += shard_assign(t, &m, ids[k], f[k]);
	}
	assert_int_equal(total, t->n_live);
	for (size_t id = 0; id < t->tl.n; id++) {
		/* exactly one owner */
		assert_int_equal(!f[0][id] + !f[1][id] + !f[2][id], 1);
		/* every port of a host with the same owner */
		for (size_t j = 0; j < t->tl.n; j++)
			if (addr_equal(&t->tl.v[j].addr, &t->tl.v[id].addr))
				assert_int_equal(f[0][j], f[0][id]);
	}
	/* alone, unknown to the others, or no members at all: everything */
	assert_int_equal(shard_assign(t, &none, "lab/a", f[0]), t->n_live);
	assert_int_equal(shard_assign(t, &m, "lab/d", f[0]), t->n_live);
	for (size_t id = 0; id < t->tl.n; id++)
		assert_int_equal(f[0][id], 0);
	for (int k = 0; k < 3; k++)
		free(f[k]);
	table_free(t);
}

static void test_members_equal(void **state)
{
	(void)state;
	char *x[] = { (char *)"a", (char *)"b" }, *y[] = { (char *)"a", (char *)"c" };
	struct shard_members a = { x, 2 }, b = { y, 2 }, c = { x, 1 };

	assert_true(shard_members_equal(&a, &a));
	assert_false(shard_members_equal(&a, &b));
	assert_false(shard_members_equal(&a, &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_leave_moves_only_its_share),
		cmocka_unit_test(test_stable_weights),
		cmocka_unit_test(test_assign_table),
		cmocka_unit_test(test_members_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
