/* The target table and its generations (scheduler/table.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/table.h"

#define TABLE_MAX_TARGETS (1u << 24)
#define SLOT_EMPTY UINT32_MAX

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void group_release(struct table_group *g)
{
	free(g->name);
	for (size_t i = 0; i < g->n_labels; i++) {
		free(g->labels[i].key);
		free(g->labels[i].value);
	}
	free(g->labels);
	check_spec_unref(g->check);
	g->check = NULL;
}

static int group_copy(struct table_group *dst, const struct table_group *src)
{
	*dst = *src;
	dst->check = check_spec_ref(src->check);
	dst->name = xstrdup(src->name);
	dst->labels = src->n_labels ? calloc(src->n_labels, sizeof(*dst->labels)) : NULL;
	if ((src->name && !dst->name) || (src->n_labels && !dst->labels)) {
		dst->n_labels = 0;
		group_release(dst);
		return -ENOMEM;
	}
	for (size_t i = 0; i < src->n_labels; i++) {
		dst->labels[i].key = xstrdup(src->labels[i].key);
		dst->labels[i].value = xstrdup(src->labels[i].value);
		if (!dst->labels[i].key || !dst->labels[i].value) {
			group_release(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

static void hostname_release(struct table_hostname *h)
{
	free(h->name);
	free(h->addrs);
}

static void table_free_one(struct table *t)
{
	target_list_release(&t->tl);
	free(t->group_of);
	free(t->dead);
	for (size_t i = 0; i < t->n_groups; i++)
		group_release(&t->groups[i]);
	free(t->groups);
	for (size_t i = 0; i < t->n_hostnames; i++)
		hostname_release(&t->hostnames[i]);
	free(t->hostnames);
	free(t->location);
	free(t);
}

void table_free(struct table *t)
{
	while (t) {
		struct table *older = t->older;
		table_free_one(t);
		t = older;
	}
}

static const struct table_hostname *hostname_find(const struct table *t, const char *name)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_hostnames; i++)
		if (strcmp(t->hostnames[i].name, name) == 0)
			return &t->hostnames[i];
	return NULL;
}

static int addr_cmp(const void *a, const void *b)
{
	const struct sw_addr *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->u.b, y->u.b, 16);
}

struct build {
	struct table *t;
	const struct table *prev;
};

/* The resolver the target lists use while a table is built: each name is
 * asked once per build (for both families; groups filter), and a name that
 * fails on a rebuild keeps the addresses it had. */
