/* The TLS handshake benchmark's driver (bench/tls.sh runs it): N TLS
 * handshakes against one server, each on a fresh non-blocking TCP
 * connection, up to CONC of them in flight on one epoll loop, the way
 * synwatch's engine will drive its tls checks: connect, handshake on
 * readiness, verify and extract what the check reports, send close_notify,
 * then read the socket raw until the server closes, so that nothing unread
 * turns our close into a reset. The TLS library is whichever bench/tls-LIB.c
 * this was linked with (bench/tls-lib.h).
 *
 * The figure is the client's own CPU time (getrusage, user + system) per
 * handshake over the measured handshakes only: the machine is shared, so
 * wall time says as much about the neighbours as about the library.
 *
 * usage: tls-bench-LIB -p PORT -C CAFILE -s NAME [-a ADDR] [-n N] [-c CONC]
 *        [-w WARMUP] [-r K] [-R] [-k] [-2] [-i IDLE] [-t] [-v]
 *   -r K  resume: offer the saved session; every K-th check is a full
 *         handshake that saves a new ticket (K 0: none after the warm-up)
 *   -R    take the new ticket a resumed handshake brings, too
 *   -k    offer psk_ke on resumption (no new key exchange) where the
 *         library can
 *   -2    TLS 1.2 only
 *   -i M  memory: hold M idle connections after their handshakes and report
 *         the heap and RSS growth per connection instead of timing
 *   -t    TCP only: connect, shut down, read to EOF; what the kernel and
 *         the loop cost without TLS
 * Output: one line of key=value pairs. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tls-lib.h"

enum conn_state {
	ST_CONNECT,
	ST_HANDSHAKE,
	ST_TICKET,
	ST_IDLE,
	ST_CLOSE,
	ST_DRAIN,
};

struct conn {
	int fd;
	enum conn_state state;
	uint32_t events; /* what epoll waits for on fd */
	bool full;	 /* a full handshake was asked for */
	bool counted;	 /* part of the measured set */
	struct tlsb_conn *tls;
};

struct run {
	struct tlsb_ctx *ctx;
	struct sockaddr_in addr;
	int epfd;
	long resume_k; /* -1: no resumption */
	bool refresh;  /* take the new ticket after a resumed handshake too */
	bool idle;     /* memory mode: keep connections after the handshake */
	bool tcp_only; /* no TLS: the cost of the connection alone */
	bool verbose;
	long started, finished, to_start;
	long check_no; /* checks started in the measured set, for every K-th */
	bool measuring;
	/* measured outcomes */
	long ok, failed, full_done, resumed_done, no_cert;
	long idle_held;
	char first_error[200];
	struct tlsb_info first_info[2]; /* [0] full, [1] resumed */
	bool have_info[2];
};

long tlsb_rbuf_recv(struct tlsb_rbuf *b, int fd, void *dst, size_t len)
{
	ssize_t n;

	if (b->off == b->len) {
		n = recv(fd, b->data, sizeof(b->data), 0);
		if (n <= 0)
			return n;
		b->off = 0;
		b->len = (unsigned short)n;
	}
	if (len > (size_t)(b->len - b->off))
		len = (size_t)(b->len - b->off);
	memcpy(dst, b->data + b->off, len);
	b->off = (unsigned short)(b->off + len);
	return (long)len;
}

