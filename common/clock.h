/* The one time source. Two clocks, never mixed in one subtraction:
 * - clock_mono_ns: CLOCK_MONOTONIC, for deadlines, intervals and rates;
 * - clock_real_ns: CLOCK_REALTIME, the clock pcap stamps packets with, so the
 *   only clock an RTT may be computed on (see docs/timestamps.md). */
#ifndef SW_CLOCK_H
#define SW_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NSEC_PER_USEC 1000LL
#define NSEC_PER_MSEC 1000000LL
#define NSEC_PER_SEC 1000000000LL

static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline int64_t clock_real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Sleeps until the monotonic time t_ns (absolute); returns at once if past. */
void clock_sleep_until(uint64_t t_ns);

/* Formats a CLOCK_REALTIME instant as RFC 3339 UTC with nanoseconds,
 * "2026-11-24T01:02:03.123456789Z", into buf (at least 32 bytes).
 * Returns the length written, or -EINVAL if buf is too short. */
int clock_format_rfc3339(int64_t real_ns, char *buf, size_t len);

/* Parses a duration: a number with a unit (ns, us, ms, s, m, h), e.g. "1s",
 * "250ms", "1.5s", "5m". A bare number is seconds. Returns 0 and sets
 * *out_ns, or -EINVAL (also for negative or overflowing values). */
int duration_parse(const char *s, int64_t *out_ns);

#endif
