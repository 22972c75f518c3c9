/* The canaries of a monitoring run (daemon/canaries.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/log.h"
#include "daemon/canaries.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/options.h"
#include "daemon/reload.h"

#define MAX_GATEWAY_CANARIES 4

/* "IP:PORT" canaries of the config, as addresses. */
static void parse_canaries(struct daemon *d, const struct config *c)
{
	char err[256];
	struct target_list tl;

	target_list_init(&tl, 16, TARGET_FAMILY_V4 | TARGET_FAMILY_V6);
	for (size_t i = 0; i < c->n_canaries; i++)
		if (target_list_add_spec(&tl, c->canaries[i], NULL, NULL, NULL, err, sizeof(err)) < 0)
			cli_die_usage("%s: canaries: %s", c->path, err);
	d->n_canaries = tl.n;
	if (tl.n) {
		d->canaries = calloc(tl.n, sizeof(*d->canaries));
		d->canary_ports = calloc(tl.n, sizeof(*d->canary_ports));
		if (!d->canaries || !d->canary_ports)
			cli_die_usage("out of memory");
		for (size_t i = 0; i < tl.n; i++) {
			d->canaries[i] = tl.v[i].addr;
			d->canary_ports[i] = tl.v[i].port;
		}
	}
	target_list_release(&tl);
}

/* The echo target of one gateway, in the built-in group "canary". */
static int gateway_entry(struct table_runtime *e, const struct sw_addr *gw, int64_t interval_ns)
{
	char a[ADDR_STRLEN], spec[ADDR_STRLEN + 16];

	addr_format(gw, a, sizeof(a));
	snprintf(spec, sizeof(spec), gw->family == AF_INET6 ? "[%s]:icmp" : "%s:icmp", a);
	*e = (struct table_runtime){ .interval_ns = interval_ns, .n_labels = 1 };
	e->spec = strdup(spec);
	e->own_group = strdup("canary");
	e->labels = calloc(1, sizeof(*e->labels));
	if (e->labels) {
		e->labels[0].key = strdup("role");
		e->labels[0].value = strdup("canary");
	}
	if (!e->spec || !e->own_group || !e->labels || !e->labels[0].key || !e->labels[0].value) {
		if (!e->labels)
			e->n_labels = 0;
		table_runtime_release(e);
		return -ENOMEM;
	}
	return 0;
}

static uint32_t table_find(const struct table *t, const struct sw_addr *a, uint16_t port)
{
	for (size_t id = 0; id < t->tl.n; id++)
		if (!t->dead[id] && t->tl.v[id].port == port && addr_equal(&t->tl.v[id].addr, a))
			return (uint32_t)id;
	return UINT32_MAX;
}

void canaries_release(struct daemon *d)
{
	for (size_t i = 0; i < d->n_gw_canaries; i++)
		table_runtime_release(&d->gw_canaries[i]);
	free(d->gw_canaries);
	d->gw_canaries = NULL;
	d->n_gw_canaries = 0;
	free(d->canaries);
	free(d->canary_ports);
	d->canaries = NULL;
	d->canary_ports = NULL;
	d->n_canaries = 0;
}

/* Without configured canaries, the gateways the targets are routed through
 * become canaries, checked by ping: when this prober's own network goes,
 * its first hop stops answering too, which tells isolation from an outage
 * of the targets. Rebuilds d->table and d->rt with them (a target the table
 * has already is reused); on any failure the table stays as it was, without
 * canaries. Not with sharding: a canary must be checked by this prober, and
 * a shard may hand it to another. */
static void gateway_canaries(struct daemon *d)
{
	const struct config *cfg = d->o->config ? d->cfg : NULL; /* as in reload_table */
	struct table_extra extra = { 0 };
	struct table *nt = NULL;
	struct routing nrt = { 0 };
	char err[1024], line[512] = "", a[ADDR_STRLEN];
	size_t len = 0;
	int64_t interval_ns = 0;
	int r = -ENOMEM;

	if (!d->rt.n_gateways || !d->table->n_base_groups)
		return;
	if (d->cfg->shard) {
		log_info("canaries: none by default while sharding the targets (give canaries: in the config)");
		return;
	}
	for (size_t g = 0; g < d->table->n_base_groups; g++)
		if (!interval_ns || d->table->groups[g].interval_ns < interval_ns)
			interval_ns = d->table->groups[g].interval_ns;
	size_t n = d->rt.n_gateways < MAX_GATEWAY_CANARIES ? d->rt.n_gateways : MAX_GATEWAY_CANARIES;
	if (!(d->gw_canaries = calloc(n, sizeof(*d->gw_canaries))))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (gateway_entry(&d->gw_canaries[i], &d->rt.gateways[i], interval_ns) < 0)
			goto out;
		d->n_gw_canaries++;
	}
	if ((r = reload_extra(d, &extra)) < 0)
		goto out;
	if ((r = config_build_table(&nt, cfg, &d->ex, d->table, &extra, err, sizeof(err))) < 0) {
		log_warn("canaries: cannot add the gateways: %s", err);
		goto out;
	}
	if ((r = daemon_routing(d, nt, &nrt)) < 0) {
		log_warn("canaries: cannot route the gateways: %s", strerror(-r));
		goto out;
	}
	if (!(d->canaries = calloc(n, sizeof(*d->canaries))) ||
	    !(d->canary_ports = calloc(n, sizeof(*d->canary_ports)))) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (table_find(nt, &d->rt.gateways[i], TARGET_PORT_ICMP) == UINT32_MAX)
			continue; /* left out: on_runtime_rejected said why */
		d->canaries[d->n_canaries] = d->rt.gateways[i];
		d->canary_ports[d->n_canaries++] = TARGET_PORT_ICMP;
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%sgateway %s (ping)", len ? ", " : "",
					addr_format(&d->rt.gateways[i], a, sizeof(a)));
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
	}
	table_free(d->table);
	d->table = nt;
	nt = NULL;
	routing_release(&d->rt);
	d->rt = nrt;
	memset(&nrt, 0, sizeof(nrt));
	if (d->n_canaries)
		log_info("canaries: %s", line);
	r = 0;
out:
	if (r == -ENOMEM)
		log_warn("canaries: out of memory: none");
	if (r < 0)
		canaries_release(d);
	free((void *)extra.v);
	routing_release(&nrt);
	table_free(nt);
}

void canaries_add(struct daemon *d)
{
	parse_canaries(d, d->cfg);
	if (!d->n_canaries)
		gateway_canaries(d);
}
