/* synwatch-alert: reads P events with a consumer group and tells people.
 *
 *   synwatch-alert -c alert.yaml [--redis URL] [--prefix P] [--name CONSUMER] [--check] [-v|-q]
 *
 * The policy is tools/alert/alert-engine.c, the channels tools/alert/alert-channel.c;
 * this file is the process: the connections, the consumer group, taking
 * over what crashed alerters left unacknowledged, the loop that waits on
 * Redis and on the deliveries at once (libcurl's poll with the stream
 * connection's socket as an extra descriptor), reconnecting, signals.
 *
 * Two connections: one blocks in XREADGROUP, the other does the
 * bookkeeping, so that deciding never waits for the next event.
 * Exit status: 0 on SIGTERM/SIGINT, 1 when Redis cannot be reached at
 * start, 2 for bad usage or a bad configuration (one line on stderr). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <hiredis.h>
#include <sodium.h>

#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/num.h"
#include "tools/alert/alert-book.h"
#include "tools/alert/alert-channel.h"
#include "tools/alert/alert-config.h"
#include "tools/alert/alert-engine.h"
#include "tools/lib/stream.h"
#include "tools/lib/stopsig.h"
#include "store/schema.h"
#include "store/redis-conn.h"

#define CONNECT_TIMEOUT_MS 5000
#define READ_COUNT 100
#define READ_BLOCK_MS 1000
#define STATUS_EVERY_NS (5 * NSEC_PER_SEC)
#define STATUS_TTL "30"
#define DRAIN_NS (5 * NSEC_PER_SEC)
#define HELD_MAX 4096 /* events in hand at most */
#define CLAIM_ROUNDS 10

struct alerter {
	struct alert_config cfg;
	const char *url;
	char url_text[600];
	char name[300];                 /* the consumer: HOST:PID */
	char host[256];
	struct stream_group sg;         /* P events, our group, our name */
	redisContext *rd;               /* XREADGROUP */
	struct alert_book book;         /* bookkeeping, acks */
	struct alert_outbox *o;
	struct alert_engine *en;
	bool reading;                   /* an XREADGROUP is on its way */
	int64_t status_at, claim_at;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: synwatch-alert -c FILE [--redis URL] [--prefix P] [--name CONSUMER] [--check] [-v|-q]\n"
	    "  -c, --config FILE  routing rules and channels (docs/alerting.md)\n"
	    "      --redis URL    overrides the file and $SYNWATCH_REDIS\n"
	    "      --prefix P     key prefix (default: the file's, else synwatch:)\n"
	    "      --name NAME    consumer name in the group (default HOST:PID)\n"
	    "      --check        check the file, print a line saying so and exit\n"
	    "  -v, --verbose      debug logging\n"
	    "  -q, --quiet        warnings and errors only\n"
	    "  -h, --help         this help\n"
	    "Exit: 0 after SIGTERM or SIGINT, 1 Redis unreachable at start, 2 bad usage or configuration.\n");
}

/* ---- Redis ---- */

static void on_ack(void *ctx, const char *entry)
{
	struct alerter *al = ctx;

	/* a lost ack is redone: the entry comes back and is found done */
	stream_ack(al->book.c, &al->sg, &entry, 1);
}

static void disconnect(struct alerter *al)
{
	if (al->rd)
		redisFree(al->rd);
	if (al->book.c)
		redisFree(al->book.c);
	al->rd = al->book.c = NULL;
	al->reading = false;
}

static int connect_both(void *ctx, char *err, size_t errlen)
{
	struct alerter *al = ctx;
	int r;

	if ((r = redis_connect_url(&al->rd, al->url, CONNECT_TIMEOUT_MS, err, errlen)) < 0 ||
	    (r = redis_connect_url(&al->book.c, al->url, CONNECT_TIMEOUT_MS, err, errlen)) < 0 ||
	    (r = schema_check(al->book.c, al->cfg.redis_prefix, al->url_text, err, errlen)) < 0) {
		disconnect(al);
		return r;
	}
	if ((r = stream_group_create(al->book.c, &al->sg, err, errlen)) < 0)
		disconnect(al);
	return r;
}

/* A consumer of this host whose process is gone: its entries are ours
 * now, at once (other hosts' wait for claim_idle). */
