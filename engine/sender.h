/* engine/sender: the sender thread (raw and packet sockets, sendmmsg
 * batches paced by engine/rate). Reads struct probe_req, writes struct
 * send_report (common/probe.h). */
#ifndef SW_SENDER_H
#define SW_SENDER_H

#include <stdint.h>
#include <stdio.h>

struct cookie_key;
struct link_paths;
struct ring;

struct sender;

struct sender_config {
	uint64_t rate_pps;           /* 0: as fast as possible */
	unsigned batch;              /* sendmmsg batch, 1..1024; 0 means 64 */
	uint8_t ttl;                 /* 0 means PACKET_DEFAULT_TTL (engine/packet.h) */
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
