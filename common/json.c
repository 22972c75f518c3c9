/* JSON text (common/json.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/utf8.h"

/* ---- writing ---- */

static const char hex[] = "0123456789abcdef";

void json_put_strn(struct buf *b, const char *s, size_t n, enum json_esc esc)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0;
	unsigned cp;

	buf_add(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		bool plain = c >= 0x20 && c != '"' && c != '\\' && !(c == 0x7f && esc == JSON_ESC_SHORT);
		size_t l = plain ? utf8_next(s + i, n - i, &cp) : 0;
		if (l) {
			/* valid text goes out in runs, not a byte at a time */
			i += l;
			run += l;
			continue;
		}
		buf_add(b, s + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			buf_add(b, e, 2);
		} else if (esc == JSON_ESC_SHORT && c == '\n') {
			buf_add(b, "\\n", 2);
		} else if (esc == JSON_ESC_SHORT && c == '\t') {
			buf_add(b, "\\t", 2);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_add(b, e, 6);
		} else {
			/* a byte that starts no valid character: one U+FFFD each */
			buf_add(b, "\\ufffd", 6);
		}
		i++;
	}
	buf_add(b, s + n - run, run);
	buf_add(b, "\"", 1);
}

void json_put_str(struct buf *b, const char *s)
{
	if (!s)
		buf_add(b, "null", 4);
	else
		json_put_strn(b, s, strlen(s), JSON_ESC_U);
}

void json_put_num(struct buf *b, double v)
{
	if (!isfinite(v))
		buf_add(b, "null", 4);
	else if (v == (double)(int64_t)v && fabs(v) < 9e15)
		buf_printf(b, "%lld", (long long)v);
	else
		buf_printf(b, "%.15g", v);
}

void json_put_key(struct buf *b, bool *first, const char *key)
{
	if (!*first)
		buf_add(b, ",", 1);
	*first = false;
	json_put_str(b, key);
	buf_add(b, ":", 1);
}

void json_put_kv(struct buf *b, bool *first, const char *key, const char *value)
{
	json_put_key(b, first, key);
	json_put_str(b, value);
}

void json_put_kn(struct buf *b, bool *first, const char *key, double value)
{
	json_put_key(b, first, key);
	json_put_num(b, value);
}

/* ---- reading ---- */

void json_in_init(struct json_in *j, const char *text, size_t len, char *err, size_t errlen)
{
	*j = (struct json_in){ .start = text, .p = text, .end = text + len, .err = err, .errlen = errlen };
}

