/* tools/alert/alert-format: the text of every kind of alert, as someone woken at
 * 3 a.m. reads it (what, host:port, what happened, since when, from where,
 * the host rollup, the end), durations, and the webhook, Telegram and
 * e-mail bodies. Times in UTC (TZ is set below). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/clock.h"
#include "tools/alert/alert-format.h"
#include "tests/unit/alert-fixture.h"

/* 2023-11-14 22:17:32 UTC and 4m12s later */
#define T0 "1700000252000000000"
#define NOW (1700000252LL * NSEC_PER_SEC + 252 * NSEC_PER_SEC)

struct expect {
	enum alert_status status;
	enum alert_class cls;
	const char *const *kv;
	int64_t started_ns;
	const char *title;  /* the whole headline */
	const char *detail; /* a line of the details, or NULL */
};

/* first: the event that opened the alert (RESOLVED), or NULL */
static void check_ports(const struct expect *x, const char *host_ports, const char *const *first_kv)
{
	static const char *const locs[] = { "ams2", "fra1" };
	struct fv_arena a = { 0 };
	struct buf title = { 0 }, text = { 0 };
	struct alert_event e, first;

	fixture_event(&e, &a, x->kv);
	if (first_kv)
		fixture_event(&first, &a, first_kv);
	struct alert_msg m = {
		.status = x->status,
		.cls = x->cls,
		.e = &e,
		.first = first_kv ? &first : NULL,
		.now_ns = NOW,
		.started_ns = x->started_ns,
		.locations = locs,
		.n_locations = 2,
		.host_ports = host_ports,
	};
	alert_format_title(&title, &m);
	alert_format_text(&text, &m);
	if (strcmp(title.s, x->title) != 0)
		fail_msg("title '%s', want '%s'", title.s, x->title);
	if (strncmp(text.s, title.s, title.len) != 0 || (text.s[title.len] != '\n' && text.s[title.len]))
		fail_msg("the text does not start with the title: '%s'", text.s);
	if (x->detail && !strstr(text.s, x->detail))
		fail_msg("text '%s' has no '%s'", text.s, x->detail);
	if (strchr(title.s, '\n'))
		fail_msg("a title of more than one line: '%s'", title.s);
	buf_release(&title);
	buf_release(&text);
	fv_arena_release(&a);
}

static void check(const struct expect *x)
{
	check_ports(x, NULL, NULL);
}

#define PORT(...)                                                                                            \
	(const char *const[])                                                                                \
	{                                                                                                    \
		"kind", "state", "ts", T0, "target", "198.18.1.9:5432", "ip", "198.18.1.9", "port", "5432",  \
		    "name", "Production DB", "location", "fra1", __VA_ARGS__, NULL                           \
	}

