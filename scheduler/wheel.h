/* A timing wheel: O(1) insert and O(1) amortised expiry for up to millions
 * of ids (targets), each with one due time. Slots are tick_ns wide; an id due
 * beyond one turn of the wheel sits in its slot and is skipped (and kept)
 * until its turn comes. Memory: 12 bytes per id plus 4 per slot, and 16
 * per id due in the tick under way. Single
 * thread. Ids are 0..capacity-1; an id is in the wheel at most once. */
#ifndef SW_WHEEL_H
#define SW_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/memuse.h"

struct wheel;

/* tick_ns > 0; nslots is rounded up to a power of two. now_ns: the wheel's
 * start time (monotonic). Returns 0 or -EINVAL / -ENOMEM. */
int wheel_new(struct wheel **out, uint32_t capacity, uint64_t tick_ns, uint32_t nslots, uint64_t now_ns);
void wheel_free(struct wheel *w); /* NULL is a no-op */

/* Grows the id space (ids keep their due times). */
int wheel_grow(struct wheel *w, uint32_t capacity);

/* Schedules id at due_ns (times in the past are due at the next advance). */
void wheel_insert(struct wheel *w, uint32_t id, uint64_t due_ns);
/* Takes id out if it is scheduled; returns whether it was. O(length of its slot). */
bool wheel_remove(struct wheel *w, uint32_t id);
bool wheel_contains(const struct wheel *w, uint32_t id);
uint64_t wheel_due(const struct wheel *w, uint32_t id);

/* Pops up to max ids due at or before now_ns into out, earliest slots first.
 * Call again while it returns max. */
size_t wheel_advance(struct wheel *w, uint64_t now_ns, uint32_t *out, size_t max);

size_t wheel_count(const struct wheel *w);

/* Adds the wheel's arrays to u, for --mem-report. */
void wheel_memuse(const struct wheel *w, struct memuse *u);

#endif
