/* The alerters' shared bookkeeping in Redis (docs/redis.md, "Alerting"):
 * which alerts are open, where their condition holds, who announces and
 * who resolves them. Several synwatch-alert processes share one consumer
 * group and so see different events of one outage; each decision below is
 * one small Lua script, atomic in Redis, so that exactly one of them
 * announces an alert and exactly one tells that it is over, and a crashed
 * one that gets its events again finds its own earlier decision.
 *
 *   P alert:GROUP:open         hash: alert key -> the alert, a flat JSON
 *                              object: the fields of the event that started it
 *                              and the bookkeeping fields, which start with '_'
 *   P alert:GROUP:loc:KEY      set: the locations where the condition holds
 *   P alert:GROUP:lease:KEY    string with a TTL: the next reminder or the next
 *                              look at a held alert is not due before it expires
 *   P alert:GROUP:sent:ENTRY   set: channels a stream entry was delivered to (1 day)
 *
 * Each consumer group keeps its own, so that a second group (a test
 * alerter) tells everything again instead of finding it told.
 *
 * Calls block on the connection given (its timeout bounds them). */
#ifndef SW_ALERT_BOOK_H
#define SW_ALERT_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#include "tools/alert/alert-event.h"
#include "tools/lib/fleetview.h"
#include "store/schema.h"

/* The bookkeeping fields of an alert. */
#define BOOK_ENTRY "_entry"     /* stream entry of the event that started it */
#define BOOK_STATUS "_status"   /* see enum book_status */
#define BOOK_CLASS "_class"     /* alert_class_name */
#define BOOK_DUE "_due"         /* held: Unix ms before which it is not told */
#define BOOK_CLOSING "_closing" /* stream entry of the event that ended it */
#define BOOK_NOTE "_note"       /* why it was held or silenced */

/* What became of an open alert. */
#define BOOK_PENDING "pending"       /* its owner decides (group_wait) */
#define BOOK_SENT "sent"             /* announced */
#define BOOK_SILENCED "silenced"     /* a silence matched: told when it ends */
#define BOOK_HELD "held"             /* its host is down: told if it outlasts the host outage */
#define BOOK_UNROUTED "unrouted"     /* no route matched: nothing to tell */

/* The longest "P alert:GROUP:" (book_init): with an alert key it still
 * fits in SCHEMA_KEY_MAX. */
#define BOOK_STEM_MAX 512

struct alert_book {
	redisContext *c;          /* not owned; may be replaced after a reconnect */
	const char *prefix;       /* P */
	char stem[BOOK_STEM_MAX]; /* "P alert:GROUP:" (store/schema.h) */
	char err[256];            /* the last error, one line */
};

/* Sets b up for consumer group group. 0, or -EINVAL if the names are too long. */
int book_init(struct alert_book *b, redisContext *c, const char *prefix, const char *group);

enum book_fire_result {
	BOOK_OWNER,     /* this entry announces the alert (new, or this entry's own earlier try) */
	BOOK_DUPLICATE, /* already open: another location or alerter announced it */
};

enum book_clear_result {
	BOOK_NONE,  /* nothing open: it was never announced (or already resolved) */
	BOOK_STILL, /* the condition still holds elsewhere */
	BOOK_LAST,  /* over everywhere: this entry resolves it (*alert set) */
};

/* The event's fields and the bookkeeping fields (name, value pairs, n of
 * them) as the flat JSON object of an alert. Returns a malloc'ed string or
 * NULL (out of memory). */
char *book_alert_json(const struct alert_event *e, const char *const *extra, size_t n_extra);
/* An alert's JSON back into a record: rec gets the event's fields (those
 * not starting with '_'), and *book (may be NULL) all of them. Strings in a.
 * Returns 0, -EINVAL, -ENOMEM. */
int book_alert_parse(const char *json, struct fv_arena *a, struct fv_record *rec, struct fv_record *book);

/* The condition of alert key holds at loc, says stream entry entry; alert
 * is its JSON. Returns enum book_fire_result, or -EIO (b->err says why). */
int book_fire(struct alert_book *b, const char *key, const char *loc, const char *entry, const char *alert);
/* The condition ended at loc, says entry. On BOOK_LAST *alert is the open
 * alert's JSON (free it) and the alert is marked closing by entry; close
 * it with book_close once its end is told. Returns enum
 * book_clear_result, or -EIO. */
int book_clear(struct alert_book *b, const char *key, const char *loc, const char *entry, char **alert);
/* Deletes the alert if entry is closing it (with its lease). 1 deleted, 0 not, -EIO. */
int book_close(struct alert_book *b, const char *key, const char *entry);
/* Sets pairs of fields in the alert if entry still owns it (an alert that
 * closed or changed hands is left alone). 1 set, 0 not, -EIO. */
int book_update(struct alert_book *b, const char *key, const char *entry, const char *const *fields,
		size_t n);
/* The alert's JSON (*alert malloc'ed, NULL if none). 0 or -EIO. */
int book_get(struct alert_book *b, const char *key, char **alert);
/* Every open alert: keys and JSONs in a. Returns the count or -EIO/-ENOMEM. */
int book_list(struct alert_book *b, struct fv_arena *a, const char ***keys, const char ***alerts);
/* The locations where the alert's condition holds, sorted, in a. Count or -EIO. */
int book_locations(struct alert_book *b, const char *key, struct fv_arena *a, const char ***locs);
/* Drops loc from where the alert holds (a location found up again by a
 * check of its state). Returns how many locations are left, or -EIO. */
int book_forget_location(struct alert_book *b, const char *key, const char *loc);
/* The state ("down", "up"...) of target as loc sees it (P state:LOC:TARGET)
 * into buf; "" when it has none. 0 or -EIO. */
int book_target_state(struct alert_book *b, const char *loc, const char *target, char *buf, size_t len);
/* Deletes the alert, its locations and its lease, whoever holds it (an
 * alert no location reports any more). 0 or -EIO. */
int book_drop(struct alert_book *b, const char *key);
/* Whether host ip is down as loc sees it (an open host alert holds there). */
int book_host_down(struct alert_book *b, const char *ip, const char *loc);
/* Takes the alert's lease for ttl_ms if nobody holds it: 1 taken, 0 held, -EIO. */
int book_lease(struct alert_book *b, const char *key, int64_t ttl_ms);
/* Sets the lease whoever holds it (after an announcement: the first reminder). */
int book_lease_set(struct alert_book *b, const char *key, int64_t ttl_ms);

/* Channels a stream entry reached, so that a redelivered entry skips them. */
int book_sent_has(struct alert_book *b, const char *entry, const char *channel);
int book_sent_add(struct alert_book *b, const char *entry, const char *channel);
int book_sent_drop(struct alert_book *b, const char *entry);

#endif
