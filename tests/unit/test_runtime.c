/* Runtime targets: the strict JSON of a P runtime:targets entry
 * (store/runtime.c), and what table_build_with makes of the entries on top
 * of a config or of command-line targets (scheduler/table.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "daemon/config.h"
#include "scheduler/table.h"
#include "store/runtime.h"

static int parse(struct table_runtime *e, const char *spec, const char *json, char *err, size_t len)
{
	return runtime_parse(e, spec, strlen(spec), json, strlen(json), err, len);
}

static void test_accepts(void **state)
{
	struct table_runtime e;
	char err[256];

	(void)state;
	assert_int_equal(parse(&e, "198.18.0.5:443",
			       " {\"group\":\"web\",\"name\":\"Checkout \\u00e9 \\ud83d\\ude00 - 443\",\n"
			       "\"labels\":{\"team\":\"shop\",\"a_1\":\"x\\\"y\\\\z\\/\"},\"interval\":\"10s\"} ",
			       err, sizeof(err)),
			 0);
	assert_string_equal(e.spec, "198.18.0.5:443");
	assert_string_equal(e.group, "web");
	assert_string_equal(e.name, "Checkout \xc3\xa9 \xf0\x9f\x98\x80 - 443");
	assert_int_equal(e.n_labels, 2);
	/* sorted by key */
	assert_string_equal(e.labels[0].key, "a_1");
	assert_string_equal(e.labels[0].value, "x\"y\\z/");
	assert_string_equal(e.labels[1].key, "team");
	assert_int_equal(e.interval_ns, 10 * NSEC_PER_SEC);
	table_runtime_release(&e);

	assert_int_equal(parse(&e, "db.example.test:5432", "{}", err, sizeof(err)), 0);
	assert_null(e.group);
	assert_null(e.name);
	assert_int_equal(e.n_labels, 0);
	assert_int_equal(e.interval_ns, 0);
	table_runtime_release(&e);
	/* an empty name is no name; raw UTF-8 is fine */
	assert_int_equal(parse(&e, "[2001:db8::1]:22", "{\"name\":\"\",\"labels\":{\"t\":\"\xc3\xa9\"}}", err,
			       sizeof(err)),
			 0);
	assert_null(e.name);
	assert_string_equal(e.labels[0].value, "\xc3\xa9");
	table_runtime_release(&e);
}

