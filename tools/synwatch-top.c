/* synwatch-top: a live terminal view of the fleet from Redis (plain ANSI
 * escape codes): counts by state per location, the targets in trouble with
 * their state in every location side by side, the slowest targets with a
 * latency sparkline, recent events and the probers' health.
 *
 * Bounded Redis work per refresh (1/s): ZCARDs, the first PROBLEM_CAP
 * members of each trouble index, SCAN_PER_REFRESH state hashes for the
 * slowest list (a rolling pass over idx:LOC:all, so a 100k fleet is fully
 * seen every 50 s while the list shows the slowest seen so far), one
 * latency read per shown slow target, EVENTS_FETCH events. Never a SCAN. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "common/num.h"
#include "common/utf8.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "tools/lib/fleetview.h"
#include "store/schema.h"

#define PROBLEM_CAP 1000        /* members read per trouble index and location */
#define SCAN_PER_REFRESH 2000   /* state hashes read per refresh for the slowest list */
#define SCAN_ONCE 200000        /* the same for --once: one look, so the whole of most fleets */
#define SLOW_BOARD 64           /* slowest candidates remembered */
#define SLOW_SHOW 10            /* slowest rows at most */
#define CERT_BOARD 32           /* certificates soonest to expire remembered */
#define CERT_SHOW 10            /* certificate rows at most (--once) */
#define CERT_SHOW_TERM 3        /* ... on a terminal */
#define CHECK_LINE_MAX 256      /* a check's text: its error is at most 200 bytes (common/check.h) */
#define SPARK_MINUTES 30
#define EVENTS_FETCH 200
#define PROBERS_FETCH 50
#define FILTER_MAX 128

struct options {
	const char *redis, *prefix, *filter, *location;
	const char **locations;
	size_t n_locations;
	bool once;
	bool outages;                   /* --events outages */
	int width;
	int64_t interval_ns;
	int timeout_ms;
};

/* ---- terminal ---- */

static struct termios term_saved;
static bool term_raw;
static volatile sig_atomic_t sig_quit, sig_winch, sig_tstp;

static const char TERM_ENTER[] = "\033[?1049h\033[?25l\033[H\033[2J";
static const char TERM_LEAVE[] = "\033[0m\033[?25h\033[?1049l";

/* Async-signal-safe: write and tcsetattr only. */
static void term_restore(void)
{
	if (!term_raw)
		return;
	term_raw = false;
	if (write(STDOUT_FILENO, TERM_LEAVE, sizeof(TERM_LEAVE) - 1) < 0) {
		/* nothing more can be done about a terminal that is gone */
	}
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &term_saved);
}

static int term_enter(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &term_saved) < 0)
		return -errno;
	t = term_saved;
	/* keystrokes one at a time, not echoed; ISIG stays, so Ctrl-C is a
	 * SIGINT that ends the loop like q */
	t.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return -errno;
	term_raw = true;
	if (write(STDOUT_FILENO, TERM_ENTER, sizeof(TERM_ENTER) - 1) < 0)
		return -errno;
	return 0;
}

static void on_quit(int sig)
{
	(void)sig;
	sig_quit = 1;
}

static void on_winch(int sig)
{
	(void)sig;
	sig_winch = 1;
}

static void on_tstp(int sig)
{
	(void)sig;
	sig_tstp = 1;
}

/* A crash must not leave the terminal raw: restore it, then die of the signal. */
static void on_fatal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signals(void)
{
	static const int quit[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct sigaction sa = { 0 };

	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll returns EINTR and the loop looks at the flags */
	sa.sa_handler = on_quit;
	for (size_t i = 0; i < sizeof(quit) / sizeof(quit[0]); i++)
		sigaction(quit[i], &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_tstp;
	sigaction(SIGTSTP, &sa, NULL);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
}

/* Ctrl-Z: give the terminal back, stop, take it again on SIGCONT. */
static void suspend(void)
{
	struct sigaction sa = { 0 }, old;

	term_restore();
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTSTP, &sa, &old);
	raise(SIGTSTP);
	/* here after SIGCONT */
	sigaction(SIGTSTP, &old, NULL);
	term_enter();
}

static void term_size(int *rows, int *cols)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	} else {
		*rows = 24;
		*cols = 80;
	}
}

/* ---- a frame of text ---- */

/* Lines of at most cols columns, at most rows of them; colors only when
 * color is set (--once prints none). Text from Redis goes through
 * scr_text, which replaces control characters and broken UTF-8 with '?',
 * so that a target's name cannot move the cursor or retitle the terminal. */
struct scr {
	struct buf out;
	int cols, rows;
	int line, col;
	bool color;
};

static void scr_sgr(struct scr *s, const char *sgr)
{
	if (s->color && s->line < s->rows)
		buf_puts(&s->out, sgr);
}

/* The character at p (n bytes left): its length (at least 1), the columns
 * it takes in *cw, and in *bad whether it must be shown as '?': control
 * characters (C0, DEL, C1) and broken UTF-8, one column each. */
static size_t char_at(const char *p, size_t n, int *cw, bool *bad)
{
	unsigned cp;
	size_t len = utf8_next(p, n, &cp);

	*bad = len == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
	*cw = *bad ? 1 : wcwidth((wchar_t)cp);
	if (*cw < 0) {
		*cw = 1;
		*bad = true;
	}
	return len ? len : 1;
}

/* Text in a field of width columns (-1: its own width), cut with
 * '…' when too long, padded with spaces (right-aligned when right). */
static void scr_field(struct scr *s, const char *text, int width, bool right)
{
	const char *p = text ? text : "";
	size_t n = strlen(p);
	int room = s->cols - s->col, w = 0, total = 0;

	if (s->line >= s->rows || room <= 0)
		return;
	/* the text's width, to know whether it must be cut or aligned */
	for (size_t i = 0; i < n;) {
		int cw;
		bool bad;
		i += char_at(p + i, n - i, &cw, &bad);
		total += cw;
	}
	if (width < 0)
		width = total;
	if (width > room)
		width = room;
	bool cut = total > width;
	if (right && !cut)
		for (; w < width - total; w++)
			buf_add(&s->out, " ", 1);
	for (size_t i = 0; i < n;) {
		int cw;
		bool bad;
		size_t len = char_at(p + i, n - i, &cw, &bad);
		if (w + cw > width - (cut ? 1 : 0))
			break;
		buf_add(&s->out, bad ? "?" : p + i, bad ? 1 : len);
		w += cw;
		i += len;
	}
	if (cut && w < width) {
		buf_puts(&s->out, "…");
		w++;
	}
	for (; w < width; w++)
		buf_add(&s->out, " ", 1);
	s->col += width;
}

static void scr_text(struct scr *s, const char *text)
{
	scr_field(s, text, -1, false);
}

__attribute__((format(printf, 2, 3))) static void scr_printf(struct scr *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	scr_field(s, buf, -1, false);
}

/* Ends the line (clearing the rest of it on a terminal). */
static void scr_nl(struct scr *s)
{
	if (s->line >= s->rows)
		return;
	if (s->color) {
		buf_puts(&s->out, "\033[0m\033[K");
		if (s->line + 1 < s->rows)
			buf_add(&s->out, "\n", 1);
	} else {
		/* no trailing blanks in --once output */
		while (s->out.len && s->out.s[s->out.len - 1] == ' ')
			s->out.s[--s->out.len] = '\0';
		buf_add(&s->out, "\n", 1);
	}
	s->line++;
	s->col = 0;
}

/* A whole line in reverse video (header and footer). */
static void scr_bar(struct scr *s, const char *text)
{
	scr_sgr(s, "\033[7m");
	scr_text(s, text);
	scr_nl(s);
}

static const char *state_sgr(enum fv_state st)
{
	static const char *const sgr[FV_NSTATES] = {
		[FV_UNKNOWN] = "\033[2m", [FV_UP] = "\033[32m", [FV_DEGRADED] = "\033[33m",
		[FV_DOWN] = "\033[1;31m", [FV_FLAPPING] = "\033[35m",
	};
	return (unsigned)st < FV_NSTATES ? sgr[st] : "";
}

/* ---- what a refresh reads ---- */

/* A target in trouble somewhere, with its state in each location of the view. */
struct problem {
	const struct fv_target *t;      /* one per location of the view, in the view's order */
	int rank;                       /* of its worst state */
	int64_t since_ns;               /* when its worst state began */
};

/* A slowest-list candidate, remembered across refreshes. */
struct slow_entry {
	char target[64], loc[SCHEMA_LOCATION_MAX + 1], name[96], group[64];
	char check[24];                 /* the check's kind when its last result failed, else "" */
	double rtt_us;
	uint64_t pass;                  /* the scan pass of its location that saw it */
	bool used;
};

/* A certificate seen by the rolling scan, remembered across refreshes. */
struct cert_entry {
	char target[64], loc[SCHEMA_LOCATION_MAX + 1], name[96], group[64], subject[128];
	int64_t not_after_s;
	int32_t days;                   /* as the prober judged them */
	uint64_t pass;
	bool used;
};

