/* The YAML configuration. libyaml's document API loads the text into a node
 * tree that keeps where every node starts; tables of fields (top level,
 * group, latency, flapping, named target) then say which keys a mapping may
 * have, how each value is read and where it goes, so that unknown keys,
 * duplicate keys and wrong types are handled once for all of them.
 *
 * Groups inherit from `defaults:` field by field (latency.warn alone, say),
 * so a scope records which fields a mapping gave and where: inheritance
 * copies what the group left out, and the checks that need the final values
 * (timeout x attempts < interval) point at the line a culprit came from,
 * even when that line is in `defaults:`.
 *
 * Aliases (*name) work: libyaml shares the anchored node, and the walk only
 * descends where a table says so, so a cyclic alias cannot loop it. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "common/addr.h"
#include "common/clock.h"
#include "common/probe.h"
#include "engine/config.h"

/* A configuration is kilobytes; this stops a wrong path (a disk image,
 * /dev/zero) from being read into memory. */
#define CONFIG_MAX_BYTES (16 << 20)
/* DNS names are at most 253 characters (RFC 1035). */
#define HOST_MAX 255
/* Interface names: IFNAMSIZ less the NUL. */
#define IFNAME_MAX 15
#define LOCATION_MAX 64
#define OWNER_MAX 128
/* How much of a user's value a message quotes. */
#define QUOTE "%.80s"
#define LABEL_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
/* hostnames and locations */
#define HOST_CHARS LABEL_CHARS "-."

struct parser {
	yaml_document_t *doc;
	const char *path;
	char *err;
	size_t errlen;
};

/* What one mapping (and the mappings nested in it) gave. */
struct scope {
	const char *owner;        /* "group 'db'", "'defaults'": for messages */
	bool defaults;            /* group-only keys are refused */
	uint32_t set;             /* bit b: field b was given (or inherited) */
	yaml_mark_t mark[32];     /* ... and where its value starts */
};

struct field;

struct table {
	const struct field *v;
	size_t n;
};

struct field {
	const char *key;
	int (*parse)(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s);
	size_t off;       /* of the value in base */
	size_t off_n;     /* lists: of their element count */
	uint8_t size;     /* integers: their size at off */
	uint8_t bit;      /* in struct scope */
	uint8_t flags;    /* FIELD_* */
	int64_t min, max; /* numbers and durations (ns) */
	int64_t unit;     /* durations: stored as ns / unit (0: ns) */
	const struct table *sub;
	const char *const *choices; /* NULL-terminated */
	int (*check)(const char *s, char *msg, size_t len);
	const char *what; /* what a value looks like, for messages */
};

#define FIELD_GROUP_ONLY 1 /* not in `defaults:` */
#define FIELD_INHERIT 2    /* a plain value, copied from `defaults:` when a group leaves it out */

#define BIT(b) (1u << (b))
#define AT(type, member) .off = offsetof(type, member), .size = sizeof(((type *)0)->member)
#define TABLE(fields) { fields, sizeof(fields) / sizeof(fields[0]) }

enum {
	G_NAME, G_HOSTS, G_PORTS, G_TARGETS, G_INTERVAL, G_TIMEOUT, G_RETRIES, G_FAILURES, G_SUCCESSES,
	G_LATENCY, G_CRIT, G_WARN, G_OVER, G_WINDOW, G_FLAPPING, G_CHANGES, G_FLAP_WINDOW, G_IP, G_LABELS,
};

enum {
	T_LOCATION, T_RATE, T_SOURCE_PORTS, T_INTERFACES, T_SOURCE_IP, T_REDIS, T_REDIS_PREFIX, T_OUTPUT,
	T_RESOLVE, T_EXCLUDE, T_CANARIES, T_ISOLATION, T_DEFAULTS, T_GROUPS,
};

enum { N_HOST, N_PORT, N_NAME };

/* The top level as it is read: `groups` waits until `defaults` is known,
 * wherever the two stand in the file. */
struct top {
	struct config c;
	struct config_group defaults;
	struct scope dscope;
	yaml_node_t *groups;
};

static const struct {
	const char *name;
	uint8_t priority;
} criticalities[] = {
	{ "critical", 3 }, { "high", 2 }, { "normal", 1 }, { "medium", 1 }, { "low", 0 },
};

/* ---- messages ---- */

__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || p->errlen == 0)
		return -EINVAL;
	n = snprintf(p->err, p->errlen, "%s:%zu:%zu: ", p->path, m.line + 1, m.column + 1);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* one line, whatever the quoted values hold */
	for (char *c = p->err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -EINVAL;
}

static int fail_nomem(struct parser *p)
{
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s: out of memory", p->path);
	return -ENOMEM;
}

