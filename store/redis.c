/* The Redis writer thread: takes records out of the backlog, a batch at a
 * time, and writes them to Redis; writes the prober's heartbeat; reads
 * runtime targets. Nothing else waits for it: when Redis is slow or away
 * the backlog grows (and spills to its file).
 *
 * Exactly once, in order: every record carries a sequence number, and each
 * batch goes out as
 *     MULTI, the records' commands, SET P seq:PROBER LAST, EXEC
 * in one write. The transaction applies whole or not at all, so after any
 * failure (the connection dropped before the answer came, Redis was killed
 * and restarted from its AOF) the writer reconnects, reads seq:PROBER and
 * skips what Redis already has. Two batches are in flight (write_some), the
 * second one held before its EXEC until the first is known applied. Replies
 * are counted by reply functions that allocate nothing (hiredis's own
 * allocate an object per reply), and records go out straight from the
 * batch with sendmsg: no copy into hiredis's output buffer.
 *
 * Connection states are logged when they change, not per attempt; retries
 * back off from 100 ms to 5 s. A refusal that a new connection would not
 * cure (OOM, a schema Redis holds that is not ours, an ACL that forbids a
 * command) keeps the connection and retries the same batch. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/thread.h"
#include "scheduler/shard.h"
#include "scheduler/table.h"
#include "store/backlog.h"
#include "store/redis-conn.h"
#include "store/redis-fmt.h"
#include "store/redis.h"
#include "store/runtime.h"
#include "store/store.h"
#include "store/schema.h"

#define BACKOFF_MIN_NS (100 * NSEC_PER_MSEC)
#define BACKOFF_MAX_NS (5 * NSEC_PER_SEC)
#define CONNECT_TIMEOUT_S 2
#define IO_TIMEOUT_S 5
#define IDLE_WAIT_NS (50 * NSEC_PER_MSEC)
#define RUNTIME_REREAD_NS (10 * NSEC_PER_SEC)
/* A batch: hundreds of records per round trip, few enough that Redis
 * (single-threaded, blocking other clients during EXEC) answers in
 * milliseconds. Not more: Redis keeps every argument of a queued command
 * as an object until EXEC runs and frees it, a result queues dozens of
 * them, and in larger transactions they have left the CPU caches by then:
 * Redis then spends more per record, not less (bench/redis-bench.c; the
 * figures in bench/NOTES.md#redis-transactions-of-256-records). Two
 * transactions in flight keep the round trips hidden either way. */
#define BATCH_ITEMS 256
#define BATCH_BYTES (1u << 20)

/* Why the link is not up, for logging a change once. */
enum why {
	WHY_NONE,
	WHY_CONNECT,  /* no connection (refused, timeout, no such socket) */
	WHY_SENTINEL, /* no sentinel named a master */
	WHY_AUTH,     /* AUTH failed or the server wants one */
	WHY_SCHEMA,   /* P schema is not ours */
	WHY_REPLICA,  /* the server is a replica (a failover is under way) */
	WHY_REFUSED,  /* the server refuses writes (OOM, MISCONF, LOADING, NOPERM...) */
	WHY_IO,       /* the connection broke */
};

enum link { LINK_INIT, LINK_UP, LINK_DOWN };

/* The errors among the replies of one pipeline, noted as hiredis parses them. */
struct sink {
	unsigned top_errors;   /* top-level errors: a command was not queued, EXECABORT */
	unsigned exec_errors;  /* errors inside EXEC's array: a command failed, the rest applied */
	char error[160];       /* the first top-level error */
	char exec_error[160];  /* the first error inside EXEC */
};

enum tx_state {
	TX_FREE,
	TX_TAKEN, /* records taken from the backlog, not on the wire */
	TX_OPEN,  /* MULTI and the commands sent, not EXEC */
	TX_SENT,  /* EXEC (or DISCARD) sent too */
};

struct tx {
	struct bl_batch b;
	enum tx_state st;
	unsigned ncmds; /* on the wire: the records' commands */
};

struct redis_writer {
	struct redis_writer_config cfg;
	struct backlog *bl;
	pthread_t thread;
	bool running;
	_Atomic bool stop;
	_Atomic bool abort;
	_Atomic uint64_t stop_deadline;   /* monotonic ns, set before stop */

	redisContext *c;                  /* NULL: not connected */
	redisContext *sub;                /* runtime channel subscriber */
	redisReplyObjectFunctions *default_fn;
	redisReplyObjectFunctions sink_fn;
	struct sink sink;
	pthread_mutex_t conn_lock;        /* guards cur_fd, shut down by redis_writer_stop */
	int cur_fd;
	char where[300];                  /* the server: "host:port" or a socket path */

	struct tx tx[2];                  /* taken, not yet acknowledged; tx[head] is the older */
	int head;
	uint64_t acked_seq;               /* Redis has every record up to this one */
	char seq_cmd[512];

	enum link link;
	uint64_t down_since, backlog_said; /* monotonic: the link went down; the backlog was last told */
	enum why why;
	uint64_t backoff_ns, next_try;
	uint64_t exec_errors_logged_at;

	pthread_mutex_t status_lock;
	struct store_status status;
	char *per_target;           /* the heartbeat's metrics_per_target (JSON), under status_lock */
	bool status_fresh;
	struct bl_stage hb;

	pthread_mutex_t rt_lock;
	struct runtime_set rt_set;
	_Atomic bool rt_fresh;
	char *rt_canon;                   /* the hash as last read, fields sorted */
	size_t rt_canon_len;
	bool rt_dirty;                    /* a message came: read again */
	uint64_t next_rt_read;
	char rt_error[200];

	pthread_mutex_t mb_lock;
	struct shard_members members;     /* the last list read, handed over when it changed */
	bool members_known;
	_Atomic bool members_fresh;
	char mb_error[200];

