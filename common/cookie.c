/* Why a keyed hash: a reply is ours only if it acknowledges a number that
 * nobody but us could have predicted. SipHash-2-4 (libsodium's
 * crypto_shorthash) under a per-run secret makes the ISN unpredictable, so
 * spoofed or stale SYN-ACKs/RSTs cannot pass without guessing 32 bits; a
 * new secret per run means replies to an earlier run's probes fail too.
 * The attempt number is hashed in, so a reply also says which attempt it
 * answers, and an RTT is never computed against the wrong send time. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/random.h>

#include "common/cookie.h"

int cookie_key_random(struct cookie_key *key)
{
	size_t got = 0;

	while (got < sizeof(key->k)) {
		ssize_t n = getrandom(key->k + got, sizeof(key->k) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

uint64_t siphash24(const struct cookie_key *key, const void *data, size_t len)
{
	unsigned char out[crypto_shorthash_siphash24_BYTES];
	uint64_t v = 0;

	crypto_shorthash_siphash24(out, data, len, key->k);
	for (int i = 7; i >= 0; i--)
		v = v << 8 | out[i]; /* the reference emits little-endian */
	return v;
}

uint32_t cookie_isn(const struct cookie_key *key, const struct sw_addr *src, const struct sw_addr *dst,
		    uint16_t sport, uint16_t dport, uint8_t attempt)
{
	/* family, src, dst, sport, dport, attempt: fixed layout, 38 bytes */
	uint8_t msg[1 + 16 + 16 + 2 + 2 + 1];

	msg[0] = src->family;
	memcpy(msg + 1, src->u.b, 16);
	memcpy(msg + 17, dst->u.b, 16);
	msg[33] = (uint8_t)(sport >> 8);
	msg[34] = (uint8_t)sport;
	msg[35] = (uint8_t)(dport >> 8);
	msg[36] = (uint8_t)dport;
	msg[37] = attempt;
	return (uint32_t)siphash24(key, msg, sizeof(msg));
}

bool cookie_check(const struct cookie_key *key, const struct sw_addr *src, const struct sw_addr *dst,
		  uint16_t sport, uint16_t dport, uint32_t isn, uint8_t max_attempt, uint8_t *attempt)
{
	for (unsigned a = 0; a <= max_attempt; a++) {
		if (cookie_isn(key, src, dst, sport, dport, (uint8_t)a) == isn) {
			*attempt = (uint8_t)a;
			return true;
		}
	}
	return false;
}
