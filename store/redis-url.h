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

/* For a unix:// URL: whether this process may connect to the socket (its
 * permissions and those of its directories). -EACCES (or -EPERM) with one
 * line in err when it may not; 0 otherwise, also when it is not there yet
 * (Redis starting: the writer retries) or the URL is not unix://. */
int redis_url_unix_access(const char *url, char *err, size_t errlen);

#endif
