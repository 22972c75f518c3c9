/* synwatch-exporter: the fleet's state from Redis as Prometheus metrics, a
 * small JSON API and the web status page (tools/web), over HTTP with
 * libmicrohttpd (a thread per connection). docs/consumers.md documents the
 * metrics, the API and the options.
 *
 * Reads: one snapshot of every target of every location (pipelined HMGET of
 * the state hashes, tools/lib/fleetview.h), taken when a request needs it and
 * the last one is older than --max-age (1 s), shared by concurrent requests
 * and by /metrics and /api/targets. Redis sees work only when somebody
 * looks, at most once per --max-age, whatever the number of scrapers. The
 * rendered /metrics text is kept with its snapshot, so a second scraper
 * within the same second costs nothing. A fleet whose snapshot takes longer
 * than SLOW_READ_NS to read (a million targets: seconds) is served from the
 * last snapshot while a thread reads the next, for up to --stale, so that
 * a scrape does not wait for the read (snapshot_get). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#include "common/cli.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/num.h"
#include "tools/lib/fleetview.h"
#include "store/schema.h"

#define POOL_MAX 8                 /* idle Redis connections kept */
#define LABELS_MAX 32              /* target labels exported per target */
#define API_LIMIT_MAX 1000         /* rows per /api/targets page */
#define SUMMARY_EVENTS 30
#define TARGET_EVENTS 50
#define EVENTS_SCAN_MAX 10000      /* events searched for one target's */
#define EVENTS_PAGE 1000
#define LAT_POINTS_MAX 1440        /* points per latency series in /api/target */
#define WEB_DIR_MAX 4096

#ifndef SW_WEB_DIR
#define SW_WEB_DIR "/usr/local/share/synwatch/web"
#endif

struct options {
	const char *listen;
	const char *redis;
	const char *prefix;
	const char *web;       /* NULL: look for it next to the binary */
	bool no_web;
	const char **locations;
	size_t n_locations;
	int64_t max_age_ns;
	int64_t stale_ns;      /* a slow fleet's snapshot is served this old while the next is read */
	int timeout_ms;
	enum per_target_mode {
		PER_TARGET_CONFIG,  /* the groups the probers' heartbeats name (metrics: per_target) */
		PER_TARGET_ALL,
		PER_TARGET_NONE,
	} per_target;
};

/* A row of the snapshot: a target as one location sees it, with what the
 * renderers need precomputed once. */
struct row {
	const struct fv_target *t;
	const char *ip;
	unsigned port;
	const char *prom;      /* the Prometheus label block, without braces */
	size_t prom_len;
	unsigned clash;        /* LABEL_CHECK...: target labels named as a check series' own */
	bool per_target;       /* its group asked for series of its own in /metrics */
	uint8_t key[18];       /* address (v4-mapped) and port, for natural order */
};

struct snapshot {
	int refs;                       /* under exporter.lock */
	uint64_t taken_mono_ns;
	int64_t taken_real_ns;
	double read_s;
	int err;                        /* < 0: Redis could not be read */
	char errmsg[640];
	bool has_schema;
	struct fv_arena a;
	const char **locs;
	size_t nlocs;
	uint64_t (*counts)[FV_NSETS];   /* per location, from the rows */
	struct row *rows;               /* worst state first, then by address */
	size_t nrows;
	size_t ntargets;                /* distinct targets */
	uint64_t overall[FV_NSETS];     /* each target once, by its worst state */
	struct check_counts {           /* each target once: failing or expiring anywhere */
		uint64_t checked, failing, certs, certs_expiring, certs_expired;
	} checks;
	struct fv_prober *probers;
	size_t nprobers;
	struct row *pt_rows;            /* the rows /metrics shows one by one: rows itself when all are */
	size_t n_pt_rows;
	struct group_count {            /* targets per (location, group) and state */
		const char *loc, *group;
		uint64_t n[FV_NSTATES];
	} *groups;
	size_t ngroups;
	struct fv_histo *histos;        /* handshake histograms per (location, group) */
	size_t nhistos;
	pthread_mutex_t render_lock;
	struct MHD_Response *metrics;   /* rendered on the first scrape */
};

struct exporter {
	const struct options *o;
	char web_dir[WEB_DIR_MAX];      /* "" without a web page */
	char url_text[640];             /* the Redis URL without its password */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fleetview *pool[POOL_MAX];
	size_t npool;
	struct snapshot *snap;
	bool refreshing;
	uint64_t reads, read_errors;    /* under lock */
};

/* ---- Redis connections ---- */

static struct fleetview *pool_get(struct exporter *x, char *err, size_t errlen)
{
	struct fleetview *fv = NULL;

	pthread_mutex_lock(&x->lock);
	if (x->npool)
		fv = x->pool[--x->npool];
	pthread_mutex_unlock(&x->lock);
	if (!fv && fleetview_open(&fv, x->o->redis, x->o->prefix, x->o->timeout_ms, err, errlen) < 0)
		return NULL;
	return fv;
}

static void pool_put(struct exporter *x, struct fleetview *fv)
{
	pthread_mutex_lock(&x->lock);
	if (x->npool < POOL_MAX) {
		x->pool[x->npool++] = fv;
		fv = NULL;
	}
	pthread_mutex_unlock(&x->lock);
	fleetview_free(fv);
}

/* ---- the snapshot ---- */

static void snapshot_free(struct snapshot *s)
{
	free(s->groups);
	if (!s)
		return;
	if (s->metrics)
		MHD_destroy_response(s->metrics);
	pthread_mutex_destroy(&s->render_lock);
	fv_arena_release(&s->a);
	free(s);
}

static void snapshot_put(struct exporter *x, struct snapshot *s)
{
	bool last;

	if (!s)
		return;
	pthread_mutex_lock(&x->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&x->lock);
	if (last)
		snapshot_free(s);
}

