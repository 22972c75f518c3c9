/* Reading the fleet's state back from Redis (tools/lib/fleetview.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "common/json.h"
#include "common/num.h"
#include "tools/lib/fleetview.h"
#include "store/schema.h"
#include "store/redis-conn.h"

/* Commands in flight in a pipeline: enough to hide the round trip, few
 * enough that neither side buffers much (a state hash reply is ~300 bytes). */
#define FV_WINDOW 512
/* idx:LOC:all is read in slices of this many members, so that Redis never
 * builds one huge reply while probers wait to write. */
#define FV_SLICE 20000
#define FV_KEY_MAX SCHEMA_KEY_MAX

/* The fields of a state hash a viewer reads, in the order targets_recv
 * takes them (docs/redis.md), the service check's kind last: only the
 * hashes that have one are asked for the check's other fields
 * (check_fields), in a second pipeline. Asking every hash for all 25 made
 * a 100k-target snapshot of a fleet without checks 70% slower (each field
 * is looked up by Redis and becomes a reply object in hiredis, nil or not). */
static const char *const state_fields[] = {
	"state", "since", "reason", "last_result", "last_rtt_us", "last_ts", "name", "group", "labels", "prober",
	"check",
};
static const char *const check_fields[] = {
	"check_ok", "check_verdict", "check_error", "check_us", "check_ts", "banner", "tls_version", "tls_cipher",
	"cert_subject", "cert_issuer", "cert_sans", "cert_not_after", "cert_days_left", "cert_verified",
	"cert_error",
};
#define N_STATE_FIELDS (sizeof(state_fields) / sizeof(state_fields[0]))
#define N_CHECK_FIELDS (sizeof(check_fields) / sizeof(check_fields[0]))
#define FIELDS_RESP_MAX 512

/* HMGET's field arguments as RESP, written once: the command runs once per
 * target and snapshot, and hiredis's own formatting (sdscatfmt per
 * argument) was a tenth of a 100k-target read. */
struct fields_resp {
	char s[FIELDS_RESP_MAX];
	size_t len, n;
};

struct fleetview {
	struct fields_resp state_resp, check_resp;
	redisContext *c;
	struct redis_url url;
	char url_text[600];
	char prefix[128];
	int timeout_ms;
	bool has_schema;
	char err[640];
};

static const char *const state_names[FV_NSETS] = {
	"unknown", "up", "degraded", "down", "flapping", SCHEMA_IDX_ALL,
};

const char *fv_state_name(enum fv_state s)
{
	return (unsigned)s < FV_NSETS ? state_names[s] : "unknown";
}

