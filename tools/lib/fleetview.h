/* tools/lib/fleetview: reading the fleet's state back from Redis, through the
 * public key layout of docs/redis.md only, for the programs that show it
 * (synwatch-top, synwatch-exporter). Read only, and bounded: every read
 * starts from an index (P probers, P idx:LOC:*, P events) and the caller
 * caps how much it takes; nothing here SCANs the keyspace.
 *
 * A struct fleetview is one Redis connection, used by one thread at a time.
 * After a connection error it is dropped and the next call reconnects, so a
 * long-running viewer survives Redis restarts. Strings and arrays that a call
 * returns live in the struct fv_arena the caller passes and are freed with it.
 *
 * Also here, because both programs need them: Prometheus escaping into a
 * common/buf.h buffer, the labels' flat JSON object (read with
 * common/json.h), and the latency series helpers (merging minutes and
 * locations exactly, as docs/latency.md says; quantiles are never
 * averaged). */
#ifndef SW_FLEETVIEW_H
#define SW_FLEETVIEW_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/latency.h"
#include "store/histo.h"

/* The keys, the schema version and the default prefix are store/schema.h's. */

/* Target states, in the order of docs/redis.md. */
enum fv_state {
	FV_UNKNOWN,
	FV_UP,
	FV_DEGRADED,
	FV_DOWN,
	FV_FLAPPING,
	FV_NSTATES,
};
/* Index sets per location: one per state, then "all". */
#define FV_ALL FV_NSTATES
#define FV_NSETS (FV_NSTATES + 1)

const char *fv_state_name(enum fv_state s); /* FV_ALL gives "all" */
/* The state named s ("all" is not a state), or -EINVAL. */
int fv_state_parse(const char *s);
/* Display order, worst first: down 0, flapping 1, degraded 2, unknown 3, up 4. */
int fv_state_rank(enum fv_state s);
/* up and degraded: the target accepts connections. */
bool fv_state_ok(enum fv_state s);

/* ---- memory ---- */

/* Bump allocator: many small pieces, freed together. Zero-initialize. */
struct fv_arena {
	struct fv_chunk *head;
};
/* n bytes, aligned for any type; NULL when out of memory. */
void *fv_alloc(struct fv_arena *a, size_t n);
/* A NUL-terminated copy of n bytes of s; NULL when out of memory. */
char *fv_strndup(struct fv_arena *a, const char *s, size_t n);
/* Frees everything allocated from a; a is empty and usable again. */
void fv_arena_release(struct fv_arena *a);

/* s as a Prometheus label value, without the quotes: \ " and newline escaped. */
void fv_prom_value(struct buf *b, const char *s);

/* ---- what is read ---- */

/* A hash or a stream entry: field / value pairs in Redis's order. */
struct fv_record {
	const char *id;     /* the stream entry id, or the hash's name (a prober id) */
	size_t n;
	const char **keys, **vals;
};
/* The value of field key, or NULL. */
const char *fv_record_get(const struct fv_record *r, const char *key);

/* What a port's service check said last (docs/checks.md), from the check
 * fields of its state hash (docs/redis.md). A port without a check, or
 * whose first check has not reported yet, has ok == -1 and every string "". */
struct fv_check {
	const char *kind;         /* "postgres", "tls", ... */
	const char *verdict;      /* ok, check_failed, cert_unverified, cert_expired, cert_expiring */
	const char *error;        /* when it failed: the server's own words, else what happened */
	const char *banner;       /* the first line the server sent, "" if none */
	const char *tls_version;  /* as the prober names it ("TLSv1.3"); "" without TLS */
	const char *tls_cipher;
	const char *cert_subject, *cert_issuer;
	const char *cert_sans;    /* "DNS:db-7.example.test,IP:198.18.0.8" */
	const char *cert_error;   /* cert_verified 0: why ("self-signed certificate"), else "" */
	int ok;                   /* 1 passed, 0 failed, -1 no check result */
	int cert_verified;        /* 1 the chain verifies and the name matches, 0 not, -1 no certificate */
	int32_t cert_days_left;   /* whole days, negative once expired; FV_NO_DAYS without a certificate */
	int64_t ts_ns;            /* Unix ns of the check; 0 unknown */
	int64_t cert_not_after_s; /* Unix s; 0 without a certificate */
	double us;                /* connect to verdict, µs; < 0 unknown */
};
#define FV_NO_DAYS INT32_MIN

