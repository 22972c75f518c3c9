/* The `check:` of a group or a named target (daemon/checkconf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/clock.h"
#include "daemon/checkconf.h"
#include "engine/tls.h"

/* What a check mapping says, as read; turned into a spec once checked. */
struct opts {
	char *kind, *starttls, *sni, *ca_file, *request, *host, *user, *database, *auth, *helo, *send, *expect;
	char **status;
	size_t n_status;
	int64_t interval_ns, timeout_ns;
	uint32_t warn_days, crit_days;
	bool verify;
};

enum {
	O_KIND, O_INTERVAL, O_TIMEOUT, O_STARTTLS, O_SNI, O_VERIFY, O_CA_FILE, O_WARN, O_CRIT, O_REQUEST, O_HOST,
	O_STATUS, O_USER, O_DATABASE, O_AUTH, O_HELO, O_SEND, O_EXPECT,
};

#define O(member) YCONF_AT(struct opts, member)
static const char *const starttls_names[] = { "auto", "required", "never", NULL };

static const struct yconf_field opt_fields[] = {
	{ .key = "kind", .parse = yconf_str, O(kind), .bit = O_KIND, .what = "a check, like postgres or tls" },
	{ .key = "interval", .parse = yconf_duration, O(interval_ns), .bit = O_INTERVAL, .min = NSEC_PER_SEC,
	  .max = 86400 * NSEC_PER_SEC, .what = "a duration like 1m" },
	{ .key = "timeout", .parse = yconf_duration, O(timeout_ns), .bit = O_TIMEOUT, .min = 10 * NSEC_PER_MSEC,
	  .max = 600 * NSEC_PER_SEC, .what = "a duration like 2s" },
	{ .key = "starttls", .parse = yconf_str, O(starttls), .bit = O_STARTTLS, .choices = starttls_names,
	  .what = "auto, required or never" },
	{ .key = "sni", .parse = yconf_str, O(sni), .bit = O_SNI, .what = "a server name" },
	{ .key = "verify", .parse = yconf_bool, O(verify), .bit = O_VERIFY, .what = "true or false" },
	{ .key = "ca_file", .parse = yconf_str, O(ca_file), .bit = O_CA_FILE, .what = "a PEM file of CA certificates" },
	{ .key = "cert_warn_days", .parse = yconf_uint, O(warn_days), .bit = O_WARN, .max = 3650,
	  .what = "a number of days" },
	{ .key = "cert_crit_days", .parse = yconf_uint, O(crit_days), .bit = O_CRIT, .max = 3650,
	  .what = "a number of days" },
	{ .key = "request", .parse = yconf_str, O(request), .bit = O_REQUEST,
	  .what = "a request line, like \"GET /healthz HTTP/1.1\"" },
	{ .key = "host", .parse = yconf_str, O(host), .bit = O_HOST, .what = "a Host: header value" },
	{ .key = "status", .parse = yconf_strlist, O(status), .off_n = offsetof(struct opts, n_status),
	  .bit = O_STATUS, .what = "status classes that count as up, like [2, 3]" },
	{ .key = "user", .parse = yconf_str, O(user), .bit = O_USER, .what = "a user name" },
	{ .key = "database", .parse = yconf_str, O(database), .bit = O_DATABASE, .what = "a database name" },
	{ .key = "auth", .parse = yconf_str, O(auth), .bit = O_AUTH, .what = "a password, or user:password" },
	{ .key = "helo", .parse = yconf_str, O(helo), .bit = O_HELO, .what = "a host name for EHLO" },
	{ .key = "send", .parse = yconf_str, O(send), .bit = O_SEND, .what = "bytes to send (\\r \\n \\t \\\\ \\xNN)" },
	{ .key = "expect", .parse = yconf_str, O(expect), .bit = O_EXPECT, .what = "a regular expression (PCRE2)" },
};
static const struct yconf_table opt_table = YCONF_TABLE(opt_fields);

