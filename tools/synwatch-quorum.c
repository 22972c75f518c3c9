/* synwatch-quorum: one global state per target from what every location
 * sees (docs/quorum.md).
 *
 *   synwatch-quorum [--redis URL] [--prefix P] [--quorum majority|all|K]
 *                   [--name global] [--events-maxlen N] [-v|-q]
 *
 * Reads P events with its own consumer group ("quorum"); for each target a
 * state event names, it reads the target's state from every live location
 * (P state:LOC:TARGET; a location is live while one of its probers has a
 * heartbeat in P probers) and applies the rule of tools/lib/quorum.h. It
 * writes the result as one more location, NAME (default "global"), in the
 * probers' own layout: P state:global:TARGET, P idx:global:STATE, and
 * state events with location "global" in P events; so synwatch-top, the
 * exporter and the web page show it beside the real locations, and
 * synwatch-alert with `quorum: true` alerts on it alone. A target that one
 * or more locations see down while the global state is not down is a
 * location issue: a `location_issue` event naming them, `location_ok` when
 * it is over. Host events are counted the same way (P quorum:host:IP).
 *
 * Everything is recomputed from the states in Redis, so a crash, a
 * duplicate or an event read twice changes nothing; a sweep every 2 s
 * re-reads the targets in trouble (a location that died, an event
 * missed). Several may run: a lease (P quorum:lease) lets one work, the
 * others wait. Exit status: 0 on SIGTERM/SIGINT, 1 when Redis cannot be
 * reached at start, 2 for bad usage. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis.h>
#include <sodium.h>

#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "tools/lib/fleetview.h"
#include "store/schema.h"
#include "tools/lib/quorum.h"
#include "tools/lib/stopsig.h"
#include "tools/lib/stream.h"
#include "store/redis-conn.h"

#define CONNECT_TIMEOUT_MS 5000
#define GROUP "quorum"
#define READ_COUNT 200
#define READ_BLOCK_MS 500
#define LEASE_MS 5000
#define LIVE_MS 5000           /* a location votes while a prober of it beat this recently */
#define HEARTBEAT_NS NSEC_PER_SEC
#define SWEEP_NS (2 * NSEC_PER_SEC)
#define CHUNK 256              /* targets evaluated per round trip */
#define MAX_LOCS 64
#define OLD_CONSUMER_MS (10 * 60 * 1000) /* an idle consumer of the group this long is an earlier run */
#define FIELD_MAX 1024         /* longest value kept from a state hash */

struct quorum {
	const char *url;
	char url_text[600];
	char prefix[128];
	char name[SCHEMA_LOCATION_MAX + 1]; /* the global location */
	char id[600];                   /* NAME/HOST: our member of P probers, our consumer */
	char host[256];
	char maxlen[24];
	char runid[17];
	uint64_t seq;
	int spec;
	redisContext *c;
	struct stream_group sg;         /* P events, GROUP, id */
	bool leader;
	bool told_standby;
	char *locs[MAX_LOCS];           /* live locations, sorted */
	size_t nlocs;
	bool catch_up;                  /* read every target of every location */
	int64_t started_s, beat_at, sweep_at;
	uint64_t events_read, transitions, issues;
};

/* One location's view of a target. */
struct vote {
	enum fv_state st;
	bool present;
	int64_t since;
	char reason[32], rtt[32], name[256], group[128], labels[FIELD_MAX];
};

static void usage(FILE *f)
{
	fprintf(f, "usage: synwatch-quorum [--redis URL] [--prefix P] [--quorum majority|all|K] [--name NAME]\n"
		   "                       [--events-maxlen N] [-v|-q]\n"
		   "  --redis URL         default $SYNWATCH_REDIS, else redis://127.0.0.1:6379\n"
		   "  --prefix P          key prefix (default synwatch:)\n"
		   "  --quorum Q          locations that must see a target down: majority (default), all, or K\n"
		   "  --name NAME         the global location's name (default global)\n"
		   "  --events-maxlen N   MAXLEN ~ of P events (default 100000, as the probers)\n"
		   "  -v, --verbose       debug logging\n"
		   "  -q, --quiet         warnings and errors only\n"
		   "  -h, --help          this help\n");
}

/* ---- Redis ---- */

/* Key k of the layout under our prefix into buf (SCHEMA_KEY_MAX bytes). */
static const char *key(const struct quorum *q, char *buf, enum schema_key k, const char *a, const char *b)
{
	return schema_key(buf, SCHEMA_KEY_MAX, q->prefix, k, a, b);
}

/* A command; NULL (logged) for an error reply or a lost connection. */
static redisReply *cmd(struct quorum *q, int argc, const char **argv)
{
	return redis_command(q->c, argc, argv);
}

static bool lost(const struct quorum *q)
{
	return q->c == NULL || q->c->err != 0;
}

/* Argument lists built up command by command. */
struct args {
	const char *v[96];
	int n;
};

static void add(struct args *a, const char *k, const char *v)
{
	if (a->n + 2 <= (int)(sizeof(a->v) / sizeof(a->v[0]))) {
		a->v[a->n++] = k;
		a->v[a->n++] = v;
	}
}

/* add, unless v is empty */
static void add_set(struct args *a, const char *k, const char *v)
{
	if (v && *v)
		add(a, k, v);
}

static int append(struct quorum *q, struct args *a, unsigned *queued)
{
	if (redisAppendCommandArgv(q->c, a->n, a->v, NULL) != REDIS_OK)
		return -EIO;
	(*queued)++;
	return 0;
}

static int append_v(struct quorum *q, unsigned *queued, int argc, const char **argv)
{
	if (redisAppendCommandArgv(q->c, argc, argv, NULL) != REDIS_OK)
		return -EIO;
	(*queued)++;
	return 0;
}