int json_fail(struct json_in *j, const char *fmt, ...)
{
	va_list ap;

	if (j->err && j->errlen) {
		va_start(ap, fmt);
		vsnprintf(j->err, j->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void json_ws(struct json_in *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

bool json_eat(struct json_in *j, char c)
{
	json_ws(j);
	if (j->p >= j->end || *j->p != c)
		return false;
	j->p++;
	return true;
}

int json_expect(struct json_in *j, char c, const char *what)
{
	if (!json_eat(j, c))
		return json_fail(j, "expected %s at byte %zu", what, (size_t)(j->p - j->start));
	return 0;
}

bool json_end(struct json_in *j)
{
	json_ws(j);
	return j->p == j->end;
}

/* Four hex digits at p, or -1. */
static int hex4_at(const struct json_in *j, const char *p)
{
	int v = 0;

	if (j->end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static int hex4(struct json_in *j, unsigned *out)
{
	int v = hex4_at(j, j->p);

	if (v < 0)
		return json_fail(j, "\\u needs four hex digits");
	j->p += 4;
	*out = (unsigned)v;
	return 0;
}

/* The code point of \uXXXX (j->p after the 'u'), with a surrogate pair
 * for what lies above U+FFFF. */
static int escape_u(struct json_in *j, unsigned *cp, bool strict)
{
	unsigned lo = 0;
	int r;

	if ((r = hex4(j, cp)) < 0)
		return r;
	if (*cp >= 0xdc00 && *cp <= 0xdfff) {
		if (strict)
			return json_fail(j, "a lone low surrogate \\u%04x", *cp);
		*cp = 0xfffd;
	} else if (*cp >= 0xd800 && *cp <= 0xdbff) {
		bool pair = j->end - j->p >= 2 && j->p[0] == '\\' && j->p[1] == 'u';
		if (strict) {
			if (!pair)
				return json_fail(j, "a high surrogate \\u%04x without its low half", *cp);
			j->p += 2;
			if ((r = hex4(j, &lo)) < 0)
				return r;
			if (lo < 0xdc00 || lo > 0xdfff)
				return json_fail(j, "a high surrogate \\u%04x without its low half", *cp);
		} else {
			/* a lone high half leaves what follows it alone */
			int v = pair ? hex4_at(j, j->p + 2) : -1;
			if (v < 0xdc00 || v > 0xdfff) {
				*cp = 0xfffd;
				return 0;
			}
			lo = (unsigned)v;
			j->p += 6;
		}
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (*cp == 0 && strict)
		return json_fail(j, "\\u0000 is not allowed");
	return 0;
}

int json_string(struct json_in *j, char *out, size_t max, size_t *outlen, bool strict, const char *what)
{
	static const char esc[] = "\"\\/bfnrt", rep[] = "\"\\/\b\f\n\r\t";
	size_t n = 0;
	int r;

	json_ws(j);
	if (j->p >= j->end || *j->p != '"')
		return json_fail(j, "%s: expected a string in double quotes", what);
	j->p++;
	for (;;) {
		unsigned char c;
		char tmp[4];
		const char *e;
		size_t len;
		unsigned cp;

		if (j->p >= j->end)
			return json_fail(j, "%s: the string does not end", what);
		c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20)
			return json_fail(j, "%s: a control character in a string (escape it)", what);
		if (c == '\\') {
			if (++j->p >= j->end)
				return json_fail(j, "%s: the string does not end", what);
			if (*j->p == 'u') {
				j->p++;
				if ((r = escape_u(j, &cp, strict)) < 0)
					return r;
				len = utf8_put(tmp, cp);
			} else if (*j->p && (e = strchr(esc, *j->p))) {
				tmp[0] = rep[e - esc];
				len = 1;
				j->p++;
			} else {
				return json_fail(j, "%s: unknown escape '\\%c'", what, *j->p);
			}
		} else if (strict) {
			if (!(len = utf8_next(j->p, (size_t)(j->end - j->p), &cp)))
				return json_fail(j, "%s: not valid UTF-8", what);
			memcpy(tmp, j->p, len);
			j->p += len;
		} else {
			tmp[0] = (char)c;
			len = 1;
			j->p++;
		}
		if (out) {
			if (n + len > max)
				return json_fail(j, "%s: longer than %zu bytes", what, max);
			memcpy(out + n, tmp, len);
		}
		n += len;
	}
	if (out)
		out[n] = '\0';
	if (outlen)
		*outlen = n;
	return 0;
}

long json_string_room(struct json_in *j)
{
	const char *p;

	json_ws(j);
	if (j->p >= j->end || *j->p != '"')
		return -EINVAL;
	/* escapes only ever shrink: the bytes between the quotes are enough */
	for (p = j->p + 1; p < j->end && *p != '"'; p += *p == '\\' && p + 1 < j->end ? 2 : 1)
		if ((unsigned char)*p < 0x20)
			return -EINVAL;
	return p < j->end ? p - (j->p + 1) : -EINVAL;
}

/* -?int frac? exp? */
static int number(struct json_in *j)
{
	const char *p = j->p, *end = j->end;

#define DIGIT(q) ((q) < end && *(q) >= '0' && *(q) <= '9')
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (DIGIT(p))
		while (DIGIT(p))
			p++;
	else
		return -EINVAL;
	if (p < end && *p == '.') {
		p++;
		if (!DIGIT(p))
			return -EINVAL;
		while (DIGIT(p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!DIGIT(p))
			return -EINVAL;
		while (DIGIT(p))
			p++;
	}
#undef DIGIT
	j->p = p;
	return 0;
}

static int skip(struct json_in *j, int depth)
{
	static const char *const words[] = { "true", "false", "null" };
	char close;

	json_ws(j);
	if (depth > JSON_DEPTH_MAX || j->p >= j->end)
		return -EINVAL;
	if (*j->p == '"')
		return json_string(j, NULL, 0, NULL, false, "a string");
	if (*j->p != '{' && *j->p != '[') {
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			size_t n = strlen(words[i]);
			if ((size_t)(j->end - j->p) >= n && memcmp(j->p, words[i], n) == 0) {
				j->p += n;
				return 0;
			}
		}
		return number(j);
	}
	close = *j->p++ == '{' ? '}' : ']';
	if (json_eat(j, close))
		return 0;
	for (;;) {
		if (close == '}') {
			json_ws(j);
			if (j->p >= j->end || *j->p != '"' || skip(j, depth + 1) < 0 || !json_eat(j, ':'))
				return -EINVAL;
		}
		if (skip(j, depth + 1) < 0)
			return -EINVAL;
		if (json_eat(j, ','))
			continue;
		return json_eat(j, close) ? 0 : -EINVAL;
	}
}

int json_skip(struct json_in *j)
{
	return skip(j, 0) < 0 ? json_fail(j, "expected a JSON value at byte %zu", (size_t)(j->p - j->start)) : 0;
}
