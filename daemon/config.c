/* The YAML configuration, read with the tables of common/yconf.h (top
 * level, group, latency, flapping, named target).
 *
 * Groups inherit from `defaults:` field by field (latency.warn alone, say),
 * so a scope records which fields a mapping gave and where: inheritance
 * copies what the group left out, and the checks that need the final values
 * (timeout x attempts < interval) point at the line a culprit came from,
 * even when that line is in `defaults:`. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/num.h"
#include "common/probe.h"
#include "common/yconf.h"
#include "daemon/checkconf.h"
#include "daemon/config.h"
#include "store/schema.h"

/* A configuration is kilobytes; this stops a wrong path (a disk image,
 * /dev/zero) from being read into memory. */
#define CONFIG_MAX_BYTES (16 << 20)
/* DNS names are at most 253 characters (RFC 1035). */
#define HOST_MAX 255
/* Interface names: IFNAMSIZ less the NUL. */
#define IFNAME_MAX 15
#define PROBER_ID_MAX 255
#define OWNER_MAX YCONF_OWNER_MAX
#define QUOTE YCONF_QUOTE
#define LABEL_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
/* hostnames and locations */
#define HOST_CHARS LABEL_CHARS "-."

#define BIT YCONF_BIT
#define AT YCONF_AT
#define TABLE YCONF_TABLE

enum {
	G_NAME, G_HOSTS, G_PORTS, G_TARGETS, G_INTERVAL, G_TIMEOUT, G_RETRIES, G_FAILURES, G_SUCCESSES,
	G_LATENCY, G_CRIT, G_WARN, G_OVER, G_WINDOW, G_FLAPPING, G_CHANGES, G_FLAP_WINDOW, G_IP, G_LABELS,
	G_CHECK, G_METRICS, G_RESULTS,
};

enum {
	T_LOCATION, T_RATE, T_SOURCE_PORTS, T_INTERFACES, T_SOURCE_IP, T_REDIS, T_REDIS_PREFIX, T_OUTPUT,
	T_RESOLVE, T_EXCLUDE, T_CANARIES, T_ISOLATION, T_DEFAULTS, T_GROUPS, T_SPILL, T_STATE_FILE, T_SPILL_MAX, T_BACKLOG_MEMORY, T_RESULTS_MAXLEN,
	T_EVENTS_MAXLEN, T_LATENCY_RETENTION, T_PROBER_ID, T_SHARD, T_SEND_PATH, T_CHECK_PORTS,
};

enum { N_HOST, N_PORT, N_NAME, N_CHECK };

/* The top level as it is read: `groups` waits until `defaults` is known,
 * wherever the two stand in the file. */
struct top {
	struct config c;
	struct config_group defaults;
	struct yconf_scope dscope;
	yaml_node_t *groups;
};

static const struct {
	const char *name;
	uint8_t priority;
} criticalities[] = {
	{ "critical", 3 }, { "high", 2 }, { "normal", 1 }, { "medium", 1 }, { "low", 0 },
};

/* ---- messages ---- */

/* ---- nodes ---- */

/* ---- value syntax ---- */

static bool port_valid(const char *s)
{
	uint64_t v;

	return num_parse_uint(s, 1, 65535, &v) == 0;
}

/* Splits a host spec the way target_list_add_spec reads it: "[IPv6]:PORT";
 * text with two or more colons is IPv6 and owns them all; otherwise
 * "HOST:PORT" at the colon. *port is NULL when there is none. */