/* One target as one location sees it (P state:LOC:TARGET). Strings are ""
 * when the field is absent, never NULL. */
struct fv_target {
	const char *target;      /* "IP:PORT", "[IPv6]:PORT" */
	const char *location;
	const char *name, *group;
	const char *labels;      /* JSON object text, "" without labels */
	const char *reason;      /* of the last transition */
	const char *last_result; /* probe state of the last check: open, closed, ... */
	const char *prober;
	enum fv_state state;     /* FV_UNKNOWN without a state hash */
	bool present;            /* the state hash exists */
	int64_t since_ns;        /* Unix ns the state began; 0 unknown */
	int64_t last_ts_ns;      /* Unix ns of the last check; 0 none */
	double last_rtt_us;      /* handshake time of the last check, µs; < 0 without an answer */
	struct fv_check check;   /* the port's service check, if it has one */
};

/* ---- service checks ---- */

/* Whether reason (a state's or an event's) is a service check's verdict:
 * check_failed, cert_expiring, cert_expired, cert_unverified. */
bool fv_reason_is_check(const char *reason);
/* Whether the last check passed as the prober judged it: the server said
 * yes (ok) and its verdict is not a failure (check_failed, cert_unverified,
 * cert_expired; cert_expiring only warns). False without a check result. */
bool fv_check_passed(const struct fv_check *c);
/* The certificate's days left as words: "expires in 12 days", "expires
 * within a day", "expired 3 days ago". Returns buf. */
const char *fv_cert_days_text(int32_t days, char *buf, size_t len);
/* What a person should read first about the last check, one line: its
 * error when it failed ("FATAL: sorry, too many clients already", "failed"
 * without one), the certificate's days when the verdict is about them
 * ("certificate expires in 4 days"), else "ok"; "" without a check
 * result. Returns buf. */
const char *fv_check_text(const struct fv_check *c, char *buf, size_t len);
/* A TLS version as blackbox_exporter's probe_tls_version_info spells it:
 * "TLS 1.0" to "TLS 1.3" (from "TLSv1.3", "TLS1.3"...), "unknown" for any
 * other. */
const char *fv_tls_version_label(const char *version);
/* The check as a JSON object (kind, ok, verdict, error, banner, ts, us,
 * tls {version, cipher} or null, cert {subject, issuer, sans, not_after,
 * days_left, verified} or null), or null without a check result: the
 * exporter's API and synwatch-ctl --json say it alike. */
void fv_check_json(struct buf *b, const struct fv_check *c);

/* A member of a sorted set with its score. */
struct fv_member {
	const char *member;
	double score;
};

/* A prober from P probers and, while it is alive, its P prober:ID hash. */
struct fv_prober {
	const char *id;          /* "LOC/HOSTNAME" */
	const char *location;
	int64_t last_ms;         /* the last heartbeat (Unix ms), from P probers */
	bool alive;              /* the hash has not expired */
	struct fv_record h;      /* the hash (n == 0 when !alive) */
};

/* How a prober looks to a reader (docs/consumers.md). */
enum fv_prober_health {
	FV_PROBER_OK,   /* its hash exists, the last heartbeat is recent */
	FV_PROBER_LATE, /* its hash exists, but no heartbeat for FV_PROBER_LATE_MS */
	FV_PROBER_GONE, /* its hash expired: no heartbeat reached Redis for 5 s */
	FV_PROBER_NHEALTH,
};
/* A prober writes its heartbeat every second: three missed ones are late. */
#define FV_PROBER_LATE_MS 3000

