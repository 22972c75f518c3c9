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

struct state_params {
	uint8_t failures;       /* consecutive failures before down (>= 1) */
	uint8_t successes;      /* consecutive successes before up/recovery (>= 1) */
	int64_t warn_ns;        /* latency over this is slow; 0 = no latency check */
	int64_t crit_ns;        /* latency over this is critically slow; 0 = none */
	uint8_t window;         /* degraded when >= over of the last window probes are slow (1..32) */
	uint8_t over;
	uint8_t flap_changes;   /* flapping when more than this many up/down changes ... (0 = off, <= 12) */
	uint32_t flap_window_s; /* ... within this many seconds */
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
};

struct target_status {
	int64_t since_ns;      /* CLOCK_REALTIME of the last transition (0: never) */
	int64_t last_rtt_ns;   /* -1 if the last result had none */
	uint32_t slow_bits;    /* bit i: the i-th most recent success was over warn */
	uint32_t crit_bits;    /* ... over crit */
	uint32_t flap_times[STATE_MAX_FLAP_CHANGES + 1]; /* seconds (realtime) of recent up/down changes, ring */
	uint8_t flap_head;     /* next write position in flap_times */
	uint8_t flap_count;    /* valid entries */
	uint8_t state;         /* enum target_state, as reported */
	uint8_t held;          /* state to return to when flapping settles */
	uint8_t fail_streak;
	uint8_t ok_streak;
	uint8_t samples;       /* successes seen for the latency window, up to window */
	uint8_t last_ok;       /* 1 if the last result was a success (for flap counting), 2 = none yet */
	uint8_t reason;        /* enum state_reason of the last transition */
	uint8_t last_state;    /* enum probe_state of the last result */
};

void state_init(struct target_status *st);

/* Feeds one result. Returns true when the reported state changed; then
 * *from is the previous state and st->reason says why. now_real_ns is the
 * result's time. */
bool state_update(struct target_status *st, const struct state_params *p, const struct probe_result *r,
		  uint8_t *from);

const char *target_state_name(enum target_state s);
const char *state_reason_name(enum state_reason r);

/* A host event's ping state (struct sw_event.to): "up" (the host answers
 * pings: services down, host alive), "down" (host unreachable), "none"
 * (no ping check). */
const char *event_ping_name(uint8_t to);

#endif
