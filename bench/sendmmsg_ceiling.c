/* The kernel ceiling for the benchmark (bench/bench.sh): how fast this machine
 * can put SYNs on the wire through a raw socket with sendmmsg when nothing
 * else is done per packet. Every packet is built before the clock starts, so
 * the timed loop is sendmmsg and nothing else: no rate limiter, no cookie, no
 * capture, no scheduler. The replies are answered by the kernel (RST for a
 * SYN-ACK it has no socket for), as they are for synwatch; the benchmark
 * counts them on the interface.
 *
 * With -l IFNAME,GATEWAY_MAC the same SYNs go as Ethernet frames to that MAC
 * on a packet socket (AF_PACKET, SOCK_DGRAM), as synwatch's link paths and
 * zmap send them: no IP routing, no netfilter output hooks.
 *
 * usage: sendmmsg_ceiling -s SRC_IP -t TARGETS [-b BATCH] [-p LO-HI] [-l IFNAME,MAC]
 *   TARGETS  one IP:PORT per line; every address must be in 198.18.0.0/15
 *            (the benchmark range, RFC 2544): anything else is refused
 * Prints one line: sent=N failed=N enobufs=N secs=S rate=R
 * Exit status: 0 done, 1 runtime failure, 2 bad usage. Needs CAP_NET_RAW. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT_LEN 60 /* IPv4 20 + TCP 20 + options 20, what synwatch sends */
#define MAX_BATCH 1024
#define SNDBUF (8 << 20)

struct probe {
	uint8_t pkt[PKT_LEN];
};

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* A SYN with the options Linux puts in its own (MSS, SACK permitted,
 * timestamps, window scale), so the target does the same work as for
 * synwatch's probes. Every checksum is ours: a raw socket would fill the IP
 * header's (IP_HDRINCL), a packet socket does not. */
static void build(struct probe *pr, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq)
{
	uint8_t *ip = pr->pkt, *tcp = pr->pkt + 20, pseudo[12];
	uint32_t sum;

	memset(pr->pkt, 0, PKT_LEN);
	ip[0] = 0x45;
	put16(ip + 2, PKT_LEN);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	tcp[12] = (40 / 4) << 4;
	tcp[13] = 0x02; /* SYN */
	put16(tcp + 14, 64240);
	tcp[20] = 2; /* MSS 1460 */
	tcp[21] = 4;
	put16(tcp + 22, 1460);
	tcp[24] = 4; /* SACK permitted */
	tcp[25] = 2;
	tcp[26] = 8; /* timestamps, TSecr 0 */
	tcp[27] = 10;
	put32(tcp + 28, seq ^ 0x5a5a5a5a);
	tcp[36] = 1; /* NOP, window scale 7 */
	tcp[37] = 3;
	tcp[38] = 3;
	tcp[39] = 7;
	put32(pseudo, src);
	put32(pseudo + 4, dst);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	put16(pseudo + 10, 40);
	sum = sum16(sum16(0, pseudo, sizeof(pseudo)), tcp, 40);
	put16(tcp + 16, fold(sum));
	put16(ip + 10, fold(sum16(0, ip, 20)));
}

static int in_bench_range(uint32_t a)
{
	return (a & 0xfffe0000u) == 0xc6120000u; /* 198.18.0.0/15 */
}