/* The health of p at now_ms (Unix ms). Gone follows the hash's expiry,
 * which Redis times, so that a reader whose clock is off cannot call a live
 * prober gone; late compares p->last_ms (the prober's clock) with now_ms. */
enum fv_prober_health fv_prober_health(const struct fv_prober *p, int64_t now_ms);
const char *fv_prober_health_name(enum fv_prober_health h); /* "ok", "late", "gone" */

/* The probers of a fleet summed up, for the line a viewer shows first. */
struct fv_probers_sum {
	size_t n[FV_PROBER_NHEALTH];     /* probers per health */
	const struct fv_prober *gone;    /* the one gone most recently, or NULL */
	const struct fv_prober *late;    /* the late one with the newest heartbeat, or NULL */
	size_t gone_loc_live;            /* live (ok or late) probers in gone's location */
};
/* Sums up the n probers of p (in any order) at now_ms. */
void fv_probers_sum(const struct fv_prober *p, size_t n, int64_t now_ms, struct fv_probers_sum *out);
/* Whether nothing was ever written under the prefix: no P schema and no
 * prober in P probers. A prober that died keeps its P probers entry (docs/redis.md),
 * so this stays false after a crash. */
bool fv_never_written(bool has_schema, size_t nprobers);

/* ---- reading ---- */

struct fleetview;

/* Connects to url (store/redis-conn.h forms) and checks P schema. timeout_ms
 * bounds the connect and every reply. Returns 0 and sets *out (free with
 * fleetview_free), or a negative errno with one line in err:
 * -EPROTONOSUPPORT when P schema is not SCHEMA_VERSION ("redis at URL has schema
 * N, this program reads 1"), -EINVAL for a bad URL or prefix, the
 * redis_connect errors otherwise. A missing P schema is not an error (no
 * prober has written yet): see fleetview_has_schema. */
int fleetview_open(struct fleetview **out, const char *url, const char *prefix, int timeout_ms, char *err,
		   size_t errlen);
void fleetview_free(struct fleetview *fv); /* NULL is a no-op */
/* The last error, one line, or "" (valid until the next call on fv). */
const char *fleetview_error(const struct fleetview *fv);
/* The URL without its password, for messages. */
const char *fleetview_url(const struct fleetview *fv);
const char *fleetview_prefix(const struct fleetview *fv);
/* Whether P schema existed at the last (re)connect or fleetview_check_schema. */
bool fleetview_has_schema(const struct fleetview *fv);
/* Reads P schema again: a viewer started before the first prober wrote
 * learns that one did. Returns 0, -EPROTONOSUPPORT for another schema, or
 * the errors below. */
int fleetview_check_schema(struct fleetview *fv);

/* Every call below returns a count or 0 on success, or a negative errno:
 * -ECONNRESET (and the connect errors) when Redis is unreachable, -EPROTO
 * when Redis answered with an error or a reply of the wrong shape (a key of
 * the wrong type), -ENOMEM; fleetview_error says which. Arrays come from a. */

/* The locations that have a prober in P probers, sorted, plus those in
 * extra (may be NULL). */
int fleetview_locations(struct fleetview *fv, struct fv_arena *a, const char *const *extra, size_t n_extra,
			const char ***out);
/* Up to max probers, most recent heartbeat first, with their hashes. */
int fleetview_probers(struct fleetview *fv, struct fv_arena *a, size_t max, struct fv_prober **out);
/* ZCARD of every idx:LOC:SET for each location: out[i][set], set per
 * enum fv_state then FV_ALL. */
int fleetview_counts(struct fleetview *fv, const char *const *locs, size_t n, uint64_t (*out)[FV_NSETS]);
/* ZRANGE of idx:LOC:SET (set: enum fv_state or FV_ALL) from rank start to
 * stop (inclusive, negative from the end) WITHSCORES, lowest score (longest
 * in the state) first. */
