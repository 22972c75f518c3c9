/* The lines of the stdout sink. The NDJSON lines are a public interface
 * (README.md): keys are only ever added, and a one-shot result line stays
 * byte for byte what it was; a string that is not valid UTF-8 has its bad
 * bytes written as U+FFFD, so that every line is valid JSON. A line whose
 * target id the table does not know (it cannot happen while the main
 * thread publishes tables before the scheduler uses their ids) still goes
 * out, with "target":ID instead of the target's address and names, since
 * records are never dropped. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/check.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/json.h"
#include "scheduler/table.h"
#include "store/format.h"
#include "store/minutes.h"

int store_format_parse(const char *s, enum store_format *out)
{
	if (strcmp(s, "ndjson") == 0)
		*out = STORE_NDJSON;
	else if (strcmp(s, "text") == 0)
		*out = STORE_TEXT;
	else if (strcmp(s, "none") == 0)
		*out = STORE_NONE;
	else
		return -EINVAL;
	return 0;
}

int store_event_id(char *buf, size_t len, uint64_t run_id, uint64_t id)
{
	int n = snprintf(buf, len, "%016llx-%llu", (unsigned long long)run_id, (unsigned long long)id);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

/* Ends the line; the length, or -ENOSPC if anything did not fit. */
static int sb_end(struct buf *b, const char *end)
{
	buf_puts(b, end);
	return b->nomem ? -ENOSPC : (int)b->len;
}

/* Valid JSON whatever the bytes (names, labels and errors come from
 * config files and Redis), in the escapes these lines always had. */
static void sb_json_string(struct buf *b, const char *s)
{
	json_put_strn(b, s, strlen(s), JSON_ESC_SHORT);
}

/* ,"key":"text" */
static void sb_json_kv(struct buf *b, const char *key, const char *s)
{
	buf_printf(b, ",\"%s\":", key);
	sb_json_string(b, s);
}

/* ,"key":"198.18.0.7" */
static void sb_json_addr(struct buf *b, const char *key, const struct sw_addr *a)
{
	char ip[ADDR_STRLEN];
	buf_printf(b, ",\"%s\":\"%s\"", key, addr_format(a, ip, sizeof(ip)));
}

/* ,"key":1234.567 (microseconds to the nanosecond), or null if ns < 0 */
static void sb_json_us(struct buf *b, const char *key, int64_t ns)
{
	if (ns >= 0)
		buf_printf(b, ",\"%s\":%lld.%03lld", key, (long long)(ns / 1000), (long long)(ns % 1000));
	else
		buf_printf(b, ",\"%s\":null", key);
}

/* ,"key":"2026-11-25T01:02:03.123456789Z", or null for 0 (unknown) if nullable */
static void sb_json_time(struct buf *b, const char *key, int64_t real_ns, bool nullable)
{
	char ts[40];

	if ((nullable && real_ns == 0) || clock_format_rfc3339(real_ns, ts, sizeof(ts)) < 0)
		buf_printf(b, ",\"%s\":null", key);
	else
		buf_printf(b, ",\"%s\":\"%s\"", key, ts);
}

/* Second-resolution UTC text, "2026-11-25T01:02:03Z", or "01:02:03" when
 * same_day_ns (nonzero) is on the same UTC day. */
static const char *time_text(int64_t real_ns, int64_t same_day_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(real_ns / NSEC_PER_SEC), day = (time_t)(same_day_ns / NSEC_PER_SEC);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) || strftime(buf, len, same_day_ns && sec / 86400 == day / 86400 ?
							       "%H:%M:%S" : "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)sec);
	return buf;
}

static const struct target *target_of(const struct store_format_ctx *c, uint32_t id)
{
	return c->table && id < c->table->tl.n ? &c->table->tl.v[id] : NULL;
}

static const struct table_group *group_of(const struct store_format_ctx *c, uint32_t id)
{
	return target_of(c, id) && c->table->group_of ? table_group_of(c->table, id) : NULL;
}

/* ,"ip":"198.18.0.7","port":443 */
static void sb_json_endpoint(struct buf *b, const struct store_format_ctx *c, uint32_t id)
{
	const struct target *t = target_of(c, id);

	if (!t) {
		buf_printf(b, ",\"target\":%u", id);
		return;
	}
	sb_json_addr(b, "ip", &t->addr);
	buf_printf(b, ",\"port\":%u", t->port);
}

