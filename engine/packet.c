/* SYN templates. A probe differs from the next only in addresses, ports,
 * sequence number, IP ID and TSval, so the template holds everything else
 * already laid out, with the one's-complement sums of those constant bytes.
 * Building a probe is then a 60-byte copy, a few stores and adding the
 * variable words to the precomputed sums: checksums stay O(variable fields)
 * instead of O(packet) (RFC 1071 sums are order-independent, so a partial sum
 * over the constant words plus the variable words equals the full sum).
 * See docs/packets.md for the byte layout and why each field has its value. */
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/wire.h"
#include "engine/packet.h"

/* Offsets inside the IPv4 header */
#define IP4_OFF_TOTLEN 2
#define IP4_OFF_ID 4
#define IP4_OFF_FRAG 6
#define IP4_OFF_TTL 8
#define IP4_OFF_PROTO 9
#define IP4_OFF_SUM 10
#define IP4_OFF_SRC 12
#define IP4_OFF_DST 16
#define IP4_DF 0x4000

/* Offsets inside the IPv6 header */
#define IP6_OFF_PLEN 4
#define IP6_OFF_NXT 6
#define IP6_OFF_HLIM 7
#define IP6_OFF_SRC 8
#define IP6_OFF_DST 24

/* Offsets inside the TCP header (from its start) */
#define TCP_OFF_SPORT 0
#define TCP_OFF_DPORT 2
#define TCP_OFF_SEQ 4
#define TCP_OFF_ACK 8
#define TCP_OFF_DOFF 12
#define TCP_OFF_FLAGS 13
#define TCP_OFF_WIN 14
#define TCP_OFF_SUM 16
#define TCP_OFF_URG 18
#define TCP_OFF_OPT 20
/* TSval's place: after MSS (4 bytes), SACK_PERM (2), kind and length (2) */
#define TCP_OFF_TSVAL (TCP_OFF_OPT + 4 + 2 + 2)

#define SYN_OPT_LEN 20
#define SYN_TCP_LEN (TCP_HDR_LEN + SYN_OPT_LEN)
/* What Linux offers in a fresh SYN: 64240 = 44 * 1460, the initial receive
 * window rounded to whole MSS (see docs/packets.md). */
#define SYN_WINDOW 64240
#define SYN_WSCALE 7

static void put_options(uint8_t *o, uint16_t mss)
{
	/* The order of tcp_options_write() for a Linux client: MSS, SACK
	 * permitted folded into the timestamp option's first two bytes,
	 * timestamp, then NOP + window scale. */
	o[0] = 2;              /* MSS */
	o[1] = 4;
	wr16(o + 2, mss);
	o[4] = 4;              /* SACK permitted */
	o[5] = 2;
	o[6] = 8;              /* timestamp: TSval patched per probe, TSecr 0 */
	o[7] = 10;
	memset(o + 8, 0, 8);
	o[16] = 1;             /* NOP */
	o[17] = 3;             /* window scale */
	o[18] = 3;
	o[19] = SYN_WSCALE;
}

static void put_tcp(uint8_t *tcp, uint16_t mss)
{
	memset(tcp, 0, SYN_TCP_LEN);      /* ports, seq, ack, checksum, urgent */
	tcp[TCP_OFF_DOFF] = (SYN_TCP_LEN / 4) << 4;
	tcp[TCP_OFF_FLAGS] = TCP_SYN;
	wr16(tcp + TCP_OFF_WIN, SYN_WINDOW);
	put_options(tcp + TCP_OFF_OPT, mss);
}

void packet_syn_template_init(struct syn_template *t, uint8_t family, uint8_t ttl)
{
	uint8_t *ip = t->bytes, *tcp;

	memset(t, 0, sizeof(*t));
	t->family = family;
	if (family == AF_INET6) {
		t->l3_len = IPV6_HDR_LEN;
		t->len = IPV6_HDR_LEN + SYN_TCP_LEN;
		tcp = ip + IPV6_HDR_LEN;
		/* version 6, traffic class 0, flow label 0: no flow label keeps
		 * every probe of a tuple on the same ECMP path */
		ip[0] = 0x60;
		wr16(ip + IP6_OFF_PLEN, SYN_TCP_LEN);
		ip[IP6_OFF_NXT] = IPPROTO_TCP_NUM;
		ip[IP6_OFF_HLIM] = ttl;
		put_tcp(tcp, PACKET_MSS_V6);
		t->ip_sum0 = 0; /* IPv6 has no header checksum */
	} else {
		t->family = AF_INET;
		t->l3_len = IPV4_HDR_LEN;
		t->len = IPV4_HDR_LEN + SYN_TCP_LEN;
		tcp = ip + IPV4_HDR_LEN;
		ip[0] = 0x45;
		ip[1] = 0; /* TOS: what an ordinary client sends */
		wr16(ip + IP4_OFF_TOTLEN, t->len);
		wr16(ip + IP4_OFF_FRAG, IP4_DF);
		ip[IP4_OFF_TTL] = ttl;
		ip[IP4_OFF_PROTO] = IPPROTO_TCP_NUM;
		/* id, checksum and addresses are zero here, so they add nothing */
		t->ip_sum0 = csum_add(0, ip, IPV4_HDR_LEN);
		put_tcp(tcp, PACKET_MSS_V4);
	}
	/* The pseudo-header's constant part is the protocol and the TCP
	 * length, the same words for IPv4 (RFC 793) and IPv6 (RFC 8200 8.1);
	 * the addresses are variable and added per probe. */
	t->tcp_sum0 = csum_add(0, tcp, SYN_TCP_LEN) + IPPROTO_TCP_NUM + SYN_TCP_LEN;
}

