/* synwatch: wires the stages. Start-up happens here in order: the settings
 * (daemon/settings.h), the first target table, its routes and canaries,
 * the stages and their sockets, then the privileges go. Three threads run
 * (sender, receiver, store) while this one runs the loop: it drains the
 * sender's reports and the receiver's records, expires timeouts, starts the
 * checks that are due (continuous mode) and releases probes. Signals are
 * handled here too: SIGHUP reloads, SIGINT/SIGTERM stop after the probes in
 * flight. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/memuse.h"
#include "common/ring.h"
#include "daemon/config.h"
#include "daemon/options.h"
#include "daemon/routing.h"
#include "daemon/settings.h"
#include "daemon/targets.h"
#include "engine/engine.h"
#include "engine/privs.h"
#include "scheduler/monitor.h"
#include "scheduler/sched.h"
#include "scheduler/shard.h"
#include "scheduler/table.h"
#include "scheduler/targets.h"
#include "store/store.h"

#define REQ_RING 16384
#define REPORT_RING 16384
#define CAPTURE_RING (1u << 18)
#define STORE_RING (1u << 18)
/* how long start-up waits for the gateways' MACs (ARP) */
#define LINK_RESOLVE_WAIT_NS (500 * NSEC_PER_MSEC)
#define MAX_GATEWAY_CANARIES 4
#define DUE_BATCH 4096
#define STATUS_NS (250 * NSEC_PER_MSEC)

struct daemon;

/* What the status keeps between calls (in struct daemon). */
struct status {
	bool show;                  /* a status or progress line on stderr: a terminal, no -q, no dry run */
	uint64_t start_ns;          /* CLOCK_MONOTONIC: when the run loop began */
	uint64_t line_sent;         /* the status line's rate: probes sent at its last update */
	uint64_t line_ns;           /* ... and when (CLOCK_MONOTONIC) */
	uint64_t beat_sent;         /* the heartbeat's rates: probes sent at the last beat */
	uint64_t beat_replies;      /* ... and replies */
	bool overloaded, isolated;  /* as last logged */
};

enum reload_kind {
	RELOAD_FILE,     /* SIGHUP: read the config again */
	RELOAD_RESOLVE,  /* the periodic re-resolution of hostnames */
	RELOAD_RUNTIME,  /* the runtime targets in Redis changed */
};

/* The running prober: everything the main loop touches. */
struct daemon {
	const char *program;        /* argv[0], for the hint on missing privileges */
	const struct options *o;
	struct config *cfg;         /* the settings; a reload replaces its groups, nothing else */
	struct exclude_list ex;
	struct table *table;        /* the latest generation, published */
	struct table_pub pub;
	struct routing rt;          /* of table */
	struct link_paths *lp;      /* NULL with send_path ip (and in dry runs) */
	struct ring *reqs, *reports, *caps, *recs;
	struct sender *snd;
	struct capture *cap;        /* NULL in dry runs */
	struct store *st;
	struct sched *sc;
	struct monitor *mon;        /* NULL with --once */
	/* the canaries: the targets that tell this prober's isolation from an outage */
	struct sw_addr *canaries;
	uint16_t *canary_ports;
	size_t n_canaries;
	struct table_runtime *gw_canaries; /* the gateways' echo targets, applied with every rebuild */
	size_t n_gw_canaries;
	/* what Redis said, for the rebuilds */
	struct runtime_set runtime; /* targets added through Redis, applied with every rebuild */
	struct shard_members members; /* the live members of the location, as Redis last said */
	uint32_t owned;             /* targets of our share, as last logged */
	struct status status;
	char hostname[256];         /* named in the heartbeat; the store keeps the pointer */
};