struct slow_row {
	const struct slow_entry *e;
	int64_t p95_ns;                 /* over the sparkline's minutes, -1 without samples */
	double loss;                    /* share of lost checks over them */
	int64_t spark[SPARK_MINUTES];   /* p95 per minute, ns; -1 no record, -2 all lost */
};

struct data {
	struct fv_arena a;
	int64_t now_ns;
	const char **locs;
	size_t nlocs;
	uint64_t (*counts)[FV_NSETS];
	struct fv_prober *probers;
	size_t nprobers;
	const char **vlocs;             /* the view's locations: all, or one */
	size_t nvlocs;
	struct problem *problems;
	size_t nproblems;
	uint64_t trouble[FV_NSTATES];   /* ZCARDs over the view's locations */
	struct slow_row slow[SLOW_SHOW];
	size_t nslow;
	struct cert_row {
		const struct cert_entry *e;
		size_t nlocs;           /* locations that saw this certificate on this target */
	} certs[CERT_SHOW];             /* soonest to expire first */
	size_t ncerts;
	struct fv_record *events;
	size_t nevents;
};

/* Where the rolling scan of one location stands. */
struct scan_pos {
	char loc[SCHEMA_LOCATION_MAX + 1];
	long pos;
	uint64_t pass;
};

struct top {
	const struct options *o;
	struct fleetview *fv;
	struct data *d;                 /* the last good refresh, or NULL */
	char err[640];                  /* the last refresh's error, "" when fine */
	int64_t err_since_ns;
	int view;                       /* 0: every location; i: d->locs[i - 1] */
	char view_loc[SCHEMA_LOCATION_MAX + 1];
	char filter[FILTER_MAX], filter_saved[FILTER_MAX];
	bool editing;
	bool outages;                   /* the events pane: outages only (key e) */
	int scroll, page;
	int rows, cols;
	struct scan_pos scans[16];
	struct slow_entry board[SLOW_BOARD];
	struct cert_entry certs[CERT_BOARD];
};

static void data_free(struct data *d)
{
	if (!d)
		return;
	fv_arena_release(&d->a);
	free(d);
}

static bool matches(const char *filter, const char *a, const char *b, const char *c)
{
	return !*filter || (a && strcasestr(a, filter)) || (b && strcasestr(b, filter)) || (c && strcasestr(c, filter));
}

static int cmp_problem(const void *pa, const void *pb)
{
	const struct problem *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank - b->rank;
	if (a->since_ns != b->since_ns)
		return a->since_ns < b->since_ns ? -1 : 1;
	return strcmp(a->t[0].target, b->t[0].target);
}

static const enum fv_state trouble_states[] = { FV_DOWN, FV_FLAPPING, FV_DEGRADED };

/* The targets in trouble in any location of the view, each with its state
 * in every location of the view. */
