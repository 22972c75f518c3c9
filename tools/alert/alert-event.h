/* An entry of P events (docs/redis.md) as the alerter sees it: its fields
 * read once into typed members, its labels parsed, and what it does to the
 * alerts (which condition it starts, which it ends). Strings live in the
 * struct fv_arena the caller passes; absent fields are "", never NULL.
 * Pure; any thread. */
#ifndef SW_ALERT_EVENT_H
#define SW_ALERT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#include "tools/lib/fleetview.h"

#define ALERT_EVENT_MAX_LABELS 64
/* Room for an alert key: "flapping:" and the longest target or prober id. */
#define ALERT_KEY_MAX 320

/* The conditions an alert is about. A target is in at most one of the
 * first three at a time; hosts and probers have their own. */
enum alert_class {
	ALERT_NONE,
	ALERT_DOWN,     /* target state down */
	ALERT_SLOW,     /* target state degraded */
	ALERT_FLAPPING, /* target state flapping */
	ALERT_HOST,     /* host_down .. host_up */
	ALERT_PROBER,   /* prober_isolated .. prober_ok */
	ALERT_LOCATION, /* location_issue .. location_ok (synwatch-quorum) */
	ALERT_INFO,     /* address_changed: told once, nothing to resolve */
};

struct alert_event {
	const char *entry;              /* stream entry id ("1732500000000-0"), "" if not from the stream */
	struct fv_record rec;           /* every field as written */
	const char *kind, *id, *target, *ip, *port, *name, *group, *from, *to, *reason;
	const char *location, *prober, *host_event, *old_ip;
	const char *check;              /* state: the port's service check ("postgres"), "" without one */
	const char *check_error;        /* state: what the check said (reasons check_failed, cert_*):
	                                   the server's words, "certificate expires in 9 days" */
	const char *locations_down;     /* synwatch-quorum's events: "ams2,fra1" ("" otherwise) */
	const char *locations;          /* ... the locations with an opinion */
	unsigned quorum;                /* ... how many must see it down (0: not such an event) */
	const char *ping;               /* host events: "up", "down", "none" or "" (older probers) */
	int64_t ts_ns;                  /* when it happened, Unix ns (0: unknown) */
	int64_t since_ns;               /* state: when the previous state began; host_up/prober_ok: when
	                                   the outage began (0: unknown) */
	double rtt_us;                  /* the last RTT; slow: the recent p95 (< 0: none) */
	double warn_us, crit_us;        /* slow: the thresholds when the event carries them (< 0: not) */
	int icmp_code;                  /* reason unreachable (< 0: none) */
	unsigned ports;                 /* host events: watched ports of the host */
	double failing_share;           /* prober events, 0..1 (< 0: none) */
	struct fv_label *labels;        /* parsed "labels" */
	size_t n_labels;
};

/* Fills *e from rec (which must outlive e); entry is the stream id (may be
 * NULL). Returns 0, -EINVAL when the event has no kind or its labels are
 * not a JSON object (e is usable still: labels empty), -ENOMEM. */
int alert_event_parse(struct alert_event *e, const struct fv_record *rec, const char *entry,
		      struct fv_arena *a);

/* A flat [field, value, ...] hiredis array (a stream entry's fields, a
 * hash) into *out, strings copied into a. Returns 0, -EPROTO for another
 * shape, -ENOMEM. */
int alert_record_of(struct fv_arena *a, const redisReply *arr, const char *id, struct fv_record *out);

/* The value of a label, or NULL. */
const char *alert_event_label(const struct alert_event *e, const char *key);
/* For matchers (tools/lib/matcher.h): kind, group, location, target, host (the
 * IP), port, name, prober, check, state (the new target state), reason and
 * severity (critical for down, host, prober and slow_critical, warning
 * otherwise) are the event's own; any other key is a label. ctx is a
 * const struct alert_event *. */
const char *alert_event_attr(const void *ctx, const char *key);

/* The condition the event ends and the one it starts (ALERT_NONE: none). */
void alert_event_effect(const struct alert_event *e, enum alert_class *clears, enum alert_class *fires);
/* The alert's key for class c: "down:198.18.0.5:5432", "host:198.18.1.9",
 * "prober:fra1/probe-1". Returns 0 or -ENOSPC. */
int alert_key(char *buf, size_t len, enum alert_class c, const struct alert_event *e);
/* "down", "slow", "flapping", "host", "prober", "location", "info" */
const char *alert_class_name(enum alert_class c);

/* Parses Unix nanoseconds (digits); 0 for "" or junk. */
int64_t alert_ns_of(const char *s);

#endif
