/* The store thread: drains the ring of results and events and writes them
 * to the stdout sink, with a latency line per target and minute. It never
 * drops a record: a line that does not fit grows the line buffer, and one
 * that still cannot be formatted goes out without the target's names.
 *
 * With Redis it also formats each record as Redis commands (redis-fmt.c)
 * and pushes what one drain produced into the backlog in one go; the
 * Redis writer thread (redis.c) takes it from there. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/ring.h"
#include "common/thread.h"
#include "scheduler/table.h"
#include "store/backlog.h"
#include "store/format.h"
#include "store/histo.h"
#include "store/minutes.h"
#include "store/redis-fmt.h"
#include "store/redis-url.h"
#include "store/redis.h"
#include "store/resume.h"
#include "store/runtime.h"
#include "store/store.h"

#define STORE_BATCH 256
#define STORE_LINE_MIN 4096
/* labels and names come from the config and -T files; past this a line
 * goes out without them rather than needing ever more memory */
#define STORE_LINE_MAX (1 << 20)
#define STORE_FLUSH_EVERY_NS NSEC_PER_SEC

#define DETAILS_MAX 64 /* events' texts waiting for their events */

struct store {
	struct store_config cfg;
	struct ring *recs;
	struct ring *xrecs;          /* NULL: no service checks */
	struct store_xrec xbuf;
	struct {
		uint64_t event_id;
		char text[CHECK_TEXT_MAX + 64];
	} details[DETAILS_MAX];
	size_t n_details;
	struct minutes *minutes;   /* NULL without latency lines */
	const struct table *table; /* the latest generation (store thread) */
	struct thread_loop loop;
	_Atomic uint64_t written;
	_Atomic int error;
	char *line;
	size_t line_len;
	struct store_rec batch[STORE_BATCH];
	/* Redis (all NULL without) */
	struct store_redis_config redis;
	struct rfmt *rfmt;
	struct backlog *bl;
	struct redis_writer *writer;
	struct bl_stage stage;
	char spill_path[4096];
	char url_text[1024];
	bool redis_failed;          /* logged once: a record could not be formatted for Redis */
	struct histo *histo;        /* monitoring: handshake histograms per group */
	char *per_target;           /* JSON array of the table's groups with metrics: per_target */
};

static bool stdout_minutes(const struct store *st)
{
	return st->cfg.latency_records && st->cfg.format != STORE_NONE;
}

/* The backlog, the formatter and the writer. */
static int redis_open(struct store *st, const struct store_redis_config *rc)
{
	struct redis_writer_config wc = { 0 };
	char err[4200];
	int r;

	st->redis = *rc;
	if (!st->redis.prefix)
		st->redis.prefix = STORE_DEFAULT_PREFIX;
	if (!st->redis.results_maxlen)
		st->redis.results_maxlen = STORE_DEFAULT_RESULTS_MAXLEN;
	if (!st->redis.events_maxlen)
		st->redis.events_maxlen = STORE_DEFAULT_EVENTS_MAXLEN;
	if (!st->redis.latency_retention_s)
		st->redis.latency_retention_s = STORE_DEFAULT_LATENCY_RETENTION_S;
	if (!st->redis.backlog_memory)
		st->redis.backlog_memory = STORE_DEFAULT_BACKLOG_MEMORY;
	if (!st->redis.spill_max)
		st->redis.spill_max = STORE_DEFAULT_SPILL_MAX;
	if (!st->redis.flush_ns)
		st->redis.flush_ns = STORE_DEFAULT_FLUSH_NS;
	redis_url_redact(rc->url, st->url_text, sizeof(st->url_text));
	if ((r = redis_url_check(rc->url, err, sizeof(err))) < 0 ||
	    (r = redis_url_parse(&wc.url, rc->url, err, sizeof(err))) < 0) {
		log_error("redis URL '%s': %s", st->url_text, err);
		return r;
	}
	if (rc->spill_path)
		snprintf(st->spill_path, sizeof(st->spill_path), "%s", rc->spill_path);
	else
		snprintf(st->spill_path, sizeof(st->spill_path), "/var/tmp/synwatch-spill-%s.log", rc->location);
	if ((r = backlog_open(&st->bl, st->spill_path, st->redis.backlog_memory,
			      (uint64_t)(clock_real_ns() / NSEC_PER_USEC), err, sizeof(err))) < 0) {
		log_error("%s", err);
		return r;
	}
	backlog_set_file_limit(st->bl, st->redis.spill_max);
	struct rfmt_config fc = {
		.prefix = st->redis.prefix,
		.location = rc->location,
		.prober = rc->prober,
		.run_id = st->cfg.run_id,
		.results_maxlen = st->redis.results_maxlen,
		.events_maxlen = st->redis.events_maxlen,
		.latency_retention_s = st->redis.latency_retention_s,
		.monitoring = rc->monitoring,
		.shard = rc->shard,
	};
	wc.url_text = st->url_text;
	wc.fmt = fc;
	wc.host = rc->host;
	wc.version = rc->version;
	wc.started_s = clock_real_ns() / NSEC_PER_SEC;
	wc.rate = rc->rate;
	wc.runtime = rc->runtime;
	wc.flush_ns = st->redis.flush_ns;
	if ((r = rfmt_new(&st->rfmt, &fc)) < 0 || (r = redis_writer_new(&st->writer, &wc, st->bl)) < 0) {
		log_error("cannot set up the redis writer: %s", strerror(-r));
		return r;
	}
	struct backlog_stats bs;
	backlog_get_stats(st->bl, &bs);
	if (bs.replay)
		log_info("redis: %llu records a previous run left in '%s' go out first", (unsigned long long)bs.replay,
			 st->spill_path);
	return 0;
}

