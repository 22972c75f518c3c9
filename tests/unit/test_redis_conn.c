/* store/redis-conn: URL forms and their errors; connecting to a private
 * redis-server on a unix socket, with and without a password. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/redis-conn.h"

static void test_forms(void **state)
{
	(void)state;
	struct redis_url u;
	char err[256];

	assert_int_equal(redis_url_parse(&u, "redis://127.0.0.1:6380/3", err, sizeof(err)), 0);
	assert_int_equal(u.kind, REDIS_URL_TCP);
	assert_string_equal(u.tcp.host, "127.0.0.1");
	assert_int_equal(u.tcp.port, 6380);
	assert_int_equal(u.db, 3);
	assert_int_equal(redis_url_parse(&u, "redis://alice:s3cr:t@127.0.0.1", err, sizeof(err)), 0);
	assert_string_equal(u.user, "alice");
	assert_string_equal(u.password, "s3cr:t");
	assert_int_equal(u.tcp.port, 6379);
	assert_int_equal(redis_url_parse(&u, "redis://:pw@[::1]:7000", err, sizeof(err)), 0);
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "pw");
	assert_string_equal(u.tcp.host, "::1");
	assert_int_equal(redis_url_parse(&u, "unix:///run/r.sock?db=2&password=x&user=bob", err, sizeof(err)), 0);
	assert_int_equal(u.kind, REDIS_URL_UNIX);
	assert_string_equal(u.path, "/run/r.sock");
	assert_int_equal(u.db, 2);
	assert_string_equal(u.password, "x");
	assert_string_equal(u.user, "bob");
	assert_int_equal(redis_url_parse(&u, "redis-sentinel://:pw@127.0.0.1:26379,127.0.0.2/mymaster?db=1", err,
					 sizeof(err)), 0);
	assert_int_equal(u.kind, REDIS_URL_SENTINEL);
	assert_int_equal(u.n_sentinels, 2);
	assert_int_equal(u.sentinels[1].port, 26379);
	assert_string_equal(u.master, "mymaster");
	assert_int_equal(u.db, 1);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *url, *msg;
	} cases[] = {
		{ "", "empty" },
		{ "http://127.0.0.1", "expected redis://" },
		{ "redis://127.0.0.1:99999", "port '99999' is not 1-65535" },
		{ "redis://127.0.0.1:", "port '' is not" },
		{ "redis://:6379", "no host" },
		{ "redis://127.0.0.1/x", "database 'x' is not a number" },
		{ "unix://relative.sock", "absolute socket path" },
		{ "unix:///r.sock?db=z", "db is not a number" },
		{ "unix:///r.sock?tls=1", "unknown parameter 'tls'" },
		{ "unix:///r.sock?db", "KEY=VALUE" },
		{ "redis-sentinel://127.0.0.1:26379", "/MASTERNAME" },
		{ "redis-sentinel:///m", "no sentinel" },
		{ "redis://[::1:6379", "no ']'" },
	};
	struct redis_url u;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (redis_url_parse(&u, cases[i].url, err, sizeof(err)) != -EINVAL || !strstr(err, cases[i].msg))
			fail_msg("'%s': got '%s', want '%s'", cases[i].url, err, cases[i].msg);
	}
}

/* A private redis-server on a unix socket in a temp dir. */
static pid_t start_redis(const char *dir, const char *extra)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "redis-server --port 0 --unixsocket %s/r.sock --save '' --appendonly no --dir %s %s "
		 "--daemonize yes --pidfile %s/r.pid --logfile %s/r.log",
		 dir, dir, extra, dir, dir);
	assert_int_equal(system(cmd), 0);
	char pidf[512];
	snprintf(pidf, sizeof(pidf), "%s/r.pid", dir);
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(pidf, "r");
		int pid;
		if (f && fscanf(f, "%d", &pid) == 1) {
			fclose(f);
			char sock[512];
			snprintf(sock, sizeof(sock), "%s/r.sock", dir);
			if (access(sock, F_OK) == 0)
				return pid;
		} else if (f) {
			fclose(f);
		}
		usleep(20000);
	}
	fail_msg("redis-server did not start in %s", dir);
	return -1;
}

static void test_connect(void **state)
{
	(void)state;
	char dir[] = "/tmp/sw-redis-conn.XXXXXX", url[600], err[256];
	redisContext *c;

	assert_non_null(mkdtemp(dir));
	pid_t pid = start_redis(dir, "--requirepass hunter2");
	snprintf(url, sizeof(url), "unix://%s/r.sock?password=hunter2&db=5", dir);
	assert_int_equal(redis_connect_url(&c, url, 1000, err, sizeof(err)), 0);
	redisReply *rep = redisCommand(c, "CLIENT INFO");
	assert_non_null(rep);
	assert_non_null(strstr(rep->str, "db=5"));
	freeReplyObject(rep);
	redisFree(c);
	snprintf(url, sizeof(url), "unix://%s/r.sock?password=wrong", dir);
	assert_int_equal(redis_connect_url(&c, url, 1000, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "AUTH refused"));
	kill(pid, SIGKILL);
	snprintf(url, sizeof(url), "unix://%s/nothing.sock", dir);
	assert_true(redis_connect_url(&c, url, 1000, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot connect to redis at unix://"));
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_connect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