static uint32_t sum32(uint32_t v)
{
	return (v >> 16) + (v & 0xffff);
}

size_t packet_build_syn(const struct syn_template *t, uint8_t *buf, const struct sw_addr *src,
			const struct sw_addr *dst, uint16_t sport, uint16_t dport, uint32_t isn,
			uint16_t ip_id, uint32_t ts_val)
{
	uint8_t *tcp = buf + t->l3_len;
	uint32_t tsum = t->tcp_sum0;

	/* A probe whose addresses do not fit the template would go out
	 * malformed: build nothing and let the caller report it. */
	if (src->family != t->family || dst->family != t->family)
		return 0;
	memcpy(buf, t->bytes, t->len);
	if (t->family == AF_INET) {
		uint32_t s = rd32(src->u.b), d = rd32(dst->u.b);
		uint32_t isum = t->ip_sum0 + ip_id + sum32(s) + sum32(d);

		wr16(buf + IP4_OFF_ID, ip_id);
		memcpy(buf + IP4_OFF_SRC, src->u.b, 4);
		memcpy(buf + IP4_OFF_DST, dst->u.b, 4);
		wr16(buf + IP4_OFF_SUM, csum_fold(isum));
		tsum += sum32(s) + sum32(d);
	} else {
		/* ip_id unused: IPv6 has no ID outside a fragment header */
		memcpy(buf + IP6_OFF_SRC, src->u.b, 16);
		memcpy(buf + IP6_OFF_DST, dst->u.b, 16);
		tsum = csum_add(tsum, src->u.b, 16);
		tsum = csum_add(tsum, dst->u.b, 16);
	}
	wr16(tcp + TCP_OFF_SPORT, sport);
	wr16(tcp + TCP_OFF_DPORT, dport);
	wr32(tcp + TCP_OFF_SEQ, isn);
	wr32(tcp + TCP_OFF_TSVAL, ts_val);
	/* tcp_sum0 (21 words) plus at most 22 more: far from a carry out of 32 bits */
	tsum += (uint32_t)sport + dport + sum32(isn) + sum32(ts_val);
	wr16(tcp + TCP_OFF_SUM, csum_fold(tsum));
	return t->len;
}

/* An ICMP echo (IPv4 type 8, ICMPv6 type 128) for ping targets. The
 * identifier is the probe's "source port" from the reserved range, so the
 * capture filter and the scheduler treat pings like SYNs; the sequence is
 * the attempt; the 8 data bytes are the cookie and its complement, which
 * the reply must echo (RFC 792, RFC 4443 4.2): only we can have sent them.
 * Built whole each time: 36 or 56 bytes are not worth a template. */
size_t packet_build_echo(uint8_t *buf, const struct sw_addr *src, const struct sw_addr *dst, uint16_t ident,
			 uint16_t seq, uint32_t cookie, uint16_t ip_id, uint8_t ttl)
{
	uint8_t *icmp;
	size_t l3;

	if (src->family != dst->family || (src->family != AF_INET && src->family != AF_INET6))
		return 0;
	l3 = src->family == AF_INET ? IPV4_HDR_LEN : IPV6_HDR_LEN;
	memset(buf, 0, l3 + PACKET_ECHO_LEN);
	icmp = buf + l3;
	icmp[0] = src->family == AF_INET ? ICMP_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
	wr16(icmp + 4, ident);
	wr16(icmp + 6, seq);
	wr32(icmp + ICMP_HDR_LEN, cookie);
	wr32(icmp + ICMP_HDR_LEN + 4, ~cookie);
	if (src->family == AF_INET) {
		buf[0] = 0x45;
		wr16(buf + IP4_OFF_TOTLEN, (uint16_t)(IPV4_HDR_LEN + PACKET_ECHO_LEN));
		wr16(buf + IP4_OFF_ID, ip_id);
		wr16(buf + IP4_OFF_FRAG, IP4_DF);
		buf[IP4_OFF_TTL] = ttl;
		buf[IP4_OFF_PROTO] = IPPROTO_ICMP_NUM;
		memcpy(buf + IP4_OFF_SRC, src->u.b, 4);
		memcpy(buf + IP4_OFF_DST, dst->u.b, 4);
		wr16(buf + IP4_OFF_SUM, csum_fold(csum_add(0, buf, IPV4_HDR_LEN)));
		wr16(icmp + 2, csum_fold(csum_add(0, icmp, PACKET_ECHO_LEN)));
	} else {
		buf[0] = 0x60;
		wr16(buf + IP6_OFF_PLEN, PACKET_ECHO_LEN);
		buf[IP6_OFF_NXT] = IPPROTO_ICMPV6_NUM;
		buf[IP6_OFF_HLIM] = ttl;
		memcpy(buf + IP6_OFF_SRC, src->u.b, 16);
		memcpy(buf + IP6_OFF_DST, dst->u.b, 16);
		/* ICMPv6 sums a pseudo-header too (RFC 4443 2.3) */
		uint32_t sum = csum_add(0, src->u.b, 16);
		sum = csum_add(sum, dst->u.b, 16);
		sum += PACKET_ECHO_LEN + IPPROTO_ICMPV6_NUM;
		wr16(icmp + 2, csum_fold(csum_add(sum, icmp, PACKET_ECHO_LEN)));
	}
	return l3 + PACKET_ECHO_LEN;
}
