/* Route and source-address lookup, answered from a snapshot of the kernel's
 * tables taken over netlink (libnl-route) at start-up. The snapshot is
 * copied into plain arrays and the libnl caches freed at once: lookups then
 * need no socket, no libnl object lifetimes, and behave the same until the
 * next reload. The lookup imitates fib_lookup() for the two tables of the
 * default rules (local, then main); policy routing rules are not read. */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "engine/route-internal.h"
#include "engine/route.h"

/* a dump that raced a table change is retried this many times */
#define ROUTE_DUMP_TRIES 3

struct rt_route {
	struct sw_addr dst;      /* prefix, host bits zero */
	struct sw_addr gateway;  /* family 0: on-link */
	struct sw_addr prefsrc;  /* family 0: none given */
	uint32_t table;          /* RT_TABLE_LOCAL or RT_TABLE_MAIN */
	uint32_t priority;       /* metric: lower wins among equal prefixes */
	int ifindex;             /* first nexthop's interface */
	uint8_t prefix;
	uint8_t type;            /* RTN_* */
	uint8_t nexthops;        /* how many (capped at 255) */
};

struct rt_link {
	int ifindex;
	unsigned flags;   /* IFF_* */
	unsigned arptype; /* ARPHRD_* */
	char name[IF_NAMESIZE];
};

struct rt_ifaddr {
	struct sw_addr addr;
	int ifindex;
	uint32_t flags; /* IFA_F_* */
	uint8_t prefix;
	uint8_t scope;  /* RT_SCOPE_* */
};

struct route_table {
	struct rt_route *routes; /* sorted: local table first, then longest prefix, then metric */
	size_t n_routes, cap_routes;
	struct rt_link *links;
	size_t n_links, cap_links;
	struct rt_ifaddr *addrs; /* in the kernel's order: primaries before their secondaries */
	size_t n_addrs, cap_addrs;
	int lo_ifindex;          /* 0 if no loopback link */
};

/* libnl speaks its own error space; the rest of synwatch speaks errno */
int route_nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_SUCCESS: return 0;
	case NLE_INTR:
	case NLE_DUMP_INTR: return -EINTR;
	case NLE_BAD_SOCK: return -EBADF;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_EXIST: return -EEXIST;
	case NLE_INVAL: return -EINVAL;
	case NLE_RANGE: return -ERANGE;
	case NLE_MSGSIZE: return -EMSGSIZE;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_NOADDR: return -EADDRNOTAVAIL;
	case NLE_BUSY: return -EBUSY;
	case NLE_PROTO_MISMATCH: return -EPROTONOSUPPORT;
	case NLE_NOACCESS: return -EACCES;
	case NLE_PERM: return -EPERM;
	case NLE_NODEV: return -ENODEV;
	default: return -EIO;
	}
}

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

bool route_nl_addr(struct sw_addr *out, const struct nl_addr *a)
{
	memset(out, 0, sizeof(*out));
	if (!a)
		return false;
	int fam = nl_addr_get_family(a);
	unsigned len = nl_addr_get_len(a);
	if ((fam != AF_INET || (len != 4 && len != 0)) && (fam != AF_INET6 || (len != 16 && len != 0)))
		return false;
	out->family = (uint8_t)fam;
	if (len)
		memcpy(out->u.b, nl_addr_get_binary_addr(a), len);
	return true;
}

static unsigned addr_bits(uint8_t family)
{
	return family == AF_INET ? 32 : 128;
}

