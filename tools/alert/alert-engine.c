/* The alerter's policy (tools/alert/alert-engine.h). A job is one thing to
 * decide and deliver: an alert to announce (after group_wait), an end to
 * tell, an address change, a reminder, a held or silenced alert to tell
 * after all. Jobs from one read share an arena with the events' strings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "tools/alert/alert-engine.h"
#include "tools/alert/alert-route.h"
#include "store/schema.h"
#include "tools/lib/silence.h"

/* Silences are read again when older than this: a silence set with
 * synwatch-ctl holds back alerts decided a second later. */
#define SILENCES_MAX_AGE_NS NSEC_PER_SEC
#define SWEEP_EVERY_NS (2 * NSEC_PER_SEC)
/* How long an alerter has to tell a held or silenced alert before another
 * may try. */
#define ANNOUNCE_LEASE_MS (60 * 1000)
/* Events read around a host_down to name the host and its ports. */
#define HOST_CONTEXT_EVENTS "64"
#define ENTRY_MAX 64

struct batch {
	struct fv_arena a;
	unsigned refs;
};

enum job_kind {
	JOB_FIRE,     /* announce an alert this entry opened, after group_wait */
	JOB_RESOLVE,  /* tell that an announced alert is over */
	JOB_INFO,     /* tell an event that opens nothing (address_changed) */
	JOB_REMIND,   /* it still holds */
	JOB_ANNOUNCE, /* a held or silenced alert outlasted its reason */
};

struct job {
	struct job *next;
	struct alert_engine *en;        /* for the delivery callbacks */
	struct batch *batch;
	enum job_kind kind;
	char entry[ENTRY_MAX];          /* the stream entry to acknowledge; "" for sweep jobs */
	char owner[ENTRY_MAX];          /* the entry that opened the alert (sweep jobs) */
	char key[ALERT_KEY_MAX];
	enum alert_class cls;
	struct alert_event e;           /* what the message is about */
	struct alert_event first;       /* the event that opened the alert (routing of its end) */
	const char *host_ports;
	const char *note;
	int64_t due_ns;                 /* FIRE: decide at this real time */
	bool started;                   /* deliveries queued */
	size_t queued;                  /* deliveries started */
	size_t waiting;                 /* ... not finished */
	size_t told;                    /* ... that succeeded */
	const char *locs_text;          /* "fra1,ams2": where it held, kept for its end */
	struct buf title, text;
};

struct alert_engine {
	const struct alert_config *c;
	struct alert_book *b;
	struct alert_outbox *o;
	alert_ack_fn ack;
	void *ctx;
	struct job *jobs;
	size_t n_jobs;
	struct silence_set silences;
	int64_t silences_at;
	int64_t sweep_at;
	bool *route;                    /* scratch: n_channels */
	bool failed;                    /* a bookkeeping call failed inside a callback */
};

/* ---- jobs ---- */

static struct batch *batch_new(void)
{
	return calloc(1, sizeof(struct batch));
}

static void batch_put(struct batch *bt)
{
	if (bt && --bt->refs == 0) {
		fv_arena_release(&bt->a);
		free(bt);
	}
}

static struct job *job_new(struct alert_engine *en, struct batch *bt, enum job_kind kind, const char *entry)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	j->en = en;
	j->batch = bt;
	bt->refs++;
	snprintf(j->entry, sizeof(j->entry), "%s", entry ? entry : "");
	j->next = en->jobs;
	en->jobs = j;
	en->n_jobs++;
	return j;
}

static void job_free(struct alert_engine *en, struct job *j)
{
	for (struct job **p = &en->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			en->n_jobs--;
			break;
		}
	buf_release(&j->title);
	buf_release(&j->text);
	batch_put(j->batch);
	free(j);
}

static bool holds_entry(const struct alert_engine *en, const char *entry)
{
	for (const struct job *j = en->jobs; j; j = j->next)
		if (strcmp(j->entry, entry) == 0)
			return true;
	return false;
}

static void ack(struct alert_engine *en, const char *entry)
{
	if (!*entry)
		return;
	en->ack(en->ctx, entry);
	if (book_sent_drop(en->b, entry) < 0)
		en->failed = true;
}

/* Ends a job: its entry is acknowledged. */
static void job_done(struct alert_engine *en, struct job *j)
{
	ack(en, j->entry);
	job_free(en, j);
}

/* ---- helpers ---- */