int store_new(struct store **out, const struct store_config *cfg, struct ring *recs, struct ring *xrecs)
{
	struct store *st;
	int r = -ENOMEM;

	*out = NULL;
	if (!cfg->tables) {
		log_error("cannot set up the store: no target table");
		return -EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		log_error("cannot set up the store: out of memory");
		return -ENOMEM;
	}
	st->cfg = *cfg;
	st->recs = recs;
	st->xrecs = xrecs;
	st->line_len = STORE_LINE_MIN;
	st->line = malloc(st->line_len);
	if (!st->line)
		goto out;
	if (cfg->redis && (r = redis_open(st, cfg->redis)) < 0) {
		store_free(st); /* redis_open said why */
		return r;
	}
	/* nothing would read the records without a reader */
	if ((stdout_minutes(st) || (st->rfmt && st->redis.monitoring)) && (r = minutes_new(&st->minutes)) < 0)
		goto out;
	if (st->rfmt && st->redis.monitoring && (r = histo_new(&st->histo)) < 0)
		goto out;
	*out = st;
	return 0;
out:
	if (r == -ENOMEM)
		log_error("cannot set up the store: out of memory");
	store_free(st);
	return r;
}

int store_resume(struct store *st, const struct table *t, struct state_saved *saved)
{
	struct backlog_stats bs;
	char err[1400];
	int n = 0, r;

	if (!st->rfmt || !st->redis.monitoring)
		return 0;
	backlog_get_stats(st->bl, &bs);
	if (bs.replay) {
		log_info("redis: every target starts unknown: the previous run's last records wait in '%s'",
			 st->spill_path);
		return 0;
	}
	struct resume_config rc = {
		.url = st->redis.url,
		.url_text = st->url_text,
		.prefix = st->redis.prefix,
		.location = st->redis.location,
		.timeout_ms = 2000,
		.budget_ns = STORE_RESUME_BUDGET_NS,
	};
	if ((r = resume_read(&rc, t, saved, err, sizeof(err))) < 0)
		log_warn("%s; the targets not read start unknown", err);
	/* what was read before a failure holds all the same */
	for (size_t id = 0; id < t->tl.n; id++)
		n += saved[id].state != TARGET_UNKNOWN;
	if (n && rfmt_resume(st->rfmt, t, saved) < 0) {
		log_error("cannot resume the states: out of memory; every target starts unknown");
		memset(saved, 0, t->tl.n * sizeof(*saved));
		return 0;
	}
	return n;
}

static void note_error(struct store *st, int err)
{
	int expected = 0;
	atomic_compare_exchange_strong(&st->error, &expected, err ? err : EIO);
}

/* What a line is made of: a record of the ring, a finished minute, or a
 * service check's result. */
struct line_src {
	const struct store_rec *rec;
	uint32_t target;
	const struct lat_minute *lm;
	const struct store_xrec *check;
};

