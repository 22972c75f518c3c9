#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "scheduler/state.h"

const char *target_state_name(enum target_state s)
{
	static const char *const names[TARGET_STATE_COUNT] = {
		[TARGET_UNKNOWN] = "unknown", [TARGET_UP] = "up",         [TARGET_DEGRADED] = "degraded",
		[TARGET_DOWN] = "down",       [TARGET_FLAPPING] = "flapping",
	};
	return (unsigned)s < TARGET_STATE_COUNT ? names[s] : "invalid";
}

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool state_saved_parse(const char *state, const char *since, const char *reason, const char *streak,
		       struct state_saved *out)
{
	int64_t since_ns, n = 0;
	int st = -1, why = REASON_NONE;

	for (int s = TARGET_UNKNOWN + 1; s < TARGET_STATE_COUNT; s++)
		if (strcmp(state, target_state_name((enum target_state)s)) == 0)
			st = s;
	if (st < 0 || !parse_i64(since, &since_ns) || since_ns <= 0)
		return false;
	for (int r = REASON_NONE + 1; r <= REASON_CERT_UNVERIFIED; r++)
		if (strcmp(reason, state_reason_name((enum state_reason)r)) == 0)
			why = r;
	if (!parse_i64(streak, &n))
		n = 0;
	*out = (struct state_saved){
		.since_ns = since_ns,
		.state = (uint8_t)st,
		.reason = (uint8_t)why,
		.ok_streak = (uint8_t)(n > 255 ? 255 : n > 0 ? n : 0),
		.fail_streak = (uint8_t)(n < -255 ? 255 : n < 0 ? -n : 0),
	};
	return true;
}

const char *state_reason_name(enum state_reason r)
{
	static const char *const names[] = {
		[REASON_NONE] = "none",       [REASON_OPEN] = "open",         [REASON_REFUSED] = "refused",
		[REASON_TIMEOUT] = "timeout", [REASON_UNREACHABLE] = "unreachable", [REASON_ERROR] = "error",
		[REASON_SLOW] = "slow",       [REASON_SLOW_CRIT] = "slow_critical", [REASON_FLAPPING] = "flapping",
		[REASON_SETTLED] = "settled", [REASON_CHECK_FAILED] = "check_failed",
		[REASON_CERT_EXPIRING] = "cert_expiring", [REASON_CERT_EXPIRED] = "cert_expired",
		[REASON_CERT_UNVERIFIED] = "cert_unverified",
	};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "invalid";
}

void state_init(struct target_status *st)
{
	memset(st, 0, sizeof(*st));
	st->last_ok = 2;
	st->state = st->held = TARGET_UNKNOWN;
}

void state_resume(struct target_status *st, const struct state_params *p, const struct state_saved *s)
{
	state_init(st);
	if (s->state == TARGET_UNKNOWN || s->state >= TARGET_STATE_COUNT)
		return;
	st->state = s->state;
	st->held = s->state;
	st->reason = s->reason;
	st->since_ns = s->since_ns;
	st->ok_streak = s->ok_streak;
	st->fail_streak = s->ok_streak ? 0 : s->fail_streak;
	st->last_ok = st->ok_streak ? 1 : st->fail_streak ? 0 : 2;
	if (s->state == TARGET_DEGRADED && (s->reason == REASON_SLOW || s->reason == REASON_SLOW_CRIT)) {
		st->slow_bits = UINT32_MAX;
		st->crit_bits = s->reason == REASON_SLOW_CRIT ? UINT32_MAX : 0;
	}
	/* where a flapping target settles is what its latest results say */
	if (s->state == TARGET_FLAPPING)
		st->held = st->ok_streak ? TARGET_UP : st->fail_streak ? TARGET_DOWN : TARGET_UNKNOWN;
	if (s->state == TARGET_FLAPPING && p->flap_changes) {
		unsigned keep = p->flap_changes < STATE_MAX_FLAP_CHANGES ? p->flap_changes : STATE_MAX_FLAP_CHANGES;
		st->flap_count = (uint8_t)(keep + 1);
		st->flap_last = (uint32_t)(s->since_ns / NSEC_PER_SEC);
	}
}

static enum state_reason failure_reason(uint8_t probe_state, uint8_t verdict)
{
	switch (verdict) {
	case VERDICT_CHECK_FAILED: return REASON_CHECK_FAILED;
	case VERDICT_CERT_UNVERIFIED: return REASON_CERT_UNVERIFIED;
	case VERDICT_CERT_EXPIRED: return REASON_CERT_EXPIRED;
	}
	switch (probe_state) {
	case PROBE_CLOSED: return REASON_REFUSED;
	case PROBE_FILTERED: return REASON_TIMEOUT;
	case PROBE_UNREACHABLE: return REASON_UNREACHABLE;
	default: return REASON_ERROR;
	}
}

static uint32_t flap_age(const struct target_status *st, unsigned i)
{
	return st->flap_age[i] | (uint32_t)(st->flap_age_hi >> i & 1) << 16;
}

static void flap_set_age(struct target_status *st, unsigned i, uint32_t age)
{
	st->flap_age[i] = (uint16_t)age;
	st->flap_age_hi = (uint16_t)((st->flap_age_hi & ~(1u << i)) | (age >> 16 & 1) << i);
}

