/* The alerters' bookkeeping (tools/alert/alert-book.h). The scripts get every
 * key they touch in KEYS, and read alerts with Redis's own cjson, whose
 * output the flat reader of tools/lib/fleetview.h reads back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "tools/alert/alert-book.h"
#include "store/schema.h"

#define ALERT_FIELDS_MAX 96
/* a stream entry's delivery record outlives any redelivery */
#define SENT_TTL "86400"

/* KEYS: alerts, locations; ARGV: key, loc, entry, alert. An alert that is
 * closing is taken over: its condition is back before its end was told. */
static const char fire_lua[] =
	"redis.call('SADD', KEYS[2], ARGV[2])\n"
	"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if v then\n"
	"  local a = cjson.decode(v)\n"
	"  if a._entry == ARGV[3] then return 0 end\n"
	"  if not a._closing then return 1 end\n"
	"end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])\n"
	"return 0\n";

/* KEYS: alerts, locations; ARGV: key, loc, entry. */
static const char clear_lua[] =
	"redis.call('SREM', KEYS[2], ARGV[2])\n"
	"if redis.call('SCARD', KEYS[2]) > 0 then return {1} end\n"
	"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if not v then return {0} end\n"
	"local a = cjson.decode(v)\n"
	"if a._closing and a._closing ~= ARGV[3] then return {0} end\n"
	"a._closing = ARGV[3]\n"
	"v = cjson.encode(a)\n"
	"redis.call('HSET', KEYS[1], ARGV[1], v)\n"
	"return {2, v}\n";

/* KEYS: alerts, lease; ARGV: key, entry. */
static const char close_lua[] =
	"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if not v or cjson.decode(v)._closing ~= ARGV[2] then return 0 end\n"
	"redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"redis.call('DEL', KEYS[2])\n"
	"return 1\n";

/* KEYS: alerts; ARGV: key, entry, field, value, ... */
static const char update_lua[] =
	"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if not v then return 0 end\n"
	"local a = cjson.decode(v)\n"
	"if a._entry ~= ARGV[2] or a._closing then return 0 end\n"
	"for i = 3, #ARGV - 1, 2 do a[ARGV[i]] = ARGV[i + 1] end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(a))\n"
	"return 1\n";

static int io_error(struct alert_book *b, const char *what, const char *why)
{
	snprintf(b->err, sizeof(b->err), "redis %s: %s", what, why);
	return -EIO;
}

/* Runs one command; error replies become -EIO. */
static int run(struct alert_book *b, redisReply **out, int argc, const char **argv)
{
	redisReply *rep = redisCommandArgv(b->c, argc, argv, NULL);

	if (!rep)
		return io_error(b, argv[0], b->c->errstr[0] ? b->c->errstr : "no reply");
	if (rep->type == REDIS_REPLY_ERROR) {
		int r = io_error(b, argv[0], rep->str);
		freeReplyObject(rep);
		return r;
	}
	*out = rep;
	return 0;
}

/* Runs a command whose reply is an integer; returns it (>= 0) or -EIO. */
static int run_int(struct alert_book *b, int argc, const char **argv)
{
	redisReply *rep;
	int r = run(b, &rep, argc, argv);

	if (r < 0)
		return r;
	r = rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer
					     : io_error(b, argv[0], "not an integer reply");
	freeReplyObject(rep);
	return r;
}

static const char *alerts_key(struct alert_book *b, char *buf)
{
	return schema_key(buf, SCHEMA_KEY_MAX, b->stem, SCHEMA_ALERTS, NULL, NULL);
}

int book_init(struct alert_book *b, redisContext *c, const char *prefix, const char *group)
{
	*b = (struct alert_book){ .c = c, .prefix = prefix };
	return schema_alert_stem(b->stem, sizeof(b->stem), prefix, group) ? 0 : -EINVAL;
}

char *book_alert_json(const struct alert_event *e, const char *const *extra, size_t n_extra)
{
	struct buf j = { 0 };
	bool first = true;

	buf_puts(&j, "{");
	for (size_t i = 0; i < e->rec.n; i++)
		if (e->rec.keys[i][0] != '_')
			json_put_kv(&j, &first, e->rec.keys[i], e->rec.vals[i]);
	for (size_t i = 0; i + 1 < 2 * n_extra; i += 2)
		json_put_kv(&j, &first, extra[i], extra[i + 1]);
	buf_puts(&j, "}");
	if (j.nomem) {
		buf_release(&j);
		return NULL;
	}
	return j.s;
}

