/* The running prober's stages (daemon/daemon.h): opened in order, started,
 * stopped and freed. Each stage's own config struct (sender_config,
 * capture_config, store_config, sched_config, monitor_config) is filled from
 * the settings here and nowhere else. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/ring.h"
#include "daemon/canaries.h"
#include "daemon/checks.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/options.h"
#include "daemon/reload.h"
#include "daemon/settings.h"
#include "daemon/statefile.h"
#include "engine/linkpath.h"
#include "engine/reserve.h"
#include "engine/sender.h"
#include "engine/privs.h"
#include "scheduler/monitor.h"
#include "scheduler/sched.h"
#include "store/redis-url.h"

#define REQ_RING 16384
#define REPORT_RING 16384
#define CAPTURE_RING (1u << 18)
#define STORE_RING (1u << 18)
#define XREC_RING 4096
/* how long start-up waits for the gateways' MACs (ARP) */
#define LINK_RESOLVE_WAIT_NS (500 * NSEC_PER_MSEC)

void daemon_push(struct daemon *d, const struct store_rec *rec)
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

static void push_x(struct daemon *d, const struct store_xrec *x)
{
	while (ring_push(d->xrecs, x, 1) != 1) {
		struct timespec ts = { 0, 100 * 1000 };
		nanosleep(&ts, NULL);
	}
}

void daemon_push_check(struct daemon *d, const struct check_result *r, uint8_t verdict, int32_t days_left)
{
	struct store_xrec x = { .kind = STORE_XREC_CHECK, .verdict = verdict, .days_left = days_left, .u.check = *r };

	push_x(d, &x);
}

void daemon_push_detail(struct daemon *d, uint64_t event_id, const char *text)
{
	struct store_xrec x = { .kind = STORE_XREC_DETAIL, .event_id = event_id };

	snprintf(x.u.text, sizeof(x.u.text), "%s", text);
	push_x(d, &x);
}

static void emit_check(void *arg, const struct check_result *r, uint8_t verdict, int32_t days_left)
{
	daemon_push_check(arg, r, verdict, days_left);
}

static void emit_detail(void *arg, uint64_t event_id, const char *text)
{
	daemon_push_detail(arg, event_id, text);
}

/* --once: the SYN's result, and a port with a service check is checked too */
static void emit_once(void *arg, const struct probe_result *res)
{
	struct daemon *d = arg;
	struct probe_result r = *res;
	struct check_spec *spec = r.target < d->table->tl.n ? table_check(d->table, r.target) : NULL;

	if (spec) {
		r.check = spec->kind;
		r.verdict = VERDICT_PENDING; /* its own line says what the service said */
	}
	emit_result(d, &r);
	if (spec && r.state == PROBE_OPEN)
		checks_after_syn(d, r.target);
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

int daemon_routing(const struct daemon *d, const struct table *t, struct routing *out)
{
	return routing_build(out, &t->tl, interface_of(d->cfg), d->cfg->source_ip, d->lp);
}

int daemon_route(struct daemon *d)
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
	/* send_path auto: frames to Ethernet gateways (engine/linkpath.h) */
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
	const uint16_t ranges[2][2] = { { c->port_lo, c->port_hi }, { c->check_port_lo, c->check_port_hi } };
	/* the service checks' range only where checks may run */
	for (int i = 0; i < (d->checker ? 2 : 1); i++) {
		r = ports_reserve(ranges[i][0], ranges[i][1]);
		if (r == 1)
			log_info("reserved %s ports %u-%u from the kernel (net.ipv4.ip_local_reserved_ports)",
				 i ? "service-check source" : "source", ranges[i][0], ranges[i][1]);
		else if (r < 0)
			log_warn("cannot reserve source ports %u-%u in net.ipv4.ip_local_reserved_ports: %s; a local "
				 "program may be given one of them (see docs/operations.md)",
				 ranges[i][0], ranges[i][1], strerror(-r));
	}
}

