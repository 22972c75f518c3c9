/* engine/sender: the thread end to end. Dry runs need no privileges: the
 * printed packets and the reports must account for every request exactly
 * once, in order. As root, a fresh network namespace (unshare in a forked
 * child) checks the real thing on loopback: the SYN leaves, the listener's
 * SYN-ACK and the closed port's RST acknowledge our cookie, and a request
 * with no route comes back FAILED with ENETUNREACH. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/cookie.h"
#include "common/probe.h"
#include "common/ring.h"
#include "common/wire.h"
#include "engine/linkpath.h"
#include "engine/packet.h"
#include "engine/route.h"
#include "engine/sender.h"
#include "tests/unit/netns.h"

/* only a guard against a hung thread, never a timing assertion */
#define GUARD_NS (20 * NSEC_PER_SEC)

static const struct cookie_key key = { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };

static struct sw_addr ip(const char *s)
{
	struct sw_addr a;
	if (addr_parse(&a, s) != 0)
		abort();
	return a;
}

static struct probe_req req(const char *src, const char *dst, uint64_t seq, uint16_t sport, uint16_t dport,
			    uint8_t attempt)
{
	struct probe_req q = { .src = ip(src), .dst = ip(dst), .seq = seq, .sport = sport, .dport = dport,
			       .attempt = attempt, .target = (uint32_t)seq };
	return q;
}

/* Collects reports until they cover [first, first + n); checks that each
 * request appears exactly once and in order. Returns the FAILED count and
 * stores each request's errno (0 when sent) in errs. */