	_Atomic uint64_t written, batches, skipped, inflight;
	_Atomic int64_t left;             /* after the stop: records in the spill file */
	_Atomic bool connected;
	_Atomic bool status_fresh_hint;   /* cheap check for control_due */
};

/* ---- replies without allocation ---- */

static char reply_obj; /* what the sink functions return: hiredis wants non-NULL */

static void sink_note(const redisReadTask *t, const char *str, size_t len)
{
	struct sink *s = t->privdata;
	char *dst = t->parent ? s->exec_error : s->error;

	if (t->parent)
		s->exec_errors++;
	else
		s->top_errors++;
	if (!dst[0]) {
		size_t n = len < 159 ? len : 159;
		memcpy(dst, str, n);
		dst[n] = '\0';
	}
}

static void *sink_string(const redisReadTask *t, char *str, size_t len)
{
	if (t->type == REDIS_REPLY_ERROR)
		sink_note(t, str, len);
	return &reply_obj;
}

static void *sink_array(const redisReadTask *t, int n)
{
	(void)t;
	(void)n;
	return &reply_obj;
}

static void *sink_integer(const redisReadTask *t, long long v)
{
	(void)t;
	(void)v;
	return &reply_obj;
}

static void *sink_nil(const redisReadTask *t)
{
	(void)t;
	return &reply_obj;
}

static void sink_free(void *obj)
{
	(void)obj;
}

/* ---- logging the link ---- */