static void test_rejects(void **state)
{
	static const struct {
		const char *spec, *json, *msg;
	} cases[] = {
		{ "", "{}", "target" },
		{ "198.18.0.5 :1", "{}", "no spaces" },
		{ "198.18.0.5:1", "", "a JSON object" },
		{ "198.18.0.5:1", "[]", "a JSON object" },
		{ "198.18.0.5:1", "{", "a string" },
		{ "198.18.0.5:1", "{}x", "text after" },
		{ "198.18.0.5:1", "{} {}", "text after" },
		{ "198.18.0.5:1", "{\"group\":\"a\",}", "a string" },
		{ "198.18.0.5:1", "{\"lables\":{}}", "unknown key 'lables'" },
		{ "198.18.0.5:1", "{\"group\":\"a\",\"group\":\"b\"}", "given twice" },
		{ "198.18.0.5:1", "{\"group\":\"\"}", "empty" },
		{ "198.18.0.5:1", "{\"group\":1}", "a string" },
		{ "198.18.0.5:1", "{\"group\":null}", "a string" },
		{ "198.18.0.5:1", "{\"name\":\"a\nb\"}", "control character" },
		{ "198.18.0.5:1", "{\"name\":\"a\\u0000b\"}", "\\u0000" },
		{ "198.18.0.5:1", "{\"name\":\"\\ud800\"}", "surrogate" },
		{ "198.18.0.5:1", "{\"name\":\"\\udc00\"}", "surrogate" },
		{ "198.18.0.5:1", "{\"name\":\"\\u12\"}", "four hex" },
		{ "198.18.0.5:1", "{\"name\":\"\\x\"}", "unknown escape" },
		{ "198.18.0.5:1", "{\"name\":\"\xc3\"}", "UTF-8" },
		{ "198.18.0.5:1", "{\"name\":\"\xed\xa0\x80\"}", "UTF-8" },
		{ "198.18.0.5:1", "{\"name\":\"\xc0\xaf\"}", "UTF-8" },
		{ "198.18.0.5:1", "{\"name\":\"abc", "does not end" },
		{ "198.18.0.5:1", "{\"labels\":{\"1x\":\"a\"}}", "label name '1x'" },
		{ "198.18.0.5:1", "{\"labels\":{\"a-b\":\"a\"}}", "label name" },
		{ "198.18.0.5:1", "{\"labels\":{\"a\":\"1\",\"a\":\"2\"}}", "given twice" },
		{ "198.18.0.5:1", "{\"labels\":{\"a\":1}}", "a string" },
		{ "198.18.0.5:1", "{\"labels\":[]}", "'{'" },
		{ "198.18.0.5:1", "{\"labels\":{\"a\":{\"b\":\"c\"}}}", "a string" },
		{ "198.18.0.5:1", "{\"interval\":\"5ms\"}", "10ms to 24h" },
		{ "198.18.0.5:1", "{\"interval\":\"2d\"}", "10ms to 24h" },
		{ "198.18.0.5:1", "{\"interval\":10}", "a string" },
	};
	struct table_runtime e;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (parse(&e, cases[i].spec, cases[i].json, err, sizeof(err)) != -EINVAL || !strstr(err, cases[i].msg))
			fail_msg("%s = %s: got '%s', want '%s'", cases[i].spec, cases[i].json, err, cases[i].msg);
		assert_null(e.spec);
	}
}

static const char yaml[] = "location: fra1\n"
			   "groups:\n"
			   "  - name: web\n"
			   "    hosts: [\"198.18.0.1:80\"]\n"
			   "    interval: 5s\n"
			   "    timeout: 1s\n"
			   "    retries: 1\n"
			   "    labels: { team: web, tier: front }\n"
			   "  - name: db\n"
			   "    hosts: [\"198.18.0.2:5432\"]\n";

struct rejections {
	int n;
	char last[256];
};

static void rejected(void *ctx, const struct table_runtime *e, const char *why)
{
	struct rejections *r = ctx;

	r->n++;
	snprintf(r->last, sizeof(r->last), "%s: %s", e->spec, why);
}

static struct table_runtime entry(const char *spec, const char *json)
{
	struct table_runtime e;
	char err[256];

	if (parse(&e, spec, json, err, sizeof(err)) < 0)
		fail_msg("%s: %s", err, json);
	return e;
}

static uint32_t id_of(const struct table *t, const char *ip, uint16_t port)
{
	struct sw_addr a;

	addr_parse(&a, ip);
	for (uint32_t id = 0; id < t->tl.n; id++)
		if (addr_equal(&t->tl.v[id].addr, &a) && t->tl.v[id].port == port)
			return id;
	fail_msg("%s:%u is not in the table", ip, port);
	return 0;
}

