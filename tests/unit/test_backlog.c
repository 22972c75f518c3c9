/* store/backlog.c: records keep their order through memory and the spill
 * file, sequence numbers only grow (across restarts too), a stop keeps
 * what was not written and the next start gives it out first, in order,
 * and a damaged or foreign file is handled. Temporary files only. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/backlog.h"

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	snprintf(x->dir, sizeof(x->dir), "/tmp/sw-backlog.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/spill.log", x->dir);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

static struct backlog *open_bl(const char *path, size_t mem, uint64_t now_us)
{
	struct backlog *bl;
	char err[512];

	if (backlog_open(&bl, path, mem, now_us, err, sizeof(err)) < 0)
		fail_msg("backlog_open: %s", err);
	return bl;
}

/* Stages record "rec-N" (one command of padding bytes) for each N in
 * [from, to): odd ones of kind odd, even ones of kind even. */
static void stage_as(struct bl_stage *s, int from, int to, size_t pad, enum bl_kind even, enum bl_kind odd)
{
	for (int i = from; i < to; i++) {
		assert_int_equal(bl_stage_begin(s), 0);
		assert_int_equal(bl_stage_reserve(s, 32 + pad), 0);
		s->len += (size_t)snprintf(s->buf + s->len, 32, "rec-%d|", i);
		memset(s->buf + s->len, 'x', pad);
		s->len += pad;
		bl_stage_end(s, 1, i % 2 ? odd : even);
	}
}

static void stage(struct bl_stage *s, int from, int to, size_t pad)
{
	stage_as(s, from, to, pad, BL_RESULT, BL_RESULT);
}

static int push(struct backlog *bl, int from, int to, size_t pad)
{
	struct bl_stage s = { 0 };
	int r;

	stage(&s, from, to, pad);
	r = backlog_push(bl, &s);
	assert_int_equal(s.n, 0);
	bl_stage_release(&s);
	return r;
}

static int rec_no(const struct bl_batch *b, size_t i)
{
	int n = -1;

	assert_int_equal(sscanf(b->data + b->items[i].off, "rec-%d|", &n), 1);
	return n;
}

/* Takes everything; checks the records are want_from.. in order with
 * ascending seqs. Returns how many. */
static int drain(struct backlog *bl, int want_from, uint64_t *last_seq, size_t max_items)
{
	struct bl_batch b = { 0 };
	int next = want_from;
	size_t n;

	while ((n = backlog_take(bl, &b, 0, 4096, max_items, 0)) > 0) {
		for (size_t i = 0; i < b.n; i++) {
			assert_int_equal(rec_no(&b, i), next);
			next++;
			if (last_seq) {
				assert_true(b.items[i].seq > *last_seq);
				*last_seq = b.items[i].seq;
			}
			assert_int_equal(b.items[i].ncmds, 1);
		}
		bl_batch_clear(&b);
	}
	bl_batch_release(&b);
	return next - want_from;
}

static void test_memory_order(void **state)
{
	struct fx *x = *state;
	struct backlog *bl = open_bl(x->path, 1 << 20, 1000);
	struct backlog_stats st;
	uint64_t seq = 0;

	assert_int_equal(push(bl, 0, 100, 10), 100);
	assert_int_equal(push(bl, 100, 150, 10), 50);
	backlog_get_stats(bl, &st);
	assert_int_equal(st.records, 150);
	assert_int_equal(st.spilled, 0);
	assert_int_equal(st.last_seq, 1000 + 149);
	assert_int_equal(drain(bl, 0, &seq, 7), 150);
	assert_int_equal(seq, 1149);
	backlog_get_stats(bl, &st);
	assert_int_equal(st.records, 0);
	/* nothing left: the file goes */
	assert_int_equal(backlog_persist(bl, NULL, 0), 0);
	backlog_free(bl);
	assert_int_equal(access(x->path, F_OK), -1);
}

