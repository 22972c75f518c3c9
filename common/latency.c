/* Latency histograms and their text form. Counts are checked for overflow
 * before anything is written, so a failed add or merge leaves its target as
 * it was and the invariants in latency.h hold after every call. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/latency.h"

#define SUB 16 /* buckets per octave; also the count of exact 1 us buckets */

/* lower(i) in us; i == LAT_NBUCKETS gives the end of the range. */
static int64_t bound_us(int i)
{
	if (i < SUB)
		return i;
	return (int64_t)(SUB + i % SUB) << (i / SUB - 1);
}

static int64_t clamp_ns(int64_t ns)
{
	return ns < 0 ? 0 : ns > LAT_NS_MAX ? LAT_NS_MAX : ns;
}

int lat_bucket_of(int64_t ns)
{
	uint64_t us = (uint64_t)clamp_ns(ns) / 1000;
	if (us < SUB)
		return (int)us;
	int k = 63 - __builtin_clzll(us); /* the octave [2^k, 2^(k+1)), k >= 4 */
	return (k - 3) * SUB + (int)((us >> (k - 4)) & (SUB - 1));
}

int64_t lat_bucket_lower(int i)
{
	if (i < 0 || i >= LAT_NBUCKETS)
		return -EINVAL;
	return bound_us(i) * 1000;
}

int64_t lat_bucket_upper(int i)
{
	if (i < 0 || i >= LAT_NBUCKETS)
		return -EINVAL;
	return bound_us(i + 1) * 1000;
}

int lat_hist_add(struct lat_hist *h, int64_t ns)
{
	uint32_t *c = &h->counts[lat_bucket_of(ns)];
	if (*c == UINT32_MAX)
		return -EOVERFLOW;
	(*c)++;
	return 0;
}

int lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src)
{
	for (int i = 0; i < LAT_NBUCKETS; i++)
		if (src->counts[i] > UINT32_MAX - dst->counts[i])
			return -EOVERFLOW;
	for (int i = 0; i < LAT_NBUCKETS; i++)
		dst->counts[i] += src->counts[i];
	return 0;
}

int64_t lat_hist_quantile(const struct lat_hist *h, double p)
{
	uint64_t n = 0, seen = 0;

	if (!(p >= 0 && p <= 1)) /* NaN too */
		return -EINVAL;
	for (int i = 0; i < LAT_NBUCKETS; i++)
		n += h->counts[i];
	if (n == 0)
		return -ENODATA;
	uint64_t rank = (uint64_t)ceil(p * (double)n);
	if (rank < 1)
		rank = 1;
	for (int i = 0; i < LAT_NBUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			return (bound_us(i) + bound_us(i + 1)) * 500;
	}
	return -ENODATA; /* not reached: rank <= n */
}

void lat_minute_init(struct lat_minute *m, int64_t minute_start_s)
{
	memset(m, 0, sizeof(*m));
	m->minute_start_s = minute_start_s;
}

int lat_minute_add(struct lat_minute *m, int64_t ns)
{
	int64_t sum;

	ns = clamp_ns(ns);
	if (m->count == UINT32_MAX || __builtin_add_overflow(m->sum_ns, ns, &sum))
		return -EOVERFLOW;
	/* no bucket can overflow: each holds at most count */
	lat_hist_add(&m->h, ns);
	m->min_ns = m->count == 0 || ns < m->min_ns ? ns : m->min_ns;
	m->max_ns = m->count == 0 || ns > m->max_ns ? ns : m->max_ns;
	m->count++;
	m->sum_ns = sum;
	return 0;
}

int lat_minute_loss(struct lat_minute *m)
{
	if (m->lost == UINT32_MAX)
		return -EOVERFLOW;
	m->lost++;
	return 0;
}

int lat_minute_merge(struct lat_minute *dst, const struct lat_minute *src)
{
	uint32_t count, lost;
	int64_t sum;

	if (__builtin_add_overflow(dst->count, src->count, &count) ||
	    __builtin_add_overflow(dst->lost, src->lost, &lost) ||
	    __builtin_add_overflow(dst->sum_ns, src->sum_ns, &sum))
		return -EOVERFLOW;
	lat_hist_merge(&dst->h, &src->h); /* cannot fail: every bucket <= count */
	if (src->count && (!dst->count || src->min_ns < dst->min_ns))
		dst->min_ns = src->min_ns;
	if (src->count && (!dst->count || src->max_ns > dst->max_ns))
		dst->max_ns = src->max_ns;
	if (src->minute_start_s < dst->minute_start_s)
		dst->minute_start_s = src->minute_start_s;
	dst->count = count;
	dst->lost = lost;
	dst->sum_ns = sum;
	return 0;
}

