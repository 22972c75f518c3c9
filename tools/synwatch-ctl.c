/* synwatch-ctl: the on-call's command line to what the probers keep in
 * Redis (docs/redis.md). Reads go through tools/lib/fleetview.h, the few writes
 * (runtime targets, silences) through their documented keys.
 *
 *   synwatch-ctl [--redis URL] [--prefix P] [--json] COMMAND ...
 *     add TARGET [--group G] [--name N] [--label K=V]... [--interval DUR]
 *     remove TARGET
 *     show TARGET [--location L] [--results N] [--minutes M]
 *     list [--state S] [--location L] [--limit N]
 *     silence add MATCHER... --for DUR [--comment TEXT]
 *     silence list
 *     silence remove ID
 *     probers
 *
 * Exit status: 0 done, 1 Redis unreachable or the thing asked for is not
 * there, 2 bad usage (one line on stderr naming what is wrong). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "common/addr.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/columns.h"
#include "common/json.h"
#include "common/log.h"
#include "common/num.h"
#include "tools/lib/fleetview.h"
#include "store/schema.h"
#include "store/redis-conn.h"
#include "tools/lib/silence.h"

#define DEFAULT_URL "unix:///run/synwatch/redis.sock"
#define TIMEOUT_MS 5000
#define MAX_LABELS 32
#define RESULTS_SCANNED "2000" /* newest results looked through for one target */
#define MAX_PROBERS 1000
#define SILENCE_MAX_NS (366LL * 86400 * NSEC_PER_SEC) /* silence add --for */
#define HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."
#define LABEL_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

struct ctl {
	const char *url;
	char url_text[600];
	const char *prefix;
	bool json;
	struct fleetview *fv;  /* reads */
	redisContext *c;       /* writes */
	struct fv_arena a;
	struct buf out;     /* --json output */
};

enum { EXIT_OK, EXIT_FAIL = CLI_EXIT_RUNTIME, EXIT_USAGE = CLI_EXIT_USAGE };

__attribute__((format(printf, 2, 3))) static int fail(int code, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_error("%s", line);
	return code;
}

/* What getopt_long refused (c ':': an option without its value) among the
 * options of command cmd ("" for those before the command). */
static int bad_option(const char *cmd, int c, char **argv)
{
	const char *sep = *cmd ? ": " : "";

	if (c == ':')
		return fail(EXIT_USAGE, "%s%soption '%s' needs a value", cmd, sep, argv[optind - 1]);
	return fail(EXIT_USAGE, "%s%sunknown option '%s'%s", cmd, sep, argv[optind - 1], *cmd ? "" : " (see --help)");
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: synwatch-ctl [--redis URL] [--prefix P] [--json] COMMAND ...\n"
	    "  --redis URL           the probers' Redis\n"
	    "  --prefix P            key prefix (default " SCHEMA_DEFAULT_PREFIX ")\n"
	    "  --json                print JSON instead of tables\n"
	    "  -h, --help            this help\n"
	    "Commands:\n"
	    "  add TARGET [--group G] [--name N] [--label K=V]... [--interval DUR]\n"
	    "                        watch TARGET (IP:PORT, CIDR:PORT, HOSTNAME:PORT) from now on\n"
	    "  remove TARGET         stop watching a target added with add\n"
	    "  show TARGET [--location L] [--results N] [--minutes M]\n"
	    "                        state, recent results and latency per minute\n"
	    "  list [--state S] [--location L] [--limit N]\n"
	    "                        targets by state (up, degraded, down, flapping, unknown)\n"
	    "  silence add MATCHER... --for DUR [--comment TEXT]\n"
	    "                        hold back alerts matching team=dba, criticality!=low, target=IP:PORT,\n"
	    "                        host=IP, location=fra1, name=~REGEX ... for DUR\n"
	    "  silence list | silence remove ID\n"
	    "  probers               the probers, their heartbeat and load\n"
	    "URL: --redis, else $SYNWATCH_REDIS, else " DEFAULT_URL "\n");
}

/* ---- connections ---- */

static int open_reader(struct ctl *ctl)
{
	char err[700];

	if (ctl->fv)
		return 0;
	if (fleetview_open(&ctl->fv, ctl->url, ctl->prefix, TIMEOUT_MS, err, sizeof(err)) < 0)
		return fail(EXIT_FAIL, "%s", err);
	return 0;
}

static int open_writer(struct ctl *ctl)
{
	char err[700];

	if (ctl->c)
		return 0;
	if (redis_connect_url(&ctl->c, ctl->url, TIMEOUT_MS, err, sizeof(err)) < 0 ||
	    schema_check(ctl->c, ctl->prefix, ctl->url_text, err, sizeof(err)) < 0)
		return fail(EXIT_FAIL, "%s", err);
	return 0;
}

