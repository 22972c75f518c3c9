/* capture/parse: every link type, replies accepted only with a valid cookie,
 * truncated and malformed frames rejected, and the kernel filter run in
 * libpcap's own BPF interpreter against the same frames. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "capture/capture.h"
#include "common/wire.h"
#include "engine/packet.h"

#define LO 61000
#define HI 61999
#define MAXF 512

static struct cookie_key key = { { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 } };

static struct sw_addr ip(const char *s)
{
	struct sw_addr a;
	assert_int_equal(addr_parse(&a, s), 0);
	return a;
}

static struct capture_filter filt(void)
{
	return (struct capture_filter){ .port_lo = LO, .port_hi = HI, .max_attempt = 2, .key = &key };
}

/* An IP header (v4: 20 bytes, v6: 40) in front of len bytes of payload. */
static size_t put_ip(uint8_t *p, const struct sw_addr *src, const struct sw_addr *dst, uint8_t proto,
		     size_t payload, uint8_t ttl)
{
	if (src->family == AF_INET) {
		memset(p, 0, IPV4_HDR_LEN);
		p[0] = 0x45;
		wr16(p + 2, (uint16_t)(IPV4_HDR_LEN + payload));
		p[8] = ttl;
		p[9] = proto;
		memcpy(p + 12, src->u.b, 4);
		memcpy(p + 16, dst->u.b, 4);
		wr16(p + 10, csum_fold(csum_add(0, p, IPV4_HDR_LEN)));
		return IPV4_HDR_LEN;
	}
	memset(p, 0, IPV6_HDR_LEN);
	p[0] = 0x60;
	wr16(p + 4, (uint16_t)payload);
	p[6] = proto;
	p[7] = ttl;
	memcpy(p + 8, src->u.b, 16);
	memcpy(p + 24, dst->u.b, 16);
	return IPV6_HDR_LEN;
}

static size_t put_tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	memset(p, 0, TCP_HDR_LEN);
	wr16(p, sport);
	wr16(p + 2, dport);
	wr32(p + 4, seq);
	wr32(p + 8, ack);
	p[12] = 5 << 4;
	p[13] = flags;
	wr16(p + 14, 65160);
	return TCP_HDR_LEN;
}

/* A TCP segment from src to dst in an IP packet; returns its length. */
static size_t tcp_packet(uint8_t *p, const char *src, const char *dst, uint16_t sport, uint16_t dport, uint32_t seq,
			 uint32_t ack, uint8_t flags)
{
	struct sw_addr s = ip(src), d = ip(dst);
	size_t n = put_ip(p, &s, &d, IPPROTO_TCP_NUM, TCP_HDR_LEN, 57);
	return n + put_tcp(p + n, sport, dport, seq, ack, flags);
}

/* Our SYN from 198.18.0.1:61010 to 198.18.1.2:443, attempt a. */
static uint32_t isn(const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t a)
{
	struct sw_addr s = ip(src), d = ip(dst);
	return cookie_isn(&key, &s, &d, sport, dport, a);
}

/* An ICMP(v6) unreachable from `from` to `to` quoting `quote` (qlen bytes). */
static size_t icmp_packet(uint8_t *p, const char *from, const char *to, uint8_t type, uint8_t code,
			  const uint8_t *quote, size_t qlen)
{
	struct sw_addr f = ip(from), t = ip(to);
	uint8_t proto = f.family == AF_INET ? IPPROTO_ICMP_NUM : IPPROTO_ICMPV6_NUM;
	size_t n = put_ip(p, &f, &t, proto, ICMP_HDR_LEN + qlen, 250);
	memset(p + n, 0, ICMP_HDR_LEN);
	p[n] = type;
	p[n + 1] = code;
	memcpy(p + n + ICMP_HDR_LEN, quote, qlen);
	return n + ICMP_HDR_LEN + qlen;
}

