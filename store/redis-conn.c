/* Connecting to Redis by URL (store/redis-conn.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/num.h"
#include "store/redis-conn.h"

#define DEFAULT_PORT 6379
#define DEFAULT_SENTINEL_PORT 26379

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The first c in [s, e), or NULL. (memchr with e - s: gcc cannot see
 * that e >= s and refuses the length.) */
static const char *span_chr(const char *s, const char *e, char c)
{
	for (; s < e; s++)
		if (*s == c)
			return s;
	return NULL;
}

/* Copies [s, e) into dst (NUL-terminated); false if it does not fit. */
static bool copy_span(char *dst, size_t len, const char *s, const char *e)
{
	if ((size_t)(e - s) >= len)
		return false;
	memcpy(dst, s, (size_t)(e - s));
	dst[e - s] = '\0';
	return true;
}

static bool parse_num(const char *s, const char *e, long min, long max, long *out)
{
	uint64_t v;

	if (num_parse_uintn(s, (size_t)(e - s), (uint64_t)min, (uint64_t)max, &v) < 0)
		return false;
	*out = (long)v;
	return true;
}

/* "host[:port]" or "[v6]:port" in [s, e). */
static int parse_endpoint(struct redis_endpoint *ep, const char *s, const char *e, uint16_t def_port,
			  const char *url, char *err, size_t len)
{
	const char *hs = s, *he, *colon = NULL;
	long port = def_port;

	if (s < e && *s == '[') {
		hs = s + 1;
		for (he = hs; he < e && *he != ']'; he++)
			;
		if (he == e)
			return fail(err, len, "redis URL '%s': no ']' after an IPv6 address", url);
		if (he + 1 < e) {
			if (he[1] != ':')
				return fail(err, len, "redis URL '%s': expected ':PORT' after ']'", url);
			colon = he + 1;
		}
	} else {
		colon = span_chr(s, e, ':');
		he = colon ? colon : e;
	}
	if (he == hs)
		return fail(err, len, "redis URL '%s': no host", url);
	if (!copy_span(ep->host, sizeof(ep->host), hs, he))
		return fail(err, len, "redis URL '%s': host too long", url);
	if (colon && !parse_num(colon + 1, e, 1, 65535, &port))
		return fail(err, len, "redis URL '%s': port '%.*s' is not 1-65535", url, (int)(e - colon - 1),
			    colon + 1);
	ep->port = (uint16_t)port;
	return 0;
}

/* "user:password@" or "password@" (an empty user: the legacy AUTH) */
static int parse_userinfo(struct redis_url *u, const char *s, const char *e, const char *url, char *err,
			  size_t len)
{
	const char *colon = span_chr(s, e, ':');

	if (!colon) {
		if (!copy_span(u->password, sizeof(u->password), s, e))
			return fail(err, len, "redis URL: password too long");
		return 0;
	}
	if (!copy_span(u->user, sizeof(u->user), s, colon) ||
	    !copy_span(u->password, sizeof(u->password), colon + 1, e))
		return fail(err, len, "redis URL '%.*s...': user or password too long", (int)(strchr(url, ':') - url),
			    url);
	return 0;
}

