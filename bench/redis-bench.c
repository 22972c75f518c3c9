/* redis-bench: how many results a second the Redis store writes, through
 * the daemon's own code (store thread, Redis formatting, backlog, writer
 * thread), into a private redis-server it starts (or one given by URL).
 *
 *   redis-bench [--results N] [--targets N] [--rate PPS] [--url URL --redis-pid PID]
 *
 * It pushes synthetic results into the store's ring as the scheduler
 * would, as fast as it can or at --rate, and reports results/s end to end
 * (until Redis acknowledged the last one), the largest backlog seen, and
 * the CPU time redis-server and this process used. Needs redis-server on
 * PATH unless --url is given. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/ring.h"
#include "scheduler/table.h"
#include "scheduler/targets.h"
#include "store/store.h"

#define RING_SIZE (1u << 18)

struct opts {
	uint64_t results;
	uint64_t targets;
	uint64_t rate;  /* 0: as fast as possible */
	const char *url;
	pid_t redis_pid;
};

static void usage_exit(void)
{
	fprintf(stderr, "usage: redis-bench [--results N] [--targets N] [--rate PPS] [--url URL --redis-pid PID]\n");
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || *end)
		usage_exit();
	return v;
}

/* redis-server's CPU time so far (user + system), in seconds. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* A private redis-server on a unix socket in dir; returns its pid. */
static pid_t start_redis(const char *dir, char *url, size_t len)
{
	char sock[512], logf[512];
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	snprintf(logf, sizeof(logf), "%s/redis.log", dir);
	snprintf(url, len, "unix://%s", sock);
	if ((pid = fork()) == 0) {
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
		       "--appendonly", "no", "--dir", dir, "--logfile", logf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		redisContext *c = redisConnectUnix(sock);
		bool ok = c && !c->err;
		redisFree(c);
		if (ok)
			return pid;
		clock_sleep_until(clock_mono_ns() + 50 * NSEC_PER_MSEC);
	}
	fprintf(stderr, "redis-bench: redis-server did not start (is it installed?)\n");
	kill(pid, SIGKILL);
	exit(1);
}

static struct table *make_table(uint64_t n)
{
	static char team[] = "team", net[] = "net", crit[] = "criticality", high[] = "high", name[] = "bench";
	static struct label labels[] = { { crit, high }, { team, net } };
	struct table_group g = {
		.name = name, .labels = labels, .n_labels = 2, .interval_ns = 30 * NSEC_PER_SEC,
		.timeout_ns = NSEC_PER_SEC, .retries = 1, .priority = 1,
	};
	struct target_list tl;
	struct table *t;
	char spec[64], err[256];

