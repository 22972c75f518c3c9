/* Per-minute latency records built from compact samples; see minutes.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "store/minutes.h"

#define NS_PER_MIN (60 * NSEC_PER_SEC)

/* A sample's rtt: nanoseconds below 2^31 ns (2.1 s); above, microseconds
 * with the top bit set (the histogram ends at 2^27 us, see latency.h). So a
 * sample fits 8 bytes, and only an RTT over 2.1 s loses its sub-microsecond
 * digits, in min, max and sum only: its bucket is 65 ms wide. */
#define RTT_US_FLAG UINT32_C(0x80000000)
#define RTT_LOST UINT32_MAX /* a loss; never an encoded RTT (us < 2^27) */

/* 11 bits a pass: the counts of all three passes (48 KiB) stay in cache,
 * and ids below 2^22 (4 M targets) need two passes. */
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES 3

struct sample {
	uint32_t target;
	uint32_t rtt;
};

struct minute_buf {
	int64_t minute; /* Unix minute: ts_real_ns / 60 s */
	struct sample *v;
	size_t n, cap;
};

struct minutes {
	struct minute_buf *bufs; /* ascending minutes; the newest MINUTES_OPEN minutes are open */
	size_t n_bufs, cap_bufs;
	int64_t newest;          /* newest minute seen, -1 before the first */
	int64_t delivered;       /* newest minute delivered, -1 before the first */
	struct minutes_stats stats;
	size_t radix[RADIX_PASSES][RADIX_SIZE];
	struct lat_minute lm;    /* built here, one target at a time */
};

int minutes_new(struct minutes **out)
{
	struct minutes *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->newest = -1;
	m->delivered = -1;
	*out = m;
	return 0;
}

void minutes_free(struct minutes *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_bufs; i++)
		free(m->bufs[i].v);
	free(m->bufs);
	free(m);
}

static uint32_t rtt_encode(int64_t ns)
{
	ns = ns > LAT_NS_MAX ? LAT_NS_MAX : ns;
	if (ns < (int64_t)RTT_US_FLAG)
		return (uint32_t)ns;
	return (uint32_t)(ns / 1000) | RTT_US_FLAG;
}

static int64_t rtt_decode(uint32_t rtt)
{
	return rtt & RTT_US_FLAG ? (int64_t)(rtt & ~RTT_US_FLAG) * 1000 : (int64_t)rtt;
}

/* Doubles v's room (from first elements), or returns NULL and leaves v and
 * *cap as they were. Large blocks are mmap'ed, so glibc grows them with
 * mremap, without copying. */
static void *grow(void *v, size_t *cap, size_t elem, size_t first)
{
	size_t n = *cap ? 2 * *cap : first;

	v = realloc(v, n * elem);
	if (v)
		*cap = n;
	return v;
}

/* The buffer of minute, created in its place if there is none; NULL
 * without memory. The pointer is good until the next call. */
static struct minute_buf *buf_for(struct minutes *m, int64_t minute)
{
	size_t i = m->n_bufs;

	while (i > 0 && m->bufs[i - 1].minute > minute)
		i--;
	if (i > 0 && m->bufs[i - 1].minute == minute)
		return &m->bufs[i - 1];
	if (m->n_bufs == m->cap_bufs) {
		struct minute_buf *v = grow(m->bufs, &m->cap_bufs, sizeof(*v), 4);
		if (!v)
			return NULL;
		m->bufs = v;
	}
	memmove(&m->bufs[i + 1], &m->bufs[i], (m->n_bufs - i) * sizeof(*m->bufs));
	m->bufs[i] = (struct minute_buf){ .minute = minute };
	m->n_bufs++;
	return &m->bufs[i];
}

static int buf_append(struct minute_buf *b, uint32_t target, uint32_t rtt)
{
	if (b->n == b->cap) {
		struct sample *v = grow(b->v, &b->cap, sizeof(*v), 4096);
		if (!v)
			return -ENOMEM;
		b->v = v;
	}
	b->v[b->n++] = (struct sample){ .target = target, .rtt = rtt };
	return 0;
}

