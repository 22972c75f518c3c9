/* store/: where results go. A store thread drains the results ring and
 * writes every configured sink, so a slow consumer (a pipe, later Redis)
 * never stalls the scheduler, the sender or the receiver. */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <stdbool.h>

#include "common/probe.h"

struct ring;
struct store;
struct table;
struct table_pub;

enum store_format {
	STORE_NDJSON, /* one JSON object per line */
	STORE_TEXT,   /* one aligned human line per result */
	STORE_NONE,
};

/* What goes through the store ring: a result or an event. */
enum store_rec_kind {
	STORE_REC_RESULT,
	STORE_REC_EVENT,
};

struct store_rec {
	uint8_t kind; /* enum store_rec_kind */
	uint8_t pad[7];
	union {
		struct probe_result result;
		struct sw_event event;
	} u;
};

/* Parses "ndjson", "text", "none". Returns 0 or -EINVAL. */
int store_format_parse(const char *s, enum store_format *out);

/* Context a line is formatted in: the target table generation that names
 * the ids, where this prober is, and the run id that makes event ids unique. */
struct store_format_ctx {
	const struct table *table;
	const char *location;   /* NULL: not printed (one-shot mode) */
	uint64_t run_id;
	bool with_group;        /* print group and labels with results (continuous mode) */
};

/* Formats one result / event as an NDJSON line (with the newline) into buf.
 * Returns the length, or -ENOSPC if buf is too small. Pure, any thread. */
int store_format_ndjson(char *buf, size_t len, const struct store_format_ctx *c, const struct probe_result *r);
int store_format_event_ndjson(char *buf, size_t len, const struct store_format_ctx *c, const struct sw_event *e);
/* Same, as text lines. */
int store_format_text(char *buf, size_t len, const struct store_format_ctx *c, const struct probe_result *r);
int store_format_event_text(char *buf, size_t len, const struct store_format_ctx *c, const struct sw_event *e);
struct lat_minute;
/* A target's latency over one minute (store/minutes.h builds them), as a
 * "latency" NDJSON line or a text line. Return the length, or -ENOSPC if
 * buf is too small. Pure, any thread. */
int store_format_latency_ndjson(char *buf, size_t len, const struct store_format_ctx *c, uint32_t target,
				const struct lat_minute *lm);
int store_format_latency_text(char *buf, size_t len, const struct store_format_ctx *c, uint32_t target,
			      const struct lat_minute *lm);
/* "3f2a9c0e11d4b7a5-42": the run id in hex, a dash, the event's counter. */
int store_event_id(char *buf, size_t len, uint64_t run_id, uint64_t id);

struct store_config {
	enum store_format format;
	FILE *out;                  /* the stream the sink writes (stdout) */
	struct table_pub *tables;   /* the store is its reader */
	const char *location;       /* NULL in one-shot mode */
	uint64_t run_id;
	bool with_group;
	bool latency_records;       /* print a "latency" line per target and minute (continuous mode) */
};

/* The store reads struct store_rec from recs (it is the only consumer). */
int store_new(struct store **out, const struct store_config *cfg, struct ring *recs);
int store_start(struct store *st);
/* Writes everything still in the ring, flushes the sinks and joins. */
void store_stop(struct store *st);
void store_free(struct store *st); /* NULL is a no-op; stops first */
/* Records written so far (any thread). */
uint64_t store_written(const struct store *st);
/* Write errors (EPIPE, ENOSPC...): the first errno seen, 0 if none. */
int store_error(const struct store *st);

#endif
