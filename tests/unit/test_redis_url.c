/* Redis URLs in messages (store/redis-url.c): a password never shows,
 * whether it is in the credentials or an option, and a URL that does not
 * parse is reported with the parser's reason but without its password. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/redis-url.h"

static void test_redact(void **state)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
		{ "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0" },
		{ "redis://alice:s3cr@t@127.0.0.1:6379/2", "redis://alice:***@127.0.0.1:6379/2" },
		{ "redis://:hunter2@127.0.0.1", "redis://:***@127.0.0.1" },
		{ "redis://hunter2@127.0.0.1", "redis://***@127.0.0.1" },
		{ "unix:///run/r.sock?db=2&password=hunter2&user=bob", "unix:///run/r.sock?db=2&password=***&user=bob" },
		{ "unix:///run/r.sock?password=", "unix:///run/r.sock?password=***" },
		{ "redis-sentinel://u:p@127.0.0.1:26379,127.0.0.1:26380/m?db=1",
		  "redis-sentinel://u:***@127.0.0.1:26379,127.0.0.1:26380/m?db=1" },
		{ "nonsense", "nonsense" },
		{ "", "" },
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		redis_url_redact(cases[i].url, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	/* truncated, still terminated */
	redis_url_redact("redis://alice:secret@127.0.0.1:6379/0", buf, 12);
	assert_string_equal(buf, "redis://ali");
}

static void test_check(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(redis_url_check("redis://127.0.0.1:6379/0", err, sizeof(err)), 0);
	assert_int_equal(redis_url_check("unix:///tmp/r.sock?db=3", err, sizeof(err)), 0);
	assert_int_equal(redis_url_check("redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster", err,
					 sizeof(err)),
			 0);
	assert_int_equal(redis_url_check("redis://alice:hunter2@127.0.0.1:99999", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "99999"));
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(redis_url_check("http://127.0.0.1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "redis://"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