static void usage(void)
{
	fprintf(stderr, "usage: sendmmsg_ceiling -s SRC_IP -t TARGETS [-b BATCH] [-p LO-HI] [-l IFNAME,MAC]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *src_s = NULL, *path = NULL, *link = NULL;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_halen = 6 };
	unsigned batch = 64, plo = 61000, phi = 61999;
	struct probe *pr = NULL;
	struct mmsghdr *msg = NULL;
	struct iovec *iov = NULL;
	struct sockaddr_in *sin = NULL;
	size_t n = 0, cap = 0;
	struct in_addr src;
	char line[128];
	FILE *f;
	int c, fd, one = 1, size = SNDBUF;

	while ((c = getopt(argc, argv, "s:t:b:p:l:")) != -1) {
		switch (c) {
		case 's': src_s = optarg; break;
		case 't': path = optarg; break;
		case 'b': batch = (unsigned)atoi(optarg); break;
		case 'p':
			if (sscanf(optarg, "%u-%u", &plo, &phi) != 2 || plo < 1 || phi > 65535 || plo > phi)
				usage();
			break;
		case 'l': link = optarg; break;
		default: usage();
		}
	}
	if (link) {
		char ifname[IF_NAMESIZE + 1];
		unsigned m[6];
		if (sscanf(link, "%16[^,],%x:%x:%x:%x:%x:%x", ifname, &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 7)
			usage();
		sll.sll_ifindex = (int)if_nametoindex(ifname);
		if (sll.sll_ifindex == 0) {
			fprintf(stderr, "sendmmsg_ceiling: no interface '%s'\n", ifname);
			return 2;
		}
		for (int k = 0; k < 6; k++)
			sll.sll_addr[k] = (unsigned char)m[k];
	}
	if (!src_s || !path || batch < 1 || batch > MAX_BATCH || inet_pton(AF_INET, src_s, &src) != 1)
		usage();
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "sendmmsg_ceiling: cannot open '%s': %s\n", path, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char *colon = strrchr(line, ':');
		struct in_addr dst;
		unsigned port;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!colon || sscanf(colon + 1, "%u", &port) != 1 || port < 1 || port > 65535)
			goto bad;
		*colon = '\0';
		if (inet_pton(AF_INET, line, &dst) != 1)
			goto bad;
		if (!in_bench_range(ntohl(dst.s_addr))) {
			fprintf(stderr, "sendmmsg_ceiling: '%s' is outside 198.18.0.0/15; refusing to send\n", line);
			return 2;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			pr = realloc(pr, cap * sizeof(*pr));
			sin = realloc(sin, cap * sizeof(*sin));
			if (!pr || !sin) {
				fprintf(stderr, "sendmmsg_ceiling: out of memory\n");
				return 1;
			}
		}
		/* a sequence number that differs per probe, like a cookie would */
		uint32_t seq = (uint32_t)(n * 2654435761u) ^ 0x9e3779b9u;
		build(&pr[n], ntohl(src.s_addr), ntohl(dst.s_addr), (uint16_t)(plo + n % (phi - plo + 1)),
		      (uint16_t)port, seq);
		memset(&sin[n], 0, sizeof(sin[n]));
		sin[n].sin_family = AF_INET;
		sin[n].sin_addr = dst;
		n++;
		continue;
bad:
		fprintf(stderr, "sendmmsg_ceiling: '%s': expected IP:PORT\n", line);
		return 2;
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "sendmmsg_ceiling: no targets in '%s'\n", path);
		return 2;
	}
	msg = calloc(n, sizeof(*msg));
	iov = calloc(n, sizeof(*iov));
	if (!msg || !iov) {
		fprintf(stderr, "sendmmsg_ceiling: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = pr[i].pkt;
		iov[i].iov_len = PKT_LEN;
		if (link) {
			msg[i].msg_hdr.msg_name = &sll;
			msg[i].msg_hdr.msg_namelen = sizeof(sll);
		} else {
			msg[i].msg_hdr.msg_name = &sin[i];
			msg[i].msg_hdr.msg_namelen = sizeof(sin[i]);
		}
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	if (link)
		fd = socket(AF_PACKET, SOCK_DGRAM, 0); /* protocol 0: receives nothing */
	else
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || (!link && setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0)) {
		fprintf(stderr, "sendmmsg_ceiling: cannot open a raw socket: %s\n", strerror(errno));
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));

	/* the timed part: nothing but sendmmsg */
	uint64_t failed = 0, enobufs = 0;
	struct timespec t0, t1;
	size_t i = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (i < n) {
		unsigned k = n - i < batch ? (unsigned)(n - i) : batch;
		int r = sendmmsg(fd, msg + i, k, 0);
		if (r > 0) {
			i += (size_t)r;
		} else if (link && errno == ENOBUFS) {
			/* a packet socket reports a frame dropped on the way
			 * out (a raw socket does not): it is gone, not queued */
			enobufs++;
			i++;
		} else if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
			enobufs++;
			sched_yield();
		} else {
			failed++;
			i++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("sent=%zu failed=%llu enobufs=%llu secs=%.6f rate=%.0f\n", n - failed, (unsigned long long)failed,
	       (unsigned long long)enobufs, secs, (double)(n - failed) / secs);
	close(fd);
	free(pr);
	free(sin);
	free(msg);
	free(iov);
	return 0;
}
