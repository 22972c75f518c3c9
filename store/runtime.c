/* Runtime targets: one entry of P runtime:targets is a target spec (the
 * hash field) and a small JSON object (its value):
 *
 *   {"group":"web","name":"Checkout - 443","labels":{"team":"shop"},"interval":"10s"}
 *
 * Anyone who can write to Redis writes these, so the parser is strict
 * (RFC 8259 JSON, valid UTF-8, no unknown or repeated keys, label names as
 * the config allows them) and bounded (lengths, label count, nesting of
 * two), and a libFuzzer harness drives it (tests/fuzz/fuzz_runtime.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/utf8.h"
#include "scheduler/table.h"
#include "store/runtime.h"

#define SPEC_MAX 255
#define KEY_MAX 32
#define GROUP_MAX 256
#define NAME_MAX_LEN 1024
#define LABEL_KEY_MAX 64
#define LABEL_VALUE_MAX 1024
#define LABELS_MAX 64
#define INTERVAL_MIN_NS (10 * NSEC_PER_MSEC)
#define INTERVAL_MAX_NS (24 * 3600 * NSEC_PER_SEC)

struct jp {
	const char *start, *p, *end;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct jp *j, const char *fmt, ...)
{
	va_list ap;

	if (j->err && j->errlen) {
		va_start(ap, fmt);
		vsnprintf(j->err, j->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int expect(struct jp *j, char c, const char *what)
{
	ws(j);
	if (j->p >= j->end || *j->p != c)
		return fail(j, "expected %s at byte %zu", what, (size_t)(j->p - j->start));
	j->p++;
	return 0;
}

static int hex4(struct jp *j, unsigned *out)
{
	unsigned v = 0;

	if (j->end - j->p < 4)
		return fail(j, "\\u needs four hex digits");
	for (int i = 0; i < 4; i++) {
		char c = j->p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return fail(j, "\\u needs four hex digits");
		v = v << 4 | d;
	}
	j->p += 4;
	*out = v;
	return 0;
}

/* \uXXXX, with a surrogate pair for what lies above U+FFFF */
static int escape_u(struct jp *j, unsigned *cp)
{
	unsigned lo;
	int r;

	if ((r = hex4(j, cp)) < 0)
		return r;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return fail(j, "a lone low surrogate \\u%04x", *cp);
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
			return fail(j, "a high surrogate \\u%04x without its low half", *cp);
		j->p += 2;
		if ((r = hex4(j, &lo)) < 0)
			return r;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(j, "a high surrogate \\u%04x without its low half", *cp);
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (*cp == 0)
		return fail(j, "\\u0000 is not allowed");
	return 0;
}

/* A JSON string of at most max bytes once decoded, into *out (malloc). */
static int jstring(struct jp *j, char **out, size_t max, const char *what)
{
	char *o;
	size_t n = 0;
	int r;

	*out = NULL;
	ws(j);
	if (j->p >= j->end || *j->p != '"')
		return fail(j, "%s: expected a string in double quotes", what);
	j->p++;
	if (!(o = malloc(max + 1)))
		return -ENOMEM;
	for (;;) {
		unsigned char c;
		char tmp[4];
		size_t len;

		if (j->p >= j->end) {
			r = fail(j, "%s: the string does not end", what);
			goto bad;
		}
		c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20) {
			r = fail(j, "%s: a control character in a string (escape it)", what);
			goto bad;
		}
		if (c == '\\') {
			const char *esc = "\"\\/bfnrt", *rep = "\"\\/\b\f\n\r\t", *e;
			unsigned cp;
			if (++j->p >= j->end) {
				r = fail(j, "%s: the string does not end", what);
				goto bad;
			}
			if (*j->p == 'u') {
				j->p++;
				if ((r = escape_u(j, &cp)) < 0)
					goto bad;
				len = utf8_put(tmp, cp);
			} else if (*j->p && (e = strchr(esc, *j->p))) {
				tmp[0] = rep[e - esc];
				len = 1;
				j->p++;
			} else {
				r = fail(j, "%s: unknown escape '\\%c'", what, *j->p);
				goto bad;
			}
		} else {
			unsigned cp;
			len = utf8_next(j->p, (size_t)(j->end - j->p), &cp);
			if (!len) {
				r = fail(j, "%s: not valid UTF-8", what);
				goto bad;
			}
			memcpy(tmp, j->p, len);
			j->p += len;
		}
		if (n + len > max) {
			r = fail(j, "%s: longer than %zu bytes", what, max);
			goto bad;
		}
		memcpy(o + n, tmp, len);
		n += len;
	}
	o[n] = '\0';
	*out = o;
	return 0;
bad:
	free(o);
	return r;
}

static bool label_name_ok(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

/* '{', and whether '}' follows at once: 1 for an empty object, 0 to go
 * on, or -EINVAL. */
static int object_open(struct jp *j, const char *what)
{
	int r;

	if ((r = expect(j, '{', what)) < 0)
		return r;
	ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 1;
	}
	return 0;
}

