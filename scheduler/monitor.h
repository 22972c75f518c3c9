/* The monitor: continuous mode's brain, on the main thread. It decides when
 * each target is due (a timing wheel; phases spread by a hash of the target,
 * anchored to the wall clock so a restart keeps them), stretches intervals
 * when the fleet asks for more than the rate cap, turns each check's result
 * into the target's state (scheduler/state.h), rolls ports up into hosts,
 * notices when the prober itself is cut off, and emits results and events.
 * It never touches a socket: due targets go to the tracker (sched_start),
 * finished checks come back through monitor_on_result. */
#ifndef SW_MONITOR_H
#define SW_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/check.h"
#include "common/probe.h"
#include "scheduler/table.h"

struct monitor;

struct monitor_config {
	uint64_t rate_cap;          /* probes per second the prober may send, > 0 */
	double isolation_share;     /* isolated when at least this share of the checks of up targets
	                               failed in the isolation window (0 < x <= 1; 0 means 0.5) */
	uint32_t isolation_min;     /* ... counting at least this many checks (0 means 20; 3 when every
	                               canary fails too) */
	const struct sw_addr *canaries; /* optional: with canaries, isolation also needs every canary failing */
	const uint16_t *canary_ports;
	size_t n_canaries;
	void (*emit_result)(void *ctx, const struct probe_result *r);
	void (*emit_event)(void *ctx, const struct sw_event *e);
	/* Service checks (common/check.h; NULL: none run). start_check: target
	 * id's check is due (its SYN was just answered): run spec (a reference
	 * for the caller to keep and drop) and feed the result to
	 * monitor_on_check. emit_check: a check's result, with the verdict the
	 * state takes from it and the certificate's days left (INT32_MIN:
	 * none). emit_detail: the text that goes with the next event (its id),
	 * called just before emit_event for it. */
	void (*start_check)(void *ctx, uint32_t id, struct check_spec *spec);
	void (*emit_check)(void *ctx, const struct check_result *r, uint8_t verdict, int32_t days_left);
	void (*emit_detail)(void *ctx, uint64_t event_id, const char *text);
	void *ctx;
};

struct monitor_stats {
	uint64_t checks;          /* results fed */
	uint64_t started;         /* checks handed to the tracker */
	uint64_t overruns;        /* a target was due while its previous check was still running */
	uint64_t events;
	uint64_t held;            /* failures not applied while the prober was isolated */
	uint64_t service_checks;  /* service checks started */
	uint64_t checks_skipped;  /* ... of which not run (monitor_check_skipped) */
	double demand_pps;        /* what the targets' intervals ask for */
	double stretch[4];        /* interval factor per priority (0 low .. 3 critical); 1 = as configured */
	bool overloaded;          /* demand exceeds the cap: intervals are stretched */
	bool isolated;
	uint64_t taken_over;      /* targets that became ours after another member had them */
	uint32_t targets;         /* live targets this prober owns (all of them without sharding) */
	uint32_t by_state[TARGET_STATE_COUNT];
};

/* Starts monitoring every live target of t: first checks at their phases.
 * now_*: the current monotonic and wall-clock times (a virtual clock in
 * tests). Returns 0 and sets *out (free with monitor_free), or -ENOMEM. */
int monitor_new(struct monitor **out, const struct monitor_config *cfg, const struct table *t, uint64_t now_mono,
		int64_t now_real);
void monitor_free(struct monitor *m);

/* At start-up, before the first result: continues each target from the
 * state a previous run left it in (state_resume), saved[id] for every id
 * of the current table (TARGET_UNKNOWN: it starts unknown, as without).
 * Emits nothing: what the previous run told stays told. A host whose every
 * port resumes down is still down: its recovery is told as host_up and
 * its ports' events carry the outage's host_event id (the host_down event
 * itself was the previous run's: no entry of this run has that id).
 * Returns how many targets were resumed. */
