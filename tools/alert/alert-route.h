/* Which channels an event goes to (the `routes:` of tools/alert/alert-config.h):
 * the routes in file order; a route whose matchers all hold the event
 * (tools/alert/alert-event.h says which keys an event has) adds its channels,
 * and the first one that matches ends the walk unless it says
 * `continue: true`. Pure; any thread. */
#ifndef SW_ALERT_ROUTE_H
#define SW_ALERT_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "tools/alert/alert-config.h"
#include "tools/alert/alert-event.h"

/* Sets out[i] (room for c->n_channels) for every channel the event goes
 * to, clears the others. Returns how many are set. */
size_t alert_route(const struct alert_config *c, const struct alert_event *e, bool *out);

#endif