static bool dead_here(const struct alerter *al, const char *consumer)
{
	const char *colon = strrchr(consumer, ':');
	uint64_t pid;

	if (!colon || (size_t)(colon - consumer) != strlen(al->host) ||
	    strncmp(consumer, al->host, strlen(al->host)))
		return false;
	if (num_parse_uint(colon + 1, 1, INT32_MAX, &pid) < 0 || pid == (uint64_t)getpid())
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void take_over_if_dead(void *ctx, const struct stream_consumer *sc)
{
	struct alerter *al = ctx;
	size_t n;

	if (!dead_here(al, sc->name))
		return;
	n = stream_take_over(al->book.c, &al->sg, sc->name);
	log_info("took over %zu unacknowledged event%s of '%s', which is gone", n, n == 1 ? "" : "s", sc->name);
}

static void take_over_dead(struct alerter *al)
{
	stream_consumers(al->book.c, &al->sg, take_over_if_dead, al);
}

static int claimed(void *ctx, const redisReply *entries)
{
	struct alerter *al = ctx;

	if (entries->elements)
		log_info("took over %zu event%s idle for %lld", entries->elements, entries->elements == 1 ? "" : "s",
			 (long long)(al->cfg.claim_idle_ns / NSEC_PER_MSEC));
	return alert_engine_entries(al->en, entries, NULL, 0);
}

/* Entries idle for claim_idle, whoever holds them (an alerter on another
 * host that died), and ours kept fresh so that nobody takes them. */
static int claim_idle(struct alerter *al)
{
	const char *ids[HELD_MAX];

	stream_claim_ids(al->book.c, &al->sg, ids, alert_engine_entries_held(al->en, ids, HELD_MAX));
	return stream_claim_idle(al->book.c, &al->sg, al->cfg.claim_idle_ns / NSEC_PER_MSEC, CLAIM_ROUNDS, claimed,
				 al);
}

static void write_status(struct alerter *al)
{
	char key[SCHEMA_KEY_MAX], now[24], jobs[24], pending[24];
	const char *argv[4 + 2 * 4 * ALERT_MAX_CHANNELS + 8];
	char vals[ALERT_MAX_CHANNELS][4][96];
	int n = 0;

	snprintf(now, sizeof(now), "%lld", (long long)(clock_real_ns() / NSEC_PER_MSEC));
	snprintf(jobs, sizeof(jobs), "%zu", alert_engine_jobs(al->en));
	snprintf(pending, sizeof(pending), "%zu", alert_outbox_pending(al->o));
	argv[n++] = "HSET";
	argv[n++] = schema_key(key, sizeof(key), al->cfg.redis_prefix, SCHEMA_ALERTER, al->name, NULL);
	argv[n++] = "heartbeat", argv[n++] = now;
	argv[n++] = "events_in_hand", argv[n++] = jobs;
	argv[n++] = "deliveries", argv[n++] = pending;
	for (size_t ch = 0; ch < al->cfg.n_channels; ch++) {
		const struct alert_channel_stats *st = alert_outbox_stats(al->o, ch);
		const char *name = al->cfg.channels[ch].name;
		snprintf(vals[ch][0], 96, "%s.sent", name);
		snprintf(vals[ch][1], 96, "%llu", (unsigned long long)st->sent);
		snprintf(vals[ch][2], 96, "%s.failed", name);
		snprintf(vals[ch][3], 96, "%llu/%llu/%s", (unsigned long long)st->failed,
			 (unsigned long long)st->given_up, st->failing ? "failing" : "ok");
		for (int k = 0; k < 4; k++)
			argv[n++] = vals[ch][k];
	}
	freeReplyObject(redis_command(al->book.c, n, argv));
	const char *expire[] = { "EXPIRE", key, STATUS_TTL };
	freeReplyObject(redis_command(al->book.c, 3, expire));
}

/* ---- the stream ---- */

static int send_read(struct alerter *al, int block_ms)
{
	if (stream_read_send(al->rd, &al->sg, block_ms > 0 ? block_ms : 1) < 0)
		return -EIO;
	al->reading = true;
	return 0;
}

static int got_read(struct alerter *al, redisReply *rep)
{
	const redisReply *entries;
	int r = 0;

	al->reading = false;
	if (rep->type == REDIS_REPLY_ERROR) {
		log_error("redis XREADGROUP: %s", rep->str);
		return -EIO;
	}
	if ((entries = stream_read_entries(rep)))
		r = alert_engine_entries(al->en, entries, NULL, 0);
	/* our own unacknowledged entries first, until there are none */
	stream_read_done(&al->sg, entries);
	return r;
}

static int read_ready(struct alerter *al)
{
	void *rep = NULL;
	int r;

	if (redisBufferRead(al->rd) != REDIS_OK)
		return -EIO;
	if (redisGetReplyFromReader(al->rd, &rep) != REDIS_OK)
		return -EIO;
	if (!rep)
		return 0;
	r = got_read(al, rep);
	freeReplyObject(rep);
	return r;
}

/* ---- the loop ---- */

/* Everything in memory goes; Redis holds what matters. */
static int reconnect(struct alerter *al)
{
	const char *why = al->book.err[0] ? al->book.err : al->rd && al->rd->errstr[0] ? al->rd->errstr : "?";

	log_error("redis at %s failed: %s; reconnecting to read the unacknowledged events again",
		  al->url_text, why);
	disconnect(al);
	alert_outbox_clear(al->o);
	alert_engine_reset(al->en);
	if (redis_retry(connect_both, al, &stopsig_stop) < 0)
		return -EINTR;
	al->book.err[0] = '\0';
	log_info("redis at %s is back", al->url_text);
	stream_restart(&al->sg);
	return 0;
}

static int run(struct alerter *al)
{
	uint64_t drain_until = 0;

	stream_restart(&al->sg);
	while (!stopsig_stop || (alert_outbox_pending(al->o) && clock_mono_ns() < drain_until)) {
		int64_t now = clock_real_ns();
		int wait, r = 0;

		stopsig_hup();
		if (stopsig_stop && !drain_until)
			drain_until = clock_mono_ns() + DRAIN_NS;
		if ((wait = alert_engine_tick(al->en)) < 0)
			r = wait;
		if (r == 0 && now >= al->claim_at) {
			al->claim_at = now + al->cfg.claim_idle_ns / 4;
			r = claim_idle(al);
		}
		if (r == 0 && now >= al->status_at) {
			al->status_at = now + STATUS_EVERY_NS;
			write_status(al);
		}
		/* a bounded number of events in hand: slow channels slow the reading */
		if (r == 0 && !al->reading && !stopsig_stop && alert_engine_jobs(al->en) < HELD_MAX)
			r = send_read(al, al->sg.pending ? 1 : (wait < READ_BLOCK_MS ? wait : READ_BLOCK_MS));
		if (r == 0) {
			r = alert_outbox_poll(al->o, al->reading ? al->rd->fd : -1, wait > 0 ? wait : 1);
			if (r == 1)
				r = read_ready(al);
		}
		if (r < 0 && r != -ENOMEM && !stopsig_stop && (r = reconnect(al)) == -EINTR)
			break;
		if (r == -ENOMEM) {
			log_error("out of memory");
			return 1;
		}
	}
	if (alert_outbox_pending(al->o))
		log_warn("stopping with %zu deliveries unfinished: their events stay unacknowledged and are "
			 "told again",
			 alert_outbox_pending(al->o));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "redis", required_argument, NULL, 'r' },
		{ "prefix", required_argument, NULL, 'p' }, { "name", required_argument, NULL, 'n' },
		{ "check", no_argument, NULL, 'k' },        { "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },        { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *url = NULL, *prefix = NULL, *name = NULL;
	struct alerter al = { 0 };
	bool check = false;
	char err[1024];
	int c, r;

	log_set_program("synwatch-alert");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'r': url = optarg; break;
		case 'p': prefix = optarg; break;
		case 'n': name = optarg; break;
		case 'k': check = true; break;
		case 'v': log_level_current = LOG_DEBUG; break;
		case 'q': log_level_current = LOG_WARN; break;
		case 'h': usage(stdout); return 0;
		default: cli_die_option(c, argv);
		}
	}
	cli_no_operands(argc, argv);
	if (!path)
		cli_die_usage("no configuration: give -c FILE (docs/alerting.md)");
	if (alert_config_load(&al.cfg, path, err, sizeof(err)) < 0)
		cli_die_usage("%s", err);
	if (check) {
		printf("%s: ok, %zu channels, %zu routes\n", path, al.cfg.n_channels, al.cfg.n_routes);
		alert_config_release(&al.cfg);
		return 0;
	}
	if (prefix) {
		if (schema_check_prefix(prefix, err, sizeof(err)) < 0)
			cli_die_usage("--prefix: %s", err);
		free(al.cfg.redis_prefix);
		if (!(al.cfg.redis_prefix = strdup(prefix)))
			cli_die_usage("out of memory");
	}
	al.url = url ? url : getenv("SYNWATCH_REDIS") ? getenv("SYNWATCH_REDIS") : al.cfg.redis_url;
	if (redis_url_text(al.url, al.url_text, sizeof(al.url_text), err, sizeof(err)) < 0)
		cli_die_usage("%s", err);
	stream_hostname(al.host, sizeof(al.host));
	if (name)
		snprintf(al.name, sizeof(al.name), "%s", name);
	else
		snprintf(al.name, sizeof(al.name), "%s:%ld", al.host, (long)getpid());
	stream_group_init(&al.sg, al.cfg.redis_prefix, al.cfg.consumer_group, al.name, READ_COUNT);
	if (book_init(&al.book, NULL, al.cfg.redis_prefix, al.cfg.consumer_group) < 0)
		cli_die_usage("redis_prefix and consumer_group are too long together");

	r = CLI_EXIT_RUNTIME;
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("cannot initialize libsodium or libcurl");
		goto out;
	}
	if (connect_both(&al, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	stopsig_install("synwatch-alert");
	if (alert_outbox_new(&al.o, &al.cfg) < 0 ||
	    alert_engine_new(&al.en, &al.cfg, &al.book, al.o, on_ack, &al) < 0) {
		log_error("out of memory");
		goto out;
	}
	take_over_dead(&al);
	log_info("reading %s as '%s' in group '%s' at %s: %zu channels, %zu routes", al.sg.stream, al.name,
		 al.cfg.consumer_group, al.url_text, al.cfg.n_channels, al.cfg.n_routes);
	r = run(&al);
out:
	alert_engine_free(al.en);
	alert_outbox_free(al.o);
	disconnect(&al);
	alert_config_release(&al.cfg);
	curl_global_cleanup();
	return r;
}
