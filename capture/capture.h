/* capture/: libpcap handles, the kernel BPF filter, the reply parser and the
 * cookie check. Produces struct capture_rec (common/probe.h); decides no
 * state. */
#ifndef SW_CAPTURE_H
#define SW_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/probe.h"
#include "common/cookie.h"

struct ring;

/* What the parser needs to know to accept a packet. */
struct capture_filter {
	uint16_t port_lo, port_hi;      /* our source-port range */
	uint8_t max_attempt;            /* highest attempt number in use */
	const struct cookie_key *key;
};

enum capture_parse_result {
	CAPTURE_PARSE_OK,         /* *out filled: ours, cookie verified */
	CAPTURE_PARSE_IGNORED,    /* well-formed but not for us (other ports, flags, ICMP types) */
	CAPTURE_PARSE_MALFORMED,  /* truncated or inconsistent headers */
	CAPTURE_PARSE_BAD_COOKIE, /* looks like a reply to us but the ack proves nothing */
};

/* Parses one captured frame of pcap link type `linktype` (DLT_EN10MB,
 * DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_NULL,
 * DLT_LOOP). Pure: no allocation, any thread; every length is checked. */
enum capture_parse_result capture_parse(int linktype, const uint8_t *pkt, size_t caplen, int64_t ts_real_ns,
					const struct capture_filter *f, struct capture_rec *out);

/* The pcap filter expression for the port range (replies to us, our own
 * SYNs leaving, ICMP unreachables quoting a probe from our range). */
int capture_filter_expr(char *buf, size_t len, uint16_t port_lo, uint16_t port_hi);

struct capture;

struct capture_config {
	const char *const *ifnames;  /* interfaces to open, e.g. "veth0", "lo" */
	size_t n_ifnames;
	struct capture_filter filter;
	size_t buffer_bytes;         /* per handle; 0 means 64 MiB */
};

struct capture_stats {
	uint64_t packets;     /* frames seen by the parser */
	uint64_t accepted;    /* records handed on */
	uint64_t ignored;
	uint64_t malformed;
	uint64_t bad_cookie;  /* forged or foreign replies */
	uint64_t pcap_recv;   /* summed pcap_stats ps_recv */
	uint64_t pcap_drop;   /* summed ps_drop: the buffer overflowed */
	uint64_t pcap_ifdrop; /* summed ps_ifdrop */
};

/* Opens one live handle per interface (immediate mode, nanosecond stamps,
 * the buffer size, the BPF filter, non-blocking). Needs CAP_NET_RAW.
 * Returns 0 and sets *out (free with capture_close), or a negative errno
 * after logging the pcap error naming the interface. */
int capture_open(struct capture **out, const struct capture_config *cfg);

/* Starts the receiver thread, which writes struct capture_rec to out (it is
 * the ring's only producer; if the ring is full it waits, never drops). */
int capture_start(struct capture *c, struct ring *out);
/* Stops and joins the receiver thread after draining what pcap holds. */
void capture_stop(struct capture *c);
void capture_close(struct capture *c); /* NULL is a no-op; stops first */
/* Counters, any thread. pcap_* are refreshed by the receiver about every 100 ms
 * and once more in capture_stop. */
void capture_get_stats(const struct capture *c, struct capture_stats *out);
/* The pcap buffers of all handles together, in bytes (the kernel's rings,
 * mapped into this process: resident once the traffic has filled them). */
size_t capture_buffer_bytes(const struct capture *c);

#endif
