/* The running prober: every stage and handle the main thread holds, wired
 * from the settings. The files of daemon/ each do one job on it (reload.c
 * rebuilds its table, canaries.c adds its canaries, status.c reports it,
 * loop.c runs it); daemon.c opens, starts, stops and closes it. Main thread
 * only: the scheduler's and the monitor's callbacks on it run there too. */
#ifndef SW_DAEMON_H
#define SW_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/routing.h"
#include "daemon/status.h"
#include "scheduler/shard.h"
#include "scheduler/table.h"
#include "scheduler/targets.h"
#include "store/runtime.h"
#include "store/store.h"

struct capture;
struct checker;
struct config;
struct link_paths;
struct monitor;
struct options;
struct ring;
struct sched;
struct sender;

struct daemon {
	const char *program;        /* argv[0], for the hint on missing privileges */
	const struct options *o;
	struct config *cfg;         /* the settings; a reload replaces its groups, nothing else */
	struct exclude_list ex;
	struct table *table;        /* the latest generation, published */
	struct table_pub pub;
	struct routing rt;          /* of table */
	struct link_paths *lp;      /* NULL with send_path ip (and in dry runs) */
	struct ring *reqs, *reports, *caps, *recs;
	struct sender *snd;
	struct capture *cap;        /* NULL in dry runs */
	struct store *st;
	struct sched *sc;
	struct monitor *mon;        /* NULL with --once */
	/* checks.c: the service checks (NULL: none run) */
	struct checker *checker;
	struct ring *check_reqs, *check_results;
	uint64_t checks_asked, checks_in_flight;
	bool checks_closed;         /* stopping: no new check is started */
	struct ring *xrecs;         /* the store's second ring: check results, events' texts */
	/* canaries.c: the targets that tell this prober's isolation from an outage */
	struct sw_addr *canaries;
	uint16_t *canary_ports;
	size_t n_canaries;
	struct table_runtime *gw_canaries; /* the gateways' echo targets, applied with every rebuild */
	size_t n_gw_canaries;
	/* reload.c */
	struct runtime_set runtime; /* targets added through Redis, applied with every rebuild */
	struct shard_members members; /* the live members of the location, as Redis last said */
	uint32_t owned;             /* targets of our share, as last logged */
	struct status status;
	char hostname[256];         /* named in the heartbeat; the store keeps the pointer */
};

/* Routes d->table at start-up: by the routing table (and the neighbour
 * table for link paths), or in a dry run every target from --source-ip or
 * 0.0.0.0. A bad --interface or --source-ip ends the program (exit 2).
 * Returns 0 or a negative errno (a failed route is logged). */
int daemon_route(struct daemon *d);

/* Publishes d->table and opens the stages: the cookie secret, the raw
 * sockets (reserving the source ports), the rings, capture, sender, store,
 * scheduler and, when monitoring, the monitor. Returns 0, or a negative
 * errno after logging why; daemon_close frees what was opened. */
int daemon_open(struct daemon *d);

/* After every socket is open: leaves root and the capabilities (unless
 * --keep-privileges or a dry run) and applies --seccomp. Returns 0, or a
 * negative errno after logging why. */
int daemon_drop_privileges(struct daemon *d);

/* Starts the store, capture and sender threads. Returns 0, or a negative
 * errno after logging why. */
int daemon_start(struct daemon *d);

/* Stops the threads; replies that raced the stop still give results. */
void daemon_stop(struct daemon *d);

/* Frees everything d holds but what d->cfg and d->o point to; a zeroed or
 * partly opened d is fine. */
void daemon_close(struct daemon *d);

/* Routes t's targets into *out as the settings say (interface, source_ip),
 * with d's link paths. Returns what routing_build returns. */
int daemon_routing(const struct daemon *d, const struct table *t, struct routing *out);

/* Hands a record to the store thread, waiting for room: a measured result
 * is never dropped. */
void daemon_push(struct daemon *d, const struct store_rec *rec);
/* ... a service check's result, with the verdict and days left the state
 * takes from it; and the text of the next event (its id). */
void daemon_push_check(struct daemon *d, const struct check_result *r, uint8_t verdict, int32_t days_left);
void daemon_push_detail(struct daemon *d, uint64_t event_id, const char *text);

#endif
