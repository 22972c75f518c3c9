/* The reply parser: one captured frame in, at most one verified record out.
 *
 * Everything here is untrusted input from the network, read as root: every
 * offset is checked against caplen before it is read, header lengths are
 * taken from the packet only after they are checked against what the packet
 * holds, and nothing is believed until the sequence cookie proves it:
 *   - our own SYN leaving: its sequence number is the cookie of its tuple;
 *   - SYN-ACK: ack - 1 is the cookie (RFC 9293 3.10.7.3: acceptable if
 *     ISS < SEG.ACK =< SND.NXT, and SND.NXT = ISS + 1 after our SYN);
 *   - RST: in SYN-SENT a reset is acceptable only if its ACK acknowledges
 *     our SYN (RFC 9293 3.10.7.3), so a RST without ACK, or with any other
 *     ack, is rejected;
 *   - ICMP(v6) destination unreachable: the quoted header must be our probe,
 *     its sequence number our cookie (RFC 792 quotes at least 8 bytes of
 *     the transport header: ports and sequence number are in them).
 * Pure: no allocation, no state, any thread. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "capture/capture.h"
#include "common/wire.h"

#define ETH_HDR_LEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define SLL_HDR_LEN 16
#define SLL2_HDR_LEN 20
#define NULL_HDR_LEN 4
#define MAX_VLAN_TAGS 2
/* BSD address families as DLT_NULL / DLT_LOOP carry them */
#define BSD_AF_INET 2
#define BSD_AF_INET6_A 24 /* NetBSD, OpenBSD */
#define BSD_AF_INET6_B 28 /* FreeBSD */
#define BSD_AF_INET6_C 30 /* macOS */
#define LINUX_AF_INET6 10
/* IPv6 extension headers we step over to find the transport header */
#define EXT_HOPOPTS 0
#define EXT_ROUTING 43
#define EXT_FRAGMENT 44
#define EXT_DSTOPTS 60
#define IPV6_MAX_EXT 8

/* One IP packet, its addresses and where its payload is. */
struct l3 {
	struct sw_addr src, dst;
	const uint8_t *payload;
	size_t len;     /* payload bytes present (captured and within the IP length) */
	size_t claimed; /* payload bytes the IP header claims (may exceed len in a quote) */
	uint8_t proto;
	uint8_t ttl;
	bool fragment;  /* not the first fragment, or a fragment at all */
};

static bool linktype_known(int linktype)
{
	switch (linktype) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return true;
	default:
		return false;
	}
}

/* Finds the IP header behind the link-layer header. Returns the network
 * layer bytes and sets *ethertype_family to AF_INET/AF_INET6 (0: unknown). */
static const uint8_t *link_strip(int linktype, const uint8_t *pkt, size_t caplen, size_t *len, int *family)
{
	size_t off;
	uint16_t type;

	*family = 0;
	switch (linktype) {
	case DLT_EN10MB:
		if (caplen < ETH_HDR_LEN)
			return NULL;
		off = ETH_HDR_LEN;
		type = rd16(pkt + 12);
		for (int i = 0; i < MAX_VLAN_TAGS && (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ); i++) {
			if (caplen < off + 4)
				return NULL;
			type = rd16(pkt + off + 2);
			off += 4;
		}
		break;
	case DLT_LINUX_SLL:
		if (caplen < SLL_HDR_LEN)
			return NULL;
		off = SLL_HDR_LEN;
		type = rd16(pkt + 14);
		break;
	case DLT_LINUX_SLL2:
		if (caplen < SLL2_HDR_LEN)
			return NULL;
		off = SLL2_HDR_LEN;
		type = rd16(pkt);
		break;
	case DLT_NULL:
	case DLT_LOOP: {
		if (caplen < NULL_HDR_LEN)
			return NULL;
		uint32_t af = linktype == DLT_LOOP ? rd32(pkt)
						   : (uint32_t)pkt[0] | (uint32_t)pkt[1] << 8 |
							     (uint32_t)pkt[2] << 16 | (uint32_t)pkt[3] << 24;
		if (af > 0xffff) /* written big-endian by a host of the other order */
			af = (af >> 24) | ((af >> 8) & 0xff00);
		off = NULL_HDR_LEN;
		if (af == BSD_AF_INET)
			type = ETHERTYPE_IPV4;
		else if (af == BSD_AF_INET6_A || af == BSD_AF_INET6_B || af == BSD_AF_INET6_C || af == LINUX_AF_INET6)
			type = ETHERTYPE_IPV6;
		else
			type = 0;
		break;
	}
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		off = 0;
		type = 0; /* from the version nibble */
		break;
	default:
		return NULL;
	}
	*len = caplen - off;
	if (*len == 0)
		return NULL;
	if (type == 0 && (linktype == DLT_RAW || linktype == DLT_IPV4 || linktype == DLT_IPV6))
		type = (pkt[off] >> 4) == 4 ? ETHERTYPE_IPV4 : (pkt[off] >> 4) == 6 ? ETHERTYPE_IPV6 : 0;
	*family = type == ETHERTYPE_IPV4 ? AF_INET : type == ETHERTYPE_IPV6 ? AF_INET6 : 0;
	return pkt + off;
}