static int book_failed(struct alert_engine *en)
{
	en->failed = true;
	return -EIO;
}

static const char *field_of(const struct fv_record *r, const char *key)
{
	const char *v = fv_record_get(r, key);

	return v ? v : "";
}

static const char *loc_of(const struct alert_event *e)
{
	return *e->location ? e->location : "-";
}

/* A port alert: its host's outage holds it back. */
static bool port_class(enum alert_class c)
{
	return c == ALERT_DOWN || c == ALERT_SLOW || c == ALERT_FLAPPING;
}

static enum alert_class class_named(const char *s)
{
	for (enum alert_class c = ALERT_NONE; c <= ALERT_INFO; c++)
		if (strcmp(alert_class_name(c), s) == 0)
			return c;
	return ALERT_NONE;
}

/* With quorum: true the target and host states of the real locations are
 * synwatch-quorum's input; only its location's are alerted on. */
static bool quorum_skips(const struct alert_config *c, const struct alert_event *e)
{
	return c->quorum && strcmp(e->location, c->quorum_location) != 0 &&
	       (strcmp(e->kind, "state") == 0 || strcmp(e->kind, "host_down") == 0 ||
		strcmp(e->kind, "host_up") == 0);
}

static const struct silence *silenced(struct alert_engine *en, const struct alert_event *e)
{
	int64_t now = clock_real_ns();
	char err[256];

	if (now - en->silences_at > SILENCES_MAX_AGE_NS) {
		struct silence_set fresh;
		if (silence_load(en->b->c, en->b->prefix, now / NSEC_PER_SEC, &fresh, err, sizeof(err)) < 0) {
			/* the old ones hold until Redis answers again */
			log_warn("cannot read silences: %s", err);
		} else {
			silence_set_release(&en->silences);
			en->silences = fresh;
			en->silences_at = now;
		}
	}
	return silence_find(&en->silences, now / NSEC_PER_SEC, alert_event_attr, e);
}

/* rec's fields, then those of more that rec does not have, into out. */
static int merge_records(struct fv_arena *a, const struct fv_record *rec, const struct fv_record *more,
			 struct fv_record *out)
{
	*out = (struct fv_record){ .id = rec->id };
	out->keys = fv_alloc(a, (rec->n + more->n + 1) * sizeof(char *));
	out->vals = fv_alloc(a, (rec->n + more->n + 1) * sizeof(char *));
	if (!out->keys || !out->vals)
		return -ENOMEM;
	for (size_t i = 0; i < rec->n; i++) {
		out->keys[out->n] = rec->keys[i];
		out->vals[out->n++] = rec->vals[i];
	}
	for (size_t i = 0; i < more->n; i++)
		if (!fv_record_get(rec, more->keys[i]) || !*fv_record_get(rec, more->keys[i])) {
			out->keys[out->n] = more->keys[i];
			out->vals[out->n++] = more->vals[i];
		}
	return 0;
}

/* Reads an alert's JSON into the event that opened it and its bookkeeping. */
static int parse_alert(struct fv_arena *a, const char *json, struct alert_event *first,
		       struct fv_record *book)
{
	struct fv_record *rec = fv_alloc(a, sizeof(*rec));
	int r;

	if (!rec)
		return -ENOMEM;
	if ((r = book_alert_parse(json, a, rec, book)) < 0)
		return r;
	r = alert_event_parse(first, rec, field_of(book, BOOK_ENTRY), a);
	return r == -EINVAL ? 0 : r;
}

static const char *join(struct fv_arena *a, const char *const *v, size_t n, const char *sep)
{
	struct buf b = { 0 };
	const char *s;

	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, i ? sep : "");
		buf_puts(&b, v[i]);
	}
	s = fv_strndup(a, b.s ? b.s : "", b.len);
	buf_release(&b);
	return s;
}

/* "fra1,ams2" back into a list. */
static size_t split(struct fv_arena *a, const char *s, const char ***out)
{
	size_t n = 0;
	char *copy = fv_strndup(a, s, strlen(s));
	const char **v = fv_alloc(a, (strlen(s) / 2 + 2) * sizeof(*v));

	*out = v;
	if (!copy || !v)
		return 0;
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		v[n++] = t;
	return n;
}

/* ---- delivery ---- */

static void job_complete(struct alert_engine *en, struct job *j);

