#include "common/memuse.h"

void memuse_add(struct memuse *u, const char *what, size_t bytes, bool per_target)
{
	if (u->n == MEMUSE_MAX) {
		u->other[per_target] += bytes;
		return;
	}
	u->v[u->n++] = (struct memuse_item){ .what = what, .bytes = bytes, .per_target = per_target };
}

size_t memuse_total(const struct memuse *u, bool per_target)
{
	size_t sum = u->other[per_target];

	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].per_target == per_target)
			sum += u->v[i].bytes;
	return sum;
}
