/* Addresses as every module holds them: a family tag and 16 bytes, so that
 * IPv6 needs no new type. Pure functions, any thread. */
#ifndef SW_ADDR_H
#define SW_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

/* Big enough for any address text, IPv6 with a zone excluded. */
#define ADDR_STRLEN 46

struct sw_addr {
	uint8_t family; /* AF_INET or AF_INET6; 0 means unset */
	uint8_t pad[3]; /* always zero, so that memcmp and hashing work */
	union {
		uint8_t b[16];       /* IPv4 uses b[0..3] in network order, the rest zero */
		struct in_addr v4;   /* network byte order */
		struct in6_addr v6;
	} u;
};

/* Fills *out from IPv4 or IPv6 text ("198.18.0.1", "2001:db8::1").
 * Returns 0 or -EINVAL. */
int addr_parse(struct sw_addr *out, const char *s);

/* Writes the text form into buf (at least ADDR_STRLEN bytes). Returns buf. */
const char *addr_format(const struct sw_addr *a, char *buf, size_t len);

/* Sets *out to an IPv4 address given in network byte order. */
void addr_from_v4(struct sw_addr *out, uint32_t be_addr);

static inline bool addr_equal(const struct sw_addr *a, const struct sw_addr *b)
{
	/* memcmp of a constant 16 compiles to two 8-byte compares, without
	 * the alignment the union does not have */
	return a->family == b->family && memcmp(a->u.b, b->u.b, 16) == 0;
}

/* A fast non-cryptographic 64-bit hash of the address and a port, for hash
 * tables (not for anything an attacker may aim at: cookies use SipHash). */
uint64_t addr_port_hash(const struct sw_addr *a, uint16_t port);

/* A CIDR block: the address with host bits cleared and the prefix length. */
struct sw_cidr {
	struct sw_addr base;
	uint8_t prefix; /* 0..32 for IPv4, 0..128 for IPv6 */
};

/* Parses "198.18.0.0/16", "2001:db8::/64" or a bare address (full-length
 * prefix). Host bits set below the prefix are an error (-EINVAL), so that
 * a typo like 198.18.1.0/16 is caught rather than silently widened. */
int cidr_parse(struct sw_cidr *out, const char *s);

bool cidr_contains(const struct sw_cidr *c, const struct sw_addr *a);

/* a lies in the block of net's first prefix bits: the same family and
 * those bits equal (the rest of net need not be zero). cidr_contains on a
 * parsed block; the route lookup on the kernel's routes and addresses. */
bool addr_prefix_match(const struct sw_addr *net, unsigned prefix, const struct sw_addr *a);

#endif
