/* The rate limiter keeps the schedule as an exact rational: the next packet
 * is due at next_ns + rem / pps nanoseconds, 0 <= rem < pps. Advancing by one
 * packet adds 1e9 / pps, carried in integers, so after any number of packets
 * the schedule is exactly start + k * 1e9 / pps with no float drift (a float
 * interval of 1e9/3 would be off by a packet within hours at high rates). */
#include "common/clock.h"
#include "engine/rate.h"

#define RATE_LAG_MIN_NS (20 * NSEC_PER_MSEC)
#define RATE_LAG_PACKETS 64

typedef unsigned __int128 u128;

void rate_init(struct rate_limiter *r, uint64_t pps, uint64_t now_ns)
{
	r->pps = pps;
	r->next_ns = now_ns;
	r->rem = 0;
	/* How much lateness is still paid back. A sleeping sender wakes late
	 * by timer slack (50 us by default) plus scheduling delay; on a busy
	 * probe host (the receiver thread, softirqs and everything else
	 * sharing two cores) it is preempted now and then for milliseconds.
	 * That debt must be repaid or the rate over a second falls short:
	 * 20 ms, 2 % of a second, is the most a 1-second window may lose and
	 * stay within the +-2 % synwatch promises, so anything up to it is
	 * made up at once. At low rates 64 intervals (one default sendmmsg
	 * batch) is more, and keeps a sender that handles a whole batch per
	 * wake-up on schedule. Anything later is a real stall (a blocked
	 * send, a suspended process) whose debt is dropped so that it is not
	 * followed by a burst the network never agreed to. */
	r->max_lag_ns = RATE_LAG_MIN_NS;
	if (pps) {
		uint64_t lag = (uint64_t)((u128)RATE_LAG_PACKETS * NSEC_PER_SEC / pps);
		if (lag > r->max_lag_ns)
			r->max_lag_ns = lag;
	}
}

uint32_t rate_due(struct rate_limiter *r, uint64_t now_ns, uint32_t max)
{
	if (r->pps == 0)
		return max;
	if (now_ns < r->next_ns)
		return 0;
	uint64_t late = now_ns - r->next_ns;
	if (late > r->max_lag_ns) {
		r->next_ns = now_ns - r->max_lag_ns;
		r->rem = 0;
		late = r->max_lag_ns;
	}
	/* packet j (0 = next) is due when (rem + j * 1e9) / pps <= late */
	u128 budget = (u128)late * r->pps;
	if (budget < r->rem)
		return 0;
	u128 n = (budget - r->rem) / NSEC_PER_SEC + 1;
	return n < max ? (uint32_t)n : max;
}

void rate_take(struct rate_limiter *r, uint32_t n)
{
	if (r->pps == 0)
		return;
	u128 add = (u128)r->rem + (u128)n * NSEC_PER_SEC;
	r->next_ns += (uint64_t)(add / r->pps);
	r->rem = (uint64_t)(add % r->pps);
}

uint64_t rate_next_ns(const struct rate_limiter *r)
{
	/* the first whole nanosecond at which the exact due time has passed */
	return r->next_ns + (r->rem != 0);
}

void rate_idle(struct rate_limiter *r, uint64_t now_ns)
{
	/* Nothing was waiting: a schedule in the past would let the next
	 * requests out as a burst paid for by time nobody used. */
	if (r->pps && rate_next_ns(r) < now_ns) {
		r->next_ns = now_ns;
		r->rem = 0;
	}
}