/* ,"name":"..." and, with_group, ,"group":"...", for what the target has */
static void sb_json_names(struct buf *b, const struct store_format_ctx *c, uint32_t id, bool with_group)
{
	const struct target *t = target_of(c, id);
	const struct table_group *g = with_group ? group_of(c, id) : NULL;
	const char *name = t ? target_name(&c->table->tl, t) : NULL;

	if (name)
		sb_json_kv(b, "name", name);
	if (g && g->name)
		sb_json_kv(b, "group", g->name);
}

/* {"key":"value",...} */
static void sb_json_label_object(struct buf *b, const struct table_group *g)
{
	buf_printf(b, "{");
	for (size_t i = 0; i < g->n_labels; i++) {
		if (i)
			buf_printf(b, ",");
		sb_json_string(b, g->labels[i].key);
		buf_printf(b, ":");
		sb_json_string(b, g->labels[i].value);
	}
	buf_printf(b, "}");
}

/* ,"labels":{"key":"value",...} if the target has a group */
static void sb_json_labels(struct buf *b, const struct store_format_ctx *c, uint32_t id)
{
	const struct table_group *g = group_of(c, id);

	if (!g)
		return;
	buf_printf(b, ",\"labels\":");
	sb_json_label_object(b, g);
}

int store_labels_json(char *buf, size_t len, const struct table_group *g)
{
	struct buf b;

	buf_init_fixed(&b, buf, len);
	sb_json_label_object(&b, g);
	return sb_end(&b, "");
}

/* ,"location":"..." and the end of the object */
static int sb_json_end(struct buf *b, const struct store_format_ctx *c)
{
	if (c->location)
		sb_json_kv(b, "location", c->location);
	return sb_end(b, "}\n");
}

int store_format_ndjson(char *buf, size_t len, const struct store_format_ctx *c, const struct probe_result *r)
{
	struct buf b;

	buf_init_fixed(&b, buf, len);
	buf_printf(&b, "{\"type\":\"result\"");
	sb_json_time(&b, "ts", r->ts_real_ns, false);
	sb_json_endpoint(&b, c, r->target);
	buf_printf(&b, ",\"state\":\"%s\"", probe_state_name(r->state));
	sb_json_us(&b, "rtt_us", r->rtt_ns);
	buf_printf(&b, ",\"attempt\":%u,\"ttl\":", r->attempt);
	if (r->ttl)
		buf_printf(&b, "%u", r->ttl);
	else
		buf_printf(&b, "null");
	if (r->state == PROBE_UNREACHABLE) {
		buf_printf(&b, ",\"icmp_type\":%u,\"icmp_code\":%u", r->icmp_type, r->icmp_code);
		sb_json_addr(&b, "icmp_from", &r->from);
	}
	if (r->state == PROBE_ERROR)
		sb_json_kv(&b, "error", strerror(r->err));
	if (r->rtt_approx)
		buf_printf(&b, ",\"rtt_approx\":true");
	if (r->check) {
		/* the port's service check, and whether it last passed */
		buf_printf(&b, ",\"check\":\"%s\"", check_kind_name(r->check));
		if (r->verdict != VERDICT_PENDING)
			buf_printf(&b, ",\"check_ok\":%s", probe_verdict_fails(r->verdict) ? "false" : "true");
	}
	sb_json_names(&b, c, r->target, c->with_group);
	if (c->with_group)
		sb_json_labels(&b, c, r->target);
	return sb_json_end(&b, c);
}

static bool reason_is_slow(uint8_t reason)
{
	return reason == REASON_SLOW || reason == REASON_SLOW_CRIT;
}

