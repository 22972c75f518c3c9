/* Routing (tools/alert/alert-route.h). */
#include <string.h>

#include "tools/alert/alert-route.h"

size_t alert_route(const struct alert_config *c, const struct alert_event *e, bool *out)
{
	size_t n = 0;

	memset(out, 0, c->n_channels * sizeof(*out));
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct alert_route *rt = &c->routes[i];

		if (!matchers_match(rt->match, rt->n_match, alert_event_attr, e))
			continue;
		for (size_t k = 0; k < rt->n_channels; k++)
			if (!out[rt->channels[k]]) {
				out[rt->channels[k]] = true;
				n++;
			}
		if (!rt->cont)
			break;
	}
	return n;
}
