/* The checker (engine/checker.h): one epoll loop, a pool of connections. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/ring.h"
#include "common/thread.h"
#include "engine/checker.h"
#include "engine/dialog.h"
#include "engine/tls.h"

#define DEFAULT_IN_FLIGHT 1024
#define DEFAULT_PER_HOST 4
#define DEFAULT_FULL_EVERY 16
#define DEFAULT_LINGER_NS (200 * NSEC_PER_MSEC)
#define DEFAULT_TIMEOUT_NS (5 * NSEC_PER_SEC)
#define IN_CAP (2 * DIALOG_LINE_MAX)
#define SESSION_SLOTS 16384 /* TLS sessions kept for resumption (a cache, not a promise) */
/* a full handshake at least this often, to see a renewed certificate, and
 * so that tickets do not extend one session for ever (RFC 8446, 4.6.1) */
#define FULL_EVERY_S 3600
#define REQ_BATCH 64
#define OUT_CAP (DIALOG_OUT_MIN + CHECK_SEND_MAX)
#define MAX_CA 32 /* distinct CA files in use (the configuration's) */
/* Admission: a connection starts only while (the connections before their
 * verdict + 1) x the loop's own wall time per connection stays within
 * ADMIT_SHARE of its timeout: were they all ready at once, the loop would
 * still reach the new one in time, with the rest of the timeout left for
 * the network and the server. The time per connection is measured (loop
 * time outside epoll_wait over the connections that ended in it), so a
 * machine busy with other work, or full TLS handshakes instead of resumed
 * ones, lower the limit by themselves. */
#define ADMIT_SHARE 0.25
#define ADMIT_MIN 4                          /* before a verdict at any time, whatever the estimate */
#define COST_INIT_NS (5.0 * NSEC_PER_MSEC)   /* before any measure: a full TLS handshake on a slow machine */
#define COST_ENDED 16                        /* a new measure after this many connections ended */
#define COST_BUSY_NS (100 * NSEC_PER_MSEC)   /* or this much loop time */

enum conn_state {
	C_FREE,
	C_CONNECT,   /* waiting for the TCP handshake */
	C_TLS,       /* TLS handshake (implicit, or after STARTTLS) */
	C_DIALOG,    /* the conversation */
	C_CLOSING,   /* verdict out: the goodbye, close_notify, the server's close */
};

struct conn {
	uint8_t state;
	uint8_t want;            /* EPOLLIN / EPOLLOUT currently asked for */
	uint8_t starttls;        /* the TLS handshake under way follows a STARTTLS */
	uint8_t reported;        /* the verdict has been written */
	uint8_t shut;            /* our side is shut for writing */
	uint8_t session_kept;    /* its TLS session is in the target's slot */
	uint8_t tls_timeout;     /* the TLS handshake ran out of time */
	int fd;
	uint32_t heap_pos;       /* position in the deadline heap */
	uint64_t deadline;       /* monotonic */
	uint64_t t_start, t_connected, t_tls;
	struct check_req req;
	struct check_spec *spec;  /* the request's reference */
	struct tls_conn *tls;
	struct dialog dialog;
	struct check_result res;
	uint8_t *out;            /* OUT_CAP bytes */
	size_t out_len, out_off;
	uint8_t *in;             /* IN_CAP bytes */
	size_t in_len;
	char host[CHECK_NAME_MAX + 9]; /* the dialog's Host: text */
};

struct host_slot {
	struct sw_addr addr;
	uint32_t n;              /* connections open to it; 0: free */
};

/* The last full handshake of a target: its certificate (a resumed session
 * shows none) and the session to resume from. */
struct session_slot {
	uint32_t target;
	uint16_t port;
	uint16_t uses;           /* checks since the last full handshake */
	int64_t full_s;          /* when it was (CLOCK_REALTIME seconds) */
	struct tls_session *s;
	struct check_tls full;
	bool used;
};

/* A trust store: the system's (file NULL) or a CA file's. */
struct ca_slot {
	char *file;
	struct tls_ctx *ctx;
	char err[200];           /* it did not load: why */
};

struct checker {
	struct checker_config cfg;
	int ep;
	struct conn *conns;
	uint32_t *free_list;
	size_t n_free;
	uint32_t *heap;          /* conn indices by deadline */
	size_t heap_len;
	struct host_slot *hosts;
	size_t hosts_cap;
	struct check_req *queue; /* waiting for a slot: a ring */
	size_t q_head, q_len, q_cap;
	struct ca_slot ca[MAX_CA];
	size_t n_ca;
	struct session_slot *sessions;
	uint16_t next_port;
	double tokens;           /* connections the rate allows now */
	uint64_t tokens_at;
	uint32_t n_active;       /* started, verdict not yet out */
	double cost_ns;          /* the loop's wall time per connection, smoothed (admission) */
	uint64_t busy_ns;        /* loop time outside epoll_wait since the last measure */
	uint32_t ended;          /* connections ended since the last measure */
	uint32_t step_work;      /* starts and deadlines in this step */
	struct thread_loop loop;
	struct ring *reqs, *results;
	struct {
		_Atomic uint64_t started, done, ok, failed, timeouts, tls_full, tls_resumed, queued, in_flight, active,
			cost;
	} st;
};

