/* Rendezvous hashing over the members of a location (scheduler/shard.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/addr.h"
#include "scheduler/shard.h"
#include "scheduler/table.h"

/* key, NUL, member: a prober id is at most a few hundred bytes */
#define WEIGHT_BUF 1024

void shard_members_release(struct shard_members *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->ids[i]);
	free(m->ids);
	m->ids = NULL;
	m->n = 0;
}

bool shard_members_equal(const struct shard_members *a, const struct shard_members *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->ids[i], b->ids[i]) != 0)
			return false;
	return true;
}

uint64_t shard_weight(const char *key, size_t key_len, const char *member)
{
	static const unsigned char hkey[crypto_shorthash_siphash24_KEYBYTES] = SHARD_HASH_KEY;
	unsigned char buf[WEIGHT_BUF], out[crypto_shorthash_siphash24_BYTES];
	size_t mlen = strlen(member);
	uint64_t v = 0;

	if (key_len + 1 + mlen > sizeof(buf))
		mlen = sizeof(buf) - 1 - key_len; /* keys are short: only an absurd id is cut */
	memcpy(buf, key, key_len);
	buf[key_len] = '\0';
	memcpy(buf + key_len + 1, member, mlen);
	crypto_shorthash_siphash24(out, buf, key_len + 1 + mlen, hkey);
	for (int i = 7; i >= 0; i--)
		v = v << 8 | out[i]; /* little-endian, as the reference emits it */
	return v;
}

size_t shard_owner(const char *key, size_t key_len, const char *const *ids, size_t n)
{
	size_t best = 0;
	uint64_t best_w = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t w = shard_weight(key, key_len, ids[i]);
		if (i == 0 || w > best_w || (w == best_w && strcmp(ids[i], ids[best]) < 0)) {
			best = i;
			best_w = w;
		}
	}
	return best;
}

size_t shard_key(char *buf, size_t len, const struct table *t, uint32_t id)
{
	addr_format(&t->tl.v[id].addr, buf, len);
	return strlen(buf);
}

uint32_t shard_assign(const struct table *t, const struct shard_members *m, const char *self, uint8_t *foreign)
{
	const char *const *ids = (const char *const *)m->ids;
	size_t me = m->n;
	uint32_t owned = 0;
	char key[ADDR_STRLEN];

	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->ids[i], self) == 0)
			me = i;
	for (size_t id = 0; id < t->tl.n; id++) {
		foreign[id] = 0;
		if (t->dead[id])
			continue;
		if (me < m->n) {
			size_t len = shard_key(key, sizeof(key), t, (uint32_t)id);
			foreign[id] = shard_owner(key, len, ids, m->n) != me;
		}
		owned += !foreign[id];
	}
	return owned;
}
