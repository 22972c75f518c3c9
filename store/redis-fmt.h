/* store/redis-fmt: records as Redis commands (docs/redis.md), appended to a
 * backlog stage (store/backlog.h). The store thread. */
#ifndef SW_REDIS_FMT_H
#define SW_REDIS_FMT_H

#include <stdbool.h>
#include <stdint.h>

struct bl_stage;
struct check_result;
struct histo_delta;
struct lat_minute;
struct probe_result;
struct store_status;
struct state_saved;
struct sw_event;
struct table;
struct target;

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
	uint64_t spill_bytes, spill_max; /* the spill file's size and limit */
	uint64_t dropped;                /* results dropped at that limit since start */
	const char *problem;             /* the last error or warning logged; NULL or "": none */
	int64_t problem_ms;              /* when (Unix ms) */
	const char *per_target;     /* JSON array of the groups with metrics: per_target; NULL: [] */
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
/* At start, before the first record: the states the monitor resumed
 * (monitor_resume), saved[id] for every id of t (TARGET_UNKNOWN: none).
 * A resumed target's first record writes its hash and its idx set with the
 * resumed state, since and reason instead of starting it unknown. Adopts
 * t as rfmt_set_table does. Returns 0 or -ENOMEM. */
int rfmt_resume(struct rfmt *f, const struct table *t, const struct state_saved *saved);
/* A target's name in keys and fields, "198.18.0.7:443" or
 * "[2001:db8::1]:443", into buf (ADDR_STRLEN + 16 bytes), and its address
 * alone into ip (iplen bytes). Pure. */
void rfmt_endpoint(const struct target *t, char *buf, char *ip, size_t iplen);
/* Each appends one frame (one record) to s. Return 0, or -ENOMEM (s then
 * holds no part of it). */
int rfmt_result(struct rfmt *f, struct bl_stage *s, const struct probe_result *r);
int rfmt_event(struct rfmt *f, struct bl_stage *s, const struct sw_event *e);
/* ... an event with its text (a check's error; NULL: none). */
int rfmt_event_with(struct rfmt *f, struct bl_stage *s, const struct sw_event *e, const char *detail);
/* A service check's result (docs/redis.md): an entry of P results with the
 * check's fields, and the check's fields of the target's state hash. */
int rfmt_check(struct rfmt *f, struct bl_stage *s, const struct check_result *r, uint8_t verdict, int32_t days_left);
int rfmt_latency(struct rfmt *f, struct bl_stage *s, uint32_t target, const struct lat_minute *lm);
int rfmt_removed(struct rfmt *f, struct bl_stage *s, uint32_t target);
/* A group's histogram increments (store/histo.h) as HINCRBYs of P
 * histo:LOC; nothing when it has none, or in one-shot mode. */
int rfmt_histo(struct rfmt *f, struct bl_stage *s, const struct histo_delta *d);
/* The prober's heartbeat: HSET prober:PROBER, PEXPIRE, ZADD probers and
 * the trim of probers (with shard, ZADD members:LOC and its trim too), as
 * one frame. Pure. */
int rfmt_heartbeat(struct bl_stage *s, const struct rfmt_config *c, const struct rfmt_heartbeat *h);

#endif