/* One command on the writer; NULL (and a message) on an error. */
static redisReply *command(struct ctl *ctl, int argc, const char **argv)
{
	redisReply *rep = redisCommandArgv(ctl->c, argc, argv, NULL);

	if (!rep) {
		fail(EXIT_FAIL, "redis at %s: %s", ctl->url_text, ctl->c->errstr);
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		fail(EXIT_FAIL, "redis at %s: %s: %s", ctl->url_text, argv[0], rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/* ---- text ---- */

static const char *local_time(int64_t s, char *buf, size_t len)
{
	time_t t = (time_t)s;
	struct tm tm;

	if (s <= 0 || !localtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

static const char *age(int64_t since_s, int64_t now_s, char *buf, size_t len)
{
	if (since_s <= 0)
		return "-";
	return fv_age_text(now_s - since_s, buf, len);
}

static const char *ms(double us, char *buf, size_t len)
{
	if (us < 0)
		return "-";
	snprintf(buf, len, "%.3f ms", us / 1000);
	return buf;
}

/* A record's fields as one JSON object. */
static void json_record(struct buf *b, const struct fv_record *r)
{
	bool first = true;

	buf_puts(b, "{");
	for (size_t i = 0; i < r->n; i++)
		json_put_kv(b, &first, r->keys[i], r->vals[i]);
	buf_puts(b, "}");
}

/* Labels JSON as "team=dba criticality=critical". */
static const char *labels_text(struct ctl *ctl, const char *json, char *buf, size_t len)
{
	struct fv_label l[MAX_LABELS];
	int n = fv_labels_parse(json, &ctl->a, l, MAX_LABELS);
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		int k = snprintf(buf + used, len - used, "%s%s=%s", i ? " " : "", l[i].name, l[i].value);
		if (k < 0 || (size_t)k >= len - used)
			break;
		used += (size_t)k;
	}
	return buf;
}

/* ---- add / remove ---- */

/* A runtime target as probers take it: IP:PORT, [IPv6]:PORT, CIDR:PORT,
 * HOSTNAME:PORT. */
static bool target_spec_ok(const char *spec, char *why, size_t len)
{
	char host[300];
	const char *colon = strrchr(spec, ':'), *h = spec, *e = colon;
	struct sw_addr a;
	struct sw_cidr c;

	if (!colon) {
		snprintf(why, len, "no port: expected IP:PORT, CIDR:PORT or HOSTNAME:PORT");
		return false;
	}
	if (spec[0] == '[') {
		h++;
		if (colon[-1] != ']') {
			snprintf(why, len, "expected [IPv6]:PORT");
			return false;
		}
		e--;
	}
	uint64_t port;
	if (num_parse_uint(colon + 1, 1, 65535, &port) < 0) {
		snprintf(why, len, "port '%.20s' is not 1-65535", colon + 1);
		return false;
	}
	if (e <= h || (size_t)(e - h) >= sizeof(host)) {
		snprintf(why, len, "no host before the port");
		return false;
	}
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = '\0';
	if (addr_parse(&a, host) == 0 || (strchr(host, '/') && cidr_parse(&c, host) == 0))
		return true;
	if (strchr(host, '/') || strchr(host, ':')) {
		snprintf(why, len, "'%.80s' is not an address or a CIDR without host bits", host);
		return false;
	}
	if (host[strspn(host, HOST_CHARS)] || host[0] == '.' || host[0] == '-' || strstr(host, "..") ||
	    !host[strspn(host, "0123456789.")]) {
		snprintf(why, len, "'%.80s' is not an address or a hostname", host);
		return false;
	}
	return true;
}

static int cmd_add(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' }, { "name", required_argument, NULL, 'n' },
		{ "label", required_argument, NULL, 'l' }, { "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char *group = NULL, *name = NULL, *interval = NULL, *labels[MAX_LABELS];
	size_t n_labels = 0;
	char why[200], key[SCHEMA_KEY_MAX], chan[SCHEMA_KEY_MAX], msg[400];
	struct buf v = { 0 };
	int64_t ns;
	int c, r = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'g': group = optarg; break;
		case 'n': name = optarg; break;
		case 'i': interval = optarg; break;
		case 'l':
			if (n_labels == MAX_LABELS)
				return fail(EXIT_USAGE, "add: at most %d labels", MAX_LABELS);
			labels[n_labels++] = optarg;
			break;
		default: return bad_option("add", c, argv);
		}
	}
	if (optind + 1 != argc)
		return fail(EXIT_USAGE, "add: expected one TARGET, like 198.18.0.5:443 (see --help)");
	const char *target = argv[optind];
	if (!target_spec_ok(target, why, sizeof(why)))
		return fail(EXIT_USAGE, "add: target '%s': %s", target, why);
	/* the bounds a prober holds a runtime target's interval to (docs/redis.md) */
	if (interval && num_parse_duration(interval, 10 * NSEC_PER_MSEC, 24 * 3600 * NSEC_PER_SEC, &ns) < 0)
		return fail(EXIT_USAGE, "add: %s",
			    num_duration_error(why, sizeof(why), "--interval", interval, 10 * NSEC_PER_MSEC,
					       24 * 3600 * NSEC_PER_SEC));
	buf_puts(&v, "{");
	bool first = true;
	if (group)
		json_put_kv(&v, &first, "group", group);
	if (name)
		json_put_kv(&v, &first, "name", name);
	if (n_labels) {
		buf_puts(&v, first ? "\"labels\":{" : ",\"labels\":{");
		first = false;
		for (size_t i = 0; i < n_labels; i++) {
			const char *eq = strchr(labels[i], '=');
			size_t klen = eq ? (size_t)(eq - labels[i]) : 0;
			if (!eq || klen == 0 || klen > 64 || (labels[i][0] >= '0' && labels[i][0] <= '9') ||
			    strspn(labels[i], LABEL_CHARS) != klen) {
				buf_release(&v);
				return fail(EXIT_USAGE,
					    "add: --label '%s': expected KEY=VALUE with a label name "
					    "(letters, digits, '_'), like team=dba",
					    labels[i]);
			}
			char k[65];
			memcpy(k, labels[i], klen);
			k[klen] = '\0';
			buf_puts(&v, i ? "," : "");
			json_put_str(&v, k);
			buf_puts(&v, ":");
			json_put_str(&v, eq + 1);
		}
		buf_puts(&v, "}");
	}
	if (interval)
		json_put_kv(&v, &first, "interval", interval);
	buf_puts(&v, "}");
	if (v.nomem || (r = open_writer(ctl)) != 0)
		goto out;
	snprintf(msg, sizeof(msg), "add %s", target);
	const char *hset[] = { "HSET", schema_key(key, sizeof(key), ctl->prefix, SCHEMA_RUNTIME_TARGETS, NULL, NULL),
			       target, v.s };
	const char *pub[] = { "PUBLISH", schema_key(chan, sizeof(chan), ctl->prefix, SCHEMA_RUNTIME, NULL, NULL),
			      msg };
	redisReply *h = command(ctl, 4, hset), *p = h ? command(ctl, 3, pub) : NULL;
	if (h && p) {
		long long listeners = p->type == REDIS_REPLY_INTEGER ? p->integer : 0;
		if (ctl->json) {
			buf_puts(&ctl->out, "{\"added\":");
			json_put_str(&ctl->out, target);
			buf_printf(&ctl->out, ",\"value\":%s,\"listeners\":%lld}\n", v.s, listeners);
		} else {
			printf("added %s %s; %lld prober%s listening (others pick it up within 10 s)\n",
			       target, v.s, listeners, listeners == 1 ? "" : "s");
		}
		r = EXIT_OK;
	} else {
		r = EXIT_FAIL;
	}
	freeReplyObject(h);
	freeReplyObject(p);
out:
	buf_release(&v);
	return r;
}

/* Says that id went (what: "silence " or ""): a line, or {"removed":ID}. */
static int removed(struct ctl *ctl, const char *what, const char *id)
{
	if (ctl->json) {
		buf_puts(&ctl->out, "{\"removed\":");
		json_put_str(&ctl->out, id);
		buf_puts(&ctl->out, "}\n");
	} else {
		printf("removed %s%s\n", what, id);
	}
	return EXIT_OK;
}

static int cmd_remove(struct ctl *ctl, int argc, char **argv)
{
	char key[SCHEMA_KEY_MAX], chan[SCHEMA_KEY_MAX], msg[400];
	int r;

	if (argc != 2 || argv[1][0] == '-')
		return fail(EXIT_USAGE, "remove: expected one TARGET, like 198.18.0.5:443");
	if ((r = open_writer(ctl)) != 0)
		return r;
	snprintf(msg, sizeof(msg), "remove %s", argv[1]);
	const char *hdel[] = { "HDEL", schema_key(key, sizeof(key), ctl->prefix, SCHEMA_RUNTIME_TARGETS, NULL, NULL),
			       argv[1] };
	const char *pub[] = { "PUBLISH", schema_key(chan, sizeof(chan), ctl->prefix, SCHEMA_RUNTIME, NULL, NULL),
			      msg };
	redisReply *h = command(ctl, 3, hdel), *p = NULL;
	if (!h)
		return EXIT_FAIL;
	if (h->type != REDIS_REPLY_INTEGER || h->integer == 0) {
		freeReplyObject(h);
		return fail(EXIT_FAIL,
			    "no runtime target '%s' (targets of a configuration file are removed there)",
			    argv[1]);
	}
	freeReplyObject(h);
	if (!(p = command(ctl, 3, pub)))
		return EXIT_FAIL;
	freeReplyObject(p);
	return removed(ctl, "", argv[1]);
}

/* ---- show ---- */

/* Up to max results of target (at loc, if given) among the newest
 * RESULTS_SCANNED, newest first. */
static int recent_results(struct ctl *ctl, const char *target, const char *loc, size_t max,
			  struct fv_record **out)
{
	char key[SCHEMA_KEY_MAX];
	const char *argv[] = { "XREVRANGE", schema_key(key, sizeof(key), ctl->prefix, SCHEMA_RESULTS, NULL, NULL),
			       "+",	    "-",
			       "COUNT",	    RESULTS_SCANNED };
	redisReply *rep = command(ctl, 6, argv);
	struct fv_record *v;
	size_t n = 0;

	if (!rep)
		return -EIO;
	v = fv_alloc(&ctl->a, (max + 1) * sizeof(*v));
	for (size_t i = 0; v && rep->type == REDIS_REPLY_ARRAY && i < rep->elements && n < max; i++) {
		const redisReply *e = rep->element[i], *f;
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    (f = e->element[1])->type != REDIS_REPLY_ARRAY)
			continue;
		bool mine = false, here = !loc;
		for (size_t k = 0; k + 1 < f->elements; k += 2) {
			mine |= strcmp(f->element[k]->str, "target") == 0 &&
				strcmp(f->element[k + 1]->str, target) == 0;
			here |= loc && strcmp(f->element[k]->str, "location") == 0 &&
				strcmp(f->element[k + 1]->str, loc) == 0;
		}
		if (!mine || !here)
			continue;
		struct fv_record *r = &v[n];
		r->id = fv_strndup(&ctl->a, e->element[0]->str, e->element[0]->len);
		r->n = f->elements / 2;
		r->keys = fv_alloc(&ctl->a, (r->n + 1) * sizeof(char *));
		r->vals = fv_alloc(&ctl->a, (r->n + 1) * sizeof(char *));
		if (!r->id || !r->keys || !r->vals)
			break;
		for (size_t k = 0; k < r->n; k++) {
			r->keys[k] = fv_strndup(&ctl->a, f->element[2 * k]->str, f->element[2 * k]->len);
			r->vals[k] =
			    fv_strndup(&ctl->a, f->element[2 * k + 1]->str, f->element[2 * k + 1]->len);
		}
		n++;
	}
	freeReplyObject(rep);
	*out = v;
	return v ? (int)n : -ENOMEM;
}

static const char *get(const struct fv_record *r, const char *key)
{
	const char *v = fv_record_get(r, key);

	return v && *v ? v : "-";
}

static void print_states(struct ctl *ctl, const struct fv_target *t, size_t n, int64_t now_s)
{
	static const char *const head[] = { "LOCATION", "STATE", "SINCE", "FOR",
					    "REASON",	"LAST",	 "RTT",	  "PROBER" };
	struct columns tab;
	char since[32], dur[32], rtt[32], lbl[512];

	for (size_t i = 0; i < n; i++)
		if (t[i].present) {
			printf("%s", t[i].target);
			if (*t[i].name)
				printf("  %s", t[i].name);
			printf("\n");
			if (*t[i].group || *t[i].labels)
				printf("group %s  labels %s\n", *t[i].group ? t[i].group : "-",
				       labels_text(ctl, t[i].labels, lbl, sizeof(lbl)));
			break;
		}
	if (columns_init(&tab, 8, head) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!t[i].present)
			continue;
		int64_t s = t[i].since_ns / NSEC_PER_SEC;
		const char *row[] = { t[i].location,
				      fv_state_name(t[i].state),
				      local_time(s, since, sizeof(since)),
				      age(s, now_s, dur, sizeof(dur)),
				      t[i].reason,
				      t[i].last_result,
				      ms(t[i].last_rtt_us, rtt, sizeof(rtt)),
				      t[i].prober };
		columns_add(&tab, row);
	}
	printf("\n");
	columns_print(&tab, stdout);
	columns_release(&tab);
}

/* The service check as each location saw it last: verdict, error, banner,
 * then the certificate and its TLS. */
static void print_checks(const struct fv_target *t, size_t n, int64_t now_s)
{
	char when[32], dur[32], took[32], days[48];

	for (size_t i = 0; i < n; i++) {
		const struct fv_check *c = &t[i].check;
		if (!t[i].present || c->ok < 0)
			continue;
		int64_t ts = c->ts_ns / NSEC_PER_SEC;
		printf("\nservice check from %s: %s %s (%s)\n", t[i].location, c->kind,
		       fv_check_passed(c) ? "passed" : "failed", *c->verdict ? c->verdict : "-");
		printf("  %-10s %s (%s ago), took %s\n", "checked", local_time(ts, when, sizeof(when)),
		       age(ts, now_s, dur, sizeof(dur)), ms(c->us, took, sizeof(took)));
		printf("  %-10s %s\n", "error", *c->error ? c->error : "-");
		printf("  %-10s %s\n", "banner", *c->banner ? c->banner : "-");
		if (*c->tls_version)
			printf("  %-10s %s, %s\n", "tls", c->tls_version, *c->tls_cipher ? c->tls_cipher : "-");
		if (c->cert_not_after_s <= 0)
			continue;
		printf("  certificate\n");
		printf("    %-10s %s\n", "subject", *c->cert_subject ? c->cert_subject : "-");
		printf("    %-10s %s\n", "issuer", *c->cert_issuer ? c->cert_issuer : "-");
		printf("    %-10s %s\n", "SANs", *c->cert_sans ? c->cert_sans : "-");
		printf("    %-10s %s (%s)\n", "not after", local_time(c->cert_not_after_s, when, sizeof(when)),
		       fv_cert_days_text(c->cert_days_left, days, sizeof(days)));
		printf("    %-10s %s%s%s\n", "verified",
		       c->cert_verified < 0 ? "-" : c->cert_verified ? "yes (chain and name)" : "no",
		       c->cert_verified == 0 && *c->cert_error ? ": " : "", c->cert_verified == 0 ? c->cert_error : "");
	}
}

/* A check's entry of P results in a line: "redis failed (check_failed,
 * 0.356 ms): ERR max number of clients reached", "tls passed (cert_expiring,
 * 1.126 ms): TLSv1.3, certificate expires in 4 days". */
static void check_detail(const struct fv_record *r, char *buf, size_t len)
{
	const char *ok = get(r, "check_ok"), *verdict = get(r, "check_verdict"), *days_s = get(r, "cert_days_left");
	const char *us_s = fv_record_get(r, "check_us");
	char took[32], days[48] = "", tls[64] = "";
	bool passed = !strcmp(ok, "1") && strcmp(verdict, "check_failed") && strcmp(verdict, "cert_unverified") &&
		      strcmp(verdict, "cert_expired");
	int64_t d;

	ms(us_s && *us_s ? strtod(us_s, NULL) : -1, took, sizeof(took));
	if (strcmp(days_s, "-") && num_parse_int(days_s, INT32_MIN + 1, INT32_MAX, &d) == 0) {
		snprintf(days, sizeof(days), "certificate ");
		fv_cert_days_text((int32_t)d, days + strlen(days), sizeof(days) - strlen(days));
	}
	if (strcmp(get(r, "tls_version"), "-"))
		snprintf(tls, sizeof(tls), "%s", get(r, "tls_version"));
	const char *said = strcmp(ok, "1") ? get(r, "check_error") : strcmp(get(r, "banner"), "-") ? get(r, "banner") : "";
	snprintf(buf, len, "%s %s (%s, %s)%s%s%s%s%s%s", get(r, "check"), passed ? "passed" : "failed", verdict, took,
		 *said || *tls || *days ? ": " : "", said, *said && (*tls || *days) ? ", " : "", tls,
		 *tls && *days ? ", " : "", days);
}

static void print_results(const struct fv_record *res, size_t n)
{
	static const char *const head[] = { "TIME", "LOCATION", "STATE", "RTT", "TTL", "ATTEMPT", "DETAIL" };
	struct columns tab;
	char when[32], rtt[32], detail[320];

	if (n == 0 || columns_init(&tab, 7, head) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct fv_record *r = &res[i];
		const char *icmp = get(r, "icmp_code"), *err = get(r, "error");
		const char *rtt_s = fv_record_get(r, "rtt_us");
		snprintf(detail, sizeof(detail), "%s", "-");
		if (!strcmp(get(r, "state"), "check"))
			check_detail(r, detail, sizeof(detail));
		else if (strcmp(icmp, "-") != 0)
			snprintf(detail, sizeof(detail), "icmp code %s from %s", icmp, get(r, "icmp_from"));
		else if (strcmp(err, "-") != 0)
			snprintf(detail, sizeof(detail), "%s", err);
		const char *row[] = { local_time(strtoll(get(r, "ts"), NULL, 10) / NSEC_PER_SEC, when,
						 sizeof(when)),
				      get(r, "location"),
				      get(r, "state"),
				      rtt_s && *rtt_s ? ms(strtod(rtt_s, NULL), rtt, sizeof(rtt)) : "-",
				      get(r, "ttl"),
				      get(r, "attempt"),
				      detail };
		columns_add(&tab, row);
	}
	printf("\nrecent results, newest first\n");
	columns_print(&tab, stdout);
	columns_release(&tab);
}

static void print_latency(const char *loc, const struct lat_minute *m, size_t n)
{
	static const char *const head[] = { "MINUTE", "N", "LOSS", "P50", "P95", "P99", "MAX" };
	struct columns tab;
	char when[32], cnt[16], loss[16], q[4][32];

	if (n == 0 || columns_init(&tab, 7, head) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int64_t p[3] = { lat_minute_quantile(&m[i], 0.50), lat_minute_quantile(&m[i], 0.95),
				 lat_minute_quantile(&m[i], 0.99) };
		snprintf(cnt, sizeof(cnt), "%u", m[i].count);
		snprintf(loss, sizeof(loss), "%.1f%%", 100 * lat_minute_loss_ratio(&m[i]));
		for (int k = 0; k < 3; k++)
			ms(p[k] < 0 ? -1 : (double)p[k] / 1000, q[k], sizeof(q[k]));
		ms(m[i].count ? (double)m[i].max_ns / 1000 : -1, q[3], sizeof(q[3]));
		local_time(m[i].minute_start_s, when, sizeof(when));
		const char *row[] = { when, cnt, loss, p[0] < 0 ? "-" : q[0], p[1] < 0 ? "-" : q[1],
				      p[2] < 0 ? "-" : q[2], m[i].count ? q[3] : "-" };
		columns_add(&tab, row);
	}
	printf("\nlatency per minute from %s\n", loc);
	columns_print(&tab, stdout);
	columns_release(&tab);
}

static void json_latency(struct buf *b, const struct lat_minute *m, size_t n)
{
	buf_puts(b, "[");
	for (size_t i = 0; i < n; i++) {
		bool first = true;
		buf_puts(b, i ? ",{" : "{");
		json_put_kn(b, &first, "minute", (double)m[i].minute_start_s);
		json_put_kn(b, &first, "n", m[i].count);
		json_put_kn(b, &first, "lost", m[i].lost);
		json_put_kn(b, &first, "loss", lat_minute_loss_ratio(&m[i]));
		static const struct {
			const char *key;
			double p;
		} qs[] = { { "p50_ms", 0.5 }, { "p95_ms", 0.95 }, { "p99_ms", 0.99 } };
		for (size_t k = 0; k < 3; k++) {
			int64_t v = lat_minute_quantile(&m[i], qs[k].p);
			json_put_kn(b, &first, qs[k].key, v < 0 ? NAN : (double)v / 1e6);
		}
		buf_puts(b, "}");
	}
	buf_puts(b, "]");
}

static void json_target(struct buf *b, const struct fv_target *t)
{
	bool first = true;

	buf_puts(b, "{");
	json_put_kv(b, &first, "location", t->location);
	json_put_kv(b, &first, "target", t->target);
	json_put_kv(b, &first, "state", fv_state_name(t->state));
	json_put_kn(b, &first, "since", t->since_ns ? (double)(t->since_ns / NSEC_PER_SEC) : NAN);
	json_put_kv(b, &first, "reason", t->reason);
	json_put_kv(b, &first, "last_result", t->last_result);
	json_put_kn(b, &first, "last_rtt_us", t->last_rtt_us < 0 ? NAN : t->last_rtt_us);
	json_put_kv(b, &first, "name", t->name);
	json_put_kv(b, &first, "group", t->group);
	buf_puts(b, ",\"labels\":");
	buf_puts(b, *t->labels ? t->labels : "{}");
	json_put_kv(b, &first, "prober", t->prober);
	json_put_key(b, &first, "check");
	fv_check_json(b, &t->check);
	buf_puts(b, "}");
}

/* The locations asked for: the one given, or every prober's. */
static int locations(struct ctl *ctl, const char *loc, const char ***out)
{
	int n;

	if (loc) {
		const char **v = fv_alloc(&ctl->a, 2 * sizeof(*v));
		if (!v)
			return -ENOMEM;
		v[0] = loc;
		v[1] = NULL;
		*out = v;
		return 1;
	}
	if ((n = fleetview_locations(ctl->fv, &ctl->a, NULL, 0, out)) < 0) {
		fail(EXIT_FAIL, "%s", fleetview_error(ctl->fv));
		return -EIO;
	}
	if (n == 0) {
		fail(EXIT_FAIL,
		     "no prober has written to redis at %s yet (P probers is empty): give --location",
		     ctl->url_text);
		return -ENOENT;
	}
	return n;
}

static int positive(const char *cmd, const char *opt, const char *s, long max, long *out)
{
	char msg[256];
	uint64_t v;

	if (num_parse_uint(s, 1, (uint64_t)max, &v) < 0)
		return fail(EXIT_USAGE, "%s: %s", cmd, num_uint_error(msg, sizeof(msg), opt, s, 1, (uint64_t)max));
	*out = (long)v;
	return 0;
}

static int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "location", required_argument, NULL, 'l' }, { "results", required_argument, NULL, 'r' },
		{ "minutes", required_argument, NULL, 'm' },  { NULL, 0, NULL, 0 },
	};
	const char *loc = NULL, **locs;
	long n_results = 10, minutes = 30;
	char ip[ADDR_STRLEN + 2];
	unsigned port;
	int c, r, n;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'l': loc = optarg; break;
		case 'r':
			if ((r = positive("show", "--results", optarg, 1000, &n_results)) != 0)
				return r;
			break;
		case 'm':
			if ((r = positive("show", "--minutes", optarg, 7 * 24 * 60, &minutes)) != 0)
				return r;
			break;
		default: return bad_option("show", c, argv);
		}
	}
	if (optind + 1 != argc)
		return fail(EXIT_USAGE, "show: expected one TARGET, like 198.18.0.5:443");
	const char *target = argv[optind];
	if (fv_target_split(target, ip, sizeof(ip), &port) < 0)
		return fail(EXIT_USAGE, "show: target '%s': expected IP:PORT or [IPv6]:PORT", target);
	if ((r = open_reader(ctl)) != 0 || (r = open_writer(ctl)) != 0)
		return r;
	if ((n = locations(ctl, loc, &locs)) < 0)
		return EXIT_FAIL;
	struct fv_target *t = fv_alloc(&ctl->a, (size_t)n * sizeof(*t));
	struct fv_record *res;
	int64_t now_s = clock_real_ns() / NSEC_PER_SEC;
	bool any = false;
	if (!t)
		return fail(EXIT_FAIL, "out of memory");
	for (int i = 0; i < n; i++) {
		if (fleetview_targets(ctl->fv, &ctl->a, locs[i], &target, 1, &t[i]) < 0)
			return fail(EXIT_FAIL, "%s", fleetview_error(ctl->fv));
		any |= t[i].present;
	}
	int n_res = recent_results(ctl, target, loc, (size_t)n_results, &res);
	if (n_res < 0)
		return EXIT_FAIL;
	if (!any && n_res == 0)
		return fail(EXIT_FAIL,
			    "target '%s' is not known to redis at %s (no state, no recent results)", target,
			    ctl->url_text);
	if (ctl->json) {
		buf_puts(&ctl->out, "{\"target\":");
		json_put_str(&ctl->out, target);
		buf_puts(&ctl->out, ",\"states\":[");
		for (int i = 0, k = 0; i < n; i++)
			if (t[i].present) {
				buf_puts(&ctl->out, k++ ? "," : "");
				json_target(&ctl->out, &t[i]);
			}
		buf_puts(&ctl->out, "],\"results\":[");
		for (int i = 0; i < n_res; i++) {
			buf_puts(&ctl->out, i ? "," : "");
			json_record(&ctl->out, &res[i]);
		}
		buf_puts(&ctl->out, "],\"latency\":{");
	} else {
		print_states(ctl, t, (size_t)n, now_s);
		print_checks(t, (size_t)n, now_s);
		print_results(res, (size_t)n_res);
	}
	for (int i = 0, k = 0; i < n; i++) {
		struct lat_minute *m;
		size_t bad = 0;
		int nm = fleetview_latency(ctl->fv, &ctl->a, locs[i], target, now_s - minutes * 60,
					   (size_t)minutes, &m, &bad);
		if (nm < 0)
			return fail(EXIT_FAIL, "%s", fleetview_error(ctl->fv));
		if (bad)
			log_warn("%zu latency records of %s from %s do not decode (skipped)", bad, target, locs[i]);
		if (ctl->json && (nm || t[i].present)) {
			buf_puts(&ctl->out, k++ ? "," : "");
			json_put_str(&ctl->out, locs[i]);
			buf_puts(&ctl->out, ":");
			json_latency(&ctl->out, m, (size_t)nm);
		} else if (!ctl->json) {
			print_latency(locs[i], m, (size_t)nm);
		}
	}
	if (ctl->json)
		buf_puts(&ctl->out, "}}\n");
	return EXIT_OK;
}

