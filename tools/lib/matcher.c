/* Label matchers (tools/lib/matcher.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/lib/matcher.h"

#define KEY_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

static int bad(char *err, size_t errlen, const char *text, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "matcher '%.80s': %s", text, what);
	return -EINVAL;
}

/* The operator at s: its length and kind, or 0. */
static size_t op_at(const char *s, enum matcher_op *op)
{
	if (s[0] == '!' && s[1] == '=') {
		*op = MATCHER_NE;
		return 2;
	}
	if (s[0] == '!' && s[1] == '~') {
		*op = MATCHER_NRE;
		return 2;
	}
	if (s[0] == '=' && s[1] == '~') {
		*op = MATCHER_RE;
		return 2;
	}
	if (s[0] == '=') {
		*op = MATCHER_EQ;
		return 1;
	}
	return 0;
}

/* A value in double quotes loses them, so that a value may start with '~'
 * or hold spaces in a shell without surprises: name="~x" is the text ~x. */
static char *unquote(const char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		return strndup(v + 1, n - 2);
	return strdup(v);
}

int matcher_parse(struct matcher *m, const char *text, char *err, size_t errlen)
{
	size_t klen = strspn(text, KEY_CHARS), oplen;
	enum matcher_op op = MATCHER_EQ;
	int r = -ENOMEM;

	memset(m, 0, sizeof(*m));
	if (klen == 0 || (text[0] >= '0' && text[0] <= '9'))
		return bad(
		    err, errlen, text,
		    "expected KEY=VALUE, KEY!=VALUE, KEY=~REGEX or KEY!~REGEX with a label name as KEY "
		    "(letters, digits, '_'), like team=dba");
	if (klen > MATCHER_KEY_MAX)
		return bad(err, errlen, text, "the key is longer than 64 characters");
	if (!(oplen = op_at(text + klen, &op)))
		return bad(err, errlen, text,
			   "expected an operator after the key: =, !=, =~ or !~ (like criticality!=low)");
	const char *v = text + klen + oplen;
	if (strlen(v) > MATCHER_VALUE_MAX)
		return bad(err, errlen, text, "the value is longer than 1024 characters");
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return bad(err, errlen, text, "a control character in the value");
	m->op = op;
	if (!(m->key = strndup(text, klen)) || !(m->value = unquote(v)))
		goto fail;
	if (op == MATCHER_RE || op == MATCHER_NRE) {
		/* anchored, as a user reading "name=~db" expects a whole match */
		size_t n = strlen(m->value) + 5;
		char *anchored = malloc(n);
		if (!anchored)
			goto fail;
		snprintf(anchored, n, "^(%s)$", m->value);
		int rc = regcomp(&m->re, anchored, REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (rc != 0) {
			char why[128];
			regerror(rc, NULL, why, sizeof(why));
			r = bad(err, errlen, text, why);
			goto fail;
		}
		m->compiled = true;
	}
	return 0;
fail:
	if (r == -ENOMEM && err && errlen)
		snprintf(err, errlen, "out of memory");
	matcher_release(m);
	return r;
}

void matcher_release(struct matcher *m)
{
	if (m->compiled)
		regfree(&m->re);
	free(m->key);
	free(m->value);
	memset(m, 0, sizeof(*m));
}

void matchers_free(struct matcher *v, size_t n)
{
	for (size_t i = 0; i < n && v; i++)
		matcher_release(&v[i]);
	free(v);
}

bool matcher_match(const struct matcher *m, const char *value)
{
	if (!value)
		value = "";
	switch (m->op) {
	case MATCHER_EQ: return strcmp(value, m->value) == 0;
	case MATCHER_NE: return strcmp(value, m->value) != 0;
	case MATCHER_RE: return regexec(&m->re, value, 0, NULL, 0) == 0;
	case MATCHER_NRE: return regexec(&m->re, value, 0, NULL, 0) != 0;
	}
	return false;
}

bool matchers_match(const struct matcher *v, size_t n, matcher_lookup_fn lookup, const void *ctx)
{
	for (size_t i = 0; i < n; i++)
		if (!matcher_match(&v[i], lookup(ctx, v[i].key)))
			return false;
	return true;
}

const char *matcher_op_text(enum matcher_op op)
{
	static const char *const ops[] = { "=", "!=", "=~", "!~" };

	return (unsigned)op < sizeof(ops) / sizeof(ops[0]) ? ops[op] : "?";
}

const char *matcher_text(const struct matcher *m, char *buf, size_t len)
{
	/* quotes keep a value that starts with '~' (or is quoted) from being
	 * read back as another operator or losing its quotes */
	bool quote = m->value[0] == '~' || m->value[0] == '"';

	snprintf(buf, len, quote ? "%s%s\"%s\"" : "%s%s%s", m->key, matcher_op_text(m->op), m->value);
	return buf;
}
