/* The monitor (scheduler/monitor.h). Per target it keeps the state machine's
 * status, the last eight RTTs (for the p95 a "slow" event quotes), its host
 * and its place in the timing wheel: 56 + 17 + 4 + 1 (foreign) + 12 (the
 * wheel) = 90 bytes, and a share of its host's 48 (--mem-report shows them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "scheduler/monitor.h"
#include "scheduler/wheel.h"

#define WHEEL_TICK_NS NSEC_PER_MSEC
#define WHEEL_SLOTS 65536
#define RTT_RING 8
#define RTT_NONE UINT16_MAX
#define HOST_NONE UINT32_MAX
#define ISO_BUCKETS 64
#define DEFAULT_INTERVAL_NS (30 * NSEC_PER_SEC)
/* headroom left under the rate cap for retransmissions */
#define CAP_SHARE 0.95

struct host {
	struct sw_addr addr;
	uint16_t ports;      /* live TCP targets of this address (one per port 1-65535) */
	uint16_t down;       /* ... of which down */
	uint32_t ping;       /* the id of its ping (ICMP echo) target, HOST_NONE if none */
	uint32_t first;      /* one of its targets */
	uint64_t event;      /* the open HOST_DOWN event, 0 if none */
	int64_t since_ns;    /* when it went down */
};

/* checks of up targets per wall-clock second, for the isolation window */
struct iso_bucket {
	int64_t sec;
	uint32_t checks, fails;
};

/* A port's service check: when it is next due, what it last said. Only
 * for tables that have checks (8 bytes a target then). */
struct check_state {
	uint32_t due_s;      /* realtime second from which the next may start (0: at once) */
	int16_t days_left;   /* the certificate's, INT16_MIN: none */
	uint8_t verdict;     /* enum probe_verdict */
	uint8_t busy;        /* started, no result yet */
};

struct monitor {
	struct monitor_config cfg;
	const struct table *t;
	size_t cap;                   /* per-target arrays hold this many */
	struct target_status *st;
	uint16_t (*rtts)[RTT_RING];
	uint8_t *rtt_head;
	uint32_t *host_of;
	uint8_t *foreign;             /* per target: 1 if another member of the location owns it */
	struct check_state *chk;      /* per target, when service checks run; else NULL */
	struct host *hosts;
	size_t n_hosts, hosts_cap;
	struct wheel *wheel;
	uint64_t next_event;
	double stretch[4];
	double demand[4];

	int64_t iso_window_s;
	struct iso_bucket iso[ISO_BUCKETS];
	bool isolated;
	int64_t isolated_since;
	uint8_t *canary_fail;         /* per canary: 0 ok, 1 failing, 2 no result yet */
	uint32_t *canary_id;

	struct monitor_stats stats;
};

static const struct state_params default_params = {
	.failures = 2, .successes = 1, .window = 5, .over = 3, .flap_changes = 5, .flap_window_s = 600,
};

/* Live and ours: scheduled, counted in the load and the stats. */
static bool watched(const struct monitor *m, size_t id)
{
	return !m->t->dead[id] && !m->foreign[id];
}

static const struct state_params *params_of(const struct monitor *m, uint32_t id)
{
	const struct table_group *g = table_group_of(m->t, id);
	return g ? &g->state : &default_params;
}

static uint8_t priority_of(const struct monitor *m, uint32_t id)
{
	const struct table_group *g = table_group_of(m->t, id);
	return g && g->priority < 4 ? g->priority : 1;
}

static int64_t base_interval(const struct monitor *m, uint32_t id)
{
	const struct table_group *g = table_group_of(m->t, id);
	return g && g->interval_ns > 0 ? g->interval_ns : DEFAULT_INTERVAL_NS;
}

static int64_t interval_of(const struct monitor *m, uint32_t id)
{
	return (int64_t)((double)base_interval(m, id) * m->stretch[priority_of(m, id)]);
}

/* The next instant strictly after now_real at this target's phase: phases
 * come from a hash of the target and are anchored to the wall clock, so
 * probes spread evenly over the interval and a restart keeps them. */
static uint64_t due_after(const struct monitor *m, uint32_t id, uint64_t now_mono, int64_t now_real)
{
	const struct target *tg = &m->t->tl.v[id];
	int64_t iv = interval_of(m, id);
	int64_t phase = (int64_t)(addr_port_hash(&tg->addr, tg->port) % (uint64_t)iv);
	int64_t k = (now_real - phase) / iv;
	int64_t next = k * iv + phase;

	while (next <= now_real)
		next += iv;
	return now_mono + (uint64_t)(next - now_real);
}

