/* The service checks' wiring (docs/checks.md): the checker thread
 * (engine/checker.h) and its rings; a check the monitor finds due becomes
 * a request (the target's address, route source, name, timeout), a result
 * goes back to the monitor, or with --once straight to the store. Main
 * thread only, but for the checker thread itself. */
#ifndef SW_DAEMON_CHECKS_H
#define SW_DAEMON_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/check.h"

struct config;
struct daemon;

/* The connections the checker may open per second under the settings: a
 * tenth of the rate cap (they count against it too), at least 10. */
uint32_t checks_rate(const struct config *c);

/* Sets up the checker when the prober may run service checks (monitoring,
 * or --once with a target that has one). Returns 0, or a negative errno
 * after logging why. */
int checks_open(struct daemon *d);
int checks_start(struct daemon *d);
/* The monitor's start_check: target id's check is due; spec is a
 * reference that travels with the request. */
void checks_request(void *ctx, uint32_t id, struct check_spec *spec);
/* --once: a SYN answered on a port with a check: check it too. */
void checks_after_syn(struct daemon *d, uint32_t id);
/* Results back from the checker into the monitor (or the store). Returns
 * how many. */
size_t checks_poll(struct daemon *d);
/* No check in flight or waiting. */
bool checks_idle(const struct daemon *d);
/* Stops the checker thread: what is in flight ends as "stopped" verdicts,
 * which checks_poll then takes. */
void checks_stop(struct daemon *d);
void checks_close(struct daemon *d);

#endif