static bool label_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Labels only the check series have (probe_tls_version_info's version,
 * blackbox_exporter's name): a target label of the same name stays on the
 * other series as it always was, and gives way on these (prom_label_block). */
enum { LABEL_CHECK = 1, LABEL_VERSION = 2, LABEL_CIPHER = 4 };
static const char *const check_labels[] = { "check", "version", "cipher" };

/* Label names of our own: a target label of the same name is exported
 * as label_NAME. */
static const char *const fixed_labels[] = { "target", "ip", "port", "name", "group", "location", "state",
					    "prober", "job", "instance", NULL };

/* A label name as Prometheus accepts it ([a-zA-Z_][a-zA-Z0-9_]*, no
 * leading "__", which is reserved): other characters become '_', a leading
 * digit gets a '_' before it, a name that is ours or starts with "__" gets
 * "label_" before it. Returns false for an empty name. */
static bool sanitize_label_name(const char *in, char *out, size_t len)
{
	size_t n = 0;

	if (!*in || len < 8)
		return false;
	if (in[0] >= '0' && in[0] <= '9')
		out[n++] = '_';
	for (const char *p = in; *p && n + 1 < len; p++)
		out[n++] = label_name_char(*p, false) ? *p : '_';
	out[n] = '\0';
	bool reserved = strncmp(out, "__", 2) == 0;
	for (size_t i = 0; fixed_labels[i] && !reserved; i++)
		reserved = strcmp(out, fixed_labels[i]) == 0;
	if (reserved && n + 6 < len) {
		memmove(out + 6, out, n + 1);
		memcpy(out, "label_", 6);
	}
	return true;
}

static void prom_label(struct buf *b, bool *first, const char *name, const char *value)
{
	if (!*first)
		buf_add(b, ",", 1);
	*first = false;
	buf_puts(b, name);
	buf_add(b, "=\"", 2);
	fv_prom_value(b, value);
	buf_add(b, "\"", 1);
}

/* target="..",ip="..",port="..",name="..",group="..",location="..", then the
 * target's own labels, sanitized and without duplicates, and without those
 * named in the LABEL_* bits of skip. Returns the LABEL_* bits of the
 * target labels it met. */
static unsigned prom_label_block(struct buf *b, const struct row *r, struct fv_arena *tmp, unsigned skip)
{
	unsigned met = 0;
	const struct fv_target *t = r->t;
	struct fv_label l[LABELS_MAX];
	char names[LABELS_MAX][72], port[8];
	bool first = true;
	int n;

	snprintf(port, sizeof(port), "%u", r->port);
	prom_label(b, &first, "target", t->target);
	prom_label(b, &first, "ip", r->ip);
	prom_label(b, &first, "port", port);
	prom_label(b, &first, "name", t->name);
	prom_label(b, &first, "group", t->group);
	prom_label(b, &first, "location", t->location);
	n = fv_labels_parse(t->labels, tmp, l, LABELS_MAX);
	for (int i = 0; i < n; i++) {
		bool dup = !sanitize_label_name(l[i].name, names[i], sizeof(names[i]));
		for (int k = 0; k < i && !dup; k++)
			dup = names[k][0] && strcmp(names[k], names[i]) == 0;
		if (dup) {
			names[i][0] = '\0';
			continue;
		}
		unsigned bit = 0;
		for (size_t k = 0; k < sizeof(check_labels) / sizeof(check_labels[0]); k++)
			if (!strcmp(names[i], check_labels[k]))
				bit = 1u << k;
		met |= bit;
		if (!(skip & bit))
			prom_label(b, &first, names[i], l[i].value);
	}
	return met;
}

static int cmp_row(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	int ra = fv_state_rank(a->t->state), rb = fv_state_rank(b->t->state);

	if (ra != rb)
		return ra - rb;
	if (ra < fv_state_rank(FV_UNKNOWN) && a->t->since_ns != b->t->since_ns)
		return a->t->since_ns < b->t->since_ns ? -1 : 1; /* longest in trouble first */
	int c = memcmp(a->key, b->key, sizeof(a->key));
	return c ? c : strcmp(a->t->location, b->t->location);
}

/* A target's state in one location, to count each target once. */
struct tstate {
	const char *target;
	enum fv_state state;
	const struct fv_check *check;
};

/* What the overview marks (docs/consumers.md): the check failed, or its
 * certificate is running out as the prober judged it (cert_expiring), or
 * is past it (cert_expired, or expired whatever the verdict). */
static bool check_failing(const struct fv_check *c)
{
	return c->ok == 0;
}

static bool cert_expired(const struct fv_check *c)
{
	return c->ok >= 0 && c->cert_not_after_s > 0 &&
	       (!strcmp(c->verdict, "cert_expired") || (c->cert_days_left != FV_NO_DAYS && c->cert_days_left < 0));
}

static bool cert_expiring(const struct fv_check *c)
{
	return c->ok >= 0 && c->cert_not_after_s > 0 && !cert_expired(c) && !strcmp(c->verdict, "cert_expiring");
}

static int cmp_tstate(const void *pa, const void *pb)
{
	const struct tstate *a = pa, *b = pb;
	int c = strcmp(a->target, b->target);

	return c ? c : fv_state_rank(a->state) - fv_state_rank(b->state);
}

/* The row's Prometheus label block (prom, prom_len, clash) into a, with b
 * and tmp as scratch. Returns 0 or -ENOMEM. */
static int row_prom(struct row *w, struct fv_arena *a, struct buf *b, struct fv_arena *tmp)
{
	buf_reset(b);
	w->clash = prom_label_block(b, w, tmp, 0);
	w->prom = b->nomem ? NULL : fv_strndup(a, b->s, b->len);
	w->prom_len = b->len;
	return w->prom ? 0 : -ENOMEM;
}

/* Fills the derived fields of the rows; returns -ENOMEM or 0. The label
 * block only for the rows /metrics shows one by one: at a million rows it
 * is a good part of a snapshot's time and memory (/probe makes its own). */
static int rows_prepare(struct snapshot *s)
{
	struct buf b = { 0 };
	struct fv_arena tmp = { 0 };
	char ip[64];
	int r = 0;

	for (size_t i = 0; i < s->nrows && r == 0; i++) {
		struct row *w = &s->rows[i];
		struct in6_addr a6;
		struct in_addr a4;

		if (fv_target_split(w->t->target, ip, sizeof(ip), &w->port) < 0) {
			ip[0] = '\0';
			w->port = 0;
		}
		memset(w->key, 0xff, sizeof(w->key));
		if (inet_pton(AF_INET, ip, &a4) == 1) {
			memset(w->key, 0, 10);
			w->key[10] = w->key[11] = 0xff;
			memcpy(w->key + 12, &a4, 4);
		} else if (inet_pton(AF_INET6, ip, &a6) == 1) {
			memcpy(w->key, &a6, 16);
		}
		w->key[16] = (uint8_t)(w->port >> 8);
		w->key[17] = (uint8_t)w->port;
		w->ip = fv_strndup(&s->a, ip, strlen(ip));
		if (!w->ip || (w->per_target && row_prom(w, &s->a, &b, &tmp) < 0))
			r = -ENOMEM;
		if (i % 1024 == 1023)
			fv_arena_release(&tmp);
	}
	fv_arena_release(&tmp);
	buf_release(&b);
	return r;
}

/* A prober's config holds at most this many groups (docs/redis.md). */
#define GROUPS_PER_PROBER 4096

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The groups whose targets get series of their own in /metrics, for
 * location loc: those the live probers of loc name in their heartbeat's
 * metrics_per_target; for a location none of whose live probers says
 * (synwatch-quorum's global, or one whose probers are all gone), those
 * every live prober names. Sorted, into *out (from the arena); returns the
 * count, or -ENOMEM. */
static int per_target_groups(const struct snapshot *s, struct fv_arena *a, const char *loc, const char ***out)
{
	const char **v = NULL;
	size_t n = 0, cap = 0;
	bool said = false;

	*out = NULL;
	for (int any = 0; any < 2 && !said; any++) {
		for (size_t i = 0; i < s->nprobers; i++) {
			const struct fv_prober *p = &s->probers[i];
			const char *f = fv_record_get(&p->h, "metrics_per_target");
			if (!p->alive || !f || (!any && strcmp(p->location, loc)))
				continue;
			said = true;
			if (n + GROUPS_PER_PROBER > cap) {
				const char **w = fv_alloc(a, (cap + GROUPS_PER_PROBER) * sizeof(*w));
				if (!w)
					return -ENOMEM;
				if (n)
					memcpy(w, v, n * sizeof(*w));
				v = w;
				cap += GROUPS_PER_PROBER;
			}
			int k = fv_strings_parse(f, a, v + n, GROUPS_PER_PROBER);
			if (k == -ENOMEM)
				return k;
			if (k > 0)
				n += (size_t)k;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return (int)n;
}

static bool named(const char *group, const char *const *names, size_t n)
{
	return n && bsearch(&group, names, n, sizeof(*names), cmp_str);
}

/* Counts the rows by (location, group) and state into s->groups, through
 * an open-addressing table on the group's name (rows of one location
 * come together: l tells them apart). */
struct group_table {
	size_t *slot;      /* index into s->groups + 1; 0 empty */
	size_t cap;        /* a power of two, kept over twice the groups */
};

static uint64_t name_hash(const char *s, size_t l)
{
	uint64_t h = 1469598103934665603ull ^ l;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static int group_count(struct snapshot *s, struct group_table *gt, size_t *cap, size_t l, const struct fv_target *t)
{
	if (2 * (s->ngroups + 1) > gt->cap) {
		size_t ncap = gt->cap ? 2 * gt->cap : 64;
		size_t *slot = calloc(ncap, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		for (size_t i = 0; i < gt->cap; i++) {
			if (!gt->slot[i])
				continue;
			const struct group_count *g = &s->groups[gt->slot[i] - 1];
			size_t gl = 0;
			while (strcmp(s->locs[gl], g->loc))
				gl++;
			size_t k = name_hash(g->group, gl) & (ncap - 1);
			while (slot[k])
				k = (k + 1) & (ncap - 1);
			slot[k] = gt->slot[i];
		}
		free(gt->slot);
		gt->slot = slot;
		gt->cap = ncap;
	}
	size_t k = name_hash(t->group, l) & (gt->cap - 1);
	for (; gt->slot[k]; k = (k + 1) & (gt->cap - 1)) {
		struct group_count *g = &s->groups[gt->slot[k] - 1];
		if (g->loc == s->locs[l] && !strcmp(g->group, t->group)) {
			g->n[t->state]++;
			return 0;
		}
	}
	if (s->ngroups == *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		struct group_count *v = realloc(s->groups, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->groups = v;
		*cap = ncap;
	}
	s->groups[s->ngroups] = (struct group_count){ .loc = s->locs[l], .group = t->group };
	s->groups[s->ngroups].n[t->state]++;
	gt->slot[k] = ++s->ngroups;
	return 0;
}

static int cmp_group(const void *pa, const void *pb)
{
	const struct group_count *a = pa, *b = pb;
	int c = strcmp(a->loc, b->loc);

	return c ? c : strcmp(a->group, b->group);
}

static int snapshot_fill(struct snapshot *s, struct fleetview *fv, const struct options *o)
{
	struct group_table gt = { 0 };
	size_t gcap = 0;
	struct fv_target **per = NULL;
	int *nper = NULL;
	struct tstate *ts = NULL;
	int r;

	/* an exporter started before the first prober wrote learns that one did */
	if (!fleetview_has_schema(fv) && (r = fleetview_check_schema(fv)) < 0)
		return r;
	r = fleetview_locations(fv, &s->a, o->locations, o->n_locations, &s->locs);
	if (r < 0)
		return r;
	s->nlocs = (size_t)r;
	s->has_schema = fleetview_has_schema(fv);
	per = calloc(s->nlocs + 1, sizeof(*per));
	nper = calloc(s->nlocs + 1, sizeof(*nper));
	s->counts = fv_alloc(&s->a, (s->nlocs + 1) * sizeof(*s->counts));
	if (!per || !nper || !s->counts) {
		r = -ENOMEM;
		goto out;
	}
	memset(s->counts, 0, (s->nlocs + 1) * sizeof(*s->counts));
	size_t total = 0;
	for (size_t l = 0; l < s->nlocs; l++) {
		if ((r = fleetview_location_targets(fv, &s->a, s->locs[l], &per[l])) < 0)
			goto out;
		nper[l] = r;
		total += (size_t)r;
	}
	r = fleetview_probers(fv, &s->a, 1000, &s->probers);
	if (r < 0)
		goto out;
	s->nprobers = (size_t)r;
	if ((r = fleetview_histograms(fv, &s->a, s->locs, s->nlocs, &s->histos)) < 0)
		goto out;
	s->nhistos = (size_t)r;

	s->rows = fv_alloc(&s->a, (total + 1) * sizeof(*s->rows));
	ts = malloc((total + 1) * sizeof(*ts));
	if (!s->rows || !ts) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t l = 0; l < s->nlocs; l++) {
		const char **ptg = NULL;
		int nptg = 0;
		if (o->per_target == PER_TARGET_CONFIG && (nptg = per_target_groups(s, &s->a, s->locs[l], &ptg)) < 0) {
			r = nptg;
			goto out;
		}
		for (int i = 0; i < nper[l]; i++) {
			const struct fv_target *t = &per[l][i];
			bool pt = o->per_target == PER_TARGET_ALL || named(t->group, ptg, (size_t)nptg);
			s->rows[s->nrows] = (struct row){ .t = t, .per_target = pt };
			ts[s->nrows++] = (struct tstate){ t->target, t->state, &t->check };
			s->counts[l][t->state]++;
			s->counts[l][FV_ALL]++;
			s->n_pt_rows += pt;
			if ((r = group_count(s, &gt, &gcap, l, t)) < 0)
				goto out;
		}
	}
	if (s->ngroups > 1) /* none: no array at all */
		qsort(s->groups, s->ngroups, sizeof(*s->groups), cmp_group);
	/* each target once, by its worst state over the locations */
	qsort(ts, s->nrows, sizeof(*ts), cmp_tstate);
	for (size_t i = 0; i < s->nrows;) {
		size_t k = i;
		bool checked = false, failing = false, cert = false, expiring = false, expired = false;
		s->ntargets++;
		s->overall[ts[i].state]++;
		s->overall[FV_ALL]++;
		for (; k < s->nrows && !strcmp(ts[k].target, ts[i].target); k++) {
			checked |= ts[k].check->ok >= 0;
			failing |= check_failing(ts[k].check);
			cert |= ts[k].check->ok >= 0 && ts[k].check->cert_not_after_s > 0;
			expiring |= cert_expiring(ts[k].check);
			expired |= cert_expired(ts[k].check);
		}
		s->checks.checked += checked;
		s->checks.failing += failing;
		s->checks.certs += cert;
		s->checks.certs_expired += expired;
		s->checks.certs_expiring += expiring && !expired;
		i = k;
	}
	if ((r = rows_prepare(s)) < 0)
		goto out;
	qsort(s->rows, s->nrows, sizeof(*s->rows), cmp_row);
	if (s->n_pt_rows == s->nrows) {
		s->pt_rows = s->rows;
	} else if (s->n_pt_rows) {
		if (!(s->pt_rows = fv_alloc(&s->a, s->n_pt_rows * sizeof(*s->pt_rows)))) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0, k = 0; i < s->nrows; i++)
			if (s->rows[i].per_target)
				s->pt_rows[k++] = s->rows[i];
	}
	r = 0;
out:
	free(gt.slot);
	free(per);
	free(nper);
	free(ts);
	return r;
}

static struct snapshot *snapshot_read(struct exporter *x)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	struct fleetview *fv;
	uint64_t t0 = clock_mono_ns();

	if (!s)
		return NULL;
	pthread_mutex_init(&s->render_lock, NULL);
	s->taken_real_ns = clock_real_ns();
	fv = pool_get(x, s->errmsg, sizeof(s->errmsg));
	if (!fv) {
		s->err = -ECONNREFUSED;
	} else {
		s->err = snapshot_fill(s, fv, x->o);
		if (s->err == -ENOMEM)
			snprintf(s->errmsg, sizeof(s->errmsg), "out of memory reading the fleet");
		else if (s->err < 0)
			snprintf(s->errmsg, sizeof(s->errmsg), "%s", fleetview_error(fv));
		pool_put(x, fv);
	}
	if (s->err < 0) {
		/* keep nothing half-read */
		fv_arena_release(&s->a);
		s->locs = NULL;
		s->rows = s->pt_rows = NULL;
		s->histos = NULL;
		free(s->groups);
		s->groups = NULL;
		s->nlocs = s->nrows = s->ntargets = s->nprobers = s->n_pt_rows = s->ngroups = s->nhistos = 0;
		memset(s->overall, 0, sizeof(s->overall));
		log_warn("cannot read the fleet: %s", s->errmsg);
	}
	s->taken_mono_ns = clock_mono_ns();
	s->read_s = (double)(s->taken_mono_ns - t0) / 1e9;
	return s;
}

/* A read that takes longer than this makes the fleet "slow": its requests
 * get the last snapshot at once while the next one is read. */
#define SLOW_READ_NS (NSEC_PER_SEC / 2)

/* Reads a snapshot and makes it the current one; the caller set
 * refreshing. Returns it with a reference for the caller (NULL when out of
 * memory), or, with keep false, without. */
static struct snapshot *snapshot_refresh(struct exporter *x, bool keep)
{
	struct snapshot *s = snapshot_read(x), *old;

	pthread_mutex_lock(&x->lock);
	x->refreshing = false;
	pthread_cond_broadcast(&x->cond);
	if (!s) {
		pthread_mutex_unlock(&x->lock);
		return NULL;
	}
	x->reads++;
	x->read_errors += s->err < 0;
	old = x->snap;
	x->snap = s;
	s->refs = keep ? 2 : 1; /* the exporter's, and the caller's */
	pthread_mutex_unlock(&x->lock);
	snapshot_put(x, old);
	return keep ? s : NULL;
}

static void *refresh_main(void *arg)
{
	snapshot_refresh(arg, false);
	return NULL;
}

/* Under the lock: a read of the next snapshot is under way, or one was
 * started on a thread of its own. */
static bool refresh_behind(struct exporter *x)
{
	pthread_attr_t at;
	pthread_t th;

	if (x->refreshing)
		return true;
	if (pthread_attr_init(&at) != 0)
		return false;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	x->refreshing = pthread_create(&th, &at, refresh_main, x) == 0;
	pthread_attr_destroy(&at);
	return x->refreshing;
}

/* The current snapshot (release with snapshot_put), read again when it is
 * older than --max-age. One request reads, the others wait for it; but
 * when the last read was slow and the snapshot is younger than --stale,
 * every request gets it at once, and a thread of its own reads the next.
 * NULL only when out of memory. */
static struct snapshot *snapshot_get(struct exporter *x)
{
	struct snapshot *s;

	pthread_mutex_lock(&x->lock);
	for (;;) {
		s = x->snap;
		uint64_t age = s ? clock_mono_ns() - s->taken_mono_ns : UINT64_MAX;
		/* fresh enough; or a slow fleet's, while the next is read */
		if (s && (age < (uint64_t)x->o->max_age_ns ||
			  (s->read_s * 1e9 > SLOW_READ_NS && age < (uint64_t)x->o->stale_ns && refresh_behind(x)))) {
			s->refs++;
			pthread_mutex_unlock(&x->lock);
			return s;
		}
		if (!x->refreshing)
			break;
		pthread_cond_wait(&x->cond, &x->lock);
	}
	x->refreshing = true;
	pthread_mutex_unlock(&x->lock);
	return snapshot_refresh(x, true);
}

/* At the stop: a background read still going finishes first. */
static void snapshot_quiesce(struct exporter *x)
{
	pthread_mutex_lock(&x->lock);
	while (x->refreshing)
		pthread_cond_wait(&x->cond, &x->lock);
	pthread_mutex_unlock(&x->lock);
}

/* ---- /metrics ---- */

static void prom_family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_sample(struct buf *b, const char *name, const char *labels, double v)
{
	buf_puts(b, name);
	if (labels && *labels) {
		buf_add(b, "{", 1);
		buf_puts(b, labels);
		buf_add(b, "}", 1);
	}
	if (v == (double)(int64_t)v && fabs(v) < 9e15)
		buf_printf(b, " %lld\n", (long long)v);
	else
		buf_printf(b, " %.15g\n", v);
}

/* value / 10^dec in decimal, without trailing zeros: (412337, 9) gives
 * 0.000412337. printf is most of the time of a 100k-target scrape. */
static void prom_fixed(struct buf *b, int64_t value, int dec)
{
	char digits[24], out[32];
	uint64_t v = value < 0 ? -(uint64_t)value : (uint64_t)value;
	int nd = 0, n = 0, low = 0;

	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (nd <= dec)
		digits[nd++] = '0';
	while (low < dec && digits[low] == '0')
		low++;
	if (value < 0)
		out[n++] = '-';
	for (int i = nd - 1; i >= dec; i--)
		out[n++] = digits[i];
	if (low < dec)
		out[n++] = '.';
	for (int i = dec - 1; i >= low; i--)
		out[n++] = digits[i];
	buf_add(b, out, (size_t)n);
}

/* NAME{the row's labels[,extra]} VALUE/10^dec */
static void prom_row(struct buf *b, const char *name, size_t name_len, const struct row *w, const char *extra,
		     int64_t value, int dec)
{
	buf_add(b, name, name_len);
	buf_add(b, "{", 1);
	buf_add(b, w->prom, w->prom_len);
	if (extra)
		buf_puts(b, extra);
	buf_add(b, "} ", 2);
	prom_fixed(b, value, dec);
	buf_add(b, "\n", 1);
}

#define PROM_ROW(b, name, w, extra, value, dec) prom_row(b, name, sizeof(name) - 1, w, extra, value, dec)

static void render_targets(struct buf *b, const struct snapshot *s)
{
	static const char *const state_labels[FV_NSTATES] = {
		",state=\"unknown\"", ",state=\"up\"", ",state=\"degraded\"", ",state=\"down\"", ",state=\"flapping\"",
	};

	prom_family(b, "probe_success", "gauge",
		    "Whether the target accepts connections: 1 when its state is up or degraded, 0 when down or "
		    "flapping; absent while unknown.");
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].t->state != FV_UNKNOWN)
			PROM_ROW(b, "probe_success", &s->rows[i], NULL, fv_state_ok(s->rows[i].t->state), 0);
	prom_family(b, "probe_duration_seconds", "gauge",
		    "Handshake round-trip time of the last check (SYN to SYN-ACK or RST), seconds; absent when "
		    "the last check got no answer.");
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].t->last_rtt_us >= 0)
			PROM_ROW(b, "probe_duration_seconds", &s->rows[i], NULL, llround(s->rows[i].t->last_rtt_us * 1e3),
				 9);
	prom_family(b, "synwatch_target_state", "gauge",
		    "The target's state as one location sees it: one series per target, value 1, the state "
		    "(unknown, up, degraded, down, flapping) in the state label.");
	for (size_t i = 0; i < s->nrows; i++)
		PROM_ROW(b, "synwatch_target_state", &s->rows[i], state_labels[s->rows[i].t->state], 1, 0);
	prom_family(b, "synwatch_target_state_since_timestamp_seconds", "gauge",
		    "When the target entered its current state, Unix seconds.");
	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].t->since_ns > 0)
			PROM_ROW(b, "synwatch_target_state_since_timestamp_seconds", &s->rows[i], NULL,
				 s->rows[i].t->since_ns / 1000000, 3);
}

