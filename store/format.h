/* store/format: results, events and latency minutes as NDJSON or text
 * lines for the stdout sink, and the group labels as JSON. Pure, any thread. */
#ifndef SW_FORMAT_H
#define SW_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct check_result;
struct lat_minute;
struct probe_result;
struct sw_event;
struct table;
struct table_group;

enum store_format {
	STORE_NDJSON, /* one JSON object per line */
	STORE_TEXT,   /* one aligned human line per result */
	STORE_NONE,
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
	const char *detail;     /* events: the text that goes with it (a check's error), or NULL */
};

/* Formats one result / event as an NDJSON line (with the newline) into buf.
 * Returns the length, or -ENOSPC if buf is too small. Pure, any thread. */
int store_format_ndjson(char *buf, size_t len, const struct store_format_ctx *c, const struct probe_result *r);
int store_format_event_ndjson(char *buf, size_t len, const struct store_format_ctx *c, const struct sw_event *e);
/* Same, as text lines. */
int store_format_text(char *buf, size_t len, const struct store_format_ctx *c, const struct probe_result *r);
int store_format_event_text(char *buf, size_t len, const struct store_format_ctx *c, const struct sw_event *e);
/* A target's latency over one minute (store/minutes.h builds them), as a
 * "latency" NDJSON line or a text line. Return the length, or -ENOSPC if
 * buf is too small. Pure, any thread. */
int store_format_latency_ndjson(char *buf, size_t len, const struct store_format_ctx *c, uint32_t target,
				const struct lat_minute *lm);
int store_format_latency_text(char *buf, size_t len, const struct store_format_ctx *c, uint32_t target,
			      const struct lat_minute *lm);
/* A service check's result (common/check.h) as a "check" NDJSON line or
 * a text line, with the verdict the state took and the certificate's days
 * left (INT32_MIN: none). Same returns. */
int store_format_check_ndjson(char *buf, size_t len, const struct store_format_ctx *c, const struct check_result *r,
			      uint8_t verdict, int32_t days_left);
int store_format_check_text(char *buf, size_t len, const struct store_format_ctx *c, const struct check_result *r,
			    uint8_t verdict, int32_t days_left);

/* "3f2a9c0e11d4b7a5-42": the run id in hex, a dash, the event's counter. */
int store_event_id(char *buf, size_t len, uint64_t run_id, uint64_t id);

/* The group's labels as a JSON object, {"team":"dba"} ({} without any),
 * NUL-terminated. Returns the length, or -ENOSPC if buf is too small. */
int store_labels_json(char *buf, size_t len, const struct table_group *g);

#endif
