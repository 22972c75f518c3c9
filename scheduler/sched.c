#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ring.h"
#include "scheduler/sched.h"

#define SLOT_PENDING UINT32_MAX       /* not released yet (continuous: idle between checks) */
#define SLOT_DONE (UINT32_MAX - 1)    /* has its result (or was skipped) */
#define SLOT_QUEUED (UINT32_MAX - 2)  /* continuous: started, waiting for the lookahead */
#define IN_FLIGHT(slot) ((slot) < SLOT_QUEUED)
#define SCHED_MAX_TQUEUES 32
#define SCHED_EPOCHS 4
/* per-destination pacing: addresses probed in the last second, by hash */
#define PACE_SLOTS 65536
#define PACE_PROBE 8
#define INDEX_EMPTY UINT32_MAX

/* Checks are numbered as they are released. Everything queued on behalf of
 * a check (its released requests, its timeouts, its retransmission) carries
 * that number with the attempt, and is acted on only while the target's
 * check in flight still has both: whatever ended the check (a reply, a late
 * reply to an earlier attempt, a send error, a timeout, SIGINT) leaves the
 * queued entries behind, and they must neither touch a released slot nor
 * act on the target's next check. */

/* A check in flight. Stamps per attempt live in s->stamps. */
struct inflight {
	uint32_t target;
	uint32_t check;        /* this check's number (s->next_check when it was released) */
	uint8_t attempt;       /* the latest attempt released */
	uint8_t reported;      /* the latest attempt's SENT report arrived */
	uint16_t pad;
	int64_t released_real; /* fallback stamp for an unreported attempt */
};

struct stamps {
	int64_t user;  /* sender's CLOCK_REALTIME before sendmmsg; 0 if not reported */
	int64_t wire;  /* pcap stamp of our SYN leaving; 0 if not seen */
};

/* One attempt of one check: what the queues hold. */
struct attempt_ref {
	uint32_t target;
	uint32_t check;
	uint8_t attempt;
};

struct timeout_entry {
	uint64_t deadline;
	struct attempt_ref a;
};

/* An address's next free instant under the per-destination limit. */
struct pace_entry {
	struct sw_addr addr;
	uint64_t next_ns;  /* monotonic; 0: empty */
};

/* A check held back by the per-destination limit, with the instant
 * reserved for it. */
struct deferred_entry {
	uint64_t ready_ns;
	uint32_t target;
};

/* growable FIFO of fixed-size entries */
struct fifo {
	unsigned char *v;
	size_t elem, cap, head, len; /* cap is a power of two */
};

struct sched {
	struct sched_config cfg;
	const struct target_list *tl;
	const struct sched_source *sources;
	const uint16_t *src_of;
	uint32_t n_targets;
	uint32_t n_ports;

	uint32_t *slot_of;            /* per target: slot index, or SLOT_PENDING / SLOT_QUEUED / SLOT_DONE */
	uint8_t *epoch;               /* per target: its checks' number modulo n_epochs (source ports) */
	uint32_t n_epochs;
	uint32_t next_check;
	size_t slot_of_cap;
	struct inflight *slots;
	struct stamps *stamps;        /* slots * attempts */
	uint32_t *free_slots;
	size_t n_slots, n_free, attempts;

	uint32_t *index;              /* open addressing: (addr, port) -> target */
	size_t index_cap;             /* slots (< 2^32) */

	/* order of first release: a stride permutation of 0..n-1 */
	uint64_t next_pos, stride;
	bool stop_new;

	struct attempt_ref *released; /* by request seq & released_mask */
	size_t released_mask;
	uint64_t next_seq, reported_seq;

	/* struct timeout_entry in deadline order: one queue per distinct
	 * timeout, since entries of one timeout are pushed in send order */
	struct tqueue {
		int64_t timeout_ns;
		struct fifo f;
	} tq[SCHED_MAX_TQUEUES];
	size_t n_tq;
	struct fifo retrans;  /* struct attempt_ref: the attempt that timed out */
	struct fifo starts;   /* continuous: uint32_t target, in sched_start order */
	struct fifo deferred; /* struct deferred_entry, held back by pacing */
	struct pace_entry *pace;      /* PACE_SLOTS, NULL without a per-destination limit */
	uint64_t pace_gap_ns;

