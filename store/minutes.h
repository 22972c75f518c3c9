/* Per-minute latency records for the store thread: every result is bucketed
 * by the Unix minute of its ts_real_ns, and once a minute is over, one
 * struct lat_minute (common/latency.h) is built per target that had
 * results in it and handed to a callback.
 *
 * A lat_minute is 1.5 KiB: kept per target for a million targets that would
 * be 1.5 GB. So a minute holds only compact samples (8 bytes: the target id
 * and the RTT), appended as results come; when it is flushed they are sorted
 * by target (radix sort) and each target's record is built, handed over and
 * forgotten. Memory: 8 bytes per result of an open minute (6 M results a
 * minute: 48 MB per minute), plus as much again for a moment while a minute
 * is sorted.
 *
 * At most MINUTES_OPEN minutes are open: a result for the newest minute seen
 * opens it and closes those more than MINUTES_OPEN - 1 minutes older. A
 * result for a minute that is closed or already delivered is "late": it is
 * counted and left out of the statistics (the caller still writes it
 * wherever results go).
 *
 * One thread at a time (the store thread); no locks, no clock of its own. */
#ifndef SW_MINUTES_H
#define SW_MINUTES_H

#include <stddef.h>
#include <stdint.h>

#include "common/probe.h"
#include "common/latency.h"

#define MINUTES_OPEN 3
/* A minute is delivered this long after its end, to let late results in. */
#define MINUTES_GRACE_NS (5LL * 1000000000LL)

struct minutes;

struct minutes_stats {
	uint64_t samples; /* results counted into a minute (answers and losses) */
	uint64_t late;    /* results for a closed or delivered minute, left out */
	uint64_t nomem;   /* results left out because memory ran out */
	uint64_t records; /* (target, minute) records delivered */
	size_t held;      /* samples waiting in minutes not delivered yet */
};

/* Returns 0 and sets *out (free with minutes_free), or -ENOMEM. */
int minutes_new(struct minutes **out);
void minutes_free(struct minutes *m); /* NULL is a no-op */

/* Counts one result: open, closed or unreachable with rtt_ns >= 0 as a
 * sample, filtered and error as a loss; anything else is ignored. Returns 0
 * (late results too: see minutes_stats), or -ENOMEM (the result is left
 * out, and counted in nomem). */
int minutes_add(struct minutes *m, const struct probe_result *r);

/* Delivers every minute that ended at least MINUTES_GRACE_NS before
 * now_real_ns (CLOCK_REALTIME), and every closed one, then forgets them:
 * fn is called once per target and minute, in ascending minute then target
 * order; lm (lm->minute_start_s: the minute's start, Unix seconds) is valid
 * only during the call. Returns the number of calls. Never fails: without
 * memory for the sort it sorts in place, more slowly. */
size_t minutes_flush(struct minutes *m, int64_t now_real_ns,
		     void (*fn)(void *ctx, uint32_t target, const struct lat_minute *lm), void *ctx);
/* Delivers every minute still held, whatever the time (at shutdown). */
size_t minutes_flush_all(struct minutes *m,
			 void (*fn)(void *ctx, uint32_t target, const struct lat_minute *lm), void *ctx);

void minutes_stats(const struct minutes *m, struct minutes_stats *out);

#endif