/* Reads the replies of queued commands; a failed EXEC is logged. */
static int drain(struct quorum *q, unsigned queued)
{
	int r = 0;

	while (queued--) {
		redisReply *rep = NULL;
		if (redisGetReply(q->c, (void **)&rep) != REDIS_OK)
			return -EIO;
		if (rep->type == REDIS_REPLY_ERROR) {
			log_warn("redis: %s", rep->str);
			r = -EIO;
		}
		freeReplyObject(rep);
	}
	return r;
}

static const char *str_of(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STRING ? r->str : "";
}

static void copy(char *dst, size_t len, const redisReply *r)
{
	snprintf(dst, len, "%s", str_of(r));
}

static void new_id(struct quorum *q, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%llu", q->runid, (unsigned long long)++q->seq);
}

/* The head of every event written here: XADD P events MAXLEN ~ N *, a
 * new id (into id), its kind and its time. a is emptied first. */
static void event_start(struct quorum *q, struct args *a, char *id, size_t idlen, const char *kind, const char *ts)
{
	new_id(q, id, idlen);
	a->n = 0;
	a->v[a->n++] = "XADD";
	a->v[a->n++] = q->sg.stream;
	a->v[a->n++] = "MAXLEN";
	a->v[a->n++] = "~";
	a->v[a->n++] = q->maxlen;
	a->v[a->n++] = "*";
	add(a, "id", id);
	add(a, "kind", kind);
	add(a, "ts", ts);
}

/* Its tail (who wrote it), then into the pipeline. */
static int event_queue(struct quorum *q, struct args *a, unsigned *queued)
{
	add(a, "location", q->name);
	add(a, "prober", q->id);
	return append(q, a, queued);
}

/* ---- who votes ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_locs(struct quorum *q)
{
	for (size_t i = 0; i < q->nlocs; i++)
		free(q->locs[i]);
	q->nlocs = 0;
}

/* The locations with a prober alive, without ours. Sets catch_up when one
 * appeared. */
static int read_locations(struct quorum *q)
{
	char k[SCHEMA_KEY_MAX], lo[32];
	const char *argv[] = { "ZRANGEBYSCORE", key(q, k, SCHEMA_PROBERS, NULL, NULL), lo, "+inf" };
	char *fresh[MAX_LOCS];
	size_t n = 0;
	redisReply *rep;

	snprintf(lo, sizeof(lo), "%lld", (long long)(clock_real_ns() / NSEC_PER_MSEC - LIVE_MS));
	if (!(rep = cmd(q, 4, argv)))
		return -EIO;
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
		const char *m = str_of(rep->element[i]), *slash = strchr(m, '/');
		size_t len = slash ? (size_t)(slash - m) : strlen(m);
		bool dup = false;
		if (!schema_location_ok(m, len) || (len == strlen(q->name) && !strncmp(m, q->name, len)))
			continue;
		for (size_t j = 0; j < n && !dup; j++)
			dup = strlen(fresh[j]) == len && !strncmp(fresh[j], m, len);
		if (dup || n == MAX_LOCS)
			continue;
		if (!(fresh[n] = strndup(m, len)))
			break;
		n++;
	}
	freeReplyObject(rep);
	qsort(fresh, n, sizeof(*fresh), cmp_str);
	bool same = n == q->nlocs;
	for (size_t i = 0; same && i < n; i++)
		same = !strcmp(fresh[i], q->locs[i]);
	if (!same) {
		char list[1024] = "";
		for (size_t i = 0; i < n; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", fresh[i]);
		log_info("locations voting: %s", n ? list : "none");
		for (size_t i = 0; i < n; i++) {
			bool known = false;
			for (size_t j = 0; j < q->nlocs && !known; j++)
				known = !strcmp(fresh[i], q->locs[j]);
			q->catch_up |= !known;
		}
	}
	free_locs(q);
	memcpy(q->locs, fresh, n * sizeof(*fresh));
	q->nlocs = n;
	return 0;
}

/* ---- targets ---- */

static const char *const state_fields[] = { "state", "since", "reason", "last_rtt_us", "name", "group", "labels" };
#define N_STATE_FIELDS (sizeof(state_fields) / sizeof(state_fields[0]))
static const char *const global_fields[] = { "state", "since", "locations_down", "issue_since", "locations", "quorum" };
#define N_GLOBAL_FIELDS (sizeof(global_fields) / sizeof(global_fields[0]))

static int append_hmget(struct quorum *q, unsigned *queued, const char *loc, const char *target,
			const char *const *fields, size_t n)
{
	char k[SCHEMA_KEY_MAX];
	const char *argv[2 + N_STATE_FIELDS];

	argv[0] = "HMGET";
	argv[1] = key(q, k, SCHEMA_STATE, loc, target);
	for (size_t i = 0; i < n; i++)
		argv[2 + i] = fields[i];
	return append_v(q, queued, (int)(2 + n), argv);
}

static void vote_of(struct vote *v, const redisReply *rep)
{
	int s;

	memset(v, 0, sizeof(*v));
	if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != N_STATE_FIELDS ||
	    rep->element[0]->type != REDIS_REPLY_STRING)
		return;
	v->present = true;
	s = fv_state_parse(rep->element[0]->str);
	v->st = s < 0 || s == FV_ALL ? FV_UNKNOWN : (enum fv_state)s;
	v->since = strtoll(str_of(rep->element[1]), NULL, 10);
	copy(v->reason, sizeof(v->reason), rep->element[2]);
	copy(v->rtt, sizeof(v->rtt), rep->element[3]);
	copy(v->name, sizeof(v->name), rep->element[4]);
	copy(v->group, sizeof(v->group), rep->element[5]);
	copy(v->labels, sizeof(v->labels), rep->element[6]);
}

