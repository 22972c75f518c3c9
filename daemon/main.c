/* synwatch: wires the stages. Start-up (parse, resolve, route, open sockets)
 * happens here in order; then three threads run (sender, receiver, store)
 * while this thread runs the scheduler: it drains the sender's reports and
 * the receiver's records, expires timeouts, starts the checks that are due
 * (continuous mode) and releases probes. Signals are handled here too:
 * SIGHUP reloads, SIGINT/SIGTERM stop after the probes in flight. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/cookie.h"
#include "common/log.h"
#include "common/memuse.h"
#include "common/ring.h"
#include "daemon/config.h"
#include "daemon/routing.h"
#include "engine/linkpath.h"
#include "engine/privs.h"
#include "engine/reserve.h"
#include "engine/sender.h"
#include "scheduler/monitor.h"
#include "scheduler/sched.h"
#include "scheduler/shard.h"
#include "scheduler/table.h"
#include "scheduler/targets.h"
#include "store/format.h"
#include "store/redis-url.h"
#include "store/runtime.h"
#include "store/store.h"

#define SYNWATCH_VERSION "0.2.0"
/* a typo in a prefix (/8 for /24) must not become a flood: more targets
 * than this need --yes; never more than the hard limit */
#define DEFAULT_MAX_TARGETS (1u << 20)
#define HARD_MAX_TARGETS (1u << 24)
#define DEFAULT_PER_HOST_RATE 100
#define REQ_RING 16384
#define REPORT_RING 16384
#define CAPTURE_RING (1u << 18)
#define STORE_RING (1u << 18)
#define DUE_BATCH 4096
#define STATUS_NS (250 * NSEC_PER_MSEC)
#define MAX_GATEWAY_CANARIES 4
/* how long start-up waits for the gateways' MACs (ARP) */
#define LINK_RESOLVE_WAIT_NS (500 * NSEC_PER_MSEC)

struct options {
	bool once;
	bool dry_run;
	bool no_reserve;
	bool quiet;
	bool no_latency;
	bool mem_report;
	bool ping;
	bool keep_privileges;
	bool seccomp;
	bool yes;
	uint32_t per_host_rate;
	const char *user;
	int verbose;
	const char *config;
	const char *ports;
	const char *targets_file;
	const char *exclude_file;
	const char *interface;
	const char *source_ip;
	const char *send_path;
	const char *location;
	const char *prober_id;
	const char *redis;
	const char *spill;
	uint64_t rate;
	int64_t timeout_ns;
	int64_t interval_ns;
	int64_t warn_ns, crit_ns;
	unsigned retries;
	unsigned failures, successes;
	uint16_t port_lo, port_hi;
	unsigned batch;
	size_t max_targets;
	enum store_format output;
	bool output_set, rate_set, ports_range_set;
	char **specs;
	int n_specs;
};

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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: synwatch -c FILE [options]                     monitor what the config file lists\n"
		"       synwatch [-p PORTS] TARGET... [-T FILE] [--interval DUR] [options]   monitor targets\n"
		"       synwatch --once [-p PORTS] TARGET... [-T FILE] [options]             check each once\n"
		"\n"
		"Watches whether TCP endpoints accept connections by sending one SYN per check\n"
		"and reading the answer off the wire: open, closed, unreachable, filtered or\n"
		"error, with the handshake latency; in monitoring mode also each target's state\n"
		"(up, degraded, down, flapping) and every change of it as an event.\n"
		"\n"
		"  TARGET                 IP, IP:PORT, CIDR, CIDR:PORT, HOSTNAME[:PORT], [IPv6]:PORT\n"
		"  -c, --config FILE      YAML configuration (docs/config.md); SIGHUP reloads it\n"
		"  -p, --ports LIST       ports for targets without their own: 22,80,443,8000-8100;\n"
		"                         'icmp' is an ICMP echo (ping) check of the host\n"
		"      --ping             add a ping check to every host (as -p icmp)\n"
		"  -T, --targets FILE     one target per line, optional name after it, '#' comments\n"
		"      --once             probe every target once and exit\n"
		"      --interval DUR     monitoring: time between checks of a target (default 30s)\n"
		"      --failures N       failed checks in a row before down (default %d)\n"
		"      --successes N      good checks in a row before up again (default %d)\n"
		"      --warn DUR, --crit DUR  latency over this is slow (degraded), critically slow\n"
		"      --location NAME    this prober's location (default: the host name)\n"
		"      --prober-id ID     this prober's id in Redis, unique in its location (default LOC/HOSTNAME)\n"
		"      --no-latency       no per-minute latency lines in the output\n"
		"      --mem-report       log where the memory goes, at start-up and at exit\n"
		"      --redis URL        write results, events, state and latency to Redis (docs/redis.md):\n"
		"                         redis://[USER:PASSWORD@]HOST:PORT[/DB], unix:///PATH[?db=N],\n"
		"                         redis-sentinel://HOST:PORT,HOST:PORT/MASTER; stdout output then\n"
		"                         defaults to none\n"
		"      --spill FILE       where records wait while Redis is away\n"
		"                         (default /var/tmp/synwatch-spill-LOCATION.log)\n"
		"      --rate PPS         probes per second (default %d)\n"
		"      --timeout DUR      wait per attempt: 500ms, 1s, 2.5s (default 1s)\n"
		"      --retries N        retransmissions before 'filtered' (default 1, at most %d)\n"
		"      --exclude FILE     never probe these addresses/CIDRs (one per line)\n"
		"      --interface IF     send from this interface (default: by route)\n"
		"      --source-ip IP     source address (default: by route)\n"
		"      --send-path WAY    auto: SYNs to a gateway on Ethernet leave as frames to its MAC\n"
		"                         (AF_PACKET; skips the IP stack and its netfilter output hooks);\n"
		"                         ip: every SYN through the raw IP socket (default auto)\n"
		"      --source-ports A-B source-port range, reserved from the kernel (default %d-%d)\n"
		"      --no-reserve       do not add the range to net.ipv4.ip_local_reserved_ports\n"
		"      --max-targets N    more endpoints than N need --yes (default %u)\n"
		"      --yes              probe more than --max-targets endpoints (up to %u)\n"
		"      --per-host-rate N  at most N probes per second to one address (default %u, 0: no limit)\n"
		"      --batch N          packets per sendmmsg call (default 64)\n"
		"      --output FMT       ndjson, text or none, on stdout (default ndjson; none with --redis)\n"
		"      --dry-run          print the packets instead of sending them (no privileges; --once)\n"
		"      --user NAME        after opening its sockets, run as NAME (default: '%s' if it exists)\n"
		"      --keep-privileges  do not drop the user and capabilities after start-up\n"
		"      --seccomp          allow only the system calls the running daemon makes\n"
		"  -q, --quiet            no progress line, no summary\n"
		"  -v, --verbose          more log output (twice: debug)\n"
		"  -h, --help             this help;  -V, --version  the version\n"
		"\n"
		"Exit: 0 done, 1 runtime failure, 2 bad usage or input. Needs CAP_NET_RAW\n"
		"(and CAP_NET_ADMIN to reserve the source ports).\n",
		CONFIG_DEFAULT_FAILURES, CONFIG_DEFAULT_SUCCESSES, CONFIG_DEFAULT_RATE, PROBE_MAX_ATTEMPT,
		CONFIG_DEFAULT_PORT_LO, CONFIG_DEFAULT_PORT_HI, DEFAULT_MAX_TARGETS, HARD_MAX_TARGETS,
		DEFAULT_PER_HOST_RATE, PRIVS_DEFAULT_USER);
}