static void render_locations(struct buf *b, const struct snapshot *s)
{
	prom_family(b, "synwatch_targets", "gauge", "Targets per location and state (idx:LOC:STATE).");
	for (size_t l = 0; l < s->nlocs; l++) {
		for (int st = 0; st < FV_NSTATES; st++) {
			struct buf lb = { 0 };
			bool first = true;
			prom_label(&lb, &first, "location", s->locs[l]);
			prom_label(&lb, &first, "state", fv_state_name(st));
			prom_sample(b, "synwatch_targets", lb.nomem ? "" : lb.s, (double)s->counts[l][st]);
			buf_release(&lb);
		}
	}
}

/* The group aggregates every group has, whatever its metrics setting:
 * targets by state, and the handshake histograms (docs/consumers.md,
 * "Series count and scrape cost"). */
static void loc_group_labels(struct buf *lb, const char *loc, const char *group)
{
	bool first = true;

	buf_reset(lb);
	prom_label(lb, &first, "location", loc);
	prom_label(lb, &first, "group", group);
}

/* synwatch_handshake_duration_seconds_SUFFIX{LABELS[,le="BOUND"]} V/10^dec,
 * le for bucket 0 <= le <= HISTO_NBOUNDS (+Inf), none for le < 0. */
static void histo_line(struct buf *b, const char *suffix, const struct buf *lb, int le, uint64_t v, int dec)
{
	buf_puts(b, "synwatch_handshake_duration_seconds");
	buf_puts(b, suffix);
	buf_add(b, "{", 1);
	buf_add(b, lb->s, lb->len);
	if (le >= 0 && le < HISTO_NBOUNDS) {
		buf_puts(b, ",le=\"");
		prom_fixed(b, histo_bound_ns((unsigned)le), 9);
		buf_add(b, "\"", 1);
	} else if (le >= 0) {
		buf_puts(b, ",le=\"+Inf\"");
	}
	buf_add(b, "} ", 2);
	prom_fixed(b, (int64_t)v, dec);
	buf_add(b, "\n", 1);
}

