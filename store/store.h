/* store/: where results go. A store thread drains the results ring and
 * writes the stdout sink; with Redis it also formats every record as Redis
 * commands into a backlog that a Redis writer thread empties (spilling to a
 * local file when Redis is away), so a slow consumer (a pipe, Redis) never
 * stalls the scheduler, the sender or the receiver. */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/check.h"
#include "common/probe.h"
#include "scheduler/state.h"
#include "store/format.h"
#include "store/schema.h"

struct ring;
struct runtime_set;
struct store;
struct table;
struct table_pub;

/* What goes through the store ring. */
enum store_rec_kind {
	STORE_REC_RESULT,
	STORE_REC_EVENT,
	STORE_REC_STATUS,   /* once a second: the prober's counters */
	STORE_REC_REMOVED,  /* a reload removed a target */
};

/* The prober's counters, pushed by the main thread once a second; Redis
 * gets them as the prober's heartbeat (docs/redis.md, P prober:PROBER). */
struct store_status {
	uint64_t sent_per_s;      /* probes sent in the last second */
	uint64_t replies_per_s;   /* replies accepted in the last second */
	uint64_t pcap_drops;      /* packets the capture buffer dropped since start */
	double demand_pps;        /* probes/s the targets' intervals ask for (0 in one-shot mode) */
	uint32_t targets;         /* live targets */
	uint32_t by_state[TARGET_STATE_COUNT]; /* live targets per enum target_state */
	uint8_t overloaded;       /* 1: intervals are stretched to the rate cap */
	uint8_t isolated;         /* 1: the prober looks cut off */
	uint8_t pad[6];
};

struct store_rec {
	uint8_t kind; /* enum store_rec_kind */
	uint8_t pad[7];
	union {
		struct probe_result result;
		struct sw_event event;
		struct store_status status;
		uint32_t removed;   /* REMOVED: the target's id (dead in the latest table) */
	} u;
};

/* Records too large for the store ring (its records stay small: a
 * million targets' results pass through it), on a second ring from the
 * main thread: service-check results, and the texts that go with events
 * (an event with detail set finds its text there, pushed just before it). */
enum store_xrec_kind {
	STORE_XREC_CHECK,
	STORE_XREC_DETAIL,
};

struct store_xrec {
	uint8_t kind;         /* enum store_xrec_kind */
	uint8_t verdict;      /* CHECK: enum probe_verdict, as the state took it */
	uint8_t pad[2];
	int32_t days_left;    /* CHECK: the certificate's whole days left; INT32_MIN: none */
	uint64_t event_id;    /* DETAIL: the event it goes with */
	union {
		struct check_result check;
		char text[CHECK_TEXT_MAX + 64];
	} u;
};

#define STORE_DEFAULT_PREFIX SCHEMA_DEFAULT_PREFIX
#define STORE_DEFAULT_RESULTS_MAXLEN 1000000
#define STORE_DEFAULT_EVENTS_MAXLEN 100000
#define STORE_DEFAULT_LATENCY_RETENTION_S (7 * 86400)
#define STORE_DEFAULT_BACKLOG_MEMORY (64u << 20)
/* The spill file's size past which results are dropped (docs/operations.md). */
#define STORE_DEFAULT_SPILL_MAX (1ull << 30)
#define STORE_DEFAULT_FLUSH_NS (2000000000LL)

struct store_redis_config {
	const char *url;            /* checked by the caller with redis_url_check */
	const char *prefix;         /* NULL: STORE_DEFAULT_PREFIX */
	const char *spill_path;     /* NULL: /var/tmp/synwatch-spill-LOCATION.log */
	const char *location;       /* set in one-shot mode too */
	const char *prober;         /* "LOC/HOSTNAME" */
	const char *host, *version; /* for the heartbeat */
	uint64_t rate;              /* probes/s cap, for the heartbeat */
	uint64_t results_maxlen;    /* 0: STORE_DEFAULT_RESULTS_MAXLEN */
	uint64_t events_maxlen;     /* 0: STORE_DEFAULT_EVENTS_MAXLEN */
	int64_t latency_retention_s;/* 0: STORE_DEFAULT_LATENCY_RETENTION_S */
	size_t backlog_memory;      /* bytes of records held in memory before spilling; 0: the default */
	uint64_t spill_max;         /* the spill file's limit (backlog_set_file_limit); 0: STORE_DEFAULT_SPILL_MAX */
	int64_t flush_ns;           /* at stop, how long to keep writing; 0: STORE_DEFAULT_FLUSH_NS */
	bool monitoring;            /* continuous mode: state hashes, idx sets, latency history */
	bool runtime;               /* read runtime targets (store_runtime_take) */
	bool shard;                 /* join P members:LOC and read its live members (store_members_take) */
};

