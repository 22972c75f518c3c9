/* Silences (tools/lib/silence.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "store/schema.h"
#include "tools/lib/silence.h"

#define LINE_MAX_TEXT (MATCHER_KEY_MAX + MATCHER_VALUE_MAX + 8)

static int fail(char *err, size_t errlen, int r, const char *what, const char *detail)
{
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	return r;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void random_id(char id[SILENCE_ID_LEN + 1])
{
	unsigned char b[SILENCE_ID_LEN / 2];

	/* ids need to be unlikely to collide, not secret: fall back to the
	 * clock if the kernel cannot give entropy yet */
	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
		memcpy(b, &x, sizeof(b));
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
}

int silence_init(struct silence *s, const char *const *matchers, size_t n, int64_t starts_s, int64_t ends_s,
		 const char *comment, const char *created_by, char *err, size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	if (n == 0)
		return fail(err, errlen, -EINVAL, "a silence needs at least one matcher, like team=dba",
			    NULL);
	if (n > SILENCE_MAX_MATCHERS)
		return fail(err, errlen, -EINVAL, "too many matchers: at most 16", NULL);
	if (ends_s <= starts_s)
		return fail(err, errlen, -EINVAL, "the silence ends before it starts", NULL);
	if (!comment)
		comment = "";
	if (strlen(comment) > SILENCE_COMMENT_MAX || !printable(comment))
		return fail(err, errlen, -EINVAL,
			    "the comment must be one line of at most 1024 characters", NULL);
	random_id(s->id);
	s->starts_s = starts_s;
	s->ends_s = ends_s;
	s->created_s = starts_s;
	s->comment = strdup(comment);
	s->created_by = strdup(created_by ? created_by : "");
	s->m = calloc(n, sizeof(*s->m));
	if (!s->comment || !s->created_by || !s->m) {
		r = fail(err, errlen, -ENOMEM, "out of memory", NULL);
		goto fail;
	}
	for (; s->n < n; s->n++)
		if ((r = matcher_parse(&s->m[s->n], matchers[s->n], err, errlen)) < 0)
			goto fail;
	return 0;
fail:
	silence_release(s);
	return r;
}

void silence_release(struct silence *s)
{
	matchers_free(s->m, s->n);
	free(s->comment);
	free(s->created_by);
	memset(s, 0, sizeof(*s));
}

void silence_set_release(struct silence_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		silence_release(&set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

bool silence_active(const struct silence *s, int64_t now_s)
{
	return now_s >= s->starts_s && now_s < s->ends_s;
}

const struct silence *silence_find(const struct silence_set *set, int64_t now_s, matcher_lookup_fn lookup,
				   const void *ctx)
{
	for (size_t i = 0; i < set->n; i++)
		if (silence_active(&set->v[i], now_s) &&
		    matchers_match(set->v[i].m, set->v[i].n, lookup, ctx))
			return &set->v[i];
	return NULL;
}

/* The matchers joined by sep. */
static const char *join_matchers(const struct silence *s, const char *sep, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && used < len; i++) {
		char one[LINE_MAX_TEXT];
		int k = snprintf(buf + used, len - used, "%s%s", i ? sep : "",
				 matcher_text(&s->m[i], one, sizeof(one)));
		if (k < 0)
			break;
		used += (size_t)k;
	}
	return buf;
}

const char *silence_matchers_text(const struct silence *s, char *buf, size_t len)
{
	return join_matchers(s, ", ", buf, len);
}

/* Sends every command, then reads every reply; the first error reply or a
 * lost connection fails it. */
static int run_pipeline(redisContext *c, size_t n, const char **argvs[], const int *argcs, redisReply **last,
			char *err, size_t errlen)
{
	int r = 0;

	for (size_t i = 0; i < n; i++)
		if (redisAppendCommandArgv(c, argcs[i], argvs[i], NULL) != REDIS_OK)
			return fail(err, errlen, -EIO, "redis", c->errstr);
	for (size_t i = 0; i < n; i++) {
		redisReply *rep;
		if (redisGetReply(c, (void **)&rep) != REDIS_OK)
			return fail(err, errlen, -EIO, "redis", c->errstr);
		if (rep->type == REDIS_REPLY_ERROR && r == 0)
			r = fail(err, errlen, -EIO, "redis", rep->str);
		if (last && i == n - 1 && r == 0)
			*last = rep;
		else
			freeReplyObject(rep);
	}
	return r;
}

int silence_save(redisContext *c, const char *prefix, const struct silence *s, char *err, size_t errlen)
{
	char key[SCHEMA_KEY_MAX], idx[SCHEMA_KEY_MAX], starts[24], ends[24], created[24], now[24];
	char *lines = malloc(s->n * LINE_MAX_TEXT + 1);
	int r;

	if (!lines)
		return fail(err, errlen, -ENOMEM, "out of memory", NULL);
	join_matchers(s, "\n", lines, s->n * LINE_MAX_TEXT + 1);
	snprintf(starts, sizeof(starts), "%lld", (long long)s->starts_s);
	snprintf(ends, sizeof(ends), "%lld", (long long)s->ends_s);
	snprintf(created, sizeof(created), "%lld", (long long)s->created_s);
	snprintf(now, sizeof(now), "(%lld", (long long)s->created_s);
	schema_key(key, sizeof(key), prefix, SCHEMA_SILENCE, s->id, NULL);
	schema_key(idx, sizeof(idx), prefix, SCHEMA_SILENCES, NULL, NULL);
	const char *multi[] = { "MULTI" };
	const char *hset[] = { "HSET",       key,       "matchers", lines, "starts",  starts,        "ends",
			       ends,         "created", created,    "created_by", s->created_by, "comment",
			       s->comment };
	const char *expire[] = { "EXPIREAT", key, ends };
	const char *zadd[] = { "ZADD", idx, ends, s->id };
	const char *trim[] = { "ZREMRANGEBYSCORE", idx, "-inf", now };
	const char *exec[] = { "EXEC" };
	const char **argvs[] = { multi, hset, expire, zadd, trim, exec };
	const int argcs[] = { 1, 14, 3, 4, 4, 1 };
	r = run_pipeline(c, 6, argvs, argcs, NULL, err, errlen);
	free(lines);
	return r;
}

/* A hash's fields into s; -EINVAL if anything is missing or wrong. */
static int silence_of_hash(struct silence *s, const char *id, const redisReply *h)
{
	const char *matchers = NULL, *comment = "", *by = "";
	int64_t starts = -1, ends = -1, created = 0;
	const char *texts[SILENCE_MAX_MATCHERS];
	char copy[SILENCE_MAX_MATCHERS * LINE_MAX_TEXT];
	size_t n = 0;

	if (h->type != REDIS_REPLY_ARRAY || h->elements % 2)
		return -EINVAL;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const char *k = h->element[i]->str, *v = h->element[i + 1]->str;
		if (!k || !v)
			return -EINVAL;
		if (strcmp(k, "matchers") == 0)
			matchers = v;
		else if (strcmp(k, "starts") == 0)
			starts = strtoll(v, NULL, 10);
		else if (strcmp(k, "ends") == 0)
			ends = strtoll(v, NULL, 10);
		else if (strcmp(k, "created") == 0)
			created = strtoll(v, NULL, 10);
		else if (strcmp(k, "comment") == 0)
			comment = v;
		else if (strcmp(k, "created_by") == 0)
			by = v;
	}
	if (!matchers || strlen(matchers) >= sizeof(copy))
		return -EINVAL;
	snprintf(copy, sizeof(copy), "%s", matchers);
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line && n < SILENCE_MAX_MATCHERS;
	     line = strtok_r(NULL, "\n", &save))
		texts[n++] = line;
	int r = silence_init(s, texts, n, starts, ends, comment, by, NULL, 0);
	if (r < 0)
		return r;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->created_s = created;
	return 0;
}