static void render_groups(struct buf *b, const struct snapshot *s)
{
	struct buf lb = { 0 };

	if (s->ngroups)
		prom_family(b, "synwatch_group_targets", "gauge",
		    "Targets per location, group and state (unknown, up, degraded, down, flapping), from their "
		    "state hashes.");
	for (size_t i = 0; i < s->ngroups; i++) {
		const struct group_count *g = &s->groups[i];
		for (int st = 0; st < FV_NSTATES; st++) {
			bool first = false;
			loc_group_labels(&lb, g->loc, g->group);
			prom_label(&lb, &first, "state", fv_state_name(st));
			prom_sample(b, "synwatch_group_targets", lb.nomem ? "" : lb.s, (double)g->n[st]);
		}
	}
	if (s->nhistos)
		prom_family(b, "synwatch_handshake_duration_seconds", "histogram",
		    "Handshake round-trip times (SYN to SYN-ACK or RST) of every answered check, per location and "
		    "group, summed over the location's probers since the counters began (P histo:LOC).");
	for (size_t i = 0; i < s->nhistos; i++) {
		const struct fv_histo *h = &s->histos[i];
		uint64_t cum = 0;
		loc_group_labels(&lb, h->location, h->group);
		if (lb.nomem)
			continue;
		for (unsigned k = 0; k < HISTO_NBOUNDS; k++) {
			cum += h->bucket[k];
			histo_line(b, "_bucket", &lb, (int)k, cum, 0);
		}
		/* +Inf is the count: a field written between two reads of the
		 * hash cannot make the buckets go past it */
		cum += h->bucket[HISTO_NBOUNDS];
		if (h->count > cum)
			cum = h->count;
		histo_line(b, "_bucket", &lb, HISTO_NBOUNDS, cum, 0);
		histo_line(b, "_sum", &lb, -1, h->sum_us, 6);
		histo_line(b, "_count", &lb, -1, cum, 0);
	}
	buf_release(&lb);
}

/* NAME{the row's labels,extra} VALUE/10^dec for a check series whose own
 * label (a LABEL_* bit, 0: none) a target label of the row may also name:
 * the row's block is made again without it then (rare). */
static void check_row(struct buf *b, const char *name, const struct row *w, unsigned own, const char *extra,
		      int64_t value, int dec)
{
	if (!(w->clash & own)) {
		prom_row(b, name, strlen(name), w, extra, value, dec);
		return;
	}
	struct buf lb = { 0 };
	struct fv_arena tmp = { 0 };
	struct row again = *w;
	prom_label_block(&lb, w, &tmp, own);
	again.prom = lb.s ? lb.s : "";
	again.prom_len = lb.len;
	if (!lb.nomem)
		prom_row(b, name, strlen(name), &again, extra, value, dec);
	buf_release(&lb);
	fv_arena_release(&tmp);
}

/* ,NAME="value" with value escaped, into lb (reset first). */
static const char *extra_label(struct buf *lb, const char *name, const char *value)
{
	buf_reset(lb);
	buf_add(lb, ",", 1);
	buf_puts(lb, name);
	buf_add(lb, "=\"", 2);
	fv_prom_value(lb, value);
	buf_add(lb, "\"", 1);
	return lb->nomem ? "" : lb->s;
}

/* The service checks' series (docs/consumers.md): blackbox_exporter's
 * names where it has one, for the dashboards and alerts written for it. */
static void render_checks(struct buf *b, const struct snapshot *s)
{
	struct buf lb = { 0 };
	bool any_check = false, any_cert = false, any_tls = false;

	for (size_t i = 0; i < s->nrows; i++) {
		const struct fv_check *c = &s->rows[i].t->check;
		any_check |= c->ok >= 0;
		any_cert |= c->ok >= 0 && c->cert_not_after_s > 0;
		any_tls |= c->ok >= 0 && *c->tls_version;
	}
	if (any_check) {
		prom_family(b, "probe_check_success", "gauge",
			    "Whether the port's last service check passed (1) or failed (0) as the prober judged it "
			    "(an expired or unverified certificate fails it), the check's kind in the check label; "
			    "absent for a port without a check.");
		for (size_t i = 0; i < s->nrows; i++) {
			const struct row *w = &s->rows[i];
			if (w->t->check.ok >= 0)
				check_row(b, "probe_check_success", w, LABEL_CHECK,
					  extra_label(&lb, "check", w->t->check.kind), fv_check_passed(&w->t->check), 0);
		}
		prom_family(b, "synwatch_check_duration_seconds", "gauge",
			    "How long the last service check took, from connect to the verdict, seconds.");
		for (size_t i = 0; i < s->nrows; i++) {
			const struct row *w = &s->rows[i];
			if (w->t->check.ok >= 0 && w->t->check.us >= 0)
				check_row(b, "synwatch_check_duration_seconds", w, LABEL_CHECK,
					  extra_label(&lb, "check", w->t->check.kind), llround(w->t->check.us * 1e3), 9);
		}
	}
	if (any_cert) {
		prom_family(b, "probe_ssl_earliest_cert_expiry", "gauge",
			    "When the server's certificate expires (its not-after), Unix seconds, as of the last "
			    "check that saw it.");
		for (size_t i = 0; i < s->nrows; i++) {
			const struct row *w = &s->rows[i];
			if (w->t->check.ok >= 0 && w->t->check.cert_not_after_s > 0)
				prom_row(b, "probe_ssl_earliest_cert_expiry", sizeof("probe_ssl_earliest_cert_expiry") - 1, w,
					 NULL, w->t->check.cert_not_after_s, 0);
		}
		prom_family(b, "synwatch_cert_verified", "gauge",
			    "1 when the certificate's chain verifies against the prober's trust store and its name "
			    "matches, 0 when not.");
		for (size_t i = 0; i < s->nrows; i++) {
			const struct row *w = &s->rows[i];
			if (w->t->check.ok >= 0 && w->t->check.cert_verified >= 0)
				prom_row(b, "synwatch_cert_verified", sizeof("synwatch_cert_verified") - 1, w, NULL,
					 w->t->check.cert_verified, 0);
		}
	}
	if (any_tls) {
		prom_family(b, "probe_tls_version_info", "gauge",
			    "The TLS version of the last check, in the version label (\"TLS 1.3\"), value 1.");
		for (size_t i = 0; i < s->nrows; i++) {
			const struct row *w = &s->rows[i];
			if (w->t->check.ok >= 0 && *w->t->check.tls_version)
				check_row(b, "probe_tls_version_info", w, LABEL_VERSION,
					  extra_label(&lb, "version", fv_tls_version_label(w->t->check.tls_version)), 1, 0);
		}
		prom_family(b, "probe_tls_cipher_info", "gauge",
			    "The TLS cipher suite of the last check, in the cipher label, value 1.");
		for (size_t i = 0; i < s->nrows; i++) {
			const struct row *w = &s->rows[i];
			if (w->t->check.ok >= 0 && *w->t->check.tls_cipher)
				check_row(b, "probe_tls_cipher_info", w, LABEL_CIPHER,
					  extra_label(&lb, "cipher", w->t->check.tls_cipher), 1, 0);
		}
	}
	buf_release(&lb);
}

/* The prober hash fields with a meaning of their own (docs/redis.md). */
static const struct prober_metric {
	const char *field, *metric, *type, *help;
	double scale;
} prober_metrics[] = {
	{ "heartbeat", "synwatch_prober_heartbeat_timestamp_seconds", "gauge", "The prober's last heartbeat, Unix seconds.", 1e-3 },
	{ "started", "synwatch_prober_start_timestamp_seconds", "gauge", "When the prober started, Unix seconds.", 1 },
	{ "targets", "synwatch_prober_targets", "gauge", "Targets the prober checks.", 1 },
	{ "rate", "synwatch_prober_rate_limit_pps", "gauge", "The prober's probe rate cap, probes per second.", 1 },
	{ "demand_pps", "synwatch_prober_demand_pps", "gauge", "Probes per second the targets' intervals ask for.", 1 },
	{ "sent_per_s", "synwatch_prober_sent_per_second", "gauge", "Probes sent per second (last second).", 1 },
	{ "replies_per_s", "synwatch_prober_replies_per_second", "gauge", "Replies matched per second (last second).", 1 },
	{ "sent", "synwatch_prober_probes_sent_total", "counter", "Probes sent since the prober started.", 1 },
	{ "replies", "synwatch_prober_replies_total", "counter", "Replies matched to a probe since the prober started.", 1 },
	{ "rejected", "synwatch_prober_replies_rejected_total", "counter", "Replies that failed the cookie check (forged, stale), since the prober started.", 1 },
	{ "pcap_drops", "synwatch_prober_pcap_drops_total", "counter", "Packets the capture dropped (kernel buffer full), since the prober started.", 1 },
	{ "backlog", "synwatch_prober_redis_backlog_records", "gauge", "Records waiting for Redis, in memory and spilled.", 1 },
	{ "spilled", "synwatch_prober_spilled_records", "gauge", "Records waiting for Redis in the spill file.", 1 },
	{ "overloaded", "synwatch_prober_overloaded", "gauge", "1 while the targets ask for more than the rate cap (intervals are stretched).", 1 },
	{ "isolated", "synwatch_prober_isolated", "gauge", "1 while the prober believes its own network is cut off (most checks failing).", 1 },
};
#define N_PROBER_METRICS (sizeof(prober_metrics) / sizeof(prober_metrics[0]))

/* Fields that are text, not numbers. */
static bool prober_text_field(const char *f)
{
	return !strcmp(f, "location") || !strcmp(f, "host") || !strcmp(f, "version") || !strcmp(f, "state_counts") ||
	       !strcmp(f, "metrics_per_target");
}

static bool known_prober_field(const char *f)
{
	for (size_t i = 0; i < N_PROBER_METRICS; i++)
		if (!strcmp(f, prober_metrics[i].field))
			return true;
	return prober_text_field(f);
}

static bool number_of(const char *s, double *v)
{
	char *end;

	if (!s || !*s)
		return false;
	*v = strtod(s, &end);
	return !*end && isfinite(*v);
}

static void prober_labels(struct buf *b, const struct fv_prober *p, const char *k, const char *v)
{
	bool first = true;

	buf_reset(b);
	prom_label(b, &first, "prober", p->id);
	prom_label(b, &first, "location", p->location);
	if (k)
		prom_label(b, &first, k, v);
}