struct store_config {
	enum store_format format;
	FILE *out;                  /* the stream the sink writes (stdout) */
	struct table_pub *tables;   /* the store is its reader */
	const char *location;       /* NULL in one-shot mode */
	uint64_t run_id;
	bool with_group;
	bool latency_records;       /* print a "latency" line per target and minute (continuous mode) */
	const struct store_redis_config *redis; /* NULL: no Redis; the strings must outlive the store */
};

/* The store reads struct store_rec from recs and struct store_xrec from
 * xrecs (may be NULL: no service checks); it is their only consumer.
 * With Redis it opens the spill file (and takes over what a previous run
 * left in it). Returns 0 and sets *out, or a negative errno after logging
 * one line naming what failed (a spill file that cannot be opened, say).
 * The Redis writer's sockets use MSG_NOSIGNAL, but hiredis's own writes
 * do not: the process must ignore SIGPIPE. */
int store_new(struct store **out, const struct store_config *cfg, struct ring *recs, struct ring *xrecs);
int store_start(struct store *st);
/* Writes everything still in the ring, flushes the sinks and joins; with
 * Redis, keeps writing for up to flush_ns and leaves the rest in the spill
 * file for the next start. */
void store_stop(struct store *st);
void store_free(struct store *st); /* NULL is a no-op; stops first */
/* Records written so far (any thread). */
uint64_t store_written(const struct store *st);
/* Write errors (EPIPE, ENOSPC...): the first errno seen, 0 if none. */
int store_error(const struct store *st);

/* Start-up, main thread, before store_start: reads back from Redis the
 * state the previous run left every live target of t in (store/resume.h)
 * into saved[id] (t->tl.n entries, zeroed by the caller; TARGET_UNKNOWN:
 * nothing to resume), and has the writer continue from those states: a
 * resumed target's first record keeps its state, since and idx set. Waits
 * for Redis at most a few seconds, and reads for at most
 * STORE_RESUME_BUDGET_NS. Returns how many targets resume: 0 without
 * Redis, outside monitoring, or when a previous run left records in the
 * spill file (Redis is behind them: its states are older than that run's
 * last ones); after a failure, logged, those read before it. */
#define STORE_RESUME_BUDGET_NS (60LL * 1000000000LL)
int store_resume(struct store *st, const struct table *t, struct state_saved *saved);

/* Main thread: when the runtime targets in Redis changed since the last
 * call, moves the whole new set into *out (release with
 * runtime_set_release) and returns true. Cheap when nothing changed. */
bool store_runtime_take(struct store *st, struct runtime_set *out);

struct shard_members;
/* Main thread: when the live members of this prober's location (P
 * members:LOC, heartbeat younger than STORE_MEMBER_LIVE_MS) changed since
 * the last call, moves the sorted list into *out (release with
 * shard_members_release) and returns true. Nothing comes while Redis is
 * away: the caller keeps the last list. */
bool store_members_take(struct store *st, struct shard_members *out);
/* A member is live while its last heartbeat is younger than two heartbeat
 * intervals (1 s each). */
#define STORE_MEMBER_LIVE_MS 2000

struct store_redis_stats {
	uint64_t written;   /* records Redis acknowledged */
	uint64_t batches;   /* ... in this many transactions */
	uint64_t skipped;   /* records Redis had already (replayed after a reconnect) */
	uint64_t backlog;   /* records waiting: in memory, in the spill file, in flight */
	uint64_t spilled;   /* ... of which in the spill file */
	uint64_t lost;      /* records that could not be kept (the spill file could not be written) */
	uint64_t dropped;   /* results dropped at the spill file's limit */
	uint64_t spill_bytes; /* the spill file's size */
	uint64_t left;      /* after store_stop: records left in the spill file */
	bool connected;
};
/* Any thread. Returns false (and zeroes *out) without Redis. */
bool store_redis_stats(const struct store *st, struct store_redis_stats *out);

#endif