int book_alert_parse(const char *json, struct fv_arena *a, struct fv_record *rec, struct fv_record *book)
{
	struct fv_label *f = fv_alloc(a, ALERT_FIELDS_MAX * sizeof(*f));
	int n;

	if (!f)
		return -ENOMEM;
	if ((n = fv_labels_parse(json, a, f, ALERT_FIELDS_MAX)) < 0)
		return n;
	for (int pass = 0; pass < 2; pass++) {
		struct fv_record *r = pass ? book : rec;
		if (!r)
			continue;
		*r = (struct fv_record){ .id = "" };
		r->keys = fv_alloc(a, ((size_t)n + 1) * sizeof(char *));
		r->vals = fv_alloc(a, ((size_t)n + 1) * sizeof(char *));
		if (!r->keys || !r->vals)
			return -ENOMEM;
		for (int i = 0; i < n; i++) {
			if (!pass && f[i].name[0] == '_')
				continue;
			r->keys[r->n] = f[i].name;
			r->vals[r->n++] = f[i].value;
		}
	}
	return 0;
}

int book_fire(struct alert_book *b, const char *key, const char *loc, const char *entry, const char *alert)
{
	char ak[SCHEMA_KEY_MAX], lk[SCHEMA_KEY_MAX];
	const char *argv[] = { "EVAL",
			       fire_lua,
			       "2",
			       alerts_key(b, ak),
			       schema_key(lk, sizeof(lk), b->stem, SCHEMA_ALERT_LOCS, key, NULL),
			       key,
			       loc,
			       entry,
			       alert };

	return run_int(b, 9, argv);
}

int book_clear(struct alert_book *b, const char *key, const char *loc, const char *entry, char **alert)
{
	char ak[SCHEMA_KEY_MAX], lk[SCHEMA_KEY_MAX];
	const char *argv[] = { "EVAL", clear_lua, "2", alerts_key(b, ak),
			       schema_key(lk, sizeof(lk), b->stem, SCHEMA_ALERT_LOCS, key, NULL), key, loc, entry };
	redisReply *rep;
	int r;

	*alert = NULL;
	if ((r = run(b, &rep, 8, argv)) < 0)
		return r;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER) {
		r = io_error(b, "EVAL", "unexpected reply to the clear script");
	} else {
		r = (int)rep->element[0]->integer;
		if (r == BOOK_LAST && (rep->elements < 2 ||
				       !(*alert = strdup(rep->element[1]->str ? rep->element[1]->str : ""))))
			r = -ENOMEM;
	}
	freeReplyObject(rep);
	return r;
}

int book_close(struct alert_book *b, const char *key, const char *entry)
{
	char ak[SCHEMA_KEY_MAX], lease[SCHEMA_KEY_MAX];
	const char *argv[] = { "EVAL", close_lua, "2", alerts_key(b, ak),
			       schema_key(lease, sizeof(lease), b->stem, SCHEMA_ALERT_LEASE, key, NULL), key, entry };

	return run_int(b, 7, argv);
}

int book_update(struct alert_book *b, const char *key, const char *entry, const char *const *fields, size_t n)
{
	char ak[SCHEMA_KEY_MAX];
	const char *argv[6 + 2 * 8] = { "EVAL", update_lua, "1", alerts_key(b, ak), key, entry };

	if (n > 8)
		return -EINVAL;
	memcpy(argv + 6, fields, 2 * n * sizeof(*fields));
	return run_int(b, 6 + 2 * (int)n, argv);
}

int book_get(struct alert_book *b, const char *key, char **alert)
{
	char ak[SCHEMA_KEY_MAX];
	const char *argv[] = { "HGET", alerts_key(b, ak), key };
	redisReply *rep;
	int r;

	*alert = NULL;
	if ((r = run(b, &rep, 3, argv)) < 0)
		return r;
	if (rep->type == REDIS_REPLY_STRING && !(*alert = strdup(rep->str)))
		r = -ENOMEM;
	freeReplyObject(rep);
	return r;
}

