#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/probe.h"
#include "common/utf8.h"
#include "common/check.h"

static const struct {
	const char *name;
	bool implicit_tls, starttls;
} kinds[CHECK_KIND_COUNT] = {
	[CHECK_NONE] = { "none", false, false },
	[CHECK_CONNECT] = { "connect", false, false },
	[CHECK_TLS] = { "tls", true, false },
	[CHECK_SSH] = { "ssh", false, false },
	[CHECK_SMTP] = { "smtp", false, true },
	[CHECK_SUBMISSION] = { "submission", false, true },
	[CHECK_SMTPS] = { "smtps", true, false },
	[CHECK_IMAP] = { "imap", false, true },
	[CHECK_IMAPS] = { "imaps", true, false },
	[CHECK_POP3] = { "pop3", false, true },
	[CHECK_POP3S] = { "pop3s", true, false },
	[CHECK_FTP] = { "ftp", false, true },
	[CHECK_REDIS] = { "redis", false, false },
	[CHECK_POSTGRES] = { "postgres", false, true },
	[CHECK_MYSQL] = { "mysql", false, false },
	[CHECK_HTTP] = { "http", false, false },
	[CHECK_HTTPS] = { "https", true, false },
	[CHECK_AMQP] = { "amqp", false, false },
	[CHECK_MONGODB] = { "mongodb", false, false },
	[CHECK_MEMCACHED] = { "memcached", false, false },
	[CHECK_VNC] = { "vnc", false, false },
	[CHECK_GENERIC] = { "generic", false, false },
};

const char *check_kind_name(enum check_kind k)
{
	return (unsigned)k < CHECK_KIND_COUNT ? kinds[k].name : NULL;
}

int check_kind_parse(const char *s, size_t n)
{
	for (int k = CHECK_CONNECT; k < CHECK_KIND_COUNT; k++)
		if (strlen(kinds[k].name) == n && strncmp(kinds[k].name, s, n) == 0)
			return k;
	return -1;
}

bool check_kind_implicit_tls(enum check_kind k)
{
	return (unsigned)k < CHECK_KIND_COUNT && kinds[k].implicit_tls;
}

bool check_kind_starttls(enum check_kind k)
{
	return (unsigned)k < CHECK_KIND_COUNT && kinds[k].starttls;
}

#define DEFAULT_SPEC(k) [k] = { .refs = 1, .kind = k, .cert_warn_days = 14, .cert_crit_days = 3 }
static struct check_spec defaults[CHECK_KIND_COUNT] = {
	DEFAULT_SPEC(CHECK_CONNECT),   DEFAULT_SPEC(CHECK_TLS),      DEFAULT_SPEC(CHECK_SSH),
	DEFAULT_SPEC(CHECK_SMTP),      DEFAULT_SPEC(CHECK_SUBMISSION), DEFAULT_SPEC(CHECK_SMTPS),
	DEFAULT_SPEC(CHECK_IMAP),      DEFAULT_SPEC(CHECK_IMAPS),    DEFAULT_SPEC(CHECK_POP3),
	DEFAULT_SPEC(CHECK_POP3S),     DEFAULT_SPEC(CHECK_FTP),      DEFAULT_SPEC(CHECK_REDIS),
	DEFAULT_SPEC(CHECK_POSTGRES),  DEFAULT_SPEC(CHECK_MYSQL),    DEFAULT_SPEC(CHECK_HTTP),
	DEFAULT_SPEC(CHECK_HTTPS),     DEFAULT_SPEC(CHECK_AMQP),     DEFAULT_SPEC(CHECK_MONGODB),
	DEFAULT_SPEC(CHECK_MEMCACHED), DEFAULT_SPEC(CHECK_VNC),      DEFAULT_SPEC(CHECK_GENERIC),
};

struct check_spec *check_spec_default(enum check_kind k)
{
	/* its one reference is never dropped: the refs the checks take come
	 * and go around it */
	return k > CHECK_NONE && k < CHECK_KIND_COUNT ? &defaults[k] : NULL;
}

struct check_spec *check_spec_new(enum check_kind k)
{
	struct check_spec *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->kind = (uint8_t)k;
	s->cert_warn_days = 14;
	s->cert_crit_days = 3;
	return s;
}

struct check_spec *check_spec_ref(struct check_spec *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void check_spec_unref(struct check_spec *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(s->sni);
	free(s->ca_file);
	free(s->request);
	free(s->host_header);
	free(s->user);
	free(s->database);
	free(s->auth);
	free(s->helo);
	free(s->send);
	free(s->expect);
	pcre2_code_free((pcre2_code *)s->expect_re);
	free(s);
}

void check_text(char *dst, const void *src, size_t n)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const char *s = src;
	size_t o = 0, i = 0;
	bool space = false;

	while (i < n) {
		unsigned cp;
		size_t l = utf8_next(s + i, n - i, &cp);
		if (l == 0)
			cp = 0xfffd;
		const char *put = s + i;
		size_t plen = l;
		if (l == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			if (l == 0)
				l = 1;
			if (cp == '\r' || cp == '\n' || cp == '\t') {
				/* line breaks and tabs read as one space */
				i += l;
				space = o > 0;
				continue;
			}
			put = repl;
			plen = 3;
		}
		if (o == 0 && cp == ' ') {
			i += l; /* leading spaces */
			continue;
		}
		if (space) {
			if (o + 1 > CHECK_TEXT_MAX)
				break;
			dst[o++] = ' ';
			space = false;
		}
		if (o + plen > CHECK_TEXT_MAX)
			break;
		memcpy(dst + o, put, plen);
		o += plen;
		i += l;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

void check_fail(struct check_verdict *v, const char *fmt, ...)
{
	char buf[4 * CHECK_TEXT_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	v->ok = false;
	check_text(v->error, buf, n < 0 ? 0 : (size_t)n >= sizeof(buf) ? sizeof(buf) - 1 : (size_t)n);
}

void check_judge(const struct check_result *r, const struct check_spec *spec, uint8_t *verdict, int32_t *days_left)
{
	int32_t days = INT32_MIN;

	if (r->tls.not_after_s) {
		int64_t left = r->tls.not_after_s - r->ts_real_ns / 1000000000LL;
		/* whole days, rounded down: an hour left is 0 days, an hour ago -1 */
		days = (int32_t)(left >= 0 ? left / 86400 : -((-left + 86399) / 86400));
	}
	*days_left = days;
	*verdict = VERDICT_NONE;
	if (!r->v.ok)
		*verdict = r->cert_failed ? VERDICT_CERT_UNVERIFIED : VERDICT_CHECK_FAILED;
	else if (days != INT32_MIN && spec && (days < 0 || (spec->cert_crit_days >= 0 && days < spec->cert_crit_days)))
		*verdict = VERDICT_CERT_EXPIRED;
	else if (days != INT32_MIN && spec && spec->cert_warn_days >= 0 && days < spec->cert_warn_days)
		*verdict = VERDICT_CERT_EXPIRING;
}