/* Parses an IPv4 header. quoted: the packet is the header quoted inside an
 * ICMP error, so its payload may be cut short (only 8 bytes are promised). */
static int parse_ipv4(const uint8_t *p, size_t len, bool quoted, struct l3 *out)
{
	if (len < IPV4_HDR_LEN || (p[0] >> 4) != 4)
		return -EINVAL;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	size_t total = rd16(p + 2);
	if (ihl < IPV4_HDR_LEN || total < ihl || len < ihl)
		return -EINVAL;
	(void)quoted; /* a quote may be cut after 8 bytes: len, not total, bounds every read */
	addr_from_v4(&out->src, 0);
	addr_from_v4(&out->dst, 0);
	memcpy(out->src.u.b, p + 12, 4);
	memcpy(out->dst.u.b, p + 16, 4);
	out->proto = p[9];
	out->ttl = p[8];
	/* MF set or an offset: only the first fragment has the transport header */
	out->fragment = (rd16(p + 6) & 0x1fff) != 0;
	out->payload = p + ihl;
	out->claimed = total - ihl;
	out->len = len - ihl;
	if (out->len > out->claimed)
		out->len = out->claimed; /* Ethernet padding is not payload */
	return 0;
}

static int parse_ipv6(const uint8_t *p, size_t len, struct l3 *out)
{
	if (len < IPV6_HDR_LEN || (p[0] >> 4) != 6)
		return -EINVAL;
	size_t plen = rd16(p + 4);
	out->src.family = AF_INET6;
	out->dst.family = AF_INET6;
	memset(out->src.pad, 0, sizeof(out->src.pad));
	memset(out->dst.pad, 0, sizeof(out->dst.pad));
	memcpy(out->src.u.b, p + 8, 16);
	memcpy(out->dst.u.b, p + 24, 16);
	out->ttl = p[7];
	out->fragment = false;
	uint8_t next = p[6];
	size_t off = IPV6_HDR_LEN;
	size_t avail = len - IPV6_HDR_LEN < plen ? len - IPV6_HDR_LEN : plen;
	size_t end = IPV6_HDR_LEN + avail;
	for (int i = 0; i < IPV6_MAX_EXT; i++) {
		if (next != EXT_HOPOPTS && next != EXT_ROUTING && next != EXT_DSTOPTS && next != EXT_FRAGMENT)
			break;
		if (off + 8 > end)
			return -EINVAL;
		if (next == EXT_FRAGMENT) {
			if (rd16(p + off + 2) & 0xfff8)
				out->fragment = true; /* not the first fragment */
			next = p[off];
			off += 8;
			continue;
		}
		size_t elen = ((size_t)p[off + 1] + 1) * 8;
		next = p[off];
		off += elen;
		if (off > end)
			return -EINVAL;
	}
	if (off > IPV6_HDR_LEN + plen)
		return -EINVAL;
	out->proto = next;
	out->payload = p + off;
	out->len = end - off;
	out->claimed = IPV6_HDR_LEN + plen - off;
	return 0;
}

