/* Events as the alerter reads them (tools/alert/alert-event.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/num.h"
#include "tools/alert/alert-event.h"

int64_t alert_ns_of(const char *s)
{
	int64_t v;

	return s && num_parse_int(s, 0, INT64_MAX, &v) == 0 ? v : 0;
}

/* A number, or fallback for "" and junk. */
static double num_of(const char *s, double fallback)
{
	char *end;
	double v;

	if (!*s)
		return fallback;
	v = strtod(s, &end);
	return *end ? fallback : v;
}

static const char *field(const struct fv_record *rec, const char *key)
{
	const char *v = fv_record_get(rec, key);

	return v ? v : "";
}

int alert_record_of(struct fv_arena *a, const redisReply *arr, const char *id, struct fv_record *out)
{
	if (arr->type != REDIS_REPLY_ARRAY || arr->elements % 2)
		return -EPROTO;
	out->id = id;
	out->n = arr->elements / 2;
	out->keys = fv_alloc(a, (out->n + 1) * sizeof(char *));
	out->vals = fv_alloc(a, (out->n + 1) * sizeof(char *));
	if (!out->keys || !out->vals)
		return -ENOMEM;
	for (size_t i = 0; i < out->n; i++) {
		const redisReply *k = arr->element[2 * i], *v = arr->element[2 * i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			return -EPROTO;
		out->keys[i] = fv_strndup(a, k->str, k->len);
		out->vals[i] = fv_strndup(a, v->str, v->len);
		if (!out->keys[i] || !out->vals[i])
			return -ENOMEM;
	}
	return 0;
}

int alert_event_parse(struct alert_event *e, const struct fv_record *rec, const char *entry,
		      struct fv_arena *a)
{
	const char *labels = field(rec, "labels");
	int n;

	*e = (struct alert_event){
		.entry = entry ? entry : "",
		.rec = *rec,
		.kind = field(rec, "kind"),
		.id = field(rec, "id"),
		.target = field(rec, "target"),
		.ip = field(rec, "ip"),
		.port = field(rec, "port"),
		.name = field(rec, "name"),
		.group = field(rec, "group"),
		.from = field(rec, "from"),
		.to = field(rec, "to"),
		.reason = field(rec, "reason"),
		.location = field(rec, "location"),
		.prober = field(rec, "prober"),
		.host_event = field(rec, "host_event"),
		.old_ip = field(rec, "old_ip"),
		.check = field(rec, "check"),
		.check_error = field(rec, "check_error"),
		.ping = field(rec, "ping"),
		.locations_down = field(rec, "locations_down"),
		.locations = field(rec, "locations"),
		.quorum = (unsigned)num_of(field(rec, "quorum"), 0),
		.ts_ns = alert_ns_of(field(rec, "ts")),
		.since_ns = alert_ns_of(field(rec, "since")),
		.rtt_us = num_of(field(rec, "rtt_us"), -1),
		.warn_us = num_of(field(rec, "warn_us"), -1),
		.crit_us = num_of(field(rec, "crit_us"), -1),
		.icmp_code = (int)num_of(field(rec, "icmp_code"), -1),
		.ports = (unsigned)num_of(field(rec, "ports"), 0),
		.failing_share = num_of(field(rec, "failing_share"), -1),
	};
	if (!*e->kind)
		return -EINVAL;
	if (!(e->labels = fv_alloc(a, ALERT_EVENT_MAX_LABELS * sizeof(*e->labels))))
		return -ENOMEM;
	n = fv_labels_parse(labels, a, e->labels, ALERT_EVENT_MAX_LABELS);
	if (n < 0)
		return n;
	e->n_labels = (size_t)n;
	return 0;
}

const char *alert_event_label(const struct alert_event *e, const char *key)
{
	for (size_t i = 0; i < e->n_labels; i++)
		if (strcmp(e->labels[i].name, key) == 0)
			return e->labels[i].value;
	return NULL;
}

static bool is_critical(const struct alert_event *e)
{
	if (strcmp(e->kind, "state") == 0)
		return strcmp(e->to, "down") == 0 || strcmp(e->reason, "slow_critical") == 0;
	return strcmp(e->kind, "host_down") == 0 || strcmp(e->kind, "prober_isolated") == 0;
}

const char *alert_event_attr(const void *ctx, const char *key)
{
	const struct alert_event *e = ctx;
	static const struct {
		const char *key;
		size_t off;
	} own[] = {
		{ "kind", offsetof(struct alert_event, kind) },
		{ "group", offsetof(struct alert_event, group) },
		{ "location", offsetof(struct alert_event, location) },
		{ "target", offsetof(struct alert_event, target) },
		{ "host", offsetof(struct alert_event, ip) },
		{ "port", offsetof(struct alert_event, port) },
		{ "name", offsetof(struct alert_event, name) },
		{ "prober", offsetof(struct alert_event, prober) },
		{ "check", offsetof(struct alert_event, check) },
		{ "state", offsetof(struct alert_event, to) },
		{ "reason", offsetof(struct alert_event, reason) },
	};

	if (strcmp(key, "severity") == 0)
		return is_critical(e) ? "critical" : "warning";
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcmp(own[i].key, key) == 0)
			return *(const char *const *)((const char *)e + own[i].off);
	return alert_event_label(e, key);
}

static enum alert_class class_of_state(const char *s)
{
	if (strcmp(s, "down") == 0)
		return ALERT_DOWN;
	if (strcmp(s, "degraded") == 0)
		return ALERT_SLOW;
	if (strcmp(s, "flapping") == 0)
		return ALERT_FLAPPING;
	return ALERT_NONE;
}

void alert_event_effect(const struct alert_event *e, enum alert_class *clears, enum alert_class *fires)
{
	static const struct {
		const char *kind;
		enum alert_class clears, fires;
	} kinds[] = {
		{ "host_down", ALERT_NONE, ALERT_HOST },     { "host_up", ALERT_HOST, ALERT_NONE },
		{ "prober_isolated", ALERT_NONE, ALERT_PROBER }, { "prober_ok", ALERT_PROBER, ALERT_NONE },
		{ "address_changed", ALERT_NONE, ALERT_INFO },
		{ "location_issue", ALERT_NONE, ALERT_LOCATION }, { "location_ok", ALERT_LOCATION, ALERT_NONE },
	};

	*clears = *fires = ALERT_NONE;
	if (strcmp(e->kind, "state") == 0) {
		enum alert_class from = class_of_state(e->from), to = class_of_state(e->to);
		/* degraded -> degraded is a change of reason (slow to
		 * slow_critical): the alert stands, nothing new to say */
		if (from != to) {
			*clears = from;
			*fires = to;
		}
		return;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, e->kind) == 0) {
			*clears = kinds[i].clears;
			*fires = kinds[i].fires;
		}
}

const char *alert_class_name(enum alert_class c)
{
	static const char *const names[] = { "none", "down", "slow", "flapping", "host", "prober", "location", "info" };

	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "none";
}

int alert_key(char *buf, size_t len, enum alert_class c, const struct alert_event *e)
{
	const char *what = c == ALERT_HOST ? e->ip : c == ALERT_PROBER ? e->prober : e->target;
	int n = snprintf(buf, len, "%s:%s", alert_class_name(c), what);

	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