static void render_probers(struct buf *b, const struct snapshot *s)
{
	struct buf lb = { 0 };
	struct fv_arena tmp = { 0 };
	double v;

	prom_family(b, "synwatch_prober_up", "gauge",
		    "1 while the prober's heartbeat hash exists (it expires 5 s after the last heartbeat).");
	for (size_t i = 0; i < s->nprobers; i++) {
		prober_labels(&lb, &s->probers[i], NULL, NULL);
		prom_sample(b, "synwatch_prober_up", lb.s, s->probers[i].alive);
	}
	prom_family(b, "synwatch_prober_last_seen_timestamp_seconds", "gauge",
		    "The prober's last heartbeat as kept in P probers (for an hour), Unix seconds.");
	for (size_t i = 0; i < s->nprobers; i++) {
		prober_labels(&lb, &s->probers[i], NULL, NULL);
		prom_sample(b, "synwatch_prober_last_seen_timestamp_seconds", lb.s,
			    (double)s->probers[i].last_ms / 1e3);
	}
	prom_family(b, "synwatch_prober_info", "gauge", "The prober's host and version, value 1.");
	for (size_t i = 0; i < s->nprobers; i++) {
		const struct fv_prober *p = &s->probers[i];
		const char *host = fv_record_get(&p->h, "host"), *ver = fv_record_get(&p->h, "version");
		bool first = false;
		if (!p->alive)
			continue;
		prober_labels(&lb, p, "host", host ? host : "");
		prom_label(&lb, &first, "version", ver ? ver : "");
		prom_sample(b, "synwatch_prober_info", lb.s, 1);
	}
	for (size_t m = 0; m < N_PROBER_METRICS; m++) {
		const struct prober_metric *pm = &prober_metrics[m];
		bool any = false;
		for (size_t i = 0; i < s->nprobers; i++) {
			if (!number_of(fv_record_get(&s->probers[i].h, pm->field), &v))
				continue;
			if (!any)
				prom_family(b, pm->metric, pm->type, pm->help);
			any = true;
			prober_labels(&lb, &s->probers[i], NULL, NULL);
			prom_sample(b, pm->metric, lb.s, v * pm->scale);
		}
	}
	prom_family(b, "synwatch_prober_targets_by_state", "gauge",
		    "The prober's targets per state (its state_counts).");
	for (size_t i = 0; i < s->nprobers; i++) {
		const char *sc = fv_record_get(&s->probers[i].h, "state_counts");
		struct fv_label l[FV_NSTATES + 8];
		int n = sc ? fv_labels_parse(sc, &tmp, l, FV_NSTATES + 8) : 0;
		for (int k = 0; k < n; k++) {
			if (!number_of(l[k].value, &v))
				continue;
			prober_labels(&lb, &s->probers[i], "state", l[k].name);
			prom_sample(b, "synwatch_prober_targets_by_state", lb.s, v);
		}
	}
	/* numeric fields this exporter has no name for (a newer prober's):
	 * exported as they are, so that nothing the prober says is lost */
	for (size_t i = 0; i < s->nprobers; i++) {
		const struct fv_record *h = &s->probers[i].h;
		for (size_t f = 0; f < h->n; f++) {
			char name[160], san[96];
			bool seen = false;
			if (known_prober_field(h->keys[f]) || !number_of(h->vals[f], &v) ||
			    !sanitize_label_name(h->keys[f], san, sizeof(san)))
				continue;
			/* already written for an earlier prober? */
			for (size_t e = 0; e < i && !seen; e++)
				seen = fv_record_get(&s->probers[e].h, h->keys[f]) &&
				       number_of(fv_record_get(&s->probers[e].h, h->keys[f]), &v);
			if (seen)
				continue;
			snprintf(name, sizeof(name), "synwatch_prober_%s", san);
			prom_family(b, name, "gauge", "A numeric field of the prober's hash, as it is.");
			for (size_t k = i; k < s->nprobers; k++) {
				if (!number_of(fv_record_get(&s->probers[k].h, h->keys[f]), &v))
					continue;
				prober_labels(&lb, &s->probers[k], NULL, NULL);
				prom_sample(b, name, lb.s, v);
			}
		}
	}
	buf_release(&lb);
	fv_arena_release(&tmp);
}

static void render_self(struct buf *b, const struct snapshot *s, uint64_t reads, uint64_t errors)
{
	prom_family(b, "synwatch_exporter_per_target_rows", "gauge",
		    "(target, location) rows whose series /metrics shows one by one (their group says metrics: "
		    "per_target, or --per-target all).");
	prom_sample(b, "synwatch_exporter_per_target_rows", NULL, (double)s->n_pt_rows);
	prom_family(b, "synwatch_up", "gauge",
		    "1 when Redis could be read and has synwatch's schema " SCHEMA_VERSION
		    " (or no schema key yet).");
	prom_sample(b, "synwatch_up", NULL, s->err == 0);
	prom_family(b, "synwatch_exporter_read_duration_seconds", "gauge",
		    "How long reading the fleet from Redis took for this scrape's snapshot.");
	prom_sample(b, "synwatch_exporter_read_duration_seconds", NULL, s->read_s);
	prom_family(b, "synwatch_exporter_snapshot_timestamp_seconds", "gauge",
		    "When the snapshot this scrape shows was read, Unix seconds.");
	prom_sample(b, "synwatch_exporter_snapshot_timestamp_seconds", NULL,
		    (double)(s->taken_real_ns / 1000000) / 1e3);
	prom_family(b, "synwatch_exporter_reads_total", "counter", "Snapshots read from Redis.");
	prom_sample(b, "synwatch_exporter_reads_total", NULL, (double)reads);
	prom_family(b, "synwatch_exporter_read_errors_total", "counter", "Snapshots that could not be read.");
	prom_sample(b, "synwatch_exporter_read_errors_total", NULL, (double)errors);
}

/* The rendered /metrics of s: made on the first scrape, then shared. */
static struct MHD_Response *metrics_of(struct exporter *x, struct snapshot *s)
{
	struct MHD_Response *resp;
	struct buf b = { 0 };
	uint64_t reads, errors;

	pthread_mutex_lock(&s->render_lock);
	if (s->metrics)
		goto out;
	pthread_mutex_lock(&x->lock);
	reads = x->reads;
	errors = x->read_errors;
	pthread_mutex_unlock(&x->lock);
	/* about 150 bytes a series, 4 series a target, 27 a group: one allocation */
	buf_reserve(&b, s->n_pt_rows * 600 + (s->ngroups + s->nhistos) * 4096 + 65536);
	render_self(&b, s, reads, errors);
	if (s->err == 0) {
		/* the targets one by one: those whose group asked */
		struct snapshot pt = { .rows = s->pt_rows, .nrows = s->n_pt_rows };
		render_targets(&b, &pt);
		render_locations(&b, s);
		render_groups(&b, s);
		render_checks(&b, &pt);
		render_probers(&b, s);
	}
	if (b.nomem) {
		buf_release(&b);
		goto out;
	}
	resp = MHD_create_response_from_buffer(b.len, b.s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		buf_release(&b);
		goto out;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	s->metrics = resp;
out:
	pthread_mutex_unlock(&s->render_lock);
	return s->metrics;
}

/* ---- JSON API ---- */

/* Unix ns as JSON seconds with milliseconds, null for 0. */
static void jtime(struct buf *b, bool *first, const char *k, int64_t ns)
{
	json_put_kn(b, first, k, ns > 0 ? (double)(ns / 1000000) / 1e3 : NAN);
}

/* A labels JSON text, checked and written again (never passed through). */
static void json_labels(struct buf *b, const char *labels, struct fv_arena *tmp)
{
	struct fv_label l[LABELS_MAX];
	int n = fv_labels_parse(labels, tmp, l, LABELS_MAX);
	bool first = true;

	buf_add(b, "{", 1);
	for (int i = 0; i < n; i++)
		json_put_kv(b, &first, l[i].name, l[i].value);
	buf_add(b, "}", 1);
}

static void json_target(struct buf *b, const struct fv_target *t, const char *ip, unsigned port,
			struct fv_arena *tmp)
{
	bool first = true;

	buf_add(b, "{", 1);
	json_put_kv(b, &first, "target", t->target);
	json_put_kv(b, &first, "ip", ip);
	json_put_kn(b, &first, "port", port);
	json_put_kv(b, &first, "name", t->name);
	json_put_kv(b, &first, "group", t->group);
	json_put_kv(b, &first, "location", t->location);
	json_put_kv(b, &first, "state", fv_state_name(t->state));
	jtime(b, &first, "since", t->since_ns);
	json_put_kv(b, &first, "reason", t->reason);
	json_put_kv(b, &first, "last_result", t->last_result);
	json_put_kn(b, &first, "last_rtt_us", t->last_rtt_us >= 0 ? t->last_rtt_us : NAN);
	jtime(b, &first, "last_ts", t->last_ts_ns);
	json_put_kv(b, &first, "prober", t->prober);
	json_put_key(b, &first, "labels");
	json_labels(b, t->labels, tmp);
	json_put_key(b, &first, "check");
	fv_check_json(b, &t->check);
	buf_add(b, "}", 1);
}

static void json_record(struct buf *b, const struct fv_record *r)
{
	bool first = true;

	buf_add(b, "{", 1);
	if (r->id)
		json_put_kv(b, &first, "stream_id", r->id);
	for (size_t i = 0; i < r->n; i++)
		json_put_kv(b, &first, r->keys[i], r->vals[i]);
	buf_add(b, "}", 1);
}

static void json_records(struct buf *b, const struct fv_record *r, size_t n)
{
	buf_add(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_add(b, ",", 1);
		json_record(b, &r[i]);
	}
	buf_add(b, "]", 1);
}

static void json_counts(struct buf *b, const uint64_t *c)
{
	bool first = true;

	buf_add(b, "{", 1);
	for (int st = 0; st < FV_NSETS; st++)
		json_put_kn(b, &first, fv_state_name(st), (double)c[st]);
	buf_add(b, "}", 1);
}

/* ---- HTTP ---- */

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned status, const char *type, struct buf *b)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (b->nomem) {
		buf_release(b);
		static const char oom[] = "out of memory\n";
		resp = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		type = "text/plain; charset=utf-8";
	} else {
		size_t len;
		char *s = buf_steal(b, &len);
		resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(s);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, struct buf *b)
{
	return send_buf(conn, status, "application/json; charset=utf-8", b);
}