int store_format_event_ndjson(char *buf, size_t len, const struct store_format_ctx *c,
			      const struct sw_event *e)
{
	struct buf b;
	char id[48];

	buf_init_fixed(&b, buf, len);
	store_event_id(id, sizeof(id), c->run_id, e->id);
	buf_printf(&b, "{\"type\":\"event\",\"kind\":\"%s\",\"id\":\"%s\"", event_kind_name(e->kind), id);
	sb_json_time(&b, "ts", e->ts_real_ns, false);
	switch (e->kind) {
	case EVENT_STATE:
		sb_json_endpoint(&b, c, e->target);
		sb_json_names(&b, c, e->target, true);
		buf_printf(&b, ",\"from\":\"%s\",\"to\":\"%s\",\"reason\":\"%s\"", target_state_name(e->from),
			  target_state_name(e->to), state_reason_name(e->reason));
		if (e->check)
			buf_printf(&b, ",\"check\":\"%s\"", check_kind_name(e->check));
		if (c->detail)
			sb_json_kv(&b, "check_error", c->detail);
		sb_json_time(&b, "since", e->since_ns, true);
		/* for a slow transition rtt_ns is the window's p95, not the last RTT */
		sb_json_us(&b, "last_rtt_us", reason_is_slow(e->reason) ? -1 : e->rtt_ns);
		if (reason_is_slow(e->reason)) {
			const struct table_group *g = group_of(c, e->target);
			sb_json_us(&b, "p95_us", e->rtt_ns);
			if (g && g->state.warn_ns)
				sb_json_us(&b, "warn_us", g->state.warn_ns);
			if (g && g->state.crit_ns)
				sb_json_us(&b, "crit_us", g->state.crit_ns);
		}
		if (e->host_event) {
			store_event_id(id, sizeof(id), c->run_id, e->host_event);
			buf_printf(&b, ",\"host_event\":\"%s\"", id);
		}
		if (e->reason == REASON_UNREACHABLE)
			buf_printf(&b, ",\"icmp_code\":%u", e->icmp_code);
		sb_json_labels(&b, c, e->target);
		break;
	case EVENT_HOST_DOWN:
	case EVENT_HOST_UP:
		sb_json_addr(&b, "ip", &e->addr);
		buf_printf(&b, ",\"ports\":%u,\"ping\":\"%s\"", e->count, event_ping_name(e->to));
		if (e->kind == EVENT_HOST_UP)
			sb_json_time(&b, "since", e->since_ns, true);
		break;
	case EVENT_PROBER_ISOLATED:
	case EVENT_PROBER_OK:
		buf_printf(&b, ",\"failing_share\":%u.%03u", e->count / 1000, e->count % 1000);
		if (e->kind == EVENT_PROBER_OK)
			sb_json_time(&b, "since", e->since_ns, true);
		break;
	case EVENT_ADDRESS_CHANGED:
		sb_json_names(&b, c, e->target, true);
		sb_json_endpoint(&b, c, e->target);
		sb_json_addr(&b, "old_ip", &e->addr);
		break;
	}
	return sb_json_end(&b, c);
}

int store_format_latency_ndjson(char *buf, size_t len, const struct store_format_ctx *c, uint32_t target,
				const struct lat_minute *lm)
{
	static const struct {
		const char *key;
		double p;
	} qs[] = { { "p50_us", 0.50 }, { "p95_us", 0.95 }, { "p99_us", 0.99 } };
	struct buf b;
	char minute[32];
	bool any = lm->count > 0;

	buf_init_fixed(&b, buf, len);
	buf_printf(&b, "{\"type\":\"latency\"");
	sb_json_endpoint(&b, c, target);
	sb_json_names(&b, c, target, true);
	buf_printf(&b, ",\"minute\":\"%s\",\"count\":%u,\"lost\":%u,\"loss\":%.4g",
		  time_text(lm->minute_start_s * NSEC_PER_SEC, 0, minute, sizeof(minute)), lm->count,
		  lm->lost, lat_minute_loss_ratio(lm));
	sb_json_us(&b, "min_us", any ? lm->min_ns : -1);
	sb_json_us(&b, "mean_us", lat_minute_mean(lm));
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		sb_json_us(&b, qs[i].key, lat_minute_quantile(lm, qs[i].p));
	sb_json_us(&b, "max_us", any ? lm->max_ns : -1);
	return sb_json_end(&b, c);
}

/* "198.18.0.7:443", "[2001:db8::1]:443", the port left-aligned in width;
 * "#ID" for an id the table does not know. */
static void sb_text_endpoint(struct buf *b, const struct store_format_ctx *c, uint32_t id, int width)
{
	const struct target *t = target_of(c, id);
	char ip[ADDR_STRLEN];

	if (!t) {
		buf_printf(b, "#%-*u", width, id);
		return;
	}
	addr_format(&t->addr, ip, sizeof(ip));
	if (t->addr.family == AF_INET6)
		buf_printf(b, "[%s]:%-*u", ip, width, t->port);
	else
		buf_printf(b, "%s:%-*u", ip, width, t->port);
}

/* "  NAME" if the target has a name, and the end of the line */
static int sb_text_end(struct buf *b, const struct store_format_ctx *c, uint32_t id)
{
	const struct target *t = target_of(c, id);
	const char *name = t ? target_name(&c->table->tl, t) : NULL;

	if (name)
		buf_printf(b, "  %s", name);
	return sb_end(b, "\n");
}

