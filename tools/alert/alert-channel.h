/* Delivering alerts: webhook (JSON POST, optional HMAC-SHA256 signature),
 * Telegram Bot API sendMessage, e-mail over SMTP (STARTTLS, AUTH), all
 * through one libcurl multi handle, so that a slow or failing channel
 * never holds up another: every delivery runs on its own, with its
 * timeout, and is retried with exponential backoff (bounded by the
 * delivery settings) until it succeeds or is given up.
 *
 * Per channel it counts what went out and what failed, and logs once when
 * a channel starts failing and once when it works again. Secrets (the bot
 * token in the URL, passwords) never reach a log line.
 *
 * One thread: the one that calls alert_outbox_poll; callbacks run inside it.
 * curl_global_init must have been called. */
#ifndef SW_ALERT_CHANNEL_H
#define SW_ALERT_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/alert/alert-config.h"
#include "tools/alert/alert-format.h"

struct alert_outbox;

/* One alert as every channel needs it. */
struct alert_letter {
	const struct alert_msg *m;
	const char *title;   /* alert_format_title */
	const char *text;    /* alert_format_text */
	const char *msg_id;  /* unique per alert, for e-mail's Message-ID */
};

/* A delivery's end: ok, or given up (a permanent error such as HTTP 400 or
 * a refused login, or every attempt failed). */
typedef void (*alert_done_fn)(void *ctx, size_t channel, bool ok);

struct alert_channel_stats {
	uint64_t sent;            /* deliveries that succeeded */
	uint64_t failed;          /* attempts that failed */
	uint64_t given_up;        /* deliveries given up */
	uint32_t in_a_row;        /* failed attempts since the last success */
	bool failing;             /* the last attempt failed */
	char last_error[160];     /* "HTTP 503", "Connection refused", ... */
};

/* c must outlive the outbox. Returns 0 and sets *out, or -ENOMEM. */
int alert_outbox_new(struct alert_outbox **out, const struct alert_config *c);
/* Drops every delivery still queued (their callbacks are not called). */
void alert_outbox_free(struct alert_outbox *o);
/* The same, keeping the outbox and its counters (the connection to Redis
 * was lost: the deliveries start over from the unacknowledged events). */
void alert_outbox_clear(struct alert_outbox *o);

/* Queues a delivery of l to channel ch (formatted for its kind now, so l
 * need not outlive the call). done(ctx, ch, ok) is called exactly once,
 * from alert_outbox_poll. Returns 0 or -ENOMEM. */
int alert_outbox_send(struct alert_outbox *o, size_t ch, const struct alert_letter *l, alert_done_fn done,
		      void *ctx);

/* Starts the deliveries that are due, waits at most timeout_ms for one to
 * make progress or for fd (-1: none) to become readable, and finishes what
 * finished. Returns 1 if fd is readable, 0 if not, -EIO if curl failed. */
int alert_outbox_poll(struct alert_outbox *o, int fd, int timeout_ms);

/* Deliveries not finished yet (queued, in flight or waiting to retry). */
size_t alert_outbox_pending(const struct alert_outbox *o);
const struct alert_channel_stats *alert_outbox_stats(const struct alert_outbox *o, size_t ch);

/* The backoff before retry n (1 = the first): backoff * 2^(n-1), at most
 * max_backoff. */
int64_t alert_backoff_ns(const struct alert_config *c, uint32_t n);

#endif