	struct sched_stats st;
};

static int fifo_init(struct fifo *f, size_t elem)
{
	f->elem = elem;
	f->cap = 1024;
	f->head = f->len = 0;
	f->v = malloc(f->cap * elem);
	return f->v ? 0 : -ENOMEM;
}

static int fifo_push(struct fifo *f, const void *e)
{
	if (f->len == f->cap) {
		unsigned char *nv = malloc(f->cap * 2 * f->elem);
		if (!nv)
			return -ENOMEM;
		for (size_t i = 0; i < f->len; i++)
			memcpy(nv + i * f->elem, f->v + ((f->head + i) & (f->cap - 1)) * f->elem, f->elem);
		free(f->v);
		f->v = nv;
		f->head = 0;
		f->cap *= 2;
	}
	memcpy(f->v + ((f->head + f->len) & (f->cap - 1)) * f->elem, e, f->elem);
	f->len++;
	return 0;
}

static void *fifo_front(struct fifo *f)
{
	return f->len ? f->v + f->head * f->elem : NULL;
}

static void fifo_pop(struct fifo *f)
{
	f->head = (f->head + 1) & (f->cap - 1);
	f->len--;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static const struct target *tgt(const struct sched *s, uint32_t t)
{
	return &s->tl->v[t];
}

/* The index's first slot for (a, port): the hash's top 32 bits scaled to
 * the table (any size, not only powers of two). */
static size_t index_home(const struct sched *s, const struct sw_addr *a, uint16_t port)
{
	return (size_t)(((addr_port_hash(a, port) >> 32) * s->index_cap) >> 32);
}

/* Twice as many slots as targets: half full, like a power-of-two table at
 * its best, without doubling to the next power of two (2^20 targets plus
 * one would take 16 bytes each instead of 8). */
static int index_build(struct sched *s)
{
	size_t cap = (size_t)s->n_targets * 2 + 16;
	if (cap > UINT32_MAX)
		return -E2BIG; /* index_home scales 32 bits */
	uint32_t *ix = malloc(cap * sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	free(s->index);
	s->index = ix;
	memset(s->index, 0xff, cap * sizeof(*s->index));
	s->index_cap = cap;
	for (uint32_t t = 0; t < s->n_targets; t++) {
		size_t i = index_home(s, &tgt(s, t)->addr, tgt(s, t)->port);
		while (s->index[i] != INDEX_EMPTY)
			i = i + 1 == cap ? 0 : i + 1;
		s->index[i] = t;
	}
	return 0;
}

/* The timeout queue for timeout_ns (created on first use). When more
 * distinct timeouts are in use than queues, the longest queue's neighbour
 * takes them: their timeouts may then fire late, never early. */
static struct fifo *tqueue_for(struct sched *s, int64_t timeout_ns)
{
	size_t best = 0;

	for (size_t i = 0; i < s->n_tq; i++) {
		if (s->tq[i].timeout_ns == timeout_ns)
			return &s->tq[i].f;
		if (s->tq[i].timeout_ns >= timeout_ns &&
		    (s->tq[best].timeout_ns < timeout_ns || s->tq[i].timeout_ns < s->tq[best].timeout_ns))
			best = i;
	}
	if (s->n_tq < SCHED_MAX_TQUEUES && fifo_init(&s->tq[s->n_tq].f, sizeof(struct timeout_entry)) == 0) {
		s->tq[s->n_tq].timeout_ns = timeout_ns;
		return &s->tq[s->n_tq++].f;
	}
	return &s->tq[best].f;
}

static void target_params(const struct sched *s, uint32_t t, int64_t *timeout_ns, uint8_t *retries)
{
	*timeout_ns = s->cfg.timeout_ns;
	*retries = s->cfg.retries;
	if (s->cfg.params) {
		s->cfg.params(s->cfg.params_ctx, t, timeout_ns, retries);
		if (*retries > s->cfg.retries)
			*retries = s->cfg.retries; /* the stamps hold no more attempts */
		if (*timeout_ns <= 0)
			*timeout_ns = s->cfg.timeout_ns;
	}
}

/* Exact at first, an eighth more on later growth (as the monitor's arrays). */
static int slot_of_grow(struct sched *s, size_t n)
{
	if (n + 1 > s->slot_of_cap) {
		size_t cap = s->slot_of_cap ? n + 1 + n / 8 : n + 1;
		uint32_t *ns = realloc(s->slot_of, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		s->slot_of = ns;
		uint8_t *ne = realloc(s->epoch, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		s->epoch = ne;
		s->slot_of_cap = cap;
	}
	for (size_t t = s->n_targets; t < n; t++) {
		s->slot_of[t] = SLOT_PENDING;
		s->epoch[t] = 0;
	}
	return 0;
}

static uint32_t index_find(const struct sched *s, const struct sw_addr *a, uint16_t port)
{
	size_t i = index_home(s, a, port);

	for (;;) {
		uint32_t t = s->index[i];
		if (t == INDEX_EMPTY)
			return INDEX_EMPTY;
		if (tgt(s, t)->port == port && addr_equal(&tgt(s, t)->addr, a))
			return t;
		i = i + 1 == s->index_cap ? 0 : i + 1;
	}
}

/* The cookie proves which attempt a reply answers, not which check: the
 * source port tells a target's consecutive checks apart (its epoch), so
 * that a reply to the previous check's attempt k, arriving after the next
 * check's attempt k left, is stale rather than that check's answer. */
uint16_t sched_sport(const struct sched *s, uint32_t target, uint8_t attempt)
{
	const struct target *t = tgt(s, target);
	uint64_t h = addr_port_hash(&t->addr, t->port);
	uint64_t off = (uint64_t)s->epoch[target] * s->attempts + attempt;
	return (uint16_t)(s->cfg.port_lo + (h + off) % s->n_ports);
}

int sched_new(struct sched **out, const struct sched_config *cfg, const struct target_list *tl,
	      const struct sched_source *sources, const uint16_t *src_of)
{
	struct sched *s;
	int r = -ENOMEM;

	*out = NULL;
	if (cfg->port_hi < cfg->port_lo || cfg->retries > PROBE_MAX_ATTEMPT || cfg->timeout_ns <= 0 ||
	    !cfg->emit || tl->n >= SLOT_DONE)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.max_lookahead == 0)
		s->cfg.max_lookahead = 4096;
	s->tl = tl;
	s->sources = sources;
	s->src_of = src_of;
	s->n_targets = (uint32_t)tl->n;
	s->n_ports = (uint32_t)cfg->port_hi - cfg->port_lo + 1;
	s->attempts = (size_t)cfg->retries + 1;
	/* one-shot: one check per target; continuous: up to SCHED_EPOCHS
	 * consecutive checks on distinct ports, as many as the range holds */
	s->n_epochs = cfg->continuous ? (uint32_t)(s->n_ports / s->attempts) : 1;
	if (s->n_epochs > SCHED_EPOCHS)
		s->n_epochs = SCHED_EPOCHS;
	if (s->n_epochs == 0)
		s->n_epochs = 1;

	s->n_targets = 0;
	if (slot_of_grow(s, tl->n) < 0)
		goto out;
	s->n_targets = (uint32_t)tl->n;
	if ((r = index_build(s)) < 0)
		goto out;

	size_t rcap = 1;
	while (rcap < s->cfg.max_lookahead * 2)
		rcap <<= 1;
	s->released = calloc(rcap, sizeof(*s->released));
	s->released_mask = rcap - 1;
	r = -ENOMEM;
	if (!s->released || fifo_init(&s->retrans, sizeof(struct attempt_ref)) < 0 ||
	    fifo_init(&s->starts, sizeof(uint32_t)) < 0 || fifo_init(&s->deferred, sizeof(struct deferred_entry)) < 0)
		goto out;
	if (cfg->per_dest_pps) {
		s->pace = calloc(PACE_SLOTS, sizeof(*s->pace));
		if (!s->pace)
			goto out;
		s->pace_gap_ns = NSEC_PER_SEC / cfg->per_dest_pps;
	}
	if (cfg->continuous)
		s->next_pos = UINT64_MAX; /* nothing is released but what sched_start asks */

	/* a stride coprime with n visits every target once; with a seed the
	 * probing order jumps across the list instead of walking one subnet */
	s->stride = 1;
	if (cfg->order_seed && s->n_targets > 2) {
		uint64_t st = (cfg->order_seed % s->n_targets) | 1;
		while (gcd64(st, s->n_targets) != 1)
			st = (st + 2) % s->n_targets;
		s->stride = st ? st : 1;
	}
	s->st.pending = cfg->continuous ? 0 : s->n_targets;
	*out = s;
	return 0;
out:
	sched_free(s);
	return r;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	free(s->slot_of);
	free(s->epoch);
	free(s->slots);
	free(s->stamps);
	free(s->free_slots);
	free(s->index);
	free(s->released);
	for (size_t i = 0; i < s->n_tq; i++)
		free(s->tq[i].f.v);
	free(s->retrans.v);
	free(s->starts.v);
	free(s->deferred.v);
	free(s->pace);
	free(s);
}

static int slot_alloc(struct sched *s, uint32_t *out)
{
	if (s->n_free == 0) {
		size_t n = s->n_slots ? s->n_slots * 2 : 1024;
		struct inflight *ns = realloc(s->slots, n * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		s->slots = ns;
		struct stamps *nst = realloc(s->stamps, n * s->attempts * sizeof(*nst));
		if (!nst)
			return -ENOMEM;
		s->stamps = nst;
		uint32_t *nf = realloc(s->free_slots, n * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		s->free_slots = nf;
		for (size_t i = n; i > s->n_slots; i--)
			s->free_slots[s->n_free++] = (uint32_t)(i - 1);
		s->n_slots = n;
	}
	*out = s->free_slots[--s->n_free];
	return 0;
}

static struct stamps *stamp(struct sched *s, uint32_t slot, uint8_t attempt)
{
	return &s->stamps[(size_t)slot * s->attempts + attempt];
}

/* The check a queued entry names is still in flight, at that attempt. */
static bool attempt_live(const struct sched *s, const struct attempt_ref *a)
{
	uint32_t slot = s->slot_of[a->target];
	return IN_FLIGHT(slot) && s->slots[slot].check == a->check && s->slots[slot].attempt == a->attempt;
}

static void finish(struct sched *s, uint32_t t, struct probe_result *res)
{
	uint32_t slot = s->slot_of[t];

	res->target = t;
	s->st.results[res->state]++;
	s->cfg.emit(s->cfg.emit_ctx, res);
	if (IN_FLIGHT(slot)) {
		s->free_slots[s->n_free++] = slot;
		s->st.in_flight--;
	}
	s->slot_of[t] = s->cfg.continuous ? SLOT_PENDING : SLOT_DONE;
}

static void finish_error(struct sched *s, uint32_t t, uint8_t attempt, int err, int64_t now_real)
{
	struct probe_result res = {
		.ts_real_ns = now_real, .rtt_ns = -1, .state = PROBE_ERROR, .err = err, .attempt = attempt,
	};
	finish(s, t, &res);
}

/* Queues one attempt of target t; false if the ring is full. */
static bool release_one(struct sched *s, struct ring *reqs, uint32_t t, uint8_t attempt, int64_t now_real)
{
	const struct sched_source *src = &s->sources[s->src_of[t]];
	struct probe_req req = {
		.src = src->addr,
		.dst = tgt(s, t)->addr,
		.seq = s->next_seq,
		.target = t,
		.sport = sched_sport(s, t, attempt),
		.dport = tgt(s, t)->port,
		.attempt = attempt,
		.path = src->path,
	};

	if (ring_push(reqs, &req, 1) != 1)
		return false;
	struct inflight *in = &s->slots[s->slot_of[t]];
	s->released[s->next_seq & s->released_mask] =
		(struct attempt_ref){ .target = t, .check = in->check, .attempt = attempt };
	s->next_seq++;
	s->st.released++;
	in->attempt = attempt;
	in->reported = 0;
	in->released_real = now_real;
	*stamp(s, s->slot_of[t], attempt) = (struct stamps){ 0, 0 };
	return true;
}

/* Per-destination pacing: may target t's first SYN go to its address now?
 * If not, *ready is the instant reserved for it (the address's next free
 * one). The table only knows addresses probed in the last second or so:
 * older entries are taken over. A crowded neighbourhood lets the probe go
 * (the limit is a safety net, never a reason to stall). */
static bool pace_allow(struct sched *s, uint32_t t, uint64_t now, uint64_t *ready)
{
	const struct sw_addr *a = &tgt(s, t)->addr;
	size_t i = addr_port_hash(a, 0) & (PACE_SLOTS - 1);
	struct pace_entry *free_e = NULL;

	for (int k = 0; k < PACE_PROBE; k++, i = (i + 1) & (PACE_SLOTS - 1)) {
		struct pace_entry *e = &s->pace[i];
		if (e->next_ns && addr_equal(&e->addr, a)) {
			if (e->next_ns <= now) {
				e->next_ns = now + s->pace_gap_ns;
				return true;
			}
			*ready = e->next_ns;
			e->next_ns += s->pace_gap_ns;
			s->st.paced++;
			return false;
		}
		if (!free_e && (e->next_ns == 0 || e->next_ns + NSEC_PER_SEC < now))
			free_e = e;
	}
	if (free_e)
		*free_e = (struct pace_entry){ .addr = *a, .next_ns = now + s->pace_gap_ns };
	return true;
}

/* The target just taken leaves the pending order. */
static void next_start(struct sched *s)
{
	if (s->cfg.continuous)
		fifo_pop(&s->starts);
	else
		s->next_pos++;
	s->st.pending--;
}

bool sched_start(struct sched *s, uint32_t t)
{
	if (t >= s->n_targets || s->slot_of[t] != SLOT_PENDING || s->stop_new)
		return false;
	if (fifo_push(&s->starts, &t) < 0)
		return false;
	s->slot_of[t] = SLOT_QUEUED;
	s->st.pending++;
	return true;
}

bool sched_busy(const struct sched *s, uint32_t t)
{
	return t < s->n_targets && s->slot_of[t] != SLOT_PENDING && s->slot_of[t] != SLOT_DONE;
}

int sched_set_targets(struct sched *s, const struct target_list *tl, const struct sched_source *sources,
		      const uint16_t *src_of)
{
	int r;

	if (!s->cfg.continuous || tl->n < s->n_targets || tl->n >= SLOT_QUEUED)
		return -EINVAL;
	if ((r = slot_of_grow(s, tl->n)) < 0)
		return r;
	s->tl = tl;
	s->sources = sources;
	s->src_of = src_of;
	s->n_targets = (uint32_t)tl->n;
	return index_build(s);
}

size_t sched_release(struct sched *s, struct ring *reqs, uint64_t now_mono, int64_t now_real)
{
	size_t n = 0;

	while (s->next_seq - s->reported_seq < s->cfg.max_lookahead) {
		struct attempt_ref *rt = fifo_front(&s->retrans);
		if (rt) {
			if (!attempt_live(s, rt)) {
				/* its check ended meanwhile (a late reply to that attempt) */
				fifo_pop(&s->retrans);
				s->st.cancelled++;
				continue;
			}
			int err = s->sources[s->src_of[rt->target]].err;
			if (err) {
				/* a reload left the target without a route */
				struct attempt_ref a = *rt;
				fifo_pop(&s->retrans);
				finish_error(s, a.target, a.attempt, err, now_real);
				continue;
			}
			if (!release_one(s, reqs, rt->target, (uint8_t)(rt->attempt + 1), now_real))
				break;
			fifo_pop(&s->retrans);
			s->st.retransmits++;
			n++;
			continue;
		}
		if (s->stop_new)
			break;
		uint32_t t;
		bool from_deferred = false;
		struct deferred_entry *de = fifo_front(&s->deferred);
		if (de && de->ready_ns <= now_mono) {
			t = de->target; /* its instant was reserved when it was held back */
			from_deferred = true;
		} else if (s->cfg.continuous) {
			uint32_t *st = fifo_front(&s->starts);
			if (!st)
				break;
			t = *st;
		} else if (s->next_pos < s->n_targets) {
			t = (uint32_t)((s->next_pos * s->stride) % s->n_targets);
		} else {
			break;
		}
		const struct sched_source *src = &s->sources[s->src_of[t]];
		if (src->err) {
			if (from_deferred) {
				fifo_pop(&s->deferred);
				s->st.pending--;
			} else {
				next_start(s);
			}
			finish_error(s, t, 0, src->err, now_real);
			continue;
		}
		uint64_t ready;
		if (!from_deferred && s->pace && !pace_allow(s, t, now_mono, &ready)) {
			struct deferred_entry d = { .ready_ns = ready, .target = t };
			if (fifo_push(&s->deferred, &d) == 0) {
				/* it stays pending: out of the start order, into the held-back one */
				next_start(s);
				s->st.pending++;
				continue;
			}
		}
		uint32_t slot, before = s->slot_of[t];
		if (slot_alloc(s, &slot) < 0)
			break; /* out of memory: try again later rather than lose the target */
		uint8_t epoch_before = s->epoch[t];
		s->slot_of[t] = slot;
		s->slots[slot] = (struct inflight){ .target = t, .check = s->next_check };
		s->epoch[t] = (uint8_t)((s->epoch[t] + 1) % s->n_epochs);
		if (!release_one(s, reqs, t, 0, now_real)) {
			s->slot_of[t] = before;
			s->epoch[t] = epoch_before;
			s->free_slots[s->n_free++] = slot;
			break;
		}
		s->next_check++;
		if (from_deferred) {
			fifo_pop(&s->deferred);
			s->st.pending--;
		} else {
			next_start(s);
		}
		s->st.in_flight++;
		n++;
	}
	return n;
}

/* The released entry for seq, if its check is still in flight at that attempt. */
static bool released_live(struct sched *s, uint64_t seq, uint32_t *t, uint8_t *attempt, uint32_t *check)
{
	const struct attempt_ref *e = &s->released[seq & s->released_mask];

	*t = e->target;
	*attempt = e->attempt;
	*check = e->check;
	return attempt_live(s, e);
}

void sched_on_report(struct sched *s, const struct send_report *r)
{
	uint32_t t, check;
	uint8_t attempt;

	if (r->kind == SEND_REPORT_FAILED) {
		if (released_live(s, r->seq, &t, &attempt, &check))
			finish_error(s, t, attempt, r->err, r->ts_real_ns);
		if (r->seq + 1 > s->reported_seq)
			s->reported_seq = r->seq + 1;
		return;
	}
	for (uint64_t seq = r->seq; seq < r->seq + r->count; seq++) {
		if (!released_live(s, seq, &t, &attempt, &check))
			continue;
		uint32_t slot = s->slot_of[t];
		stamp(s, slot, attempt)->user = r->ts_real_ns;
		s->slots[slot].reported = 1;
		int64_t timeout_ns;
		uint8_t retries;
		target_params(s, t, &timeout_ns, &retries);
		struct timeout_entry te = {
			.deadline = r->ts_mono_ns + (uint64_t)timeout_ns,
			.a = { .target = t, .check = check, .attempt = attempt },
		};
		if (fifo_push(tqueue_for(s, timeout_ns), &te) < 0) {
			/* cannot track its timeout: better an honest error than a hang */
			finish_error(s, t, attempt, ENOMEM, r->ts_real_ns);
		}
	}
	if (r->seq + r->count > s->reported_seq)
		s->reported_seq = r->seq + r->count;
}

void sched_on_capture(struct sched *s, const struct capture_rec *c)
{
	uint32_t t = index_find(s, &c->remote, c->remote_port);

	if (t == INDEX_EMPTY) {
		s->st.unknown++;
		return;
	}
	uint32_t slot = s->slot_of[t];
	if (!IN_FLIGHT(slot)) {
		if (c->kind != CAPTURE_SYN_OUT)
			s->st.duplicate++;
		return;
	}
	struct inflight *in = &s->slots[slot];
	if (c->attempt > in->attempt || c->local_port != sched_sport(s, t, c->attempt) ||
	    !addr_equal(&c->local, &s->sources[s->src_of[t]].addr)) {
		s->st.stale++;
		return;
	}
	struct stamps *sp = stamp(s, slot, c->attempt);
	if (c->kind == CAPTURE_SYN_OUT) {
		if (!sp->wire)
			sp->wire = c->ts_real_ns;
		s->st.syn_seen++;
		return;
	}
	if (sp->wire && c->ts_real_ns < sp->wire) {
		/* stamped on the same capture before this attempt's SYN left:
		 * it answers an earlier SYN on the same ports */
		s->st.stale++;
		return;
	}

	struct probe_result res = {
		.ts_real_ns = c->ts_real_ns,
		.attempt = c->attempt,
		.ttl = c->ttl,
	};
	int64_t sent = sp->wire;
	if (!sent) {
		sent = sp->user ? sp->user : in->released_real;
		res.rtt_approx = 1;
		s->st.rtt_approx++;
	}
	res.rtt_ns = c->ts_real_ns - sent;
	if (res.rtt_ns < 0)
		res.rtt_ns = 0; /* only possible with the approximate stamp */
	switch (c->kind) {
	case CAPTURE_SYNACK:
	case CAPTURE_ECHO_REPLY: /* a ping target's "open": the host answered */
		res.state = PROBE_OPEN;
		break;
	case CAPTURE_RST:
		res.state = PROBE_CLOSED;
		break;
	default:
		res.state = PROBE_UNREACHABLE;
		res.icmp_type = c->icmp_type;
		res.icmp_code = c->icmp_code;
		res.from = c->from;
		break;
	}
	s->st.replies++;
	finish(s, t, &res);
}

static void expire_queue(struct sched *s, struct fifo *q, uint64_t now_mono, int64_t now_real)
{
	struct timeout_entry *te;

	while ((te = fifo_front(q)) && te->deadline <= now_mono) {
		struct attempt_ref a = te->a;
		uint32_t t = a.target;
		uint8_t attempt = a.attempt;
		fifo_pop(q);
		if (!attempt_live(s, &a))
			continue; /* answered, or a later attempt is out, or another check */
		uint32_t slot = s->slot_of[t];
		int64_t timeout_ns;
		uint8_t retries;
		target_params(s, t, &timeout_ns, &retries);
		if (attempt < retries) {
			s->slots[slot].reported = 0;
			s->slots[slot].attempt = attempt; /* release_one bumps it */
			if (fifo_push(&s->retrans, &a) < 0)
				finish_error(s, t, attempt, ENOMEM, now_real);
			continue;
		}
		struct probe_result res = {
			.ts_real_ns = now_real, .rtt_ns = -1, .state = PROBE_FILTERED, .attempt = attempt,
		};
		finish(s, t, &res);
	}
}

void sched_expire(struct sched *s, uint64_t now_mono, int64_t now_real)
{
	for (size_t i = 0; i < s->n_tq; i++)
		expire_queue(s, &s->tq[i].f, now_mono, now_real);
}

void sched_stop_new(struct sched *s)
{
	uint32_t *q;

	s->stop_new = true;
	while ((q = fifo_front(&s->starts))) {
		s->slot_of[*q] = SLOT_PENDING;
		fifo_pop(&s->starts);
		s->st.pending--;
	}
	struct deferred_entry *de;
	while ((de = fifo_front(&s->deferred))) {
		if (s->cfg.continuous)
			s->slot_of[de->target] = SLOT_PENDING;
		fifo_pop(&s->deferred);
		s->st.pending--;
	}
	/* checks in flight finish as they would have, retransmissions
	 * included: "filtered" means no answer after every retry, and a
	 * check cut short would say so of a target that may be answering */
}

bool sched_done(const struct sched *s)
{
	if (s->cfg.continuous)
		return s->st.in_flight == 0 && s->stop_new;
	return s->st.in_flight == 0 && (s->stop_new || (s->next_pos >= s->n_targets && s->deferred.len == 0));
}

void sched_get_stats(const struct sched *s, struct sched_stats *out)
{
	*out = s->st;
	out->queued_timeouts = 0;
	for (size_t i = 0; i < s->n_tq; i++)
		out->queued_timeouts += s->tq[i].f.len;
	out->queued_retrans = s->retrans.len;
	out->unreported = (size_t)(s->next_seq - s->reported_seq);
}

const char *sched_verify(const struct sched *s)
{
	static const char *const why[] = {
		"free slot list out of bounds", "a slot both free and in use", "a slot names another target",
		"an attempt beyond the retries", "in_flight differs from the slots in use",
		"a queued start not marked queued", "pending differs from the queues",
		"more requests unreported than the lookahead",
	};
	const char *bad = NULL;
	uint8_t *used = calloc(s->n_slots + 1, 1);
	size_t in_use = 0;

	if (!used)
		return NULL; /* cannot check: not a finding */
	if (s->n_free > s->n_slots) {
		bad = why[0];
		goto out;
	}
	for (size_t i = 0; i < s->n_free; i++) {
		if (s->free_slots[i] >= s->n_slots || used[s->free_slots[i]]) {
			bad = why[0];
			goto out;
		}
		used[s->free_slots[i]] = 1;
	}
	for (uint32_t t = 0; t < s->n_targets; t++) {
		uint32_t slot = s->slot_of[t];
		if (!IN_FLIGHT(slot))
			continue;
		if (slot >= s->n_slots || used[slot]) {
			bad = why[1];
			goto out;
		}
		used[slot] = 2;
		if (s->slots[slot].target != t) {
			bad = why[2];
			goto out;
		}
		if (s->slots[slot].attempt >= s->attempts) {
			bad = why[3];
			goto out;
		}
		in_use++;
	}
	if (in_use != s->st.in_flight || in_use != s->n_slots - s->n_free) {
		bad = why[4];
		goto out;
	}
	size_t queued = s->deferred.len;
	for (size_t i = 0; i < s->starts.len; i++) {
		uint32_t t = *(const uint32_t *)(s->starts.v + ((s->starts.head + i) & (s->starts.cap - 1)) * s->starts.elem);
		if (t >= s->n_targets || s->slot_of[t] != SLOT_QUEUED) {
			bad = why[5];
			goto out;
		}
	}
	queued += s->cfg.continuous ? s->starts.len : (size_t)(s->n_targets - s->next_pos);
	if (queued != s->st.pending && !(s->cfg.continuous == false && s->next_pos > s->n_targets)) {
		bad = why[6];
		goto out;
	}
	if (s->next_seq - s->reported_seq > s->cfg.max_lookahead)
		bad = why[7];
out:
	free(used);
	return bad;
}

void sched_memuse(const struct sched *s, struct memuse *u)
{
	size_t fifos = s->retrans.cap * s->retrans.elem + s->starts.cap * s->starts.elem +
		       s->deferred.cap * s->deferred.elem;

	for (size_t i = 0; i < s->n_tq; i++)
		fifos += s->tq[i].f.cap * s->tq[i].f.elem;
	memuse_add(u, "sched.slot_of", s->slot_of_cap * sizeof(*s->slot_of), true);
	memuse_add(u, "sched.epoch", s->slot_of_cap * sizeof(*s->epoch), true);
	memuse_add(u, "sched.index", s->index_cap * sizeof(*s->index), true);
	memuse_add(u, "sched.in_flight",
		   s->n_slots * (sizeof(*s->slots) + s->attempts * sizeof(*s->stamps) + sizeof(*s->free_slots)), false);
	memuse_add(u, "sched.released", (s->released_mask + 1) * sizeof(*s->released), false);
	memuse_add(u, "sched.queues", fifos, false);
	memuse_add(u, "sched.pace", s->pace ? PACE_SLOTS * sizeof(*s->pace) : 0, false);
}
