/* tools/alert/alert-route and the event side of routing (tools/alert/alert-event):
 * first match wins, continue goes on, labels and the event's own keys,
 * which condition every kind of event starts and ends, and alert keys. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tools/alert/alert-route.h"
#include "tests/unit/alert-fixture.h"

static const char config_yaml[] =
    "channels:\n"
    "  - { name: tg, type: telegram, bot_token: t, chat_id: c }\n"
    "  - { name: hook, type: webhook, url: \"http://127.0.0.1:9/\" }\n"
    "  - { name: mail, type: email, smtp_url: \"smtp://127.0.0.1:25\", from: a@b, to: [c@d] }\n"
    "  - { name: probers, type: webhook, url: \"http://127.0.0.1:9/p\" }\n"
    "routes:\n"
    "  - { match: [team=dba, \"name=~.*PostgreSQL.*\"], channels: [tg], continue: true }\n"
    "  - { match: [criticality=critical], channels: [hook], continue: true }\n"
    "  - { match: [\"kind=~prober_.*\"], channels: [probers] }\n"
    "  - { match: [criticality!=critical], channels: [mail] }\n";

static void route_in(const char *yaml, const char *const *kv, const char *want)
{
	struct alert_config c;
	struct fv_arena a = { 0 };
	struct alert_event e;
	bool out[8];
	char err[512], got[128] = "";

	if (alert_config_parse(&c, yaml, strlen(yaml), "r.yaml", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	fixture_event(&e, &a, kv);
	size_t n = alert_route(&c, &e, out);
	for (size_t i = 0; i < c.n_channels; i++)
		if (out[i])
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", *got ? "," : "",
				 c.channels[i].name);
	if (strcmp(got, want) != 0)
		fail_msg("routed to '%s', want '%s'", got, want);
	size_t want_n = *want ? 1 : 0;
	for (const char *p = want; *p; p++)
		want_n += *p == ',';
	assert_int_equal(n, want_n);
	alert_config_release(&c);
	fv_arena_release(&a);
}

static void route_of(const char *const *kv, const char *want)
{
	route_in(config_yaml, kv, want);
}

static void test_routes(void **state)
{
	(void)state;
	/* the database team's PostgreSQL port: Telegram, and critical: the webhook too */
	route_of((const char *const[]){ FIXTURE_DOWN, NULL }, "tg,hook");
	/* critical but not PostgreSQL: only the webhook; the last route is not reached */
	route_of((const char *const[]){ "kind", "state", "name", "db-3 ssh", "labels",
					"{\"team\":\"dba\",\"criticality\":\"critical\"}", NULL },
		 "hook");
	/* not critical: mail */
	route_of((const char *const[]){ "kind", "state", "labels",
					"{\"team\":\"web\",\"criticality\":\"low\"}", NULL },
		 "mail");
	/* no labels at all: criticality!=critical holds */
	route_of((const char *const[]){ "kind", "host_down", "ip", "198.18.1.9", NULL }, "mail");
	/* a prober event stops at its own route */
	route_of((const char *const[]){ "kind", "prober_isolated", "prober", "fra1/p", NULL }, "probers");
}

/* Service checks: routes by the check's verdicts (reason) and by the check. */
static void test_check_routes(void **state)
{
	(void)state;
	static const char yaml[] =
	    "channels:\n"
	    "  - { name: certs, type: webhook, url: \"http://127.0.0.1:9/c\" }\n"
	    "  - { name: dba, type: webhook, url: \"http://127.0.0.1:9/d\" }\n"
	    "  - { name: pager, type: webhook, url: \"http://127.0.0.1:9/p\" }\n"
	    "  - { name: mail, type: webhook, url: \"http://127.0.0.1:9/m\" }\n"
	    "routes:\n"
	    "  - { match: [\"reason=~cert_.*\"], channels: [certs] }\n"
	    "  - { match: [check=postgres, reason=check_failed], channels: [dba], continue: true }\n"
	    "  - { match: [severity=critical], channels: [pager] }\n"
	    "  - { match: [], channels: [mail] }\n";
#define EV(...) (const char *const[]){ "kind", "state", "target", "198.18.0.8:5432", __VA_ARGS__, NULL }

	route_in(yaml, EV("to", "down", "reason", "check_failed", "check", "postgres", "check_error", "FATAL: x"),
		 "dba,pager");
	route_in(yaml, EV("to", "down", "reason", "check_failed", "check", "redis"), "pager");
	route_in(yaml, EV("to", "degraded", "reason", "cert_expiring", "check", "tls"), "certs");
	route_in(yaml, EV("to", "down", "reason", "cert_expired", "check", "tls"), "certs");
	route_in(yaml, EV("to", "down", "reason", "refused", "check", "postgres"), "pager");
	route_in(yaml, EV("to", "degraded", "reason", "slow"), "mail");

	struct fv_arena a = { 0 };
	struct alert_event e;
	fixture_event(&e, &a, EV("to", "degraded", "reason", "cert_expiring", "check", "https", "check_error",
				 "certificate expires in 9 days"));
	assert_string_equal(alert_event_attr(&e, "check"), "https");
	assert_string_equal(e.check_error, "certificate expires in 9 days");
	assert_string_equal(alert_event_attr(&e, "severity"), "warning");
	fixture_event(&e, &a, EV("to", "down", "reason", "cert_expired", "check", "tls"));
	assert_string_equal(alert_event_attr(&e, "severity"), "critical");
	assert_string_equal(e.check_error, "");
	fv_arena_release(&a);
#undef EV
}

