/* The scheduler on a virtual clock: no sockets, no sleeping. Requests are
 * read from the ring as the sender would, reports and captured records are
 * made up by the test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/ring.h"
#include "scheduler/sched.h"

#define MAX_RESULTS 4096

struct fixture {
	struct target_list tl;
	struct sched_source sources[2];
	uint16_t *src_of;
	struct ring *reqs;
	struct sched *s;
	struct probe_result results[MAX_RESULTS];
	size_t n_results;
};

static void collect(void *ctx, const struct probe_result *r)
{
	struct fixture *f = ctx;
	assert_true(f->n_results < MAX_RESULTS);
	f->results[f->n_results++] = *r;
}

/* per-target parameters for continuous mode: odd targets time out after
 * 300 ms with no retry, even ones after 1 s with the fixture's retries */
static void params_odd_fast(void *ctx, uint32_t t, int64_t *timeout_ns, uint8_t *retries)
{
	(void)ctx;
	if (t % 2) {
		*timeout_ns = 300 * NSEC_PER_MSEC;
		*retries = 0;
	}
}

/* the wall clock the tests start at */
static const int64_t T0 = 1700000000LL * NSEC_PER_SEC;

static bool fixture_continuous;
static uint32_t fixture_per_dest;

static struct fixture *fixture_new(size_t n, uint8_t retries, size_t lookahead, uint64_t seed)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->tl.v = calloc(n, sizeof(*f->tl.v));
	f->tl.n = f->tl.cap = n;
	for (size_t i = 0; i < n; i++) {
		/* 198.18.x.y, port 80 */
		addr_from_v4(&f->tl.v[i].addr, htonl(0xc6120000u + (uint32_t)i));
		f->tl.v[i].port = 80;
		f->tl.v[i].name = TARGET_NO_NAME;
	}
	assert_int_equal(addr_parse(&f->sources[0].addr, "198.19.255.1"), 0);
	f->sources[1].err = ENETUNREACH;
	f->src_of = calloc(n, sizeof(*f->src_of));
	assert_int_equal(ring_new(&f->reqs, sizeof(struct probe_req), 8192), 0);
	struct sched_config cfg = {
		.port_lo = 61000,
		.port_hi = 61999,
		.retries = retries,
		.timeout_ns = NSEC_PER_SEC,
		.max_lookahead = lookahead,
		.order_seed = seed,
		.emit = collect,
		.emit_ctx = f,
		.continuous = fixture_continuous,
		.per_dest_pps = fixture_per_dest,
		.params = fixture_continuous ? params_odd_fast : NULL,
	};
	assert_int_equal(sched_new(&f->s, &cfg, &f->tl, f->sources, f->src_of), 0);
	return f;
}

/* n targets in continuous mode (params_odd_fast), one retry. */
static struct fixture *fixture_continuous_new(size_t n)
{
	fixture_continuous = true;
	struct fixture *f = fixture_new(n, 1, 64, 0);
	fixture_continuous = false;
	return f;
}

/* The fixture's targets were edited: a new scheduler over them. */
static int sched_set_targets_for_test(struct fixture *f)
{
	struct sched_config cfg = {
		.port_lo = 61000, .port_hi = 61999, .retries = 0, .timeout_ns = NSEC_PER_SEC, .max_lookahead = 64,
		.emit = collect, .emit_ctx = f, .per_dest_pps = 10,
	};
	sched_free(f->s);
	return sched_new(&f->s, &cfg, &f->tl, f->sources, f->src_of);
}

static void fixture_free(struct fixture *f)
{
	sched_free(f->s);
	ring_free(f->reqs);
	free(f->src_of);
	free(f->tl.v);
	free(f);
}

static size_t take_reqs(struct fixture *f, struct probe_req *out, size_t max)
{
	return ring_pop(f->reqs, out, max);
}