static uint64_t parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		cli_die_usage("%s '%s': expected a whole number from %llu to %llu", opt, s, (unsigned long long)min,
			  (unsigned long long)max);
	return v;
}

static int64_t parse_dur(const char *opt, const char *s, int64_t min, int64_t max, const char *range)
{
	int64_t v;

	if (duration_parse(s, &v) < 0 || v < min || v > max)
		cli_die_usage("%s '%s': expected a duration from %s, like 500ms or 2s", opt, s, range);
	return v;
}

static void parse_port_range(struct options *o, const char *s)
{
	unsigned lo, hi;
	char tail;

	if (sscanf(s, "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1024 || hi > 65535 || lo > hi)
		cli_die_usage("--source-ports '%s': expected A-B with 1024 <= A <= B <= 65535", s);
	o->port_lo = (uint16_t)lo;
	o->port_hi = (uint16_t)hi;
	o->ports_range_set = true;
}

static void parse_options(struct options *o, int argc, char **argv)
{
	enum {
		OPT_ONCE = 256, OPT_RATE, OPT_TIMEOUT, OPT_RETRIES, OPT_EXCLUDE, OPT_INTERFACE, OPT_SOURCE_IP,
		OPT_SOURCE_PORTS, OPT_OUTPUT, OPT_DRY_RUN, OPT_NO_RESERVE, OPT_MAX_TARGETS, OPT_BATCH, OPT_INTERVAL,
		OPT_FAILURES, OPT_SUCCESSES, OPT_WARN, OPT_CRIT, OPT_LOCATION, OPT_NO_LATENCY, OPT_PING,
		OPT_REDIS, OPT_SPILL, OPT_PROBER_ID,
		OPT_USER, OPT_KEEP_PRIVILEGES, OPT_SECCOMP, OPT_PER_HOST_RATE, OPT_YES, OPT_MEM_REPORT,
		OPT_SEND_PATH,
	};
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "config", required_argument, NULL, 'c' },
		{ "ports", required_argument, NULL, 'p' },
		{ "targets", required_argument, NULL, 'T' },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "failures", required_argument, NULL, OPT_FAILURES },
		{ "successes", required_argument, NULL, OPT_SUCCESSES },
		{ "warn", required_argument, NULL, OPT_WARN },
		{ "crit", required_argument, NULL, OPT_CRIT },
		{ "location", required_argument, NULL, OPT_LOCATION },
		{ "prober-id", required_argument, NULL, OPT_PROBER_ID },
		{ "no-latency", no_argument, NULL, OPT_NO_LATENCY },
		{ "mem-report", no_argument, NULL, OPT_MEM_REPORT },
		{ "redis", required_argument, NULL, OPT_REDIS },
		{ "spill", required_argument, NULL, OPT_SPILL },
		{ "ping", no_argument, NULL, OPT_PING },
		{ "user", required_argument, NULL, OPT_USER },
		{ "keep-privileges", no_argument, NULL, OPT_KEEP_PRIVILEGES },
		{ "seccomp", no_argument, NULL, OPT_SECCOMP },
		{ "per-host-rate", required_argument, NULL, OPT_PER_HOST_RATE },
		{ "yes", no_argument, NULL, OPT_YES },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "interface", required_argument, NULL, OPT_INTERFACE },
		{ "source-ip", required_argument, NULL, OPT_SOURCE_IP },
		{ "send-path", required_argument, NULL, OPT_SEND_PATH },
		{ "source-ports", required_argument, NULL, OPT_SOURCE_PORTS },
		{ "no-reserve", no_argument, NULL, OPT_NO_RESERVE },
		{ "max-targets", required_argument, NULL, OPT_MAX_TARGETS },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){
		.rate = CONFIG_DEFAULT_RATE,
		.timeout_ns = CONFIG_DEFAULT_TIMEOUT_NS,
		.interval_ns = CONFIG_DEFAULT_INTERVAL_NS,
		.retries = CONFIG_DEFAULT_RETRIES,
		.failures = CONFIG_DEFAULT_FAILURES,
		.successes = CONFIG_DEFAULT_SUCCESSES,
		.port_lo = CONFIG_DEFAULT_PORT_LO,
		.port_hi = CONFIG_DEFAULT_PORT_HI,
		.batch = 64,
		.max_targets = DEFAULT_MAX_TARGETS,
		.per_host_rate = DEFAULT_PER_HOST_RATE,
		.output = STORE_NDJSON,
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:p:T:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ONCE: o->once = true; break;
		case 'c': o->config = optarg; break;
		case 'p': o->ports = optarg; break;
		case 'T': o->targets_file = optarg; break;
		case OPT_INTERVAL: o->interval_ns = parse_dur("--interval", optarg, 10 * NSEC_PER_MSEC,
							      86400 * NSEC_PER_SEC, "10ms to 24h"); break;
		case OPT_FAILURES: o->failures = (unsigned)parse_uint("--failures", optarg, 1, 50); break;
		case OPT_SUCCESSES: o->successes = (unsigned)parse_uint("--successes", optarg, 1, 50); break;
		case OPT_WARN: o->warn_ns = parse_dur("--warn", optarg, 1, 600 * NSEC_PER_SEC, "1ns to 10m"); break;
		case OPT_CRIT: o->crit_ns = parse_dur("--crit", optarg, 1, 600 * NSEC_PER_SEC, "1ns to 10m"); break;
		case OPT_LOCATION: o->location = optarg; break;
		case OPT_PROBER_ID: o->prober_id = optarg; break;
		case OPT_NO_LATENCY: o->no_latency = true; break;
		case OPT_MEM_REPORT: o->mem_report = true; break;
		case OPT_REDIS: o->redis = optarg; break;
		case OPT_SPILL: o->spill = optarg; break;
		case OPT_PING: o->ping = true; break;
		case OPT_USER: o->user = optarg; break;
		case OPT_KEEP_PRIVILEGES: o->keep_privileges = true; break;
		case OPT_SECCOMP: o->seccomp = true; break;
		case OPT_PER_HOST_RATE: o->per_host_rate = (uint32_t)parse_uint("--per-host-rate", optarg, 0, 1000000); break;
		case OPT_YES: o->yes = true; break;
		case OPT_RATE: o->rate = parse_uint("--rate", optarg, 1, 100000000); o->rate_set = true; break;
		case OPT_TIMEOUT: o->timeout_ns = parse_dur("--timeout", optarg, NSEC_PER_MSEC, 600 * NSEC_PER_SEC,
							    "1ms to 10m"); break;
		case OPT_RETRIES: o->retries = (unsigned)parse_uint("--retries", optarg, 0, PROBE_MAX_ATTEMPT); break;
		case OPT_EXCLUDE: o->exclude_file = optarg; break;
		case OPT_INTERFACE: o->interface = optarg; break;
		case OPT_SOURCE_IP: o->source_ip = optarg; break;
		case OPT_SEND_PATH:
			if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "ip") != 0)
				cli_die_usage("--send-path '%s': expected auto or ip", optarg);
			o->send_path = optarg;
			break;
		case OPT_SOURCE_PORTS: parse_port_range(o, optarg); break;
		case OPT_NO_RESERVE: o->no_reserve = true; break;
		case OPT_MAX_TARGETS: o->max_targets = parse_uint("--max-targets", optarg, 1, UINT32_MAX - 2); break;
		case OPT_BATCH: o->batch = (unsigned)parse_uint("--batch", optarg, 1, 1024); break;
		case OPT_OUTPUT:
			if (store_format_parse(optarg, &o->output) < 0)
				cli_die_usage("--output '%s': expected ndjson, text or none", optarg);
			o->output_set = true;
			break;
		case OPT_DRY_RUN: o->dry_run = true; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("synwatch %s\n", SYNWATCH_VERSION); exit(0);
		case ':': cli_die_usage("option '%s' needs a value (see --help)", argv[optind - 1]);
		default: cli_die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	o->specs = argv + optind;
	o->n_specs = argc - optind;
	if (o->config && (o->n_specs || o->targets_file || o->ports || o->ping))
		cli_die_usage("-c '%s': the targets come from the file; drop the TARGET, -p and -T arguments", o->config);
	if (o->config && o->once)
		cli_die_usage("--once goes with targets on the command line, not with -c");
	if (!o->config && o->n_specs == 0 && !o->targets_file)
		cli_die_usage("no targets: give TARGET arguments, -T FILE or -c FILE (see --help)");
	if (o->dry_run && !o->once)
		cli_die_usage("--dry-run goes with --once");
	if (!o->once && !o->config &&
	    o->timeout_ns * ((int64_t)o->retries + 1) >= o->interval_ns)
		cli_die_usage("--interval %.3gs is not longer than --timeout x (retries + 1) = %.3gs: a check must "
			  "end before the next one is due",
			  (double)o->interval_ns / 1e9, (double)o->timeout_ns * (o->retries + 1) / 1e9);
	if (o->warn_ns && o->crit_ns && o->crit_ns < o->warn_ns)
		cli_die_usage("--crit must not be below --warn");
}