static void fail(const char *what)
{
	fprintf(stderr, "tls-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	char line[256];
	long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void set_events(struct run *r, struct conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};

	if (c->events == ev)
		return;
	if (epoll_ctl(r->epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) < 0)
		fail("epoll_ctl");
	c->events = ev;
}

static void want(struct run *r, struct conn *c, int w)
{
	set_events(r, c, w == TLSB_WANT_WRITE ? EPOLLOUT : EPOLLIN);
}

static void conn_end(struct run *r, struct conn *c, const char *error)
{
	if (c->counted) {
		if (error) {
			r->failed++;
			if (!r->first_error[0])
				snprintf(r->first_error, sizeof(r->first_error), "%s", error);
		} else {
			r->ok++;
		}
	}
	if (error && r->verbose)
		fprintf(stderr, "tls-bench: check failed: %s\n", error);
	tlsb_conn_free(c->tls);
	close(c->fd);
	free(c);
	r->finished++;
}

static void conn_start(struct run *r)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		fail("calloc");
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		fail("socket");
	/* handshake flights are small and latency-bound, as in the engine */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->counted = r->measuring;
	if (r->resume_k < 0)
		c->full = true;
	else if (!tlsb_ctx_session_size(r->ctx))
		c->full = true;
	else if (r->measuring && r->resume_k > 0)
		c->full = r->check_no % r->resume_k == r->resume_k - 1;
	if (r->measuring)
		r->check_no++;
	r->started++;
	r->to_start--;
	if (connect(c->fd, (struct sockaddr *)&r->addr, sizeof(r->addr)) < 0 && errno != EINPROGRESS)
		fail("connect");
	c->state = ST_CONNECT;
	set_events(r, c, EPOLLOUT);
}

/* Our side is done: half-close and read until the server closes. */
static void half_close(struct run *r, struct conn *c)
{
	(void)shutdown(c->fd, SHUT_WR);
	c->state = ST_DRAIN;
	set_events(r, c, EPOLLIN);
}

/* What a stepping call returned (k): true when the step finished; else
 * waits for the socket it wants, or ends the connection with the error. */
static bool stepped(struct run *r, struct conn *c, int k)
{
	if (k == TLSB_DONE)
		return true;
	if (k > 0)
		want(r, c, k);
	else
		conn_end(r, c, tlsb_error(c->tls));
	return false;
}

static void begin_close(struct run *r, struct conn *c);

static void after_handshake(struct run *r, struct conn *c)
{
	struct tlsb_info info;
	int k;

	memset(&info, 0, sizeof(info));
	if (tlsb_info(c->tls, &info) < 0) {
		conn_end(r, c, tlsb_error(c->tls));
		return;
	}
	if (!info.verified) {
		conn_end(r, c, "not verified");
		return;
	}
	if (c->counted) {
		if (info.resumed)
			r->resumed_done++;
		else
			r->full_done++;
		if (!info.have_cert)
			r->no_cert++;
	}
	k = info.resumed ? 1 : 0;
	if (!r->have_info[k] && c->counted) {
		r->first_info[k] = info;
		r->have_info[k] = true;
	}
	if (r->idle) {
		c->state = ST_IDLE;
		set_events(r, c, 0);
		r->idle_held++;
		return;
	}
	/* A full handshake in a resuming run refreshes the saved session: in
	 * TLS 1.3 the ticket comes after the handshake. With -R a resumed one
	 * does too, which keeps a session alive past the first ticket's
	 * lifetime (RFC 8446 4.6.1 asks for a limit: the full handshakes). */
	if (r->resume_k >= 0 && (!info.resumed || r->refresh)) {
		c->state = ST_TICKET;
		k = tlsb_read_ticket(c->tls);
		if (k == TLSB_WANT_READ || k == TLSB_WANT_WRITE) {
			want(r, c, k);
			return;
		}
		if (k < 0) {
			conn_end(r, c, tlsb_error(c->tls));
			return;
		}
	}
	begin_close(r, c);
}

static void begin_close(struct run *r, struct conn *c)
{
	int k;

	c->state = ST_CLOSE;
	k = tlsb_close_notify(c->tls);
	if (k == TLSB_WANT_READ || k == TLSB_WANT_WRITE) {
		want(r, c, k);
		return;
	}
	/* the close_notify's failure is no failed check: the verdict is in */
	half_close(r, c);
}

static void drain(struct run *r, struct conn *c)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		break; /* the server closed (or reset): done */
	}
	conn_end(r, c, NULL);
}

