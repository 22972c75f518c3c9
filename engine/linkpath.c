/* Link paths (engine/linkpath.h): the gateways whose MAC lets the sender put
 * Ethernet frames on the wire itself. The main thread owns the table and
 * publishes each path's MAC in one atomic word; the sender reads it per
 * probe. A path's interface and gateway never change once interned, and
 * the probe requests naming it are pushed after (the ring orders them). */
#include <errno.h>
#include <linux/neighbour.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>
#include <netlink/socket.h>

#include "common/clock.h"
#include "common/log.h"
#include "engine/linkpath.h"
#include "engine/route-internal.h"
#include "engine/route.h"

/* the published word: the MAC in the low 48 bits, this bit when usable */
#define MAC_VALID (1ull << 63)
/* the kernel's NUD_VALID (include/net/neighbour.h, not exported): states
 * in which it sends with the entry's address */
#define NEIGH_USABLE (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)
/* how often a refresh that waits re-reads the table */
#define RESOLVE_POLL_NS (2 * NSEC_PER_MSEC)

struct link_path {
	int ifindex;
	char ifname[IF_NAMESIZE];
	struct sw_addr gateway;
	_Atomic uint64_t mac;  /* MAC_VALID | MAC, or 0 */
	bool told;             /* its state was logged at least once */
};

struct link_paths {
	struct nl_sock *sk;
	unsigned n;
	struct link_path v[LINK_PATHS_MAX];
};

int link_paths_new(struct link_paths **out)
{
	struct link_paths *lp;
	int r;

	*out = NULL;
	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return -ENOMEM;
	lp->sk = nl_socket_alloc();
	if (!lp->sk) {
		free(lp);
		return -ENOMEM;
	}
	if ((r = nl_connect(lp->sk, NETLINK_ROUTE)) < 0) {
		link_paths_free(lp);
		return route_nl_errno(r);
	}
	for (unsigned i = 0; i < LINK_PATHS_MAX; i++)
		atomic_init(&lp->v[i].mac, 0);
	*out = lp;
	return 0;
}

void link_paths_free(struct link_paths *lp)
{
	if (!lp)
		return;
	nl_socket_free(lp->sk); /* NULL-safe */
	free(lp);
}

unsigned link_paths_intern(struct link_paths *lp, const struct route_info *ri)
{
	if (!lp || !ri->ether_gateway || ri->gateway.family != AF_INET || ri->local)
		return 0;
	for (unsigned i = 0; i < lp->n; i++)
		if (lp->v[i].ifindex == ri->ifindex && addr_equal(&lp->v[i].gateway, &ri->gateway))
			return i + 1;
	if (lp->n == LINK_PATHS_MAX)
		return 0; /* the rest go through the IP stack, which is only slower */
	struct link_path *p = &lp->v[lp->n];
	p->ifindex = ri->ifindex;
	memcpy(p->ifname, ri->ifname, sizeof(p->ifname));
	p->gateway = ri->gateway;
	return ++lp->n;
}

unsigned link_paths_count(const struct link_paths *lp)
{
	return lp ? lp->n : 0;
}

static uint64_t mac_word(const uint8_t *mac)
{
	uint64_t w = 0;
	for (int i = 0; i < 6; i++)
		w = w << 8 | mac[i];
	return w | MAC_VALID;
}

/* The usable MAC word of path p in the dumped neighbour table, 0 if none. */
static uint64_t lookup(struct nl_cache *neighs, const struct link_path *p)
{
	for (struct nl_object *o = nl_cache_get_first(neighs); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)o;
		struct sw_addr dst;
		if (rtnl_neigh_get_ifindex(n) != p->ifindex || !route_nl_addr(&dst, rtnl_neigh_get_dst(n)) ||
		    !addr_equal(&dst, &p->gateway))
			continue;
		/* reachable, stale, delay, probe, permanent: the kernel
		 * itself would send with this address now */
		struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
		if (!(rtnl_neigh_get_state(n) & NEIGH_USABLE) || !ll || nl_addr_get_len(ll) != 6)
			return 0;
		return mac_word(nl_addr_get_binary_addr(ll));
	}
	return 0;
}

