/* engine/packet: SYN templates and per-probe patching, ICMP echo requests.
 * Pure, any thread. Wire offsets and checksums are common/wire.h. */
#ifndef SW_PACKET_H
#define SW_PACKET_H

#include <stddef.h>
#include <stdint.h>

struct sw_addr;

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

#endif
