/* The main thread's run loop: while the sender, receiver and store threads
 * run, it drains the sender's reports and the receiver's records into the
 * scheduler, expires timeouts, starts the checks that are due (monitoring)
 * and releases probes; and on its timers it reloads, re-resolves,
 * heartbeats and updates the status line. Signals: SIGHUP reloads, the
 * first SIGINT or SIGTERM stops new probes, the second quits. */
#ifndef SW_LOOP_H
#define SW_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;

/* Installs the handlers of SIGINT, SIGTERM and SIGHUP; ignores SIGPIPE. */
void loop_catch_signals(void);

/* Runs d until every check is done (--once) or a signal ends it. Sets
 * *elapsed_ns to how long it ran; returns true when a signal ended it. */
bool loop_run(struct daemon *d, uint64_t *elapsed_ns);

#endif