/* Wraps an IP packet in the link-layer header of linktype. */
static size_t frame(int linktype, uint8_t *out, const uint8_t *ipp, size_t len)
{
	size_t h = 0;
	bool v6 = (ipp[0] >> 4) == 6;

	switch (linktype) {
	case DLT_EN10MB:
		memset(out, 0, 12);
		out[0] = 0x02;
		wr16(out + 12, v6 ? 0x86dd : 0x0800);
		h = 14;
		break;
	case -1: /* Ethernet with two VLAN tags */
		memset(out, 0, 12);
		wr16(out + 12, 0x88a8);
		wr16(out + 14, 100);
		wr16(out + 16, 0x8100);
		wr16(out + 18, 200);
		wr16(out + 20, v6 ? 0x86dd : 0x0800);
		h = 22;
		break;
	case DLT_LINUX_SLL:
		memset(out, 0, 16);
		wr16(out + 14, v6 ? 0x86dd : 0x0800);
		h = 16;
		break;
	case DLT_LINUX_SLL2:
		memset(out, 0, 20);
		wr16(out, v6 ? 0x86dd : 0x0800);
		h = 20;
		break;
	case DLT_NULL: /* host order, little-endian here */
		memset(out, 0, 4);
		out[0] = v6 ? 30 : 2;
		h = 4;
		break;
	case DLT_LOOP:
		memset(out, 0, 4);
		out[3] = v6 ? 24 : 2;
		h = 4;
		break;
	default: /* DLT_RAW, DLT_IPV4, DLT_IPV6 */
		break;
	}
	memcpy(out + h, ipp, len);
	return h + len;
}

static enum capture_parse_result parse(int linktype, const uint8_t *ipp, size_t len, struct capture_rec *rec)
{
	uint8_t f[MAXF];
	struct capture_filter cf = filt();
	int lt = linktype == -1 ? DLT_EN10MB : linktype;
	size_t n = frame(linktype, f, ipp, len);
	return capture_parse(lt, f, n, 1234567890123456789LL, &cf, rec);
}

/* What the parser makes of a TCP segment arriving over Ethernet (rec
 * filled when it is OK). */
static enum capture_parse_result tcp_verdict(struct capture_rec *rec, const char *src, const char *dst,
					     uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
					     uint8_t flags)
{
	uint8_t p[MAXF];
	size_t n = tcp_packet(p, src, dst, sport, dport, seq, ack, flags);

	return parse(DLT_EN10MB, p, n, rec);
}

/* ... and of an ICMP error from 'from' to 'to' quoting qlen bytes of q. */
static enum capture_parse_result icmp_verdict(struct capture_rec *rec, const char *from, const char *to,
					      uint8_t type, uint8_t code, const uint8_t *q, size_t qlen)
{
	uint8_t p[MAXF];
	size_t n = icmp_packet(p, from, to, type, code, q, qlen);

	return parse(DLT_EN10MB, p, n, rec);
}

static const int linktypes[] = { DLT_EN10MB, -1, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, DLT_RAW, DLT_IPV4 };

static void test_synack_every_linktype(void **state)
{
	(void)state;
	uint8_t p[MAXF];
	uint32_t s = isn("198.18.0.1", "198.18.1.2", 61010, 443, 0);
	size_t n = tcp_packet(p, "198.18.1.2", "198.18.0.1", 443, 61010, 777, s + 1, TCP_SYN | TCP_ACK);

	for (size_t i = 0; i < sizeof(linktypes) / sizeof(linktypes[0]); i++) {
		struct capture_rec rec;
		assert_int_equal(parse(linktypes[i], p, n, &rec), CAPTURE_PARSE_OK);
		assert_int_equal(rec.kind, CAPTURE_SYNACK);
		assert_int_equal(rec.attempt, 0);
		assert_int_equal(rec.local_port, 61010);
		assert_int_equal(rec.remote_port, 443);
		assert_int_equal(rec.ttl, 57);
		assert_int_equal(rec.tcp_window, 65160);
		assert_int_equal(rec.ts_real_ns, 1234567890123456789LL);
		struct sw_addr l = ip("198.18.0.1"), r = ip("198.18.1.2");
		assert_true(addr_equal(&rec.local, &l));
		assert_true(addr_equal(&rec.remote, &r));
	}
}

static void test_synack_bad_ack(void **state)
{
	(void)state;
	struct capture_rec rec;
	uint32_t s = isn("198.18.0.1", "198.18.1.2", 61010, 443, 0);
	uint32_t wrong[] = { s, s + 2, 0, ~s, s ^ 0x80000000u };

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		assert_int_equal(tcp_verdict(&rec, "198.18.1.2", "198.18.0.1", 443, 61010, 777, wrong[i],
					     TCP_SYN | TCP_ACK),
				 CAPTURE_PARSE_BAD_COOKIE);
	/* the right ack from the wrong host, or to the wrong port */
	assert_int_equal(tcp_verdict(&rec, "198.18.1.3", "198.18.0.1", 443, 61010, 777, s + 1,
				     TCP_SYN | TCP_ACK),
			 CAPTURE_PARSE_BAD_COOKIE);
	assert_int_equal(tcp_verdict(&rec, "198.18.1.2", "198.18.0.1", 80, 61010, 777, s + 1,
				     TCP_SYN | TCP_ACK),
			 CAPTURE_PARSE_BAD_COOKIE);
	assert_int_equal(tcp_verdict(&rec, "198.18.1.2", "198.18.0.1", 443, 61011, 777, s + 1,
				     TCP_SYN | TCP_ACK),
			 CAPTURE_PARSE_BAD_COOKIE);
}