/* The settings of the run: from the config file, with the command line's
 * process-wide flags on top, or from the command line alone. */
struct run {
	const struct options *o;
	bool continuous;
	struct config cfg;          /* config mode only */
	struct exclude_list ex;
	uint64_t rate;
	uint16_t port_lo, port_hi;
	/* copies: the config they may come from is replaced on reload (a
	 * new value of these takes a restart) */
	char *interface, *source_ip, *location;
	bool link_paths;            /* send_path auto: frames to Ethernet gateways (engine/engine.h) */
	char *redis_url, *spill, *redis_prefix; /* NULL redis_url: no Redis */
	uint64_t results_maxlen, events_maxlen;
	int64_t latency_retention_s;
	char prober[320];           /* this prober's id in Redis: --prober-id, prober_id, or LOC/HOSTNAME */
	bool shard;                 /* split the targets with the live members of the location */
	enum store_format output;
	uint8_t max_retries;
	int64_t max_timeout_ns;
	char hostname[256];
};

static void load_excludes(struct run *run, const struct config *cfg)
{
	char err[512];
	int r;

	if ((r = exclude_add_builtin(&run->ex)) < 0)
		cli_die_usage("cannot set up the built-in exclude list: %s", strerror(-r));
	if (run->o->exclude_file && exclude_load_file(&run->ex, run->o->exclude_file, err, sizeof(err)) < 0)
		cli_die_usage("%s", err);
	for (size_t i = 0; cfg && i < cfg->n_exclude; i++)
		if (exclude_add(&run->ex, cfg->exclude[i], err, sizeof(err)) < 0)
			cli_die_usage("%s: exclude: %s", cfg->path, err);
}

/* Command-line targets into a list (one-shot and quick monitoring). */
static void load_cli_targets(const struct options *o, struct target_list *tl, const struct exclude_list *ex)
{
	struct portlist ports = { 0 }, *pp = NULL;
	char err[512];

	if (o->ports || o->ping) {
		char list[4096];
		/* --ping adds an echo target to every host, as "icmp" in -p would */
		snprintf(list, sizeof(list), "%s%s%s", o->ports ? o->ports : "", o->ports && o->ping ? "," : "",
			 o->ping ? "icmp" : "");
		if (portlist_parse(&ports, list, err, sizeof(err)) < 0)
			cli_die_usage("-p: %s", err);
		pp = &ports;
	}
	target_list_init(tl, o->yes ? HARD_MAX_TARGETS : o->max_targets, TARGET_FAMILY_V4 | TARGET_FAMILY_V6);
	for (int i = 0; i < o->n_specs; i++) {
		int r = target_list_add_spec(tl, o->specs[i], pp, NULL, ex, err, sizeof(err));
		if (r == -E2BIG && !o->yes)
			cli_die_usage("%s; or pass --yes to probe them all (at most %u)", err, HARD_MAX_TARGETS);
		if (r < 0)
			cli_die_usage("%s", err);
	}
	if (o->targets_file) {
		int r = target_list_load_file(tl, o->targets_file, pp, ex, err, sizeof(err));
		if (r == -E2BIG && !o->yes)
			cli_die_usage("%s; or pass --yes to probe them all (at most %u)", err, HARD_MAX_TARGETS);
		if (r < 0)
			cli_die_usage("%s", err);
	}
	portlist_release(&ports);
	size_t dups = target_list_dedup(tl);
	if (tl->n == 0)
		cli_die_usage("no endpoints left to probe (%zu excluded by the exclude list, none left)", tl->excluded);
	if (dups)
		log_info("%zu repeated endpoint(s) probed once", dups);
	if (tl->excluded)
		log_info("%zu endpoint(s) skipped: excluded", tl->excluded);
}

