/* The quorum rule (tools/lib/quorum.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/num.h"
#include "tools/lib/quorum.h"

int quorum_spec_parse(const char *s, int *spec)
{
	uint64_t v;

	if (strcmp(s, "majority") == 0) {
		*spec = QUORUM_MAJORITY;
		return 0;
	}
	if (strcmp(s, "all") == 0) {
		*spec = QUORUM_ALL;
		return 0;
	}
	if (num_parse_uint(s, 1, QUORUM_MAX, &v) < 0)
		return -EINVAL;
	*spec = (int)v;
	return 0;
}

const char *quorum_spec_name(int spec, char *buf, size_t len)
{
	if (spec == QUORUM_MAJORITY)
		return "majority";
	if (spec == QUORUM_ALL)
		return "all";
	snprintf(buf, len, "%d", spec);
	return buf;
}

unsigned quorum_need(int spec, unsigned n)
{
	if (n == 0)
		return 0;
	if (spec == QUORUM_ALL)
		return n;
	if (spec > 0)
		return (unsigned)spec < n ? (unsigned)spec : n;
	return n / 2 + 1;
}

enum fv_state quorum_decide(const unsigned votes[FV_NSTATES], int spec, unsigned *need)
{
	/* worst first */
	static const enum fv_state order[] = { FV_DOWN, FV_FLAPPING, FV_DEGRADED, FV_UP };
	unsigned n = 0, k, seen = 0;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		n += votes[order[i]];
	k = quorum_need(spec, n);
	if (need)
		*need = k;
	if (n == 0)
		return FV_UNKNOWN;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		seen += votes[order[i]];
		if (seen >= k)
			return order[i];
	}
	return FV_UP; /* not reached: seen ends at n >= k */
}
