/* The configuration: what the YAML file (synwatch -c FILE) says, checked and
 * defaulted, as plain data. Built once by the main thread (at start and on
 * SIGHUP); every module then reads a `const struct config *` and nobody
 * changes it. Hostnames are kept as text here: resolving them is the
 * daemon's job (they are re-resolved periodically).
 *
 * Parsed with libyaml, line at a time in the sense that matters for fuzzing:
 * config_parse takes the whole text from memory, so a harness drives it with
 * no file. Every error names FILE:LINE:COLUMN and what was expected.
 * docs/config.md is the user's reference for every key. */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler/state.h"
#include "scheduler/table.h"
#include "scheduler/targets.h"
#include "store/schema.h"

#define CONFIG_DEFAULT_INTERVAL_NS (30LL * 1000000000LL)
#define CONFIG_DEFAULT_TIMEOUT_NS (1000000000LL)
#define CONFIG_DEFAULT_RETRIES 1
#define CONFIG_DEFAULT_RATE 10000
#define CONFIG_DEFAULT_PORT_LO 61000
#define CONFIG_DEFAULT_PORT_HI 61999
#define CONFIG_DEFAULT_CHECK_PORT_LO 62000
#define CONFIG_DEFAULT_CHECK_PORT_HI 62999
#define CONFIG_DEFAULT_RESOLVE_NS (300LL * 1000000000LL)
#define CONFIG_DEFAULT_PREFIX SCHEMA_DEFAULT_PREFIX
#define CONFIG_DEFAULT_ISOLATION_SHARE 0.5
#define CONFIG_DEFAULT_RESULTS_MAXLEN 1000000
#define CONFIG_DEFAULT_EVENTS_MAXLEN 100000
#define CONFIG_DEFAULT_LATENCY_RETENTION_NS (7LL * 86400 * 1000000000LL)
/* a group's state_params when neither the group nor `defaults:` sets them */
#define CONFIG_DEFAULT_FAILURES 2
#define CONFIG_DEFAULT_SUCCESSES 1
#define CONFIG_DEFAULT_LATENCY_WINDOW 5
#define CONFIG_DEFAULT_LATENCY_OVER 3
#define CONFIG_DEFAULT_FLAP_CHANGES 5
#define CONFIG_DEFAULT_FLAP_WINDOW_S 600
#define CONFIG_DEFAULT_PRIORITY 1 /* no "criticality" label: as "normal" */

/* Everything a group sets; unset fields come from `defaults:`, then from the
 * built-in defaults. */
struct config_group {
	char *name;                 /* unique among groups */
	char **hosts;               /* specs as target_list_add_spec takes them: IP, CIDR, HOSTNAME,
	                               IP:PORT...; syntax checked, hostnames not resolved */
	size_t n_hosts;
	struct portlist ports;      /* for hosts without their own port; may be empty if every host has one */
	struct table_named *named;  /* explicitly named endpoints (they also count as hosts) */
	size_t n_named;
	int64_t interval_ns;        /* > timeout_ns * (retries + 1): a check ends before the next is due */
	int64_t timeout_ns;         /* > 0, per attempt */
	uint8_t retries;            /* <= PROBE_MAX_ATTEMPT */
	uint8_t families;           /* TARGET_FAMILY_V4 | TARGET_FAMILY_V6 (key "ip": v4, v6 or both) */
	uint8_t per_target;         /* metrics: per_target (1) or aggregate (0, the default) */
	uint8_t results;            /* enum table_results: which results go into P results */
	uint8_t priority;           /* from the "criticality" label: critical 3, high 2, medium/normal 1,
	                               low 0; CONFIG_DEFAULT_PRIORITY without the label */
	struct state_params state;  /* failures, successes, warn/crit, window/over, flapping */
	struct label *labels;       /* defaults' labels merged with the group's (group wins), sorted by key */
	size_t n_labels;
	struct check_spec *check;   /* the service check of every port (a reference; NULL: none) */
};

