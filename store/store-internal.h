/* Internals shared by the files of store/ and by their tests: the backlog
 * that holds records until Redis has them, the formatter that turns
 * records into Redis commands, the Redis writer thread and the
 * runtime-target parser. URLs and connecting are store/redis-conn.h (the
 * tools use them too). Other modules use store/store.h only. */
#ifndef SW_STORE_INTERNAL_H
#define SW_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/probe.h"
#include "store/redis-conn.h"
#include "store/store.h"

struct lat_minute;
struct table;
struct table_runtime;

/* ---- format.c ---- */

struct table_group;
/* The group's labels as a JSON object, {"team":"dba"} ({} without any),
 * NUL-terminated. Returns the length, or -ENOSPC if buf is too small. */
int store_labels_json(char *buf, size_t len, const struct table_group *g);

/* ---- backlog.c: records on their way to Redis ---- */

#define BL_MAGIC 0x31575353u /* "SSW1" little-endian */
/* Larger frames are refused: a record is at most a few kilobytes, unless
 * labels are huge, and a corrupt length must not make us allocate gigabytes. */
#define BL_FRAME_MAX (8u << 20)

enum bl_kind {
	BL_RESULT,
	BL_EVENT,
	BL_LATENCY,
	BL_REMOVED,
};

/* One record as the backlog keeps it, in memory and in the spill file:
 * this header, then len bytes of Redis commands (RESP), ncmds of them. */
struct bl_frame {
	uint32_t magic;  /* BL_MAGIC */
	uint32_t len;    /* payload bytes */
	uint64_t seq;    /* set by backlog_push: increasing, unique per prober across restarts */
	uint16_t ncmds;  /* commands in the payload */
	uint16_t kind;   /* enum bl_kind */
	uint32_t pad;
};

/* Records being formatted by the producer (the store thread), pushed into
 * the backlog together. */
struct bl_stage {
	char *buf;
	size_t len, cap;
	size_t n;        /* finished frames */
	size_t open;     /* offset of the frame being written, if opened */
	bool opened;
};

/* Makes room for more bytes at buf + len. Returns 0 or -ENOMEM. */
int bl_stage_reserve(struct bl_stage *s, size_t more);
/* Starts a frame: what is appended to buf until bl_stage_end is its payload. */
int bl_stage_begin(struct bl_stage *s);
/* Ends the open frame; an empty one (ncmds 0) is dropped. */
void bl_stage_end(struct bl_stage *s, unsigned ncmds, enum bl_kind kind);
/* Drops the open frame (formatting failed). */
void bl_stage_cancel(struct bl_stage *s);
void bl_stage_clear(struct bl_stage *s);
void bl_stage_release(struct bl_stage *s);

/* One record taken by the consumer: its payload is data[off, off + len). */
struct bl_item {
	uint64_t seq;
	uint32_t off, len;
	uint16_t ncmds, kind;
};

/* What the consumer (the Redis writer) took: payloads back to back, so a
 * batch goes out in one write. Items before `first` are done. */
struct bl_batch {
	char *data;
	size_t len, cap;
	struct bl_item *items;
	size_t n, items_cap, first;
	char *scratch;          /* spill-file reads */
	size_t scratch_cap;
};

void bl_batch_clear(struct bl_batch *b);
void bl_batch_release(struct bl_batch *b);
/* Marks the items with seq <= upto done (they are in Redis already). */
void bl_batch_skip_upto(struct bl_batch *b, uint64_t upto);
/* Records not done, and their commands. */
size_t bl_batch_count(const struct bl_batch *b);

struct backlog;

struct backlog_stats {
	uint64_t records;   /* waiting: in memory and in the spill file */
	uint64_t spilled;   /* ... of which in the spill file */
	uint64_t mem_bytes; /* memory held for records */
	uint64_t lost;      /* records that could not be kept: the spill file could not be written */
	uint64_t last_seq;  /* the last sequence number given (0: none yet) */
	uint64_t replay;    /* records found in the spill file when it was opened */
};

/* Opens (creating it) and locks the spill file, takes the records a
 * previous run left in it (they go out first), and sets the first
 * sequence number to max(now_us, the file's last + 1). mem_limit: bytes of
 * records kept in memory before new ones go to the file. Returns 0 and
 * sets *out (free with backlog_free), or a negative errno with one line in
 * err naming the file and what to do. */
int backlog_open(struct backlog **out, const char *spill_path, size_t mem_limit, uint64_t now_us, char *err,
		 size_t errlen);
/* Producer (one thread): gives every finished frame of s the next sequence
 * numbers and moves it into the backlog, in memory while there is room,
 * else (and then until the file is drained, to keep the order) into the
 * spill file; s is left empty. Holds the lock for one copy or one write.
 * Returns the number of records kept, or a negative errno when the spill
 * file could not be written (those records are counted as lost). */
