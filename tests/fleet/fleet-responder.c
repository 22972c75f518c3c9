/* fleet-responder: the test fleet's programmable TCP host, behind a TUN device.
 *
 * netem is not built into the test machines' kernel, so answers with a delay,
 * a loss rate or a schedule cannot come from the kernel: this program reads
 * the SYNs routed into a TUN device and writes the answers back itself.
 * Each configured endpoint (IPv4 address, port) has a kind:
 *
 *   open      SYN-ACK              closed   RST-ACK        filtered  nothing
 *   unreach   ICMP destination unreachable with the configured code
 *   slow      SYN-ACK after a delay
 *   lossy     nothing with probability loss, else SYN-ACK after a delay
 *   flap      SYN-ACK or RST-ACK: open while (realtime + phase) mod period
 *             is in the first half of the period, closed in the second
 *
 * Any kind takes the optional delay and loss parameters. Unconfigured
 * endpoints behave as --default (closed unless told otherwise). Only SYNs
 * are answered (a retransmitted one again, with fresh loss and delay draws);
 * ACKs, RSTs and data are ignored, so the prober's kernel resetting our
 * SYN-ACK costs nothing.
 *
 * Delayed answers (ICMP ones too) wait in a preallocated min-heap ordered by
 * due time. The wake-up for the earliest one comes from a timerfd armed at its
 * absolute due time: a poll() timeout would not do, because the kernel gives
 * poll/select timeouts a slack of 0.1% of their length (200 us late on a
 * 200 ms delay) whatever PR_SET_TIMERSLACK says. How late answers leave
 * is counted (see SIGUSR1) and in docs/fleet.md.
 * Nothing is allocated per packet.
 *
 * The config uses the fleet truth format (docs/fleet.md): lines
 * "ip port kind code params", whitespace-separated, '#' comments, a header
 * line starting with "ip" skipped; a "# generation N" line is echoed to the
 * --ack file after every successful load, so that a controller knows when a
 * SIGHUP reload took effect.
 *
 * Signals: SIGHUP reloads the config (a bad file keeps the old one), SIGUSR1
 * logs the counters, SIGTERM/SIGINT log them and exit. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"

#define REPLY_MAX 128 /* ICMP error: 20 + 8 + 60 (IP options) + 8 */
#define READ_BATCH 256
#define WATCH_INTERVAL_NS NSEC_PER_SEC
#define REPLY_TTL 64
#define REPLY_MSS 1460
#define REPLY_WINDOW 64240

enum ep_kind { EP_OPEN, EP_CLOSED, EP_FILTERED, EP_UNREACH, EP_SLOW, EP_LOSSY, EP_FLAP };

static const char *const ep_kind_names[] = {
	[EP_OPEN] = "open",	[EP_CLOSED] = "closed", [EP_FILTERED] = "filtered",
	[EP_UNREACH] = "unreach", [EP_SLOW] = "slow",	[EP_LOSSY] = "lossy",
	[EP_FLAP] = "flap",
};

enum delay_model { DELAY_NONE, DELAY_FIXED, DELAY_UNIFORM, DELAY_EXP, DELAY_LOGNORMAL };

/* fixed: a; uniform: [a, b]; exp: mean a; lognormal: median a, sigma b.
 * a and b are ns except sigma (dimensionless). */
struct delay {
	enum delay_model model;
	double a;
	double b;
};

struct endpoint {
	uint32_t ip;	   /* host order; 0 marks a free slot */
	uint16_t port;
	uint8_t kind;	   /* enum ep_kind */
	uint8_t code;	   /* ICMP code for EP_UNREACH */
	double loss;	   /* probability of no answer at all, 0..1 */
	int64_t period_ns; /* EP_FLAP: the whole cycle, open then closed */
	int64_t phase_ns;
	struct delay delay;
};

/* Open addressing, linear probing, at most half full. */
struct ep_table {
	struct endpoint *slots;
	size_t mask;
	size_t count;
	long generation; /* from "# generation N", -1 if absent */
};

