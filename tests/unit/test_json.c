/* common/json: the escaper gives valid JSON for any bytes (checked by
 * reading it back with the reader and by walking it as UTF-8), both escape
 * styles, and the reader's strict and lenient strings, skipping and
 * nesting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/utf8.h"

/* Whether the n bytes at s are valid UTF-8 throughout. */
static bool valid_utf8(const char *s, size_t n)
{
	unsigned cp;

	for (size_t i = 0, l; i < n; i += l)
		if (!(l = utf8_next(s + i, n - i, &cp)))
			return false;
	return true;
}

/* s (n bytes) escaped, checked as one valid JSON string, and decoded
 * again into out (room for max); returns the decoded length. */
static size_t round_trip(const char *s, size_t n, enum json_esc esc, char *out, size_t max)
{
	struct buf b = { 0 };
	struct json_in j;
	char err[128] = "";
	size_t len = 0;

	json_put_strn(&b, s, n, esc);
	assert_false(b.nomem);
	assert_true(valid_utf8(b.s, b.len));
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.s[i] < 0x20)
			fail_msg("a raw control character 0x%02x in %s", (unsigned char)b.s[i], b.s);
	json_in_init(&j, b.s, b.len, err, sizeof(err));
	if (json_string(&j, out, max, &len, false, "out") < 0)
		fail_msg("not a JSON string: %s (%s)", b.s, err);
	assert_true(json_end(&j));
	/* U+FFFD and \u0000 aside, strict reading takes it too */
	json_in_init(&j, b.s, b.len, err, sizeof(err));
	if (!memchr(s, 0, n) && json_string(&j, NULL, 0, NULL, true, "out") < 0)
		fail_msg("strict reading refuses %s: %s", b.s, err);
	buf_release(&b);
	return len;
}

static void expect_escaped(const char *s, size_t n, enum json_esc esc, const char *want)
{
	struct buf b = { 0 };

	json_put_strn(&b, s, n, esc);
	assert_string_equal(b.s, want);
	buf_release(&b);
}

#define FFFD "\xef\xbf\xbd"

static void test_invalid_utf8(void **state)
{
	static const struct {
		const char *in, *escaped, *decoded;
	} cases[] = {
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"", FFFD FFFD },                      /* overlong '/' */
		{ "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD },      /* overlong, 3 bytes */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD },      /* a surrogate */
		{ "a\xe2\x82", "\"a\\ufffd\\ufffd\"", "a" FFFD FFFD },                /* cut short at the end */
		{ "\xe2\x82z", "\"\\ufffd\\ufffdz\"", FFFD FFFD "z" },                /* cut short inside */
		{ "\xff", "\"\\ufffd\"", FFFD },
		{ "\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", FFFD FFFD FFFD FFFD }, /* past U+10FFFF */
		{ "\x80", "\"\\ufffd\"", FFFD },                                      /* a lone continuation */
		{ "\xc3\xa9\xf0\x9f\x98\x80", "\"\xc3\xa9\xf0\x9f\x98\x80\"", "\xc3\xa9\xf0\x9f\x98\x80" }, /* valid */
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);
		for (int esc = JSON_ESC_U; esc <= JSON_ESC_SHORT; esc++) {
			expect_escaped(cases[i].in, n, (enum json_esc)esc, cases[i].escaped);
			assert_int_equal(round_trip(cases[i].in, n, (enum json_esc)esc, out, sizeof(out)),
					 strlen(cases[i].decoded));
			assert_string_equal(out, cases[i].decoded);
		}
	}
}

static void test_controls_and_nul(void **state)
{
	char out[64];

	(void)state;
	/* a NUL inside the bytes is one more character to escape */
	expect_escaped("a\0b", 3, JSON_ESC_U, "\"a\\u0000b\"");
	assert_int_equal(round_trip("a\0b", 3, JSON_ESC_U, out, sizeof(out)), 3);
	assert_memory_equal(out, "a\0b", 3);
	/* the two styles */
	expect_escaped("\"\\\n\t\x01\x1f\x7f/", 8, JSON_ESC_U, "\"\\\"\\\\\\u000a\\u0009\\u0001\\u001f\x7f/\"");
	expect_escaped("\"\\\n\t\x01\x1f\x7f/", 8, JSON_ESC_SHORT, "\"\\\"\\\\\\n\\t\\u0001\\u001f\\u007f/\"");
	assert_int_equal(round_trip("\n\t\x7f", 3, JSON_ESC_SHORT, out, sizeof(out)), 3);
	assert_string_equal(out, "\n\t\x7f");
}

static void test_any_bytes(void **state)
{
	char in[32], out[32 * 3 + 1];
	uint32_t x = 12345;
	static const char pieces[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xa0\"\\\n\x7f";

	(void)state;
	/* random bytes, biased to the interesting ones: high bytes, controls,
	 * pieces of characters, quotes */
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(x % 32);
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245 + 12345;
			unsigned r = x >> 16, v = r >> 8;
			in[i] = r % 4 == 0 ? (char)v
				: r % 4 == 1 ? (char)(0x80 | (v & 0x7f))
				: r % 4 == 2 ? (char)(v & 0x3f) : pieces[v % (sizeof(pieces) - 1)];
		}
		x = x * 1103515245 + 12345;
		size_t len = round_trip(in, n, (enum json_esc)(round & 1), out, sizeof(out) - 1);
		/* valid input comes back as it was */
		if (valid_utf8(in, n)) {
			assert_int_equal(len, n);
			assert_memory_equal(out, in, n);
		}
	}
}

