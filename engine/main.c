/* synwatch: wires the stages. Start-up (parse, resolve, route, open sockets)
 * happens here in order; then three threads run (sender, receiver, store)
 * while this thread runs the scheduler: it drains the sender's reports and
 * the receiver's records, expires timeouts and releases due probes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/ring.h"
#include "engine/engine.h"
#include "scheduler/sched.h"
#include "scheduler/targets.h"
#include "store/store.h"

#define SYNWATCH_VERSION "0.1.0"
#define EXIT_USAGE 2
#define DEFAULT_RATE 10000
#define DEFAULT_PORT_LO 61000
#define DEFAULT_PORT_HI 61999
#define DEFAULT_MAX_TARGETS (1u << 24)
#define REQ_RING 16384
#define REPORT_RING 16384
#define CAPTURE_RING (1u << 18)
#define RESULT_RING (1u << 18)

struct options {
	bool once;
	bool dry_run;
	bool no_reserve;
	bool quiet;
	int verbose;
	const char *ports;
	const char *targets_file;
	const char *exclude_file;
	const char *interface;
	const char *source_ip;
	uint64_t rate;
	int64_t timeout_ns;
	unsigned retries;
	uint16_t port_lo, port_hi;
	unsigned batch;
	size_t max_targets;
	enum store_format output;
	char **specs;
	int n_specs;
};

/* how many SIGINT/SIGTERM arrived: the first stops new probes, the second quits */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	if (got_signal < 2)
		got_signal++;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: synwatch --once [-p PORTS] [TARGET ...] [-T FILE] [--rate PPS] [--timeout DUR]\n"
		"                [--retries N] [--exclude FILE] [--interface IF] [--source-ip IP]\n"
		"                [--source-ports A-B] [--output ndjson|text|none]\n"
		"\n"
		"Checks whether TCP endpoints accept connections by sending one SYN each and\n"
		"reading the answer off the wire: open, closed, unreachable, filtered or error,\n"
		"with the handshake latency.\n"
		"\n"
		"  TARGET                 IP, IP:PORT, CIDR, CIDR:PORT, HOSTNAME[:PORT], [IPv6]:PORT\n"
		"  -p, --ports LIST       ports for targets without their own: 22,80,443,8000-8100\n"
		"  -T, --targets FILE     one target per line, optional name after it, '#' comments\n"
		"      --once             probe every target once and exit\n"
		"      --rate PPS         probes per second (default %d)\n"
		"      --timeout DUR      wait per attempt: 500ms, 1s, 2.5s (default 1s)\n"
		"      --retries N        retransmissions before 'filtered' (default 1, at most %d)\n"
		"      --exclude FILE     never probe these addresses/CIDRs (one per line)\n"
		"      --interface IF     send from this interface (default: by route)\n"
		"      --source-ip IP     source address (default: by route)\n"
		"      --source-ports A-B source-port range, reserved from the kernel (default %d-%d)\n"
		"      --no-reserve       do not add the range to net.ipv4.ip_local_reserved_ports\n"
		"      --max-targets N    refuse target lists larger than N endpoints (default %u)\n"
		"      --batch N          packets per sendmmsg call (default 64)\n"
		"      --output FMT       ndjson (default), text or none, on stdout\n"
		"      --dry-run          print the packets instead of sending them (no privileges)\n"
		"  -q, --quiet            no progress line, no summary\n"
		"  -v, --verbose          more log output (twice: debug)\n"
		"  -h, --help             this help;  -V, --version  the version\n"
		"\n"
		"Exit: 0 done, 1 runtime failure, 2 bad usage or input. Needs CAP_NET_RAW\n"
		"(and CAP_NET_ADMIN to reserve the source ports).\n",
		DEFAULT_RATE, PROBE_MAX_ATTEMPT, DEFAULT_PORT_LO, DEFAULT_PORT_HI, DEFAULT_MAX_TARGETS);
}

__attribute__((format(printf, 1, 2), noreturn)) static void die_usage(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	exit(EXIT_USAGE);
}

static uint64_t parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		die_usage("%s '%s': expected a whole number from %llu to %llu", opt, s, (unsigned long long)min,
			  (unsigned long long)max);
	return v;
}

static void parse_port_range(struct options *o, const char *s)
{
	unsigned lo, hi;
	char tail;

	if (sscanf(s, "%u-%u%c", &lo, &hi, &tail) != 2 || lo < 1024 || hi > 65535 || lo > hi)
		die_usage("--source-ports '%s': expected A-B with 1024 <= A <= B <= 65535", s);
	o->port_lo = (uint16_t)lo;
	o->port_hi = (uint16_t)hi;
}