uint32_t monitor_resume(struct monitor *m, const struct state_saved *saved);
/* The other way: every watched target's state into saved[id] (t->tl.n
 * entries; TARGET_UNKNOWN for the others), for the next start (the local
 * state file without Redis). */
void monitor_export(const struct monitor *m, struct state_saved *saved);

/* A reload: t is the next generation of the current table. Targets that
 * stay keep their state and their schedule; added ones start at their
 * phase; removed ones stop (a check in flight still reports). */
int monitor_set_table(struct monitor *m, const struct table *t, uint64_t now_mono, int64_t now_real);

/* Sharding (scheduler/shard.h): foreign[id] = 1 for the targets of the
 * current table that another member of the location owns (t->tl.n entries,
 * as shard_assign fills them); NULL: every target is ours. Targets that
 * become ours start at their next phase; targets that become foreign stop
 * being scheduled and go back to unknown (a check in flight still reports
 * its result, and changes no state). The load is recomputed for the share.
 * A reload keeps the foreign marks of the ids that stay; ids it adds are
 * ours until the next call. Returns the number of live targets owned. */
uint32_t monitor_set_foreign(struct monitor *m, const uint8_t *foreign, uint64_t now_mono, int64_t now_real);

/* Ids due at now_mono (at most max) whose checks should start now. The
 * caller passes each to sched_start and reports a refusal with
 * monitor_overrun. Call again while it returns max. */
size_t monitor_due(struct monitor *m, uint64_t now_mono, int64_t now_real, uint32_t *out, size_t max);
void monitor_overrun(struct monitor *m, uint32_t id);

/* A finished check: emits the result and any events it causes. A SYN
 * answered on a port with a service check carries the check's last
 * verdict, starts the check when it is due, and while the service is
 * failing tells nothing (the check's results decide). */
void monitor_on_result(struct monitor *m, const struct probe_result *r);
/* A service check's result (after start_check): its verdict becomes the
 * port's, feeds the state, emits the result and any events. */
void monitor_on_check(struct monitor *m, const struct check_result *r);
/* Target id's check, started by start_check, could not be run (the checker
 * is that far behind): nothing was measured, so the target keeps its state
 * and last verdict; its check is due again at its next answered SYN. */
void monitor_check_skipped(struct monitor *m, uint32_t id);

/* Emits an event (address changes noticed by the daemon on re-resolution);
 * fills in its id. */
void monitor_emit(struct monitor *m, struct sw_event *e);

/* The state of a target (tests, status). */
const struct target_status *monitor_status(const struct monitor *m, uint32_t id);
/* Its next due time (monotonic), 0 if not scheduled. */
uint64_t monitor_next_due(const struct monitor *m, uint32_t id);
void monitor_get_stats(const struct monitor *m, struct monitor_stats *out);

/* Prober isolation as the table makes it: the checks expected in its
 * window (window_s, the shortest interval), the fewest it judges by their
 * share alone (min), and whether a canary can confirm, in which case it
 * judges from 3. */
struct monitor_isolation {
	double checks;
	int64_t window_s;
	uint32_t min;
	bool canaries;
};
void monitor_isolation(const struct monitor *m, struct monitor_isolation *out);
/* The same without targets and by_state, which take a pass over every
 * target: for checks several times a second of a million targets. */
void monitor_get_counters(const struct monitor *m, struct monitor_stats *out);

/* Adds the monitor's arrays (and its wheel's) to u, for --mem-report. */
void monitor_memuse(const struct monitor *m, struct memuse *u);

/* The interval factor per priority for a demand (probes/s per priority
 * class) under a cap: lower priorities are stretched first, each by at
 * most MONITOR_MAX_STRETCH, then everyone evenly. Pure; exported for tests. */
#define MONITOR_MAX_STRETCH 10.0
void monitor_stretch(const double demand[4], double cap, double factor[4]);

#endif