void monitor_stretch(const double demand[4], double cap, double factor[4])
{
	double total = 0;

	for (int p = 0; p < 4; p++) {
		factor[p] = 1.0;
		total += demand[p];
	}
	if (total <= cap || cap <= 0)
		return;
	/* the lowest priorities give way first, each up to the limit */
	for (int p = 0; p < 4; p++) {
		double others = 0;
		for (int q = 0; q < 4; q++)
			if (q != p)
				others += demand[q] / factor[q];
		if (demand[p] == 0)
			continue;
		double room = cap - others;
		if (room > 0 && demand[p] / room <= MONITOR_MAX_STRETCH) {
			factor[p] = demand[p] / room > 1.0 ? demand[p] / room : 1.0;
			return;
		}
		factor[p] = MONITOR_MAX_STRETCH;
	}
	/* still too much: everyone stretches by the same further factor */
	double left = 0;
	for (int p = 0; p < 4; p++)
		left += demand[p] / factor[p];
	if (left > cap)
		for (int p = 0; p < 4; p++)
			factor[p] *= left / cap;
}

static void recompute_load(struct monitor *m)
{
	memset(m->demand, 0, sizeof(m->demand));
	int64_t min_iv = INT64_MAX;
	for (size_t id = 0; id < m->t->tl.n; id++) {
		if (!watched(m, id))
			continue;
		int64_t iv = base_interval(m, (uint32_t)id);
		m->demand[priority_of(m, (uint32_t)id)] += (double)NSEC_PER_SEC / (double)iv;
		if (iv < min_iv)
			min_iv = iv;
	}
	monitor_stretch(m->demand, (double)m->cfg.rate_cap * CAP_SHARE, m->stretch);
	m->stats.demand_pps = m->demand[0] + m->demand[1] + m->demand[2] + m->demand[3];
	memcpy(m->stats.stretch, m->stretch, sizeof(m->stretch));
	m->stats.overloaded = false;
	for (int p = 0; p < 4; p++)
		if (m->stretch[p] > 1.0)
			m->stats.overloaded = true;
	/* isolation is judged over the shortest interval: every target has
	 * been checked once in it by the time a second failure could confirm
	 * a down (failures >= 2) */
	m->iso_window_s = min_iv == INT64_MAX ? 1 : min_iv / NSEC_PER_SEC;
	if (m->iso_window_s < 1)
		m->iso_window_s = 1;
	if (m->iso_window_s > ISO_BUCKETS - 2)
		m->iso_window_s = ISO_BUCKETS - 2;
}

/* Makes the per-target arrays hold n targets, every entry initialised. The
 * first size is exact (a fleet of 2^20 targets plus a gateway canary must
 * not pay for 2^21); later growth (a reload adding targets) leaves an
 * eighth more, so that targets added one reload at a time do not move the
 * arrays every time. */
static int grow(struct monitor *m, size_t n)
{
	if (n <= m->cap)
		return 0;
	size_t cap = m->cap ? n + n / 8 : n ? n : 1;
	struct target_status *st = realloc(m->st, cap * sizeof(*st));
	if (!st)
		return -ENOMEM;
	m->st = st;
	uint16_t(*rtts)[RTT_RING] = realloc(m->rtts, cap * sizeof(*rtts));
	if (!rtts)
		return -ENOMEM;
	m->rtts = rtts;
	uint8_t *rh = realloc(m->rtt_head, cap);
	if (!rh)
		return -ENOMEM;
	m->rtt_head = rh;
	uint32_t *ho = realloc(m->host_of, cap * sizeof(*ho));
	if (!ho)
		return -ENOMEM;
	m->host_of = ho;
	uint8_t *fo = realloc(m->foreign, cap);
	if (!fo)
		return -ENOMEM;
	m->foreign = fo;
	if (m->chk) { /* once a table had service checks (checks_need) */
		struct check_state *ck = realloc(m->chk, cap * sizeof(*ck));
		if (!ck)
			return -ENOMEM;
		m->chk = ck;
	}
	if (cap > UINT32_MAX - 2 || wheel_grow(m->wheel, (uint32_t)cap) < 0)
		return -ENOMEM;
	for (size_t i = m->cap; i < cap; i++) {
		state_init(&m->st[i]);
		memset(m->rtts[i], 0xff, sizeof(m->rtts[i]));
		m->rtt_head[i] = 0;
		m->host_of[i] = HOST_NONE;
		m->foreign[i] = 0;
		if (m->chk)
			m->chk[i] = (struct check_state){ .days_left = INT16_MIN, .verdict = VERDICT_PENDING };
	}
	m->cap = cap;
	return 0;
}