static void delivered(void *ctx, size_t ch, bool ok)
{
	struct job *j = ctx;
	struct alert_engine *en = j->en;

	if (ok) {
		j->told++;
		if (*j->entry && book_sent_add(en->b, j->entry, en->c->channels[ch].name) < 0)
			en->failed = true;
	}
	if (--j->waiting == 0)
		job_complete(en, j);
}

/* Queues the message on every routed channel the entry has not reached
 * yet; completes the job at once when there is nothing to send. */
static int deliver(struct alert_engine *en, struct job *j, const struct alert_msg *m, const bool *route)
{
	struct alert_letter l = { .m = m };
	char msg_id[ENTRY_MAX + ALERT_KEY_MAX + 32];

	alert_format_title(&j->title, m);
	alert_format_text(&j->text, m);
	if (j->title.nomem || j->text.nomem)
		return -ENOMEM;
	snprintf(msg_id, sizeof(msg_id), "%s.%lld.%s", *j->entry ? j->entry : "sweep", (long long)m->now_ns,
		 alert_class_name(j->cls));
	l.title = j->title.s;
	l.text = j->text.s;
	l.msg_id = msg_id;
	j->started = true;
	for (size_t ch = 0; ch < en->c->n_channels; ch++) {
		const struct alert_channel *c = &en->c->channels[ch];
		int r;

		if (!route[ch] || (m->status == ALERT_RESOLVED && !c->send_resolved))
			continue;
		if (*j->entry && (r = book_sent_has(en->b, j->entry, c->name)) != 0) {
			if (r < 0)
				return book_failed(en);
			continue; /* reached before a crash */
		}
		if (alert_outbox_send(en->o, ch, &l, delivered, j) < 0)
			return -ENOMEM;
		j->waiting++;
		j->queued++;
	}
	log_info("%s (to %zu channel%s)", j->title.s, j->waiting, j->waiting == 1 ? "" : "s");
	if (j->waiting == 0)
		job_complete(en, j);
	return 0;
}

static void job_complete(struct alert_engine *en, struct job *j)
{
	int64_t remind_ms = en->c->reminder_ns / NSEC_PER_MSEC;
	int r = 0;

	if (j->queued && !j->told)
		log_error("%s: no channel could deliver '%s' (see the channel errors above)", j->key,
			  j->title.s);
	switch (j->kind) {
	case JOB_FIRE:
	case JOB_ANNOUNCE: {
		const char *owner = j->kind == JOB_FIRE ? j->entry : j->owner;
		const char *fields[] = { BOOK_STATUS, BOOK_SENT, BOOK_NOTE,
					 "",	      "_locs",	 j->locs_text ? j->locs_text : "" };
		r = book_update(en->b, j->key, owner, fields, 3);
		if (r >= 0 && remind_ms > 0)
			r = book_lease_set(en->b, j->key, remind_ms);
		break;
	}
	case JOB_RESOLVE:
		r = book_close(en->b, j->key, j->entry);
		break;
	case JOB_REMIND:
	case JOB_INFO:
		break;
	}
	if (r < 0)
		en->failed = true;
	job_done(en, j);
}

/* ---- deciding ---- */

/* The ports, name, group and labels of a host, from the events around
 * its host_down: a host event carries none, but routes and readers need
 * them. The name and group are kept when all its ports share them, the
 * labels those they all have. */
