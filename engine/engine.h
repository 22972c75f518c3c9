/* engine/: everything that puts a probe on the wire.
 *   packet  - SYN templates and per-probe patching (pure, any thread)
 *   rate    - the rate limiter arithmetic (pure, any thread)
 *   route   - route and source-address lookup via libnl (start-up, main thread)
 *   sender  - the sender thread: raw socket, sendmmsg batches
 *   reserve - net.ipv4.ip_local_reserved_ports
 * The cookie is in common/cookie.h. */
#ifndef SW_ENGINE_H
#define SW_ENGINE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/addr.h"
#include "common/cookie.h"

struct ring;

/* ---- packet ---- */

/* Longest SYN we build: IPv6 header + TCP header + 20 bytes of options. */
#define PACKET_SYN_MAX 80
#define PACKET_DEFAULT_TTL 64
#define PACKET_MSS_V4 1460
#define PACKET_MSS_V6 1440

/* A prebuilt SYN for one address family: the fixed bytes and the partial
 * checksums of the fixed fields, so that each probe costs a copy and a few
 * incremental checksum updates (RFC 1624). TCP options imitate a Linux
 * client (MSS, SACK permitted, timestamps, NOP, window scale 7); see
 * docs/packets.md for why. */
struct syn_template {
	uint8_t bytes[PACKET_SYN_MAX];
	uint16_t len;        /* whole packet: IP header + TCP header + options */
	uint8_t family;      /* AF_INET or AF_INET6 */
	uint8_t l3_len;      /* IP header length */
	uint32_t ip_sum0;    /* IPv4 header sum over the fixed fields (unfolded) */
	uint32_t tcp_sum0;   /* TCP sum over fixed header fields, options and the
	                        pseudo-header's constant part (unfolded) */
};

void packet_syn_template_init(struct syn_template *t, uint8_t family, uint8_t ttl);

/* Writes one SYN into buf (at least t->len bytes) and returns its length.
 * ts_val is the TCP timestamp option's TSval. No allocation, any thread. */
size_t packet_build_syn(const struct syn_template *t, uint8_t *buf, const struct sw_addr *src,
			const struct sw_addr *dst, uint16_t sport, uint16_t dport, uint32_t isn,
			uint16_t ip_id, uint32_t ts_val);

/* ICMP echo for ping targets (port 0): header and 8 bytes of data */
#define PACKET_ECHO_LEN 16

/* Writes an ICMP (AF_INET) or ICMPv6 echo request into buf (at least
 * PACKET_SYN_MAX bytes): identifier ident, sequence seq, data = cookie and
 * ~cookie. Returns its length, 0 if the families do not match. */
size_t packet_build_echo(uint8_t *buf, const struct sw_addr *src, const struct sw_addr *dst, uint16_t ident,
			 uint16_t seq, uint32_t cookie, uint16_t ip_id, uint8_t ttl);

/* ---- rate ---- */

/* Paces packets at pps on a monotonic nanosecond clock: packet k is due at
 * start + k / pps, computed exactly (no drift). If the sender falls behind
 * by more than max_lag_ns (20 ms, or 64 packets at low rates) the debt is
 * forgiven, so a long stall is never followed
 * by a burst, and time spent idle earns no credit. */
struct rate_limiter {
	uint64_t pps;
	uint64_t next_ns;     /* when the next packet is due */
	uint64_t rem;         /* fractional nanoseconds carried, in units of 1/pps ns */
	uint64_t max_lag_ns;
};

/* pps 0 means unlimited. */
void rate_init(struct rate_limiter *r, uint64_t pps, uint64_t now_ns);
/* How many packets (at most max) are due at now. Does not consume them. */
uint32_t rate_due(struct rate_limiter *r, uint64_t now_ns, uint32_t max);
/* Marks n packets as sent, advancing the schedule. */
void rate_take(struct rate_limiter *r, uint32_t n);
/* The monotonic time the next packet is due (now_ns if already due). */
uint64_t rate_next_ns(const struct rate_limiter *r);
/* Called when there was nothing to send at now: earns no credit for idling. */
void rate_idle(struct rate_limiter *r, uint64_t now_ns);

/* ---- route ---- */

struct route_info {
	int ifindex;
	char ifname[IF_NAMESIZE];
	struct sw_addr src;      /* the source address to use */
	struct sw_addr gateway;  /* next hop, family 0 when the target is on-link */
	bool local;              /* the destination is an address of this host (loopback) */
	bool ether_gateway;      /* routed through one gateway on an Ethernet link (a link path can
	                            carry it, see link paths below) */
};

struct route_table;

/* Dumps routes (main and local tables), links and addresses over netlink
 * (libnl-route). Returns 0 and sets *out (free with route_table_free), or a
 * negative errno. Main thread, start-up and reload. */
int route_table_load(struct route_table **out);
void route_table_free(struct route_table *rt);

/* Longest-prefix match for dst. Returns 0 and fills *out, -ENETUNREACH when
 * no route matches (or the route is unreachable/blackhole/prohibit), or
 * -EADDRNOTAVAIL when the outgoing interface has no address of the family. */
int route_lookup(const struct route_table *rt, const struct sw_addr *dst, struct route_info *out);

/* For --interface: the interface's index and its primary address of family. */
int route_iface(const struct route_table *rt, const char *ifname, uint8_t family, struct route_info *out);