/* The per-target check states, from the first table with a service check
 * on: a fleet without any (most) does not pay 8 bytes a target for them.
 * 0 or -ENOMEM. */
static int checks_need(struct monitor *m, const struct table *t)
{
	bool any = false;

	if (m->chk || !m->cfg.start_check)
		return 0;
	for (size_t id = 0; id < t->tl.n && !any; id++)
		any = !t->dead[id] && table_check(t, (uint32_t)id);
	if (!any)
		return 0;
	if (!(m->chk = malloc((m->cap ? m->cap : 1) * sizeof(*m->chk))))
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		m->chk[i] = (struct check_state){ .days_left = INT16_MIN, .verdict = VERDICT_PENDING };
	return 0;
}

/* Rebuilds the host rollup for the current table, keeping the open host
 * events of addresses that stay. */
static int build_hosts(struct monitor *m)
{
	size_t n = m->t->tl.n, mask = 15;
	struct host *old = m->hosts;
	size_t n_old = m->n_hosts;
	int r = -ENOMEM;

	while (mask + 1 < n * 2 + 2)
		mask = mask * 2 + 1;
	uint32_t *ix = malloc((mask + 1) * sizeof(*ix));
	struct host *hosts = calloc(n ? n : 1, sizeof(*hosts));
	size_t n_hosts = 0;
	if (!ix || !hosts)
		goto out;
	memset(ix, 0xff, (mask + 1) * sizeof(*ix));
	for (size_t id = 0; id < n; id++) {
		m->host_of[id] = HOST_NONE;
		if (m->t->dead[id])
			continue;
		const struct sw_addr *a = &m->t->tl.v[id].addr;
		size_t i = addr_port_hash(a, 0) & mask;
		while (ix[i] != HOST_NONE && !addr_equal(&hosts[ix[i]].addr, a))
			i = (i + 1) & mask;
		if (ix[i] == HOST_NONE) {
			ix[i] = (uint32_t)n_hosts;
			hosts[n_hosts++] = (struct host){ .addr = *a, .first = (uint32_t)id, .ping = HOST_NONE };
		}
		struct host *h = &hosts[ix[i]];
		m->host_of[id] = ix[i];
		if (m->t->tl.v[id].port == TARGET_PORT_ICMP) {
			h->ping = (uint32_t)id;
			continue;
		}
		h->ports++;
		if (m->st[id].state == TARGET_DOWN)
			h->down++;
	}
	for (size_t k = 0; k < n_old; k++) {
		if (!old[k].event)
			continue;
		size_t i = addr_port_hash(&old[k].addr, 0) & mask;
		while (ix[i] != HOST_NONE && !addr_equal(&hosts[ix[i]].addr, &old[k].addr))
			i = (i + 1) & mask;
		if (ix[i] != HOST_NONE) {
			hosts[ix[i]].event = old[k].event;
			hosts[ix[i]].since_ns = old[k].since_ns;
		}
	}
	free(old);
	/* sized for one host per target while counting: give the rest back */
	struct host *fit = realloc(hosts, (n_hosts ? n_hosts : 1) * sizeof(*hosts));
	if (fit)
		hosts = fit;
	m->hosts = hosts;
	m->n_hosts = n_hosts;
	m->hosts_cap = fit ? (n_hosts ? n_hosts : 1) : (n ? n : 1);
	hosts = NULL;
	r = 0;
out:
	free(ix);
	free(hosts);
	return r;
}

static void find_canaries(struct monitor *m)
{
	for (size_t c = 0; c < m->cfg.n_canaries; c++) {
		m->canary_id[c] = UINT32_MAX;
		for (size_t id = 0; id < m->t->tl.n; id++) {
			const struct target *tg = &m->t->tl.v[id];
			if (!m->t->dead[id] && tg->port == m->cfg.canary_ports[c] &&
			    addr_equal(&tg->addr, &m->cfg.canaries[c])) {
				m->canary_id[c] = (uint32_t)id;
				break;
			}
		}
	}
}

