/* Reading a stream with a consumer group (tools/lib/stream.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/redis-conn.h"
#include "tools/lib/stream.h"

static const char *str_of(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STRING ? r->str : "";
}

void stream_hostname(char *buf, size_t len)
{
	if (gethostname(buf, len) < 0 || !buf[0])
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
}

void stream_group_init(struct stream_group *g, const char *prefix, const char *group, const char *consumer,
		       unsigned count)
{
	*g = (struct stream_group){ .group = group, .consumer = consumer, .count = count };
	schema_key(g->stream, sizeof(g->stream), prefix, SCHEMA_EVENTS, NULL, NULL);
	stream_restart(g);
}

int stream_group_create(redisContext *c, const struct stream_group *g, char *err, size_t errlen)
{
	const char *argv[] = { "XGROUP", "CREATE", g->stream, g->group, "$", "MKSTREAM" };
	redisReply *rep = redisCommandArgv(c, 6, argv, NULL);
	int r = 0;

	/* BUSYGROUP: it is there already */
	if (!rep || (rep->type == REDIS_REPLY_ERROR && !strstr(rep->str, "BUSYGROUP"))) {
		snprintf(err, errlen, "cannot create consumer group '%s' on '%.300s': %s", g->group, g->stream,
			 rep ? rep->str : c->errstr);
		r = -EIO;
	}
	freeReplyObject(rep);
	return r;
}

void stream_restart(struct stream_group *g)
{
	g->pending = true;
	snprintf(g->from, sizeof(g->from), "0");
}

/* XREADGROUP GROUP G C COUNT N BLOCK MS STREAMS S ID into argv[11]. */
static void read_argv(const struct stream_group *g, const char **argv, char *count, char *block, int block_ms)
{
	snprintf(count, 16, "%u", g->count);
	snprintf(block, 16, "%d", block_ms);
	const char *v[] = { "XREADGROUP", "GROUP", g->group, g->consumer, "COUNT",
			    count,        "BLOCK", block,    "STREAMS",   g->stream,
			    g->pending ? g->from : ">" };
	memcpy(argv, v, sizeof(v));
}

redisReply *stream_read(redisContext *c, const struct stream_group *g, int block_ms)
{
	const char *argv[11];
	char count[16], block[16];

	read_argv(g, argv, count, block, block_ms);
	return redis_command(c, 11, argv);
}

int stream_read_send(redisContext *c, const struct stream_group *g, int block_ms)
{
	const char *argv[11];
	char count[16], block[16];
	int done = 0;

	read_argv(g, argv, count, block, block_ms);
	if (redisAppendCommandArgv(c, 11, argv, NULL) != REDIS_OK)
		return -EIO;
	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return -EIO;
	return 0;
}

const redisReply *stream_read_entries(const redisReply *rep)
{
	/* [[stream, [[id, fields], ...]]], or nil when BLOCK ran out */
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements && rep->element[0]->elements == 2)
		return rep->element[0]->element[1];
	return NULL;
}

void stream_read_done(struct stream_group *g, const redisReply *entries)
{
	const char *last = NULL;

	if (!g->pending)
		return;
	for (size_t i = 0; entries && i < entries->elements; i++) {
		const redisReply *it = entries->element[i];
		if (it->type == REDIS_REPLY_ARRAY && it->elements >= 1 && it->element[0]->type == REDIS_REPLY_STRING)
			last = it->element[0]->str;
	}
	if (!entries || entries->elements == 0)
		g->pending = false;
	else if (last)
		snprintf(g->from, sizeof(g->from), "%s", last);
}

int stream_ack(redisContext *c, const struct stream_group *g, const char *const *ids, size_t n)
{
	const char **argv;
	redisReply *rep;

	if (n == 0)
		return 0;
	if (!(argv = calloc(n + 3, sizeof(*argv))))
		return -ENOMEM;
	argv[0] = "XACK", argv[1] = g->stream, argv[2] = g->group;
	memcpy(argv + 3, ids, n * sizeof(*ids));
	rep = redis_command(c, (int)(n + 3), argv);
	free(argv);
	freeReplyObject(rep);
	return rep ? 0 : -EIO;
}