static int read_problems(struct top *tp, struct data *d)
{
	struct fleetview *fv = tp->fv;
	const char **names = NULL;
	size_t n = 0, cap = d->nvlocs * 3 * PROBLEM_CAP;
	struct fv_target *all;
	int r;

	names = fv_alloc(&d->a, (cap + 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t l = 0; l < d->nvlocs; l++) {
		for (size_t k = 0; k < 3; k++) {
			struct fv_member *m;
			r = fleetview_index(fv, &d->a, d->vlocs[l], (int)trouble_states[k], 0, PROBLEM_CAP - 1, &m);
			if (r < 0)
				return r;
			for (int i = 0; i < r; i++)
				names[n++] = m[i].member;
		}
	}
	n = fv_sort_unique(names, n);
	all = fv_alloc(&d->a, (n * d->nvlocs + 1) * sizeof(*all));
	d->problems = fv_alloc(&d->a, (n + 1) * sizeof(*d->problems));
	if (!all || !d->problems)
		return -ENOMEM;
	/* all[l * n + i]: target i in location l */
	for (size_t l = 0; l < d->nvlocs; l++)
		if ((r = fleetview_targets(fv, &d->a, d->vlocs[l], names, n, all + l * n)) < 0)
			return r;
	for (size_t i = 0; i < n; i++) {
		struct problem *p = &d->problems[i];
		struct fv_target *t = fv_alloc(&d->a, d->nvlocs * sizeof(*t));
		if (!t)
			return -ENOMEM;
		p->t = t;
		p->rank = INT_MAX;
		for (size_t l = 0; l < d->nvlocs; l++) {
			t[l] = all[l * n + i];
			int rk = fv_state_rank(t[l].state);
			if (rk < p->rank || (rk == p->rank && t[l].since_ns < p->since_ns)) {
				p->rank = rk;
				p->since_ns = t[l].since_ns;
			}
		}
	}
	/* a target that left trouble between the two reads is no problem */
	d->nproblems = 0;
	for (size_t i = 0; i < n; i++)
		if (d->problems[i].rank < fv_state_rank(FV_UNKNOWN))
			d->problems[d->nproblems++] = d->problems[i];
	qsort(d->problems, d->nproblems, sizeof(*d->problems), cmp_problem);
	return 0;
}

static struct scan_pos *scan_of(struct top *tp, const char *loc)
{
	struct scan_pos *free_slot = NULL;

	for (size_t i = 0; i < sizeof(tp->scans) / sizeof(tp->scans[0]); i++) {
		if (!strcmp(tp->scans[i].loc, loc))
			return &tp->scans[i];
		if (!free_slot && !tp->scans[i].loc[0])
			free_slot = &tp->scans[i];
	}
	if (!free_slot)
		free_slot = &tp->scans[0];
	*free_slot = (struct scan_pos){ 0 };
	snprintf(free_slot->loc, sizeof(free_slot->loc), "%s", loc);
	return free_slot;
}

/* Remembers t's RTT if it is among the SLOW_BOARD slowest seen. */
static void board_offer(struct top *tp, const struct fv_target *t, uint64_t pass)
{
	struct slow_entry *slot = NULL, *min = NULL;

	/* min: a free slot if there is one, else the fastest remembered */
	for (size_t i = 0; i < SLOW_BOARD; i++) {
		struct slow_entry *e = &tp->board[i];
		if (e->used && !strcmp(e->target, t->target) && !strcmp(e->loc, t->location)) {
			slot = e;
			break;
		}
		if (!min || (min->used && (!e->used || e->rtt_us < min->rtt_us)))
			min = e;
	}
	if (!slot && (t->last_rtt_us < 0 || t->state == FV_DOWN || (min->used && min->rtt_us >= t->last_rtt_us)))
		return;
	if (!slot)
		slot = min;
	if (t->last_rtt_us < 0 || t->state == FV_DOWN) {
		slot->used = false; /* no longer answers: not "slow" */
		return;
	}
	slot->used = true;
	slot->rtt_us = t->last_rtt_us;
	slot->pass = pass;
	snprintf(slot->target, sizeof(slot->target), "%s", t->target);
	snprintf(slot->loc, sizeof(slot->loc), "%s", t->location);
	snprintf(slot->name, sizeof(slot->name), "%s", t->name);
	snprintf(slot->group, sizeof(slot->group), "%s", t->group);
	snprintf(slot->check, sizeof(slot->check), "%s", t->check.ok == 0 ? t->check.kind : "");
}

/* Remembers t's certificate if it is among the CERT_BOARD soonest to
 * expire seen. */
static void cert_offer(struct top *tp, const struct fv_target *t, uint64_t pass)
{
	struct cert_entry *slot = NULL, *last = NULL;
	const struct fv_check *c = &t->check;

	for (size_t i = 0; i < CERT_BOARD; i++) {
		struct cert_entry *e = &tp->certs[i];
		if (e->used && !strcmp(e->target, t->target) && !strcmp(e->loc, t->location)) {
			slot = e;
			break;
		}
		if (!last || (last->used && (!e->used || e->not_after_s > last->not_after_s)))
			last = e;
	}
	if (!slot && (c->cert_not_after_s <= 0 || (last->used && last->not_after_s <= c->cert_not_after_s)))
		return;
	if (!slot)
		slot = last;
	if (c->cert_not_after_s <= 0) {
		slot->used = false; /* no longer has one (a check removed, a failed handshake keeps the last) */
		return;
	}
	*slot = (struct cert_entry){ .used = true, .pass = pass, .not_after_s = c->cert_not_after_s,
				     .days = c->cert_days_left };
	snprintf(slot->target, sizeof(slot->target), "%s", t->target);
	snprintf(slot->loc, sizeof(slot->loc), "%s", t->location);
	snprintf(slot->name, sizeof(slot->name), "%s", t->name);
	snprintf(slot->group, sizeof(slot->group), "%s", t->group);
	snprintf(slot->subject, sizeof(slot->subject), "%s", c->cert_subject);
}

/* Reads the next slice of each view location's idx:LOC:all into the board. */
static int scan_slowest(struct top *tp, struct data *d, long budget)
{
	long per = budget / (long)(d->nvlocs ? d->nvlocs : 1);

	for (size_t l = 0; l < d->nvlocs; l++) {
		struct scan_pos *sp = scan_of(tp, d->vlocs[l]);
		struct fv_arena a = { 0 };
		struct fv_member *m;
		int r = fleetview_index(tp->fv, &a, d->vlocs[l], FV_ALL, sp->pos, sp->pos + per - 1, &m);
		if (r >= 0) {
			const char **names = fv_alloc(&a, ((size_t)r + 1) * sizeof(*names));
			struct fv_target *t = fv_alloc(&a, ((size_t)r + 1) * sizeof(*t));
			if (!names || !t) {
				fv_arena_release(&a);
				return -ENOMEM;
			}
			for (int i = 0; i < r; i++)
				names[i] = m[i].member;
			int k = fleetview_targets(tp->fv, &a, d->vlocs[l], names, (size_t)r, t);
			for (int i = 0; i < k; i++) {
				board_offer(tp, &t[i], sp->pass);
				cert_offer(tp, &t[i], sp->pass);
			}
			if (k < 0)
				r = k;
		}
		fv_arena_release(&a);
		if (r < 0)
			return r;
		if (r < per) {
			/* a pass is complete: what it did not see again is gone */
			sp->pos = 0;
			sp->pass++;
			for (size_t i = 0; i < SLOW_BOARD; i++)
				if (tp->board[i].used && !strcmp(tp->board[i].loc, sp->loc) && tp->board[i].pass + 1 < sp->pass)
					tp->board[i].used = false;
			for (size_t i = 0; i < CERT_BOARD; i++)
				if (tp->certs[i].used && !strcmp(tp->certs[i].loc, sp->loc) && tp->certs[i].pass + 1 < sp->pass)
					tp->certs[i].used = false;
		} else {
			sp->pos += per;
		}
	}
	return 0;
}

static int cmp_slow(const void *pa, const void *pb)
{
	const struct slow_entry *a = *(const struct slow_entry *const *)pa, *b = *(const struct slow_entry *const *)pb;

	return a->rtt_us < b->rtt_us ? 1 : a->rtt_us > b->rtt_us ? -1 : strcmp(a->target, b->target);
}

static bool in_view(const struct data *d, const char *loc)
{
	for (size_t l = 0; l < d->nvlocs; l++)
		if (!strcmp(d->vlocs[l], loc))
			return true;
	return false;
}

/* The slowest of the board in the view and the filter, with their sparklines. */
static int read_slow_rows(struct top *tp, struct data *d)
{
	const struct slow_entry *pick[SLOW_BOARD];
	size_t n = 0;
	/* the last SPARK_MINUTES minutes, the current one included: a prober
	 * writes it once it is over, or at shutdown */
	int64_t first = (d->now_ns / NSEC_PER_SEC / 60 - (SPARK_MINUTES - 1)) * 60;

	for (size_t i = 0; i < SLOW_BOARD; i++) {
		const struct slow_entry *e = &tp->board[i];
		if (e->used && in_view(d, e->loc) && matches(tp->filter, e->target, e->name, e->group))
			pick[n++] = e;
	}
	qsort(pick, n, sizeof(*pick), cmp_slow);
	d->nslow = n < SLOW_SHOW ? n : SLOW_SHOW;
	for (size_t i = 0; i < d->nslow; i++) {
		struct slow_row *row = &d->slow[i];
		struct fv_arena a = { 0 };
		struct lat_minute *m, all;
		int r;

		row->e = pick[i];
		row->p95_ns = -1;
		row->loss = 0;
		for (int k = 0; k < SPARK_MINUTES; k++)
			row->spark[k] = -1;
		r = fleetview_latency(tp->fv, &a, pick[i]->loc, pick[i]->target, first, SPARK_MINUTES + 1, &m, NULL);
		if (r < 0) {
			fv_arena_release(&a);
			return r;
		}
		lat_minute_init(&all, first);
		for (int k = 0; k < r; k++) {
			int64_t slot = (m[k].minute_start_s - first) / 60;
			if (slot < 0 || slot >= SPARK_MINUTES)
				continue;
			row->spark[slot] = m[k].count ? lat_minute_quantile(&m[k], 0.95) : -2;
			lat_minute_merge(&all, &m[k]);
		}
		if (all.count)
			row->p95_ns = lat_minute_quantile(&all, 0.95);
		row->loss = lat_minute_loss_ratio(&all);
		fv_arena_release(&a);
	}
	return 0;
}

static int cmp_cert(const void *pa, const void *pb)
{
	const struct cert_entry *a = *(const struct cert_entry *const *)pa, *b = *(const struct cert_entry *const *)pb;

	if (a->not_after_s != b->not_after_s)
		return a->not_after_s < b->not_after_s ? -1 : 1;
	int c = strcmp(a->target, b->target);
	return c ? c : strcmp(a->loc, b->loc);
}

/* The certificates of the board in the view and the filter, soonest first. */
static void read_cert_rows(struct top *tp, struct data *d)
{
	const struct cert_entry *pick[CERT_BOARD];
	size_t n = 0;

	for (size_t i = 0; i < CERT_BOARD; i++) {
		const struct cert_entry *e = &tp->certs[i];
		if (e->used && in_view(d, e->loc) && matches(tp->filter, e->target, e->name, e->group))
			pick[n++] = e;
	}
	qsort(pick, n, sizeof(*pick), cmp_cert);
	/* one row for a certificate every location sees on a target: sorted,
	 * they are next to each other */
	d->ncerts = 0;
	for (size_t i = 0; i < n; i++) {
		struct cert_row *last = d->ncerts ? &d->certs[d->ncerts - 1] : NULL;
		if (last && !strcmp(last->e->target, pick[i]->target) && last->e->not_after_s == pick[i]->not_after_s &&
		    !strcmp(last->e->subject, pick[i]->subject)) {
			last->nlocs++;
			continue;
		}
		if (d->ncerts == CERT_SHOW)
			break;
		d->certs[d->ncerts++] = (struct cert_row){ .e = pick[i], .nlocs = 1 };
	}
}

/* One refresh: everything the frame shows. Returns 0 or a negative errno
 * (tp->err says what). */
static int refresh(struct top *tp)
{
	struct data *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->now_ns = clock_real_ns();
	/* a top started before the first prober wrote must not keep saying
	 * that nobody did */
	if (!fleetview_has_schema(tp->fv) && (r = fleetview_check_schema(tp->fv)) < 0)
		goto out;
	r = fleetview_locations(tp->fv, &d->a, tp->o->locations, tp->o->n_locations, &d->locs);
	if (r < 0)
		goto out;
	d->nlocs = (size_t)r;
	/* the view follows its location by name when the list changes */
	tp->view = 0;
	for (size_t l = 0; tp->view_loc[0] && l < d->nlocs; l++)
		if (!strcmp(d->locs[l], tp->view_loc))
			tp->view = (int)l + 1;
	if (tp->view == 0)
		tp->view_loc[0] = '\0';
	d->vlocs = tp->view ? &d->locs[tp->view - 1] : d->locs;
	d->nvlocs = tp->view ? 1 : d->nlocs;

	d->counts = fv_alloc(&d->a, (d->nlocs + 1) * sizeof(*d->counts));
	r = d->counts ? fleetview_counts(tp->fv, d->locs, d->nlocs, d->counts) : -ENOMEM;
	if (r < 0)
		goto out;
	for (size_t l = 0; l < d->nlocs; l++)
		for (int st = 0; st < FV_NSTATES; st++)
			if (in_view(d, d->locs[l]))
				d->trouble[st] += d->counts[l][st];
	if ((r = fleetview_probers(tp->fv, &d->a, PROBERS_FETCH, &d->probers)) < 0)
		goto out;
	d->nprobers = (size_t)r;
	if ((r = read_problems(tp, d)) < 0)
		goto out;
	if ((r = scan_slowest(tp, d, tp->o->once ? SCAN_ONCE : SCAN_PER_REFRESH)) < 0)
		goto out;
	if ((r = read_slow_rows(tp, d)) < 0)
		goto out;
	read_cert_rows(tp, d);
	if ((r = fleetview_events(tp->fv, &d->a, NULL, EVENTS_FETCH, &d->events)) < 0)
		goto out;
	d->nevents = (size_t)r;
	r = 0;
out:
	if (r < 0) {
		if (!tp->err[0])
			tp->err_since_ns = d->now_ns;
		snprintf(tp->err, sizeof(tp->err), "%s",
			 r == -ENOMEM ? "out of memory" : fleetview_error(tp->fv));
		data_free(d);
		return r;
	}
	tp->err[0] = '\0';
	data_free(tp->d);
	tp->d = d;
	return 0;
}

/* ---- drawing ---- */

static const char *age_of(int64_t now_ns, int64_t then_ns, char *buf, size_t len)
{
	if (then_ns <= 0)
		return "-";
	return fv_age_text((now_ns - then_ns) / NSEC_PER_SEC, buf, len);
}

static const char *rtt_text(double us, char *buf, size_t len)
{
	if (us < 0)
		snprintf(buf, len, "-");
	else if (us < 1000)
		snprintf(buf, len, "%.0fµs", us);
	else if (us < 100000)
		snprintf(buf, len, "%.1fms", us / 1000);
	else
		snprintf(buf, len, "%.0fms", us / 1000);
	return buf;
}

/* A table's column: its title, width, alignment. The header and the rows
 * use the same widths. */
struct col {
	const char *title;
	int width;
	bool right;
};

static void draw_header(struct scr *s, const struct col *c, size_t n, const char *rest)
{
	scr_sgr(s, "\033[1m");
	for (size_t i = 0; i < n; i++)
		scr_field(s, c[i].title, c[i].width, c[i].right);
	if (rest)
		scr_text(s, rest);
	scr_nl(s);
}

static void draw_title(struct scr *s, const char *title)
{
	scr_sgr(s, "\033[1;36m");
	scr_text(s, title);
	scr_nl(s);
}

static void draw_counts(struct scr *s, const struct top *tp, const struct data *d)
{
	static const enum fv_state order[] = { FV_UP, FV_DEGRADED, FV_DOWN, FV_FLAPPING, FV_UNKNOWN };
	uint64_t total[FV_NSETS] = { 0 };
	char num[32];

	scr_sgr(s, "\033[1m");
	scr_field(s, " LOCATION", 18, false);
	for (size_t k = 0; k < 5; k++)
		scr_field(s, fv_state_name(order[k]), 10, true);
	scr_field(s, "targets", 10, true);
	scr_nl(s);
	for (size_t l = 0; l < d->nlocs; l++) {
		if (tp->view && (int)l + 1 != tp->view)
			continue;
		char name[80];
		snprintf(name, sizeof(name), " %s", d->locs[l]);
		scr_field(s, name, 18, false);
		for (size_t k = 0; k < 5; k++) {
			uint64_t v = d->counts[l][order[k]];
			snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
			if (v && order[k] != FV_UP)
				scr_sgr(s, state_sgr(order[k]));
			scr_field(s, num, 10, true);
			scr_sgr(s, "\033[0m");
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)d->counts[l][FV_ALL]);
		scr_field(s, num, 10, true);
		scr_nl(s);
		for (int st = 0; st < FV_NSETS; st++)
			total[st] += d->counts[l][st];
	}
	if (!tp->view && d->nlocs > 1) {
		scr_sgr(s, "\033[1m");
		scr_field(s, " total", 18, false);
		for (size_t k = 0; k < 5; k++) {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)total[order[k]]);
			scr_field(s, num, 10, true);
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)total[FV_ALL]);
		scr_field(s, num, 10, true);
		scr_nl(s);
	}
	if (d->nlocs == 0) {
		scr_sgr(s, "\033[2m");
		scr_text(s, " no locations: no prober has a heartbeat in P probers (use --location LOC)");
		scr_nl(s);
	}
}

