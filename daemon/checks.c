/* The service checks' wiring (daemon/checks.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/ring.h"
#include "daemon/checks.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/options.h"
#include "engine/checker.h"
#include "scheduler/monitor.h"

#define CHECK_RING 4096
#define MIN_TIMEOUT_NS (2 * NSEC_PER_SEC)

static bool table_has_checks(const struct table *t)
{
	for (size_t i = 0; i < t->n_groups; i++)
		if (t->groups[i].check)
			return true;
	for (size_t id = 0; id < t->tl.n; id++)
		if (t->tl.v[id].check)
			return true;
	return false;
}

uint32_t checks_rate(const struct config *c)
{
	/* new connections count against the rate cap too: a tenth of it */
	return c->rate / 10 > 10 ? (uint32_t)(c->rate / 10) : 10;
}

int checks_open(struct daemon *d)
{
	char err[256];
	int r;

	/* monitoring: a reload may bring checks; --once: only if asked now */
	if (d->o->dry_run || (d->o->once && !table_has_checks(d->table)))
		return 0;
	struct checker_config cc = {
		.port_lo = d->cfg->check_port_lo,
		.port_hi = d->cfg->check_port_hi,
		.rate_per_s = checks_rate(d->cfg),
	};
	if ((r = ring_new(&d->check_reqs, sizeof(struct check_req), CHECK_RING)) < 0 ||
	    (r = ring_new(&d->check_results, sizeof(struct check_result), CHECK_RING)) < 0) {
		log_error("cannot set up the service checks: %s", strerror(-r));
		return r;
	}
	if ((r = checker_new(&d->checker, &cc, err, sizeof(err))) < 0) {
		log_error("cannot set up the service checks: %s", err);
		return r;
	}
	return 0;
}

int checks_start(struct daemon *d)
{
	int r;

	if (!d->checker)
		return 0;
	if ((r = checker_start(d->checker, d->check_reqs, d->check_results)) < 0)
		log_error("cannot start the service checks: %s", strerror(-r));
	return r;
}

/* A result for a check that could not even be asked. */
static void refuse(struct daemon *d, uint32_t id, const struct check_spec *spec, const char *why)
{
	struct check_result res = {
		.target = id, .ts_real_ns = clock_real_ns(), .connect_ns = -1, .tls_ns = -1,
		.kind = spec ? spec->kind : 0,
	};
	check_fail(&res.v, "%s", why);
	if (d->mon)
		monitor_on_check(d->mon, &res);
}

static int64_t timeout_of(const struct daemon *d, uint32_t id, const struct check_spec *spec)
{
	if (spec->timeout_ns)
		return spec->timeout_ns;
	const struct table_group *g = table_group_of(d->table, id);
	int64_t t = g ? g->timeout_ns * (g->retries + 1) : 0;
	return t > MIN_TIMEOUT_NS ? t : MIN_TIMEOUT_NS;
}

void checks_request(void *ctx, uint32_t id, struct check_spec *spec)
{
	struct daemon *d = ctx;
	const struct table *t = d->table;

	if (!d->checker || d->checks_closed) {
		if (!d->checks_closed)
			refuse(d, id, spec, "service checks are off in this run");
		check_spec_unref(spec);
		return;
	}
	const struct target *tg = &t->tl.v[id];
	const struct sched_source *src = id < t->tl.n ? &d->rt.sources[d->rt.src_of[id]] : NULL;
	if (!src || src->err) {
		refuse(d, id, spec, src ? strerror(src->err) : "no such target");
		check_spec_unref(spec);
		return;
	}
	struct check_req req = {
		.spec = spec,
		.dst = tg->addr,
		.src = src->addr,
		.target = id,
		.seq = (uint32_t)d->checks_asked,
		.port = tg->port,
		.timeout_ns = timeout_of(d, id, spec),
	};
	const char *name = target_name(&t->tl, tg);
	if (name)
		snprintf(req.name, sizeof(req.name), "%s", name);
	if (ring_push(d->check_reqs, &req, 1) != 1) {
		/* the checker is this far behind: not a verdict on the target
		 * (nothing was measured), and no waiting here; status says so */
		if (d->mon)
			monitor_check_skipped(d->mon, id);
		check_spec_unref(spec);
		return;
	}
	d->checks_asked++;
	d->checks_in_flight++;
}

void checks_after_syn(struct daemon *d, uint32_t id)
{
	struct check_spec *spec = table_check(d->table, id);

	if (spec)
		checks_request(d, id, check_spec_ref(spec));
}

size_t checks_poll(struct daemon *d)
{
	struct check_result buf[16];
	size_t n, total = 0;

	if (!d->checker)
		return 0;
	while ((n = ring_pop(d->check_results, buf, 16)) > 0) {
		for (size_t i = 0; i < n; i++) {
			d->checks_in_flight--;
			if (d->mon) {
				monitor_on_check(d->mon, &buf[i]);
			} else {
				/* --once: the verdict as the monitor would take it, to the store */
				const struct check_spec *spec = table_check(d->table, buf[i].target);
				uint8_t verdict;
				int32_t days;
				check_judge(&buf[i], spec, &verdict, &days);
				daemon_push_check(d, &buf[i], verdict, days);
			}
		}
		total += n;
	}
	return total;
}

bool checks_idle(const struct daemon *d)
{
	return !d->checker || d->checks_in_flight == 0;
}

void checks_stop(struct daemon *d)
{
	checker_stop(d->checker);
}

void checks_close(struct daemon *d)
{
	struct check_req r;

	checker_free(d->checker);
	d->checker = NULL;
	/* requests nobody took: drop their references */
	while (d->check_reqs && ring_pop(d->check_reqs, &r, 1) == 1)
		check_spec_unref(r.spec);
	ring_free(d->check_reqs);
	ring_free(d->check_results);
	d->check_reqs = d->check_results = NULL;
}