static void stat_add(_Atomic uint64_t *v, uint64_t n)
{
	atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

static void stat_set(_Atomic uint64_t *v, uint64_t n)
{
	atomic_store_explicit(v, n, memory_order_relaxed);
}

/* ---- the deadline heap ---- */

static void heap_swap(struct checker *c, size_t a, size_t b)
{
	uint32_t t = c->heap[a];
	c->heap[a] = c->heap[b];
	c->heap[b] = t;
	c->conns[c->heap[a]].heap_pos = (uint32_t)a;
	c->conns[c->heap[b]].heap_pos = (uint32_t)b;
}

static void heap_up(struct checker *c, size_t i)
{
	while (i > 0 && c->conns[c->heap[(i - 1) / 2]].deadline > c->conns[c->heap[i]].deadline) {
		heap_swap(c, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct checker *c, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < c->heap_len && c->conns[c->heap[l]].deadline < c->conns[c->heap[m]].deadline)
			m = l;
		if (r < c->heap_len && c->conns[c->heap[r]].deadline < c->conns[c->heap[m]].deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(c, i, m);
		i = m;
	}
}

static void heap_push(struct checker *c, uint32_t idx)
{
	c->heap[c->heap_len] = idx;
	c->conns[idx].heap_pos = (uint32_t)c->heap_len;
	heap_up(c, c->heap_len++);
}

static void heap_remove(struct checker *c, uint32_t idx)
{
	size_t i = c->conns[idx].heap_pos;
	if (i >= c->heap_len || c->heap[i] != idx)
		return;
	c->heap_len--;
	if (i == c->heap_len)
		return;
	heap_swap(c, i, c->heap_len);
	heap_down(c, i);
	heap_up(c, i);
}

static void heap_update(struct checker *c, uint32_t idx, uint64_t deadline)
{
	c->conns[idx].deadline = deadline;
	heap_remove(c, idx);
	heap_push(c, idx);
}

/* ---- hosts ---- */

static uint32_t host_find(struct checker *c, const struct sw_addr *a, bool insert)
{
	size_t i = (size_t)(addr_port_hash(a, 0) % c->hosts_cap);

	for (size_t k = 0; k < c->hosts_cap; k++, i = (i + 1) % c->hosts_cap) {
		struct host_slot *h = &c->hosts[i];
		if (h->n && addr_equal(&h->addr, a))
			return (uint32_t)i;
		if (!h->n) {
			if (!insert)
				return UINT32_MAX;
			h->addr = *a;
			return (uint32_t)i;
		}
	}
	return UINT32_MAX;
}

/* One connection fewer to a; the last one frees the slot, shifting the
 * run behind it back (linear probing keeps no tombstones). */
static void host_release(struct checker *c, const struct sw_addr *a)
{
	uint32_t slot = host_find(c, a, false);

	if (slot == UINT32_MAX || --c->hosts[slot].n > 0)
		return;
	size_t i = slot;
	for (size_t j = (i + 1) % c->hosts_cap; c->hosts[j].n; j = (j + 1) % c->hosts_cap) {
		size_t home = (size_t)(addr_port_hash(&c->hosts[j].addr, 0) % c->hosts_cap);
		/* j may fill the hole at i unless its home lies in (i, j] */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			c->hosts[i] = c->hosts[j];
			c->hosts[j].n = 0;
			i = j;
		}
	}
}

/* ---- TLS sessions ---- */

static struct session_slot *session_of(struct checker *c, const struct check_req *r)
{
	size_t i = ((size_t)r->target * 2654435761u + r->port) % SESSION_SLOTS;
	struct session_slot *s = &c->sessions[i];
	if (s->used && (s->target != r->target || s->port != r->port)) {
		/* another target's: evict it (a cache) */
		tls_session_free(s->s);
		memset(s, 0, sizeof(*s));
	}
	return s;
}

/* ---- connections ---- */

/* The session to resume from, into the target's slot as soon as the
 * library has one: under TLS 1.3 once the server's ticket has been read
 * (after the handshake, often after the verdict, while the connection
 * closes). Not after a handshake that failed other than by time, nor
 * after a certificate the check refused: the next check is then a full
 * handshake, to see the server as it is. A timeout says nothing against
 * the session: dropping it would make a checker short of CPU pay for
 * full handshakes exactly when it can least afford them. */
static void keep_session(struct checker *c, struct conn *k)
{
	if (!k->tls || k->session_kept || c->cfg.full_every == 1)
		return;
	struct session_slot *ss = session_of(c, &k->req);
	if (k->res.cert_failed || (!k->res.tls.version[0] && k->reported && !k->tls_timeout)) {
		tls_session_free(ss->s);
		ss->s = NULL;
		k->session_kept = 1;
		return;
	}
	if (!k->res.tls.version[0] || !ss->used)
		return;
	struct tls_session *ns = tls_conn_session(k->tls);
	if (ns) {
		tls_session_free(ss->s);
		ss->s = ns;
		k->session_kept = 1;
	}
}

static void set_events(struct checker *c, struct conn *k, uint8_t want)
{
	if (k->want == want)
		return;
	struct epoll_event ev = { .events = (want & 1 ? EPOLLIN : 0) | (want & 2 ? EPOLLOUT : 0) | EPOLLRDHUP,
				  .data.u32 = (uint32_t)(k - c->conns) };
	epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &ev);
	k->want = want;
}

#define WANT_IN 1
#define WANT_OUT 2

/* The verdict is reached: write the result (once). */
static void report(struct checker *c, struct conn *k, uint64_t now)
{
	if (k->reported)
		return;
	k->reported = 1;
	c->n_active--;
	struct check_result *r = &k->res;
	r->target = k->req.target;
	r->seq = k->req.seq;
	r->kind = k->spec ? k->spec->kind : CHECK_NONE;
	/* the step's clock is coarse (one read per epoll round): read it anew */
	now = clock_mono_ns();
	r->ts_real_ns = clock_real_ns();
	r->check_ns = (int64_t)(now - k->t_start);
	r->connect_ns = k->t_connected ? (int64_t)(k->t_connected - k->t_start) : -1;
	r->v = *dialog_verdict(&k->dialog);
	stat_add(r->v.ok ? &c->st.ok : &c->st.failed, 1);
	stat_add(&c->st.done, 1);
	while (c->results && ring_push(c->results, r, 1) != 1) {
		/* the consumer is behind: wait, a verdict is never dropped */
		clock_sleep_until(clock_mono_ns() + 100 * 1000);
	}
}