__attribute__((format(printf, 3, 4))) static int set_msg(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (msg && len) {
		va_start(ap, fmt);
		vsnprintf(msg, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Durations as a user writes them: the largest unit that divides exactly. */
static const char *fmt_duration(int64_t ns, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {
		{ "h", 3600 * NSEC_PER_SEC }, { "m", 60 * NSEC_PER_SEC }, { "s", NSEC_PER_SEC },
		{ "ms", NSEC_PER_MSEC },      { "us", NSEC_PER_USEC },    { "ns", 1 },
	};
	size_t i = 0;

	if (ns == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	while (ns % units[i].ns)
		i++;
	snprintf(buf, len, "%lld%s", (long long)(ns / units[i].ns), units[i].unit);
	return buf;
}

/* ---- nodes ---- */

static yaml_node_t *node_at(struct parser *p, int index)
{
	return yaml_document_get_node(p->doc, index);
}

static const char *text_of(const yaml_node_t *v)
{
	return (const char *)v->data.scalar.value;
}

/* A plain ~, null or nothing: YAML's null, which no key takes (leave the
 * key out for its default). */
static bool is_null(const yaml_node_t *v)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(text_of(v), nulls[i]) == 0)
			return true;
	return false;
}

static const char *got(const yaml_node_t *v, char *buf, size_t len)
{
	if (v->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (v->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (is_null(v))
		return "nothing";
	snprintf(buf, len, "'%.40s'", text_of(v));
	return buf;
}

static int wrong_type(struct parser *p, const yaml_node_t *v, const char *key, const char *what)
{
	char buf[64];

	return fail(p, v->start_mark, "%s: expected %s, got %s", key, what, got(v, buf, sizeof(buf)));
}

/* The text of a scalar that says something: not null, not empty, no NUL. */
static int want_text(struct parser *p, const yaml_node_t *v, const char *key, const char *what,
		     const char **out)
{
	if (v->type != YAML_SCALAR_NODE || is_null(v))
		return wrong_type(p, v, key, what);
	if (v->data.scalar.length == 0)
		return fail(p, v->start_mark, "%s: expected %s, got an empty string", key, what);
	if (strlen(text_of(v)) != v->data.scalar.length)
		return fail(p, v->start_mark, "%s: a NUL character in the value: expected %s", key, what);
	*out = text_of(v);
	return 0;
}

/* The items of a list, or a lone scalar as a list of one. */
static size_t items_of(yaml_node_t *v, yaml_node_item_t *lone, yaml_node_item_t **items)
{
	if (v->type == YAML_SEQUENCE_NODE) {
		*items = v->data.sequence.items.start;
		return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	}
	*items = lone;
	return 1;
}

static void *slot(void *base, const struct field *f)
{
	return (char *)base + f->off;
}

static void store_int(void *base, const struct field *f, int64_t v)
{
	void *dst = slot(base, f);
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (f->size) {
	case 1: memcpy(dst, &u8, 1); break;
	case 2: memcpy(dst, &u16, 2); break;
	case 4: memcpy(dst, &u32, 4); break;
	default: memcpy(dst, &v, 8); break;
	}
}

/* ---- value syntax ---- */

/* Decimal digits only: no sign, no spaces, no 0x. */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static bool port_valid(const char *s)
{
	uint64_t v;

	return parse_u64(s, &v) && v >= 1 && v <= 65535;
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
			return set_msg(msg, len, "expected an address or hostname, not a CIDR");
		if (cidr_parse(&c, host) == 0)
			return 0;
		return set_msg(msg, len,
			       "not a CIDR (expected ADDRESS/PREFIX, no host bits set, like 198.18.1.0/24)");
	}
	if (addr_parse(&a, host) == 0)
		return 0;
	if (strchr(host, ':'))
		return set_msg(msg, len, "not an IPv6 address");
	/* digits and dots that are no address: "198.18.1", "198.18.0.256" */
	if (!host[strspn(host, "0123456789.")])
		return set_msg(msg, len,
			       "not an IPv4 address (expected four numbers 0-255, like 198.18.0.1)");
	if (!hostname_valid(host))
		return set_msg(msg, len, "expected an address, CIDR or hostname (letters, digits, '-', '.')");
	return 0;
}

static int check_spec(const char *spec, bool cidr_ok, char *msg, size_t len)
{
	char host[HOST_MAX + 1];
	const char *port;

	if (split_host(spec, host, &port) < 0)
		return set_msg(msg, len, "expected IP, CIDR or HOSTNAME, optionally :PORT ([IPv6]:PORT)");
	if (port && !port_valid(port))
		return set_msg(msg, len, "port '" QUOTE "': expected 1-65535", port);
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
		return set_msg(msg, len, "no port here: give it in 'port'");
	return check_spec(s, false, msg, len);
}

static int check_canary(const char *s, char *msg, size_t len)
{
	char host[HOST_MAX + 1];
	const char *port;
	struct sw_addr a;

	if (split_host(s, host, &port) < 0 || !port || addr_parse(&a, host) < 0)
		return set_msg(msg, len, "expected IP:PORT, like 198.18.0.1:22 or [2001:db8::1]:22");
	return check_spec(s, false, msg, len);
}

static int check_cidr(const char *s, char *msg, size_t len)
{
	struct sw_cidr c;

	if (cidr_parse(&c, s) == 0)
		return 0;
	return set_msg(msg, len, "expected an address or CIDR with no host bits set, like 198.18.7.0/24");
}

static int check_addr(const char *s, char *msg, size_t len)
{
	struct sw_addr a;

	if (addr_parse(&a, s) == 0)
		return 0;
	return set_msg(msg, len, "expected an IPv4 or IPv6 address, like 198.18.255.1");
}

static int check_ifname(const char *s, char *msg, size_t len)
{
	size_t n = strlen(s);

	if (n > IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strpbrk(s, "/: \t"))
		return set_msg(msg, len,
			       "expected an interface name (at most %d characters, no '/', ':' or spaces)",
			       IFNAME_MAX);
	return 0;
}

/* It goes into Redis keys and metric labels: keep it plain. */
static int check_location(const char *s, char *msg, size_t len)
{
	if (strlen(s) > LOCATION_MAX || s[strspn(s, HOST_CHARS)])
		return set_msg(msg, len, "expected letters, digits, '.', '_' or '-' (at most %d), like fra1",
			       LOCATION_MAX);
	return 0;
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

static int parse_uint(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	const char *t;
	uint64_t x;
	int r;

	(void)s;
	if ((r = want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	if (!parse_u64(t, &x) || x < (uint64_t)f->min || x > (uint64_t)f->max)
		return fail(p, v->start_mark, "%s '" QUOTE "': expected a whole number from %lld to %lld",
			    f->key, t, (long long)f->min, (long long)f->max);
	store_int(base, f, (int64_t)x);
	return 0;
}

static int parse_duration(struct parser *p, const struct field *f, yaml_node_t *v, void *base,
			  struct scope *s)
{
	char lo[32], hi[32];
	const char *t;
	int64_t ns;
	int r;

	(void)s;
	if ((r = want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	if (duration_parse(t, &ns) < 0)
		return fail(p, v->start_mark, "%s '" QUOTE "': expected %s", f->key, t, f->what);
	if (ns < f->min || ns > f->max)
		return fail(p, v->start_mark, "%s '" QUOTE "': expected a duration from %s to %s", f->key, t,
			    fmt_duration(f->min, lo, sizeof(lo)), fmt_duration(f->max, hi, sizeof(hi)));
	store_int(base, f, f->unit ? ns / f->unit : ns);
	return 0;
}

static int parse_share(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	const char *t;
	char *end;
	int r;

	(void)s;
	if ((r = want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	errno = 0;
	double x = strtod(t, &end);
	if (errno || *end || !(x > 0 && x <= 1))
		return fail(p, v->start_mark, "%s '" QUOTE "': expected %s", f->key, t, f->what);
	memcpy(slot(base, f), &x, sizeof(x));
	return 0;
}

static int parse_str(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	char msg[256];
	const char *t;
	char *copy, **dst = slot(base, f);
	size_t i;
	int r;

	(void)s;
	if ((r = want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	if (f->choices) {
		for (i = 0; f->choices[i] && strcmp(f->choices[i], t) != 0; i++)
			;
		if (!f->choices[i])
			return fail(p, v->start_mark, "%s '" QUOTE "': expected %s", f->key, t, f->what);
	}
	if (f->check && f->check(t, msg, sizeof(msg)) < 0)
		return fail(p, v->start_mark, "%s '" QUOTE "': %s", f->key, t, msg);
	if (!(copy = strdup(t)))
		return fail_nomem(p);
	free(*dst); /* a built-in default such as the host name */
	*dst = copy;
	return 0;
}

static int parse_family(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	static const uint8_t families[] = { TARGET_FAMILY_V4, TARGET_FAMILY_V6,
					    TARGET_FAMILY_V4 | TARGET_FAMILY_V6 };
	const char *t;
	int r;

	(void)s;
	if ((r = want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	for (size_t i = 0; f->choices[i]; i++)
		if (strcmp(f->choices[i], t) == 0) {
			store_int(base, f, families[i]);
			return 0;
		}
	return fail(p, v->start_mark, "%s '" QUOTE "': expected %s", f->key, t, f->what);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n && v; i++)
		free(v[i]);
	free(v);
}

/* A list of checked strings; a lone string is a list of one. */
static int parse_strlist(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	yaml_node_item_t lone = (yaml_node_item_t)(v - p->doc->nodes.start + 1), *items;
	char msg[256], **list = NULL;
	size_t n = 0, cap;
	int r = 0;

	(void)s;
	if (v->type == YAML_MAPPING_NODE)
		return wrong_type(p, v, f->key, f->what);
	cap = items_of(v, &lone, &items);
	if (!(list = calloc(cap ? cap : 1, sizeof(*list))))
		return fail_nomem(p);
	for (; n < cap; n++) {
		yaml_node_t *it = node_at(p, items[n]);
		const char *t;

		if ((r = want_text(p, it, f->key, f->what, &t)) < 0)
			goto out;
		if (f->check && f->check(t, msg, sizeof(msg)) < 0) {
			r = fail(p, it->start_mark, "%s '" QUOTE "': %s", f->key, t, msg);
			goto out;
		}
		if (!(list[n] = strdup(t))) {
			r = fail_nomem(p);
			goto out;
		}
	}
	memcpy(slot(base, f), &list, sizeof(list));
	memcpy((char *)base + f->off_n, &n, sizeof(n));
	list = NULL;
out:
	free_strv(list, n);
	return r;
}

/* A list of ports and ranges ([22, "8000-8100"]) or one list string
 * ("22,443"). Each item is checked on its own, so that a mistake points at
 * its item; the set is then parsed once, joined. */
static int parse_ports(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	yaml_node_item_t lone = (yaml_node_item_t)(v - p->doc->nodes.start + 1), *items;
	struct portlist one = { 0 }, *out = slot(base, f);
	char msg[256], *joined = NULL;
	size_t n, len = 0;
	int r = 0;

	(void)s;
	if (v->type == YAML_MAPPING_NODE)
		return wrong_type(p, v, f->key, f->what);
	n = items_of(v, &lone, &items);
	if (n == 0)
		return fail(p, v->start_mark, "%s: expected at least one port, got an empty list", f->key);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = node_at(p, items[i]);
		const char *t;

		if ((r = want_text(p, it, f->key, f->what, &t)) < 0)
			goto out;
		if ((r = portlist_parse(&one, t, msg, sizeof(msg))) < 0) {
			r = r == -ENOMEM ? fail_nomem(p) : fail(p, it->start_mark, "%s: %s", f->key, msg);
			goto out;
		}
		portlist_release(&one);
		len += strlen(t) + 1;
	}
	if (!(joined = malloc(len))) {
		r = fail_nomem(p);
		goto out;
	}
	len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(joined + len, "%s%s", i ? "," : "", text_of(node_at(p, items[i])));
	if ((r = portlist_parse(&one, joined, msg, sizeof(msg))) < 0) {
		r = r == -ENOMEM ? fail_nomem(p) : fail(p, v->start_mark, "%s: %s", f->key, msg);
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

static int parse_labels(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	struct config_group *g = base;
	struct label *labels;
	size_t n = 0;
	int r = 0;

	(void)s;
	if (v->type != YAML_MAPPING_NODE)
		return wrong_type(p, v, f->key, f->what);
	size_t cap = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	if (!(labels = calloc(cap ? cap : 1, sizeof(*labels))))
		return fail_nomem(p);
	for (; n < cap; n++) {
		yaml_node_pair_t *pair = &v->data.mapping.pairs.start[n];
		yaml_node_t *k = node_at(p, pair->key), *val = node_at(p, pair->value);
		const char *key, *value;

		if ((r = want_text(p, k, f->key, "a label name", &key)) < 0)
			goto out;
		if (!label_name_valid(key)) {
			r = fail(p, k->start_mark, "label name '" QUOTE "': expected %s", key,
				 "letters, digits and '_', not starting with a digit, like team_name");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (strcmp(labels[i].key, key) == 0) {
				yaml_node_t *first = node_at(p, v->data.mapping.pairs.start[i].key);
				r = fail(p, k->start_mark, "duplicate label '" QUOTE "' (first at line %zu)",
					 key, first->start_mark.line + 1);
				goto out;
			}
		if ((r = want_text(p, val, key, "a label value", &value)) < 0)
			goto out;
		if (strcmp(key, "criticality") == 0 && criticality_priority(value) < 0) {
			r = fail(p, val->start_mark,
				 "criticality '" QUOTE "': expected critical, high, normal, medium or low",
				 value);
			goto out;
		}
		labels[n].key = strdup(key);
		labels[n].value = strdup(value);
		if (!labels[n].key || !labels[n].value) {
			n++;
			r = fail_nomem(p);
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

static int parse_map(struct parser *p, yaml_node_t *map, const struct table *t, void *base, struct scope *s,
		     const char *where);

static int parse_sub(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	char where[OWNER_MAX + 64];

	if (v->type != YAML_MAPPING_NODE)
		return wrong_type(p, v, f->key, f->what);
	snprintf(where, sizeof(where), "in '%s' of %s", f->key, s->owner);
	return parse_map(p, v, f->sub, base, s, where);
}

static const struct field named_fields[] = {
	{ .key = "host", .parse = parse_str, AT(struct config_named, host), .bit = N_HOST,
	  .check = check_named_host, .what = "an address or hostname, like 198.18.1.5" },
	{ .key = "port", .parse = parse_uint, AT(struct config_named, port), .bit = N_PORT, .min = 1,
	  .max = 65535, .what = "a port, 1-65535" },
	{ .key = "name", .parse = parse_str, AT(struct config_named, name), .bit = N_NAME,
	  .what = "a name, like \"Production DB\"" },
};
static const struct table named_table = TABLE(named_fields);

static void named_release(struct config_named *v, size_t n)
{
	for (size_t i = 0; i < n && v; i++) {
		free(v[i].host);
		free(v[i].name);
	}
	free(v);
}

static int parse_named(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	struct config_group *g = base;
	char where[OWNER_MAX + 32];
	int r;

	if (v->type != YAML_SEQUENCE_NODE)
		return wrong_type(p, v, f->key, f->what);
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	/* owned by the group at once, so that any error below frees it */
	if (!(g->named = calloc(n ? n : 1, sizeof(*g->named))))
		return fail_nomem(p);
	g->n_named = n;
	snprintf(where, sizeof(where), "in a target of %s", s->owner);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = node_at(p, v->data.sequence.items.start[i]);
		struct scope ts = { .owner = s->owner };

		if (it->type != YAML_MAPPING_NODE)
			return wrong_type(p, it, f->key, f->what);
		if ((r = parse_map(p, it, &named_table, &g->named[i], &ts, where)) < 0)
			return r;
		for (size_t k = 0; k < named_table.n; k++)
			if (!(ts.set & BIT(named_fields[k].bit)))
				return fail(p, it->start_mark,
					    "a target of %s has no '%s': expected host, port and name",
					    s->owner, named_fields[k].key);
	}
	return 0;
}

static const char *const family_names[] = { "v4", "v6", "both", NULL };

#define G(member) AT(struct config_group, member)
/* a plain value of a group that `defaults:` may give */
#define INHERITED(member, b) G(member), .bit = (b), .flags = FIELD_INHERIT
#define TEN_MINUTES (600 * NSEC_PER_SEC)
#define ONE_DAY (24 * 3600 * NSEC_PER_SEC)

static const struct field latency_fields[] = {
	{ .key = "warn", .parse = parse_duration, INHERITED(state.warn_ns, G_WARN), .max = TEN_MINUTES,
	  .what = "a duration like 200ms (0: off)" },
	{ .key = "crit", .parse = parse_duration, INHERITED(state.crit_ns, G_CRIT), .max = TEN_MINUTES,
	  .what = "a duration like 500ms (0: off)" },
	{ .key = "window", .parse = parse_uint, INHERITED(state.window, G_WINDOW), .min = 1, .max = 32,
	  .what = "a number of probes, 1-32" },
	{ .key = "over", .parse = parse_uint, INHERITED(state.over, G_OVER), .min = 1, .max = 32,
	  .what = "a number of probes, 1 to window" },
};
static const struct table latency_table = TABLE(latency_fields);

static const struct field flapping_fields[] = {
	{ .key = "changes", .parse = parse_uint, INHERITED(state.flap_changes, G_CHANGES),
	  .max = STATE_MAX_FLAP_CHANGES, .what = "a number of changes (0: off)" },
	{ .key = "window", .parse = parse_duration, INHERITED(state.flap_window_s, G_FLAP_WINDOW),
	  .min = NSEC_PER_SEC, .max = ONE_DAY, .unit = NSEC_PER_SEC, .what = "a duration like 10m" },
};
static const struct table flapping_table = TABLE(flapping_fields);

/* Both `defaults:` and every group; the order is the order messages list
 * the keys in. */
static const struct field group_fields[] = {
	{ .key = "name", .parse = parse_str, G(name), .bit = G_NAME, .flags = FIELD_GROUP_ONLY,
	  .what = "a group name" },
	{ .key = "hosts", .parse = parse_strlist, G(hosts), .off_n = offsetof(struct config_group, n_hosts),
	  .bit = G_HOSTS, .flags = FIELD_GROUP_ONLY, .check = check_host,
	  .what = "a list of hosts (IP, CIDR or HOSTNAME, optionally :PORT)" },
	{ .key = "ports", .parse = parse_ports, G(ports), .bit = G_PORTS, .what = "a list of ports" },
	{ .key = "targets", .parse = parse_named, G(named), .bit = G_TARGETS, .flags = FIELD_GROUP_ONLY,
	  .what = "a list of { host, port, name }" },
	{ .key = "interval", .parse = parse_duration, INHERITED(interval_ns, G_INTERVAL),
	  .min = 10 * NSEC_PER_MSEC, .max = ONE_DAY, .what = "a duration like 30s, 1m, 5m" },
	{ .key = "timeout", .parse = parse_duration, INHERITED(timeout_ns, G_TIMEOUT),
	  .min = NSEC_PER_MSEC, .max = TEN_MINUTES, .what = "a duration like 500ms or 1s" },
	{ .key = "retries", .parse = parse_uint, INHERITED(retries, G_RETRIES), .max = PROBE_MAX_ATTEMPT,
	  .what = "a number of retries" },
	{ .key = "failures", .parse = parse_uint, INHERITED(state.failures, G_FAILURES), .min = 1, .max = 50,
	  .what = "a number of failed checks" },
	{ .key = "successes", .parse = parse_uint, INHERITED(state.successes, G_SUCCESSES), .min = 1,
	  .max = 50, .what = "a number of successful checks" },
	{ .key = "latency", .parse = parse_sub, .bit = G_LATENCY, .sub = &latency_table,
	  .what = "a mapping like { warn: 200ms, crit: 500ms, window: 5, over: 3 }" },
	{ .key = "flapping", .parse = parse_sub, .bit = G_FLAPPING, .sub = &flapping_table,
	  .what = "a mapping like { changes: 5, window: 10m }" },
	{ .key = "ip", .parse = parse_family, INHERITED(families, G_IP), .choices = family_names,
	  .what = "v4, v6 or both" },
	{ .key = "labels", .parse = parse_labels, .bit = G_LABELS,
	  .what = "a mapping of label names to values, like { team: web }" },
};
static const struct table group_table = TABLE(group_fields);

#undef INHERITED
#undef G

/* ---- the top level ---- */

static int parse_source_ports(struct parser *p, const struct field *f, yaml_node_t *v, void *base,
			      struct scope *s)
{
	struct config *c = &((struct top *)base)->c;
	char lo_text[8];
	const char *t, *dash;
	uint64_t lo, hi;
	size_t n;
	int r;

	(void)s;
	if ((r = want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	dash = strchr(t, '-');
	n = dash ? (size_t)(dash - t) : sizeof(lo_text);
	if (n < sizeof(lo_text)) {
		memcpy(lo_text, t, n);
		lo_text[n] = '\0';
	}
	if (n >= sizeof(lo_text) || !parse_u64(lo_text, &lo) || !parse_u64(dash + 1, &hi) || lo < 1024 ||
	    lo > hi || hi > 65535)
		return fail(p, v->start_mark, "%s '" QUOTE "': expected %s", f->key, t, f->what);
	c->port_lo = (uint16_t)lo;
	c->port_hi = (uint16_t)hi;
	return 0;
}

static int parse_defaults(struct parser *p, const struct field *f, yaml_node_t *v, void *base,
			  struct scope *s)
{
	struct top *t = base;

	(void)s;
	if (v->type != YAML_MAPPING_NODE)
		return wrong_type(p, v, f->key, f->what);
	t->dscope.owner = "'defaults'";
	t->dscope.defaults = true;
	return parse_map(p, v, &group_table, &t->defaults, &t->dscope, "in 'defaults'");
}

static int parse_groups(struct parser *p, const struct field *f, yaml_node_t *v, void *base, struct scope *s)
{
	(void)s;
	if (v->type != YAML_SEQUENCE_NODE)
		return wrong_type(p, v, f->key, f->what);
	if (v->data.sequence.items.top == v->data.sequence.items.start)
		return fail(p, v->start_mark, "%s: expected at least one group, got an empty list", f->key);
	((struct top *)base)->groups = v;
	return 0;
}

static const char *const output_names[] = { "ndjson", "text", "none", NULL };

#define C(member) AT(struct top, c.member)
#define C_N(member) offsetof(struct top, c.member)

static const struct field top_fields[] = {
	{ .key = "location", .parse = parse_str, C(location), .bit = T_LOCATION, .check = check_location,
	  .what = "a location name, like fra1" },
	{ .key = "rate", .parse = parse_uint, C(rate), .bit = T_RATE, .min = 1, .max = 100000000,
	  .what = "probes per second" },
	{ .key = "source_ports", .parse = parse_source_ports, .bit = T_SOURCE_PORTS,
	  .what = "A-B with 1024 <= A <= B <= 65535, like 61000-61999" },
	{ .key = "interfaces", .parse = parse_strlist, C(interfaces), .off_n = C_N(n_interfaces),
	  .bit = T_INTERFACES, .check = check_ifname, .what = "a list of interface names" },
	{ .key = "source_ip", .parse = parse_str, C(source_ip), .bit = T_SOURCE_IP, .check = check_addr,
	  .what = "an address" },
	{ .key = "redis", .parse = parse_str, C(redis_url), .bit = T_REDIS,
	  .what = "a Redis URL, like unix:///run/synwatch/redis.sock?db=0 or redis://198.18.0.9:6379/0" },
	{ .key = "redis_prefix", .parse = parse_str, C(redis_prefix), .bit = T_REDIS_PREFIX,
	  .what = "a key prefix, like \"synwatch:\"" },
	{ .key = "output", .parse = parse_str, C(output), .bit = T_OUTPUT, .choices = output_names,
	  .what = "ndjson, text or none" },
	{ .key = "resolve_interval", .parse = parse_duration, C(resolve_interval_ns), .bit = T_RESOLVE,
	  .min = NSEC_PER_SEC, .max = ONE_DAY, .what = "a duration like 5m" },
	{ .key = "exclude", .parse = parse_strlist, C(exclude), .off_n = C_N(n_exclude),
	  .bit = T_EXCLUDE, .check = check_cidr, .what = "a list of CIDRs, like [198.18.7.0/24]" },
	{ .key = "canaries", .parse = parse_strlist, C(canaries), .off_n = C_N(n_canaries),
	  .bit = T_CANARIES, .check = check_canary, .what = "a list of IP:PORT, like [\"198.18.0.1:22\"]" },
	{ .key = "isolation_share", .parse = parse_share, C(isolation_share), .bit = T_ISOLATION,
	  .what = "a share greater than 0 and at most 1, like 0.5" },
	{ .key = "defaults", .parse = parse_defaults, .bit = T_DEFAULTS,
	  .what = "a mapping of group settings (interval, ports, labels...)" },
	{ .key = "groups", .parse = parse_groups, .bit = T_GROUPS,
	  .what = "a list of groups, each with a name and hosts or targets" },
};
static const struct table top_table = TABLE(top_fields);

#undef C
#undef C_N

/* ---- mappings ---- */

static const struct field *find_field(const struct table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].key, key) == 0)
			return &t->v[i];
	return NULL;
}

/* Levenshtein distance, for "did you mean"; keys are short. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int unknown_key(struct parser *p, const yaml_node_t *k, const struct table *t, const struct scope *s,
		       const char *where)
{
	const char *key = text_of(k), *near = NULL;
	char list[512];
	size_t used = 0, best = 3;

	if (s->defaults && find_field(t, key))
		return fail(p, k->start_mark, "'%s' cannot be in 'defaults': it belongs in each group", key);
	list[0] = '\0';
	for (size_t i = 0; i < t->n; i++) {
		if (s->defaults && (t->v[i].flags & FIELD_GROUP_ONLY))
			continue;
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", t->v[i].key);
		if (n > 0 && (size_t)n < sizeof(list) - used)
			used += (size_t)n;
		size_t d = distance(key, t->v[i].key);
		if (d < best && d < strlen(t->v[i].key)) {
			best = d;
			near = t->v[i].key;
		}
	}
	if (near)
		return fail(p, k->start_mark,
			    "unknown key '" QUOTE "' %s (expected one of: %s); did you mean '%s'?", key,
			    where, list, near);
	return fail(p, k->start_mark, "unknown key '" QUOTE "' %s (expected one of: %s)", key, where, list);
}

static int parse_map(struct parser *p, yaml_node_t *map, const struct table *t, void *base, struct scope *s,
		     const char *where)
{
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *k = node_at(p, pair->key), *v = node_at(p, pair->value);
		const struct field *f;
		char buf[64];
		int r;

		if (k->type != YAML_SCALAR_NODE)
			return fail(p, k->start_mark, "expected a key name %s, got %s", where,
				    got(k, buf, sizeof(buf)));
		f = find_field(t, text_of(k));
		if (!f || (s->defaults && (f->flags & FIELD_GROUP_ONLY)))
			return unknown_key(p, k, t, s, where);
		if (s->set & BIT(f->bit))
			return fail(p, k->start_mark, "duplicate key '%s' %s (first at line %zu)", f->key,
				    where, s->mark[f->bit].line + 1);
		s->set |= BIT(f->bit);
		s->mark[f->bit] = v->start_mark;
		if ((r = f->parse(p, f, v, base, s)) < 0)
			return r;
	}
	return 0;
}

/* ---- groups ---- */

static void group_release(struct config_group *g)
{
	free(g->name);
	free_strv(g->hosts, g->n_hosts);
	portlist_release(&g->ports);
	named_release(g->named, g->n_named);
	free_labels(g->labels, g->n_labels);
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

static void inherit_values(const struct table *t, const struct config_group *d, const struct scope *ds,
			   struct config_group *g, struct scope *gs)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct field *f = &t->v[i];

		if (f->sub)
			inherit_values(f->sub, d, ds, g, gs);
		if (!(f->flags & FIELD_INHERIT) || (gs->set & BIT(f->bit)) || !(ds->set & BIT(f->bit)))
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

static int inherit(struct config_group *g, struct scope *gs, const struct config_group *d,
		   const struct scope *ds)
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
		return set_msg(msg, len, "nothing to probe: give 'hosts' (with 'ports') or 'targets'");
	for (size_t i = 0; i < g->n_hosts && g->ports.n == 0; i++)
		if (!spec_has_port(g->hosts[i]))
			return set_msg(msg, len,
				       "host '" QUOTE
				       "' has no port and there are no 'ports': hosts need ports "
				       "(give 'ports' in the group or in defaults, or write HOST:PORT)",
				       g->hosts[i]);
	int64_t check_ns = g->timeout_ns * (g->retries + 1);
	if (check_ns >= g->interval_ns) {
		*fields = BIT(G_INTERVAL) | BIT(G_TIMEOUT) | BIT(G_RETRIES);
		return set_msg(
		    msg, len,
		    "interval %s is too short: timeout %s x (retries %u + 1) = %s, and a check must "
		    "finish before the next one is due (raise interval or lower timeout or retries)",
		    fmt_duration(g->interval_ns, a, sizeof(a)), fmt_duration(g->timeout_ns, b, sizeof(b)),
		    g->retries, fmt_duration(check_ns, c, sizeof(c)));
	}
	if (st->warn_ns && st->crit_ns && st->crit_ns < st->warn_ns) {
		*fields = BIT(G_CRIT) | BIT(G_WARN);
		return set_msg(msg, len, "latency crit %s is below warn %s: expected crit >= warn",
			       fmt_duration(st->crit_ns, a, sizeof(a)),
			       fmt_duration(st->warn_ns, b, sizeof(b)));
	}
	if (st->over > st->window) {
		*fields = BIT(G_WINDOW) | BIT(G_OVER);
		return set_msg(msg, len,
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

static int build_group(struct parser *p, struct top *t, yaml_node_t *v, size_t i, yaml_mark_t *name_marks)
{
	struct config_group *g = &t->c.groups[i];
	char owner[OWNER_MAX], where[OWNER_MAX + 8], msg[512];
	struct scope s = { .owner = owner };
	uint32_t fields;
	int r;

	if (v->type != YAML_MAPPING_NODE)
		return wrong_type(p, v, "groups",
				  "a list of groups, each a mapping with name, hosts, ports...");
	/* the name first, so that every message can say which group */
	snprintf(owner, sizeof(owner), "group #%zu", i + 1);
	for (yaml_node_pair_t *pair = v->data.mapping.pairs.start; pair < v->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = node_at(p, pair->key), *val = node_at(p, pair->value);
		if (k->type == YAML_SCALAR_NODE && strcmp(text_of(k), "name") == 0 &&
		    val->type == YAML_SCALAR_NODE && !is_null(val))
			snprintf(owner, sizeof(owner), "group '%.100s'", text_of(val));
	}
	snprintf(where, sizeof(where), "in %s", owner);
	if ((r = parse_map(p, v, &group_table, g, &s, where)) < 0)
		return r;
	if (!g->name)
		return fail(p, v->start_mark, "%s has no 'name': every group needs a unique name", owner);
	for (size_t j = 0; j < i; j++)
		if (strcmp(t->c.groups[j].name, g->name) == 0)
			return fail(p, s.mark[G_NAME], "duplicate group name '" QUOTE "' (first at line %zu)",
				    g->name, name_marks[j].line + 1);
	name_marks[i] = s.mark[G_NAME];
	if ((r = inherit(g, &s, &t->defaults, &t->dscope)) < 0)
		return fail_nomem(p);
	if (group_check(g, &fields, msg, sizeof(msg)) < 0) {
		yaml_mark_t at = v->start_mark;
		for (int b = 0; b < 32; b++)
			if (fields & s.set & BIT(b)) {
				at = s.mark[b];
				break;
			}
		return fail(p, at, "%s: %s", owner, msg);
	}
	return 0;
}

static int build_groups(struct parser *p, struct top *t)
{
	yaml_node_t *seq = t->groups;
	size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	yaml_mark_t *name_marks = calloc(n, sizeof(*name_marks));
	int r = 0;

	if (!name_marks || !(t->c.groups = calloc(n, sizeof(*t->c.groups)))) {
		r = fail_nomem(p);
		goto out;
	}
	t->c.n_groups = n;
	for (size_t i = 0; i < n; i++)
		config_group_init(&t->c.groups[i]);
	for (size_t i = 0; i < n && r == 0; i++)
		r = build_group(p, t, node_at(p, seq->data.sequence.items.start[i]), i, name_marks);
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
		.resolve_interval_ns = CONFIG_DEFAULT_RESOLVE_NS,
		.isolation_share = CONFIG_DEFAULT_ISOLATION_SHARE,
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

/* The reader reports a byte offset, not a line. */
static yaml_mark_t mark_at(const char *text, size_t len, size_t offset)
{
	yaml_mark_t m = { 0 };

	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
	}
	return m;
}

static int syntax_error(struct parser *p, const yaml_parser_t *y, const char *text, size_t len)
{
	const char *problem = y->problem ? y->problem : "unknown problem";

	switch (y->error) {
	case YAML_MEMORY_ERROR:
		return fail_nomem(p);
	case YAML_READER_ERROR:
		if (y->problem_value != -1)
			return fail(p, mark_at(text, len, y->problem_offset), "not valid text: %s (0x%x)",
				    problem, (unsigned)y->problem_value);
		return fail(p, mark_at(text, len, y->problem_offset), "not valid text: %s", problem);
	default:
		if (y->context)
			return fail(p, y->problem_mark, "YAML syntax error: %s (%s at line %zu, column %zu)",
				    problem, y->context, y->context_mark.line + 1,
				    y->context_mark.column + 1);
		return fail(p, y->problem_mark, "YAML syntax error: %s", problem);
	}
}

static int parse_top(struct parser *p, yaml_node_t *root, struct top *t)
{
	struct scope s = { .owner = "the top level" };
	int r;

	if (root->type != YAML_MAPPING_NODE)
		return wrong_type(p, root, "configuration",
				  "a mapping of settings (location, rate, groups...)");
	if ((r = parse_map(p, root, &top_table, t, &s, "at the top level")) < 0)
		return r;
	if (!t->groups)
		return fail(p, root->start_mark, "no 'groups': expected %s", top_fields[T_GROUPS].what);
	return build_groups(p, t);
}

int config_parse(struct config *out, const char *text, size_t len, const char *path, char *err, size_t errlen)
{
	struct parser p = { .path = path ? path : "<memory>", .err = err, .errlen = errlen };
	yaml_document_t doc, extra;
	bool have_parser = false, have_doc = false, have_extra = false;
	yaml_parser_t y;
	struct top t = { 0 };
	yaml_node_t *root;
	int r;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	config_group_init(&t.defaults);
	if ((r = config_init(&t.c)) < 0 || !(t.c.path = strdup(p.path)) || !yaml_parser_initialize(&y)) {
		r = fail_nomem(&p);
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_string(&y, (const unsigned char *)(text ? text : ""), text ? len : 0);
	if (!yaml_parser_load(&y, &doc)) {
		r = syntax_error(&p, &y, text, len);
		goto out;
	}
	have_doc = true;
	p.doc = &doc;
	if (!(root = yaml_document_get_root_node(&doc))) {
		r = fail(&p, (yaml_mark_t){ 0 },
			 "empty configuration: expected settings with at least 'groups'");
		goto out;
	}
	/* a second document would be silently ignored otherwise */
	if (!yaml_parser_load(&y, &extra)) {
		r = syntax_error(&p, &y, text, len);
		goto out;
	}
	have_extra = true;
	if (yaml_document_get_root_node(&extra)) {
		r = fail(&p, extra.start_mark,
			 "a second YAML document: a configuration is one document (remove the '---')");
		goto out;
	}
	if ((r = parse_top(&p, root, &t)) < 0)
		goto out;
	*out = t.c;
	memset(&t.c, 0, sizeof(t.c));
out:
	config_release(&t.c);
	group_release(&t.defaults);
	if (have_extra)
		yaml_document_delete(&extra);
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&y);
	return r;
}

int config_load(struct config *out, const char *path, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *text = NULL;
	size_t len = 0, cap = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (!(f = fopen(path, "re"))) {
		r = -errno;
		set_msg(err, errlen, "cannot open '%s': %s", path, strerror(-r));
		goto out;
	}
	for (;;) {
		if (len == cap) {
			char *more;
			if (cap >= CONFIG_MAX_BYTES) {
				r = -EFBIG;
				set_msg(err, errlen,
					"cannot read '%s': larger than %d MiB, not a configuration", path,
					CONFIG_MAX_BYTES >> 20);
				goto out;
			}
			cap = cap ? cap * 2 : 16384;
			if (!(more = realloc(text, cap))) {
				r = -ENOMEM;
				set_msg(err, errlen, "cannot read '%s': out of memory", path);
				goto out;
			}
			text = more;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		r = -EIO;
		set_msg(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	r = config_parse(out, text, len, path, err, errlen);
out:
	free(text);
	if (f)
		fclose(f);
	return r;
}

void config_release(struct config *c)
{
	free(c->path);
	free(c->location);
	free_strv(c->interfaces, c->n_interfaces);
	free(c->source_ip);
	free(c->redis_url);
	free(c->redis_prefix);
	free(c->output);
	free_strv(c->exclude, c->n_exclude);
	free_strv(c->canaries, c->n_canaries);
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