int stream_claim_idle(redisContext *c, const struct stream_group *g, int64_t min_idle_ms, int rounds,
		      stream_entries_fn fn, void *ctx)
{
	char idle[24], count[16], start[64] = "0-0";
	int r = 0;

	snprintf(idle, sizeof(idle), "%lld", (long long)min_idle_ms);
	snprintf(count, sizeof(count), "%u", g->count);
	for (int round = 0; round < rounds && r >= 0; round++) {
		const char *argv[] = { "XAUTOCLAIM", g->stream, g->group, g->consumer, idle, start, "COUNT", count };
		redisReply *rep = redis_command(c, 8, argv);
		if (!rep)
			return c->err ? -EIO : 0;
		/* [next start, [[id, fields], ...], deleted ids] */
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2) {
			r = fn(ctx, rep->element[1]);
			snprintf(start, sizeof(start), "%s",
				 rep->element[0]->type == REDIS_REPLY_STRING ? rep->element[0]->str : "0-0");
		}
		freeReplyObject(rep);
		if (strcmp(start, "0-0") == 0)
			break;
	}
	return r;
}

void stream_claim_ids(redisContext *c, const struct stream_group *g, const char **ids, size_t n)
{
	const char **argv;

	if (n == 0 || !(argv = calloc(n + 6, sizeof(*argv))))
		return;
	argv[0] = "XCLAIM", argv[1] = g->stream, argv[2] = g->group, argv[3] = g->consumer, argv[4] = "0";
	memcpy(argv + 5, ids, n * sizeof(*ids));
	argv[5 + n] = "JUSTID";
	freeReplyObject(redis_command(c, (int)(n + 6), argv));
	free(argv);
}

int stream_consumers(redisContext *c, const struct stream_group *g,
		     void (*fn)(void *ctx, const struct stream_consumer *sc), void *ctx)
{
	const char *argv[] = { "XINFO", "CONSUMERS", g->stream, g->group };
	redisReply *rep = redis_command(c, 4, argv);

	if (!rep)
		return -EIO;
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
		const redisReply *m = rep->element[i];
		struct stream_consumer sc = { .pending = -1 };
		/* a flat [name, value, ...] per consumer */
		for (size_t k = 0; m->type == REDIS_REPLY_ARRAY && k + 1 < m->elements; k += 2) {
			const char *f = str_of(m->element[k]);
			const redisReply *v = m->element[k + 1];
			if (!strcmp(f, "name") && v->type == REDIS_REPLY_STRING)
				sc.name = v->str;
			else if (!strcmp(f, "pending") && v->type == REDIS_REPLY_INTEGER)
				sc.pending = v->integer;
			else if (!strcmp(f, "idle") && v->type == REDIS_REPLY_INTEGER)
				sc.idle_ms = v->integer;
		}
		if (sc.name)
			fn(ctx, &sc);
	}
	freeReplyObject(rep);
	return 0;
}

size_t stream_take_over(redisContext *c, const struct stream_group *g, const char *consumer)
{
	const char *pend[] = { "XPENDING", g->stream, g->group, "-", "+", "1000", consumer };
	redisReply *rep = redis_command(c, 7, pend);
	const char **ids = NULL;
	size_t n = 0;

	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements && (ids = calloc(rep->elements, sizeof(*ids)))) {
		/* [[id, consumer, idle, deliveries], ...] */
		for (size_t i = 0; i < rep->elements; i++)
			if (rep->element[i]->type == REDIS_REPLY_ARRAY && rep->element[i]->elements)
				ids[n++] = rep->element[i]->element[0]->str;
		stream_claim_ids(c, g, ids, n);
		free(ids);
	}
	freeReplyObject(rep);
	stream_drop_consumer(c, g, consumer);
	return n;
}

void stream_drop_consumer(redisContext *c, const struct stream_group *g, const char *consumer)
{
	const char *del[] = { "XGROUP", "DELCONSUMER", g->stream, g->group, consumer };

	freeReplyObject(redis_command(c, 5, del));
}
