/* The next generations of the target table: SIGHUP rereads the file, the
 * hostnames are re-resolved, Redis changes the runtime targets or the
 * members of the location (a new share of the targets). Each rebuild
 * switches every stage to the new table, or leaves everything as it was.
 * Main thread. */
#ifndef SW_RELOAD_H
#define SW_RELOAD_H

struct daemon;
struct table_extra;

enum reload_kind {
	RELOAD_FILE,     /* SIGHUP: read the config again */
	RELOAD_RESOLVE,  /* the periodic re-resolution of hostnames */
	RELOAD_RUNTIME,  /* the runtime targets in Redis changed */
};

/* Builds the next table generation (the file's groups, reread for
 * RELOAD_FILE, or the command line's targets; plus the canaries and the
 * runtime targets) and switches every stage to it. A reload takes the
 * file's groups only: every other setting takes a restart. A bad file or a
 * failed build is logged and leaves everything as it was. */
void reload_table(struct daemon *d, enum reload_kind kind);

/* Applies what the store last read from Redis, if anything changed: the
 * runtime targets (a rebuild) and the live members of the location. */
void reload_from_store(struct daemon *d);

/* The gateway canaries, then the runtime targets of Redis: what every
 * rebuild adds to the base targets. Returns 0 and sets *out (free out->v,
 * not its entries; NULL when there are none), or -ENOMEM. */
int reload_extra(const struct daemon *d, struct table_extra *out);

/* Frees the runtime targets and the member list that Redis gave d. */
void reload_release(struct daemon *d);

#endif
