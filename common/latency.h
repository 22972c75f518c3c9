/* Per-target latency statistics: a fixed log-linear ("HDR-like") histogram
 * of RTTs, per-minute records that merge exactly (minutes into hours,
 * locations into one view), and a short text form for Redis. Pure: no
 * allocation, no locks, no clock; the caller owns each struct and calls from
 * one thread at a time. All times are nanoseconds unless the name says
 * otherwise. docs/latency.md has the bucket formula and the text grammar.
 *
 * Buckets (i = 0 .. LAT_NBUCKETS-1, bounds in microseconds, [lower, upper)):
 *   lower(i) = i                                  for i < 16
 *   lower(i) = (16 + i % 16) * 2^(i / 16 - 1)     for i >= 16 (integer division)
 *   upper(i) = lower(i + 1)
 * so [0, 16) us is cut into 1 us buckets and each octave [2^k, 2^(k+1)) us,
 * k = 4..26, into 16 equal ones. The range ends at 2^27 us = 134.217728 s;
 * samples are clamped into [0, LAT_NS_MAX], so larger ones land in the last
 * bucket. Example: 1234567 ns = 1234 us is in octave 2^10, sub-bucket
 * (1234 >> 6) & 15 = 3, i = (10 - 3) * 16 + 3 = 115 = [1216, 1280) us.
 *
 * Quantiles use the nearest rank (rank = ceil(p * n), at least 1) and return
 * the midpoint of the bucket holding that rank, which is within 1/32 of the
 * true sample from 16 us up, within 500 ns below (so within 1/16 from 8 us
 * up). */
#ifndef SW_LATENCY_H
#define SW_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#define LAT_NBUCKETS 384                              /* 16 + 23 octaves * 16 */
#define LAT_NS_MAX (INT64_C(134217728000) - 1)       /* upper(LAT_NBUCKETS - 1) - 1 */
#define LAT_TEXT_MAX 6144                             /* lat_encode never needs more (with the NUL) */

struct lat_hist {
	uint32_t counts[LAT_NBUCKETS]; /* samples per bucket */
};

/* Invariants, kept by the functions below and checked by lat_encode and
 * lat_decode: count == the sum of h.counts; when count == 0, min, max and sum
 * are 0; otherwise 0 <= min <= max <= LAT_NS_MAX, min lies in the first
 * non-empty bucket, max in the last, and min <= sum / count <= max. */
struct lat_minute {
	int64_t minute_start_s; /* Unix seconds (>= 0) of the period's start */
	uint32_t count;         /* answered probes, i.e. samples */
	uint32_t lost;          /* probes that got no answer */
	int64_t min_ns, max_ns; /* smallest and largest sample (clamped as above) */
	int64_t sum_ns;         /* sum of the samples, for the mean */
	struct lat_hist h;
};

/* The bucket that holds ns: ns < 0 counts as 0, ns > LAT_NS_MAX as LAT_NS_MAX. */
int lat_bucket_of(int64_t ns);
/* Inclusive lower and exclusive upper bound of bucket i in ns (multiples of
 * 1000), or -EINVAL if i is not in 0 .. LAT_NBUCKETS-1. */
int64_t lat_bucket_lower(int i);
int64_t lat_bucket_upper(int i);

/* Counts one sample of ns (clamped). Returns 0, or -EOVERFLOW (h unchanged)
 * if its bucket already holds UINT32_MAX. */
int lat_hist_add(struct lat_hist *h, int64_t ns);
/* dst += src, bucket by bucket. Returns 0, or -EOVERFLOW (dst unchanged) if
 * a bucket would pass UINT32_MAX. */
int lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src);
/* The midpoint (ns) of the bucket holding the nearest-rank p-quantile,
 * 0 <= p <= 1. Returns -ENODATA if h is empty, -EINVAL if p is out of range. */
int64_t lat_hist_quantile(const struct lat_hist *h, double p);

/* Empties m and sets its start (Unix seconds). */
void lat_minute_init(struct lat_minute *m, int64_t minute_start_s);
/* Records an answered probe with RTT ns (clamped into [0, LAT_NS_MAX]). O(1).
 * Returns 0, or -EOVERFLOW (m unchanged) if count or sum would overflow. */
int lat_minute_add(struct lat_minute *m, int64_t ns);
/* Records a probe that got no answer. Returns 0 or -EOVERFLOW (m unchanged). */
int lat_minute_loss(struct lat_minute *m);
/* dst += src: counts and buckets add, min of mins, max of maxes, the earlier
 * start. Commutative and associative, and equal to having added every sample
 * to one record. Returns 0, or -EOVERFLOW (dst unchanged). */
int lat_minute_merge(struct lat_minute *dst, const struct lat_minute *src);
/* lat_hist_quantile, clamped into [min_ns, max_ns] (never further from the
 * true value, and exact for one sample). -ENODATA / -EINVAL likewise. */
int64_t lat_minute_quantile(const struct lat_minute *m, double p);
/* sum / count in ns (truncated), or -ENODATA if there are no samples. */
int64_t lat_minute_mean(const struct lat_minute *m);
/* lost / (count + lost), in [0, 1]; 0 when there were no probes. */
double lat_minute_loss_ratio(const struct lat_minute *m);

/* Writes m as one line of text (no newline), NUL-terminated:
 *   v1 t=START n=COUNT l=LOST min=NS max=NS sum=NS b=I[:C],I[:C],...
 * with the non-empty buckets in ascending order and ":C" left out when C is 1.
 * Returns the length (without the NUL), -ENOSPC if len is too small (buf then
 * holds "" if len > 0), or -EINVAL if m breaks the invariants above. */
int lat_encode(char *buf, size_t len, const struct lat_minute *m);
/* Parses exactly len bytes of s (no NUL needed; untrusted input). Accepts
 * only what lat_encode writes, byte for byte, so one record has one text.
 * Returns 0 and fills *m, or -EINVAL (*m then undefined). */
int lat_decode(struct lat_minute *m, const char *s, size_t len);

#endif
