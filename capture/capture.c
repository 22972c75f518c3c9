/* The receiver thread: libpcap handles (one per interface in use), polled
 * together, each frame parsed and verified (capture/parse.c) and the records
 * pushed to the scheduler's ring in batches.
 *
 * Handles are opened in immediate mode, so a reply is handed over as soon as
 * the kernel has it (no block timeout adding latency to RTTs and stalling
 * timeouts), with nanosecond timestamps: the kernel stamps each frame with
 * CLOCK_REALTIME when it passes the tap, outgoing and incoming alike, so our
 * SYN's stamp and its reply's are one clock at one place (docs/timestamps.md). */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/ring.h"
#include "common/thread.h"

#define CAPTURE_SNAPLEN 256 /* Ethernet + VLAN + IP + ICMP + quoted IPv6 + TCP, with room */
#define CAPTURE_DEFAULT_BUFFER (64u << 20)
#define CAPTURE_MAX_HANDLES 64
#define CAPTURE_BATCH 256
#define CAPTURE_POLL_MS 10
/* a drain that found this many frames means a busy link: sleep a little */
#define CAPTURE_BUSY_FRAMES 4
#define CAPTURE_BUSY_SLEEP_NS (200 * 1000)
#define CAPTURE_STATS_NS (100 * NSEC_PER_MSEC)
#define CAPTURE_FILTER_LEN 2048

struct capture_handle {
	pcap_t *p;
	int fd;
	int linktype;
	char ifname[64];
	struct pcap_stat last; /* last pcap_stats, summed into the totals */
};

struct capture {
	struct capture_filter filter;
	struct cookie_key key; /* the filter points here: the caller's key may go */
	struct capture_handle h[CAPTURE_MAX_HANDLES];
	size_t n;
	size_t buffer;         /* pcap buffer per handle (the kernel's ring, mapped into us) */
	struct ring *out;

	/* per dispatch: records waiting to be pushed */
	struct capture_rec batch[CAPTURE_BATCH];
	size_t n_batch;
	int cur_linktype;

	struct thread_loop loop;
	_Atomic uint64_t packets, accepted, ignored, malformed, bad_cookie;
	_Atomic uint64_t pcap_recv, pcap_drop, pcap_ifdrop;
};