/* "a,b" of the locations whose vote is st (any known state: st < 0). */
static void list_of(const struct quorum *q, const struct vote *votes, int st, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < q->nlocs; i++) {
		bool in = st < 0 ? votes[i].st != FV_UNKNOWN : votes[i].st == (enum fv_state)st;
		if (in && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", q->locs[i]);
	}
}

static void split_target(const char *target, char *ip, size_t iplen, char *port, size_t portlen)
{
	const char *colon = strrchr(target, ':');
	size_t n = colon ? (size_t)(colon - target) : strlen(target);
	const char *s = target;

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	snprintf(ip, iplen, "%.*s", (int)n, s);
	snprintf(port, portlen, "%s", colon ? colon + 1 : "");
}

/* The id of the global host_down of the target's host, from the reply
 * to HGET P quorum:host:IP _global ("ID SINCE"), or "". */
static void host_event_of(const redisReply *rep, char *id, size_t len)
{
	const char *v = str_of(rep), *sp = strchr(v, ' ');

	snprintf(id, len, "%.*s", sp ? (int)(sp - v) : (int)strlen(v), v);
}

/* Decides one target from its votes, the global hash's reply and its
 * host's global outage (host); queues the writes (nothing synchronous:
 * the replies to the reads of the other targets are still on the way).
 * trigger_ts: when the event that asked happened (0: now). */