/* libnl helpers shared with the link paths: libnl's error as a negative
 * errno; a libnl IPv4/IPv6 address as ours (false for anything else). */
struct nl_addr;
int route_nl_errno(int nlerr);
bool route_nl_addr(struct sw_addr *out, const struct nl_addr *a);

/* ---- link paths ---- */

/* An IPv4 target routed through one gateway on an Ethernet link can skip
 * the IP stack: the sender hands its SYN to an AF_PACKET socket with the
 * gateway's MAC, which is what the IP stack would have put on the wire,
 * for about 12 % less sender CPU per probe (docs/operations.md). The IP
 * stack's netfilter OUTPUT/POSTROUTING hooks (and so SNAT) are then not
 * passed; the netdev egress hook, qdiscs and packet taps still are.
 * A path is (interface, gateway). Its MAC comes from the kernel's neighbour
 * table, re-read every second: while the entry is missing or failed, the
 * path's probes go through the raw IP socket, which also makes the kernel
 * resolve it. Paths are only added, never removed, during a run. */
#define LINK_PATHS_MAX 32

struct link_paths;

/* Opens the netlink socket the refreshes use. Main thread. */
int link_paths_new(struct link_paths **out);
void link_paths_free(struct link_paths *lp); /* NULL is a no-op */
/* The path (1..LINK_PATHS_MAX) for a target routed as ri, added if new;
 * 0 when it cannot take one (not an IPv4 Ethernet gateway, or the table
 * is full). Main thread. */
unsigned link_paths_intern(struct link_paths *lp, const struct route_info *ri);
/* Re-reads the neighbour table and publishes each path's MAC. With
 * wait_ns > 0, paths without a usable entry are asked to resolve (ARP)
 * and waited for up to wait_ns. Logs each path's change between the link
 * layer and the IP stack. Returns how many paths have a MAC, or a
 * negative errno. Main thread. */
int link_paths_refresh(struct link_paths *lp, uint64_t wait_ns);
/* How many paths there are. */
unsigned link_paths_count(const struct link_paths *lp);
/* The sender's read: path idx's interface and gateway MAC; false when the
 * path has no MAC now. Any thread, lock-free. */
bool link_path_get(const struct link_paths *lp, unsigned idx, int *ifindex, uint8_t mac[6]);

/* ---- reserved ports ---- */

/* Adds [lo, hi] to net.ipv4.ip_local_reserved_ports of the current network
 * namespace (also covers IPv6) unless already covered. Returns 1 if it
 * changed the setting, 0 if it was already there, negative errno. */
int ports_reserve(uint16_t lo, uint16_t hi);

/* ---- sender ---- */

struct sender;

struct sender_config {
	uint64_t rate_pps;           /* 0: as fast as possible */
	unsigned batch;              /* sendmmsg batch, 1..1024; 0 means 64 */
	uint8_t ttl;                 /* 0 means PACKET_DEFAULT_TTL */
	const struct cookie_key *key;
	FILE *dry_run;               /* non-NULL: print packets here (hex) instead of sending */
};

struct sender_stats {
	uint64_t sent;       /* packets accepted by the kernel */
	uint64_t failed;     /* requests that got a FAILED report */
	uint64_t batches;    /* sendmmsg calls */
	uint64_t enobufs;    /* ENOBUFS retries (the kernel's queue was full) */
	uint64_t link;       /* of sent: on a link path (AF_PACKET), accepted by the kernel */
	uint64_t dropped;    /* of sent: link-path frames the kernel dropped on the way out (an
	                        egress filter, a full qdisc); the raw socket drops such packets
	                        without a word */
};

/* Opens the raw IPv4 socket (IP_HDRINCL) with a large send buffer. Returns
 * the fd or a negative errno (-EPERM without CAP_NET_RAW). */
int rawsock_open_v4(void);
/* The AF_PACKET socket of the link paths (SOCK_DGRAM: the kernel writes the
 * Ethernet header from the address; protocol 0: it receives nothing). */
int packetsock_open(void);
/* The same for IPv6 (IPV6_HDRINCL, Linux 4.5+). */
int rawsock_open_v6(void);

/* Creates the sender. It will read struct probe_req from reqs and write
 * struct send_report to reports (it owns the producer side of reports, the
 * consumer side of reqs). fd4 is owned by the sender from now on (closed by
 * sender_free); it may be -1 with dry_run. */
int sender_new(struct sender **out, const struct sender_config *cfg, int fd4, struct ring *reqs,
	       struct ring *reports);
/* Gives the sender an IPv6 raw socket (it owns it from now on); without
 * one, IPv6 probes fail with EAFNOSUPPORT. Before sender_start. */
void sender_set_v6(struct sender *s, int fd6);
/* Gives the sender the AF_PACKET socket (owned from now on) and the link
 * paths that probe_req.path names (kept by the caller, must outlive the
 * sender). Without it every probe goes through the raw IP sockets. Before
 * sender_start. */
void sender_set_link(struct sender *s, int fd, const struct link_paths *lp);
/* Starts the sender thread. */
int sender_start(struct sender *s);
/* Asks the thread to stop after its current batch and joins it. */
void sender_stop(struct sender *s);
void sender_free(struct sender *s); /* NULL is a no-op; stops first if running */
/* Counters, any thread (relaxed atomic reads). */
void sender_get_stats(const struct sender *s, struct sender_stats *out);

#endif
