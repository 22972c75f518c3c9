/* The YAML configuration: a full file into the expected structure, how
 * groups inherit from defaults, and a table of mistakes, each with the
 * exact FILE:LINE:COL it must be reported at and a fragment of its message.
 * Built with ASan, whose leak check at exit covers every error path here. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/check.h"
#include "daemon/config.h"

#define S NSEC_PER_SEC
#define MS NSEC_PER_MSEC

/* A group that needs nothing else, for mistakes elsewhere. */
#define ONE_GROUP "groups: [{ name: a, hosts: [198.18.0.1], ports: [22] }]\n"
/* Lines 1 to 3 of a file whose line 4 is the mistake. */
#define GROUP_A "groups:\n  - name: a\n    hosts: [198.18.0.1:22]\n"

static int parse(struct config *c, const char *yaml, char *err, size_t errlen)
{
	return config_parse(c, yaml, strlen(yaml), "t.yaml", err, errlen);
}

static void parse_ok(struct config *c, const char *yaml)
{
	char err[512];

	if (parse(c, yaml, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
}

static void assert_ports(const struct portlist *p, const uint16_t *want, size_t n)
{
	assert_int_equal(p->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p->ports[i], want[i]);
}

/* The plain values of a group, field by field, so that a failure names the
 * field. */
static void assert_values(const struct config_group *g, const struct config_group *want)
{
	assert_int_equal(g->interval_ns, want->interval_ns);
	assert_int_equal(g->timeout_ns, want->timeout_ns);
	assert_int_equal(g->retries, want->retries);
	assert_int_equal(g->families, want->families);
	assert_int_equal(g->priority, want->priority);
	assert_int_equal(g->per_target, want->per_target);
	assert_int_equal(g->results, want->results);
	assert_int_equal(g->state.failures, want->state.failures);
	assert_int_equal(g->state.successes, want->state.successes);
	assert_int_equal(g->state.warn_ns, want->state.warn_ns);
	assert_int_equal(g->state.crit_ns, want->state.crit_ns);
	assert_int_equal(g->state.window, want->state.window);
	assert_int_equal(g->state.over, want->state.over);
	assert_int_equal(g->state.flap_changes, want->state.flap_changes);
	assert_int_equal(g->state.flap_window_s, want->state.flap_window_s);
}

static void assert_label(const struct config_group *g, size_t i, const char *key, const char *value)
{
	assert_true(i < g->n_labels);
	assert_string_equal(g->labels[i].key, key);
	assert_string_equal(g->labels[i].value, value);
}

static const char full[] =
	"location: fra1\n"
	"rate: 20000\n"
	"source_ports: 62000-62999\n"
	"interfaces: [veth0, veth1]\n"
	"source_ip: 198.18.255.1\n"
	"send_path: ip\n"
	"redis: unix:///run/synwatch/redis.sock?db=0\n"
	"redis_prefix: \"sw:\"\n"
	"output: text\n"
	"resolve_interval: 2m\n"
	"exclude: [198.18.7.0/24, 198.18.8.9]\n"
	"canaries: [\"198.18.0.1:22\"]\n"
	"isolation_share: 0.25\n"
	"defaults:\n"
	"  interval: 30s\n"
	"  timeout: 1s\n"
	"  retries: 1\n"
	"  failures: 2\n"
	"  successes: 1\n"
	"  latency: { warn: 200ms, crit: 500ms, window: 5, over: 3 }\n"
	"  flapping: { changes: 5, window: 10m }\n"
	"  ip: v4\n"
	"  ports: [22, 443, \"8000-8002\"]\n"
	"  labels: { team: web, criticality: normal }\n"
	"groups:\n"
	"  - name: databases\n"
	"    hosts: [198.18.1.0/28, \"198.18.2.7\", db-3.example.test]\n"
	"    ports: [5432, 6379]\n"
	"    interval: 10s\n"
	"    labels: { team: dba, criticality: critical }\n"
	"    targets:\n"
	"      - { host: 198.18.1.5, port: 5432, name: \"Production DB - PostgreSQL 5432\" }\n"
	"  - name: web\n"
	"    hosts: [198.18.3.0/24]\n";

static void test_full(void **state)
{
	static const uint16_t db_ports[] = { 5432, 6379 }, web_ports[] = { 22, 443, 8000, 8001, 8002 };
	struct config c;

	(void)state;
	parse_ok(&c, full);
	assert_string_equal(c.path, "t.yaml");
	assert_string_equal(c.location, "fra1");
	assert_int_equal(c.rate, 20000);
	assert_int_equal(c.port_lo, 62000);
	assert_int_equal(c.port_hi, 62999);
	assert_int_equal(c.n_interfaces, 2);
	assert_string_equal(c.interfaces[1], "veth1");
	assert_string_equal(c.source_ip, "198.18.255.1");
	assert_string_equal(c.send_path, "ip");
	assert_string_equal(c.redis_url, "unix:///run/synwatch/redis.sock?db=0");
	assert_string_equal(c.redis_prefix, "sw:");
	assert_string_equal(c.output, "text");
	assert_int_equal(c.resolve_interval_ns, 120 * S);
	assert_int_equal(c.n_exclude, 2);
	assert_string_equal(c.exclude[0], "198.18.7.0/24");
	assert_string_equal(c.exclude[1], "198.18.8.9");
	assert_int_equal(c.n_canaries, 1);
	assert_string_equal(c.canaries[0], "198.18.0.1:22");
	assert_true(c.isolation_share == 0.25);
	assert_int_equal(c.n_groups, 2);

	const struct config_group *db = &c.groups[0];
	assert_string_equal(db->name, "databases");
	assert_int_equal(db->n_hosts, 3);
	assert_string_equal(db->hosts[0], "198.18.1.0/28");
	assert_string_equal(db->hosts[1], "198.18.2.7");
	assert_string_equal(db->hosts[2], "db-3.example.test");
	assert_ports(&db->ports, db_ports, 2);
	assert_int_equal(db->n_named, 1);
	assert_string_equal(db->named[0].host, "198.18.1.5");
	assert_int_equal(db->named[0].port, 5432);
	assert_string_equal(db->named[0].name, "Production DB - PostgreSQL 5432");
	const struct config_group want_db = {
		.interval_ns = 10 * S, .timeout_ns = S, .retries = 1, .families = TARGET_FAMILY_V4,
		.priority = 3,
		.state = {
			.failures = 2, .successes = 1, .warn_ns = 200 * MS, .crit_ns = 500 * MS,
			.window = 5, .over = 3, .flap_changes = 5, .flap_window_s = 600,
		},
	};
	assert_values(db, &want_db);
	assert_int_equal(db->n_labels, 2);
	assert_label(db, 0, "criticality", "critical");
	assert_label(db, 1, "team", "dba");
	assert_string_equal(config_label(db, "team"), "dba");
	assert_null(config_label(db, "owner"));

	const struct config_group *web = &c.groups[1];
	assert_string_equal(web->name, "web");
	assert_ports(&web->ports, web_ports, 5);
	/* what defaults gives, where databases set its own */
	struct config_group want_web = want_db;
	want_web.interval_ns = 30 * S;
	want_web.priority = 1;
	assert_values(web, &want_web);
	assert_int_equal(web->n_named, 0);
	assert_label(web, 0, "criticality", "normal");
	assert_label(web, 1, "team", "web");

	config_release(&c);
	assert_null(c.groups);
	config_release(&c); /* released twice is fine */
}

/* Without defaults: the built-in values of config.h. */
static void test_builtin_defaults(void **state)
{
	char host[256] = "";
	struct config c;

	(void)state;
	parse_ok(&c, "groups:\n  - name: a\n    hosts: [\"198.18.0.1:22\"]\n");
	gethostname(host, sizeof(host));
	assert_string_equal(c.location, host[0] ? host : "localhost");
	assert_int_equal(c.rate, CONFIG_DEFAULT_RATE);
	assert_int_equal(c.port_lo, CONFIG_DEFAULT_PORT_LO);
	assert_int_equal(c.port_hi, CONFIG_DEFAULT_PORT_HI);
	assert_null(c.interfaces);
	assert_null(c.source_ip);
	assert_null(c.send_path);
	assert_null(c.redis_url);
	assert_string_equal(c.redis_prefix, CONFIG_DEFAULT_PREFIX);
	assert_null(c.output);
	assert_int_equal(c.resolve_interval_ns, CONFIG_DEFAULT_RESOLVE_NS);
	assert_int_equal(c.n_exclude, 0);
	assert_int_equal(c.n_canaries, 0);
	assert_true(c.isolation_share == CONFIG_DEFAULT_ISOLATION_SHARE);

	/* the numbers the documentation promises */
	const struct config_group builtin = {
		.interval_ns = 30 * S, .timeout_ns = S, .retries = 1, .families = TARGET_FAMILY_V4,
		.priority = 1,
		.state = {
			.failures = 2, .successes = 1, .window = 5, .over = 3, .flap_changes = 5,
			.flap_window_s = 600,
		},
	};
	assert_values(&c.groups[0], &builtin);
	assert_int_equal(c.groups[0].ports.n, 0);
	assert_int_equal(c.groups[0].n_labels, 0);
	config_release(&c);
}

/* Field by field: a group's own value wins, what it leaves out comes from
 * defaults, nested keys (latency.crit) one by one; labels merge. */
static void test_inheritance(void **state)
{
	static const uint16_t dports[] = { 80, 443 }, own[] = { 8080 };
	struct config c;

	(void)state;
	parse_ok(&c, "groups:\n"
		     "  - name: inherits\n"
		     "    hosts: [198.18.0.1]\n"
		     "  - name: overrides\n"
		     "    hosts: [198.18.0.2]\n"
		     "    ports: 8080\n"
		     "    interval: 1m\n"
		     "    retries: 0\n"
		     "    latency: { crit: 900ms }\n"
		     "    flapping: { changes: 0 }\n"
		     "    ip: both\n"
		     "    metrics: aggregate\n"
		     "    results: none\n"
		     "    labels: { team: db, zone: b, criticality: high }\n"
		     "defaults:\n"
		     "  interval: 20s\n"
		     "  timeout: 2s\n"
		     "  retries: 3\n"
		     "  failures: 4\n"
		     "  successes: 2\n"
		     "  latency: { warn: 100ms, crit: 300ms, window: 8, over: 4 }\n"
		     "  flapping: { changes: 7, window: 90s }\n"
		     "  ip: v6\n"
		     "  metrics: per_target\n"
		     "  results: changes\n"
		     "  ports: \"80,443\"\n"
		     "  labels: { team: web, app: shop }\n");
	const struct config_group *a = &c.groups[0], *b = &c.groups[1];

	assert_ports(&a->ports, dports, 2);
	const struct config_group want_a = {
		.interval_ns = 20 * S, .timeout_ns = 2 * S, .retries = 3,
		.families = TARGET_FAMILY_V6, .priority = CONFIG_DEFAULT_PRIORITY, .per_target = 1,
		.results = TABLE_RESULTS_CHANGES,
		.state = {
			.failures = 4, .successes = 2, .warn_ns = 100 * MS, .crit_ns = 300 * MS,
			.window = 8, .over = 4, .flap_changes = 7, .flap_window_s = 90,
		},
	};
	assert_values(a, &want_a);
	assert_int_equal(a->n_labels, 2);
	assert_label(a, 0, "app", "shop");
	assert_label(a, 1, "team", "web");

	assert_ports(&b->ports, own, 1);
	struct config_group want_b = want_a;
	want_b.interval_ns = 60 * S;
	want_b.retries = 0;
	want_b.families = TARGET_FAMILY_V4 | TARGET_FAMILY_V6;
	want_b.priority = 2;
	want_b.per_target = 0;
	want_b.results = TABLE_RESULTS_NONE;
	want_b.state.crit_ns = 900 * MS;
	want_b.state.flap_changes = 0;
	assert_values(b, &want_b);
	assert_int_equal(b->n_labels, 4);
	assert_label(b, 0, "app", "shop");
	assert_label(b, 1, "criticality", "high");
	assert_label(b, 2, "team", "db");
	assert_label(b, 3, "zone", "b");
	/* each group owns its copy of the inherited ports (ASan would see a
	 * shared one freed twice) */
	config_release(&c);
}

/* Numbers as strings, ports in every form, single strings as lists,
 * aliases, hosts that carry their own port. */
static void test_forms(void **state)
{
	static const uint16_t ports[] = { 22, 80, 81, 82, 443 };
	struct config c;

	(void)state;
	parse_ok(&c, "rate: \"500\"\n"
		     "interfaces: veth0\n"
		     "isolation_share: 1\n"
		     "defaults: { retries: \"2\", labels: &l { team: net } }\n"
		     "groups:\n"
		     "  - name: a\n"
		     "    hosts: 198.18.0.0/30\n"
		     "    ports: [443, \"80-82\", 22, \"22,80\"]\n"
		     "    labels: *l\n"
		     "  - name: b\n"
		     "    hosts: [\"198.18.0.9:8443\", \"[2001:db8::1]:443\", web-1.example.test:80]\n"
		     "    targets: [{ host: \"198.18.0.10\", port: \"8080\", name: x }]\n");
	assert_int_equal(c.rate, 500);
	assert_int_equal(c.n_interfaces, 1);
	assert_string_equal(c.interfaces[0], "veth0");
	assert_true(c.isolation_share == 1);
	assert_int_equal(c.groups[0].retries, 2);
	assert_int_equal(c.groups[0].n_hosts, 1);
	assert_ports(&c.groups[0].ports, ports, 5);
	assert_label(&c.groups[0], 0, "team", "net");
	assert_int_equal(c.groups[1].ports.n, 0);
	assert_int_equal(c.groups[1].named[0].port, 8080);
	config_release(&c);
}

/* check: a kind, or a mapping with options; per group and per named target */
static void test_checks(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	parse_ok(&c, "groups:\n"
		     "  - name: db\n"
		     "    hosts: [198.18.1.0/30]\n"
		     "    ports: [5432]\n"
		     "    check: { kind: postgres, interval: 1m, user: monitor, database: postgres, starttls: required }\n"
		     "    targets:\n"
		     "      - { host: 198.18.1.9, port: 443, name: web, check: { kind: https, status: [2], verify: true,\n"
		     "          cert_warn_days: 21, cert_crit_days: 7, request: \"GET /healthz HTTP/1.1\" } }\n"
		     "  - name: gen\n"
		     "    hosts: [198.18.2.1:7000]\n"
		     "    check: { kind: generic, send: 'PING\\r\\n\\x00', expect: '^\\+PONG' }\n"
		     "  - name: plain\n"
		     "    hosts: [198.18.3.1:6379, \"198.18.3.2:5432/postgres\", \"198.18.3.0/30:443/tls\"]\n"
		     "    ports: [\"22/ssh\", 80]\n"
		     "    check: redis\n");
	const struct check_spec *pg = c.groups[0].check;
	assert_non_null(pg);
	assert_int_equal(pg->kind, CHECK_POSTGRES);
	assert_int_equal(pg->interval_ns, 60 * S);
	assert_string_equal(pg->user, "monitor");
	assert_string_equal(pg->database, "postgres");
	assert_int_equal(pg->starttls, CHECK_STARTTLS_REQUIRED);
	assert_int_equal(pg->cert_warn_days, 14);
	const struct check_spec *web = c.groups[0].named[0].check;
	assert_non_null(web);
	assert_int_equal(web->kind, CHECK_HTTPS);
	assert_int_equal(web->http_classes, CHECK_HTTP_CLASS(2));
	assert_true(web->verify);
	assert_int_equal(web->cert_warn_days, 21);
	assert_int_equal(web->cert_crit_days, 7);
	assert_string_equal(web->request, "GET /healthz HTTP/1.1");
	const struct check_spec *gen = c.groups[1].check;
	assert_int_equal(gen->send_len, 7);
	assert_memory_equal(gen->send, "PING\r\n\0", 7);
	assert_non_null(gen->expect_re);
	assert_int_equal(c.groups[2].check->kind, CHECK_REDIS);
	assert_int_equal(c.groups[2].ports.checks[0], CHECK_SSH);
	assert_int_equal(c.groups[2].ports.checks[1], CHECK_NONE);
	config_release(&c);

	/* one line each, naming the place and what would be right */
	static const struct {
		const char *check, *at, *what;
	} bad[] = {
		{ "postgress", "t.yaml:4:12", "check 'postgress' in group 'a': expected one of connect, tls" },
		{ "{ kind: redis, user: x }", "t.yaml:4:33", "check redis in group 'a' takes no 'user'" },
		{ "{ kind: tls, starttls: required }", "t.yaml:4:", "check tls in group 'a' takes no 'starttls'" },
		{ "{ interval: 1m }", "t.yaml:4:12", "check in group 'a' has no 'kind'" },
		{ "{ kind: generic, expect: \"(\" }", "t.yaml:4:", "expect '(': missing closing parenthesis" },
		{ "{ kind: generic, send: '\\q' }", "t.yaml:4:", "send: unknown escape '\\q'" },
		{ "{ kind: tls, ca_file: /nonexistent/ca.pem }", "t.yaml:4:", "cannot load CA file '/nonexistent/ca.pem'" },
		{ "{ kind: https, cert_warn_days: 3, cert_crit_days: 7 }", "t.yaml:4:", "cert_crit_days (7) above cert_warn_days (3)" },
		{ "{ kind: http, status: [6] }", "t.yaml:4:", "status '6': expected a class 1-5" },
	};
	assert_int_equal(parse(&c, "groups:\n  - name: a\n    hosts: [\"198.18.0.2:22/shh\"]\n", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t.yaml:3:"));
	assert_non_null(strstr(err, "check 'shh': expected one of connect"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char yaml[512];
		snprintf(yaml, sizeof(yaml), GROUP_A "    check: %s\n", bad[i].check);
		int r = parse(&c, yaml, err, sizeof(err));
		if (r != -EINVAL || strncmp(err, bad[i].at, strlen(bad[i].at)) != 0 || !strstr(err, bad[i].what)) {
			print_error("case %zu: %d '%s'\n  want %s ... %s\n", i, r, err, bad[i].at, bad[i].what);
			fail();
		}
	}
}

static void test_example_file(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	if (config_load(&c, "etc/synwatch.example.yaml", err, sizeof(err)) != 0)
		fail_msg("etc/synwatch.example.yaml: %s", err);
	assert_string_equal(c.path, "etc/synwatch.example.yaml");
	assert_true(c.n_groups >= 1);
	for (size_t i = 0; i < c.n_groups; i++)
		assert_int_equal(config_group_check(&c.groups[i], err, sizeof(err)), 0);
	config_release(&c);
}

static void test_load_errors(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	assert_int_equal(config_load(&c, "tests/unit/no-such-config.yaml", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "cannot open 'tests/unit/no-such-config.yaml': No such file or directory");
	assert_null(c.groups);
	/* a directory opens but does not read */
	assert_true(config_load(&c, "tests", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "'tests'"));
	assert_null(c.path);
}

/* Errors without a buffer, and a text that is not NUL-terminated. */
static void test_err_buffers(void **state)
{
	static const char text[] = "rate: 5x";
	char err[16];
	struct config c;

	(void)state;
	assert_int_equal(config_parse(&c, text, strlen(text), "t.yaml", NULL, 0), -EINVAL);
	assert_int_equal(config_parse(&c, text, strlen(text), NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "<memory>:1:7: r"); /* truncated, still terminated */
	/* only the first 8 bytes: "groups: " is cut off before the list */
	assert_int_equal(config_parse(&c, ONE_GROUP, 8, "t.yaml", NULL, 0), -EINVAL);
}

/* The same checks for a group built from command-line flags. */
static void test_group_api(void **state)
{
	struct config_group g;
	char *hosts[] = { (char *)"198.18.0.0/24" };
	uint16_t ports[] = { 80 };
	struct config c;
	char err[256];

	(void)state;
	assert_int_equal(config_init(&c), 0);
	assert_int_equal(c.rate, CONFIG_DEFAULT_RATE);
	assert_string_equal(c.redis_prefix, CONFIG_DEFAULT_PREFIX);
	assert_non_null(c.location);
	config_release(&c);

	config_group_init(&g);
	const struct config_group builtin = {
		.interval_ns = CONFIG_DEFAULT_INTERVAL_NS, .timeout_ns = CONFIG_DEFAULT_TIMEOUT_NS,
		.retries = CONFIG_DEFAULT_RETRIES, .families = TARGET_FAMILY_V4,
		.priority = CONFIG_DEFAULT_PRIORITY,
		.state = {
			.failures = CONFIG_DEFAULT_FAILURES, .successes = CONFIG_DEFAULT_SUCCESSES,
			.window = CONFIG_DEFAULT_LATENCY_WINDOW,
			.over = CONFIG_DEFAULT_LATENCY_OVER,
			.flap_changes = CONFIG_DEFAULT_FLAP_CHANGES,
			.flap_window_s = CONFIG_DEFAULT_FLAP_WINDOW_S,
		},
	};
	assert_values(&g, &builtin);
	assert_int_equal(config_group_check(&g, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nothing to probe"));
	g.hosts = hosts;
	g.n_hosts = 1;
	assert_int_equal(config_group_check(&g, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "hosts need ports"));
	g.ports = (struct portlist){ .ports = ports, .n = 1 };
	assert_int_equal(config_group_check(&g, err, sizeof(err)), 0);
	g.interval_ns = 1 * S;
	assert_int_equal(config_group_check(&g, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "interval 1s is too short: timeout 1s x (retries 1 + 1) = 2s, and a check "
				 "must finish before the next one is due (raise interval or lower timeout "
				 "or retries)");
}

struct bad {
	const char *yaml;
	const char *at;   /* "t.yaml:LINE:COL" */
	const char *what; /* a fragment of the message after it */
};

static const struct bad bad[] = {
	/* keys */
	{ "groups:\n  - name: db\n    intervall: 10s\n    hosts: [198.18.0.1:22]\n", "t.yaml:3:5",
	  "unknown key 'intervall' in group 'db' (expected one of: name, hosts, ports, targets, interval, "
	  "timeout, retries, failures, successes, latency, flapping, ip, labels, check, metrics, results); did you mean 'interval'?" },
	{ "rates: 5\n" ONE_GROUP, "t.yaml:1:1",
	  "unknown key 'rates' at the top level (expected one of: location, rate, source_ports," },
	{ "colour: blue\n" ONE_GROUP, "t.yaml:1:1",
	  "unknown key 'colour' at the top level (expected one of:" },
	{ GROUP_A "    latency: { wran: 1s }\n", "t.yaml:4:16",
	  "unknown key 'wran' in 'latency' of group 'a' (expected one of: warn, crit, window, over); "
	  "did you mean 'warn'?" },
	{ "defaults: { ports: [22], name: x }\n" ONE_GROUP, "t.yaml:1:26",
	  "'name' cannot be in 'defaults': it belongs in each group" },
	{ "defaults: { interval: 1m, intervall: 2m }\n" ONE_GROUP, "t.yaml:1:27",
	  "unknown key 'intervall' in 'defaults' (expected one of: ports, interval," },
	{ "groups:\n  - name: a\n    interval: 10s\n    hosts: [198.18.0.1:22]\n    interval: 20s\n",
	  "t.yaml:5:5", "duplicate key 'interval' in group 'a' (first at line 3)" },
	{ "rate: 5\nrate: 6\n" ONE_GROUP, "t.yaml:2:1",
	  "duplicate key 'rate' at the top level (first at line 1)" },
	{ "? [a]\n: b\n" ONE_GROUP, "t.yaml:1:3", "expected a key name at the top level, got a list" },
	{ "groups:\n  - hosts: [198.18.0.1:22]\n    name: a\n    targets:\n"
	  "      - { host: 198.18.0.1, prot: 22 }\n",
	  "t.yaml:5:29",
	  "unknown key 'prot' in a target of group 'a' (expected one of: host, port, name, "
	  "check); did you mean 'port'?" },
	/* values */
	{ GROUP_A "    interval: 5x\n", "t.yaml:4:15",
	  "interval '5x': expected a duration like 30s, 1m, 5m" },
	{ GROUP_A "    interval: 5ms\n", "t.yaml:4:15", "interval '5ms': expected a duration from 10ms to 24h" },
	{ GROUP_A "    timeout: 20m\n", "t.yaml:4:14",
	  "timeout '20m': expected a duration from 1ms to 10m" },
	{ "rate: 0\n" ONE_GROUP, "t.yaml:1:7", "rate '0': expected a whole number from 1 to 100000000" },
	{ "rate: fast\n" ONE_GROUP, "t.yaml:1:7",
	  "rate 'fast': expected a whole number from 1 to 100000000" },
	{ "rate: -5\n" ONE_GROUP, "t.yaml:1:7", "rate '-5': expected a whole number" },
	{ "spill_max: 10k\n" ONE_GROUP, "t.yaml:1:12", "spill_max '10k': expected a size from 1M to 1T, like 512M" },
	{ "spill_max: 512K\n" ONE_GROUP, "t.yaml:1:12", "spill_max '512K': expected a size from 1M to 1T, like 512M" },
	{ "backlog_memory: 2TiB\n" ONE_GROUP, "t.yaml:1:17", "backlog_memory '2TiB': expected a size from 1M to 1T, like 512M" },
	{ "rate: [5]\n" ONE_GROUP, "t.yaml:1:7", "rate: expected probes per second, got a list" },
	{ "defaults: { retries: 16 }\n" ONE_GROUP, "t.yaml:1:22",
	  "retries '16': expected a whole number from 0 to 15" },
	{ "defaults: { failures: 0 }\n" ONE_GROUP, "t.yaml:1:23",
	  "failures '0': expected a whole number from 1 to 50" },
	{ "defaults: { flapping: { changes: 13 } }\n" ONE_GROUP, "t.yaml:1:34",
	  "changes '13': expected a whole number from 0 to 12" },
	{ "defaults: { flapping: { window: 0 } }\n" ONE_GROUP, "t.yaml:1:33",
	  "window '0': expected a duration from 1s to 24h" },
	{ "defaults: { latency: { window: 33 } }\n" ONE_GROUP, "t.yaml:1:32",
	  "window '33': expected a whole number from 1 to 32" },
	{ "defaults: { ip: v5 }\n" ONE_GROUP, "t.yaml:1:17", "ip 'v5': expected v4, v6 or both" },
	{ "defaults: { metrics: all }\n" ONE_GROUP, "t.yaml:1:22", "metrics 'all': expected aggregate" },
	{ "defaults: { results: some }\n" ONE_GROUP, "t.yaml:1:22", "results 'some': expected all, changes" },
	{ "source_ports: 1000-2000\n" ONE_GROUP, "t.yaml:1:15",
	  "source_ports '1000-2000': expected A-B with 1024 <= A <= B <= 65535, like 61000-61999" },
	{ "source_ports: 62000-61000\n" ONE_GROUP, "t.yaml:1:15",
	  "source_ports '62000-61000': expected A-B" },
	{ "source_ports: 61000\n" ONE_GROUP, "t.yaml:1:15", "source_ports '61000': expected A-B" },
	{ "interfaces: [veth0, averyveryverylongname]\n" ONE_GROUP, "t.yaml:1:21",
	  "interfaces 'averyveryverylongname': expected an interface name (at most 15 characters" },
	{ "source_ip: 198.18.300.1\n" ONE_GROUP, "t.yaml:1:12",
	  "source_ip '198.18.300.1': expected an IPv4 or IPv6 address" },
	{ "redis: \"\"\n" ONE_GROUP, "t.yaml:1:8", "redis: expected a Redis URL" },
	{ "redis: \"\"\n" ONE_GROUP, "t.yaml:1:8", "got an empty string" },
	{ "redis:\n" ONE_GROUP, "t.yaml:1:7",
	  "redis: expected a Redis URL, like unix:///run/synwatch/redis.sock?db=0" },
	{ "redis: ~\n" ONE_GROUP, "t.yaml:1:8", "got nothing" },
	{ "output: json\n" ONE_GROUP, "t.yaml:1:9", "output 'json': expected ndjson, text or none" },
	{ "send_path: raw\n" ONE_GROUP, "t.yaml:1:12", "send_path 'raw': expected auto or ip" },
	{ "location: \"fra 1\"\n" ONE_GROUP, "t.yaml:1:11", "location 'fra 1': expected letters, digits" },
	{ "resolve_interval: 100ms\n" ONE_GROUP, "t.yaml:1:19",
	  "resolve_interval '100ms': expected a duration from 1s to 24h" },
	{ "exclude: [198.18.7.1/24]\n" ONE_GROUP, "t.yaml:1:11",
	  "exclude '198.18.7.1/24': expected an address or CIDR with no host bits set, like 198.18.7.0/24" },
	{ "canaries: [\"198.18.0.1\"]\n" ONE_GROUP, "t.yaml:1:12",
	  "canaries '198.18.0.1': expected IP:PORT, like 198.18.0.1:22" },
	{ "canaries: [\"198.18.0.1:0\"]\n" ONE_GROUP, "t.yaml:1:12",
	  "canaries '198.18.0.1:0': port '0': expected 1-65535" },
	{ "isolation_share: 0\n" ONE_GROUP, "t.yaml:1:18",
	  "isolation_share '0': expected a share greater than 0 and at most 1, like 0.5" },
	{ "isolation_share: 1.5\n" ONE_GROUP, "t.yaml:1:18", "isolation_share '1.5': expected a share" },
	{ "isolation_share: nan\n" ONE_GROUP, "t.yaml:1:18", "isolation_share 'nan': expected a share" },
	{ "redis_prefix: \"a b\"\n" ONE_GROUP, "t.yaml:1:15",
	  "redis_prefix 'a b': prefix 'a b': no spaces or control characters, like synwatch:" },
	/* ports */
	{ "groups:\n  - name: a\n    hosts: [198.18.0.1]\n    ports: { a: 1 }\n", "t.yaml:4:12",
	  "ports: expected a list of ports, got a mapping" },
	{ "groups:\n  - name: a\n    hosts: [198.18.0.1]\n    ports: [22, 70000]\n", "t.yaml:4:17",
	  "ports: port '70000' in '70000': expected 1-65535" },
	{ "groups:\n  - name: a\n    hosts: [198.18.0.1]\n    ports: [22, \"90-80\"]\n", "t.yaml:4:17",
	  "start above end (did you mean 80-90?)" },
	{ "groups:\n  - name: a\n    hosts: [198.18.0.1]\n    ports: []\n", "t.yaml:4:12",
	  "ports: expected at least one port, got an empty list" },
	{ "groups:\n  - name: a\n    hosts: [198.18.0.1]\n    ports: [[22]]\n", "t.yaml:4:13",
	  "ports: expected a list of ports, got a list" },
	/* hosts and targets */
	{ "groups:\n  - name: a\n    ports: [22]\n    hosts: [198.18.1.0/16]\n", "t.yaml:4:13",
	  "hosts '198.18.1.0/16': not a CIDR (expected ADDRESS/PREFIX, no host bits set" },
	{ "groups:\n  - name: a\n    hosts: [\"2001:db8::g\"]\n    ports: [22]\n", "t.yaml:3:13",
	  "hosts '2001:db8::g': not an IPv6 address" },
	{ "groups:\n  - name: a\n    ports: [22]\n    hosts: [198.18.1]\n", "t.yaml:4:13",
	  "hosts '198.18.1': not an IPv4 address (expected four numbers 0-255, like 198.18.0.1)" },
	{ "groups:\n  - name: a\n    hosts: [\"198.18.0.1:http\"]\n", "t.yaml:3:13",
	  "hosts '198.18.0.1:http': port 'http': expected 1-65535" },
	{ "groups:\n  - name: a\n    hosts: [\"web 1.example.test\"]\n    ports: [22]\n", "t.yaml:3:13",
	  "hosts 'web 1.example.test': expected an address, CIDR or hostname" },
	{ "groups:\n  - name: a\n    hosts: { web: 198.18.0.1 }\n", "t.yaml:3:12",
	  "hosts: expected a list of hosts (IP, CIDR or HOSTNAME, optionally :PORT), got a mapping" },
	{ "groups:\n  - name: a\n    targets: [{ host: 198.18.1.5, name: pg }]\n", "t.yaml:3:15",
	  "a target of group 'a' has no 'port': expected host, port and name" },
	{ "groups:\n  - name: a\n    targets: [{ host: 198.18.1.5, port: 0, name: pg }]\n", "t.yaml:3:41",
	  "port '0': expected a whole number from 1 to 65535" },
	{ "groups:\n  - name: a\n    targets: [{ host: 198.18.1.0/24, port: 22, name: pg }]\n", "t.yaml:3:23",
	  "host '198.18.1.0/24': expected an address or hostname, not a CIDR" },
	{ "groups:\n  - name: a\n    targets: [{ host: \"198.18.1.5:22\", port: 22, name: pg }]\n",
	  "t.yaml:3:23", "host '198.18.1.5:22': no port here: give it in 'port'" },
	{ "groups:\n  - name: a\n    targets: 198.18.1.5\n", "t.yaml:3:14",
	  "targets: expected a list of { host, port, name }, got '198.18.1.5'" },
	/* groups */
	{ "groups:\n  - name: web\n    hosts: [198.18.0.1:80]\n  - name: web\n    hosts: [198.18.0.2:80]\n",
	  "t.yaml:4:11", "duplicate group name 'web' (first at line 2)" },
	{ "groups:\n  - hosts: [198.18.0.1:22]\n", "t.yaml:2:5",
	  "group #1 has no 'name': every group needs a unique name" },
	{ "groups:\n  - name: a\n    ports: [22]\n", "t.yaml:2:5",
	  "group 'a': nothing to probe: give 'hosts' (with 'ports') or 'targets'" },
	{ "groups:\n  - name: a\n    hosts: [\"198.18.0.1:22\", 198.18.0.2]\n", "t.yaml:2:5",
	  "group 'a': host '198.18.0.2' has no port and there are no 'ports': hosts need ports" },
	{ "rate: 5\n", "t.yaml:1:1",
	  "no 'groups': expected a list of groups, each with a name and hosts or targets" },
	{ "groups: []\n", "t.yaml:1:9", "groups: expected at least one group, got an empty list" },
	{ "groups: [web]\n", "t.yaml:1:10",
	  "groups: expected a list of groups, each a mapping with name, hosts, ports..., got 'web'" },
	{ "groups:\n", "t.yaml:1:8",
	  "groups: expected a list of groups, each with a name and hosts or targets, got nothing" },
	/* checks on the final values */
	{ GROUP_A "    interval: 1s\n    timeout: 1s\n", "t.yaml:4:15",
	  "group 'a': interval 1s is too short: timeout 1s x (retries 1 + 1) = 2s, and a check must "
	  "finish before the next one is due" },
	{ "defaults:\n  timeout: 20s\n" ONE_GROUP, "t.yaml:2:12",
	  "group 'a': interval 30s is too short: timeout 20s x (retries 1 + 1) = 40s" },
	{ GROUP_A "    latency: { warn: 500ms, crit: 200ms }\n", "t.yaml:4:35",
	  "group 'a': latency crit 200ms is below warn 500ms: expected crit >= warn" },
	{ GROUP_A "    latency: { window: 2 }\n", "t.yaml:4:24",
	  "group 'a': latency over 3 is more than window 2: expected 1 <= over <= window" },
	/* labels */
	{ GROUP_A "    labels: { team-x: a }\n", "t.yaml:4:15",
	  "label name 'team-x': expected letters, digits and '_', not starting with a digit" },
	{ "defaults: { labels: { 1team: a } }\n" ONE_GROUP, "t.yaml:1:23", "label name '1team'" },
	{ GROUP_A "    labels: { criticality: urgent }\n", "t.yaml:4:28",
	  "criticality 'urgent': expected critical, high, normal, medium or low" },
	{ GROUP_A "    labels: { team: a, team: b }\n", "t.yaml:4:24",
	  "duplicate label 'team' (first at line 4)" },
	{ GROUP_A "    labels: [team]\n", "t.yaml:4:13",
	  "labels: expected a mapping of label names to values, like { team: web }, got a list" },
	{ GROUP_A "    labels: { team: { a: b } }\n", "t.yaml:4:21",
	  "team: expected a label value, got a mapping" },
	/* YAML itself */
	{ "", "t.yaml:1:1", "empty configuration: expected settings with at least 'groups'" },
	{ "# only a comment\n", "t.yaml:1:1", "empty configuration" },
	{ "- a\n- b\n", "t.yaml:1:1",
	  "configuration: expected a mapping of settings (location, rate, groups...), got a list" },
	{ ONE_GROUP "---\nrate: 5\n", "t.yaml:2:1",
	  "a second YAML document: a configuration is one document (remove the '---')" },
	{ "rate: [1, 2\n" ONE_GROUP, "t.yaml:2:7",
	  "YAML syntax error: did not find expected ',' or ']' "
	  "(while parsing a flow sequence at line 1, column 7)" },
	{ "groups:\n\t- name: a\n", "t.yaml:2:1",
	  "YAML syntax error: found character that cannot start any token "
	  "(while scanning for the next token at line 2, column 1)" },
	{ "rate: 5\n  location: x\n" ONE_GROUP, "t.yaml:2:11",
	  "YAML syntax error: mapping values are not allowed in this context" },
	{ "rate: *r\n" ONE_GROUP, "t.yaml:1:7", "YAML syntax error: found undefined alias" },
	{ "location: \"fra\xff\"\n" ONE_GROUP, "t.yaml:1:15",
	  "not valid text: invalid leading UTF-8 octet (0xff)" },
	{ "location: \"fra\\0x\"\n" ONE_GROUP, "t.yaml:1:11", "location: a NUL character in the value" },
	{ "location: \"fra\\n1\"\n" ONE_GROUP, "t.yaml:1:11", "location 'fra?1': expected letters" },
	/* an alias that points at its own list cannot loop the walk */
	{ "groups: &g [{ name: a, hosts: *g }]\n", "t.yaml:1:13",
	  "hosts: expected a list of hosts (IP, CIDR or HOSTNAME, optionally :PORT), got a mapping" },
};

static void test_mistakes(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config c, zero = { 0 };
		char err[1024], want[64];

		memset(&c, 0xa5, sizeof(c));
		int r = parse(&c, bad[i].yaml, err, sizeof(err));
		snprintf(want, sizeof(want), "%s: ", bad[i].at);
		bool at_ok = strncmp(err, want, strlen(want)) == 0;
		if (r != -EINVAL || !at_ok || !strstr(err + strlen(want), bad[i].what)) {
			print_error("case %zu (%s):\n  got  %d %s\n  want %s%s\n", i, bad[i].at, r, err, want,
				    bad[i].what);
			failed++;
		}
		if (memcmp(&c, &zero, sizeof(c)) != 0) {
			print_error("case %zu: the config is not zeroed after an error\n", i);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_builtin_defaults),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_err_buffers),
		cmocka_unit_test(test_group_api),
		cmocka_unit_test(test_mistakes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