static void test_attempts(void **state)
{
	(void)state;
	uint8_t p[MAXF];
	struct capture_rec rec;

	for (uint8_t a = 0; a <= 3; a++) {
		uint32_t s = isn("198.18.0.1", "198.18.1.2", 61010, 443, a);
		size_t n = tcp_packet(p, "198.18.1.2", "198.18.0.1", 443, 61010, 1, s + 1, TCP_SYN | TCP_ACK);
		if (a <= 2) {
			assert_int_equal(parse(DLT_EN10MB, p, n, &rec), CAPTURE_PARSE_OK);
			assert_int_equal(rec.attempt, a);
		} else {
			/* beyond the retries in use: nothing we sent */
			assert_int_equal(parse(DLT_EN10MB, p, n, &rec), CAPTURE_PARSE_BAD_COOKIE);
		}
	}
}

static void test_rst_rules(void **state)
{
	(void)state;
	uint8_t p[MAXF];
	struct capture_rec rec;
	uint32_t s = isn("198.18.0.1", "198.18.1.2", 61010, 22, 1);
	size_t n;

	n = tcp_packet(p, "198.18.1.2", "198.18.0.1", 22, 61010, 0, s + 1, TCP_RST | TCP_ACK);
	assert_int_equal(parse(DLT_LINUX_SLL2, p, n, &rec), CAPTURE_PARSE_OK);
	assert_int_equal(rec.kind, CAPTURE_RST);
	assert_int_equal(rec.attempt, 1);
	/* RFC 9293: in SYN-SENT a reset without ACK is not acceptable */
	assert_int_equal(tcp_verdict(&rec, "198.18.1.2", "198.18.0.1", 22, 61010, s + 1, 0, TCP_RST),
			 CAPTURE_PARSE_BAD_COOKIE);
	/* ... nor one whose ack is not ISN + 1 */
	assert_int_equal(tcp_verdict(&rec, "198.18.1.2", "198.18.0.1", 22, 61010, 0, s, TCP_RST | TCP_ACK),
			 CAPTURE_PARSE_BAD_COOKIE);
	/* SYN+RST is nonsense */
	assert_int_not_equal(tcp_verdict(&rec, "198.18.1.2", "198.18.0.1", 22, 61010, 0, s + 1,
					 TCP_RST | TCP_ACK | TCP_SYN),
			     CAPTURE_PARSE_OK);
	/* a plain ACK or data to our range: not a reply to a SYN */
	assert_int_equal(tcp_verdict(&rec, "198.18.1.2", "198.18.0.1", 22, 61010, 0, s + 1, TCP_ACK),
			 CAPTURE_PARSE_IGNORED);
}

static void test_syn_out(void **state)
{
	(void)state;
	uint8_t pkt[PACKET_SYN_MAX];
	struct syn_template t;
	struct capture_rec rec;
	struct sw_addr s = ip("198.18.0.1"), d = ip("198.18.1.2");

	/* the real thing, as the sender builds it */
	packet_syn_template_init(&t, AF_INET, 64);
	size_t n = packet_build_syn(&t, pkt, &s, &d, 61500, 8080, isn("198.18.0.1", "198.18.1.2", 61500, 8080, 2),
				    7, 99);
	assert_int_equal(parse(DLT_EN10MB, pkt, n, &rec), CAPTURE_PARSE_OK);
	assert_int_equal(rec.kind, CAPTURE_SYN_OUT);
	assert_int_equal(rec.attempt, 2);
	assert_int_equal(rec.local_port, 61500);
	assert_int_equal(rec.remote_port, 8080);
	assert_true(addr_equal(&rec.local, &s));
	/* a SYN from our range that is not ours (wrong sequence) */
	assert_int_equal(tcp_verdict(&rec, "198.18.0.1", "198.18.1.2", 61500, 8080, 12345, 0, TCP_SYN),
			 CAPTURE_PARSE_IGNORED);
	/* the kernel's RST to a SYN-ACK, leaving from our range: ignored */
	assert_int_equal(tcp_verdict(&rec, "198.18.0.1", "198.18.1.2", 61500, 8080, 12345, 0, TCP_RST),
			 CAPTURE_PARSE_IGNORED);
	/* traffic outside our range */
	assert_int_equal(tcp_verdict(&rec, "198.18.1.2", "198.18.0.1", 443, 40000, 0, 1, TCP_SYN | TCP_ACK),
			 CAPTURE_PARSE_IGNORED);
}

