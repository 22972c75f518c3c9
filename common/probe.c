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

const char *event_kind_name(enum event_kind k)
{
	static const char *const names[EVENT_KIND_COUNT] = {
		[EVENT_STATE] = "state",
		[EVENT_HOST_DOWN] = "host_down",
		[EVENT_HOST_UP] = "host_up",
		[EVENT_PROBER_ISOLATED] = "prober_isolated",
		[EVENT_PROBER_OK] = "prober_ok",
		[EVENT_ADDRESS_CHANGED] = "address_changed",
	};
	return (unsigned)k < EVENT_KIND_COUNT ? names[k] : "unknown";
}