static void test_spill_keeps_order(void **state)
{
	struct fx *x = *state;
	/* room for about 20 records of 1000 bytes */
	struct backlog *bl = open_bl(x->path, 20000, 1);
	struct backlog_stats st;
	struct bl_batch b = { 0 };
	uint64_t seq = 0;

	assert_int_equal(push(bl, 0, 100, 1000), 100);
	backlog_get_stats(bl, &st);
	assert_true(st.spilled >= 70);
	assert_int_equal(st.records, 100);
	/* the consumer takes some, the producer goes on: still the file, behind */
	assert_true(backlog_take(bl, &b, 0, 5000, 10, 0) > 0);
	assert_int_equal(rec_no(&b, 0), 0);
	int taken = (int)b.n;
	bl_batch_release(&b);
	assert_int_equal(push(bl, 100, 120, 1000), 20);
	assert_int_equal(drain(bl, taken, &seq, 13), 120 - taken);
	backlog_get_stats(bl, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.spilled, 0);
	/* drained: memory again */
	assert_int_equal(push(bl, 120, 121, 10), 1);
	backlog_get_stats(bl, &st);
	assert_int_equal(st.spilled, 0);
	assert_int_equal(drain(bl, 120, &seq, 10), 1);
	backlog_free(bl);
}

static void test_skip_upto(void **state)
{
	struct fx *x = *state;
	struct backlog *bl = open_bl(x->path, 1 << 20, 500);
	struct bl_batch b = { 0 };

	push(bl, 0, 10, 5);
	/* seqs 500..509: Redis has up to 504 */
	assert_int_equal(backlog_take(bl, &b, 504, 1 << 20, 100, 0), 5);
	assert_int_equal(rec_no(&b, 0), 5);
	bl_batch_skip_upto(&b, 507);
	assert_int_equal(bl_batch_count(&b), 2);
	assert_int_equal(b.items[b.first].seq, 508);
	bl_batch_release(&b);
	backlog_free(bl);
}

/* A stop with records in flight, in memory and in the file: the next start
 * gives them out in the original order, then new ones, with higher seqs. */
static void test_persist_and_replay(void **state)
{
	struct fx *x = *state;
	struct backlog *bl = open_bl(x->path, 30000, 100);
	struct bl_batch inflight = { 0 };
	struct backlog_stats st;
	uint64_t seq = 0;

	push(bl, 0, 60, 1000); /* about 30 in memory, the rest spilled */
	assert_true(backlog_take(bl, &inflight, 0, 4000, 4, 0) == 4);
	assert_int_equal(rec_no(&inflight, 0), 0);
	const struct bl_batch *unsent[] = { &inflight };
	assert_int_equal(backlog_persist(bl, unsent, 1), 60);
	backlog_free(bl);
	bl_batch_release(&inflight);

	/* the clock went back: seqs still continue after the file's */
	bl = open_bl(x->path, 30000, 5);
	backlog_get_stats(bl, &st);
	assert_int_equal(st.replay, 60);
	assert_int_equal(st.records, 60);
	assert_int_equal(st.spilled, 60);
	assert_int_equal(st.last_seq, 159);
	push(bl, 60, 70, 1000); /* behind the file's */
	assert_int_equal(drain(bl, 0, &seq, 9), 70);
	assert_int_equal(seq, 169);
	assert_int_equal(backlog_persist(bl, NULL, 0), 0);
	backlog_free(bl);

	/* a second stop and start with only part of the file drained */
	bl = open_bl(x->path, 1 << 20, 1000);
	push(bl, 0, 5, 10);
	push(bl, 5, 10, 10);
	struct bl_batch b = { 0 };
	assert_int_equal(backlog_take(bl, &b, 0, 1 << 20, 3, 0), 3);
	bl_batch_release(&b);
	assert_int_equal(backlog_persist(bl, NULL, 0), 7); /* the three taken were written */
	backlog_free(bl);
	bl = open_bl(x->path, 1 << 20, 1);
	seq = 0;
	assert_int_equal(drain(bl, 3, &seq, 2), 7);
	backlog_free(bl);
}

