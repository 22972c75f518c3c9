/* Routing a target table: the source address (and its error) of every
 * target, the interfaces and gateways in use, from the routing table (engine/route.c)
 * or the operator's --interface / --source-ip. Main thread. */
#ifndef SW_ROUTING_H
#define SW_ROUTING_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler/sched.h"
#include "scheduler/targets.h"

struct routing {
	struct sched_source *sources; /* distinct (source, error) pairs */
	size_t n_sources, cap_sources;
	uint16_t *src_of;             /* per target: index into sources */
	char (*ifnames)[IF_NAMESIZE]; /* interfaces the targets leave through */
	size_t n_ifnames;
	struct sw_addr *gateways;     /* distinct next hops the targets are routed through, in
	                                 the order first met; on-link targets add none */
	size_t n_gateways;
};

struct link_paths;

/* Routes every target of tl. interface / source_ip may be NULL. With lp,
 * targets behind an Ethernet gateway get a link path (engine/linkpath.h).
 * Returns 0,
 * -ENODEV (no such interface), -EADDRNOTAVAIL (the interface has no IPv4
 * address and no source_ip was given), -EINVAL (bad source_ip) or another
 * negative errno; a target without a route is not an error: its source
 * carries the errno and its checks end as `error`. */
int routing_build(struct routing *rt, const struct target_list *tl, const char *interface, const char *source_ip,
		  struct link_paths *lp);
/* Every target from source (dry runs: no routes needed). */
int routing_fixed(struct routing *rt, size_t n_targets, const struct sw_addr *source);
void routing_release(struct routing *rt);

#endif
