#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/wheel.h"

#define NIL UINT32_MAX
#define NOT_IN UINT32_MAX - 1 /* next[] value of an id not in the wheel */

/* An id sits in the slot of its due tick, or, inserted when that tick had
 * passed, in the overdue list: so its due time says where to find it, and
 * no per-id slot number is needed. */
struct wheel {
	uint64_t tick_ns;
	uint64_t cur_tick;   /* the slot tick advance will look at next */
	uint32_t mask;
	uint32_t capacity;
	size_t count;
	uint32_t *head;      /* per slot: first id */
	uint32_t overdue;    /* first id inserted after its tick had passed (due at the next advance) */
	uint32_t *next;      /* per id: next id in its slot or list, NIL at the end, NOT_IN if absent */
	uint64_t *due;       /* per id */
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
	w->overdue = NIL;
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
	for (uint32_t i = w->capacity; i < capacity; i++)
		w->next[i] = NOT_IN;
	w->capacity = capacity;
	return 0;
}

void wheel_insert(struct wheel *w, uint32_t id, uint64_t due_ns)
{
	uint64_t tick = due_ns / w->tick_ns;
	uint32_t *list = tick < w->cur_tick ? &w->overdue : &w->head[tick & w->mask];

	w->due[id] = due_ns;
	w->next[id] = *list;
	*list = id;
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

static bool unlink_from(struct wheel *w, uint32_t *p, uint32_t id)
{
	for (; *p != NIL; p = &w->next[*p]) {
		if (*p == id) {
			*p = w->next[id];
			w->next[id] = NOT_IN;
			w->count--;
			return true;
		}
	}
	return false;
}

bool wheel_remove(struct wheel *w, uint32_t id)
{
	if (!wheel_contains(w, id))
		return false;
	/* in its due tick's slot, unless that tick had passed when it came */
	return unlink_from(w, &w->head[(w->due[id] / w->tick_ns) & w->mask], id) ||
	       unlink_from(w, &w->overdue, id);
}

/* Moves the ids of list *p due at now_ns into out (up to max, counted in
 * *n); returns where it stopped (NIL at the list's end). */
static uint32_t *take_due(struct wheel *w, uint32_t *p, uint64_t now_ns, uint32_t *out, size_t max, size_t *n)
{
	while (*p != NIL && *n < max) {
		uint32_t id = *p;
		if (w->due[id] <= now_ns) {
			*p = w->next[id];
			w->next[id] = NOT_IN;
			w->count--;
			out[(*n)++] = id;
		} else {
			p = &w->next[id]; /* a later turn of the wheel */
		}
	}
	return p;
}

size_t wheel_advance(struct wheel *w, uint64_t now_ns, uint32_t *out, size_t max)
{
	uint64_t now_tick = now_ns / w->tick_ns;
	size_t n = 0;

	/* overdue ids were due before the current tick: they go first */
	take_due(w, &w->overdue, now_ns, out, max, &n);
	while (n < max && w->cur_tick <= now_tick && w->count) {
		uint32_t slot = (uint32_t)(w->cur_tick & w->mask);
		uint32_t *p = take_due(w, &w->head[slot], now_ns, out, max, &n);
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
}
