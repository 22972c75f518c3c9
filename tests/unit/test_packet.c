/* engine/packet: the SYN byte for byte against an independently built
 * packet, and the incremental checksums against full recomputation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/wire.h"
#include "engine/packet.h"

/* Made with scapy 2.5.0 (python3-scapy, Debian 12), independently of this code:
 *   opts = [("MSS",1460), ("SAckOK",b""), ("Timestamp",(0x0a0b0c0d,0)), ("NOP",None), ("WScale",7)]
 *   raw(IP(src="198.18.0.1", dst="198.18.1.2", id=0x1234, flags="DF", ttl=64, tos=0) /
 *       TCP(sport=61000, dport=80, seq=0x01020304, ack=0, flags="S", window=64240, options=opts))
 * scapy computed both checksums (0x9b60, 0xb730). */
static const uint8_t syn_v4_scapy[60] = {
	0x45, 0x00, 0x00, 0x3c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x9b, 0x60, 0xc6, 0x12, 0x00,
	0x01, 0xc6, 0x12, 0x01, 0x02, 0xee, 0x48, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00,
	0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0xb7, 0x30, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04,
	0x02, 0x08, 0x0a, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* Same tool, the IPv6 twin (MSS 1440):
 *   raw(IPv6(src="2001:db8::1", dst="2001:db8:1::2", hlim=64, tc=0, fl=0) /
 *       TCP(sport=61000, dport=80, seq=0x01020304, ack=0, flags="S", window=64240, options=opts6)) */
static const uint8_t syn_v6_scapy[80] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x28, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xee, 0x48, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04,
	0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0xe8, 0xf6, 0x00, 0x00, 0x02, 0x04, 0x05, 0xa0,
	0x04, 0x02, 0x08, 0x0a, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

static struct sw_addr ip(const char *s)
{
	struct sw_addr a;
	assert_int_equal(addr_parse(&a, s), 0);
	return a;
}

/* xorshift64*: reproducible inputs without libc's rand state */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* The TCP checksum from scratch: pseudo-header + segment with the
 * checksum field zeroed, as a receiver would verify it. */
static uint16_t tcp_sum_full(const uint8_t *pkt, size_t len, int family)
{
	uint8_t seg[PACKET_SYN_MAX];
	size_t l3 = family == AF_INET ? IPV4_HDR_LEN : IPV6_HDR_LEN;
	size_t tl = len - l3;
	uint32_t sum = 0;

	memcpy(seg, pkt + l3, tl);
	seg[16] = seg[17] = 0;
	if (family == AF_INET)
		sum = csum_add(sum, pkt + 12, 8);
	else
		sum = csum_add(sum, pkt + 8, 32);
	sum += IPPROTO_TCP_NUM + (uint32_t)tl;
	sum = csum_add(sum, seg, tl);
	return csum_fold(sum);
}

static uint16_t ip_sum_full(const uint8_t *pkt)
{
	uint8_t h[IPV4_HDR_LEN];

	memcpy(h, pkt, sizeof(h));
	h[10] = h[11] = 0;
	return csum_fold(csum_add(0, h, sizeof(h)));
}

static void test_syn_v4_bytes(void **state)
{
	(void)state;
	struct syn_template t;
	uint8_t buf[PACKET_SYN_MAX + 8];
	struct sw_addr src = ip("198.18.0.1"), dst = ip("198.18.1.2");

	packet_syn_template_init(&t, AF_INET, PACKET_DEFAULT_TTL);
	assert_int_equal(t.len, 60);
	assert_int_equal(t.l3_len, 20);
	assert_int_equal(t.family, AF_INET);
	memset(buf, 0xaa, sizeof(buf));
	size_t n = packet_build_syn(&t, buf, &src, &dst, 61000, 80, 0x01020304, 0x1234, 0x0a0b0c0d);
	assert_int_equal(n, 60);
	assert_memory_equal(buf, syn_v4_scapy, 60);
	assert_int_equal(buf[60], 0xaa); /* nothing written past the packet */
	/* a receiver's verification: the sum over a valid header is 0 */
	assert_int_equal(csum_fold(csum_add(0, buf, 20)), 0);
}

static void test_syn_v6_bytes(void **state)
{
	(void)state;
	struct syn_template t;
	uint8_t buf[PACKET_SYN_MAX];
	struct sw_addr src = ip("2001:db8::1"), dst = ip("2001:db8:1::2");

	packet_syn_template_init(&t, AF_INET6, PACKET_DEFAULT_TTL);
	assert_int_equal(t.len, 80);
	assert_int_equal(t.l3_len, 40);
	size_t n = packet_build_syn(&t, buf, &src, &dst, 61000, 80, 0x01020304, 0x1234, 0x0a0b0c0d);
	assert_int_equal(n, 80);
	assert_memory_equal(buf, syn_v6_scapy, 80);
}

static void test_family_mismatch(void **state)
{
	(void)state;
	struct syn_template t4, t6;
	uint8_t buf[PACKET_SYN_MAX];
	struct sw_addr v4 = ip("198.18.0.1"), v6 = ip("2001:db8::1");

	packet_syn_template_init(&t4, AF_INET, 64);
	packet_syn_template_init(&t6, AF_INET6, 64);
	assert_int_equal(packet_build_syn(&t4, buf, &v4, &v6, 1, 2, 3, 4, 5), 0);
	assert_int_equal(packet_build_syn(&t4, buf, &v6, &v6, 1, 2, 3, 4, 5), 0);
	assert_int_equal(packet_build_syn(&t6, buf, &v4, &v4, 1, 2, 3, 4, 5), 0);
}

static void test_ttl(void **state)
{
	(void)state;
	struct syn_template t;
	uint8_t buf[PACKET_SYN_MAX];
	struct sw_addr src = ip("198.18.0.1"), dst = ip("198.18.1.2");

	packet_syn_template_init(&t, AF_INET, 7);
	packet_build_syn(&t, buf, &src, &dst, 61000, 80, 1, 2, 3);
	assert_int_equal(buf[8], 7);
	assert_int_equal(rd16(buf + 10), ip_sum_full(buf));
	packet_syn_template_init(&t, AF_INET6, 200);
	src = ip("::1");
	packet_build_syn(&t, buf, &src, &src, 61000, 80, 1, 2, 3);
	assert_int_equal(buf[7], 200);
}

/* Random tuples, sequence numbers, IDs and timestamps, including the
 * extremes: the incremental checksums must equal full recomputation. */
static void test_checksums_random(void **state)
{
	(void)state;
	struct syn_template t4, t6;
	uint8_t buf[PACKET_SYN_MAX];
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	packet_syn_template_init(&t4, AF_INET, 64);
	packet_syn_template_init(&t6, AF_INET6, 64);
	for (int i = 0; i < 200000; i++) {
		struct sw_addr src = { 0 }, dst = { 0 };
		uint64_t r1 = rnd(&seed), r2 = rnd(&seed), r3 = rnd(&seed);
		uint16_t sport = (uint16_t)r1, dport = (uint16_t)(r1 >> 16), id = (uint16_t)(r1 >> 32);
		uint32_t isn = (uint32_t)r2, ts = (uint32_t)(r2 >> 32);
		bool v6 = i % 2;

		if (i < 16) { /* all-zero and all-ones fields */
			uint8_t fill = i & 1 ? 0xff : 0;
			v6 = i & 2;
			sport = dport = id = (uint16_t)(fill * 0x101);
			isn = ts = fill * 0x01010101u;
			memset(src.u.b, fill, v6 ? 16 : 4);
			memset(dst.u.b, i & 4 ? fill : (uint8_t)~fill, v6 ? 16 : 4);
		} else {
			for (int b = 0; b < 16; b++) {
				src.u.b[b] = (uint8_t)(r3 >> (b % 8 * 8)) ^ (uint8_t)b;
				dst.u.b[b] = (uint8_t)(rnd(&seed) >> 7);
			}
			if (!v6) {
				memset(src.u.b + 4, 0, 12);
				memset(dst.u.b + 4, 0, 12);
			}
		}
		src.family = dst.family = v6 ? AF_INET6 : AF_INET;
		const struct syn_template *t = v6 ? &t6 : &t4;
		size_t n = packet_build_syn(t, buf, &src, &dst, sport, dport, isn, id, ts);
		assert_int_equal(n, t->len);
		if (!v6) {
			assert_int_equal(rd16(buf + 10), ip_sum_full(buf));
			assert_int_equal(rd16(buf + 4), id);
			assert_memory_equal(buf + 12, src.u.b, 4);
			assert_memory_equal(buf + 16, dst.u.b, 4);
		} else {
			assert_memory_equal(buf + 8, src.u.b, 16);
			assert_memory_equal(buf + 24, dst.u.b, 16);
		}
		const uint8_t *tcp = buf + t->l3_len;
		assert_int_equal(rd16(tcp + 16), tcp_sum_full(buf, n, src.family));
		assert_int_equal(rd16(tcp), sport);
		assert_int_equal(rd16(tcp + 2), dport);
		assert_int_equal(rd32(tcp + 4), isn);
		assert_int_equal(rd32(tcp + 28), ts);
	}
}

/* RFC 1624 updates against recomputation, on random IPv4 headers. */
static void test_csum_update(void **state)
{
	(void)state;
	uint64_t seed = 12345;
	uint8_t h[IPV4_HDR_LEN];

	for (int i = 0; i < 100000; i++) {
		for (int b = 0; b < IPV4_HDR_LEN; b += 8) {
			uint64_t r = rnd(&seed);
			for (int k = 0; k < 8 && b + k < IPV4_HDR_LEN; k++)
				h[b + k] = (uint8_t)(r >> (8 * k));
		}
		if (i % 7 == 0)
			memset(h, 0, 12); /* sparse headers reach the carry edge cases */
		h[10] = h[11] = 0;
		uint16_t sum = csum_fold(csum_add(0, h, sizeof(h)));
		wr16(h + 10, sum);

		uint16_t old16 = rd16(h + 4), new16 = (uint16_t)rnd(&seed);
		if (i % 5 == 0)
			new16 = (uint16_t)~old16;
		wr16(h + 4, new16);
		sum = csum_update16(sum, old16, new16);
		assert_int_equal(sum, ip_sum_full(h));
		wr16(h + 10, sum);

		uint32_t old32 = rd32(h + 12), new32 = (uint32_t)rnd(&seed);
		if (i % 5 == 1)
			new32 = 0;
		wr32(h + 12, new32);
		sum = csum_update32(sum, old32, new32);
		assert_int_equal(sum, ip_sum_full(h));
		wr16(h + 10, sum);
		assert_int_equal(csum_fold(csum_add(0, h, sizeof(h))), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_v4_bytes),
		cmocka_unit_test(test_syn_v6_bytes),
		cmocka_unit_test(test_family_mismatch),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_checksums_random),
		cmocka_unit_test(test_csum_update),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