/* A heartbeat's age: tenths under 10 s, where late and gone are decided. */
static const char *heartbeat_age(int64_t age_ms, char *buf, size_t len)
{
	if (age_ms < 10000)
		snprintf(buf, len, "%.1fs", (double)age_ms / 1e3);
	else
		fv_age_text(age_ms / 1000, buf, len);
	return buf;
}

/* The first thing under the title when a prober stopped writing, because
 * the counts and the trouble list of its location are then what it left,
 * however calm they look. Gone beats late: one line, the most recent loss
 * first. */
static void draw_prober_alarm(struct scr *s, const struct data *d)
{
	int64_t now_ms = d->now_ns / NSEC_PER_MSEC;
	struct fv_probers_sum sum;
	char age[32], clock_text[16], more[48] = "";

	fv_probers_sum(d->probers, d->nprobers, now_ms, &sum);
	if (sum.gone) {
		time_t t = (time_t)(sum.gone->last_ms / 1000);
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(clock_text, sizeof(clock_text), "%H:%M:%S", &tm);
		if (sum.n[FV_PROBER_GONE] > 1)
			snprintf(more, sizeof(more), " (and %zu more gone)", sum.n[FV_PROBER_GONE] - 1);
		heartbeat_age(now_ms - sum.gone->last_ms, age, sizeof(age));
		scr_sgr(s, "\033[1;31m");
		if (sum.gone_loc_live)
			scr_printf(s, " PROBER %s GONE%s: no heartbeat for %s (last %s); %s still has %zu live prober%s",
				   sum.gone->id, more, age, clock_text, sum.gone->location, sum.gone_loc_live,
				   sum.gone_loc_live > 1 ? "s" : "");
		else
			scr_printf(s,
				   " PROBER %s GONE%s: no heartbeat for %s (last %s); %s has no live prober: its states "
				   "below are as it left them",
				   sum.gone->id, more, age, clock_text, sum.gone->location);
		scr_nl(s);
	} else if (sum.late) {
		scr_sgr(s, "\033[33m");
		scr_printf(s, " prober %s late: no heartbeat for %s", sum.late->id,
			   heartbeat_age(now_ms - sum.late->last_ms, age, sizeof(age)));
		scr_nl(s);
	}
}

/* What a live prober logged last, when it is recent (PROBLEM_RECENT_MS),
 * after its status: "  2m ago: error: the spill file ... is at its limit".
 * Results dropped at the spill limit come first: they are a gap. */
#define PROBLEM_RECENT_MS (15 * 60 * 1000)

static void draw_prober_problem(struct scr *s, const struct fv_prober *p, int64_t now_ms)
{
	const char *v = p->alive ? fv_record_get(&p->h, "dropped") : NULL;
	char age[32];
	int64_t at;

	if (v && *v && strcmp(v, "0") != 0) {
		scr_sgr(s, "\033[1;31m");
		scr_printf(s, "  %s results DROPPED at the spill limit", v);
	}
	v = p->alive ? fv_record_get(&p->h, "problem_at") : NULL;
	if (!v || num_parse_int(v, 0, INT64_MAX, &at) < 0 || now_ms - at > PROBLEM_RECENT_MS)
		return;
	v = fv_record_get(&p->h, "problem");
	if (!v || !*v)
		return;
	scr_sgr(s, strncmp(v, "error", 5) ? "\033[33m" : "\033[31m");
	scr_printf(s, "  %s ago: %s", heartbeat_age(now_ms > at ? now_ms - at : 0, age, sizeof(age)), v);
}

static void draw_probers(struct scr *s, const struct data *d, size_t max)
{
	char buf[64];

	/* the columns after the first two are fields of the heartbeat hash */
	static const struct col cols[] = {
		{ " PROBER", 24, false }, { "AGE", 8, true },    { "TARGETS", 9, true }, { "RATE", 8, true },
		{ "SENT/S", 8, true },    { "REPL/S", 8, true }, { "DROPS", 7, true },   { "BACKLOG", 9, true },
	};
	static const char *const fields[] = { "targets", "rate", "sent_per_s", "replies_per_s", "pcap_drops", "backlog" };
	const size_t nf = sizeof(fields) / sizeof(fields[0]);

	draw_header(s, cols, nf + 2, "  STATUS");
	for (size_t i = 0, shown = 0; i < d->nprobers && shown < max; i++) {
		const struct fv_prober *p = &d->probers[i];
		int64_t age_ms = d->now_ns / NSEC_PER_MSEC - p->last_ms;
		const char *v;

		if (!in_view(d, p->location))
			continue;
		shown++;
		snprintf(buf, sizeof(buf), " %s", p->id);
		scr_field(s, buf, cols[0].width, false);
		scr_field(s, heartbeat_age(age_ms, buf, sizeof(buf)), cols[1].width, true);
		for (size_t k = 0; k < nf; k++) {
			v = p->alive ? fv_record_get(&p->h, fields[k]) : NULL;
			scr_field(s, v && *v ? v : "-", cols[k + 2].width, true);
		}
		scr_text(s, "  ");
		v = fv_record_get(&p->h, "isolated");
		bool isolated = v && !strcmp(v, "1");
		v = fv_record_get(&p->h, "overloaded");
		bool overloaded = v && !strcmp(v, "1");
		enum fv_prober_health health = fv_prober_health(p, d->now_ns / NSEC_PER_MSEC);
		if (health == FV_PROBER_GONE) {
			scr_sgr(s, "\033[1;31m");
			scr_text(s, "GONE");
		} else if (isolated) {
			scr_sgr(s, "\033[1;31m");
			scr_text(s, overloaded ? "ISOLATED OVERLOADED" : "ISOLATED");
		} else if (overloaded) {
			scr_sgr(s, "\033[33m");
			scr_text(s, "OVERLOADED");
		} else if (health == FV_PROBER_LATE) {
			scr_sgr(s, "\033[33m");
			scr_text(s, "late");
		} else {
			scr_sgr(s, "\033[32m");
			scr_text(s, "ok");
		}
		draw_prober_problem(s, p, d->now_ns / NSEC_PER_MSEC);
		scr_nl(s);
	}
	size_t in = 0;
	for (size_t i = 0; i < d->nprobers; i++)
		in += in_view(d, d->probers[i].location);
	if (in > max) {
		scr_sgr(s, "\033[2m");
		scr_printf(s, " … %zu more", in - max);
		scr_nl(s);
	}
}