static void report_sent(struct fixture *f, uint64_t seq, uint32_t count, uint64_t mono, int64_t real)
{
	struct send_report r = { .kind = SEND_REPORT_SENT, .seq = seq, .count = count, .ts_mono_ns = mono,
				 .ts_real_ns = real };
	sched_on_report(f->s, &r);
}

/* Releases at mono (the wall clock at real) exactly one request, the only
 * one in the ring then, and takes it into *q. */
static void release_one(struct fixture *f, uint64_t mono, int64_t real, struct probe_req *q)
{
	struct probe_req got[8];

	assert_int_equal(sched_release(f->s, f->reqs, mono, real), 1);
	assert_int_equal(take_reqs(f, got, 8), 1);
	*q = got[0];
}

/* Starts a check of target t and releases its request, the first SYN, as
 * release_one does. */
static void start_one(struct fixture *f, uint32_t t, uint64_t mono, int64_t real, struct probe_req *q)
{
	assert_true(sched_start(f->s, t));
	release_one(f, mono, real, q);
}

static struct capture_rec rec_for(const struct fixture *f, const struct probe_req *q, enum capture_kind kind,
				  int64_t ts)
{
	struct capture_rec c = {
		.ts_real_ns = ts,
		.local = f->sources[0].addr,
		.remote = q->dst,
		.local_port = q->sport,
		.remote_port = q->dport,
		.kind = (uint8_t)kind,
		.attempt = q->attempt,
		.ttl = kind == CAPTURE_SYN_OUT ? 0 : 61,
	};
	return c;
}

/* The capture saw kind for request q at ts: the scheduler is told. */
static void on_capture(struct fixture *f, const struct probe_req *q, enum capture_kind kind, int64_t ts)
{
	struct capture_rec c = rec_for(f, q, kind, ts);
	sched_on_capture(f->s, &c);
}

static const struct probe_result *result_of(const struct fixture *f, uint32_t target)
{
	for (size_t i = 0; i < f->n_results; i++)
		if (f->results[i].target == target)
			return &f->results[i];
	return NULL;
}

static void test_open_closed_filtered(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(3, 1, 64, 0);
	struct probe_req q[8];

	assert_int_equal(sched_release(f->s, f->reqs, 0, T0), 3);
	assert_int_equal(take_reqs(f, q, 8), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(q[i].seq, (uint64_t)i);
		assert_int_equal(q[i].target, (uint32_t)i);
		assert_int_equal(q[i].attempt, 0);
		assert_true(q[i].sport >= 61000 && q[i].sport <= 61999);
		assert_int_equal(q[i].sport, sched_sport(f->s, (uint32_t)i, 0));
	}
	report_sent(f, 0, 3, 1000, T0 + 1000);

	/* target 0: SYN seen on the wire, then SYN-ACK: exact RTT */
	on_capture(f, &q[0], CAPTURE_SYN_OUT, T0 + 1500);
	on_capture(f, &q[0], CAPTURE_SYNACK, T0 + 1500 + 123456);
	const struct probe_result *r = result_of(f, 0);
	assert_non_null(r);
	assert_int_equal(r->state, PROBE_OPEN);
	assert_int_equal(r->rtt_ns, 123456);
	assert_int_equal(r->rtt_approx, 0);
	assert_int_equal(r->ttl, 61);

	/* a second SYN-ACK for the same check is a duplicate, not a result */
	on_capture(f, &q[0], CAPTURE_SYNACK, T0 + 1500 + 123456);
	assert_int_equal(f->n_results, 1);

	/* target 1: RST without our SYN seen: RTT from the sender's stamp, flagged */
	on_capture(f, &q[1], CAPTURE_RST, T0 + 1000 + 5000);
	r = result_of(f, 1);
	assert_non_null(r);
	assert_int_equal(r->state, PROBE_CLOSED);
	assert_int_equal(r->rtt_ns, 5000);
	assert_int_equal(r->rtt_approx, 1);

	/* target 2: nothing; after the timeout a retransmission on another port */
	sched_expire(f->s, 1000 + NSEC_PER_SEC - 1, T0);
	assert_int_equal(sched_release(f->s, f->reqs, 0, T0), 0);
	sched_expire(f->s, 1000 + NSEC_PER_SEC, T0);
	release_one(f, 0, T0, &q[3]);
	assert_int_equal(q[3].target, 2);
	assert_int_equal(q[3].attempt, 1);
	assert_int_equal(q[3].seq, 3);
	assert_int_not_equal(q[3].sport, q[2].sport);
	report_sent(f, 3, 1, 2 * NSEC_PER_SEC, T0 + 2 * NSEC_PER_SEC);
	assert_null(result_of(f, 2));
	sched_expire(f->s, 3 * NSEC_PER_SEC, T0 + 3 * NSEC_PER_SEC);
	r = result_of(f, 2);
	assert_non_null(r);
	assert_int_equal(r->state, PROBE_FILTERED);
	assert_int_equal(r->attempt, 1);
	assert_int_equal(r->rtt_ns, -1);
	assert_true(sched_done(f->s));

	struct sched_stats st;
	sched_get_stats(f->s, &st);
	assert_int_equal(st.duplicate, 1);
	assert_int_equal(st.retransmits, 1);
	assert_int_equal(st.results[PROBE_OPEN], 1);
	assert_int_equal(st.results[PROBE_CLOSED], 1);
	assert_int_equal(st.results[PROBE_FILTERED], 1);
	fixture_free(f);
}