/* Which kinds take an option (beyond kind, interval and timeout). */
static bool takes(enum check_kind k, unsigned opt)
{
	bool tls = check_kind_implicit_tls(k) || check_kind_starttls(k);
	switch (opt) {
	case O_STARTTLS:
		return check_kind_starttls(k);
	case O_SNI:
	case O_VERIFY:
	case O_CA_FILE:
	case O_WARN:
	case O_CRIT:
		return tls;
	case O_REQUEST:
	case O_HOST:
	case O_STATUS:
		return k == CHECK_HTTP || k == CHECK_HTTPS;
	case O_USER:
	case O_DATABASE:
		return k == CHECK_POSTGRES;
	case O_AUTH:
		return k == CHECK_REDIS;
	case O_HELO:
		return k == CHECK_SMTP || k == CHECK_SUBMISSION || k == CHECK_SMTPS;
	case O_SEND:
	case O_EXPECT:
		return k == CHECK_GENERIC;
	}
	return true;
}

static void opts_release(struct opts *o)
{
	free(o->kind);
	free(o->starttls);
	free(o->sni);
	free(o->ca_file);
	free(o->request);
	free(o->host);
	free(o->user);
	free(o->database);
	free(o->auth);
	free(o->helo);
	free(o->send);
	free(o->expect);
	yconf_free_strv(o->status, o->n_status);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* send: escapes decoded into out (at most CHECK_SEND_MAX bytes). Returns
 * the length, or -1 with a message in msg. */
static ssize_t unescape(const char *s, uint8_t *out, char *msg, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; s[i]; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c == '\\') {
			char e = s[++i];
			switch (e) {
			case 'r':
				c = '\r';
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case '0':
				c = 0;
				break;
			case '\\':
				c = '\\';
				break;
			case 'x': {
				int h = hexval(s[i + 1]), l = h >= 0 ? hexval(s[i + 2]) : -1;
				if (h < 0 || l < 0) {
					snprintf(msg, len, "'\\x' wants two hex digits");
					return -1;
				}
				c = (uint8_t)(h << 4 | l);
				i += 2;
				break;
			}
			default:
				snprintf(msg, len, "unknown escape '\\%c' (expected \\r \\n \\t \\0 \\\\ \\xNN)", e ? e : ' ');
				return -1;
			}
		}
		if (o == CHECK_SEND_MAX) {
			snprintf(msg, len, "more than %d bytes", CHECK_SEND_MAX);
			return -1;
		}
		out[o++] = c;
	}
	return (ssize_t)o;
}

static char *take(char **s)
{
	char *t = *s;
	*s = NULL;
	return t;
}

/* The spec from checked options; the messages name the option. */
static int build(struct yconf *p, yaml_node_t *v, struct opts *o, const struct yconf_scope *ss, const char *where,
		 struct check_spec **out)
{
	int kind = check_kind_parse(o->kind, strlen(o->kind));
	char msg[256];

