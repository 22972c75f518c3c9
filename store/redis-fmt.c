/* Records as Redis commands, in the key layout of docs/redis.md (a public
 * interface: change both together; the keys' names come from
 * store/schema.h). Each record becomes one frame of the
 * backlog holding every command it needs, encoded as RESP, so that the
 * writer only copies bytes to the socket and a frame means the same in a
 * spill file read by the next run.
 *
 * This runs on the store thread for every result (200 000 a second is the
 * target), so it formats numbers by hand and appends into the stage with
 * no allocation and no printf.
 *
 * The state of each target (for P state:LOC:TARGET and the idx sets) is
 * followed here, from the events: a result is reported before the state
 * change it causes, so a state hash is written with the state known so
 * far and corrected by the event that follows. The hash is written whole
 * at a target's first result of a table generation and then only its
 * last_* fields: names and labels change only with a reload. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/check.h"
#include "common/clock.h"
#include "common/latency.h"
#include "scheduler/table.h"
#include "store/backlog.h"
#include "store/format.h"
#include "store/histo.h"
#include "store/redis-fmt.h"
#include "store/store.h"
#include "store/schema.h"

#define SEEN 1 /* first seen in this run: idx:all and idx:unknown written */
#define FULL 2 /* the state hash was written whole in this generation */
#define CHECKED 4 /* the state hash got a service check's fields in this run */
#define RESUMED 8 /* not seen yet, its state resumed from the previous run (rfmt_resume) */

struct rtarget {
	int64_t since_ns; /* when the current state began (realtime) */
	uint8_t state;    /* enum target_state, as written to Redis */
	uint8_t reason;   /* enum state_reason */
	uint8_t flags;
	uint8_t last_result;  /* its previous result's enum probe_state + 1 (0: none yet), for results: changes */
	uint8_t last_verdict; /* its previous service check's verdict and check_ok, likewise */
};

struct rgroup {
	char *labels; /* JSON object */
	size_t labels_len;
};

struct rfmt {
	struct rfmt_config c;
	char results_key[SCHEMA_KEY_MAX], events_key[SCHEMA_KEY_MAX];
	const struct table *t;
	struct rtarget *tg;
	size_t n_tg;
	struct rgroup *groups;
	size_t n_groups;
};

/* ---- RESP ---- */

/* Room left before a command for its "*ARGC\r\n", moved into place at the end. */
#define CMD_HDR_ROOM 16

struct resp {
	struct bl_stage *s;
	size_t cmd;
	unsigned argc;
	unsigned ncmds;
	bool nomem;
};