static void test_late_reply_to_first_attempt(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1, 2, 64, 0);
	struct probe_req q[4];

	sched_release(f->s, f->reqs, 0, T0);
	take_reqs(f, q, 1);
	report_sent(f, 0, 1, 0, T0);
	on_capture(f, &q[0], CAPTURE_SYN_OUT, T0 + 10);
	sched_expire(f->s, NSEC_PER_SEC, T0 + NSEC_PER_SEC);
	sched_release(f->s, f->reqs, 0, T0);
	take_reqs(f, q + 1, 1);
	assert_int_equal(q[1].attempt, 1);
	/* the answer to attempt 0 arrives after attempt 1 left: the RTT is
	 * attempt 0's, measured from attempt 0's stamp */
	on_capture(f, &q[0], CAPTURE_SYNACK, T0 + 10 + 1200 * NSEC_PER_MSEC);
	const struct probe_result *r = result_of(f, 0);
	assert_non_null(r);
	assert_int_equal(r->attempt, 0);
	assert_int_equal(r->rtt_ns, 1200 * NSEC_PER_MSEC);
	/* the report for attempt 1 arriving afterwards changes nothing */
	report_sent(f, 1, 1, NSEC_PER_SEC, T0 + NSEC_PER_SEC);
	sched_expire(f->s, 10 * NSEC_PER_SEC, T0);
	assert_int_equal(f->n_results, 1);
	assert_true(sched_done(f->s));
	fixture_free(f);
}

static void test_stale_and_foreign_replies(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(2, 1, 64, 0);
	struct probe_req q[2];

	sched_release(f->s, f->reqs, 0, 0);
	take_reqs(f, q, 2);
	report_sent(f, 0, 2, 0, 0);
	/* wrong source port for the attempt: stale */
	struct capture_rec c = rec_for(f, &q[0], CAPTURE_SYNACK, 100);
	c.local_port = (uint16_t)(q[0].sport == 61999 ? 61000 : q[0].sport + 1);
	sched_on_capture(f->s, &c);
	/* an attempt not sent yet: stale */
	c = rec_for(f, &q[0], CAPTURE_SYNACK, 100);
	c.attempt = 1;
	sched_on_capture(f->s, &c);
	/* an address we never probed */
	c = rec_for(f, &q[1], CAPTURE_RST, 100);
	addr_parse(&c.remote, "198.18.200.1");
	sched_on_capture(f->s, &c);
	/* a different local address than the route's */
	c = rec_for(f, &q[1], CAPTURE_RST, 100);
	addr_parse(&c.local, "198.19.255.9");
	sched_on_capture(f->s, &c);
	assert_int_equal(f->n_results, 0);
	struct sched_stats st;
	sched_get_stats(f->s, &st);
	assert_int_equal(st.stale, 3);
	assert_int_equal(st.unknown, 1);
	fixture_free(f);
}

