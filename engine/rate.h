/* engine/rate: the rate limiter arithmetic. Pure, any thread (one limiter
 * per thread). */
#ifndef SW_RATE_H
#define SW_RATE_H

#include <stdint.h>

/* Paces packets at pps on a monotonic nanosecond clock: packet k is due at
 * start + k / pps, computed exactly (no drift). If the sender falls behind
 * by more than max_lag_ns (20 ms, or 64 packets at low rates) the debt is
 * forgiven, so a long stall is never followed
 * by a burst, and time spent idle earns no credit. */
struct rate_limiter {
	uint64_t pps;
	uint64_t next_ns;     /* when the next packet is due */
	uint64_t rem;         /* fractional nanoseconds carried, in units of 1/pps ns */
	uint64_t max_lag_ns;
};

/* pps 0 means unlimited. */
void rate_init(struct rate_limiter *r, uint64_t pps, uint64_t now_ns);
/* How many packets (at most max) are due at now. Does not consume them. */
uint32_t rate_due(struct rate_limiter *r, uint64_t now_ns, uint32_t max);
/* Marks n packets as sent, advancing the schedule. */
void rate_take(struct rate_limiter *r, uint32_t n);
/* The monotonic time the next packet is due (now_ns if already due). */
uint64_t rate_next_ns(const struct rate_limiter *r);
/* Called when there was nothing to send at now: earns no credit for idling. */
void rate_idle(struct rate_limiter *r, uint64_t now_ns);

#endif