static int split_host(const char *spec, char host[HOST_MAX + 1], const char **port)
{
	const char *h = spec, *end, *colon = strchr(spec, ':');

	*port = NULL;
	if (spec[0] == '[') {
		h = spec + 1;
		end = strchr(h, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		if (end[1] == ':')
			*port = end + 2;
	} else if (colon && !strchr(colon + 1, ':')) {
		end = colon;
		*port = colon + 1;
	} else {
		end = spec + strlen(spec);
	}
	size_t len = (size_t)(end - h);
	if (len == 0 || len > HOST_MAX)
		return -EINVAL;
	memcpy(host, h, len);
	host[len] = '\0';
	return 0;
}

/* Labels of letters, digits, '-' and '_', none empty: what may go to the
 * resolver. (The daemon checks each spec again when it adds it.) */
static bool hostname_valid(const char *host)
{
	return host[0] != '.' && !strstr(host, "..") && !host[strspn(host, HOST_CHARS)];
}

/* The host part of a spec: an address, a CIDR (if allowed) or a name. */
static int check_host_part(const char *host, bool cidr_ok, char *msg, size_t len)
{
	struct sw_cidr c;
	struct sw_addr a;

	if (strchr(host, '/')) {
		if (!cidr_ok)
			return yconf_msg(msg, len, "expected an address or hostname, not a CIDR");
		if (cidr_parse(&c, host) == 0)
			return 0;
		return yconf_msg(
		    msg, len, "not a CIDR (expected ADDRESS/PREFIX, no host bits set, like 198.18.1.0/24)");
	}
	if (addr_parse(&a, host) == 0)
		return 0;
	if (strchr(host, ':'))
		return yconf_msg(msg, len, "not an IPv6 address");
	/* digits and dots that are no address: "198.18.1", "198.18.0.256" */
	if (!host[strspn(host, "0123456789.")])
		return yconf_msg(msg, len,
				 "not an IPv4 address (expected four numbers 0-255, like 198.18.0.1)");
	if (!hostname_valid(host))
		return yconf_msg(msg, len,
				 "expected an address, CIDR or hostname (letters, digits, '-', '.')");
	return 0;
}

static int check_spec(const char *spec, bool cidr_ok, char *msg, size_t len)
{
	char host[HOST_MAX + 1];
	const char *port;

	if (split_host(spec, host, &port) < 0)
		return yconf_msg(msg, len, "expected IP, CIDR or HOSTNAME, optionally :PORT ([IPv6]:PORT)");
	const char *slash = port ? strchr(port, '/') : NULL;
	if (slash) {
		/* :PORT/CHECK, a service check (docs/checks.md) */
		char only[8];
		size_t n = (size_t)(slash - port);
		if (check_kind_parse(slash + 1, strlen(slash + 1)) < 0)
			return yconf_msg(msg, len, "check '" QUOTE "': expected one of connect, tls, ssh, smtp, submission, "
				 "smtps, imap, imaps, pop3, pop3s, ftp, redis, postgres, mysql, http, https, amqp, mongodb, "
				 "memcached, vnc, generic", slash + 1);
		if (n >= sizeof(only))
			return yconf_msg(msg, len, "port '" QUOTE "': expected 1-65535", port);
		memcpy(only, port, n);
		only[n] = '\0';
		if (!port_valid(only))
			return yconf_msg(msg, len, "port '" QUOTE "': expected 1-65535", only);
	} else if (port && !port_valid(port)) {
		return yconf_msg(msg, len, "port '" QUOTE "': expected 1-65535", port);
	}
	return check_host_part(host, cidr_ok, msg, len);
}

static int check_host(const char *s, char *msg, size_t len)
{
	return check_spec(s, true, msg, len);
}

static int check_named_host(const char *s, char *msg, size_t len)
{
	char host[HOST_MAX + 1];
	const char *port;

	if (split_host(s, host, &port) == 0 && port)
		return yconf_msg(msg, len, "no port here: give it in 'port'");
	return check_spec(s, false, msg, len);
}

static int check_canary(const char *s, char *msg, size_t len)
{
	char host[HOST_MAX + 1];
	const char *port;
	struct sw_addr a;

	if (split_host(s, host, &port) < 0 || !port || addr_parse(&a, host) < 0)
		return yconf_msg(msg, len, "expected IP:PORT, like 198.18.0.1:22 or [2001:db8::1]:22");
	return check_spec(s, false, msg, len);
}

static int check_cidr(const char *s, char *msg, size_t len)
{
	struct sw_cidr c;

	if (cidr_parse(&c, s) == 0)
		return 0;
	return yconf_msg(msg, len, "expected an address or CIDR with no host bits set, like 198.18.7.0/24");
}

static int check_addr(const char *s, char *msg, size_t len)
{
	struct sw_addr a;

	if (addr_parse(&a, s) == 0)
		return 0;
	return yconf_msg(msg, len, "expected an IPv4 or IPv6 address, like 198.18.255.1");
}

static int check_ifname(const char *s, char *msg, size_t len)
{
	size_t n = strlen(s);

	if (n > IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strpbrk(s, "/: \t"))
		return yconf_msg(msg, len,
				 "expected an interface name (at most %d characters, no '/', ':' or spaces)",
				 IFNAME_MAX);
	return 0;
}

/* It goes into Redis keys and metric labels: keep it plain. */
static int check_location(const char *s, char *msg, size_t len)
{
	if (!schema_location_ok(s, strlen(s)))
		return yconf_msg(msg, len, "%s", SCHEMA_LOCATION_RULE);
	return 0;
}

/* LOC/NAME by default; any plain id unique in the location will do. */
static int check_prober_id(const char *s, char *msg, size_t len)
{
	if (!*s || strlen(s) > PROBER_ID_MAX || s[strspn(s, HOST_CHARS "/")])
		return yconf_msg(msg, len,
				 "expected letters, digits, '.', '_', '-' or '/' (at most %d), like fra1/probe-2",
				 PROBER_ID_MAX);
	return 0;
}

/* It starts every Redis key: the key layout's own rule (store/schema.h). */
static int check_prefix(const char *s, char *msg, size_t len)
{
	return schema_check_prefix(s, msg, len) < 0 ? -EINVAL : 0;
}

/* A Prometheus label name: [A-Za-z_][A-Za-z0-9_]*. */
static bool label_name_valid(const char *s)
{
	return s[0] && !(s[0] >= '0' && s[0] <= '9') && !s[strspn(s, LABEL_CHARS)];
}

static int criticality_priority(const char *s)
{
	for (size_t i = 0; i < sizeof(criticalities) / sizeof(criticalities[0]); i++)
		if (strcmp(s, criticalities[i].name) == 0)
			return criticalities[i].priority;
	return -1;
}

/* ---- value readers: one per kind of field ---- */

/* The index in f->choices of v's text, into *i; or the error. */
static int parse_choice(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, size_t *i)
{
	const char *t;
	int r;

	if ((r = yconf_want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	for (*i = 0; f->choices[*i]; (*i)++)
		if (strcmp(f->choices[*i], t) == 0)
			return 0;
	return yconf_fail(p, v->start_mark, "%s '" QUOTE "': expected %s", f->key, t, f->what);
}

static int parse_family(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
			struct yconf_scope *s)
{
	static const uint8_t families[] = { TARGET_FAMILY_V4, TARGET_FAMILY_V6,
					    TARGET_FAMILY_V4 | TARGET_FAMILY_V6 };
	size_t i;
	int r;

	(void)s;
	if ((r = parse_choice(p, f, v, &i)) == 0)
		yconf_store_int(base, f, families[i]);
	return r;
}

/* A choice stored as its index in f->choices (metrics:, results:). */
static int parse_choice_index(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
			 struct yconf_scope *s)
{
	size_t i;
	int r;

	(void)s;
	if ((r = parse_choice(p, f, v, &i)) == 0)
		yconf_store_int(base, f, (int64_t)i);
	return r;
}

/* A list of ports and ranges ([22, "8000-8100"]) or one list string
 * ("22,443"). Each item is checked on its own, so that a mistake points at
 * its item; the set is then parsed once, joined. */
static int parse_ports(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		       struct yconf_scope *s)
{
	yaml_node_item_t lone, *items;
	struct portlist one = { 0 }, *out = (struct portlist *)((char *)base + f->off);
	char msg[256], *joined = NULL;
	size_t n, len = 0;
	int r = 0;

	(void)s;
	if (v->type == YAML_MAPPING_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	n = yconf_items(p, v, &lone, &items);
	if (n == 0)
		return yconf_fail(p, v->start_mark, "%s: expected at least one port, got an empty list",
				  f->key);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = yconf_node(p, items[i]);
		const char *t;

		if ((r = yconf_want_text(p, it, f->key, f->what, &t)) < 0)
			goto out;
		if ((r = portlist_parse(&one, t, msg, sizeof(msg))) < 0) {
			r = r == -ENOMEM ? yconf_nomem(p)
					 : yconf_fail(p, it->start_mark, "%s: %s", f->key, msg);
			goto out;
		}
		portlist_release(&one);
		len += strlen(t) + 1;
	}
	if (!(joined = malloc(len))) {
		r = yconf_nomem(p);
		goto out;
	}
	len = 0;
	for (size_t i = 0; i < n; i++)
		len +=
		    (size_t)sprintf(joined + len, "%s%s", i ? "," : "", yconf_text(yconf_node(p, items[i])));
	if ((r = portlist_parse(&one, joined, msg, sizeof(msg))) < 0) {
		r = r == -ENOMEM ? yconf_nomem(p) : yconf_fail(p, v->start_mark, "%s: %s", f->key, msg);
		goto out;
	}
	*out = one;
out:
	free(joined);
	return r;
}

static void free_labels(struct label *v, size_t n)
{
	for (size_t i = 0; i < n && v; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

static int parse_labels(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
			struct yconf_scope *s)
{
	struct config_group *g = base;
	struct label *labels;
	size_t n = 0;
	int r = 0;

	(void)s;
	if (v->type != YAML_MAPPING_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	size_t cap = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	if (!(labels = calloc(cap ? cap : 1, sizeof(*labels))))
		return yconf_nomem(p);
	for (; n < cap; n++) {
		yaml_node_pair_t *pair = &v->data.mapping.pairs.start[n];
		yaml_node_t *k = yconf_node(p, pair->key), *val = yconf_node(p, pair->value);
		const char *key, *value;

		if ((r = yconf_want_text(p, k, f->key, "a label name", &key)) < 0)
			goto out;
		if (!label_name_valid(key)) {
			r = yconf_fail(p, k->start_mark, "label name '" QUOTE "': expected %s", key,
				       "letters, digits and '_', not starting with a digit, like team_name");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (strcmp(labels[i].key, key) == 0) {
				yaml_node_t *first = yconf_node(p, v->data.mapping.pairs.start[i].key);
				r = yconf_fail(p, k->start_mark,
					       "duplicate label '" QUOTE "' (first at line %zu)", key,
					       first->start_mark.line + 1);
				goto out;
			}
		if ((r = yconf_want_text(p, val, key, "a label value", &value)) < 0)
			goto out;
		if (strcmp(key, "criticality") == 0 && criticality_priority(value) < 0) {
			r = yconf_fail(
			    p, val->start_mark,
			    "criticality '" QUOTE "': expected critical, high, normal, medium or low", value);
			goto out;
		}
		labels[n].key = strdup(key);
		labels[n].value = strdup(value);
		if (!labels[n].key || !labels[n].value) {
			n++;
			r = yconf_nomem(p);
			goto out;
		}
	}
	g->labels = labels;
	g->n_labels = n;
	labels = NULL;
out:
	free_labels(labels, n);
	return r;
}

static const struct yconf_field named_fields[] = {
	{ .key = "host", .parse = yconf_str, AT(struct table_named, host), .bit = N_HOST,
	  .check = check_named_host, .what = "an address or hostname, like 198.18.1.5" },
	{ .key = "port", .parse = yconf_uint, AT(struct table_named, port), .bit = N_PORT, .min = 1,
	  .max = 65535, .what = "a port, 1-65535" },
	{ .key = "name", .parse = yconf_str, AT(struct table_named, name), .bit = N_NAME,
	  .what = "a name, like \"Production DB\"" },
	{ .key = "check", .parse = config_parse_check, AT(struct table_named, check), .bit = N_CHECK,
	  .what = "a check, like postgres, or { kind: postgres, ... }" },
};
static const struct yconf_table named_table = TABLE(named_fields);

static void named_release(struct table_named *v, size_t n)
{
	for (size_t i = 0; i < n && v; i++) {
		free(v[i].host);
		free(v[i].name);
		check_spec_unref(v[i].check);
	}
	free(v);
}

static int parse_named(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		       struct yconf_scope *s)
{
	struct config_group *g = base;
	char where[OWNER_MAX + 32];
	int r;

	if (v->type != YAML_SEQUENCE_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	/* owned by the group at once, so that any error below frees it */
	if (!(g->named = calloc(n ? n : 1, sizeof(*g->named))))
		return yconf_nomem(p);
	g->n_named = n;
	snprintf(where, sizeof(where), "in a target of %s", s->owner);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = yconf_node(p, v->data.sequence.items.start[i]);
		struct yconf_scope ts = { .owner = s->owner };

		if (it->type != YAML_MAPPING_NODE)
			return yconf_wrong_type(p, it, f->key, f->what);
		if ((r = yconf_map(p, it, &named_table, &g->named[i], &ts, where)) < 0)
			return r;
		for (size_t k = 0; k < named_table.n; k++)
			if (named_fields[k].bit != N_CHECK && !(ts.set & BIT(named_fields[k].bit)))
				return yconf_fail(p, it->start_mark,
						  "a target of %s has no '%s': expected host, port and name",
						  s->owner, named_fields[k].key);
	}
	return 0;
}

static const char *const family_names[] = { "v4", "v6", "both", NULL };
static const char *const metrics_names[] = { "aggregate", "per_target", NULL };
/* in the order of enum table_results */
static const char *const results_names[] = { "all", "changes", "none", NULL };

#define G(member) AT(struct config_group, member)
/* a plain value of a group that `defaults:` may give */
#define INHERITED(member, b) G(member), .bit = (b), .flags = YCONF_INHERIT
#define TEN_MINUTES (600 * NSEC_PER_SEC)
#define ONE_DAY (24 * 3600 * NSEC_PER_SEC)

static const struct yconf_field latency_fields[] = {
	{ .key = "warn", .parse = yconf_duration, INHERITED(state.warn_ns, G_WARN), .max = TEN_MINUTES,
	  .what = "a duration like 200ms (0: off)" },
	{ .key = "crit", .parse = yconf_duration, INHERITED(state.crit_ns, G_CRIT), .max = TEN_MINUTES,
	  .what = "a duration like 500ms (0: off)" },
	{ .key = "window", .parse = yconf_uint, INHERITED(state.window, G_WINDOW), .min = 1, .max = 32,
	  .what = "a number of probes, 1-32" },
	{ .key = "over", .parse = yconf_uint, INHERITED(state.over, G_OVER), .min = 1, .max = 32,
	  .what = "a number of probes, 1 to window" },
};
static const struct yconf_table latency_table = TABLE(latency_fields);

static const struct yconf_field flapping_fields[] = {
	{ .key = "changes", .parse = yconf_uint, INHERITED(state.flap_changes, G_CHANGES),
	  .max = STATE_MAX_FLAP_CHANGES, .what = "a number of changes (0: off)" },
	{ .key = "window", .parse = yconf_duration, INHERITED(state.flap_window_s, G_FLAP_WINDOW),
	  .min = NSEC_PER_SEC, .max = ONE_DAY, .unit = NSEC_PER_SEC, .what = "a duration like 10m" },
};
static const struct yconf_table flapping_table = TABLE(flapping_fields);
_Static_assert(ONE_DAY / NSEC_PER_SEC <= STATE_MAX_FLAP_WINDOW_S, "the status counts flaps over at most this window");

/* Both `defaults:` and every group; the order is the order messages list
 * the keys in. */
static const struct yconf_field group_fields[] = {
	{ .key = "name", .parse = yconf_str, G(name), .bit = G_NAME, .flags = YCONF_GROUP_ONLY,
	  .what = "a group name" },
	{ .key = "hosts", .parse = yconf_strlist, G(hosts), .off_n = offsetof(struct config_group, n_hosts),
	  .bit = G_HOSTS, .flags = YCONF_GROUP_ONLY, .check = check_host,
	  .what = "a list of hosts (IP, CIDR or HOSTNAME, optionally :PORT)" },
	{ .key = "ports", .parse = parse_ports, G(ports), .bit = G_PORTS, .what = "a list of ports" },
	{ .key = "targets", .parse = parse_named, G(named), .bit = G_TARGETS, .flags = YCONF_GROUP_ONLY,
	  .what = "a list of { host, port, name }" },
	{ .key = "interval", .parse = yconf_duration, INHERITED(interval_ns, G_INTERVAL),
	  .min = 10 * NSEC_PER_MSEC, .max = ONE_DAY, .what = "a duration like 30s, 1m, 5m" },
	{ .key = "timeout", .parse = yconf_duration, INHERITED(timeout_ns, G_TIMEOUT),
	  .min = NSEC_PER_MSEC, .max = TEN_MINUTES, .what = "a duration like 500ms or 1s" },
	{ .key = "retries", .parse = yconf_uint, INHERITED(retries, G_RETRIES), .max = PROBE_MAX_ATTEMPT,
	  .what = "a number of retries" },
	{ .key = "failures", .parse = yconf_uint, INHERITED(state.failures, G_FAILURES), .min = 1, .max = 50,
	  .what = "a number of failed checks" },
	{ .key = "successes", .parse = yconf_uint, INHERITED(state.successes, G_SUCCESSES), .min = 1,
	  .max = 50, .what = "a number of successful checks" },
	{ .key = "latency", .parse = yconf_sub, .bit = G_LATENCY, .sub = &latency_table,
	  .what = "a mapping like { warn: 200ms, crit: 500ms, window: 5, over: 3 }" },
	{ .key = "flapping", .parse = yconf_sub, .bit = G_FLAPPING, .sub = &flapping_table,
	  .what = "a mapping like { changes: 5, window: 10m }" },
	{ .key = "ip", .parse = parse_family, INHERITED(families, G_IP), .choices = family_names,
	  .what = "v4, v6 or both" },
	{ .key = "labels", .parse = parse_labels, .bit = G_LABELS,
	  .what = "a mapping of label names to values, like { team: web }" },
	{ .key = "check", .parse = config_parse_check, G(check), .bit = G_CHECK, .flags = YCONF_GROUP_ONLY,
	  .what = "a check, like postgres, or { kind: postgres, interval: 1m, ... }" },
	{ .key = "metrics", .parse = parse_choice_index, INHERITED(per_target, G_METRICS), .choices = metrics_names,
	  .what = "aggregate (the group's counts and histograms in /metrics) or per_target (series per target too)" },
	{ .key = "results", .parse = parse_choice_index, INHERITED(results, G_RESULTS), .choices = results_names,
	  .what = "all, changes (a target's result when it differs from its last) or none: what goes into "
		  "the results stream" },
};
static const struct yconf_table group_table = TABLE(group_fields);

#undef INHERITED
#undef G

/* ---- the top level ---- */

static int parse_source_ports(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
			      struct yconf_scope *s)
{
	struct config *c = &((struct top *)base)->c;
	char lo_text[8];
	const char *t, *dash;
	uint64_t lo, hi;
	size_t n;
	int r;

	(void)s;
	if ((r = yconf_want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	dash = strchr(t, '-');
	n = dash ? (size_t)(dash - t) : sizeof(lo_text);
	if (n < sizeof(lo_text)) {
		memcpy(lo_text, t, n);
		lo_text[n] = '\0';
	}
	if (n >= sizeof(lo_text) || num_parse_uint(lo_text, 1024, 65535, &lo) < 0 ||
	    num_parse_uint(dash + 1, lo, 65535, &hi) < 0)
		return yconf_fail(p, v->start_mark, "%s '" QUOTE "': expected %s", f->key, t, f->what);
	if (f->bit == T_CHECK_PORTS) {
		c->check_port_lo = (uint16_t)lo;
		c->check_port_hi = (uint16_t)hi;
	} else {
		c->port_lo = (uint16_t)lo;
		c->port_hi = (uint16_t)hi;
	}
	return 0;
}

static int parse_defaults(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
			  struct yconf_scope *s)
{
	struct top *t = base;

	(void)s;
	if (v->type != YAML_MAPPING_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	t->dscope.owner = "'defaults'";
	t->dscope.defaults = true;
	return yconf_map(p, v, &group_table, &t->defaults, &t->dscope, "in 'defaults'");
}

static int parse_groups(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
			struct yconf_scope *s)
{
	(void)s;
	if (v->type != YAML_SEQUENCE_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	if (v->data.sequence.items.top == v->data.sequence.items.start)
		return yconf_fail(p, v->start_mark, "%s: expected at least one group, got an empty list",
				  f->key);
	((struct top *)base)->groups = v;
	return 0;
}

static const char *const output_names[] = { "ndjson", "text", "none", NULL };
static const char *const send_path_names[] = { "auto", "ip", NULL };

#define C(member) AT(struct top, c.member)
#define C_N(member) offsetof(struct top, c.member)

static const struct yconf_field top_fields[] = {
	{ .key = "location", .parse = yconf_str, C(location), .bit = T_LOCATION, .check = check_location,
	  .what = "a location name, like fra1" },
	{ .key = "rate", .parse = yconf_uint, C(rate), .bit = T_RATE, .min = 1, .max = 100000000,
	  .what = "probes per second" },
	{ .key = "source_ports", .parse = parse_source_ports, .bit = T_SOURCE_PORTS,
	  .what = "A-B with 1024 <= A <= B <= 65535, like 61000-61999" },
	{ .key = "interfaces", .parse = yconf_strlist, C(interfaces), .off_n = C_N(n_interfaces),
	  .bit = T_INTERFACES, .check = check_ifname, .what = "a list of interface names" },
	{ .key = "source_ip", .parse = yconf_str, C(source_ip), .bit = T_SOURCE_IP, .check = check_addr,
	  .what = "an address" },
	{ .key = "redis", .parse = yconf_str, C(redis_url), .bit = T_REDIS,
	  .what = "a Redis URL, like unix:///run/synwatch/redis.sock?db=0 or redis://198.18.0.9:6379/0" },
	{ .key = "redis_prefix", .parse = yconf_str, C(redis_prefix), .bit = T_REDIS_PREFIX, .check = check_prefix,
	  .what = "a key prefix, like \"synwatch:\"" },
	{ .key = "output", .parse = yconf_str, C(output), .bit = T_OUTPUT, .choices = output_names,
	  .what = "ndjson, text or none" },
	{ .key = "resolve_interval", .parse = yconf_duration, C(resolve_interval_ns), .bit = T_RESOLVE,
	  .min = NSEC_PER_SEC, .max = ONE_DAY, .what = "a duration like 5m" },
	{ .key = "exclude", .parse = yconf_strlist, C(exclude), .off_n = C_N(n_exclude),
	  .bit = T_EXCLUDE, .check = check_cidr, .what = "a list of CIDRs, like [198.18.7.0/24]" },
	{ .key = "canaries", .parse = yconf_strlist, C(canaries), .off_n = C_N(n_canaries),
	  .bit = T_CANARIES, .check = check_canary, .what = "a list of IP:PORT, like [\"198.18.0.1:22\"]" },
	{ .key = "isolation_share", .parse = yconf_share, C(isolation_share), .bit = T_ISOLATION,
	  .what = "a share greater than 0 and at most 1, like 0.5" },
	{ .key = "defaults", .parse = parse_defaults, .bit = T_DEFAULTS,
	  .what = "a mapping of group settings (interval, ports, labels...)" },
	{ .key = "groups", .parse = parse_groups, .bit = T_GROUPS, .flags = YCONF_REQUIRED,
	  .what = "a list of groups, each with a name and hosts or targets" },
	{ .key = "spill", .parse = yconf_str, C(spill), .bit = T_SPILL,
	  .what = "a file path, like /var/lib/synwatch/spill.log" },
	{ .key = "state_file", .parse = yconf_str, C(state_file), .bit = T_STATE_FILE,
	  .what = "a file path, like /var/lib/synwatch/states.tsv" },
	{ .key = "spill_max", .parse = yconf_size, C(spill_max), .bit = T_SPILL_MAX, .min = 1 << 20,
	  .max = 1ll << 40, .what = "a size like 1G" },
	{ .key = "backlog_memory", .parse = yconf_size, C(backlog_memory), .bit = T_BACKLOG_MEMORY,
	  .min = 1 << 20, .max = 1ll << 40, .what = "a size like 64M" },
	{ .key = "results_maxlen", .parse = yconf_uint, C(results_maxlen), .bit = T_RESULTS_MAXLEN, .min = 100,
	  .max = 1000000000, .what = "entries kept in the results stream" },
	{ .key = "events_maxlen", .parse = yconf_uint, C(events_maxlen), .bit = T_EVENTS_MAXLEN, .min = 100,
	  .max = 1000000000, .what = "entries kept in the events stream" },
	{ .key = "prober_id", .parse = yconf_str, C(prober_id), .bit = T_PROBER_ID, .check = check_prober_id,
	  .what = "this prober's id, unique in its location, like fra1/probe-2" },
	{ .key = "shard", .parse = yconf_bool, C(shard), .bit = T_SHARD, .what = "true or false" },
	{ .key = "latency_retention", .parse = yconf_duration, C(latency_retention_ns), .bit = T_LATENCY_RETENTION,
	  .min = 60 * NSEC_PER_SEC, .max = 3650 * ONE_DAY, .what = "a duration like 168h (7 days)" },
	{ .key = "send_path", .parse = yconf_str, C(send_path), .bit = T_SEND_PATH, .choices = send_path_names,
	  .what = "auto or ip" },
	{ .key = "check_source_ports", .parse = parse_source_ports, .bit = T_CHECK_PORTS,
	  .what = "A-B with 1024 <= A <= B <= 65535, like 61000-61999" },
};
static const struct yconf_table top_table = TABLE(top_fields);

#undef C
#undef C_N

/* ---- groups ---- */

static void group_release(struct config_group *g)
{
	free(g->name);
	yconf_free_strv(g->hosts, g->n_hosts);
	portlist_release(&g->ports);
	named_release(g->named, g->n_named);
	free_labels(g->labels, g->n_labels);
	check_spec_unref(g->check);
	memset(g, 0, sizeof(*g));
}

void config_group_init(struct config_group *g)
{
	*g = (struct config_group){
		.interval_ns = CONFIG_DEFAULT_INTERVAL_NS,
		.timeout_ns = CONFIG_DEFAULT_TIMEOUT_NS,
		.retries = CONFIG_DEFAULT_RETRIES,
		.families = TARGET_FAMILY_V4,
		.priority = CONFIG_DEFAULT_PRIORITY,
		.state = {
			.failures = CONFIG_DEFAULT_FAILURES,
			.successes = CONFIG_DEFAULT_SUCCESSES,
			.window = CONFIG_DEFAULT_LATENCY_WINDOW,
			.over = CONFIG_DEFAULT_LATENCY_OVER,
			.flap_changes = CONFIG_DEFAULT_FLAP_CHANGES,
			.flap_window_s = CONFIG_DEFAULT_FLAP_WINDOW_S,
		},
	};
}

static void inherit_values(const struct yconf_table *t, const struct config_group *d,
			   const struct yconf_scope *ds, struct config_group *g, struct yconf_scope *gs)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct yconf_field *f = &t->v[i];

		if (f->sub)
			inherit_values(f->sub, d, ds, g, gs);
		if (!(f->flags & YCONF_INHERIT) || (gs->set & BIT(f->bit)) || !(ds->set & BIT(f->bit)))
			continue;
		memcpy((char *)g + f->off, (const char *)d + f->off, f->size);
		gs->set |= BIT(f->bit);
		gs->mark[f->bit] = ds->mark[f->bit];
	}
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

/* The group's labels, then those of `defaults:` it does not set; sorted. */
static int merge_labels(struct config_group *g, const struct config_group *d)
{
	size_t own = g->n_labels;
	struct label *v = realloc(g->labels, (own + d->n_labels + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	g->labels = v;
	for (size_t i = 0; i < d->n_labels; i++) {
		if (config_label(&(struct config_group){ .labels = v, .n_labels = own }, d->labels[i].key))
			continue;
		char *key = strdup(d->labels[i].key), *value = strdup(d->labels[i].value);
		if (!key || !value) {
			free(key);
			free(value);
			return -ENOMEM;
		}
		v[g->n_labels++] = (struct label){ key, value };
	}
	qsort(v, g->n_labels, sizeof(*v), label_cmp);
	const char *crit = config_label(g, "criticality");
	g->priority = crit ? (uint8_t)criticality_priority(crit) : CONFIG_DEFAULT_PRIORITY;
	return 0;
}

static int inherit(struct config_group *g, struct yconf_scope *gs, const struct config_group *d,
		   const struct yconf_scope *ds)
{
	inherit_values(&group_table, d, ds, g, gs);
	if (!(gs->set & BIT(G_PORTS)) && d->ports.n) {
		if (!(g->ports.ports = malloc(d->ports.n * sizeof(*g->ports.ports))))
			return -ENOMEM;
		memcpy(g->ports.ports, d->ports.ports, d->ports.n * sizeof(*g->ports.ports));
		g->ports.n = d->ports.n;
		gs->set |= BIT(G_PORTS);
		gs->mark[G_PORTS] = ds->mark[G_PORTS];
	}
	return merge_labels(g, d);
}

static bool spec_has_port(const char *spec)
{
	char host[HOST_MAX + 1];
	const char *port;

	return split_host(spec, host, &port) == 0 && port;
}

/* The checks on a group's final values; *fields gets the bits of the
 * fields at fault (0: the group as a whole), and a message points at the
 * lowest of them that was given: the enum puts the likelier culprit first. */
static int group_check(const struct config_group *g, uint32_t *fields, char *msg, size_t len)
{
	const struct state_params *st = &g->state;
	char a[32], b[32], c[32];

	*fields = 0;
	if (g->n_hosts == 0 && g->n_named == 0)
		return yconf_msg(msg, len, "nothing to probe: give 'hosts' (with 'ports') or 'targets'");
	for (size_t i = 0; i < g->n_hosts && g->ports.n == 0; i++)
		if (!spec_has_port(g->hosts[i]))
			return yconf_msg(msg, len,
					 "host '" QUOTE
					 "' has no port and there are no 'ports': hosts need ports "
					 "(give 'ports' in the group or in defaults, or write HOST:PORT)",
					 g->hosts[i]);
	int64_t check_ns = g->timeout_ns * (g->retries + 1);
	if (check_ns >= g->interval_ns) {
		*fields = BIT(G_INTERVAL) | BIT(G_TIMEOUT) | BIT(G_RETRIES);
		return yconf_msg(
		    msg, len,
		    "interval %s is too short: timeout %s x (retries %u + 1) = %s, and a check must "
		    "finish before the next one is due (raise interval or lower timeout or retries)",
		    num_duration_text(g->interval_ns, a, sizeof(a)),
		    num_duration_text(g->timeout_ns, b, sizeof(b)), g->retries,
		    num_duration_text(check_ns, c, sizeof(c)));
	}
	if (st->warn_ns && st->crit_ns && st->crit_ns < st->warn_ns) {
		*fields = BIT(G_CRIT) | BIT(G_WARN);
		return yconf_msg(msg, len, "latency crit %s is below warn %s: expected crit >= warn",
				 num_duration_text(st->crit_ns, a, sizeof(a)),
				 num_duration_text(st->warn_ns, b, sizeof(b)));
	}
	if (st->over > st->window) {
		*fields = BIT(G_WINDOW) | BIT(G_OVER);
		return yconf_msg(msg, len,
				 "latency over %u is more than window %u: expected 1 <= over <= window",
				 st->over, st->window);
	}
	return 0;
}

int config_group_check(const struct config_group *g, char *err, size_t errlen)
{
	uint32_t fields;

	return group_check(g, &fields, err, errlen);
}

static int build_group(struct yconf *p, struct top *t, yaml_node_t *v, size_t i, yaml_mark_t *name_marks)
{
	struct config_group *g = &t->c.groups[i];
	char owner[OWNER_MAX], where[OWNER_MAX + 8], msg[512];
	struct yconf_scope s = { .owner = owner };
	uint32_t fields;
	int r;

	if (v->type != YAML_MAPPING_NODE)
		return yconf_wrong_type(p, v, "groups",
					"a list of groups, each a mapping with name, hosts, ports...");
	/* the name first, so that every message can say which group */
	snprintf(owner, sizeof(owner), "group #%zu", i + 1);
	for (yaml_node_pair_t *pair = v->data.mapping.pairs.start; pair < v->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yconf_node(p, pair->key), *val = yconf_node(p, pair->value);
		if (k->type == YAML_SCALAR_NODE && strcmp(yconf_text(k), "name") == 0 &&
		    val->type == YAML_SCALAR_NODE && !yconf_is_null(val))
			snprintf(owner, sizeof(owner), "group '%.100s'", yconf_text(val));
	}
	snprintf(where, sizeof(where), "in %s", owner);
	if ((r = yconf_map(p, v, &group_table, g, &s, where)) < 0)
		return r;
	if (!g->name)
		return yconf_fail(p, v->start_mark, "%s has no 'name': every group needs a unique name",
				  owner);
	for (size_t j = 0; j < i; j++)
		if (strcmp(t->c.groups[j].name, g->name) == 0)
			return yconf_fail(p, s.mark[G_NAME],
					  "duplicate group name '" QUOTE "' (first at line %zu)", g->name,
					  name_marks[j].line + 1);
	name_marks[i] = s.mark[G_NAME];
	if ((r = inherit(g, &s, &t->defaults, &t->dscope)) < 0)
		return yconf_nomem(p);
	if (group_check(g, &fields, msg, sizeof(msg)) < 0) {
		yaml_mark_t at = v->start_mark;
		for (int b = 0; b < 32; b++)
			if (fields & s.set & BIT(b)) {
				at = s.mark[b];
				break;
			}
		return yconf_fail(p, at, "%s: %s", owner, msg);
	}
	return 0;
}

static int build_groups(struct yconf *p, struct top *t)
{
	yaml_node_t *seq = t->groups;
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	yaml_mark_t *name_marks = calloc(n, sizeof(*name_marks));
	int r = 0;

	if (!name_marks || !(t->c.groups = calloc(n, sizeof(*t->c.groups)))) {
		r = yconf_nomem(p);
		goto out;
	}
	t->c.n_groups = n;
	for (size_t i = 0; i < n; i++)
		config_group_init(&t->c.groups[i]);
	for (size_t i = 0; i < n && r == 0; i++)
		r = build_group(p, t, yconf_node(p, seq->data.sequence.items.start[i]), i, name_marks);
out:
	free(name_marks);
	return r;
}

/* ---- entry points ---- */

int config_init(struct config *c)
{
	char host[256];

	*c = (struct config){
		.rate = CONFIG_DEFAULT_RATE,
		.port_lo = CONFIG_DEFAULT_PORT_LO,
		.port_hi = CONFIG_DEFAULT_PORT_HI,
		.check_port_lo = CONFIG_DEFAULT_CHECK_PORT_LO,
		.check_port_hi = CONFIG_DEFAULT_CHECK_PORT_HI,
		.resolve_interval_ns = CONFIG_DEFAULT_RESOLVE_NS,
		.isolation_share = CONFIG_DEFAULT_ISOLATION_SHARE,
		.results_maxlen = CONFIG_DEFAULT_RESULTS_MAXLEN,
		.events_maxlen = CONFIG_DEFAULT_EVENTS_MAXLEN,
		.latency_retention_ns = CONFIG_DEFAULT_LATENCY_RETENTION_NS,
		.shard = true,
	};
	if (gethostname(host, sizeof(host)) < 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	c->location = strdup(host);
	c->redis_prefix = strdup(CONFIG_DEFAULT_PREFIX);
	if (!c->location || !c->redis_prefix) {
		config_release(c);
		return -ENOMEM;
	}
	return 0;
}

static int build_top(struct yconf *p, yaml_node_t *root, void *ctx, struct yconf_scope *s)
{
	(void)root;
	(void)s;
	return build_groups(p, ctx);
}

static int begin_top(struct yconf *p, void *ctx)
{
	struct top *t = ctx;

	config_group_init(&t->defaults);
	if (config_init(&t->c) < 0 || !(t->c.path = strdup(p->path)))
		return yconf_nomem(p);
	return 0;
}

static void release(void *c)
{
	config_release(c);
}

static void end_top(void *ctx)
{
	group_release(&((struct top *)ctx)->defaults);
}

static const struct yconf_format format = {
	.what = "settings with at least 'groups'",
	.max = CONFIG_MAX_BYTES,
	.out_size = sizeof(struct config),
	.out_off = offsetof(struct top, c),
	.top = &top_table,
	.top_what = "a mapping of settings (location, rate, groups...)",
	.begin = begin_top,
	.build = build_top,
	.release = release,
	.end = end_top,
};

int config_parse(struct config *out, const char *text, size_t len, const char *path, char *err, size_t errlen)
{
	struct top t = { 0 };

	return yconf_parse(&format, &t, out, text, len, path, err, errlen);
}

int config_load(struct config *out, const char *path, char *err, size_t errlen)
{
	struct top t = { 0 };

	return yconf_load(&format, &t, out, path, err, errlen);
}

void config_release(struct config *c)
{
	free(c->path);
	free(c->location);
	free(c->prober_id);
	yconf_free_strv(c->interfaces, c->n_interfaces);
	free(c->source_ip);
	free(c->redis_url);
	free(c->redis_prefix);
	free(c->spill);
	free(c->state_file);
	free(c->output);
	free(c->send_path);
	yconf_free_strv(c->exclude, c->n_exclude);
	yconf_free_strv(c->canaries, c->n_canaries);
	for (size_t i = 0; i < c->n_groups; i++)
		group_release(&c->groups[i]);
	free(c->groups);
	memset(c, 0, sizeof(*c));
}

const char *config_label(const struct config_group *g, const char *key)
{
	for (size_t i = 0; i < g->n_labels; i++)
		if (strcmp(g->labels[i].key, key) == 0)
			return g->labels[i].value;
	return NULL;
}

int config_build_table(struct table **out, const struct config *cfg, const struct exclude_list *ex,
		       const struct table *prev, const struct table_extra *extra, char *err, size_t errlen)
{
	struct table_spec spec = { 0 };
	struct table_spec_group *groups = NULL;
	struct table_named *plain = NULL; /* the groups' named targets without a check of their own */
	size_t n = 0, total = 0, n_plain = 0;
	int r;

	if (cfg) {
		/* a named target with a check of its own is a group of its own
		 * (same name and settings, that check), right after its group */
		for (size_t i = 0; i < cfg->n_groups; i++) {
			total++;
			for (size_t k = 0; k < cfg->groups[i].n_named; k++)
				total += cfg->groups[i].named[k].check != NULL;
			n_plain += cfg->groups[i].n_named;
		}
		groups = calloc(total ? total : 1, sizeof(*groups));
		plain = calloc(n_plain ? n_plain : 1, sizeof(*plain));
		if (!groups || !plain) {
			free(groups);
			free(plain);
			snprintf(err, errlen, "cannot build the target table: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
		n_plain = 0;
		for (size_t i = 0; i < cfg->n_groups; i++) {
			const struct config_group *g = &cfg->groups[i];
			struct table_spec_group *main = &groups[n++];
			*main = (struct table_spec_group){
				.settings = config_group_settings(g),
				.hosts = g->hosts,
				.n_hosts = g->n_hosts,
				.ports = &g->ports,
				.named = plain + n_plain,
				.families = g->families,
			};
			for (size_t k = 0; k < g->n_named; k++) {
				if (!g->named[k].check) {
					plain[n_plain++] = g->named[k];
					main->n_named++;
					continue;
				}
				groups[n] = *main;
				groups[n].settings.check = g->named[k].check;
				groups[n].hosts = NULL;
				groups[n].n_hosts = 0;
				groups[n].named = &g->named[k];
				groups[n].n_named = 1;
				n++;
			}
		}
		spec = (struct table_spec){ .location = cfg->location, .groups = groups, .n_groups = n };
	}
	r = table_build_with(out, cfg ? &spec : NULL, ex, prev, extra, err, errlen);
	free(groups);
	free(plain);
	return r;
}

struct table_group config_group_settings(const struct config_group *g)
{
	return (struct table_group){
		.name = g->name,
		.labels = g->labels,
		.n_labels = g->n_labels,
		.interval_ns = g->interval_ns,
		.timeout_ns = g->timeout_ns,
		.retries = g->retries,
		.priority = g->priority,
		.per_target = g->per_target,
		.results = g->results,
		.state = g->state,
		.check = g->check,
	};
}