static void test_put(void **state)
{
	struct buf b = { 0 };
	char mem[6];

	(void)state;
	json_put_str(&b, NULL);
	buf_puts(&b, " ");
	json_put_num(&b, 42);
	buf_puts(&b, " ");
	json_put_num(&b, -0.5);
	buf_puts(&b, " ");
	json_put_num(&b, 1.0 / 0.0);
	assert_string_equal(b.s, "null 42 -0.5 null");
	buf_reset(&b);
	/* members, the comma before all but the first */
	bool first = true;
	buf_puts(&b, "{");
	json_put_kv(&b, &first, "a", "x\"");
	json_put_kn(&b, &first, "n", 1.5);
	json_put_key(&b, &first, "o");
	buf_puts(&b, "{}}");
	assert_string_equal(b.s, "{\"a\":\"x\\\"\",\"n\":1.5,\"o\":{}}");
	buf_release(&b);
	/* into a fixed buffer: cut, and said */
	buf_init_fixed(&b, mem, sizeof(mem));
	json_put_str(&b, "abcdef");
	assert_true(b.nomem);
	assert_string_equal(mem, "\"abcd");
}

/* What test_runtime does not reach through runtime_parse (which reads
 * strictly, with its messages): a high surrogate before another escape, a
 * string too long, a pair decoded, and where an error is. */
static void test_strict(void **state)
{
	const char *pair = "  \"\\ud83d\\ude00\\/\" x", *high = "\"\\ud800\\u0041\"";
	char out[9], err[128];
	struct json_in j;

	(void)state;
	json_in_init(&j, high, strlen(high), err, sizeof(err));
	assert_int_equal(json_string(&j, out, sizeof(out) - 1, NULL, true, "s"), -EINVAL);
	assert_string_equal(err, "a high surrogate \\ud800 without its low half");
	json_in_init(&j, "\"abcdefghi\"", 11, err, sizeof(err));
	assert_int_equal(json_string(&j, out, sizeof(out) - 1, NULL, true, "s"), -EINVAL);
	assert_string_equal(err, "s: longer than 8 bytes");
	json_in_init(&j, pair, strlen(pair), err, sizeof(err));
	assert_int_equal(json_string(&j, out, sizeof(out) - 1, NULL, true, "s"), 0);
	assert_string_equal(out, "\xf0\x9f\x98\x80/");
	assert_false(json_end(&j));
	assert_int_equal(json_expect(&j, '}', "'}'"), -EINVAL);
	assert_string_equal(err, "expected '}' at byte 19");
}

static void test_lenient(void **state)
{
	char out[32];
	size_t len;
	struct json_in j;

	(void)state;
	/* lone halves become U+FFFD, what follows a lone high half stays */
	const char *halves = "\"\\ud800\\u0041\\udc00\xff\"";
	json_in_init(&j, halves, strlen(halves), NULL, 0);
	assert_int_equal(json_string_room(&j), 19);
	assert_int_equal(json_string(&j, out, sizeof(out) - 1, &len, false, "s"), 0);
	assert_string_equal(out, FFFD "A" FFFD "\xff");
	/* \u0000 is a NUL */
	json_in_init(&j, "\"a\\u0000b\"", 10, NULL, 0);
	assert_int_equal(json_string(&j, out, sizeof(out) - 1, &len, false, "s"), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "a\0b", 3);
	json_in_init(&j, "\"abc", 4, NULL, 0);
	assert_int_equal(json_string_room(&j), -EINVAL);
}

static void test_skip(void **state)
{
	static const char *const good[] = {
		"0", "-1.5e+3", "true", "false", "null", "\"x\"", "[]", "{}", " [1, \"a\", {\"b\": [null]}] ",
	};
	static const char *const bad[] = {
		"", "01", "1.", "-", "1e", "tru", "[1,]", "{\"a\"}", "{\"a\":}", "{1:2}", "[1 2]", "\"\\x\"", "[",
	};
	char deep[2 * (JSON_DEPTH_MAX + 2) + 1];
	struct json_in j;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		json_in_init(&j, good[i], strlen(good[i]), NULL, 0);
		if (json_skip(&j) < 0 || !json_end(&j))
			fail_msg("refused '%s'", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_in_init(&j, bad[i], strlen(bad[i]), NULL, 0);
		if (json_skip(&j) == 0 && json_end(&j))
			fail_msg("took '%s'", bad[i]);
	}
	/* nesting: JSON_DEPTH_MAX levels inside the outer one, not one more */
	for (int depth = JSON_DEPTH_MAX + 1; depth <= JSON_DEPTH_MAX + 2; depth++) {
		memset(deep, '[', (size_t)depth);
		memset(deep + depth, ']', (size_t)depth);
		json_in_init(&j, deep, 2 * (size_t)depth, NULL, 0);
		assert_int_equal(json_skip(&j), depth <= JSON_DEPTH_MAX + 1 ? 0 : -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_utf8), cmocka_unit_test(test_controls_and_nul),
		cmocka_unit_test(test_any_bytes),    cmocka_unit_test(test_put),
		cmocka_unit_test(test_strict),       cmocka_unit_test(test_lenient),
		cmocka_unit_test(test_skip),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
