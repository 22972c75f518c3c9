/* Routing a target table (daemon/routing.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "daemon/routing.h"
#include "engine/linkpath.h"
#include "engine/route.h"

static int source_index(struct routing *rt, const struct sw_addr *a, int err, unsigned path)
{
	for (size_t i = 0; i < rt->n_sources; i++)
		if (rt->sources[i].err == err && rt->sources[i].path == path && addr_equal(&rt->sources[i].addr, a))
			return (int)i;
	if (rt->n_sources == UINT16_MAX)
		return -E2BIG;
	if (rt->n_sources == rt->cap_sources) {
		size_t n = rt->cap_sources ? rt->cap_sources * 2 : 8;
		struct sched_source *ns = realloc(rt->sources, n * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		rt->sources = ns;
		rt->cap_sources = n;
	}
	rt->sources[rt->n_sources] = (struct sched_source){ .addr = *a, .err = err, .path = (uint8_t)path };
	return (int)rt->n_sources++;
}

static int add_ifname(struct routing *rt, const char *name)
{
	for (size_t i = 0; i < rt->n_ifnames; i++)
		if (strcmp(rt->ifnames[i], name) == 0)
			return 0;
	char(*n)[IF_NAMESIZE] = realloc(rt->ifnames, (rt->n_ifnames + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	rt->ifnames = n;
	snprintf(rt->ifnames[rt->n_ifnames++], IF_NAMESIZE, "%s", name);
	return 0;
}

static int add_gateway(struct routing *rt, const struct sw_addr *gw)
{
	for (size_t i = 0; i < rt->n_gateways; i++)
		if (addr_equal(&rt->gateways[i], gw))
			return 0;
	struct sw_addr *n = realloc(rt->gateways, (rt->n_gateways + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	rt->gateways = n;
	rt->gateways[rt->n_gateways++] = *gw;
	return 0;
}

int routing_build(struct routing *rt, const struct target_list *tl, const char *interface, const char *source_ip,
		  struct link_paths *lp)
{
	struct route_table *table = NULL;
	struct route_info fixed = { 0 }, info = { 0 };
	struct sw_addr src_override = { 0 }, none = { 0 };
	bool have_fixed = false;
	int r, idx = -1;

	memset(rt, 0, sizeof(*rt));
	if (source_ip && addr_parse(&src_override, source_ip) < 0)
		return -EINVAL;
	rt->src_of = malloc((tl->n ? tl->n : 1) * sizeof(*rt->src_of));
	if (!rt->src_of)
		return -ENOMEM;
	if ((r = route_table_load(&table)) < 0)
		goto out;
	if (interface) {
		r = route_iface(table, interface, AF_INET, &fixed);
		if (r == -ENODEV || (r < 0 && !source_ip))
			goto out;
		have_fixed = true;
	}
	for (size_t i = 0; i < tl->n; i++) {
		const struct target *t = &tl->v[i];
		/* targets of one host sit next to each other: reuse its route */
		if (i > 0 && idx >= 0 && addr_equal(&t->addr, &tl->v[i - 1].addr)) {
			rt->src_of[i] = (uint16_t)idx;
			continue;
		}
		int err = 0;
		if (have_fixed)
			info = fixed;
		else if ((r = route_lookup(table, &t->addr, &info)) < 0)
			err = -r;
		if (!err && source_ip)
			info.src = src_override;
		if (!err && (r = add_ifname(rt, info.ifname)) < 0)
			goto out;
		if (!err && info.gateway.family && (r = add_gateway(rt, &info.gateway)) < 0)
			goto out;
		/* --interface names no gateway: such probes take the IP way */
		unsigned path = err || have_fixed ? 0 : link_paths_intern(lp, &info);
		idx = source_index(rt, err ? &none : &info.src, err, path);
		if (idx < 0) {
			r = idx;
			goto out;
		}
		rt->src_of[i] = (uint16_t)idx;
	}
	r = 0;
out:
	route_table_free(table);
	if (r < 0)
		routing_release(rt);
	return r;
}

int routing_fixed(struct routing *rt, size_t n_targets, const struct sw_addr *source)
{
	memset(rt, 0, sizeof(*rt));
	rt->src_of = calloc(n_targets ? n_targets : 1, sizeof(*rt->src_of));
	if (!rt->src_of || source_index(rt, source, 0, 0) < 0) {
		routing_release(rt);
		return -ENOMEM;
	}
	return 0;
}

void routing_release(struct routing *rt)
{
	free(rt->sources);
	free(rt->src_of);
	free(rt->ifnames);
	free(rt->gateways);
	memset(rt, 0, sizeof(*rt));
}
