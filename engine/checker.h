/* The checker: service-check connections for a whole fleet at once, on one
 * thread. Non-blocking sockets on epoll, TLS in non-blocking mode
 * (engine/tls.h), the conversations of engine/dialog.h, a deadline per
 * check, and limits on connections in flight in all and per address.
 * Nothing here blocks the sender or the capture: requests arrive and
 * results leave through rings (common/ring.h).
 *
 *   main -> checker:  struct check_req      (what to check)
 *   checker -> main:  struct check_result   (the verdict and what was seen)
 *
 * The process must ignore SIGPIPE (synwatch does): the TLS library writes
 * with write(2), and a server gone must be an error, not the end.
 *
 * Admission: a connection starts only while the loop can finish the
 * connections it has started within a share of the new one's timeout, by
 * its own measured time per connection; the rest wait, with no deadline
 * running, so that a loop out of CPU slows the checks down instead of
 * failing them (docs/checks.md, "How it runs").
 *
 * Connections leave from their own source-port range (a second reserved
 * range beside the SYN probes'), so that they are told apart from the
 * probes, and a host's consecutive checks use different ports. */
#ifndef SW_CHECKER_H
#define SW_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/check.h"

struct ring;
struct checker;

#define CHECK_NAME_MAX 253 /* a DNS name */

/* One check to run. The spec is a reference the checker takes over (and
 * drops when the check ends). */
struct check_req {
	struct check_spec *spec;
	struct sw_addr dst;
	struct sw_addr src;        /* source address; family 0: the kernel's choice */
	uint32_t target;           /* the caller's id, returned in the result */
	uint32_t seq;              /* the caller's number of this check, returned likewise */
	uint16_t port;
	int64_t timeout_ns;        /* the whole check; 0: the spec's, else 5 s */
	char name[CHECK_NAME_MAX + 1]; /* the target's name (SNI, Host:, EHLO); "" for none */
};

struct checker_config {
	uint16_t port_lo, port_hi;  /* source ports; 0, 0: the kernel's ephemeral ones */
	uint32_t max_in_flight;     /* connections at once; 0: 1024 */
	uint32_t max_per_host;      /* connections at once to one address; 0: 4 */
	uint32_t rate_per_s;        /* new connections per second at most; 0: no limit */
	uint32_t full_every;        /* TLS: a full handshake every this many checks of a target, the rest
	                               resumed (0: 16; 1: never resume) */
	int64_t linger_ns;          /* after the verdict, how long to wait for the server's goodbye
	                               before closing; 0: 200 ms */
	int64_t test_slow_ns;       /* for tests: each event the loop handles takes this much longer
	                               (a slow or busy machine); 0 */
};

struct checker_stats {
	uint64_t started, done, ok, failed, timeouts;
	uint64_t tls_full, tls_resumed;
	uint64_t queued_now;        /* waiting for a free slot (limits, admission) */
	uint64_t in_flight_now;
	uint64_t active_now;        /* in flight and before their verdict */
	uint64_t conn_cost_ns;      /* the loop's own time per connection, smoothed (admission) */
};

/* Sets up the checker. Returns 0 and sets *out (free with checker_free),
 * or a negative errno with one line in err. A spec's CA file is loaded when
 * a check first needs it (the configuration checks that it loads). */
int checker_new(struct checker **out, const struct checker_config *cfg, char *err, size_t errlen);
void checker_free(struct checker *c); /* NULL is a no-op; stops first */

/* The loop, one round: takes requests from reqs, runs connections for up
 * to timeout_ms, writes verdicts to results (waits, never drops, if it is
 * full). Returns the number of verdicts written. For tests, or a caller's
 * own thread. */
int checker_step(struct checker *c, struct ring *reqs, struct ring *results, int timeout_ms);
/* Runs checker_step on a thread of its own until checker_stop. */
int checker_start(struct checker *c, struct ring *reqs, struct ring *results);
/* Stops the thread: checks in flight end as "stopped" verdicts, written. */
void checker_stop(struct checker *c);
/* Any thread. */
void checker_get_stats(const struct checker *c, struct checker_stats *out);

#endif