static int decide(struct quorum *q, const char *target, const struct vote *votes, const redisReply *global,
		  const redisReply *host, int64_t trigger_ts, unsigned *queued)
{
	unsigned count[FV_NSTATES] = { 0 }, need;
	char down[1024], voting[1024], need_s[16], ip[64], port[16];
	char old_state[16], old_since[24], old_down[1024], old_issue_since[24], old_voting[1024], old_need[16];
	char now_s[24], since_s[24], id[64], id2[64];
	char k1[SCHEMA_KEY_MAX], k2[SCHEMA_KEY_MAX], k3[SCHEMA_KEY_MAX], k4[SCHEMA_KEY_MAX];
	char host_event[64] = "", score[24];
	const struct vote *info = NULL, *why = NULL;
	int64_t now = clock_real_ns(), at = trigger_ts > 0 ? trigger_ts : now;
	enum fv_state g;
	int r;

	for (size_t i = 0; i < q->nlocs; i++) {
		count[votes[i].st]++;
		if (votes[i].present && !info)
			info = &votes[i];
	}
	g = quorum_decide(count, q->spec, &need);
	list_of(q, votes, FV_DOWN, down, sizeof(down));
	list_of(q, votes, -1, voting, sizeof(voting));
	snprintf(need_s, sizeof(need_s), "%u", need);
	for (size_t i = 0; i < q->nlocs && !why; i++)
		if (votes[i].st == g)
			why = &votes[i];
	old_state[0] = old_since[0] = old_down[0] = old_issue_since[0] = old_voting[0] = old_need[0] = '\0';
	bool exists = global && global->type == REDIS_REPLY_ARRAY && global->elements == N_GLOBAL_FIELDS &&
		      global->element[0]->type == REDIS_REPLY_STRING;
	if (exists) {
		copy(old_state, sizeof(old_state), global->element[0]);
		copy(old_since, sizeof(old_since), global->element[1]);
		copy(old_down, sizeof(old_down), global->element[2]);
		copy(old_issue_since, sizeof(old_issue_since), global->element[3]);
		copy(old_voting, sizeof(old_voting), global->element[4]);
		copy(old_need, sizeof(old_need), global->element[5]);
	}
	const char *issue = g == FV_DOWN ? "" : down;
	bool changed = !exists || strcmp(old_state, fv_state_name(g)) != 0;
	bool issue_changed = strcmp(old_down, issue) != 0;
	snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
	snprintf(since_s, sizeof(since_s), "%lld", (long long)at);
	split_target(target, ip, sizeof(ip), port, sizeof(port));
	key(q, k1, SCHEMA_STATE, q->name, target);

	if (!info) {
		/* no live location watches it (any more): gone from the global view too */
		if (!exists)
			return 0;
		const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" }, *del[] = { "DEL", k1 };
		const char *zrem[] = { "ZREM", key(q, k2, SCHEMA_IDX, q->name, old_state),
				       target };
		const char *zrem_all[] = { "ZREM", key(q, k3, SCHEMA_IDX, q->name, SCHEMA_IDX_ALL),
					   target };
		const char *srem[] = { "SREM", key(q, k4, SCHEMA_QUORUM_ISSUES, NULL, NULL), target };
		if ((r = append_v(q, queued, 1, multi)) || (r = append_v(q, queued, 2, del)) ||
		    (r = append_v(q, queued, 3, zrem)) || (r = append_v(q, queued, 3, zrem_all)) ||
		    (r = append_v(q, queued, 3, srem)))
			return r;
		if (*old_down) {
			struct args a = { .n = 0 };
			event_start(q, &a, id, sizeof(id), "location_ok", now_s);
			add(&a, "target", target), add(&a, "ip", ip), add(&a, "port", port);
			add(&a, "reason", "gone"), add(&a, "locations_down", old_down);
			add_set(&a, "since", old_issue_since);
			if ((r = event_queue(q, &a, queued)))
				return r;
		}
		log_info("%s: no live location watches it: removed from %s", target, q->name);
		return append_v(q, queued, 1, exec);
	}
	if (!changed && !issue_changed) {
		/* who votes changed, not the outcome: keep the hash telling it */
		if (strcmp(old_voting, voting) == 0 && strcmp(old_need, need_s) == 0)
			return 0;
		const char *hset[] = { "HSET", k1, "locations", voting, "quorum", need_s };
		return append_v(q, queued, 6, hset);
	}

	const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" };
	if ((r = append_v(q, queued, 1, multi)))
		return r;
	if (changed) {
		const char *reason = why && *why->reason ? why->reason
				     : g == FV_UP	     ? "open"
				     : g == FV_DOWN	     ? "timeout"
				     : g == FV_DEGRADED    ? "slow"
							   : "flapping";
		const char *rtt = why ? why->rtt : "";
		struct args h = { .n = 0 }, e = { .n = 0 };
		if (g == FV_DOWN)
			host_event_of(host, host_event, sizeof(host_event));
		h.v[h.n++] = "HSET", h.v[h.n++] = k1;
		add(&h, "state", fv_state_name(g)), add(&h, "since", since_s), add(&h, "reason", reason);
		add(&h, "last_rtt_us", rtt), add(&h, "last_ts", now_s), add(&h, "name", info->name);
		add(&h, "group", info->group), add(&h, "labels", *info->labels ? info->labels : "{}");
		add(&h, "prober", q->id), add(&h, "locations", voting), add(&h, "quorum", need_s);
		if ((r = append(q, &h, queued)))
			return r;
		if (exists) {
			const char *zrem[] = { "ZREM",
					       key(q, k2, SCHEMA_IDX, q->name, old_state), target };
			if ((r = append_v(q, queued, 3, zrem)))
				return r;
		}
		snprintf(score, sizeof(score), "%lld", (long long)(at / NSEC_PER_SEC));
		const char *zadd[] = { "ZADD", key(q, k3, SCHEMA_IDX, q->name, fv_state_name(g)),
				       score, target };
		const char *zall[] = { "ZADD", key(q, k4, SCHEMA_IDX, q->name, SCHEMA_IDX_ALL),
				       "NX", score, target };
		if ((r = append_v(q, queued, 4, zadd)) || (r = append_v(q, queued, 5, zall)))
			return r;
		/* no event for "unknown": probers say nothing either when a
		 * restart puts their targets back there */
		if (g == FV_UNKNOWN)
			goto issue;
		event_start(q, &e, id, sizeof(id), "state", since_s);
		add(&e, "target", target), add(&e, "ip", ip), add(&e, "port", port);
		add_set(&e, "name", info->name), add_set(&e, "group", info->group), add_set(&e, "labels", info->labels);
		add(&e, "from", exists ? old_state : "unknown"), add(&e, "to", fv_state_name(g));
		add(&e, "reason", reason), add(&e, "since", old_since), add(&e, "rtt_us", rtt);
		add_set(&e, "host_event", host_event);
		add(&e, "locations_down", down), add(&e, "locations", voting), add(&e, "quorum", need_s);
		if ((r = event_queue(q, &e, queued)))
			return r;
		q->transitions++;
		log_info("%s: %s -> %s (down from %s of %s; quorum %u)", target, exists ? old_state : "unknown",
			 fv_state_name(g), *down ? down : "none", voting, need);
	}
issue:
	if (issue_changed) {
		struct args h = { .n = 0 }, e = { .n = 0 };
		const char *issue_since = *old_down && *old_issue_since ? old_issue_since : since_s;
		h.v[h.n++] = "HSET", h.v[h.n++] = k1;
		add(&h, "locations_down", issue), add(&h, "issue_since", *issue ? issue_since : "");
		add(&h, "locations", voting), add(&h, "quorum", need_s);
		if ((r = append(q, &h, queued)))
			return r;
		const char *set[] = { *issue ? "SADD" : "SREM", key(q, k2, SCHEMA_QUORUM_ISSUES, NULL, NULL),
				      target };
		if ((r = append_v(q, queued, 3, set)))
			return r;
		event_start(q, &e, id2, sizeof(id2), *issue ? "location_issue" : "location_ok", since_s);
		add(&e, "target", target), add(&e, "ip", ip), add(&e, "port", port);
		add_set(&e, "name", info->name), add_set(&e, "group", info->group), add_set(&e, "labels", info->labels);
		add(&e, "state", fv_state_name(g));
		add(&e, "locations_down", *issue ? issue : old_down), add(&e, "locations", voting);
		add(&e, "quorum", need_s);
		if (!*issue)
			add(&e, "reason", g == FV_DOWN ? "global_down" : "recovered");
		add_set(&e, "since", *old_down ? old_issue_since : "");
		if ((r = event_queue(q, &e, queued)))
			return r;
		q->issues += *issue != '\0';
		if (*issue)
			log_info("%s: location issue: down from %s only (%s vote, quorum %u)", target, issue, voting,
				 need);
		else
			log_info("%s: location issue over (%s)", target, g == FV_DOWN ? "down globally" : "recovered");
	}
	return append_v(q, queued, 1, exec);
}

/* Evaluates n targets: every live location's state hash and the global
 * one, pipelined, CHUNK at a time. ts[i] (may be NULL): the event time. */