int fv_state_parse(const char *s)
{
	for (int i = 0; i < FV_NSTATES; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -EINVAL;
}

int fv_state_rank(enum fv_state s)
{
	static const int rank[FV_NSTATES] = {
		[FV_DOWN] = 0, [FV_FLAPPING] = 1, [FV_DEGRADED] = 2, [FV_UNKNOWN] = 3, [FV_UP] = 4,
	};
	return (unsigned)s < FV_NSTATES ? rank[s] : 3;
}

bool fv_state_ok(enum fv_state s)
{
	return s == FV_UP || s == FV_DEGRADED;
}

/* ---- arena ---- */

struct fv_chunk {
	struct fv_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define FV_CHUNK_MIN (64 * 1024)

void *fv_alloc(struct fv_arena *a, size_t n)
{
	struct fv_chunk *c = a->head;
	size_t al = _Alignof(max_align_t);

	n = (n + al - 1) & ~(al - 1);
	if (!c || c->size - c->used < n) {
		size_t size = n > FV_CHUNK_MIN ? n : FV_CHUNK_MIN;
		if (n > FV_CHUNK_MIN / 4 && c) {
			/* a big piece gets its own chunk behind the current one,
			 * so the current one's free space is not wasted */
			struct fv_chunk *big = malloc(sizeof(*big) + n);
			if (!big)
				return NULL;
			big->size = big->used = n;
			big->next = c->next;
			c->next = big;
			return big->data;
		}
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

char *fv_strndup(struct fv_arena *a, const char *s, size_t n)
{
	char *p = fv_alloc(a, n + 1);

	if (p) {
		if (n)
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void fv_arena_release(struct fv_arena *a)
{
	struct fv_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* ---- escaping ---- */

void fv_prom_value(struct buf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *e = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
		if (!e)
			continue;
		buf_add(b, run, (size_t)(s - run));
		buf_add(b, e, 2);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

const char *fv_record_get(const struct fv_record *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->keys[i], key) == 0)
			return r->vals[i];
	return NULL;
}

/* ---- connection ---- */

__attribute__((format(printf, 2, 3))) static void set_err(struct fleetview *fv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fv->err, sizeof(fv->err), fmt, ap);
	va_end(ap);
}

/* The connection is lost or out of step: drop it, the next call reconnects. */
static int conn_lost(struct fleetview *fv)
{
	set_err(fv, "redis at %s: %s", fv->url_text, fv->c && fv->c->errstr[0] ? fv->c->errstr : "connection lost");
	if (fv->c)
		redisFree(fv->c);
	fv->c = NULL;
	return -ECONNRESET;
}


/* Key k of the layout under fv's prefix into buf (FV_KEY_MAX bytes). */
static const char *key_of(const struct fleetview *fv, char *buf, enum schema_key k, const char *a, const char *b)
{
	return schema_key(buf, FV_KEY_MAX, fv->prefix, k, a, b);
}

/* One command, its reply checked for errors. Returns 0 and sets *out (free
 * with freeReplyObject), or a negative errno. */
static int command(struct fleetview *fv, redisReply **out, int argc, const char **argv)
{
	redisReply *rep = redisCommandArgv(fv->c, argc, argv, NULL);

	if (!rep)
		return conn_lost(fv);
	if (rep->type == REDIS_REPLY_ERROR) {
		set_err(fv, "redis at %s: %s: %s", fv->url_text, argv[0], rep->str);
		freeReplyObject(rep);
		return -EPROTO;
	}
	*out = rep;
	return 0;
}

static int check_schema(struct fleetview *fv)
{
	char key[FV_KEY_MAX];
	const char *argv[] = { "GET", key_of(fv, key, SCHEMA_SCHEMA, NULL, NULL) };
	redisReply *rep;
	int r = command(fv, &rep, 2, argv);

	if (r < 0)
		return r;
	fv->has_schema = rep->type == REDIS_REPLY_STRING;
	if (fv->has_schema && !schema_is_ours(rep->str)) {
		set_err(fv, "redis at %s has schema %.32s, this program reads %s", fv->url_text, rep->str,
			SCHEMA_VERSION);
		r = -EPROTONOSUPPORT;
	} else if (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_NIL) {
		set_err(fv, "redis at %s: '%s' is not a string", fv->url_text, key);
		r = -EPROTO;
	}
	freeReplyObject(rep);
	return r;
}

static int ensure(struct fleetview *fv)
{
	char err[512];
	int r;

	if (fv->c)
		return 0;
	r = redis_connect(&fv->c, &fv->url, fv->timeout_ms, err, sizeof(err));
	if (r < 0) {
		fv->c = NULL;
		set_err(fv, "%s", err);
		return r;
	}
	r = check_schema(fv);
	if (r < 0 && fv->c) {
		redisFree(fv->c);
		fv->c = NULL;
	}
	return r;
}

static void fields_resp_init(struct fields_resp *r, const char *const *fields, size_t n)
{
	r->len = 0;
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		size_t room = sizeof(r->s) - r->len;
		int k = snprintf(r->s + r->len, room, "$%zu\r\n%s\r\n", strlen(fields[i]), fields[i]);
		if (k < 0 || (size_t)k >= room)
			abort(); /* FIELDS_RESP_MAX holds the fixed lists above */
		r->len += (size_t)k;
	}
}

int fleetview_open(struct fleetview **out, const char *url, const char *prefix, int timeout_ms, char *err,
		   size_t errlen)
{
	struct fleetview *fv = calloc(1, sizeof(*fv));
	int r;

	if (!fv)
		return -ENOMEM;
	r = schema_check_prefix(prefix, err, errlen);
	if (r == 0)
		r = redis_url_parse(&fv->url, url, err, errlen);
	if (r < 0)
		goto out;
	redis_url_describe(&fv->url, fv->url_text, sizeof(fv->url_text));
	snprintf(fv->prefix, sizeof(fv->prefix), "%s", prefix);
	fv->timeout_ms = timeout_ms;
	fields_resp_init(&fv->state_resp, state_fields, N_STATE_FIELDS);
	fields_resp_init(&fv->check_resp, check_fields, N_CHECK_FIELDS);
	r = ensure(fv);
	if (r < 0)
		snprintf(err, errlen, "%s", fv->err);
out:
	if (r < 0) {
		fleetview_free(fv);
		return r;
	}
	*out = fv;
	return 0;
}

void fleetview_free(struct fleetview *fv)
{
	if (!fv)
		return;
	if (fv->c)
		redisFree(fv->c);
	free(fv);
}

const char *fleetview_error(const struct fleetview *fv)
{
	return fv->err;
}

const char *fleetview_url(const struct fleetview *fv)
{
	return fv->url_text;
}

const char *fleetview_prefix(const struct fleetview *fv)
{
	return fv->prefix;
}

bool fleetview_has_schema(const struct fleetview *fv)
{
	return fv->has_schema;
}

int fleetview_check_schema(struct fleetview *fv)
{
	int r;

	if (!fv->c)
		return ensure(fv); /* a connect reads it */
	r = check_schema(fv);
	if (r < 0 && fv->c) {
		/* as ensure does: every later call reconnects and says it again */
		redisFree(fv->c);
		fv->c = NULL;
	}
	return r;
}

/* ---- pipelines ---- */

/* send appends command i (redisAppendCommandArgv); recv handles reply i
 * (not freed by it). A failing recv stops sending; the replies still due
 * are read and dropped so that the connection stays in step. */
typedef int (*pipe_send_fn)(struct fleetview *fv, void *ctx, size_t i);
typedef int (*pipe_recv_fn)(struct fleetview *fv, void *ctx, size_t i, redisReply *rep);

static int pipeline(struct fleetview *fv, size_t n, pipe_send_fn send, pipe_recv_fn recv, void *ctx)
{
	size_t sent = 0, got = 0;
	int r = 0;

	while (got < sent || (sent < n && r == 0)) {
		while (r == 0 && sent < n && sent - got < FV_WINDOW) {
			if (send(fv, ctx, sent) != REDIS_OK)
				return conn_lost(fv);
			sent++;
		}
		redisReply *rep;
		if (redisGetReply(fv->c, (void **)&rep) != REDIS_OK)
			return conn_lost(fv);
		if (r == 0 && rep->type == REDIS_REPLY_ERROR) {
			set_err(fv, "redis at %s: %s", fv->url_text, rep->str);
			r = -EPROTO;
		} else if (r == 0) {
			r = recv(fv, ctx, got, rep);
		}
		freeReplyObject(rep);
		got++;
	}
	return r;
}

static int wrong_shape(struct fleetview *fv, const char *what)
{
	set_err(fv, "redis at %s: unexpected reply to %s (is the prefix '%s' right?)", fv->url_text, what, fv->prefix);
	return -EPROTO;
}

static int nomem(struct fleetview *fv)
{
	set_err(fv, "out of memory");
	return -ENOMEM;
}

static const char *dup_reply(struct fv_arena *a, const redisReply *r)
{
	/* absent and empty fields share one "": a checked port's state hash
	 * has a dozen empty ones, and a snapshot holds every target's */
	if ((r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) || r->len == 0)
		return "";
	return fv_strndup(a, r->str, r->len);
}

static int64_t parse_i64(const char *s)
{
	int64_t v;

	return s && num_parse_int(s, INT64_MIN, INT64_MAX, &v) == 0 ? v : 0;
}

/* A flat [k, v, k, v...] array into a record (hashes, stream entries). */
static int record_of(struct fleetview *fv, struct fv_arena *a, const redisReply *arr, const char *id,
		     struct fv_record *out)
{
	if (arr->type != REDIS_REPLY_ARRAY || arr->elements % 2)
		return wrong_shape(fv, "a hash or a stream entry");
	out->id = id;
	out->n = arr->elements / 2;
	out->keys = fv_alloc(a, (out->n + 1) * sizeof(char *));
	out->vals = fv_alloc(a, (out->n + 1) * sizeof(char *));
	if (!out->keys || !out->vals)
		return nomem(fv);
	for (size_t i = 0; i < out->n; i++) {
		out->keys[i] = dup_reply(a, arr->element[2 * i]);
		out->vals[i] = dup_reply(a, arr->element[2 * i + 1]);
		if (!out->keys[i] || !out->vals[i])
			return nomem(fv);
	}
	return 0;
}

/* Runs a command whose reply is an array (of pairs when pairs is set) and
 * takes room from a for one item of item_size per element, plus extra + 1.
 * Returns 0 and sets *rep (free with freeReplyObject) and *items, or a
 * negative errno with nothing to free. */
static int array_command(struct fleetview *fv, int argc, const char **argv, struct fv_arena *a, size_t item_size,
			 size_t extra, bool pairs, redisReply **rep, void **items)
{
	int r;

	*rep = NULL;
	if ((r = ensure(fv)) < 0 || (r = command(fv, rep, argc, argv)) < 0)
		return r;
	if ((*rep)->type != REDIS_REPLY_ARRAY || (pairs && (*rep)->elements % 2))
		r = wrong_shape(fv, argv[0]);
	else if (!(*items = fv_alloc(a, ((*rep)->elements + extra + 1) * item_size)))
		r = nomem(fv);
	if (r < 0) {
		freeReplyObject(*rep);
		*rep = NULL;
	}
	return r;
}

/* ---- locations and probers ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t fv_sort_unique(const char **v, size_t n)
{
	size_t u = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(v[u - 1], v[i]) != 0)
			v[u++] = v[i];
	return u;
}

/* Probers are few (one per probe host); more than this is not a fleet of probers. */
#define FV_PROBERS_MAX 10000

int fleetview_locations(struct fleetview *fv, struct fv_arena *a, const char *const *extra, size_t n_extra,
			const char ***out)
{
	char key[FV_KEY_MAX], stop[16];
	const char *argv[] = { "ZREVRANGE", key_of(fv, key, SCHEMA_PROBERS, NULL, NULL), "0", stop };
	redisReply *rep = NULL;
	const char **locs = NULL;
	size_t n = 0;
	int r;

	snprintf(stop, sizeof(stop), "%d", FV_PROBERS_MAX - 1);
	if ((r = array_command(fv, 4, argv, a, sizeof(*locs), n_extra, false, &rep, (void **)&locs)) < 0)
		return r;
	for (size_t i = 0; i < rep->elements; i++) {
		const redisReply *m = rep->element[i];
		if (m->type != REDIS_REPLY_STRING)
			continue;
		const char *slash = memchr(m->str, '/', m->len);
		size_t len = slash ? (size_t)(slash - m->str) : m->len;
		if (schema_location_ok(m->str, len) && !(locs[n++] = fv_strndup(a, m->str, len))) {
			r = nomem(fv);
			goto out;
		}
	}
	for (size_t i = 0; i < n_extra; i++)
		locs[n++] = extra[i];
	size_t u = fv_sort_unique(locs, n);
	locs[u] = NULL;
	*out = locs;
	r = (int)u;
out:
	freeReplyObject(rep);
	return r;
}

enum fv_prober_health fv_prober_health(const struct fv_prober *p, int64_t now_ms)
{
	if (!p->alive)
		return FV_PROBER_GONE;
	return now_ms - p->last_ms > FV_PROBER_LATE_MS ? FV_PROBER_LATE : FV_PROBER_OK;
}

const char *fv_prober_health_name(enum fv_prober_health h)
{
	static const char *const names[FV_PROBER_NHEALTH] = { "ok", "late", "gone" };

	return (unsigned)h < FV_PROBER_NHEALTH ? names[h] : "gone";
}

void fv_probers_sum(const struct fv_prober *p, size_t n, int64_t now_ms, struct fv_probers_sum *out)
{
	*out = (struct fv_probers_sum){ 0 };
	for (size_t i = 0; i < n; i++) {
		enum fv_prober_health h = fv_prober_health(&p[i], now_ms);
		out->n[h]++;
		if (h == FV_PROBER_GONE && (!out->gone || p[i].last_ms > out->gone->last_ms))
			out->gone = &p[i];
		else if (h == FV_PROBER_LATE && (!out->late || p[i].last_ms > out->late->last_ms))
			out->late = &p[i];
	}
	for (size_t i = 0; out->gone && i < n; i++)
		if (p[i].alive && !strcmp(p[i].location, out->gone->location))
			out->gone_loc_live++;
}

bool fv_never_written(bool has_schema, size_t nprobers)
{
	return !has_schema && nprobers == 0;
}

struct probers_ctx {
	struct fv_arena *a;
	struct fv_prober *p;
};

static int probers_send(struct fleetview *fv, void *ctx, size_t i)
{
	struct probers_ctx *pc = ctx;
	char key[FV_KEY_MAX];
	const char *argv[] = { "HGETALL", key_of(fv, key, SCHEMA_PROBER, pc->p[i].id, NULL) };

	return redisAppendCommandArgv(fv->c, 2, argv, NULL);
}

static int probers_recv(struct fleetview *fv, void *ctx, size_t i, redisReply *rep)
{
	struct probers_ctx *pc = ctx;
	struct fv_prober *p = &pc->p[i];
	int r = record_of(fv, pc->a, rep, p->id, &p->h);

	p->alive = r == 0 && p->h.n > 0;
	return r;
}

int fleetview_probers(struct fleetview *fv, struct fv_arena *a, size_t max, struct fv_prober **out)
{
	char key[FV_KEY_MAX], stop[24];
	const char *argv[] = { "ZREVRANGE", key_of(fv, key, SCHEMA_PROBERS, NULL, NULL), "0", stop,
			       "WITHSCORES" };
	redisReply *rep = NULL;
	struct probers_ctx pc = { .a = a };
	size_t n = 0;
	int r;

	if (max == 0)
		return 0;
	snprintf(stop, sizeof(stop), "%zu", max - 1);
	if ((r = array_command(fv, 5, argv, a, sizeof(*pc.p), 0, true, &rep, (void **)&pc.p)) < 0)
		return r;
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		const redisReply *m = rep->element[i], *s = rep->element[i + 1];
		if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING)
			continue;
		struct fv_prober *p = &pc.p[n];
		*p = (struct fv_prober){ .id = fv_strndup(a, m->str, m->len), .last_ms = (int64_t)atof(s->str) };
		const char *slash = memchr(m->str, '/', m->len);
		p->location = fv_strndup(a, m->str, slash ? (size_t)(slash - m->str) : m->len);
		if (!p->id || !p->location) {
			r = nomem(fv);
			goto out;
		}
		n++;
	}
	r = pipeline(fv, n, probers_send, probers_recv, &pc);
	if (r == 0) {
		*out = pc.p;
		r = (int)n;
	}
out:
	freeReplyObject(rep);
	return r;
}

/* ---- handshake histograms ---- */

struct histo_ctx {
	struct fv_arena *a;
	const char *const *locs;
	struct fv_histo **per;   /* per location: its groups, in the arena */
	size_t *nper;
};

static int histo_send(struct fleetview *fv, void *ctx, size_t i)
{
	struct histo_ctx *hc = ctx;
	char key[FV_KEY_MAX];
	const char *argv[] = { "HGETALL", key_of(fv, key, SCHEMA_HISTO, hc->locs[i], NULL) };

	return redisAppendCommandArgv(fv->c, 2, argv, NULL);
}

/* The bucket a field's name stands for ("800": (400, 800] us), or -1. */
static int histo_field_bucket(const char *f, size_t len)
{
	uint64_t us = 0;

	if (len == 3 && !memcmp(f, "inf", 3))
		return HISTO_NBOUNDS;
	for (size_t k = 0; k < len; k++) {
		if (f[k] < '0' || f[k] > '9' || k > 12)
			return -1;
		us = us * 10 + (uint64_t)(f[k] - '0');
	}
	for (unsigned b = 0; b < HISTO_NBOUNDS; b++)
		if ((uint64_t)histo_bound_ns(b) == us * 1000)
			return (int)b;
	return -1;
}

/* The group's entry among v[0 .. *n), added when new (v has room for one
 * per field of the hash); NULL when out of memory. */
static struct fv_histo *histo_of(struct fv_arena *a, struct fv_histo *v, size_t *n, const char *loc,
				 const char *group, size_t len)
{
	for (size_t k = 0; k < *n; k++)
		if (strlen(v[k].group) == len && !memcmp(v[k].group, group, len))
			return &v[k];
	const char *g = fv_strndup(a, group, len);
	if (!g)
		return NULL;
	v[*n] = (struct fv_histo){ .location = loc, .group = g };
	return &v[(*n)++];
}

static int histo_recv(struct fleetview *fv, void *ctx, size_t i, redisReply *rep)
{
	struct histo_ctx *hc = ctx;
	struct fv_histo *v;
	size_t n = 0;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2)
		return wrong_shape(fv, "HGETALL of a histogram");
	if (!(v = fv_alloc(hc->a, (rep->elements / 2 + 1) * sizeof(*v))))
		return nomem(fv);
	for (size_t e = 0; e + 1 < rep->elements; e += 2) {
		const redisReply *k = rep->element[e], *val = rep->element[e + 1];
		const char *colon;
		int64_t x;
		if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING ||
		    !(colon = memchr(k->str, ':', k->len)) || num_parse_int(val->str, 0, INT64_MAX, &x) < 0)
			continue;
		size_t flen = (size_t)(colon - k->str);
		int b = histo_field_bucket(k->str, flen);
		bool count = flen == 5 && !memcmp(k->str, "count", 5), sum = flen == 6 && !memcmp(k->str, "sum_us", 6);
		if (b < 0 && !count && !sum)
			continue;
		struct fv_histo *h = histo_of(hc->a, v, &n, hc->locs[i], colon + 1, k->len - flen - 1);
		if (!h)
			return nomem(fv);
		if (b >= 0)
			h->bucket[b] = (uint64_t)x;
		else if (count)
			h->count = (uint64_t)x;
		else
			h->sum_us = (uint64_t)x;
	}
	hc->per[i] = v;
	hc->nper[i] = n;
	return 0;
}

