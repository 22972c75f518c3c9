/* store/schema: the Redis key layout of docs/redis.md, a public interface,
 * and its one owner. Every program that reads or writes Redis names its
 * keys here: the prober's writer (store/redis-fmt.c, store/redis.c), the
 * consumers' read model (tools/lib/), the tools (ctl, quorum, alert). The
 * key names are typed in store/schema.c alone; tests/check-keys.sh fails
 * when one is typed anywhere else. Pure, except schema_check.
 *
 * schema_key writes the prefix P, a key's name and its parts into buf
 * (len bytes, the NUL included) and returns buf, so that it can stand in
 * an argument list. It formats without printf: the prober names a state
 * key for every result, a viewer one for every target. A key longer than
 * len - 1 bytes is cut there, as snprintf cuts; SCHEMA_KEY_MAX holds every
 * key whose parts are within their documented limits (prefix 127,
 * location 64, prober id 255, target 64, alert key 320). */
#ifndef SW_SCHEMA_H
#define SW_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis.h>

/* The value of P schema this code reads and writes. */
#define SCHEMA_VERSION "1"
#define SCHEMA_DEFAULT_PREFIX "synwatch:"
/* At most this many bytes of prefix (schema_check_prefix). */
#define SCHEMA_PREFIX_MAX 127
/* At most this many bytes of location (schema_location_ok). */
#define SCHEMA_LOCATION_MAX 64
/* Room for any key, with its NUL. */
#define SCHEMA_KEY_MAX 1024

/* The keys of docs/redis.md: P is the prefix, capitals are the parts. */
enum schema_key {
	SCHEMA_SCHEMA,          /* P schema (string): the layout's version */
	SCHEMA_RESULTS,         /* P results (stream): every check's result */
	SCHEMA_EVENTS,          /* P events (stream): every event */
	SCHEMA_STATE,           /* P state:LOC:TARGET (hash): the target as LOC sees it */
	SCHEMA_IDX,             /* P idx:LOC:SET (sorted set): SET a target state or SCHEMA_IDX_ALL */
	SCHEMA_LAT,             /* P lat:LOC:TARGET (sorted set): latency minutes */
	SCHEMA_PROBER,          /* P prober:PROBER (hash): a heartbeat (synwatch-quorum's too) */
	SCHEMA_PROBERS,         /* P probers (sorted set): every prober's last heartbeat */
	SCHEMA_MEMBERS,         /* P members:LOC (sorted set): the shards of a location */
	SCHEMA_SEQ,             /* P seq:PROBER (string): the last record a prober wrote */
	SCHEMA_RUNTIME_TARGETS, /* P runtime:targets (hash): targets added at run time */
	SCHEMA_RUNTIME,         /* P runtime (pub/sub channel): they changed */
	SCHEMA_QUORUM_ISSUES,   /* P quorum:issues (set): targets with a location issue */
	SCHEMA_QUORUM_HOSTS,    /* P quorum:hosts (set): hosts down somewhere */
	SCHEMA_QUORUM_HOST,     /* P quorum:host:IP (hash): where IP is down */
	SCHEMA_QUORUM_LEASE,    /* P quorum:lease (string): the working synwatch-quorum */
	SCHEMA_SILENCES,        /* P silences (sorted set): ids, scored by their end */
	SCHEMA_SILENCE,         /* P silence:ID (hash) */
	SCHEMA_ALERTER,         /* P alerter:CONSUMER (hash): one alerter's health */
	SCHEMA_HISTO,           /* P histo:LOC (hash): handshake histograms per group, summed over probers */
	/* the alerters' bookkeeping: under a consumer group's stem
	 * (schema_alert_stem), passed instead of P */
	SCHEMA_ALERTS,          /* STEM open (hash): alert key -> JSON */
	SCHEMA_ALERT_LOCS,      /* STEM loc:KEY (set): where the alert holds */
	SCHEMA_ALERT_LEASE,     /* STEM lease:KEY (string with a TTL) */
	SCHEMA_ALERT_SENT,      /* STEM sent:ENTRY (set): the channels an event reached */
	SCHEMA_NKEYS,
};
/* The set of every target a location watches, beside the states' sets. */
#define SCHEMA_IDX_ALL "all"

/* prefix + key k + its parts a and b into buf; a key takes as many parts
 * as its capitals say, the others are NULL. Returns buf. */
const char *schema_key(char *buf, size_t len, const char *prefix, enum schema_key k, const char *a, const char *b);

/* "P alert:GROUP:", the stem of one consumer group's keys, or NULL when
 * it does not fit in len bytes (it is made once, at start-up, so it says
 * so rather than cut). */
const char *schema_alert_stem(char *buf, size_t len, const char *prefix, const char *group);

/* ---- checks ---- */

/* Reads P schema: 0 when it is SCHEMA_VERSION or absent (no prober has
 * written yet), -EPROTONOSUPPORT with "redis at URL has schema N, this
 * program reads 1" in err, or -EIO with the connection's error. url is the
 * text for messages. */
int schema_check(redisContext *c, const char *prefix, const char *url, char *err, size_t errlen);

/* Whether value, P schema's, is the version this code reads. */
bool schema_is_ours(const char *value);

/* A prefix is at most SCHEMA_PREFIX_MAX bytes of printable text without
 * spaces. 0, or -EINVAL with one line in err. */
int schema_check_prefix(const char *prefix, char *err, size_t errlen);

/* A location name as it may stand in a key (state:LOC:TARGET): 1 to
 * SCHEMA_LOCATION_MAX letters, digits, '.', '_' or '-'. The n bytes at s. */
bool schema_location_ok(const char *s, size_t n);
/* What a location must be, for messages: "expected letters, ... like fra1". */
#define SCHEMA_LOCATION_RULE "expected letters, digits, '.', '_' or '-' (at most 64), like fra1"

#endif