int64_t lat_minute_quantile(const struct lat_minute *m, double p)
{
	int64_t q = lat_hist_quantile(&m->h, p);
	if (q < 0)
		return q;
	return q < m->min_ns ? m->min_ns : q > m->max_ns ? m->max_ns : q;
}

int64_t lat_minute_mean(const struct lat_minute *m)
{
	return m->count ? m->sum_ns / m->count : -ENODATA;
}

double lat_minute_loss_ratio(const struct lat_minute *m)
{
	uint64_t probes = (uint64_t)m->count + m->lost;
	return probes ? (double)m->lost / (double)probes : 0.0;
}

/* The invariants of latency.h, so that what lat_encode writes lat_decode
 * reads back, and a decoded record gives sane quantiles and means. */
static bool minute_valid(const struct lat_minute *m)
{
	uint64_t n = 0;
	int first = -1, last = -1;

	for (int i = 0; i < LAT_NBUCKETS; i++) {
		if (!m->h.counts[i])
			continue;
		n += m->h.counts[i];
		first = first < 0 ? i : first;
		last = i;
	}
	if (m->minute_start_s < 0 || n != m->count)
		return false;
	if (n == 0)
		return m->min_ns == 0 && m->max_ns == 0 && m->sum_ns == 0;
	if (m->min_ns < 0 || m->max_ns > LAT_NS_MAX || m->min_ns > m->max_ns || m->sum_ns < 0 ||
	    lat_bucket_of(m->min_ns) != first || lat_bucket_of(m->max_ns) != last)
		return false;
	/* min * n <= sum <= max * n without a 128-bit product */
	int64_t q = m->sum_ns / m->count, r = m->sum_ns % m->count;
	return q >= m->min_ns && q + (r != 0) <= m->max_ns;
}

int lat_encode(char *buf, size_t len, const struct lat_minute *m)
{
	const char *sep = "";
	size_t n;
	int r;

	if (!minute_valid(m))
		return -EINVAL;
	r = snprintf(buf, len, "v1 t=%" PRId64 " n=%" PRIu32 " l=%" PRIu32 " min=%" PRId64 " max=%" PRId64
			       " sum=%" PRId64 " b=",
		     m->minute_start_s, m->count, m->lost, m->min_ns, m->max_ns, m->sum_ns);
	n = (size_t)r;
	for (int i = 0; i < LAT_NBUCKETS && n < len; i++) {
		uint32_t c = m->h.counts[i];
		if (!c)
			continue;
		r = c == 1 ? snprintf(buf + n, len - n, "%s%d", sep, i)
			   : snprintf(buf + n, len - n, "%s%d:%" PRIu32, sep, i, c);
		n += (size_t)r;
		sep = ",";
	}
	if (n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)n;
}

struct cursor {
	const char *p, *end;
};

static bool take(struct cursor *c, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* A decimal in [0, max] as lat_encode writes it: 1 to 20 digits, no sign,
 * no leading zero unless it is "0". */
static bool number(struct cursor *c, uint64_t max, uint64_t *out)
{
	const char *start = c->p;
	uint64_t v = 0;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		unsigned d = (unsigned)(*c->p - '0');
		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
		c->p++;
	}
	if (c->p == start || (*start == '0' && c->p - start > 1))
		return false;
	*out = v;
	return true;
}

int lat_decode(struct lat_minute *m, const char *s, size_t len)
{
	static const struct {
		const char *key;
		uint64_t max;
	} fields[] = {
		{ "v1 t=", INT64_MAX },	{ " n=", UINT32_MAX },	 { " l=", UINT32_MAX },
		{ " min=", LAT_NS_MAX }, { " max=", LAT_NS_MAX }, { " sum=", INT64_MAX },
	};
	struct cursor c = { s, s + len };
	uint64_t v[6], idx, cnt;
	int prev = -1;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!take(&c, fields[i].key) || !number(&c, fields[i].max, &v[i]))
			return -EINVAL;
	lat_minute_init(m, (int64_t)v[0]);
	m->count = (uint32_t)v[1];
	m->lost = (uint32_t)v[2];
	m->min_ns = (int64_t)v[3];
	m->max_ns = (int64_t)v[4];
	m->sum_ns = (int64_t)v[5];
	if (!take(&c, " b="))
		return -EINVAL;
	while (c.p < c.end) {
		if (prev >= 0 && !take(&c, ","))
			return -EINVAL;
		if (!number(&c, LAT_NBUCKETS - 1, &idx) || (int)idx <= prev)
			return -EINVAL;
		cnt = 1;
		if (take(&c, ":") && (!number(&c, UINT32_MAX, &cnt) || cnt < 2))
			return -EINVAL;
		m->h.counts[idx] = (uint32_t)cnt;
		prev = (int)idx;
	}
	return minute_valid(m) ? 0 : -EINVAL;
}
