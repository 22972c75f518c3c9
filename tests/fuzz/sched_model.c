/* The scheduler against a model of itself: see sched_model.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ring.h"
#include "daemon/config.h"
#include "scheduler/monitor.h"
#include "scheduler/sched.h"
#include "scheduler/table.h"
#include "tests/fuzz/sched_model.h"

#define MAX_T 160            /* target ids, reload growth included */
#define LOG_N 2048           /* requests remembered, for replays and stamps */
#define NET_N 4096           /* packets on the simulated wire */
#define REL_N 256            /* sched_release calls remembered */
#define SENT_N 8192          /* SENT reports remembered (queue bound) */
#define MAX_STEPS 4000
#define REAL0 (1800000000LL * NSEC_PER_SEC)
#define MONO0 (10 * NSEC_PER_SEC)
#define EPOCHS 4             /* scheduler/sched.c: SCHED_EPOCHS */

enum mode { MODE_ONESHOT, MODE_CONTINUOUS, MODE_MONITOR, MODE_COUNT };

/* what a target does on the simulated wire */
enum behaviour { NET_OPEN, NET_CLOSED, NET_SILENT, NET_UNREACH, NET_SLOW, NET_LOSSY, NET_ECHO, NET_COUNT };

/* the call a result came out of */
enum ctx { CTX_NONE, CTX_RELEASE, CTX_REPORT_FAILED, CTX_CAPTURE, CTX_EXPIRE, CTX_STOP };

struct mpkt {                /* a request the sender took */
	uint64_t seq;
	struct sw_addr src, dst;
	uint32_t target, check;  /* check: the target's released-check number, from 1 */
	uint16_t sport, dport;
	uint8_t attempt;
	bool valid, reported, failed;
	int64_t user_real;       /* its SENT report's stamp */
	int64_t released_real;   /* now_real of the sched_release that released it */
	uint64_t taken_mono;     /* when the sender took it */
};

struct mtarget {
	bool open;               /* started, no result yet */
	bool maybe_gone;         /* queued when SIGINT came: dropped, unless it was in the ring */
	bool retrans_ok;         /* its last attempt timed out with retries left: a retransmission may go */
	bool rtt_unsure;         /* a stale reply of an earlier check (same ports) may have set a stamp */
	bool unsure_next;        /* ... of the check the sender has not taken yet */
	bool ghost_first;        /* a stale reply ended the check before the sender took its first SYN */
	int ghost_attempt;       /* the check ended with this retransmission perhaps in the ring; 0: none */
	uint32_t released;       /* checks whose first request the sender took */
	int last_attempt;        /* of the open check, taken by the sender; -1: none yet */
	bool last_reported;
	uint64_t deadline;       /* monotonic: the last attempt's timeout (when last_reported) */
	uint64_t seq_of[PROBE_MAX_ATTEMPT + 1];
	int64_t wire[PROBE_MAX_ATTEMPT + 1]; /* first SYN seen leaving, per attempt; 0: none */
	/* mode A's identity and parameters (mode B: the table's) */
	struct sw_addr addr;
	uint16_t port;
	uint16_t src;            /* index into sources */
	int64_t timeout_ns;
	uint8_t retries;
	uint8_t net, delay_k;    /* behaviour on the wire */
	bool foreign, dead;      /* mode B: another member's, removed by a reload */
	uint64_t changed_seq;    /* mode A: requests released before this one may carry its old address or source */
};

struct netev {
	uint64_t at;             /* monotonic */
	uint64_t seq;
	uint8_t kind;            /* enum capture_kind */
	bool used;
};

struct model {
	enum mode mode;
	struct sched *s;
	struct sched_config cfg;
	struct ring *reqs;
	struct monitor *mon;
	struct table *table;     /* mode B */
	struct target_list tl;   /* mode A */
	uint16_t *src_of;
	struct sched_source sources[3];
	uint32_t n;              /* targets (ids) */
	struct mtarget t[MAX_T];

	uint64_t now;            /* monotonic */
	uint64_t last_expire;
	int64_t last_cap_ts;
	uint64_t step;
	bool stopped;
	uint64_t released_at_stop;
	uint32_t n_epochs;
	int64_t max_timeout;     /* longest timeout ever in use */
	uint32_t next_addr;      /* mode A: fresh addresses for moved targets */

	struct mpkt log[LOG_N];
	uint64_t next_pop_seq;   /* the sender takes requests in order */
	uint64_t next_report_seq;
	struct netev net[NET_N];
	size_t net_hi;           /* entries at and above are unused */
	struct { uint64_t seq0, seq1; int64_t real; } rel[REL_N];
	size_t n_rel;
	struct { uint64_t mono; uint32_t count; } sent[SENT_N];
	size_t n_sent;

	/* the call under way, for the results it emits */
	enum ctx ctx;
	const struct mpkt *ctx_pkt;
	uint8_t ctx_kind;
	int64_t ctx_ts;
	int ctx_expect;          /* capture: 1 must accept, 0 must not, 2 may */
	unsigned ctx_results;

	uint8_t yaml_seed[64];   /* mode B: the bytes the config was made from */
	char *why;
	size_t whylen;
	bool failed;
};

/* SCHED_MODEL_TRACE=1: every step and result on stderr, to read a failure */
static int trace = -1;
#define TRACE(...)                                                          \
	do {                                                                \
		if (trace < 0)                                              \
			trace = getenv("SCHED_MODEL_TRACE") != NULL;        \
		if (trace)                                                  \
			fprintf(stderr, __VA_ARGS__);                       \
	} while (0)

struct rd {
	const uint8_t *p;
	size_t n, i;
};

static unsigned rd8(struct rd *r)
{
	return r->i < r->n ? r->p[r->i++] : 0;
}

static unsigned rd16(struct rd *r)
{
	return rd8(r) | rd8(r) << 8;
}