static int histo_cmp(const void *pa, const void *pb)
{
	const struct fv_histo *a = pa, *b = pb;
	int c = strcmp(a->location, b->location);

	return c ? c : strcmp(a->group, b->group);
}

int fleetview_histograms(struct fleetview *fv, struct fv_arena *a, const char *const *locs, size_t n,
			 struct fv_histo **out)
{
	struct histo_ctx hc = { .a = a, .locs = locs };
	size_t total = 0;
	int r;

	*out = NULL;
	hc.per = calloc(n + 1, sizeof(*hc.per));
	hc.nper = calloc(n + 1, sizeof(*hc.nper));
	if (!hc.per || !hc.nper) {
		r = nomem(fv);
		goto out;
	}
	if ((r = ensure(fv)) < 0 || (r = pipeline(fv, n, histo_send, histo_recv, &hc)) < 0)
		goto out;
	for (size_t l = 0; l < n; l++)
		total += hc.nper[l];
	if (total && !(*out = fv_alloc(a, total * sizeof(**out)))) {
		r = nomem(fv);
		goto out;
	}
	total = 0;
	/* a location without histograms yet (its probers' first second) has
	 * none to copy: no NULL goes to memcpy or qsort */
	for (size_t l = 0; l < n; l++) {
		if (!hc.nper[l])
			continue;
		memcpy(*out + total, hc.per[l], hc.nper[l] * sizeof(**out));
		total += hc.nper[l];
	}
	if (total > 1)
		qsort(*out, total, sizeof(**out), histo_cmp);
	r = (int)total;
out:
	free(hc.per);
	free(hc.nper);
	return r;
}