/* " 1.234 ms" for ns >= 0 */
static void sb_text_ms(struct buf *b, const char *what, int64_t ns)
{
	if (ns >= 0)
		buf_printf(b, "%s%.3f ms", what, (double)ns / 1e6);
}

/* ,"key":"2026-..Z" for Unix seconds */
static void sb_json_unix(struct buf *b, const char *key, int64_t s)
{
	sb_json_time(b, key, s * NSEC_PER_SEC, false);
}

int store_format_check_ndjson(char *buf, size_t len, const struct store_format_ctx *c, const struct check_result *r,
			      uint8_t verdict, int32_t days_left)
{
	struct buf b;

	buf_init_fixed(&b, buf, len);

	buf_printf(&b, "{\"type\":\"check\"");
	sb_json_time(&b, "ts", r->ts_real_ns, false);
	sb_json_endpoint(&b, c, r->target);
	buf_printf(&b, ",\"check\":\"%s\",\"check_ok\":%s", check_kind_name(r->kind) ? check_kind_name(r->kind) : "none",
		  r->v.ok ? "true" : "false");
	if (!r->v.ok)
		sb_json_kv(&b, "check_error", r->v.error);
	sb_json_us(&b, "check_us", r->check_ns);
	sb_json_us(&b, "connect_us", r->connect_ns);
	if (r->v.banner[0])
		sb_json_kv(&b, "banner", r->v.banner);
	if (r->v.code)
		buf_printf(&b, ",\"code\":%u", r->v.code);
	if (r->tls.version[0]) {
		sb_json_kv(&b, "tls_version", r->tls.version);
		sb_json_kv(&b, "tls_cipher", r->tls.cipher);
		sb_json_us(&b, "tls_us", r->tls_ns);
		buf_printf(&b, ",\"tls_resumed\":%s", r->tls.resumed ? "true" : "false");
		if (r->tls.not_after_s) {
			sb_json_kv(&b, "cert_subject", r->tls.subject);
			sb_json_kv(&b, "cert_issuer", r->tls.issuer);
			sb_json_kv(&b, "cert_sans", r->tls.sans);
			sb_json_unix(&b, "cert_not_after", r->tls.not_after_s);
			if (days_left != INT32_MIN)
				buf_printf(&b, ",\"cert_days_left\":%d", days_left);
			buf_printf(&b, ",\"cert_verified\":%s,\"cert_name_ok\":%s", r->tls.verified ? "true" : "false",
				  r->tls.name_ok ? "true" : "false");
			if (!r->tls.verified || !r->tls.name_ok)
				sb_json_kv(&b, "cert_error", r->tls.verify_error);
		}
	}
	if (verdict == VERDICT_CERT_EXPIRED || verdict == VERDICT_CERT_EXPIRING || verdict == VERDICT_CERT_UNVERIFIED)
		buf_printf(&b, ",\"verdict\":\"%s\"", verdict == VERDICT_CERT_EXPIRED	    ? "cert_expired"
							 : verdict == VERDICT_CERT_EXPIRING ? "cert_expiring"
											    : "cert_unverified");
	sb_json_names(&b, c, r->target, c->with_group);
	if (c->with_group)
		sb_json_labels(&b, c, r->target);
	return sb_json_end(&b, c);
}

int store_format_check_text(char *buf, size_t len, const struct store_format_ctx *c, const struct check_result *r,
			    uint8_t verdict, int32_t days_left)
{
	struct buf b;

	buf_init_fixed(&b, buf, len);

	sb_text_endpoint(&b, c, r->target, 5);
	buf_printf(&b, " %-11s %12s", check_kind_name(r->kind) ? check_kind_name(r->kind) : "check", r->v.ok ? "ok" : "FAILED");
	buf_printf(&b, "  %.3f ms", (double)r->check_ns / 1e6);
	if (!r->v.ok)
		buf_printf(&b, "  %s", r->v.error);
	else if (r->v.banner[0])
		buf_printf(&b, "  %s", r->v.banner);
	if (r->tls.not_after_s && days_left != INT32_MIN)
		buf_printf(&b, "  %s, certificate %s %d days%s", r->tls.version, days_left < 0 ? "expired" : "for",
			  days_left < 0 ? -days_left : days_left, days_left < 0 ? " ago" : "");
	(void)verdict;
	return sb_text_end(&b, c, r->target);
}