static int parse_ip(const uint8_t *p, size_t len, int family, bool quoted, struct l3 *out)
{
	if (family == 0 && len > 0)
		family = (p[0] >> 4) == 4 ? AF_INET : (p[0] >> 4) == 6 ? AF_INET6 : 0;
	if (family == AF_INET)
		return parse_ipv4(p, len, quoted, out);
	if (family == AF_INET6)
		return parse_ipv6(p, len, out);
	return -EINVAL;
}

static bool in_range(const struct capture_filter *f, uint16_t port)
{
	return port >= f->port_lo && port <= f->port_hi;
}

static enum capture_parse_result parse_tcp(const struct l3 *ip, int64_t ts, const struct capture_filter *f,
					   struct capture_rec *out)
{
	const uint8_t *t = ip->payload;

	if (ip->fragment)
		return CAPTURE_PARSE_IGNORED; /* we send no fragments; replies to SYNs are not fragmented */
	if (ip->len < TCP_HDR_LEN)
		return CAPTURE_PARSE_MALFORMED;
	size_t doff = (size_t)(t[12] >> 4) * 4;
	if (doff < TCP_HDR_LEN || doff > ip->claimed)
		return CAPTURE_PARSE_MALFORMED;
	uint16_t sport = rd16(t), dport = rd16(t + 2);
	uint32_t seq = rd32(t + 4), ack = rd32(t + 8);
	uint8_t flags = t[13];

	memset(out, 0, sizeof(*out));
	out->ts_real_ns = ts;
	if (in_range(f, dport)) {
		/* a reply to us */
		out->local = ip->dst;
		out->remote = ip->src;
		out->local_port = dport;
		out->remote_port = sport;
		out->ttl = ip->ttl;
		out->tcp_window = rd16(t + 14);
		if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) == (TCP_SYN | TCP_ACK))
			out->kind = CAPTURE_SYNACK;
		else if ((flags & (TCP_RST | TCP_ACK)) == (TCP_RST | TCP_ACK) && !(flags & TCP_SYN))
			out->kind = CAPTURE_RST;
		else if (flags & TCP_RST)
			return CAPTURE_PARSE_BAD_COOKIE; /* a reset that acknowledges nothing proves nothing */
		else
			return CAPTURE_PARSE_IGNORED;
		if (!cookie_check(f->key, &out->local, &out->remote, out->local_port, out->remote_port, ack - 1,
				  f->max_attempt, &out->attempt))
			return CAPTURE_PARSE_BAD_COOKIE;
		return CAPTURE_PARSE_OK;
	}
	if (in_range(f, sport) && (flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_SYN) {
		/* our own SYN leaving: its wire timestamp */
		out->local = ip->src;
		out->remote = ip->dst;
		out->local_port = sport;
		out->remote_port = dport;
		out->kind = CAPTURE_SYN_OUT;
		if (!cookie_check(f->key, &out->local, &out->remote, sport, dport, seq, f->max_attempt,
				  &out->attempt))
			return CAPTURE_PARSE_IGNORED; /* another program's SYN from our range: not ours */
		return CAPTURE_PARSE_OK;
	}
	return CAPTURE_PARSE_IGNORED;
}

/* An echo of ours (request out, or reply in) is proven by its data: the
 * cookie and its complement (engine/packet.c), for the identifier (our
 * "source port") and the attempt. Returns false if the data is missing. */
static bool echo_cookie(const uint8_t *icmp, size_t len, uint32_t *cookie)
{
	if (len < ICMP_HDR_LEN + 8)
		return false;
	*cookie = rd32(icmp + ICMP_HDR_LEN);
	return rd32(icmp + ICMP_HDR_LEN + 4) == ~*cookie;
}

static bool is_echo(int family, uint8_t type, bool request)
{
	if (family == AF_INET)
		return type == (request ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY);
	return type == (request ? ICMP6_ECHO_REQUEST : ICMP6_ECHO_REPLY);
}