/* ---- indexes ---- */

struct counts_ctx {
	const char *const *locs;
	uint64_t (*out)[FV_NSETS];
};

static int counts_send(struct fleetview *fv, void *ctx, size_t i)
{
	struct counts_ctx *cc = ctx;
	char key[FV_KEY_MAX];
	const char *argv[] = { "ZCARD",
			       key_of(fv, key, SCHEMA_IDX, cc->locs[i / FV_NSETS], state_names[i % FV_NSETS]) };

	return redisAppendCommandArgv(fv->c, 2, argv, NULL);
}

static int counts_recv(struct fleetview *fv, void *ctx, size_t i, redisReply *rep)
{
	struct counts_ctx *cc = ctx;

	if (rep->type != REDIS_REPLY_INTEGER)
		return wrong_shape(fv, "ZCARD");
	cc->out[i / FV_NSETS][i % FV_NSETS] = (uint64_t)rep->integer;
	return 0;
}

int fleetview_counts(struct fleetview *fv, const char *const *locs, size_t n, uint64_t (*out)[FV_NSETS])
{
	struct counts_ctx cc = { .locs = locs, .out = out };
	int r = ensure(fv);

	return r < 0 ? r : pipeline(fv, n * FV_NSETS, counts_send, counts_recv, &cc);
}