unsigned state_flap_record(struct target_status *st, const struct state_params *p, uint32_t now_s, bool changed)
{
	unsigned keep = p->flap_changes < STATE_MAX_FLAP_CHANGES ? p->flap_changes : STATE_MAX_FLAP_CHANGES;
	uint32_t window = p->flap_window_s < STATE_MAX_FLAP_WINDOW_S ? p->flap_window_s : STATE_MAX_FLAP_WINDOW_S;

	if (changed && st->flap_count) {
		/* the latest change becomes the youngest earlier one; every age
		 * grows by the gap; those a window old or more can never count
		 * again (now_s only moves on) and go, as do those beyond keep */
		uint32_t gap = now_s > st->flap_last ? now_s - st->flap_last : 0;
		unsigned n = st->flap_count < keep ? st->flap_count : keep; /* candidates: gap, then the old ages + gap */
		unsigned kept = 0;                                          /* ... that stay (ages ascend) */
		while (kept < n && (kept ? (uint64_t)flap_age(st, kept - 1) : 0) + gap < window)
			kept++;
		for (unsigned i = kept; i-- > 1;)
			flap_set_age(st, i, flap_age(st, i - 1) + gap);
		if (kept)
			flap_set_age(st, 0, gap);
		st->flap_count = (uint8_t)(kept + 1);
		st->flap_last = now_s;
	} else if (changed) {
		st->flap_count = 1;
		st->flap_last = now_s;
	}
	unsigned n = 0;
	for (unsigned i = 0; i < st->flap_count; i++) {
		uint32_t t = i ? st->flap_last - flap_age(st, i - 1) : st->flap_last;
		if (now_s - t < window)
			n++;
	}
	return n;
}

static unsigned popcount_window(uint32_t bits, uint8_t window)
{
	uint32_t mask = window >= 32 ? UINT32_MAX : ((1u << window) - 1);
	return (unsigned)__builtin_popcount(bits & mask);
}

bool state_update(struct target_status *st, const struct state_params *p, const struct probe_result *r,
		  uint8_t *from)
{
	bool ok = r->state == PROBE_OPEN && !probe_verdict_fails(r->verdict);
	uint8_t want; /* the state the evidence points to, before flap damping */
	uint8_t reason;
	uint32_t now_s = (uint32_t)(r->ts_real_ns / NSEC_PER_SEC);

	bool changed = st->last_ok != 2 && st->last_ok != (uint8_t)ok;
	st->last_ok = ok;
	unsigned flaps = p->flap_changes ? state_flap_record(st, p, now_s, changed) : 0;

	if (ok) {
		st->fail_streak = 0;
		if (st->ok_streak < UINT8_MAX)
			st->ok_streak++;
		/* the latency window is the SYNs' (a service check's result has
		 * no RTT: it does not push one out) */
		if (r->rtt_ns >= 0) {
			st->slow_bits <<= 1;
			st->crit_bits <<= 1;
			if (p->warn_ns && r->rtt_ns > p->warn_ns)
				st->slow_bits |= 1;
			if (p->crit_ns && r->rtt_ns > p->crit_ns)
				st->crit_bits |= 1;
		}
	} else {
		st->ok_streak = 0;
		if (st->fail_streak < UINT8_MAX)
			st->fail_streak++;
	}

	/* the confirmed state the evidence supports, or the current one */
	uint8_t base = st->state == TARGET_FLAPPING ? st->held : st->state;
	want = base;
	reason = st->reason;
	if (ok) {
		bool slow = p->warn_ns && p->window && popcount_window(st->slow_bits, p->window) >= p->over;
		bool crit = slow && p->crit_ns && popcount_window(st->crit_bits, p->window) >= p->over;
		/* a certificate running out degrades like slowness, and says so first */
		bool cert = r->verdict == VERDICT_CERT_EXPIRING;
		bool degraded = slow || cert;
		uint8_t up_state = degraded ? TARGET_DEGRADED : TARGET_UP;
		uint8_t why = cert ? REASON_CERT_EXPIRING : slow ? (crit ? REASON_SLOW_CRIT : REASON_SLOW) : REASON_OPEN;
		if (base == TARGET_UP || base == TARGET_DEGRADED) {
			/* already up: latency and certificates alone move it between up and degraded */
			if (up_state != base || (degraded && why != st->reason)) {
				want = up_state;
				reason = why;
			}
		} else if (base == TARGET_UNKNOWN || st->ok_streak >= p->successes) {
			want = up_state;
			reason = why;
		}
	} else if (base != TARGET_DOWN && (base == TARGET_UNKNOWN || st->fail_streak >= p->failures)) {
		/* unknown goes down at the first failure only if failures == 1;
		 * otherwise it too needs the confirming streak */
		if (st->fail_streak >= p->failures) {
			want = TARGET_DOWN;
			reason = failure_reason(r->state, r->verdict);
			st->slow_bits = st->crit_bits = 0;
		}
	}

	uint8_t prev = st->state;
	uint8_t next;
	if (p->flap_changes && flaps > p->flap_changes) {
		next = TARGET_FLAPPING;
		st->held = want;
		if (prev != TARGET_FLAPPING)
			reason = REASON_FLAPPING;
		else
			reason = st->reason;
	} else if (prev == TARGET_FLAPPING) {
		next = want;
		reason = REASON_SETTLED;
		st->held = want;
	} else {
		next = want;
		st->held = want;
	}
	if (next == prev && !(next == TARGET_DEGRADED && reason != st->reason))
		return false;
	*from = prev;
	st->state = next;
	st->reason = reason;
	st->since_ns = r->ts_real_ns;
	return true;
}

const char *event_ping_name(uint8_t to)
{
	/* a degraded ping still answers */
	return to == TARGET_UP || to == TARGET_DEGRADED ? "up" : to == TARGET_DOWN ? "down" : "none";
}
