/* The first target table of a run: the file's groups, or the command
 * line's targets in its one group; less the exclude list, within the
 * limits of --max-targets. Main thread, start-up only. */
#ifndef SW_DAEMON_TARGETS_H
#define SW_DAEMON_TARGETS_H

struct config;
struct exclude_list;
struct options;
struct table;

/* Builds the exclude list *ex (the built-in one, --exclude FILE, the
 * file's exclude:) and from c and o the first table *out (free with
 * table_free, or publish it). Bad input ends the program with one line
 * and exit 2; running out of memory for the table, with exit 1. */
void targets_load(struct table **out, struct exclude_list *ex, const struct config *c, const struct options *o);

#endif