static char *u64_text(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static bool room(struct resp *w, size_t n)
{
	if (!w->nomem && bl_stage_reserve(w->s, n) < 0)
		w->nomem = true;
	return !w->nomem;
}

static void cmd_begin(struct resp *w)
{
	if (!room(w, CMD_HDR_ROOM + 256))
		return;
	w->cmd = w->s->len;
	w->s->len += CMD_HDR_ROOM;
	w->argc = 0;
}

static void cmd_end(struct resp *w)
{
	char num[24], *p;
	size_t n, body;

	if (w->nomem)
		return;
	p = u64_text(num + sizeof(num) - 2, w->argc);
	num[sizeof(num) - 2] = '\r';
	num[sizeof(num) - 1] = '\n';
	*--p = '*';
	n = (size_t)(num + sizeof(num) - p);
	body = w->s->len - w->cmd - CMD_HDR_ROOM;
	memcpy(w->s->buf + w->cmd, p, n);
	memmove(w->s->buf + w->cmd + n, w->s->buf + w->cmd + CMD_HDR_ROOM, body);
	w->s->len = w->cmd + n + body;
	w->ncmds++;
}

/* Starts an argument of len bytes and returns where its bytes go. */
static char *arg_open(struct resp *w, size_t len)
{
	char num[24], *p, *out;
	size_t n;

	if (!room(w, len + 32))
		return NULL;
	p = u64_text(num + sizeof(num), len);
	*--p = '$';
	n = (size_t)(num + sizeof(num) - p);
	out = w->s->buf + w->s->len;
	memcpy(out, p, n);
	memcpy(out + n, "\r\n", 2);
	memcpy(out + n + 2 + len, "\r\n", 2);
	w->s->len += n + 4 + len;
	w->argc++;
	return out + n + 2;
}

static void arg(struct resp *w, const char *s, size_t len)
{
	char *p = arg_open(w, len);

	if (p)
		memcpy(p, s, len);
}

static void arg_str(struct resp *w, const char *s)
{
	arg(w, s, strlen(s));
}

static void arg_u64(struct resp *w, uint64_t v)
{
	char num[24], *p = u64_text(num + sizeof(num), v);

	arg(w, p, (size_t)(num + sizeof(num) - p));
}

static void arg_i64(struct resp *w, int64_t v)
{
	char num[24], *p = u64_text(num + sizeof(num), v < 0 ? -(uint64_t)v : (uint64_t)v);

	if (v < 0)
		*--p = '-';
	arg(w, p, (size_t)(num + sizeof(num) - p));
}

/* Microseconds with three decimals (ns resolution), "" when ns < 0. */
static void arg_us(struct resp *w, int64_t ns)
{
	char num[32], *end = num + sizeof(num), *p;

	if (ns < 0) {
		arg(w, "", 0);
		return;
	}
	p = end - 3;
	p[0] = (char)('0' + ns / 100 % 10);
	p[1] = (char)('0' + ns / 10 % 10);
	p[2] = (char)('0' + ns % 10);
	*--p = '.';
	p = u64_text(p, (uint64_t)ns / 1000);
	arg(w, p, (size_t)(end - p));
}

/* "(V": an exclusive score bound */
static void arg_below(struct resp *w, int64_t v)
{
	char num[24], *p = u64_text(num + sizeof(num), v > 0 ? (uint64_t)v : 0);

	*--p = '(';
	arg(w, p, (size_t)(num + sizeof(num) - p));
}

/* ZADD KEY SCORE MEMBER, then ZREMRANGEBYSCORE KEY -inf (BELOW: a sorted
 * set that keeps a window of time. */
static void zadd_window(struct resp *w, const char *key, int64_t score, const char *member, size_t len,
			int64_t below)
{
	cmd_begin(w);
	arg_str(w, "ZADD");
	arg_str(w, key);
	arg_i64(w, score);
	arg(w, member, len);
	cmd_end(w);
	cmd_begin(w);
	arg_str(w, "ZREMRANGEBYSCORE");
	arg_str(w, key);
	arg_str(w, "-inf");
	arg_below(w, below);
	cmd_end(w);
}

/* ---- targets ---- */

int rfmt_new(struct rfmt **out, const struct rfmt_config *c)
{
	struct rfmt *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->c = *c;
	schema_key(f->results_key, sizeof(f->results_key), c->prefix, SCHEMA_RESULTS, NULL, NULL);
	schema_key(f->events_key, sizeof(f->events_key), c->prefix, SCHEMA_EVENTS, NULL, NULL);
	*out = f;
	return 0;
}

static void groups_release(struct rfmt *f)
{
	for (size_t i = 0; i < f->n_groups; i++)
		free(f->groups[i].labels);
	free(f->groups);
	f->groups = NULL;
	f->n_groups = 0;
}

void rfmt_free(struct rfmt *f)
{
	if (!f)
		return;
	groups_release(f);
	free(f->tg);
	free(f);
}

static int group_labels(struct rgroup *rg, const struct table_group *g)
{
	size_t len = 256;

	for (;;) {
		char *p = malloc(len);
		int n;
		if (!p)
			return -ENOMEM;
		n = store_labels_json(p, len, g);
		if (n >= 0) {
			rg->labels = p;
			rg->labels_len = (size_t)n;
			return 0;
		}
		free(p);
		if (len > (64u << 20))
			return -ENOSPC;
		len *= 4;
	}
}

int rfmt_set_table(struct rfmt *f, const struct table *t)
{
	if (t->tl.n > f->n_tg) {
		size_t n = t->tl.n + t->tl.n / 4 + 1024;
		struct rtarget *tg = realloc(f->tg, n * sizeof(*tg));
		if (!tg)
			return -ENOMEM;
		memset(tg + f->n_tg, 0, (n - f->n_tg) * sizeof(*tg));
		f->tg = tg;
		f->n_tg = n;
	}
	groups_release(f);
	if (t->n_groups) {
		if (!(f->groups = calloc(t->n_groups, sizeof(*f->groups))))
			return -ENOMEM;
		f->n_groups = t->n_groups;
		for (size_t i = 0; i < t->n_groups; i++)
			if (group_labels(&f->groups[i], &t->groups[i]) < 0)
				return -ENOMEM;
	}
	if (f->t && f->t != t)
		for (size_t i = 0; i < f->n_tg; i++)
			f->tg[i].flags &= (uint8_t)~FULL;
	f->t = t;
	return 0;
}

int rfmt_resume(struct rfmt *f, const struct table *t, const struct state_saved *saved)
{
	int r = rfmt_set_table(f, t);

	if (r < 0)
		return r;
	for (size_t id = 0; id < t->tl.n; id++)
		if (saved[id].state != TARGET_UNKNOWN && !t->dead[id])
			f->tg[id] = (struct rtarget){
				.since_ns = saved[id].since_ns, .state = saved[id].state, .reason = saved[id].reason,
				.flags = RESUMED,
			};
	return 0;
}

static const struct target *target_of(const struct rfmt *f, uint32_t id)
{
	return f->t && id < f->t->tl.n && id < f->n_tg ? &f->t->tl.v[id] : NULL;
}

static bool watched(const struct rfmt *f, uint32_t id)
{
	return f->c.monitoring && target_of(f, id) && !f->t->dead[id];
}

void rfmt_endpoint(const struct target *t, char *buf, char *ip, size_t iplen)
{
	char num[16], *p;

	addr_format(&t->addr, ip, iplen);
	p = u64_text(num + sizeof(num) - 1, t->port);
	num[sizeof(num) - 1] = '\0';
	if (t->addr.family == AF_INET6) {
		size_t n = strlen(ip);
		buf[0] = '[';
		memcpy(buf + 1, ip, n);
		buf[n + 1] = ']';
		buf[n + 2] = ':';
		memcpy(buf + n + 3, p, strlen(p) + 1);
	} else {
		size_t n = strlen(ip);
		memcpy(buf, ip, n);
		buf[n] = ':';
		memcpy(buf + n + 1, p, strlen(p) + 1);
	}
}

/* "198.18.0.7:443", "[2001:db8::1]:443", or "#ID" for an id no table knows */
static void target_text(const struct rfmt *f, uint32_t id, char *buf, char *ip, size_t iplen)
{
	const struct target *t = target_of(f, id);
	char num[16], *p;

	if (t) {
		rfmt_endpoint(t, buf, ip, iplen);
		return;
	}
	p = u64_text(num + sizeof(num), id);
	buf[0] = '#';
	memcpy(buf + 1, p, (size_t)(num + sizeof(num) - p));
	buf[1 + (num + sizeof(num) - p)] = '\0';
	ip[0] = '\0';
}

static void kv(struct resp *w, const char *key, const char *value)
{
	arg_str(w, key);
	arg_str(w, value);
}

static void kv_u64(struct resp *w, const char *key, uint64_t v)
{
	arg_str(w, key);
	arg_u64(w, v);
}

static void kv_i64(struct resp *w, const char *key, int64_t v)
{
	arg_str(w, key);
	arg_i64(w, v);
}

static void kv_us(struct resp *w, const char *key, int64_t ns)
{
	arg_str(w, key);
	arg_us(w, ns);
}

static void kv_addr(struct resp *w, const char *key, const struct sw_addr *a)
{
	char ip[ADDR_STRLEN];

	kv(w, key, addr_format(a, ip, sizeof(ip)));
}

/* "since" and the like: Unix ns, "" when 0 (unknown) */
static void kv_time(struct resp *w, const char *key, int64_t ns)
{
	if (ns)
		kv_i64(w, key, ns);
	else
		kv(w, key, "");
}

/* target, ip, port */
static void kv_endpoint(struct resp *w, const struct rfmt *f, uint32_t id, const char *target, const char *ip)
{
	const struct target *t = target_of(f, id);

	kv(w, "target", target);
	if (t) {
		kv(w, "ip", ip);
		kv_u64(w, "port", t->port);
	}
}

static const struct table_group *group_of(const struct rfmt *f, uint32_t id)
{
	return target_of(f, id) && f->t->group_of ? table_group_of(f->t, id) : NULL;
}

/* name, group, labels: those the target has, or all of them ("" and {}
 * for what it lacks) when always */
static void kv_names(struct resp *w, const struct rfmt *f, uint32_t id, bool always)
{
	const struct target *t = target_of(f, id);
	const struct table_group *g = group_of(f, id);
	const char *name = t ? target_name(&f->t->tl, t) : NULL;
	uint16_t gi = t && f->t->group_of ? f->t->group_of[id] : TABLE_NO_GROUP;

	if (name || always)
		kv(w, "name", name ? name : "");
	if ((g && g->name) || always)
		kv(w, "group", g && g->name ? g->name : "");
	if (g && gi < f->n_groups) {
		arg_str(w, "labels");
		arg(w, f->groups[gi].labels, f->groups[gi].labels_len);
	} else if (always) {
		kv(w, "labels", "{}");
	}
}

/* location, prober */
static void kv_who(struct resp *w, const struct rfmt *f)
{
	kv(w, "location", f->c.location);
	kv(w, "prober", f->c.prober);
}

/* XADD KEY MAXLEN ~ N * */
static void xadd_begin(struct resp *w, const char *stream, uint64_t maxlen)
{
	cmd_begin(w);
	arg_str(w, "XADD");
	arg_str(w, stream);
	arg_str(w, "MAXLEN");
	arg_str(w, "~");
	arg_u64(w, maxlen);
	arg_str(w, "*");
}

static void idx_key(struct resp *w, const struct rfmt *f, const char *set)
{
	char key[SCHEMA_KEY_MAX];

	arg_str(w, schema_key(key, sizeof(key), f->c.prefix, SCHEMA_IDX, f->c.location, set));
}

/* ZADD / ZREM P idx:LOC:SET target */
static void idx_cmd(struct resp *w, const struct rfmt *f, const char *cmd, const char *set, int64_t score_ns,
		    const char *target, bool nx)
{
	cmd_begin(w);
	arg_str(w, cmd);
	idx_key(w, f, set);
	if (nx)
		arg_str(w, "NX");
	if (score_ns >= 0)
		arg_i64(w, score_ns / NSEC_PER_SEC);
	arg_str(w, target);
	cmd_end(w);
}

static void state_key(struct resp *w, const struct rfmt *f, const char *target)
{
	char key[SCHEMA_KEY_MAX];

	arg_str(w, schema_key(key, sizeof(key), f->c.prefix, SCHEMA_STATE, f->c.location, target));
}

/* The first record of a target in this run: it joins idx:all (keeping
 * the score of an earlier run) and the set of the state the monitor starts
 * it in, unknown or the one it resumed, leaving whatever other set an
 * earlier run left it in. */
static void first_seen(struct resp *w, struct rfmt *f, uint32_t id, const char *target, int64_t ts)
{
	struct rtarget *rt = &f->tg[id];

	if (!(rt->flags & RESUMED))
		*rt = (struct rtarget){ .since_ns = ts, .state = TARGET_UNKNOWN, .reason = REASON_NONE,
					.last_result = rt->last_result, .last_verdict = rt->last_verdict };
	idx_cmd(w, f, "ZADD", SCHEMA_IDX_ALL, ts, target, true);
	for (int s = 0; s < TARGET_STATE_COUNT; s++)
		if (s != rt->state)
			idx_cmd(w, f, "ZREM", target_state_name((enum target_state)s), -1, target, false);
	idx_cmd(w, f, "ZADD", target_state_name((enum target_state)rt->state), rt->since_ns, target, false);
	rt->flags = SEEN;
}

static const char *reason_text(uint8_t reason)
{
	return reason == REASON_NONE ? "" : state_reason_name((enum state_reason)reason);
}

static int frame_end(struct resp *w, struct bl_stage *s, enum bl_kind kind)
{
	if (w->nomem) {
		bl_stage_cancel(s);
		return -ENOMEM;
	}
	bl_stage_end(s, w->ncmds, kind);
	return 0;
}

/* A port without a check (any more): its hash loses a check's fields, at
 * its first result of a run and after a configuration took its check
 * away, so that no reader shows a frozen verdict. */
static void check_fields_del(struct resp *w, const struct rfmt *f, const char *target)
{
	static const char *const fields[] = {
		"check_ts", "check", "check_ok", "check_verdict", "check_error", "check_us", "banner",
		"tls_version", "tls_cipher", "cert_subject", "cert_issuer", "cert_sans", "cert_not_after",
		"cert_days_left", "cert_verified", "cert_error",
	};

	cmd_begin(w);
	arg_str(w, "HDEL");
	state_key(w, f, target);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		arg_str(w, fields[i]);
	cmd_end(w);
}

/* Whether a result (now: its probe state, or a check's verdict and
 * check_ok) goes into the results stream, by its group's `results:`;
 * always outside monitoring. A watched target remembers it (+1, 0:
 * nothing yet) in last_verdict for a check, else in last_result. */
static bool to_stream(struct rfmt *f, uint32_t id, bool check, uint8_t now)
{
	if (!watched(f, id))
		return true;
	struct rtarget *rt = &f->tg[id];
	uint8_t *last = check ? &rt->last_verdict : &rt->last_result;
	const struct table_group *g = group_of(f, id);
	bool changed = *last != (uint8_t)(now + 1);

	*last = (uint8_t)(now + 1);
	if (!g || g->results == TABLE_RESULTS_ALL)
		return true;
	return g->results == TABLE_RESULTS_CHANGES && changed;
}

/* The result's entry in the results stream. */
static void xadd_result(struct resp *w, struct rfmt *f, const struct probe_result *r, const char *target,
			const char *ip, const char *state)
{
	xadd_begin(w, f->results_key, f->c.results_maxlen);
	kv_endpoint(w, f, r->target, target, ip);
	kv(w, "state", state);
	kv_us(w, "rtt_us", r->rtt_ns);
	kv_i64(w, "ts", r->ts_real_ns);
	kv_u64(w, "attempt", r->attempt);
	arg_str(w, "ttl");
	if (r->ttl)
		arg_u64(w, r->ttl);
	else
		arg(w, "", 0);
	if (r->state == PROBE_UNREACHABLE) {
		kv_u64(w, "icmp_type", r->icmp_type);
		kv_u64(w, "icmp_code", r->icmp_code);
		kv_addr(w, "icmp_from", &r->from);
	}
	if (r->state == PROBE_ERROR)
		kv(w, "error", strerror(r->err));
	if (r->rtt_approx)
		kv(w, "rtt_approx", "1");
	kv_names(w, f, r->target, false);
	kv_who(w, f);
	cmd_end(w);
}

int rfmt_result(struct rfmt *f, struct bl_stage *s, const struct probe_result *r)
{
	struct resp w = { .s = s };
	char target[ADDR_STRLEN + 16], ip[ADDR_STRLEN];
	const char *state = probe_state_name((enum probe_state)r->state);

	if (bl_stage_begin(s) < 0)
		return -ENOMEM;
	target_text(f, r->target, target, ip, sizeof(ip));
	if (to_stream(f, r->target, false, r->state))
		xadd_result(&w, f, r, target, ip, state);

	/* history only, unless it registers the target or writes its hash whole */
	enum bl_kind kind = BL_SAMPLE;
	if (watched(f, r->target)) {
		struct rtarget *rt = &f->tg[r->target];
		bool full = !(rt->flags & FULL), seen = rt->flags & SEEN;
		if (full || !seen)
			kind = BL_RESULT;
		if (!seen)
			first_seen(&w, f, r->target, target, r->ts_real_ns);
		cmd_begin(&w);
		arg_str(&w, "HSET");
		state_key(&w, f, target);
		if (full) {
			kv(&w, "state", target_state_name((enum target_state)rt->state));
			kv_time(&w, "since", rt->since_ns);
			kv(&w, "reason", reason_text(rt->reason));
		}
		kv(&w, "last_result", state);
		kv_us(&w, "last_rtt_us", r->rtt_ns);
		kv_i64(&w, "last_ts", r->ts_real_ns);
		kv_i64(&w, "streak", r->ok_streak ? (int64_t)r->ok_streak : -(int64_t)r->fail_streak);
		if (full) {
			kv_names(&w, f, r->target, true);
			kv(&w, "prober", f->c.prober);
		}
		cmd_end(&w);
		/* an earlier run's (at the first sight) or this run's check, gone */
		if ((!seen || (full && (rt->flags & CHECKED))) && !target_of(f, r->target)->check) {
			check_fields_del(&w, f, target);
			rt->flags &= (uint8_t)~CHECKED;
		}
		rt->flags |= FULL;
	}
	return frame_end(&w, s, kind);
}

/* The target's state hash and idx sets follow a state event. */
static void state_change(struct resp *w, struct rfmt *f, const struct sw_event *e, const char *target)
{
	struct rtarget *rt = &f->tg[e->target];

	if (!(rt->flags & SEEN))
		first_seen(w, f, e->target, target, e->ts_real_ns);
	cmd_begin(w);
	arg_str(w, "HSET");
	state_key(w, f, target);
	kv(w, "state", target_state_name((enum target_state)e->to));
	kv_i64(w, "since", e->ts_real_ns);
	kv(w, "reason", reason_text(e->reason));
	cmd_end(w);
	if (rt->state != e->to)
		idx_cmd(w, f, "ZREM", target_state_name((enum target_state)rt->state), -1, target, false);
	idx_cmd(w, f, "ZADD", target_state_name((enum target_state)e->to), e->ts_real_ns, target, false);
	rt->state = e->to;
	rt->since_ns = e->ts_real_ns;
	rt->reason = e->reason;
}

int rfmt_event(struct rfmt *f, struct bl_stage *s, const struct sw_event *e)
{
	return rfmt_event_with(f, s, e, NULL);
}

int rfmt_event_with(struct rfmt *f, struct bl_stage *s, const struct sw_event *e, const char *detail)
{
	struct resp w = { .s = s };
	char target[ADDR_STRLEN + 16], ip[ADDR_STRLEN], id[48];

	if (bl_stage_begin(s) < 0)
		return -ENOMEM;
	target_text(f, e->target, target, ip, sizeof(ip));
	xadd_begin(&w, f->events_key, f->c.events_maxlen);
	store_event_id(id, sizeof(id), f->c.run_id, e->id);
	kv(&w, "id", id);
	kv(&w, "kind", event_kind_name((enum event_kind)e->kind));
	kv_i64(&w, "ts", e->ts_real_ns);
	switch (e->kind) {
	case EVENT_STATE:
		kv_endpoint(&w, f, e->target, target, ip);
		kv_names(&w, f, e->target, false);
		kv(&w, "from", target_state_name((enum target_state)e->from));
		kv(&w, "to", target_state_name((enum target_state)e->to));
		kv(&w, "reason", state_reason_name((enum state_reason)e->reason));
		if (e->reason == REASON_UNREACHABLE)
			kv_u64(&w, "icmp_code", e->icmp_code);
		if (e->check)
			kv(&w, "check", check_kind_name(e->check));
		if (detail)
			kv(&w, "check_error", detail);
		kv_time(&w, "since", e->since_ns);
		/* for a slow transition rtt_ns is the recent p95 (docs/redis.md),
		 * and the thresholds it is over go with it */
		kv_us(&w, "rtt_us", e->rtt_ns);
		if (e->reason == REASON_SLOW || e->reason == REASON_SLOW_CRIT) {
			const struct table_group *g = group_of(f, e->target);
			if (g && g->state.warn_ns)
				kv_us(&w, "warn_us", g->state.warn_ns);
			if (g && g->state.crit_ns)
				kv_us(&w, "crit_us", g->state.crit_ns);
		}
		if (e->host_event) {
			store_event_id(id, sizeof(id), f->c.run_id, e->host_event);
			kv(&w, "host_event", id);
		}
		break;
	case EVENT_HOST_DOWN:
	case EVENT_HOST_UP:
		kv_addr(&w, "ip", &e->addr);
		kv_u64(&w, "ports", e->count);
		kv(&w, "ping", event_ping_name(e->to));
		if (e->kind == EVENT_HOST_UP)
			kv_time(&w, "since", e->since_ns);
		break;
	case EVENT_PROBER_ISOLATED:
	case EVENT_PROBER_OK: {
		char share[16], *p = share + sizeof(share) - 3;
		p[0] = (char)('0' + e->count / 100 % 10);
		p[1] = (char)('0' + e->count / 10 % 10);
		p[2] = (char)('0' + e->count % 10);
		*--p = '.';
		p = u64_text(p, e->count / 1000);
		arg_str(&w, "failing_share");
		arg(&w, p, (size_t)(share + sizeof(share) - p));
		if (e->kind == EVENT_PROBER_OK)
			kv_time(&w, "since", e->since_ns);
		break;
	}
	case EVENT_ADDRESS_CHANGED:
		kv_endpoint(&w, f, e->target, target, ip);
		kv_names(&w, f, e->target, false);
		kv_addr(&w, "old_ip", &e->addr);
		break;
	}
	kv_who(&w, f);
	cmd_end(&w);
	if (e->kind == EVENT_STATE && watched(f, e->target))
		state_change(&w, f, e, target);
	return frame_end(&w, s, BL_EVENT);
}

static const char *verdict_text(uint8_t v)
{
	switch (v) {
	case VERDICT_CHECK_FAILED: return "check_failed";
	case VERDICT_CERT_UNVERIFIED: return "cert_unverified";
	case VERDICT_CERT_EXPIRED: return "cert_expired";
	case VERDICT_CERT_EXPIRING: return "cert_expiring";
	}
	return "ok";
}

/* The check's own fields, as a result entry and the state hash have them. */
static void kv_check(struct resp *w, const struct check_result *r, uint8_t verdict, int32_t days_left, bool hash)
{
	kv(w, "check", check_kind_name(r->kind) ? check_kind_name(r->kind) : "none");
	kv(w, "check_ok", r->v.ok ? "1" : "0");
	kv(w, "check_verdict", verdict_text(verdict));
	/* the hash keeps the last error until it is cleared, the entry only has one */
	if (!r->v.ok || hash)
		kv(w, "check_error", r->v.ok ? "" : r->v.error);
	kv_us(w, "check_us", r->check_ns);
	kv(w, "banner", r->v.banner);
	if (r->tls.version[0] || hash) {
		kv(w, "tls_version", r->tls.version);
		kv(w, "tls_cipher", r->tls.cipher);
	}
	if (r->tls.not_after_s || hash) {
		kv(w, "cert_subject", r->tls.subject);
		kv(w, "cert_issuer", r->tls.issuer);
		kv(w, "cert_sans", r->tls.sans);
		arg_str(w, "cert_not_after");
		if (r->tls.not_after_s)
			arg_i64(w, r->tls.not_after_s);
		else
			arg(w, "", 0);
		arg_str(w, "cert_days_left");
		if (days_left != INT32_MIN)
			arg_i64(w, days_left);
		else
			arg(w, "", 0);
		kv(w, "cert_verified", r->tls.not_after_s ? (r->tls.verified && r->tls.name_ok ? "1" : "0") : "");
		kv(w, "cert_error", r->tls.not_after_s && !(r->tls.verified && r->tls.name_ok) ? r->tls.verify_error : "");
	}
}

int rfmt_check(struct rfmt *f, struct bl_stage *s, const struct check_result *r, uint8_t verdict, int32_t days_left)
{
	struct resp w = { .s = s };
	char target[ADDR_STRLEN + 16], ip[ADDR_STRLEN];

	if (bl_stage_begin(s) < 0)
		return -ENOMEM;
	target_text(f, r->target, target, ip, sizeof(ip));
	if (to_stream(f, r->target, true, (uint8_t)(verdict << 1 | r->v.ok))) {
		xadd_begin(&w, f->results_key, f->c.results_maxlen);
		kv_endpoint(&w, f, r->target, target, ip);
		kv(&w, "state", "check");
		kv_i64(&w, "ts", r->ts_real_ns);
		kv_check(&w, r, verdict, days_left, false);
		kv_names(&w, f, r->target, false);
		kv_who(&w, f);
		cmd_end(&w);
	}
	if (watched(f, r->target) && (f->tg[r->target].flags & SEEN)) {
		cmd_begin(&w);
		arg_str(&w, "HSET");
		state_key(&w, f, target);
		kv_i64(&w, "check_ts", r->ts_real_ns);
		kv_check(&w, r, verdict, days_left, true);
		cmd_end(&w);
		f->tg[r->target].flags |= CHECKED;
	}
	return frame_end(&w, s, BL_RESULT);
}

int rfmt_latency(struct rfmt *f, struct bl_stage *s, uint32_t target, const struct lat_minute *lm)
{
	struct resp w = { .s = s };
	char text[LAT_TEXT_MAX], tt[ADDR_STRLEN + 16], ip[ADDR_STRLEN], key[SCHEMA_KEY_MAX];
	int n;

	if (!f->c.monitoring || !target_of(f, target) || (n = lat_encode(text, sizeof(text), lm)) < 0)
		return 0;
	if (bl_stage_begin(s) < 0)
		return -ENOMEM;
	target_text(f, target, tt, ip, sizeof(ip));
	schema_key(key, sizeof(key), f->c.prefix, SCHEMA_LAT, f->c.location, tt);
	zadd_window(&w, key, lm->minute_start_s, text, (size_t)n, lm->minute_start_s - f->c.latency_retention_s);
	return frame_end(&w, s, BL_LATENCY);
}

int rfmt_removed(struct rfmt *f, struct bl_stage *s, uint32_t target)
{
	struct resp w = { .s = s };
	char tt[ADDR_STRLEN + 16], ip[ADDR_STRLEN];

	if (!f->c.monitoring || !target_of(f, target))
		return 0;
	if (bl_stage_begin(s) < 0)
		return -ENOMEM;
	target_text(f, target, tt, ip, sizeof(ip));
	cmd_begin(&w);
	arg_str(&w, "DEL");
	state_key(&w, f, tt);
	cmd_end(&w);
	idx_cmd(&w, f, "ZREM", SCHEMA_IDX_ALL, -1, tt, false);
	for (int st = 0; st < TARGET_STATE_COUNT; st++)
		idx_cmd(&w, f, "ZREM", target_state_name((enum target_state)st), -1, tt, false);
	f->tg[target] = (struct rtarget){ 0 };
	return frame_end(&w, s, BL_REMOVED);
}

/* HINCRBY P histo:LOC FIELD N for one field of a group's histogram:
 * "FIELD:GROUP", FIELD first so that a reader splits at the first ':'. */
static void histo_incr(struct resp *w, const char *key, const char *field, const char *group, uint64_t n)
{
	size_t fl = strlen(field), gl = strlen(group);
	char *p;

	cmd_begin(w);
	arg_str(w, "HINCRBY");
	arg_str(w, key);
	if ((p = arg_open(w, fl + 1 + gl))) {
		memcpy(p, field, fl);
		p[fl] = ':';
		memcpy(p + fl + 1, group, gl);
	}
	arg_u64(w, n);
	cmd_end(w);
}

int rfmt_histo(struct rfmt *f, struct bl_stage *s, const struct histo_delta *d)
{
	struct resp w = { .s = s };
	char key[SCHEMA_KEY_MAX], num[24], *p;

	if (!f->c.monitoring || d->count == 0)
		return 0;
	if (bl_stage_begin(s) < 0)
		return -ENOMEM;
	schema_key(key, sizeof(key), f->c.prefix, SCHEMA_HISTO, f->c.location, NULL);
	for (unsigned b = 0; b < HISTO_NBUCKETS; b++) {
		if (!d->bucket[b])
			continue;
		if (b == HISTO_NBOUNDS) {
			histo_incr(&w, key, "inf", d->group, d->bucket[b]);
			continue;
		}
		p = u64_text(num + sizeof(num) - 1, (uint64_t)histo_bound_ns(b) / 1000);
		num[sizeof(num) - 1] = '\0';
		histo_incr(&w, key, p, d->group, d->bucket[b]);
	}
	histo_incr(&w, key, "count", d->group, d->count);
	histo_incr(&w, key, "sum_us", d->group, d->sum_us);
	return frame_end(&w, s, BL_HISTO);
}

int rfmt_heartbeat(struct bl_stage *s, const struct rfmt_config *c, const struct rfmt_heartbeat *h)
{
	struct resp w = { .s = s };
	char counts_text[256], demand[32], key[SCHEMA_KEY_MAX];
	struct buf counts;

	if (bl_stage_begin(s) < 0)
		return -ENOMEM;
	buf_init_fixed(&counts, counts_text, sizeof(counts_text));
	buf_add(&counts, "{", 1);
	for (int i = 0; i < TARGET_STATE_COUNT; i++)
		buf_printf(&counts, "%s\"%s\":%u", i ? "," : "", target_state_name((enum target_state)i),
			   h->st->by_state[i]);
	buf_add(&counts, "}", 1);
	snprintf(demand, sizeof(demand), "%.0f", h->st->demand_pps);
	cmd_begin(&w);
	arg_str(&w, "HSET");
	arg_str(&w, schema_key(key, sizeof(key), c->prefix, SCHEMA_PROBER, c->prober, NULL));
	kv(&w, "location", c->location);
	kv(&w, "host", h->host);
	kv(&w, "version", h->version);
	kv_i64(&w, "started", h->started_s);
	kv_i64(&w, "heartbeat", h->now_ms);
	kv_u64(&w, "targets", h->st->targets);
	kv_u64(&w, "rate", h->rate);
	kv_u64(&w, "sent_per_s", h->st->sent_per_s);
	kv_u64(&w, "replies_per_s", h->st->replies_per_s);
	kv_u64(&w, "pcap_drops", h->st->pcap_drops);
	kv_u64(&w, "backlog", h->backlog);
	kv_u64(&w, "spilled", h->spilled);
	kv_u64(&w, "spill_bytes", h->spill_bytes);
	kv_u64(&w, "spill_max", h->spill_max);
	kv_u64(&w, "dropped", h->dropped);
	if (h->problem && *h->problem) {
		kv(&w, "problem", h->problem);
		kv_i64(&w, "problem_at", h->problem_ms);
	}
	kv(&w, "overloaded", h->st->overloaded ? "1" : "0");
	kv(&w, "demand_pps", demand);
	kv(&w, "isolated", h->st->isolated ? "1" : "0");
	arg_str(&w, "state_counts");
	arg(&w, counts.s, counts.len);
	kv(&w, "metrics_per_target", h->per_target ? h->per_target : "[]");
	cmd_end(&w);
	cmd_begin(&w);
	arg_str(&w, "PEXPIRE");
	arg_str(&w, key);
	arg_str(&w, "5000");
	cmd_end(&w);
	schema_key(key, sizeof(key), c->prefix, SCHEMA_PROBERS, NULL, NULL);
	zadd_window(&w, key, h->now_ms, c->prober, strlen(c->prober), h->now_ms - 3600 * 1000);
	if (c->shard) {
		/* only live members matter: the trim keeps the set small */
		schema_key(key, sizeof(key), c->prefix, SCHEMA_MEMBERS, c->location, NULL);
		zadd_window(&w, key, h->now_ms, c->prober, strlen(c->prober), h->now_ms - 60 * 1000);
	}
	return frame_end(&w, s, BL_EVENT);
}
