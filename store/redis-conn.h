/* Connecting to Redis by URL, for the daemon's writer and for every tool
 * that reads what it wrote (tools/: ctl, alert, top, exporter):
 *   redis://[user:password@]host[:port][/db]
 *   unix:///path/to/redis.sock[?db=N][&password=P][&user=U]
 *   redis-sentinel://[user:password@]host:port[,host:port...]/MASTERNAME[?db=N]
 * The password of a sentinel URL is the master's (sentinels are asked
 * without AUTH). Any thread; blocking with the timeout given. */
#ifndef SW_REDIS_CONN_H
#define SW_REDIS_CONN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#define REDIS_URL_MAX_SENTINELS 8

enum redis_url_kind {
	REDIS_URL_TCP,
	REDIS_URL_UNIX,
	REDIS_URL_SENTINEL,
};

struct redis_endpoint {
	char host[256];
	uint16_t port;
};

struct redis_url {
	enum redis_url_kind kind;
	struct redis_endpoint tcp;                 /* REDIS_URL_TCP */
	char path[108];                            /* REDIS_URL_UNIX */
	struct redis_endpoint sentinels[REDIS_URL_MAX_SENTINELS];
	size_t n_sentinels;
	char master[128];                          /* REDIS_URL_SENTINEL */
	char user[128];                            /* empty: AUTH with the password alone */
	char password[256];                        /* empty: no AUTH */
	int db;
};

/* Parses url. Returns 0, or -EINVAL with one line in err naming the URL and
 * what is wrong ("redis URL 'redis://h:99999': port 99999 is not 1-65535"). */
int redis_url_parse(struct redis_url *out, const char *url, char *err, size_t errlen);

/* A text form of u without the password, for log lines. */
const char *redis_url_describe(const struct redis_url *u, char *buf, size_t len);
/* Parses url and writes that text of it into text: what a tool does with
 * its --redis at start. 0, or -EINVAL as redis_url_parse. */
int redis_url_text(const char *url, char *text, size_t len, char *err, size_t errlen);

/* Connects (through the sentinels to the current master), authenticates and
 * selects the database. Returns 0 and sets *out (free with redisFree), or a
 * negative errno with one line in err (-ECONNREFUSED, -ETIMEDOUT, -EACCES
 * for a refused password, -EIO for other errors). */
int redis_connect(redisContext **out, const struct redis_url *u, int timeout_ms, char *err, size_t errlen);

/* Parses and connects: what a tool needs in one call. */
int redis_connect_url(redisContext **out, const char *url, int timeout_ms, char *err, size_t errlen);

/* One command, for a tool that has nothing better to do with an error
 * than to say it: the reply (free with freeReplyObject), or NULL for an
 * error reply (logged as a warning, "redis COMMAND: ERROR") or a lost
 * connection (c->err is set). */
redisReply *redis_command(redisContext *c, int argc, const char **argv);

/* For a program that waits for Redis to come back: calls connect(ctx,
 * err, errlen) until it returns 0, a second after the first failure and
 * twice as long after each next one, at most 30 s (each failure logged at
 * debug level). Returns 0, or -EINTR once *stop is set (by a signal
 * handler). */
int redis_retry(int (*connect)(void *ctx, char *err, size_t errlen), void *ctx, const volatile sig_atomic_t *stop);

#endif
