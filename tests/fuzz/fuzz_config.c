/* libFuzzer harness for the configuration parser. Any text either parses
 * into a configuration that keeps the promises of daemon/config.h, or fails
 * with one "fuzz.yaml:..." line and a zeroed config (ASan's leak check sees
 * anything an error path left behind). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_group(const struct config_group *g)
{
	char err[512];

	if (!g->name || !g->name[0] || (g->n_hosts == 0 && g->n_named == 0) ||
	    config_group_check(g, err, sizeof(err)) != 0 || g->priority > 3 ||
	    g->retries > PROBE_MAX_ATTEMPT || !g->families ||
	    g->families > (TARGET_FAMILY_V4 | TARGET_FAMILY_V6) || g->state.failures < 1 ||
	    g->state.successes < 1 || g->state.window < 1 || g->state.window > 32 || g->state.over < 1 ||
	    g->state.flap_changes > STATE_MAX_FLAP_CHANGES || g->state.flap_window_s < 1)
		abort();
	for (size_t i = 0; i < g->n_named; i++)
		if (!g->named[i].host || !g->named[i].name || g->named[i].port == 0)
			abort();
	for (size_t i = 1; i < g->n_labels; i++)
		if (strcmp(g->labels[i - 1].key, g->labels[i].key) >= 0)
			abort();
	for (size_t i = 1; i < g->ports.n; i++)
		if (g->ports.ports[i - 1] >= g->ports.ports[i])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512];

	char *text = fuzz_copy(data, size);
	if (!text)
		return 0;
	int r = config_parse(&c, text, size, "fuzz.yaml", err, sizeof(err));
	if (r == 0) {
		if (c.n_groups == 0 || c.port_lo < 1024 || c.port_lo > c.port_hi || c.rate == 0 ||
		    !(c.isolation_share > 0 && c.isolation_share <= 1) || !c.location || !c.redis_prefix)
			abort();
		for (size_t i = 0; i < c.n_groups; i++)
			check_group(&c.groups[i]);
		for (size_t i = 0; i < c.n_groups; i++)
			for (size_t j = 0; j < i; j++)
				if (strcmp(c.groups[i].name, c.groups[j].name) == 0)
					abort();
	} else {
		fuzz_check_failure(r, err, &c, sizeof(c));
	}
	config_release(&c);
	free(text);
	return 0;
}