static void conn_free(struct checker *c, struct conn *k)
{
	if (k->state == C_FREE)
		return;
	heap_remove(c, (uint32_t)(k - c->conns));
	if (k->fd >= 0) {
		epoll_ctl(c->ep, EPOLL_CTL_DEL, k->fd, NULL);
		close(k->fd);
	}
	if (k->tls) {
		keep_session(c, k);
		tls_conn_free(k->tls);
		k->tls = NULL;
	}
	host_release(c, &k->req.dst);
	check_spec_unref(k->spec);
	if (!k->reported)
		c->n_active--;
	c->ended++;
	k->spec = NULL;
	k->state = C_FREE;
	k->fd = -1;
	c->free_list[c->n_free++] = (uint32_t)(k - c->conns);
}

/* An abrupt end: the verdict (set by the caller) goes out, the socket is
 * reset rather than left in TIME_WAIT. */
static void conn_abort(struct checker *c, struct conn *k, uint64_t now)
{
	report(c, k, now);
	if (k->fd >= 0) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	conn_free(c, k);
}

static void fail_now(struct checker *c, struct conn *k, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail_now(struct checker *c, struct conn *k, uint64_t now, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!k->dialog.done) {
		k->dialog.done = 1;
		check_fail(&k->dialog.v, "%s", buf);
	}
	conn_abort(c, k, now);
}

/* The verdict is in: report it, then say goodbye politely and wait a
 * little for the server to close first (no TIME_WAIT here). */
static void conn_closing(struct checker *c, struct conn *k, uint64_t now)
{
	report(c, k, now);
	keep_session(c, k);
	k->state = C_CLOSING;
	heap_update(c, (uint32_t)(k - c->conns), now + (uint64_t)c->cfg.linger_ns);
}

/* Our last word is out (the protocol's QUIT, if any): close_notify, then
 * FIN; the server's close ends the connection. */
static void conn_shut(struct conn *k)
{
	if (k->shut)
		return;
	if (k->tls)
		tls_close_notify(k->tls);
	shutdown(k->fd, SHUT_WR);
	k->shut = 1;
}

static bool io_write(struct conn *k, char *err, size_t errlen, bool *blocked)
{
	*blocked = false;
	while (k->out_off < k->out_len) {
		size_t n = k->out_len - k->out_off;
		if (k->tls) {
			size_t put = 0;
			enum tls_io r = tls_write(k->tls, k->out + k->out_off, n, &put, err, errlen);
			if (r == TLS_IO_WANT_WRITE || r == TLS_IO_WANT_READ) {
				*blocked = true;
				return true;
			}
			if (r != TLS_IO_OK)
				return false;
			k->out_off += put;
		} else {
			ssize_t w = send(k->fd, k->out + k->out_off, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					*blocked = true;
					return true;
				}
				snprintf(err, errlen, "cannot send: %s", strerror(errno));
				return false;
			}
			k->out_off += (size_t)w;
		}
	}
	k->out_len = k->out_off = 0;
	return true;
}

/* Reads what there is into k->in. 1: got bytes, 0: nothing now, -1: the
 * server closed (reset says how), -2: error (err). */
static int io_read(struct conn *k, bool *reset, char *err, size_t errlen)
{
	size_t room = IN_CAP - k->in_len;
	*reset = false;
	if (room == 0)
		return 0;
	if (k->tls) {
		size_t got = 0;
		enum tls_io r = tls_read(k->tls, k->in + k->in_len, room, &got, err, errlen);
		if (r == TLS_IO_OK) {
			k->in_len += got;
			return got ? 1 : 0;
		}
		if (r == TLS_IO_WANT_READ || r == TLS_IO_WANT_WRITE)
			return 0;
		if (r == TLS_IO_CLOSED)
			return -1;
		return -2;
	}
	ssize_t n = recv(k->fd, k->in + k->in_len, room, 0);
	if (n > 0) {
		k->in_len += (size_t)n;
		return 1;
	}
	if (n == 0)
		return -1;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	if (errno == ECONNRESET) {
		*reset = true;
		return -1;
	}
	snprintf(err, errlen, "cannot read: %s", strerror(errno));
	return -2;
}

static void start_tls(struct checker *c, struct conn *k, uint64_t now, bool after_starttls);

/* Acts on what the dialog said next. */
static void after_dialog(struct checker *c, struct conn *k, enum dialog_next next, uint64_t now)
{
	char err[256];
	bool blocked;

	if (!io_write(k, err, sizeof(err), &blocked)) {
		fail_now(c, k, now, "%s", err);
		return;
	}
	switch (next) {
	case DIALOG_MORE:
		set_events(c, k, blocked ? WANT_OUT : WANT_IN);
		return;
	case DIALOG_STARTTLS:
		if (blocked) {
			/* the STARTTLS command is still going out; tls starts
			 * once it is (see on_writable) */
			k->starttls = 2;
			set_events(c, k, WANT_OUT);
			return;
		}
		/* RFC 3207 and friends: plaintext after the go-ahead is dropped
		 * (else a man in the middle could inject commands) */
		k->in_len = 0;
		start_tls(c, k, now, true);
		return;
	case DIALOG_DONE:
		conn_closing(c, k, now);
		if (!blocked)
			conn_shut(k);
		set_events(c, k, blocked ? WANT_OUT : WANT_IN);
		return;
	}
}

