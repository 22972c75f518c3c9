/* checker-tls: the checker's own CPU per tls check. engine/checker.h, with
 * the TLS backend it was built with, checks one TLS server as T targets, in
 * rounds (every target once a round, the next round once the last one's
 * connections have closed, when a target's session is kept), until N checks
 * are done; the process's CPU time (getrusage, user + system) over those N
 * checks, divided by N.
 *
 *   checker-tls -p PORT -C CAFILE -s NAME [-a ADDR] [-n 1000] [-t 64] [-f FULL_EVERY] [-b LABEL]
 *
 * FULL_EVERY is checker_config.full_every (0: the checker's default, 1: a
 * full handshake every check). The chain and the name are verified
 * (verify: true), as a check with a CA file does. A warm-up round on a
 * checker of its own comes first (first use of the library, the trust
 * store). Prints one line of key=value fields. bench/checker-tls.sh runs it
 * for each backend. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/addr.h"
#include "common/check.h"
#include "common/clock.h"
#include "common/ring.h"
#include "engine/checker.h"

struct opts {
	const char *addr, *ca_file, *name, *label;
	uint16_t port;
	uint32_t n, targets, full_every;
};

struct tally {
	uint32_t ok, failed;
	char first_error[CHECK_TEXT_MAX + 1];
	char version[16], cipher[64];
};

static int64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static int64_t sys_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
}

/* Checks targets [0, k) once each, waits for their verdicts and then for
 * their connections to close. Returns 0, or -1 if the round took over 30 s. */
static int round_of(struct checker *ck, struct ring *reqs, struct ring *results, struct check_spec *spec,
		    const struct opts *o, uint32_t k, uint32_t seq, struct tally *t)
{
	struct check_result res[64];
	uint32_t got = 0;
	uint64_t end = clock_mono_ns() + 30 * NSEC_PER_SEC;
	struct checker_stats st;

	for (uint32_t i = 0; i < k; i++) {
		struct check_req r = { .spec = check_spec_ref(spec), .target = i, .seq = seq, .port = o->port };
		addr_parse(&r.dst, o->addr);
		snprintf(r.name, sizeof(r.name), "%s", o->name);
		while (ring_push(reqs, &r, 1) != 1)
			checker_step(ck, reqs, results, 1);
	}
	while (clock_mono_ns() < end) {
		checker_step(ck, reqs, results, 10);
		size_t n;
		while ((n = ring_pop(results, res, sizeof(res) / sizeof(res[0]))) > 0) {
			for (size_t i = 0; i < n; i++) {
				if (res[i].v.ok) {
					t->ok++;
				} else {
					t->failed++;
					if (!t->first_error[0])
						snprintf(t->first_error, sizeof(t->first_error), "%s", res[i].v.error);
				}
				if (!t->version[0] && res[i].tls.version[0]) {
					memcpy(t->version, res[i].tls.version, sizeof(t->version));
					memcpy(t->cipher, res[i].tls.cipher, sizeof(t->cipher));
				}
			}
			got += (uint32_t)n;
		}
		checker_get_stats(ck, &st);
		if (got >= k && st.in_flight_now == 0)
			return 0;
	}
	return -1;
}

static struct checker *checker_for(const struct opts *o)
{
	struct checker_config cfg = {
		.max_in_flight = o->targets, .max_per_host = o->targets, .full_every = o->full_every,
	};
	struct checker *ck;
	char err[256];

	if (checker_new(&ck, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "checker-tls: %s\n", err);
		exit(1);
	}
	return ck;
}

static void usage(void)
{
	fprintf(stderr, "usage: checker-tls -p PORT -C CAFILE -s NAME [-a ADDR] [-n CHECKS] [-t TARGETS] "
			"[-f FULL_EVERY] [-b LABEL]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .addr = "127.0.0.1", .label = "", .n = 1000, .targets = 64 };
	struct ring *reqs, *results;
	struct tally warm = { 0 }, t = { 0 };
	struct checker_stats st;
	int c;

	while ((c = getopt(argc, argv, "a:b:C:f:n:p:s:t:")) != -1) {
		switch (c) {
		case 'a':
			o.addr = optarg;
			break;
		case 'b':
			o.label = optarg;
			break;
		case 'C':
			o.ca_file = optarg;
			break;
		case 'f':
			o.full_every = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o.n = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			o.port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 's':
			o.name = optarg;
			break;
		case 't':
			o.targets = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (!o.port || !o.ca_file || !o.name || !o.n || !o.targets)
		usage();
	struct sw_addr a;
	if (addr_parse(&a, o.addr) < 0 || a.family != AF_INET || (ntohl(a.u.v4.s_addr) >> 24) != 127) {
		fprintf(stderr, "checker-tls: '%s' is not in 127.0.0.0/8: this bench checks a local server only\n",
			o.addr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN); /* as synwatch does (engine/checker.h) */
	struct check_spec *spec = check_spec_new(CHECK_TLS);
	if (!spec || !(spec->ca_file = strdup(o.ca_file)))
		return 1;
	spec->verify = true;
	if (ring_new(&reqs, sizeof(struct check_req), 1024) < 0 || ring_new(&results, sizeof(struct check_result), 1024) < 0)
		return 1;

	struct checker *ck = checker_for(&o);
	if (round_of(ck, reqs, results, spec, &o, o.targets, 0, &warm) < 0 || warm.failed) {
		fprintf(stderr, "checker-tls: the warm-up failed: %s\n", warm.first_error[0] ? warm.first_error : "timeout");
		return 1;
	}
	checker_free(ck);

	ck = checker_for(&o);
	int64_t c0 = cpu_us(), s0 = sys_us();
	uint64_t w0 = clock_mono_ns();
	uint32_t done = 0;
	for (uint32_t seq = 1; done < o.n; seq++) {
		uint32_t k = o.n - done < o.targets ? o.n - done : o.targets;
		if (round_of(ck, reqs, results, spec, &o, k, seq, &t) < 0) {
			fprintf(stderr, "checker-tls: a round did not end within 30 s\n");
			return 1;
		}
		done += k;
	}
	double wall = (double)(clock_mono_ns() - w0) / 1e9;
	int64_t cpu = cpu_us() - c0, sys = sys_us() - s0;
	checker_get_stats(ck, &st);
	printf("backend=%s n=%u targets=%u full_every=%u full=%llu resumed=%llu ok=%u failed=%u cpu_us=%.1f "
	       "user_us=%.1f sys_us=%.1f wall_s=%.2f per_s=%.0f version=%s cipher=%s first_error=\"%s\"\n",
	       o.label, o.n, o.targets, o.full_every, (unsigned long long)st.tls_full,
	       (unsigned long long)st.tls_resumed, t.ok, t.failed, (double)cpu / o.n, (double)(cpu - sys) / o.n,
	       (double)sys / o.n, wall, o.n / wall, t.version, t.cipher, t.first_error);
	checker_free(ck);
	ring_free(reqs);
	ring_free(results);
	check_spec_unref(spec);
	return t.failed ? 1 : 0;
}