static void effect_of(const char *const *kv, enum alert_class clears, enum alert_class fires)
{
	struct fv_arena a = { 0 };
	struct alert_event e;
	enum alert_class c, f;

	fixture_event(&e, &a, kv);
	alert_event_effect(&e, &c, &f);
	if (c != clears || f != fires)
		fail_msg("%s %s->%s: clears %s fires %s, want %s and %s", e.kind, e.from, e.to,
			 alert_class_name(c), alert_class_name(f), alert_class_name(clears),
			 alert_class_name(fires));
	fv_arena_release(&a);
}

#define STATE(from, to) "kind", "state", "from", from, "to", to, NULL

static void test_effects(void **state)
{
	(void)state;
	effect_of((const char *const[]){ STATE("up", "down") }, ALERT_NONE, ALERT_DOWN);
	effect_of((const char *const[]){ STATE("unknown", "down") }, ALERT_NONE, ALERT_DOWN);
	effect_of((const char *const[]){ STATE("down", "up") }, ALERT_DOWN, ALERT_NONE);
	effect_of((const char *const[]){ STATE("unknown", "up") }, ALERT_NONE, ALERT_NONE);
	effect_of((const char *const[]){ STATE("up", "degraded") }, ALERT_NONE, ALERT_SLOW);
	effect_of((const char *const[]){ STATE("degraded", "degraded") }, ALERT_NONE, ALERT_NONE);
	effect_of((const char *const[]){ STATE("degraded", "down") }, ALERT_SLOW, ALERT_DOWN);
	effect_of((const char *const[]){ STATE("down", "degraded") }, ALERT_DOWN, ALERT_SLOW);
	effect_of((const char *const[]){ STATE("up", "flapping") }, ALERT_NONE, ALERT_FLAPPING);
	effect_of((const char *const[]){ STATE("flapping", "up") }, ALERT_FLAPPING, ALERT_NONE);
	effect_of((const char *const[]){ STATE("flapping", "down") }, ALERT_FLAPPING, ALERT_DOWN);
	effect_of((const char *const[]){ "kind", "host_down", NULL }, ALERT_NONE, ALERT_HOST);
	effect_of((const char *const[]){ "kind", "host_up", NULL }, ALERT_HOST, ALERT_NONE);
	effect_of((const char *const[]){ "kind", "prober_isolated", NULL }, ALERT_NONE, ALERT_PROBER);
	effect_of((const char *const[]){ "kind", "prober_ok", NULL }, ALERT_PROBER, ALERT_NONE);
	effect_of((const char *const[]){ "kind", "address_changed", NULL }, ALERT_NONE, ALERT_INFO);
	effect_of((const char *const[]){ "kind", "location_issue", NULL }, ALERT_NONE, ALERT_LOCATION);
	effect_of((const char *const[]){ "kind", "location_ok", NULL }, ALERT_LOCATION, ALERT_NONE);
	effect_of((const char *const[]){ "kind", "something_new", NULL }, ALERT_NONE, ALERT_NONE);
}

static void test_keys(void **state)
{
	(void)state;
	struct fv_arena a = { 0 };
	struct alert_event e;
	char key[ALERT_KEY_MAX], tiny[8];

	fixture_event(&e, &a, (const char *const[]){ FIXTURE_DOWN, NULL });
	assert_int_equal(alert_key(key, sizeof(key), ALERT_DOWN, &e), 0);
	assert_string_equal(key, "down:198.18.1.9:5432");
	assert_int_equal(alert_key(key, sizeof(key), ALERT_HOST, &e), 0);
	assert_string_equal(key, "host:198.18.1.9");
	assert_int_equal(alert_key(key, sizeof(key), ALERT_PROBER, &e), 0);
	assert_string_equal(key, "prober:fra1/probe-1");
	assert_int_equal(alert_key(tiny, sizeof(tiny), ALERT_DOWN, &e), -ENOSPC);
	/* times and numbers as the alerter reads them */
	assert_int_equal(e.ts_ns, 1700000252000000000LL);
	assert_int_equal(e.since_ns, 1700000000000000000LL);
	assert_true(e.rtt_us < 0);
	assert_int_equal(e.icmp_code, -1);
	assert_int_equal(e.n_labels, 2);
	assert_int_equal(alert_ns_of("12x"), 0);
	assert_int_equal(alert_ns_of(""), 0);
	fv_arena_release(&a);
}

static void test_bad_events(void **state)
{
	(void)state;
	struct fv_arena a = { 0 };
	struct alert_event e;
	struct fv_record no_kind = { .n = 1,
				     .keys = (const char *[]){ "ip" },
				     .vals = (const char *[]){ "198.18.0.1" } };
	struct fv_record bad_labels = { .n = 2, .keys = (const char *[]){ "kind", "labels" },
					.vals = (const char *[]){ "state", "{team" } };

	assert_int_equal(alert_event_parse(&e, &no_kind, NULL, &a), -EINVAL);
	assert_int_equal(alert_event_parse(&e, &bad_labels, NULL, &a), -EINVAL);
	fv_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_check_routes),
		cmocka_unit_test(test_effects),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bad_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
