/* What the running prober tells: its heartbeat in Redis, the overload and
 * isolation changes in the log, the live status or progress line on a
 * terminal, and the summary at the end. Main thread. */
#ifndef SW_STATUS_H
#define SW_STATUS_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;

/* What the status keeps between calls (in struct daemon). */
struct status {
	bool show;                  /* a status or progress line on stderr: a terminal, no -q, no dry run */
	uint64_t start_ns;          /* CLOCK_MONOTONIC: when the run loop began */
	uint64_t line_sent;         /* the status line's rate: probes sent at its last update */
	uint64_t line_ns;           /* ... and when (CLOCK_MONOTONIC) */
	uint64_t beat_sent;         /* the heartbeat's rates: probes sent at the last beat */
	uint64_t beat_replies;      /* ... and replies */
	bool overloaded, isolated;  /* as last logged */
	uint64_t checks_skipped;    /* service checks not run, at the last look */
	bool checks_behind;         /* as last logged */
};

/* The run loop begins at now (CLOCK_MONOTONIC). */
void status_begin(struct daemon *d, uint64_t now);

/* Logs a change of the overload or isolation state once, not per check.
 * Monitoring only. */
void status_health(struct daemon *d);

/* The prober's counters for its heartbeat in Redis; call once a second. */
void status_heartbeat(struct daemon *d);

/* A few times a second: status_health, and the status line (monitoring)
 * or the progress line (--once) when shown. */
void status_update(struct daemon *d, uint64_t now);

/* After the threads stopped: clears the line, prints the summary (unless
 * -q or a dry run) and the Redis counters (unless -q) on stderr. elapsed_ns
 * is how long the run loop ran; interrupted: SIGINT or SIGTERM ended it. */
void status_summary(struct daemon *d, uint64_t elapsed_ns, bool interrupted);

#endif