/* ---- list ---- */

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' }, { "location", required_argument, NULL, 'l' },
		{ "limit", required_argument, NULL, 'n' }, { NULL, 0, NULL, 0 },
	};
	static const char *const head[] = { "LOCATION", "TARGET", "STATE", "SINCE", "FOR", "NAME" };
	const char *loc = NULL, **locs;
	long limit = 500;
	int set = FV_ALL, c, r, n;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if ((set = fv_state_parse(optarg)) < 0)
				return fail(
				    EXIT_USAGE,
				    "list: --state '%s': expected up, degraded, down, flapping or unknown",
				    optarg);
			break;
		case 'l': loc = optarg; break;
		case 'n':
			if ((r = positive("list", "--limit", optarg, 1000000, &limit)) != 0)
				return r;
			break;
		default: return bad_option("list", c, argv);
		}
	}
	if (optind != argc)
		return fail(EXIT_USAGE, "list: unexpected argument '%s'", argv[optind]);
	if ((r = open_reader(ctl)) != 0)
		return r;
	if ((n = locations(ctl, loc, &locs)) < 0)
		return EXIT_FAIL;
	struct columns tab;
	int64_t now_s = clock_real_ns() / NSEC_PER_SEC;
	size_t shown = 0, more = 0;
	if (columns_init(&tab, 6, head) < 0)
		return fail(EXIT_FAIL, "out of memory");
	if (ctl->json)
		buf_puts(&ctl->out, "[");
	r = EXIT_OK;
	for (int i = 0; i < n && r == EXIT_OK; i++) {
		struct fv_member *m = NULL;
		uint64_t counts[1][FV_NSETS];
		long room = limit - (long)shown;
		int k = room > 0 ? fleetview_index(ctl->fv, &ctl->a, locs[i], set, 0, room - 1, &m) : 0;
		if (k < 0 || fleetview_counts(ctl->fv, &locs[i], 1, counts) < 0) {
			r = fail(EXIT_FAIL, "%s", fleetview_error(ctl->fv));
			break;
		}
		more += counts[0][set] > (uint64_t)k ? counts[0][set] - (uint64_t)k : 0;
		const char **names = fv_alloc(&ctl->a, ((size_t)k + 1) * sizeof(*names));
		struct fv_target *t = fv_alloc(&ctl->a, ((size_t)k + 1) * sizeof(*t));
		if (!names || !t) {
			r = fail(EXIT_FAIL, "out of memory");
			break;
		}
		for (int j = 0; j < k; j++)
			names[j] = m[j].member;
		if (fleetview_targets(ctl->fv, &ctl->a, locs[i], names, (size_t)k, t) < 0) {
			r = fail(EXIT_FAIL, "%s", fleetview_error(ctl->fv));
			break;
		}
		for (int j = 0; j < k; j++, shown++) {
			char since[32], dur[32];
			/* in a state's index the score is when it began; the hash says it for "all" */
			int64_t s = set == FV_ALL ? t[j].since_ns / NSEC_PER_SEC : (int64_t)m[j].score;
			if (ctl->json) {
				buf_puts(&ctl->out, shown ? "," : "");
				json_target(&ctl->out, &t[j]);
				continue;
			}
			const char *row[] = { locs[i],
					      names[j],
					      t[j].present ? fv_state_name(t[j].state) : "-",
					      local_time(s, since, sizeof(since)),
					      age(s, now_s, dur, sizeof(dur)),
					      *t[j].name ? t[j].name : "-" };
			columns_add(&tab, row);
		}
	}
	if (ctl->json) {
		buf_puts(&ctl->out, "]\n");
	} else if (r == EXIT_OK) {
		columns_print(&tab, stdout);
		if (shown == 0)
			printf("no targets%s%s\n", set == FV_ALL ? "" : " ",
			       set == FV_ALL ? "" : fv_state_name(set));
		if (more)
			printf("(%zu more: raise --limit)\n", more);
	}
	columns_release(&tab);
	return r;
}