int monitor_new(struct monitor **out, const struct monitor_config *cfg, const struct table *t, uint64_t now_mono,
		int64_t now_real)
{
	struct monitor *m = calloc(1, sizeof(*m));
	int r = -ENOMEM;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	if (m->cfg.isolation_share <= 0 || m->cfg.isolation_share > 1)
		m->cfg.isolation_share = 0.5;
	if (m->cfg.isolation_min == 0)
		m->cfg.isolation_min = 20;
	if (m->cfg.rate_cap == 0)
		m->cfg.rate_cap = 10000;
	m->next_event = 1;
	if (cfg->n_canaries) {
		m->canary_fail = malloc(cfg->n_canaries);
		m->canary_id = malloc(cfg->n_canaries * sizeof(*m->canary_id));
		if (!m->canary_fail || !m->canary_id)
			goto out;
		memset(m->canary_fail, 2, cfg->n_canaries);
	}
	if ((r = wheel_new(&m->wheel, 1024, WHEEL_TICK_NS, WHEEL_SLOTS, now_mono)) < 0)
		goto out;
	m->t = t;
	if ((r = grow(m, t->tl.n)) < 0 || (r = checks_need(m, t)) < 0 || (r = build_hosts(m)) < 0)
		goto out;
	find_canaries(m);
	recompute_load(m);
	for (size_t id = 0; id < t->tl.n; id++)
		if (!t->dead[id])
			wheel_insert(m->wheel, (uint32_t)id, due_after(m, (uint32_t)id, now_mono, now_real));
	*out = m;
	return 0;
out:
	monitor_free(m);
	return r;
}

void monitor_free(struct monitor *m)
{
	if (!m)
		return;
	free(m->st);
	free(m->rtts);
	free(m->rtt_head);
	free(m->host_of);
	free(m->foreign);
	free(m->chk);
	free(m->hosts);
	free(m->canary_fail);
	free(m->canary_id);
	wheel_free(m->wheel);
	free(m);
}

int monitor_set_table(struct monitor *m, const struct table *t, uint64_t now_mono, int64_t now_real)
{
	const struct table *old = m->t;
	int64_t *old_iv = NULL;
	int r;

	if ((r = grow(m, t->tl.n)) < 0 || (r = checks_need(m, t)) < 0)
		return r;
	/* intervals as they were, to tell which schedules must move */
	old_iv = malloc((old->tl.n ? old->tl.n : 1) * sizeof(*old_iv));
	if (!old_iv)
		return -ENOMEM;
	for (size_t id = 0; id < old->tl.n; id++)
		old_iv[id] = watched(m, id) ? interval_of(m, (uint32_t)id) : 0;
	m->t = t;
	recompute_load(m);
	for (size_t id = 0; id < t->tl.n; id++) {
		bool was = id < old->tl.n && !old->dead[id];
		if (t->dead[id]) {
			if (was) {
				wheel_remove(m->wheel, (uint32_t)id);
				state_init(&m->st[id]);
			}
			continue;
		}
		if (was && old_iv[id] == interval_of(m, (uint32_t)id) && wheel_contains(m->wheel, (uint32_t)id))
			continue; /* unchanged: keeps its schedule */
		wheel_remove(m->wheel, (uint32_t)id);
		if (m->foreign[id])
			continue;
		wheel_insert(m->wheel, (uint32_t)id, due_after(m, (uint32_t)id, now_mono, now_real));
	}
	free(old_iv);
	find_canaries(m);
	return build_hosts(m);
}

uint32_t monitor_resume(struct monitor *m, const struct state_saved *saved)
{
	uint32_t resumed = 0;

	for (size_t h = 0; h < m->n_hosts; h++)
		m->hosts[h].down = 0;
	for (size_t id = 0; id < m->t->tl.n; id++) {
		if (m->t->dead[id])
			continue;
		if (saved[id].state != TARGET_UNKNOWN) {
			state_resume(&m->st[id], params_of(m, (uint32_t)id), &saved[id]);
			resumed++;
		}
		uint32_t h = m->host_of[id];
		if (h == HOST_NONE || m->t->tl.v[id].port == TARGET_PORT_ICMP || m->st[id].state != TARGET_DOWN)
			continue;
		/* the host went down when its last port did */
		struct host *ho = &m->hosts[h];
		if (!ho->down++ || m->st[id].since_ns > ho->since_ns)
			ho->since_ns = m->st[id].since_ns;
	}
	for (size_t h = 0; h < m->n_hosts; h++) {
		struct host *ho = &m->hosts[h];
		/* as host_transition would have it */
		if (ho->down && ho->down == ho->ports && (ho->ports >= 2 || ho->ping != HOST_NONE))
			ho->event = m->next_event++;
	}
	return resumed;
}

