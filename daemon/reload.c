/* Rebuilding the target table at run time (daemon/reload.h). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/options.h"
#include "daemon/reload.h"
#include "scheduler/monitor.h"
#include "scheduler/sched.h"

struct moved_ctx {
	struct daemon *d;
	int64_t now;
};

static void on_moved(void *arg, const struct table_hostname *before, const struct table_hostname *after)
{
	struct moved_ctx *mc = arg;
	const struct table *t = mc->d->table;
	char was[ADDR_STRLEN], now[ADDR_STRLEN];

	log_info("'%s' moved: %s -> %s%s", after->name, before->n_addrs ? addr_format(&before->addrs[0], was, sizeof(was)) : "-",
		 after->n_addrs ? addr_format(&after->addrs[0], now, sizeof(now)) : "-", after->n_addrs > 1 ? ", ..." : "");
	for (size_t id = 0; id < t->tl.n; id++) {
		if (t->dead[id])
			continue;
		for (size_t k = 0; k < after->n_addrs; k++) {
			if (!addr_equal(&t->tl.v[id].addr, &after->addrs[k]))
				continue;
			struct sw_event e = {
				.ts_real_ns = mc->now, .kind = EVENT_ADDRESS_CHANGED, .target = (uint32_t)id,
				.addr = before->n_addrs ? before->addrs[0] : (struct sw_addr){ 0 }, .rtt_ns = -1,
			};
			monitor_emit(mc->d->mon, &e);
			return; /* one event per name */
		}
	}
}

static void on_runtime_rejected(void *arg, const struct table_runtime *e, const char *why)
{
	(void)arg;
	if (e->own_group)
		log_warn("canary '%s' left out: %s", e->spec, why);
	else
		log_warn("runtime target '%s' left out: %s", e->spec, why);
}