int fleetview_index(struct fleetview *fv, struct fv_arena *a, const char *loc, int set, long start, long stop,
		    struct fv_member **out);
/* The state hashes of n targets as loc sees them, pipelined, into out[0..n). */
int fleetview_targets(struct fleetview *fv, struct fv_arena *a, const char *loc, const char *const *targets,
		      size_t n, struct fv_target *out);
/* A group's handshake histogram as one location's probers counted it
 * (P histo:LOC, docs/redis.md): running totals, they only grow. */
struct fv_histo {
	const char *location, *group;
	uint64_t bucket[HISTO_NBUCKETS]; /* answers per bucket of store/histo.h, not cumulative */
	uint64_t count;                  /* every answer */
	uint64_t sum_us;                 /* their handshake times' sum, microseconds */
};
/* The histograms of P histo:LOC of each of the n locations, by location
 * then group name. Fields it does not know are skipped. Returns the count
 * and sets *out. */
int fleetview_histograms(struct fleetview *fv, struct fv_arena *a, const char *const *locs, size_t n,
			 struct fv_histo **out);

/* Every target of idx:LOC:all with its state hash: the whole location, read
 * in pipelined batches. Returns the count and sets *out. */
int fleetview_location_targets(struct fleetview *fv, struct fv_arena *a, const char *loc, struct fv_target **out);
/* The minutes of lat:LOC:TARGET starting at from_s or later (Unix s), at
 * most max (the newest ones), ascending. Records that do not decode are
 * skipped and counted in *bad (may be NULL). */
int fleetview_latency(struct fleetview *fv, struct fv_arena *a, const char *loc, const char *target, int64_t from_s,
		      size_t max, struct lat_minute **out, size_t *bad);
/* Up to count entries of P events, newest first, with ids below before
 * ("+" or NULL: from the newest; an exclusive bound otherwise). */
int fleetview_events(struct fleetview *fv, struct fv_arena *a, const char *before, size_t count,
		     struct fv_record **out);

/* ---- pure helpers ---- */

/* Splits "IP:PORT" / "[IPv6]:PORT" into ip (without brackets) and port.
 * Returns 0, or -EINVAL. */
int fv_target_split(const char *target, char *ip, size_t iplen, unsigned *port);

/* One label of a target. */
struct fv_label {
	const char *name, *value;
};
/* Parses a flat JSON object ({"team":"dba","tier":2}) into at most max
 * labels; non-string values keep their JSON text (2, true); null, nested
 * objects and arrays are skipped. Strings are unescaped into a. Returns the
 * count (0 for "" too), or -EINVAL for text that is not such an object. */
int fv_labels_parse(const char *json, struct fv_arena *a, struct fv_label *out, size_t max);
/* A JSON array of strings (["db","web"], a prober's metrics_per_target)
 * into out, at most max of them; other items are skipped. Returns the
 * count, -EINVAL when it is no array, or -ENOMEM. */
int fv_strings_parse(const char *json, struct fv_arena *a, const char **out, size_t max);

/* Merges two ascending minute series into out (room for na + nb): minutes
 * with the same start are merged exactly (lat_minute_merge). Returns the
 * count written. */
size_t fv_lat_merge_series(struct lat_minute *out, const struct lat_minute *a, size_t na, const struct lat_minute *b,
			   size_t nb);
/* Merges ascending minutes into periods of step_s seconds aligned on
 * multiples of step_s, in place; returns the new count. step_s <= 60 leaves
 * the series as it is. */
size_t fv_lat_rebin(struct lat_minute *m, size_t n, int64_t step_s);

/* Sorts n strings and drops repeats, in place; returns how many are left. */
size_t fv_sort_unique(const char **v, size_t n);

/* Human durations for the tools: "45s", "3m12s", "2h05m", "3d04h". */
const char *fv_age_text(int64_t seconds, char *buf, size_t len);

#endif