static void test_icmp_unreach(void **state)
{
	(void)state;
	uint8_t q[MAXF], p[MAXF];
	struct capture_rec rec;
	uint32_t s = isn("198.18.0.1", "198.18.1.2", 61010, 443, 0);
	size_t qn = tcp_packet(q, "198.18.0.1", "198.18.1.2", 61010, 443, s, 0, TCP_SYN);

	/* the whole SYN quoted, and only the 8 bytes RFC 792 promises */
	size_t lens[] = { qn, IPV4_HDR_LEN + 8 };
	for (size_t i = 0; i < 2; i++) {
		size_t n = icmp_packet(p, "198.18.9.9", "198.18.0.1", ICMP_DEST_UNREACH, 13, q, lens[i]);
		assert_int_equal(parse(DLT_LINUX_SLL, p, n, &rec), CAPTURE_PARSE_OK);
		assert_int_equal(rec.kind, CAPTURE_UNREACH);
		assert_int_equal(rec.icmp_type, 3);
		assert_int_equal(rec.icmp_code, 13);
		assert_int_equal(rec.ttl, 250);
		struct sw_addr from = ip("198.18.9.9"), r = ip("198.18.1.2");
		assert_true(addr_equal(&rec.from, &from));
		assert_true(addr_equal(&rec.remote, &r));
		assert_int_equal(rec.local_port, 61010);
		assert_int_equal(rec.remote_port, 443);
	}
	/* fewer than 8 bytes of TCP quoted: the sequence number is missing */
	assert_int_equal(icmp_verdict(&rec, "198.18.9.9", "198.18.0.1", 3, 1, q, IPV4_HDR_LEN + 6),
			 CAPTURE_PARSE_MALFORMED);
	/* a quote with the wrong sequence number */
	qn = tcp_packet(q, "198.18.0.1", "198.18.1.2", 61010, 443, s + 1, 0, TCP_SYN);
	assert_int_equal(icmp_verdict(&rec, "198.18.9.9", "198.18.0.1", 3, 1, q, qn),
			 CAPTURE_PARSE_BAD_COOKIE);
	/* a quote of a SYN some other host sent (quoted source is not the ICMP's destination) */
	qn = tcp_packet(q, "198.18.0.7", "198.18.1.2", 61010, 443, s, 0, TCP_SYN);
	assert_int_equal(icmp_verdict(&rec, "198.18.9.9", "198.18.0.1", 3, 1, q, qn),
			 CAPTURE_PARSE_BAD_COOKIE);
	/* other ICMP types: echo reply, time exceeded */
	qn = tcp_packet(q, "198.18.0.1", "198.18.1.2", 61010, 443, s, 0, TCP_SYN);
	assert_int_equal(icmp_verdict(&rec, "198.18.9.9", "198.18.0.1", 0, 0, q, qn), CAPTURE_PARSE_IGNORED);
	assert_int_equal(icmp_verdict(&rec, "198.18.9.9", "198.18.0.1", 11, 0, q, qn), CAPTURE_PARSE_IGNORED);
}

