/* daemon/statefile: the targets' states in a local file, for a prober
 * without Redis, so that a restart carries on as it does with Redis
 * (docs/operations.md, "Restarts and upgrades"): written at a stop, read
 * back at the next start. A text file, a line a target:
 *
 *   # synwatch states 1 LOCATION
 *   TARGET <TAB> STATE <TAB> SINCE_NS <TAB> REASON <TAB> STREAK <TAB> CHECK
 *
 * TARGET as in Redis (198.18.0.5:443, [2001:db8::1]:443), STATE and REASON
 * by name, STREAK > 0 successes and < 0 failures in a row, CHECK the
 * service check's kind or empty: the fields store/resume.c reads from a
 * target's state hash, with the same rules. */
#ifndef SW_STATEFILE_H
#define SW_STATEFILE_H

#include "scheduler/state.h"
#include "scheduler/table.h"

/* Writes saved[id] of every live target of t that has a state (a new file
 * renamed over path). Returns the number of targets written, or a negative
 * errno after logging one line naming the file. */
int statefile_save(const char *path, const char *location, const struct table *t, const struct state_saved *saved);

/* Reads path into saved[id] (t->tl.n entries, zeroed by the caller) for
 * the live targets of t found in it with the same service check kind.
 * Returns how many; 0 when there is no file; a negative errno after
 * logging one line (a file that is not ours, of another location, or
 * unreadable: every target then starts unknown). */
int statefile_load(const char *path, const char *location, const struct table *t, struct state_saved *saved);

#endif