/* Asks the kernel to resolve p's gateway (NTF_USE: as if a packet were
 * waiting for it), without adding or changing an entry. */
static void resolve(struct nl_sock *sk, const struct link_path *p)
{
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	struct nl_addr *a = nl_addr_build(AF_INET, p->gateway.u.b, 4);

	if (n && a) {
		rtnl_neigh_set_ifindex(n, p->ifindex);
		rtnl_neigh_set_dst(n, a);
		rtnl_neigh_set_family(n, AF_INET);
		rtnl_neigh_set_state(n, NUD_NONE);
		rtnl_neigh_set_flags(n, NTF_USE);
		int r = rtnl_neigh_add(sk, n, NLM_F_CREATE | NLM_F_REPLACE);
		if (r < 0)
			log_debug("cannot ask for the link-layer address of a gateway: %s", nl_geterror(r));
	}
	nl_addr_put(a); /* NULL-safe */
	rtnl_neigh_put(n);
}

static void tell(struct link_path *p, uint64_t before, uint64_t now)
{
	char gw[ADDR_STRLEN];

	if (p->told && (before & MAC_VALID) == (now & MAC_VALID) && (!before || before == now))
		return;
	addr_format(&p->gateway, gw, sizeof(gw));
	if (now) {
		log_info("gateway %s on %s is at %02x:%02x:%02x:%02x:%02x:%02x: its probes leave as Ethernet frames", gw,
			 p->ifname, (unsigned)(now >> 40) & 255, (unsigned)(now >> 32) & 255,
			 (unsigned)(now >> 24) & 255, (unsigned)(now >> 16) & 255, (unsigned)(now >> 8) & 255,
			 (unsigned)now & 255);
	} else {
		log_info("gateway %s on %s has no link-layer address%s: its probes go through the IP stack", gw,
			 p->ifname, p->told ? " any more" : " yet");
	}
	p->told = true;
}

/* One dump; publishes every path. Returns how many have a MAC. */
static int refresh_once(struct link_paths *lp, bool quiet)
{
	struct nl_cache *neighs = NULL;
	int r, valid = 0;

	if ((r = rtnl_neigh_alloc_cache(lp->sk, &neighs)) < 0)
		return route_nl_errno(r);
	for (unsigned i = 0; i < lp->n; i++) {
		struct link_path *p = &lp->v[i];
		uint64_t now = lookup(neighs, p);
		uint64_t before = atomic_exchange_explicit(&p->mac, now, memory_order_release);
		if (!quiet)
			tell(p, before, now);
		valid += now != 0;
	}
	nl_cache_free(neighs);
	return valid;
}

int link_paths_refresh(struct link_paths *lp, uint64_t wait_ns)
{
	if (!lp || lp->n == 0)
		return 0;
	if (wait_ns == 0)
		return refresh_once(lp, false);
	int valid = refresh_once(lp, true);
	if (valid >= 0 && (unsigned)valid < lp->n) {
		uint64_t deadline = clock_mono_ns() + wait_ns;
		for (unsigned i = 0; i < lp->n; i++)
			if (!atomic_load_explicit(&lp->v[i].mac, memory_order_relaxed))
				resolve(lp->sk, &lp->v[i]);
		while (valid >= 0 && (unsigned)valid < lp->n && clock_mono_ns() < deadline) {
			clock_sleep_until(clock_mono_ns() + RESOLVE_POLL_NS);
			valid = refresh_once(lp, true);
		}
	}
	return valid < 0 ? valid : refresh_once(lp, false);
}

bool link_path_get(const struct link_paths *lp, unsigned idx, int *ifindex, uint8_t mac[6])
{
	/* no look at lp->n, which the main thread may be growing: a request
	 * names a path only after it was interned */
	if (!lp || idx == 0 || idx > LINK_PATHS_MAX)
		return false;
	const struct link_path *p = &lp->v[idx - 1];
	uint64_t w = atomic_load_explicit(&p->mac, memory_order_acquire);
	if (!(w & MAC_VALID))
		return false;
	for (int i = 5; i >= 0; i--, w >>= 8)
		mac[i] = (uint8_t)w;
	*ifindex = p->ifindex;
	return true;
}