/* Everything in k->in goes to the dialog. */
static void feed(struct checker *c, struct conn *k, uint64_t now)
{
	size_t used = 0;
	struct dialog_out out = { .p = k->out, .len = k->out_len, .cap = OUT_CAP };
	enum dialog_next next = dialog_data(&k->dialog, k->in, k->in_len, &used, &out);
	k->out_len = out.len;
	memmove(k->in, k->in + used, k->in_len - used);
	k->in_len -= used;
	after_dialog(c, k, next, now);
}

/* The Host: text of RFC 9110 7.2: the target's name or its address (an IPv6
 * one in brackets), with the port when it is not the scheme's own. */
static void host_text(struct conn *k)
{
	char addr[ADDR_STRLEN];
	uint16_t dflt = k->spec->kind == CHECK_HTTPS ? 443 : 80;
	int n;

	if (k->req.name[0])
		n = snprintf(k->host, sizeof(k->host), "%s", k->req.name);
	else if (k->req.dst.family == AF_INET6)
		n = snprintf(k->host, sizeof(k->host), "[%s]", addr_format(&k->req.dst, addr, sizeof(addr)));
	else
		n = snprintf(k->host, sizeof(k->host), "%s", addr_format(&k->req.dst, addr, sizeof(addr)));
	if (k->req.port != dflt && n > 0 && (size_t)n < sizeof(k->host))
		snprintf(k->host + n, sizeof(k->host) - (size_t)n, ":%u", (unsigned)k->req.port);
}

static void begin_dialog(struct checker *c, struct conn *k, uint64_t now)
{
	struct dialog_out out = { .p = k->out, .len = 0, .cap = OUT_CAP };
	enum dialog_next next;

	host_text(k);
	next = dialog_begin(&k->dialog, k->spec, k->host, &out);
	k->out_len = out.len;
	k->out_off = 0;
	k->state = C_DIALOG;
	after_dialog(c, k, next, now);
}

/* TLS is up: record what it showed, judge it, go on. */
static void tls_up(struct checker *c, struct conn *k, uint64_t now)
{
	struct session_slot *ss = session_of(c, &k->req);
	char addr[ADDR_STRLEN];
	const char *name = k->spec->sni ? k->spec->sni
		       : k->req.name[0] ? k->req.name
					: addr_format(&k->req.dst, addr, sizeof(addr));

	if (k->res.tls_ns < 0)
		k->res.tls_ns = (int64_t)(clock_mono_ns() - k->t_tls);
	tls_conn_info(k->tls, name, &k->res.tls);
	if (k->res.tls.resumed && ss->used) {
		/* no certificate on a resumed session: the last full handshake's */
		struct check_tls got = k->res.tls;
		k->res.tls = ss->full;
		memcpy(k->res.tls.version, got.version, sizeof(got.version));
		memcpy(k->res.tls.cipher, got.cipher, sizeof(got.cipher));
		k->res.tls.resumed = true;
		ss->uses++;
		stat_add(&c->st.tls_resumed, 1);
	} else {
		ss->used = true;
		ss->target = k->req.target;
		ss->port = k->req.port;
		ss->full = k->res.tls;
		ss->uses = 0;
		ss->full_s = clock_real_ns() / NSEC_PER_SEC;
		stat_add(&c->st.tls_full, 1);
	}
	if (k->spec->verify && (!k->res.tls.verified || !k->res.tls.name_ok)) {
		k->res.cert_failed = 1;
		fail_now(c, k, now, "certificate %s: %s", !k->res.tls.verified ? "not verified" : "name mismatch",
			 k->res.tls.verify_error);
		return;
	}
	if (k->starttls) {
		k->starttls = 0;
		k->state = C_DIALOG;
		struct dialog_out out = { .p = k->out, .len = 0, .cap = OUT_CAP };
		enum dialog_next next = dialog_tls_up(&k->dialog, &out);
		k->out_len = out.len;
		k->out_off = 0;
		after_dialog(c, k, next, now);
		return;
	}
	begin_dialog(c, k, now);
}

/* After a failed handshake: were the server's first bytes a TLS record
 * (content type 20-24, version 3.x)? Not: the check fails with the
 * server's words (an HTTP error page, a plaintext greeting, the wrong
 * service) instead of the library's "unexpected packet": the bytes the
 * library read, then those it left in the socket. */
static bool not_tls(struct checker *c, struct conn *k, uint64_t now)
{
	const uint8_t *first;
	size_t n = tls_conn_first_bytes(k->tls, &first);
	uint8_t b[CHECK_TEXT_MAX];
	char words[CHECK_TEXT_MAX + 1];

	if (n == 0 || (first[0] >= 20 && first[0] <= 24 && (n < 2 || first[1] == 3)))
		return false;
	memcpy(b, first, n);
	ssize_t more = recv(k->fd, b + n, sizeof(b) - n, MSG_PEEK | MSG_DONTWAIT);
	if (more > 0)
		n += (size_t)more;
	check_text(words, (const char *)b, n);
	if (words[0])
		fail_now(c, k, now, "not TLS: %s", words);
	else
		fail_now(c, k, now, "not TLS: %zu bytes that are no TLS record", n);
	return true;
}

static void drive_tls(struct checker *c, struct conn *k, uint64_t now)
{
	char err[256] = "";
	enum tls_io r;

	r = tls_handshake(k->tls, err, sizeof(err));

	switch (r) {
	case TLS_IO_OK:
		tls_up(c, k, now);
		return;
	case TLS_IO_WANT_READ:
		set_events(c, k, WANT_IN);
		return;
	case TLS_IO_WANT_WRITE:
		set_events(c, k, WANT_OUT);
		return;
	case TLS_IO_CLOSED:
		if (!not_tls(c, k, now))
			fail_now(c, k, now, "TLS handshake: connection closed by the server");
		return;
	case TLS_IO_ERROR:
		if (not_tls(c, k, now))
			return;
		/* err is the library's "handshake: why" */
		fail_now(c, k, now, "TLS %s", err[0] ? err : "handshake failed");
		return;
	}
}