static char *xstrdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		cli_die_usage("out of memory");
	return d;
}

/* Redis: the command line over the config. A bad URL is a usage error
 * now rather than a retry loop later; with Redis and no output asked for,
 * stdout stays quiet. */
static void load_redis(struct run *run, const struct config *c)
{
	const struct options *o = run->o;
	const char *url = o->redis ? o->redis : c ? c->redis_url : NULL;
	char err[512], shown[1024];

	if (!url) {
		if (o->spill)
			cli_die_usage("--spill '%s': there is no Redis to spill for (give --redis URL)", o->spill);
		return;
	}
	if (redis_url_check(url, err, sizeof(err)) < 0) {
		redis_url_redact(url, shown, sizeof(shown));
		if (o->redis)
			cli_die_usage("--redis '%s': %s", shown, err);
		cli_die_usage("%s: redis '%s': %s", c->path, shown, err);
	}
	run->redis_url = xstrdup(url);
	run->spill = xstrdup(o->spill ? o->spill : c ? c->spill : NULL);
	/* the service unit's state directory survives restarts; /var/tmp may not */
	const char *state_dir = getenv("SYNWATCH_STATE_DIR");
	if (!run->spill && state_dir && *state_dir) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/synwatch-spill-%s.log", state_dir, run->location);
		run->spill = xstrdup(path);
	}
	run->redis_prefix = xstrdup(c && c->redis_prefix ? c->redis_prefix : STORE_DEFAULT_PREFIX);
	if (c) {
		run->results_maxlen = c->results_maxlen;
		run->events_maxlen = c->events_maxlen;
		run->latency_retention_s = c->latency_retention_ns / NSEC_PER_SEC;
	}
	const char *id = o->prober_id ? o->prober_id : c ? c->prober_id : NULL;
	if (id && (!*id || strlen(id) >= sizeof(run->prober) || id[strcspn(id, " \t\r\n:")]))
		cli_die_usage("--prober-id '%s': expected a plain id without spaces or ':', like %s/probe-2", id,
			      run->location);
	if (id)
		snprintf(run->prober, sizeof(run->prober), "%s", id);
	else
		snprintf(run->prober, sizeof(run->prober), "%s/%s", run->location, run->hostname);
	/* monitoring with Redis: one prober alone owns everything anyway */
	run->shard = run->continuous && (c ? c->shard : true);
	if (!o->output_set && !(c && c->output))
		run->output = STORE_NONE;
}

/* Every input the user gave, checked before anything touches the network.
 * Returns the first target table. */
static struct table *load_run(struct run *run, const struct options *o)
{
	struct table *t = NULL;
	char err[1024];
	int r;

	run->o = o;
	run->continuous = !o->once;
	run->rate = o->rate;
	run->port_lo = o->port_lo;
	run->port_hi = o->port_hi;
	run->output = o->output;
	run->max_retries = (uint8_t)o->retries;
	run->max_timeout_ns = o->timeout_ns;
	if (gethostname(run->hostname, sizeof(run->hostname) - 1) < 0)
		snprintf(run->hostname, sizeof(run->hostname), "unknown");

	if (o->config) {
		if (config_load(&run->cfg, o->config, err, sizeof(err)) < 0)
			cli_die_usage("%s", err);
		const struct config *c = &run->cfg;
		if (!o->rate_set)
			run->rate = c->rate;
		if (!o->ports_range_set) {
			run->port_lo = c->port_lo;
			run->port_hi = c->port_hi;
		}
		run->interface = xstrdup(o->interface ? o->interface : c->n_interfaces ? c->interfaces[0] : NULL);
		run->source_ip = xstrdup(o->source_ip ? o->source_ip : c->source_ip);
		run->link_paths = strcmp(o->send_path ? o->send_path : c->send_path ? c->send_path : "auto", "auto") == 0;
		run->location = xstrdup(o->location ? o->location : c->location ? c->location : run->hostname);
		if (!o->output_set && c->output && store_format_parse(c->output, &run->output) < 0)
			cli_die_usage("%s: output '%s': expected ndjson, text or none", c->path, c->output);
		run->max_retries = 0;
		run->max_timeout_ns = 0;
		for (size_t i = 0; i < c->n_groups; i++) {
			if (c->groups[i].retries > run->max_retries)
				run->max_retries = c->groups[i].retries;
			if (c->groups[i].timeout_ns > run->max_timeout_ns)
				run->max_timeout_ns = c->groups[i].timeout_ns;
		}
		load_redis(run, c);
		load_excludes(run, c);
		if ((r = config_build_table(&t, c, &run->ex, NULL, NULL, err, sizeof(err))) < 0)
			cli_die_usage("%s: %s", c->path, err);
		if (t->n_live == 0)
			cli_die_usage("%s: no endpoints left to probe (%zu excluded by the exclude list)", c->path,
				  t->tl.excluded);
		if (t->n_live > o->max_targets && !o->yes)
			cli_die_usage("%s: %u endpoints exceed --max-targets %zu: check the prefixes, then raise "
				  "--max-targets or pass --yes",
				  c->path, t->n_live, o->max_targets);
		return t;
	}