static void test_ipv6(void **state)
{
	(void)state;
	uint8_t p[MAXF], q[MAXF];
	struct capture_rec rec;
	uint32_t s = isn("2001:db8::1", "2001:db8:1::2", 61010, 443, 0);
	size_t n = tcp_packet(p, "2001:db8:1::2", "2001:db8::1", 443, 61010, 5, s + 1, TCP_SYN | TCP_ACK);

	assert_int_equal(parse(DLT_EN10MB, p, n, &rec), CAPTURE_PARSE_OK);
	assert_int_equal(rec.kind, CAPTURE_SYNACK);
	assert_int_equal(parse(DLT_IPV6, p, n, &rec), CAPTURE_PARSE_OK);
	assert_int_equal(parse(DLT_NULL, p, n, &rec), CAPTURE_PARSE_OK);

	/* behind a hop-by-hop options header (8 bytes of padding options) */
	uint8_t e[MAXF];
	memcpy(e, p, IPV6_HDR_LEN);
	e[6] = 0;
	wr16(e + 4, (uint16_t)(8 + TCP_HDR_LEN));
	memset(e + IPV6_HDR_LEN, 0, 8);
	e[IPV6_HDR_LEN] = IPPROTO_TCP_NUM;
	e[IPV6_HDR_LEN + 2] = 1; /* PadN */
	e[IPV6_HDR_LEN + 3] = 4;
	memcpy(e + IPV6_HDR_LEN + 8, p + IPV6_HDR_LEN, TCP_HDR_LEN);
	assert_int_equal(parse(DLT_EN10MB, e, n + 8, &rec), CAPTURE_PARSE_OK);
	/* an extension header running past the packet */
	e[IPV6_HDR_LEN + 1] = 200;
	assert_int_equal(parse(DLT_EN10MB, e, n + 8, &rec), CAPTURE_PARSE_MALFORMED);

	/* ICMPv6 destination unreachable (type 1) code 4 (port unreachable) */
	size_t qn = tcp_packet(q, "2001:db8::1", "2001:db8:1::2", 61010, 443, s, 0, TCP_SYN);
	assert_int_equal(icmp_verdict(&rec, "2001:db8:1::2", "2001:db8::1", ICMP6_DEST_UNREACH, 4, q, qn),
			 CAPTURE_PARSE_OK);
	assert_int_equal(rec.kind, CAPTURE_UNREACH);
	assert_int_equal(rec.icmp_type, 1);
	assert_int_equal(rec.icmp_code, 4);
	/* ICMPv4 type numbering inside IPv6 is not an unreachable */
	assert_int_equal(icmp_verdict(&rec, "2001:db8:1::2", "2001:db8::1", 3, 4, q, qn),
			 CAPTURE_PARSE_IGNORED);
}

/* Every prefix of a valid frame: never OK before the headers are whole,
 * never a read past caplen (ASan watches: the prefix is copied to a buffer
 * of exactly that size). */
static void test_truncation(void **state)
{
	(void)state;
	uint8_t q[MAXF], f[MAXF];
	struct capture_filter cf = filt();
	struct capture_rec rec;
	uint32_t s = isn("198.18.0.1", "198.18.1.2", 61010, 443, 0);
	size_t qn = tcp_packet(q, "198.18.0.1", "198.18.1.2", 61010, 443, s, 0, TCP_SYN);
	size_t pkts[2];
	uint8_t all[2][MAXF];

	pkts[0] = tcp_packet(all[0], "198.18.1.2", "198.18.0.1", 443, 61010, 777, s + 1, TCP_SYN | TCP_ACK);
	pkts[1] = icmp_packet(all[1], "198.18.9.9", "198.18.0.1", 3, 3, q, qn);
	for (int k = 0; k < 2; k++) {
		size_t n = frame(DLT_EN10MB, f, all[k], pkts[k]);
		size_t need = k == 0 ? 14 + IPV4_HDR_LEN + TCP_HDR_LEN : 14 + IPV4_HDR_LEN + 8 + IPV4_HDR_LEN + 8;
		for (size_t len = 0; len <= n; len++) {
			uint8_t *cut = malloc(len ? len : 1);
			memcpy(cut, f, len);
			enum capture_parse_result r = capture_parse(DLT_EN10MB, cut, len, 0, &cf, &rec);
			free(cut);
			if (len < need)
				assert_int_not_equal(r, CAPTURE_PARSE_OK);
			else
				assert_int_equal(r, CAPTURE_PARSE_OK);
		}
	}
}

