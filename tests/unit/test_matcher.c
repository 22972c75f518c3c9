/* tools/lib/matcher and tools/lib/silence (the parts without Redis): the matcher
 * syntax and its errors, what an absent label matches, anchored regular
 * expressions, the canonical text read back, and silences by matcher and
 * time window against events as the alerter sees them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tools/lib/matcher.h"
#include "tools/lib/silence.h"
#include "tests/unit/alert-fixture.h"

static bool match1(const char *text, const char *value)
{
	struct matcher m;
	char err[256];

	if (matcher_parse(&m, text, err, sizeof(err)) != 0)
		fail_msg("'%s': %s", text, err);
	bool r = matcher_match(&m, value);
	matcher_release(&m);
	return r;
}

static void test_match(void **state)
{
	(void)state;
	assert_true(match1("team=dba", "dba"));
	assert_false(match1("team=dba", "dbax"));
	assert_false(match1("team=dba", NULL));
	/* an absent label is the empty string */
	assert_true(match1("team=", NULL));
	assert_true(match1("criticality!=low", NULL));
	assert_true(match1("criticality!=low", "high"));
	assert_false(match1("criticality!=low", "low"));
	/* regular expressions match the whole value */
	assert_true(match1("name=~db-[0-9]+", "db-3"));
	assert_false(match1("name=~db", "db-3"));
	assert_true(match1("name=~.*PostgreSQL.*", "Production DB - PostgreSQL 5432"));
	assert_true(match1("name!~db.*", "web-1"));
	assert_false(match1("name!~db.*", "db-1"));
	assert_true(match1("location=~fra1|ams2", "ams2"));
	/* the value is the rest: '=' and spaces included, quotes taken off */
	assert_true(match1("note=a=b c", "a=b c"));
	assert_true(match1("x=\"~tilde\"", "~tilde"));
	assert_true(match1("target=198.18.0.5:443", "198.18.0.5:443"));
}

static void test_parse_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "", "expected KEY=VALUE" },
		{ "=dba", "expected KEY=VALUE" },
		{ "team", "expected an operator" },
		{ "team dba", "expected an operator" },
		{ "te-am=x", "expected an operator" },
		{ "1team=x", "expected KEY=VALUE" },
		{ "team==x", "" }, /* a value starting with '=' is fine */
		{ "name=~(", "matcher 'name=~('" },
		{ "name=a\tb", "a control character" },
		{ "a12345678901234567890123456789012345678901234567890123456789012345=x", "longer than 64" },
	};
	struct matcher m;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = matcher_parse(&m, cases[i].text, err, sizeof(err));
		if (!*cases[i].msg) {
			assert_int_equal(r, 0);
			matcher_release(&m);
			continue;
		}
		if (r != -EINVAL || !strstr(err, cases[i].msg))
			fail_msg("'%s': got %d '%s', want '%s'", cases[i].text, r, err, cases[i].msg);
	}
	matcher_release(&m); /* a failed parse leaves it zeroed: fine */
}

static void test_text(void **state)
{
	(void)state;
	static const char *const texts[] = { "team=dba", "criticality!=low", "name=~db-.*", "location!~fra.*",
					     "x=\"~y\"", "x=\"\"quoted\"\"" };
	char buf[256], again[256], err[256];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct matcher m, back;
		assert_int_equal(matcher_parse(&m, texts[i], err, sizeof(err)), 0);
		matcher_text(&m, buf, sizeof(buf));
		/* what it writes reads back as the same matcher */
		assert_int_equal(matcher_parse(&back, buf, err, sizeof(err)), 0);
		assert_string_equal(back.key, m.key);
		assert_string_equal(back.value, m.value);
		assert_int_equal(back.op, m.op);
		assert_string_equal(matcher_text(&back, again, sizeof(again)), buf);
		matcher_release(&m);
		matcher_release(&back);
	}
	assert_string_equal(matcher_op_text(MATCHER_NRE), "!~");
}

static void test_event_keys(void **state)
{
	(void)state;
	struct fv_arena a = { 0 };
	struct alert_event e;

	fixture_event(&e, &a, (const char *const[]){ FIXTURE_DOWN, NULL });
	assert_string_equal(alert_event_attr(&e, "team"), "dba");
	assert_string_equal(alert_event_attr(&e, "host"), "198.18.1.9");
	assert_string_equal(alert_event_attr(&e, "target"), "198.18.1.9:5432");
	assert_string_equal(alert_event_attr(&e, "state"), "down");
	assert_string_equal(alert_event_attr(&e, "location"), "fra1");
	assert_string_equal(alert_event_attr(&e, "severity"), "critical");
	assert_string_equal(alert_event_attr(&e, "kind"), "state");
	assert_null(alert_event_attr(&e, "owner"));
	fv_arena_release(&a);
}

static void test_silences(void **state)
{
	(void)state;
	static const char *const dba[] = { "team=dba", "criticality!=low" };
	static const char *const host[] = { "host=198.18.1.9" };
	static const char *const other[] = { "team=web" };
	struct silence_set set = { 0 };
	struct fv_arena a = { 0 };
	struct alert_event e;
	char err[256], text[256];

	fixture_event(&e, &a, (const char *const[]){ FIXTURE_DOWN, NULL });
	set.v = calloc(3, sizeof(*set.v));
	assert_non_null(set.v);
	assert_int_equal(silence_init(&set.v[0], other, 1, 1000, 2000, "", "ops@probe", err, sizeof(err)), 0);
	assert_int_equal(
	    silence_init(&set.v[1], dba, 2, 1000, 2000, "db-3 maintenance", "ops@probe", err, sizeof(err)),
	    0);
	assert_int_equal(silence_init(&set.v[2], host, 1, 3000, 4000, NULL, NULL, err, sizeof(err)), 0);
	set.n = 3;
	assert_int_equal(strlen(set.v[1].id), SILENCE_ID_LEN);
	assert_string_not_equal(set.v[0].id, set.v[1].id);
	assert_string_equal(silence_matchers_text(&set.v[1], text, sizeof(text)),
			    "team=dba, criticality!=low");
	/* inside the window of the dba silence, not before, not at its end */
	assert_ptr_equal(silence_find(&set, 1500, alert_event_attr, &e), &set.v[1]);
	assert_null(silence_find(&set, 999, alert_event_attr, &e));
	assert_null(silence_find(&set, 2000, alert_event_attr, &e));
	/* the host silence starts later */
	assert_null(silence_find(&set, 2500, alert_event_attr, &e));
	assert_ptr_equal(silence_find(&set, 3000, alert_event_attr, &e), &set.v[2]);
	assert_true(silence_active(&set.v[2], 3999));
	assert_false(silence_active(&set.v[2], 4000));
	silence_set_release(&set);
	silence_set_release(&set);
	fv_arena_release(&a);
}

static void test_silence_errors(void **state)
{
	(void)state;
	static const char *const ok[] = { "team=dba" };
	static const char *const bad[] = { "team=dba", "oops" };
	struct silence s;
	char err[256];

	assert_int_equal(silence_init(&s, ok, 0, 1, 2, "", "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "at least one matcher"));
	assert_int_equal(silence_init(&s, ok, 1, 2, 2, "", "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ends before it starts"));
	assert_int_equal(silence_init(&s, bad, 2, 1, 2, "", "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "matcher 'oops'"));
	assert_int_equal(silence_init(&s, ok, 1, 1, 2, "two\nlines", "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "one line"));
	silence_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),         cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_text),          cmocka_unit_test(test_event_keys),
		cmocka_unit_test(test_silences),      cmocka_unit_test(test_silence_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