static int evaluate(struct quorum *q, const char *const *targets, const int64_t *ts, size_t n)
{
	struct vote *votes = calloc(MAX_LOCS, sizeof(*votes));
	redisReply **reps = calloc(MAX_LOCS + 2, sizeof(*reps));
	int r = 0;

	if (!votes || !reps) {
		free(votes);
		free(reps);
		return -ENOMEM;
	}
	for (size_t at = 0; at < n && r == 0; at += CHUNK) {
		size_t m = n - at < CHUNK ? n - at : CHUNK;
		unsigned reads = 0, writes = 0;
		for (size_t i = 0; i < m && r == 0; i++) {
			for (size_t l = 0; l < q->nlocs && r == 0; l++)
				r = append_hmget(q, &reads, q->locs[l], targets[at + i], state_fields, N_STATE_FIELDS);
			if (r == 0)
				r = append_hmget(q, &reads, q->name, targets[at + i], global_fields, N_GLOBAL_FIELDS);
			if (r == 0) {
				char ip[64], port[16], hk[SCHEMA_KEY_MAX];
				split_target(targets[at + i], ip, sizeof(ip), port, sizeof(port));
				const char *hget[] = { "HGET", key(q, hk, SCHEMA_QUORUM_HOST, ip, NULL),
						       "_global" };
				r = append_v(q, &reads, 3, hget);
			}
		}
		for (size_t i = 0; i < m && r == 0; i++) {
			/* one per location, the global hash, the host's outage */
			for (size_t l = 0; l <= q->nlocs + 1 && r == 0; l++)
				if (redisGetReply(q->c, (void **)&reps[l]) != REDIS_OK)
					r = -EIO;
			if (r == 0) {
				for (size_t l = 0; l < q->nlocs; l++)
					vote_of(&votes[l], reps[l]);
				r = decide(q, targets[at + i], votes, reps[q->nlocs], reps[q->nlocs + 1],
					   ts ? ts[at + i] : 0, &writes);
			}
			for (size_t l = 0; l <= q->nlocs + 1; l++) {
				freeReplyObject(reps[l]);
				reps[l] = NULL;
			}
		}
		if (r == 0)
			r = drain(q, writes);
	}
	free(votes);
	free(reps);
	return lost(q) ? -EIO : r == -EIO ? 0 : r; /* an error reply is logged; go on */
}

/* ---- hosts ---- */

/* host_down / host_up of a location, then the host's global state. */
static int evaluate_host(struct quorum *q, const char *ip, const redisReply *ev_fields, bool down_event,
			 const char *loc, int64_t ts)
{
	char k[SCHEMA_KEY_MAX], hk[SCHEMA_KEY_MAX];
	char id[64], now_s[24], val[96], ports[16] = "";
	char list[1024] = "", ping[8] = "none";
	int64_t now = clock_real_ns(), at = ts > 0 ? ts : now;
	unsigned m = 0, need;
	bool any_ping_up = false, all_ping_down = true;
	redisReply *rep;
	int r = 0;

	key(q, k, SCHEMA_QUORUM_HOST, ip, NULL);
	key(q, hk, SCHEMA_QUORUM_HOSTS, NULL, NULL);
	if (loc) {
		if (down_event) {
			const char *p = "", *pi = "";
			for (size_t i = 0; ev_fields && i + 1 < ev_fields->elements; i += 2) {
				if (!strcmp(str_of(ev_fields->element[i]), "ports"))
					p = str_of(ev_fields->element[i + 1]);
				else if (!strcmp(str_of(ev_fields->element[i]), "ping"))
					pi = str_of(ev_fields->element[i + 1]);
			}
			snprintf(val, sizeof(val), "%s %s", *pi ? pi : "none", *p ? p : "0");
			const char *hset[] = { "HSET", k, loc, val }, *sadd[] = { "SADD", hk, ip };
			freeReplyObject(cmd(q, 4, hset));
			freeReplyObject(cmd(q, 3, sadd));
		} else {
			const char *hdel[] = { "HDEL", k, loc };
			freeReplyObject(cmd(q, 3, hdel));
		}
	}
	const char *all[] = { "HGETALL", k };
	if (!(rep = cmd(q, 2, all)))
		return lost(q) ? -EIO : 0;
	const char *global = NULL;
	size_t fields = 0;
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
		const char *f = str_of(rep->element[i]), *v = str_of(rep->element[i + 1]);
		fields++;
		if (!strcmp(f, "_global")) {
			global = v;
			continue;
		}
		bool live = false;
		for (size_t l = 0; l < q->nlocs && !live; l++)
			live = !strcmp(q->locs[l], f);
		if (!live)
			continue;
		m++;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", *list ? "," : "", f);
		any_ping_up |= !strncmp(v, "up ", 3);
		all_ping_down &= !strncmp(v, "down ", 5);
		const char *sp = strchr(v, ' ');
		if (sp && !*ports)
			snprintf(ports, sizeof(ports), "%s", sp + 1);
	}
	need = quorum_need(q->spec, (unsigned)q->nlocs);
	bool down = m > 0 && m >= need;
	snprintf(ping, sizeof(ping), "%s", any_ping_up ? "up" : m && all_ping_down ? "down" : "none");
	snprintf(now_s, sizeof(now_s), "%lld", (long long)at);
	if (down && !global) {
		char gval[96], need_s[16];
		struct args e;
		event_start(q, &e, id, sizeof(id), "host_down", now_s);
		snprintf(gval, sizeof(gval), "%s %s", id, now_s);
		snprintf(need_s, sizeof(need_s), "%u", need);
		add(&e, "ip", ip), add(&e, "ports", *ports ? ports : "0"), add(&e, "ping", ping);
		add(&e, "locations_down", list), add(&e, "quorum", need_s);
		const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" }, *hset[] = { "HSET", k, "_global", gval };
		unsigned queued = 0;
		if ((r = append_v(q, &queued, 1, multi)) || (r = event_queue(q, &e, &queued)) ||
		    (r = append_v(q, &queued, 4, hset)) || (r = append_v(q, &queued, 1, exec)))
			goto out;
		r = drain(q, queued);
		log_info("host %s: down globally (from %s; quorum %u)", ip, list, need);
	} else if (!down && global) {
		const char *sp = strchr(global, ' ');
		struct args e;
		event_start(q, &e, id, sizeof(id), "host_up", now_s);
		add(&e, "ip", ip), add(&e, "since", sp ? sp + 1 : ""), add(&e, "ping", "none");
		const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" }, *hdel[] = { "HDEL", k, "_global" };
		unsigned queued = 0;
		if ((r = append_v(q, &queued, 1, multi)) || (r = event_queue(q, &e, &queued)) ||
		    (r = append_v(q, &queued, 3, hdel)))
			goto out;
		if (fields == 1) {
			const char *srem[] = { "SREM", hk, ip };
			if ((r = append_v(q, &queued, 3, srem)))
				goto out;
		}
		if ((r = append_v(q, &queued, 1, exec)))
			goto out;
		r = drain(q, queued);
		log_info("host %s: up globally", ip);
	} else if (fields == 0) {
		const char *srem[] = { "SREM", hk, ip };
		freeReplyObject(cmd(q, 3, srem));
	}
