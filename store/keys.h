/* Key names of the Redis layout (docs/redis.md) for the programs that
 * write to it besides the daemon: synwatch-ctl (runtime targets,
 * silences) and synwatch-alert (its bookkeeping). Readers of the daemon's
 * keys go through tools/lib/fleetview.h. Pure, except keys_check_schema. */
#ifndef SW_KEYS_H
#define SW_KEYS_H

#include <stdarg.h>
#include <stddef.h>

#include <hiredis.h>

#define KEYS_SCHEMA "1"
#define KEYS_DEFAULT_PREFIX "synwatch:"
/* Room for any key: the prefix (at most 127 bytes) and the longest name. */
#define KEYS_MAX 512

/* The key names after the prefix; those ending in ':' take an argument. */
#define KEY_SCHEMA "schema"
#define KEY_EVENTS "events"
#define KEY_RESULTS "results"
#define KEY_RUNTIME_TARGETS "runtime:targets"
#define KEY_RUNTIME_CHANNEL "runtime"
/* silences: a sorted set of ids (score: the end, Unix s), a hash each */
#define KEY_SILENCES "silences"
#define KEY_SILENCE "silence:"
/* the alerters' bookkeeping, per consumer group: under "alert:GROUP:",
 * the open alerts (hash: alert key -> JSON), where each holds (set of
 * locations), who tells next and when (a string with a TTL), the channels
 * a stream entry reached (set); and each alerter's counters */
#define KEY_ALERT_BASE "alert:"
#define KEY_ALERTS "open"
#define KEY_ALERT_LOCS "loc:"
#define KEY_ALERT_LEASE "lease:"
#define KEY_ALERT_SENT "sent:"
#define KEY_ALERTER "alerter:"

/* prefix + name + arg (may be NULL) into buf. Returns buf, or NULL if it
 * does not fit. */
const char *keys_fmt(char *buf, size_t len, const char *prefix, const char *name, const char *arg);

/* prefix + the formatted rest ("state:%s:%s") into buf, cut to fit.
 * Returns buf. */
const char *keys_vprintf(char *buf, size_t len, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Reads P schema: 0 when it is KEYS_SCHEMA or absent (no prober has
 * written yet), -EPROTONOSUPPORT with "redis at URL has schema N, this
 * program reads 1" in err, or -EIO with the connection's error. url is the
 * text for messages. */
int keys_check_schema(redisContext *c, const char *prefix, const char *url, char *err, size_t errlen);

/* A prefix is at most 127 bytes of printable text without spaces. */
int keys_check_prefix(const char *prefix, char *err, size_t errlen);

#endif
