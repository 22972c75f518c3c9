/* The sender thread: pops probe requests, builds SYNs from the template and
 * hands them to a raw socket in sendmmsg batches, paced by the rate limiter.
 * Everything a batch needs (packets, iovecs, addresses, message headers) is
 * allocated once in sender_new; the loop itself allocates nothing and makes
 * no syscall but sendmmsg and the sleeps that keep low rates off the CPU.
 * Every request popped ends in exactly one report (SENT or FAILED), in
 * request order, so the scheduler can account for each probe. */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/cookie.h"
#include "common/probe.h"
#include "common/ring.h"
#include "common/thread.h"
#include "engine/linkpath.h"
#include "engine/packet.h"
#include "engine/rate.h"
#include "engine/sender.h"

#define SENDER_DEFAULT_BATCH 64
#define SENDER_MAX_BATCH 1024
/* nothing to send: poll the request ring after 150 us, twice as long
 * after each empty poll, up to 1 ms. The scheduler itself looks for due
 * checks only about every millisecond when idle, so that adds no latency
 * it did not have, and an idle sender wakes at most 1000 times a second
 * instead of 6600: on an idle prober those wake-ups (clock_nanosleep) were
 * most of its CPU (bench/NOTES.md#an-idle-sender) */
#define SENDER_IDLE_NS (150 * NSEC_PER_USEC)
#define SENDER_IDLE_MAX_NS NSEC_PER_MSEC
/* kernel queue full (ENOBUFS): give the qdisc this long to drain */
#define SENDER_RETRY_NS (50 * NSEC_PER_USEC)
/* waits are cut into slices this long so that sender_stop is prompt at
 * rates below 100 pps */
#define SENDER_MAX_SLEEP_NS (10 * NSEC_PER_MSEC)
#define RAWSOCK_SNDBUF (8 << 20)
/* one probe per link path and second still goes through the IP stack: the
 * kernel then keeps verifying the gateway's neighbour entry (it would let
 * it go stale for good under frames it never sees) */
#define LINK_KEEP_NS NSEC_PER_SEC

struct sender {
	struct cookie_key key;
	uint64_t rate_pps;
	unsigned batch;
	FILE *dry_run;
	int fd4, fd6;         /* fd6: -1 until sender_set_v6 */
	int fdl;              /* AF_PACKET for the link paths: -1 until sender_set_link */
	const struct link_paths *lp;
	uint64_t ip_kept[LINK_PATHS_MAX + 1]; /* per path: when a probe last went the IP way */
	uint8_t ttl;
	struct ring *reqs, *reports;
	struct syn_template t4, t6;
	uint32_t ts_offset; /* added to TSval: does not reveal our uptime */

	/* per batch slot, allocated once */
	struct probe_req *req;
	uint8_t (*pkt)[PACKET_SYN_MAX];
	int *err;            /* positive errno when slot i cannot be sent */
	int *fd;             /* the socket slot i goes to */
	struct iovec *iov;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	struct sockaddr_ll *sll;
	struct mmsghdr *msg;

	struct thread_loop loop;
	_Atomic uint64_t sent, failed, batches, enobufs, link, dropped;
};

