/* The target table: every target's identity (address, port, name, group)
 * under an id that never changes while the daemon runs. A reload (SIGHUP,
 * runtime targets, hostnames resolving elsewhere) builds a new generation
 * from the old one: every (address, port) that stays keeps its id, new ones
 * get new ids at the end, removed ones are marked dead and their id is never
 * reused. So everything indexed by id elsewhere (state, schedule, latency
 * history) survives a reload without being copied or remapped.
 *
 * Generations are immutable once published. The main thread builds and
 * publishes them; the store thread reads the latest one through
 * table_pub_latest and, when it moves on, frees the generations older than
 * the one it adopted (table_pub_latest does it). The main thread never
 * touches a generation older than the latest it published. */
#ifndef SW_TABLE_H
#define SW_TABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/check.h"
#include "common/memuse.h"
#include "scheduler/state.h"
#include "scheduler/targets.h"

#define TABLE_NO_GROUP UINT16_MAX
#define TABLE_MAX_GROUPS 4096

struct label {
	char *key;   /* [A-Za-z_][A-Za-z0-9_]*: usable as a Prometheus label name */
	char *value; /* any UTF-8 text */
};

/* One explicitly named endpoint of a group ("targets:" list). */
struct table_named {
	char *host;   /* IP or hostname (not a CIDR) */
	uint16_t port;
	char *name;   /* "Production DB - PostgreSQL 5432" */
	struct check_spec *check; /* its own service check (a reference; NULL: the group's) */
};

/* `results:` of a group: which of its targets' results go into the
 * results stream (docs/redis.md). States, events and latency history are
 * written either way. */
enum table_results {
	TABLE_RESULTS_ALL,     /* every result and service check */
	TABLE_RESULTS_CHANGES, /* a target's first of a run, then those that differ from its previous one */
	TABLE_RESULTS_NONE,
};

/* What the scheduler and the store need of a group; a deep copy of the
 * config's group, so that a table outlives the config it came from. */
struct table_group {
	char *name;
	struct label *labels;   /* sorted by key */
	size_t n_labels;
	int64_t interval_ns;
	int64_t timeout_ns;
	uint8_t retries;
	uint8_t priority;       /* 0 low .. 3 critical */
	uint8_t per_target;     /* 1: `metrics: per_target`, its targets get series of their own in
	                           synwatch-exporter's /metrics (the store says so in the heartbeat) */
	uint8_t results;        /* enum table_results */
	struct state_params state;
	struct check_spec *check; /* the group's service check and its options (a reference; NULL:
	                             none); its targets without a check of their own take it */
};

/* A hostname of the config and the addresses it resolved to, to tell when
 * it moves (an address change is an event). */
struct table_hostname {
	char *name;
	struct sw_addr *addrs;  /* sorted */
	size_t n_addrs;
	int err;                /* resolution failed this time: positive EAI-derived errno; addrs kept from before */
};

struct table {
	uint32_t gen;               /* 1 for the first table, +1 per rebuild */
	struct target_list tl;      /* tl.v[id]: address, port, name; dead ids keep their entry */
	uint16_t *group_of;         /* per id: index into groups, or TABLE_NO_GROUP */
	uint8_t *dead;              /* per id: 1 if removed (never probed again) */
	uint32_t n_live;            /* ids not dead */
	struct table_group *groups;
	size_t n_groups;
	struct table_hostname *hostnames;
	size_t n_hostnames;
	size_t n_base_groups;       /* groups[0 .. n_base_groups) come from the config (or the command
	                               line); runtime targets with their own interval or labels get
	                               groups of their own after them */
	char *location;
	struct table *older;        /* the generation this one replaced; see table_pub_latest */
};

/* What a table is built from: the groups a configuration asks for (the
 * daemon makes it from its YAML file, daemon/config.h), each with its
 * settings and its endpoints. The build copies what it keeps. */
struct table_spec_group {
	struct table_group settings;     /* name, labels, interval, timeout, retries, priority, state */
	char *const *hosts;              /* specs as target_list_add_spec takes them */
	size_t n_hosts;
	const struct portlist *ports;    /* for hosts without their own port */
	const struct table_named *named; /* explicitly named endpoints */
	size_t n_named;
	uint8_t families;                /* TARGET_FAMILY_*; 0: v4 */
};

struct table_spec {
	const char *location;
	const struct table_spec_group *groups;
	size_t n_groups;
};

/* A target added at run time (docs/redis.md, P runtime:targets), on top of
 * the config's. Targets the config already has keep the config's settings. */
