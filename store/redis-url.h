/* store/redis-url: Redis URLs in messages, checked with the one parser
 * (store/redis-conn.h) and shown without their passwords. */
#ifndef SW_REDIS_URL_H
#define SW_REDIS_URL_H

#include <stddef.h>

/* Checks a Redis URL (redis://, unix://, redis-sentinel://; docs/redis.md).
 * Returns 0, or -EINVAL with one line in err saying what is wrong. Pure. */
int redis_url_check(const char *url, char *err, size_t errlen);
/* url with its password replaced by "***", for messages. Pure. */
void redis_url_redact(const char *url, char *buf, size_t len);

#endif
