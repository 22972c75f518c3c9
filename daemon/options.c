/* The command line: getopt over argv, the settings onto the configuration
 * (daemon/options.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/clock.h"
#include "common/probe.h"
#include "common/yconf.h"
#include "daemon/config.h"
#include "daemon/options.h"
#include "engine/privs.h"
#include "store/store.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: synwatch -c FILE [options]                     monitor what the config file lists\n"
		"       synwatch [-p PORTS] TARGET... [-T FILE] [--interval DUR] [options]   monitor targets\n"
		"       synwatch --once [-p PORTS] TARGET... [-T FILE] [options]             check each once\n"
		"       synwatch --check -c FILE [options]     check the settings, print what a run would do\n"
		"\n"
		"Watches whether TCP endpoints accept connections by sending one SYN per check\n"
		"and reading the answer off the wire: open, closed, unreachable, filtered or\n"
		"error, with the handshake latency; in monitoring mode also each target's state\n"
		"(up, degraded, down, flapping) and every change of it as an event.\n"
		"\n"
		"  TARGET                 IP, IP:PORT, CIDR, CIDR:PORT, HOSTNAME[:PORT], [IPv6]:PORT\n"
		"  -c, --config FILE      YAML configuration (docs/config.md); SIGHUP reloads it\n"
		"  -t, --check            load and check the settings as a start would (the file or the\n"
		"                         targets, names resolved, exclude list applied, routes looked up),\n"
		"                         print what the run would do and exit: 0 valid, 2 not; needs no\n"
		"                         privilege, sends nothing, does not connect to Redis\n"
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
		"      --check-ports A-B  the service checks' source ports, reserved likewise (default %d-%d)\n"
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
		CONFIG_DEFAULT_PORT_LO, CONFIG_DEFAULT_PORT_HI, CONFIG_DEFAULT_CHECK_PORT_LO, CONFIG_DEFAULT_CHECK_PORT_HI,
		OPTIONS_DEFAULT_MAX_TARGETS,
		OPTIONS_HARD_MAX_TARGETS, OPTIONS_DEFAULT_PER_HOST_RATE, PRIVS_DEFAULT_USER);
}

static void parse_port_range(const char *opt, const char *s, uint16_t *lo_out, uint16_t *hi_out)
{
	unsigned lo, hi;
	char tail;

	if (sscanf(s, "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1024 || hi > 65535 || lo > hi)
		cli_die_usage("%s '%s': expected A-B with 1024 <= A <= B <= 65535", opt, s);
	*lo_out = (uint16_t)lo;
	*hi_out = (uint16_t)hi;
}


/* A string setting of the command line, in place of the file's. */
static void set_text(char **dst, const char *s)
{
	char *d = strdup(s);

	if (!d)
		cli_die_usage("out of memory");
	free(*dst);
	*dst = d;
}

/* --interface names the one interface, in place of the file's list. */
static void set_interface(struct config *c, const char *s)
{
	char **v = calloc(1, sizeof(*v));

	if (!v)
		cli_die_usage("out of memory");
	set_text(&v[0], s);
	yconf_free_strv(c->interfaces, c->n_interfaces);
	c->interfaces = v;
	c->n_interfaces = 1;
}

enum {
	OPT_ONCE = 256, OPT_RATE, OPT_TIMEOUT, OPT_RETRIES, OPT_EXCLUDE, OPT_INTERFACE, OPT_SOURCE_IP,
	OPT_SOURCE_PORTS, OPT_OUTPUT, OPT_DRY_RUN, OPT_NO_RESERVE, OPT_MAX_TARGETS, OPT_BATCH, OPT_INTERVAL,
	OPT_FAILURES, OPT_SUCCESSES, OPT_WARN, OPT_CRIT, OPT_LOCATION, OPT_NO_LATENCY, OPT_PING,
	OPT_REDIS, OPT_SPILL, OPT_PROBER_ID,
	OPT_USER, OPT_KEEP_PRIVILEGES, OPT_SECCOMP, OPT_PER_HOST_RATE, OPT_YES, OPT_MEM_REPORT,
	OPT_SEND_PATH, OPT_CHECK_PORTS,
};

