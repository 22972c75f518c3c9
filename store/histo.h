/* store/histo: the handshake time of every answered check, counted per
 * group into fixed buckets, for Prometheus histograms (docs/redis.md,
 * P histo:LOC; docs/consumers.md). The store thread counts each result
 * (a bucket index and three additions) and, once a second, hands each
 * group's increments since the last time to the Redis writer as HINCRBYs:
 * Redis keeps the running totals, so they survive a restart of the prober
 * and add up across the probers of a location, and the backlog's sequence
 * numbers apply each increment exactly once.
 *
 * The buckets are blackbox-style seconds, smokeping_prober's: bucket i
 * (i < HISTO_NBOUNDS) holds the times in (bound(i-1), bound(i)], with
 * bound(i) = 50 us * 2^i, from 50 us to 13.1072 s; bucket HISTO_NBOUNDS
 * holds those above (le="+Inf" takes it). They are part of the key layout:
 * changing them is a new schema.
 *
 * Groups are counted by name, so that a reload that keeps a group's name
 * keeps counting into it. One thread at a time (the store thread). */
#ifndef SW_HISTO_H
#define SW_HISTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTO_NBOUNDS 19
#define HISTO_NBUCKETS (HISTO_NBOUNDS + 1)
#define HISTO_FIRST_BOUND_NS 50000

/* The bucket of a handshake time of rtt_ns (>= 0). Pure. */
unsigned histo_bucket(int64_t rtt_ns);
/* The upper bound of bucket i < HISTO_NBOUNDS, in ns. Pure. */
int64_t histo_bound_ns(unsigned i);

/* A group's increments since it was last taken. */
struct histo_delta {
	const char *group;                 /* the group's name; valid until histo_set_groups */
	uint64_t bucket[HISTO_NBUCKETS];   /* answers per bucket (not cumulative) */
	uint64_t count;                    /* their sum */
	uint64_t sum_us;                   /* the times' sum, whole microseconds (the ns are carried) */
};

struct histo;

/* Returns 0 and sets *out (free with histo_free), or -ENOMEM. */
int histo_new(struct histo **out);
void histo_free(struct histo *h); /* NULL is a no-op */
/* The groups of the target table from now on: names[i] is group i of
 * histo_add (NULL: a group without a name, not counted). A name seen
 * before keeps its counts. Returns 0, or -ENOMEM (the previous groups
 * stay). */
int histo_set_groups(struct histo *h, const char *const *names, size_t n);
/* Counts one answer of rtt_ns into group (an index of the last
 * histo_set_groups; out of range: not counted). */
void histo_add(struct histo *h, size_t group, int64_t rtt_ns);
/* The increments of the i-th group by name (i from 0 while it returns
 * true): *out is filled, count 0 when nothing changed. */
bool histo_delta(const struct histo *h, size_t i, struct histo_delta *out);
/* The i-th group's increments were handed on: they start again from 0. */
void histo_taken(struct histo *h, size_t i);

#endif