static void parse_options(struct options *o, int argc, char **argv)
{
	enum {
		OPT_ONCE = 256, OPT_RATE, OPT_TIMEOUT, OPT_RETRIES, OPT_EXCLUDE, OPT_INTERFACE, OPT_SOURCE_IP,
		OPT_SOURCE_PORTS, OPT_OUTPUT, OPT_DRY_RUN, OPT_NO_RESERVE, OPT_MAX_TARGETS, OPT_BATCH,
	};
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "ports", required_argument, NULL, 'p' },
		{ "targets", required_argument, NULL, 'T' },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "interface", required_argument, NULL, OPT_INTERFACE },
		{ "source-ip", required_argument, NULL, OPT_SOURCE_IP },
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
		.rate = DEFAULT_RATE,
		.timeout_ns = NSEC_PER_SEC,
		.retries = 1,
		.port_lo = DEFAULT_PORT_LO,
		.port_hi = DEFAULT_PORT_HI,
		.batch = 64,
		.max_targets = DEFAULT_MAX_TARGETS,
		.output = STORE_NDJSON,
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:T:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ONCE: o->once = true; break;
		case 'p': o->ports = optarg; break;
		case 'T': o->targets_file = optarg; break;
		case OPT_RATE: o->rate = parse_uint("--rate", optarg, 1, 100000000); break;
		case OPT_TIMEOUT:
			if (duration_parse(optarg, &o->timeout_ns) < 0 || o->timeout_ns < NSEC_PER_MSEC ||
			    o->timeout_ns > 600 * NSEC_PER_SEC)
				die_usage("--timeout '%s': expected a duration from 1ms to 10m, like 500ms or 2s", optarg);
			break;
		case OPT_RETRIES: o->retries = (unsigned)parse_uint("--retries", optarg, 0, PROBE_MAX_ATTEMPT); break;
		case OPT_EXCLUDE: o->exclude_file = optarg; break;
		case OPT_INTERFACE: o->interface = optarg; break;
		case OPT_SOURCE_IP: o->source_ip = optarg; break;
		case OPT_SOURCE_PORTS: parse_port_range(o, optarg); break;
		case OPT_NO_RESERVE: o->no_reserve = true; break;
		case OPT_MAX_TARGETS: o->max_targets = parse_uint("--max-targets", optarg, 1, UINT32_MAX - 2); break;
		case OPT_BATCH: o->batch = (unsigned)parse_uint("--batch", optarg, 1, 1024); break;
		case OPT_OUTPUT:
			if (store_format_parse(optarg, &o->output) < 0)
				die_usage("--output '%s': expected ndjson, text or none", optarg);
			break;
		case OPT_DRY_RUN: o->dry_run = true; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("synwatch %s\n", SYNWATCH_VERSION); exit(0);
		case ':': die_usage("option '%s' needs a value (see --help)", argv[optind - 1]);
		default: die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	o->specs = argv + optind;
	o->n_specs = argc - optind;
	if (!o->once)
		die_usage("continuous monitoring is not available yet: use --once to probe every target once");
	if (o->n_specs == 0 && !o->targets_file)
		die_usage("no targets: give TARGET arguments or -T FILE (see --help)");
}

/* Every input the user gave, checked before anything touches the network. */
static void load_targets(const struct options *o, struct target_list *tl, struct exclude_list *ex)
{
	struct portlist ports = { 0 }, *pp = NULL;
	char err[512];
	int r;

	if ((r = exclude_add_builtin(ex)) < 0)
		die_usage("cannot set up the built-in exclude list: %s", strerror(-r));
	if (o->exclude_file && exclude_load_file(ex, o->exclude_file, err, sizeof(err)) < 0)
		die_usage("%s", err);
	if (o->ports) {
		if (portlist_parse(&ports, o->ports, err, sizeof(err)) < 0)
			die_usage("-p: %s", err);
		pp = &ports;
	}
	target_list_init(tl, o->max_targets, TARGET_FAMILY_V4);
	for (int i = 0; i < o->n_specs; i++)
		if (target_list_add_spec(tl, o->specs[i], pp, NULL, ex, err, sizeof(err)) < 0)
			die_usage("%s", err);
	if (o->targets_file && target_list_load_file(tl, o->targets_file, pp, ex, err, sizeof(err)) < 0)
		die_usage("%s", err);
	portlist_release(&ports);
	size_t dups = target_list_dedup(tl);
	if (tl->n == 0)
		die_usage("no endpoints left to probe (%zu excluded by the exclude list, none left)", tl->excluded);
	if (dups)
		log_info("%zu repeated endpoint(s) probed once", dups);
	if (tl->excluded)
		log_info("%zu endpoint(s) skipped: excluded", tl->excluded);
}

