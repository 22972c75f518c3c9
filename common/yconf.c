/* Table-driven YAML reading (common/yconf.h). The walk only descends where
 * a table says so, so a cyclic alias (*name) cannot loop it: libyaml
 * shares the anchored node. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/num.h"
#include "common/yconf.h"

/* ---- messages ---- */

int yconf_fail(struct yconf *p, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || p->errlen == 0)
		return -EINVAL;
	n = snprintf(p->err, p->errlen, "%s:%zu:%zu: ", p->path, m.line + 1, m.column + 1);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* one line, whatever the quoted values hold */
	for (char *c = p->err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -EINVAL;
}

int yconf_nomem(struct yconf *p)
{
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s: out of memory", p->path);
	return -ENOMEM;
}

int yconf_msg(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (msg && len) {
		va_start(ap, fmt);
		vsnprintf(msg, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- nodes ---- */

yaml_node_t *yconf_node(struct yconf *p, int index)
{
	return yaml_document_get_node(p->doc, index);
}

const char *yconf_text(const yaml_node_t *v)
{
	return (const char *)v->data.scalar.value;
}

bool yconf_is_null(const yaml_node_t *v)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(yconf_text(v), nulls[i]) == 0)
			return true;
	return false;
}

static const char *got(const yaml_node_t *v, char *buf, size_t len)
{
	if (v->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (v->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (yconf_is_null(v))
		return "nothing";
	snprintf(buf, len, "'%.40s'", yconf_text(v));
	return buf;
}

int yconf_wrong_type(struct yconf *p, const yaml_node_t *v, const char *key, const char *what)
{
	char buf[64];

	return yconf_fail(p, v->start_mark, "%s: expected %s, got %s", key, what, got(v, buf, sizeof(buf)));
}

int yconf_want_text(struct yconf *p, const yaml_node_t *v, const char *key, const char *what,
		    const char **out)
{
	if (v->type != YAML_SCALAR_NODE || yconf_is_null(v))
		return yconf_wrong_type(p, v, key, what);
	if (v->data.scalar.length == 0)
		return yconf_fail(p, v->start_mark, "%s: expected %s, got an empty string", key, what);
	if (strlen(yconf_text(v)) != v->data.scalar.length)
		return yconf_fail(p, v->start_mark, "%s: a NUL character in the value: expected %s", key,
				  what);
	*out = yconf_text(v);
	return 0;
}

size_t yconf_items(struct yconf *p, yaml_node_t *v, yaml_node_item_t *lone, yaml_node_item_t **items)
{
	if (v->type == YAML_SEQUENCE_NODE) {
		*items = v->data.sequence.items.start;
		return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	}
	*lone = (yaml_node_item_t)(v - p->doc->nodes.start + 1);
	*items = lone;
	return 1;
}

static void *slot(void *base, const struct yconf_field *f)
{
	return (char *)base + f->off;
}

void yconf_store_int(void *base, const struct yconf_field *f, int64_t v)
{
	void *dst = slot(base, f);
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (f->size) {
	case 1:
		memcpy(dst, &u8, 1);
		break;
	case 2:
		memcpy(dst, &u16, 2);
		break;
	case 4:
		memcpy(dst, &u32, 4);
		break;
	default:
		memcpy(dst, &v, 8);
		break;
	}
}

/* ---- value readers ---- */

/* A whole number, or a size with its unit, in [f->min, f->max]. */
static int whole(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base, bool size)
{
	uint64_t x, lo = (uint64_t)f->min, hi = (uint64_t)f->max;
	char msg[256];
	const char *t;
	int r;

	if ((r = yconf_want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	if ((size ? num_parse_size(t, lo, hi, &x) : num_parse_uint(t, lo, hi, &x)) < 0)
		return yconf_fail(p, v->start_mark, "%s",
				  size ? num_size_error(msg, sizeof(msg), f->key, t, lo, hi)
				       : num_uint_error(msg, sizeof(msg), f->key, t, lo, hi));
	yconf_store_int(base, f, (int64_t)x);
	return 0;
}

int yconf_uint(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
	       struct yconf_scope *s)
{
	(void)s;
	return whole(p, f, v, base, false);
}

int yconf_size(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
	       struct yconf_scope *s)
{
	(void)s;
	return whole(p, f, v, base, true);
}

int yconf_duration(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		   struct yconf_scope *s)
{
	char msg[256];
	const char *t;
	int64_t ns;
	int r;

	(void)s;
	if ((r = yconf_want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	r = num_parse_duration(t, f->min, f->max, &ns);
	/* a duration that does not parse gets the field's own example */
	if (r == -EINVAL)
		return yconf_fail(p, v->start_mark, "%s '" YCONF_QUOTE "': expected %s", f->key, t, f->what);
	if (r < 0)
		return yconf_fail(p, v->start_mark, "%s",
				  num_duration_error(msg, sizeof(msg), f->key, t, f->min, f->max));
	yconf_store_int(base, f, f->unit ? ns / f->unit : ns);
	return 0;
}

int yconf_share(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		struct yconf_scope *s)
{
	const char *t;
	char *end;
	int r;

	(void)s;
	if ((r = yconf_want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	errno = 0;
	double x = strtod(t, &end);
	if (errno || *end || !(x > 0 && x <= 1))
		return yconf_fail(p, v->start_mark, "%s '" YCONF_QUOTE "': expected %s", f->key, t, f->what);
	memcpy(slot(base, f), &x, sizeof(x));
	return 0;
}

int yconf_str(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base, struct yconf_scope *s)
{
	char msg[256];
	const char *t;
	char *copy, **dst = slot(base, f);
	size_t i;
	int r;

	(void)s;
	if ((r = yconf_want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	if (f->choices) {
		for (i = 0; f->choices[i] && strcmp(f->choices[i], t) != 0; i++)
			;
		if (!f->choices[i])
			return yconf_fail(p, v->start_mark, "%s '" YCONF_QUOTE "': expected %s", f->key, t,
					  f->what);
	}
	if (f->check && f->check(t, msg, sizeof(msg)) < 0)
		return yconf_fail(p, v->start_mark, "%s '" YCONF_QUOTE "': %s", f->key, t, msg);
	if (!(copy = strdup(t)))
		return yconf_nomem(p);
	free(*dst); /* a built-in default such as the host name */
	*dst = copy;
	return 0;
}

int yconf_bool(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
	       struct yconf_scope *s)
{
	const char *t;
	bool b;
	int r;

	(void)s;
	if ((r = yconf_want_text(p, v, f->key, f->what, &t)) < 0)
		return r;
	if (strcmp(t, "true") == 0)
		b = true;
	else if (strcmp(t, "false") == 0)
		b = false;
	else
		return yconf_fail(p, v->start_mark, "%s '" YCONF_QUOTE "': expected true or false", f->key,
				  t);
	memcpy(slot(base, f), &b, sizeof(b));
	return 0;
}

void yconf_free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n && v; i++)
		free(v[i]);
	free(v);
}

int yconf_strlist(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base,
		  struct yconf_scope *s)
{
	yaml_node_item_t lone, *items;
	char msg[256], **list = NULL;
	size_t n = 0, cap;
	int r = 0;

	(void)s;
	if (v->type == YAML_MAPPING_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	cap = yconf_items(p, v, &lone, &items);
	if (!(list = calloc(cap ? cap : 1, sizeof(*list))))
		return yconf_nomem(p);
	for (; n < cap; n++) {
		yaml_node_t *it = yconf_node(p, items[n]);
		const char *t;

		if ((r = yconf_want_text(p, it, f->key, f->what, &t)) < 0)
			goto out;
		if (f->check && f->check(t, msg, sizeof(msg)) < 0) {
			r = yconf_fail(p, it->start_mark, "%s '" YCONF_QUOTE "': %s", f->key, t, msg);
			goto out;
		}
		if (!(list[n] = strdup(t))) {
			r = yconf_nomem(p);
			goto out;
		}
	}
	memcpy(slot(base, f), &list, sizeof(list));
	memcpy((char *)base + f->off_n, &n, sizeof(n));
	list = NULL;
out:
	yconf_free_strv(list, n);
	return r;
}

int yconf_sub(struct yconf *p, const struct yconf_field *f, yaml_node_t *v, void *base, struct yconf_scope *s)
{
	char where[YCONF_OWNER_MAX + 64];

	if (v->type != YAML_MAPPING_NODE)
		return yconf_wrong_type(p, v, f->key, f->what);
	snprintf(where, sizeof(where), "in '%s' of %s", f->key, s->owner);
	return yconf_map(p, v, f->sub, base, s, where);
}

/* ---- mappings ---- */

const struct yconf_field *yconf_find(const struct yconf_table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].key, key) == 0)
			return &t->v[i];
	return NULL;
}

/* Levenshtein distance, for "did you mean"; keys are short. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int unknown_key(struct yconf *p, const yaml_node_t *k, const struct yconf_table *t,
		       const struct yconf_scope *s, const char *where)
{
	const char *key = yconf_text(k), *near = NULL;
	char list[512];
	size_t used = 0, best = 3;

	if (s->defaults && yconf_find(t, key))
		return yconf_fail(p, k->start_mark, "'%s' cannot be in %s: it belongs in each group", key,
				  s->owner);
	list[0] = '\0';
	for (size_t i = 0; i < t->n; i++) {
		if (s->defaults && (t->v[i].flags & YCONF_GROUP_ONLY))
			continue;
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", t->v[i].key);
		if (n > 0 && (size_t)n < sizeof(list) - used)
			used += (size_t)n;
		size_t d = distance(key, t->v[i].key);
		if (d < best && d < strlen(t->v[i].key)) {
			best = d;
			near = t->v[i].key;
		}
	}
	if (near)
		return yconf_fail(p, k->start_mark,
				  "unknown key '" YCONF_QUOTE
				  "' %s (expected one of: %s); did you mean '%s'?",
				  key, where, list, near);
	return yconf_fail(p, k->start_mark, "unknown key '" YCONF_QUOTE "' %s (expected one of: %s)", key,
			  where, list);
}

int yconf_map(struct yconf *p, yaml_node_t *map, const struct yconf_table *t, void *base,
	      struct yconf_scope *s, const char *where)
{
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *k = yconf_node(p, pair->key), *v = yconf_node(p, pair->value);
		const struct yconf_field *f;
		char buf[64];
		int r;

		if (k->type != YAML_SCALAR_NODE)
			return yconf_fail(p, k->start_mark, "expected a key name %s, got %s", where,
					  got(k, buf, sizeof(buf)));
		f = yconf_find(t, yconf_text(k));
		if (!f || (s->defaults && (f->flags & YCONF_GROUP_ONLY)))
			return unknown_key(p, k, t, s, where);
		if (s->set & YCONF_BIT(f->bit))
			return yconf_fail(p, k->start_mark, "duplicate key '%s' %s (first at line %zu)",
					  f->key, where, s->mark[f->bit].line + 1);
		s->set |= YCONF_BIT(f->bit);
		s->mark[f->bit] = v->start_mark;
		if ((r = f->parse(p, f, v, base, s)) < 0)
			return r;
	}
	return 0;
}

/* ---- documents ---- */

/* The reader reports a byte offset, not a line. */
static yaml_mark_t mark_at(const char *text, size_t len, size_t offset)
{
	yaml_mark_t m = { 0 };

	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
	}
	return m;
}

static int syntax_error(struct yconf *p, const yaml_parser_t *y, const char *text, size_t len)
{
	const char *problem = y->problem ? y->problem : "unknown problem";

	switch (y->error) {
	case YAML_MEMORY_ERROR:
		return yconf_nomem(p);
	case YAML_READER_ERROR:
		if (y->problem_value != -1)
			return yconf_fail(p, mark_at(text, len, y->problem_offset),
					  "not valid text: %s (0x%x)", problem, (unsigned)y->problem_value);
		return yconf_fail(p, mark_at(text, len, y->problem_offset), "not valid text: %s", problem);
	default:
		if (y->context)
			return yconf_fail(p, y->problem_mark,
					  "YAML syntax error: %s (%s at line %zu, column %zu)", problem,
					  y->context, y->context_mark.line + 1, y->context_mark.column + 1);
		return yconf_fail(p, y->problem_mark, "YAML syntax error: %s", problem);
	}
}

int yconf_open(struct yconf *p, yaml_document_t *doc, const char *text, size_t len)
{
	bool have_doc = false, have_extra = false;
	yaml_document_t extra;
	yaml_parser_t y;
	int r = 0;

	if (p->err && p->errlen)
		p->err[0] = '\0';
	if (!yaml_parser_initialize(&y))
		return yconf_nomem(p);
	yaml_parser_set_input_string(&y, (const unsigned char *)(text ? text : ""), text ? len : 0);
	if (!yaml_parser_load(&y, doc)) {
		r = syntax_error(p, &y, text, len);
		goto out;
	}
	have_doc = true;
	/* a second document would be silently ignored otherwise */
	if (!yaml_parser_load(&y, &extra)) {
		r = syntax_error(p, &y, text, len);
		goto out;
	}
	have_extra = true;
	if (yaml_document_get_root_node(&extra)) {
		r = yconf_fail(p, extra.start_mark,
			       "a second YAML document: a configuration is one document (remove the '---')");
		goto out;
	}
	p->doc = doc;
out:
	if (have_extra)
		yaml_document_delete(&extra);
	if (r < 0 && have_doc)
		yaml_document_delete(doc);
	yaml_parser_delete(&y);
	return r;
}

int yconf_read_file(const char *path, size_t max, char **out, size_t *out_len, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *text = NULL;
	size_t len = 0, cap = 0;
	int r = 0;

	if (!(f = fopen(path, "re"))) {
		r = -errno;
		yconf_msg(err, errlen, "cannot open '%s': %s", path, strerror(-r));
		goto out;
	}
	for (;;) {
		if (len == cap) {
			char *more;
			if (cap >= max) {
				r = -EFBIG;
				yconf_msg(err, errlen,
					  "cannot read '%s': larger than %zu MiB, not a configuration", path,
					  max >> 20);
				goto out;
			}
			cap = cap ? cap * 2 : 16384;
			if (!(more = realloc(text, cap))) {
				r = -ENOMEM;
				yconf_msg(err, errlen, "cannot read '%s': out of memory", path);
				goto out;
			}
			text = more;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		r = -EIO;
		yconf_msg(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	*out = text;
	*out_len = len;
	text = NULL;
out:
	free(text);
	if (f)
		fclose(f);
	return r;
}

/* Reads the top-level mapping root with f->top into ctx, then builds. */
static int read_top(struct yconf *p, const struct yconf_format *f, yaml_node_t *root, void *ctx)
{
	struct yconf_scope s = { .owner = "the top level" };
	int r;

	if (root->type != YAML_MAPPING_NODE)
		return yconf_wrong_type(p, root, "configuration", f->top_what);
	if ((r = yconf_map(p, root, f->top, ctx, &s, "at the top level")) < 0)
		return r;
	for (size_t i = 0; i < f->top->n; i++) {
		const struct yconf_field *k = &f->top->v[i];

		if ((k->flags & YCONF_REQUIRED) && !(s.set & YCONF_BIT(k->bit)))
			return yconf_fail(p, root->start_mark, "no '%s': expected %s", k->key, k->what);
	}
	return f->build(p, root, ctx, &s);
}

/* Reads one document of text as f's root into ctx. */
static int read_document(struct yconf *p, const struct yconf_format *f, void *ctx, const char *text, size_t len)
{
	yaml_document_t doc;
	yaml_node_t *root;
	int r;

	if ((r = yconf_open(p, &doc, text, len)) < 0)
		return r;
	if (!(root = yaml_document_get_root_node(&doc)))
		r = yconf_fail(p, (yaml_mark_t){ 0 }, "empty configuration: expected %s", f->what);
	else
		r = read_top(p, f, root, ctx);
	yaml_document_delete(&doc);
	return r;
}

int yconf_parse(const struct yconf_format *f, void *ctx, void *out, const char *text, size_t len,
		const char *path, char *err, size_t errlen)
{
	struct yconf p = { .path = path ? path : "<memory>", .err = err, .errlen = errlen };
	int r;

	memset(out, 0, f->out_size);
	if (err && errlen)
		err[0] = '\0';
	if ((r = f->begin(&p, ctx)) == 0)
		r = read_document(&p, f, ctx, text, len);
	if (r == 0) {
		memcpy(out, (char *)ctx + f->out_off, f->out_size);
		memset((char *)ctx + f->out_off, 0, f->out_size);
	}
	f->release((char *)ctx + f->out_off);
	if (f->end)
		f->end(ctx);
	return r;
}

int yconf_load(const struct yconf_format *f, void *ctx, void *out, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	memset(out, 0, f->out_size);
	if ((r = yconf_read_file(path, f->max, &text, &len, err, errlen)) < 0)
		return r;
	r = yconf_parse(f, ctx, out, text, len, path, err, errlen);
	free(text);
	return r;
}
