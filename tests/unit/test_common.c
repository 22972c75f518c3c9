/* common/: ring, addresses and CIDRs, durations and timestamps, checksums,
 * text buffers, numbers and their one wording. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/num.h"
#include "common/ring.h"
#include "common/wire.h"

static void test_ring_basic(void **state)
{
	(void)state;
	struct ring *r;
	uint32_t in[10], out[10];

	assert_int_equal(ring_new(&r, 0, 8), -EINVAL);
	assert_int_equal(ring_new(&r, sizeof(uint32_t), 5), 0);
	assert_int_equal(ring_capacity(r), 8);
	for (uint32_t i = 0; i < 10; i++)
		in[i] = i;
	assert_int_equal(ring_push(r, in, 10), 8); /* only what fits */
	assert_int_equal(ring_count(r), 8);
	assert_int_equal(ring_pop(r, out, 3), 3);
	assert_memory_equal(out, in, 3 * sizeof(uint32_t));
	/* wrap around */
	assert_int_equal(ring_push(r, in + 8, 2), 2);
	assert_int_equal(ring_pop(r, out, 10), 7);
	for (uint32_t i = 0; i < 7; i++)
		assert_int_equal(out[i], i + 3);
	assert_int_equal(ring_pop(r, out, 10), 0);
	ring_free(r);
	ring_free(NULL);
}

#define SPSC_N 2000000u

static void *producer(void *arg)
{
	struct ring *r = arg;
	uint64_t batch[37];

	for (uint64_t i = 0; i < SPSC_N;) {
		size_t n = 0;
		while (n < 37 && i + n < SPSC_N) {
			batch[n] = i + n;
			n++;
		}
		size_t done = 0;
		while (done < n)
			done += ring_push(r, batch + done, n - done);
		i += n;
	}
	return NULL;
}

static void test_ring_threads(void **state)
{
	(void)state;
	struct ring *r;
	pthread_t t;
	uint64_t buf[64], expect = 0;

	assert_int_equal(ring_new(&r, sizeof(uint64_t), 1024), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, r), 0);
	while (expect < SPSC_N) {
		size_t n = ring_pop(r, buf, 64);
		for (size_t i = 0; i < n; i++)
			assert_true(buf[i] == expect++); /* in order, nothing lost or doubled */
	}
	pthread_join(t, NULL);
	ring_free(r);
}