__attribute__((format(printf, 4, 5))) static void link_down(struct redis_writer *w, enum why why, bool lost,
							     const char *fmt, ...)
{
	char reason[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (w->link == LINK_DOWN && w->why == why)
		return;
	if (why == WHY_REFUSED || why == WHY_SCHEMA)
		log_warn("redis: %s refuses writes: %s; buffering", w->cfg.url_text, reason);
	else if (w->link == LINK_UP && lost)
		log_warn("redis: lost connection to %s: %s; buffering", w->cfg.url_text, reason);
	else
		log_warn("redis: cannot connect to %s: %s; retrying", w->cfg.url_text, reason);
	if (w->link != LINK_DOWN)
		w->down_since = clock_mono_ns();
	w->link = LINK_DOWN;
	w->why = why;
	atomic_store(&w->connected, false);
}

/* While Redis is away or refuses: how much waits for it, and where, after
 * BACKLOG_FIRST_NS, then every BACKLOG_EVERY_NS, so that a spill file that
 * grows is no surprise. */
#define BACKLOG_FIRST_NS (5 * NSEC_PER_SEC)
#define BACKLOG_EVERY_NS (60 * NSEC_PER_SEC)

static void say_backlog(struct redis_writer *w, uint64_t now)
{
	struct backlog_stats bs;
	struct stat sb;

	if (w->link != LINK_DOWN || now < w->down_since + BACKLOG_FIRST_NS ||
	    (w->backlog_said > w->down_since && now < w->backlog_said + BACKLOG_EVERY_NS))
		return;
	w->backlog_said = now;
	backlog_get_stats(w->bl, &bs);
	double mb = stat(backlog_path(w->bl), &sb) == 0 ? (double)sb.st_size / 1e6 : 0;
	char lost[96] = "", dropped[96] = "";
	if (bs.lost)
		snprintf(lost, sizeof(lost), "; %llu lost: the spill file could not be written",
			 (unsigned long long)bs.lost);
	if (bs.dropped)
		snprintf(dropped, sizeof(dropped), "; %llu results dropped at the spill limit (%.1f MB)",
			 (unsigned long long)bs.dropped, (double)bs.file_limit / 1e6);
	log_warn("redis: %s away for %llus: %llu results waiting, %llu of them in '%s' (%.1f MB)%s%s",
		 w->cfg.url_text, (unsigned long long)((now - w->down_since) / NSEC_PER_SEC),
		 (unsigned long long)bs.records, (unsigned long long)bs.spilled, backlog_path(w->bl), mb, lost,
		 dropped);
}

static void link_up(struct redis_writer *w)
{
	if (w->link == LINK_UP)
		return;
	if (w->link == LINK_DOWN && (w->why == WHY_REFUSED || w->why == WHY_SCHEMA) && w->c)
		log_info("redis: %s accepts writes again", w->cfg.url_text);
	else if (w->cfg.url.kind == REDIS_URL_SENTINEL)
		log_info("redis: connected to %s (master at %s)", w->cfg.url_text, w->where);
	else
		log_info("redis: connected to %s", w->cfg.url_text);
	w->link = LINK_UP;
	w->why = WHY_NONE;
	atomic_store(&w->connected, true);
}

static void backoff(struct redis_writer *w)
{
	w->next_try = clock_mono_ns() + w->backoff_ns;
	w->backoff_ns = w->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : w->backoff_ns * 2;
}

/* ---- connections ---- */

static void close_ctx(struct redis_writer *w)
{
	pthread_mutex_lock(&w->conn_lock);
	w->cur_fd = -1;
	redisFree(w->c);
	w->c = NULL;
	pthread_mutex_unlock(&w->conn_lock);
	redisFree(w->sub);
	w->sub = NULL;
}

/* A command on a control path (not per record): hiredis's own replies. */
static redisReply *command(redisContext *c, int argc, const char **argv)
{
	return redisCommandArgv(c, argc, argv, NULL);
}

static bool reply_is(const redisReply *r, int type)
{
	return r && r->type == type;
}

static enum why why_of_connect(int r)
{
	switch (r) {
	case -EACCES:
		return WHY_AUTH;
	case -EHOSTUNREACH:
		return WHY_SENTINEL;
	case -EAGAIN:
		return WHY_REPLICA;
	default:
		return WHY_CONNECT;
	}
}

/* Connects (through the sentinels to the master), authenticates, selects
 * the database (store/redis-conn.c). */
static redisContext *connect_server(struct redis_writer *w, enum why *why, char *reason, size_t rlen)
{
	struct timeval io = { IO_TIMEOUT_S, 0 };
	redisContext *c;
	int r = redis_connect(&c, &w->cfg.url, CONNECT_TIMEOUT_S * 1000, reason, rlen);

	if (r < 0) {
		static const char said[] = "cannot connect to redis at ";
		const char *colon = strstr(reason, ": ");
		*why = why_of_connect(r);
		/* our line names the URL already */
		if (strncmp(reason, said, sizeof(said) - 1) == 0 && colon)
			memmove(reason, colon + 2, strlen(colon + 2) + 1);
		if (r == -EACCES)
			snprintf(reason + strlen(reason), rlen - strlen(reason),
				 " (check the user and password in the URL)");
		return NULL;
	}
	redisSetTimeout(c, io);
	if (c->connection_type == REDIS_CONN_TCP) {
		redisEnableKeepAlive(c);
		if (strchr(c->tcp.host, ':'))
			snprintf(w->where, sizeof(w->where), "[%s]:%d", c->tcp.host, c->tcp.port);
		else
			snprintf(w->where, sizeof(w->where), "%s:%d", c->tcp.host, c->tcp.port);
	} else {
		snprintf(w->where, sizeof(w->where), "%s", c->unix_sock.path);
	}
	return c;
}

/* Sorts an error reply into a why: what a reconnect could cure and what
 * it could not. */
static enum why classify(const char *err)
{
	if (strncmp(err, "NOAUTH", 6) == 0 || strncmp(err, "WRONGPASS", 9) == 0)
		return WHY_AUTH;
	if (strncmp(err, "READONLY", 8) == 0)
		return WHY_REPLICA;
	return WHY_REFUSED;
}

static const char *why_hint(enum why why)
{
	switch (why) {
	case WHY_AUTH:
		return " (the server wants a password: give user:password@ or ?password= in the URL)";
	case WHY_REPLICA:
		return " (the server is a replica now)";
	default:
		return "";
	}
}

/* Claims or checks P schema, reads P seq:PROBER. */
static int prepare(struct redis_writer *w, redisContext *c, enum why *why, char *reason, size_t rlen)
{
	const struct rfmt_config *f = &w->cfg.fmt;
	char version_key[SCHEMA_KEY_MAX], seq_key[SCHEMA_KEY_MAX];
	const char *claim[] = { "SET", version_key, SCHEMA_VERSION, "NX" };
	const char *get_schema[] = { "GET", version_key };
	const char *get_seq[] = { "GET", seq_key };
	redisReply *r = NULL;
	uint64_t seq = 0;
	int ret = -EIO;

	schema_key(version_key, sizeof(version_key), f->prefix, SCHEMA_SCHEMA, NULL, NULL);
	schema_key(seq_key, sizeof(seq_key), f->prefix, SCHEMA_SEQ, f->prober, NULL);
	if (!(r = command(c, 4, claim)) || r->type == REDIS_REPLY_ERROR)
		goto out;
	freeReplyObject(r);
	if (!(r = command(c, 2, get_schema)) || r->type == REDIS_REPLY_ERROR)
		goto out;
	if (r->type != REDIS_REPLY_STRING || !schema_is_ours(r->str)) {
		*why = WHY_SCHEMA;
		snprintf(reason, rlen,
			 "'%.200s' is '%.40s', this synwatch writes schema " SCHEMA_VERSION " (docs/redis.md)",
			 version_key, r->type == REDIS_REPLY_STRING ? r->str : "not a string");
		ret = -EPROTO;
		goto done;
	}
	freeReplyObject(r);
	if (!(r = command(c, 2, get_seq)) || r->type == REDIS_REPLY_ERROR)
		goto out;
	if (r->type == REDIS_REPLY_STRING)
		seq = strtoull(r->str, NULL, 10);
	ret = 0;
	if (seq > w->acked_seq) {
		struct backlog_stats bs;
		backlog_get_stats(w->bl, &bs);
		if (seq > bs.last_seq)
			/* not ours to skip: another prober with our id, or the clock went back */
			log_warn("redis: '%s' is %llu, past every record of this prober (%llu): another prober uses "
				 "the id '%s', or the clock went back; writing everything",
				 seq_key, (unsigned long long)seq, (unsigned long long)bs.last_seq, f->prober);
		else
			w->acked_seq = seq;
	}
	goto done;
out:
	if (!r) {
		*why = WHY_IO;
		snprintf(reason, rlen, "%s", c->errstr);
	} else {
		*why = classify(r->str);
		snprintf(reason, rlen, "%s%s", r->str, why_hint(*why));
		ret = -EPROTO;
	}
done:
	freeReplyObject(r);
	return ret;
}

static void subscribe(struct redis_writer *w)
{
	char channel[SCHEMA_KEY_MAX], reason[600] = "";
	const char *argv[] = { "SUBSCRIBE", channel };
	enum why why;
	redisReply *r = NULL;

	if (!w->cfg.runtime)
		return;
	schema_key(channel, sizeof(channel), w->cfg.fmt.prefix, SCHEMA_RUNTIME, NULL, NULL);
	if ((w->sub = connect_server(w, &why, reason, sizeof(reason))))
		r = command(w->sub, 2, argv);
	if (!reply_is(r, REDIS_REPLY_ARRAY)) {
		log_debug("redis: cannot subscribe to '%s': %s; reading runtime targets every %d s", channel,
			  r && r->type == REDIS_REPLY_ERROR ? r->str : w->sub && w->sub->err ? w->sub->errstr : reason,
			  (int)(RUNTIME_REREAD_NS / NSEC_PER_SEC));
		redisFree(w->sub);
		w->sub = NULL;
	}
	freeReplyObject(r);
}

/* Connects, checks the schema and learns what Redis has. */
static int open_link(struct redis_writer *w)
{
	char reason[600] = "";
	enum why why = WHY_CONNECT;
	redisContext *c = connect_server(w, &why, reason, sizeof(reason));

	if (!c || prepare(w, c, &why, reason, sizeof(reason)) < 0) {
		redisFree(c);
		link_down(w, why, false, "%s", reason);
		return -EIO;
	}
	w->default_fn = c->reader->fn;
	pthread_mutex_lock(&w->conn_lock);
	w->c = c;
	w->cur_fd = c->fd;
	pthread_mutex_unlock(&w->conn_lock);
	subscribe(w);
	w->rt_dirty = true;
	link_up(w);
	return 0;
}

/* ---- pipelines ---- */

static int send_all(int fd, struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	while (m.msg_iovlen > 0) {
		/* MSG_NOSIGNAL: a closed connection is an error, not SIGPIPE */
		ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		while (m.msg_iovlen > 0 && (size_t)k >= m.msg_iov->iov_len) {
			k -= (ssize_t)m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen > 0) {
			m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + k;
			m.msg_iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* Writes iov. -EIO (reason says why) or 0. */
static int send_iov(struct redis_writer *w, struct iovec *iov, int niov, char *reason, size_t rlen)
{
	int r = send_all(w->c->fd, iov, niov);

	if (r < 0) {
		snprintf(reason, rlen, "%s", r == -EAGAIN ? "timed out" : strerror(-r));
		return -EIO;
	}
	return 0;
}

/* Counts the next n replies into w->sink. -EIO (the connection is gone,
 * reason says why) or 0. */
static int read_replies(struct redis_writer *w, unsigned n, char *reason, size_t rlen)
{
	void *reply;
	int r = 0;

	memset(&w->sink, 0, sizeof(w->sink));
	w->c->reader->fn = &w->sink_fn;
	w->c->reader->privdata = &w->sink;
	for (unsigned i = 0; i < n && r == 0; i++) {
		if (redisGetReply(w->c, &reply) != REDIS_OK) {
			snprintf(reason, rlen, "%s", w->c->err == REDIS_ERR_EOF ? "the server closed the connection"
				 : w->c->errstr[0] ? w->c->errstr : "read failed");
			r = -EIO;
		}
	}
	w->c->reader->fn = w->default_fn;
	return r;
}

static void lose_link(struct redis_writer *w, enum why why, const char *reason)
{
	/* whatever was on the wire may or may not have been applied: after
	 * the reconnect seq:PROBER tells */
	for (int i = 0; i < 2; i++)
		if (w->tx[i].st != TX_FREE)
			w->tx[i].st = TX_TAKEN;
	close_ctx(w);
	link_down(w, why, true, "%s", reason);
	backoff(w);
}

/* SET P seq:PROBER SEQ, as RESP. */
static size_t seq_command(struct redis_writer *w, uint64_t seq)
{
	char key[SCHEMA_KEY_MAX], num[24];
	int kn = (int)strlen(schema_key(key, sizeof(key), w->cfg.fmt.prefix, SCHEMA_SEQ, w->cfg.fmt.prober, NULL));
	int nn = snprintf(num, sizeof(num), "%llu", (unsigned long long)seq);
	int n = snprintf(w->seq_cmd, sizeof(w->seq_cmd), "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kn, key, nn,
			 num);

	return n > 0 && (size_t)n < sizeof(w->seq_cmd) ? (size_t)n : 0;
}

/* The records of a transaction as the writer has them. */
static size_t tx_count(const struct tx *t)
{
	return t->st == TX_FREE ? 0 : bl_batch_count(&t->b);
}

static void tx_fill(struct redis_writer *w, struct tx *t, int64_t wait_ns)
{
	bl_batch_clear(&t->b);
	if (backlog_take(w->bl, &t->b, w->acked_seq, BATCH_BYTES, BATCH_ITEMS, wait_ns) > 0)
		t->st = TX_TAKEN;
	atomic_store(&w->inflight, tx_count(&w->tx[0]) + tx_count(&w->tx[1]));
}

/* MULTI, the records, SET P seq:PROBER LAST and, when commit, EXEC. The
 * records Redis has already (a retry after a reconnect) are left out;
 * with none left the transaction is done. */
static int tx_send(struct redis_writer *w, struct tx *t, bool commit)
{
	static char multi[] = "*1\r\n$5\r\nMULTI\r\n", exec[] = "*1\r\n$4\r\nEXEC\r\n";
	struct bl_batch *b = &t->b;
	size_t before = bl_batch_count(b);
	char reason[300];

	bl_batch_skip_upto(b, w->acked_seq);
	atomic_fetch_add(&w->skipped, before - bl_batch_count(b));
	if (!bl_batch_count(b)) {
		t->st = TX_FREE;
		return 0;
	}
	const struct bl_item *first = &b->items[b->first];
	t->ncmds = 0;
	for (size_t i = b->first; i < b->n; i++)
		t->ncmds += b->items[i].ncmds;
	struct iovec iov[] = {
		{ multi, sizeof(multi) - 1 },
		{ b->data + first->off, b->len - first->off },
		{ w->seq_cmd, seq_command(w, b->items[b->n - 1].seq) },
		{ exec, sizeof(exec) - 1 },
	};
	if (send_iov(w, iov, commit ? 4 : 3, reason, sizeof(reason)) < 0) {
		lose_link(w, WHY_IO, reason);
		return -EIO;
	}
	t->st = commit ? TX_SENT : TX_OPEN;
	return 0;
}

/* Ends an open transaction with EXEC or DISCARD. */
static int tx_end(struct redis_writer *w, struct tx *t, bool commit)
{
	static char exec[] = "*1\r\n$4\r\nEXEC\r\n", discard[] = "*1\r\n$7\r\nDISCARD\r\n";
	struct iovec iov = commit ? (struct iovec){ exec, sizeof(exec) - 1 }
				  : (struct iovec){ discard, sizeof(discard) - 1 };
	char reason[300];

	if (send_iov(w, &iov, 1, reason, sizeof(reason)) < 0) {
		lose_link(w, WHY_IO, reason);
		return -EIO;
	}
	t->st = TX_SENT;
	return 0;
}

/* Reads the answers to a transaction sent whole (MULTI, the commands, SET,
 * EXEC or DISCARD). 0: applied; -EPROTO: refused, nothing applied (and
 * the writer backs off); -EIO: the connection is gone. */
static int tx_read(struct redis_writer *w, struct tx *t)
{
	char reason[300];

	if (read_replies(w, t->ncmds + 3, reason, sizeof(reason)) < 0) {
		lose_link(w, WHY_IO, reason);
		return -EIO;
	}
	if (w->sink.top_errors) {
		/* a command was not queued: EXECABORT, nothing was applied */
		enum why why = classify(w->sink.error);
		t->st = TX_TAKEN;
		if (why == WHY_AUTH || why == WHY_REPLICA) {
			snprintf(reason, sizeof(reason), "%s%s", w->sink.error, why_hint(why));
			lose_link(w, why, reason);
		} else {
			link_down(w, why, true, "%s", w->sink.error);
			backoff(w);
		}
		return -EPROTO;
	}
	if (w->sink.exec_errors) {
		/* applied, but for the commands that failed: retrying would repeat the rest */
		uint64_t now = clock_mono_ns();
		if (!w->exec_errors_logged_at || now - w->exec_errors_logged_at > 60 * NSEC_PER_SEC) {
			log_warn("redis: %u command(s) of a batch failed: %s (a key of another type in the way?); the "
				 "rest was written",
				 w->sink.exec_errors, w->sink.exec_error);
			w->exec_errors_logged_at = now;
		}
	}
	w->acked_seq = t->b.items[t->b.n - 1].seq;
	atomic_fetch_add(&w->written, bl_batch_count(&t->b));
	atomic_fetch_add(&w->batches, 1);
	t->st = TX_FREE;
	bl_batch_clear(&t->b);
	return 0;
}

static bool control_due(struct redis_writer *w);

/* Two transactions in flight hide the round trip: while Redis executes
 * the older one, the next is already queued in its MULTI, and gets its
 * EXEC only once the older one is known applied (DISCARD otherwise), so a
 * refused batch can never be overtaken by the one after it. */
static void write_some(struct redis_writer *w, bool stop)
{
	struct tx *a = &w->tx[w->head], *b = &w->tx[!w->head];

	if (a->st == TX_TAKEN && tx_send(w, a, true) < 0)
		return;
	if (a->st == TX_FREE) {
		/* nothing in flight: the older slot is the other one now */
		if (b->st != TX_FREE)
			w->head = !w->head;
		return;
	}
	/* a is on the wire: queue the next behind it, unless the heartbeat or
	 * the runtime targets need the connection to themselves */
	if (b->st == TX_FREE && !control_due(w) && !stop)
		tx_fill(w, b, 0);
	if (b->st == TX_TAKEN && tx_send(w, b, false) < 0)
		return;
	if (tx_read(w, a) == -EIO)
		return;
	if (a->st == TX_FREE) {
		w->backoff_ns = BACKOFF_MIN_NS;
		link_up(w);
		if (b->st == TX_OPEN && tx_end(w, b, true) < 0)
			return;
		w->head = !w->head;
	} else if (b->st == TX_OPEN) {
		/* a was refused: b must not overtake it */
		if (tx_end(w, b, false) == 0 && tx_read(w, b) != -EIO)
			b->st = TX_TAKEN;
	}
	atomic_store(&w->inflight, tx_count(a) + tx_count(b));
}

/* ---- members of the location (sharding) ---- */

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The reply's members and ours (our heartbeat may not have landed yet),
 * sorted and distinct. Returns 0 or -ENOMEM. */
static int members_of(const redisReply *r, const char *self, struct shard_members *out)
{
	size_t n = 0;

	out->ids = calloc(r->elements + 1, sizeof(*out->ids));
	if (!out->ids)
		return -ENOMEM;
	for (size_t i = 0; i < r->elements; i++)
		if (reply_is(r->element[i], REDIS_REPLY_STRING) && !(out->ids[n++] = strdup(r->element[i]->str)))
			goto nomem;
	if (!(out->ids[n++] = strdup(self)))
		goto nomem;
	qsort(out->ids, n, sizeof(*out->ids), id_cmp);
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (out->n && strcmp(out->ids[out->n - 1], out->ids[i]) == 0)
			free(out->ids[i]);
		else
			out->ids[out->n++] = out->ids[i];
	}
	return 0;
nomem:
	out->n = n;
	shard_members_release(out);
	return -ENOMEM;
}

/* ZRANGEBYSCORE P members:LOC (now - live) +inf, after each heartbeat;
 * hands the list over when it changed. */
static void members_read(struct redis_writer *w)
{
	char key[SCHEMA_KEY_MAX], min[32];
	const char *argv[] = { "ZRANGEBYSCORE", key, min, "+inf" };
	struct shard_members m = { 0 };
	redisReply *r;

	schema_key(key, sizeof(key), w->cfg.fmt.prefix, SCHEMA_MEMBERS, w->cfg.fmt.location, NULL);
	snprintf(min, sizeof(min), "(%lld", (long long)(clock_real_ns() / NSEC_PER_MSEC - STORE_MEMBER_LIVE_MS));
	if (!(r = command(w->c, 4, argv))) {
		lose_link(w, WHY_IO, w->c->errstr);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		const char *what = r->type == REDIS_REPLY_ERROR ? r->str : "not a sorted set";
		if (strcmp(w->mb_error, what) != 0) {
			snprintf(w->mb_error, sizeof(w->mb_error), "%s", what);
			log_warn("redis: cannot read the members of '%s' from '%s': %s; keeping the last share",
				 w->cfg.fmt.location, key, w->mb_error);
		}
		goto out;
	}
	w->mb_error[0] = '\0';
	if (members_of(r, w->cfg.fmt.prober, &m) < 0)
		goto out;
	pthread_mutex_lock(&w->mb_lock);
	if (!w->members_known || !shard_members_equal(&m, &w->members)) {
		shard_members_release(&w->members);
		w->members = m;
		memset(&m, 0, sizeof(m));
		w->members_known = true;
		atomic_store(&w->members_fresh, true);
	}
	pthread_mutex_unlock(&w->mb_lock);
out:
	shard_members_release(&m);
	freeReplyObject(r);
}

bool redis_writer_take_members(struct redis_writer *w, struct shard_members *out)
{
	struct shard_members copy = { 0 };
	bool ok = true;

	if (!atomic_load(&w->members_fresh))
		return false;
	pthread_mutex_lock(&w->mb_lock);
	/* a copy: the writer compares the next read with the list it keeps */
	copy.ids = calloc(w->members.n ? w->members.n : 1, sizeof(*copy.ids));
	for (size_t i = 0; copy.ids && i < w->members.n && ok; i++)
		ok = (copy.ids[copy.n++] = strdup(w->members.ids[i])) != NULL;
	if (copy.ids && ok)
		atomic_store(&w->members_fresh, false);
	pthread_mutex_unlock(&w->mb_lock);
	if (!copy.ids || !ok) {
		shard_members_release(&copy);
		return false; /* out of memory: try again at the next call */
	}
	*out = copy;
	return true;
}

/* ---- heartbeat ---- */

static void heartbeat(struct redis_writer *w)
{
	struct backlog_stats bs;
	struct store_status st;
	char reason[300], *per_target;
	bool fresh;
	int r;

	pthread_mutex_lock(&w->status_lock);
	fresh = w->status_fresh;
	st = w->status;
	per_target = w->per_target ? strdup(w->per_target) : NULL;
	w->status_fresh = false;
	atomic_store(&w->status_fresh_hint, false);
	pthread_mutex_unlock(&w->status_lock);
	if (!fresh) {
		free(per_target);
		return;
	}
	backlog_get_stats(w->bl, &bs);
	char problem[300];
	int64_t problem_ns = log_last_problem(problem, sizeof(problem));
	struct rfmt_heartbeat h = {
		.st = &st, .host = w->cfg.host, .version = w->cfg.version, .started_s = w->cfg.started_s,
		.now_ms = clock_real_ns() / NSEC_PER_MSEC, .rate = w->cfg.rate,
		.backlog = bs.records + tx_count(&w->tx[0]) + tx_count(&w->tx[1]), .spilled = bs.spilled,
		.per_target = per_target,
		.spill_bytes = bs.file_bytes, .spill_max = bs.file_limit, .dropped = bs.dropped,
		.problem = problem, .problem_ms = problem_ns / NSEC_PER_MSEC,
	};
	bl_stage_clear(&w->hb);
	r = rfmt_heartbeat(&w->hb, &w->cfg.fmt, &h);
	free(per_target);
	if (r < 0 || w->hb.n != 1)
		return;
	struct bl_frame fr;
	memcpy(&fr, w->hb.buf, sizeof(fr));
	struct iovec iov = { w->hb.buf + sizeof(fr), fr.len };
	if (send_iov(w, &iov, 1, reason, sizeof(reason)) < 0 || read_replies(w, fr.ncmds, reason, sizeof(reason)) < 0)
		lose_link(w, WHY_IO, reason);
	else if (w->sink.top_errors)
		log_debug("redis: heartbeat: %s", w->sink.error);
	else if (w->cfg.fmt.shard)
		members_read(w);
}

/* ---- runtime targets ---- */

struct pair {
	const redisReply *field, *value;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	size_t n = x->field->len < y->field->len ? x->field->len : y->field->len;
	int c = memcmp(x->field->str, y->field->str, n);

	return c ? c : (x->field->len > y->field->len) - (x->field->len < y->field->len);
}

/* The hash as one canonical text: sorted, length-prefixed fields and values. */
static char *canonical(struct pair *p, size_t n, size_t *len)
{
	size_t total = 0, o = 0;
	char *out;

	if (n)
		qsort(p, n, sizeof(*p), pair_cmp);
	for (size_t i = 0; i < n; i++)
		total += 2 * 24 + p[i].field->len + p[i].value->len;
	if (!(out = malloc(total ? total : 1)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const redisReply *part[] = { p[i].field, p[i].value };
		for (int k = 0; k < 2; k++) {
			o += (size_t)snprintf(out + o, 24, "%zu:", part[k]->len);
			memcpy(out + o, part[k]->str, part[k]->len);
			o += part[k]->len;
		}
	}
	*len = o;
	return out;
}

/* The entries of the hash key into the table's hands. */
static void runtime_deliver(struct redis_writer *w, const char *key, struct pair *p, size_t n)
{
	struct runtime_set set = { .v = calloc(n ? n : 1, sizeof(*set.v)) };
	char err[300];

	if (!set.v)
		return;
	for (size_t i = 0; i < n; i++) {
		int r = runtime_parse(&set.v[set.n], p[i].field->str, p[i].field->len, p[i].value->str, p[i].value->len,
				      err, sizeof(err));
		if (r == 0)
			set.n++;
		else
			log_warn("runtime target '%.*s' in '%s' left out: %s", (int)p[i].field->len,
				 p[i].field->str, key, r == -ENOMEM ? "out of memory" : err);
	}
	pthread_mutex_lock(&w->rt_lock);
	runtime_set_release(&w->rt_set);
	w->rt_set = set;
	atomic_store(&w->rt_fresh, true);
	pthread_mutex_unlock(&w->rt_lock);
}

/* HGETALL P runtime:targets; hands the entries over when they changed. */
static void runtime_read(struct redis_writer *w)
{
	char key[SCHEMA_KEY_MAX];
	const char *argv[] = { "HGETALL", key };
	struct pair *p = NULL;
	redisReply *r;
	char *canon;
	size_t n = 0, len = 0;

	schema_key(key, sizeof(key), w->cfg.fmt.prefix, SCHEMA_RUNTIME_TARGETS, NULL, NULL);
	if (!(r = command(w->c, 2, argv))) {
		lose_link(w, WHY_IO, w->c->errstr);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		const char *what = r->type == REDIS_REPLY_ERROR ? r->str : "not a hash";
		if (strcmp(w->rt_error, what) != 0) {
			snprintf(w->rt_error, sizeof(w->rt_error), "%s", what);
			log_warn("redis: cannot read runtime targets from '%s': %s", key, w->rt_error);
		}
		freeReplyObject(r);
		return;
	}
	w->rt_error[0] = '\0';
	if (r->elements && !(p = calloc(r->elements / 2, sizeof(*p))))
		goto out;
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (reply_is(r->element[i], REDIS_REPLY_STRING) && reply_is(r->element[i + 1], REDIS_REPLY_STRING))
			p[n++] = (struct pair){ r->element[i], r->element[i + 1] };
	if (!(canon = canonical(p, n, &len)))
		goto out;
	if (len == w->rt_canon_len && memcmp(canon, w->rt_canon ? w->rt_canon : "", len) == 0) {
		free(canon);
		goto out;
	}
	free(w->rt_canon);
	w->rt_canon = canon;
	w->rt_canon_len = len;
	runtime_deliver(w, key, p, n);
	log_info("redis: runtime targets changed: %zu entr%s in '%s'", n, n == 1 ? "y" : "ies", key);
out:
	free(p);
	freeReplyObject(r);
}

/* Messages on the channel (any message means: read the hash again). */
static void runtime_messages(struct redis_writer *w)
{
	struct pollfd pf = { .fd = w->sub ? w->sub->fd : -1, .events = POLLIN };
	void *reply;

	if (!w->sub || poll(&pf, 1, 0) <= 0)
		return;
	if (redisBufferRead(w->sub) != REDIS_OK) {
		redisFree(w->sub);
		w->sub = NULL;
	}
	while (w->sub && redisGetReplyFromReader(w->sub, &reply) == REDIS_OK && reply) {
		freeReplyObject(reply);
		w->rt_dirty = true;
	}
}

static bool runtime_due(struct redis_writer *w)
{
	if (!w->cfg.runtime)
		return false;
	runtime_messages(w);
	return w->rt_dirty || clock_mono_ns() >= w->next_rt_read;
}

/* Reads the runtime targets when a message came or every RUNTIME_REREAD_NS. */
static void runtime_poll(struct redis_writer *w)
{
	if (!runtime_due(w))
		return;
	w->rt_dirty = false;
	w->next_rt_read = clock_mono_ns() + RUNTIME_REREAD_NS;
	if (!w->sub)
		subscribe(w);
	runtime_read(w);
}

/* The heartbeat or the runtime targets want the connection. */
static bool control_due(struct redis_writer *w)
{
	return atomic_load(&w->status_fresh_hint) || runtime_due(w);
}

/* ---- the thread ---- */

static bool stopping(struct redis_writer *w, uint64_t now)
{
	return atomic_load(&w->stop) && now >= atomic_load(&w->stop_deadline);
}

static void nap(struct redis_writer *w, uint64_t until)
{
	uint64_t now = clock_mono_ns(), cap = now + 20 * NSEC_PER_MSEC;

	if (atomic_load(&w->stop) && atomic_load(&w->stop_deadline) < until)
		until = atomic_load(&w->stop_deadline);
	clock_sleep_until(until < cap ? until : cap);
}

static bool in_flight(const struct redis_writer *w)
{
	return w->tx[0].st >= TX_OPEN || w->tx[1].st >= TX_OPEN;
}

static void *writer_main(void *arg)
{
	struct redis_writer *w = arg;
	struct backlog_stats bs;
	int64_t left;

	w->backoff_ns = BACKOFF_MIN_NS;
	for (;;) {
		uint64_t now = clock_mono_ns();
		bool stop = atomic_load(&w->stop);
		struct tx *a = &w->tx[w->head];

		if (atomic_load(&w->abort) || stopping(w, now))
			break;
		say_backlog(w, now);
		if (!w->c) {
			if (now < w->next_try) {
				nap(w, w->next_try);
				continue;
			}
			if (open_link(w) < 0)
				backoff(w);
			continue;
		}
		if (!in_flight(w)) {
			heartbeat(w);
			if (w->c)
				runtime_poll(w);
			if (!w->c)
				continue;
			if (a->st == TX_FREE && w->tx[!w->head].st == TX_FREE) {
				tx_fill(w, a, stop ? 0 : IDLE_WAIT_NS);
				if (a->st == TX_FREE) {
					if (stop)
						break;
					w->backoff_ns = BACKOFF_MIN_NS;
					continue;
				}
			}
			if (now < w->next_try) {
				/* a refused batch waits for its retry */
				nap(w, w->next_try);
				continue;
			}
		}
		write_some(w, stop);
	}
	close_ctx(w);
	const struct bl_batch *unsent[] = { &w->tx[w->head].b, &w->tx[!w->head].b };
	size_t n_unsent = (w->tx[w->head].st != TX_FREE) + (w->tx[!w->head].st != TX_FREE);
	if (w->tx[w->head].st == TX_FREE)
		unsent[0] = unsent[1];
	left = backlog_persist(w->bl, unsent, n_unsent);
	backlog_get_stats(w->bl, &bs);
	if (left < 0)
		log_error("redis: cannot keep the %llu records not written in the spill file '%s': %s; they are lost",
			  (unsigned long long)(bs.records + tx_count(&w->tx[0]) + tx_count(&w->tx[1])),
			  backlog_path(w->bl), strerror((int)-left));
	else if (left > 0)
		log_warn("redis: %lld records not written yet are kept in '%s' for the next start", (long long)left,
			 backlog_path(w->bl));
	for (int i = 0; i < 2; i++) {
		bl_batch_clear(&w->tx[i].b);
		w->tx[i].st = TX_FREE;
	}
	atomic_store(&w->inflight, 0);
	atomic_store(&w->left, left);
	return NULL;
}

int redis_writer_new(struct redis_writer **out, const struct redis_writer_config *c, struct backlog *bl)
{
	struct redis_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->cfg = *c;
	w->bl = bl;
	w->cur_fd = -1;
	w->sink_fn = (redisReplyObjectFunctions){
		.createString = sink_string,
		.createArray = sink_array,
		.createInteger = sink_integer,
		.createNil = sink_nil,
		.freeObject = sink_free,
	};
	pthread_mutex_init(&w->conn_lock, NULL);
	pthread_mutex_init(&w->status_lock, NULL);
	pthread_mutex_init(&w->rt_lock, NULL);
	pthread_mutex_init(&w->mb_lock, NULL);
	*out = w;
	return 0;
}

int redis_writer_start(struct redis_writer *w)
{
	int r = thread_start(&w->thread, writer_main, w, "sw-redis");

	if (r < 0)
		return r;
	w->running = true;
	return 0;
}

void redis_writer_stop(struct redis_writer *w)
{
	struct timespec ts;

	if (!w || !w->running)
		return;
	atomic_store(&w->stop_deadline, clock_mono_ns() + (uint64_t)w->cfg.flush_ns);
	atomic_store(&w->stop, true);
	backlog_wake(w->bl);
	/* a write or read stuck on a hung server: cut it off after the flush time */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(w->cfg.flush_ns / NSEC_PER_SEC) + 1;
	if (pthread_timedjoin_np(w->thread, NULL, &ts) != 0) {
		atomic_store(&w->abort, true);
		pthread_mutex_lock(&w->conn_lock);
		if (w->cur_fd >= 0)
			shutdown(w->cur_fd, SHUT_RDWR);
		pthread_mutex_unlock(&w->conn_lock);
		pthread_join(w->thread, NULL);
	}
	w->running = false;
}

void redis_writer_free(struct redis_writer *w)
{
	if (!w)
		return;
	redis_writer_stop(w);
	close_ctx(w);
	bl_batch_release(&w->tx[0].b);
	bl_batch_release(&w->tx[1].b);
	bl_stage_release(&w->hb);
	runtime_set_release(&w->rt_set);
	free(w->rt_canon);
	pthread_mutex_destroy(&w->conn_lock);
	pthread_mutex_destroy(&w->status_lock);
	pthread_mutex_destroy(&w->rt_lock);
	pthread_mutex_destroy(&w->mb_lock);
	shard_members_release(&w->members);
	free(w->per_target);
	free(w);
}

void redis_writer_set_status(struct redis_writer *w, const struct store_status *s, const char *per_target)
{
	pthread_mutex_lock(&w->status_lock);
	if (per_target && (!w->per_target || strcmp(w->per_target, per_target))) {
		char *copy = strdup(per_target);
		if (copy) { /* else the last one stays */
			free(w->per_target);
			w->per_target = copy;
		}
	}
	w->status = *s;
	w->status_fresh = true;
	atomic_store(&w->status_fresh_hint, true);
	pthread_mutex_unlock(&w->status_lock);
}

bool redis_writer_take_runtime(struct redis_writer *w, struct runtime_set *out)
{
	if (!atomic_load(&w->rt_fresh))
		return false;
	pthread_mutex_lock(&w->rt_lock);
	*out = w->rt_set;
	memset(&w->rt_set, 0, sizeof(w->rt_set));
	atomic_store(&w->rt_fresh, false);
	pthread_mutex_unlock(&w->rt_lock);
	return true;
}

void redis_writer_get_stats(struct redis_writer *w, struct store_redis_stats *out)
{
	struct backlog_stats bs;

	backlog_get_stats(w->bl, &bs);
	*out = (struct store_redis_stats){
		.written = atomic_load(&w->written),
		.batches = atomic_load(&w->batches),
		.skipped = atomic_load(&w->skipped),
		.backlog = bs.records + atomic_load(&w->inflight),
		.spilled = bs.spilled,
		.lost = bs.lost,
		.dropped = bs.dropped,
		.spill_bytes = bs.file_bytes,
		.left = atomic_load(&w->left) > 0 ? (uint64_t)atomic_load(&w->left) : 0,
		.connected = atomic_load(&w->connected),
	};
}
