/* store/schema: every key of docs/redis.md, spelled out here on purpose
 * (the layout is a public interface), cutting, the alert stem and the
 * prefix check. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/schema.h"

#define P "sw:"

/* Every key, as docs/redis.md spells it; alert keys under the stem. */
static const struct {
	enum schema_key k;
	const char *a, *b, *want;
} keys[] = {
	{ SCHEMA_SCHEMA, NULL, NULL, "sw:schema" },
	{ SCHEMA_RESULTS, NULL, NULL, "sw:results" },
	{ SCHEMA_EVENTS, NULL, NULL, "sw:events" },
	{ SCHEMA_STATE, "fra1", "[2001:db8::1]:443", "sw:state:fra1:[2001:db8::1]:443" },
	{ SCHEMA_IDX, "fra1", "down", "sw:idx:fra1:down" },
	{ SCHEMA_IDX, "fra1", SCHEMA_IDX_ALL, "sw:idx:fra1:all" },
	{ SCHEMA_LAT, "fra1", "198.18.0.5:5432", "sw:lat:fra1:198.18.0.5:5432" },
	{ SCHEMA_PROBER, "fra1/probe-1", NULL, "sw:prober:fra1/probe-1" },
	{ SCHEMA_PROBERS, NULL, NULL, "sw:probers" },
	{ SCHEMA_MEMBERS, "fra1", NULL, "sw:members:fra1" },
	{ SCHEMA_SEQ, "fra1/probe-1", NULL, "sw:seq:fra1/probe-1" },
	{ SCHEMA_RUNTIME_TARGETS, NULL, NULL, "sw:runtime:targets" },
	{ SCHEMA_RUNTIME, NULL, NULL, "sw:runtime" },
	{ SCHEMA_QUORUM_ISSUES, NULL, NULL, "sw:quorum:issues" },
	{ SCHEMA_QUORUM_HOSTS, NULL, NULL, "sw:quorum:hosts" },
	{ SCHEMA_QUORUM_HOST, "198.18.0.5", NULL, "sw:quorum:host:198.18.0.5" },
	{ SCHEMA_QUORUM_LEASE, NULL, NULL, "sw:quorum:lease" },
	{ SCHEMA_SILENCES, NULL, NULL, "sw:silences" },
	{ SCHEMA_SILENCE, "0123456789ab", NULL, "sw:silence:0123456789ab" },
	{ SCHEMA_ALERTER, "host:42", NULL, "sw:alerter:host:42" },
	{ SCHEMA_HISTO, "fra1", NULL, "sw:histo:fra1" },
	{ SCHEMA_ALERTS, NULL, NULL, "sw:alert:alerters:open" },
	{ SCHEMA_ALERT_LOCS, "down:198.18.0.5:22", NULL, "sw:alert:alerters:loc:down:198.18.0.5:22" },
	{ SCHEMA_ALERT_LEASE, "host:198.18.0.5", NULL, "sw:alert:alerters:lease:host:198.18.0.5" },
	{ SCHEMA_ALERT_SENT, "1700000000000-0", NULL, "sw:alert:alerters:sent:1700000000000-0" },
};

static void test_keys(void **state)
{
	(void)state;
	char k[SCHEMA_KEY_MAX], stem[64];
	bool seen[SCHEMA_NKEYS] = { false };

	assert_string_equal(schema_alert_stem(stem, sizeof(stem), P, "alerters"), "sw:alert:alerters:");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *prefix = keys[i].k >= SCHEMA_ALERTS ? stem : P;
		assert_string_equal(schema_key(k, sizeof(k), prefix, keys[i].k, keys[i].a, keys[i].b), keys[i].want);
		seen[keys[i].k] = true;
	}
	for (int i = 0; i < SCHEMA_NKEYS; i++)
		if (!seen[i])
			fail_msg("key %d is not tested", i);
	/* the default prefix, as docs/redis.md says */
	assert_string_equal(schema_key(k, sizeof(k), SCHEMA_DEFAULT_PREFIX, SCHEMA_EVENTS, NULL, NULL),
			    "synwatch:events");
}

static void test_cut(void **state)
{
	(void)state;
	char k[12], stem[19];

	/* cut like snprintf, always terminated */
	assert_string_equal(schema_key(k, sizeof(k), P, SCHEMA_STATE, "fra1", "198.18.0.5:22"), "sw:state:fr");
	assert_string_equal(schema_key(k, 1, P, SCHEMA_SCHEMA, NULL, NULL), "");
	/* the stem says it does not fit instead */
	assert_null(schema_alert_stem(stem, sizeof(stem) - 1, P, "alerters"));
	assert_non_null(schema_alert_stem(stem, sizeof(stem), P, "alerters"));
}

static void test_version_and_prefix(void **state)
{
	(void)state;
	char err[200];

	assert_true(schema_is_ours("1"));
	assert_false(schema_is_ours("2"));
	assert_false(schema_is_ours("10"));
	assert_false(schema_is_ours(""));
	assert_int_equal(schema_check_prefix("synwatch:", err, sizeof(err)), 0);
	assert_int_equal(schema_check_prefix("", err, sizeof(err)), 0);
	assert_int_equal(schema_check_prefix("a b", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no spaces or control characters"));
	char longest[SCHEMA_PREFIX_MAX + 2];
	memset(longest, 'p', sizeof(longest) - 1);
	longest[SCHEMA_PREFIX_MAX] = '\0';
	assert_int_equal(schema_check_prefix(longest, err, sizeof(err)), 0);
	longest[SCHEMA_PREFIX_MAX] = 'p';
	longest[SCHEMA_PREFIX_MAX + 1] = '\0';
	assert_int_equal(schema_check_prefix(longest, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than 127 bytes"));
}

/* The one location rule: what may stand between the colons of a key. */
static void test_location(void **state)
{
	(void)state;
	static const char *const good[] = { "fra1", "eu-west.a_1", "A", "global" };
	static const char *const bad[] = { "", "fra 1", "a:b", "a/b", "fr\xc3\xa9", "a*" };
	char longest[SCHEMA_LOCATION_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(schema_location_ok(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (schema_location_ok(bad[i], strlen(bad[i])))
			fail_msg("took '%s'", bad[i]);
	memset(longest, 'a', sizeof(longest));
	assert_true(schema_location_ok(longest, SCHEMA_LOCATION_MAX));
	assert_false(schema_location_ok(longest, SCHEMA_LOCATION_MAX + 1));
	/* the n bytes only: a longer text's part */
	assert_true(schema_location_ok("fra1:x", 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_version_and_prefix),
		cmocka_unit_test(test_location),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