/* Echo request leaving (its wire stamp) or echo reply arriving. */
static enum capture_parse_result parse_echo(const struct l3 *ip, int family, int64_t ts,
					    const struct capture_filter *f, struct capture_rec *out)
{
	const uint8_t *m = ip->payload;
	bool request = is_echo(family, m[0], true);
	uint16_t ident = rd16(m + 4);
	uint32_t cookie;

	if (!in_range(f, ident))
		return CAPTURE_PARSE_IGNORED; /* somebody's ping */
	memset(out, 0, sizeof(*out));
	out->ts_real_ns = ts;
	out->local = request ? ip->src : ip->dst;
	out->remote = request ? ip->dst : ip->src;
	out->local_port = ident;
	out->kind = request ? CAPTURE_SYN_OUT : CAPTURE_ECHO_REPLY;
	out->ttl = request ? 0 : ip->ttl;
	if (!echo_cookie(m, ip->len, &cookie) ||
	    !cookie_check(f->key, &out->local, &out->remote, ident, 0, cookie, f->max_attempt, &out->attempt))
		return request ? CAPTURE_PARSE_IGNORED : CAPTURE_PARSE_BAD_COOKIE;
	return CAPTURE_PARSE_OK;
}

static enum capture_parse_result parse_icmp(const struct l3 *ip, int family, int64_t ts,
					    const struct capture_filter *f, struct capture_rec *out)
{
	const uint8_t *m = ip->payload;
	struct l3 q;
	uint16_t sport, dport = 0;
	uint32_t seq;

	if (ip->fragment)
		return CAPTURE_PARSE_IGNORED;
	if (ip->len < ICMP_HDR_LEN)
		return CAPTURE_PARSE_MALFORMED;
	uint8_t type = m[0], code = m[1];
	if (is_echo(family, type, true) || is_echo(family, type, false))
		return parse_echo(ip, family, ts, f, out);
	if ((family == AF_INET && type != ICMP_DEST_UNREACH) || (family == AF_INET6 && type != ICMP6_DEST_UNREACH))
		return CAPTURE_PARSE_IGNORED;
	/* the quote: the offending IP header and at least 8 bytes after it */
	if (parse_ip(m + ICMP_HDR_LEN, ip->len - ICMP_HDR_LEN, family, true, &q) < 0)
		return CAPTURE_PARSE_MALFORMED;
	if (q.proto == IPPROTO_TCP_NUM) {
		if (q.len < 8)
			return CAPTURE_PARSE_MALFORMED;
		sport = rd16(q.payload);
		dport = rd16(q.payload + 2);
		seq = rd32(q.payload + 4);
	} else if (q.proto == (family == AF_INET ? IPPROTO_ICMP_NUM : IPPROTO_ICMPV6_NUM) && q.len >= ICMP_HDR_LEN &&
		   is_echo(family, q.payload[0], true)) {
		/* a ping of ours that did not arrive; only a quote long
		 * enough to hold the cookie proves it (most do: RFC 1812
		 * 4.3.2.3 asks routers to quote as much as fits) */
		sport = rd16(q.payload + 4);
		if (!in_range(f, sport))
			return CAPTURE_PARSE_IGNORED;
		if (!echo_cookie(q.payload, q.len, &seq))
			return CAPTURE_PARSE_BAD_COOKIE;
	} else {
		return q.proto == IPPROTO_TCP_NUM ? CAPTURE_PARSE_MALFORMED : CAPTURE_PARSE_IGNORED;
	}
	if (!in_range(f, sport))
		return CAPTURE_PARSE_IGNORED;
	/* the quoted probe was ours only if it came from the reply's destination */
	if (!addr_equal(&q.src, &ip->dst))
		return CAPTURE_PARSE_BAD_COOKIE;

	memset(out, 0, sizeof(*out));
	out->ts_real_ns = ts;
	out->kind = CAPTURE_UNREACH;
	out->local = q.src;
	out->remote = q.dst;
	out->from = ip->src;
	out->local_port = sport;
	out->remote_port = dport;
	out->ttl = ip->ttl;
	out->icmp_type = type;
	out->icmp_code = code;
	if (!cookie_check(f->key, &out->local, &out->remote, sport, dport, seq, f->max_attempt, &out->attempt))
		return CAPTURE_PARSE_BAD_COOKIE;
	return CAPTURE_PARSE_OK;
}