	if (kind < 0)
		return yconf_fail(p, v->start_mark,
				  "check '" YCONF_QUOTE "' %s: expected one of connect, tls, ssh, smtp, submission, smtps, "
				  "imap, imaps, pop3, pop3s, ftp, redis, postgres, mysql, http, https, amqp, mongodb, "
				  "memcached, vnc, generic",
				  o->kind, where);
	for (unsigned i = 0; i < opt_table.n; i++)
		if ((ss->set & YCONF_BIT(opt_fields[i].bit)) && !takes((enum check_kind)kind, opt_fields[i].bit))
			return yconf_fail(p, ss->mark[opt_fields[i].bit], "check %s %s takes no '%s'", o->kind, where,
					  opt_fields[i].key);
	struct check_spec *s = check_spec_new((enum check_kind)kind);
	if (!s)
		return yconf_nomem(p);
	s->interval_ns = o->interval_ns;
	s->timeout_ns = o->timeout_ns;
	s->verify = o->verify;
	if (ss->set & YCONF_BIT(O_WARN))
		s->cert_warn_days = (int32_t)o->warn_days;
	if (ss->set & YCONF_BIT(O_CRIT))
		s->cert_crit_days = (int32_t)o->crit_days;
	if (s->cert_crit_days > s->cert_warn_days) {
		check_spec_unref(s);
		return yconf_fail(p, v->start_mark, "check %s %s: cert_crit_days (%d) above cert_warn_days (%d)", o->kind,
				  where, (int)o->crit_days, (int)o->warn_days);
	}
	if (o->starttls)
		s->starttls = (uint8_t)(strcmp(o->starttls, "required") == 0 ? CHECK_STARTTLS_REQUIRED
					 : strcmp(o->starttls, "never") == 0  ? CHECK_STARTTLS_NEVER
									      : CHECK_STARTTLS_AUTO);
	for (size_t i = 0; i < o->n_status; i++) {
		const char *c = o->status[i];
		if (c[0] < '1' || c[0] > '5' || (c[1] && strcmp(c + 1, "xx") != 0)) {
			check_spec_unref(s);
			return yconf_fail(p, ss->mark[O_STATUS], "check %s %s: status '" YCONF_QUOTE
					  "': expected a class 1-5 (or 2xx)", o->kind, where, c);
		}
		s->http_classes |= (uint8_t)CHECK_HTTP_CLASS(c[0] - '0');
	}
	s->sni = take(&o->sni);
	s->ca_file = take(&o->ca_file);
	s->request = take(&o->request);
	s->host_header = take(&o->host);
	s->user = take(&o->user);
	s->database = take(&o->database);
	s->auth = take(&o->auth);
	s->helo = take(&o->helo);
	if (o->send) {
		uint8_t buf[CHECK_SEND_MAX];
		ssize_t n = unescape(o->send, buf, msg, sizeof(msg));
		if (n < 0 || !(s->send = malloc(n ? (size_t)n : 1))) {
			check_spec_unref(s);
			return n < 0 ? yconf_fail(p, ss->mark[O_SEND], "check %s %s: send: %s", o->kind, where, msg)
				     : yconf_nomem(p);
		}
		memcpy(s->send, buf, (size_t)n);
		s->send_len = (size_t)n;
	}
	if (o->expect) {
		int e;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)o->expect, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE, &e, &off, NULL);
		if (!re) {
			PCRE2_UCHAR why[120];
			pcre2_get_error_message(e, why, sizeof(why));
			check_spec_unref(s);
			return yconf_fail(p, ss->mark[O_EXPECT], "check %s %s: expect '" YCONF_QUOTE "': %s at offset %zu",
					  o->kind, where, o->expect, (const char *)why, (size_t)off);
		}
		s->expect_re = (struct pcre2_real_code_8 *)re;
		s->expect = take(&o->expect);
	}
	if (s->ca_file) {
		/* a CA file that does not load stops the configuration here, not
		 * the first check at 3 a.m. */
		struct tls_ctx *ctx;
		if (tls_ctx_new(&ctx, s->ca_file, msg, sizeof(msg)) < 0) {
			check_spec_unref(s);
			return yconf_fail(p, ss->mark[O_CA_FILE], "check %s %s: %s", o->kind, where, msg);
		}
		tls_ctx_free(ctx);
	}
	*out = s;
	return 0;
}

int config_parse_check(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		       struct yconf_scope *s)
{
	struct check_spec **dst = (struct check_spec **)((char *)base + f->off);
	struct opts o = { 0 };
	struct yconf_scope os = { .owner = s->owner };
	char where[200];
	int r;

	snprintf(where, sizeof(where), "in %s", s->owner ? s->owner : "the configuration");
	if (v->type == YAML_SCALAR_NODE) {
		const char *t;
		if ((r = yconf_want_text(p, v, f->key, f->what, &t)) < 0)
			return r;
		if (!(o.kind = strdup(t)))
			return yconf_nomem(p);
	} else if (v->type == YAML_MAPPING_NODE) {
		if ((r = yconf_map(p, v, &opt_table, &o, &os, where)) < 0)
			goto out;
		if (!o.kind) {
			r = yconf_fail(p, v->start_mark, "check %s has no 'kind': expected one, like kind: postgres", where);
			goto out;
		}
	} else {
		return yconf_wrong_type(p, v, f->key, f->what);
	}
	check_spec_unref(*dst);
	*dst = NULL;
	r = build(p, v, &o, &os, where, dst);
out:
	opts_release(&o);
	return r;
}
