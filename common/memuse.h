/* Memory accounting for synwatch --mem-report: each module names the arrays
 * it holds and their allocated bytes (capacity x element size, not resident
 * pages), and says whether an array grows with the targets or is a buffer
 * of fixed size (or sized by the probe rate). The report divides the first
 * kind by the number of targets, so that the bytes per target can be read
 * off structure by structure. Plain data, single thread. */
#ifndef SW_MEMUSE_H
#define SW_MEMUSE_H

#include <stdbool.h>
#include <stddef.h>

#define MEMUSE_MAX 48

struct memuse_item {
	const char *what;   /* "module.array", a string literal */
	size_t bytes;       /* allocated */
	bool per_target;    /* grows with the targets (else: a buffer) */
};

struct memuse {
	struct memuse_item v[MEMUSE_MAX];
	size_t n;
	size_t other[2];    /* [per_target]: bytes of items past MEMUSE_MAX */
};

/* Adds one array; past MEMUSE_MAX items only its bytes are kept (in
 * other), so that the totals stay right. */
void memuse_add(struct memuse *u, const char *what, size_t bytes, bool per_target);
/* The sum of the items of one kind. */
size_t memuse_total(const struct memuse *u, bool per_target);

#endif
