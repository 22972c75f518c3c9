/* The per-target state machine: turns each check's result into the
 * target's state (up, degraded, down, flapping) and says when it changed.
 * Pure and compact (struct target_status is per target, kept small for
 * fleets of millions); any thread that owns the status. */
#ifndef SW_STATE_H
#define SW_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/probe.h"

enum target_state {
	TARGET_UNKNOWN,
	TARGET_UP,
	TARGET_DEGRADED,
	TARGET_DOWN,
	TARGET_FLAPPING,
	TARGET_STATE_COUNT,
};

#define STATE_MAX_FLAP_CHANGES 12
/* The longest flap window the status can count over: ages of changes are
 * kept in 17 bits (the config allows up to a day, 86,400 s). */
#define STATE_MAX_FLAP_WINDOW_S 131071

struct state_params {
	uint8_t failures;       /* consecutive failures before down (>= 1) */
	uint8_t successes;      /* consecutive successes before up/recovery (>= 1) */
	int64_t warn_ns;        /* latency over this is slow; 0 = no latency check */
	int64_t crit_ns;        /* latency over this is critically slow; 0 = none */
	uint8_t window;         /* degraded when >= over of the last window probes are slow (1..32) */
	uint8_t over;
	uint8_t flap_changes;   /* flapping when more than this many up/down changes ... (0 = off, <= 12) */
	uint32_t flap_window_s; /* ... within this many seconds (<= STATE_MAX_FLAP_WINDOW_S) */
};

/* Why the last transition happened. */
enum state_reason {
	REASON_NONE,
	REASON_OPEN,        /* answered */
	REASON_REFUSED,     /* RST */
	REASON_TIMEOUT,     /* filtered */
	REASON_UNREACHABLE, /* ICMP, code in the result */
	REASON_ERROR,       /* could not send */
	REASON_SLOW,        /* latency over warn in over of window */
	REASON_SLOW_CRIT,   /* ... over crit */
	REASON_FLAPPING,
	REASON_SETTLED,     /* flapping ended */
	REASON_CHECK_FAILED,     /* the service check failed (the event carries its error) */
	REASON_CERT_EXPIRING,    /* fewer days left than cert_warn_days */
	REASON_CERT_EXPIRED,     /* expired, or fewer days left than cert_crit_days */
	REASON_CERT_UNVERIFIED,  /* verify: true, and the chain or the name failed */
};

/* One per target: 56 bytes. The recent up/down changes (for flapping) are
 * the second of the latest one and the ages of up to flap_changes earlier
 * ones, in seconds before it: a day's window fits in 17 bits, where the
 * seconds themselves would take 32. */
struct target_status {
	int64_t since_ns;      /* CLOCK_REALTIME of the last transition (0: never) */
	uint32_t slow_bits;    /* bit i: the i-th most recent success was over warn */
	uint32_t crit_bits;    /* ... over crit */
	uint32_t flap_last;    /* second (realtime) of the latest up/down change; with flap_count >= 1 */
	uint16_t flap_age[STATE_MAX_FLAP_CHANGES]; /* bits 0-15 of the earlier changes' ages (seconds
	                                              before flap_last), youngest first */
	uint16_t flap_age_hi;  /* bit i: bit 16 of flap_age[i] */
	uint8_t flap_count;    /* changes remembered: the latest and flap_count - 1 earlier ones */
	uint8_t state;         /* enum target_state, as reported */
	uint8_t held;          /* state to return to when flapping settles */
	uint8_t fail_streak;
	uint8_t ok_streak;
	uint8_t last_ok;       /* 1 if the last result was a success (for flap counting), 2 = none yet */
	uint8_t reason;        /* enum state_reason of the last transition */
};

void state_init(struct target_status *st);

/* A target's state as a previous run of the prober left it (the daemon
 * reads it back at start, docs/redis.md): plain data, no Redis here. */
struct state_saved {
	int64_t since_ns;    /* CLOCK_REALTIME its state began; with state != TARGET_UNKNOWN */
	uint8_t state;       /* enum target_state; TARGET_UNKNOWN: nothing to resume */
	uint8_t reason;      /* enum state_reason of the transition into it */
	uint8_t ok_streak;   /* consecutive successes after its last result ... */
	uint8_t fail_streak; /* ... or failures (at most one of the two is not 0) */
};

/* Continues from a saved state, so that the next results move it exactly
 * as they would have moved it before the restart: a down target needs its
 * confirming successes to go up, and nothing is reported for the resume
 * itself. What the status does not outlive is made up on the safe side:
 * a slow degraded target's latency window starts full (it recovers after
 * a window of fast answers), a flapping one's changes all date from since
 * (it settles a flap window later, unless it goes on flapping). A saved
 * state TARGET_UNKNOWN leaves st as state_init does. */
void state_resume(struct target_status *st, const struct state_params *p, const struct state_saved *s);
/* A saved state from its text, as a state hash (docs/redis.md) and the
 * local state file keep it: the state's and the reason's names, since in
 * Unix ns, the streak (> 0 successes, < 0 failures in a row; "" for 0).
 * Returns false, *out untouched, when it does not resume: no known state
 * but unknown, or no since. An unknown reason is REASON_NONE. Pure. */
bool state_saved_parse(const char *state, const char *since, const char *reason, const char *streak,
		       struct state_saved *out);

/* Feeds one result. Returns true when the reported state changed; then
 * *from is the previous state and st->reason says why. now_real_ns is the
 * result's time. */
bool state_update(struct target_status *st, const struct state_params *p, const struct probe_result *r,
		  uint8_t *from);

/* The flap counter of state_update: records an up/down change at now_s
 * (when changed) and returns how many changes fall within the flap window
 * at now_s, this one included. It remembers the latest p->flap_changes + 1
 * changes, and forgets sooner those a window or more older than a later
 * one (they can count no more; should the realtime clock step back, a
 * change dated after now_s is taken as made at now_s). p->flap_changes
 * >= 1. Pure; exported for tests. */
unsigned state_flap_record(struct target_status *st, const struct state_params *p, uint32_t now_s, bool changed);

const char *target_state_name(enum target_state s);
const char *state_reason_name(enum state_reason r);

/* A host event's ping state (struct sw_event.to): "up" (the host answers
 * pings: services down, host alive), "down" (host unreachable), "none"
 * (no ping check). */
const char *event_ping_name(uint8_t to);

#endif