static unsigned collect(struct ring *reports, uint64_t first, size_t n, int *errs)
{
	uint64_t next = first, deadline = clock_mono_ns() + GUARD_NS;
	unsigned failed = 0;
	struct send_report rep;

	while (next < first + n) {
		if (ring_pop(reports, &rep, 1) == 0) {
			assert_true(clock_mono_ns() < deadline);
			clock_sleep_until(clock_mono_ns() + 100 * NSEC_PER_USEC);
			continue;
		}
		assert_int_equal(rep.seq, next); /* in order, no gap, no repeat */
		assert_true(rep.ts_real_ns > 0 && rep.ts_mono_ns > 0);
		if (rep.kind == SEND_REPORT_SENT) {
			assert_true(rep.count >= 1);
			assert_true(rep.seq + rep.count <= first + n);
			for (uint32_t i = 0; i < rep.count; i++)
				errs[rep.seq + i - first] = 0;
			next += rep.count;
		} else {
			assert_int_equal(rep.kind, SEND_REPORT_FAILED);
			assert_int_equal(rep.count, 1);
			assert_true(rep.err > 0);
			errs[rep.seq - first] = rep.err;
			failed++;
			next++;
		}
	}
	return failed;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[1] && s[0] != '\n' && n < cap) {
		unsigned v;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

/* A printed line: "dst:dport sport attempt hex"; the packet must be the
 * request's SYN with its cookie and valid checksums. */
static void check_line(const char *line, const struct probe_req *q)
{
	char want[128], addr[ADDR_STRLEN];
	uint8_t pkt[PACKET_SYN_MAX];

	addr_format(&q->dst, addr, sizeof(addr));
	int n = snprintf(want, sizeof(want), q->dst.family == AF_INET6 ? "[%s]:%u %u %u " : "%s:%u %u %u ", addr,
			 q->dport, q->sport, q->attempt);
	assert_int_equal(strncmp(line, want, (size_t)n), 0);
	size_t len = unhex(line + n, pkt, sizeof(pkt));
	size_t l3 = q->dst.family == AF_INET6 ? IPV6_HDR_LEN : IPV4_HDR_LEN;
	assert_int_equal(len, l3 + 40);
	const uint8_t *tcp = pkt + l3;
	uint32_t sum = 0;
	if (q->dst.family == AF_INET) {
		assert_int_equal(csum_fold(csum_add(0, pkt, IPV4_HDR_LEN)), 0);
		assert_memory_equal(pkt + 12, q->src.u.b, 4);
		assert_memory_equal(pkt + 16, q->dst.u.b, 4);
		sum = csum_add(0, pkt + 12, 8);
	} else {
		assert_memory_equal(pkt + 8, q->src.u.b, 16);
		assert_memory_equal(pkt + 24, q->dst.u.b, 16);
		sum = csum_add(0, pkt + 8, 32);
	}
	sum += IPPROTO_TCP_NUM + 40;
	assert_int_equal(csum_fold(csum_add(sum, tcp, 40)), 0);
	assert_int_equal(rd16(tcp), q->sport);
	assert_int_equal(rd16(tcp + 2), q->dport);
	assert_int_equal(rd32(tcp + 4), cookie_isn(&key, &q->src, &q->dst, q->sport, q->dport, q->attempt));
	assert_int_equal(tcp[13], TCP_SYN);
}

static void test_dry_run(void **state)
{
	(void)state;
	struct ring *reqs, *reports;
	struct sender *s;
	struct probe_req q[10];
	struct sender_stats st;
	int errs[10];
	char line[512];
	FILE *f = tmpfile();

	assert_non_null(f);
	assert_int_equal(ring_new(&reqs, sizeof(struct probe_req), 64), 0);
	assert_int_equal(ring_new(&reports, sizeof(struct send_report), 64), 0);
	for (int i = 0; i < 10; i++) {
		char dst[32];
		snprintf(dst, sizeof(dst), "198.18.1.%d", i + 1);
		q[i] = req("198.18.0.1", dst, 1000 + (uint64_t)i, (uint16_t)(61000 + i), 80, (uint8_t)(i % 3));
	}
	assert_int_equal(ring_push(reqs, q, 10), 10);
	struct sender_config cfg = { .rate_pps = 1000, .key = &key, .dry_run = f };
	assert_int_equal(sender_new(&s, &cfg, -1, reqs, reports), 0);
	assert_int_equal(sender_start(s), 0);
	assert_int_equal(collect(reports, 1000, 10, errs), 0);
	sender_stop(s);
	assert_int_equal(ring_count(reports), 0); /* nothing beyond the 10 */
	sender_get_stats(s, &st);
	assert_int_equal(st.sent, 10);
	assert_int_equal(st.failed, 0);
	assert_true(st.batches >= 1 && st.batches <= 10);
	sender_free(s);

	rewind(f);
	int lines = 0;
	while (fgets(line, sizeof(line), f)) {
		assert_true(lines < 10);
		check_line(line, &q[lines]);
		lines++;
	}
	assert_int_equal(lines, 10);
	fclose(f);
	ring_free(reqs);
	ring_free(reports);
}

/* Requests that cannot be sent are reported FAILED in their place; the
 * requests around them still go, and every report stays in order. */
static void test_dry_run_failures(void **state)
{
	(void)state;
	struct ring *reqs, *reports;
	struct sender *s;
	struct probe_req q[7];
	int errs[7];
	char line[512];
	FILE *f = tmpfile();

	assert_non_null(f);
	assert_int_equal(ring_new(&reqs, sizeof(struct probe_req), 16), 0);
	assert_int_equal(ring_new(&reports, sizeof(struct send_report), 16), 0);
	q[0] = req("198.18.0.1", "198.18.1.1", 50, 61000, 22, 0);
	q[1] = req("198.18.0.1", "2001:db8::1", 51, 61001, 22, 0);  /* mixed families */
	q[2] = req("198.18.0.1", "198.18.1.2", 52, 61002, 22, 0);
	q[3] = req("2001:db8::9", "2001:db8::1", 53, 61003, 443, 1); /* IPv6: printed in a dry run */
	q[4] = req("198.18.0.1", "198.18.1.3", 54, 61004, 22, PROBE_MAX_ATTEMPT + 1);
	q[5] = req("198.18.0.1", "198.18.1.4", 55, 61005, 22, PROBE_MAX_ATTEMPT);
	q[6] = q[5];
	q[6].src.family = 0; /* no source (the scheduler should not send these) */
	q[6].seq = 56;
	assert_int_equal(ring_push(reqs, q, 7), 7);
	struct sender_config cfg = { .rate_pps = 0, .batch = 4, .key = &key, .dry_run = f };
	assert_int_equal(sender_new(&s, &cfg, -1, reqs, reports), 0);
	assert_int_equal(sender_start(s), 0);
	assert_int_equal(collect(reports, 50, 7, errs), 3);
	sender_stop(s);
	assert_int_equal(errs[0], 0);
	assert_int_equal(errs[1], EAFNOSUPPORT);
	assert_int_equal(errs[2], 0);
	assert_int_equal(errs[3], 0);
	assert_int_equal(errs[4], EINVAL);
	assert_int_equal(errs[5], 0);
	assert_int_equal(errs[6], EAFNOSUPPORT);
	struct sender_stats st;
	sender_get_stats(s, &st);
	assert_int_equal(st.sent, 4);
	assert_int_equal(st.failed, 3);
	sender_free(s);

	static const int printed[] = { 0, 2, 3, 5 };
	rewind(f);
	for (size_t i = 0; i < 4; i++) {
		assert_non_null(fgets(line, sizeof(line), f));
		check_line(line, &q[printed[i]]);
	}
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	ring_free(reqs);
	ring_free(reports);
}

/* Many requests through small rings while the test produces and consumes
 * concurrently: the sender must wait for room in the reports ring rather
 * than drop, and keep strict order across ring wrap-arounds. */
static void test_small_rings(void **state)
{
	(void)state;
	enum { N = 3000 };
	struct ring *reqs, *reports;
	struct sender *s;
	FILE *f = fopen("/dev/null", "w");
	uint64_t pushed = 0, next = 7, deadline = clock_mono_ns() + GUARD_NS;

	assert_non_null(f);
	assert_int_equal(ring_new(&reqs, sizeof(struct probe_req), 16), 0);
	assert_int_equal(ring_new(&reports, sizeof(struct send_report), 4), 0);
	struct sender_config cfg = { .rate_pps = 0, .batch = 8, .key = &key, .dry_run = f };
	assert_int_equal(sender_new(&s, &cfg, -1, reqs, reports), 0);
	assert_int_equal(sender_start(s), 0);
	while (next < 7 + N) {
		assert_true(clock_mono_ns() < deadline);
		if (pushed < N) {
			struct probe_req q = req("198.18.0.1", "198.18.9.9", 7 + pushed, 61000, 80, 0);
			if (pushed % 10 == 3)
				q.dst = ip("2001:db8::5"); /* a FAILED now and then */
			pushed += ring_push(reqs, &q, 1);
		}
		struct send_report rep;
		if (ring_pop(reports, &rep, 1)) {
			assert_int_equal(rep.seq, next);
			next += rep.kind == SEND_REPORT_SENT ? rep.count : 1;
			if (rep.kind == SEND_REPORT_FAILED)
				assert_int_equal((rep.seq - 7) % 10, 3);
		}
	}
	assert_int_equal(next, 7 + N);
	sender_stop(s);
	struct sender_stats st;
	sender_get_stats(s, &st);
	assert_int_equal(st.sent + st.failed, N);
	assert_int_equal(st.failed, N / 10);
	sender_free(s);
	fclose(f);
	ring_free(reqs);
	ring_free(reports);
}

static void test_new_args(void **state)
{
	(void)state;
	struct ring *r;
	struct sender *s = NULL;
	struct sender_config cfg = { .key = &key };

	assert_int_equal(ring_new(&r, sizeof(struct probe_req), 8), 0);
	assert_int_equal(sender_new(&s, &cfg, -1, r, r), -EBADF); /* no socket, no dry run */
	assert_null(s);
	cfg.dry_run = stdout;
	cfg.batch = 1025;
	assert_int_equal(sender_new(&s, &cfg, -1, r, r), -EINVAL);
	cfg.batch = 1024;
	cfg.key = NULL;
	assert_int_equal(sender_new(&s, &cfg, -1, r, r), -EINVAL);
	cfg.key = &key;
	assert_int_equal(sender_new(&s, &cfg, -1, r, NULL), -EINVAL);
	assert_int_equal(sender_new(&s, &cfg, -1, r, r), 0);
	sender_stop(s); /* never started: a no-op */
	sender_free(s);
	sender_free(NULL);
	ring_free(r);
}

/* ---- root only: real packets on the loopback of a namespace of our own ---- */

/* A packet socket that sees everything on ifname (type SOCK_DGRAM: from the
 * network header, SOCK_RAW: with the link header). */
static int tap(int type, const char *ifname)
{
	int fd = socket(AF_PACKET, type, htons(ETH_P_ALL));
	CHECK(fd >= 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(ifname) };
	CHECK(bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == 0);
	return fd;
}

static int listener(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(listen(fd, 16) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* The next packet on pfd into buf: its length, or -1 once GUARD_NS from
 * start has passed. */
static ssize_t next_packet(int pfd, uint8_t *buf, size_t len, uint64_t start)
{
	while (clock_mono_ns() < start + GUARD_NS) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(pfd, buf, len, 0);
		if (n >= 0)
			return n;
	}
	return -1;
}

/* Waits for a TCP segment on lo from 127.0.0.1:from to port `to` with
 * exactly `flags`; returns its ack number. */
static uint32_t wait_segment(int pfd, uint16_t from, uint16_t to, uint8_t flags)
{
	uint8_t buf[2048];
	uint64_t start = clock_mono_ns();
	ssize_t n;

	while ((n = next_packet(pfd, buf, sizeof(buf), start)) >= 0) {
		if (n < IPV4_HDR_LEN + TCP_HDR_LEN || (buf[0] >> 4) != 4 || buf[9] != IPPROTO_TCP_NUM)
			continue;
		const uint8_t *tcp = buf + (buf[0] & 15) * 4;
		if (rd16(tcp) == from && rd16(tcp + 2) == to && tcp[13] == flags)
			return rd32(tcp + 8);
	}
	fprintf(stderr, "no segment %u -> %u flags %#x\n", from, to, flags);
	_exit(1);
}

static int loopback_send(void)
{
	struct ring *reqs, *reports;
	struct sender *s;
	uint16_t open_port, closed_port;
	int errs[3];

	if (system("ip link set lo up >/dev/null 2>&1") != 0)
		return CHILD_SKIP;
	int lfd = listener(&open_port);
	int cfd = listener(&closed_port);
	close(cfd); /* now nothing listens there: the kernel answers RST */
	int pfd = tap(SOCK_DGRAM, "lo");

	int fd = rawsock_open_v4();
	CHECK(fd >= 0);
	CHECK(ring_new(&reqs, sizeof(struct probe_req), 16) == 0);
	CHECK(ring_new(&reports, sizeof(struct send_report), 16) == 0);
	struct probe_req q[3] = {
		req("127.0.0.1", "127.0.0.1", 1, 61000, open_port, 0),
		req("127.0.0.1", "198.18.7.7", 2, 61001, 80, 0), /* no route in this namespace */
		req("127.0.0.1", "127.0.0.1", 3, 61002, closed_port, 2),
	};
	CHECK(ring_push(reqs, q, 3) == 3);
	struct sender_config cfg = { .rate_pps = 100, .key = &key };
	CHECK(sender_new(&s, &cfg, fd, reqs, reports) == 0);
	CHECK(sender_start(s) == 0);

	uint32_t isn0 = cookie_isn(&key, &q[0].src, &q[0].dst, 61000, open_port, 0);
	uint32_t isn2 = cookie_isn(&key, &q[2].src, &q[2].dst, 61002, closed_port, 2);
	CHECK(wait_segment(pfd, 61000, open_port, TCP_SYN) == 0);
	CHECK(wait_segment(pfd, open_port, 61000, TCP_SYN | TCP_ACK) == isn0 + 1);
	CHECK(wait_segment(pfd, closed_port, 61002, TCP_RST | TCP_ACK) == isn2 + 1);
	/* collect() asserts with cmocka, which is fine in the child: a
	 * failure ends it with a non-zero status */
	CHECK(collect(reports, 1, 3, errs) == 1);
	CHECK(errs[0] == 0 && errs[2] == 0);
	CHECK(errs[1] == ENETUNREACH);
	sender_stop(s);
	struct sender_stats st;
	sender_get_stats(s, &st);
	CHECK(st.sent == 2 && st.failed == 1);
	sender_free(s); /* closes fd */
	ring_free(reqs);
	ring_free(reports);
	close(pfd);
	close(lfd);
	return 0;
}

NETNS_TEST(test_loopback_wire, loopback_send)

/* ---- root only: a link path over a veth pair in a namespace of our own ---- */

/* Waits on pfd (a packet socket on the far end of the veth) for the frame
 * carrying q's SYN; checks it whole and returns its destination MAC. */
static void wait_frame(int pfd, const struct probe_req *q, uint8_t mac[6])
{
	uint8_t buf[2048];
	uint64_t start = clock_mono_ns();
	ssize_t n;

	while ((n = next_packet(pfd, buf, sizeof(buf), start)) >= 0) {
		if (n < ETH_HLEN + IPV4_HDR_LEN + 40 || rd16(buf + 12) != ETH_P_IP)
			continue;
		const uint8_t *pkt = buf + ETH_HLEN, *tcp = pkt + IPV4_HDR_LEN;
		if (pkt[9] != IPPROTO_TCP_NUM || memcmp(pkt + 16, q->dst.u.b, 4) != 0 || rd16(tcp) != q->sport ||
		    rd16(tcp + 2) != q->dport)
			continue;
		/* what the IP stack would have sent: a whole, valid header */
		CHECK(pkt[0] == 0x45 && rd16(pkt + 2) == IPV4_HDR_LEN + 40);
		CHECK(csum_fold(csum_add(0, pkt, IPV4_HDR_LEN)) == 0);
		CHECK(memcmp(pkt + 12, q->src.u.b, 4) == 0);
		CHECK(rd32(tcp + 4) == cookie_isn(&key, &q->src, &q->dst, q->sport, q->dport, q->attempt));
		CHECK(tcp[13] == TCP_SYN);
		memcpy(mac, buf, 6);
		return;
	}
	fprintf(stderr, "no frame for port %u\n", q->dport);
	_exit(1);
}

static int link_send(void)
{
	static const char *const setup[] = {
		"ip link set lo up",
		"ip link add swa type veth peer name swb",
		"ip link set swa up",
		"ip link set swb up",
		"ip addr add 198.19.254.1/30 dev swa",
		"ip route add 198.18.0.0/16 via 198.19.254.2",
		"ip neigh add 198.19.254.2 lladdr 02:00:00:00:00:02 dev swa nud permanent",
	};
	static const uint8_t mac2[6] = { 2, 0, 0, 0, 0, 2 }, mac3[6] = { 2, 0, 0, 0, 0, 3 };
	struct route_table *rt;
	struct route_info ri;
	struct link_paths *lp;
	struct ring *reqs, *reports;
	struct sender *s;
	struct sender_stats st;
	uint8_t mac[6];
	int ifindex, errs[3];

	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
		if (sh(setup[i]) != 0) {
			fprintf(stderr, "'%s' failed\n", setup[i]);
			return CHILD_SKIP;
		}
	int pfd = tap(SOCK_RAW, "swb"); /* with the Ethernet header */

	struct sw_addr dst = ip("198.18.7.7");
	CHECK(route_table_load(&rt) == 0);
	CHECK(route_lookup(rt, &dst, &ri) == 0);
	route_table_free(rt);
	CHECK(ri.ether_gateway);
	CHECK(link_paths_new(&lp) == 0);
	CHECK(link_paths_intern(lp, &ri) == 1);
	CHECK(link_paths_intern(lp, &ri) == 1); /* one path per gateway */
	CHECK(link_paths_count(lp) == 1);
	CHECK(!link_path_get(lp, 1, &ifindex, mac)); /* no MAC before the first refresh */
	CHECK(link_paths_refresh(lp, 0) == 1);
	CHECK(link_path_get(lp, 1, &ifindex, mac));
	CHECK(ifindex == (int)if_nametoindex("swa") && memcmp(mac, mac2, 6) == 0);

	CHECK(ring_new(&reqs, sizeof(struct probe_req), 16) == 0);
	CHECK(ring_new(&reports, sizeof(struct send_report), 16) == 0);
	struct probe_req q[3] = {
		req("198.19.254.1", "198.18.7.7", 1, 61000, 80, 0),
		req("198.19.254.1", "198.18.7.7", 2, 61001, 81, 1),
		req("198.19.254.1", "198.18.7.7", 3, 61002, 82, 0),
	};
	for (int i = 0; i < 3; i++)
		q[i].path = 1;
	/* all three in the ring before the start: one batch, so exactly the
	 * first of them is the path's probe of the second through the IP stack */
	CHECK(ring_push(reqs, q, 3) == 3);
	struct sender_config cfg = { .rate_pps = 0, .key = &key };
	CHECK(sender_new(&s, &cfg, rawsock_open_v4(), reqs, reports) == 0);
	int fdl = packetsock_open();
	CHECK(fdl >= 0);
	sender_set_link(s, fdl, lp);
	CHECK(sender_start(s) == 0);
	CHECK(collect(reports, 1, 3, errs) == 0);
	for (int i = 0; i < 3; i++) {
		wait_frame(pfd, &q[i], mac);
		CHECK(memcmp(mac, mac2, 6) == 0);
	}
	sender_get_stats(s, &st);
	CHECK(st.sent == 3 && st.link == 2);

	/* the gateway moves: the next refresh follows it */
	CHECK(sh("ip neigh replace 198.19.254.2 lladdr 02:00:00:00:00:03 dev swa nud permanent") == 0);
	CHECK(link_paths_refresh(lp, 0) == 1);
	CHECK(link_path_get(lp, 1, &ifindex, mac) && memcmp(mac, mac3, 6) == 0);
	struct probe_req q4 = req("198.19.254.1", "198.18.7.7", 4, 61003, 83, 0);
	q4.path = 1;
	CHECK(ring_push(reqs, &q4, 1) == 1);
	CHECK(collect(reports, 4, 1, errs) == 0);
	wait_frame(pfd, &q4, mac);
	CHECK(memcmp(mac, mac3, 6) == 0);

	/* an egress filter drops the frames: the packet socket says ENOBUFS,
	 * which must not be retried for ever (the raw socket keeps quiet) */
	if (sh("nft add table netdev swtest") != 0 ||
	    sh("nft add chain netdev swtest out '{ type filter hook egress device \"swa\" priority 0; }'") != 0 ||
	    sh("nft add rule netdev swtest out tcp dport 85 drop") != 0) {
		fprintf(stderr, "cannot add the egress filter (nftables)\n");
		return 1;
	}
	/* two in one batch: at most the first is the second's IP probe */
	struct probe_req qd[2] = {
		req("198.19.254.1", "198.18.7.7", 5, 61004, 85, 0),
		req("198.19.254.1", "198.18.7.7", 6, 61005, 85, 0),
	};
	qd[0].path = qd[1].path = 1;
	CHECK(ring_push(reqs, qd, 2) == 2);
	CHECK(collect(reports, 5, 2, errs) == 0);
	sender_get_stats(s, &st);
	CHECK(st.dropped >= 1 && st.sent == 6);

	/* the entry is gone: the path has no MAC, its probes take the IP way */
	CHECK(sh("ip neigh del 198.19.254.2 dev swa") == 0);
	CHECK(link_paths_refresh(lp, 0) == 0);
	CHECK(!link_path_get(lp, 1, &ifindex, mac));
	sender_get_stats(s, &st);
	uint64_t link_before = st.link;
	struct probe_req q7 = req("198.19.254.1", "198.18.7.7", 7, 61006, 84, 0);
	q7.path = 1;
	CHECK(ring_push(reqs, &q7, 1) == 1);
	CHECK(collect(reports, 7, 1, errs) == 0);
	sender_stop(s);
	sender_get_stats(s, &st);
	CHECK(st.sent == 7 && st.link == link_before);

	sender_free(s); /* closes both sockets */
	link_paths_free(lp);
	ring_free(reqs);
	ring_free(reports);
	close(pfd);
	return 0;
}

NETNS_TEST(test_link_path_wire, link_send)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_link_path_wire),
		cmocka_unit_test(test_dry_run_failures),
		cmocka_unit_test(test_small_rings),
		cmocka_unit_test(test_new_args),
		cmocka_unit_test(test_loopback_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
