/* Silences: label matchers and a time window during which the alerter
 * delivers nothing for the events they match (it still acknowledges them
 * and logs them). Set with `synwatch-ctl silence add`, read by every
 * synwatch-alert. In Redis (docs/redis.md):
 *   P silence:ID   hash: matchers (one per line), starts, ends, created
 *                  (Unix s), created_by, comment; expires at its end
 *   P silences     sorted set: ID, score = end (Unix s)
 * so that a reader finds the live ones with one ZRANGEBYSCORE, and a
 * silence disappears by itself when it is over. */
#ifndef SW_SILENCE_H
#define SW_SILENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#include "tools/lib/matcher.h"

#define SILENCE_ID_LEN 12 /* hex digits */
#define SILENCE_MAX_MATCHERS 16
#define SILENCE_COMMENT_MAX 1024

struct silence {
	char id[SILENCE_ID_LEN + 1];
	struct matcher *m;    /* all must hold */
	size_t n;
	int64_t starts_s;     /* Unix seconds, inclusive */
	int64_t ends_s;       /* Unix seconds, exclusive */
	int64_t created_s;
	char *comment;        /* never NULL ("" without one) */
	char *created_by;     /* "user@host", never NULL */
};

struct silence_set {
	struct silence *v;
	size_t n;
};

/* A new silence with a random id from the matcher texts. Returns 0 (release
 * with silence_release), -EINVAL with one line in err (a bad matcher, none,
 * too many, an empty window, a comment with control characters), -ENOMEM. */
int silence_init(struct silence *s, const char *const *matchers, size_t n, int64_t starts_s, int64_t ends_s,
		 const char *comment, const char *created_by, char *err, size_t errlen);
void silence_release(struct silence *s); /* zeroed or released ones are fine */
void silence_set_release(struct silence_set *set);

/* Whether now_s is in [starts_s, ends_s). */
bool silence_active(const struct silence *s, int64_t now_s);
/* The first silence of set active at now_s whose matchers all hold, or NULL. */
const struct silence *silence_find(const struct silence_set *set, int64_t now_s, matcher_lookup_fn lookup,
				   const void *ctx);
/* "team=dba, criticality!=low" into buf; returns buf. */
const char *silence_matchers_text(const struct silence *s, char *buf, size_t len);

/* Stores s (one MULTI/EXEC) and drops ended ids from P silences. Returns 0,
 * or -EIO with the reason in err. */
int silence_save(redisContext *c, const char *prefix, const struct silence *s, char *err, size_t errlen);
/* Every silence that has not ended at now_s (active or still to come),
 * soonest end first. Hashes that do not parse are skipped. Returns the
 * count, or -EIO / -ENOMEM with the reason in err. */
int silence_load(redisContext *c, const char *prefix, int64_t now_s, struct silence_set *out, char *err,
		 size_t errlen);
/* Deletes silence id. Returns 1 if it existed, 0 if not, -EIO. */
int silence_remove(redisContext *c, const char *prefix, const char *id, char *err, size_t errlen);

#endif