static int host_context(struct alert_engine *en, struct job *j)
{
	struct fv_arena *a = &j->batch->a;
	struct alert_event *e = &j->e;
	char key[SCHEMA_KEY_MAX], end[ENTRY_MAX + 2];
	const char *name = NULL, *group = NULL;
	bool same_name = true, same_group = true, any = false;
	struct fv_label common[ALERT_EVENT_MAX_LABELS];
	size_t n_common = 0, n_ports = 0;
	unsigned ports[256];

	schema_key(key, sizeof(key), en->b->prefix, SCHEMA_EVENTS, NULL, NULL);
	for (int dir = 0; dir < 2; dir++) {
		snprintf(end, sizeof(end), "(%s", j->entry);
		const char *argv[] = { dir ? "XRANGE" : "XREVRANGE", key, end, dir ? "+" : "-", "COUNT",
				       HOST_CONTEXT_EVENTS };
		redisReply *rep = redisCommandArgv(en->b->c, 6, argv, NULL);
		if (!rep)
			return book_failed(en);
		for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
			const redisReply *it = rep->element[i];
			struct fv_record rec;
			struct alert_event pe;
			if (it->type != REDIS_REPLY_ARRAY || it->elements != 2 ||
			    alert_record_of(a, it->element[1], "", &rec) < 0 ||
			    alert_event_parse(&pe, &rec, NULL, a) < 0 || strcmp(pe.kind, "state") != 0 ||
			    strcmp(pe.ip, e->ip) != 0 || strcmp(pe.location, e->location) != 0)
				continue;
			unsigned port = (unsigned)strtoul(pe.port, NULL, 10);
			bool seen = false;
			for (size_t k = 0; k < n_ports; k++)
				seen |= ports[k] == port;
			if (!seen && n_ports < sizeof(ports) / sizeof(ports[0]))
				ports[n_ports++] = port;
			same_name &= !name || strcmp(name, pe.name) == 0;
			same_group &= !group || strcmp(group, pe.group) == 0;
			name = name ? name : pe.name;
			group = group ? group : pe.group;
			if (!any) {
				n_common = pe.n_labels < ALERT_EVENT_MAX_LABELS ? pe.n_labels
										: ALERT_EVENT_MAX_LABELS;
				memcpy(common, pe.labels, n_common * sizeof(*common));
			} else {
				size_t k = 0;
				for (size_t c = 0; c < n_common; c++) {
					const char *v = alert_event_label(&pe, common[c].name);
					if (v && strcmp(v, common[c].value) == 0)
						common[k++] = common[c];
				}
				n_common = k;
			}
			any = true;
		}
		freeReplyObject(rep);
	}
	if (!any)
		return 0;
	/* sorted ports read best */
	for (size_t i = 1; i < n_ports; i++)
		for (size_t k = i; k > 0 && ports[k - 1] > ports[k]; k--) {
			unsigned t = ports[k];
			ports[k] = ports[k - 1];
			ports[k - 1] = t;
		}
	struct buf pb = { 0 }, lb = { 0 };
	for (size_t i = 0; i < n_ports; i++)
		buf_printf(&pb, "%s%u", i ? ", " : "", ports[i]);
	buf_puts(&lb, "{");
	for (size_t i = 0; i < n_common; i++) {
		buf_puts(&lb, i ? "," : "");
		json_put_str(&lb, common[i].name);
		buf_puts(&lb, ":");
		json_put_str(&lb, common[i].value);
	}
	buf_puts(&lb, "}");
	j->host_ports = fv_strndup(a, pb.s ? pb.s : "", pb.len);
	const char *labels = fv_strndup(a, lb.s ? lb.s : "{}", lb.len);
	buf_release(&pb);
	buf_release(&lb);
	if (!j->host_ports || !labels)
		return -ENOMEM;
	/* the host event enriched, as routes and the stored alert see it */
	const char *keys[] = { "name", "group", "labels", "_host_ports" };
	const char *vals[] = { same_name && name ? name : "", same_group && group ? group : "", labels,
			       j->host_ports };
	struct fv_record more = { .n = 4, .keys = keys, .vals = vals }, merged;
	int r = merge_records(a, &e->rec, &more, &merged);
	if (r < 0 || (r = alert_event_parse(e, &merged, e->entry, a)) < 0)
		return r == -EINVAL ? 0 : r;
	const char *fields[] = { "name",   vals[0], "group",	   vals[1],
				 "labels", labels,  "_host_ports", j->host_ports };
	return book_update(en->b, j->key, j->entry, fields, 4) < 0 ? book_failed(en) : 0;
}

/* "was down for 5m" when this event ends another condition of the target. */
static const char *previous_note(struct fv_arena *a, const struct alert_event *e)
{
	char d[32], buf[128];

	if (strcmp(e->kind, "state") != 0 || !e->since_ns || e->ts_ns < e->since_ns ||
	    (strcmp(e->from, "down") != 0 && strcmp(e->from, "degraded") != 0 &&
	     strcmp(e->from, "flapping") != 0))
		return NULL;
	snprintf(buf, sizeof(buf), "was %s for %s before", e->from,
		 alert_duration_text(e->ts_ns - e->since_ns, d, sizeof(d)));
	return fv_strndup(a, buf, strlen(buf));
}

/* Marks the alert and lets its entry go without a message. */
static void hold_back(struct alert_engine *en, struct job *j, const char *status, const char *note)
{
	const char *fields[] = { BOOK_STATUS, status, BOOK_NOTE, note ? note : "" };

	if (book_update(en->b, j->key, j->entry, fields, 2) < 0)
		en->failed = true;
	job_done(en, j);
}