/* getopt_long takes an unambiguous prefix of a long option for the option,
 * and an exact name before any prefix: "--check" is --check, never the
 * start of --check-ports (it was, before --check existed); "--chec" is
 * ambiguous and refused. */

static const struct option longopts[] = {
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "config", required_argument, NULL, 'c' },
	{ "check", no_argument, NULL, 't' },
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
	{ "check-ports", required_argument, NULL, OPT_CHECK_PORTS },
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

/* An option getopt_long refused: unknown, or a prefix of several. */
__attribute__((noreturn)) static void die_unknown(const char *arg)
{
	char list[512] = "";
	size_t used = 0, n = 0, len = strcspn(arg, "=");

	if (strncmp(arg, "--", 2) == 0 && len > 2)
		for (const struct option *op = longopts; op->name; op++)
			if (strncmp(op->name, arg + 2, len - 2) == 0 && used < sizeof(list)) {
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s--%s", n ? " or " : "",
							 op->name);
				n++;
			}
	if (n >= 2)
		cli_die_usage("ambiguous option '%.*s': %s? (see --help)", (int)len, arg, list);
	cli_die_usage("unknown option '%s' (see --help)", arg);
}

/* One getopt pass over argv: the command line's own flags into *o, the
 * settings onto c and g. Values are checked as they come, in argv order. */
static void walk(struct options *o, struct config *c, struct config_group *g, int argc, char **argv)
{
	enum store_format fmt;
	int opt;

	*o = (struct options){
		.batch = 64,
		.max_targets = OPTIONS_DEFAULT_MAX_TARGETS,
		.per_host_rate = OPTIONS_DEFAULT_PER_HOST_RATE,
	};
	optind = 0; /* GNU getopt starts afresh: argv may be walked twice */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:p:T:tqvhV", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_ONCE: o->once = true; break;
		case 'c': o->config = optarg; break;
		case 't': o->check = true; break;
		case 'p': o->ports = optarg; break;
		case 'T': o->targets_file = optarg; break;
		case OPT_INTERVAL: g->interval_ns = cli_duration("--interval", optarg, 10 * NSEC_PER_MSEC, 86400 * NSEC_PER_SEC); break;
		case OPT_FAILURES: g->state.failures = (uint8_t)cli_uint("--failures", optarg, 1, 50); break;
		case OPT_SUCCESSES: g->state.successes = (uint8_t)cli_uint("--successes", optarg, 1, 50); break;
		case OPT_WARN: g->state.warn_ns = cli_duration("--warn", optarg, 1, 600 * NSEC_PER_SEC); break;
		case OPT_CRIT: g->state.crit_ns = cli_duration("--crit", optarg, 1, 600 * NSEC_PER_SEC); break;
		case OPT_LOCATION: set_text(&c->location, optarg); o->location_given = true; break;
		case OPT_PROBER_ID: set_text(&c->prober_id, optarg); break;
		case OPT_NO_LATENCY: o->no_latency = true; break;
		case OPT_MEM_REPORT: o->mem_report = true; break;
		case OPT_REDIS: set_text(&c->redis_url, optarg); o->redis_given = true; break;
		case OPT_SPILL: set_text(&c->spill, optarg); o->spill_given = true; break;
		case OPT_PING: o->ping = true; break;
		case OPT_USER: o->user = optarg; break;
		case OPT_KEEP_PRIVILEGES: o->keep_privileges = true; break;
		case OPT_SECCOMP: o->seccomp = true; break;
		case OPT_PER_HOST_RATE: o->per_host_rate = (uint32_t)cli_uint("--per-host-rate", optarg, 0, 1000000); break;
		case OPT_YES: o->yes = true; break;
		case OPT_RATE: c->rate = cli_uint("--rate", optarg, 1, 100000000); break;
		case OPT_TIMEOUT: g->timeout_ns = cli_duration("--timeout", optarg, NSEC_PER_MSEC, 600 * NSEC_PER_SEC); break;
		case OPT_RETRIES: g->retries = (uint8_t)cli_uint("--retries", optarg, 0, PROBE_MAX_ATTEMPT); break;
		case OPT_EXCLUDE: o->exclude_file = optarg; break;
		case OPT_INTERFACE: set_interface(c, optarg); break;
		case OPT_SOURCE_IP: set_text(&c->source_ip, optarg); break;
		case OPT_SEND_PATH:
			if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "ip") != 0)
				cli_die_usage("--send-path '%s': expected auto or ip", optarg);
			set_text(&c->send_path, optarg);
			break;
		case OPT_SOURCE_PORTS: parse_port_range("--source-ports", optarg, &c->port_lo, &c->port_hi); break;
		case OPT_CHECK_PORTS:
			parse_port_range("--check-ports", optarg, &c->check_port_lo, &c->check_port_hi);
			break;
		case OPT_NO_RESERVE: o->no_reserve = true; break;
		case OPT_MAX_TARGETS: o->max_targets = cli_uint("--max-targets", optarg, 1, UINT32_MAX - 2); break;
		case OPT_BATCH: o->batch = (unsigned)cli_uint("--batch", optarg, 1, 1024); break;
		case OPT_OUTPUT:
			if (store_format_parse(optarg, &fmt) < 0)
				cli_die_usage("--output '%s': expected ndjson, text or none", optarg);
			set_text(&c->output, optarg);
			break;
		case OPT_DRY_RUN: o->dry_run = true; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("synwatch %s\n", SYNWATCH_VERSION); exit(0);
		case ':': cli_die_usage("option '%s' needs a value (see --help)", argv[optind - 1]);
		default: die_unknown(argv[optind - 1]);
		}
	}
	o->specs = argv + optind;
	o->n_specs = argc - optind;
	o->argc = argc;
	o->argv = argv;
}

