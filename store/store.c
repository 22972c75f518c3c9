#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/ring.h"
#include "store/store.h"

#define STORE_BATCH 256

struct store {
	struct store_config cfg;
	struct ring *results;
	pthread_t thread;
	bool running;
	_Atomic bool stop;
	_Atomic uint64_t written;
	_Atomic int error;
	char line[4096];
};

int store_new(struct store **out, const struct store_config *cfg, struct ring *results)
{
	struct store *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st)
		return -ENOMEM;
	st->cfg = *cfg;
	st->results = results;
	*out = st;
	return 0;
}

static void write_one(struct store *st, const struct probe_result *r)
{
	const struct target *t = &st->cfg.targets->v[r->target];
	const char *name = target_name(st->cfg.targets, t);
	int n;

	if (st->cfg.format == STORE_NONE) {
		atomic_fetch_add_explicit(&st->written, 1, memory_order_relaxed);
		return;
	}
	if (st->cfg.format == STORE_NDJSON)
		n = store_format_ndjson(st->line, sizeof(st->line), r, t, name);
	else
		n = store_format_text(st->line, sizeof(st->line), r, t, name);
	if (n < 0) {
		/* only a pathological name can overflow 4 KiB: keep the result, drop the name */
		n = st->cfg.format == STORE_NDJSON ? store_format_ndjson(st->line, sizeof(st->line), r, t, NULL)
						   : store_format_text(st->line, sizeof(st->line), r, t, NULL);
	}
	if (n > 0 && fwrite(st->line, 1, (size_t)n, st->cfg.out) != (size_t)n) {
		int expected = 0;
		atomic_compare_exchange_strong(&st->error, &expected, errno ? errno : EIO);
	}
	atomic_fetch_add_explicit(&st->written, 1, memory_order_relaxed);
}

static size_t drain(struct store *st)
{
	struct probe_result batch[STORE_BATCH];
	size_t n, total = 0;

	while ((n = ring_pop(st->results, batch, STORE_BATCH)) > 0) {
		for (size_t i = 0; i < n; i++)
			write_one(st, &batch[i]);
		total += n;
	}
	return total;
}

static void *store_main(void *arg)
{
	struct store *st = arg;

	for (;;) {
		bool stopping = atomic_load(&st->stop);
		if (drain(st) == 0) {
			if (stopping)
				break;
			/* idle: flush so that a reader of a pipe sees results promptly */
			fflush(st->cfg.out);
			struct timespec ts = { 0, 2 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	drain(st);
	if (fflush(st->cfg.out) != 0) {
		int expected = 0;
		atomic_compare_exchange_strong(&st->error, &expected, errno ? errno : EIO);
	}
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
