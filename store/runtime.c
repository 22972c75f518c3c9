/* Runtime targets: one entry of P runtime:targets is a target spec (the
 * hash field) and a small JSON object (its value):
 *
 *   {"group":"web","name":"Checkout - 443","labels":{"team":"shop"},"interval":"10s"}
 *
 * Anyone who can write to Redis writes these, so the parser is strict
 * (RFC 8259 JSON, valid UTF-8, no unknown or repeated keys, label names as
 * the config allows them) and bounded (lengths, label count, nesting of
 * two), and a libFuzzer harness drives it (tests/fuzz/fuzz_runtime.c).
 * The reading is common/json.h's, strict. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/num.h"
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

/* A JSON string of at most max bytes once decoded, into *out (malloc). */
static int jstring(struct json_in *j, char **out, size_t max, const char *what)
{
	char *o = malloc(max + 1);
	int r;

	*out = NULL;
	if (!o)
		return -ENOMEM;
	if ((r = json_string(j, o, max, NULL, true, what)) < 0) {
		free(o);
		return r;
	}
	*out = o;
	return 0;
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
static int object_open(struct json_in *j, const char *what)
{
	int r;

	if ((r = json_expect(j, '{', what)) < 0)
		return r;
	return json_eat(j, '}');
}

/* {"team":"shop",...} */
static int jlabels(struct json_in *j, struct table_runtime *e)
{
	int r;

	if ((r = object_open(j, "'{' starting the labels")) != 0)
		return r < 0 ? r : 0;
	if (!(e->labels = calloc(LABELS_MAX, sizeof(*e->labels))))
		return -ENOMEM;
	for (;;) {
		struct label *l = &e->labels[e->n_labels];
		if (e->n_labels == LABELS_MAX)
			return json_fail(j, "labels: more than %d", LABELS_MAX);
		if ((r = jstring(j, &l->key, LABEL_KEY_MAX, "a label name")) < 0)
			return r;
		e->n_labels++; /* owned from here: released with e */
		if (!label_name_ok(l->key))
			return json_fail(j, "label name '%s': expected [A-Za-z_][A-Za-z0-9_]*", l->key);
		if ((r = json_expect(j, ':', "':' after a label name")) < 0 ||
		    (r = jstring(j, &l->value, LABEL_VALUE_MAX, "a label value")) < 0)
			return r;
		if (json_eat(j, ','))
			continue;
		if ((r = json_expect(j, '}', "',' or '}' in the labels")) < 0)
			return r;
		break;
	}
	qsort(e->labels, e->n_labels, sizeof(*e->labels), label_cmp);
	for (size_t i = 1; i < e->n_labels; i++)
		if (strcmp(e->labels[i - 1].key, e->labels[i].key) == 0)
			return json_fail(j, "label '%s' is given twice", e->labels[i].key);
	return 0;
}

static int jinterval(struct json_in *j, struct table_runtime *e)
{
	char *text, msg[128];
	int64_t ns;
	int r;

	if ((r = jstring(j, &text, 32, "interval")) < 0)
		return r;
	if (num_parse_duration(text, INTERVAL_MIN_NS, INTERVAL_MAX_NS, &ns) < 0)
		r = json_fail(j, "%s", num_duration_error(msg, sizeof(msg), "interval", text, INTERVAL_MIN_NS,
							   INTERVAL_MAX_NS));
	else
		e->interval_ns = ns;
	free(text);
	return r;
}

static int jobject(struct json_in *j, struct table_runtime *e)
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
			r = json_fail(j, "unknown key '%s' (expected group, name, labels or interval)", key);
			free(key);
			return r;
		}
		free(key);
		if (seen & 1u << k)
			return json_fail(j, "'%s' is given twice", keys[k]);
		seen |= 1u << k;
		if ((r = json_expect(j, ':', "':' after a key")) < 0)
			return r;
		switch (k) {
		case 0:
			r = jstring(j, &e->group, GROUP_MAX, "group");
			if (r == 0 && !e->group[0])
				r = json_fail(j, "group: empty; leave it out for the first group");
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
		if (json_eat(j, ','))
			continue;
		return json_expect(j, '}', "',' or '}'");
	}
}

int runtime_parse(struct table_runtime *out, const char *spec, size_t spec_len, const char *json, size_t len,
		  char *err, size_t errlen)
{
	struct json_in j;
	int r;

	json_in_init(&j, json, len, err, errlen);
	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (spec_len == 0 || spec_len > SPEC_MAX)
		return json_fail(&j, "target: expected IP:PORT, CIDR:PORT or HOSTNAME:PORT of at most %d characters",
				 SPEC_MAX);
	for (size_t i = 0; i < spec_len; i++)
		if ((unsigned char)spec[i] <= ' ' || (unsigned char)spec[i] >= 0x7f)
			return json_fail(&j, "target: expected IP:PORT, CIDR:PORT or HOSTNAME:PORT "
					     "(no spaces, plain ASCII)");
	if (!(out->spec = strndup(spec, spec_len)))
		return -ENOMEM;
	if ((r = jobject(&j, out)) == 0 && !json_end(&j))
		r = json_fail(&j, "text after the JSON object");
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