void options_parse(struct options *o, struct config *c, struct config_group *g, int argc, char **argv)
{
	walk(o, c, g, argc, argv);
	if (o->config && (o->n_specs || o->targets_file || o->ports || o->ping))
		cli_die_usage("-c '%s': the targets come from the file; drop the TARGET, -p and -T arguments", o->config);
	if (o->config && o->once)
		cli_die_usage("--once goes with targets on the command line, not with -c");
	if (!o->config && o->n_specs == 0 && !o->targets_file)
		cli_die_usage("no targets: give TARGET arguments, -T FILE or -c FILE (see --help)");
	if (o->dry_run && !o->once)
		cli_die_usage("--dry-run goes with --once");
	if (!o->once && !o->config && g->timeout_ns * ((int64_t)g->retries + 1) >= g->interval_ns)
		cli_die_usage("--interval %.3gs is not longer than --timeout x (retries + 1) = %.3gs: a check must "
			  "end before the next one is due",
			  (double)g->interval_ns / 1e9, (double)g->timeout_ns * (g->retries + 1) / 1e9);
	if (g->state.warn_ns && g->state.crit_ns && g->state.crit_ns < g->state.warn_ns)
		cli_die_usage("--crit must not be below --warn");
}

void options_apply(struct config *c, int argc, char **argv)
{
	struct options o;
	/* the file's groups have their own: a group flag would be lost
	 * silently, so it is refused (each field starts at a value no flag
	 * sets) */
	struct config_group g = { .interval_ns = -1, .timeout_ns = -1, .retries = UINT8_MAX,
				  .state = { .failures = UINT8_MAX, .successes = UINT8_MAX, .warn_ns = -1,
					     .crit_ns = -1 } };

	walk(&o, c, &g, argc, argv);
	const struct {
		bool given;
		const char *flag, *key;
	} flags[] = {
		{ g.interval_ns != -1, "--interval", "interval" },
		{ g.timeout_ns != -1, "--timeout", "timeout" },
		{ g.retries != UINT8_MAX, "--retries", "retries" },
		{ g.state.failures != UINT8_MAX, "--failures", "failures" },
		{ g.state.successes != UINT8_MAX, "--successes", "successes" },
		{ g.state.warn_ns != -1, "--warn", "latency: { warn: ... }" },
		{ g.state.crit_ns != -1, "--crit", "latency: { crit: ... }" },
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (flags[i].given)
			cli_die_usage("%s does not go with -c: set %s under defaults: or a group in '%s'", flags[i].flag,
				      flags[i].key, c->path);
}