static void step(struct run *r, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	switch (c->state) {
	case ST_CONNECT:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			conn_end(r, c, "connect failed");
			return;
		}
		if (r->tcp_only) {
			half_close(r, c);
			return;
		}
		if (tlsb_conn_new(r->ctx, c->fd, !c->full, &c->tls) < 0) {
			conn_end(r, c, "cannot create a TLS connection");
			return;
		}
		c->state = ST_HANDSHAKE;
		/* fall through */
	case ST_HANDSHAKE:
		if (stepped(r, c, tlsb_handshake(c->tls)))
			after_handshake(r, c);
		return;
	case ST_TICKET:
		if (stepped(r, c, tlsb_read_ticket(c->tls)))
			begin_close(r, c);
		return;
	case ST_CLOSE:
		begin_close(r, c);
		return;
	case ST_DRAIN:
		drain(r, c);
		return;
	case ST_IDLE:
		return;
	}
}

/* Runs n checks, conc in flight, until all have finished (or, in memory
 * mode, are held idle). */
static void run_checks(struct run *r, long n, long conc)
{
	struct epoll_event ev[256];
	long target = r->finished + n;
	double last_progress = now_s();

	r->to_start = n;
	while (r->finished + r->idle_held < target) {
		int i, k;

		while (r->to_start > 0 && r->started - r->finished - r->idle_held < conc)
			conn_start(r);
		k = epoll_wait(r->epfd, ev, 256, 1000);
		if (k < 0 && errno != EINTR)
			fail("epoll_wait");
		if (k > 0)
			last_progress = now_s();
		else if (now_s() - last_progress > 10) {
			fprintf(stderr, "tls-bench: no progress for 10 s (%ld of %ld done)\n",
				r->finished + r->idle_held, target);
			exit(1);
		}
		for (i = 0; i < k; i++)
			step(r, ev[i].data.ptr);
	}
}

static void print_info(const char *prefix, const struct tlsb_info *i)
{
	char na[32] = "?";
	struct tm tm;

	if (i->not_after && gmtime_r(&i->not_after, &tm))
		strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf(" %s_version=%s %s_cipher=%s %s_kx=%s %s_cert=%s", prefix, i->version, prefix, i->cipher,
	       prefix, i->kx[0] ? i->kx : "?", prefix, i->have_cert ? "yes" : "no");
	if (i->have_cert)
		printf(" %s_subject=\"%s\" %s_issuer=\"%s\" %s_sans=\"%s\" %s_not_after=%s", prefix,
		       i->subject, prefix, i->issuer, prefix, i->sans, prefix, na);
}