static void test_torn_and_foreign_files(void **state)
{
	struct fx *x = *state;
	struct backlog *bl = open_bl(x->path, 0, 1); /* no memory: straight to the file */
	struct backlog_stats st;
	struct backlog *other;
	char err[512];
	struct stat sb;
	int fd;

	push(bl, 0, 3, 100);
	backlog_get_stats(bl, &st);
	assert_int_equal(st.spilled, 3);
	/* a second synwatch on the same file */
	assert_int_equal(backlog_open(&other, x->path, 0, 1, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "in use by another synwatch"));
	backlog_free(bl); /* as if killed: no persist */

	/* torn last record */
	assert_int_equal(stat(x->path, &sb), 0);
	assert_int_equal(truncate(x->path, sb.st_size - 50), 0);
	bl = open_bl(x->path, 0, 1);
	backlog_get_stats(bl, &st);
	assert_int_equal(st.replay, 2);
	assert_int_equal(drain(bl, 0, NULL, 10), 2);
	backlog_free(bl);

	/* not ours */
	fd = open(x->path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello, world, this is not it\n", 29), 29);
	close(fd);
	assert_int_equal(backlog_open(&other, x->path, 0, 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a synwatch spill file"));

	/* cannot be created */
	assert_int_equal(backlog_open(&other, "/nonexistent-dir/spill.log", 0, 1, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open the spill file '/nonexistent-dir/spill.log'"));
	assert_non_null(strstr(err, "--spill"));
}

static void test_damaged_middle(void **state)
{
	struct fx *x = *state;
	struct backlog *bl = open_bl(x->path, 0, 1);
	struct backlog_stats st;
	struct bl_batch b = { 0 };
	int fd;

	push(bl, 0, 5, 100);
	/* overwrite the third record's header */
	fd = open(x->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "garbage!garbage!", 16, 32 + 2 * (24 + 106)), 16);
	close(fd);
	/* the two before it come out, the rest is counted lost */
	while (backlog_take(bl, &b, 0, 1 << 20, 100, 0) > 0)
		;
	assert_int_equal(b.n, 2);
	assert_int_equal(rec_no(&b, 1), 1);
	backlog_get_stats(bl, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.lost, 3);
	bl_batch_release(&b);
	backlog_free(bl);
}

static void test_stage(void **state)
{
	struct bl_stage s = { 0 };

	(void)state;
	stage(&s, 0, 2, 3);
	assert_int_equal(s.n, 2);
	/* an empty frame and a cancelled one leave nothing */
	assert_int_equal(bl_stage_begin(&s), 0);
	bl_stage_end(&s, 0, BL_RESULT);
	assert_int_equal(bl_stage_begin(&s), 0);
	s.len += 5;
	bl_stage_cancel(&s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.len, 2 * (sizeof(struct bl_frame) + 9));
	bl_stage_release(&s);
}

/* At the spill limit, results that only add history (BL_SAMPLE) are
 * dropped and counted; events are still kept, in order; once Redis has
 * drained the file, results are kept again. */
static void test_spill_limit(void **state)
{
	struct fx *x = *state;
	struct backlog *bl = open_bl(x->path, 4096, 1000);
	struct backlog_stats st;
	struct bl_stage s = { 0 };
	struct bl_batch b = { 0 };
	const uint64_t limit = 64 << 10;
	struct stat sb;

	backlog_set_file_limit(bl, limit);
	/* 2000 records of about 240 bytes: 480 KB, far past memory and limit */
	for (int i = 0; i < 2000; i += 100) {
		stage_as(&s, i, i + 100, 200, BL_SAMPLE, BL_EVENT);
		assert_true(backlog_push(bl, &s) > 0);
	}
	backlog_get_stats(bl, &st);
	assert_true(st.dropped > 0);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.records + st.dropped, 2000);
	assert_int_equal(stat(x->path, &sb), 0);
	/* the file holds up to the limit, then events only (half the rest) */
	assert_true((uint64_t)sb.st_size == st.file_bytes);
	assert_true(st.file_bytes <= limit + (2000 * 240 - limit) / 2 + 4096);
	assert_true(st.file_limit == limit);
	/* in order; every event there; the samples kept are the oldest ones */
	int next_even = 0, events = 0, last = -1;
	bool gap = false;
	while (backlog_take(bl, &b, 0, 1 << 20, 10000, 0) > 0) {
		for (size_t i = 0; i < b.n; i++) {
			int n = rec_no(&b, i);
			assert_true(n > last);
			last = n;
			if (n % 2) {
				assert_int_equal(b.items[i].kind, BL_EVENT);
				events++;
				continue;
			}
			assert_int_equal(b.items[i].kind, BL_SAMPLE);
			if (n != next_even)
				gap = true;
			assert_false(gap); /* no sample after the first one dropped */
			next_even = n + 2;
		}
		bl_batch_clear(&b);
	}
	assert_int_equal(events, 1000);
	assert_true(next_even / 2 + st.dropped == 1000);
	/* drained: the file starts over, and results are kept again */
	stage_as(&s, 2000, 2002, 200, BL_SAMPLE, BL_EVENT);
	assert_int_equal(backlog_push(bl, &s), 2);
	backlog_get_stats(bl, &st);
	assert_int_equal(st.records, 2);
	bl_batch_release(&b);
	bl_stage_release(&s);
	backlog_free(bl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stage),
		cmocka_unit_test_setup_teardown(test_memory_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spill_keeps_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skip_upto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_and_foreign_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spill_limit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