/* "?db=N&password=P&user=U" */
static int parse_query(struct redis_url *u, const char *q, const char *url, char *err, size_t len)
{
	while (q && *q) {
		const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
		const char *eq = span_chr(q, end, '=');
		long v;
		if (!eq)
			return fail(err, len, "redis URL '%s': expected KEY=VALUE in the query", url);
		size_t klen = (size_t)(eq - q);
		if (klen == 2 && strncmp(q, "db", 2) == 0) {
			if (!parse_num(eq + 1, end, 0, 1000000, &v))
				return fail(err, len, "redis URL '%s': db is not a number", url);
			u->db = (int)v;
		} else if (klen == 8 && strncmp(q, "password", 8) == 0) {
			if (!copy_span(u->password, sizeof(u->password), eq + 1, end))
				return fail(err, len, "redis URL: password too long");
		} else if (klen == 4 && strncmp(q, "user", 4) == 0) {
			if (!copy_span(u->user, sizeof(u->user), eq + 1, end))
				return fail(err, len, "redis URL: user too long");
		} else {
			return fail(err, len, "redis URL '%s': unknown parameter '%.*s' (expected db, password, user)",
				    url, (int)klen, q);
		}
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

static int parse_db_path(struct redis_url *u, const char *s, const char *e, const char *url, char *err, size_t len)
{
	long db;

	if (s == e)
		return 0;
	if (!parse_num(s, e, 0, 1000000, &db))
		return fail(err, len, "redis URL '%s': database '%.*s' is not a number", url, (int)(e - s), s);
	u->db = (int)db;
	return 0;
}

int redis_url_parse(struct redis_url *out, const char *url, char *err, size_t errlen)
{
	struct redis_url u = { 0 };
	const char *rest, *q, *at, *slash, *end;
	int r;

	if (!url || !*url)
		return fail(err, errlen, "redis URL is empty (expected redis://HOST:PORT, unix:///PATH or "
					 "redis-sentinel://HOST:PORT/MASTER)");
	q = strchr(url, '?');
	end = q ? q : url + strlen(url);
	if (strncmp(url, "unix://", 7) == 0) {
		u.kind = REDIS_URL_UNIX;
		rest = url + 7;
		if (*rest != '/')
			return fail(err, errlen, "redis URL '%s': expected an absolute socket path, unix:///path", url);
		if (!copy_span(u.path, sizeof(u.path), rest, end))
			return fail(err, errlen, "redis URL '%s': socket path too long (at most %zu bytes)", url,
				    sizeof(u.path) - 1);
	} else if (strncmp(url, "redis://", 8) == 0 || strncmp(url, "redis-sentinel://", 17) == 0) {
		bool sentinel = url[5] == '-';
		rest = url + (sentinel ? 17 : 8);
		at = span_chr(rest, end, '@');
		if (at) {
			if ((r = parse_userinfo(&u, rest, at, url, err, errlen)) < 0)
				return r;
			rest = at + 1;
		}
		slash = span_chr(rest, end, '/');
		const char *hosts_end = slash ? slash : end;
		if (sentinel) {
			u.kind = REDIS_URL_SENTINEL;
			const char *h = rest;
			while (h < hosts_end) {
				const char *comma = span_chr(h, hosts_end, ',');
				const char *he = comma ? comma : hosts_end;
				if (u.n_sentinels == REDIS_URL_MAX_SENTINELS)
					return fail(err, errlen, "redis URL '%s': at most %d sentinels", url,
						    REDIS_URL_MAX_SENTINELS);
				if ((r = parse_endpoint(&u.sentinels[u.n_sentinels++], h, he, DEFAULT_SENTINEL_PORT, url,
							err, errlen)) < 0)
					return r;
				h = comma ? comma + 1 : hosts_end;
			}
			if (!u.n_sentinels)
				return fail(err, errlen, "redis URL '%s': no sentinel", url);
			const char *ms = slash ? slash + 1 : end;
			const char *me = span_chr(ms, end, '/');
			if (!copy_span(u.master, sizeof(u.master), ms, me ? me : end) || !u.master[0])
				return fail(err, errlen, "redis URL '%s': expected /MASTERNAME after the sentinels", url);
			if (me && (r = parse_db_path(&u, me + 1, end, url, err, errlen)) < 0)
				return r;
		} else {
			u.kind = REDIS_URL_TCP;
			if ((r = parse_endpoint(&u.tcp, rest, hosts_end, DEFAULT_PORT, url, err, errlen)) < 0)
				return r;
			if (slash && (r = parse_db_path(&u, slash + 1, end, url, err, errlen)) < 0)
				return r;
		}
	} else {
		return fail(err, errlen, "redis URL '%s': expected redis://, unix:// or redis-sentinel://", url);
	}
	if (q && (r = parse_query(&u, q + 1, url, err, errlen)) < 0)
		return r;
	*out = u;
	return 0;
}

const char *redis_url_describe(const struct redis_url *u, char *buf, size_t len)
{
	switch (u->kind) {
	case REDIS_URL_UNIX:
		snprintf(buf, len, "unix://%s (db %d)", u->path, u->db);
		break;
	case REDIS_URL_TCP:
		snprintf(buf, len, "redis://%s:%u/%d", u->tcp.host, u->tcp.port, u->db);
		break;
	case REDIS_URL_SENTINEL:
		snprintf(buf, len, "sentinel master '%s' via %s:%u%s (db %d)", u->master, u->sentinels[0].host,
			 u->sentinels[0].port, u->n_sentinels > 1 ? ",..." : "", u->db);
		break;
	}
	return buf;
}

static struct timeval tv_of(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return tv;
}

static int conn_errno(const redisContext *c)
{
	if (!c)
		return -ENOMEM;
	if (c->err == REDIS_ERR_IO && c->errstr[0]) {
		if (strstr(c->errstr, "refused"))
			return -ECONNREFUSED;
		if (strstr(c->errstr, "timed out"))
			return -ETIMEDOUT;
		if (strstr(c->errstr, "No such file"))
			return -ENOENT;
	}
	return -EIO;
}

static int open_endpoint(redisContext **out, const char *host, uint16_t port, const char *path, int timeout_ms,
			 char *err, size_t len)
{
	redisContext *c = path ? redisConnectUnixWithTimeout(path, tv_of(timeout_ms))
			       : redisConnectWithTimeout(host, port, tv_of(timeout_ms));

	if (!c || c->err) {
		int r = conn_errno(c);
		if (path)
			snprintf(err, len, "cannot connect to redis at unix://%s: %s", path, c ? c->errstr : "out of memory");
		else
			snprintf(err, len, "cannot connect to redis at %s:%u: %s", host, port,
				 c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return r;
	}
	redisSetTimeout(c, tv_of(timeout_ms));
	*out = c;
	return 0;
}

/* Sends a command and checks for an error reply. */
static int command_ok(redisContext *c, const char *what, char *err, size_t len, int argc, const char **argv)
{
	redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
	int r = 0;

	if (!rep) {
		snprintf(err, len, "redis %s: %s", what, c->errstr[0] ? c->errstr : "no reply");
		return -EIO;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, len, "redis %s refused: %s", what, rep->str);
		r = strstr(rep->str, "WRONGPASS") || strstr(rep->str, "invalid password") ||
				    strstr(rep->str, "NOAUTH") || strstr(rep->str, "NOPERM")
			    ? -EACCES
			    : -EIO;
	}
	freeReplyObject(rep);
	return r;
}

/* The master's address from the first sentinel that knows it. */
static int ask_sentinels(const struct redis_url *u, struct redis_endpoint *master, int timeout_ms, char *err,
			 size_t len)
{
	int r = -EHOSTUNREACH;

	for (size_t i = 0; i < u->n_sentinels; i++) {
		redisContext *c = NULL;
		if ((r = open_endpoint(&c, u->sentinels[i].host, u->sentinels[i].port, NULL, timeout_ms, err, len)) < 0)
			continue;
		redisReply *rep = redisCommand(c, "SENTINEL get-master-addr-by-name %s", u->master);
		if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		    rep->element[0]->type == REDIS_REPLY_STRING && rep->element[1]->type == REDIS_REPLY_STRING) {
			long port;
			const char *ps = rep->element[1]->str;
			if (copy_span(master->host, sizeof(master->host), rep->element[0]->str,
				      rep->element[0]->str + rep->element[0]->len) &&
			    parse_num(ps, ps + rep->element[1]->len, 1, 65535, &port)) {
				master->port = (uint16_t)port;
				freeReplyObject(rep);
				redisFree(c);
				return 0;
			}
		}
		snprintf(err, len, "sentinel %s:%u does not know master '%s'", u->sentinels[i].host,
			 u->sentinels[i].port, u->master);
		r = -EHOSTUNREACH;
		if (rep)
			freeReplyObject(rep);
		redisFree(c);
	}
	return r;
}

int redis_connect(redisContext **out, const struct redis_url *u, int timeout_ms, char *err, size_t errlen)
{
	struct redis_endpoint master;
	redisContext *c = NULL;
	char dbs[16];
	int r;

	*out = NULL;
	switch (u->kind) {
	case REDIS_URL_UNIX:
		r = open_endpoint(&c, NULL, 0, u->path, timeout_ms, err, errlen);
		break;
	case REDIS_URL_TCP:
		r = open_endpoint(&c, u->tcp.host, u->tcp.port, NULL, timeout_ms, err, errlen);
		break;
	default:
		r = ask_sentinels(u, &master, timeout_ms, err, errlen);
		if (r == 0)
			r = open_endpoint(&c, master.host, master.port, NULL, timeout_ms, err, errlen);
		break;
	}
	if (r < 0)
		return r;
	if (u->password[0]) {
		const char *argv[3] = { "AUTH", u->user[0] ? u->user : u->password, u->password };
		if ((r = command_ok(c, "AUTH", err, errlen, u->user[0] ? 3 : 2, argv)) < 0)
			goto out;
	}
	if (u->db) {
		snprintf(dbs, sizeof(dbs), "%d", u->db);
		const char *argv[2] = { "SELECT", dbs };
		if ((r = command_ok(c, "SELECT", err, errlen, 2, argv)) < 0)
			goto out;
	}
	if (u->kind == REDIS_URL_SENTINEL) {
		/* after a failover a sentinel may still name the old master for a
		 * moment: only a master takes writes */
		redisReply *rep = redisCommand(c, "ROLE");
		bool is_master = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
				 rep->element[0]->type == REDIS_REPLY_STRING && strcmp(rep->element[0]->str, "master") == 0;
		if (rep)
			freeReplyObject(rep);
		if (!is_master) {
			snprintf(err, errlen, "redis at %s:%u is not the master of '%s' (yet)", master.host, master.port,
				 u->master);
			r = -EAGAIN;
			goto out;
		}
	}
	*out = c;
	return 0;
out:
	redisFree(c);
	return r;
}

int redis_connect_url(redisContext **out, const char *url, int timeout_ms, char *err, size_t errlen)
{
	struct redis_url u;
	int r = redis_url_parse(&u, url, err, errlen);

	*out = NULL;
	if (r < 0)
		return r;
	return redis_connect(out, &u, timeout_ms, err, errlen);
}

redisReply *redis_command(redisContext *c, int argc, const char **argv)
{
	redisReply *rep = redisCommandArgv(c, argc, argv, NULL);

	if (rep && rep->type == REDIS_REPLY_ERROR) {
		log_warn("redis %s: %s", argv[0], rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

int redis_url_text(const char *url, char *text, size_t len, char *err, size_t errlen)
{
	struct redis_url u;
	int r = redis_url_parse(&u, url, err, errlen);

	if (r == 0)
		redis_url_describe(&u, text, len);
	return r;
}

#define RETRY_MAX_NS (30 * NSEC_PER_SEC)

int redis_retry(int (*connect)(void *ctx, char *err, size_t errlen), void *ctx, const volatile sig_atomic_t *stop)
{
	int64_t wait = NSEC_PER_SEC;
	char err[512];

	while (!*stop) {
		if (connect(ctx, err, sizeof(err)) == 0)
			return *stop ? -EINTR : 0;
		log_debug("%s", err);
		clock_sleep_until(clock_mono_ns() + (uint64_t)wait);
		wait = wait * 2 < RETRY_MAX_NS ? wait * 2 : RETRY_MAX_NS;
	}
	return -EINTR;
}
