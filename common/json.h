/* common/json: JSON text (RFC 8259), written and read, for what synwatch
 * exchanges with other programs: the NDJSON lines, the consumers' API and
 * alert bodies, labels and runtime targets in Redis. Pure; any thread.
 *
 * Writing appends to a common/buf.h buffer and gives valid JSON for any
 * bytes: one that does not start a valid UTF-8 character (RFC 3629:
 * overlong forms, surrogates, cut short, 0xff) becomes U+FFFD, control
 * characters (NUL included) are escaped, and so are " and \.
 *
 * Reading walks a text of known length, a value at a time, the caller
 * driving it: the runtime targets' strict object, the labels' flat one.
 * Anyone who can write to Redis writes those texts, so it never reads past
 * the end and bounds nesting. A failing call returns -EINVAL and, when the
 * reader has room for it, says why in one line. */
#ifndef SW_JSON_H
#define SW_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* ---- writing ---- */

/* How control characters are escaped. */
enum json_esc {
	JSON_ESC_U,     /* each as \u00XX */
	/* \n and \t as such, the others and DEL as \u00XX: the bytes of the
	 * NDJSON lines, a public interface, since their first release */
	JSON_ESC_SHORT,
};

/* n bytes at s, NULs included, as a JSON string with its quotes. */
void json_put_strn(struct buf *b, const char *s, size_t n, enum json_esc esc);
/* s as a JSON string (JSON_ESC_U); NULL gives null. */
void json_put_str(struct buf *b, const char *s);
/* A number: integers without a fraction, NaN and infinities as null. */
void json_put_num(struct buf *b, double v);
/* An object's member: "key": with the comma before it unless *first
 * (which it clears), then the value: json_put_key leaves it to the
 * caller, json_put_kv writes a string (NULL: null), json_put_kn a number. */
void json_put_key(struct buf *b, bool *first, const char *key);
void json_put_kv(struct buf *b, bool *first, const char *key, const char *value);
void json_put_kn(struct buf *b, bool *first, const char *key, double value);

/* ---- reading ---- */

/* Nesting deeper than this is refused (json_skip). */
#define JSON_DEPTH_MAX 32

/* A reader over [start, end); p is where it is. */
struct json_in {
	const char *start, *p, *end;
	char *err;     /* why the last call failed, one line; may be NULL */
	size_t errlen; /* bytes at err */
};

/* A reader of the len bytes at text; err (errlen bytes, may be NULL) gets
 * the reasons. */
void json_in_init(struct json_in *j, const char *text, size_t len, char *err, size_t errlen);
/* Says why in the reader's err (for the caller's own rules); returns -EINVAL. */
int json_fail(struct json_in *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Skips white space. */
void json_ws(struct json_in *j);
/* After white space: whether c is next; it is taken if so. */
bool json_eat(struct json_in *j, char c);
/* After white space, c is taken, or -EINVAL: "expected WHAT at byte N". */
int json_expect(struct json_in *j, char c, const char *what);
/* After white space: whether the text ends there. */
bool json_end(struct json_in *j);

/* The string after white space, decoded into out (room for max bytes and
 * a NUL; NULL only checks it), its length into *len (may be NULL). strict
 * refuses bytes that are not valid UTF-8, a surrogate without its other
 * half and \u0000; otherwise bytes are copied as they are, a lone
 * surrogate becomes U+FFFD and \u0000 a NUL. what names the string in
 * messages ("name: longer than 1024 bytes"). */
int json_string(struct json_in *j, char *out, size_t max, size_t *len, bool strict, const char *what);
/* Bytes between the quotes of the string after white space, room enough
 * to decode it; -EINVAL when no whole string follows. */
long json_string_room(struct json_in *j);
/* Skips the value after white space (any, nested up to JSON_DEPTH_MAX;
 * strings checked as json_string does without strict). */
int json_skip(struct json_in *j);

#endif
