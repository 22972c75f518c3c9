/* synwatch-alert's configuration: a full file into the expected structure,
 * the defaults, the example file, and a table of mistakes, each with the
 * FILE:LINE:COL it must be reported at and a fragment of its message. ASan's
 * leak check at exit covers every error path. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "tools/alert/alert-channel.h"
#include "tools/alert/alert-config.h"

#define S NSEC_PER_SEC

/* A channel and a route that need nothing else, for mistakes elsewhere. */
#define HOOK "channels: [{ name: h, type: webhook, url: \"http://127.0.0.1:9/x\" }]\n"
#define ROUTE "routes: [{ channels: [h] }]\n"

static int parse(struct alert_config *c, const char *yaml, char *err, size_t errlen)
{
	return alert_config_parse(c, yaml, strlen(yaml), "a.yaml", err, errlen);
}

static void test_full(void **state)
{
	(void)state;
	static const char yaml[] = "redis: redis://198.18.0.9:6379/2\n"
				   "redis_prefix: \"sw:\"\n"
				   "consumer_group: team-a\n"
				   "group_wait: 3s\n"
				   "reminder: 0\n"
				   "host_settle: 30s\n"
				   "claim_idle: 1m\n"
				   "delivery: { timeout: 2s, retries: 3, backoff: 500ms, max_backoff: 4s }\n"
				   "channels:\n"
				   "  - name: hook\n"
				   "    type: webhook\n"
				   "    url: https://127.0.0.1/x\n"
				   "    headers: { X-Team: ops, Authorization: \"Bearer t\" }\n"
				   "    hmac_secret: s\n"
				   "  - name: tg\n"
				   "    type: telegram\n"
				   "    bot_token: \"1:AB\"\n"
				   "    chat_id: \"-100\"\n"
				   "  - name: mail\n"
				   "    type: email\n"
				   "    smtp_url: smtps://127.0.0.1:465\n"
				   "    starttls: never\n"
				   "    user: u\n"
				   "    password: p\n"
				   "    from: a@alerts.example.test\n"
				   "    to: b@example.test\n"
				   "    send_resolved: false\n"
				   "routes:\n"
				   "  - match: [team=dba, \"name=~pg.*\"]\n"
				   "    channels: [tg, hook, tg]\n"
				   "    continue: true\n"
				   "  - match: criticality!=low\n"
				   "    channels: [mail]\n";
	struct alert_config c;
	char err[512];

	if (parse(&c, yaml, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.redis_url, "redis://198.18.0.9:6379/2");
	assert_string_equal(c.redis_prefix, "sw:");
	assert_string_equal(c.consumer_group, "team-a");
	assert_int_equal(c.group_wait_ns, 3 * S);
	assert_int_equal(c.reminder_ns, 0);
	assert_int_equal(c.host_settle_ns, 30 * S);
	assert_int_equal(c.claim_idle_ns, 60 * S);
	assert_int_equal(c.timeout_ns, 2 * S);
	assert_int_equal(c.retries, 3);
	assert_int_equal(c.backoff_ns, S / 2);
	assert_int_equal(c.max_backoff_ns, 4 * S);
	assert_int_equal(c.n_channels, 3);
	assert_int_equal(c.channels[0].kind, ALERT_WEBHOOK);
	assert_int_equal(c.channels[0].n_headers, 2);
	assert_string_equal(c.channels[0].headers[1].name, "Authorization");
	assert_string_equal(c.channels[0].headers[1].value, "Bearer t");
	assert_string_equal(c.channels[0].hmac_secret, "s");
	assert_true(c.channels[0].send_resolved);
	assert_int_equal(c.channels[1].kind, ALERT_TELEGRAM);
	assert_string_equal(c.channels[1].api_base, ALERT_DEFAULT_TELEGRAM);
	assert_int_equal(c.channels[2].kind, ALERT_EMAIL);
	assert_int_equal(c.channels[2].starttls, ALERT_STARTTLS_NEVER);
	assert_int_equal(c.channels[2].n_to, 1);
	assert_false(c.channels[2].send_resolved);
	assert_int_equal(c.n_routes, 2);
	assert_int_equal(c.routes[0].n_match, 2);
	assert_int_equal(c.routes[0].match[1].op, MATCHER_RE);
	/* a channel named twice is used once */
	assert_int_equal(c.routes[0].n_channels, 2);
	assert_int_equal(c.routes[0].channels[0], 1);
	assert_int_equal(c.routes[0].channels[1], 0);
	assert_true(c.routes[0].cont);
	assert_int_equal(c.routes[1].n_match, 1);
	assert_int_equal(c.routes[1].channels[0], 2);
	assert_false(c.routes[1].cont);
	assert_int_equal(alert_config_channel(&c, "mail"), 2);
	assert_int_equal(alert_config_channel(&c, "nope"), -1);
	alert_config_release(&c);
	alert_config_release(&c); /* released twice is fine */
}

static void test_defaults(void **state)
{
	(void)state;
	struct alert_config c;
	char err[512];

	if (parse(&c, HOOK ROUTE, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.redis_url, ALERT_DEFAULT_REDIS);
	assert_string_equal(c.redis_prefix, "synwatch:");
	assert_string_equal(c.consumer_group, ALERT_DEFAULT_GROUP);
	assert_int_equal(c.group_wait_ns, ALERT_DEFAULT_GROUP_WAIT_NS);
	assert_int_equal(c.reminder_ns, ALERT_DEFAULT_REMINDER_NS);
	assert_int_equal(c.retries, ALERT_DEFAULT_RETRIES);
	assert_int_equal(c.routes[0].n_match, 0);
	assert_false(c.quorum);
	assert_string_equal(c.quorum_location, "global");
	alert_config_release(&c);
	if (parse(&c, HOOK ROUTE "quorum: true\nquorum_location: world\n", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(c.quorum);
	assert_string_equal(c.quorum_location, "world");
	/* backoff doubles up to max_backoff */
	assert_int_equal(alert_backoff_ns(&c, 1), ALERT_DEFAULT_BACKOFF_NS);
	assert_int_equal(alert_backoff_ns(&c, 3), 4 * ALERT_DEFAULT_BACKOFF_NS);
	assert_int_equal(alert_backoff_ns(&c, 40), ALERT_DEFAULT_MAX_BACKOFF_NS);
	alert_config_release(&c);
}

static void test_example_file(void **state)
{
	(void)state;
	struct alert_config c;
	char err[512];

	if (alert_config_load(&c, "etc/alert.example.yaml", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(c.n_channels >= 3);
	assert_true(c.n_routes >= 1);
	alert_config_release(&c);
	assert_int_equal(alert_config_load(&c, "/nonexistent/alert.yaml", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open '/nonexistent/alert.yaml'"));
}

static void test_mistakes(void **state)
{
	(void)state;
	static const struct {
		const char *yaml, *where, *msg;
	} cases[] = {
		{ "", "a.yaml:1:1", "empty configuration" },
		{ "- a\n", "a.yaml:1:1", "expected a mapping of settings" },
		{ "channels: [\n", "a.yaml:2:1", "YAML syntax error" },
		{ HOOK, "a.yaml:1:1", "no 'routes'" },
		{ ROUTE, "a.yaml:1:1", "no 'channels'" },
		{ HOOK ROUTE "group_wiat: 1s\n", "a.yaml:3:1", "did you mean 'group_wait'?" },
		{ HOOK ROUTE "group_wait: 1 s\n", "a.yaml:3:13", "group_wait '1 s': expected a duration" },
		{ HOOK ROUTE "reminder: 200h\n", "a.yaml:3:11", "expected a duration from 0 to 168h" },
		{ HOOK ROUTE "delivery: { retries: 99 }\n", "a.yaml:3:22",
		  "expected a whole number from 0 to 20" },
		{ HOOK ROUTE "delivery: { backoff: 10s, max_backoff: 1s }\n", "a.yaml:3:40",
		  "max_backoff is below backoff" },
		{ HOOK ROUTE "redis_prefix: \"a b\"\n", "a.yaml:3:15", "no spaces" },
		{ HOOK ROUTE "quorum: yes\n", "a.yaml:3:9", "true or false" },
		{ HOOK ROUTE "quorum_location: \"a b\"\n", "a.yaml:3:18", "expected a location name" },
		{ HOOK ROUTE "channels: []\n", "a.yaml:3:1", "duplicate key 'channels'" },
		{ "channels: []\n" ROUTE, "a.yaml:1:11", "expected at least one" },
		{ "channels: [{ type: webhook, url: \"http://127.0.0.1/\" }]\n" ROUTE, "a.yaml:1:12",
		  "channel #1 has no 'name'" },
		{ "channels: [{ name: h, url: \"http://127.0.0.1/\" }]\n" ROUTE, "a.yaml:1:12",
		  "channel 'h' has no 'type'" },
		{ "channels: [{ name: h, type: sms }]\n" ROUTE, "a.yaml:1:29",
		  "type 'sms': expected webhook, telegram or email" },
		{ "channels: [{ name: h, type: webhook }]\n" ROUTE, "a.yaml:1:12",
		  "channel 'h' has no 'url': a webhook channel needs url" },
		{ "channels: [{ name: h, type: webhook, url: \"ftp://x\" }]\n" ROUTE, "a.yaml:1:43",
		  "expected a URL starting with http:// or https://" },
		{ "channels: [{ name: h, type: webhook, url: \"http://127.0.0.1/\", bot_token: x }]\n" ROUTE,
		  "a.yaml:1:75", "'bot_token' does not go with a webhook channel" },
		{ "channels: [{ name: h, type: telegram, bot_token: x }]\n" ROUTE, "a.yaml:1:12",
		  "channel 'h' has no 'chat_id'" },
		{ "channels: [{ name: h, type: telegram, bot_token: \"a/b\", chat_id: 1 }]\n" ROUTE,
		  "a.yaml:1:50", "expected one word" },
		{ "channels: [{ name: h, type: email, smtp_url: \"smtp://127.0.0.1\", from: a@x.example.test "
		  "}]\n" ROUTE,
		  "a.yaml:1:12", "channel 'h' has no 'to'" },
		{ "channels: [{ name: h, type: email, smtp_url: \"smtp://127.0.0.1\", from: nobody, to: "
		  "[a@b] }]\n" ROUTE,
		  "a.yaml:1:72", "from 'nobody': expected an address" },
		{ "channels: [{ name: h, type: email, smtp_url: \"smtp://127.0.0.1\", from: a@b, to: [a@b], "
		  "user: u }]\n" ROUTE,
		  "a.yaml:1:94", "'user' and 'password' go together" },
		{ "channels: [{ name: h, type: email, smtp_url: \"smtp://127.0.0.1\", from: a@b, to: [a@b], "
		  "starttls: maybe }]\n" ROUTE,
		  "a.yaml:1:98", "expected try, always or never" },
		{ "channels: [{ name: h, type: webhook, url: \"http://127.0.0.1/\", headers: { \"X Y\": z } "
		  "}]\n" ROUTE,
		  "a.yaml:1:75", "header name 'X Y'" },
		{ "channels: [{ name: h, type: webhook, url: \"http://127.0.0.1/\", headers: [a] }]\n" ROUTE,
		  "a.yaml:1:73", "headers: expected a mapping of header names" },
		{ "channels: [{ name: h, type: webhook, url: \"http://127.0.0.1/\", send_resolved: yes "
		  "}]\n" ROUTE,
		  "a.yaml:1:79", "expected true or false" },
		{ "channels: [{ name: h, type: webhook, url: \"http://127.0.0.1/\", headers: { a: x, A: y } "
		  "}]\n" ROUTE,
		  "a.yaml:1:81", "duplicate header 'A'" },
		{ "channels:\n  - { name: h, type: webhook, url: \"http://127.0.0.1/\" }\n"
		  "  - { name: h, type: webhook, url: \"http://127.0.0.1/\" }\n" ROUTE,
		  "a.yaml:3:13", "duplicate channel name 'h'" },
		{ "channels:\n  - { name: \"a b\", type: webhook, url: \"http://127.0.0.1/\" }\n" ROUTE,
		  "a.yaml:2:13", "name 'a b': expected letters" },
		{ HOOK "routes: [{ channels: [x] }]\n", "a.yaml:2:22",
		  "route #1: unknown channel 'x' (channels: h)" },
		{ HOOK "routes: [{ match: [team=dba] }]\n", "a.yaml:2:10", "route #1 has no channels" },
		{ HOOK "routes: [{ channels: [h], match: [\"team\"] }]\n", "a.yaml:2:35",
		  "matcher 'team': expected an operator" },
		{ HOOK "routes: [{ channels: [h], match: [\"name=~(\"] }]\n", "a.yaml:2:35",
		  "matcher 'name=~('" },
		{ HOOK "routes: [{ channels: [h], match: [\"9x=1\"] }]\n", "a.yaml:2:35",
		  "expected KEY=VALUE" },
		{ HOOK "routes: [{ channels: [h], continue: 1 }]\n", "a.yaml:2:37",
		  "expected true or false" },
		{ HOOK "routes: [{ channels: [h], contniue: true }]\n", "a.yaml:2:27",
		  "did you mean 'continue'?" },
		{ HOOK "routes: [h]\n", "a.yaml:2:10", "routes: expected a list of routes" },
	};
	struct alert_config c, zero = { 0 };
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		int r = parse(&c, cases[i].yaml, err, sizeof(err));
		if (r != -EINVAL || strncmp(err, cases[i].where, strlen(cases[i].where)) != 0 ||
		    err[strlen(cases[i].where)] != ':' || !strstr(err, cases[i].msg))
			fail_msg("case %zu: got %d '%s', want '%s: ...%s...'", i, r, err, cases[i].where,
				 cases[i].msg);
		if (memcmp(&c, &zero, sizeof(c)) != 0)
			fail_msg("case %zu: the config is not zeroed after an error", i);
		if (strchr(err, '\n'))
			fail_msg("case %zu: more than one line: %s", i, err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_mistakes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