static void stat_add(_Atomic uint64_t *c, uint64_t n)
{
	/* one writer: relaxed is enough, readers only want a recent value */
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static bool stopping(struct sender *s)
{
	return thread_loop_stopping(&s->loop);
}

/* A raw socket of family whose packets carry our own IP header (option
 * hdrincl at level). Returns the fd or a negative errno. */
static int rawsock_open(int family, int level, int hdrincl)
{
	int fd, one = 1, size = RAWSOCK_SNDBUF, r;

	fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, level, hdrincl, &one, sizeof(one)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* A deep send buffer absorbs bursts without ENOBUFS retries. FORCE
	 * passes net.core.wmem_max with CAP_NET_ADMIN; otherwise the plain
	 * request is silently capped there, which still works. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

int rawsock_open_v4(void)
{
	/* IP_HDRINCL is implied by IPPROTO_RAW, but an explicit request
	 * fails loudly on a kernel that would otherwise prepend its own */
	return rawsock_open(AF_INET, IPPROTO_IP, IP_HDRINCL);
}

int rawsock_open_v6(void)
{
	/* unlike IPv4, an IPv6 raw socket builds its own header unless told
	 * (Linux 4.5+): our header carries the source the route lookup chose */
	return rawsock_open(AF_INET6, IPPROTO_IPV6, IPV6_HDRINCL);
}

int packetsock_open(void)
{
	int size = RAWSOCK_SNDBUF;
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

void sender_set_v6(struct sender *s, int fd6)
{
	if (s->fd6 >= 0)
		close(s->fd6);
	s->fd6 = fd6;
}

void sender_set_link(struct sender *s, int fd, const struct link_paths *lp)
{
	if (s->fdl >= 0)
		close(s->fdl);
	s->fdl = fd;
	s->lp = lp;
}

static void push_report(struct sender *s, const struct send_report *rep)
{
	/* Reports are never dropped while the scheduler listens: it counts
	 * on one per request. Once stop is asked nobody drains the ring, so
	 * waiting for room would hang sender_stop. */
	while (ring_push(s->reports, rep, 1) != 1) {
		if (stopping(s))
			return;
		clock_sleep_until(clock_mono_ns() + SENDER_RETRY_NS);
	}
}

static void report_failed(struct sender *s, const struct probe_req *q, int err)
{
	struct send_report rep = {
		.seq = q->seq,
		.ts_real_ns = clock_real_ns(),
		.ts_mono_ns = clock_mono_ns(),
		.count = 1,
		.err = err,
		.kind = SEND_REPORT_FAILED,
	};

	push_report(s, &rep);
	stat_add(&s->failed, 1);
}

static void report_sent(struct sender *s, const struct probe_req *q, uint32_t n, int64_t real, uint64_t mono)
{
	struct send_report rep = {
		.seq = q->seq,
		.ts_real_ns = real,
		.ts_mono_ns = mono,
		.count = n,
		.kind = SEND_REPORT_SENT,
	};

	push_report(s, &rep);
	stat_add(&s->sent, n);
}

static void print_packet(struct sender *s, size_t i)
{
	static const char hex[] = "0123456789abcdef";
	const struct probe_req *q = &s->req[i];
	char addr[ADDR_STRLEN], line[2 * PACKET_SYN_MAX + 1];
	size_t len = s->iov[i].iov_len;

	for (size_t k = 0; k < len; k++) {
		line[2 * k] = hex[s->pkt[i][k] >> 4];
		line[2 * k + 1] = hex[s->pkt[i][k] & 15];
	}
	line[2 * len] = '\0';
	addr_format(&q->dst, addr, sizeof(addr));
	fprintf(s->dry_run, q->dst.family == AF_INET6 ? "[%s]:%u %u %u %s\n" : "%s:%u %u %u %s\n", addr, q->dport,
		q->sport, q->attempt, line);
}

/* Hands slots [i, i + n) to the kernel (or prints them). Returns how many
 * were accepted, at least 1, or the negative errno of slot i. */
static int transmit(struct sender *s, size_t i, size_t n, int64_t *real, uint64_t *mono)
{
	int r;

	/* as close to the kernel as user space gets; the wire stamp comes
	 * from capture, this one is the fallback (docs/timestamps.md) */
	*real = clock_real_ns();
	*mono = clock_mono_ns();
	stat_add(&s->batches, 1);
	if (s->dry_run) {
		for (size_t k = i; k < i + n; k++)
			print_packet(s, k);
		fflush(s->dry_run);
		return (int)n;
	}
	r = sendmmsg(s->fd[i], s->msg + i, (unsigned)n, 0);
	if (r < 0)
		return -errno;
	if (r > 0 && s->fd[i] == s->fdl)
		stat_add(&s->link, (uint64_t)r);
	return r > 0 ? r : -EIO;
}

static int check_req(const struct sender *s, const struct probe_req *q)
{
	if (q->dst.family != q->src.family)
		return EAFNOSUPPORT;
	if (q->dst.family == AF_INET6 ? s->fd6 < 0 && !s->dry_run : q->dst.family != AF_INET)
		return EAFNOSUPPORT; /* no IPv6 raw socket: IPv6 is off */
	if (q->attempt > PROBE_MAX_ATTEMPT)
		return EINVAL;
	return 0;
}

/* Addresses slot i: its gateway's MAC on a link path when the path has
 * one (and this is not the path's probe of the second through the IP
 * stack), else the target's address on the raw socket of its family. */
static void address(struct sender *s, size_t i, uint64_t now)
{
	const struct probe_req *q = &s->req[i];
	struct msghdr *h = &s->msg[i].msg_hdr;
	int ifindex;

	if (q->path && s->fdl >= 0 && q->dst.family == AF_INET &&
	    link_path_get(s->lp, q->path, &ifindex, s->sll[i].sll_addr)) {
		if (now - s->ip_kept[q->path] < LINK_KEEP_NS) {
			s->sll[i].sll_ifindex = ifindex;
			s->fd[i] = s->fdl;
			h->msg_name = &s->sll[i];
			h->msg_namelen = sizeof(s->sll[i]);
			return;
		}
		s->ip_kept[q->path] = now;
	}
	if (q->dst.family == AF_INET6) {
		s->sin6[i].sin6_addr = q->dst.u.v6;
		s->fd[i] = s->fd6;
		h->msg_name = &s->sin6[i];
		h->msg_namelen = sizeof(s->sin6[i]);
	} else {
		s->sin[i].sin_addr = q->dst.u.v4;
		s->fd[i] = s->fd4;
		h->msg_name = &s->sin[i];
		h->msg_namelen = sizeof(s->sin[i]);
	}
}

static void build(struct sender *s, size_t n)
{
	uint64_t now = clock_mono_ns();
	uint32_t ts_val = (uint32_t)(now / NSEC_PER_MSEC) + s->ts_offset;

	for (size_t i = 0; i < n; i++) {
		const struct probe_req *q = &s->req[i];
		const struct syn_template *t = q->dst.family == AF_INET6 ? &s->t6 : &s->t4;
		size_t len = 0;

		s->err[i] = check_req(s, q);
		if (!s->err[i]) {
			uint32_t isn = cookie_isn(&s->key, &q->src, &q->dst, q->sport, q->dport, q->attempt);
			/* Linux starts each connection's IP ID at a random
			 * value; a fixed ID (zmap's 54321) marks a scanner.
			 * A multiplicative hash of the ISN varies per probe
			 * and does not repeat the sequence number's bits. */
			uint16_t ip_id = (uint16_t)((isn * 0x9e3779b1u) >> 16);
			if (q->dport == 0) /* a ping target */
				len = packet_build_echo(s->pkt[i], &q->src, &q->dst, q->sport, q->attempt, isn, ip_id,
							s->ttl);
			else
				len = packet_build_syn(t, s->pkt[i], &q->src, &q->dst, q->sport, q->dport, isn,
						       ip_id, ts_val);
			if (len == 0)
				s->err[i] = EAFNOSUPPORT;
		}
		s->iov[i].iov_len = len;
		address(s, i, now);
	}
}

/* Sends the n requests in s->req, reporting each. Returns how many were sent. */
static uint32_t send_batch(struct sender *s, size_t n)
{
	uint32_t total = 0;
	size_t i = 0;

	build(s, n);
	while (i < n) {
		if (s->err[i]) {
			report_failed(s, &s->req[i], s->err[i]);
			i++;
			continue;
		}
		/* a run of sendable, consecutive requests: one SENT report
		 * can then cover what the kernel takes of it */
		size_t j = i + 1;
		while (j < n && !s->err[j] && s->req[j].seq == s->req[j - 1].seq + 1 && s->fd[j] == s->fd[i])
			j++;
		int64_t real;
		uint64_t mono;
		int r = transmit(s, i, j - i, &real, &mono);
		if (r > 0) {
			report_sent(s, &s->req[i], (uint32_t)r, real, mono);
			total += (uint32_t)r;
			i += (size_t)r;
			continue;
		}
		if (r == -ENOBUFS && s->fd[i] == s->fdl) {
			/* a packet socket says when the frame was dropped on
			 * the way out (egress filter, full qdisc), where the
			 * raw socket keeps quiet: it was sent as far as the
			 * probe goes, and lost, as on the network; retrying
			 * would spin on a frame a filter drops every time */
			stat_add(&s->dropped, 1);
			report_sent(s, &s->req[i], 1, real, mono);
			total++;
			i++;
			continue;
		}
		if (r == -ENOBUFS || r == -EAGAIN || r == -EINTR) {
			/* the kernel's queue is full: the request is not
			 * failed, only early; it goes again after a pause */
			if (r != -EINTR)
				stat_add(&s->enobufs, 1);
			if (!stopping(s)) {
				clock_sleep_until(clock_mono_ns() + SENDER_RETRY_NS);
				continue;
			}
		}
		/* sendmmsg reports the first failing message alone: that
		 * request fails, the rest of the batch still goes */
		report_failed(s, &s->req[i], -r);
		i++;
	}
	return total;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct rate_limiter rl;
	bool was_idle = false;
	uint64_t idle_ns = SENDER_IDLE_NS;

	rate_init(&rl, s->rate_pps, clock_mono_ns());
	while (!stopping(s)) {
		uint64_t now = clock_mono_ns();

		/* requests that arrive after an idle spell start a fresh
		 * schedule: the time spent polling an empty ring is no debt */
		if (was_idle)
			rate_idle(&rl, now);
		uint32_t n = rate_due(&rl, now, s->batch);
		if (n == 0) {
			uint64_t until = rate_next_ns(&rl);
			if (until > now + SENDER_MAX_SLEEP_NS)
				until = now + SENDER_MAX_SLEEP_NS;
			clock_sleep_until(until);
			continue;
		}
		size_t got = ring_pop(s->reqs, s->req, n);
		if (got == 0) {
			rate_idle(&rl, now);
			was_idle = true;
			clock_sleep_until(now + idle_ns);
			idle_ns = idle_ns * 2 < SENDER_IDLE_MAX_NS ? idle_ns * 2 : SENDER_IDLE_MAX_NS;
			continue;
		}
		was_idle = false;
		idle_ns = SENDER_IDLE_NS;
		rate_take(&rl, send_batch(s, got));
	}
	return NULL;
}

void sender_free(struct sender *s)
{
	if (!s)
		return;
	sender_stop(s);
	if (s->fd4 >= 0)
		close(s->fd4);
	if (s->fd6 >= 0)
		close(s->fd6);
	if (s->fdl >= 0)
		close(s->fdl);
	free(s->req);
	free(s->pkt);
	free(s->err);
	free(s->fd);
	free(s->iov);
	free(s->sin);
	free(s->sin6);
	free(s->sll);
	free(s->msg);
	free(s);
}

int sender_new(struct sender **out, const struct sender_config *cfg, int fd4, struct ring *reqs,
	       struct ring *reports)
{
	struct sender *s = NULL;
	unsigned batch;
	int r;

	*out = NULL;
	if (!cfg || !cfg->key || !reqs || !reports)
		return -EINVAL;
	batch = cfg->batch ? cfg->batch : SENDER_DEFAULT_BATCH;
	if (batch > SENDER_MAX_BATCH)
		return -EINVAL;
	if (fd4 < 0 && !cfg->dry_run)
		return -EBADF;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd4 = -1; /* adopted only on success: on failure the caller keeps it */
	s->fd6 = -1;
	s->fdl = -1;
	s->key = *cfg->key;
	s->rate_pps = cfg->rate_pps;
	s->batch = batch;
	s->dry_run = cfg->dry_run;
	s->reqs = reqs;
	s->reports = reports;
	atomic_init(&s->sent, 0);
	atomic_init(&s->failed, 0);
	atomic_init(&s->batches, 0);
	atomic_init(&s->enobufs, 0);
	atomic_init(&s->link, 0);
	atomic_init(&s->dropped, 0);
	uint8_t ttl = cfg->ttl ? cfg->ttl : PACKET_DEFAULT_TTL;
	s->ttl = ttl;
	packet_syn_template_init(&s->t4, AF_INET, ttl);
	packet_syn_template_init(&s->t6, AF_INET6, ttl);
	/* RFC 7323 7.1: a per-host random TSval offset, so that timestamps
	 * do not tell the probe host's uptime; keyed, so fixed per run */
	static const char ts_label[] = "synwatch tsval offset";
	s->ts_offset = (uint32_t)siphash24(&s->key, ts_label, sizeof(ts_label) - 1);

	s->req = calloc(batch, sizeof(*s->req));
	s->pkt = calloc(batch, sizeof(*s->pkt));
	s->err = calloc(batch, sizeof(*s->err));
	s->fd = calloc(batch, sizeof(*s->fd));
	s->iov = calloc(batch, sizeof(*s->iov));
	s->sin = calloc(batch, sizeof(*s->sin));
	s->sin6 = calloc(batch, sizeof(*s->sin6));
	s->sll = calloc(batch, sizeof(*s->sll));
	s->msg = calloc(batch, sizeof(*s->msg));
	if (!s->req || !s->pkt || !s->err || !s->fd || !s->iov || !s->sin || !s->sin6 || !s->sll || !s->msg) {
		r = -ENOMEM;
		goto out;
	}
	/* the constant part of every message: slot i always points at its
	 * own packet buffer and address */
	for (unsigned i = 0; i < batch; i++) {
		s->iov[i].iov_base = s->pkt[i];
		s->sin[i].sin_family = AF_INET;
		s->sin6[i].sin6_family = AF_INET6;
		s->sll[i].sll_family = AF_PACKET;
		s->sll[i].sll_protocol = htons(ETH_P_IP);
		s->sll[i].sll_halen = 6;
		s->msg[i].msg_hdr.msg_name = &s->sin[i];
		s->msg[i].msg_hdr.msg_namelen = sizeof(s->sin[i]);
		s->msg[i].msg_hdr.msg_iov = &s->iov[i];
		s->msg[i].msg_hdr.msg_iovlen = 1;
	}
	s->fd4 = fd4;
	*out = s;
	s = NULL;
	r = 0;
out:
	sender_free(s);
	return r;
}

int sender_start(struct sender *s)
{
	return thread_loop_start(&s->loop, sender_main, s, "sw-sender");
}

void sender_stop(struct sender *s)
{
	if (s)
		thread_loop_stop(&s->loop);
}

void sender_get_stats(const struct sender *s, struct sender_stats *out)
{
	out->sent = atomic_load_explicit(&s->sent, memory_order_relaxed);
	out->failed = atomic_load_explicit(&s->failed, memory_order_relaxed);
	out->batches = atomic_load_explicit(&s->batches, memory_order_relaxed);
	out->enobufs = atomic_load_explicit(&s->enobufs, memory_order_relaxed);
	out->link = atomic_load_explicit(&s->link, memory_order_relaxed);
	out->dropped = atomic_load_explicit(&s->dropped, memory_order_relaxed);
}