out:
	freeReplyObject(rep);
	return lost(q) ? -EIO : 0;
}

/* ---- the stream ---- */

static const char *field(const redisReply *f, const char *name)
{
	for (size_t i = 0; f && f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2)
		if (!strcmp(str_of(f->element[i]), name))
			return str_of(f->element[i + 1]);
	return "";
}

/* A batch of entries [[id, fields], ...]: the targets and hosts they name
 * are evaluated, then the entries acknowledged. */
static int on_entries(void *ctx, const redisReply *entries)
{
	struct quorum *q = ctx;
	const char **targets = calloc(entries->elements + 1, sizeof(*targets));
	int64_t *ts = calloc(entries->elements + 1, sizeof(*ts));
	const char **ack = calloc(entries->elements + 1, sizeof(*ack));
	size_t nt = 0, na = 0;
	int r = 0;

	if (!targets || !ts || !ack) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < entries->elements && r == 0; i++) {
		const redisReply *it = entries->element[i];
		if (it->type != REDIS_REPLY_ARRAY || it->elements < 1)
			continue;
		const char *id = str_of(it->element[0]);
		const redisReply *f = it->elements > 1 ? it->element[1] : NULL;
		const char *kind = field(f, "kind"), *loc = field(f, "location");
		ack[na++] = id;
		q->events_read++;
		if (!strcmp(loc, q->name))
			continue; /* our own */
		int64_t t = strtoll(field(f, "ts"), NULL, 10);
		if (!strcmp(kind, "state") && *field(f, "target")) {
			bool dup = false;
			for (size_t j = 0; j < nt && !dup; j++)
				dup = !strcmp(targets[j], field(f, "target"));
			if (!dup) {
				targets[nt] = field(f, "target");
				ts[nt++] = t;
			}
		} else if ((!strcmp(kind, "host_down") || !strcmp(kind, "host_up")) && *field(f, "ip") && *loc) {
			r = evaluate_host(q, field(f, "ip"), f, kind[5] == 'd', loc, t);
		}
	}
	if (r == 0 && nt)
		r = evaluate(q, targets, ts, nt);
	if (r == 0)
		stream_ack(q->c, &q->sg, ack, na);
out:
	free(targets);
	free(ts);
	free(ack);
	return r;
}

static int read_stream(struct quorum *q)
{
	redisReply *rep = stream_read(q->c, &q->sg, READ_BLOCK_MS);
	const redisReply *entries;
	int r = 0;

	if (!rep)
		return -EIO;
	if ((entries = stream_read_entries(rep)))
		r = on_entries(q, entries);
	stream_read_done(&q->sg, entries);
	freeReplyObject(rep);
	return r;
}

/* Entries another quorum process read and did not acknowledge (it died):
 * ours now. */
static int claim(struct quorum *q)
{
	return stream_claim_idle(q->c, &q->sg, 0, 100, on_entries, q);
}

/* Consumers of earlier runs (the name holds the pid) that hold nothing
 * and have been idle for a while: gone, so that the group does not grow
 * with every restart. One with entries pending is left to claim(). */
static void forget_if_old(void *ctx, const struct stream_consumer *sc)
{
	struct quorum *q = ctx;

	if (strcmp(sc->name, q->id) != 0 && sc->pending == 0 && sc->idle_ms > OLD_CONSUMER_MS) {
		stream_drop_consumer(q->c, &q->sg, sc->name);
		log_debug("forgot consumer '%s' of an earlier run", sc->name);
	}
}

static void forget_old_consumers(struct quorum *q)
{
	stream_consumers(q->c, &q->sg, forget_if_old, q);
}

/* ---- sweeps ---- */

static int members(struct quorum *q, const char *cmdname, const char *k, char ***out, size_t *n)
{
	const char *zr[] = { cmdname, k, "0", "-1" };
	redisReply *rep = cmd(q, strcmp(cmdname, "SMEMBERS") == 0 ? 2 : 4, zr);

	if (!rep)
		return lost(q) ? -EIO : 0;
	for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
		char **grown = realloc(*out, (*n + 1) * sizeof(**out));
		if (!grown || !(grown[*n] = strdup(str_of(rep->element[i])))) {
			*out = grown ? grown : *out;
			freeReplyObject(rep);
			return -ENOMEM;
		}
		*out = grown;
		(*n)++;
	}
	freeReplyObject(rep);
	return 0;
}