void monitor_export(const struct monitor *m, struct state_saved *saved)
{
	for (size_t id = 0; id < m->t->tl.n; id++) {
		const struct target_status *st = &m->st[id];
		saved[id] = (struct state_saved){ .state = TARGET_UNKNOWN };
		if (watched(m, id) && st->state != TARGET_UNKNOWN && st->since_ns > 0)
			saved[id] = (struct state_saved){
				.since_ns = st->since_ns,
				.state = st->state,
				.reason = st->reason,
				.ok_streak = st->ok_streak,
				.fail_streak = st->fail_streak,
			};
	}
}

/* A target another member took: its state is theirs from now on. Should it
 * come back, it starts from unknown rather than from what it was before it
 * left (the other member may have seen it change meanwhile). */
static void let_go(struct monitor *m, uint32_t id)
{
	uint32_t h = m->host_of[id];

	wheel_remove(m->wheel, id);
	if (h != HOST_NONE && m->t->tl.v[id].port != TARGET_PORT_ICMP && m->st[id].state == TARGET_DOWN &&
	    m->hosts[h].down)
		m->hosts[h].down--;
	state_init(&m->st[id]);
	memset(m->rtts[id], 0xff, sizeof(m->rtts[id]));
	m->foreign[id] = 1;
}

uint32_t monitor_set_foreign(struct monitor *m, const uint8_t *foreign, uint64_t now_mono, int64_t now_real)
{
	uint32_t owned = 0;

	for (size_t id = 0; id < m->t->tl.n; id++) {
		bool f = foreign && foreign[id];
		if (m->t->dead[id])
			continue;
		if (f && !m->foreign[id]) {
			let_go(m, (uint32_t)id);
		} else if (!f && m->foreign[id]) {
			m->foreign[id] = 0;
			m->stats.taken_over++;
		}
		owned += !f;
	}
	/* the load (and so the stretch and every interval) is of our share */
	recompute_load(m);
	for (size_t id = 0; id < m->t->tl.n; id++)
		if (watched(m, id) && !wheel_contains(m->wheel, (uint32_t)id))
			wheel_insert(m->wheel, (uint32_t)id, due_after(m, (uint32_t)id, now_mono, now_real));
	return owned;
}

size_t monitor_due(struct monitor *m, uint64_t now_mono, int64_t now_real, uint32_t *out, size_t max)
{
	size_t n = wheel_advance(m->wheel, now_mono, out, max);

	for (size_t i = 0; i < n; i++) {
		/* the next check is at the next phase instant: no drift, and
		 * an interval changed by a stretch applies from here on */
		wheel_insert(m->wheel, out[i], due_after(m, out[i], now_mono, now_real));
	}
	m->stats.started += n;
	return n;
}

void monitor_overrun(struct monitor *m, uint32_t id)
{
	(void)id;
	m->stats.overruns++;
	m->stats.started--;
}

void monitor_emit(struct monitor *m, struct sw_event *e)
{
	e->id = m->next_event++;
	m->stats.events++;
	m->cfg.emit_event(m->cfg.ctx, e);
}

/* Checks of up targets in the isolation window enough to judge the prober
 * isolated when every canary fails too (the fleet's own minimum,
 * isolation_min, is for the share alone). */
#define ISOLATION_MIN_CONFIRMED 3

static bool up_like(uint8_t s)
{
	return s == TARGET_UP || s == TARGET_DEGRADED;
}

/* Counts a check of a target that was up, and decides whether the prober
 * itself is cut off. */
