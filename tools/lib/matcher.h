/* Label matchers, the one syntax of alert routes (etc/alert.example.yaml)
 * and silences (synwatch-ctl silence add):
 *
 *   team=dba   criticality!=low   name=~"pg-.*"   location!~fra.*
 *
 * KEY is a label name or one of the event's own fields (tools/alert/alert-event.h
 * says which); VALUE is the rest of the text, any characters. As in
 * Prometheus' Alertmanager, a label the event does not have counts as the
 * empty string: team= matches events without a team, criticality!=low
 * matches events without a criticality. Regular expressions are POSIX
 * extended and anchored at both ends (=~db matches "db", not "db-3").
 * Pure; any thread once parsed. */
#ifndef SW_MATCHER_H
#define SW_MATCHER_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest key and value a matcher takes: they go into Redis and messages. */
#define MATCHER_KEY_MAX 64
#define MATCHER_VALUE_MAX 1024

enum matcher_op {
	MATCHER_EQ,  /* = */
	MATCHER_NE,  /* != */
	MATCHER_RE,  /* =~ */
	MATCHER_NRE, /* !~ */
};

struct matcher {
	char *key;   /* malloc'ed */
	char *value; /* malloc'ed; the regex text for MATCHER_RE / MATCHER_NRE */
	enum matcher_op op;
	bool compiled;
	regex_t re;  /* MATCHER_RE / MATCHER_NRE: value, anchored */
};

/* Looks up a key of the thing being matched: the value, or NULL when it
 * has none (which matches as ""). */
typedef const char *(*matcher_lookup_fn)(const void *ctx, const char *key);

/* Parses one matcher. Returns 0 and fills *m (release with
 * matcher_release), or -EINVAL with one line in err naming the text and
 * what would be right, or -ENOMEM. */
int matcher_parse(struct matcher *m, const char *text, char *err, size_t errlen);
void matcher_release(struct matcher *m); /* zeroed or released matchers are fine */
/* Releases n matchers and frees the array. */
void matchers_free(struct matcher *v, size_t n);

/* Whether value (NULL: the key is absent) satisfies m. */
bool matcher_match(const struct matcher *m, const char *value);
/* Whether every one of the n matchers holds (true for n == 0). */
bool matchers_match(const struct matcher *v, size_t n, matcher_lookup_fn lookup, const void *ctx);

/* "=", "!=", "=~", "!~" */
const char *matcher_op_text(enum matcher_op op);
/* The canonical text, "team=dba": what matcher_parse reads back. Returns
 * buf (truncated to len). */
const char *matcher_text(const struct matcher *m, char *buf, size_t len);

#endif