static void test_errors(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(3, 1, 64, 0);
	struct probe_req q[4];

	f->src_of[1] = 1; /* no route */
	assert_int_equal(sched_release(f->s, f->reqs, 0, 0), 2);
	take_reqs(f, q, 4);
	const struct probe_result *r = result_of(f, 1);
	assert_non_null(r);
	assert_int_equal(r->state, PROBE_ERROR);
	assert_int_equal(r->err, ENETUNREACH);
	/* the sender could not send request 1 (target 2) */
	report_sent(f, 0, 1, 0, 0);
	struct send_report fr = { .kind = SEND_REPORT_FAILED, .seq = 1, .err = EPERM };
	sched_on_report(f->s, &fr);
	r = result_of(f, 2);
	assert_non_null(r);
	assert_int_equal(r->state, PROBE_ERROR);
	assert_int_equal(r->err, EPERM);
	fixture_free(f);
}

static void test_lookahead_and_order(void **state)
{
	(void)state;
	enum { N = 1000 };
	struct fixture *f = fixture_new(N, 0, 100, 12345);
	static struct probe_req q[N];
	static unsigned char seen[N];
	size_t got = 0;
	uint64_t seq = 0;

	while (got < N) {
		size_t n = sched_release(f->s, f->reqs, 0, 0);
		assert_true(n <= 100);
		size_t k = take_reqs(f, q, N);
		assert_int_equal(k, n);
		/* nothing more until reported */
		assert_int_equal(sched_release(f->s, f->reqs, 0, 0), 0);
		for (size_t i = 0; i < k; i++) {
			assert_int_equal(q[i].seq, seq + i);
			assert_int_equal(seen[q[i].target], 0);
			seen[q[i].target] = 1;
		}
		report_sent(f, seq, (uint32_t)k, 0, 0);
		seq += k;
		got += k;
	}
	/* a permutation, not list order */
	assert_int_not_equal(q[1].target, q[0].target + 1);
	sched_expire(f->s, 2 * NSEC_PER_SEC, 0);
	assert_int_equal(f->n_results, N);
	assert_true(sched_done(f->s));
	fixture_free(f);
}

