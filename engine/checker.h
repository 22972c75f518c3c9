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
 * Connections leave from their own source-port range (a second reserved
 * range beside the SYN probes'), so that they are told apart from the
 * probes, and a host's consecutive checks use different ports. */
#ifndef SW_CHECKER_H
#define SW_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "engine/check.h"
#include "engine/tls.h"

struct ring;
struct checker;

#define CHECK_NAME_MAX 253 /* a DNS name */

/* One check to run. Plain data. */
struct check_req {
	struct sw_addr dst;
	struct sw_addr src;        /* source address; family 0: the kernel's choice */
	uint32_t target;           /* the caller's id, returned in the result */
	uint32_t seq;              /* the caller's number of this check, returned likewise */
	uint16_t port;
	uint16_t spec;             /* index into the checker's specs */
	int64_t timeout_ns;        /* the whole check; 0: the spec's, else 5 s */
	char name[CHECK_NAME_MAX + 1]; /* the target's name (SNI, Host:, EHLO); "" for none */
};

/* One check's outcome. Plain data. */
struct check_result {
	uint32_t target, seq;
	int64_t ts_real_ns;        /* when the verdict was reached (CLOCK_REALTIME) */
	int64_t connect_ns;        /* connect() to connected, in user space; -1: not connected */
	int64_t tls_ns;            /* the (first) TLS handshake; -1: none */
	int64_t check_ns;          /* connect() to the verdict */
	uint16_t sport;            /* the connection's source port (0: none) */
	uint8_t kind;              /* enum check_kind */
	struct check_verdict v;
	struct tls_info tls;       /* tls.version[0] == 0: no TLS on this check */
};

struct checker_config {
	const struct check_spec *specs; /* indexed by check_req.spec; must outlive the checker */
	size_t n_specs;
	uint16_t port_lo, port_hi;  /* source ports; 0, 0: the kernel's ephemeral ones */
	uint32_t max_in_flight;     /* connections at once; 0: 1024 */
	uint32_t max_per_host;      /* connections at once to one address; 0: 4 */
	uint32_t full_every;        /* TLS: a full handshake every this many checks of a target, the rest
	                               resumed (0: 16; 1: never resume) */
	int64_t linger_ns;          /* after the verdict, how long to wait for the server's goodbye
	                               before closing; 0: 200 ms */
};

struct checker_stats {
	uint64_t started, done, ok, failed, timeouts;
	uint64_t tls_full, tls_resumed;
	uint64_t queued_now;        /* waiting for a free slot (limits) */
	uint64_t in_flight_now;
};

/* Sets up the checker (TLS contexts for every CA file the specs name are
 * loaded now). Returns 0 and sets *out (free with checker_free), or a
 * negative errno with one line in err. */
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