static void clear_host_bits(struct sw_addr *a, unsigned prefix)
{
	for (unsigned i = prefix; i < 128; i++)
		a->u.b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

static int add_route(struct route_table *rt, struct rtnl_route *r)
{
	uint32_t table = rtnl_route_get_table(r);
	struct rt_route e = { 0 };

	if (table != RT_TABLE_LOCAL && table != RT_TABLE_MAIN)
		return 0;
	/* source-specific (IPv6 "from") routes would need the source we
	 * are about to choose: skip them like a plain lookup does */
	struct nl_addr *from = rtnl_route_get_src(r);
	if (from && nl_addr_get_prefixlen(from) > 0)
		return 0;
	if (!route_nl_addr(&e.dst, rtnl_route_get_dst(r)))
		return 0;
	int plen = nl_addr_get_prefixlen(rtnl_route_get_dst(r));
	if (plen < 0 || (unsigned)plen > addr_bits(e.dst.family))
		return 0;
	e.prefix = (uint8_t)plen;
	clear_host_bits(&e.dst, e.prefix);
	e.table = table;
	e.type = rtnl_route_get_type(r);
	e.priority = rtnl_route_get_priority(r);
	route_nl_addr(&e.prefsrc, rtnl_route_get_pref_src(r));
	/* multipath: the kernel hashes flows over the nexthops; one probe
	 * host needs one consistent answer, so take the first */
	int nh_count = rtnl_route_get_nnexthops(r);
	e.nexthops = (uint8_t)(nh_count > 255 ? 255 : nh_count < 0 ? 0 : nh_count);
	if (nh_count > 0) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
		if (nh) {
			e.ifindex = rtnl_route_nh_get_ifindex(nh);
			if (!route_nl_addr(&e.gateway, rtnl_route_nh_get_gateway(nh)) || e.gateway.family != e.dst.family)
				memset(&e.gateway, 0, sizeof(e.gateway));
		}
	}
	if (grow((void **)&rt->routes, &rt->cap_routes, rt->n_routes, sizeof(e)) < 0)
		return -ENOMEM;
	rt->routes[rt->n_routes++] = e;
	return 0;
}

static int add_link(struct route_table *rt, struct rtnl_link *l)
{
	struct rt_link e = { 0 };
	const char *name = rtnl_link_get_name(l);

	e.ifindex = rtnl_link_get_ifindex(l);
	e.flags = rtnl_link_get_flags(l);
	e.arptype = rtnl_link_get_arptype(l);
	if (name)
		snprintf(e.name, sizeof(e.name), "%s", name);
	if ((e.flags & IFF_LOOPBACK) && !rt->lo_ifindex)
		rt->lo_ifindex = e.ifindex;
	if (grow((void **)&rt->links, &rt->cap_links, rt->n_links, sizeof(e)) < 0)
		return -ENOMEM;
	rt->links[rt->n_links++] = e;
	return 0;
}

static int add_addr(struct route_table *rt, struct rtnl_addr *a)
{
	struct rt_ifaddr e = { 0 };

	if (!route_nl_addr(&e.addr, rtnl_addr_get_local(a)))
		return 0;
	e.ifindex = rtnl_addr_get_ifindex(a);
	e.flags = rtnl_addr_get_flags(a);
	e.prefix = (uint8_t)rtnl_addr_get_prefixlen(a);
	e.scope = (uint8_t)rtnl_addr_get_scope(a);
	if (grow((void **)&rt->addrs, &rt->cap_addrs, rt->n_addrs, sizeof(e)) < 0)
		return -ENOMEM;
	rt->addrs[rt->n_addrs++] = e;
	return 0;
}

static int route_order(const void *pa, const void *pb)
{
	const struct rt_route *a = pa, *b = pb;

	/* local first (the kernel's rule 0), then longest prefix, lowest
	 * metric: the first match in a table is then its best match */
	if (a->table != b->table)
		return a->table == RT_TABLE_LOCAL ? -1 : 1;
	if (a->prefix != b->prefix)
		return a->prefix > b->prefix ? -1 : 1;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	return 0;
}