/* ---- silences ---- */

static void json_silence(struct buf *b, const struct silence *s)
{
	bool first = true;
	char one[MATCHER_KEY_MAX + MATCHER_VALUE_MAX + 8];

	buf_puts(b, "{");
	json_put_kv(b, &first, "id", s->id);
	buf_puts(b, ",\"matchers\":[");
	for (size_t i = 0; i < s->n; i++) {
		buf_puts(b, i ? "," : "");
		json_put_str(b, matcher_text(&s->m[i], one, sizeof(one)));
	}
	buf_puts(b, "]");
	json_put_kn(b, &first, "starts", (double)s->starts_s);
	json_put_kn(b, &first, "ends", (double)s->ends_s);
	json_put_kv(b, &first, "created_by", s->created_by);
	json_put_kv(b, &first, "comment", s->comment);
	buf_puts(b, "}");
}

static int silence_add(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, 'f' },
		{ "comment", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dur = NULL, *comment = "";
	char err[512], by[300], host[256], until[32], d[32], text[2048];
	struct silence s;
	int64_t ns;
	int c, r;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'f': dur = optarg; break;
		case 'c': comment = optarg; break;
		default: return bad_option("silence add", c, argv);
		}
	}
	if (!dur)
		return fail(EXIT_USAGE, "silence add: give how long with --for DUR, like --for 2h");
	if (num_parse_duration(dur, NSEC_PER_SEC, SILENCE_MAX_NS, &ns) < 0)
		return fail(EXIT_USAGE, "silence add: %s",
			    num_duration_error(err, sizeof(err), "--for", dur, NSEC_PER_SEC, SILENCE_MAX_NS));
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(by, sizeof(by), "%.40s@%.200s", getenv("USER") ? getenv("USER") : "?", host);
	int64_t now = clock_real_ns() / NSEC_PER_SEC;
	if (silence_init(&s, (const char *const *)argv + optind, (size_t)(argc - optind), now,
			 now + ns / NSEC_PER_SEC, comment, by, err, sizeof(err)) < 0)
		return fail(EXIT_USAGE, "silence add: %s", err);
	if ((r = open_writer(ctl)) == 0 && silence_save(ctl->c, ctl->prefix, &s, err, sizeof(err)) < 0)
		r = fail(EXIT_FAIL, "redis at %s: %s", ctl->url_text, err);
	if (r == 0 && ctl->json) {
		json_silence(&ctl->out, &s);
		buf_puts(&ctl->out, "\n");
	} else if (r == 0) {
		printf("silence %s: %s until %s (%s)\n", s.id, silence_matchers_text(&s, text, sizeof(text)),
		       local_time(s.ends_s, until, sizeof(until)), fv_age_text(s.ends_s - now, d, sizeof(d)));
	}
	silence_release(&s);
	return r;
}