struct pending {
	uint64_t due_ns; /* CLOCK_MONOTONIC */
	uint32_t slot;
};

struct reply {
	uint16_t len;
	uint8_t pkt[REPLY_MAX];
};

struct counters {
	uint64_t rx;
	uint64_t syn;
	uint64_t synack;
	uint64_t rst;
	uint64_t icmp;
	uint64_t lost;
	uint64_t filtered;
	uint64_t ignored;
	uint64_t unconfigured;
	uint64_t heap_full;
	uint64_t write_err;
	uint64_t delayed;
	uint64_t late_sum_ns; /* write time - due time, over delayed replies */
	uint64_t late_max_ns;
	uint64_t reloads;
	uint64_t reload_err;
};

struct responder {
	int tun_fd;
	int timer_fd;
	uint64_t timer_due; /* what timer_fd is armed for, 0 if disarmed */
	struct ep_table table;
	enum ep_kind default_kind;
	const char *config_path;
	const char *ack_path;
	const char *watch_path;
	/* preallocated pending replies: heap of (due, slot), free slot stack */
	struct pending *heap;
	size_t heap_len;
	struct reply *replies;
	uint32_t *free_slots;
	size_t free_len;
	size_t capacity;
	uint64_t rng[4];
	struct counters n;
};

static volatile sig_atomic_t sig_reload, sig_dump, sig_stop;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		sig_reload = 1;
	else if (sig == SIGUSR1)
		sig_dump = 1;
	else
		sig_stop = 1;
}