static int dump(struct nl_sock *sk, struct route_table *rt)
{
	struct nl_cache *routes4 = NULL, *routes6 = NULL, *links = NULL, *addrs = NULL;
	struct nl_object *o;
	int r;

	if ((r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links)) < 0 ||
	    (r = rtnl_addr_alloc_cache(sk, &addrs)) < 0 ||
	    (r = rtnl_route_alloc_cache(sk, AF_INET, 0, &routes4)) < 0) {
		r = route_nl_errno(r);
		goto out;
	}
	/* a kernel booted with ipv6.disable=1 has no IPv6 routes to give:
	 * that is an empty IPv6 table, not a failure */
	r = rtnl_route_alloc_cache(sk, AF_INET6, 0, &routes6);
	if (r < 0 && r != -NLE_AF_NOSUPPORT && r != -NLE_OPNOTSUPP) {
		r = route_nl_errno(r);
		goto out;
	}
	for (o = nl_cache_get_first(links); o; o = nl_cache_get_next(o))
		if ((r = add_link(rt, (struct rtnl_link *)o)) < 0)
			goto out;
	for (o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o))
		if ((r = add_addr(rt, (struct rtnl_addr *)o)) < 0)
			goto out;
	for (o = nl_cache_get_first(routes4); o; o = nl_cache_get_next(o))
		if ((r = add_route(rt, (struct rtnl_route *)o)) < 0)
			goto out;
	for (o = routes6 ? nl_cache_get_first(routes6) : NULL; o; o = nl_cache_get_next(o))
		if ((r = add_route(rt, (struct rtnl_route *)o)) < 0)
			goto out;
	r = 0;
out:
	nl_cache_free(routes4); /* NULL-safe */
	nl_cache_free(routes6);
	nl_cache_free(links);
	nl_cache_free(addrs);
	return r;
}

void route_table_free(struct route_table *rt)
{
	if (!rt)
		return;
	free(rt->routes);
	free(rt->links);
	free(rt->addrs);
	free(rt);
}

int route_table_load(struct route_table **out)
{
	struct route_table *rt = NULL;
	struct nl_sock *sk = NULL;
	int r;

	*out = NULL;
	sk = nl_socket_alloc();
	if (!sk) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		r = route_nl_errno(r);
		goto out;
	}
	for (int i = 0; i < ROUTE_DUMP_TRIES; i++) {
		route_table_free(rt);
		rt = calloc(1, sizeof(*rt));
		if (!rt) {
			r = -ENOMEM;
			goto out;
		}
		if ((r = dump(sk, rt)) != -EINTR)
			break;
	}
	if (r < 0)
		goto out;
	if (rt->n_routes)
		qsort(rt->routes, rt->n_routes, sizeof(*rt->routes), route_order);
	*out = rt;
	rt = NULL;
out:
	route_table_free(rt);
	nl_socket_free(sk); /* NULL-safe; closes the socket */
	return r;
}

static const struct rt_link *link_by_index(const struct route_table *rt, int ifindex)
{
	for (size_t i = 0; i < rt->n_links; i++)
		if (rt->links[i].ifindex == ifindex)
			return &rt->links[i];
	return NULL;
}

static bool is_v6_link_local(const struct sw_addr *a)
{
	return a->family == AF_INET6 && a->u.b[0] == 0xfe && (a->u.b[1] & 0xc0) == 0x80;
}

/* The source the kernel would pick when the route gives none: a primary
 * address of the interface (inet_select_addr), preferring one whose subnet
 * holds the next hop (or the destination when on-link); for IPv6 an address
 * of the destination's scope that DAD has accepted, not deprecated or
 * temporary (a short-lived privacy address is a poor probe source). */
static const struct rt_ifaddr *pick_src(const struct route_table *rt, int ifindex, uint8_t family,
					const struct sw_addr *toward)
{
	const struct rt_ifaddr *best = NULL;
	int best_score = -1;

	for (size_t i = 0; i < rt->n_addrs; i++) {
		const struct rt_ifaddr *a = &rt->addrs[i];
		int score = 0;

		if (a->ifindex != ifindex || a->addr.family != family)
			continue;
		if (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED))
			continue;
		if (family == AF_INET) {
			if (a->flags & IFA_F_SECONDARY)
				continue;
		} else {
			bool want_link = toward && is_v6_link_local(toward);
			if (want_link == (a->scope == RT_SCOPE_LINK))
				score += 8;
			if (!(a->flags & IFA_F_TEMPORARY))
				score += 4;
			if (!(a->flags & IFA_F_DEPRECATED))
				score += 2;
		}
		if (toward && addr_prefix_match(&a->addr, a->prefix, toward))
			score += 1;
		if (score > best_score) {
			best = a;
			best_score = score;
		}
	}
	return best;
}

