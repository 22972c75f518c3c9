/* Wire formats shared by the packet builder (engine), the reply parser
 * (capture), the test fleet's responder and the tests: offsets, flags and
 * checksum arithmetic. Byte-wise loads and stores, because pcap hands us
 * headers at any alignment. */
#ifndef SW_WIRE_H
#define SW_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define IPV4_HDR_LEN 20   /* without options */
#define IPV6_HDR_LEN 40
#define TCP_HDR_LEN 20    /* without options */
#define ICMP_HDR_LEN 8

#define IPPROTO_TCP_NUM 6
#define IPPROTO_ICMP_NUM 1
#define IPPROTO_ICMPV6_NUM 58

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define ICMP_DEST_UNREACH 3
#define ICMP6_DEST_UNREACH 1
#define ICMP_ECHO_REQUEST 8
#define ICMP_ECHO_REPLY 0
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One's-complement sum of len bytes (big-endian 16-bit words) added to sum. */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
/* Folds a sum into the 16-bit checksum to put on the wire (complemented). */
uint16_t csum_fold(uint32_t sum);
/* RFC 1624 eqn. 3: the checksum after one 16-bit word changed from old to new. */
uint16_t csum_update16(uint16_t csum, uint16_t old_word, uint16_t new_word);
/* Same for a 32-bit field (two words). */
uint16_t csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val);

#endif
