/* store/redis: the Redis writer thread. It takes records out of the
 * backlog, writes them in transactions, reads runtime targets and shard
 * members back, and reconnects when Redis is away. */
#ifndef SW_REDIS_H
#define SW_REDIS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/redis-conn.h"
#include "store/redis-fmt.h"

struct backlog;
struct runtime_set;
struct shard_members;
struct store_redis_stats;
struct store_status;

struct redis_writer_config {
	struct redis_url url;
	const char *url_text;       /* redacted, for messages */
	struct rfmt_config fmt;
	const char *host, *version; /* for the heartbeat */
	int64_t started_s;
	uint64_t rate;
	bool runtime;               /* read runtime targets */
	int64_t flush_ns;           /* at stop, how long to keep writing before leaving the rest in the spill file */
};

struct redis_writer;

/* The writer takes records out of bl (it is bl's only consumer). The
 * strings of c must outlive it. Returns 0 or -ENOMEM. */
int redis_writer_new(struct redis_writer **out, const struct redis_writer_config *c, struct backlog *bl);
int redis_writer_start(struct redis_writer *w);
/* Keeps writing for up to flush_ns, then leaves what is left in the spill
 * file and joins. */
void redis_writer_stop(struct redis_writer *w);
void redis_writer_free(struct redis_writer *w); /* NULL is a no-op; stops first */
/* The store thread hands over the latest status (the heartbeat's counters)
 * and the JSON array of the groups that asked for per-target metrics
 * (copied; NULL: as before). */
void redis_writer_set_status(struct redis_writer *w, const struct store_status *s, const char *per_target);
/* Main thread: see store_runtime_take. */
bool redis_writer_take_runtime(struct redis_writer *w, struct runtime_set *out);
/* Main thread: see store_members_take. */
bool redis_writer_take_members(struct redis_writer *w, struct shard_members *out);
void redis_writer_get_stats(struct redis_writer *w, struct store_redis_stats *out);

#endif
