/* UTF-8, strictly (RFC 3629): what is valid, and how to write a code point.
 * Pure; any thread. */
#ifndef SW_UTF8_H
#define SW_UTF8_H

#include <stddef.h>

/* The UTF-8 character at s (n bytes left, n >= 1): its length, its code
 * point in *cp; 0 when the bytes are not valid UTF-8 (overlong forms,
 * surrogates, past U+10FFFF, cut short). */
size_t utf8_next(const char *s, size_t n, unsigned *cp);
/* Writes code point cp (at most U+10FFFF) as UTF-8 into o (room for 4
 * bytes); returns the length. */
size_t utf8_put(char *o, unsigned cp);

#endif
