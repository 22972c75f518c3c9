/* engine/route: route and source-address lookup from a snapshot of the
 * kernel's tables (libnl-route). Main thread, start-up and reload. */
#ifndef SW_ROUTE_H
#define SW_ROUTE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"

struct route_info {
	int ifindex;
	char ifname[IF_NAMESIZE];
	struct sw_addr src;      /* the source address to use */
	struct sw_addr gateway;  /* next hop, family 0 when the target is on-link */
	bool local;              /* the destination is an address of this host (loopback) */
	bool ether_gateway;      /* routed through one gateway on an Ethernet link (a link path can
	                            carry it, engine/linkpath.h) */
};

struct route_table;

/* Dumps routes (main and local tables), links and addresses over netlink
 * (libnl-route). Returns 0 and sets *out (free with route_table_free), or a
 * negative errno. Main thread, start-up and reload. */
int route_table_load(struct route_table **out);
void route_table_free(struct route_table *rt);

/* Longest-prefix match for dst. Returns 0 and fills *out, -ENETUNREACH when
 * no route matches (or the route is unreachable/blackhole/prohibit), or
 * -EADDRNOTAVAIL when the outgoing interface has no address of the family. */
int route_lookup(const struct route_table *rt, const struct sw_addr *dst, struct route_info *out);

/* For --interface: the interface's index and its primary address of family. */
int route_iface(const struct route_table *rt, const char *ifname, uint8_t family, struct route_info *out);

#endif