static int announce(struct alert_engine *en, struct job *j, enum alert_status status)
{
	struct fv_arena *a = &j->batch->a;
	const struct alert_event *about = &j->e;
	const char **locs = NULL;
	int n = 0;

	if (status == ALERT_RESOLVED) {
		n = (int)split(a, j->locs_text ? j->locs_text : "", &locs);
	} else if (j->cls != ALERT_INFO) {
		if ((n = book_locations(en->b, j->key, a, &locs)) < 0)
			return book_failed(en);
		j->locs_text = join(a, locs, (size_t)n, ",");
	}
	struct alert_msg m = {
		.status = status,
		.cls = j->cls,
		.e = about,
		.first = status == ALERT_RESOLVED ? &j->first : NULL,
		.now_ns = clock_real_ns(),
		.started_ns = status == ALERT_RESOLVED ? (j->e.since_ns ? j->e.since_ns : j->first.ts_ns)
						       : about->ts_ns,
		.locations = locs,
		.n_locations = (size_t)n,
		.host_ports = j->host_ports,
		.note = j->note,
	};
	/* an end goes where the alert went: the routes see the event that opened it */
	alert_route(en->c, j->kind == JOB_FIRE || j->kind == JOB_INFO ? &j->e : &j->first, en->route);
	return deliver(en, j, &m, en->route);
}

/* A FIRE job whose group_wait is over. */
static int decide(struct alert_engine *en, struct job *j)
{
	struct fv_arena *a = &j->batch->a;
	struct alert_event now_first;
	struct fv_record book;
	const struct silence *sil;
	char *json = NULL;
	int r;

	if ((r = book_get(en->b, j->key, &json)) < 0)
		return book_failed(en);
	if (!json) {
		log_info("%s: over before it was told", j->key);
		job_done(en, j);
		return 0;
	}
	r = parse_alert(a, json, &now_first, &book);
	free(json);
	if (r < 0)
		return r;
	/* taken over, being closed, or told before a crash: nothing to do */
	if (strcmp(field_of(&book, BOOK_ENTRY), j->entry) != 0 || *field_of(&book, BOOK_CLOSING) ||
	    strcmp(field_of(&book, BOOK_STATUS), BOOK_PENDING) != 0) {
		job_done(en, j);
		return 0;
	}
	if (j->cls == ALERT_HOST && (r = host_context(en, j)) < 0)
		return r;
	if (!alert_route(en->c, &j->e, en->route)) {
		log_info("%s: no route matches it: not told", j->key);
		hold_back(en, j, BOOK_UNROUTED, NULL);
		return 0;
	}
	if ((sil = silenced(en, &j->e))) {
		char note[SILENCE_COMMENT_MAX + 64];
		snprintf(note, sizeof(note), "silenced by %s%s%s", sil->id, *sil->comment ? ": " : "",
			 sil->comment);
		log_info("%s: %s", j->key, note);
		hold_back(en, j, BOOK_SILENCED, note);
		return 0;
	}
	if (port_class(j->cls)) {
		if ((r = *j->e.host_event ? 1 : book_host_down(en->b, j->e.ip, loc_of(&j->e))) < 0)
			return book_failed(en);
		if (r) {
			log_info("%s: held: its host %s is down (told with the host)", j->key, j->e.ip);
			hold_back(en, j, BOOK_HELD, "held while its host was down");
			return 0;
		}
	}
	j->note = previous_note(a, &j->e);
	return announce(en, j, ALERT_FIRING);
}

/* ---- reading entries ---- */

/* Ends the condition cls of e at its location; may queue a RESOLVE job. */
static int clear(struct alert_engine *en, struct batch *bt, const struct alert_event *e, const char *entry,
		 enum alert_class cls, bool quiet, struct job **job)
{
	char key[ALERT_KEY_MAX], *json = NULL;
	struct alert_event first;
	struct fv_record book;
	int r;