static void isolation_account(struct monitor *m, const struct probe_result *r, bool fail)
{
	int64_t sec = r->ts_real_ns / NSEC_PER_SEC;
	struct iso_bucket *b = &m->iso[sec % ISO_BUCKETS];

	if (b->sec != sec)
		*b = (struct iso_bucket){ .sec = sec };
	b->checks++;
	b->fails += fail;

	uint64_t checks = 0, fails = 0;
	for (int64_t s = sec - m->iso_window_s + 1; s <= sec; s++) {
		const struct iso_bucket *x = &m->iso[s % ISO_BUCKETS];
		if (x->sec == s) {
			checks += x->checks;
			fails += x->fails;
		}
	}
	bool canaries_down = true, canaries = false;
	for (size_t c = 0; c < m->cfg.n_canaries; c++)
		if (m->canary_id[c] != UINT32_MAX) {
			canaries = true;
			if (m->canary_fail[c] != 1)
				canaries_down = false;
		}
	/* Too few checks to judge by their share alone, unless the canaries
	 * confirm: a small fleet whose every canary fails too (or that is
	 * isolated and may come back) is judged from ISOLATION_MIN_CONFIRMED */
	uint32_t min = m->cfg.isolation_min;
	if (canaries && (canaries_down || m->isolated) && min > ISOLATION_MIN_CONFIRMED)
		min = ISOLATION_MIN_CONFIRMED;
	if (checks < min)
		return;
	double share = (double)fails / (double)checks;
	struct sw_event e = {
		.ts_real_ns = r->ts_real_ns, .count = (uint32_t)(share * 1000.0 + 0.5), .rtt_ns = -1,
	};
	if (!m->isolated && share >= m->cfg.isolation_share && canaries_down) {
		m->isolated = true;
		m->isolated_since = r->ts_real_ns;
		e.kind = EVENT_PROBER_ISOLATED;
		monitor_emit(m, &e);
	} else if (m->isolated && share < m->cfg.isolation_share / 2) {
		m->isolated = false;
		e.kind = EVENT_PROBER_OK;
		e.since_ns = m->isolated_since;
		monitor_emit(m, &e);
	}
}

static void canary_account(struct monitor *m, uint32_t id, bool fail)
{
	for (size_t c = 0; c < m->cfg.n_canaries; c++)
		if (m->canary_id[c] == id)
			m->canary_fail[c] = fail;
}

/* RTTs kept in 16 bits: microseconds as an 11-bit mantissa and a 5-bit
 * exponent (1/2048 relative precision from 1 us to hours). */
static uint16_t rtt_pack(int64_t rtt_ns)
{
	uint64_t us = rtt_ns > 0 ? (uint64_t)rtt_ns / NSEC_PER_USEC : 0;
	unsigned e = 0;

	while (us > 2047 && e < 30) {
		us >>= 1;
		e++;
	}
	return (uint16_t)(e << 11 | (us > 2047 ? 2047 : us));
}

static int64_t rtt_unpack(uint16_t v)
{
	return (int64_t)((uint64_t)(v & 2047) << (v >> 11)) * NSEC_PER_USEC;
}

static void rtt_record(struct monitor *m, uint32_t id, int64_t rtt_ns)
{
	m->rtts[id][m->rtt_head[id] % RTT_RING] = rtt_pack(rtt_ns);
	m->rtt_head[id] = (uint8_t)((m->rtt_head[id] + 1) % RTT_RING);
}

/* The p95 of the recent RTTs (of at most eight: their second largest
 * above seven samples would be the same as the largest, so the largest). */
static int64_t rtt_p95(const struct monitor *m, uint32_t id)
{
	int64_t best = -1;

	for (int i = 0; i < RTT_RING; i++)
		if (m->rtts[id][i] != RTT_NONE && rtt_unpack(m->rtts[id][i]) > best)
			best = rtt_unpack(m->rtts[id][i]);
	return best;
}

/* The state of the host's ping check for host events: up, down, or
 * unknown (also when it has none). "Ports down, ping up" is a service
 * outage on a live host; "ping down too" is the host gone. */
static uint8_t ping_state(const struct monitor *m, const struct host *ho)
{
	return ho->ping == HOST_NONE ? TARGET_UNKNOWN : m->st[ho->ping].state;
}

static void host_transition(struct monitor *m, uint32_t id, uint8_t from, uint8_t to, int64_t ts,
			    uint64_t *host_event)
{
	uint32_t h = m->host_of[id];

	*host_event = 0;
	if (h == HOST_NONE)
		return;
	struct host *ho = &m->hosts[h];
	if (m->t->tl.v[id].port == TARGET_PORT_ICMP) {
		*host_event = ho->event; /* the ping of a host that is down belongs to its outage */
		return;
	}
	if (from == TARGET_DOWN && ho->down)
		ho->down--;
	if (to == TARGET_DOWN) {
		ho->down++;
		/* one port down on a host with no other check is that port's
		 * own event; with a ping beside it, it is the host's too */
		if (ho->down == ho->ports && (ho->ports >= 2 || ho->ping != HOST_NONE) && !ho->event) {
			struct sw_event e = {
				.ts_real_ns = ts, .kind = EVENT_HOST_DOWN, .addr = ho->addr, .target = ho->first,
				.count = ho->ports, .rtt_ns = -1, .to = ping_state(m, ho),
			};
			monitor_emit(m, &e);
			ho->event = e.id;
			ho->since_ns = ts;
		}
	} else if (ho->event && up_like(to)) {
		struct sw_event e = {
			.ts_real_ns = ts, .kind = EVENT_HOST_UP, .addr = ho->addr, .target = ho->first,
			.count = ho->ports, .since_ns = ho->since_ns, .rtt_ns = -1, .to = ping_state(m, ho),
		};
		*host_event = ho->event; /* the recovery belongs to the outage it ends */
		monitor_emit(m, &e);
		ho->event = 0;
		return;
	}
	*host_event = ho->event;
}

