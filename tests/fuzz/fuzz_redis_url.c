/* libFuzzer harness for Redis URLs: the parser every program uses
 * (store/redis-conn.c) and the redaction messages go through
 * (store/redis-url.c). Whatever the text, a parsed URL holds terminated
 * fields and a usable endpoint, an error is one line, and the redacted form
 * is terminated and never shows a password given in the credentials. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis-conn.h"
#include "store/redis-url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void terminated(const char *s, size_t cap)
{
	if (strnlen(s, cap) == cap)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1), err[512], shown[256], small[8];
	struct redis_url u;

	if (!url)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	err[0] = '\0';
	if (redis_url_parse(&u, url, err, sizeof(err)) == 0) {
		terminated(u.path, sizeof(u.path));
		terminated(u.master, sizeof(u.master));
		terminated(u.user, sizeof(u.user));
		terminated(u.password, sizeof(u.password));
		terminated(u.tcp.host, sizeof(u.tcp.host));
		if ((u.kind == REDIS_URL_TCP && !u.tcp.host[0]) || (u.kind == REDIS_URL_UNIX && u.path[0] != '/') ||
		    (u.kind == REDIS_URL_SENTINEL && (u.n_sentinels == 0 || !u.master[0])) || u.db < 0)
			abort();
		for (size_t i = 0; i < u.n_sentinels; i++)
			terminated(u.sentinels[i].host, sizeof(u.sentinels[i].host));
		if (redis_url_check(url, err, sizeof(err)) != 0)
			abort();
	} else if (!err[0] || strchr(err, '\n') == err) {
		abort();
	}
	redis_url_redact(url, shown, sizeof(shown));
	terminated(shown, sizeof(shown));
	redis_url_redact(url, small, sizeof(small));
	terminated(small, sizeof(small));
	free(url);
	return 0;
}