/* The strings of an array reply into a. */
static int strings_of(struct alert_book *b, const redisReply *rep, struct fv_arena *a, const char ***out)
{
	const char **v;

	if (rep->type != REDIS_REPLY_ARRAY)
		return io_error(b, "reply", "not an array");
	if (!(v = fv_alloc(a, (rep->elements + 1) * sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < rep->elements; i++) {
		const redisReply *s = rep->element[i];
		if (!(v[i] = fv_strndup(a, s->str ? s->str : "", s->str ? s->len : 0)))
			return -ENOMEM;
	}
	v[rep->elements] = NULL;
	*out = v;
	return (int)rep->elements;
}

int book_list(struct alert_book *b, struct fv_arena *a, const char ***keys, const char ***alerts)
{
	char ak[SCHEMA_KEY_MAX];
	const char *argv[] = { "HGETALL", alerts_key(b, ak) };
	redisReply *rep;
	const char **all;
	int r, n;

	if ((r = run(b, &rep, 2, argv)) < 0)
		return r;
	if ((n = strings_of(b, rep, a, &all)) < 0)
		goto out;
	*keys = fv_alloc(a, ((size_t)n / 2 + 1) * sizeof(char *));
	*alerts = fv_alloc(a, ((size_t)n / 2 + 1) * sizeof(char *));
	if (!*keys || !*alerts) {
		n = -ENOMEM;
		goto out;
	}
	for (int i = 0; i + 1 < n; i += 2) {
		(*keys)[i / 2] = all[i];
		(*alerts)[i / 2] = all[i + 1];
	}
	n /= 2;
out:
	freeReplyObject(rep);
	return n;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int book_locations(struct alert_book *b, const char *key, struct fv_arena *a, const char ***locs)
{
	char lk[SCHEMA_KEY_MAX];
	const char *argv[] = { "SMEMBERS", schema_key(lk, sizeof(lk), b->stem, SCHEMA_ALERT_LOCS, key, NULL) };
	redisReply *rep;
	int r;

	if ((r = run(b, &rep, 2, argv)) < 0)
		return r;
	r = strings_of(b, rep, a, locs);
	freeReplyObject(rep);
	if (r > 1)
		qsort(*locs, (size_t)r, sizeof(**locs), cmp_str);
	return r;
}

int book_forget_location(struct alert_book *b, const char *key, const char *loc)
{
	char lk[SCHEMA_KEY_MAX];
	const char *srem[] = { "SREM", schema_key(lk, sizeof(lk), b->stem, SCHEMA_ALERT_LOCS, key, NULL), loc };
	const char *scard[] = { "SCARD", lk };
	int r = run_int(b, 3, srem);

	return r < 0 ? r : run_int(b, 2, scard);
}

int book_host_down(struct alert_book *b, const char *ip, const char *loc)
{
	char key[ALERT_KEY_MAX], lk[SCHEMA_KEY_MAX];

	snprintf(key, sizeof(key), "%s:%s", alert_class_name(ALERT_HOST), ip);
	const char *argv[] = { "SISMEMBER", schema_key(lk, sizeof(lk), b->stem, SCHEMA_ALERT_LOCS, key, NULL), loc };
	return run_int(b, 3, argv);
}

static int lease(struct alert_book *b, const char *key, int64_t ttl_ms, bool nx)
{
	char lk[SCHEMA_KEY_MAX], ttl[24];
	const char *argv[] = { "SET", schema_key(lk, sizeof(lk), b->stem, SCHEMA_ALERT_LEASE, key, NULL), "1",
			       "PX",  ttl, "NX" };
	redisReply *rep;
	int r;

	snprintf(ttl, sizeof(ttl), "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 1));
	if ((r = run(b, &rep, nx ? 6 : 5, argv)) < 0)
		return r;
	r = rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	return r;
}

int book_lease(struct alert_book *b, const char *key, int64_t ttl_ms)
{
	return lease(b, key, ttl_ms, true);
}

int book_lease_set(struct alert_book *b, const char *key, int64_t ttl_ms)
{
	return lease(b, key, ttl_ms, false);
}

int book_sent_has(struct alert_book *b, const char *entry, const char *channel)
{
	char sk[SCHEMA_KEY_MAX];
	const char *argv[] = { "SISMEMBER", schema_key(sk, sizeof(sk), b->stem, SCHEMA_ALERT_SENT, entry, NULL),
			       channel };

	return run_int(b, 3, argv);
}

int book_sent_add(struct alert_book *b, const char *entry, const char *channel)
{
	char sk[SCHEMA_KEY_MAX];
	const char *sadd[] = { "SADD", schema_key(sk, sizeof(sk), b->stem, SCHEMA_ALERT_SENT, entry, NULL), channel };
	const char *expire[] = { "EXPIRE", sk, SENT_TTL };
	int r = run_int(b, 3, sadd);

	return r < 0 ? r : run_int(b, 3, expire);
}

int book_sent_drop(struct alert_book *b, const char *entry)
{
	char sk[SCHEMA_KEY_MAX];
	const char *argv[] = { "DEL", schema_key(sk, sizeof(sk), b->stem, SCHEMA_ALERT_SENT, entry, NULL) };

	return run_int(b, 2, argv);
}

int book_target_state(struct alert_book *b, const char *loc, const char *target, char *buf, size_t len)
{
	char key[SCHEMA_KEY_MAX];
	const char *argv[] = { "HGET", schema_key(key, sizeof(key), b->prefix, SCHEMA_STATE, loc, target), "state" };
	redisReply *rep;
	int r;

	buf[0] = '\0';
	if ((r = run(b, &rep, 3, argv)) < 0)
		return r;
	if (rep->type == REDIS_REPLY_STRING)
		snprintf(buf, len, "%s", rep->str);
	freeReplyObject(rep);
	return 0;
}

int book_drop(struct alert_book *b, const char *key)
{
	char ak[SCHEMA_KEY_MAX], lk[SCHEMA_KEY_MAX], lease[SCHEMA_KEY_MAX];
	const char *hdel[] = { "HDEL", alerts_key(b, ak), key };
	const char *del[] = { "DEL", schema_key(lk, sizeof(lk), b->stem, SCHEMA_ALERT_LOCS, key, NULL),
			      schema_key(lease, sizeof(lease), b->stem, SCHEMA_ALERT_LEASE, key, NULL) };
	int r = run_int(b, 3, hdel);

	return r < 0 ? r : run_int(b, 3, del) < 0 ? -EIO : 0;
}