/* "down 3m12s" in the state's color, in a field of width. */
static void draw_state_cell(struct scr *s, const struct fv_target *t, int64_t now_ns, int width)
{
	char age[32], cell[64];

	if (!t->present && t->state == FV_UNKNOWN) {
		scr_sgr(s, "\033[2m");
		scr_field(s, "-", width, false);
	} else if (t->state == FV_UP && t->check.ok == 0) {
		/* the kernel answers, the service did not: not plainly up */
		scr_sgr(s, "\033[33m");
		scr_field(s, "up, check fails", width, false);
	} else {
		snprintf(cell, sizeof(cell), "%-8s %s", fv_state_name(t->state),
			 t->state == FV_UP ? "" : age_of(now_ns, t->since_ns, age, sizeof(age)));
		scr_sgr(s, state_sgr(t->state));
		scr_field(s, cell, width, false);
	}
	scr_sgr(s, "\033[0m");
}

/* Whether the check explains t's state: a check's verdict as its reason,
 * or a failing check of a port that still answers. */
static bool check_explains(const struct fv_target *t)
{
	if (t->check.ok < 0)
		return false;
	return fv_reason_is_check(t->reason) || (t->check.ok == 0 && t->state != FV_DOWN);
}

/* The location of p whose check explains its worst state, or -1. */
static int problem_check(const struct problem *p, size_t nlocs)
{
	int best = -1;

	for (size_t l = 0; l < nlocs; l++)
		if (check_explains(&p->t[l]) &&
		    (best < 0 || fv_state_rank(p->t[l].state) < fv_state_rank(p->t[best].state)))
			best = (int)l;
	return best;
}

/* "   5432/postgres  FATAL: sorry, too many clients already", under a
 * trouble row, in the color of the state it explains; "(fra1)" after it
 * when some location of the view says otherwise. */
static void draw_check_line(struct scr *s, const struct data *d, const struct problem *p, int l)
{
	const struct fv_target *t = &p->t[l];
	const struct fv_check *c = &t->check;
	char ip[64], text[CHECK_LINE_MAX], cert[160] = "", locs[160] = "", other[CHECK_LINE_MAX];
	unsigned port = 0;
	size_t same = 0, used = 0;

	if (fv_target_split(t->target, ip, sizeof(ip), &port) < 0)
		port = 0;
	fv_check_text(c, text, sizeof(text));
	if (c->cert_not_after_s > 0 && strncmp(t->reason, "cert_", 5) == 0) {
		time_t na = (time_t)c->cert_not_after_s;
		struct tm tm;
		char day[16] = "";
		if (localtime_r(&na, &tm))
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		snprintf(cert, sizeof(cert), " (%s) %s", day, c->cert_subject);
	}
	for (size_t k = 0; k < d->nvlocs; k++) {
		if (!check_explains(&p->t[k]) || strcmp(fv_check_text(&p->t[k].check, other, sizeof(other)), text))
			continue;
		same++;
		int n = snprintf(locs + used, sizeof(locs) - used, "%s%s", used ? ", " : "", d->vlocs[k]);
		if (n > 0 && (size_t)n < sizeof(locs) - used)
			used += (size_t)n;
	}
	scr_sgr(s, state_sgr(t->state == FV_UP ? FV_DEGRADED : t->state));
	scr_printf(s, "   %u/%s  %s%s", port, c->kind, text, cert);
	if (same < d->nvlocs) {
		scr_sgr(s, "\033[2m");
		scr_printf(s, "  (%s)", locs);
	}
	scr_nl(s);
}

/* The problems that pass the filter, into idx; returns how many. */
static size_t filtered_problems(const struct top *tp, const struct data *d, size_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nproblems; i++) {
		const struct fv_target *t = &d->problems[i].t[0];
		if (matches(tp->filter, t->target, t->name, t->group))
			idx[n++] = i;
	}
	return n;
}

static void draw_problems(struct scr *s, struct top *tp, const struct data *d, int height)
{
	size_t *idx = malloc((d->nproblems + 1) * sizeof(*idx));
	size_t n = idx ? filtered_problems(tp, d, idx) : 0;
	uint64_t fetched_cap = (uint64_t)PROBLEM_CAP * d->nvlocs;
	char title[256], rtt[32];
	int body = height - 2;

	snprintf(title, sizeof(title), " TROUBLE  down %llu · flapping %llu · degraded %llu%s%s",
		 (unsigned long long)d->trouble[FV_DOWN], (unsigned long long)d->trouble[FV_FLAPPING],
		 (unsigned long long)d->trouble[FV_DEGRADED],
		 d->trouble[FV_DOWN] > fetched_cap || d->trouble[FV_DEGRADED] > fetched_cap ? " (first 1000 of each)" : "",
		 *tp->filter ? " · filtered" : "");
	draw_title(s, title);
	scr_sgr(s, "\033[1m");
	scr_field(s, " TARGET", 24, false);
	scr_field(s, "NAME", 22, false);
	scr_field(s, "GROUP", 10, false);
	if (tp->view == 0) {
		for (size_t l = 0; l < d->nvlocs; l++)
			scr_field(s, d->vlocs[l], 17, false);
	} else {
		scr_field(s, "STATE", 17, false);
		scr_field(s, "REASON", 12, false);
		scr_field(s, "LAST RTT", 10, true);
	}
	scr_nl(s);
	if (body < 1)
		body = 1;
	tp->page = body;
	/* the furthest one can scroll: the last rows, with their check's lines, fill the body */
	int last_start = (int)n, fill = 0;
	while (last_start > 0) {
		int cost = 1 + (problem_check(&d->problems[idx[last_start - 1]], d->nvlocs) >= 0);
		if (fill + cost > body)
			break;
		fill += cost;
		last_start--;
	}
	if (tp->scroll > last_start)
		tp->scroll = last_start;
	if (tp->scroll < 0)
		tp->scroll = 0;
	if (n == 0) {
		/* what the counts of the view's locations say, not a guess */
		uint64_t all = 0, up = d->trouble[FV_UP];
		for (int st = 0; st < FV_NSTATES; st++)
			all += d->trouble[st];
		char line[160];
		if (*tp->filter)
			snprintf(line, sizeof(line), " nothing in trouble matches the filter");
		else if (all == 0)
			snprintf(line, sizeof(line), " no targets here yet");
		else if (up == all)
			snprintf(line, sizeof(line), " every target is up");
		else
			snprintf(line, sizeof(line), " nothing down, degraded or flapping; %llu of %llu targets not yet judged",
				 (unsigned long long)(all - up), (unsigned long long)all);
		scr_sgr(s, all == 0 && !*tp->filter ? "\033[2m" : "\033[32m");
		scr_text(s, line);
		scr_nl(s);
	}
	int lines = 0, shown = 0;
	for (int r = 0; lines < body && (size_t)(tp->scroll + r) < n; r++, shown++) {
		const struct problem *p = &d->problems[idx[tp->scroll + r]];
		int why = problem_check(p, d->nvlocs);
		if (why >= 0 && lines + 2 > body && r > 0)
			break; /* the row and its check's line together, or on the next page */
		char target[80];
		snprintf(target, sizeof(target), " %s", p->t[0].target);
		scr_field(s, target, 24, false);
		scr_field(s, p->t[0].name, 22, false);
		scr_field(s, p->t[0].group, 10, false);
		if (tp->view == 0) {
			for (size_t l = 0; l < d->nvlocs; l++)
				draw_state_cell(s, &p->t[l], d->now_ns, 17);
		} else {
			draw_state_cell(s, &p->t[0], d->now_ns, 17);
			scr_field(s, p->t[0].reason, 12, false);
			scr_field(s, rtt_text(p->t[0].last_rtt_us, rtt, sizeof(rtt)), 10, true);
		}
		scr_nl(s);
		lines++;
		if (why >= 0 && lines < body) {
			draw_check_line(s, d, p, why);
			lines++;
		}
	}
	if ((size_t)shown < n - (size_t)tp->scroll && s->line < s->rows) {
		scr_sgr(s, "\033[2m");
		scr_printf(s, " rows %d-%d of %zu (↑↓ PgUp PgDn)", tp->scroll + 1, tp->scroll + shown, n);
		scr_nl(s);
	} else if (tp->scroll > 0 && s->line < s->rows) {
		scr_sgr(s, "\033[2m");
		scr_printf(s, " rows %d-%zu of %zu (↑↓ PgUp PgDn)", tp->scroll + 1, n, n);
		scr_nl(s);
	}
	free(idx);
}

/* The certificates soonest to expire the rolling scan has seen: days
 * left in the color of what they mean (the prober's own thresholds are
 * per group and not in Redis: red once expired, yellow within 14 days,
 * its default cert_warn_days). */
