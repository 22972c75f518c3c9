/* Alert texts (tools/alert/alert-format.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/json.h"
#include "store/schema.h"
#include "tools/alert/alert-format.h"

/* RFC 5322 allows 998 characters a line; long label values are cut there. */
#define MAIL_LINE_MAX 900
/* RFC 2047: an encoded word is at most 75 characters; 45 bytes of text
 * make 60 of base64. */
#define SUBJECT_CHUNK 45

const char *alert_duration_text(int64_t ns, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		int64_t s;
	} units[] = { { "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 } };
	int64_t s = ns > 0 ? ns / NSEC_PER_SEC : 0;
	size_t i = 0;

	while (i + 1 < sizeof(units) / sizeof(units[0]) && s < units[i].s)
		i++;
	int64_t big = s / units[i].s,
		rest = i + 1 < sizeof(units) / sizeof(units[0]) ? s % units[i].s / units[i + 1].s : 0;
	if (rest)
		snprintf(buf, len, "%lld%s%lld%s", (long long)big, units[i].unit, (long long)rest,
			 units[i + 1].unit);
	else
		snprintf(buf, len, "%lld%s", (long long)big, units[i].unit);
	return buf;
}

/* The local time of ns; with the day when it is not the day of now_ns. */
static const char *local_time(int64_t ns, int64_t now_ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / NSEC_PER_SEC), n = (time_t)(now_ns / NSEC_PER_SEC);
	struct tm tm, tn;

	if (!localtime_r(&t, &tm) || !localtime_r(&n, &tn) ||
	    strftime(buf, len,
		     tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday ? "%H:%M:%S %Z"
									  : "%a %d %b %H:%M:%S %Z",
		     &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
	return buf;
}

/* "812 ms", "4.2 ms", "1.3 s" */
static const char *ms_text(double us, char *buf, size_t len)
{
	double ms = us / 1000;

	if (ms >= 10000)
		snprintf(buf, len, "%.1f s", ms / 1000);
	else if (ms >= 10)
		snprintf(buf, len, "%.0f ms", ms);
	else
		snprintf(buf, len, "%.1f ms", ms);
	return buf;
}

/* Text from Redis goes into messages: control characters become '?', so
 * that a name cannot forge lines of its own. */
static void add_clean(struct buf *b, const char *s)
{
	for (const char *run = s;; s++) {
		if (*s && !((unsigned char)*s < 0x20 || *s == 0x7f))
			continue;
		buf_add(b, run, (size_t)(s - run));
		if (!*s)
			return;
		buf_add(b, "?", 1);
		run = s + 1;
	}
}

static const char *icmp_text(const struct alert_event *e)
{
	static const char *const v4[] = {
		"network unreachable",	    "host unreachable",	    "protocol unreachable",
		"port unreachable",	    "fragmentation needed", "source route failed",
		"network unknown",	    "host unknown",	    "source host isolated",
		"network prohibited",	    "host prohibited",	    "network unreachable for TOS",
		"host unreachable for TOS", "admin prohibited",	    "host precedence violation",
		"precedence cutoff",
	};
	static const char *const v6[] = {
		"no route", "admin prohibited", "beyond scope", "address unreachable",
		"port unreachable", "source address failed policy", "reject route",
	};
	bool six = strchr(e->ip, ':') != NULL;
	int c = e->icmp_code;

	if (six)
		return c >= 0 && (size_t)c < sizeof(v6) / sizeof(v6[0]) ? v6[c] : NULL;
	return c >= 0 && (size_t)c < sizeof(v4) / sizeof(v4[0]) ? v4[c] : NULL;
}

/* "a,b,c": 3 ("": 0) */
static unsigned list_len(const char *s)
{
	unsigned n = *s ? 1 : 0;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

/* "a,b,c" as "a, b, c" */
static void add_list(struct buf *b, const char *s)
{
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ",");
		char part[SCHEMA_LOCATION_MAX + 1];
		snprintf(part, sizeof(part), "%.*s", (int)n, p);
		if (p != s)
			buf_puts(b, ", ");
		add_clean(b, part);
		p += n;
		p += *p == ',';
	}
}

/* What a service check said, for the reasons that are its verdicts: its
 * own words (the server's, or "certificate expired 3 days ago", as the
 * prober put them), else what the reason means. */
static void add_check_said(struct buf *b, const struct alert_event *e)
{
	const char *r = e->reason;

	if (*e->check_error)
		add_clean(b, e->check_error);
	else if (strcmp(r, "cert_expired") == 0)
		buf_puts(b, "certificate expired");
	else if (strcmp(r, "cert_expiring") == 0)
		buf_puts(b, "certificate expiring");
	else if (strcmp(r, "cert_unverified") == 0)
		buf_puts(b, "certificate not verified");
	else if (*e->check) {
		buf_puts(b, "the ");
		add_clean(b, e->check);
		buf_puts(b, " check failed");
	}
	else
		buf_puts(b, "the service check failed");
}

/* What a probe saw: "refused", "timed out", "unreachable (ICMP code 13,
 * admin prohibited)", or what the service check said. */
static void add_down_reason(struct buf *b, const struct alert_event *e)
{
	const char *r = e->reason;

	if (fv_reason_is_check(r)) {
		add_check_said(b, e);
	} else if (strcmp(r, "refused") == 0) {
		buf_puts(b, "refused");
	} else if (strcmp(r, "timeout") == 0) {
		buf_puts(b, "timed out");
	} else if (strcmp(r, "unreachable") == 0) {
		const char *what = icmp_text(e);
		const char *icmp = strchr(e->ip, ':') ? "ICMPv6" : "ICMP";
		if (e->icmp_code < 0)
			buf_puts(b, "unreachable");
		else if (what)
			buf_printf(b, "unreachable (%s code %d, %s)", icmp, e->icmp_code, what);
		else
			buf_printf(b, "unreachable (%s code %d)", icmp, e->icmp_code);
	} else if (strcmp(r, "error") == 0) {
		buf_puts(b, "the probe could not be sent");
	} else if (strcmp(r, "settled") == 0) {
		buf_puts(b, "down after flapping");
	} else {
		add_clean(b, *r ? r : "down");
	}
}

/* "p95 812 ms over 500 ms" (the threshold when the event has it) */
static void add_slow_reason(struct buf *b, const struct alert_event *e)
{
	double limit = strcmp(e->reason, "slow_critical") == 0 ? e->crit_us : e->warn_us;
	char a[32], l[32];

	if (e->rtt_us < 0)
		buf_puts(b, "slow");
	else if (limit > 0)
		buf_printf(b, "p95 %s over %s", ms_text(e->rtt_us, a, sizeof(a)),
			      ms_text(limit, l, sizeof(l)));
	else
		buf_printf(b, "p95 %s", ms_text(e->rtt_us, a, sizeof(a)));
}

/* "Production DB (198.18.1.9:5432)", "198.18.1.9:5432", "db-3 (198.18.1.9)";
 * a port with a service check says it: "db-7 (198.18.0.8:5432, postgres)",
 * "198.18.0.8:5432 (postgres)" */
static void add_subject(struct buf *b, const struct alert_msg *m)
{
	const struct alert_event *e = m->e;

	switch (m->cls) {
	case ALERT_HOST:
		if (m->status == ALERT_RESOLVED)
			buf_puts(b, "host ");
		if (*e->name) {
			add_clean(b, e->name);
			buf_puts(b, " (");
			add_clean(b, e->ip);
			buf_puts(b, ")");
		} else {
			add_clean(b, e->ip);
		}
		return;
	case ALERT_PROBER:
		if (m->status == ALERT_RESOLVED)
			buf_puts(b, "prober ");
		add_clean(b, *e->prober ? e->prober : e->location);
		return;
	default:
		if (*e->name) {
			add_clean(b, e->name);
			buf_puts(b, " (");
			add_clean(b, e->target);
			if (*e->check) {
				buf_puts(b, ", ");
				add_clean(b, e->check);
			}
			buf_puts(b, ")");
		} else {
			add_clean(b, e->target);
			if (*e->check) {
				buf_puts(b, " (");
				add_clean(b, e->check);
				buf_puts(b, ")");
			}
		}
	}
}

static const char *firing_word(enum alert_class c, const struct alert_event *e, bool again)
{
	/* degraded by its certificate, not by its latency */
	if (c == ALERT_SLOW && strcmp(e->reason, "cert_expiring") == 0)
		return again ? "STILL DEGRADED" : "DEGRADED";
	static const char *const words[][2] = {
		[ALERT_NONE] = { "ALERT", "STILL" },
		[ALERT_DOWN] = { "DOWN", "STILL DOWN" },
		[ALERT_SLOW] = { "SLOW", "STILL SLOW" },
		[ALERT_FLAPPING] = { "FLAPPING", "STILL FLAPPING" },
		[ALERT_HOST] = { "HOST DOWN", "HOST STILL DOWN" },
		[ALERT_PROBER] = { "PROBER ISOLATED", "PROBER STILL ISOLATED" },
		[ALERT_LOCATION] = { "LOCATION ISSUE", "STILL A LOCATION ISSUE" },
		[ALERT_INFO] = { "ADDRESS CHANGED", "ADDRESS CHANGED" },
	};

	return (unsigned)c < sizeof(words) / sizeof(words[0]) ? words[c][again] : "ALERT";
}

/* What happened, after the colon of the headline. */
static void add_what(struct buf *b, const struct alert_msg *m)
{
	const struct alert_event *e = m->e;

	switch (m->cls) {
	case ALERT_DOWN:
		add_down_reason(b, e);
		break;
	case ALERT_SLOW:
		if (fv_reason_is_check(e->reason)) {
			add_check_said(b, e);
			break;
		}
		add_slow_reason(b, e);
		if (strcmp(e->reason, "slow_critical") == 0)
			buf_puts(b, " (critical)");
		break;
	case ALERT_FLAPPING:
		buf_puts(b, "going up and down; no more alerts for it until it settles");
		break;
	case ALERT_HOST:
		if (e->ports)
			buf_printf(b, "all %u watched ports down", e->ports);
		else
			buf_puts(b, "all watched ports down");
		/* the host's ping tells a service outage from a host that is gone */
		if (strcmp(e->ping, "up") == 0)
			buf_puts(b, "; it still answers ping: services down, host alive");
		else if (strcmp(e->ping, "down") == 0)
			buf_puts(b, "; no answer to ping either: host unreachable");
		break;
	case ALERT_PROBER:
		if (e->failing_share >= 0)
			buf_printf(b, "%.0f%% of its checks fail at once", e->failing_share * 100);
		else
			buf_puts(b, "its checks fail at once");
		buf_puts(b, ": its own network is the likely cause; it holds target states meanwhile");
		break;
	case ALERT_LOCATION: {
		unsigned down = list_len(e->locations_down), all = list_len(e->locations);
		buf_puts(b, "down from ");
		add_list(b, e->locations_down);
		buf_printf(b, " only (%u of %u locations", down, all);
		if (e->quorum)
			buf_printf(b, "; an outage needs %u", e->quorum);
		buf_puts(b, "): a routing or location problem, not an outage");
		break;
	}
	case ALERT_INFO:
		add_clean(b, *e->old_ip ? e->old_ip : "?");
		buf_puts(b, " -> ");
		add_clean(b, e->ip);
		break;
	case ALERT_NONE:
		add_clean(b, e->kind);
		break;
	}
}

/* After "RESOLVED subject: ". */
static void add_resolved_what(struct buf *b, const struct alert_msg *m)
{
	static const char *const words[] = {
		[ALERT_NONE] = "over",
		[ALERT_DOWN] = "up again",
		[ALERT_SLOW] = "fast again",
		[ALERT_FLAPPING] = "stopped flapping",
		[ALERT_HOST] = "answering again",
		[ALERT_PROBER] = "its network is back",
		[ALERT_LOCATION] = "every location sees it up again",
		[ALERT_INFO] = "over",
	};
	const struct alert_event *e = m->e;
	char d[32];

	if (m->cls == ALERT_LOCATION && strcmp(e->reason, "global_down") == 0) {
		buf_puts(b, "enough locations see it down now: an outage, no longer a location issue");
		return;
	}
	if (m->cls == ALERT_LOCATION && strcmp(e->reason, "gone") == 0) {
		buf_puts(b, "no location watches it any more");
		return;
	}
	/* what the alert was about says what its end means */
	const char *was = m->first ? m->first->reason : "";
	if (m->cls == ALERT_SLOW && strcmp(was, "cert_expiring") == 0)
		buf_puts(b, "certificate renewed");
	else if (m->cls == ALERT_DOWN && strcmp(was, "cert_expired") == 0)
		buf_puts(b, "certificate renewed, up again");
	else if (m->cls == ALERT_DOWN && strcmp(was, "cert_unverified") == 0)
		buf_puts(b, "certificate verifies again, up again");
	else
		buf_puts(b, (unsigned)m->cls < sizeof(words) / sizeof(words[0]) ? words[m->cls] : "over");
	if (m->started_ns && e->ts_ns >= m->started_ns)
		buf_printf(b, " after %s", alert_duration_text(e->ts_ns - m->started_ns, d, sizeof(d)));
	if (m->cls == ALERT_DOWN && strcmp(was, "check_failed") == 0 && *e->check) {
		buf_puts(b, "; the ");
		add_clean(b, e->check);
		buf_puts(b, " check passes");
	}
	if (m->cls == ALERT_FLAPPING && *e->to) {
		buf_puts(b, ", now ");
		add_clean(b, e->to);
	}
}

void alert_format_title(struct buf *b, const struct alert_msg *m)
{
	if (m->status == ALERT_RESOLVED) {
		buf_puts(b, "RESOLVED ");
		add_subject(b, m);
		buf_puts(b, ": ");
		add_resolved_what(b, m);
		return;
	}
	buf_printf(b, "%s ", firing_word(m->cls, m->e, m->status == ALERT_REMINDER));
	add_subject(b, m);
	buf_puts(b, ": ");
	add_what(b, m);
}

static void add_locations(struct buf *b, const struct alert_msg *m)
{
	const struct alert_event *e = m->e;

	/* synwatch-quorum's: which locations see it down, of how many */
	if (m->status != ALERT_RESOLVED && *e->locations && m->cls != ALERT_LOCATION && *e->locations_down) {
		buf_printf(b, "\nseen down from %u of %u locations: ", list_len(e->locations_down),
			      list_len(e->locations));
		add_list(b, e->locations_down);
		if (e->quorum)
			buf_printf(b, " (quorum %u)", e->quorum);
		return;
	}
	if (m->cls == ALERT_LOCATION && *e->locations) {
		buf_puts(b, "\nlocations watching it: ");
		add_list(b, e->locations);
		return;
	}
	if (m->n_locations == 0 && !*m->e->location)
		return;
	buf_puts(b, m->status == ALERT_RESOLVED ? "\nfrom " : "\nseen from ");
	if (m->n_locations == 0)
		add_clean(b, m->e->location);
	for (size_t i = 0; i < m->n_locations; i++) {
		if (i)
			buf_puts(b, ", ");
		add_clean(b, m->locations[i]);
	}
}

static void add_labels(struct buf *b, const struct alert_event *e)
{
	if (*e->group) {
		buf_puts(b, "\ngroup ");
		add_clean(b, e->group);
	}
	for (size_t i = 0; i < e->n_labels; i++) {
		buf_puts(b, i ? ", " : (*e->group ? ", " : "\n"));
		add_clean(b, e->labels[i].name);
		buf_puts(b, "=");
		add_clean(b, e->labels[i].value);
	}
}

void alert_format_text(struct buf *b, const struct alert_msg *m)
{
	const struct alert_event *e = m->e;
	char t1[64], t2[64], d[32];

	alert_format_title(b, m);
	if (m->status == ALERT_RESOLVED) {
		if (m->started_ns)
			buf_printf(b, "\n%s since %s, over at %s",
				      m->cls == ALERT_HOST ? "down" : alert_class_name(m->cls),
				      local_time(m->started_ns, m->now_ns, t1, sizeof(t1)),
				      local_time(e->ts_ns, m->now_ns, t2, sizeof(t2)));
	} else if (m->started_ns) {
		buf_printf(b, "\nsince %s (for %s)", local_time(m->started_ns, m->now_ns, t1, sizeof(t1)),
			      alert_duration_text(m->now_ns - m->started_ns, d, sizeof(d)));
	}
	add_locations(b, m);
	if (m->cls == ALERT_HOST && m->host_ports && *m->host_ports) {
		buf_puts(b, "\nports: ");
		add_clean(b, m->host_ports);
	}
	add_labels(b, e);
	if (m->note && *m->note) {
		buf_puts(b, "\n");
		add_clean(b, m->note);
	}
}

static const char *status_name(enum alert_status s)
{
	return s == ALERT_RESOLVED ? "resolved" : s == ALERT_REMINDER ? "reminder" : "firing";
}

void alert_format_webhook(struct buf *b, const struct alert_msg *m, const char *title, const char *text)
{
	const struct alert_event *e = m->e;
	bool first = false, first_label = true;

	buf_printf(b, "{\"status\":\"%s\",\"alert\":\"%s\"", status_name(m->status),
		      alert_class_name(m->cls));
	if (*e->entry)
		json_put_kv(b, &first, "entry", e->entry);
	for (size_t i = 0; i < e->rec.n; i++)
		if (strcmp(e->rec.keys[i], "labels") != 0)
			json_put_kv(b, &first, e->rec.keys[i], e->rec.vals[i]);
	json_put_key(b, &first, "labels");
	buf_puts(b, "{");
	for (size_t i = 0; i < e->n_labels; i++)
		json_put_kv(b, &first_label, e->labels[i].name, e->labels[i].value);
	buf_puts(b, "},\"locations\":[");
	for (size_t i = 0; i < m->n_locations; i++) {
		buf_puts(b, i ? "," : "");
		json_put_str(b, m->locations[i]);
	}
	buf_puts(b, "],\"title\":");
	json_put_str(b, title);
	buf_puts(b, ",\"text\":");
	json_put_str(b, text);
	buf_puts(b, "}");
}

void alert_format_telegram(struct buf *b, const char *chat_id, const char *text)
{
	buf_puts(b, "{\"chat_id\":");
	json_put_str(b, chat_id);
	buf_puts(b, ",\"text\":");
	json_put_str(b, text);
	buf_puts(b, ",\"disable_web_page_preview\":true}");
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* The length of at most max bytes of s that does not split a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Subject: as is when it is ASCII, else RFC 2047 encoded words. */
static void add_subject_header(struct buf *b, const char *title)
{
	buf_puts(b, "Subject: ");
	if (ascii(title)) {
		add_clean(b, title);
		buf_puts(b, "\r\n");
		return;
	}
	for (const char *s = title; *s;) {
		size_t n = utf8_cut(s, SUBJECT_CHUNK);
		char enc[sodium_base64_ENCODED_LEN(SUBJECT_CHUNK, sodium_base64_VARIANT_ORIGINAL)];

		if (n == 0)
			n = 1; /* not UTF-8 at all: go on byte by byte */
		sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)s, n,
				  sodium_base64_VARIANT_ORIGINAL);
		buf_printf(b, "%s=?UTF-8?B?%s?=", s == title ? "" : "\r\n ", enc);
		s += n;
	}
	buf_puts(b, "\r\n");
}