struct config {
	char *path;                 /* the file it came from ("<memory>" for config_parse) */
	char *location;             /* this prober's location name; default: the host name */
	char *prober_id;            /* this prober's id in Redis; NULL: LOC/HOSTNAME */
	bool shard;                 /* split the targets with the other probers of the location (default true) */
	uint64_t rate;              /* probes per second cap for the whole prober */
	uint16_t port_lo, port_hi;  /* source-port range */
	uint16_t check_port_lo, check_port_hi; /* the service checks' connections' source ports */
	char **interfaces;          /* capture/send interfaces to use; empty: by route */
	size_t n_interfaces;
	char *source_ip;            /* NULL: by route */
	char *send_path;            /* "auto" (link paths where possible), "ip"; NULL: auto */
	char *redis_url;            /* NULL: no Redis */
	char *redis_prefix;         /* default CONFIG_DEFAULT_PREFIX; printable, no spaces, <= 127 bytes */
	char *spill;                /* where records wait while Redis is away; NULL: the store's default */
	char *state_file;           /* without Redis: the states kept for the next start; NULL: none */
	uint64_t spill_max;         /* its size past which results are dropped; 0: the store's default */
	uint64_t backlog_memory;    /* bytes of records kept in memory before the spill file; 0: the store's default */
	uint64_t results_maxlen;    /* P results is trimmed to about this many entries */
	uint64_t events_maxlen;     /* P events likewise */
	int64_t latency_retention_ns; /* P lat:* minutes older than this are removed */
	char *output;               /* "ndjson", "text", "none"; NULL: ndjson unless redis is set */
	int64_t resolve_interval_ns;/* hostnames re-resolved this often */
	char **exclude;             /* extra excluded CIDRs */
	size_t n_exclude;
	char **canaries;            /* "IP:PORT" specs watched for the prober's own health; empty: automatic */
	size_t n_canaries;
	double isolation_share;     /* prober isolated when at least this share of targets failed in the last
	                               interval (0 < x <= 1, default CONFIG_DEFAULT_ISOLATION_SHARE) */
	struct config_group *groups;
	size_t n_groups;
};

/* Parses YAML text of len bytes (no NUL needed). path is used in messages
 * and copied to out->path; NULL means "<memory>". On error returns -EINVAL
 * (-ENOMEM when memory ran out) and writes one line "PATH:LINE:COL: what is
 * wrong, what was expected" into err (may be NULL); *out is zeroed then and
 * nothing stays allocated. On success returns 0 and fills *out (release
 * with config_release). Main thread; no global state. */
int config_parse(struct config *out, const char *text, size_t len, const char *path, char *err, size_t errlen);

/* Reads the file and parses it. "cannot open 'PATH': ..." and the negative
 * errno on I/O errors; otherwise what config_parse returns. */
int config_load(struct config *out, const char *path, char *err, size_t errlen);

void config_release(struct config *c); /* zeroed or released configs are fine */

/* The label value for key, or NULL. */
const char *config_label(const struct config_group *g, const char *key);

/* For a configuration built from command-line flags, without a file, with
 * the same defaults and checks as the file:
 * config_init zeroes c and sets every global default (location from
 * gethostname); no groups. Returns 0 or -ENOMEM (then c is zeroed).
 * config_release frees every pointer in it, groups and their strings
 * included, so what is added by hand must be malloc'ed copies.
 * config_group_init sets a group's built-in defaults; it owns nothing yet.
 * config_group_check makes the checks config_parse makes on every group
 * once `defaults:` is applied: something to probe, ports for hosts without
 * one, timeout x (retries + 1) < interval, crit >= warn, over <= window.
 * Returns 0, or -EINVAL with a message in err naming the values. */
int config_init(struct config *c);
void config_group_init(struct config_group *g);
int config_group_check(const struct config_group *g, char *err, size_t errlen);

/* A group's settings as the target table keeps them; name and labels stay
 * g's (table builds copy what they keep). */
struct table_group config_group_settings(const struct config_group *g);

/* table_build_with (scheduler/table.h) from a configuration: its groups and
 * location. cfg may be NULL when prev is given (command-line mode: prev's
 * base groups stay). Returns what table_build_with returns. */
int config_build_table(struct table **out, const struct config *cfg, const struct exclude_list *ex,
		       const struct table *prev, const struct table_extra *extra, char *err, size_t errlen);

#endif
