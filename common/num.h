/* common/num: numbers and durations as people type them (options, config
 * files, URLs, query strings) and as programs store them (Redis fields),
 * with one wording for what is wrong, so that every program says it the
 * same way: "--rate 'fast': expected a whole number from 1 to 100000000".
 * Callers add their context around it (FILE:LINE:COL in a config file).
 * Pure; any thread. */
#ifndef SW_NUM_H
#define SW_NUM_H

#include <stddef.h>
#include <stdint.h>

/* A whole number from min to max: decimal digits only, as docs/config.md
 * says (no sign, space, 0x or fraction; leading zeros are fine). Returns 0
 * and sets *out, -EINVAL for text that is no whole number, or -ERANGE for
 * one outside [min, max] (or past UINT64_MAX). */
int num_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* The same for the n bytes at s (a part of a longer text). */
int num_parse_uintn(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out);
/* The same with an optional '-' in front, from min to max. */
int num_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* A duration (common/clock.h's duration_parse: "500ms", "2s", "1.5h")
 * from min_ns to max_ns; 0, -EINVAL or -ERANGE as above. */
int num_parse_duration(const char *s, int64_t min_ns, int64_t max_ns, int64_t *out_ns);

/* A size in bytes: a whole number with an optional binary unit, K, M, G
 * or T (also KiB, MiB, GiB, TiB): "512M" is 512 * 2^20, "1G" 2^30, "4096"
 * bytes. From min to max; 0, -EINVAL or -ERANGE as above. */
int num_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A size in its largest whole binary unit: "1G", "512M", "1000". */
const char *num_size_text(uint64_t bytes, char *buf, size_t len);

/* The one wording, into buf; returns buf. name says what it is ("--rate",
 * "rate"), text what was given (quoted, cut to 80 bytes):
 *   NAME 'TEXT': expected a whole number from MIN to MAX
 *   NAME 'TEXT': expected a whole number, at least MIN    (max UINT64_MAX)
 *   NAME 'TEXT': expected a duration from LO to HI        (num_duration_text)
 *   NAME 'TEXT': expected a size from LO to HI, like 512M (num_size_text) */
const char *num_uint_error(char *buf, size_t len, const char *name, const char *text, uint64_t min, uint64_t max);
const char *num_duration_error(char *buf, size_t len, const char *name, const char *text, int64_t min_ns,
			       int64_t max_ns);
const char *num_size_error(char *buf, size_t len, const char *name, const char *text, uint64_t min, uint64_t max);
/* A duration in its largest whole unit: "24h", "10ms", "90s", "0". */
const char *num_duration_text(int64_t ns, char *buf, size_t len);

#endif