static void test_malformed(void **state)
{
	(void)state;
	uint8_t p[MAXF];
	struct capture_rec rec;
	uint32_t s = isn("198.18.0.1", "198.18.1.2", 61010, 443, 0);
	size_t n = tcp_packet(p, "198.18.1.2", "198.18.0.1", 443, 61010, 777, s + 1, TCP_SYN | TCP_ACK);
	uint8_t b[MAXF];

	memcpy(b, p, n);
	b[0] = 0x44; /* IHL 16 bytes */
	assert_int_equal(parse(DLT_EN10MB, b, n, &rec), CAPTURE_PARSE_MALFORMED);
	memcpy(b, p, n);
	b[0] = 0x4f; /* IHL 60 bytes, beyond the packet */
	assert_int_equal(parse(DLT_EN10MB, b, n, &rec), CAPTURE_PARSE_MALFORMED);
	memcpy(b, p, n);
	wr16(b + 2, 10); /* total length below the header */
	assert_int_equal(parse(DLT_EN10MB, b, n, &rec), CAPTURE_PARSE_MALFORMED);
	memcpy(b, p, n);
	wr16(b + 2, 30); /* total length cuts the TCP header */
	assert_int_equal(parse(DLT_EN10MB, b, n, &rec), CAPTURE_PARSE_MALFORMED);
	memcpy(b, p, n);
	b[IPV4_HDR_LEN + 12] = 4 << 4; /* data offset below 5 */
	assert_int_equal(parse(DLT_EN10MB, b, n, &rec), CAPTURE_PARSE_MALFORMED);
	memcpy(b, p, n);
	b[IPV4_HDR_LEN + 12] = 15 << 4; /* data offset past the segment */
	assert_int_equal(parse(DLT_EN10MB, b, n, &rec), CAPTURE_PARSE_MALFORMED);
	memcpy(b, p, n);
	b[0] = 0x55; /* IP version 5 */
	assert_int_equal(parse(DLT_EN10MB, b, n, &rec), CAPTURE_PARSE_MALFORMED);
	memcpy(b, p, n);
	wr16(b + 6, 0x0010); /* a later fragment */
	assert_int_equal(parse(DLT_EN10MB, b, n, &rec), CAPTURE_PARSE_IGNORED);
	/* Ethernet padding after a short packet is not payload, and harmless */
	memcpy(b, p, n);
	memset(b + n, 0xee, 20);
	assert_int_equal(parse(DLT_EN10MB, b, n + 20, &rec), CAPTURE_PARSE_OK);
	/* not IP at all, and an unknown link type */
	struct capture_filter cf = filt();
	uint8_t arp[42] = { 0 };
	wr16(arp + 12, 0x0806);
	assert_int_equal(capture_parse(DLT_EN10MB, arp, sizeof(arp), 0, &cf, &rec), CAPTURE_PARSE_IGNORED);
	assert_int_equal(capture_parse(DLT_IEEE802_11, arp, sizeof(arp), 0, &cf, &rec), CAPTURE_PARSE_IGNORED);
	assert_int_equal(capture_parse(DLT_EN10MB, arp, 0, 0, &cf, &rec), CAPTURE_PARSE_MALFORMED);
}

/* The kernel filter, run by libpcap's BPF interpreter on Ethernet frames:
 * passes every reply the parser wants, drops the obvious noise. */
static bool bpf_passes(struct bpf_program *prog, const uint8_t *ipp, size_t len)
{
	uint8_t f[MAXF];
	size_t n = frame(DLT_EN10MB, f, ipp, len);
	struct pcap_pkthdr h = { .caplen = (bpf_u_int32)n, .len = (bpf_u_int32)n };
	return pcap_offline_filter(prog, &h, f) != 0;
}

/* Does the filter pass the TCP segment tcp_packet builds, or the ICMP
 * message icmp_packet builds? */
static bool tcp_passes(struct bpf_program *prog, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		       uint32_t seq, uint32_t ack, uint8_t flags)
{
	uint8_t p[MAXF];
	return bpf_passes(prog, p, tcp_packet(p, src, dst, sport, dport, seq, ack, flags));
}

static bool icmp_passes(struct bpf_program *prog, const char *from, const char *to, uint8_t type, uint8_t code,
			const uint8_t *quote, size_t qlen)
{
	uint8_t p[MAXF];
	return bpf_passes(prog, p, icmp_packet(p, from, to, type, code, quote, qlen));
}

