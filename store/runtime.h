/* store/runtime: targets added at run time (docs/redis.md, P runtime:targets). */
#ifndef SW_RUNTIME_H
#define SW_RUNTIME_H

#include <stddef.h>

struct table_runtime;

/* The whole set, as the Redis writer read it. */
struct runtime_set {
	struct table_runtime *v;
	size_t n;
};
void runtime_set_release(struct runtime_set *s); /* zeroed sets are fine */

/* Parses one entry of the hash: spec (the field) and json (its value,
 * {"group":..,"name":..,"labels":{..},"interval":".."}, every key
 * optional). Untrusted input: strict JSON, no unknown or repeated keys,
 * label names as in the config, valid UTF-8. Returns 0 and fills *out
 * (release with table_runtime_release), or -EINVAL / -ENOMEM with one line
 * in err. Pure, any thread. */
int runtime_parse(struct table_runtime *out, const char *spec, size_t spec_len, const char *json, size_t len,
		  char *err, size_t errlen);

#endif
