/* Reading back the previous run's states (store/resume.h). One HMGET per
 * target, sent in batches without waiting (hiredis keeps them in its
 * output buffer and the replies come back in order): a million targets
 * cost a few seconds of Redis time at start, not a million round trips. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>

#include "common/check.h"
#include "common/clock.h"
#include "scheduler/state.h"
#include "scheduler/table.h"
#include "store/redis-conn.h"
#include "store/redis-fmt.h"
#include "store/resume.h"
#include "store/schema.h"

/* HMGETs in flight at once: enough to keep Redis busy, few enough that
 * hiredis's buffers stay small. */
#define RESUME_BATCH 1024

/* The fields read, in the order of HMGET's arguments. */
enum { F_STATE, F_SINCE, F_REASON, F_STREAK, F_CHECK, F_COUNT };
static const char *const fields[F_COUNT] = { "state", "since", "reason", "streak", "check" };

static const char *field_text(const redisReply *rep, int i)
{
	const redisReply *e = rep->element[i];

	return e->type == REDIS_REPLY_STRING ? e->str : "";
}

/* One target's hash as HMGET returned it: whether it resumes, into *out. */
static bool saved_of(const redisReply *rep, const struct table *t, uint32_t id, struct state_saved *out)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != F_COUNT)
		return false;
	/* a port measured with another service check (or none) measured
	 * something else: it starts afresh */
	if (strcmp(field_text(rep, F_CHECK), table_check_name(t, id)) != 0)
		return false;
	return state_saved_parse(field_text(rep, F_STATE), field_text(rep, F_SINCE), field_text(rep, F_REASON),
				 field_text(rep, F_STREAK), out);
}

static int send_hmget(redisContext *c, const struct resume_config *cfg, const struct target *tg)
{
	char target[ADDR_STRLEN + 16], ip[ADDR_STRLEN], key[SCHEMA_KEY_MAX];
	const char *argv[2 + F_COUNT] = { "HMGET", key };

	rfmt_endpoint(tg, target, ip, sizeof(ip));
	schema_key(key, sizeof(key), cfg->prefix, SCHEMA_STATE, cfg->location, target);
	memcpy(argv + 2, fields, sizeof(fields));
	return redisAppendCommandArgv(c, 2 + F_COUNT, argv, NULL) == REDIS_OK ? 0 : -ENOMEM;
}

/* Queues the HMGETs of the next batch of live targets from *id on; their
 * ids into ids, how many into *n (0: none left). 0, or -ENOMEM with err. */
static int queue_batch(redisContext *c, const struct resume_config *cfg, const struct table *t, size_t *id,
		       uint32_t *ids, size_t *n, char *err, size_t errlen)
{
	for (*n = 0; *id < t->tl.n && *n < RESUME_BATCH; (*id)++) {
		if (t->dead[*id])
			continue;
		if (send_hmget(c, cfg, &t->tl.v[*id]) < 0) {
			snprintf(err, errlen, "out of memory reading the states back from redis");
			return -ENOMEM;
		}
		ids[(*n)++] = (uint32_t)*id;
	}
	return 0;
}

int resume_read(const struct resume_config *cfg, const struct table *t, struct state_saved *saved, char *err,
		size_t errlen)
{
	redisContext *c = NULL;
	/* two batches: the next one goes out with the first read of this
	 * one's replies, so Redis works while this side parses */
	uint32_t ids[2][RESUME_BATCH];
	size_t n[2] = { 0, 0 }, id = 0;
	uint64_t deadline = clock_mono_ns() + (uint64_t)cfg->budget_ns;
	int found = 0, cur = 0, r;

	if ((r = redis_connect_url(&c, cfg->url, cfg->timeout_ms, err, errlen)) < 0)
		return r;
	if ((r = schema_check(c, cfg->prefix, cfg->url_text, err, errlen)) < 0)
		goto out;
	if ((r = queue_batch(c, cfg, t, &id, ids[cur], &n[cur], err, errlen)) < 0)
		goto out;
	while (n[cur]) {
		if (clock_mono_ns() > deadline) {
			snprintf(err, errlen, "redis at %s: reading the states took longer than %llds: %zu of %zu "
				 "targets asked for", cfg->url_text, (long long)(cfg->budget_ns / NSEC_PER_SEC), id, t->tl.n);
			r = -ETIMEDOUT;
			goto out;
		}
		if ((r = queue_batch(c, cfg, t, &id, ids[!cur], &n[!cur], err, errlen)) < 0)
			goto out;
		for (size_t i = 0; i < n[cur]; i++) {
			redisReply *rep = NULL;
			if (redisGetReply(c, (void **)&rep) != REDIS_OK || !rep) {
				snprintf(err, errlen, "redis at %s: %s", cfg->url_text, c->errstr[0] ? c->errstr : "no reply");
				r = -EIO;
				goto out;
			}
			found += saved_of(rep, t, ids[cur][i], &saved[ids[cur][i]]);
			freeReplyObject(rep);
		}
		cur = !cur;
	}
	r = found;
out:
	redisFree(c);
	return r;
}
