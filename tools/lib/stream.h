/* tools/lib/stream: reading a Redis stream (P events) with a consumer
 * group, for the consumers that must handle every entry once:
 * synwatch-alert (its group of alerters) and synwatch-quorum (group
 * "quorum"). What docs/redis.md asks of them, written once:
 *
 * - the group is made at $ (new entries only) with MKSTREAM if missing;
 * - after a start or a reconnect, a consumer reads its own unacknowledged
 *   entries first (from id 0 up), then new ones (">");
 * - an entry is acknowledged (XACK) once handled, so that one a consumer
 *   read and never finished is read again;
 * - entries another consumer left unacknowledged for a while are claimed
 *   (XAUTOCLAIM), and consumers that are gone are taken over or dropped.
 *
 * The caller owns the connections (the alerter blocks in XREADGROUP on one
 * and does the rest on another) and decides when to do what. Error replies
 * are logged at warning level as "redis COMMAND: ERROR". One thread. */
#ifndef SW_STREAM_H
#define SW_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#include "store/schema.h"

/* One consumer's place in one group of one stream. */
struct stream_group {
	char stream[SCHEMA_KEY_MAX]; /* the stream's key */
	const char *group;           /* the consumer group (not copied) */
	const char *consumer;        /* our name in it (not copied) */
	unsigned count;              /* entries per read or claim (COUNT) */
	bool pending;                /* still reading our own unacknowledged entries */
	char from[64];               /* ... after this id */
};

/* This host's name, which consumer names hold ("HOST:PID"), so that a
 * consumer of this host whose process is gone can be told; "localhost"
 * when the host has none. */
void stream_hostname(char *buf, size_t len);
/* g for consumer in group on the stream P events, count entries a read;
 * it starts with our unacknowledged entries. */
void stream_group_init(struct stream_group *g, const char *prefix, const char *group, const char *consumer,
		       unsigned count);
/* Creates the group if missing. 0, or -EIO with one line in err. */
int stream_group_create(redisContext *c, const struct stream_group *g, char *err, size_t errlen);
/* Reads our unacknowledged entries again first (after a reconnect, after
 * taking over). */
void stream_restart(struct stream_group *g);

/* XREADGROUP ... BLOCK block_ms: stream_read waits for the reply (NULL
 * for an error reply or a lost connection), stream_read_send only writes
 * the command out, for a caller that waits for the reply itself. */
redisReply *stream_read(redisContext *c, const struct stream_group *g, int block_ms);
int stream_read_send(redisContext *c, const struct stream_group *g, int block_ms);
/* The entries ([[id, [field, value, ...]], ...]) of a read's reply, or
 * NULL when there are none (BLOCK ran out). */
const redisReply *stream_read_entries(const redisReply *rep);
/* After the caller handled what a read gave (entries may be NULL): while
 * pending, the next read goes on after the last of them, and none means
 * ours are done, new entries come next. */
void stream_read_done(struct stream_group *g, const redisReply *entries);

/* Acknowledges n entries. 0, or -EIO. */
int stream_ack(redisContext *c, const struct stream_group *g, const char *const *ids, size_t n);

/* Handles a batch of entries; a negative errno stops what called it. */
typedef int (*stream_entries_fn)(void *ctx, const redisReply *entries);
/* Claims, in up to rounds batches, the entries of the group idle for at
 * least min_idle_ms (XAUTOCLAIM), handing each batch to fn. Returns what
 * fn returned, 0, or -EIO when the connection is lost. */
int stream_claim_idle(redisContext *c, const struct stream_group *g, int64_t min_idle_ms, int rounds,
		      stream_entries_fn fn, void *ctx);
/* Claims these n entries for us (XCLAIM ... JUSTID): ours again, and
 * fresh, so that nobody's XAUTOCLAIM takes them. */
void stream_claim_ids(redisContext *c, const struct stream_group *g, const char **ids, size_t n);

/* A consumer of the group, as XINFO CONSUMERS says. */
struct stream_consumer {
	const char *name;
	long long pending; /* entries it read and did not acknowledge; -1 unknown */
	long long idle_ms; /* since it last did something */
};
/* Calls fn for each consumer of the group. 0, or -EIO. */
int stream_consumers(redisContext *c, const struct stream_group *g,
		     void (*fn)(void *ctx, const struct stream_consumer *sc), void *ctx);
/* Takes over what consumer left unacknowledged (it is gone), then drops
 * it from the group. Returns how many entries became ours. */
size_t stream_take_over(redisContext *c, const struct stream_group *g, const char *consumer);
/* Drops consumer from the group (what it held unacknowledged is lost to
 * the group: only for one that holds nothing). */
void stream_drop_consumer(redisContext *c, const struct stream_group *g, const char *consumer);

#endif
