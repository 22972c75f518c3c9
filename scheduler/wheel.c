#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/wheel.h"

#define NIL UINT32_MAX
#define NOT_IN (UINT32_MAX - 1) /* next[] value of an id not in the wheel */
#define IN_CUR (UINT32_MAX - 2) /* next[] value of an id in the current tick's array */
#define NO_TICK UINT64_MAX

/* An id sits in the slot of its due tick, or, inserted when that tick had
 * passed, in the overdue list: so its due time says where to find it, and
 * no per-id slot number is needed.
 *
 * The tick under way (now's) is taken apart once, when the wheel reaches
 * it: its ids due this turn move to an array sorted by due time, the ids of
 * later turns stay in the slot. Each advance within the tick then takes
 * from the front of the array, instead of walking the slot's list again
 * (a busy caller advances many times a tick: that walk, a cache miss per
 * id, was most of the scheduler's time). */
struct cur_entry {
	uint64_t due;
	uint32_t id;         /* NIL: removed */
};

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
	/* the ids of tick cur_loaded due this turn, [cur_pos, cur_n) still in */
	uint64_t cur_loaded; /* NO_TICK: none */
	struct cur_entry *cur;
	size_t cur_pos, cur_n, cur_cap;
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
	w->cur_loaded = NO_TICK;
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
	free(w->cur);
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

/* Room for one more entry in the tick's array; false without memory. */
static bool cur_room(struct wheel *w)
{
	if (w->cur_n < w->cur_cap)
		return true;
	size_t cap = w->cur_cap ? 2 * w->cur_cap : 64;
	struct cur_entry *c = realloc(w->cur, cap * sizeof(*c));
	if (!c)
		return false;
	w->cur = c;
	w->cur_cap = cap;
	return true;
}

/* Puts id into the loaded tick's array at its place by due time. Returns
 * false when the array cannot grow (the caller lists it instead). */
static bool cur_add(struct wheel *w, uint32_t id, uint64_t due_ns)
{
	if (!cur_room(w))
		return false;
	size_t k = w->cur_n;
	while (k > w->cur_pos && w->cur[k - 1].due > due_ns) {
		w->cur[k] = w->cur[k - 1];
		k--;
	}
	w->cur[k] = (struct cur_entry){ .due = due_ns, .id = id };
	w->cur_n++;
	w->next[id] = IN_CUR;
	return true;
}

void wheel_insert(struct wheel *w, uint32_t id, uint64_t due_ns)
{
	uint64_t tick = due_ns / w->tick_ns;
	uint32_t *list = tick < w->cur_tick ? &w->overdue : &w->head[tick & w->mask];

	w->due[id] = due_ns;
	w->count++;
	if (tick == w->cur_loaded && cur_add(w, id, due_ns))
		return;
	w->next[id] = *list;
	*list = id;
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
	if (w->next[id] == IN_CUR) {
		for (size_t k = w->cur_pos; k < w->cur_n; k++) {
			if (w->cur[k].id == id) {
				w->cur[k].id = NIL;
				w->next[id] = NOT_IN;
				w->count--;
				return true;
			}
		}
		return false; /* not reached: IN_CUR ids are in the array */
	}
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

static int cur_cmp(const void *a, const void *b)
{
	const struct cur_entry *x = a, *y = b;
	return (x->due > y->due) - (x->due < y->due);
}

/* Tick cur_tick is under way: its slot's ids due this turn go to the
 * array, sorted; those of later turns stay. Returns false without memory
 * (the slot is then walked as before). */
static bool cur_load(struct wheel *w)
{
	uint64_t end = (w->cur_tick + 1) * w->tick_ns;
	uint32_t *p = &w->head[w->cur_tick & w->mask];

	w->cur_pos = w->cur_n = 0;
	w->cur_loaded = w->cur_tick;
	while (*p != NIL) {
		uint32_t id = *p;
		if (w->due[id] >= end) {
			p = &w->next[id]; /* a later turn */
			continue;
		}
		if (!cur_room(w)) {
			/* put back what was taken: the slot is walked as before */
			for (size_t k = 0; k < w->cur_n; k++) {
				w->next[w->cur[k].id] = w->head[w->cur_tick & w->mask];
				w->head[w->cur_tick & w->mask] = w->cur[k].id;
			}
			w->cur_n = 0;
			w->cur_loaded = NO_TICK;
			return false;
		}
		*p = w->next[id];
		w->next[id] = IN_CUR;
		w->cur[w->cur_n++] = (struct cur_entry){ .due = w->due[id], .id = id };
	}
	if (w->cur_n > 1)
		qsort(w->cur, w->cur_n, sizeof(*w->cur), cur_cmp);
	return true;
}

/* From the loaded tick's array, the ids due at now_ns, in due order.
 * Returns whether the array is done. */
static bool cur_take(struct wheel *w, uint64_t now_ns, uint32_t *out, size_t max, size_t *n)
{
	while (w->cur_pos < w->cur_n && *n < max) {
		const struct cur_entry *e = &w->cur[w->cur_pos];
		if (e->id != NIL) {
			if (e->due > now_ns)
				return false;
			w->next[e->id] = NOT_IN;
			w->count--;
			out[(*n)++] = e->id;
		}
		w->cur_pos++;
	}
	return w->cur_pos == w->cur_n;
}

size_t wheel_advance(struct wheel *w, uint64_t now_ns, uint32_t *out, size_t max)
{
	uint64_t now_tick = now_ns / w->tick_ns;
	size_t n = 0;

	/* overdue ids were due before the current tick: they go first */
	take_due(w, &w->overdue, now_ns, out, max, &n);
	while (n < max && w->cur_tick <= now_tick && w->count) {
		uint32_t slot = (uint32_t)(w->cur_tick & w->mask);
		if (w->cur_loaded == w->cur_tick) {
			if (!cur_take(w, now_ns, out, max, &n) || w->cur_tick == now_tick)
				break; /* not due yet, out is full, or the tick may still receive ids */
			/* the tick is over; its slot below (ids cur_add could not place) */
			w->cur_loaded = NO_TICK;
			continue;
		}
		if (w->cur_tick == now_tick && cur_load(w))
			continue;
		/* a tick gone by: everything of this turn in its slot is due */
		uint32_t *p = take_due(w, &w->head[slot], now_ns, out, max, &n);
		if (*p != NIL && n == max)
			break; /* this slot is not finished: stay on it */
		if (w->cur_tick == now_tick)
			break; /* the current slot may still receive ids due now */
		w->cur_tick++;
	}
	if (w->count == 0 && w->cur_tick < now_tick) {
		w->cur_tick = now_tick;
		w->cur_loaded = NO_TICK;
	}
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
	memuse_add(u, "wheel.tick", w->cur_cap * sizeof(*w->cur), false);
}
