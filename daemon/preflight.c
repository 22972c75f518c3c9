/* synwatch --check (daemon/preflight.h). Everything checked here is
 * checked by the code a start runs (settings_load, targets_load,
 * daemon_route, canaries_add, monitor_new); this file only adds it up. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/columns.h"
#include "common/log.h"
#include "common/num.h"
#include "daemon/canaries.h"
#include "daemon/checks.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/options.h"
#include "daemon/preflight.h"
#include "daemon/targets.h"
#include "engine/linkpath.h"
#include "engine/privs.h"
#include "scheduler/monitor.h"
#include "store/redis-url.h"
#include "store/store.h"

/* the summary's cells are cut here, with how many were left out */
#define CELL_MAX 48
#define LIST_MAX 6

/* A row of the summary: a group of the settings (with the groups that its
 * named targets' own checks split off: same name), a built-in group
 * (canary), or the one-shot run's targets. */
struct row {
	const struct table_group *g; /* its first table group; NULL: one-shot */
	size_t endpoints, hosts;
	double pps; /* probes per second its intervals ask for */
	char ports[CELL_MAX + 40];
	char checks[CELL_MAX + 40];
};

/* A live endpoint, for the counts that need sorting. */
struct ep {
	struct sw_addr addr;
	uint32_t row;
	uint16_t port;
	uint8_t kind;	  /* its service check, CHECK_NONE: none */
	int64_t check_ns; /* how often its check runs at most */
	double pps;
};

struct summary {
	struct row *rows;
	size_t n_rows;
	struct ep *eps;
	size_t n_eps;
	size_t hosts;
	double checks_ps;	  /* service checks per second, at most */
	size_t checked;		  /* endpoints with a service check */
	const struct ep *busiest; /* the address asked for the most probes per second */
	double busiest_pps;
	size_t busiest_endpoints; /* ... and how many endpoints it has */
	double host_cap;	  /* --per-host-rate (0: none) */
	size_t over_cap;	  /* addresses asked for more than that */
};

static void noop_result(void *ctx, const struct probe_result *r)
{
	(void)ctx;
	(void)r;
}

static void noop_event(void *ctx, const struct sw_event *e)
{
	(void)ctx;
	(void)e;
}

static void *alloc_or_die(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		log_error("--check: out of memory");
		exit(CLI_EXIT_RUNTIME);
	}
	return p;
}

/* ---- text ---- */

/* Appends to a cell of CELL_MAX characters; past it, counts what is left
 * out. Returns false once the cell is full. */
struct cell {
	char *s;
	size_t len, cap, left_out;
};

static void cell_add(struct cell *c, const char *item)
{
	size_t n = strlen(item) + (c->len ? 1 : 0);

	if (c->left_out || c->len + n > CELL_MAX) {
		c->left_out++;
		return;
	}
	c->len += (size_t)snprintf(c->s + c->len, c->cap - c->len, "%s%s", c->len ? "," : "", item);
}

static void cell_end(struct cell *c, const char *what)
{
	if (c->left_out)
		snprintf(c->s + c->len, c->cap - c->len, ",... (%zu more %s)", c->left_out, what);
	else if (!c->len)
		snprintf(c->s, c->cap, "-");
}

/* Ports from v[0..n) (sorted, repeats allowed) as "icmp,22,443,8000-8010". */
static void ports_text(struct cell *c, const uint16_t *v, size_t n)
{
	char item[32];
	size_t i = 0;

	if (n && v[0] == TARGET_PORT_ICMP) {
		cell_add(c, "icmp");
		while (i < n && v[i] == TARGET_PORT_ICMP)
			i++;
	}
	while (i < n) {
		size_t j = i;
		while (j + 1 < n && (v[j + 1] == v[j] || v[j + 1] == v[j] + 1))
			j++;
		if (v[j] != v[i])
			snprintf(item, sizeof(item), "%u-%u", v[i], v[j]);
		else
			snprintf(item, sizeof(item), "%u", v[i]);
		cell_add(c, item);
		i = j + 1;
	}
}

static const char *priority_name(uint8_t p)
{
	static const char *const names[] = {"low", "normal", "high", "critical"};

	return p < 4 ? names[p] : "?";
}