__attribute__((format(printf, 3, 4))) static enum MHD_Result send_error(struct MHD_Connection *conn,
									unsigned status, const char *fmt, ...)
{
	struct buf b = { 0 }, msg = { 0 };
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	buf_puts(&b, "{\"error\":");
	json_put_str(&b, msg.s ? msg.s : "");
	buf_puts(&b, "}\n");
	buf_release(&msg);
	return send_json(conn, status, &b);
}

static const char *arg(struct MHD_Connection *conn, const char *name)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	return v ? v : "";
}

/* A whole number from min to max, def when absent; -1 when bad. */
static long arg_long(struct MHD_Connection *conn, const char *name, long def, long min, long max)
{
	const char *s = arg(conn, name);
	uint64_t v;

	if (!*s)
		return def;
	return num_parse_uint(s, (uint64_t)min, (uint64_t)max, &v) < 0 ? -1 : (long)v;
}

/* ---- /probe ---- */

/* /probe?target=IP:PORT[&location=LOC]: one target's series, as every
 * location (or LOC) sees it, for those who scrape targets one by one as
 * blackbox_exporter's users do (docs/consumers.md, "One target per
 * scrape"); with probe_ip_protocol, which /metrics leaves out. */
static bool row_is(const struct row *w, const char *target, const char *loc)
{
	return !strcmp(w->t->target, target) && (!*loc || !strcmp(w->t->location, loc));
}

static enum MHD_Result probe_one(struct MHD_Connection *conn, const struct snapshot *s)
{
	const char *target = arg(conn, "target"), *loc = arg(conn, "location");
	struct snapshot sub = { 0 };
	struct buf b = { 0 };

	if (!*target)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "/probe needs target=IP:PORT ([IPv6]:PORT), as in the Redis keys");
	for (size_t i = 0; i < s->nrows; i++)
		sub.nrows += row_is(&s->rows[i], target, loc);
	if (!sub.nrows)
		return send_error(conn, MHD_HTTP_NOT_FOUND, "no target '%s'%s%s in Redis: is it monitored?", target,
				  *loc ? " in location " : "", loc);
	struct row *rows = calloc(sub.nrows, sizeof(*rows));
	if (!rows)
		return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	struct fv_arena pa = { 0 }, tmp = { 0 };
	struct buf lb = { 0 };
	sub.nrows = 0;
	for (size_t i = 0; i < s->nrows; i++)
		if (row_is(&s->rows[i], target, loc))
			rows[sub.nrows++] = s->rows[i];
	for (size_t i = 0; i < sub.nrows; i++)
		if (!rows[i].prom && row_prom(&rows[i], &pa, &lb, &tmp) < 0) {
			free(rows);
			fv_arena_release(&pa);
			fv_arena_release(&tmp);
			buf_release(&lb);
			return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		}
	fv_arena_release(&tmp);
	buf_release(&lb);
	sub.rows = rows;
	render_targets(&b, &sub);
	render_checks(&b, &sub);
	prom_family(&b, "probe_ip_protocol", "gauge", "The IP version of the target's address, 4 or 6.");
	for (size_t i = 0; i < sub.nrows; i++)
		PROM_ROW(&b, "probe_ip_protocol", &rows[i], NULL, strchr(rows[i].ip, ':') ? 6 : 4, 0);
	free(rows);
	fv_arena_release(&pa);
	return send_buf(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b);
}

static bool in_location(const struct snapshot *s, const char *loc)
{
	for (size_t l = 0; l < s->nlocs; l++)
		if (!strcmp(s->locs[l], loc))
			return true;
	return false;
}

static enum MHD_Result api_summary(struct exporter *x, struct MHD_Connection *conn, struct snapshot *s)
{
	struct buf b = { 0 };
	struct fv_arena a = { 0 };
	struct fv_record *ev = NULL;
	struct fleetview *fv;
	char err[512] = "";
	int64_t now = clock_real_ns();
	bool first = true;
	int nev = 0;

	if ((fv = pool_get(x, err, sizeof(err)))) {
		nev = fleetview_events(fv, &a, NULL, SUMMARY_EVENTS, &ev);
		if (nev < 0) {
			snprintf(err, sizeof(err), "%s", fleetview_error(fv));
			nev = 0;
		}
		pool_put(x, fv);
	}
	buf_add(&b, "{", 1);
	jtime(&b, &first, "now", now);
	json_put_key(&b, &first, "redis");
	{
		bool f2 = true;
		buf_add(&b, "{", 1);
		json_put_key(&b, &f2, "ok");
		buf_puts(&b, s->err == 0 && !*err ? "true" : "false");
		json_put_kv(&b, &f2, "url", x->url_text);
		json_put_kv(&b, &f2, "prefix", x->o->prefix);
		json_put_key(&b, &f2, "schema");
		buf_puts(&b, s->has_schema ? "true" : "false");
		json_put_kv(&b, &f2, "error", s->err < 0 ? s->errmsg : *err ? err : NULL);
		buf_add(&b, "}", 1);
	}
	json_put_key(&b, &first, "snapshot");
	{
		bool f2 = true;
		buf_add(&b, "{", 1);
		jtime(&b, &f2, "taken", s->taken_real_ns);
		json_put_kn(&b, &f2, "read_s", s->read_s);
		buf_add(&b, "}", 1);
	}
	json_put_key(&b, &first, "locations");
	buf_add(&b, "[", 1);
	for (size_t l = 0; l < s->nlocs; l++) {
		if (l)
			buf_add(&b, ",", 1);
		json_put_str(&b, s->locs[l]);
	}
	buf_add(&b, "]", 1);
	json_put_kn(&b, &first, "targets", (double)s->ntargets);
	json_put_key(&b, &first, "counts");
	json_counts(&b, s->overall);
	json_put_key(&b, &first, "by_location");
	buf_add(&b, "{", 1);
	for (size_t l = 0; l < s->nlocs; l++) {
		bool f2 = l == 0;
		json_put_key(&b, &f2, s->locs[l]);
		json_counts(&b, s->counts[l]);
	}
	buf_add(&b, "}", 1);
	json_put_key(&b, &first, "checks");
	{
		bool f2 = true;
		buf_add(&b, "{", 1);
		json_put_kn(&b, &f2, "checked", (double)s->checks.checked);
		json_put_kn(&b, &f2, "failing", (double)s->checks.failing);
		json_put_kn(&b, &f2, "certs", (double)s->checks.certs);
		json_put_kn(&b, &f2, "certs_expiring", (double)s->checks.certs_expiring);
		json_put_kn(&b, &f2, "certs_expired", (double)s->checks.certs_expired);
		buf_add(&b, "}", 1);
	}
	json_put_key(&b, &first, "probers");
	buf_add(&b, "[", 1);
	for (size_t i = 0; i < s->nprobers; i++) {
		const struct fv_prober *p = &s->probers[i];
		bool f2 = true;
		buf_add(&b, i ? ",{" : "{", i ? 2 : 1);
		json_put_kv(&b, &f2, "id", p->id);
		json_put_kv(&b, &f2, "location", p->location);
		json_put_key(&b, &f2, "alive");
		buf_puts(&b, p->alive ? "true" : "false");
		json_put_kn(&b, &f2, "heartbeat_age_s", (double)(now / 1000000 - p->last_ms) / 1e3);
		json_put_kv(&b, &f2, "status", fv_prober_health_name(fv_prober_health(p, now / 1000000)));
		jtime(&b, &f2, "last_seen", p->last_ms * 1000000);
		json_put_key(&b, &f2, "fields");
		struct fv_record h = p->h;
		h.id = NULL;
		json_record(&b, &h);
		buf_add(&b, "}", 1);
	}
	buf_add(&b, "]", 1);
	json_put_key(&b, &first, "events");
	json_records(&b, ev, (size_t)nev);
	buf_add(&b, "}\n", 2);
	fv_arena_release(&a);
	return send_json(conn, MHD_HTTP_OK, &b);
}

/* /api/targets?state=problem: down, flapping or degraded */
#define STATE_PROBLEM (FV_NSTATES + 100)

/* /api/targets?check=: any, failing (the last check failed), cert (a
 * certificate expiring or expired) */
enum check_filter { CHECK_ANY, CHECK_FAILING, CHECK_CERT };

/* state: an enum fv_state, STATE_PROBLEM, or -1 for any */
static bool row_matches(const struct row *w, int state, enum check_filter cf, const char *q, const char *loc)
{
	const struct fv_target *t = w->t;

	if (cf == CHECK_FAILING && !check_failing(&t->check))
		return false;
	if (cf == CHECK_CERT && !cert_expiring(&t->check) && !cert_expired(&t->check))
		return false;
	if (state == STATE_PROBLEM) {
		if (t->state != FV_DOWN && t->state != FV_DEGRADED && t->state != FV_FLAPPING)
			return false;
	} else if (state >= 0 && (int)t->state != state) {
		return false;
	}
	if (*loc && strcmp(loc, t->location) != 0)
		return false;
	return !*q || strcasestr(t->target, q) || strcasestr(t->name, q) || strcasestr(t->group, q);
}

static enum MHD_Result api_targets(struct MHD_Connection *conn, struct snapshot *s)
{
	const char *st = arg(conn, "state"), *q = arg(conn, "q"), *loc = arg(conn, "location"), *ck = arg(conn, "check");
	enum check_filter cf = CHECK_ANY;
	long offset = arg_long(conn, "offset", 0, 0, LONG_MAX), limit = arg_long(conn, "limit", 100, 0, API_LIMIT_MAX);
	struct buf b = { 0 };
	struct fv_arena tmp = { 0 };
	bool first = true;
	int state = -1;
	size_t total = 0, shown = 0;

	if (*st && !strcmp(st, "problem"))
		state = STATE_PROBLEM;
	else if (*st && (state = fv_state_parse(st)) < 0)
		return send_error(conn, MHD_HTTP_BAD_REQUEST,
				  "state '%s': expected unknown, up, degraded, down, flapping or problem", st);
	if (offset < 0 || limit < 0)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "offset and limit: whole numbers, limit at most %d",
				  API_LIMIT_MAX);
	if (!strcmp(ck, "failing"))
		cf = CHECK_FAILING;
	else if (!strcmp(ck, "cert"))
		cf = CHECK_CERT;
	else if (*ck)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "check '%s': expected failing or cert", ck);
	if (*loc && !in_location(s, loc))
		return send_error(conn, MHD_HTTP_NOT_FOUND, "no location '%s'", loc);
	buf_add(&b, "{", 1);
	json_put_key(&b, &first, "rows");
	buf_add(&b, "[", 1);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct row *w = &s->rows[i];
		if (!row_matches(w, state, cf, q, loc))
			continue;
		if (total++ < (size_t)offset || shown >= (size_t)limit)
			continue;
		if (shown++)
			buf_add(&b, ",", 1);
		json_target(&b, w->t, w->ip, w->port, &tmp);
	}
	buf_add(&b, "]", 1);
	json_put_kn(&b, &first, "total", (double)total);
	json_put_kn(&b, &first, "offset", (double)offset);
	json_put_kn(&b, &first, "limit", (double)limit);
	buf_add(&b, "}\n", 2);
	fv_arena_release(&tmp);
	return send_json(conn, MHD_HTTP_OK, &b);
}