static void daemon_push(struct daemon *d, const struct store_rec *rec)
{
	/* never drop a measured result: wait for the store thread to make room */
	while (ring_push(d->recs, rec, 1) != 1) {
		struct timespec ts = { 0, 100 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static void emit_result(void *arg, const struct probe_result *res)
{
	struct store_rec rec = { .kind = STORE_REC_RESULT, .u.result = *res };

	daemon_push(arg, &rec);
}

static void emit_event(void *arg, const struct sw_event *e)
{
	struct store_rec rec = { .kind = STORE_REC_EVENT, .u.event = *e };

	daemon_push(arg, &rec);
}

/* sched -> monitor (continuous) */
static void on_check(void *arg, const struct probe_result *res)
{
	struct daemon *d = arg;

	monitor_on_result(d->mon, res);
}

static void target_params(void *arg, uint32_t t, int64_t *timeout_ns, uint8_t *retries)
{
	const struct daemon *d = arg;
	const struct table_group *g = table_group_of(d->table, t);

	if (g) {
		*timeout_ns = g->timeout_ns;
		*retries = g->retries;
	}
}

static const char *interface_of(const struct config *c)
{
	return c->n_interfaces ? c->interfaces[0] : NULL;
}

static int daemon_routing(const struct daemon *d, const struct table *t, struct routing *out)
{
	return routing_build(out, &t->tl, interface_of(d->cfg), d->cfg->source_ip, d->lp);
}


static void status_begin(struct daemon *d, uint64_t now)
{
	struct status *s = &d->status;

	s->show = !d->o->quiet && !d->o->dry_run && isatty(STDERR_FILENO);
	s->start_ns = now;
	s->line_sent = 0;
	s->line_ns = now;
}

static void progress(const struct sched_stats *ss, const struct sender_stats *snd, size_t total,
		     uint64_t elapsed_ns)
{
	double secs = (double)elapsed_ns / 1e9;
	double rate = secs > 0 ? (double)snd->sent / secs : 0;
	size_t done = total - ss->pending - ss->in_flight;

	fprintf(stderr, "\r\033[K%zu/%zu done, sent %llu (%.0f/s), replies %llu: open %llu closed %llu unreach %llu "
			"filtered %llu error %llu",
		done, total, (unsigned long long)snd->sent, rate, (unsigned long long)ss->replies,
		(unsigned long long)ss->results[PROBE_OPEN], (unsigned long long)ss->results[PROBE_CLOSED],
		(unsigned long long)ss->results[PROBE_UNREACHABLE], (unsigned long long)ss->results[PROBE_FILTERED],
		(unsigned long long)ss->results[PROBE_ERROR]);
	if (rate > 0 && ss->pending)
		fprintf(stderr, ", ETA %.0fs", (double)ss->pending / rate);
	fflush(stderr);
}

static void status_line(const struct monitor_stats *ms, double rate)
{
	fprintf(stderr,
		"\r\033[K%u targets: up %u, degraded %u, down %u, flapping %u, unknown %u | %.0f probes/s | %llu "
		"events%s%s",
		ms->targets, ms->by_state[TARGET_UP], ms->by_state[TARGET_DEGRADED], ms->by_state[TARGET_DOWN],
		ms->by_state[TARGET_FLAPPING], ms->by_state[TARGET_UNKNOWN], rate, (unsigned long long)ms->events,
		ms->overloaded ? " | OVERLOADED" : "", ms->isolated ? " | ISOLATED" : "");
	fflush(stderr);
}

static void status_heartbeat(struct daemon *d)
{
	struct store_rec rec = { .kind = STORE_REC_STATUS };
	struct store_status *st = &rec.u.status;
	struct sender_stats snd;
	struct sched_stats ss;
	struct capture_stats cs = { 0 };

	sender_get_stats(d->snd, &snd);
	sched_get_stats(d->sc, &ss);
	if (d->cap)
		capture_get_stats(d->cap, &cs);
	st->sent_per_s = snd.sent - d->status.beat_sent;
	st->replies_per_s = ss.replies - d->status.beat_replies;
	d->status.beat_sent = snd.sent;
	d->status.beat_replies = ss.replies;
	st->pcap_drops = cs.pcap_drop;
	st->targets = d->table->n_live;
	if (d->mon) {
		struct monitor_stats ms;
		monitor_get_stats(d->mon, &ms);
		st->targets = ms.targets; /* our share */
		st->demand_pps = ms.demand_pps;
		st->overloaded = ms.overloaded;
		st->isolated = ms.isolated;
		memcpy(st->by_state, ms.by_state, sizeof(st->by_state));
	}
	daemon_push(d, &rec);
}

static void status_health(struct daemon *d)
{
	struct status *s = &d->status;
	unsigned long long cap = (unsigned long long)d->cfg->rate;
	struct monitor_stats ms;

	monitor_get_counters(d->mon, &ms);
	if (ms.overloaded != s->overloaded) {
		s->overloaded = ms.overloaded;
		if (ms.overloaded)
			log_warn("overloaded: the targets ask for %.0f probes/s, the cap is %llu: intervals stretched "
				 "x%.2f (low), x%.2f (normal), x%.2f (high), x%.2f (critical)",
				 ms.demand_pps, cap, ms.stretch[0], ms.stretch[1], ms.stretch[2], ms.stretch[3]);
		else
			log_info("no longer overloaded: %.0f probes/s asked, cap %llu", ms.demand_pps, cap);
	}
	if (ms.isolated != s->isolated) {
		s->isolated = ms.isolated;
		if (ms.isolated)
			log_warn("this prober looks cut off (most checks of up targets fail): holding down "
				 "transitions until it recovers");
		else
			log_info("this prober's network is back: state changes apply again");
	}
}

static void status_update(struct daemon *d, uint64_t now)
{
	struct status *s = &d->status;
	struct sender_stats sst;

	if (d->mon) {
		status_health(d);
		if (s->show) {
			struct monitor_stats ms;
			monitor_get_stats(d->mon, &ms);
			sender_get_stats(d->snd, &sst);
			double rate = (double)(sst.sent - s->line_sent) * 1e9 / (double)(now - s->line_ns + 1);
			s->line_sent = sst.sent;
			s->line_ns = now;
			status_line(&ms, rate);
		}
	} else if (s->show) {
		struct sched_stats ss;
		sched_get_stats(d->sc, &ss);
		sender_get_stats(d->snd, &sst);
		progress(&ss, &sst, d->table->tl.n, now - s->start_ns);
	}
}

static void summary(const struct sched_stats *ss, const struct sender_stats *snd, const struct capture_stats *cs,
		    size_t targets, uint64_t elapsed_ns, bool interrupted)
{
	double secs = (double)elapsed_ns / 1e9;

	fprintf(stderr,
		"synwatch: %s%zu endpoints in %.3f s: sent %llu probes (%llu retransmitted, %llu send errors, %llu as "
		"Ethernet frames), %.0f probes/s\n"
		"synwatch: results: open %llu, closed %llu, unreachable %llu, filtered %llu, error %llu; %llu not probed\n"
		"synwatch: replies %llu; rejected: bad cookie %llu, stale %llu, duplicate %llu, malformed %llu; "
		"approximate rtt %llu\n"
		"synwatch: pcap: received %llu, dropped %llu, interface drops %llu\n",
		interrupted ? "interrupted: " : "", targets, secs, (unsigned long long)snd->sent,
		(unsigned long long)ss->retransmits, (unsigned long long)snd->failed, (unsigned long long)snd->link,
		secs > 0 ? (double)snd->sent / secs : 0, (unsigned long long)ss->results[PROBE_OPEN],
		(unsigned long long)ss->results[PROBE_CLOSED], (unsigned long long)ss->results[PROBE_UNREACHABLE],
		(unsigned long long)ss->results[PROBE_FILTERED], (unsigned long long)ss->results[PROBE_ERROR],
		(unsigned long long)ss->pending, (unsigned long long)ss->replies, (unsigned long long)cs->bad_cookie,
		(unsigned long long)ss->stale, (unsigned long long)ss->duplicate, (unsigned long long)cs->malformed,
		(unsigned long long)ss->rtt_approx, (unsigned long long)cs->pcap_recv, (unsigned long long)cs->pcap_drop,
		(unsigned long long)cs->pcap_ifdrop);
	if (snd->dropped)
		fprintf(stderr, "synwatch: %llu Ethernet frames dropped by the kernel on the way out (an egress filter or a "
				"full queue)\n",
			(unsigned long long)snd->dropped);
}

static void status_summary(struct daemon *d, uint64_t elapsed_ns, bool interrupted)
{
	const struct options *o = d->o;
	struct capture_stats cs = { 0 };
	struct sched_stats ss;
	struct sender_stats sst;
	struct store_redis_stats rs;

	sched_get_stats(d->sc, &ss);
	sender_get_stats(d->snd, &sst);
	if (d->cap)
		capture_get_stats(d->cap, &cs);
	if (d->status.show)
		fprintf(stderr, "\r\033[K");
	if (!o->quiet && !o->dry_run)
		summary(&ss, &sst, &cs, d->table->n_live, elapsed_ns, interrupted && o->once);
	if (!o->quiet && store_redis_stats(d->st, &rs))
		fprintf(stderr, "synwatch: redis: %llu records written (%llu were there already), %llu left in the spill "
				"file, %llu lost\n",
			(unsigned long long)rs.written, (unsigned long long)rs.skipped, (unsigned long long)rs.left,
			(unsigned long long)rs.lost);
}

/* One VmRSS-like field of /proc/self/status, in KiB (0 if unknown). */
static unsigned long status_kib(const char *field)
{
	char line[256];
	unsigned long v = 0;
	size_t len = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			v = strtoul(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void memuse_log(const struct memuse *u, bool per_target, size_t n_targets, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < u->n && off < len; i++) {
		const struct memuse_item *it = &u->v[i];
		if (it->per_target != per_target || !it->bytes)
			continue;
		int k = per_target ? snprintf(buf + off, len - off, "%s%s %.1f", off ? ", " : "", it->what,
					      (double)it->bytes / (double)(n_targets ? n_targets : 1))
				   : snprintf(buf + off, len - off, "%s%s %.1f", off ? ", " : "", it->what,
					      (double)it->bytes / 1048576.0);
		off += k > 0 ? (size_t)k : 0;
	}
}

static void memreport_log(const struct daemon *d, const char *when)
{
	struct memuse u = { 0 };
	char per[1024], buf[1024];
	size_t n = d->table->n_live;

	table_memuse(d->table, &u);
	memuse_add(&u, "routing.src_of", d->table->tl.n * sizeof(*d->rt.src_of), true);
	if (d->mon)
		monitor_memuse(d->mon, &u);
	if (d->sc)
		sched_memuse(d->sc, &u);
	if (d->cap)
		memuse_add(&u, "capture.pcap", capture_buffer_bytes(d->cap), false);
	memuse_add(&u, "ring.requests", ring_bytes(d->reqs), false);
	memuse_add(&u, "ring.reports", ring_bytes(d->reports), false);
	memuse_add(&u, "ring.captures", ring_bytes(d->caps), false);
	memuse_add(&u, "ring.store", ring_bytes(d->recs), false);
	memuse_log(&u, true, n, per, sizeof(per));
	memuse_log(&u, false, n, buf, sizeof(buf));
	struct mallinfo2 mi = mallinfo2();
	log_info("memory %s: %zu targets: %.1f bytes per target in per-target arrays (%.1f MiB): %s; "
		 "buffers %.1f MiB: %s; malloc: %.1f MiB in use, %.1f MiB free in its heaps, %.1f MiB of it "
		 "mmapped; RSS %.1f MiB (anonymous %.1f, file %.1f, shared %.1f)",
		 when, n, (double)memuse_total(&u, true) / (double)(n ? n : 1),
		 (double)memuse_total(&u, true) / 1048576.0, per, (double)memuse_total(&u, false) / 1048576.0, buf,
		 (double)mi.uordblks / 1048576.0 + (double)mi.hblkhd / 1048576.0, (double)mi.fordblks / 1048576.0,
		 (double)mi.hblkhd / 1048576.0, (double)status_kib("VmRSS") / 1024.0,
		 (double)status_kib("RssAnon") / 1024.0, (double)status_kib("RssFile") / 1024.0,
		 (double)status_kib("RssShmem") / 1024.0);
}

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

static int reload_extra(const struct daemon *d, struct table_extra *out)
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

static void reload_table(struct daemon *d, enum reload_kind kind)
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

static void reload_from_store(struct daemon *d)
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

static void reload_release(struct daemon *d)
{
	runtime_set_release(&d->runtime);
	shard_members_release(&d->members);
}

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

static void canaries_release(struct daemon *d)
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

static void canaries_add(struct daemon *d)
{
	parse_canaries(d, d->cfg);
	if (!d->n_canaries)
		gateway_canaries(d);
}

static int daemon_route(struct daemon *d)
{
	const struct config *c = d->cfg;
	int r;

	if (d->o->dry_run) {
		/* no routes needed: a dry run shows packets from the source given, or 0.0.0.0 */
		struct sw_addr src = { .family = AF_INET };
		if (c->source_ip && addr_parse(&src, c->source_ip) < 0)
			cli_die_usage("--source-ip '%s': expected an IPv4 or IPv6 address", c->source_ip);
		return routing_fixed(&d->rt, d->table->tl.n, &src);
	}
	/* send_path auto: frames to Ethernet gateways (engine/engine.h) */
	if (strcmp(c->send_path ? c->send_path : "auto", "auto") == 0 && (r = link_paths_new(&d->lp)) < 0)
		log_warn("cannot read the neighbour table: %s; every probe goes through the IP stack", strerror(-r));
	r = daemon_routing(d, d->table, &d->rt);
	if (r == -EINVAL)
		cli_die_usage("source ip '%s': expected an IPv4 or IPv6 address", c->source_ip);
	if (r == -ENODEV)
		cli_die_usage("interface '%s': no such interface", interface_of(c));
	if (r == -EADDRNOTAVAIL)
		cli_die_usage("interface '%s' has no IPv4 address: give --source-ip", interface_of(c));
	if (r < 0)
		log_error("cannot route the targets: %s", strerror(-r));
	return r < 0 ? r : 0;
}

static bool has_family(const struct table *t, uint8_t family)
{
	for (size_t id = 0; id < t->tl.n; id++)
		if (t->tl.v[id].addr.family == family)
			return true;
	return false;
}

static uint64_t random_run_id(void)
{
	struct cookie_key k;
	uint64_t id = 0;

	if (cookie_key_random(&k) == 0)
		memcpy(&id, k.k, sizeof(id));
	return id ? id : (uint64_t)clock_real_ns();
}

/* The longest check a group asks for: the scheduler's per-attempt stamps
 * and the capture filter are sized for it at start (a reload keeps them). */
struct longest {
	uint8_t retries;
	int64_t timeout_ns;
};

static struct longest longest_check(const struct config *c)
{
	struct longest l = { 0 };

	for (size_t i = 0; i < c->n_groups; i++) {
		if (c->groups[i].retries > l.retries)
			l.retries = c->groups[i].retries;
		if (c->groups[i].timeout_ns > l.timeout_ns)
			l.timeout_ns = c->groups[i].timeout_ns;
	}
	return l;
}

static int open_raw(const struct daemon *d)
{
	int fd = rawsock_open_v4();

	if (fd == -EPERM || fd == -EACCES)
		log_error("cannot open a raw socket: %s; run as root or grant the capability: "
			  "setcap cap_net_raw,cap_net_admin=eip %s",
			  strerror(-fd), d->program);
	else if (fd < 0)
		log_error("cannot open a raw socket: %s", strerror(-fd));
	return fd;
}

static void reserve_ports(const struct daemon *d)
{
	const struct config *c = d->cfg;
	int r;

	if (d->o->no_reserve || d->o->dry_run)
		return;
	r = ports_reserve(c->port_lo, c->port_hi);
	if (r == 1)
		log_info("reserved source ports %u-%u from the kernel (net.ipv4.ip_local_reserved_ports)", c->port_lo,
			 c->port_hi);
	else if (r < 0)
		log_warn("cannot reserve source ports %u-%u in net.ipv4.ip_local_reserved_ports: %s; a local "
			 "program may be given one of them (see docs/operations.md)",
			 c->port_lo, c->port_hi, strerror(-r));
}

static int open_rings(struct daemon *d)
{
	if (ring_new(&d->reqs, sizeof(struct probe_req), REQ_RING) < 0 ||
	    ring_new(&d->reports, sizeof(struct send_report), REPORT_RING) < 0 ||
	    ring_new(&d->caps, sizeof(struct capture_rec), CAPTURE_RING) < 0 ||
	    ring_new(&d->recs, sizeof(struct store_rec), STORE_RING) < 0) {
		log_error("out of memory for the rings");
		return -ENOMEM;
	}
	return 0;
}

static int open_capture(struct daemon *d, const struct cookie_key *key)
{
	const char *names[64];
	size_t n = d->rt.n_ifnames < 64 ? d->rt.n_ifnames : 64;
	struct capture_config cc = { .ifnames = names, .n_ifnames = n };
	int r;

	if (d->o->dry_run || !n)
		return 0;
	for (size_t i = 0; i < n; i++)
		names[i] = d->rt.ifnames[i];
	cc.filter.port_lo = d->cfg->port_lo;
	cc.filter.port_hi = d->cfg->port_hi;
	cc.filter.key = key;
	cc.filter.max_attempt = longest_check(d->cfg).retries;
	if ((r = capture_open(&d->cap, &cc)) == -EPERM)
		log_error("cannot capture: permission denied; run as root or grant cap_net_raw");
	return r;
}

/* The packet socket of the link paths and the IPv6 raw socket: without
 * either, the probes they would carry still go out another way or end as
 * errors, so their failures are warnings. */
static void open_more_paths(struct daemon *d)
{
	int r;

	if (d->lp) {
		int fdl = packetsock_open();
		if (fdl < 0) {
			log_warn("cannot open a packet socket: %s; every probe goes through the IP stack",
				 strerror(-fdl));
			link_paths_free(d->lp);
			d->lp = NULL;
		} else {
			sender_set_link(d->snd, fdl, d->lp);
			/* a gateway nobody talked to yet: ask for its MAC
			 * now rather than send the first second the slow way */
			if ((r = link_paths_refresh(d->lp, LINK_RESOLVE_WAIT_NS)) < 0)
				log_warn("cannot read the neighbour table: %s", strerror(-r));
		}
	}
	if (!d->o->dry_run && has_family(d->table, AF_INET6)) {
		int fd6 = rawsock_open_v6();
		if (fd6 < 0)
			log_warn("cannot open an IPv6 raw socket: %s; IPv6 targets end as errors", strerror(-fd6));
		else
			sender_set_v6(d->snd, fd6);
	}
}

static int open_store(struct daemon *d)
{
	const struct config *c = d->cfg;
	bool monitoring = !d->o->once;
	enum store_format fmt = STORE_NDJSON;
	struct store_redis_config rc;

	store_format_parse(c->output, &fmt); /* settled: one of the three */
	struct store_config sc = {
		.format = d->o->dry_run ? STORE_NONE : fmt,
		.out = stdout,
		.tables = &d->pub,
		.location = monitoring ? c->location : NULL,
		.run_id = random_run_id(),
		.with_group = monitoring,
		.latency_records = monitoring && !d->o->no_latency,
	};
	if (c->redis_url && !d->o->dry_run) {
		settings_hostname(d->hostname, sizeof(d->hostname));
		rc = (struct store_redis_config){
			.url = c->redis_url,
			.prefix = c->redis_prefix,
			.spill_path = c->spill,
			.monitoring = monitoring,
			.runtime = monitoring,
			.shard = c->shard,
			.location = c->location,
			.prober = c->prober_id,
			.version = SYNWATCH_VERSION,
			.host = d->hostname,
			.rate = c->rate,
			.results_maxlen = c->results_maxlen,
			.events_maxlen = c->events_maxlen,
			.latency_retention_s = c->latency_retention_ns / NSEC_PER_SEC,
		};
		sc.redis = &rc;
	}
	return store_new(&d->st, &sc, d->recs); /* it says why */
}

static int open_sched(struct daemon *d)
{
	const struct options *o = d->o;
	bool monitoring = !o->once;
	/* lookahead: about 10 ms of probes, so that a probe's timeout starts
	 * close to when it really leaves */
	size_t lookahead = (size_t)(d->cfg->rate / 100);
	struct longest l = longest_check(d->cfg);
	int r;

	if (lookahead < 2 * o->batch)
		lookahead = 2 * o->batch;
	if (lookahead > REQ_RING / 2)
		lookahead = REQ_RING / 2;
	struct sched_config sc = {
		.port_lo = d->cfg->port_lo,
		.port_hi = d->cfg->port_hi,
		.retries = o->dry_run ? 0 : l.retries,
		.timeout_ns = o->dry_run ? 1 : l.timeout_ns,
		.max_lookahead = lookahead,
		.per_dest_pps = o->dry_run ? 0 : o->per_host_rate,
		.order_seed = !monitoring && d->table->tl.n > 1 ? (uint64_t)clock_real_ns() | 1 : 0,
		.emit = monitoring ? on_check : emit_result,
		.emit_ctx = d,
		.continuous = monitoring,
		.params = monitoring ? target_params : NULL,
		.params_ctx = d,
	};
	if ((r = sched_new(&d->sc, &sc, &d->table->tl, d->rt.sources, d->rt.src_of)) < 0)
		log_error("cannot set up the scheduler: %s", strerror(-r));
	return r;
}

static int open_monitor(struct daemon *d)
{
	const struct config *c = d->cfg;
	int r;

	if (d->o->once)
		return 0;
	struct monitor_config mc = {
		.rate_cap = c->rate,
		.isolation_share = c->isolation_share,
		.canaries = d->canaries,
		.canary_ports = d->canary_ports,
		.n_canaries = d->n_canaries,
		.emit_result = emit_result,
		.emit_event = emit_event,
		.ctx = d,
	};
	if ((r = monitor_new(&d->mon, &mc, d->table, clock_mono_ns(), clock_real_ns())) < 0) {
		log_error("cannot set up the monitor: %s", strerror(-r));
		return r;
	}
	status_health(d);
	log_info("monitoring %u targets from '%s' at up to %llu probes/s", d->table->n_live, c->location,
		 (unsigned long long)c->rate);
	return 0;
}

static int daemon_open(struct daemon *d)
{
	struct cookie_key key;
	int fd = -1, r;

	table_pub_publish(&d->pub, d->table);
	if ((r = cookie_key_random(&key)) < 0) {
		log_error("cannot draw the cookie secret: %s", strerror(-r));
		goto out;
	}
	if (!d->o->dry_run) {
		if ((r = fd = open_raw(d)) < 0)
			goto out;
		reserve_ports(d);
	}
	if ((r = open_rings(d)) < 0 || (r = open_capture(d, &key)) < 0)
		goto out;
	struct sender_config sc = {
		.rate_pps = d->cfg->rate,
		.batch = d->o->batch,
		.key = &key,
		.dry_run = d->o->dry_run ? stdout : NULL,
	};
	if ((r = sender_new(&d->snd, &sc, fd, d->reqs, d->reports)) < 0) {
		log_error("cannot set up the sender: %s", strerror(-r));
		goto out;
	}
	fd = -1; /* the sender owns it */
	open_more_paths(d);
	if ((r = open_store(d)) < 0 || (r = open_sched(d)) < 0 || (r = open_monitor(d)) < 0)
		goto out;
	/* the table build's scratch (each group's expanded list, the id
	 * index, the host index) is freed by now, mostly into the heap, where
	 * glibc keeps it: give its pages back (about 11 bytes per target) */
	malloc_trim(0);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int daemon_drop_privileges(struct daemon *d)
{
	const struct options *o = d->o;
	char err[512];
	int r;

	/* every socket and handle is open: from here no privilege is needed */
	if (!o->dry_run && !o->keep_privileges) {
		const char *who;
		if ((r = privs_drop(o->user, o->user != NULL, &who, err, sizeof(err))) < 0) {
			log_error("%s", err);
			return r;
		}
		if (who)
			log_info("running as '%s' without capabilities", who);
		else if (geteuid() == 0)
			log_info("running as root without capabilities (create a '%s' user or pass --user to "
				 "leave root)",
				 PRIVS_DEFAULT_USER);
	}
	if (o->seccomp && (r = privs_seccomp(err, sizeof(err))) < 0) {
		log_error("%s", err);
		return r;
	}
	return 0;
}

static int daemon_start(struct daemon *d)
{
	int r;

	if ((r = store_start(d->st)) < 0 || (d->cap && (r = capture_start(d->cap, d->caps)) < 0) ||
	    (r = sender_start(d->snd)) < 0) {
		log_error("cannot start threads: %s", strerror(-r));
		return r;
	}
	return 0;
}

static void daemon_stop(struct daemon *d)
{
	struct capture_rec cbuf[256];
	size_t n;

	sender_stop(d->snd);
	if (d->cap)
		capture_stop(d->cap);
	/* replies that raced the stop still give results */
	while ((n = ring_pop(d->caps, cbuf, 256)) > 0)
		for (size_t i = 0; i < n; i++)
			sched_on_capture(d->sc, &cbuf[i]);
	store_stop(d->st);
}

static void daemon_close(struct daemon *d)
{
	/* freeing a stage stops its thread; the sender reads the link paths */
	sender_free(d->snd);
	link_paths_free(d->lp);
	capture_close(d->cap);
	store_free(d->st);
	/* no thread reads a table now */
	if (atomic_load(&d->pub.latest))
		table_pub_release(&d->pub);
	else
		table_free(d->table);
	sched_free(d->sc);
	monitor_free(d->mon);
	routing_release(&d->rt);
	canaries_release(d);
	ring_free(d->reqs);
	ring_free(d->reports);
	ring_free(d->caps);
	ring_free(d->recs);
	reload_release(d);
	exclude_release(&d->ex);
}

/* how many SIGINT/SIGTERM arrived: the first stops new probes, the second quits */
static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP) {
		got_hup = 1;
		return;
	}
	if (got_signal < 2)
		got_signal++;
}

static void loop_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The sender's reports and the receiver's records, into the scheduler. */
static size_t drain(struct daemon *d)
{
	struct send_report rbuf[256];
	struct capture_rec cbuf[256];
	size_t n, work = 0;

	while ((n = ring_pop(d->reports, rbuf, 256)) > 0) {
		for (size_t i = 0; i < n; i++)
			sched_on_report(d->sc, &rbuf[i]);
		work += n;
	}
	while ((n = ring_pop(d->caps, cbuf, 256)) > 0) {
		for (size_t i = 0; i < n; i++)
			sched_on_capture(d->sc, &cbuf[i]);
		work += n;
	}
	return work;
}

/* The checks the monitor says are due, to the scheduler. */
static size_t start_due(struct daemon *d, uint64_t now, int64_t now_real)
{
	uint32_t due[DUE_BATCH];
	size_t n, work = 0;

	while ((n = monitor_due(d->mon, now, now_real, due, DUE_BATCH)) > 0) {
		for (size_t i = 0; i < n; i++)
			if (!sched_start(d->sc, due[i]))
				monitor_overrun(d->mon, due[i]);
		work += n;
		if (n < DUE_BATCH)
			break;
	}
	return work;
}

static bool loop_run(struct daemon *d, uint64_t *elapsed_ns)
{
	const struct config *c = d->cfg;
	bool interrupted = false;
	uint64_t start = clock_mono_ns(), next_status = start, idle_ns = 100 * 1000;
	/* without -c nothing is re-resolved: the command line has no resolve_interval */
	uint64_t resolve_every = d->o->config && c->resolve_interval_ns > 0 ? (uint64_t)c->resolve_interval_ns : 0;
	uint64_t next_resolve = start + resolve_every, next_beat = start, next_neigh = start + NSEC_PER_SEC;
	int r;

	status_begin(d, start);
	for (;;) {
		uint64_t now = clock_mono_ns();
		int64_t now_real = clock_real_ns();
		size_t work = 0;

		if (got_signal && !interrupted) {
			interrupted = true;
			sched_stop_new(d->sc);
			log_info("stopping: waiting for replies to the probes in flight (Ctrl-C again to quit now)");
		}
		if (got_signal == 2)
			break;
		if (got_hup && !interrupted) {
			got_hup = 0;
			reload_table(d, RELOAD_FILE);
		}
		if (resolve_every && d->table->n_hostnames && now >= next_resolve && !interrupted) {
			next_resolve = now + resolve_every;
			reload_table(d, RELOAD_RESOLVE);
		}
		if (!interrupted)
			reload_from_store(d);
		if (c->redis_url && now >= next_beat) {
			next_beat = now + NSEC_PER_SEC;
			status_heartbeat(d);
		}
		if (d->lp && now >= next_neigh) {
			/* the gateways' MACs as the kernel knows them now */
			next_neigh = now + NSEC_PER_SEC;
			if ((r = link_paths_refresh(d->lp, 0)) < 0)
				log_debug("cannot read the neighbour table: %s", strerror(-r));
		}
		work += drain(d);
		sched_expire(d->sc, now, now_real);
		if (d->mon && !interrupted)
			work += start_due(d, now, now_real);
		work += sched_release(d->sc, d->reqs, now, now_real);
		if (sched_done(d->sc))
			break;
		if (now >= next_status) {
			next_status = now + STATUS_NS;
			status_update(d, now);
		}
		if (work == 0) {
			/* nothing to do: back off up to 1 ms (timeouts and due
			 * times are checked at that granularity) */
			clock_sleep_until(now + idle_ns);
			if (idle_ns < NSEC_PER_MSEC)
				idle_ns *= 2;
		} else {
			idle_ns = 50 * 1000;
		}
	}
	*elapsed_ns = clock_mono_ns() - start;
	return interrupted;
}

int main(int argc, char **argv)
{
	struct options o;
	struct config cfg;
	struct daemon d = { .program = argv[0], .o = &o, .cfg = &cfg };
	uint64_t elapsed_ns;
	bool interrupted;
	int r, rc = 1;

	log_set_program("synwatch");
	settings_load(&cfg, &o, argc, argv);
	log_level_current = o.verbose >= 2 ? LOG_DEBUG : o.quiet ? LOG_ERROR : LOG_INFO;
	targets_load(&d.table, &d.ex, &cfg, &o);
	if (daemon_route(&d) < 0)
		goto out;
	if (!o.once)
		canaries_add(&d);
	if (daemon_open(&d) < 0)
		goto out;
	if (o.mem_report)
		memreport_log(&d, "at start-up");
	if (daemon_drop_privileges(&d) < 0)
		goto out;
	loop_catch_signals();
	if (daemon_start(&d) < 0)
		goto out;

	interrupted = loop_run(&d, &elapsed_ns);
	if (o.mem_report)
		memreport_log(&d, "at exit");
	daemon_stop(&d);
	status_summary(&d, elapsed_ns, interrupted);
	if ((r = store_error(d.st)) && r != EPIPE) {
		log_error("cannot write results: %s", strerror(r));
		goto out;
	}
	rc = 0;
out:
	daemon_close(&d);
	config_release(&cfg);
	return rc;
}
