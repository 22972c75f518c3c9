/* SPSC ring: the producer owns head, the consumer owns tail; each keeps a
 * cached copy of the other's index so that the shared line is read only
 * when the cached value says the ring looks full (or empty). */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ring.h"

#define CACHE_LINE 64

struct ring {
	alignas(CACHE_LINE) _Atomic size_t head; /* next slot to write; producer */
	size_t tail_cache;                       /* producer's view of tail */
	alignas(CACHE_LINE) _Atomic size_t tail; /* next slot to read; consumer */
	size_t head_cache;                       /* consumer's view of head */
	alignas(CACHE_LINE) size_t mask;
	size_t elem_size;
	unsigned char *slots;
};

int ring_new(struct ring **out, size_t elem_size, size_t capacity)
{
	struct ring *r;
	size_t cap = 1;

	*out = NULL;
	if (elem_size == 0 || capacity == 0 || capacity > ((size_t)1 << 40))
		return -EINVAL;
	while (cap < capacity)
		cap <<= 1;
	r = aligned_alloc(CACHE_LINE, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->slots = malloc(cap * elem_size);
	if (!r->slots) {
		free(r);
		return -ENOMEM;
	}
	r->mask = cap - 1;
	r->elem_size = elem_size;
	*out = r;
	return 0;
}

void ring_free(struct ring *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r);
}

static void copy_in(struct ring *r, size_t pos, const unsigned char *src, size_t n)
{
	size_t cap = r->mask + 1, i = pos & r->mask, first = cap - i < n ? cap - i : n;

	memcpy(r->slots + i * r->elem_size, src, first * r->elem_size);
	if (n > first)
		memcpy(r->slots, src + first * r->elem_size, (n - first) * r->elem_size);
}

static void copy_out(const struct ring *r, size_t pos, unsigned char *dst, size_t n)
{
	size_t cap = r->mask + 1, i = pos & r->mask, first = cap - i < n ? cap - i : n;

	memcpy(dst, r->slots + i * r->elem_size, first * r->elem_size);
	if (n > first)
		memcpy(dst + first * r->elem_size, r->slots, (n - first) * r->elem_size);
}

size_t ring_push(struct ring *r, const void *elems, size_t n)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t cap = r->mask + 1;

	if (cap - (head - r->tail_cache) < n)
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t room = cap - (head - r->tail_cache);
	if (n > room)
		n = room;
	if (n == 0)
		return 0;
	copy_in(r, head, elems, n);
	atomic_store_explicit(&r->head, head + n, memory_order_release);
	return n;
}

size_t ring_pop(struct ring *r, void *elems, size_t max)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (r->head_cache - tail < max)
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t n = r->head_cache - tail;
	if (n > max)
		n = max;
	if (n == 0)
		return 0;
	copy_out(r, tail, elems, n);
	atomic_store_explicit(&r->tail, tail + n, memory_order_release);
	return n;
}

size_t ring_count(const struct ring *r)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	return head - tail;
}

size_t ring_capacity(const struct ring *r)
{
	return r->mask + 1;
}

size_t ring_bytes(const struct ring *r)
{
	return (r->mask + 1) * r->elem_size;
}