static void draw_certs(struct scr *s, const struct data *d, int rows)
{
	static const struct col cols[] = {
		{ " TARGET", 24, false }, { "LOC", 8, false }, { "NAME", 20, false }, { "LEFT", 7, true },
		{ "  NOT AFTER", 13, false },
	};
	char buf[96], left[32];

	draw_title(s, " CERTIFICATES  soonest to expire");
	draw_header(s, cols, 5, "SUBJECT");
	for (size_t i = 0; i < d->ncerts && (int)i < rows; i++) {
		const struct cert_entry *e = d->certs[i].e;
		char locs[SCHEMA_LOCATION_MAX + 16];
		time_t na = (time_t)e->not_after_s;
		struct tm tm;
		char day[16] = "-";

		snprintf(buf, sizeof(buf), " %s", e->target);
		scr_field(s, buf, cols[0].width, false);
		if (d->certs[i].nlocs == d->nvlocs && d->nvlocs > 1)
			snprintf(locs, sizeof(locs), "all");
		else if (d->certs[i].nlocs > 1)
			snprintf(locs, sizeof(locs), "%zu locs", d->certs[i].nlocs);
		else
			snprintf(locs, sizeof(locs), "%s", e->loc);
		scr_field(s, locs, cols[1].width, false);
		scr_field(s, e->name, cols[2].width, false);
		if (e->days == FV_NO_DAYS)
			snprintf(left, sizeof(left), "-");
		else
			snprintf(left, sizeof(left), "%ldd", (long)e->days);
		scr_sgr(s, e->days < 0 ? "\033[1;31m" : e->days < 14 ? "\033[33m" : "");
		scr_field(s, left, cols[3].width, true);
		scr_sgr(s, "\033[0m");
		if (localtime_r(&na, &tm))
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		snprintf(buf, sizeof(buf), "  %s", day);
		scr_field(s, buf, cols[4].width, false);
		scr_text(s, e->subject);
		scr_nl(s);
	}
}

static void sparkline(struct scr *s, const struct slow_row *row, int width)
{
	static const char *const blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	int64_t lo = INT64_MAX, hi = -1;
	int first = SPARK_MINUTES - width;

	if (first < 0)
		first = 0;
	for (int k = first; k < SPARK_MINUTES; k++) {
		if (row->spark[k] < 0)
			continue;
		lo = row->spark[k] < lo ? row->spark[k] : lo;
		hi = row->spark[k] > hi ? row->spark[k] : hi;
	}
	for (int k = first; k < SPARK_MINUTES && s->col < s->cols; k++) {
		int64_t v = row->spark[k];
		if (v == -1) {
			scr_field(s, " ", 1, false);
		} else if (v == -2) {
			scr_sgr(s, "\033[31m");
			scr_field(s, "x", 1, false);
			scr_sgr(s, "\033[0m");
		} else {
			/* scaled to the row's own range: the shape; the P95 column gives the size */
			int level = hi > lo ? (int)((v - lo) * 7 / (hi - lo)) : 3;
			scr_field(s, blocks[level], 1, false);
		}
	}
}

static void draw_slow(struct scr *s, const struct data *d, int rows)
{
	char buf[160], rtt[32];

	static const struct col cols[] = {
		{ " TARGET", 24, false }, { "LOC", 8, false }, { "NAME", 20, false },
		{ "LAST", 9, true },      { "P95", 9, true },  { "LOSS", 7, true },
	};

	draw_title(s, " SLOWEST  last RTT, p95 and loss over 30 min, p95 per minute");
	draw_header(s, cols, 6, "  30 min ago → now");
	if (d->nslow == 0) {
		scr_sgr(s, "\033[2m");
		scr_text(s, " no answers seen yet");
		scr_nl(s);
	}
	for (size_t i = 0; i < d->nslow && (int)i < rows; i++) {
		const struct slow_row *row = &d->slow[i];
		snprintf(buf, sizeof(buf), " %s", row->e->target);
		scr_field(s, buf, cols[0].width, false);
		scr_field(s, row->e->loc, cols[1].width, false);
		if (row->e->check[0]) {
			/* it answers SYNs, but its service check failed: not plainly up */
			snprintf(buf, sizeof(buf), "%s%s✗%s", row->e->name, row->e->name[0] ? " " : "", row->e->check);
			scr_sgr(s, "\033[33m");
			scr_field(s, buf, cols[2].width, false);
			scr_sgr(s, "\033[0m");
		} else {
			scr_field(s, row->e->name, cols[2].width, false);
		}
		scr_field(s, rtt_text(row->e->rtt_us, rtt, sizeof(rtt)), cols[3].width, true);
		scr_field(s, rtt_text(row->p95_ns < 0 ? -1 : (double)row->p95_ns / 1e3, rtt, sizeof(rtt)), cols[4].width,
			  true);
		snprintf(buf, sizeof(buf), "%.1f%%", row->loss * 100);
		if (row->loss > 0)
			scr_sgr(s, "\033[31m");
		scr_field(s, buf, cols[5].width, true);
		scr_sgr(s, "\033[0m");
		scr_text(s, "  ");
		sparkline(s, row, s->cols - s->col);
		scr_nl(s);
	}
}

static const char *event_time(int64_t ns, int64_t now_ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / NSEC_PER_SEC);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, now_ns - ns < 86400 * NSEC_PER_SEC ? "%H:%M:%S" : "%m-%d %H:%M", &tm);
	return buf;
}

static const char *field(const struct fv_record *r, const char *k)
{
	const char *v = fv_record_get(r, k);
	return v ? v : "";
}

/* What the events pane keeps in outages mode: a target down and back,
 * hosts, probers, a name that moved; not flaps, slowness or first
 * verdicts. */
static bool is_outage(const struct fv_record *e)
{
	const char *kind = field(e, "kind");
	if (!strcmp(kind, "state"))
		return !strcmp(field(e, "to"), "down") || !strcmp(field(e, "from"), "down");
	return strcmp(kind, "address_changed") == 0 || !strncmp(kind, "host_", 5) || !strncmp(kind, "prober_", 7);
}

static void draw_events(struct scr *s, const struct top *tp, const struct data *d, int rows)
{
	char buf[512];
	int shown = 0;
	/* under 110 columns the name goes, so that what happened still shows */
	bool narrow = s->cols < 110;

	/* the location column as wide as the longest (a gap after every column:
	 * "demo-lab" must not run into "state") */
	int locw = 4;
	for (size_t l = 0; l < d->nlocs; l++)
		if ((int)strlen(d->locs[l]) > locw)
			locw = (int)strlen(d->locs[l]);
	if (locw > 16)
		locw = 16;

	draw_title(s, tp->outages ? " EVENTS (outages: down and back, hosts, probers; e for all)" : " EVENTS");
	for (size_t i = 0; i < d->nevents && shown < rows; i++) {
		const struct fv_record *e = &d->events[i];
		const char *kind = field(e, "kind"), *loc = field(e, "location");
		const char *to = field(e, "to");
		int st = fv_state_parse(to);
		if (!in_view(d, loc) && *loc)
			continue;
		if (tp->outages && !is_outage(e))
			continue;
		if (!matches(tp->filter, field(e, "target"), field(e, "name"), field(e, "group")) &&
		    !matches(tp->filter, field(e, "ip"), NULL, NULL))
			continue;
		scr_text(s, " ");
		scr_field(s, event_time(strtoll(field(e, "ts"), NULL, 10), d->now_ns, buf, sizeof(buf)), 12, false);
		scr_field(s, loc, locw, false);
		scr_text(s, " ");
		scr_field(s, kind, narrow ? 10 : 16, false);
		scr_text(s, " ");
		if (!strcmp(kind, "state")) {
			const char *cerr = field(e, "check_error");
			scr_field(s, field(e, "target"), narrow ? 22 : 24, false);
			if (!narrow)
				scr_field(s, field(e, "name"), 20, false);
			snprintf(buf, sizeof(buf), "%s → ", field(e, "from"));
			scr_text(s, buf);
			scr_sgr(s, st >= 0 ? state_sgr((enum fv_state)st) : "");
			scr_text(s, to);
			scr_sgr(s, "\033[0m");
			/* a check's verdict: the check and the server's words say it */
			if (fv_reason_is_check(field(e, "reason")) && *cerr)
				snprintf(buf, sizeof(buf), "  %s: %s", field(e, "check"), cerr);
			else
				snprintf(buf, sizeof(buf), "  %s", field(e, "reason"));
			scr_text(s, buf);
		} else if (!strncmp(kind, "host_", 5)) {
			snprintf(buf, sizeof(buf), "%s (%s watched ports)", field(e, "ip"), field(e, "ports"));
			scr_sgr(s, !strcmp(kind, "host_down") ? "\033[1;31m" : "\033[32m");
			scr_text(s, buf);
		} else if (!strncmp(kind, "prober_", 7)) {
			snprintf(buf, sizeof(buf), "%s  failing %.0f%%", field(e, "prober"),
				 strtod(field(e, "failing_share"), NULL) * 100);
			scr_sgr(s, !strcmp(kind, "prober_isolated") ? "\033[1;31m" : "\033[32m");
			scr_text(s, buf);
		} else if (!strcmp(kind, "address_changed")) {
			snprintf(buf, sizeof(buf), "%s  %s → %s", field(e, "name"), field(e, "old_ip"), field(e, "ip"));
			scr_text(s, buf);
		} else {
			scr_text(s, field(e, "target"));
		}
		scr_nl(s);
		shown++;
	}
	if (shown == 0) {
		scr_sgr(s, "\033[2m");
		scr_text(s, " none");
		scr_nl(s);
	}
}