	if (alert_key(key, sizeof(key), cls, e) < 0)
		return 0;
	if ((r = book_clear(en->b, key, loc_of(e), entry, &json)) < 0)
		return r == -EIO ? book_failed(en) : r;
	if (r == BOOK_STILL)
		log_info("%s: over at %s, still on elsewhere", key, loc_of(e));
	if (r != BOOK_LAST)
		return 0;
	r = parse_alert(&bt->a, json, &first, &book);
	free(json);
	if (r < 0)
		return r;
	if (quiet || strcmp(field_of(&book, BOOK_STATUS), BOOK_SENT) != 0) {
		if (strcmp(field_of(&book, BOOK_STATUS), BOOK_PENDING) == 0 && !quiet)
			log_info("%s: over before it was told", key);
		return book_close(en->b, key, entry) < 0 ? book_failed(en) : 0;
	}
	struct job *j = job_new(en, bt, JOB_RESOLVE, entry);
	struct fv_record merged;
	if (!j)
		return -ENOMEM;
	*job = j;
	snprintf(j->key, sizeof(j->key), "%s", key);
	j->cls = cls;
	j->first = first;
	j->host_ports =
	    fv_strndup(&bt->a, field_of(&book, "_host_ports"), strlen(field_of(&book, "_host_ports")));
	j->locs_text = fv_strndup(&bt->a, field_of(&book, "_locs"), strlen(field_of(&book, "_locs")));
	/* the end's own fields first, the names and labels of the start behind */
	if ((r = merge_records(&bt->a, &e->rec, &first.rec, &merged)) < 0 ||
	    (r = alert_event_parse(&j->e, &merged, entry, &bt->a)) == -ENOMEM)
		return -ENOMEM;
	return 0;
}

static int on_entry(struct alert_engine *en, struct batch *bt, const char *entry, const redisReply *fields)
{
	enum alert_class clears, fires;
	struct job *j = NULL;
	struct alert_event e;
	struct fv_record rec;
	int r;

	/* the reply goes when the batch is read: the id lives in the arena */
	if (!(entry = fv_strndup(&bt->a, entry, strlen(entry))))
		return -ENOMEM;
	if ((r = alert_record_of(&bt->a, fields, entry, &rec)) == -ENOMEM)
		return r;
	if (r < 0 || alert_event_parse(&e, &rec, entry, &bt->a) == -EINVAL) {
		log_warn(
		    "entry %s of the events stream is not an event as docs/redis.md describes it: skipped",
		    entry);
		ack(en, entry);
		return 0;
	}
	if (quorum_skips(en->c, &e)) {
		log_debug("entry %s: %s from %s: not the quorum's location '%s': skipped", entry, e.kind,
			  loc_of(&e), en->c->quorum_location);
		ack(en, entry);
		return 0;
	}
	alert_event_effect(&e, &clears, &fires);
	if (clears != ALERT_NONE && (r = clear(en, bt, &e, entry, clears, fires != ALERT_NONE, &j)) < 0)
		return r;
	if (fires == ALERT_INFO) {
		if (!(j = job_new(en, bt, JOB_INFO, entry)))
			return -ENOMEM;
		j->cls = ALERT_INFO;
		j->e = e;
		j->due_ns = clock_real_ns();
	} else if (fires != ALERT_NONE) {
		char key[ALERT_KEY_MAX], *json;
		if (alert_key(key, sizeof(key), fires, &e) < 0)
			goto out;
		const char *extra[] = { BOOK_ENTRY,   entry,	  BOOK_STATUS,
					BOOK_PENDING, BOOK_CLASS, alert_class_name(fires) };
		if (!(json = book_alert_json(&e, extra, 3)))
			return -ENOMEM;
		r = book_fire(en->b, key, loc_of(&e), entry, json);
		free(json);
		if (r < 0)
			return book_failed(en);
		if (r == BOOK_DUPLICATE) {
			log_info("%s: already open; also from %s now", key, loc_of(&e));
			goto out;
		}
		if (!(j = job_new(en, bt, JOB_FIRE, entry)))
			return -ENOMEM;
		snprintf(j->key, sizeof(j->key), "%s", key);
		j->cls = fires;
		j->e = e;
		/* measured from when it happened: a redelivered entry waits no more */
		int64_t at = (e.ts_ns ? e.ts_ns : clock_real_ns()) + en->c->group_wait_ns;
		j->due_ns = at;
	}
out:
	if (!j)
		ack(en, entry);
	return 0;
}