/* The trust store of a CA file (NULL: the system's), loaded once. */
static struct tls_ctx *ctx_for(struct checker *c, const char *file, const char **why)
{
	for (size_t i = 0; i < c->n_ca; i++)
		if ((!file && !c->ca[i].file) || (file && c->ca[i].file && strcmp(file, c->ca[i].file) == 0)) {
			*why = c->ca[i].err;
			return c->ca[i].ctx;
		}
	if (c->n_ca == MAX_CA) {
		*why = "too many CA files in use";
		return NULL;
	}
	struct ca_slot *s = &c->ca[c->n_ca++];
	s->file = file ? strdup(file) : NULL;
	if (tls_ctx_new(&s->ctx, file, s->err, sizeof(s->err)) < 0)
		s->ctx = NULL;
	*why = s->err;
	return s->ctx;
}

static void start_tls(struct checker *c, struct conn *k, uint64_t now, bool after_starttls)
{
	const char *why = "";
	struct tls_ctx *ctx = ctx_for(c, k->spec->ca_file, &why);
	const char *sni = k->spec->sni ? k->spec->sni : k->req.name[0] ? k->req.name : NULL;
	struct session_slot *ss = session_of(c, &k->req);
	const struct tls_session *resume = NULL;

	if (!ctx) {
		fail_now(c, k, now, "%s", why[0] ? why : "no TLS context");
		return;
	}
	if (ss->used && ss->s && c->cfg.full_every > 1 && ss->uses + 1u < c->cfg.full_every &&
	    clock_real_ns() / NSEC_PER_SEC - ss->full_s < FULL_EVERY_S)
		resume = ss->s;
	if (tls_conn_new(&k->tls, ctx, k->fd, sni, resume) < 0) {
		fail_now(c, k, now, "cannot start TLS: out of memory");
		return;
	}
	k->starttls = after_starttls;
	k->state = C_TLS;
	k->t_tls = clock_mono_ns();
	drive_tls(c, k, now);
}

static void on_connected(struct checker *c, struct conn *k, uint64_t now)
{
	int e = 0;
	socklen_t el = sizeof(e);

	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
		e = errno;
	if (e) {
		fail_now(c, k, now, "cannot connect: %s", e == ECONNREFUSED ? "refused" : strerror(e));
		return;
	}
	k->t_connected = clock_mono_ns();
	if (k->spec->kind == CHECK_CONNECT) {
		/* the handshake was the question */
		k->dialog.done = 1;
		k->dialog.v.ok = true;
		report(c, k, now);
		conn_free(c, k);
		return;
	}
	if (check_kind_implicit_tls(k->spec->kind)) {
		start_tls(c, k, now, false);
		return;
	}
	begin_dialog(c, k, now);
}

static void on_readable(struct checker *c, struct conn *k, uint64_t now)
{
	char err[256] = "";
	bool reset;

	for (;;) {
		int r = io_read(k, &reset, err, sizeof(err));
		if (r == 0)
			break;
		if (k->state == C_CLOSING) {
			if (r < 0) {
				conn_free(c, k); /* the server closed after our goodbye: done */
				return;
			}
			k->in_len = 0; /* its goodbye: not read */
			keep_session(c, k); /* a TLS 1.3 ticket may have come */
			continue;
		}
		if (r == -2) {
			fail_now(c, k, now, "%s", err);
			return;
		}
		if (r == -1) {
			if (!k->dialog.done && k->in_len) {
				feed(c, k, now); /* what came before the close first */
				if (k->state == C_FREE || k->dialog.done)
					goto closed;
			}
			dialog_closed(&k->dialog, k->in_len, reset);
		closed:
			if (k->state != C_FREE) {
				report(c, k, now);
				conn_free(c, k);
			}
			return;
		}
		feed(c, k, now);
		if (k->state == C_FREE || k->state != C_DIALOG)
			return;
	}
}

static void on_writable(struct checker *c, struct conn *k, uint64_t now)
{
	char err[256];
	bool blocked;

	if (!io_write(k, err, sizeof(err), &blocked)) {
		if (k->state == C_CLOSING)
			conn_free(c, k);
		else
			fail_now(c, k, now, "%s", err);
		return;
	}
	if (blocked)
		return;
	if (k->starttls == 2) {
		k->in_len = 0;
		start_tls(c, k, now, true);
		return;
	}
	if (k->state == C_CLOSING)
		conn_shut(k);
	set_events(c, k, WANT_IN);
}

