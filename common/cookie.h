/* The sequence cookie: a probe's TCP initial sequence number is a keyed
 * SipHash-2-4 of the 4-tuple and the attempt number, under a secret drawn at
 * start. A reply proves it answers our probe by acknowledging ISN + 1; nobody
 * without the secret can forge that (short of 2^32 guesses per tuple).
 * Used by the sender (engine) to build and by capture to verify. Read-only
 * after cookie_init: any thread. */
#ifndef SW_COOKIE_H
#define SW_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"

struct cookie_key {
	uint8_t k[16];
};

/* Fills the key from the kernel's random source. Returns 0 or -errno. */
int cookie_key_random(struct cookie_key *key);

/* SipHash-2-4 (Aumasson & Bernstein), 64-bit output, of len bytes. */
uint64_t siphash24(const struct cookie_key *key, const void *data, size_t len);

/* The ISN for a probe from src:sport to dst:dport, attempt 0..PROBE_MAX_ATTEMPT. */
uint32_t cookie_isn(const struct cookie_key *key, const struct sw_addr *src, const struct sw_addr *dst,
		    uint16_t sport, uint16_t dport, uint8_t attempt);

/* Checks whether isn is the cookie of some attempt 0..max_attempt for the
 * tuple; on success sets *attempt. Costs up to max_attempt + 1 hashes. */
bool cookie_check(const struct cookie_key *key, const struct sw_addr *src, const struct sw_addr *dst,
		  uint16_t sport, uint16_t dport, uint32_t isn, uint8_t max_attempt, uint8_t *attempt);

#endif
