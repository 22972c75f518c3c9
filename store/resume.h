/* store/resume: reading back, at start, the state a previous run of the
 * prober left each target in (docs/redis.md, "What a prober reads at
 * start"), so that a restart carries on instead of starting every target
 * unknown. Main thread, before the stages start; blocking, with a time
 * limit. */
#ifndef SW_RESUME_H
#define SW_RESUME_H

#include <stddef.h>
#include <stdint.h>

struct state_saved;
struct table;

struct resume_config {
	const char *url;       /* checked already */
	const char *url_text;  /* redacted, for messages */
	const char *prefix;
	const char *location;
	int timeout_ms;        /* to connect, and for each reply */
	int64_t budget_ns;     /* the whole read stops after this long; what is read by then is kept */
};

/* Reads P state:LOC:TARGET of every live target of t, pipelined in
 * batches, into saved[id] (t->tl.n entries, zeroed by the caller: a target
 * with nothing to resume stays TARGET_UNKNOWN). A target resumes only when
 * its hash holds a known state other than unknown with its since, and the
 * service check it was measured with (the hash's check field) is the one
 * it has now. Returns how many targets it filled, or a negative errno with
 * one line in err (Redis away, a schema that is not ours, the budget spent:
 * then the targets not read yet stay unknown). */
int resume_read(const struct resume_config *c, const struct table *t, struct state_saved *saved, char *err,
		size_t errlen);

#endif