struct table_runtime {
	char *spec;             /* "IP:PORT", "CIDR:PORT", "HOSTNAME:PORT", "[IPv6]:PORT" */
	char *group;            /* the group whose settings it takes; NULL: the first group */
	char *name;             /* NULL: none */
	struct label *labels;   /* merged over the group's (these win); sorted by key */
	size_t n_labels;
	int64_t interval_ns;    /* 0: the group's */
	char *own_group;        /* NULL: as above; else a group of its own under this name, with
	                           the settings of group but only these labels (built-in groups,
	                           such as the gateway canaries) */
};

void table_runtime_release(struct table_runtime *e); /* frees its strings; zeroed entries are fine */

/* Runtime targets for table_build_with. An entry that cannot be added (no
 * such group, a bad spec, a name that does not resolve, an interval the
 * group's timeout and retries do not fit in, too many groups) is left out
 * and reported through rejected (may be NULL) with one line saying why; the
 * rest of the table is built. */
struct table_extra {
	const struct table_runtime *v;
	size_t n;
	void (*rejected)(void *ctx, const struct table_runtime *e, const char *why);
	void *ctx;
};

/* Builds a table from a spec (NULL prev) or the next generation of prev,
 * plus the runtime targets of extra (NULL: none). Resolves hostnames
 * (getaddrinfo, blocking: main thread, start-up and reload). ex: the
 * exclude list (built-in + config + --exclude). A hostname that fails to
 * resolve on a rebuild keeps its previous addresses (and its err is set);
 * on the first build it is an error. spec may be NULL when prev is given
 * (command-line mode, where nothing can be read again): the base is then
 * prev's targets of its first n_base_groups groups, unchanged. Each runtime
 * entry's endpoints join the group it names; with an interval or labels of
 * its own, a copy of that group (same name) with them changed, so that the
 * scheduler and the store need no per-target settings. Returns 0 and sets
 * *out (free with table_free), or a negative errno with one line in err
 * naming the group and the host. prev is not changed. */
int table_build_with(struct table **out, const struct table_spec *spec, const struct exclude_list *ex,
		     const struct table *prev, const struct table_extra *extra, char *err, size_t errlen);

/* A table of a plain target list (one-shot mode, or command-line monitoring
 * with one group g; g may be NULL for no group). Takes the list's contents
 * (tl is left empty). */
int table_from_list(struct table **out, struct target_list *tl, const struct table_group *g, const char *location);

/* Frees t and every generation older than it. NULL is a no-op. */
void table_free(struct table *t);

/* Ids of prev that are dead in next but were live in prev (removed), and
 * live ids of next that were not live in prev (added): calls fn for each. */
void table_diff(const struct table *prev, const struct table *next,
		void (*fn)(void *ctx, uint32_t id, bool added), void *ctx);

/* Hostnames whose addresses differ between prev and next. */
void table_moved_hostnames(const struct table *prev, const struct table *next,
			   void (*fn)(void *ctx, const struct table_hostname *before, const struct table_hostname *after),
			   void *ctx);

/* Adds the arrays of t (this generation only) to u, for --mem-report. */
void table_memuse(const struct table *t, struct memuse *u);

/* The service check of target id and its options (the group's when they
 * ask for the same kind, else the kind's defaults), or NULL for a bare SYN
 * check. Shared: take a reference to keep it. */
struct check_spec *table_check(const struct table *t, uint32_t id);
/* The name of that check's kind ("postgres"), "" for a bare SYN check: as
 * a target's state hash and the local state file keep it. */
static inline const char *table_check_name(const struct table *t, uint32_t id)
{
	const struct check_spec *spec = table_check(t, id);
	const char *name = spec ? check_kind_name(spec->kind) : NULL;
	return name ? name : "";
}

/* The group of id, or NULL. */
static inline const struct table_group *table_group_of(const struct table *t, uint32_t id)
{
	uint16_t g = t->group_of[id];
	return g == TABLE_NO_GROUP ? NULL : &t->groups[g];
}

/* The hand-over point between the main thread (publisher) and one reader. */
struct table_pub {
	_Atomic(struct table *) latest;
	struct table *reader_cur;   /* reader's side only */
};

/* Main thread: makes t the latest (t->older must be the previous latest). */
void table_pub_publish(struct table_pub *p, struct table *t);
/* Reader thread: the latest table; frees the generations it no longer needs. */
const struct table *table_pub_latest(struct table_pub *p);
/* After the reader stopped: frees everything. */
void table_pub_release(struct table_pub *p);

#endif
