/* store/: the NDJSON and text lines, byte for byte. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "store/store.h"

static struct target tgt(const char *ip, uint16_t port)
{
	struct target t = { .port = port, .name = TARGET_NO_NAME };
	assert_int_equal(addr_parse(&t.addr, ip), 0);
	return t;
}

static void test_ndjson_open(void **state)
{
	(void)state;
	char buf[1024];
	struct target t = tgt("198.18.0.7", 443);
	struct probe_result r = {
		.ts_real_ns = 1700000000LL * NSEC_PER_SEC + 5, .rtt_ns = 1234567, .state = PROBE_OPEN, .ttl = 63,
	};
	int n = store_format_ndjson(buf, sizeof(buf), &r, &t, "web \"front\"\n");
	assert_true(n > 0);
	assert_string_equal(buf, "{\"type\":\"result\",\"ts\":\"2023-11-14T22:13:20.000000005Z\",\"ip\":\"198.18.0.7\","
				 "\"port\":443,\"state\":\"open\",\"rtt_us\":1234.567,\"attempt\":0,\"ttl\":63,"
				 "\"name\":\"web \\\"front\\\"\\n\"}\n");
	assert_int_equal(n, (int)strlen(buf));
}

static void test_ndjson_others(void **state)
{
	(void)state;
	char buf[1024];
	struct target t = tgt("198.18.0.9", 22);
	struct probe_result r = { .ts_real_ns = 0, .rtt_ns = -1, .state = PROBE_FILTERED, .attempt = 1 };

	store_format_ndjson(buf, sizeof(buf), &r, &t, NULL);
	assert_string_equal(buf, "{\"type\":\"result\",\"ts\":\"1970-01-01T00:00:00.000000000Z\",\"ip\":\"198.18.0.9\","
				 "\"port\":22,\"state\":\"filtered\",\"rtt_us\":null,\"attempt\":1,\"ttl\":null}\n");
	r = (struct probe_result){ .rtt_ns = 999, .state = PROBE_UNREACHABLE, .ttl = 64, .icmp_type = 3,
				   .icmp_code = 13, .rtt_approx = 1 };
	addr_parse(&r.from, "198.19.255.2");
	store_format_ndjson(buf, sizeof(buf), &r, &t, NULL);
	assert_non_null(strstr(buf, "\"state\":\"unreachable\",\"rtt_us\":0.999,"));
	assert_non_null(strstr(buf, "\"icmp_type\":3,\"icmp_code\":13,\"icmp_from\":\"198.19.255.2\""));
	assert_non_null(strstr(buf, "\"rtt_approx\":true"));
	r = (struct probe_result){ .rtt_ns = -1, .state = PROBE_ERROR, .err = ENETUNREACH };
	store_format_ndjson(buf, sizeof(buf), &r, &t, NULL);
	assert_non_null(strstr(buf, "\"state\":\"error\""));
	assert_non_null(strstr(buf, "\"error\":\"Network is unreachable\""));
	/* too small a buffer is an error, never a truncated line */
	assert_int_equal(store_format_ndjson(buf, 40, &r, &t, NULL), -ENOSPC);
}

static void test_text(void **state)
{
	(void)state;
	char buf[256];
	struct target t = tgt("198.18.0.7", 80);
	struct probe_result r = { .rtt_ns = 250000, .state = PROBE_CLOSED, .ttl = 64 };

	assert_true(store_format_text(buf, sizeof(buf), &r, &t, "db") > 0);
	assert_string_equal(buf, "198.18.0.7:80    closed          0.250 ms  ttl 64  db\n");
}

static void test_format_parse(void **state)
{
	(void)state;
	enum store_format f;
	assert_int_equal(store_format_parse("ndjson", &f), 0);
	assert_int_equal(f, STORE_NDJSON);
	assert_int_equal(store_format_parse("none", &f), 0);
	assert_int_equal(f, STORE_NONE);
	assert_int_equal(store_format_parse("json", &f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ndjson_open),
		cmocka_unit_test(test_ndjson_others),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_format_parse),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