/* Emits a state event, with the text that goes with it (may be NULL). */
static void emit_state(struct monitor *m, uint32_t id, const struct probe_result *r, uint8_t from, int64_t since,
		       const char *detail)
{
	struct target_status *st = &m->st[id];
	struct sw_event e = {
		.ts_real_ns = r->ts_real_ns,
		.since_ns = since,
		.rtt_ns = r->rtt_ns,
		.target = id,
		.addr = m->t->tl.v[id].addr,
		.kind = EVENT_STATE,
		.from = from,
		.to = st->state,
		.reason = st->reason,
		.probe_state = r->state,
		.icmp_code = r->state == PROBE_UNREACHABLE ? r->icmp_code : 0,
		.check = r->check,
	};
	if (st->reason == REASON_SLOW || st->reason == REASON_SLOW_CRIT)
		e.rtt_ns = rtt_p95(m, id);
	host_transition(m, id, from, st->state, r->ts_real_ns, &e.host_event);
	if (detail && detail[0] && m->cfg.emit_detail) {
		e.id = m->next_event++;
		e.detail = 1;
		m->stats.events++;
		m->cfg.emit_detail(m->cfg.ctx, e.id, detail);
		m->cfg.emit_event(m->cfg.ctx, &e);
		return;
	}
	monitor_emit(m, &e);
}

/* A result goes out with the streaks its target's state counts after it
 * (the state hash keeps them for a restart), before any event it causes. */
static void report(struct monitor *m, struct probe_result *r, const struct target_status *st)
{
	r->ok_streak = st->ok_streak;
	r->fail_streak = st->fail_streak;
	m->cfg.emit_result(m->cfg.ctx, r);
}

void monitor_on_result(struct monitor *m, const struct probe_result *r_in)
{
	uint32_t id = r_in->target;
	bool fail = r_in->state != PROBE_OPEN;
	struct probe_result rc = *r_in;
	const struct probe_result *r = &rc;
	struct check_spec *spec = NULL;

	m->stats.checks++;
	if (m->chk && id < m->t->tl.n && (spec = table_check(m->t, id))) {
		/* the port's check and what it last said go with its SYN */
		rc.check = spec->kind;
		rc.verdict = m->chk[id].verdict;
	}
	if (id >= m->t->tl.n || !watched(m, id)) {
		m->cfg.emit_result(m->cfg.ctx, r);
		return; /* measured, reported, but no longer watched (removed, or another member's now) */
	}

	struct target_status *st = &m->st[id];
	if (m->cfg.n_canaries)
		canary_account(m, id, fail);
	if (up_like(st->state))
		isolation_account(m, r, fail);
	if (m->isolated && fail) {
		/* our own link is down, not the target: hold its state */
		m->stats.held++;
		report(m, &rc, st);
		return;
	}
	if (!fail && r->rtt_ns >= 0)
		rtt_record(m, id, r->rtt_ns);
	if (spec && !fail) {
		struct check_state *cs = &m->chk[id];
		uint32_t now_s = (uint32_t)(r->ts_real_ns / NSEC_PER_SEC);
		if (!cs->busy && now_s >= cs->due_s) {
			int64_t iv = spec->interval_ns ? spec->interval_ns : interval_of(m, id);
			cs->busy = 1;
			cs->due_s = now_s + (uint32_t)((iv + NSEC_PER_SEC - 1) / NSEC_PER_SEC);
			m->stats.service_checks++;
			m->cfg.start_check(m->cfg.ctx, id, check_spec_ref(spec));
		}
		/* the kernel answers, but the service did not: the check's own
		 * results decide, a SYN says nothing new (nor before the first) */
		if (probe_verdict_fails(cs->verdict) || cs->verdict == VERDICT_PENDING) {
			report(m, &rc, st);
			return;
		}
	}

	int64_t since = st->since_ns;
	uint8_t from;
	bool changed = state_update(st, params_of(m, id), r, &from);
	report(m, &rc, st);
	if (changed)
		emit_state(m, id, r, from, since, NULL);
}