static int silence_list(struct ctl *ctl, int argc, char **argv)
{
	static const char *const head[] = { "ID", "MATCHERS", "STARTS", "ENDS", "LEFT", "BY", "COMMENT" };
	struct silence_set set;
	struct columns tab;
	char err[512];
	int64_t now = clock_real_ns() / NSEC_PER_SEC;
	int r;

	(void)argv;
	if (argc != 1)
		return fail(EXIT_USAGE, "silence list: takes no arguments");
	if ((r = open_writer(ctl)) != 0)
		return r;
	if (silence_load(ctl->c, ctl->prefix, now, &set, err, sizeof(err)) < 0)
		return fail(EXIT_FAIL, "redis at %s: %s", ctl->url_text, err);
	if (ctl->json) {
		buf_puts(&ctl->out, "[");
		for (size_t i = 0; i < set.n; i++) {
			buf_puts(&ctl->out, i ? "," : "");
			json_silence(&ctl->out, &set.v[i]);
		}
		buf_puts(&ctl->out, "]\n");
	} else if (columns_init(&tab, 7, head) == 0) {
		for (size_t i = 0; i < set.n; i++) {
			const struct silence *s = &set.v[i];
			char m[2048], a[32], b[32], left[32];
			const char *row[] = { s->id,
					      silence_matchers_text(s, m, sizeof(m)),
					      local_time(s->starts_s, a, sizeof(a)),
					      local_time(s->ends_s, b, sizeof(b)),
					      fv_age_text(s->ends_s - now, left, sizeof(left)),
					      s->created_by,
					      *s->comment ? s->comment : "-" };
			columns_add(&tab, row);
		}
		columns_print(&tab, stdout);
		if (set.n == 0)
			printf("no silences\n");
		columns_release(&tab);
	}
	silence_set_release(&set);
	return EXIT_OK;
}