static void test_stop_new(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(10, 1, 4, 0);
	struct probe_req q[10];

	assert_int_equal(sched_release(f->s, f->reqs, 0, 0), 4);
	take_reqs(f, q, 10);
	report_sent(f, 0, 4, 0, 0);
	sched_stop_new(f->s);
	assert_int_equal(sched_release(f->s, f->reqs, 0, 0), 0);
	assert_false(sched_done(f->s));
	/* in-flight checks still end as they would have: their
	 * retransmissions go out, nothing new starts */
	sched_expire(f->s, NSEC_PER_SEC, 0);
	assert_int_equal(f->n_results, 0);
	assert_int_equal(sched_release(f->s, f->reqs, NSEC_PER_SEC, 0), 4);
	assert_int_equal(take_reqs(f, q, 10), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(q[i].attempt, 1);
	report_sent(f, 4, 4, NSEC_PER_SEC, 0);
	assert_false(sched_done(f->s));
	sched_expire(f->s, 2 * NSEC_PER_SEC, 0);
	assert_int_equal(f->n_results, 4);
	assert_int_equal(f->results[0].state, PROBE_FILTERED);
	assert_int_equal(f->results[0].attempt, 1);
	assert_true(sched_done(f->s));
	struct sched_stats st;
	sched_get_stats(f->s, &st);
	assert_int_equal(st.pending, 6);
	fixture_free(f);
}

/* Continuous mode: nothing goes out unless started; a finished target can
 * be started again; per-target timeouts and retries; a busy target refuses
 * a second start; the target list grows. */
static void test_continuous(void **state)
{
	(void)state;
	struct fixture *f = fixture_continuous_new(4);
	struct probe_req q[8];

	assert_int_equal(sched_release(f->s, f->reqs, 0, T0), 0);
	assert_false(sched_done(f->s));
	assert_true(sched_start(f->s, 1));
	assert_true(sched_start(f->s, 2));
	assert_true(sched_busy(f->s, 1));
	assert_false(sched_start(f->s, 1)); /* queued already: an overrun */
	assert_false(sched_busy(f->s, 3));
	assert_int_equal(sched_release(f->s, f->reqs, 0, T0), 2);
	assert_int_equal(take_reqs(f, q, 8), 2);
	assert_int_equal(q[0].target, 1);
	assert_int_equal(q[1].target, 2);
	report_sent(f, 0, 2, 1000, T0);
	assert_false(sched_start(f->s, 2)); /* in flight */
	/* target 1 (odd): 300 ms, no retry -> filtered; target 2: still waiting */
	sched_expire(f->s, 1000 + 300 * NSEC_PER_MSEC, T0);
	assert_int_equal(f->n_results, 1);
	assert_int_equal(f->results[0].target, 1);
	assert_int_equal(f->results[0].state, PROBE_FILTERED);
	assert_int_equal(sched_release(f->s, f->reqs, 0, T0), 0);
	/* target 2 (even): 1 s, then a retransmission */
	sched_expire(f->s, 1000 + NSEC_PER_SEC, T0);
	release_one(f, 0, T0, q);
	assert_int_equal(q[0].target, 2);
	assert_int_equal(q[0].attempt, 1);
	report_sent(f, 2, 1, 2000, T0);
	on_capture(f, &q[0], CAPTURE_SYNACK, T0 + 777);
	assert_int_equal(f->n_results, 2);
	assert_int_equal(f->results[1].state, PROBE_OPEN);
	assert_int_equal(f->results[1].attempt, 1);
	/* both idle again: they start again, from attempt 0 */
	assert_false(sched_busy(f->s, 2));
	start_one(f, 2, 0, T0, q);
	assert_int_equal(q[0].attempt, 0);

	/* the list grows: the new target can start, the old check goes on */
	struct target *nv = realloc(f->tl.v, 6 * sizeof(*nv));
	assert_non_null(nv);
	f->tl.v = nv;
	for (size_t i = 4; i < 6; i++) {
		addr_from_v4(&f->tl.v[i].addr, htonl(0xc6130000u + (uint32_t)i));
		f->tl.v[i].port = 443;
		f->tl.v[i].name = TARGET_NO_NAME;
	}
	f->tl.n = f->tl.cap = 6;
	uint16_t *so = calloc(6, sizeof(*so));
	free(f->src_of);
	f->src_of = so;
	assert_int_equal(sched_set_targets(f->s, &f->tl, f->sources, f->src_of), 0);
	start_one(f, 5, 0, T0, q);
	assert_int_equal(q[0].target, 5);
	assert_int_equal(q[0].dport, 443);
	/* stopping: queued starts are dropped, in-flight ones finish */
	assert_true(sched_start(f->s, 0));
	sched_stop_new(f->s);
	assert_false(sched_start(f->s, 3));
	assert_int_equal(sched_release(f->s, f->reqs, 0, T0), 0);
	assert_false(sched_done(f->s)); /* 2 and 5 are in flight */
	report_sent(f, 3, 2, 3000, T0);
	/* target 2 (even) retries once even after the stop; 5 (odd) does not */
	sched_expire(f->s, UINT64_MAX / 4, T0);
	assert_false(sched_done(f->s));
	release_one(f, 0, T0, q);
	assert_int_equal(q[0].target, 2);
	assert_int_equal(q[0].attempt, 1);
	report_sent(f, 5, 1, UINT64_MAX / 4, T0);
	sched_expire(f->s, UINT64_MAX / 2, T0);
	assert_true(sched_done(f->s));
	fixture_free(f);
}

/* Issue 15: a late reply ends a check while its retransmission waits in the
 * queue (the lookahead was full). The queued retransmission must not go out
 * for the ended check, nor for the next check of the same target, and
 * stopping must not end the check a second time. */
static void test_late_reply_cancels_queued_retransmission(void **state)
{
	(void)state;
	struct fixture *f = fixture_continuous_new(2);
	struct probe_req q[8];

	/* target 0 (even): 1 s timeout, one retry */
	start_one(f, 0, 0, T0, q);
	report_sent(f, 0, 1, 1000, T0 + 1000);
	on_capture(f, &q[0], CAPTURE_SYN_OUT, T0 + 1500);
	/* the timeout queues a retransmission, not released yet */
	sched_expire(f->s, 1000 + NSEC_PER_SEC, T0 + NSEC_PER_SEC);
	/* the answer to attempt 0 arrives late: the check ends, open */
	on_capture(f, &q[0], CAPTURE_SYNACK, T0 + 1500 + 1100 * NSEC_PER_MSEC);
	assert_int_equal(f->n_results, 1);
	assert_int_equal(f->results[0].state, PROBE_OPEN);
	assert_int_equal(f->results[0].attempt, 0);
	assert_false(sched_busy(f->s, 0));
	/* the target's next check starts before the retransmission is popped */
	start_one(f, 0, 2 * NSEC_PER_SEC, T0 + 2 * NSEC_PER_SEC, q + 1);
	assert_int_equal(q[1].target, 0);
	assert_int_equal(q[1].attempt, 0); /* a first SYN, not the old check's retransmission */
	struct sched_stats st;
	sched_get_stats(f->s, &st);
	assert_int_equal(st.retransmits, 0);
	assert_int_equal(st.cancelled, 1);
	/* a reply to the old check's SYN (other source port) is stale */
	on_capture(f, &q[0], CAPTURE_SYNACK, T0 + 2 * NSEC_PER_SEC + 10);
	assert_int_equal(f->n_results, 1);
	report_sent(f, 1, 1, 2 * NSEC_PER_SEC, T0 + 2 * NSEC_PER_SEC);

	/* SIGINT: the queued start of 1 is dropped; 0's check goes on, its
	 * retransmission included, and ends once */
	assert_true(sched_start(f->s, 1)); /* odd: 300 ms, no retry */
	sched_stop_new(f->s);
	sched_expire(f->s, 3 * NSEC_PER_SEC, T0 + 3 * NSEC_PER_SEC);
	release_one(f, 3 * NSEC_PER_SEC, T0, &q[2]);
	assert_int_equal(q[2].target, 0);
	assert_int_equal(q[2].attempt, 1);
	report_sent(f, 2, 1, 3 * NSEC_PER_SEC, T0 + 3 * NSEC_PER_SEC);
	sched_expire(f->s, 10 * NSEC_PER_SEC, T0 + 10 * NSEC_PER_SEC);
	assert_int_equal(f->n_results, 2);
	assert_int_equal(f->results[1].target, 0);
	assert_int_equal(f->results[1].state, PROBE_FILTERED);
	assert_true(sched_done(f->s));
	fixture_free(f);
}

static void test_late_reply_then_stop(void **state)
{
	(void)state;
	struct fixture *f = fixture_continuous_new(1);
	struct probe_req q[4];

	start_one(f, 0, 0, T0, q);
	report_sent(f, 0, 1, 1000, T0 + 1000);
	sched_expire(f->s, 1000 + NSEC_PER_SEC, T0 + NSEC_PER_SEC);
	on_capture(f, &q[0], CAPTURE_RST, T0 + 1100 * NSEC_PER_MSEC);
	assert_int_equal(f->n_results, 1);
	sched_stop_new(f->s); /* the queued retransmission belongs to no check */
	assert_int_equal(f->n_results, 1);
	assert_int_equal(sched_release(f->s, f->reqs, 0, T0), 0);
	assert_true(sched_done(f->s));
	fixture_free(f);
}

/* A check that ends before its timeout leaves the timeout queued; the
 * target's next check, started before that instant, must not inherit it. */
static void test_old_timeout_spares_next_check(void **state)
{
	(void)state;
	struct fixture *f = fixture_continuous_new(1);
	struct probe_req q[4];

	start_one(f, 0, 0, T0, q);
	report_sent(f, 0, 1, 0, T0);
	on_capture(f, &q[0], CAPTURE_SYNACK, T0 + 10 * NSEC_PER_MSEC);
	assert_int_equal(f->n_results, 1);
	/* next check at 500 ms: its timeout is at 1.5 s, the old one's at 1 s */
	start_one(f, 0, 500 * NSEC_PER_MSEC, T0 + 500 * NSEC_PER_MSEC, q + 1);
	report_sent(f, 1, 1, 500 * NSEC_PER_MSEC, T0 + 500 * NSEC_PER_MSEC);
	sched_expire(f->s, NSEC_PER_SEC, T0 + NSEC_PER_SEC);
	assert_int_equal(sched_release(f->s, f->reqs, NSEC_PER_SEC, T0 + NSEC_PER_SEC), 0);
	sched_expire(f->s, 1500 * NSEC_PER_MSEC, T0 + 1500 * NSEC_PER_MSEC);
	release_one(f, 1500 * NSEC_PER_MSEC, T0, &q[2]);
	assert_int_equal(q[2].attempt, 1);
	fixture_free(f);
}

/* Per-destination pacing: five ports of one host at 10 probes/s to an
 * address go out 100 ms apart, while another host is not held back. */
static void test_per_dest_pacing(void **state)
{
	(void)state;
	fixture_per_dest = 10;
	struct fixture *f = fixture_new(6, 0, 64, 0);
	fixture_per_dest = 0;
	struct probe_req q[8];
	const uint64_t M0 = 1000 * NSEC_PER_SEC;

	/* targets 0-4: 198.18.0.0 ports 1-5; target 5: 198.18.0.5 */
	for (uint32_t i = 0; i < 5; i++) {
		f->tl.v[i].addr = f->tl.v[0].addr;
		f->tl.v[i].port = (uint16_t)(i + 1);
	}
	assert_int_equal(sched_set_targets_for_test(f), 0);
	assert_int_equal(sched_release(f->s, f->reqs, M0, T0), 2); /* host A once, host B */
	assert_int_equal(take_reqs(f, q, 8), 2);
	assert_int_equal(q[0].target, 0);
	assert_int_equal(q[1].target, 5);
	assert_false(sched_done(f->s));
	for (int k = 1; k <= 4; k++) {
		assert_int_equal(sched_release(f->s, f->reqs, M0 + (uint64_t)k * 100 * NSEC_PER_MSEC - 1, T0), 0);
		release_one(f, M0 + (uint64_t)k * 100 * NSEC_PER_MSEC, T0, q);
		assert_int_equal(q[0].dport, k + 1);
	}
	struct sched_stats st;
	sched_get_stats(f->s, &st);
	assert_int_equal(st.paced, 4);
	assert_int_equal(st.pending, 0);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_closed_filtered),
		cmocka_unit_test(test_late_reply_to_first_attempt),
		cmocka_unit_test(test_stale_and_foreign_replies),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_lookahead_and_order),
		cmocka_unit_test(test_stop_new),
		cmocka_unit_test(test_continuous),
		cmocka_unit_test(test_per_dest_pacing),
		cmocka_unit_test(test_late_reply_cancels_queued_retransmission),
		cmocka_unit_test(test_late_reply_then_stop),
		cmocka_unit_test(test_old_timeout_spares_next_check),
	};
	return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