static int format_line(struct store *st, const struct store_format_ctx *c, const struct line_src *s)
{
	bool text = st->cfg.format == STORE_TEXT;
	char *p = st->line;
	size_t len = st->line_len;

	if (s->lm)
		return text ? store_format_latency_text(p, len, c, s->target, s->lm)
			    : store_format_latency_ndjson(p, len, c, s->target, s->lm);
	if (s->check)
		return text ? store_format_check_text(p, len, c, &s->check->u.check, s->check->verdict,
						      s->check->days_left)
			    : store_format_check_ndjson(p, len, c, &s->check->u.check, s->check->verdict,
						       s->check->days_left);
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

static void write_line(struct store *st, const struct line_src *s, const char *detail)
{
	struct store_format_ctx c = {
		.table = st->table,
		.location = st->cfg.location,
		.run_id = st->cfg.run_id,
		.with_group = st->cfg.with_group,
		.detail = detail,
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

static void redis_note(struct store *st, int r)
{
	if (r < 0 && !st->redis_failed)
		log_error("redis: out of memory formatting records: some are not written to redis");
	st->redis_failed |= r < 0;
}

/* Each group's histogram increments since the last status (a second), a
 * frame per group that has any. */
static void histo_write(struct store *st)
{
	struct histo_delta d;

	for (size_t i = 0; st->histo && histo_delta(st->histo, i, &d); i++) {
		int r = rfmt_histo(st->rfmt, &st->stage, &d);
		redis_note(st, r);
		if (r == 0)
			histo_taken(st->histo, i);
	}
}

/* A handshake answer counts into its group's histogram. */
static void histo_count(struct store *st, const struct probe_result *r)
{
	if (!st->histo || !st->table || r->rtt_ns < 0 || (r->state != PROBE_OPEN && r->state != PROBE_CLOSED) ||
	    r->target >= st->table->tl.n)
		return;
	histo_add(st->histo, st->table->group_of[r->target], r->rtt_ns);
}

/* The histograms' groups and the heartbeat's list of the groups that asked
 * for per-target metrics, from a new table. */
static void histo_table(struct store *st, const struct table *t)
{
	const char **names = calloc(t->n_groups ? t->n_groups : 1, sizeof(*names));
	struct buf b = { 0 };
	bool first = true;

	if (!names) {
		redis_note(st, -ENOMEM);
		return;
	}
	buf_add(&b, "[", 1);
	for (size_t i = 0; i < t->n_groups; i++) {
		names[i] = t->groups[i].name;
		if (!t->groups[i].per_target || !names[i])
			continue;
		/* runtime targets' groups of their own repeat a name */
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = t->groups[k].per_target && t->groups[k].name && !strcmp(t->groups[k].name, names[i]);
		if (seen)
			continue;
		if (!first)
			buf_add(&b, ",", 1);
		first = false;
		json_put_str(&b, names[i]);
	}
	buf_add(&b, "]", 1);
	if (histo_set_groups(st->histo, names, t->n_groups) < 0 || b.nomem) {
		redis_note(st, -ENOMEM);
	} else {
		free(st->per_target);
		st->per_target = b.s;
		b.s = NULL;
	}
	buf_release(&b);
	free(names);
}

/* Formats a record of the ring for Redis into the stage. */
static void redis_rec(struct store *st, const struct store_rec *rec, const char *detail)
{
	switch (rec->kind) {
	case STORE_REC_RESULT:
		redis_note(st, rfmt_result(st->rfmt, &st->stage, &rec->u.result));
		break;
	case STORE_REC_EVENT:
		redis_note(st, rfmt_event_with(st->rfmt, &st->stage, &rec->u.event, detail));
		break;
	case STORE_REC_STATUS:
		histo_write(st);
		redis_writer_set_status(st->writer, &rec->u.status, st->per_target);
		break;
	case STORE_REC_REMOVED:
		redis_note(st, rfmt_removed(st->rfmt, &st->stage, rec->u.removed));
		break;
	}
}

/* A record of the second ring: a check's result is written now, an
 * event's text waits for its event. */
static void write_xrec(struct store *st, const struct store_xrec *x)
{
	if (x->kind == STORE_XREC_DETAIL) {
		if (st->n_details < DETAILS_MAX) {
			st->details[st->n_details].event_id = x->event_id;
			memcpy(st->details[st->n_details].text, x->u.text, sizeof(x->u.text));
			st->n_details++;
		}
		return;
	}
	if (st->cfg.format != STORE_NONE)
		write_line(st, &(struct line_src){ .check = x }, NULL);
	if (st->rfmt)
		redis_note(st, rfmt_check(st->rfmt, &st->stage, &x->u.check, x->verdict, x->days_left));
	atomic_fetch_add_explicit(&st->written, 1, memory_order_relaxed);
}

static size_t drain_x(struct store *st)
{
	size_t n = 0;

	while (st->xrecs && ring_pop(st->xrecs, &st->xbuf, 1) == 1) {
		write_xrec(st, &st->xbuf);
		n++;
	}
	return n;
}

/* The text of event id, pushed on the second ring before the event: it
 * is there by now. Returns it (until the next call), or NULL. */
static const char *take_detail(struct store *st, uint64_t id, char *out, size_t len)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < st->n_details; i++) {
			if (st->details[i].event_id != id)
				continue;
			snprintf(out, len, "%s", st->details[i].text);
			st->details[i] = st->details[--st->n_details];
			return out;
		}
		drain_x(st);
	}
	return NULL;
}

