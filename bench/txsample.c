/* Samples an interface's packet counters for the benchmark (bench/bench.sh),
 * so that every prober's send rate is measured the same way, on the wire,
 * whatever the prober itself reports: the send phase is where tx_packets
 * climbs. Reads /sys/class/net/IFACE/statistics/{tx,rx}_packets every
 * INTERVAL_US microseconds (CLOCK_MONOTONIC), keeps the samples in memory
 * and prints them at SIGTERM or SIGINT, so the run itself costs a pread and a
 * sleep per interval and no output.
 *
 * usage: txsample IFACE INTERVAL_US
 * Output, one line per sample that changed a counter: T_NS TX_PACKETS RX_PACKETS */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES (4u << 20)

struct sample {
	uint64_t t, tx, rx;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int open_stat(const char *ifname, const char *what)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "txsample: cannot open '%s': %s\n", path, strerror(errno));
	return fd;
}

static uint64_t read_stat(int fd)
{
	char buf[32];
	ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);

	if (r <= 0)
		return 0;
	buf[r] = '\0';
	return strtoull(buf, NULL, 10);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sample *s;
	size_t n = 0;
	long us;
	int tx, rx;

	if (argc != 3 || (us = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: txsample IFACE INTERVAL_US\n");
		return 2;
	}
	tx = open_stat(argv[1], "tx_packets");
	rx = open_stat(argv[1], "rx_packets");
	s = calloc(MAX_SAMPLES, sizeof(*s));
	if (tx < 0 || rx < 0 || !s)
		return 1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct timespec step = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };
	while (!stop) {
		struct sample c = { .t = now_ns(), .tx = read_stat(tx), .rx = read_stat(rx) };
		/* an unchanged sample adds nothing but the time it was taken:
		 * keep the last one of a flat stretch, so the end of a climb is
		 * known to the interval */
		if (n >= 2 && s[n - 1].tx == c.tx && s[n - 1].rx == c.rx && s[n - 2].tx == c.tx &&
		    s[n - 2].rx == c.rx)
			s[n - 1] = c;
		else if (n < MAX_SAMPLES)
			s[n++] = c;
		nanosleep(&step, NULL);
	}
	for (size_t i = 0; i < n; i++)
		printf("%llu %llu %llu\n", (unsigned long long)s[i].t, (unsigned long long)s[i].tx,
		       (unsigned long long)s[i].rx);
	free(s);
	return 0;
}
