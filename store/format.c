#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "store/store.h"

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

/* A bounded appender: every write checks the room left. */
struct sbuf {
	char *p;
	size_t len, used;
	bool overflow;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->used, b->len - b->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->len - b->used)
		b->overflow = true;
	else
		b->used += (size_t)n;
}

static void sb_json_string(struct sbuf *b, const char *s)
{
	sb_printf(b, "\"");
	for (; *s && !b->overflow; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c == '\n')
			sb_printf(b, "\\n");
		else if (c == '\t')
			sb_printf(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sb_printf(b, "\\u%04x", c);
		else
			sb_printf(b, "%c", c);
	}
	sb_printf(b, "\"");
}

int store_format_ndjson(char *buf, size_t len, const struct probe_result *r, const struct target *t,
			const char *name)
{
	struct sbuf b = { .p = buf, .len = len };
	char ts[40], ip[ADDR_STRLEN], from[ADDR_STRLEN];

	if (len == 0)
		return -ENOSPC;
	clock_format_rfc3339(r->ts_real_ns, ts, sizeof(ts));
	sb_printf(&b, "{\"type\":\"result\",\"ts\":\"%s\",\"ip\":\"%s\",\"port\":%u,\"state\":\"%s\"", ts,
		  addr_format(&t->addr, ip, sizeof(ip)), t->port, probe_state_name(r->state));
	if (r->rtt_ns >= 0)
		sb_printf(&b, ",\"rtt_us\":%lld.%03lld", (long long)(r->rtt_ns / 1000),
			  (long long)(r->rtt_ns % 1000));
	else
		sb_printf(&b, ",\"rtt_us\":null");
	sb_printf(&b, ",\"attempt\":%u,\"ttl\":", r->attempt);
	if (r->ttl)
		sb_printf(&b, "%u", r->ttl);
	else
		sb_printf(&b, "null");
	if (r->state == PROBE_UNREACHABLE)
		sb_printf(&b, ",\"icmp_type\":%u,\"icmp_code\":%u,\"icmp_from\":\"%s\"", r->icmp_type, r->icmp_code,
			  addr_format(&r->from, from, sizeof(from)));
	if (r->state == PROBE_ERROR) {
		sb_printf(&b, ",\"error\":");
		sb_json_string(&b, strerror(r->err));
	}
	if (r->rtt_approx)
		sb_printf(&b, ",\"rtt_approx\":true");
	if (name) {
		sb_printf(&b, ",\"name\":");
		sb_json_string(&b, name);
	}
	sb_printf(&b, "}\n");
	return b.overflow ? -ENOSPC : (int)b.used;
}

int store_format_text(char *buf, size_t len, const struct probe_result *r, const struct target *t,
		      const char *name)
{
	struct sbuf b = { .p = buf, .len = len };
	char ip[ADDR_STRLEN + 8], from[ADDR_STRLEN], rtt[32] = "-";

	if (len == 0)
		return -ENOSPC;
	if (t->addr.family == AF_INET6) {
		char a[ADDR_STRLEN];
		snprintf(ip, sizeof(ip), "[%s]", addr_format(&t->addr, a, sizeof(a)));
	} else {
		addr_format(&t->addr, ip, sizeof(ip));
	}
	if (r->rtt_ns >= 0)
		snprintf(rtt, sizeof(rtt), "%s%.3f ms", r->rtt_approx ? "~" : "", (double)r->rtt_ns / 1e6);
	sb_printf(&b, "%s:%-5u %-11s %12s", ip, t->port, probe_state_name(r->state), rtt);
	if (r->ttl)
		sb_printf(&b, "  ttl %u", r->ttl);
	if (r->state == PROBE_UNREACHABLE)
		sb_printf(&b, "  icmp %u/%u from %s", r->icmp_type, r->icmp_code,
			  addr_format(&r->from, from, sizeof(from)));
	if (r->state == PROBE_ERROR)
		sb_printf(&b, "  %s", strerror(r->err));
	if (name)
		sb_printf(&b, "  %s", name);
	sb_printf(&b, "\n");
	return b.overflow ? -ENOSPC : (int)b.used;
}