static void stat_add(_Atomic uint64_t *c, uint64_t n)
{
	/* one writer (the receiver): relaxed is enough */
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void stat_set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static uint64_t stat_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Pushes the batch; the ring's consumer is the scheduler, which never stops
 * draining, so waiting here is short. A record already verified is never
 * dropped: it is a measured answer. */
static void flush_batch(struct capture *c)
{
	size_t done = 0;

	while (done < c->n_batch) {
		done += ring_push(c->out, c->batch + done, c->n_batch - done);
		if (done < c->n_batch) {
			struct timespec ts = { 0, 50 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	c->n_batch = 0;
}

static void on_packet(u_char *arg, const struct pcap_pkthdr *hdr, const u_char *pkt)
{
	struct capture *c = (struct capture *)arg;
	/* nanosecond precision was set: tv_usec holds nanoseconds */
	int64_t ts = (int64_t)hdr->ts.tv_sec * NSEC_PER_SEC + (int64_t)hdr->ts.tv_usec;
	struct capture_rec *rec = &c->batch[c->n_batch];

	stat_add(&c->packets, 1);
	switch (capture_parse(c->cur_linktype, pkt, hdr->caplen, ts, &c->filter, rec)) {
	case CAPTURE_PARSE_OK:
		stat_add(&c->accepted, 1);
		if (++c->n_batch == CAPTURE_BATCH)
			flush_batch(c);
		break;
	case CAPTURE_PARSE_IGNORED:
		stat_add(&c->ignored, 1);
		break;
	case CAPTURE_PARSE_MALFORMED:
		stat_add(&c->malformed, 1);
		break;
	case CAPTURE_PARSE_BAD_COOKIE:
		stat_add(&c->bad_cookie, 1);
		break;
	}
}

static void refresh_pcap_stats(struct capture *c)
{
	uint64_t recv = 0, drop = 0, ifdrop = 0;

	for (size_t i = 0; i < c->n; i++) {
		struct pcap_stat ps;
		if (pcap_stats(c->h[i].p, &ps) == 0)
			c->h[i].last = ps;
		recv += c->h[i].last.ps_recv;
		drop += c->h[i].last.ps_drop;
		ifdrop += c->h[i].last.ps_ifdrop;
	}
	stat_set(&c->pcap_recv, recv);
	stat_set(&c->pcap_drop, drop);
	stat_set(&c->pcap_ifdrop, ifdrop);
}

/* Reads what handle i holds now. Returns the frames read, or -1 on error. */
static int drain_handle(struct capture *c, size_t i)
{
	int total = 0, n;

	c->cur_linktype = c->h[i].linktype;
	do {
		n = pcap_dispatch(c->h[i].p, CAPTURE_BATCH, on_packet, (u_char *)c);
		if (n == PCAP_ERROR) {
			log_warn("capture on '%s': %s", c->h[i].ifname, pcap_geterr(c->h[i].p));
			return -1;
		}
		if (n > 0)
			total += n;
	} while (n == CAPTURE_BATCH);
	return total;
}

static void *receiver(void *arg)
{
	struct capture *c = arg;
	struct pollfd pfd[CAPTURE_MAX_HANDLES];
	uint64_t next_stats = clock_mono_ns() + CAPTURE_STATS_NS;

	for (size_t i = 0; i < c->n; i++)
		pfd[i] = (struct pollfd){ .fd = c->h[i].fd, .events = POLLIN };
	while (!thread_loop_stopping(&c->loop)) {
		int r = poll(pfd, (nfds_t)c->n, CAPTURE_POLL_MS);
		if (r < 0 && errno != EINTR) {
			log_error("capture: poll: %s", strerror(errno));
			break;
		}
		int got = 0;
		for (size_t i = 0; i < c->n; i++) {
			if (r > 0 && (pfd[i].revents & (POLLIN | POLLERR))) {
				int d = drain_handle(c, i);
				got += d > 0 ? d : 0;
			}
		}
		flush_batch(c);
		/* Busy: let frames gather before looking again. Sleeping, not
		 * polling, is the point: with nobody waiting on the socket the
		 * kernel skips the per-packet wakeup (sock_def_readable), which
		 * at high rates costs as much as the packets themselves
		 * (bench/NOTES.md#the-receiver-sleeps-when-busy), and is paid
		 * by the sender, in whose sendmmsg our own SYNs reach the ring.
		 * So a few frames are enough to call it busy: back in poll
		 * after every small drain the thread was woken per packet
		 * again.
		 * The stamps are the kernel's, so waiting changes no RTT; a
		 * reply reaches the scheduler at most this much later. */
		if (got >= CAPTURE_BUSY_FRAMES) {
			struct timespec ts = { 0, CAPTURE_BUSY_SLEEP_NS };
			nanosleep(&ts, NULL);
		}
		uint64_t now = clock_mono_ns();
		if (now >= next_stats) {
			refresh_pcap_stats(c);
			next_stats = now + CAPTURE_STATS_NS;
		}
	}
	/* what the kernel already holds was measured: take it */
	for (size_t i = 0; i < c->n; i++)
		drain_handle(c, i);
	flush_batch(c);
	refresh_pcap_stats(c);
	return NULL;
}

/* Opens and configures one handle; logs the pcap error naming the interface. */
static int open_handle(struct capture_handle *h, const char *ifname, const char *expr, size_t buffer)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	int r;

	snprintf(h->ifname, sizeof(h->ifname), "%s", ifname);
	h->p = pcap_create(ifname, errbuf);
	if (!h->p) {
		log_error("cannot capture on '%s': %s", ifname, errbuf);
		return -ENODEV;
	}
	if (pcap_set_snaplen(h->p, CAPTURE_SNAPLEN) || pcap_set_promisc(h->p, 0) ||
	    pcap_set_immediate_mode(h->p, 1) || pcap_set_buffer_size(h->p, (int)buffer) ||
	    pcap_set_tstamp_precision(h->p, PCAP_TSTAMP_PRECISION_NANO)) {
		log_error("cannot configure capture on '%s': %s", ifname, pcap_geterr(h->p));
		return -EINVAL;
	}
	r = pcap_activate(h->p);
	if (r < 0) {
		log_error("cannot capture on '%s': %s (%s)", ifname, pcap_statustostr(r), pcap_geterr(h->p));
		return r == PCAP_ERROR_PERM_DENIED ? -EPERM : r == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV : -EIO;
	}
	if (r > 0)
		log_warn("capture on '%s': %s", ifname, pcap_statustostr(r));
	if (pcap_get_tstamp_precision(h->p) != PCAP_TSTAMP_PRECISION_NANO) {
		log_error("capture on '%s': no nanosecond timestamps", ifname);
		return -ENOTSUP;
	}
	h->linktype = pcap_datalink(h->p);
	if (pcap_compile(h->p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		log_error("cannot compile the capture filter for '%s': %s", ifname, pcap_geterr(h->p));
		return -EINVAL;
	}
	r = pcap_setfilter(h->p, &prog);
	pcap_freecode(&prog);
	if (r < 0) {
		log_error("cannot set the capture filter on '%s': %s", ifname, pcap_geterr(h->p));
		return -EINVAL;
	}
	if (pcap_setnonblock(h->p, 1, errbuf) < 0) {
		log_error("capture on '%s': %s", ifname, errbuf);
		return -EIO;
	}
	h->fd = pcap_get_selectable_fd(h->p);
	if (h->fd < 0) {
		log_error("capture on '%s': no selectable descriptor", ifname);
		return -ENOTSUP;
	}
	log_debug("capturing on '%s' (link type %s): %s", ifname, pcap_datalink_val_to_name(h->linktype), expr);
	return 0;
}

int capture_open(struct capture **out, const struct capture_config *cfg)
{
	char expr[CAPTURE_FILTER_LEN];
	struct capture *c = NULL;
	int r = -EINVAL;

	if (cfg->n_ifnames == 0 || cfg->n_ifnames > CAPTURE_MAX_HANDLES || !cfg->filter.key)
		return -EINVAL;
	if ((r = capture_filter_expr(expr, sizeof(expr), cfg->filter.port_lo, cfg->filter.port_hi)) < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->key = *cfg->filter.key;
	c->filter = cfg->filter;
	c->filter.key = &c->key;
	c->buffer = cfg->buffer_bytes ? cfg->buffer_bytes : CAPTURE_DEFAULT_BUFFER;
	for (size_t i = 0; i < cfg->n_ifnames; i++) {
		r = open_handle(&c->h[c->n], cfg->ifnames[i], expr, c->buffer);
		if (c->h[c->n].p)
			c->n++; /* closed by capture_close, even half-configured */
		if (r < 0)
			goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	capture_close(c);
	return r;
}

int capture_start(struct capture *c, struct ring *out)
{
	c->out = out;
	return thread_loop_start(&c->loop, receiver, c, "sw-capture");
}

void capture_stop(struct capture *c)
{
	if (c)
		thread_loop_stop(&c->loop);
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	capture_stop(c);
	for (size_t i = 0; i < c->n; i++)
		pcap_close(c->h[i].p);
	free(c);
}

void capture_get_stats(const struct capture *c, struct capture_stats *out)
{
	out->packets = stat_get(&c->packets);
	out->accepted = stat_get(&c->accepted);
	out->ignored = stat_get(&c->ignored);
	out->malformed = stat_get(&c->malformed);
	out->bad_cookie = stat_get(&c->bad_cookie);
	out->pcap_recv = stat_get(&c->pcap_recv);
	out->pcap_drop = stat_get(&c->pcap_drop);
	out->pcap_ifdrop = stat_get(&c->pcap_ifdrop);
}

size_t capture_buffer_bytes(const struct capture *c)
{
	return c->n * c->buffer;
}