static void on_event(struct checker *c, struct conn *k, uint32_t events, uint64_t now)
{
	switch (k->state) {
	case C_CONNECT:
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			on_connected(c, k, now);
		return;
	case C_TLS:
		drive_tls(c, k, now);
		return;
	case C_DIALOG:
	case C_CLOSING:
		if (events & EPOLLOUT)
			on_writable(c, k, now);
		if (k->state != C_FREE && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
			on_readable(c, k, now);
		return;
	}
}

static void on_deadline(struct checker *c, struct conn *k, uint64_t now)
{
	int64_t budget_ms = (int64_t)(k->deadline - k->t_start) / NSEC_PER_MSEC;

	c->step_work++;
	switch (k->state) {
	case C_CLOSING:
		conn_abort(c, k, now); /* it said goodbye on its side, or will never */
		return;
	case C_CONNECT:
		stat_add(&c->st.timeouts, 1);
		fail_now(c, k, now, "no answer to the connection within %lldms", (long long)budget_ms);
		return;
	case C_TLS:
		stat_add(&c->st.timeouts, 1);
		k->tls_timeout = 1;
		fail_now(c, k, now, "TLS handshake not finished within %lldms", (long long)budget_ms);
		return;
	default:
		stat_add(&c->st.timeouts, 1);
		dialog_timeout(&k->dialog, budget_ms, k->in_len);
		conn_abort(c, k, now);
		return;
	}
}

/* a's address and port as a sockaddr of family (the any address when a is
 * of another family: a source left to the kernel). Returns its length. */
static socklen_t sockaddr_of(struct sockaddr_storage *ss, int family, const struct sw_addr *a, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		if (a->family == AF_INET)
			v4->sin_addr = a->u.v4;
		return sizeof(*v4);
	}
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	v6->sin6_family = AF_INET6;
	v6->sin6_port = htons(port);
	if (a->family == AF_INET6)
		v6->sin6_addr = a->u.v6;
	return sizeof(*v6);
}

/* A source port from the range, one after the other: a host's consecutive
 * checks leave from different ports (the previous may be in TIME_WAIT). */
static int bind_port(struct checker *c, int fd, const struct check_req *r)
{
	unsigned span = (unsigned)c->cfg.port_hi - c->cfg.port_lo + 1;
	struct sockaddr_storage sa;

	for (unsigned tries = 0; tries < span && tries < 64; tries++) {
		uint16_t port = (uint16_t)(c->cfg.port_lo + c->next_port++ % span);
		socklen_t sl = sockaddr_of(&sa, r->dst.family, &r->src, port);
		if (bind(fd, (struct sockaddr *)&sa, sl) == 0)
			return port;
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EADDRINUSE;
}

static int64_t timeout_of(const struct check_req *r)
{
	return r->timeout_ns ? r->timeout_ns
	       : r->spec && r->spec->timeout_ns ? r->spec->timeout_ns
						: DEFAULT_TIMEOUT_NS;
}

enum may { MAY_START, MAY_NOT_HOST, MAY_NOT };

/* MAY_NOT_HOST: its host is at its limit (others may start); MAY_NOT: no
 * request may start now (slots, the rate, admission). */
static enum may may_start(struct checker *c, const struct check_req *r)
{
	if (c->n_free == 0 || (c->cfg.rate_per_s && c->tokens < 1))
		return MAY_NOT;
	if (c->n_active >= ADMIT_MIN && (c->n_active + 1) * c->cost_ns > ADMIT_SHARE * (double)timeout_of(r))
		return MAY_NOT;
	uint32_t h = host_find(c, &r->dst, false);
	return h == UINT32_MAX || c->hosts[h].n < c->cfg.max_per_host ? MAY_START : MAY_NOT_HOST;
}

/* The loop's time of a step (outside epoll_wait) toward its time per
 * connection; steps that only woke up idle do not count. */
static void account(struct checker *c, uint64_t busy, bool worked)
{
	if (worked)
		c->busy_ns += busy;
	if (c->ended >= COST_ENDED || c->busy_ns >= COST_BUSY_NS) {
		double sample = (double)c->busy_ns / (c->ended ? c->ended : 1);
		c->cost_ns += (sample - c->cost_ns) / 4;
		c->busy_ns = 0;
		c->ended = 0;
		stat_set(&c->st.cost, (uint64_t)c->cost_ns);
	}
}

#define CONNECT_TRIES 8 /* source ports tried when a 4-tuple is still taken */

enum open_step { OPEN_SOCKET, OPEN_BIND, OPEN_CONNECT };

/* A non-blocking socket from the next source port of the range, connecting
 * to r. Returns the socket, or -1 with *e the errno and *step the step that
 * failed. */
static int connect_from(struct checker *c, struct conn *k, const struct check_req *r, int *e, enum open_step *step)
{
	int fd = socket(r->dst.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	int one = 1;

	if (fd < 0) {
		*e = errno;
		*step = OPEN_SOCKET;
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->cfg.port_lo) {
		int p = bind_port(c, fd, r);
		if (p < 0) {
			*e = -p;
			*step = OPEN_BIND;
			close(fd);
			return -1;
		}
		k->res.sport = (uint16_t)p;
	}
	struct sockaddr_storage sa;
	socklen_t sl = sockaddr_of(&sa, r->dst.family, &r->dst, r->port);
	if (connect(fd, (struct sockaddr *)&sa, sl) < 0 && errno != EINPROGRESS) {
		*e = errno;
		*step = OPEN_CONNECT;
		close(fd);
		return -1;
	}
	return fd;
}

static void start(struct checker *c, const struct check_req *r, uint64_t now)
{
	uint32_t idx = c->free_list[--c->n_free];
	if (c->cfg.rate_per_s)
		c->tokens -= 1;
	struct conn *k = &c->conns[idx];
	uint8_t *in = k->in, *out = k->out;
	int fd, e = 0;

	memset(k, 0, sizeof(*k));
	k->in = in;
	k->out = out;
	k->fd = -1;
	k->req = *r;
	k->state = C_CONNECT;
	k->t_start = now;
	k->res.tls_ns = -1;
	c->n_active++;
	c->step_work++;
	uint32_t h = host_find(c, &r->dst, true);
	if (h != UINT32_MAX)
		c->hosts[h].n++;
	k->spec = r->spec; /* the request's reference, ours now */
	k->deadline = now + (uint64_t)timeout_of(r);
	heap_push(c, idx);
	stat_add(&c->st.started, 1);
	if (!k->spec) {
		fail_now(c, k, now, "no check to run");
		return;
	}
	/* bind succeeds on a port whose connection to this very server is
	 * still in TIME_WAIT (SO_REUSEADDR); connect then says EADDRNOTAVAIL:
	 * the next port, on a new socket */
	enum open_step step = OPEN_SOCKET;
	for (int tries = 0;; tries++) {
		fd = connect_from(c, k, r, &e, &step);
		if (fd >= 0 || !c->cfg.port_lo || step != OPEN_CONNECT || (e != EADDRNOTAVAIL && e != EADDRINUSE) ||
		    tries == CONNECT_TRIES)
			break;
	}
	if (fd < 0) {
		if (step == OPEN_BIND)
			fail_now(c, k, now, "no free source port in %u-%u: %s", c->cfg.port_lo, c->cfg.port_hi,
				 strerror(e));
		else if (step == OPEN_SOCKET)
			fail_now(c, k, now, "cannot open a socket: %s", strerror(e));
		else
			fail_now(c, k, now, "cannot connect: %s", e == ECONNREFUSED ? "refused" : strerror(e));
		return;
	}
	k->fd = fd;
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLRDHUP, .data.u32 = idx };
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		fail_now(c, k, now, "cannot watch the socket: %s", strerror(errno));
		return;
	}
	k->want = WANT_OUT;
}