/* xoshiro256**, seeded through splitmix64: fast, and reproducible per seed */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t s[4])
{
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* uniform in [0, 1) */
static double rng_unit(uint64_t s[4])
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static double rng_normal(uint64_t s[4])
{
	/* Box-Muller; 1 - u keeps log() away from 0 */
	double u = 1.0 - rng_unit(s), v = rng_unit(s);
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static int64_t delay_draw(const struct delay *d, uint64_t s[4])
{
	double ns = 0;

	switch (d->model) {
	case DELAY_NONE:
		return 0;
	case DELAY_FIXED:
		ns = d->a;
		break;
	case DELAY_UNIFORM:
		ns = d->a + (d->b - d->a) * rng_unit(s);
		break;
	case DELAY_EXP:
		ns = -d->a * log(1.0 - rng_unit(s));
		break;
	case DELAY_LOGNORMAL:
		ns = d->a * exp(d->b * rng_normal(s));
		break;
	}
	if (ns > 3600e9) /* a lognormal tail must not park a reply for days */
		ns = 3600e9;
	return (int64_t)ns;
}

/* ---- config ---- */

static uint64_t ep_hash(uint32_t ip, uint16_t port)
{
	uint64_t x = (uint64_t)ip << 16 | port;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static const struct endpoint *table_find(const struct ep_table *t, uint32_t ip, uint16_t port)
{
	if (!t->slots)
		return NULL;
	for (size_t i = ep_hash(ip, port) & t->mask;; i = (i + 1) & t->mask) {
		const struct endpoint *e = &t->slots[i];
		if (!e->ip)
			return NULL;
		if (e->ip == ip && e->port == port)
			return e;
	}
}

/* Inserts or replaces (a later line for the same endpoint wins). */
static void table_put(struct ep_table *t, const struct endpoint *ep)
{
	for (size_t i = ep_hash(ep->ip, ep->port) & t->mask;; i = (i + 1) & t->mask) {
		struct endpoint *e = &t->slots[i];
		if (!e->ip || (e->ip == ep->ip && e->port == ep->port)) {
			if (!e->ip)
				t->count++;
			*e = *ep;
			return;
		}
	}
}

static void table_release(struct ep_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->count = 0;
}

static int parse_duration_tok(const char *s, size_t len, int64_t *out)
{
	char buf[64];

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return duration_parse(buf, out);
}

static int parse_double_tok(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*out))
		return -EINVAL;
	return 0;
}

/* One "key:value" parameter. */
static int parse_param(char *p, struct endpoint *ep)
{
	char *v = strchr(p, ':');
	int64_t a, b;
	char *sep;

	if (!v)
		return -EINVAL;
	*v++ = '\0';
	if (strcmp(p, "fixed") == 0) {
		if (parse_duration_tok(v, strlen(v), &a))
			return -EINVAL;
		ep->delay = (struct delay){ DELAY_FIXED, (double)a, 0 };
	} else if (strcmp(p, "uniform") == 0) {
		sep = strchr(v, '-');
		if (!sep || parse_duration_tok(v, (size_t)(sep - v), &a) ||
		    parse_duration_tok(sep + 1, strlen(sep + 1), &b) || b < a)
			return -EINVAL;
		ep->delay = (struct delay){ DELAY_UNIFORM, (double)a, (double)b };
	} else if (strcmp(p, "exp") == 0) {
		if (parse_duration_tok(v, strlen(v), &a))
			return -EINVAL;
		ep->delay = (struct delay){ DELAY_EXP, (double)a, 0 };
	} else if (strcmp(p, "lognormal") == 0) {
		double sigma;
		sep = strchr(v, ':');
		if (!sep || parse_duration_tok(v, (size_t)(sep - v), &a) ||
		    parse_double_tok(sep + 1, &sigma) || sigma < 0 || sigma > 10)
			return -EINVAL;
		ep->delay = (struct delay){ DELAY_LOGNORMAL, (double)a, sigma };
	} else if (strcmp(p, "loss") == 0) {
		if (parse_double_tok(v, &ep->loss) || ep->loss < 0 || ep->loss > 1)
			return -EINVAL;
	} else if (strcmp(p, "period") == 0) {
		if (parse_duration_tok(v, strlen(v), &ep->period_ns) || ep->period_ns <= 0)
			return -EINVAL;
	} else if (strcmp(p, "phase") == 0) {
		if (parse_duration_tok(v, strlen(v), &ep->phase_ns))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* One config line into *ep. Returns 1 for an endpoint, 0 for a line to skip,
 * -EINVAL with *why set for a bad one. */
static int parse_line(char *line, struct endpoint *ep, long *generation, const char **why)
{
	char *save = NULL, *f[5] = { 0 };
	int nf = 0;
	struct in_addr in;
	char *end;

	memset(ep, 0, sizeof(*ep));
	if (sscanf(line, " # generation %ld", generation) == 1)
		return 0;
	for (char *tok = strtok_r(line, " \t\r\n", &save); tok && nf < 5;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		f[nf++] = tok;
	if (nf == 0 || f[0][0] == '#' || strcmp(f[0], "ip") == 0)
		return 0;
	*why = "expected 'ip port kind [code [params]]'";
	if (nf < 3)
		return -EINVAL;
	*why = "bad IPv4 address";
	if (inet_pton(AF_INET, f[0], &in) != 1 || in.s_addr == 0)
		return -EINVAL;
	ep->ip = ntohl(in.s_addr);
	*why = "bad port (1-65535)";
	errno = 0;
	unsigned long port = strtoul(f[1], &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return -EINVAL;
	ep->port = (uint16_t)port;
	*why = "unknown kind (open, closed, filtered, unreach, slow, lossy, flap)";
	size_t k;
	for (k = 0; k < sizeof(ep_kind_names) / sizeof(ep_kind_names[0]); k++)
		if (strcmp(f[2], ep_kind_names[k]) == 0)
			break;
	if (k == sizeof(ep_kind_names) / sizeof(ep_kind_names[0]))
		return -EINVAL;
	ep->kind = (uint8_t)k;
	if (ep->kind == EP_UNREACH) {
		*why = "unreach needs an ICMP code 0-15";
		if (nf < 4)
			return -EINVAL;
		unsigned long code = strtoul(f[3], &end, 10);
		if (*end || code > 15)
			return -EINVAL;
		ep->code = (uint8_t)code;
	}
	if (nf >= 5 && strcmp(f[4], "-") != 0) {
		char *psave = NULL;
		for (char *p = strtok_r(f[4], ",", &psave); p; p = strtok_r(NULL, ",", &psave)) {
			*why = "bad parameter (fixed:D, uniform:A-B, exp:MEAN, lognormal:MEDIAN:SIGMA, "
			       "loss:P, period:D, phase:D)";
			if (parse_param(p, ep))
				return -EINVAL;
		}
	}
	*why = "flap needs period:D";
	if (ep->kind == EP_FLAP && ep->period_ns <= 0)
		return -EINVAL;
	return 1;
}

/* Reads path into a fresh table. Returns 0, or a negative errno after
 * logging the line at fault; *out is untouched on failure. */
static int config_load(const char *path, struct ep_table *out)
{
	struct ep_table t = { .generation = -1 };
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0, lines = 0, lineno = 0;
	int r = -EIO;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		log_error("cannot open config '%s': %s", path, strerror(errno));
		goto out;
	}
	while (getline(&line, &cap, f) > 0)
		lines++;
	size_t size = 16;
	while (size < 2 * lines + 2)
		size <<= 1;
	t.slots = calloc(size, sizeof(*t.slots));
	if (!t.slots) {
		r = -ENOMEM;
		goto out;
	}
	t.mask = size - 1;
	rewind(f);
	while (getline(&line, &cap, f) > 0) {
		struct endpoint ep;
		const char *why = "";
		lineno++;
		int k = parse_line(line, &ep, &t.generation, &why);
		if (k < 0) {
			log_error("%s:%zu: %s", path, lineno, why);
			r = -EINVAL;
			goto out;
		}
		if (k > 0)
			table_put(&t, &ep);
	}
	*out = t;
	t.slots = NULL;
	r = 0;
out:
	free(t.slots);
	free(line);
	if (f)
		fclose(f);
	return r;
}

static void ack_write(const char *path, long generation)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (!path)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return;
	f = fopen(tmp, "we");
	if (!f) {
		log_warn("cannot write ack file '%s': %s", tmp, strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", generation);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		log_warn("cannot write ack file '%s': %s", path, strerror(errno));
}

static void responder_reload(struct responder *r)
{
	struct ep_table t;

	if (config_load(r->config_path, &t) < 0) {
		r->n.reload_err++;
		log_error("config '%s' not reloaded, keeping %zu endpoints", r->config_path,
			  r->table.count);
		return;
	}
	table_release(&r->table);
	r->table = t;
	r->n.reloads++;
	log_info("loaded %zu endpoints from '%s' (generation %ld)", t.count, r->config_path,
		 t.generation);
	ack_write(r->ack_path, t.generation);
}

/* ---- packets ---- */

static void ip_header(uint8_t *p, uint16_t total_len, uint8_t proto, uint32_t src, uint32_t dst,
		      uint16_t id)
{
	p[0] = 0x45;
	p[1] = 0;
	wr16(p + 2, total_len);
	wr16(p + 4, id);
	wr16(p + 6, 0x4000); /* DF */
	p[8] = REPLY_TTL;
	p[9] = proto;
	wr16(p + 10, 0);
	wr32(p + 12, src);
	wr32(p + 16, dst);
	wr16(p + 10, csum_fold(csum_add(0, p, IPV4_HDR_LEN)));
}

static void tcp_checksum(uint8_t *ip, uint16_t tcp_len)
{
	uint8_t pseudo[12];
	uint8_t *tcp = ip + IPV4_HDR_LEN;

	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP_NUM;
	wr16(pseudo + 10, tcp_len);
	wr16(tcp + 16, 0);
	wr16(tcp + 16, csum_fold(csum_add(csum_add(0, pseudo, sizeof(pseudo)), tcp, tcp_len)));
}

/* SYN-ACK (syn) or RST-ACK answering the SYN in ip/tcp; returns its length. */
static uint16_t build_tcp(struct responder *r, uint8_t *out, const uint8_t *ip, const uint8_t *tcp,
			  uint32_t seg_len, bool syn)
{
	uint16_t tcp_len = syn ? TCP_HDR_LEN + 4 : TCP_HDR_LEN;
	uint16_t total = IPV4_HDR_LEN + tcp_len;
	uint64_t rnd = rng_next(r->rng);
	uint8_t *t = out + IPV4_HDR_LEN;

	memset(out, 0, total);
	ip_header(out, total, IPPROTO_TCP_NUM, rd32(ip + 16), rd32(ip + 12), (uint16_t)rnd);
	wr16(t, rd16(tcp + 2));
	wr16(t + 2, rd16(tcp));
	/* RFC 9293 3.10.7.1: a reset answering a SYN has seq 0 and acks SEG.SEQ + SEG.LEN */
	wr32(t + 4, syn ? (uint32_t)(rnd >> 32) : 0);
	wr32(t + 8, rd32(tcp + 4) + seg_len);
	t[12] = (uint8_t)((tcp_len / 4) << 4);
	t[13] = syn ? (TCP_SYN | TCP_ACK) : (TCP_RST | TCP_ACK);
	wr16(t + 14, syn ? REPLY_WINDOW : 0);
	if (syn) {
		t[20] = 2; /* MSS */
		t[21] = 4;
		wr16(t + 22, REPLY_MSS);
	}
	tcp_checksum(out, tcp_len);
	return total;
}

/* ICMP destination unreachable quoting the IP header and 8 bytes of ip. */
static uint16_t build_icmp(struct responder *r, uint8_t *out, const uint8_t *ip, size_t ihl,
			   uint8_t code)
{
	size_t quote = ihl + 8;
	uint16_t total = (uint16_t)(IPV4_HDR_LEN + ICMP_HDR_LEN + quote);
	uint8_t *icmp = out + IPV4_HDR_LEN;

	memset(out, 0, total);
	ip_header(out, total, IPPROTO_ICMP_NUM, rd32(ip + 16), rd32(ip + 12),
		  (uint16_t)rng_next(r->rng));
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = code;
	memcpy(icmp + ICMP_HDR_LEN, ip, quote);
	wr16(icmp + 2, csum_fold(csum_add(0, icmp, ICMP_HDR_LEN + quote)));
	return total;
}

static void send_now(struct responder *r, const uint8_t *pkt, uint16_t len)
{
	if (write(r->tun_fd, pkt, len) != (ssize_t)len)
		r->n.write_err++;
}

/* ---- pending heap ---- */

static void heap_push(struct responder *r, uint64_t due, uint32_t slot)
{
	size_t i = r->heap_len++;

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (r->heap[parent].due_ns <= due)
			break;
		r->heap[i] = r->heap[parent];
		i = parent;
	}
	r->heap[i] = (struct pending){ due, slot };
}

static struct pending heap_pop(struct responder *r)
{
	struct pending top = r->heap[0], last = r->heap[--r->heap_len];
	size_t i = 0, n = r->heap_len;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && r->heap[c + 1].due_ns < r->heap[c].due_ns)
			c++;
		if (last.due_ns <= r->heap[c].due_ns)
			break;
		r->heap[i] = r->heap[c];
		i = c;
	}
	if (n)
		r->heap[i] = last;
	return top;
}

static void flush_due(struct responder *r)
{
	while (r->heap_len) {
		uint64_t now = clock_mono_ns();
		if (r->heap[0].due_ns > now)
			return;
		struct pending p = heap_pop(r);
		struct reply *rep = &r->replies[p.slot];
		send_now(r, rep->pkt, rep->len);
		r->free_slots[r->free_len++] = p.slot;
		uint64_t late = clock_mono_ns() - p.due_ns;
		r->n.delayed++;
		r->n.late_sum_ns += late;
		if (late > r->n.late_max_ns)
			r->n.late_max_ns = late;
	}
}

enum answer_type { ANSWER_SYNACK, ANSWER_RST, ANSWER_ICMP };

/* Sends the answer to the SYN in ip now, or parks it until now + delay. */
static void answer(struct responder *r, uint64_t now, int64_t delay, enum answer_type type,
		   const uint8_t *ip, size_t ihl, uint32_t seg_len, uint8_t code)
{
	uint8_t buf[REPLY_MAX], *out = buf;
	uint32_t slot = 0;
	uint16_t len;

	if (delay > 0) {
		if (!r->free_len) {
			r->n.heap_full++;
			return;
		}
		slot = r->free_slots[--r->free_len];
		out = r->replies[slot].pkt;
	}
	if (type == ANSWER_ICMP) {
		r->n.icmp++;
		len = build_icmp(r, out, ip, ihl, code);
	} else {
		if (type == ANSWER_SYNACK)
			r->n.synack++;
		else
			r->n.rst++;
		len = build_tcp(r, out, ip, ip + ihl, seg_len, type == ANSWER_SYNACK);
	}
	if (delay <= 0) {
		send_now(r, out, len);
		return;
	}
	r->replies[slot].len = len;
	heap_push(r, now + (uint64_t)delay, slot);
}

static bool flap_is_open(const struct endpoint *e)
{
	int64_t t = clock_real_ns() + e->phase_ns;
	int64_t pos = t % e->period_ns;
	return pos < e->period_ns / 2;
}

static void handle_packet(struct responder *r, const uint8_t *ip, size_t len, uint64_t now)
{
	r->n.rx++;
	if (len < IPV4_HDR_LEN + TCP_HDR_LEN || (ip[0] >> 4) != 4 || ip[9] != IPPROTO_TCP_NUM)
		goto ignore;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t total = rd16(ip + 2);
	if (ihl < IPV4_HDR_LEN || total > len || total < ihl + TCP_HDR_LEN ||
	    (rd16(ip + 6) & 0x3fff)) /* fragments */
		goto ignore;
	const uint8_t *tcp = ip + ihl;
	if ((tcp[13] & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) != TCP_SYN)
		goto ignore;
	size_t doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < TCP_HDR_LEN || ihl + doff > total)
		goto ignore;
	uint32_t seg_len = (uint32_t)(total - ihl - doff) + 1; /* the SYN counts one */
	r->n.syn++;

	const struct endpoint *e = table_find(&r->table, rd32(ip + 16), rd16(tcp + 2));
	struct endpoint dflt = { .kind = (uint8_t)r->default_kind };
	if (!e) {
		r->n.unconfigured++;
		e = &dflt;
	}
	if (e->loss > 0 && rng_unit(r->rng) < e->loss) {
		r->n.lost++;
		return;
	}
	int64_t delay = delay_draw(&e->delay, r->rng);
	switch ((enum ep_kind)e->kind) {
	case EP_OPEN:
	case EP_SLOW:
	case EP_LOSSY:
		answer(r, now, delay, ANSWER_SYNACK, ip, ihl, seg_len, 0);
		return;
	case EP_CLOSED:
		answer(r, now, delay, ANSWER_RST, ip, ihl, seg_len, 0);
		return;
	case EP_FLAP:
		answer(r, now, delay, flap_is_open(e) ? ANSWER_SYNACK : ANSWER_RST, ip, ihl, seg_len,
		       0);
		return;
	case EP_FILTERED:
		r->n.filtered++;
		return;
	case EP_UNREACH:
		answer(r, now, delay, ANSWER_ICMP, ip, ihl, seg_len, e->code);
		return;
	}
	return;
ignore:
	r->n.ignored++;
}

static void log_counters(const struct responder *r)
{
	const struct counters *n = &r->n;

	log_info("rx %" PRIu64 ", syn %" PRIu64 ", syn-ack %" PRIu64 ", rst %" PRIu64
		 ", icmp %" PRIu64 ", lost %" PRIu64 ", filtered %" PRIu64 ", unconfigured %" PRIu64
		 ", ignored %" PRIu64 ", delayed %" PRIu64 " (late avg %.1f us, max %.1f us)"
		 ", pending %zu, heap full %" PRIu64 ", write errors %" PRIu64 ", reloads %" PRIu64
		 " (%" PRIu64 " failed), endpoints %zu",
		 n->rx, n->syn, n->synack, n->rst, n->icmp, n->lost, n->filtered, n->unconfigured,
		 n->ignored, n->delayed, n->delayed ? (double)n->late_sum_ns / n->delayed / 1e3 : 0.0,
		 (double)n->late_max_ns / 1e3, r->heap_len, n->heap_full, n->write_err, n->reloads,
		 n->reload_err, r->table.count);
}

static int tun_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		log_error("cannot open '/dev/net/tun': %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		log_error("cannot create TUN device '%s': %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Arms timer_fd for the earliest pending answer (absolute, CLOCK_MONOTONIC,
 * as clock_mono_ns); leaves it alone when it is already armed for that. */
static int timer_arm(struct responder *r)
{
	uint64_t due = r->heap_len ? r->heap[0].due_ns : 0;
	struct itimerspec its = { 0 };

	if (due == r->timer_due)
		return 0;
	its.it_value.tv_sec = (time_t)(due / NSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(due % NSEC_PER_SEC);
	if (timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		log_error("timerfd_settime: %s", strerror(errno));
		return -errno;
	}
	r->timer_due = due;
	return 0;
}

static int run(struct responder *r, const sigset_t *wait_mask)
{
	static uint8_t buf[READ_BATCH][2048];
	struct pollfd pfd[2] = { { .fd = r->tun_fd, .events = POLLIN },
				 { .fd = r->timer_fd, .events = POLLIN } };
	uint64_t next_watch = clock_mono_ns() + WATCH_INTERVAL_NS;

	while (!sig_stop) {
		if (sig_reload) {
			sig_reload = 0;
			responder_reload(r);
		}
		if (sig_dump) {
			sig_dump = 0;
			log_counters(r);
		}
		flush_due(r);
		uint64_t now = clock_mono_ns();
		if (now >= next_watch) {
			next_watch = now + WATCH_INTERVAL_NS;
			if (r->watch_path && access(r->watch_path, F_OK) != 0) {
				log_info("'%s' is gone, exiting", r->watch_path);
				break;
			}
		}
		if (timer_arm(r) < 0)
			return -EIO;
		/* the ppoll timeout is only the watch interval: its slack does not matter */
		uint64_t wait = next_watch > now ? next_watch - now : 0;
		struct timespec ts = { (time_t)(wait / NSEC_PER_SEC), (long)(wait % NSEC_PER_SEC) };
		int k = ppoll(pfd, 2, &ts, wait_mask);
		if (k < 0 && errno != EINTR) {
			log_error("ppoll: %s", strerror(errno));
			return -errno;
		}
		if (k > 0 && (pfd[1].revents & POLLIN)) {
			uint64_t expirations;
			if (read(r->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
				log_warn("timerfd read: %s", strerror(errno));
			r->timer_due = 0; /* fired: a one-shot timer is disarmed now */
		}
		if (k <= 0 || !(pfd[0].revents & POLLIN))
			continue;
		/* drain in batches, sending due answers between them */
		for (;;) {
			int got = 0;
			while (got < READ_BATCH) {
				ssize_t len = read(r->tun_fd, buf[got], sizeof(buf[got]));
				if (len < 0)
					break;
				now = clock_mono_ns();
				handle_packet(r, buf[got], (size_t)len, now);
				got++;
				if ((got & 31) == 0)
					flush_due(r);
			}
			flush_due(r);
			if (got < READ_BATCH)
				break;
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fleet-responder --tun NAME --config FILE [--default closed|filtered]\n"
		"                       [--seed N] [--max-pending N] [--ack FILE] [--watch PATH]\n"
		"                       [--ready] [-v]\n");
}

int main(int argc, char **argv)
{
	struct responder r = { .tun_fd = -1, .timer_fd = -1, .default_kind = EP_CLOSED };
	const char *tun_name = NULL;
	unsigned long long seed = 0;
	bool have_seed = false, ready = false;
	size_t capacity = 65536;
	int rc = 1;

	log_set_program("fleet-responder");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		char *end;

		if (strcmp(a, "--ready") == 0) {
			ready = true;
			takes = false;
		} else if (strcmp(a, "-v") == 0) {
			log_level_current = LOG_DEBUG;
			takes = false;
		} else if (!v) {
			fprintf(stderr, "fleet-responder: '%s' needs a value\n", a);
			usage();
			return 2;
		} else if (strcmp(a, "--tun") == 0) {
			tun_name = v;
		} else if (strcmp(a, "--config") == 0) {
			r.config_path = v;
		} else if (strcmp(a, "--ack") == 0) {
			r.ack_path = v;
		} else if (strcmp(a, "--watch") == 0) {
			r.watch_path = v;
		} else if (strcmp(a, "--default") == 0) {
			if (strcmp(v, "closed") == 0)
				r.default_kind = EP_CLOSED;
			else if (strcmp(v, "filtered") == 0)
				r.default_kind = EP_FILTERED;
			else {
				fprintf(stderr, "fleet-responder: --default '%s': expected closed or filtered\n", v);
				return 2;
			}
		} else if (strcmp(a, "--seed") == 0) {
			errno = 0;
			seed = strtoull(v, &end, 0);
			if (errno || *end || !*v) {
				fprintf(stderr, "fleet-responder: --seed '%s': expected a number\n", v);
				return 2;
			}
			have_seed = true;
		} else if (strcmp(a, "--max-pending") == 0) {
			errno = 0;
			capacity = strtoul(v, &end, 10);
			if (errno || *end || capacity < 1 || capacity > (1u << 24)) {
				fprintf(stderr, "fleet-responder: --max-pending '%s': expected 1-16777216\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "fleet-responder: unknown option '%s'\n", a);
			usage();
			return 2;
		}
		if (takes)
			i++;
	}
	if (!tun_name || !r.config_path) {
		fprintf(stderr, "fleet-responder: --tun and --config are required\n");
		usage();
		return 2;
	}
	if (strlen(tun_name) >= IFNAMSIZ) {
		fprintf(stderr, "fleet-responder: --tun '%s': at most %d characters\n", tun_name,
			IFNAMSIZ - 1);
		return 2;
	}

	if (!have_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (unsigned long long)clock_real_ns();
	uint64_t sm = seed;
	for (int i = 0; i < 4; i++)
		r.rng[i] = splitmix64(&sm);

	r.capacity = capacity;
	r.heap = calloc(capacity, sizeof(*r.heap));
	r.replies = calloc(capacity, sizeof(*r.replies));
	r.free_slots = calloc(capacity, sizeof(*r.free_slots));
	if (!r.heap || !r.replies || !r.free_slots) {
		log_error("cannot allocate %zu pending replies", capacity);
		goto out;
	}
	for (size_t i = 0; i < capacity; i++)
		r.free_slots[i] = (uint32_t)(capacity - 1 - i);
	r.free_len = capacity;

	if (config_load(r.config_path, &r.table) < 0)
		goto out;
	ack_write(r.ack_path, r.table.generation);

	/* the delays are the product: the timerfd wake-up must not be 50 us late */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	r.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r.timer_fd < 0) {
		log_error("timerfd_create: %s", strerror(errno));
		goto out;
	}

	sigset_t block, wait_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGHUP);
	sigdelset(&wait_mask, SIGUSR1);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	r.tun_fd = tun_open(tun_name);
	if (r.tun_fd < 0)
		goto out;
	log_info("serving %zu endpoints on '%s' (default %s, seed %llu)", r.table.count, tun_name,
		 ep_kind_names[r.default_kind], seed);
	if (ready) {
		/* the caller waits for this line, then stops reading */
		printf("ready\n");
		fflush(stdout);
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			close(devnull);
		}
	}
	if (run(&r, &wait_mask) == 0)
		rc = 0;
	log_counters(&r);
out:
	if (r.tun_fd >= 0)
		close(r.tun_fd);
	if (r.timer_fd >= 0)
		close(r.timer_fd);
	table_release(&r.table);
	free(r.heap);
	free(r.replies);
	free(r.free_slots);
	return rc;
}