int silence_load(redisContext *c, const char *prefix, int64_t now_s, struct silence_set *out, char *err,
		 size_t errlen)
{
	char idx[SCHEMA_KEY_MAX], lo[24];
	const char *argv[] = { "ZRANGEBYSCORE", schema_key(idx, sizeof(idx), prefix, SCHEMA_SILENCES, NULL, NULL), lo,
			       "+inf" };
	redisReply *ids = NULL;
	int r = 0;

	memset(out, 0, sizeof(*out));
	snprintf(lo, sizeof(lo), "(%lld", (long long)now_s);
	if ((r = run_pipeline(c, 1, (const char **[]){ argv }, (const int[]){ 4 }, &ids, err, errlen)) < 0)
		return r;
	if (ids->type != REDIS_REPLY_ARRAY) {
		r = fail(err, errlen, -EIO, "redis", "P silences is not a sorted set");
		goto out;
	}
	if (ids->elements == 0)
		goto out;
	if (!(out->v = calloc(ids->elements, sizeof(*out->v)))) {
		r = fail(err, errlen, -ENOMEM, "out of memory", NULL);
		goto out;
	}
	for (size_t i = 0; i < ids->elements; i++) {
		char key[SCHEMA_KEY_MAX];
		const char *id = ids->element[i]->str;
		const char *hget[] = { "HGETALL", schema_key(key, sizeof(key), prefix, SCHEMA_SILENCE, id, NULL) };
		if (redisAppendCommandArgv(c, 2, hget, NULL) != REDIS_OK) {
			r = fail(err, errlen, -EIO, "redis", c->errstr);
			goto out;
		}
	}
	for (size_t i = 0; i < ids->elements; i++) {
		redisReply *h;
		if (redisGetReply(c, (void **)&h) != REDIS_OK) {
			r = fail(err, errlen, -EIO, "redis", c->errstr);
			goto out;
		}
		/* an id whose hash expired or was removed: gone */
		if (h->type == REDIS_REPLY_ARRAY && h->elements &&
		    silence_of_hash(&out->v[out->n], ids->element[i]->str, h) == 0)
			out->n++;
		freeReplyObject(h);
	}
	r = (int)out->n;
out:
	freeReplyObject(ids);
	if (r < 0)
		silence_set_release(out);
	return r;
}

int silence_remove(redisContext *c, const char *prefix, const char *id, char *err, size_t errlen)
{
	char key[SCHEMA_KEY_MAX], idx[SCHEMA_KEY_MAX];
	const char *del[] = { "DEL", schema_key(key, sizeof(key), prefix, SCHEMA_SILENCE, id, NULL) };
	const char *zrem[] = { "ZREM", schema_key(idx, sizeof(idx), prefix, SCHEMA_SILENCES, NULL, NULL), id };
	redisReply *rep = NULL;
	int r;

	r = run_pipeline(c, 2, (const char **[]){ zrem, del }, (const int[]){ 3, 2 }, &rep, err, errlen);
	if (r < 0)
		return r;
	r = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
	freeReplyObject(rep);
	return r;
}