/* One latency series as [[t, n, lost, p50, p95, p99, max, min, mean], ...], µs. */
static void json_latency(struct buf *b, const struct lat_minute *m, size_t n)
{
	static const double q[] = { 0.5, 0.95, 0.99 };

	buf_add(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		buf_printf(b, "%s[%lld,%u,%u", i ? "," : "", (long long)m[i].minute_start_s, m[i].count, m[i].lost);
		for (size_t k = 0; k < 3; k++) {
			int64_t v = lat_minute_quantile(&m[i], q[k]);
			buf_add(b, ",", 1);
			json_put_num(b, v < 0 ? NAN : round((double)v / 100.0) / 10.0);
		}
		bool any = m[i].count > 0;
		buf_add(b, ",", 1);
		json_put_num(b, any ? round((double)m[i].max_ns / 100.0) / 10.0 : NAN);
		buf_add(b, ",", 1);
		json_put_num(b, any ? round((double)m[i].min_ns / 100.0) / 10.0 : NAN);
		buf_add(b, ",", 1);
		json_put_num(b, any ? round((double)lat_minute_mean(&m[i]) / 100.0) / 10.0 : NAN);
		buf_add(b, "]", 1);
	}
	buf_add(b, "]", 1);
}

/* The events about target (or its host) among the newest EVENTS_SCAN_MAX. */
static int target_events(struct fleetview *fv, struct fv_arena *a, const char *target, const char *ip,
			 struct fv_record *out, size_t max)
{
	const char *before = NULL;
	size_t n = 0;

	for (size_t scanned = 0; scanned < EVENTS_SCAN_MAX && n < max;) {
		struct fv_record *ev;
		int r = fleetview_events(fv, a, before, EVENTS_PAGE, &ev);
		if (r < 0)
			return r;
		for (int i = 0; i < r && n < max; i++) {
			const char *t = fv_record_get(&ev[i], "target"), *eip = fv_record_get(&ev[i], "ip");
			const char *kind = fv_record_get(&ev[i], "kind");
			bool host = kind && !strncmp(kind, "host_", 5) && eip && !strcmp(eip, ip);
			if ((t && !strcmp(t, target)) || host)
				out[n++] = ev[i];
		}
		if (r < EVENTS_PAGE)
			break;
		scanned += (size_t)r;
		before = ev[r - 1].id;
	}
	return (int)n;
}

static enum MHD_Result api_target(struct exporter *x, struct MHD_Connection *conn, struct snapshot *s)
{
	const char *target = arg(conn, "t");
	long hours = arg_long(conn, "hours", 24, 1, 24 * 31);
	struct buf b = { 0 };
	struct fv_arena a = { 0 };
	struct fleetview *fv = NULL;
	struct fv_target *t = NULL;
	struct lat_minute **lat = NULL, *merged = NULL;
	size_t *nlat = NULL, nmerged = 0;
	struct fv_record ev[TARGET_EVENTS];
	char ip[64], err[512];
	unsigned port;
	enum MHD_Result ret;
	int nev = 0, r = 0;
	bool first = true, found = false;

	if (fv_target_split(target, ip, sizeof(ip), &port) < 0)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "t '%s': expected IP:PORT or [IPv6]:PORT", target);
	if (hours < 0)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "hours: a whole number from 1 to %d", 24 * 31);
	int64_t now_s = clock_real_ns() / NSEC_PER_SEC, from_s = now_s - hours * 3600;
	int64_t step = 60;
	while ((hours * 3600) / step > LAT_POINTS_MAX)
		step += 60;
	size_t per_loc_max = (size_t)hours * 60 + 2;

	if (!(fv = pool_get(x, err, sizeof(err))))
		return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
	t = calloc(s->nlocs + 1, sizeof(*t));
	lat = calloc(s->nlocs + 1, sizeof(*lat));
	nlat = calloc(s->nlocs + 1, sizeof(*nlat));
	if (!t || !lat || !nlat) {
		r = -ENOMEM;
		goto out;
	}
	size_t total = 0;
	for (size_t l = 0; l < s->nlocs && r >= 0; l++) {
		if ((r = fleetview_targets(fv, &a, s->locs[l], &target, 1, &t[l])) < 0)
			break;
		found |= t[l].present;
		r = fleetview_latency(fv, &a, s->locs[l], target, from_s, per_loc_max, &lat[l], NULL);
		if (r >= 0) {
			nlat[l] = (size_t)r;
			total += nlat[l];
		}
	}
	if (r >= 0)
		r = nev = target_events(fv, &a, target, ip, ev, TARGET_EVENTS);
	if (r < 0)
		goto out;
	if (!found && total == 0) {
		ret = send_error(conn, MHD_HTTP_NOT_FOUND, "no target '%s' in any location", target);
		goto done;
	}
	merged = fv_alloc(&a, (total + 1) * sizeof(*merged));
	struct lat_minute *tmp = fv_alloc(&a, (total + 1) * sizeof(*tmp));
	if (!merged || !tmp) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t l = 0; l < s->nlocs; l++) {
		nmerged = fv_lat_merge_series(tmp, merged, nmerged, lat[l], nlat[l]);
		memcpy(merged, tmp, nmerged * sizeof(*merged));
	}
	nmerged = fv_lat_rebin(merged, nmerged, step);
	/* the whole range as one record per location and merged: exact
	 * quantiles of every sample, not averages of minutes */
	struct lat_minute *whole = fv_alloc(&a, (s->nlocs + 1) * sizeof(*whole));
	if (!whole) {
		r = -ENOMEM;
		goto out;
	}
	lat_minute_init(&whole[s->nlocs], from_s);
	for (size_t i = 0; i < nmerged; i++)
		lat_minute_merge(&whole[s->nlocs], &merged[i]);
	for (size_t l = 0; l < s->nlocs; l++) {
		lat_minute_init(&whole[l], from_s);
		for (size_t i = 0; i < nlat[l]; i++)
			lat_minute_merge(&whole[l], &lat[l][i]);
	}

	const struct fv_target *any = NULL;
	for (size_t l = 0; l < s->nlocs && !any; l++)
		if (t[l].present)
			any = &t[l];
	buf_add(&b, "{", 1);
	json_put_kv(&b, &first, "target", target);
	json_put_kv(&b, &first, "ip", ip);
	json_put_kn(&b, &first, "port", port);
	json_put_kv(&b, &first, "name", any ? any->name : "");
	json_put_kv(&b, &first, "group", any ? any->group : "");
	json_put_key(&b, &first, "labels");
	json_labels(&b, any ? any->labels : "", &a);
	json_put_key(&b, &first, "locations");
	buf_add(&b, "[", 1);
	for (size_t l = 0, k = 0; l < s->nlocs; l++) {
		if (!t[l].present)
			continue;
		if (k++)
			buf_add(&b, ",", 1);
		json_target(&b, &t[l], ip, port, &a);
	}
	buf_add(&b, "]", 1);
	json_put_key(&b, &first, "latency");
	{
		bool f2 = true;
		buf_add(&b, "{", 1);
		json_put_kn(&b, &f2, "from", (double)from_s);
		json_put_kn(&b, &f2, "to", (double)now_s);
		json_put_kn(&b, &f2, "step", (double)step);
		json_put_key(&b, &f2, "columns");
		buf_puts(&b, "[\"t\",\"n\",\"lost\",\"p50_us\",\"p95_us\",\"p99_us\",\"max_us\",\"min_us\",\"mean_us\"]");
		json_put_key(&b, &f2, "summary");
		json_latency(&b, &whole[s->nlocs], 1);
		json_put_key(&b, &f2, "summary_by_location");
		buf_add(&b, "{", 1);
		for (size_t l = 0; l < s->nlocs; l++) {
			bool f3 = l == 0;
			json_put_key(&b, &f3, s->locs[l]);
			json_latency(&b, &whole[l], 1);
		}
		buf_add(&b, "}", 1);
		json_put_key(&b, &f2, "merged");
		json_latency(&b, merged, nmerged);
		json_put_key(&b, &f2, "by_location");
		buf_add(&b, "{", 1);
		for (size_t l = 0, k = 0; l < s->nlocs; l++) {
			bool f3 = k++ == 0;
			nlat[l] = fv_lat_rebin(lat[l], nlat[l], step);
			json_put_key(&b, &f3, s->locs[l]);
			json_latency(&b, lat[l], nlat[l]);
		}
		buf_add(&b, "}}", 2);
	}
	json_put_key(&b, &first, "events");
	json_records(&b, ev, (size_t)nev);
	buf_add(&b, "}\n", 2);
	ret = send_json(conn, MHD_HTTP_OK, &b);
	goto done;
out:
	ret = r == -ENOMEM ? send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory")
			   : send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", fleetview_error(fv));
done:
	pool_put(x, fv);
	buf_release(&b);
	fv_arena_release(&a);
	free(t);
	free(lat);
	free(nlat);
	return ret;
}

