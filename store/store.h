/* store/: where results go. A store thread drains the results ring and
 * writes every configured sink, so a slow consumer (a pipe, later Redis)
 * never stalls the scheduler, the sender or the receiver. */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/probe.h"
#include "scheduler/targets.h"

struct ring;
struct store;

enum store_format {
	STORE_NDJSON, /* one JSON object per line */
	STORE_TEXT,   /* one aligned human line per result */
	STORE_NONE,
};

/* Parses "ndjson", "text", "none". Returns 0 or -EINVAL. */
int store_format_parse(const char *s, enum store_format *out);

/* Formats one result as an NDJSON line (with the newline) into buf.
 * Returns the length, or -ENOSPC if buf is too small. Pure, any thread. */
int store_format_ndjson(char *buf, size_t len, const struct probe_result *r, const struct target *t,
			const char *name);
/* Same, as a text line. */
int store_format_text(char *buf, size_t len, const struct probe_result *r, const struct target *t,
		      const char *name);

struct store_config {
	enum store_format format;
	FILE *out;                      /* the stream the sink writes (stdout) */
	const struct target_list *targets; /* read-only for the store's lifetime */
};

/* The store reads struct probe_result from results (it is the only consumer). */
int store_new(struct store **out, const struct store_config *cfg, struct ring *results);
int store_start(struct store *st);
/* Writes everything still in the ring, flushes the sinks and joins. */
void store_stop(struct store *st);
void store_free(struct store *st); /* NULL is a no-op; stops first */
/* Results written so far (any thread). */
uint64_t store_written(const struct store *st);
/* Write errors (EPIPE, ENOSPC...): the first errno seen, 0 if none. */
int store_error(const struct store *st);

#endif