/* Distinct sources and interfaces, from the route of every target. */
struct routing {
	struct sched_source *sources;
	size_t n_sources, cap_sources;
	uint16_t *src_of;
	char (*ifnames)[IF_NAMESIZE];
	size_t n_ifnames;
};

static int source_index(struct routing *rt, const struct sw_addr *a, int err)
{
	for (size_t i = 0; i < rt->n_sources; i++)
		if (rt->sources[i].err == err && addr_equal(&rt->sources[i].addr, a))
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
	rt->sources[rt->n_sources] = (struct sched_source){ .addr = *a, .err = err };
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

static int route_targets(const struct options *o, const struct target_list *tl, struct routing *rt)
{
	struct route_table *table = NULL;
	struct route_info fixed = { 0 }, info = { 0 };
	struct sw_addr src_override = { 0 }, none = { 0 };
	bool have_fixed = false;
	int r, idx = -1;

	if (o->source_ip && addr_parse(&src_override, o->source_ip) < 0)
		die_usage("--source-ip '%s': expected an IPv4 address", o->source_ip);
	rt->src_of = malloc(tl->n * sizeof(*rt->src_of));
	if (!rt->src_of)
		return -ENOMEM;
	if ((r = route_table_load(&table)) < 0) {
		log_error("cannot read the routing table: %s", strerror(-r));
		return r;
	}
	if (o->interface) {
		r = route_iface(table, o->interface, AF_INET, &fixed);
		if (r == -ENODEV)
			die_usage("--interface '%s': no such interface", o->interface);
		if (r < 0 && !o->source_ip)
			die_usage("--interface '%s' has no IPv4 address: give --source-ip", o->interface);
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
		if (have_fixed) {
			info = fixed;
		} else if ((r = route_lookup(table, &t->addr, &info)) < 0) {
			err = -r;
		}
		if (!err && o->source_ip)
			info.src = src_override;
		if (!err && (r = add_ifname(rt, info.ifname)) < 0)
			goto out;
		idx = source_index(rt, err ? &none : &info.src, err);
		if (idx < 0) {
			r = idx;
			goto out;
		}
		rt->src_of[i] = (uint16_t)idx;
	}
	r = 0;
out:
	route_table_free(table);
	return r;
}

struct emit_ctx {
	struct ring *results;
};

static void emit_result(void *arg, const struct probe_result *res)
{
	struct emit_ctx *ec = arg;

	/* never drop a measured result: wait for the store thread to make room */
	while (ring_push(ec->results, res, 1) != 1) {
		struct timespec ts = { 0, 100 * 1000 };
		nanosleep(&ts, NULL);
	}
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

static void summary(const struct sched_stats *ss, const struct sender_stats *snd, const struct capture_stats *cs,
		    size_t targets, uint64_t elapsed_ns, bool interrupted)
{
	double secs = (double)elapsed_ns / 1e9;

	fprintf(stderr,
		"synwatch: %s%zu endpoints in %.3f s: sent %llu probes (%llu retransmitted, %llu send errors), %.0f probes/s\n"
		"synwatch: results: open %llu, closed %llu, unreachable %llu, filtered %llu, error %llu; %llu not probed\n"
		"synwatch: replies %llu; rejected: bad cookie %llu, stale %llu, duplicate %llu, malformed %llu; "
		"approximate rtt %llu\n"
		"synwatch: pcap: received %llu, dropped %llu, interface drops %llu\n",
		interrupted ? "interrupted: " : "", targets, secs, (unsigned long long)snd->sent,
		(unsigned long long)ss->retransmits, (unsigned long long)snd->failed,
		secs > 0 ? (double)snd->sent / secs : 0, (unsigned long long)ss->results[PROBE_OPEN],
		(unsigned long long)ss->results[PROBE_CLOSED], (unsigned long long)ss->results[PROBE_UNREACHABLE],
		(unsigned long long)ss->results[PROBE_FILTERED], (unsigned long long)ss->results[PROBE_ERROR],
		(unsigned long long)ss->pending, (unsigned long long)ss->replies, (unsigned long long)cs->bad_cookie,
		(unsigned long long)ss->stale, (unsigned long long)ss->duplicate, (unsigned long long)cs->malformed,
		(unsigned long long)ss->rtt_approx, (unsigned long long)cs->pcap_recv, (unsigned long long)cs->pcap_drop,
		(unsigned long long)cs->pcap_ifdrop);
}

static void reserve_ports(const struct options *o)
{
	int r;

	if (o->no_reserve || o->dry_run)
		return;
	r = ports_reserve(o->port_lo, o->port_hi);
	if (r == 1)
		log_info("reserved source ports %u-%u from the kernel (net.ipv4.ip_local_reserved_ports)", o->port_lo,
			 o->port_hi);
	else if (r < 0)
		log_warn("cannot reserve source ports %u-%u in net.ipv4.ip_local_reserved_ports: %s; a local "
			 "program may be given one of them (see docs/operations.md)",
			 o->port_lo, o->port_hi, strerror(-r));
}

int main(int argc, char **argv)
{
	struct options o;
	struct target_list tl = { 0 };
	struct exclude_list ex = { 0 };
	struct routing rt = { 0 };
	struct cookie_key key;
	struct ring *reqs = NULL, *reports = NULL, *caps = NULL, *results = NULL;
	struct sender *snd = NULL;
	struct capture *cap = NULL;
	struct store *st = NULL;
	struct sched *sc = NULL;
	struct emit_ctx ec;
	int fd = -1, r, rc = 1;
	bool interrupted = false;

	log_set_program("synwatch");
	parse_options(&o, argc, argv);
	log_level_current = o.verbose >= 2 ? LOG_DEBUG : o.verbose ? LOG_INFO : (o.quiet ? LOG_ERROR : LOG_WARN);
	if (o.verbose == 0 && !o.quiet)
		log_level_current = LOG_INFO;

	load_targets(&o, &tl, &ex);
	if (o.dry_run) {
		/* no routes needed: a dry run shows packets from the source given, or 0.0.0.0 */
		struct sw_addr src = { .family = AF_INET };
		if (o.source_ip && addr_parse(&src, o.source_ip) < 0)
			die_usage("--source-ip '%s': expected an IPv4 address", o.source_ip);
		rt.src_of = calloc(tl.n, sizeof(*rt.src_of));
		if (!rt.src_of || source_index(&rt, &src, 0) < 0)
			goto out;
	} else if ((r = route_targets(&o, &tl, &rt)) < 0) {
		log_error("cannot route the targets: %s", strerror(-r));
		goto out;
	}
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
		reserve_ports(&o);
	}

	if (ring_new(&reqs, sizeof(struct probe_req), REQ_RING) < 0 ||
	    ring_new(&reports, sizeof(struct send_report), REPORT_RING) < 0 ||
	    ring_new(&caps, sizeof(struct capture_rec), CAPTURE_RING) < 0 ||
	    ring_new(&results, sizeof(struct probe_result), RESULT_RING) < 0) {
		log_error("out of memory for the rings");
		goto out;
	}

	if (!o.dry_run && rt.n_ifnames) {
		const char *names[64];
		size_t n = rt.n_ifnames < 64 ? rt.n_ifnames : 64;
		for (size_t i = 0; i < n; i++)
			names[i] = rt.ifnames[i];
		struct capture_config cc = {
			.ifnames = names,
			.n_ifnames = n,
			.filter = { .port_lo = o.port_lo, .port_hi = o.port_hi, .max_attempt = (uint8_t)o.retries,
				    .key = &key },
		};
		if ((r = capture_open(&cap, &cc)) < 0) {
			if (r == -EPERM)
				log_error("cannot capture: permission denied; run as root or grant cap_net_raw");
			goto out;
		}
	}

	struct sender_config sc_cfg = {
		.rate_pps = o.rate,
		.batch = o.batch,
		.key = &key,
		.dry_run = o.dry_run ? stdout : NULL,
	};
	if ((r = sender_new(&snd, &sc_cfg, fd, reqs, reports)) < 0) {
		log_error("cannot set up the sender: %s", strerror(-r));
		goto out;
	}
	fd = -1; /* the sender owns it */

	struct store_config stc = {
		.format = o.dry_run ? STORE_NONE : o.output,
		.out = stdout,
		.targets = &tl,
	};
	if ((r = store_new(&st, &stc, results)) < 0)
		goto out;
	ec.results = results;
	/* lookahead: about 10 ms of probes, so that a probe's timeout starts
	 * close to when it really leaves */
	size_t lookahead = (size_t)(o.rate / 100);
	if (lookahead < 2 * o.batch)
		lookahead = 2 * o.batch;
	if (lookahead > REQ_RING / 2)
		lookahead = REQ_RING / 2;
	struct sched_config schc = {
		.port_lo = o.port_lo,
		.port_hi = o.port_hi,
		.retries = o.dry_run ? 0 : (uint8_t)o.retries,
		.timeout_ns = o.dry_run ? 1 : o.timeout_ns,
		.max_lookahead = lookahead,
		.order_seed = tl.n > 1 ? (uint64_t)clock_real_ns() | 1 : 0,
		.emit = emit_result,
		.emit_ctx = &ec,
	};
	if ((r = sched_new(&sc, &schc, &tl, rt.sources, rt.src_of)) < 0) {
		log_error("cannot set up the scheduler: %s", strerror(-r));
		goto out;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((r = store_start(st)) < 0 || (cap && (r = capture_start(cap, caps)) < 0) ||
	    (r = sender_start(snd)) < 0) {
		log_error("cannot start threads: %s", strerror(-r));
		goto out;
	}

	bool show_progress = !o.quiet && !o.dry_run && isatty(STDERR_FILENO);
	uint64_t start = clock_mono_ns(), next_progress = start, idle_ns = 100 * 1000;
	struct send_report rbuf[256];
	struct capture_rec cbuf[256];
	struct sched_stats ss;
	struct sender_stats sst;
	for (;;) {
		uint64_t now = clock_mono_ns();
		int64_t now_real = clock_real_ns();
		size_t work = 0, n;

		if (got_signal && !interrupted) {
			interrupted = true;
			sched_stop_new(sc);
			log_info("stopping: waiting for replies to the probes in flight (Ctrl-C again to quit now)");
		}
		if (got_signal == 2)
			break;
		while ((n = ring_pop(reports, rbuf, 256)) > 0) {
			for (size_t i = 0; i < n; i++)
				sched_on_report(sc, &rbuf[i]);
			work += n;
		}
		while ((n = ring_pop(caps, cbuf, 256)) > 0) {
			for (size_t i = 0; i < n; i++)
				sched_on_capture(sc, &cbuf[i]);
			work += n;
		}
		sched_expire(sc, now, now_real);
		work += sched_release(sc, reqs, now, now_real);
		if (sched_done(sc))
			break;
		if (show_progress && now >= next_progress) {
			sched_get_stats(sc, &ss);
			sender_get_stats(snd, &sst);
			progress(&ss, &sst, tl.n, now - start, false);
			next_progress = now + 250 * NSEC_PER_MSEC;
		}
		if (work == 0) {
			/* nothing to do: back off up to 1 ms (timeouts are
			 * checked at that granularity) */
			clock_sleep_until(now + idle_ns);
			if (idle_ns < NSEC_PER_MSEC)
				idle_ns *= 2;
		} else {
			idle_ns = 50 * 1000;
		}
	}
	uint64_t elapsed = clock_mono_ns() - start;

	sender_stop(snd);
	if (cap)
		capture_stop(cap);
	/* replies that raced the stop still give results */
	size_t n;
	while ((n = ring_pop(caps, cbuf, 256)) > 0)
		for (size_t i = 0; i < n; i++)
			sched_on_capture(sc, &cbuf[i]);
	store_stop(st);

	struct capture_stats cs = { 0 };
	sched_get_stats(sc, &ss);
	sender_get_stats(snd, &sst);
	if (cap)
		capture_get_stats(cap, &cs);
	if (show_progress)
		progress(&ss, &sst, tl.n, elapsed, true);
	if (!o.quiet && !o.dry_run)
		summary(&ss, &sst, &cs, tl.n, elapsed, interrupted);
	if (store_error(st) && store_error(st) != EPIPE) {
		log_error("cannot write results: %s", strerror(store_error(st)));
		goto out;
	}
	rc = 0;
out:
	sender_free(snd);
	capture_close(cap);
	store_free(st);
	sched_free(sc);
	ring_free(reqs);
	ring_free(reports);
	ring_free(caps);
	ring_free(results);
	if (fd >= 0)
		close(fd);
	free(rt.sources);
	free(rt.src_of);
	free(rt.ifnames);
	target_list_release(&tl);
	exclude_release(&ex);
	return rc;
}