void monitor_check_skipped(struct monitor *m, uint32_t id)
{
	m->stats.checks_skipped++;
	if (!m->chk || id >= m->cap)
		return;
	m->chk[id].busy = 0;
	m->chk[id].due_s = 0;
}

void monitor_on_check(struct monitor *m, const struct check_result *c)
{
	uint32_t id = c->target;
	uint8_t verdict;
	int32_t days;
	const struct check_spec *spec = id < m->t->tl.n ? table_check(m->t, id) : NULL;

	if (m->chk && id < m->cap)
		m->chk[id].busy = 0;
	check_judge(c, spec, &verdict, &days);
	if (m->cfg.emit_check)
		m->cfg.emit_check(m->cfg.ctx, c, verdict, days);
	if (!m->chk || !spec || id >= m->t->tl.n || !watched(m, id))
		return; /* measured, reported, but no longer watched */
	struct check_state *cs = &m->chk[id];
	cs->verdict = verdict;
	cs->days_left = (int16_t)(days == INT32_MIN ? INT16_MIN : days < -32767 ? -32767 : days > 32767 ? 32767 : days);

	/* the check as the state machine takes it: connected, with its verdict */
	struct probe_result r = {
		.ts_real_ns = c->ts_real_ns, .rtt_ns = -1, .target = id, .state = PROBE_OPEN,
		.check = spec->kind, .verdict = verdict,
	};
	struct target_status *st = &m->st[id];
	bool fail = probe_verdict_fails(verdict);
	if (up_like(st->state))
		isolation_account(m, &r, fail);
	if (m->isolated && fail) {
		m->stats.held++;
		return;
	}
	int64_t since = st->since_ns;
	uint8_t from;
	if (!state_update(st, params_of(m, id), &r, &from))
		return;
	char text[CHECK_TEXT_MAX + 64];
	if (verdict == VERDICT_CERT_EXPIRED || verdict == VERDICT_CERT_EXPIRING)
		snprintf(text, sizeof(text), "certificate %s %d day%s%s", days < 0 ? "expired" : "expires in",
			 days < 0 ? -days : days, (days == 1 || days == -1) ? "" : "s", days < 0 ? " ago" : "");
	else
		snprintf(text, sizeof(text), "%s", c->v.error);
	emit_state(m, id, &r, from, since, text);
}

const struct target_status *monitor_status(const struct monitor *m, uint32_t id)
{
	return id < m->t->tl.n ? &m->st[id] : NULL;
}

uint64_t monitor_next_due(const struct monitor *m, uint32_t id)
{
	return wheel_contains(m->wheel, id) ? wheel_due(m->wheel, id) : 0;
}

void monitor_get_counters(const struct monitor *m, struct monitor_stats *out)
{
	*out = m->stats;
	out->isolated = m->isolated;
	out->targets = 0;
	memset(out->by_state, 0, sizeof(out->by_state));
}

void monitor_get_stats(const struct monitor *m, struct monitor_stats *out)
{
	monitor_get_counters(m, out);
	for (size_t id = 0; id < m->t->tl.n; id++) {
		if (!watched(m, id))
			continue;
		out->targets++;
		if (m->st[id].state < TARGET_STATE_COUNT)
			out->by_state[m->st[id].state]++;
	}
}

void monitor_isolation(const struct monitor *m, struct monitor_isolation *out)
{
	*out = (struct monitor_isolation){
		.checks = m->stats.demand_pps * (double)m->iso_window_s,
		.window_s = m->iso_window_s,
		.min = m->cfg.isolation_min,
	};
	for (size_t c = 0; c < m->cfg.n_canaries; c++)
		if (m->canary_id[c] != UINT32_MAX)
			out->canaries = true;
}

void monitor_memuse(const struct monitor *m, struct memuse *u)
{
	memuse_add(u, "monitor.status", m->cap * sizeof(*m->st), true);
	memuse_add(u, "monitor.rtts", m->cap * (sizeof(*m->rtts) + sizeof(*m->rtt_head)), true);
	memuse_add(u, "monitor.host_of", m->cap * sizeof(*m->host_of), true);
	memuse_add(u, "monitor.foreign", m->cap * sizeof(*m->foreign), true);
	if (m->chk)
		memuse_add(u, "monitor.service_checks", m->cap * sizeof(*m->chk), true);
	memuse_add(u, "monitor.hosts", m->hosts_cap * sizeof(*m->hosts), true);
	wheel_memuse(m->wheel, u);
}