	struct target_list tl = { 0 };
	run->interface = xstrdup(o->interface);
	run->source_ip = xstrdup(o->source_ip);
	run->link_paths = !o->send_path || strcmp(o->send_path, "auto") == 0;
	run->location = xstrdup(o->location ? o->location : run->hostname);
	load_redis(run, NULL);
	load_excludes(run, NULL);
	load_cli_targets(o, &tl, &run->ex);
	struct table_group g = {
		.name = (char *)"cli",
		.interval_ns = o->interval_ns,
		.timeout_ns = o->timeout_ns,
		.retries = (uint8_t)o->retries,
		.priority = CONFIG_DEFAULT_PRIORITY,
		.state = {
			.failures = (uint8_t)o->failures,
			.successes = (uint8_t)o->successes,
			.warn_ns = o->warn_ns,
			.crit_ns = o->crit_ns,
			.window = CONFIG_DEFAULT_LATENCY_WINDOW,
			.over = CONFIG_DEFAULT_LATENCY_OVER,
			.flap_changes = CONFIG_DEFAULT_FLAP_CHANGES,
			.flap_window_s = CONFIG_DEFAULT_FLAP_WINDOW_S,
		},
	};
	r = table_from_list(&t, &tl, run->continuous ? &g : NULL, run->continuous ? run->location : NULL);
	target_list_release(&tl);
	if (r < 0) {
		log_error("cannot build the target table: %s", strerror(-r));
		exit(1);
	}
	return t;
}

static void route_or_die(struct routing *rt, const struct run *run, const struct target_list *tl,
			 struct link_paths *lp)
{
	int r = routing_build(rt, tl, run->interface, run->source_ip, lp);

	if (r == -EINVAL)
		cli_die_usage("source ip '%s': expected an IPv4 or IPv6 address", run->source_ip);
	if (r == -ENODEV)
		cli_die_usage("interface '%s': no such interface", run->interface);
	if (r == -EADDRNOTAVAIL)
		cli_die_usage("interface '%s' has no IPv4 address: give --source-ip", run->interface);
	if (r < 0) {
		log_error("cannot route the targets: %s", strerror(-r));
		exit(1);
	}
}

/* The running daemon: everything the main loop touches. */
struct daemon {
	struct run *run;
	struct table *table;        /* the latest generation, published */
	struct table_pub pub;
	struct routing rt;
	struct link_paths *lp;      /* NULL with send_path ip (and in dry runs) */
	struct ring *reqs, *reports, *caps, *recs;
	struct sender *snd;
	struct capture *cap;
	struct store *st;
	struct sched *sc;
	struct monitor *mon;
	struct sw_addr *canaries;
	uint16_t *canary_ports;
	size_t n_canaries;
	bool overloaded;
	bool isolated;
	struct runtime_set runtime; /* targets added through Redis, applied with every rebuild */
	struct table_runtime *gw_canaries; /* the gateways' echo targets, applied with every rebuild */
	size_t n_gw_canaries;
	struct shard_members members; /* the live members of the location, as Redis last said */
	uint64_t last_sent, last_replies; /* for the heartbeat's rates */
	uint32_t owned;             /* targets of our share, as last logged */
};

static void push_rec(struct daemon *d, const struct store_rec *rec)
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

	push_rec(arg, &rec);
}

static void emit_event(void *arg, const struct sw_event *e)
{
	struct store_rec rec = { .kind = STORE_REC_EVENT, .u.event = *e };

	push_rec(arg, &rec);
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

/* The gateway canaries, then the runtime targets of Redis: what every
 * rebuild adds to the base targets. Returns 0 and sets *out (free the
 * array, not its entries; NULL when there are none), or -ENOMEM. */
static int extra_entries(const struct daemon *d, struct table_extra *out)
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

	if (!d->run->shard || !d->members.n)
		return;
	if (!(foreign = malloc(t->tl.n ? t->tl.n : 1))) {
		log_warn("shard: out of memory: the share stays as it was");
		return;
	}
	shard_assign(t, &d->members, d->run->prober, foreign);
	uint32_t owned = monitor_set_foreign(d->mon, foreign, clock_mono_ns(), clock_real_ns());
	free(foreign);
	if (owned != d->owned)
		log_info("shard: %zu member%s in '%s': this prober owns %u of %u targets", d->members.n,
			 d->members.n == 1 ? "" : "s", d->run->location, owned, t->n_live);
	d->owned = owned;
}

enum reload_kind {
	RELOAD_FILE,     /* SIGHUP: read the config again */
	RELOAD_RESOLVE,  /* the periodic re-resolution of hostnames */
	RELOAD_RUNTIME,  /* the runtime targets in Redis changed */
};

/* Builds the next table generation (the config, reread for SIGHUP, or
 * the command line's targets, plus the runtime targets) and switches every
 * stage to it. A bad file or a failed build leaves everything as it was. */