/* A WITHSCORES reply into members; appends at out[*n]. */
static int members_of(struct fleetview *fv, struct fv_arena *a, const redisReply *rep, struct fv_member *out,
		      size_t *n)
{
	for (size_t i = 0; i + 1 < rep->elements; i += 2) {
		const redisReply *m = rep->element[i], *s = rep->element[i + 1];
		if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING)
			return wrong_shape(fv, "ZRANGE WITHSCORES");
		out[*n].member = fv_strndup(a, m->str, m->len);
		out[*n].score = strtod(s->str, NULL);
		if (!out[*n].member)
			return nomem(fv);
		(*n)++;
	}
	return 0;
}

int fleetview_index(struct fleetview *fv, struct fv_arena *a, const char *loc, int set, long start, long stop,
		    struct fv_member **out)
{
	char key[FV_KEY_MAX], s0[24], s1[24];
	const char *argv[] = { "ZRANGE", key, s0, s1, "WITHSCORES" };
	redisReply *rep = NULL;
	struct fv_member *m;
	size_t n = 0;
	int r;

	if (set < 0 || set >= FV_NSETS)
		return -EINVAL;
	key_of(fv, key, SCHEMA_IDX, loc, state_names[set]);
	snprintf(s0, sizeof(s0), "%ld", start);
	snprintf(s1, sizeof(s1), "%ld", stop);
	if ((r = array_command(fv, 5, argv, a, sizeof(*m), 0, true, &rep, (void **)&m)) < 0)
		return r;
	r = members_of(fv, a, rep, m, &n);
	if (r == 0) {
		*out = m;
		r = (int)n;
	}
	freeReplyObject(rep);
	return r;
}

/* ---- target states ---- */

struct targets_ctx {
	struct fv_arena *a;
	const char *loc;
	const char *const *targets;
	struct fv_target *out;
	size_t *checked;        /* the indexes of the targets whose hash names a check */
	size_t nchecked;
};

/* HMGET P state:LOC:TARGET with the fields of r. */
static int hmget_send(struct fleetview *fv, const char *loc, const char *target, const struct fields_resp *r)
{
	char key[FV_KEY_MAX], cmd[FV_KEY_MAX + FIELDS_RESP_MAX + 64];
	size_t klen = strlen(key_of(fv, key, SCHEMA_STATE, loc, target));
	int n = snprintf(cmd, sizeof(cmd), "*%zu\r\n$5\r\nHMGET\r\n$%zu\r\n", 2 + r->n, klen);

	memcpy(cmd + n, key, klen);
	memcpy(cmd + n + klen, "\r\n", 2);
	memcpy(cmd + n + klen + 2, r->s, r->len);
	return redisAppendFormattedCommand(fv->c, cmd, (size_t)n + klen + 2 + r->len);
}

static int targets_send(struct fleetview *fv, void *ctx, size_t i)
{
	struct targets_ctx *tc = ctx;

	return hmget_send(fv, tc->loc, tc->targets[i], &fv->state_resp);
}

static int checks_send(struct fleetview *fv, void *ctx, size_t i)
{
	struct targets_ctx *tc = ctx;

	return hmget_send(fv, tc->loc, tc->targets[tc->checked[i]], &fv->check_resp);
}

/* "1" 1, "0" 0, anything else -1 */
static int flag_of(const char *s)
{
	return !strcmp(s, "1") ? 1 : !strcmp(s, "0") ? 0 : -1;
}

static void check_none(struct fv_check *c)
{
	*c = (struct fv_check){
		.kind = "", .verdict = "", .error = "", .banner = "", .tls_version = "", .tls_cipher = "",
		.cert_subject = "", .cert_issuer = "", .cert_sans = "", .cert_error = "", .ok = -1, .cert_verified = -1,
		.cert_days_left = FV_NO_DAYS, .us = -1,
	};
}

/* The check's kind and its other fields (check_fields' order) into c. */
static void check_of(const char *kind, const char *const *v, struct fv_check *c)
{
	int64_t days;

	*c = (struct fv_check){
		.kind = kind,
		.ok = flag_of(v[0]),
		.verdict = v[1],
		.error = v[2],
		.us = *v[3] ? strtod(v[3], NULL) : -1,
		.ts_ns = parse_i64(v[4]),
		.banner = v[5],
		.tls_version = v[6],
		.tls_cipher = v[7],
		.cert_subject = v[8],
		.cert_issuer = v[9],
		.cert_sans = v[10],
		.cert_not_after_s = parse_i64(v[11]),
		.cert_days_left = num_parse_int(v[12], INT32_MIN + 1, INT32_MAX, &days) == 0 ? (int32_t)days
											       : FV_NO_DAYS,
		.cert_verified = flag_of(v[13]),
		.cert_error = v[14],
	};
	if (!*c->kind || c->ok < 0)
		check_none(c); /* not a check's result: nothing of it is believed */
}