int main(int argc, char **argv)
{
	struct tlsb_opts o = {0};
	struct run r = {.resume_k = -1};
	const char *addr = "127.0.0.1";
	long n = 1000, conc = 64, warmup = 20, idle = 0, port = 0;
	struct rlimit rl;
	struct rusage ru0, ru1;
	struct mallinfo2 m0, m1;
	double t0, t1, cpu;
	long rss0, rss1;
	char err[256];
	int opt;

	while ((opt = getopt(argc, argv, "a:p:n:c:w:C:s:r:Rk2i:tv")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atol(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'c':
			conc = atol(optarg);
			break;
		case 'w':
			warmup = atol(optarg);
			break;
		case 'C':
			o.cafile = optarg;
			break;
		case 's':
			o.name = optarg;
			break;
		case 'r':
			r.resume_k = atol(optarg);
			break;
		case 'R':
			r.refresh = true;
			break;
		case 'k':
			o.psk_ke = true;
			break;
		case '2':
			o.tls12 = true;
			break;
		case 'i':
			idle = atol(optarg);
			break;
		case 't':
			r.tcp_only = true;
			break;
		case 'v':
			r.verbose = true;
			break;
		default:
			fprintf(stderr,
				"usage: %s -p PORT -C CAFILE -s NAME [-a ADDR] [-n N] [-c CONC] [-w WARMUP] "
				"[-r K] [-R] [-k] [-2] [-i IDLE] [-t] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || !o.cafile || !o.name || n <= 0 || conc <= 0) {
		fprintf(stderr, "tls-bench: -p PORT, -C CAFILE and -s NAME are needed, -n and -c positive\n");
		return 2;
	}
	r.addr.sin_family = AF_INET;
	r.addr.sin_port = htons((uint16_t)port);
	/* this benchmark talks to a local server only */
	if (inet_pton(AF_INET, addr, &r.addr.sin_addr) != 1 || (ntohl(r.addr.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "tls-bench: '%s' is not an address in 127.0.0.0/8\n", addr);
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (tlsb_ctx_new(&r.ctx, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "tls-bench: %s: %s\n", tlsb_lib_name(), err);
		return 1;
	}
	r.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r.epfd < 0)
		fail("epoll_create1");

	/* Warm-up, not measured: the libraries set up tables and fetch
	 * algorithms on first use; in a resuming run it also leaves a ticket. */
	if (warmup > 0) {
		run_checks(&r, warmup, conc < warmup ? conc : warmup);
		if (r.resume_k >= 0 && !tlsb_ctx_session_size(r.ctx)) {
			fprintf(stderr, "tls-bench: %s: no session ticket after the warm-up\n",
				tlsb_lib_name());
			return 1;
		}
	}
	r.measuring = true;
	if (idle > 0) {
		r.idle = true;
		malloc_trim(0);
		m0 = mallinfo2();
		rss0 = rss_kb();
		run_checks(&r, idle, conc);
		m1 = mallinfo2();
		rss1 = rss_kb();
		printf("lib=%s version=\"%s\" mode=idle held=%ld failed=%ld heap_per_conn_b=%.0f "
		       "rss_per_conn_b=%.0f\n",
		       tlsb_lib_name(), tlsb_lib_version(), r.idle_held, r.failed,
		       (double)(m1.uordblks - m0.uordblks) / (double)(r.idle_held ? r.idle_held : 1),
		       (double)(rss1 - rss0) * 1024 / (double)(r.idle_held ? r.idle_held : 1));
		if (r.first_error[0])
			printf("first_error=\"%s\"\n", r.first_error);
		return r.failed ? 1 : 0;
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_s();
	run_checks(&r, n, conc);
	t1 = now_s();
	getrusage(RUSAGE_SELF, &ru1);
	cpu = tv_s(&ru1.ru_utime) - tv_s(&ru0.ru_utime) + tv_s(&ru1.ru_stime) - tv_s(&ru0.ru_stime);

	printf("lib=%s version=\"%s\" mode=%s k=%ld refresh=%d psk_ke=%d n=%ld ok=%ld failed=%ld full=%ld "
	       "resumed=%ld "
	       "no_cert=%ld session_b=%zu cpu_us=%.1f user_us=%.1f sys_us=%.1f wall_s=%.3f per_s=%.0f",
	       tlsb_lib_name(), tlsb_lib_version(),
	       r.tcp_only	? "tcp"
	       : r.resume_k < 0 ? "full"
				: "resume",
	       r.resume_k, r.refresh, o.psk_ke, n, r.ok, r.failed, r.full_done, r.resumed_done, r.no_cert,
	       tlsb_ctx_session_size(r.ctx), 1e6 * cpu / (double)n,
	       1e6 * (tv_s(&ru1.ru_utime) - tv_s(&ru0.ru_utime)) / (double)n,
	       1e6 * (tv_s(&ru1.ru_stime) - tv_s(&ru0.ru_stime)) / (double)n, t1 - t0, (double)n / (t1 - t0));
	if (r.have_info[0])
		print_info("full", &r.first_info[0]);
	if (r.have_info[1])
		print_info("res", &r.first_info[1]);
	if (r.first_error[0])
		printf(" first_error=\"%s\"", r.first_error);
	printf("\n");
	return r.failed ? 1 : 0;
}