int reload_extra(const struct daemon *d, struct table_extra *out)
{
	size_t n = d->n_gw_canaries + d->runtime.n;
	struct table_runtime *v = NULL;

	if (n && !(v = malloc(n * sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < d->n_gw_canaries; i++)
		v[i] = d->gw_canaries[i];
	for (size_t i = 0; i < d->runtime.n; i++)
		v[d->n_gw_canaries + i] = d->runtime.v[i];
	*out = (struct table_extra){ .v = v, .n = n, .rejected = on_runtime_rejected, .ctx = (void *)d };
	return 0;
}

struct removed {
	uint32_t *ids;
	size_t n;
};

static void note_removed(void *arg, uint32_t id, bool added)
{
	struct removed *rm = arg;

	if (!added && rm->ids)
		rm->ids[rm->n++] = id;
}

/* Gives the monitor this prober's share of the current table. With no
 * member list yet (Redis not read, or away since the start) it owns
 * everything; with Redis away later it keeps the share of the last list. */
static void apply_shards(struct daemon *d)
{
	const struct table *t = d->table;
	uint8_t *foreign;

	if (!d->cfg->shard || !d->members.n)
		return;
	if (!(foreign = malloc(t->tl.n ? t->tl.n : 1))) {
		log_warn("shard: out of memory: the share stays as it was");
		return;
	}
	shard_assign(t, &d->members, d->cfg->prober_id, foreign);
	uint32_t owned = monitor_set_foreign(d->mon, foreign, clock_mono_ns(), clock_real_ns());
	free(foreign);
	if (owned != d->owned)
		log_info("shard: %zu member%s in '%s': this prober owns %u of %u targets", d->members.n,
			 d->members.n == 1 ? "" : "s", d->cfg->location, owned, t->n_live);
	d->owned = owned;
}

/* The file's groups in place of the running ones; nc gets those. */
static void swap_groups(struct config *running, struct config *nc)
{
	struct config_group *g = running->groups;
	size_t n = running->n_groups;

	running->groups = nc->groups;
	running->n_groups = nc->n_groups;
	nc->groups = g;
	nc->n_groups = n;
}

/* A reload applies the groups (and their defaults); the top-level
 * settings take a restart. One warning names those that changed in the
 * file, so that nobody believes them live. Keys the start fills in when
 * the file leaves them out (spill, state_file, output, prober_id) count
 * only when the file has them. */
static bool strv_differ(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return true;
	return false;
}

static bool str_differ(const char *run, const char *file, bool only_given)
{
	if (only_given && !file)
		return false;
	return (run == NULL) != (file == NULL) || (run && strcmp(run, file));
}

static void say_unapplied(const struct config *r, const struct config *f)
{
	const struct {
		bool changed;
		const char *key;
	} keys[] = {
		{ str_differ(r->location, f->location, false), "location" },
		{ r->rate != f->rate, "rate" },
		{ r->port_lo != f->port_lo || r->port_hi != f->port_hi, "source_ports" },
		{ r->check_port_lo != f->check_port_lo || r->check_port_hi != f->check_port_hi, "check_source_ports" },
		{ strv_differ(r->interfaces, r->n_interfaces, f->interfaces, f->n_interfaces), "interfaces" },
		{ str_differ(r->source_ip, f->source_ip, false), "source_ip" },
		{ str_differ(r->send_path, f->send_path, false), "send_path" },
		{ str_differ(r->redis_url, f->redis_url, false), "redis" },
		{ str_differ(r->redis_prefix, f->redis_prefix, false), "redis_prefix" },
		{ str_differ(r->prober_id, f->prober_id, true), "prober_id" },
		{ str_differ(r->spill, f->spill, true), "spill" },
		{ str_differ(r->state_file, f->state_file, true), "state_file" },
		{ str_differ(r->output, f->output, true), "output" },
		{ r->spill_max != f->spill_max, "spill_max" },
		{ r->backlog_memory != f->backlog_memory, "backlog_memory" },
		{ r->results_maxlen != f->results_maxlen, "results_maxlen" },
		{ r->events_maxlen != f->events_maxlen, "events_maxlen" },
		{ r->latency_retention_ns != f->latency_retention_ns, "latency_retention" },
		{ r->resolve_interval_ns != f->resolve_interval_ns, "resolve_interval" },
		{ strv_differ(r->exclude, r->n_exclude, f->exclude, f->n_exclude), "exclude" },
		{ strv_differ(r->canaries, r->n_canaries, f->canaries, f->n_canaries), "canaries" },
		{ r->isolation_share != f->isolation_share, "isolation_share" },
	};
	char list[512] = "";
	size_t len = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].changed && len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", keys[i].key);
	if (len)
		log_warn("reload: %s changed in '%s' and take%s a restart; the groups are reloaded", list, f->path,
			 strchr(list, ',') ? "" : "s");
}

void reload_table(struct daemon *d, enum reload_kind kind)
{
	const char *path = d->o->config;
	struct config nc = { 0 };
	struct table *nt = NULL;
	struct routing nrt = { 0 };
	struct removed rm = { 0 };
	struct table_extra extra = { 0 };
	bool reread = kind == RELOAD_FILE;
	char err[1024];
	int r;

	if (reread && !path) {
		log_info("SIGHUP: nothing to reload without -c");
		return;
	}
	if (reread && config_load(&nc, path, err, sizeof(err)) < 0) {
		log_error("reload rejected, the running configuration stays: %s", err);
		return;
	}
	if (reread) {
		options_apply(&nc, d->o->argc, d->o->argv); /* the command line wins, as at start */
		say_unapplied(d->cfg, &nc);
	}
	/* without -c the command line's targets are not in any config: the
	 * rebuild keeps the previous table's base groups */
	const struct config *c = reread ? &nc : path ? d->cfg : NULL;
	if ((r = reload_extra(d, &extra)) < 0) {
		log_error("reload rejected: %s", strerror(-r));
		goto out;
	}
	if ((r = config_build_table(&nt, c, &d->ex, d->table, &extra, err, sizeof(err))) < 0) {
		log_error("reload rejected, the running configuration stays: %s%s%s", c ? c->path : "", c ? ": " : "",
			  err);
		goto out;
	}
	if ((r = daemon_routing(d, nt, &nrt)) < 0) {
		log_error("reload rejected: cannot route the targets: %s", strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < nrt.n_ifnames; i++) {
		bool known = false;
		for (size_t k = 0; k < d->rt.n_ifnames; k++)
			known |= strcmp(nrt.ifnames[i], d->rt.ifnames[k]) == 0;
		if (!known)
			log_warn("reload: targets now leave through '%s', which is not captured: their RTTs are "
				 "approximate and replies may be missed until a restart",
				 nrt.ifnames[i]);
	}
	if ((r = sched_set_targets(d->sc, &nt->tl, nrt.sources, nrt.src_of)) < 0) {
		log_error("reload rejected: %s", strerror(-r));
		goto out;
	}
	struct table *old = d->table;
	/* the params callback reads d->table: switch it with the tracker */
	d->table = nt;
	if ((r = monitor_set_table(d->mon, nt, clock_mono_ns(), clock_real_ns())) < 0)
		log_error("reload: %s; the schedule may be incomplete until the next reload", strerror(-r));
	apply_shards(d);
	uint32_t added = 0, removed = 0;
	for (size_t id = 0; id < nt->tl.n; id++) {
		bool was = id < old->tl.n && !old->dead[id];
		added += !was && !nt->dead[id];
		removed += was && nt->dead[id];
	}
	if (removed && (rm.ids = malloc(removed * sizeof(*rm.ids))))
		table_diff(old, nt, note_removed, &rm);
	struct moved_ctx mc = { .d = d, .now = clock_real_ns() };
	table_moved_hostnames(old, nt, on_moved, &mc);
	/* from here the store may free old: nobody on this thread uses it */
	table_pub_publish(&d->pub, nt);
	nt = NULL;
	/* after the table that has them dead: a result still in flight then
	 * cannot write their state back */
	for (size_t i = 0; i < rm.n; i++)
		daemon_push(d, &(struct store_rec){ .kind = STORE_REC_REMOVED, .u.removed = rm.ids[i] });
	routing_release(&d->rt);
	d->rt = nrt;
	memset(&nrt, 0, sizeof(nrt));
	if (reread) {
		swap_groups(d->cfg, &nc);
		log_info("reloaded '%s': %u targets, %u added, %u removed", path, d->table->n_live, added, removed);
	} else if (kind == RELOAD_RUNTIME) {
		log_info("runtime targets applied: %u targets, %u added, %u removed", d->table->n_live, added,
			 removed);
	} else if (added || removed) {
		log_info("hostnames re-resolved: %u targets added, %u removed", added, removed);
	}
	malloc_trim(0); /* the build's scratch, as at start-up */
out:
	free((void *)extra.v);
	free(rm.ids);
	routing_release(&nrt);
	table_free(nt);
	config_release(&nc);
}

void reload_from_store(struct daemon *d)
{
	struct runtime_set rts;
	struct shard_members mb;

	if (store_runtime_take(d->st, &rts)) {
		runtime_set_release(&d->runtime);
		d->runtime = rts;
		reload_table(d, RELOAD_RUNTIME);
	}
	if (store_members_take(d->st, &mb)) {
		shard_members_release(&d->members);
		d->members = mb;
		apply_shards(d);
	}
}

void reload_release(struct daemon *d)
{
	runtime_set_release(&d->runtime);
	shard_members_release(&d->members);
}