/* Rows for each list. On a terminal the fixed lines (titles, headers,
 * blanks, counts) come first; the probers get up to 4, the slowest list
 * and the events a quarter each of what is left, the trouble list the
 * rest. --once (rows == INT_MAX) shows everything fetched, 20 events. */
struct layout {
	int probers, trouble, certs, slow, events;
};

static struct layout plan(const struct scr *s, const struct data *d)
{
	/* a trouble row may have its check's line under it */
	struct layout l = { (int)d->nprobers, 2 * (int)d->nproblems + 1, (int)d->ncerts, (int)d->nslow, 20 };

	if (s->rows == INT_MAX)
		return l;
	/* blank, counts header and rows (and total), blank, probers header,
	 * blank, trouble title, header and "rows x-y", blank, slowest title
	 * and header, blank, events title */
	int fixed = 1 + 1 + (int)d->nlocs + 1 + 1 + 1 + 1 + 3 + 1 + 2 + 1 + 1;
	int avail = s->rows - s->line - fixed;
	avail -= (l.probers < 4 ? l.probers : 5); /* 4 and "… N more" */
	l.probers = l.probers < 4 ? l.probers : 4;
	if (l.certs) {
		/* blank, title and header, and a few of the soonest */
		l.certs = l.certs < CERT_SHOW_TERM ? l.certs : CERT_SHOW_TERM;
		avail -= 3 + l.certs;
	}
	int quarter = avail / 4 > 2 ? avail / 4 : 2;
	l.slow = l.slow < quarter ? l.slow : quarter;
	l.events = quarter;
	l.trouble = avail - l.slow - l.events;
	if (l.trouble < 3)
		l.trouble = 3;
	return l;
}

static void draw(struct top *tp, struct scr *s)
{
	const struct data *d = tp->d;
	char buf[1024], age[32], clock_text[32];
	int64_t now = clock_real_ns();
	time_t t = (time_t)(now / NSEC_PER_SEC);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(clock_text, sizeof(clock_text), "%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), " synwatch-top   redis %s   prefix %s   view: %s   filter: %s   %s",
		 fleetview_url(tp->fv), fleetview_prefix(tp->fv), tp->view_loc[0] ? tp->view_loc : "all locations",
		 *tp->filter ? tp->filter : "-", clock_text);
	scr_bar(s, buf);
	if (tp->err[0]) {
		if (d)
			snprintf(buf, sizeof(buf), " %s; retrying, showing what was read %s ago", tp->err,
				 age_of(now, d->now_ns, age, sizeof(age)));
		else
			snprintf(buf, sizeof(buf), " %s; retrying", tp->err);
		scr_sgr(s, "\033[1;31m");
		scr_text(s, buf);
		scr_nl(s);
	} else if (d && fv_never_written(fleetview_has_schema(tp->fv), d->nprobers)) {
		char key[SCHEMA_KEY_MAX];
		scr_sgr(s, "\033[33m");
		scr_printf(s, " no '%s' key: no prober has written here yet (right --redis and --prefix?)",
			   schema_key(key, sizeof(key), fleetview_prefix(tp->fv), SCHEMA_SCHEMA, NULL, NULL));
		scr_nl(s);
	}
	if (!d)
		return;
	draw_prober_alarm(s, d);
	struct layout l = plan(s, d);
	scr_nl(s);
	draw_counts(s, tp, d);
	scr_nl(s);
	draw_probers(s, d, (size_t)l.probers);
	scr_nl(s);
	draw_problems(s, tp, d, l.trouble + 2);
	scr_nl(s);
	if (l.certs) {
		draw_certs(s, d, l.certs);
		scr_nl(s);
	}
	draw_slow(s, d, l.slow);
	scr_nl(s);
	/* the events take whatever is left */
	draw_events(s, tp, d, s->rows == INT_MAX ? l.events : s->rows - s->line - 1);
}

/* The key help on the last row, below whatever draw left. */
static void draw_footer(struct top *tp, struct scr *s)
{
	char buf[256];

	s->rows = tp->rows;
	while (s->line < s->rows - 1)
		scr_nl(s);
	if (tp->editing)
		snprintf(buf, sizeof(buf), " filter: %s█   Enter keep · Esc cancel · matches name, ip:port, group", tp->filter);
	else
		snprintf(buf, sizeof(buf), " q quit · / filter · ↑↓ PgUp PgDn scroll · l location: %s · e events: %s",
			 tp->view_loc[0] ? tp->view_loc : "all", tp->outages ? "outages" : "all");
	scr_sgr(s, "\033[7m");
	scr_field(s, buf, s->cols, false);
	buf_puts(&s->out, "\033[0m");
	s->line++;
}

