/* common/cookie: SipHash-2-4 against the reference vectors, and the ISN
 * cookie's sensitivity to every field it must bind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/probe.h"
#include "common/cookie.h"
#include "tests/unit/siphash_vectors.h"

static struct sw_addr ip(const char *s)
{
	struct sw_addr a;
	assert_int_equal(addr_parse(&a, s), 0);
	return a;
}

static const struct cookie_key test_key = { { 0x5a, 0x17, 0x93, 0x02, 0xee, 0x41, 0x8c, 0x6d, 0x10, 0x2f, 0xb4,
					      0x77, 0x09, 0xc3, 0x5e, 0xa1 } };

static void test_siphash_vectors(void **state)
{
	(void)state;
	struct cookie_key key;
	uint8_t msg[64];

	for (int i = 0; i < 16; i++)
		key.k[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t len = 0; len < 64; len++) {
		uint64_t h = siphash24(&key, msg, len);
		uint8_t le[8];
		for (int b = 0; b < 8; b++)
			le[b] = (uint8_t)(h >> (8 * b));
		assert_memory_equal(le, siphash24_vectors[len], 8);
	}
}

static void test_isn_binds_every_field(void **state)
{
	(void)state;
	struct sw_addr src = ip("198.18.0.1"), dst = ip("198.18.1.2");
	struct sw_addr src2 = ip("198.18.0.3"), dst2 = ip("198.18.1.3");
	struct sw_addr src6 = ip("2001:db8::1"), dst6 = ip("2001:db8::2");
	struct cookie_key other = test_key;
	uint32_t base = cookie_isn(&test_key, &src, &dst, 61000, 80, 0);

	other.k[15] ^= 1;
	assert_int_equal(cookie_isn(&test_key, &src, &dst, 61000, 80, 0), base); /* deterministic */
	assert_int_not_equal(cookie_isn(&other, &src, &dst, 61000, 80, 0), base);
	assert_int_not_equal(cookie_isn(&test_key, &src2, &dst, 61000, 80, 0), base);
	assert_int_not_equal(cookie_isn(&test_key, &src, &dst2, 61000, 80, 0), base);
	assert_int_not_equal(cookie_isn(&test_key, &dst, &src, 61000, 80, 0), base); /* direction */
	assert_int_not_equal(cookie_isn(&test_key, &src, &dst, 61001, 80, 0), base);
	assert_int_not_equal(cookie_isn(&test_key, &src, &dst, 61000, 81, 0), base);
	assert_int_not_equal(cookie_isn(&test_key, &src, &dst, 80, 61000, 0), base); /* ports swapped */
	assert_int_not_equal(cookie_isn(&test_key, &src6, &dst6, 61000, 80, 0),
			     cookie_isn(&test_key, &src6, &dst, 61000, 80, 0));
	/* every attempt gets its own ISN */
	for (unsigned a = 0; a <= PROBE_MAX_ATTEMPT; a++)
		for (unsigned b = a + 1; b <= PROBE_MAX_ATTEMPT; b++)
			assert_int_not_equal(cookie_isn(&test_key, &src, &dst, 61000, 80, (uint8_t)a),
					     cookie_isn(&test_key, &src, &dst, 61000, 80, (uint8_t)b));
}

static void test_check(void **state)
{
	(void)state;
	struct sw_addr src = ip("198.18.0.1"), dst = ip("198.18.1.2"), other = ip("198.18.1.9");
	uint8_t attempt = 0xff;

	for (uint8_t a = 0; a <= 3; a++) {
		uint32_t isn = cookie_isn(&test_key, &src, &dst, 61000, 443, a);
		attempt = 0xff;
		assert_true(cookie_check(&test_key, &src, &dst, 61000, 443, isn, 3, &attempt));
		assert_int_equal(attempt, a);
		/* a reply acknowledges isn + 1: the caller subtracts; isn
		 * itself off by one must fail */
		assert_false(cookie_check(&test_key, &src, &dst, 61000, 443, isn + 1, 3, &attempt));
		/* wrong tuple */
		assert_false(cookie_check(&test_key, &src, &other, 61000, 443, isn, 3, &attempt));
		assert_false(cookie_check(&test_key, &src, &dst, 61001, 443, isn, 3, &attempt));
		assert_false(cookie_check(&test_key, &src, &dst, 61000, 444, isn, 3, &attempt));
	}
	/* an attempt above the caller's maximum is not accepted */
	uint32_t isn5 = cookie_isn(&test_key, &src, &dst, 61000, 443, 5);
	attempt = 0xff;
	assert_false(cookie_check(&test_key, &src, &dst, 61000, 443, isn5, 4, &attempt));
	assert_int_equal(attempt, 0xff);
	assert_true(cookie_check(&test_key, &src, &dst, 61000, 443, isn5, 5, &attempt));
	assert_int_equal(attempt, 5);
	/* max_attempt 0 still checks attempt 0 */
	uint32_t isn0 = cookie_isn(&test_key, &src, &dst, 61000, 443, 0);
	assert_true(cookie_check(&test_key, &src, &dst, 61000, 443, isn0, 0, &attempt));
	assert_int_equal(attempt, 0);
}

static void test_key_random(void **state)
{
	(void)state;
	struct cookie_key a, b;

	assert_int_equal(cookie_key_random(&a), 0);
	assert_int_equal(cookie_key_random(&b), 0);
	assert_memory_not_equal(a.k, b.k, sizeof(a.k));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_isn_binds_every_field),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_key_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