static const char *endpoint_text(const struct sw_addr *a, uint16_t port, char *buf, size_t len)
{
	char ip[ADDR_STRLEN];

	addr_format(a, ip, sizeof(ip));
	if (port == TARGET_PORT_ICMP)
		snprintf(buf, len, "%s (ping)", ip);
	else
		snprintf(buf, len, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
	return buf;
}

/* ---- adding up ---- */

static int by_addr_row(const void *a, const void *b)
{
	const struct ep *x = a, *y = b;
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	return c ? c : (x->row > y->row) - (x->row < y->row);
}

static int by_row_port(const void *a, const void *b)
{
	const struct ep *x = a, *y = b;

	if (x->row != y->row)
		return (x->row > y->row) - (x->row < y->row);
	return (x->port > y->port) - (x->port < y->port);
}

/* checked endpoints first, by row, kind, check interval, port */
static int by_row_check(const void *a, const void *b)
{
	const struct ep *x = a, *y = b;

	if ((x->kind == CHECK_NONE) != (y->kind == CHECK_NONE))
		return x->kind == CHECK_NONE ? 1 : -1;
	if (x->row != y->row)
		return (x->row > y->row) - (x->row < y->row);
	if (x->kind != y->kind)
		return (x->kind > y->kind) - (x->kind < y->kind);
	if (x->check_ns != y->check_ns)
		return (x->check_ns > y->check_ns) - (x->check_ns < y->check_ns);
	return (x->port > y->port) - (x->port < y->port);
}

/* The rows: the table's groups by name, in their order. */
static void make_rows(struct summary *s, const struct table *t, uint32_t *row_of)
{
	s->rows = alloc_or_die(t->n_groups + 1, sizeof(*s->rows));
	for (size_t i = 0; i < t->n_groups; i++) {
		size_t r = 0;
		while (r < s->n_rows && strcmp(s->rows[r].g->name, t->groups[i].name) != 0)
			r++;
		if (r == s->n_rows)
			s->rows[s->n_rows++].g = &t->groups[i];
		row_of[i] = (uint32_t)r;
	}
}

static void add_up(struct summary *s, const struct table *t)
{
	uint32_t *row_of = alloc_or_die(t->n_groups, sizeof(*row_of));
	uint32_t no_group = UINT32_MAX;

	make_rows(s, t, row_of);
	s->eps = alloc_or_die(t->n_live, sizeof(*s->eps));
	for (size_t id = 0; id < t->tl.n; id++) {
		if (t->dead[id])
			continue;
		const struct table_group *g = table_group_of(t, (uint32_t)id);
		uint32_t row;
		if (g) {
			row = row_of[g - t->groups];
		} else {
			if (no_group == UINT32_MAX) {
				no_group = (uint32_t)s->n_rows++;
				s->rows[no_group].g = NULL;
			}
			row = no_group;
		}
		struct ep *e = &s->eps[s->n_eps++];
		*e = (struct ep){.addr = t->tl.v[id].addr, .row = row, .port = t->tl.v[id].port};
		if (g && g->interval_ns > 0)
			e->pps = (double)NSEC_PER_SEC / (double)g->interval_ns;
		s->rows[row].endpoints++;
		s->rows[row].pps += e->pps;
		struct check_spec *spec = table_check(t, (uint32_t)id);
		if (spec) {
			/* a check runs after its port's SYN is answered, at most
			 * once per its interval (whole seconds) */
			int64_t iv = (spec->interval_ns + NSEC_PER_SEC - 1) / NSEC_PER_SEC * NSEC_PER_SEC;
			int64_t syn = g ? g->interval_ns : 0;
			e->kind = spec->kind;
			e->check_ns = iv > syn ? iv : syn;
			s->checked++;
			if (e->check_ns > 0)
				s->checks_ps += (double)NSEC_PER_SEC / (double)e->check_ns;
		}
	}
	free(row_of);

	/* hosts, per row and in all; the address asked for the most */
	qsort(s->eps, s->n_eps, sizeof(*s->eps), by_addr_row);
	for (size_t i = 0; i < s->n_eps;) {
		size_t j = i;
		double pps = 0;
		for (; j < s->n_eps && addr_equal(&s->eps[j].addr, &s->eps[i].addr); j++) {
			pps += s->eps[j].pps;
			if (j == i || s->eps[j].row != s->eps[j - 1].row)
				s->rows[s->eps[j].row].hosts++;
		}
		s->hosts++;
		s->over_cap += s->host_cap > 0 && pps > s->host_cap;
		if (!s->busiest || pps > s->busiest_pps ||
		    (pps == s->busiest_pps && j - i > s->busiest_endpoints)) {
			s->busiest = &s->eps[i];
			s->busiest_pps = pps;
			s->busiest_endpoints = j - i;
		}
		i = j;
	}
	struct sw_addr busiest = s->busiest ? s->busiest->addr : (struct sw_addr){0};

	/* ports per row */
	qsort(s->eps, s->n_eps, sizeof(*s->eps), by_row_port);
	uint16_t *ports = alloc_or_die(s->n_eps, sizeof(*ports));
	for (size_t i = 0; i < s->n_eps;) {
		size_t j = i, n = 0;
		for (; j < s->n_eps && s->eps[j].row == s->eps[i].row; j++)
			ports[n++] = s->eps[j].port;
		struct row *r = &s->rows[s->eps[i].row];
		struct cell c = {.s = r->ports, .cap = sizeof(r->ports)};
		ports_text(&c, ports, n);
		cell_end(&c, "ports");
		i = j;
	}

	/* checks per row: "postgres 5432,6379 every 1m" */
	for (size_t r = 0; r < s->n_rows; r++)
		snprintf(s->rows[r].checks, sizeof(s->rows[r].checks), "-");
	qsort(s->eps, s->n_eps, sizeof(*s->eps), by_row_check);
	for (size_t i = 0; i < s->n_eps && s->eps[i].kind != CHECK_NONE;) {
		const struct ep *e = &s->eps[i];
		struct row *r = &s->rows[e->row];
		size_t used = strcmp(r->checks, "-") == 0 ? 0 : strlen(r->checks);
		size_t j = i, n = 0;
		char item[CELL_MAX + 40] = "", every[48] = "", d[32];
		for (; j < s->n_eps && s->eps[j].row == e->row && s->eps[j].kind == e->kind &&
		       s->eps[j].check_ns == e->check_ns;
		     j++)
			ports[n++] = s->eps[j].port;
		struct cell c = {.s = item, .cap = sizeof(item)};
		ports_text(&c, ports, n);
		cell_end(&c, "ports");
		if (r->g && e->check_ns > r->g->interval_ns)
			snprintf(every, sizeof(every), " every %s",
				 num_duration_text(e->check_ns, d, sizeof(d)));
		snprintf(r->checks + used, sizeof(r->checks) - used, "%s%s %s%s", used ? "; " : "",
			 check_kind_name((enum check_kind)e->kind), item, every);
		i = j;
	}
	free(ports);
	/* the busiest address again, in the array as it is now */
	for (size_t i = 0; s->busiest && i < s->n_eps; i++)
		if (addr_equal(&s->eps[i].addr, &busiest)) {
			s->busiest = &s->eps[i];
			break;
		}
}

/* ---- the report ---- */

static void print_groups(const struct summary *s, double demand)
{
	static const char *const head[] = {"GROUP",    "ENDPOINTS", "HOSTS",   "PORTS",	      "CHECKS",
					   "INTERVAL", "TIMEOUT",   "RETRIES", "CRITICALITY", "METRICS", "PROBES/S"};
	struct columns tab;
	char n[32], h[32], iv[32], to[32], re[16], pps[32];

	if (columns_init(&tab, 11, head) < 0)
		goto nomem;
	for (size_t i = 0; i < s->n_rows; i++) {
		const struct row *r = &s->rows[i];
		const struct table_group *g = r->g;
		snprintf(n, sizeof(n), "%zu", r->endpoints);
		snprintf(h, sizeof(h), "%zu", r->hosts);
		if (g) {
			num_duration_text(g->interval_ns, iv, sizeof(iv));
			num_duration_text(g->timeout_ns, to, sizeof(to));
			snprintf(re, sizeof(re), "%u", g->retries);
			snprintf(pps, sizeof(pps), "%.2f", r->pps);
		}
		const char *cells[] = {g ? g->name : "(one-shot)",
				       n,
				       h,
				       r->ports,
				       r->checks,
				       g ? iv : "-",
				       g ? to : "-",
				       g ? re : "-",
				       g ? priority_name(g->priority) : "-",
				       g ? (g->per_target ? "per_target" : "aggregate") : "-",
				       g ? pps : "-"};
		if (columns_add(&tab, cells) < 0)
			goto nomem;
	}
	if (s->n_rows > 1) {
		snprintf(n, sizeof(n), "%zu", s->n_eps);
		snprintf(h, sizeof(h), "%zu", s->hosts);
		snprintf(pps, sizeof(pps), "%.2f", demand);
		const char *cells[] = {"total", n, h, "", "", "", "", "", "", "", demand >= 0 ? pps : "-"};
		if (columns_add(&tab, cells) < 0)
			goto nomem;
	}
	columns_print(&tab, stdout);
	columns_release(&tab);
	return;
nomem:
	columns_release(&tab);
	log_error("--check: out of memory");
	exit(CLI_EXIT_RUNTIME);
}

/* Monitoring: what the intervals ask for against the cap, in the
 * monitor's own figures (its cap keeps a share for retransmissions). */
static double print_load(const struct daemon *d, const struct summary *s, struct monitor_stats *ms)
{
	const struct config *c = d->cfg;
	unsigned long long cap = (unsigned long long)c->rate;
	char a[ADDR_STRLEN + 16];

	if (ms->overloaded)
		printf("warning: overloaded: the targets ask for %.0f probes/s, the cap is %llu: a run would "
		       "stretch "
		       "intervals x%.2f (low), x%.2f (normal), x%.2f (high), x%.2f (critical)\n",
		       ms->demand_pps, cap, ms->stretch[0], ms->stretch[1], ms->stretch[2], ms->stretch[3]);
	else
		printf("rate: the targets ask for %.2f probes/s, the cap is %llu (%.1f %%)\n", ms->demand_pps,
		       cap, 100.0 * ms->demand_pps / (double)cap);
	if (s->over_cap)
		printf("warning: %zu address%s asked for more than --per-host-rate %u probes/s (%s: %.1f): "
		       "their "
		       "checks are held back and run late\n",
		       s->over_cap, s->over_cap == 1 ? " is" : "es are", d->o->per_host_rate,
		       addr_format(&s->busiest->addr, a, sizeof(a)), s->busiest_pps);
	return ms->demand_pps;
}

/* One-shot: how long the sending takes. */
static void print_once(const struct daemon *d, const struct summary *s)
{
	const struct config *c = d->cfg;
	const struct config_group *g = &c->groups[0];
	char a[ADDR_STRLEN], w[32];
	double secs = (double)s->n_eps / (double)c->rate;

	if (s->busiest && d->o->per_host_rate && (double)s->busiest_endpoints / d->o->per_host_rate > secs)
		secs = (double)s->busiest_endpoints / d->o->per_host_rate;
	printf("one-shot: %zu probes at up to %llu/s", s->n_eps, (unsigned long long)c->rate);
	if (s->busiest && d->o->per_host_rate)
		printf(" and %u/s to one address (%s has %zu endpoints)", d->o->per_host_rate,
		       addr_format(&s->busiest->addr, a, sizeof(a)), s->busiest_endpoints);
	printf(": about %.1f s of sending, then up to %s for the last answers\n", secs,
	       num_duration_text(g->timeout_ns * (g->retries + 1), w, sizeof(w)));
}

static void print_checks(const struct daemon *d, const struct summary *s)
{
	uint32_t cap = checks_rate(d->cfg);

	if (!s->checked) {
		printf("service checks: none\n");
		return;
	}
	if (d->o->once) {
		printf(
		    "service checks: %zu endpoints, each checked after its SYN is answered; at most %u new "
		    "connections/s\n",
		    s->checked, cap);
		return;
	}
	printf(
	    "service checks: %zu endpoints, at most %.2f checks/s (every SYN answered); the checker opens at "
	    "most %u connections/s\n",
	    s->checked, s->checks_ps, cap);
	if (s->checks_ps > cap)
		printf("warning: the service checks ask for more connections than the checker opens (%u/s, a "
		       "tenth of the rate): they run late\n",
		       cap);
}

static bool in_table(const struct table *t, const struct sw_addr *a, uint16_t port, const char **group)
{
	for (size_t id = 0; id < t->tl.n; id++)
		if (!t->dead[id] && t->tl.v[id].port == port && addr_equal(&t->tl.v[id].addr, a)) {
			const struct table_group *g = table_group_of(t, (uint32_t)id);
			*group = g ? g->name : "-";
			return true;
		}
	return false;
}

static void print_canaries(const struct daemon *d)
{
	char e[ADDR_STRLEN + 16];
	const char *group;

	if (d->o->once)
		return;
	if (!d->n_canaries) {
		if (d->cfg->n_canaries)
			return; /* none parsed: cannot be, canaries_add would have ended the run */
		printf("canaries: none (%s)\n", d->cfg->shard
						    ? "not by default while sharding: give canaries: in the "
						      "config"
						    : "the targets are reached without a gateway");
		return;
	}
	printf("canaries:");
	for (size_t i = 0; i < d->n_canaries; i++) {
		endpoint_text(&d->canaries[i], d->canary_ports[i], e, sizeof(e));
		bool found = in_table(d->table, &d->canaries[i], d->canary_ports[i], &group);
		printf("%s %s%s%s%s", i ? "," : "", d->n_gw_canaries ? "gateway " : "", e,
		       found ? " in group " : "", found ? group : "");
	}
	printf("\n");
	for (size_t i = 0; i < d->n_canaries; i++)
		if (!in_table(d->table, &d->canaries[i], d->canary_ports[i], &group))
			printf("warning: canary %s is not a target of any group: a run ignores it (each "
			       "canary must "
			       "be one)\n",
			       endpoint_text(&d->canaries[i], d->canary_ports[i], e, sizeof(e)));
}

static void print_names(const struct table *t)
{
	char a[ADDR_STRLEN];

	if (t->tl.excluded)
		printf("excluded: %zu endpoints (the exclude lists)\n", t->tl.excluded);
	if (!t->n_hostnames)
		return;
	printf("hostnames:");
	for (size_t i = 0; i < t->n_hostnames && i < LIST_MAX; i++) {
		const struct table_hostname *h = &t->hostnames[i];
		printf("%s %s -> ", i ? ";" : "", h->name);
		for (size_t k = 0; k < h->n_addrs && k < 3; k++)
			printf("%s%s", k ? ", " : "", addr_format(&h->addrs[k], a, sizeof(a)));
		if (h->n_addrs > 3)
			printf(" and %zu more", h->n_addrs - 3);
	}
	if (t->n_hostnames > LIST_MAX)
		printf("; and %zu more names", t->n_hostnames - LIST_MAX);
	printf("\n");
}

static void print_routes(const struct daemon *d)
{
	const struct routing *rt = &d->rt;
	const struct table *t = d->table;
	char a[ADDR_STRLEN];
	size_t unrouted = 0, first = 0;

	if (d->o->dry_run) {
		printf("routes: none looked up (--dry-run)\n");
		return;
	}
	for (size_t id = 0; id < t->tl.n; id++)
		if (!t->dead[id] && rt->sources[rt->src_of[id]].err && !unrouted++)
			first = id;
	printf("routes: through");
	for (size_t i = 0; i < rt->n_ifnames; i++)
		printf("%s %s", i ? "," : "", rt->ifnames[i]);
	if (!rt->n_ifnames)
		printf(" no interface");
	if (rt->n_gateways) {
		printf("; gateways");
		for (size_t i = 0; i < rt->n_gateways && i < LIST_MAX; i++)
			printf("%s %s", i ? "," : "", addr_format(&rt->gateways[i], a, sizeof(a)));
		if (rt->n_gateways > LIST_MAX)
			printf(" and %zu more", rt->n_gateways - LIST_MAX);
	}
	unsigned frames = link_paths_count(d->lp);
	printf("; send path %s%s", d->cfg->send_path ? d->cfg->send_path : "auto",
	       frames ? " (Ethernet frames to " : "");
	if (frames)
		printf("%u gateway%s)", frames, frames == 1 ? "" : "s");
	printf("\n");
	if (unrouted)
		printf("warning: %zu endpoints have no route (%s: %s): their checks would end as error\n",
		       unrouted, addr_format(&t->tl.v[first].addr, a, sizeof(a)),
		       strerror(rt->sources[rt->src_of[first]].err));
}

static void print_output(const struct daemon *d)
{
	const struct config *c = d->cfg;
	char shown[1024];

	if (!c->redis_url || d->o->dry_run) {
		printf("redis: none; output %s on stdout", d->o->dry_run ? "the packets" : c->output);
		if (c->state_file && !d->o->once)
			printf("; states kept across restarts in %s", c->state_file);
		printf("\n");
		return;
	}
	redis_url_redact(c->redis_url, shown, sizeof(shown));
	printf("redis: %s, prefix %s, prober %s", shown, c->redis_prefix, c->prober_id);
	if (!d->o->once)
		printf(", %s", c->shard ? "sharing the targets with the location's other probers"
					: "checking every target (shard: false)");
	if (c->spill)
		printf("; spill %s", c->spill);
	else
		printf("; spill /var/tmp/synwatch-spill-%s.log", c->location);
	printf(" (at most %s)", num_size_text(c->spill_max ? c->spill_max : STORE_DEFAULT_SPILL_MAX, shown,
					       sizeof(shown)));
	printf("; output %s on stdout\n", c->output);
}

/* After start-up (daemon_drop_privileges): as whom, with what. A --user
 * that does not exist would stop the start there, after the sockets are
 * open (exit 1); here it is bad input. */
static const char *check_user(const struct options *o)
{
	const char *user = o->user ? o->user : PRIVS_DEFAULT_USER;

	if (o->dry_run || o->keep_privileges)
		return NULL;
	if (getpwnam(user))
		return user;
	if (o->user) /* privs_drop's words */
		cli_die_usage("--user '%s': no such user (create it, or run without --user)", o->user);
	return NULL;
}

static void print_privileges(const struct options *o, const char *user)
{
	if (o->dry_run)
		return;
	if (o->keep_privileges)
		printf("privileges: kept after start-up (--keep-privileges)");
	else if (user)
		printf("privileges: after start-up, runs as '%s' without capabilities", user);
	else
		printf("privileges: after start-up, stays root (there is no '" PRIVS_DEFAULT_USER
		       "' user) without capabilities");
	printf("%s\n", o->seccomp ? "; seccomp filter" : "");
}

int preflight_run(struct daemon *d)
{
	const struct options *o = d->o;
	struct summary s = {0};
	struct monitor_stats ms = {.demand_pps = -1};
	struct monitor *m = NULL;
	const char *user = check_user(o);
	int rc = 1;

	targets_load(&d->table, &d->ex, d->cfg, o);
	if (daemon_route(d) < 0)
		goto out; /* logged */
	if (!o->once) {
		canaries_add(d);
		struct monitor_config mc = {
		    .rate_cap = d->cfg->rate,
		    .isolation_share = d->cfg->isolation_share,
		    .canaries = d->canaries,
		    .canary_ports = d->canary_ports,
		    .n_canaries = d->n_canaries,
		    .emit_result = noop_result,
		    .emit_event = noop_event,
		};
		int r = monitor_new(&m, &mc, d->table, clock_mono_ns(), clock_real_ns());
		if (r < 0) {
			log_error("cannot set up the monitor: %s", strerror(-r));
			goto out;
		}
		monitor_get_stats(m, &ms);
	}
	if (o->quiet) {
		rc = 0;
		goto out;
	}
	s.host_cap = o->once ? 0 : o->per_host_rate;
	add_up(&s, d->table);
	if (o->config)
		printf("%s: valid; a start would do this:\n", d->cfg->path);
	else
		printf("the command line: valid; a start would do this:\n");
	printf("location: %s\n", d->cfg->location);
	print_groups(&s, ms.demand_pps);
	if (o->once)
		print_once(d, &s);
	else
		print_load(d, &s, &ms);
	print_checks(d, &s);
	print_canaries(d);
	print_names(d->table);
	print_routes(d);
	print_output(d);
	print_privileges(o, user);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	monitor_free(m);
	free(s.rows);
	free(s.eps);
	daemon_close(d);
	return rc;
}