void alert_format_email(struct buf *b, const char *from, char *const *to, size_t n_to, const char *title,
			const char *text, int64_t now_ns, const char *msg_id)
{
	time_t t = (time_t)(now_ns / NSEC_PER_SEC);
	const char *domain = strchr(from, '@');
	char date[64];
	struct tm tm;

	if (!localtime_r(&t, &tm) || strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(date, sizeof(date), "Thu, 01 Jan 1970 00:00:00 +0000");
	buf_printf(b, "Date: %s\r\nFrom: %s\r\nTo: ", date, from);
	for (size_t i = 0; i < n_to; i++)
		buf_printf(b, "%s%s", i ? ", " : "", to[i]);
	buf_puts(b, "\r\n");
	add_subject_header(b, title);
	buf_printf(b, "Message-ID: <%s@%s>\r\n", msg_id, domain ? domain + 1 : "synwatch.invalid");
	buf_puts(b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n");
	/* lines end in CRLF; an overlong one is cut where the RFC allows */
	for (const char *s = text; *s;) {
		size_t n = strcspn(s, "\n");
		size_t k = utf8_cut(s, n < MAIL_LINE_MAX ? n : MAIL_LINE_MAX);
		if (k == 0 && n > 0)
			k = n < MAIL_LINE_MAX ? n : MAIL_LINE_MAX;
		buf_add(b, s, k);
		buf_puts(b, "\r\n");
		s += k;
		if (*s == '\n')
			s++;
	}
}