int minutes_add(struct minutes *m, const struct probe_result *r)
{
	struct minute_buf *b;
	uint32_t rtt;

	switch (r->state) {
	case PROBE_OPEN:
	case PROBE_CLOSED:
	case PROBE_UNREACHABLE:
		if (r->rtt_ns < 0)
			return 0;
		rtt = rtt_encode(r->rtt_ns);
		break;
	case PROBE_FILTERED:
	case PROBE_ERROR:
		rtt = RTT_LOST;
		break;
	default:
		return 0;
	}
	int64_t minute = r->ts_real_ns / NS_PER_MIN;
	if (r->ts_real_ns < 0 || minute <= m->delivered || minute <= m->newest - MINUTES_OPEN) {
		m->stats.late++;
		return 0;
	}
	b = buf_for(m, minute);
	if (!b || buf_append(b, r->target, rtt) < 0) {
		m->stats.nomem++;
		return -ENOMEM;
	}
	if (minute > m->newest)
		m->newest = minute;
	m->stats.samples++;
	m->stats.held++;
	return 0;
}

static int cmp_target(const void *a, const void *b)
{
	uint32_t x = ((const struct sample *)a)->target, y = ((const struct sample *)b)->target;
	return (x > y) - (x < y);
}

/* Sorts b's samples by target: LSD radix sort, one read for the counts of
 * every pass, a pass skipped when all samples share its digit. */
static void sort_by_target(struct minutes *m, struct minute_buf *b)
{
	struct sample *src = b->v, *dst, *tmp;
	size_t n = b->n;

	if (n < 2)
		return;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp) {
		qsort(b->v, n, sizeof(*b->v), cmp_target);
		return;
	}
	dst = tmp;
	memset(m->radix, 0, sizeof(m->radix));
	for (size_t i = 0; i < n; i++)
		for (int p = 0; p < RADIX_PASSES; p++)
			m->radix[p][(src[i].target >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
	for (int p = 0; p < RADIX_PASSES; p++) {
		size_t *count = m->radix[p], sum = 0;
		int shift = p * RADIX_BITS;

		if (count[(src[0].target >> shift) & (RADIX_SIZE - 1)] == n)
			continue;
		for (size_t d = 0; d < RADIX_SIZE; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].target >> shift) & (RADIX_SIZE - 1)]++] = src[i];
		struct sample *t = src;
		src = dst;
		dst = t;
	}
	if (src == tmp)
		b->cap = n;
	b->v = src;
	free(dst);
}

/* Builds and hands over every target's record of b, then frees b's samples. */
static size_t deliver(struct minutes *m, struct minute_buf *b,
		      void (*fn)(void *ctx, uint32_t target, const struct lat_minute *lm), void *ctx)
{
	size_t calls = 0, i = 0;

	sort_by_target(m, b);
	while (i < b->n) {
		uint32_t target = b->v[i].target;

		lat_minute_init(&m->lm, b->minute * 60);
		for (; i < b->n && b->v[i].target == target; i++) {
			/* -EOVERFLOW would take 2^32 results of one target in a minute */
			if (b->v[i].rtt == RTT_LOST)
				lat_minute_loss(&m->lm);
			else
				lat_minute_add(&m->lm, rtt_decode(b->v[i].rtt));
		}
		fn(ctx, target, &m->lm);
		calls++;
	}
	m->stats.records += calls;
	m->stats.held -= b->n;
	if (b->minute > m->delivered)
		m->delivered = b->minute;
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
	return calls;
}

static size_t flush(struct minutes *m, bool all, int64_t now_real_ns,
		    void (*fn)(void *ctx, uint32_t target, const struct lat_minute *lm), void *ctx)
{
	/* the minute that ended MINUTES_GRACE_NS ago or earlier: minutes
	 * before it are over */
	int64_t over = now_real_ns >= MINUTES_GRACE_NS ? (now_real_ns - MINUTES_GRACE_NS) / NS_PER_MIN : -1;
	size_t calls = 0, k;

	/* closed minutes are the oldest, and a minute is over only if every
	 * older one is: what is due is a prefix */
	for (k = 0; k < m->n_bufs; k++) {
		struct minute_buf *b = &m->bufs[k];
		if (!all && b->minute >= over && b->minute > m->newest - MINUTES_OPEN)
			break;
		calls += deliver(m, b, fn, ctx);
	}
	if (k) {
		memmove(m->bufs, m->bufs + k, (m->n_bufs - k) * sizeof(*m->bufs));
		m->n_bufs -= k;
	}
	return calls;
}

size_t minutes_flush(struct minutes *m, int64_t now_real_ns,
		     void (*fn)(void *ctx, uint32_t target, const struct lat_minute *lm), void *ctx)
{
	return flush(m, false, now_real_ns, fn, ctx);
}

size_t minutes_flush_all(struct minutes *m,
			 void (*fn)(void *ctx, uint32_t target, const struct lat_minute *lm), void *ctx)
{
	return flush(m, true, 0, fn, ctx);
}

void minutes_stats(const struct minutes *m, struct minutes_stats *out)
{
	*out = m->stats;
}