static void reload(struct daemon *d, enum reload_kind kind)
{
	struct run *run = d->run;
	struct config nc = { 0 };
	struct table *nt = NULL;
	struct routing nrt = { 0 };
	struct removed rm = { 0 };
	struct table_extra extra = { 0 };
	bool reread = kind == RELOAD_FILE;
	char err[1024];
	int r;

	if (reread && !run->o->config) {
		log_info("SIGHUP: nothing to reload without -c");
		return;
	}
	if (reread && config_load(&nc, run->o->config, err, sizeof(err)) < 0) {
		log_error("reload rejected, the running configuration stays: %s", err);
		return;
	}
	const struct config *c = reread ? &nc : run->o->config ? &run->cfg : NULL;
	if ((r = extra_entries(d, &extra)) < 0) {
		log_error("reload rejected: %s", strerror(-r));
		goto out;
	}
	if ((r = config_build_table(&nt, c, &run->ex, d->table, &extra, err, sizeof(err))) < 0) {
		log_error("reload rejected, the running configuration stays: %s%s%s", c ? c->path : "", c ? ": " : "",
			  err);
		goto out;
	}
	if ((r = routing_build(&nrt, &nt->tl, run->interface, run->source_ip, d->lp)) < 0) {
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
		push_rec(d, &(struct store_rec){ .kind = STORE_REC_REMOVED, .u.removed = rm.ids[i] });
	routing_release(&d->rt);
	d->rt = nrt;
	memset(&nrt, 0, sizeof(nrt));
	if (reread) {
		config_release(&run->cfg);
		run->cfg = nc;
		memset(&nc, 0, sizeof(nc));
		log_info("reloaded '%s': %u targets, %u added, %u removed", run->o->config, d->table->n_live, added,
			 removed);
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

static void progress(const struct sched_stats *ss, const struct sender_stats *snd, size_t total,
		     uint64_t elapsed_ns, bool final)
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
	if (!final && rate > 0 && ss->pending)
		fprintf(stderr, ", ETA %.0fs", (double)ss->pending / rate);
	if (final)
		fprintf(stderr, "\r\033[K");
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

/* The prober's counters for its heartbeat in Redis, once a second. */
static void push_status(struct daemon *d)
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
	st->sent_per_s = snd.sent - d->last_sent;
	st->replies_per_s = ss.replies - d->last_replies;
	d->last_sent = snd.sent;
	d->last_replies = ss.replies;
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
	push_rec(d, &rec);
}

/* Logs a change of the overload or isolation state once, not per check. */
static void watch_health(struct daemon *d, const struct run *run)
{
	struct monitor_stats ms;

	monitor_get_counters(d->mon, &ms);
	if (ms.overloaded != d->overloaded) {
		d->overloaded = ms.overloaded;
		if (ms.overloaded)
			log_warn("overloaded: the targets ask for %.0f probes/s, the cap is %llu: intervals stretched "
				 "x%.2f (low), x%.2f (normal), x%.2f (high), x%.2f (critical)",
				 ms.demand_pps, (unsigned long long)run->rate, ms.stretch[0], ms.stretch[1],
				 ms.stretch[2], ms.stretch[3]);
		else
			log_info("no longer overloaded: %.0f probes/s asked, cap %llu", ms.demand_pps,
				 (unsigned long long)run->rate);
	}
	if (ms.isolated != d->isolated) {
		d->isolated = ms.isolated;
		if (ms.isolated)
			log_warn("this prober looks cut off (most checks of up targets fail): holding down "
				 "transitions until it recovers");
		else
			log_info("this prober's network is back: state changes apply again");
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

/* --mem-report: the allocated size of every per-target array (per target)
 * and of every buffer (in MiB), beside what malloc and the kernel say. The
 * store thread's own memory (the Redis backlog, the latency minutes) is not
 * itemised: it is in malloc's figures. */
static void mem_report(const struct daemon *d, const char *when)
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

static void reserve_ports(const struct run *run)
{
	int r;

	if (run->o->no_reserve || run->o->dry_run)
		return;
	r = ports_reserve(run->port_lo, run->port_hi);
	if (r == 1)
		log_info("reserved source ports %u-%u from the kernel (net.ipv4.ip_local_reserved_ports)", run->port_lo,
			 run->port_hi);
	else if (r < 0)
		log_warn("cannot reserve source ports %u-%u in net.ipv4.ip_local_reserved_ports: %s; a local "
			 "program may be given one of them (see docs/operations.md)",
			 run->port_lo, run->port_hi, strerror(-r));
}

/* "IP:PORT" canaries of the config, as addresses. */
static void parse_canaries(struct daemon *d, const struct config *c)
{
	char err[256];
	struct target_list tl;

	target_list_init(&tl, 16, TARGET_FAMILY_V4 | TARGET_FAMILY_V6);
	for (size_t i = 0; c && i < c->n_canaries; i++)
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

/* Without configured canaries, the gateways the targets are routed through
 * become canaries, checked by ping: when this prober's own network goes,
 * its first hop stops answering too, which tells isolation from an outage
 * of the targets. Rebuilds d->table and d->rt with them (a target the table
 * has already is reused); on any failure the table stays as it was, without
 * canaries. Not with sharding: a canary must be checked by this prober, and
 * a shard may hand it to another. Start-up only. */
static void gateway_canaries(struct daemon *d)
{
	const struct run *run = d->run;
	const struct config *cfg = run->o->config ? &run->cfg : NULL;
	struct table_extra extra = { 0 };
	struct table *nt = NULL;
	struct routing nrt = { 0 };
	char err[1024], line[512] = "", a[ADDR_STRLEN];
	size_t len = 0;
	int64_t interval_ns = 0;
	int r = -ENOMEM;

	if (!d->rt.n_gateways || !d->table->n_base_groups)
		return;
	if (run->shard) {
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
	if ((r = extra_entries(d, &extra)) < 0)
		goto out;
	if ((r = config_build_table(&nt, cfg, &run->ex, d->table, &extra, err, sizeof(err))) < 0) {
		log_warn("canaries: cannot add the gateways: %s", err);
		goto out;
	}
	if ((r = routing_build(&nrt, &nt->tl, run->interface, run->source_ip, d->lp)) < 0) {
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
	if (r < 0) {
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
	free((void *)extra.v);
	routing_release(&nrt);
	table_free(nt);
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

int main(int argc, char **argv)
{
	struct options o;
	struct run run = { 0 };
	struct daemon d = { .run = &run };
	struct cookie_key key;
	int fd = -1, r, rc = 1;
	bool interrupted = false;

	log_set_program("synwatch");
	parse_options(&o, argc, argv);
	log_level_current = o.verbose >= 2 ? LOG_DEBUG : o.quiet ? LOG_ERROR : LOG_INFO;

	d.table = load_run(&run, &o);
	size_t n_targets = d.table->tl.n;
	if (o.dry_run) {
		/* no routes needed: a dry run shows packets from the source given, or 0.0.0.0 */
		struct sw_addr src = { .family = AF_INET };
		if (o.source_ip && addr_parse(&src, o.source_ip) < 0)
			cli_die_usage("--source-ip '%s': expected an IPv4 or IPv6 address", o.source_ip);
		if (routing_fixed(&d.rt, n_targets, &src) < 0)
			goto out;
	} else {
		if (run.link_paths && (r = link_paths_new(&d.lp)) < 0)
			log_warn("cannot read the neighbour table: %s; every probe goes through the IP stack",
				 strerror(-r));
		route_or_die(&d.rt, &run, &d.table->tl, d.lp);
	}
	if (run.continuous) {
		parse_canaries(&d, run.o->config ? &run.cfg : NULL);
		if (!d.n_canaries) {
			gateway_canaries(&d);
			n_targets = d.table->tl.n;
		}
	}
	table_pub_publish(&d.pub, d.table);
	if ((r = cookie_key_random(&key)) < 0) {
		log_error("cannot draw the cookie secret: %s", strerror(-r));
		goto out;
	}

	if (!o.dry_run) {
		fd = rawsock_open_v4();
		if (fd < 0) {
			if (fd == -EPERM || fd == -EACCES)
				log_error("cannot open a raw socket: %s; run as root or grant the capability: "
					  "setcap cap_net_raw,cap_net_admin=eip %s",
					  strerror(-fd), argv[0]);
			else
				log_error("cannot open a raw socket: %s", strerror(-fd));
			goto out;
		}
		reserve_ports(&run);
	}

	if (ring_new(&d.reqs, sizeof(struct probe_req), REQ_RING) < 0 ||
	    ring_new(&d.reports, sizeof(struct send_report), REPORT_RING) < 0 ||
	    ring_new(&d.caps, sizeof(struct capture_rec), CAPTURE_RING) < 0 ||
	    ring_new(&d.recs, sizeof(struct store_rec), STORE_RING) < 0) {
		log_error("out of memory for the rings");
		goto out;
	}

	if (!o.dry_run && d.rt.n_ifnames) {
		const char *names[64];
		size_t n = d.rt.n_ifnames < 64 ? d.rt.n_ifnames : 64;
		for (size_t i = 0; i < n; i++)
			names[i] = d.rt.ifnames[i];
		struct capture_config cc = {
			.ifnames = names,
			.n_ifnames = n,
			.filter = { .port_lo = run.port_lo, .port_hi = run.port_hi, .max_attempt = run.max_retries,
				    .key = &key },
		};
		if ((r = capture_open(&d.cap, &cc)) < 0) {
			if (r == -EPERM)
				log_error("cannot capture: permission denied; run as root or grant cap_net_raw");
			goto out;
		}
	}

	struct sender_config sc_cfg = {
		.rate_pps = run.rate,
		.batch = o.batch,
		.key = &key,
		.dry_run = o.dry_run ? stdout : NULL,
	};
	if ((r = sender_new(&d.snd, &sc_cfg, fd, d.reqs, d.reports)) < 0) {
		log_error("cannot set up the sender: %s", strerror(-r));
		goto out;
	}
	fd = -1; /* the sender owns it */
	if (d.lp) {
		int fdl = packetsock_open();
		if (fdl < 0) {
			log_warn("cannot open a packet socket: %s; every probe goes through the IP stack",
				 strerror(-fdl));
			link_paths_free(d.lp);
			d.lp = NULL;
		} else {
			sender_set_link(d.snd, fdl, d.lp);
			/* a gateway nobody talked to yet: ask for its MAC
			 * now rather than send the first second the slow way */
			if ((r = link_paths_refresh(d.lp, LINK_RESOLVE_WAIT_NS)) < 0)
				log_warn("cannot read the neighbour table: %s", strerror(-r));
		}
	}
	if (!o.dry_run && has_family(d.table, AF_INET6)) {
		int fd6 = rawsock_open_v6();
		if (fd6 < 0)
			log_warn("cannot open an IPv6 raw socket: %s; IPv6 targets end as errors", strerror(-fd6));
		else
			sender_set_v6(d.snd, fd6);
	}

	struct store_config stc = {
		.format = o.dry_run ? STORE_NONE : run.output,
		.out = stdout,
		.tables = &d.pub,
		.location = run.continuous ? run.location : NULL,
		.run_id = random_run_id(),
		.with_group = run.continuous,
		.latency_records = run.continuous && !o.no_latency,
	};
	struct store_redis_config src = {
		.url = run.redis_url,
		.prefix = run.redis_prefix,
		.spill_path = run.spill,
		.location = run.location,
		.prober = run.prober,
		.host = run.hostname,
		.version = SYNWATCH_VERSION,
		.rate = run.rate,
		.results_maxlen = run.results_maxlen,
		.events_maxlen = run.events_maxlen,
		.latency_retention_s = run.latency_retention_s,
		.monitoring = run.continuous,
		.runtime = run.continuous,
		.shard = run.shard,
	};
	if (run.redis_url && !o.dry_run)
		stc.redis = &src;
	if ((r = store_new(&d.st, &stc, d.recs)) < 0)
		goto out; /* it said why */
	/* lookahead: about 10 ms of probes, so that a probe's timeout starts
	 * close to when it really leaves */
	size_t lookahead = (size_t)(run.rate / 100);
	if (lookahead < 2 * o.batch)
		lookahead = 2 * o.batch;
	if (lookahead > REQ_RING / 2)
		lookahead = REQ_RING / 2;
	struct sched_config schc = {
		.port_lo = run.port_lo,
		.port_hi = run.port_hi,
		.retries = o.dry_run ? 0 : run.max_retries,
		.timeout_ns = o.dry_run ? 1 : run.max_timeout_ns,
		.max_lookahead = lookahead,
		.per_dest_pps = o.dry_run ? 0 : o.per_host_rate,
		.order_seed = !run.continuous && n_targets > 1 ? (uint64_t)clock_real_ns() | 1 : 0,
		.emit = run.continuous ? on_check : emit_result,
		.emit_ctx = &d,
		.continuous = run.continuous,
		.params = run.continuous ? target_params : NULL,
		.params_ctx = &d,
	};
	if ((r = sched_new(&d.sc, &schc, &d.table->tl, d.rt.sources, d.rt.src_of)) < 0) {
		log_error("cannot set up the scheduler: %s", strerror(-r));
		goto out;
	}
	if (run.continuous) {
		struct monitor_config mc = {
			.rate_cap = run.rate,
			.isolation_share = run.o->config ? run.cfg.isolation_share : 0,
			.canaries = d.canaries,
			.canary_ports = d.canary_ports,
			.n_canaries = d.n_canaries,
			.emit_result = emit_result,
			.emit_event = emit_event,
			.ctx = &d,
		};
		if ((r = monitor_new(&d.mon, &mc, d.table, clock_mono_ns(), clock_real_ns())) < 0) {
			log_error("cannot set up the monitor: %s", strerror(-r));
			goto out;
		}
		watch_health(&d, &run);
		log_info("monitoring %u targets from '%s' at up to %llu probes/s", d.table->n_live, run.location,
			 (unsigned long long)run.rate);
	}
	/* the table build's scratch (each group's expanded list, the id
	 * index, the host index) is freed by now, mostly into the heap, where
	 * glibc keeps it: give its pages back (about 11 bytes per target) */
	malloc_trim(0);
	if (o.mem_report)
		mem_report(&d, "at start-up");

	/* every socket and handle is open: from here no privilege is needed */
	if (!o.dry_run && !o.keep_privileges) {
		const char *who;
		char err[512];
		if ((r = privs_drop(o.user, o.user != NULL, &who, err, sizeof(err))) < 0) {
			log_error("%s", err);
			goto out;
		}
		if (who)
			log_info("running as '%s' without capabilities", who);
		else if (geteuid() == 0)
			log_info("running as root without capabilities (create a '%s' user or pass --user to "
				 "leave root)",
				 PRIVS_DEFAULT_USER);
	}
	if (o.seccomp) {
		char err[512];
		if ((r = privs_seccomp(err, sizeof(err))) < 0) {
			log_error("%s", err);
			goto out;
		}
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((r = store_start(d.st)) < 0 || (d.cap && (r = capture_start(d.cap, d.caps)) < 0) ||
	    (r = sender_start(d.snd)) < 0) {
		log_error("cannot start threads: %s", strerror(-r));
		goto out;
	}

	bool show_progress = !o.quiet && !o.dry_run && isatty(STDERR_FILENO);
	uint64_t start = clock_mono_ns(), next_status = start, idle_ns = 100 * 1000;
	uint64_t resolve_every = run.o->config && run.cfg.resolve_interval_ns > 0 ? (uint64_t)run.cfg.resolve_interval_ns : 0;
	uint64_t next_resolve = start + resolve_every;
	uint64_t last_sent = 0, last_status = start, next_beat = start, next_neigh = start + NSEC_PER_SEC;
	struct send_report rbuf[256];
	struct capture_rec cbuf[256];
	uint32_t due[DUE_BATCH];
	struct sched_stats ss;
	struct sender_stats sst;
	for (;;) {
		uint64_t now = clock_mono_ns();
		int64_t now_real = clock_real_ns();
		size_t work = 0, n;

		if (got_signal && !interrupted) {
			interrupted = true;
			sched_stop_new(d.sc);
			log_info("stopping: waiting for replies to the probes in flight (Ctrl-C again to quit now)");
		}
		if (got_signal == 2)
			break;
		if (got_hup && !interrupted) {
			got_hup = 0;
			reload(&d, RELOAD_FILE);
		}
		if (resolve_every && d.table->n_hostnames && now >= next_resolve && !interrupted) {
			next_resolve = now + resolve_every;
			reload(&d, RELOAD_RESOLVE);
		}
		struct runtime_set rts;
		if (!interrupted && store_runtime_take(d.st, &rts)) {
			runtime_set_release(&d.runtime);
			d.runtime = rts;
			reload(&d, RELOAD_RUNTIME);
		}
		struct shard_members mb;
		if (!interrupted && store_members_take(d.st, &mb)) {
			shard_members_release(&d.members);
			d.members = mb;
			apply_shards(&d);
		}
		if (run.redis_url && now >= next_beat) {
			next_beat = now + NSEC_PER_SEC;
			push_status(&d);
		}
		if (d.lp && now >= next_neigh) {
			/* the gateways' MACs as the kernel knows them now */
			next_neigh = now + NSEC_PER_SEC;
			if ((r = link_paths_refresh(d.lp, 0)) < 0)
				log_debug("cannot read the neighbour table: %s", strerror(-r));
		}
		while ((n = ring_pop(d.reports, rbuf, 256)) > 0) {
			for (size_t i = 0; i < n; i++)
				sched_on_report(d.sc, &rbuf[i]);
			work += n;
		}
		while ((n = ring_pop(d.caps, cbuf, 256)) > 0) {
			for (size_t i = 0; i < n; i++)
				sched_on_capture(d.sc, &cbuf[i]);
			work += n;
		}
		sched_expire(d.sc, now, now_real);
		if (d.mon && !interrupted) {
			while ((n = monitor_due(d.mon, now, now_real, due, DUE_BATCH)) > 0) {
				for (size_t i = 0; i < n; i++)
					if (!sched_start(d.sc, due[i]))
						monitor_overrun(d.mon, due[i]);
				work += n;
				if (n < DUE_BATCH)
					break;
			}
		}
		work += sched_release(d.sc, d.reqs, now, now_real);
		if (sched_done(d.sc))
			break;
		if (now >= next_status) {
			next_status = now + STATUS_NS;
			if (d.mon) {
				watch_health(&d, &run);
				if (show_progress) {
					struct monitor_stats ms;
					monitor_get_stats(d.mon, &ms);
					sender_get_stats(d.snd, &sst);
					double rate = (double)(sst.sent - last_sent) * 1e9 / (double)(now - last_status + 1);
					last_sent = sst.sent;
					last_status = now;
					status_line(&ms, rate);
				}
			} else if (show_progress) {
				sched_get_stats(d.sc, &ss);
				sender_get_stats(d.snd, &sst);
				progress(&ss, &sst, n_targets, now - start, false);
			}
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
	uint64_t elapsed = clock_mono_ns() - start;

	if (o.mem_report)
		mem_report(&d, "at exit");

	sender_stop(d.snd);
	if (d.cap)
		capture_stop(d.cap);
	/* replies that raced the stop still give results */
	size_t n;
	while ((n = ring_pop(d.caps, cbuf, 256)) > 0)
		for (size_t i = 0; i < n; i++)
			sched_on_capture(d.sc, &cbuf[i]);
	store_stop(d.st);

	struct capture_stats cs = { 0 };
	sched_get_stats(d.sc, &ss);
	sender_get_stats(d.snd, &sst);
	if (d.cap)
		capture_get_stats(d.cap, &cs);
	if (show_progress)
		fprintf(stderr, "\r\033[K");
	if (!o.quiet && !o.dry_run)
		summary(&ss, &sst, &cs, d.table->n_live, elapsed, interrupted && !run.continuous);
	struct store_redis_stats rs;
	if (!o.quiet && store_redis_stats(d.st, &rs))
		fprintf(stderr, "synwatch: redis: %llu records written (%llu were there already), %llu left in the spill "
				"file, %llu lost\n",
			(unsigned long long)rs.written, (unsigned long long)rs.skipped, (unsigned long long)rs.left,
			(unsigned long long)rs.lost);
	if (store_error(d.st) && store_error(d.st) != EPIPE) {
		log_error("cannot write results: %s", strerror(store_error(d.st)));
		goto out;
	}
	rc = 0;
out:
	sender_free(d.snd);
	link_paths_free(d.lp);
	capture_close(d.cap);
	store_free(d.st);
	sched_free(d.sc);
	monitor_free(d.mon);
	ring_free(d.reqs);
	ring_free(d.reports);
	ring_free(d.caps);
	ring_free(d.recs);
	if (fd >= 0)
		close(fd);
	routing_release(&d.rt);
	free(d.canaries);
	free(d.canary_ports);
	runtime_set_release(&d.runtime);
	for (size_t i = 0; i < d.n_gw_canaries; i++)
		table_runtime_release(&d.gw_canaries[i]);
	free(d.gw_canaries);
	shard_members_release(&d.members);
	if (atomic_load(&d.pub.latest))
		table_pub_release(&d.pub);
	else
		table_free(d.table);
	config_release(&run.cfg);
	exclude_release(&run.ex);
	free(run.interface);
	free(run.source_ip);
	free(run.location);
	free(run.redis_url);
	free(run.spill);
	free(run.redis_prefix);
	return rc;
}