static int checks_recv(struct fleetview *fv, void *ctx, size_t i, redisReply *rep)
{
	struct targets_ctx *tc = ctx;
	struct fv_target *t = &tc->out[tc->checked[i]];
	const char *v[N_CHECK_FIELDS];

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != N_CHECK_FIELDS)
		return wrong_shape(fv, "HMGET state");
	for (size_t f = 0; f < N_CHECK_FIELDS; f++)
		if (!(v[f] = dup_reply(tc->a, rep->element[f])))
			return nomem(fv);
	check_of(t->check.kind, v, &t->check);
	return 0;
}

static int targets_recv(struct fleetview *fv, void *ctx, size_t i, redisReply *rep)
{
	struct targets_ctx *tc = ctx;
	struct fv_target *t = &tc->out[i];
	const char *v[N_STATE_FIELDS];
	bool present = false;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != N_STATE_FIELDS)
		return wrong_shape(fv, "HMGET state");
	for (size_t f = 0; f < N_STATE_FIELDS; f++) {
		present |= rep->element[f]->type == REDIS_REPLY_STRING;
		if (!(v[f] = dup_reply(tc->a, rep->element[f])))
			return nomem(fv);
	}
	int st = fv_state_parse(v[0]);
	*t = (struct fv_target){
		.target = tc->targets[i],
		.location = tc->loc,
		.state = st < 0 ? FV_UNKNOWN : (enum fv_state)st,
		.present = present,
		.since_ns = parse_i64(v[1]),
		.reason = v[2],
		.last_result = v[3],
		.last_rtt_us = *v[4] ? strtod(v[4], NULL) : -1,
		.last_ts_ns = parse_i64(v[5]),
		.name = v[6],
		.group = v[7],
		.labels = v[8],
		.prober = v[9],
	};
	check_none(&t->check);
	if (*v[10]) {
		/* its check's fields come in the second round */
		t->check.kind = v[10];
		tc->checked[tc->nchecked++] = i;
	}
	return 0;
}

int fleetview_targets(struct fleetview *fv, struct fv_arena *a, const char *loc, const char *const *targets,
		      size_t n, struct fv_target *out)
{
	struct targets_ctx tc = { .a = a, .loc = loc, .targets = targets, .out = out };
	int r = ensure(fv);

	if (r < 0)
		return r;
	if (!(tc.checked = malloc((n + 1) * sizeof(*tc.checked))))
		return nomem(fv);
	r = pipeline(fv, n, targets_send, targets_recv, &tc);
	if (r == 0 && tc.nchecked)
		r = pipeline(fv, tc.nchecked, checks_send, checks_recv, &tc);
	free(tc.checked);
	return r < 0 ? r : (int)n;
}

int fleetview_location_targets(struct fleetview *fv, struct fv_arena *a, const char *loc, struct fv_target **out)
{
	char key[FV_KEY_MAX], s0[24], s1[24];
	const char *argv[] = { "ZRANGE", key, s0, s1 };
	redisReply *rep = NULL;
	const char **names = NULL;
	size_t n = 0, cap;
	int r;

	key_of(fv, key, SCHEMA_IDX, loc, SCHEMA_IDX_ALL);
	{
		const char *zc[] = { "ZCARD", key };
		if ((r = ensure(fv)) < 0 || (r = command(fv, &rep, 2, zc)) < 0)
			return r;
		cap = rep->type == REDIS_REPLY_INTEGER ? (size_t)rep->integer : 0;
		freeReplyObject(rep);
		rep = NULL;
	}
	/* room for targets added while the slices are read */
	cap += cap / 8 + 16;
	names = malloc(cap * sizeof(*names));
	if (!names)
		return nomem(fv);
	for (size_t start = 0; n < cap; start += FV_SLICE) {
		snprintf(s0, sizeof(s0), "%zu", start);
		snprintf(s1, sizeof(s1), "%zu", start + FV_SLICE - 1);
		if ((r = command(fv, &rep, 4, argv)) < 0)
			goto out;
		if (rep->type != REDIS_REPLY_ARRAY) {
			r = wrong_shape(fv, "ZRANGE idx all");
			goto out;
		}
		for (size_t i = 0; i < rep->elements && n < cap; i++) {
			const redisReply *m = rep->element[i];
			if (m->type == REDIS_REPLY_STRING && !(names[n++] = fv_strndup(a, m->str, m->len))) {
				r = nomem(fv);
				goto out;
			}
		}
		bool last = rep->elements < FV_SLICE;
		freeReplyObject(rep);
		rep = NULL;
		if (last)
			break;
	}
	/* a target added or removed between two slices shifts the ranks and
	 * can show up twice */
	n = fv_sort_unique(names, n);
	struct fv_target *t = fv_alloc(a, (n + 1) * sizeof(*t));
	if (!t) {
		r = nomem(fv);
		goto out;
	}
	r = fleetview_targets(fv, a, loc, names, n, t);
	if (r >= 0)
		*out = t;
out:
	freeReplyObject(rep);
	free(names);
	return r;
}

/* ---- latency ---- */

int fleetview_latency(struct fleetview *fv, struct fv_arena *a, const char *loc, const char *target, int64_t from_s,
		      size_t max, struct lat_minute **out, size_t *bad)
{
	char key[FV_KEY_MAX], lo[32], cnt[24];
	const char *argv[] = { "ZREVRANGEBYSCORE", key, "+inf", lo, "LIMIT", "0", cnt };
	redisReply *rep = NULL;
	struct lat_minute *m;
	size_t n = 0, nbad = 0;
	int r;

	if (max == 0)
		return 0;
	key_of(fv, key, SCHEMA_LAT, loc, target);
	snprintf(lo, sizeof(lo), "%lld", (long long)from_s);
	snprintf(cnt, sizeof(cnt), "%zu", max);
	if ((r = array_command(fv, 7, argv, a, sizeof(*m), 0, false, &rep, (void **)&m)) < 0)
		return r;
	/* newest first from Redis; stored oldest first */
	for (size_t i = rep->elements; i-- > 0;) {
		const redisReply *e = rep->element[i];
		if (e->type == REDIS_REPLY_STRING && lat_decode(&m[n], e->str, e->len) == 0)
			n++;
		else
			nbad++;
	}
	if (bad)
		*bad = nbad;
	*out = m;
	freeReplyObject(rep);
	return (int)n;
}