enum capture_parse_result capture_parse(int linktype, const uint8_t *pkt, size_t caplen, int64_t ts_real_ns,
					const struct capture_filter *f, struct capture_rec *out)
{
	struct l3 ip;
	size_t len;
	int family;
	const uint8_t *p = link_strip(linktype, pkt, caplen, &len, &family);

	if (!p)
		return caplen == 0 || linktype_known(linktype) ? CAPTURE_PARSE_MALFORMED : CAPTURE_PARSE_IGNORED;
	if (family == 0)
		return CAPTURE_PARSE_IGNORED; /* ARP, LLDP, ... */
	if (parse_ip(p, len, family, false, &ip) < 0)
		return CAPTURE_PARSE_MALFORMED;
	if (ip.proto == IPPROTO_TCP_NUM)
		return parse_tcp(&ip, ts_real_ns, f, out);
	if ((family == AF_INET && ip.proto == IPPROTO_ICMP_NUM) || (family == AF_INET6 && ip.proto == IPPROTO_ICMPV6_NUM))
		return parse_icmp(&ip, family, ts_real_ns, f, out);
	return CAPTURE_PARSE_IGNORED;
}

/* pcap filter text for "the 16 bits at OFFSET are in [lo, hi]" */
#define IN_RANGE(off) off " >= %u and " off " <= %u"
/* the quoted transport header of an ICMP error starts after the quoted
 * IPv4 header, whose length is in its first byte at icmp[8] */
#define QUOTE4 "icmp[8 + ((icmp[8] & 0xf) << 2)"

int capture_filter_expr(char *buf, size_t len, uint16_t lo, uint16_t hi)
{
	/* - replies: TCP to our port range (v4 and v6 without extension headers);
	 * - our own SYNs leaving: from the range, SYN without ACK (tcp[] in
	 *   a filter reads IPv4 only: for IPv6 the TCP header is at ip6[40]);
	 * - ICMP destination unreachable (type 3) quoting TCP (quoted protocol
	 *   byte at icmp[8 + 9] = 6) from our range, or quoting one of our
	 *   echo requests (protocol 1, its identifier 4 bytes into the quote);
	 * - ICMP echo requests and replies (types 8, 0) whose identifier
	 *   (icmp[4:2]) is in our range: our pings out, their answers in;
	 * - the same for ICMPv6 without extension headers: unreachable (type
	 *   1) quoting TCP (next header at ip6[48 + 6], source port at
	 *   ip6[48 + 40]) or ICMPv6 (identifier at ip6[48 + 40 + 4]); echo
	 *   request and reply (128, 129) with the identifier at ip6[44]. */
	int n = snprintf(buf, len,
			 "(tcp dst portrange %u-%u) or "
			 "(tcp src portrange %u-%u and tcp[13] & 0x17 == 0x02) or "
			 "(ip6 and ip6[6] == 6 and " IN_RANGE("ip6[40:2]") " and ip6[53] & 0x17 == 0x02) or "
			 "(icmp and icmp[0] == 3 and icmp[17] == 6 and " IN_RANGE(QUOTE4 ":2]") ") or "
			 "(icmp and icmp[0] == 3 and icmp[17] == 1 and " IN_RANGE(QUOTE4 " + 4:2]") ") or "
			 "(icmp and (icmp[0] == 0 or icmp[0] == 8) and " IN_RANGE("icmp[4:2]") ") or "
			 "(icmp6 and ip6[6] == 58 and ip6[40] == 1 and ip6[54] == 6 and " IN_RANGE("ip6[88:2]") ") or "
			 "(icmp6 and ip6[6] == 58 and ip6[40] == 1 and ip6[54] == 58 and " IN_RANGE("ip6[92:2]") ") or "
			 "(icmp6 and ip6[6] == 58 and (ip6[40] == 128 or ip6[40] == 129) and " IN_RANGE("ip6[44:2]") ")",
			 lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}
