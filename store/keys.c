/* Key names (store/keys.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/keys.h"

#define PREFIX_MAX 127

const char *keys_fmt(char *buf, size_t len, const char *prefix, const char *name, const char *arg)
{
	int n = snprintf(buf, len, "%s%s%s", prefix, name, arg ? arg : "");

	return n < 0 || (size_t)n >= len ? NULL : buf;
}

const char *keys_vprintf(char *buf, size_t len, const char *prefix, const char *fmt, va_list ap)
{
	int n = snprintf(buf, len, "%s", prefix);

	if (n >= 0 && (size_t)n < len)
		vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	return buf;
}

int keys_check_schema(redisContext *c, const char *prefix, const char *url, char *err, size_t errlen)
{
	char key[KEYS_MAX];
	const char *argv[] = { "GET", keys_fmt(key, sizeof(key), prefix, KEY_SCHEMA, NULL) };
	redisReply *rep = redisCommandArgv(c, 2, argv, NULL);
	int r = 0;

	if (!rep) {
		snprintf(err, errlen, "redis at %s: %s", url, c->errstr[0] ? c->errstr : "no reply");
		return -EIO;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis at %s: GET %s: %s", url, key, rep->str);
		r = -EIO;
	} else if (rep->type == REDIS_REPLY_STRING && strcmp(rep->str, KEYS_SCHEMA) != 0) {
		snprintf(err, errlen, "redis at %s has schema %.32s, this program reads " KEYS_SCHEMA, url,
			 rep->str);
		r = -EPROTONOSUPPORT;
	}
	freeReplyObject(rep);
	return r;
}

int keys_check_prefix(const char *prefix, char *err, size_t errlen)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)prefix[i] <= 0x20 || prefix[i] == 0x7f) {
			snprintf(err, errlen,
				 "prefix '%.40s': no spaces or control characters, like synwatch:", prefix);
			return -EINVAL;
		}
	if (n > PREFIX_MAX) {
		snprintf(err, errlen, "prefix '%.40s...' is longer than %d bytes", prefix, PREFIX_MAX);
		return -EINVAL;
	}
	return 0;
}
