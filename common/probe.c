#include "common/probe.h"

const char *probe_state_name(enum probe_state s)
{
	static const char *const names[PROBE_STATE_COUNT] = {
		[PROBE_OPEN] = "open",
		[PROBE_CLOSED] = "closed",
		[PROBE_UNREACHABLE] = "unreachable",
		[PROBE_FILTERED] = "filtered",
		[PROBE_ERROR] = "error",
	};
	return (unsigned)s < PROBE_STATE_COUNT ? names[s] : "unknown";
}