int store_format_text(char *buf, size_t len, const struct store_format_ctx *c, const struct probe_result *r)
{
	struct buf b;
	char from[ADDR_STRLEN], rtt[32] = "-";

	buf_init_fixed(&b, buf, len);
	if (r->rtt_ns >= 0)
		snprintf(rtt, sizeof(rtt), "%s%.3f ms", r->rtt_approx ? "~" : "", (double)r->rtt_ns / 1e6);
	sb_text_endpoint(&b, c, r->target, 5);
	buf_printf(&b, " %-11s %12s", probe_state_name(r->state), rtt);
	if (r->ttl)
		buf_printf(&b, "  ttl %u", r->ttl);
	if (r->state == PROBE_UNREACHABLE)
		buf_printf(&b, "  icmp %u/%u from %s", r->icmp_type, r->icmp_code,
			  addr_format(&r->from, from, sizeof(from)));
	if (r->state == PROBE_ERROR)
		buf_printf(&b, "  %s", strerror(r->err));
	return sb_text_end(&b, c, r->target);
}

/* " since 01:00:00" (the full date if it is another day than ts) */
static void sb_text_since(struct buf *b, int64_t since_ns, int64_t ts_ns)
{
	char t[40];
	if (since_ns)
		buf_printf(b, " since %s", time_text(since_ns, ts_ns, t, sizeof(t)));
}

int store_format_event_text(char *buf, size_t len, const struct store_format_ctx *c, const struct sw_event *e)
{
	struct buf b;
	char ts[40], ip[ADDR_STRLEN];

	buf_init_fixed(&b, buf, len);
	buf_printf(&b, "%s EVENT ", time_text(e->ts_real_ns, 0, ts, sizeof(ts)));
	switch (e->kind) {
	case EVENT_STATE:
		sb_text_endpoint(&b, c, e->target, 0);
		buf_printf(&b, " %s -> %s (%s", target_state_name(e->from), target_state_name(e->to),
			  state_reason_name(e->reason));
		if (e->reason == REASON_UNREACHABLE)
			buf_printf(&b, " icmp %u", e->icmp_code);
		if (reason_is_slow(e->reason))
			sb_text_ms(&b, " p95 ", e->rtt_ns);
		buf_printf(&b, ")");
		sb_text_since(&b, e->since_ns, e->ts_real_ns);
		return sb_text_end(&b, c, e->target);
	case EVENT_HOST_DOWN:
	case EVENT_HOST_UP:
		buf_printf(&b, "%s %s (%u ports)", event_kind_name(e->kind),
			  addr_format(&e->addr, ip, sizeof(ip)), e->count);
		break;
	case EVENT_PROBER_ISOLATED:
	case EVENT_PROBER_OK:
		buf_printf(&b, "%s (%u.%u%% of targets failing)", event_kind_name(e->kind), e->count / 10,
			  e->count % 10);
		break;
	case EVENT_ADDRESS_CHANGED:
		buf_printf(&b, "%s ", event_kind_name(e->kind));
		sb_text_endpoint(&b, c, e->target, 0);
		buf_printf(&b, " was %s", addr_format(&e->addr, ip, sizeof(ip)));
		return sb_text_end(&b, c, e->target);
	default:
		buf_printf(&b, "%s", event_kind_name(e->kind));
		break;
	}
	sb_text_since(&b, e->since_ns, e->ts_real_ns);
	return sb_end(&b, "\n");
}

int store_format_latency_text(char *buf, size_t len, const struct store_format_ctx *c, uint32_t target,
			      const struct lat_minute *lm)
{
	struct buf b;
	char minute[32];

	buf_init_fixed(&b, buf, len);
	buf_printf(&b, "%s LATENCY ", time_text(lm->minute_start_s * NSEC_PER_SEC, 0, minute, sizeof(minute)));
	sb_text_endpoint(&b, c, target, 0);
	buf_printf(&b, " n %u lost %u (%.1f%%)", lm->count, lm->lost, 100 * lat_minute_loss_ratio(lm));
	if (lm->count) {
		sb_text_ms(&b, " min ", lm->min_ns);
		sb_text_ms(&b, " p50 ", lat_minute_quantile(lm, 0.50));
		sb_text_ms(&b, " p95 ", lat_minute_quantile(lm, 0.95));
		sb_text_ms(&b, " max ", lm->max_ns);
	}
	return sb_text_end(&b, c, target);
}
