/* The one ring: a bounded single-producer / single-consumer queue of
 * fixed-size records, lock-free, no allocation after ring_new. Exactly one
 * thread may push and exactly one other thread may pop. */
#ifndef SW_RING_H
#define SW_RING_H

#include <stdbool.h>
#include <stddef.h>

struct ring;

/* Creates a ring of `capacity` records (rounded up to a power of two) of
 * elem_size bytes each. Returns 0 and sets *out (free with ring_free), or
 * -EINVAL / -ENOMEM. */
int ring_new(struct ring **out, size_t elem_size, size_t capacity);
void ring_free(struct ring *r); /* NULL is a no-op */

/* Producer: copies up to n records from elems; returns how many fit. */
size_t ring_push(struct ring *r, const void *elems, size_t n);
/* Consumer: copies up to max records into elems; returns how many. */
size_t ring_pop(struct ring *r, void *elems, size_t max);

/* Approximate fill level (exact when called by either end with the other idle). */
size_t ring_count(const struct ring *r);
size_t ring_capacity(const struct ring *r);
/* Bytes of its records (capacity x record size). */
size_t ring_bytes(const struct ring *r);

#endif
