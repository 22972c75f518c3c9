/* Redis URLs in messages: checked with the one parser (store/redis-conn.c,
 * shared with the tools), shown without their passwords. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "store/redis-conn.h"
#include "store/redis-url.h"

void redis_url_redact(const char *url, char *buf, size_t len)
{
	struct buf o;
	const char *end = url + strlen(url), *query = strchr(url, '?'), *scheme = strstr(url, "://");
	const char *start, *at = NULL;

	buf_init_fixed(&o, buf, len); /* cut to fit, as snprintf */
	if (!query)
		query = end;
	start = scheme && scheme < query ? scheme + 3 : url;
	for (const char *c = start; c < query; c++)
		if (*c == '@')
			at = c;
	buf_add(&o, url, (size_t)(start - url));
	if (at) {
		/* USER:*** keeps the user, hides the password */
		const char *colon = memchr(start, ':', (size_t)(at - start));
		if (colon)
			buf_add(&o, start, (size_t)(colon + 1 - start));
		buf_add(&o, "***@", 4);
		start = at + 1;
	}
	buf_add(&o, start, (size_t)(query - start));
	for (const char *p = query; p < end;) {
		size_t n = strcspn(p + 1, "&");
		buf_add(&o, p, 1);
		if (strncmp(p + 1, "password=", 9) == 0 && n >= 9)
			buf_add(&o, "password=***", 12);
		else
			buf_add(&o, p + 1, n);
		p += 1 + n;
	}
}

int redis_url_check(const char *url, char *err, size_t errlen)
{
	struct redis_url u;
	char msg[1024], shown[1100];
	const char *at;
	int r = redis_url_parse(&u, url, msg, sizeof(msg));

	if (r == 0 || !err || !errlen)
		return r;
	/* the caller names the URL: not twice, and nowhere with its password */
	snprintf(shown, sizeof(shown), "redis URL '%s': ", url);
	if (strncmp(msg, shown, strlen(shown)) == 0)
		memmove(msg, msg + strlen(shown), strlen(msg + strlen(shown)) + 1);
	else if (strncmp(msg, "redis URL: ", 11) == 0)
		memmove(msg, msg + 11, strlen(msg + 11) + 1);
	redis_url_redact(url, shown, sizeof(shown));
	if (*url && (at = strstr(msg, url)))
		snprintf(err, errlen, "%.*s%s%s", (int)(at - msg), msg, shown, at + strlen(url));
	else
		snprintf(err, errlen, "%s", msg);
	return r;
}

int redis_url_unix_access(const char *url, char *err, size_t errlen)
{
	struct redis_url u;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[8];
	int fd, e;

	if (redis_url_parse(&u, url, msg, sizeof(msg)) < 0 || u.kind != REDIS_URL_UNIX)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", u.path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return 0;
	e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
	close(fd);
	if (e != EACCES && e != EPERM)
		return 0; /* reachable, or not there yet: the writer retries */
	snprintf(err, errlen, "cannot open the Redis socket '%s': %s", u.path, strerror(e));
	return -e;
}