/* {"team":"shop",...} */
static int jlabels(struct jp *j, struct table_runtime *e)
{
	int r;

	if ((r = object_open(j, "'{' starting the labels")) != 0)
		return r < 0 ? r : 0;
	if (!(e->labels = calloc(LABELS_MAX, sizeof(*e->labels))))
		return -ENOMEM;
	for (;;) {
		struct label *l = &e->labels[e->n_labels];
		if (e->n_labels == LABELS_MAX)
			return fail(j, "labels: more than %d", LABELS_MAX);
		if ((r = jstring(j, &l->key, LABEL_KEY_MAX, "a label name")) < 0)
			return r;
		e->n_labels++; /* owned from here: released with e */
		if (!label_name_ok(l->key))
			return fail(j, "label name '%s': expected [A-Za-z_][A-Za-z0-9_]*", l->key);
		if ((r = expect(j, ':', "':' after a label name")) < 0 ||
		    (r = jstring(j, &l->value, LABEL_VALUE_MAX, "a label value")) < 0)
			return r;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if ((r = expect(j, '}', "',' or '}' in the labels")) < 0)
			return r;
		break;
	}
	qsort(e->labels, e->n_labels, sizeof(*e->labels), label_cmp);
	for (size_t i = 1; i < e->n_labels; i++)
		if (strcmp(e->labels[i - 1].key, e->labels[i].key) == 0)
			return fail(j, "label '%s' is given twice", e->labels[i].key);
	return 0;
}

static int jinterval(struct jp *j, struct table_runtime *e)
{
	char *text;
	int64_t ns;
	int r;

	if ((r = jstring(j, &text, 32, "interval")) < 0)
		return r;
	r = duration_parse(text, &ns);
	if (r < 0 || ns < INTERVAL_MIN_NS || ns > INTERVAL_MAX_NS)
		r = fail(j, "interval '%s': expected a duration from 10ms to 24h, like \"10s\"", text);
	else
		e->interval_ns = ns;
	free(text);
	return r;
}

static int jobject(struct jp *j, struct table_runtime *e)
{
	static const char *const keys[] = { "group", "name", "labels", "interval" };
	unsigned seen = 0;
	int r;

	if ((r = object_open(j, "a JSON object, like {\"group\":\"web\"}")) != 0)
		return r < 0 ? r : 0;
	for (;;) {
		char *key;
		size_t k;

		if ((r = jstring(j, &key, KEY_MAX, "a key")) < 0)
			return r;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strcmp(key, keys[k]) == 0)
				break;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			r = fail(j, "unknown key '%s' (expected group, name, labels or interval)", key);
			free(key);
			return r;
		}
		free(key);
		if (seen & 1u << k)
			return fail(j, "'%s' is given twice", keys[k]);
		seen |= 1u << k;
		if ((r = expect(j, ':', "':' after a key")) < 0)
			return r;
		switch (k) {
		case 0:
			r = jstring(j, &e->group, GROUP_MAX, "group");
			if (r == 0 && !e->group[0])
				r = fail(j, "group: empty; leave it out for the first group");
			break;
		case 1:
			r = jstring(j, &e->name, NAME_MAX_LEN, "name");
			if (r == 0 && !e->name[0]) {
				free(e->name);
				e->name = NULL;
			}
			break;
		case 2:
			r = jlabels(j, e);
			break;
		default:
			r = jinterval(j, e);
			break;
		}
		if (r < 0)
			return r;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		return expect(j, '}', "',' or '}'");
	}
}

int runtime_parse(struct table_runtime *out, const char *spec, size_t spec_len, const char *json, size_t len,
		  char *err, size_t errlen)
{
	struct jp j = { .start = json, .p = json, .end = json + len, .err = err, .errlen = errlen };
	int r;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (spec_len == 0 || spec_len > SPEC_MAX)
		return fail(&j, "target: expected IP:PORT, CIDR:PORT or HOSTNAME:PORT of at most %d characters",
			    SPEC_MAX);
	for (size_t i = 0; i < spec_len; i++)
		if ((unsigned char)spec[i] <= ' ' || (unsigned char)spec[i] >= 0x7f)
			return fail(&j, "target: expected IP:PORT, CIDR:PORT or HOSTNAME:PORT "
					"(no spaces, plain ASCII)");
	if (!(out->spec = strndup(spec, spec_len)))
		return -ENOMEM;
	if ((r = jobject(&j, out)) == 0) {
		ws(&j);
		if (j.p != j.end)
			r = fail(&j, "text after the JSON object");
	}
	if (r < 0)
		table_runtime_release(out);
	return r;
}

void runtime_set_release(struct runtime_set *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		table_runtime_release(&s->v[i]);
	if (s) {
		free(s->v);
		s->v = NULL;
		s->n = 0;
	}
}