static void test_down(void **state)
{
	(void)state;
	const int64_t t0 = 1700000252LL * NSEC_PER_SEC;
	const struct expect cases[] = {
		{ ALERT_FIRING, ALERT_DOWN, PORT("from", "up", "to", "down", "reason", "refused"), t0,
		  "DOWN Production DB (198.18.1.9:5432): refused", "since 22:17:32 UTC (for 4m12s)" },
		{ ALERT_FIRING, ALERT_DOWN, PORT("to", "down", "reason", "timeout"), t0,
		  "DOWN Production DB (198.18.1.9:5432): timed out", "seen from ams2, fra1" },
		{ ALERT_FIRING, ALERT_DOWN, PORT("to", "down", "reason", "unreachable", "icmp_code", "13"),
		  t0, "DOWN Production DB (198.18.1.9:5432): unreachable (ICMP code 13, admin prohibited)",
		  NULL },
		{ ALERT_FIRING, ALERT_DOWN, PORT("to", "down", "reason", "unreachable", "icmp_code", "1"), t0,
		  "DOWN Production DB (198.18.1.9:5432): unreachable (ICMP code 1, host unreachable)", NULL },
		{ ALERT_FIRING, ALERT_DOWN, PORT("to", "down", "reason", "unreachable", "icmp_code", "99"),
		  t0, "DOWN Production DB (198.18.1.9:5432): unreachable (ICMP code 99)", NULL },
		{ ALERT_FIRING, ALERT_DOWN, PORT("to", "down", "reason", "error"), t0,
		  "DOWN Production DB (198.18.1.9:5432): the probe could not be sent", NULL },
		{ ALERT_FIRING, ALERT_DOWN, PORT("from", "flapping", "to", "down", "reason", "settled"), t0,
		  "DOWN Production DB (198.18.1.9:5432): down after flapping", NULL },
		{ ALERT_REMINDER, ALERT_DOWN, PORT("to", "down", "reason", "refused"),
		  t0 - 3600 * NSEC_PER_SEC, "STILL DOWN Production DB (198.18.1.9:5432): refused",
		  "since 21:17:32 UTC (for 1h4m)" },
		{ ALERT_RESOLVED, ALERT_DOWN,
		  PORT("from", "down", "to", "up", "reason", "open", "since", "1700000252000000000"),
		  t0 - 12 * 60 * NSEC_PER_SEC, "RESOLVED Production DB (198.18.1.9:5432): up again after 12m",
		  "down since 22:05:32 UTC, over at 22:17:32 UTC" },
		{ ALERT_RESOLVED, ALERT_DOWN, PORT("from", "down", "to", "up"), 0,
		  "RESOLVED Production DB (198.18.1.9:5432): up again", "from ams2, fra1" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
}

/* A port with a service check: the check in the subject, and for the
 * reasons that are its verdicts, what it said (docs/alerting.md). */
#define CHECKED(...)                                                                                         \
	(const char *const[])                                                                                \
	{                                                                                                    \
		"kind", "state", "ts", T0, "target", "198.18.0.8:5432", "ip", "198.18.0.8", "port", "5432",  \
		    "name", "db-7", "location", "fra1", "check", "postgres", __VA_ARGS__, NULL               \
	}
#define TLS(...)                                                                                             \
	(const char *const[])                                                                                \
	{                                                                                                    \
		"kind", "state", "ts", T0, "target", "198.18.0.3:443", "ip", "198.18.0.3", "port", "443",    \
		    "name", "web-1", "location", "fra1", "check", "https", __VA_ARGS__, NULL                 \
	}

/* Text from Redis cannot forge lines of a message: the text alert of m
 * has no line starting with forged, and shows it as shown (its line break
 * replaced). */
static void assert_not_forged(const struct alert_msg *m, const char *forged, const char *shown)
{
	struct buf b = { 0 };
	char line[128];

	snprintf(line, sizeof(line), "\n%s", forged);
	alert_format_text(&b, m);
	assert_null(strstr(b.s, line));
	assert_non_null(strstr(b.s, shown));
	buf_release(&b);
}

static void test_checks(void **state)
{
	(void)state;
	const int64_t t0 = 1700000252LL * NSEC_PER_SEC;
	const struct expect cases[] = {
		/* the example: the server's own words */
		{ ALERT_FIRING, ALERT_DOWN,
		  CHECKED("from", "up", "to", "down", "reason", "check_failed", "check_error",
			  "FATAL: sorry, too many clients already"),
		  t0, "DOWN db-7 (198.18.0.8:5432, postgres): FATAL: sorry, too many clients already",
		  "since 22:17:32 UTC (for 4m12s)" },
		{ ALERT_FIRING, ALERT_DOWN,
		  (const char *const[]){ "kind", "state", "ts", T0, "target", "198.18.0.8:5432", "ip", "198.18.0.8",
					 "to", "down", "reason", "check_failed", "check", "redis", "check_error",
					 "ERR max number of clients reached", NULL },
		  t0, "DOWN 198.18.0.8:5432 (redis): ERR max number of clients reached", NULL },
		/* no words: what failed */
		{ ALERT_FIRING, ALERT_DOWN, CHECKED("to", "down", "reason", "check_failed"), t0,
		  "DOWN db-7 (198.18.0.8:5432, postgres): the postgres check failed", NULL },
		/* the SYN's own reasons stay, with the check named */
		{ ALERT_FIRING, ALERT_DOWN, CHECKED("to", "down", "reason", "refused"), t0,
		  "DOWN db-7 (198.18.0.8:5432, postgres): refused", NULL },
		{ ALERT_REMINDER, ALERT_DOWN,
		  CHECKED("to", "down", "reason", "check_failed", "check_error",
			  "FATAL: the database system is starting up"),
		  t0 - 3600 * NSEC_PER_SEC,
		  "STILL DOWN db-7 (198.18.0.8:5432, postgres): FATAL: the database system is starting up", NULL },
		/* certificates: the days, as the prober said them */
		{ ALERT_FIRING, ALERT_DOWN,
		  TLS("to", "down", "reason", "cert_expired", "check_error", "certificate expired 3 days ago"), t0,
		  "DOWN web-1 (198.18.0.3:443, https): certificate expired 3 days ago", NULL },
		{ ALERT_FIRING, ALERT_DOWN, TLS("to", "down", "reason", "cert_expired"), t0,
		  "DOWN web-1 (198.18.0.3:443, https): certificate expired", NULL },
		{ ALERT_FIRING, ALERT_DOWN,
		  TLS("to", "down", "reason", "cert_unverified", "check_error",
		      "certificate not verified: self-signed certificate"),
		  t0, "DOWN web-1 (198.18.0.3:443, https): certificate not verified: self-signed certificate",
		  NULL },
		{ ALERT_FIRING, ALERT_SLOW,
		  TLS("from", "up", "to", "degraded", "reason", "cert_expiring", "check_error",
		      "certificate expires in 9 days"),
		  t0, "DEGRADED web-1 (198.18.0.3:443, https): certificate expires in 9 days", "seen from ams2, fra1" },
		{ ALERT_REMINDER, ALERT_SLOW,
		  TLS("to", "degraded", "reason", "cert_expiring", "check_error", "certificate expires in 8 days"),
		  t0 - 86400 * NSEC_PER_SEC, "STILL DEGRADED web-1 (198.18.0.3:443, https): certificate expires in 8 days",
		  NULL },
		/* slowness of a checked port is still slowness */
		{ ALERT_FIRING, ALERT_SLOW, TLS("to", "degraded", "reason", "slow", "rtt_us", "812345.6"), t0,
		  "SLOW web-1 (198.18.0.3:443, https): p95 812 ms", NULL },
	};
	/* the ends: what the alert was about (the event that opened it) says
	 * what its end means */
	const struct {
		struct expect x;
		const char *const *first;
	} ends[] = {
		{ { ALERT_RESOLVED, ALERT_DOWN, CHECKED("from", "down", "to", "up", "reason", "open"),
		    t0 - 12 * 60 * NSEC_PER_SEC,
		    "RESOLVED db-7 (198.18.0.8:5432, postgres): up again after 12m; the postgres check passes",
		    "down since 22:05:32 UTC, over at 22:17:32 UTC" },
		  CHECKED("to", "down", "reason", "check_failed", "check_error", "FATAL: sorry, too many clients already") },
		{ { ALERT_RESOLVED, ALERT_SLOW, TLS("from", "degraded", "to", "up", "reason", "open"),
		    t0 - 3 * 86400 * NSEC_PER_SEC, "RESOLVED web-1 (198.18.0.3:443, https): certificate renewed after 3d",
		    NULL },
		  TLS("to", "degraded", "reason", "cert_expiring") },
		{ { ALERT_RESOLVED, ALERT_DOWN, TLS("from", "down", "to", "up", "reason", "open"),
		    t0 - 2 * 3600 * NSEC_PER_SEC,
		    "RESOLVED web-1 (198.18.0.3:443, https): certificate renewed, up again after 2h", NULL },
		  TLS("to", "down", "reason", "cert_expired") },
		{ { ALERT_RESOLVED, ALERT_DOWN, TLS("from", "down", "to", "up", "reason", "open"), 0,
		    "RESOLVED web-1 (198.18.0.3:443, https): certificate verifies again, up again", NULL },
		  TLS("to", "down", "reason", "cert_unverified") },
		/* refused, then up: nothing about the check to say */
		{ { ALERT_RESOLVED, ALERT_DOWN, CHECKED("from", "down", "to", "up", "reason", "open"), 0,
		    "RESOLVED db-7 (198.18.0.8:5432, postgres): up again", NULL },
		  CHECKED("to", "down", "reason", "refused") },
		{ { ALERT_RESOLVED, ALERT_SLOW, TLS("from", "degraded", "to", "up", "reason", "open"),
		    t0 - 5 * 60 * NSEC_PER_SEC, "RESOLVED web-1 (198.18.0.3:443, https): fast again after 5m", NULL },
		  TLS("to", "degraded", "reason", "slow") },
		/* without the opening event the end says less */
		{ { ALERT_RESOLVED, ALERT_DOWN, CHECKED("from", "down", "to", "up", "reason", "open"), 0,
		    "RESOLVED db-7 (198.18.0.8:5432, postgres): up again", NULL },
		  NULL },
	};

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		check_ports(&ends[i].x, NULL, ends[i].first);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);

	/* a server's words cannot forge lines of a message */
	struct fv_arena a = { 0 };
	struct buf b = { 0 };
	struct alert_event e;
	fixture_event(&e, &a, CHECKED("to", "down", "reason", "check_failed", "check_error", "x\nRESOLVED fake"));
	struct alert_msg m = { .status = ALERT_FIRING, .cls = ALERT_DOWN, .e = &e, .now_ns = NOW };
	assert_not_forged(&m, "RESOLVED fake", "postgres): x?RESOLVED fake");
	/* the webhook carries the event's check fields as they are */
	alert_format_webhook(&b, &m, "T", "t");
	assert_non_null(strstr(b.s, "\"check\":\"postgres\""));
	assert_non_null(strstr(b.s, "\"check_error\":\"x\\u000aRESOLVED fake\""));
	buf_release(&b);
	fv_arena_release(&a);
}

static void test_v6_and_unnamed(void **state)
{
	(void)state;
	const struct expect x = {
		ALERT_FIRING,
		ALERT_DOWN,
		(const char *const[]){ "kind", "state", "ts", T0, "target", "[2001:db8::1]:443", "ip",
				       "2001:db8::1", "to", "down", "reason", "unreachable", "icmp_code", "1",
				       "labels", "{\"team\":\"web\"}", "group", "edge", NULL },
		1700000252LL * NSEC_PER_SEC,
		"DOWN [2001:db8::1]:443: unreachable (ICMPv6 code 1, admin prohibited)",
		"group edge, team=web",
	};

	check(&x);
}

static void test_slow_flapping(void **state)
{
	(void)state;
	const int64_t t0 = 1700000252LL * NSEC_PER_SEC;
	const struct expect cases[] = {
		{ ALERT_FIRING, ALERT_SLOW, PORT("to", "degraded", "reason", "slow", "rtt_us", "812345.6"),
		  t0, "SLOW Production DB (198.18.1.9:5432): p95 812 ms", NULL },
		{ ALERT_FIRING, ALERT_SLOW,
		  PORT("to", "degraded", "reason", "slow", "rtt_us", "812345.6", "warn_us", "500000"), t0,
		  "SLOW Production DB (198.18.1.9:5432): p95 812 ms over 500 ms", NULL },
		{ ALERT_FIRING, ALERT_SLOW,
		  PORT("to", "degraded", "reason", "slow_critical", "rtt_us", "1300000", "warn_us", "500000",
		       "crit_us", "1000000"),
		  t0, "SLOW Production DB (198.18.1.9:5432): p95 1300 ms over 1000 ms (critical)", NULL },
		{ ALERT_FIRING, ALERT_SLOW, PORT("to", "degraded", "reason", "slow", "rtt_us", "4210"), t0,
		  "SLOW Production DB (198.18.1.9:5432): p95 4.2 ms", NULL },
		{ ALERT_RESOLVED, ALERT_SLOW, PORT("from", "degraded", "to", "up", "reason", "open"),
		  t0 - 5 * 60 * NSEC_PER_SEC, "RESOLVED Production DB (198.18.1.9:5432): fast again after 5m",
		  NULL },
		{ ALERT_FIRING, ALERT_FLAPPING, PORT("from", "up", "to", "flapping", "reason", "flapping"),
		  t0,
		  "FLAPPING Production DB (198.18.1.9:5432): going up and down; no more alerts for it until "
		  "it settles",
		  NULL },
		{ ALERT_RESOLVED, ALERT_FLAPPING, PORT("from", "flapping", "to", "up", "reason", "settled"),
		  t0 - 25 * 60 * NSEC_PER_SEC,
		  "RESOLVED Production DB (198.18.1.9:5432): stopped flapping after 25m, now up", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
}

static void test_host_prober_address(void **state)
{
	(void)state;
	const int64_t t0 = 1700000252LL * NSEC_PER_SEC;
	const struct expect cases[] = {
		{ ALERT_FIRING, ALERT_HOST,
		  (const char *const[]){ "kind", "host_down", "ts", T0, "ip", "198.18.1.9", "ports", "4",
					 "name", "db-3", "location", "fra1", NULL },
		  t0, "HOST DOWN db-3 (198.18.1.9): all 4 watched ports down", "seen from ams2, fra1" },
		{ ALERT_FIRING, ALERT_HOST,
		  (const char *const[]){ "kind", "host_down", "ts", T0, "ip", "198.18.1.9", "ports", "2",
					 NULL },
		  t0, "HOST DOWN 198.18.1.9: all 2 watched ports down", "since 22:17:32 UTC (for 4m12s)" },
		/* the host's ping tells a service outage from a host that is gone */
		{ ALERT_FIRING, ALERT_HOST,
		  (const char *const[]){ "kind", "host_down", "ts", T0, "ip", "198.18.1.9", "ports", "2", "ping",
					 "up", NULL },
		  t0, "HOST DOWN 198.18.1.9: all 2 watched ports down; it still answers ping: services down, host alive",
		  "since 22:17:32 UTC (for 4m12s)" },
		{ ALERT_FIRING, ALERT_HOST,
		  (const char *const[]){ "kind", "host_down", "ts", T0, "ip", "198.18.1.9", "ports", "2", "ping",
					 "down", NULL },
		  t0, "HOST DOWN 198.18.1.9: all 2 watched ports down; no answer to ping either: host unreachable",
		  "since 22:17:32 UTC (for 4m12s)" },
		/* a slow alert names the threshold it is over */
		{ ALERT_FIRING, ALERT_SLOW,
		  (const char *const[]){ "kind", "state", "ts", T0, "target", "198.18.1.9:5432", "ip", "198.18.1.9",
					 "port", "5432", "from", "up", "to", "degraded", "reason", "slow", "rtt_us",
					 "812000", "warn_us", "500000", NULL },
		  t0, "SLOW 198.18.1.9:5432: p95 812 ms over 500 ms", NULL },
		{ ALERT_RESOLVED, ALERT_HOST,
		  (const char *const[]){ "kind", "host_up", "ts", T0, "ip", "198.18.1.9", "ports", "4",
					 "name", "db-3", NULL },
		  t0 - 12 * 60 * NSEC_PER_SEC, "RESOLVED host db-3 (198.18.1.9): answering again after 12m",
		  NULL },
		{ ALERT_FIRING, ALERT_PROBER,
		  (const char *const[]){ "kind", "prober_isolated", "ts", T0, "failing_share", "0.834",
					 "location", "fra1", "prober", "fra1/probe-1", NULL },
		  t0,
		  "PROBER ISOLATED fra1/probe-1: 83% of its checks fail at once: its own network is the "
		  "likely cause; "
		  "it holds target states meanwhile",
		  NULL },
		{ ALERT_RESOLVED, ALERT_PROBER,
		  (const char *const[]){ "kind", "prober_ok", "ts", T0, "failing_share", "0.01", "location",
					 "fra1", "prober", "fra1/probe-1", NULL },
		  t0 - 3 * 60 * NSEC_PER_SEC, "RESOLVED prober fra1/probe-1: its network is back after 3m",
		  NULL },
		{ ALERT_FIRING, ALERT_INFO,
		  (const char *const[]){ "kind", "address_changed", "ts", T0, "target", "198.18.0.6:443",
					 "ip", "198.18.0.6", "old_ip", "198.18.0.5", "name",
					 "db.example.test", NULL },
		  t0, "ADDRESS CHANGED db.example.test (198.18.0.6:443): 198.18.0.5 -> 198.18.0.6", NULL },
		/* synwatch-quorum's: one location sees it down, an outage needs two */
		{ ALERT_FIRING, ALERT_LOCATION,
		  (const char *const[]){ "kind", "location_issue", "ts", T0, "target", "198.18.1.9:5432", "ip",
					 "198.18.1.9", "port", "5432", "name", "Production DB", "locations_down",
					 "ams2", "locations", "ams2,fra1,nyc1", "quorum", "2", "location", "global",
					 NULL },
		  t0,
		  "LOCATION ISSUE Production DB (198.18.1.9:5432): down from ams2 only (1 of 3 locations; an "
		  "outage needs 2): a routing or location problem, not an outage",
		  "locations watching it: ams2, fra1, nyc1" },
		{ ALERT_RESOLVED, ALERT_LOCATION,
		  (const char *const[]){ "kind", "location_ok", "ts", T0, "target", "198.18.1.9:5432", "reason",
					 "recovered", "locations_down", "ams2", "location", "global", NULL },
		  t0 - 5 * 60 * NSEC_PER_SEC, "RESOLVED 198.18.1.9:5432: every location sees it up again after 5m",
		  NULL },
		{ ALERT_RESOLVED, ALERT_LOCATION,
		  (const char *const[]){ "kind", "location_ok", "ts", T0, "target", "198.18.1.9:5432", "reason",
					 "global_down", "locations_down", "ams2", "location", "global", NULL },
		  t0, "RESOLVED 198.18.1.9:5432: enough locations see it down now: an outage, no longer a location issue", NULL },
		{ ALERT_FIRING, ALERT_DOWN,
		  (const char *const[]){ "kind", "state", "ts", T0, "target", "198.18.1.9:5432", "ip", "198.18.1.9",
					 "port", "5432", "from", "up", "to", "down", "reason", "timeout",
					 "locations_down", "ams2,fra1", "locations", "ams2,fra1,nyc1", "quorum", "2",
					 "location", "global", NULL },
		  t0, "DOWN 198.18.1.9:5432: timed out", "seen down from 2 of 3 locations: ams2, fra1 (quorum 2)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
	/* the host's ports, when the events around its host_down named them */
	check_ports(&cases[0], "22, 80, 443, 5432", NULL);
	const struct expect ports = { cases[0].status, cases[0].cls, cases[0].kv, t0, cases[0].title,
				      "ports: 22, 80, 443, 5432" };
	check_ports(&ports, "22, 80, 443, 5432", NULL);
}

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		int64_t s;
		const char *text;
	} cases[] = {
		{ 0, "0s" },	 { 45, "45s" },	    { 60, "1m" },     { 252, "4m12s" },
		{ 720, "12m" },	 { 3600, "1h" },    { 3840, "1h4m" }, { 3845, "1h4m" },
		{ 86400, "1d" }, { 93600, "1d2h" }, { -5, "0s" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(alert_duration_text(cases[i].s * NSEC_PER_SEC, buf, sizeof(buf)),
				    cases[i].text);
}

static void has_all(const char *s, const char *const *parts)
{
	for (; *parts; parts++)
		if (!strstr(s, *parts))
			fail_msg("'%s' has no '%s'", s, *parts);
}

static void test_bodies(void **state)
{
	(void)state;
	static const char *const locs[] = { "fra1" };
	static char *const to[] = { (char *)"oncall@example.test", (char *)"noc@example.test" };
	struct fv_arena a = { 0 };
	struct buf b = { 0 };
	struct alert_event e;

	fixture_event(&e, &a, (const char *const[]){ FIXTURE_DOWN, "note", "a \"quoted\"\nline", NULL });
	struct alert_msg m = { .status = ALERT_FIRING, .cls = ALERT_DOWN, .e = &e, .now_ns = NOW,
			       .locations = locs, .n_locations = 1 };
	alert_format_webhook(&b, &m, "T", "line 1\nline 2");
	has_all(b.s, (const char *const[]){
			     "{\"status\":\"firing\",\"alert\":\"down\",\"entry\":\"1700000000000-0\"",
			     "\"target\":\"198.18.1.9:5432\"",
			     "\"labels\":{\"team\":\"dba\",\"criticality\":\"critical\"}",
			     "\"note\":\"a \\\"quoted\\\"\\u000aline\"",
			     "\"locations\":[\"fra1\"],\"title\":\"T\",\"text\":\"line 1\\u000aline 2\"}",
			     NULL });
	buf_release(&b);

	alert_format_telegram(&b, "-100123", "a\nb");
	assert_string_equal(
	    b.s, "{\"chat_id\":\"-100123\",\"text\":\"a\\u000ab\",\"disable_web_page_preview\":true}");
	buf_release(&b);

	alert_format_email(&b, "synwatch@alerts.example.test", to, 2, "DOWN db", "line 1\nline 2", NOW,
			   "id1");
	has_all(b.s,
		(const char *const[]){
		    "From: synwatch@alerts.example.test\r\n", "To: oncall@example.test, noc@example.test\r\n",
		    "Subject: DOWN db\r\n", "Message-ID: <id1@alerts.example.test>\r\n",
		    "Date: Tue, 14 Nov 2023 22:21:44 +0000\r\n", "\r\n\r\nline 1\r\nline 2\r\n", NULL });
	assert_null(strstr(b.s, "2\n"));
	buf_release(&b);

	/* a subject with UTF-8 is encoded (RFC 2047), in words of at most 75 characters */
	alert_format_email(&b, "a@b", to, 1,
			   "DOWN Datenbank Köln (198.18.1.9:5432): refused, long enough to need two words",
			   "x", NOW, "id2");
	assert_non_null(strstr(b.s, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(b.s, "?=\r\n =?UTF-8?B?"));
	buf_release(&b);
	fv_arena_release(&a);
}

/* Text from Redis cannot forge lines of a message. */
static void test_clean(void **state)
{
	(void)state;
	struct fv_arena a = { 0 };
	struct alert_event e;

	fixture_event(&e, &a, PORT("to", "down", "reason", "refused", "group", "x\nDOWN fake"));
	struct alert_msg m = { .status = ALERT_FIRING, .cls = ALERT_DOWN, .e = &e, .now_ns = NOW };
	assert_not_forged(&m, "DOWN fake", "group x?DOWN fake");
	fv_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_down),       cmocka_unit_test(test_v6_and_unnamed),
		cmocka_unit_test(test_slow_flapping), cmocka_unit_test(test_host_prober_address),
		cmocka_unit_test(test_durations),  cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_clean),      cmocka_unit_test(test_checks),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