static void write_rec(struct store *st, const struct store_rec *rec)
{
	char detail[CHECK_TEXT_MAX + 64];
	const char *d = NULL;

	if (rec->kind != STORE_REC_RESULT && rec->kind != STORE_REC_EVENT) {
		if (st->rfmt)
			redis_rec(st, rec, NULL);
		return;
	}
	if (rec->kind == STORE_REC_EVENT && rec->u.event.detail)
		d = take_detail(st, rec->u.event.id, detail, sizeof(detail));
	if (st->cfg.format != STORE_NONE)
		write_line(st, &(struct line_src){ .rec = rec }, d);
	if (st->rfmt)
		redis_rec(st, rec, d);
	if (st->minutes && rec->kind == STORE_REC_RESULT)
		minutes_add(st->minutes, &rec->u.result); /* -ENOMEM: counted, the line is out */
	if (rec->kind == STORE_REC_RESULT)
		histo_count(st, &rec->u.result);
	atomic_fetch_add_explicit(&st->written, 1, memory_order_relaxed);
}

static void write_minute(void *ctx, uint32_t target, const struct lat_minute *lm)
{
	struct store *st = ctx;

	if (stdout_minutes(st))
		write_line(st, &(struct line_src){ .target = target, .lm = lm }, NULL);
	if (st->rfmt)
		redis_note(st, rfmt_latency(st->rfmt, &st->stage, target, lm));
}

/* Hands what the stage holds to the Redis writer. */
static void redis_push(struct store *st)
{
	if (st->rfmt && st->stage.n)
		backlog_push(st->bl, &st->stage); /* errors: logged and counted by the backlog */
}

static void adopt_latest_table(struct store *st)
{
	/* the main thread publishes the first table before starting us; if it
	 * did not, lines carry target ids until it does */
	if (!atomic_load_explicit(&st->cfg.tables->latest, memory_order_acquire))
		return;
	const struct table *t = table_pub_latest(st->cfg.tables);
	if (t != st->table && st->rfmt && rfmt_set_table(st->rfmt, t) < 0)
		redis_note(st, -ENOMEM);
	if (t != st->table && st->histo)
		histo_table(st, t);
	st->table = t;
}

static size_t drain(struct store *st)
{
	size_t n, total = 0;

	while ((n = ring_pop(st->recs, st->batch, STORE_BATCH)) > 0) {
		/* a record's target id is in the table published before it was sent */
		adopt_latest_table(st);
		for (size_t i = 0; i < n; i++)
			write_rec(st, &st->batch[i]);
		redis_push(st);
		total += n;
	}
	adopt_latest_table(st);
	total += drain_x(st);
	redis_push(st);
	return total;
}

static void *store_main(void *arg)
{
	struct store *st = arg;
	uint64_t next_flush = clock_mono_ns() + STORE_FLUSH_EVERY_NS;

	for (;;) {
		bool stopping = thread_loop_stopping(&st->loop);
		size_t n = drain(st);
		if (st->minutes && clock_mono_ns() >= next_flush) {
			adopt_latest_table(st);
			minutes_flush(st->minutes, clock_real_ns(), write_minute, st);
			redis_push(st);
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
	/* the answers since the last status: a stop loses none of them */
	histo_write(st);
	redis_push(st);
	if (st->minutes) {
		struct minutes_stats ms;

		adopt_latest_table(st);
		minutes_flush_all(st->minutes, write_minute, st);
		redis_push(st);
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
	int r;

	if (st->writer && (r = redis_writer_start(st->writer)) < 0)
		return r;
	return thread_loop_start(&st->loop, store_main, st, "sw-store");
}

void store_stop(struct store *st)
{
	if (!st)
		return;
	thread_loop_stop(&st->loop);
	/* after the store thread: everything it formatted is in the backlog */
	redis_writer_stop(st->writer);
}

void store_free(struct store *st)
{
	if (!st)
		return;
	store_stop(st);
	redis_writer_free(st->writer);
	backlog_free(st->bl);
	rfmt_free(st->rfmt);
	bl_stage_release(&st->stage);
	minutes_free(st->minutes);
	histo_free(st->histo);
	free(st->per_target);
	free(st->line);
	free(st);
}

bool store_runtime_take(struct store *st, struct runtime_set *out)
{
	return st->writer && redis_writer_take_runtime(st->writer, out);
}

bool store_members_take(struct store *st, struct shard_members *out)
{
	return st->writer && redis_writer_take_members(st->writer, out);
}

bool store_redis_stats(const struct store *st, struct store_redis_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!st->writer)
		return false;
	redis_writer_get_stats(st->writer, out);
	return true;
}

uint64_t store_written(const struct store *st)
{
	return atomic_load_explicit(&st->written, memory_order_relaxed);
}

int store_error(const struct store *st)
{
	return atomic_load(&st->error);
}