static int sweep(struct quorum *q, bool everything)
{
	static const enum fv_state trouble[] = { FV_DOWN, FV_DEGRADED, FV_FLAPPING };
	char k[SCHEMA_KEY_MAX], **t = NULL;
	size_t n = 0, u = 0;
	int r;

	r = members(q, "SMEMBERS", key(q, k, SCHEMA_QUORUM_ISSUES, NULL, NULL), &t, &n);
	for (size_t i = 0; i < sizeof(trouble) / sizeof(trouble[0]) && r == 0; i++)
		r = members(q, "ZRANGE", key(q, k, SCHEMA_IDX, q->name, fv_state_name(trouble[i])),
			    &t, &n);
	if (everything) {
		/* every target every location watches, and every one we hold */
		for (size_t l = 0; l < q->nlocs && r == 0; l++)
			r = members(q, "ZRANGE", key(q, k, SCHEMA_IDX, q->locs[l], SCHEMA_IDX_ALL),
				    &t, &n);
		if (r == 0)
			r = members(q, "ZRANGE", key(q, k, SCHEMA_IDX, q->name, SCHEMA_IDX_ALL), &t,
				    &n);
	}
	if (r == 0 && n) {
		qsort(t, n, sizeof(*t), cmp_str);
		for (size_t i = 0; i < n; i++)
			if (u == 0 || strcmp(t[u - 1], t[i]) != 0)
				t[u++] = t[i];
			else
				free(t[i]);
		n = u;
		r = evaluate(q, (const char *const *)t, NULL, n);
		if (everything)
			log_info("read %zu targets of %zu locations", n, q->nlocs);
	}
	for (size_t i = 0; i < n; i++)
		free(t[i]);
	free(t);
	t = NULL, n = 0;
	if (r == 0)
		r = members(q, "SMEMBERS", key(q, k, SCHEMA_QUORUM_HOSTS, NULL, NULL), &t, &n);
	for (size_t i = 0; i < n && r == 0; i++)
		r = evaluate_host(q, t[i], NULL, false, NULL, 0);
	for (size_t i = 0; i < n; i++)
		free(t[i]);
	free(t);
	return r;
}

/* ---- lease, heartbeat ---- */

/* true while we are the one that works. */
static int hold_lease(struct quorum *q)
{
	char k[SCHEMA_KEY_MAX], ms[16];
	const char *set[] = { "SET", key(q, k, SCHEMA_QUORUM_LEASE, NULL, NULL), q->id, "NX", "PX",
			      ms };
	redisReply *rep;
	bool was = q->leader;

	snprintf(ms, sizeof(ms), "%d", LEASE_MS);
	if (!(rep = cmd(q, 6, set)))
		return -EIO;
	bool got = rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	if (!got) {
		const char *get[] = { "GET", k };
		if (!(rep = cmd(q, 2, get)))
			return -EIO;
		got = !strcmp(str_of(rep), q->id);
		if (!got && was)
			log_warn("lost the lease to %s: standing by", str_of(rep));
		else if (!got && !was && !q->told_standby)
			log_info("%s holds the lease: standing by", str_of(rep));
		q->told_standby |= !got;
		freeReplyObject(rep);
		if (got) {
			const char *px[] = { "PEXPIRE", k, ms };
			freeReplyObject(cmd(q, 3, px));
		}
	}
	q->leader = got;
	if (got && !was) {
		log_info("working: quorum %s over the live locations, as location '%s'",
			 quorum_spec_name(q->spec, ms, sizeof(ms)), q->name);
		q->catch_up = true;
		stream_restart(&q->sg);
		forget_old_consumers(q);
	}
	return lost(q) ? -EIO : 0;
}

static void heartbeat(struct quorum *q)
{
	char pk[SCHEMA_KEY_MAX], hk[SCHEMA_KEY_MAX], ak[SCHEMA_KEY_MAX];
	char now[24], started[24], spec[16], locs[1024] = "";
	char targets[24] = "0", ev[24], tr[24], is[24];
	const char *card[] = { "ZCARD", key(q, ak, SCHEMA_IDX, q->name, SCHEMA_IDX_ALL) };
	redisReply *rep = cmd(q, 2, card);

	if (rep && rep->type == REDIS_REPLY_INTEGER)
		snprintf(targets, sizeof(targets), "%lld", rep->integer);
	freeReplyObject(rep);
	for (size_t i = 0; i < q->nlocs; i++)
		snprintf(locs + strlen(locs), sizeof(locs) - strlen(locs), "%s%s", i ? "," : "", q->locs[i]);
	snprintf(now, sizeof(now), "%lld", (long long)(clock_real_ns() / NSEC_PER_MSEC));
	snprintf(started, sizeof(started), "%lld", (long long)q->started_s);
	snprintf(ev, sizeof(ev), "%llu", (unsigned long long)q->events_read);
	snprintf(tr, sizeof(tr), "%llu", (unsigned long long)q->transitions);
	snprintf(is, sizeof(is), "%llu", (unsigned long long)q->issues);
	const char *hset[] = { "HSET",	   key(q, hk, SCHEMA_PROBER, q->id, NULL),
			       "location", q->name,
			       "host",	   q->host,
			       "role",	   "quorum",
			       "started",  started,
			       "heartbeat", now,
			       "targets",  targets,
			       "quorum",   quorum_spec_name(q->spec, spec, sizeof(spec)),
			       "locations", locs,
			       "events_read", ev,
			       "transitions", tr,
			       "location_issues", is };
	const char *expire[] = { "EXPIRE", hk, "5" };
	const char *zadd[] = { "ZADD", key(q, pk, SCHEMA_PROBERS, NULL, NULL), now, q->id };
	freeReplyObject(cmd(q, (int)(sizeof(hset) / sizeof(hset[0])), hset));
	freeReplyObject(cmd(q, 3, expire));
	freeReplyObject(cmd(q, 4, zadd));
}

