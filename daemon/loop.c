/* The main thread's run loop (daemon/loop.h). */
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "capture/capture.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/ring.h"
#include "daemon/checks.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/options.h"
#include "daemon/reload.h"
#include "daemon/status.h"
#include "engine/linkpath.h"
#include "scheduler/monitor.h"
#include "scheduler/sched.h"

#define DUE_BATCH 4096
#define STATUS_NS (250 * NSEC_PER_MSEC)

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

void loop_catch_signals(void)
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

bool loop_run(struct daemon *d, uint64_t *elapsed_ns)
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
			d->checks_closed = true; /* as the SYNs: nothing new, what runs finishes */
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
		work += checks_poll(d);
		sched_expire(d->sc, now, now_real);
		if (d->mon && !interrupted)
			work += start_due(d, now, now_real);
		work += sched_release(d->sc, d->reqs, now, now_real);
		if (sched_done(d->sc) && checks_idle(d))
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
