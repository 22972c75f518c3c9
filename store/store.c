/* The store thread: drains the ring of results and events and writes them
 * to the stdout sink, with a latency line per target and minute. It never
 * drops a record: a line that does not fit grows the line buffer, and one
 * that still cannot be formatted goes out without the target's names. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/ring.h"
#include "scheduler/table.h"
#include "store/minutes.h"
#include "store/store.h"

#define STORE_BATCH 256
#define STORE_LINE_MIN 4096
/* labels and names come from the config and -T files; past this a line
 * goes out without them rather than needing ever more memory */
#define STORE_LINE_MAX (1 << 20)
#define STORE_FLUSH_EVERY_NS NSEC_PER_SEC

struct store {
	struct store_config cfg;
	struct ring *recs;
	struct minutes *minutes;   /* NULL without latency lines */
	const struct table *table; /* the latest generation (store thread) */
	pthread_t thread;
	bool running;
	_Atomic bool stop;
	_Atomic uint64_t written;
	_Atomic int error;
	char *line;
	size_t line_len;
	struct store_rec batch[STORE_BATCH];
};

int store_new(struct store **out, const struct store_config *cfg, struct ring *recs)
{
	struct store *st;
	int r = -ENOMEM;

	*out = NULL;
	if (!cfg->tables)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->cfg = *cfg;
	st->recs = recs;
	st->line_len = STORE_LINE_MIN;
	st->line = malloc(st->line_len);
	if (!st->line)
		goto out;
	/* nothing would read the records with no output; a Redis sink will be
	 * another reader */
	if (cfg->latency_records && cfg->format != STORE_NONE && (r = minutes_new(&st->minutes)) < 0)
		goto out;
	*out = st;
	return 0;
out:
	store_free(st);
	return r;
}

static void note_error(struct store *st, int err)
{
	int expected = 0;
	atomic_compare_exchange_strong(&st->error, &expected, err ? err : EIO);
}

/* What a line is made of: a record of the ring, or a finished minute. */
struct line_src {
	const struct store_rec *rec;
	uint32_t target;
	const struct lat_minute *lm;
};

static int format_line(struct store *st, const struct store_format_ctx *c, const struct line_src *s)
{
	bool text = st->cfg.format == STORE_TEXT;
	char *p = st->line;
	size_t len = st->line_len;

	if (s->lm)
		return text ? store_format_latency_text(p, len, c, s->target, s->lm)
			    : store_format_latency_ndjson(p, len, c, s->target, s->lm);
	if (s->rec->kind == STORE_REC_EVENT)
		return text ? store_format_event_text(p, len, c, &s->rec->u.event)
			    : store_format_event_ndjson(p, len, c, &s->rec->u.event);
	return text ? store_format_text(p, len, c, &s->rec->u.result)
		    : store_format_ndjson(p, len, c, &s->rec->u.result);
}

static int grow_line(struct store *st)
{
	char *p;

	if (st->line_len >= STORE_LINE_MAX)
		return -ENOSPC;
	p = realloc(st->line, 2 * st->line_len);
	if (!p)
		return -ENOMEM;
	st->line = p;
	st->line_len *= 2;
	return 0;
}

static void write_line(struct store *st, const struct line_src *s)
{
	struct store_format_ctx c = {
		.table = st->table,
		.location = st->cfg.location,
		.run_id = st->cfg.run_id,
		.with_group = st->cfg.with_group,
	};
	int n;

	while ((n = format_line(st, &c, s)) == -ENOSPC && grow_line(st) == 0)
		;
	if (n < 0) {
		c.table = NULL; /* a few hundred bytes without names and labels */
		n = format_line(st, &c, s);
	}
	if (n > 0 && fwrite(st->line, 1, (size_t)n, st->cfg.out) != (size_t)n)
		note_error(st, errno);
}

static void write_rec(struct store *st, const struct store_rec *rec)
{
	if (st->cfg.format != STORE_NONE)
		write_line(st, &(struct line_src){ .rec = rec });
	if (st->minutes && rec->kind == STORE_REC_RESULT)
		minutes_add(st->minutes, &rec->u.result); /* -ENOMEM: counted, the line is out */
	atomic_fetch_add_explicit(&st->written, 1, memory_order_relaxed);
}

static void write_minute(void *ctx, uint32_t target, const struct lat_minute *lm)
{
	write_line(ctx, &(struct line_src){ .target = target, .lm = lm });
}

static void adopt_latest_table(struct store *st)
{
	/* the main thread publishes the first table before starting us; if it
	 * did not, lines carry target ids until it does */
	if (atomic_load_explicit(&st->cfg.tables->latest, memory_order_acquire))
		st->table = table_pub_latest(st->cfg.tables);
}

static size_t drain(struct store *st)
{
	size_t n, total = 0;

	while ((n = ring_pop(st->recs, st->batch, STORE_BATCH)) > 0) {
		/* a record's target id is in the table published before it was sent */
		adopt_latest_table(st);
		for (size_t i = 0; i < n; i++)
			write_rec(st, &st->batch[i]);
		total += n;
	}
	return total;
}

static void *store_main(void *arg)
{
	struct store *st = arg;
	uint64_t next_flush = clock_mono_ns() + STORE_FLUSH_EVERY_NS;

	for (;;) {
		bool stopping = atomic_load(&st->stop);
		size_t n = drain(st);
		if (st->minutes && clock_mono_ns() >= next_flush) {
			adopt_latest_table(st);
			minutes_flush(st->minutes, clock_real_ns(), write_minute, st);
			next_flush = clock_mono_ns() + STORE_FLUSH_EVERY_NS;
		}
		if (n == 0) {
			if (stopping)
				break;
			/* idle: flush so that a reader of a pipe sees lines promptly */
			fflush(st->cfg.out);
			struct timespec ts = { 0, 2 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	drain(st);
	if (st->minutes) {
		struct minutes_stats ms;

		adopt_latest_table(st);
		minutes_flush_all(st->minutes, write_minute, st);
		minutes_stats(st->minutes, &ms);
		if (ms.late || ms.nomem)
			log_info("latency records left out %llu late results and %llu for want of memory",
				 (unsigned long long)ms.late, (unsigned long long)ms.nomem);
	}
	if (fflush(st->cfg.out) != 0)
		note_error(st, errno);
	return NULL;
}

int store_start(struct store *st)
{
	int r = pthread_create(&st->thread, NULL, store_main, st);
	if (r)
		return -r;
	st->running = true;
	return 0;
}

void store_stop(struct store *st)
{
	if (!st || !st->running)
		return;
	atomic_store(&st->stop, true);
	pthread_join(st->thread, NULL);
	st->running = false;
}

void store_free(struct store *st)
{
	if (!st)
		return;
	store_stop(st);
	minutes_free(st->minutes);
	free(st->line);
	free(st);
}

uint64_t store_written(const struct store *st)
{
	return atomic_load_explicit(&st->written, memory_order_relaxed);
}

int store_error(const struct store *st)
{
	return atomic_load(&st->error);
}
