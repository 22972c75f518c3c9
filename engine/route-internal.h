/* libnl helpers of route.c that the link paths (linkpath.c) use too: the
 * two files that speak netlink. Not for use outside engine/. */
#ifndef SW_ROUTE_INTERNAL_H
#define SW_ROUTE_INTERNAL_H

#include <stdbool.h>

struct nl_addr;
struct sw_addr;

/* libnl's error as a negative errno. */
int route_nl_errno(int nlerr);
/* A libnl IPv4/IPv6 address as ours (false for anything else). */
bool route_nl_addr(struct sw_addr *out, const struct nl_addr *a);

#endif
