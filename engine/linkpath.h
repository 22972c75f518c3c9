/* engine/linkpath: the gateways whose MAC lets the sender put Ethernet
 * frames on the wire itself. Main thread, but link_path_get (the sender). */
#ifndef SW_LINKPATH_H
#define SW_LINKPATH_H

#include <stdbool.h>
#include <stdint.h>

struct route_info;

/* An IPv4 target routed through one gateway on an Ethernet link can skip
 * the IP stack: the sender hands its SYN to an AF_PACKET socket with the
 * gateway's MAC, which is what the IP stack would have put on the wire,
 * for less sender CPU per probe (docs/operations.md#how-the-syns-leave).
 * The IP stack's netfilter OUTPUT/POSTROUTING hooks (and so SNAT) are then
 * not passed; the netdev egress hook, qdiscs and packet taps still are.
 * A path is (interface, gateway). Its MAC comes from the kernel's neighbour
 * table, re-read every second: while the entry is missing or failed, the
 * path's probes go through the raw IP socket, which also makes the kernel
 * resolve it. Paths are only added, never removed, during a run. */
#define LINK_PATHS_MAX 32

struct link_paths;

/* Opens the netlink socket the refreshes use. Main thread. */
int link_paths_new(struct link_paths **out);
void link_paths_free(struct link_paths *lp); /* NULL is a no-op */
/* The path (1..LINK_PATHS_MAX) for a target routed as ri, added if new;
 * 0 when it cannot take one (not an IPv4 Ethernet gateway, or the table
 * is full). Main thread. */
unsigned link_paths_intern(struct link_paths *lp, const struct route_info *ri);
/* Re-reads the neighbour table and publishes each path's MAC. With
 * wait_ns > 0, paths without a usable entry are asked to resolve (ARP)
 * and waited for up to wait_ns. Logs each path's change between the link
 * layer and the IP stack. Returns how many paths have a MAC, or a
 * negative errno. Main thread. */
int link_paths_refresh(struct link_paths *lp, uint64_t wait_ns);
/* How many paths there are. */
unsigned link_paths_count(const struct link_paths *lp);
/* The sender's read: path idx's interface and gateway MAC; false when the
 * path has no MAC now. Any thread, lock-free. */
bool link_path_get(const struct link_paths *lp, unsigned idx, int *ifindex, uint8_t mac[6]);

#endif
