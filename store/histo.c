/* Per-group handshake histograms (store/histo.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/histo.h"

struct hgroup {
	char *name;
	uint64_t bucket[HISTO_NBUCKETS]; /* since last taken */
	uint64_t sum_ns;                 /* since start: the us sent are taken from it */
	uint64_t sent_us;                /* sum_ns / 1000 when last taken */
};

struct histo {
	struct hgroup *g;   /* every name seen, in the order first seen */
	size_t n, cap;
	size_t *map;        /* table group index -> g index, or SIZE_MAX */
	size_t nmap;
};

unsigned histo_bucket(int64_t rtt_ns)
{
	uint64_t q;
	unsigned i;

	if (rtt_ns <= HISTO_FIRST_BOUND_NS)
		return 0;
	/* bound(i) = B * 2^i, so rtt is in bucket i when 2^(i-1) < rtt / B <=
	 * 2^i: i = floor(log2((rtt - 1) / B)) + 1 for integers */
	q = (uint64_t)(rtt_ns - 1) / HISTO_FIRST_BOUND_NS;
	i = 64u - (unsigned)__builtin_clzll(q);
	return i < HISTO_NBOUNDS ? i : HISTO_NBOUNDS;
}

int64_t histo_bound_ns(unsigned i)
{
	return (int64_t)HISTO_FIRST_BOUND_NS << (i < HISTO_NBOUNDS ? i : HISTO_NBOUNDS - 1);
}

int histo_new(struct histo **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void histo_free(struct histo *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->g[i].name);
	free(h->g);
	free(h->map);
	free(h);
}

static size_t find(const struct histo *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->g[i].name, name))
			return i;
	return SIZE_MAX;
}

int histo_set_groups(struct histo *h, const char *const *names, size_t n)
{
	size_t *map = malloc((n ? n : 1) * sizeof(*map));

	if (!map)
		return -ENOMEM;
	/* room for every name being new, once: reloads are rare */
	if (h->n + n > h->cap) {
		struct hgroup *g = realloc(h->g, (h->n + n) * sizeof(*g));
		if (!g)
			goto nomem;
		h->g = g;
		h->cap = h->n + n;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = names[i] ? find(h, names[i]) : SIZE_MAX;
		if (names[i] && k == SIZE_MAX) {
			h->g[h->n] = (struct hgroup){ .name = strdup(names[i]) };
			if (!h->g[h->n].name)
				goto nomem;
			k = h->n++;
		}
		map[i] = k;
	}
	free(h->map);
	h->map = map;
	h->nmap = n;
	return 0;
nomem:
	/* the names added so far stay, unused until a table names them */
	free(map);
	return -ENOMEM;
}

void histo_add(struct histo *h, size_t group, int64_t rtt_ns)
{
	struct hgroup *g;

	if (group >= h->nmap || h->map[group] == SIZE_MAX || rtt_ns < 0)
		return;
	g = &h->g[h->map[group]];
	g->bucket[histo_bucket(rtt_ns)]++;
	g->sum_ns += (uint64_t)rtt_ns;
}

bool histo_delta(const struct histo *h, size_t i, struct histo_delta *out)
{
	const struct hgroup *g;

	if (i >= h->n)
		return false;
	g = &h->g[i];
	*out = (struct histo_delta){ .group = g->name, .sum_us = g->sum_ns / 1000 - g->sent_us };
	for (unsigned b = 0; b < HISTO_NBUCKETS; b++) {
		out->bucket[b] = g->bucket[b];
		out->count += g->bucket[b];
	}
	return true;
}

void histo_taken(struct histo *h, size_t i)
{
	if (i >= h->n)
		return;
	memset(h->g[i].bucket, 0, sizeof(h->g[i].bucket));
	h->g[i].sent_us = h->g[i].sum_ns / 1000;
}
