/* What the running prober tells (daemon/status.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "common/log.h"
#include "common/ring.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/options.h"
#include "daemon/status.h"
#include "engine/sender.h"
#include "scheduler/monitor.h"
#include "scheduler/sched.h"

void status_begin(struct daemon *d, uint64_t now)
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

/* What waits for Redis, when it is away or behind: " | redis away: 812
 * waiting, 3.1 MB spilled, 40 dropped". */
static void redis_part(const struct daemon *d, char *buf, size_t len)
{
	struct store_redis_stats rs;

	buf[0] = 0;
	if (!store_redis_stats(d->st, &rs) || (rs.connected && !rs.spilled && !rs.dropped))
		return;
	int n = snprintf(buf, len, " | redis %s: %llu waiting", rs.connected ? "behind" : "away",
			 (unsigned long long)rs.backlog);
	if (rs.spilled && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %.1f MB spilled", (double)rs.spill_bytes / 1e6);
	if (rs.dropped && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", %llu DROPPED", (unsigned long long)rs.dropped);
}

static void status_line(const struct daemon *d, const struct monitor_stats *ms, double rate)
{
	char redis[128];

	redis_part(d, redis, sizeof(redis));
	fprintf(stderr,
		"\r\033[K%u targets: up %u, degraded %u, down %u, flapping %u, unknown %u | %.0f probes/s | %llu "
		"events%s%s%s",
		ms->targets, ms->by_state[TARGET_UP], ms->by_state[TARGET_DEGRADED], ms->by_state[TARGET_DOWN],
		ms->by_state[TARGET_FLAPPING], ms->by_state[TARGET_UNKNOWN], rate, (unsigned long long)ms->events,
		ms->overloaded ? " | OVERLOADED" : "", ms->isolated ? " | ISOLATED" : "", redis);
	fflush(stderr);
}

void status_heartbeat(struct daemon *d)
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

void status_health(struct daemon *d)
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
	/* service checks the checker could not take: logged when it starts
	 * and when it ends, not per check */
	bool behind = ms.checks_skipped != s->checks_skipped;
	if (behind != s->checks_behind) {
		s->checks_behind = behind;
		if (behind)
			log_warn("service checks: the checker is behind (%llu checks waiting): checks due now are "
				 "skipped, their targets keep their last verdict (more CPU, a lower rate, or longer "
				 "check intervals)",
				 (unsigned long long)(d->check_reqs ? ring_count(d->check_reqs) : 0));
		else
			log_info("service checks: the checker caught up (%llu skipped in all)",
				 (unsigned long long)ms.checks_skipped);
	}
	s->checks_skipped = ms.checks_skipped;
	if (ms.isolated != s->isolated) {
		s->isolated = ms.isolated;
		if (ms.isolated)
			log_warn("this prober looks cut off (most checks of up targets fail): holding down "
				 "transitions until it recovers");
		else
			log_info("this prober's network is back: state changes apply again");
	}
}

void status_update(struct daemon *d, uint64_t now)
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
			status_line(d, &ms, rate);
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

void status_summary(struct daemon *d, uint64_t elapsed_ns, bool interrupted)
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
				"file, %llu lost, %llu dropped at the spill limit\n",
			(unsigned long long)rs.written, (unsigned long long)rs.skipped, (unsigned long long)rs.left,
			(unsigned long long)rs.lost, (unsigned long long)rs.dropped);
}