static void paint(struct top *tp)
{
	/* the last row is the footer's */
	struct scr s = { .cols = tp->cols, .rows = tp->rows - 1, .color = true };

	buf_puts(&s.out, "\033[H");
	draw(tp, &s);
	if (s.line == s.rows)
		buf_add(&s.out, "\n", 1);
	draw_footer(tp, &s);
	if (!s.out.nomem) {
		size_t off = 0;
		while (off < s.out.len) {
			ssize_t w = write(STDOUT_FILENO, s.out.s + off, s.out.len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	buf_release(&s.out);
}

/* ---- keys ---- */

enum key {
	KEY_NONE,
	KEY_CHAR,
	KEY_UP,
	KEY_DOWN,
	KEY_PGUP,
	KEY_PGDN,
	KEY_HOME,
	KEY_END,
	KEY_ESC,
	KEY_ENTER,
	KEY_BACKSPACE,
	KEY_REDRAW,
	KEY_KILL,
};

/* One key from s (n bytes): returns the bytes it took. */
static size_t parse_key(const unsigned char *s, size_t n, enum key *k, unsigned char *ch)
{
	*k = KEY_NONE;
	if (s[0] == 0x1b) {
		if (n == 1 || (s[1] != '[' && s[1] != 'O')) {
			*k = KEY_ESC;
			return 1;
		}
		size_t i = 2;
		int num = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			num = num * 10 + (s[i++] - '0');
		while (i < n && (s[i] < 0x40 || s[i] > 0x7e))
			i++;
		if (i >= n)
			return n;
		switch (s[i]) {
		case 'A': *k = KEY_UP; break;
		case 'B': *k = KEY_DOWN; break;
		case 'H': *k = KEY_HOME; break;
		case 'F': *k = KEY_END; break;
		case '~':
			*k = num == 5 ? KEY_PGUP : num == 6 ? KEY_PGDN : num == 1 || num == 7 ? KEY_HOME
				: num == 4 || num == 8 ? KEY_END : KEY_NONE;
			break;
		default: break;
		}
		return i + 1;
	}
	switch (s[0]) {
	case '\r': case '\n': *k = KEY_ENTER; break;
	case 0x7f: case 0x08: *k = KEY_BACKSPACE; break;
	case 0x0c: *k = KEY_REDRAW; break;
	case 0x15: *k = KEY_KILL; break;
	default:
		if (s[0] >= 0x20) {
			*k = KEY_CHAR;
			*ch = s[0];
		}
	}
	return 1;
}

/* Handles one key; returns true when the data must be read again now. */
static bool on_key(struct top *tp, enum key k, unsigned char ch, bool *quit)
{
	size_t len = strlen(tp->filter);

	if (tp->editing) {
		switch (k) {
		case KEY_CHAR:
			if (len + 1 < sizeof(tp->filter)) {
				tp->filter[len] = (char)ch;
				tp->filter[len + 1] = '\0';
			}
			break;
		case KEY_BACKSPACE:
			/* a whole UTF-8 character */
			while (len > 0 && ((unsigned char)tp->filter[--len] & 0xc0) == 0x80)
				;
			tp->filter[len] = '\0';
			break;
		case KEY_KILL: tp->filter[0] = '\0'; break;
		case KEY_ENTER: tp->editing = false; break;
		case KEY_ESC:
			memcpy(tp->filter, tp->filter_saved, sizeof(tp->filter));
			tp->editing = false;
			break;
		default: break;
		}
		tp->scroll = 0;
		/* the slowest list is picked with the filter: read it again */
		return true;
	}
	switch (k) {
	case KEY_CHAR:
		if (ch == 'q' || ch == 'Q') {
			*quit = true;
		} else if (ch == '/') {
			memcpy(tp->filter_saved, tp->filter, sizeof(tp->filter));
			tp->editing = true;
		} else if (ch == 'e' || ch == 'E') {
			tp->outages = !tp->outages;
		} else if (ch == 'l' || ch == 'L') {
			size_t n = tp->d ? tp->d->nlocs : 0;
			tp->view = n ? (tp->view + 1) % (int)(n + 1) : 0;
			snprintf(tp->view_loc, sizeof(tp->view_loc), "%s", tp->view ? tp->d->locs[tp->view - 1] : "");
			tp->scroll = 0;
			return true;
		}
		break;
	case KEY_ESC: tp->filter[0] = '\0'; break;
	case KEY_UP: tp->scroll--; break;
	case KEY_DOWN: tp->scroll++; break;
	case KEY_PGUP: tp->scroll -= tp->page; break;
	case KEY_PGDN: tp->scroll += tp->page; break;
	case KEY_HOME: tp->scroll = 0; break;
	case KEY_END: tp->scroll = INT_MAX / 2; break;
	default: break;
	}
	return false;
}

/* ---- main ---- */

static int run_interactive(struct top *tp)
{
	uint64_t next = 0;
	bool quit = false;
	int r;

	term_size(&tp->rows, &tp->cols);
	if ((r = term_enter()) < 0) {
		log_error("cannot set up the terminal: %s", strerror(-r));
		return CLI_EXIT_RUNTIME;
	}
	atexit(term_restore);
	while (!quit && !sig_quit) {
		uint64_t now = clock_mono_ns();
		if (now >= next) {
			refresh(tp);
			next = clock_mono_ns() + (uint64_t)tp->o->interval_ns;
		}
		paint(tp);
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		now = clock_mono_ns();
		int timeout = next > now ? (int)((next - now) / NSEC_PER_MSEC) + 1 : 0;
		r = poll(&pfd, 1, timeout);
		if (sig_winch) {
			sig_winch = 0;
			term_size(&tp->rows, &tp->cols);
			/* a full clear: the old frame may be wider than the new screen */
			if (write(STDOUT_FILENO, "\033[2J", 4) < 0)
				break;
		}
		if (sig_tstp) {
			sig_tstp = 0;
			suspend();
			term_size(&tp->rows, &tp->cols);
		}
		if (r > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
			break; /* the terminal is gone (an SSH session dropped): nobody to show */
		if (r <= 0 || !(pfd.revents & POLLIN))
			continue;
		unsigned char in[256];
		ssize_t n = read(STDIN_FILENO, in, sizeof(in));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break; /* EIO once the terminal hung up: reading again would spin */
		for (ssize_t i = 0; i < n;) {
			enum key k;
			unsigned char ch = 0;
			i += (ssize_t)parse_key(in + i, (size_t)(n - i), &k, &ch);
			if (k == KEY_REDRAW && write(STDOUT_FILENO, "\033[2J", 4) < 0)
				quit = true;
			if (on_key(tp, k, ch, &quit))
				next = 0;
		}
	}
	term_restore();
	return 0;
}

static int run_once(struct top *tp)
{
	struct scr s = { .cols = tp->cols, .rows = INT_MAX };
	int r = refresh(tp);

	if (r < 0) {
		log_error("%s", tp->err);
		return CLI_EXIT_RUNTIME;
	}
	draw(tp, &s);
	if (s.out.nomem) {
		log_error("out of memory");
		return CLI_EXIT_RUNTIME;
	}
	fwrite(s.out.s, 1, s.out.len, stdout);
	buf_release(&s.out);
	return fflush(stdout) == 0 ? 0 : CLI_EXIT_RUNTIME;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: synwatch-top [--redis URL] [--prefix P] [--once] [--filter TEXT] [--location LOC]\n"
		"\n"
		"A live view of the fleet from Redis: counts by state per location, the targets\n"
		"in trouble (state in every location side by side), the slowest targets with a\n"
		"latency sparkline, recent events and the probers' health.\n"
		"\n"
		"      --redis URL       redis://[user:pw@]host[:port][/db], unix:///path.sock[?db=N],\n"
		"                        redis-sentinel://host:port[,...]/master (default $SYNWATCH_REDIS,\n"
		"                        else redis://127.0.0.1:6379)\n"
		"      --prefix P        key prefix (default " SCHEMA_DEFAULT_PREFIX ")\n"
		"      --once            print one frame without escape codes and exit (for scripts)\n"
		"      --width N         columns for --once (default $COLUMNS, else 120)\n"
		"      --filter TEXT     show only targets whose name, ip:port or group contains TEXT\n"
		"      --view LOC        start with location LOC alone (key l cycles)\n"
		"      --events MODE     the events pane: all (default) or outages (down and back,\n"
		"                        hosts, probers, moved names; not flaps or slowness; key e)\n"
		"      --location LOC    also show LOC when it has no live prober (repeatable)\n"
		"      --interval DUR    refresh interval (default 1s)\n"
		"      --timeout DUR     Redis connect and reply timeout (default 2s)\n"
		"  -h, --help            this help\n"
		"\n"
		"Keys: q quit, / filter (Enter keep, Esc cancel), arrows PgUp PgDn Home End scroll,\n"
		"l switch location view, e events: all or outages, Ctrl-L redraw.\n"
		"Exit: 0 done, 1 Redis unreachable, 2 bad usage.\n");
}

static void parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "redis", required_argument, NULL, 'r' },    { "prefix", required_argument, NULL, 'P' },
		{ "once", no_argument, NULL, '1' },           { "width", required_argument, NULL, 'w' },
		{ "filter", required_argument, NULL, 'f' },   { "view", required_argument, NULL, 'V' },
		{ "location", required_argument, NULL, 'L' }, { "interval", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },  { "events", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = getenv("SYNWATCH_REDIS"), *cols = getenv("COLUMNS");
	uint64_t width = 120;
	int c;

	if (cols)
		num_parse_uint(cols, 40, INT_MAX, &width); /* else 120 */
	*o = (struct options){
		.redis = env && *env ? env : "redis://127.0.0.1:6379",
		.prefix = SCHEMA_DEFAULT_PREFIX,
		.filter = "",
		.width = (int)width,
		.interval_ns = NSEC_PER_SEC,
		.timeout_ms = 2000,
	};
	o->locations = calloc((size_t)argc + 1, sizeof(*o->locations));
	if (!o->locations)
		cli_die_usage("out of memory");
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->redis = optarg; break;
		case 'P': o->prefix = optarg; break;
		case '1': o->once = true; break;
		case 'w': o->width = (int)cli_uint("--width", optarg, 40, 1000); break;
		case 'f':
			if (strlen(optarg) >= FILTER_MAX)
				cli_die_usage("--filter: at most %d bytes", FILTER_MAX - 1);
			o->filter = optarg;
			break;
		case 'V':
		case 'L':
			if (!schema_location_ok(optarg, strlen(optarg)))
				cli_die_usage("%s '%s': expected a location name (letters, digits, '.', '_', '-', at most %d)",
					  c == 'V' ? "--view" : "--location", optarg, SCHEMA_LOCATION_MAX);
			if (c == 'V')
				o->location = optarg;
			else
				o->locations[o->n_locations++] = optarg;
			break;
		case 'i': o->interval_ns = cli_duration("--interval", optarg, 100 * NSEC_PER_MSEC, 3600 * NSEC_PER_SEC); break;
		case 't':
			o->timeout_ms = (int)(cli_duration("--timeout", optarg, 10 * NSEC_PER_MSEC, 600 * NSEC_PER_SEC) /
					      NSEC_PER_MSEC);
			break;
		case 'e':
			if (strcmp(optarg, "all") && strcmp(optarg, "outages"))
				cli_die_usage("--events '%s': expected all or outages", optarg);
			o->outages = !strcmp(optarg, "outages");
			break;
		case 'h': usage(stdout); exit(0);
		default: cli_die_option(c, argv);
		}
	}
	cli_no_operands(argc, argv);
	if (!o->once && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		cli_die_usage("not a terminal: run it in one, or use --once for a frame as text");
}

int main(int argc, char **argv)
{
	struct options o;
	struct top tp = { .o = &o };
	char err[640];
	int r;

	log_set_program("synwatch-top");
	if (!setlocale(LC_CTYPE, "") || MB_CUR_MAX == 1)
		setlocale(LC_CTYPE, "C.UTF-8");
	parse_options(&o, argc, argv);
	snprintf(tp.filter, sizeof(tp.filter), "%s", o.filter);
	tp.outages = o.outages;
	if (o.location)
		snprintf(tp.view_loc, sizeof(tp.view_loc), "%s", o.location);
	if ((r = fleetview_open(&tp.fv, o.redis, o.prefix, o.timeout_ms, err, sizeof(err))) < 0) {
		log_error("%s", err);
		r = r == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
	} else if (o.once) {
		tp.cols = o.width;
		r = run_once(&tp);
	} else {
		install_signals();
		r = run_interactive(&tp);
	}
	data_free(tp.d);
	fleetview_free(tp.fv);
	free(o.locations);
	return r;
}