static int silence_rm(struct ctl *ctl, int argc, char **argv)
{
	char err[512];
	int r;

	if (argc != 2 || strlen(argv[1]) != SILENCE_ID_LEN || argv[1][strspn(argv[1], "0123456789abcdef")])
		return fail(EXIT_USAGE,
			    "silence remove: expected one silence ID (12 hex digits, see silence list)");
	if ((r = open_writer(ctl)) != 0)
		return r;
	if ((r = silence_remove(ctl->c, ctl->prefix, argv[1], err, sizeof(err))) < 0)
		return fail(EXIT_FAIL, "redis at %s: %s", ctl->url_text, err);
	if (r == 0)
		return fail(EXIT_FAIL, "no silence '%s' (ended, or never there: see silence list)", argv[1]);
	return removed(ctl, "silence ", argv[1]);
}

static int cmd_silence(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2)
		return fail(EXIT_USAGE, "silence: expected add, list or remove");
	if (strcmp(argv[1], "add") == 0)
		return silence_add(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return silence_list(ctl, argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return silence_rm(ctl, argc - 1, argv + 1);
	return fail(EXIT_USAGE, "silence: unknown '%s': expected add, list or remove", argv[1]);
}

/* ---- probers ---- */

static int cmd_probers(struct ctl *ctl, int argc, char **argv)
{
	static const char *const head[] = { "PROBER", "LOCATION", "HEARTBEAT", "TARGETS", "RATE", "SENT/S",
					    "BACKLOG", "STATUS" };
	struct fv_prober *p;
	struct columns tab;
	int64_t now_ms = clock_real_ns() / NSEC_PER_MSEC;
	int r, n;

	(void)argv;
	if (argc != 1)
		return fail(EXIT_USAGE, "probers: takes no arguments");
	if ((r = open_reader(ctl)) != 0)
		return r;
	if ((n = fleetview_probers(ctl->fv, &ctl->a, MAX_PROBERS, &p)) < 0)
		return fail(EXIT_FAIL, "%s", fleetview_error(ctl->fv));
	if (ctl->json) {
		buf_puts(&ctl->out, "[");
		for (int i = 0; i < n; i++) {
			bool first = true;
			buf_puts(&ctl->out, i ? ",{" : "{");
			json_put_kv(&ctl->out, &first, "prober", p[i].id);
			json_put_kv(&ctl->out, &first, "location", p[i].location);
			json_put_kn(&ctl->out, &first, "last_heartbeat_ms", (double)p[i].last_ms);
			buf_printf(&ctl->out, ",\"alive\":%s,\"status\":", p[i].alive ? "true" : "false");
			json_record(&ctl->out, &p[i].h);
			buf_puts(&ctl->out, "}");
		}
		buf_puts(&ctl->out, "]\n");
		return EXIT_OK;
	}
	if (columns_init(&tab, 8, head) < 0)
		return fail(EXIT_FAIL, "out of memory");
	for (int i = 0; i < n; i++) {
		const struct fv_record *h = &p[i].h;
		char hb[32], status[64] = "";
		snprintf(hb, sizeof(hb), "%s ago", fv_age_text((now_ms - p[i].last_ms) / 1000, hb + 16, 16));
		if (!p[i].alive)
			snprintf(status, sizeof(status), "gone");
		if (strcmp(get(h, "isolated"), "1") == 0)
			snprintf(status + strlen(status), sizeof(status) - strlen(status), "%sisolated",
				 *status ? "," : "");
		if (strcmp(get(h, "overloaded"), "1") == 0)
			snprintf(status + strlen(status), sizeof(status) - strlen(status), "%soverloaded",
				 *status ? "," : "");
		const char *row[] = { p[i].id,		 p[i].location,		 hb,
				      get(h, "targets"), get(h, "rate"),	 get(h, "sent_per_s"),
				      get(h, "backlog"), *status ? status : "ok" };
		columns_add(&tab, row);
	}
	columns_print(&tab, stdout);
	if (n == 0)
		printf("no probers have written to redis at %s\n", ctl->url_text);
	columns_release(&tab);
	return EXIT_OK;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'r' }, { "prefix", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },        { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *name;
		int (*run)(struct ctl *ctl, int argc, char **argv);
	} cmds[] = {
		{ "add", cmd_add },   { "remove", cmd_remove },   { "show", cmd_show },
		{ "list", cmd_list }, { "silence", cmd_silence }, { "probers", cmd_probers },
	};
	struct ctl ctl = { .prefix = SCHEMA_DEFAULT_PREFIX };
	char err[512];
	int c, r = -1;

	log_set_program("synwatch-ctl");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': ctl.url = optarg; break;
		case 'p': ctl.prefix = optarg; break;
		case 'j': ctl.json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return bad_option("", c, argv);
		}
	}
	if (optind >= argc)
		return fail(EXIT_USAGE,
			    "no command: expected add, remove, show, list, silence or probers (see --help)");
	if (!ctl.url)
		ctl.url = getenv("SYNWATCH_REDIS") && *getenv("SYNWATCH_REDIS") ? getenv("SYNWATCH_REDIS")
										: DEFAULT_URL;
	if (redis_url_text(ctl.url, ctl.url_text, sizeof(ctl.url_text), err, sizeof(err)) < 0)
		return fail(EXIT_USAGE, "%s", err);
	if (schema_check_prefix(ctl.prefix, err, sizeof(err)) < 0)
		return fail(EXIT_USAGE, "--prefix: %s", err);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[optind], cmds[i].name) == 0) {
			/* each command parses its own options from its name on;
			 * optind 0 makes glibc's getopt start afresh */
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;
			optind = 0;
			r = cmds[i].run(&ctl, sub_argc, sub_argv);
			break;
		}
	if (r < 0)
		r = fail(EXIT_USAGE,
			 "unknown command '%s': expected add, remove, show, list, silence or probers",
			 argv[optind]);
	if (r == EXIT_OK && ctl.json && ctl.out.s)
		fputs(ctl.out.s, stdout);
	buf_release(&ctl.out);
	fv_arena_release(&ctl.a);
	fleetview_free(ctl.fv);
	if (ctl.c)
		redisFree(ctl.c);
	return r;
}
