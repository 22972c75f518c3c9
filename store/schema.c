/* The Redis key layout (store/schema.h): the only file that spells a key's
 * name; docs/redis.md says what each holds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/schema.h"

/* Each key's name, and how many parts follow it (the second after a ':'). */
static const struct {
	const char *name;
	unsigned parts;
} keys[SCHEMA_NKEYS] = {
	[SCHEMA_SCHEMA] = { "schema", 0 },
	[SCHEMA_RESULTS] = { "results", 0 },
	[SCHEMA_EVENTS] = { "events", 0 },
	[SCHEMA_STATE] = { "state:", 2 },
	[SCHEMA_IDX] = { "idx:", 2 },
	[SCHEMA_LAT] = { "lat:", 2 },
	[SCHEMA_PROBER] = { "prober:", 1 },
	[SCHEMA_PROBERS] = { "probers", 0 },
	[SCHEMA_MEMBERS] = { "members:", 1 },
	[SCHEMA_SEQ] = { "seq:", 1 },
	[SCHEMA_RUNTIME_TARGETS] = { "runtime:targets", 0 },
	[SCHEMA_RUNTIME] = { "runtime", 0 },
	[SCHEMA_QUORUM_ISSUES] = { "quorum:issues", 0 },
	[SCHEMA_QUORUM_HOSTS] = { "quorum:hosts", 0 },
	[SCHEMA_QUORUM_HOST] = { "quorum:host:", 1 },
	[SCHEMA_QUORUM_LEASE] = { "quorum:lease", 0 },
	[SCHEMA_SILENCES] = { "silences", 0 },
	[SCHEMA_SILENCE] = { "silence:", 1 },
	[SCHEMA_ALERTER] = { "alerter:", 1 },
	[SCHEMA_HISTO] = { "histo:", 1 },
	[SCHEMA_ALERTS] = { "open", 0 },
	[SCHEMA_ALERT_LOCS] = { "loc:", 1 },
	[SCHEMA_ALERT_LEASE] = { "lease:", 1 },
	[SCHEMA_ALERT_SENT] = { "sent:", 1 },
};

/* Appends s to buf at *o, cut to len - 1 bytes. */
static void put(char *buf, size_t len, size_t *o, const char *s)
{
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	if (n > len - 1 - *o)
		n = len - 1 - *o;
	memcpy(buf + *o, s, n);
	*o += n;
}

const char *schema_key(char *buf, size_t len, const char *prefix, enum schema_key k, const char *a, const char *b)
{
	size_t o = 0;

	if (len == 0)
		return buf;
	if ((unsigned)k < SCHEMA_NKEYS) {
		put(buf, len, &o, prefix);
		put(buf, len, &o, keys[k].name);
		if (keys[k].parts > 0)
			put(buf, len, &o, a);
		if (keys[k].parts > 1) {
			put(buf, len, &o, ":");
			put(buf, len, &o, b);
		}
	}
	buf[o] = '\0';
	return buf;
}

const char *schema_alert_stem(char *buf, size_t len, const char *prefix, const char *group)
{
	int n = snprintf(buf, len, "%salert:%s:", prefix, group);

	return n < 0 || (size_t)n >= len ? NULL : buf;
}

bool schema_is_ours(const char *value)
{
	return strcmp(value, SCHEMA_VERSION) == 0;
}

int schema_check(redisContext *c, const char *prefix, const char *url, char *err, size_t errlen)
{
	char key[SCHEMA_KEY_MAX];
	const char *argv[] = { "GET", schema_key(key, sizeof(key), prefix, SCHEMA_SCHEMA, NULL, NULL) };
	redisReply *rep = redisCommandArgv(c, 2, argv, NULL);
	int r = 0;

	if (!rep) {
		snprintf(err, errlen, "redis at %s: %s", url, c->errstr[0] ? c->errstr : "no reply");
		return -EIO;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis at %s: GET %s: %s", url, key, rep->str);
		r = -EIO;
	} else if (rep->type == REDIS_REPLY_STRING && !schema_is_ours(rep->str)) {
		snprintf(err, errlen, "redis at %s has schema %.32s, this program reads " SCHEMA_VERSION, url,
			 rep->str);
		r = -EPROTONOSUPPORT;
	}
	freeReplyObject(rep);
	return r;
}

bool schema_location_ok(const char *s, size_t n)
{
	if (n == 0 || n > SCHEMA_LOCATION_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int schema_check_prefix(const char *prefix, char *err, size_t errlen)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)prefix[i] <= 0x20 || prefix[i] == 0x7f) {
			snprintf(err, errlen, "prefix '%.40s': no spaces or control characters, like %s", prefix,
				 SCHEMA_DEFAULT_PREFIX);
			return -EINVAL;
		}
	if (n > SCHEMA_PREFIX_MAX) {
		snprintf(err, errlen, "prefix '%.40s...' is longer than %d bytes", prefix, SCHEMA_PREFIX_MAX);
		return -EINVAL;
	}
	return 0;
}
