/* libFuzzer harness for synwatch-alert's configuration parser. Any text
 * either parses into a configuration that keeps the promises of
 * tools/alert/alert-config.h (channels with what their type needs, routes whose
 * channels exist), or fails with one "fuzz.yaml:..." line and a zeroed
 * config (ASan's leak check sees anything an error path left behind). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "tools/alert/alert-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_channel(const struct alert_channel *ch)
{
	if (!ch->name || !ch->type)
		abort();
	switch (ch->kind) {
	case ALERT_WEBHOOK:
		if (!ch->url || ch->bot_token || ch->smtp_url)
			abort();
		break;
	case ALERT_TELEGRAM:
		if (!ch->bot_token || !ch->chat_id || !ch->api_base || ch->url)
			abort();
		break;
	case ALERT_EMAIL:
		if (!ch->smtp_url || !ch->from || ch->n_to == 0 || !ch->user != !ch->password)
			abort();
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alert_config c;
	char err[512];

	char *text = fuzz_copy(data, size);
	if (!text)
		return 0;
	int r = alert_config_parse(&c, text, size, "fuzz.yaml", err, sizeof(err));
	if (r == 0) {
		if (c.n_channels == 0 || c.n_routes == 0 || !c.redis_url || !c.redis_prefix ||
		    !c.consumer_group || c.backoff_ns > c.max_backoff_ns)
			abort();
		for (size_t i = 0; i < c.n_channels; i++)
			check_channel(&c.channels[i]);
		for (size_t i = 0; i < c.n_routes; i++) {
			if (c.routes[i].n_channels == 0)
				abort();
			for (size_t k = 0; k < c.routes[i].n_channels; k++)
				if (c.routes[i].channels[k] >= c.n_channels)
					abort();
		}
	} else {
		fuzz_check_failure(r, err, &c, sizeof(c));
	}
	alert_config_release(&c);
	free(text);
	return 0;
}
