#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/num.h"

int addr_parse(struct sw_addr *out, const char *s)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->u.v4) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &out->u.v6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

const char *addr_format(const struct sw_addr *a, char *buf, size_t len)
{
	if (a->family != AF_INET && a->family != AF_INET6) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (!inet_ntop(a->family, a->u.b, buf, (socklen_t)len) && len)
		buf[0] = '\0';
	return buf;
}

void addr_from_v4(struct sw_addr *out, uint32_t be_addr)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	out->u.v4.s_addr = be_addr;
}

uint64_t addr_port_hash(const struct sw_addr *a, uint16_t port)
{
	uint64_t x, y;

	memcpy(&x, a->u.b, 8);
	memcpy(&y, a->u.b + 8, 8);
	/* splitmix64-style finalisers: good spread for sequential addresses */
	x ^= y * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)port << 48 | a->family);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static unsigned addr_bits(const struct sw_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

bool addr_prefix_match(const struct sw_addr *net, unsigned prefix, const struct sw_addr *a)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (net->family != a->family)
		return false;
	if (memcmp(net->u.b, a->u.b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net->u.b[full] & mask) == (a->u.b[full] & mask);
}

int cidr_parse(struct sw_cidr *out, const char *s)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (addr_parse(&out->base, buf) < 0)
		return -EINVAL;
	unsigned bits = addr_bits(&out->base);
	if (!slash) {
		out->prefix = (uint8_t)bits;
		return 0;
	}
	uint64_t p;
	if (num_parse_uint(slash + 1, 0, bits, &p) < 0)
		return -EINVAL;
	out->prefix = (uint8_t)p;
	/* host bits must be zero */
	for (unsigned i = (unsigned)p; i < bits; i++)
		if (out->base.u.b[i / 8] & (0x80 >> (i % 8)))
			return -EINVAL;
	return 0;
}

bool cidr_contains(const struct sw_cidr *c, const struct sw_addr *a)
{
	return addr_prefix_match(&c->base, c->prefix, a);
}