static int build_resolver(void *ctx, const char *host, uint8_t families, struct sw_addr **out, size_t *n, char *err,
			  size_t errlen)
{
	struct build *b = ctx;
	const struct table_hostname *h = hostname_find(b->t, host);

	if (!h) {
		struct table_hostname nh = { .name = strdup(host) };
		struct table_hostname *v = realloc(b->t->hostnames, (b->t->n_hostnames + 1) * sizeof(*v));
		if (!nh.name || !v) {
			free(nh.name);
			if (v)
				b->t->hostnames = v;
			return -ENOMEM;
		}
		b->t->hostnames = v;
		int r = target_resolve(host, TARGET_FAMILY_V4 | TARGET_FAMILY_V6, &nh.addrs, &nh.n_addrs, err, errlen);
		if (r < 0) {
			const struct table_hostname *old = hostname_find(b->prev, host);
			if (!old || old->n_addrs == 0) {
				free(nh.name);
				return r;
			}
			nh.err = -r;
			nh.addrs = malloc(old->n_addrs * sizeof(*nh.addrs));
			if (!nh.addrs) {
				free(nh.name);
				return -ENOMEM;
			}
			memcpy(nh.addrs, old->addrs, old->n_addrs * sizeof(*nh.addrs));
			nh.n_addrs = old->n_addrs;
		}
		qsort(nh.addrs, nh.n_addrs, sizeof(*nh.addrs), addr_cmp);
		b->t->hostnames[b->t->n_hostnames++] = nh;
		h = &b->t->hostnames[b->t->n_hostnames - 1];
	}
	*out = malloc((h->n_addrs ? h->n_addrs : 1) * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	*n = 0;
	for (size_t i = 0; i < h->n_addrs; i++)
		if (families & (h->addrs[i].family == AF_INET ? TARGET_FAMILY_V4 : TARGET_FAMILY_V6))
			(*out)[(*n)++] = h->addrs[i];
	if (*n == 0) {
		free(*out);
		*out = NULL;
		set_err(err, errlen, "'%s' has no address of the family asked for", host);
		return -EAFNOSUPPORT;
	}
	return 0;
}

/* Open addressing over ids keyed by (address, port). */
struct id_index {
	uint32_t *slot;
	size_t mask;
};

static int index_init(struct id_index *ix, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap <<= 1;
	ix->slot = malloc(cap * sizeof(*ix->slot));
	if (!ix->slot)
		return -ENOMEM;
	memset(ix->slot, 0xff, cap * sizeof(*ix->slot));
	ix->mask = cap - 1;
	return 0;
}

/* The id of (a, port) in tl, or SLOT_EMPTY; *pos is where it would go. */
static uint32_t index_find(const struct id_index *ix, const struct target_list *tl, const struct sw_addr *a,
			   uint16_t port, size_t *pos)
{
	size_t i = addr_port_hash(a, port) & ix->mask;

	while (ix->slot[i] != SLOT_EMPTY) {
		const struct target *t = &tl->v[ix->slot[i]];
		if (t->port == port && addr_equal(&t->addr, a))
			break;
		i = (i + 1) & ix->mask;
	}
	*pos = i;
	return ix->slot[i];
}

/* Appends a copy of name to tl's names; returns its offset or TARGET_NO_NAME. */
static int name_put(struct target_list *tl, const char *name, uint32_t *off)
{
	*off = TARGET_NO_NAME;
	if (!name)
		return 0;
	size_t len = strlen(name) + 1;
	if (tl->names_len + len > UINT32_MAX - 1)
		return -E2BIG;
	if (tl->names_len + len > tl->names_cap) {
		size_t cap = tl->names_cap ? tl->names_cap : 4096;
		while (cap < tl->names_len + len)
			cap *= 2;
		char *nn = realloc(tl->names, cap);
		if (!nn)
			return -ENOMEM;
		tl->names = nn;
		tl->names_cap = cap;
	}
	memcpy(tl->names + tl->names_len, name, len);
	*off = (uint32_t)tl->names_len;
	tl->names_len += len;
	return 0;
}

static int push_target(struct table *t, const struct target *src, const char *name, uint16_t group, uint8_t dead)
{
	struct target_list *tl = &t->tl;

	if (tl->n == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 1024;
		struct target *nv = realloc(tl->v, cap * sizeof(*nv));
		uint16_t *ng = realloc(t->group_of, cap * sizeof(*ng));
		if (ng)
			t->group_of = ng;
		if (nv)
			tl->v = nv;
		uint8_t *nd = ng && nv ? realloc(t->dead, cap) : NULL;
		if (!nd)
			return -ENOMEM;
		t->dead = nd;
		tl->cap = cap;
	}
	struct target *d = &tl->v[tl->n];
	*d = *src;
	int r = name_put(tl, name, &d->name);
	if (r < 0)
		return r;
	t->group_of[tl->n] = group;
	t->dead[tl->n] = dead;
	if (!dead)
		t->n_live++;
	tl->n++;
	return 0;
}

/* "[v6]:port" or "v4:port" for a named endpoint of a group. */
static void named_spec(char *buf, size_t len, const struct table_named *nm)
{
	if (strchr(nm->host, ':'))
		snprintf(buf, len, "[%s]:%u", nm->host, nm->port);
	else
		snprintf(buf, len, "%s:%u", nm->host, nm->port);
}

/* Every endpoint of group g, in config order, into gl. */
static int expand_group(struct build *b, const struct table_spec_group *g, const struct exclude_list *ex,
			struct target_list *gl, char *err, size_t errlen)
{
	char msg[512], spec[600];
	int r = 0;

	target_list_init(gl, TABLE_MAX_TARGETS, g->families ? g->families : TARGET_FAMILY_V4);
	gl->resolver = build_resolver;
	gl->resolver_ctx = b;
	for (size_t i = 0; i < g->n_named && r >= 0; i++) {
		named_spec(spec, sizeof(spec), &g->named[i]);
		r = target_list_add_spec(gl, spec, NULL, g->named[i].name, ex, msg, sizeof(msg));
	}
	for (size_t i = 0; i < g->n_hosts && r >= 0; i++)
		r = target_list_add_spec(gl, g->hosts[i], g->ports, NULL, ex, msg, sizeof(msg));
	if (r < 0)
		set_err(err, errlen, "group '%s': %s", g->settings.name, msg);
	return r < 0 ? r : 0;
}

/* Gives back what the doubling arrays hold beyond the targets: a table
 * lives as long as its generation, and its arrays are per target. The
 * table takes no more targets after this (generations are immutable), so
 * a shrink that fails (glibc's never does) only leaves an array larger. */
static void table_fit(struct table *t)
{
	struct target_list *tl = &t->tl;
	size_t n = tl->n ? tl->n : 1;

	if (tl->cap > n) {
		struct target *v = realloc(tl->v, n * sizeof(*v));
		uint16_t *g = v ? realloc(t->group_of, n * sizeof(*g)) : NULL;
		uint8_t *d = g ? realloc(t->dead, n) : NULL;
		if (v)
			tl->v = v;
		if (g)
			t->group_of = g;
		if (d) {
			t->dead = d;
			tl->cap = n;
		}
	}
	if (tl->names && tl->names_cap > tl->names_len + 1) {
		char *nn = realloc(tl->names, tl->names_len + 1);
		if (nn) {
			tl->names = nn;
			tl->names_cap = tl->names_len + 1;
		}
	}
}

static int table_alloc(struct table **out, const struct table *prev, const char *location)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->gen = prev ? prev->gen + 1 : 1;
	t->location = xstrdup(location);
	if (location && !t->location) {
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

/* Makes the index hold n more targets at most half full. */
static int index_fit(struct id_index *ix, const struct table *t, size_t more)
{
	int r;

	if ((t->tl.n + more) * 2 <= ix->mask + 1)
		return 0;
	free(ix->slot);
	if ((r = index_init(ix, (t->tl.n + more) * 2)) < 0)
		return r;
	for (size_t id = 0; id < t->tl.n; id++) {
		size_t pos;
		index_find(ix, &t->tl, &t->tl.v[id].addr, t->tl.v[id].port, &pos);
		ix->slot[pos] = (uint32_t)id;
	}
	return 0;
}

/* Gives the endpoints of gl to group gi: new ones get new ids, dead ones
 * come back to life; live ones stay with the group that claimed them first. */
static int claim(struct table *t, struct id_index *ix, const struct target_list *gl, uint16_t gi, char *err,
		 size_t errlen)
{
	int r;

	if ((r = index_fit(ix, t, gl->n)) < 0)
		return r;
	const struct check_spec *gc = t->groups[gi].check;
	for (size_t k = 0; k < gl->n; k++) {
		struct target one = gl->v[k];
		const struct target *gt = &one;
		size_t pos;
		/* the group's check for the ports without one of their own (a
		 * ping has no service) */
		if (one.check == CHECK_NONE && gc && one.port != TARGET_PORT_ICMP)
			one.check = gc->kind;
		uint32_t id = index_find(ix, &t->tl, &gt->addr, gt->port, &pos);
		const char *name = target_name(gl, &gl->v[k]);
		if (id == SLOT_EMPTY) {
			if (t->tl.n >= TABLE_MAX_TARGETS) {
				set_err(err, errlen, "more than %u targets", TABLE_MAX_TARGETS);
				return -E2BIG;
			}
			if ((r = push_target(t, gt, name, gi, 0)) < 0)
				return r;
			ix->slot[pos] = (uint32_t)(t->tl.n - 1);
		} else if (t->dead[id]) {
			/* back to life (kept from prev, or claimed first by this group) */
			t->dead[id] = 0;
			t->n_live++;
			t->group_of[id] = gi;
			t->tl.v[id].check = gt->check; /* as this generation asks */
			if (name && (r = name_put(&t->tl, name, &t->tl.v[id].name)) < 0)
				return r;
			else if (!name)
				t->tl.v[id].name = TARGET_NO_NAME;
		}
	}
	t->tl.excluded += gl->excluded;
	return 0;
}

void table_runtime_release(struct table_runtime *e)
{
	free(e->spec);
	free(e->group);
	free(e->name);
	free(e->own_group);
	for (size_t i = 0; i < e->n_labels; i++) {
		free(e->labels[i].key);
		free(e->labels[i].value);
	}
	free(e->labels);
	memset(e, 0, sizeof(*e));
}

static int label_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

/* A copy of base with e's interval and labels (e's win; with own_group,
 * e's alone under that name), appended to t->groups. Returns its index or
 * a negative errno (why says it). */
static int runtime_group(struct table *t, const struct table_group *base, const struct table_runtime *e,
			 char *why, size_t whylen)
{
	struct table_group g = *base;
	struct label *merged;
	size_t n = 0;
	int r;

	if (t->n_groups >= TABLE_MAX_GROUPS) {
		set_err(why, whylen, "more than %d groups: give fewer runtime targets their own interval or labels",
			TABLE_MAX_GROUPS);
		return -E2BIG;
	}
	if (e->interval_ns) {
		g.interval_ns = e->interval_ns;
		if (g.timeout_ns * (g.retries + 1) >= g.interval_ns) {
			set_err(why, whylen,
				"interval %.3gs is not longer than the timeout x (retries + 1) = %.3gs of group '%s'",
				(double)g.interval_ns / 1e9, (double)g.timeout_ns * (g.retries + 1) / 1e9,
				base->name ? base->name : "");
			return -EINVAL;
		}
	}
	if (!(merged = calloc(base->n_labels + e->n_labels + 1, sizeof(*merged))))
		return -ENOMEM;
	for (size_t i = 0; i < e->n_labels; i++)
		merged[n++] = e->labels[i];
	for (size_t i = 0; !e->own_group && i < base->n_labels; i++) {
		bool over = false;
		for (size_t k = 0; k < e->n_labels; k++)
			over |= strcmp(e->labels[k].key, base->labels[i].key) == 0;
		if (!over)
			merged[n++] = base->labels[i];
	}
	qsort(merged, n, sizeof(*merged), label_key_cmp);
	g.labels = merged;
	g.n_labels = n;
	if (e->own_group)
		g.name = e->own_group;
	struct table_group *v = realloc(t->groups, (t->n_groups + 1) * sizeof(*v));
	if (!v) {
		free(merged);
		return -ENOMEM;
	}
	t->groups = v;
	r = group_copy(&t->groups[t->n_groups], &g);
	free(merged);
	if (r < 0)
		return r;
	return (int)t->n_groups++;
}

/* The runtime entries, each into its group's (or its own) group. */
static int add_runtime(struct build *b, const struct table_spec *spec, const struct exclude_list *ex,
		       struct id_index *ix, const struct table_extra *extra, char *err, size_t errlen)
{
	struct table *t = b->t;
	char why[600];
	int r = 0;

	for (size_t i = 0; i < extra->n; i++) {
		const struct table_runtime *e = &extra->v[i];
		struct target_list gl;
		size_t gi = 0;
		int own = -1;

		why[0] = '\0';
		if (e->group)
			for (gi = 0; gi < t->n_base_groups; gi++)
				if (t->groups[gi].name && strcmp(t->groups[gi].name, e->group) == 0)
					break;
		if (gi >= t->n_base_groups) {
			set_err(why, sizeof(why), "no group '%s'", e->group ? e->group : "(none)");
			goto rejected;
		}
		if ((e->interval_ns || e->n_labels || e->own_group) &&
		    (own = runtime_group(t, &t->groups[gi], e, why, sizeof(why))) < 0) {
			if (own == -ENOMEM)
				return own;
			goto rejected;
		}
		target_list_init(&gl, TABLE_MAX_TARGETS,
				 spec && spec->groups[gi].families ? spec->groups[gi].families : TARGET_FAMILY_V4);
		gl.resolver = build_resolver;
		gl.resolver_ctx = b;
		r = target_list_add_spec(&gl, e->spec, NULL, e->name, ex, why, sizeof(why));
		if (r >= 0)
			r = claim(t, ix, &gl, (uint16_t)(own >= 0 ? own : (int)gi), err, errlen);
		target_list_release(&gl);
		if (r == -ENOMEM || r == -E2BIG)
			return r;
		if (r >= 0)
			continue;
		if (own >= 0)
			group_release(&t->groups[--t->n_groups]);
rejected:
		if (extra->rejected)
			extra->rejected(extra->ctx, e, why);
	}
	return 0;
}

int table_build_with(struct table **out, const struct table_spec *spec, const struct exclude_list *ex,
		     const struct table *prev, const struct table_extra *extra, char *err, size_t errlen)
{
	struct table *t = NULL;
	struct target_list gl = { 0 };
	struct id_index ix = { 0 };
	struct build b = { .prev = prev };
	size_t total = prev ? prev->tl.n : 0;
	size_t n_base = spec ? spec->n_groups : prev ? prev->n_base_groups : 0;
	int r;

	*out = NULL;
	if (!spec && !prev) {
		set_err(err, errlen, "no configuration and no previous table");
		return -EINVAL;
	}
	if (n_base > TABLE_MAX_GROUPS) {
		set_err(err, errlen, "%zu groups: at most %d", n_base, TABLE_MAX_GROUPS);
		return -E2BIG;
	}
	if ((r = table_alloc(&t, prev, spec ? spec->location : prev->location)) < 0)
		goto nomem;
	b.t = t;
	t->groups = calloc(n_base ? n_base : 1, sizeof(*t->groups));
	if (!t->groups)
		goto nomem;
	for (size_t i = 0; i < n_base; i++) {
		r = group_copy(&t->groups[i], spec ? &spec->groups[i].settings : &prev->groups[i]);
		if (r < 0)
			goto nomem;
		t->n_groups++;
	}
	t->n_base_groups = n_base;
	/* the previous generation's ids first, all dead until a group claims
	 * them; without a spec, its base targets stay as they are */
	for (size_t id = 0; prev && id < prev->tl.n; id++) {
		const struct target *pt = &prev->tl.v[id];
		uint16_t g = prev->group_of[id];
		bool keep = !spec && !prev->dead[id] && g < n_base;
		if ((r = push_target(t, pt, target_name(&prev->tl, pt), keep ? g : TABLE_NO_GROUP, !keep)) < 0)
			goto nomem;
	}
	t->tl.families = TARGET_FAMILY_V4 | TARGET_FAMILY_V6;
	if ((r = index_init(&ix, total + 1024)) < 0)
		goto nomem;
	for (size_t id = 0; id < t->tl.n; id++) {
		size_t pos;
		index_find(&ix, &t->tl, &t->tl.v[id].addr, t->tl.v[id].port, &pos);
		ix.slot[pos] = (uint32_t)id;
	}
	for (size_t gi = 0; spec && gi < spec->n_groups; gi++) {
		if ((r = expand_group(&b, &spec->groups[gi], ex, &gl, err, errlen)) < 0)
			goto out;
		if ((r = claim(t, &ix, &gl, (uint16_t)gi, err, errlen)) < 0)
			goto fail;
		target_list_release(&gl);
	}
	if (extra && (r = add_runtime(&b, spec, ex, &ix, extra, err, errlen)) < 0)
		goto fail;
	table_fit(t);
	*out = t;
	t = NULL;
	r = 0;
	goto out;
fail:
	if (r == -E2BIG)
		goto out;
nomem:
	r = r < 0 ? r : -ENOMEM;
	set_err(err, errlen, "cannot build the target table: %s", strerror(-r));
out:
	target_list_release(&gl);
	free(ix.slot);
	table_free(t);
	return r;
}

int table_from_list(struct table **out, struct target_list *tl, const struct table_group *g, const char *location)
{
	struct table *t = NULL;
	int r;

	*out = NULL;
	if ((r = table_alloc(&t, NULL, location)) < 0)
		return r;
	t->tl = *tl;
	memset(tl, 0, sizeof(*tl));
	t->group_of = malloc((t->tl.n ? t->tl.n : 1) * sizeof(*t->group_of));
	t->dead = calloc(t->tl.n ? t->tl.n : 1, 1);
	if (!t->group_of || !t->dead)
		goto nomem;
	if (g) {
		t->groups = calloc(1, sizeof(*t->groups));
		if (!t->groups || group_copy(&t->groups[0], g) < 0)
			goto nomem;
		t->n_groups = 1;
	}
	t->n_base_groups = t->n_groups;
	for (size_t i = 0; i < t->tl.n; i++) {
		t->group_of[i] = g ? 0 : TABLE_NO_GROUP;
		if (g && g->check && t->tl.v[i].check == CHECK_NONE && t->tl.v[i].port != TARGET_PORT_ICMP)
			t->tl.v[i].check = g->check->kind; /* as a build's claim does */
	}
	t->n_live = (uint32_t)t->tl.n;
	table_fit(t);
	*out = t;
	return 0;
nomem:
	table_free(t);
	return -ENOMEM;
}

void table_diff(const struct table *prev, const struct table *next, void (*fn)(void *ctx, uint32_t id, bool added),
		void *ctx)
{
	for (size_t id = 0; id < next->tl.n; id++) {
		bool was = prev && id < prev->tl.n && !prev->dead[id];
		bool is = !next->dead[id];
		if (was != is)
			fn(ctx, (uint32_t)id, is);
	}
}

void table_moved_hostnames(const struct table *prev, const struct table *next,
			   void (*fn)(void *ctx, const struct table_hostname *before, const struct table_hostname *after),
			   void *ctx)
{
	for (size_t i = 0; i < next->n_hostnames; i++) {
		const struct table_hostname *after = &next->hostnames[i];
		const struct table_hostname *before = hostname_find(prev, after->name);
		if (!before)
			continue;
		if (before->n_addrs != after->n_addrs ||
		    memcmp(before->addrs, after->addrs, after->n_addrs * sizeof(*after->addrs)) != 0)
			fn(ctx, before, after);
	}
}

void table_memuse(const struct table *t, struct memuse *u)
{
	memuse_add(u, "table.targets", t->tl.cap * sizeof(*t->tl.v), true);
	memuse_add(u, "table.names", t->tl.names_cap, true);
	memuse_add(u, "table.group_of", t->tl.cap * sizeof(*t->group_of), true);
	memuse_add(u, "table.dead", t->tl.cap * sizeof(*t->dead), true);
}

void table_pub_publish(struct table_pub *p, struct table *t)
{
	t->older = atomic_load_explicit(&p->latest, memory_order_relaxed);
	/* release: the reader that sees t sees it whole */
	atomic_store_explicit(&p->latest, t, memory_order_release);
}

const struct table *table_pub_latest(struct table_pub *p)
{
	struct table *t = atomic_load_explicit(&p->latest, memory_order_acquire);

	if (t != p->reader_cur) {
		/* nobody reads the generations older than t any more: the
		 * publisher only touches the newest, and we are the one reader */
		table_free(t->older);
		t->older = NULL;
		p->reader_cur = t;
	}
	return t;
}

void table_pub_release(struct table_pub *p)
{
	table_free(atomic_load(&p->latest));
	atomic_store(&p->latest, NULL);
	p->reader_cur = NULL;
}

struct check_spec *table_check(const struct table *t, uint32_t id)
{
	uint8_t kind = t->tl.v[id].check;
	const struct table_group *g = table_group_of(t, id);

	if (kind == CHECK_NONE)
		return NULL;
	if (g && g->check && g->check->kind == kind)
		return g->check;
	return check_spec_default(kind);
}
