/* What synwatch-alert does with each event (docs/alerting.md): the policy
 * between reading P events and the channels.
 *
 * An event that starts a condition (a target down, slow or flapping, a host
 * down, a prober isolated) opens an alert in the shared bookkeeping
 * (tools/alert/alert-book.h); the alerter that opened it waits group_wait, so
 * that the host's rollup and the other locations join, then decides:
 * unrouted, silenced (tools/lib/silence.h), held because its host is down, or
 * told on the routed channels. An event that ends the condition everywhere
 * tells its end to where the alert went, if it was told. Every few seconds
 * a sweep sends the reminders that are due and tells held or silenced
 * alerts that outlasted their reason.
 *
 * A stream entry is acknowledged (the ack callback) only when everything
 * it caused was delivered or given up. The engine keeps nothing that Redis
 * does not also hold: after alert_engine_reset, reading the unacknowledged
 * entries again picks up where it was. One thread. */
#ifndef SW_ALERT_ENGINE_H
#define SW_ALERT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#include "tools/alert/alert-book.h"
#include "tools/alert/alert-channel.h"
#include "tools/alert/alert-config.h"

struct alert_engine;

/* The entry is done: acknowledge it. */
typedef void (*alert_ack_fn)(void *ctx, const char *entry);

/* c, book and the outbox must outlive the engine; book->c is the
 * connection for bookkeeping and reads. Returns 0 or -ENOMEM. */
int alert_engine_new(struct alert_engine **out, const struct alert_config *c, struct alert_book *book,
		     struct alert_outbox *o, alert_ack_fn ack, void *ctx);
void alert_engine_free(struct alert_engine *en);
/* Forgets every job (after the connection was lost; empty the outbox
 * first, alert_outbox_clear: its deliveries point at the jobs). */
void alert_engine_reset(struct alert_engine *en);

/* A batch of stream entries (XREADGROUP's or XAUTOCLAIM's array of [id,
 * fields]); entries already in hand are skipped, entries without fields
 * (trimmed from the stream) are acknowledged. Returns the last id seen in
 * last (may be NULL), or -EIO when the bookkeeping failed (b->err). */
int alert_engine_entries(struct alert_engine *en, const redisReply *entries, char *last, size_t lastlen);
/* Decides the alerts whose wait is over and runs the sweep when due.
 * Returns ms until something is due (at most 1000), or -EIO. */
int alert_engine_tick(struct alert_engine *en);

/* Entries in hand (not acknowledged yet), for keeping them claimed. */
size_t alert_engine_entries_held(const struct alert_engine *en, const char **ids, size_t max);
size_t alert_engine_jobs(const struct alert_engine *en);

#endif