static void test_bpf_filter(void **state)
{
	(void)state;
	char expr[2048];
	struct bpf_program prog;
	uint8_t q[MAXF];
	size_t qn;

	assert_int_equal(capture_filter_expr(expr, 10, LO, HI), -ENOSPC);
	assert_true(capture_filter_expr(expr, sizeof(expr), LO, HI) > 0);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 256);
	assert_non_null(dead);
	assert_int_equal(pcap_compile(dead, &prog, expr, 1, PCAP_NETMASK_UNKNOWN), 0);

	assert_true(tcp_passes(&prog, "198.18.1.2", "198.18.0.1", 443, 61010, 1, 2, TCP_SYN | TCP_ACK));
	assert_true(tcp_passes(&prog, "198.18.1.2", "198.18.0.1", 443, LO, 1, 2, TCP_RST | TCP_ACK));
	assert_true(tcp_passes(&prog, "198.18.1.2", "198.18.0.1", 443, HI, 1, 2, TCP_RST | TCP_ACK));
	assert_false(tcp_passes(&prog, "198.18.1.2", "198.18.0.1", 443, HI + 1, 1, 2, TCP_SYN | TCP_ACK));
	assert_false(tcp_passes(&prog, "198.18.1.2", "198.18.0.1", 443, LO - 1, 1, 2, TCP_SYN | TCP_ACK));
	/* our SYN out passes; the kernel's RST out does not */
	assert_true(tcp_passes(&prog, "198.18.0.1", "198.18.1.2", 61010, 443, 1, 0, TCP_SYN));
	assert_false(tcp_passes(&prog, "198.18.0.1", "198.18.1.2", 61010, 443, 1, 0, TCP_RST));
	/* ICMP quoting a SYN from our range (with and without IP options) */
	qn = tcp_packet(q, "198.18.0.1", "198.18.1.2", 61010, 443, 1, 0, TCP_SYN);
	assert_true(icmp_passes(&prog, "198.18.9.9", "198.18.0.1", 3, 1, q, qn));
	uint8_t qo[MAXF];
	memcpy(qo, q, IPV4_HDR_LEN);
	qo[0] = 0x46;
	memset(qo + IPV4_HDR_LEN, 1, 4); /* 4 bytes of NOP options */
	memcpy(qo + IPV4_HDR_LEN + 4, q + IPV4_HDR_LEN, TCP_HDR_LEN);
	assert_true(icmp_passes(&prog, "198.18.9.9", "198.18.0.1", 3, 1, qo, qn + 4));
	/* ... but not quoting another port, nor another ICMP type */
	qn = tcp_packet(q, "198.18.0.1", "198.18.1.2", 50000, 443, 1, 0, TCP_SYN);
	assert_false(icmp_passes(&prog, "198.18.9.9", "198.18.0.1", 3, 1, q, qn));
	qn = tcp_packet(q, "198.18.0.1", "198.18.1.2", 61010, 443, 1, 0, TCP_SYN);
	assert_false(icmp_passes(&prog, "198.18.9.9", "198.18.0.1", 8, 0, q, qn));
	/* IPv6: SYN-ACK, our SYN leaving (not the kernel's RST), ICMPv6 unreachable */
	assert_true(tcp_passes(&prog, "2001:db8:1::2", "2001:db8::1", 443, 61010, 1, 2, TCP_SYN | TCP_ACK));
	assert_true(tcp_passes(&prog, "2001:db8::1", "2001:db8:1::2", 61010, 443, 1, 0, TCP_SYN));
	assert_false(tcp_passes(&prog, "2001:db8::1", "2001:db8:1::2", 61010, 443, 1, 0, TCP_RST));
	qn = tcp_packet(q, "2001:db8::1", "2001:db8:1::2", 61010, 443, 1, 0, TCP_SYN);
	assert_true(icmp_passes(&prog, "2001:db8:1::2", "2001:db8::1", 1, 4, q, qn));
	qn = tcp_packet(q, "2001:db8::1", "2001:db8:1::2", 1000, 443, 1, 0, TCP_SYN);
	assert_false(icmp_passes(&prog, "2001:db8:1::2", "2001:db8::1", 1, 4, q, qn));

	pcap_freecode(&prog);
	pcap_close(dead);
}

/* An echo request of ours as the sender builds it, for ping targets. */
static size_t echo_of(uint8_t *p, const char *src, const char *dst, uint16_t ident, uint8_t attempt)
{
	struct sw_addr s = ip(src), d = ip(dst);
	return packet_build_echo(p, &s, &d, ident, attempt, cookie_isn(&key, &s, &d, ident, 0, attempt), 1, 64);
}

/* The reply a host sends: addresses swapped, type 0 / 129, the rest echoed. */
static size_t reply_of(uint8_t *p, const uint8_t *req, size_t n)
{
	bool v6 = (req[0] >> 4) == 6;
	size_t l3 = v6 ? IPV6_HDR_LEN : IPV4_HDR_LEN;
	struct sw_addr s = { .family = v6 ? AF_INET6 : AF_INET }, d = s;

	memcpy(s.u.b, req + (v6 ? 24 : 16), v6 ? 16 : 4);
	memcpy(d.u.b, req + (v6 ? 8 : 12), v6 ? 16 : 4);
	size_t m = put_ip(p, &s, &d, v6 ? IPPROTO_ICMPV6_NUM : IPPROTO_ICMP_NUM, n - l3, 55);
	memcpy(p + m, req + l3, n - l3);
	p[m] = v6 ? ICMP6_ECHO_REPLY : ICMP_ECHO_REPLY;
	return n;
}

/* The kernel filter passes our echo request (ident) from src to dst, its
 * reply, and an ICMP error (type, code) from 'from' quoting it. */
