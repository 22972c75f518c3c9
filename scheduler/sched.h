/* The scheduler: which probe goes out next, which replies answer which
 * probe, timeouts and retries, and the result of each check. Main thread
 * only; it never touches a socket: probes leave through the request ring,
 * replies come in as records (common/probe.h).
 *
 * Matching: a reply is looked up by (target address, target port) in a hash
 * index, then must carry the source port of an attempt of the check in
 * flight; anything else is stale (an earlier check) or a duplicate (the
 * check already has its result) and is counted, never reported. */
#ifndef SW_SCHED_H
#define SW_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/memuse.h"
#include "common/probe.h"
#include "scheduler/targets.h"

struct ring;
struct sched;

/* Where a target's probes come from: the route lookup's answer. */
struct sched_source {
	struct sw_addr addr; /* our source address; unset (family 0) when err != 0 */
	int err;             /* positive errno when there is no usable route */
	uint8_t path;        /* link path of the route (engine/linkpath.h), 0: none */
};

struct sched_config {
	uint16_t port_lo, port_hi;   /* our source-port range */
	uint8_t retries;             /* retransmissions after the first SYN, <= PROBE_MAX_ATTEMPT */
	int64_t timeout_ns;          /* per attempt */
	size_t max_lookahead;        /* requests released but not yet reported sent */
	uint64_t order_seed;         /* permutes the probing order (0: in list order) */
	/* called for each finished check, in the order checks finish */
	void (*emit)(void *ctx, const struct probe_result *r);
	void *emit_ctx;
	/* continuous mode: nothing is released but what sched_start asks, and
	 * a target whose check finished can be started again */
	bool continuous;
	/* at most this many first SYNs per second to one address, so that a
	 * host with many watched ports is not hammered (0: no limit) */
	uint32_t per_dest_pps;
	/* optional: target t's timeout and retries (retries are capped at
	 * .retries, which sizes the per-attempt stamps) */
	void (*params)(void *ctx, uint32_t target, int64_t *timeout_ns, uint8_t *retries);
	void *params_ctx;
};

struct sched_stats {
	uint64_t released;      /* requests handed to the sender */
	uint64_t retransmits;   /* of which retransmissions */
	uint64_t results[PROBE_STATE_COUNT];
	uint64_t replies;       /* replies that gave a result */
	uint64_t syn_seen;      /* our SYNs seen on the wire */
	uint64_t stale;         /* verified replies to an attempt not in flight */
	uint64_t duplicate;     /* verified replies to a check that already has its result */
	uint64_t unknown;       /* verified replies for no known target (should stay 0) */
	uint64_t rtt_approx;    /* results whose send stamp was not seen on the wire */
	uint64_t paced;         /* checks held back by the per-destination limit */
	uint64_t cancelled;     /* queued retransmissions dropped: their check had ended (a late reply) */
	size_t in_flight;
	size_t pending;         /* targets not yet probed */
	size_t queued_timeouts; /* entries in the timeout queues (some for checks that ended) */
	size_t queued_retrans;  /* retransmissions waiting for the lookahead */
	size_t unreported;      /* requests released whose send report has not come back */
};

/* One-shot: every target of tl is checked once. tl and the source table must
 * outlive the scheduler. src_of[i] indexes sources for target i.
 * Returns 0 and sets *out (free with sched_free), or a negative errno. */
int sched_new(struct sched **out, const struct sched_config *cfg, const struct target_list *tl,
	      const struct sched_source *sources, const uint16_t *src_of);
void sched_free(struct sched *s);

/* Continuous mode: queues a check of target t (released within the
 * lookahead, in sched_start order). Returns false if t's previous check is
 * still queued or in flight (the caller counts an overrun) or after
 * sched_stop_new. */
bool sched_start(struct sched *s, uint32_t t);
/* t has a check queued or in flight. */
bool sched_busy(const struct sched *s, uint32_t t);
/* Continuous mode, after a reload: the target list grew (ids are stable,
 * never fewer), with the sources of every target. Checks in flight go on.
 * Returns 0 or a negative errno (the old lists stay in use then). */
int sched_set_targets(struct sched *s, const struct target_list *tl, const struct sched_source *sources,
		      const uint16_t *src_of);

/* Pushes due probes into reqs (the sender's ring), up to the lookahead. */
size_t sched_release(struct sched *s, struct ring *reqs, uint64_t now_mono, int64_t now_real);
void sched_on_report(struct sched *s, const struct send_report *r);
void sched_on_capture(struct sched *s, const struct capture_rec *r);
/* Handles attempts whose timeout passed: retransmit or report filtered. */
void sched_expire(struct sched *s, uint64_t now_mono, int64_t now_real);
/* Starts no new check from now on (SIGINT); checks in flight still finish,
 * their retransmissions included (at most (retries + 1) x timeout). */
void sched_stop_new(struct sched *s);
/* Every check has its result (or was never started after sched_stop_new). */
bool sched_done(const struct sched *s);
void sched_get_stats(const struct sched *s, struct sched_stats *out);
/* Checks the scheduler's own bookkeeping (slots, queues, counters, the
 * lookahead): NULL when it holds, else what is broken. O(targets); for
 * tests and the model harness (tests/fuzz/sched_model.c). */
const char *sched_verify(const struct sched *s);
/* Adds the scheduler's arrays to u, for --mem-report: the per-target ones,
 * and the buffers the probes in flight fill (sized by the rate). */
void sched_memuse(const struct sched *s, struct memuse *u);
/* Source port of a target's attempt: deterministic, spread over the range. */
uint16_t sched_sport(const struct sched *s, uint32_t target, uint8_t attempt);

#endif