/* ---- events ---- */

int fleetview_events(struct fleetview *fv, struct fv_arena *a, const char *before, size_t count,
		     struct fv_record **out)
{
	char key[FV_KEY_MAX], end[64], cnt[24];
	const char *argv[] = { "XREVRANGE", key_of(fv, key, SCHEMA_EVENTS, NULL, NULL), end, "-", "COUNT",
			       cnt };
	redisReply *rep = NULL;
	struct fv_record *ev;
	size_t n = 0;
	int r;

	if (count == 0)
		return 0;
	if (!before || strcmp(before, "+") == 0)
		snprintf(end, sizeof(end), "+");
	else
		snprintf(end, sizeof(end), "(%.60s", before);
	snprintf(cnt, sizeof(cnt), "%zu", count);
	if ((r = array_command(fv, 6, argv, a, sizeof(*ev), 0, false, &rep, (void **)&ev)) < 0)
		return r;
	for (size_t i = 0; i < rep->elements; i++) {
		const redisReply *e = rep->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING) {
			r = wrong_shape(fv, "XREVRANGE events");
			goto out;
		}
		const char *id = dup_reply(a, e->element[0]);
		if (!id) {
			r = nomem(fv);
			goto out;
		}
		if ((r = record_of(fv, a, e->element[1], id, &ev[n])) < 0)
			goto out;
		n++;
	}
	*out = ev;
	r = (int)n;
out:
	freeReplyObject(rep);
	return r;
}

/* ---- pure helpers ---- */

int fv_target_split(const char *target, char *ip, size_t iplen, unsigned *port)
{
	const char *colon = strrchr(target, ':'), *s = target, *e = colon;

	if (!colon || colon == target)
		return -EINVAL;
	if (target[0] == '[') {
		if (colon[-1] != ']')
			return -EINVAL;
		s++;
		e--;
	} else if (memchr(target, ':', (size_t)(colon - target))) {
		return -EINVAL; /* IPv6 without brackets */
	}
	if (e <= s || (size_t)(e - s) >= iplen)
		return -EINVAL;
	uint64_t p;
	if (num_parse_uint(colon + 1, 1, 65535, &p) < 0)
		return -EINVAL;
	memcpy(ip, s, (size_t)(e - s));
	ip[e - s] = '\0';
	*port = (unsigned)p;
	return 0;
}

/* The string at the reader into a; NULL with *r set when it is not one
 * (-EINVAL) or out of memory. */
static char *string_in(struct json_in *j, struct fv_arena *a, int *r)
{
	long room = json_string_room(j);
	char *s;

	if (room < 0) {
		*r = -EINVAL;
		return NULL;
	}
	if (!(s = fv_alloc(a, (size_t)room + 1))) {
		*r = -ENOMEM;
		return NULL;
	}
	*r = json_string(j, s, (size_t)room, NULL, false, "a label");
	return *r < 0 ? NULL : s;
}

int fv_labels_parse(const char *json, struct fv_arena *a, struct fv_label *out, size_t max)
{
	struct json_in j;
	size_t n = 0;
	int r;

	json_in_init(&j, json, strlen(json), NULL, 0);
	if (json_end(&j))
		return 0;
	if (!json_eat(&j, '{'))
		return -EINVAL;
	if (json_eat(&j, '}'))
		return json_end(&j) ? 0 : -EINVAL;
	do {
		const char *name, *v, *value = NULL;
		if (!(name = string_in(&j, a, &r)))
			return r;
		if (!json_eat(&j, ':'))
			return -EINVAL;
		json_ws(&j);
		v = j.p;
		if (v < j.end && *v == '"') {
			if (!(value = string_in(&j, a, &r)))
				return r;
		} else {
			if (json_skip(&j) < 0)
				return -EINVAL;
			/* numbers and booleans keep their text; null, objects and arrays are left out */
			if (*v != '{' && *v != '[' && *v != 'n' && !(value = fv_strndup(a, v, (size_t)(j.p - v))))
				return -ENOMEM;
		}
		if (value && n < max)
			out[n++] = (struct fv_label){ .name = name, .value = value };
	} while (json_eat(&j, ','));
	if (!json_eat(&j, '}'))
		return -EINVAL;
	return json_end(&j) ? (int)n : -EINVAL;
}

int fv_strings_parse(const char *json, struct fv_arena *a, const char **out, size_t max)
{
	struct json_in j;
	size_t n = 0;
	int r;

	json_in_init(&j, json, strlen(json), NULL, 0);
	if (!json_eat(&j, '['))
		return -EINVAL;
	if (json_eat(&j, ']'))
		return json_end(&j) ? 0 : -EINVAL;
	do {
		const char *v;
		json_ws(&j);
		if (j.p < j.end && *j.p == '"') {
			if (!(v = string_in(&j, a, &r)))
				return r;
			if (n < max)
				out[n++] = v;
		} else if (json_skip(&j) < 0) {
			return -EINVAL;
		}
	} while (json_eat(&j, ','));
	if (!json_eat(&j, ']'))
		return -EINVAL;
	return json_end(&j) ? (int)n : -EINVAL;
}

size_t fv_lat_merge_series(struct lat_minute *out, const struct lat_minute *a, size_t na, const struct lat_minute *b,
			   size_t nb)
{
	size_t i = 0, k = 0, n = 0;

	while (i < na || k < nb) {
		if (k == nb || (i < na && a[i].minute_start_s < b[k].minute_start_s)) {
			out[n++] = a[i++];
		} else if (i == na || b[k].minute_start_s < a[i].minute_start_s) {
			out[n++] = b[k++];
		} else {
			out[n] = a[i++];
			/* an overflow leaves the first location's minute: the
			 * counts would need 2^32 checks in one minute */
			lat_minute_merge(&out[n++], &b[k++]);
		}
	}
	return n;
}