static void assert_echo_passes(struct bpf_program *prog, const char *src, const char *dst, uint16_t ident,
			       const char *from, uint8_t type, uint8_t code)
{
	uint8_t req[MAXF], p[MAXF];
	size_t n = echo_of(req, src, dst, ident, 0), m;

	assert_true(bpf_passes(prog, req, n));
	m = reply_of(p, req, n);
	assert_true(bpf_passes(prog, p, m));
	m = icmp_packet(p, from, src, type, code, req, n);
	assert_true(bpf_passes(prog, p, m));
}

static void test_echo(void **state)
{
	(void)state;
	uint8_t req[MAXF], p[MAXF];
	struct capture_rec rec;

	for (int v6 = 0; v6 < 2; v6++) {
		const char *src = v6 ? "2001:db8::1" : "198.18.0.1", *dst = v6 ? "2001:db8:1::2" : "198.18.1.2";
		size_t n = echo_of(req, src, dst, 61234, 1);
		/* our ping leaving: its wire stamp */
		assert_int_equal(parse(DLT_EN10MB, req, n, &rec), CAPTURE_PARSE_OK);
		assert_int_equal(rec.kind, CAPTURE_SYN_OUT);
		assert_int_equal(rec.local_port, 61234);
		assert_int_equal(rec.remote_port, 0);
		assert_int_equal(rec.attempt, 1);
		/* the reply */
		size_t m = reply_of(p, req, n);
		assert_int_equal(parse(DLT_EN10MB, p, m, &rec), CAPTURE_PARSE_OK);
		assert_int_equal(rec.kind, CAPTURE_ECHO_REPLY);
		assert_int_equal(rec.attempt, 1);
		assert_int_equal(rec.ttl, 55);
		struct sw_addr r = ip(dst);
		assert_true(addr_equal(&rec.remote, &r));
		/* a reply whose data is not our cookie, or is cut short */
		p[m - 1] ^= 1;
		assert_int_equal(parse(DLT_EN10MB, p, m, &rec), CAPTURE_PARSE_BAD_COOKIE);
		assert_int_equal(parse(DLT_EN10MB, p, m - 8, &rec), CAPTURE_PARSE_BAD_COOKIE);
		/* somebody else's ping (identifier outside our range) */
		n = echo_of(req, src, dst, 1234, 0);
		m = reply_of(p, req, n);
		assert_int_equal(parse(DLT_EN10MB, p, m, &rec), CAPTURE_PARSE_IGNORED);
	}
	/* host unreachable quoting our ping, with and without the cookie quoted */
	size_t n = echo_of(req, "198.18.0.1", "198.18.1.2", 61000, 0);
	size_t m = icmp_packet(p, "198.18.9.9", "198.18.0.1", 3, 1, req, n);
	assert_int_equal(parse(DLT_EN10MB, p, m, &rec), CAPTURE_PARSE_OK);
	assert_int_equal(rec.kind, CAPTURE_UNREACH);
	assert_int_equal(rec.remote_port, 0);
	assert_int_equal(rec.icmp_code, 1);
	m = icmp_packet(p, "198.18.9.9", "198.18.0.1", 3, 1, req, IPV4_HDR_LEN + 8);
	assert_int_equal(parse(DLT_EN10MB, p, m, &rec), CAPTURE_PARSE_BAD_COOKIE);

	/* the kernel filter passes all of these */
	char expr[2048];
	struct bpf_program prog;
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 256);
	assert_true(capture_filter_expr(expr, sizeof(expr), LO, HI) > 0);
	assert_int_equal(pcap_compile(dead, &prog, expr, 1, PCAP_NETMASK_UNKNOWN), 0);
	assert_echo_passes(&prog, "198.18.0.1", "198.18.1.2", 61000, "198.18.9.9", 3, 1);
	assert_echo_passes(&prog, "2001:db8::1", "2001:db8:1::2", 61999, "2001:db8:1::2", 1, 3);
	n = echo_of(req, "198.18.0.1", "198.18.1.2", 60999, 0);
	m = reply_of(p, req, n);
	assert_false(bpf_passes(&prog, p, m));
	pcap_freecode(&prog);
	pcap_close(dead);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synack_every_linktype),
		cmocka_unit_test(test_synack_bad_ack),
		cmocka_unit_test(test_attempts),
		cmocka_unit_test(test_rst_rules),
		cmocka_unit_test(test_syn_out),
		cmocka_unit_test(test_icmp_unreach),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bpf_filter),
		cmocka_unit_test(test_echo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