/* ---- static files ---- */

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },   { ".svg", "image/svg+xml" },
		{ ".png", "image/png" },                 { ".json", "application/json" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* Files straight in the web directory only: a name of [A-Za-z0-9._-],
 * not starting with a dot, so nothing outside it can be named. */
static bool web_name_ok(const char *name)
{
	if (!*name || *name == '.' || strlen(name) > 128)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static enum MHD_Result serve_file(struct exporter *x, struct MHD_Connection *conn, const char *name)
{
	char path[WEB_DIR_MAX + 160];
	struct MHD_Response *resp;
	struct stat st;
	enum MHD_Result ret;
	int fd;

	if (!x->web_dir[0])
		return send_error(conn, MHD_HTTP_NOT_FOUND, "no web page: the exporter runs without --web");
	if (!web_name_ok(name))
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not found");
	snprintf(path, sizeof(path), "%s/%s", x->web_dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not found");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not found");
	}
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(name));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct exporter *x = cls;
	struct snapshot *s;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
	if (!strcmp(url, "/healthz")) {
		struct buf b = { 0 };
		buf_puts(&b, "ok\n");
		return send_buf(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", &b);
	}
	if (strcmp(url, "/metrics") != 0 && strcmp(url, "/probe") != 0 && strncmp(url, "/api/", 5) != 0)
		return serve_file(x, conn, !strcmp(url, "/") ? "index.html" : url + 1);

	if (!(s = snapshot_get(x)))
		return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	if (!strcmp(url, "/metrics")) {
		struct MHD_Response *resp = metrics_of(x, s);
		ret = resp ? MHD_queue_response(conn, MHD_HTTP_OK, resp)
			   : send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	} else if (s->err < 0) {
		ret = send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", s->errmsg);
	} else if (!strcmp(url, "/probe")) {
		ret = probe_one(conn, s);
	} else if (!strcmp(url, "/api/summary")) {
		ret = api_summary(x, conn, s);
	} else if (!strcmp(url, "/api/targets")) {
		ret = api_targets(conn, s);
	} else if (!strcmp(url, "/api/target")) {
		ret = api_target(x, conn, s);
	} else {
		ret = send_error(conn, MHD_HTTP_NOT_FOUND, "no API '%s': /api/summary, /api/targets, /api/target", url);
	}
	snapshot_put(x, s);
	return ret;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warn("http: %s", line);
}

/* ---- start-up ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: synwatch-exporter [--listen ADDR:PORT] [--redis URL] [--prefix P] [--web DIR]\n"
		"\n"
		"Serves the fleet's state from Redis over HTTP: Prometheus metrics on /metrics\n"
		"(one target's on /probe?target=IP:PORT),\n"
		"the status page on /, its JSON API on /api/summary, /api/targets, /api/target.\n"
		"\n"
		"      --listen ADDR:PORT  where to listen: 127.0.0.1:9490 (default), [::1]:9490,\n"
		"                          0.0.0.0:9490 for every interface\n"
		"      --redis URL         redis://[user:pw@]host[:port][/db], unix:///path.sock[?db=N],\n"
		"                          redis-sentinel://host:port[,...]/master (default $SYNWATCH_REDIS,\n"
		"                          else redis://127.0.0.1:6379)\n"
		"      --prefix P          key prefix (default " SCHEMA_DEFAULT_PREFIX ")\n"
		"      --location LOC      also show LOC when it has no live prober (repeatable)\n"
		"      --web DIR           the status page's files (default: tools/web next to the\n"
		"                          binary, else " SW_WEB_DIR ")\n"
		"      --no-web            no status page, only /metrics and /api\n"
		"      --max-age DUR       reuse a snapshot of the fleet this long (default 1s)\n"
		"      --stale DUR         when a snapshot takes over 0.5s to read, serve the last one\n"
		"                          up to this old while the next is read (default 60s; 0: never)\n"
		"      --per-target MODE   which targets /metrics shows one by one: config (default:\n"
		"                          the groups with metrics: per_target), all, none\n"
		"      --timeout DUR       Redis connect and reply timeout (default 5s)\n"
		"  -q, --quiet             only errors;  -v, --verbose  more\n"
		"  -h, --help              this help\n"
		"\n"
		"Exit: 0 stopped by a signal, 1 Redis unreachable at start or cannot listen, 2 bad usage.\n");
}

static void parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },   { "redis", required_argument, NULL, 'r' },
		{ "prefix", required_argument, NULL, 'P' },   { "web", required_argument, NULL, 'w' },
		{ "no-web", no_argument, NULL, 'W' },         { "location", required_argument, NULL, 'L' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "stale", required_argument, NULL, 'S' },  { "timeout", required_argument, NULL, 't' },
		{ "per-target", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },          { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	const char *env = getenv("SYNWATCH_REDIS");
	int c;

	*o = (struct options){
		.listen = "127.0.0.1:9490",
		.redis = env && *env ? env : "redis://127.0.0.1:6379",
		.prefix = SCHEMA_DEFAULT_PREFIX,
		.max_age_ns = NSEC_PER_SEC,
		.stale_ns = 60 * NSEC_PER_SEC,
		.timeout_ms = 5000,
	};
	o->locations = calloc((size_t)argc + 1, sizeof(*o->locations));
	if (!o->locations)
		cli_die_usage("out of memory");
	while ((c = getopt_long(argc, argv, ":qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o->listen = optarg; break;
		case 'r': o->redis = optarg; break;
		case 'P': o->prefix = optarg; break;
		case 'w': o->web = optarg; break;
		case 'W': o->no_web = true; break;
		case 'L':
			if (!schema_location_ok(optarg, strlen(optarg)))
				cli_die_usage("--location '%s': expected a location name (letters, digits, '.', '_', '-', "
					      "at most %d)", optarg, SCHEMA_LOCATION_MAX);
			o->locations[o->n_locations++] = optarg;
			break;
		case 'a': o->max_age_ns = cli_duration("--max-age", optarg, 0, 3600 * NSEC_PER_SEC); break;
		case 'S': o->stale_ns = cli_duration("--stale", optarg, 0, 3600 * NSEC_PER_SEC); break;
		case 't':
			o->timeout_ms = (int)(cli_duration("--timeout", optarg, 10 * NSEC_PER_MSEC, 600 * NSEC_PER_SEC) /
					      NSEC_PER_MSEC);
			break;
		case 'T':
			if (!strcmp(optarg, "config"))
				o->per_target = PER_TARGET_CONFIG;
			else if (!strcmp(optarg, "all"))
				o->per_target = PER_TARGET_ALL;
			else if (!strcmp(optarg, "none"))
				o->per_target = PER_TARGET_NONE;
			else
				cli_die_usage("--per-target '%s': expected config, all or none", optarg);
			break;
		case 'q': log_level_current = LOG_ERROR; break;
		case 'v': log_level_current = log_level_current == LOG_INFO ? LOG_DEBUG : LOG_INFO; break;
		case 'h': usage(stdout); exit(0);
		case ':': cli_die_usage("option '%s' needs a value (see --help)", argv[optind - 1]);
		default: cli_die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_die_usage("unexpected argument '%s' (see --help)", argv[optind]);
	if (o->web && o->no_web)
		cli_die_usage("--web and --no-web: choose one");
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai;
	size_t hl;

	if (!colon || !colon[1])
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && colon[-1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (getaddrinfo(hl ? host : NULL, colon + 1, &hints, &ai) != 0)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static bool has_index(const char *dir)
{
	char p[WEB_DIR_MAX + 16];

	snprintf(p, sizeof(p), "%s/index.html", dir);
	return access(p, R_OK) == 0;
}

/* --web, else tools/web as the build tree has it (build/NAME and
 * build/test/NAME), share/synwatch/web next to an installed bin/, then
 * the compiled-in SW_WEB_DIR. "" when none has an index.html. */
static void find_web_dir(const struct options *o, char *out, size_t len)
{
	static const char *const rel[] = { "../tools/web", "../../tools/web", "../share/synwatch/web" };
	char exe[WEB_DIR_MAX], cand[WEB_DIR_MAX + 32];
	ssize_t n;

	out[0] = '\0';
	if (o->no_web)
		return;
	if (o->web) {
		if (!realpath(o->web, exe) || !has_index(exe))
			cli_die_usage("--web '%s': expected a directory with index.html (tools/web)", o->web);
		snprintf(out, len, "%s", exe);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(cand, sizeof(cand), "%s/%s", exe, rel[i]);
			if (has_index(cand) && realpath(cand, out))
				return;
		}
	}
	if (has_index(SW_WEB_DIR)) {
		snprintf(out, len, "%s", SW_WEB_DIR);
		return;
	}
	out[0] = '\0';
	log_warn("no status page: no index.html in tools/web next to the binary nor in '%s' (use --web DIR)",
		 SW_WEB_DIR);
}

int main(int argc, char **argv)
{
	struct options o;
	struct exporter x = { .o = &o };
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct MHD_Daemon *d;
	struct fleetview *fv;
	char err[640];
	sigset_t set;
	int sig, r;

	log_set_program("synwatch-exporter");
	parse_options(&o, argc, argv);
	if (parse_listen(o.listen, &ss, &sslen) < 0)
		cli_die_usage("--listen '%s': expected ADDR:PORT, e.g. 127.0.0.1:9490 or [::1]:9490", o.listen);
	find_web_dir(&o, x.web_dir, sizeof(x.web_dir));
	if ((r = fleetview_open(&fv, o.redis, o.prefix, o.timeout_ms, err, sizeof(err))) < 0) {
		log_error("%s", err);
		free(o.locations);
		return r == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
	}
	if (!fleetview_has_schema(fv)) {
		char key[SCHEMA_KEY_MAX];
		log_warn("redis at %s has no '%s' key yet: no prober has written there (right --prefix?)",
			 fleetview_url(fv), schema_key(key, sizeof(key), o.prefix, SCHEMA_SCHEMA, NULL, NULL));
	}
	snprintf(x.url_text, sizeof(x.url_text), "%s", fleetview_url(fv));
	pthread_mutex_init(&x.lock, NULL);
	pthread_cond_init(&x.cond, NULL);
	x.pool[x.npool++] = fv;

	/* the signals are waited for below; threads started from here inherit the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG |
				     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, handle, &x, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 128u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
	if (!d) {
		log_error("cannot listen on '%s': %s", o.listen, strerror(errno ? errno : EADDRINUSE));
		fleetview_free(fv);
		free(o.locations);
		return CLI_EXIT_RUNTIME;
	}
	{
		/* the port the kernel chose for ":0", for scripts and tests */
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
		int hl = (int)(strrchr(o.listen, ':') - o.listen);
		log_info("listening on http://%.*s:%u/ (redis %s, prefix '%s', web %s)", hl, o.listen,
			 di ? di->port : 0, fleetview_url(fv), o.prefix, x.web_dir[0] ? x.web_dir : "off");
	}
	(void)sslen;
	do {
		sig = 0;
		sigwait(&set, &sig);
	} while (sig == SIGHUP);
	log_info("stopping (%s)", strsignal(sig));
	MHD_stop_daemon(d);
	snapshot_quiesce(&x);
	snapshot_put(&x, x.snap);
	for (size_t i = 0; i < x.npool; i++)
		fleetview_free(x.pool[i]);
	free(o.locations);
	return 0;
}
