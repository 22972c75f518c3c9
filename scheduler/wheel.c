#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/wheel.h"

#define NIL UINT32_MAX
#define NOT_IN UINT32_MAX - 1 /* next[] value of an id not in the wheel */

struct wheel {
	uint64_t tick_ns;
	uint64_t cur_tick;   /* the slot tick advance will look at next */
	uint32_t mask;
	uint32_t capacity;
	size_t count;
	uint32_t *head;      /* per slot: first id */
	uint32_t *next;      /* per id: next id in its slot, NIL at the end, NOT_IN if absent */
	uint64_t *due;       /* per id */
	uint32_t *slot_of;   /* per id: the slot it sits in (overdue ids are not in their due slot) */
};

int wheel_new(struct wheel **out, uint32_t capacity, uint64_t tick_ns, uint32_t nslots, uint64_t now_ns)
{
	struct wheel *w;
	uint32_t n = 1;

	*out = NULL;
	if (tick_ns == 0 || nslots == 0 || nslots > (1u << 24))
		return -EINVAL;
	while (n < nslots)
		n <<= 1;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->tick_ns = tick_ns;
	w->cur_tick = now_ns / tick_ns;
	w->mask = n - 1;
	w->head = malloc((size_t)n * sizeof(*w->head));
	if (!w->head || wheel_grow(w, capacity) < 0) {
		wheel_free(w);
		return -ENOMEM;
	}
	memset(w->head, 0xff, (size_t)n * sizeof(*w->head));
	*out = w;
	return 0;
}

void wheel_free(struct wheel *w)
{
	if (!w)
		return;
	free(w->head);
	free(w->next);
	free(w->due);
	free(w->slot_of);
	free(w);
}

int wheel_grow(struct wheel *w, uint32_t capacity)
{
	if (capacity <= w->capacity)
		return 0;
	if (capacity >= NOT_IN)
		return -EINVAL;
	uint32_t *nn = realloc(w->next, (size_t)capacity * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	w->next = nn;
	uint64_t *nd = realloc(w->due, (size_t)capacity * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	w->due = nd;
	uint32_t *ns = realloc(w->slot_of, (size_t)capacity * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	w->slot_of = ns;
	for (uint32_t i = w->capacity; i < capacity; i++)
		w->next[i] = NOT_IN;
	w->capacity = capacity;
	return 0;
}

void wheel_insert(struct wheel *w, uint32_t id, uint64_t due_ns)
{
	uint64_t tick = due_ns / w->tick_ns;

	if (tick < w->cur_tick)
		tick = w->cur_tick; /* overdue: the next advance takes it */
	uint32_t slot = (uint32_t)(tick & w->mask);
	w->due[id] = due_ns;
	w->slot_of[id] = slot;
	w->next[id] = w->head[slot];
	w->head[slot] = id;
	w->count++;
}

bool wheel_contains(const struct wheel *w, uint32_t id)
{
	return id < w->capacity && w->next[id] != NOT_IN;
}

uint64_t wheel_due(const struct wheel *w, uint32_t id)
{
	return w->due[id];
}

bool wheel_remove(struct wheel *w, uint32_t id)
{
	if (!wheel_contains(w, id))
		return false;
	for (uint32_t *p = &w->head[w->slot_of[id]]; *p != NIL; p = &w->next[*p]) {
		if (*p == id) {
			*p = w->next[id];
			w->next[id] = NOT_IN;
			w->count--;
			return true;
		}
	}
	return false;
}

size_t wheel_advance(struct wheel *w, uint64_t now_ns, uint32_t *out, size_t max)
{
	uint64_t now_tick = now_ns / w->tick_ns;
	size_t n = 0;

	while (n < max && w->cur_tick <= now_tick && w->count) {
		uint32_t slot = (uint32_t)(w->cur_tick & w->mask);
		uint32_t *p = &w->head[slot];
		while (*p != NIL && n < max) {
			uint32_t id = *p;
			if (w->due[id] <= now_ns) {
				*p = w->next[id];
				w->next[id] = NOT_IN;
				w->count--;
				out[n++] = id;
			} else {
				p = &w->next[id]; /* a later turn of the wheel */
			}
		}
		if (*p != NIL && n == max)
			break; /* this slot is not finished: stay on it */
		if (w->cur_tick == now_tick)
			break; /* the current slot may still receive ids due now */
		w->cur_tick++;
	}
	if (w->count == 0 && w->cur_tick < now_tick)
		w->cur_tick = now_tick;
	return n;
}

size_t wheel_count(const struct wheel *w)
{
	return w->count;
}

void wheel_memuse(const struct wheel *w, struct memuse *u)
{
	memuse_add(u, "wheel.slots", ((size_t)w->mask + 1) * sizeof(*w->head), false);
	memuse_add(u, "wheel.next", (size_t)w->capacity * sizeof(*w->next), true);
	memuse_add(u, "wheel.due", (size_t)w->capacity * sizeof(*w->due), true);
	memuse_add(u, "wheel.slot_of", (size_t)w->capacity * sizeof(*w->slot_of), true);
}