static void fill_ifname(const struct route_table *rt, struct route_info *out)
{
	const struct rt_link *l = link_by_index(rt, out->ifindex);

	if (l)
		memcpy(out->ifname, l->name, sizeof(out->ifname));
}

int route_lookup(const struct route_table *rt, const struct sw_addr *dst, struct route_info *out)
{
	const struct rt_route *best = NULL;

	memset(out, 0, sizeof(*out));
	if (dst->family != AF_INET && dst->family != AF_INET6)
		return -EAFNOSUPPORT;
	/* sorted: the first match is local table's best if the local table
	 * matches at all, else main's best */
	for (size_t i = 0; i < rt->n_routes; i++) {
		if (addr_prefix_match(&rt->routes[i].dst, rt->routes[i].prefix, dst)) {
			best = &rt->routes[i];
			break;
		}
	}
	if (!best)
		return -ENETUNREACH;

	if (best->type == RTN_LOCAL) {
		/* the kernel delivers it over loopback whatever device holds
		 * the address; its source is the route's preferred source
		 * (127.0.0.1 for all of 127/8) or else the address itself */
		out->local = true;
		out->ifindex = rt->lo_ifindex ? rt->lo_ifindex : best->ifindex;
		out->src = best->prefsrc.family == dst->family ? best->prefsrc : *dst;
		fill_ifname(rt, out);
		return 0;
	}
	/* unreachable, blackhole, prohibit, throw; and broadcast, multicast,
	 * anycast in the local table: no TCP handshake can happen there */
	if (best->type != RTN_UNICAST || best->ifindex <= 0)
		return -ENETUNREACH;

	out->ifindex = best->ifindex;
	out->gateway = best->gateway;
	fill_ifname(rt, out);
	/* one gateway on an Ethernet link: a frame to its MAC is all the
	 * IP stack would do (multipath spreads flows: leave that to it) */
	const struct rt_link *l = link_by_index(rt, best->ifindex);
	out->ether_gateway = best->gateway.family == dst->family && best->nexthops == 1 && l &&
			     l->arptype == ARPHRD_ETHER && !(l->flags & (IFF_LOOPBACK | IFF_NOARP));
	if (best->prefsrc.family == dst->family) {
		out->src = best->prefsrc;
		return 0;
	}
	/* judge by the next hop, except that an IPv6 link-local gateway
	 * says nothing about which global address to use */
	const struct sw_addr *toward = dst;
	if (best->gateway.family && (!is_v6_link_local(&best->gateway) || is_v6_link_local(dst)))
		toward = &best->gateway;
	const struct rt_ifaddr *a = pick_src(rt, best->ifindex, dst->family, toward);
	if (!a)
		return -EADDRNOTAVAIL;
	out->src = a->addr;
	return 0;
}

int route_iface(const struct route_table *rt, const char *ifname, uint8_t family, struct route_info *out)
{
	const struct rt_link *l = NULL;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < rt->n_links; i++) {
		if (strcmp(rt->links[i].name, ifname) == 0) {
			l = &rt->links[i];
			break;
		}
	}
	if (!l)
		return -ENODEV;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	/* the interface is filled in even without an address, so that a
	 * caller with its own --source-ip can still use it */
	out->ifindex = l->ifindex;
	memcpy(out->ifname, l->name, sizeof(out->ifname));
	const struct rt_ifaddr *a = pick_src(rt, l->ifindex, family, NULL);
	if (!a)
		return -EADDRNOTAVAIL;
	out->src = a->addr;
	return 0;
}