static void test_addr(void **state)
{
	(void)state;
	struct sw_addr a, b;
	char buf[ADDR_STRLEN];

	assert_int_equal(addr_parse(&a, "198.18.0.1"), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(addr_format(&a, buf, sizeof(buf)), "198.18.0.1");
	assert_int_equal(addr_parse(&b, "2001:db8::1"), 0);
	assert_int_equal(b.family, AF_INET6);
	assert_string_equal(addr_format(&b, buf, sizeof(buf)), "2001:db8::1");
	assert_false(addr_equal(&a, &b));
	assert_int_equal(addr_parse(&a, "198.18.0.256"), -EINVAL);
	assert_int_equal(addr_parse(&a, ""), -EINVAL);
	assert_int_equal(addr_parse(&a, "198.18.0.1 "), -EINVAL);
	addr_from_v4(&b, htonl(0xc6120001));
	assert_int_equal(addr_parse(&a, "198.18.0.1"), 0);
	assert_true(addr_equal(&a, &b));
	assert_int_not_equal(addr_port_hash(&a, 80), addr_port_hash(&a, 81));
}

static void test_cidr(void **state)
{
	(void)state;
	struct sw_cidr c;
	struct sw_addr a;

	assert_int_equal(cidr_parse(&c, "198.18.0.0/15"), 0);
	assert_int_equal(c.prefix, 15);
	addr_parse(&a, "198.19.255.255");
	assert_true(cidr_contains(&c, &a));
	addr_parse(&a, "198.20.0.0");
	assert_false(cidr_contains(&c, &a));
	assert_int_equal(cidr_parse(&c, "198.18.1.0/16"), -EINVAL); /* host bits */
	assert_int_equal(cidr_parse(&c, "198.18.0.0/33"), -EINVAL);
	assert_int_equal(cidr_parse(&c, "198.18.0.0/"), -EINVAL);
	assert_int_equal(cidr_parse(&c, "198.18.0.1"), 0);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(cidr_parse(&c, "0.0.0.0/0"), 0);
	assert_true(cidr_contains(&c, &a));
	assert_int_equal(cidr_parse(&c, "2001:db8::/32"), 0);
	addr_parse(&a, "2001:db8:ffff::1");
	assert_true(cidr_contains(&c, &a));
	addr_parse(&a, "198.18.0.1");
	assert_false(cidr_contains(&c, &a)); /* other family */
	/* the route lookup's form: host bits past the prefix do not matter */
	struct sw_addr net;
	addr_parse(&net, "198.18.7.9");
	addr_parse(&a, "198.18.255.1");
	assert_true(addr_prefix_match(&net, 16, &a));
	assert_false(addr_prefix_match(&net, 17, &a));
	assert_true(addr_prefix_match(&net, 0, &a));
}

static void test_duration(void **state)
{
	(void)state;
	int64_t ns;

	assert_int_equal(duration_parse("1s", &ns), 0);
	assert_int_equal(ns, NSEC_PER_SEC);
	assert_int_equal(duration_parse("250ms", &ns), 0);
	assert_int_equal(ns, 250 * NSEC_PER_MSEC);
	assert_int_equal(duration_parse("1.5s", &ns), 0);
	assert_int_equal(ns, 1500 * NSEC_PER_MSEC);
	assert_int_equal(duration_parse("5m", &ns), 0);
	assert_int_equal(ns, 300 * NSEC_PER_SEC);
	assert_int_equal(duration_parse("2", &ns), 0);
	assert_int_equal(ns, 2 * NSEC_PER_SEC);
	assert_int_equal(duration_parse("10us", &ns), 0);
	assert_int_equal(ns, 10000);
	assert_int_equal(duration_parse("-1s", &ns), -EINVAL);
	assert_int_equal(duration_parse("1 s", &ns), -EINVAL);
	assert_int_equal(duration_parse("1x", &ns), -EINVAL);
	assert_int_equal(duration_parse("", &ns), -EINVAL);
	assert_int_equal(duration_parse("1e30s", &ns), -EINVAL);
	assert_int_equal(duration_parse("nan", &ns), -EINVAL);
}

static void test_rfc3339(void **state)
{
	(void)state;
	char buf[40];

	assert_int_equal(clock_format_rfc3339(1700000000LL * NSEC_PER_SEC + 123456789, buf, sizeof(buf)), 30);
	assert_string_equal(buf, "2023-11-14T22:13:20.123456789Z");
	assert_int_equal(clock_format_rfc3339(0, buf, 10), -EINVAL);
}

static void test_checksum(void **state)
{
	(void)state;
	/* RFC 1071 example words: 0001 f203 f4f5 f6f7 -> sum ddf2, checksum 220d */
	const uint8_t d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	assert_int_equal(csum_fold(csum_add(0, d, sizeof(d))), 0x220d);
	/* incremental update equals recomputation */
	uint8_t e[8];
	memcpy(e, d, 8);
	uint16_t c0 = csum_fold(csum_add(0, e, 8));
	wr16(e + 2, 0x1234);
	assert_int_equal(csum_update16(c0, 0xf203, 0x1234), csum_fold(csum_add(0, e, 8)));
	wr32(e + 4, 0xdeadbeef);
	uint16_t c1 = csum_fold(csum_add(0, e, 8));
	wr32(e + 4, 0x01020304);
	assert_int_equal(csum_update32(c1, 0xdeadbeef, 0x01020304), csum_fold(csum_add(0, e, 8)));
	/* odd length pads with zero */
	const uint8_t o[] = { 0x12 };
	assert_int_equal(csum_add(0, o, 1), 0x1200);
}

static void test_buf_growing(void **state)
{
	(void)state;
	struct buf b = { 0 };
	size_t len;
	char *s;

	buf_add(&b, "ab", 2);
	buf_puts(&b, "cd");
	for (int i = 0; i < 100; i++)
		buf_printf(&b, "%03d", i);
	assert_int_equal(b.len, 4 + 300);
	assert_memory_equal(b.s, "abcd000001", 10);
	assert_string_equal(b.s + b.len - 3, "099");
	assert_false(b.nomem);
	buf_reset(&b);
	assert_string_equal(b.s, "");
	buf_puts(&b, "x");
	s = buf_steal(&b, &len);
	assert_string_equal(s, "x");
	assert_int_equal(len, 1);
	assert_null(b.s);
	free(s);
	/* nothing added: nothing to hand over */
	assert_null(buf_steal(&b, &len));
	assert_int_equal(len, 0);
	buf_release(&b);
	buf_release(NULL);
}

static void test_buf_fixed(void **state)
{
	(void)state;
	char mem[8];
	struct buf b;
	size_t len;

	buf_init_fixed(&b, mem, sizeof(mem));
	assert_string_equal(b.s, "");
	buf_puts(&b, "abc");
	buf_printf(&b, "%d", 42);
	assert_string_equal(mem, "abc42");
	assert_false(b.nomem);
	/* what does not fit is cut, and the rest ignored */
	buf_puts(&b, "xyz");
	assert_string_equal(mem, "abc42xy");
	assert_true(b.nomem);
	buf_puts(&b, "z");
	assert_string_equal(mem, "abc42xy");
	buf_init_fixed(&b, mem, sizeof(mem));
	buf_printf(&b, "%s", "0123456789");
	assert_string_equal(mem, "0123456");
	assert_int_equal(b.len, 7);
	assert_true(b.nomem);
	/* never handed over, never freed */
	assert_null(buf_steal(&b, &len));
	assert_ptr_equal(b.s, mem);
	buf_init_fixed(&b, mem, 0);
	assert_true(b.nomem);
}

static void test_num(void **state)
{
	(void)state;
	uint64_t u;
	int64_t i;
	char msg[200];

	assert_int_equal(num_parse_uint("0", 0, 10, &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(num_parse_uint("007", 0, 10, &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(num_parse_uint("18446744073709551615", 0, UINT64_MAX, &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(num_parse_uint("18446744073709551616", 0, UINT64_MAX, &u), -ERANGE);
	assert_int_equal(num_parse_uint("11", 0, 10, &u), -ERANGE);
	assert_int_equal(num_parse_uint("0", 1, 10, &u), -ERANGE);
	/* digits only, as docs/config.md says */
	static const char *const junk[] = { "", " 5", "5 ", "+5", "-0", "0x10", "1.0", "1e3", "5x" };
	for (size_t k = 0; k < sizeof(junk) / sizeof(junk[0]); k++)
		if (num_parse_uint(junk[k], 0, 100, &u) != -EINVAL)
			fail_msg("took '%s'", junk[k]);
	assert_int_equal(num_parse_uintn("6379/0", 4, 1, 65535, &u), 0);
	assert_int_equal(u, 6379);
	assert_int_equal(num_parse_uintn("6379", 0, 0, 65535, &u), -EINVAL);
	assert_int_equal(num_parse_int("-9223372036854775808", INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(num_parse_int("9223372036854775808", INT64_MIN, INT64_MAX, &i), -ERANGE);
	assert_int_equal(num_parse_int("-1", 0, 10, &i), -ERANGE);
	assert_int_equal(num_parse_int("--1", -10, 10, &i), -EINVAL);
	assert_int_equal(num_parse_int("-", -10, 10, &i), -EINVAL);
	assert_int_equal(num_parse_duration("250ms", NSEC_PER_MSEC, NSEC_PER_SEC, &i), 0);
	assert_int_equal(i, 250 * NSEC_PER_MSEC);
	assert_int_equal(num_parse_duration("2s", NSEC_PER_MSEC, NSEC_PER_SEC, &i), -ERANGE);
	assert_int_equal(num_parse_duration("soon", NSEC_PER_MSEC, NSEC_PER_SEC, &i), -EINVAL);
	/* the one wording */
	assert_string_equal(num_uint_error(msg, sizeof(msg), "--rate", "fast", 1, 100000000),
			    "--rate 'fast': expected a whole number from 1 to 100000000");
	assert_string_equal(num_uint_error(msg, sizeof(msg), "--events-maxlen", "5", 1000, UINT64_MAX),
			    "--events-maxlen '5': expected a whole number, at least 1000");
	assert_string_equal(num_duration_error(msg, sizeof(msg), "interval", "5ms", 10 * NSEC_PER_MSEC,
					       24 * 3600 * NSEC_PER_SEC),
			    "interval '5ms': expected a duration from 10ms to 24h");
	assert_string_equal(num_duration_text(0, msg, sizeof(msg)), "0");
	assert_string_equal(num_duration_text(90 * NSEC_PER_SEC, msg, sizeof(msg)), "90s");
	assert_string_equal(num_duration_text(1500, msg, sizeof(msg)), "1500ns");
	/* sizes: binary units */
	static const struct {
		const char *text;
		int r;
		uint64_t v;
	} sizes[] = {
		{ "4096", 0, 4096 },           { "512M", 0, 512ull << 20 },   { "1G", 0, 1ull << 30 },
		{ "1GiB", 0, 1ull << 30 },     { "2T", 0, 2ull << 40 },       { "0K", 0, 0 },
		{ "", -EINVAL, 0 },            { "G", -EINVAL, 0 },           { "1g", -EINVAL, 0 },
		{ "1GB", -EINVAL, 0 },         { "1 G", -EINVAL, 0 },         { "1.5G", -EINVAL, 0 },
		{ "-1M", -EINVAL, 0 },         { "1Gi", -EINVAL, 0 },         { "99999999T", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
	};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		u = 12345;
		int r = num_parse_size(sizes[k].text, 0, UINT64_MAX, &u);
		if (r != sizes[k].r || (r == 0 && u != sizes[k].v))
			fail_msg("'%s': %d %llu", sizes[k].text, r, (unsigned long long)u);
	}
	assert_int_equal(num_parse_size("512K", 1u << 20, 1ull << 40, &u), -ERANGE);
	assert_string_equal(num_size_text(1ull << 30, msg, sizeof(msg)), "1G");
	assert_string_equal(num_size_text(1536ull << 20, msg, sizeof(msg)), "1536M");
	assert_string_equal(num_size_text(1000, msg, sizeof(msg)), "1000");
	assert_string_equal(num_size_error(msg, sizeof(msg), "spill_max", "lots", 1u << 20, 1ull << 40),
			    "spill_max 'lots': expected a size from 1M to 1T, like 512M");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_basic), cmocka_unit_test(test_ring_threads), cmocka_unit_test(test_addr),
		cmocka_unit_test(test_cidr),       cmocka_unit_test(test_duration),     cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_checksum),   cmocka_unit_test(test_buf_growing),
		cmocka_unit_test(test_buf_fixed),  cmocka_unit_test(test_num),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