static int open_rings(struct daemon *d)
{
	if (ring_new(&d->reqs, sizeof(struct probe_req), REQ_RING) < 0 ||
	    ring_new(&d->reports, sizeof(struct send_report), REPORT_RING) < 0 ||
	    ring_new(&d->caps, sizeof(struct capture_rec), CAPTURE_RING) < 0 ||
	    ring_new(&d->recs, sizeof(struct store_rec), STORE_RING) < 0 ||
	    ring_new(&d->xrecs, sizeof(struct store_xrec), XREC_RING) < 0) {
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
			.spill_max = c->spill_max,
			.backlog_memory = c->backlog_memory,
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
	return store_new(&d->st, &sc, d->recs, d->xrecs); /* it says why */
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
		.emit = monitoring ? on_check : emit_once,
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
		.start_check = d->checker ? checks_request : NULL,
		.emit_check = emit_check,
		.emit_detail = emit_detail,
		.ctx = d,
	};
	if ((r = monitor_new(&d->mon, &mc, d->table, clock_mono_ns(), clock_real_ns())) < 0) {
		log_error("cannot set up the monitor: %s", strerror(-r));
		return r;
	}
	status_health(d);
	log_info("monitoring %u targets from '%s' at up to %llu probes/s", d->table->n_live, c->location,
		 (unsigned long long)c->rate);
	struct monitor_isolation iso;
	monitor_isolation(d->mon, &iso);
	if (iso.checks < iso.min && iso.canaries)
		log_info("prober isolation: about %.0f checks every %llds, fewer than %u: judged only when every "
			 "canary fails too",
			 iso.checks, (long long)iso.window_s, iso.min);
	else if (iso.checks < iso.min)
		log_warn("prober isolation is off: about %.0f checks every %llds, fewer than %u, and no canary: "
			 "should this prober's own network fail, every target goes down (add canaries, docs/config.md)",
			 iso.checks, (long long)iso.window_s, iso.min);
	return 0;
}

/* A restart carries on from the states the previous run left in Redis
 * (docs/operations.md, "Restarts and upgrades"): nothing is told again,
 * and outages keep their start. Without them every target starts unknown,
 * as it always could: a failure here is not fatal. */
static void resume_states(struct daemon *d)
{
	struct state_saved *saved;
	int n;

	if (!d->mon || !d->st || !d->table->n_live)
		return;
	if (!(saved = calloc(d->table->tl.n, sizeof(*saved)))) {
		log_warn("out of memory to resume the states: every target starts unknown");
		return;
	}
	/* without Redis, from the file the last stop left */
	if (d->cfg->state_file) {
		if ((n = statefile_load(d->cfg->state_file, d->cfg->location, d->table, saved)) > 0)
			log_info("resumed the states of %u of %u targets from '%s'", monitor_resume(d->mon, saved),
				 d->table->n_live, d->cfg->state_file);
	} else if ((n = store_resume(d->st, d->table, saved)) > 0) {
		log_info("resumed the states of %u of %u targets from redis", monitor_resume(d->mon, saved),
			 d->table->n_live);
	}
	free(saved);
}

int daemon_open(struct daemon *d)
{
	struct cookie_key key;
	int fd = -1, r;

	table_pub_publish(&d->pub, d->table);
	if ((r = cookie_key_random(&key)) < 0) {
		log_error("cannot draw the cookie secret: %s", strerror(-r));
		goto out;
	}
	if ((r = checks_open(d)) < 0)
		goto out;
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
	resume_states(d);
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

int daemon_drop_privileges(struct daemon *d)
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
		/* what it cannot reach as that user, it never will: say so now,
		 * not as a warning repeated forever in a log */
		if (who && d->cfg->redis_url && redis_url_unix_access(d->cfg->redis_url, err, sizeof(err)) < 0) {
			log_error("%s as user '%s': give it access to the socket and its directories "
				  "(the socket's group and unixsocketperm 770, docs/operations.md) or run as "
				  "another user (--user)",
				  err, who);
			return -EACCES;
		}
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

int daemon_start(struct daemon *d)
{
	int r;

	if ((r = store_start(d->st)) < 0 || (d->cap && (r = capture_start(d->cap, d->caps)) < 0) ||
	    (r = sender_start(d->snd)) < 0 || (r = checks_start(d)) < 0) {
		log_error("cannot start threads: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* Without Redis: the states for the next start, in the state file. */
static void save_states(struct daemon *d)
{
	struct state_saved *saved;
	int n;

	if (!d->mon || !d->cfg->state_file)
		return;
	if (!(saved = calloc(d->table->tl.n, sizeof(*saved)))) {
		log_warn("out of memory to keep the states: the next start begins unknown");
		return;
	}
	monitor_export(d->mon, saved);
	if ((n = statefile_save(d->cfg->state_file, d->cfg->location, d->table, saved)) >= 0)
		log_info("kept the states of %d targets in '%s' for the next start", n, d->cfg->state_file);
	free(saved);
}

void daemon_stop(struct daemon *d)
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
	/* so do the service checks: what was in flight ends now */
	checks_stop(d);
	checks_poll(d);
	store_stop(d->st);
	save_states(d);
}

void daemon_close(struct daemon *d)
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
	checks_close(d);
	ring_free(d->xrecs);
	reload_release(d);
	exclude_release(&d->ex);
}