	target_list_init(&tl, 0, TARGET_FAMILY_V4);
	for (uint64_t i = 0; i < n; i++) {
		snprintf(spec, sizeof(spec), "198.18.%u.%u:443", (unsigned)(i / 250 % 256), (unsigned)(i % 250 + 1));
		if (i >= 64000)
			snprintf(spec, sizeof(spec), "198.19.%u.%u:%u", (unsigned)(i / 250 % 256),
				 (unsigned)(i % 250 + 1), (unsigned)(1024 + i / 64000));
		if (target_list_add_spec(&tl, spec, NULL, NULL, NULL, err, sizeof(err)) < 0) {
			fprintf(stderr, "redis-bench: %s\n", err);
			exit(1);
		}
	}
	if (table_from_list(&t, &tl, &g, "bench") < 0) {
		fprintf(stderr, "redis-bench: out of memory\n");
		exit(1);
	}
	target_list_release(&tl);
	return t;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "results", required_argument, NULL, 'n' }, { "targets", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },    { "url", required_argument, NULL, 'u' },
		{ "redis-pid", required_argument, NULL, 'p' }, { NULL, 0, NULL, 0 },
	};
	struct opts o = { .results = 2000000, .targets = 50000 };
	char dir[] = "/tmp/redis-bench.XXXXXX", url[600], spill[600];
	struct table_pub pub = { 0 };
	struct ring *recs;
	struct store *st;
	pid_t redis = 0;
	int c;

	log_set_program("redis-bench");
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o.results = num(optarg); break;
		case 't': o.targets = num(optarg); break;
		case 'r': o.rate = num(optarg); break;
		case 'u': o.url = optarg; break;
		case 'p': o.redis_pid = (pid_t)num(optarg); break;
		default: usage_exit();
		}
	}
	if (!o.targets || o.targets > 1000000 || !o.results)
		usage_exit();
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir)) {
		perror("redis-bench: mkdtemp");
		return 1;
	}
	if (o.url) {
		snprintf(url, sizeof(url), "%s", o.url);
		redis = o.redis_pid;
	} else {
		redis = start_redis(dir, url, sizeof(url));
	}
	snprintf(spill, sizeof(spill), "%s/spill.log", dir);

	struct table *t = make_table(o.targets);
	table_pub_publish(&pub, t);
	struct store_redis_config rc = {
		.url = url, .spill_path = spill, .location = "bench", .prober = "bench/redis-bench", .host = "bench",
		.version = "bench", .rate = o.rate, .monitoring = true, .flush_ns = 30 * NSEC_PER_SEC,
	};
	struct store_config sc = {
		.format = STORE_NONE, .out = stdout, .tables = &pub, .location = "bench", .run_id = 1,
		.with_group = true, .redis = &rc,
	};
	if (ring_new(&recs, sizeof(struct store_rec), RING_SIZE) < 0 || store_new(&st, &sc, recs, NULL) < 0 ||
	    store_start(st) < 0)
		return 1;

	struct store_rec batch[256];
	struct store_redis_stats rs;
	uint64_t pushed = 0, max_backlog = 0, t0 = clock_mono_ns(), next_check = t0;
	double redis_cpu0 = redis ? proc_cpu(redis) : 0, self0 = self_cpu();
	while (pushed < o.results) {
		uint64_t now = clock_mono_ns();
		size_t n = 0;
		if (o.rate && pushed >= (now - t0) * o.rate / NSEC_PER_SEC) {
			clock_sleep_until(now + 200 * 1000);
			continue;
		}
		int64_t ts = clock_real_ns();
		for (; n < 256 && pushed + n < o.results; n++) {
			uint64_t i = pushed + n;
			batch[n] = (struct store_rec){
				.kind = STORE_REC_RESULT,
				.u.result = { .ts_real_ns = ts, .rtt_ns = 300000 + (int64_t)(i % 977) * 1000,
					      .target = (uint32_t)(i % o.targets),
					      .state = i % 50 ? PROBE_OPEN : PROBE_CLOSED,
					      .ttl = 64 },
			};
		}
		for (size_t k = 0; k < n;)
			k += ring_push(recs, batch + k, n - k);
		pushed += n;
		if (now >= next_check) {
			next_check = now + 10 * NSEC_PER_MSEC;
			store_redis_stats(st, &rs);
			if (rs.backlog > max_backlog)
				max_backlog = rs.backlog;
		}
	}
	uint64_t t_pushed = clock_mono_ns();
	store_redis_stats(st, &rs);
	uint64_t backlog_at_end = rs.backlog;
	do {
		clock_sleep_until(clock_mono_ns() + 2 * NSEC_PER_MSEC);
		store_redis_stats(st, &rs);
		if (rs.backlog > max_backlog)
			max_backlog = rs.backlog;
		/* written counts records: the results and the latency minutes */
	} while ((rs.written < o.results || rs.backlog) && clock_mono_ns() - t_pushed < 120 * NSEC_PER_SEC);
	uint64_t t1 = clock_mono_ns();
	double secs = (double)(t1 - t0) / 1e9;
	double redis_cpu = redis ? proc_cpu(redis) - redis_cpu0 : 0, self = self_cpu() - self0;

	printf("redis-bench: %llu results to %llu targets in %.2f s: %.0f results/s written%s (%llu records "
	       "with the latency minutes)\n",
	       (unsigned long long)o.results, (unsigned long long)o.targets, secs, (double)o.results / secs,
	       o.rate ? " (paced)" : "", (unsigned long long)rs.written);
	printf("redis-bench: pushing took %.2f s (%.0f/s offered); backlog: at most %llu records, %llu when the "
	       "last result was offered; spilled %llu; lost %llu\n",
	       (double)(t_pushed - t0) / 1e9, (double)o.results / ((double)(t_pushed - t0) / 1e9),
	       (unsigned long long)max_backlog, (unsigned long long)backlog_at_end, (unsigned long long)rs.spilled,
	       (unsigned long long)rs.lost);
	printf("redis-bench: %llu transactions, %.0f records each\n", (unsigned long long)rs.batches,
	       rs.batches ? (double)rs.written / (double)rs.batches : 0);
	printf("redis-bench: CPU: redis-server %.2f s (%.0f%% of one core, %.2f us a result), redis-bench %.2f s "
	       "(%.0f%%, %.2f us a result: store thread, writer thread, producer)\n",
	       redis_cpu, 100 * redis_cpu / secs, redis_cpu * 1e6 / (double)o.results, self, 100 * self / secs,
	       self * 1e6 / (double)o.results);
	store_free(st);
	ring_free(recs);
	table_pub_release(&pub);
	if (!o.url && redis) {
		kill(redis, SIGTERM);
		waitpid(redis, NULL, 0);
	}
	unlink(spill);
	char path[700];
	snprintf(path, sizeof(path), "%s/redis.sock", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/redis.log", dir);
	unlink(path);
	rmdir(dir);
	return rs.written >= o.results && !rs.backlog ? 0 : 1;
}