int alert_engine_entries(struct alert_engine *en, const redisReply *entries, char *last, size_t lastlen)
{
	struct batch *bt;
	int r = 0;

	if (entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
		return 0;
	if (!(bt = batch_new()))
		return -ENOMEM;
	bt->refs = 1;
	for (size_t i = 0; i < entries->elements && r == 0; i++) {
		const redisReply *it = entries->element[i];
		if (it->type != REDIS_REPLY_ARRAY || it->elements < 1 ||
		    it->element[0]->type != REDIS_REPLY_STRING)
			continue;
		const char *id = it->element[0]->str;
		if (last)
			snprintf(last, lastlen, "%s", id);
		if (holds_entry(en, id))
			continue;
		if (it->elements < 2 || it->element[1]->type != REDIS_REPLY_ARRAY) {
			ack(en, id); /* trimmed from the stream before it was read */
			continue;
		}
		r = on_entry(en, bt, id, it->element[1]);
	}
	batch_put(bt);
	if (r == 0 && en->failed)
		r = -EIO;
	return r;
}

/* ---- the sweep ---- */

/* Drops the locations whose state no longer shows the condition (an end
 * that was missed); returns how many are left. */
static int still_holds(struct alert_engine *en, struct fv_arena *a, const char *key,
		       const struct alert_event *first, enum alert_class cls)
{
	static const char *const state_of[] = { [ALERT_DOWN] = "down", [ALERT_SLOW] = "degraded",
						[ALERT_FLAPPING] = "flapping" };
	const char **locs;
	int n = book_locations(en->b, key, a, &locs), left;

	if (n < 0 || !port_class(cls))
		return n;
	left = n;
	for (int i = 0; i < n; i++) {
		char st[32];
		if (book_target_state(en->b, locs[i], first->target, st, sizeof(st)) < 0)
			return -EIO;
		if (strcmp(st, state_of[cls]) != 0) {
			log_info("%s: %s reports it %s now: no longer counted there", key, locs[i],
				 *st ? st : "gone");
			if ((left = book_forget_location(en->b, key, locs[i])) < 0)
				return -EIO;
		}
	}
	return left;
}

static struct job *sweep_job(struct alert_engine *en, struct batch *bt, enum job_kind kind, const char *key,
			     const struct alert_event *first, const struct fv_record *book)
{
	struct job *j = job_new(en, bt, kind, NULL);

	if (!j)
		return NULL;
	snprintf(j->key, sizeof(j->key), "%s", key);
	snprintf(j->owner, sizeof(j->owner), "%s", field_of(book, BOOK_ENTRY));
	j->cls = class_named(field_of(book, BOOK_CLASS));
	j->first = *first;
	j->e = *first;
	j->host_ports = field_of(book, "_host_ports");
	return j;
}

static int sweep_one(struct alert_engine *en, struct batch *bt, const char *key, const char *json)
{
	struct fv_arena *a = &bt->a;
	int64_t now = clock_real_ns(), remind_ms = en->c->reminder_ns / NSEC_PER_MSEC;
	struct alert_event first;
	struct fv_record book;
	const char *status, *note = NULL;
	struct job *j;
	int r;

	if (parse_alert(a, json, &first, &book) < 0)
		return 0;
	status = field_of(&book, BOOK_STATUS);
	enum alert_class cls = class_named(field_of(&book, BOOK_CLASS));
	if (*field_of(&book, BOOK_CLOSING))
		return 0;
	if (strcmp(status, BOOK_SENT) == 0) {
		if (remind_ms <= 0 || (r = book_lease(en->b, key, remind_ms)) == 0)
			return 0;
		if (r < 0 || (r = still_holds(en, a, key, &first, cls)) < 0)
			return -EIO;
		if (r == 0) {
			log_warn("%s: no location reports it any more (an event was missed?): closed without "
				 "a message",
				 key);
			return book_drop(en->b, key);
		}
		if (silenced(en, &first))
			return 0;
		if (!(j = sweep_job(en, bt, JOB_REMIND, key, &first, &book)))
			return -ENOMEM;
		return announce(en, j, ALERT_REMINDER);
	}
	if (strcmp(status, BOOK_HELD) == 0) {
		const char *due = field_of(&book, BOOK_DUE);
		if ((r = book_host_down(en->b, first.ip, loc_of(&first))) != 0) {
			const char *f[] = { BOOK_DUE, "" };
			return r < 0  ? r
			       : *due ? book_update(en->b, key, field_of(&book, BOOK_ENTRY), f, 1)
				      : 0;
		}
		if (!*due) {
			/* the host is back: its ports get host_settle to follow */
			char at[24];
			snprintf(at, sizeof(at), "%lld",
				 (long long)((now + en->c->host_settle_ns) / NSEC_PER_MSEC));
			const char *f[] = { BOOK_DUE, at };
			return book_update(en->b, key, field_of(&book, BOOK_ENTRY), f, 1);
		}
		if (now / NSEC_PER_MSEC < strtoll(due, NULL, 10))
			return 0;
		note = "still down after its host came back";
	} else if (strcmp(status, BOOK_SILENCED) == 0) {
		if (silenced(en, &first))
			return 0;
		note = "its silence is over";
	} else {
		return 0;
	}
	if ((r = book_lease(en->b, key, ANNOUNCE_LEASE_MS)) <= 0)
		return r;
	if ((r = still_holds(en, a, key, &first, cls)) <= 0)
		return r < 0 ? r : book_drop(en->b, key);
	if (silenced(en, &first)) {
		const char *f[] = { BOOK_STATUS, BOOK_SILENCED };
		return book_update(en->b, key, field_of(&book, BOOK_ENTRY), f, 1);
	}
	if (!(j = sweep_job(en, bt, JOB_ANNOUNCE, key, &first, &book)))
		return -ENOMEM;
	j->note = note;
	return announce(en, j, ALERT_FIRING);
}

static int sweep(struct alert_engine *en)
{
	const char **keys, **alerts;
	struct batch *bt = batch_new();
	int n, r = 0;

	if (!bt)
		return -ENOMEM;
	bt->refs = 1;
	if ((n = book_list(en->b, &bt->a, &keys, &alerts)) < 0)
		r = n == -ENOMEM ? n : book_failed(en);
	for (int i = 0; i < n && r >= 0; i++)
		r = sweep_one(en, bt, keys[i], alerts[i]);
	batch_put(bt);
	if (r == -EIO)
		book_failed(en);
	return r < 0 ? r : 0;
}

int alert_engine_tick(struct alert_engine *en)
{
	int64_t now = clock_real_ns(), next = 1000;
	int r = 0;

	/* deciding may complete and free jobs: start over after each */
	for (bool again = true; again && r >= 0;) {
		again = false;
		for (struct job *j = en->jobs; j; j = j->next) {
			if (j->started)
				continue;
			if (j->due_ns > now) {
				int64_t ms = (j->due_ns - now) / NSEC_PER_MSEC + 1;
				next = ms < next ? ms : next;
				continue;
			}
			switch (j->kind) {
			case JOB_FIRE:
				r = decide(en, j);
				break;
			case JOB_INFO:
				if (silenced(en, &j->e)) {
					log_info("%s: silenced", j->e.target);
					job_done(en, j);
					break;
				}
				r = announce(en, j, ALERT_FIRING);
				break;
			case JOB_RESOLVE:
				if (silenced(en, &j->first)) {
					log_info("%s: over, silenced", j->key);
					job_complete(en, j);
					break;
				}
				r = announce(en, j, ALERT_RESOLVED);
				break;
			default:
				break;
			}
			again = true;
			break;
		}
	}
	if (r >= 0 && now >= en->sweep_at) {
		en->sweep_at = now + SWEEP_EVERY_NS;
		r = sweep(en);
	}
	if (r >= 0 && en->failed)
		r = -EIO;
	return r < 0 ? r : (int)next;
}

/* ---- life ---- */

int alert_engine_new(struct alert_engine **out, const struct alert_config *c, struct alert_book *book,
		     struct alert_outbox *o, alert_ack_fn ackf, void *ctx)
{
	struct alert_engine *en = calloc(1, sizeof(*en));

	if (!en || !(en->route = calloc(c->n_channels ? c->n_channels : 1, sizeof(*en->route)))) {
		free(en);
		return -ENOMEM;
	}
	en->c = c;
	en->b = book;
	en->o = o;
	en->ack = ackf;
	en->ctx = ctx;
	*out = en;
	return 0;
}

void alert_engine_reset(struct alert_engine *en)
{
	while (en->jobs)
		job_free(en, en->jobs);
	en->failed = false;
	en->silences_at = 0;
}

void alert_engine_free(struct alert_engine *en)
{
	if (!en)
		return;
	while (en->jobs)
		job_free(en, en->jobs);
	silence_set_release(&en->silences);
	free(en->route);
	free(en);
}

size_t alert_engine_entries_held(const struct alert_engine *en, const char **ids, size_t max)
{
	size_t n = 0;

	for (const struct job *j = en->jobs; j && n < max; j = j->next)
		if (*j->entry)
			ids[n++] = j->entry;
	return n;
}

size_t alert_engine_jobs(const struct alert_engine *en)
{
	return en->n_jobs;
}