__attribute__((format(printf, 2, 3))) static void fail(struct model *m, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (m->failed)
		return;
	m->failed = true;
	k = snprintf(m->why, m->whylen, "mode %d step %llu: ", m->mode, (unsigned long long)m->step);
	if (k < 0 || (size_t)k >= m->whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(m->why + k, m->whylen - (size_t)k, fmt, ap);
	va_end(ap);
}

static int64_t real_of(uint64_t mono)
{
	return REAL0 + (int64_t)mono;
}

static const struct target *tg(const struct model *m, uint32_t id)
{
	return m->mode == MODE_MONITOR ? &m->table->tl.v[id] : &m->tl.v[id];
}

/* The scheduler's parameters for id, before its caps (main's target_params). */
static void raw_params(const struct model *m, uint32_t id, int64_t *timeout_ns, uint8_t *retries)
{
	if (m->mode == MODE_MONITOR) {
		const struct table_group *g = table_group_of(m->table, id);
		if (g) {
			*timeout_ns = g->timeout_ns;
			*retries = g->retries;
		}
	} else {
		*timeout_ns = m->t[id].timeout_ns;
		*retries = m->t[id].retries;
	}
}

static void params_cb(void *ctx, uint32_t id, int64_t *timeout_ns, uint8_t *retries)
{
	raw_params(ctx, id, timeout_ns, retries);
}

/* What the scheduler uses: capped at its configuration. */
static void eff_params(const struct model *m, uint32_t id, int64_t *timeout_ns, uint8_t *retries)
{
	*timeout_ns = m->cfg.timeout_ns;
	*retries = m->cfg.retries;
	if (m->cfg.params) {
		raw_params(m, id, timeout_ns, retries);
		if (*retries > m->cfg.retries)
			*retries = m->cfg.retries;
		if (*timeout_ns <= 0)
			*timeout_ns = m->cfg.timeout_ns;
	}
}

static const struct sched_source *source_of(const struct model *m, uint32_t id)
{
	return &m->sources[m->src_of[id]];
}

static struct mpkt *pkt(struct model *m, uint64_t seq)
{
	struct mpkt *p = &m->log[seq % LOG_N];
	return p->valid && p->seq == seq ? p : NULL;
}

static bool probe_ok_state(uint8_t kind, uint8_t state)
{
	switch (kind) {
	case CAPTURE_SYNACK:
	case CAPTURE_ECHO_REPLY:
		return state == PROBE_OPEN;
	case CAPTURE_RST:
		return state == PROBE_CLOSED;
	case CAPTURE_UNREACH:
		return state == PROBE_UNREACHABLE;
	}
	return false;
}

/* ---- results ---- */

static void on_result(void *ctx, const struct probe_result *r)
{
	struct model *m = ctx;
	uint32_t id = r->target;

	m->ctx_results++;
	TRACE("  result t%u %s attempt %u rtt %lld approx %u (ctx %d)\n", id, probe_state_name(r->state), r->attempt,
	      (long long)r->rtt_ns, r->rtt_approx, m->ctx);
	if (id >= m->n) {
		fail(m, "result for target %u of %u", id, m->n);
		return;
	}
	struct mtarget *mt = &m->t[id];
	if (!mt->open) {
		fail(m, "target %u: a result (%s, attempt %u) for a check that is not running: ended twice or never "
			"started", id, probe_state_name(r->state), r->attempt);
		return;
	}
	if (m->ctx_results > 1 && (m->ctx == CTX_CAPTURE || m->ctx == CTX_REPORT_FAILED)) {
		fail(m, "target %u: one record gave two results", id);
		return;
	}
	if (r->state != PROBE_OPEN && r->state != PROBE_CLOSED && r->state != PROBE_UNREACHABLE && r->rtt_ns != -1)
		fail(m, "target %u: %s with an RTT", id, probe_state_name(r->state));
	int64_t timeout;
	uint8_t retries;
	eff_params(m, id, &timeout, &retries);

	switch (m->ctx) {
	case CTX_CAPTURE: {
		const struct mpkt *p = m->ctx_pkt;
		if (m->ctx_expect == 3) {
			/* answered by an earlier check's SYN before its own left */
			if (!probe_ok_state(m->ctx_kind, r->state) || r->attempt != 0)
				fail(m, "target %u: a stale reply gave %s attempt %u approx %u", id,
				     probe_state_name(r->state), r->attempt, r->rtt_approx);
			break;
		}
		if (m->ctx_expect == 0) {
			fail(m, "target %u: accepted a reply it must not (check %u attempt %u; current check %u, "
				"attempt %d, open %d)", id, p->check, p->attempt, mt->released, mt->last_attempt,
			     mt->open);
			return;
		}
		if (id != p->target || !probe_ok_state(m->ctx_kind, r->state) || r->attempt != p->attempt) {
			fail(m, "target %u: reply kind %u for target %u attempt %u gave %s attempt %u", id, m->ctx_kind,
			     p->target, p->attempt, probe_state_name(r->state), r->attempt);
			return;
		}
		if (r->rtt_ns < 0)
			fail(m, "target %u: negative RTT %lld", id, (long long)r->rtt_ns);
		if (m->ctx_expect == 1 && !mt->rtt_unsure && p->released_real >= 0) {
			int64_t w = mt->wire[p->attempt];
			if (w) {
				if (r->rtt_approx || r->rtt_ns != m->ctx_ts - w)
					fail(m, "target %u: RTT %lld (approx %u), the wire says %lld", id,
					     (long long)r->rtt_ns, r->rtt_approx, (long long)(m->ctx_ts - w));
			} else {
				int64_t sent = p->reported && !p->failed ? p->user_real : p->released_real;
				int64_t want = m->ctx_ts - sent < 0 ? 0 : m->ctx_ts - sent;
				if (!r->rtt_approx || r->rtt_ns != want)
					fail(m, "target %u: approximate RTT %lld (approx %u), expected %lld", id,
					     (long long)r->rtt_ns, r->rtt_approx, (long long)want);
			}
		}
		break;
	}
	case CTX_REPORT_FAILED:
		if (r->state != PROBE_ERROR || id != m->ctx_pkt->target || r->attempt != m->ctx_pkt->attempt ||
		    mt->released != m->ctx_pkt->check)
			fail(m, "target %u: a failed send of target %u gave %s", id, m->ctx_pkt->target,
			     probe_state_name(r->state));
		break;
	case CTX_EXPIRE:
		if (r->state != PROBE_FILTERED || (int)r->attempt != mt->last_attempt || !mt->last_reported ||
		    mt->deadline > m->now || r->attempt < retries)
			fail(m, "target %u: timeout gave %s attempt %u (last attempt %d, reported %d, deadline in "
				"%lld ns, retries %u)", id, probe_state_name(r->state), r->attempt, mt->last_attempt,
			     mt->last_reported, (long long)(mt->deadline - m->now), retries);
		break;
	case CTX_RELEASE:
		if (r->state != PROBE_ERROR || !source_of(m, id)->err || r->err != source_of(m, id)->err)
			fail(m, "target %u: release gave %s (err %d) with source error %d", id,
			     probe_state_name(r->state), r->err, source_of(m, id)->err);
		else if (mt->last_attempt >= 0 && !mt->retrans_ok)
			fail(m, "target %u: route error for a check with attempt %d out and no retransmission due",
			     id, mt->last_attempt);
		break;
	default:
		fail(m, "target %u: a result (%s) outside any call that may give one", id, probe_state_name(r->state));
		break;
	}
	if (mt->retrans_ok)
		mt->ghost_attempt = mt->last_attempt + 1;
	mt->open = false;
	mt->maybe_gone = false;
	mt->retrans_ok = false;
	if (m->mon)
		monitor_on_result(m->mon, r);
}

static void on_mon_result(void *ctx, const struct probe_result *r)
{
	(void)ctx;
	(void)r;
}

static void on_mon_event(void *ctx, const struct sw_event *e)
{
	struct model *m = ctx;
	if (e->kind >= EVENT_KIND_COUNT)
		fail(m, "event of kind %u", e->kind);
}

/* ---- the checks that hold after every step ---- */

static void check_all(struct model *m)
{
	struct sched_stats st;
	const char *bad = sched_verify(m->s);

	if (bad) {
		fail(m, "sched_verify: %s", bad);
		return;
	}
	sched_get_stats(m->s, &st);
	size_t open = 0, sure = 0;
	for (uint32_t id = 0; id < m->n; id++) {
		open += m->t[id].open;
		sure += m->t[id].open && !m->t[id].maybe_gone;
		if (m->mode != MODE_ONESHOT && !m->stopped && sched_busy(m->s, id) != m->t[id].open)
			fail(m, "target %u: busy %d, but the model says open %d", id, sched_busy(m->s, id),
			     m->t[id].open);
	}
	if (st.in_flight + st.pending < sure || st.in_flight + st.pending > open)
		fail(m, "in flight %zu + pending %zu, but %zu checks are running (%zu for sure)", st.in_flight,
		     st.pending, open, sure);
	if (st.unreported > m->cfg.max_lookahead)
		fail(m, "%zu requests unreported, lookahead %zu", st.unreported, m->cfg.max_lookahead);
	/* a timeout entry stays only while one at or before it in its queue
	 * has not expired: it was reported less than the longest timeout
	 * before the last expiry */
	if (m->n_sent < SENT_N) {
		size_t recent = 0;
		for (size_t i = m->n_sent; i-- > 0;) { /* reports come in time order */
			if ((int64_t)m->sent[i].mono <= (int64_t)m->last_expire - m->max_timeout)
				break;
			recent += m->sent[i].count;
		}
		if (st.queued_timeouts > recent)
			fail(m, "%zu timeouts queued, at most %zu were reported recently enough", st.queued_timeouts,
			     recent);
	}
	if (st.queued_retrans > open + 4 * (size_t)m->n)
		fail(m, "%zu retransmissions queued for %zu running checks", st.queued_retrans, open);
}

/* ---- the sender and the wire ---- */

static void net_add(struct model *m, uint64_t at, uint64_t seq, uint8_t kind)
{
	for (size_t i = 0; i < NET_N; i++)
		if (!m->net[i].used) {
			m->net[i] = (struct netev){ .at = at, .seq = seq, .kind = kind, .used = true };
			if (i >= m->net_hi)
				m->net_hi = i + 1;
			return;
		}
}

/* Sets the context for one capture record of packet p and says what the
 * scheduler must do with it. */
static void capture_expect(struct model *m, const struct mpkt *p)
{
	const struct mtarget *mt = &m->t[p->target];
	bool here = p->target < m->n && addr_equal(&p->dst, &tg(m, p->target)->addr) &&
		    p->dport == tg(m, p->target)->port && !source_of(m, p->target)->err &&
		    addr_equal(&p->src, &source_of(m, p->target)->addr);
	m->ctx_expect = 0;
	if (!here)
		return;
	if (mt->open && p->check == mt->released && mt->last_attempt >= (int)p->attempt) {
		m->ctx_expect = 1;
		return;
	}
	/* An earlier check's SYN left from the ports of the running one (every
	 * n_epochs checks): the cookie cannot tell them apart. The running
	 * check may also be released but not yet taken by the sender (its
	 * number is then one more than the model knows). */
	if (!mt->open)
		return;
	if (mt->last_attempt >= (int)p->attempt && p->check < mt->released &&
	    (mt->released - p->check) % m->n_epochs == 0)
		m->ctx_expect = 2;
	if (mt->last_attempt == -1 && p->attempt == 0 && (mt->released + 1 - p->check) % m->n_epochs == 0)
		m->ctx_expect = 3;
}

/* One capture record for p; unknown: from an address that is no target's;
 * other_if: from a second capture handle, whose stamps need not follow the
 * first's (else one capture: stamps in order). */
static void deliver(struct model *m, const struct mpkt *p, uint8_t kind, uint64_t at, bool unknown, bool other_if)
{
	int64_t ts = real_of(at);
	if (!other_if) {
		if (ts < m->last_cap_ts)
			ts = m->last_cap_ts;
		m->last_cap_ts = ts;
	}
	struct capture_rec c = {
		.ts_real_ns = ts,
		.local = p->src,
		.remote = p->dst,
		.local_port = p->sport,
		.remote_port = p->dport,
		.kind = kind,
		.attempt = p->attempt,
		.ttl = kind == CAPTURE_SYN_OUT ? 0 : 57,
		.icmp_type = kind == CAPTURE_UNREACH ? 3 : 0,
		.icmp_code = kind == CAPTURE_UNREACH ? 1 : 0,
	};
	if (kind == CAPTURE_UNREACH)
		c.from = p->dst;
	struct mtarget *mt = &m->t[p->target];
	m->ctx = CTX_CAPTURE;
	m->ctx_pkt = p;
	m->ctx_kind = kind;
	m->ctx_ts = ts;
	m->ctx_results = 0;
	capture_expect(m, p);
	if (m->ctx_expect == 1 && kind != CAPTURE_SYN_OUT && mt->wire[p->attempt] && ts < mt->wire[p->attempt])
		m->ctx_expect = 0; /* stamped before the SYN it would answer left */
	if (unknown) {
		/* what capture passes for a target a reload removed */
		addr_from_v4(&c.remote, htonl(0xc612fffeu));
		m->ctx_expect = 0;
	}
	if (kind == CAPTURE_SYN_OUT) {
		if (m->ctx_expect == 1 && !mt->wire[p->attempt])
			mt->wire[p->attempt] = ts;
		else if (m->ctx_expect == 2)
			mt->rtt_unsure = true;
		else if (m->ctx_expect == 3)
			mt->unsure_next = true;
	}
	int expect = m->ctx_expect;
	TRACE("  capture kind %u seq %llu t%u check %u attempt %u expect %d\n", kind, (unsigned long long)p->seq,
	      p->target, p->check, p->attempt, expect);
	sched_on_capture(m->s, &c);
	m->ctx = CTX_NONE;
	if (kind == CAPTURE_SYN_OUT) {
		if (m->ctx_results)
			fail(m, "our own SYN gave a result");
		return;
	}
	if (expect == 1 && m->ctx_results != 1)
		fail(m, "target %u: the reply (kind %u) to attempt %u of the running check gave %u results", p->target,
		     kind, p->attempt, m->ctx_results);
	if (expect == 3 && m->ctx_results)
		mt->ghost_first = true; /* its first SYN is still in the ring */
}

static void deliver_due(struct model *m)
{
	for (;;) {
		size_t best = NET_N;
		while (m->net_hi && !m->net[m->net_hi - 1].used)
			m->net_hi--;
		for (size_t i = 0; i < m->net_hi; i++)
			if (m->net[i].used && m->net[i].at <= m->now && (best == NET_N || m->net[i].at < m->net[best].at))
				best = i;
		if (best == NET_N || m->failed)
			return;
		struct netev e = m->net[best];
		m->net[best].used = false;
		const struct mpkt *p = pkt(m, e.seq);
		if (p)
			deliver(m, p, e.kind, e.at, false, false);
	}
}

static void do_release(struct model *m)
{
	struct sched_stats before, after;

	sched_get_stats(m->s, &before);
	m->ctx = CTX_RELEASE;
	m->ctx_results = 0;
	sched_release(m->s, m->reqs, m->now, real_of(m->now));
	m->ctx = CTX_NONE;
	sched_get_stats(m->s, &after);
	if (m->stopped && after.released - after.retransmits != before.released - before.retransmits)
		fail(m, "a first SYN released after SIGINT");
	if (after.released > before.released) {
		m->rel[m->n_rel % REL_N].seq0 = before.released;
		m->rel[m->n_rel % REL_N].seq1 = after.released;
		m->rel[m->n_rel % REL_N].real = real_of(m->now);
		m->n_rel++;
	}
}

static int64_t released_real(const struct model *m, uint64_t seq)
{
	for (size_t k = 0; k < REL_N && k < m->n_rel; k++) {
		size_t i = (m->n_rel - 1 - k) % REL_N;
		if (m->rel[i].seq0 <= seq && seq < m->rel[i].seq1)
			return m->rel[i].real;
	}
	return -1;
}

/* The sender takes up to k requests: each must be one the model allows. */
static void sender_take(struct model *m, unsigned k, unsigned flags)
{
	struct probe_req q;

	while (k-- && !m->failed && ring_pop(m->reqs, &q, 1) == 1) {
		uint32_t id = q.target;
		TRACE("  pop seq %llu t%u attempt %u\n", (unsigned long long)q.seq, id, q.attempt);
		if (q.seq != m->next_pop_seq) {
			fail(m, "request seq %llu, expected %llu", (unsigned long long)q.seq,
			     (unsigned long long)m->next_pop_seq);
			return;
		}
		m->next_pop_seq++;
		if (id >= m->n) {
			fail(m, "request for target %u of %u", id, m->n);
			return;
		}
		struct mtarget *mt = &m->t[id];
		if (mt->ghost_attempt && q.attempt == mt->ghost_attempt) {
			/* released before its check ended: it leaves, its answers are duplicates */
			mt->ghost_attempt = 0;
			struct mpkt *p = &m->log[q.seq % LOG_N];
			*p = (struct mpkt){
				.seq = q.seq, .src = q.src, .dst = q.dst, .target = id, .check = mt->released,
				.sport = q.sport, .dport = q.dport, .attempt = q.attempt, .valid = true,
				.released_real = -1,
			};
			continue;
		}
		if (mt->ghost_first && q.attempt == 0) {
			/* its check already ended: the SYN leaves, its answers are duplicates */
			mt->ghost_first = false;
			mt->released++;
			struct mpkt *p = &m->log[q.seq % LOG_N];
			*p = (struct mpkt){
				.seq = q.seq, .src = q.src, .dst = q.dst, .target = id, .check = mt->released,
				.sport = q.sport, .dport = q.dport, .valid = true, .released_real = -1,
			};
			continue;
		}
		if (!mt->open) {
			fail(m, "request (attempt %u) for target %u, whose check has ended: a released slot or a "
				"stale queue entry acted", q.attempt, id);
			return;
		}
		mt->ghost_attempt = 0; /* requests leave in order: it was not in the ring */
		if (q.attempt == 0) {
			if (mt->last_attempt != -1) {
				fail(m, "target %u: a first SYN while attempt %d of its check is out", id,
				     mt->last_attempt);
				return;
			}
			mt->released++;
			memset(mt->wire, 0, sizeof(mt->wire));
			mt->rtt_unsure = mt->unsure_next;
			mt->unsure_next = false;
			mt->maybe_gone = false;
		} else {
			if ((int)q.attempt != mt->last_attempt + 1 || !mt->retrans_ok) {
				fail(m, "target %u: attempt %u, but attempt %d is the last one out (timed out with "
					"retries left: %d)", id, q.attempt, mt->last_attempt, mt->retrans_ok);
				return;
			}
			if (q.attempt > m->cfg.retries) {
				fail(m, "target %u: attempt %u, retries %u", id, q.attempt, m->cfg.retries);
				return;
			}
		}
		if (q.seq >= mt->changed_seq &&
		    (!addr_equal(&q.dst, &tg(m, id)->addr) || q.dport != tg(m, id)->port ||
		     !addr_equal(&q.src, &source_of(m, id)->addr) || source_of(m, id)->err)) {
			fail(m, "target %u: request to the wrong place or from an unusable source", id);
			return;
		}
		if (q.sport < m->cfg.port_lo || q.sport > m->cfg.port_hi ||
		    (q.seq >= mt->changed_seq && q.sport != sched_sport(m->s, id, q.attempt))) {
			fail(m, "target %u: source port %u", id, q.sport);
			return;
		}
		if (mt->released >= 2 && m->n_epochs > 1 && q.attempt == 0) {
			/* consecutive checks leave from different ports */
			const struct mpkt *prev = pkt(m, mt->seq_of[0]);
			if (prev && prev->target == id && prev->check + 1 == mt->released && prev->sport == q.sport &&
			    addr_equal(&prev->dst, &q.dst))
				fail(m, "target %u: two consecutive checks from port %u", id, q.sport);
		}
		mt->last_attempt = q.attempt;
		mt->last_reported = false;
		mt->retrans_ok = false;
		mt->seq_of[q.attempt] = q.seq;
		struct mpkt *p = &m->log[q.seq % LOG_N];
		*p = (struct mpkt){
			.seq = q.seq, .src = q.src, .dst = q.dst, .target = id, .check = mt->released,
			.sport = q.sport, .dport = q.dport, .attempt = q.attempt, .valid = true,
			.released_real = released_real(m, q.seq), .taken_mono = m->now,
		};
		/* the wire: our SYN seen leaving (unless pcap missed it), then the
		 * target's answer after its delay */
		if (!(flags & 1))
			net_add(m, m->now + 2000, q.seq, CAPTURE_SYN_OUT);
		int64_t timeout;
		uint8_t retries;
		eff_params(m, id, &timeout, &retries);
		uint64_t delay = 10000 + (uint64_t)mt->delay_k * 20000;
		switch (mt->net) {
		case NET_OPEN:
			net_add(m, m->now + delay, q.seq, CAPTURE_SYNACK);
			break;
		case NET_CLOSED:
			net_add(m, m->now + delay, q.seq, CAPTURE_RST);
			break;
		case NET_UNREACH:
			net_add(m, m->now + delay, q.seq, CAPTURE_UNREACH);
			break;
		case NET_SLOW: /* around the timeout: before it or after it */
			net_add(m, m->now + (uint64_t)timeout * (56 + mt->delay_k % 16) / 64, q.seq, CAPTURE_SYNACK);
			break;
		case NET_LOSSY:
			if ((q.seq * 2654435761u >> 7) & 1)
				net_add(m, m->now + delay, q.seq, CAPTURE_SYNACK);
			break;
		case NET_ECHO:
			net_add(m, m->now + delay, q.seq, CAPTURE_ECHO_REPLY);
			break;
		default:
			break;
		}
		if (flags & 2) /* a duplicate answer */
			net_add(m, m->now + delay + 1000, q.seq, CAPTURE_SYNACK);
	}
}

static void report_sent(struct model *m, unsigned k)
{
	uint64_t first = m->next_report_seq;
	unsigned n = 0;

	while (n < k && m->next_report_seq < m->next_pop_seq) {
		struct mpkt *p = pkt(m, m->next_report_seq);
		if (p) {
			p->reported = true;
			p->user_real = real_of(m->now);
			struct mtarget *mt = &m->t[p->target];
			if (mt->open && p->check == mt->released && (int)p->attempt == mt->last_attempt) {
				int64_t timeout;
				uint8_t retries;
				eff_params(m, p->target, &timeout, &retries);
				mt->last_reported = true;
				mt->deadline = m->now + (uint64_t)timeout;
			}
		}
		m->next_report_seq++;
		n++;
	}
	if (!n)
		return;
	struct send_report r = {
		.kind = SEND_REPORT_SENT, .seq = first, .count = n, .ts_mono_ns = m->now, .ts_real_ns = real_of(m->now),
	};
	TRACE("  report sent %llu+%u\n", (unsigned long long)first, n);
	if (m->n_sent < SENT_N)
		m->sent[m->n_sent++] = (typeof(m->sent[0])){ .mono = m->now, .count = n };
	m->ctx = CTX_NONE;
	m->ctx_results = 0;
	sched_on_report(m->s, &r);
	if (m->ctx_results)
		fail(m, "a SENT report gave a result");
}

static void report_failed(struct model *m)
{
	if (m->next_report_seq >= m->next_pop_seq)
		return;
	struct mpkt *p = pkt(m, m->next_report_seq);
	struct send_report r = {
		.kind = SEND_REPORT_FAILED, .seq = m->next_report_seq, .err = EPERM, .ts_mono_ns = m->now,
		.ts_real_ns = real_of(m->now),
	};
	m->next_report_seq++;
	if (!p)
		return;
	p->reported = p->failed = true;
	const struct mtarget *mt = &m->t[p->target];
	bool must = mt->open && p->check == mt->released && (int)p->attempt == mt->last_attempt;
	m->ctx = CTX_REPORT_FAILED;
	m->ctx_pkt = p;
	m->ctx_results = 0;
	sched_on_report(m->s, &r);
	m->ctx = CTX_NONE;
	if (must != (m->ctx_results == 1))
		fail(m, "target %u: a failed send of the running check's last attempt gave %u results (must %d)",
		     p->target, m->ctx_results, must);
}

static void do_expire(struct model *m)
{
	m->ctx = CTX_EXPIRE;
	m->ctx_results = 0;
	sched_expire(m->s, m->now, real_of(m->now));
	m->ctx = CTX_NONE;
	m->last_expire = m->now;
	for (uint32_t id = 0; id < m->n; id++) {
		struct mtarget *mt = &m->t[id];
		int64_t timeout;
		uint8_t retries;
		eff_params(m, id, &timeout, &retries);
		if (mt->open && mt->last_reported && mt->deadline <= m->now && mt->last_attempt < retries)
			mt->retrans_ok = true;
	}
}

static void do_start(struct model *m, uint32_t id)
{
	if (id >= m->n)
		return;
	bool want = !m->t[id].open && !m->stopped;
	bool got = sched_start(m->s, id);
	TRACE("  start t%u -> %d\n", id, got);
	if (got != want) {
		fail(m, "target %u: sched_start said %d, the model %d (open %d)", id, got, want, m->t[id].open);
		return;
	}
	if (got) {
		struct mtarget *mt = &m->t[id];
		mt->open = true;
		mt->last_attempt = -1;
		mt->last_reported = false;
		mt->retrans_ok = false;
	} else if (m->mon) {
		monitor_overrun(m->mon, id);
	}
}

static void do_due(struct model *m)
{
	uint32_t due[64];
	size_t k;

	if (!m->mon || m->stopped)
		return;
	while ((k = monitor_due(m->mon, m->now, real_of(m->now), due, 64)) > 0 && !m->failed) {
		for (size_t i = 0; i < k; i++) {
			if (due[i] >= m->n || m->t[due[i]].dead || m->t[due[i]].foreign) {
				fail(m, "the monitor made target %u due: dead %d, foreign %d", due[i],
				     due[i] < m->n && m->t[due[i]].dead, due[i] < m->n && m->t[due[i]].foreign);
				return;
			}
			do_start(m, due[i]);
		}
		if (k < 64)
			break;
	}
}

static void do_stop(struct model *m)
{
	struct sched_stats st;

	if (m->stopped)
		return;
	m->stopped = true;
	for (uint32_t id = 0; id < m->n; id++)
		if (m->t[id].open && m->t[id].last_attempt == -1)
			m->t[id].maybe_gone = true;
	m->ctx = CTX_STOP;
	m->ctx_results = 0;
	sched_stop_new(m->s);
	m->ctx = CTX_NONE;
	sched_get_stats(m->s, &st);
	m->released_at_stop = st.released;
}

/* ---- set-up ---- */

static const int64_t timeouts_ms[] = { 50, 100, 200, 300, 400, 800 };

static void pick_target(struct model *m, struct rd *r, uint32_t id)
{
	struct mtarget *mt = &m->t[id];
	unsigned b = rd8(r);

	mt->net = (uint8_t)(b % NET_COUNT);
	mt->delay_k = (uint8_t)rd8(r);
	mt->timeout_ns = timeouts_ms[(b >> 3) % 6] * NSEC_PER_MSEC;
	mt->retries = (uint8_t)((b >> 6) & 3);
	mt->last_attempt = -1;
}

/* Mode A: the list as the test made it; addresses share hosts so that
 * per-destination pacing has work. */
static int setup_list(struct model *m, struct rd *r)
{
	uint32_t n = 1 + rd8(r) % 48, hosts = 1 + rd8(r) % 16;

	m->tl.v = calloc(MAX_T, sizeof(*m->tl.v));
	m->src_of = calloc(MAX_T, sizeof(*m->src_of));
	if (!m->tl.v || !m->src_of)
		return -ENOMEM;
	m->tl.cap = MAX_T;
	for (uint32_t i = 0; i < n; i++) {
		addr_from_v4(&m->tl.v[i].addr, htonl(0xc6120000u + 1 + i % hosts));
		m->tl.v[i].port = (uint16_t)(80 + i / hosts);
		m->tl.v[i].name = TARGET_NO_NAME;
		pick_target(m, r, i);
		unsigned s = rd8(r);
		m->src_of[i] = s % 16 == 0 ? 1 : s % 16 == 1 ? 2 : 0;
	}
	m->tl.n = n;
	m->n = n;
	m->next_addr = 0xc6130000u;
	return 0;
}

/* Mode B: a YAML configuration from the bytes, built into a table. */
static void make_yaml(struct rd *r, char *buf, size_t len)
{
	static const char *const ports[] = { "[80]", "[22, 443]", "[80, 8080, 9090]", "[5432]" };
	size_t k = (size_t)snprintf(buf, len, "location: lab\ngroups:\n");
	unsigned groups = 1 + rd8(r) % 3;

	for (unsigned g = 0; g < groups && k < len; g++) {
		unsigned b = rd8(r);
		int64_t to = timeouts_ms[b % 6];
		unsigned retries = (b >> 3) % 4;
		int64_t interval = to * (retries + 1) + to * (1 + rd8(r) % 8);
		k += (size_t)snprintf(buf + k, len - k,
				      "  - name: g%u\n    timeout: %lldms\n    retries: %u\n    interval: %lldms\n"
				      "    ports: %s\n    hosts:\n",
				      g, (long long)to, retries, (long long)interval, ports[(b >> 5) % 4]);
		unsigned hosts = 1 + rd8(r) % 8, base = rd8(r) % 24;
		for (unsigned h = 0; h < hosts && k < len; h++)
			k += (size_t)snprintf(buf + k, len - k, "      - \"198.18.0.%u\"\n", 1 + (base + h * 3) % 24);
	}
}

static int build_table(struct model *m, struct rd *r, struct table **out)
{
	char yaml[4096], err[512];
	struct config cfg;
	struct exclude_list ex = { 0 };
	int rc;

	make_yaml(r, yaml, sizeof(yaml));
	if ((rc = config_parse(&cfg, yaml, strlen(yaml), NULL, err, sizeof(err))) < 0)
		return rc; /* two groups with one endpoint, say: the reload is refused */
	rc = config_build_table(out, &cfg, &ex, m->table, NULL, err, sizeof(err));
	config_release(&cfg);
	return rc;
}

/* The table's new ids: the model's view of them. */
static int adopt_table(struct model *m, struct rd *r, struct table *t)
{
	if (t->tl.n > MAX_T)
		return -E2BIG;
	uint16_t *so = calloc(t->tl.n + 1, sizeof(*so));
	if (!so)
		return -ENOMEM;
	for (uint32_t id = 0; id < t->tl.n; id++) {
		so[id] = id < m->n ? m->src_of[id] : 0;
		if (id >= m->n) {
			pick_target(m, r, id);
			so[id] = rd8(r) % 16 == 0 ? 1 : 0;
		}
	}
	int rc = m->s ? sched_set_targets(m->s, &t->tl, m->sources, so) : 0;
	if (rc < 0) {
		free(so);
		return rc;
	}
	free(m->src_of);
	m->src_of = so;
	for (uint32_t id = 0; id < t->tl.n; id++) {
		m->t[id].dead = t->dead[id];
		if (id >= m->n)
			m->t[id].foreign = false;
		const struct table_group *g = table_group_of(t, id);
		if (g && g->timeout_ns > m->max_timeout)
			m->max_timeout = g->timeout_ns;
	}
	m->n = (uint32_t)t->tl.n;
	return 0;
}

static void reload_monitor(struct model *m, struct rd *r)
{
	struct table *nt = NULL;

	if (build_table(m, r, &nt) < 0)
		return;
	if (adopt_table(m, r, nt) < 0) {
		table_free(nt);
		return;
	}
	struct table *old = m->table;
	m->table = nt;
	if (monitor_set_table(m->mon, nt, m->now, real_of(m->now)) < 0)
		fail(m, "monitor_set_table failed");
	table_free(old);
}

static void shard_change(struct model *m, struct rd *r)
{
	uint8_t foreign[MAX_T];
	unsigned b = rd8(r);

	for (uint32_t id = 0; id < m->n; id++) {
		foreign[id] = b == 0 ? 0 : (uint8_t)(((id * 7 + b) % 5) < (b & 3));
		if (!m->t[id].dead) /* the monitor leaves a removed id's mark as it was */
			m->t[id].foreign = foreign[id];
	}
	monitor_set_foreign(m->mon, b == 0 ? NULL : foreign, m->now, real_of(m->now));
}

/* Mode A: the list grows, a target moves to a fresh address, or its route
 * changes; the per-target parameters change. */
static void reload_list(struct model *m, struct rd *r)
{
	struct target_list nl = m->tl;
	uint16_t *so;
	unsigned grow = rd8(r) % 6, what = rd8(r);
	uint32_t n = m->n + grow > MAX_T ? MAX_T : m->n + grow;

	nl.v = calloc(MAX_T, sizeof(*nl.v));
	so = calloc(MAX_T, sizeof(*so));
	if (!nl.v || !so) {
		free(nl.v);
		free(so);
		return;
	}
	memcpy(nl.v, m->tl.v, m->n * sizeof(*nl.v));
	memcpy(so, m->src_of, m->n * sizeof(*so));
	for (uint32_t i = m->n; i < n; i++) {
		addr_from_v4(&nl.v[i].addr, htonl(m->next_addr++));
		nl.v[i].port = 443;
		nl.v[i].name = TARGET_NO_NAME;
		pick_target(m, r, i);
	}
	if (m->n) {
		uint32_t id = rd8(r) % m->n;
		struct sched_stats st;
		sched_get_stats(m->s, &st);
		if (what & 3)
			m->t[id].changed_seq = st.released;
		if (what & 1)
			addr_from_v4(&nl.v[id].addr, htonl(m->next_addr++)); /* a hostname moved */
		if (what & 2)
			so[id] = (uint16_t)(rd8(r) % 3);
		if (what & 4) {
			unsigned b = rd8(r);
			m->t[id].timeout_ns = timeouts_ms[b % 6] * NSEC_PER_MSEC;
			m->t[id].retries = (uint8_t)((b >> 3) & 3);
		}
	}
	nl.n = n;
	/* the scheduler keeps &m->tl: switch it in place */
	struct target_list old = m->tl;
	uint16_t *old_so = m->src_of;
	m->tl = nl;
	m->src_of = so;
	if (sched_set_targets(m->s, &m->tl, m->sources, m->src_of) < 0) {
		fail(m, "sched_set_targets refused a grown list");
		m->tl = old;
		m->src_of = old_so;
		free(nl.v);
		free(so);
		return;
	}
	free(old.v);
	free(old_so);
	m->n = n;
	for (uint32_t i = 0; i < n; i++)
		if (m->t[i].timeout_ns > m->max_timeout)
			m->max_timeout = m->t[i].timeout_ns;
}

static int setup(struct model *m, struct rd *r)
{
	static const size_t lookaheads[] = { 1, 2, 3, 8, 32, 256 };
	static const size_t rings[] = { 1, 4, 16, 64, 1024, 1024 };
	static const uint32_t paces[] = { 0, 0, 1, 5, 50, 0 };
	static const uint16_t ranges[] = { 1000, 1, 2, 5, 16, 1000 };
	unsigned b = rd8(r), c = rd8(r);
	int rc;

	m->mode = (enum mode)(b % MODE_COUNT);
	addr_parse(&m->sources[0].addr, "198.19.255.1");
	m->sources[1].err = ENETUNREACH;
	addr_parse(&m->sources[2].addr, "198.19.255.5");
	m->cfg = (struct sched_config){
		.port_lo = 61000,
		.port_hi = (uint16_t)(61000 + ranges[(b >> 2) % 6] - 1),
		.retries = (uint8_t)((b >> 5) & 3),
		.timeout_ns = timeouts_ms[c % 6] * NSEC_PER_MSEC,
		.max_lookahead = lookaheads[(c >> 3) % 6],
		.order_seed = (c & 0x40) ? 0x9e3779b97f4a7c15ull : 0,
		.emit = on_result,
		.emit_ctx = m,
		.continuous = m->mode != MODE_ONESHOT,
		.per_dest_pps = paces[rd8(r) % 6],
		.params = m->mode != MODE_ONESHOT ? params_cb : NULL,
		.params_ctx = m,
	};
	m->max_timeout = m->cfg.timeout_ns;
	if ((rc = ring_new(&m->reqs, sizeof(struct probe_req), rings[rd8(r) % 6])) < 0)
		return rc;
	if (m->mode == MODE_MONITOR) {
		m->cfg.retries = 3;
		if ((rc = build_table(m, r, &m->table)) < 0)
			return 1; /* not a configuration: nothing to run */
		if ((rc = adopt_table(m, r, m->table)) < 0)
			return rc == -E2BIG ? 1 : rc;
		rc = sched_new(&m->s, &m->cfg, &m->table->tl, m->sources, m->src_of);
	} else {
		if ((rc = setup_list(m, r)) < 0)
			return rc;
		for (uint32_t i = 0; i < m->n; i++)
			if (m->t[i].timeout_ns > m->max_timeout)
				m->max_timeout = m->t[i].timeout_ns;
		rc = sched_new(&m->s, &m->cfg, &m->tl, m->sources, m->src_of);
	}
	if (rc < 0)
		return rc;
	uint32_t n_ports = (uint32_t)(m->cfg.port_hi - m->cfg.port_lo + 1);
	m->n_epochs = m->cfg.continuous ? n_ports / (m->cfg.retries + 1u) : 1;
	if (m->n_epochs > EPOCHS)
		m->n_epochs = EPOCHS;
	if (m->n_epochs == 0)
		m->n_epochs = 1;
	m->now = MONO0;
	m->last_expire = MONO0;
	if (m->mode == MODE_ONESHOT)
		for (uint32_t i = 0; i < m->n; i++)
			m->t[i].open = true;
	if (m->mode == MODE_MONITOR) {
		static const uint64_t caps[] = { 2, 10, 40, 200, 100000, 5 };
		struct monitor_config mc = {
			.rate_cap = caps[rd8(r) % 6],
			.emit_result = on_mon_result,
			.emit_event = on_mon_event,
			.ctx = m,
		};
		if ((rc = monitor_new(&m->mon, &mc, m->table, m->now, real_of(m->now))) < 0)
			return rc;
	}
	return 0;
}

static void teardown(struct model *m)
{
	monitor_free(m->mon);
	sched_free(m->s);
	ring_free(m->reqs);
	table_free(m->table);
	free(m->tl.v);
	free(m->src_of);
}

/* One pass of daemon/loop.c's run loop: the wire, timeouts, due checks, release,
 * the sender takes and reports everything (drain: until nothing more is
 * released at this instant). */
static void main_loop(struct model *m, bool starts, bool drain_all)
{
	deliver_due(m);
	do_expire(m);
	if (starts)
		do_due(m);
	for (unsigned k = 0; k < 4096 && !m->failed; k++) {
		uint64_t before = m->next_pop_seq;
		do_release(m);
		sender_take(m, 1u << 20, 0);
		report_sent(m, 1u << 20);
		if (!drain_all || m->next_pop_seq == before)
			break;
	}
}

/* The input is spent: the wire goes quiet, the clock runs, no new checks
 * start. Every check must end (those SIGINT dropped before release may
 * vanish), and then nothing may be left in any queue. */
static void drain(struct model *m)
{
	int64_t step = m->max_timeout + NSEC_PER_MSEC;
	unsigned rounds = 2 * m->n + 8 * (m->cfg.retries + 2) + 16;

	if (m->cfg.per_dest_pps && (int64_t)(NSEC_PER_SEC / m->cfg.per_dest_pps) > step)
		step = (int64_t)(NSEC_PER_SEC / m->cfg.per_dest_pps) + NSEC_PER_MSEC;
	for (unsigned i = 0; i < rounds && !m->failed; i++) {
		main_loop(m, false, true);
		check_all(m);
		bool open = false;
		for (uint32_t id = 0; id < m->n; id++)
			open |= m->t[id].open && !m->t[id].maybe_gone;
		if (!open && i > 0)
			break;
		m->now += (uint64_t)step;
	}
	for (uint32_t id = 0; id < m->n && !m->failed; id++) {
		if (m->t[id].open && !m->t[id].maybe_gone)
			fail(m, "target %u: its check never ended (attempt %d out, reported %d, retransmission due %d)",
			     id, m->t[id].last_attempt, m->t[id].last_reported, m->t[id].retrans_ok);
		if (m->t[id].open && sched_busy(m->s, id))
			fail(m, "target %u: a check dropped at SIGINT is still busy", id);
	}
	if (m->failed)
		return;
	m->now += (uint64_t)m->max_timeout * 2;
	main_loop(m, false, true);
	struct sched_stats st;
	sched_get_stats(m->s, &st);
	if (st.in_flight || st.queued_retrans || st.unreported || st.queued_timeouts ||
	    (m->mode != MODE_ONESHOT && st.pending))
		fail(m, "quiet and idle, yet in flight %zu, retransmissions %zu, unreported %zu, timeouts %zu, "
			"pending %zu", st.in_flight, st.queued_retrans, st.unreported, st.queued_timeouts, st.pending);
	do_stop(m);
	if (!sched_done(m->s))
		fail(m, "stopped and idle, but not done");
	check_all(m);
}

int sched_model_run(const uint8_t *data, size_t len, char *why, size_t whylen)
{
	struct model *m = calloc(1, sizeof(*m));
	struct rd r = { .p = data, .n = len };
	int rc;

	if (!m) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	m->why = why;
	m->whylen = whylen;
	if (whylen)
		why[0] = 0;
	if ((rc = setup(m, &r)) != 0) {
		if (rc < 0)
			fail(m, "set-up failed: %s", strerror(-rc));
		goto out;
	}
	while (r.i < r.n && m->step < MAX_STEPS && !m->failed) {
		unsigned op = rd8(&r), a = rd8(&r);
		m->step++;
		TRACE("step %llu: op %u arg %u now %.3f ms\n", (unsigned long long)m->step, op % 18, a,
		      (double)(m->now - MONO0) / 1e6);
		switch (op % 18) {
		case 0: /* a little time */
			m->now += (uint64_t)a * (uint64_t)m->cfg.timeout_ns / 128 + 1;
			break;
		case 1: /* a lot of time */
			m->now += (uint64_t)a * (uint64_t)m->cfg.timeout_ns / 8 + 1;
			break;
		case 2:
			do_release(m);
			break;
		case 3:
			sender_take(m, a % 8 + 1, rd8(&r));
			break;
		case 4:
			report_sent(m, a % 8 + 1);
			break;
		case 5:
			report_failed(m);
			break;
		case 6:
			deliver_due(m);
			break;
		case 7:
			do_expire(m);
			break;
		case 8:
			if (m->mode == MODE_CONTINUOUS)
				do_start(m, a % (m->n ? m->n : 1));
			else
				do_due(m);
			break;
		case 9:
		case 10: { /* a reply to any request the sender took, now: late, duplicated, past */
			uint64_t back = (uint64_t)rd16(&r) % (m->next_pop_seq + 1);
			const struct mpkt *p = m->next_pop_seq ? pkt(m, m->next_pop_seq - 1 - back % m->next_pop_seq) : NULL;
			static const uint8_t kinds[] = { CAPTURE_SYNACK, CAPTURE_RST, CAPTURE_UNREACH, CAPTURE_SYN_OUT,
							 CAPTURE_ECHO_REPLY, CAPTURE_SYNACK, CAPTURE_SYNACK, CAPTURE_RST };
			if (p)
				deliver(m, p, kinds[a % 8], (a & 0x30) == 0x30 ? p->taken_mono + 1000 : m->now,
					(a & 0xc0) == 0xc0, (a & 0x30) == 0x30);
			break;
		}
		case 11:
			if (m->mode == MODE_CONTINUOUS)
				reload_list(m, &r);
			else if (m->mode == MODE_MONITOR)
				reload_monitor(m, &r);
			break;
		case 12:
			if (m->mode == MODE_MONITOR)
				shard_change(m, &r);
			break;
		case 13:
			if (a % 16 == 0)
				do_stop(m);
			break;
		default:
			main_loop(m, true, false);
			break;
		}
		if (!m->failed)
			check_all(m);
	}
	if (!m->failed)
		drain(m);
out:
	if (m->s && getenv("SCHED_MODEL_STATS")) {
		struct sched_stats st;
		sched_get_stats(m->s, &st);
		fprintf(stderr, "stats mode %d: released %llu retransmits %llu cancelled %llu stale %llu duplicate %llu paced %llu results %llu/%llu/%llu/%llu/%llu\n",
			m->mode, (unsigned long long)st.released, (unsigned long long)st.retransmits,
			(unsigned long long)st.cancelled, (unsigned long long)st.stale, (unsigned long long)st.duplicate,
			(unsigned long long)st.paced, (unsigned long long)st.results[0], (unsigned long long)st.results[1],
			(unsigned long long)st.results[2], (unsigned long long)st.results[3], (unsigned long long)st.results[4]);
	}
	teardown(m);
	rc = m->failed ? -1 : 0;
	free(m);
	return rc;
}