int backlog_push(struct backlog *bl, struct bl_stage *s);
/* Consumer (one thread): appends to b the oldest records, in order, up to
 * max_items and about max_bytes (at least one record), discarding those
 * with seq <= skip_upto. Waits up to wait_ns for one if there is none.
 * Returns the number appended. */
size_t backlog_take(struct backlog *bl, struct bl_batch *b, uint64_t skip_upto, size_t max_bytes,
		    size_t max_items, int64_t wait_ns);
/* Wakes a consumer waiting in backlog_take. Any thread. */
void backlog_wake(struct backlog *bl);
void backlog_get_stats(struct backlog *bl, struct backlog_stats *out);
/* At shutdown, producer stopped, consumer done: writes what is left (the
 * items not done of the n batches taken but not written, oldest first,
 * then the rest in order) to the spill file and syncs it, or empties and
 * removes the file when nothing is left. Returns the number of records
 * left in the file, or a negative errno. */
int64_t backlog_persist(struct backlog *bl, const struct bl_batch *const *unsent, size_t n);
const char *backlog_path(const struct backlog *bl);
void backlog_free(struct backlog *bl); /* NULL is a no-op; unlocks the file */

/* ---- redis-fmt.c: records as Redis commands (docs/redis.md) ---- */

struct rfmt_config {
	const char *prefix;        /* "synwatch:" */
	const char *location;
	const char *prober;        /* "LOC/HOSTNAME" */
	uint64_t run_id;           /* event ids: RUNID-N */
	uint64_t results_maxlen;   /* XADD MAXLEN ~ */
	uint64_t events_maxlen;
	int64_t latency_retention_s;
	bool monitoring;           /* continuous mode: state hashes and idx sets too */
	bool shard;                /* the heartbeat also joins P members:LOC */
};

/* What a heartbeat says besides the counters. */
struct rfmt_heartbeat {
	const struct store_status *st;
	const char *host, *version;
	int64_t started_s;
	int64_t now_ms;
	uint64_t rate;
	uint64_t backlog, spilled;
};

struct rfmt;

/* Returns 0 and sets *out (free with rfmt_free), or -ENOMEM. The strings
 * of c must outlive it. One thread (the store thread). */
int rfmt_new(struct rfmt **out, const struct rfmt_config *c);
void rfmt_free(struct rfmt *f); /* NULL is a no-op */
/* The table generation record ids refer to from now on (the store adopted
 * it). Its group labels are cached as JSON; each live target's state hash
 * is written whole again at its next result, as names or labels may have
 * changed. Returns 0 or -ENOMEM. */
int rfmt_set_table(struct rfmt *f, const struct table *t);
/* Each appends one frame (one record) to s. Return 0, or -ENOMEM (s then
 * holds no part of it). */
int rfmt_result(struct rfmt *f, struct bl_stage *s, const struct probe_result *r);
int rfmt_event(struct rfmt *f, struct bl_stage *s, const struct sw_event *e);
int rfmt_latency(struct rfmt *f, struct bl_stage *s, uint32_t target, const struct lat_minute *lm);
int rfmt_removed(struct rfmt *f, struct bl_stage *s, uint32_t target);
/* The prober's heartbeat: HSET prober:PROBER, PEXPIRE, ZADD probers and
 * the trim of probers (with shard, ZADD members:LOC and its trim too), as
 * one frame. Pure. */
int rfmt_heartbeat(struct bl_stage *s, const struct rfmt_config *c, const struct rfmt_heartbeat *h);

/* ---- runtime.c: runtime targets (P runtime:targets) ---- */

/* Parses one entry of the hash: spec (the field) and json (its value,
 * {"group":..,"name":..,"labels":{..},"interval":".."}, every key
 * optional). Untrusted input: strict JSON, no unknown or repeated keys,
 * label names as in the config, valid UTF-8. Returns 0 and fills *out
 * (release with table_runtime_release), or -EINVAL / -ENOMEM with one line
 * in err. Pure, any thread. */
int runtime_parse(struct table_runtime *out, const char *spec, size_t spec_len, const char *json, size_t len,
		  char *err, size_t errlen);

/* ---- redis.c: the Redis writer thread ---- */

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
/* The store thread hands over the latest status (the heartbeat's counters). */
void redis_writer_set_status(struct redis_writer *w, const struct store_status *s);
/* Main thread: see store_runtime_take. */
bool redis_writer_take_runtime(struct redis_writer *w, struct runtime_set *out);
/* Main thread: see store_members_take. */
bool redis_writer_take_members(struct redis_writer *w, struct shard_members *out);
void redis_writer_get_stats(struct redis_writer *w, struct store_redis_stats *out);

#endif
