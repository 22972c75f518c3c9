/* The records that cross threads, through rings (common/ring.h):
 *   scheduler -> sender:     struct probe_req
 *   sender    -> scheduler:  struct send_report
 *   capture   -> scheduler:  struct capture_rec
 *   scheduler -> store:      struct probe_result
 * Plain data, fixed size, no pointers. Times: *_real_ns are CLOCK_REALTIME
 * nanoseconds (comparable with pcap stamps), *_mono_ns CLOCK_MONOTONIC. */
#ifndef SW_PROBE_H
#define SW_PROBE_H

#include <stdint.h>

#include "common/addr.h"

/* Highest attempt number a probe can carry (retries <= PROBE_MAX_ATTEMPT). */
#define PROBE_MAX_ATTEMPT 15

/* One SYN to send. */
struct probe_req {
	struct sw_addr src;  /* our source address (from the route lookup) */
	struct sw_addr dst;  /* the target */
	uint64_t seq;        /* request number, +1 per request, echoed in send_report */
	uint32_t target;     /* target index, opaque to the sender */
	uint16_t sport;      /* our source port, inside the reserved range */
	uint16_t dport;      /* the target port */
	uint8_t attempt;     /* 0 for the first SYN of a check, +1 per retransmission */
	uint8_t path;        /* link path (engine/linkpath.h), 0: through the IP stack */
	uint8_t pad[6];
};

enum send_report_kind {
	SEND_REPORT_SENT,   /* requests [seq, seq + count) left the socket at the stamps */
	SEND_REPORT_FAILED, /* request seq could not be sent: err */
};

/* Sender's account of what it did, one record per sendmmsg batch (and one
 * per failed request), so the scheduler learns real send times without a
 * record per packet. */
struct send_report {
	uint64_t seq;         /* first request number covered */
	int64_t ts_real_ns;   /* CLOCK_REALTIME just before the batch was handed to the kernel */
	uint64_t ts_mono_ns;  /* CLOCK_MONOTONIC, same instant */
	uint32_t count;       /* SENT: how many consecutive requests */
	int32_t err;          /* FAILED: positive errno (ENETUNREACH, EPERM, ...) */
	uint8_t kind;         /* enum send_report_kind */
	uint8_t pad[7];
};

enum capture_kind {
	CAPTURE_SYN_OUT,      /* our own SYN (or echo request) seen leaving: its wire timestamp */
	CAPTURE_SYNACK,       /* SYN-ACK acknowledging our SYN: port open */
	CAPTURE_RST,          /* RST-ACK acknowledging our SYN: port closed */
	CAPTURE_UNREACH,      /* ICMP(v6) destination unreachable quoting our SYN or echo */
	CAPTURE_ECHO_REPLY,   /* ICMP(v6) echo reply to our ping (remote_port 0): host up */
};

/* A packet the capture parsed and whose cookie it verified. Records whose
 * cookie failed never leave capture/ (they are only counted). */
struct capture_rec {
	int64_t ts_real_ns;     /* pcap timestamp (CLOCK_REALTIME, ns) */
	struct sw_addr local;   /* our address: the probe's source */
	struct sw_addr remote;  /* the target: the probe's destination */
	struct sw_addr from;    /* UNREACH: who sent the ICMP (a router, or the target) */
	uint16_t local_port;    /* the probe's source port */
	uint16_t remote_port;   /* the probe's destination port */
	uint8_t kind;           /* enum capture_kind */
	uint8_t attempt;        /* decoded from the cookie */
	uint8_t ttl;            /* TTL / hop limit of the reply (0 for SYN_OUT) */
	uint8_t icmp_type;      /* UNREACH: ICMP type (3, or 1 for ICMPv6) */
	uint8_t icmp_code;      /* UNREACH: ICMP code */
	uint8_t pad[3];
	uint32_t tcp_window;    /* SYNACK/RST: the reply's window, for fingerprinting */
};

enum probe_state {
	PROBE_OPEN,        /* SYN-ACK */
	PROBE_CLOSED,      /* RST */
	PROBE_UNREACHABLE, /* ICMP destination unreachable (icmp_code says which) */
	PROBE_FILTERED,    /* no answer after the timeout and every retry */
	PROBE_ERROR,       /* could not be sent (err says why) */
	PROBE_STATE_COUNT,
};