/* Starts what the limits allow, in arrival order; a host at its limit
 * holds back only its own checks; once nothing may start, the rest waits
 * in order. */
static void take_requests(struct checker *c, uint64_t now)
{
	struct check_req batch[REQ_BATCH];
	size_t n;
	bool full = false; /* nothing more may start in this step */

	if (c->cfg.rate_per_s) {
		/* a bucket of a tenth of a second's connections */
		double cap = c->cfg.rate_per_s / 10.0 > 1 ? c->cfg.rate_per_s / 10.0 : 1;
		c->tokens += (double)(now - c->tokens_at) * c->cfg.rate_per_s / 1e9;
		if (c->tokens > cap)
			c->tokens = cap;
		c->tokens_at = now;
	}
	if (c->q_len && c->n_free) {
		size_t kept = 0;
		for (size_t i = 0; i < c->q_len; i++) {
			struct check_req *r = &c->queue[(c->q_head + i) % c->q_cap];
			if (full && kept == i) {
				kept = c->q_len; /* the rest stays where it is */
				break;
			}
			enum may m = full ? MAY_NOT : may_start(c, r);
			if (m == MAY_START) {
				struct check_req copy = *r;
				start(c, &copy, now);
			} else {
				full = m == MAY_NOT;
				if (kept < i)
					c->queue[(c->q_head + kept) % c->q_cap] = *r;
				kept++;
			}
		}
		c->q_len = kept;
	}
	while (c->reqs && c->q_len < c->q_cap &&
	       (n = ring_pop(c->reqs, batch, c->q_cap - c->q_len < REQ_BATCH ? c->q_cap - c->q_len : REQ_BATCH)) > 0) {
		for (size_t i = 0; i < n; i++) {
			enum may m = full ? MAY_NOT : may_start(c, &batch[i]);
			if (m == MAY_START) {
				start(c, &batch[i], now);
			} else {
				full = m == MAY_NOT;
				c->queue[(c->q_head + c->q_len) % c->q_cap] = batch[i];
				c->q_len++;
			}
		}
	}
	stat_set(&c->st.queued, c->q_len);
}

int checker_step(struct checker *c, struct ring *reqs, struct ring *results, int timeout_ms)
{
	struct epoll_event evs[128];
	uint64_t t0 = clock_mono_ns(), now = t0;
	uint64_t done_before = atomic_load_explicit(&c->st.done, memory_order_relaxed);

	c->reqs = reqs;
	c->results = results;
	c->step_work = 0;
	take_requests(c, now);
	if (c->heap_len) {
		uint64_t first = c->conns[c->heap[0]].deadline;
		int until = first > now ? (int)((first - now) / NSEC_PER_MSEC) + 1 : 0;
		if (until < timeout_ms)
			timeout_ms = until;
	}
	uint64_t t1 = clock_mono_ns();
	int n = epoll_wait(c->ep, evs, 128, timeout_ms);
	now = clock_mono_ns();
	for (int i = 0; i < n; i++) {
		struct conn *k = &c->conns[evs[i].data.u32];
		if (k->state != C_FREE)
			on_event(c, k, evs[i].events, now);
		if (c->cfg.test_slow_ns)
			clock_sleep_until(clock_mono_ns() + (uint64_t)c->cfg.test_slow_ns);
	}
	while (c->heap_len && c->conns[c->heap[0]].deadline <= now)
		on_deadline(c, &c->conns[c->heap[0]], now);
	account(c, t1 - t0 + clock_mono_ns() - now, n > 0 || c->step_work);
	stat_set(&c->st.in_flight, c->cfg.max_in_flight - c->n_free);
	stat_set(&c->st.active, c->n_active);
	return (int)(atomic_load_explicit(&c->st.done, memory_order_relaxed) - done_before);
}

static void *run(void *arg)
{
	struct checker *c = arg;

	while (!thread_loop_stopping(&c->loop))
		checker_step(c, c->reqs, c->results, 10);
	/* what is in flight or waiting ends now, with a verdict each */
	uint64_t now = clock_mono_ns();
	while (c->q_len) {
		struct check_req r = c->queue[c->q_head];
		c->q_head = (c->q_head + 1) % c->q_cap;
		c->q_len--;
		struct check_result res = { .target = r.target, .seq = r.seq, .ts_real_ns = clock_real_ns(),
					    .connect_ns = -1, .tls_ns = -1, .kind = r.spec ? r.spec->kind : 0 };
		check_fail(&res.v, "stopped before it started");
		check_spec_unref(r.spec);
		while (c->results && ring_push(c->results, &res, 1) != 1)
			clock_sleep_until(clock_mono_ns() + 100 * 1000);
	}
	for (size_t i = 0; i < c->cfg.max_in_flight; i++) {
		struct conn *k = &c->conns[i];
		if (k->state == C_FREE)
			continue;
		if (k->state == C_CLOSING)
			conn_free(c, k);
		else
			fail_now(c, k, now, "stopped before a verdict");
	}
	return NULL;
}

