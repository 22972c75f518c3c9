/* Sharding within a location: probers of one location split the targets
 * by rendezvous (highest-random-weight) hashing. Each target goes to the
 * member whose SipHash-2-4 of (key, member id) is the highest, so a member
 * joining or leaving moves only the targets it gains or held, and every
 * prober computes the same split from the same member list without talking
 * to the others. The hash key is fixed and public (SHARD_HASH_KEY): the
 * split must be the same in every process, and nothing here needs to be
 * unpredictable. Pure; any thread. */
#ifndef SW_SHARD_H
#define SW_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct table;

/* 16 bytes, part of the public layout (docs/redis.md): changing it moves
 * targets between probers of mixed versions. */
#define SHARD_HASH_KEY "synwatch-shard-1"

/* The live members of a location: prober ids, sorted (strcmp), distinct. */
struct shard_members {
	char **ids;
	size_t n;
};

/* Frees the ids; zeroed sets are fine. */
void shard_members_release(struct shard_members *m);
bool shard_members_equal(const struct shard_members *a, const struct shard_members *b);

/* The weight of (key, member): SipHash-2-4 under SHARD_HASH_KEY of the key's
 * bytes, a NUL, and the member id. */
uint64_t shard_weight(const char *key, size_t key_len, const char *member);

/* The index of key's owner among ids[0 .. n), n > 0. Ties (never seen
 * with 64-bit weights) go to the smaller id. */
size_t shard_owner(const char *key, size_t key_len, const char *const *ids, size_t n);

/* The sharding key of a target: its address in text ("198.18.0.5",
 * "2001:db8::1"), so that every port of a host (and its ping) stays with
 * one prober: host roll-up and the per-host rate limit keep working.
 * Returns its length. */
size_t shard_key(char *buf, size_t len, const struct table *t, uint32_t id);

/* Marks foreign[id] = 1 for every target of t that another member owns,
 * 0 for the rest (dead ids included). foreign holds t->tl.n entries. With
 * no members, or self not among them, self owns everything (a prober that
 * does not see itself yet must not drop its share). Returns the number of
 * live targets self owns. */
uint32_t shard_assign(const struct table *t, const struct shard_members *m, const char *self, uint8_t *foreign);

#endif