/* One finished check of one target. */
struct probe_result {
	int64_t ts_real_ns;    /* when the answer arrived, or when the check gave up */
	int64_t rtt_ns;        /* reply stamp - send stamp of the answered attempt; -1 if none */
	struct sw_addr from;   /* UNREACH: sender of the ICMP; else unset */
	uint32_t target;       /* target index */
	int32_t err;           /* ERROR: positive errno */
	uint8_t state;         /* enum probe_state */
	uint8_t attempt;       /* the attempt answered (or the last one sent) */
	uint8_t ttl;           /* reply TTL / hop limit; 0 without a reply */
	uint8_t icmp_type;     /* UNREACHABLE: ICMP type */
	uint8_t icmp_code;     /* UNREACHABLE: ICMP code */
	uint8_t rtt_approx;    /* 1: our SYN was not seen on the wire, the send
	                          stamp is the sender's (see docs/timestamps.md) */
	uint8_t check;         /* the port's service check (enum check_kind, common/check.h); 0: none */
	uint8_t verdict;       /* enum probe_verdict: what the port's last service check said */
	uint8_t ok_streak;     /* continuous mode: the target's consecutive successes ... */
	uint8_t fail_streak;   /* ... or failures, as its state counts them after this result
	                          (saturating at 255; the state hash keeps them for a restart) */
};

/* What a port's service check said (common/check.h), as the state machine
 * takes it: the SYN answers, but the service may not. */
enum probe_verdict {
	VERDICT_NONE,            /* no check, or it passed */
	VERDICT_CHECK_FAILED,    /* the service said no (or nothing): a failure */
	VERDICT_CERT_UNVERIFIED, /* verify: true and the chain or the name failed: a failure */
	VERDICT_CERT_EXPIRED,    /* expired, or fewer than cert_crit_days left: a failure */
	VERDICT_CERT_EXPIRING,   /* fewer than cert_warn_days left: degraded */
	VERDICT_PENDING,         /* not checked yet */
};

/* A verdict that makes the port a failure. */
static inline int probe_verdict_fails(uint8_t v)
{
	return v == VERDICT_CHECK_FAILED || v == VERDICT_CERT_UNVERIFIED || v == VERDICT_CERT_EXPIRED;
}

/* "open", "closed", ... */
const char *probe_state_name(enum probe_state s);

enum event_kind {
	EVENT_STATE,           /* a target changed state (from, to, reason) */
	EVENT_HOST_DOWN,       /* every watched port of a host is down */
	EVENT_HOST_UP,         /* a host that was down has a port up again */
	EVENT_PROBER_ISOLATED, /* this prober lost its own connectivity: down transitions are held */
	EVENT_PROBER_OK,       /* ... and has it back */
	EVENT_ADDRESS_CHANGED, /* a hostname resolves to other addresses now */
	EVENT_KIND_COUNT,
};

/* One event: scheduler -> store. Ids count up from 1 per prober run; the
 * store makes them globally unique by prefixing the run id. */
struct sw_event {
	int64_t ts_real_ns;     /* when it happened (the deciding result's time) */
	int64_t since_ns;       /* STATE: when the previous state began (0: unknown);
	                           HOST_UP / PROBER_OK: when the outage began */
	int64_t rtt_ns;         /* STATE: the last RTT (-1: none); slow: the window's p95 */
	uint64_t id;            /* this event */
	uint64_t host_event;    /* STATE: the id of the HOST_DOWN event its host is in, 0 if none */
	struct sw_addr addr;    /* HOST_*: the host; ADDRESS_CHANGED: an address it had before */
	uint32_t target;        /* STATE, ADDRESS_CHANGED: a target id; HOST_*: one of its targets */
	uint32_t count;         /* HOST_*: watched ports; PROBER_*: failing share in permille */
	uint8_t kind;           /* enum event_kind */
	uint8_t from, to;       /* STATE: enum target_state; HOST_*: to = the host's ping check's state
	                           (TARGET_UNKNOWN without one) */
	uint8_t reason;         /* STATE: enum state_reason */
	uint8_t probe_state;    /* STATE: enum probe_state of the deciding result */
	uint8_t icmp_code;      /* STATE, reason unreachable: the code */
	uint8_t check;          /* STATE: the target's service check (enum check_kind), 0: none */
	uint8_t detail;         /* 1: a text goes with it (the check's error), on the store's second
	                           ring just before it (daemon/daemon.c) */
};

/* "state", "host_down", ... */
const char *event_kind_name(enum event_kind k);


#endif