size_t fv_lat_rebin(struct lat_minute *m, size_t n, int64_t step_s)
{
	size_t o = 0;

	if (step_s <= 60)
		return n;
	for (size_t i = 0; i < n; i++) {
		int64_t start = m[i].minute_start_s - m[i].minute_start_s % step_s;
		if (o > 0 && m[o - 1].minute_start_s == start) {
			lat_minute_merge(&m[o - 1], &m[i]);
		} else {
			if (o != i)
				m[o] = m[i];
			m[o++].minute_start_s = start;
		}
	}
	return o;
}

const char *fv_age_text(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
	else
		snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400), (long long)(s / 3600 % 24));
	return buf;
}

/* ---- service checks ---- */

bool fv_reason_is_check(const char *reason)
{
	static const char *const reasons[] = { "check_failed", "cert_expiring", "cert_expired", "cert_unverified" };

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strcmp(reason, reasons[i]))
			return true;
	return false;
}

bool fv_check_passed(const struct fv_check *c)
{
	return c->ok == 1 && strcmp(c->verdict, "check_failed") != 0 && strcmp(c->verdict, "cert_unverified") != 0 &&
	       strcmp(c->verdict, "cert_expired") != 0;
}

const char *fv_cert_days_text(int32_t days, char *buf, size_t len)
{
	/* whole days rounded down (common/check.h): 0 is less than a day
	 * left, -1 expired less than a day ago */
	if (days == FV_NO_DAYS)
		snprintf(buf, len, "no certificate");
	else if (days > 0)
		snprintf(buf, len, "expires in %ld day%s", (long)days, days == 1 ? "" : "s");
	else if (days == 0)
		snprintf(buf, len, "expires within a day");
	else if (days == -1)
		snprintf(buf, len, "expired within the last day");
	else
		snprintf(buf, len, "expired %ld days ago", -(long)days);
	return buf;
}

const char *fv_check_text(const struct fv_check *c, char *buf, size_t len)
{
	char days[48];

	if (c->ok < 0)
		snprintf(buf, len, "%s", "");
	else if (c->ok == 0)
		snprintf(buf, len, "%s", *c->error ? c->error : "failed");
	else if ((!strcmp(c->verdict, "cert_expiring") || !strcmp(c->verdict, "cert_expired") ||
		  (c->cert_days_left != FV_NO_DAYS && c->cert_days_left < 0)) &&
		 c->cert_days_left != FV_NO_DAYS)
		snprintf(buf, len, "certificate %s", fv_cert_days_text(c->cert_days_left, days, sizeof(days)));
	else if (!strcmp(c->verdict, "cert_expiring") || !strcmp(c->verdict, "cert_expired"))
		snprintf(buf, len, "certificate %s", !strcmp(c->verdict, "cert_expired") ? "expired" : "expiring");
	else
		snprintf(buf, len, "ok");
	return buf;
}

const char *fv_tls_version_label(const char *v)
{
	static const char *const labels[] = { "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3" };
	const char *p = v;

	/* "TLSv1.3" (OpenSSL), "TLS1.3" (GnuTLS), "TLS 1.3"; "TLSv1" is 1.0 */
	if (strncmp(p, "TLS", 3) != 0)
		return "unknown";
	p += 3;
	if (*p == 'v' || *p == ' ')
		p++;
	if (!strcmp(p, "1") || !strcmp(p, "1.0"))
		return labels[0];
	if (p[0] == '1' && p[1] == '.' && p[2] >= '1' && p[2] <= '3' && !p[3])
		return labels[p[2] - '0'];
	return "unknown";
}

void fv_check_json(struct buf *b, const struct fv_check *c)
{
	bool first = true, f2;

	if (c->ok < 0) {
		buf_puts(b, "null");
		return;
	}
	buf_add(b, "{", 1);
	json_put_kv(b, &first, "kind", c->kind);
	json_put_key(b, &first, "ok");
	buf_puts(b, c->ok ? "true" : "false");
	json_put_kv(b, &first, "verdict", c->verdict);
	json_put_kv(b, &first, "error", c->error);
	json_put_kv(b, &first, "banner", c->banner);
	json_put_kn(b, &first, "ts", c->ts_ns > 0 ? (double)(c->ts_ns / 1000000) / 1e3 : NAN);
	json_put_kn(b, &first, "us", c->us >= 0 ? c->us : NAN);
	json_put_key(b, &first, "tls");
	if (*c->tls_version) {
		f2 = true;
		buf_add(b, "{", 1);
		json_put_kv(b, &f2, "version", c->tls_version);
		json_put_kv(b, &f2, "cipher", c->tls_cipher);
		buf_add(b, "}", 1);
	} else {
		buf_puts(b, "null");
	}
	json_put_key(b, &first, "cert");
	if (c->cert_not_after_s > 0) {
		f2 = true;
		buf_add(b, "{", 1);
		json_put_kv(b, &f2, "subject", c->cert_subject);
		json_put_kv(b, &f2, "issuer", c->cert_issuer);
		json_put_key(b, &f2, "sans");
		buf_add(b, "[", 1);
		/* "DNS:a,IP:198.18.0.8": one string per entry */
		for (const char *p = c->cert_sans; *p;) {
			size_t n = strcspn(p, ",");
			if (p != c->cert_sans)
				buf_add(b, ",", 1);
			json_put_strn(b, p, n, JSON_ESC_U);
			p += n;
			p += *p == ',';
		}
		buf_add(b, "]", 1);
		json_put_kn(b, &f2, "not_after", (double)c->cert_not_after_s);
		json_put_kn(b, &f2, "days_left", c->cert_days_left != FV_NO_DAYS ? c->cert_days_left : NAN);
		json_put_key(b, &f2, "verified");
		buf_puts(b, c->cert_verified < 0 ? "null" : c->cert_verified ? "true" : "false");
		json_put_kv(b, &f2, "error", c->cert_error);
		buf_add(b, "}", 1);
	} else {
		buf_puts(b, "null");
	}
	buf_add(b, "}", 1);
}