/* ---- the loop ---- */

static int setup(void *ctx, char *err, size_t errlen)
{
	struct quorum *q = ctx;
	int r;

	if ((r = redis_connect_url(&q->c, q->url, CONNECT_TIMEOUT_MS, err, errlen)) < 0 ||
	    (r = schema_check(q->c, q->prefix, q->url_text, err, errlen)) < 0 ||
	    (r = stream_group_create(q->c, &q->sg, err, errlen)) < 0)
		goto fail;
	return 0;
fail:
	if (q->c)
		redisFree(q->c);
	q->c = NULL;
	return r;
}

static int step(struct quorum *q)
{
	int64_t now = clock_real_ns();
	int r = 0;

	if (now >= q->beat_at) {
		q->beat_at = now + HEARTBEAT_NS;
		if ((r = hold_lease(q)) < 0)
			return r;
		if (q->leader) {
			if ((r = read_locations(q)) < 0)
				return r;
			heartbeat(q);
			if (q->sg.pending && (r = claim(q)) < 0)
				return r;
		}
	}
	if (!q->leader) {
		clock_sleep_until(clock_mono_ns() + NSEC_PER_SEC);
		return lost(q) ? -EIO : 0;
	}
	if (q->catch_up) {
		q->catch_up = false;
		q->sweep_at = now + SWEEP_NS;
		if ((r = sweep(q, true)) < 0)
			return r;
	} else if (now >= q->sweep_at) {
		q->sweep_at = now + SWEEP_NS;
		if ((r = sweep(q, false)) < 0)
			return r;
	}
	return read_stream(q);
}

static int run(struct quorum *q)
{
	while (!stopsig_stop) {
		stopsig_hup();
		int r = step(q);
		if (r == -ENOMEM) {
			log_error("out of memory");
			return CLI_EXIT_RUNTIME;
		}
		if (r >= 0)
			continue;
		log_error("redis at %s failed: %s; reconnecting", q->url_text,
			  q->c && q->c->errstr[0] ? q->c->errstr : "an error reply");
		if (q->c)
			redisFree(q->c);
		q->c = NULL;
		q->leader = false;
		if (redis_retry(setup, q, &stopsig_stop) == 0)
			log_info("redis at %s is back", q->url_text);
		q->beat_at = 0;
	}
	if (q->c && q->leader) {
		/* let a standby take over at once */
		char k[SCHEMA_KEY_MAX];
		const char *del[] = { "DEL", key(q, k, SCHEMA_QUORUM_LEASE, NULL, NULL) };
		freeReplyObject(cmd(q, 2, del));
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'r' },	   { "prefix", required_argument, NULL, 'p' },
		{ "quorum", required_argument, NULL, 'Q' },	   { "name", required_argument, NULL, 'n' },
		{ "events-maxlen", required_argument, NULL, 'm' }, { "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },		   { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct quorum q = { .spec = QUORUM_MAJORITY };
	const char *prefix = SCHEMA_DEFAULT_PREFIX, *url = NULL;
	unsigned char rnd[8];
	char err[1024];
	int c, r;

	log_set_program("synwatch-quorum");
	snprintf(q.name, sizeof(q.name), "global");
	snprintf(q.maxlen, sizeof(q.maxlen), "100000");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': url = optarg; break;
		case 'p': prefix = optarg; break;
		case 'Q':
			if (quorum_spec_parse(optarg, &q.spec) < 0)
				cli_die_usage("--quorum '%s': want majority, all or a number of locations 1..%d",
					      optarg, QUORUM_MAX);
			break;
		case 'n':
			if (!schema_location_ok(optarg, strlen(optarg)))
				cli_die_usage("--name '%s' is not a location name (docs/config.md)", optarg);
			snprintf(q.name, sizeof(q.name), "%s", optarg);
			break;
		case 'm':
			snprintf(q.maxlen, sizeof(q.maxlen), "%llu",
				 (unsigned long long)cli_uint("--events-maxlen", optarg, 1000, UINT64_MAX));
			break;
		case 'v': log_level_current = LOG_DEBUG; break;
		case 'q': log_level_current = LOG_WARN; break;
		case 'h': usage(stdout); return 0;
		default: cli_die_option(c, argv);
		}
	}
	cli_no_operands(argc, argv);
	if (schema_check_prefix(prefix, err, sizeof(err)) < 0)
		cli_die_usage("--prefix: %s", err);
	snprintf(q.prefix, sizeof(q.prefix), "%s", prefix);
	q.url = url ? url : getenv("SYNWATCH_REDIS") ? getenv("SYNWATCH_REDIS") : "redis://127.0.0.1:6379";
	if (redis_url_text(q.url, q.url_text, sizeof(q.url_text), err, sizeof(err)) < 0)
		cli_die_usage("%s", err);
	stream_hostname(q.host, sizeof(q.host));
	snprintf(q.id, sizeof(q.id), "%s/%s-%ld", q.name, q.host, (long)getpid());
	stream_group_init(&q.sg, q.prefix, GROUP, q.id, READ_COUNT);
	if (sodium_init() < 0) {
		log_error("cannot initialize libsodium");
		return CLI_EXIT_RUNTIME;
	}
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(q.runid, sizeof(q.runid), rnd, sizeof(rnd));
	q.started_s = clock_real_ns() / NSEC_PER_SEC;
	if (setup(&q, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return CLI_EXIT_RUNTIME;
	}
	stopsig_install("synwatch-quorum");
	log_info("connected to %s as %s", q.url_text, q.id);
	r = run(&q);
	free_locs(&q);
	if (q.c)
		redisFree(q.c);
	return r;
}