static void test_table_with_config(void **state)
{
	struct config c;
	struct exclude_list ex = { 0 };
	struct table *t1 = NULL, *t2 = NULL;
	struct rejections rj = { 0 };
	char err[512];
	struct table_runtime v[5];

	(void)state;
	assert_int_equal(config_parse(&c, yaml, sizeof(yaml) - 1, NULL, err, sizeof(err)), 0);
	v[0] = entry("198.18.0.10:443", "{\"name\":\"Checkout\"}");                       /* first group */
	v[1] = entry("198.18.0.11:443", "{\"group\":\"db\",\"interval\":\"10s\",\"labels\":{\"team\":\"dba\"}}");
	v[2] = entry("198.18.0.12:443", "{\"group\":\"nope\"}");                         /* no such group */
	v[3] = entry("198.18.0.13:443", "{\"interval\":\"1500ms\"}");                    /* < 1s x 2 */
	v[4] = entry("198.18.0.1:80", "{\"group\":\"db\"}");                            /* the config has it */
	struct table_extra extra = { .v = v, .n = 5, .rejected = rejected, .ctx = &rj };
	assert_int_equal(config_build_table(&t1, &c, &ex, NULL, &extra, err, sizeof(err)), 0);
	assert_int_equal(rj.n, 2);
	assert_non_null(strstr(rj.last, "198.18.0.13:443: interval 1.5s is not longer than"));
	assert_int_equal(t1->n_live, 4);
	assert_int_equal(t1->n_base_groups, 2);
	assert_int_equal(t1->n_groups, 3);

	uint32_t checkout = id_of(t1, "198.18.0.10", 443), own = id_of(t1, "198.18.0.11", 443);
	assert_string_equal(target_name(&t1->tl, &t1->tl.v[checkout]), "Checkout");
	assert_string_equal(table_group_of(t1, checkout)->name, "web");
	const struct table_group *g = table_group_of(t1, own);
	assert_string_equal(g->name, "db");
	assert_int_equal(g->interval_ns, 10 * NSEC_PER_SEC);
	assert_int_equal(g->n_labels, 1);
	assert_string_equal(g->labels[0].value, "dba");
	/* the config's target keeps the config's group */
	assert_string_equal(table_group_of(t1, id_of(t1, "198.18.0.1", 80))->name, "web");

	/* the next generation without the entries: gone, ids kept */
	struct table_extra none = { 0 };
	assert_int_equal(config_build_table(&t2, &c, &ex, t1, &none, err, sizeof(err)), 0);
	assert_int_equal(t2->n_live, 2);
	assert_true(t2->dead[checkout]);
	assert_true(t2->dead[own]);
	assert_int_equal(t2->n_groups, 2);
	t2->older = t1;
	table_free(t2);
	for (size_t i = 0; i < 5; i++)
		table_runtime_release(&v[i]);
	config_release(&c);
}

static void test_table_without_config(void **state)
{
	struct target_list tl;
	struct table *t1, *t2 = NULL, *t3 = NULL;
	struct exclude_list ex = { 0 };
	char err[512];
	static char cli[] = "cli";
	struct table_group g = { .name = cli, .interval_ns = NSEC_PER_SEC, .timeout_ns = 200 * NSEC_PER_MSEC,
				 .retries = 1 };

	(void)state;
	target_list_init(&tl, 0, TARGET_FAMILY_V4);
	assert_true(target_list_add_spec(&tl, "198.18.0.1:80", NULL, NULL, NULL, err, sizeof(err)) > 0);
	assert_int_equal(table_from_list(&t1, &tl, &g, "lab"), 0);
	target_list_release(&tl);

	struct table_runtime v[2] = { entry("198.18.0.3:22", "{}"), entry("198.18.0.4:22", "{\"interval\":\"2s\"}") };
	struct table_extra extra = { .v = v, .n = 2 };
	assert_int_equal(config_build_table(&t2, NULL, &ex, t1, &extra, err, sizeof(err)), 0);
	assert_int_equal(t2->n_live, 3);
	assert_string_equal(t2->location, "lab");
	assert_int_equal(table_group_of(t2, id_of(t2, "198.18.0.4", 22))->interval_ns, 2 * NSEC_PER_SEC);
	assert_int_equal(table_group_of(t2, id_of(t2, "198.18.0.3", 22))->interval_ns, NSEC_PER_SEC);
	/* one removed: the command line's target stays */
	extra.n = 1;
	assert_int_equal(config_build_table(&t3, NULL, &ex, t2, &extra, err, sizeof(err)), 0);
	assert_int_equal(t3->n_live, 2);
	assert_false(t3->dead[id_of(t3, "198.18.0.1", 80)]);
	assert_true(t3->dead[id_of(t3, "198.18.0.4", 22)]);
	t2->older = t1;
	t3->older = t2;
	table_free(t3);
	table_runtime_release(&v[0]);
	table_runtime_release(&v[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_table_with_config),
		cmocka_unit_test(test_table_without_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