int checker_start(struct checker *c, struct ring *reqs, struct ring *results)
{
	c->reqs = reqs;
	c->results = results;
	return thread_loop_start(&c->loop, run, c, "sw-checker");
}

void checker_stop(struct checker *c)
{
	if (c)
		thread_loop_stop(&c->loop);
}

void checker_get_stats(const struct checker *c, struct checker_stats *out)
{
	*out = (struct checker_stats){
		.started = atomic_load_explicit(&c->st.started, memory_order_relaxed),
		.done = atomic_load_explicit(&c->st.done, memory_order_relaxed),
		.ok = atomic_load_explicit(&c->st.ok, memory_order_relaxed),
		.failed = atomic_load_explicit(&c->st.failed, memory_order_relaxed),
		.timeouts = atomic_load_explicit(&c->st.timeouts, memory_order_relaxed),
		.tls_full = atomic_load_explicit(&c->st.tls_full, memory_order_relaxed),
		.tls_resumed = atomic_load_explicit(&c->st.tls_resumed, memory_order_relaxed),
		.queued_now = atomic_load_explicit(&c->st.queued, memory_order_relaxed),
		.in_flight_now = atomic_load_explicit(&c->st.in_flight, memory_order_relaxed),
		.active_now = atomic_load_explicit(&c->st.active, memory_order_relaxed),
		.conn_cost_ns = atomic_load_explicit(&c->st.cost, memory_order_relaxed),
	};
}

int checker_new(struct checker **out, const struct checker_config *cfg, char *err, size_t errlen)
{
	struct checker *c = calloc(1, sizeof(*c));
	int r = -ENOMEM;

	*out = NULL;
	if (!c)
		goto nomem;
	c->ep = -1;
	c->cfg = *cfg;
	if (!c->cfg.max_in_flight)
		c->cfg.max_in_flight = DEFAULT_IN_FLIGHT;
	if (!c->cfg.max_per_host)
		c->cfg.max_per_host = DEFAULT_PER_HOST;
	if (!c->cfg.full_every)
		c->cfg.full_every = DEFAULT_FULL_EVERY;
	if (!c->cfg.linger_ns)
		c->cfg.linger_ns = DEFAULT_LINGER_NS;
	c->cost_ns = COST_INIT_NS;
	c->st.cost = (uint64_t)COST_INIT_NS;
	if (c->cfg.port_hi < c->cfg.port_lo) {
		snprintf(err, errlen, "source ports %u-%u: the range is empty", c->cfg.port_lo, c->cfg.port_hi);
		r = -EINVAL;
		goto fail;
	}
	size_t n = c->cfg.max_in_flight;
	c->conns = calloc(n, sizeof(*c->conns));
	c->free_list = calloc(n, sizeof(*c->free_list));
	c->heap = calloc(n, sizeof(*c->heap));
	c->hosts_cap = 2 * n + 1;
	c->hosts = calloc(c->hosts_cap, sizeof(*c->hosts));
	c->q_cap = 4 * n;
	c->queue = calloc(c->q_cap, sizeof(*c->queue));
	c->sessions = calloc(SESSION_SLOTS, sizeof(*c->sessions));
	if (!c->conns || !c->free_list || !c->heap || !c->hosts || !c->queue || !c->sessions)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		c->conns[i].fd = -1;
		c->conns[i].in = malloc(IN_CAP);
		c->conns[i].out = malloc(OUT_CAP);
		if (!c->conns[i].in || !c->conns[i].out)
			goto nomem;
		c->free_list[c->n_free++] = (uint32_t)(n - 1 - i);
	}
	/* the system's trust store now, not in the first check's time */
	const char *why;
	ctx_for(c, NULL, &why);
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create an epoll instance: %s", strerror(errno));
		goto fail;
	}
	*out = c;
	return 0;
nomem:
	r = -ENOMEM;
	snprintf(err, errlen, "cannot set up the checker: %s", strerror(ENOMEM));
fail:
	checker_free(c);
	return r;
}

void checker_free(struct checker *c)
{
	if (!c)
		return;
	checker_stop(c);
	for (size_t i = 0; c->conns && i < c->cfg.max_in_flight; i++) {
		if (c->conns[i].state != C_FREE) {
			if (c->conns[i].fd >= 0)
				close(c->conns[i].fd);
			tls_conn_free(c->conns[i].tls);
			check_spec_unref(c->conns[i].spec);
		}
		free(c->conns[i].in);
		free(c->conns[i].out);
	}
	for (size_t i = 0; c->queue && i < c->q_len; i++)
		check_spec_unref(c->queue[(c->q_head + i) % c->q_cap].spec);
	for (size_t i = 0; c->sessions && i < SESSION_SLOTS; i++)
		tls_session_free(c->sessions[i].s);
	for (size_t i = 0; i < c->n_ca; i++) {
		tls_ctx_free(c->ca[i].ctx);
		free(c->ca[i].file);
	}
	if (c->ep >= 0)
		close(c->ep);
	free(c->conns);
	free(c->free_list);
	free(c->heap);
	free(c->hosts);
	free(c->queue);
	free(c->sessions);
	free(c);
}
